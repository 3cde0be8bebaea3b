"""Shared argument checks for the DSP functions (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from revoice.engine.model import AudioArray as AudioArray  # one definition, in the model

FloatArray = npt.NDArray[np.floating[Any]]
"""Any floating-point array accepted as input (converted internally)."""


def mono_f64(audio: FloatArray, name: str = "audio") -> npt.NDArray[np.float64]:
    """``audio`` as a 1-D float64 array; ValueError for other shapes or non-finite samples."""
    arr = np.asarray(audio, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be mono with shape (samples,), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite samples")
    return arr


def check_rate(sample_rate: int, name: str = "sample_rate") -> int:
    """``sample_rate`` as a positive int (Hz); ValueError otherwise."""
    if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"{name} must be a positive whole number of Hz, got {sample_rate!r}")
    return int(sample_rate)


def db_to_gain(db: float) -> float:
    """Decibels to a linear amplitude factor."""
    return float(10.0 ** (db / 20.0))
