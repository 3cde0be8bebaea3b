"""What the service reports about a job: per-line status records and the events its stream sends.

Frames are at the timeline's rate and count from its first frame (add the
timeline's ``start_frames`` for a record timecode); sample counts are at the
WAV's own rate. See docs/service-api.md for the JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revoice.engine.model import DialogueLine, RenderedLine
from revoice.otio_bridge.lines import REVOICE_TRACK_PREFIX

JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
LINE_STATES = ("pending", "rendering", "done", "cached", "failed", "cancelled")


@dataclass
class TakeFile:
    """One take of a line and its WAV."""

    take: int
    wav: str


@dataclass
class LineStatus:
    """One line of a job: where it sits on the timeline, how far it is, and its WAV once rendered."""

    line_id: str
    speaker: str
    text: str
    timecode: str
    """The line's record-in timecode (the timeline's start timecode included)."""
    record_start: int
    """First frame of the line's slot, counted from the timeline's first frame."""
    record_duration: int
    """The slot's length in frames; the WAV is exactly this long."""
    track: str
    """The ``Revoice - <speaker>`` track it is placed on in the written timeline."""
    state: str = "pending"
    message: str = ""
    flags: list[str] = field(default_factory=list)
    wav: str | None = None
    take: int | None = None
    takes: list[TakeFile] = field(default_factory=list)
    sample_rate: int | None = None
    samples: int | None = None
    """The WAV's length in samples (its slot at ``sample_rate``)."""

    @classmethod
    def of(cls, line: DialogueLine, *, timecode: str, track: str) -> LineStatus:
        return cls(line_id=line.line_id, speaker=line.speaker, text=line.text, timecode=timecode,
                   record_start=line.record.start, record_duration=line.record.duration, track=track)

    def place(self, render: RenderedLine) -> None:
        """Record ``render`` (the placed take) and the takes beside it."""
        self.wav = str(render.path)
        self.take = render.take
        self.flags = list(render.flags)
        self.sample_rate = render.sample_rate
        self.samples = render.slot_samples
        listed = render.report.takes or ()
        folder = Path(render.path).parent
        self.takes = [TakeFile(take=int(entry.take), wav=str(folder / entry.file))
                      for entry in listed if entry.take is not None and entry.file]
        if not self.takes:
            self.takes = [TakeFile(take=render.take, wav=str(render.path))]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class JobEvent:
    """One server-sent event: ``kind`` (``progress``, ``line``, ``end``), its JSON ``data`` and its number."""

    index: int
    kind: str
    data: Mapping[str, Any]

    def encode(self) -> str:
        """The event as ``text/event-stream`` text."""
        import json

        return f"id: {self.index}\nevent: {self.kind}\ndata: {json.dumps(dict(self.data))}\n\n"


def track_names(lines: Iterable[DialogueLine]) -> dict[str, str]:
    """The track each line lands on, by line id: ``Revoice - <speaker>``, ``… 2`` where a speaker overlaps.

    The same lanes :func:`revoice.otio_bridge.write.build_revoiced_timeline` makes
    for these lines.
    """
    lanes: dict[str, list[list[int]]] = {}
    names: dict[str, str] = {}
    for line in sorted(lines, key=lambda ln: (ln.record.start, ln.record.end, ln.line_id)):
        speaker_lanes = lanes.setdefault(line.speaker, [])
        lane = next((index for index, cursor in enumerate(speaker_lanes) if cursor[0] <= line.record.start), None)
        if lane is None:
            speaker_lanes.append([0])
            lane = len(speaker_lanes) - 1
        speaker_lanes[lane][0] = line.record.end
        names[line.line_id] = f"{REVOICE_TRACK_PREFIX}{line.speaker}{f' {lane + 1}' if lane else ''}"
    return names
