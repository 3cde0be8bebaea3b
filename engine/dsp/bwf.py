"""Broadcast WAV (EBU Tech 3285) writing, and reading back for tests and tools.

File layout written by :func:`write_bwf` (all little-endian)::

    "RIFF" <size> "WAVE"
    "bext" <602 + len(coding history), even-padded>   EBU Tech 3285 v1
    "fmt " <16>   PCM (format 1), mono, 16- or 24-bit
    "data" <samples * bytes>  (+ pad byte when odd)

``bext`` field offsets, in bytes from the start of the bext chunk *data*
(i.e. after its 8-byte "bext" + size header; for this writer the chunk
starts at file byte 12, so its data starts at file byte 20):

    0 Description[256]  256 Originator[32]  288 OriginatorReference[32]
    320 OriginationDate[10] "yyyy-mm-dd"  330 OriginationTime[8] "hh:mm:ss"
    338 TimeReferenceLow (uint32)  342 TimeReferenceHigh (uint32)
    346 Version (uint16)  348 UMID[64]  412 five int16 loudness fields (v2)
    422 Reserved[180]  602 CodingHistory (ASCII, CR/LF terminated)

TimeReference is the uint64 (low word first) count of samples since
midnight of the first sample, so "offset 338" in nle-facts.md is relative to
the bext chunk data, not to the file (file offset 358 here).
"""

from __future__ import annotations

import os
import struct
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Required, TypedDict, Unpack

import numpy as np
import numpy.typing as npt
import soundfile
from revoice.engine.dsp._util import FloatArray, check_rate, mono_f64
from revoice.engine.files import write_bytes_atomic

BEXT_TIME_REFERENCE_OFFSET = 338
"""Byte offset of TimeReferenceLow inside the bext chunk data."""

_BEXT_FIXED_SIZE = 602


def _ascii(text: str) -> bytes:
    """``text`` as ASCII: accents dropped (NFKD), other non-ASCII characters as '?'."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if ch.isascii() or not unicodedata.combining(ch))
    return kept.encode("ascii", errors="replace")


def _ascii_field(text: str, size: int) -> bytes:
    """``text`` as ASCII (see :func:`_ascii`), cut to ``size`` bytes, NUL-padded."""
    return _ascii(text)[:size].ljust(size, b"\0")


def _bext_chunk(
    *,
    description: str,
    originator: str,
    originator_reference: str,
    origination: datetime | None,
    time_reference_samples: int,
    coding_history: str,
) -> bytes:
    """The complete ``bext`` chunk (header, data, pad byte)."""
    if origination is None:
        date, clock = "2000-01-01", "00:00:00"
    else:
        date, clock = origination.strftime("%Y-%m-%d"), origination.strftime("%H:%M:%S")
    history = _ascii(coding_history)
    data = b"".join(
        [
            _ascii_field(description, 256),
            _ascii_field(originator, 32),
            _ascii_field(originator_reference, 32),
            _ascii_field(date, 10),
            _ascii_field(clock, 8),
            struct.pack("<IIH", time_reference_samples & 0xFFFFFFFF, time_reference_samples >> 32, 1),
            bytes(64),  # UMID: none
            bytes(10),  # loudness fields (v2): not given
            bytes(180),  # reserved
            history,
        ]
    )
    assert len(data) == _BEXT_FIXED_SIZE + len(history)
    return _chunk(b"bext", data)


def _chunk(chunk_id: bytes, data: bytes) -> bytes:
    """RIFF chunk: id, size (of data, without the pad byte), data, pad byte if the size is odd."""
    return chunk_id + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def pcm_samples(
    audio: FloatArray,
    *,
    bits: int = 24,
    dither: np.random.Generator | None = None,
) -> npt.NDArray[np.int32]:
    """Float samples (full scale +-1.0) to signed PCM integers of ``bits`` (16 or 24).

    Scaled by 2**(bits-1), rounded to nearest (half to even), clipped to
    [-2**(bits-1), 2**(bits-1) - 1]. With ``dither`` (a numpy Generator),
    TPDF dither of +-1 LSB peak is added before rounding.
    """
    if bits not in (16, 24):
        raise ValueError(f"bits must be 16 or 24, got {bits}")
    x = mono_f64(audio)
    full = float(1 << (bits - 1))
    scaled = x * full
    if dither is not None:
        scaled = scaled + (dither.random(x.size) - dither.random(x.size))
    return np.clip(np.rint(scaled), -full, full - 1).astype(np.int32)


class BwfHeader(TypedDict, total=False):
    """The keyword options of :func:`bwf_bytes` and :func:`write_bwf` (all but ``time_reference_samples`` optional)."""

    time_reference_samples: Required[int]
    """The first sample's position in samples since midnight (bext TimeReference)."""
    description: str
    originator: str
    originator_reference: str
    origination: datetime | None
    bits: int
    """16 or 24 (default)."""
    dither: np.random.Generator | None


def bwf_bytes(
    audio: FloatArray,
    sample_rate: int,
    *,
    time_reference_samples: int,
    description: str = "",
    originator: str = "Revoice",
    originator_reference: str = "",
    origination: datetime | None = None,
    bits: int = 24,
    dither: np.random.Generator | None = None,
) -> bytes:
    """The complete Broadcast WAV file :func:`write_bwf` writes, as bytes."""
    sr = check_rate(sample_rate)
    if isinstance(time_reference_samples, bool) or not 0 <= int(time_reference_samples) < 1 << 64:
        raise ValueError(f"time_reference_samples must be in 0..2**64-1, got {time_reference_samples!r}")
    pcm = pcm_samples(audio, bits=bits, dither=dither)
    width = bits // 8
    if width == 3:
        data = pcm.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        data = pcm.astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, sr, sr * width, width, bits)
    history = f"A=PCM,F={sr},W={bits},M=mono,T={originator}\r\n"
    body = b"".join(
        [
            b"WAVE",
            _bext_chunk(
                description=description,
                originator=originator,
                originator_reference=originator_reference,
                origination=origination,
                time_reference_samples=int(time_reference_samples),
                coding_history=history,
            ),
            _chunk(b"fmt ", fmt),
            _chunk(b"data", data),
        ]
    )
    if len(body) > 0xFFFFFFFF:
        raise ValueError("audio too long for a RIFF WAV file (4 GiB)")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write_bwf(path: str | os.PathLike[str], audio: FloatArray, sample_rate: int, **header: Unpack[BwfHeader]) -> None:
    """Write mono ``audio`` as a Broadcast WAV, atomically and reproducibly (``header``: see :func:`bwf_bytes`).

    ``time_reference_samples``: the first sample's position in samples since
    midnight (bext TimeReference). Text fields are ASCII as EBU Tech 3285
    requires (accents dropped, other characters become '?') and cut to their
    bext sizes (256/32/32 bytes).
    ``origination`` gives OriginationDate/Time; None writes the fixed
    "2000-01-01" "00:00:00", so identical inputs give byte-identical files.
    Samples: float -> ``bits``-bit PCM, rounded and clipped, no dither unless
    a ``dither`` Generator is passed. The file is built in memory and written
    atomically (:func:`revoice.engine.files.write_bytes_atomic`: a temporary
    file in the destination folder, fsynced and renamed over ``path``); on any
    error the temporary file is removed and an existing ``path`` is left as it was.
    """
    write_bytes_atomic(path, bwf_bytes(audio, sample_rate, **header))


def _riff_chunks(blob: bytes) -> dict[bytes, tuple[int, int]]:
    """Chunk id -> (offset of its data in ``blob``, data size) for a RIFF/WAVE file (first of each id)."""
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    chunks: dict[bytes, tuple[int, int]] = {}
    pos = 12
    while pos + 8 <= len(blob):
        chunk_id = blob[pos : pos + 4]
        (size,) = struct.unpack("<I", blob[pos + 4 : pos + 8])
        chunks.setdefault(chunk_id, (pos + 8, size))
        pos += 8 + size + (size % 2)
    return chunks


def read_bwf_time_reference(path: str | os.PathLike[str]) -> int:
    """bext TimeReference (samples since midnight) of a WAV file; ValueError without a bext chunk."""
    blob = Path(path).read_bytes()
    chunks = _riff_chunks(blob)
    if b"bext" not in chunks:
        raise ValueError(f"{path}: no bext chunk")
    start, size = chunks[b"bext"]
    if size < BEXT_TIME_REFERENCE_OFFSET + 8:
        raise ValueError(f"{path}: bext chunk too short ({size} bytes)")
    low, high = struct.unpack_from("<II", blob, start + BEXT_TIME_REFERENCE_OFFSET)
    return int(low) | (int(high) << 32)


def read_wav(path: str | os.PathLike[str]) -> tuple[npt.NDArray[np.float32], int]:
    """(samples, sample rate in Hz) via soundfile: float32, mono as (samples,), else (channels, samples)."""
    data, rate = soundfile.read(os.fspath(path), dtype="float32", always_2d=True)
    samples = np.asarray(data, dtype=np.float32)
    if samples.shape[1] == 1:
        return np.ascontiguousarray(samples[:, 0]), int(rate)
    return np.ascontiguousarray(samples.T), int(rate)
