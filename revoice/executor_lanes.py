"""Scheduling a run's lines over workers ("lanes"): each takes the next line when free, longest first.

:func:`run_lanes` knows nothing of voices: a :class:`Lane` renders a
:class:`LineTask` into a :class:`LineResult` (this process, a worker process, a Ray
actor: :mod:`revoice.executor`, :mod:`revoice.executor_ray`). It calls the progress
and cancel callbacks from the calling thread only, keeps every finished line when
another fails or a worker stops, and puts the results back in line order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from revoice.engine.model import DialogueLine, RenderedLine
from revoice.engine.render import BatchResult, LineFailure, Progress, ProgressCallback
from revoice.engine.voices.base import BackendUnavailable

STOP_SECONDS = 30.0
"""How long a worker may take to finish its line and exit once told to stop, before it is terminated."""


class WorkerLost(Exception):
    """A worker could not start, or stopped (crashed, killed); ``str()`` says why."""


@dataclass(frozen=True)
class LineTask:
    """One line for a worker, with the render key (take 1) the parent computed for it."""

    line: DialogueLine
    key: str
    order: int
    """The line's position in the session (results are put back in this order)."""


@dataclass(frozen=True)
class LineResult:
    """What became of one line: rendered (maybe reused from its sidecar), failed or cancelled."""

    line_id: str
    rendered: RenderedLine | None = None
    failure: LineFailure | None = None
    cached: bool = False
    cancelled: bool = False
    fatal: bool = False
    """The line failed because its voice cannot load at all (BackendUnavailable), or its files cannot be
    written or read (:attr:`os_error`): the whole run stops."""
    os_error: tuple[int, str, str | None] | None = None
    """A fatal OSError's (errno, strerror, filename): raised again in the caller, as one process would."""

    @property
    def state(self) -> str:
        """The :class:`~revoice.engine.render.Progress` state: ``done``, ``cached``, ``failed`` or ``cancelled``."""
        if self.cancelled:
            return "cancelled"
        if self.failure is not None:
            return "failed"
        return "cached" if self.cached else "done"



class Lane(Protocol):
    """One worker: started once, then renders one line at a time (blocking), then stopped."""

    name: str

    def start(self) -> None:
        """Load the worker's voice; :class:`WorkerLost` when it cannot start."""

    def render(self, task: LineTask) -> LineResult:
        """Render ``task``'s line; :class:`WorkerLost` when the worker stopped meanwhile."""

    def stop(self) -> None:
        """Let the worker go (never raises)."""



@dataclass
class LaneOutcome:
    """What the lanes did: the batch (rendered in line order) and warnings about workers."""

    batch: BatchResult
    warnings: list[str] = field(default_factory=list)


def longest_first(tasks: Sequence[LineTask]) -> list[LineTask]:
    """``tasks`` by expected work, most first (text length, then slot length), ties in line order."""
    return sorted(tasks, key=lambda t: (-len(t.line.text), -t.line.record.duration, t.order))


def run_lanes(lanes: Sequence[Lane], tasks: Sequence[LineTask], *, progress: ProgressCallback | None = None,
              should_cancel: Callable[[], bool] | None = None, cancel: threading.Event | None = None,
              on_cancel: Callable[[], None] = lambda: None, poll_seconds: float = 0.1) -> LaneOutcome:
    """Render ``tasks`` (in the given order) on ``lanes``, each taking the next line when free.

    ``progress`` and ``should_cancel`` are called from this thread only. On cancel
    (``should_cancel``, or Ctrl+C here) ``cancel`` is set, ``on_cancel`` is called (to stop
    workers' lines in flight) and no further line starts. A lane that cannot start or
    stops leaves its lines to the others; its line in flight fails, and when no lane is
    left the lines not started fail too. A line whose voice cannot load at all (:attr:`LineResult.fatal`)
    stops the run: :class:`~revoice.engine.voices.base.BackendUnavailable` is raised once the lanes stopped.
    """
    cancel = cancel if cancel is not None else threading.Event()
    notify = progress or (lambda event: None)
    waiting: deque[LineTask] = deque(tasks)
    taking = threading.Lock()
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def take() -> LineTask | None:
        with taking:
            return waiting.popleft() if waiting and not cancel.is_set() else None

    def drive(lane: Lane) -> None:
        try:
            lane.start()
            while (task := take()) is not None:
                events.put(("rendering", task))
                try:
                    events.put(("result", lane.render(task)))
                except WorkerLost as exc:
                    events.put(("lost", (lane, task, str(exc))))
                    return
        except WorkerLost as exc:
            events.put(("lost", (lane, None, str(exc))))
        except BaseException as exc:  # noqa: BLE001 - a lane's own bug: report, never hang the run
            events.put(("lost", (lane, None, f"{lane.name}: {type(exc).__name__}: {exc}")))
        finally:
            lane.stop()
            events.put(("finished", lane))

    started = time.perf_counter()
    unavailable: str | None = None
    os_error: tuple[int, str, str | None] | None = None
    batch = BatchResult()
    warnings: list[str] = []
    total, done, running = len(tasks), 0, len(lanes)
    order = {task.line.line_id: task.order for task in tasks}
    origin = {task.line.line_id: task.line.origin for task in tasks}
    threads = [threading.Thread(target=drive, args=(lane,), name=f"revoice {lane.name}", daemon=True)
               for lane in lanes]

    def stop_all() -> None:
        if not cancel.is_set():
            cancel.set()
            on_cancel()

    try:
        for thread in threads:
            thread.start()
        while running:
            if should_cancel is not None and not cancel.is_set() and should_cancel():
                stop_all()
            try:
                kind, payload = events.get(timeout=poll_seconds)
            except queue.Empty:
                continue
            if kind == "rendering":
                notify(Progress(done, total, payload.line.line_id, "rendering"))
            elif kind == "result":
                result: LineResult = payload
                if result.fatal and result.failure is not None and unavailable is None and os_error is None:
                    unavailable, os_error = result.failure.reason, result.os_error
                    stop_all()
                if result.cancelled:
                    batch.cancelled = True
                else:
                    done += 1
                    if result.rendered is not None:
                        batch.rendered.append(result.rendered)
                        batch.cached += result.cached
                    elif result.failure is not None:
                        batch.failed.append(result.failure)
                notify(Progress(done, total, result.line_id, result.state,
                                result.failure.reason if result.failure is not None else ""))
            elif kind == "lost":
                _lane, task, reason = payload
                if task is not None and cancel.is_set():  # stopped on purpose (a Ray actor killed)
                    batch.cancelled = True
                    notify(Progress(done, total, task.line.line_id, "cancelled"))
                elif task is not None:
                    done += 1
                    batch.failed.append(LineFailure(task.line.line_id, task.line.origin,
                                                    f"not rendered: {reason}"))
                    notify(Progress(done, total, task.line.line_id, "failed", reason))
                if not cancel.is_set():
                    warnings.append(f"{reason}; the other workers rendered its lines")
            else:  # finished
                running -= 1
    except BaseException:  # Ctrl+C, SIGTERM: stop the workers' lines, keep what is finished
        stop_all()
        raise
    finally:
        for thread in threads:
            thread.join(STOP_SECONDS + 10)
    if os_error is not None:  # a full disk, a folder turned read-only: the CLI's one line, exit 2
        raise OSError(*os_error)
    if unavailable is not None:
        raise BackendUnavailable(unavailable)
    if cancel.is_set():
        batch.cancelled = batch.cancelled or bool(waiting)  # cancelled after the last line started: nothing lost
    else:
        for task in waiting:  # every lane gone before these started
            batch.failed.append(LineFailure(task.line.line_id, origin[task.line.line_id],
                                            "not rendered: no worker was left to render it"))
            done += 1
            notify(Progress(done, total, task.line.line_id, "failed", "no worker left"))
        if waiting and warnings:
            warnings[-1] = warnings[-1].replace("the other workers rendered its lines", "no worker was left")
    batch.rendered.sort(key=lambda r: order[r.line_id])
    batch.failed.sort(key=lambda f: order[f.line_id])
    batch.seconds = time.perf_counter() - started
    return LaneOutcome(batch=batch, warnings=warnings)




__all__ = ["STOP_SECONDS", "Lane", "LaneOutcome", "LineResult", "LineTask", "WorkerLost", "longest_first", "run_lanes"]
