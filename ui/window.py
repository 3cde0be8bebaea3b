"""The Revoice panel's main window."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from PyQt6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSize,
    Qt,
    QUrl,
    pyqtSignal,
)
from PyQt6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpacerItem,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from engine.model import RenderedLine
from engine.render import Assessor
from engine.voices.base import BackendOptions, BackendSpec, VoiceBackend, VoiceInfo
from otio_bridge.errors import InputError
from revoice.job import JobOptions, JobOutcome
from ui.dialogs import CharactersDock, SettingsDialog, VoicesDock
from ui.lines_model import (
    DONE,
    FAILED,
    FLAGGED,
    PENDING,
    QC_COLUMNS,
    RENDERING,
    Column,
    LineRow,
    LinesFilterProxy,
    LinesModel,
)
from ui.player import AudioPlayer, playback_problem
from ui.preview import PreviewPane
from ui.project import (
    Project,
    default_out,
    demo_paths,
    export_timeline,
    find_renders,
    load_panel_state,
    load_project,
    render_settings,
    save_panel_state,
    write_qc_report,
)
from ui.settings import PanelSettings, RecentEntry, load_settings, open_qsettings, save_settings
from ui.takes import qc_of, takes_of, with_take
from ui.voices import STOCK, MatchingSetup, VoiceEntry, licences_of, save_strength, voice_entries
from ui.worker import RenderController, RenderRequest

TIMELINE_SUFFIXES = (".otio", ".otioz", ".xml", ".edl")
SUBTITLE_SUFFIXES = (".srt", ".vtt", ".ass", ".ssa")
TIMELINE_FILTER = "Timelines (*.otio *.otioz *.xml *.edl);;All files (*)"
SUBTITLE_FILTER = "Subtitles (*.srt *.vtt *.ass *.ssa);;All files (*)"
EXPORT_FILTERS = {
    "OpenTimelineIO (*.otio)": ".otio",
    "OTIO bundle with media (*.otioz)": ".otioz",
    "Final Cut Pro 7 XML (*.xml)": ".xml",
}


@dataclass(frozen=True)
class BackendInfo:
    name: str
    display_name: str
    licence: str
    voices: tuple[VoiceInfo, ...]
    problem: str = ""


class RevoiceWindow(QMainWindow):
    """Open a timeline, pick lines, revoice them off the UI thread, check them, export."""

    projectLoaded = pyqtSignal()
    runStarted = pyqtSignal()
    runFinished = pyqtSignal(object)
    """The JobOutcome, or None when the run failed before rendering."""

    def __init__(self, *, backend: VoiceBackend | None = None, work_dir: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Revoice")
        self.setObjectName("revoiceWindow")
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self.setMinimumSize(QSize(900, 560))

        self.settings: PanelSettings = load_settings()
        self.backend: VoiceBackend | None = backend
        self.assessor: Assessor | None = None
        """The loaded QC meters, kept between runs like the backend."""
        self.work_dir = work_dir
        self.project: Project | None = None
        self.take_picks: dict[str, int] = {}
        """The editor's take per line id (this project's; saved in its panel state)."""
        self.last_outcome: JobOutcome | None = None
        self.last_error = ""
        self.last_export_warnings: list[str] = []
        self._pending_error: tuple[str, str] | None = None
        self._backend_info: BackendInfo | None = None
        self.matching = MatchingSetup()
        """What voice matching may use (tests and scripts narrow it; default: everything available)."""
        self.embedder: object | None = None
        """The speaker encoder voice profiles are built with, kept between runs like the backend."""
        self.matching_cache: dict[str, VoiceBackend] = {}
        """Backends voice matching loaded (e.g. Kokoro), by name, kept between runs like the backend."""
        self.voice_entries: list[VoiceEntry] = []
        """What each character speaks with in the next run (the Voices dock shows them)."""
        self.profile_statuses: dict[str, str] = {}
        """The last run's profile status by character ("built", "reused", ...)."""
        self._licences: dict[str, str] | None = None

        self.model = LinesModel(self)
        self.proxy = LinesFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.player = AudioPlayer(self)
        self.controller = RenderController(self)

        self._build_actions()
        self._build_ui()
        self._connect()
        self._restore_window()
        self._update_actions()

    # ================================================================================================ building
    def _action(self, text: str, slot: Any, shortcut: str | QKeySequence.StandardKey | None = None,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip + (f"  ({action.shortcut().toString()})" if shortcut is not None else ""))
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.action_open = self._action("Open Timeline…", self.open_timeline_dialog, QKeySequence.StandardKey.Open,
                                        "Open an .otio, .otioz, FCP7 .xml or .edl timeline")
        self.action_open_subs = self._action("Subtitles…", self.open_subtitles_dialog, "Ctrl+Shift+O",
                                             "Read the lines from a subtitle file (.srt, .vtt, .ass)")
        self.action_demo = self._action("Open Demo Scene", self.open_demo, None,
                                        "The embedded 23.976 fps demo timeline and its subtitles")
        self.action_revoice = self._action("Revoice", self.revoice_selection, "Ctrl+R",
                                           "Revoice the selected lines")
        self.action_cancel = self._action("Cancel", self.cancel_render, "Ctrl+.",
                                          "Stop after the current line; finished lines are kept")
        self.action_export = self._action("Export…", self.export_dialog, "Ctrl+E",
                                          "Write the timeline with the Revoice tracks (OTIO, .otioz, FCP7 XML)")
        self.action_qc = self._action("QC Report", self.open_qc_report, None,
                                      "Open the QC sheet: ratios, loudness, true peaks and flags")
        self.action_settings = self._action("Settings…", self.open_settings_dialog, "Ctrl+,",
                                            "Loudness, ratio bounds, device and voices")
        self.action_select_flagged = self._action("Select All Flagged", self.select_all_flagged, "Ctrl+Shift+F",
                                                  "Select every flagged line")
        self.action_next_flagged = self._action("Next Flagged", self.next_flagged, "N",
                                                "Go to the next flagged or failed line")
        self.action_prev_flagged = self._action("Previous Flagged", self.prev_flagged, "P",
                                                "Go to the previous flagged or failed line")
        self.action_play = self._action("Play / Stop", self.toggle_play, "Space",
                                        "Play the selected line's revoiced audio")
        self.action_prev_take = self._action("Previous Take", lambda: self.step_take(-1), "[",
                                             "Place the selected line's previous take (no re-render)")
        self.action_next_take = self._action("Next Take", lambda: self.step_take(1), "]",
                                             "Place the selected line's next take (no re-render)")
        self.action_quit = self._action("Quit", self.close, QKeySequence.StandardKey.Quit)
        self.action_select_all = self._action("Select All Lines", self.select_all, QKeySequence.StandardKey.SelectAll)

    def _build_ui(self) -> None:
        menu = self.menuBar()
        assert menu is not None
        file_menu = _menu(menu.addMenu("&File"))
        file_menu.addAction(self.action_open)
        file_menu.addAction(self.action_open_subs)
        self.recent_menu = _menu(file_menu.addMenu("Open Recent"))
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.action_demo)
        file_menu.addSeparator()
        file_menu.addAction(self.action_export)
        file_menu.addAction(self.action_qc)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        edit_menu = _menu(menu.addMenu("&Edit"))
        for action in (self.action_select_all, self.action_select_flagged, self.action_next_flagged,
                       self.action_prev_flagged):
            edit_menu.addAction(action)
        render_menu = _menu(menu.addMenu("&Render"))
        for action in (self.action_revoice, self.action_cancel, self.action_play, self.action_prev_take,
                       self.action_next_take):
            render_menu.addAction(action)
        render_menu.addSeparator()
        render_menu.addAction(self.action_settings)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.action_open, self.action_open_subs):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.action_revoice)
        toolbar.addAction(self.action_cancel)
        toolbar.addSeparator()
        toolbar.addAction(self.action_export)
        toolbar.addAction(self.action_qc)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        toolbar.addAction(self.action_settings)
        self.addToolBar(toolbar)
        revoice_button = toolbar.widgetForAction(self.action_revoice)
        if revoice_button is not None:
            revoice_button.setObjectName("revoiceButton")
        self.toolbar = toolbar

        # --- lines page
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filterEdit")
        self.filter_edit.setPlaceholderText("Filter by speaker or status  (e.g. \u201cmara flagged\u201d)")
        self.filter_edit.setClearButtonEnabled(True)
        self.select_flagged_button = QPushButton("Select all flagged")
        self.select_flagged_button.clicked.connect(self.select_all_flagged)
        self.selection_info = QLabel("")
        self.selection_info.setObjectName("selectionInfo")
        filter_row = QHBoxLayout()
        filter_row.setContentsMargins(0, 0, 0, 0)
        filter_row.addWidget(self.filter_edit, 1)
        filter_row.addWidget(self.select_flagged_button)
        filter_row.addSpacing(12)
        filter_row.addWidget(self.selection_info)

        self.table = QTableView()
        self.table.setObjectName("linesTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.TC_IN, Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        vheader = self.table.verticalHeader()
        assert vheader is not None
        vheader.setVisible(False)
        vheader.setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        assert header is not None
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        widths = {Column.LINE: 58, Column.TC_IN: 98, Column.TC_OUT: 98, Column.SPEAKER: 84, Column.SLOT: 54,
                  Column.STATUS: 76, Column.RATIO: 50, Column.LUFS: 50, Column.DBTP: 50, Column.TAKE: 44,
                  Column.WER: 48, Column.VOICE: 50, Column.MOS: 44, Column.FLAGS: 110}
        for column, width in widths.items():
            header.resizeSection(column, width)
        for column in (Column.TAKE, *QC_COLUMNS):
            header.setSectionHidden(column, True)
        header.resizeSection(Column.TEXT, 320)
        viewport = self.table.viewport()
        assert viewport is not None
        viewport.installEventFilter(self)

        lines_page = QWidget()
        lines_layout = QVBoxLayout(lines_page)
        lines_layout.setContentsMargins(10, 10, 10, 4)
        lines_layout.addLayout(filter_row)
        lines_layout.addWidget(self.table, 1)

        # --- empty page
        empty_page = QWidget()
        zone = QFrame()
        zone.setObjectName("dropZone")
        title = QLabel("Open a timeline to start")
        title.setObjectName("emptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel("Drop an .otio, .otioz, FCP7 .xml or .edl timeline here, with its .srt, .vtt or .ass "
                      "subtitles,\nor press Ctrl+O. Without subtitles the timeline's markers are used.")
        hint.setObjectName("emptyHint")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        open_button = QPushButton("Open Timeline…")
        open_button.clicked.connect(self.open_timeline_dialog)
        demo_button = QPushButton("Open Demo Scene")
        demo_button.clicked.connect(self.open_demo)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(open_button)
        buttons.addWidget(demo_button)
        buttons.addStretch(1)
        zone_layout = QVBoxLayout(zone)
        zone_layout.setContentsMargins(40, 40, 40, 40)
        zone_layout.addStretch(1)
        zone_layout.addWidget(title)
        zone_layout.addSpacing(8)
        zone_layout.addWidget(hint)
        zone_layout.addSpacing(16)
        zone_layout.addLayout(buttons)
        zone_layout.addStretch(1)
        empty_layout = QVBoxLayout(empty_page)
        empty_layout.setContentsMargins(40, 40, 40, 40)
        empty_layout.addWidget(zone)

        self.pages = QStackedWidget()
        self.pages.addWidget(empty_page)
        self.pages.addWidget(lines_page)

        self.preview = PreviewPane(self.player)
        self.preview.setObjectName("previewPane")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.pages)
        splitter.addWidget(self.preview)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([480, 300])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        self.setCentralWidget(splitter)

        self.characters = CharactersDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.characters)
        self.voices = VoicesDock(self)
        self.splitDockWidget(self.characters, self.voices, Qt.Orientation.Vertical)
        self.resizeDocks([self.characters], [290], Qt.Orientation.Horizontal)
        self.resizeDocks([self.characters, self.voices], [200, 400], Qt.Orientation.Vertical)
        self.preview.setVisible(False)
        self.characters.show_characters({}, {}, "", "", "Open a timeline to see its speakers.")
        self.voices.show_entries([], "Open a timeline to see which voice speaks each character.")

        status = self.statusBar()
        assert status is not None
        self.status_label = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setObjectName("renderProgress")
        self.progress.setFixedWidth(280)
        self.progress.setVisible(False)
        status.addWidget(self.status_label, 1)
        status.addPermanentWidget(self.progress)

    def _connect(self) -> None:
        self.filter_edit.textChanged.connect(self._on_filter)
        selection = self.table.selectionModel()
        assert selection is not None
        selection.selectionChanged.connect(lambda *_: self._on_selection_changed())
        selection.currentRowChanged.connect(lambda current, _previous: self._show_preview(current))
        self.model.textEdited.connect(self._on_text_edited)
        self.preview.takeChosen.connect(lambda line_id, take: self.choose_take(line_id, take))
        c = self.controller
        c.stageChanged.connect(self._set_status)
        c.backendLoaded.connect(self._on_backend_loaded)
        c.assessorLoaded.connect(self._on_assessor_loaded)
        c.embedderLoaded.connect(self._on_embedder_loaded)
        self.voices.strengthChanged.connect(lambda name, strength: self.set_strength(name, strength))
        c.lineChanged.connect(self._on_line_changed)
        c.lineRendered.connect(self._on_line_rendered)
        c.progressChanged.connect(self._on_progress)
        c.succeeded.connect(self._on_succeeded)
        c.failed.connect(self._on_failed)
        c.finished.connect(self._on_finished)

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.Resize and watched is self.table.viewport():
            self._fit_text_column()
        return super().eventFilter(watched, event)

    def _fit_text_column(self) -> None:
        """Give the Text column the room the others leave, but never less than 200 px (then scroll)."""
        header = self.table.horizontalHeader()
        viewport = self.table.viewport()
        if header is None or viewport is None:
            return
        others = sum(header.sectionSize(c) for c in Column if c != Column.TEXT and not header.isSectionHidden(c))
        narrowest = 180 if not header.isSectionHidden(Column.WER) else 200
        header.resizeSection(Column.TEXT, max(narrowest, viewport.width() - others))

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

    def open_files(self, timeline: Path, subtitles: Path | None = None, *, rate: float | None = None,
                   out_dir: Path | None = None) -> bool:
        """Read ``timeline`` (+ ``subtitles``); on failure show what to fix and keep what was open."""
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
        out = default_out(timeline, out_dir or self.work_dir)
        try:
            project = load_project(timeline, subtitles, out, rate=rate)
        except InputError as exc:
            self.show_input_error("Cannot open the timeline" if exc.path == timeline else "Cannot read the subtitles",
                                  exc)
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
        rows = [LineRow(line=line, timecode_in=project.timecode(line.record.start),
                        timecode_out=project.timecode(line.record.end), text=edits.get(line.line_id, line.text))
                for line in project.lines]
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
        renders = find_renders(project, self.model.texts(), backend=self.backend, settings=self.settings,
                               voices=self._job_voices(), picks=self.take_picks,
                               profiles=[e.profile for e in entries if e.profile is not None])
        for row in self.model.rows:
            render = renders.get(row.line_id)
            if render is not None:
                self.model.set_render(render)
            elif row.status != FAILED:
                self.model.set_status(row.line_id, PENDING)
        self._update_take_columns()
        self._write_qc_report()

    def _update_take_columns(self, render: RenderedLine | None = None) -> None:
        """Show Take once a line has several takes and WER / Voice / MOS once one is metered.

        With ``render`` (a line just finished) columns are only revealed, without a scan of every row.
        """
        if render is not None:
            several = len(takes_of(render)) > 1 or self._column_shown(Column.TAKE)
            metered = qc_of(render) is not None or self._column_shown(Column.WER)
        else:
            self.preview.set_takes_expected(self.settings.takes > 1 or self.settings.qc)
            rows = [row for row in self.model.rows if row.render is not None]
            several = any(row.take_count > 1 for row in rows)
            metered = any(qc_of(row.render) is not None for row in rows)
        header = self.table.horizontalHeader()
        assert header is not None
        # the meters need room: TC Out steps aside (TC In's tooltip and the preview title keep the out point)
        wanted = {Column.TAKE: several, Column.TC_OUT: not metered, **{column: metered for column in QC_COLUMNS}}
        changed = False
        for column, shown in wanted.items():
            if header.isSectionHidden(column) == shown:
                header.setSectionHidden(column, not shown)
                changed = True
        if changed:
            self._fit_text_column()

    def _column_shown(self, column: Column) -> bool:
        header = self.table.horizontalHeader()
        return header is not None and not header.isSectionHidden(column)

    # ================================================================================================ selection
    def selected_line_ids(self) -> list[str]:
        selection = self.table.selectionModel()
        if selection is None:
            return []
        rows = sorted({self.proxy.mapToSource(index).row() for index in selection.selectedRows()})
        all_rows = self.model.rows
        return [all_rows[i].line_id for i in rows if 0 <= i < len(all_rows)]

    def select_lines(self, line_ids: list[str]) -> None:
        """Select these lines (those visible through the filter); the first becomes current."""
        selection = QItemSelection()
        first: QModelIndex | None = None
        for line_id in line_ids:
            source = self.model.index(self.model.row_number(line_id), 0)
            index = self.proxy.mapFromSource(source)
            if not index.isValid():
                continue
            first = first or index
            selection.select(index, index)
        model = self.table.selectionModel()
        assert model is not None
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        model.select(selection, flags)
        if first is not None:
            model.setCurrentIndex(first, QItemSelectionModel.SelectionFlag.Rows
                                  | QItemSelectionModel.SelectionFlag.NoUpdate)
            self.table.scrollTo(first)

    def select_all(self) -> None:
        self.table.selectAll()

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

    def _on_selection_changed(self) -> None:
        count = len(self.selected_line_ids())
        total = self.model.rowCount()
        self.selection_info.setText(f"{total} lines · {count} selected")
        self._update_actions()

    def _on_filter(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self._on_selection_changed()

    def _show_preview(self, index: QModelIndex) -> None:
        row = self.model.row_at(self.proxy.mapToSource(index)) if index.isValid() else None
        if row is None:
            self.preview.show_row(None)
            return
        self.player.stop()
        self.preview.show_row(row, title=f"{row.line_id} · {row.line.speaker} · "
                                         f"{row.timecode_in} – {row.timecode_out}")

    def _refresh_preview_if(self, line_id: str) -> None:
        shown = self.preview.row
        if shown is not None and shown.line_id == line_id:
            self._show_preview(self.table.currentIndex())

    def _on_text_edited(self, line_id: str, text: str) -> None:
        if self.project is None:
            return
        self.take_picks.pop(line_id, None)  # the new text gets new takes
        try:
            save_panel_state(self.project, self.model.texts(), self.take_picks)
        except OSError as exc:
            self._set_status(f"Could not save the edit of {line_id} ({exc}); it is kept in this session")
        else:
            self._set_status(f"{line_id} edited; revoice it to hear the new text")
        self._refresh_preview_if(line_id)

    # ================================================================================================ rendering
    def _job_voices(self) -> dict[str, str]:
        """The per-speaker voices from the settings that the backend offers."""
        info = self.backend_info()
        known = {voice.voice_id for voice in info.voices}
        return {speaker: voice for speaker, voice in self.settings.speaker_voices.items() if voice in known}

    def job_options(self, line_ids: list[str]) -> JobOptions:
        project = self.project
        assert project is not None
        texts = self.model.texts()
        edits = {line.line_id: texts[line.line_id] for line in project.lines
                 if texts.get(line.line_id, line.text) != line.text}
        return JobOptions(
            timeline=project.timeline_path, out=project.out, subtitles=project.subtitles,
            rate=project.edit_rate, device=self.settings.device, speaker_voices=self._job_voices(),
            settings=render_settings(self.settings), line_ids=frozenset(line_ids),
            backend=self.backend.spec.name if self.backend is not None else None,
            takes=self.settings.takes, qc=self.settings.qc, take_overrides=dict(self.take_picks),
            text_overrides=edits, profiles="auto" if self.settings.voice_profiles else "off",
            match_voices=self.matching.voices, match_sentences=self.matching.sentences)

    def revoice_selection(self) -> bool:
        """Start rendering the selected lines on the worker thread (False when nothing started)."""
        if self.controller.running or self.project is None:
            return False
        ids = self.selected_line_ids()
        if not ids:
            self._set_status("Select the lines to revoice first (Ctrl+A selects all)")
            return False
        try:
            options = self.job_options(ids)
        except (ValueError, OSError) as exc:
            self.show_error("Cannot start the render", str(exc))
            return False
        lines = {row.line_id: row.line for row in self.model.rows if row.line_id in set(ids)}
        self._pending_error = None
        self.last_outcome = None
        self.model.set_editable(False)
        self.progress.setRange(0, len(ids))
        self.progress.setValue(0)
        self.progress.setFormat(f"0 / {len(ids)}")
        self.progress.setVisible(True)
        self._set_status("Loading voice…" if self.backend is None else f"Revoicing {len(ids)} line(s)…")
        self.controller.start(RenderRequest(options=options, lines=lines, backend=self.backend,
                                            assessor=self.assessor, match_backends=self.matching.backends,
                                            embedder=self.embedder, backend_cache=self.matching_cache))
        self._update_actions()
        self.runStarted.emit()
        return True

    def cancel_render(self) -> None:
        if not self.controller.running:
            return
        self.controller.cancel()
        self._set_status("Cancelling after the current line… finished lines are kept")
        self._update_actions()

    def _on_backend_loaded(self, backend: object) -> None:
        self.backend = backend  # type: ignore[assignment]
        self._backend_info = None
        self._licences = None
        self._refresh_characters()

    def _on_embedder_loaded(self, embedder: object) -> None:
        self.embedder = embedder

    def _on_assessor_loaded(self, assessor: object) -> None:
        if callable(assessor):
            self.assessor = cast(Assessor, assessor)

    def _on_line_changed(self, line_id: str, state: str, message: str) -> None:
        if state == "rendering":
            self.model.set_status(line_id, RENDERING)
            row = self.model.row(line_id)
            self._set_status(f"Revoicing {line_id} · {row.line.speaker if row else ''}")
        elif state == "failed":
            self.model.set_status(line_id, FAILED, message)
            self._refresh_preview_if(line_id)

    def _on_line_rendered(self, render: object) -> None:
        if isinstance(render, RenderedLine):
            pick = self.take_picks.get(render.line_id)
            if pick is not None and pick != render.take:  # picked while this run was under way
                render = with_take(render, pick) or render
            self.model.set_render(render)
            self._update_take_columns(render)
            self._refresh_preview_if(render.line_id)

    def _on_progress(self, done: int, total: int, label: str) -> None:
        if label.startswith("voice profile"):  # run_job building or reusing a character's profile
            self.progress.setRange(0, 0)  # busy: matching a voice has no line count
            self._set_status(f"Preparing {label} — a new profile takes about a minute on CPU; "
                             "Cancel (Ctrl+.) stops it")
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total}")

    def _on_succeeded(self, outcome: object) -> None:
        if not isinstance(outcome, JobOutcome):
            return
        self.last_outcome = outcome
        self.profile_statuses.update({str(row["name"]): str(row["status"]) for row in outcome.profiles})
        for failure in outcome.failed:
            self.model.set_status(failure.line_id, FAILED, failure.reason)
        batch = outcome.batch
        fresh = len(batch.rendered) - batch.cached
        parts = [f"{fresh} revoiced", f"{batch.cached} unchanged (reused)"]
        if batch.failed:
            parts.append(f"{len(batch.failed)} failed — hover the status for why")
        options = outcome.options
        if options.takes > 1 or options.qc:
            parts[0] += f" ({options.takes} take{'s' if options.takes > 1 else ''} each{', QC metered' if options.qc else ''})"
        placed = [self.model.row(r.line_id) for r in batch.rendered]  # with the editor's take picks
        flagged = sum(1 for row in placed if row is not None and row.status == FLAGGED)
        if flagged:
            parts.append(f"{flagged} flagged (N / P to step through)")
        if outcome.profiles:
            parts.append("voices: " + ", ".join(f"{row['name']} {row['kind']}" for row in outcome.profiles))
        prefix = "Cancelled: finished lines kept · " if batch.cancelled else ""
        self._set_status(prefix + " · ".join(parts) + f" in {batch.seconds:.1f} s"
                         + (f" · {len(outcome.warnings)} warning(s) — hover for details" if outcome.warnings else ""),
                         tip="\n".join(outcome.warnings))

    def _on_failed(self, title: str, message: str) -> None:
        self._pending_error = (title, message)

    def _on_finished(self) -> None:
        for row in self.model.rows:
            if row.status == RENDERING:
                self.model.set_status(row.line_id, PENDING)
        self.model.set_editable(True)
        self._refresh_characters()  # profiles may have been built, rebuilt or tuned
        self._write_qc_report()
        self._update_actions()
        outcome = self.last_outcome if self._pending_error is None else None
        error, self._pending_error = self._pending_error, None
        if error is not None:
            self._set_status(error[0])
        self.runFinished.emit(outcome)
        if error is not None:
            self.show_error(*error)

    def _write_qc_report(self) -> None:
        project = self.project
        if project is None or not any(row.render is not None or row.status == FAILED for row in self.model.rows):
            return
        try:
            write_qc_report(project, [(row.line, row.text, row.status, row.render, row.message)
                                      for row in self.model.rows], voices=self.voice_entries)
        except OSError as exc:
            self._set_status(f"Could not write the QC report ({exc})")

    # ================================================================================================ takes
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
        note = "Export writes it"
        try:
            save_panel_state(self.project, self.model.texts(), self.take_picks)
        except OSError as exc:
            note = f"could not save the pick ({exc}); it is kept in this session"
        self.player.stop()
        self.model.set_render(chosen)
        self._refresh_preview_if(line_id)
        self._write_qc_report()
        self._update_actions()
        self._set_status(f"{line_id}: take {take} of {len(takes_of(chosen))} placed (nothing re-rendered); {note}")
        return True

    def step_take(self, step: int) -> None:
        if not self.preview.step_take(step):
            self._set_status("Only one take: set Takes per line in Settings (Ctrl+,) and revoice")

    # ================================================================================================ export / QC
    def renders(self) -> dict[str, RenderedLine]:
        return {row.line_id: row.render for row in self.model.rows
                if row.render is not None and row.status in (DONE, FLAGGED)}

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

    def export_to(self, target: Path) -> bool:
        """Write the timeline with its Revoice tracks to ``target`` (.otio, .otioz or .xml)."""
        if self.project is None:
            return False
        try:
            self.last_export_warnings = export_timeline(self.project, target, self.renders(), self.model.texts(),
                                                        self.take_picks)
        except InputError as exc:
            self.show_input_error("Cannot export the timeline", exc)
            return False
        except (ValueError, OSError) as exc:
            self.show_error("Cannot export the timeline", f"{target}: {exc}")
            return False
        note = f" ({len(self.last_export_warnings)} warning(s))" if self.last_export_warnings else ""
        self._set_status(f"Exported {len(self.renders())} revoiced line(s) to {target}{note}",
                         tip="\n".join(self.last_export_warnings))
        return True

    def open_qc_report(self) -> None:
        if self.project is not None and self.project.qc_report_path.exists():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.project.qc_report_path)))

    # ================================================================================================ settings
    def backend_info(self) -> BackendInfo:
        """Name, licence and voices of the loaded backend, or of the one a run would load."""
        if self._backend_info is not None:
            return self._backend_info
        if self.backend is not None:
            spec = self.backend.spec
            info = BackendInfo(spec.name, spec.display_name, spec.licence, tuple(self.backend.voices()))
        else:
            info = self._probe_backend()
        self._backend_info = info
        return info

    def _probe_backend(self) -> BackendInfo:
        from engine.voices.base import BackendUnavailable
        from engine.voices.registry import choose_backend, discover_backends

        language = self.project.lines[0].language if self.project and self.project.lines else "en"
        try:
            spec: BackendSpec = choose_backend(discover_backends(), language=language,
                                               options=BackendOptions(device=self.settings.device))
            voices = tuple(spec.voice_list())
        except BackendUnavailable as exc:
            return BackendInfo("", "", "", (), problem=str(exc))
        except Exception as exc:
            return BackendInfo("", "", "", (), problem=f"voice backends could not be listed: {exc}")
        return BackendInfo(spec.name, spec.display_name, spec.licence, voices)

    def current_voices(self) -> list[VoiceEntry]:
        """What each character speaks with in the next run, from the voice profiles on disk and the settings."""
        project = self.project
        if project is None:
            return []
        from engine.voices.profile import ProfileError, ProfileStore

        info = self.backend_info()
        if self._licences is None:
            loaded = [b for b in (self.backend, *(self.matching.backends or ())) if b is not None]
            self._licences = licences_of(loaded)
        try:
            store: ProfileStore | None = ProfileStore(project.voices_dir)
        except ProfileError:
            store = None
        names = [name for name in self.profile_statuses if name not in set(project.speakers)]
        self.voice_entries = voice_entries(
            project.lines, store, profiles_on=self.settings.voice_profiles, stock_voices=self._job_voices(),
            default_voice=info.voices[0].voice_id if info.voices else "", default_backend=info.name,
            licences=self._licences, statuses=self.profile_statuses, extra_names=names)
        return self.voice_entries

    def _refresh_characters(self) -> None:
        if self.project is None:
            return
        info = self.backend_info()
        counts = Counter(line.speaker for line in self.project.lines)
        default = info.voices[0].voice_id if info.voices else ""
        label = f"{info.display_name} ({info.name})" if info.name else ""
        entries = self.current_voices()
        voices = {**self._job_voices(), **{e.name: e.short for e in entries if e.kind != STOCK}}
        self.characters.show_characters(dict(counts), voices, default, label,
                                        info.licence if info.name else info.problem)
        profiled = sum(1 for e in entries if e.kind != STOCK)
        if not self.settings.voice_profiles:
            header = "Voice profiles are off (Settings): stock voices only."
        elif not any(s.available for line in self.project.lines for s in line.sources):
            header = "No original audio under the lines: stock voices (a profile is built from the actor's speech)."
        elif profiled:
            header = (f"{profiled} of {len(entries)} character(s) with a voice profile. A tint is a stock voice "
                      "moved toward the actor, not a clone.")
        else:
            header = "Stock voices so far: revoicing builds a profile per character from the original dialogue."
        self.voices.show_entries(entries, header)
        self.voices.set_editable(not self.controller.running)

    def set_strength(self, name: str, strength: float) -> bool:
        """Save ``strength`` (0..1) into ``name``'s voice profile, atomically; their lines become pending."""
        project = self.project
        if project is None or self.controller.running:
            return False
        from engine.voices.profile import ProfileError, ProfileStore

        try:
            profile = save_strength(ProfileStore(project.voices_dir), name, strength)
        except (ProfileError, OSError) as exc:
            self.show_error("Cannot save the strength", f"{name}: {exc}")
            return False
        self._refresh_renders()
        self._refresh_preview_if(self.preview.row.line_id if self.preview.row else "")
        self._update_actions()
        self._set_status(f"{name}: tint strength {profile.strength:.2f} saved in the voice profile; "
                         "revoice their lines to hear it")
        return True

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
            self.backend = None  # loaded again on the new device at the next run
            self.assessor = None
            self.embedder = None
            self.matching_cache = {}
            self._backend_info = None
        self.settings = settings
        save_settings(settings)
        self._refresh_renders()
        self._refresh_characters()
        self._refresh_preview_if(self.preview.row.line_id if self.preview.row else "")
        self._set_status("Settings saved; lines whose sound they change are pending again")

    # ================================================================================================ misc UI
    def toggle_play(self) -> None:
        problem = playback_problem()
        if problem is not None:
            self._set_status(problem)
            return
        if not self.preview.toggle_play():
            self._set_status("Nothing to play: select a revoiced line")

    def show_input_error(self, title: str, exc: InputError) -> None:
        where = exc.path.name if exc.path is not None else "the input"
        if exc.line is not None:
            where += f", line {exc.line}"
        hint = exc.hint.strip() or "Check the file and try again"
        details = f"What to do: {_sentence(hint)}"
        self.show_error(title, f"{where}: {_sentence(exc.message)}",
                        details + (f"\n\nFile: {exc.path}" if exc.path is not None else ""))

    def show_error(self, title: str, text: str, informative: str = "") -> None:
        """A readable, modal error naming the file and what to do; the window's state is untouched."""
        self.last_error = f"{title}\n{text}\n{informative}".strip()
        box = QMessageBox(QMessageBox.Icon.Warning, title, "", QMessageBox.StandardButton.Ok, self)
        box.setObjectName("revoiceError")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(f"<b>{_html(title)}</b><br><br>{_html(text)}")
        if informative:
            box.setInformativeText(f"<span style='color:#a3a7ae'>{_html(informative)}</span>")
        layout = box.layout()
        if isinstance(layout, QGridLayout):  # wide enough for paths and reasons to read on few lines
            layout.addItem(QSpacerItem(520, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding),
                           layout.rowCount(), 0, 1, layout.columnCount())
        box.exec()

    def _set_status(self, text: str, *, tip: str = "") -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip(tip)

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
        self.action_open.setEnabled(not running)
        self.action_open_subs.setEnabled(not running)
        self.action_demo.setEnabled(not running)
        self.action_settings.setEnabled(not running)
        self.voices.set_editable(not running)
        self.select_flagged_button.setEnabled(any(row.status == FLAGGED for row in self.model.rows))
        self.action_play.setEnabled(loaded)
        self.action_prev_take.setEnabled(loaded)
        self.action_next_take.setEnabled(loaded)

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


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def _html(text: str) -> str:
    import html

    return html.escape(text).replace("\n", "<br>")


def _menu(menu: QMenu | None) -> QMenu:
    assert menu is not None
    return menu


def _local_paths(urls: list[QUrl]) -> list[Path]:
    return [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]


def _writable(folder: Path) -> bool:
    import os

    return folder.is_dir() and os.access(folder, os.W_OK)
