"""The panel rendering for real (piper): revoice a selection, cancel, stay responsive, export."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import soundfile as sf
from panel_helpers import (
    RUN_TIMEOUT_MS,
    WindowFactory,
    opened,
    revoice_tracks,
    run_and_wait,
    two_speakers_lines,
    wait_until,
)
from PyQt6.QtCore import QTimer
from PyQt6.QtTest import QSignalSpy
from revoice.engine.model import RenderedLine
from revoice.engine.render import sidecar_path
from revoice.ui.lines_model import DONE, FLAGGED, PENDING, RENDERING, Column

pytestmark = pytest.mark.slow

def test_revoice_selection_then_export(make_window: WindowFactory, piper_backend: object, tmp_path: Path) -> None:
    window = opened(make_window, piper_backend)
    ids = two_speakers_lines(window)
    assert len(ids) == 2
    window.select_lines(ids)
    outcome = run_and_wait(window, by_key=True)  # Ctrl+R
    assert outcome is not None and not outcome.failed  # type: ignore[attr-defined]
    for line_id in ids:
        row = window.model.row(line_id)
        assert row is not None and row.status in (DONE, FLAGGED) and row.render is not None
        assert row.render.path.is_file()
        assert window.model.data(window.model.index(window.model.row_number(line_id), Column.LUFS)) != ""
    others = [row.status for row in window.model.rows if row.line_id not in ids]
    assert set(others) == {PENDING}
    assert window.progress.value() == window.progress.maximum() == 2
    assert window.action_qc.isEnabled() and window.project is not None and window.project.qc_report_path.exists()
    assert window.action_export.isEnabled()

    # preview of a revoiced line: both waveforms, the speech span, loudness readouts from the sidecar
    window.select_lines([ids[0]])
    assert window.preview.revoiced_view.has_audio
    assert window.preview.revoiced_view.span is not None
    assert "LUFS" in window.preview.readouts["loudness"].text()
    assert "dBTP" in window.preview.readouts["peak"].text()

    # export: the timeline plus one Revoice track per speaker
    target = tmp_path / "export" / "scene_revoiced.otio"
    assert window.export_to(target)
    tracks = revoice_tracks(target)
    assert len(tracks) == 2
    clips = [clip for clips in tracks.values() for clip in clips]
    assert sorted(clip.metadata["revoice"]["line_id"] for clip in clips) == ids
    assert window.export_to(tmp_path / "export" / "scene_revoiced.xml")

    # re-running reuses what did not change ...
    window.select_lines(ids)
    again = run_and_wait(window)
    assert again.batch.cached == 2  # type: ignore[attr-defined]
    # ... and re-renders an edited line only
    edited_row = window.model.row_number(ids[0])
    assert window.model.setData(window.model.index(edited_row, Column.TEXT), "Can you hear me now?")
    assert window.model.rows[edited_row].status == PENDING
    window.select_lines(ids)
    third = run_and_wait(window)
    assert third.batch.cached == 1 and len(third.batch.rendered) == 2  # type: ignore[attr-defined]
    assert window.model.rows[edited_row].status in (DONE, FLAGGED)
    render = window.model.rows[edited_row].render
    assert render is not None
    assert b"Can you hear me now?" in render.path.read_bytes()[:1024]  # the bext description holds the text


def test_cancel_after_first_line_keeps_only_complete_files(
        make_window: WindowFactory, piper_backend: object) -> None:
    window = opened(make_window, piper_backend)
    assert window.project is not None
    ids = [line.line_id for line in window.project.lines[:5]]
    window.select_lines(ids)
    cancelled_at: list[float] = []

    def cancel_once(render: RenderedLine) -> None:
        if not cancelled_at:
            cancelled_at.append(time.perf_counter())
            window.action_cancel.trigger()

    window.controller.lineRendered.connect(cancel_once)
    spy = QSignalSpy(window.runFinished)
    window.action_revoice.trigger()
    assert spy.wait(RUN_TIMEOUT_MS)
    stopped_after = time.perf_counter() - cancelled_at[0]
    outcome = spy[0][0]
    assert outcome.batch.cancelled
    assert stopped_after < 2.5, f"cancel took {stopped_after:.2f} s"  # at most the line in flight

    statuses = {row.line_id: row.status for row in window.model.rows}
    finished = [i for i in ids if statuses[i] in (DONE, FLAGGED)]
    assert 1 <= len(finished) < len(ids)
    assert RENDERING not in statuses.values()
    assert all(statuses[i] == PENDING for i in ids if i not in finished)

    media = window.project.media_dir
    assert not [p.name for p in media.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".revoice-")]
    wavs = sorted(media.glob("*.wav"))
    assert len(wavs) == len(finished)
    by_id = {line.line_id: line for line in window.project.lines}
    for line_id in finished:
        row = window.model.row(line_id)
        assert row is not None and row.render is not None
        info = sf.info(str(row.render.path))
        assert info.frames == by_id[line_id].slot_samples(48000)  # complete, exactly the slot
        assert sidecar_path(row.render.path).exists()
    assert not window.action_cancel.isEnabled() and window.action_revoice.isEnabled()


def test_event_loop_stays_responsive_while_rendering(make_window: WindowFactory, piper_backend: object) -> None:
    window = opened(make_window, piper_backend)
    assert window.project is not None
    window.select_lines([line.line_id for line in window.project.lines[:3]])
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    spy = QSignalSpy(window.runFinished)
    timer.start()
    assert wait_until(lambda: len(ticks) >= 3, timeout=5)
    window.action_revoice.trigger()
    assert spy.wait(RUN_TIMEOUT_MS)
    timer.stop()
    assert spy[0][0] is not None and not spy[0][0].batch.cached
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(gaps) > 20
    assert max(gaps) < 0.25, f"the UI froze for {max(gaps) * 1000:.0f} ms"


def test_voice_is_loaded_once_and_kept(make_window: WindowFactory, piper_backend: object,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import revoice.ui.worker

    loads: list[str] = []

    def load(*, device: str, language: str, name: str | None = None) -> object:
        loads.append(device)
        return piper_backend

    monkeypatch.setattr(revoice.ui.worker, "load_voice_backend", load)
    window = opened(make_window, None)
    assert window.project is not None
    first = window.project.lines[0].line_id
    window.select_lines([first])
    run_and_wait(window)
    assert window.backend is piper_backend
    window.select_lines([window.project.lines[1].line_id])
    run_and_wait(window)
    assert loads == ["cpu"]


def test_reopening_shows_finished_lines_and_settings_make_them_pending(
        make_window: WindowFactory, piper_backend: object, tmp_path: Path) -> None:
    window = opened(make_window, piper_backend)
    assert window.project is not None
    first = window.project.lines[0].line_id
    window.select_lines([first])
    run_and_wait(window)

    fresh = opened(make_window, None)  # no voice loaded yet: statuses come from the sidecars
    row = fresh.model.row(first)
    assert row is not None and row.status in (DONE, FLAGGED) and row.render is not None
    assert fresh.action_export.isEnabled() and fresh.action_qc.isEnabled()
    from dataclasses import replace

    fresh.apply_settings(replace(fresh.settings, loudness="netflix"))
    assert fresh.model.row(first).status == PENDING  # type: ignore[union-attr]


def test_closing_during_a_render_waits_and_leaves_no_partial_files(
        make_window: WindowFactory, piper_backend: object) -> None:
    window = opened(make_window, piper_backend)
    assert window.project is not None
    window.select_lines([line.line_id for line in window.project.lines[:3]])
    window.action_revoice.trigger()
    assert wait_until(lambda: any(row.status == RENDERING for row in window.model.rows), timeout=30)
    window.close()
    assert not window.controller.running or window.controller.wait(0)
    media = window.project.media_dir
    assert not [p for p in media.iterdir() if p.name.endswith(".tmp")]
    for wav in media.glob("*.wav"):
        assert sidecar_path(wav).exists()
