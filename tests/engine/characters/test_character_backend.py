"""The profiled backend: profile voices over stock backends, tint, strength, cross-lingual, render keys."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from revoice.engine.characters.character_backend import ProfiledBackend
from revoice.engine.characters.profile import VoiceProfile
from revoice.engine.characters.tint import VoiceMatch, VoiceTint
from revoice.engine.model import DialogueLine, FrameRange
from revoice.engine.render import Revoicer
from revoice.engine.voices.base import (
    Synthesis,
    SynthesisRequest,
    VoiceBackend,
    assemble_synthesis,
)
from stand_in_voice import StandInVoice

RATE = 22050


class BuzzBackend(StandInVoice):
    """A deterministic voiced buzz (120 Hz pulse train through a resonance), two words with a pause."""

    def __init__(self, name: str, languages: tuple[str, ...], voices: tuple[str, ...]) -> None:
        super().__init__(name, languages=languages, voices=voices, sample_rate=RATE)

    def sound(self, request: SynthesisRequest) -> Synthesis:
        n = int(0.6 * RATE * request.duration_scale)
        t = np.arange(n) / RATE
        word = (0.3 * np.sign(np.sin(2 * np.pi * 120 * t)) * np.sin(np.pi * t / t[-1])).astype(np.float32)
        word = np.convolve(word, np.hanning(40) / 20, mode="same").astype(np.float32)
        pause = np.zeros(int(0.2 * RATE), np.float32)
        return assemble_synthesis([word, pause, word], [("a", n), (" ", len(pause)), ("b", n)], RATE)


def match(language: str, backend: str, voice: str, *, pitch_semitones: float = 0.0,
          formant_ratio: float = 1.0) -> VoiceMatch:
    tint = VoiceTint(pitch_semitones=pitch_semitones, formant_ratio=formant_ratio)
    return VoiceMatch(language=language, backend=backend, voice_id=voice, tint=tint,
                      similarity_base=0.3, similarity_matched=0.5)


@pytest.fixture()
def english() -> BuzzBackend:
    return BuzzBackend("buzz_en", ("en",), ("bob", "amy"))


@pytest.fixture()
def mandarin() -> BuzzBackend:
    return BuzzBackend("buzz_zh", ("zh",), ("wei",))


def nell(strength: float = 1.0) -> VoiceProfile:
    return VoiceProfile(name="NELL", matches=(match("en", "buzz_en", "amy", pitch_semitones=3.0, formant_ratio=1.1),),
                        strength=strength)


def test_profile_voice_speaks_the_matched_base_voice_with_the_tint(english: BuzzBackend) -> None:
    backend = ProfiledBackend(primary=english, profiles=[nell()])
    assert isinstance(backend, VoiceBackend) and backend.spec.name == "profile+buzz_en"
    assert [v.voice_id for v in backend.voices()] == ["bob", "amy", "NELL"]  # the stock default stays first
    plain = english.synthesize(SynthesisRequest(text="hi", voice_id="amy"))
    tinted = backend.synthesize(SynthesisRequest(text="hi", voice_id="NELL", duration_scale=1.0, seed=7))
    assert english.calls[-1].voice_id == "amy" and english.calls[-1].seed == 7
    assert tinted.audio.dtype == np.float32 and len(tinted.audio) == len(plain.audio)  # length-preserving
    assert tinted.segments == plain.segments and tinted.sample_rate == RATE
    assert not np.allclose(tinted.audio, plain.audio, atol=1e-3)
    # strength 0: the base voice, untouched
    untouched = ProfiledBackend(primary=english, profiles=[nell(0.0)]).synthesize(
        SynthesisRequest(text="hi", voice_id="NELL"))
    assert np.array_equal(untouched.audio, plain.audio)
    # stock voices go straight to the primary backend
    assert np.array_equal(backend.synthesize(SynthesisRequest(text="hi", voice_id="bob")).audio, plain.audio)
    facts = backend.voice_report("NELL", "en")
    assert facts is not None and facts["kind"] == "tint" and facts["base_voice"] == "amy"
    assert facts["cross_lingual"] is False and backend.voice_report("bob", "en") is None


def test_a_profile_drives_lines_in_another_language(english: BuzzBackend, mandarin: BuzzBackend) -> None:
    backend = ProfiledBackend(primary=mandarin, profiles=[nell()], backends=[english])
    out = backend.synthesize(SynthesisRequest(text="你好", voice_id="NELL", language="zh"))
    assert mandarin.calls[-1].voice_id == "wei" and len(out.audio) == len(
        mandarin.synthesize(SynthesisRequest(text="你好", voice_id="wei", language="zh")).audio)
    facts = backend.voice_report("NELL", "zh")
    assert facts is not None and facts["cross_lingual"] and facts["base_backend"] == "buzz_zh"
    assert facts["match_language"] == "en"
    # with its own zh match, that one is used
    both = dataclasses.replace(nell(), matches=nell().matches + (match("zh", "buzz_zh", "wei", pitch_semitones=1.0),))
    facts = ProfiledBackend(primary=mandarin, profiles=[both], backends=[english]).voice_report("NELL", "zh")
    assert facts is not None and not facts["cross_lingual"] and facts["match_language"] == "zh"


def test_unusable_profiles_fail_with_a_reason(english: BuzzBackend) -> None:
    with pytest.raises(ValueError, match="collide"):
        ProfiledBackend(primary=english, profiles=[dataclasses.replace(nell(), name="amy")])
    bare = ProfiledBackend(primary=english, profiles=[VoiceProfile(name="NAGG")])
    with pytest.raises(ValueError, match="no voice match"):
        bare.synthesize(SynthesisRequest(text="hi", voice_id="NAGG"))
    elsewhere = VoiceProfile(name="NAGG", matches=(match("en", "neural", "x"),))
    with pytest.raises(ValueError, match="not loaded"):
        ProfiledBackend(primary=english, profiles=[elsewhere]).synthesize(SynthesisRequest(text="hi", voice_id="NAGG"))


def test_render_key_follows_the_profile_and_the_report_names_it(english: BuzzBackend, tmp_path: Path) -> None:
    line = DialogueLine(line_id="L0001", text="Yes.", speaker="NELL", language="en", record=FrameRange(0, 48, 24.0))

    def revoicer(profile: VoiceProfile) -> Revoicer:
        return Revoicer(backend=ProfiledBackend(primary=english, profiles=[profile]),
                        voices_by_speaker={"NELL": "NELL"})

    key = revoicer(nell()).render_key(line)
    assert revoicer(nell()).render_key(line) == key
    assert revoicer(nell(0.5)).render_key(line) != key
    assert revoicer(dataclasses.replace(nell(), created="later")).render_key(line) == key
    rendered = revoicer(nell()).render_line(line, out_dir=tmp_path)
    assert rendered.backend == "profile+buzz_en" and rendered.voice_id == "NELL"
    use = rendered.report.voice_profile
    assert use is not None and use.name == "NELL" and use.kind == "tint"
