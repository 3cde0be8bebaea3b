"""How :func:`revoice.engine.characters.tuning.tune_match` measures one setting (a base voice with a tint).

* :class:`SpokenLine` / :func:`speak_line`: one tuning sentence spoken by a
  base voice, with its median F0 and d-vector, kept in the caller's
  ``synthesis_cache`` (the audio under ``(backend, voice, language, text,
  seed)``, the measurements under a :class:`LineKey`), so every character of
  a run, and every setting tried, reuses them: a base voice's renders do not
  depend on the character or the tint.
* :class:`Candidate`: a base voice under test, its tuning lines
  (:class:`~revoice.engine.dsp.voice_transform.PreparedLine`, analysed once for
  every setting), and every setting tried on it.
* :func:`objective`: the value the search maximises: the mean d-vector cosine
  of the tinted lines to the reference, minus (with a cohort of other
  speakers) the mean cosine to the cohort, minus penalties per semitone (more
  for downward shifts), per octave of envelope surgery and per dB of EQ, so
  ties go to the cleaner side. :func:`envelope_correction` gives the EQ
  (reference long-term spectrum minus the tinted voice's, smoothed, clipped
  to +-:data:`MAX_EQ_DB`).
* :class:`Judge` + :func:`acceptable_choice` (:mod:`revoice.engine.characters.tuning_judge`):
  the naturalness (e.g. DistillMOS) and ASR vetoes that the best settings must pass, in order.
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from revoice.engine.characters.tint import VoiceTint
from revoice.engine.dsp.voice_transform import PreparedLine, apply_band_eq, band_levels_db
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

SynthesisCache = MutableMapping[Any, Any]
"""What ``tune_match(synthesis_cache=)`` keeps between calls: ``(backend, voice_id, language, text, seed)`` ->
``(audio, rate)`` for every base-voice synthesis, and :class:`LineKey` -> :class:`LineFeatures` for their
measurements (one run's cache; every value depends only on its key)."""


@dataclass(frozen=True)
class LineKey:
    """Key of a spoken line's measurements in a :data:`SynthesisCache`."""

    backend: str
    voice_id: str
    language: str
    """Base language (``en``, ``zh``)."""
    text: str
    seed: int
    embedder: str
    """Class name of the speaker encoder that made the embedding."""


@dataclass(frozen=True)
class LineFeatures:
    """Measurements of one untinted line."""

    f0_hz: float
    """Median F0, Hz (NaN: nothing voiced)."""
    embedding: Embedding
    """Speaker embedding of the line."""


@dataclass(frozen=True)
class SpokenLine:
    """One sentence spoken by a base voice, untinted, with its measurements."""

    text: str
    audio: AudioArray
    rate: int
    """Sample rate of ``audio``, Hz."""
    f0_hz: float
    embedding: Embedding


def synthesize_lines(backend: VoiceBackend, voice_id: str, language: str, sentences: Sequence[str], *,
                     seed: int = 0, cache: SynthesisCache | None = None) -> tuple[list[AudioArray], int]:
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


def speak_line(backend: VoiceBackend, voice_id: str, language: str, text: str, *, seed: int,
               cache: SynthesisCache, embedder: SpeakerEmbedder) -> SpokenLine:
    """``text`` spoken by ``voice_id``, its median F0 and embedding; all three kept in ``cache``."""
    from revoice.engine.dsp.voice_transform import median_f0

    (audio,), rate = synthesize_lines(backend, voice_id, language, [text], seed=seed, cache=cache)
    key = LineKey(backend.spec.name, voice_id, base_language(language), text, seed, type(embedder).__name__)
    features = cache.get(key)
    if not isinstance(features, LineFeatures):
        features = LineFeatures(median_f0(audio, rate), embedder.embed(audio, rate))
        cache[key] = features
    return SpokenLine(text, audio, rate, features.f0_hz, features.embedding)


@dataclass
class Candidate:
    """One base voice under test: its tuning lines and every setting tried on it (updated by :func:`objective`)."""

    backend: VoiceBackend
    voice_id: str
    rate: int
    """Sample rate of ``lines``, Hz."""
    spoken: list[SpokenLine]
    """The tuning sentences spoken so far by this voice, untinted (the first few while screening, then all)."""
    parent: Candidate | None = None
    """For a blend of a backend's voices: its strongest voice, what its naturalness is judged against."""
    base_score: float = 0.0
    """Objective of the voice untinted on ``spoken``."""
    best: tuple[float, VoiceTint] = (-math.inf, VoiceTint())
    """(objective, tint) of the best setting tried so far."""
    tried: dict[tuple[float, float, float], float] = field(default_factory=dict)
    """Objective by (semitones, formant ratio, EQ amount), rounded: the memo of :func:`objective`."""
    points: list[tuple[float, VoiceTint]] = field(default_factory=list)
    """Every (objective, tint) tried, in order."""
    prepared: list[PreparedLine] = field(default_factory=list)
    """``spoken`` ready for tints (analysed once, on first use)."""

    @property
    def lines(self) -> list[AudioArray]:
        """The audio of ``spoken``."""
        return [s.audio for s in self.spoken]

    @property
    def line_f0(self) -> list[float]:
        """Median F0 of each line, Hz."""
        return [s.f0_hz for s in self.spoken]

    @property
    def f0(self) -> float:
        """Geometric mean of the lines' median F0s, Hz (NaN: none voiced)."""
        voiced = [f for f in self.line_f0 if math.isfinite(f)]
        return float(np.exp(np.mean(np.log(voiced)))) if voiced else math.nan

    def use(self, spoken: Sequence[SpokenLine], target: Embedding, cohort: Sequence[Embedding]) -> None:
        """Score the voice on ``spoken`` from now on: the memo of settings starts again from the untinted voice."""
        self.spoken = list(spoken)
        self.rate = self.spoken[0].rate if self.spoken else self.rate
        self.prepared = [PreparedLine(s.audio, s.rate, f0_hz=s.f0_hz) for s in self.spoken]
        self.base_score = score_embeddings([s.embedding for s in self.spoken], target, cohort)
        self.tried = {(0.0, 1.0, 0.0): self.base_score}
        self.best = (self.base_score, VoiceTint())
        self.points = [self.best]


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


def score_embeddings(embeddings: Sequence[Embedding], target: Embedding, cohort: Sequence[Embedding] = ()) -> float:
    """Mean over ``embeddings`` of the cosine to ``target`` minus :data:`COHORT_WEIGHT` x the mean cosine to
    ``cohort``."""
    values = []
    for e in embeddings:
        away = float(np.mean([cosine(e, c) for c in cohort])) if cohort else 0.0
        values.append(cosine(e, target) - COHORT_WEIGHT * away)
    return float(np.mean(values))


def similarity_score(lines: Sequence[AudioArray], rate: int, target: Embedding, embedder: SpeakerEmbedder,
                     cohort: Sequence[Embedding] = ()) -> float:
    """:func:`score_embeddings` of each of ``lines`` (``rate`` Hz)."""
    return score_embeddings([embedder.embed(line, rate) for line in lines], target, cohort)


def objective(candidate: Candidate, semitones: float, formant: float, eq_amount: float,
              ref_levels: npt.NDArray[np.float64], target: Embedding, embedder: SpeakerEmbedder,
              cohort: Sequence[Embedding] = ()) -> float:
    """Penalised similarity of the candidate tinted with (semitones, formant ratio, share of the envelope
    correction toward ``ref_levels``); memoised in ``candidate.tried``, recorded in its points and best."""
    key = (round(semitones, 2), round(formant, 3), round(eq_amount, 2))
    if key in candidate.tried:
        return candidate.tried[key]
    rate = candidate.rate
    shifted = [line.shift(semitones=semitones, formant_ratio=formant) for line in candidate.prepared]
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


__all__ = [
    "COHORT_WEIGHT", "FORMANT_LIMITS", "MAX_EQ_DB", "MAX_SEMITONES", "Candidate", "LineFeatures", "LineKey",
    "SpokenLine", "SynthesisCache", "clip_formant", "clip_semitones", "envelope_correction", "objective",
    "score_embeddings", "similarity_score", "speak_line", "synthesize_lines",
]
