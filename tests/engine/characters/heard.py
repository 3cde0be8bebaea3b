"""What a judge's ASR hears: the judged sentences joined with digital silence (tuning_judge.listening_windows)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from revoice.engine.characters.tuning_judge import JOIN_GAP_SECONDS


def heard_pieces(audio: npt.NDArray[np.float32], sample_rate: int) -> list[npt.NDArray[np.float32]]:
    """The sentences in one window the judge hands its ASR, split at its runs of exact zeros of the gap's length
    (a run longer than the gap keeps the extra zeros with the sentence before it)."""
    gap = int(round(JOIN_GAP_SECONDS * sample_rate))
    zero = np.concatenate([[False], audio == 0.0, [False]])
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    pieces: list[npt.NDArray[np.float32]] = []
    start = 0
    for run_start, run_end in zip(edges[::2], edges[1::2]):
        if run_end - run_start >= gap and run_start > start and run_end < audio.size:
            cut = run_end - gap
            pieces.append(audio[start:cut])
            start = run_end
    pieces.append(audio[start:])
    return pieces
