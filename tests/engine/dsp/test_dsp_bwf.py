"""Broadcast WAV writing: layout, libsndfile round trip, reproducibility, atomicity."""

from __future__ import annotations

import ctypes
import os
import struct
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import soundfile
from revoice.engine.dsp import bwf as bwf_module
from revoice.engine.dsp.bwf import (
    BEXT_TIME_REFERENCE_OFFSET,
    IXML_MAX_BYTES,
    Provenance,
    bwf_bytes,
    read_bext_text,
    read_bwf_time_reference,
    read_chunk,
    read_provenance,
    read_wav,
    write_bwf,
)

LSB24 = 1 / 2**23


class _BroadcastInfo(ctypes.Structure):
    """libsndfile's SF_BROADCAST_INFO (sndfile.h), as filled by sf_command(SFC_GET_BROADCAST_INFO)."""

    _fields_ = [
        ("description", ctypes.c_char * 256),
        ("originator", ctypes.c_char * 32),
        ("originator_reference", ctypes.c_char * 32),
        ("origination_date", ctypes.c_char * 10),
        ("origination_time", ctypes.c_char * 8),
        ("time_reference_low", ctypes.c_uint32),
        ("time_reference_high", ctypes.c_uint32),
        ("version", ctypes.c_short),
        ("umid", ctypes.c_char * 64),
        ("loudness", ctypes.c_int16 * 5),
        ("reserved", ctypes.c_char * 180),
        ("coding_history_size", ctypes.c_uint32),
        ("coding_history", ctypes.c_char * 256),
    ]


def libsndfile_bext(path: Path) -> _BroadcastInfo:
    """The bext chunk as libsndfile parses it (an independent reader of our layout)."""
    from soundfile import _ffi, _snd  # type: ignore[attr-defined]

    size = ctypes.sizeof(_BroadcastInfo)
    with soundfile.SoundFile(str(path)) as handle:
        buffer = _ffi.new("char[]", size)
        assert _snd.sf_command(handle._file, 0x10F0, buffer, size) == 1  # SFC_GET_BROADCAST_INFO
        return _BroadcastInfo.from_buffer_copy(_ffi.buffer(buffer))


def noise(n: int, seed: int = 0) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).standard_normal(n) * 0.25, -0.99, 0.99).astype(np.float32)


@pytest.mark.parametrize("sample_rate", [44100, 48000, 96000])
@pytest.mark.parametrize("seconds_since_midnight", [0.0, 3600.0 * 10 + 0.5, 86399.0])
def test_round_trip(tmp_path: Path, sample_rate: int, seconds_since_midnight: float) -> None:
    x = noise(sample_rate // 2)
    time_reference = int(round(seconds_since_midnight * sample_rate))  # > 2**32 at 96 kHz late in the day
    path = tmp_path / "line.wav"
    write_bwf(path, x, sample_rate, time_reference_samples=time_reference, description="Line 7: hello")

    assert read_bwf_time_reference(path) == time_reference
    y, rate = read_wav(path)
    assert rate == sample_rate and y.dtype == np.float32 and y.shape == x.shape
    assert np.max(np.abs(y.astype(np.float64) - x)) <= LSB24  # within 1 LSB (rounding: 0.5 LSB)
    info = soundfile.info(str(path))
    assert (info.format, info.subtype, info.channels) == ("WAV", "PCM_24", 1)

    bext = libsndfile_bext(path)
    assert (bext.time_reference_high << 32) | bext.time_reference_low == time_reference
    assert bext.description == b"Line 7: hello"
    assert bext.originator == b"Revoice"
    assert bext.origination_date == b"2000-01-01" and bext.origination_time == b"00:00:00"
    assert bext.version == 1
    assert bext.coding_history == f"A=PCM,F={sample_rate},W=24,M=mono,T=Revoice\r\n".encode()


def test_time_reference_offset_338_is_relative_to_the_bext_chunk_data(tmp_path: Path) -> None:
    time_reference = 0x1_2345_6789
    blob = bwf_bytes(noise(100), 96000, time_reference_samples=time_reference)
    assert blob[12:16] == b"bext"  # first chunk after "RIFF" size "WAVE"
    bext_data = 20  # after the chunk's 8-byte id + size header
    assert BEXT_TIME_REFERENCE_OFFSET == 338
    assert struct.unpack_from("<Q", blob, bext_data + 338)[0] == time_reference  # file offset 358
    assert blob[bext_data + 320 : bext_data + 338] == b"2000-01-0100:00:00"
    assert struct.unpack_from("<H", blob, bext_data + 346)[0] == 1  # Version
    (bext_size,) = struct.unpack_from("<I", blob, 16)
    assert blob[bext_data + 602 : bext_data + bext_size].endswith(b"\r\n")  # CodingHistory
    order = [blob[12:16]]
    pos = 12 + 8 + bext_size + bext_size % 2
    while pos < len(blob):
        order.append(blob[pos : pos + 4])
        pos += 8 + struct.unpack_from("<I", blob, pos + 4)[0]
    assert order == [b"bext", b"fmt ", b"data"]
    assert struct.unpack_from("<I", blob, 4)[0] == len(blob) - 8


def test_byte_identical_on_repeat(tmp_path: Path) -> None:
    x = noise(4801)
    a, b, c = tmp_path / "a.wav", tmp_path / "b.wav", tmp_path / "c.wav"
    write_bwf(a, x, 48000, time_reference_samples=172_800_000, description="x")
    write_bwf(b, x, 48000, time_reference_samples=172_800_000, description="x")
    write_bwf(c, x, 48000, time_reference_samples=172_800_001, description="x")
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    write_bwf(a, x, 48000, time_reference_samples=172_800_000, description="x")  # overwrite: same bytes
    assert a.read_bytes() == b.read_bytes()
    assert len(a.read_bytes()) % 2 == 0  # odd sample count: data chunk padded


def test_origination_is_written_when_given() -> None:
    blob = bwf_bytes(noise(10), 48000, time_reference_samples=0, origination=datetime(2026, 11, 21, 9, 5, 7))
    assert blob[20 + 320 : 20 + 338] == b"2026-11-2109:05:07"


def test_quantisation_rounds_and_clips(tmp_path: Path) -> None:
    x = np.array([0.0, 1.0, -1.0, 1.5, -1.5, 0.5 * LSB24 * 1.01, -0.49 * LSB24, 3.4 * LSB24], dtype=np.float32)
    blob = bwf_bytes(x, 48000, time_reference_samples=0)
    raw = np.frombuffer(blob[-24:], dtype=np.uint8).reshape(-1, 3)
    values = (raw[:, 0].astype(np.int32) | raw[:, 1].astype(np.int32) << 8 | raw[:, 2].astype(np.int32) << 16)
    values = np.where(values >= 1 << 23, values - (1 << 24), values)
    assert values.tolist() == [0, 2**23 - 1, -(2**23), 2**23 - 1, -(2**23), 1, 0, 3]
    path = tmp_path / "q.wav"
    write_bwf(path, x, 48000, time_reference_samples=0, bits=16)
    y, _ = read_wav(path)
    assert soundfile.info(str(path)).subtype == "PCM_16"
    assert y[1] == pytest.approx(1 - 2**-15) and y[2] == -1.0


def test_dither_is_optional_and_seeded() -> None:
    x = noise(2000)
    plain = bwf_bytes(x, 48000, time_reference_samples=0)
    d1 = bwf_bytes(x, 48000, time_reference_samples=0, dither=np.random.default_rng(1))
    d2 = bwf_bytes(x, 48000, time_reference_samples=0, dither=np.random.default_rng(1))
    assert d1 == d2 and d1 != plain
    a = bwf_module.pcm_samples(x)
    b = bwf_module.pcm_samples(x, dither=np.random.default_rng(1))
    assert np.max(np.abs(a - b)) <= 2 and np.any(a != b)


def test_text_fields_are_ascii_and_cut(tmp_path: Path) -> None:
    path = tmp_path / "t.wav"
    write_bwf(path, noise(10), 48000, time_reference_samples=5, description="Zoë 猫 " + "x" * 300, originator_reference="R" * 40)
    bext = libsndfile_bext(path)
    assert bext.description == b"Zoe ? " + b"x" * 250
    assert bext.originator_reference == b"R" * 32


def test_no_temp_files_left(tmp_path: Path) -> None:
    for i in range(3):
        write_bwf(tmp_path / "line.wav", noise(100, i), 48000, time_reference_samples=i)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.wav"]
    assert (os.stat(tmp_path / "line.wav").st_mode & 0o777) == 0o644


def test_failure_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(bwf_module.os, "fsync", broken_fsync)
    path = tmp_path / "new.wav"
    with pytest.raises(OSError, match="disk full"):
        write_bwf(path, noise(1000), 48000, time_reference_samples=0)
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "line.wav"
    write_bwf(path, noise(1000), 48000, time_reference_samples=1)
    before = path.read_bytes()

    def broken_replace(src: str, dst: object) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(bwf_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="rename failed"):
        write_bwf(path, noise(1000, 9), 48000, time_reference_samples=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["line.wav"]


def test_invalid_input_touches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.wav"
    with pytest.raises(ValueError, match="NaN"):
        write_bwf(path, np.array([0.0, np.nan], dtype=np.float32), 48000, time_reference_samples=0)
    with pytest.raises(ValueError, match="time_reference"):
        write_bwf(path, noise(10), 48000, time_reference_samples=-1)
    with pytest.raises(ValueError, match="bits"):
        write_bwf(path, noise(10), 48000, time_reference_samples=0, bits=32)
    with pytest.raises(ValueError, match="mono"):
        write_bwf(path, np.zeros((2, 10), dtype=np.float32), 48000, time_reference_samples=0)
    assert list(tmp_path.iterdir()) == []


def test_plain_wav_has_no_time_reference(tmp_path: Path) -> None:
    path = tmp_path / "plain.wav"
    soundfile.write(str(path), noise(100), 48000, subtype="PCM_24")
    with pytest.raises(ValueError, match="bext"):
        read_bwf_time_reference(path)
    y, rate = read_wav(path)
    assert rate == 48000 and y.shape == (100,)


# -- provenance: the iXML chunk and the bext coding history ----------------------------------------

PROFILE_PROVENANCE = Provenance(
    version="0.1.0", backend="profile+piper", voice="NELL", voice_profile="NELL", voice_kind="tint",
    voice_profile_key="ab12cd34", base_voice="piper/joe", consent="granted", consent_by="Zoë Editor",
    consent_date="2026-11-21", consent_scope="this production, trailer too", line_id="L0002",
    render_key="f" * 64, watermark="revoice-ss/1")


def chunk_order(blob: bytes) -> list[bytes]:
    order, pos = [], 12
    while pos < len(blob):
        order.append(blob[pos : pos + 4])
        size = struct.unpack_from("<I", blob, pos + 4)[0]
        pos += 8 + size + size % 2
    return order


def test_provenance_round_trips_through_ixml(tmp_path: Path) -> None:
    path = tmp_path / "line.wav"
    x = noise(4801)
    write_bwf(path, x, 48000, time_reference_samples=7, originator_reference="f" * 32, provenance=PROFILE_PROVENANCE)
    blob = path.read_bytes()
    assert chunk_order(blob) == [b"bext", b"fmt ", b"iXML", b"data"]
    assert struct.unpack_from("<I", blob, 4)[0] == len(blob) - 8
    assert read_provenance(path) == PROFILE_PROVENANCE  # UTF-8 names survive (iXML is UTF-8, bext is ASCII)
    y, rate = read_wav(path)  # libsndfile still reads the audio, exactly
    assert rate == 48000 and np.max(np.abs(y.astype(np.float64) - x)) <= LSB24
    assert read_bwf_time_reference(path) == 7
    ixml = read_chunk(path, b"iXML", max_bytes=IXML_MAX_BYTES)
    assert ixml is not None and ixml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b"<IXML_VERSION>2.10</IXML_VERSION>" in ixml and b"<AI_GENERATED>true</AI_GENERATED>" in ixml
    assert "<CONSENT_BY>Zoë Editor</CONSENT_BY>".encode() in ixml


def test_provenance_names_tool_voice_and_watermark_in_the_coding_history(tmp_path: Path) -> None:
    path = tmp_path / "line.wav"
    write_bwf(path, noise(100), 48000, time_reference_samples=0, description="NELL: hi", provenance=PROFILE_PROVENANCE)
    history = libsndfile_bext(path).coding_history.decode("ascii")
    assert history == ("A=PCM,F=48000,W=24,M=mono,T=Revoice 0.1.0; voice profile+piper/NELL; "
                       "profile NELL (tint  consent granted); watermark revoice-ss/1\r\n")
    bext = read_bext_text(path)
    assert bext is not None and bext.description == "NELL: hi" and bext.originator == "Revoice"
    assert bext.coding_history == history.strip()


def test_provenance_is_byte_identical_on_repeat_and_absent_by_default(tmp_path: Path) -> None:
    x = noise(1000)
    a = bwf_bytes(x, 48000, time_reference_samples=3, provenance=PROFILE_PROVENANCE)
    assert a == bwf_bytes(x, 48000, time_reference_samples=3, provenance=PROFILE_PROVENANCE)
    plain = tmp_path / "plain.wav"
    write_bwf(plain, x, 48000, time_reference_samples=3)
    assert read_provenance(plain) is None and b"iXML" not in plain.read_bytes()


def test_unsafe_broken_or_foreign_ixml_reads_as_no_provenance(tmp_path: Path) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE BWFXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<BWFXML><REVOICE><TOOL>&b;</TOOL></REVOICE></BWFXML>")
    assert Provenance.from_ixml(bomb) is None
    assert Provenance.from_ixml(b"<BWFXML><REVOICE><TOOL>x</TOO") is None
    assert Provenance.from_ixml(b"<BWFXML><PROJECT>a field recorder's</PROJECT></BWFXML>") is None
    assert Provenance.from_ixml(b"<BWFXML><REVOICE><VOICE>v</VOICE><FUTURE>kept out</FUTURE></REVOICE></BWFXML>") == \
        Provenance(voice="v")
    path = tmp_path / "foreign.wav"
    body = b"WAVE" + bwf_module._chunk(b"iXML", bomb) + bwf_bytes(noise(10), 48000, time_reference_samples=0)[12:]
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert read_provenance(path) is None and read_bext_text(path) is not None
    text = tmp_path / "text.wav"
    text.write_bytes(b"not a wav at all")
    with pytest.raises(ValueError, match="RIFF"):
        read_provenance(text)


def test_chunk_reader_seeks_past_the_audio_and_bounds_what_it_reads(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    write_bwf(path, noise(48000 * 20), 48000, time_reference_samples=0, provenance=Provenance(voice="v"))
    assert read_chunk(path, b"iXML", max_bytes=16) is None  # larger than allowed: not read
    assert read_chunk(path, b"LIST", max_bytes=IXML_MAX_BYTES) is None
    data = read_chunk(path, b"fmt ", max_bytes=64)
    assert data is not None and len(data) == 16
