"""The window's two docks: the Characters dock and the Voices dock (one card per character).

:class:`CharactersDock` lists the speakers with their line count, voice and the
voice backend's licence; :class:`VoicesDock` shows a :class:`VoiceCard` per
character (tint / clone / convert and its converter / stock, similarity, consent, licence, commercial use,
tint strength).
What they show comes from :mod:`revoice.ui.voices`; what their buttons and
sliders do is :class:`~revoice.ui.voices_controller.VoicesController`'s.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from revoice.ui.voices import CLONE, CONVERT, STOCK, TINT, VoiceEntry

from revoice.report.voices import CONSENT_UNKNOWN_NOTE


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


KIND_COLORS = {TINT: "#f0b43c", CLONE: "#ff8f6b", CONVERT: "#7fc8a9", STOCK: "#8b919a"}
WARNING_STYLE = ("color: #ffd08a; background: #4a3014; border: 1px solid #8a5a1c; border-radius: 4px; "
                 "padding: 3px 6px")
"""A warning box (unknown consent; the consent dialog's problem too), unlike the kinds' plain coloured words."""
STRENGTH_STEPS = 100
"""The strength slider's resolution: 0..1 in hundredths."""


class VoiceCard(QFrame):
    """One character: kind in words, base voice, similarity, consent, licence, commercial use and the strength slider.

    Weights that do not allow commercial use show in the warning colour; unknown consent shows as a warning; the Consent… button asks for the consent dialog.
    """

    strengthChanged = pyqtSignal(str, float)
    consentRequested = pyqtSignal(str)
    voiceChosen = pyqtSignal(str, str)
    """Character, voice id chosen in the card's Voice menu ("" : automatic)."""

    def __init__(self, entry: VoiceEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.setObjectName("voiceCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        title = QLabel(f"<b>{html.escape(entry.name)}</b>")
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
        self.licence_label = _value(entry.licence_words or "not stated")
        self.commercial_label = _value(entry.commercial_words)
        self.commercial_label.setObjectName("commercialUse")
        self.commercial_label.setToolTip("Whether the licence of the voice's model weights allows commercial use "
                                         "(Settings: Commercial use only refuses the others)")
        if entry.commercial_refused:
            self.commercial_label.setStyleSheet("color: #ffd08a")
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
        self.voice_choice = voice_menu(entry)  # the editor gives the character another voice here
        self.voice_choice.currentIndexChanged.connect(
            lambda _index: self.voiceChosen.emit(self.entry.name, str(self.voice_choice.currentData() or "")))
        if entry.voice_choices:
            form.addRow("Voice", self.voice_choice)
        else:
            self.voice_choice.setVisible(False)
        if entry.kind != STOCK:
            form.addRow("Similarity", self.similarity_label)
        if entry.kind != STOCK or entry.consent_record is not None:
            form.addRow("Consent", self.consent_label)
        form.addRow("Licence", self.licence_label)
        form.addRow("Commercial use", self.commercial_label)

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
    voiceChosen = pyqtSignal(str, str)
    """Character, the voice id chosen on its card ("" : automatic; the window saves it in the settings)."""
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
            card.voiceChosen.connect(self.voiceChosen)
            self._list_layout.insertWidget(self._list_layout.count() - 1, card)
            self.cards[entry.name] = card
        self.header.setText(header)
        self.header.setVisible(bool(header))

    def set_editable(self, editable: bool) -> None:
        """Strength sliders and consent buttons are locked while a run may rewrite the profiles."""
        for card in self.cards.values():
            card.strength.setEnabled(editable)
            card.consent_button.setEnabled(editable)
            card.voice_choice.setEnabled(editable)



def _value(text: str) -> QLabel:
    """A selectable, wrapping value label of a voice card's form."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def voice_menu(entry: VoiceEntry) -> QComboBox:
    """A card's Voice menu: automatic (a profile or a distinct stock voice), or one of the backend's voices."""
    menu = QComboBox()
    menu.setObjectName("voiceChoice")
    menu.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    menu.setMinimumContentsLength(6)  # long voice descriptions do not widen the card: it takes the column's width
    menu.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    for voice_id, label in entry.voice_choices:
        menu.addItem(label, voice_id)
        menu.setItemData(menu.count() - 1, label, Qt.ItemDataRole.ToolTipRole)
    menu.setCurrentIndex(max(0, menu.findData(entry.chosen_voice)))
    menu.setToolTip("The voice that speaks this character. Automatic: its voice profile, or a stock voice no other "
                    "character has (variants such as joe~light are the voice with pitch and formants moved). "
                    "Revoice the lines to hear a change")
    return menu
