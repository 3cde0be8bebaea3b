"""Subtitles: real SRT/VTT files parse, broken ones are rejected with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from bridge_helpers import sha256
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.subtitles import read_subtitles, split_speaker_prefix

GOOD = {
    "sample.srt": 5,
    "sample.vtt": 16,
    "one_caption.srt": 1,
    "captions_with_bom.vtt": 4,
    "cue_tags.vtt": 3,
    "styles.vtt": 1,
    "youtube_dl.vtt": 4,
    "netflix_chicas_del_cable.vtt": 865,
}

BAD_LINES = {
    "invalid_format1.srt": 1,
    "invalid_format2.srt": 1,
    "invalid_format3.srt": 2,
    "invalid_format4.srt": 1,
    "invalid_timeframe.srt": 6,
    "missing_caption_text.srt": 6,
    "missing_timeframe.srt": 6,
    "empty.vtt": None,
}


@pytest.fixture
def subs(shared_corpus: Path) -> Path:
    return shared_corpus / "subtitles"


@pytest.mark.parametrize("name, count", sorted(GOOD.items()))
def test_good_files_parse(subs: Path, name: str, count: int) -> None:
    path = subs / name
    before = sha256(path)
    cues = read_subtitles(path)
    assert len(cues) == count
    assert [c.index for c in cues] == list(range(1, count + 1))
    assert all(c.end_seconds >= c.start_seconds for c in cues)
    assert all("<" not in c.text and "\n" not in c.text and "{\\" not in c.text for c in cues)
    assert all(c.source_line is not None for c in cues)
    assert sha256(path) == before


def test_bad_files_listed_are_all_the_bad_files(subs: Path) -> None:
    bad = {p.name for p in subs.iterdir() if p.name.startswith(("invalid_", "missing_")) or p.name == "empty.vtt"}
    assert bad == set(BAD_LINES)


@pytest.mark.parametrize("name, line", sorted(BAD_LINES.items()))
def test_bad_files_raise_input_error_with_file_and_line(subs: Path, name: str, line: int | None) -> None:
    path = subs / name
    before = sha256(path)
    with pytest.raises(InputError) as info:
        read_subtitles(path)
    err = info.value
    text = str(err)
    assert name in text and "\n" not in text
    assert err.line == line
    if line is not None:
        assert f"{name}:{line}: " in text
    assert err.hint
    assert sha256(path) == before


def test_sample_srt_times_text_and_lines(subs: Path) -> None:
    cues = read_subtitles(subs / "sample.srt")
    first, last = cues[0], cues[-1]
    assert (first.start_seconds, first.end_seconds, first.text) == (0.5, 7.0, "Caption text #1")
    assert (last.start_seconds, last.end_seconds) == (21.58, 23.88)
    assert [c.source_line for c in cues] == [2, 6, 10, 14, 18]


def test_vtt_tags_and_timestamps_are_stripped(subs: Path) -> None:
    tags = read_subtitles(subs / "cue_tags.vtt")
    assert [c.text for c in tags] == ["When the moon hits your eye", "Like a big-a pizza pie", "That's amore"]
    assert tags[0].start_seconds == 16.5
    youtube = read_subtitles(subs / "youtube_dl.vtt")
    assert youtube[1].text == "yeah what"
    assert youtube[2].text == "this will happen is I'm telling"
    assert read_subtitles(subs / "styles.vtt")[0].text == "- Hello world."


def test_netflix_italics_and_line_breaks(subs: Path) -> None:
    cues = read_subtitles(subs / "netflix_chicas_del_cable.vtt")
    assert cues[1].text == "las mujeres éramos algo así como adornos"
    assert cues[0].start_seconds == pytest.approx(7.96)


def test_vtt_voice_spans_give_speakers(tmp_path: Path) -> None:
    path = tmp_path / "voices.vtt"
    path.write_text("WEBVTT\n\n00:01.000 --> 00:02.000\n<v Anna>Hello <b>there</b></v>\n\n"
                    "00:02.000 --> 00:03.500\n<v.loud Bob Smith>Hi &amp; bye\n\n"
                    "00:04.000 --> 00:05.000\nNo voice here\n", encoding="utf-8")
    cues = read_subtitles(path)
    assert [(c.speaker, c.text) for c in cues] == [
        ("Anna", "Hello there"), ("Bob Smith", "Hi & bye"), (None, "No voice here")]
    assert [c.source_line for c in cues] == [3, 6, 9]


def test_srt_name_prefix_and_markup(tmp_path: Path) -> None:
    path = tmp_path / "names.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nANNA: <i>Hello</i>\nsecond line\n\n"
                    "2\n00:00:02,000 --> 00:00:03,000\nNote: the keys are here\n", encoding="utf-8")
    cues = read_subtitles(path)
    assert (cues[0].speaker, cues[0].text) == ("ANNA", "Hello second line")
    assert (cues[1].speaker, cues[1].text) == (None, "Note: the keys are here")


def test_ass_actor_field(tmp_path: Path) -> None:
    path = tmp_path / "x.ass"
    path.write_text(
        "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
        "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\n"
        "Style: Default,Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,"
        "10,10,10,1\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: 0,0:00:01.00,0:00:02.50,Default,Anna,0,0,0,,{\\i1}Hi{\\i0}\\Nthere\n"
        "Comment: 0,0:00:03.00,0:00:04.00,Default,Bob,0,0,0,,not dialogue\n",
        encoding="utf-8")
    cues = read_subtitles(path)
    assert [(c.speaker, c.text, c.start_seconds, c.end_seconds) for c in cues] == [("Anna", "Hi there", 1.0, 2.5)]


@pytest.mark.parametrize("content, line, what", [
    ("1\n00:00:02,000 --> 00:00:01,000\nbackwards\n", 2, "ends before it starts"),
    ("1\n00:00:01,000 --> 00:00:02,000\ntext\n00:00:03,000 --> 00:00:04,000\nmore\n", 4, "blank line"),
    ("1\n00:00:01 --> 00:00:02\ntext\n", 2, "malformed timing"),
    ("\n\n   \n", None, "empty"),
])
def test_more_broken_srt(tmp_path: Path, content: str, line: int | None, what: str) -> None:
    path = tmp_path / "broken.srt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=what) as info:
        read_subtitles(path)
    assert info.value.line == line


@pytest.mark.parametrize("content, line", [
    ("00:01.000 --> 00:02.000\nno header\n", 1),
    ("WEBVTT\n\n00:01.000 --> 00:02,000\ncomma\n", 3),
    ("WEBVTT\n\njust text\n", 3),
    ("WEBVTT\n\nNOTE only a note\n", None),
])
def test_broken_vtt(tmp_path: Path, content: str, line: int | None) -> None:
    path = tmp_path / "broken.vtt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_subtitles(path)
    assert info.value.line == line and "broken.vtt" in str(info.value)


def test_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nCaf\u00e9 cr\u00e8me\n".encode("cp1252"))
    with pytest.raises(InputError, match="encoding"):
        read_subtitles(path)
    assert read_subtitles(path, encoding="cp1252")[0].text == "Café crème"


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown subtitle format"):
        read_subtitles(tmp_path / "x.txt")
    with pytest.raises(InputError, match="no such file"):
        read_subtitles(tmp_path / "x.srt")


@pytest.mark.parametrize("text, speaker, rest", [
    ("ANNA: Hello", "ANNA", "Hello"),
    ("DR. MAY: Sit down.", "DR. MAY", "Sit down."),
    ("MAN 2: Hey!", "MAN 2", "Hey!"),
    ("Mary Jane: Hi", "Mary Jane", "Hi"),
    ("JEAN-LUC: Engage.", "JEAN-LUC", "Engage."),
    ("Note: bring the keys", None, "Note: bring the keys"),
    ("WARNING: hot", None, "WARNING: hot"),
    ("He said: run", None, "He said: run"),
    ("Anna said: run", None, "Anna said: run"),
    ("At 10:30 we leave", None, "At 10:30 we leave"),
    ("A: yes", None, "A: yes"),
    ("The Very Long Speaker Name: hi", None, "The Very Long Speaker Name: hi"),
    ("See https://example.com", None, "See https://example.com"),
])
def test_speaker_prefix(text: str, speaker: str | None, rest: str) -> None:
    assert split_speaker_prefix(text) == (speaker, rest)
