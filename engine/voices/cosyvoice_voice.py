"""CosyVoice2 / CosyVoice3 backend: zero-shot cloning from a reference clip and its transcript.

Runs ``CosyVoice2`` / ``CosyVoice3`` from the CosyVoice repository
(``cosyvoice.cli.cosyvoice``; the official code is not on PyPI: the user puts
a checkout and its ``third_party/Matcha-TTS`` on the Python path and installs
its requirements). ``inference_zero_shot`` gets ``request.text``, the
reference transcript (``request.reference_text``) and the reference clip;
``speed = 1 / duration_scale`` is its rate control. CosyVoice has no
length-exact mode, so ``target_seconds`` is not honoured natively: the spec
says so and the fitter stretches.

Weights are never downloaded: ``--weights cosyvoice=DIR`` /
``BackendOptions.weights_dir`` or ``REVOICE_COSYVOICE_WEIGHTS`` names the
model folder (CosyVoice2-0.5B or Fun-CosyVoice3-0.5B): ``cosyvoice2.yaml`` or
``cosyvoice3.yaml``, ``llm.pt``, ``flow.pt``, ``hift.pt``, ``campplus.onnx``,
``speech_tokenizer_v2.onnx`` / ``speech_tokenizer_v3.onnx`` and the
``CosyVoice-BlankEN`` Qwen folder. The class only downloads when the folder
does not exist, and this module never passes it one that does not.

CosyVoice picks CUDA itself when torch sees one (it takes no device
argument); on CPU it runs, slowly (a few seconds per second of speech).

Importing this module and checking availability import neither torch nor
cosyvoice (file and ``find_spec`` checks only).
"""

from __future__ import annotations

import importlib
import inspect
import logging
from pathlib import Path
from typing import Any

import numpy as np
from revoice.engine.voices._shared import (
    BackendBase,
    Checkout,
    WeightsFolder,
    cloning_spec,
    offline_hub,
    positive,
    reference_clip,
    reference_transcript,
    reference_wav,
    torch_threads,
    words_to_say,
)
from revoice.engine.voices.base import AudioArray, BackendOptions, Synthesis, SynthesisRequest, assemble_synthesis

_LOGGER = logging.getLogger(__name__)

NAME = "cosyvoice"
TITLE = "CosyVoice"
SAMPLE_RATE = 24000
"""CosyVoice2/3 output rate (the model's ``sample_rate`` is used when it differs)."""
ENV_WEIGHTS = "REVOICE_COSYVOICE_WEIGHTS"
LICENCE = "code Apache-2.0 (CosyVoice); weights Apache-2.0 (CosyVoice2-0.5B / Fun-CosyVoice3-0.5B model cards)"
LANGUAGES = ("zh", "en", "ja", "ko", "yue", "de", "es", "fr", "it", "ru")
"""CosyVoice2 speaks zh/en/ja/ko/yue; CosyVoice3 adds de/es/fr/it/ru."""

INSTALL_HINT = ("clone FunAudioLLM/CosyVoice, install its requirements (torch with a matching torchaudio), "
                "and put the checkout and its third_party/Matcha-TTS on PYTHONPATH")
CHECKOUT = Checkout(
    package="cosyvoice", marker="cli/cosyvoice.py", title=TITLE,
    required=("torch", "torchaudio", "matcha", "hyperpyyaml", "transformers", "onnxruntime", "whisper", "modelscope"),
    install=INSTALL_HINT, absent="package 'cosyvoice' is not importable",
    foreign="the installed 'cosyvoice' is not FunAudioLLM's (no cosyvoice/cli/cosyvoice.py)",
)
"""The official package; the PyPI name ``cosyvoice`` is an unrelated wrapper without ``cosyvoice/cli/cosyvoice.py``."""
CONFIGS = {"cosyvoice3.yaml": "CosyVoice3", "cosyvoice2.yaml": "CosyVoice2"}
COMMON_FILES = ("llm.pt", "flow.pt", "hift.pt", "campplus.onnx")
TOKENIZERS = {"CosyVoice3": "speech_tokenizer_v3.onnx", "CosyVoice2": "speech_tokenizer_v2.onnx"}
QWEN_DIR = "CosyVoice-BlankEN"
V3_PROMPT_PREFIX = "You are a helpful assistant.<|endofprompt|>"
"""CosyVoice3 expects its prompt transcript after this system prompt."""
PROMPT_RATE = 16000
"""Sample rate (Hz) CosyVoice reads its prompt clip at."""


def package_missing() -> str | None:
    """Why the official cosyvoice package cannot be used here (cheap checks), or None."""
    return CHECKOUT.problem()


def model_version(folder: Path) -> str | None:
    """"CosyVoice3" or "CosyVoice2" from the config file in ``folder``, or None."""
    for config, version in CONFIGS.items():
        if (folder / config).is_file():
            return version
    return None


def missing_weight_files(folder: Path) -> list[str]:
    """Names the CosyVoice model folder lacks; [] when complete."""
    version = model_version(folder)
    if version is None:
        return [" or ".join(CONFIGS)]
    needed = (*COMMON_FILES, TOKENIZERS[version], QWEN_DIR)
    return [name for name in needed if not (folder / name).exists()]


WEIGHTS = WeightsFolder(
    backend=NAME, title=TITLE, env_var=ENV_WEIGHTS, missing=missing_weight_files,
    contents=("a CosyVoice2-0.5B or Fun-CosyVoice3-0.5B folder (cosyvoice2.yaml/cosyvoice3.yaml, llm.pt, flow.pt, "
              f"hift.pt, campplus.onnx, speech_tokenizer_v2/v3.onnx, {QWEN_DIR}/)"),
)

SPEC = cloning_spec(
    name=NAME,
    display_name="CosyVoice2/3 (zero-shot voice cloning, user weights)",
    languages=LANGUAGES,
    sample_rate=SAMPLE_RATE,
    native_duration_control=False,
    needs_gpu=False,
    licence=LICENCE,
    description=(
        "Zero-shot voice cloning from a reference clip and its transcript (LLM speech tokens + flow matching + "
        "HiFT); rate via duration_scale (speed). CUDA when present, slow on CPU. Weights from a local folder, "
        "never downloaded."
    ),
    voice="the voice of the request's reference clip (reference_audio + reference_text)",
    package_problem=package_missing,
    weights=WEIGHTS,
    load=lambda options: CosyVoiceBackend(options),
)


def prompt_text(reference_text: str, version: str) -> str:
    """The transcript as the model wants it (CosyVoice3: after its system prompt)."""
    text = reference_text.strip()
    if version == "CosyVoice3" and "<|endofprompt|>" not in text:
        return V3_PROMPT_PREFIX + text
    return text


class CosyVoiceBackend(BackendBase):
    """A loaded CosyVoice2/3 model."""

    published = SPEC

    def __init__(self, options: BackendOptions) -> None:
        folder = WEIGHTS.require(options)
        import torch

        version = model_version(folder) or "CosyVoice2"
        cuda = torch.cuda.is_available()
        if options.device == "cpu" and cuda:
            _LOGGER.warning("cosyvoice: device 'cpu' asked, but CosyVoice uses CUDA whenever torch sees it")
        torch_threads(options)
        with offline_hub():
            module = importlib.import_module("cosyvoice.cli.cosyvoice")
            self.model: Any = getattr(module, version)(str(folder.resolve()), fp16=cuda and options.device != "cpu")
        self.version = version
        self.sample_rate = int(getattr(self.model, "sample_rate", SAMPLE_RATE))
        parameters = list(inspect.signature(self.model.inference_zero_shot).parameters)
        self._prompt_is_path = "prompt_wav" in parameters

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        """Speak ``request.text`` in the reference's voice; ``speed = 1 / duration_scale``."""
        import torch
        from revoice.engine.dsp.resample import resample

        reference, reference_rate = reference_clip(request, title=TITLE)
        transcript = prompt_text(reference_transcript(request, title=TITLE), self.version)
        speed = 1.0 / positive(request.duration_scale, "duration_scale")
        text = words_to_say(request)
        prompt_16k = resample(np.asarray(reference, dtype=np.float32), reference_rate, PROMPT_RATE)
        if self._prompt_is_path:
            with reference_wav(prompt_16k, PROMPT_RATE, prefix="revoice_cosyvoice_") as path:
                pieces = self._speak(text, transcript, str(path), speed)
        else:
            pieces = self._speak(text, transcript, torch.from_numpy(prompt_16k).unsqueeze(0), speed)
        if not pieces:
            raise RuntimeError("CosyVoice produced no audio")
        audio = np.concatenate(pieces)
        return assemble_synthesis([audio], [(text, len(audio))], self.sample_rate)

    def _speak(self, text: str, transcript: str, prompt: Any, speed: float) -> list[AudioArray]:
        """The model's output pieces for ``text`` with ``prompt`` (a WAV path or a 16 kHz tensor)."""
        return [
            np.asarray(out["tts_speech"].float().cpu().numpy(), dtype=np.float32).reshape(-1)
            for out in self.model.inference_zero_shot(text, transcript, prompt, stream=False, speed=speed)
        ]
