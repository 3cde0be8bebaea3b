"""Render dialogue lines to slot-exact, loudness-normalized Broadcast WAVs.

:class:`Revoicer` is the engine's entry class. It holds one loaded voice
backend and the render settings; everything else (lines, output folder,
progress and cancel callbacks) is passed per call. Each finished line gets
a JSON sidecar next to its WAV holding a content key (:mod:`revoice.engine.sidecars`),
so a re-run (after a crash, or on another machine with the same folder) skips
finished lines whose WAV is intact, and a batch can be split into shards that
are assembled later. A line no voice could say in its slot fails before any
synthesis (:func:`revoice.engine.fit.check_text_can_fit`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from revoice.engine.conversion.plan import ConversionPlan
from revoice.engine.dsp.bwf import write_bwf
from revoice.engine.dsp.loudness import integrated_loudness, loudness_presets, normalize_loudness, preset_target
from revoice.engine.emotion.labels import Emotion, line_emotion
from revoice.engine.emotion.perform import TEXT_EDITED, free_speech_length, perform, performance_audio
from revoice.engine.fit import (
    FitError,
    FitPolicy,
    LengthForecast,
    check_text_can_fit,
    fit_to_length,
    forecast_first_scale,
    trimmed_speech,
)
from revoice.engine.formats import RENDER_FORMAT_VERSION, WATERMARK_VERSION
from revoice.engine.model import AudioArray, DialogueLine, LineDuration, RenderedLine
from revoice.engine.original import OriginalAudio, read_original
from revoice.engine.records import RenderReport, TakeEntry, TakeQc, VoiceProfileUse
from revoice.engine.sidecars import load_finished as load_finished
from revoice.engine.sidecars import load_sidecar as load_sidecar
from revoice.engine.sidecars import sidecar_path as sidecar_path
from revoice.engine.sidecars import write_sidecar as write_sidecar
from revoice.engine.sidecars import RenderIndex, jsonable, reuse_finished
from revoice.engine.sync import detect_speech_span, plan_span
from revoice.engine.voices.base import Synthesis, SynthesisRequest, VoiceBackend, VoiceHooks
from revoice.engine.voices.emotion_args import native_emotion, with_emotion
from revoice.engine.watermark import mark_speech, render_provenance

MATCH_ORIGINAL = "match"


@dataclass(frozen=True)
class RenderSettings:
    """Everything that decides how a line sounds (part of the render key)."""

    sample_rate: int = 48000
    loudness: str = "ebu-r128"
    """A preset name from :func:`revoice.engine.dsp.loudness.loudness_presets`, or ``"match"``."""
    fallback_loudness: str = "ebu-r128"
    """Preset used with ``"match"`` when a line's original audio cannot be read."""
    true_peak_ceiling_dbtp: float = -2.0
    seed: int = 0
    voice_id: str | None = None
    fit: FitPolicy = field(default_factory=FitPolicy)
    watermark: bool = True
    """Add the inaudible watermark (revoice.engine.watermark) to every take; on by default."""
    emotion: Emotion | None = None
    """The run's emotion (``--emotion``); a line's own request wins. None: the original take's performance
    where original audio exists, else neutral (revoice.engine.emotion.labels.line_emotion)."""

    def check(self) -> None:
        """Raise ValueError naming the bad setting."""
        presets = loudness_presets()
        for name in (self.loudness, self.fallback_loudness):
            if name != MATCH_ORIGINAL and name not in presets:
                raise ValueError(
                    f"unknown loudness preset {name!r}; choose one of {', '.join(sorted(presets))} or 'match'"
                )
        if self.sample_rate not in (44100, 48000, 88200, 96000):
            raise ValueError(f"sample rate {self.sample_rate} Hz is not a delivery rate; use 48000 or 44100")
        if not -20.0 <= self.true_peak_ceiling_dbtp <= 0.0:
            raise ValueError(f"true-peak ceiling {self.true_peak_ceiling_dbtp} dBTP must be between -20 and 0")
        lowest, highest = -(2**63), 2**63 - 1  # the seed is kept in every clip's metadata: OTIO's int64
        if not lowest <= self.seed <= highest:
            raise ValueError(f"seed {self.seed} is out of range; use a whole number from {lowest} to {highest}")
        self.fit.check()
        if self.emotion is not None:
            self.emotion.check()


@dataclass(frozen=True)
class Progress:
    """One progress event: ``done`` of ``total`` lines finished; ``line_id`` just changed state."""

    done: int
    total: int
    line_id: str
    state: str
    """``rendering``, ``done``, ``cached``, ``failed`` or ``cancelled``."""
    message: str = ""


@dataclass(frozen=True)
class LineFailure:
    line_id: str
    origin: str
    reason: str


@dataclass
class BatchResult:
    rendered: list[RenderedLine] = field(default_factory=list)
    failed: list[LineFailure] = field(default_factory=list)
    cached: int = 0
    cancelled: bool = False
    seconds: float = 0.0


ProgressCallback = Callable[[Progress], None]
CancelCheck = Callable[[], bool]
Assessor = Callable[[DialogueLine, RenderedLine], Mapping[str, Any]]
"""QC hook: metrics for one rendered take, JSON-friendly, with ``score`` (float, higher
is better) and ``flags`` (list of strings) among them (see engine.qc); kept as the report's
:class:`revoice.engine.records.TakeQc`."""


class RenderCancelled(Exception):
    """The caller's cancel check returned True."""


class Revoicer:
    """Render dialogue lines with one voice backend.

    >>> revoicer = Revoicer(backend=backend, settings=RenderSettings(loudness="netflix"))
    >>> result = revoicer.render(lines, out_dir=Path("out/renders"))
    """

    def __init__(self, *, backend: VoiceBackend, settings: RenderSettings | None = None,
                 voices_by_speaker: dict[str, str] | None = None, conversion: ConversionPlan | None = None) -> None:
        self.backend = backend
        self.conversion = conversion
        """Voices converted to a reference timbre after the performance stage (revoice.engine.conversion)."""
        self.settings = settings or RenderSettings()
        self.settings.check()
        self.voices_by_speaker = dict(voices_by_speaker or {})
        known = {voice.voice_id for voice in backend.voices()}
        for speaker, voice in {"(default)": self.settings.voice_id, **self.voices_by_speaker}.items():
            if voice is not None and voice not in known:
                raise ValueError(
                    f"voice {voice!r} for {speaker} is not offered by backend "
                    f"{backend.spec.name!r}; it has: {', '.join(sorted(known))}"
                )
        self._default_voice = self.settings.voice_id or backend.voices()[0].voice_id
        self._indexes: dict[Path, RenderIndex] = {}
        """Finished renders by key, per output folder (revoice.engine.sidecars.reuse_finished)."""

    def voice_for(self, line: DialogueLine) -> str:
        return self.voices_by_speaker.get(line.speaker, self._default_voice)

    def _length_forecast(self, line: DialogueLine, voice: str, seed: int) -> LengthForecast | None:
        """The voice's forecast of the line's trimmed speech length (samples at the render rate) per
        duration scale, from its ``length_curve`` (seconds) where it has one; else None."""
        curve_of = getattr(self.backend, "length_curve", None)
        if curve_of is None:
            return None
        curve = curve_of(SynthesisRequest(text=line.text, voice_id=voice, language=line.language, seed=seed))
        if curve is None:
            return None
        rate = self.settings.sample_rate
        return lambda scale: float(curve(scale)) * rate

    def emotion_for(self, line: DialogueLine) -> Emotion:
        """The line's own emotion, else the run's, else the original take's performance where it exists."""
        has_original = any(source.available for source in line.sources)
        return line_emotion(line.emotion, run=self.settings.emotion, has_original=has_original)

    def render_key(self, line: DialogueLine, take: int = 1) -> str:
        """Content hash of everything that decides the line's audio and its WAV (not the line's id).

        The line's id (its place among the cues) is left out, so deleting or inserting a cue does
        not change the keys of the lines after it; computing a key loads no model (the backend's name,
        the voice id and a voice profile's content key are all known before loading).
        """
        payload = {
            "version": RENDER_FORMAT_VERSION,
            "backend": self.backend.spec.name,
            "voice": self.voice_for(line),
            "speaker": line.speaker,  # in the WAV's description (BWF bext) and the seed
            "text": line.text,
            "language": line.language,
            "slot_samples": line.slot_samples(self.settings.sample_rate),
            "record": [line.record.start, line.record.duration, line.record.rate, line.timecode_start_frames],
            "sources": [(s.media_url, s.source_start_seconds, s.duration_seconds) for s in line.sources],
            "settings": {name: value for name, value in jsonable(asdict(self.settings)).items() if name != "emotion"},
            "take": take,
            "watermark": WATERMARK_VERSION if self.settings.watermark else None,  # revoice.engine.watermark
        }
        emotion = self.emotion_for(line).sound_key()
        if emotion != {"method": "neutral"}:  # neutral lines keep the keys they had before emotion existed
            payload["emotion"] = dict(emotion, same_words=not line.metadata.get(TEXT_EDITED))
        if line.duration is not None and line.duration != LineDuration():
            payload["duration"] = [line.duration.mode, line.duration.ratio]
        hooks = self.backend if isinstance(self.backend, VoiceHooks) else None  # e.g. characters' voice profiles
        extra = hooks.voice_key(self.voice_for(line)) if hooks is not None else None
        if extra is not None:
            payload["voice_key"] = str(extra)
        conversion = self.conversion.key_for(self.voice_for(line)) if self.conversion is not None else None
        if conversion is not None:  # converted and unconverted renders of a line never share a key
            payload["conversion"] = conversion
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def line_seed(self, line: DialogueLine, take: int = 1) -> int:
        """The synthesis seed of ``take`` of ``line`` (0 to 2**32 - 1): from what the line says and where, not its id.

        Made of the run's seed, the speaker, the text, the record range and the take, all part of
        :meth:`render_key`, so a finished render is reused exactly when a new one would be the same.
        Other settings (loudness, fit) leave the seed alone: a line re-rendered for them keeps its reading.
        """
        record = line.record
        identity = [self.settings.seed, line.speaker, line.text, record.start, record.duration, record.rate, take]
        digest = hashlib.sha256(json.dumps(identity).encode()).digest()
        return int.from_bytes(digest[:4], "little")

    def render_line(self, line: DialogueLine, *, out_dir: Path, take: int = 1,
                    should_cancel: CancelCheck | None = None) -> RenderedLine:
        """Render one line to ``out_dir`` (or reuse a finished render with the same key).

        ``should_cancel`` is checked before each synthesis; when it returns True
        :class:`RenderCancelled` is raised and nothing of this line is written.
        """
        return self._render_or_reuse(line, out_dir=out_dir, take=take, should_cancel=should_cancel)[0]

    def _render_or_reuse(self, line: DialogueLine, *, out_dir: Path, take: int,
                         should_cancel: CancelCheck | None) -> tuple[RenderedLine, bool]:
        """:meth:`render_line`, and whether the render was reused from its sidecar."""
        started = time.perf_counter()
        settings = self.settings
        sr = settings.sample_rate
        key = self.render_key(line, take)
        wav_path = out_dir / wav_name(line, take)
        index = self._indexes.setdefault(out_dir, RenderIndex(out_dir))
        cached = reuse_finished(wav_path, key, line_id=line.line_id, index=index)  # found by key, whatever its name
        if cached is not None:
            return cached, True
        slot = line.slot_samples(sr)
        # before any synthesis: a line no voice could say in the whole slot fails now, not after
        # synthesizing all of it (time and memory grow with the text: 21.8 GB for a 1500-word cue)
        check_text_can_fit(line.text, available_samples=slot, sample_rate=sr, policy=settings.fit)
        out_dir.mkdir(parents=True, exist_ok=True)
        voice = self.voice_for(line)
        seed = self.line_seed(line, take)
        original = read_original(line, sr) if line.sources else None
        original_span = detect_speech_span(original.audio, sr) if original is not None else None
        lead = int(round(settings.fit.lead_in_seconds * sr))
        start, desired = plan_span(slot, original=original_span, lead_in_samples=lead)
        syntheses: dict[float, Synthesis] = {}
        emotion = self.emotion_for(line)
        take_speech = performance_audio(emotion, original.audio if original is not None else None,
                                        original_span, sr)
        native = native_emotion(self.backend.spec, emotion, has_reference_audio=take_speech is not None)

        def synthesize(scale: float) -> Synthesis:
            if should_cancel is not None and should_cancel():
                raise RenderCancelled(line.line_id)
            if scale not in syntheses:
                request = SynthesisRequest(text=line.text, voice_id=voice, language=line.language,
                                           duration_scale=scale, seed=seed)
                if native:  # the voice renders the emotion itself (BackendSpec.emotion_control)
                    request = with_emotion(request, emotion, spec=self.backend.spec, audio=take_speech,
                                           sample_rate=sr)
                syntheses[scale] = self.backend.synthesize(request)
            return syntheses[scale]

        target_start = start
        free_length = free_speech_length(line, emotion, lambda: synthesize(1.0), sr)
        # The voice's own length forecast, where it has one: the first synthesis is at the rate that should
        # fill the planned length, not at the natural rate (one Kokoro render a line instead of three).
        forecast: Callable[[], LengthForecast | None] | None = None
        if not native and free_length is None:
            forecast = functools.partial(self._length_forecast, line, voice, seed)
        first_scale: float | None = None
        if free_length is not None:
            desired = free_length  # the line's own pace (a job's free duration, a label's rate)
        elif desired is not None:
            predict = forecast() if forecast is not None else None
            first_scale = 1.0
            if predict is not None:
                forecast = lambda: predict  # noqa: E731 - asked once
                first_scale = forecast_first_scale(predict, available_samples=slot - start, desired_samples=desired,
                                                   policy=settings.fit, sample_rate=sr)
            # Align heard onsets, not trimmed edges: the trimmed speech has a quiet
            # head and tail (breath, decay) that the VAD does not count as speech.
            head, tail = _quiet_edges(trimmed_speech(synthesize(first_scale), sr), sr)
            start = max(0, start - head)
            desired += (target_start - start) + tail
        fit = fit_to_length(synthesize, sample_rate=sr, available_samples=slot - start, desired_samples=desired,
                            policy=settings.fit, forecast=forecast, first_scale=first_scale)
        target_lufs, loudness_note = self._loudness_target(original)
        performed = perform(fit.audio, sr, emotion, seed=seed, same_words=not line.metadata.get(TEXT_EDITED),
                            original=take_speech, applied_by_backend=native)
        target_lufs += performed.energy_db
        voiced = performed.audio if self.conversion is None else self.conversion.apply(voice, performed.audio, sr)
        fitted = mark_speech(voiced, sr) if settings.watermark else voiced  # before the ceiling
        speech, loud = normalize_loudness(
            fitted, sr, target_lufs=target_lufs, true_peak_ceiling_dbtp=settings.true_peak_ceiling_dbtp)
        slot_audio = np.zeros(slot, dtype=np.float32)
        slot_audio[start : start + len(speech)] = speech
        flags = list(fit.flags)
        placed = detect_speech_span(slot_audio, sr)
        if original_span is not None:
            target_end = original_span.offset
        else:
            quiet_head, quiet_tail = _quiet_edges(speech, sr)
            target_start, target_end = start + quiet_head, start + len(speech) - quiet_tail
        onset_ms = (placed.onset - target_start) * 1000 / sr if placed else None
        offset_ms = (placed.offset - target_end) * 1000 / sr if placed else None
        if placed is None:
            flags.append("silent: no speech detected in the render")
        if loud.limited and loud.limiter_max_reduction_db > 6.0:
            flags.append(f"limited: true-peak limiter took {loud.limiter_max_reduction_db:.1f} dB")
        time_reference = int(round(line.record_start_seconds_from_midnight * sr))
        write_bwf(wav_path, slot_audio, sr, time_reference_samples=time_reference,
                  description=f"{line.speaker}: {line.text}"[:256], originator_reference=key[:32],
                  provenance=render_provenance(backend=self.backend, voice_id=voice, language=line.language,
                                               line_id=line.line_id, render_key=key, watermarked=settings.watermark))
        seconds = time.perf_counter() - started
        hooks = self.backend if isinstance(self.backend, VoiceHooks) else None  # how a profile voice spoke
        voice_facts = hooks.voice_report(voice, line.language) if hooks is not None else None
        report = RenderReport(
            slot_samples=slot,
            length_error_samples=len(slot_audio) - slot,
            speech_start=start,
            speech_end=start + len(speech),
            target_span=(target_start, target_end),
            target_from="original take" if original_span is not None else "lead-in, natural rate",
            achieved_span=(placed.onset, placed.offset) if placed else None,
            onset_error_ms=None if onset_ms is None else round(onset_ms, 1),
            offset_error_ms=None if offset_ms is None else round(offset_ms, 1),
            pause_change_seconds=round(fit.pause_change_samples / sr, 3),
            natural_seconds=fit.natural_samples / sr,
            speech_seconds=len(speech) / sr,
            ratio=round(fit.ratio, 4),
            duration_scale=round(fit.duration_scale, 4),
            stretch_ratio=round(fit.stretch_ratio, 4),
            syntheses=fit.syntheses,
            loudness_target_lufs=round(target_lufs, 2),
            loudness_note=loudness_note,
            loudness_lufs=round(loud.output_lufs, 2),
            true_peak_dbtp=round(loud.true_peak_dbtp, 2),
            gain_db=round(loud.gain_db, 2),
            limited=loud.limited,
            seed=seed,
            render_seconds=round(seconds, 3),
            rtf=round(seconds / max(len(speech) / sr, 1e-6), 3),
            voice_profile=None if voice_facts is None else VoiceProfileUse.from_json(voice_facts),
            emotion=performed.use,
        )
        rendered = RenderedLine(
            line_id=line.line_id, path=wav_path, sample_rate=sr, slot_samples=slot,
            speech_start=start, speech_end=start + len(speech), backend=self.backend.spec.name,
            voice_id=voice, take=take, settings=jsonable(asdict(settings)), report=report,
            flags=tuple(flags))
        write_sidecar(rendered, key)
        return rendered, False

    def render(self, lines: Sequence[DialogueLine], *, out_dir: Path, takes: int = 1,
               assess: Assessor | None = None,
               progress: ProgressCallback | None = None,
               should_cancel: CancelCheck | None = None) -> BatchResult:
        """Render ``lines`` in order; a failing line is recorded and the batch goes on.

        With ``takes`` > 1 each line is rendered that many times (take k uses
        its own seed) and, with ``assess``, every take is metered and the one
        with the highest ``score`` is returned; the others stay on disk and are
        listed in its ``report.takes``. Finished lines stay on disk when
        the batch is cancelled or a line fails.
        """
        if takes < 1:
            raise ValueError(f"takes must be at least 1, got {takes}")
        out_dir.mkdir(parents=True, exist_ok=True)
        result = BatchResult()
        started = time.perf_counter()
        notify = progress or (lambda event: None)
        for index, line in enumerate(lines):
            if should_cancel is not None and should_cancel():
                result.cancelled = True
                notify(Progress(index, len(lines), line.line_id, "cancelled"))
                break
            notify(Progress(index, len(lines), line.line_id, "rendering"))
            try:
                renders = [self._render_or_reuse(line, out_dir=out_dir, take=take, should_cancel=should_cancel)
                           for take in range(1, takes + 1)]
                candidates = [self._assessed(line, rendered, assess) for rendered, _ in renders]
            except RenderCancelled:
                result.cancelled = True
                notify(Progress(index, len(lines), line.line_id, "cancelled"))
                break
            except (FitError, ValueError) as exc:
                result.failed.append(LineFailure(line.line_id, line.origin, str(exc)))
                notify(Progress(index + 1, len(lines), line.line_id, "failed", str(exc)))
                continue
            result.rendered.append(choose_take(candidates))
            was_cached = all(reused for _, reused in renders)
            result.cached += was_cached
            notify(Progress(index + 1, len(lines), line.line_id, "cached" if was_cached else "done"))
        result.seconds = time.perf_counter() - started
        return result

    def _assessed(self, line: DialogueLine, rendered: RenderedLine, assess: Assessor | None) -> RenderedLine:
        """``rendered`` with its QC metrics (``report.qc``), metered once and kept in the sidecar."""
        if assess is None or rendered.report.qc is not None:
            return rendered
        metrics = dict(assess(line, rendered))
        flags = tuple(str(flag) for flag in metrics.get("flags", ()))
        report = dataclasses.replace(rendered.report, qc=TakeQc.from_json(jsonable(metrics)))
        assessed = dataclasses.replace(rendered, report=report,
                                       flags=rendered.flags + tuple(f for f in flags if f not in rendered.flags))
        write_sidecar(assessed, self.render_key(line, rendered.take))
        return assessed

    def _loudness_target(self, original: OriginalAudio | None) -> tuple[float, str]:
        """Target LUFS and a note: the preset, or (with "match") the loudness of the line's original audio."""
        presets = loudness_presets()
        settings = self.settings
        if settings.loudness != MATCH_ORIGINAL:
            return preset_target(presets[settings.loudness]), settings.loudness
        if original is not None:
            measured = integrated_loudness(original.audio, settings.sample_rate)
            if math.isfinite(measured):
                return measured, "matched to the original line"
        fallback = presets[settings.fallback_loudness]
        return preset_target(fallback), f"original unreadable or silent: used {fallback.name}"


def take_score(rendered: RenderedLine) -> float:
    """The QC score of a take (higher is better); unmetered takes score 0."""
    return rendered.report.score


def choose_take(candidates: Sequence[RenderedLine], *, prefer: int | None = None) -> RenderedLine:
    """The best take by :func:`take_score` (ties: the lowest take number), listing all takes.

    ``prefer`` is the editor's pick: that take is placed whatever its score.

    The chosen take's ``report.takes`` holds one entry per take (file name,
    score, flags and the QC numbers) so an editor can swap takes without a
    re-render.
    """
    picked = [r for r in candidates if r.take == prefer]
    best = picked[0] if picked else max(candidates, key=lambda r: (take_score(r), -r.take))
    if len(candidates) == 1:
        return best
    listing = tuple(TakeEntry(take=r.take, file=r.path.name, score=round(take_score(r), 4), flags=r.flags,
                              qc=r.report.qc) for r in candidates)
    report = dataclasses.replace(best.report, takes=listing, chosen_take=best.take,
                                 chosen_by="editor" if picked else "score")
    return dataclasses.replace(best, report=report)


def _quiet_edges(speech: AudioArray, sample_rate: int) -> tuple[int, int]:
    """Samples before the VAD's speech onset and after its offset in trimmed speech."""
    span = detect_speech_span(speech, sample_rate)
    if span is None:
        return 0, 0
    return span.onset, len(speech) - span.offset


def wav_name(line: DialogueLine, take: int) -> str:
    """Readable file name: speaker, line id, take (``ANNA_L0003_t1.wav``).

    A line whose id changed (a cue deleted or inserted before it) finds its finished render by
    its key under the old name and gets it under this one (revoice.engine.sidecars.reuse_finished).
    """
    speaker = re.sub(r"[^A-Za-z0-9]+", "-", line.speaker).strip("-") or "speaker"
    return f"{speaker}_{line.line_id}_t{take}.wav"

