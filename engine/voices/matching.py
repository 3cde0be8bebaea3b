"""Offline voice matching: move a stock voice toward a character (a tint, not a clone).

Two parts, both owned by this module:

* :class:`VoiceTint` + :func:`apply_tint`: pure, length-preserving DSP on one
  synthesized line (pitch level and range, formant / vocal-tract warp, spectral
  envelope), scaled by a strength in [0, 1].
* :func:`tune_match`: picks the base voice (every shipped voice that speaks the
  language, scored by speaker similarity to the character's reference) and
  tunes the tint to maximise measured similarity while keeping naturalness.

INTERFACE CONTRACT (other modules build on these names; keep them):
``VoiceTint``, ``VoiceMatch``, ``apply_tint(audio, sample_rate, tint) -> audio``
(same length, float32 mono) and::

    tune_match(reference: AudioArray, sample_rate: int, *, language: str,
               backends: Sequence[VoiceBackend], embedder: SpeakerEmbedder,
               sentences: Sequence[str] | None = None, strength: float = 1.0,
               seed: int = 0, should_cancel: Callable[[], bool] | None = None,
               synthesis_cache=None, naturalness=None, cohort=()) -> VoiceMatch

(``SpeakerEmbedder`` is engine.qc.similarity's protocol; ``reference`` is the
character's clean speech, mono float32.)

How the tint is applied (:mod:`engine.dsp.voice_transform`): TD-PSOLA (Praat)
shifts the pitch with the formants kept (``pitch_semitones``, excursions scaled by
``pitch_range``), then an STFT-domain filter gives every voiced frame the original
line's true spectral envelope read at f / ``formant_ratio`` (the formant warp;
fricatives keep theirs), then a static linear-phase EQ applies ``envelope_db`` on
:data:`BAND_CENTRES_HZ`. No vocoder resynthesis, so strength 0 is the
untouched voice, bit for bit.

How tuning works: every candidate voice speaks the tuning sentences once
(cached); a backend that blends its voices (``blend_voice_id``, Kokoro's style
vectors) adds pairwise mixes of its voices, judged like any voice, and keeps the
best two that beat all its voices and sound as natural and clear as their strongest one. Each is scored by the mean d-vector cosine of its lines to the
reference, minus (with a ``cohort`` of other speakers, e.g. the timeline's
other characters) the mean cosine to the cohort: the gain must be specific
to this character, not toward every human voice. Pitch starts from the median-F0 ratio to the reference; a coarse
look (pitch half / all the way; formants kept, half-following or moving with
the pitch) runs on every candidate, a coordinate search plus the envelope
correction (reference long-term spectrum minus the tinted voice's, smoothed,
clipped to +-:data:`MAX_EQ_DB`) on the best two. Penalties per semitone
(more for downward shifts), per octave of envelope surgery and per dB of EQ
keep ties on the cleaner side; hard limits (:data:`MAX_SEMITONES`,
:data:`FORMANT_LIMITS`) keep Rubber Band in its clean range. With a
naturalness meter (e.g. DistillMOS) the best settings are checked in order
and the first within :data:`MAX_NATURALNESS_DROP` of the stock voice wins. Nothing here can turn a voice into another person: the
tint moves pitch, vocal-tract length and spectral tilt/colour, which a speaker
encoder weighs, but not articulation, rhythm or accent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from engine.dsp.voice_transform import (
    BAND_CENTRES_HZ,
    apply_band_eq,
    band_levels_db,
    median_f0,
    shift_pitch_formants,
)
from engine.qc.similarity import Embedding, SpeakerEmbedder, cosine
from engine.voices.base import AudioArray, SynthesisRequest, VoiceBackend

TINT_VERSION = 2
"""Bumped when :func:`apply_tint` sounds different for the same parameters (renders keyed on it are redone).
2: PSOLA pitch shift, formant warp on voiced frames only."""
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
HOLDOUT_MIN_SPEECH_S = 8.0
"""A reference with at least this much speech (s) is split: tune on the first half, report on the second."""
REFINE_BEST = 2
"""How many of the best base voices after the coarse grid get the fine search and EQ."""
BLENDS_KEPT = 2
"""How many of the best voice blends (backends with ``blend_voice_id``, e.g. Kokoro) join the tint search."""
BLEND_CHECKS = 5
"""At most this many blends that beat every voice are judged (best first) for the :data:`BLENDS_KEPT` places."""
BLEND_VOICES = 5
"""A blending backend's best this-many voices are mixed pairwise (10 mixes for 5 voices)."""
PUSH_BLENDS = False
"""Also try the best voice pushed away from the others (weights > 1 and < 0). Off: pushed styles pleased the
speaker encoder on the tuning half (en_nature .221 vs .110) but scored DistillMOS 2.0-2.4 (jm_kumo 3.9), and on
clone-test (1.5 s tuning half) a pushed jf_gongitsune closed -7% of the gap on the held-out half."""
SPLIT_BLENDS = False
"""Off: no split was chosen for any of the 7 bench voices in two full runs, and trying them cost 60-130 s per
character. With a naturalness meter, also try each voice's timbre with each other voice's prosody (Kokoro: the style half
that drives the decoder from one voice, the half that drives pitch and duration prediction from another; 20
syntheses for 5 voices).
Measured on the tuning sentences against held-out halves (d-vector, target-specific): the big gains cross the
register and sound broken (en_story_main .180 -> .299 with jf_gongitsune timbre + jm_kumo prosody, DistillMOS 2.44
vs 3.85; zh_taiyi .168 -> .299 with jm_kumo + jf_gongitsune, 3.75 vs 4.21); within it they are smaller and clean
(clone-test -.157 -> -.095 with jf_gongitsune + jf_tebukuro, DistillMOS 3.84 vs 3.85)."""
SPLIT_MAX_SEMITONES = 4.0
"""Splits are tried only between voices whose median F0s lie within this many semitones (one register)."""

LANGUAGE_EXTRAS: dict[str, tuple[str, ...]] = {"kokoro": ("en",)}
"""Languages a backend speaks beyond its spec (Kokoro reads English through misaki's US lexicon). Read-only."""

TUNING_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "Put the lamp back on the table before anyone notices.",
        "My brother used to fish in that river every summer.",
        "Why would she leave without saying a single word?",
        "Keep your voice down, the guards are just outside.",
    ),
    "zh": (
        "你先坐下来，喝杯茶慢慢说。",
        "外面下着大雨，我们明天再出发吧。",
        "这把钥匙是谁留在桌子上的？",
        "别担心，一切都会好起来的。",
    ),
}
"""Default tuning sentences per base language (keep them apart from benchmark sentences). Read-only."""

CHECK_SENTENCES: dict[str, tuple[str, ...]] = {
    "en": (
        "Tell the driver to wait for us at the corner.",
        "I found the old photographs in a box under the stairs.",
        "Did you really think I would forget my own birthday?",
        "The kettle is boiling, could you pour the tea?",
    ),
    "zh": (
        "我们下个星期去海边看看吧。",
        "你把那本书放在哪里了？",
        "天快黑了，路上小心一点。",
        "他每天早上都去公园跑步。",
    ),
}
"""With default sentences, the naturalness and ASR vetoes also hear these (8 sentences in all: 4 decide little;
the objective still uses the tuning sentences only). Read-only."""


@dataclass(frozen=True)
class VoiceTint:
    """Length-preserving DSP that moves a base voice toward a character.

    ``strength`` 0 leaves the base voice untouched, 1 applies the full tint.
    """

    pitch_semitones: float = 0.0
    """Shift of the median F0, in semitones."""
    pitch_range: float = 1.0
    """Scale of F0 excursions around the median (log-F0 domain)."""
    formant_ratio: float = 1.0
    """Vocal-tract warp: > 1 moves formants up (shorter tract), < 1 down."""
    envelope_db: tuple[float, ...] = ()
    """Per-band spectral-envelope correction in dB on :data:`BAND_CENTRES_HZ` (first bands if shorter); () = none."""
    strength: float = 1.0

    def scaled(self) -> VoiceTint:
        """The tint with ``strength`` folded into its parameters (strength 1); log domain for ratios."""
        s = min(max(float(self.strength), 0.0), 1.0)
        return VoiceTint(
            pitch_semitones=self.pitch_semitones * s,
            pitch_range=float(self.pitch_range ** s) if self.pitch_range > 0 else 1.0 - s,
            formant_ratio=float(self.formant_ratio ** s),
            envelope_db=tuple(float(g) * s for g in self.envelope_db),
            strength=1.0,
        )

    @property
    def is_identity(self) -> bool:
        """True when applying the tint changes nothing."""
        t = self.scaled()
        return (abs(t.pitch_semitones) < 1e-4 and abs(t.pitch_range - 1.0) < 1e-4
                and abs(t.formant_ratio - 1.0) < 1e-4 and not any(abs(g) > 1e-6 for g in t.envelope_db))


@dataclass(frozen=True)
class VoiceMatch:
    """The base voice and tint chosen for one character in one language."""

    language: str
    backend: str
    voice_id: str
    tint: VoiceTint
    similarity_base: float
    """Speaker similarity (cosine) of the untinted base voice to the held-out reference."""
    similarity_matched: float
    """The same with the tint applied."""
    heldout: bool = False
    """True when the similarities were measured on a held-out half of the reference (else on all of it)."""
    candidates: tuple[tuple[str, str, float, float], ...] = ()
    """Every base voice tried: (backend, voice_id, untinted score, best tinted score) on the tuning material
    (the objective: cosine minus the cohort's mean cosine when a cohort was given; penalties included)."""
    seconds: float = 0.0
    """Wall time tune_match took, seconds."""
    naturalness: float | None = None
    """Naturalness (e.g. DistillMOS) of the chosen voice + tint on the tuning sentences, when a meter was given."""
    naturalness_stock: float | None = None
    """The same for the stock voice (first backend's first voice), untinted."""
    error_rate: float | None = None
    """ASR word (Mandarin: character) error rate of the chosen voice + tint on the tuning sentences, when a
    ``transcribe`` function was given."""
    error_rate_reference: float | None = None
    """The same for its base voice untinted (a blend's strongest voice), which it was judged against."""


def apply_tint(audio: AudioArray, sample_rate: int, tint: VoiceTint) -> AudioArray:
    """``audio`` (mono, ``sample_rate`` Hz) with ``tint`` applied at its strength; float32, same length.

    Peaks that the EQ pushes over 0.99 full scale are scaled down (no clipping);
    levels are otherwise kept for the engine's loudness stage.
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono with shape (samples,), got {x.shape}")
    if tint.is_identity or x.size == 0:
        return x.copy()
    t = tint.scaled()
    y = shift_pitch_formants(x, sample_rate, semitones=t.pitch_semitones, pitch_range=t.pitch_range,
                             formant_ratio=t.formant_ratio)
    y = apply_band_eq(y, sample_rate, t.envelope_db)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0.99:
        y = y * np.float32(0.99 / peak)
    return np.ascontiguousarray(y, dtype=np.float32)


# ---------------------------------------------------------------------------- tuning


def _base_language(language: str) -> str:
    return language.replace("_", "-").split("-")[0].lower()


def speaks(backend: VoiceBackend, language: str) -> bool:
    """True when ``backend`` can speak ``language`` (spec, voice list or :data:`LANGUAGE_EXTRAS`)."""
    base = _base_language(language)
    if backend.spec.supports_language(language) or base in LANGUAGE_EXTRAS.get(backend.spec.name, ()):
        return True
    return any(_base_language(lang) == base for v in backend.voices() for lang in v.languages)


def split_reference(audio: AudioArray, sample_rate: int) -> tuple[AudioArray, AudioArray]:
    """(first half, second half) of the speech in ``audio``, cut at the quietest 50 ms near the middle.

    The cut is searched in the middle third of the speech span, so both halves
    hold whole words where the recording allows.
    """
    from engine.sync import detect_speech_span

    x = np.asarray(audio, dtype=np.float32)
    span = detect_speech_span(x, sample_rate)
    if span is not None:
        x = x[span.onset: span.offset]
    win = max(1, int(0.05 * sample_rate))
    hop = max(1, win // 5)
    lo, hi = x.size // 3, 2 * x.size // 3
    starts = np.arange(lo, max(lo + 1, hi - win), hop)
    energy = np.array([float(np.sum(np.square(x[s: s + win], dtype=np.float64))) for s in starts])
    cut = int(starts[int(np.argmin(energy))] + win // 2) if energy.size else x.size // 2
    return np.ascontiguousarray(x[:cut]), np.ascontiguousarray(x[cut:])


def _speech_seconds(audio: AudioArray, sample_rate: int) -> float:
    from engine.sync import detect_speech_span

    span = detect_speech_span(audio, sample_rate)
    return (span.samples if span is not None else 0) / sample_rate


@dataclass
class _Candidate:
    backend: VoiceBackend
    voice_id: str
    rate: int
    lines: list[AudioArray]
    f0: float
    line_f0: list[float] = field(default_factory=list)
    base_score: float = 0.0
    best: tuple[float, VoiceTint] = (-math.inf, VoiceTint())
    tried: dict[tuple[float, float, float], float] = field(default_factory=dict)
    points: list[tuple[float, VoiceTint]] = field(default_factory=list)
    parent: _Candidate | None = None
    """For a blend of a backend's voices: its strongest voice, what its naturalness is judged against."""


def synthesize_lines(backend: VoiceBackend, voice_id: str, language: str, sentences: Sequence[str], *,
                     seed: int = 0, cache: MutableMapping[tuple[str, str, str, str, int], tuple[AudioArray, int]]
                     | None = None) -> tuple[list[AudioArray], int]:
    """Each sentence spoken by ``voice_id`` (native rate); ``cache`` (optional) keeps them between calls."""
    lines: list[AudioArray] = []
    rate = backend.spec.sample_rate
    for text in sentences:
        key = (backend.spec.name, voice_id, _base_language(language), text, seed)
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

    Difference of :func:`band_levels_db`, mean removed (level is the loudness
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


def _score(lines: Sequence[AudioArray], rate: int, target: Embedding, embedder: SpeakerEmbedder,
           cohort: Sequence[Embedding] = ()) -> float:
    """Mean over ``lines`` of the cosine to ``target`` minus :data:`COHORT_WEIGHT` x the mean cosine to ``cohort``."""
    values = []
    for line in lines:
        e = embedder.embed(line, rate)
        away = float(np.mean([cosine(e, c) for c in cohort])) if cohort else 0.0
        values.append(cosine(e, target) - COHORT_WEIGHT * away)
    return float(np.mean(values))


def _objective(candidate: _Candidate, semitones: float, formant: float, eq_amount: float,
               ref_levels: npt.NDArray[np.float64], target: Embedding, embedder: SpeakerEmbedder,
               cohort: Sequence[Embedding] = ()) -> float:
    """Penalised similarity of the candidate tinted with (semitones, formant, eq_amount); memoised."""
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
    value = _score(shifted, rate, target, embedder, cohort) - penalty
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


def _clip_semitones(value: float) -> float:
    return float(np.clip(value, -MAX_SEMITONES, MAX_SEMITONES))


def _clip_formant(value: float) -> float:
    return float(np.clip(value, *FORMANT_LIMITS))


class VoiceBlender(Protocol):
    """A backend's ``blend_voice_id`` (Kokoro's): voice id of a weighted style mix, optionally with the
    prosody half of the style mixed from other weights (timbre from ``weights``, prosody from ``prosody``)."""

    def __call__(self, weights: Mapping[str, float], *, prosody: Mapping[str, float] | None = None) -> str: ...


def _blend_candidates(own: Sequence[_Candidate], blend: VoiceBlender,
                      speak: Callable[[VoiceBackend, str, _Candidate | None], _Candidate],
                      check: Callable[[], None], judge: _Judge | None = None) -> list[_Candidate]:
    """The best :data:`BLENDS_KEPT` style blends of one backend's voices that beat its best voice
    (and, with a ``judge`` holding meters, sound as natural and clear as their strongest voice).

    ``own``: that backend's voices, best first. Tried: every 1:1 mix of its
    :data:`BLEND_VOICES` best voices (a mix often sounds like neither parent,
    so the two best alone are not enough), then the winning mix at 7:3 both
    ways, then with :data:`SPLIT_BLENDS` every voice's timbre with every other
    voice's prosody within one register (:data:`SPLIT_MAX_SEMITONES`): up to 32 syntheses with
    five voices. With :data:`PUSH_BLENDS`, also the best
    voice pushed x1.3 away from the others (their weights negative), further
    (x1.6, x2) while that helps, and the winning mix pushed x1.3 from the rest.
    """
    top = list(own[:BLEND_VOICES])
    names = [c.voice_id for c in own]
    parent_of = {c.voice_id: c for c in own}
    tried: dict[str, tuple[_Candidate, dict[str, float]]] = {}

    def away(mix: dict[str, float], k: float) -> dict[str, float]:
        rest = [n for n in names if n not in mix]
        return {**{n: w * k for n, w in mix.items()}, **{n: -(k - 1.0) / len(rest) for n in rest}}

    def attempt(weights: dict[str, float], prosody: dict[str, float] | None = None) -> _Candidate | None:
        voice_id = blend(weights) if prosody is None else blend(weights, prosody=prosody)
        if voice_id in names:
            return None
        if voice_id not in tried:
            check()
            parent = parent_of[max(weights, key=lambda n: weights[n])]
            tried[voice_id] = (speak(parent.backend, voice_id, parent), weights)
        return tried[voice_id][0]

    for i, one in enumerate(top):
        for two in top[i + 1:]:
            attempt({one.voice_id: 0.5, two.voice_id: 0.5})
    first = own[0]
    if PUSH_BLENDS:
        attempt(away({first.voice_id: 1.0}, 1.3))
    if not tried:
        return []
    best_id = max(tried, key=lambda v: tried[v][0].base_score)
    best, weights = tried[best_id]
    if any(w < 0 for w in weights.values()):  # the best voice pushed away won: further, while it keeps helping
        for k in (1.6, 2.0):
            latest = attempt(away({first.voice_id: 1.0}, k))
            if latest is None or latest.base_score <= best.base_score:
                break
            best = latest
    else:
        a, b = weights
        for mix in ({a: 0.7, b: 0.3}, {a: 0.3, b: 0.7}):
            attempt(mix)
        if len(names) > 2 and PUSH_BLENDS:
            attempt(away(weights, 1.3))
    # One voice's timbre with another's prosody (a split's best timbre may be the worst voice). Only with a
    # naturalness meter, and only between voices of one register: splits across it (a female timbre with a male
    # voice's prosody) please the speaker encoder and score DistillMOS 1.7-2.7.
    if SPLIT_BLENDS and judge is not None and judge.naturalness is not None:
        for timbre in top:
            for rhythm in top:
                if rhythm is not timbre and _semitones_apart(timbre.f0, rhythm.f0) <= SPLIT_MAX_SEMITONES:
                    attempt({timbre.voice_id: 1.0}, {rhythm.voice_id: 1.0})
    floor = max(c.base_score for c in own)
    winners: list[_Candidate] = []
    ranked = sorted((c for c, _ in tried.values() if c.base_score > floor), key=lambda c: c.base_score, reverse=True)
    for candidate in ranked[:BLEND_CHECKS]:
        # Pushed-away styles and splits across the sexes can please the speaker encoder and still sound broken.
        if judge is None or judge.verdict(candidate, VoiceTint(), candidate.parent or candidate) is not None:
            winners.append(candidate)
        if len(winners) == BLENDS_KEPT:
            break
    return winners


def _semitones_apart(f0: float, other: float) -> float:
    """Distance of two median F0s in semitones (inf when either is unknown)."""
    if not (math.isfinite(f0) and math.isfinite(other) and f0 > 0 and other > 0):
        return math.inf
    return abs(12.0 * math.log2(f0 / other))


class TuningCancelled(RuntimeError):
    """tune_match stopped because ``should_cancel`` returned True."""


def tune_match(reference: AudioArray, sample_rate: int, *, language: str, backends: Sequence[VoiceBackend],
               embedder: SpeakerEmbedder, sentences: Sequence[str] | None = None, strength: float = 1.0,
               seed: int = 0, should_cancel: Callable[[], bool] | None = None,
               synthesis_cache: MutableMapping[tuple[str, str, str, str, int], tuple[AudioArray, int]]
               | None = None, naturalness: Callable[[AudioArray, int], float] | None = None,
               naturalness_reference: str = "stock",
               cohort: Sequence[tuple[AudioArray, int]] = (),
               transcribe: Callable[[AudioArray, int, str], str] | None = None) -> VoiceMatch:
    """Choose the base voice and tint that bring ``backends``' voices closest to ``reference``.

    ``reference``: the character's clean speech (mono float32, ``sample_rate``
    Hz). Backends that clone from a reference (``spec.clones_from_reference``)
    are skipped. ``sentences``: what the candidates say while tuning (default
    :data:`TUNING_SENTENCES` for the language). ``strength`` is stored in the
    tint (parameters are tuned at full strength). ``seed`` is passed to the
    backends. ``should_cancel`` is polled between steps (raises
    :class:`TuningCancelled`). ``synthesis_cache`` (optional) keeps base-voice
    syntheses between calls. ``naturalness`` (optional; e.g. DistillMosMeter.score,
    audio and rate -> MOS) vetoes settings that score more than
    :data:`MAX_NATURALNESS_DROP` below the stock voice (first backend's first
    voice) on the tuning sentences; with ``naturalness_reference="base"`` (the product's
    profiles) each tint is judged against its own base voice untinted instead. ``cohort`` (optional): other speakers' speech as
    (audio, rate) pairs, e.g. the timeline's other characters; with it the
    objective is target-specific (similarity to the reference minus the mean
    similarity to the cohort), so changes that move toward every human voice
    (microphone colour, any processing) do not count. A reference with >= :data:`HOLDOUT_MIN_SPEECH_S`
    of speech is split (:func:`split_reference`): tuned on the first half,
    the similarities reported on the second; shorter ones are used whole.
    ``transcribe`` (optional; audio, rate, language -> text, e.g. Whisper)
    vetoes settings that mishear more words of the tuning sentences than their
    own base voice untinted (:data:`MAX_ERROR_RISE`).
    About 20-60 s on 2 CPU cores, most of it in the two-voice refinement.
    """
    started = time.perf_counter()

    def check() -> None:
        if should_cancel is not None and should_cancel():
            raise TuningCancelled("voice matching cancelled")

    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength!r}")
    if naturalness_reference not in ("stock", "base"):
        raise ValueError(f"naturalness_reference must be 'stock' or 'base', got {naturalness_reference!r}")
    base = _base_language(language)
    if synthesis_cache is None:
        synthesis_cache = {}
    texts = tuple(sentences) if sentences else TUNING_SENTENCES.get(base, ())
    if not texts:
        raise ValueError(f"no tuning sentences for language {language!r}: pass sentences=")
    # Cloning backends speak from the reference itself: they are no base for a tint.
    usable = [b for b in backends if speaks(b, language) and not b.spec.clones_from_reference]
    if not usable:
        raise ValueError(f"none of the backends speaks {language!r} with stock voices")
    ref = np.asarray(reference, dtype=np.float32)
    heldout = _speech_seconds(ref, sample_rate) >= HOLDOUT_MIN_SPEECH_S
    tune_ref, report_ref = split_reference(ref, sample_rate) if heldout else (ref, ref)
    target = embedder.embed(tune_ref, sample_rate)
    report_target = embedder.embed(report_ref, sample_rate) if heldout else target
    cohort_emb = [embedder.embed(np.asarray(a, dtype=np.float32), r) for a, r in cohort]
    ref_levels = band_levels_db(tune_ref, sample_rate)
    ref_f0 = median_f0(tune_ref, sample_rate)

    def speak(backend: VoiceBackend, voice_id: str, parent: _Candidate | None = None) -> _Candidate:
        check()
        lines, rate = synthesize_lines(backend, voice_id, language, texts, seed=seed, cache=synthesis_cache)
        line_f0 = [median_f0(x, rate) for x in lines]
        voiced = [f for f in line_f0 if math.isfinite(f)]
        f0 = float(np.exp(np.mean(np.log(voiced)))) if voiced else math.nan
        candidate = _Candidate(backend, voice_id, rate, lines, f0, line_f0, parent=parent)
        candidate.base_score = _score(lines, rate, target, embedder, cohort_emb)
        candidate.tried[(0.0, 1.0, 0.0)] = candidate.base_score
        candidate.best = (candidate.base_score, VoiceTint())
        candidate.points.append(candidate.best)
        return candidate

    def speak_extra(candidate: _Candidate, extra: Sequence[str]) -> list[AudioArray]:
        return synthesize_lines(candidate.backend, candidate.voice_id, language, extra, seed=seed,
                                cache=synthesis_cache)[0]

    extra = () if sentences else CHECK_SENTENCES.get(base, ())
    judge = _Judge(texts, language, strength, check, naturalness=naturalness, transcribe=transcribe,
                   extra=extra, speak_extra=speak_extra if (naturalness or transcribe) else None)
    candidates: list[_Candidate] = []
    for backend in usable:
        for info in backend.voices():
            candidates.append(speak(backend, info.voice_id))
    # Backends whose voices blend (Kokoro's style vectors): mixes of their voices are real timbres between them.
    for backend in usable:
        blend = getattr(backend, "blend_voice_id", None)
        own = sorted((c for c in candidates if c.backend is backend), key=lambda c: c.base_score, reverse=True)
        if callable(blend) and len(own) >= 2:
            candidates += _blend_candidates(own, blend, speak, check, judge)

    # Coarse look at every voice: pitch half or all the way to the reference's median F0; formants kept,
    # half-following or moving with the pitch (a higher voice usually has a shorter tract).
    for candidate in candidates:
        full = _clip_semitones(12.0 * math.log2(ref_f0 / candidate.f0)) if (
            math.isfinite(ref_f0) and math.isfinite(candidate.f0) and candidate.f0 > 0) else 0.0
        plain = 2.0 ** (full / 12.0)  # formant ratio of a plain shift (formants move with the pitch)
        for semitones, formant in ((full / 2, 2.0 ** (full / 48.0)), (full, 1.0), (full, plain ** 0.5), (full, plain)):
            check()
            _objective(candidate, semitones, _clip_formant(formant), 0.0, ref_levels, target, embedder, cohort_emb)

    # Fine search around the best point of the leading voices, then the envelope correction.
    leaders = sorted(candidates, key=lambda c: c.best[0], reverse=True)[:REFINE_BEST]
    for candidate in leaders:
        for step_st, step_f in ((2.0, 0.05), (1.0, 0.025)):
            best = candidate.best[1]
            for d_st, d_f in ((-step_st, 0.0), (step_st, 0.0), (0.0, -step_f), (0.0, step_f)):
                check()
                _objective(candidate, _clip_semitones(best.pitch_semitones + d_st),
                           _clip_formant(best.formant_ratio + d_f), 0.0, ref_levels, target, embedder, cohort_emb)
        best = candidate.best[1]
        for amount in (0.5, 1.0):
            check()
            _objective(candidate, best.pitch_semitones, best.formant_ratio, amount, ref_levels, target, embedder,
                       cohort_emb)

    winner, tint = max(candidates, key=lambda c: c.best[0]), VoiceTint()
    tint = winner.best[1]
    verdict: _Verdict | None = None
    if naturalness is not None or transcribe is not None:
        winner, tint, verdict = _acceptable_choice(candidates, judge, against_base=naturalness_reference == "base")
    tint = replace(tint, strength=float(strength))
    untinted = _score(winner.lines, winner.rate, report_target, embedder)
    matched = _score([apply_tint(x, winner.rate, tint) for x in winner.lines], winner.rate, report_target, embedder)
    return VoiceMatch(
        language=language, backend=winner.backend.spec.name, voice_id=winner.voice_id, tint=tint,
        similarity_base=round(untinted, 4), similarity_matched=round(matched, 4), heldout=heldout,
        candidates=tuple((c.backend.spec.name, c.voice_id, round(c.base_score, 4), round(c.best[0], 4))
                         for c in candidates),
        seconds=round(time.perf_counter() - started, 2),
        naturalness=_rounded(verdict.naturalness if verdict else None, 3),
        naturalness_stock=_rounded(verdict.naturalness_reference if verdict else None, 3),
        error_rate=_rounded(verdict.error_rate if verdict else None, 4),
        error_rate_reference=_rounded(verdict.error_rate_reference if verdict else None, 4),
    )


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass(frozen=True)
class _Verdict:
    """How a chosen setting scored against its reference (None: that meter was not given)."""

    naturalness: float | None
    naturalness_reference: float | None
    error_rate: float | None
    error_rate_reference: float | None


class _Judge:
    """Naturalness and ASR error rate of a candidate with a tint on the tuning sentences (memoised per setting)."""

    def __init__(self, texts: Sequence[str], language: str, strength: float, check: Callable[[], None], *,
                 naturalness: Callable[[AudioArray, int], float] | None,
                 transcribe: Callable[[AudioArray, int, str], str] | None,
                 extra: Sequence[str] = (),
                 speak_extra: Callable[[_Candidate, Sequence[str]], list[AudioArray]] | None = None) -> None:
        self.texts = (*texts, *extra) if speak_extra is not None else tuple(texts)
        self.extra = tuple(extra) if speak_extra is not None else ()
        self.language, self.strength, self.check = language, strength, check
        self.naturalness, self.transcribe, self.speak_extra = naturalness, transcribe, speak_extra
        self._mos: dict[tuple[int, VoiceTint], float] = {}
        self._err: dict[tuple[int, VoiceTint], tuple[int, int]] = {}
        self._tinted: dict[tuple[int, VoiceTint], list[AudioArray]] = {}

    @staticmethod
    def _key(candidate: _Candidate, tint: VoiceTint) -> tuple[int, VoiceTint]:
        return id(candidate), VoiceTint() if tint.is_identity else tint

    def _lines(self, candidate: _Candidate, tint: VoiceTint) -> list[AudioArray]:
        """The judged sentences spoken by ``candidate`` with ``tint`` (tinted once, for both meters)."""
        key = self._key(candidate, tint)
        if key not in self._tinted:
            tinted = replace(tint, strength=self.strength)
            extra = self.speak_extra(candidate, self.extra) if self.speak_extra is not None and self.extra else []
            self._tinted[key] = [apply_tint(x, candidate.rate, tinted) for x in (*candidate.lines, *extra)]
        return self._tinted[key]

    def mos(self, candidate: _Candidate, tint: VoiceTint) -> float | None:
        if self.naturalness is None:
            return None
        key = self._key(candidate, tint)
        if key not in self._mos:
            self.check()
            meter = self.naturalness
            self._mos[key] = float(np.mean([meter(x, candidate.rate) for x in self._lines(candidate, tint)]))
        return self._mos[key]

    def errors(self, candidate: _Candidate, tint: VoiceTint) -> tuple[int, int] | None:
        """(misheard words, words) over the tuning sentences (Mandarin: characters), None without ``transcribe``."""
        if self.transcribe is None:
            return None
        key = self._key(candidate, tint)
        if key not in self._err:
            from engine.qc.text_norm import error_counts

            self.check()
            counts = [error_counts(text, self.transcribe(line, candidate.rate, self.language), language=self.language)
                      for text, line in zip(self.texts, self._lines(candidate, tint), strict=True)]
            self._err[key] = (sum(c[0] for c in counts), sum(c[1] for c in counts))
        return self._err[key]

    def verdict(self, candidate: _Candidate, tint: VoiceTint, reference: _Candidate) -> _Verdict | None:
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
        return _Verdict(mos, mos_ref, _rate(err), _rate(err_ref))


def _rate(counts: tuple[int, int] | None) -> float | None:
    return None if counts is None else counts[0] / max(1, counts[1])


def _acceptable_choice(candidates: Sequence[_Candidate], judge: _Judge, *,
                       against_base: bool = False) -> tuple[_Candidate, VoiceTint, _Verdict]:
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
    "BAND_CENTRES_HZ", "TUNING_SENTENCES", "TuningCancelled", "VoiceMatch", "VoiceTint", "apply_tint",
    "envelope_correction", "speaks", "split_reference", "synthesize_lines", "tune_match",
]
