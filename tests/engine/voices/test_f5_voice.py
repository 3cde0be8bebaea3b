"""The F5-TTS backend on a tiny randomly initialized model built from f5-tts's and vocos's own classes.

The session fixture builds CFM + DiT and a Vocos backbone + ISTFT head with
tiny dimensions, saves them the way a user's weights folder holds the real
release (EMA-prefixed safetensors, vocab.txt, config.yaml, vocos/config.yaml
+ pytorch_model.bin), then every test loads that folder through the
adapter's real loader.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from backend_checks import heavy_modules_imported
from f5_tiny import HOP, RATE, REF_TEXT, VOCAB
from f5_tiny import missing_packages as _missing_packages
from f5_tiny import tone as _tone
from f5_tiny import write_weights as _write_weights
from revoice.engine.voices import f5_voice
from revoice.engine.voices.base import BackendOptions, BackendUnavailable, SynthesisRequest, VoiceBackend
from revoice.engine.voices.f5_voice import SPEC, F5Backend
from revoice.engine.voices.registry import describe_backends, load_backend


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    missing = _missing_packages()
    if missing:
        pytest.skip(f"F5-TTS packages missing ({', '.join(missing)}): {f5_voice.INSTALL_HINT}")
    import torch

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("f5_weights")
    return folder, _write_weights(folder)


@pytest.fixture(scope="session")
def f5_backend(tiny_weights: tuple[Path, dict[str, Any]]) -> F5Backend:
    backend = load_backend(SPEC, BackendOptions(device="cpu", weights_dir=str(tiny_weights[0]), threads=1))
    assert isinstance(backend, F5Backend)
    return backend


def _request(text: str = "hello there.", **kwargs: Any) -> SynthesisRequest:
    base: dict[str, Any] = {"reference_audio": _tone(220.0, 1.0), "reference_sample_rate": RATE,
                            "reference_text": REF_TEXT, "voice_id": "reference"}
    base.update(kwargs)
    return SynthesisRequest(text=text, **base)


def test_import_is_lazy() -> None:
    heavy = ("torch", "f5_tts", "vocos", "x_transformers", "librosa", "safetensors")
    assert heavy_modules_imported("revoice.engine.voices.f5_voice", heavy, weights_dir="/nowhere") == []


def test_spec() -> None:
    assert SPEC.name == "f5" and SPEC.sample_rate == RATE
    assert SPEC.native_duration_control and not SPEC.needs_gpu
    assert "CC-BY-NC-4.0" in SPEC.licence and "MIT" in SPEC.licence
    assert SPEC.supports_language("en-US") and SPEC.supports_language("zh") and not SPEC.supports_language("ja")


def test_without_weights_the_reason_says_how_to_set_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(f5_voice.ENV_WEIGHTS, raising=False)
    reason = SPEC.availability(BackendOptions())
    assert reason is not None
    assert "no weights folder" in reason and f5_voice.ENV_WEIGHTS in reason and "--weights f5=DIR" in reason
    row = describe_backends([SPEC], BackendOptions())[0]
    assert row["available"] is False and row["reason"] == reason and "CC-BY-NC" in row["licence"]


def test_environment_variable_names_the_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(f5_voice.ENV_WEIGHTS, str(tmp_path))
    assert f5_voice.weights_folder(BackendOptions()) == tmp_path
    assert f5_voice.weights_folder(BackendOptions(weights_dir="/elsewhere")) == Path("/elsewhere")


def test_incomplete_folder_names_each_missing_file(tmp_path: Path) -> None:
    (tmp_path / "vocab.txt").write_text(" \na\n", encoding="utf-8")
    (tmp_path / "model.safetensors").write_bytes(b"")
    reason = SPEC.availability(BackendOptions(weights_dir=str(tmp_path)))
    assert reason is not None
    assert f"F5-TTS weights folder {tmp_path} is incomplete: missing config.yaml, vocos/config.yaml, " \
           "vocos/pytorch_model.bin (or vocos/model.safetensors)" in reason
    assert "vocab.txt" not in reason.split("missing")[1]
    with pytest.raises(BackendUnavailable, match="missing config.yaml"):
        load_backend(SPEC, BackendOptions(weights_dir=str(tmp_path)))
    with pytest.raises(FileNotFoundError, match="missing config.yaml"):
        F5Backend(BackendOptions(weights_dir=str(tmp_path)))


def test_missing_packages_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def fake(name: str, *args: object) -> object:
        return None if name in ("f5_tts", "vocos") else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    reason = SPEC.availability(BackendOptions(weights_dir="/nowhere"))
    assert reason is not None and "missing Python package(s) f5_tts, vocos" in reason
    assert "pip install --no-deps f5-tts==1.1.22 vocos==0.1.0" in reason


def test_complete_folder_is_available(tiny_weights: tuple[Path, dict[str, Any]]) -> None:
    assert SPEC.availability(BackendOptions(weights_dir=str(tiny_weights[0]))) is None


def test_loader_reads_the_saved_weights(f5_backend: F5Backend, tiny_weights: tuple[Path, dict[str, Any]]) -> None:
    import torch

    state = f5_backend.model.state_dict()
    saved = tiny_weights[1]
    for name in ("transformer.proj_out.weight", "transformer.text_embed.text_embed.weight"):
        assert torch.equal(state[name].cpu(), saved[f"ema_model.{name}"])
    assert f5_backend.device.type == "cpu" and f5_backend.dtype == torch.float32
    assert all(p.device.type == "cpu" for p in f5_backend.model.parameters())
    assert f5_backend.model.vocab_char_map == {t: i for i, t in enumerate(VOCAB)}
    assert isinstance(f5_backend, VoiceBackend)
    # no network and no torchaudio left behind by the guarded imports
    assert "torchaudio" not in sys.modules


@pytest.mark.parametrize("seconds", [0.5, 1.2345, 2.0])
def test_target_seconds_gives_the_exact_length(f5_backend: F5Backend, seconds: float) -> None:
    out = f5_backend.synthesize(_request(target_seconds=seconds))
    assert out.sample_rate == RATE
    assert len(out.audio) == round(seconds * RATE)
    assert out.audio.dtype == np.float32 and np.all(np.isfinite(out.audio)) and np.max(np.abs(out.audio)) > 0
    assert [(s.label, s.start, s.end) for s in out.segments] == [("hello there.", 0, len(out.audio))]


def test_without_target_the_length_follows_the_reference_rate(f5_backend: F5Backend) -> None:
    ref_frames = RATE // HOP + 1  # 1 s reference, centred STFT
    text = "hello there."
    per_byte = ref_frames / len((REF_TEXT + " ").encode())
    for scale in (1.0, 2.0):
        frames = int(per_byte * len(text.encode()) * scale)
        out = f5_backend.synthesize(_request(text, duration_scale=scale))
        assert len(out.audio) == HOP * (frames - 1)


def test_the_reference_conditions_the_output(f5_backend: F5Backend) -> None:
    first = f5_backend.synthesize(_request(target_seconds=0.6)).audio
    again = f5_backend.synthesize(_request(target_seconds=0.6)).audio
    other_voice = f5_backend.synthesize(_request(target_seconds=0.6, reference_audio=_tone(660.0, 1.0))).audio
    other_seed = f5_backend.synthesize(_request(target_seconds=0.6, seed=7)).audio
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other_voice, atol=1e-4)
    assert not np.allclose(first, other_seed, atol=1e-4)


def test_reference_at_another_rate_is_resampled(f5_backend: F5Backend) -> None:
    out = f5_backend.synthesize(_request(target_seconds=0.4, reference_audio=_tone(220.0, 1.0, 16000),
                                         reference_sample_rate=16000))
    assert len(out.audio) == round(0.4 * RATE)


def test_reference_mel_matches_a_direct_computation(f5_backend: F5Backend) -> None:
    import librosa

    wave = _tone(300.0, 0.5, amp=0.05)  # quieter than F5's training level: raised to RMS 0.1 first
    mel, rms = f5_backend.reference_mel(wave, RATE)
    assert mel.shape == (1, len(wave) // HOP + 1, 100)
    assert rms == pytest.approx(0.05 / np.sqrt(2), rel=1e-3)
    spec = np.abs(librosa.stft(wave * np.float32(0.1 / rms), n_fft=1024, hop_length=HOP, win_length=1024,
                               center=True, pad_mode="reflect"))
    bank = librosa.filters.mel(sr=RATE, n_fft=1024, n_mels=100, htk=True, norm=None)
    expected = np.log(np.maximum(bank @ spec, 1e-5)).T
    actual = mel[0].cpu().numpy()
    loud = expected > -4.0  # float32 STFT noise dominates the log of near-empty bins
    assert loud.mean() > 0.1
    np.testing.assert_allclose(actual[loud], expected[loud], atol=2e-3)
    np.testing.assert_allclose(np.exp(actual), np.exp(expected), atol=1e-4 * float(np.exp(expected).max()))


def test_requests_without_a_reference_are_refused(f5_backend: F5Backend) -> None:
    with pytest.raises(ValueError, match="reference_text"):
        f5_backend.synthesize(_request(reference_text=None))
    with pytest.raises(ValueError, match="reference_audio"):
        f5_backend.synthesize(_request(reference_audio=None))
    with pytest.raises(ValueError, match="target_seconds"):
        f5_backend.synthesize(_request(target_seconds=-1.0))


def test_pt_checkpoint_loads_with_weights_only(tiny_weights: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    import shutil

    import torch

    folder = tmp_path / "pt"
    shutil.copytree(tiny_weights[0], folder)
    (folder / "model_1250000.safetensors").unlink()
    torch.save({"ema_model_state_dict": tiny_weights[1]}, str(folder / "model_1250000.pt"))
    backend = F5Backend(BackendOptions(weights_dir=str(folder), threads=1))
    assert torch.equal(backend.model.state_dict()["transformer.proj_out.weight"],
                       tiny_weights[1]["ema_model.transformer.proj_out.weight"])
    # a pickled object that is not plain tensors is refused by weights_only
    torch.save({"ema_model_state_dict": tiny_weights[1], "evil": object()}, str(folder / "model_1250000.pt"))
    with pytest.raises(Exception, match="[Ww]eights.only|Unsupported"):
        F5Backend(BackendOptions(weights_dir=str(folder), threads=1))


def test_cuda_request_without_cuda_falls_back_to_cpu(tiny_weights: tuple[Path, dict[str, Any]]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is present; the gpu test covers it")
    backend = F5Backend(BackendOptions(device="cuda", weights_dir=str(tiny_weights[0]), threads=1))
    assert backend.device.type == "cpu"
    assert len(backend.synthesize(_request(target_seconds=0.3)).audio) == round(0.3 * RATE)


@pytest.mark.gpu
def test_runs_on_cuda(tiny_weights: tuple[Path, dict[str, Any]]) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    backend = F5Backend(BackendOptions(device="cuda", weights_dir=str(tiny_weights[0])))
    assert backend.device.type == "cuda"
    assert all(p.device.type == "cuda" for p in backend.model.parameters())
    assert all(p.device.type == "cuda" for p in backend.vocoder_backbone.parameters())
    out = backend.synthesize(_request(target_seconds=0.75))
    assert len(out.audio) == round(0.75 * RATE) and np.all(np.isfinite(out.audio))


def test_revoice_voices_lists_f5_unavailable_until_weights_are_given(
        tiny_weights: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from revoice.cli import EXIT_BAD_INPUT, EXIT_OK, main

    monkeypatch.delenv(f5_voice.ENV_WEIGHTS, raising=False)
    assert main(["voices", "--json"]) == EXIT_OK
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert {"f5", "indextts2", "cosyvoice"} <= set(rows)
    for name in ("f5", "indextts2", "cosyvoice"):
        assert rows[name]["available"] is False and "no weights folder" in rows[name]["reason"]
        assert rows[name]["licence"]
    assert "CC-BY-NC-4.0" in rows["f5"]["licence"]

    assert main(["voices", "--json", "--weights", f"f5={tiny_weights[0]}"]) == EXIT_OK
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["f5"]["available"] is True and rows["f5"]["reason"] is None
    assert rows["cosyvoice"]["available"] is False  # the folder is given to f5 only

    assert main(["voices", "--weights", f"f5={tiny_weights[0]}"]) == EXIT_OK
    table = capsys.readouterr().out
    assert "f5  (F5-TTS" in table and "licence: code MIT (f5-tts, vocos); weights CC-BY-NC-4.0" in table
    assert main(["voices", "--weights", "nobackend=/x"]) == EXIT_BAD_INPUT
    assert main(["voices", "--weights", "f5"]) == EXIT_BAD_INPUT
