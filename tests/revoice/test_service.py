"""revoice serve: the local engine service, over real HTTP on 127.0.0.1 (docs/service-api.md).

One service runs in a thread for the module (port 0, REVOICE_STATE_DIR in a
temporary folder) so the voice loads once; the render tests use the embedded
demo scene with profiles off and a line or two each.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from revoice import cli
from revoice.demo import demo_files
from revoice.service.app import LocalService, ServeError, loopback_host
from revoice.service.client import ServiceClient, ServiceError, ServiceEvent, read_service_info
from revoice.service.job_request import JobRequest, RequestError, option_arguments, run_parser


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("service") / "state"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REVOICE_STATE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def service(state: Path) -> Iterator[LocalService]:
    running = LocalService(port=0)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    assert running.listening.wait(15), "the service did not start"
    yield running
    running.stop()
    thread.join(15)
    assert not thread.is_alive()
    assert not (state / "service.json").exists(), "service.json must go when the service stops"


@pytest.fixture(scope="module")
def api(service: LocalService, state: Path) -> ServiceClient:
    info = read_service_info(state)
    assert info is not None
    return ServiceClient.from_info(info, timeout=30)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    files = demo_files(tmp_path_factory.mktemp("scene"))
    return files.timeline, files.subtitles


def raw(service: LocalService, method: str, path: str, *, headers: dict[str, str] | None = None,
        body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    """``(status, JSON answer)`` of a request made by hand (no client, no token unless given)."""
    request = urllib.request.Request(service.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def refused(call: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


# --- finding it, tokens, loopback ---------------------------------------------------------------------------------

def test_service_json_and_token_are_user_only_files_in_the_state_folder(service: LocalService, state: Path) -> None:
    info = json.loads((state / "service.json").read_text(encoding="utf-8"))
    assert info == {"version": 1, "url": f"http://127.0.0.1:{service.port}", "port": service.port,
                    "token": service.token, "pid": os.getpid()}
    assert (state / "token").read_text(encoding="utf-8").strip() == service.token
    assert len(service.token) == 64 and int(service.token, 16) >= 0
    if os.name == "posix":
        assert stat.S_IMODE((state / "service.json").stat().st_mode) == 0o600
        assert stat.S_IMODE((state / "token").stat().st_mode) == 0o600
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert json.loads((state / "command.json").read_text(encoding="utf-8"))["argv"][-1] == "serve"


def test_every_request_needs_the_token(service: LocalService, api: ServiceClient) -> None:
    missing = {"error": "missing or wrong token"}
    assert raw(service, "GET", "/health") == (401, missing)
    assert raw(service, "GET", "/jobs", headers={"Authorization": "Bearer " + "0" * 64}) == (401, missing)
    assert raw(service, "POST", "/jobs", body=b"{}") == (401, missing)
    assert raw(service, "GET", "/jobs/x/events?token=wrong") == (401, missing)
    assert raw(service, "GET", "/health?token=" + service.token)[0] == 401, "?token= is for the event stream only"
    assert raw(service, "GET", "/jobs/x/events?token=" + service.token)[0] == 404
    health = api.health()
    assert health["ok"] is True and health["version"]
    assert refused(lambda: ServiceClient(service.url, "wrong").health()).status == 401


def test_a_non_loopback_host_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REVOICE_STATE_DIR", str(tmp_path / "state"))
    for host in ("0.0.0.0", "192.168.1.20", "::", "example.com"):
        assert cli.main(["serve", "--host", host]) == 2
        message = capsys.readouterr().err
        assert message.count("\n") == 1 and "refused" in message and "127.0.0.1" in message
        with pytest.raises(ServeError):
            LocalService(host=host, port=0)
    assert not (tmp_path / "state").exists(), "nothing is written when the host is refused"
    assert loopback_host("localhost") == "127.0.0.1" and loopback_host("127.0.0.1") == "127.0.0.1"


def test_a_port_in_use_is_one_line(service: LocalService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REVOICE_STATE_DIR", str(tmp_path / "state"))
    assert cli.main(["serve", "--port", str(service.port)]) == 2
    message = capsys.readouterr().err
    assert message.startswith(f"revoice serve: cannot listen on 127.0.0.1:{service.port}") and message.count("\n") == 1


# --- bad requests --------------------------------------------------------------------------------------------------

def cli_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line ``revoice run`` prints for ``argv`` (without the program's prefix)."""
    try:
        cli.main(["run", *argv])
    except SystemExit:
        pass
    last = capsys.readouterr().err.strip().splitlines()[-1]
    for prefix in ("revoice: ", "revoice run: error: "):
        if last.startswith(prefix):
            return last[len(prefix):]
    return last


def test_bad_requests_get_4xx_with_the_clis_message(api: ServiceClient, scene: tuple[Path, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    timeline, subtitles = scene
    out = tmp_path / "cut_revoiced.otio"
    missing = tmp_path / "nowhere" / "cut.otio"
    error = refused(lambda: api.submit(missing, out=out))
    assert (error.status, error.message) == (404, cli_message([str(missing), "--out", str(out)], capsys))
    assert "no such file" in error.message
    error = refused(lambda: api.submit(timeline, subtitles=tmp_path / "gone.srt", out=out))
    assert error.status == 404
    assert error.message == cli_message([str(timeline), "--subs", str(tmp_path / "gone.srt"), "--out", str(out)],
                                        capsys)
    for options, argv in (({"takes": 11}, ["--takes", "11"]), ({"takes": "x"}, ["--takes", "x"]),
                          ({"subs_offset": "later"}, ["--subs-offset", "later"]),
                          ({"also": ["pdf"]}, ["--also", "pdf"]),
                          ({"speaker_voices": ["NAGG"]}, ["--speaker-voice", "NAGG"])):
        error = refused(lambda: api.submit(timeline, subtitles=subtitles, out=out, options=options))
        expected = cli_message([str(timeline), "--subs", str(subtitles), "--out", str(out), *argv], capsys)
        assert (error.status, error.message) == (400, expected), options
    assert refused(lambda: api.submit(timeline, out=tmp_path / "cut.mov")).message.startswith("--out ")
    assert refused(lambda: api.submit(timeline, out=out, options={"colour": 1})).status == 400
    assert refused(lambda: api.submit("cut.otio", out=out)).status == 400, "relative paths are refused"
    unknown = refused(lambda: api.submit(timeline, subtitles=subtitles, out=out, options={"line_ids": ["L9999"]}))
    assert unknown.status == 400 and "L9999" in unknown.message
    assert refused(lambda: api.request("POST", "/jobs", {"out": str(out)})).status == 422
    assert refused(lambda: api.job("no-such-job")).status == 404
    assert refused(lambda: api.cancel("no-such-job")).status == 404
    assert refused(lambda: api.choose_take("no-such-job", "L0001", 1)).status == 404
    assert not out.exists() and all(job["out"] != str(out) for job in api.jobs()), "nothing was queued"


def test_request_options_become_the_clis_arguments(tmp_path: Path) -> None:
    parser = run_parser()
    argv = option_arguments({"qc": False, "also": ["xml"], "speaker_voices": {"NAGG": "joe"}, "lead_in": None,
                             "subs_offset": "zero", "true_peak": -3.0, "group_speakers": False, "takes": 2,
                             "json": True}, parser)
    assert argv == ["--no-qc", "--also=xml", "--speaker-voice=NAGG=joe", "--subs-offset=zero", "--true-peak=-3.0",
                    "--takes=2"]
    request = JobRequest.from_json({"timeline": str(tmp_path / "a.otio"), "out": str(tmp_path / "b.otio"),
                                    "options": {"takes": 2, "profiles": "off", "line_ids": ["L0002"],
                                                "texts": {"L0002": "Yes!"}, "true_peak": -3.0}})
    options = request.job_options()
    assert (options.takes, options.profiles, options.line_ids) == (2, "off", frozenset({"L0002"}))
    assert options.text_overrides == {"L0002": "Yes!"} and options.settings.true_peak_ceiling_dbtp == -3.0
    with pytest.raises(RequestError, match="request's own"):
        option_arguments({"out": "/x.otio"}, parser)
    with pytest.raises(RequestError, match="true or false"):
        option_arguments({"qc": "yes"}, parser)


# --- jobs ----------------------------------------------------------------------------------------------------------

def follow(api: ServiceClient, job_id: str) -> list[ServiceEvent]:
    return list(api.events(job_id, timeout=60))


def assert_complete_wav(line: dict[str, Any]) -> None:
    import soundfile as sf

    info = sf.info(line["wav"])
    assert (info.frames, info.samplerate) == (line["samples"], line["sample_rate"])
    assert Path(line["wav"]).with_suffix(".json").is_file(), "a finished line has its sidecar"


@pytest.fixture(scope="module")
def rendered(api: ServiceClient, scene: tuple[Path, Path],
             tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[ServiceEvent]]:
    """A finished job over two lines of the demo scene, and the events its stream sent."""
    timeline, subtitles = scene
    out = tmp_path_factory.mktemp("job") / "scene_revoiced.otio"
    job = api.submit(timeline, subtitles=subtitles, out=out,
                     options={"profiles": "off", "line_ids": ["L0001", "L0002"]})
    assert job["state"] in ("queued", "running") and [line["line_id"] for line in job["lines"]] == ["L0001", "L0002"]
    events = follow(api, job["id"])
    return api.job(job["id"]), events


@pytest.mark.slow
def test_a_job_renders_its_lines_and_lists_wavs_with_record_frames(rendered: tuple[dict[str, Any], list[ServiceEvent]],
                                                                   scene: tuple[Path, Path]) -> None:
    from revoice.session import Session

    status, _ = rendered
    assert (status["state"], status["exit_code"], status["done"], status["total"]) == ("done", 0, 2, 2)
    assert status["written"] == [status["out"]] and Path(status["out"]).is_file()
    timeline, subtitles = scene
    session = Session.open(timeline, subtitles=subtitles, out=Path(status["out"]))
    assert status["timeline"] == {"path": str(timeline), "rate": session.opened.rate,
                                  "start_frames": session.opened.start_frames}
    for line in status["lines"]:
        source = session.line(line["line_id"])
        assert (line["record_start"], line["record_duration"]) == (source.record.start, source.record.duration)
        assert line["timecode"] == session.timecode(source.record.start) and line["state"] == "done"
        assert line["samples"] == source.slot_samples(line["sample_rate"])
        assert line["take"] == 1 and line["takes"] == [{"take": 1, "wav": line["wav"]}]
        assert_complete_wav(line)
    import opentimelineio as otio

    written = otio.adapters.read_from_file(status["out"])
    placed = {clip.name.split()[0]: track.name for track in written.audio_tracks() for clip in track.find_clips()
              if track.name.startswith("Revoice - ")}
    assert placed == {line["line_id"]: line["track"] for line in status["lines"]}


@pytest.mark.slow
def test_the_event_stream_sends_progress_lines_and_the_end(rendered: tuple[dict[str, Any], list[ServiceEvent]],
                                                           api: ServiceClient) -> None:
    status, events = rendered
    kinds = [event.kind for event in events]
    assert kinds[-1] == "end" and events[-1].data["state"] == "done" and kinds.count("end") == 1
    progress = [event.data for event in events if event.kind == "progress"]
    assert progress[-1] == {"done": 2, "total": 2, "label": "L0002 done"}
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
    lines = [(event.data["line_id"], event.data["state"]) for event in events if event.kind == "line"]
    assert lines == [("L0001", "rendering"), ("L0001", "done"), ("L0002", "rendering"), ("L0002", "done")]
    assert [event.event_id for event in events] == [str(index) for index in range(len(events))]
    assert [event.kind for event in follow(api, status["id"])] == kinds, "a late stream replays every event"


@pytest.mark.slow
def test_take_choice_rewrites_the_timeline(rendered: tuple[dict[str, Any], list[ServiceEvent]],
                                           api: ServiceClient) -> None:
    status, _ = rendered
    before = Path(status["out"]).stat().st_mtime_ns
    chosen = api.choose_take(status["id"], "L0002", 1)
    assert chosen["lines"][1]["take"] == 1 and chosen["written"] == [status["out"]]
    assert Path(status["out"]).stat().st_mtime_ns >= before
    no_take = refused(lambda: api.choose_take(status["id"], "L0002", 2))
    assert no_take.status == 400 and "no take 2" in no_take.message
    assert refused(lambda: api.choose_take(status["id"], "L9999", 1)).status == 404


@pytest.mark.slow
def test_rerender_of_one_line_with_new_text_reuses_the_others(rendered: tuple[dict[str, Any], list[ServiceEvent]],
                                                              api: ServiceClient) -> None:
    status, _ = rendered
    old_wav = Path(status["lines"][1]["wav"]).read_bytes()
    job = api.rerender(status["id"], ["L0002"], texts={"L0002": "Yes, I hear you."})
    assert job["id"] != status["id"] and job["out"] == status["out"]
    again = api.wait(job["id"])
    assert again["state"] == "done"
    states = {line["line_id"]: (line["state"], line["text"]) for line in again["lines"]}
    assert states == {"L0001": ("cached", status["lines"][0]["text"]), "L0002": ("done", "Yes, I hear you.")}
    assert Path(again["lines"][1]["wav"]).read_bytes() != old_wav
    assert_complete_wav(again["lines"][1])
    assert refused(lambda: api.rerender(status["id"], [], texts={})).status == 422


@pytest.mark.slow
def test_cancel_stops_within_a_second_and_keeps_finished_lines(api: ServiceClient, scene: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    timeline, subtitles = scene
    out = tmp_path / "cancelled.otio"
    ids = ["L0005", "L0006", "L0007", "L0008"]
    job = api.submit(timeline, subtitles=subtitles, out=out, options={"profiles": "off", "line_ids": ids})
    stream = api.events(job["id"], timeout=60)
    for event in stream:
        if event.kind == "line" and event.data["state"] == "done":
            break
    asked = time.monotonic()
    answer = api.cancel(job["id"])
    answered = time.monotonic() - asked
    assert answered < 0.5 and answer["cancel_requested"] is True
    rest = list(stream)
    stopped = time.monotonic() - asked
    assert rest[-1].kind == "end" and rest[-1].data["state"] == "cancelled"
    assert stopped < 2.5, f"the job took {stopped:.1f} s to stop"
    status = api.job(job["id"])
    assert (status["state"], status["exit_code"], status["written"]) == ("cancelled", 130, [])
    done = [line for line in status["lines"] if line["state"] == "done"]
    assert done and done[0]["line_id"] == "L0005"
    for line in done:
        assert_complete_wav(line)
    assert {line["state"] for line in status["lines"]} <= {"done", "cancelled"}
    assert "cancelled" in {line["state"] for line in status["lines"]}
    assert not out.exists(), "a cancelled job writes no timeline"


@pytest.mark.slow
def test_two_jobs_at_once_both_finish_and_share_the_voice(api: ServiceClient, service: LocalService,
                                                          scene: tuple[Path, Path], tmp_path: Path) -> None:
    timeline, subtitles = scene
    submitted: dict[str, dict[str, Any]] = {}

    def submit(name: str, line_id: str) -> None:
        submitted[name] = api.submit(timeline, subtitles=subtitles, out=tmp_path / f"{name}.otio",
                                     options={"profiles": "off", "line_ids": [line_id]})

    threads = [threading.Thread(target=submit, args=(name, line_id)) for name, line_id in (("a", "L0003"),
                                                                                            ("b", "L0004"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert "queued" in {job["state"] for job in submitted.values()}, "one job renders at a time, the other waits"
    finished = {name: api.wait(job["id"]) for name, job in submitted.items()}
    for name, status in finished.items():
        assert status["state"] == "done" and status["written"] == [str(tmp_path / f"{name}.otio")]
        assert_complete_wav(status["lines"][0])
    assert list(service.registry.contexts) == ["cpu"]
    voices = getattr(service.registry.contexts["cpu"], "loaded_voices")
    assert len(voices) == 1, "the voice loads once for the service's lifetime"
