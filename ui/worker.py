"""Run ``revoice.job.run_job`` on a QThread and report back through queued signals.

The UI thread never renders: :class:`RenderController` owns one worker
thread per run, the worker calls ``run_job`` with ``on_line`` and
``should_cancel`` callbacks, and every callback becomes a signal, which Qt
delivers on the UI thread. Cancel sets a flag that ``run_job`` checks
between lines; WAVs and sidecars are written atomically, so a cancelled run
leaves only complete lines behind. The voice backend and, with QC on, the QC
meters are loaded on the worker thread on first need and handed back to the
window, which passes them to the next run.

With voice profiles on (``JobOptions.profiles``), ``run_job`` first builds or
reuses a profile per character on this thread (about a minute per new
character on CPU): its progress notes arrive as ``progressChanged`` labels
starting "voice profile", and cancel stops the voice matching too. The
speaker encoder profiles need is made here and handed back like the backend.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from engine.model import DialogueLine
from engine.render import Assessor, Progress
from engine.voices.base import BackendOptions, BackendUnavailable, VoiceBackend
from revoice.job import JobError, JobOptions, run_job
from ui.takes import placed_take


@dataclass(frozen=True)
class RenderRequest:
    options: JobOptions
    lines: dict[str, DialogueLine] = field(default_factory=dict)
    """The lines being rendered, by id (to find their sidecars as they finish)."""
    backend: VoiceBackend | None = None
    """A loaded backend to reuse; None loads the best fitting one for ``options.device``."""
    assessor: Assessor | None = None
    """Loaded QC meters to reuse when ``options.qc``; None loads them (seconds)."""
    match_backends: tuple[VoiceBackend, ...] | None = None
    """Loaded backends voice matching may use; None: every available one, loaded by the run when needed."""
    embedder: Any = None
    """A speaker encoder (engine.qc.similarity.SpeakerEmbedder) for the profiles; None makes one."""
    backend_cache: dict[str, VoiceBackend] | None = None
    """Backends loaded by earlier runs' voice matching, by name; this run reuses and adds to it."""


def load_voice_backend(*, device: str, language: str, name: str | None = None) -> VoiceBackend:
    """Choose and load a backend through the registry (BackendUnavailable says why not)."""
    from engine.voices.registry import choose_backend, discover_backends, load_backend

    options = BackendOptions(device=device)
    spec = choose_backend(discover_backends(), language=language, options=options, name=name)
    return load_backend(spec, options)


def speaker_encoder(*, device: str) -> Any:
    """The speaker encoder voice profiles are built with (its model loads at first use), or None if not installed."""
    try:
        from engine.qc.similarity import SpeakerSimilarity

        return SpeakerSimilarity(device=device, threads=1)
    except (ImportError, ValueError):  # run_job says what is missing (or wrong) when a profile needs it
        return None


def load_assessor(*, device: str, backend: VoiceBackend | None) -> Assessor:
    """The engine's QC meters (ASR, voice similarity, MOS), loaded now rather than at the first take.

    ``backend`` (the loaded voice) renders the voice profiles, so no second copy is loaded.
    """
    from engine.qc.assess import LineQc

    qc = LineQc(device=device, backends=(backend,) if backend is not None else ())
    qc.load()
    assessor: Assessor = qc
    return assessor


class RenderWorker(QObject):
    """Lives on the worker thread; ``run`` is started by the thread's ``started`` signal."""

    stageChanged = pyqtSignal(str)
    backendLoaded = pyqtSignal(object)
    assessorLoaded = pyqtSignal(object)
    """The loaded QC meters (an engine.render.Assessor), to reuse in later runs."""
    embedderLoaded = pyqtSignal(object)
    """The speaker encoder made for voice profiles, to reuse in later runs."""
    lineChanged = pyqtSignal(str, str, str)
    """line_id, state (rendering/failed/cancelled), message."""
    lineRendered = pyqtSignal(object)
    """A finished :class:`engine.model.RenderedLine` (rendered now or reused): the placed take, listing all."""
    progressChanged = pyqtSignal(int, int, str)
    succeeded = pyqtSignal(object)
    """The :class:`revoice.job.JobOutcome`."""
    failed = pyqtSignal(str, str)
    """Title, message (what went wrong and what to do)."""
    finished = pyqtSignal()

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
        except Exception as exc:  # the panel must survive anything a run throws
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.failed.emit("Revoice stopped unexpectedly",
                             f"{detail}\n\nFinished lines are kept and reused by the next run. "
                             "Please report this with the timeline if it happens again.")
        finally:
            self.finished.emit()
            # stop this thread's event loop from inside it: a queued quit() would wait for the UI
            # thread, which may itself be blocked in RenderController.wait() (closing the window)
            own = self.thread()
            if own is not None:
                own.quit()

    def _run(self) -> None:
        request = self.request
        backend = request.backend
        if backend is None:
            self.stageChanged.emit("Loading voice…")
            language = next(iter(request.lines.values())).language if request.lines else request.options.language
            backend = load_voice_backend(device=request.options.device, language=language,
                                         name=request.options.backend)
            self.backendLoaded.emit(backend)
        if self.cancelled:
            return
        assessor = request.assessor
        if request.options.qc and assessor is None:
            self.stageChanged.emit("Loading QC meters (speech recognition, voice similarity, MOS)…")
            try:
                assessor = load_assessor(device=request.options.device, backend=backend)
            except Exception as exc:  # missing QC extra, a model that cannot load on this device
                detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                self.failed.emit("QC meters could not load",
                                 f"{detail}\n\nTurn QC meters off in Settings (Ctrl+,) to revoice without them, "
                                 "or install Revoice's qc extra.")
                return
            self.assessorLoaded.emit(assessor)
            if self.cancelled:
                return
        embedder = request.embedder
        profiles = request.options.profiles != "off"
        if profiles and embedder is None:
            embedder = speaker_encoder(device=request.options.device)
            if embedder is not None:
                self.embedderLoaded.emit(embedder)
        self.stageChanged.emit("Preparing voices…" if profiles else "Revoicing…")
        media_dir = request.options.media_dir
        match = list(request.match_backends) if request.match_backends is not None else None
        outcome = run_job(request.options, progress=self._progress, should_cancel=self._cancel.is_set,
                          on_line=lambda event: self._on_line(event, media_dir), backend=backend,
                          assessor=assessor if request.options.qc else None, match_backends=match,
                          embedder=embedder, backend_cache=request.backend_cache)
        self.succeeded.emit(outcome)

    def _progress(self, done: int, total: int, label: str) -> None:
        self.progressChanged.emit(done, total, label)

    def _on_line(self, event: Progress, media_dir: Path) -> None:
        if event.state in ("done", "cached"):
            line = self.request.lines.get(event.line_id)
            options = self.request.options
            render = placed_take(media_dir, line, options.takes, options.take_overrides.get(event.line_id)) \
                if line is not None else None
            if render is not None:
                self.lineRendered.emit(render)
                return
        self.lineChanged.emit(event.line_id, event.state, event.message)


class RenderController(QObject):
    """Starts one run at a time on its own QThread and relays the worker's signals."""

    stageChanged = pyqtSignal(str)
    backendLoaded = pyqtSignal(object)
    assessorLoaded = pyqtSignal(object)
    embedderLoaded = pyqtSignal(object)
    lineChanged = pyqtSignal(str, str, str)
    lineRendered = pyqtSignal(object)
    progressChanged = pyqtSignal(int, int, str)
    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str, str)
    finished = pyqtSignal()
    """Emitted last, on the UI thread, once the worker thread has stopped."""

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
        worker.stageChanged.connect(self.stageChanged)
        worker.backendLoaded.connect(self.backendLoaded)
        worker.assessorLoaded.connect(self.assessorLoaded)
        worker.embedderLoaded.connect(self.embedderLoaded)
        worker.lineChanged.connect(self.lineChanged)
        worker.lineRendered.connect(self.lineRendered)
        worker.progressChanged.connect(self.progressChanged)
        worker.succeeded.connect(self.succeeded)
        worker.failed.connect(self.failed)
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
