"""``revoice verify``: the watermark verdict and the provenance per file, exit codes, and the QC report's column."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
from revoice.cli import main as revoice_main
from revoice.engine.dsp.bwf import Provenance, write_bwf
from revoice.engine.dsp.watermark import embed_watermark
from revoice.verify import verify_main
from scipy.signal import resample_poly

RATE = 48000
PROFILE = Provenance(version="0.1.0", backend="profile+piper", voice="NELL", voice_profile="NELL",
                     voice_kind="tint", voice_profile_key="ab12cd34ef56", base_voice="piper/joe",
                     consent="granted", consent_by="A. Editor", consent_date="2026-11-21",
                     consent_scope="this production", line_id="L0002", render_key="f" * 64,
                     watermark="revoice-ss/1")


@pytest.fixture(scope="module")
def speech() -> npt.NDArray[np.float64]:
    """4 s of real read speech at 48 kHz (moonshine-voice's two_cities.wav, 48 kHz already)."""
    spec = importlib.util.find_spec("moonshine_voice")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("moonshine-voice is not installed (pip install -e '.[dev]')")
    path = Path(next(iter(spec.submodule_search_locations)), "assets", "two_cities.wav")
    audio, rate = sf.read(str(path), dtype="float64")
    if rate != RATE:
        common = math.gcd(rate, RATE)
        audio = resample_poly(audio, RATE // common, rate // common)
    return np.asarray(audio[RATE : 5 * RATE], dtype=np.float64)


def write_line(path: Path, audio: npt.NDArray[np.float64], *, marked: bool, provenance: Provenance | None) -> Path:
    samples = embed_watermark(audio, RATE) if marked else audio
    write_bwf(path, samples, RATE, time_reference_samples=0, description="NELL: a line", provenance=provenance)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = verify_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_folder_of_marked_renders_passes_and_prints_the_provenance(
        tmp_path: Path, speech: npt.NDArray[np.float64], capsys: pytest.CaptureFixture[str]) -> None:
    write_line(tmp_path / "NELL_L0002_t1.wav", speech, marked=True, provenance=PROFILE)
    write_line(tmp_path / "NELL_L0003_t1.wav", speech[::-1].copy(), marked=True, provenance=PROFILE)
    (tmp_path / "NELL_L0002_t1.json").write_text("{}", encoding="utf-8")  # sidecars are not audio
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 0
    assert out.count(": marked (score ") == 2 and out.rstrip().endswith("2 files: 2 marked, 0 not marked")
    assert "made by Revoice 0.1.0 (AI-generated speech), voice profile+piper/NELL (tint), line L0002" in out
    assert "voice profile NELL over piper/joe, profile key ab12cd34ef56" in out
    assert "consent at render time: granted by A. Editor on 2026-11-21 for this production" in out
    assert f"render key {'f' * 64}" in out


def test_an_unmarked_file_fails_and_a_stripped_mark_is_named(
        tmp_path: Path, speech: npt.NDArray[np.float64], capsys: pytest.CaptureFixture[str]) -> None:
    write_line(tmp_path / "a_marked.wav", speech, marked=True, provenance=PROFILE)
    write_line(tmp_path / "b_original.wav", speech, marked=False, provenance=None)
    write_line(tmp_path / "c_claims.wav", speech, marked=False, provenance=PROFILE)
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 1
    assert "b_original.wav: NOT marked" in out and "bext: originator Revoice, description NELL: a line" in out
    assert "c_claims.wav: NOT marked" in out and "the mark is not found: the audio was changed" in out
    assert out.rstrip().endswith("3 files: 1 marked, 2 not marked")


def test_the_mark_is_found_in_an_mp3_of_a_line(
        tmp_path: Path, speech: npt.NDArray[np.float64], capsys: pytest.CaptureFixture[str]) -> None:
    av = pytest.importorskip("av")
    path = tmp_path / "line.mp3"
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libmp3lame", rate=RATE, layout="mono")
        stream.bit_rate = 64000
        frame = av.AudioFrame.from_ndarray(embed_watermark(speech, RATE)[None, :], format="flt", layout="mono")
        frame.sample_rate = RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    code, out_text, _ = run(capsys, str(path))
    assert code == 0 and "line.mp3: marked" in out_text and "no provenance in the file" in out_text


def test_json_has_one_record_per_file(tmp_path: Path, speech: npt.NDArray[np.float64],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    marked = write_line(tmp_path / "m.wav", speech, marked=True, provenance=PROFILE)
    plain = write_line(tmp_path / "p.wav", speech, marked=False, provenance=None)
    code, out, _ = run(capsys, "--json", str(marked), str(plain), str(marked))
    records = json.loads(out)
    assert code == 1 and [Path(r["path"]).name for r in records] == ["m.wav", "p.wav"]  # duplicates once
    assert records[0]["marked"] is True and records[0]["score"] >= records[0]["threshold"] == 7.0
    assert records[0]["provenance"]["consent"] == "granted" and records[0]["provenance"]["ai_generated"] is True
    assert records[1]["marked"] is False and records[1]["provenance"] is None
    assert records[1]["bext"]["originator"] == "Revoice" and records[1]["error"] is None


def test_bad_input_exits_2_with_one_line(tmp_path: Path, speech: npt.NDArray[np.float64],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(tmp_path / "missing.wav"))
    assert code == 2 and err.strip() == f"revoice verify: {tmp_path / 'missing.wav'}: no such file or folder"
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, str(empty))
    assert code == 2 and "no audio files in this folder" in err
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    write_line(tmp_path / "fine.wav", speech, marked=True, provenance=PROFILE)
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 2 and "broken.wav: cannot read (" in out and "fine.wav: marked" in out
    assert "Traceback" not in out + err


def test_registered_as_a_revoice_subcommand(tmp_path: Path, speech: npt.NDArray[np.float64],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = write_line(tmp_path / "m.wav", speech, marked=True, provenance=PROFILE)
    assert revoice_main(["verify", str(path)]) == 0
    assert "m.wav: marked" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        revoice_main(["--help"])
    assert "verify" in capsys.readouterr().out


def test_the_qc_report_has_a_watermark_column(tmp_path: Path, speech: npt.NDArray[np.float64]) -> None:
    from revoice.report.page import _watermark_html
    from revoice.report.rows import ROW_FIELDS, _watermark_columns, rows_csv

    assert ROW_FIELDS.index("watermark") == ROW_FIELDS.index("wav") + 1
    marked = _watermark_columns(write_line(tmp_path / "m.wav", speech, marked=True, provenance=PROFILE))
    plain = _watermark_columns(write_line(tmp_path / "p.wav", speech, marked=False, provenance=None))
    assert marked["watermark"] == "marked" and marked["watermark_score"] > 7.0
    assert plain["watermark"] == "not marked" and plain["watermark_score"] < 7.0
    assert _watermark_columns(None) == _watermark_columns(tmp_path / "gone.wav") == {
        "watermark": None, "watermark_score": None}
    assert "&#10003; marked" in _watermark_html(marked) and "&#10007; not marked" in _watermark_html(plain)
    assert _watermark_html({"watermark": None}) == "<span class=id>&mdash;</span>"
    header = rows_csv([]).splitlines()[0].split(",")
    assert header[header.index("wav") + 1 : header.index("wav") + 3] == ["watermark", "watermark_score"]
