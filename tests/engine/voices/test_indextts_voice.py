"""The IndexTTS2 backend: availability reasons, weights-folder checks, emotion mapping, lazy import.

IndexTTS2 is not on PyPI and its inference needs torchaudio (which does not
load next to CPU torch 2.13), so the model test runs only where a user has
installed the repository; elsewhere it skips with the availability reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from backend_checks import heavy_modules_imported, installed_backend
from revoice.engine.emotion.labels import Emotion
from revoice.engine.voices import indextts_voice
from revoice.engine.voices._shared import fit_length
from revoice.engine.voices.base import BackendOptions, BackendUnavailable, SynthesisRequest
from revoice.engine.voices.emotion_args import with_emotion
from revoice.engine.voices.indextts_voice import (
    EMOTIONS,
    SPEC,
    IndexTTS2Backend,
    emotion_arguments,
    label_vector,
    missing_weight_files,
)
from revoice.engine.voices.registry import describe_backends, load_backend


def _complete_folder(folder: Path) -> Path:
    (folder / "config.yaml").write_text("gpt_checkpoint: gpt.pth\ns2mel_checkpoint: s2mel.pth\n"
                                        "dataset:\n  bpe_model: bpe.model\nvocoder:\n  name: nvidia/bigvgan_x\n",
                                        encoding="utf-8")
    for name in ("gpt.pth", "s2mel.pth", "bpe.model", "wav2vec2bert_stats.pt", "feat1.pt", "feat2.pt"):
        (folder / name).write_bytes(b"")
    (folder / "qwen0.6bemo4-merge").mkdir()
    for repo in ("facebook--w2v-bert-2.0", "amphion--MaskGCT", "funasr--campplus", "nvidia--bigvgan_x"):
        (folder / "hf_cache" / f"models--{repo}").mkdir(parents=True)
    return folder


def test_import_is_lazy() -> None:
    heavy = ("torch", "indextts", "transformers", "torchaudio")
    assert heavy_modules_imported("revoice.engine.voices.indextts_voice", heavy, weights_dir="/x") == []


def test_spec() -> None:
    assert SPEC.name == "indextts2" and SPEC.sample_rate == 22050
    assert not SPEC.native_duration_control and SPEC.needs_gpu
    assert SPEC.emotion_control == ("reference", "vector", "text")
    assert "Apache-2.0" in SPEC.licence and "bilibili" in SPEC.licence
    assert SPEC.supports_language("zh-CN") and SPEC.supports_language("en")


def test_without_package_or_weights_the_reason_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(indextts_voice.ENV_WEIGHTS, raising=False)
    reason = SPEC.availability(BackendOptions())
    assert reason is not None
    if indextts_voice.package_missing() is not None and "package 'indextts' is not installed" in reason:
        assert "pip install -e <checkout>" in reason
    assert "no weights folder" in reason and "--weights indextts2=DIR" in reason and "gpt.pth, s2mel.pth" in reason
    row = describe_backends([SPEC], BackendOptions())[0]
    assert row["available"] is False and row["reason"] == reason and "bilibili" in row["licence"]
    with pytest.raises(BackendUnavailable, match="indextts2: "):
        load_backend(SPEC, BackendOptions())


def test_weights_folder_lists_each_missing_file(tmp_path: Path) -> None:
    assert missing_weight_files(tmp_path) == ["config.yaml"]
    folder = _complete_folder(tmp_path)
    assert missing_weight_files(folder) == []
    (folder / "s2mel.pth").unlink()
    (folder / "hf_cache" / "models--amphion--MaskGCT").rmdir()
    assert missing_weight_files(folder) == [
        "s2mel.pth", "hf_cache/models--amphion--MaskGCT (Hugging Face cache of amphion/MaskGCT)"]
    reason = SPEC.availability(BackendOptions(weights_dir=str(folder)))
    assert reason is not None and f"IndexTTS2 weights folder {folder} is incomplete: missing s2mel.pth" in reason


def test_emotion_mapping() -> None:
    assert emotion_arguments(None) == {} and emotion_arguments("  ") == {}
    assert emotion_arguments("Sad") == {"emo_vector": [0.8 if e == "sad" else 0.0 for e in EMOTIONS]}
    mixed = emotion_arguments("happy:0.6, surprised:0.2")["emo_vector"]
    assert mixed[EMOTIONS.index("happy")] == 0.6 and mixed[EMOTIONS.index("surprised")] == 0.2 and sum(mixed) == 0.8
    assert emotion_arguments("quietly furious") == {"use_emo_text": True, "emo_text": "quietly furious"}
    with pytest.raises(ValueError, match="unknown emotion 'grumpy'"):
        emotion_arguments("grumpy:0.5")
    with pytest.raises(ValueError, match="outside"):
        emotion_arguments("sad:3")
    assert emotion_arguments("angry: voice shaking") == {"use_emo_text": True, "emo_text": "angry: voice shaking"}


class StandInIndexTTS2:
    """Records what the adapter passes to ``IndexTTS2.infer`` and reads the WAV files while they exist.

    Upstream signature: ``infer(spk_audio_prompt, text, output_path, emo_audio_prompt=None, emo_alpha=1.0,
    emo_vector=None, use_emo_text=False, emo_text=None, use_random=False, interval_silence=200, verbose=False,
    max_text_tokens_per_segment=120, stream_return=False, more_segment_before=0, **generation_kwargs)``;
    returns ``(sample_rate, int16 samples)``.
    """

    def __init__(self) -> None:
        self.kwargs: dict[str, Any] = {}
        self.files: dict[str, tuple[np.ndarray, int]] = {}

    def infer(self, spk_audio_prompt: str, text: str, output_path: str | None, **kwargs: Any) -> tuple[int, Any]:
        self.kwargs = {"spk_audio_prompt": spk_audio_prompt, "text": text, "output_path": output_path, **kwargs}
        for key in ("spk_audio_prompt", "emo_audio_prompt"):
            if key in self.kwargs:
                audio, rate = sf.read(self.kwargs[key], dtype="float32")
                self.files[key] = (audio, rate)
        return 22050, np.full(2205, 16383, np.int16)


SPEAKER = (0.2 * np.sin(2 * np.pi * 180 * np.arange(8000) / 16000)).astype(np.float32)
TAKE = (0.3 * np.sin(2 * np.pi * 240 * np.arange(12000) / 24000)).astype(np.float32)


def _said(**emotion: Any) -> tuple[dict[str, Any], StandInIndexTTS2]:
    """The emotion kwargs ``infer`` got for a request with ``emotion`` fields, and the stand-in."""
    model = StandInIndexTTS2()
    request = SynthesisRequest(text="Get out.", voice_id="reference", reference_audio=SPEAKER,
                               reference_sample_rate=16000, **emotion)
    out = IndexTTS2Backend.from_model(model).synthesize(request)
    assert out.sample_rate == 22050 and len(out.audio) == 2205 and abs(float(out.audio[0]) - 0.5) < 1e-3
    common = {"spk_audio_prompt", "text", "output_path", "verbose"}
    assert model.kwargs["text"] == "Get out." and model.kwargs["output_path"] is None
    assert model.kwargs["verbose"] is False
    speaker, rate = model.files["spk_audio_prompt"]
    assert rate == 16000 and np.array_equal(speaker, SPEAKER)
    return {key: value for key, value in model.kwargs.items() if key not in common}, model


def test_original_take_is_the_emotion_reference_wav() -> None:
    request = with_emotion(SynthesisRequest(text="", voice_id="reference"), Emotion(method="original", strength=0.6),
                           spec=SPEC, audio=TAKE, sample_rate=24000)
    kwargs, model = _said(emotion=request.emotion, emotion_audio=request.emotion_audio,
                          emotion_sample_rate=request.emotion_sample_rate, emotion_strength=request.emotion_strength)
    path = kwargs.pop("emo_audio_prompt")
    assert kwargs == {"emo_alpha": 0.6}
    audio, rate = model.files["emo_audio_prompt"]
    assert rate == 24000 and np.array_equal(audio, TAKE)
    assert path != model.kwargs["spk_audio_prompt"] and not Path(path).exists()


@pytest.mark.parametrize(("emotion", "strength", "expected"), [
    (None, 1.0, {}),
    ("neutral", 1.0, {}),
    ("angry", 0.0, {}),
    ("angry", 0.5, {"emo_vector": [0.0, 0.35, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]}),
    ("Sad", 1.0, {"emo_vector": [0.0, 0.0, 0.8, 0.0, 0.0, 0.0, 0.0, 0.0]}),
    ("surprised", 1.0, {"emo_vector": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.55, 0.0]}),
    ("whisper", 0.5, {"emo_vector": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.15]}),
    ("melancholic", 1.0, {"emo_vector": [0.0, 0.0, 0.0, 0.0, 0.0, 0.8, 0.0, 0.0]}),
    ("happy:0.6,surprised:0.2", 0.5, {"emo_vector": [0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.0]}),
    ("悲伤地低语", 0.6, {"use_emo_text": True, "emo_text": "悲伤地低语", "emo_alpha": 0.6}),
    ("angrily, voice shaking", 1.0, {"use_emo_text": True, "emo_text": "angrily, voice shaking", "emo_alpha": 1.0}),
])
def test_label_vector_and_description_kwargs(emotion: str | None, strength: float, expected: dict[str, Any]) -> None:
    assert _said(emotion=emotion, emotion_strength=strength)[0] == expected


def test_label_vector_stays_within_the_models_sum() -> None:
    for label in ("happy", "sad", "angry", "afraid", "surprised", "disgusted", "calm", "whisper"):
        vector = label_vector(label, 1.0)
        assert 0.0 < sum(vector) <= 0.8 and sum(1 for weight in vector if weight) == 1
    assert label_vector("neutral", 1.0) == [0.0] * len(EMOTIONS)
    with pytest.raises(ValueError, match="unknown emotion label 'grumpy'"):
        label_vector("grumpy", 1.0)


@pytest.mark.parametrize(("fields", "message"), [
    ({"emotion": "angry", "emotion_audio": TAKE, "emotion_sample_rate": 24000}, "either an emotion recording"),
    ({"emotion_audio": TAKE}, "emotion_audio needs emotion_sample_rate"),
    ({"emotion_audio": np.zeros((2, 10), np.float32), "emotion_sample_rate": 24000}, "non-empty mono"),
])
def test_bad_emotion_requests_say_why(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _said(**fields)


def test_fit_length() -> None:
    audio = np.ones(10, np.float32)
    assert len(fit_length(audio, 4)) == 4 and len(fit_length(audio, 15)) == 15
    assert fit_length(audio, 15)[10:].tolist() == [0.0] * 5


def test_real_model(tmp_path: Path) -> None:
    """Loads the user's IndexTTS2 and checks exact length; needs the package and REVOICE_INDEXTTS2_WEIGHTS."""
    backend = installed_backend(SPEC)
    t = np.arange(22050 * 3) / 22050
    reference = (0.2 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    out = backend.synthesize(SynthesisRequest(text="Hello there.", voice_id="reference", reference_audio=reference,
                                              reference_sample_rate=22050, target_seconds=1.5, emotion="calm"))
    assert len(out.audio) == round(1.5 * 22050)
