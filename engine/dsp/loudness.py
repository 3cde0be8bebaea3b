"""Loudness (ITU-R BS.1770-4), true peak, delivery presets and normalisation.

Units: loudness in LUFS (= LKFS), level differences in LU / dB, peaks in
dBTP (true peak) or dBFS (sample peak). All functions take mono audio,
shape (samples,), and an explicit ``sample_rate`` in Hz.

Loudness is measured on whatever the caller passes: for a rendered line the
caller passes just the speech (no slot padding), which is what "dialogue
gated" delivery specs such as Netflix's intend. There is no dialogue
detector here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from revoice.engine.dsp._util import AudioArray, FloatArray, check_rate, db_to_gain, mono_f64

if TYPE_CHECKING:
    import pyloudnorm

# pyloudnorm and scipy are imported in the functions that use them, not here: they take about a
# second to import, and a run whose lines are all cached only needs the presets (loudness_presets)

# --------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------


def _meter(sample_rate: int) -> pyloudnorm.Meter:
    """A BS.1770-4 meter with the exact K-weighting.

    pyloudnorm's "DeMan" filter class reproduces the BS.1770 48 kHz
    coefficients exactly and generalises them to other rates (it agrees with
    libebur128 to 0.001 LU); its default "K-weighting" class reads 0.02-0.09
    LU low depending on the rate.
    """
    import pyloudnorm  # lazy (see the imports)

    return pyloudnorm.Meter(sample_rate, filter_class="DeMan", block_size=0.400)


def integrated_loudness(audio: FloatArray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (BS.1770-4, K-weighted, gated), via ``pyloudnorm.Meter``.

    Clips of at least one 400 ms gating block get the full absolute
    (-70 LUFS) and relative (-10 LU) gating. Shorter clips are measured
    *ungated as one block over their whole length* (K-weighted mean square,
    -0.691 dB offset, still subject to the -70 LUFS absolute gate): padding
    with silence would under-read a 200 ms clip by 3 dB. Silence (or
    anything gated out) returns ``-inf``.
    """
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    if x.size == 0 or not np.any(x):
        return -math.inf
    meter = _meter(sr)
    if x.size >= meter.block_size * sr:
        value = float(meter.integrated_loudness(x))
    else:
        # pyloudnorm==0.2.0 (pinned) keeps its weighting stages in Meter._filters.
        y = x
        for stage in meter._filters.values():
            y = np.asarray(stage.apply_filter(y), dtype=np.float64)
        mean_square = float(np.mean(np.square(y)))
        value = -0.691 + 10.0 * math.log10(mean_square) if mean_square > 0.0 else -math.inf
    if math.isnan(value) or value < -70.0:
        return -math.inf
    return value


def _oversample_factor(sample_rate: int, oversample: int) -> int:
    """Oversampling used for true peak: ``oversample`` below 96 kHz, half below 192 kHz, a quarter above (min 1)."""
    if oversample < 1:
        raise ValueError(f"oversample must be >= 1, got {oversample}")
    if sample_rate < 96000:
        return oversample
    if sample_rate < 192000:
        return max(1, oversample // 2)
    return max(1, oversample // 4)


def _interpolation_filter(factor: int, *, sharp: bool = False) -> npt.NDArray[np.float64]:
    """Linear-phase interpolation low-pass for ``factor``x oversampling, cutoff at the original Nyquist.

    Default (the metering filter): a Hann-windowed sinc of
    ``max(49, 12 * factor + 1)`` taps (12 per phase, like the 48-tap example
    filter of BS.1770-4 Annex 2; the same class of short interpolator
    libebur128 uses, so readings agree with QC meters). ``sharp``: a
    Kaiser-windowed sinc (beta 5, 20 taps per phase), closer to ideal
    reconstruction; on hard transients and content near Nyquist it reads up
    to ~0.4 dB higher (Gibbs ringing), on band-limited speech within 0.01 dB.
    """
    from scipy.signal import firwin  # lazy (see the imports)

    if sharp:
        return np.asarray(firwin(20 * factor + 1, 1.0 / factor, window=("kaiser", 5.0)), dtype=np.float64)
    taps = max(49, 12 * factor + 1)
    return np.asarray(firwin(taps, 1.0 / factor, window="hann"), dtype=np.float64)


def _oversampled_abs(x: npt.NDArray[np.float64], factor: int, *, sharp: bool = False) -> npt.NDArray[np.float64]:
    """|x| interpolated ``factor`` times (polyphase FIR); index m is time m / factor samples."""
    from scipy.signal import resample_poly  # lazy (see the imports)

    if factor == 1:
        return np.abs(x)
    upsampled = resample_poly(x, factor, 1, window=_interpolation_filter(factor, sharp=sharp))
    return np.abs(np.asarray(upsampled, dtype=np.float64))


def _guard_abs(x: npt.NDArray[np.float64], factor: int) -> npt.NDArray[np.float64]:
    """Oversampled |x| for limiting: the larger of the metering and the sharp interpolation.

    Whichever kind of interpolator a QC meter uses, it then reads at or
    below what the limiter saw.
    """
    if factor == 1:
        return np.abs(x)
    return np.maximum(_oversampled_abs(x, factor), _oversampled_abs(x, factor, sharp=True))


def _guard_peak_db(x: npt.NDArray[np.float64], sample_rate: int, oversample: int) -> float:
    """Peak (dB) of :func:`_guard_abs` and the samples; -inf for silence."""
    if x.size == 0:
        return -math.inf
    peak = max(float(np.max(np.abs(x))), float(np.max(_guard_abs(x, _oversample_factor(sample_rate, oversample)))))
    return 20.0 * math.log10(peak) if peak > 0.0 else -math.inf


def true_peak_dbtp(audio: FloatArray, sample_rate: int, *, oversample: int = 4) -> float:
    """True peak in dBTP (BS.1770-4 Annex 2 style); ``-inf`` for silence.

    The signal is interpolated ``oversample`` times (default 4) below 96 kHz,
    ``oversample // 2`` times below 192 kHz and ``oversample // 4`` above,
    with a polyphase FIR (12 taps per phase, see :func:`_interpolation_filter`),
    and the largest absolute value of the interpolated signal or of the
    samples is returned. No -12.04 dB input attenuation is needed in floating
    point.
    """
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    if x.size == 0:
        return -math.inf
    factor = _oversample_factor(sr, oversample)
    peak = max(float(np.max(np.abs(x))), float(np.max(_oversampled_abs(x, factor))))
    if peak <= 0.0:
        return -math.inf
    return 20.0 * math.log10(peak)


# --------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LoudnessPreset:
    """A delivery loudness target.

    ``target_lufs`` is None for ``match``: the target is the original line's
    loudness, supplied at call time (see :func:`preset_target`).
    """

    name: str
    target_lufs: float | None
    true_peak_ceiling_dbtp: float
    description: str


def loudness_presets(*, true_peak_ceiling_dbtp: float = -2.0) -> dict[str, LoudnessPreset]:
    """The delivery presets by name, all with the same true-peak ceiling (dBTP, default -2.0)."""
    ceiling = float(true_peak_ceiling_dbtp)
    presets = (
        LoudnessPreset("ebu-r128", -23.0, ceiling, "EBU R 128: -23 LUFS integrated"),
        LoudnessPreset("atsc-a85", -24.0, ceiling, "ATSC A/85: -24 LKFS integrated"),
        LoudnessPreset(
            "netflix",
            -27.0,
            ceiling,
            "Netflix: -27 LKFS dialogue (measured here on the speech the caller passes)",
        ),
        LoudnessPreset("match", None, ceiling, "Match the original line's loudness (target given per call)"),
    )
    return {preset.name: preset for preset in presets}


def preset_target(preset: LoudnessPreset, match_lufs: float | None = None) -> float:
    """The LUFS target for ``preset``; ``match_lufs`` is required for (and only used by) ``match``."""
    if preset.target_lufs is not None:
        return preset.target_lufs
    if match_lufs is None or not math.isfinite(match_lufs):
        raise ValueError(f"preset {preset.name!r} needs a finite match_lufs (the original line's loudness)")
    return float(match_lufs)


# --------------------------------------------------------------------------
# Limiting and normalisation
# --------------------------------------------------------------------------


def true_peak_limit(
    audio: FloatArray,
    sample_rate: int,
    *,
    ceiling_dbtp: float,
    lookahead_s: float = 0.005,
    release_s: float = 0.05,
    oversample: int = 4,
) -> tuple[AudioArray, AudioArray]:
    """Look-ahead true-peak limiter; returns (limited audio, applied gain per sample, linear).

    Offline and zero-latency (the whole clip is known). Detection: the
    oversampled |signal| (the larger of :func:`true_peak_dbtp`'s metering
    interpolation and a sharper Kaiser one, so meters of either kind agree
    with the limiter) gives, for every sample, the peak of the interpolated
    waveform within one sample either side, and so the gain reduction R[n]
    (dB) that sample needs. R is held over the
    preceding ``lookahead_s`` (so it is in place before the peak), released
    exponentially in dB with time constant ``release_s`` (a 12 dB reduction
    is back under 1 dB after 2.5 time constants), then averaged over
    ``lookahead_s`` (a smooth ramp-in). Every averaged value comes from
    windows that contain n, so the smoothed reduction is never below R[n]:
    the input's interpolated peaks end up at or below the ceiling. Not a
    clipper: the gain moves at most R_max / lookahead per sample.
    """
    from scipy.ndimage import maximum_filter1d, uniform_filter1d  # lazy (see the imports)

    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    if x.size == 0:
        return x.astype(np.float32), np.ones(0, dtype=np.float32)
    look = max(1, int(round(lookahead_s * sr)))
    factor = _oversample_factor(sr, oversample)

    os_abs = _guard_abs(x, factor)
    if factor > 1:
        # Peak of the interpolated waveform within (n-1, n+1) samples.
        spread = maximum_filter1d(os_abs, size=2 * factor - 1, mode="constant", cval=0.0)
        peak = np.maximum(np.asarray(spread[::factor][: x.size], dtype=np.float64), np.abs(x))
    else:
        peak = np.abs(x)
    with np.errstate(divide="ignore"):
        need = np.maximum(20.0 * np.log10(peak) - float(ceiling_dbtp), 0.0)

    # Hold: max over the window [n, n + look - 1] (forward look-ahead).
    held = np.asarray(maximum_filter1d(need, size=look, mode="constant", cval=0.0, origin=-(look // 2)))
    # Release: R[n] = max_k<=n held[k] * exp(-(n - k) / tau), in closed form in the log domain.
    per_sample = 1.0 / (max(float(release_s), 1e-6) * sr)
    ramp = np.arange(x.size, dtype=np.float64) * per_sample
    with np.errstate(divide="ignore"):
        log_held = np.log(held)
    released = np.exp(np.maximum.accumulate(log_held + ramp) - ramp)
    # Smooth: mean over [n - look + 1, n] (backward); never below need[n].
    smooth = np.asarray(uniform_filter1d(released, size=look, mode="nearest", origin=(look - 1) // 2))
    reduction = np.maximum(smooth, 0.0)
    gain = np.power(10.0, -reduction / 20.0)
    return (x * gain).astype(np.float32), gain.astype(np.float32)


@dataclass(frozen=True)
class LoudnessResult:
    """What :func:`normalize_loudness` did (JSON-friendly apart from ``-inf`` for silence).

    ``gain_db`` is the static gain applied before limiting (dB);
    ``limiter_max_reduction_db`` the deepest limiter gain reduction (dB, >= 0);
    ``on_target`` is True when ``output_lufs`` is within ``accept_lu`` of
    ``target_lufs`` (always False for silent input).
    """

    target_lufs: float
    input_lufs: float
    output_lufs: float
    true_peak_dbtp: float
    gain_db: float
    limited: bool
    limiter_max_reduction_db: float
    on_target: bool
    silent: bool = False
    passes: int = 0


def normalize_loudness(
    audio: FloatArray,
    sample_rate: int,
    *,
    target_lufs: float,
    true_peak_ceiling_dbtp: float = -2.0,
    oversample: int = 4,
    margin_db: float = 0.1,
    tolerance_lu: float = 0.1,
    accept_lu: float = 0.5,
    max_makeup_db: float = 6.0,
    max_passes: int = 5,
) -> tuple[AudioArray, LoudnessResult]:
    """Gain ``audio`` to ``target_lufs`` with its true peak at or below ``true_peak_ceiling_dbtp``.

    Pass just the speech: loudness is measured on all of ``audio``.

    1. Static gain ``target - input`` (LU).
    2. If the true peak then exceeds ``ceiling - margin_db`` (detected as in
       :func:`true_peak_limit`; the margin absorbs the float32 output and
       small differences between meters),
       :func:`true_peak_limit` brings the peaks down; the loudness lost to
       limiting is made up by more gain (secant steps, at most
       ``max_makeup_db`` above step 1 and ``max_passes`` passes) until the
       output is within ``tolerance_lu`` of the target.
    3. Backstop: should the result still read above the ceiling, a static
       trim (never a clip) brings it down.

    The ceiling always wins over the target: a signal whose peak-to-loudness
    ratio is too high for ``max_makeup_db`` of limiting ends up quieter than
    the target, with ``on_target=False``. Silent input (``-inf`` LUFS) is
    returned unchanged with ``silent=True`` and 0 dB gain.
    """
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    target = float(target_lufs)
    input_lufs = integrated_loudness(x, sr)
    if not math.isfinite(input_lufs):
        return x.astype(np.float32), LoudnessResult(
            target_lufs=target,
            input_lufs=-math.inf,
            output_lufs=-math.inf,
            true_peak_dbtp=true_peak_dbtp(x, sr, oversample=oversample),
            gain_db=0.0,
            limited=False,
            limiter_max_reduction_db=0.0,
            on_target=False,
            silent=True,
            passes=0,
        )

    ceiling = float(true_peak_ceiling_dbtp)
    limit_at = ceiling - float(margin_db)
    base_gain_db = target - input_lufs
    next_gain_db = base_gain_db
    gain_db = base_gain_db
    history: list[tuple[float, float]] = []  # (gain_db, output_lufs) of limited passes
    best: tuple[float, AudioArray, float, float, bool] | None = None  # |miss|, audio, gain, reduction, limited
    passes = 0
    for passes in range(1, max(1, max_passes) + 1):
        gain_db = next_gain_db
        gained = x * db_to_gain(gain_db)
        if _guard_peak_db(gained, sr, oversample) <= limit_at:
            unlimited_miss = abs(base_gain_db - gain_db)  # loudness scales 1:1 with gain
            if best is None or unlimited_miss < best[0]:
                best = (unlimited_miss, gained.astype(np.float32), gain_db, 0.0, False)
            break
        limited_audio, gain_env = true_peak_limit(gained, sr, ceiling_dbtp=limit_at, oversample=oversample)
        reduction = float(-20.0 * np.log10(max(float(np.min(gain_env)), 1e-12)))
        out_lufs = integrated_loudness(limited_audio, sr)
        miss = target - out_lufs
        if best is None or abs(miss) < best[0]:
            best = (abs(miss), limited_audio, gain_db, reduction, True)
        history.append((gain_db, out_lufs))
        if abs(miss) <= tolerance_lu:
            break
        slope = 1.0
        if len(history) >= 2:
            (g0, l0), (g1, l1) = history[-2], history[-1]
            slope = (l1 - l0) / (g1 - g0) if g1 != g0 else 0.0
            if slope < 0.05:  # the limiter has flattened the peaks: more gain buys nothing
                break
            slope = min(1.0, slope)
        next_gain_db = min(gain_db + miss / slope, base_gain_db + float(max_makeup_db))
        if abs(next_gain_db - gain_db) < 1e-3:
            break
    assert best is not None
    _, out, gain_db, max_reduction, limited = best

    guard = _guard_peak_db(out.astype(np.float64), sr, oversample)
    if guard > ceiling:  # backstop: static trim, never a clip
        trim_db = limit_at - guard
        out = (out.astype(np.float64) * db_to_gain(trim_db)).astype(np.float32)
        gain_db += trim_db
    peak = true_peak_dbtp(out, sr, oversample=oversample)
    output_lufs = integrated_loudness(out, sr)
    return out, LoudnessResult(
        target_lufs=target,
        input_lufs=input_lufs,
        output_lufs=output_lufs,
        true_peak_dbtp=peak,
        gain_db=gain_db,
        limited=limited,
        limiter_max_reduction_db=max_reduction,
        on_target=abs(output_lufs - target) <= float(accept_lu),
        silent=False,
        passes=passes,
    )
