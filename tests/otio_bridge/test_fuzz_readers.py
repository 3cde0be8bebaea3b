"""Fuzz the readers of everything a vendor can send: SRT, WebVTT, ASS, CMX EDL, FCP7 XML, OTIO (.otio, .otioz).

For every input the reader, and the line reading the session does after it
(``extract_lines``, ``timeline_rate``, ``timeline_start_frames``), either
returns or raises one :class:`InputError` line naming the file: never another
exception, never a crash, and it never writes a file (an audit hook fails the
test on any open for writing, rename, delete or new folder while a reader
runs). Inputs are both raw bytes and text built from each format's own
pieces (timing lines, tags, events, FCP7 elements, OTIO schemas with hostile
numbers), so the fuzzer gets past the first syntax check.

CI runs a bounded number of examples per reader, derandomized (the same
inputs every run; the whole file takes well under a minute on 2 cores). A
longer, randomized hunt::

    REVOICE_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest -q tests/otio_bridge/test_fuzz_readers.py

(about 20 minutes per 20,000 examples per reader on one core; a failure
prints the input that caused it, shrunk).
"""

from __future__ import annotations

import json
import os
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
from bridge_helpers import make_timeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from revoice.otio_bridge import limits
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.limits import check_json_nesting
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.subtitles import read_subtitles
from revoice.otio_bridge.timeline import read_timeline, timeline_rate, timeline_start_frames

LONG_RUN = "REVOICE_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("REVOICE_FUZZ_EXAMPLES", "120"))
"""Examples per reader: 120 in CI (derandomized), or what REVOICE_FUZZ_EXAMPLES says (random)."""

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


def open_timeline(path: Path, rate: float | None = None) -> Callable[[], object]:
    """What ``Session.open`` does with a timeline: read it, then its lines, rate and start."""
    def read() -> object:
        timeline = read_timeline(path, rate=rate)
        timeline_rate(timeline, path=path)
        timeline_start_frames(timeline)
        return extract_lines(timeline, timeline_path=path, language="auto")
    return read


@contextmanager
def input_file(name: str, data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="revoice-fuzz-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        yield path
        assert sorted(p.name for p in Path(folder).iterdir()) == [name]


# --- building blocks ---------------------------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(-3, 100_000), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 1e308, -1e308, 5e-324, 23.976, 29.97]))
TIMECODES = st.one_of(
    st.builds(lambda h, m, s, f, sep: f"{h:02d}:{m:02d}:{s:02d}{sep}{f:02d}", st.integers(0, 99), st.integers(0, 99),
              st.integers(0, 99), st.integers(0, 99), st.sampled_from([":", ";", ".", ","])),
    st.integers(0, 10**12).map(str), st.text(max_size=12))
TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", " ", "\x00", "\ufeff", "佐藤：你好", "ANNA: Hi", "<i>x</i>", "{\\an8}", "&amp;", "-->", "\r", "\u2028"])
BOMS = st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"])
ENCODINGS = st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "cp1252", "latin-1"])


def encoded(text: str, codec: str, bom: bytes) -> bytes:
    return bom + text.encode(codec, errors="replace")


@st.composite
def srt_text(draw: st.DrawFn) -> str:
    blocks = []
    for number in range(draw(st.integers(0, 6))):
        parts = [draw(st.sampled_from([str(number + 1), "", draw(TEXT)]))]
        if draw(st.booleans()):
            parts.append(f"{draw(TIMECODES)} {draw(st.sampled_from(['-->', '->', '', '--> -->']))} {draw(TIMECODES)}"
                         + draw(st.sampled_from(["", " X1:10", " align:start"])))
        parts.extend(draw(st.lists(TEXT, max_size=3)))
        blocks.append("\n".join(parts))
    return draw(st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\n \n"])).join(blocks)


@st.composite
def vtt_text(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(["WEBVTT", "WEBVTT - title", "WEBVTTX", "", "\ufeffWEBVTT", "NOTE x"]))
    cues = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["cue", "NOTE", "STYLE", "REGION"]))
        if kind != "cue":
            cues.append(f"{kind}\n{draw(TEXT)}")
            continue
        ident = draw(st.sampled_from(["", "id\n", "1\n"]))
        voice = draw(st.sampled_from(["", "<v Anna>", "<v.loud Bob Smith>", "<v >", "<v"]))
        cues.append(f"{ident}{draw(TIMECODES)} --> {draw(TIMECODES)}\n{voice}{draw(TEXT)}")
    return "\n\n".join([header, *cues])


@st.composite
def ass_text(draw: st.DrawFn) -> str:
    lines = [draw(st.sampled_from(["[Script Info]", "", "[V4+ Styles]", "[Events]"]))]
    lines.append("Format: " + ", ".join(draw(st.permutations(
        ["Layer", "Start", "End", "Style", "Name", "MarginL", "MarginR", "MarginV", "Effect", "Text"]))))
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["Dialogue", "Comment", "Style", draw(TEXT)]))
        fields = [str(draw(NUMBERS)), draw(TIMECODES), draw(TIMECODES), draw(TEXT), draw(TEXT), "0", "0", "0", "",
                  draw(TEXT)]
        lines.append(f"{kind}: " + ",".join(fields[: draw(st.integers(0, 10))]))
    return "\n".join(["[Events]", *lines] if draw(st.booleans()) else lines)


@st.composite
def edl_text(draw: st.DrawFn) -> str:
    lines = [draw(st.sampled_from(["TITLE: cut", "", "FCM: NON-DROP FRAME", "FCM: DROP FRAME", "* note"]))]
    for number in range(1, draw(st.integers(0, 6)) + 1):
        kind = draw(st.sampled_from(["cut", "cut", "transition", "split", "junk"]))
        reel = draw(st.sampled_from(["AX", "BL", "BLACK", "BARS", "REEL01", draw(TEXT)]))
        channel = draw(st.sampled_from(["V", "A", "A2", "AA", "AA/V", "B", draw(TEXT)]))
        times = " ".join(draw(TIMECODES) for _ in range(draw(st.integers(2, 5))))
        if kind == "cut":
            lines.append(f"{number:03d}  {reel}  {channel}  C  {times}")
        elif kind == "transition":
            lines.append(f"{number:03d}  {reel}  {channel}  {draw(st.sampled_from(['D', 'W001', 'K']))}  "
                         f"{draw(NUMBERS)}  {times}")
        elif kind == "split":
            lines.append(f"SPLIT: {draw(st.sampled_from(['AUDIO DELAY', 'VIDEO DELAY', '']))}= {draw(TIMECODES)}")
        else:
            lines.append(draw(TEXT))
        for _ in range(draw(st.integers(0, 3))):
            lines.append(draw(st.sampled_from([
                f"* FROM CLIP NAME: {draw(TEXT)}", f"* FROM CLIP: {draw(TEXT)}", f"* LOC: {draw(TIMECODES)} RED x",
                f"* ASC_SOP ({draw(NUMBERS)} 1 1)(0 0 0)(1 1 1)", f"* ASC_SAT {draw(NUMBERS)}", "AUD  3  4",
                f"M2   {reel}  {draw(NUMBERS)}  {draw(TIMECODES)}", "* FREEZE FRAME", draw(TEXT)])))
    return "\n".join(lines)


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


@st.composite
def fcp_element(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(["sequence", "media", "audio", "video", "track", "clipitem", "file", "rate", "timebase",
                                "ntsc", "start", "end", "in", "out", "duration", "name", "pathurl", "marker",
                                "comment", "enabled", "timecode", "frame", "displayformat", "string", "generatoritem",
                                "transitionitem", "sourcetrack", "mediatype", "samplecharacteristics", "link"]))
    attrs = draw(st.sampled_from(["", ' id="a"', ' id="file-1"', ' MZ.TrackTargeted="1"', ' id=""']))
    if depth >= 4 or draw(st.booleans()):
        body = _xml_escape(draw(st.one_of(NUMBERS.map(str), TEXT, TIMECODES,
                                          st.sampled_from(["TRUE", "FALSE", "file:///x.wav", "file://localhost/D%3a/x"]))))
    else:
        body = "".join(draw(st.lists(fcp_element(depth + 1), max_size=4)))
    return f"<{tag}{attrs}>{body}</{tag}>"


@st.composite
def fcp_xml_text(draw: st.DrawFn) -> str:
    body = "".join(draw(st.lists(fcp_element(), max_size=4)))
    root = draw(st.sampled_from(["xmeml", "xmeml", "fcpxml", "html"]))
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} version="4"><sequence>{body}</sequence></{root}>'


def _time(draw: st.DrawFn) -> dict[str, Any]:
    return {"OTIO_SCHEMA": "RationalTime.1", "value": draw(NUMBERS), "rate": draw(NUMBERS)}


def _range(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.integers(0, 5)) == 0:
        return None
    return {"OTIO_SCHEMA": "TimeRange.1", "start_time": _time(draw), "duration": _time(draw)}


@st.composite
def otio_item(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kind = draw(st.sampled_from(["Clip.2", "Gap.1", "Track.1", "Stack.1", "Transition.1", "Bogus.9"]))
    item: dict[str, Any] = {"OTIO_SCHEMA": kind, "name": draw(TEXT), "metadata": draw(st.sampled_from(
        [{}, {"revoice": {"text": "ANNA: Hi", "speaker": 3}}, {"fcp_xml": {"enabled": "FALSE"}}, {"subtitle": 1}])),
        "source_range": _range(draw), "enabled": draw(st.booleans()), "effects": [],
        "markers": [{"OTIO_SCHEMA": "Marker.2", "name": draw(TEXT), "marked_range": _range(draw), "color": "RED",
                     "comment": draw(TEXT), "metadata": {}} for _ in range(draw(st.integers(0, 2)))]}
    if kind in ("Track.1", "Stack.1") and depth < 3:
        item["kind"] = draw(st.sampled_from(["Audio", "Video", "Subtitle", ""]))
        item["children"] = draw(st.lists(otio_item(depth + 1), max_size=4))
    if kind == "Clip.2":
        url = draw(st.sampled_from(["x.wav", "file:///etc/passwd", "../../x.wav", "file:", "http://[", "", "a\x00b",
                                    "/" + "x" * 300, "file:///%ff%fe"]))
        item["media_references"] = {"DEFAULT_MEDIA": {"OTIO_SCHEMA": "ExternalReference.1", "target_url": url,
                                                      "available_range": _range(draw), "metadata": {}}}
        item["active_media_reference_key"] = draw(st.sampled_from(["DEFAULT_MEDIA", "OTHER"]))
    if kind == "Transition.1":
        item.update(in_offset=_time(draw), out_offset=_time(draw), transition_type="SMPTE_Dissolve")
    return item


@st.composite
def otio_text(draw: st.DrawFn) -> str:
    timeline = {"OTIO_SCHEMA": draw(st.sampled_from(["Timeline.1", "Timeline.1", "SerializableCollection.1"])),
                "name": draw(TEXT), "metadata": {}, "global_start_time": None,
                "tracks": {"OTIO_SCHEMA": "Stack.1", "name": "tracks", "metadata": {}, "source_range": None,
                           "effects": [], "markers": [], "enabled": True,
                           "children": draw(st.lists(otio_item(), max_size=4))}}
    if draw(st.booleans()):
        timeline["global_start_time"] = _time(draw)
    if timeline["OTIO_SCHEMA"].startswith("Serializable"):
        timeline = {"OTIO_SCHEMA": "SerializableCollection.1", "name": "c", "metadata": {},
                    "children": [dict(timeline, OTIO_SCHEMA="Timeline.1")] * draw(st.integers(0, 2))}
    text = json.dumps(timeline, allow_nan=True)
    if draw(st.booleans()):  # break it somewhere
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", "[" * 300, "{", "}", "\\", '"', "\x00", "NaN", "1e999"])) + \
            text[cut + draw(st.integers(0, 3)):]
    return text


def fuzz_bytes(text: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Raw bytes, or the format's text in some encoding, with or without a byte-order mark."""
    return st.one_of(st.binary(max_size=400),
                     st.builds(encoded, text, ENCODINGS, BOMS),
                     st.builds(lambda t: t.encode("utf-8", errors="surrogatepass"), text))


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
