"""The vetoes of :func:`revoice.engine.characters.tuning.tune_match`: naturalness and intelligibility.

:class:`Judge` measures a setting (a base voice with a tint) on the judged
sentences: naturalness (e.g. DistillMOS) and ASR errors, each memoised per
setting and, for a base voice untinted, in the run's ``synthesis_cache``
(:class:`JudgedKey`), so later characters do not measure it again.
:func:`acceptable_choice` walks the best settings in order and returns the
first that passes.

Intelligibility first: with a transcriber, every setting is also judged against
the language's stock voice (the first candidate) untinted, on the same judged
sentences through the same ASR: one that mishears more than the stock voice
plus a little noise (:data:`MAX_ERRORS_OVER_STOCK`) is not chosen, whatever its
similarity; a base voice (or blend) that fails this untinted takes none of its
tints with it. The stock voice always passes against itself, so it is the fallback.
What the vetoes cost is kept: :class:`Choice` lists the settings refused for
intelligibility, from which tune_match reports the similarity given up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
from revoice.engine.characters.tint import VoiceTint, tint_line
from revoice.engine.characters.tuning_score import Candidate, SynthesisCache
from revoice.engine.dsp.voice_transform import PreparedLine
from revoice.engine.language import base_language
from revoice.engine.voices.base import AudioArray

MAX_NATURALNESS_DROP = 0.3
"""With a ``naturalness`` meter, the matched voice may score at most this much below the stock voice on the
tuning sentences. DistillMOS per line varies +-0.5, so 4 sentences decide little either way: 0.2 vetoed
jm_kumo for beckett (-0.29 on the tuning lines, -0.11 on new ones) yet passed jf_tebukuro (-0.10, -0.42)."""
MAX_ERROR_RISE = 0.02
"""With a ``transcribe`` function, the matched voice may mishear at most this share of the tuning sentences'
words (Mandarin: characters) more than its base voice untinted (a blend: its strongest voice), and at
least one word: 4 sentences hold ~35 words, and one word either way is ASR noise. Catches shifts that garble
speech (the bench's WER rises of 7-11 points came from tints that DistillMOS passed)."""
MAX_ERRORS_OVER_STOCK = 0.01
"""With a ``transcribe`` function, a setting (a base voice untinted or tinted) may mishear at most this share of
the judged sentences' words (Mandarin: characters) more than the language's stock voice untinted, and at least
one word: pooled over the 12 default judged sentences (~115 English words with the numbers spelled out, ~130 Mandarin characters) that is one
misheard word, so one word on one sentence never decides, while the issue's case ("6th spoon" for "six spoons":
two words) does. Numbers written as digits by the ASR count as the spoken words (``6`` = ``six``, but ``6th`` is
``sixth``: :func:`revoice.engine.qc.text_norm.normalize_text`)."""
JOIN_GAP_SECONDS = 0.5
"""Silence between judged sentences heard together by the ASR."""
LISTENING_WINDOW_SECONDS: Mapping[str, float] = MappingProxyType({"en": 28.0})
"""Per base language, the ASR hears the judged sentences joined into windows of at most this much audio (s);
other languages are heard sentence by sentence. Whisper encodes a 30 s window however short the clip, so twelve
English sentences heard in two windows cost 3.3 s instead of 11.0 s, with the same errors (0 and 0 on the stock
voice). Not Mandarin: Whisper base misheard the joined stock voice more (17-19 characters against 15), and a blend
then passed that doubled the held-out CER (bench/voice.py, zh_taiyi_ref)."""
ERRORS_METER = "errors-joined"
"""The error counts' meter name in the synthesis cache (:class:`JudgedKey`) where sentences are heard joined
(counts made sentence by sentence keep the name "errors"; the two are never mixed)."""
NATURALNESS_CHECKS = 10
"""With a ``naturalness`` or ``transcribe`` meter, at most this many best settings are judged before falling back."""
CHECKS_PER_VOICE = 4
"""... and at most this many per base voice, so one voice's near-identical settings cannot use them all."""


@dataclass(frozen=True)
class Verdict:
    """How a chosen setting scored against its reference (None: that meter was not given)."""

    naturalness: float | None
    naturalness_reference: float | None
    error_rate: float | None
    error_rate_reference: float | None
    error_rate_stock: float | None = None
    """ASR error rate of the language's stock voice untinted on the same sentences (None: not compared)."""


@dataclass(frozen=True)
class Assessment:
    """A setting's verdict, or why it was refused."""

    verdict: Verdict | None
    """None when a meter vetoed the setting."""
    refused_for: str = ""
    """"" (passed), "naturalness" or "intelligibility" (misheard more than its base voice or the stock voice)."""


@dataclass(frozen=True)
class Choice:
    """What :func:`acceptable_choice` chose, and what it refused for intelligibility on the way."""

    candidate: Candidate
    tint: VoiceTint
    verdict: Verdict
    refused: tuple[tuple[Candidate, VoiceTint], ...] = ()
    """Settings refused for intelligibility (a base voice refused untinted stands for all its settings: its best
    tint is listed), best first."""


@dataclass(frozen=True)
class JudgedKey:
    """Key of a base voice's untinted scores in a run's synthesis cache (one meter, one set of sentences)."""

    meter: str
    """"naturalness" or :data:`ERRORS_METER`."""
    backend: str
    voice_id: str
    language: str
    texts: tuple[str, ...]
    seed: int


class Judge:
    """Naturalness and ASR error rate of a candidate with a tint on the judged sentences (memoised per setting).

    The judged sentences are the candidate's tuning lines plus ``extra`` ones
    (spoken on demand by ``speak_extra``). ``cache``: the run's synthesis
    cache, where the scores of base voices untinted are kept for later
    characters (``seed`` is part of their key).
    """

    def __init__(self, texts: Sequence[str], language: str, strength: float, check: Callable[[], None], *,
                 naturalness: Callable[[AudioArray, int], float] | None,
                 transcribe: Callable[[AudioArray, int, str], str] | None,
                 extra: Sequence[str] = (),
                 speak_extra: Callable[[Candidate, Sequence[str]], list[AudioArray]] | None = None,
                 cache: SynthesisCache | None = None, seed: int = 0) -> None:
        self.texts = (*texts, *extra) if speak_extra is not None else tuple(texts)
        self.extra = tuple(extra) if speak_extra is not None else ()
        self.language, self.strength, self.check = language, strength, check
        self.naturalness, self.transcribe, self.speak_extra = naturalness, transcribe, speak_extra
        self.cache: SynthesisCache = {} if cache is None else cache
        self.seed = seed
        self._window_seconds = LISTENING_WINDOW_SECONDS.get(base_language(language), 0.0)
        self._errors_meter = ERRORS_METER if self._window_seconds > 0 else "errors"
        self._mos: dict[tuple[int, VoiceTint], float] = {}
        self._err: dict[tuple[int, VoiceTint], tuple[int, int, int]] = {}
        self._tinted: dict[tuple[int, VoiceTint], list[AudioArray]] = {}
        self._prepared: dict[int, list[PreparedLine]] = {}

    @staticmethod
    def _key(candidate: Candidate, tint: VoiceTint) -> tuple[int, VoiceTint]:
        return id(candidate), VoiceTint() if tint.is_identity else tint

    def _judged_key(self, meter: str, candidate: Candidate, tint: VoiceTint) -> JudgedKey | None:
        if not tint.is_identity:
            return None
        return JudgedKey(meter, candidate.backend.spec.name, candidate.voice_id, base_language(self.language),
                         self.texts, self.seed)

    def _lines(self, candidate: Candidate, tint: VoiceTint) -> list[AudioArray]:
        """The judged sentences spoken by ``candidate`` with ``tint`` (tinted once, for both meters)."""
        key = self._key(candidate, tint)
        if key not in self._tinted:
            if id(candidate) not in self._prepared:
                extra = self.speak_extra(candidate, self.extra) if self.speak_extra is not None and self.extra else []
                self._prepared[id(candidate)] = [*candidate.prepared,
                                                 *(PreparedLine(x, candidate.rate) for x in extra)]
            tinted = replace(tint, strength=self.strength)
            self._tinted[key] = [tint_line(line, tinted) for line in self._prepared[id(candidate)]]
        return self._tinted[key]

    def mos(self, candidate: Candidate, tint: VoiceTint) -> float | None:
        """Mean naturalness (e.g. DistillMOS) over the judged sentences, None without a ``naturalness`` meter."""
        if self.naturalness is None:
            return None
        key = self._key(candidate, tint)
        if key not in self._mos:
            shared = self._judged_key("naturalness", candidate, tint)
            kept = self.cache.get(shared) if shared is not None else None
            if isinstance(kept, float):
                self._mos[key] = kept
            else:
                self.check()
                meter = self.naturalness
                self._mos[key] = float(np.mean([meter(x, candidate.rate) for x in self._lines(candidate, tint)]))
                if shared is not None:
                    self.cache[shared] = self._mos[key]
        return self._mos[key]

    def errors(self, candidate: Candidate, tint: VoiceTint, *, limit: float = math.inf) -> tuple[int, int] | None:
        """(misheard words, words) over the judged sentences (Mandarin: characters), None without ``transcribe``.

        ``limit``: the count may stop early, at a number of misheard words above it, once that is certain
        (the verdict is the same; the lines after it are not heard).
        """
        if self.transcribe is None:
            return None
        key = self._key(candidate, tint)
        total = len(self.texts)
        done = self._err.get(key)  # (misheard, words, lines heard)
        if done is None:
            shared = self._judged_key(self._errors_meter, candidate, tint)
            kept = self.cache.get(shared) if shared is not None else None
            if isinstance(kept, tuple):
                done = (*kept, total)
        if done is None or (done[2] < total and done[0] <= limit):
            from revoice.engine.qc.text_norm import error_counts

            self.check()
            lines = self._lines(candidate, tint)
            words = sum(error_counts(text, text, language=self.language)[1] for text in self.texts)
            misheard, count = (0, 0) if done is None else (done[0], done[2])
            joiner = "" if base_language(self.language) in ("zh", "ja") else " "
            gap = np.zeros(int(round(JOIN_GAP_SECONDS * candidate.rate)), dtype=np.float32)
            first = count
            for window in listening_windows([len(x) / candidate.rate for x in lines[first:]],
                                            window_seconds=self._window_seconds):
                audio = np.concatenate([piece for i in window for piece in (lines[first + i], gap)][:-1])
                heard = self.transcribe(audio, candidate.rate, self.language)
                said = joiner.join(self.texts[first + i] for i in window)
                misheard += error_counts(said, heard, language=self.language)[0]
                count += len(window)
                if misheard > limit:
                    break
            done = (misheard, words, count)
            shared = self._judged_key(self._errors_meter, candidate, tint)
            if shared is not None and count == total:
                self.cache[shared] = (misheard, words)
        self._err[key] = done
        return done[0], done[1]

    def verdict(self, candidate: Candidate, tint: VoiceTint, reference: Candidate, *,
                stock: Candidate | None = None) -> Verdict | None:
        """:meth:`assess`'s verdict (None when a meter vetoes the setting)."""
        return self.assess(candidate, tint, reference, stock=stock).verdict

    def assess(self, candidate: Candidate, tint: VoiceTint, reference: Candidate, *,
               stock: Candidate | None = None) -> Assessment:
        """Scores of (candidate, tint) against ``reference`` untinted (naturalness), against its own base voice
        untinted (error rate: a tint that garbles its voice) and, with ``stock``, against the stock voice
        untinted (error rate: intelligibility first, :data:`MAX_ERRORS_OVER_STOCK`)."""
        mos, mos_ref = self.mos(candidate, tint), self.mos(reference, VoiceTint())
        if mos is not None and mos_ref is not None and mos < mos_ref - MAX_NATURALNESS_DROP:
            return Assessment(None, "naturalness")
        base = candidate.parent or candidate
        err_ref = self.errors(base, VoiceTint())
        err_stock = self.errors(stock, VoiceTint()) if stock is not None else None
        limit = math.inf if err_ref is None else err_ref[0] + max(1.0, MAX_ERROR_RISE * err_ref[1])
        stock_limit = math.inf if err_stock is None else stock_errors_allowed(*err_stock)
        err = self.errors(candidate, tint, limit=min(limit, stock_limit))
        if err is not None and err_ref is not None and err[0] > err_ref[0] + max(1.0, MAX_ERROR_RISE * err[1]):
            return Assessment(None, "intelligibility")
        if err is not None and err[0] > stock_limit:
            return Assessment(None, "intelligibility")
        return Assessment(Verdict(mos, mos_ref, _rate(err), _rate(err_ref), _rate(err_stock)))


def listening_windows(seconds: Sequence[float], *, window_seconds: float) -> list[list[int]]:
    """Consecutive sentences (indices into ``seconds``, each a sentence's length in s) grouped into windows of at
    most ``window_seconds`` with the gaps; a longer sentence is a window of its own (0: every sentence alone)."""
    windows: list[list[int]] = []
    length = math.inf
    for index, duration in enumerate(seconds):
        if windows and length + JOIN_GAP_SECONDS + duration <= window_seconds:
            windows[-1].append(index)
            length += JOIN_GAP_SECONDS + duration
        else:
            windows.append([index])
            length = duration
    return windows


def stock_errors_allowed(stock_misheard: int, words: int) -> float:
    """The most misheard words (Mandarin: characters) a setting may have on sentences holding ``words``, where the
    stock voice mishears ``stock_misheard``: :data:`MAX_ERRORS_OVER_STOCK` of the words more, at least one."""
    return stock_misheard + max(1.0, MAX_ERRORS_OVER_STOCK * words)


def _rate(counts: tuple[int, int] | None) -> float | None:
    return None if counts is None else counts[0] / max(1, counts[1])


def acceptable_choice(candidates: Sequence[Candidate], judge: Judge, *, against_base: bool = False,
                      stock_intelligibility: bool = True) -> Choice:
    """The most similar tried setting that the judge passes against the stock voice (``against_base``: naturalness
    against its own base voice untinted, so only the tint is judged, not the base choice).

    The stock voice is the first candidate (first backend's first voice) untinted. With
    ``stock_intelligibility`` (and a transcriber), a base voice or blend that mishears the judged sentences
    more than the stock voice untinted (:func:`stock_errors_allowed`) is dropped with all its settings, and
    every setting judged must pass the same test. Settings are judged best first, at most
    :data:`NATURALNESS_CHECKS` of them (:data:`CHECKS_PER_VOICE` per voice); if none passes, the best-scoring
    base voice untinted that passes and beats the stock voice, else the stock voice untinted. A blend (a
    candidate with a ``parent``) must first pass, untinted, against its parent untinted (pushed styles and
    splits can please the speaker encoder and still sound broken); one that does not is skipped, without using
    up checks.
    """
    stock = candidates[0]
    against_stock = stock if stock_intelligibility and judge.transcribe is not None else None
    refused: dict[tuple[int, VoiceTint], tuple[float, Candidate, VoiceTint]] = {}
    usable: dict[int, bool] = {}

    def refuse(candidate: Candidate, tint: VoiceTint, value: float) -> None:
        key = (id(candidate), tint)
        if key not in refused:
            refused[key] = (value, candidate, tint)

    def sound(candidate: Candidate) -> bool:
        """A blend that sounds as natural and clear as its strongest voice; a voice as clear as the stock one."""
        if id(candidate) not in usable:
            ok = True
            if against_stock is not None and candidate is not stock:
                misheard = judge.errors(against_stock, VoiceTint())
                allowed = math.inf if misheard is None else stock_errors_allowed(*misheard)
                heard = judge.errors(candidate, VoiceTint(), limit=allowed)
                ok = heard is None or heard[0] <= allowed
            reason = ""
            if ok and candidate.parent is not None:
                reason = judge.assess(candidate, VoiceTint(), candidate.parent, stock=against_stock).refused_for
                ok = not reason
            if not ok and reason != "naturalness":
                refuse(candidate, candidate.best[1], candidate.best[0])  # what this voice could have given
            usable[id(candidate)] = ok
        return usable[id(candidate)]

    def choice(candidate: Candidate, tint: VoiceTint, verdict: Verdict) -> Choice:
        ranked = sorted(refused.values(), key=lambda item: item[0], reverse=True)
        return Choice(candidate, tint, verdict, tuple((c, t) for _v, c, t in ranked))

    ranked = sorted(((value, index, tint) for index, c in enumerate(candidates) for value, tint in c.points),
                    key=lambda item: item[0], reverse=True)
    judged: dict[int, int] = {}
    for value, index, tint in ranked:
        if sum(judged.values()) >= NATURALNESS_CHECKS:
            break
        candidate = candidates[index]
        if judged.get(index, 0) >= CHECKS_PER_VOICE or not sound(candidate):
            continue
        judged[index] = judged.get(index, 0) + 1
        reference = (candidate.parent or candidate) if against_base else stock
        assessment = judge.assess(candidate, tint, reference, stock=against_stock)
        if assessment.verdict is not None:
            return choice(candidate, tint, assessment.verdict)
        if assessment.refused_for == "intelligibility":
            refuse(candidate, tint, value)
    # Every tint was vetoed: a base voice that beats the stock voice on its own, untinted, still counts.
    for candidate in sorted(candidates, key=lambda c: c.base_score, reverse=True):
        if candidate is stock or candidate.base_score <= stock.base_score:
            break
        if not sound(candidate):
            continue
        reference = (candidate.parent or candidate) if against_base else stock
        assessment = judge.assess(candidate, VoiceTint(), reference, stock=against_stock)
        if assessment.verdict is not None:
            return choice(candidate, VoiceTint(), assessment.verdict)
        if assessment.refused_for == "intelligibility":
            refuse(candidate, VoiceTint(), candidate.base_score)
    plain = judge.verdict(stock, VoiceTint(), stock, stock=against_stock)
    assert plain is not None  # a voice always passes against itself
    return choice(stock, VoiceTint(), plain)


__all__ = [
    "CHECKS_PER_VOICE", "ERRORS_METER", "JOIN_GAP_SECONDS", "LISTENING_WINDOW_SECONDS", "MAX_ERRORS_OVER_STOCK",
    "MAX_ERROR_RISE", "MAX_NATURALNESS_DROP", "NATURALNESS_CHECKS",
    "Assessment", "Choice", "Judge", "JudgedKey", "Verdict", "acceptable_choice", "listening_windows",
    "stock_errors_allowed",
]
