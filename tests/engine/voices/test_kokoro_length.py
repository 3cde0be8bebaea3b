"""Kokoro's length forecast: the predictors' arithmetic (fast) and the forecast against real renders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from revoice.engine.fit import trimmed_speech
from revoice.engine.voices.base import BackendOptions, SynthesisRequest
from revoice.engine.voices.kokoro_length import FRAME_SAMPLES, chunk_length, length_session, sounding_samples
from revoice.engine.voices.kokoro_voice import SAMPLE_RATE, KokoroBackend


def test_sounding_span_counts_only_the_loud_part_of_each_token() -> None:
    durations = np.array([2.2, 3.0, 1.0, 2.0], dtype=np.float32)  # frames: 2, 3, 1, 2 -> 16 half frames
    energy = np.full(16, -9.0, dtype=np.float32)
    energy[3:13] = 1.0  # loud from the 2nd half of the first token's... to the middle of the last
    chunk = chunk_length(durations, energy)
    assert np.allclose(chunk.sounding, [1 / 4, 1.0, 1.0, 1 / 4])
    assert chunk.samples(1.0) == pytest.approx(FRAME_SAMPLES * (2 / 4 + 3 + 1 + 2 / 4))


def test_silent_energy_forecasts_nothing() -> None:
    chunk = chunk_length(np.array([3.0, 4.0], dtype=np.float32), np.full(14, -9.0, dtype=np.float32))
    assert chunk.samples(1.0) == 0.0


@pytest.mark.parametrize("scale", [0.5, 0.8, 1.0, 1.3, 2.0])
def test_frames_round_as_the_model_does_and_never_fall_below_one(scale: float) -> None:
    durations = np.array([0.3, 1.49, 2.5, 7.2], dtype=np.float32)
    chunk = chunk_length(durations, np.ones(2 * 12, dtype=np.float32))
    frames = np.maximum(1.0, np.round(durations / np.float32(1.0 / scale)))
    assert chunk.samples(scale) == pytest.approx(FRAME_SAMPLES * float(frames.sum()))


def test_forecast_grows_with_the_scale_and_adds_scaled_silences() -> None:
    chunk = chunk_length(np.array([4.0, 6.0, 5.0], dtype=np.float32), np.ones(30, dtype=np.float32))
    lengths = [sounding_samples([chunk], silences_seconds=0.5, pad_seconds=0.03, duration_scale=s,
                                sample_rate=SAMPLE_RATE) for s in (0.6, 0.8, 1.0, 1.25, 1.6)]
    assert lengths == sorted(lengths)
    assert lengths[2] == pytest.approx(15 * FRAME_SAMPLES + 0.5 * SAMPLE_RATE)
    two = sounding_samples([chunk, chunk], silences_seconds=0.0, pad_seconds=0.03, duration_scale=1.0,
                           sample_rate=SAMPLE_RATE)
    assert two == pytest.approx(2 * 15 * FRAME_SAMPLES + 2 * 0.03 * SAMPLE_RATE)  # the inner pads stay


def test_a_graph_without_the_predictors_forecasts_nothing(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    helper = onnx.helper
    graph = helper.make_graph(
        [helper.make_node("Identity", ["speed"], ["audio"])], "not-kokoro",
        [helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in ("tokens", "style", "speed")],
        [helper.make_tensor_value_info("audio", onnx.TensorProto.FLOAT, None)])
    model = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(model))
    assert length_session(model, BackendOptions(), default_threads=1) is None


@pytest.mark.slow
@pytest.mark.parametrize("scale", [0.85, 1.0, 1.2])
@pytest.mark.parametrize("text, voice", [("货物天亮就到，没我的话谁也不许碰。", "jf_nezumi"),
                                         ("别那样看着我。", "jm_kumo"),
                                         ("她说午夜前会打电话来。我们走吧！", "jf_alpha")])
def test_forecast_meets_the_real_render(kokoro_voices: KokoroBackend, text: str, voice: str, scale: float) -> None:
    request = SynthesisRequest(text=text, voice_id=voice, language="zh", duration_scale=scale, seed=1)
    curve = kokoro_voices.length_curve(request)
    assert curve is not None
    real = len(trimmed_speech(kokoro_voices.synthesize(request), 48000)) / 48000
    assert curve(scale) == pytest.approx(real, rel=0.04)
