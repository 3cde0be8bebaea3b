"""F5-TTS model code for :mod:`revoice.engine.voices.f5_voice`: imports, checkpoints, the model and vocoder, the mel.

Only the model classes are imported (``f5_tts.model.cfm``, its DiT/UNetT
backbones, ``vocos.models`` / ``vocos.heads``), not the packages' training
and download stacks: their package ``__init__`` modules (trainer, wandb,
hub downloads) are skipped and, when torchaudio is not loaded, a placeholder
stands in for it during the import (CPU torch cannot load the PyPI
torchaudio). The reference mel is computed here with torch.stft and a
librosa filter bank, the same transform as torchaudio's MelSpectrogram that
F5-TTS and Vocos use (HTK mel scale, no norm, magnitude, centred, log).

Importing this module imports neither torch nor the model packages.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from revoice.engine.voices._shared import bare_packages, offline_hub

if TYPE_CHECKING:
    import torch

INSTALL_HINT = "pip install 'revoice[neural]' && pip install --no-deps f5-tts==1.1.22 vocos==0.1.0"
"""How to install what F5-TTS needs (f5-tts and vocos without their declared dependencies)."""

_BACKBONES = {"DiT": ("f5_tts.model.backbones.dit", "DiT"),
              "UNetT": ("f5_tts.model.backbones.unett", "UNetT"),
              "MMDiT": ("f5_tts.model.backbones.mmdit", "MMDiT")}
_VOCOS_MODULES = ("vocos.models", "vocos.heads")


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
    with offline_hub(), bare_packages(("f5_tts.model", "vocos"), install_hint=INSTALL_HINT):
        try:
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


def read_yaml(text: str) -> Any:
    """``yaml.safe_load(text)`` (PyYAML, typed Any here)."""
    return importlib.import_module("yaml").safe_load(text)


def read_model_config(path: Path) -> dict[str, Any]:
    """The ``model`` section of an F5-TTS config (backbone, arch, mel_spec, tokenizer)."""
    with open(path, encoding="utf-8") as fh:
        data = read_yaml(fh.read())
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


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
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

