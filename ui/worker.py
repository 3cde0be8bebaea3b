"""Render a selection through the panel's :class:`revoice.session.Session` on a QThread.

The UI thread never renders: :class:`RenderController` owns one worker
thread per run, the worker calls :meth:`Session.render` with ``on_line`` and
``should_cancel`` callbacks, and every callback becomes a signal, which Qt
delivers on the UI thread. Cancel sets a flag the session checks between
lines; WAVs and sidecars are written atomically, so a cancelled run leaves
only complete lines behind.

What a run loads lives in the session's :class:`revoice.context.EngineContext`,
which the window keeps between runs: the voice is loaded here on first need
("Loading voice…", then ``voiceLoaded``), and with QC on so are the meters
("Loading QC meters…"), so a model that cannot load is reported before any
line is rendered; the speaker encoder and the backends voice matching needs
load inside the run and stay in the context too.

With voice profiles on (``JobOptions.profiles``), the run first builds or
reuses a profile per character on this thread (about a minute per new
character on CPU): its progress notes arrive as ``progressChanged`` labels
starting "voice profile", and cancel stops the voice matching too.

The QC report is written by the one writer, :meth:`Session.write_report`:
inside the run with QC on, and after it otherwise (stored numbers only), so
the panel's QC Report always opens the full report of the latest run.
:func:`run_summary` is the status line the window shows for a finished run.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field

from PyQt6.QtCore import QObject, QThread, pyqtSignal, pyqtSlot
from revoice.engine.model import DialogueLine
from revoice.engine.render import Assessor, Progress
from revoice.engine.voices.base import BackendOptions, BackendUnavailable, VoiceBackend

from revoice.options import JobError, JobOptions, describe_os_error
from revoice.outcome import JobOutcome
from revoice.session import Session
from revoice.takes import placed_take


@dataclass(frozen=True)
class RenderRequest:
    session: Session
    """The open timeline; its ``context`` holds (and keeps) what the run loads."""
    options: JobOptions
    lines: dict[str, DialogueLine] = field(default_factory=dict)
    """The lines being rendered, by id (to find their sidecars as they finish)."""


def load_voice_backend(*, device: str, language: str, name: str | None = None) -> VoiceBackend:
    """Choose and load a backend through the registry (BackendUnavailable says why not)."""
    from revoice.engine.voices.registry import choose_backend, discover_backends, load_backend

    options = BackendOptions(device=device)
    spec = choose_backend(discover_backends(), language=language, options=options, name=name)
    return load_backend(spec, options)


def load_assessor(*, device: str, backend: VoiceBackend | None) -> Assessor:
    """The engine's QC meters (ASR, voice similarity, MOS), loaded now rather than at the first take.

    ``backend`` (the loaded voice) renders the voice profiles, so no second copy is loaded.
    """
    from revoice.engine.qc.assess import LineQc

    qc = LineQc(device=device, backends=(backend,) if backend is not None else ())
    qc.load()
    assessor: Assessor = qc
    return assessor


def _exception_line(exc: BaseException) -> str:
    """``exc`` as Python prints its last line (``ValueError: ...``)."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class RunSignals(QObject):
    """The signals of a run: the worker emits them on its thread, the controller relays them to the UI thread."""

    RELAYED = ("stageChanged", "voiceLoaded", "lineChanged", "lineRendered", "progressChanged", "succeeded", "failed")
    """What the controller passes on as it is (its ``finished`` waits for the thread to stop)."""

    stageChanged = pyqtSignal(str)
    voiceLoaded = pyqtSignal()
    """The session's context has a voice now (the window shows its name, licence and voices)."""
    lineChanged = pyqtSignal(str, str, str)
    """line_id, state (rendering/failed/cancelled), message."""
    lineRendered = pyqtSignal(object)
    """A finished :class:`revoice.engine.model.RenderedLine` (rendered now or reused): the placed take, listing all."""
    progressChanged = pyqtSignal(int, int, str)
    succeeded = pyqtSignal(object)
    """The :class:`revoice.outcome.JobOutcome`."""
    failed = pyqtSignal(str, str)
    """Title, message (what went wrong and what to do)."""
    finished = pyqtSignal()
    """The worker's run is over; the controller's, emitted on the UI thread once the worker thread has stopped."""


class RenderWorker(RunSignals):
    """Lives on the worker thread; ``run`` is started by the thread's ``started`` signal."""

    def __init__(self, request: RenderRequest) -> None:
        super().__init__()
        self.request = request
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Thread-safe: ask the run to stop before its next line."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @pyqtSlot()
    def run(self) -> None:
        try:
            self._run()
        except JobError as exc:
            if self.cancelled and exc.exit_code == 130:  # cancelled while matching voices: not an error
                self.stageChanged.emit("Cancelled while matching voices; nothing was rendered "
                                       "(profiles already built are kept)")
            else:
                self.failed.emit("Revoice could not run", str(exc))
        except BackendUnavailable as exc:
            self.failed.emit("No voice available", str(exc))
        except OSError as exc:  # a file the run could not read or write: the CLI's one line
            self.failed.emit("Revoice could not write its files",
                             f"{describe_os_error(exc, folder=self.request.options.media_dir)}")
        except Exception as exc:  # the panel must survive anything a run throws
            self.failed.emit("Revoice stopped unexpectedly",
                             f"{_exception_line(exc)}\n\nFinished lines are kept and reused by the next run. "
                             "Please report this with the timeline if it happens again.")
        finally:
            self.finished.emit()
            # stop this thread's event loop from inside it: a queued quit() would wait for the UI
            # thread, which may itself be blocked in RenderController.wait() (closing the window)
            own = self.thread()
            if own is not None:
                own.quit()

    def _run(self) -> None:
        if not self._load_voice() or not self._load_meters():
            return
        session, options = self.request.session, self.request.options
        self.stageChanged.emit("Preparing voices…" if options.profiles != "off" else "Revoicing…")
        outcome = session.render(options, progress=self._progress, should_cancel=self._cancel.is_set,
                                 on_line=self._on_line)
        if outcome.written and not options.qc:  # with QC on the run wrote the report with the timeline
            self._write_report(outcome)
        self.succeeded.emit(outcome)
        if not self.cancelled:  # every line was on disk: load the voices now, so the next edit costs one synthesis
            session.context.warm()

    def _load_voice(self) -> bool:
        """Load the voice into the context on first need; False when cancelled meanwhile."""
        context, options, lines = self.request.session.context, self.request.options, self.request.lines
        if context.voice is None:
            self.stageChanged.emit("Loading voice…")
            language = next(iter(lines.values())).language if lines else options.language
            context.voice = load_voice_backend(device=options.device, language=language, name=options.backend)
            self.voiceLoaded.emit()
        return not self.cancelled

    def _load_meters(self) -> bool:
        """With QC on, load the meters into the context on first need; False when they cannot load or cancelled."""
        context, options = self.request.session.context, self.request.options
        if not options.qc or context.assessor is not None:
            return True
        self.stageChanged.emit("Loading QC meters (speech recognition, voice similarity, MOS)…")
        try:
            context.assessor = load_assessor(device=options.device, backend=context.voice)
        except Exception as exc:  # missing QC extra, a model that cannot load on this device
            self.failed.emit("QC meters could not load",
                             f"{_exception_line(exc)}\n\nTurn QC meters off in Settings (Ctrl+,) to revoice without them, "
                             "or install Revoice's qc extra.")
            return False
        return not self.cancelled

    def _write_report(self, outcome: JobOutcome) -> None:
        """The full QC report of the timeline just written, with the numbers stored at render time."""
        self.stageChanged.emit("Writing the QC report…")
        try:
            outcome.written += self.request.session.write_report()
        except JobError as exc:  # the render is done and kept; only the report is missing
            outcome.warnings.append(str(exc))

    def _progress(self, done: int, total: int, label: str) -> None:
        self.progressChanged.emit(done, total, label)

    def _on_line(self, event: Progress) -> None:
        if event.state in ("done", "cached"):
            line = self.request.lines.get(event.line_id)
            options = self.request.options
            render = placed_take(options.media_dir, line, options.takes, options.take_overrides.get(event.line_id)) \
                if line is not None else None
            if render is not None:
                self.lineRendered.emit(render)
                return
        self.lineChanged.emit(event.line_id, event.state, event.message)


class RenderController(RunSignals):
    """Starts one run at a time on its own QThread and relays the worker's signals."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: RenderWorker | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def cancelling(self) -> bool:
        return self._worker is not None and self._worker.cancelled

    def start(self, request: RenderRequest) -> None:
        if self.running:
            raise RuntimeError("a run is already in progress")
        thread = QThread()
        thread.setObjectName("revoice-render")
        worker = RenderWorker(request)
        worker.moveToThread(thread)
        for name in RunSignals.RELAYED:
            getattr(worker, name).connect(getattr(self, name))
        thread.started.connect(worker.run)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the worker thread has stopped (used when the window closes)."""
        if self._thread is None:
            return True
        return bool(self._thread.wait(msecs))

    def _on_thread_finished(self) -> None:
        thread, worker = self._thread, self._worker
        self._thread, self._worker = None, None
        if worker is not None:
            worker.deleteLater()
        if thread is not None:
            thread.deleteLater()
        self.finished.emit()


def run_summary(outcome: JobOutcome, flagged: int) -> str:
    """One status line for a finished run: revoiced, reused, failed, ``flagged``, voices, seconds, warnings."""
    batch = outcome.batch
    parts = [f"{len(batch.rendered) - batch.cached} revoiced", f"{batch.cached} unchanged (reused)"]
    if batch.failed:
        parts.append(f"{len(batch.failed)} failed — hover the status for why")
    options = outcome.options
    if options.takes > 1 or options.qc:
        parts[0] += (f" ({options.takes} take{'s' if options.takes > 1 else ''} each"
                     f"{', QC metered' if options.qc else ''})")
    if flagged:
        parts.append(f"{flagged} flagged (N / P to step through)")
    if outcome.profiles:
        parts.append("voices: " + ", ".join(f"{row['name']} {row['kind']}" for row in outcome.profiles))
    prefix = "Cancelled: finished lines kept · " if batch.cancelled else ""
    return (prefix + " · ".join(parts) + f" in {batch.seconds:.1f} s"
            + (f" · {len(outcome.warnings)} warning(s) — hover for details" if outcome.warnings else ""))
