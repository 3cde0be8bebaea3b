"""Loudness, true peak, presets and normalisation against BS.1770 maths and libebur128."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from revoice.engine.dsp.loudness import (
    LoudnessPreset,
    integrated_loudness,
    loudness_presets,
    normalize_loudness,
    preset_target,
    true_peak_dbtp,
    true_peak_limit,
)
from scipy.signal import freqz

RATES = [44100, 48000]

# ITU-R BS.1770-4 K-weighting at 48 kHz (pre-filter, then RLB high-pass), as published.
_PRE_B = [1.53512485958697, -2.69169618940638, 1.19839281085285]
_PRE_A = [1.0, -1.69065929318241, 0.73248077421585]
_RLB_B = [1.0, -2.0, 1.0]
_RLB_A = [1.0, -1.99004745483398, 0.99007225036621]


def expected_sine_lufs(freq: float, amplitude: float) -> float:
    """BS.1770 loudness of a steady mono sine: -0.691 + 10 log10(|K(f)|^2 * A^2 / 2)."""
    _, pre = freqz(_PRE_B, _PRE_A, worN=[freq], fs=48000)
    _, rlb = freqz(_RLB_B, _RLB_A, worN=[freq], fs=48000)
    k_gain = abs(pre[0] * rlb[0])
    return -0.691 + 10 * math.log10(k_gain**2 * amplitude**2 / 2)


def sine(sample_rate: int, freq: float, amplitude: float, seconds: float, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


# --- integrated loudness ------------------------------------------------------


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
def test_997hz_sine_at_minus_20_dbfs_reads_minus_23_lufs(sample_rate: int, ebur128) -> None:
    x = sine(sample_rate, 997.0, 0.1, 5.0)
    expected = expected_sine_lufs(997.0, 0.1)
    assert expected == pytest.approx(-23.01, abs=0.005)  # mono: the K-weighting gain at 997 Hz ~ +0.69 dB
    ours = integrated_loudness(x, sample_rate)
    # the published coefficients are for 48 kHz; other rates re-derive the filter (+-0.02 dB at 997 Hz)
    assert ours == pytest.approx(expected, abs=0.005 if sample_rate == 48000 else 0.03)
    assert ours == pytest.approx(ebur128(x, sample_rate)[0], abs=0.01)
    # pyloudnorm's default "K-weighting" filter class reads 0.02-0.05 LU low; ours uses the exact one.
    assert pyloudnorm.Meter(sample_rate).integrated_loudness(x.astype(np.float64)) == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("freq", [60.0, 440.0, 3000.0, 9000.0])
def test_sine_loudness_follows_k_weighting(sample_rate: int, freq: float) -> None:
    x = sine(sample_rate, freq, 0.25, 2.0)
    assert integrated_loudness(x, sample_rate) == pytest.approx(expected_sine_lufs(freq, 0.25), abs=0.02)


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("seed", [0, 1])
def test_gated_loudness_matches_libebur128(sample_rate: int, seed: int, speechlike, ebur128) -> None:
    x = speechlike(sample_rate, seed=seed)  # includes a 300 ms pause: gating matters
    assert integrated_loudness(x, sample_rate) == pytest.approx(ebur128(x, sample_rate)[0], abs=0.02)


@pytest.mark.parametrize("sample_rate", RATES)
def test_short_clip_is_measured_ungated_not_padded(sample_rate: int) -> None:
    x = sine(sample_rate, 997.0, 0.1, 0.2)  # half a gating block
    value = integrated_loudness(x, sample_rate)
    assert value == pytest.approx(expected_sine_lufs(997.0, 0.1), abs=0.1)  # padding would read ~-26


@pytest.mark.parametrize("sample_rate", RATES)
def test_silence_is_minus_inf(sample_rate: int) -> None:
    assert integrated_loudness(np.zeros(sample_rate, dtype=np.float32), sample_rate) == -math.inf
    assert integrated_loudness(np.zeros(100, dtype=np.float32), sample_rate) == -math.inf
    assert integrated_loudness(np.zeros(0, dtype=np.float32), sample_rate) == -math.inf
    assert integrated_loudness(sine(sample_rate, 997.0, 1e-5, 1.0), sample_rate) == -math.inf  # below -70 LUFS


def test_rejects_non_mono_and_bad_rates() -> None:
    with pytest.raises(ValueError, match="mono"):
        integrated_loudness(np.zeros((2, 48000), dtype=np.float32), 48000)
    with pytest.raises(ValueError, match="sample_rate"):
        true_peak_dbtp(np.zeros(10, dtype=np.float32), 0)
    with pytest.raises(ValueError, match="NaN"):
        true_peak_dbtp(np.array([0.0, np.nan], dtype=np.float32), 48000)


# --- true peak ----------------------------------------------------------------


def _signals(sample_rate: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    n = sample_rate
    t = np.arange(n) / sample_rate
    return {
        # fs/4 at 45 degrees: every sample at A/sqrt(2), the waveform peaks at A between samples
        "fs4_45deg": (0.9 * np.sin(2 * np.pi * (sample_rate / 4) * t + np.pi / 4)).astype(np.float32),
        "fs4_45deg_over_0dbfs": (1.0 * np.sin(2 * np.pi * (sample_rate / 4) * t + np.pi / 4)).astype(np.float32),
        "sine_997": sine(sample_rate, 997.0, 0.5, 1.0),
        "sine_15k": sine(sample_rate, 15000.0, 0.5, 1.0, phase=0.3),
        "white_noise": (0.2 * rng.standard_normal(n)).astype(np.float32),
        "click": np.r_[np.zeros(1000), 0.5, -0.5, np.zeros(1000)].astype(np.float32),
        "square_1k": (0.5 * np.sign(np.sin(2 * np.pi * 1000 * t + 0.1))).astype(np.float32),
    }


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
@pytest.mark.parametrize(
    "name", ["fs4_45deg", "fs4_45deg_over_0dbfs", "sine_997", "sine_15k", "white_noise", "click", "square_1k"]
)
def test_true_peak_agrees_with_libebur128(sample_rate: int, name: str, ebur128) -> None:
    if sample_rate == 96000 and name == "square_1k":
        pytest.skip("known: at 2x oversampling libebur128 reads a naive square 0.47 dB lower than we do")
    x = _signals(sample_rate)[name]
    assert true_peak_dbtp(x, sample_rate) == pytest.approx(ebur128(x, sample_rate)[1], abs=0.1)


@pytest.mark.parametrize("sample_rate", RATES)
def test_true_peak_finds_the_inter_sample_peak(sample_rate: int, speechlike, ebur128) -> None:
    x = _signals(sample_rate)["fs4_45deg"]
    sample_peak = 20 * math.log10(float(np.max(np.abs(x))))
    assert sample_peak == pytest.approx(20 * math.log10(0.9) - 3.01, abs=0.01)
    # the short (12 taps/phase) metering interpolator reads ~0.1 dB high here, as libebur128 does
    assert true_peak_dbtp(x, sample_rate) == pytest.approx(20 * math.log10(0.9), abs=0.15)
    assert true_peak_dbtp(x, sample_rate) > sample_peak + 2.9
    assert true_peak_dbtp(x, sample_rate, oversample=8) == pytest.approx(20 * math.log10(0.9), abs=0.15)
    y = speechlike(sample_rate)
    assert true_peak_dbtp(y, sample_rate) == pytest.approx(ebur128(y, sample_rate)[1], abs=0.1)


def test_true_peak_of_silence_is_minus_inf() -> None:
    assert true_peak_dbtp(np.zeros(480, dtype=np.float32), 48000) == -math.inf
    assert true_peak_dbtp(np.zeros(0, dtype=np.float32), 48000) == -math.inf


# --- presets --------------------------------------------------------------------


def test_presets() -> None:
    presets = loudness_presets()
    assert {name: p.target_lufs for name, p in presets.items()} == {
        "ebu-r128": -23.0,
        "atsc-a85": -24.0,
        "netflix": -27.0,
        "match": None,
    }
    assert all(p.true_peak_ceiling_dbtp == -2.0 for p in presets.values())
    assert all(p.true_peak_ceiling_dbtp == -1.0 for p in loudness_presets(true_peak_ceiling_dbtp=-1.0).values())
    assert preset_target(presets["netflix"]) == -27.0
    assert preset_target(presets["match"], -19.5) == -19.5
    with pytest.raises(ValueError, match="match"):
        preset_target(presets["match"])
    with pytest.raises(ValueError):
        preset_target(presets["match"], -math.inf)
    with pytest.raises(AttributeError):
        presets["netflix"].target_lufs = -20.0  # type: ignore[misc]
    assert isinstance(presets["ebu-r128"], LoudnessPreset)


# --- normalisation ----------------------------------------------------------------


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("seed", [0, 2])
@pytest.mark.parametrize("preset_name", ["ebu-r128", "atsc-a85", "netflix", "match"])
def test_normalize_hits_each_preset_under_the_ceiling(
    sample_rate: int, seed: int, preset_name: str, speechlike, ebur128
) -> None:
    preset = loudness_presets()[preset_name]
    target = preset_target(preset, match_lufs=-20.0)
    x = speechlike(sample_rate, seed=seed)
    y, result = normalize_loudness(
        x, sample_rate, target_lufs=target, true_peak_ceiling_dbtp=preset.true_peak_ceiling_dbtp
    )
    assert y.dtype == np.float32 and y.shape == x.shape
    plain_peak = true_peak_dbtp(x, sample_rate) + target - integrated_loudness(x, sample_rate)
    if preset_name != "netflix":  # crest factor ~25 dB: these targets need the limiter
        assert plain_peak > preset.true_peak_ceiling_dbtp + 1.0
    if plain_peak > preset.true_peak_ceiling_dbtp:
        assert result.limited and result.limiter_max_reduction_db > 0.0
    assert result.on_target
    assert result.output_lufs == pytest.approx(target, abs=0.5)
    assert result.true_peak_dbtp <= preset.true_peak_ceiling_dbtp
    ref_lufs, ref_peak = ebur128(y, sample_rate)
    assert ref_lufs == pytest.approx(target, abs=0.5)
    assert ref_peak <= preset.true_peak_ceiling_dbtp
    assert integrated_loudness(y, sample_rate) == pytest.approx(result.output_lufs, abs=1e-9)


@pytest.mark.parametrize("sample_rate", RATES)
def test_normalize_without_limiting_is_a_pure_gain(sample_rate: int) -> None:
    x = sine(sample_rate, 440.0, 0.05, 1.0)
    y, result = normalize_loudness(x, sample_rate, target_lufs=-27.0)
    assert not result.limited and result.limiter_max_reduction_db == 0.0
    assert result.output_lufs == pytest.approx(-27.0, abs=0.01)
    np.testing.assert_allclose(y, x * 10 ** (result.gain_db / 20), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("sample_rate", RATES)
def test_unreachable_target_keeps_the_ceiling(sample_rate: int, speechlike, ebur128) -> None:
    x = speechlike(sample_rate)
    y, result = normalize_loudness(x, sample_rate, target_lufs=-10.0, true_peak_ceiling_dbtp=-2.0)
    assert not result.on_target and result.output_lufs < -12.0
    assert result.true_peak_dbtp <= -2.0
    assert ebur128(y, sample_rate)[1] <= -2.0


def test_silent_input_is_returned_unchanged() -> None:
    x = np.zeros(48000, dtype=np.float32)
    y, result = normalize_loudness(x, 48000, target_lufs=-23.0)
    np.testing.assert_array_equal(y, x)
    assert result.silent and not result.limited and not result.on_target
    assert result.gain_db == 0.0
    values = [result.input_lufs, result.output_lufs, result.true_peak_dbtp, result.gain_db]
    assert not any(math.isnan(v) for v in values)


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("lookahead_s", [0.002, 0.005])
def test_limiter_is_a_smooth_gain_not_a_clipper(sample_rate: int, lookahead_s: float, speechlike) -> None:
    x = speechlike(sample_rate, plosive_gain=3.0) * np.float32(2.5)  # peaks near +2 dBTP
    ceiling = -3.0
    y, gain = true_peak_limit(x, sample_rate, ceiling_dbtp=ceiling, lookahead_s=lookahead_s)
    assert true_peak_dbtp(x, sample_rate) > 1.0
    assert true_peak_dbtp(y, sample_rate) <= ceiling + 0.02
    np.testing.assert_allclose(y, x * gain, rtol=1e-6, atol=1e-7)  # a gain, not a waveshaper
    gain_db = 20 * np.log10(gain.astype(np.float64))
    max_reduction = -gain_db.min()
    assert max_reduction > 3.0
    look = round(lookahead_s * sample_rate)
    # the ramp-in spreads each reduction over the look-ahead: no gain steps
    assert np.max(np.abs(np.diff(gain_db))) <= max_reduction / look * 1.05 + 1e-9
    # and it releases: most of the clip is untouched
    assert np.mean(gain_db > -0.1) > 0.5


@pytest.mark.parametrize("sample_rate", RATES)
def test_ceiling_holds_for_long_filter_meters_too(sample_rate: int, ebur128) -> None:
    """Hard-edged, HF-heavy material: short and long interpolators disagree; both must read <= ceiling."""
    from scipy.signal import resample_poly

    rng = np.random.default_rng(3)
    t = np.arange(2 * sample_rate) / sample_rate
    bursts = 0.5 * np.sign(np.sin(2 * np.pi * 700 * t)) * (np.mod(t, 0.15) < 0.012)  # 12 ms square bursts
    x = (bursts + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    y, result = normalize_loudness(x, sample_rate, target_lufs=-14.0, true_peak_ceiling_dbtp=-1.0)
    long_filter_peak = 20 * np.log10(np.max(np.abs(resample_poly(y.astype(np.float64), 4, 1))))  # Kaiser, 81 taps
    assert result.limited and result.on_target
    assert long_filter_peak <= -1.0  # limiting on the short metering filter alone reads ~-0.8 here
    assert ebur128(y, sample_rate)[1] <= -1.0
    assert result.true_peak_dbtp <= -1.0
