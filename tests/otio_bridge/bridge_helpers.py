"""Helpers for the OTIO bridge tests: synthetic timelines, SRT files and silent renders."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import opentimelineio as otio
import soundfile as sf
from revoice.engine.model import DialogueLine, RenderedLine
from revoice.engine.records import RenderReport

RATES: dict[str, float] = {
    "23.976": 24000 / 1001,
    "24": 24.0,
    "25": 25.0,
    "29.97DF": 30000 / 1001,
    "30": 30.0,
    "50": 50.0,
    "59.94DF": 60000 / 1001,
    "60": 60.0,
}
"""Timeline rates under test (NTSC 29.97/59.94 use drop-frame timecode)."""

HOUR_FRAMES: dict[str, int] = {
    "23.976": 86400,
    "24": 86400,
    "25": 90000,
    "29.97DF": 107892,
    "30": 108000,
    "50": 180000,
    "59.94DF": 215784,
    "60": 216000,
}
"""01:00:00:00 (01:00:00;00 for drop frame) in frames: the known answers."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_srt(path: Path, cues: Iterable[tuple[float, float, str]]) -> Path:
    """Write an SRT with ``(start_seconds, end_seconds, text)`` cues (times rounded to ms)."""
    def stamp(seconds: float) -> str:
        ms = int(round(seconds * 1000))
        h, rest = divmod(ms, 3_600_000)
        m, rest = divmod(rest, 60_000)
        s, ms = divmod(rest, 1000)
        return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"

    blocks = [f"{i}\n{stamp(a)} --> {stamp(b)}\n{text}\n"
              for i, (a, b, text) in enumerate(cues, start=1)]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def make_timeline(
    rate: float,
    start_frames: int = 0,
    *,
    length_frames: int | None = None,
    audio: Iterable[tuple[int, int, str, int, int]] = (),
    audio_track_name: str = "DIA",
) -> otio.schema.Timeline:
    """A timeline with one video clip of ``length_frames`` and one audio track.

    ``audio`` items are ``(record_start, duration, target_url, media_tc_start,
    source_in)`` in frames: the clip plays its media from ``source_in`` frames
    after the media's start timecode ``media_tc_start``.
    """
    length = length_frames if length_frames is not None else int(round(rate * 120))
    tl = otio.schema.Timeline(name="synthetic", global_start_time=otio.opentime.RationalTime(start_frames, rate))
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    video.append(otio.schema.Clip(
        name="picture",
        media_reference=otio.schema.MissingReference(),
        source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                             otio.opentime.RationalTime(length, rate)),
    ))
    tl.tracks.append(video)
    track = otio.schema.Track(name=audio_track_name, kind=otio.schema.TrackKind.Audio)
    cursor = 0
    for record_start, duration, url, media_tc, source_in in sorted(audio):
        if record_start > cursor:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(record_start - cursor, rate))))
        ref = otio.schema.ExternalReference(
            target_url=url,
            available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(media_tc, rate),
                                                    otio.opentime.RationalTime(10 * length, rate)),
        )
        track.append(otio.schema.Clip(
            name=Path(url).name or "clip",
            media_reference=ref,
            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(media_tc + source_in, rate),
                                                 otio.opentime.RationalTime(duration, rate)),
        ))
        cursor = record_start + duration
    tl.tracks.append(track)
    return tl


def render_silence(lines: Iterable[DialogueLine], folder: Path, sample_rate: int = 48000) -> list[RenderedLine]:
    """A silent WAV exactly each line's slot long, as the engine would render it."""
    out: list[RenderedLine] = []
    folder.mkdir(parents=True, exist_ok=True)
    for line in lines:
        n = line.slot_samples(sample_rate)
        wav = folder / f"{line.line_id}.wav"
        sf.write(wav, np.zeros(n, dtype=np.float32), sample_rate, subtype="PCM_16")
        out.append(RenderedLine(
            line_id=line.line_id, path=wav, sample_rate=sample_rate, slot_samples=n,
            speech_start=0, speech_end=n, backend="test", voice_id="silence",
            settings={"speed": np.float32(1.25)}, report=RenderReport.from_json({"lufs": -23.0}), flags=("short",),
        ))
    return out
