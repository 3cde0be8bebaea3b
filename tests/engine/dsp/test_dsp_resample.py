"""Sample-rate conversion."""

from __future__ import annotations

import numpy as np
import pytest
from revoice.engine.dsp.resample import resample


@pytest.mark.parametrize(("from_rate", "to_rate"), [(22050, 48000), (24000, 48000), (44100, 48000), (48000, 44100), (16000, 48000)])
def test_resample_keeps_frequency_and_length(from_rate: int, to_rate: int) -> None:
    seconds = 0.5
    t = np.arange(int(seconds * from_rate)) / from_rate
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    y = resample(x, from_rate, to_rate)
    assert y.dtype == np.float32
    assert len(y) == round(len(x) * to_rate / from_rate)
    t_out = np.arange(len(y)) / to_rate
    expected = 0.5 * np.sin(2 * np.pi * 1000 * t_out)
    middle = slice(len(y) // 10, -len(y) // 10)
    assert np.max(np.abs(y[middle] - expected[middle])) < 1e-3


def test_identity_is_a_float32_copy() -> None:
    x = np.linspace(-0.5, 0.5, 1000, dtype=np.float64)
    y = resample(x, 48000, 48000)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=1e-7)
    y[0] = 9.0
    assert x[0] == -0.5


def test_resample_errors_and_empty() -> None:
    assert resample(np.zeros(0, dtype=np.float32), 44100, 48000).shape == (0,)
    with pytest.raises(ValueError, match="from_rate"):
        resample(np.zeros(10, dtype=np.float32), 0, 48000)
    with pytest.raises(ValueError, match="mono"):
        resample(np.zeros((2, 10), dtype=np.float32), 44100, 48000)
