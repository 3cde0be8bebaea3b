"""The panel without rendering: opening, the line table, filters, edits, settings, errors, shortcuts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from panel_helpers import WindowFactory, activate, dismiss_dialogs, key_click, wait_until
from PyQt6.QtCore import QModelIndex, Qt, QTimer
from PyQt6.QtWidgets import QApplication
from revoice.engine.model import RenderedLine
from revoice.engine.records import RenderReport
from revoice.otio_bridge.timeline import format_timecode
from revoice.ui.lines_model import FAILED, FLAGGED, PENDING, Column, LinesModel
from revoice.ui.player import playback_problem
from revoice.ui.settings import load_settings


def fake_render(model: LinesModel, line_id: str, flags: tuple[str, ...] = ()) -> RenderedLine:
    row = model.row(line_id)
    assert row is not None
    slot = row.line.slot_samples(48000)
    report = RenderReport.from_json({"ratio": 0.7, "loudness_lufs": -23.0, "true_peak_dbtp": -2.1})
    render = RenderedLine(line_id=line_id, path=Path("/nonexistent.wav"), sample_rate=48000, slot_samples=slot,
                          speech_start=0, speech_end=slot // 2, backend="piper", voice_id="joe", report=report,
                          flags=flags)
    model.set_render(render)
    return render


def test_empty_window_has_shortcuts_and_disabled_actions(make_window: WindowFactory) -> None:
    window = make_window()
    assert window.pages.currentIndex() == 0
    assert not window.action_revoice.isEnabled()
    assert not window.action_export.isEnabled()
    assert not window.action_qc.isEnabled()
    shortcuts = {action.shortcut().toString() for action in window.actions()}
    assert {"Ctrl+R", "Space", "N", "P"} <= shortcuts
    problem = playback_problem()
    if problem is not None:  # no crash, disabled with a reason
        assert not window.preview.play_revoiced_button.isEnabled()
        assert window.preview.play_revoiced_button.toolTip() == problem


def test_open_demo_fills_table_in_timeline_timecode(make_window: WindowFactory) -> None:
    window = make_window()
    assert window.open_demo()
    project = window.project
    assert project is not None and project.lines
    assert window.pages.currentIndex() == 1
    assert window.model.rowCount() == len(project.lines)
    first = project.lines[0]
    index = window.model.index(0, Column.TC_IN)
    assert window.model.data(index) == format_timecode(project.start_frames + first.record.start, project.rate)
    assert str(window.model.data(index)).startswith("01:00:")
    assert window.model.data(window.model.index(0, Column.SPEAKER)) == first.speaker
    assert window.model.data(window.model.index(0, Column.SLOT)) == f"{first.record.duration_seconds:.2f}"
    assert {row.status for row in window.model.rows} == {PENDING}
    # Characters dock: one row per speaker, the backend's licence
    assert window.characters.table.rowCount() == len(project.speakers)
    assert "Licence" in window.characters.licence.text()
    # the first line is selected and previewed
    assert window.selected_line_ids() == [first.line_id]
    assert window.preview.row is not None and window.preview.row.line_id == first.line_id
    assert window.action_revoice.isEnabled()
    # recent files remember it
    assert window.settings.recent[0].timeline == project.timeline_path
    assert load_settings().recent[0].timeline == project.timeline_path


def test_filter_sort_and_multiselect(make_window: WindowFactory) -> None:
    window = make_window()
    window.open_demo()
    assert window.project is not None
    speaker = window.project.speakers[0]
    window.filter_edit.setText(speaker.lower())
    visible = [window.proxy.index(r, Column.SPEAKER).data() for r in range(window.proxy.rowCount())]
    assert visible and set(visible) == {speaker}
    window.filter_edit.setText(f"pending {speaker}")
    assert window.proxy.rowCount() == len(visible)
    window.filter_edit.setText("flagged")
    assert window.proxy.rowCount() == 0
    window.filter_edit.clear()

    window.table.sortByColumn(Column.SLOT, Qt.SortOrder.DescendingOrder)
    slots = [float(window.proxy.index(r, Column.SLOT).data()) for r in range(window.proxy.rowCount())]
    assert slots == sorted(slots, reverse=True)
    window.table.sortByColumn(Column.TC_IN, Qt.SortOrder.AscendingOrder)

    ids = [line.line_id for line in window.project.lines[:3]]
    window.select_lines(ids)
    assert window.selected_line_ids() == ids
    window.select_all()
    assert len(window.selected_line_ids()) == len(window.project.lines)


def test_flagged_navigation_and_select_all_flagged(make_window: WindowFactory) -> None:
    window = make_window()
    window.open_demo()
    rows = window.model.rows
    flagged = [rows[1].line_id, rows[3].line_id]
    for line_id in flagged:
        fake_render(window.model, line_id, flags=("ratio 0.70 is below 0.80",))
    window.model.set_status(rows[4].line_id, FAILED, "cannot fit")
    assert window.model.row(flagged[0]).status == FLAGGED  # type: ignore[union-attr]
    assert window.model.data(window.model.index(1, Column.LUFS)) == "-23.0"

    window.select_lines([rows[0].line_id])
    activate(window)
    key_click(window.table, Qt.Key.Key_N)  # the N shortcut reaches the action from the table
    assert window.selected_line_ids() == [flagged[0]]
    window.action_next_flagged.trigger()
    assert window.selected_line_ids() == [flagged[1]]
    window.action_next_flagged.trigger()  # failed lines need a look too
    assert window.selected_line_ids() == [rows[4].line_id]
    window.action_prev_flagged.trigger()
    assert window.selected_line_ids() == [flagged[1]]

    window.select_flagged_button.click()
    assert window.selected_line_ids() == flagged


def test_text_edit_marks_line_and_survives_reopening(make_window: WindowFactory) -> None:
    window = make_window()
    window.open_demo()
    first = window.model.rows[0]
    fake_render(window.model, first.line_id)
    index = window.model.index(0, Column.TEXT)
    assert window.model.flags(index) & Qt.ItemFlag.ItemIsEditable
    assert window.model.setData(index, "A brand new line.")
    row = window.model.rows[0]
    assert row.edited and row.text == "A brand new line." and row.status == PENDING and row.render is None
    assert window.project is not None and window.project.state_path.exists()

    again = make_window()
    again.open_demo()
    assert again.model.rows[0].text == "A brand new line."
    assert again.model.rows[0].line.text == first.line.text


def test_settings_dialog_values_persist(make_window: WindowFactory) -> None:
    window = make_window()
    window.open_demo()
    assert window.project is not None
    speaker = window.project.speakers[0]
    dialog = window.settings_dialog()
    dialog.loudness.setCurrentIndex(dialog.loudness.findData("netflix"))
    dialog.min_ratio.setValue(0.7)
    dialog.max_ratio.setValue(1.4)
    box = dialog.voice_boxes[speaker]
    assert box.count() >= 2  # default + the backend's voices
    box.setCurrentIndex(1)
    assert dialog.device.findData("cpu") >= 0
    assert (dialog.takes.value(), dialog.qc.isChecked()) == (1, False)  # the defaults
    assert (dialog.takes.minimum(), dialog.takes.maximum()) == (1, 5)
    dialog.takes.setValue(3)
    dialog.qc.setChecked(True)
    window.apply_settings(dialog.result_settings())
    dialog.deleteLater()

    stored = load_settings()
    assert (stored.loudness, stored.min_ratio, stored.max_ratio) == ("netflix", 0.7, 1.4)
    assert (stored.takes, stored.qc) == (3, True)
    options = window.job_options([window.project.lines[0].line_id])
    assert (options.takes, options.qc) == (3, True)
    assert stored.speaker_voices[speaker] == box.itemData(1)
    assert stored.device == "cpu"
    fresh = make_window()
    assert fresh.settings.loudness == "netflix"
    assert (fresh.settings.takes, fresh.settings.qc) == (3, True)


def test_metered_takes_fill_the_columns_and_the_chooser(make_window: WindowFactory) -> None:
    window = make_window()
    window.open_demo()
    header = window.table.horizontalHeader()
    assert header is not None
    assert all(header.isSectionHidden(c) for c in (Column.TAKE, Column.WER, Column.VOICE, Column.MOS))
    line_id = window.model.rows[0].line_id
    flag = "wer 0.25 > 0.10: ASR heard 'do you hear'"
    first = {"error_metric": "wer", "wer": 0.25, "voice_similarity": 0.81, "similarity": 0.2,
             "similarity_to": "original", "mos": 3.94, "asr_text": "do you hear", "flags": [flag], "score": 0.4}
    second = {**first, "wer": 0.0, "mos": 4.2, "flags": [], "score": 0.7}
    takes = [{"take": 1, "file": "NAGG_L0001_t1.wav", "score": 0.4, "flags": [flag], "qc": first},
             {"take": 2, "file": "NAGG_L0001_t2.wav", "score": 0.7, "flags": [], "qc": second}]
    render = fake_render(window.model, line_id, flags=(flag,))
    report = RenderReport.from_json({**render.report.to_json(), "qc": first, "takes": takes, "chosen_by": "editor"})
    render = replace(render, report=report)
    window.controller.lineRendered.emit(render)  # as a run reports a finished line

    row = window.model.row(line_id)
    assert row is not None and row.status == FLAGGED
    cells = {c: window.model.data(window.model.index(0, c)) for c in (Column.TAKE, Column.WER, Column.VOICE,
                                                                       Column.MOS)}
    assert cells == {Column.TAKE: "1/2", Column.WER: "0.25", Column.VOICE: "0.81", Column.MOS: "3.9"}
    assert not any(header.isSectionHidden(c) for c in (Column.TAKE, Column.WER, Column.VOICE, Column.MOS))
    assert header.isSectionHidden(Column.TC_OUT)  # makes room; TC In's tooltip has the range
    assert "do you hear" in str(window.model.data(window.model.index(0, Column.WER), Qt.ItemDataRole.ToolTipRole))

    window.select_lines([line_id])
    box = window.preview.take_box
    assert window.preview.take_bar.isVisible() and box.isEnabled()
    labels = [box.itemText(i) for i in range(box.count())]
    assert "WER 0.25" in labels[0] and "\u26a0 1 flag" in labels[0] and "\u2605" not in labels[0]
    assert "\u2605" in labels[1] and "score 0.70" in labels[1] and "MOS 4.2" in labels[1]
    assert window.preview.take_note.text() == "picked by you"
    # the takes' files are not on disk: the swap is refused with a reason, nothing changes
    assert not window.choose_take(line_id, 2)
    assert window.model.row(line_id).render.take == 1  # type: ignore[union-attr]
    assert "not on disk" in window.status_label.text()
    assert box.currentData() == 1


def test_settings_dialog_lists_devices(make_window: WindowFactory) -> None:
    from revoice.ui.devices import list_devices

    devices = list_devices()
    assert devices[0].key == "cpu"
    window = make_window()
    dialog = window.settings_dialog()
    assert wait_until(lambda: dialog.device.findData(None) < 0, timeout=30)
    assert [dialog.device.itemData(i) for i in range(dialog.device.count())] == [d.key for d in devices]
    dialog.deleteLater()


def test_bad_subtitles_show_a_dialog_naming_the_file_and_keep_the_project(
        make_window: WindowFactory, shared_corpus: Path) -> None:
    window = make_window()
    window.open_demo()
    assert window.project is not None
    before = window.project.timeline_path, [row.line_id for row in window.model.rows]
    bad = shared_corpus / "subtitles" / "invalid_format1.srt"
    seen: list[str] = []
    dismiss_dialogs(seen)
    assert not window.open_files(window.project.timeline_path, bad)
    assert len(seen) == 1
    assert "invalid_format1.srt" in seen[0]
    assert "timing line" in seen[0]  # says what to do
    assert (window.project.timeline_path, [row.line_id for row in window.model.rows]) == before


def test_missing_timeline_dialog(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    seen: list[str] = []
    dismiss_dialogs(seen)
    assert not window.open_files(tmp_path / "nowhere.otio")
    assert seen and "nowhere.otio" in seen[0]
    assert window.project is None and window.pages.currentIndex() == 0


def test_drop_timeline_and_subtitles(make_window: WindowFactory, tmp_path: Path) -> None:
    from revoice.ui.project import demo_paths

    timeline, subs, _ = demo_paths(tmp_path / "demo")
    window = make_window()
    assert window.open_dropped([subs, timeline])
    assert window.project is not None and window.project.subtitles == subs


def test_space_without_playback_does_not_crash(make_window: WindowFactory) -> None:
    window = make_window()
    window.open_demo()
    activate(window)
    key_click(window.table, Qt.Key.Key_Space)
    if playback_problem() is not None:
        assert "Playback is unavailable" in window.status_label.text()


def test_app_main_starts_and_quits(qapp: QApplication, settings_dir: Path) -> None:
    from revoice.ui.app import main

    def close_all() -> None:
        for widget in QApplication.topLevelWidgets():
            widget.close()
        qapp.quit()

    QTimer.singleShot(0, close_all)
    assert main(["--settings-dir", str(settings_dir)]) == 0


def test_model_rejects_empty_text(make_window: WindowFactory) -> None:
    window = make_window()
    window.open_demo()
    assert not window.model.setData(window.model.index(0, Column.TEXT), "   ")
    assert not window.model.setData(window.model.index(0, Column.SPEAKER), "X")
    assert window.model.rowCount(window.model.index(0, 0)) == 0
    assert window.model.rowCount(QModelIndex()) == len(window.model.rows)


@pytest.mark.parametrize("text", ["mara", "done"])
def test_filter_text_no_match_is_empty_not_error(make_window: WindowFactory, text: str) -> None:
    window = make_window()
    window.open_demo()
    window.filter_edit.setText(text + " zzz")
    assert window.proxy.rowCount() == 0
