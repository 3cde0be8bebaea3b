"""The Whisper base meter on real recordings (slow: loads a 145 MB model once per session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from revoice.engine.qc.asr import AsrMeter, materialize_whisper_base
from revoice.engine.qc.text_norm import cer, wer

pytestmark = pytest.mark.slow


def _read(path: Path) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(str(path), dtype="float32")
    return audio, int(rate)


def test_transcribes_real_english_speech(asr_meter: AsrMeter, shared_corpus: Path) -> None:
    audio, rate = _read(shared_corpus / "voices" / "en_nature_ref.wav")
    text = asr_meter.transcribe(audio, rate, language="en")
    assert wer("Some call me nature, others call me mother nature.", text) <= 0.1, text


def test_word_timestamps_are_ordered_seconds_inside_the_clip(asr_meter: AsrMeter, shared_corpus: Path) -> None:
    audio, rate = _read(shared_corpus / "voices" / "en_nature_ref.wav")
    result = asr_meter.transcribe(audio, rate, language="en-US", word_timestamps=True)
    assert result.words and result.words[0].text.lower().startswith("some")
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    assert all(0.0 <= w.start <= w.end <= len(audio) / rate + 0.1 for w in result.words)


def test_mandarin_comes_out_simplified(asr_meter: AsrMeter, shared_corpus: Path) -> None:
    audio, rate = _read(shared_corpus / "voices" / "zh_taiyi_ref.wav")
    text = asr_meter.transcribe(audio, rate, language="zh")
    assert "这" in text and "這" not in text, text
    assert cer("对，这就是我，万人敬仰的太乙真人。", text) <= 0.25, text


def test_damaged_model_folder_is_rebuilt(asr_meter: AsrMeter, whisper_cache: Path) -> None:
    model = whisper_cache / "model.bin"
    size = model.stat().st_size
    with open(model, "r+b") as handle:  # flip one byte, keep the size
        handle.seek(size // 2)
        byte = handle.read(1)
        handle.seek(size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert materialize_whisper_base(whisper_cache) == whisper_cache
    assert model.stat().st_size == size
    assert not list(whisper_cache.parent.glob(".whisper-base.*")), "temp folders left behind"
