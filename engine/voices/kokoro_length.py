"""Kokoro's speech length at any rate, read from its own predictors without rendering audio.

Kokoro predicts each token's duration (``d``, frames of :data:`FRAME_SAMPLES`
samples at 24 kHz, before the rate divides it) and then, per half frame, an
energy curve ``N``. Its audio is exactly ``FRAME_SAMPLES * sum(max(1, round(d / speed)))``
samples long, and the part the trimmers keep is where ``N`` rises above
:data:`ENERGY_FLOOR` (measured on the ten bench sentences, five voices, rates
0.85-1.15: within -1.1 % to +3.2 % of the trimmed speech, most within 1 %).

Only that part of the graph runs (text encoder, duration and energy predictors;
no decoder): 20-50 ms a sentence on 2 threads, where rendering it takes about a
second. The fitter (:func:`revoice.engine.fit.fit_to_length`) uses it to make its
first synthesis at the rate that should fill the slot, instead of rendering the
natural rate first and searching from there.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

_LOGGER = logging.getLogger(__name__)

FRAME_SAMPLES = 600
"""Samples (24 kHz) per predicted duration frame; the energy curve has two values per frame."""
ENERGY_FLOOR = 0.0
"""Energy (``N``) above which a half frame counts as sounding."""
DURATIONS_OUTPUT = "/encoder/predictor/ReduceSum_output_0"
ENERGY_OUTPUT = "/encoder/N_proj/Conv_output_0"
GRAPH_VERSION = 1
"""Joins the cached graph's name; raise it when the extracted outputs change."""


@dataclass(frozen=True)
class ChunkLength:
    """One model run's token durations and how much of each token sounds (at speed 1)."""

    durations: npt.NDArray[np.float32]
    """Per token (padding included), frames at speed 1 before rounding."""
    sounding: npt.NDArray[np.float64]
    """Per token, the fraction (0-1) of its frames inside the sounding span."""

    def samples(self, duration_scale: float) -> float:
        """Sounding samples (24 kHz) of this run at ``duration_scale`` (speed = 1 / scale), as the model rounds."""
        speed = np.float32(1.0 / duration_scale)
        frames = np.maximum(np.float32(1.0), np.round(self.durations / speed))
        return float(np.dot(frames.astype(np.float64), self.sounding)) * FRAME_SAMPLES


def chunk_length(durations: npt.NDArray[np.float32], energy: npt.NDArray[np.float32]) -> ChunkLength:
    """:class:`ChunkLength` from the predictors' outputs at speed 1 (``energy``: two values per frame)."""
    d = np.asarray(durations, dtype=np.float32).reshape(-1)
    n = np.asarray(energy, dtype=np.float32).reshape(-1)
    frames = np.maximum(1.0, np.round(d)).astype(np.int64) * 2  # half frames per token
    ends = np.cumsum(frames)
    starts = ends - frames
    loud = np.flatnonzero(n > ENERGY_FLOOR)
    if loud.size == 0:
        return ChunkLength(d, np.zeros(len(d)))
    first, last = int(loud[0]), int(loud[-1]) + 1
    overlap = np.clip(np.minimum(ends, last) - np.maximum(starts, first), 0, None)
    return ChunkLength(d, overlap / frames)


def sounding_samples(chunks: Sequence[ChunkLength], *, silences_seconds: float, pad_seconds: float,
                     duration_scale: float, sample_rate: int) -> float:
    """Trimmed speech length (samples at ``sample_rate``) of a synthesis made of ``chunks``.

    The voice joins its runs' trimmed audio (each with ``pad_seconds`` of context
    on both sides) and silences (``silences_seconds`` at scale 1, scaled); the
    outer pads are trimmed again.
    """
    runs = sum(chunk.samples(duration_scale) for chunk in chunks)
    pads = 2 * pad_seconds * sample_rate * max(0, len(chunks) - 1)
    return runs + pads + silences_seconds * duration_scale * sample_rate


def length_session(model: Path, options: Any, *, default_threads: int) -> Any | None:
    """An onnxruntime session of Kokoro's length predictors (kept optimized in the ONNX cache), or None.

    None when the ``onnx`` package (needed to cut the graph) is missing or the
    graph lacks the outputs (another Kokoro export): the fitter then searches as
    for any voice.
    """
    from revoice.engine.voices._shared import onnx_session
    from revoice.engine.voices.integer_gemm import GRAPH_VERSION as GEMM_VERSION
    from revoice.engine.voices.integer_gemm import rewrite_integer_ops, signed_gemm_is_exact

    if importlib.util.find_spec("onnx") is None:
        return None
    # the predictors' integer ops as signed GEMMs (integer_gemm) where that is exact on this CPU: same numbers
    signed = not str(options.device).startswith("cuda") and signed_gemm_is_exact(importlib.import_module("onnxruntime"))

    def extract() -> bytes:  # only when the cut graph is not in the ONNX cache yet (onnx imports in 0.7 s)
        onnx = importlib.import_module("onnx")
        utils = importlib.import_module("onnx.utils")
        proto = onnx.load(str(model))
        cut = utils.Extractor(proto).extract_model(["tokens", "style", "speed"], [DURATIONS_OUTPUT, ENERGY_OUTPUT])
        if signed:
            rewrite_integer_ops(cut)
        return bytes(cut.SerializeToString())

    stat = model.stat()
    variant = f"length{GRAPH_VERSION}" + (f".gemm{GEMM_VERSION}" if signed else "")
    try:
        return onnx_session(extract, options, default_threads=default_threads, memory_arena=False,
                            optimized_name=f"{model.stem}.{variant}.{stat.st_size}-{stat.st_mtime_ns}")
    except Exception as exc:  # noqa: BLE001 - another export without these outputs: no prediction, same renders
        _LOGGER.warning("kokoro: no length forecast from %s (%s); the fitter searches as for any voice", model, exc)
        return None


def predict_chunk(session: Any, tokens: Sequence[int], style: npt.NDArray[np.float32]) -> ChunkLength:
    """Run the length predictors on one model run's tokens (padding added as the voice adds it)."""
    durations, energy = session.run(None, {
        "tokens": np.asarray([[0, *tokens, 0]], dtype=np.int64),
        "style": np.asarray(style, dtype=np.float32).reshape(1, 256),
        "speed": np.asarray([1.0], dtype=np.float32),
    })
    return chunk_length(durations, energy)


LengthCurve = Callable[[float], float]
"""Seconds of trimmed speech a synthesis would have at a duration scale."""
