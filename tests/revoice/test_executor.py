"""revoice.executor (``--jobs N``) and revoice.executor_ray (``--executor ray``): the same files as one process.

The scheduling is tested with lanes that render nothing; the worker processes and Ray
with a stand-in voice that pickles (so a worker can rebuild it) and, marked slow, the
real piper voice on the demo scene.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from revoice.engine.model import DialogueLine, FrameRange, RenderedLine
from revoice.engine.render import LineFailure, Progress
from revoice.engine.voices.base import (
    BackendOptions,
    BackendSpec,
    Synthesis,
    SynthesisRequest,
    VoiceBackend,
    VoiceInfo,
    assemble_synthesis,
)

from revoice.context import EngineContext
from revoice.executor import WorkerPlan
from revoice.executor_lanes import (
    LineResult,
    LineTask,
    WorkerLost,
    longest_first,
    run_lanes,
)
from revoice.options import JobError, JobOptions, Shard, check_executor, executor_args
from revoice.session import Session

# -- a voice a worker process can rebuild --------------------------------------------------------------


def _available(_options: BackendOptions) -> str | None:
    return None


def _refuse(_options: BackendOptions) -> VoiceBackend:
    raise RuntimeError("the tone voice is passed in, never loaded")


class ToneVoice:
    """Says each word as a short tone whose pitch comes from the word and the seed (pickles by its fields).

    ``dies_in_workers``: a worker process (not the one that made the voice) dies at its first line.
    """

    def __init__(self, *, dies_in_workers: bool = False, seconds: float = 0.0) -> None:
        self.dies_in_workers = dies_in_workers
        self.seconds = seconds
        self.made_in = os.getpid()

    @property
    def spec(self) -> BackendSpec:
        return BackendSpec(name="tone", display_name="tone", languages=("en",), sample_rate=16000,
                           native_duration_control=True, needs_gpu=False, licence="MIT", description="test",
                           availability=_available, factory=_refuse, commercial_use=True,
                           commercial_note="test tone, no model weights")

    def voices(self) -> Sequence[VoiceInfo]:
        return (VoiceInfo("low", ("en",)), VoiceInfo("high", ("en",)))

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        if self.dies_in_workers and os.getpid() != self.made_in:
            os._exit(3)
        time.sleep(self.seconds)
        pieces, labels = [], []
        rng = np.random.default_rng(request.seed)
        base = 180.0 if request.voice_id == "high" else 110.0
        for word in request.text.split():
            n = int(0.2 * 16000 * request.duration_scale)
            t = np.arange(n) / 16000
            pitch = base * (1 + (int(hashlib.sha256(word.encode()).hexdigest()[:2], 16) / 512))
            tone = 0.3 * np.sin(2 * np.pi * pitch * t) * np.hanning(n) + 0.003 * rng.standard_normal(n)
            pieces += [tone.astype(np.float32), np.zeros(800, np.float32)]
            labels += [(word, n), ("", 800)]
        return assemble_synthesis(pieces, labels, 16000)


LINES = ["Nothing to be done.", "I'm beginning to come round to that opinion.",
         "All my life I've tried to put it from me, saying Vladimir, be reasonable.", "Yes.",
         "What are you waiting for, there by the door, in the cold?", "Silence.", "Let us go.",
         "We can't.", "Why not?", "We're waiting for Godot, who said he would come by the evening."]


def write_scene(folder: Path, texts: Sequence[str] = LINES) -> tuple[Path, Path]:
    """A timeline without audio and an SRT of ``texts`` (3 s slots; ANNA and BEN alternate)."""
    import opentimelineio as otio

    folder.mkdir(parents=True, exist_ok=True)
    rate = 24.0
    timeline = otio.schema.Timeline(name="scene", global_start_time=otio.opentime.RationalTime(86400, rate))
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    frames = int(rate * (4 * len(texts) + 2))
    track.append(otio.schema.Clip(name="picture", media_reference=otio.schema.MissingReference(),
                                  source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                                       otio.opentime.RationalTime(frames, rate))))
    timeline.tracks.append(track)
    otio.adapters.write_to_file(timeline, str(folder / "scene.otio"))
    cues = []
    for index, text in enumerate(texts):
        start = 1 + 4 * index
        cues.append(f"{index + 1}\n00:00:{start:02d},000 --> 00:00:{start + 3:02d},000\n"
                    f"{'ANNA' if index % 2 == 0 else 'BEN'}: {text}\n")
    (folder / "scene.srt").write_text("\n".join(cues), encoding="utf-8")
    return folder / "scene.otio", folder / "scene.srt"


def render_scene(folder: Path, scene: tuple[Path, Path], voice: VoiceBackend, **options: Any) -> tuple[
        Any, dict[str, str], list[Progress], list[str]]:
    """Render the scene into ``folder``; (outcome, sha256 of each WAV by name, progress events, calling threads)."""
    timeline, subtitles = scene
    session = Session.open(timeline, subtitles=subtitles, out=folder / "scene_revoiced.otio",
                           subtitle_offset="zero", context=EngineContext(voice=voice))
    events: list[Progress] = []
    threads: list[str] = []

    def on_line(event: Progress) -> None:
        events.append(event)
        threads.append(threading.current_thread().name)

    job = session.options(profiles="off", speaker_voices={"BEN": "high"}, **options)
    outcome = session.render(job, on_line=on_line)
    wavs = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(job.media_dir.glob("*.wav"))}
    return outcome, wavs, events, threads


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_scene(tmp_path_factory.mktemp("scene"))


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory, scene: tuple[Path, Path]) -> tuple[Any, dict[str, str]]:
    outcome, wavs, _, _ = render_scene(tmp_path_factory.mktemp("one"), scene, ToneVoice())
    return outcome, wavs


# -- options -----------------------------------------------------------------------------------------------


def test_jobs_alone_means_worker_processes_and_bad_combinations_name_the_option() -> None:
    assert executor_args(argparse.Namespace(jobs=2)) == ("processes", 2, None)
    assert executor_args(argparse.Namespace()) == ("auto", None, None)  # the CLI's default
    assert executor_args(argparse.Namespace(jobs=1, executor=None, ray_address=None)) == ("local", 1, None)
    with pytest.raises(ValueError, match="^--jobs 0: use 1 to 1024"):
        check_executor("processes", 0, None)
    with pytest.raises(ValueError, match="^--jobs 4: the local executor"):
        check_executor("local", 4, None)
    with pytest.raises(ValueError, match="^--ray-address: only with --executor ray"):
        check_executor("processes", 2, "ray://farm:10001")
    with pytest.raises(ValueError, match="^--executor 'dask'"):
        check_executor("dask", None, None)


def test_ray_missing_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(ValueError) as caught:
        check_executor("ray", None, None)
    assert str(caught.value) == "--executor ray: Ray is not installed; pip install 'revoice[ray]'"


def test_the_cli_refuses_ray_without_ray_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from revoice.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    timeline, subtitles = write_scene(tmp_path / "in", LINES[:1])
    code = main(["run", str(timeline), "--subs", str(subtitles), "--executor", "ray", "--profiles", "off",
                 "--out", str(tmp_path / "out.otio")])
    assert code == 2
    assert capsys.readouterr().err.strip() == "revoice: --executor ray: Ray is not installed; pip install 'revoice[ray]'"


def test_every_process_synthesizes_with_one_math_thread(tmp_path: Path) -> None:
    """ONNX Runtime's thread count changes the last bits of piper's samples: one count for all."""
    options = JobOptions(timeline=tmp_path / "a.otio", out=tmp_path / "b.otio", executor="processes", jobs=2)
    assert options.backend_options.threads == 1
    assert JobOptions(timeline=tmp_path / "a.otio", out=tmp_path / "b.otio").backend_options.threads == 1


# -- scheduling (no voice) -------------------------------------------------------------------------------------


def _task(index: int, text: str, frames: int = 48) -> LineTask:
    line = DialogueLine(f"L{index:04d}", text, "ANNA", "en", FrameRange(index * 100, frames, 24.0), origin=f"s:{index}")
    return LineTask(line, key=f"k{index}", order=index)


class FakeLane:
    """Renders by text: ``fail`` lines fail, ``cached`` ones are reused; records what it rendered.

    ``dies``: the lane stops at its first line and sets that event; ``after``: it starts once that is set.
    """

    def __init__(self, name: str, *, start_error: str | None = None, gate: threading.Event | None = None,
                 seconds: float = 0.0, dies: threading.Event | None = None,
                 after: threading.Event | None = None) -> None:
        self.name = name
        self.seconds = seconds
        self.dies = dies
        self.after = after
        self.start_error = start_error
        self.gate = gate
        self.rendered: list[str] = []
        self.stopped = False

    def start(self) -> None:
        if self.after is not None:
            self.after.wait(10)
        if self.start_error:
            raise WorkerLost(self.start_error)

    def render(self, task: LineTask) -> LineResult:
        if self.gate is not None:
            self.gate.wait(10)
        time.sleep(self.seconds)
        line = task.line
        if self.dies is not None:
            self.dies.set()
            raise WorkerLost(f"{self.name} stopped (exit code -11)")
        self.rendered.append(line.line_id)
        if line.text == "fail":
            return LineResult(line.line_id, failure=LineFailure(line.line_id, line.origin, "cannot fit"))
        if line.text == "no voice":
            return LineResult(line.line_id, failure=LineFailure(line.line_id, line.origin, "piper: no model"),
                              fatal=True)
        path = Path(f"/nowhere/{line.line_id}.wav")
        return LineResult(line.line_id, rendered=RenderedLine(line.line_id, path, 48000, 96000, 0, 1, "x", "y"),
                          cached=line.text == "cached")

    def stop(self) -> None:
        self.stopped = True


def test_longest_lines_go_first_ties_in_line_order() -> None:
    tasks = [_task(0, "short"), _task(1, "a much longer line"), _task(2, "tiny", 96), _task(3, "tiny", 48),
             _task(4, "short")]
    assert [t.order for t in longest_first(tasks)] == [1, 0, 4, 2, 3]


def test_lanes_share_the_lines_and_results_come_back_in_line_order() -> None:
    tasks = [_task(i, "x" * (i + 1)) for i in range(12)] + [_task(12, "cached")]
    lanes = [FakeLane("a"), FakeLane("b"), FakeLane("c")]
    events: list[Progress] = []
    threads: set[str] = set()

    def progress(event: Progress) -> None:
        events.append(event)
        threads.add(threading.current_thread().name)

    outcome = run_lanes(lanes, longest_first(tasks), progress=progress)
    assert [r.line_id for r in outcome.batch.rendered] == [t.line.line_id for t in tasks]
    assert sorted(line_id for lane in lanes for line_id in lane.rendered) == sorted(t.line.line_id for t in tasks)
    assert outcome.batch.cached == 1 and not outcome.batch.failed and not outcome.batch.cancelled
    assert threads == {threading.current_thread().name}
    finals = [e for e in events if e.state != "rendering"]
    assert [e.done for e in finals] == list(range(1, 14)) and {e.total for e in events} == {13}
    assert all(lane.stopped for lane in lanes) and outcome.warnings == []


def test_a_failed_line_and_a_lost_worker_keep_every_other_line() -> None:
    tasks = [_task(0, "one"), _task(1, "fail"), _task(2, "three"), _task(3, "four"), _task(4, "five")]
    died = threading.Event()
    dying, steady = FakeLane("worker process 1", dies=died), FakeLane("this process", after=died)
    outcome = run_lanes([dying, steady], tasks)
    failed = {f.line_id: f.reason for f in outcome.batch.failed}
    assert failed == {"L0000": "not rendered: worker process 1 stopped (exit code -11)", "L0001": "cannot fit"}
    assert [r.line_id for r in outcome.batch.rendered] == ["L0002", "L0003", "L0004"]
    assert outcome.warnings == ["worker process 1 stopped (exit code -11); the other workers rendered its lines"]


def test_a_worker_that_cannot_start_leaves_its_lines_to_the_others_and_none_left_fails_them() -> None:
    tasks = [_task(i, "line") for i in range(4)]
    outcome = run_lanes([FakeLane("w1", start_error="w1 could not start: no model"), FakeLane("here")], tasks)
    assert len(outcome.batch.rendered) == 4 and outcome.warnings[0].startswith("w1 could not start: no model")
    alone = run_lanes([FakeLane("w1", start_error="w1 could not start: no model")], tasks)
    assert [f.reason for f in alone.batch.failed] == ["not rendered: no worker was left to render it"] * 4
    assert alone.warnings == ["w1 could not start: no model; no worker was left"]


def test_cancel_stops_new_lines_keeps_finished_ones_and_tells_the_workers() -> None:
    tasks = [_task(i, "line") for i in range(20)]
    told: list[bool] = []
    done: list[Progress] = []
    outcome = run_lanes([FakeLane("a", seconds=0.02), FakeLane("b", seconds=0.02)], tasks, progress=done.append,
                        should_cancel=lambda: sum(e.state == "done" for e in done) >= 3,
                        on_cancel=lambda: told.append(True))
    assert outcome.batch.cancelled and told == [True]
    assert 3 <= len(outcome.batch.rendered) < 20 and not outcome.batch.failed


def test_a_voice_that_cannot_load_stops_the_run_as_one_process_would() -> None:
    from revoice.engine.voices.base import BackendUnavailable

    tasks = [_task(i, "no voice" if i == 1 else "line") for i in range(30)]
    told: list[bool] = []
    with pytest.raises(BackendUnavailable, match="^piper: no model$"):
        run_lanes([FakeLane("a", seconds=0.01), FakeLane("b", seconds=0.01)], tasks,
                  on_cancel=lambda: told.append(True))
    assert told == [True]


def test_ctrl_c_while_waiting_stops_the_workers_and_is_raised() -> None:
    tasks = [_task(i, "line") for i in range(4)]
    gate = threading.Event()
    told: list[bool] = []

    def interrupt() -> bool:
        gate.set()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_lanes([FakeLane("a", gate=gate)], tasks, should_cancel=interrupt, on_cancel=lambda: told.append(True))
    assert told == [True]


# -- worker processes with a stand-in voice ------------------------------------------------------------


def test_two_processes_write_the_same_wavs_as_one(tmp_path: Path, scene: tuple[Path, Path],
                                                   one_process: tuple[Any, dict[str, str]]) -> None:
    single, single_wavs = one_process
    outcome, wavs, events, threads = render_scene(tmp_path, scene, ToneVoice(), executor="processes", jobs=2)
    assert wavs == single_wavs and len(wavs) == len(LINES)
    assert [r.line_id for r in outcome.batch.rendered] == [r.line_id for r in single.batch.rendered]
    assert [r.report.seed for r in outcome.batch.rendered] == [r.report.seed for r in single.batch.rendered]
    assert not outcome.failed and outcome.written == [tmp_path / "scene_revoiced.otio"]
    assert set(threads) == {threading.current_thread().name}
    finished = [e for e in events if e.state == "done"]
    assert len(finished) == len(LINES) and sorted(e.done for e in finished) == list(range(1, len(LINES) + 1))
    again, _, rerun, _ = render_scene(tmp_path, scene, ToneVoice(), executor="processes", jobs=2)
    assert again.batch.cached == len(LINES) and {e.state for e in rerun} == {"rendering", "cached"}


def test_a_worker_that_dies_fails_its_line_only(tmp_path: Path, scene: tuple[Path, Path],
                                                one_process: tuple[Any, dict[str, str]]) -> None:
    _, single_wavs = one_process
    outcome, wavs, _, _ = render_scene(tmp_path, scene, ToneVoice(dies_in_workers=True), executor="processes",
                                       jobs=2)
    (failure,) = outcome.batch.failed
    assert failure.reason == "not rendered: worker process 1 stopped (exit code 3)"
    assert {name: digest for name, digest in single_wavs.items() if failure.line_id not in name} == wavs
    assert len(outcome.batch.rendered) == len(LINES) - 1
    assert any("worker process 1 stopped" in warning for warning in outcome.warnings)
    assert [f.line_id for f in outcome.failed] == [failure.line_id]  # reported as one process reports it


def test_cancel_stops_the_workers_lines_keeps_the_finished_ones_and_leaves_no_worker(
        tmp_path: Path, scene: tuple[Path, Path], one_process: tuple[Any, dict[str, str]]) -> None:
    import multiprocessing

    timeline, subtitles = scene
    session = Session.open(timeline, subtitles=subtitles, out=tmp_path / "scene_revoiced.otio",
                           context=EngineContext(voice=ToneVoice(seconds=0.1)))
    events: list[Progress] = []
    job = session.options(profiles="off", speaker_voices={"BEN": "high"}, executor="processes", jobs=2)
    outcome = session.render(job, on_line=events.append,
                             should_cancel=lambda: sum(e.state == "done" for e in events) >= 2)
    assert outcome.batch.cancelled and outcome.written == []
    kept = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in job.media_dir.glob("*.wav")}
    assert 2 <= len(kept) < len(LINES) and all(one_process[1][name] == digest for name, digest in kept.items())
    assert [p.name for p in job.media_dir.iterdir() if p.name.endswith(".tmp")] == []
    assert multiprocessing.active_children() == []


def test_a_voice_that_cannot_be_sent_renders_here_with_a_warning(tmp_path: Path, scene: tuple[Path, Path],
                                                                 one_process: tuple[Any, dict[str, str]]) -> None:
    voice = ToneVoice()
    voice.lock = threading.Lock()  # type: ignore[attr-defined]  # cannot be pickled
    outcome, wavs, _, _ = render_scene(tmp_path, scene, voice, executor="processes", jobs=2)
    assert wavs == one_process[1]
    assert any("cannot be sent to worker processes" in w and "rendering in this process only" in w
               for w in outcome.warnings)


def test_auto_starts_workers_only_for_enough_lines_to_render(tmp_path: Path, scene: tuple[Path, Path],
                                                             one_process: tuple[Any, dict[str, str]]) -> None:
    """The CLI's default: a reel's first run uses every CPU; an edit or a short run stays in this process."""
    from revoice.options import AUTO_WORKERS_FROM

    assert len(LINES) >= AUTO_WORKERS_FROM
    voice = ToneVoice()
    voice.lock = threading.Lock()  # type: ignore[attr-defined]  # cannot be sent: a warning shows workers were wanted
    few, _, _, _ = render_scene(tmp_path / "few", scene, voice, executor="auto", jobs=2,
                                line_ids=frozenset({"L0001", "L0002", "L0003"}))
    assert not few.failed and not any("worker" in w for w in few.warnings)
    whole, wavs, _, _ = render_scene(tmp_path / "whole", scene, voice, executor="auto", jobs=2)
    assert wavs == one_process[1]
    assert any("cannot be sent to worker processes" in w for w in whole.warnings)
    sharded, _, _, _ = render_scene(tmp_path / "shard", scene, voice, executor="auto", jobs=2,
                                    shard=Shard(1, 2))  # a farm's shard: the farm runs the processes
    assert not any("worker" in w for w in sharded.warnings)


def test_a_plan_pickles_without_its_loaded_voice(tmp_path: Path) -> None:
    import pickle

    from revoice.engine.render import Revoicer

    options = JobOptions(timeline=tmp_path / "a.otio", out=tmp_path / "b.otio")
    plan = WorkerPlan.build(options, {"en": Revoicer(backend=ToneVoice(), voices_by_speaker={"BEN": "high"})},
                            given_voice=ToneVoice())
    copy = pickle.loads(pickle.dumps(plan))
    assert copy.voices_by_speaker == {"en": {"BEN": "high"}} and copy.options == options
    assert isinstance(pickle.loads(copy.given_voice or b""), ToneVoice)


# -- Ray -----------------------------------------------------------------------------------------------


needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (the ray extra)")


@needs_ray
@pytest.mark.slow
def test_ray_actors_on_a_local_cluster_write_the_same_wavs_as_one_process(
        tmp_path: Path, scene: tuple[Path, Path], one_process: tuple[Any, dict[str, str]]) -> None:
    single, single_wavs = one_process
    outcome, wavs, events, threads = render_scene(tmp_path, scene, ToneVoice(), executor="ray", jobs=2)
    assert wavs == single_wavs and not outcome.failed, outcome.warnings
    assert [r.report.seed for r in outcome.batch.rendered] == [r.report.seed for r in single.batch.rendered]
    assert set(threads) == {threading.current_thread().name}
    assert sum(e.state == "done" for e in events) == len(LINES)
    import ray

    assert not ray.is_initialized()  # the local cluster this run started is gone


def test_ray_starts_a_private_local_cluster_that_reports_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    """No dashboard, loopback only, usage stats off in the environment its processes inherit."""
    from revoice.executor_ray import start_ray
    from revoice.privacy import OFFLINE_ENVIRONMENT

    calls: list[dict[str, Any]] = []

    class FakeRay:
        @staticmethod
        def is_initialized() -> bool:
            return False

        @staticmethod
        def init(**kwargs: Any) -> None:
            calls.append(dict(kwargs, usage=os.environ.get("RAY_USAGE_STATS_ENABLED")))

    monkeypatch.delenv("RAY_USAGE_STATS_ENABLED", raising=False)
    options = JobOptions(timeline=tmp_path / "a.otio", out=tmp_path / "b.otio", executor="ray", jobs=2) \
        if importlib.util.find_spec("ray") else None
    if options is None:
        pytest.skip("ray is not installed (the ray extra)")
    assert start_ray(FakeRay(), options) is True
    (call,) = calls
    assert call["include_dashboard"] is False and call["_node_ip_address"] == "127.0.0.1"
    assert call["num_cpus"] == 2 and call["log_to_driver"] is False and call["usage"] == "0"
    assert call["runtime_env"]["env_vars"]["OMP_NUM_THREADS"] == "1"
    assert OFFLINE_ENVIRONMENT["RAY_USAGE_STATS_ENABLED"] == "0"


def test_an_unreachable_ray_cluster_is_one_line(tmp_path: Path) -> None:
    from revoice.executor_ray import start_ray

    class Unreachable:
        @staticmethod
        def is_initialized() -> bool:
            return False

        @staticmethod
        def init(**kwargs: Any) -> None:
            raise ConnectionError("Failed to connect to ray://farm:10001\nmore\ntraceback")

    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (the ray extra)")
    options = JobOptions(timeline=tmp_path / "a.otio", out=tmp_path / "b.otio", executor="ray",
                         ray_address="ray://farm:10001")
    with pytest.raises(JobError) as caught:
        start_ray(Unreachable(), options)
    assert str(caught.value) == ("--executor ray: cannot start or reach ray://farm:10001 "
                                 "(ConnectionError: Failed to connect to ray://farm:10001)")


# -- the real voice (slow) --------------------------------------------------------------------------------


@pytest.mark.slow
def test_piper_in_two_processes_gives_the_same_bytes_as_one(endgame_scene: tuple[Path, Path], tmp_path: Path) -> None:
    """The registry's piper voice (one ONNX thread everywhere), the demo scene's first lines, with its takes."""
    from revoice.privacy import offline_environment

    offline_environment()
    timeline, subtitles = endgame_scene
    lines = frozenset(f"L{i:04d}" for i in range(1, 7))
    digests = []
    for name, extra in (("one", {}), ("two", {"executor": "processes", "jobs": 2})):
        session = Session.open(timeline, subtitles=subtitles, out=tmp_path / name / "cut.otio")
        options = session.options(profiles="off", line_ids=lines, **extra)
        outcome = session.render(options)
        assert not outcome.failed and len(outcome.batch.rendered) == 6
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in options.media_dir.glob("*.wav")})
    assert digests[0] == digests[1] and len(digests[0]) == 6


@needs_ray
@pytest.mark.slow
def test_a_ray_run_talks_to_nothing_but_this_machine(tmp_path: Path) -> None:
    """``revoice demo --executor ray`` under strace: every connection and datagram of the driver and of every
    Ray process goes to 127.0.0.1 (no cloud metadata probe, no DNS, no usage report)."""
    import re
    import shutil
    import subprocess
    import sys

    from revoice.privacy import OFFLINE_ENVIRONMENT

    if shutil.which("strace") is None or subprocess.run(["strace", "-f", "-qq", "-o", os.devnull, "true"],
                                                         capture_output=True, check=False).returncode != 0:
        pytest.skip("strace is not available here")
    revoice = Path(sys.executable).with_name("revoice")
    trace = tmp_path / "strace.txt"
    env = {key: value for key, value in os.environ.items() if key not in OFFLINE_ENVIRONMENT}
    done = subprocess.run(["strace", "-f", "-qq", "-e", "signal=none", "-e", "trace=connect,sendto,sendmsg",
                           "-o", str(trace), str(revoice), "demo", "--profiles", "off", "--quiet", "--executor",
                           "ray", "--jobs", "2", "--out", str(tmp_path / "out" / "demo_revoiced.otio")],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    calls = [line for line in trace.read_text(encoding="utf-8").splitlines() if "AF_INET" in line]
    assert calls, "a local Ray cluster talks over loopback TCP: strace saw none"
    addresses = {m for line in calls for m in re.findall(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6?, "([^"]+)"',
                                                          line) for m in m if m}
    assert addresses <= {"127.0.0.1", "::ffff:127.0.0.1", "::1", "0.0.0.0", "::"}, addresses
    assert not [line for line in calls if "htons(53)" in line]
