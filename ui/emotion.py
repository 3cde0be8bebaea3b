"""The panel's emotion: each line's emotion in words, where it came from, and the per-line editor.

A line's emotion is decided as a run decides it
(:func:`revoice.engine.emotion.labels.line_emotion`): the editor's override
from this panel (or an opened job file), else the line's own request (a
subtitle tag, an ASS style, a marker), else the run's, else the default,
which is the original take's performance when the line has original audio
and neutral when it has none. :func:`emotion_cell` is the lines table's
Emotion column (``angry 0.8 · subtitle tag``), :func:`emotion_tip` its
tooltip, with the rendered take's :class:`revoice.engine.records.EmotionUse`
once the line is revoiced.

:class:`EmotionEditor` is the per-line control in the preview pane: a
method / label combo, an intensity (or strength) slider, a free-text
description read with :func:`~revoice.engine.emotion.labels.parse_emotion`
(its error shown inline), Reset, and the A/B-against-neutral buttons. It
only emits what the editor asked for; the controller
(:mod:`revoice.ui.emotion_controller`) records it.
"""

from __future__ import annotations

import html
from dataclasses import replace

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
)
from revoice.engine.emotion.labels import LABELS, Emotion, line_emotion, parse_emotion
from revoice.engine.model import DialogueLine, RenderedLine
from revoice.engine.records import EmotionUse

PANEL_SOURCE = "panel"
"""The source of an emotion chosen in the panel."""
AB_SOURCE = "panel A/B"
"""The source of the neutral variant the A/B button renders."""
ERROR_COLOR = "#ff6b6b"
NOTE_COLOR = "#8b919a"
SLIDER_STEPS = 100
"""The intensity / strength slider's resolution: 0..1 in hundredths."""

CHOICES: tuple[tuple[str, str], ...] = (("original", "Original take"), ("neutral", "Neutral"),
                                        *((label, label.capitalize()) for label in LABELS[1:]))
"""The combo's entries: (key, text); a key is a method (original, neutral) or a label."""
REFERENCE_KEY = "reference"
"""Added to the combo only while a line's emotion is another recording's (from a job file)."""

SOURCE_WORDS = {"subtitle tag": "the subtitle tag", "ASS style": "the ASS style", "marker": "the marker",
                "job file": "the job file", "CLI": "the run's --emotion", "panel": "this panel",
                "panel A/B": "the A/B comparison"}


def has_original(line: DialogueLine) -> bool:
    """Whether the line has original audio on disk under it (then ``original`` is its default)."""
    return any(source.available for source in line.sources)


def effective_emotion(line: DialogueLine, override: Emotion | None, run: Emotion | None = None) -> Emotion:
    """The emotion ``line`` renders with: the panel's ``override``, its own request, the run's, the default."""
    return line_emotion(override or line.emotion, run=run, has_original=has_original(line))


def emotion_words(emotion: Emotion) -> str:
    """Short, for the table: ``angry 0.8``, ``original take``, ``original take 70%``, ``neutral``."""
    if emotion.method == "label" and emotion.label != "neutral" and emotion.intensity > 0:
        return f"{emotion.label} {emotion.intensity:.2g}"
    if emotion.method == "original":
        return "original take" if emotion.strength >= 1.0 else f"original take {emotion.strength:.0%}"
    if emotion.method == "reference":
        name = emotion.reference.replace("\\", "/").rsplit("/", 1)[-1]
        return f"reference {name}" + ("" if emotion.strength >= 1.0 else f" {emotion.strength:.0%}")
    return "neutral"


def emotion_cell(line: DialogueLine, override: Emotion | None, run: Emotion | None = None) -> str:
    """The Emotion column: ``angry 0.8 · subtitle tag``, ``original take · default``, ``happy 0.6 · panel``."""
    emotion = effective_emotion(line, override, run)
    return f"{emotion_words(emotion)} \u00b7 {emotion.source or 'default'}"


def source_note(line: DialogueLine, override: Emotion | None, run: Emotion | None = None) -> str:
    """One sentence for the editor: where the shown emotion comes from, and what Reset goes back to."""
    emotion = effective_emotion(line, override, run)
    source = emotion.source or "default"
    if override is not None:
        own = effective_emotion(line, None, run)
        return (f"Set in {SOURCE_WORDS.get(override.source, override.source or 'this panel')}; "
                f"Reset goes back to {emotion_words(own)} ({own.source or 'default'})")
    if source.startswith("default"):
        why = ("the original take's performance, carried into the new line" if emotion.method == "original"
               else "neutral: no original audio under this line" if not has_original(line)
               else "neutral")
        return f"Default: {why}"
    return f"From {SOURCE_WORDS.get(source, source)}"


def emotion_tip(line: DialogueLine, override: Emotion | None, run: Emotion | None,
                render: RenderedLine | None) -> str:
    """The Emotion column's tooltip: what is asked and from where, then what the placed take's render did."""
    emotion = effective_emotion(line, override, run)
    out = [f"Asked: {emotion.words()} \u00b7 {emotion.source or 'default'}"]
    if override is not None:
        own = effective_emotion(line, None, run)
        out.append(f"The line's own: {own.words()} \u00b7 {own.source or 'default'}")
    use = render.report.emotion if render is not None else None
    if use is not None:
        out.append(use_words(use))
    elif render is not None:
        out.append("Rendered before emotion was reported")
    return "\n".join(out)


def use_words(use: EmotionUse) -> str:
    """A render's :class:`EmotionUse` for people: what was applied, by what, and what the pitch did."""
    head = f"Rendered: {use.words or use.method or 'neutral'}"
    if use.source:
        head += f" ({use.source})"
    if use.applied_by:
        head += f", applied by {'the voice' if use.applied_by == 'backend' else use.applied_by}"
    out = [head]
    numbers = []
    if use.f0_shift_semitones is not None:
        numbers.append(f"F0 {use.f0_shift_semitones:+.1f} st")
    if use.f0_range_factor is not None:
        numbers.append(f"range \u00d7{use.f0_range_factor:.2f}")
    if use.energy_db is not None:
        numbers.append(f"energy {use.energy_db:+.1f} dB")
    if use.contour_correlation is not None:
        numbers.append(f"contour r {use.contour_correlation:.2f}")
    if numbers:
        out.append("Measured against the neutral reading: " + ", ".join(numbers))
    if use.note:
        out.append(f"Note: {use.note}")
    return "\n".join(out)


class EmotionEditor(QFrame):
    """The per-line emotion control: combo, intensity slider, description, Reset, A/B against neutral.

    ``emotionChosen(Emotion)`` carries what the editor set (source ``panel``);
    ``resetRequested`` asks to drop the override; ``abRequested``, ``playA`` and
    ``playB`` are the A/B buttons. :meth:`show_emotion` fills the controls without emitting.
    """

    emotionChosen = pyqtSignal(object)
    resetRequested = pyqtSignal()
    abRequested = pyqtSignal()
    playA = pyqtSignal()
    playB = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("emotionEditor")
        self._shown = Emotion()
        self._filling = False
        caption = QLabel("EMOTION")
        caption.setObjectName("waveCaption")
        self.combo = QComboBox()
        self.combo.setObjectName("emotionCombo")
        for key, text in CHOICES:
            self.combo.addItem(text, key)
        self.combo.setToolTip("How the selected lines should feel: the original take's performance, neutral, "
                              "or a label with an intensity")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("emotionSlider")
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setSingleStep(5)
        self.slider.setPageStep(10)
        self.slider.setTracking(False)  # recorded when released (or per key step), not on every pixel
        self.slider.setFixedWidth(110)
        self.slider_value = QLabel("")
        self.slider_value.setMinimumWidth(36)
        self.description = QLineEdit()
        self.description.setObjectName("emotionDescription")
        self.description.setPlaceholderText("or describe it: angrily, voice shaking")
        self.description.setToolTip("A description in English or Chinese, or original[:0.7], neutral, "
                                    "angry[:0.8]; Enter (or leaving the field) applies it")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Drop the panel's emotion: back to the subtitle tag, marker or default")
        self.ab_button = QPushButton("A/B vs neutral")
        self.ab_button.setObjectName("abButton")
        self.ab_button.setToolTip("Render this line neutral too (kept apart, never placed), to compare: "
                                  "A is the emotion, B the neutral reading")
        self.play_a_button = QPushButton("\u25b6 A")
        self.play_b_button = QPushButton("\u25b6 B")
        self.play_a_button.setToolTip("Play A: the placed take, with the emotion")
        self.play_b_button.setToolTip("Play B: the same line rendered neutral")
        for button in (self.play_a_button, self.play_b_button):
            button.setFixedWidth(48)
        self.note = QLabel("")
        self.note.setObjectName("emotionNote")
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.setWordWrap(True)
        self.error = ""

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        row.addWidget(caption)
        row.addWidget(self.combo)
        row.addWidget(self.slider)
        row.addWidget(self.slider_value)
        row.addWidget(self.description, 1)
        row.addWidget(self.reset_button)
        row.addSpacing(10)
        row.addWidget(self.ab_button)
        row.addWidget(self.play_a_button)
        row.addWidget(self.play_b_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.note)

        self.combo.currentIndexChanged.connect(self._on_combo)
        self.slider.sliderMoved.connect(self._show_amount)
        self.slider.valueChanged.connect(self._on_slider)
        self.description.editingFinished.connect(self.apply_description)  # Enter, or leaving the field
        self.reset_button.clicked.connect(self.resetRequested)
        self.ab_button.clicked.connect(self.abRequested)
        self.play_a_button.clicked.connect(self.playA)
        self.play_b_button.clicked.connect(self.playB)
        self.show_emotion(None)

    # --- showing ----------------------------------------------------------------------------------------------
    def show_emotion(self, emotion: Emotion | None, *, note: str = "", edited: bool = False) -> None:
        """Fill the controls with ``emotion`` (None: no line, all disabled) and the source ``note``."""
        self._filling = True
        try:
            self.error = ""
            index = self.combo.findData(REFERENCE_KEY)
            if index >= 0:
                self.combo.removeItem(index)
            if emotion is None:
                self._shown = Emotion()
                self.combo.setCurrentIndex(self.combo.findData("neutral"))
                self.description.clear()
                self._set_note("")
                self.setEnabled(False)
                return
            self.setEnabled(True)
            self._shown = emotion
            key = emotion.method if emotion.method != "label" else emotion.label
            if key == REFERENCE_KEY:
                name = emotion.reference.replace("\\", "/").rsplit("/", 1)[-1]
                self.combo.addItem(f"Reference {name}", REFERENCE_KEY)
            self.combo.setCurrentIndex(max(0, self.combo.findData(key)))
            amount = emotion.intensity if emotion.method == "label" else emotion.strength
            self.slider.setValue(round(amount * SLIDER_STEPS) if key != "neutral" else SLIDER_STEPS)
            self.slider.setEnabled(key != "neutral")
            self._show_amount(self.slider.value())
            self.description.setText(emotion.description)
            self.reset_button.setEnabled(edited)
            self._set_note(note)
        finally:
            self._filling = False

    def set_ab(self, *, can_compare: bool, a_ready: bool, b_ready: bool) -> None:
        """Enable the A/B buttons: compare when the line has an emotion, play A / B when their WAVs exist."""
        self.ab_button.setEnabled(can_compare)
        self.play_a_button.setEnabled(a_ready)
        self.play_b_button.setEnabled(b_ready)

    def show_error(self, text: str) -> None:
        """One line under the controls, in red (a description that could not be read)."""
        self.error = text
        self.note.setText(f"<span style='color:{ERROR_COLOR}'>\u26a0 {html.escape(text)}</span>")

    def _set_note(self, text: str) -> None:
        self.note.setText(f"<span style='color:{NOTE_COLOR}'>{html.escape(text)}</span>" if text else "")

    def _show_amount(self, value: int) -> None:
        self.slider_value.setText(f"{value}%" if self.slider.isEnabled() else "")

    # --- what the editor asks ------------------------------------------------------------------------------------
    def chosen(self) -> Emotion:
        """The emotion the combo and the slider say now (source ``panel``; no description)."""
        key = str(self.combo.currentData())
        amount = self.slider.value() / SLIDER_STEPS
        if key == "neutral":
            return Emotion(source=PANEL_SOURCE)
        if key == "original":
            return Emotion(method="original", strength=amount, source=PANEL_SOURCE)
        if key == REFERENCE_KEY:
            return replace(self._shown, strength=amount, description="", source=PANEL_SOURCE)
        return Emotion(method="label", label=key, intensity=amount, source=PANEL_SOURCE)

    def apply_description(self) -> bool:
        """Read the description field (Enter); a bad one shows its one-line error here, not a dialog."""
        text = self.description.text().strip()
        if not text or text == self._shown.description:
            return False
        try:
            emotion = parse_emotion(text, source=PANEL_SOURCE)
        except ValueError as exc:
            self.show_error(str(exc))
            return False
        self.emotionChosen.emit(emotion)
        return True

    def _on_combo(self, _index: int) -> None:
        if self._filling:
            return
        key = str(self.combo.currentData())
        self.slider.setEnabled(key != "neutral")
        if key != "neutral" and self._shown.method == "neutral":
            self._filling = True
            self.slider.setValue(SLIDER_STEPS if key == "original" else 70)  # a label starts at 0.7
            self._filling = False
        self._show_amount(self.slider.value())
        self.emotionChosen.emit(self.chosen())

    def _on_slider(self, value: int) -> None:
        self._show_amount(value)
        if not self._filling:
            self.emotionChosen.emit(self.chosen())
