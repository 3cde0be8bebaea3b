"""The voice bank filled ahead: after prepare_language, matching a character synthesizes nothing and re-judges
no base voice (stand-in voices, encoder and meters; no model)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

pytest.importorskip("librosa")
pytest.importorskip("parselmouth")

from revoice.engine.characters.tuning import TuningCancelled, tune_match  # noqa: E402
from revoice.engine.characters.tuning_prepare import blend_ids, prepare_language  # noqa: E402
from revoice.engine.voices.base import Synthesis, SynthesisRequest  # noqa: E402
from stand_in_voice import StandInVoice  # noqa: E402
from test_tuning_search import PITCH, RATE, Spectrum, Tones  # noqa: E402
from voiced_tone import voiced  # noqa: E402


class BlendingTones(StandInVoice):
    """Tones whose voices mix like Kokoro's styles: a blend's pitch is the weighted mean of its voices'."""

    def __init__(self) -> None:
        super().__init__("blending", languages=("en",), voices=("low", "mid", "high"), sample_rate=RATE)

    def blend_voice_id(self, weights: Mapping[str, float], *, prosody: Mapping[str, float] | None = None) -> str:
        return "+".join(f"{name}*{weight:g}" for name, weight in sorted(weights.items()))

    def sound(self, request: SynthesisRequest) -> Synthesis:
        voice = request.voice_id or "mid"
        parts = [p.split("*") for p in voice.split("+")] if "*" in voice else [[voice, "1"]]
        f0 = sum(PITCH[name] * float(weight) for name, weight in parts)
        return Synthesis(audio=voiced(RATE, 0.8 + 0.01 * len(request.text), f0=f0), sample_rate=RATE)


class Meter:
    """A stand-in naturalness meter and ear that count what they are given."""

    def __init__(self) -> None:
        self.scored = 0
        self.heard = 0

    def naturalness(self, audio: Any, rate: int) -> float:
        self.scored += 1
        return 4.0

    def transcribe(self, audio: Any, rate: int, language: str) -> str:
        self.heard += 1
        return "what was said"


def test_blend_ids_cover_every_pair_at_half_and_seven_to_three() -> None:
    ids = blend_ids(BlendingTones())
    assert len(ids) == 3 * 3 and len(set(ids)) == 9  # 3 pairs x (1:1, 7:3, 3:7)
    assert "high*0.5+low*0.5" in ids and "high*0.7+mid*0.3" in ids and "high*0.3+mid*0.7" in ids
    assert blend_ids(Tones()) == []  # a backend that does not blend: its voices only


def test_after_preparing_a_match_synthesizes_nothing_and_judges_only_its_tints() -> None:
    plain, blending, encoder = Tones(), BlendingTones(), Spectrum()
    backends = [plain, blending]
    bank: dict[Any, Any] = {}
    ahead = Meter()
    done = prepare_language("en", backends=backends, embedder=encoder, synthesis_cache=bank,
                            naturalness=ahead.naturalness, transcribe=ahead.transcribe)
    assert done.voices[:4] == ("tones:low", "tones:mid", "tones:high", "tones:higher")
    assert len(done.voices) == 4 + 3 + 9 and ahead.scored > 0 and ahead.heard > 0
    plain.calls.clear()
    blending.calls.clear()
    later = Meter()
    reference = voiced(RATE, 3.0, f0=170.0)
    tune_match(reference, RATE, language="en", backends=backends, embedder=encoder, synthesis_cache=bank,
               naturalness=later.naturalness, transcribe=later.transcribe, naturalness_reference="base")
    assert plain.calls == [] and blending.calls == []  # every base voice and blend was spoken ahead

    # without the bank the same match speaks and judges the base voices itself
    fresh = Meter()
    tune_match(reference, RATE, language="en", backends=[Tones(), BlendingTones()], embedder=encoder,
               synthesis_cache={}, naturalness=fresh.naturalness, transcribe=fresh.transcribe,
               naturalness_reference="base")
    assert later.scored < fresh.scored


def test_preparing_twice_costs_nothing_and_can_be_cancelled() -> None:
    backend, encoder, bank = Tones(), Spectrum(), {}
    prepare_language("en", backends=[backend], embedder=encoder, synthesis_cache=bank)
    backend.calls.clear()
    prepare_language("en", backends=[backend], embedder=encoder, synthesis_cache=bank)
    assert backend.calls == []
    with pytest.raises(TuningCancelled):
        prepare_language("en", backends=[backend], embedder=encoder, synthesis_cache={}, should_cancel=lambda: True)
    with pytest.raises(ValueError, match="none of the backends speaks 'zh'"):
        prepare_language("zh", backends=[backend], embedder=encoder, synthesis_cache={})


def test_shards_split_the_voices_between_them_and_together_prepare_them_all() -> None:
    backends, encoder = [Tones(), BlendingTones()], Spectrum()
    whole = prepare_language("en", backends=backends, embedder=encoder, synthesis_cache={}).voices
    parts = [prepare_language("en", backends=backends, embedder=encoder, synthesis_cache={}, shard=(i, 3)).voices
             for i in (1, 2, 3)]
    assert sorted(v for part in parts for v in part) == sorted(whole)  # each voice once, none twice
    assert all(abs(len(part) - len(whole) / 3) < 1 for part in parts)
    with pytest.raises(ValueError, match="shard 3/2"):
        prepare_language("en", backends=backends, embedder=encoder, synthesis_cache={}, shard=(3, 2))
