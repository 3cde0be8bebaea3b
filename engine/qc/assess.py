"""Meter one rendered take: intelligibility, voice, naturalness, level and sync, with flags and a score.

:class:`LineQc` is an :data:`engine.render.Assessor`::

    qc = LineQc(device="cpu")
    result = revoicer.render(lines, out_dir=out, takes=3, assess=qc)

For each take it reads the WAV and measures

* ``asr_text``: what Whisper base hears (:class:`engine.qc.asr.AsrMeter`), and
  ``wer`` (``cer`` for Mandarin, Japanese, Cantonese) against the line's spoken
  text (stage directions taken out; the lower error of the text as written and
  as :mod:`engine.text.normalize` reads it out), normalized by :mod:`engine.qc.text_norm`;
* ``similarity``: cosine (-1..1) of d-vector speaker embeddings
  (:class:`engine.qc.similarity.SpeakerSimilarity`) between the take and the
  character's reference: the line's original audio when it can be read
  (``similarity_to = "original"``), else the voice's own profile
  (``"voice profile"``: the same backend and voice reading a fixed passage,
  :data:`PROFILE_TEXT`, rendered once per voice and language).
  ``voice_similarity`` is always the similarity to the voice profile: the take
  should sound like the voice it was rendered with; a low value means
  another voice, noise or a broken take. A line spoken by a character's voice
  profile (:mod:`engine.voices.profiled`, kind "tint" or "clone") is compared
  with that profile's embedding instead: the actor's reference speech
  (``voice_similarity_to = "character profile"``; also ``similarity_to`` when
  the original cannot be read); the profiles come with ``profiles=`` or
  :meth:`LineQc.with_profiles`. With the ``ge2e`` meter, Resemblyzer's
  GE2E gives ``similarity_ge2e`` / ``voice_similarity_ge2e`` as a second opinion
  (stock voices only: a profile keeps a d-vector);
* ``mos``: DistillMOS predicted naturalness, 1..5 (:class:`engine.qc.mos.DistillMosMeter`);
* ``loudness_lufs`` (BS.1770 integrated, over the placed speech, as the
  renderer measures it), ``true_peak_dbtp`` (4x oversampled, whole file),
  ``clipped_samples`` (samples in flat-topped runs), ``speech_fraction``
  (VAD speech span / placed speech length; 0 when no speech is found);
* sync numbers copied from ``rendered.report``: ``length_error_samples``,
  ``onset_error_ms``, ``offset_error_ms``, ``stretch_ratio``, ``ratio``.

Every number beyond a :class:`QcThresholds` bound adds a sentence to ``flags``.

Score (higher is better; the renderer keeps the take with the highest)::

    q_text = 1 - min(wer or cer, 1)             # 0..1
    q_sim  = clip(similarity, 0, 1)             # 0..1
    q_mos  = clip((mos - 1) / 4, 0, 1)          # 0..1
    score  = (0.5 q_text + 0.25 q_sim + 0.25 q_mos) / (sum of the weights of the meters switched on)
             - 0.2 * number of QC flags

A meter that is switched on but cannot measure (silent take) counts as 0;
a meter switched off is left out of the weights. Scores rank the takes of one
line; across lines they also reflect the reference (a stock voice is far from
the actor of an original take). All meters load lazily, once per :class:`LineQc`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from engine.dsp.bwf import read_wav
from engine.dsp.loudness import integrated_loudness, true_peak_dbtp
from engine.model import DialogueLine, RenderedLine
from engine.original import read_original
from engine.qc.asr import AsrMeter
from engine.qc.mos import DistillMosMeter
from engine.qc.similarity import Embedding, SpeakerEmbedder, SpeakerSimilarity, cosine
from engine.qc.text_norm import cer, wer
from engine.sync import detect_speech_span
from engine.voices.base import AudioArray, BackendOptions, SynthesisRequest, VoiceBackend

if TYPE_CHECKING:
    from engine.voices.profile import VoiceProfile

METERS = ("asr", "mos", "similarity", "ge2e")
"""Model-based meters :class:`LineQc` can run (level, clipping and sync checks always run). ``ge2e`` is
an optional second opinion on similarity (Resemblyzer, ~0.15 s per take): reported, never flagged or scored."""

DEFAULT_METERS = ("asr", "mos", "similarity")

CHARACTER_LANGUAGES = ("zh", "cmn", "yue", "ja")
"""Languages scored by character error rate instead of word error rate."""

PROFILE_TEXT: Mapping[str, str] = MappingProxyType({
    "en": ("The north wind and the sun were disputing which was the stronger, when a traveller came "
           "along wrapped in a warm cloak. They agreed that the one who first succeeded in making the "
           "traveller take his cloak off should be considered stronger than the other."),
    "zh": "有一回，北风跟太阳在那儿争论谁的本事大。争来争去，就是分不出高低来。这时候路上来了个走道儿的，他身上穿着件厚大衣。",
})
"""What a voice reads for its profile (The North Wind and the Sun), by base language; others use ``en``."""

SCORE_WEIGHTS: Mapping[str, float] = MappingProxyType({"asr": 0.5, "similarity": 0.25, "mos": 0.25})
FLAG_PENALTY = 0.2
"""Score lost per QC flag."""

DEFAULT_SIMILARITY_FLOORS: Mapping[str, float] = MappingProxyType({"piper:joe": 0.55, "kokoro:jm_kumo": 0.65})
"""Calibrated voice-profile floors by ``backend:voice`` (bench.quality, d-vector, >= 1 s of speech):
piper joe's takes 0.60-0.93 against its profile (24 lines), real human voices 0.03-0.52 (n=329 chunks);
kokoro jm_kumo's takes 0.78-0.94 (12 lines), human voices up to 0.58."""


@dataclass(frozen=True)
class QcThresholds:
    """Bounds beyond which a take is flagged. Units in the field names' docs."""

    max_wer: float = 0.10
    """Word error rate (edits / reference words) of the ASR transcript; English and other spaced scripts."""
    max_cer: float = 0.20
    """Character error rate for zh/ja: Whisper base on Kokoro jm_kumo (Japanese accent) reads clean
    Mandarin lines at 0.00-0.17; the two of 12 bench lines above 0.20 were heard as other words."""
    min_similarity: float = 0.55
    """Cosine to the voice profile for voices without a calibrated floor in ``similarity_floors``."""
    similarity_floors: Mapping[str, float] = field(default_factory=lambda: DEFAULT_SIMILARITY_FLOORS)
    """Per-voice floors, key ``backend:voice_id`` (the voice's own calibrated floor)."""
    min_original_similarity: float | None = None
    """Floor for the similarity to the original take; None: not flagged (set it for cloning voices:
    a stock voice is a different person: piper takes vs the real original measured 0.03-0.64)."""
    min_profile_similarity: float | None = None
    """Floor for a character's profile voice: cosine of the take to the profile's embedding (the actor's
    reference speech); None: not flagged (a "tint" is a stock voice moved toward the actor, not a clone)."""
    min_similarity_speech_s: float = 1.0
    """Speech shorter than this (s) is too short for a reliable embedding: similarity reported, not flagged."""
    min_mos: float = 3.0
    """DistillMOS (1..5): clean piper takes 2.8-4.4 (1 of 24 bench lines, a short question, below 3.0),
    Kokoro 3.9-4.5, speech in noise ~2.0, white noise ~1.6. Clipping barely moves it (see clipped_samples)."""
    min_mos_speech_s: float = 1.0
    """Speech shorter than this (s) gets its DistillMOS reported, not flagged: clean one- and two-word takes
    score low (piper joe "No." 2.70, "Not now." 2.63; Kokoro jf_alpha "No." 1.75), real speech cut to 0.7 s
    2.55-4.07."""
    max_true_peak_dbtp: float | None = None
    """True-peak ceiling (dBTP); None: the ceiling the take was rendered with (RenderSettings, -2 dBTP)."""
    true_peak_tolerance_db: float = 0.1
    max_clipped_samples: int = 0
    """Samples allowed in flat-topped runs (>= ``clip_run_samples`` equal samples at >= half the peak)."""
    clip_run_samples: int = 3
    min_speech_fraction: float = 0.5
    """VAD speech span / placed speech length below this (or no speech at all) is flagged."""
    max_loudness_error_lu: float = 1.0
    """|measured - target| loudness (LU) of the placed speech."""
    max_onset_error_ms: float = 45.0
    """|onset error| (ms) against the original take (about one frame at 24 fps)."""
    min_ratio: float = 0.8
    max_ratio: float = 1.25
    """Fitted / natural speech length bounds (as engine.fit.FitPolicy); not repeated when the fit flagged it."""
    max_stretch_deviation: float = 0.15
    """|stretch_ratio - 1| beyond this: the residual time stretch is large enough to hear."""

    def similarity_floor(self, backend: str, voice_id: str) -> float:
        """The voice-profile floor for ``backend``'s ``voice_id`` (a stock voice)."""
        return float(self.similarity_floors.get(f"{backend}:{voice_id}", self.min_similarity))


def stock_backend(name: str) -> str:
    """The backend under a profile backend's name: ``"profile+piper"`` -> ``"piper"``; others unchanged."""
    from engine.voices.profiled import BACKEND_PREFIX

    return name[len(BACKEND_PREFIX):] if name.startswith(BACKEND_PREFIX) else name


def base_language(language: str) -> str:
    """``"zh-CN"`` -> ``"zh"``."""
    return language.replace("_", "-").split("-")[0].lower()


def spoken_text(text: str) -> str:
    """``text`` without stage directions (``[laughs]``, ``（停顿）``): what the voice should say."""
    from engine.text.directions import Speech, split_directions

    pieces, _ = split_directions(text)
    return " ".join(piece.text for piece in pieces if isinstance(piece, Speech)).strip()


def references(text: str, language: str) -> tuple[str, ...]:
    """Reference texts for the error rate: the spoken text as written and as the engine reads it out.

    The lower error of the two counts, so "3点" matches an ASR "三点" and "3点"
    alike (engine.text.normalize spells numbers, dates and phone numbers the way
    the voice is asked to say them; engine.qc.text_norm normalizes both sides).
    """
    spoken = spoken_text(text)
    try:
        from engine.text.normalize import normalize

        read_out = normalize(spoken, language=language).normalized
    except (ImportError, ValueError):
        return (spoken,)
    return (spoken,) if read_out == spoken else (spoken, read_out)


def clipped_samples(audio: npt.NDArray[np.floating[Any]], *, run: int = 3, level: float = 0.5) -> int:
    """Samples in runs of at least ``run`` identical non-zero values at >= ``level`` x the peak.

    A clipper (even one followed by a gain change) leaves such plateaus;
    speech at 24 bits does not: near a peak, consecutive samples differ by
    far more than one step.
    """
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if x.size < run:
        return 0
    peak = float(np.max(np.abs(x)))
    if peak == 0.0:
        return 0
    same = np.concatenate([[False], x[1:] == x[:-1]])
    loud = np.abs(x) >= level * peak
    total = 0
    edges = np.diff(np.concatenate([[0], (same & loud).astype(np.int8), [0]]))
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        length = int(end - start) + 1  # the first sample of a plateau is not "same as previous"
        if length >= run:
            total += length
    return total


def _db(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def qc_score(metrics: Mapping[str, Any], meters: Sequence[str]) -> float:
    """The score of ``metrics`` (see the module docstring for the formula)."""
    parts: dict[str, float] = {}
    if "asr" in meters:
        error = _num(metrics.get("cer") if metrics.get("error_metric") == "cer" else metrics.get("wer"))
        parts["asr"] = 1.0 - min(error, 1.0) if error is not None else 0.0
    if "similarity" in meters:
        sim = _num(metrics.get("similarity"))
        parts["similarity"] = min(max(sim, 0.0), 1.0) if sim is not None else 0.0
    if "mos" in meters:
        mos = _num(metrics.get("mos"))
        parts["mos"] = min(max((mos - 1.0) / 4.0, 0.0), 1.0) if mos is not None else 0.0
    weight = sum(SCORE_WEIGHTS[name] for name in parts)
    quality = sum(SCORE_WEIGHTS[name] * value for name, value in parts.items()) / weight if weight else 0.0
    return round(quality - FLAG_PENALTY * len(metrics.get("flags", ())), 4)


class LineQc:
    """Quality checks for rendered takes; call it as an ``Assessor`` (``line, rendered -> metrics``).

    ``meters`` picks the model-based meters (any of :data:`METERS`); level,
    clipping, silence and sync checks always run. ``backends`` are loaded
    voice backends used to render voice profiles (the renderer's own backend
    avoids a second copy); a backend not given is loaded from the registry
    by name on first need. ``profiles`` are the characters' voice profiles
    (:class:`engine.voices.profile.VoiceProfile`): a take spoken by one is
    compared with its embedding (the actor), no profile passage is rendered
    for it. Ready meters may be passed in (``asr``, ``mos``, ``speaker``);
    the others are built on first use, once, on ``device``.
    """

    def __init__(self, *, device: str = "cpu", thresholds: QcThresholds = QcThresholds(),
                 meters: Sequence[str] = DEFAULT_METERS, threads: int = 2, backends: Sequence[VoiceBackend] = (),
                 profiles: Iterable[VoiceProfile] = (),
                 asr: AsrMeter | None = None, mos: DistillMosMeter | None = None,
                 speaker: SpeakerSimilarity | None = None, ge2e: SpeakerEmbedder | None = None) -> None:
        unknown = sorted(set(meters) - set(METERS))
        if unknown:
            raise ValueError(f"unknown QC meter(s) {', '.join(unknown)}; choose from {', '.join(METERS)}")
        self.device = device
        self.thresholds = thresholds
        self.meters = tuple(m for m in METERS if m in meters)
        self._threads = int(threads)
        self._asr = asr
        self._mos = mos
        self._speaker = speaker
        self._ge2e = ge2e
        self._backends: dict[str, VoiceBackend | None] = {b.spec.name: b for b in backends}
        self._profiles: dict[tuple[str, str, str], tuple[AudioArray, int] | None] = {}
        self._characters = _character_embeddings(profiles)
        """Characters' profile embeddings (d-vectors of the actors' reference speech) by profile name."""
        self._original: tuple[tuple[Any, ...], tuple[AudioArray, int] | None] | None = None
        self._embeddings: dict[tuple[str, str, tuple[Any, ...]], Embedding] = {}
        """Reference embeddings by (encoder, "profile" | "original", key); originals: the last line only."""

    # -- meters, built once --------------------------------------------------------------

    @property
    def asr(self) -> AsrMeter:
        if self._asr is None:
            self._asr = AsrMeter(device=self.device, threads=self._threads)
        return self._asr

    @property
    def mos(self) -> DistillMosMeter:
        if self._mos is None:
            self._mos = DistillMosMeter(device=self.device, threads=self._threads)
        return self._mos

    @property
    def speaker(self) -> SpeakerSimilarity:
        if self._speaker is None:
            self._speaker = SpeakerSimilarity(device=self.device)
        return self._speaker

    @property
    def ge2e(self) -> SpeakerEmbedder:
        if self._ge2e is None:
            from engine.qc.similarity import Ge2eSimilarity

            self._ge2e = Ge2eSimilarity(device=self.device)
        return self._ge2e

    def with_profiles(self, profiles: Iterable[VoiceProfile]) -> LineQc:
        """A copy judging profile voices against ``profiles``; meters, backends and caches stay shared.

        For a job reusing loaded meters (the panel's): the meters are built
        here (not loaded) so that whichever copy loads one, both have it.
        """
        for name in self.meters:
            getattr(self, "speaker" if name == "similarity" else name)
        twin = copy.copy(self)
        twin._characters = _character_embeddings(profiles)
        return twin

    def load(self) -> None:
        """Load every switched-on meter now (else on first take)."""
        if "asr" in self.meters:
            self.asr.load()
        if "mos" in self.meters:
            self.mos.load()
        if "similarity" in self.meters:
            self.speaker.load()
        if "ge2e" in self.meters:
            self.ge2e.embed(np.sin(np.arange(16000, dtype=np.float32) * 0.1), 16000)

    # -- references ----------------------------------------------------------------------

    def _backend(self, name: str) -> VoiceBackend | None:
        if name not in self._backends and stock_backend(name) != name:
            self._backends[name] = self._backend(stock_backend(name))  # a stock voice under a profile backend
        if name not in self._backends:
            from engine.voices.registry import discover_backends, load_backend

            spec = next((s for s in discover_backends() if s.name == name), None)
            try:
                self._backends[name] = None if spec is None else load_backend(spec, BackendOptions(
                    device=self.device, threads=self._threads))
            except Exception:  # an unloadable backend means no profile, not a failed line
                self._backends[name] = None
        return self._backends[name]

    def profile_audio(self, backend: str, voice_id: str, language: str) -> tuple[AudioArray, int] | None:
        """``voice_id`` of ``backend`` reading :data:`PROFILE_TEXT` (rendered once); None if it cannot load."""
        lang = base_language(language)
        key = (backend, voice_id, lang)
        if key not in self._profiles:
            loaded = self._backend(backend)
            speech = None
            if loaded is not None:
                text = PROFILE_TEXT.get(lang, PROFILE_TEXT["en"])
                synthesis = loaded.synthesize(SynthesisRequest(text=text, voice_id=voice_id, language=language, seed=0))
                speech = (synthesis.audio, synthesis.sample_rate)
            self._profiles[key] = speech
        return self._profiles[key]

    def voice_profile(self, backend: str, voice_id: str, language: str) -> Embedding | None:
        """The d-vector of :meth:`profile_audio` (cached); None when the voice cannot be rendered here."""
        return self._reference("dvector", "profile", (backend, voice_id, base_language(language)),
                               lambda: self.profile_audio(backend, voice_id, language))

    def character(self, rendered: RenderedLine) -> str | None:
        """The character whose voice profile spoke ``rendered``, None for a stock voice.

        From the render report's ``voice_profile`` (written by the renderer for
        profile voices), else a profile backend's voice id naming a known profile.
        """
        facts = rendered.report.get("voice_profile")
        if isinstance(facts, Mapping) and isinstance(facts.get("name"), str):
            return str(facts["name"])
        if stock_backend(rendered.backend) != rendered.backend and rendered.voice_id in self._characters:
            return rendered.voice_id
        return None

    def character_profile(self, rendered: RenderedLine) -> Embedding | None:
        """The profile embedding of the character who spoke ``rendered``; None: stock voice or unknown profile."""
        name = self.character(rendered)
        return None if name is None else self._characters.get(name)

    def _original_audio(self, line: DialogueLine, sample_rate: int) -> tuple[AudioArray, int] | None:
        """The line's original audio when readable and holding speech (the last line's is kept)."""
        key = self._line_key(line)
        if self._original is None or self._original[0] != key:
            original = read_original(line, sample_rate) if line.sources else None
            speech = None
            if original is not None and detect_speech_span(original.audio, original.sample_rate) is not None:
                speech = (original.audio, original.sample_rate)
            self._original = (key, speech)
            self._embeddings = {k: v for k, v in self._embeddings.items() if k[1] != "original"}
        return self._original[1]

    @staticmethod
    def _line_key(line: DialogueLine) -> tuple[Any, ...]:
        return (line.line_id, line.record, tuple((s.media_url, s.source_start_seconds) for s in line.sources))

    def _reference(self, encoder: str, kind: str, key: tuple[Any, ...],
                   audio: Callable[[], tuple[AudioArray, int] | None]) -> Embedding | None:
        cache_key = (encoder, kind, key)
        if cache_key not in self._embeddings:
            speech = audio()
            if speech is None:
                return None
            meter = self.speaker if encoder == "dvector" else self.ge2e
            self._embeddings[cache_key] = meter.embed(*speech)
        return self._embeddings[cache_key]

    def _similarities(self, encoder: str, meter: SpeakerEmbedder, line: DialogueLine, rendered: RenderedLine,
                      audio: AudioArray, sample_rate: int) -> tuple[float | None, float | None]:
        """(similarity to the original or None, similarity to the voice profile or None) with ``encoder``.

        The voice profile of a character's profile voice is its embedding (d-vector only).
        """
        take = meter.embed(audio, sample_rate)
        lang = base_language(line.language)
        profile: Embedding | None
        if self.character(rendered) is not None:  # the actor's d-vector; other encoders have no reference
            profile = self.character_profile(rendered) if encoder == "dvector" else None
            if profile is not None and profile.shape != take.shape:
                profile = None  # built with another encoder
        else:
            profile = self._reference(encoder, "profile", (rendered.backend, rendered.voice_id, lang),
                                      lambda: self.profile_audio(rendered.backend, rendered.voice_id, line.language))
        original = self._reference(encoder, "original", self._line_key(line),
                                   lambda: self._original_audio(line, sample_rate))
        return (None if original is None else round(cosine(take, original), 4),
                None if profile is None else round(cosine(take, profile), 4))

    # -- the assessor ----------------------------------------------------------------------

    def __call__(self, line: DialogueLine, rendered: RenderedLine) -> dict[str, Any]:
        """Metrics, ``flags`` and ``score`` of ``rendered`` (a take of ``line``), JSON-friendly."""
        audio, sample_rate = read_wav(rendered.path)
        if audio.ndim != 1:
            audio = np.ascontiguousarray(audio.mean(axis=0), dtype=np.float32)
        return self.assess_audio(line, rendered, audio, sample_rate)

    def assess_audio(self, line: DialogueLine, rendered: RenderedLine,
                     audio: npt.NDArray[np.float32], sample_rate: int) -> dict[str, Any]:
        """As :meth:`__call__`, for a take already in memory (mono float32 at ``sample_rate`` Hz)."""
        started = time.perf_counter()
        limits = self.thresholds
        report = rendered.report
        flags: list[str] = []
        out: dict[str, Any] = {"meters": list(self.meters)}

        # Where the speech is: placed by the renderer, and as the VAD hears it.
        start, end = rendered.speech_start, rendered.speech_end
        if not 0 <= start < end <= len(audio):
            start, end = 0, len(audio)
        speech = audio[start:end]
        signal = bool(np.any(audio))
        span = detect_speech_span(audio, sample_rate) if signal else None
        expected = (end - start) / sample_rate
        fraction = 0.0 if span is None else min(1.0, span.samples / max(1, end - start))
        out["speech_seconds"] = round(span.samples / sample_rate, 3) if span else 0.0
        out["speech_fraction"] = round(fraction, 3)
        out["detected_span"] = [span.onset, span.offset] if span else None
        if span is None:
            flags.append("silent: no speech detected in the render")
        elif fraction < limits.min_speech_fraction:
            flags.append(f"little speech: {fraction:.0%} of the expected {expected:.2f} s")

        # Intelligibility.
        language = base_language(line.language)
        metric = "cer" if language in CHARACTER_LANGUAGES else "wer"
        out["error_metric"] = metric
        out["asr_text"] = out["wer"] = out["cer"] = None
        if "asr" in self.meters:
            heard = self.asr.transcribe(audio, sample_rate, language=line.language) if signal else ""
            out["asr_text"] = heard
            score_text = cer if metric == "cer" else wer
            rate = min(score_text(ref, heard, language=line.language) for ref in references(line.text, line.language))
            out[metric] = round(rate, 4)
            bound = limits.max_cer if metric == "cer" else limits.max_wer
            if rate > bound:
                shown = heard if len(heard) <= 80 else heard[:77] + "..."
                flags.append(f"{metric} {rate:.2f} > {bound:.2f}: ASR heard '{shown}'")

        # Voice.
        out["similarity"] = out["voice_similarity"] = out["similarity_to"] = out["voice_similarity_to"] = None
        out["similarity_floor"] = None
        if "similarity" in self.meters and signal:
            original_sim, voice_sim = self._similarities("dvector", self.speaker, line, rendered, audio, sample_rate)
            character = self.character(rendered)
            voice_to = "voice profile" if character is None else "character profile"
            out["voice_similarity"] = voice_sim
            out["voice_similarity_to"] = None if voice_sim is None else voice_to
            if original_sim is not None:
                out["similarity"], out["similarity_to"] = original_sim, "original"
            elif voice_sim is not None:
                out["similarity"], out["similarity_to"] = voice_sim, voice_to
            floor = (limits.similarity_floor(stock_backend(rendered.backend), rendered.voice_id)
                     if character is None else limits.min_profile_similarity)
            out["similarity_floor"] = floor
            judged = out["speech_seconds"] >= limits.min_similarity_speech_s
            if voice_sim is not None and floor is not None and voice_sim < floor and judged:
                flags.append(f"similarity {voice_sim:.2f} < {floor:.2f} to the {rendered.voice_id} voice profile: "
                             + ("another voice or a broken take" if character is None
                                else "far from the actor's reference speech"))
            min_original = limits.min_original_similarity
            if original_sim is not None and min_original is not None and judged and original_sim < min_original:
                flags.append(f"similarity {out['similarity']:.2f} < {min_original:.2f} to the original take")

        if "ge2e" in self.meters and signal:
            original_ge2e, voice_ge2e = self._similarities("ge2e", self.ge2e, line, rendered, audio, sample_rate)
            out["similarity_ge2e"] = original_ge2e if original_ge2e is not None else voice_ge2e
            out["voice_similarity_ge2e"] = voice_ge2e

        # Naturalness.
        out["mos"] = None
        if "mos" in self.meters and np.any(speech):
            pad = int(0.1 * sample_rate)
            out["mos"] = round(self.mos.score(audio[max(0, start - pad) : end + pad], sample_rate), 3)
            if out["mos"] < limits.min_mos and out["speech_seconds"] >= limits.min_mos_speech_s:
                flags.append(f"mos {out['mos']:.2f} < {limits.min_mos:.2f}: sounds unnatural or damaged")

        # Level.
        lufs = integrated_loudness(speech, sample_rate) if np.any(speech) else -math.inf
        peak = true_peak_dbtp(audio, sample_rate) if signal else -math.inf
        clipped = clipped_samples(audio, run=limits.clip_run_samples)
        sample_peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        out["loudness_lufs"] = _db(lufs)
        out["loudness_target_lufs"] = _num(report.get("loudness_target_lufs"))
        out["true_peak_dbtp"] = _db(peak)
        out["sample_peak_dbfs"] = _db(20 * math.log10(sample_peak)) if sample_peak > 0 else None
        out["clipped_samples"] = clipped
        target = out["loudness_target_lufs"]
        if target is not None and math.isfinite(lufs) and abs(lufs - target) > limits.max_loudness_error_lu:
            flags.append(f"loudness {lufs:.1f} LUFS is {lufs - target:+.1f} LU off the {target:.1f} LUFS target")
        ceiling = limits.max_true_peak_dbtp
        if ceiling is None:
            ceiling = _num(rendered.settings.get("true_peak_ceiling_dbtp"))
        ceiling = -2.0 if ceiling is None else ceiling
        if math.isfinite(peak) and peak > ceiling + limits.true_peak_tolerance_db:
            flags.append(f"true peak {peak:+.1f} dBTP > {ceiling:+.1f} dBTP ceiling")
        if clipped > limits.max_clipped_samples:
            flags.append(f"clipped: {clipped} samples in flat-topped runs")

        # Sync, as the renderer measured it.
        for name in ("length_error_samples", "onset_error_ms", "offset_error_ms", "stretch_ratio", "ratio"):
            out[name] = _num(report.get(name))
        if out["length_error_samples"]:
            flags.append(f"length: {out['length_error_samples']:+.0f} samples off the slot")
        onset = out["onset_error_ms"]
        if onset is not None and report.get("target_from") == "original take" and abs(onset) > limits.max_onset_error_ms:
            flags.append(f"onset {onset:+.0f} ms off the original take (> {limits.max_onset_error_ms:.0f} ms)")
        ratio = out["ratio"]
        fit_flagged = any(f.startswith(("fast:", "slow:", "late:")) for f in rendered.flags)
        if ratio is not None and not fit_flagged and not limits.min_ratio <= ratio <= limits.max_ratio:
            flags.append(f"ratio {ratio:.2f} outside {limits.min_ratio:.2f}-{limits.max_ratio:.2f} of natural speed")
        stretch = out["stretch_ratio"]
        if stretch is not None and abs(stretch - 1.0) > limits.max_stretch_deviation:
            flags.append(f"stretch {stretch:.2f}x: residual time stretch beyond ±{limits.max_stretch_deviation:.0%}")

        out["flags"] = flags
        out["score"] = qc_score(out, self.meters)
        out["qc_seconds"] = round(time.perf_counter() - started, 3)
        return out


def _character_embeddings(profiles: Iterable[VoiceProfile]) -> dict[str, Embedding]:
    """Non-empty profile embeddings by profile name, as float32 vectors."""
    return {p.name: np.asarray(p.embedding, dtype=np.float32) for p in profiles if len(p.embedding)}


def thresholds_dict(thresholds: QcThresholds) -> dict[str, Any]:
    """``thresholds`` as a JSON-friendly dict (for reports)."""
    data = {f.name: getattr(thresholds, f.name) for f in fields(thresholds)}
    data["similarity_floors"] = dict(thresholds.similarity_floors)
    return data
