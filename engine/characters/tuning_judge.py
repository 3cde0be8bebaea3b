"""The vetoes of :func:`revoice.engine.characters.tuning.tune_match`: naturalness and intelligibility.

:class:`Judge` measures a setting (a base voice with a tint) on the judged
sentences: naturalness (e.g. DistillMOS) and ASR errors, each memoised per
setting and, for a base voice untinted, in the run's ``synthesis_cache``
(:class:`JudgedKey`), so later characters do not measure it again.
:func:`acceptable_choice` walks the best settings in order and returns the
first that passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

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


@dataclass(frozen=True)
class JudgedKey:
    """Key of a base voice's untinted scores in a run's synthesis cache (one meter, one set of sentences)."""

    meter: str
    """"naturalness" or "errors"."""
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
            shared = self._judged_key("errors", candidate, tint)
            kept = self.cache.get(shared) if shared is not None else None
            if isinstance(kept, tuple):
                done = (*kept, total)
        if done is None or (done[2] < total and done[0] <= limit):
            from revoice.engine.qc.text_norm import error_counts

            self.check()
            lines = self._lines(candidate, tint)
            words = sum(error_counts(text, text, language=self.language)[1] for text in self.texts)
            misheard, count = (0, 0) if done is None else (done[0], done[2])
            for text, line in zip(self.texts[count:], lines[count:], strict=True):
                heard = self.transcribe(line, candidate.rate, self.language)
                misheard += error_counts(text, heard, language=self.language)[0]
                count += 1
                if misheard > limit:
                    break
            done = (misheard, words, count)
            shared = self._judged_key("errors", candidate, tint)
            if shared is not None and count == total:
                self.cache[shared] = (misheard, words)
        self._err[key] = done
        return done[0], done[1]

    def verdict(self, candidate: Candidate, tint: VoiceTint, reference: Candidate) -> Verdict | None:
        """Scores of (candidate, tint) against ``reference`` untinted (naturalness) and against its own base
        voice untinted (error rate: the base voices' accents are the base choice's business, and 4 sentences
        are too few to compare voices by); None when a meter vetoes it."""
        mos, mos_ref = self.mos(candidate, tint), self.mos(reference, VoiceTint())
        if mos is not None and mos_ref is not None and mos < mos_ref - MAX_NATURALNESS_DROP:
            return None
        base = candidate.parent or candidate
        err_ref = self.errors(base, VoiceTint())
        limit = math.inf if err_ref is None else err_ref[0] + max(1.0, MAX_ERROR_RISE * err_ref[1])
        err = self.errors(candidate, tint, limit=limit)
        if err is not None and err_ref is not None and err[0] > err_ref[0] + max(1.0, MAX_ERROR_RISE * err[1]):
            return None
        return Verdict(mos, mos_ref, _rate(err), _rate(err_ref))


def _rate(counts: tuple[int, int] | None) -> float | None:
    return None if counts is None else counts[0] / max(1, counts[1])


def acceptable_choice(candidates: Sequence[Candidate], judge: Judge, *,
                      against_base: bool = False) -> tuple[Candidate, VoiceTint, Verdict]:
    """The most similar tried setting that the judge passes against the stock voice (``against_base``: against
    its own base voice untinted, so only the tint is judged, not the base choice).

    The stock voice is the first candidate (first backend's first voice) untinted; settings are judged
    best first, at most :data:`NATURALNESS_CHECKS` of them (:data:`CHECKS_PER_VOICE` per voice); if none
    passes, the best-scoring base voice untinted that passes and beats the stock voice, else the stock voice
    untinted. A blend (a candidate with a ``parent``) must first pass, untinted, against its parent
    untinted (pushed styles and splits can please the speaker encoder and still sound broken); one that
    does not is skipped, without using up checks.
    """
    stock = candidates[0]
    blend_ok: dict[int, bool] = {}

    def sound(candidate: Candidate) -> bool:
        if candidate.parent is None:
            return True
        if id(candidate) not in blend_ok:
            blend_ok[id(candidate)] = judge.verdict(candidate, VoiceTint(), candidate.parent) is not None
        return blend_ok[id(candidate)]

    ranked = sorted(((value, index, tint) for index, c in enumerate(candidates) for value, tint in c.points),
                    key=lambda item: item[0], reverse=True)
    judged: dict[int, int] = {}
    for _value, index, tint in ranked:
        if sum(judged.values()) >= NATURALNESS_CHECKS:
            break
        candidate = candidates[index]
        if judged.get(index, 0) >= CHECKS_PER_VOICE or not sound(candidate):
            continue
        judged[index] = judged.get(index, 0) + 1
        verdict = judge.verdict(candidate, tint, (candidate.parent or candidate) if against_base else stock)
        if verdict is not None:
            return candidate, tint, verdict
    # Every tint was vetoed: a base voice that beats the stock voice on its own, untinted, still counts.
    for candidate in sorted(candidates, key=lambda c: c.base_score, reverse=True):
        if candidate is stock or candidate.base_score <= stock.base_score:
            break
        if not sound(candidate):
            continue
        verdict = judge.verdict(candidate, VoiceTint(), (candidate.parent or candidate) if against_base else stock)
        if verdict is not None:
            return candidate, VoiceTint(), verdict
    plain = judge.verdict(stock, VoiceTint(), stock)
    assert plain is not None  # a voice always passes against itself
    return stock, VoiceTint(), plain


__all__ = [
    "CHECKS_PER_VOICE", "MAX_ERROR_RISE", "MAX_NATURALNESS_DROP", "NATURALNESS_CHECKS", "Judge", "JudgedKey",
    "Verdict", "acceptable_choice",
]
