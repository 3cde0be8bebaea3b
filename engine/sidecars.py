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
render key (``RENDER_FORMAT_VERSION`` is unchanged, so no finished line is
rendered again for it) and is left out when the WAV cannot be read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revoice.engine.files import write_text_atomic
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
    """SHA-256 (hex) of the data chunk's bytes: the samples, so metadata chunks added later change nothing."""

    def to_json(self) -> dict[str, Any]:
        """The sidecar's ``"wav"`` entry (the sample rate is the RenderedLine's own)."""
        return {"frames": self.frames, "pcm_sha256": self.pcm_sha256}

    def matches(self, entry: Any) -> bool:
        """Whether a sidecar's ``"wav"`` entry describes this WAV."""
        return isinstance(entry, dict) and entry.get("frames") == self.frames \
            and entry.get("pcm_sha256") == self.pcm_sha256


def wav_facts(path: Path) -> WavFacts | None:
    """The :class:`WavFacts` of the RIFF/WAVE file ``path``; None when it is missing or not a PCM WAV.

    Reads the chunk headers, then hashes the data chunk in 1 MiB blocks (memory
    stays flat whatever the file's size). A data chunk that claims more bytes
    than the file holds counts only the bytes that are there.
    """
    try:
        with open(path, "rb") as handle:
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
    return WavFacts(sample_rate=int(sample_rate), frames=held // block_align, pcm_sha256=digest.hexdigest())


def sidecar_path(wav_path: Path) -> Path:
    return wav_path.with_suffix(".json")


def write_sidecar(rendered: RenderedLine, key: str) -> None:
    """Write the line's JSON sidecar atomically (after its WAV): the key, the RenderedLine (report included)
    and the WAV's :class:`WavFacts` as the file is now (left out when it cannot be read)."""
    line = {f.name: getattr(rendered, f.name) for f in dataclasses.fields(rendered)}
    data = {"key": key, **jsonable({**line, "report": rendered.report.to_json()})}
    data["path"] = rendered.path.name
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
    facts = wav_facts(wav_path)
    if facts is None or facts.sample_rate != rendered.sample_rate or facts.frames != rendered.slot_samples:
        return None
    if entry is not None and not facts.matches(entry):
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


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (numpy numbers, paths and the like as their ``str``)."""
    return json.loads(json.dumps(value, default=str))


__all__ = ["WAV_ENTRY", "WavFacts", "load_finished", "load_sidecar", "sidecar_path", "wav_facts", "write_sidecar"]
