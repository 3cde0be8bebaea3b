"""``revoice voice build|list|show`` and the run options for voice profiles (no voice matching here: fast)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from revoice.cli import EXIT_BAD_INPUT, EXIT_OK, build_parser, main
from revoice.job import JobOptions


def media_of(scene: tuple[Path, Path]) -> Path:
    import opentimelineio as otio

    timeline = otio.adapters.read_from_file(str(scene[0]))
    (clip,) = [c for t in timeline.audio_tracks() for c in t if isinstance(c, otio.schema.Clip)]
    return Path(otio.url_utils.filepath_from_url(clip.media_reference.target_url))


def test_build_from_the_editors_reference_then_show_and_list(tmp_path: Path, endgame_scene: tuple[Path, Path],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    voices = tmp_path / "voices"
    media = media_of(endgame_scene)
    code = main(["voice", "build", "NELL", "--voices", str(voices), "--ref", f"{media}:8.4-11.7",
                 "--ref", f"{media}:14.3-17.3", "--no-match", "--consent", "granted", "--by", "A. Editor",
                 "--note", "release signed", "--strength", "0.6"])
    assert code == EXIT_OK, capsys.readouterr().err
    assert "NELL: tint" in capsys.readouterr().out
    assert main(["voice", "show", "NELL", "--voices", str(voices), "--json"]) == EXIT_OK
    shown = json.loads(capsys.readouterr().out)
    assert shown["consent"]["status"] == "granted" and shown["consent"]["by"] == "A. Editor"
    assert shown["consent"]["date"] and shown["strength"] == 0.6 and shown["kind"] == "tint"
    assert [(r["line_id"], r["path"]) for r in shown["references"]] == [(None, str(media))] * 2
    assert 8.4 <= shown["references"][0]["start_seconds"] < shown["references"][0]["end_seconds"] <= 11.7
    assert len(shown["embedding"]) == 256 and shown["stats"]["f0_median_hz"] > 150
    assert main(["voice", "show", "NELL", "--voices", str(voices)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "consent: granted by A. Editor" in text and "reference: " in text and "(editor, SNR" in text
    # consent and strength change without a rebuild
    assert main(["voice", "build", "NELL", "--voices", str(voices), "--consent", "denied", "--strength", "0.3"]) == 0
    assert "consent denied" in capsys.readouterr().out
    assert main(["voice", "list", "--voices", str(voices), "--json"]) == EXIT_OK
    (row,) = json.loads(capsys.readouterr().out)
    assert row["consent"]["status"] == "denied" and row["strength"] == 0.3 and row["references"] == 2


def test_build_every_speaker_from_the_timelines_original_dialogue(tmp_path: Path, endgame_scene: tuple[Path, Path],
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    timeline, subtitles = endgame_scene
    voices = tmp_path / "voices"
    code = main(["voice", "build", "--voices", str(voices), "--timeline", str(timeline), "--subs", str(subtitles),
                 "--no-match", "--json"])
    assert code == EXIT_OK, capsys.readouterr().err
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert sorted(rows) == ["NAGG", "NELL"] and {r["status"] for r in rows.values()} == {"built"}
    assert rows["NAGG"]["references"] == 7 and rows["NELL"]["references"] == 4
    assert sorted(p.name for p in voices.iterdir()) == ["NAGG.voice.json", "NELL.voice.json"]
    before = (voices / "NAGG.voice.json").read_bytes()
    assert main(["voice", "build", "NAGG", "--voices", str(voices), "--timeline", str(timeline),
                 "--subs", str(subtitles), "--no-match", "--json"]) == EXIT_OK
    assert [row["status"] for row in json.loads(capsys.readouterr().out)] == ["reused"]
    assert (voices / "NAGG.voice.json").read_bytes() == before  # unchanged references: not rewritten


@pytest.mark.parametrize(("argv", "message"), [
    (["voice", "build", "NELL", "--ref", "missing.wav"], "missing.wav: file not found"),
    (["voice", "build", "NELL", "--ref", "x.wav:9-3"], "START < END"),
    (["voice", "build", "--ref", "x.wav"], "NAME"),
    (["voice", "build", "NELL", "--strength", "2"], "--strength 2.0"),
    (["voice", "build", "NELL", "--consent", "granted"], "no voice profile named 'NELL'"),
    (["voice", "show", "NAGG"], "no voice profile named 'NAGG'"),
    (["voice", "build", "NELL", "--timeline", "gone.otio"], "gone.otio: file not found"),
])
def test_bad_voice_commands_exit_2_with_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       argv: list[str], message: str) -> None:
    assert main([*argv, "--voices", str(tmp_path / "voices")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_a_broken_profile_file_is_named_with_its_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    (voices / "NELL.voice.json").write_text(json.dumps({"format_version": 1, "name": "NELL", "strength": "loud"}))
    assert main(["voice", "list", "--voices", str(voices)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "NELL.voice.json" in err and "'strength'" in err


def test_run_options_for_profiles(tmp_path: Path) -> None:
    timeline, out = tmp_path / "t.otio", tmp_path / "o.otio"
    args = build_parser().parse_args(["run", str(timeline), "--out", str(out)])
    options = JobOptions.from_args(args)
    assert options.profiles == "auto" and options.voices_dir == tmp_path / "o_voices"
    args = build_parser().parse_args(["run", str(timeline), "--out", str(out), "--profiles", str(tmp_path / "v"),
                                      "--group-speakers", "--match-voice", "kokoro:jf_alpha"])
    options = JobOptions.from_args(args)
    assert options.voices_dir == tmp_path / "v" and options.group_speakers
    assert options.match_voices == ("kokoro:jf_alpha",)
    assert JobOptions(timeline=timeline, out=out).profiles == "off"  # library callers (the panel) opt in
    with pytest.raises(ValueError, match="BACKEND:VOICE"):
        JobOptions(timeline=timeline, out=out, match_voices=("jf_alpha",))
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="not a folder"):
        JobOptions(timeline=timeline, out=out, profiles=str(tmp_path / "file"))


def test_build_tunes_with_what_a_run_tunes_with(tmp_path: Path, endgame_scene: tuple[Path, Path],
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The language's own voice is the stock voice the vetoes compare with, and the vetoes and the bank are on."""
    from revoice.context import EngineContext
    from revoice.engine.characters import build
    from revoice.engine.characters.voice_bank import VoiceBank

    seen: dict[str, object] = {}

    def tune(profile, reference, rate, **options):  # type: ignore[no-untyped-def]
        seen.update(options)
        return profile

    monkeypatch.setattr(build, "tune_profile", tune)
    monkeypatch.setattr(EngineContext, "can_veto", staticmethod(lambda: (True, True)))
    media = media_of(endgame_scene)
    code = main(["voice", "build", "NELL", "--voices", str(tmp_path / "voices"), "--ref", f"{media}:8.4-11.7",
                 "--language", "en"])
    assert code == 3, capsys.readouterr().err  # nothing was matched (the stand-in tuned nothing)
    backends = seen["backends"]
    assert [b.spec.name for b in backends][:1] == ["piper"]  # English's own voice first: the stock reference
    assert seen["transcribe"] is not None and seen["naturalness"] is not None
    assert isinstance(seen["synthesis_cache"], VoiceBank)


def test_prepare_fills_the_bank_with_what_a_run_matches_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """``revoice voice prepare``: each language's voices (its own first), the run's vetoes, into the voice bank."""
    from revoice.context import EngineContext
    from revoice.engine.characters import tuning_prepare
    from revoice.engine.characters.voice_bank import VoiceBank

    monkeypatch.setenv("HOME", str(tmp_path))
    seen: dict[str, dict[str, object]] = {}

    def prepare(language, **options):  # type: ignore[no-untyped-def]
        seen[language] = options
        names = tuple(f"{b.spec.name}:x" for b in options["backends"])
        return tuning_prepare.PreparedLanguage(language=language, voices=names, seconds=1.5)

    monkeypatch.setattr(tuning_prepare, "prepare_language", prepare)
    monkeypatch.setattr(EngineContext, "can_veto", staticmethod(lambda: (True, True)))
    assert main(["voice", "prepare", "--json", "--shard", "2/3"]) == EXIT_OK
    rows = json.loads(capsys.readouterr().out)
    assert [row["language"] for row in rows] == ["en", "zh"]
    assert rows[0]["voices"][0] == "piper:x" and rows[1]["voices"][0] == "kokoro:x"  # the language's own voice first
    for options in seen.values():
        assert options["transcribe"] is not None and options["naturalness"] is not None
        assert isinstance(options["synthesis_cache"], VoiceBank)
        assert str(options["synthesis_cache"].folder).startswith(str(tmp_path))
        assert options["shard"] == (2, 3)
    assert main(["voice", "prepare", "--shard", "4/3"]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip() == "revoice: --shard '4/3': I must be between 1 and N"


def test_prepare_names_a_language_no_voice_speaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["voice", "prepare", "--language", "tlh"]) == 3
    err = capsys.readouterr().err.strip()  # one message: every backend's reason, as `revoice run` says it
    assert err.startswith("revoice: No voice backend fits (language='tlh'") and "Traceback" not in err
    assert "piper: does not speak 'tlh'" in err and "kokoro: does not speak 'tlh'" in err
