"""The Resolve script (plugin/resolve/Revoice.py) against the stand-in DaVinciResolveScript.

Without the service: the script is stdlib-only Python 3.8, reads Resolve's
rates and timecodes, writes SRTs that Revoice reads back at the subtitle
items' frames (23.976 @ 01:00:00:00, 29.97 DF @ 01:00:00;00, markers), and
says clearly when a timeline has nothing to revoice. The round trips against
the real service are in test_resolve_roundtrip.py.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from resolve_scenes import (
    DF_START,
    SCRIPT,
    Scene,
    calls_to,
    demo_scene,
    drop_frame_scene,
    load_script,
    load_standin,
    read_calls,
    write_scene,
)

from revoice.session import read_lines

MUTATING = {"AddTrack", "DeleteTrack", "SetTrackName", "SetTrackEnable", "SetTrackLock", "DeleteClips",
            "AppendToTimeline", "ImportMedia", "ImportTimelineFromFile", "SetClipsLinked", "AddTake",
            "AddMarker", "SetSetting", "SetName", "SetStartTimecode"}


def test_script_is_python38_stdlib_only() -> None:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"), feature_version=(3, 8))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) - {"__future__"} == set()
    assert "DaVinciResolveScript" in SCRIPT.read_text(encoding="utf-8")


def test_frame_rates_and_timecodes() -> None:
    script = load_script()
    assert script.parse_frame_rate("23.976") == Fraction(24000, 1001)
    assert script.parse_frame_rate("29.97 DF") == Fraction(30000, 1001)
    assert script.parse_frame_rate("59.94") == Fraction(60000, 1001)
    assert script.parse_frame_rate("25") == 25 and script.parse_frame_rate("24.0") == 24
    tc = script.format_timecode
    assert tc(86400, Fraction(24000, 1001), False) == "01:00:00:00"
    assert tc(DF_START, Fraction(30000, 1001), True) == "01:00:00;00"
    assert tc(1800, Fraction(30000, 1001), True) == "00:01:00;02"
    assert tc(17982, Fraction(30000, 1001), True) == "00:10:00;00"
    assert tc(DF_START + 1799, Fraction(30000, 1001), True) == "01:00:59;29"
    assert tc(DF_START + 1800, Fraction(30000, 1001), True) == "01:01:00;02"
    assert tc(2 * 215784, Fraction(60000, 1001), True) == "02:00:00;00"


def _prepare(scene_path: Path, work: Path, *, srt: Path | None = None
             ) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    """Run the script's export + SRT step against the stand-in; returns the job request and the calls."""
    script, dvr = load_script(), load_standin()
    import json

    resolve = dvr.Resolve(json.loads(scene_path.read_text(encoding="utf-8")))
    run = script.RevoiceRun(resolve, script.RunOptions(work_dir=work, srt=srt), say=lambda text: None)
    return run.prepare(), resolve.calls, run


@pytest.mark.parametrize("build", [demo_scene, drop_frame_scene], ids=["23.976@01:00:00:00", "29.97DF@01:00:00;00"])
def test_written_srt_reads_back_at_the_subtitle_items(tmp_path: Path, build: Callable[[Path], Scene]) -> None:
    scene = build(tmp_path / "scene")
    request, calls, run = _prepare(scene.path, tmp_path / "work")

    (export,) = calls_to(calls, "Export")
    assert export == [str(tmp_path / "work" / f"{scene.spec['timelines'][0]['name']}.otio"), 13, 0]
    assert Path(request["timeline"]).read_bytes() == scene.otio.read_bytes()
    assert calls_to(calls, "GetItemListInTrack") == [["subtitle", 1]]
    assert request["options"]["subs_offset"] == "timeline"
    assert {c["method"] for c in calls} & MUTATING == set()

    opened = read_lines(Path(request["timeline"]), subtitles=Path(request["subtitles"]),
                        subtitle_offset=request["options"]["subs_offset"])
    assert opened.start_frames == scene.start_frame and opened.skipped == []
    assert abs(opened.rate - float(scene.rate)) < 1e-6
    got = [(opened.start_frames + ln.record.start, opened.start_frames + ln.record.end) for ln in opened.lines]
    assert got == [(s.start, s.end) for s in scene.subtitles]
    assert [f"{ln.speaker}: {ln.text}" for ln in opened.lines] == [s.name for s in scene.subtitles]


def test_markers_become_lines_when_there_is_no_subtitle_track(tmp_path: Path) -> None:
    demo = demo_scene(tmp_path / "demo")
    markers = {"24": {"color": "Blue", "duration": 36.0, "name": "Marker 1", "note": "NELL: Yes.", "customData": ""},
               "120": {"color": "Red", "duration": 1.0, "name": "ADR", "note": "fix this", "customData": ""},
               "200": {"color": "Green", "duration": 48.0, "name": "NAGG: Can you hear me?", "note": "",
                       "customData": ""}}
    scene = write_scene(tmp_path / "scene", name="Markers", otio_path=demo.otio, start_frame=86400,
                        rate_setting="23.976", drop_frame=False, subtitles=[], markers=markers,
                        end_frame=demo.spec["timelines"][0]["end_frame"])
    said: list[str] = []
    script, dvr = load_script(), load_standin()
    import json

    resolve = dvr.Resolve(json.loads(scene.path.read_text(encoding="utf-8")))
    run = script.RevoiceRun(resolve, script.RunOptions(work_dir=tmp_path / "work"), say=said.append)
    request = run.prepare()
    assert any("one frame long" in text and "fix this" in text for text in said)
    assert "Lines from 2 timeline markers" in said
    opened = read_lines(Path(request["timeline"]), subtitles=Path(request["subtitles"]),
                        subtitle_offset=request["options"]["subs_offset"])
    assert [(ln.record.start, ln.record.duration, ln.speaker, ln.text) for ln in opened.lines] == [
        (24, 36, "NELL", "Yes."), (200, 48, "NAGG", "Can you hear me?")]


def test_no_subtitle_track_no_markers_no_srt_says_so_and_places_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    demo = demo_scene(tmp_path / "demo")
    scene = write_scene(tmp_path / "scene", name="Picture only", otio_path=demo.otio, start_frame=86400,
                        rate_setting="23.976", drop_frame=False, subtitles=[])
    calls_path = tmp_path / "calls.jsonl"
    monkeypatch.setenv("REVOICE_STANDIN_SCENE", str(scene.path))
    monkeypatch.setenv("REVOICE_STANDIN_CALLS", str(calls_path))
    monkeypatch.setenv("REVOICE_STATE_DIR", str(tmp_path / "no-service"))
    load_standin()
    code = load_script().main(["--work-dir", str(tmp_path / "work")])
    out = capsys.readouterr().out
    assert code == 2
    assert ("'Picture only' has no subtitle track, no markers with a duration and no SRT was chosen: "
            "add a subtitle track (or markers the length of each line) or pick an SRT") in out
    calls = read_calls(calls_path)
    assert calls and {c["method"] for c in calls} & (MUTATING | {"Export"}) == set()
    assert not (tmp_path / "no-service").exists() and not (tmp_path / "work").exists()


def test_an_srt_the_editor_picks_is_sent_as_is(tmp_path: Path) -> None:
    demo = demo_scene(tmp_path / "demo")
    scene = write_scene(tmp_path / "scene", name="Picked", otio_path=demo.otio, start_frame=86400,
                        rate_setting="23.976", drop_frame=False, subtitles=[])
    srt = tmp_path / "lines.srt"
    srt.write_text("1\n01:00:01,000 --> 01:00:02,000\nANNA: Hello there.\n", encoding="utf-8")
    request, calls, _ = _prepare(scene.path, tmp_path / "work", srt=srt)
    assert request["subtitles"] == str(srt) and request["options"]["subs_offset"] == "auto"
    assert calls_to(calls, "GetItemListInTrack") == [] and calls_to(calls, "GetMarkers") == []


def test_rate_from_the_project_when_the_timeline_uses_project_settings() -> None:
    script, dvr = load_script(), load_standin()
    scene = {"project": "P", "project_settings": {"timelineFrameRate": "29.97", "timelineDropFrameTimecode": "1"},
             "timelines": [{"name": "T", "start_frame": DF_START, "settings": {}}]}
    resolve = dvr.Resolve(scene)
    project = resolve.GetProjectManager().GetCurrentProject()
    facts = script.read_timeline_facts(project.GetCurrentTimeline(), project)
    assert (facts.rate, facts.drop_frame, facts.start_frame) == (Fraction(30000, 1001), True, DF_START)
    assert facts.timecode(DF_START + 1800) == "01:01:00;02"


def _wav(path: Path, samples: int) -> str:
    import wave

    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(3)
        handle.setframerate(48000)
        handle.writeframes(b"\0\0\0" * samples)
    return str(path)


def test_placing_a_status_checks_every_wav_and_keeps_to_new_tracks(tmp_path: Path) -> None:
    """Placement alone (no service): lengths checked to the sample, takes added, a wrong WAV refused."""
    import json

    script, dvr = load_script(), load_standin()
    scene = demo_scene(tmp_path / "scene")
    resolve = dvr.Resolve(json.loads(scene.path.read_text(encoding="utf-8")))
    project = resolve.GetProjectManager().GetCurrentProject()
    timeline = project.GetCurrentTimeline()
    facts = script.read_timeline_facts(timeline, project)

    def line(line_id: str, speaker: str, start: int, frames: int, takes: int, samples: int | None = None) -> dict[str, Any]:
        exact = round(Fraction(frames * 48000) / Fraction(24000, 1001))
        wavs = [_wav(tmp_path / f"{speaker}_{line_id}_t{t}.wav", samples or exact) for t in range(1, takes + 1)]
        return {"line_id": line_id, "speaker": speaker, "record_start": start, "record_duration": frames,
                "state": "done", "flags": [], "track": f"Revoice - {speaker}", "wav": wavs[0], "take": 1,
                "takes": [{"take": t + 1, "wav": w} for t, w in enumerate(wavs)], "sample_rate": 48000}

    status: dict[str, Any] = {"state": "done", "timeline": {"rate": 24000 / 1001, "start_frames": 86400}, "warnings": [],
              "lines": [line("L0001", "NAGG", 0, 29, 2), line("L0002", "NELL", 30, 21, 1),
                        line("L0003", "NAGG", 40, 35, 1, samples=1000)]}
    report = script.place_on_new_tracks(project, timeline, facts, status, script.Report())
    assert [(p.line_id, p.track_index, p.record_frame, p.frames, p.takes) for p in report.placed] == [
        ("L0001", 2, 86400, 29, 2), ("L0002", 3, 86430, 21, 1)]
    assert report.failed == [f"L0003: {status['lines'][2]['wav']} is 1000 samples, its slot 35 frames is 70070; "
                             "not placed"]
    (infos,) = calls_to(resolve.calls, "AppendToTimeline")[0]
    assert [(i["recordFrame"], i["trackIndex"], i["startFrame"], i["endFrame"], i["mediaType"]) for i in infos] == [
        (86400, 2, 0, 28, 2), (86430, 3, 0, 20, 2)]
    assert calls_to(resolve.calls, "AddTake") == [[{"$": "MediaPoolItem", "path": str(tmp_path / "NAGG_L0001_t2.wav")},
                                                   0, 28]]
    tracks = timeline.tracks["audio"]
    assert [t["name"] for t in tracks] == ["A1 Dialogue", "Revoice - NAGG", "Revoice - NELL"]
    assert tracks[0]["items"] == [] and [t["type"] for t in tracks[1:]] == ["mono", "mono"]
    assert [(i.start, i.end) for i in tracks[1]["items"]] == [(86400, 86429)]

    lines = report.lines(facts)
    assert "Placed L0001 (NAGG) on audio 2 'Revoice - NAGG' at 01:00:00:00, 29 frames, 2 takes" in lines
    assert script.exit_code(report) == 1

    # a second run finds the WAVs already in the Revoice bin and adds new tracks again
    again = script.place_on_new_tracks(project, timeline, facts, dict(status, lines=status["lines"][:1]),
                                       script.Report())
    assert [(p.track_index, p.record_frame) for p in again.placed] == [(4, 86400)]
    assert calls_to(resolve.calls, "ImportMedia")[-1][0] and resolve.calls[-1]["method"] == "AddTake"


def test_clips_are_matched_by_record_frame_and_track_when_resolve_places_fewer() -> None:
    script = load_script()

    class Item:
        def __init__(self, start: int, track: int) -> None:
            self.start, self.track = start, track

        def GetStart(self) -> float:
            return float(self.start)

        def GetTrackTypeAndIndex(self) -> list[Any]:
            return ["audio", self.track]

    wanted = [script.PlacedLine("L0001", "A", "Revoice - A", 2, 100, 10, "a.wav", 1),
              script.PlacedLine("L0002", "B", "Revoice - B", 3, 100, 10, "b.wav", 1)]
    second = Item(100, 3)
    assert script._match_items([second], wanted) == [None, second]
