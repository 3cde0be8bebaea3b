"""The original dialogue under a line, read from its media files.

Used to match loudness now and, later, to place speech where the actor
spoke and to build voice profiles. Audio files are read with soundfile;
media it cannot decode is reported, never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soundfile as sf

from engine.dsp.resample import resample
from engine.model import DialogueLine
from engine.voices.base import AudioArray


@dataclass(frozen=True)
class OriginalAudio:
    """The line's original audio over its whole slot, mono at ``sample_rate``.

    Parts of the slot with no readable media are silent; ``covered_samples``
    says how much came from real media.
    """

    audio: AudioArray
    sample_rate: int
    covered_samples: int
    problems: tuple[str, ...] = ()


def read_original(line: DialogueLine, sample_rate: int) -> OriginalAudio | None:
    """Mix the readable source pieces under ``line`` into one slot-long mono signal.

    Returns None when no piece of original audio could be read.
    """
    slot = line.slot_samples(sample_rate)
    mix = np.zeros(slot, dtype=np.float32)
    covered = 0
    problems: list[str] = []
    for source in line.sources:
        if source.media_path is None:
            continue
        try:
            with sf.SoundFile(str(source.media_path)) as handle:
                file_rate = int(handle.samplerate)
                handle.seek(max(0, int(round(source.source_start_seconds * file_rate))))
                frames = int(round(source.duration_seconds * file_rate))
                data = handle.read(frames, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            problems.append(f"{source.media_path.name}: cannot read audio ({exc})")
            continue
        piece = resample(np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), file_rate, sample_rate)
        offset = int(round(source.offset_in_line_seconds * sample_rate))
        if offset >= slot or offset < 0:
            continue
        piece = piece[: slot - offset]
        mix[offset : offset + len(piece)] += piece
        covered += len(piece)
    if covered == 0:
        return None
    return OriginalAudio(audio=mix, sample_rate=sample_rate, covered_samples=covered, problems=tuple(problems))
