"""The settings dialog and the consent dialog.

:class:`SettingsDialog` edits the panel's :class:`~revoice.ui.settings.PanelSettings`
(render options, device, takes, QC, a voice per speaker); :class:`ConsentDialog`
records the actor's consent to one character's voice profile. Both return what
was entered; the caller saves it when the dialog is accepted.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace

from PyQt6.QtCore import QDate, Qt
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from revoice.engine.characters.profile import Consent
from revoice.engine.voices.base import VoiceInfo
from revoice.ui.devices import CPU, DeviceChoice, DeviceProbe, cached_devices
from revoice.ui.docks import WARNING_STYLE
from revoice.ui.settings import LOUDNESS_CHOICES, MAX_TAKES, PanelSettings

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
        for row, speaker in enumerate(speakers):
            item = QTableWidgetItem(speaker)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.voices.setItem(row, 0, item)
            box = QComboBox()
            box.addItem("Automatic (its profile, or a stock voice no other character has)", DEFAULT_VOICE)
            for voice in voices:
                box.addItem(f"{voice.voice_id} — {voice.description}" if voice.description else voice.voice_id,
                            voice.voice_id)
            chosen = settings.speaker_voices.get(speaker, DEFAULT_VOICE)
            box.setCurrentIndex(max(0, box.findData(chosen)))
            self.voices.setCellWidget(row, 1, box)
            self.voice_boxes[speaker] = box
        self.profiles = QCheckBox("Voice profiles: match each character from the original dialogue")
        self.profiles.setObjectName("profilesCheck")
        self.profiles.setChecked(settings.voice_profiles)
        self.profiles.setToolTip("When the timeline's original audio can be read, each character gets a profile "
                                 "built from their own lines (as 'revoice run --profiles auto'): a stock voice "
                                 "tinted toward the actor (not a clone), or a clone with a cloning backend. "
                                 "About a minute per new character on CPU. Off: stock voices only. A voice "
                                 "chosen below for a speaker replaces their profile")
        self.commercial = QCheckBox("Commercial use only")
        self.commercial.setObjectName("commercialCheck")
        self.commercial.setChecked(settings.commercial)
        self.commercial.setToolTip("Refuse voices and converters whose model weights' licence does not allow "
                                   "commercial use (as 'revoice run --commercial'); the Voices dock shows each "
                                   "character's. A refused voice stops the run with its reason")
        self.convert = QComboBox()
        self.convert.setObjectName("convertCombo")
        for label, value in convert_choices():
            self.convert.addItem(label, value)
        self.convert.setCurrentIndex(max(0, self.convert.findData(settings.convert)))
        self.convert.setToolTip("Convert the voice-profile characters' speech to the actor's own timbre after "
                                "fitting (as 'revoice run --convert'): same length and onset. The converter's "
                                "weights come from its environment variable (see 'revoice voices')")
        voice_box = QGroupBox("Voices")
        voice_layout = QVBoxLayout(voice_box)
        voice_layout.addWidget(self.profiles)
        voice_layout.addWidget(self.commercial)
        convert_row = QHBoxLayout()
        convert_row.addWidget(QLabel("Voice conversion:"))
        convert_row.addWidget(self.convert, 1)
        voice_layout.addLayout(convert_row)
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
                       voice_profiles=self.profiles.isChecked(), commercial=self.commercial.isChecked(),
                       convert=str(self.convert.currentData() or ""), speaker_voices=voices)


def convert_choices() -> list[tuple[str, str]]:
    """The panel's voice-conversion choices: (label, ``--convert`` value; "" as each profile says)."""
    from revoice.engine.conversion.registry import discover_converters

    choices = [("As each voice profile says", ""), ("Convert to the actor's timbre (first that fits)", "auto"),
               ("Off: convert profiles speak as tints", "off")]
    choices += [(f"Convert with {spec.display_name}", spec.name) for spec in discover_converters()
                if spec.sample_rate > 0]  # a broken plugin is listed by 'revoice voices', not offered here
    return choices


def _spin(low: float, high: float, value: float, step: float, suffix: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(2)
    box.setSingleStep(step)
    box.setSuffix(suffix)
    box.setValue(value)
    return box


CONSENT_STATUS_CHOICES = (
    ("granted", "Granted — the actor agreed to this voice"),
    ("denied", "Denied — never render this voice (a stock voice speaks)"),
    ("unknown", "Unknown — not recorded yet (the lines are flagged)"),
)


class ConsentDialog(QDialog):
    """The actor's consent to one character's voice profile: status, who recorded it, date, scope, note.

    :meth:`result_consent` is the record as entered; the caller saves it into
    the profile when the dialog is accepted. Granted or denied needs a name in
    "Recorded by" (Save stays disabled until then).
    """

    def __init__(self, name: str, consent: Consent, *, voice_words: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Consent — {name}")
        self.setObjectName("consentDialog")
        self.setMinimumWidth(500)
        self.name = name
        heading = QLabel(f"Actor's consent — {html.escape(name)}")
        heading.setObjectName("consentHeading")
        heading.setStyleSheet("font-size: 15px; font-weight: 600; color: #e6e8eb")
        about = QLabel(
            f"<b>{html.escape(name)}</b>'s voice profile is made from the actor's own recorded voice"
            + (f" ({html.escape(voice_words)})" if voice_words else "") + ". Record the actor's consent before "
            "delivery: until then their lines render but are flagged. <i>Denied</i> never renders this voice.")
        about.setObjectName("consentAbout")
        about.setWordWrap(True)
        self.status = QComboBox()
        self.status.setObjectName("consentStatus")
        for key, label in CONSENT_STATUS_CHOICES:
            self.status.addItem(label, key)
        self.status.setCurrentIndex(max(0, self.status.findData(consent.status)))
        self.by = QLineEdit(consent.by)
        self.by.setObjectName("consentBy")
        self.by.setPlaceholderText("the editor or the actor's agent")
        self.date = QDateEdit()
        self.date.setObjectName("consentDate")
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        recorded = QDate.fromString(consent.date[:10], "yyyy-MM-dd") if consent.date else QDate()
        self.date.setDate(recorded if recorded.isValid() else QDate.currentDate())
        self.scope = QLineEdit(consent.scope)
        self.scope.setObjectName("consentScope")
        self.scope.setPlaceholderText("what it covers, e.g. this production")
        self.note = QLineEdit(consent.note)
        self.note.setObjectName("consentNote")
        self.note.setPlaceholderText("e.g. signed release on file")
        self.problem = QLabel("")
        self.problem.setObjectName("consentProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(WARNING_STYLE)

        form = QFormLayout()
        form.addRow("Status", self.status)
        form.addRow("Recorded by", self.by)
        form.addRow("Date", self.date)
        form.addRow("Scope", self.scope)
        form.addRow("Note", self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(about)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.status.currentIndexChanged.connect(lambda _index: self._check())
        self.by.textChanged.connect(lambda _text: self._check())
        self._check()

    @property
    def save_button(self) -> QPushButton:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        assert button is not None
        return button

    def selected_status(self) -> str:
        data = self.status.currentData()
        return data if isinstance(data, str) else "unknown"

    def _check(self) -> None:
        decided = self.selected_status() != "unknown"
        missing = decided and not self.by.text().strip()
        self.problem.setText("Who recorded the decision? Fill in “Recorded by”." if missing else "")
        self.problem.setVisible(missing)
        self.date.setEnabled(decided)
        self.save_button.setEnabled(not missing)

    def result_consent(self) -> Consent:
        """The consent as entered (the date only for a decision; unknown has none)."""
        status = self.selected_status()
        date = self.date.date().toString("yyyy-MM-dd") if status != "unknown" else ""
        return Consent(status=status, by=self.by.text().strip(), date=date, note=self.note.text().strip(),
                       scope=self.scope.text().strip())
