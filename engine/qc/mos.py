"""Offline naturalness meters (predicted MOS, 1..5) whose weights ship in their wheels.

* :class:`DistillMosMeter`: DistillMOS (``distillmos==0.9.1``; CNN + transformer
  distilled from XLS-R SQA, torch). Separates synthetic speech quality well
  (espeak ~2.2, neural TTS 3.7-4.5, clean real speech 3.7-4.4).
* :class:`DnsMosMeter`: DNSMOS P.835 overall (``speechmos==0.0.1.1``, ONNX; its
  P.808 head needs librosa). Coarser for TTS; kept as a second opinion.

Both load their model on first use, once, from the installed package files;
nothing is downloaded. Audio is float32 mono at any rate (resampled to 16 kHz).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.resources
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from revoice.engine.dsp._util import AudioArray, FloatArray
from revoice.engine.dsp.resample import resample

MOS_RATE = 16000
"""Sample rate (Hz) both meters run at."""

DISTILLMOS_WEIGHTS = ("weights", "distill_mos_v7.pt")
"""The checkpoint inside the ``distillmos`` package."""


@contextlib.contextmanager
def _without_torchaudio() -> Iterator[None]:
    """Let ``distillmos.sqa`` import without torchaudio.

    The module imports torchaudio at the top but uses it only in its command-line
    file reader. torchaudio wheels are built for one torch version (the PyPI one
    fails to load next to CPU torch 2.13), so a placeholder module stands in for
    the duration of the import and is removed afterwards.
    """
    if "torchaudio" in sys.modules:
        yield
        return
    sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    try:
        yield
    finally:
        sys.modules.pop("torchaudio", None)


def _to_16k(audio: FloatArray, sample_rate: int) -> AudioArray:
    x = resample(audio, sample_rate, MOS_RATE)
    if x.size == 0:
        raise ValueError("cannot score empty audio")
    return np.ascontiguousarray(x, dtype=np.float32)


class DistillMosMeter:
    """DistillMOS naturalness meter; ``score`` returns predicted MOS 1..5.

    Runs on ``device`` ("cpu", "cuda", "cuda:N"). ``threads`` sets torch's
    (process-wide) intra-op thread count when given. About 0.1-0.3 s per
    few-second clip on 2 CPU cores.
    """

    def __init__(self, *, device: str = "cpu", threads: int | None = None) -> None:
        self._device = device
        self._threads = threads
        self._model: Any = None

    @staticmethod
    def weights_path() -> Path:
        """The checkpoint shipped in the distillmos wheel."""
        return Path(str(importlib.resources.files("distillmos").joinpath(*DISTILLMOS_WEIGHTS)))

    def load(self) -> None:
        """Build the network and load the shipped weights (tensors only); later calls do nothing."""
        if self._model is not None:
            return
        import torch

        if self._threads is not None:
            torch.set_num_threads(int(self._threads))
        with _without_torchaudio():
            sqa = importlib.import_module("distillmos.sqa")
        model = sqa.ConvTransformerSQAModel(load_weights=False)
        checkpoint = torch.load(str(self.weights_path()), map_location="cpu", weights_only=True)
        model.load_state_dict(checkpoint["model"])
        model.eval()
        self._model = model.to(self._device)

    def score(self, audio: FloatArray, sample_rate: int) -> float:
        """Predicted MOS (1 = bad .. 5 = excellent) of mono ``audio`` at ``sample_rate`` Hz.

        The model normalizes the peak itself, so the level does not matter;
        clips shorter than 7.68 s are zero-padded, longer ones averaged over windows.
        """
        self.load()
        import torch

        x = torch.from_numpy(_to_16k(audio, sample_rate))[None].to(self._device)
        with torch.inference_mode():
            return float(self._model(x).reshape(-1)[0].item())


class DnsMosMeter:
    """DNSMOS (P.835) meter; ``score`` returns the overall MOS, ``scores`` all four.

    Needs ``speechmos==0.0.1.1`` plus ``librosa`` (imported by speechmos). CPU only;
    ``threads`` sets onnxruntime's intra-op threads. Clips under 9 s are looped to 9 s
    (the package's rule).
    """

    def __init__(self, *, threads: int = 1, personalized: bool = False) -> None:
        self._threads = int(threads)
        self._personalized = personalized
        self._model: Any = None

    def load(self) -> None:
        """Open the two ONNX sessions from the speechmos package; later calls do nothing."""
        if self._model is not None:
            return
        import onnxruntime as ort

        dnsmos = importlib.import_module("speechmos.dnsmos")
        root = importlib.resources.files("speechmos")
        primary = str(root / ("pdnsmos_models" if self._personalized else "dnsmos_models") / "sig_bak_ovr.onnx")
        p808 = str(root / "dnsmos_models" / "model_v8.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1

        def session(path: str) -> Any:
            return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])

        model = dnsmos.DNSMOS.__new__(dnsmos.DNSMOS)  # the package's scorer with our own sessions
        model.primary_model_path = primary
        model.onnx_sess = session(primary)
        model.p808_onnx_sess = session(p808)
        self._model = model

    def scores(self, audio: FloatArray, sample_rate: int) -> dict[str, float]:
        """``ovrl_mos``, ``sig_mos``, ``bak_mos`` and ``p808_mos`` (1..5) of mono ``audio``."""
        self.load()
        x = np.clip(_to_16k(audio, sample_rate), -1.0, 1.0)
        result = self._model(x, MOS_RATE, self._personalized)
        return {key: float(result[key]) for key in ("ovrl_mos", "sig_mos", "bak_mos", "p808_mos")}

    def score(self, audio: FloatArray, sample_rate: int) -> float:
        """Overall DNSMOS (P.835 OVRL, 1..5) of mono ``audio`` at ``sample_rate`` Hz."""
        return self.scores(audio, sample_rate)["ovrl_mos"]
