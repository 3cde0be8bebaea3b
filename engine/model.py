"""Plain data shared by the bridge, the engine, the app and the panel.

Nothing here imports OTIO or a model: these types cross every package
boundary (and later process and machine boundaries when a reel is sharded),
so they stay small, frozen and JSON-friendly. numpy appears only to name the
audio convention (:data:`AudioArray`); no record holds an array.

A line's journey: :class:`DialogueLine` (read from the timeline) ->
:class:`RenderedLine` (its WAV, with a :class:`revoice.engine.records.RenderReport`
of the fit and loudness numbers, the take's QC metrics and the listing of
every take) -> the clip written back. The report's records live in
revoice.engine.records: typed records read from and written to exactly the
JSON objects the sidecars and clip metadata hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from revoice.engine.emotion.labels import Emotion
from revoice.engine.records import RenderReport

DEFAULT_SPEAKER = "Dialogue"

AudioArray = npt.NDArray[np.float32]
"""Mono float32 audio in [-1, 1], shape ``(samples,)``, with its sample rate passed beside it."""


@dataclass(frozen=True)
class FrameRange:
    """A range on the timeline in whole frames at ``rate`` frames per second.

    ``start`` counts from the first frame of the timeline (track time 0), not
    from midnight: add the timeline's start timecode for display.
    """

    start: int
    duration: int
    rate: float

    @property
    def end(self) -> int:
        """First frame after the range."""
        return self.start + self.duration

    @property
    def start_seconds(self) -> float:
        return self.start / self.rate

    @property
    def duration_seconds(self) -> float:
        return self.duration / self.rate

    def samples(self, sample_rate: int) -> int:
        """Length in samples at ``sample_rate`` (rounded to the nearest sample)."""
        return frames_to_samples(self.duration, self.rate, sample_rate)


def frames_to_samples(frames: int, rate: float, sample_rate: int) -> int:
    """Whole frames at ``rate`` fps to the nearest whole sample at ``sample_rate`` Hz."""
    return int(round(frames * sample_rate / rate))


@dataclass(frozen=True)
class SourceAudio:
    """Original dialogue under a line: a piece of a media file.

    ``media_path`` is None when the media cannot be found on disk; the line is
    still revoiced, but sync and "match the original" loudness fall back.
    """

    clip_name: str
    track_name: str
    media_url: str
    media_path: Path | None
    source_start_seconds: float
    """Where the used part starts inside the media file (seconds from file start)."""
    duration_seconds: float
    offset_in_line_seconds: float
    """Where this piece starts relative to the line's record start (seconds)."""

    @property
    def available(self) -> bool:
        return self.media_path is not None


@dataclass(frozen=True)
class LineDuration:
    """How long a line's speech runs: fitted to the original take (``fit``) or at the voice's own pace (``free``)."""

    mode: Literal["fit", "free"] = "fit"
    ratio: float = 1.0
    """With ``free``: the speech length as a factor of the natural one (0.5-2; 1 is natural)."""

    def check(self) -> None:
        """Raise ValueError naming the bad field."""
        if self.mode not in ("fit", "free"):
            raise ValueError(f"duration mode {self.mode!r} must be 'fit' or 'free'")
        if isinstance(self.ratio, bool) or not isinstance(self.ratio, (int, float)) or not 0.5 <= self.ratio <= 2.0:
            raise ValueError(f"duration ratio {self.ratio!r} must be a number from 0.5 to 2")


@dataclass(frozen=True)
class DialogueLine:
    """One line of dialogue to revoice, with its slot on the timeline."""

    line_id: str
    text: str
    speaker: str
    language: str
    record: FrameRange
    timecode_start_frames: int = 0
    """The timeline's start timecode in frames (e.g. 01:00:00:00 at 24 fps = 86400)."""
    sources: tuple[SourceAudio, ...] = ()
    origin: str = ""
    """Where the line came from, for messages: ``sample.srt:12``, ``marker 'Line 3'``."""
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    emotion: Emotion | None = None
    """The line's own emotion request (subtitle tag, ASS style, marker, job file, panel); None: the run's."""
    duration: LineDuration | None = None
    """The line's own duration mode (job file); None: fitted to the original take."""

    @property
    def record_start_seconds_from_midnight(self) -> float:
        return (self.timecode_start_frames + self.record.start) / self.record.rate

    def slot_samples(self, sample_rate: int) -> int:
        """The slot's length in samples: every render of this line has exactly this length."""
        return self.record.samples(sample_rate)


@dataclass(frozen=True)
class SkippedLine:
    """A cue or marker that was not turned into a line, and why (shown in the summary)."""

    origin: str
    text: str
    reason: str


@dataclass(frozen=True)
class Segment:
    """A labelled span of synthesized audio, in samples at the synthesis rate.

    Backends that can align fill ``Synthesis.segments`` with phonemes (and
    ``" "`` / punctuation for pauses), so the fitter can find pauses without
    guessing from the waveform.
    """

    label: str
    start: int
    end: int


@dataclass(frozen=True)
class RenderedLine:
    """One line rendered to its slot: a WAV exactly ``slot_samples`` long.

    ``speech_start`` / ``speech_end`` are sample offsets inside the file where
    the revoiced speech sits. ``report`` holds the fit and loudness numbers
    and ``flags`` the problems an editor should look at.
    """

    line_id: str
    path: Path
    sample_rate: int
    slot_samples: int
    speech_start: int
    speech_end: int
    backend: str
    voice_id: str
    take: int = 1
    settings: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    report: RenderReport = field(default_factory=lambda: RenderReport.from_json({}), hash=False, compare=False)
    """The fit, loudness and QC numbers (a sidecar's JSON is read with :meth:`RenderReport.from_json`)."""
    flags: tuple[str, ...] = ()
