"""CosyVoice2 / CosyVoice3 backend: zero-shot cloning from a reference clip and its transcript.

Runs ``CosyVoice2`` / ``CosyVoice3`` from the CosyVoice repository
(``cosyvoice.cli.cosyvoice``; the official code is not on PyPI: the user puts
a checkout and its ``third_party/Matcha-TTS`` on the Python path and installs
its requirements). ``inference_zero_shot`` gets ``request.text``, the
reference transcript (``request.reference_text``) and the reference clip;
``speed = 1 / duration_scale`` is its rate control. CosyVoice has no
length-exact mode, so ``target_seconds`` is not honoured natively: the spec
says so and the fitter stretches.

Emotion: ``request.emotion`` (one of Revoice's labels, ``LABEL:INTENSITY``, or a
description) switches to instruct mode, ``inference_instruct2(text, instruction,
prompt)``: the reference clip still gives the voice (its transcript is not needed)
and an instruction says how to speak (:func:`emotion_instruction` documents the
mapping, in English and Chinese). CosyVoice takes no emotion recording, so the
spec declares ``emotion_control = ("text",)`` and the original take's performance
is left to Revoice's DSP.

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
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from revoice.engine.emotion.labels import LABELS
from revoice.engine.language import base_language
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
END_OF_PROMPT = "<|endofprompt|>"
"""Ends every CosyVoice2/3 instruction."""
V3_INSTRUCT_PREFIX = "You are a helpful assistant. "
"""CosyVoice3's instructions start with its system prompt (``cosyvoice/utils/common.py`` ``instruct_list``)."""
TONES = {"happy": ("happy", "开心"), "sad": ("sad", "伤心"), "angry": ("angry", "愤怒"), "afraid": ("fearful", "害怕"),
         "surprised": ("surprised", "惊讶"), "disgusted": ("disgusted", "厌恶"), "calm": ("calm", "平静")}
"""Each label's tone word (English, Chinese) in its instruction; whisper has :data:`WHISPER_INSTRUCTION`."""
WHISPER_INSTRUCTION = ("Speak in a whisper.", "用耳语的方式说")
DEGREES = ((0.75, "very ", "非常"), (0.4, "", ""), (0.0, "slightly ", "略带"))
"""(lowest intensity, English word, Chinese word): the degree word an intensity 0-1 puts before the tone."""
CHINESE_LANGUAGES = ("zh", "yue")
"""Lines in these languages get Chinese instructions; every other language English ones."""
HAN = re.compile(r"[\u3400-\u9fff]")


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
    emotion_control=("text",),
    commercial_use=True,
    commercial_note="weights Apache-2.0 per the model cards; the maintainers confirm commercial use",
)


def prompt_text(reference_text: str, version: str) -> str:
    """The transcript as the model wants it (CosyVoice3: after its system prompt)."""
    text = reference_text.strip()
    if version == "CosyVoice3" and "<|endofprompt|>" not in text:
        return V3_PROMPT_PREFIX + text
    return text


def emotion_instruction(emotion: str | None, *, strength: float = 1.0, language: str = "en") -> str | None:
    """The instruct-mode instruction for ``request.emotion``, or None (zero-shot, the reference's own reading).

    * None, blank, ``neutral``, or intensity 0: None;
    * a label, or ``LABEL:INTENSITY``, at intensity ``INTENSITY * strength``: ``Speak in a
      {degree}{tone} tone.`` / ``用{degree}{tone}的语气说`` (:data:`TONES`; degree ``very`` /
      ``非常`` from 0.75, ``slightly`` / ``略带`` below 0.4), e.g. "Speak in a very angry
      tone." / "用非常愤怒的语气说"; whisper: :data:`WHISPER_INSTRUCTION`. Chinese for
      lines in :data:`CHINESE_LANGUAGES`, English otherwise;
    * anything else is a description, passed in its own words: ``用这样的语气说：{words}``
      when it has Chinese characters, else ``Speak like this: {words}.`` (``strength`` is
      not applied: the words carry their degree).
    """
    text = " ".join((emotion or "").split())
    if not text:
        return None
    name, colon, amount = text.lower().partition(":")
    if name.strip() in LABELS and (not colon or re.fullmatch(r"\s*[0-9]*\.?[0-9]+\s*", amount)):
        label = name.strip()
        intensity = min(max((float(amount) if colon else 1.0) * float(strength), 0.0), 1.0)
        if label == "neutral" or intensity <= 0.0:
            return None
        chinese = base_language(language) in CHINESE_LANGUAGES
        if label == "whisper":
            return WHISPER_INSTRUCTION[1 if chinese else 0]
        english, han = TONES[label]
        degree = next(d for d in DEGREES if intensity >= d[0])
        return f"用{degree[2]}{han}的语气说" if chinese else f"Speak in a {degree[1]}{english} tone."
    if HAN.search(text):
        return f"用这样的语气说：{text}"
    return f"Speak like this: {text.rstrip('.')}."


def instruct_text(instruction: str, version: str) -> str:
    """``instruction`` as the model wants it: ends with ``<|endofprompt|>``; CosyVoice3's after its system prompt."""
    prefix = V3_INSTRUCT_PREFIX if version == "CosyVoice3" else ""
    return f"{prefix}{instruction}{END_OF_PROMPT}"


def _takes_prompt_path(method: Callable[..., Any]) -> bool:
    """Whether a CosyVoice inference method reads its prompt clip from a path (``prompt_wav``; older: a tensor)."""
    return "prompt_wav" in inspect.signature(method).parameters


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
            model = getattr(module, version)(str(folder.resolve()), fp16=cuda and options.device != "cpu")
        self._adopt(model, version)

    @classmethod
    def from_model(cls, model: Any, *, version: str) -> CosyVoiceBackend:
        """A backend around an already-built ``CosyVoice2`` / ``CosyVoice3`` object (or a stand-in with its methods)."""
        backend = cls.__new__(cls)
        backend._adopt(model, version)
        return backend

    def _adopt(self, model: Any, version: str) -> None:
        self.model: Any = model
        self.version = version
        self.sample_rate = int(getattr(model, "sample_rate", SAMPLE_RATE))

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        """Speak ``request.text`` in the reference's voice; ``speed = 1 / duration_scale``.

        With an emotion (:func:`emotion_instruction`) the model runs in instruct mode,
        otherwise zero-shot with the reference transcript.
        """
        from revoice.engine.dsp.resample import resample

        reference, reference_rate = reference_clip(request, title=TITLE)
        if request.emotion_audio is not None:
            raise ValueError("CosyVoice takes no emotion recording (its emotion_control has no 'reference'): "
                             "leave emotion_audio empty and apply the performance with Revoice's DSP")
        instruction = emotion_instruction(request.emotion, strength=request.emotion_strength,
                                          language=request.language)
        speed = 1.0 / positive(request.duration_scale, "duration_scale")
        text = words_to_say(request)
        if instruction is None:
            method = self.model.inference_zero_shot
            second = prompt_text(reference_transcript(request, title=TITLE), self.version)
        else:
            method = getattr(self.model, "inference_instruct2", None)
            if method is None:
                raise RuntimeError(f"this {self.version} has no inference_instruct2 (instruct mode): update the "
                                   "CosyVoice checkout, or render the emotion with Revoice's DSP")
            second = instruct_text(instruction, self.version)
        prompt_16k = resample(np.asarray(reference, dtype=np.float32), reference_rate, PROMPT_RATE)
        if _takes_prompt_path(method):
            with reference_wav(prompt_16k, PROMPT_RATE, prefix="revoice_cosyvoice_") as path:
                pieces = _pieces(method(text, second, str(path), stream=False, speed=speed))
        else:
            import torch

            pieces = _pieces(method(text, second, torch.from_numpy(prompt_16k).unsqueeze(0), stream=False,
                                    speed=speed))
        if not pieces:
            raise RuntimeError("CosyVoice produced no audio")
        audio = np.concatenate(pieces)
        return assemble_synthesis([audio], [(text, len(audio))], self.sample_rate)


def _pieces(outputs: Iterable[Any]) -> list[AudioArray]:
    """The audio of a CosyVoice inference generator's outputs (``{"tts_speech": tensor}``), as float32."""
    return [np.asarray(out["tts_speech"].float().cpu().numpy(), dtype=np.float32).reshape(-1) for out in outputs]
