"""Hostile inputs, generated here: nesting, bombs, bad encodings, bad rates, weird paths, leaky bundles.

(Over 500 lines on purpose: one catalogue of every hostile case issue 17 lists, each with its generator
beside its test, so a reader sees every attack in one place.)

Every file a vendor sends must come back as a result or as one :class:`InputError`
line naming the file: no crash, no traceback, no runaway time or memory, nothing
written outside the output. The numbers in the names are the failures issue 17
measured on the code before: a segfault at 100,000 nested lists, 51 s for a 40 KB
nested file, 1.17 GB for a 510 KB .otioz bomb, a private key bundled into an .otioz.
"""

from __future__ import annotations

import codecs
import json
import re
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
from bridge_helpers import make_timeline, render_silence, write_srt
from revoice.engine.model import DialogueLine
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.limits import ReadLimits
from revoice.otio_bridge.lines import extract_lines
from revoice.otio_bridge.subtitles import read_subtitles
from revoice.otio_bridge.timeline import read_timeline, timeline_rate
from revoice.otio_bridge.write import build_revoiced_timeline, write_timeline, write_timelines


def nested_otio(depth: int, opener: str = "[", closer: str = "]") -> str:
    """A timeline whose metadata nests ``depth`` levels of ``opener`` (``[`` or ``{"a":``)."""
    return ('{"OTIO_SCHEMA": "Timeline.1", "metadata": {"x": ' + opener * depth + ("1" if opener != "[" else "")
            + closer * depth + "}}")


def one_line(err: InputError, name: str) -> str:
    text = str(err)
    assert name in text and "\n" not in text and "Traceback" not in text
    return text


def files_in(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


# --- nesting -----------------------------------------------------------------------------------------------------

def test_100000_nested_lists_are_refused_not_a_segfault(tmp_path: Path) -> None:
    """Before: the process died with SIGSEGV (exit 139) inside OTIO's JSON reader."""
    path = tmp_path / "deep.otio"
    path.write_text(nested_otio(100_000))
    script = ("import sys\nfrom revoice.otio_bridge.errors import InputError\n"
              "from revoice.otio_bridge.timeline import read_timeline\n"
              "try:\n    read_timeline(sys.argv[1])\nexcept InputError as err:\n    print(err)\n")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "deep.otio:1: the timeline nests deeper than 256 levels" in done.stdout


@pytest.mark.parametrize("opener, closer", [("[", "]"), ('{"a": ', "}")])
def test_a_40_kb_nested_file_is_refused_at_once(tmp_path: Path, opener: str, closer: str) -> None:
    """Before: 51 s of parsing (the time grows with the square of the depth)."""
    path = tmp_path / "nested.otio"
    depth = 40_000 // (len(opener) + len(closer))
    path.write_text(nested_otio(depth, opener, closer))
    started = time.perf_counter()
    with pytest.raises(InputError) as info:
        read_timeline(path)
    assert time.perf_counter() - started < 2.0
    assert "nests deeper than 256 levels" in one_line(info.value, "nested.otio")
    assert info.value.line == 1


def test_nesting_is_counted_per_line_and_inside_bundles(tmp_path: Path) -> None:
    deep = "\n".join(["{", '"OTIO_SCHEMA": "Timeline.1",', '"metadata": {"x":', "[" * 300, "]" * 300, "}}"])
    (tmp_path / "lines.otio").write_text(deep)
    with pytest.raises(InputError) as info:
        read_timeline(tmp_path / "lines.otio")
    assert info.value.line == 4
    bundle = tmp_path / "deep.otioz"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("version.txt", "1.0.0")
        z.writestr("content.otio", nested_otio(5000), compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(InputError, match="nests deeper"):
        read_timeline(bundle)
    folder = tmp_path / "deep.otiod"
    folder.mkdir()
    (folder / "content.otio").write_text(nested_otio(5000))
    with pytest.raises(InputError, match="nests deeper") as info:
        read_timeline(folder)
    assert "content.otio" in str(info.value)


def test_brackets_in_strings_do_not_count_and_real_nesting_reads(tmp_path: Path) -> None:
    tl = make_timeline(25.0, 90000)
    tl.name = 'a [[[[ "quoted {{{{ \\" [[[[' + "[" * 2000 + "\\"
    tl.metadata["deep"] = json.loads("[" * 200 + "]" * 200)  # deeper than any real timeline, under 256
    stack = tl.tracks
    for _ in range(12):  # compound clips in compound clips
        track = otio.schema.Track(kind=otio.schema.TrackKind.Audio)
        inner = otio.schema.Stack()
        track.append(inner)
        stack.append(track)
        stack = inner
    path = tmp_path / "fine.otio"
    otio.adapters.write_to_file(tl, str(path))
    back = read_timeline(path)
    assert back.name == tl.name and timeline_rate(back) == 25.0


# --- sizes and bombs ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["huge.otio", "huge.xml", "huge.edl"])
def test_an_oversized_timeline_is_refused_before_it_is_read(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with path.open("wb") as handle:  # sparse: 300 MiB on paper, nothing on disk
        handle.truncate(300 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            read_timeline(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # before: the 300 MiB were read, then refused as not a timeline
    assert "300.0 MiB, more than the 256.0 MiB" in one_line(info.value, name)


def test_an_oversized_subtitle_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.srt"
    with path.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    with pytest.raises(InputError, match="17.0 MiB, more than the 16.0 MiB"):
        read_subtitles(path)
    small = write_srt(tmp_path / "small.srt", [(1.0, 2.0, "Hello.")])
    with pytest.raises(InputError, match="more than the 10 bytes"):
        read_subtitles(small, limits=ReadLimits(max_subtitle_bytes=10))


def test_an_otioz_zip_bomb_is_refused_from_its_central_directory(tmp_path: Path) -> None:
    """Before: the 64 MiB member was inflated into memory before the JSON reader failed on it."""
    bomb = tmp_path / "bomb.otioz"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("version.txt", "1.0.0")
        with z.open("content.otio", "w") as member:
            chunk = b" " * (1024 * 1024)
            for _ in range(64):
                member.write(chunk)
    assert bomb.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            read_timeline(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    assert re.search(r"packed \d+ : 1, more than the 500 : 1", one_line(info.value, "bomb.otioz"))


def test_bundle_limits_and_broken_bundles(tmp_path: Path) -> None:
    fine = tmp_path / "fine.otioz"
    write_timeline(make_timeline(25.0), fine)
    assert timeline_rate(read_timeline(fine)) == 25.0
    with pytest.raises(InputError, match="unpacks to .* more than the 100 bytes"):
        read_timeline(fine, limits=ReadLimits(max_timeline_bytes=100))
    crowded = tmp_path / "crowded.otioz"
    with zipfile.ZipFile(fine) as src, zipfile.ZipFile(crowded, "w") as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        for n in range(10):
            z.writestr(f"media/{n}.wav", b"RIFF")
    with pytest.raises(InputError, match="holds 12 files, more than the 5"):
        read_timeline(crowded, limits=ReadLimits(max_bundle_entries=5))
    hollow = tmp_path / "hollow.otioz"
    with zipfile.ZipFile(hollow, "w") as z:
        z.writestr("version.txt", "1.0.0")
    with pytest.raises(InputError, match="has no content.otio"):
        read_timeline(hollow)
    liar = tmp_path / "liar.otioz"  # a member whose header claims 16 bytes but inflates to 2 MiB
    with zipfile.ZipFile(liar, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("content.otio", b" " * (2 * 1024 * 1024))
    data = bytearray(liar.read_bytes())
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature)
        data[at + size_at : at + size_at + 4] = (16).to_bytes(4, "little")
    liar.write_bytes(bytes(data))
    with pytest.raises(InputError) as info:
        read_timeline(liar)
    one_line(info.value, "liar.otioz")


def test_a_realistic_repetitive_bundle_is_read(tmp_path: Path) -> None:
    """5,000 identical clips deflate ~125 : 1, a quarter of the limit."""
    tl = make_timeline(24.0, length_frames=10)
    track = tl.tracks[1]
    for _ in range(5000):
        track.append(otio.schema.Clip(name="c", media_reference=otio.schema.ExternalReference(target_url="x.wav"),
                                      source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24),
                                                                           otio.opentime.RationalTime(10, 24))))
    path = tmp_path / "many.otioz"
    write_timeline(tl, path)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("content.otio")
        assert info.file_size > 1024 * 1024 and info.file_size / info.compress_size > 50
    assert len(read_timeline(path).tracks[1]) == 5000


# --- encodings ---------------------------------------------------------------------------------------------------

SRT = "1\n00:00:01,000 --> 00:00:02,000\nCafé crème, 佐藤\n"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-8"])
def test_subtitles_with_a_byte_order_mark_are_read_in_that_encoding(tmp_path: Path, codec: str) -> None:
    """Before: UTF-16 with a BOM was refused as not UTF-8, with a hint naming an option the CLI lacks."""
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE, "utf-32-le": codecs.BOM_UTF32_LE,
           "utf-32-be": codecs.BOM_UTF32_BE, "utf-8": codecs.BOM_UTF8}[codec]
    path = tmp_path / "bom.srt"
    path.write_bytes(bom + SRT.replace("\n", "\r\n").encode(codec))
    (cue,) = read_subtitles(path)
    assert cue.text == "Café crème, 佐藤" and cue.source_line == 2


def test_undecodable_subtitles_get_a_hint_the_cli_can_follow(tmp_path: Path) -> None:
    bare = tmp_path / "bare16.srt"
    bare.write_bytes(SRT.encode("utf-16-le"))
    with pytest.raises(InputError, match="byte-order mark") as info:
        read_subtitles(bare)
    one_line(info.value, "bare16.srt")
    latin = tmp_path / "latin.srt"
    latin.write_bytes(SRT.replace("佐藤", "").encode("cp1252"))
    with pytest.raises(InputError) as info:
        read_subtitles(latin)
    text = one_line(info.value, "latin.srt")
    assert info.value.line == 3 and "encoding=" not in text and "UTF-8" in text


@pytest.mark.parametrize("name, content", [
    ("bad.otio", b'{"OTIO_SCHEMA": "Timeline.1",\n"name": "\xff\xfe"}'),
    ("bad.xml", b'<?xml version="1.0"?>\n<xmeml><name>\xff</name></xmeml>'),
    ("bad.edl", b"TITLE: x\n001  \xff  V  C  01:00:00:00 01:00:01:00 01:00:00:00 01:00:01:00\n"),
])
def test_timelines_that_are_not_utf8_name_the_line(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match="not UTF-8") as info:
        read_timeline(path)
    one_line(info.value, name)
    assert info.value.line == 2


# --- rates -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [0, -25, 1e308, "NaN", "Infinity"])
@pytest.mark.parametrize("where", ["start", "clip", "marker", "media"])
def test_bad_rates_are_input_errors(tmp_path: Path, rate: float | str, where: str) -> None:
    """Before: a rate of 0, NaN or infinity crashed the line reader (OverflowError, ValueError tracebacks)."""
    tl = make_timeline(25.0, 90000, audio=[(0, 50, "x.wav", 0, 0)])
    tl.tracks[0][0].markers.append(otio.schema.Marker(name="m", marked_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 25), otio.opentime.RationalTime(5, 25))))
    data = json.loads(otio.adapters.write_to_string(tl))
    target = {"start": data["global_start_time"],
              "clip": data["tracks"]["children"][0]["children"][0]["source_range"]["duration"],
              "marker": data["tracks"]["children"][0]["children"][0]["markers"][0]["marked_range"]["duration"],
              "media": data["tracks"]["children"][1]["children"][0]["media_references"]["DEFAULT_MEDIA"]
                           ["available_range"]["start_time"]}[where]
    target["rate"] = "@RATE@"
    path = tmp_path / "rate.otio"
    path.write_text(json.dumps(data).replace('"@RATE@"', str(rate)))
    srt = write_srt(tmp_path / "x.srt", [(1.0, 2.0, "ANNA: Hi.")])
    try:
        read = read_timeline(path)
        for subtitles in (None, srt):
            extract_lines(read, subtitle_path=subtitles, timeline_path=path)
    except InputError as err:
        assert "rate" in one_line(err, "rate.otio")
        return
    except Exception as exc:  # noqa: BLE001 - the point: nothing but InputError
        pytest.fail(f"a rate of {rate} in the {where} crashed: {type(exc).__name__}: {exc}")
    assert rate == 1e308, f"a rate of {rate} in the {where} was accepted"


def test_a_timeline_holding_only_a_gap_has_the_gaps_rate(tmp_path: Path) -> None:
    """Before: refused with "no frame rate" although the gap carries one."""
    tl = otio.schema.Timeline(name="gap only")
    track = otio.schema.Track(kind=otio.schema.TrackKind.Audio)
    track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, 25),
                                                                      otio.opentime.RationalTime(250, 25))))
    tl.tracks.append(track)
    path = tmp_path / "gap.otio"
    otio.adapters.write_to_file(tl, str(path))
    read = read_timeline(path)
    assert timeline_rate(read, path=path) == 25.0
    srt = write_srt(tmp_path / "gap.srt", [(1.0, 2.0, "ANNA: Over the gap.")])
    lines, skipped, _ = extract_lines(read, subtitle_path=srt, timeline_path=path)
    assert [(ln.speaker, ln.record.start, ln.record.duration) for ln in lines] == [("ANNA", 25, 25)]


# --- weird paths -------------------------------------------------------------------------------------------------

WEIRD_URLS = ["/etc/passwd", "../../../../../../etc/passwd", "file:///etc/passwd", "a\x00b.wav",
              "file:///a%00b.wav", "/" + "x" * 5000 + ".wav", "file:///%ff%fe.wav", "file:", "file://",
              "http://[", "D:\\media\\x.wav", "\\\\server\\share\\x.wav", ""]


def test_weird_media_paths_are_read_and_written_without_a_crash(tmp_path: Path) -> None:
    tl = make_timeline(25.0, 90000, audio=[(n * 100, 50, url, 0, 0) for n, url in enumerate(WEIRD_URLS)])
    path = tmp_path / "in" / "weird.otio"
    path.parent.mkdir()
    otio.adapters.write_to_file(tl, str(path))
    srt = write_srt(tmp_path / "in" / "weird.srt", [(n * 4.0, n * 4.0 + 1.0, f"Line {n}.") for n in range(14)])
    read = read_timeline(path)
    lines, _, warnings = extract_lines(read, subtitle_path=srt, timeline_path=path)
    assert len(lines) == 14
    readable = {s.media_path for ln in lines for s in ln.sources if s.media_path is not None}
    assert readable <= {Path("/etc/passwd"), path.parent / "../../../../../../etc/passwd"}
    out_dir = tmp_path / "out"
    revoiced = build_revoiced_timeline(read, lines, render_silence(lines, out_dir / "cut_media"))
    before = files_in(tmp_path)
    written = []
    for suffix in (".otio", ".otioz", ".xml"):
        try:
            write_timeline(revoiced, out_dir / f"cut{suffix}", overwrite_inputs=[path, srt])
            written.append(out_dir / f"cut{suffix}")
        except InputError as err:
            one_line(err, f"cut{suffix}")
    assert files_in(tmp_path) - before == set(written)
    with zipfile.ZipFile(out_dir / "cut.otioz") as z:
        assert sorted(z.namelist()) == sorted(["version.txt", "content.otio"]
                                              + [f"media/{ln.line_id}.wav" for ln in lines])


@pytest.mark.parametrize("name", ["a\x00b.otio", "x" * 300 + ".otio", "no_such_folder/\udcff/x.otio"])
def test_weird_timeline_and_output_names_are_input_errors(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError):
        read_timeline(tmp_path / name)
    with pytest.raises(InputError):
        read_subtitles(tmp_path / name.replace(".otio", ".srt"))
    if "\udcff" not in name:
        with pytest.raises(InputError):
            write_timeline(make_timeline(25.0), tmp_path / name)


# --- .otioz leaks ------------------------------------------------------------------------------------------------

def revoiced_with_a_private_key(tmp_path: Path) -> tuple[otio.schema.Timeline, Path, list[DialogueLine]]:
    """A vendor's timeline whose audio clip points at a private key; the lines rendered into out_media."""
    secret = tmp_path / "home" / ".ssh" / "id_rsa"
    secret.parent.mkdir(parents=True)
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    tl = make_timeline(25.0, 90000, audio=[(0, 250, secret.as_uri(), 0, 0)])
    srt = write_srt(tmp_path / "cut.srt", [(1.0, 2.0, "ANNA: Hi."), (3.0, 4.0, "BOB: Hello.")])
    lines, _, _ = extract_lines(tl, subtitle_path=srt, subtitle_offset="zero")
    revoiced = build_revoiced_timeline(tl, lines, render_silence(lines, tmp_path / "out_media"))
    return revoiced, secret, lines


def test_an_otioz_bundles_only_revoices_own_wavs(tmp_path: Path) -> None:
    """Before: the private key went into the bundle, without a word."""
    revoiced, secret, lines = revoiced_with_a_private_key(tmp_path)
    out = tmp_path / "out.otioz"
    warnings = write_timeline(revoiced, out)
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["content.otio", "media/L0001.wav", "media/L0002.wav", "version.txt"]
    (left,) = [w for w in warnings if "left out" in w]
    assert str(secret) in left and "--bundle-media" in left
    back = read_timeline(out)
    original = next(c for c in back.find_clips() if c.name == "id_rsa")
    assert original.media_reference.target_url == secret.as_uri()
    assert [c.media_reference.target_url for c in back.find_clips() if c.name.startswith("L0")] == [
        "media/L0001.wav", "media/L0002.wav"]


def test_bundle_media_bundles_the_originals_when_asked(tmp_path: Path) -> None:
    revoiced, secret, _ = revoiced_with_a_private_key(tmp_path)
    out = tmp_path / "out.otioz"
    assert not [w for w in write_timeline(revoiced, out, bundle_media=True) if "left out" in w]
    with zipfile.ZipFile(out) as z:
        assert "media/id_rsa" in z.namelist()


def test_a_link_in_the_media_folder_does_not_smuggle_a_file_in(tmp_path: Path) -> None:
    revoiced, secret, _ = revoiced_with_a_private_key(tmp_path)
    link = tmp_path / "out_media" / "innocent.wav"
    link.symlink_to(secret)
    revoiced.tracks[1][0].media_reference.target_url = link.as_uri()
    out = tmp_path / "out.otioz"
    warnings = write_timeline(revoiced, out)
    with zipfile.ZipFile(out) as z:
        assert "media/innocent.wav" not in z.namelist() and "media/id_rsa" not in z.namelist()
    assert any(str(link) in w for w in warnings)


def test_every_target_is_checked_before_any_is_written(tmp_path: Path) -> None:
    """Before: --also otioz with two originals sharing a name exited 2 after out.otio was written."""
    tl = make_timeline(25.0, 90000, audio=[(0, 100, "a/take.wav", 0, 0), (100, 100, "b/take.wav", 0, 0)])
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "take.wav", np.zeros(480, dtype=np.float32), 48000)
    targets = [tmp_path / "out.otio", tmp_path / "out.otioz"]
    with pytest.raises(InputError, match="share the name 'take.wav'") as info:
        write_timelines(tl, targets, bundle_media=True)
    one_line(info.value, "out.otioz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
    (left,) = write_timelines(tl, targets)  # the originals stay where they are: no clash
    assert "2 media file(s) not made by Revoice were left out" in left and all(t.is_file() for t in targets)


def test_the_session_writes_all_its_targets_or_none(tmp_path: Path) -> None:
    """Before: the session wrote out.otio, then the FCP7 writer refused out.xml (exit 2, a half-written job)."""
    from revoice.options import JobError
    from revoice.session import OpenedTimeline, Session

    tl = make_timeline(25.0, 90000)
    srt = write_srt(tmp_path / "cut.srt", [(1.0, 2.0, "ANNA: Hi.")])
    lines, skipped, warnings = extract_lines(tl, subtitle_path=srt, subtitle_offset="zero")
    odd = tl.tracks[0][0]
    odd.source_range = otio.opentime.TimeRange(otio.opentime.RationalTime(0, 48000),  # FCP7 XML cannot say it
                                               otio.opentime.RationalTime(48000, 48000))
    odd.media_reference = otio.schema.ExternalReference(target_url="file:///x.wav", available_range=odd.source_range)
    opened = OpenedTimeline(path=tmp_path / "cut.otio", subtitles=srt, timeline=tl, rate=25.0, start_frames=90000,
                            lines=lines, skipped=skipped, warnings=warnings)
    session = Session(opened, out=tmp_path / "out.otio")
    renders = {r.line_id: r for r in render_silence(lines, session.layout.media_dir)}
    with pytest.raises(JobError, match="out.xml"):
        session.write([tmp_path / "out.otio", tmp_path / "out.xml"], renders=renders)
    assert not (tmp_path / "out.otio").exists() and not (tmp_path / "out.xml").exists()


# --- EDL lines ---------------------------------------------------------------------------------------------------

EVENT = "{n:03d}  AX       A     C        01:00:0{s}:00 01:00:0{e}:00 01:00:0{s}:00 01:00:0{e}:00"


def edl(tmp_path: Path, *body: str) -> Path:
    path = tmp_path / "cut.edl"
    path.write_text("\n".join(["TITLE: cut", "FCM: NON-DROP FRAME", "", *body]) + "\n")
    return path


@pytest.mark.parametrize("bad, line, what", [
    ("002  AX  A  C  01:00:01:00 01:00:02:00", 6, "has 6 fields"),
    ("002  AX  A  X  01:00:01:00 01:00:02:00 01:00:01:00 01:00:02:00", 6, "edit type 'X'"),
    ("002  AX  A  C  01:00:01:00 01:00:02:00 01:00:01:00 01-00-02-00", 6, "'01-00-02-00' is not a timecode"),
])
def test_an_edl_error_names_its_line(tmp_path: Path, bad: str, line: int, what: str) -> None:
    """Before: "incorrect number of fields" and the like, with no line."""
    path = edl(tmp_path, EVENT.format(n=1, s=0, e=1), "* FROM CLIP NAME: a", bad)
    with pytest.raises(InputError, match=what) as info:
        read_timeline(path, rate=25.0)
    assert info.value.line == line
    one_line(info.value, "cut.edl")


def test_a_line_before_the_first_event_is_named(tmp_path: Path) -> None:
    path = edl(tmp_path, "some notes from the assistant", EVENT.format(n=1, s=0, e=1))
    with pytest.raises(InputError, match="'some notes from the assistant' is not an EDL event") as info:
        read_timeline(path, rate=25.0)
    assert info.value.line == 4


def test_stray_edl_lines_are_reported(tmp_path: Path) -> None:
    """Before: a stray line became a comment of the event before it, and nobody was told."""
    path = edl(tmp_path, EVENT.format(n=1, s=0, e=1), "* FROM CLIP NAME: a", "AUD  3  4", "REEL NOTES see sheet",
               EVENT.format(n=2, s=1, e=2), "M2   a  050.0  01:00:01:00", "oops this broke off an event")
    read = read_timeline(path, rate=25.0)
    assert len(list(read.find_clips())) == 2
    _, _, warnings = extract_lines(read, timeline_path=path)
    (stray,) = [w for w in warnings if "neither EDL events nor notes" in w]
    assert "cut.edl: 2 line(s)" in stray and "line 7 'REEL NOTES see sheet'" in stray
    assert "line 10 'oops this broke off an event'" in stray
    path.write_text(path.read_text().replace("REEL NOTES", "01:00:01:00 REEL NOTES"))
    with pytest.raises(InputError, match="has 5 fields") as info:  # what looks like an event must be one
        read_timeline(path, rate=25.0)
    assert info.value.line == 7


# --- speakers ----------------------------------------------------------------------------------------------------

def test_a_non_ascii_speaker_prefix_is_a_speaker_and_not_the_language(tmp_path: Path) -> None:
    """Before: '佐藤: Hello' kept its prefix, so the English line went to the Mandarin voice."""
    srt = write_srt(tmp_path / "names.srt", [(1.0, 2.0, "佐藤: Hello there."), (3.0, 4.0, "佐藤：你好。"),
                                             (5.0, 6.0, "김민준: Good morning."), (7.0, 8.0, "注意：小心。")])
    lines, _, _ = extract_lines(make_timeline(25.0), subtitle_path=srt, subtitle_offset="zero", language="auto")
    assert [(ln.speaker, ln.text, ln.language) for ln in lines] == [
        ("佐藤", "Hello there.", "en"), ("佐藤", "你好。", "zh"), ("김민준", "Good morning.", "en"),
        ("Dialogue", "注意：小心。", "zh")]


# --- originals that do not decode --------------------------------------------------------------------------------

def test_an_undecodable_original_is_warned_about_like_a_missing_one(tmp_path: Path) -> None:
    """Before: a missing original got a warning, a text file named .wav none (it was dropped in silence)."""
    from revoice.session import read_lines

    (tmp_path / "fake.wav").write_text("not audio at all")
    sf.write(tmp_path / "real.wav", np.zeros(48000, dtype=np.float32), 48000)
    tl = make_timeline(25.0, 0, audio=[(0, 50, "fake.wav", 0, 0), (50, 50, "gone.wav", 0, 0),
                                       (100, 50, "real.wav", 0, 0)])
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(tl, str(path))
    srt = write_srt(tmp_path / "cut.srt", [(0.5, 1.5, "ANNA: One."), (2.5, 3.5, "ANNA: Two."), (4.5, 5.5, "Three.")])
    opened = read_lines(path, subtitles=srt, subtitle_offset="zero")
    assert [w.split(" (")[0] for w in opened.warnings if "gone.wav" in w or "fake.wav" in w] == [
        "media not found: gone.wav", "media cannot be decoded: fake.wav"]
    assert not [w for w in opened.warnings if "real.wav" in w]


def test_bundle_media_reaches_the_writer_from_the_command_line(tmp_path: Path) -> None:
    from revoice.cli import build_parser
    from revoice.options import JobOptions

    timeline = tmp_path / "cut.otio"
    otio.adapters.write_to_file(make_timeline(25.0), str(timeline))
    base = ["run", str(timeline), "--out", str(tmp_path / "out.otio"), "--also", "otioz"]
    assert JobOptions.from_args(build_parser().parse_args(base)).bundle_media is False
    assert JobOptions.from_args(build_parser().parse_args([*base, "--bundle-media"])).bundle_media is True


def test_an_export_under_another_name_still_bundles_the_sessions_wavs(tmp_path: Path) -> None:
    """The panel exports anywhere; Revoice's WAVs are those in the session's media folder, not beside the export."""
    from revoice.session import OpenedTimeline, Session

    _, secret, _ = revoiced_with_a_private_key(tmp_path)
    tl = make_timeline(25.0, 90000, audio=[(0, 250, secret.as_uri(), 0, 0)])
    srt = write_srt(tmp_path / "cut.srt", [(1.0, 2.0, "ANNA: Hi.")])
    lines, skipped, warnings = extract_lines(tl, subtitle_path=srt, subtitle_offset="zero")
    opened = OpenedTimeline(path=tmp_path / "cut.otio", subtitles=srt, timeline=tl, rate=25.0, start_frames=90000,
                            lines=lines, skipped=skipped, warnings=warnings)
    session = Session(opened, out=tmp_path / "work" / "scene.otio")
    renders = {r.line_id: r for r in render_silence(lines, session.layout.media_dir)}
    export = tmp_path / "elsewhere" / "for_the_mixer.otioz"
    session.write([export], renders=renders)
    with zipfile.ZipFile(export) as z:
        assert sorted(z.namelist()) == ["content.otio", "media/L0001.wav", "version.txt"]
    assert any("id_rsa" in w and "left out" in w for w in session.warnings)
