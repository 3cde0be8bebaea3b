"""The QC report of a real revoiced timeline: rows, HTML/JSON/CSV files, the CLI, and a headless render."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import struct
import subprocess
import urllib.parse
import zlib
from pathlib import Path
from xml.etree import ElementTree

import pytest

from revoice.report import ROW_FIELDS, diff_html, qc_main, qc_rows, rows_csv, write_report


def test_diff_marks_substitutions_insertions_and_missing_words() -> None:
    marked = diff_html("The cat sat on the mat.", "The hat sat on the mat today")
    assert "<del>cat</del>" in marked and "<mark>hat</mark>" in marked and "<mark>today</mark>" in marked
    assert diff_html("Same words.", "same words") == "same words"
    assert diff_html("Anything.", "") == "<del>(nothing heard)</del>"
    assert "<mark>" in diff_html("我得走了", "我的走了", "zh")
    assert "<script>" not in diff_html("x", "<script>x</script>")


def test_csv_has_every_field() -> None:
    row = {key: None for key in ROW_FIELDS} | {"flags": ["wer 0.3 > 0.1", "mos 2 < 3"],
                                              "alternates": [{"take": 1, "score": 0.5}]}
    parsed = list(csv.DictReader(io.StringIO(rows_csv([row]))))
    assert list(parsed[0]) == list(ROW_FIELDS)
    assert parsed[0]["flags"] == "wer 0.3 > 0.1 | mos 2 < 3" and parsed[0]["alternates"] == "t1=0.5"


@pytest.mark.slow
def test_report_of_a_real_revoiced_timeline(revoiced_timeline: Path, tmp_path: Path) -> None:
    import opentimelineio as otio

    timeline = otio.adapters.read_from_file(str(revoiced_timeline))
    rows = qc_rows(timeline, base_dir=revoiced_timeline.parent)
    assert [r["line_id"] for r in rows] == ["L0001", "L0002", "L0003", "L0004"]
    assert [r["timecode"] for r in rows][0].startswith("01:00:01:")
    for row in rows:
        assert set(ROW_FIELDS) <= set(row)
        assert row["metered"] and row["asr_text"] and row["wer"] is not None
        assert row["similarity_to"] == "original" and row["voice_similarity"] is not None
        assert row["mos"] is not None and row["loudness_lufs"] is not None and row["length_error_samples"] == 0
        assert len(row["alternates"]) == 2 and sum(a["chosen"] for a in row["alternates"]) == 1
        assert Path(row["wav"]).is_file()

    paths = write_report(revoiced_timeline, tmp_path / "report")
    html_path, json_path, csv_path = paths
    assert [p.name for p in paths] == ["scene_revoiced_qc.html", "scene_revoiced_qc.json", "scene_revoiced_qc.csv"]
    assert len(json.loads(json_path.read_text(encoding="utf-8"))) == 4
    assert len(list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))) == 4
    page = html_path.read_text(encoding="utf-8")
    assert len(re.findall(r"<tr class='(?:flagged|noted|clean)'", page)) == 4
    assert page.count("<svg") >= 4 + 4 and "<style>" in page and "<link" not in page and "<script" not in page
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ElementTree.fromstring(svg)  # well-formed: every element closed, every attribute quoted
    sources = re.findall(r"<audio controls preload=none src='([^']+)'", page)
    assert len(sources) == 8, "one original and one take player per line"
    for src in sources:
        assert (html_path.parent / urllib.parse.unquote(src)).is_file(), src
    assert not list(html_path.parent.glob(".*.tmp")), "no temp files left behind"


@pytest.mark.slow
def test_cli_prints_the_rows_as_json(revoiced_timeline: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert qc_main([str(revoiced_timeline), "--json", "--stored-only", "--out-dir", str(tmp_path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["line_id"] for r in rows] == ["L0001", "L0002", "L0003", "L0004"]
    assert qc_main([str(tmp_path / "missing.otio")]) == 2


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        header = chunk if kind == b"IHDR" else header
        idat += chunk if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line if bpp == 3 else b"".join(line[i : i + 3] for i in range(0, stride, 4))))
        previous = line
    return width, height, rows


@pytest.mark.slow
def test_report_renders_in_headless_chromium(revoiced_timeline: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    html_path = write_report(revoiced_timeline, tmp_path)[0]
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1400,1000", html_path.as_uri()],
                   check=True, timeout=120, capture_output=True)
    width, height, rows = _png_pixels(shot)
    assert (width, height) == (1400, 1000)
    pixels = [row[i : i + 3] for row in rows[::4] for i in range(0, len(row), 12)]
    colours = set(pixels)
    white = sum(1 for p in pixels if min(p) >= 245)
    assert len(colours) >= 50, "a rendered page has text, charts and waveforms"
    assert 0.05 <= 1 - white / len(pixels), "the page is not blank"
    dark_header = rows[10][: 3 * 200]
    assert max(dark_header) < 100, "the header bar is drawn (CSS applied)"


@pytest.mark.slow
def test_unmetered_lines_are_metered_on_request(revoiced_timeline: Path, tmp_path: Path, line_qc: object) -> None:
    import opentimelineio as otio
    from revoice.otio_bridge.write import write_timeline

    timeline = otio.adapters.read_from_file(str(revoiced_timeline))
    for clip in timeline.find_clips():
        meta = clip.metadata.get("revoice")
        if meta is not None:
            report = dict(meta["report"])
            report.pop("qc", None)
            report.pop("takes", None)
            meta["report"] = report
    unmetered = tmp_path / "unmetered.otio"
    write_timeline(timeline, unmetered)
    stored = json.loads(write_report(unmetered, tmp_path / "stored")[1].read_text(encoding="utf-8"))
    assert [r["metered"] for r in stored] == [False] * 4 and all(r["wer"] is None for r in stored)
    assert "not metered" in (tmp_path / "stored" / "unmetered_qc.html").read_text(encoding="utf-8")
    measured = json.loads(write_report(unmetered, tmp_path / "measured", measure=line_qc)[1]  # type: ignore[arg-type]
                          .read_text(encoding="utf-8"))
    assert [r["metered"] for r in measured] == [True] * 4
    assert all(r["asr_text"] and r["similarity_to"] == "original" for r in measured)
