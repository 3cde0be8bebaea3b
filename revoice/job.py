"""One revoice job: timeline and lines in, rendered WAVs and a new timeline out.

``run_job`` is what the CLI and the panel call. Progress and cancel are
callbacks; nothing here prints. Bad input raises :class:`JobError` with the
one-line message and exit code the CLI shows.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.fit import FitPolicy
from engine.model import DialogueLine, RenderedLine, SkippedLine
from engine.render import (Assessor, BatchResult, LineFailure, Progress, RenderSettings, Revoicer, choose_take,
                           load_sidecar, wav_name)
from engine.voices.base import AudioArray, BackendOptions, BackendUnavailable, VoiceBackend
from otio_bridge.errors import InputError

if TYPE_CHECKING:
    from engine.qc.asr import AsrMeter
    from engine.qc.assess import LineQc
    from engine.qc.mos import DistillMosMeter
    from engine.qc.similarity import SpeakerEmbedder
    from engine.voices.clone import ClonePrompt, Transcriber
    from engine.voices.profile import VoiceProfile
    from revoice.profiles import BackendPool

OUTPUT_SUFFIXES = (".otio", ".otioz", ".xml")


class JobError(Exception):
    """A job that cannot start or finish; ``str()`` is the one-line message."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``: a stable split of the lines by id."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            index_text, count_text = text.split("/")
            shard = cls(int(index_text), int(count_text))
        except ValueError:
            raise ValueError(f"--shard {text!r}: write it as I/N, e.g. 2/4") from None
        if not 1 <= shard.index <= shard.count:
            raise ValueError(f"--shard {text!r}: I must be between 1 and N")
        return shard

    def owns(self, line: DialogueLine) -> bool:
        digest = hashlib.sha256(line.line_id.encode()).digest()
        return int.from_bytes(digest[:4], "little") % self.count == self.index - 1


@dataclass(frozen=True)
class JobOptions:
    timeline: Path
    out: Path
    subtitles: Path | None = None
    subtitle_offset: str | float = "auto"
    rate: float | None = None
    language: str = "auto"
    """Language of the lines, or "auto": Mandarin for lines with Han characters, else English."""
    backend: str | None = None
    weights: Path | None = None
    """Local weights folder for a backend that loads user-supplied models (``--backend f5 --weights DIR``)."""
    device: str = "cpu"
    speaker_voices: dict[str, str] = field(default_factory=dict)
    settings: RenderSettings = field(default_factory=RenderSettings)
    shard: Shard = field(default_factory=Shard)
    also: tuple[str, ...] = ()
    line_ids: frozenset[str] | None = None
    """Render only these lines (the panel's selection); None renders all."""
    dictionary: Path | None = None
    """The project's pronunciation dictionary (word -> pinyin), used by the Mandarin voice."""
    takes: int = 1
    """Takes rendered per line; with QC on the best-scoring one is placed."""
    qc: bool = False
    """Meter every take (ASR, naturalness, voice similarity, loudness, sync) and write the QC report."""
    take_overrides: dict[str, int] = field(default_factory=dict)
    """The editor's take per line id (the panel's takes chooser); others get the best-scoring take."""
    text_overrides: dict[str, str] = field(default_factory=dict)
    """Edited text by line id (the panel's edits), applied after the lines are read."""
    profiles: str = "off"
    """Voice profiles: "auto" (built from the original dialogue when it can be read, kept in
    :attr:`voices_dir`), "off" (stock voices), or a folder of profiles to use and keep. The CLI
    defaults to "auto"; library callers (the panel) opt in."""
    group_speakers: bool = False
    """Regroup every line by the voice of its original audio (unnamed lines are always grouped)."""
    match_voices: tuple[str, ...] = ()
    """"backend:voice" base voices that voice matching may choose from (empty: every available voice)."""
    match_sentences: tuple[str, ...] = ()
    """What candidate voices say while matching (empty: engine.voices.matching's defaults per language)."""
    allow_overflow_seconds: float = 0.0
    """Slots may grow into the free gap after them by this much (s); 0 keeps every slot as cut."""

    def __post_init__(self) -> None:
        if self.out.suffix.lower() not in OUTPUT_SUFFIXES:
            raise ValueError(f"--out {self.out}: use a name ending in {', '.join(OUTPUT_SUFFIXES)}")
        inputs = [self.timeline] + ([self.subtitles] if self.subtitles else [])
        for path in inputs:
            if path.exists() and self.out.exists() and path.resolve() == self.out.resolve():
                raise ValueError(f"--out {self.out} is an input file; choose another name so nothing is overwritten")
        self.settings.check()
        if self.dictionary is not None and not self.dictionary.is_file():
            raise ValueError(f"--dictionary {self.dictionary}: file not found")
        if self.weights is not None and not self.weights.is_dir():
            raise ValueError(f"--weights {self.weights}: not a folder; point it at the model's local weights folder")
        if not 1 <= self.takes <= 10:
            raise ValueError(f"--takes {self.takes}: use 1 to 10")
        if self.profiles not in ("auto", "off") and Path(self.profiles).exists() and not Path(self.profiles).is_dir():
            raise ValueError(f"--profiles {self.profiles}: not a folder (use auto, off or a folder of voice profiles)")
        for item in self.match_voices:
            backend, sep, voice = item.partition(":")
            if not sep or not backend or not voice:
                raise ValueError(f"--match-voice {item!r}: write it as BACKEND:VOICE, e.g. kokoro:jf_alpha")
        if not 0.0 <= self.allow_overflow_seconds <= 10.0:
            raise ValueError(f"--allow-overflow {self.allow_overflow_seconds}: use 0 to 10 seconds")

    @property
    def voices_dir(self) -> Path:
        """Where voice profiles live: the --profiles folder, else ``<out stem>_voices`` beside ``out``."""
        if self.profiles not in ("auto", "off"):
            return Path(self.profiles)
        return self.out.with_name(f"{self.out.stem}_voices")

    @property
    def media_dir(self) -> Path:
        """Where the rendered WAVs and their sidecars go: ``<out stem>_media`` beside ``out``."""
        return self.out.with_name(f"{self.out.stem}_media")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> JobOptions:
        offset: str | float = args.subs_offset
        if offset not in ("auto", "zero", "timeline"):
            try:
                offset = float(offset)
            except ValueError:
                raise ValueError(f"--subs-offset {offset!r}: use auto, zero, timeline or seconds") from None
        voices: dict[str, str] = {}
        for item in args.speaker_voice:
            speaker, sep, voice = item.partition("=")
            if not sep or not speaker or not voice:
                raise ValueError(f"--speaker-voice {item!r}: write it as SPEAKER=VOICE")
            voices[speaker] = voice
        settings = RenderSettings(
            sample_rate=args.sample_rate, loudness=args.loudness, true_peak_ceiling_dbtp=args.true_peak,
            seed=args.seed, voice_id=args.voice,
            fit=FitPolicy(min_ratio=args.min_ratio, max_ratio=args.max_ratio, lead_in_seconds=args.lead_in))
        return cls(timeline=args.timeline, out=args.out, subtitles=args.subs, subtitle_offset=offset,
                   rate=args.rate, language=args.language, backend=args.backend, device=args.device,
                   speaker_voices=voices, settings=settings, shard=Shard.parse(args.shard),
                   also=tuple(args.also), takes=args.takes, qc=args.qc, dictionary=args.dictionary,
                   allow_overflow_seconds=args.allow_overflow,
                   weights=Path(args.weights) if getattr(args, "weights", None) else None,
                   profiles=str(getattr(args, "profiles", "off")),
                   group_speakers=bool(getattr(args, "group_speakers", False)),
                   match_voices=tuple(getattr(args, "match_voice", None) or ()))


@dataclass
class JobOutcome:
    options: JobOptions
    lines: list[DialogueLine]
    skipped: list[SkippedLine]
    warnings: list[str]
    batch: BatchResult
    written: list[Path]
    pending_shards: int = 0
    """Lines rendered by other shards that are not finished yet (timeline not written)."""
    timecode: Callable[[DialogueLine], str] = field(default=lambda line: str(line.record.start))
    profiles: list[dict[str, Any]] = field(default_factory=list)
    """One row per character with a voice profile (see revoice.profiles.profile_row)."""
    speaker_groups: list[dict[str, Any]] = field(default_factory=list)
    """Characters proposed by voice for unnamed lines: name, line_ids, coherence, speech_seconds."""

    @property
    def failed(self) -> list[LineFailure]:
        return self.batch.failed

    def summary_json(self) -> dict[str, Any]:
        by_id = {line.line_id: line for line in self.lines}
        return {
            "timeline": str(self.options.timeline),
            "written": [str(path) for path in self.written],
            "lines": [
                {"line_id": r.line_id, "timecode": self.timecode(by_id[r.line_id]),
                 "speaker": by_id[r.line_id].speaker, "text": by_id[r.line_id].text,
                 "wav": str(r.path), "flags": list(r.flags), **r.report}
                for r in self.batch.rendered
            ],
            "failed": [f.__dict__ for f in self.batch.failed],
            "skipped": [s.__dict__ for s in self.skipped],
            "warnings": self.warnings,
            "profiles": self.profiles,
            "speaker_groups": self.speaker_groups,
            "cached": self.batch.cached,
            "pending_shards": self.pending_shards,
            "seconds": round(self.batch.seconds, 2),
        }

    def summary_table(self) -> str:
        by_id = {line.line_id: line for line in self.lines}
        metered = any("qc" in r.report for r in self.batch.rendered)
        head = ("line", "timecode in", "speaker", "slot s", "speech s", "ratio", "onset ms", "LUFS", "dBTP")
        rows = [head + (("take", "WER", "voice", "MOS") if metered else ()) + ("flags",)]
        for r in self.batch.rendered:
            line = by_id[r.line_id]
            rep = r.report
            onset = rep.get("onset_error_ms")
            row: tuple[str, ...] = (r.line_id, self.timecode(line), line.speaker[:14], f"{line.record.duration_seconds:.2f}",
                   f"{rep['speech_seconds']:.2f}", f"{rep['ratio']:.2f}", "-" if onset is None else f"{onset:+.0f}",
                   f"{rep['loudness_lufs']:.1f}", f"{rep['true_peak_dbtp']:.1f}")
            if metered:
                qc = rep.get("qc") or {}
                row += (f"{r.take}/{len(rep.get('takes', [])) or 1}", _number(qc.get("wer", qc.get("cer")), "{:.2f}"),
                        _number(qc.get("similarity"), "{:.2f}"), _number(qc.get("mos"), "{:.1f}"))
            rows.append(row + ("; ".join(r.flags)[:70] or "ok",))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        out = ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows]
        speech = sum(r.report["speech_seconds"] for r in self.batch.rendered)
        fresh = len(self.batch.rendered) - self.batch.cached
        out.append("")
        out.append(f"{len(self.batch.rendered)} rendered ({self.batch.cached} reused), {len(self.batch.failed)} failed, "
                   f"{len(self.skipped)} skipped in {self.batch.seconds:.1f} s"
                   + (f"; RTF {self.batch.seconds / speech:.2f} over {fresh} new line(s)" if speech and fresh else ""))
        for failure in self.batch.failed:
            out.append(f"FAILED  {failure.line_id} ({failure.origin}): {failure.reason}")
        for skip in self.skipped:
            out.append(f"SKIPPED {skip.origin}: {skip.reason}")
        for group in self.speaker_groups:
            out.append(f"GROUPED {group['name']} by voice: {', '.join(group['line_ids'])} "
                       f"(coherence {group['coherence']:.2f}, {group['speech_seconds']:.1f} s of speech)")
        for profile in self.profiles:
            out.append(profile_summary(profile))
        for warning in self.warnings:
            out.append(f"WARNING {warning}")
        if self.pending_shards:
            out.append(f"waiting for {self.pending_shards} line(s) from other shards; "
                       "the last shard to finish writes the timeline")
        for path in self.written:
            out.append(f"wrote {path}")
        return "\n".join(out)


def profile_summary(row: dict[str, Any]) -> str:
    """One line per character: tint or clone, base voice, similarity before -> after, references, consent."""
    matches = "; ".join(f"{m['language']} {m['backend']}:{m['voice_id']} similarity {m['similarity_base']:.2f}"
                        f" -> {m['similarity_matched']:.2f}" for m in row["matches"]) or "no match"
    kind = "tint (offline matching, not a clone)" if row["kind"] == "tint" else "clone (neural backend)"
    return (f"VOICE   {row['name']}: {kind}, strength {row['strength']:.2f}; {matches}; "
            f"{row['reference_seconds']:.1f} s reference from {row['references']} clip(s); "
            f"consent {row['consent']['status']}; {row['status']}")


def _number(value: Any, pattern: str) -> str:
    return pattern.format(value) if isinstance(value, (int, float)) else "-"


JobProgress = Callable[[int, int, str], None]


def run_job(options: JobOptions, *, progress: JobProgress | None = None,
            should_cancel: Callable[[], bool] | None = None,
            on_line: Callable[[Progress], None] | None = None,
            backend: VoiceBackend | None = None,
            assessor: Assessor | None = None,
            match_backends: Sequence[VoiceBackend] | None = None,
            embedder: SpeakerEmbedder | None = None,
            backend_cache: dict[str, VoiceBackend] | None = None) -> JobOutcome:
    """Read, render (this shard's lines) and write. Raises JobError on bad input.

    ``backend`` reuses an already loaded voice (the panel keeps one between
    runs); without it the best fitting backend is chosen and loaded.
    ``assessor`` reuses loaded QC meters; without it, ``options.qc`` loads them.
    ``match_backends`` are the loaded backends voice matching may use (None:
    every available one, loaded when needed); ``embedder`` a loaded speaker
    encoder for profiles and speaker grouping. ``backend_cache`` (backend name
    -> loaded backend, kept by the caller between runs, e.g. the panel): voice
    matching reuses what is in it and adds what it loads.
    """
    from otio_bridge.lines import extract_lines
    from otio_bridge.subtitles import read_subtitles
    from otio_bridge.timeline import format_timecode, read_timeline, timeline_rate, timeline_start_frames
    from otio_bridge.write import build_revoiced_timeline, write_timeline

    try:
        timeline = read_timeline(options.timeline, rate=options.rate)
        cues = read_subtitles(options.subtitles) if options.subtitles else None
        lines, skipped, warnings = extract_lines(
            timeline, cues=cues, subtitle_path=options.subtitles, subtitle_offset=options.subtitle_offset,
            language=options.language, timeline_path=options.timeline)
        rate = timeline_rate(timeline)
        start = timeline_start_frames(timeline)
    except InputError as exc:
        raise JobError(str(exc)) from None
    if options.text_overrides:
        lines = [dataclasses.replace(line, text=options.text_overrides[line.line_id])
                 if line.line_id in options.text_overrides else line for line in lines]
    if options.allow_overflow_seconds > 0:
        from engine.sync import extend_into_gaps

        lines = extend_into_gaps(lines, max_seconds=options.allow_overflow_seconds)
    meter: list[SpeakerEmbedder] = [embedder] if embedder is not None else []

    def get_embedder() -> SpeakerEmbedder:
        if not meter:
            from engine.qc.similarity import SpeakerSimilarity

            meter.append(SpeakerSimilarity(device=options.device, threads=1))
        return meter[0]

    with_audio = [line for line in lines if any(s.available for s in line.sources)]
    explicit = options.profiles not in ("auto", "off") and options.voices_dir.is_dir()
    use_profiles = options.profiles != "off" and (bool(with_audio) or explicit)
    lines, groups = _group_speakers(options, lines, get_embedder, warnings, use_profiles=use_profiles)
    all_lines = lines
    if options.line_ids is not None:
        lines = [line for line in lines if line.line_id in options.line_ids]
    if not lines:
        where = options.subtitles or options.timeline
        raise JobError(f"{where}: no dialogue lines to revoice. Give a subtitle file with --subs, "
                       "or add markers with the line text to the timeline")
    bases = _load_backends(options, lines, backend)
    profile_rows: list[dict[str, Any]] = []
    profiled: list[VoiceProfile] = []
    prompts: dict[str, ClonePrompt] = {}
    pool = None
    meters = _JobMeters(options.device, assessor)
    if use_profiles:
        profiled, profile_rows, pool, prompts = _prepare_profiles(options, all_lines, lines, bases, backend, match_backends,
                                                                  get_embedder, warnings, progress, should_cancel,
                                                                  meters, backend_cache)
    revoicers = _revoicers(options, bases, profiled, pool, prompts)
    mine = [line for line in lines if options.shard.owns(line)]

    todo = [line for line in mine if line.language in revoicers]
    earlier = [0]  # lines of the languages rendered before this one: progress counts over the whole run

    def relay(event: Progress) -> None:
        if progress is not None:
            progress(earlier[0] + event.done, len(todo), f"{event.line_id} {event.state}")
        if on_line is not None:
            on_line(event)

    if options.qc:
        assessor = _load_assessor(options, [revoicer.backend for revoicer in revoicers.values()], profiled,
                                  given=assessor, meters=meters)
    batch = BatchResult()
    for language, revoicer in revoicers.items():
        own = [line for line in mine if line.language == language]
        part = revoicer.render(own, out_dir=options.media_dir,
                               takes=options.takes, assess=assessor if options.qc else None,
                               progress=relay, should_cancel=should_cancel)
        earlier[0] += len(own)
        batch.rendered += part.rendered
        batch.failed += part.failed
        batch.cached += part.cached
        batch.seconds += part.seconds
        if part.cancelled:
            batch.cancelled = True
            break
    order = {line.line_id: index for index, line in enumerate(lines)}
    batch.rendered.sort(key=lambda r: order[r.line_id])
    rendered, pending = _collect_renders(revoicers, lines, options, batch)
    written: list[Path] = []
    if not pending and rendered and not batch.cancelled:
        finished = {r.line_id for r in rendered}
        inputs = [options.timeline] + ([options.subtitles] if options.subtitles else [])
        targets = [options.out] + [options.out.with_suffix("." + extra) for extra in options.also
                                   if options.out.suffix != "." + extra]
        try:
            new_timeline = build_revoiced_timeline(
                timeline, [line for line in lines if line.line_id in finished], rendered)
            for target in targets:
                warnings.extend(write_timeline(new_timeline, target, overwrite_inputs=inputs))
                written.append(target)
            if options.qc:
                from engine.qc.report import write_report

                written.extend(write_report(options.out))
        except InputError as exc:
            raise JobError(str(exc)) from None
        except (ValueError, OSError) as exc:
            raise JobError(f"{options.out}: cannot write the revoiced timeline ({exc}). "
                           "Rendered WAVs are kept; fix the problem and run again to reuse them") from None

    def timecode(line: DialogueLine) -> str:
        return str(format_timecode(start + line.record.start, rate))

    return JobOutcome(options=options, lines=lines, skipped=skipped, warnings=warnings, batch=batch,
                      written=written, pending_shards=pending, timecode=timecode, profiles=profile_rows,
                      speaker_groups=groups)


def _backend_options(options: JobOptions) -> BackendOptions:
    return BackendOptions(device=options.device, dictionary=str(options.dictionary) if options.dictionary else None,
                          weights_dir=str(options.weights) if options.weights else None)


def _load_backends(options: JobOptions, lines: Sequence[DialogueLine],
                   backend: VoiceBackend | None) -> dict[str, VoiceBackend]:
    """One loaded backend per language in ``lines`` (``backend``, when given, speaks them all)."""
    from engine.voices.registry import choose_backend, discover_backends, load_backend

    backend_options = _backend_options(options)
    loaded: dict[str, VoiceBackend] = {}
    specs = discover_backends() if backend is None else []
    try:
        for language in sorted({line.language for line in lines}):
            voice = backend
            if voice is None:
                spec = choose_backend(specs, language=language, options=backend_options, name=options.backend)
                voice = next((b for b in loaded.values() if b.spec.name == spec.name), None) or load_backend(
                    spec, backend_options)
            loaded[language] = voice
    except BackendUnavailable as exc:
        raise JobError(str(exc), exit_code=3) from None
    return loaded


def _revoicers(options: JobOptions, bases: dict[str, VoiceBackend], profiles: Sequence[VoiceProfile],
               pool: BackendPool | None, prompts: dict[str, ClonePrompt]) -> dict[str, Revoicer]:
    """One Revoicer per language; with profiles, its backend speaks them (stock voices for everyone else)."""
    from engine.voices.profiled import ProfiledBackend

    revoicers: dict[str, Revoicer] = {}
    voices = {**{p.name: p.name for p in profiles}, **options.speaker_voices}
    try:
        for language, base in bases.items():
            voice: VoiceBackend = base
            if profiles:
                voice = ProfiledBackend(primary=base, profiles=profiles, prompts=prompts,
                                        backends=list(pool.loaded.values()) if pool is not None else [])
            revoicers[language] = Revoicer(backend=voice, settings=options.settings,
                                           voices_by_speaker=voices if profiles else options.speaker_voices)
    except ValueError as exc:
        raise JobError(str(exc)) from None
    return revoicers


def _group_speakers(options: JobOptions, lines: list[DialogueLine], embedder: Callable[[], SpeakerEmbedder],
                    warnings: list[str], *, use_profiles: bool) -> tuple[list[DialogueLine], list[dict[str, Any]]]:
    """Lines with speakers proposed by voice (all lines with --group-speakers, else the unnamed ones)."""
    from engine.voices.grouping import group_lines
    from revoice.profiles import unnamed

    todo = lines if options.group_speakers else (unnamed(lines) if use_profiles else [])
    if not todo or not any(s.available for line in todo for s in line.sources):
        return lines, []
    taken = sorted({line.speaker for line in lines} - {line.speaker for line in todo})
    grouping = group_lines(todo, embedder=embedder(), taken=taken)
    names = grouping.speaker_of()
    if grouping.ungrouped:
        warnings.append(f"{len(grouping.ungrouped)} line(s) without readable original speech kept their "
                        f"speaker: {', '.join(grouping.ungrouped)}")
    grouped = [dataclasses.replace(line, speaker=names[line.line_id]) if line.line_id in names else line
               for line in lines]
    return grouped, [dataclasses.asdict(group) for group in grouping.groups]


class _JobMeters:
    """Whisper and DistillMOS, loaded at most once per job and shared by the profile vetoes and QC.

    With a given :class:`engine.qc.assess.LineQc` (the panel's), its meters are used.
    """

    def __init__(self, device: str, given: Assessor | None) -> None:
        self.device = device
        self.qc: LineQc | None = None
        if given is not None:
            from engine.qc.assess import LineQc

            self.qc = given if isinstance(given, LineQc) else None
        self.loaded_asr: AsrMeter | None = None
        self.loaded_mos: DistillMosMeter | None = None

    def transcriber(self) -> Transcriber:
        if self.qc is not None:
            meter = self.qc.asr
        else:
            if self.loaded_asr is None:
                from engine.qc.asr import AsrMeter

                self.loaded_asr = AsrMeter(device=self.device, threads=1)
            meter = self.loaded_asr
        return lambda audio, rate, language: meter.transcribe(audio, rate, language=language)

    def naturalness(self, audio: AudioArray, rate: int) -> float:
        if self.qc is not None:
            return self.qc.mos.score(audio, rate)
        if self.loaded_mos is None:
            from engine.qc.mos import DistillMosMeter

            self.loaded_mos = DistillMosMeter(device=self.device, threads=1)
        return self.loaded_mos.score(audio, rate)


def _prepare_profiles(options: JobOptions, all_lines: Sequence[DialogueLine], lines: Sequence[DialogueLine],
                      bases: dict[str, VoiceBackend], backend: VoiceBackend | None,
                      match_backends: Sequence[VoiceBackend] | None, embedder: Callable[[], SpeakerEmbedder],
                      warnings: list[str], progress: JobProgress | None,
                      should_cancel: Callable[[], bool] | None, meters: _JobMeters,
                      backend_cache: dict[str, VoiceBackend] | None = None
                      ) -> tuple[list[VoiceProfile], list[dict[str, Any]], BackendPool, dict[str, ClonePrompt]]:
    """Profiles for the speakers of ``lines`` (references from all their lines), saved in the voices folder.

    When the job's voice is a cloning backend (``--backend f5``), profiles are clones and come with
    their prompts (reference speech + its transcript from the ASR meter).
    """
    from engine.voices.matching import TuningCancelled
    from engine.voices.profile import ProfileError, ProfileStore
    from revoice.profiles import BackendPool, prepare_profiles

    offered = list(match_backends) if match_backends is not None else list((backend_cache or {}).values())
    pool = BackendPool(loaded=[*bases.values(), *offered], options=_backend_options(options),
                       fixed=match_backends is not None, match_voices=options.match_voices)
    speakers = [s for s in dict.fromkeys(line.speaker for line in lines) if s not in options.speaker_voices]
    try:
        store = ProfileStore(options.voices_dir)
    except ProfileError as exc:
        raise JobError(str(exc)) from None
    names = [s for s in speakers if s in store or any(src.available for line in all_lines if line.speaker == s
                                                       for src in line.sources)]

    def note(message: str) -> None:
        if progress is not None:
            progress(0, len(lines), message)

    clone = next((b for b in bases.values() if b.spec.clones_from_reference), None)
    veto = meters.naturalness if importlib.util.find_spec("distillmos") is not None else None
    try:
        outcome = prepare_profiles(all_lines, names, store=store, embedder=embedder,
                                   pool=pool, seed=options.settings.seed, progress=note, should_cancel=should_cancel,
                                   sentences=options.match_sentences, clone=clone, transcribe=meters.transcriber,
                                   naturalness=veto,
                                   intelligibility=meters.transcriber if importlib.util.find_spec("faster_whisper") else None)
    except ProfileError as exc:
        raise JobError(f"{exc}. Fix or delete the file, or run with --profiles off") from None
    except TuningCancelled:
        raise JobError("cancelled while matching voices; nothing was rendered", exit_code=130) from None
    if backend_cache is not None:
        backend_cache.update(pool.loaded)
    warnings.extend(outcome.warnings)
    warnings.extend(f"voice matching could not load backend {name!r} ({reason}); its voices were not tried"
                    for name, reason in pool.failed.items() if reason not in ("not installed", "needs a GPU"))
    return outcome.profiles, outcome.rows, pool, outcome.prompts


def _load_assessor(options: JobOptions, backends: Sequence[VoiceBackend], profiles: Sequence[VoiceProfile], *,
                   given: Assessor | None = None, meters: _JobMeters | None = None) -> Assessor:
    """QC meters on the job's device; stock voices' profiles are rendered with the job's loaded voices,
    lines spoken by a character's voice profile are compared with ``profiles`` (the actors).

    ``given`` (loaded meters, e.g. the panel's) is reused: a LineQc gets this job's profiles.
    ``meters``: Whisper and DistillMOS the profile vetoes already loaded (not loaded twice).
    """
    from engine.qc.assess import LineQc

    if given is not None:
        return given.with_profiles(profiles) if isinstance(given, LineQc) else given
    assessor: Assessor = LineQc(device=options.device, backends=backends, profiles=profiles,
                                asr=meters.loaded_asr if meters else None, mos=meters.loaded_mos if meters else None)
    return assessor


def _collect_renders(revoicers: dict[str, Revoicer], lines: Sequence[DialogueLine], options: JobOptions,
                     batch: BatchResult) -> tuple[list[RenderedLine], int]:
    """This run's renders plus finished renders of other shards; count what is still missing.

    Lines with an editor's take pick are re-chosen from their sidecars.
    """
    done = {r.line_id: r for r in batch.rendered if r.line_id not in options.take_overrides}
    failed = {f.line_id for f in batch.failed}
    pending = 0
    for line in lines:
        if line.line_id in done or line.line_id in failed:
            continue
        revoicer = revoicers[line.language]
        takes = [load_sidecar(options.media_dir / wav_name(line, take), revoicer.render_key(line, take))
                 for take in range(1, options.takes + 1)]
        if any(found is None for found in takes):
            pending += 1
        else:
            done[line.line_id] = choose_take([found for found in takes if found is not None],
                                             prefer=options.take_overrides.get(line.line_id))
    order = {line.line_id: index for index, line in enumerate(lines)}
    return sorted(done.values(), key=lambda r: order[r.line_id]), pending
