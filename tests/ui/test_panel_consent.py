"""The consent dialog: reached from the Voices dock, saved into the character's profile, unknown shown as a warning.

Real voice profiles are written with the real ProfileStore (no model runs). The screenshot
``consent_dialog.png`` is the panel with the dialog open over it (REVOICE_SCREENSHOT_DIR=docs/screenshots
puts it in the docs).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from panel_helpers import WindowFactory, settle, wait_until
from PyQt6.QtCore import QDate, QPoint, QTimer
from PyQt6.QtGui import QColor, QPainter, QPixmap
from PyQt6.QtWidgets import QApplication
from revoice.engine.characters.character_backend import CONSENT_UNKNOWN_FLAG
from revoice.engine.characters.profile import (
    Consent,
    ProfileStore,
    ReferenceClip,
    VoiceProfile,
)
from revoice.engine.characters.tint import VoiceMatch, VoiceTint
from revoice.engine.model import RenderedLine
from revoice.engine.records import RenderReport
from revoice.ui.dialogs import ConsentDialog
from revoice.ui.lines_model import FLAGGED
from revoice.ui.voices import KIND_WORDS
from revoice.ui.window import RevoiceWindow

UNKNOWN = "consent unknown — record it before delivery"


def tint(name: str, consent: Consent | None = None) -> VoiceProfile:
    return VoiceProfile(
        name=name, kind="tint", strength=0.8, consent=consent or Consent(),
        references=(ReferenceClip(path="/media/scene.wav", start_seconds=1.0, end_seconds=3.5, line_id="L0001"),),
        matches=(VoiceMatch(language="en", backend="kokoro", voice_id="jm_kumo", tint=VoiceTint(pitch_semitones=-2.0),
                            similarity_base=0.41, similarity_matched=0.63),))


def with_profiles(window: RevoiceWindow) -> ProfileStore:
    """The demo with its original audio and voice profiles on; NAGG unknown, NELL granted."""
    project = window.project
    assert project is not None
    if not any(s.available for line in project.lines for s in line.sources):
        pytest.skip("the demo's recording (moonshine-voice) is not installed: no original audio")
    store = ProfileStore(project.voices_dir)
    store.save(tint("NAGG"))
    store.save(tint("NELL", Consent("granted", "A. Editor", "2026-11-20", "", "this production")))
    window.apply_settings(replace(window.settings, voice_profiles=True))
    return store


def with_dialog_over(window: RevoiceWindow, dialog: ConsentDialog) -> QPixmap:
    """The window with the dialog drawn at its centre, as the editor sees it (offscreen windows do not stack)."""
    shot = window.grab()
    front = dialog.grab()
    at = QPoint((shot.width() - front.width()) // 2, (shot.height() - front.height()) // 3)
    painter = QPainter(shot)
    painter.fillRect(shot.rect(), QColor(0, 0, 0, 150))  # the window behind a modal dialog, dimmed
    painter.drawPixmap(at, front)
    painter.setPen(QColor("#4f8fea"))
    painter.drawRect(at.x() - 1, at.y() - 1, front.width() + 1, front.height() + 1)
    painter.end()
    return shot


def test_voices_dock_warns_of_unknown_consent_and_the_dialog_saves_it(make_window: WindowFactory,
                                                                     screenshot_dir: Path) -> None:
    window = make_window()
    assert window.open_demo()
    store = with_profiles(window)
    nagg, nell = window.voices.cards["NAGG"], window.voices.cards["NELL"]
    assert not nagg.consent_warning.isHidden() and UNKNOWN in nagg.consent_warning.text()
    assert nell.consent_warning.isHidden()
    assert nell.consent_label.text() == "granted by A. Editor on 2026-11-20 for this production"
    assert "Consent unknown for NAGG" in window.voices.header.text()
    assert not nagg.consent_button.isHidden() and nagg.consent_button.isEnabled()
    assert UNKNOWN in {e.name: e for e in window.voice_entries}["NAGG"].note  # the QC report's note too

    # the button opens the dialog; granted needs a name; Save writes it into NAGG's profile only
    shown: list[ConsentDialog] = []

    def fill_and_save() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ConsentDialog):
            QTimer.singleShot(10, fill_and_save)
            return
        shown.append(dialog)
        assert dialog.windowTitle() == "Consent — NAGG" and dialog.selected_status() == "unknown"
        assert dialog.save_button.isEnabled() and not dialog.date.isEnabled()
        dialog.status.setCurrentIndex(dialog.status.findData("granted"))
        assert not dialog.save_button.isEnabled() and "Recorded by" in dialog.problem.text()
        dialog.by.setText("A. Editor")
        dialog.date.setDate(QDate(2026, 11, 21))
        dialog.scope.setText("this production")
        dialog.note.setText("signed release on file")
        assert dialog.save_button.isEnabled() and dialog.problem.isHidden()
        settle()
        with_dialog_over(window, dialog).save(str(screenshot_dir / "consent_dialog.png"))
        dialog.save_button.click()

    QTimer.singleShot(0, fill_and_save)
    nagg.consent_button.click()
    assert wait_until(lambda: bool(shown) and QApplication.activeModalWidget() is None)
    saved = store.get("NAGG")
    assert saved is not None
    assert saved.consent == Consent("granted", "A. Editor", "2026-11-21", "signed release on file", "this production")
    assert saved.matches == tint("NAGG").matches and saved.strength == 0.8  # nothing else in the file changed
    assert store.get("NELL") == tint("NELL", Consent("granted", "A. Editor", "2026-11-20", "", "this production"))
    nagg = window.voices.cards["NAGG"]
    assert nagg.consent_warning.isHidden() and "Consent unknown" not in window.voices.header.text()
    assert nagg.consent_label.text() == "granted by A. Editor on 2026-11-21 for this production"
    assert "consent granted by A. Editor" in window.status_label.text()

    # the dialog opens on what the file says; denied: a stock voice speaks, and consent can be changed back
    dialog = window.consent_dialog("NAGG")
    assert (dialog.selected_status(), dialog.by.text(), dialog.scope.text()) == ("granted", "A. Editor",
                                                                                 "this production")
    assert dialog.date.date() == QDate(2026, 11, 21)
    dialog.deleteLater()
    assert window.set_consent("NAGG", Consent("denied", "NAGG's agent", "2026-11-22"))
    card = window.voices.cards["NAGG"]
    assert card.kind_label.text() == KIND_WORDS["stock"] and "consent denied" in card.note_label.text()
    assert card.consent_label.text() == "denied by NAGG's agent on 2026-11-22" and not card.consent_button.isHidden()
    assert card.consent_warning.isHidden()


def test_consent_can_be_recorded_before_the_profile_is_built(make_window: WindowFactory) -> None:
    window = make_window()
    assert window.open_demo()
    store = with_profiles(window)
    store.path_for("NELL").unlink()
    window.apply_settings(window.settings)  # the dock reads the folder again
    card = window.voices.cards["NELL"]
    assert card.kind_label.text() == KIND_WORDS["stock"] and not card.consent_button.isHidden()
    assert window.set_consent("NELL", Consent("denied", "NELL's agent", "2026-11-22", scope="everything"))
    saved = store.get("NELL")
    assert saved is not None and saved.consent.status == "denied" and not saved.references and not saved.matches
    assert "consent denied" in window.voices.cards["NELL"].note_label.text()


def test_a_line_spoken_without_recorded_consent_is_flagged_in_the_table(make_window: WindowFactory) -> None:
    window = make_window()
    assert window.open_demo()
    with_profiles(window)
    assert window.project is not None
    line = next(line for line in window.project.lines if line.speaker == "NAGG")
    slot = line.slot_samples(48000)
    report = RenderReport.from_json({"voice_profile": {"name": "NAGG", "kind": "tint", "consent": "unknown"}})
    render = RenderedLine(line_id=line.line_id, path=Path("/nonexistent.wav"), sample_rate=48000, slot_samples=slot,
                          speech_start=0, speech_end=slot // 2, backend="profile+piper", voice_id="NAGG",
                          report=report)
    window.controller.lineRendered.emit(render)  # as the worker does when a line is done
    assert wait_until(lambda: window.model.row(line.line_id).render is not None)  # type: ignore[union-attr]
    row = window.model.row(line.line_id)
    assert row is not None and row.status == FLAGGED and row.render is not None
    assert row.render.flags == (CONSENT_UNKNOWN_FLAG,)
