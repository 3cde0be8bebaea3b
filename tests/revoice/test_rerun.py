"""Reruns only check keys; edits render only what changed (revoice.session, revoice.cli, revoice.context).

An unchanged rerun loads no voice and no QC meter and rewrites no file; deleting or inserting a cue renders
only the new one; a one-line edit in a warm session synthesizes that line only; renders no line uses any more
are listed and, with --prune, deleted. The voice is a stand-in published through the backend registry, whose
factory counts how often a model is loaded.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio
import pytest
from revoice.engine.sidecars import parked_path, sidecar_key
from revoice.engine.voices.base import (
    BackendOptions,
    BackendSpec,
    BackendUnavailable,
    Synthesis,
    SynthesisRequest,
    VoiceBackend,
)
from stand_in_voice import StandInVoice

from revoice.cli import main
from revoice.context import EngineContext
from revoice.session import Session

RATE = 16000
FPS = 25.0
CUES = [("ANNA", "Where were you last night?"), ("ANNA", "Answer me."), ("BEN", "Out."), ("BEN", "Just out.")]
"""ANNA speaks first with or without the first cue: the stock voices cast to the characters stay the same."""
HEAVY = ("scipy", "pyloudnorm", "pedalboard", "onnxruntime", "onnx", "torch", "librosa", "parselmouth", "av",
         "piper", "faster_whisper", "kokoro_onnx")
"""Modules a cached rerun never needs (voices, meters, DSP)."""


class HumVoice(StandInVoice):
    """0.3 s of hum per word; counts requests."""

    def __init__(self) -> None:
        super().__init__("hum", languages=("en",), voices=("amy",), sample_rate=RATE)

    def sound(self, request: SynthesisRequest) -> Synthesis:
        t = np.arange(int(0.3 * len(request.text.split()) * RATE * request.duration_scale)) / RATE
        hum = 0.3 * np.sin(2 * np.pi * (120 + request.seed % 80) * t) * np.sin(np.pi * t / t[-1])
        return Synthesis(audio=hum.astype(np.float32), sample_rate=RATE)


@dataclasses.dataclass
class Registry:
    """The stand-in voice as the only installed backend; ``loads`` counts its model loads."""

    voice: HumVoice
    loads: list[BackendOptions]


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    voice = HumVoice()
    found = Registry(voice, [])

    def load(options: BackendOptions) -> VoiceBackend:
        found.loads.append(options)
        return voice

    spec = dataclasses.replace(voice.spec, factory=load, voice_list=voice.voices)
    monkeypatch.setattr("revoice.engine.voices.registry.discover_backends", lambda extra=(): [spec])
    return found


def write_scene(folder: Path, cues: list[tuple[str, str, float]]) -> tuple[Path, Path]:
    """A 60 s timeline (25 fps, no media) and an SRT of ``cues`` (speaker, text, start second; 2.5 s each)."""
    folder.mkdir(parents=True, exist_ok=True)
    timeline = otio.schema.Timeline(name="reel")
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, FPS), otio.opentime.RationalTime(60 * FPS, FPS))))
    timeline.tracks.append(track)
    path = folder / "reel.otio"
    otio.adapters.write_to_file(timeline, str(path))
    return path, write_subs(folder / "reel.srt", cues)


def write_subs(path: Path, cues: list[tuple[str, str, float]]) -> Path:
    blocks = [f"{number}\n{_time(start)} --> {_time(start + 2.5)}\n{speaker}: {text}\n"
              for number, (speaker, text, start) in enumerate(cues, 1)]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def _time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def reel() -> list[tuple[str, str, float]]:
    return [(speaker, text, 3.0 + 3 * index) for index, (speaker, text) in enumerate(CUES)]


def run(timeline: Path, subs: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """``revoice run`` as the CLI runs it (a fresh context each time); its exit code and --json summary."""
    from contextlib import redirect_stdout
    from io import StringIO

    printed = StringIO()
    with redirect_stdout(printed):
        code = main(["run", str(timeline), "--subs", str(subs), "--out", str(out), "--profiles", "off",
                     "--quiet", "--json", *extra])
    return code, json.loads(printed.getvalue())


def files_and_times(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): path.stat().st_mtime_ns for path in sorted(folder.rglob("*"))
            if path.is_file()}


def texts(voice: HumVoice) -> set[str]:
    return {request.text for request in voice.calls}


def test_an_unchanged_rerun_loads_no_voice_and_rewrites_nothing(registry: Registry, tmp_path: Path) -> None:
    timeline, subs = write_scene(tmp_path / "in", reel())
    out = tmp_path / "out" / "reel_revoiced.otio"
    code, first = run(timeline, subs, out)
    assert code == 0 and first["cached"] == 0 and len(registry.loads) == 1
    before = files_and_times(out.parent)
    registry.voice.calls.clear()
    code, again = run(timeline, subs, out)
    assert code == 0 and again["cached"] == 4 and again["written"] == [str(out)]
    assert len(registry.loads) == 1 and registry.voice.calls == []  # no model loaded, nothing synthesized
    assert files_and_times(out.parent) == before  # the timeline would be the same bytes: left alone
    assert again["superseded"] == []


def test_a_cached_rerun_imports_no_voice_meter_or_dsp_module(registry: Registry, tmp_path: Path) -> None:
    timeline, subs = write_scene(tmp_path / "in", reel())
    out = tmp_path / "out" / "reel_revoiced.otio"
    assert run(timeline, subs, out)[0] == 0
    script = textwrap.dedent(f"""
        import dataclasses, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import revoice.engine.voices.registry as registry
        from test_rerun import HumVoice
        voice = HumVoice()
        def refuse(options):
            raise SystemExit("the model was loaded")
        spec = dataclasses.replace(voice.spec, factory=refuse, voice_list=voice.voices)
        registry.discover_backends = lambda extra=(): [spec]
        from revoice.cli import main
        code = main(["run", {str(timeline)!r}, "--subs", {str(subs)!r}, "--out", {str(out)!r}, "--profiles", "off",
                     "--quiet"])
        heavy = sorted(name for name in {HEAVY!r} if name in sys.modules)
        print("HEAVY", heavy, "CODE", code)
    """)
    tests = Path(__file__).parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY [] CODE 0" in done.stdout, done.stdout + done.stderr


def test_qc_with_every_take_metered_loads_no_meter(registry: Registry, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    timeline, subs = write_scene(tmp_path / "in", reel())
    out = tmp_path / "out" / "reel_revoiced.otio"
    metered: list[str] = []

    def assessor(line: object, rendered: object) -> dict[str, object]:
        metered.append(getattr(line, "line_id"))
        return {"score": 0.9, "flags": []}

    session = Session.open(timeline, subtitles=subs, out=out, context=EngineContext(assessor=assessor))
    assert not session.render(session.options(qc=True, takes=2)).failed
    assert len(metered) == 8  # every take metered once, kept in its sidecar

    import revoice.engine.qc.assess as assess

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a QC meter was loaded although every take is metered")

    for meter in ("AsrMeter", "DistillMosMeter", "SpeakerSimilarity"):
        monkeypatch.setattr(assess, meter, refuse)
    monkeypatch.setattr(assess.LineQc, "__call__", refuse)
    registry.loads.clear()
    again = Session.open(timeline, subtitles=subs, out=out, context=EngineContext())  # the CLI's: meters lazily
    outcome = again.render(again.options(qc=True, takes=2))
    assert outcome.batch.cached == 4 and not outcome.failed and len(registry.loads) == 0


def test_deleting_or_inserting_a_cue_renders_only_what_is_new(registry: Registry, tmp_path: Path) -> None:
    timeline, subs = write_scene(tmp_path / "in", reel())
    out = tmp_path / "out" / "reel_revoiced.otio"
    assert run(timeline, subs, out)[0] == 0
    registry.voice.calls.clear()
    code, deleted = run(timeline, write_subs(tmp_path / "in" / "deleted.srt", reel()[1:]), out)
    assert code == 0 and deleted["cached"] == 3 and registry.voice.calls == []
    clips = [clip for clip in otio.adapters.read_from_file(str(out)).find_clips()
             if "revoice" in clip.metadata]
    assert sorted(Path(clip.media_reference.target_url).name for clip in clips) == [
        "ANNA_L0001_t1.wav", "BEN_L0002_t1.wav", "BEN_L0003_t1.wav"]
    # ANNA_L0001 and BEN_L0003 held other lines' renders: parked; ANNA_L0002 and BEN_L0004 are no line's now
    assert len(deleted["superseded"]) == 4
    code, inserted = run(timeline, write_subs(tmp_path / "in" / "inserted.srt", [("ANNA", "Hello?", 0.0), *reel()]), out)
    assert code == 0 and inserted["cached"] == 4 and texts(registry.voice) == {"Hello?"}


def test_a_warm_one_line_edit_synthesizes_that_line_only(registry: Registry, tmp_path: Path) -> None:
    timeline, subs = write_scene(tmp_path / "in", reel())
    context = EngineContext()  # the panel's and the service's: kept between renders
    session = Session.open(timeline, subtitles=subs, out=tmp_path / "out" / "reel_revoiced.otio", context=context)
    assert session.render(session.options()).batch.cached == 0 and len(registry.loads) == 1
    registry.voice.calls.clear()
    wav = session.layout.media_dir / "BEN_L0003_t1.wav"
    old_key = sidecar_key(wav)
    assert old_key is not None
    edited = session.render(session.options(text_overrides={"L0003": "Out, obviously."}))
    assert texts(registry.voice) == {"Out, obviously."} and edited.batch.cached == 3
    assert len(registry.loads) == 1  # the model stayed loaded
    assert edited.superseded == [parked_path(wav, old_key)]  # the old reading, kept for an undo
    registry.voice.calls.clear()
    assert session.render(session.options(text_overrides={"L0003": "Out, obviously."})).batch.cached == 4
    assert session.render(session.options()).batch.cached == 4 and registry.voice.calls == []  # undone: no synthesis


def test_superseded_renders_are_listed_then_pruned(registry: Registry, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    timeline, subs = write_scene(tmp_path / "in", reel())
    out = tmp_path / "out" / "reel_revoiced.otio"
    assert run(timeline, subs, out)[0] == 0
    edited = write_subs(tmp_path / "in" / "edited.srt", [*reel()[:3], ("BEN", "Nowhere.", reel()[3][2])])
    code = main(["run", str(timeline), "--subs", str(edited), "--out", str(out), "--profiles", "off", "--quiet"])
    table = capsys.readouterr().out
    assert code == 0 and "1 superseded render (no line of this timeline uses them)" in table and "--prune" in table
    media = out.parent / "reel_revoiced_media"
    parked = [path for path in media.glob("BEN_L0004_t1.*.wav")]
    assert len(parked) == 1
    code, pruned = run(timeline, edited, out, "--prune")
    assert code == 0 and pruned["pruned"] is True and pruned["superseded"] == [str(parked[0])]
    assert not parked[0].exists() and not parked[0].with_suffix(".json").exists()
    assert sorted(path.name for path in media.glob("*.wav")) == [
        "ANNA_L0001_t1.wav", "ANNA_L0002_t1.wav", "BEN_L0003_t1.wav", "BEN_L0004_t1.wav"]
    code, after = run(timeline, edited, out)
    assert code == 0 and after["cached"] == 4 and after["superseded"] == []


def test_a_voice_that_fails_to_load_at_its_first_line_is_one_line_exit_3(
        registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(options: BackendOptions) -> VoiceBackend:
        raise BackendUnavailable("hum: model file is damaged (reinstall it)")

    spec = dataclasses.replace(registry.voice.spec, factory=broken, voice_list=registry.voice.voices)
    monkeypatch.setattr("revoice.engine.voices.registry.discover_backends", lambda extra=(): [spec])
    timeline, subs = write_scene(tmp_path / "in", reel())
    code = main(["run", str(timeline), "--subs", str(subs), "--out", str(tmp_path / "o.otio"), "--profiles", "off",
                 "--quiet"])
    err = capsys.readouterr().err
    assert code == 3 and "model file is damaged" in err and "Traceback" not in err


def test_a_lazy_voice_without_a_voice_list_loads_to_list_its_voices() -> None:
    from revoice.engine.voices.registry import LazyBackend

    voice = HumVoice()
    loads: list[str] = []

    def load(spec: BackendSpec, options: BackendOptions) -> VoiceBackend:
        loads.append(spec.name)
        return voice

    listed = LazyBackend(dataclasses.replace(voice.spec, voice_list=voice.voices), BackendOptions(), load=load)
    assert [v.voice_id for v in listed.voices()] == ["amy"] and listed.spec.name == "hum" and loads == []
    assert not hasattr(listed, "voice_key") and loads == []  # the renderer's hooks are never looked up on the model
    unlisted = LazyBackend(voice.spec, BackendOptions(), load=load)
    assert [v.voice_id for v in unlisted.voices()] == ["amy"] and loads == ["hum"] and unlisted.is_loaded
    unlisted.voices()
    assert loads == ["hum"]


def test_warming_a_context_imports_what_a_render_would_import_on_first_use() -> None:
    """The first edit in a warm panel or service must not pay scipy's and parselmouth's imports (0.5-1.5 s)."""
    import subprocess
    import sys

    probe = ("import sys; from revoice.context import EngineContext, RENDER_MODULES; "
             "before = [m for m in ('scipy.signal', 'parselmouth') if m in sys.modules]; EngineContext().warm(); "
             "print(before, [m for m in RENDER_MODULES if m not in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[] []", out
