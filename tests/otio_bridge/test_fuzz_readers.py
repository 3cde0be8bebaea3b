"""Fuzz the readers of everything a vendor can send: SRT, WebVTT, ASS, CMX EDL, FCP7 XML, OTIO (.otio, .otioz).

(Just over 500 lines on purpose: one hypothesis strategy per format beside the test that feeds it.)

For every input the reader, and the line reading the session does after it
(``extract_lines``, ``timeline_rate``, ``timeline_start_frames``), either
returns or raises one :class:`InputError` line naming the file: never another
exception, never a crash, and it never writes a file (an audit hook fails the
test on any open for writing, rename, delete or new folder while a reader
runs). Inputs are both raw bytes and text built from each format's own
pieces (timing lines, tags, events, FCP7 elements, OTIO schemas with hostile
numbers), so the fuzzer gets past the first syntax check.

CI runs 300 examples per reader, derandomized (the same inputs every run;
the whole file takes ~15 s on one core). A longer, randomized hunt::

    REVOICE_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest -q tests/otio_bridge/test_fuzz_readers.py

(4,000 examples per reader took 3.6 minutes on one core, so 20,000 take
about 18; a failure prints the input that caused it, shrunk).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import opentimelineio as otio
import pytest
import revoice.engine.emotion.lexicon  # noqa: F401  (parse_emotion imports it lazily: not inside the write guard)
from bridge_helpers import make_timeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from revoice.otio_bridge import limits
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.limits import check_json_nesting
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.subtitles import Cue, read_subtitles
from revoice.otio_bridge.timeline import read_timeline, timeline_rate, timeline_start_frames

LONG_RUN = "REVOICE_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("REVOICE_FUZZ_EXAMPLES", "300"))
"""Examples per reader: 300 in CI (derandomized), or what REVOICE_FUZZ_EXAMPLES says (random)."""

pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning:pysubs2"),
              pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")]

FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG_RUN, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- the write guard ---------------------------------------------------------------------------------------------

class _WriteGuard:
    """Records writes (open for writing, rename, delete, mkdir) seen by the audit hook while ``armed``."""

    def __init__(self) -> None:
        self.armed = False
        self.writes: list[str] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.armed:
            return
        if event == "open":
            mode, flags = args[1], args[2]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC))
            if writing:
                self.writes.append(f"open {args[0]!r} {mode!r}")
        elif event in ("os.rename", "os.replace", "os.remove", "os.unlink", "os.rmdir", "os.mkdir", "os.truncate",
                       "shutil.rmtree", "shutil.move", "shutil.copyfile"):
            self.writes.append(f"{event} {args!r}")


_GUARD = _WriteGuard()
sys.addaudithook(_GUARD)  # audit hooks stay for the process; this one only records while a reader runs


@contextmanager
def no_writes() -> Iterator[None]:
    _GUARD.armed, _GUARD.writes = True, []
    try:
        yield
    finally:
        _GUARD.armed = False
    assert _GUARD.writes == [], f"a reader wrote: {_GUARD.writes[:3]}"


def only_input_errors(path: Path, read: Callable[[], object]) -> None:
    """Call ``read``: it returns, or raises one InputError line naming ``path``; nothing is written."""
    try:
        with no_writes():
            read()
    except InputError as err:
        text = str(err)
        assert "\n" not in text and "Traceback" not in text, text
        assert path.name in text or (err.path is not None and err.path.name == "content.otio"), text


CUES = [Cue(index=n + 1, start_seconds=start, end_seconds=start + 2.5, text=text, speaker=None, source_line=None)
        for n, (start, text) in enumerate([(0.5, "ANNA: Hi."), (4.0, "佐藤: Hello."), (30.0, "Over a cut."),
                                           (3600.5, "At the hour."), (-3.0, "Before zero.")])]
"""Cues laid over every fuzzed timeline, so its audio clips are looked up as sources of lines."""


def open_timeline(path: Path, rate: float | None = None) -> Callable[[], object]:
    """What ``Session.open`` does with a timeline: read it, then its lines (from markers, and from cues)."""
    def read() -> object:
        timeline = read_timeline(path, rate=rate)
        timeline_rate(timeline, path=path)
        timeline_start_frames(timeline)
        extract_lines(timeline, timeline_path=path, language="auto")
        return extract_lines(timeline, cues=CUES, timeline_path=path, language="auto")
    return read


@contextmanager
def input_file(name: str, data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="revoice-fuzz-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield path
        assert sorted(p.name for p in Path(folder).iterdir()) == [name]


# --- building blocks ---------------------------------------------------------------------------------------------

HOSTILE_NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e308, -1e308, 5e-324, 23.976, 29.97]))
NUMBERS = st.one_of(st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 5000), HOSTILE_NUMBERS)
"""Mostly the numbers a timeline holds, sometimes hostile ones."""
RATES = st.one_of(st.sampled_from([24, 25, 30, 24000 / 1001, 30000 / 1001, 48000, 50, 60]), HOSTILE_NUMBERS)
PRINTABLE = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=30)
TEXT = st.one_of(PRINTABLE, PRINTABLE, st.sampled_from(
    ["Hello there.", "MARA: Give me the keys.", "佐藤：你好", "ANNA: Hi", "<i>x</i>", "{\\an8}Hi", "&amp;", "Note: later",
     "<v Anna>Hi</v>", "김민준: 안녕"]), st.text(st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(["", " ", "\x00", "\ufeff", "-->", "\r", "\u2028"]))
"""Mostly dialogue-like text, sometimes control characters, marks and arrows."""
JUNK = st.sampled_from(["x", "-->", "99", "\x00", ":", "  ", "\n", "é", "\ufeff", ","])


def junk(draw: st.DrawFn, one_in: int = 10) -> str:
    """Mostly nothing: once in ``one_in`` draws a small mutation to splice into a well-formed line."""
    return draw(JUNK) if draw(st.integers(1, one_in)) == 1 else ""
BOMS = st.sampled_from([b"", b"", b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"])
ENCODINGS = st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16-le", "utf-32-be", "cp1252"])


def encoded(text: str, codec: str, bom: bytes) -> bytes:
    return bom + text.encode(codec, errors="replace")


def fuzz_bytes(text: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """The format's text as UTF-8 most of the time; else in another encoding, with a BOM, or raw bytes."""
    utf8 = text.map(lambda t: t.encode("utf-8", errors="surrogatepass"))
    other = st.one_of(st.builds(encoded, text, ENCODINGS, BOMS), st.binary(max_size=400))
    return st.integers(0, 9).flatmap(lambda k: utf8 if k < 8 else other)


def clock(ms: int, sep: str = ",", hours: bool = True) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    sec, ms = divmod(rest, 1000)
    return (f"{h:02d}:" if hours or h else "") + f"{m:02d}:{sec:02d}{sep}{ms:03d}"


def timecode(frames: int, fps: int) -> str:
    seconds, f = divmod(frames, fps)
    minutes, sec = divmod(seconds, 60)
    h, m = divmod(minutes, 60)
    return f"{h:02d}:{m:02d}:{sec:02d}:{f:02d}"


@st.composite
def srt_text(draw: st.DrawFn) -> str:
    blocks = []
    at = draw(st.integers(0, 10_000_000))
    for number in range(1, draw(st.integers(0, 6)) + 1):
        start, length = at + draw(st.integers(-2000, 5000)), draw(st.integers(-500, 4000))
        at = start + max(length, 0)
        timing = f"{clock(max(start, 0))} --> {clock(max(start + length, 0))}{junk(draw)}"
        lines = [f"{number}{junk(draw)}", timing, *draw(st.lists(TEXT, min_size=1, max_size=3))]
        if draw(st.integers(0, 9)) == 0:
            del lines[draw(st.integers(0, len(lines) - 1))]
        blocks.append("\n".join(lines))
    return draw(st.sampled_from(["\n\n", "\n\n", "\r\n\r\n", "\n", "\n \n"])).join(blocks)


@st.composite
def vtt_text(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(["WEBVTT", "WEBVTT", "WEBVTT - title", "WEBVTTX", "", "NOTE x"]))
    cues = []
    at = draw(st.integers(0, 10_000_000))
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["cue", "cue", "cue", "NOTE", "STYLE", "REGION"]))
        if kind != "cue":
            cues.append(f"{kind}\n{draw(TEXT)}")
            continue
        start, length = at + draw(st.integers(-2000, 5000)), draw(st.integers(-500, 4000))
        at = start + max(length, 0)
        hours = draw(st.booleans())
        ident = draw(st.sampled_from(["", "id\n", "1\n"]))
        voice = draw(st.sampled_from(["", "<v Anna>", "<v.loud Bob Smith>", "<v >", "<v"]))
        cues.append(f"{ident}{clock(max(start, 0), '.', hours)} --> {clock(max(start + length, 0), '.', hours)}"
                    f"{draw(st.sampled_from(['', ' align:start']))}{junk(draw)}\n{voice}{draw(TEXT)}")
    return "\n\n".join([header, *cues])


@st.composite
def ass_text(draw: st.DrawFn) -> str:
    fields = ["Layer", "Start", "End", "Style", "Name", "MarginL", "MarginR", "MarginV", "Effect", "Text"]
    lines = ["[Script Info]", "ScriptType: v4.00+", "", "[Events]",
             "Format: " + ", ".join(draw(st.permutations(fields)) if draw(st.integers(0, 5)) == 0 else fields)]
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["Dialogue", "Dialogue", "Comment", draw(TEXT)]))
        start, length = draw(st.integers(0, 36_000_000)), draw(st.integers(-500, 4000))
        values = ["0", clock(start, ".")[1:-1], clock(max(start + length, 0), ".")[1:-1], "Default", draw(TEXT),
                  "0", "0", "0", "", draw(TEXT)]
        lines.append(f"{kind}: " + ",".join(values[: draw(st.sampled_from([10, 10, 10, 9, 3, 0]))]))
    return "\n".join(lines)


@st.composite
def edl_text(draw: st.DrawFn) -> str:
    fps = draw(st.sampled_from([24, 25, 30]))
    lines = ["TITLE: cut", draw(st.sampled_from(["FCM: NON-DROP FRAME", "FCM: DROP FRAME", ""]))]
    record = draw(st.integers(0, 90000))
    for number in range(1, draw(st.integers(0, 6)) + 1):
        source, length = draw(st.integers(0, 200_000)), draw(st.integers(1, 500))
        record += draw(st.sampled_from([0, 0, 0, 10, -5]))
        times = [timecode(source, fps), timecode(source + length + draw(st.sampled_from([0, 0, 0, 1])), fps),
                 timecode(max(record, 0), fps), timecode(max(record, 0) + length, fps)]
        if draw(st.integers(0, 9)) == 0:
            times[draw(st.integers(0, 3))] = draw(st.sampled_from(["99:99:99:99", "1:2:3:4", "12345", "x"]))
        record += length
        reel = draw(st.sampled_from(["AX", "AX", "BL", "BARS", "REEL01"]))
        channel = draw(st.sampled_from(["V", "A", "A2", "AA", "AA/V", "B"]))
        kind = draw(st.sampled_from(["C", "C", "C", "D", "W001"]))
        extra = f"  {draw(st.integers(0, 60))}" if kind != "C" else ""
        lines.append(f"{number:03d}  {reel}  {channel}  {kind}{extra}  {'  '.join(times)}{junk(draw, 20)}")
        for _ in range(draw(st.integers(0, 3))):
            lines.append(draw(st.sampled_from([
                f"* FROM CLIP NAME: {draw(TEXT)}", f"* FROM CLIP: {draw(TEXT)}",
                f"* LOC: {timecode(record, fps)} RED x", f"* ASC_SOP ({draw(NUMBERS)} 1 1)(0 0 0)(1 1 1)",
                f"* ASC_SAT {draw(NUMBERS)}", "AUD  3  4",
                f"M2   {reel}  {draw(st.sampled_from(['050.0', '-025.0', '000.0', 'x']))}  {timecode(source, fps)}",
                "* FREEZE FRAME", f"* {draw(TEXT)}", draw(TEXT)])))
        if draw(st.integers(0, 19)) == 0:
            lines.append(f"SPLIT: {draw(st.sampled_from(['AUDIO DELAY', 'VIDEO DELAY', '']))}= {timecode(5, fps)}")
    return "\n".join(lines)


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_escape(text: str) -> str:
    """``text`` as XML character data (characters XML 1.0 cannot hold dropped)."""
    return _NOT_XML.sub("", text).replace("&", "&amp;").replace("<", "&lt;")


def _value(draw: st.DrawFn) -> str:
    """An FCP7 number: a whole number, once in 30 something hostile."""
    hostile = draw(st.integers(1, 30)) == 1
    return _xml_escape(str(draw(HOSTILE_NUMBERS if hostile else st.integers(-10, 5000))))


@st.composite
def fcp_clipitem(draw: st.DrawFn, number: int) -> str:
    url = draw(st.sampled_from(["file:///x.wav", "file://localhost/D%3a/x.wav", "../x.wav", "", "file:",
                                "/etc/passwd"]))
    ntsc = draw(st.sampled_from(["FALSE", "TRUE"]))
    parts = [f"<name>{_xml_escape(draw(TEXT))}</name>", f"<duration>{_value(draw)}</duration>",
             f"<rate><timebase>{_value(draw)}</timebase><ntsc>{ntsc}</ntsc></rate>",
             f"<start>{_value(draw)}</start>", f"<end>{_value(draw)}</end>", f"<in>{_value(draw)}</in>",
             f"<out>{_value(draw)}</out>",
             f'<file id="f{draw(st.integers(0, 3))}"><name>x.wav</name><pathurl>{_xml_escape(url)}</pathurl>'
             f"<rate><timebase>{_value(draw)}</timebase></rate><duration>{_value(draw)}</duration>"
             "<media><audio><channelcount>1</channelcount></audio></media></file>",
             f"<enabled>{draw(st.sampled_from(['TRUE', 'FALSE', 'x']))}</enabled>"]
    if draw(st.booleans()):
        parts.append(f"<marker><name>{_xml_escape(draw(TEXT))}</name><comment>{_xml_escape(draw(TEXT))}</comment>"
                     f"<in>{_value(draw)}</in><out>{_value(draw)}</out></marker>")
    kept = [p for p in parts if draw(st.integers(0, 9)) > 0]
    tag = draw(st.sampled_from(["clipitem", "clipitem", "clipitem", "generatoritem", "transitionitem"]))
    return f'<{tag} id="c{number}">{"".join(kept)}</{tag}>'


@st.composite
def fcp_xml_text(draw: st.DrawFn) -> str:
    tracks = []
    for kind in ("video", "audio"):
        items = [draw(fcp_clipitem(n)) for n in range(draw(st.integers(0, 3)))]
        tracks.append(f"<{kind}><track>{''.join(items)}</track></{kind}>")
    rate = f"<rate><timebase>{_value(draw)}</timebase><ntsc>{draw(st.sampled_from(['FALSE', 'TRUE']))}</ntsc></rate>"
    tc = (f"<timecode>{rate}<string>{timecode(draw(st.integers(0, 90000)), 25)}</string>"
          f"<frame>{_value(draw)}</frame><displayformat>NDF</displayformat></timecode>")
    markers = "".join(f"<marker><name>{_xml_escape(draw(TEXT))}</name><in>{_value(draw)}</in>"
                      f"<out>{_value(draw)}</out></marker>" for _ in range(draw(st.integers(0, 2))))
    sequence = (f'<sequence id="s"><name>{_xml_escape(draw(TEXT))}</name><duration>{_value(draw)}</duration>'
                f"{rate}{tc}{markers}<media>{''.join(tracks)}</media></sequence>")
    root = draw(st.sampled_from(["xmeml", "xmeml", "xmeml", "fcpxml"]))
    text = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} version="4">{sequence}</{root}>'
    if draw(st.integers(0, 9)) == 0:  # break it somewhere
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "<", "&", "]]>", "<!DOCTYPE x>"])) + text[cut + 1:]
    return text


def _time(draw: st.DrawFn, rate: float) -> dict[str, Any]:
    return {"OTIO_SCHEMA": "RationalTime.1", "value": draw(NUMBERS),
            "rate": rate if draw(st.integers(0, 9)) else draw(RATES)}


def _range(draw: st.DrawFn, rate: float, *, optional: bool = True) -> dict[str, Any] | None:
    if optional and draw(st.integers(0, 9)) == 0:
        return None
    return {"OTIO_SCHEMA": "TimeRange.1", "start_time": _time(draw, rate), "duration": _time(draw, rate)}


def _markers(draw: st.DrawFn, rate: float, most: int) -> list[dict[str, Any]]:
    return [{"OTIO_SCHEMA": "Marker.2", "name": draw(TEXT), "marked_range": _range(draw, rate, optional=False),
             "color": "RED",
             "comment": draw(TEXT), "metadata": draw(st.sampled_from([{}, {"revoice": {"speaker": "ANNA"}}]))}
            for _ in range(draw(st.integers(0, most)))]


@st.composite
def otio_item(draw: st.DrawFn, rate: float, depth: int = 0) -> dict[str, Any]:
    kind = draw(st.sampled_from(["Clip.2"] * 6 + ["Gap.1"] * 3 + ["Track.1", "Stack.1", "Transition.1"]))
    kind = "Bogus.9" if draw(st.integers(1, 40)) == 1 else kind
    item: dict[str, Any] = {"OTIO_SCHEMA": kind, "name": draw(TEXT), "metadata": draw(st.sampled_from(
        [{}, {}, {"revoice": {"text": "ANNA: Hi", "speaker": 3}}, {"fcp_xml": {"enabled": "FALSE"}}, {"subtitle": 1},
         {"Resolve_OTIO": {"Note": "MARA: Give me the keys."}}])),
        "source_range": _range(draw, rate), "enabled": draw(st.booleans()), "effects": [],
        "markers": _markers(draw, rate, 2)}
    if kind in ("Track.1", "Stack.1"):
        item["kind"] = draw(st.sampled_from(["Audio", "Audio", "Video", "Subtitle", ""]))
        item["children"] = draw(st.lists(otio_item(rate, depth + 1), max_size=4)) if depth < 3 else []
    if kind == "Clip.2":
        url = draw(st.sampled_from(["x.wav", "file:///etc/passwd", "../../x.wav", "file:", "http://[", "", "a\x00b",
                                    "/" + "x" * 300, "file:///%ff%fe"]))
        item["media_references"] = {"DEFAULT_MEDIA": {"OTIO_SCHEMA": "ExternalReference.1", "target_url": url,
                                                      "available_range": _range(draw, rate), "metadata": {}}}
        item["active_media_reference_key"] = draw(st.sampled_from(["DEFAULT_MEDIA", "DEFAULT_MEDIA", "OTHER"]))
    if kind == "Transition.1":
        item.update(in_offset=_time(draw, rate), out_offset=_time(draw, rate), transition_type="SMPTE_Dissolve")
    return item


@st.composite
def otio_text(draw: st.DrawFn) -> str:
    rate = draw(RATES) if draw(st.integers(0, 4)) == 0 else draw(st.sampled_from([24, 25, 24000 / 1001]))
    tracks = [{"OTIO_SCHEMA": "Track.1", "name": "A1", "kind": draw(st.sampled_from(["Audio", "Video"])),
               "metadata": {}, "source_range": None, "effects": [], "markers": [], "enabled": True,
               "children": draw(st.lists(otio_item(rate), max_size=5))} for _ in range(draw(st.integers(0, 3)))]
    timeline: dict[str, Any] = {
        "OTIO_SCHEMA": "Timeline.1", "name": draw(TEXT), "metadata": {},
        "global_start_time": _time(draw, rate) if draw(st.booleans()) else None,
        "tracks": {"OTIO_SCHEMA": "Stack.1", "name": "tracks", "metadata": {}, "source_range": None, "effects": [],
                   "markers": _markers(draw, rate, 3), "enabled": True, "children": tracks}}
    if draw(st.integers(0, 9)) == 0:
        timeline = {"OTIO_SCHEMA": "SerializableCollection.1", "name": "c", "metadata": {},
                    "children": [timeline] * draw(st.integers(0, 2))}
    text = json.dumps(timeline, allow_nan=True)
    if draw(st.integers(0, 9)) == 0:  # break it somewhere
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "[" * 300, "{", "}", "\\", '"', "\x00", "NaN", "1e999"])) + \
            text[cut + draw(st.integers(0, 3)):]
    return text


# --- the fuzzers ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix, text", [(".srt", srt_text()), (".vtt", vtt_text()), (".ass", ass_text()),
                                          (".ssa", ass_text())])
def test_subtitle_readers(suffix: str, text: st.SearchStrategy[str]) -> None:
    @FUZZ
    @given(data=fuzz_bytes(text))
    def run(data: bytes) -> None:
        with input_file(f"subs{suffix}", data) as path:
            only_input_errors(path, lambda: read_subtitles(path))

    run()


def test_subtitles_through_the_line_reader() -> None:
    """Cues that parse go on through extract_lines (times, speakers, languages) without a crash."""
    timeline = make_timeline(25.0, 90000)

    @FUZZ
    @given(data=st.builds(encoded, srt_text(), st.just("utf-8"), st.just(b"")),
           offset=st.sampled_from(["auto", "zero", "timeline", 1e308, -5.0, float("nan"), "bogus"]))
    def run(data: bytes, offset: str | float) -> None:
        with input_file("cut.srt", data) as path:
            only_input_errors(path, lambda: extract_lines(timeline, subtitle_path=path, subtitle_offset=offset,
                                                          language="auto"))

    run()


def test_edl_reader() -> None:
    @FUZZ
    @given(data=fuzz_bytes(edl_text()), rate=st.sampled_from([None, 24.0, 25.0, 29.97, 23.976, 60.0, 1e-3, 1e9]))
    def run(data: bytes, rate: float | None) -> None:
        with input_file("cut.edl", data) as path:
            only_input_errors(path, open_timeline(path, rate))

    run()


def test_fcp7_xml_reader() -> None:
    @FUZZ
    @given(data=fuzz_bytes(fcp_xml_text()))
    def run(data: bytes) -> None:
        with input_file("cut.xml", data) as path:
            only_input_errors(path, open_timeline(path))

    run()


def test_otio_reader() -> None:
    @FUZZ
    @given(data=fuzz_bytes(otio_text()))
    def run(data: bytes) -> None:
        with input_file("cut.otio", data) as path:
            only_input_errors(path, open_timeline(path))

    run()


def test_otioz_reader() -> None:
    @FUZZ
    @given(content=otio_text(), extra=st.lists(st.tuples(st.sampled_from(
        ["media/a.wav", "../evil", "/abs", "content.otio", "version.txt", "x\x00y"]), st.binary(max_size=50)),
        max_size=3), raw=st.none() | st.binary(max_size=300))
    def run(content: str, extra: list[tuple[str, bytes]], raw: bytes | None) -> None:
        with tempfile.TemporaryDirectory(prefix="revoice-fuzz-") as folder:
            path = Path(folder) / "cut.otioz"
            if raw is not None:
                path.write_bytes(raw)
            else:
                with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
                    bundle.writestr("content.otio", content.encode("utf-8", errors="surrogatepass"))
                    for name, data in extra:
                        bundle.writestr(name, data)
            only_input_errors(path, open_timeline(path))
            assert sorted(p.name for p in Path(folder).iterdir()) == ["cut.otioz"]

    run()


# --- the nesting scanner against a plain reference ----------------------------------------------------------------

def reference_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting outside strings, one byte at a time (the scanner must agree).

    A quote after an odd run of backslashes is no quote. Outside a string a
    backslash is not JSON: the parser stops there, so what the scanner counts
    after it does not matter; it counts as this reference does.
    """
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        char = chr(byte)
        was_escaped, escaped = escaped, char == "\\" and not escaped
        if char == '"' and not was_escaped:
            in_string = not in_string
        elif in_string:
            continue
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


@settings(max_examples=EXAMPLES * 4, deadline=None, derandomize=not LONG_RUN, database=None)
@given(data=st.text(st.sampled_from('[]{}"\\ a\n'), max_size=120).map(str.encode),
       limit=st.integers(0, 6), chunk=st.sampled_from([1, 2, 3, 7, 1024]))
def test_the_nesting_scanner_counts_as_a_json_parser_does(data: bytes, limit: int, chunk: int) -> None:
    with mock.patch.object(limits, "_SCAN_CHUNK", chunk):  # chunk edges: strings and escapes split across them
        try:
            check_json_nesting(Path("x.otio"), data, max_nesting=limit)
            refused = False
        except InputError:
            refused = True
    assert refused == (reference_depth(data) > limit)


def test_otio_itself_reads_what_the_generator_writes() -> None:
    """The OTIO generator is not all noise: a well-formed one reads into a timeline."""
    text = json.dumps({"OTIO_SCHEMA": "Timeline.1", "name": "t", "metadata": {}, "global_start_time": None,
                       "tracks": {"OTIO_SCHEMA": "Stack.1", "name": "tracks", "metadata": {}, "source_range": None,
                                  "effects": [], "markers": [], "enabled": True, "children": []}})
    assert isinstance(otio.adapters.read_from_string(text, adapter_name="otio_json"), otio.schema.Timeline)
