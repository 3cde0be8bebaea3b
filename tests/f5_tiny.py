"""A tiny random F5-TTS + Vocos weights folder, laid out like the real release (shared by the F5 tests)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
from revoice.engine.voices import f5_voice

RATE = 24000
HOP = 256
MEL = {"target_sample_rate": RATE, "n_mel_channels": 100, "hop_length": HOP, "win_length": 1024, "n_fft": 1024,
       "mel_spec_type": "vocos"}
ARCH = {"dim": 32, "depth": 2, "heads": 2, "dim_head": 16, "ff_mult": 2, "text_dim": 16, "text_mask_padding": True,
        "qk_norm": None, "conv_layers": 1, "pe_attn_head": None, "attn_backend": "torch",
        "attn_mask_enabled": False, "checkpoint_activations": False}
VOCAB = [" ", *"abcdefghijklmnopqrstuvwxyz", *",.'!?", "ni3", "hao3"]
REF_TEXT = "this is the reference."


def missing_packages() -> list[str]:
    return [name for name in f5_voice.REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def tone(freq: float, seconds: float, rate: int = RATE, amp: float = 0.3) -> np.ndarray[Any, np.dtype[np.float32]]:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_weights(folder: Path, *, seed: int = 0) -> dict[str, Any]:
    """A tiny random F5-TTS + Vocos saved like the real release; returns the saved F5 tensors."""
    import torch
    from safetensors.torch import save_file

    yaml = importlib.import_module("yaml")

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("".join(token + "\n" for token in VOCAB), encoding="utf-8")
    config = {"model": {"name": "F5TTS_tiny", "tokenizer": "pinyin", "backbone": "DiT", "arch": ARCH,
                        "mel_spec": MEL, "vocoder": {"is_local": True, "local_path": "vocos"}}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    model = f5_voice.build_cfm(config["model"], {t: i for i, t in enumerate(VOCAB)})
    with torch.no_grad():  # F5 zero-initializes its output and AdaLN layers: perturb all so inputs matter
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    tensors = {f"ema_model.{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    tensors["initted"] = torch.tensor(True)
    tensors["step"] = torch.tensor(1250000)
    save_file(tensors, str(folder / "model_1250000.safetensors"))

    vocos_config = {
        "feature_extractor": {"class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
                              "init_args": {"sample_rate": RATE, "n_fft": 1024, "hop_length": HOP, "n_mels": 100,
                                            "padding": "center"}},
        "backbone": {"class_path": "vocos.models.VocosBackbone",
                     "init_args": {"input_channels": 100, "dim": 16, "intermediate_dim": 32, "num_layers": 1}},
        "head": {"class_path": "vocos.heads.ISTFTHead",
                 "init_args": {"dim": 16, "n_fft": 1024, "hop_length": HOP, "padding": "center"}},
    }
    (folder / "vocos").mkdir(exist_ok=True)
    (folder / "vocos" / "config.yaml").write_text(yaml.safe_dump(vocos_config), encoding="utf-8")
    backbone, head, _ = f5_voice.build_vocoder(vocos_config)
    state = {f"backbone.{k}": v for k, v in backbone.state_dict().items()}
    state.update({f"head.{k}": v for k, v in head.state_dict().items()})
    # the real file also carries the feature extractor's buffers, which the loader must skip
    state["feature_extractor.mel_spec.spectrogram.window"] = torch.hann_window(1024)
    torch.save(state, str(folder / "vocos" / "pytorch_model.bin"))
    return tensors
