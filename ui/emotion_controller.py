"""What the editor asks of each line, and the job a run gets: emotions, A/B against neutral, job files.

:class:`EmotionController` sits between
:class:`~revoice.ui.voices_controller.VoicesController` and
:class:`~revoice.ui.controller.PanelController`. :meth:`~EmotionController.job_options`
is the run's job under the panel's settings with the editor's text edits,
emotions, durations and take picks, and :meth:`~EmotionController._save_state`
keeps them in the panel state file. It records the editor's emotion per
line in the lines model (:meth:`LinesModel.emotions`, the run's
``emotion_overrides``), keeps the preview's
:class:`~revoice.ui.emotion.EmotionEditor` in step with the current line,
and opens and saves job files (:mod:`revoice.jobfile`).

**A/B against neutral.** The line's placed take is A (its emotion). B is the
same line rendered with ``Emotion()`` (source ``panel A/B``) through the same
worker, by a second :class:`revoice.session.Session` over the same opened
timeline and engine context whose output is :attr:`Project.ab_out`, a folder
inside the media folder: B's WAV and sidecar never share a name with the
placed take's, B is never put into the lines model, never placed and never
exported, and a second A/B of an unchanged line reuses B from its sidecar.
When the line has no current render, A is rendered first (the ordinary run
of that line), then B.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QTimer, pyqtSignal
from PyQt6.QtWidgets import QFileDialog, QWidget
from revoice.engine.emotion.labels import Emotion
from revoice.engine.model import LineDuration, RenderedLine
from revoice.otio_bridge.errors import InputError
from revoice.ui.emotion import (
    AB_SOURCE,
    effective_emotion,
    emotion_words,
    has_original,
    source_note,
)
from revoice.ui.lines_model import Column
from revoice.ui.project import render_settings, save_panel_state
from revoice.ui.voices_controller import VoicesController
from revoice.ui.worker import RenderRequest

from revoice.options import JobError, JobOptions
from revoice.outcome import JobOutcome
from revoice.session import Session

JOB_FILTER = "Revoice jobs (*.yaml *.yml *.json);;All files (*)"


class EmotionController(VoicesController):
    """The lines' emotions (the preview's control), A/B against neutral, and opening / saving job files.

    Opening and rendering are the subclass's (:meth:`open_files`, :meth:`revoice_lines`).
    """

    _pending_error: tuple[str, str] | None
    take_picks: dict[str, int]

    abFinished = pyqtSignal(str, bool)
    """line_id, whether B (the neutral variant) is ready to play."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.duration_overrides: dict[str, LineDuration] = {}
        """Duration mode by line id, from an opened job file (the panel has no control for it)."""
        self.ab_renders: dict[str, RenderedLine] = {}
        """B of each compared line: its neutral render, kept apart from the placed take."""
        self._ab_line: str | None = None
        """The line whose B is rendering now."""
        self._ab_waiting: str | None = None
        """The line whose A is rendering now, B to follow."""
        editor = self.preview.emotion
        editor.emotionChosen.connect(lambda emotion: self.set_emotion(self._emotion_targets(), emotion))
        editor.resetRequested.connect(lambda: self.set_emotion(self._emotion_targets(), None))
        editor.abRequested.connect(lambda: self.compare_with_neutral())
        editor.playA.connect(lambda: self.preview.play_revoiced())
        editor.playB.connect(self._play_b)
        self.action_open_job.triggered.connect(lambda _checked=False: self.open_job_dialog())
        self.action_save_job.triggered.connect(lambda _checked=False: self.save_job_dialog())

    # --- the subclass's ---------------------------------------------------------------------------------------
    def revoice_lines(self, line_ids: list[str]) -> bool:
        """Start the ordinary render of ``line_ids`` (False when nothing started)."""
        raise NotImplementedError

    def open_files(self, timeline: Path, subtitles: Path | None = None, *, rate: float | None = None,
                   out_dir: Path | None = None, out: Path | None = None) -> bool:
        raise NotImplementedError

    # ================================================================================================ the run's job
    def _save_state(self) -> str:
        """Save the text edits, take picks and emotions beside the work files; "" or why it failed."""
        if self.project is None:
            return ""
        try:
            save_panel_state(self.project, self.model.texts(), self.take_picks, self.model.emotions())
        except OSError as exc:
            return str(exc)
        return ""

    def job_kwargs(self, line_ids: list[str]) -> dict[str, Any]:
        """The JobOptions fields of a run of ``line_ids`` under the panel's settings, edits, emotions and picks."""
        project = self.project
        assert project is not None
        texts = self.model.texts()
        edits = {line.line_id: texts[line.line_id] for line in project.lines
                 if texts.get(line.line_id, line.text) != line.text}
        return {
            "rate": project.edit_rate, "device": self.settings.device, "speaker_voices": self._job_voices(),
            "settings": render_settings(self.settings, emotion=self.model.run_emotion),
            "line_ids": frozenset(line_ids), "backend": self.backend.spec.name if self.backend is not None else None,
            "takes": self.settings.takes, "qc": self.settings.qc, "take_overrides": dict(self.take_picks),
            "text_overrides": edits, "emotion_overrides": self.model.emotions(),
            "duration_overrides": dict(self.duration_overrides),
            "profiles": "auto" if self.settings.voice_profiles else "off", "commercial": self.settings.commercial,
            "convert": self.settings.convert or None,
            "match_voices": self._matching.voices, "match_sentences": self._matching.sentences}

    def job_options(self, line_ids: list[str]) -> JobOptions:
        """The session's job for ``line_ids`` under the panel's settings, edits and take picks (ValueError)."""
        assert self.project is not None
        return self.project.session.options(**self.job_kwargs(line_ids))

    # ================================================================================================ emotions
    def _emotion_targets(self) -> list[str]:
        """The lines the control applies to: the selection, else the line shown."""
        ids = self.selected_line_ids()
        if not ids and self.preview.row is not None:
            ids = [self.preview.row.line_id]
        return ids

    def set_emotion(self, line_ids: list[str], emotion: Emotion | None) -> int:
        """Give ``line_ids`` the editor's ``emotion`` (None: back to their own); how many changed.

        A line whose sound this changes becomes pending (its take pick and its A/B are dropped).
        """
        if self.project is None or self.controller.running:
            return 0
        run = self.model.run_emotion
        changed = []
        for line_id in line_ids:
            row = self.model.row(line_id)
            if row is None or row.emotion == emotion:
                continue
            before = effective_emotion(row.line, row.emotion, run).sound_key()
            stale = effective_emotion(row.line, emotion, run).sound_key() != before
            self.model.set_emotion(line_id, emotion, stale=stale)
            if stale:
                self.take_picks.pop(line_id, None)
                self.ab_renders.pop(line_id, None)
            changed.append(line_id)
        if not changed:
            self._show_line_emotion()
            return 0
        problem = self._save_state()
        shown = self.preview.row
        if shown is not None and shown.line_id in changed:
            self._refresh_preview_if(shown.line_id)
        self._show_line_emotion()
        self._update_actions()
        first = self.model.row(changed[0])
        what = (f"emotion {emotion_words(emotion)}" if emotion is not None else
                f"back to {self.model.emotion_text(first) if first is not None else 'its own emotion'}")
        where = changed[0] if len(changed) == 1 else f"{len(changed)} lines"
        note = f" (could not save it: {problem}; kept in this session)" if problem else ""
        self._set_status(f"{where}: {what}; revoice to hear it{note}")
        return len(changed)

    def _show_line_emotion(self) -> None:
        """Fill the preview's emotion control from the line shown (and how many lines it applies to)."""
        editor = self.preview.emotion
        row = self.preview.row
        if row is None or self.project is None:
            editor.show_emotion(None)
            editor.set_ab(can_compare=False, a_ready=False, b_ready=False)
            return
        run = self.model.run_emotion
        emotion = effective_emotion(row.line, row.emotion, run)
        note = source_note(row.line, row.emotion, run)
        count = len(self.selected_line_ids())
        if count > 1:
            note = f"Applies to the {count} selected lines. " + note
        if not has_original(row.line) and "no original audio" not in note:
            note += " (no original audio under this line: Original take renders neutral)"
        running = self.controller.running
        editor.show_emotion(emotion, note=note, edited=row.emotion is not None)
        editor.setEnabled(not running)
        b = self.ab_renders.get(row.line_id)
        editor.set_ab(can_compare=not running and emotion.sound_key() != {"method": "neutral"},
                      a_ready=self.preview.revoiced_path is not None, b_ready=b is not None and b.path.exists())
        if b is not None and row.render is not None and not running:
            editor.note.setText(editor.note.text() + _ab_note(row.render, emotion))

    def _play_b(self) -> bool:
        row = self.preview.row
        b = self.ab_renders.get(row.line_id) if row is not None else None
        return b is not None and self.preview.play_neutral(b.path)

    # ================================================================================================ A/B
    def compare_with_neutral(self, line_id: str | None = None) -> bool:
        """A/B the line (default: the one shown) against neutral: render A if needed, then B (False: not started)."""
        row = self.model.row(line_id) if line_id is not None else self.preview.row
        if self.project is None or row is None or self.controller.running:
            return False
        emotion = effective_emotion(row.line, row.emotion, self.model.run_emotion)
        if emotion.sound_key() == {"method": "neutral"}:
            self._set_status(f"{row.line_id} is neutral already: choose an emotion to compare it with neutral")
            return False
        if row.render is not None:
            return self._start_neutral(row.line_id)
        self._ab_waiting = row.line_id
        if not self.revoice_lines([row.line_id]):
            self._ab_waiting = None
            return False
        self._set_status(f"A/B {row.line_id}: rendering A ({emotion_words(emotion)}) first, then B (neutral)…")
        return True

    def _start_neutral(self, line_id: str) -> bool:
        """Render B: the line neutral, by the A/B session into :attr:`Project.ab_out` (never placed)."""
        project, row = self.project, self.model.row(line_id)
        if project is None or row is None or self.controller.running:
            return False
        voices = project.voices_dir if self.settings.voice_profiles and project.voices_dir.is_dir() else None
        session = Session(project.session.opened, out=project.ab_out, context=self.context, profiles_folder=voices)
        kwargs = self.job_kwargs([line_id])
        kwargs.update(takes=1, qc=False, take_overrides={}, profiles=str(voices) if voices else "off",
                      emotion_overrides={**kwargs.get("emotion_overrides", {}), line_id: Emotion(source=AB_SOURCE)})
        try:
            project.ab_out.parent.mkdir(parents=True, exist_ok=True)
            options = session.options(**kwargs)
        except (ValueError, OSError) as exc:
            self.show_error("Cannot render the neutral variant", str(exc))
            return False
        self._ab_line = line_id
        self._pending_error = None
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self._set_status(f"A/B {line_id}: rendering B (neutral) apart from the placed take…")
        self.controller.start(RenderRequest(session=session, options=options, lines={line_id: row.line}))
        self._update_actions()
        return True

    @property
    def ab_running(self) -> bool:
        """Whether the run in flight renders a B (its signals do not touch the lines table)."""
        return self._ab_line is not None

    def _ab_line_changed(self, line_id: str, state: str, message: str) -> None:
        if state == "failed":
            self._set_status(f"A/B {line_id}: the neutral variant failed: {message}")

    def _ab_line_rendered(self, render: object) -> None:
        if isinstance(render, RenderedLine) and render.line_id == self._ab_line:
            self.ab_renders[render.line_id] = render

    def _ab_succeeded(self, outcome: object) -> None:
        if isinstance(outcome, JobOutcome):
            for failure in outcome.failed:
                self._set_status(f"A/B {failure.line_id}: the neutral variant failed: {failure.reason}")

    def _ab_finished(self) -> None:
        """B's run is over: show A/B (or why not) and tell ``abFinished``."""
        line_id, self._ab_line = self._ab_line or "", None
        error, self._pending_error = self._pending_error, None
        self.progress.setVisible(False)
        ready = line_id in self.ab_renders
        self._update_actions()
        self._show_line_emotion()
        if ready:
            row = self.model.row(line_id)
            emotion = effective_emotion(row.line, row.emotion, self.model.run_emotion) if row else Emotion()
            self._set_status(f"A/B {line_id}: \u25b6 A plays {emotion_words(emotion)}, \u25b6 B the neutral reading")
        elif error is None and not self.status_label.text().startswith("A/B"):
            self._set_status(f"A/B {line_id}: cancelled")
        self.abFinished.emit(line_id, ready)
        if error is not None:
            self.show_error(*error)

    def _ab_after_run(self) -> None:
        """After an ordinary run: when it was an A/B's A, start its B (on the next turn of the event loop)."""
        line_id, self._ab_waiting = self._ab_waiting, None
        if line_id is None:
            return
        row = self.model.row(line_id)
        if row is None or row.render is None:
            self._set_status(f"A/B {line_id}: A did not render, so there is nothing to compare")
            self.abFinished.emit(line_id, False)
            return
        QTimer.singleShot(0, lambda: self._start_neutral_or_say(line_id))

    def _start_neutral_or_say(self, line_id: str) -> None:
        if not self._start_neutral(line_id):
            self.abFinished.emit(line_id, False)

    # ================================================================================================ job files
    def open_job_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open job", self.settings.last_dir, JOB_FILTER)
        if path:
            self.open_job(Path(path))

    def save_job_dialog(self) -> None:
        project = self.project
        if project is None:
            return
        start = project.timeline_path.with_name(f"{project.timeline_path.stem}_job.yaml")
        path, _ = QFileDialog.getSaveFileName(self, "Save job", str(start), JOB_FILTER)
        if path:
            self.save_job(Path(path) if Path(path).suffix else Path(path).with_suffix(".yaml"))

    def open_job(self, path: Path) -> bool:
        """Open ``path``'s timeline with its texts, emotions and durations (a dialog names a bad entry)."""
        if self.controller.running:
            self.show_error("A render is running", "Wait for it to finish or cancel it before opening a job.")
            return False
        from revoice.jobfile import apply_job, check_job_lines, read_job

        try:
            job = read_job(path)
        except InputError as exc:
            self.show_input_error("Cannot open the job", exc)
            return False
        except (JobError, ValueError, OSError) as exc:
            self.show_error("Cannot open the job", f"{path}: {exc}")
            return False
        if not self.open_files(job.timeline, job.subtitles, out=job.out):
            return False
        assert self.project is not None
        try:
            check_job_lines(job, self.project.lines)
            options = apply_job(job, self.job_options([line.line_id for line in self.project.lines]))
        except InputError as exc:
            self.show_input_error("Cannot apply the job to its timeline", exc)
            return False
        except (JobError, ValueError, OSError) as exc:
            self.show_error("Cannot apply the job to its timeline", f"{path}: {exc}")
            return False
        texts = sum(self.model.setData(self.model.index(self.model.row_number(line_id), Column.TEXT), text)
                    for line_id, text in options.text_overrides.items() if self.model.row(line_id) is not None)
        self.model.run_emotion = options.settings.emotion
        emotions = 0
        for each in self.model.rows:  # the job says every line's emotion: none of the panel state's stays
            if each.emotion is not None:
                self.model.set_emotion(each.line_id, None, stale=False)
        for line_id, emotion in options.emotion_overrides.items():
            row = self.model.row(line_id)
            own = row.line.emotion if row is not None else None
            if row is not None and (own is None or own.sound_key() != emotion.sound_key()):  # not a restated tag
                self.model.set_emotion(line_id, emotion, stale=False)
                emotions += 1
        self.duration_overrides = dict(options.duration_overrides)
        problem = self._save_state()
        self._refresh_renders()
        self._refresh_preview_if(self.preview.row.line_id if self.preview.row else "")
        self._show_line_emotion()
        self._set_status(f"Opened job {path.name}: {texts} text edit(s), {emotions} emotion(s), "
                         f"{len(self.duration_overrides)} duration(s)"
                         + (f" · could not save the panel state: {problem}" if problem else ""))
        return True

    def save_job(self, path: Path) -> bool:
        """Write the open timeline's lines, as edited (text, emotion, duration), as a job file."""
        project = self.project
        if project is None:
            return False
        texts, emotions = self.model.texts(), self.model.emotions()
        lines = [replace(line, text=texts.get(line.line_id, line.text),
                         emotion=emotions.get(line.line_id, line.emotion),
                         duration=self.duration_overrides.get(line.line_id, line.duration))
                 for line in project.lines]
        from revoice.jobfile import job_from_lines, write_job

        try:
            job = job_from_lines(lines, timeline=project.timeline_path, subtitles=project.subtitles, out=project.out,
                                 emotion=self.model.run_emotion)
            write_job(path, job)
        except (JobError, ValueError, OSError) as exc:
            self.show_error("Cannot save the job", f"{path}: {exc}")
            return False
        self._set_status(f"Saved job {path.name}: {len(lines)} lines, {len(emotions)} emotion(s) set in the panel")
        return True



def _ab_note(render: RenderedLine, emotion: Emotion) -> str:
    """What the A/B compares, with what A's render measured against the neutral reading."""
    import html

    use = render.report.emotion
    numbers = []
    if use is not None and use.f0_shift_semitones is not None:
        numbers.append(f"F0 {use.f0_shift_semitones:+.1f} st")
    if use is not None and use.f0_range_factor is not None:
        numbers.append(f"range \u00d7{use.f0_range_factor:.2f}")
    measured = f" (measured: {', '.join(numbers)})" if numbers else ""
    return (f"<span style='color:#9fd0ff'> &nbsp;\u00b7&nbsp; A/B ready: A {html.escape(emotion_words(emotion))}"
            f"{html.escape(measured)}, B neutral</span>")
