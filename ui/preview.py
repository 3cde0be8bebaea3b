"""The preview pane: original and revoiced waveforms, readouts, play buttons, the takes chooser and the
emotion control (:class:`revoice.ui.emotion.EmotionEditor`) for one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from revoice.engine.model import RenderedLine
from revoice.ui.emotion import EmotionEditor
from revoice.ui.lines_model import FAILED, FLAGGED, STATUS_COLORS, LineRow
from revoice.ui.player import AudioPlayer, playback_problem
from revoice.ui.waveform import WaveformView

from revoice.takes import TakeInfo, best_take, chosen_by_editor, qc_of, takes_of

PREVIEW_RATE = 48000


def read_wav(path: Path) -> tuple[npt.NDArray[np.float32], int] | None:
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, ValueError):
        return None
    return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), int(rate)


def take_label(info: TakeInfo, count: int, best: int | None) -> str:
    """One entry of the takes chooser: the take's score, WER, voice similarity, MOS and flags."""
    star = " \u2605" if info.metered and info.take == best and count > 1 else ""
    parts = [f"Take {info.take}/{count}{star}"]
    if info.metered:
        parts.append(f"score {info.score:.2f}")
        error = info.error
        parts.append(f"{info.error_name} {error:.2f}" if error is not None else f"{info.error_name} –")
        parts.append(f"voice {info.similarity:.2f}" if info.similarity is not None else "voice –")
        parts.append(f"MOS {info.mos:.1f}" if info.mos is not None else "MOS –")
    else:
        parts.append("not metered")
    count_flags = len(info.flags)
    parts.append(f"\u26a0 {count_flags} flag{'s' if count_flags != 1 else ''}" if count_flags else "no flags")
    return " \u00b7 ".join(parts)


def take_tooltip(info: TakeInfo) -> str:
    lines = [f"{info.file}"]
    if info.heard is not None:
        lines.append(f"ASR heard: \u201c{info.heard}\u201d")
    if not info.metered:
        lines.append("QC meters were off: turn them on in Settings to rank takes")
    lines += [f"\u26a0 {flag}" for flag in info.flags]
    return "\n".join(lines)


class PreviewPane(QWidget):
    """Shows the selected line; ``play_revoiced`` / ``play_original`` are what Space and the buttons call.

    With several takes (or QC on) a takes chooser lists each take's score,
    word error rate, voice similarity, MOS and flags; choosing one emits
    ``takeChosen(line_id, take)`` and the window places it without re-rendering.
    """

    takeChosen = pyqtSignal(str, int)

    def __init__(self, player: AudioPlayer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self._row: LineRow | None = None
        self._original: tuple[npt.NDArray[np.float32], int] | None = None
        self._revoiced_path: Path | None = None
        self._title = ""
        self._takes_expected = False

        self.title = QLabel("No line selected")
        self.title.setObjectName("previewTitle")
        self.text = QLabel("")
        self.text.setObjectName("previewText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.emotion = EmotionEditor()
        """The line's emotion control (the window records what it asks, A/B included)."""

        self.original_view = WaveformView("#8b919a")
        self.revoiced_view = WaveformView("#5aa9ff")
        self.play_original_button = QPushButton("\u25b6  Original")
        self.play_revoiced_button = QPushButton("\u25b6  Revoiced")
        for button in (self.play_original_button, self.play_revoiced_button):
            button.setFixedWidth(112)
        self.play_original_button.clicked.connect(self.play_original)
        self.play_revoiced_button.clicked.connect(self.play_revoiced)

        self.readouts: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(2)
        names = [("slot", "Slot"), ("speech", "Speech"), ("ratio", "Ratio"), ("loudness", "Loudness"),
                 ("target", "Target"), ("peak", "True peak")]
        for i, (key, label) in enumerate(names):
            caption = QLabel(label)
            caption.setObjectName("readoutCaption")
            value = QLabel("–")
            value.setObjectName("readoutValue")
            value.setTextFormat(Qt.TextFormat.RichText)
            grid.addWidget(caption, i, 0)
            grid.addWidget(value, i, 1)
            self.readouts[key] = value
        grid.setRowStretch(len(names), 1)
        self.flags = QLabel("")
        self.flags.setWordWrap(True)
        self.flags.setObjectName("previewFlags")

        self.take_box = QComboBox()
        self.take_box.setObjectName("takeBox")
        self.take_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.take_box.setMinimumContentsLength(24)
        self.take_box.setToolTip("Pick the take to place: [ and ] step through the takes, Space plays it")
        self.take_box.currentIndexChanged.connect(self._on_take_index)
        self.take_note = QLabel("")
        self.take_note.setObjectName("takeNote")
        self.take_note.setTextFormat(Qt.TextFormat.PlainText)
        self.take_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.take_bar = QWidget()
        self.take_bar.setObjectName("takeBar")
        bar = QHBoxLayout(self.take_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(10)
        bar.addWidget(self.take_box)
        bar.addWidget(self.take_note, 1)
        self.take_caption = QLabel("TAKE")
        self.take_caption.setObjectName("waveCaption")

        waves = QGridLayout()
        waves.setHorizontalSpacing(8)
        waves.setVerticalSpacing(6)
        for row, (name, view, button) in enumerate([
                ("Original", self.original_view, self.play_original_button),
                ("Revoiced", self.revoiced_view, self.play_revoiced_button)]):
            side = QVBoxLayout()
            caption = QLabel(name.upper())
            caption.setObjectName("waveCaption")
            side.addWidget(caption)
            side.addWidget(button)
            side.addStretch(1)
            waves.addLayout(side, row, 0)
            waves.addWidget(view, row, 1)
        waves.addWidget(self.take_caption, 2, 0, Qt.AlignmentFlag.AlignVCenter)
        waves.addWidget(self.take_bar, 2, 1)

        readout_box = QFrame()
        readout_box.setObjectName("readoutBox")
        readout_box.setFixedWidth(300)
        side = QVBoxLayout(readout_box)
        side.setContentsMargins(12, 8, 12, 8)
        side.addLayout(grid)
        side.addWidget(self.flags)
        side.addStretch(1)

        body = QHBoxLayout()
        body.addLayout(waves, 1)
        body.addWidget(readout_box)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addWidget(self.title)
        layout.addWidget(self.text)
        layout.addWidget(self.emotion)
        layout.addLayout(body, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.player.positionChanged.connect(self._on_position)
        self.show_row(None)

    @property
    def row(self) -> LineRow | None:
        return self._row

    @property
    def revoiced_path(self) -> Path | None:
        """The WAV that Play / Space plays: the placed take of the shown line."""
        return self._revoiced_path

    def set_takes_expected(self, expected: bool) -> None:
        """Keep the takes chooser in view (several takes or QC on), so the layout does not jump between lines."""
        self._takes_expected = expected
        self._show_takes(self._row.render if self._row is not None else None)

    def show_row(self, row: LineRow | None, *, title: str = "") -> None:
        """Show ``row`` (None clears); reads the original and the revoiced audio."""
        self._row = row
        self._original = None
        self._revoiced_path = None
        for value in self.readouts.values():
            value.setText("–")
        if row is None:
            self.title.setText("No line selected")
            self.text.setText("Select a line to see and hear it.")
            self.original_view.set_audio(None, placeholder="No line selected")
            self.revoiced_view.set_audio(None, placeholder="")
            self.flags.setText("")
            self._show_takes(None)
            self._update_buttons()
            return
        line = row.line
        self._title = title or f"{line.line_id} · {line.speaker}"
        self.title.setText(self._title)
        self.text.setText(row.text)
        self.readouts["slot"].setText(f"{line.record.duration_seconds:.2f} s  ({line.record.duration} fr)")
        self._show_original(row)
        self._show_revoiced(row)
        self._update_buttons()

    def _show_original(self, row: LineRow) -> None:
        from revoice.engine.original import read_original

        line = row.line
        original = None
        try:
            original = read_original(line, PREVIEW_RATE)
        except (OSError, RuntimeError, ValueError) as exc:
            self.original_view.set_audio(None, placeholder=f"Cannot read the original audio: {exc}")
            return
        if original is None:
            missing = [s.media_url or s.clip_name for s in line.sources if s.media_path is None]
            if not line.sources:
                why = "No audio clip under this line on the timeline."
            elif missing:
                why = f"Original audio not found: {', '.join(dict.fromkeys(missing))}. Relink the media to hear it."
            else:
                why = "The original audio could not be read."
            self.original_view.set_audio(None, placeholder=why)
            return
        self._original = (original.audio, original.sample_rate)
        self.original_view.set_audio(original.audio, original.sample_rate)

    def _show_revoiced(self, row: LineRow) -> None:
        render = row.render
        if render is None:
            placeholder = {FAILED: f"Failed: {row.message}"}.get(
                row.status, "Not revoiced yet. Press Ctrl+R to revoice the selected lines.")
            self.revoiced_view.set_audio(None, placeholder=placeholder)
            self.flags.setText(_flag_html(row.flags, FAILED if row.status == FAILED else "flagged"))
            self._show_takes(None)
            return
        audio = read_wav(render.path)
        if audio is None:
            self.revoiced_view.set_audio(None, placeholder=f"Cannot read {render.path.name}")
        else:
            self._revoiced_path = render.path
            self.revoiced_view.set_audio(audio[0], audio[1], span=(render.speech_start, render.speech_end))
        rep = render.report
        speech = rep.speech_seconds
        if isinstance(speech, (int, float)):
            self.readouts["speech"].setText(f"{speech:.2f} s")
        ratio = rep.ratio
        if isinstance(ratio, (int, float)):
            self.readouts["ratio"].setText(f"{ratio:.2f}×")
        lufs, target = rep.loudness_lufs, rep.loudness_target_lufs
        if isinstance(lufs, (int, float)):
            self.readouts["loudness"].setText(f"{lufs:.1f} LUFS")
        if isinstance(target, (int, float)):
            note = str(rep.loudness_note or "")
            short = note if len(note) <= 12 else ("match" if note.startswith("matched") else "fallback")
            self.readouts["target"].setText(f"{target:.1f} LUFS" + (_muted(short) if short else ""))
            self.readouts["target"].setToolTip(note)
        peak = rep.true_peak_dbtp
        if isinstance(peak, (int, float)):
            ceiling = render.settings.get("true_peak_ceiling_dbtp")
            self.readouts["peak"].setText(f"{peak:.1f} dBTP")
            self.readouts["peak"].setToolTip(f"ceiling {ceiling:.1f} dBTP" if isinstance(ceiling, (int, float)) else "")
        self.title.setText(f"{self._title}  \u00b7  voice {render.voice_id} ({render.backend})")
        self.flags.setText(_flag_html(render.flags, "flagged") or
                           f"<span style='color:{STATUS_COLORS['done']}'>No flags</span>")
        self._show_takes(render)

    # --- takes ---------------------------------------------------------------------------------------------------
    def _show_takes(self, render: RenderedLine | None) -> None:
        """Fill the chooser with ``render``'s takes (the placed one current); hidden when there is nothing to pick."""
        takes = takes_of(render)
        metered = qc_of(render) is not None
        self.take_box.blockSignals(True)
        self.take_box.clear()
        best = best_take(takes)
        for info in takes:
            self.take_box.addItem(take_label(info, len(takes), best), info.take)
            index = self.take_box.count() - 1
            self.take_box.setItemData(index, take_tooltip(info), Qt.ItemDataRole.ToolTipRole)
            if info.flags:
                self.take_box.setItemData(index, QColor(STATUS_COLORS[FLAGGED]), Qt.ItemDataRole.ForegroundRole)
        if render is not None:
            self.take_box.setCurrentIndex(max(0, self.take_box.findData(render.take)))
        else:
            self.take_box.addItem("No takes yet: revoice the line", None)
        self.take_box.blockSignals(False)
        self.take_box.setEnabled(len(takes) > 1)
        visible = self._takes_expected or len(takes) > 1 or metered
        self.take_caption.setVisible(visible)
        self.take_bar.setVisible(visible)
        self.take_note.setText(_take_note(render, takes))
        placed = next((info for info in takes if render is not None and info.take == render.take), None)
        self.take_note.setToolTip(take_tooltip(placed) if placed is not None else "")
        self.take_box.setToolTip((take_tooltip(placed) + "\n\n" if placed is not None else "")
                                 + "Pick the take to place: [ and ] step through the takes, Space plays it")

    def shown_takes(self) -> list[int]:
        """The takes the chooser offers, in order."""
        return [int(self.take_box.itemData(i)) for i in range(self.take_box.count())
                if isinstance(self.take_box.itemData(i), int)]

    def select_take(self, take: int) -> bool:
        """Choose ``take`` as if picked in the chooser (emits ``takeChosen`` when it changes)."""
        index = self.take_box.findData(take)
        if index < 0 or not self.take_box.isEnabled():
            return False
        self.take_box.setCurrentIndex(index)
        return True

    def step_take(self, step: int) -> bool:
        """The previous (-1) or next (+1) take, wrapping around."""
        count = self.take_box.count()
        if count < 2 or not self.take_box.isEnabled():
            return False
        self.take_box.setCurrentIndex((self.take_box.currentIndex() + step) % count)
        return True

    def _on_take_index(self, index: int) -> None:
        take = self.take_box.itemData(index)
        row = self._row
        if row is not None and row.render is not None and isinstance(take, int) and take != row.render.take:
            self.takeChosen.emit(row.line_id, take)

    # --- playback ------------------------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        problem = playback_problem()
        self.play_original_button.setEnabled(problem is None and self._original is not None)
        self.play_revoiced_button.setEnabled(problem is None and self._revoiced_path is not None)
        if problem is not None:
            for button in (self.play_original_button, self.play_revoiced_button):
                button.setToolTip(problem)
        else:
            self.play_original_button.setToolTip("Play the original take under this line")
            self.play_revoiced_button.setToolTip("Play the revoiced WAV (Space)")

    def play_original(self) -> bool:
        if self._original is None or self._row is None:
            return False
        self.revoiced_view.set_playhead(None)
        return self.player.play_array(self._original[0], self._original[1], f"original:{self._row.line_id}")

    def play_revoiced(self) -> bool:
        if self._revoiced_path is None or self._row is None:
            return False
        self.original_view.set_playhead(None)
        return self.player.play_file(self._revoiced_path, f"revoiced:{self._row.line_id}")

    def play_neutral(self, path: Path) -> bool:
        """Play B of an A/B: the shown line's neutral variant at ``path`` (never the placed take)."""
        if self._row is None or not path.exists():
            return False
        self.original_view.set_playhead(None)
        return self.player.play_file(path, f"neutral:{self._row.line_id}")

    def toggle_play(self) -> bool:
        """Space: stop if playing, else play the revoiced line (or the original when not revoiced yet)."""
        if self.player.is_playing():
            self.player.stop()
            return True
        return self.play_revoiced() or self.play_original()

    def _on_position(self, seconds: float) -> None:
        current = self.player.current
        view = self.original_view if current.startswith("original:") else self.revoiced_view
        view.set_playhead(seconds)


def _take_note(render: RenderedLine | None, takes: list[TakeInfo]) -> str:
    if render is None:
        return ""
    placed = next((info for info in takes if info.take == render.take), None)
    if len(takes) <= 1:
        how = "one take"
    elif chosen_by_editor(render):
        how = "picked by you"
    elif placed is not None and placed.metered:
        how = "best score"
    else:
        how = "first take (QC off: not ranked)"
    return how


def _muted(text: str) -> str:
    import html

    return f"<span style='color:#80858e; font-family:sans-serif; font-size:small'>&nbsp; {html.escape(text)}</span>"


def _flag_html(flags: tuple[str, ...], status: str) -> str:
    if not flags:
        return ""
    color = STATUS_COLORS.get(status, STATUS_COLORS["flagged"])
    import html

    return "<br>".join(f"<span style='color:{color}'>\u26a0 {html.escape(flag)}</span>" for flag in flags)
