"""The line table: one row per dialogue line, with its render status and numbers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from PyQt6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    pyqtSignal,
)
from PyQt6.QtGui import QBrush, QColor, QFont
from revoice.engine.emotion.labels import Emotion
from revoice.engine.model import DialogueLine, RenderedLine
from revoice.ui.emotion import emotion_cell, emotion_tip

from revoice.takes import (
    best_take,
    chosen_by_editor,
    qc_error,
    qc_error_name,
    qc_of,
    qc_similarity,
    qc_similarity_note,
    takes_of,
)

PENDING, RENDERING, DONE, FLAGGED, FAILED = "pending", "rendering", "done", "flagged", "failed"
STATUSES = (PENDING, RENDERING, DONE, FLAGGED, FAILED)

STATUS_COLORS = {
    PENDING: "#8b919a",
    RENDERING: "#5aa9ff",
    DONE: "#5cc98a",
    FLAGGED: "#f0b43c",
    FAILED: "#ff6b6b",
}

EDITED_COLOR = "#9fd0ff"
"""Text the editor changed: an edited line, a take picked by hand."""

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
LINE_ID_ROLE = Qt.ItemDataRole.UserRole + 2

AnyIndex = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    LINE = 0
    TC_IN = 1
    TC_OUT = 2
    SPEAKER = 3
    TEXT = 4
    EMOTION = 5
    SLOT = 6
    STATUS = 7
    RATIO = 8
    LUFS = 9
    DBTP = 10
    TAKE = 11
    WER = 12
    VOICE = 13
    MOS = 14
    FLAGS = 15


QC_COLUMNS = (Column.WER, Column.VOICE, Column.MOS)
"""Shown once some line has QC metrics."""

HEADERS = {
    Column.LINE: "Line", Column.TC_IN: "TC In", Column.TC_OUT: "TC Out", Column.SPEAKER: "Speaker",
    Column.TEXT: "Text", Column.EMOTION: "Emotion", Column.SLOT: "Slot s", Column.STATUS: "Status",
    Column.RATIO: "Ratio",
    Column.LUFS: "LUFS", Column.DBTP: "dBTP", Column.TAKE: "Take", Column.WER: "WER", Column.VOICE: "Voice",
    Column.MOS: "MOS", Column.FLAGS: "Flags",
}
HEADER_TIPS = {
    Column.SLOT: "Length of the line's slot on the timeline, seconds",
    Column.RATIO: "Fitted speech length / natural length (1.00 = natural pace)",
    Column.LUFS: "Integrated loudness of the revoiced speech",
    Column.DBTP: "True peak of the revoiced speech (4x oversampled)",
    Column.TEXT: "Double-click (or F2) to edit the line before revoicing it",
    Column.EMOTION: "How the line should feel, and where that came from; change it in the preview below",
    Column.TAKE: "Placed take / takes rendered; pick another in the preview below",
    Column.WER: "Word error rate of what speech recognition hears (0.00 = every word right; CER for zh/ja)",
    Column.VOICE: "Voice similarity: cosine of speaker embeddings to the voice's own profile (1 = same voice)",
    Column.MOS: "Predicted naturalness, 1 (bad) to 5 (excellent)",
}


@dataclass
class LineRow:
    """One table row: the line as read, the text as edited, and what rendering made of it."""

    line: DialogueLine
    timecode_in: str
    timecode_out: str
    text: str
    status: str = PENDING
    render: RenderedLine | None = None
    message: str = ""
    emotion: Emotion | None = None
    """The editor's emotion for this line (the panel, an opened job file); None: the line's own or the default."""

    @property
    def line_id(self) -> str:
        return self.line.line_id

    @property
    def edited(self) -> bool:
        return self.text != self.line.text

    @property
    def flags(self) -> tuple[str, ...]:
        if self.status == FAILED:
            return (self.message,) if self.message else ("failed",)
        return self.render.flags if self.render is not None else ()

    def report_value(self, column: Column) -> float | None:
        """The placed take's speed ratio, loudness (LUFS) or true peak (dBTP), for that column; None: not rendered."""
        if self.render is None:
            return None
        report = self.render.report
        value = {Column.RATIO: report.ratio, Column.LUFS: report.loudness_lufs,
                 Column.DBTP: report.true_peak_dbtp}.get(column)
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def take_count(self) -> int:
        return len(takes_of(self.render))

    def qc_value(self, column: Column) -> float | None:
        """The placed take's WER, voice similarity or MOS (None when not metered)."""
        qc = qc_of(self.render)
        if column == Column.WER:
            return qc_error(qc)
        if column == Column.VOICE:
            return qc_similarity(qc)
        value = qc.mos if qc is not None and column == Column.MOS else None
        return float(value) if isinstance(value, (int, float)) else None


def status_for(render: RenderedLine) -> str:
    return FLAGGED if render.flags else DONE


class LinesModel(QAbstractTableModel):
    """Rows of :class:`LineRow`; the Text column is editable (edits mark a finished render stale)."""

    textEdited = pyqtSignal(str, str)
    """line_id, new text."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[LineRow] = []
        self._index: dict[str, int] = {}
        self._editable = True
        self.run_emotion: Emotion | None = None
        """The run's emotion (a job file's); lines without their own request take it."""
        self._mono = QFont("DejaVu Sans Mono")
        self._mono.setStyleHint(QFont.StyleHint.Monospace)

    # --- content -------------------------------------------------------------------------------------------------
    @property
    def rows(self) -> list[LineRow]:
        return list(self._rows)

    def set_rows(self, rows: list[LineRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._index = {row.line_id: i for i, row in enumerate(self._rows)}
        self.endResetModel()

    def row(self, line_id: str) -> LineRow | None:
        i = self._index.get(line_id)
        return self._rows[i] if i is not None else None

    def row_number(self, line_id: str) -> int:
        return self._index.get(line_id, -1)

    def row_at(self, index: AnyIndex) -> LineRow | None:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]

    def texts(self) -> dict[str, str]:
        return {row.line_id: row.text for row in self._rows}

    def emotions(self) -> dict[str, Emotion]:
        """The editor's emotion by line id (lines the panel or a job file changed)."""
        return {row.line_id: row.emotion for row in self._rows if row.emotion is not None}

    def emotion_text(self, row: LineRow) -> str:
        """The row's Emotion cell: ``angry 0.8 · subtitle tag``."""
        return emotion_cell(row.line, row.emotion, self.run_emotion)

    def set_emotion(self, line_id: str, emotion: Emotion | None, *, stale: bool) -> None:
        """Record the editor's ``emotion`` (None: back to the line's own); ``stale`` makes a finished render pending."""
        row = self.row(line_id)
        if row is None:
            return
        row.emotion = emotion
        if stale and row.status != RENDERING:
            row.status, row.render, row.message = PENDING, None, ""
        self._changed(line_id)

    def set_editable(self, editable: bool) -> None:
        self._editable = editable

    def set_status(self, line_id: str, status: str, message: str = "") -> None:
        row = self.row(line_id)
        if row is None:
            return
        row.status = status
        row.message = message
        if status in (PENDING, FAILED):
            row.render = None
        self._changed(line_id)

    def set_render(self, render: RenderedLine) -> None:
        row = self.row(render.line_id)
        if row is None:
            return
        row.render = render
        row.status = status_for(render)
        row.message = ""
        self._changed(render.line_id)

    def _changed(self, line_id: str) -> None:
        i = self._index[line_id]
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(Column) - 1))

    # --- Qt model API --------------------------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        column = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = super().flags(QModelIndex(index))
        if index.isValid() and index.column() == Column.TEXT and self._editable:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index)
        if row is None:
            return None
        column = Column(index.column())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._display(row, column, edit=role == Qt.ItemDataRole.EditRole)
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if role == LINE_ID_ROLE:
            return row.line_id
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == Column.STATUS or (column == Column.FLAGS and row.flags):
                color = STATUS_COLORS[row.status] if column == Column.STATUS else STATUS_COLORS[
                    FAILED if row.status == FAILED else FLAGGED]
                return QBrush(QColor(color))
            if (column == Column.TEXT and row.edited) or (column == Column.EMOTION and row.emotion is not None) \
                    or (column == Column.TAKE and chosen_by_editor(row.render)):
                return QBrush(QColor(EDITED_COLOR))
            return None
        if role == Qt.ItemDataRole.FontRole and column in (Column.TC_IN, Column.TC_OUT):
            return self._mono
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        row = self.row_at(index)
        if row is None or index.column() != Column.TEXT or role != Qt.ItemDataRole.EditRole or not self._editable:
            return False
        text = " ".join(str(value).split())
        if not text or text == row.text:
            return False
        row.text = text
        if row.status != RENDERING:
            row.status, row.render, row.message = PENDING, None, ""
        self._changed(row.line_id)
        self.textEdited.emit(row.line_id, text)
        return True

    # --- helpers -------------------------------------------------------------------------------------------------
    def _display(self, row: LineRow, column: Column, *, edit: bool = False) -> Any:
        if column == Column.LINE:
            return row.line_id
        if column == Column.TC_IN:
            return row.timecode_in
        if column == Column.TC_OUT:
            return row.timecode_out
        if column == Column.SPEAKER:
            return row.line.speaker
        if column == Column.TEXT:
            return row.text if edit or not row.edited else f"{row.text}  \u270e"
        if column == Column.EMOTION:
            return self.emotion_text(row)
        if column == Column.SLOT:
            return f"{row.line.record.duration_seconds:.2f}"
        if column == Column.STATUS:
            return row.status
        if column == Column.RATIO:
            return _fmt(row.report_value(column), ".2f")
        if column == Column.LUFS:
            return _fmt(row.report_value(column), ".1f")
        if column == Column.DBTP:
            return _fmt(row.report_value(column), ".1f")
        if column == Column.TAKE:
            count = row.take_count
            return f"{row.render.take}/{count}" if row.render is not None and count > 1 else ""
        if column in QC_COLUMNS:
            return _fmt(row.qc_value(column), ".1f" if column == Column.MOS else ".2f")
        return "; ".join(row.flags)

    def _sort_key(self, row: LineRow, column: Column) -> Any:
        if column in (Column.LINE, Column.TC_IN, Column.TC_OUT):
            return row.line.record.start if column != Column.TC_OUT else row.line.record.end
        if column == Column.SLOT:
            return row.line.record.duration_seconds
        if column == Column.STATUS:
            return STATUSES.index(row.status)
        if column in (Column.RATIO, Column.LUFS, Column.DBTP):
            value = row.report_value(column)
            return value if value is not None else float("-inf")
        if column in QC_COLUMNS:
            metric = row.qc_value(column)
            return metric if metric is not None else float("-inf")
        if column == Column.TAKE:
            return (row.render.take, row.take_count) if row.render is not None else (0, 0)
        return str(self._display(row, column, edit=True)).lower()

    def _tooltip(self, row: LineRow, column: Column) -> str | None:
        if column == Column.TC_IN:
            return f"{row.timecode_in} \u2013 {row.timecode_out}"
        if column == Column.TEXT:
            extra = f"\n\nOriginal: {row.line.text}" if row.edited else ""
            return f"{row.text}{extra}\n\nFrom {row.line.origin}" if row.line.origin else f"{row.text}{extra}"
        if column == Column.EMOTION:
            return emotion_tip(row.line, row.emotion, self.run_emotion, row.render)
        if column in (Column.FLAGS, Column.STATUS) and row.flags:
            return "\n".join(row.flags)
        if column == Column.LUFS and row.render is not None:
            report = row.render.report
            target = report.loudness_target_lufs
            if not isinstance(target, (int, float)) or not target:
                return None
            return f"target {target:.1f} LUFS ({report.loudness_note or ''})"
        if column == Column.TAKE and row.take_count > 1:
            return _takes_tip(row)
        qc = qc_of(row.render)
        if column == Column.WER and qc is not None:
            heard = qc.asr_text
            name = qc_error_name(qc)
            return f"{name} of the placed take" + (f"\nASR heard: \u201c{heard}\u201d" if isinstance(heard, str) else "")
        if column == Column.VOICE and qc is not None:
            return qc_similarity_note(qc) or None
        return None


_NUMERIC = (Column.SLOT, Column.RATIO, Column.LUFS, Column.DBTP, Column.TAKE, *QC_COLUMNS)


def _takes_tip(row: LineRow) -> str:
    takes = takes_of(row.render)
    best = best_take(takes)
    placed = row.render.take if row.render is not None else None
    how = "picked by you" if chosen_by_editor(row.render) else "best score" if any(t.metered for t in takes) \
        else "first take (QC off)"
    out = [f"Take {placed} of {len(takes)} placed ({how})"]
    for info in takes:
        score = f"score {info.score:.2f}" if info.metered else "not metered"
        mark = " \u2605" if info.metered and info.take == best else ""
        flags = f", {len(info.flags)} flag(s)" if info.flags else ""
        out.append(f"  take {info.take}: {score}{mark}{flags}")
    return "\n".join(out)


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


class LinesFilterProxy(QSortFilterProxyModel):
    """Sorts on SORT_ROLE; the filter text keeps rows whose speaker, status, emotion or flags contain every word."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._words: list[str] = []
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_filter_text(self, text: str) -> None:
        self._words = text.lower().split()
        self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        if not isinstance(model, LinesModel):
            return True
        row = model.row_at(model.index(source_row, 0, QModelIndex(source_parent)))
        if row is None:
            return False
        words = (row.line.speaker, row.status, row.line_id, model.emotion_text(row), *row.flags)
        haystack = " ".join(words).lower()
        return all(word in haystack for word in self._words)
