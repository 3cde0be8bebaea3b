"""IndexTTS2 backend: zero-shot cloning with separate timbre and emotion control.

Runs the ``IndexTTS2`` class of the IndexTTS repository (``indextts.infer_v2``;
not on PyPI: the user installs a checkout with ``pip install -e <checkout>``).
``request.reference_audio`` is the timbre reference; ``request.emotion`` is
one of Revoice's labels or the model's eight emotions (``"sad"``), a weighted
mix (``"happy:0.6,surprised:0.2"``: an emotion vector), or free text (``"quietly
furious"``, read by the model's Qwen emotion classifier); ``request.emotion_audio``
is an emotion reference recording (the original take). Without either the
reference's own emotion is kept. :func:`request_emotion_arguments` documents the
mapping; the spec declares ``emotion_control = ("reference", "vector", "text")``.

Weights are never downloaded. ``--weights indextts2=DIR`` /
``BackendOptions.weights_dir`` or ``REVOICE_INDEXTTS2_WEIGHTS`` names the
IndexTTS2 ``checkpoints`` folder: ``config.yaml`` and the files it names
(gpt.pth, s2mel.pth, bpe.model, wav2vec2bert_stats.pt, feat1.pt, feat2.pt,
qwen0.6bemo4-merge/), plus ``hf_cache/`` holding the Hugging Face models the
class fetches by name (facebook/w2v-bert-2.0, amphion/MaskGCT,
funasr/campplus and the BigVGAN named in config.yaml), as a run of the
IndexTTS web UI leaves them. The model loads with HF_HUB_OFFLINE=1 and that
cache, so a missing file is an error, never a download.

Duration: upstream IndexTTS2 exposes no length control, so the spec claims
none; when the installed class accepts ``speech_length`` (the target length
in ms, as in the duration-control pull request) ``target_seconds`` is passed
to it and the result is trimmed or padded to the exact sample count.

Licence: code Apache-2.0; weights under the bilibili IndexTTS model licence
(commercial use needs a licence from bilibili; see the model card).

Importing this module and checking availability import neither torch nor
indextts (file and ``find_spec`` checks only).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import contextlib
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from revoice.engine.voices._shared import (
    BackendBase,
    Checkout,
    WeightsFolder,
    cloning_spec,
    fit_length,
    offline_hub,
    reference_clip,
    reference_wav,
    torch_device,
    words_to_say,
)
from revoice.engine.emotion.labels import LABELS
from revoice.engine.voices.base import AudioArray, BackendOptions, Synthesis, SynthesisRequest, assemble_synthesis

_LOGGER = logging.getLogger(__name__)

NAME = "indextts2"
TITLE = "IndexTTS2"
SAMPLE_RATE = 22050
ENV_WEIGHTS = "REVOICE_INDEXTTS2_WEIGHTS"
LICENCE = ("code Apache-2.0 (IndexTTS); weights: bilibili IndexTTS model licence "
           "(commercial use needs a licence from bilibili; see the model card)")

EMOTIONS = ("happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm")
"""IndexTTS2's emotion vector order."""
VECTOR_PART = re.compile(r"[a-z]+\s*:\s*[-+]?[0-9]*\.?[0-9]+")
"""One ``name:weight`` of an emotion vector written out (``happy:0.6``)."""
MAX_EMOTION_SUM = 0.8
"""The largest sum of an emotion vector IndexTTS2 accepts (its web UI scales larger mixes down to it)."""
EMOTION_BIAS = (0.9375, 0.875, 1.0, 1.0, 0.9375, 0.9375, 0.6875, 0.5625)
"""Per-emotion factors IndexTTS2's own web UI applies to its sliders (``normalize_emo_vec``), in
:data:`EMOTIONS` order: surprised and calm are de-emphasised because at full weight they "can cause
strange results". Applied to Revoice's labels, not to a vector the caller spells out."""
LABEL_EMOTIONS = {"happy": "happy", "sad": "sad", "angry": "angry", "afraid": "afraid", "surprised": "surprised",
                  "disgusted": "disgusted", "calm": "calm", "whisper": "calm"}
"""Revoice's labels on IndexTTS2's emotions (``melancholic`` has no label of its own; neutral is none)."""
WHISPER_WEIGHT = 0.3
"""Whisper has no IndexTTS2 emotion: it becomes a quiet ``calm`` at this weight (times the intensity).
IndexTTS2 does not whisper, so :func:`~revoice.engine.voices.emotion_args.native_emotion` leaves whisper
to Revoice's DSP; this mapping only serves a request that names whisper directly."""

INSTALL_HINT = ("install IndexTTS2 from its repository (git clone index-tts/index-tts; pip install -e <checkout>) "
                "with a torch/torchaudio pair built for each other")
CHECKOUT = Checkout(
    package="indextts", marker="infer_v2.py", title=TITLE,
    required=("torch", "torchaudio", "transformers", "omegaconf", "modelscope", "librosa", "safetensors",
              "sentencepiece", "huggingface_hub"),
    install=INSTALL_HINT, absent="package 'indextts' is not installed",
    foreign="package 'indextts' has no infer_v2 (IndexTTS2)",
)

CONFIG_FILE = "config.yaml"
DEFAULT_FILES = {"gpt_checkpoint": "gpt.pth", "s2mel_checkpoint": "s2mel.pth", "w2v_stat": "wav2vec2bert_stats.pt",
                 "spk_matrix": "feat1.pt", "emo_matrix": "feat2.pt", "qwen_emo_path": "qwen0.6bemo4-merge",
                 "bpe_model": "bpe.model"}
"""config.yaml keys naming files in the checkpoints folder, with the released names."""
HF_CACHE_DIR = "hf_cache"
HUB_MODELS = ("facebook/w2v-bert-2.0", "amphion/MaskGCT", "funasr/campplus")
DEFAULT_VOCODER = "nvidia/bigvgan_v2_22khz_80band_256x"


def package_missing() -> str | None:
    """Why the indextts package cannot be used here (cheap checks), or None."""
    return CHECKOUT.problem()


def _hub_cache_name(repo_id: str) -> str:
    return "models--" + repo_id.replace("/", "--")


def _read_config(path: Path) -> dict[str, Any]:
    data = importlib.import_module("yaml").safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def missing_weight_files(folder: Path) -> list[str]:
    """Names (relative to ``folder``) the IndexTTS2 checkpoints folder lacks; [] when complete."""
    if not (folder / CONFIG_FILE).is_file():
        return [CONFIG_FILE]
    try:
        config = _read_config(folder / CONFIG_FILE)
    except Exception as exc:
        return [f"{CONFIG_FILE} (unreadable: {type(exc).__name__})"]
    names = dict(DEFAULT_FILES)
    for key in names:
        value = (config.get("dataset") or {}).get(key) if key == "bpe_model" else config.get(key)
        if isinstance(value, str) and value:
            names[key] = value
    missing = [name for name in names.values() if not (folder / name).exists()]
    vocoder = (config.get("vocoder") or {}).get("name") or DEFAULT_VOCODER
    for repo in (*HUB_MODELS, str(vocoder)):
        if not (folder / HF_CACHE_DIR / _hub_cache_name(repo)).is_dir():
            missing.append(f"{HF_CACHE_DIR}/{_hub_cache_name(repo)} (Hugging Face cache of {repo})")
    return missing


WEIGHTS = WeightsFolder(
    backend=NAME, title=TITLE, env_var=ENV_WEIGHTS, missing=missing_weight_files,
    contents=(f"the IndexTTS2 checkpoints folder (needs {CONFIG_FILE}, gpt.pth, s2mel.pth, bpe.model, ... "
              f"and {HF_CACHE_DIR}/)"),
)

SPEC = cloning_spec(
    name=NAME,
    display_name="IndexTTS2 (zero-shot, timbre + emotion control, user weights)",
    languages=("zh", "en"),
    sample_rate=SAMPLE_RATE,
    native_duration_control=False,
    needs_gpu=True,
    licence=LICENCE,
    description=(
        "Zero-shot voice cloning with independent emotion (an emotion name, a weighted emotion vector or "
        "free text); autoregressive GPT + flow matching + BigVGAN. Needs CUDA for usable speed. Weights from "
        "a local IndexTTS2 checkpoints folder, never downloaded."
    ),
    voice="the timbre of the request's reference clip; emotion from request.emotion or request.emotion_audio",
    package_problem=package_missing,
    weights=WEIGHTS,
    load=lambda options: IndexTTS2Backend(options),
    emotion_control=("reference", "vector", "text"),
    commercial_use=False,
    commercial_note="weights under the bilibili IndexTTS model licence: commercial use needs a licence from bilibili",
)


def emotion_arguments(emotion: str | None) -> dict[str, Any]:
    """IndexTTS2 ``infer`` keyword arguments for ``request.emotion``.

    None/"" keeps the reference's emotion; one of :data:`EMOTIONS` gives that
    emotion at 0.8 (the model's maximum sum); ``"happy:0.6,sad:0.2"`` an
    emotion vector; anything else is free emotion text for the Qwen classifier.
    """
    text = (emotion or "").strip()
    if not text:
        return {}
    lowered = text.lower()
    if lowered in EMOTIONS:
        return {"emo_vector": [MAX_EMOTION_SUM if name == lowered else 0.0 for name in EMOTIONS]}
    parts = [p.strip() for p in lowered.split(",") if p.strip()]
    if parts and all(VECTOR_PART.fullmatch(p) for p in parts):
        weights: dict[str, float] = {}
        for part in parts:
            name, _, value = part.partition(":")
            name = name.strip()
            if name not in EMOTIONS:
                raise ValueError(f"unknown emotion {name!r} in {emotion!r}; emotions: {', '.join(EMOTIONS)}")
            weight = float(value)
            if not (0.0 <= weight <= 1.2 and math.isfinite(weight)):
                raise ValueError(f"emotion weight {weight} for {name!r} is outside 0..1.2")
            weights[name] = weight
        return {"emo_vector": [weights.get(name, 0.0) for name in EMOTIONS]}
    return {"use_emo_text": True, "emo_text": text}


def label_vector(label: str, intensity: float) -> list[float]:
    """IndexTTS2's emotion vector for one of Revoice's labels at ``intensity`` (0-1).

    The label's emotion (:data:`LABEL_EMOTIONS`) gets ``0.8 * intensity`` times its
    :data:`EMOTION_BIAS` (whisper: ``calm`` at :data:`WHISPER_WEIGHT` * intensity);
    neutral, or intensity 0, is all zeros. Weights are rounded to 4 decimals.
    """
    if label not in LABELS:
        raise ValueError(f"unknown emotion label {label!r}; labels: {', '.join(LABELS)}")
    k = min(max(float(intensity), 0.0), 1.0)
    vector = [0.0] * len(EMOTIONS)
    if label in LABEL_EMOTIONS and k > 0.0:
        index = EMOTIONS.index(LABEL_EMOTIONS[label])
        weight = WHISPER_WEIGHT * k if label == "whisper" else MAX_EMOTION_SUM * k * EMOTION_BIAS[index]
        vector[index] = round(weight, 4)
    return vector


def request_emotion_arguments(request: SynthesisRequest, *, emotion_audio_path: str | None = None) -> dict[str, Any]:
    """IndexTTS2 ``infer`` keyword arguments for a request's emotion fields.

    * ``emotion_audio`` (written to ``emotion_audio_path``): ``emo_audio_prompt`` = the
      path, ``emo_alpha`` = ``emotion_strength``; a request may not also carry ``emotion``
      (IndexTTS2 drops the recording when given a vector or text);
    * ``emotion`` None or blank, or ``neutral``: nothing (the timbre reference's own reading);
    * one of Revoice's labels: ``emo_vector`` = :func:`label_vector` at ``emotion_strength``
      (all zeros gives nothing);
    * a ``name:weight`` list: that vector (:func:`emotion_arguments`), each weight times
      ``emotion_strength``;
    * anything else, a description: ``use_emo_text`` with the words as ``emo_text`` and
      ``emo_alpha`` = ``emotion_strength`` (IndexTTS2 scales the vector its classifier reads).
    """
    strength = min(max(float(request.emotion_strength), 0.0), 1.0)
    text = (request.emotion or "").strip()
    if request.emotion_audio is not None:
        if text:
            raise ValueError("IndexTTS2 takes either an emotion recording (emotion_audio) or emotion "
                             f"{text!r}, not both")
        if emotion_audio_path is None:
            raise ValueError("IndexTTS2 reads its emotion recording from a file: no path given")
        return {"emo_audio_prompt": emotion_audio_path, "emo_alpha": strength}
    lowered = text.lower()
    if lowered in LABELS:
        vector = label_vector(lowered, strength)
        return {"emo_vector": vector} if any(vector) else {}
    arguments = emotion_arguments(text)
    if "emo_vector" in arguments:
        arguments["emo_vector"] = [round(weight * strength, 4) for weight in arguments["emo_vector"]]
    elif arguments:
        arguments["emo_alpha"] = strength
    return arguments


def emotion_wav(request: SynthesisRequest, stack: contextlib.ExitStack) -> str | None:
    """The request's emotion recording as a temporary float WAV at its rate (removed when ``stack`` closes)."""
    if request.emotion_audio is None:
        return None
    if not request.emotion_sample_rate:
        raise ValueError("IndexTTS2: the request's emotion_audio needs emotion_sample_rate")
    audio = np.asarray(request.emotion_audio, dtype=np.float32)
    if audio.ndim != 1 or audio.size == 0:
        raise ValueError(f"IndexTTS2: emotion_audio must be non-empty mono samples, got shape {audio.shape}")
    path = stack.enter_context(reference_wav(audio, int(request.emotion_sample_rate),
                                             prefix="revoice_indextts2_emotion_"))
    return str(path)


class IndexTTS2Backend(BackendBase):
    """A loaded IndexTTS2; ``synthesize`` writes the reference to a temporary WAV (the class reads files)."""

    published = SPEC

    def __init__(self, options: BackendOptions) -> None:
        folder = WEIGHTS.require(options)
        device = torch_device(options.device, backend=NAME)
        cache = folder / HF_CACHE_DIR
        with offline_hub(cache):
            # huggingface_hub reads HF_HUB_CACHE when first imported; infer_v2 overwrites the variable on import
            hub_constants = importlib.import_module("huggingface_hub.constants")
            if Path(hub_constants.HF_HUB_CACHE) != cache:
                _LOGGER.warning("indextts2: huggingface_hub was imported earlier with cache %s; models are looked "
                                "up there, offline", hub_constants.HF_HUB_CACHE)
            infer_v2 = importlib.import_module("indextts.infer_v2")
            os.environ["HF_HUB_CACHE"] = str(cache)
            model = infer_v2.IndexTTS2(cfg_path=str(folder / CONFIG_FILE), model_dir=str(folder),
                                       use_fp16=device.startswith("cuda"), device=device, use_cuda_kernel=False)
        self._adopt(model, device=device, cache=cache)

    @classmethod
    def from_model(cls, model: Any, *, device: str = "cpu", cache: Path | None = None) -> IndexTTS2Backend:
        """A backend around an already-built ``IndexTTS2`` object (or a stand-in with its ``infer``);
        ``cache`` is the Hugging Face cache it looks models up in, offline."""
        backend = cls.__new__(cls)
        backend._adopt(model, device=device, cache=cache)
        return backend

    def _adopt(self, model: Any, *, device: str, cache: Path | None) -> None:
        self.model: Any = model
        self.device = device
        self._cache = cache
        self._infer_parameters = set(inspect.signature(model.infer).parameters)

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        """Speak ``request.text`` with the reference's timbre and ``request.emotion``.

        With ``target_seconds`` the output has exactly that many samples
        (the model's own length control when it has one, then trim/pad).
        """
        reference, reference_rate = reference_clip(request, title=TITLE)
        text = words_to_say(request)
        with contextlib.ExitStack() as stack:
            kwargs = request_emotion_arguments(request, emotion_audio_path=emotion_wav(request, stack))
            result = self._infer(request, reference, reference_rate, text, kwargs)
        if result is None:
            raise RuntimeError("IndexTTS2 produced no audio")
        rate, pcm = result
        audio = (np.asarray(pcm, dtype=np.float32).reshape(-1) / 32767.0).astype(np.float32)
        if int(rate) != SAMPLE_RATE:
            from revoice.engine.dsp.resample import resample

            audio = resample(audio, int(rate), SAMPLE_RATE)
        if request.target_seconds is not None:
            audio = fit_length(audio, int(round(request.target_seconds * SAMPLE_RATE)))
        return assemble_synthesis([audio], [(text, len(audio))], SAMPLE_RATE)

    def _infer(self, request: SynthesisRequest, reference: AudioArray, reference_rate: int, text: str,
               kwargs: dict[str, Any]) -> Any:
        """The model's ``infer`` result, ``(rate, int16 samples)``, with the reference written to a WAV."""
        kwargs = dict(kwargs)
        if request.target_seconds is not None:
            if "speech_length" in self._infer_parameters:
                kwargs["speech_length"] = int(round(request.target_seconds * 1000))
        elif request.duration_scale != 1.0 and "speed" in self._infer_parameters:
            kwargs["speed"] = 1.0 / request.duration_scale
        with reference_wav(reference, reference_rate, prefix="revoice_indextts2_") as path, offline_hub(self._cache):
            return self.model.infer(spk_audio_prompt=str(path), text=text, output_path=None, verbose=False,
                                    **kwargs)
