"""Render a session's lines on several workers at once: processes on this machine, or Ray (executor_ray).

``revoice run --jobs N`` renders N lines at a time: this process plus N-1 worker
processes (``spawn``), each with one math thread (ONNX Runtime, OpenBLAS, OpenMP,
MKL: :data:`THREAD_ENVIRONMENT` and :data:`revoice.options.SYNTHESIS_THREADS`), each
loading its voice once. ``--executor ray`` renders on Ray actors instead
(:mod:`revoice.executor_ray`), one loaded voice per actor.

Every line renders exactly as in one process: a worker rebuilds the session's
voices from a :class:`WorkerPlan` (the job's options, the parent's voice per
speaker and settings, the voice profiles) and refuses a line whose render key
differs from the parent's. It writes the WAV and sidecar as a single process does;
the parent collects the results, reports progress through the session's callback
(from the calling thread), honours cancel (a worker's line in flight stops before
its next synthesis, nothing half-written) and keeps every finished line when
another fails or a worker dies. Lines go out longest first (greedy), so the
workers finish together; their order never changes what is written.

The scheduling (:func:`revoice.executor_lanes.run_lanes`) knows only lanes: one
that renders in this process (:class:`LocalLane`), one per worker process
(:class:`ProcessLane`), one per Ray actor (:class:`revoice.executor_ray.RayLane`).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from revoice.engine.model import DialogueLine
from revoice.engine.voices.base import BackendUnavailable, temporary_environment
from revoice.engine.render import (
    LineFailure,
    ProgressCallback,
    RenderSettings,
    Revoicer,
)
from revoice.executor_lanes import (
    STOP_SECONDS,
    Lane,
    LaneOutcome,
    LineResult,
    LineTask,
    WorkerLost,
    longest_first,
    run_lanes,
)
from revoice.options import AUTO_WORKERS_FROM, JobOptions

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event as ProcessEvent

    from revoice.engine.characters.clone import ClonePrompt
    from revoice.engine.characters.profile import VoiceProfile
    from revoice.engine.conversion.plan import ConversionPlan
    from revoice.engine.render import Assessor
    from revoice.engine.voices.base import VoiceBackend

THREAD_ENVIRONMENT: Mapping[str, str] = MappingProxyType({
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
})
"""One math thread per worker (read by the math libraries when they load, so set before a worker starts)."""


@dataclass(frozen=True)
class WorkerPlan:
    """What a worker needs to render lines exactly as this process would; picklable, no loaded model."""

    options: JobOptions
    """The job (backend, device, load options with one math thread, takes, QC, output folder)."""
    settings: Mapping[str, RenderSettings]
    """Each language's render settings, as the parent's Revoicer holds them."""
    voices_by_speaker: Mapping[str, Mapping[str, str]]
    """Each language's voice per speaker, as the parent's Revoicer holds them."""
    profiles: tuple[VoiceProfile, ...] = ()
    prompts: Mapping[str, ClonePrompt] = field(default_factory=dict)
    backends: tuple[str, ...] = ()
    """Registry names of the other backends the voice profiles speak through (loaded by each worker)."""
    given_voice: bytes | None = None
    """The caller's own loaded voice (:attr:`EngineContext.voice`), pickled; None loads from the registry."""
    conversion: Mapping[str, tuple[str, Any, int]] = field(default_factory=dict)
    """Converted voices (:meth:`revoice.engine.conversion.plan.ConversionPlan.portable`): each worker loads the
    converters by name and converts to the same references."""

    @classmethod
    def build(cls, options: JobOptions, revoicers: Mapping[str, Revoicer], *,
              profiles: Sequence[VoiceProfile] = (), prompts: Mapping[str, ClonePrompt] | None = None,
              backends: Sequence[str] = (), given_voice: VoiceBackend | None = None,
              conversion: ConversionPlan | None = None) -> WorkerPlan:
        """The plan for ``revoicers``; ValueError when ``given_voice`` cannot be sent to another process."""
        pickled = None
        if given_voice is not None:
            try:
                pickled = pickle.dumps(given_voice)
            except Exception as exc:  # noqa: BLE001 - pickling raises whatever the object's parts raise
                raise ValueError(f"the session's voice {given_voice.spec.name!r} cannot be sent to worker "
                                 f"processes ({type(exc).__name__}: {exc})") from None
        return cls(options=options, settings={lang: r.settings for lang, r in revoicers.items()},
                   voices_by_speaker={lang: dict(r.voices_by_speaker) for lang, r in revoicers.items()},
                   profiles=tuple(profiles), prompts=dict(prompts or {}), backends=tuple(backends),
                   given_voice=pickled, conversion=conversion.portable() if conversion is not None else {})


class LineRenderer:
    """Revoicers (one per language) and the QC meters, rendering one line at a time (in any process)."""

    def __init__(self, revoicers: Mapping[str, Revoicer], *, options: JobOptions, assess: Assessor | None,
                 check_keys: bool) -> None:
        self.revoicers = dict(revoicers)
        self.options = options
        self.assess = assess
        self.check_keys = check_keys
        """Refuse a line whose render key differs from the parent's (a worker's rebuilt voices)."""

    @classmethod
    def from_plan(cls, plan: WorkerPlan) -> LineRenderer:
        """Load the plan's voices (once, in this worker) and build the same Revoicers as the parent."""
        from revoice.casting import BackendPool
        from revoice.context import EngineContext
        from revoice.conversion_plan import plan_from_portable
        from revoice.session import build_revoicers

        options = plan.options
        given = pickle.loads(plan.given_voice) if plan.given_voice is not None else None
        context = EngineContext(device=options.device, voice=given)
        voices = context.voices_for(plan.settings, options=options.backend_options, name=options.backend)
        others: list[VoiceBackend] = []
        if plan.backends:
            pool = BackendPool(loaded=list(voices.values()), options=options.backend_options)
            others = [b for b in (pool.named(name) for name in plan.backends) if b is not None]
        conversion = plan_from_portable(plan.conversion, options)
        built = build_revoicers(options, voices, plan.profiles, prompts=plan.prompts, backends=others,
                                conversion=conversion)
        revoicers = {lang: Revoicer(backend=revoicer.backend, settings=plan.settings[lang],
                                    voices_by_speaker=dict(plan.voices_by_speaker[lang]), conversion=conversion)
                     for lang, revoicer in built.items()}
        assess = context.qc([r.backend for r in revoicers.values()], plan.profiles) if options.qc else None
        return cls(revoicers, options=options, assess=assess, check_keys=True)

    def render(self, task: LineTask, should_cancel: Callable[[], bool] | None = None) -> LineResult:
        """Render (or reuse) every take of ``task``'s line; never raises for the line's own trouble."""
        line = task.line
        revoicer = self.revoicers.get(line.language)
        if revoicer is None:
            return _failed(line, f"no voice for language {line.language!r} in this worker")
        if self.check_keys and revoicer.render_key(line) != task.key:
            return _failed(line, "this worker's voice differs from the main process's (render key mismatch); "
                                 "run with --jobs 1")
        try:
            part = revoicer.render([line], out_dir=self.options.media_dir, takes=self.options.takes,
                                   assess=self.assess, should_cancel=should_cancel)
        except BackendUnavailable as exc:  # the voice cannot load here: no line can render, the run stops
            return LineResult(line.line_id, failure=LineFailure(line.line_id, line.origin, str(exc)), fatal=True)
        except OSError as exc:  # the output cannot be written (full disk, read-only folder): the run stops
            return LineResult(line.line_id, failure=LineFailure(line.line_id, line.origin, str(exc)), fatal=True,
                              os_error=(exc.errno or 0, exc.strerror or str(exc), exc.filename))
        except Exception as exc:  # noqa: BLE001 - an unexpected error in one line must not lose the others
            return _failed(line, f"{type(exc).__name__}: {exc}")
        if part.cancelled:
            return LineResult(line.line_id, cancelled=True)
        if part.failed:
            return LineResult(line.line_id, failure=part.failed[0])
        return LineResult(line.line_id, rendered=part.rendered[0], cached=part.cached > 0)


def _failed(line: DialogueLine, reason: str) -> LineResult:
    return LineResult(line.line_id, failure=LineFailure(line.line_id, line.origin, reason))


# -- lanes: where a line renders ---------------------------------------------------------------------


class LocalLane:
    """Renders in this process, on the session's loaded voices (a thread of the caller's process)."""

    def __init__(self, renderer: LineRenderer, cancel: threading.Event) -> None:
        self.name = "this process"
        self.renderer = renderer
        self.cancel = cancel

    def start(self) -> None:
        return None

    def render(self, task: LineTask) -> LineResult:
        return self.renderer.render(task, self.cancel.is_set)

    def stop(self) -> None:
        return None


class ProcessLane:
    """A worker process on this machine (``spawn``, one math thread), talking over a pipe."""

    def __init__(self, plan: WorkerPlan, *, index: int, cancel: ProcessEvent, spawning: threading.Lock) -> None:
        self.name = f"worker process {index}"
        self.plan = plan
        self.cancel = cancel
        self.spawning = spawning
        """Held while a process starts: the thread settings are put in this process's environment meanwhile."""
        self.process: multiprocessing.process.BaseProcess | None = None
        self.connection: Connection | None = None

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=worker_main, args=(self.plan, theirs, self.cancel), name=self.name,
                                  daemon=True)
        with self.spawning, temporary_environment(THREAD_ENVIRONMENT):
            process.start()  # spawn: the child's environment is copied now
        theirs.close()
        self.process, self.connection = process, ours
        kind, detail = self._receive()
        if kind != "ready":
            raise WorkerLost(f"{self.name} could not start: {detail}")

    def render(self, task: LineTask) -> LineResult:
        assert self.connection is not None, "start() first"
        try:
            self.connection.send(task)
        except OSError as exc:
            raise WorkerLost(f"{self.name} stopped ({exc})") from None
        result = self._receive()
        if not isinstance(result, LineResult):
            raise WorkerLost(f"{self.name} answered {type(result).__name__}")
        return result

    def _receive(self) -> Any:
        """The worker's next message; WorkerLost when it exits first."""
        assert self.connection is not None and self.process is not None
        ready = wait([self.connection, self.process.sentinel])
        if self.connection in ready:
            try:
                return self.connection.recv()
            except (EOFError, OSError):
                pass
        self.process.join(5)
        raise WorkerLost(f"{self.name} stopped (exit code {self.process.exitcode})")

    def stop(self) -> None:
        process, connection = self.process, self.connection
        if connection is not None:
            try:
                connection.send(None)
            except OSError:
                pass
        if process is not None:
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.terminate()
                process.join(5)
        if connection is not None:
            connection.close()


def worker_main(plan: WorkerPlan, connection: Connection, cancel: ProcessEvent) -> None:
    """A worker process: load the plan's voices, say "ready", then render each task sent until None."""
    from revoice.privacy import offline_environment

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the parent cancels us
    offline_environment()
    try:
        renderer = LineRenderer.from_plan(plan)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which carries on without us
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    connection.send(("ready", os.getpid()))
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        connection.send(renderer.render(task, cancel.is_set))


# -- the session's entry point ------------------------------------------------------------------------


def worker_count(options: JobOptions) -> int:
    """Lines rendered at once on this machine: ``--jobs``, else the CPUs this process may use."""
    if options.jobs is not None:
        return options.jobs
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def workers_pay(options: JobOptions, todo: int) -> bool:
    """``--executor auto``: whether ``todo`` lines left to render pay for worker processes on this machine.

    :data:`~revoice.options.AUTO_WORKERS_FROM` lines or more, more than one CPU, and not one of several shards
    (a farm runs those as its own processes).
    """
    return todo >= AUTO_WORKERS_FROM and worker_count(options) > 1 and options.shard.count == 1


def render_in_workers(lines: Sequence[DialogueLine], *, options: JobOptions, revoicers: Mapping[str, Revoicer],
                      plan: Callable[[], WorkerPlan], assess: Callable[[], Assessor | None],
                      finished: Callable[[DialogueLine], bool], progress: ProgressCallback | None = None,
                      should_cancel: Callable[[], bool] | None = None) -> LaneOutcome:
    """Render ``lines`` with ``options.executor`` ("processes", "ray" or "auto") on ``options.jobs`` workers.

    ``revoicers`` are this process's (they give the render keys, and with "processes" this
    process renders too, with ``assess()``'s meters); ``plan()`` makes the workers' plan
    (ValueError: workers cannot rebuild the voices, so this process renders alone, with a
    warning); ``finished(line)`` says whether a line is already rendered (only lines that
    are not need workers: an unchanged rerun starts none).
    """
    tasks = longest_first([LineTask(line, revoicers[line.language].render_key(line), index)
                           for index, line in enumerate(lines) if line.language in revoicers])
    todo = sum(not finished(task.line) for task in tasks)
    warnings: list[str] = []
    wanted = todo > 1 if options.executor != "auto" else workers_pay(options, todo)
    try:
        worker_plan = plan() if wanted else None
    except ValueError as exc:
        warnings.append(f"{exc}; rendering in this process only")
        worker_plan = None
    if options.executor == "ray" and worker_plan is not None:
        from revoice.executor_ray import render_on_ray

        outcome = render_on_ray(tasks, plan=worker_plan, options=options, progress=progress,
                                should_cancel=should_cancel)
    else:
        cancel = threading.Event()
        lanes: list[Lane] = [LocalLane(LineRenderer(revoicers, options=options, assess=assess(), check_keys=False),
                                       cancel)]
        if worker_plan is not None:
            process_cancel = multiprocessing.get_context("spawn").Event()
            spawning = threading.Lock()
            lanes += [ProcessLane(worker_plan, index=index, cancel=process_cancel, spawning=spawning)
                      for index in range(1, min(worker_count(options), todo))]
            on_cancel: Callable[[], None] = process_cancel.set
        else:
            on_cancel = cancel.set
        outcome = run_lanes(lanes, tasks, progress=progress, should_cancel=should_cancel, cancel=cancel,
                            on_cancel=on_cancel)
    outcome.warnings[:0] = warnings
    return outcome


__all__ = [
    "THREAD_ENVIRONMENT", "LaneOutcome", "LineRenderer", "LineResult", "LineTask", "LocalLane", "ProcessLane",
    "WorkerLost", "WorkerPlan", "environment", "render_in_workers", "worker_count", "worker_main", "workers_pay",
]
