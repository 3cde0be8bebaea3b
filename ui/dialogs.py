"""The settings dialog, the Characters dock, the Voices dock and the consent dialog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from PyQt6.QtCore import QDate, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from revoice.engine.characters.profile import Consent
from revoice.engine.voices.base import VoiceInfo
from revoice.ui.devices import CPU, DeviceChoice, DeviceProbe, cached_devices
from revoice.ui.settings import LOUDNESS_CHOICES, MAX_TAKES, PanelSettings
from revoice.ui.voices import CLONE, STOCK, TINT, VoiceEntry

from revoice.report.voices import CONSENT_UNKNOWN_NOTE

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
        self.profiles = QCheckBox("Voice profiles: match each character from the original dialogue")
        self.profiles.setObjectName("profilesCheck")
        self.profiles.setChecked(settings.voice_profiles)
        self.profiles.setToolTip("When the timeline's original audio can be read, each character gets a profile "
                                 "built from their own lines (as 'revoice run --profiles auto'): a stock voice "
                                 "tinted toward the actor (not a clone), or a clone with a cloning backend. "
                                 "About a minute per new character on CPU. Off: stock voices only. A voice "
                                 "chosen below for a speaker replaces their profile")
        voice_box = QGroupBox("Voices")
        voice_layout = QVBoxLayout(voice_box)
        voice_layout.addWidget(self.profiles)
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
                       voice_profiles=self.profiles.isChecked(), speaker_voices=voices)


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
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)  # a long voice is elided, not the name
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
                elif column == 2:
                    item.setToolTip(text)
                self.table.setItem(row, column, item)
        if backend:
            self.licence.setText(f"<b>Voice backend:</b> {backend}<br><b>Licence:</b> {licence or 'not stated'}")
        else:
            self.licence.setText(licence)


KIND_COLORS = {TINT: "#f0b43c", CLONE: "#ff8f6b", STOCK: "#8b919a"}
WARNING_STYLE = ("color: #ffd08a; background: #4a3014; border: 1px solid #8a5a1c; border-radius: 4px; "
                 "padding: 3px 6px")
"""A warning box (unknown consent), unlike the kinds' plain coloured words."""
STRENGTH_STEPS = 100
"""The strength slider's resolution: 0..1 in hundredths."""


class VoiceCard(QFrame):
    """One character: kind in words, base voice, similarity, consent, licence and the strength slider.

    Unknown consent shows as a warning; the Consent… button asks for the consent dialog.
    """

    strengthChanged = pyqtSignal(str, float)
    consentRequested = pyqtSignal(str)

    def __init__(self, entry: VoiceEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.setObjectName("voiceCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        title = QLabel(f"<b>{_escape(entry.name)}</b>")
        self.kind_label = QLabel(entry.kind_words)
        self.kind_label.setObjectName("voiceKind")
        self.kind_label.setWordWrap(True)
        self.kind_label.setStyleSheet(f"color: {KIND_COLORS[entry.kind]}")
        self.base_label = _value(entry.base_voice or "—")
        self.similarity_label = _value(entry.similarity or "—")
        self.similarity_label.setToolTip("Speaker similarity (cosine) of the base voice to the actor's reference "
                                         "speech, before → after the tint")
        self.consent_label = _value(entry.consent)
        self.consent_warning = QLabel(f"⚠ {CONSENT_UNKNOWN_NOTE}: this character's lines are flagged")
        self.consent_warning.setObjectName("consentWarning")
        self.consent_warning.setWordWrap(True)
        self.consent_warning.setStyleSheet(WARNING_STYLE)
        self.consent_warning.setVisible(entry.consent_unknown)
        self.consent_button = QPushButton("Consent…")
        self.consent_button.setObjectName("consentButton")
        self.consent_button.setToolTip("Record the actor's consent to this voice: who, when, what it covers. "
                                       "Denied: a stock voice speaks the character")
        self.consent_button.clicked.connect(lambda: self.consentRequested.emit(self.entry.name))
        self.consent_button.setVisible(entry.consent_editable)
        self.licence_label = _value(entry.licence or "not stated")
        note = "; ".join(part for part in entry.note.split("; ") if part and part != CONSENT_UNKNOWN_NOTE)
        self.note_label = QLabel(note)  # unknown consent has its own warning above
        self.note_label.setObjectName("voiceNote")
        self.note_label.setWordWrap(True)
        self.note_label.setVisible(bool(note))
        self.note_label.setStyleSheet("color: #8b919a")

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(2)
        form.addRow("Base voice", self.base_label)
        if entry.kind != STOCK:
            form.addRow("Similarity", self.similarity_label)
        if entry.kind != STOCK or entry.consent_record is not None:
            form.addRow("Consent", self.consent_label)
        form.addRow("Licence", self.licence_label)

        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setObjectName("strengthSlider")
        self.strength.setRange(0, STRENGTH_STEPS)
        self.strength.setSingleStep(5)
        self.strength.setPageStep(10)
        self.strength.setTracking(False)  # saved when released (or per key step), not on every pixel of a drag
        self.strength.setToolTip("Tint strength: 0 is the stock voice (cleanest), 1 the full tint (most like the "
                                 "actor). Saved in the character's profile; revoice their lines to hear it")
        self.strength_value = QLabel("")
        self.strength_value.setMinimumWidth(32)
        if entry.strength is not None:
            self.strength.setValue(round(entry.strength * STRENGTH_STEPS))
            self._show_strength(self.strength.value())
            self.strength.sliderMoved.connect(self._show_strength)
            self.strength.valueChanged.connect(self._on_strength)
            row = QHBoxLayout()
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(self.strength, 1)
            row.addWidget(self.strength_value)
            form.addRow("Strength", row)
        else:
            self.strength.setVisible(False)

        heading = QHBoxLayout()
        heading.setContentsMargins(0, 0, 0, 0)
        heading.addWidget(title, 1)
        heading.addWidget(self.consent_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        layout.addLayout(heading)
        layout.addWidget(self.kind_label)
        layout.addWidget(self.consent_warning)
        layout.addLayout(form)
        layout.addWidget(self.note_label)

    def _show_strength(self, value: int) -> None:
        self.strength_value.setText(f"{value / STRENGTH_STEPS:.2f}")

    def _on_strength(self, value: int) -> None:
        self._show_strength(value)
        self.strengthChanged.emit(self.entry.name, value / STRENGTH_STEPS)


class VoicesDock(QDockWidget):
    """One card per character: which voice speaks it (tint / clone / stock) and the tint's strength."""

    strengthChanged = pyqtSignal(str, float)
    """Character, new strength 0..1 (the window saves it into the profile)."""
    consentRequested = pyqtSignal(str)
    """Character whose Consent… button was pressed (the window opens the consent dialog)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Voices", parent)
        self.setObjectName("voicesDock")
        self.cards: dict[str, VoiceCard] = {}
        self.entries: list[VoiceEntry] = []
        self.header = QLabel("")
        self.header.setObjectName("voicesHeader")
        self.header.setWordWrap(True)
        self.header.setStyleSheet("color: #a3a7ae")
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.setSpacing(6)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self._list)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.addWidget(self.header)
        layout.addWidget(scroll, 1)
        self.setWidget(body)
        self.setMinimumWidth(230)

    def show_entries(self, entries: Sequence[VoiceEntry], header: str = "") -> None:
        """Replace the cards with ``entries`` (one per character)."""
        for card in self.cards.values():
            self._list_layout.removeWidget(card)
            card.hide()  # deleted later: hidden now, so it never shows under the new cards
            card.deleteLater()
        self.cards = {}
        self.entries = list(entries)
        for entry in entries:
            card = VoiceCard(entry)
            card.strengthChanged.connect(self.strengthChanged)
            card.consentRequested.connect(self.consentRequested)
            self._list_layout.insertWidget(self._list_layout.count() - 1, card)
            self.cards[entry.name] = card
        self.header.setText(header)
        self.header.setVisible(bool(header))

    def set_editable(self, editable: bool) -> None:
        """Strength sliders and consent buttons are locked while a run may rewrite the profiles."""
        for card in self.cards.values():
            card.strength.setEnabled(editable)
            card.consent_button.setEnabled(editable)


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
        heading = QLabel(f"Actor's consent — {_escape(name)}")
        heading.setObjectName("consentHeading")
        heading.setStyleSheet("font-size: 15px; font-weight: 600; color: #e6e8eb")
        about = QLabel(
            f"<b>{_escape(name)}</b>'s voice profile is made from the actor's own recorded voice"
            + (f" ({_escape(voice_words)})" if voice_words else "") + ". Record the actor's consent before "
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


def _value(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _escape(text: str) -> str:
    import html

    return html.escape(text)
