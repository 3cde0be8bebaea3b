"""What the panel does with its widgets: the open project, the render flow, takes and export.

:class:`PanelController` is the window's behaviour over :class:`~revoice.ui.window_layout.WindowLayout`,
built on :class:`~revoice.ui.emotion_controller.EmotionController` (the lines'
emotions, A/B against neutral, job files) over
:class:`~revoice.ui.voices_controller.VoicesController` (the characters'
voices, the docks, strength and consent): it opens a timeline as a
:class:`revoice.session.Session` (:mod:`revoice.ui.project`), renders the
selected lines through it on a worker thread (:mod:`revoice.ui.worker`), places
takes and exports. What runs load (voice, QC meters, speaker encoder, the
backends voice matching uses) lives in one :class:`revoice.context.EngineContext`,
:attr:`PanelController.context`, kept between runs and projects; a new device
starts a new one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QInputDialog, QWidget
from revoice.engine.model import RenderedLine
from revoice.engine.render import Assessor
from revoice.engine.speaker import SpeakerEmbedder
from revoice.engine.voices.base import VoiceBackend
from revoice.ui.emotion_controller import EmotionController
from revoice.ui.lines_model import DONE, FAILED, FLAGGED, PENDING, RENDERING, LineRow
from revoice.ui.project import (
    Project,
    default_out,
    export_timeline,
    find_renders,
    load_panel_state,
    load_project,
)
from revoice.ui.settings import PanelSettings, RecentEntry, load_settings, save_settings
from revoice.ui.worker import RenderController, RenderRequest, run_summary

from revoice.context import EngineContext
from revoice.options import JobError
from revoice.outcome import JobOutcome
from revoice.takes import takes_of, with_take


class PanelController(EmotionController):
    """Open a timeline, revoice lines off the UI thread, place takes, export; keeps the loaded models."""

    projectLoaded = pyqtSignal()
    runStarted = pyqtSignal()
    runFinished = pyqtSignal(object)
    """The JobOutcome, or None when the run failed before rendering."""

    def __init__(self, *, backend: VoiceBackend | None = None, context: EngineContext | None = None,
                 work_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings: PanelSettings = load_settings()
        self.context = context if context is not None else EngineContext(device=self.settings.device, voice=backend)
        """What runs load (voice, QC meters, speaker encoder, matching backends), kept between runs."""
        self.work_dir = work_dir
        self.project: Project | None = None
        self.take_picks: dict[str, int] = {}
        """The editor's take per line id (this project's; saved in its panel state)."""
        self.last_outcome: JobOutcome | None = None
        self.last_export_warnings: list[str] = []
        self._pending_error: tuple[str, str] | None = None
        self.controller = RenderController(self)
        self._connect_views()

    def _connect_views(self) -> None:
        self.filter_edit.textChanged.connect(self._on_filter)
        selection = self.table.selectionModel()
        assert selection is not None
        selection.selectionChanged.connect(lambda *_: self._on_selection_changed())
        selection.currentRowChanged.connect(lambda current, _previous: self._show_preview(current))
        self.model.textEdited.connect(self._on_text_edited)
        self.preview.takeChosen.connect(lambda line_id, take: self.choose_take(line_id, take))
        c = self.controller
        c.stageChanged.connect(self._set_status)
        c.voiceLoaded.connect(self._on_voice_loaded)
        c.lineChanged.connect(self._on_line_changed)
        c.lineRendered.connect(self._on_line_rendered)
        c.progressChanged.connect(self._on_progress)
        c.succeeded.connect(self._on_succeeded)
        c.failed.connect(self._on_failed)
        c.finished.connect(self._on_finished)

    # ================================================================================================ models
    @property
    def assessor(self) -> Assessor | None:
        """The loaded QC meters (the context's); None until a run with QC on loads them."""
        return self.context.assessor

    @property
    def embedder(self) -> SpeakerEmbedder | None:
        """The speaker encoder voice profiles are built with (the context's); made by the first run needing it."""
        return self.context.embedder

    @embedder.setter
    def embedder(self, embedder: SpeakerEmbedder | None) -> None:
        self.context.embedder = embedder

    def _new_context(self, device: str) -> None:
        """Forget every loaded model: the next run loads them again on ``device``."""
        backends = self._matching.backends
        self.context = EngineContext(device=device, match_backends=backends)
        if self.project is not None:
            self.project.session.context = self.context
        self._forget_backend()

    # ================================================================================================ opening
    def open_files(self, timeline: Path, subtitles: Path | None = None, *, rate: float | None = None,
                   out_dir: Path | None = None, out: Path | None = None) -> bool:
        """Read ``timeline`` (+ ``subtitles``); on failure show what to fix and keep what was open.

        Renders go beside ``out`` (a job file's), else ``<stem>_revoiced.otio`` in ``out_dir`` or the work folder.
        """
        if self.controller.running:
            self.show_error("A render is running", "Wait for it to finish or cancel it before opening "
                            "another timeline.")
            return False
        if timeline.suffix.lower() == ".edl" and rate is None:
            value, ok = QInputDialog.getDouble(self, "EDL frame rate",
                                               f"{timeline.name} does not store its frame rate.\nFrame rate:",
                                               24.0, 1.0, 120.0, 3)
            if not ok:
                return False
            rate = value
        out = out or default_out(timeline, out_dir or self.work_dir)
        try:
            project = load_project(timeline, subtitles, out, rate=rate, context=self.context)
        except JobError as exc:
            problem = exc.input_error
            if problem is None:
                self.show_error("Cannot open the timeline", str(exc))
            else:
                self.show_input_error("Cannot open the timeline" if problem.path == timeline
                                      else "Cannot read the subtitles", problem)
            return False
        except (OSError, ValueError) as exc:
            self.show_error("Cannot open the timeline", f"{timeline}: {exc}")
            return False
        self._set_project(project)
        self.settings = replace(self.settings.with_recent(RecentEntry(timeline, subtitles)),
                                last_dir=str(timeline.parent))
        save_settings(self.settings)
        return True

    def _set_project(self, project: Project) -> None:
        self.player.stop()
        self.project = project
        self.profile_statuses = {}
        state = load_panel_state(project)
        edits = state.text_edits
        self.take_picks = dict(state.take_picks)
        self.duration_overrides, self.ab_renders = {}, {}
        rows = [LineRow(line=line, timecode_in=project.timecode(line.record.start),
                        timecode_out=project.timecode(line.record.end), text=edits.get(line.line_id, line.text),
                        emotion=state.emotions.get(line.line_id))
                for line in project.lines]
        self.model.run_emotion = None
        self.model.set_rows(rows)
        self._refresh_renders()
        self.pages.setCurrentIndex(1)
        self.preview.setVisible(True)
        subs = f" + {project.subtitles.name}" if project.subtitles else " (markers)"
        self.setWindowTitle(f"Revoice — {project.timeline_path.name}{subs}")
        self._refresh_characters()
        notes = [f"{len(project.lines)} lines from {project.timeline_path.name}{subs}"]
        if project.skipped:
            notes.append(f"{len(project.skipped)} skipped")
        if project.warnings:
            notes.append(f"{len(project.warnings)} warning(s) — hover for details")
        self._set_status(" · ".join(notes), tip="\n".join(
            [f"Skipped {s.origin}: {s.reason}" for s in project.skipped] + project.warnings))
        if self.proxy.rowCount() > 0:
            self.table.selectRow(0)
            self.table.setFocus()
        else:
            self.preview.show_row(None)
        self._update_actions()
        self.projectLoaded.emit()

    def _refresh_renders(self) -> None:
        """Statuses from the sidecars on disk (after loading or changing settings)."""
        project = self.project
        if project is None:
            return
        entries = self.current_voices()
        renders = find_renders(project, self.model.texts(), voice=self.backend, settings=self.settings,
                               voices=self._job_voices(), picks=self.take_picks,
                               profiles=[e.profile for e in entries if e.profile is not None],
                               emotions=self.model.emotions(), durations=self.duration_overrides,
                               run_emotion=self.model.run_emotion)
        self.ab_renders = {}  # B was rendered under the settings, voices and texts of before
        for row in self.model.rows:
            render = renders.get(row.line_id)
            if render is not None:
                self.model.set_render(self._consent_checked(render))
            elif row.status != FAILED:
                self.model.set_status(row.line_id, PENDING)
        self._update_take_columns(takes_expected=self.settings.takes > 1 or self.settings.qc)

    def _on_selection_changed(self) -> None:
        count = len(self.selected_line_ids())
        self.selection_info.setText(f"{self.model.rowCount()} lines · {count} selected")
        self._update_actions()

    def _on_filter(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self._on_selection_changed()

    def _on_text_edited(self, line_id: str, text: str) -> None:
        if self.project is None:
            return
        self.take_picks.pop(line_id, None)  # the new text gets new takes
        self.ab_renders.pop(line_id, None)
        problem = self._save_state()
        if problem:
            self._set_status(f"Could not save the edit of {line_id} ({problem}); it is kept in this session")
        else:
            self._set_status(f"{line_id} edited; revoice it to hear the new text")
        self._refresh_preview_if(line_id)

    # ================================================================================================ rendering
    def revoice_selection(self) -> bool:
        """Start rendering the selected lines on the worker thread (False when nothing started)."""
        return self.revoice_lines(self.selected_line_ids())

    def revoice_lines(self, ids: list[str]) -> bool:
        """Start rendering ``ids`` on the worker thread (False when nothing started)."""
        if self.controller.running or self.project is None:
            return False
        if not ids:
            self._set_status("Select the lines to revoice first (Ctrl+A selects all)")
            return False
        try:
            options = self.job_options(ids)
        except (ValueError, OSError) as exc:
            self.show_error("Cannot start the render", str(exc))
            return False
        wanted = set(ids)
        lines = {row.line_id: row.line for row in self.model.rows if row.line_id in wanted}
        self._pending_error = None
        self.last_outcome = None
        self.model.set_editable(False)
        self.progress.setRange(0, len(ids))
        self.progress.setValue(0)
        self.progress.setFormat(f"0 / {len(ids)}")
        self.progress.setVisible(True)
        self._set_status("Loading voice…" if self.backend is None else f"Revoicing {len(ids)} line(s)…")
        self.controller.start(RenderRequest(session=self.project.session, options=options, lines=lines))
        self._update_actions()
        self.runStarted.emit()
        return True

    def cancel_render(self) -> None:
        if not self.controller.running:
            return
        self.controller.cancel()
        self._set_status("Cancelling after the current line… finished lines are kept")
        self._update_actions()

    def _on_voice_loaded(self) -> None:
        self._forget_backend()
        self._refresh_characters()

    def _on_line_changed(self, line_id: str, state: str, message: str) -> None:
        if self.ab_running:
            self._ab_line_changed(line_id, state, message)
        elif state == "rendering":
            self.model.set_status(line_id, RENDERING)
            row = self.model.row(line_id)
            self._set_status(f"Revoicing {line_id} · {row.line.speaker if row else ''}")
        elif state == "failed":
            self.model.set_status(line_id, FAILED, message)
            self._refresh_preview_if(line_id)

    def _on_line_rendered(self, render: object) -> None:
        if self.ab_running:
            self._ab_line_rendered(render)
        elif isinstance(render, RenderedLine):
            pick = self.take_picks.get(render.line_id)
            if pick is not None and pick != render.take:  # picked while this run was under way
                render = with_take(render, pick) or render
            render = self._consent_checked(render)
            self.model.set_render(render)
            self._update_take_columns(render)
            self._refresh_preview_if(render.line_id)

    def _on_progress(self, done: int, total: int, label: str) -> None:
        if label.startswith("voice profile"):  # the session building or reusing a character's profile
            self.progress.setRange(0, 0)  # busy: matching a voice has no line count
            self._set_status(f"Preparing {label} — a new profile takes about a minute on CPU; "
                             "Cancel (Ctrl+.) stops it")
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")

    def _on_succeeded(self, outcome: object) -> None:
        if self.ab_running:
            self._ab_succeeded(outcome)
            return
        if not isinstance(outcome, JobOutcome):
            return
        self.last_outcome = outcome
        self.profile_statuses.update({str(row["name"]): str(row["status"]) for row in outcome.profiles})
        for failure in outcome.failed:
            self.model.set_status(failure.line_id, FAILED, failure.reason)
        placed = [self.model.row(r.line_id) for r in outcome.batch.rendered]  # with the editor's take picks
        flagged = sum(1 for row in placed if row is not None and row.status == FLAGGED)
        self._set_status(run_summary(outcome, flagged), tip="\n".join(outcome.warnings))

    def _on_failed(self, title: str, message: str) -> None:
        self._pending_error = (title, message)

    def _on_finished(self) -> None:
        if self.ab_running:
            self._ab_finished()
            return
        for row in self.model.rows:
            if row.status == RENDERING:
                self.model.set_status(row.line_id, PENDING)
        self.model.set_editable(True)
        self._refresh_characters()  # profiles may have been built, rebuilt or tuned
        self._update_actions()
        outcome = self.last_outcome if self._pending_error is None else None
        error, self._pending_error = self._pending_error, None
        if error is not None:
            self._set_status(error[0])
        self.runFinished.emit(outcome)
        if error is not None:
            self._ab_waiting = None
            self.show_error(*error)
        self._ab_after_run()

    # ================================================================================================ takes, export
    def choose_take(self, line_id: str, take: int) -> bool:
        """Place ``take`` of the line (from its sidecars, no re-render); Export and later runs keep it."""
        row = self.model.row(line_id)
        if row is None or row.render is None or self.project is None:
            return False
        if take == row.render.take and line_id in self.take_picks:
            return True
        chosen = with_take(row.render, take)
        if chosen is None:
            self._set_status(f"{line_id}: take {take} is not on disk any more; revoice the line to render it again")
            self._refresh_preview_if(line_id)
            return False
        self.take_picks[line_id] = take
        problem = self._save_state()
        note = f"could not save the pick ({problem}); it is kept in this session" if problem else "Export writes it"
        self.player.stop()
        self.model.set_render(self._consent_checked(chosen))
        self._refresh_preview_if(line_id)
        self._update_actions()
        self._set_status(f"{line_id}: take {take} of {len(takes_of(chosen))} placed (nothing re-rendered); {note}")
        return True

    def step_take(self, step: int) -> None:
        if not self.preview.step_take(step):
            self._set_status("Only one take: set Takes per line in Settings (Ctrl+,) and revoice")

    def renders(self) -> dict[str, RenderedLine]:
        return {row.line_id: row.render for row in self.model.rows
                if row.render is not None and row.status in (DONE, FLAGGED)}

    def export_to(self, target: Path) -> bool:
        """Write the timeline with its Revoice tracks to ``target`` (.otio, .otioz or .xml)."""
        if self.project is None:
            return False
        try:
            self.last_export_warnings = export_timeline(self.project, target, self.renders(), self.model.texts(),
                                                        self.take_picks)
        except JobError as exc:
            problem = exc.input_error
            if problem is None:
                self.show_error("Cannot export the timeline", str(exc))
            else:
                self.show_input_error("Cannot export the timeline", problem)
            return False
        except (ValueError, OSError) as exc:
            self.show_error("Cannot export the timeline", f"{target}: {exc}")
            return False
        note = f" ({len(self.last_export_warnings)} warning(s))" if self.last_export_warnings else ""
        self._set_status(f"Exported {len(self.renders())} revoiced line(s) to {target}{note}",
                         tip="\n".join(self.last_export_warnings))
        return True

    # ================================================================================================ actions
    def _update_actions(self) -> None:
        running = self.controller.running
        loaded = self.project is not None
        has_selection = loaded and bool(self.selected_line_ids())
        has_renders = any(row.render is not None for row in self.model.rows)
        self.action_revoice.setEnabled(loaded and has_selection and not running)
        self.action_cancel.setEnabled(running and not self.controller.cancelling)
        self.action_export.setEnabled(loaded and has_renders)
        qc = self.project.qc_report_path if self.project else None
        self.action_qc.setEnabled(bool(qc and qc.exists() and has_renders))
        for action in (self.action_open, self.action_open_subs, self.action_demo, self.action_settings,
                       self.action_open_job):
            action.setEnabled(not running)
        self.action_save_job.setEnabled(loaded)
        self._show_line_emotion()
        self.voices.set_editable(not running)
        self.select_flagged_button.setEnabled(any(row.status == FLAGGED for row in self.model.rows))
        for action in (self.action_play, self.action_prev_take, self.action_next_take):
            action.setEnabled(loaded)

