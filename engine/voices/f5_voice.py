"""F5-TTS backend: zero-shot voice cloning with exact duration control.

F5-TTS (flow matching on mel frames, DiT backbone, Vocos vocoder) speaks
``request.text`` in the voice of ``request.reference_audio`` and needs that
clip's transcript (``request.reference_text``). The length of the speech is
chosen up front in mel frames, so ``target_seconds`` is met to the sample:
the model generates ``ceil(samples / hop) + 1`` frames and the waveform is
cut to ``round(target_seconds * 24000)`` samples. Without a target, the
length follows the reference's speaking rate times ``duration_scale``.

Weights are never downloaded. The user points ``--weights`` /
``BackendOptions.weights_dir`` or ``REVOICE_F5_WEIGHTS`` at a folder laid
out like this::

    config.yaml            the F5-TTS model config (e.g. f5_tts/configs/F5TTS_v1_Base.yaml)
    vocab.txt              the tokenizer vocabulary the checkpoint was trained with
    model_1250000.safetensors   the checkpoint (one *.safetensors, or one *.pt read with weights_only)
    vocos/config.yaml      the Vocos vocoder config (charactr/vocos-mel-24khz)
    vocos/pytorch_model.bin     its weights (or vocos/model.safetensors)

Code: f5-tts and vocos are MIT. The released F5-TTS weights are CC-BY-NC-4.0
(trained on Emilia): non-commercial use only.
The model code (imports without the training stack, checkpoints, the mel)
is in :mod:`revoice.engine.voices.f5_model`.

Runs on CUDA when asked and present (float16 on compute capability >= 7,
as F5-TTS does); on CPU the real model (336M parameters) needs several
seconds per second of speech.

Importing this module and checking availability import neither torch nor
the model packages.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from revoice.engine.voices._shared import (
    BackendBase,
    WeightsFolder,
    cloning_spec,
    fit_length,
    missing_packages,
    positive,
    reference_clip,
    reference_transcript,
    torch_device,
    torch_threads,
    words_to_say,
)
from revoice.engine.voices.base import AudioArray, BackendOptions, Synthesis, SynthesisRequest, assemble_synthesis

# build_cfm / build_vocoder were defined here before f5_model (tests build tiny models with them); still importable.
from revoice.engine.voices.f5_model import INSTALL_HINT as INSTALL_HINT
from revoice.engine.voices.f5_model import build_cfm as build_cfm
from revoice.engine.voices.f5_model import build_vocoder as build_vocoder
from revoice.engine.voices.f5_model import (
    f5_state_dict,
    load_tensors,
    model_imports,
    read_model_config,
    read_vocab,
    read_yaml,
    vocos_mel,
)

if TYPE_CHECKING:
    import torch

_LOGGER = logging.getLogger(__name__)

NAME = "f5"
TITLE = "F5-TTS"
SAMPLE_RATE = 24000
"""Output rate of the released F5-TTS models (Vocos mel 24 kHz); the config's value is used."""

ENV_WEIGHTS = "REVOICE_F5_WEIGHTS"
CONFIG_FILE = "config.yaml"
VOCAB_FILE = "vocab.txt"
VOCODER_DIR = "vocos"
VOCODER_CONFIG = "config.yaml"
VOCODER_WEIGHTS = ("pytorch_model.bin", "model.safetensors")

LICENCE = "code MIT (f5-tts, vocos); weights CC-BY-NC-4.0 (F5-TTS release: non-commercial use only)"

REQUIRED_MODULES = ("torch", "f5_tts", "vocos", "x_transformers", "torchdiffeq", "einops", "safetensors",
                    "yaml", "rjieba", "pypinyin", "librosa")
"""Import names; the pip names are in INSTALL_HINT."""

TARGET_RMS = 0.1
"""Reference loudness F5-TTS was trained at; quieter references are raised to it (and the output lowered back)."""

DEFAULT_STEPS = 32
DEFAULT_CFG_STRENGTH = 2.0
DEFAULT_SWAY = -1.0


# ---------------------------------------------------------------------------- weights folder


@dataclass(frozen=True)
class WeightFiles:
    config: Path
    vocab: Path
    checkpoint: Path
    vocoder_config: Path
    vocoder_weights: Path


def _checkpoints(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.pt"))


def _vocoder_weights(folder: Path) -> list[Path]:
    return [folder / VOCODER_DIR / n for n in VOCODER_WEIGHTS if (folder / VOCODER_DIR / n).is_file()]


def missing_weight_files(folder: Path) -> list[str]:
    """Names (relative to ``folder``) the F5-TTS weights folder lacks; [] when complete."""
    missing = [name for name in (CONFIG_FILE, VOCAB_FILE) if not (folder / name).is_file()]
    if not _checkpoints(folder):
        missing.append("the checkpoint (*.safetensors, or *.pt)")
    if not (folder / VOCODER_DIR / VOCODER_CONFIG).is_file():
        missing.append(f"{VOCODER_DIR}/{VOCODER_CONFIG}")
    if not _vocoder_weights(folder):
        missing.append(f"{VOCODER_DIR}/{VOCODER_WEIGHTS[0]} (or {VOCODER_DIR}/{VOCODER_WEIGHTS[1]})")
    return missing


def _several_checkpoints(folder: Path) -> str | None:
    checkpoints = _checkpoints(folder)
    if len(checkpoints) > 1:
        names = ", ".join(p.name for p in checkpoints)
        return f"{TITLE} weights folder {folder} holds several checkpoints ({names}); keep one"
    return None


WEIGHTS = WeightsFolder(
    backend=NAME, title=TITLE, env_var=ENV_WEIGHTS, missing=missing_weight_files, more=_several_checkpoints,
    contents=(f"a folder holding {CONFIG_FILE}, {VOCAB_FILE}, the checkpoint (*.safetensors) and {VOCODER_DIR}/ "
              f"({VOCODER_CONFIG} + {VOCODER_WEIGHTS[0]})"),
)


def weights_folder(options: BackendOptions) -> Path | None:
    """``options.weights_dir``, else ``$REVOICE_F5_WEIGHTS``, else None."""
    return WEIGHTS.find(options)


def weight_files(folder: Path) -> WeightFiles:
    """The files of a weights folder that :data:`WEIGHTS` found nothing wrong with."""
    return WeightFiles(folder / CONFIG_FILE, folder / VOCAB_FILE, _checkpoints(folder)[0],
                       folder / VOCODER_DIR / VOCODER_CONFIG, _vocoder_weights(folder)[0])


SPEC = cloning_spec(
    name=NAME,
    display_name="F5-TTS (zero-shot voice cloning, user weights)",
    languages=("en", "zh"),
    sample_rate=SAMPLE_RATE,
    native_duration_control=True,
    needs_gpu=False,
    licence=LICENCE,
    description=(
        "Zero-shot voice cloning from a reference clip and its transcript (flow matching, DiT + Vocos); "
        "exact length to the sample via target_seconds. CUDA when present; runs on CPU but slowly "
        "(several seconds per second of speech). Weights from a local folder, never downloaded."
    ),
    voice="the voice of the request's reference clip (reference_audio + reference_text)",
    package_problem=lambda: missing_packages(REQUIRED_MODULES, INSTALL_HINT),
    weights=WEIGHTS,
    load=lambda options: F5Backend(options),
    commercial_use=False,
    commercial_note="weights CC-BY-NC-4.0: non-commercial use only",
)


# ---------------------------------------------------------------------------- backend


class F5Backend(BackendBase):
    """A loaded F5-TTS model with its vocoder; ``synthesize`` is safe to call repeatedly."""

    published = SPEC

    def __init__(self, options: BackendOptions, *, steps: int = DEFAULT_STEPS,
                 cfg_strength: float = DEFAULT_CFG_STRENGTH, sway_sampling_coef: float | None = DEFAULT_SWAY) -> None:
        """Load the checkpoint and vocoder from the weights folder onto ``options.device``.

        ``steps`` is the number of flow-matching (Euler) steps (F5-TTS's nfe_step),
        ``cfg_strength`` the classifier-free guidance weight.
        """
        found = weight_files(WEIGHTS.require(options))
        import torch

        torch_threads(options)
        self._steps = int(steps)
        self._cfg = float(cfg_strength)
        self._sway = sway_sampling_coef
        self.files = found
        self.device = torch.device(torch_device(options.device, backend=NAME))
        self.config = read_model_config(found.config)
        mel = dict(self.config.get("mel_spec") or {})
        self.sample_rate = int(mel.get("target_sample_rate", SAMPLE_RATE))
        self.hop_length = int(mel.get("hop_length", 256))
        self.n_fft = int(mel.get("n_fft", 1024))
        self.win_length = int(mel.get("win_length", 1024))
        self.n_mels = int(mel.get("n_mel_channels", 100))
        self.tokenizer = str(self.config.get("tokenizer", "pinyin"))

        with model_imports():
            self._utils = importlib.import_module("f5_tts.model.utils")
        vocab = read_vocab(found.vocab)
        model = build_cfm(self.config, vocab)
        model.load_state_dict(f5_state_dict(load_tensors(found.checkpoint)), strict=True)
        self.dtype = torch.float32
        if self.device.type == "cuda" and torch.cuda.get_device_properties(self.device).major >= 7:
            self.dtype = torch.float16
        self.model = model.to(self.device, self.dtype).eval()

        with open(found.vocoder_config, encoding="utf-8") as fh:
            vocoder_config = read_yaml(fh.read())
        backbone, head, vocoder_mel = build_vocoder(vocoder_config)
        self._check_vocoder_mel(vocoder_mel)
        tensors = load_tensors(found.vocoder_weights)
        for prefix, module in (("backbone.", backbone), ("head.", head)):
            part = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            module.load_state_dict(part, strict=True)
        self.vocoder_backbone = backbone.to(self.device).eval()
        self.vocoder_head = head.to(self.device).eval()

    def _check_vocoder_mel(self, vocoder_mel: Mapping[str, Any]) -> None:
        ours = {"sample_rate": self.sample_rate, "n_fft": self.n_fft, "hop_length": self.hop_length,
                "n_mels": self.n_mels}
        clash = {k: (v, vocoder_mel[k]) for k, v in ours.items() if k in vocoder_mel and int(vocoder_mel[k]) != v}
        if clash:
            raise ValueError(f"vocoder and F5 model disagree on mel settings (model, vocoder): {clash}")

    def reference_mel(self, audio: AudioArray, sample_rate: int) -> tuple[torch.Tensor, float]:
        """(log mel (1, frames, n_mels) on the model's device, the clip's RMS) of a reference clip."""
        import torch
        from revoice.engine.dsp.resample import resample

        wave = np.asarray(audio, dtype=np.float32).reshape(-1)
        if wave.size == 0 or not np.all(np.isfinite(wave)):
            raise ValueError("reference_audio must be non-empty finite samples")
        if sample_rate != self.sample_rate:
            wave = resample(wave, sample_rate, self.sample_rate)
        rms = float(np.sqrt(np.mean(np.square(wave, dtype=np.float64))))
        if 0.0 < rms < TARGET_RMS:
            wave = wave * np.float32(TARGET_RMS / rms)
        tensor = torch.from_numpy(np.ascontiguousarray(wave)).to(self.device).unsqueeze(0)
        mel = vocos_mel(tensor, sample_rate=self.sample_rate, n_fft=self.n_fft, hop_length=self.hop_length,
                        win_length=self.win_length, n_mels=self.n_mels)
        return mel.permute(0, 2, 1), rms

    def frames_for(self, request: SynthesisRequest, *, reference_frames: int, reference_text: str,
                   text: str) -> tuple[int, int]:
        """(mel frames to generate, output samples) for ``request``.

        With ``target_seconds``: samples = round(target * rate), frames =
        ceil(samples / hop) + 1 (a centred ISTFT gives hop * (frames - 1)
        samples). Otherwise F5-TTS's rule: reference frames per UTF-8 byte of
        its transcript times the new text's bytes, times ``duration_scale``.
        """
        hop = self.hop_length
        if request.target_seconds is not None:
            samples = int(round(positive(request.target_seconds, "target_seconds") * self.sample_rate))
            return max(2, math.ceil(samples / hop) + 1), max(samples, 1)
        scale = positive(request.duration_scale, "duration_scale")
        per_byte = reference_frames / max(1, len(reference_text.encode("utf-8")))
        frames = max(2, int(per_byte * len(text.encode("utf-8")) * scale))
        return frames, hop * (frames - 1)

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        """Speak ``request.text`` in the voice of ``request.reference_audio``.

        Needs ``reference_audio``, ``reference_sample_rate`` and
        ``reference_text`` (the clip's transcript). The result is one segment
        labelled with the spoken text; ``seed`` fixes the noise (the same
        request gives the same audio on the same device).
        """
        import torch

        reference, reference_rate = reference_clip(request, title=TITLE)
        reference_text = reference_transcript(request, title=TITLE)
        text = words_to_say(request)
        cond, rms = self.reference_mel(reference, reference_rate)
        reference_frames = int(cond.shape[1])
        if len(reference_text[-1].encode("utf-8")) == 1:
            reference_text += " "  # as F5-TTS does: a space between an ASCII-final transcript and the new text
        frames, samples = self.frames_for(request, reference_frames=reference_frames,
                                          reference_text=reference_text, text=text)
        tokens = self._utils.convert_char_to_pinyin([reference_text + text])
        if len(tokens[0]) >= reference_frames + frames:
            _LOGGER.warning("f5: %d text tokens for %d frames; the text is cut off", len(tokens[0]),
                            reference_frames + frames)
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.inference_mode(), torch.random.fork_rng(devices=devices):
            mel, _ = self.model.sample(
                cond=cond.to(self.dtype), text=tokens, duration=reference_frames + frames, steps=self._steps,
                cfg_strength=self._cfg, sway_sampling_coef=self._sway, seed=int(request.seed) % 2**63,
            )
            generated = mel[:, reference_frames:reference_frames + frames, :].float().permute(0, 2, 1)
            wave = self.vocoder_head(self.vocoder_backbone(generated))
        audio = fit_length(wave.reshape(-1).float().cpu().numpy(), samples)
        if 0.0 < rms < TARGET_RMS:
            audio = audio * np.float32(rms / TARGET_RMS)
        audio = np.nan_to_num(audio.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        return assemble_synthesis([audio], [(text, len(audio))], self.sample_rate)
