"""The session API: one timeline being revoiced. The CLI, the panel and the local service call this.

A session opens a timeline and its lines once, then renders selections of
them (progress and cancel through callbacks), swaps takes and writes the
revoiced timeline and its QC report. Loaded models live in its
:class:`~revoice.context.EngineContext`, which a long-lived front end keeps
between sessions; the files go where its :class:`~revoice.layout.OutputLayout`
says. Bad input raises :class:`~revoice.options.JobError` with the one-line
message (and exit code) the CLI prints.

Usage (the demo scene, two lines, stock voice)::

    >>> from revoice.options import JobOptions
    >>> from revoice.session import Session
    >>> session = Session.open(timeline, subtitles=subtitles, out=folder / "scene_revoiced.otio")
    >>> [(line.line_id, line.speaker) for line in session.lines[:2]]
    [('L0001', 'NAGG'), ('L0002', 'NELL')]
    >>> options = session.options(line_ids=frozenset({"L0001", "L0002"}), profiles="off")
    >>> outcome = session.render(options, progress=lambda done, total, label: None)
    >>> [render.line_id for render in outcome.batch.rendered], outcome.failed
    (['L0001', 'L0002'], [])
    >>> session.choose_take("L0002", 1).take
    1
    >>> [path.name for path in session.write()]
    ['scene_revoiced.otio']
    >>> session.layout.media_dir.name
    'scene_revoiced_media'

A render goes through named steps, each a method over one :class:`_Run`:
edit (text edits, slot overflow) -> group (speakers by voice) -> select ->
voices -> profiles -> render -> collect (with other shards' lines) -> write -> prune (``--prune``).

Nothing is loaded that a run does not need: a voice's model loads on the first
line really synthesized, the QC meters on the first take really metered, so a
rerun with every line finished only computes keys and reads sidecars.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revoice.context import EngineContext
from revoice.engine.model import DialogueLine, RenderedLine, SkippedLine
from revoice.engine.emotion.perform import TEXT_EDITED
from revoice.engine.files import remove_stale_temporaries
from revoice.engine.render import Assessor, BatchResult, Progress, Revoicer, wav_name
from revoice.engine.sidecars import prune_renders, superseded_renders
from revoice.engine.voices.base import BackendUnavailable, VoiceBackend
from revoice.layout import OutputLayout
from revoice.options import JobError, JobOptions
from revoice.otio_bridge.errors import InputError
from revoice.outcome import JobOutcome
from revoice.takes import placed_take, with_take

if TYPE_CHECKING:
    from revoice.casting import BackendPool, CharacterVoice
    from revoice.engine.characters.clone import ClonePrompt
    from revoice.engine.characters.profile import VoiceProfile
    from revoice.engine.conversion.plan import ConversionPlan

JobProgress = Callable[[int, int, str], None]
"""``(done, total, label)``: lines finished of the run's total, and what is happening now."""


@dataclass(frozen=True)
class OpenedTimeline:
    """A timeline and its dialogue lines as read, before any render."""

    path: Path
    subtitles: Path | None
    timeline: Any
    """The read ``opentimelineio.schema.Timeline`` (never written back)."""
    rate: float
    start_frames: int
    lines: list[DialogueLine]
    skipped: list[SkippedLine]
    warnings: list[str]


def read_lines(timeline: Path, *, subtitles: Path | None = None, subtitle_offset: str | float = "auto",
               rate: float | None = None, language: str = "auto") -> OpenedTimeline:
    """Read ``timeline`` and its lines (from ``subtitles``, else its markers). Raises JobError naming the file."""
    from revoice.engine.original import undecodable_media
    from revoice.otio_bridge.lines import extract_lines
    from revoice.otio_bridge.subtitles import read_subtitles
    from revoice.otio_bridge.timeline import read_timeline, timeline_rate, timeline_start_frames

    try:
        read = read_timeline(timeline, rate=rate)
        cues = read_subtitles(subtitles) if subtitles else None
        lines, skipped, warnings = extract_lines(read, cues=cues, subtitle_path=subtitles,
                                                 subtitle_offset=subtitle_offset, language=language,
                                                 timeline_path=timeline)
        warnings += undecodable_media(lines)  # a missing file is warned about in extract_lines
        return OpenedTimeline(path=timeline, subtitles=subtitles, timeline=read,
                              rate=timeline_rate(read, path=timeline), start_frames=timeline_start_frames(read),
                              lines=lines, skipped=skipped, warnings=warnings)
    except InputError as exc:
        raise JobError(str(exc)) from exc


@dataclass
class _Run:
    """One render's working state, filled in step by step."""

    options: JobOptions
    all_lines: list[DialogueLine]
    """Every line, after text edits, overflow and speaker grouping (profiles look at all of them)."""
    lines: list[DialogueLine] = field(default_factory=list)
    """The lines asked for (``options.line_ids``)."""
    warnings: list[str] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    use_profiles: bool = False
    voices: dict[str, VoiceBackend] = field(default_factory=dict)
    """One loaded backend per language."""
    profiles: list[VoiceProfile] = field(default_factory=list)
    profile_rows: list[dict[str, Any]] = field(default_factory=list)
    prompts: dict[str, ClonePrompt] = field(default_factory=dict)
    pool: BackendPool | None = None
    conversion: ConversionPlan | None = None
    """Characters whose profile is of kind "convert": their converter and reference (revoice.conversion_plan)."""
    revoicers: dict[str, Revoicer] = field(default_factory=dict)
    batch: BatchResult = field(default_factory=BatchResult)
    rendered: list[RenderedLine] = field(default_factory=list)
    """This run's renders plus other shards' finished ones, in line order."""
    pending: int = 0
    written: list[Path] = field(default_factory=list)
    superseded: list[Path] = field(default_factory=list)
    """Renders in the media folder that no line of the timeline uses any more (deleted with ``options.prune``)."""
    in_use: frozenset[str] = frozenset()
    """The WAV names the timeline's lines have (every take)."""


class _ProgressRelay:
    """Turns each language's per-line events into one count over the whole run."""

    def __init__(self, total: int, progress: JobProgress | None, on_line: Callable[[Progress], None] | None) -> None:
        self.total = total
        self.before = 0
        """Lines of the languages rendered before the current one."""
        self.progress = progress
        self.on_line = on_line

    def __call__(self, event: Progress) -> None:
        if self.progress is not None:
            self.progress(self.before + event.done, self.total, f"{event.line_id} {event.state}")
        if self.on_line is not None:
            self.on_line(event)


class Session:
    """An opened timeline, its lines, the loaded models and where the revoiced files go."""

    def __init__(self, opened: OpenedTimeline, *, out: Path, context: EngineContext | None = None,
                 profiles_folder: Path | None = None) -> None:
        self.opened = opened
        self.layout = OutputLayout(out, profiles_folder)
        self.context = context if context is not None else EngineContext()
        self.take_picks: dict[str, int] = {}
        """The editor's take per line id (:meth:`choose_take`); :meth:`write` places them."""
        self.last: JobOutcome | None = None
        """The outcome of the latest :meth:`render`."""
        self._made_clips: dict[str, Any] = {}
        """The written timeline's clips, so the next write builds only the changed lines' (OTIO clips)."""

    @classmethod
    def open(cls, timeline: Path, *, out: Path, subtitles: Path | None = None,
             subtitle_offset: str | float = "auto", rate: float | None = None, language: str = "auto",
             profiles_folder: Path | None = None, context: EngineContext | None = None) -> Session:
        """Read ``timeline`` and its lines; renders will go beside ``out``. Raises JobError on bad input."""
        opened = read_lines(timeline, subtitles=subtitles, subtitle_offset=subtitle_offset, rate=rate,
                            language=language)
        return cls(opened, out=out, context=context, profiles_folder=profiles_folder)

    @classmethod
    def for_job(cls, options: JobOptions, *, context: EngineContext | None = None) -> Session:
        """The session a whole job (``revoice run``) renders in."""
        return cls.open(options.timeline, out=options.out, subtitles=options.subtitles,
                        subtitle_offset=options.subtitle_offset, rate=options.rate, language=options.language,
                        profiles_folder=options.layout.profiles_folder,
                        context=context if context is not None else EngineContext(device=options.device))

    # --- what is open -------------------------------------------------------------------------------------------

    @property
    def lines(self) -> list[DialogueLine]:
        return self.opened.lines

    @property
    def skipped(self) -> list[SkippedLine]:
        return self.opened.skipped

    @property
    def warnings(self) -> list[str]:
        return self.opened.warnings

    def line(self, line_id: str) -> DialogueLine:
        """The line called ``line_id``; KeyError naming it when there is none."""
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise KeyError(f"no line {line_id!r} in {self.opened.path.name}")

    def timecode(self, frames_from_start: int) -> str:
        """Timeline frames (from its first frame) as the timeline's timecode."""
        from revoice.otio_bridge.timeline import format_timecode

        return str(format_timecode(self.opened.start_frames + frames_from_start, self.opened.rate))

    def options(self, **overrides: Any) -> JobOptions:
        """A job over this session's timeline, subtitles and output, checked up front (ValueError)."""
        profiles = self.layout.profiles_folder
        base: dict[str, Any] = dict(timeline=self.opened.path, out=self.layout.out, subtitles=self.opened.subtitles,
                                    profiles=str(profiles) if profiles is not None else "off")
        return JobOptions(**{**base, **overrides})

    # --- render -------------------------------------------------------------------------------------------------

    def render(self, options: JobOptions, *, progress: JobProgress | None = None,
               on_line: Callable[[Progress], None] | None = None,
               should_cancel: Callable[[], bool] | None = None) -> JobOutcome:
        """Render ``options.line_ids`` (every line when None) of this shard, then write the timeline.

        The timeline (and, with ``options.qc``, the QC report) is written once no
        line of any shard is missing. ``progress`` counts lines over the whole
        run; ``on_line`` gets each line's state change; ``should_cancel`` is
        asked between lines and keeps every finished one. Raises JobError.
        """
        if options.timeline != self.opened.path or options.out != self.layout.out:
            raise ValueError(f"{options.timeline} -> {options.out}: not this session's timeline "
                             f"({self.opened.path} -> {self.layout.out})")
        run = self._edit(options)
        self._group(run)
        self._select(run)
        self._voices(run)
        if run.use_profiles:
            self._profiles(run, progress, should_cancel)
        self._revoicers(run)
        try:
            self._render(run, progress, on_line, should_cancel)
        except BackendUnavailable as exc:  # a voice loads on its first synthesis (registry.LazyBackend)
            raise JobError(str(exc), exit_code=3) from None
        self._collect(run)
        _check_consent(run)
        self._write(run)
        pruned = self._prune(run)
        self.last = JobOutcome(options=options, lines=run.lines, skipped=self.skipped, warnings=run.warnings,
                               batch=run.batch, written=run.written, pending_shards=run.pending,
                               rate=self.opened.rate, start_frames=self.opened.start_frames,
                               profiles=run.profile_rows, speaker_groups=run.groups,
                               superseded=run.superseded, pruned=pruned, voices=_character_voices(run))
        return self.last

    def _edit(self, options: JobOptions) -> _Run:
        """Step 1: the editor's text edits, and slots grown into the free gaps after them.

        First, what writers killed in an earlier run left in the folders this one writes is removed.
        """
        remove_stale_temporaries(options.media_dir, options.out.parent, options.voices_dir,
                                 options.layout.qc_media_dir)
        lines = [_with_edits(line, options) for line in self.lines]
        if options.allow_overflow_seconds > 0:
            from revoice.engine.sync import extend_into_gaps

            lines = extend_into_gaps(lines, max_seconds=options.allow_overflow_seconds)
        with_audio = any(s.available for line in lines for s in line.sources)
        explicit = options.profiles not in ("auto", "off") and options.voices_dir.is_dir()
        run = _Run(options=options, all_lines=lines, warnings=list(self.warnings),
                   use_profiles=options.profiles != "off" and (with_audio or explicit))
        if options.consent is not None and not run.use_profiles:
            run.warnings.append("--consent: this run speaks no voice profile (profiles are off, or no original "
                                "dialogue to build one from), so no consent was recorded")
        if options.convert not in (None, "off"):
            from revoice.conversion_plan import chosen_converter

            chosen_converter(options)  # exit 3 now, before any voice loads, when no converter fits
        if options.convert not in (None, "off") and not run.use_profiles:
            run.warnings.append("--convert: this run speaks no voice profile (profiles are off, or no original "
                                "dialogue to build one from), so no voice is converted")
        return run

    def _group(self, run: _Run) -> None:
        """Step 2: speakers proposed by voice (every line with --group-speakers, else the unnamed ones)."""
        from revoice.casting import group_speakers, unnamed

        todo = run.all_lines if run.options.group_speakers else (unnamed(run.all_lines) if run.use_profiles else [])
        run.all_lines, run.groups = group_speakers(run.all_lines, todo, embedder=self.context.speaker_embedder,
                                                   warnings=run.warnings)

    def _select(self, run: _Run) -> None:
        """Step 3: the lines asked for; JobError when there are none."""
        wanted = run.options.line_ids
        run.lines = [line for line in run.all_lines if wanted is None or line.line_id in wanted]
        if not run.lines:
            where = run.options.subtitles or run.options.timeline
            raise JobError(f"{where}: no dialogue lines to revoice. Give a subtitle file with --subs, "
                           "or add markers with the line text to the timeline")

    def _voices(self, run: _Run) -> None:
        """Step 4: one voice per language of the lines (its model loads on the first line really synthesized)."""
        run.voices = self.context.voices_for((line.language for line in run.lines),
                                             options=run.options.backend_options, name=run.options.backend)

    def _profiles(self, run: _Run, progress: JobProgress | None, should_cancel: Callable[[], bool] | None) -> None:
        """Step 5: build or reuse each character's voice profile (kept in the voices folder)."""
        from revoice.casting import cast_profiles

        cast = cast_profiles(run.options, all_lines=run.all_lines, lines=run.lines, voices=run.voices,
                             context=self.context, progress=progress, should_cancel=should_cancel)
        run.profiles, run.profile_rows, run.pool, run.prompts = cast.profiles, cast.rows, cast.pool, cast.prompts
        run.conversion = cast.conversion
        run.warnings.extend(cast.warnings)

    def _revoicers(self, run: _Run) -> None:
        """Step 6: one Revoicer per language; with profiles, the characters' voices speak."""
        run.revoicers = build_revoicers(run.options, run.voices, run.profiles, prompts=run.prompts, lines=run.all_lines,
                                        backends=list(run.pool.loaded.values()) if run.pool is not None else [],
                                        conversion=run.conversion)

    def _render(self, run: _Run, progress: JobProgress | None, on_line: Callable[[Progress], None] | None,
                should_cancel: Callable[[], bool] | None) -> None:
        """Step 7: render this shard's lines, language by language (QC meters every take when asked).

        With ``--jobs N`` / ``--executor processes|ray`` the lines go to workers (revoice.executor).
        """
        options = run.options
        mine = [line for line in run.lines if options.shard.owns(line)]
        relay = _ProgressRelay(sum(line.language in run.revoicers for line in mine), progress, on_line)
        if options.executor != "local" and not (options.executor == "auto" and not self._workers_pay(run, mine)):
            self._render_in_workers(run, mine, relay, should_cancel)
            return
        assess = self.context.qc([r.backend for r in run.revoicers.values()], run.profiles) if options.qc else None
        for language, revoicer in run.revoicers.items():
            own = [line for line in mine if line.language == language]
            part = revoicer.render(own, out_dir=options.media_dir, takes=options.takes, assess=assess,
                                   progress=relay, should_cancel=should_cancel)
            relay.before += len(own)
            run.batch.rendered += part.rendered
            run.batch.failed += part.failed
            run.batch.cached += part.cached
            run.batch.seconds += part.seconds
            if part.cancelled:
                run.batch.cancelled = True
                break
        order = {line.line_id: index for index, line in enumerate(run.lines)}
        run.batch.rendered.sort(key=lambda r: order[r.line_id])

    @staticmethod
    def _workers_pay(run: _Run, lines: Sequence[DialogueLine]) -> bool:
        """``--executor auto``: whether enough of ``lines`` are left to render for worker processes to pay
        (:func:`revoice.executor.workers_pay`); counts finished renders only until the answer is known."""
        from revoice.executor import workers_pay
        from revoice.options import AUTO_WORKERS_FROM

        options = run.options
        if not workers_pay(options, len(lines)):
            return False
        left = 0
        for line in lines:
            left += line.language in run.revoicers and not _finished(run, line)
            if left >= AUTO_WORKERS_FROM:
                return True
        return False

    def _render_in_workers(self, run: _Run, mine: list[DialogueLine], relay: _ProgressRelay,
                           should_cancel: Callable[[], bool] | None) -> None:
        """Step 7 on worker processes or Ray: the same files as one process, lines in parallel."""
        from revoice.executor import WorkerPlan, render_in_workers

        options = run.options


        def plan() -> WorkerPlan:
            return WorkerPlan.build(options, run.revoicers, profiles=run.profiles, prompts=run.prompts,
                                    backends=list(run.pool.loaded) if run.pool is not None else [],
                                    given_voice=self.context.voice, conversion=run.conversion)

        def assess() -> Assessor | None:
            return self.context.qc([r.backend for r in run.revoicers.values()], run.profiles) if options.qc else None

        outcome = render_in_workers(mine, options=options, revoicers=run.revoicers, plan=plan, assess=assess,
                                    finished=functools.partial(_finished, run), progress=relay,
                                    should_cancel=should_cancel)
        run.batch = outcome.batch
        run.warnings.extend(outcome.warnings)

    def _collect(self, run: _Run) -> None:
        """Step 8: this run's renders plus other shards' finished ones; count what is still missing.

        Lines with an editor's take pick are re-chosen from their sidecars. Renders in the media folder
        that no line of the timeline uses any more (every take's name of every line, selected or not,
        is in use) are listed as superseded.
        """
        options = run.options
        done = {r.line_id: r for r in run.batch.rendered if r.line_id not in options.take_overrides}
        failed = {f.line_id for f in run.batch.failed}
        for line in run.lines:
            if line.line_id in done or line.line_id in failed:
                continue
            revoicer = run.revoicers[line.language]
            placed = placed_take(options.media_dir, line, options.takes, options.take_overrides.get(line.line_id),
                                 key=functools.partial(revoicer.render_key, line))
            if placed is None:
                run.pending += 1
            else:
                done[line.line_id] = placed
        order = {line.line_id: index for index, line in enumerate(run.lines)}
        run.rendered = sorted(done.values(), key=lambda r: order[r.line_id])
        takes = range(1, options.takes + 1)
        run.in_use = frozenset(wav_name(line, take) for line in run.all_lines for take in takes)
        run.superseded = superseded_renders(options.media_dir, in_use=run.in_use)

    def _write(self, run: _Run) -> None:
        """Step 9: the revoiced timeline(s) and, with QC, the report, once every shard's lines are done."""
        if run.pending or not run.rendered or run.batch.cancelled:
            return
        finished = {r.line_id for r in run.rendered}
        lines = [line for line in run.lines if line.line_id in finished]
        run.written = self._write_timeline(lines, run.rendered, run.options.layout.timeline_targets(run.options.also),
                                           warnings=run.warnings, bundle_media=run.options.bundle_media)
        if run.options.qc:
            run.written += self.write_report()

    def _prune(self, run: _Run) -> bool:
        """Step 10 (``options.prune``): delete the superseded renders once the timeline is written; whether it did.

        Not while other shards' lines are missing or the run was cancelled (the timeline, the only
        file that says which renders are in use, is then not written).
        """
        if not run.options.prune or not run.written or not run.superseded:
            return False
        run.superseded = prune_renders(run.superseded, in_use=run.in_use)
        return True

    # --- takes and writing --------------------------------------------------------------------------------------

    def choose_take(self, line_id: str, take: int) -> RenderedLine:
        """Place ``take`` of a rendered line (from the sidecars beside its WAV; nothing is re-rendered).

        Raises KeyError (unknown line), ValueError (not rendered, or no such take).
        """
        line_id = self.line(line_id).line_id
        finished = [r for r in self.last.batch.rendered if r.line_id == line_id] if self.last is not None else []
        render = self._placed(finished[-1]) if finished else None  # only this line's sidecars are read
        if render is None:
            raise ValueError(f"{line_id}: not rendered yet; revoice it first")
        chosen = with_take(render, take)
        if chosen is None:
            raise ValueError(f"{line_id}: no take {take} beside {render.path.name}")
        self.take_picks[line_id] = take
        return chosen

    def renders(self) -> dict[str, RenderedLine]:
        """The placed take of every line the latest render finished, with the editor's picks."""
        if self.last is None:
            return {}
        return {render.line_id: self._placed(render) for render in self.last.batch.rendered}

    def _placed(self, render: RenderedLine) -> RenderedLine:
        """``render`` with the editor's pick placed (read from its sidecars), or as rendered when there is none."""
        pick = self.take_picks.get(render.line_id)
        return (with_take(render, pick) or render) if pick is not None else render

    def write(self, targets: Sequence[Path] | None = None, *, renders: Mapping[str, RenderedLine] | None = None,
              texts: Mapping[str, str] | None = None) -> list[Path]:
        """Write the revoiced timeline (``targets``, default the layout's ``out``) with the placed takes.

        ``renders`` (default :meth:`renders`) by line id; ``texts`` the edited text by line id.
        Raises JobError when nothing is rendered or a file cannot be written.
        """
        placed = dict(renders if renders is not None else self.renders())
        lines = [_edited(line, (texts or {}).get(line.line_id)) for line in self.lines if line.line_id in placed]
        if not lines:
            raise JobError("nothing is revoiced yet: revoice some lines first")
        warnings: list[str] = []
        written = self._write_timeline(lines, [placed[line.line_id] for line in lines],
                                       list(targets) if targets else [self.layout.out], warnings=warnings)
        self.opened.warnings.extend(w for w in warnings if w not in self.opened.warnings)
        return written

    def _write_timeline(self, lines: Sequence[DialogueLine], rendered: Sequence[RenderedLine],
                        targets: Sequence[Path], *, warnings: list[str], bundle_media: bool = False) -> list[Path]:
        from revoice.otio_bridge.write import build_revoiced_timeline, write_timelines

        inputs = [self.opened.path] + ([self.opened.subtitles] if self.opened.subtitles else [])
        written: list[Path] = []
        try:
            new_timeline = build_revoiced_timeline(self.opened.timeline, list(lines), list(rendered),
                                                   made_clips=self._made_clips)
            warnings.extend(write_timelines(new_timeline, targets, overwrite_inputs=inputs, bundle_media=bundle_media,
                                            media_dir=self.layout.media_dir))  # all targets or none
            written.extend(targets)
        except InputError as exc:
            raise JobError(str(exc)) from exc
        except (ValueError, OSError) as exc:
            raise JobError(f"{targets[0]}: cannot write the revoiced timeline ({exc}). "
                           "Rendered WAVs are kept; fix the problem and run again to reuse them") from None
        return written

    def write_report(self, *, measure: Any = None) -> list[Path]:
        """The QC report (HTML, JSON, CSV) of the written timeline, beside it; ``measure`` meters unmetered lines."""
        from revoice.report import write_report

        try:
            return write_report(self.layout.out, measure=measure, voices_dir=self.layout.voices_dir)
        except InputError as exc:
            raise JobError(str(exc)) from exc
        except (ValueError, OSError) as exc:
            raise JobError(f"{self.layout.out}: cannot write the QC report ({exc})") from None


def _finished(run: _Run, line: DialogueLine) -> bool:
    """Whether ``line`` has a finished render of its current key on disk (QC'd when the run asks for QC)."""
    options = run.options
    placed = placed_take(options.media_dir, line, options.takes,
                         key=functools.partial(run.revoicers[line.language].render_key, line))
    return placed is not None and (not options.qc or placed.report.qc is not None)


def _check_consent(run: _Run) -> None:
    """Lines a voice profile spoke get its consent as recorded now; flagged while unknown (see consent_checked)."""
    from revoice.engine.characters.character_backend import consent_checked

    run.batch.rendered = consent_checked(run.batch.rendered, run.profiles)
    run.rendered = consent_checked(run.rendered, run.profiles)


def _character_voices(run: _Run) -> list[CharacterVoice]:
    """Each character's voice and why, for the summary (revoice.casting.character_voices)."""
    from revoice.casting import character_voices

    return character_voices(run.options, run.revoicers, run.all_lines, profiles=run.profiles, rows=run.profile_rows)


def build_revoicers(options: JobOptions, voices: Mapping[str, VoiceBackend], profiles: Sequence[VoiceProfile], *,
                    prompts: Mapping[str, ClonePrompt] | None = None,
                    backends: Sequence[VoiceBackend] = (), lines: Sequence[DialogueLine] = (),
                    conversion: ConversionPlan | None = None) -> dict[str, Revoicer]:
    """One Revoicer per language; with ``profiles`` their characters' voices speak (stock voices for the others).

    ``conversion`` (revoice.conversion_plan) converts the "convert" profiles' voices to their actors' timbre.

    The others get distinct stock voices, cast from ``lines`` (the whole reel; see
    revoice.engine.characters.stock_voices); without ``lines`` they speak the default voice.

    The render keys of finished lines (resume, the panel's "already rendered") come from the same Revoicers.
    """
    from revoice.engine.characters.character_backend import ProfiledBackend
    from revoice.engine.characters.stock_voices import VoiceVariants, default_voice_ids

    revoicers: dict[str, Revoicer] = {}
    by_speaker = {**{p.name: p.name for p in profiles}, **options.speaker_voices} if profiles else options.speaker_voices
    try:
        for language, base in voices.items():
            voice: VoiceBackend = VoiceVariants(base)  # its voices' variants too (joe~light)
            if profiles:
                voice = ProfiledBackend(primary=voice, profiles=profiles, prompts=dict(prompts or {}),
                                        backends=list(backends))
            cast = default_voice_ids(lines, base, language=language, chosen=options.speaker_voices,
                                     run_voice=options.settings.voice_id)
            revoicers[language] = Revoicer(backend=voice, settings=options.settings,
                                           voices_by_speaker={**cast, **by_speaker}, conversion=conversion)
    except ValueError as exc:
        raise JobError(str(exc)) from exc
    return revoicers


def _edited(line: DialogueLine, text: str | None) -> DialogueLine:
    return line if text is None or text == line.text else dataclasses.replace(line, text=text)


def _with_edits(line: DialogueLine, options: JobOptions) -> DialogueLine:
    """``line`` with the editor's text, emotion and duration; an edited text no longer says the take's words."""
    text = options.text_overrides.get(line.line_id, line.text)
    metadata = dict(line.metadata, **{TEXT_EDITED: True}) if text != line.text else line.metadata
    return dataclasses.replace(line, text=text, metadata=metadata,
                               emotion=options.emotion_overrides.get(line.line_id, line.emotion),
                               duration=options.duration_overrides.get(line.line_id, line.duration))
