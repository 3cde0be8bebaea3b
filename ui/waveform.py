"""A waveform strip drawn with QPainter: min/max peaks, the speech span, a playhead and a time ruler."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PyQt6.QtCore import QLineF, QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

PEAK_BUCKETS = 2048


def peak_envelope(audio: npt.NDArray[np.float32], buckets: int = PEAK_BUCKETS) -> npt.NDArray[np.float32]:
    """(buckets, 2) array of min/max per bucket; fewer buckets for short audio."""
    n = len(audio)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    buckets = max(1, min(buckets, n))
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    mins = np.minimum.reduceat(audio, edges[:-1])
    maxs = np.maximum.reduceat(audio, edges[:-1])
    return np.stack([mins, maxs], axis=1).astype(np.float32)


class WaveformView(QWidget):
    """Shows one mono signal; ``set_audio(None, …, placeholder=…)`` shows a message instead."""

    def __init__(self, color: str = "#6fb3ff", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._color = QColor(color)
        self._peaks = np.zeros((0, 2), dtype=np.float32)
        self._samples = 0
        self._sample_rate = 48000
        self._span: tuple[int, int] | None = None
        self._placeholder = "No line selected"
        self._playhead: float | None = None
        self.setMinimumHeight(64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(480, 96)

    # --- content -------------------------------------------------------------------------------------------------
    @property
    def has_audio(self) -> bool:
        return self._samples > 0

    @property
    def span(self) -> tuple[int, int] | None:
        return self._span

    @property
    def duration_seconds(self) -> float:
        return self._samples / self._sample_rate if self._sample_rate else 0.0

    def set_audio(self, audio: npt.NDArray[np.float32] | None, sample_rate: int = 48000, *,
                  span: tuple[int, int] | None = None, placeholder: str = "") -> None:
        """Show ``audio``; ``span`` (sample offsets) is shaded as the speech; None shows ``placeholder``."""
        if audio is None or len(audio) == 0:
            self._peaks = np.zeros((0, 2), dtype=np.float32)
            self._samples = 0
            self._span = None
            self._placeholder = placeholder or "No audio"
        else:
            self._peaks = peak_envelope(np.asarray(audio, dtype=np.float32))
            self._samples = len(audio)
            self._sample_rate = sample_rate
            self._span = span
        self._playhead = None
        self.update()

    def set_playhead(self, seconds: float | None) -> None:
        self._playhead = seconds
        self.update()

    # --- painting ------------------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        rect = QRectF(self.rect())
        painter.fillRect(rect, QColor("#141518"))
        painter.setPen(QPen(QColor("#2a2c31")))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        if not self.has_audio:
            painter.setPen(QColor("#7d828b"))
            painter.drawText(rect.adjusted(12, 0, -12, 0),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)
            painter.end()
            return
        ruler = 14.0
        wave = rect.adjusted(1, 1, -1, -ruler)
        width = max(1, int(wave.width()))
        mid = wave.center().y()
        half = wave.height() / 2 - 2

        if self._span is not None:
            x0 = wave.left() + wave.width() * self._span[0] / self._samples
            x1 = wave.left() + wave.width() * self._span[1] / self._samples
            painter.fillRect(QRectF(x0, wave.top(), max(1.0, x1 - x0), wave.height()), QColor(90, 169, 255, 34))
            edge = QPen(QColor(90, 169, 255, 150))
            edge.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(edge)
            painter.drawLine(QPointF(x0, wave.top()), QPointF(x0, wave.bottom()))
            painter.drawLine(QPointF(x1, wave.top()), QPointF(x1, wave.bottom()))

        painter.setPen(QPen(QColor("#30333a")))
        painter.drawLine(QPointF(wave.left(), mid), QPointF(wave.right(), mid))

        columns = self._columns(width)
        painter.setPen(QPen(self._color))
        tops = mid - columns[:, 1].astype(np.float64) * half
        bottoms = np.maximum(mid - columns[:, 0].astype(np.float64) * half, tops + 1.0)
        left = wave.left() + 0.5
        audible = (bottoms - tops) > 1.5  # silence stays on the centre line
        lines = [QLineF(left + x, t, left + x, b)
                 for x, (t, b, keep) in enumerate(zip(tops.tolist(), bottoms.tolist(), audible.tolist())) if keep]
        if lines:
            painter.drawLines(*lines)

        self._draw_ruler(painter, QRectF(rect.left(), rect.bottom() - ruler, rect.width(), ruler))
        if self._playhead is not None and self.duration_seconds > 0:
            head = wave.left() + wave.width() * min(1.0, self._playhead / self.duration_seconds)
            painter.setPen(QPen(QColor("#ffffff"), 1))
            painter.drawLine(QPointF(head, rect.top()), QPointF(head, rect.bottom()))
        painter.end()

    def _columns(self, width: int) -> npt.NDArray[np.float32]:
        """The envelope resampled to ``width`` columns (min of mins / max of maxes)."""
        peaks = self._peaks
        if len(peaks) <= width:
            idx = np.minimum((np.arange(width) * len(peaks)) // width, len(peaks) - 1)
            return peaks[idx]
        edges = np.linspace(0, len(peaks), width + 1).astype(np.int64)
        lo = np.minimum.reduceat(peaks[:, 0], edges[:-1])
        hi = np.maximum.reduceat(peaks[:, 1], edges[:-1])
        return np.stack([lo, hi], axis=1)

    def _draw_ruler(self, painter: QPainter, area: QRectF) -> None:
        seconds = self.duration_seconds
        if seconds <= 0:
            return
        step: float = next((s for s in (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
                            if area.width() * s / seconds >= 48), 120.0)
        painter.setPen(QColor("#7d828b"))
        font = painter.font()
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.75))
        painter.setFont(font)
        t = 0.0
        while t <= seconds + 1e-9:
            x = area.left() + area.width() * t / seconds
            painter.drawLine(QPointF(x, area.top()), QPointF(x, area.top() + 3))
            if area.right() - x > 24:
                painter.drawText(QPointF(x + 2, area.bottom() - 2), f"{t:g}s")
            t += step
