"""revoice.jobfile: the YAML/JSON job format round-trips, reaches a session's lines, and refuses bad entries
with one line naming file:line and field (docs/job-format.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from revoice.engine.emotion.labels import Emotion
from revoice.engine.model import LineDuration
from revoice.engine.render import RenderSettings
from revoice.otio_bridge.errors import InputError

from revoice.cli import EXIT_BAD_INPUT, main
from revoice.demo import demo_files
from revoice.jobfile import (
    JOB_SOURCE,
    LineJob,
    ReelJob,
    apply_job,
    check_job_lines,
    job_from_lines,
    read_job,
    reference_profiles,
    write_job,
)
from revoice.options import JobOptions
from revoice.session import Session

TWO_LINES = ("1\n01:00:00,000 --> 01:00:01,208\nNAGG: Do you hear me?\n\n"
             "2\n01:00:01,250 --> 01:00:02,125\nNELL: Yes.\n")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo timeline (23.976 fps, 01:00:00:00) and its first two lines (NAGG, NELL) as an SRT."""
    timeline, _ = demo_files()
    subtitles = tmp_path_factory.mktemp("scene") / "two_lines.srt"
    subtitles.write_text(TWO_LINES, encoding="utf-8")
    return timeline, subtitles


def every_kind_of_entry(folder: Path) -> ReelJob:
    """A job using every field and every emotion form, its files in ``folder``."""
    for name in ("reel1.otio", "reel1.srt", "mara_take.wav", "take3.wav"):
        (folder / name).write_bytes(b"stand-in")
    return ReelJob(
        timeline=folder / "reel1.otio", subtitles=folder / "reel1.srt", out=folder / "out" / "reel1_revoiced.otio",
        emotion=Emotion(method="original", strength=0.8, source=JOB_SOURCE),
        lines=(
            LineJob("L0001", text="Give me the keys.", speaker="MARA", speaker_reference=folder / "mara_take.wav",
                    emotion=Emotion(method="label", label="angry", intensity=0.9, description="angrily, voice shaking",
                                    source=JOB_SOURCE),
                    duration=LineDuration(mode="free", ratio=1.1)),
            LineJob("L0002", emotion=Emotion(method="reference", reference=str(folder / "take3.wav"), strength=0.5,
                                             source=JOB_SOURCE), duration=LineDuration(mode="fit")),
            LineJob("L0003", text="悲伤地低语", emotion=Emotion(source=JOB_SOURCE)),
            LineJob("L0004", emotion=Emotion(method="label", label="whisper", intensity=0.3, source=JOB_SOURCE)),
        ))


# --- round trips ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["reel.yaml", "reel.yml", "reel.json"])
def test_write_then_read_gives_the_same_records(tmp_path: Path, name: str) -> None:
    job = every_kind_of_entry(tmp_path)
    target = tmp_path / name
    write_job(target, job)
    again = read_job(target)
    assert again == job
    assert again.path == target and [entry.at for entry in again.lines] == sorted({e.at for e in again.lines})
    text = target.read_text(encoding="utf-8")
    assert "reel1.otio" in text and str(tmp_path) not in text, "files beside the job are written relative to it"
    assert "悲伤地低语" in text  # not escaped
    write_job(target, again)  # saving what was read changes nothing
    assert target.read_text(encoding="utf-8") == text


def test_yaml_and_json_hold_the_same_schema(tmp_path: Path) -> None:
    job = every_kind_of_entry(tmp_path)
    write_job(tmp_path / "a.json", job)
    data = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert data["revoice_job"] == 1 and data["timeline"] == "reel1.otio" and data["out"] == "out/reel1_revoiced.otio"
    assert data["lines"][0]["emotion"] == {"method": "label", "label": "angry", "intensity": 0.9,
                                           "description": "angrily, voice shaking"}
    assert data["lines"][0]["duration"] == {"mode": "free", "ratio": 1.1}
    import yaml

    (tmp_path / "b.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert read_job(tmp_path / "b.yaml") == job


def test_the_short_emotion_forms_read_as_records(tmp_path: Path) -> None:
    (tmp_path / "reel1.otio").write_bytes(b"stand-in")
    (tmp_path / "reel.yaml").write_text(
        "revoice_job: 1\ntimeline: reel1.otio\nemotion: original:0.6\nlines:\n"
        "  - id: L0001\n    emotion: angry:0.7\n"
        "  - id: L0002\n    emotion: neutral\n"
        "  - id: L0003\n    emotion: {method: original}\n"
        "  - id: L0004\n    emotion: {method: description, description: 'angrily, voice shaking', intensity: 0.4}\n",
        encoding="utf-8")
    job = read_job(tmp_path / "reel.yaml")
    assert job.emotion == Emotion(method="original", strength=0.6, source=JOB_SOURCE)
    emotions = [entry.emotion for entry in job.lines]
    assert emotions[0] == Emotion(method="label", label="angry", intensity=0.7, source=JOB_SOURCE)
    assert emotions[1] == Emotion(source=JOB_SOURCE)
    assert emotions[2] == Emotion(method="original", source=JOB_SOURCE)
    assert emotions[3] is not None and (emotions[3].label, emotions[3].intensity) == ("angry", 0.4)
    assert emotions[3].description == "angrily, voice shaking"


# --- from a real timeline to the session's lines --------------------------------------------------------------

def test_a_job_written_from_a_timeline_reaches_the_sessions_lines(scene: tuple[Path, Path], tmp_path: Path) -> None:
    timeline, subtitles = scene
    session = Session.open(timeline, subtitles=subtitles, out=tmp_path / "cut_revoiced.otio")
    written = job_from_lines(session.lines, timeline=timeline, subtitles=subtitles, out=tmp_path / "cut_revoiced.otio")
    assert [(e.line_id, e.text, e.speaker) for e in written.lines] == [("L0001", "Do you hear me?", "NAGG"),
                                                                      ("L0002", "Yes.", "NELL")]
    path = tmp_path / "reel.yaml"
    write_job(path, written)
    edited = path.read_text(encoding="utf-8").replace("  text: Yes.\n", "  text: No.\n").replace(
        "  speaker: NELL\n", "  speaker: NELL\n  emotion: sad:0.5\n  duration: {mode: free, ratio: 1.2}\n")
    path.write_text(edited.replace("revoice_job: 1\n", "revoice_job: 1\nemotion: neutral\n"), encoding="utf-8")
    job = read_job(path)
    assert job.out == tmp_path / "cut_revoiced.otio" and job.timeline == timeline.absolute()
    check_job_lines(job, session.lines)
    options = apply_job(job, session.options(profiles="off"))
    assert options.settings.emotion == Emotion(source=JOB_SOURCE)
    lines = {line.line_id: line for line in session._edit(options).all_lines}  # the render's first step
    assert lines["L0002"].text == "No." and lines["L0001"].text == "Do you hear me?"
    assert lines["L0002"].emotion == Emotion(method="label", label="sad", intensity=0.5, source=JOB_SOURCE)
    assert lines["L0002"].duration == LineDuration(mode="free", ratio=1.2)
    assert lines["L0001"].emotion is None and lines["L0001"].duration is None
    cli = apply_job(job, session.options(profiles="off", settings=RenderSettings(
        emotion=Emotion(method="label", label="happy", source="CLI"))))
    assert cli.settings.emotion is not None and cli.settings.emotion.source == "CLI", "--emotion wins over the job's"


def test_unknown_ids_and_another_speaker_are_refused_at_the_entry(scene: tuple[Path, Path], tmp_path: Path) -> None:
    timeline, subtitles = scene
    session = Session.open(timeline, subtitles=subtitles, out=tmp_path / "cut.otio")
    job = ReelJob(timeline=timeline, lines=(LineJob("L0002", at=9), LineJob("L0099", at=12)), path=tmp_path / "r.yaml")
    with pytest.raises(InputError) as caught:
        check_job_lines(job, session.lines)
    assert str(caught.value).startswith(f"{tmp_path / 'r.yaml'}:12: lines[1].id: no line L0099")
    assert "L0001-L0002" in str(caught.value)
    wrong = ReelJob(timeline=timeline, lines=(LineJob("L0001", speaker="NELL", at=7),), path=tmp_path / "r.yaml")
    with pytest.raises(InputError, match=r"r\.yaml:7: lines\[0\]\.speaker: NELL, but .* L0001 is spoken by NAGG"):
        check_job_lines(wrong, session.lines)


def test_write_job_never_overwrites_an_input(tmp_path: Path) -> None:
    job = every_kind_of_entry(tmp_path)
    (tmp_path / "reel1.json").write_text("{}", encoding="utf-8")
    clash = ReelJob(timeline=tmp_path / "reel1.json")
    with pytest.raises(ValueError, match="is an input of the job"):
        write_job(tmp_path / "reel1.json", clash)
    assert (tmp_path / "reel1.json").read_text(encoding="utf-8") == "{}"
    with pytest.raises(ValueError, match="ends in .yaml"):
        write_job(tmp_path / "reel.txt", job)


def test_a_speaker_reference_becomes_the_characters_voice_profile(shared_corpus: Path, tmp_path: Path,
                                                                  speaker_embedder: Any) -> None:
    recording = shared_corpus / "voices" / "en_nature_ref.wav"
    timeline = tmp_path / "reel1.otio"
    timeline.write_bytes(b"stand-in")
    job = ReelJob(timeline=timeline, lines=(LineJob("L0001", speaker="MARA", speaker_reference=recording),
                                            LineJob("L0002", speaker="MARA", speaker_reference=recording)))
    said = reference_profiles(job, [], voices_dir=tmp_path / "voices", embedder=lambda: speaker_embedder)
    assert len(said) == 1 and "MARA" in said[0] and "en_nature_ref.wav" in said[0]
    from revoice.engine.characters.profile import ProfileStore

    profile = ProfileStore(tmp_path / "voices").get("MARA")
    assert profile is not None and profile.editor_supplied and not profile.matches
    assert {r.path for r in profile.references} == {str(recording.resolve())}
    assert reference_profiles(job, [], voices_dir=tmp_path / "voices", embedder=lambda: speaker_embedder) == []


# --- bad entries: exit 2 and one line naming file:line and field ----------------------------------------------

HEAD = "revoice_job: 1\ntimeline: {timeline}\nsubtitles: {subtitles}\nlines:\n  - id: L0001\n"

BAD_YAML = [
    ("syntax", HEAD + "    text: a: b\n", 6, "not valid YAML"),
    ("unknown field", HEAD + "    emotoin: angry\n", 6, "lines[0].emotoin: unknown field"),
    ("intensity out of range", HEAD + "  - id: L0002\n  - id: L0003\n"
     "    emotion: {method: label, label: angry, intensity: 1.7}\n", 8,
     "lines[2].emotion.intensity: 1.7 must be from 0 to 1"),
    ("unknown label", HEAD + "    emotion: {method: label, label: furious}\n", 6,
     "lines[0].emotion.label: 'furious' is not a label"),
    ("unreadable emotion", HEAD + "    emotion: blorp zz\n", 6, "lines[0].emotion: cannot read the emotion 'blorp zz'"),
    ("unknown line id", HEAD + "  - id: L0099\n", 6, "lines[1].id: no line L0099"),
    ("missing timeline", "revoice_job: 1\ntimeline: reel1.otio\n", 2, "timeline: reel1.otio: no such file"),
    ("a list where an object belongs", HEAD + "    emotion:\n      - angry\n", 6,
     "lines[0].emotion: a list where an emotion belongs"),
    ("a field of another method", HEAD + "    emotion: {method: label, label: angry, strength: 0.5}\n", 6,
     "lines[0].emotion.strength: does not go with method label"),
    ("yes is not text", HEAD + "    text: yes\n", 6, "lines[0].text: true (yes/no) where text belongs"),
    ("id twice", HEAD + "  - id: L0001\n", 6, "lines[1].id: L0001 is given twice"),
    ("field twice", HEAD + "    text: a\n    text: b\n", 7, "lines[0].text: given twice"),
    ("another speaker", HEAD + "    speaker: MARA\n", 5, "lines[0].speaker: MARA, but"),
    ("missing speaker reference", HEAD + "    speaker_reference: mara.wav\n", 6,
     "lines[0].speaker_reference: mara.wav: no such file"),
    ("duration ratio with fit", HEAD + "    duration: {mode: fit, ratio: 1.2}\n", 6, "lines[0].duration.ratio"),
    ("newer format", "revoice_job: 2\ntimeline: {timeline}\n", 1, "revoice_job: format 2 is newer"),
    ("lines not a list", "revoice_job: 1\ntimeline: {timeline}\nlines: {id: L0001}\n", 3,
     "lines: an object where a list of line entries belongs"),
]


def run_job_file(job: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """``revoice run --job JOB``; a job that wrongly got through stops at the unknown backend (exit 3), not a render."""
    code = main(["run", "--job", str(job), "--out", str(out), "--profiles", "off", "--quiet", "--backend", "nosuch"])
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(("case", "text", "line", "fragment"), BAD_YAML, ids=[case[0] for case in BAD_YAML])
def test_bad_yaml_entries_give_one_line_naming_file_line_and_field(
        scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        case: str, text: str, line: int, fragment: str) -> None:
    timeline, subtitles = scene
    job = tmp_path / "reel.yaml"
    job.write_text(text.replace("{timeline}", str(timeline)).replace("{subtitles}", str(subtitles)), encoding="utf-8")
    code, lines = run_job_file(job, tmp_path / "out" / "cut.otio", capsys)
    assert code == EXIT_BAD_INPUT, lines
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    assert lines[0].startswith(f"revoice: {job}:{line}: "), lines[0]
    assert fragment in lines[0], (fragment, lines[0])
    assert not (tmp_path / "out").exists()


BAD_JSON = [
    ("syntax", '{{\n "revoice_job": 1,\n "timeline": "{timeline}"\n "lines": []}}\n', 4, "not valid JSON"),
    ("ratio out of range", ('{{\n "revoice_job": 1,\n "timeline": "{timeline}",\n "lines": [\n  {{"id": "L0001",\n'
                            '   "duration": {{"mode": "free", "ratio": 3}}}}]}}\n'), 6, "lines[0].duration.ratio: 3 must be from 0.5 to 2"),
    ("unknown field", ('{{"revoice_job": 1, "timeline": "{timeline}",\n "lines": [{{"id": "L0001"}},\n'
                       '  {{"id": "L0002", "emotion": {{"method": "original", "strenght": 1}}}}]}}'), 3,
     "lines[1].emotion.strenght: unknown field"),
    ("a list where an object belongs", '{{"revoice_job": 1,\n "timeline": "{timeline}",\n\n "emotion": ["angry"]}}',
     4, "emotion: a list where an emotion belongs"),
    ("field twice", '{{"revoice_job": 1,\n "timeline": "{timeline}",\n "revoice_job": 1}}', 3,
     "revoice_job: given twice (first on line 1)"),
]


@pytest.mark.parametrize(("case", "text", "line", "fragment"), BAD_JSON, ids=[case[0] for case in BAD_JSON])
def test_bad_json_entries_give_one_line_naming_file_line_and_field(
        scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        case: str, text: str, line: int, fragment: str) -> None:
    timeline, _ = scene
    job = tmp_path / "reel.json"
    job.write_text(text.format(timeline=timeline), encoding="utf-8")
    code, lines = run_job_file(job, tmp_path / "out" / "cut.otio", capsys)
    assert code == EXIT_BAD_INPUT, lines
    assert len(lines) == 1 and lines[0].startswith(f"revoice: {job}:{line}: "), lines
    assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("reel.yaml", "", "not a Revoice job"),
    ("reel.yaml", "- a\n- b\n", "a list where a job"),
    ("reel.txt", "revoice_job: 1\n", "a job file ends in .yaml, .yml, .json"),
    ("missing.yaml", None, "no such file"),
    ("reel.yaml", b"revoice_job: 1\ntimeline: \xff\n", "reel.yaml:2: not UTF-8 text"),
    ("reel.yaml", "a: &a [*a, *a]\n", "reel.yaml"),
])
def test_files_that_are_not_jobs_are_one_line(tmp_path: Path, name: str, content: str | bytes | None,
                                              fragment: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_job(path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_options_keep_their_own_overrides_where_the_job_says_nothing(scene: tuple[Path, Path], tmp_path: Path) -> None:
    timeline, subtitles = scene
    options = JobOptions(timeline=timeline, subtitles=subtitles, out=tmp_path / "o.otio",
                         text_overrides={"L0001": "panel edit", "L0002": "old"})
    job = ReelJob(timeline=timeline, lines=(LineJob("L0002", text="job edit"),))
    applied = apply_job(job, options)
    assert applied.text_overrides == {"L0001": "panel edit", "L0002": "job edit"}
    assert applied.settings.emotion is None and applied.emotion_overrides == {}
