"""What one render of a session produced: the record every front end reports from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revoice.engine.model import DialogueLine, SkippedLine
from revoice.engine.render import BatchResult, LineFailure
from revoice.options import JobOptions
from revoice.otio_bridge.timeline import format_timecode

if TYPE_CHECKING:
    from revoice.casting import CharacterVoice


@dataclass
class JobOutcome:
    """Lines rendered (this shard's), failed, skipped; warnings; the files written.

    ``profiles`` holds one row per character with a voice profile (see
    :func:`revoice.casting.profile_row`), ``speaker_groups`` the characters
    proposed by voice for unnamed lines (name, line_ids, coherence, speech_seconds).
    """

    options: JobOptions
    lines: list[DialogueLine]
    skipped: list[SkippedLine]
    warnings: list[str]
    batch: BatchResult
    written: list[Path]
    pending_shards: int = 0
    """Lines rendered by other shards that are not finished yet (timeline not written)."""
    rate: float = 24.0
    """The timeline's frame rate (fps), for timecodes."""
    start_frames: int = 0
    """The timeline's start timecode in frames."""
    profiles: list[dict[str, Any]] = field(default_factory=list)
    speaker_groups: list[dict[str, Any]] = field(default_factory=list)
    superseded: list[Path] = field(default_factory=list)
    """Renders in the media folder no line of the timeline uses any more (deleted when ``pruned``)."""
    pruned: bool = False
    voices: list[CharacterVoice] = field(default_factory=list)
    """Each character's voice per language, and why (:func:`revoice.casting.character_voices`)."""

    @property
    def failed(self) -> list[LineFailure]:
        return self.batch.failed

    def timecode(self, line: DialogueLine) -> str:
        """The line's record-in timecode (``01:00:04:12``)."""
        return str(format_timecode(self.start_frames + line.record.start, self.rate))

    def summary_json(self) -> dict[str, Any]:
        from revoice.summary import summary_json

        return summary_json(self)

    def summary_table(self) -> str:
        from revoice.summary import summary_table

        return summary_table(self)
