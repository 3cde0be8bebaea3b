"""Takes and QC in the real panel: render two takes, swap one in the preview, export, reopen.

The first test keeps QC off (takes ranked by the unmetered rule: take 1 is
placed); the second turns QC on with the engine's meters and saves
``line_with_takes.png`` (docs/screenshots when REVOICE_SCREENSHOT_DIR points there).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import opentimelineio as otio
import pytest
from panel_helpers import WindowFactory, activate, key_click, opened, revoice_tracks, run_and_wait, two_speakers_lines
from PyQt6.QtCore import QCoreApplication, QEventLoop, Qt
from revoice.engine.render import wav_name
from revoice.ui.lines_model import DONE, FLAGGED, PENDING, Column
from revoice.ui.player import playback_problem
from revoice.ui.settings import load_settings
from revoice.ui.window import RevoiceWindow

pytestmark = pytest.mark.slow


def set_takes(window: RevoiceWindow, takes: int, *, qc: bool = False) -> None:
    """Through the settings dialog, as an editor would."""
    dialog = window.settings_dialog()
    dialog.takes.setValue(takes)
    dialog.qc.setChecked(qc)
    window.apply_settings(dialog.result_settings())
    dialog.deleteLater()


def cell(window: RevoiceWindow, line_id: str, column: Column) -> str:
    return str(window.model.data(window.model.index(window.model.row_number(line_id), column)))


def clips_by_line(path: Path) -> dict[str, otio.schema.Clip]:
    return {clip.metadata["revoice"]["line_id"]: clip for clips in revoice_tracks(path).values() for clip in clips}


def test_swap_take_without_rerender_then_export(make_window: WindowFactory, piper_backend: object,
                                                tmp_path: Path) -> None:
    window = opened(make_window, piper_backend)
    assert window.project is not None
    set_takes(window, 2)
    assert (load_settings().takes, load_settings().qc) == (2, False)
    ids = two_speakers_lines(window)
    window.select_lines(ids)
    outcome = run_and_wait(window)
    assert outcome is not None and not outcome.failed  # type: ignore[attr-defined]
    media = window.project.media_dir
    by_id = {line.line_id: line for line in window.project.lines}
    for line_id in ids:
        row = window.model.row(line_id)
        assert row is not None and row.status in (DONE, FLAGGED) and row.render is not None
        assert row.render.take == 1  # unmetered takes all score 0: the first is placed
        assert [entry.take for entry in row.render.report.takes or ()] == [1, 2]
        for take in (1, 2):
            assert (media / wav_name(by_id[line_id], take)).is_file()
        assert cell(window, line_id, Column.TAKE) == "1/2"
    header = window.table.horizontalHeader()
    assert header is not None and not header.isSectionHidden(Column.TAKE)
    assert header.isSectionHidden(Column.WER)  # QC off: no meters to show

    # the takes chooser of the selected line
    swapped = ids[1]
    window.select_lines([swapped])
    preview = window.preview
    assert preview.take_bar.isVisible() and preview.take_box.isEnabled()
    assert preview.shown_takes() == [1, 2]
    assert "not metered" in preview.take_box.currentText()
    first_path = preview.revoiced_path
    assert first_path is not None and first_path.name.endswith("_t1.wav")

    # swap to take 2: no render starts, the waveform, readouts and table follow
    mtimes = {p.name: p.stat().st_mtime_ns for p in media.glob("*.wav")}
    assert preview.select_take(2)
    assert not window.controller.running
    row = window.model.row(swapped)
    assert row is not None and row.render is not None and row.render.take == 2
    assert row.render.path.name == wav_name(by_id[swapped], 2)
    assert row.render.report.chosen_by == "editor"
    assert preview.revoiced_path == row.render.path
    assert preview.revoiced_view.span == (row.render.speech_start, row.render.speech_end)
    assert preview.readouts["speech"].text() == f"{row.render.report.speech_seconds:.2f} s"
    assert preview.readouts["loudness"].text() == f"{row.render.report.loudness_lufs:.1f} LUFS"
    assert "picked by you" in preview.take_note.text()
    assert cell(window, swapped, Column.TAKE) == "2/2"
    assert {p.name: p.stat().st_mtime_ns for p in media.glob("*.wav")} == mtimes  # nothing re-rendered
    if playback_problem() is None:  # play plays the placed take
        assert preview.play_revoiced()
        assert window.player.source == row.render.path
        window.player.stop()

    # ] and [ step through the takes (wrapping)
    activate(window)
    key_click(window.table, Qt.Key.Key_BracketRight)
    assert window.model.row(swapped).render.take == 1  # type: ignore[union-attr]
    key_click(window.table, Qt.Key.Key_BracketLeft)
    assert window.model.row(swapped).render.take == 2  # type: ignore[union-attr]

    # export: the clip points at take 2's WAV and lists both takes
    target = tmp_path / "export" / "scene_takes.otio"
    assert window.export_to(target)
    clips = clips_by_line(target)
    assert sorted(clips) == ids
    chosen = clips[swapped]
    assert chosen.media_reference.target_url.endswith("_t2.wav")
    assert Path(chosen.media_reference.target_url).name == wav_name(by_id[swapped], 2)
    meta = chosen.metadata["revoice"]
    assert meta["take"] == 2
    assert [entry["take"] for entry in meta["takes"]] == [1, 2]
    assert [Path(entry["path"]).name for entry in meta["takes"]] == [wav_name(by_id[swapped], k) for k in (1, 2)]
    assert clips[ids[0]].media_reference.target_url.endswith("_t1.wav")

    # revoicing again reuses both takes and keeps the pick (take_overrides), in the job's timeline too
    window.select_lines(ids)
    again = run_and_wait(window)
    assert again.batch.cached == 2  # type: ignore[attr-defined]
    assert window.model.row(swapped).render.take == 2  # type: ignore[union-attr]
    assert clips_by_line(window.project.out)[swapped].media_reference.target_url.endswith("_t2.wav")

    # reopening restores the pick from the project's panel state
    fresh = opened(make_window, None)
    reopened = fresh.model.row(swapped)
    assert reopened is not None and reopened.render is not None and reopened.render.take == 2
    assert fresh.model.row(ids[0]).render.take == 1  # type: ignore[union-attr]

    # an edited line gets new takes: its pick is dropped
    assert fresh.model.setData(fresh.model.index(fresh.model.row_number(swapped), Column.TEXT), "Quite so.")
    assert fresh.model.row(swapped).status == PENDING  # type: ignore[union-attr]
    assert swapped not in fresh.take_picks
    assert not (media / ".revoice-panel-edits.vtt").exists()  # edits go to run_job as text_overrides


@pytest.mark.skipif(any(importlib.util.find_spec(name) is None for name in ("faster_whisper", "distillmos")),
                    reason="the QC meters (Revoice's qc extra) are not installed")
def test_qc_meters_rank_takes_and_fill_columns(make_window: WindowFactory, piper_backend: object,
                                              screenshot_dir: Path) -> None:
    window = opened(make_window, piper_backend)
    assert window.project is not None
    set_takes(window, 2, qc=True)
    assert load_settings().qc
    ids = [window.project.lines[5].line_id]  # one line, two takes: metering is seconds per take on a CPU
    window.select_lines(ids)
    outcome = run_and_wait(window)
    assert outcome is not None and not outcome.failed  # type: ignore[attr-defined]
    assert window.assessor is not None  # kept for the next run
    header = window.table.horizontalHeader()
    assert header is not None
    for column in (Column.TAKE, Column.WER, Column.VOICE, Column.MOS):
        assert not header.isSectionHidden(column)
    for line_id in ids:
        row = window.model.row(line_id)
        assert row is not None and row.render is not None
        qc = row.render.report.qc
        assert qc is not None
        scores = {entry.take: entry.score for entry in row.render.report.takes or ()}
        assert row.render.take == max(scores, key=lambda k: (scores[k], -k))  # the best-scoring take
        assert cell(window, line_id, Column.WER) == f"{qc.wer:.2f}"
        assert cell(window, line_id, Column.MOS) == f"{qc.mos:.1f}"
        assert cell(window, line_id, Column.VOICE) != ""
        assert row.status == (FLAGGED if row.render.flags else DONE)

    shown = ids[0]
    window.select_lines([shown])
    labels = [window.preview.take_box.itemText(i) for i in range(window.preview.take_box.count())]
    assert len(labels) == 2 and all("score" in text and "WER" in text and "MOS" in text for text in labels)
    assert "\u2605" in window.preview.take_box.currentText()
    QCoreApplication.sendPostedEvents()
    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    path = screenshot_dir / "line_with_takes.png"
    window.grab().save(str(path))
    assert path.stat().st_size > 10_000
