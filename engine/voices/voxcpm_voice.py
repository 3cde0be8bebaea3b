"""VoxCPM2 backend: zero-shot voice cloning in 30 languages at 48 kHz, code and weights Apache-2.0.

VoxCPM2 (OpenBMB; MiniCPM-4 backbone, diffusion-autoregressive over AudioVAE V2
latents) speaks ``request.text`` in the voice of ``request.reference_audio``.
With the clip's transcript (``request.reference_text``, which a character's voice
profile supplies) it runs VoxCPM2's "ultimate cloning": the clip is both the
isolated reference and the prompt the new line continues, which keeps the most of
the speaker. Without a transcript, or when the line carries a style instruction,
the clip is the reference only ("controllable cloning"), so the instruction is not
overridden by the prompt's own delivery.

Emotion and style (``emotion_control = ("text",)``): VoxCPM2 reads a natural-language
instruction in parentheses before the text, e.g. ``(very angry tone)I said no.``.
A Revoice label becomes such a tone (:func:`style_instruction`); a description is
passed in its own words. Whisper is left to Revoice's DSP.

Length: VoxCPM2 decides it itself (it stops when its stop head says so; there is no
duration or speed input), so ``native_duration_control`` is False and Revoice's
fitter meets the slot; ``duration_scale`` and ``target_seconds`` are not used here.

Weights are never downloaded. ``--weights voxcpm=DIR`` / ``BackendOptions.weights_dir``
or ``REVOICE_VOXCPM_WEIGHTS`` names a folder laid out as ``openbmb/VoxCPM2`` is::

    config.json            the model config ("architecture": "voxcpm2")
    model.safetensors      the model (or pytorch_model.bin, read with weights_only)
    audiovae.safetensors   the AudioVAE V2 (or audiovae.pth, read with weights_only)
    tokenizer.json         the text tokenizer (+ tokenizer_config.json; or tokenizer.model)

Runs on CUDA when asked and present (bfloat16 where supported, as VoxCPM2 ships);
on CPU the real model (2B parameters) is far slower than real time.
The model code (imports without the hub stack, config, tokenizer, checkpoints) is in
:mod:`revoice.engine.voices.voxcpm_model`. Importing this module and checking
availability import neither torch nor voxcpm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from revoice.engine.emotion.labels import LABELS
from revoice.engine.voices._shared import (
    BackendBase,
    WeightsFolder,
    cloning_spec,
    missing_packages,
    positive,
    reference_clip,
    reference_wav,
    torch_device,
    torch_threads,
    words_to_say,
)
from revoice.engine.voices.base import (
    BackendOptions,
    Synthesis,
    SynthesisRequest,
    assemble_synthesis,
)
from revoice.engine.voices.voxcpm_model import INSTALL_HINT, ModelFiles, load_model

NAME = "voxcpm"
TITLE = "VoxCPM2"
SAMPLE_RATE = 48000
"""Output rate of VoxCPM2 (AudioVAE V2 decodes 16 kHz latents to 48 kHz); the loaded model's value is used."""

ENV_WEIGHTS = "REVOICE_VOXCPM_WEIGHTS"
CONFIG_FILE = "config.json"
MODEL_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
VAE_WEIGHTS = ("audiovae.safetensors", "audiovae.pth")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")

LICENCE = "Apache-2.0 (code and weights)"

LANGUAGES = ("ar", "da", "de", "el", "en", "es", "fi", "fr", "he", "hi", "id", "it", "ja", "km", "ko", "lo", "ms",
             "my", "nl", "no", "pl", "pt", "ru", "sv", "sw", "th", "tl", "tr", "vi", "zh")
"""The 30 languages of the VoxCPM2 model card (Chinese includes its nine dialects)."""

REQUIRED_MODULES = ("torch", "voxcpm", "transformers", "pydantic", "einops", "safetensors", "librosa", "tqdm")
"""Import names; the pip names are in INSTALL_HINT."""

DEFAULT_STEPS = 10
"""Flow-matching steps per latent patch (VoxCPM2's ``inference_timesteps`` default)."""
DEFAULT_CFG = 2.0
"""Classifier-free guidance weight (VoxCPM2's ``cfg_value`` default)."""
DEFAULT_MAX_PATCHES = 2000
"""Upper bound on generated latent patches (0.16 s each); VoxCPM2 also caps at 6 per text token + 10."""

TONES = {"happy": ("happy", "开心"), "sad": ("sad", "伤心"), "angry": ("angry", "愤怒"), "afraid": ("fearful", "害怕"),
         "surprised": ("surprised", "惊讶"), "disgusted": ("disgusted", "厌恶"), "calm": ("calm", "平静")}
"""Each label's tone word (English, Chinese) in the instruction; whisper and neutral have none."""
DEGREES = ((0.75, "very ", "非常"), (0.4, "", ""), (0.0, "slightly ", "略带"))
"""(lowest intensity 0-1, English word, Chinese word) before the tone."""
_HAN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
"""Chinese characters and full-width punctuation: no space next to them."""


# ---------------------------------------------------------------------------- weights folder


def _first(folder: Path, names: tuple[str, ...]) -> Path | None:
    return next((folder / name for name in names if (folder / name).is_file()), None)


def missing_weight_files(folder: Path) -> list[str]:
    """Names (relative to ``folder``) the VoxCPM2 weights folder lacks; [] when complete."""
    missing = [] if (folder / CONFIG_FILE).is_file() else [CONFIG_FILE]
    for names in (MODEL_WEIGHTS, VAE_WEIGHTS, TOKENIZER_FILES):
        if _first(folder, names) is None:
            missing.append(f"{names[0]} (or {names[1]})")
    return missing


WEIGHTS = WeightsFolder(
    backend=NAME, title=TITLE, env_var=ENV_WEIGHTS, missing=missing_weight_files,
    contents=(f"a folder holding {CONFIG_FILE}, {MODEL_WEIGHTS[0]}, {VAE_WEIGHTS[0]} and {TOKENIZER_FILES[0]} "
              "(as openbmb/VoxCPM2 ships them)"),
)


def weights_folder(options: BackendOptions) -> Path | None:
    """``options.weights_dir``, else ``$REVOICE_VOXCPM_WEIGHTS``, else None."""
    return WEIGHTS.find(options)


def model_files(folder: Path) -> ModelFiles:
    """The files of a weights folder that :data:`WEIGHTS` found nothing wrong with."""
    model, vae = _first(folder, MODEL_WEIGHTS), _first(folder, VAE_WEIGHTS)
    assert model is not None and vae is not None, "checked by WEIGHTS.require"
    return ModelFiles(folder=folder, config=folder / CONFIG_FILE, model=model, audio_vae=vae)


SPEC = cloning_spec(
    name=NAME,
    display_name="VoxCPM2 (zero-shot voice cloning, 30 languages, user weights)",
    languages=LANGUAGES,
    sample_rate=SAMPLE_RATE,
    native_duration_control=False,
    needs_gpu=False,
    licence=LICENCE,
    description=(
        "Zero-shot voice cloning from a reference clip and its transcript (diffusion-autoregressive over "
        "AudioVAE V2 latents, 48 kHz); style and emotion from a text instruction. The length is the model's own: "
        "Revoice's fitter meets the slot. CUDA when present; on CPU far slower than real time. "
        "Weights from a local folder, never downloaded."
    ),
    voice="the voice of the request's reference clip (reference_audio, with reference_text for the closest clone)",
    package_problem=lambda: missing_packages(REQUIRED_MODULES, INSTALL_HINT),
    weights=WEIGHTS,
    load=lambda options: VoxCPMBackend(options),
    emotion_control=("text",),
    commercial_use=True,
    commercial_note="weights and code Apache-2.0",
)


# ---------------------------------------------------------------------------- requests


def style_instruction(emotion: str | None, *, strength: float = 1.0, language: str = "en") -> str | None:
    """The words VoxCPM2 reads in parentheses before the text, for ``request.emotion``; None for none.

    * None, blank, ``neutral``, whisper, or intensity 0: None (whisper is left to Revoice's DSP);
    * a label, or ``LABEL:INTENSITY``, at intensity ``INTENSITY * strength``: ``{degree}{tone} tone``
      (``very`` from 0.75, ``slightly`` below 0.4), e.g. ``very angry tone``; ``非常愤怒的语气`` for
      Chinese lines;
    * anything else is a description, passed in its own words (``strength`` is not applied).
    Parentheses inside the words are dropped (they would close the instruction).
    """
    text = " ".join((emotion or "").replace("(", " ").replace(")", " ").split())
    if not text:
        return None
    name, colon, amount = text.lower().partition(":")
    if name.strip() in LABELS and (not colon or re.fullmatch(r"\s*[0-9]*\.?[0-9]+\s*", amount)):
        label = name.strip()
        intensity = min(max((float(amount) if colon else 1.0) * float(strength), 0.0), 1.0)
        if label not in TONES or intensity <= 0.0:
            return None
        english, han = TONES[label]
        degree = next(d for d in DEGREES if intensity >= d[0])
        chinese = language.lower().split("-")[0] in ("zh", "yue")
        return f"{degree[2]}{han}的语气" if chinese else f"{degree[1]}{english} tone"
    return text.rstrip(".")


def continuation_text(transcript: str, text: str) -> str:
    """``text`` as it follows the prompt transcript: VoxCPM2 reads ``transcript + text`` as one string, so a
    space goes between two non-Chinese ends (``there.`` + ``Hello``), none next to a Chinese character."""
    if not transcript or not text or transcript[-1].isspace() or _HAN.match(transcript[-1]) or _HAN.match(text[0]):
        return text
    return " " + text


# ---------------------------------------------------------------------------- backend


class VoxCPMBackend(BackendBase):
    """A loaded VoxCPM2 model; ``synthesize`` is safe to call repeatedly (not from two threads at once)."""

    published = SPEC

    def __init__(self, options: BackendOptions, *, steps: int = DEFAULT_STEPS, cfg_value: float = DEFAULT_CFG,
                 max_patches: int = DEFAULT_MAX_PATCHES, retry_badcase: bool = True) -> None:
        """Load the model, its AudioVAE and tokenizer from the weights folder onto ``options.device``.

        ``steps``: flow-matching steps per latent patch; ``cfg_value``: guidance weight;
        ``max_patches``: the longest line in latent patches (0.16 s each); ``retry_badcase``: VoxCPM2's
        own re-roll (up to 3 times) of a line that runs on far past its text.
        """
        found = model_files(WEIGHTS.require(options))
        torch_threads(options)
        self.files = found
        self.device = torch_device(options.device, backend=NAME)
        self._steps = int(positive(steps, "steps"))
        self._cfg = float(positive(cfg_value, "cfg_value"))
        self._max_patches = int(positive(max_patches, "max_patches"))
        self._retry = bool(retry_badcase)
        self.model = load_model(found, device=self.device)
        self.sample_rate = int(self.model.sample_rate)
        self.encode_rate = int(self.model._encode_sample_rate)

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        """Speak ``request.text`` in the voice of ``request.reference_audio``.

        Needs ``reference_audio`` and ``reference_sample_rate``; ``reference_text`` (the clip's
        transcript) makes the clone closer. ``emotion`` / ``emotion_strength`` become a style
        instruction (:func:`style_instruction`). ``seed`` fixes the noise: the same request gives
        the same samples on the same device. One segment, labelled with the spoken text.
        """
        import torch
        from revoice.engine.dsp.resample import resample

        reference, reference_rate = reference_clip(request, title=TITLE)
        if request.emotion_audio is not None:
            raise ValueError("VoxCPM2 takes no emotion recording (its emotion_control has no 'reference'): "
                             "leave emotion_audio empty and apply the performance with Revoice's DSP")
        positive(request.duration_scale, "duration_scale")
        text = words_to_say(request)
        wave = np.asarray(reference, dtype=np.float32).reshape(-1)
        if wave.size == 0 or not np.all(np.isfinite(wave)):
            raise ValueError("reference_audio must be non-empty finite samples")
        wave = resample(wave, reference_rate, self.encode_rate)
        instruction = style_instruction(request.emotion, strength=request.emotion_strength,
                                        language=request.language)
        target = (f"({instruction})" if instruction else "") + " ".join(text.split())
        transcript = " ".join((request.reference_text or "").split())
        continue_prompt = bool(transcript) and instruction is None
        devices = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else []
        with reference_wav(wave, self.encode_rate, prefix="revoice-voxcpm-") as clip, \
                torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(request.seed) % 2**63)
            if continue_prompt:
                out = self.model.generate(target_text=continuation_text(transcript, target), prompt_text=transcript,
                                          prompt_wav_path=str(clip), reference_wav_path=str(clip),
                                          **self._generation())
            else:
                out = self.model.generate(target_text=target, reference_wav_path=str(clip), **self._generation())
        audio = out.reshape(-1).float().cpu().numpy()
        audio = np.nan_to_num(audio.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        return assemble_synthesis([audio], [(text, len(audio))], self.sample_rate)

    def _generation(self) -> dict[str, object]:
        return {"inference_timesteps": self._steps, "cfg_value": self._cfg, "max_len": self._max_patches,
                "retry_badcase": self._retry}
