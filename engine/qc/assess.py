"""Meter one rendered take: intelligibility, voice, naturalness, level and sync, with flags and a score.

:class:`LineQc` is an :data:`revoice.engine.render.Assessor`::

    qc = LineQc(device="cpu")
    result = revoicer.render(lines, out_dir=out, takes=3, assess=qc)

For each take it reads the WAV and measures

* ``asr_text``: what Whisper base hears (:class:`revoice.engine.qc.asr.AsrMeter`), and
  ``wer`` (``cer`` for Mandarin, Japanese, Cantonese) against the line's spoken
  text (stage directions taken out; the lower error of the text as written and
  as :mod:`revoice.engine.text.normalize` reads it out), normalized by :mod:`revoice.engine.qc.text_norm`;
* ``similarity``: cosine (-1..1) of d-vector speaker embeddings
  (:class:`revoice.engine.speaker.SpeakerSimilarity`) between the take and the
  character's reference: the line's original audio when it can be read
  (``similarity_to = "original"``), else the voice's own profile
  (``"voice profile"``: the same backend and voice reading a fixed passage,
  :data:`PROFILE_TEXT`, rendered once per voice and language).
  ``voice_similarity`` is always the similarity to the voice profile: the take
  should sound like the voice it was rendered with; a low value means
  another voice, noise or a broken take. A line spoken by a character's voice
  profile (:mod:`revoice.engine.characters.character_backend`, kind "tint" or "clone") is compared
  with that profile's embedding instead: the actor's reference speech
  (``voice_similarity_to = "character profile"``; also ``similarity_to`` when
  the original cannot be read); the profiles come with ``profiles=`` or
  :meth:`LineQc.with_profiles`. With the ``ge2e`` meter, Resemblyzer's
  GE2E gives ``similarity_ge2e`` / ``voice_similarity_ge2e`` as a second opinion
  (stock voices only: a profile keeps a d-vector);
* ``mos``: DistillMOS predicted naturalness, 1..5 (:class:`revoice.engine.qc.mos.DistillMosMeter`);
* ``loudness_lufs`` (BS.1770 integrated, over the placed speech, as the
  renderer measures it), ``true_peak_dbtp`` (4x oversampled, whole file),
  ``clipped_samples`` (samples in flat-topped runs), ``speech_fraction``
  (VAD speech span / placed speech length; 0 when no speech is found);
* sync numbers copied from ``rendered.report`` (:class:`~revoice.engine.records.RenderReport`): ``length_error_samples``,
  ``onset_error_ms``, ``offset_error_ms``, ``stretch_ratio``, ``ratio``.

The numbers are judged, flagged and scored by :mod:`revoice.engine.qc.scoring`
(:class:`~revoice.engine.qc.scoring.QcThresholds`, :func:`~revoice.engine.qc.scoring.qc_score`).
All meters load lazily, once per :class:`LineQc`. The renderer keeps what a
take's metering returns as its report's :class:`revoice.engine.records.TakeQc`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from revoice.engine.dsp.bwf import read_wav
from revoice.engine.language import base_language
from revoice.engine.model import AudioArray, DialogueLine, RenderedLine
from revoice.engine.original import read_original
from revoice.engine.qc.asr import AsrMeter
from revoice.engine.qc.mos import DistillMosMeter
from revoice.engine.qc.scoring import (
    CHARACTER_LANGUAGES,
    DEFAULT_METERS,
    METERS,
    QcThresholds,
    level_checks,
    qc_score,
    references,
    sync_checks,
)
from revoice.engine.qc.text_norm import cer, wer
from revoice.engine.speaker import Embedding, SpeakerEmbedder, SpeakerSimilarity, cosine
from revoice.engine.sync import detect_speech_span
from revoice.engine.voices.base import BackendOptions, SynthesisRequest, VoiceBackend

if TYPE_CHECKING:
    from revoice.engine.characters.profile import VoiceProfile

PROFILE_TEXT: Mapping[str, str] = MappingProxyType({
    "en": ("The north wind and the sun were disputing which was the stronger, when a traveller came "
           "along wrapped in a warm cloak. They agreed that the one who first succeeded in making the "
           "traveller take his cloak off should be considered stronger than the other."),
    "zh": "有一回，北风跟太阳在那儿争论谁的本事大。争来争去，就是分不出高低来。这时候路上来了个走道儿的，他身上穿着件厚大衣。",
})
"""What a voice reads for its profile (The North Wind and the Sun), by base language; others use ``en``."""


def stock_backend(name: str) -> str:
    """The backend under a profile backend's name: ``"profile+piper"`` -> ``"piper"``; others unchanged."""
    from revoice.engine.characters.character_backend import BACKEND_PREFIX

    return name[len(BACKEND_PREFIX):] if name.startswith(BACKEND_PREFIX) else name


class LineQc:
    """Quality checks for rendered takes; call it as an ``Assessor`` (``line, rendered -> metrics``).

    ``meters`` picks the model-based meters (any of :data:`METERS`); level,
    clipping, silence and sync checks always run. ``backends`` are loaded
    voice backends used to render voice profiles (the renderer's own backend
    avoids a second copy); a backend not given is loaded from the registry
    by name on first need. ``profiles`` are the characters' voice profiles
    (:class:`revoice.engine.characters.profile.VoiceProfile`): a take spoken by one is
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
            from revoice.engine.speaker import Ge2eSimilarity

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
            from revoice.engine.voices.registry import discover_backends, load_backend

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
                from revoice.engine.characters.stock_voices import VoiceVariants

                if not isinstance(loaded, VoiceVariants):  # a stock voice's variant (joe~light) speaks too
                    loaded = VoiceVariants(loaded)
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
        facts = rendered.report.voice_profile
        if facts is not None and isinstance(facts.name, str):
            return facts.name
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

        # Level, and sync as the renderer measured it.
        for metrics, found in (level_checks(audio, speech, sample_rate, rendered, limits),
                               sync_checks(rendered, limits)):
            out.update(metrics)
            flags.extend(found)

        out["flags"] = flags
        out["score"] = qc_score(out, self.meters)
        out["qc_seconds"] = round(time.perf_counter() - started, 3)
        return out


def _character_embeddings(profiles: Iterable[VoiceProfile]) -> dict[str, Embedding]:
    """Non-empty profile embeddings by profile name, as float32 vectors."""
    return {p.name: np.asarray(p.embedding, dtype=np.float32) for p in profiles if len(p.embedding)}
