"""Render sidecars: the JSON beside each rendered WAV, and whether a finished render may be reused.

A sidecar (``<speaker>_<line>_t<take>.json``, written atomically after its WAV)
holds the render key, the :class:`~revoice.engine.model.RenderedLine` with its
report, and the WAV it describes (``"wav"``: :class:`WavFacts`, the length in
frames and a SHA-256 of the samples). A re-run, another shard or the panel's
take chooser reuses a render only through :func:`load_finished`, which checks
that the WAV beside the sidecar is still that WAV: a truncated or damaged file
(a crash, a full disk, a copy cut short) is rendered again, never placed.

Sidecars written before the ``"wav"`` entry existed are checked by length
only (the WAV must be exactly the slot long). The entry is not part of the
render key and is left out when the WAV cannot be read.

Finding a render by its key, whatever its name (:func:`reuse_finished`). A
WAV's name holds the line's id (``ANNA_L0003_t1.wav``), and line ids follow
the cues' order, so deleting or inserting a cue renames the lines after it;
their render keys do not change (the key holds no line id). So when a line's
own name holds no render with its key:

* a finished render of another key at that name (the cue that was there
  before, or the line before an edit) is *parked* first: renamed, with its
  sidecar, to ``<name>.<first 12 hex of its key>.wav``, so nothing that a
  later line of the run may still want is overwritten (an inserted cue,
  swapped cues, an edit undone);
* a :class:`RenderIndex` of the folder (render key -> sidecars, read once, on
  the first such miss) finds a finished render with the key under any name;
  it is hard-linked (copied where links are not possible) to the line's own
  name, atomically, with a sidecar that names the line. Its samples and BWF
  chunks are the render's as first made (the iXML ``line_id`` is the one it
  was rendered for).

The names a timeline no longer uses (parked renders, those of deleted cues or
takes) are :func:`superseded_renders`; :func:`prune_renders` deletes them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import struct
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revoice.engine.files import atomic_path, write_text_atomic
from revoice.engine.model import RenderedLine
from revoice.engine.records import RenderReport

WAV_ENTRY = "wav"
"""The sidecar's key for :class:`WavFacts` (kept out of the RenderedLine)."""

_READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class WavFacts:
    """What identifies a rendered WAV: its sample rate, length and samples (not its header)."""

    sample_rate: int
    """Hz, from the fmt chunk."""
    frames: int
    """Whole frames in the data chunk as far as the file really holds it (a cut file counts short)."""
    pcm_sha256: str
    """SHA-256 (hex) of the data chunk's bytes: the samples, so metadata chunks added later change nothing
    ("" when :func:`wav_facts` was asked not to hash)."""
    file_stat: tuple[int, int, int] = (-1, -1, -1)
    """The file's (size in bytes, modification time in ns, inode) when it was read."""

    def to_json(self) -> dict[str, Any]:
        """The sidecar's ``"wav"`` entry (the sample rate is the RenderedLine's own)."""
        return {"frames": self.frames, "pcm_sha256": self.pcm_sha256, "stat": list(self.file_stat)}

    def matches(self, entry: Any) -> bool:
        """Whether a sidecar's ``"wav"`` entry describes this WAV."""
        return isinstance(entry, dict) and entry.get("frames") == self.frames \
            and entry.get("pcm_sha256") == self.pcm_sha256


SETTLED_NS = 2_000_000_000
"""How far before its sidecar a WAV's modification time is set (ns): more than any file system's time step."""


def _settle(wav_path: Path) -> None:
    """Set a just-written WAV's modification time :data:`SETTLED_NS` back, so any later write changes it.

    File times advance in steps (a few ms on Linux, 2 s on FAT): a write in the same step as the render
    would leave the time the sidecar recorded unchanged. Only a time newer than the step is moved (a
    render placed again by a link keeps its own); where it cannot be set (another user's file) the
    sidecar's time check below fails and the samples are hashed, as before.
    """
    try:
        stat = os.stat(wav_path)
        if time.time_ns() - stat.st_mtime_ns < SETTLED_NS:
            os.utime(wav_path, ns=(stat.st_atime_ns, stat.st_mtime_ns - SETTLED_NS))
    except OSError:
        pass


def unchanged_since(path: Path, entry: Any) -> bool:
    """Whether ``path`` has the size, modification time and inode a sidecar's ``"wav"`` entry recorded.

    Then its samples are the ones hashed when the sidecar was written, and :func:`load_finished` skips
    hashing them again (a rerun of a reel reads headers only). Any write, a copy or a replacement changes
    one of the three, provided the recorded time is older than the sidecar by a full time step (the
    renderer settles every WAV so, :func:`_settle`); a time as new as the sidecar's is not trusted.
    """
    stat = entry.get("stat") if isinstance(entry, dict) else None
    if not (isinstance(stat, list) and len(stat) == 3 and all(isinstance(v, int) and v >= 0 for v in stat)):
        return False
    try:
        now = os.stat(path)
        sidecar_time = os.stat(sidecar_path(path)).st_mtime_ns
    except OSError:
        return False
    return [now.st_size, now.st_mtime_ns, now.st_ino] == stat and stat[1] <= sidecar_time - SETTLED_NS // 2


def wav_facts(path: Path, *, hash_samples: bool = True) -> WavFacts | None:
    """The :class:`WavFacts` of the RIFF/WAVE file ``path``; None when it is missing or not a PCM WAV.

    Reads the chunk headers, then hashes the data chunk in 1 MiB blocks (memory
    stays flat whatever the file's size). A data chunk that claims more bytes
    than the file holds counts only the bytes that are there. ``hash_samples``
    False reads the headers only (``pcm_sha256`` is then "").
    """
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            file_stat = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
            if handle.read(4) != b"RIFF" or len(handle.read(4)) != 4 or handle.read(4) != b"WAVE":
                return None
            fmt: bytes | None = None
            data: tuple[int, int] | None = None
            while fmt is None or data is None:
                header = handle.read(8)
                if len(header) < 8:
                    break
                chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
                if chunk_id == b"fmt ":
                    fmt = handle.read(min(size, 40))
                    handle.seek(size - len(fmt) + size % 2, os.SEEK_CUR)
                    continue
                if chunk_id == b"data" and data is None:
                    data = (handle.tell(), size)
                handle.seek(size + size % 2, os.SEEK_CUR)
            if fmt is None or data is None or len(fmt) < 16:
                return None
            sample_rate, block_align = struct.unpack("<I", fmt[4:8])[0], struct.unpack("<H", fmt[12:14])[0]
            if block_align == 0:
                return None
            if not hash_samples:
                held = max(0, min(data[1], stat.st_size - data[0]))
                return WavFacts(sample_rate=int(sample_rate), frames=held // block_align, pcm_sha256="",
                                file_stat=file_stat)
            digest = hashlib.sha256()
            handle.seek(data[0])
            left, held = data[1], 0
            while left > 0:
                block = handle.read(min(left, _READ_BLOCK))
                if not block:
                    break
                digest.update(block)
                held += len(block)
                left -= len(block)
    except OSError:
        return None
    return WavFacts(sample_rate=int(sample_rate), frames=held // block_align, pcm_sha256=digest.hexdigest(),
                    file_stat=file_stat)


def sidecar_path(wav_path: Path) -> Path:
    return wav_path.with_suffix(".json")


def write_sidecar(rendered: RenderedLine, key: str) -> None:
    """Write the line's JSON sidecar atomically (after its WAV): the key, the RenderedLine (report included)
    and the WAV's :class:`WavFacts` as the file is now (left out when it cannot be read)."""
    line = {f.name: getattr(rendered, f.name) for f in dataclasses.fields(rendered)}
    data = {"key": key, **jsonable({**line, "report": rendered.report.to_json()})}
    data["path"] = rendered.path.name
    _settle(rendered.path)
    facts = wav_facts(rendered.path)
    if facts is not None:
        data[WAV_ENTRY] = facts.to_json()
    write_text_atomic(sidecar_path(rendered.path), json.dumps(data, indent=1, sort_keys=True))


def load_sidecar(wav_path: Path, key: str | None = None) -> RenderedLine | None:
    """The render a sidecar describes, or None if missing, broken, or made with another key.

    Reads the sidecar only (the WAV must exist): to reuse a render, use :func:`load_finished`.
    """
    read = _read_sidecar(wav_path, key)
    return read[0] if read is not None else None


def load_finished(wav_path: Path, key: str | None = None) -> RenderedLine | None:
    """The finished render at ``wav_path`` when it may be reused, else None (render it again).

    None when :func:`load_sidecar` finds none, or the WAV is not the one the
    sidecar describes: another sample rate, not exactly the slot long, or
    (sidecars that record it) other samples than were written.
    """
    read = _read_sidecar(wav_path, key)
    if read is None:
        return None
    rendered, entry = read
    unchanged = entry is not None and unchanged_since(wav_path, entry)
    facts = wav_facts(wav_path, hash_samples=not unchanged)
    if facts is None or facts.sample_rate != rendered.sample_rate or facts.frames != rendered.slot_samples:
        return None
    if entry is not None and not unchanged and not facts.matches(entry):
        return None
    return rendered


def _read_sidecar(wav_path: Path, key: str | None) -> tuple[RenderedLine, Any] | None:
    """The sidecar's RenderedLine and its ``"wav"`` entry (None: an older sidecar without one)."""
    path = sidecar_path(wav_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or (key is not None and data.get("key") != key) or not wav_path.exists():
        return None
    data.pop("key", None)
    entry = data.pop(WAV_ENTRY, None)
    data["path"] = wav_path
    data["flags"] = tuple(data.get("flags", ()))
    try:
        if "report" in data:
            data["report"] = RenderReport.from_json(data["report"])
        return RenderedLine(**data), entry
    except TypeError:
        return None


def sidecar_key(wav_path: Path) -> str | None:
    """The render key in the sidecar beside ``wav_path`` (None: no readable sidecar)."""
    try:
        data = json.loads(sidecar_path(wav_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    key = data.get("key") if isinstance(data, dict) else None
    return key if isinstance(key, str) else None


PARKED_KEY_CHARS = 12
"""Hex characters of the render key in a parked render's name (``ANNA_L0003_t1.<key>.wav``)."""


def parked_path(wav_path: Path, key: str) -> Path:
    """Where the render of ``key`` at ``wav_path`` is parked: ``<stem>.<first 12 hex of key>.wav``."""
    return wav_path.with_name(f"{wav_path.stem}.{key[:PARKED_KEY_CHARS]}{wav_path.suffix}")


class RenderIndex:
    """The finished renders in one media folder by render key (sidecars read on first use, then kept up to date).

    Only what :func:`reuse_finished` does through it is added; a render another
    process writes meanwhile is not seen (it is rendered again, never placed
    wrong: every hit is checked with :func:`load_finished`).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._paths: dict[str, list[Path]] | None = None

    def _scanned(self) -> dict[str, list[Path]]:
        if self._paths is None:
            self._paths = {}
            for wav in _render_wavs(self.folder):
                key = sidecar_key(wav)
                if key is not None:
                    self._paths.setdefault(key, []).append(wav)
        return self._paths

    def paths(self, key: str) -> list[Path]:
        """WAVs whose sidecars name ``key`` (unchecked)."""
        return list(self._scanned().get(key, ()))

    def add(self, key: str, wav_path: Path) -> None:
        paths = self._scanned().setdefault(key, [])
        if wav_path not in paths:
            paths.append(wav_path)

    def discard(self, key: str, wav_path: Path) -> None:
        paths = self._scanned().get(key, [])
        if wav_path in paths:
            paths.remove(wav_path)


def reuse_finished(wav_path: Path, key: str, *, line_id: str, index: RenderIndex) -> RenderedLine | None:
    """The finished render of ``key`` at ``wav_path`` for line ``line_id``, or None (render it there).

    At ``wav_path`` itself when it is there (nothing is written: an unchanged
    rerun only reads). Else a finished render of another key there is parked
    (:func:`parked_path`) and one of ``key`` found by ``index`` under another
    name is linked (or copied) to ``wav_path`` with a sidecar for ``line_id``.
    None when there is none; ``wav_path`` is then free (a broken render may lie there).
    """
    cached = load_finished(wav_path, key)
    if cached is not None:
        return cached
    _park(wav_path, index)
    for listed in index.paths(key):
        for source in (listed, parked_path(listed, key)):  # or parked since by another process (shard, worker)
            found = load_finished(source, key) if source != wav_path else None
            placed = _place(found, wav_path, line_id=line_id, key=key) if found is not None else None
            if placed is not None:
                index.add(key, wav_path)
                return placed
        index.discard(key, listed)
    return None


def _park(wav_path: Path, index: RenderIndex) -> None:
    """Move a finished render at ``wav_path`` (of another key) to its parked name, sidecar first."""
    occupant = sidecar_key(wav_path)
    if occupant is None or load_finished(wav_path, occupant) is None:
        return
    target = parked_path(wav_path, occupant)
    try:
        os.replace(sidecar_path(wav_path), sidecar_path(target))
        os.replace(wav_path, target)
    except OSError:  # another process moved it first, or a read-only folder (the render will say)
        return
    index.discard(occupant, wav_path)
    index.add(occupant, target)


def _place(found: RenderedLine, wav_path: Path, *, line_id: str, key: str) -> RenderedLine | None:
    """``found``'s WAV linked (or copied) to ``wav_path`` atomically, with its sidecar for ``line_id``; None on failure."""
    try:
        with atomic_path(wav_path) as staged:
            try:
                os.link(found.path, staged)
            except OSError:  # no hard links here (FAT, some shares, another volume): a copy
                shutil.copyfile(found.path, staged)
        placed = dataclasses.replace(found, line_id=line_id, path=wav_path)
        write_sidecar(placed, key)
    except OSError:
        return None
    return load_finished(wav_path, key)


def _render_wavs(folder: Path) -> list[Path]:
    """The WAVs in ``folder`` with a sidecar beside them (hidden staging files and other files left out)."""
    try:
        with os.scandir(folder) as entries:
            names = {entry.name for entry in entries if not entry.name.startswith(".")}
    except OSError:
        return []
    return sorted(folder / name for name in names
                  if name.lower().endswith(".wav") and sidecar_path(Path(name)).name in names)


def superseded_renders(folder: Path, *, in_use: Collection[str]) -> list[Path]:
    """The renders in ``folder`` (WAVs with a Revoice sidecar) whose names are not in ``in_use``, by name.

    ``in_use``: the WAV names the timeline's lines have (every take). Parked
    renders, those of deleted cues and of takes no longer asked for are listed;
    staging files of writers in flight (hidden) and files without a sidecar never are.
    """
    return [wav for wav in _render_wavs(folder) if wav.name not in in_use and sidecar_key(wav) is not None]


def prune_renders(paths: Iterable[Path], *, in_use: Collection[str]) -> list[Path]:
    """Delete the renders at ``paths`` (sidecar first, then the WAV), skipping names in ``in_use``; the deleted WAVs."""
    deleted: list[Path] = []
    for wav in paths:
        if wav.name in in_use:
            continue
        try:
            sidecar_path(wav).unlink(missing_ok=True)
            wav.unlink(missing_ok=True)
        except OSError:
            continue
        deleted.append(wav)
    return deleted


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (numpy numbers, paths and the like as their ``str``)."""
    return json.loads(json.dumps(value, default=str))


__all__ = ["WAV_ENTRY", "RenderIndex", "WavFacts", "load_finished", "load_sidecar", "parked_path", "prune_renders",
           "reuse_finished", "sidecar_key", "sidecar_path", "superseded_renders", "unchanged_since", "wav_facts",
           "write_sidecar"]
