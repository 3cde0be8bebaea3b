"""The original dialogue under a line, read from its media files.

Used to match loudness, to place speech where the actor spoke and to build
voice profiles. Plain audio files are read with soundfile (sample exact),
anything else FFmpeg decodes (video containers, compressed audio) with PyAV;
this module is the only place that touches either library. Media it cannot
decode is reported, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from revoice.engine.dsp.resample import resample
from revoice.engine.model import DialogueLine
from revoice.engine.voices.base import AudioArray


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


_PROBE_SECONDS = 0.05
"""How much audio :func:`undecodable_media` decodes per file: one frame of any codec."""


def undecodable_media(lines: Sequence[DialogueLine]) -> list[str]:
    """One warning per media file under ``lines`` that is on disk but does not decode, worded as for a missing one.

    A missing file is reported when the lines are read
    (:func:`revoice.otio_bridge.lines.extract_lines`); one that is there but
    holds no audio FFmpeg or libsndfile can decode (a text file named .wav, a
    truncated MOV, a picture-only clip) was dropped in silence at render
    time. Each distinct file is opened once and its first 50 ms decoded.
    """
    seen: set[Path] = set()
    warnings: list[str] = []
    for line in lines:
        for source in line.sources:
            path = source.media_path
            if path is None or path in seen:
                continue
            seen.add(path)
            try:
                read_media_audio(path, duration_seconds=_PROBE_SECONDS)
            except MediaError as exc:
                reason = " ".join(str(exc).split())
                reason = reason if len(reason) <= 200 else reason[:199] + "…"
                warnings.append(f"media cannot be decoded: {source.media_url} (clip '{source.clip_name}' on track "
                                f"'{source.track_name}': {reason}); lines over it are revoiced without the "
                                "original audio")
    return warnings


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


_SEEK_PREROLL_SECONDS = 0.25
"""After a seek, decode from this long before the asked start. A lossy decoder
needs the packets before the first sample it returns (AAC's overlapping MDCT
windows, MP3's bit reservoir): the first frame decoded after a bare seek comes
out wrong (measured: errors as large as the signal over the first 1024 samples
for AAC, 1152 for MP3). The extra frames are decoded and dropped by timestamp."""


def _decode_with_av(path: Path, start_seconds: float, duration_seconds: float | None) -> tuple[AudioArray, int]:
    """PyAV decode of the first audio stream, cut to the range by the frames' timestamps.

    Seconds count from the media's 0 s (see :func:`_file_origin`: the first
    picture frame, else the file's start as FFmpeg reports it), so audio that
    starts after the picture keeps its offset (the read starts with silence).
    FFmpeg itself drops encoder priming where the file records it (the MP4/MOV
    edit list, MP3's LAME/Xing header) and reports an MP3 stream as starting
    after it (1105 samples in): counting from 0 in the timestamps instead
    read such files 23-25 ms early. Raw ADTS AAC records no priming: its
    1024 samples stay in, as in every FFmpeg decode. Matroska stamps whole
    milliseconds, so a read there may land up to half a millisecond off.
    """
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
            origin = _file_origin(container, stream)
            first = int(round(start_seconds * rate))
            last = None if duration_seconds is None else first + int(round(duration_seconds * rate))
            seek_to = Fraction(first, rate) - Fraction(_SEEK_PREROLL_SECONDS) if stream.time_base else Fraction(0)
            if seek_to > 0:
                assert stream.time_base is not None
                container.seek(int((origin + seek_to) / stream.time_base), stream=stream, backward=True)
            pieces = _decode_range(container.decode(stream), rate, origin, first, last, seeked=seek_to > 0)
        if pieces is None:  # frames without timestamps after a seek: read from the top instead
            with av.open(str(path)) as container:
                stream = container.streams.audio[0]
                pieces = _decode_range(container.decode(stream), rate, origin, first, last, seeked=False) or []
    except MediaError:
        raise
    except Exception as exc:  # FFmpeg errors come in many classes (av.error.*, OSError)
        raise MediaError(str(exc) or type(exc).__name__) from None
    audio = np.concatenate(pieces) if pieces else np.zeros(0)
    return np.ascontiguousarray(audio, dtype=np.float32), rate


def _file_origin(container: Any, stream: Any) -> Fraction:
    """The time, in seconds of the file's timestamps, that is 0 s of the media.

    The picture's first frame where the file has one (an editor's source
    time counts from it, and the audio keeps its timestamped offset to it:
    in MPEG-TS the AAC priming sits just before the picture); else where
    FFmpeg says the file starts: the container's start, exact from the audio
    stream's own start when that is what starts the file (an MP3 starts after
    its priming, 1105 samples in). FFmpeg keeps the container's start in
    microseconds (a 48 kHz sample is 20.8 us).
    """
    from av.stream import Disposition

    for video in container.streams.video:
        if video.start_time is not None and video.time_base is not None \
                and not video.disposition & (Disposition.attached_pic | Disposition.still_image):
            return Fraction(video.start_time * video.time_base)
    stream_start = None
    if stream.start_time is not None and stream.time_base is not None:
        stream_start = Fraction(stream.start_time * stream.time_base)
    if container.start_time is None:
        return stream_start or Fraction(0)
    container_start = Fraction(container.start_time, 1_000_000)
    if stream_start is not None and abs(stream_start - container_start) <= Fraction(1, 1_000_000):
        return stream_start
    return container_start


def _decode_range(frames: Iterator[Any], rate: int, origin: Fraction, first: int, last: int | None,
                  *, seeked: bool) -> list[np.ndarray] | None:
    """Mono pieces of ``frames`` covering samples ``first`` to ``last`` (file seconds x ``rate``).

    The first frame is placed by its timestamp; the ones after it follow
    sample by sample unless their timestamp jumps by more than 2 ms (a gap or
    an overlap in the stream, not the rounding of a millisecond time base).
    Where the audio starts after ``first``, or has a gap, the piece is padded
    with silence so sample k of the result is always file sample ``first + k``.
    Returns None when, after a seek, the first frame has no timestamp
    (nothing says where it is).
    """
    tolerance = max(1, rate // 500)
    pieces: list[np.ndarray] = []
    filled = 0  # the pieces cover file samples first .. first + filled
    position: int | None = None
    for frame in frames:
        mono = _mono(frame)
        stamped = None
        if frame.pts is not None and frame.time_base is not None:
            stamped = int(round((frame.pts * frame.time_base - origin) * rate))
        if position is None:
            if stamped is None and seeked:
                return None
            position = stamped or 0
        elif stamped is not None and abs(stamped - position) > tolerance:
            position = stamped
        end = position + mono.size if last is None else min(position + mono.size, last)
        lo = max(first + filled, position)  # skip what is before the range or already covered
        if end > lo:
            if lo > first + filled:
                pieces.append(np.zeros(lo - first - filled))
            pieces.append(mono[lo - position : end - position])
            filled = end - first
        position += mono.size
        if last is not None and position >= last:
            break
    return pieces


def _mono(frame: Any) -> np.ndarray:
    """A decoded audio frame as float64 mono in [-1, 1] (channels averaged)."""
    array = frame.to_ndarray()
    channels = len(frame.layout.channels)
    data = array.reshape(channels, -1) if frame.format.is_planar else array.reshape(-1, channels).T
    mono: np.ndarray = np.asarray(data, dtype=np.float64).mean(axis=0)
    if array.dtype == np.uint8:  # FFmpeg's only unsigned sample format
        return (mono - 128.0) / 128.0
    if np.issubdtype(array.dtype, np.integer):
        return mono / float(2 ** (8 * array.dtype.itemsize - 1))
    return mono
