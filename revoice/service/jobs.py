"""The service's jobs: each one a :class:`~revoice.session.Session` render, run by one worker thread in order.

One job renders at a time; the others wait as ``queued``. The loaded models
live in one :class:`ServiceContext` per device for the service's lifetime,
so the voice loads once. Running one job at a time keeps every model and
output folder single-user: the voices' text front ends are not thread-safe,
two jobs over the same output would write the same WAVs, and on a CPU a
second render at once would only halve the speed of both. A request is
checked (options, files, line ids) before it is queued, so a bad one gets
its error at once.
"""

from __future__ import annotations

import secrets
import sys
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from queue import Queue
from typing import Any

from revoice.context import EngineContext
from revoice.engine.render import Progress
from revoice.options import JobError, JobOptions, describe_os_error
from revoice.outcome import JobOutcome
from revoice.service.job_request import JobRequest, RequestError
from revoice.service.status import JobEvent, LineStatus, track_names
from revoice.session import Session

EXIT_CANCELLED = 130


class Job:
    """One render over a session: its state, per-line status and the events its stream replays."""

    def __init__(self, job_id: str, request: JobRequest, options: JobOptions, session: Session) -> None:
        self.id = job_id
        self.request = request
        self.options = options
        self.session = session
        self.state = "queued"
        self.error: str | None = None
        self.exit_code: int | None = None
        self.written: list[str] = []
        self.warnings: list[str] = list(session.warnings)
        wanted = options.line_ids
        selected = [line for line in session.lines if wanted is None or line.line_id in wanted]
        tracks = track_names(selected)
        self.lines = {line.line_id: LineStatus.of(line, timecode=session.timecode(line.record.start),
                                                  track=tracks[line.line_id]) for line in selected}
        for line_id, text in options.text_overrides.items():
            if line_id in self.lines:
                self.lines[line_id].text = text
        session.take_picks.update(options.take_overrides)
        self.done, self.total, self.label = 0, len(selected), "queued"
        self.cancel_requested = threading.Event()
        self.events: list[JobEvent] = []
        self.lock = threading.Lock()
        """Guards the state, the line records and the events (held briefly)."""
        self.editing = threading.Lock()
        """Held while a take choice rewrites the timeline, so two choices do not interleave."""
        self._listeners: list[Callable[[], None]] = []

    # --- what clients see ---------------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    def status(self) -> dict[str, Any]:
        """The job status JSON (docs/service-api.md)."""
        with self.lock:
            opened = self.session.opened
            return {"id": self.id, "state": self.state, "done": self.done, "total": self.total, "label": self.label,
                    "error": self.error, "exit_code": self.exit_code,
                    "cancel_requested": self.cancel_requested.is_set(),
                    "timeline": {"path": str(opened.path), "rate": opened.rate, "start_frames": opened.start_frames},
                    "subtitles": str(opened.subtitles) if opened.subtitles else None,
                    "out": str(self.options.out), "written": list(self.written), "warnings": list(self.warnings),
                    "lines": [line.to_json() for line in self.lines.values()]}

    def events_from(self, index: int) -> list[JobEvent]:
        with self.lock:
            return self.events[index:]

    def listen(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` (from any thread) after each new event; returns the function that stops it."""
        with self.lock:
            self._listeners.append(wake)

        def stop() -> None:
            with self.lock:
                if wake in self._listeners:
                    self._listeners.remove(wake)
        return stop

    def _publish(self, kind: str, data: Mapping[str, Any]) -> None:
        """Append an event (the caller holds :attr:`lock`) and wake the streams."""
        self.events.append(JobEvent(len(self.events), kind, dict(data)))
        for wake in list(self._listeners):
            wake()

    # --- what the worker reports --------------------------------------------------------------------------------

    def start(self) -> bool:
        """Mark the job running; False when it was cancelled while queued."""
        with self.lock:
            if self.finished:
                return False
            self.state, self.label = "running", "starting"
            self._publish("progress", {"done": self.done, "total": self.total, "label": self.label})
            return True

    def on_progress(self, done: int, total: int, label: str) -> None:
        with self.lock:
            self.done, self.total, self.label = done, total, label
            self._publish("progress", {"done": done, "total": total, "label": label})

    def on_line(self, event: Progress) -> None:
        with self.lock:
            line = self.lines.get(event.line_id)
            if line is not None:
                line.state, line.message = event.state, event.message
            self._publish("line", {"line_id": event.line_id, "state": event.state, "message": event.message})

    def succeed(self, outcome: JobOutcome) -> None:
        """Record the outcome: placed takes, failures, files written; lines never reached are ``cancelled``."""
        with self.lock:
            self.warnings = list(outcome.warnings)
            self.written = [str(path) for path in outcome.written]
            for render in self.session.renders().values():  # the placed takes, the editor's picks applied
                if render.line_id in self.lines:
                    line = self.lines[render.line_id]
                    line.place(render)
                    if line.state not in ("done", "cached"):
                        line.state = "done"
            for failure in outcome.failed:
                if failure.line_id in self.lines:
                    self.lines[failure.line_id].state = "failed"
                    self.lines[failure.line_id].message = failure.reason
            cancelled = outcome.batch.cancelled
            for line in self.lines.values():
                if line.state in ("pending", "rendering") and cancelled:
                    line.state = "cancelled"
            self.state = "cancelled" if cancelled else "done"
            self.exit_code = EXIT_CANCELLED if cancelled else (1 if outcome.failed else 0)
            self.label = "cancelled; finished lines are kept" if cancelled else "finished"
            self._end()

    def fail(self, message: str, exit_code: int) -> None:
        with self.lock:
            cancelled = exit_code == EXIT_CANCELLED
            self.state = "cancelled" if cancelled else "failed"
            self.error = None if cancelled else message
            self.exit_code = exit_code
            self.label = message
            for line in self.lines.values():
                if line.state in ("pending", "rendering"):
                    line.state = "cancelled" if cancelled else "pending"
            self._end()

    def cancel(self) -> None:
        """Ask the job to stop (between syntheses, so within about a second); a queued job stops at once."""
        self.cancel_requested.set()
        with self.lock:
            if self.state == "queued":
                self.state, self.exit_code, self.label = "cancelled", EXIT_CANCELLED, "cancelled before it started"
                for line in self.lines.values():
                    line.state = "cancelled"
                self._end()

    def _end(self) -> None:
        self._publish("end", {"state": self.state, "error": self.error, "exit_code": self.exit_code})


class JobRegistry:
    """Every job of this service, and the worker thread that renders them one after another."""

    def __init__(self, *, context_factory: Callable[[str], EngineContext] | None = None) -> None:
        self.context_factory = context_factory or (lambda device: EngineContext(device=device))
        self.contexts: dict[str, EngineContext] = {}
        """One per device, kept for the service's lifetime."""
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: Queue[Job | None] = Queue()
        self._worker: threading.Thread | None = None
        self._closed = False

    def context_for(self, device: str) -> EngineContext:
        with self._lock:
            if device not in self.contexts:
                self.contexts[device] = self.context_factory(device)
            return self.contexts[device]

    def get(self, job_id: str) -> Job:
        """The job ``job_id``; RequestError 404 when there is none."""
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise RequestError(404, f"no job {job_id!r}: it never existed or the service restarted")
        return job

    def all(self) -> list[Job]:
        with self._lock:
            return list(self.jobs.values())

    def submit(self, request: JobRequest) -> Job:
        """Check ``request`` (options, files, line ids), open its timeline and queue it; RequestError if bad."""
        options = request.job_options()
        try:
            session = Session.for_job(options, context=self.context_for(options.device))
        except JobError as exc:
            missing = any(not path.exists() for path in options.inputs)
            raise RequestError(404 if missing else 400, str(exc)) from None
        unknown = sorted((options.line_ids or frozenset()) - {line.line_id for line in session.lines})
        if unknown:
            raise RequestError(400, f"no line {', '.join(unknown)} in {options.timeline.name} "
                                    f"(it has {session.lines[0].line_id}…{session.lines[-1].line_id})"
                               if session.lines else f"{options.timeline.name}: no dialogue lines")
        job = Job(secrets.token_hex(8), request, options, session)
        with self._lock:
            if self._closed:
                raise RequestError(409, "the service is stopping; start the job again once it is back")
            self.jobs[job.id] = job
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="revoice-jobs", daemon=True)
                self._worker.start()
        self._queue.put(job)
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        job.cancel()
        return job

    def choose_take(self, job_id: str, line_id: str, take: int) -> Job:
        """Place ``take`` of ``line_id`` and rewrite the job's timeline(s); RequestError 404/409/400."""
        job = self.get(job_id)
        if job.state != "done":
            raise RequestError(409, f"job {job_id} is {job.state}; choose takes once it is done")
        session = job.session
        with job.editing:
            try:
                chosen = session.choose_take(line_id, take)
                written = session.write(job.options.layout.timeline_targets(job.options.also))
            except KeyError as exc:
                raise RequestError(404, str(exc.args[0])) from None
            except (ValueError, JobError) as exc:
                raise RequestError(400, str(exc)) from None
        with job.lock:
            if line_id in job.lines:
                job.lines[line_id].place(chosen)
            job.written = [str(path) for path in written]
        return job

    def rerender(self, job_id: str, line_ids: Sequence[str], *, texts: Mapping[str, str],
                 options: Mapping[str, Any]) -> Job:
        """A new job over the same timeline and output: ``line_ids`` with ``texts``; unchanged lines are reused."""
        parent = self.get(job_id)
        if not parent.finished:
            raise RequestError(409, f"job {job_id} is {parent.state}; re-render once it has finished")
        if not line_ids:
            raise RequestError(422, "line_ids: give the lines to re-render, e.g. [\"L0003\"]")
        stray = sorted(set(texts) - set(line_ids))
        if stray:
            raise RequestError(400, f"texts for {', '.join(stray)}: add them to line_ids too")
        return self.submit(parent.request.again(line_ids, texts=texts, options=options,
                                                take_picks=parent.session.take_picks))

    def close(self, *, wait_seconds: float = 3.0) -> None:
        """Cancel every job and stop the worker (waiting up to ``wait_seconds`` for the running line)."""
        with self._lock:
            self._closed = True
            jobs, worker = list(self.jobs.values()), self._worker
        for job in jobs:
            job.cancel()
        self._queue.put(None)
        if worker is not None:
            worker.join(wait_seconds)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if job.start():
                self._run(job)

    @staticmethod
    def _run(job: Job) -> None:
        try:
            outcome = job.session.render(job.options, progress=job.on_progress, on_line=job.on_line,
                                         should_cancel=job.cancel_requested.is_set)
        except JobError as exc:
            job.fail(str(exc), exc.exit_code)
        except OSError as exc:  # a file the job could not read or write: the CLI's one line, exit 2
            job.fail(describe_os_error(exc, folder=job.options.media_dir), 2)
        except Exception as exc:  # the service outlives any one job
            traceback.print_exc(file=sys.stderr)
            job.fail(f"internal error: {type(exc).__name__}: {exc}", 1)
        else:
            job.succeed(outcome)
            job.session.context.warm()  # the editor's next one-line edit then costs one synthesis, no model load
