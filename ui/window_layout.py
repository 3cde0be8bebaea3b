"""The panel window's widgets: actions, menus, toolbar, the lines table, the preview, docks and status bar.

:class:`WindowLayout` builds them and offers the view operations that need
no project (status text, error dialogs, selecting rows, showing a row in
the preview, which table columns show). It connects no action: what each
action does is :mod:`revoice.ui.controller` and :mod:`revoice.ui.window`.
"""

from __future__ import annotations

import html

from PyQt6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSize,
    Qt,
)
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
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
from revoice.engine.model import RenderedLine
from revoice.otio_bridge.errors import InputError
from revoice.ui.docks import CharactersDock, VoicesDock
from revoice.ui.lines_model import QC_COLUMNS, Column, LinesFilterProxy, LinesModel
from revoice.ui.player import AudioPlayer
from revoice.ui.preview import PreviewPane

from revoice.takes import qc_of, takes_of

COLUMN_WIDTHS = {Column.LINE: 58, Column.TC_IN: 98, Column.TC_OUT: 98, Column.SPEAKER: 84, Column.EMOTION: 160,
                 Column.SLOT: 54, Column.STATUS: 76, Column.RATIO: 50, Column.LUFS: 50, Column.DBTP: 50,
                 Column.TAKE: 44, Column.WER: 48, Column.VOICE: 50, Column.MOS: 44, Column.FLAGS: 100, Column.TEXT: 320}
"""Starting widths of the lines table's columns (px); Text then takes the room the others leave."""


class WindowLayout(QMainWindow):
    """The panel's widgets, laid out; no project, no actions connected."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Revoice")
        self.setObjectName("revoiceWindow")
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self.setMinimumSize(QSize(900, 560))
        self.last_error = ""
        """The latest error dialog's text (title, message, what to do)."""
        self.model = LinesModel(self)
        self.proxy = LinesFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.player = AudioPlayer(self)
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_empty_page())
        self.pages.addWidget(self._build_lines_page())
        self._build_preview_and_docks()
        self._build_status_bar()

    # ================================================================================================ actions
    def _action(self, text: str, shortcut: str | QKeySequence.StandardKey | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip + (f"  ({action.shortcut().toString()})" if shortcut is not None else ""))
            action.setStatusTip(tip)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.action_open = self._action("Open Timeline…", QKeySequence.StandardKey.Open,
                                        "Open an .otio, .otioz, FCP7 .xml or .edl timeline")
        self.action_open_subs = self._action("Subtitles…", "Ctrl+Shift+O",
                                             "Read the lines from a subtitle file (.srt, .vtt, .ass)")
        self.action_demo = self._action("Open Demo Scene", None,
                                        "The embedded 23.976 fps demo timeline and its subtitles")
        self.action_revoice = self._action("Revoice", "Ctrl+R", "Revoice the selected lines")
        self.action_cancel = self._action("Cancel", "Ctrl+.", "Stop after the current line; finished lines are kept")
        self.action_export = self._action("Export…", "Ctrl+E",
                                          "Write the timeline with the Revoice tracks (OTIO, .otioz, FCP7 XML)")
        self.action_qc = self._action("QC Report", None,
                                      "Open the QC report: meters, waveforms, ratios, loudness, true peaks and flags")
        self.action_settings = self._action("Settings…", "Ctrl+,", "Loudness, ratio bounds, device and voices")
        self.action_select_flagged = self._action("Select All Flagged", "Ctrl+Shift+F", "Select every flagged line")
        self.action_next_flagged = self._action("Next Flagged", "N", "Go to the next flagged or failed line")
        self.action_prev_flagged = self._action("Previous Flagged", "P", "Go to the previous flagged or failed line")
        self.action_play = self._action("Play / Stop", "Space", "Play the selected line's revoiced audio")
        self.action_prev_take = self._action("Previous Take", "[",
                                             "Place the selected line's previous take (no re-render)")
        self.action_next_take = self._action("Next Take", "]", "Place the selected line's next take (no re-render)")
        self.action_open_job = self._action("Open Job…", None, "Open a job: a timeline, each line's text, emotion")
        self.action_save_job = self._action("Save Job…", None, "Save each line's text and emotion as a job file")
        self.action_quit = self._action("Quit", QKeySequence.StandardKey.Quit)
        self.action_select_all = self._action("Select All Lines", QKeySequence.StandardKey.SelectAll)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        assert menu is not None
        file_menu = _menu(menu.addMenu("&File"))
        file_menu.addAction(self.action_open)
        file_menu.addAction(self.action_open_subs)
        self.recent_menu = _menu(file_menu.addMenu("Open Recent"))
        file_menu.addAction(self.action_demo)
        file_menu.addSeparator()
        file_menu.addAction(self.action_open_job)
        file_menu.addAction(self.action_save_job)
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

    def _build_toolbar(self) -> None:
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

    # ================================================================================================ pages
    def _build_lines_page(self) -> QWidget:
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filterEdit")
        self.filter_edit.setPlaceholderText("Filter by speaker or status  (e.g. \u201cmara flagged\u201d)")
        self.filter_edit.setClearButtonEnabled(True)
        self.select_flagged_button = QPushButton("Select all flagged")
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
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        for column in (Column.TAKE, *QC_COLUMNS):
            header.setSectionHidden(column, True)
        viewport = self.table.viewport()
        assert viewport is not None
        viewport.installEventFilter(self)

        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(10, 10, 10, 4)
        layout.addLayout(filter_row)
        layout.addWidget(self.table, 1)
        return page

    def _build_empty_page(self) -> QWidget:
        zone = QFrame()
        zone.setObjectName("dropZone")
        title = QLabel("Open a timeline to start")
        title.setObjectName("emptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint = QLabel("Drop an .otio, .otioz, FCP7 .xml or .edl timeline here, with its .srt, .vtt or .ass "
                      "subtitles,\nor press Ctrl+O. Without subtitles the timeline's markers are used.")
        hint.setObjectName("emptyHint")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.open_button = QPushButton("Open Timeline…")
        self.demo_button = QPushButton("Open Demo Scene")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.demo_button)
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
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(40, 40, 40, 40)
        layout.addWidget(zone)
        return page

    def _build_preview_and_docks(self) -> None:
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

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        assert status is not None
        self.status_label = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setObjectName("renderProgress")
        self.progress.setFixedWidth(280)
        self.progress.setVisible(False)
        status.addWidget(self.status_label, 1)
        status.addPermanentWidget(self.progress)

    # ================================================================================================ table columns
    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.Resize and watched is self.table.viewport():
            self._fit_text_column()
        return super().eventFilter(watched, event)

    def _fit_text_column(self) -> None:
        """Text gets the room the others leave (>= 180 px, else scroll); TC Out steps aside for meters or a narrow
        window (TC In's tooltip and the preview's title keep the out point)."""
        header = self.table.horizontalHeader()
        viewport = self.table.viewport()
        if header is None or viewport is None:
            return
        narrowest = 180
        others = sum(header.sectionSize(c) for c in Column
                     if c not in (Column.TEXT, Column.TC_OUT) and not header.isSectionHidden(c))
        out_fits = header.isSectionHidden(Column.WER) and \
            viewport.width() - others - COLUMN_WIDTHS[Column.TC_OUT] >= narrowest
        if header.isSectionHidden(Column.TC_OUT) == out_fits:
            header.setSectionHidden(Column.TC_OUT, not out_fits)
        others += COLUMN_WIDTHS[Column.TC_OUT] if out_fits else 0
        header.resizeSection(Column.TEXT, max(narrowest, viewport.width() - others))

    def _update_take_columns(self, render: RenderedLine | None = None, *, takes_expected: bool = False) -> None:
        """Show Take once a line has several takes and WER / Voice / MOS once one is metered.

        With ``render`` (a line just finished) columns are only revealed, without a scan of every row;
        without it every row is looked at and ``takes_expected`` tells the preview to keep room for takes.
        """
        if render is not None:
            several = len(takes_of(render)) > 1 or self._column_shown(Column.TAKE)
            metered = qc_of(render) is not None or self._column_shown(Column.WER)
        else:
            self.preview.set_takes_expected(takes_expected)
            rows = [row for row in self.model.rows if row.render is not None]
            several = any(row.take_count > 1 for row in rows)
            metered = any(qc_of(row.render) is not None for row in rows)
        header = self.table.horizontalHeader()
        assert header is not None
        wanted = {Column.TAKE: several, **{column: metered for column in QC_COLUMNS}}
        changed = False
        for column, shown in wanted.items():
            if header.isSectionHidden(column) == shown:
                header.setSectionHidden(column, not shown)
                changed = True
        if changed:
            self._fit_text_column()  # TC Out steps aside for the meters

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

    def _show_preview(self, index: QModelIndex) -> None:
        row = self.model.row_at(self.proxy.mapToSource(index)) if index.isValid() else None
        if row is None:
            self.preview.show_row(None)
        else:
            self.player.stop()
            self.preview.show_row(row, title=f"{row.line_id} · {row.line.speaker} · "
                                             f"{row.timecode_in} – {row.timecode_out}")
        self._show_line_emotion()

    def _show_line_emotion(self) -> None:
        """Fill the preview's emotion control from the line shown (the controller's; nothing without one)."""

    def _refresh_preview_if(self, line_id: str) -> None:
        shown = self.preview.row
        if shown is not None and shown.line_id == line_id:
            self._show_preview(self.table.currentIndex())

    # ================================================================================================ messages
    def _set_status(self, text: str, *, tip: str = "") -> None:
        self.status_label.setText(text)
        self.status_label.setToolTip(tip)

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


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _menu(menu: QMenu | None) -> QMenu:
    assert menu is not None
    return menu
