"""The CosyVoice2/3 backend: availability reasons, weights-folder checks, prompt handling, lazy import.

The official CosyVoice is not on PyPI (the PyPI 'cosyvoice' is an unrelated
wrapper) and its frontend needs torchaudio, which does not load next to CPU
torch 2.13; the model test runs only where a user installed the repository and
skips elsewhere with the availability reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from backend_checks import heavy_modules_imported, installed_backend
from revoice.engine.voices import cosyvoice_voice
from revoice.engine.voices.base import BackendOptions, SynthesisRequest
from revoice.engine.voices.cosyvoice_voice import SPEC, missing_weight_files, model_version, prompt_text
from revoice.engine.voices.registry import describe_backends


def test_import_is_lazy() -> None:
    heavy = ("torch", "cosyvoice", "transformers", "torchaudio")
    assert heavy_modules_imported("revoice.engine.voices.cosyvoice_voice", heavy, weights_dir="/x") == []


def test_spec() -> None:
    assert SPEC.name == "cosyvoice" and SPEC.sample_rate == 24000
    assert not SPEC.native_duration_control and not SPEC.needs_gpu
    assert SPEC.licence.count("Apache-2.0") == 2
    assert all(SPEC.supports_language(lang) for lang in ("zh", "en-GB", "ja", "ko", "fr"))


def test_without_package_or_weights_the_reason_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cosyvoice_voice.ENV_WEIGHTS, raising=False)
    reason = SPEC.availability(BackendOptions())
    assert reason is not None
    assert "no weights folder" in reason and "--weights cosyvoice=DIR" in reason and "llm.pt, flow.pt" in reason
    if cosyvoice_voice.package_missing() is not None:
        assert "FunAudioLLM/CosyVoice" in reason
    row = describe_backends([SPEC], BackendOptions())[0]
    assert row["available"] is False and row["reason"] == reason


def test_unrelated_pypi_cosyvoice_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.machinery
    import importlib.util

    package = tmp_path / "cosyvoice"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "api.py").write_text("", encoding="utf-8")
    real = importlib.util.find_spec

    def fake(name: str, *args: object) -> object:
        if name == "cosyvoice":
            spec = importlib.machinery.ModuleSpec("cosyvoice", None, is_package=True)
            spec.submodule_search_locations = [str(package)]
            return spec
        return real(name)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    assert "is not FunAudioLLM's" in (cosyvoice_voice.package_missing() or "")


def test_weights_folder_checks(tmp_path: Path) -> None:
    assert missing_weight_files(tmp_path) == ["cosyvoice3.yaml or cosyvoice2.yaml"]
    (tmp_path / "cosyvoice2.yaml").write_text("", encoding="utf-8")
    assert model_version(tmp_path) == "CosyVoice2"
    assert missing_weight_files(tmp_path) == ["llm.pt", "flow.pt", "hift.pt", "campplus.onnx",
                                              "speech_tokenizer_v2.onnx", "CosyVoice-BlankEN"]
    for name in ("llm.pt", "flow.pt", "hift.pt", "campplus.onnx", "speech_tokenizer_v2.onnx"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "CosyVoice-BlankEN").mkdir()
    assert missing_weight_files(tmp_path) == []
    (tmp_path / "cosyvoice3.yaml").write_text("", encoding="utf-8")
    assert model_version(tmp_path) == "CosyVoice3"
    assert missing_weight_files(tmp_path) == ["speech_tokenizer_v3.onnx"]
    reason = SPEC.availability(BackendOptions(weights_dir=str(tmp_path)))
    assert reason is not None and "missing speech_tokenizer_v3.onnx" in reason


def test_prompt_text() -> None:
    assert prompt_text(" Hello. ", "CosyVoice2") == "Hello."
    assert prompt_text("Hello.", "CosyVoice3") == "You are a helpful assistant.<|endofprompt|>Hello."
    assert prompt_text("Be calm.<|endofprompt|>Hello.", "CosyVoice3") == "Be calm.<|endofprompt|>Hello."


def test_real_model() -> None:
    """Loads the user's CosyVoice and speaks; needs the package and REVOICE_COSYVOICE_WEIGHTS."""
    backend = installed_backend(SPEC)
    t = np.arange(16000 * 3) / 16000
    reference = (0.2 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    request = SynthesisRequest(text="Hello there.", voice_id="reference", reference_audio=reference,
                               reference_sample_rate=16000, reference_text="A test tone.")
    out = backend.synthesize(request)
    assert out.sample_rate == 24000 and len(out.audio) > 0
