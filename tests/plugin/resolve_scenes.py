"""Scenes for the stand-in Resolve: real OTIO exports and subtitle items at real frame rates.

* :func:`demo_scene`: the embedded demo (Endgame, 23.976 fps from 01:00:00:00), its
  subtitle items taken from the demo SRT;
* :func:`drop_frame_scene`: the same recording and lines on a 29.97 drop-frame
  timeline from 01:00:00;00 (frame 107892), built here with OpenTimelineIO.

Frames in scenes are absolute timeline frames, as Resolve's ``GetStart()`` returns them.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import opentimelineio as otio

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "plugin" / "resolve" / "Revoice.py"
STANDIN = REPO / "plugin" / "resolve" / "standin"
DEMO_RATE = Fraction(24000, 1001)
DF_RATE = Fraction(30000, 1001)
DF_START = 107892
"""01:00:00;00 at 29.97 drop frame."""


@dataclass(frozen=True)
class SubtitleItem:
    start: int
    end: int
    name: str


@dataclass(frozen=True)
class Scene:
    path: Path
    """The scene JSON for the stand-in (REVOICE_STANDIN_SCENE)."""
    otio: Path
    start_frame: int
    rate: Fraction
    subtitles: list[SubtitleItem]
    spec: dict[str, Any]


def load_script() -> ModuleType:
    """plugin/resolve/Revoice.py as a module (nothing runs at import)."""
    spec = importlib.util.spec_from_file_location("Revoice", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["Revoice"] = module
    spec.loader.exec_module(module)
    return module


def load_standin() -> ModuleType:
    """The stand-in DaVinciResolveScript, imported the way the script imports it (its folder on sys.path)."""
    if str(STANDIN) not in sys.path:
        sys.path.insert(0, str(STANDIN))
    return importlib.import_module("DaVinciResolveScript")


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def demo_subtitles(srt: Path) -> list[tuple[int, int, str]]:
    """The demo SRT's cues as (start, end) frames from 01:00:00:00 at 23.976 and the caption text."""
    from revoice.otio_bridge.subtitles import read_subtitles

    out = []
    for cue in read_subtitles(srt):
        start = _half_up(Fraction(cue.start_seconds).limit_denominator(1_000_000) * 24) - 86400
        end = _half_up(Fraction(cue.end_seconds).limit_denominator(1_000_000) * 24) - 86400
        out.append((start, end, f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text))
    return out


def write_scene(folder: Path, *, name: str, otio_path: Path | None, start_frame: int, rate_setting: str,
                drop_frame: bool, subtitles: list[SubtitleItem], markers: dict[str, Any] | None = None,
                audio_tracks: tuple[str, ...] = ("A1 Dialogue",), end_frame: int | None = None) -> Scene:
    """A scene JSON with one timeline: V1, the audio tracks, one subtitle track when there are subtitles."""
    timeline: dict[str, Any] = {
        "name": name, "start_frame": start_frame, "end_frame": end_frame or start_frame,
        "settings": {"timelineFrameRate": rate_setting, "timelineDropFrameTimecode": "1" if drop_frame else "0"},
        "export_otio": str(otio_path) if otio_path else None,
        "tracks": {"video": ["V1"], "audio": list(audio_tracks), "subtitle": ["Subtitle 1"] if subtitles else []},
        "items": {"subtitle": {"1": [{"name": s.name, "start": s.start, "end": s.end} for s in subtitles]}},
        "markers": markers or {},
    }
    spec = {"project": "Revoice test", "current_timeline": 0, "timelines": [timeline]}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scene.json"
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    rate = DF_RATE if drop_frame or rate_setting.startswith("29.97") else DEMO_RATE
    return Scene(path, otio_path or Path(), start_frame, rate, subtitles, spec)


def demo_scene(folder: Path) -> Scene:
    """The embedded demo as Resolve would hold it: 23.976 @ 01:00:00:00, its SRT as a subtitle track."""
    import revoice.demo as demo

    files = demo.demo_files(folder / "demo")
    timeline = otio.adapters.read_from_file(str(files.timeline))
    length = int(round(timeline.duration().value))
    items = [SubtitleItem(86400 + a, 86400 + b, text) for a, b, text in demo_subtitles(files.subtitles)]
    return write_scene(folder, name="Endgame 23.976", otio_path=files.timeline, start_frame=86400,
                       rate_setting="23.976", drop_frame=False, subtitles=items, end_frame=86400 + length)


def drop_frame_scene(folder: Path) -> Scene:
    """The Endgame recording and lines on a 29.97 DF timeline from 01:00:00;00, as a real OTIO export."""
    from revoice.otio_bridge.media import url_for_path
    from revoice.otio_bridge.write import OTIO_TARGET

    import revoice.demo as demo

    audio, reason = demo.endgame_audio()
    if audio is None:
        import pytest

        pytest.skip(str(reason))
    files = demo.demo_files(folder / "demo")
    rate = float(DF_RATE)
    frames = math.ceil(Fraction(demo.ENDGAME_SAMPLES, demo.ENDGAME_SAMPLE_RATE) * DF_RATE)

    def span(start: int, count: int) -> otio.opentime.TimeRange:
        return otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(count, rate))

    timeline = otio.schema.Timeline(name="Endgame 29.97 DF", global_start_time=otio.opentime.RationalTime(DF_START, rate))
    picture = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    picture.append(otio.schema.Clip(name="picture", source_range=span(0, frames),
                                    media_reference=otio.schema.MissingReference(available_range=span(0, frames))))
    dialogue = otio.schema.Track(name="A1 Dialogue", kind=otio.schema.TrackKind.Audio)
    dialogue.append(otio.schema.Clip(name="endgame_nagg_nell", source_range=span(0, frames),
                                     media_reference=otio.schema.ExternalReference(
                                         target_url=url_for_path(audio), available_range=span(0, frames))))
    timeline.tracks.extend([picture, dialogue])
    path = folder / "endgame_2997df.otio"
    folder.mkdir(parents=True, exist_ok=True)
    otio.adapters.write_to_file(timeline, str(path), target_schema_versions=otio.versioning.fetch_map(*OTIO_TARGET))
    # the same moments in time: 23.976 frames -> seconds -> 29.97 frames (x 1.25)
    items = [SubtitleItem(DF_START + _half_up(Fraction(a * 5, 4)), DF_START + _half_up(Fraction(b * 5, 4)), text)
             for a, b, text in demo_subtitles(files.subtitles)]
    return write_scene(folder, name="Endgame 29.97 DF", otio_path=path, start_frame=DF_START,
                       rate_setting="29.97", drop_frame=True, subtitles=items, end_frame=DF_START + frames)


def read_calls(path: Path) -> list[dict[str, Any]]:
    """The stand-in's recorded calls (one JSON object a line)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def calls_to(calls: list[dict[str, Any]], method: str) -> list[list[Any]]:
    """The argument lists of every recorded call to ``method``."""
    return [c["args"] for c in calls if c["method"] == method]
