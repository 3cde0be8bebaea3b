"""Reference audio for voice profiles: found under a speaker's lines, or supplied by the editor.

:func:`find_references` reads the original dialogue under each of a
speaker's lines (:func:`revoice.engine.original.read_original`: PyAV or soundfile),
keeps the speech span the VAD finds (:func:`revoice.engine.sync.detect_speech_span`),
estimates its SNR against the rest of the slot, and takes the cleanest
pieces up to a total length. Every piece keeps its provenance (media file,
range in seconds, line id, SNR). :func:`profile_stats` gives the F0 and
speech statistics stored in the profile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from revoice.engine.characters.profile import ReferenceClip, VoiceStats
from revoice.engine.dsp._util import FloatArray, check_rate, mono_f64
from revoice.engine.dsp.resample import resample
from revoice.engine.model import DialogueLine
from revoice.engine.original import read_media_audio, read_original
from revoice.engine.sync import detect_speech_span
from revoice.engine.voices.base import AudioArray

REFERENCE_RATE = 24000
"""Sample rate (Hz) of assembled reference audio."""

MAX_REFERENCE_SECONDS = 60.0
MIN_SNR_DB = 15.0
"""Pieces under this SNR are used only when nothing cleaner is available."""
MIN_PIECE_SECONDS = 0.3
GAP_SECONDS = 0.05
"""Silence between joined pieces."""


@dataclass(frozen=True)
class ReferencePiece:
    """One clean stretch of a character's speech and where it came from."""

    audio: AudioArray
    sample_rate: int
    clips: tuple[ReferenceClip, ...]
    snr_db: float
    line_id: str | None

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate


@dataclass(frozen=True)
class ReferenceSet:
    """A character's reference: the joined pieces (mono float32 at ``sample_rate``) and their provenance."""

    audio: AudioArray
    sample_rate: int
    clips: tuple[ReferenceClip, ...]
    problems: tuple[str, ...] = ()

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate


def snr_db(audio: FloatArray, sample_rate: int, onset: int, offset: int, *, frame_s: float = 0.02) -> float:
    """Estimated speech-to-noise ratio (dB) of ``audio[onset:offset]`` against the rest of ``audio``.

    Speech: mean power of the span's 20 ms frames. Noise: median power of the
    frames outside the span, or (with under 0.1 s outside) the 10th
    percentile of the span's frames. Capped at 60 dB (digital silence).
    """
    x = mono_f64(audio)
    frame = max(1, int(round(frame_s * check_rate(sample_rate))))

    def powers(part: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        count = part.size // frame
        if count == 0:
            return np.zeros(0)
        return np.asarray(np.mean(np.square(part[: count * frame]).reshape(count, frame), axis=1))

    inside = powers(x[onset:offset])
    outside = np.concatenate([powers(x[:onset]), powers(x[offset:])])
    if inside.size == 0:
        return 0.0
    speech = float(np.mean(inside))
    noise = float(np.median(outside)) if outside.size * frame_s >= 0.1 else float(np.percentile(inside, 10))
    if speech <= 0.0:
        return 0.0
    return float(min(60.0, 10.0 * math.log10(speech / max(noise, speech * 1e-6))))


def line_piece(line: DialogueLine, *, sample_rate: int = REFERENCE_RATE,
               min_seconds: float = MIN_PIECE_SECONDS) -> ReferencePiece | None:
    """The speech under ``line`` with its SNR and provenance, or None (no readable original, or speech
    shorter than ``min_seconds``)."""
    original = read_original(line, sample_rate) if line.sources else None
    if original is None:
        return None
    span = detect_speech_span(original.audio, sample_rate)
    if span is None or span.samples < min_seconds * sample_rate:
        return None
    onset_s, offset_s = span.onset / sample_rate, span.offset / sample_rate
    clips: list[ReferenceClip] = []
    for source in line.sources:
        if source.media_path is None:
            continue
        lo = max(onset_s, source.offset_in_line_seconds)
        hi = min(offset_s, source.offset_in_line_seconds + source.duration_seconds)
        if hi > lo:
            start = source.source_start_seconds + lo - source.offset_in_line_seconds
            clips.append(ReferenceClip(path=str(source.media_path), start_seconds=round(start, 4),
                                       end_seconds=round(start + hi - lo, 4), line_id=line.line_id))
    snr = snr_db(original.audio, sample_rate, span.onset, span.offset)
    clips = [ReferenceClip(c.path, c.start_seconds, c.end_seconds, c.line_id, round(snr, 1)) for c in clips]
    return ReferencePiece(audio=original.audio[span.onset : span.offset], sample_rate=sample_rate,
                          clips=tuple(clips), snr_db=snr, line_id=line.line_id)


def choose_pieces(pieces: Sequence[ReferencePiece], *, max_seconds: float = MAX_REFERENCE_SECONDS,
                  min_snr_db: float = MIN_SNR_DB) -> list[ReferencePiece]:
    """The cleanest pieces (SNR at least ``min_snr_db`` when any are) up to ``max_seconds``, in input order."""
    if max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    clean = [p for p in pieces if p.snr_db >= min_snr_db] or list(pieces)
    chosen: list[ReferencePiece] = []
    total = 0.0
    for piece in sorted(clean, key=lambda p: -p.snr_db):
        if total + piece.seconds > max_seconds and chosen:
            continue
        chosen.append(piece)
        total += piece.seconds
    order = {id(p): i for i, p in enumerate(pieces)}
    return sorted(chosen, key=lambda p: order[id(p)])


def join_pieces(pieces: Sequence[ReferencePiece], *, sample_rate: int = REFERENCE_RATE,
                problems: Sequence[str] = ()) -> ReferenceSet:
    """One reference signal from ``pieces`` (each resampled to ``sample_rate``), short gaps between."""
    gap = np.zeros(int(round(GAP_SECONDS * sample_rate)), dtype=np.float32)
    parts: list[AudioArray] = []
    for piece in pieces:
        if parts:
            parts.append(gap)
        parts.append(resample(piece.audio, piece.sample_rate, sample_rate).astype(np.float32))
    audio = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    return ReferenceSet(audio=audio, sample_rate=sample_rate,
                        clips=tuple(c for p in pieces for c in p.clips), problems=tuple(problems))


def find_references(lines: Sequence[DialogueLine], *, max_seconds: float = MAX_REFERENCE_SECONDS,
                    min_snr_db: float = MIN_SNR_DB, sample_rate: int = REFERENCE_RATE) -> ReferenceSet:
    """The cleanest original speech under ``lines`` (one character's), up to ``max_seconds``."""
    pieces: list[ReferencePiece] = []
    problems: list[str] = []
    for line in lines:
        piece = line_piece(line, sample_rate=sample_rate)
        if piece is None:
            if line.sources:
                problems.append(f"{line.line_id}: under {MIN_PIECE_SECONDS:g} s of readable speech under the line")
            continue
        pieces.append(piece)
    return join_pieces(choose_pieces(pieces, max_seconds=max_seconds, min_snr_db=min_snr_db),
                       sample_rate=sample_rate, problems=problems)


def parse_ref(text: str) -> tuple[Path, float, float | None]:
    """``file.wav``, ``file.wav:12.5-20`` or ``file.wav:12.5-`` -> (path, start s, end s or None)."""
    path_text, sep, range_text = text.rpartition(":")
    if not sep or not range_text or "-" not in range_text or Path(text).exists():
        return Path(text), 0.0, None
    start_text, _, end_text = range_text.partition("-")
    try:
        start = float(start_text or 0.0)
        end = float(end_text) if end_text else None
    except ValueError:
        raise ValueError(f"--ref {text!r}: write the range as FILE:START-END in seconds, "
                         "e.g. take.wav:3.5-12") from None
    if start < 0 or (end is not None and end <= start):
        raise ValueError(f"--ref {text!r}: need 0 <= START < END")
    return Path(path_text), start, end


def editor_references(refs: Sequence[tuple[Path, float, float | None]], *,
                      max_seconds: float = MAX_REFERENCE_SECONDS,
                      sample_rate: int = REFERENCE_RATE) -> ReferenceSet:
    """Reference from the editor's files (path, start s, end s or None = to the end), speech spans only.

    Raises :class:`revoice.engine.original.MediaError` for unreadable media and
    ValueError when a file holds no speech.
    """
    pieces: list[ReferencePiece] = []
    for path, start, end in refs:
        audio, rate = read_media_audio(path, start_seconds=start, duration_seconds=None if end is None else end - start)
        audio = resample(audio, rate, sample_rate).astype(np.float32)
        span = detect_speech_span(audio, sample_rate) if audio.size else None
        if span is None:
            raise ValueError(f"{path}: no speech found in {start:g}-{'end' if end is None else f'{end:g}'} s")
        first = start + span.onset / sample_rate
        snr = snr_db(audio, sample_rate, span.onset, span.offset)
        clip = ReferenceClip(path=str(path.resolve()), start_seconds=round(first, 4),
                             end_seconds=round(start + span.offset / sample_rate, 4), line_id=None,
                             snr_db=round(snr, 1))
        pieces.append(ReferencePiece(audio=audio[span.onset : span.offset], sample_rate=sample_rate,
                                     clips=(clip,), snr_db=snr, line_id=None))
    return join_pieces(choose_pieces(pieces, max_seconds=max_seconds, min_snr_db=-math.inf), sample_rate=sample_rate)


def voiced_f0_hz(audio: FloatArray, sample_rate: int, *, fmin: float = 60.0,
                 fmax: float = 450.0) -> npt.NDArray[np.float64]:
    """F0 (Hz) of the voiced 40 ms frames (10 ms hop) of ``audio``: normalised autocorrelation peak > 0.5.

    Frames more than 35 dB under the loudest 10 % are not counted. A quick
    estimate for the profile's statistics (no librosa); the tint's pitch
    analysis is :func:`revoice.engine.dsp.voice_transform.f0_track` (pYIN).
    """
    x = resample(mono_f64(audio), check_rate(sample_rate), 16000).astype(np.float64)
    rate, n, hop = 16000, 640, 160
    if x.size < n:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop]
    level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-18)
    frames = frames[level > np.percentile(level, 90) - 35]
    if frames.size == 0:
        return np.zeros(0)
    frames = (frames - frames.mean(axis=1, keepdims=True)) * np.hanning(n)
    spec = np.fft.rfft(frames, 2 * n, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :n]
    ac /= ac[:, :1] + 1e-18
    lo, hi = int(rate // fmax), int(rate // fmin)
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    voiced = ac[np.arange(len(ac)), lag] > 0.5
    return np.asarray(rate / lag[voiced], dtype=np.float64)


def profile_stats(reference: ReferenceSet) -> VoiceStats:
    """F0 median / 10th / 90th percentile (Hz, None when unvoiced) and speech seconds (sum of the clips)."""
    f0 = voiced_f0_hz(reference.audio, reference.sample_rate) if reference.audio.size else np.zeros(0)
    seconds = round(sum(clip.seconds for clip in reference.clips), 3)
    if f0.size < 5:
        return VoiceStats(speech_seconds=seconds)
    p10, median, p90 = (round(float(v), 1) for v in np.percentile(f0, [10, 50, 90]))
    return VoiceStats(f0_median_hz=median, f0_p10_hz=p10, f0_p90_hz=p90, speech_seconds=seconds)
