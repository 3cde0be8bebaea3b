"""The IndexTTS2 backend: availability reasons, weights-folder checks, emotion mapping, lazy import.

IndexTTS2 is not on PyPI and its inference needs torchaudio (which does not
load next to CPU torch 2.13), so the model test runs only where a user has
installed the repository; elsewhere it skips with the availability reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from backend_checks import heavy_modules_imported, installed_backend
from revoice.engine.voices import indextts_voice
from revoice.engine.voices._shared import fit_length
from revoice.engine.voices.base import BackendOptions, BackendUnavailable, SynthesisRequest
from revoice.engine.voices.indextts_voice import EMOTIONS, SPEC, emotion_arguments, missing_weight_files
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
