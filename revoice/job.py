"""One revoice job: timeline and lines in, rendered WAVs and a new timeline out.

``run_job`` is what the CLI and the panel call. Progress and cancel are
callbacks; nothing here prints. Bad input raises :class:`JobError` with the
one-line message and exit code the CLI shows.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.fit import FitPolicy
from engine.model import DialogueLine, RenderedLine, SkippedLine
from engine.render import (Assessor, BatchResult, LineFailure, Progress, RenderSettings, Revoicer, choose_take,
                           load_sidecar, wav_name)
from engine.voices.base import BackendOptions, BackendUnavailable, VoiceBackend
from otio_bridge.errors import InputError

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
        if not 1 <= self.takes <= 10:
            raise ValueError(f"--takes {self.takes}: use 1 to 10")
        if not 0.0 <= self.allow_overflow_seconds <= 10.0:
            raise ValueError(f"--allow-overflow {self.allow_overflow_seconds}: use 0 to 10 seconds")

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
                   allow_overflow_seconds=args.allow_overflow)


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
        for warning in self.warnings:
            out.append(f"WARNING {warning}")
        if self.pending_shards:
            out.append(f"waiting for {self.pending_shards} line(s) from other shards; "
                       "the last shard to finish writes the timeline")
        for path in self.written:
            out.append(f"wrote {path}")
        return "\n".join(out)


def _number(value: Any, pattern: str) -> str:
    return pattern.format(value) if isinstance(value, (int, float)) else "-"


JobProgress = Callable[[int, int, str], None]


def run_job(options: JobOptions, *, progress: JobProgress | None = None,
            should_cancel: Callable[[], bool] | None = None,
            on_line: Callable[[Progress], None] | None = None,
            backend: VoiceBackend | None = None,
            assessor: Assessor | None = None) -> JobOutcome:
    """Read, render (this shard's lines) and write. Raises JobError on bad input.

    ``backend`` reuses an already loaded voice (the panel keeps one between
    runs); without it the best fitting backend is chosen and loaded.
    ``assessor`` reuses loaded QC meters; without it, ``options.qc`` loads them.
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
    if options.line_ids is not None:
        lines = [line for line in lines if line.line_id in options.line_ids]
    if not lines:
        where = options.subtitles or options.timeline
        raise JobError(f"{where}: no dialogue lines to revoice. Give a subtitle file with --subs, "
                       "or add markers with the line text to the timeline")
    revoicers = _load_revoicers(options, lines, backend)
    mine = [line for line in lines if options.shard.owns(line)]

    def relay(event: Progress) -> None:
        if progress is not None:
            progress(event.done, event.total, f"{event.line_id} {event.state}")
        if on_line is not None:
            on_line(event)

    if options.qc and assessor is None:
        assessor = _load_assessor(options, [revoicer.backend for revoicer in revoicers.values()])
    batch = BatchResult()
    for language, revoicer in revoicers.items():
        part = revoicer.render([line for line in mine if line.language == language], out_dir=options.media_dir,
                               takes=options.takes, assess=assessor if options.qc else None,
                               progress=relay, should_cancel=should_cancel)
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
                      written=written, pending_shards=pending, timecode=timecode)


def _load_revoicers(options: JobOptions, lines: Sequence[DialogueLine],
                    backend: VoiceBackend | None) -> dict[str, Revoicer]:
    """One Revoicer per language in ``lines`` (``backend``, when given, speaks them all)."""
    from engine.voices.registry import choose_backend, discover_backends, load_backend

    backend_options = BackendOptions(device=options.device,
                                      dictionary=str(options.dictionary) if options.dictionary else None)
    revoicers: dict[str, Revoicer] = {}
    specs = discover_backends() if backend is None else []
    try:
        for language in sorted({line.language for line in lines}):
            voice = backend
            if voice is None:
                spec = choose_backend(specs, language=language, options=backend_options, name=options.backend)
                voice = load_backend(spec, backend_options)
            revoicers[language] = Revoicer(backend=voice, settings=options.settings,
                                           voices_by_speaker=options.speaker_voices)
    except BackendUnavailable as exc:
        raise JobError(str(exc), exit_code=3) from None
    except ValueError as exc:
        raise JobError(str(exc)) from None
    return revoicers


def _load_assessor(options: JobOptions, backends: Sequence[VoiceBackend]) -> Assessor:
    """QC meters on the job's device; voice profiles are rendered with the job's loaded voices."""
    from engine.qc.assess import LineQc

    assessor: Assessor = LineQc(device=options.device, backends=backends)
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
