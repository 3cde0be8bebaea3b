"""The recorded Resolve round trip: the real script, the stand-in Resolve, the real ``revoice serve``.

Export -> revoice (two lines, stock voices) -> place, at 23.976 from
01:00:00:00 (in-process, text mode), at 29.97 DF from 01:00:00;00 (a
separate ``python -S`` with only the stand-in on PYTHONPATH, two takes per
line), and from the menu with a stand-in Fusion UI ("as a new timeline").
The recorded calls are checked argument by argument and every WAV against
its clip info, to the frame.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from fusion_ui_standin import Bmd, Dispatcher, Fusion
from resolve_scenes import (
    SCRIPT,
    STANDIN,
    Scene,
    calls_to,
    demo_scene,
    drop_frame_scene,
    load_script,
    load_standin,
    read_calls,
)

pytestmark = pytest.mark.slow
LINES = ["L0001", "L0002"]
"""Nagg's "Do you hear me?" and Nell's "Yes." (the demo's first two lines)."""
EXISTING_AUDIO_TRACKS = 1


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state folder whose command.json starts this checkout's ``revoice serve``; the service is stopped after."""
    revoice = Path(sys.executable).with_name("revoice")
    probe = subprocess.run([str(revoice), "serve", "--help"], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip(f"'revoice serve' is not available: {(probe.stderr or probe.stdout).strip()[-200:]}")
    state = tmp_path_factory.mktemp("state")
    (state / "command.json").write_text(json.dumps({"argv": [str(revoice), "serve"]}), encoding="utf-8")
    yield state
    try:
        pid = int(json.loads((state / "service.json").read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError):
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def _scene_env(monkeypatch: pytest.MonkeyPatch, scene: Scene, calls: Path, state: Path, work: Path) -> None:
    monkeypatch.setenv("REVOICE_STANDIN_SCENE", str(scene.path))
    monkeypatch.setenv("REVOICE_STANDIN_CALLS", str(calls))
    monkeypatch.setenv("REVOICE_STATE_DIR", str(state))
    monkeypatch.setenv("REVOICE_RESOLVE_WORK_DIR", str(work))


def _item_for(scene: Scene, line_index: int) -> Any:
    return scene.subtitles[line_index]


def check_placement(calls: list[dict[str, Any]], scene: Scene, *, takes: int) -> list[dict[str, Any]]:
    """The calls that placed LINES: new tracks, names, imports, clip infos, takes; returns the clip infos."""
    assert calls_to(calls, "AddTrack") == [["audio", {"audioType": "mono"}]] * 2
    assert calls_to(calls, "SetTrackName") == [["audio", 2, "Revoice - NAGG"], ["audio", 3, "Revoice - NELL"]]
    (imported,) = calls_to(calls, "ImportMedia")
    assert len(imported[0]) == 2 * takes and all(Path(p).is_file() and p.endswith(".wav") for p in imported[0])
    (appended,) = calls_to(calls, "AppendToTimeline")
    infos: list[dict[str, Any]] = appended[0]
    assert len(infos) == 2
    for info, track, index in zip(infos, (2, 3), range(2)):
        item = _item_for(scene, index)
        assert info["mediaPoolItem"]["$"] == "MediaPoolItem" and info["mediaPoolItem"]["path"] in imported[0]
        assert info["recordFrame"] == item.start, "the WAV starts on its subtitle's first frame"
        assert info["recordFrame"] >= scene.start_frame
        assert (info["startFrame"], info["endFrame"]) == (0, item.end - item.start - 1)
        assert (info["trackIndex"], info["mediaType"]) == (track, 2)
        samples = sf.info(info["mediaPoolItem"]["path"]).frames
        assert samples == round(Fraction(info["endFrame"] - info["startFrame"] + 1) * 48000 / scene.rate)
        assert sf.info(info["mediaPoolItem"]["path"]).samplerate == 48000
    add_takes = calls_to(calls, "AddTake")
    assert len(add_takes) == 2 * (takes - 1)
    for (media, start, end), info in zip(add_takes, infos):
        assert media["path"] != info["mediaPoolItem"]["path"] and media["path"] in imported[0]
        assert (start, end) == (info["startFrame"], info["endFrame"])
    return infos


def check_existing_tracks_untouched(calls: list[dict[str, Any]]) -> None:
    for call in calls:
        args = call["args"]
        if call["method"] in ("SetTrackName", "DeleteTrack", "SetTrackEnable", "SetTrackLock"):
            assert args[0] == "audio" and args[1] > EXISTING_AUDIO_TRACKS, call
        if call["method"] == "AddTrack":
            assert "index" not in (args[1] if len(args) > 1 and isinstance(args[1], dict) else {}), call
        if call["method"] == "AppendToTimeline":
            assert all(info["trackIndex"] > EXISTING_AUDIO_TRACKS for info in args[0]), call
    assert not {c["method"] for c in calls} & {"DeleteClips", "DeleteTrack", "SetClipsLinked", "SetSetting"}


def test_round_trip_23976_from_one_hour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state_dir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    scene = demo_scene(tmp_path / "scene")
    calls_path = tmp_path / "calls.jsonl"
    _scene_env(monkeypatch, scene, calls_path, state_dir, tmp_path / "work")
    load_standin()
    code = load_script().main(["--lines", ",".join(LINES), "--profiles", "off", "--text"])
    out = capsys.readouterr().out
    assert code == 0, out
    calls = read_calls(calls_path)
    (export,) = calls_to(calls, "Export")
    assert export[1:] == [13, 0] and Path(export[0]).parent == tmp_path / "work"
    assert calls_to(calls, "GetItemListInTrack")[0] == ["subtitle", 1]
    infos = check_placement(calls, scene, takes=1)
    check_existing_tracks_untouched(calls)
    assert infos[0]["recordFrame"] == 86400
    assert "Placed L0001 (NAGG) on audio 2 'Revoice - NAGG' at 01:00:00:00" in out
    assert "Job done." in out and "2/2" in out


def test_round_trip_2997_drop_frame_in_a_bare_python(tmp_path: Path, state_dir: Path) -> None:
    scene = drop_frame_scene(tmp_path / "scene")
    calls_path = tmp_path / "calls.jsonl"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(PYTHONPATH=str(STANDIN), REVOICE_STANDIN_SCENE=str(scene.path), REVOICE_STANDIN_CALLS=str(calls_path),
               REVOICE_STATE_DIR=str(state_dir))
    done = subprocess.run([sys.executable, "-S", str(SCRIPT), "--work-dir", str(tmp_path / "work"),
                           "--lines", ",".join(LINES), "--takes", "2", "--profiles", "off"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = read_calls(calls_path)
    infos = check_placement(calls, scene, takes=2)
    check_existing_tracks_untouched(calls)
    assert infos[0]["recordFrame"] == 107892 and scene.rate == Fraction(30000, 1001)
    assert "at 01:00:00;00" in done.stdout and "2 takes" in done.stdout


def test_menu_window_imports_a_new_timeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> None:
    scene = demo_scene(tmp_path / "scene")
    calls_path = tmp_path / "calls.jsonl"
    _scene_env(monkeypatch, scene, calls_path, state_dir, tmp_path / "work")
    seen: list[str] = []

    def editor(dispatcher: Dispatcher) -> None:
        (window,) = dispatcher.windows
        items = window.GetItems()
        assert window.shown and items["Place"].entries[1] == "A new timeline"
        items["Place"].CurrentIndex = 1
        items["Lines"].Text = " ".join(LINES)
        window.On.fire("Start", "Clicked")
        deadline = time.monotonic() + 500
        while not dispatcher.exited and time.monotonic() < deadline:
            dispatcher.tick()
            seen.append(items["Status"].Text)
            if items["Status"].Text.startswith("Finished"):
                window.On.fire("Close", "Clicked")
            time.sleep(0.2)

    resolve = load_standin().Resolve(json.loads(scene.path.read_text(encoding="utf-8")), calls_path=str(calls_path))
    bmd, fusion = Bmd(editor), Fusion()
    runpy.run_path(str(SCRIPT), init_globals={"resolve": resolve, "fusion": fusion, "bmd": bmd}, run_name="__main__")
    (window,) = bmd.dispatchers[0].windows
    log = window.GetItems()["Log"].PlainText
    assert any(text.startswith("Finished: 0 placed") for text in seen), seen
    assert "Imported the revoiced timeline as 'Endgame 23.976 (Revoice)'." in log
    calls = read_calls(calls_path)
    (imported,) = calls_to(calls, "ImportTimelineFromFile")
    assert imported[0] == str(tmp_path / "work" / "Endgame 23.976_revoiced.otio")
    assert imported[1] == {"timelineName": "Endgame 23.976 (Revoice)", "importSourceClips": True}
    assert not {c["method"] for c in calls} & {"AddTrack", "AppendToTimeline", "ImportMedia", "SetTrackName"}
    doc = json.loads(Path(imported[0]).read_text(encoding="utf-8"))
    names = [track["name"] for track in doc["tracks"]["children"]]
    assert names == ["V1", "A1 Dialogue", "Revoice - NAGG", "Revoice - NELL"]
    assert [t.name for t in resolve.project.timelines] == ["Endgame 23.976", "Endgame 23.976 (Revoice)"]
