"""``revoice run --emotion``, ``--write-job`` and ``--job``: what the command line turns into, its one-line
refusals (exit 2), and a job file run end to end with the real voice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from revoice.engine.emotion.labels import LABELS, Emotion

from revoice.cli import EXIT_BAD_INPUT, EXIT_OK, build_parser, main
from revoice.demo import demo_files
from revoice.jobfile import JOB_SOURCE, read_job
from revoice.options import JobError, JobOptions


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo timeline (23.976 fps, 01:00:00:00) and its first two lines (NAGG, NELL) as an SRT."""
    timeline, _ = demo_files()
    subtitles = tmp_path_factory.mktemp("scene") / "two_lines.srt"
    subtitles.write_text("1\n01:00:00,000 --> 01:00:01,208\nNAGG: Do you hear me?\n\n"
                         "2\n01:00:01,250 --> 01:00:02,125\nNELL: Yes.\n", encoding="utf-8")
    return timeline, subtitles


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    """``revoice ARGV`` in this process: the exit code, stdout's and stderr's lines."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out.strip().splitlines(), captured.err.strip().splitlines()


# --- --emotion ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("angry:0.6", Emotion(method="label", label="angry", intensity=0.6, source="CLI")),
    ("whisper", Emotion(method="label", label="whisper", intensity=1.0, source="CLI")),
    ("original", Emotion(method="original", strength=1.0, source="CLI")),
    ("original:0.6", Emotion(method="original", strength=0.6, source="CLI")),
    ("neutral", Emotion(source="CLI")),
    (None, None),
])
def test_emotion_becomes_the_runs_emotion(scene: tuple[Path, Path], tmp_path: Path, text: str | None,
                                          expected: Emotion | None) -> None:
    timeline, subtitles = scene
    argv = ["run", str(timeline), "--subs", str(subtitles), "--out", str(tmp_path / "o.otio")]
    options = JobOptions.from_args(build_parser().parse_args(argv + (["--emotion", text] if text else [])))
    assert options.settings.emotion == expected


@pytest.mark.parametrize("text", ["angrily, voice shaking", "悲伤地低语"])
def test_a_description_is_read_through_the_lexicon_and_kept(scene: tuple[Path, Path], tmp_path: Path,
                                                            text: str) -> None:
    pytest.importorskip("revoice.engine.emotion.lexicon")
    args = build_parser().parse_args(["demo", "--out", str(tmp_path / "o.otio"), "--emotion", text])
    args.timeline, args.subs = scene
    emotion = JobOptions.from_args(args).settings.emotion
    assert emotion is not None and emotion.method == "label" and emotion.label in LABELS[1:]
    assert (emotion.description, emotion.source) == (text, "CLI")
    if text.startswith("angrily"):
        assert emotion.label == "angry"


@pytest.mark.parametrize(("value", "named"), [
    ("angry:1.7", "intensity 1.7 must be from 0 to 1"),
    ("original:loud", "strength 'loud' is not a number"),
    ("blorp zz", "cannot read the emotion 'blorp zz'"),
    ("reference:/no/such/take.wav", "no such file"),
    ("", "empty emotion"),
])
def test_a_bad_emotion_is_one_line_naming_the_option(scene: tuple[Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str], value: str,
                                                     named: str) -> None:
    timeline, subtitles = scene
    code, _, err = run_cli(["run", str(timeline), "--subs", str(subtitles), "--out", str(tmp_path / "out" / "o.otio"),
                            "--profiles", "off", "--quiet", "--backend", "nosuch", f"--emotion={value}"], capsys)
    assert code == EXIT_BAD_INPUT
    assert len(err) == 1 and err[0].startswith("revoice: --emotion") and named in err[0], err
    assert not (tmp_path / "out").exists()


# --- --write-job and --job ------------------------------------------------------------------------------------

def test_write_job_lists_every_line_and_renders_nothing(scene: tuple[Path, Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    timeline, subtitles = scene
    job = tmp_path / "jobs" / "reel.yaml"
    code, out, err = run_cli(["run", str(timeline), "--subs", str(subtitles), "--write-job", str(job),
                              "--emotion", "sad:0.4", "--out", str(tmp_path / "cut_revoiced.otio")], capsys)
    assert (code, err) == (EXIT_OK, [])
    assert len(out) == 1 and str(job) in out[0] and "2 lines" in out[0]
    read = read_job(job)
    assert read.timeline == timeline.absolute() and read.subtitles == subtitles.absolute()
    assert read.out == tmp_path / "cut_revoiced.otio"
    assert read.emotion == Emotion(method="label", label="sad", intensity=0.4, source=JOB_SOURCE)
    assert [(e.line_id, e.text, e.speaker) for e in read.lines] == [("L0001", "Do you hear me?", "NAGG"),
                                                                   ("L0002", "Yes.", "NELL")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs"], "nothing rendered"
    before = job.read_bytes()
    code, _, err = run_cli(["run", str(timeline), "--subs", str(subtitles), "--write-job", str(job)], capsys)
    assert code == EXIT_BAD_INPUT and len(err) == 1 and "exists" in err[0]
    assert job.read_bytes() == before, "an edited job is never overwritten"
    code, _, err = run_cli(["run", str(timeline), "--write-job", str(tmp_path / "reel.txt")], capsys)
    assert code == EXIT_BAD_INPUT and len(err) == 1 and "--write-job" in err[0] and ".yaml" in err[0]


@pytest.mark.parametrize(("extra", "named"), [
    (["TIMELINE"], "give no TIMELINE"),
    (["--subs", "SUBS"], "give no TIMELINE or --subs"),
    (["--write-job", "again.yaml"], "--write-job"),
])
def test_job_does_not_mix_with_a_timeline_on_the_command_line(scene: tuple[Path, Path], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str], extra: list[str],
                                                              named: str) -> None:
    timeline, subtitles = scene
    job = tmp_path / "reel.yaml"
    job.write_text(f"revoice_job: 1\ntimeline: {timeline}\nout: o.otio\n", encoding="utf-8")
    extra = [{"TIMELINE": str(timeline), "SUBS": str(subtitles)}.get(item, item) for item in extra]
    code, _, err = run_cli(["run", "--job", str(job), *extra], capsys)
    assert code == EXIT_BAD_INPUT and len(err) == 1 and named in err[0], err


def test_run_needs_a_timeline_or_a_job_and_an_out(scene: tuple[Path, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    timeline, _ = scene
    code, _, err = run_cli(["run"], capsys)
    assert code == EXIT_BAD_INPUT and len(err) == 1 and "TIMELINE, or --job" in err[0]
    code, _, err = run_cli(["run", str(timeline)], capsys)
    assert code == EXIT_BAD_INPUT and len(err) == 1 and "--out" in err[0]
    job = tmp_path / "reel.yaml"
    job.write_text(f"revoice_job: 1\ntimeline: {timeline}\n", encoding="utf-8")
    code, _, err = run_cli(["run", "--job", str(job)], capsys)
    assert code == EXIT_BAD_INPUT and len(err) == 1 and "--out" in err[0] and "reel.yaml" in err[0]


def test_the_job_gives_out_and_emotion_and_the_command_line_wins(scene: tuple[Path, Path], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    timeline, subtitles = scene
    job = tmp_path / "reel.yaml"
    job.write_text(f"revoice_job: 1\ntimeline: {timeline}\nsubtitles: {subtitles}\nout: out/reel_revoiced.otio\n"
                   "emotion: sad:0.3\nlines:\n  - id: L0002\n    text: No.\n    emotion: {method: original, "
                   "strength: 0.5}\n    duration: {mode: free, ratio: 1.2}\n", encoding="utf-8")
    seen: list[JobOptions] = []

    def stop_before_rendering(options: JobOptions, job: Any) -> Any:
        seen.append(options)
        raise JobError("stopped before rendering")

    monkeypatch.setattr("revoice.job_cli.open_session", stop_before_rendering)
    code, _, err = run_cli(["run", "--job", str(job), "--profiles", "off"], capsys)
    assert code == EXIT_BAD_INPUT and err == ["revoice: stopped before rendering"]
    options = seen[-1]
    assert (options.timeline, options.subtitles) == (timeline.absolute(), subtitles)
    assert options.out == tmp_path / "out" / "reel_revoiced.otio"
    assert options.settings.emotion == Emotion(method="label", label="sad", intensity=0.3, source=JOB_SOURCE)
    assert options.text_overrides == {"L0002": "No."}
    assert options.emotion_overrides == {"L0002": Emotion(method="original", strength=0.5, source=JOB_SOURCE)}
    assert options.duration_overrides["L0002"].ratio == 1.2
    run_cli(["run", "--job", str(job), "--out", str(tmp_path / "mine.otio"), "--emotion", "happy:0.2"], capsys)
    assert seen[-1].out == tmp_path / "mine.otio"
    assert seen[-1].settings.emotion == Emotion(method="label", label="happy", intensity=0.2, source="CLI")
    assert seen[-1].emotion_overrides == options.emotion_overrides, "a line's own entry still wins"


@pytest.mark.slow
def test_a_written_and_edited_job_runs_and_its_emotion_reaches_the_line(
        scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Write a job from the timeline, give L0002 an emotion and new text, run it with the real voice."""
    from revoice.engine.sidecars import load_sidecar
    from revoice.engine.voices.base import BackendOptions
    from revoice.engine.voices.piper_voice import SPEC

    reason = SPEC.availability(BackendOptions())
    if reason:
        pytest.skip(reason)
    timeline, subtitles = scene
    job = tmp_path / "reel.yaml"
    out = tmp_path / "out" / "reel_revoiced.otio"
    assert main(["run", str(timeline), "--subs", str(subtitles), "--out", str(out), "--write-job", str(job)]) == EXIT_OK
    text = job.read_text(encoding="utf-8")
    assert "  text: Yes.\n" in text
    job.write_text(text.replace("  text: Yes.\n", "  text: No.\n  emotion: angry:0.8\n"), encoding="utf-8")
    capsys.readouterr()
    code, _, err = run_cli(["run", "--job", str(job), "--profiles", "off", "--quiet", "--backend", "piper"], capsys)
    assert code == EXIT_OK, err
    assert out.is_file()
    wavs = sorted((tmp_path / "out" / "reel_revoiced_media").glob("*L0002*.wav"))
    assert wavs, "L0002 was rendered"
    rendered = load_sidecar(wavs[0])
    assert rendered is not None
    use = rendered.report.emotion
    assert use is not None, "the renderer records each line's emotion (RenderReport.emotion)"
    assert (use.method, use.source) == ("label", JOB_SOURCE) and "angry" in (use.words or "")
    first = load_sidecar(min((tmp_path / "out" / "reel_revoiced_media").glob("*L0001*.wav")))
    assert first is not None and first.report.emotion is not None and first.report.emotion.source != JOB_SOURCE
