"""Shared signal generators and the reference meter (pyebur128) for the DSP tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.signal import butter, sosfilt


def make_speechlike(
    sample_rate: int, seconds: float = 3.0, *, seed: int = 0, plosive_gain: float = 2.0
) -> np.ndarray:
    """Speech-like test signal with a high crest factor (~20-27 dB), peak 0.5.

    Voiced harmonic bursts (f0 ~120 Hz with vibrato, formant-ish spectrum,
    syllable-rate envelope), a 300 ms pause at 1.2 s, and six 6 ms
    band-limited (10 kHz) noise bursts ("plosives") ``plosive_gain`` times the
    voiced peak, which a true-peak limiter has to catch.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = 120.0
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.08 * np.sin(2 * np.pi * 2.5 * t))) / sample_rate
    x = np.zeros(n)
    for k in range(1, 40):
        f = k * f0
        if f * 1.1 < min(sample_rate / 2, 8000):
            amp = (1 + 2 * np.exp(-(((f - 700) / 300) ** 2)) + 1.5 * np.exp(-(((f - 1800) / 400) ** 2))) / k
            x += amp * np.cos(k * phase + rng.uniform(0, 2 * np.pi))
    x += 0.05 * rng.standard_normal(n)
    syllable = rng.random(int(seconds * 4) + 1)
    x *= np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 1.5 * (0.2 + 0.8 * syllable[(t * 4).astype(int)])
    x[int(1.2 * sample_rate) : int(1.5 * sample_rate)] = 0.0
    sos = butter(4, 10000 / (sample_rate / 2), output="sos")
    peak = np.abs(x).max()
    width = int(0.006 * sample_rate)
    for pos in rng.uniform(0.1, seconds - 0.1, 6):
        i = int(pos * sample_rate)
        burst = sosfilt(sos, rng.standard_normal(width)) * np.hanning(width)
        x[i : i + width] += burst / np.abs(burst).max() * plosive_gain * peak
    return (x / np.abs(x).max() * 0.5).astype(np.float32)


def ebur128_measure(audio: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) from libebur128 via pyebur128 (the reference meter)."""
    import pyebur128

    mode = pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    state = pyebur128.R128State(1, sample_rate, mode)
    data = np.ascontiguousarray(audio, dtype=np.float64)
    state.add_frames(data, len(data))
    peak = pyebur128.get_true_peak(state, 0)
    return float(pyebur128.get_loudness_global(state)), float(20 * np.log10(peak)) if peak > 0 else -np.inf


@pytest.fixture
def speechlike() -> Callable[..., np.ndarray]:
    return make_speechlike


@pytest.fixture
def ebur128() -> Callable[[np.ndarray, int], tuple[float, float]]:
    pytest.importorskip("pyebur128")
    return ebur128_measure
