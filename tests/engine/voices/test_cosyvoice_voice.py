"""The CosyVoice2/3 backend: availability reasons, weights-folder checks, prompt handling, lazy import.

The official CosyVoice is not on PyPI (the PyPI 'cosyvoice' is an unrelated
wrapper) and its frontend needs torchaudio, which does not load next to CPU
torch 2.13; the model test runs only where a user installed the repository and
skips elsewhere with the availability reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from backend_checks import heavy_modules_imported, installed_backend
from revoice.engine.emotion.labels import Emotion
from revoice.engine.voices import cosyvoice_voice
from revoice.engine.voices.base import BackendOptions, SynthesisRequest
from revoice.engine.voices.cosyvoice_voice import (
    SPEC,
    CosyVoiceBackend,
    emotion_instruction,
    missing_weight_files,
    model_version,
    prompt_text,
)
from revoice.engine.voices.emotion_args import with_emotion
from revoice.engine.voices.registry import describe_backends


def test_import_is_lazy() -> None:
    heavy = ("torch", "cosyvoice", "transformers", "torchaudio")
    assert heavy_modules_imported("revoice.engine.voices.cosyvoice_voice", heavy, weights_dir="/x") == []


def test_spec() -> None:
    assert SPEC.name == "cosyvoice" and SPEC.sample_rate == 24000
    assert not SPEC.native_duration_control and not SPEC.needs_gpu
    assert SPEC.licence.count("Apache-2.0") == 2
    assert SPEC.emotion_control == ("text",)
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


@pytest.mark.parametrize(("emotion", "strength", "language", "expected"), [
    (None, 1.0, "en", None),
    ("neutral", 1.0, "en", None),
    ("angry", 0.0, "en", None),
    ("angry", 1.0, "en-GB", "Speak in a very angry tone."),
    ("angry", 1.0, "zh-CN", "用非常愤怒的语气说"),
    ("Happy:0.5", 1.0, "en", "Speak in a happy tone."),
    ("sad", 0.5, "yue", "用伤心的语气说"),
    ("afraid", 0.3, "en", "Speak in a slightly fearful tone."),
    ("calm", 0.2, "zh", "用略带平静的语气说"),
    ("whisper", 1.0, "en", "Speak in a whisper."),
    ("whisper", 1.0, "zh", "用耳语的方式说"),
    ("angrily, voice shaking", 0.4, "zh", "Speak like this: angrily, voice shaking."),
    ("angry: voice shaking.", 1.0, "en", "Speak like this: angry: voice shaking."),
    ("悲伤地低语", 0.6, "en", "用这样的语气说：悲伤地低语"),
])
def test_emotion_instruction(emotion: str | None, strength: float, language: str, expected: str | None) -> None:
    assert emotion_instruction(emotion, strength=strength, language=language) == expected


class StandInCosyVoice:
    """Records CosyVoice2/3 inference calls and reads the prompt WAV while it exists.

    Upstream signatures: ``inference_zero_shot(tts_text, prompt_text, prompt_wav, zero_shot_spk_id='', stream=False,
    speed=1.0, text_frontend=True)`` and ``inference_instruct2(tts_text, instruct_text, prompt_wav,
    zero_shot_spk_id='', stream=False, speed=1.0, text_frontend=True)``, each yielding ``{"tts_speech": tensor}``.
    """

    sample_rate = 24000

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []
        self.prompt: tuple[np.ndarray, int] | None = None

    def _speech(self, method: str, tts_text: str, second: str, prompt_wav: str, options: dict[str, Any]) -> \
            Iterator[dict[str, Any]]:
        import torch

        self.calls.append((method, tts_text, second, options))
        audio, rate = sf.read(prompt_wav, dtype="float32")
        self.prompt = (audio, rate)
        yield {"tts_speech": torch.full((1, 2400), 0.25)}

    def inference_zero_shot(self, tts_text: str, prompt_text: str, prompt_wav: str, **options: Any) -> \
            Iterator[dict[str, Any]]:
        return self._speech("zero_shot", tts_text, prompt_text, prompt_wav, options)

    def inference_instruct2(self, tts_text: str, instruct_text: str, prompt_wav: str, **options: Any) -> \
            Iterator[dict[str, Any]]:
        return self._speech("instruct2", tts_text, instruct_text, prompt_wav, options)


SPEAKER = (0.2 * np.sin(2 * np.pi * 180 * np.arange(16000) / 16000)).astype(np.float32)


def _spoken(version: str = "CosyVoice2", **fields: Any) -> StandInCosyVoice:
    model = StandInCosyVoice()
    request = SynthesisRequest(text="Get out.", voice_id="reference", reference_audio=SPEAKER,
                               reference_sample_rate=16000, duration_scale=0.8, **fields)
    out = CosyVoiceBackend.from_model(model, version=version).synthesize(request)
    assert out.sample_rate == 24000 and len(out.audio) == 2400 and float(out.audio[0]) == 0.25
    assert model.prompt is not None and model.prompt[1] == 16000 and np.allclose(model.prompt[0], SPEAKER)
    return model


@pytest.mark.parametrize(("version", "fields", "instruction"), [
    ("CosyVoice2", {"emotion": "angry", "emotion_strength": 0.9}, "Speak in a very angry tone.<|endofprompt|>"),
    ("CosyVoice3", {"emotion": "angry", "emotion_strength": 0.9, "language": "zh"},
     "You are a helpful assistant. 用非常愤怒的语气说<|endofprompt|>"),
    ("CosyVoice2", {"emotion": "悲伤地低语", "emotion_strength": 0.6}, "用这样的语气说：悲伤地低语<|endofprompt|>"),
])
def test_label_or_description_runs_instruct_mode(version: str, fields: dict[str, Any], instruction: str) -> None:
    model = _spoken(version, **fields)
    assert model.calls == [("instruct2", "Get out.", instruction, {"stream": False, "speed": 1.25})]


def test_label_from_the_renderer_reaches_instruct_mode() -> None:
    request = with_emotion(SynthesisRequest(text="", voice_id="reference"),
                           Emotion(method="label", label="sad", intensity=0.5, description="sadly"),
                           spec=SPEC)
    model = _spoken(emotion=request.emotion, emotion_strength=request.emotion_strength)
    assert model.calls[0][:3] == ("instruct2", "Get out.", "Speak like this: sadly.<|endofprompt|>")


@pytest.mark.parametrize("emotion", [None, "neutral", "calm:0"])
def test_neutral_runs_zero_shot_with_the_transcript(emotion: str | None) -> None:
    model = _spoken("CosyVoice3", emotion=emotion, reference_text="A test tone.")
    assert model.calls == [("zero_shot", "Get out.", "You are a helpful assistant.<|endofprompt|>A test tone.",
                            {"stream": False, "speed": 1.25})]


def test_emotion_audio_is_refused() -> None:
    with pytest.raises(ValueError, match="CosyVoice takes no emotion recording"):
        _spoken(emotion_audio=SPEAKER, emotion_sample_rate=16000)


def test_older_checkouts_get_the_prompt_as_a_tensor() -> None:
    import torch

    got: list[Any] = []

    class OldCosyVoice2:
        def inference_instruct2(self, tts_text: str, instruct_text: str, prompt_speech_16k: Any,
                                **options: Any) -> Iterator[dict[str, Any]]:
            got.append(prompt_speech_16k)
            yield {"tts_speech": torch.zeros(1, 10)}

    request = SynthesisRequest(text="Hi.", voice_id="reference", reference_audio=SPEAKER, reference_sample_rate=16000,
                               emotion="happy")
    CosyVoiceBackend.from_model(OldCosyVoice2(), version="CosyVoice2").synthesize(request)
    assert tuple(got[0].shape) == (1, 16000) and np.allclose(got[0].numpy()[0], SPEAKER)


def test_real_model() -> None:
    """Loads the user's CosyVoice and speaks; needs the package and REVOICE_COSYVOICE_WEIGHTS."""
    backend = installed_backend(SPEC)
    t = np.arange(16000 * 3) / 16000
    reference = (0.2 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    request = SynthesisRequest(text="Hello there.", voice_id="reference", reference_audio=reference,
                               reference_sample_rate=16000, reference_text="A test tone.")
    out = backend.synthesize(request)
    assert out.sample_rate == 24000 and len(out.audio) > 0
