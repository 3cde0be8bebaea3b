"""Voice profiles in the panel: the Voices dock says tint / clone / stock, strength is saved and used.

The first test writes real :class:`VoiceProfile` files with the real
:class:`ProfileStore` (no model runs); the second builds a profile for real
through the panel's worker (piper + two Kokoro voices, one tuning sentence,
the session's speaker encoder) and renders with it.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from panel_helpers import RUN_TIMEOUT_MS, WindowFactory, key_click, opened, run_and_wait, settle, wait_until
from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtTest import QSignalSpy
from revoice.engine.characters.build import with_settings
from revoice.engine.characters.profile import Consent, ProfileStore, ReferenceClip, VoiceProfile
from revoice.engine.characters.tint import VoiceMatch, VoiceTint
from revoice.ui.lines_model import DONE, FLAGGED, PENDING
from revoice.ui.settings import PanelSettings, load_settings
from revoice.ui.voices import KIND_WORDS, MatchingSetup
from revoice.ui.window import RevoiceWindow

from revoice.report.voices import voices_html

TUNING = ("Put the lamp back on the table before anyone notices.",)
"""One tuning sentence and two candidate voices keep matching to seconds (the defaults take minutes)."""


def with_original_audio(window: RevoiceWindow) -> None:
    """Skip when the demo fell back to the made-up scene (no production audio to build profiles from)."""
    assert window.project is not None
    if not any(s.available for line in window.project.lines for s in line.sources):
        pytest.skip("the demo's recording (moonshine-voice) is not installed: no original audio")


def enable_profiles(window: RevoiceWindow) -> None:
    """Through the settings dialog, as an editor would."""
    dialog = window.settings_dialog()
    assert not dialog.profiles.isChecked()  # conftest turns them off for the other panel tests
    dialog.profiles.setChecked(True)
    window.apply_settings(dialog.result_settings())
    dialog.deleteLater()


def profile(name: str, kind: str, backend: str, voice: str, before: float, after: float, *,
            strength: float = 1.0, consent: Consent | None = None) -> VoiceProfile:
    return VoiceProfile(
        name=name, kind=kind, strength=strength, consent=consent or Consent(),
        references=(ReferenceClip(path="/media/scene.wav", start_seconds=1.0, end_seconds=3.5, line_id="L0001"),),
        matches=(VoiceMatch(language="en", backend=backend, voice_id=voice, tint=VoiceTint(pitch_semitones=-2.0),
                            similarity_base=before, similarity_matched=after),))


def test_profiles_are_on_by_default_and_follow_the_setting(settings_dir: Path) -> None:
    assert PanelSettings().voice_profiles
    fresh = QSettings(str(settings_dir / "fresh.ini"), QSettings.Format.IniFormat)
    assert load_settings(fresh).voice_profiles  # no key stored: the default (auto, as the CLI)


def test_voices_dock_says_tint_clone_or_stock_and_strength_is_saved(make_window: WindowFactory,
                                                                    screenshot_dir: Path) -> None:
    window = make_window()
    assert window.open_demo()
    with_original_audio(window)
    project = window.project
    assert project is not None
    ids = [project.lines[0].line_id]
    assert window.job_options(ids).profiles == "off"
    assert {card.kind_label.text() for card in window.voices.cards.values()} == {KIND_WORDS["stock"]}
    assert "off" in window.voices.header.text()

    store = ProfileStore(project.voices_dir)
    store.save(profile("NAGG", "tint", "kokoro", "jm_kumo", 0.41, 0.63, strength=0.8,
                       consent=Consent(status="granted", by="A. Editor", date="2025-01-02")))
    store.save(profile("NELL", "clone", "f5", "reference", 0.72, 0.72))
    enable_profiles(window)
    assert load_settings().voice_profiles
    assert window.job_options(ids).profiles == "auto"

    nagg, nell = window.voices.cards["NAGG"], window.voices.cards["NELL"]
    assert nagg.kind_label.text() == "tint — matched stock voice, not a clone"
    assert nagg.base_label.text() == "kokoro:jm_kumo"
    assert nagg.similarity_label.text() == "0.41 → 0.63"
    assert nagg.consent_label.text() == "granted by A. Editor on 2025-01-02"
    assert "Apache-2.0" in nagg.licence_label.text()  # Kokoro's licence, not the stock voice's
    assert not nagg.strength.isHidden() and nagg.strength.isEnabled() and nagg.strength.value() == 80
    assert nell.kind_label.text().startswith("clone")
    assert nell.base_label.text() == "f5:reference"
    assert nell.consent_label.text() == "unknown"
    assert "CC-BY-NC-4.0" in nell.licence_label.text()
    assert nagg.commercial_label.text() == "yes (Kokoro-82M weights and voices Apache-2.0)"  # the weights' terms
    assert nell.commercial_label.text() == "no (weights CC-BY-NC-4.0: non-commercial use only)"
    assert nell.strength.isHidden()  # a clone has no tint to scale
    voices_column = {window.characters.table.item(r, 0).text(): window.characters.table.item(r, 2).text()  # type: ignore[union-attr]
                     for r in range(window.characters.table.rowCount())}
    assert voices_column == {"NAGG": "tint of kokoro:jm_kumo", "NELL": "clone (f5:reference)"}
    settle()
    window.grab().save(str(screenshot_dir / "voices.png"))

    # strength from the slider (a value, then a key step) goes into NAGG's profile file, and only that
    nagg.strength.setValue(35)
    assert store.get("NAGG").strength == 0.35  # type: ignore[union-attr]
    nagg.strength.setFocus()
    key_click(nagg.strength, Qt.Key.Key_Left)
    data = json.loads(store.path_for("NAGG").read_text(encoding="utf-8"))
    assert data["strength"] == 0.3
    saved = store.get("NAGG")
    assert saved is not None and saved.matches == profile("NAGG", "tint", "kokoro", "jm_kumo", 0.41, 0.63).matches
    assert saved.consent.by == "A. Editor" and saved.key != profile("NAGG", "tint", "kokoro", "jm_kumo", 0.41,
                                                                      0.63, strength=0.8).key
    assert "strength 0.30 saved" in window.status_label.text()
    assert store.get("NELL").strength == 1.0  # type: ignore[union-attr]

    # denied consent, a voice chosen in Settings, profiles off: a stock voice, and the dock says why
    store.save(with_settings(store.get("NELL"), consent=Consent(status="denied")))  # type: ignore[arg-type]
    window.apply_settings(replace(window.settings, speaker_voices={"NAGG": window.backend_info().voices[0].voice_id}))
    entries = {entry.name: entry for entry in window.voice_entries}
    assert entries["NELL"].kind == entries["NAGG"].kind == "stock"
    assert "consent denied" in entries["NELL"].note and "Settings" in entries["NAGG"].note
    assert window.voices.cards["NELL"].kind_label.text() == KIND_WORDS["stock"]
    assert window.voices.cards["NAGG"].strength.isHidden()
    window.apply_settings(replace(window.settings, speaker_voices={}))
    assert window.voices.cards["NAGG"].kind_label.text() == KIND_WORDS["tint"]
    assert window.voices.cards["NAGG"].strength.value() == 30

    # the QC report's Voices table lists them too
    report = voices_html(window.voice_entries)
    assert "tint — matched stock voice, not a clone" in report and "0.41 → 0.63" in report
    assert "<th>Commercial use</th>" in report and "yes (Kokoro-82M weights and voices Apache-2.0)" in report


def test_commercial_use_only_is_a_setting_kept_and_given_to_the_run(make_window: WindowFactory) -> None:
    window = make_window()
    assert window.open_demo()
    project = window.project
    assert project is not None
    ids = [project.lines[0].line_id]
    assert not window.settings.commercial and not window.job_options(ids).commercial
    dialog = window.settings_dialog()
    assert dialog.commercial.text() == "Commercial use only" and not dialog.commercial.isChecked()
    dialog.commercial.setChecked(True)
    window.apply_settings(dialog.result_settings())
    dialog.deleteLater()
    assert load_settings().commercial and window.job_options(ids).commercial
    assert window.job_options(ids).backend_options.commercial
    card = next(iter(window.voices.cards.values()))
    assert card.commercial_label.text().startswith(("yes", "no")) and card.commercial_label.objectName() == \
        "commercialUse"


def test_voice_conversion_is_a_setting_kept_and_given_to_the_run(make_window: WindowFactory) -> None:
    window = make_window()
    assert window.open_demo()
    project = window.project
    assert project is not None
    ids = [project.lines[0].line_id]
    assert window.settings.convert == "" and window.job_options(ids).convert is None  # as each profile says
    dialog = window.settings_dialog()
    offered = [dialog.convert.itemData(i) for i in range(dialog.convert.count())]
    assert offered[:3] == ["", "auto", "off"] and {"openvoice", "seedvc"} <= set(offered)
    dialog.convert.setCurrentIndex(dialog.convert.findData("openvoice"))
    window.apply_settings(dialog.result_settings())
    dialog.deleteLater()
    assert load_settings().convert == "openvoice" and window.job_options(ids).convert == "openvoice"
    again = window.settings_dialog()
    assert again.convert.currentData() == "openvoice"  # shown as saved
    again.deleteLater()


@pytest.mark.slow
def test_revoicing_builds_a_profile_off_the_ui_thread_and_strength_changes_the_next_render(
        make_window: WindowFactory, piper_backend: object, kokoro_voices: object, speaker_embedder: object) -> None:
    window = opened(make_window, piper_backend)
    with_original_audio(window)
    enable_profiles(window)
    window.matching = MatchingSetup(backends=(piper_backend, kokoro_voices),  # type: ignore[arg-type]
                                    voices=("kokoro:jm_kumo", "kokoro:jf_gongitsune"), sentences=TUNING)
    window.embedder = speaker_embedder
    assert window.project is not None
    line_id = next(line.line_id for line in window.project.lines if line.speaker == "NAGG")
    labels: list[str] = []
    window.controller.progressChanged.connect(lambda _done, _total, label: labels.append(label))

    # cancel while the profile is being matched: no error dialog, nothing rendered, no profile saved
    window.select_lines([line_id])
    spy = QSignalSpy(window.runFinished)
    window.action_revoice.trigger()
    assert wait_until(lambda: any(label.startswith("voice profile") for label in labels), timeout=60)
    assert "voice profile 1/1: NAGG" in window.status_label.text()
    window.action_cancel.trigger()
    assert len(spy) == 1 or spy.wait(RUN_TIMEOUT_MS)
    assert spy[0][0] is None and window.last_error == ""
    assert "Cancelled while matching voices" in window.status_label.text()
    assert window.model.row(line_id).status == PENDING  # type: ignore[union-attr]
    store = ProfileStore(window.project.voices_dir)
    assert store.get("NAGG") is None

    # build it for real; the UI keeps ticking while the worker matches the voice
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    outcome = run_and_wait(window)
    timer.stop()
    assert outcome is not None and not outcome.failed  # type: ignore[attr-defined]
    rows = {row["name"]: row for row in outcome.profiles}  # type: ignore[attr-defined]
    assert list(rows) == ["NAGG"] and rows["NAGG"]["kind"] == "tint" and rows["NAGG"]["status"] == "built"
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(gaps) > 50 and max(gaps) < 1.0, f"the UI froze for {max(gaps) * 1000:.0f} ms"
    built = store.get("NAGG")
    assert built is not None and built.strength == 1.0 and built.match_for("en") is not None
    match = built.match_for("en")
    assert match is not None
    card = window.voices.cards["NAGG"]
    assert card.kind_label.text() == KIND_WORDS["tint"]
    assert card.base_label.text() == f"kokoro:{match.voice_id}"
    assert card.similarity_label.text() == f"{match.similarity_base:.2f} → {match.similarity_matched:.2f}"
    assert "last run: built" in card.note_label.text()
    assert window.voices.cards["NELL"].kind_label.text() == KIND_WORDS["stock"]  # not revoiced yet: no profile
    assert "voices: NAGG tint" in window.status_label.text()
    row = window.model.row(line_id)
    assert row is not None and row.status in (DONE, FLAGGED) and row.render is not None
    use = row.render.report.voice_profile
    assert use is not None and use.kind == "tint"
    assert use.strength == 1.0
    window._refresh_renders()  # the panel's render keys agree with run_job's: still done
    assert window.model.row(line_id).status in (DONE, FLAGGED)  # type: ignore[union-attr]
    fresh = opened(make_window, None)  # no voice loaded: the sidecar's profile key decides
    assert fresh.model.row(line_id).status in (DONE, FLAGGED)  # type: ignore[union-attr]

    # a lower strength: saved in the profile, the line is pending, the next render uses it
    card.strength.setValue(40)
    assert store.get("NAGG").strength == 0.4  # type: ignore[union-attr]
    assert window.model.row(line_id).status == PENDING  # type: ignore[union-attr]
    fresh._refresh_renders()
    assert fresh.model.row(line_id).status == PENDING  # type: ignore[union-attr]
    window.select_lines([line_id])
    again = run_and_wait(window)
    assert again is not None and not again.failed and again.batch.cached == 0  # type: ignore[attr-defined]
    assert [row["status"] for row in again.profiles] == ["reused"]  # type: ignore[attr-defined]
    render = window.model.row(line_id).render  # type: ignore[union-attr]
    assert render is not None and render.report.voice_profile is not None
    assert render.report.voice_profile.strength == 0.4


def test_characters_without_a_profile_get_distinct_voices_the_editor_can_change(make_window: WindowFactory) -> None:
    """Profiles off (or no original audio): each character a different stock voice, changed from its card."""
    from revoice.engine.characters.stock_voices import characters_in_order

    window = make_window()
    assert window.open_demo()
    assert window.project is not None and not window.settings.voice_profiles
    first, other = characters_in_order(window.project.lines)
    cards = window.voices.cards
    automatic = {name: card.base_label.text() for name, card in cards.items()}
    assert automatic[first] == f"piper:{window.backend_info().default_voice}"
    assert automatic[other].startswith("piper:joe~") and "distinct stock voice" in cards[other].note_label.text()
    menu = cards[other].voice_choice
    assert not menu.isHidden() and menu.isEnabled() and menu.currentIndex() == 0
    assert menu.itemData(0) == "" and menu.itemText(0) == f"Automatic ({automatic[other].removeprefix('piper:')})"
    assert {menu.itemData(i) for i in range(1, menu.count())} >= {"joe", "joe~light", "joe~deep"}
    column = {window.characters.table.item(r, 0).text(): window.characters.table.item(r, 2).text()  # type: ignore[union-attr]
              for r in range(window.characters.table.rowCount())}
    assert column == automatic

    # the editor gives OTHER the lead's voice: saved like the Settings dialog's choice; the lead moves off it
    menu.setCurrentIndex(menu.findData("joe"))
    assert load_settings().speaker_voices == {other: "joe"}
    assert window.job_options([window.project.lines[0].line_id]).speaker_voices == {other: "joe"}
    chosen = {name: card.base_label.text() for name, card in window.voices.cards.items()}
    assert chosen[other] == "piper:joe" and chosen[first].startswith("piper:joe~")
    assert "chosen for this character" in window.voices.cards[other].note_label.text()
    assert window.voices.cards[other].voice_choice.currentData() == "joe"
    assert "revoice their lines" in window.status_label.text()

    # back to automatic: the voices are as before
    window.voices.cards[other].voice_choice.setCurrentIndex(0)
    assert load_settings().speaker_voices == {}
    assert {name: card.base_label.text() for name, card in window.voices.cards.items()} == automatic
