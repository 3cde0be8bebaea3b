"""A synthetic vowel for the tint and tuning tests (no model needed)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def voiced(sample_rate: int, seconds: float = 1.2, f0: float = 120.0) -> npt.NDArray[np.float32]:
    """A vowel-like tone: harmonics of ``f0`` with slow vibrato under two broad formants."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    phase = 2 * np.pi * np.cumsum(f0 * 2.0 ** (0.5 * np.sin(2 * np.pi * 4 * t) / 12)) / sample_rate
    x = sum((0.05 + math.exp(-(((k * f0 - 600) / 300) ** 2)) + 0.5 * math.exp(-(((k * f0 - 1700) / 400) ** 2)))
            * np.cos(k * phase) for k in range(1, int(6000 / f0)))
    return np.asarray(0.4 * x / np.max(np.abs(x)), dtype=np.float32)
