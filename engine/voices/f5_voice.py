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

Only the model classes are imported (``f5_tts.model.cfm``, its DiT/UNetT
backbones, ``vocos.models`` / ``vocos.heads``), not the packages' training
and download stacks: their package ``__init__`` modules (trainer, wandb,
hub downloads) are skipped and, when torchaudio is not loaded, a placeholder
stands in for it during the import (CPU torch cannot load the PyPI
torchaudio). The reference mel is computed here with torch.stft and a
librosa filter bank, the same transform as torchaudio's MelSpectrogram that
F5-TTS and Vocos use (HTK mel scale, no norm, magnitude, centred, log).

Runs on CUDA when asked and present (float16 on compute capability >= 7,
as F5-TTS does); on CPU the real model (336M parameters) needs several
seconds per second of speech.

Importing this module and checking availability import neither torch nor
the model packages.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import math
import sys
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.voices.base import (
    AudioArray,
    BackendOptions,
    BackendSpec,
    Synthesis,
    SynthesisRequest,
    VoiceBackend,
    VoiceInfo,
    assemble_synthesis,
    temporary_environment,
)

if TYPE_CHECKING:
    import torch

_LOGGER = logging.getLogger(__name__)

NAME = "f5"
SAMPLE_RATE = 24000
"""Output rate of the released F5-TTS models (Vocos mel 24 kHz); the config's value is used."""

ENV_WEIGHTS = "REVOICE_F5_WEIGHTS"
CONFIG_FILE = "config.yaml"
VOCAB_FILE = "vocab.txt"
VOCODER_DIR = "vocos"
VOCODER_CONFIG = "config.yaml"
VOCODER_WEIGHTS = ("pytorch_model.bin", "model.safetensors")
VOICE_ID = "reference"

LICENCE = "code MIT (f5-tts, vocos); weights CC-BY-NC-4.0 (F5-TTS release: non-commercial use only)"

REQUIRED_MODULES = ("torch", "f5_tts", "vocos", "x_transformers", "torchdiffeq", "einops", "safetensors",
                    "yaml", "rjieba", "pypinyin", "librosa")
"""Import names; the pip names are in INSTALL_HINT."""

INSTALL_HINT = "pip install 'revoice[neural]' && pip install --no-deps f5-tts==1.1.22 vocos==0.1.0"

TARGET_RMS = 0.1
"""Reference loudness F5-TTS was trained at; quieter references are raised to it (and the output lowered back)."""

DEFAULT_STEPS = 32
DEFAULT_CFG_STRENGTH = 2.0
DEFAULT_SWAY = -1.0

_BACKBONES = {"DiT": ("f5_tts.model.backbones.dit", "DiT"),
              "UNetT": ("f5_tts.model.backbones.unett", "UNetT"),
              "MMDiT": ("f5_tts.model.backbones.mmdit", "MMDiT")}
_VOCOS_MODULES = ("vocos.models", "vocos.heads")


def _voices() -> Sequence[VoiceInfo]:
    return (VoiceInfo(VOICE_ID, ("en", "zh"), "zero-shot: the voice of the request's reference clip "
                      "(reference_audio + reference_text)", "", LICENCE),)


# ---------------------------------------------------------------------------- weights folder


def weights_folder(options: BackendOptions) -> Path | None:
    """``options.weights_dir``, else ``$REVOICE_F5_WEIGHTS``, else None."""
    return options.weights_folder(ENV_WEIGHTS)


@dataclass(frozen=True)
class WeightFiles:
    config: Path
    vocab: Path
    checkpoint: Path
    vocoder_config: Path
    vocoder_weights: Path


def find_weight_files(folder: Path) -> WeightFiles | str:
    """The files of a weights folder, or a sentence naming what is missing."""
    if not folder.is_dir():
        return f"F5-TTS weights folder {folder} does not exist"
    missing: list[str] = []
    for name in (CONFIG_FILE, VOCAB_FILE):
        if not (folder / name).is_file():
            missing.append(name)
    checkpoints = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.pt"))
    if not checkpoints:
        missing.append("the checkpoint (*.safetensors, or *.pt)")
    vocoder = folder / VOCODER_DIR
    if not (vocoder / VOCODER_CONFIG).is_file():
        missing.append(f"{VOCODER_DIR}/{VOCODER_CONFIG}")
    vocoder_weights = [vocoder / n for n in VOCODER_WEIGHTS if (vocoder / n).is_file()]
    if not vocoder_weights:
        missing.append(f"{VOCODER_DIR}/{VOCODER_WEIGHTS[0]} (or {VOCODER_DIR}/{VOCODER_WEIGHTS[1]})")
    if missing:
        return f"F5-TTS weights folder {folder} is incomplete: missing {', '.join(missing)}"
    if len(checkpoints) > 1:
        names = ", ".join(p.name for p in checkpoints)
        return f"F5-TTS weights folder {folder} holds several checkpoints ({names}); keep one"
    return WeightFiles(folder / CONFIG_FILE, folder / VOCAB_FILE, checkpoints[0],
                       vocoder / VOCODER_CONFIG, vocoder_weights[0])


def _availability(options: BackendOptions) -> str | None:
    """None when F5-TTS can load here, else why not (no heavy imports)."""
    reasons: list[str] = []
    missing = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        reasons.append(f"missing Python package(s) {', '.join(missing)}: {INSTALL_HINT}")
    folder = weights_folder(options)
    if folder is None:
        reasons.append(
            f"no weights folder: set {ENV_WEIGHTS} or pass --weights {NAME}=DIR, a folder holding "
            f"{CONFIG_FILE}, {VOCAB_FILE}, the checkpoint (*.safetensors) and {VOCODER_DIR}/ "
            f"({VOCODER_CONFIG} + {VOCODER_WEIGHTS[0]}); weights are never downloaded"
        )
    else:
        found = find_weight_files(folder)
        if isinstance(found, str):
            reasons.append(found)
    return "; ".join(reasons) or None


def _factory(options: BackendOptions) -> VoiceBackend:
    return F5Backend(options)


SPEC = BackendSpec(
    name=NAME,
    clones_from_reference=True,
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
    availability=_availability,
    factory=_factory,
    voice_list=_voices,
)


# ---------------------------------------------------------------------------- imports


def _torchaudio_placeholder() -> dict[str, types.ModuleType]:
    """Stand-ins for the torchaudio names the model modules import but inference here never calls."""

    def unavailable(*_args: object, **_kwargs: object) -> Any:
        raise ImportError("torchaudio is not loaded: Revoice computes mels without it")

    root = types.ModuleType("torchaudio")
    transforms = types.ModuleType("torchaudio.transforms")
    functional = types.ModuleType("torchaudio.functional")
    inner = types.ModuleType("torchaudio.functional.functional")
    setattr(transforms, "MelSpectrogram", unavailable)
    setattr(transforms, "Spectrogram", unavailable)
    setattr(inner, "_hz_to_mel", unavailable)
    setattr(inner, "_mel_to_hz", unavailable)
    setattr(root, "transforms", transforms)
    setattr(root, "functional", functional)
    setattr(functional, "functional", inner)
    return {m.__name__: m for m in (root, transforms, functional, inner)}


@contextlib.contextmanager
def model_imports() -> Iterator[None]:
    """Import F5-TTS / Vocos model modules without their package ``__init__`` or torchaudio.

    ``f5_tts.model`` and ``vocos`` are entered as bare packages (their
    ``__init__`` pulls the trainer, wandb and hub downloads), torchaudio gets
    a placeholder unless it is already loaded, and HF_HUB_OFFLINE is set.
    Everything added to ``sys.modules`` here (but the imported submodules) is
    removed on exit.
    """
    added: list[str] = []
    with temporary_environment({"HF_HUB_OFFLINE": "1"}):
        try:
            for package in ("f5_tts.model", "vocos"):
                if package in sys.modules:
                    continue
                spec = importlib.util.find_spec(package)
                if spec is None or spec.submodule_search_locations is None:
                    raise ImportError(f"package {package!r} not found: {INSTALL_HINT}")
                sys.modules[package] = importlib.util.module_from_spec(spec)
                added.append(package)
            if "torchaudio" not in sys.modules:
                for name, module in _torchaudio_placeholder().items():
                    sys.modules[name] = module
                    added.append(name)
            yield
        finally:
            for name in added:
                sys.modules.pop(name, None)


# ---------------------------------------------------------------------------- loading


def read_vocab(path: Path) -> dict[str, int]:
    """F5-TTS vocab.txt: one token per line, index = line number (line 0 is the space)."""
    vocab: dict[str, int] = {}
    with open(path, encoding="utf-8", newline="\n") as fh:
        for index, line in enumerate(fh):
            vocab[line[:-1] if line.endswith("\n") else line] = index
    if not vocab:
        raise ValueError(f"{path} is empty")
    return vocab


def _read_yaml(text: str) -> Any:
    """``yaml.safe_load(text)`` (PyYAML, typed Any here)."""
    return importlib.import_module("yaml").safe_load(text)


def read_model_config(path: Path) -> dict[str, Any]:
    """The ``model`` section of an F5-TTS config (backbone, arch, mel_spec, tokenizer)."""
    with open(path, encoding="utf-8") as fh:
        data = _read_yaml(fh.read())
    model = data.get("model", data) if isinstance(data, dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("arch"), dict):
        raise ValueError(f"{path}: expected an F5-TTS config with model.arch (see f5_tts/configs/*.yaml)")
    mel = dict(model.get("mel_spec") or {})
    mel_type = mel.get("mel_spec_type", "vocos")
    if mel_type != "vocos":
        raise ValueError(f"{path}: mel_spec_type {mel_type!r} is not supported (only the Vocos vocoder)")
    backbone = model.get("backbone", "DiT")
    if backbone not in _BACKBONES:
        raise ValueError(f"{path}: unknown backbone {backbone!r} (expected one of {', '.join(_BACKBONES)})")
    return model


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from .safetensors, or from .pt/.bin via torch.load(weights_only=True)."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path), device="cpu"))
    obj = torch.load(str(path), map_location="cpu", weights_only=True)
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a state dict, got {type(obj).__name__}")
    for key in ("ema_model_state_dict", "model_state_dict", "state_dict"):
        if isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    return {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def f5_state_dict(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """F5 checkpoint tensors as CFM expects them: EMA prefix stripped, counters and mel buffers dropped."""
    state: dict[str, torch.Tensor] = {}
    for key, value in tensors.items():
        name = key.removeprefix("ema_model.")
        if name in ("initted", "step") or name.startswith("mel_spec."):
            continue
        state[name] = value
    return state


def resolve_device(requested: str) -> torch.device:
    """``requested`` as a torch device; CUDA falls back to CPU (with a warning) when there is none."""
    import torch

    if requested.startswith("cuda") and not torch.cuda.is_available():
        _LOGGER.warning("f5: device %r asked but torch has no CUDA here; using CPU", requested)
        return torch.device("cpu")
    return torch.device(requested)


def build_cfm(model_config: Mapping[str, Any], vocab: Mapping[str, int]) -> Any:
    """An untrained CFM (F5-TTS's own classes) for ``model_config`` and ``vocab``."""
    mel = dict(model_config.get("mel_spec") or {})
    mel.setdefault("mel_spec_type", "vocos")
    module_name, class_name = _BACKBONES[str(model_config.get("backbone", "DiT"))]
    with model_imports():
        cfm_module = importlib.import_module("f5_tts.model.cfm")
        backbone_cls = getattr(importlib.import_module(module_name), class_name)
    n_mels = int(mel.get("n_mel_channels", 100))
    transformer = backbone_cls(**dict(model_config["arch"]), text_num_embeds=len(vocab), mel_dim=n_mels)
    return cfm_module.CFM(transformer=transformer, mel_spec_kwargs=mel, odeint_kwargs={"method": "euler"},
                          vocab_char_map=dict(vocab))


def build_vocoder(config: Mapping[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """(backbone, head, mel settings) from a Vocos config.yaml, built from vocos's own classes."""
    parts: list[Any] = []
    for section in ("backbone", "head"):
        entry = config.get(section)
        if not isinstance(entry, dict) or "class_path" not in entry:
            raise ValueError(f"vocos config: no {section}.class_path")
        module_name, _, class_name = str(entry["class_path"]).rpartition(".")
        if module_name not in _VOCOS_MODULES:
            raise ValueError(f"vocos config: {entry['class_path']!r} is not a Vocos model class")
        with model_imports():
            cls = getattr(importlib.import_module(module_name), class_name)
        parts.append(cls(**dict(entry.get("init_args") or {})))
    features = config.get("feature_extractor") or {}
    mel = dict(features.get("init_args") or {}) if isinstance(features, dict) else {}
    return parts[0], parts[1], mel


def vocos_mel(wave: torch.Tensor, *, sample_rate: int, n_fft: int, hop_length: int, win_length: int,
              n_mels: int) -> torch.Tensor:
    """Log mel spectrogram (batch, n_mels, frames) as F5-TTS / Vocos compute it with torchaudio.

    torchaudio.transforms.MelSpectrogram(power=1, center=True, reflect padding,
    periodic Hann window, HTK mel scale from 0 Hz to Nyquist, no norm), then
    ``log(clamp(mel, 1e-5))``. ``frames = samples // hop_length + 1``.
    """
    import librosa
    import torch

    window = torch.hann_window(win_length, device=wave.device, dtype=torch.float32)
    spec = torch.stft(wave.float(), n_fft, hop_length=hop_length, win_length=win_length, window=window,
                      center=True, pad_mode="reflect", normalized=False, onesided=True, return_complex=True).abs()
    bank = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=sample_rate / 2,
                               htk=True, norm=None)
    mel = torch.matmul(torch.from_numpy(np.asarray(bank, dtype=np.float32)).to(wave.device), spec)
    return torch.log(torch.clamp(mel, min=1e-5))


# ---------------------------------------------------------------------------- backend


class F5Backend:
    """A loaded F5-TTS model with its vocoder; ``synthesize`` is safe to call repeatedly."""

    def __init__(self, options: BackendOptions, *, steps: int = DEFAULT_STEPS,
                 cfg_strength: float = DEFAULT_CFG_STRENGTH, sway_sampling_coef: float | None = DEFAULT_SWAY) -> None:
        """Load the checkpoint and vocoder from the weights folder onto ``options.device``.

        ``steps`` is the number of flow-matching (Euler) steps (F5-TTS's nfe_step),
        ``cfg_strength`` the classifier-free guidance weight.
        """
        folder = weights_folder(options)
        if folder is None:
            raise FileNotFoundError(f"no F5-TTS weights folder: set {ENV_WEIGHTS} or BackendOptions.weights_dir")
        found = find_weight_files(folder)
        if isinstance(found, str):
            raise FileNotFoundError(found)
        import torch

        if options.threads is not None:
            torch.set_num_threads(int(options.threads))
        self._steps = int(steps)
        self._cfg = float(cfg_strength)
        self._sway = sway_sampling_coef
        self.files = found
        self.device = resolve_device(options.device)
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
        model.load_state_dict(f5_state_dict(_load_tensors(found.checkpoint)), strict=True)
        self.dtype = torch.float32
        if self.device.type == "cuda" and torch.cuda.get_device_properties(self.device).major >= 7:
            self.dtype = torch.float16
        self.model = model.to(self.device, self.dtype).eval()

        with open(found.vocoder_config, encoding="utf-8") as fh:
            vocoder_config = _read_yaml(fh.read())
        backbone, head, vocoder_mel = build_vocoder(vocoder_config)
        self._check_vocoder_mel(vocoder_mel)
        tensors = _load_tensors(found.vocoder_weights)
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

    @property
    def spec(self) -> BackendSpec:
        return SPEC

    def voices(self) -> Sequence[VoiceInfo]:
        return _voices()

    def reference_mel(self, audio: AudioArray, sample_rate: int) -> tuple[torch.Tensor, float]:
        """(log mel (1, frames, n_mels) on the model's device, the clip's RMS) of a reference clip."""
        import torch

        from engine.dsp.resample import resample

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
            if not (request.target_seconds > 0 and math.isfinite(request.target_seconds)):
                raise ValueError(f"target_seconds must be a positive number, got {request.target_seconds}")
            samples = int(round(request.target_seconds * self.sample_rate))
            return max(2, math.ceil(samples / hop) + 1), max(samples, 1)
        scale = request.duration_scale
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"duration_scale must be a positive number, got {scale}")
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

        from engine.voices.piper_voice import spoken_text

        if request.reference_audio is None or request.reference_sample_rate is None:
            raise ValueError("F5-TTS clones a voice: the request needs reference_audio and reference_sample_rate")
        reference_text = (request.reference_text or "").strip()
        if not reference_text:
            raise ValueError("F5-TTS needs the reference clip's transcript: set SynthesisRequest.reference_text")
        text = spoken_text(request.text).strip()
        if not text:
            raise ValueError(f"nothing to say: no speakable words in {request.text!r}")
        cond, rms = self.reference_mel(request.reference_audio, int(request.reference_sample_rate))
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
        audio = wave.reshape(-1).float().cpu().numpy()[:samples]
        if len(audio) < samples:
            audio = np.pad(audio, (0, samples - len(audio)))
        if 0.0 < rms < TARGET_RMS:
            audio = audio * np.float32(rms / TARGET_RMS)
        audio = np.nan_to_num(audio.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        return assemble_synthesis([audio], [(text, len(audio))], self.sample_rate)
