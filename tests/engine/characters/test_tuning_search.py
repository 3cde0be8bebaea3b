"""tune_match's coarse-to-fine search with stand-in voices and a stand-in encoder (no model): who speaks what,
what the run's cache saves the next character, and the ASR veto's early stop."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

pytest.importorskip("librosa")
pytest.importorskip("parselmouth")

from revoice.engine.characters import tuning  # noqa: E402
from revoice.engine.characters.tuning import tune_match  # noqa: E402
from revoice.engine.dsp.voice_transform import band_levels_db  # noqa: E402
from revoice.engine.voices.base import Synthesis, SynthesisRequest  # noqa: E402
from heard import heard_pieces  # noqa: E402
from stand_in_voice import StandInVoice  # noqa: E402
from voiced_tone import voiced  # noqa: E402

RATE = 16000
SENTENCES = ("One short line.", "A second line.", "And a third one.")
PITCH = {"low": 100.0, "mid": 140.0, "high": 190.0, "higher": 240.0}


class Tones(StandInVoice):
    """Each voice a vowel at its own pitch; each sentence a little longer than the one before."""

    def __init__(self) -> None:
        super().__init__("tones", languages=("en",), voices=tuple(PITCH), sample_rate=RATE)

    def sound(self, request: SynthesisRequest) -> Synthesis:
        seconds = 0.8 + 0.1 * len(request.text) / 10
        return Synthesis(audio=voiced(RATE, seconds, f0=PITCH[request.voice_id]), sample_rate=RATE)


class Spectrum:
    """A stand-in speaker encoder: the long-term spectrum of the audio, normalised (fast, deterministic)."""

    def embed(self, audio: npt.NDArray[np.float32], sample_rate: int) -> npt.NDArray[np.float32]:
        levels = np.nan_to_num(band_levels_db(audio, sample_rate), nan=-60.0)
        vector = np.zeros(256, dtype=np.float32)
        vector[: levels.size] = levels - levels.mean()
        return vector / max(float(np.linalg.norm(vector)), 1e-9)

    def similarity(self, a: Any, sr_a: int, b: Any, sr_b: int) -> float:
        return float(np.dot(self.embed(a, sr_a), self.embed(b, sr_b)))


def spoken_per_voice(backend: Tones) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in backend.calls:
        counts[request.voice_id] = counts.get(request.voice_id, 0) + 1
    return counts


def test_screening_then_shortlist_then_nothing_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning, "SHORTLIST", 2)
    backend = Tones()
    reference = voiced(RATE, 2.0, f0=185.0)
    cache: dict[Any, Any] = {}
    match = tune_match(reference, RATE, language="en", backends=[backend], embedder=Spectrum(), sentences=SENTENCES,
                       synthesis_cache=cache)
    counts = spoken_per_voice(backend)
    assert set(counts) == set(PITCH)
    # every voice is screened on SCREEN_LINES sentences; the shortlist (2) and the stock voice speak them all
    assert set(counts.values()) == {tuning.SCREEN_LINES, 3}
    assert counts["low"] == 3  # the stock voice (first voice): the vetoes' reference and the fallback
    assert list(counts.values()).count(3) in (2, 3)
    assert match.voice_id in {voice for voice, n in counts.items() if n == 3}
    assert [c[1] for c in match.candidates] == list(PITCH)
    backend.calls.clear()
    again = tune_match(reference, RATE, language="en", backends=[backend], embedder=Spectrum(), sentences=SENTENCES,
                       synthesis_cache=cache)
    assert backend.calls == []  # the run's cache holds every base voice's lines and measurements
    assert (again.voice_id, again.tint, again.candidates) == (match.voice_id, match.tint, match.candidates)


def test_asr_veto_hears_the_judged_sentences_joined_in_one_window_and_keeps_the_counts() -> None:
    from revoice.engine.characters.tint import VoiceTint
    from revoice.engine.characters.tuning_judge import LISTENING_WINDOW_SECONDS, Judge
    from revoice.engine.characters.tuning_score import Candidate, speak_line

    backend, encoder = Tones(), Spectrum()
    cache: dict[Any, Any] = {}
    spoken = [speak_line(backend, "mid", "en", text, seed=0, cache=cache, embedder=encoder) for text in SENTENCES]
    candidate = Candidate(backend, "mid", RATE, [])
    candidate.use(spoken, encoder.embed(spoken[0].audio, RATE), [])
    plain = {line.audio.tobytes(): line.text for line in spoken}
    heard = {"plain": 0, "tinted": 0}
    windows: list[float] = []

    def transcribe(audio: npt.NDArray[np.float32], sample_rate: int, language: str) -> str:
        windows.append(audio.size / sample_rate)
        said = []
        for piece in heard_pieces(audio, sample_rate):
            text = plain.get(piece.tobytes())
            heard["plain" if text is not None else "tinted"] += 1
            said.append(text if text is not None else "mumble mumble mumble")  # every tint garbles the words
        return " ".join(said)

    judge = Judge(SENTENCES, "en", 1.0, lambda: None, naturalness=None, transcribe=transcribe, cache=cache)
    assert judge.verdict(candidate, VoiceTint(), candidate) is not None and heard == {"plain": 3, "tinted": 0}
    assert len(windows) == 1 and windows[0] <= LISTENING_WINDOW_SECONDS["en"]  # three sentences, one ASR call
    assert judge.verdict(candidate, VoiceTint(pitch_semitones=2.0), candidate) is None
    assert heard == {"plain": 3, "tinted": 3} and len(windows) == 2
    assert judge.errors(candidate, VoiceTint(pitch_semitones=2.0)) == (10, 10)  # counted: nothing heard again
    assert heard == {"plain": 3, "tinted": 3}
    # the base voice's own counts are kept in the run's cache for the next character's judge
    again = Judge(SENTENCES, "en", 1.0, lambda: None, naturalness=None, transcribe=transcribe, cache=cache)
    assert again.errors(candidate, VoiceTint()) == (0, 10) and heard["plain"] == 3


def test_asr_veto_hears_window_after_window_and_stops_once_the_tint_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from revoice.engine.characters import tuning_judge
    from revoice.engine.characters.tint import VoiceTint
    from revoice.engine.characters.tuning_judge import Judge
    from revoice.engine.characters.tuning_score import Candidate, speak_line

    backend, encoder = Tones(), Spectrum()
    cache: dict[Any, Any] = {}
    spoken = [speak_line(backend, "mid", "en", text, seed=0, cache=cache, embedder=encoder) for text in SENTENCES]
    monkeypatch.setattr(tuning_judge, "LISTENING_WINDOW_SECONDS", {"en": max(len(s.audio) for s in spoken) / RATE})
    candidate = Candidate(backend, "mid", RATE, [])
    candidate.use(spoken, encoder.embed(spoken[0].audio, RATE), [])
    plain = {line.audio.tobytes(): line.text for line in spoken}
    heard: list[str] = []

    def transcribe(audio: npt.NDArray[np.float32], sample_rate: int, language: str) -> str:
        said = []
        for piece in heard_pieces(audio, sample_rate):
            text = plain.get(piece.tobytes())
            heard.append(text if text is not None else "tinted")
            said.append(text if text is not None else "mumble mumble mumble")  # every tint garbles the words
        return " ".join(said)

    judge = Judge(SENTENCES, "en", 1.0, lambda: None, naturalness=None, transcribe=transcribe, cache=cache)
    assert judge.errors(candidate, VoiceTint()) == (0, 10) and heard == list(SENTENCES)  # one window each, in order
    heard.clear()
    # 10 words, none misheard untinted: a tint is refused beyond 1 misheard word, which is certain after its
    # first window (3 words wrong): the other two are not heard
    assert judge.verdict(candidate, VoiceTint(pitch_semitones=2.0), candidate) is None
    assert heard == ["tinted"]
    assert judge.errors(candidate, VoiceTint(pitch_semitones=2.0)) == (10, 10)  # asked in full: the rest heard
    assert heard == ["tinted"] * 3


def test_listening_windows_group_consecutive_sentences_up_to_the_window() -> None:
    from revoice.engine.characters.tuning_judge import JOIN_GAP_SECONDS, listening_windows

    assert listening_windows([], window_seconds=28.0) == []
    assert listening_windows([2.0] * 12, window_seconds=28.0) == [list(range(11)), [11]]  # 11 x 2 s + 10 gaps: 27 s
    assert listening_windows([30.0, 1.0, 1.0], window_seconds=28.0) == [[0], [1, 2]]  # a long one is heard alone
    spans = [sum([2.0] * len(w)) + JOIN_GAP_SECONDS * (len(w) - 1)
             for w in listening_windows([2.0] * 40, window_seconds=28.0)]
    assert max(spans) <= 28.0
    assert listening_windows([2.0, 2.0], window_seconds=0.0) == [[0], [1]]  # not joined: one sentence a call


def test_mandarin_is_heard_sentence_by_sentence() -> None:
    from revoice.engine.characters.tuning_judge import LISTENING_WINDOW_SECONDS

    assert LISTENING_WINDOW_SECONDS.get("zh", 0.0) == 0.0 and LISTENING_WINDOW_SECONDS["en"] > 0
