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
import importlib.util
import inspect
import logging
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine.voices.base import (
    BackendOptions,
    BackendSpec,
    Synthesis,
    SynthesisRequest,
    VoiceBackend,
    VoiceInfo,
    assemble_synthesis,
    temporary_environment,
)

_LOGGER = logging.getLogger(__name__)

NAME = "cosyvoice"
SAMPLE_RATE = 24000
"""CosyVoice2/3 output rate (the model's ``sample_rate`` is used when it differs)."""
ENV_WEIGHTS = "REVOICE_COSYVOICE_WEIGHTS"
VOICE_ID = "reference"
LICENCE = "code Apache-2.0 (CosyVoice); weights Apache-2.0 (CosyVoice2-0.5B / Fun-CosyVoice3-0.5B model cards)"
LANGUAGES = ("zh", "en", "ja", "ko", "yue", "de", "es", "fr", "it", "ru")
"""CosyVoice2 speaks zh/en/ja/ko/yue; CosyVoice3 adds de/es/fr/it/ru."""

REQUIRED_MODULES = ("torch", "torchaudio", "matcha", "hyperpyyaml", "transformers", "onnxruntime", "whisper",
                    "modelscope")
INSTALL_HINT = ("clone FunAudioLLM/CosyVoice, install its requirements (torch with a matching torchaudio), "
                "and put the checkout and its third_party/Matcha-TTS on PYTHONPATH")
CONFIGS = {"cosyvoice3.yaml": "CosyVoice3", "cosyvoice2.yaml": "CosyVoice2"}
COMMON_FILES = ("llm.pt", "flow.pt", "hift.pt", "campplus.onnx")
TOKENIZERS = {"CosyVoice3": "speech_tokenizer_v3.onnx", "CosyVoice2": "speech_tokenizer_v2.onnx"}
QWEN_DIR = "CosyVoice-BlankEN"
V3_PROMPT_PREFIX = "You are a helpful assistant.<|endofprompt|>"
"""CosyVoice3 expects its prompt transcript after this system prompt."""


def _voices() -> Sequence[VoiceInfo]:
    return (VoiceInfo(VOICE_ID, LANGUAGES, "zero-shot: the voice of the request's reference clip "
                      "(reference_audio + reference_text)", "", LICENCE),)


def weights_folder(options: BackendOptions) -> Path | None:
    """``options.weights_dir``, else ``$REVOICE_COSYVOICE_WEIGHTS``, else None."""
    return options.weights_folder(ENV_WEIGHTS)


def package_missing() -> str | None:
    """Why the official cosyvoice package cannot be used here (cheap checks), or None.

    The PyPI name ``cosyvoice`` is an unrelated wrapper without
    ``cosyvoice/cli/cosyvoice.py``; it is refused like a missing package.
    """
    spec = importlib.util.find_spec("cosyvoice")
    if spec is None or not spec.submodule_search_locations:
        return f"package 'cosyvoice' is not importable: {INSTALL_HINT}"
    if not any((Path(p) / "cli" / "cosyvoice.py").is_file() for p in spec.submodule_search_locations):
        return f"the installed 'cosyvoice' is not FunAudioLLM's (no cosyvoice/cli/cosyvoice.py): {INSTALL_HINT}"
    missing = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        return f"CosyVoice needs Python package(s) {', '.join(missing)}: {INSTALL_HINT}"
    return None


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


def _availability(options: BackendOptions) -> str | None:
    """None when CosyVoice can load here, else why not (no heavy imports)."""
    reasons: list[str] = []
    package = package_missing()
    if package:
        reasons.append(package)
    folder = weights_folder(options)
    if folder is None:
        reasons.append(
            f"no weights folder: set {ENV_WEIGHTS} or pass --weights {NAME}=DIR, a CosyVoice2-0.5B or "
            "Fun-CosyVoice3-0.5B folder (cosyvoice2.yaml/cosyvoice3.yaml, llm.pt, flow.pt, hift.pt, campplus.onnx, "
            f"speech_tokenizer_v2/v3.onnx, {QWEN_DIR}/); weights are never downloaded"
        )
    elif not folder.is_dir():
        reasons.append(f"CosyVoice weights folder {folder} does not exist")
    else:
        missing = missing_weight_files(folder)
        if missing:
            reasons.append(f"CosyVoice weights folder {folder} is incomplete: missing {', '.join(missing)}")
    return "; ".join(reasons) or None


def _factory(options: BackendOptions) -> VoiceBackend:
    return CosyVoiceBackend(options)


SPEC = BackendSpec(
    name=NAME,
    clones_from_reference=True,
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
    availability=_availability,
    factory=_factory,
    voice_list=_voices,
)


def prompt_text(reference_text: str, version: str) -> str:
    """The transcript as the model wants it (CosyVoice3: after its system prompt)."""
    text = reference_text.strip()
    if version == "CosyVoice3" and "<|endofprompt|>" not in text:
        return V3_PROMPT_PREFIX + text
    return text


class CosyVoiceBackend:
    """A loaded CosyVoice2/3 model."""

    def __init__(self, options: BackendOptions) -> None:
        folder = weights_folder(options)
        if folder is None:
            raise FileNotFoundError(f"no CosyVoice weights folder: set {ENV_WEIGHTS} or BackendOptions.weights_dir")
        missing = missing_weight_files(folder)
        if missing:
            raise FileNotFoundError(f"CosyVoice weights folder {folder} is incomplete: missing {', '.join(missing)}")
        import torch

        version = model_version(folder) or "CosyVoice2"
        cuda = torch.cuda.is_available()
        if options.device == "cpu" and cuda:
            _LOGGER.warning("cosyvoice: device 'cpu' asked, but CosyVoice uses CUDA whenever torch sees it")
        if options.threads is not None:
            torch.set_num_threads(int(options.threads))
        with temporary_environment({"HF_HUB_OFFLINE": "1"}):
            module = importlib.import_module("cosyvoice.cli.cosyvoice")
            self.model: Any = getattr(module, version)(str(folder.resolve()), fp16=cuda and options.device != "cpu")
        self.version = version
        self.sample_rate = int(getattr(self.model, "sample_rate", SAMPLE_RATE))
        parameters = list(inspect.signature(self.model.inference_zero_shot).parameters)
        self._prompt_is_path = "prompt_wav" in parameters

    @property
    def spec(self) -> BackendSpec:
        return SPEC

    def voices(self) -> Sequence[VoiceInfo]:
        return _voices()

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        """Speak ``request.text`` in the reference's voice; ``speed = 1 / duration_scale``."""
        import soundfile as sf
        import torch

        from engine.dsp.resample import resample
        from engine.voices.piper_voice import spoken_text

        if request.reference_audio is None or request.reference_sample_rate is None:
            raise ValueError("CosyVoice clones a voice: the request needs reference_audio and reference_sample_rate")
        if not (request.reference_text or "").strip():
            raise ValueError("CosyVoice needs the reference clip's transcript: set SynthesisRequest.reference_text")
        scale = request.duration_scale
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"duration_scale must be a positive number, got {scale}")
        text = spoken_text(request.text).strip()
        if not text:
            raise ValueError(f"nothing to say: no speakable words in {request.text!r}")
        prompt_16k = resample(np.asarray(request.reference_audio, dtype=np.float32),
                              int(request.reference_sample_rate), 16000)
        transcript = prompt_text(request.reference_text or "", self.version)
        with tempfile.TemporaryDirectory(prefix="revoice_cosyvoice_") as tmp:
            prompt: Any
            if self._prompt_is_path:
                prompt = str(Path(tmp) / "reference.wav")
                sf.write(prompt, prompt_16k, 16000, subtype="FLOAT")
            else:
                prompt = torch.from_numpy(prompt_16k).unsqueeze(0)
            pieces = [
                np.asarray(out["tts_speech"].float().cpu().numpy(), dtype=np.float32).reshape(-1)
                for out in self.model.inference_zero_shot(text, transcript, prompt, stream=False, speed=1.0 / scale)
            ]
        if not pieces:
            raise RuntimeError("CosyVoice produced no audio")
        audio = np.concatenate(pieces)
        return assemble_synthesis([audio], [(text, len(audio))], self.sample_rate)
