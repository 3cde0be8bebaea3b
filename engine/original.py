"""The original dialogue under a line, read from its media files.

Used to match loudness, to place speech where the actor spoke and to build
voice profiles. Plain audio files are read with soundfile (sample exact),
anything else FFmpeg decodes (video containers, compressed audio) with PyAV;
this module is the only place that touches either library. Media it cannot
decode is reported, never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
            data, file_rate = read_media_audio(
                source.media_path, start_seconds=max(0.0, source.source_start_seconds),
                duration_seconds=max(0.0, source.duration_seconds))
        except MediaError as exc:
            problems.append(str(exc))
            continue
        piece = resample(data, file_rate, sample_rate)
        offset = int(round(source.offset_in_line_seconds * sample_rate))
        if offset >= slot or offset < 0:
            continue
        piece = piece[: slot - offset]
        mix[offset : offset + len(piece)] += piece
        covered += len(piece)
    if covered == 0:
        return None
    return OriginalAudio(audio=mix, sample_rate=sample_rate, covered_samples=covered, problems=tuple(problems))


class MediaError(Exception):
    """Media that cannot be decoded; ``str()`` names the file and says why."""


def read_media_audio(path: Path, *, start_seconds: float = 0.0,
                     duration_seconds: float | None = None) -> tuple[AudioArray, int]:
    """Decode ``duration_seconds`` (None: to the end) from ``start_seconds`` of ``path``'s first audio stream.

    Returns float32 mono (channels averaged) at the file's own sample rate.
    Tries soundfile for plain audio files (WAV, FLAC, AIFF: sample exact,
    fast), then PyAV for everything FFmpeg decodes (MOV, MP4, MXF, MP3, AAC).
    Raises :class:`MediaError` when neither can read it.
    """
    if start_seconds < 0 or (duration_seconds is not None and duration_seconds < 0):
        raise ValueError(f"need start_seconds >= 0 and duration_seconds >= 0, got {start_seconds}, {duration_seconds}")
    reasons: list[str] = []
    try:
        with sf.SoundFile(str(path)) as handle:
            rate = int(handle.samplerate)
            handle.seek(min(int(round(start_seconds * rate)), handle.frames))
            frames = -1 if duration_seconds is None else int(round(duration_seconds * rate))
            data = handle.read(frames, dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), rate
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as exc:
        reasons.append(f"soundfile: {exc}")
    try:
        return _decode_with_av(path, start_seconds, duration_seconds)
    except MediaError as exc:
        reasons.append(f"PyAV: {exc}")
    raise MediaError(f"{path.name}: cannot read audio ({'; '.join(reasons)})")


def _decode_with_av(path: Path, start_seconds: float, duration_seconds: float | None) -> tuple[AudioArray, int]:
    """PyAV decode of the first audio stream, cut to the range by the frames' timestamps."""
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a dependency
        raise MediaError(f"PyAV is not installed ({exc})") from None
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError("no audio stream")
            stream = container.streams.audio[0]
            rate = int(stream.codec_context.sample_rate or stream.rate or 0)
            if rate <= 0:
                raise MediaError("audio stream has no sample rate")
            first = int(round(start_seconds * rate))
            last = None if duration_seconds is None else first + int(round(duration_seconds * rate))
            if start_seconds > 0 and stream.time_base is not None:
                container.seek(int(start_seconds / float(stream.time_base)), stream=stream, backward=True)
            pieces: list[np.ndarray] = []
            position: int | None = None
            for frame in container.decode(stream):
                data = np.asarray(frame.to_ndarray(), dtype=np.float64)
                channels = len(frame.layout.channels)
                data = data.reshape(channels, -1) if frame.format.is_planar else data.reshape(-1, channels).T
                if np.issubdtype(frame.to_ndarray().dtype, np.integer):
                    data = data / float(2 ** (8 * frame.format.bytes - 1))
                mono = data.mean(axis=0)
                if frame.pts is not None and frame.time_base is not None:
                    position = int(round(float(frame.pts * frame.time_base) * rate))
                elif position is None:
                    position = 0
                lo, hi = max(first - position, 0), mono.size if last is None else min(mono.size, last - position)
                if hi > lo:
                    pieces.append(mono[lo:hi])
                position += mono.size
                if last is not None and position >= last:
                    break
    except MediaError:
        raise
    except Exception as exc:  # FFmpeg errors come in many classes (av.error.*, OSError)
        raise MediaError(str(exc) or type(exc).__name__) from None
    audio = np.concatenate(pieces) if pieces else np.zeros(0)
    return np.ascontiguousarray(audio, dtype=np.float32), rate
