"""How :func:`revoice.engine.characters.tuning.tune_match` measures one setting (a base voice with a tint).

* :class:`Candidate`: a base voice under test, its tuning sentences spoken once
  (:func:`synthesize_lines`, cached), and every setting tried on it.
* :func:`objective`: the value the search maximises: the mean d-vector cosine
  of the tinted lines to the reference, minus (with a cohort of other
  speakers) the mean cosine to the cohort, minus penalties per semitone (more
  for downward shifts), per octave of envelope surgery and per dB of EQ, so
  ties go to the cleaner side. :func:`envelope_correction` gives the EQ
  (reference long-term spectrum minus the tinted voice's, smoothed, clipped
  to +-:data:`MAX_EQ_DB`).
* :class:`Judge` + :func:`acceptable_choice`: the naturalness (e.g.
  DistillMOS) and ASR vetoes that the best settings must pass, in order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from revoice.engine.characters.tint import VoiceTint, apply_tint
from revoice.engine.dsp.voice_transform import apply_band_eq, band_levels_db, shift_pitch_formants
from revoice.engine.language import base_language
from revoice.engine.speaker import Embedding, SpeakerEmbedder, cosine
from revoice.engine.voices.base import AudioArray, SynthesisRequest, VoiceBackend

MAX_SEMITONES = 6.0
"""Largest pitch shift tune_match proposes, semitones."""
FORMANT_LIMITS = (0.8, 1.42)
"""Smallest and largest formant ratio tune_match proposes (a plain +6 st shift moves formants x1.41)."""
MAX_EQ_DB = 8.0
"""Largest per-band envelope correction tune_match proposes, dB."""
PENALTY_PER_SEMITONE_UP = 0.003
PENALTY_PER_SEMITONE_DOWN = 0.012
PENALTY_PER_ENVELOPE_OCTAVE = 0.25
PENALTY_PER_EQ = 0.004
"""Objective = mean cosine - penalties: per semitone up / down (DistillMOS on piper 'joe': -3 st cost
0.9-1.1, +2.5 st 0.0-0.25), per octave the formants sit away from where a plain shift would put them
(the envelope surgery: formant_ratio / pitch ratio; a plain shift costs little MOS, a formant-preserving
+5 st shift ~0.6), per dB of mean |EQ|."""
COHORT_WEIGHT = 1.0
"""With a ``cohort``, the objective subtracts this times the mean cosine to the cohort's speakers."""
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


@dataclass
class Candidate:
    """One base voice under test: its tuning lines and every setting tried on it (updated by :func:`objective`)."""

    backend: VoiceBackend
    voice_id: str
    rate: int
    """Sample rate of ``lines``, Hz."""
    lines: list[AudioArray]
    """The tuning sentences spoken by this voice, untinted."""
    f0: float
    """Geometric mean of the lines' median F0s, Hz (NaN: none voiced)."""
    line_f0: list[float] = field(default_factory=list)
    """Median F0 of each line, Hz."""
    base_score: float = 0.0
    """Objective of the voice untinted."""
    best: tuple[float, VoiceTint] = (-math.inf, VoiceTint())
    """(objective, tint) of the best setting tried so far."""
    tried: dict[tuple[float, float, float], float] = field(default_factory=dict)
    """Objective by (semitones, formant ratio, EQ amount), rounded: the memo of :func:`objective`."""
    points: list[tuple[float, VoiceTint]] = field(default_factory=list)
    """Every (objective, tint) tried, in order."""
    parent: Candidate | None = None
    """For a blend of a backend's voices: its strongest voice, what its naturalness is judged against."""


def synthesize_lines(backend: VoiceBackend, voice_id: str, language: str, sentences: Sequence[str], *,
                     seed: int = 0, cache: MutableMapping[tuple[str, str, str, str, int], tuple[AudioArray, int]]
                     | None = None) -> tuple[list[AudioArray], int]:
    """Each sentence spoken by ``voice_id`` (native rate); ``cache`` (optional) keeps them between calls."""
    lines: list[AudioArray] = []
    rate = backend.spec.sample_rate
    for text in sentences:
        key = (backend.spec.name, voice_id, base_language(language), text, seed)
        hit = cache.get(key) if cache is not None else None
        if hit is None:
            synthesis = backend.synthesize(SynthesisRequest(text=text, voice_id=voice_id, language=language,
                                                            seed=seed))
            hit = (synthesis.audio, synthesis.sample_rate)
            if cache is not None:
                cache[key] = hit
        lines.append(hit[0])
        rate = hit[1]
    return lines, rate


def envelope_correction(lines: Sequence[AudioArray], sample_rate: int, reference_levels: npt.NDArray[np.float64],
                        *, limit_db: float = MAX_EQ_DB) -> tuple[float, ...]:
    """Per-band dB that moves the long-term spectrum of ``lines`` toward ``reference_levels``.

    Difference of :func:`~revoice.engine.dsp.voice_transform.band_levels_db`, mean removed (level is the loudness
    stage's job), smoothed over 3 bands, clipped to +-``limit_db``; bands the
    reference does not cover (NaN) get the nearest covered band's value.
    """
    joined = np.concatenate(list(lines)) if lines else np.zeros(1, np.float32)
    diff = reference_levels - band_levels_db(joined, sample_rate)
    valid = np.isfinite(diff)
    if not valid.any():
        return ()
    index = np.arange(diff.size)
    diff = np.interp(index, index[valid], diff[valid])
    diff = np.convolve(np.pad(diff, 1, mode="edge"), np.array([0.25, 0.5, 0.25]), mode="valid")
    diff -= float(np.mean(diff))
    return tuple(round(float(g), 2) for g in np.clip(diff, -limit_db, limit_db))


def similarity_score(lines: Sequence[AudioArray], rate: int, target: Embedding, embedder: SpeakerEmbedder,
                     cohort: Sequence[Embedding] = ()) -> float:
    """Mean over ``lines`` of the cosine to ``target`` minus :data:`COHORT_WEIGHT` x the mean cosine to ``cohort``."""
    values = []
    for line in lines:
        e = embedder.embed(line, rate)
        away = float(np.mean([cosine(e, c) for c in cohort])) if cohort else 0.0
        values.append(cosine(e, target) - COHORT_WEIGHT * away)
    return float(np.mean(values))


def objective(candidate: Candidate, semitones: float, formant: float, eq_amount: float,
              ref_levels: npt.NDArray[np.float64], target: Embedding, embedder: SpeakerEmbedder,
              cohort: Sequence[Embedding] = ()) -> float:
    """Penalised similarity of the candidate tinted with (semitones, formant ratio, share of the envelope
    correction toward ``ref_levels``); memoised in ``candidate.tried``, recorded in its points and best."""
    key = (round(semitones, 2), round(formant, 3), round(eq_amount, 2))
    if key in candidate.tried:
        return candidate.tried[key]
    rate = candidate.rate
    shifted = [shift_pitch_formants(x, rate, semitones=semitones, formant_ratio=formant, f0_hz=f0)
               for x, f0 in zip(candidate.lines, candidate.line_f0, strict=True)]
    eq: tuple[float, ...] = ()
    if eq_amount > 0:
        eq = tuple(g * eq_amount for g in envelope_correction(shifted, rate, ref_levels))
        shifted = [apply_band_eq(x, rate, eq) for x in shifted]
    penalty = _penalty(semitones, formant)
    if eq:
        penalty += PENALTY_PER_EQ * float(np.mean(np.abs(eq)))
    value = similarity_score(shifted, rate, target, embedder, cohort) - penalty
    candidate.tried[key] = value
    tint = VoiceTint(pitch_semitones=round(semitones, 2), formant_ratio=round(formant, 3), envelope_db=eq)
    candidate.points.append((value, tint))
    if value > candidate.best[0]:
        candidate.best = (value, tint)
    return value


def _penalty(semitones: float, formant: float) -> float:
    """Cleanliness cost of a pitch shift and formant placement (see the PENALTY_* constants)."""
    per = PENALTY_PER_SEMITONE_UP if semitones > 0 else PENALTY_PER_SEMITONE_DOWN
    surgery = abs(math.log2(formant) - semitones / 12.0)
    return per * abs(semitones) + PENALTY_PER_ENVELOPE_OCTAVE * surgery


def clip_semitones(value: float) -> float:
    """A pitch shift (semitones) kept within +-:data:`MAX_SEMITONES`."""
    return float(np.clip(value, -MAX_SEMITONES, MAX_SEMITONES))


def clip_formant(value: float) -> float:
    """A formant ratio kept within :data:`FORMANT_LIMITS`."""
    return float(np.clip(value, *FORMANT_LIMITS))


@dataclass(frozen=True)
class Verdict:
    """How a chosen setting scored against its reference (None: that meter was not given)."""

    naturalness: float | None
    naturalness_reference: float | None
    error_rate: float | None
    error_rate_reference: float | None


class Judge:
    """Naturalness and ASR error rate of a candidate with a tint on the tuning sentences (memoised per setting)."""

    def __init__(self, texts: Sequence[str], language: str, strength: float, check: Callable[[], None], *,
                 naturalness: Callable[[AudioArray, int], float] | None,
                 transcribe: Callable[[AudioArray, int, str], str] | None,
                 extra: Sequence[str] = (),
                 speak_extra: Callable[[Candidate, Sequence[str]], list[AudioArray]] | None = None) -> None:
        self.texts = (*texts, *extra) if speak_extra is not None else tuple(texts)
        self.extra = tuple(extra) if speak_extra is not None else ()
        self.language, self.strength, self.check = language, strength, check
        self.naturalness, self.transcribe, self.speak_extra = naturalness, transcribe, speak_extra
        self._mos: dict[tuple[int, VoiceTint], float] = {}
        self._err: dict[tuple[int, VoiceTint], tuple[int, int]] = {}
        self._tinted: dict[tuple[int, VoiceTint], list[AudioArray]] = {}

    @staticmethod
    def _key(candidate: Candidate, tint: VoiceTint) -> tuple[int, VoiceTint]:
        return id(candidate), VoiceTint() if tint.is_identity else tint

    def _lines(self, candidate: Candidate, tint: VoiceTint) -> list[AudioArray]:
        """The judged sentences spoken by ``candidate`` with ``tint`` (tinted once, for both meters)."""
        key = self._key(candidate, tint)
        if key not in self._tinted:
            tinted = replace(tint, strength=self.strength)
            extra = self.speak_extra(candidate, self.extra) if self.speak_extra is not None and self.extra else []
            self._tinted[key] = [apply_tint(x, candidate.rate, tinted) for x in (*candidate.lines, *extra)]
        return self._tinted[key]

    def mos(self, candidate: Candidate, tint: VoiceTint) -> float | None:
        """Mean naturalness (e.g. DistillMOS) over the judged sentences, None without a ``naturalness`` meter."""
        if self.naturalness is None:
            return None
        key = self._key(candidate, tint)
        if key not in self._mos:
            self.check()
            meter = self.naturalness
            self._mos[key] = float(np.mean([meter(x, candidate.rate) for x in self._lines(candidate, tint)]))
        return self._mos[key]

    def errors(self, candidate: Candidate, tint: VoiceTint) -> tuple[int, int] | None:
        """(misheard words, words) over the tuning sentences (Mandarin: characters), None without ``transcribe``."""
        if self.transcribe is None:
            return None
        key = self._key(candidate, tint)
        if key not in self._err:
            from revoice.engine.qc.text_norm import error_counts

            self.check()
            counts = [error_counts(text, self.transcribe(line, candidate.rate, self.language), language=self.language)
                      for text, line in zip(self.texts, self._lines(candidate, tint), strict=True)]
            self._err[key] = (sum(c[0] for c in counts), sum(c[1] for c in counts))
        return self._err[key]

    def verdict(self, candidate: Candidate, tint: VoiceTint, reference: Candidate) -> Verdict | None:
        """Scores of (candidate, tint) against ``reference`` untinted (naturalness) and against its own base
        voice untinted (error rate: the base voices' accents are the base choice's business, and 4 sentences
        are too few to compare voices by); None when a meter vetoes it."""
        mos, mos_ref = self.mos(candidate, tint), self.mos(reference, VoiceTint())
        if mos is not None and mos_ref is not None and mos < mos_ref - MAX_NATURALNESS_DROP:
            return None
        base = candidate.parent or candidate
        err, err_ref = self.errors(candidate, tint), self.errors(base, VoiceTint())
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
    best first, at most :data:`NATURALNESS_CHECKS` of them (:data:`CHECKS_PER_VOICE` per voice); if none passes, the best-scoring base voice
    untinted that passes and beats the stock voice, else the stock voice untinted.
    """
    stock = candidates[0]
    ranked = sorted(((value, index, tint) for index, c in enumerate(candidates) for value, tint in c.points),
                    key=lambda item: item[0], reverse=True)
    judged: dict[int, int] = {}
    for _value, index, tint in ranked:
        if sum(judged.values()) >= NATURALNESS_CHECKS:
            break
        if judged.get(index, 0) >= CHECKS_PER_VOICE:
            continue
        candidate = candidates[index]
        judged[index] = judged.get(index, 0) + 1
        verdict = judge.verdict(candidate, tint, (candidate.parent or candidate) if against_base else stock)
        if verdict is not None:
            return candidate, tint, verdict
    # Every tint was vetoed: a base voice that beats the stock voice on its own, untinted, still counts.
    for candidate in sorted(candidates, key=lambda c: c.base_score, reverse=True):
        if candidate is stock or candidate.base_score <= stock.base_score:
            break
        verdict = judge.verdict(candidate, VoiceTint(), (candidate.parent or candidate) if against_base else stock)
        if verdict is not None:
            return candidate, VoiceTint(), verdict
    plain = judge.verdict(stock, VoiceTint(), stock)
    assert plain is not None  # a voice always passes against itself
    return stock, VoiceTint(), plain


__all__ = [
    "CHECKS_PER_VOICE", "COHORT_WEIGHT", "FORMANT_LIMITS", "MAX_EQ_DB", "MAX_ERROR_RISE", "MAX_NATURALNESS_DROP",
    "MAX_SEMITONES", "NATURALNESS_CHECKS", "Candidate", "Judge", "Verdict", "acceptable_choice", "clip_formant",
    "clip_semitones", "envelope_correction", "objective", "similarity_score", "synthesize_lines",
]
