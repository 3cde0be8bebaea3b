"""The preview pane: original and revoiced waveforms, readouts and play buttons for one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.lines_model import FAILED, STATUS_COLORS, LineRow
from ui.player import AudioPlayer, playback_problem
from ui.waveform import WaveformView

PREVIEW_RATE = 48000


def read_wav(path: Path) -> tuple[npt.NDArray[np.float32], int] | None:
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, ValueError):
        return None
    return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), int(rate)


class PreviewPane(QWidget):
    """Shows the selected line; ``play_revoiced`` / ``play_original`` are what Space and the buttons call."""

    def __init__(self, player: AudioPlayer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self._row: LineRow | None = None
        self._original: tuple[npt.NDArray[np.float32], int] | None = None
        self._revoiced_path: Path | None = None
        self._title = ""

        self.title = QLabel("No line selected")
        self.title.setObjectName("previewTitle")
        self.text = QLabel("")
        self.text.setObjectName("previewText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

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
        layout.addLayout(body, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.player.positionChanged.connect(self._on_position)
        self.show_row(None)

    @property
    def row(self) -> LineRow | None:
        return self._row

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
        from engine.original import read_original

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
            return
        audio = read_wav(render.path)
        if audio is None:
            self.revoiced_view.set_audio(None, placeholder=f"Cannot read {render.path.name}")
        else:
            self._revoiced_path = render.path
            self.revoiced_view.set_audio(audio[0], audio[1], span=(render.speech_start, render.speech_end))
        rep = render.report
        speech = rep.get("speech_seconds")
        if isinstance(speech, (int, float)):
            self.readouts["speech"].setText(f"{speech:.2f} s")
        ratio = rep.get("ratio")
        if isinstance(ratio, (int, float)):
            self.readouts["ratio"].setText(f"{ratio:.2f}×")
        lufs, target = rep.get("loudness_lufs"), rep.get("loudness_target_lufs")
        if isinstance(lufs, (int, float)):
            self.readouts["loudness"].setText(f"{lufs:.1f} LUFS")
        if isinstance(target, (int, float)):
            note = str(rep.get("loudness_note") or "")
            short = note if len(note) <= 12 else ("match" if note.startswith("matched") else "fallback")
            self.readouts["target"].setText(f"{target:.1f} LUFS" + (_muted(short) if short else ""))
            self.readouts["target"].setToolTip(note)
        peak = rep.get("true_peak_dbtp")
        if isinstance(peak, (int, float)):
            ceiling = render.settings.get("true_peak_ceiling_dbtp")
            self.readouts["peak"].setText(f"{peak:.1f} dBTP")
            self.readouts["peak"].setToolTip(f"ceiling {ceiling:.1f} dBTP" if isinstance(ceiling, (int, float)) else "")
        self.title.setText(f"{self._title}  \u00b7  voice {render.voice_id} ({render.backend})")
        self.flags.setText(_flag_html(render.flags, "flagged") or
                           f"<span style='color:{STATUS_COLORS['done']}'>No flags</span>")

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


def _muted(text: str) -> str:
    import html

    return f"<span style='color:#80858e; font-family:sans-serif; font-size:small'>&nbsp; {html.escape(text)}</span>"


def _flag_html(flags: tuple[str, ...], status: str) -> str:
    if not flags:
        return ""
    color = STATUS_COLORS.get(status, STATUS_COLORS["flagged"])
    import html

    return "<br>".join(f"<span style='color:{color}'>\u26a0 {html.escape(flag)}</span>" for flag in flags)
