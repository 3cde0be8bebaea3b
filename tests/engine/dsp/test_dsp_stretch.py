"""Exact-length time-stretching, pitch preservation, pause finding and silence trimming."""

from __future__ import annotations

import numpy as np
import pytest
from revoice.engine.dsp import stretch as stretch_module
from revoice.engine.dsp.resample import resample
from revoice.engine.dsp.stretch import fit_exact_length, pause_spans, stretch_to_length, trim_silence, wsola_stretch

RATES = [44100, 48000]
METHODS = ["rubberband", "wsola"]


def tone(sample_rate: int, seconds: float, freq: float = 220.0, amplitude: float = 0.5) -> np.ndarray:
    """A harmonic tone (f0 plus two weaker harmonics)."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    x = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 2 * freq * t) + 0.1 * np.sin(2 * np.pi * 3 * freq * t)
    return (amplitude * x / 1.4).astype(np.float32)


def dominant_frequency(x: np.ndarray, sample_rate: int) -> float:
    """Frequency of the strongest spectral peak of the middle half (Hz, parabolic interpolation)."""
    mid = x[len(x) // 4 : 3 * len(x) // 4].astype(np.float64)
    n_fft = 1 << 20
    spectrum = np.abs(np.fft.rfft(mid * np.hanning(mid.size), n_fft))
    k = int(np.argmax(spectrum))
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sample_rate / n_fft


@pytest.mark.parametrize("sample_rate", RATES)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ratio", [0.6, 0.75, 1.0, 1.33, 1.8])
def test_exact_length_and_pitch_kept(sample_rate: int, method: str, ratio: float) -> None:
    x = tone(sample_rate, 0.8)
    target = int(round(len(x) * ratio)) + 7  # odd, not a round multiple of anything
    y = stretch_to_length(x, sample_rate, target, method=method)  # type: ignore[arg-type]
    assert y.dtype == np.float32
    assert y.shape == (target,)
    assert np.all(np.isfinite(y))
    assert dominant_frequency(y, sample_rate) == pytest.approx(220.0, rel=0.01)
    rms_in, rms_out = np.sqrt(np.mean(x.astype(np.float64) ** 2)), np.sqrt(np.mean(y[500:-500].astype(np.float64) ** 2))
    assert rms_out == pytest.approx(rms_in, rel=0.1)  # no level loss or doubling from the overlap-add


def test_pitch_check_can_fail() -> None:
    """Plain resampling to the same length shifts pitch far beyond the 1 % the stretch test allows."""
    x = tone(48000, 0.8)
    y = resample(x, 48000, int(48000 * 1.33))
    assert dominant_frequency(y, 48000) != pytest.approx(220.0, rel=0.01)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ratio", [0.6, 1.8])
def test_timing_follows_the_stretch(method: str, ratio: float) -> None:
    sample_rate = 48000
    x = np.zeros(2 * sample_rate, dtype=np.float32)
    width = 2400
    x[sample_rate : sample_rate + width] = np.sin(2 * np.pi * 1000 * np.arange(width) / sample_rate) * np.hanning(width)
    y = stretch_to_length(x, sample_rate, int(len(x) * ratio), method=method)  # type: ignore[arg-type]
    energy = y.astype(np.float64) ** 2
    centroid = float(np.sum(np.arange(len(y)) * energy) / np.sum(energy))
    expected = (sample_rate + width / 2) * ratio
    assert abs(centroid - expected) < (0.005 if method == "rubberband" else 0.03) * sample_rate


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ratio", [0.49, 2.01, 3.0])
def test_ratio_outside_range_is_rejected(method: str, ratio: float) -> None:
    x = tone(48000, 0.5)
    with pytest.raises(ValueError, match="outside the supported 0.5..2.0"):
        stretch_to_length(x, 48000, int(len(x) * ratio), method=method)  # type: ignore[arg-type]


def test_bad_arguments() -> None:
    x = tone(48000, 0.5)
    with pytest.raises(ValueError, match="unknown stretch method"):
        stretch_to_length(x, 48000, len(x), method="psola")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="target_samples"):
        stretch_to_length(x, 48000, 0)
    with pytest.raises(ValueError, match="empty"):
        stretch_to_length(np.zeros(0, dtype=np.float32), 48000, 10)
    with pytest.raises(ValueError, match="mono"):
        stretch_to_length(np.zeros((2, 100), dtype=np.float32), 48000, 100)


def test_ratio_limits_are_inclusive() -> None:
    x = tone(48000, 0.5)
    assert len(stretch_to_length(x, 48000, len(x) // 2)) == len(x) // 2
    assert len(stretch_to_length(x, 48000, len(x) * 2, method="wsola")) == len(x) * 2


def test_fit_exact_length_bounds() -> None:
    x = tone(48000, 1.0)
    # small differences: trimmed / zero-padded at the end, the rest untouched
    np.testing.assert_array_equal(fit_exact_length(x, len(x) - 20), x[:-20])
    padded = fit_exact_length(x, len(x) + 20)
    np.testing.assert_array_equal(padded[: len(x)], x)
    assert np.all(padded[len(x) :] == 0)
    # large differences: resampled to the exact length (pitch moves by the length factor only)
    for target in (len(x) - 480, len(x) + 481):
        y = fit_exact_length(x, target)
        assert len(y) == target
        assert dominant_frequency(y, 48000) == pytest.approx(220.0 * len(x) / target, rel=1e-3)


@pytest.mark.parametrize("error", [-5, 3, -200, 300])
def test_rubberband_length_error_is_corrected(monkeypatch: pytest.MonkeyPatch, error: int) -> None:
    real = stretch_module.pedalboard.time_stretch

    def off_by(audio: np.ndarray, sample_rate: float, **kwargs: object) -> np.ndarray:
        out = real(audio, sample_rate, **kwargs)
        return out[:, :error] if error < 0 else np.pad(out, ((0, 0), (0, error)))

    monkeypatch.setattr(stretch_module.pedalboard, "time_stretch", off_by)
    x = tone(48000, 0.5)
    target = int(len(x) * 1.3)
    y = stretch_to_length(x, 48000, target)
    assert len(y) == target
    assert dominant_frequency(y, 48000) == pytest.approx(220.0, rel=0.01)


def test_wsola_short_and_odd_inputs() -> None:
    for n, target in [(1, 2), (50, 37), (1001, 1999)]:
        x = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 0.1
        assert len(wsola_stretch(x, 48000, target)) == target


# --- pauses and silence ---------------------------------------------------------


def gapped(sample_rate: int, layout: list[tuple[str, float]]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Concatenate ("tone"|"gap", seconds) parts; returns the signal and the gaps' (start, end) samples."""
    parts, gaps, pos = [], [], 0
    for kind, seconds in layout:
        n = int(round(seconds * sample_rate))
        parts.append(tone(sample_rate, seconds) if kind == "tone" else np.zeros(n, dtype=np.float32))
        if kind == "gap":
            gaps.append((pos, pos + n))
        pos += n
    return np.concatenate(parts), gaps


@pytest.mark.parametrize("sample_rate", RATES)
def test_pause_spans_finds_internal_gaps_only(sample_rate: int) -> None:
    x, gaps = gapped(
        sample_rate,
        [("gap", 0.15), ("tone", 0.4), ("gap", 0.2), ("tone", 0.3), ("gap", 0.05), ("tone", 0.3), ("gap", 0.12), ("tone", 0.2), ("gap", 0.3)],
    )
    spans = pause_spans(x, sample_rate)
    expected = [gaps[1], gaps[3]]  # leading/trailing silence excluded, the 50 ms gap is below min_pause_s
    assert len(spans) == len(expected)
    tolerance = int(0.006 * sample_rate)
    for (start, end), (g_start, g_end) in zip(spans, expected, strict=True):
        assert abs(start - g_start) <= tolerance and abs(end - g_end) <= tolerance
    assert pause_spans(x, sample_rate, min_pause_s=0.03)[1] == pytest.approx(gaps[2], abs=tolerance)
    assert len(pause_spans(x, sample_rate, min_pause_s=0.03)) == 3


@pytest.mark.parametrize("sample_rate", RATES)
def test_pause_threshold_is_relative_to_the_peak(sample_rate: int) -> None:
    x, gaps = gapped(sample_rate, [("tone", 0.3), ("gap", 0.2), ("tone", 0.3)])
    noise = np.random.default_rng(0).standard_normal(len(x)).astype(np.float32)
    quiet_bed = x + noise * 0.5 * 10 ** (-50 / 20)  # -50 dB under the tone: still a pause
    assert len(pause_spans(quiet_bed, sample_rate)) == 1
    loud_bed = x + noise * 0.5 * 10 ** (-25 / 20)  # -25 dB: not silence at -40 dB
    assert pause_spans(loud_bed, sample_rate) == []
    assert pause_spans(x * 1e-3, sample_rate) == pause_spans(x, sample_rate)


def test_pause_spans_of_silence_and_constant_tone() -> None:
    assert pause_spans(np.zeros(48000, dtype=np.float32), 48000) == []
    assert pause_spans(tone(48000, 1.0), 48000) == []


@pytest.mark.parametrize("sample_rate", RATES)
def test_trim_silence(sample_rate: int) -> None:
    x, gaps = gapped(sample_rate, [("gap", 0.25), ("tone", 0.5), ("gap", 0.2), ("tone", 0.3), ("gap", 0.4)])
    start, end = trim_silence(x, sample_rate)
    tolerance = int(0.006 * sample_rate)
    assert abs(start - gaps[0][1]) <= tolerance and start <= gaps[0][1]
    assert abs(end - gaps[-1][0]) <= tolerance and end >= gaps[-1][0]
    assert trim_silence(np.zeros(1000, dtype=np.float32), sample_rate) == (0, 0)
    assert trim_silence(tone(sample_rate, 0.5), sample_rate) == (0, int(0.5 * sample_rate))
