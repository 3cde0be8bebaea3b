"""Faults and hostile options give one line on stderr and the documented exit code, never a traceback.

Exit codes (README): 0 done, 1 some lines failed, 2 bad input or a file that cannot be written,
3 no voice fits, 130 cancelled (Ctrl+C), 143 stopped by SIGTERM, 70 an internal error (crash report).
"""

from __future__ import annotations

import errno
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from revoice.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_TERMINATED, main
from revoice.demo import demo_files
from revoice.engine.fit import FitPolicy
from revoice.engine.render import RenderSettings
from revoice.options import JobOptions

REVOICE = Path(sys.executable).with_name("revoice")


@pytest.fixture(scope="module")
def one_line_scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo timeline (23.976 fps, 01:00:00:00) and a subtitle file holding only its first line."""
    timeline, _ = demo_files()
    subtitles = tmp_path_factory.mktemp("scene") / "one_line.srt"
    subtitles.write_text("1\n01:00:00,000 --> 01:00:01,208\nNAGG: Do you hear me?\n", encoding="utf-8")
    return timeline, subtitles


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """``revoice ARGV`` in this process: the exit code and stderr's lines."""
    code = main(argv)
    return code, capsys.readouterr().err.strip().splitlines()


def assert_one_line(lines: list[str], *fragments: str) -> None:
    assert len(lines) == 1, lines
    assert lines[0].startswith("revoice: ") and "Traceback" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


# --- options refused up front (the CLI, the panel and the service share JobOptions' checks) ---------------------

@pytest.mark.parametrize(("option", "named"), [
    (["--max-ratio", "inf"], "max ratio inf"),          # was an OverflowError traceback mid-render
    (["--max-ratio=nan"], "max ratio nan"),
    (["--min-ratio=-inf"], "min ratio -inf"),
    (["--lead-in", "nan"], "lead-in nan"),               # was: every line failed
    (["--lead-in", "inf"], "lead-in inf"),
    (["--lead-in=-0.5"], "lead-in -0.5"),                # was: accepted
    (["--seed", str(2**64)], f"seed {2**64}"),           # was: refused only after rendering every line
    (["--seed", str(-(2**63) - 1)], "seed"),
    (["--rate", "nan"], "--rate nan"),
    (["--subs-offset", "inf"], "--subs-offset 'inf'"),
    (["--true-peak", "nan"], "true-peak ceiling nan"),
    (["--allow-overflow", "inf"], "--allow-overflow inf"),
])
def test_non_finite_or_out_of_range_options_are_refused_before_anything_runs(
        one_line_scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        option: list[str], named: str) -> None:
    timeline, subtitles = one_line_scene
    out = tmp_path / "out" / "cut_revoiced.otio"
    code, lines = run_cli(["run", str(timeline), "--subs", str(subtitles), "--out", str(out), "--profiles", "off",
                           "--quiet", *option], capsys)
    assert code == EXIT_BAD_INPUT
    assert_one_line(lines, named)
    assert not (tmp_path / "out").exists(), "refused before rendering: nothing written"


def test_the_largest_seed_the_timeline_can_hold_is_accepted(one_line_scene: tuple[Path, Path],
                                                           tmp_path: Path) -> None:
    timeline, subtitles = one_line_scene
    for seed in (2**63 - 1, -(2**63), 0):
        JobOptions(timeline=timeline, subtitles=subtitles, out=tmp_path / "o.otio", settings=RenderSettings(seed=seed))


@pytest.mark.parametrize("fit", [FitPolicy(max_ratio=math.inf), FitPolicy(lead_in_seconds=math.nan),
                                 FitPolicy(lead_in_seconds=-1.0), FitPolicy(min_ratio=math.nan)])
def test_the_panel_and_the_service_get_the_same_checks(one_line_scene: tuple[Path, Path], tmp_path: Path,
                                                       fit: FitPolicy) -> None:
    timeline, subtitles = one_line_scene
    with pytest.raises(ValueError, match="ratio|lead-in"):
        JobOptions(timeline=timeline, subtitles=subtitles, out=tmp_path / "o.otio", settings=RenderSettings(fit=fit))
    from revoice.service.job_request import JobRequest, RequestError

    request = JobRequest.from_json({"timeline": str(timeline), "out": str(tmp_path / "o.otio"),
                                    "options": {"max_ratio": math.inf}})
    with pytest.raises(RequestError, match="max ratio inf"):
        request.job_options()


# --- files that cannot be written -------------------------------------------------------------------------------

def test_out_in_a_read_only_folder_is_refused_with_its_name(one_line_scene: tuple[Path, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    timeline, subtitles = one_line_scene
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # root writes anywhere: be an ordinary user as far as access() tells
        real_access = os.access

        def access(path: Any, mode: int, **kwargs: Any) -> bool:
            return False if Path(path) == folder and mode & os.W_OK else real_access(path, mode, **kwargs)

        monkeypatch.setattr(os, "access", access)
    try:
        code, lines = run_cli(["run", str(timeline), "--subs", str(subtitles), "--out",
                               str(folder / "cut_revoiced.otio"), "--profiles", "off", "--quiet"], capsys)
    finally:
        folder.chmod(0o755)
    assert code == EXIT_BAD_INPUT
    assert_one_line(lines, str(folder), "--out")
    assert list(folder.iterdir()) == []


def _refuse_mkdir_under(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if self == folder or folder in self.parents:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)


def _disk_full(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # what a write() on a full disk raises: no path


@pytest.mark.slow
@pytest.mark.parametrize("lanes", [[], ["--jobs", "2"]], ids=["default", "lanes"])
@pytest.mark.parametrize("fault", ["folder turned read-only", "disk full"])
def test_a_write_that_fails_mid_run_is_one_line_naming_the_path(
        one_line_scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, fault: str, lanes: list[str]) -> None:
    timeline, subtitles = one_line_scene
    out = tmp_path / "cut_revoiced.otio"
    media = tmp_path / "cut_revoiced_media"
    if fault == "disk full":
        monkeypatch.setattr("revoice.engine.render.write_bwf", _disk_full)
    else:
        _refuse_mkdir_under(media, monkeypatch)
    code, lines = run_cli(["run", str(timeline), "--subs", str(subtitles), "--out", str(out), "--profiles", "off",
                           "--quiet", *lanes], capsys)
    assert code == EXIT_BAD_INPUT
    if fault == "disk full":
        assert_one_line(lines, str(tmp_path), "No space left on device", "free some disk space")
    else:
        assert_one_line(lines, str(media), "Permission denied")
    assert not out.exists()


# --- output cut short, signals ----------------------------------------------------------------------------------

def _closed_pipe() -> int:
    """The write end of a pipe nobody reads any more (``| head`` after it exited)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


@pytest.mark.skipif(os.name != "posix", reason="pipes and signals")
def test_output_cut_short_by_its_reader_exits_quietly() -> None:
    if not REVOICE.exists():
        pytest.skip(f"{REVOICE} is not installed")
    stdout = _closed_pipe()
    try:
        done = subprocess.run([str(REVOICE), "text", "Dr. Smith paid $5."], stdout=stdout, stderr=subprocess.PIPE,
                              text=True, timeout=120, check=False)
    finally:
        os.close(stdout)
    assert (done.returncode, done.stderr) == (EXIT_OK, "")


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="pipes and signals")
def test_a_job_piped_into_head_keeps_its_own_exit_code(one_line_scene: tuple[Path, Path], tmp_path: Path) -> None:
    if not REVOICE.exists():
        pytest.skip(f"{REVOICE} is not installed")
    timeline, subtitles = one_line_scene
    out = tmp_path / "cut_revoiced.otio"
    stdout = _closed_pipe()
    try:
        done = subprocess.run([str(REVOICE), "run", str(timeline), "--subs", str(subtitles), "--out", str(out),
                               "--profiles", "off", "--quiet"], stdout=stdout, stderr=subprocess.PIPE, text=True,
                              timeout=300, check=False)
    finally:
        os.close(stdout)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == EXIT_OK, done.stderr
    assert out.exists(), "the job finished; only its summary had no reader"


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="pipes and signals")
def test_sigterm_stops_like_ctrl_c_keeping_finished_lines(tmp_path: Path) -> None:
    if not REVOICE.exists():
        pytest.skip(f"{REVOICE} is not installed")
    timeline, subtitles = demo_files()
    out = tmp_path / "cut_revoiced.otio"
    media = tmp_path / "cut_revoiced_media"
    process = subprocess.Popen([str(REVOICE), "run", str(timeline), "--subs", str(subtitles), "--out", str(out),
                                "--profiles", "off", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 240
        while not list(media.glob("*.json")) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the job ended before it could be stopped"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == EXIT_TERMINATED
    assert stderr.strip().splitlines() == [
        "revoice: stopped (SIGTERM); finished lines are kept and reused by the next run"], stderr
    assert list(media.glob("*.wav")) and not out.exists()


def test_an_internal_error_is_one_line_naming_its_crash_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A bug (not bad input) still gives one line, exit 70, and the traceback in a file the editor can send."""
    from revoice import cli
    from revoice.cli import EXIT_INTERNAL_ERROR

    def broken(_args: Any) -> int:
        raise RuntimeError("the judge lost count\nsecond line")

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(cli, "_job", broken)
    assert main(["run", "cut.otio"]) == EXIT_INTERNAL_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("revoice: internal error (RuntimeError: the judge lost count)")
    (report,) = (tmp_path / ".cache" / "revoice" / "crashes").glob("revoice-crash-*.txt")
    assert str(report) in err[0] and "finished lines are kept" in err[0]
    text = report.read_text(encoding="utf-8")
    assert text.startswith("revoice run cut.otio") and "Traceback" in text and "in broken" in text
