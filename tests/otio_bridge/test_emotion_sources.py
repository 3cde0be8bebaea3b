"""Where a line's own emotion comes from in the bridge: subtitle tags, ASS style and actor, marker metadata.

Each source is read with good and bad values; the spoken text loses an emotion
tag and keeps every other bracket; the clip metadata carries the emotion used.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import opentimelineio as otio
import pytest
from bridge_helpers import make_timeline, render_silence, write_srt
from revoice.engine.emotion.labels import Emotion, parse_emotion
from revoice.engine.model import DialogueLine, FrameRange
from revoice.engine.records import EmotionUse, RenderReport
from revoice.engine.text.directions import Silence, split_directions
from revoice.otio_bridge import clip_metadata
from revoice.otio_bridge.clip_metadata import ClipMetadata
from revoice.otio_bridge.emotion_tags import actor_emotion, split_emotion_tag, style_emotion
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.subtitles import Cue, read_subtitles
from revoice.otio_bridge.timeline import read_timeline
from revoice.otio_bridge.write import build_revoiced_timeline, write_timeline

ASS_HEAD = (
    "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
    "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, "
    "MarginV, Encoding\n"
    + "".join(f"Style: {name},Arial,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,"
              "10,10,10,1\n" for name in ("Default", "Angry", "MARA - angry", "Whisper", "Signs"))
    + "\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n")


def said(emotion: Emotion | None) -> tuple[str, str, float, str, str] | None:
    """An emotion as (method, label, intensity, source, description) for comparing."""
    if emotion is None:
        return None
    amount = emotion.strength if emotion.method == "original" else emotion.intensity
    return emotion.method, emotion.label, amount, emotion.source, emotion.description


def described(words: str, source: str) -> tuple[str, str, float, str, str]:
    """What the lexicon makes of ``words`` (its intensities are its own to tune), as :func:`said` gives it."""
    emotion = parse_emotion(words, source=source)
    assert emotion.method == "label" and emotion.description == words
    return emotion.method, emotion.label, emotion.intensity, emotion.source, emotion.description


def marker(name: str, start: int, metadata: dict[str, object]) -> otio.schema.Marker:
    return otio.schema.Marker(name=name, metadata=metadata, marked_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(start, 24), otio.opentime.RationalTime(36, 24)))


# --- subtitle tags ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, speaker, spoken, expected", [
    ("[angry] Give me the keys.", None, "Give me the keys.", ("label", "angry", 1.0, "subtitle tag", "")),
    ("(angrily) Give me the keys.", None, "Give me the keys.", described("angrily", "subtitle tag")),
    ("MARA: [angry:0.6] Give me the keys.", "MARA", "Give me the keys.", ("label", "angry", 0.6, "subtitle tag", "")),
    ("[sad] MARA: Give me the keys.", "MARA", "Give me the keys.", ("label", "sad", 1.0, "subtitle tag", "")),
    ("【愤怒】把钥匙给我", None, "把钥匙给我", described("愤怒", "subtitle tag")),
    ("佐藤：（悲伤地低语）我知道了", "佐藤", "我知道了", described("悲伤地低语", "subtitle tag")),
    ("[whispering] Over here.", None, "Over here.", described("whispering", "subtitle tag")),
    ("[original:0.5] As she said it.", None, "As she said it.", ("original", "neutral", 0.5, "subtitle tag", "")),
    ("[neutral] Just the facts.", None, "Just the facts.", ("neutral", "neutral", 1.0, "subtitle tag", "")),
    ("<i>[Calm]</i> Breathe.", None, "Breathe.", ("label", "calm", 1.0, "subtitle tag", "")),
])
def test_a_leading_tag_is_the_lines_emotion_and_is_not_spoken(
        tmp_path: Path, text: str, speaker: str | None, spoken: str,
        expected: tuple[str, str, float, str, str]) -> None:
    path = write_srt(tmp_path / "tags.srt", [(1.0, 3.0, text)])
    (cue,) = read_subtitles(path)
    assert (cue.speaker, cue.text, said(cue.emotion)) == (speaker, spoken, expected)
    (line,), skipped, warnings = extract_lines(make_timeline(24.0), subtitle_path=path)
    assert (line.text, said(line.emotion), skipped, warnings) == (spoken, expected, [], [])


@pytest.mark.parametrize("text", [
    "(laughs) Give me the keys.", "[pause] Give me the keys.", "(O.S.) Give me the keys.", "(off) Over here.",
    "Give me [angry] the keys.", "Give me the keys. (angrily)", "【笑】把钥匙给我", "[sighs] Fine.",
    "[reference:take3.wav] Again.", "Hello there.", "[beat] [angry] Go."])
def test_other_brackets_keep_todays_behaviour(tmp_path: Path, text: str) -> None:
    """A bracket that is not a leading emotion stays in the text; directions still read it (not spoken)."""
    path = write_srt(tmp_path / "directions.srt", [(1.0, 3.0, text)])
    (cue,) = read_subtitles(path)
    assert (cue.text, cue.emotion) == (text, None)
    (line,), _, warnings = extract_lines(make_timeline(24.0), subtitle_path=path)
    assert (line.text, line.emotion, warnings) == (text, None, [])


def test_directions_still_read_pauses_and_actions() -> None:
    pieces, directions = split_directions("[pause] Give me (laughs) the keys.")
    assert [d.kind for d in directions] == ["pause", "action"]
    assert isinstance(pieces[0], Silence) and pieces[0].seconds == 0.7
    _, rest = split_emotion_tag("[angry] Give me [pause] the keys.")
    assert rest == "Give me [pause] the keys."  # the emotion tag goes; a pause later in the line stays


def test_a_bad_tag_warns_once_and_stays_a_direction(tmp_path: Path) -> None:
    path = write_srt(tmp_path / "bad.srt", [(1.0, 3.0, "[angry:7] Give me the keys."), (4.0, 5.0, "(sad:x) No.")])
    lines, _, warnings = extract_lines(make_timeline(24.0), subtitle_path=path)
    assert [(ln.text, ln.emotion) for ln in lines] == [("[angry:7] Give me the keys.", None), ("(sad:x) No.", None)]
    assert len(warnings) == 2 and warnings[0].startswith("bad.srt:2: the tag [angry:7] is not read as an emotion")
    assert "must be from 0 to 1" in warnings[0] and "'x' is not a number" in warnings[1]


def test_a_tag_alone_leaves_no_text(tmp_path: Path) -> None:
    path = write_srt(tmp_path / "alone.srt", [(1.0, 3.0, "[whispering]"), (4.0, 5.0, "Next.")])
    lines, skipped, _ = extract_lines(make_timeline(24.0), subtitle_path=path)
    assert [ln.text for ln in lines] == ["Next."] and [s.reason for s in skipped] == ["no text"]


def test_cues_made_by_hand_are_read_for_tags() -> None:
    cues = [Cue(1, 1.0, 3.0, "MARA: [angry] Give me the keys.", None, None),
            Cue(2, 4.0, 5.0, "[sad] Already read.", None, None, Emotion(method="label", label="calm",
                                                                       source="subtitle tag"))]
    lines, _, _ = extract_lines(make_timeline(24.0), cues=cues)
    assert [(ln.speaker, ln.text, said(ln.emotion)) for ln in lines] == [
        ("MARA", "Give me the keys.", ("label", "angry", 1.0, "subtitle tag", "")),
        ("Dialogue", "[sad] Already read.", ("label", "calm", 1.0, "subtitle tag", ""))]


# --- ASS style and actor ---------------------------------------------------------------------------------------------

def test_ass_style_actor_and_tag(tmp_path: Path) -> None:
    events = [
        ("Angry", "", "Give me the keys."),
        ("MARA - angry", "MARA", "Give me the keys."),
        ("Whisper", "Anna", "Over here."),
        ("Default", "MARA (sad)", "I know."),
        ("Default", "MARA [calm:0.4]", "Breathe."),
        ("Default", "MARA (V.O.)", "Years later."),
        ("Signs", "Bob", "{\\i1}[afraid]{\\i0} Who's there?"),
        ("Angry", "MARA (sad)", "[happy] All three."),
        ("Angry", "MARA (sad)", "Actor over style."),
        ("Default", "(surprised)", "BOB: What?"),
        ("Default", "Anna", "{\\an8}Plain."),
    ]
    path = tmp_path / "scene.ass"
    path.write_text(ASS_HEAD + "".join(f"Dialogue: 0,0:00:{n:02d}.00,0:00:{n:02d}.90,{style},{actor},0,0,0,,{text}\n"
                                       for n, (style, actor, text) in enumerate(events, start=1)), encoding="utf-8")
    cues = read_subtitles(path)
    assert [(c.speaker, c.text, said(c.emotion)) for c in cues] == [
        (None, "Give me the keys.", ("label", "angry", 1.0, "ASS style", "")),
        ("MARA", "Give me the keys.", ("label", "angry", 1.0, "ASS style", "")),
        ("Anna", "Over here.", ("label", "whisper", 1.0, "ASS style", "")),
        ("MARA", "I know.", ("label", "sad", 1.0, "ASS actor", "")),
        ("MARA", "Breathe.", ("label", "calm", 0.4, "ASS actor", "")),
        ("MARA (V.O.)", "Years later.", None),
        ("Bob", "Who's there?", ("label", "afraid", 1.0, "subtitle tag", "")),
        ("MARA", "All three.", ("label", "happy", 1.0, "subtitle tag", "")),
        ("MARA", "Actor over style.", ("label", "sad", 1.0, "ASS actor", "")),
        ("BOB", "What?", ("label", "surprised", 1.0, "ASS actor", "")),
        ("Anna", "Plain.", None),
    ]
    lines, _, warnings = extract_lines(make_timeline(24.0), subtitle_path=path)
    assert [said(ln.emotion) for ln in lines] == [said(c.emotion) for c in cues] and warnings == []


@pytest.mark.parametrize("style, expected", [
    ("Angry", ("label", "angry", 1.0)), ("whisper", ("label", "whisper", 1.0)), ("MARA - angry", ("label", "angry", 1.0)),
    ("Mara_sad", ("label", "sad", 1.0)), ("Mara (calm)", ("label", "calm", 1.0)), ("Mara-happy:0.4", ("label", "happy", 0.4)),
    ("Shouting", described("Shouting", "ASS style")[:3]), ("Default", None), ("Signs", None), ("Top-Left", None), ("", None),
    ("Angry:9", None)])
def test_style_names(style: str, expected: tuple[str, str, float] | None) -> None:
    emotion = style_emotion(style)
    assert (None if emotion is None else (emotion.method, emotion.label, emotion.intensity)) == expected


@pytest.mark.parametrize("actor, speaker, label", [
    ("MARA (angry)", "MARA", "angry"), ("MARA [angry]", "MARA", "angry"), ("Mary Jane (whispering)", "Mary Jane", "whisper"),
    ("MARA (V.O.)", "MARA (V.O.)", None), ("MARA (angry:2)", "MARA (angry:2)", None), ("  Anna  ", "Anna", None),
    ("", None, None), ("(laughs)", "(laughs)", None)])
def test_actor_fields(actor: str, speaker: str | None, label: str | None) -> None:
    name, emotion = actor_emotion(actor)
    assert (name, None if emotion is None else emotion.label) == (speaker, label)
    assert emotion is None or emotion.source == "ASS actor"


# --- OTIO marker metadata --------------------------------------------------------------------------------------------

def test_marker_metadata_good_and_bad_values() -> None:
    tl = make_timeline(24.0)
    as_object = Emotion(method="label", label="sad", intensity=0.3, description="quietly", source="panel").to_json()
    values: list[object] = ["angry:0.7", "original:0.5", "angrily, voice shaking", as_object, None, "  ",
                            "angry:7", "purple monkey", 3, {"label": "angry", "colour": "red"}, {"method": "label",
                                                                                             "label": "grumpy"}]
    for n, value in enumerate(values):
        tl.tracks.markers.append(marker(f"M{n}", 48 * n, {"revoice": {"text": f"Line {n}.", "emotion": value}}))
    lines, skipped, warnings = extract_lines(tl)
    assert skipped == [] and [ln.text for ln in lines] == [f"Line {n}." for n in range(len(values))]
    assert [said(ln.emotion) for ln in lines] == [
        ("label", "angry", 0.7, "marker", ""),
        ("original", "neutral", 0.5, "marker", ""),
        described("angrily, voice shaking", "marker"),
        ("label", "sad", 0.3, "marker", "quietly"),
        None, None, None, None, None, None, None]
    assert len(warnings) == 5
    for n, text in zip((6, 7, 8, 9, 10), warnings):
        assert text.startswith(f"marker 'M{n}': metadata revoice.emotion ") and "\n" not in text, text
        assert text.endswith("the line is read without its own emotion")
    assert "'angry:7'" in warnings[0] and "from 0 to 1" in warnings[0]
    assert "cannot read the emotion 'purple monkey'" in warnings[1]
    assert "must be text such as 'angry:0.7' or an emotion object, not int" in warnings[2]
    assert "unknown emotion field(s) colour" in warnings[3] and "unknown emotion 'grumpy'" in warnings[4]


def test_marker_metadata_wins_over_its_texts_tag_and_the_tag_is_not_spoken() -> None:
    tl = make_timeline(24.0)
    tl.tracks.markers.append(marker("both", 0, {"revoice": {"text": "MARA: [sad] Both.", "emotion": "angry"}}))
    tl.tracks.markers.append(marker("tag", 48, {"Resolve_OTIO": {"Note": "[whispering] Only the tag."}}))
    tl.tracks.markers.append(marker("bad", 96, {"revoice": {"text": "[calm] A bad value.", "emotion": "angry:2"}}))
    lines, _, warnings = extract_lines(tl)
    assert [(ln.speaker, ln.text, said(ln.emotion)) for ln in lines] == [
        ("MARA", "Both.", ("label", "angry", 1.0, "marker", "")),
        ("Dialogue", "Only the tag.", described("whispering", "marker")),
        ("Dialogue", "A bad value.", ("label", "calm", 1.0, "marker", ""))]
    assert len(warnings) == 1 and warnings[0].startswith("marker 'bad': metadata revoice.emotion 'angry:2'")


def test_subtitle_clip_metadata_and_tags() -> None:
    tl = make_timeline(25.0)
    subs = otio.schema.Track(name="Subtitles", kind="Subtitle")
    for name, meta in (("ANNA: [sad] From a clip", {}), ("From metadata", {"revoice": {"emotion": "happy:0.5"}}),
                       ("Bad metadata", {"revoice": {"emotion": ["angry"]}})):
        subs.append(otio.schema.Clip(name=name, metadata=meta, source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, 25), otio.opentime.RationalTime(40, 25))))
    tl.tracks.append(subs)
    lines, _, warnings = extract_lines(tl)
    assert [(ln.speaker, ln.text, said(ln.emotion)) for ln in lines] == [
        ("ANNA", "From a clip", ("label", "sad", 1.0, "subtitle tag", "")),
        ("Dialogue", "From metadata", ("label", "happy", 0.5, "marker", "")),
        ("Dialogue", "Bad metadata", None)]
    assert len(warnings) == 1 and warnings[0].startswith(
        "subtitle clip 'Bad metadata' on track 'Subtitles': metadata revoice.emotion value is not an emotion")


def test_marker_metadata_read_from_a_saved_timeline(tmp_path: Path) -> None:
    tl = make_timeline(24.0)
    as_object = Emotion(method="label", label="afraid", intensity=0.6).to_json()
    tl.tracks.markers.append(marker("obj", 0, {"revoice": {"text": "Who's there?", "emotion": as_object}}))
    path = tmp_path / "markers.otio"
    otio.adapters.write_to_file(tl, str(path))
    (line,), _, warnings = extract_lines(read_timeline(path), timeline_path=path)
    assert said(line.emotion) == ("label", "afraid", 0.6, "marker", "") and warnings == []


# --- written back ----------------------------------------------------------------------------------------------------

def test_clip_metadata_carries_the_emotion_used(tmp_path: Path) -> None:
    line = DialogueLine("L0001", "Give me the keys.", "MARA", "en", FrameRange(0, 48, 24.0),
                        emotion=Emotion(method="label", label="angry", intensity=0.8, source="subtitle tag"))
    render = render_silence([line], tmp_path / "wav")[0]
    use = EmotionUse(method="label", words="angry 0.8", source="subtitle tag", applied_by="dsp",
                     f0_shift_semitones=1.1, f0_range_factor=1.4, energy_db=3.2, extra={"future": 1})
    render = dataclasses.replace(render, report=dataclasses.replace(render.report, emotion=use))
    written = ClipMetadata.of(line, render)
    assert written.emotion == use and written.to_json()["emotion"] == use.to_json()

    clip = otio.schema.Clip(name="L0001 MARA")
    clip_metadata.write(clip, written)
    first = clip_metadata.read(clip)
    assert first is not None and first == written and first.emotion is not None
    assert (first.emotion.method, first.emotion.source, first.emotion.energy_db) == ("label", "subtitle tag", 3.2)
    again = otio.schema.Clip(name="copy")
    clip_metadata.write(again, first)
    assert clip_metadata.read(again) == first
    assert json.loads(again.to_json_string())["metadata"] == json.loads(clip.to_json_string())["metadata"]

    path = tmp_path / "out.otio"
    write_timeline(build_revoiced_timeline(make_timeline(24.0), [line], [render]), path)
    (placed,) = [meta for c in read_timeline(path).find_clips() if (meta := clip_metadata.read(c)) is not None]
    assert placed.emotion == use and placed.emotion.extra == {"future": 1}


def test_clip_metadata_without_emotion_stays_as_it_was() -> None:
    old = {"line_id": "L0001", "report": {"lufs": -23.0}, "flags": []}
    meta = ClipMetadata.from_json(old)
    assert meta.emotion is None and meta.to_json() == old
    report = RenderReport.from_json({"emotion": {"method": "original", "words": "original take 100%"}})
    assert ClipMetadata.from_json({"emotion": report.to_json()["emotion"]}).emotion == report.emotion
