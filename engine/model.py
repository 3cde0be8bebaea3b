"""Plain data shared by the bridge, the engine and the panel.

Nothing here imports OTIO, numpy or a model: these types cross every
package boundary (and later process and machine boundaries when a reel is
sharded), so they stay small, frozen and JSON-friendly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SPEAKER = "Dialogue"


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
class RenderedLine:
    """One line rendered to its slot: a WAV exactly ``slot_samples`` long.

    ``speech_start`` / ``speech_end`` are sample offsets inside the file where
    the revoiced speech sits. ``report`` holds the fit and loudness numbers
    (JSON-friendly) and ``flags`` the problems an editor should look at.
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
    report: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    flags: tuple[str, ...] = ()
