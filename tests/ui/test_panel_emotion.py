"""The panel's emotions: the Emotion column's sources, the per-line control, A/B against neutral, job files.

The scene is the demo's recording with the audio cut at 22 s (the last two
lines have no original take under them) and a subtitle file whose second cue
carries the tag ``[angry:0.8]``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
from panel_helpers import (
    WindowFactory,
    dismiss_dialogs,
    key_click,
    revoice_tracks,
    wait_until,
)
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush
from PyQt6.QtTest import QSignalSpy
from revoice.engine.emotion.labels import Emotion
from revoice.ui.lines_model import EDITED_COLOR, PENDING, Column
from revoice.ui.project import load_panel_state
from revoice.ui.window import RevoiceWindow

AUDIO_FRAMES = 530
"""Where the scene's original audio stops (frames at 23.976 fps, 22.1 s): lines after it have none."""

SCENE_SRT = """1
01:00:00,000 --> 01:00:01,208
NAGG: Do you hear me?

2
01:00:01,250 --> 01:00:02,125
NELL: [angry:0.8] Yes.

3
01:00:02,167 --> 01:00:03,583
NAGG: Do you hear me?

4
01:00:03,625 --> 01:00:04,500
NELL: Yes.

5
01:00:17,292 --> 01:00:19,125
NAGG: What are you talking about?

6
01:00:19,125 --> 01:00:20,083
NELL: Laughing.

7
01:00:22,208 --> 01:00:23,417
NELL: Not now.

8
01:00:27,708 --> 01:00:28,250
NELL: No.
"""


def emotion_scene(folder: Path) -> tuple[Path, Path]:
    """The demo timeline with its audio cut at :data:`AUDIO_FRAMES` and the tagged subtitles above."""
    from revoice.demo import demo_files

    folder.mkdir(parents=True, exist_ok=True)
    demo = demo_files(folder / "demo")
    if getattr(demo, "warning", None):
        pytest.skip(f"the demo recording is not installed: {demo.warning}")
    timeline = otio.adapters.read_from_file(str(demo[0]))
    track = timeline.audio_tracks()[0]
    clip = track[0]
    rate = clip.source_range.duration.rate
    total = clip.source_range.duration.value
    clip.source_range = otio.opentime.TimeRange(clip.source_range.start_time,
                                                otio.opentime.RationalTime(AUDIO_FRAMES, rate))
    track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(total - AUDIO_FRAMES, rate))))
    path = folder / "scene.otio"
    otio.adapters.write_to_file(timeline, str(path))
    subs = folder / "scene.srt"
    subs.write_text(SCENE_SRT, encoding="utf-8")
    return path, subs


def open_emotion_scene(window: RevoiceWindow, folder: Path) -> None:
    """Open the scene; without the bridge's subtitle tags yet, give L0002 the tag's emotion by hand."""
    timeline, subs = emotion_scene(folder)
    assert window.open_files(timeline, subs)
    assert window.project is not None
    lines = window.project.session.opened.lines
    tagged = next(line for line in lines if line.line_id == "L0002")
    if tagged.emotion is None:  # the bridge does not read subtitle tags yet: what it will read, by hand
        from dataclasses import replace

        lines[1] = replace(tagged, text="Yes.", emotion=Emotion(method="label", label="angry", intensity=0.8,
                                                                 source="subtitle tag"))
        window._set_project(window.project)


def cell(window: RevoiceWindow, line_id: str, column: Column = Column.EMOTION,
         role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole) -> object:
    return window.model.data(window.model.index(window.model.row_number(line_id), column), role)


def choose(window: RevoiceWindow, key: str, percent: int | None = None) -> None:
    """Pick ``key`` in the emotion combo (and the slider), as the editor does."""
    editor = window.preview.emotion
    editor.combo.setCurrentIndex(editor.combo.findData(key))
    if percent is not None:
        editor.slider.setValue(percent)


def test_emotion_column_names_each_source(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    open_emotion_scene(window, tmp_path / "scene")
    assert cell(window, "L0001") == "original take \u00b7 default"
    assert cell(window, "L0002") == "angry 0.8 \u00b7 subtitle tag"
    assert cell(window, "L0002", Column.TEXT) == "Yes."
    assert cell(window, "L0008") == "neutral \u00b7 default"  # no original audio under it
    window.select_lines(["L0008"])
    assert "no original audio" in window.preview.emotion.note.text()
    tip = str(cell(window, "L0002", role=Qt.ItemDataRole.ToolTipRole))
    assert "angry 0.8" in tip and "subtitle tag" in tip

    window.select_lines(["L0003"])
    assert window.preview.row is not None and window.preview.row.line_id == "L0003"
    editor = window.preview.emotion
    assert editor.combo.currentData() == "original" and not editor.reset_button.isEnabled()
    choose(window, "happy", 60)
    assert cell(window, "L0003") == "happy 0.6 \u00b7 panel"
    brush = cell(window, "L0003", role=Qt.ItemDataRole.ForegroundRole)
    assert isinstance(brush, QBrush) and brush.color().name() == EDITED_COLOR
    options = window.job_options(["L0003"])
    assert options.emotion_overrides == {"L0003": Emotion(method="label", label="happy", intensity=0.6,
                                                          source="panel")}
    assert editor.reset_button.isEnabled() and "Reset goes back to original take" in editor.note.text()
    choose(window, "original", 50)
    assert cell(window, "L0003") == "original take 50% \u00b7 panel"
    assert window.job_options(["L0003"]).emotion_overrides["L0003"] == Emotion(method="original", strength=0.5,
                                                                                source="panel")
    choose(window, "neutral")
    assert cell(window, "L0003") == "neutral \u00b7 panel" and not editor.slider.isEnabled()
    # the filter finds lines by their emotion
    window.filter_edit.setText("angry")
    assert window.proxy.rowCount() == 1
    window.filter_edit.setText("")


def test_description_sets_a_label_and_a_bad_one_shows_inline(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    open_emotion_scene(window, tmp_path / "scene")
    window.select_lines(["L0005"])
    editor = window.preview.emotion
    editor.description.setText("angrily, voice shaking")
    key_click(editor.description, Qt.Key.Key_Return)
    override = window.job_options(["L0005"]).emotion_overrides["L0005"]
    assert (override.method, override.label, override.source) == ("label", "angry", "panel")
    assert override.description == "angrily, voice shaking"
    assert editor.combo.currentData() == "angry" and editor.description.text() == "angrily, voice shaking"
    assert str(cell(window, "L0005")).startswith("angry ") and str(cell(window, "L0005")).endswith("\u00b7 panel")

    seen: list[str] = []
    dismiss_dialogs(seen, attempts=20)
    editor.description.setText("xyzzy plugh")
    key_click(editor.description, Qt.Key.Key_Return)
    assert "cannot read the emotion 'xyzzy plugh'" in editor.error and "\u26a0" in editor.note.text()
    assert "\n" not in editor.error
    assert window.job_options(["L0005"]).emotion_overrides["L0005"] == override  # unchanged
    editor.description.setText("happy:2")
    key_click(editor.description, Qt.Key.Key_Return)
    assert "must be from 0 to 1" in editor.error
    wait_until(lambda: False, timeout=0.3)
    assert not seen, "a bad description must not open a dialog"


def test_several_lines_at_once_reset_and_saved_state(make_window: WindowFactory, tmp_path: Path) -> None:
    window = make_window()
    open_emotion_scene(window, tmp_path / "scene")
    window.select_lines(["L0001", "L0002", "L0004"])
    assert "Applies to the 3 selected lines" in window.preview.emotion.note.text()
    choose(window, "sad", 40)
    assert {line_id: cell(window, line_id) for line_id in ("L0001", "L0002", "L0004")} == dict.fromkeys(
        ("L0001", "L0002", "L0004"), "sad 0.4 \u00b7 panel")
    assert set(window.job_options(["L0001"]).emotion_overrides) == {"L0001", "L0002", "L0004"}
    assert window.project is not None
    state = load_panel_state(window.project)
    assert state.emotions["L0004"] == Emotion(method="label", label="sad", intensity=0.4, source="panel")

    window.select_lines(["L0002"])
    window.preview.emotion.reset_button.click()
    assert cell(window, "L0002") == "angry 0.8 \u00b7 subtitle tag"
    assert "L0002" not in window.job_options(["L0002"]).emotion_overrides

    reopened = make_window()
    open_emotion_scene(reopened, tmp_path / "scene")
    assert cell(reopened, "L0004") == "sad 0.4 \u00b7 panel"
    assert cell(reopened, "L0002") == "angry 0.8 \u00b7 subtitle tag"


@pytest.mark.slow
def test_ab_renders_the_line_neutral_apart_from_the_placed_take(make_window: WindowFactory, piper_backend: object,
                                                                tmp_path: Path) -> None:
    window = make_window(backend=piper_backend)
    open_emotion_scene(window, tmp_path / "scene")
    assert window.project is not None
    window.select_lines(["L0002"])  # angry 0.8 from its tag
    spy = QSignalSpy(window.abFinished)
    assert window.compare_with_neutral()  # not rendered yet: A first, then B
    assert spy.wait(120_000)
    assert list(spy[0]) == ["L0002", True]
    row = window.model.row("L0002")
    assert row is not None and row.render is not None
    a, b = row.render, window.ab_renders["L0002"]
    assert a.path.parent == window.project.media_dir and b.path.parent != window.project.media_dir
    assert window.project.media_dir in b.path.parents
    audio_a, rate_a = sf.read(str(a.path), dtype="float32")
    audio_b, rate_b = sf.read(str(b.path), dtype="float32")
    assert rate_a == rate_b and len(audio_a) == len(audio_b) == a.slot_samples  # same slot, to the sample
    assert not np.allclose(audio_a, audio_b, atol=1e-4), "A (angry) and B (neutral) must sound different"
    assert b.report.emotion is not None and (b.report.emotion.method, b.report.emotion.source) == (
        "neutral", "panel A/B")
    tip = str(cell(window, "L0002", role=Qt.ItemDataRole.ToolTipRole))  # what A's render did, from its report
    assert "Rendered: angry 0.8" in tip and "subtitle tag" in tip and "F0 " in tip, tip
    # B is never placed: the line's render is A, and export writes A only
    editor = window.preview.emotion
    assert editor.play_a_button.isEnabled() and editor.play_b_button.isEnabled()
    assert "A/B ready" in editor.note.text()
    assert window.export_to(tmp_path / "out.otio")
    clips = [clip for track in revoice_tracks(tmp_path / "out.otio").values() for clip in track]
    assert [Path(clip.media_reference.target_url).name for clip in clips] == [a.path.name]
    assert "ab_neutral" not in clips[0].media_reference.target_url

    # reopened, the angry render is found on disk by its key (the emotion is part of it); B is not placed
    reopened = make_window(backend=piper_backend)
    open_emotion_scene(reopened, tmp_path / "scene")
    again = reopened.model.row("L0002")
    assert again is not None and again.render is not None and again.render.path == a.path

    # a second A/B reuses both renders; a changed emotion makes A pending and drops B
    spy = QSignalSpy(window.abFinished)
    assert window.compare_with_neutral()
    assert spy.wait(60_000) and window.ab_renders["L0002"].path == b.path
    choose(window, "happy", 80)
    assert row.status == PENDING and "L0002" not in window.ab_renders
    assert not editor.play_b_button.isEnabled()


def test_job_file_round_trip(make_window: WindowFactory, tmp_path: Path) -> None:
    pytest.importorskip("revoice.jobfile")
    window = make_window()
    open_emotion_scene(window, tmp_path / "scene")
    assert window.project is not None
    window.select_lines(["L0003"])
    choose(window, "happy", 60)
    number = window.model.row_number("L0004")
    assert window.model.setData(window.model.index(number, Column.TEXT), "Yes, I do.")
    job = tmp_path / "reel.yaml"
    assert window.save_job(job) and job.is_file()
    timeline = window.project.timeline_path
    window.project.state_path.unlink()  # the job alone carries the edits

    fresh = make_window(work_dir=tmp_path / "elsewhere")
    assert fresh.open_job(job)
    assert fresh.project is not None and fresh.project.timeline_path == timeline
    assert cell(fresh, "L0004", Column.TEXT) == "Yes, I do.  \u270e"
    override = fresh.job_options(["L0003"]).emotion_overrides["L0003"]
    assert (override.method, override.label, override.intensity) == ("label", "happy", 0.6)
    assert str(cell(fresh, "L0003")).startswith("happy 0.6 \u00b7 ")
    assert str(cell(fresh, "L0002")).startswith("angry 0.8 \u00b7 ")
    assert cell(fresh, "L0001") == "original take \u00b7 default" or str(cell(fresh, "L0001")).startswith("original")

    bad = tmp_path / "bad.yaml"
    shutil.copy(job, bad)
    bad.write_text(bad.read_text(encoding="utf-8").replace("happy", "gleeful-ish-zzz"), encoding="utf-8")
    seen: list[str] = []
    dismiss_dialogs(seen)
    assert not fresh.open_job(bad)
    assert seen and "bad.yaml" in seen[0]
