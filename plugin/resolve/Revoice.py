"""Revoice for DaVinci Resolve (Workspace > Scripts > Utility > Revoice).

Exports the current timeline as OTIO, writes its subtitle track (else its
markers, else an SRT the editor picks) as an SRT, sends both to the local
Revoice service (``revoice serve``, see docs/service-api.md), shows progress,
then places each speaker's WAVs on a NEW mono audio track named
``Revoice - <speaker>`` at the lines' record frames (or imports the revoiced
timeline as a new timeline). The editor's existing tracks are never touched.

Runs two ways:

* from Resolve's menu: Resolve injects ``resolve``, ``fusion`` and ``bmd``;
  a Fusion UIManager window asks for options and shows progress;
* from a terminal: ``python Revoice.py [options]`` with Resolve's scripting
  module (``DaVinciResolveScript``) importable; progress is printed.

Thin on purpose: Python 3.8+ standard library only (Resolve's Python has
nothing else), one file (Resolve lists every ``.py`` under Scripts as a
menu entry, so helpers cannot sit beside it). Frames are timeline frames;
``record_start`` from the service counts from the timeline's first frame.
"""

from __future__ import annotations

import argparse
import builtins
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

TRACK_PREFIX = "Revoice - "
"""Name prefix of the tracks this script adds (the engine names them the same way)."""
MEDIA_BIN = "Revoice"
"""Media Pool bin (under the root folder) the WAVs are imported into."""
SERVICE_START_SECONDS = 30.0
"""How long to wait for a service started on demand to write service.json."""
POLL_SECONDS = 0.5
EXIT_OK, EXIT_LINES_FAILED, EXIT_NOTHING_TO_DO, EXIT_ERROR, EXIT_CANCELLED = 0, 1, 2, 3, 130

Say = Callable[[str], None]
"""Where progress and report lines go (stdout, or the window's log)."""


class RevoiceError(Exception):
    """A step that cannot go on; ``str()`` is the one-line message shown to the editor."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# ---------------------------------------------------------------- timeline facts

@dataclass(frozen=True)
class TimelineFacts:
    """What the script needs to know about the timeline, read through Resolve's API."""

    name: str
    start_frame: int
    """``Timeline.GetStartFrame()``: 86400 for 01:00:00:00 at 23.976, 107892 for 01:00:00;00 at 29.97 DF."""
    rate: Fraction
    """Frames per second, exact (24000/1001 for "23.976")."""
    drop_frame: bool

    def timecode(self, frame: int) -> str:
        """Absolute timeline ``frame`` as ``HH:MM:SS:FF`` (``HH:MM:SS;FF`` drop frame)."""
        return format_timecode(frame, self.rate, self.drop_frame)


def parse_frame_rate(text: str) -> Fraction:
    """Resolve's ``timelineFrameRate`` setting ("23.976", "29.97 DF", "25") as an exact rate."""
    match = re.match(r"\s*(\d+(?:\.\d+)?)", str(text))
    if not match:
        raise RevoiceError(f"cannot read the timeline frame rate {text!r}")
    value = float(match.group(1))
    nominal = round(value * 1.001)
    if abs(value - round(value)) > 1e-6 and abs(value * 1.001 - nominal) < 0.01:
        return Fraction(nominal * 1000, 1001)
    return Fraction(match.group(1))


def read_timeline_facts(timeline: Any, project: Any = None) -> TimelineFacts:
    """Name, start frame, rate and drop-frame flag of a Resolve ``Timeline``.

    A timeline that uses the project's settings may answer "" for its own;
    the project's ``GetSetting`` is asked then.
    """
    def setting(name: str) -> str:
        value = str(timeline.GetSetting(name) or "")
        if not value and project is not None:
            value = str(project.GetSetting(name) or "")
        return value

    rate_text, drop_text = setting("timelineFrameRate"), setting("timelineDropFrameTimecode")
    rate = parse_frame_rate(rate_text)
    drop = drop_text.strip().lower() in ("1", "true", "yes") or "DF" in rate_text.upper()
    return TimelineFacts(name=str(timeline.GetName()), start_frame=int(timeline.GetStartFrame()),
                         rate=rate, drop_frame=drop and rate.denominator == 1001 and round(rate) % 30 == 0)


def format_timecode(frame: int, rate: Fraction, drop_frame: bool) -> str:
    """``frame`` (counted from 00:00:00:00) as timecode; drop frame skips labels 0 and 1 (2 and 3 at 59.94)."""
    nominal = round(rate)
    if drop_frame:
        drop = 2 * (nominal // 30)
        per_ten = nominal * 600 - drop * 9
        per_minute = nominal * 60 - drop
        tens, rest = divmod(frame, per_ten)
        frame += drop * 9 * tens + (drop * ((rest - drop) // per_minute) if rest >= drop else 0)
    seconds, ff = divmod(frame, nominal)
    sep = ";" if drop_frame else ":"
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}{sep}{ff:02d}"


# ---------------------------------------------------------------- dialogue lines -> SRT

@dataclass(frozen=True)
class Cue:
    """A dialogue line found in Resolve: absolute timeline frames ``[start, end)`` and its text."""

    start: int
    end: int
    text: str
    origin: str


def subtitle_cues(timeline: Any) -> List[Cue]:
    """Items of every enabled subtitle track (caption text is the item's name)."""
    cues: List[Cue] = []
    for index in range(1, int(timeline.GetTrackCount("subtitle") or 0) + 1):
        if timeline.GetIsTrackEnabled("subtitle", index) is False:
            continue
        for item in timeline.GetItemListInTrack("subtitle", index) or []:
            text = str(item.GetName() or "").strip()
            if text:
                cues.append(Cue(int(item.GetStart()), int(item.GetEnd()), text, f"subtitle track {index}"))
    return sorted(cues, key=lambda c: (c.start, c.end))


def marker_cues(timeline: Any, start_frame: int) -> tuple[List[Cue], List[str]]:
    """Timeline markers longer than one frame (text: note, else name), and why others were left out."""
    cues: List[Cue] = []
    ignored: List[str] = []
    for offset, info in sorted((timeline.GetMarkers() or {}).items(), key=lambda kv: float(kv[0])):
        frame = start_frame + int(round(float(offset)))
        text = str(info.get("note") or "").strip() or str(info.get("name") or "").strip()
        duration = int(round(float(info.get("duration") or 0)))
        if not text:
            ignored.append(f"marker at frame {frame}: no name or note")
        elif duration <= 1:
            ignored.append(f"marker '{text[:40]}' at frame {frame}: one frame long "
                           "(give it the length of the line)")
        else:
            cues.append(Cue(frame, frame + duration, text, "marker"))
    return cues, ignored


def srt_seconds(frame: int, facts: TimelineFacts) -> Fraction:
    """The SRT time of absolute ``frame``, written the way Revoice reads timecode SRTs.

    Non-drop rates: the timecode label as clock time (frame / nominal fps;
    at 23.976 "01:00:01,000" is 01:00:01:00). 29.97/59.94: real seconds
    (frame / exact fps), as Revoice reads drop-frame SRTs (``--subs-offset timeline``).
    """
    if facts.rate.denominator == 1001 and round(facts.rate) % 30 == 0:
        return frame / facts.rate
    return Fraction(frame, round(facts.rate))


def srt_timestamp(seconds: Fraction) -> str:
    millis = int(seconds * 1000 + Fraction(1, 2))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def write_srt(cues: Sequence[Cue], facts: TimelineFacts, path: Path) -> Path:
    """Write ``cues`` as an SRT whose times are timeline timecodes (see :func:`srt_seconds`)."""
    blocks = []
    for number, cue in enumerate(cues, start=1):
        start, end = srt_timestamp(srt_seconds(cue.start, facts)), srt_timestamp(srt_seconds(cue.end, facts))
        text = "\n".join(part.strip() for part in cue.text.splitlines() if part.strip())
        blocks.append(f"{number}\n{start} --> {end}\n{text}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(blocks), encoding="utf-8")
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------- the local service

@dataclass(frozen=True)
class Service:
    url: str
    token: str


def default_state_dir() -> Path:
    """The service's per-user state folder (docs/service-api.md); ``REVOICE_STATE_DIR`` overrides."""
    if os.environ.get("REVOICE_STATE_DIR"):
        return Path(os.environ["REVOICE_STATE_DIR"])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Revoice"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "Revoice"
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "revoice"


def call_service(service: Service, method: str, path: str, body: Optional[Dict[str, Any]] = None,
                 *, timeout: float = 30.0) -> Dict[str, Any]:
    """One JSON request; 4xx/5xx raise :class:`RevoiceError` with the service's one-line message."""
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(service.url.rstrip("/") + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {service.token}",
                                              "Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            answer: Dict[str, Any] = json.loads(response.read().decode("utf-8") or "{}")
            return answer
    except urllib.error.HTTPError as exc:
        try:
            message = str(json.loads(exc.read().decode("utf-8")).get("error") or exc.reason)
        except (ValueError, AttributeError, OSError):
            message = str(exc.reason)
        raise RevoiceError(f"Revoice service: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RevoiceError(f"cannot reach the Revoice service at {service.url} ({exc})") from None


def _listening(state_dir: Path) -> Optional[Service]:
    """The service named in ``service.json`` when it answers ``GET /health``."""
    try:
        info = json.loads((state_dir / "service.json").read_text(encoding="utf-8"))
        service = Service(str(info["url"]), str(info["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        return service if call_service(service, "GET", "/health", timeout=2.0).get("ok") else None
    except RevoiceError:
        return None


def service_command(state_dir: Path) -> List[str]:
    """How to start the service: ``<state>/command.json``'s argv (the installer's), else ``revoice`` on PATH."""
    try:
        argv = json.loads((state_dir / "command.json").read_text(encoding="utf-8"))["argv"]
        if isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv):
            return list(argv)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found = shutil.which("revoice")
    if found:
        return [found, "serve"]
    raise RevoiceError(f"the Revoice service is not running and {state_dir / 'command.json'} does not say how "
                       "to start it: run 'revoice serve' in a terminal (or reinstall Revoice)")


def ensure_service(state_dir: Path, *, wait_seconds: float = SERVICE_START_SECONDS,
                   say: Say = print) -> Service:
    """The running service, else start it detached (output to ``<state>/service.log``) and wait for it."""
    service = _listening(state_dir)
    if service is not None:
        return service
    argv = service_command(state_dir)
    say(f"Starting the Revoice service: {' '.join(argv)}")
    detach: Dict[str, Any] = ({"creationflags": 0x00000008 | 0x00000200} if os.name == "nt"
                              else {"start_new_session": True})
    env = dict(os.environ, REVOICE_STATE_DIR=str(state_dir))
    log_path = state_dir / "service.log"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                       close_fds=True, **detach)
    except OSError as exc:
        raise RevoiceError(f"cannot start the Revoice service ({' '.join(argv)}): {exc}") from None
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        service = _listening(state_dir)
        if service is not None:
            return service
        if process.poll() is not None:
            raise RevoiceError(f"the Revoice service stopped at once (exit {process.returncode}); see {log_path}")
        time.sleep(0.2)
    raise RevoiceError(f"the Revoice service did not start within {wait_seconds:.0f} s; see {log_path}")


# ---------------------------------------------------------------- placing the result

@dataclass(frozen=True)
class PlacedLine:
    line_id: str
    speaker: str
    track_name: str
    track_index: int
    record_frame: int
    frames: int
    wav: str
    takes: int


@dataclass
class Report:
    """What was placed, flagged, failed and said; ``lines()`` is the editor's summary."""

    placed: List[PlacedLine] = field(default_factory=list)
    flagged: List[str] = field(default_factory=list)
    failed: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    new_timeline: Optional[str] = None
    state: str = "done"

    def lines(self, facts: TimelineFacts) -> List[str]:
        out = [f"Job {self.state}."]
        if self.new_timeline:
            out.append(f"Imported the revoiced timeline as '{self.new_timeline}'.")
        for line in self.placed:
            takes = f", {line.takes} takes" if line.takes > 1 else ""
            out.append(f"Placed {line.line_id} ({line.speaker}) on audio {line.track_index} "
                       f"'{line.track_name}' at {facts.timecode(line.record_frame)}, {line.frames} frames{takes}")
        out += [f"Flagged: {text}" for text in self.flagged]
        out += [f"Failed: {text}" for text in self.failed]
        out += [f"Note: {text}" for text in self.warnings]
        if not self.placed and not self.new_timeline:
            out.append("Nothing was placed.")
        return out


def wav_frames(path: str) -> Optional[int]:
    """Sample frames in a PCM WAV (None when it cannot be read)."""
    try:
        with wave.open(path, "rb") as handle:
            return int(handle.getnframes())
    except (OSError, EOFError, wave.Error):
        return None


def _same_path(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def import_wavs(media_pool: Any, paths: Sequence[str]) -> Dict[str, Any]:
    """Import ``paths`` into the ``Revoice`` bin; returns path -> MediaPoolItem (already imported ones found too)."""
    root = media_pool.GetRootFolder()
    bin_folder = next((f for f in root.GetSubFolderList() or [] if f.GetName() == MEDIA_BIN), None)
    if bin_folder is None:
        bin_folder = media_pool.AddSubFolder(root, MEDIA_BIN) or root
    previous = media_pool.GetCurrentFolder()
    media_pool.SetCurrentFolder(bin_folder)
    try:
        imported = list(media_pool.ImportMedia(list(paths)) or [])
    finally:
        if previous is not None:
            media_pool.SetCurrentFolder(previous)
    found: Dict[str, Any] = {}
    for item in imported + list(bin_folder.GetClipList() or []):
        item_path = str(item.GetClipProperty("File Path") or "")
        for path in paths:
            if path not in found and item_path and _same_path(item_path, path):
                found[path] = item
    return found


def _rendered(status: Dict[str, Any]) -> List[Dict[str, Any]]:
    return sorted((line for line in status.get("lines") or []
                   if line.get("state") in ("done", "cached") and line.get("wav")),
                  key=lambda line: (int(line["record_start"]), str(line["line_id"])))


def _check_rate(status: Dict[str, Any], facts: TimelineFacts) -> None:
    rate = float((status.get("timeline") or {}).get("rate") or 0)
    if abs(rate - float(facts.rate)) > 1e-3:
        raise RevoiceError(f"the service read the timeline at {rate:.6g} fps but Resolve says "
                           f"{float(facts.rate):.6g} fps; nothing was placed")


def report_lines(status: Dict[str, Any], report: Report, facts: TimelineFacts) -> None:
    """Copy the job's flags, failures and warnings into ``report``."""
    report.state = str(status.get("state") or "")
    for line in status.get("lines") or []:
        where = facts.timecode(facts.start_frame + int(line.get("record_start") or 0))
        label = f"{line.get('line_id')} ({line.get('speaker')}) at {where}"
        if line.get("flags"):
            report.flagged.append(f"{label}: {', '.join(str(f) for f in line['flags'])}")
        if line.get("state") == "failed":
            report.failed.append(f"{label}: {line.get('message') or 'failed'}")
    report.warnings += [str(w) for w in status.get("warnings") or []]
    if status.get("error"):
        report.failed.append(str(status["error"]))


def place_on_new_tracks(project: Any, timeline: Any, facts: TimelineFacts, status: Dict[str, Any],
                        report: Report) -> Report:
    """One new mono audio track per engine track name, the WAVs at their record frames, alternates as takes."""
    _check_rate(status, facts)
    lines = _rendered(status)
    if not lines:
        return report
    usable = []
    for line in lines:
        frames, rate = int(line["record_duration"]), int(line.get("sample_rate") or 48000)
        expected = round(Fraction(frames * rate) / facts.rate)
        actual = wav_frames(str(line["wav"]))
        if actual is None:
            report.failed.append(f"{line['line_id']}: cannot read {line['wav']}")
        elif actual != expected:
            report.failed.append(f"{line['line_id']}: {line['wav']} is {actual} samples, its slot "
                                 f"{frames} frames is {expected}; not placed")
        else:
            usable.append(line)
    if not usable:
        return report
    project.SetCurrentTimeline(timeline)
    media_pool = project.GetMediaPool()
    alternates = [str(take["wav"]) for line in usable for take in line.get("takes") or [] if take.get("wav")]
    paths = list(dict.fromkeys([str(line["wav"]) for line in usable] + alternates))
    items = import_wavs(media_pool, paths)
    track_of: Dict[str, int] = {}
    clip_infos: List[Dict[str, Any]] = []
    placed: List[tuple[Dict[str, Any], PlacedLine]] = []
    for line in usable:
        item = items.get(str(line["wav"]))
        if item is None:
            report.failed.append(f"{line['line_id']}: Resolve did not import {line['wav']}")
            continue
        name = str(line.get("track") or TRACK_PREFIX + str(line.get("speaker")))
        if name not in track_of:
            track_of[name] = _add_audio_track(timeline, name)
        frames = int(line["record_duration"])
        record = facts.start_frame + int(line["record_start"])
        clip_infos.append({"mediaPoolItem": item, "startFrame": 0, "endFrame": frames - 1,
                           "recordFrame": record, "trackIndex": track_of[name], "mediaType": 2})
        placed.append((line, PlacedLine(str(line["line_id"]), str(line.get("speaker")), name, track_of[name],
                                        record, frames, str(line["wav"]), 1)))
    if not clip_infos:
        return report
    appended = list(media_pool.AppendToTimeline(clip_infos) or [])
    if len(appended) != len(clip_infos):
        report.failed.append(f"Resolve placed {len(appended)} of {len(clip_infos)} clips")
        appended = _match_items(appended, [done for _, done in placed])
    for (line, done), item in zip(placed, appended):
        if item is None:
            report.failed.append(f"{done.line_id}: Resolve did not place it on audio {done.track_index}")
            continue
        takes = 1 + _add_takes(item, line, items, done, report)
        report.placed.append(PlacedLine(done.line_id, done.speaker, done.track_name, done.track_index,
                                        done.record_frame, done.frames, done.wav, takes))
    return report


def _match_items(items: Sequence[Any], wanted: Sequence[PlacedLine]) -> List[Any]:
    """The appended timeline item of each wanted line (by record frame and audio track), None when missing."""
    where: Dict[tuple[int, int], Any] = {}
    for item in items:
        kind, index = (list(item.GetTrackTypeAndIndex() or []) + ["", 0])[:2]
        if kind == "audio":
            where[(int(round(float(item.GetStart()))), int(index))] = item
    return [where.get((done.record_frame, done.track_index)) for done in wanted]


def _add_audio_track(timeline: Any, name: str) -> int:
    """Append a mono audio track named ``name``; returns its index. Existing tracks keep their indices."""
    before = int(timeline.GetTrackCount("audio") or 0)
    if not timeline.AddTrack("audio", {"audioType": "mono"}):
        raise RevoiceError(f"Resolve could not add an audio track for '{name}'")
    index = int(timeline.GetTrackCount("audio") or 0)
    if index != before + 1:
        raise RevoiceError(f"Resolve added the track for '{name}' at {index}, expected {before + 1}")
    timeline.SetTrackName("audio", index, name)
    return index


def _add_takes(item: Any, line: Dict[str, Any], items: Dict[str, Any], done: PlacedLine, report: Report) -> int:
    """Add the line's other takes to its timeline item's take selector; returns how many were added."""
    added = 0
    for take in line.get("takes") or []:
        path = str(take.get("wav") or "")
        if not path or _same_path(path, done.wav) or path not in items:
            continue
        try:
            ok = item.AddTake(items[path], 0, done.frames - 1)
        except (AttributeError, TypeError):
            ok = False
        if ok:
            added += 1
        else:
            report.warnings.append(f"{done.line_id}: take {take.get('take')} was imported but not added "
                                   "as a take (TimelineItem.AddTake unavailable)")
    return added


def import_as_new_timeline(project: Any, facts: TimelineFacts, status: Dict[str, Any], report: Report) -> Report:
    """``MediaPool.ImportTimelineFromFile`` of the revoiced OTIO under a name no timeline has yet."""
    out = str(status.get("out") or "")
    if not out or not Path(out).is_file():
        report.failed.append(f"the revoiced timeline {out or '(none)'} was not written")
        return report
    names = {str(project.GetTimelineByIndex(i).GetName())
             for i in range(1, int(project.GetTimelineCount() or 0) + 1)}
    name, number = f"{facts.name} (Revoice)", 2
    while name in names:
        name, number = f"{facts.name} (Revoice {number})", number + 1
    created = project.GetMediaPool().ImportTimelineFromFile(out, {"timelineName": name, "importSourceClips": True})
    if created is None:
        report.failed.append(f"Resolve did not import {out} as a timeline")
    else:
        report.new_timeline = name
    return report


# ---------------------------------------------------------------- one run

@dataclass(frozen=True)
class RunOptions:
    work_dir: Optional[Path] = None
    """Where the export, the SRT and the results go (default ~/Revoice/<project>/<timeline>)."""
    srt: Optional[Path] = None
    """An SRT the editor picked; used instead of the timeline's subtitles and markers."""
    new_timeline: bool = False
    takes: int = 1
    profiles: str = "off"
    line_ids: Sequence[str] = ()
    state_dir: Optional[Path] = None


def split_ids(text: str) -> tuple[str, ...]:
    """"L0001, L0003" -> ("L0001", "L0003")."""
    return tuple(part.strip() for part in re.split(r"[,\s]+", text) if part.strip())


def _safe(name: str) -> str:
    return re.sub(r"[^\w.\- ]+", "_", name).strip(" .") or "timeline"


class RevoiceRun:
    """Export -> job -> progress -> placement for the current timeline of the current project."""

    def __init__(self, resolve: Any, options: RunOptions, *, say: Say = print) -> None:
        self.resolve, self.options, self.say = resolve, options, say
        self.project: Any = resolve.GetProjectManager().GetCurrentProject()
        timeline = self.project.GetCurrentTimeline() if self.project is not None else None
        if timeline is None:
            raise RevoiceError("open a project and a timeline in Resolve first", EXIT_NOTHING_TO_DO)
        self.timeline: Any = timeline
        self.facts = read_timeline_facts(self.timeline, self.project)
        self.service: Optional[Service] = None
        self.job_id = ""

    def lines_source(self) -> tuple[Optional[List[Cue]], str]:
        """The cues to write as SRT (None: use the editor's SRT) and a one-line description."""
        if self.options.srt is not None:
            return None, f"the SRT {self.options.srt}"
        cues = subtitle_cues(self.timeline)
        if cues:
            return cues, f"{len(cues)} subtitles on the timeline's subtitle track"
        cues, ignored = marker_cues(self.timeline, self.facts.start_frame)
        for text in ignored:
            self.say(f"Left out {text}")
        if cues:
            return cues, f"{len(cues)} timeline markers"
        raise RevoiceError(f"'{self.facts.name}' has no subtitle track, no markers with a duration and no SRT was "
                           "chosen: add a subtitle track (or markers the length of each line) or pick an SRT",
                           EXIT_NOTHING_TO_DO)

    def prepare(self) -> Dict[str, Any]:
        """Export the timeline, write the SRT; returns the job request (docs/service-api.md)."""
        cues, described = self.lines_source()
        work = self.options.work_dir or (Path.home() / "Revoice" / _safe(str(self.project.GetName()))
                                         / _safe(self.facts.name))
        work.mkdir(parents=True, exist_ok=True)
        stem = _safe(self.facts.name)
        exported = work / f"{stem}.otio"
        self.say(f"Exporting '{self.facts.name}' ({float(self.facts.rate):.6g} fps from "
                 f"{self.facts.timecode(self.facts.start_frame)}) to {exported}")
        if not self.timeline.Export(str(exported), self.resolve.EXPORT_OTIO, self.resolve.EXPORT_NONE) \
                or not exported.is_file():
            raise RevoiceError(f"Resolve could not export the timeline as OTIO to {exported}")
        if cues is not None:
            subtitles, offset = write_srt(cues, self.facts, work / f"{stem}.srt"), "timeline"
        else:
            subtitles, offset = Path(str(self.options.srt)).absolute(), "auto"
            if not subtitles.is_file():
                raise RevoiceError(f"the SRT {subtitles} does not exist", EXIT_NOTHING_TO_DO)
        self.say(f"Lines from {described}")
        options: Dict[str, Any] = {"subs_offset": offset, "takes": self.options.takes,
                                   "profiles": self.options.profiles}
        if self.options.line_ids:
            options["line_ids"] = list(self.options.line_ids)
        return {"timeline": str(exported.absolute()), "subtitles": str(subtitles),
                "out": str((work / f"{stem}_revoiced.otio").absolute()), "options": options}

    def start(self, request: Dict[str, Any]) -> Dict[str, Any]:
        self.service = ensure_service(self.options.state_dir or default_state_dir(), say=self.say)
        status = call_service(self.service, "POST", "/jobs", request)
        self.job_id = str(status["id"])
        self.say(f"Job {self.job_id} sent to {self.service.url}")
        return status

    def poll(self) -> Dict[str, Any]:
        assert self.service is not None
        return call_service(self.service, "GET", f"/jobs/{self.job_id}")

    def cancel(self) -> None:
        if self.service is not None and self.job_id:
            call_service(self.service, "DELETE", f"/jobs/{self.job_id}")

    def finish(self, status: Dict[str, Any]) -> Report:
        report = Report()
        report_lines(status, report, self.facts)
        if self.options.new_timeline:
            if status.get("state") == "done":
                import_as_new_timeline(self.project, self.facts, status, report)
            return report
        return place_on_new_tracks(self.project, self.timeline, self.facts, status, report)


def progress_text(status: Dict[str, Any]) -> str:
    return f"{status.get('done', 0)}/{status.get('total', 0)} {status.get('label') or status.get('state')}"


def exit_code(report: Report) -> int:
    if report.state == "cancelled":
        return EXIT_CANCELLED
    return EXIT_LINES_FAILED if report.failed or report.state != "done" else EXIT_OK


def run_in_text(run: RevoiceRun) -> int:
    """Terminal mode: plain progress lines on stdout; Ctrl-C cancels the job (finished lines are placed)."""
    status = run.start(run.prepare())
    shown = ""
    try:
        while status.get("state") in ("queued", "running"):
            time.sleep(POLL_SECONDS)
            status = run.poll()
            if progress_text(status) != shown:
                shown = progress_text(status)
                run.say(shown)
    except KeyboardInterrupt:
        run.say("Cancelling...")
        run.cancel()
        status = run.poll()
        while status.get("state") in ("queued", "running"):
            time.sleep(POLL_SECONDS)
            status = run.poll()
    report = run.finish(status)
    for line in report.lines(run.facts):
        run.say(line)
    return exit_code(report)


# ---------------------------------------------------------------- Fusion UIManager window (menu mode)

class ProgressWindow:
    """Options, progress and the report in one UIManager window; a UIManager Timer polls the job."""

    WINDOW, TIMER = "com.revoice.resolve", "RevoicePoll"

    def __init__(self, fusion: Any, bmd: Any, resolve: Any, options: RunOptions) -> None:
        self.ui, self.options, self.resolve = fusion.UIManager, options, resolve
        self.fusion = fusion
        self.dispatcher = bmd.UIDispatcher(self.ui)
        self.run: Optional[RevoiceRun] = None
        self.code = EXIT_OK
        ui = self.ui
        self.window = self.dispatcher.AddWindow(
            {"ID": self.WINDOW, "WindowTitle": "Revoice", "Geometry": [200, 200, 620, 420]},
            ui.VGroup([
                ui.Label({"ID": "Timeline", "Text": "", "WordWrap": True}),
                ui.HGroup({"Weight": 0}, [
                    ui.Label({"Text": "Result", "Weight": 0}),
                    ui.ComboBox({"ID": "Place"}),
                    ui.Label({"Text": "Takes", "Weight": 0}),
                    ui.SpinBox({"ID": "Takes", "Minimum": 1, "Maximum": 10, "Value": options.takes}),
                    ui.CheckBox({"ID": "Profiles", "Text": "Match voices (slower)",
                                 "Checked": options.profiles == "auto"}),
                ]),
                ui.HGroup({"Weight": 0}, [
                    ui.Label({"Text": "SRT", "Weight": 0}),
                    ui.LineEdit({"ID": "Srt", "Text": str(options.srt or ""),
                                 "PlaceholderText": "optional: an SRT instead of the subtitle track"}),
                    ui.Button({"ID": "Browse", "Text": "Choose...", "Weight": 0}),
                ]),
                ui.HGroup({"Weight": 0}, [
                    ui.Label({"Text": "Lines", "Weight": 0}),
                    ui.LineEdit({"ID": "Lines", "Text": ",".join(options.line_ids),
                                 "PlaceholderText": "optional: line ids to render, e.g. L0003,L0007 (empty: all)"}),
                ]),
                ui.Label({"ID": "Status", "Text": "Ready.", "Weight": 0}),
                ui.TextEdit({"ID": "Log", "ReadOnly": True}),
                ui.HGroup({"Weight": 0}, [
                    ui.Button({"ID": "Start", "Text": "Revoice"}),
                    ui.Button({"ID": "Cancel", "Text": "Cancel job", "Enabled": False}),
                    ui.Button({"ID": "Close", "Text": "Close"}),
                ]),
            ]))
        self.items = self.window.GetItems()
        self.items["Place"].AddItem("New audio tracks in this timeline")
        self.items["Place"].AddItem("A new timeline")
        self.items["Place"].CurrentIndex = 1 if options.new_timeline else 0
        self.timer = ui.Timer({"ID": self.TIMER, "Interval": int(POLL_SECONDS * 1000), "SingleShot": False})
        self.log: List[str] = []
        on = self.window.On
        on[self.WINDOW].Close = self._close
        on["Close"].Clicked = self._close
        on["Start"].Clicked = self._start
        on["Cancel"].Clicked = self._cancel
        on["Browse"].Clicked = self._browse
        on[self.TIMER].Timeout = self._tick  # versions differ in where a Timer's Timeout arrives
        self.dispatcher.On.Timeout = self._tick

    def say(self, text: str) -> None:
        print(text)
        self.log.append(text)
        self.items["Log"].PlainText = "\n".join(self.log)

    def show(self) -> int:
        try:
            project = self.resolve.GetProjectManager().GetCurrentProject()
            timeline = project.GetCurrentTimeline() if project is not None else None
            facts = read_timeline_facts(timeline, project) if timeline is not None else None
            self.items["Timeline"].Text = (f"Timeline '{facts.name}', {float(facts.rate):.6g} fps from "
                                           f"{facts.timecode(facts.start_frame)}" if facts else "No timeline open.")
        except RevoiceError as exc:
            self.items["Timeline"].Text = str(exc)
        self.window.Show()
        self.dispatcher.RunLoop()
        self.window.Hide()
        return self.code

    def _options(self) -> RunOptions:
        srt = str(self.items["Srt"].Text or "").strip()
        return RunOptions(work_dir=self.options.work_dir, srt=Path(srt) if srt else None,
                          new_timeline=int(self.items["Place"].CurrentIndex) == 1,
                          takes=int(self.items["Takes"].Value),
                          profiles="auto" if self.items["Profiles"].Checked else "off",
                          line_ids=split_ids(str(self.items["Lines"].Text or "")),
                          state_dir=self.options.state_dir)

    def _start(self, event: Any = None) -> None:
        self.items["Start"].Enabled = False
        try:
            self.run = RevoiceRun(self.resolve, self._options(), say=self.say)
            self.run.start(self.run.prepare())
        except RevoiceError as exc:
            self._fail(exc)
            return
        self.items["Cancel"].Enabled = True
        self.items["Status"].Text = "Queued..."
        self.timer.Start()

    def _tick(self, event: Any = None) -> None:
        if self.run is None or not self.run.job_id:
            return
        try:
            status = self.run.poll()
            self.items["Status"].Text = progress_text(status)
            if status.get("state") in ("queued", "running"):
                return
            self.timer.Stop()
            self.items["Cancel"].Enabled = False
            report = self.run.finish(status)
        except RevoiceError as exc:
            self.timer.Stop()
            self._fail(exc)
            return
        for line in report.lines(self.run.facts):
            self.say(line)
        self.code = exit_code(report)
        self.items["Status"].Text = f"Finished: {len(report.placed)} placed, {len(report.flagged)} flagged, " \
                                    f"{len(report.failed)} failed"
        self.run.job_id = ""

    def _fail(self, exc: RevoiceError) -> None:
        self.say(str(exc))
        self.items["Status"].Text = str(exc)
        self.items["Start"].Enabled = True
        self.code = exc.exit_code

    def _cancel(self, event: Any = None) -> None:
        if self.run is not None:
            try:
                self.run.cancel()
                self.say("Cancel asked; finished lines will still be placed.")
            except RevoiceError as exc:
                self.say(str(exc))

    def _browse(self, event: Any = None) -> None:
        try:
            chosen = self.fusion.RequestFile()
        except (AttributeError, TypeError):
            chosen = None
        if chosen:
            self.items["Srt"].Text = str(chosen)

    def _close(self, event: Any = None) -> None:
        self.timer.Stop()
        self.dispatcher.ExitLoop()


# ---------------------------------------------------------------- getting Resolve, entry points

def get_resolve(injected: Dict[str, Any]) -> Any:
    """Resolve from the menu's globals (``resolve``, ``app``/``fu``/``fusion`` .GetResolve(), ``bmd.scriptapp``),
    else through ``DaVinciResolveScript.scriptapp("Resolve")`` (external scripting)."""
    if injected.get("resolve") is not None:
        return injected["resolve"]
    for name in ("app", "fu", "fusion"):
        host = injected.get(name)
        if host is not None:
            try:
                found = host.GetResolve()
                if found is not None:
                    return found
            except (AttributeError, TypeError):
                pass
    if injected.get("bmd") is not None:
        found = injected["bmd"].scriptapp("Resolve")
        if found is not None:
            return found
    try:
        dvr = importlib.import_module("DaVinciResolveScript")
    except ImportError:
        api = os.environ.get("RESOLVE_SCRIPT_API") or {
            "darwin": "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting",
            "win32": os.path.join(os.environ.get("PROGRAMDATA", "C:\\ProgramData"),
                                  "Blackmagic Design", "DaVinci Resolve", "Support", "Developer", "Scripting"),
        }.get(sys.platform, "/opt/resolve/Developer/Scripting")
        sys.path.append(os.path.join(api, "Modules"))
        try:
            dvr = importlib.import_module("DaVinciResolveScript")
        except ImportError:
            raise RevoiceError("DaVinciResolveScript is not importable: run this from Resolve's Workspace > "
                               "Scripts menu, or set RESOLVE_SCRIPT_API / PYTHONPATH as Resolve's scripting "
                               "README says") from None
    found = dvr.scriptapp("Resolve")
    if found is None:
        raise RevoiceError("Resolve is not running, or external scripting is off (Preferences > System > "
                           "General > External scripting using: Local)")
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="Revoice.py", description="Revoice the current Resolve timeline.")
    parser.add_argument("--srt", type=Path, help="an SRT with the lines (instead of the subtitle track/markers)")
    parser.add_argument("--new-timeline", action="store_true",
                        help="import the result as a new timeline instead of adding tracks")
    parser.add_argument("--takes", type=int, default=1, help="takes per line; others become clip takes")
    parser.add_argument("--profiles", default="off", help="voice profiles: off (stock voices) or auto")
    parser.add_argument("--lines", default="", help="comma-separated line ids to render (default: all)")
    parser.add_argument("--work-dir", type=Path, help="folder for the export and the results")
    parser.add_argument("--state-dir", type=Path, help="the service's state folder (default per user)")
    parser.add_argument("--text", action="store_true", help="print progress even when run from the menu")
    return parser


def main(argv: Optional[Sequence[str]] = None, *, injected: Optional[Dict[str, Any]] = None,
         say: Say = print) -> int:
    """Run once; returns the exit code (0 ok, 1 lines failed, 2 nothing to revoice, 3 error, 130 cancelled)."""
    injected = injected or {}
    args = build_parser().parse_args(list(argv) if argv is not None else [])
    options = RunOptions(work_dir=args.work_dir or (Path(os.environ["REVOICE_RESOLVE_WORK_DIR"])
                                                    if os.environ.get("REVOICE_RESOLVE_WORK_DIR") else None),
                         srt=args.srt, new_timeline=args.new_timeline, takes=args.takes, profiles=args.profiles,
                         line_ids=split_ids(args.lines),
                         state_dir=args.state_dir)
    try:
        resolve = get_resolve(injected)
        fusion = injected.get("fusion") or injected.get("fu")
        if fusion is not None and injected.get("bmd") is not None and not args.text:
            return ProgressWindow(fusion, injected["bmd"], resolve, options).show()
        return run_in_text(RevoiceRun(resolve, options, say=say))
    except RevoiceError as exc:
        say(f"Revoice: {exc}")
        return exc.exit_code


def _menu_globals(namespace: Dict[str, Any]) -> Dict[str, Any]:
    """What Resolve injects into a menu script (module globals or builtins)."""
    names = ("resolve", "fusion", "fu", "bmd", "app")
    return {n: namespace.get(n, getattr(builtins, n, None)) for n in names
            if namespace.get(n, getattr(builtins, n, None)) is not None}


if __name__ == "__main__" or _menu_globals(globals()).get("resolve") is not None:
    _injected = _menu_globals(globals())
    _code = main(sys.argv[1:] if not _injected else [], injected=_injected)
    if not _injected:
        sys.exit(_code)
