"""Offline voice matching: choose the stock voice and tint that bring it closest to a character.

:func:`tune_match` picks the base voice (every shipped voice that speaks the
language, scored by speaker similarity to the character's reference) and
tunes the tint (:class:`revoice.engine.characters.tint.VoiceTint`) to maximise
measured similarity while keeping naturalness. It runs when a profile is
built (``revoice voice build``, or ``revoice run`` for a character without
one); rendering only applies the stored result (:mod:`revoice.engine.characters.tint`).

INTERFACE CONTRACT (other modules build on these names; keep them)::

    tune_match(reference: AudioArray, sample_rate: int, *, language: str,
               backends: Sequence[VoiceBackend], embedder: SpeakerEmbedder,
               sentences: Sequence[str] | None = None, strength: float = 1.0,
               seed: int = 0, should_cancel: Callable[[], bool] | None = None,
               synthesis_cache=None, naturalness=None, cohort=()) -> VoiceMatch

(``SpeakerEmbedder`` is engine.speaker's protocol; ``reference`` is the
character's clean speech, mono float32.)

How tuning works, coarse to fine: every candidate voice first speaks the first
:data:`SCREEN_LINES` tuning sentences (a base voice's renders, F0s and
embeddings do not depend on the character: the run's ``synthesis_cache`` keeps
them for every later character); a backend that blends its voices
(``blend_voice_id``, Kokoro's style vectors) adds pairwise mixes of its voices,
judged like any voice, and keeps the best two that beat all its voices. Each is
scored by :func:`revoice.engine.characters.tuning_score.objective` (mean
d-vector cosine to the reference, minus, with a ``cohort`` of other speakers
such as the timeline's other characters, the mean cosine to the cohort: the
gain must be specific to this character, not toward every human voice; minus
cleanliness penalties), untinted and with its pitch moved to the reference's
median F0. The best :data:`SHORTLIST` of those and the stock voice speak
every tuning sentence; on them a coarse look (pitch half / all the way;
formants kept, half-following or moving with the pitch) runs, then a
coordinate search plus the envelope correction on the best
:data:`REFINE_BEST`. The DSP of every setting reuses each line's analyses
(:class:`~revoice.engine.dsp.voice_transform.PreparedLine`). Hard limits
(:data:`~revoice.engine.characters.tuning_score.MAX_SEMITONES`,
:data:`~revoice.engine.characters.tuning_score.FORMANT_LIMITS`) keep the shift in
its clean range. With a naturalness meter (e.g. DistillMOS) or a transcriber
the best settings are checked in order and the first that passes the vetoes
wins (:func:`revoice.engine.characters.tuning_judge.acceptable_choice`; a blend
must first sound as natural and clear as its strongest voice). Intelligibility
comes first: with a transcriber no base voice or tint that mishears the judged
sentences (tuning + :data:`CHECK_SENTENCES`) more than the language's stock voice
is chosen; the stock voice is always the fallback, and the match reports the
similarity given up for it (``VoiceMatch.similarity_given_up``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np
from revoice.engine.characters.tint import VoiceMatch, VoiceTint, speaks, tint_line
from revoice.engine.characters.tuning_judge import Judge, Verdict, acceptable_choice
from revoice.engine.characters.tuning_score import (
    Candidate,
    SynthesisCache,
    clip_formant,
    clip_semitones,
    objective,
    score_embeddings,
    similarity_score,
    speak_line,
    synthesize_lines,
)
from revoice.engine.dsp.voice_transform import band_levels_db, median_f0
from revoice.engine.language import base_language
from revoice.engine.speaker import SpeakerEmbedder
from revoice.engine.voices.base import AudioArray, VoiceBackend

HOLDOUT_MIN_SPEECH_S = 8.0
"""A reference with at least this much speech (s) is split: tune on the first half, report on the second."""
SCREEN_LINES = 2
"""Every voice and blend is first scored on this many tuning sentences (the first ones). On the bench's six
English voices (16 voices and 1:1 blends each), the best on all 4 sentences ranked 1st-3rd on these 2 (1st-5th on
one)."""
SHORTLIST = 3
"""How many of the screened voices (best first, untinted or moved to the reference's pitch) speak every tuning
sentence and get the coarse look at the tint."""
REFINE_BEST = 2
"""How many of the best base voices after the coarse grid get the fine search and EQ."""
BLENDS_KEPT = 2
"""How many of the best voice blends (backends with ``blend_voice_id``, e.g. Kokoro) join the voices screened."""
BLEND_VOICES = 5
"""A blending backend's best this-many voices are mixed pairwise (10 mixes for 5 voices)."""
PAIR_MIXES = ((0.5, 0.5), (0.7, 0.3), (0.3, 0.7))
"""The weights a pair of voices is mixed at: every pair 1:1, then the best pair at 7:3 both ways."""
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
        "Six spoons of fresh snow peas.",
        "She was born on the 23rd of March, 1998.",
        "She sells sixty seashells by the shore.",
        "We need 15 glasses and 4 boxes of matches.",
    ),
    "zh": (
        "我们下个星期去海边看看吧。",
        "你把那本书放在哪里了？",
        "天快黑了，路上小心一点。",
        "他每天早上都去公园跑步。",
        "他买了三斤苹果和五个橘子。",
        "我们班一共有四十六个学生。",
        "这本书有三百八十页。",
        "桌子上放着十九支铅笔。",
    ),
}
"""With default sentences, the naturalness and ASR vetoes also hear these (12 sentences in all with the tuning
ones, so one misheard word decides nothing; the objective still uses the tuning sentences only). The last four
hold numbers (read out by the voice; the ASR may write digits, which count as the words) and plural sibilants
in English, numbers with measure words (量词) in Mandarin; none uses 两 or a year in Mandarin, which the error
counter's digit reading (二, 二千零...) would miscount. Read-only."""


def split_reference(audio: AudioArray, sample_rate: int) -> tuple[AudioArray, AudioArray]:
    """(first half, second half) of the speech in ``audio``, cut at the quietest 50 ms near the middle.

    The cut is searched in the middle third of the speech span, so both halves
    hold whole words where the recording allows.
    """
    from revoice.engine.sync import detect_speech_span

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
    from revoice.engine.sync import detect_speech_span

    span = detect_speech_span(audio, sample_rate)
    return (span.samples if span is not None else 0) / sample_rate


class VoiceBlender(Protocol):
    """A backend's ``blend_voice_id`` (Kokoro's): voice id of a weighted style mix, optionally with the
    prosody half of the style mixed from other weights (timbre from ``weights``, prosody from ``prosody``)."""

    def __call__(self, weights: Mapping[str, float], *, prosody: Mapping[str, float] | None = None) -> str: ...


def _blend_candidates(own: Sequence[Candidate], blend: VoiceBlender,
                      screen: Callable[[VoiceBackend, str, Candidate | None], Candidate],
                      *, splits: bool = False) -> list[Candidate]:
    """The best :data:`BLENDS_KEPT` style blends of one backend's voices that beat its best voice (screened).

    ``own``: that backend's voices, best first. Tried: every 1:1 mix of its
    :data:`BLEND_VOICES` best voices (a mix often sounds like neither parent,
    so the two best alone are not enough), then the winning mix at 7:3 both
    ways when it beats every voice, then with ``splits`` every voice's timbre with every other voice's
    prosody within one register (:data:`SPLIT_MAX_SEMITONES`). With
    :data:`PUSH_BLENDS`, also the best voice pushed x1.3 away from the others
    (their weights negative), further (x1.6, x2) while that helps, and the
    winning mix pushed x1.3 from the rest. Naturalness is judged later, on
    the blends that come out best (:func:`~revoice.engine.characters.tuning_judge.acceptable_choice`).
    """
    top = list(own[:BLEND_VOICES])
    names = [c.voice_id for c in own]
    parent_of = {c.voice_id: c for c in own}
    tried: dict[str, tuple[Candidate, dict[str, float]]] = {}

    def away(mix: dict[str, float], k: float) -> dict[str, float]:
        rest = [n for n in names if n not in mix]
        return {**{n: w * k for n, w in mix.items()}, **{n: -(k - 1.0) / len(rest) for n in rest}}

    def attempt(weights: dict[str, float], prosody: dict[str, float] | None = None) -> Candidate | None:
        voice_id = blend(weights) if prosody is None else blend(weights, prosody=prosody)
        if voice_id in names:
            return None
        if voice_id not in tried:
            parent = parent_of[max(weights, key=lambda n: weights[n])]
            tried[voice_id] = (screen(parent.backend, voice_id, parent), weights)
        return tried[voice_id][0]

    (even_one, even_two), *uneven = PAIR_MIXES
    for i, one in enumerate(top):
        for two in top[i + 1:]:
            attempt({one.voice_id: even_one, two.voice_id: even_two})
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
    elif best.base_score > max(c.base_score for c in own):  # the best 1:1 mix joins the voices: try it at 7:3
        a, b = weights
        for weight_a, weight_b in uneven:
            attempt({a: weight_a, b: weight_b})
        if len(names) > 2 and PUSH_BLENDS:
            attempt(away(weights, 1.3))
    # Splits across the register please the speaker encoder and score DistillMOS 1.7-2.7: within it only.
    if splits:
        for timbre in top:
            for rhythm in top:
                if rhythm is not timbre and _semitones_apart(timbre.f0, rhythm.f0) <= SPLIT_MAX_SEMITONES:
                    attempt({timbre.voice_id: 1.0}, {rhythm.voice_id: 1.0})
    floor = max(c.base_score for c in own)
    ranked = sorted((c for c, _ in tried.values() if c.base_score > floor), key=lambda c: c.base_score, reverse=True)
    return ranked[:BLENDS_KEPT]


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
               synthesis_cache: SynthesisCache | None = None,
               naturalness: Callable[[AudioArray, int], float] | None = None,
               naturalness_reference: str = "stock",
               cohort: Sequence[tuple[AudioArray, int]] = (),
               transcribe: Callable[[AudioArray, int, str], str] | None = None,
               stock_intelligibility: bool = True) -> VoiceMatch:
    """Choose the base voice and tint that bring ``backends``' voices closest to ``reference``.

    ``reference``: the character's clean speech (mono float32, ``sample_rate``
    Hz). Backends that clone from a reference (``spec.clones_from_reference``)
    are skipped. ``sentences``: what the candidates say while tuning (default
    :data:`TUNING_SENTENCES` for the language). ``strength`` is stored in the
    tint (parameters are tuned at full strength). ``seed`` is passed to the
    backends. ``should_cancel`` is polled between steps (raises
    :class:`TuningCancelled`). ``synthesis_cache`` (optional) keeps base-voice
    syntheses and their measurements between calls (pass one mapping for every character of a run).
    ``naturalness`` (optional; e.g. DistillMosMeter.score,
    audio and rate -> MOS) vetoes settings that score more than
    :data:`~revoice.engine.characters.tuning_judge.MAX_NATURALNESS_DROP` below the stock voice (first backend's first
    voice) on the tuning sentences; with ``naturalness_reference="base"`` (the product's
    profiles) each tint is judged against its own base voice untinted instead. ``cohort`` (optional): other speakers' speech as
    (audio, rate) pairs, e.g. the timeline's other characters; with it the
    objective is target-specific (similarity to the reference minus the mean
    similarity to the cohort), so changes that move toward every human voice
    (microphone colour, any processing) do not count. A reference with >= :data:`HOLDOUT_MIN_SPEECH_S`
    of speech is split (:func:`split_reference`): tuned on the first half,
    the similarities reported on the second; shorter ones are used whole.
    ``transcribe`` (optional; audio, rate, language -> text, e.g. Whisper)
    vetoes settings that mishear more words of the judged sentences than their
    own base voice untinted (:data:`~revoice.engine.characters.tuning_judge.MAX_ERROR_RISE`) and, with
    ``stock_intelligibility`` (default; False is the earlier rule, for the bench's comparison), base voices and
    settings that mishear more than the stock voice untinted
    (:data:`~revoice.engine.characters.tuning_judge.MAX_ERRORS_OVER_STOCK`); the similarity that costs is
    ``VoiceMatch.similarity_given_up``.
    On 2 CPU cores (bench/voice.py, 7 real voices): 8-44 s a character (mean 21) once the cache holds the base
    voices' renders and untinted scores (a :class:`~revoice.engine.characters.voice_bank.VoiceBank` keeps them
    between runs); the first character of a language in a fresh cache makes them, 140-160 s.
    """
    started = time.perf_counter()

    def check() -> None:
        if should_cancel is not None and should_cancel():
            raise TuningCancelled("voice matching cancelled")

    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength!r}")
    if naturalness_reference not in ("stock", "base"):
        raise ValueError(f"naturalness_reference must be 'stock' or 'base', got {naturalness_reference!r}")
    base = base_language(language)
    cache: SynthesisCache = {} if synthesis_cache is None else synthesis_cache
    texts = tuple(sentences) if sentences else TUNING_SENTENCES.get(base, ())
    if not texts:
        raise ValueError(f"no tuning sentences for language {language!r}: pass sentences=")
    # Cloning backends speak from the reference itself: they are no base for a tint.
    usable = [b for b in backends if speaks(b, language) and not b.spec.clones_from_reference]
    if not usable:
        raise ValueError(f"none of the backends speaks {language!r} with stock voices")
    check()
    ref = np.asarray(reference, dtype=np.float32)
    heldout = _speech_seconds(ref, sample_rate) >= HOLDOUT_MIN_SPEECH_S
    tune_ref, report_ref = split_reference(ref, sample_rate) if heldout else (ref, ref)
    target = embedder.embed(tune_ref, sample_rate)
    report_target = embedder.embed(report_ref, sample_rate) if heldout else target
    cohort_emb = [embedder.embed(np.asarray(a, dtype=np.float32), r) for a, r in cohort]
    ref_levels = band_levels_db(tune_ref, sample_rate)
    ref_f0 = median_f0(tune_ref, sample_rate)

    def speak(candidate: Candidate, count: int) -> None:
        """``candidate`` scored on the first ``count`` tuning sentences (spoken, or found in the cache)."""
        if len(candidate.spoken) < count:
            check()
            candidate.use([speak_line(candidate.backend, candidate.voice_id, language, text, seed=seed, cache=cache,
                                      embedder=embedder) for text in texts[:count]], target, cohort_emb)

    def screen(backend: VoiceBackend, voice_id: str, parent: Candidate | None = None) -> Candidate:
        candidate = Candidate(backend, voice_id, backend.spec.sample_rate, [], parent=parent)
        speak(candidate, SCREEN_LINES)
        return candidate

    def complete(candidate: Candidate) -> None:
        speak(candidate, len(texts))
        if candidate.parent is not None:  # what a blend is judged against
            complete(candidate.parent)

    def speak_extra(candidate: Candidate, extra: Sequence[str]) -> list[AudioArray]:
        check()
        return synthesize_lines(candidate.backend, candidate.voice_id, language, extra, seed=seed, cache=cache)[0]

    def to_reference_pitch(candidate: Candidate) -> float:
        """Semitones from the candidate's median F0 to the reference's (clipped; 0 when either is unknown)."""
        f0 = candidate.f0
        ok = math.isfinite(ref_f0) and math.isfinite(f0) and f0 > 0
        return clip_semitones(12.0 * math.log2(ref_f0 / f0)) if ok else 0.0

    def score(candidate: Candidate, semitones: float, formant: float, eq_amount: float = 0.0) -> float:
        check()
        return objective(candidate, semitones, clip_formant(formant), eq_amount, ref_levels, target, embedder,
                         cohort_emb)

    extra = () if sentences else CHECK_SENTENCES.get(base, ())
    judge = Judge(texts, language, strength, check, naturalness=naturalness, transcribe=transcribe,
                  extra=extra, speak_extra=speak_extra if (naturalness or transcribe) else None, cache=cache,
                  seed=seed)
    pool = [screen(backend, info.voice_id) for backend in usable for info in backend.voices()]
    # Backends whose voices blend (Kokoro's style vectors): mixes of their voices are real timbres between them.
    for backend in usable:
        blend = getattr(backend, "blend_voice_id", None)
        own = sorted((c for c in pool if c.backend is backend), key=lambda c: c.base_score, reverse=True)
        if callable(blend) and len(own) >= 2:
            pool += _blend_candidates(own, blend, screen, splits=SPLIT_BLENDS and naturalness is not None)
    # Screening: each voice untinted and moved to the reference's pitch (formants half-following), on few lines.
    potential: dict[int, float] = {}
    for candidate in pool:
        shift = to_reference_pitch(candidate)
        moved = score(candidate, shift, 2.0 ** (shift / 24.0)) if abs(shift) >= 1.0 else -math.inf
        potential[id(candidate)] = max(candidate.base_score, moved)
    ranked = sorted(pool, key=lambda c: potential[id(c)], reverse=True)
    leaders = ranked[:SHORTLIST]
    finalists = [pool[0], *(c for c in leaders if c is not pool[0])]  # stock: the vetoes' reference, fallback
    for candidate in finalists:
        complete(candidate)

    # Coarse look at the finalists: pitch half or all the way to the reference's median F0; formants kept,
    # half-following or moving with the pitch (a higher voice usually has a shorter tract).
    for candidate in finalists:
        full = to_reference_pitch(candidate)
        plain = 2.0 ** (full / 12.0)  # formant ratio of a plain shift (formants move with the pitch)
        for semitones, formant in ((full / 2, 2.0 ** (full / 48.0)), (full, 1.0), (full, plain ** 0.5), (full, plain)):
            score(candidate, semitones, formant)
    # Fine search around the best point of the leading voices, then the envelope correction.
    for candidate in sorted(finalists, key=lambda c: c.best[0], reverse=True)[:REFINE_BEST]:
        for step_st, step_f in ((2.0, 0.05), (1.0, 0.025)):
            best = candidate.best[1]
            for d_st, d_f in ((-step_st, 0.0), (step_st, 0.0), (0.0, -step_f), (0.0, step_f)):
                score(candidate, clip_semitones(best.pitch_semitones + d_st), best.formant_ratio + d_f)
        best = candidate.best[1]
        for amount in (0.5, 1.0):
            score(candidate, best.pitch_semitones, best.formant_ratio, amount)

    winner = max(finalists, key=lambda c: c.best[0])
    tint = winner.best[1]
    verdict: Verdict | None = None
    refused: tuple[tuple[Candidate, VoiceTint], ...] = ()
    if naturalness is not None or transcribe is not None:
        choice = acceptable_choice(finalists, judge, against_base=naturalness_reference == "base",
                                   stock_intelligibility=stock_intelligibility)
        winner, tint, verdict, refused = choice.candidate, choice.tint, choice.verdict, choice.refused

    def reported(candidate: Candidate, setting: VoiceTint) -> float:
        """Similarity of a setting (at ``strength``) to the held-out reference, as ``similarity_matched``."""
        check()
        scaled = replace(setting, strength=float(strength))
        return similarity_score([tint_line(line, scaled) for line in candidate.prepared], candidate.rate,
                                report_target, embedder)

    tint = replace(tint, strength=float(strength))
    untinted = score_embeddings([s.embedding for s in winner.spoken], report_target)
    matched = reported(winner, tint)
    given_up = max([0.0, *(reported(c, t) - matched for c, t in refused)])
    return VoiceMatch(
        language=language, backend=winner.backend.spec.name, voice_id=winner.voice_id, tint=tint,
        similarity_base=round(untinted, 4), similarity_matched=round(matched, 4), heldout=heldout,
        candidates=tuple((c.backend.spec.name, c.voice_id, round(c.base_score, 4), round(c.best[0], 4))
                         for c in pool),
        seconds=round(time.perf_counter() - started, 2),
        naturalness=_rounded(verdict.naturalness if verdict else None, 3),
        naturalness_stock=_rounded(verdict.naturalness_reference if verdict else None, 3),
        error_rate=_rounded(verdict.error_rate if verdict else None, 4),
        error_rate_reference=_rounded(verdict.error_rate_reference if verdict else None, 4),
        error_rate_stock=_rounded(verdict.error_rate_stock if verdict else None, 4),
        similarity_given_up=round(given_up, 4),
    )


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


__all__ = [
    "CHECK_SENTENCES", "TUNING_SENTENCES", "TuningCancelled", "VoiceBlender", "split_reference", "tune_match",
]
