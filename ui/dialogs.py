"""The settings dialog and the Characters dock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.voices.base import VoiceInfo
from ui.devices import CPU, DeviceChoice, DeviceProbe, cached_devices
from ui.settings import LOUDNESS_CHOICES, MAX_TAKES, PanelSettings

DEFAULT_VOICE = ""


class SettingsDialog(QDialog):
    """Loudness preset, ratio bounds, true-peak ceiling, device, takes and QC, and a voice per speaker."""

    def __init__(self, settings: PanelSettings, *, speakers: Sequence[str], voices: Sequence[VoiceInfo],
                 backend_label: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Revoice settings")
        self.setObjectName("settingsDialog")
        self._settings = settings
        self.setMinimumWidth(520)

        self.loudness = QComboBox()
        for key, label in LOUDNESS_CHOICES:
            self.loudness.addItem(label, key)
        self.loudness.setCurrentIndex(max(0, self.loudness.findData(settings.loudness)))
        self.true_peak = _spin(-20.0, 0.0, settings.true_peak_dbtp, 0.5, " dBTP")
        self.min_ratio = _spin(0.35, 1.0, settings.min_ratio, 0.05, "")
        self.max_ratio = _spin(1.0, 3.0, settings.max_ratio, 0.05, "")
        self.min_ratio.setToolTip("Flag lines whose speech must be faster than this (0.80 = 20% faster)")
        self.max_ratio.setToolTip("Never slow speech down beyond this (1.25 = 25% slower)")

        self.device = QComboBox()
        self._set_devices(cached_devices() or [CPU], settings.device)
        self._probe = DeviceProbe(self)
        if cached_devices() is None:
            self.device.addItem("Looking for GPUs…", None)
            self._probe.ready.connect(lambda found: self._set_devices(found, self.selected_device()))
            self._probe.start()

        self.takes = QSpinBox()
        self.takes.setRange(1, MAX_TAKES)
        self.takes.setValue(min(max(settings.takes, 1), MAX_TAKES))
        self.takes.setToolTip("Render each line this many times (each take with its own seed) and pick "
                              "the one to place in the preview's takes chooser")
        self.qc = QCheckBox("Meter every take (ASR word error, voice, MOS)")
        self.qc.setChecked(settings.qc)
        self.qc.setToolTip("Speech recognition word error rate, similarity to the voice and predicted MOS for "
                           "every take; with several takes the best-scoring one is placed. Loading the meters "
                           "takes a few seconds at the first run; each take then takes a second or more to meter")

        render_box = QGroupBox("Render")
        form = QFormLayout(render_box)
        form.addRow("Loudness", self.loudness)
        form.addRow("True-peak ceiling", self.true_peak)
        form.addRow("Fastest ratio", self.min_ratio)
        form.addRow("Slowest ratio", self.max_ratio)
        form.addRow("Device", self.device)
        form.addRow("Takes per line", self.takes)
        form.addRow("QC meters", self.qc)

        self.voices = QTableWidget(len(speakers), 2)
        self.voices.setHorizontalHeaderLabels(["Speaker", "Voice"])
        self.voices.verticalHeader().setVisible(False)  # type: ignore[union-attr]
        header = self.voices.horizontalHeader()
        assert header is not None
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.voice_boxes: dict[str, QComboBox] = {}
        default_name = voices[0].voice_id if voices else "backend default"
        for row, speaker in enumerate(speakers):
            item = QTableWidgetItem(speaker)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.voices.setItem(row, 0, item)
            box = QComboBox()
            box.addItem(f"Default ({default_name})", DEFAULT_VOICE)
            for voice in voices:
                box.addItem(f"{voice.voice_id} — {voice.description}" if voice.description else voice.voice_id,
                            voice.voice_id)
            chosen = settings.speaker_voices.get(speaker, DEFAULT_VOICE)
            box.setCurrentIndex(max(0, box.findData(chosen)))
            self.voices.setCellWidget(row, 1, box)
            self.voice_boxes[speaker] = box
        voice_box = QGroupBox("Voices")
        voice_layout = QVBoxLayout(voice_box)
        if backend_label:
            about = QLabel(backend_label)
            about.setObjectName("licenceLabel")
            about.setWordWrap(True)
            voice_layout.addWidget(about)
        if speakers:
            voice_layout.addWidget(self.voices)
        else:
            voice_layout.addWidget(QLabel("Open a timeline to choose a voice per speaker."))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(render_box)
        layout.addWidget(voice_box, 1)
        layout.addWidget(buttons)

    def _set_devices(self, devices: Sequence[DeviceChoice], current: str) -> None:
        self.device.clear()
        for choice in devices:
            self.device.addItem(choice.label, choice.key)
        index = self.device.findData(current)
        if index < 0 and current != CPU.key:
            self.device.addItem(f"{current} (not found now)", current)
            index = self.device.count() - 1
        self.device.setCurrentIndex(max(0, index))

    def selected_device(self) -> str:
        data = self.device.currentData()
        return data if isinstance(data, str) else self._settings.device

    def result_settings(self) -> PanelSettings:
        """The settings as edited (the caller saves them when the dialog is accepted)."""
        voices = dict(self._settings.speaker_voices)
        for speaker, box in self.voice_boxes.items():
            chosen = box.currentData()
            if isinstance(chosen, str) and chosen:
                voices[speaker] = chosen
            else:
                voices.pop(speaker, None)
        low, high = self.min_ratio.value(), self.max_ratio.value()
        return replace(self._settings, loudness=str(self.loudness.currentData()),
                       true_peak_dbtp=self.true_peak.value(), min_ratio=min(low, 1.0), max_ratio=max(high, 1.0),
                       device=self.selected_device(), takes=self.takes.value(), qc=self.qc.isChecked(),
                       speaker_voices=voices)


def _spin(low: float, high: float, value: float, step: float, suffix: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(2)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setValue(value)
    return box


class CharactersDock(QDockWidget):
    """Speakers with their line count and voice, and the voice backend's licence."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Characters", parent)
        self.setObjectName("charactersDock")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Speaker", "Lines", "Voice"])
        self.table.verticalHeader().setVisible(False)  # type: ignore[union-attr]
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        assert header is not None
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.licence = QLabel("")
        self.licence.setObjectName("licenceLabel")
        self.licence.setWordWrap(True)
        self.licence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.licence)
        self.setWidget(body)
        self.setMinimumWidth(230)

    def show_characters(self, counts: dict[str, int], voices: dict[str, str], default_voice: str,
                        backend: str, licence: str) -> None:
        self.table.setRowCount(len(counts))
        for row, speaker in enumerate(sorted(counts)):
            voice = voices.get(speaker) or (f"{default_voice} (default)" if default_voice else "default")
            for column, text in enumerate((speaker, str(counts[speaker]), voice)):
                item = QTableWidgetItem(text)
                if column == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, item)
        if backend:
            self.licence.setText(f"<b>Voice backend:</b> {backend}<br><b>Licence:</b> {licence or 'not stated'}")
        else:
            self.licence.setText(licence)
