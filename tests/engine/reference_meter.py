"""The reference meter for engine tests: libebur128 through pyebur128 (4x oversampled true peak)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def ebur128_loudness_and_true_peak(audio: npt.NDArray[np.float32], sample_rate: int) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) as libebur128 measures them."""
    import pyebur128

    mode = pyebur128.MeasurementMode.MODE_I | pyebur128.MeasurementMode.MODE_TRUE_PEAK
    state = pyebur128.R128State(1, sample_rate, mode)
    data = np.ascontiguousarray(audio, dtype=np.float64)
    state.add_frames(data, len(data))
    peak = float(pyebur128.get_true_peak(state, 0))
    return float(pyebur128.get_loudness_global(state)), 20 * float(np.log10(peak)) if peak > 0 else -np.inf
