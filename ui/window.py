"""The Revoice panel's main window: the actions wired to what they do, file dialogs, drag and drop.

The widgets are :class:`~revoice.ui.window_layout.WindowLayout`'s; the project,
render flow, takes, export and voices are :class:`~revoice.ui.controller.PanelController`'s.
:class:`RevoiceWindow` adds what only a desktop window has: its menus' and
shortcuts' wiring, the open / export / settings dialogs, flagged-line
navigation, drag and drop, and the window's saved geometry.
"""

from __future__ import annotations

import os
from pathlib import Path

from PyQt6.QtCore import QUrl
from PyQt6.QtGui import QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent
from PyQt6.QtWidgets import QFileDialog, QWidget
from revoice.engine.voices.base import VoiceBackend
from revoice.ui.controller import PanelController
from revoice.ui.dialogs import SettingsDialog
from revoice.ui.lines_model import FAILED, FLAGGED
from revoice.ui.player import playback_problem
from revoice.ui.project import demo_paths
from revoice.ui.settings import PanelSettings, open_qsettings, save_settings

from revoice.context import EngineContext

TIMELINE_SUFFIXES = (".otio", ".otioz", ".xml", ".edl")
SUBTITLE_SUFFIXES = (".srt", ".vtt", ".ass", ".ssa")
TIMELINE_FILTER = "Timelines (*.otio *.otioz *.xml *.edl);;All files (*)"
SUBTITLE_FILTER = "Subtitles (*.srt *.vtt *.ass *.ssa);;All files (*)"
EXPORT_FILTERS = {
    "OpenTimelineIO (*.otio)": ".otio",
    "OTIO bundle with media (*.otioz)": ".otioz",
    "Final Cut Pro 7 XML (*.xml)": ".xml",
}


class RevoiceWindow(PanelController):
    """Open a timeline, pick lines, revoice them off the UI thread, check them, export.

    ``backend``: a loaded voice for every run (else the first run loads one);
    ``context``: loaded models to start from, its voice included (tests hand in their session's meters);
    ``backend`` is not used with it;
    ``work_dir``: where renders go (else beside the timeline, or the app-data folder).
    """

    def __init__(self, *, backend: VoiceBackend | None = None, context: EngineContext | None = None,
                 work_dir: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(backend=backend, context=context, work_dir=work_dir, parent=parent)
        self._connect_actions()
        self._restore_window()
        self._update_actions()

    def _connect_actions(self) -> None:
        slots = {
            self.action_open: self.open_timeline_dialog, self.action_open_subs: self.open_subtitles_dialog,
            self.action_demo: self.open_demo, self.action_revoice: self.revoice_selection,
            self.action_cancel: self.cancel_render, self.action_export: self.export_dialog,
            self.action_qc: self.open_qc_report, self.action_settings: self.open_settings_dialog,
            self.action_select_flagged: self.select_all_flagged, self.action_next_flagged: self.next_flagged,
            self.action_prev_flagged: self.prev_flagged, self.action_play: self.toggle_play,
            self.action_prev_take: lambda: self.step_take(-1), self.action_next_take: lambda: self.step_take(1),
            self.action_quit: self.close, self.action_select_all: self.select_all,
        }
        for action, slot in slots.items():
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
        self.open_button.clicked.connect(self.open_timeline_dialog)
        self.demo_button.clicked.connect(self.open_demo)
        self.select_flagged_button.clicked.connect(self.select_all_flagged)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)

    # ================================================================================================ opening
    def open_timeline_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open timeline", self.settings.last_dir, TIMELINE_FILTER)
        if not path:
            return
        timeline = Path(path)
        subs, _ = QFileDialog.getOpenFileName(
            self, f"Subtitles for {timeline.name} (Cancel to use its markers)", str(timeline.parent),
            SUBTITLE_FILTER)
        self.open_files(timeline, Path(subs) if subs else None)

    def open_subtitles_dialog(self) -> None:
        if self.project is None:
            self.open_timeline_dialog()
            return
        subs, _ = QFileDialog.getOpenFileName(self, "Open subtitles", str(self.project.timeline_path.parent),
                                              SUBTITLE_FILTER)
        if subs:
            self.open_files(self.project.timeline_path, Path(subs), rate=self.project.edit_rate)

    def open_demo(self) -> bool:
        from PyQt6.QtCore import QStandardPaths

        base = self.work_dir or Path(QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.AppLocalDataLocation) or ".") / "demo"
        try:
            timeline, subs, warning = demo_paths(base)
        except (OSError, ValueError) as exc:
            self.show_error("Cannot open the demo scene", f"The demo files could not be prepared: {exc}")
            return False
        opened = self.open_files(timeline, subs, out_dir=base)
        if opened and warning:
            self._set_status(f"Demo: {warning}", tip=warning)
        return opened

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for entry in self.settings.recent:
            action = self.recent_menu.addAction(entry.label())
            assert action is not None
            action.setToolTip(str(entry.timeline))
            action.triggered.connect(lambda _c=False, e=entry: self.open_files(e.timeline, e.subtitles))
        if not self.settings.recent:
            empty = self.recent_menu.addAction("No recent timelines")
            assert empty is not None
            empty.setEnabled(False)

    # ================================================================================================ export / QC
    def export_dialog(self) -> None:
        if self.project is None:
            return
        start = self.project.timeline_path.with_name(f"{self.project.timeline_path.stem}_revoiced.otio")
        if not _writable(start.parent):
            start = self.project.out
        path, chosen = QFileDialog.getSaveFileName(self, "Export revoiced timeline", str(start),
                                                   ";;".join(EXPORT_FILTERS))
        if not path:
            return
        target = Path(path)
        if target.suffix.lower() not in EXPORT_FILTERS.values():
            target = target.with_suffix(EXPORT_FILTERS.get(chosen, ".otio"))
        self.export_to(target)

    def open_qc_report(self) -> None:
        """Open the latest run's QC report (revoice.report's, written by the session) in the browser."""
        if self.project is not None and self.project.qc_report_path.exists():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.project.qc_report_path)))

    # ================================================================================================ settings
    def open_settings_dialog(self) -> None:
        dialog = self.settings_dialog()
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_settings(dialog.result_settings())

    def settings_dialog(self) -> SettingsDialog:
        info = self.backend_info()
        speakers = self.project.speakers if self.project else []
        label = f"Backend: {info.display_name}. Licence: {info.licence}" if info.name else info.problem
        return SettingsDialog(self.settings, speakers=speakers, voices=info.voices, backend_label=label, parent=self)

    def apply_settings(self, settings: PanelSettings) -> None:
        if self.controller.running:
            self.show_error("A render is running", "Change the settings after it finishes or is cancelled.")
            return
        if settings.device != self.settings.device:
            self._new_context(settings.device)  # every model loads again on the new device at the next run
        self.settings = settings
        save_settings(settings)
        self._refresh_renders()
        self._refresh_characters()
        self._refresh_preview_if(self.preview.row.line_id if self.preview.row else "")
        self._set_status("Settings saved; lines whose sound they change are pending again")

    # ================================================================================================ navigation
    def select_all_flagged(self) -> None:
        flagged = [row.line_id for row in self.model.rows if row.status == FLAGGED]
        self.select_lines(flagged)
        self._set_status(f"{len(flagged)} flagged line(s) selected" if flagged else "No flagged lines")

    def next_flagged(self) -> None:
        self._step_flagged(1)

    def prev_flagged(self) -> None:
        self._step_flagged(-1)

    def _step_flagged(self, step: int) -> None:
        count = self.proxy.rowCount()
        if count == 0:
            return
        current = self.table.currentIndex()
        start = current.row() if current.isValid() else (-1 if step > 0 else count)
        for offset in range(1, count + 1):
            proxy_row = (start + step * offset) % count
            row = self.model.row_at(self.proxy.mapToSource(self.proxy.index(proxy_row, 0)))
            if row is not None and row.status in (FLAGGED, FAILED):
                self.select_lines([row.line_id])
                return
        self._set_status("No flagged or failed lines")

    def toggle_play(self) -> None:
        problem = playback_problem()
        if problem is not None:
            self._set_status(problem)
            return
        if not self.preview.toggle_play():
            self._set_status("Nothing to play: select a revoiced line")

    # ================================================================================================ drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent | None) -> None:
        if event is None:
            return
        mime = event.mimeData()
        paths = _local_paths(mime.urls()) if mime is not None and mime.hasUrls() else []
        if any(p.suffix.lower() in TIMELINE_SUFFIXES + SUBTITLE_SUFFIXES for p in paths):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent | None) -> None:
        if event is None:
            return
        mime = event.mimeData()
        paths = _local_paths(mime.urls()) if mime is not None and mime.hasUrls() else []
        event.acceptProposedAction()
        self.open_dropped(paths)

    def open_dropped(self, paths: list[Path]) -> bool:
        timelines = [p for p in paths if p.suffix.lower() in TIMELINE_SUFFIXES]
        subtitles = [p for p in paths if p.suffix.lower() in SUBTITLE_SUFFIXES]
        subs = subtitles[0] if subtitles else None
        if timelines:
            return self.open_files(timelines[0], subs)
        if subs is not None and self.project is not None:
            return self.open_files(self.project.timeline_path, subs, rate=self.project.edit_rate)
        if subs is not None:
            self._set_status("Drop the timeline first (or together with the subtitles)")
        return False

    # ================================================================================================ window state
    def _restore_window(self) -> None:
        store = open_qsettings()
        geometry = store.value("window/geometry")
        state = store.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent | None) -> None:
        if self.controller.running:
            self.controller.cancel()
            self._set_status("Finishing the current line before closing…")
            self.controller.wait()
        self.player.close()
        store = open_qsettings()
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState())
        store.sync()
        super().closeEvent(event)


def _local_paths(urls: list[QUrl]) -> list[Path]:
    return [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)
