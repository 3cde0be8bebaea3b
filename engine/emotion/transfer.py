"""The actor's performance carried into the new line: the original take's pitch contour and energy shape.

:func:`transfer_performance` works on the line's fitted speech (already the
exact length the slot needs, its onset on the original's) and the original
take's speech under it. It

1. aligns the two readings: frame by frame by DTW over MFCCs when they say
   the same words (classic ADR: phone by phone), else by relative position
   between the first and the last voiced frame;
2. moves the new line's pitch toward the original's contour *shape*, keeping
   the voice's own register: the target is the voice's median plus the
   original's excursion from its median (semitones, so a deep actor's shape
   fits a light voice), blended by ``strength`` and resynthesized by
   TD-PSOLA (Praat's Manipulation, overlap-add; formants stay);
3. moves the energy envelope toward the original's shape (relative dB over
   the speaking frames, smoothed over 50 ms, at most +6/-9 dB).

The output has exactly the input's length, so the fit and the onset are
kept to the sample; the loudness stage sets the level afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from revoice.engine.dsp._util import AudioArray, FloatArray, check_rate, mono_f64
from revoice.engine.emotion.prosody import (
    HOP_SECONDS,
    Frames,
    Prosody,
    analyse,
    clean_pitch,
    dtw_path,
    fill_unvoiced,
    impose_pitch,
    mfcc,
    smooth,
    warp_indices,
)

MAX_EXCURSION_SEMITONES = 9.0
"""The original's excursions from its median are clipped to this either way (semitones)."""
RANGE_EXPONENT = 0.5
"""A performance wider than the voice's own range is narrowed to the geometric mean of the two (semitones):
the shape is the actor's, the register the character's."""
RANGE_SCALE_LIMITS = (0.5, 1.0)
CONTOUR_SMOOTH_FRAMES = 7
"""The contour moved is smoothed over this many frames (70 ms); faster wiggles stay the voice's own."""
ENERGY_LIMITS_DB = (-9.0, 6.0)
"""How far the energy shape may lower or raise a frame (dB)."""
ACTIVE_RANGE_DB = 40.0
"""Frames within this of the loudest count as speaking (energy shape is moved only there)."""


@dataclass(frozen=True)
class TransferResult:
    """The line with the performance moved onto it, and what was measured."""

    audio: AudioArray
    """Same length as the input speech, float32."""
    aligned_by: str
    """``"words"`` (DTW over MFCCs) or ``"position"`` (relative position)."""
    correlation_before: float | None
    """Pitch-contour correlation of the input with the aligned original (voiced frames of both)."""
    correlation_after: float | None
    """The same after the transfer."""
    note: str = ""
    """Why nothing or only part was done (no voiced speech in one of them)."""


def transfer_performance(speech: FloatArray, reference: FloatArray, sample_rate: int, *, strength: float = 1.0,
                         same_words: bool = True) -> TransferResult:
    """``speech`` (the fitted new line) with ``reference``'s (the original take's) contour and energy shape.

    Both mono at ``sample_rate`` Hz; ``reference`` is the original's speech
    from its onset to its offset. ``strength`` 0-1 blends from the voice's own
    reading (0) to the original's shape (1).
    """
    sr = check_rate(sample_rate)
    x, ref = mono_f64(speech, "speech"), mono_f64(reference, "reference")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength {strength} must be from 0 to 1")
    own, theirs = analyse(x, sr), analyse(ref, sr)
    theirs_voiced = int(np.isfinite(clean_pitch(theirs.semitones())).sum())
    if own.voiced.sum() < 5 or theirs_voiced < 5:
        which = "the new line" if own.voiced.sum() < 5 else "the original take"
        return TransferResult(x.astype(np.float32), "none", None, None, f"no voiced speech in {which}")
    mapping = _alignment(x, ref, sr, own, theirs, same_words=same_words)
    target = _target_semitones(own, theirs, mapping)
    heard = np.interp(mapping, np.arange(theirs.f0_hz.size), theirs.voiced.astype(np.float64)) > 0.5
    measured_target = np.where(heard, target, np.nan)  # compared only where the original is voiced too
    before = _correlation(clean_pitch(own.semitones()), measured_target)
    if strength <= 0.0:
        return TransferResult(x.astype(np.float32), "words" if same_words else "position", before, before)
    # Move the contour's shape (70 ms smoothed) and keep the voice's own micro-prosody on top of it.
    current = own.semitones()
    own_shape = smooth(fill_unvoiced(clean_pitch(current)), CONTOUR_SMOOTH_FRAMES)
    change = smooth(target, CONTOUR_SMOOTH_FRAMES) - own_shape
    wanted = np.where(own.voiced, current + strength * change, np.nan)
    shaped = impose_pitch(x, sr, wanted)
    shaped = _impose_energy(shaped, sr, theirs, mapping, strength)
    after = _correlation(clean_pitch(analyse(shaped, sr).semitones()), measured_target)
    return TransferResult(shaped.astype(np.float32), "words" if same_words else "position", before, after)


def aligned_reference_pitch(speech: FloatArray, reference: FloatArray, sample_rate: int, *,
                            same_words: bool = True) -> tuple[Frames, Frames]:
    """(speech semitones, reference semitones warped onto the speech's frames): for measuring, NaN unvoiced."""
    sr = check_rate(sample_rate)
    x, ref = mono_f64(speech, "speech"), mono_f64(reference, "reference")
    own, theirs = analyse(x, sr), analyse(ref, sr)
    mapping = _alignment(x, ref, sr, own, theirs, same_words=same_words)
    cleaned = clean_pitch(theirs.semitones())
    warped = np.interp(mapping, np.arange(cleaned.size), fill_unvoiced(cleaned))
    ref_voiced = np.interp(mapping, np.arange(cleaned.size), np.isfinite(cleaned).astype(np.float64)) > 0.5
    return clean_pitch(own.semitones()), np.where(ref_voiced, warped, np.nan)


def _alignment(x: npt.NDArray[np.float64], ref: npt.NDArray[np.float64], sample_rate: int, own: Prosody,
               theirs: Prosody, *, same_words: bool) -> Frames:
    """For each of ``x``'s frames, the matching frame of ``ref``: DTW over MFCCs, or relative position."""
    if same_words:
        return warp_indices(dtw_path(mfcc(ref, sample_rate), mfcc(x, sample_rate)), own.f0_hz.size)
    return _position_map(theirs, own)


def _position_map(theirs: Prosody, own: Prosody) -> Frames:
    """Each of ``own``'s frames to ``theirs`` by relative position between first and last voiced frames."""
    def span(prosody: Prosody) -> tuple[int, int]:
        voiced = np.flatnonzero(prosody.voiced)
        return int(voiced[0]), int(voiced[-1])

    (a0, a1), (b0, b1) = span(theirs), span(own)
    frames = np.arange(own.f0_hz.size, dtype=np.float64)
    return np.asarray(a0 + (frames - b0) * (a1 - a0) / max(b1 - b0, 1), dtype=np.float64)


def _target_semitones(own: Prosody, theirs: Prosody, mapping: Frames) -> Frames:
    """The original's excursions (clipped, lightly smoothed) around the voice's own median, per own frame."""
    cleaned = clean_pitch(theirs.semitones())
    ref = smooth(fill_unvoiced(cleaned), 3)
    excursion = np.clip(ref - float(np.nanmedian(cleaned)), -MAX_EXCURSION_SEMITONES, MAX_EXCURSION_SEMITONES)
    theirs_range = _range(cleaned)
    scale = (min(1.0, max(RANGE_SCALE_LIMITS[0], (_range(clean_pitch(own.semitones())) / theirs_range) ** RANGE_EXPONENT))
             if theirs_range > 0 else 1.0)
    warped = np.interp(mapping, np.arange(excursion.size), excursion) * scale
    return np.asarray(own.median_semitones() + warped, dtype=np.float64)


def _range(semitones: Frames) -> float:
    """10th-90th percentile spread of the voiced frames (semitones); 0 with too few."""
    voiced = semitones[np.isfinite(semitones)]
    return float(np.percentile(voiced, 90) - np.percentile(voiced, 10)) if voiced.size >= 5 else 0.0


def _correlation(a: Frames, b: Frames) -> float | None:
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < 5 or np.std(a[both]) < 1e-9 or np.std(b[both]) < 1e-9:
        return None
    return round(float(np.corrcoef(a[both], b[both])[0, 1]), 4)


def _impose_energy(x: npt.NDArray[np.float64], sample_rate: int, theirs: Prosody, mapping: Frames,
                   strength: float) -> npt.NDArray[np.float64]:
    """``x`` with its energy envelope moved toward the original's shape over its speaking frames."""
    from revoice.engine.emotion.prosody import energy_db

    own = energy_db(x, sample_rate)
    active = own > own.max() - ACTIVE_RANGE_DB
    if active.sum() < 5:
        return x
    ref = smooth(np.interp(mapping, np.arange(theirs.energy_db.size), theirs.energy_db), 5)
    own_smooth = smooth(own, 5)
    ref_active = ref[active]
    ref_shape = ref - float(np.mean(ref_active[ref_active > ref_active.max() - ACTIVE_RANGE_DB]))
    own_shape = own_smooth - float(np.mean(own_smooth[active]))
    gain_db = np.where(active, strength * (ref_shape - own_shape), 0.0)
    gain_db = smooth(np.clip(gain_db, *ENERGY_LIMITS_DB), 5)
    times = np.arange(x.size) / sample_rate
    per_sample = np.interp(times, np.arange(gain_db.size) * HOP_SECONDS, gain_db)
    return np.asarray(x * 10.0 ** (per_sample / 20.0), dtype=np.float64)


def contour_correlation(speech: FloatArray, reference: FloatArray, sample_rate: int, *,
                        same_words: bool = True) -> float | None:
    """Pitch-contour correlation of ``speech`` with ``reference`` after alignment (None: too little voicing)."""
    own, warped = aligned_reference_pitch(speech, reference, sample_rate, same_words=same_words)
    value = _correlation(own, warped)
    return None if value is None or math.isnan(value) else value
