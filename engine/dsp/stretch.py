"""Time-stretching to an exact length (pitch kept), and pause / silence finding.

Lengths and positions are in samples; durations passed in are in seconds.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pedalboard
import soxr
from revoice.engine.dsp._util import AudioArray, FloatArray, check_rate, mono_f64
from scipy.ndimage import uniform_filter1d
from scipy.signal import correlate

STRETCH_METHODS = ("rubberband", "wsola")
"""Values accepted for ``stretch_to_length(method=...)``."""

MIN_RATIO = 0.5
"""Smallest supported output/input length ratio."""
MAX_RATIO = 2.0
"""Largest supported output/input length ratio."""


def stretch_to_length(
    audio: FloatArray,
    sample_rate: int,
    target_samples: int,
    *,
    method: str = "rubberband",
) -> AudioArray:
    """``audio`` time-stretched to exactly ``target_samples`` samples, pitch unchanged.

    The length ratio ``target_samples / len(audio)`` must lie in 0.5..2.0
    (ValueError otherwise: re-synthesise at another speaking rate instead).

    ``method="rubberband"``: Rubber Band (R3 engine, via
    ``pedalboard.time_stretch(high_quality=True)``, stretch factor
    ``len / target``), then :func:`fit_exact_length`. pedalboard 0.9.26 has
    returned exactly ``round(len / factor)`` samples in every case measured,
    so the fit is a safety net. ``method="wsola"``: :func:`wsola_stretch`,
    exact by construction.
    """
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    target = int(target_samples)
    if target != target_samples or target <= 0:
        raise ValueError(f"target_samples must be a positive whole number, got {target_samples!r}")
    if x.size == 0:
        raise ValueError("cannot stretch empty audio")
    ratio = target / x.size
    if not MIN_RATIO <= ratio <= MAX_RATIO:
        raise ValueError(
            f"stretch ratio {ratio:.3f} ({x.size} -> {target} samples) is outside the supported "
            f"{MIN_RATIO}..{MAX_RATIO}; change the speaking rate of the synthesis instead"
        )
    if method == "rubberband":
        if target == x.size:
            return x.astype(np.float32)
        stretched = pedalboard.time_stretch(
            x.astype(np.float32)[np.newaxis, :],
            float(sr),
            stretch_factor=x.size / target,
            high_quality=True,
        )
        return fit_exact_length(np.asarray(stretched, dtype=np.float32)[0], target)
    if method == "wsola":
        return wsola_stretch(x, sr, target)
    raise ValueError(f"unknown stretch method {method!r}; use 'rubberband' or 'wsola'")


def fit_exact_length(audio: FloatArray, target_samples: int, *, max_edge_samples: int = 32) -> AudioArray:
    """Make ``audio`` exactly ``target_samples`` long with the least change.

    A difference of up to ``max_edge_samples`` (default 32 = 0.67 ms at
    48 kHz) is absorbed at the end: surplus samples are trimmed, missing ones
    padded with zeros. A larger difference d is absorbed by resampling the
    whole clip (soxr VHQ) from ``len`` to ``target`` samples, which shifts
    pitch and timing by the factor ``target / len`` (|d| / target relative,
    e.g. 0.1 % for 48 samples in 1 s at 48 kHz), and the last +-1 sample of
    rounding is again trimmed/padded.
    """
    x = mono_f64(audio)
    target = int(target_samples)
    if target < 0:
        raise ValueError(f"target_samples must be >= 0, got {target_samples!r}")
    diff = x.size - target
    if abs(diff) > max_edge_samples and x.size > 0 and target > 0:
        x = np.asarray(soxr.resample(x, float(x.size), float(target), quality="VHQ"), dtype=np.float64)
    if x.size >= target:
        return x[:target].astype(np.float32)
    return np.concatenate([x, np.zeros(target - x.size)]).astype(np.float32)


def wsola_stretch(
    audio: FloatArray,
    sample_rate: int,
    target_samples: int,
    *,
    frame_s: float = 0.032,
    tolerance_s: float = 0.010,
) -> AudioArray:
    """WSOLA time-stretch (Verhelst & Roelands 1993) to exactly ``target_samples``.

    Output frames of ``frame_s`` (Hann window, hop = half a frame, so the
    windows sum to 1) are overlap-added at fixed positions. Output frame k
    (centre at output sample k * hop) copies input around
    ``k * hop * len / target``, shifted by up to +-``tolerance_s`` to the
    offset whose waveform best matches (normalised cross-correlation) the
    natural continuation of the previously copied frame, so periodic
    (voiced) signals join in phase and the pitch is kept. Input and output
    are zero-padded by half a frame so the first and last samples are
    covered; the output is cropped to exactly ``target_samples``. Any
    positive length works; no ratio limit is enforced here.
    """
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    target = int(target_samples)
    if target <= 0 or x.size == 0:
        raise ValueError("wsola_stretch needs non-empty audio and target_samples > 0")
    half = max(2, int(round(frame_s * sr / 2)))
    frame = 2 * half
    hop = half
    tol = max(1, int(round(tolerance_s * sr)))
    window = np.hanning(frame + 1)[:frame]  # periodic Hann: sums to 1 at 50 % overlap
    scale = x.size / target  # input samples per output sample

    n_frames = math.ceil(target / hop) + 2
    lead = half + tol
    tail = lead + frame + hop + int(math.ceil(n_frames * hop * scale)) - x.size
    padded = np.concatenate([np.zeros(lead), x, np.zeros(max(tail, lead + frame + hop))])

    out = np.zeros(n_frames * hop + frame)
    weight = np.zeros_like(out)
    prev_start = -1
    for k in range(n_frames):
        nominal = lead + int(round(k * hop * scale)) - half
        if prev_start < 0:
            start = nominal
        else:
            template = padded[prev_start + hop : prev_start + hop + frame]
            start = nominal - tol + _best_offset(padded[nominal - tol : nominal + tol + frame], template)
        out[k * hop : k * hop + frame] += window * padded[start : start + frame]
        weight[k * hop : k * hop + frame] += window
        prev_start = start
    region = slice(half, half + target)
    return (out[region] / np.maximum(weight[region], 1e-9)).astype(np.float32)


def _best_offset(search: npt.NDArray[np.float64], template: npt.NDArray[np.float64]) -> int:
    """Offset in ``search`` where a ``len(template)`` window best matches ``template`` (normalised xcorr)."""
    size = template.size
    corr = np.asarray(correlate(search, template, mode="valid", method="fft"), dtype=np.float64)
    energy_cum = np.concatenate([[0.0], np.cumsum(np.square(search))])
    energy = energy_cum[size:] - energy_cum[:-size]
    template_energy = float(np.dot(template, template))
    if template_energy <= 1e-20:
        return corr.size // 2  # silent template: stay on the nominal position
    score = corr / np.sqrt(np.maximum(energy, 1e-20 * size))
    return int(np.argmax(score))


# --------------------------------------------------------------------------
# Silence and pauses
# --------------------------------------------------------------------------


def _short_time_db(x: npt.NDArray[np.float64], sample_rate: int, window_s: float) -> tuple[npt.NDArray[np.float64], int]:
    """Per-sample energy (dB) of a centred ``window_s`` window, relative to the clip's loudest window; and the window length."""
    width = max(1, int(round(window_s * sample_rate)))
    energy = np.maximum(np.asarray(uniform_filter1d(np.square(x), size=width, mode="constant"), dtype=np.float64), 0.0)
    peak = float(np.max(energy)) if energy.size else 0.0
    if peak <= 0.0:
        return np.full(x.size, -np.inf), width
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(energy / peak), width


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(start, end) of each run of True values in ``mask``, end exclusive."""
    if mask.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def pause_spans(
    audio: FloatArray,
    sample_rate: int,
    *,
    min_pause_s: float = 0.08,
    threshold_db: float = -40.0,
    window_s: float = 0.010,
) -> list[tuple[int, int]]:
    """Internal pauses as (start, end) samples, end exclusive, in time order.

    A sample is quiet when the energy of the ``window_s`` window centred on
    it is more than ``-threshold_db`` dB below the clip's loudest window.
    Quiet runs touching the start or end of the clip (leading / trailing
    silence) are not pauses. Each run is widened by half a window on both
    sides (a window counts as quiet only once it is wholly inside the gap),
    so the bounds are within about half a window (5 ms) of the true gap,
    and kept if it lasts at least ``min_pause_s`` seconds. Silent clips have
    no pauses.
    """
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    level, width = _short_time_db(x, sr, window_s)
    if x.size == 0 or not np.any(np.isfinite(level)):
        return []
    spans: list[tuple[int, int]] = []
    min_len = int(round(min_pause_s * sr))
    for start, end in _runs(level < float(threshold_db)):
        if start == 0 or end == x.size:
            continue
        start, end = max(0, start - width // 2), min(x.size, end + width // 2)
        if end - start >= min_len:
            spans.append((start, end))
    return spans


def trim_silence(
    audio: FloatArray,
    sample_rate: int,
    *,
    threshold_db: float = -50.0,
    window_s: float = 0.010,
) -> tuple[int, int]:
    """Speech bounds (start, end) in samples, end exclusive: leading and trailing silence cut off.

    Speech is where the energy of the ``window_s`` window centred on a
    sample is within ``-threshold_db`` dB of the clip's loudest window; the
    bounds therefore err towards keeping up to half a window (5 ms) of
    context. A silent clip gives (0, 0).
    """
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    level, _ = _short_time_db(x, sr, window_s)
    loud = np.flatnonzero(level >= float(threshold_db))
    if loud.size == 0:
        return 0, 0
    return int(loud[0]), int(loud[-1]) + 1
