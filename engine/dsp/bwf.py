"""Broadcast WAV (EBU Tech 3285) writing, and reading back for tests and tools.

File layout written by :func:`write_bwf` (all little-endian)::

    "RIFF" <size> "WAVE"
    "bext" <602 + len(coding history), even-padded>   EBU Tech 3285 v1
    "fmt " <16>   PCM (format 1), mono, 16- or 24-bit
    "iXML" <UTF-8 XML, even-padded>   only with a ``provenance`` (:class:`Provenance`)
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
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Required, TypedDict, Unpack

import numpy as np
import numpy.typing as npt
import soundfile
from revoice.engine.dsp._util import FloatArray, check_rate, mono_f64
from revoice.engine.files import write_bytes_atomic

BEXT_TIME_REFERENCE_OFFSET = 338
"""Byte offset of TimeReferenceLow inside the bext chunk data."""

_BEXT_FIXED_SIZE = 602
IXML_MAX_BYTES = 1 << 20
"""The largest iXML chunk :func:`read_provenance` parses (bytes); larger ones are ignored."""
IXML_VERSION = "2.10"
PROVENANCE_TAG = "REVOICE"
"""The element of the iXML chunk that holds :class:`Provenance` (one child per field, upper case)."""


@dataclass(frozen=True, kw_only=True)
class Provenance:
    """Who made a generated WAV, and how: written as the iXML chunk and the bext coding history.

    All text; ``None`` (or "") fields are left out of the file. Readers ignore
    elements they do not know, so adding a field needs no format change.
    """

    tool: str = "Revoice"
    version: str = ""
    """The tool's version (the ``revoice`` package's)."""
    ai_generated: bool = True
    """Synthetic speech: always true for Revoice's renders."""
    backend: str = ""
    """The voice backend (``piper``, ``kokoro``, ``profile``...)."""
    voice: str = ""
    """The voice id the backend spoke with."""
    voice_profile: str | None = None
    """The character's voice profile that spoke the line (None: a stock voice)."""
    voice_kind: str | None = None
    """``stock``, ``tint`` (a stock voice moved toward the actor) or ``clone``."""
    voice_profile_key: str | None = None
    """The profile's content key: names the exact profile file (and its consent record) used."""
    base_voice: str | None = None
    """``backend/voice`` under a profile's tint."""
    consent: str | None = None
    """The actor's consent recorded in the profile: ``granted``, ``unknown`` or ``denied``."""
    consent_by: str | None = None
    consent_date: str | None = None
    consent_scope: str | None = None
    line_id: str | None = None
    render_key: str | None = None
    """The render's content key (also bext OriginatorReference, first 32 characters)."""
    watermark: str | None = None
    """The inaudible mark's scheme and version (``revoice-ss/1``); None: not marked."""

    def summary(self) -> str:
        """One ASCII line for the bext coding history's ``T=`` field (no commas: they separate fields)."""
        parts = [f"{self.tool} {self.version}".strip(), f"voice {self.backend}/{self.voice}"]
        if self.voice_profile:
            kind, consent = self.voice_kind or "tint", self.consent or "unknown"
            parts.append(f"profile {self.voice_profile} ({kind}, consent {consent})")
        parts.append(f"watermark {self.watermark}" if self.watermark else "no watermark")
        return "; ".join(parts).replace(",", " ")

    def to_ixml(self) -> bytes:
        """The iXML document (iXML 2.10 ``BWFXML`` with a ``NOTE`` and a :data:`PROVENANCE_TAG` element), UTF-8."""
        root = ElementTree.Element("BWFXML")
        ElementTree.SubElement(root, "IXML_VERSION").text = IXML_VERSION
        ElementTree.SubElement(root, "NOTE").text = f"AI-generated speech: {self.summary()}"
        record = ElementTree.SubElement(root, PROVENANCE_TAG)
        for name, value in self.items():
            ElementTree.SubElement(record, name.upper()).text = value
        body = ElementTree.tostring(root, encoding="unicode", short_empty_elements=True)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")

    def items(self) -> list[tuple[str, str]]:
        """(field name, text) for every set field, in field order (booleans as ``true``/``false``)."""
        out: list[tuple[str, str]] = []
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is None or value == "":
                continue
            out.append((spec.name, ("true" if value else "false") if isinstance(value, bool) else str(value)))
        return out

    @classmethod
    def from_ixml(cls, document: bytes) -> Provenance | None:
        """The provenance in an iXML document, or None (no :data:`PROVENANCE_TAG`, unsafe or broken XML).

        Documents with a DTD or entities are refused before parsing (no entity expansion).
        """
        if len(document) > IXML_MAX_BYTES or b"<!DOCTYPE" in document.upper() or b"<!ENTITY" in document.upper():
            return None
        try:
            root = ElementTree.fromstring(document.rstrip(b"\0"))
        except (ElementTree.ParseError, ValueError, LookupError):  # broken XML, an unknown encoding
            return None
        record = root.find(PROVENANCE_TAG)
        if record is None:
            return None
        known = {spec.name for spec in fields(cls)}
        texts: dict[str, Any] = {child.tag.lower(): (child.text or "").strip()
                                 for child in record if child.tag.lower() in known}
        ai_generated = str(texts.pop("ai_generated", "true")).lower() == "true"
        return replace(cls(ai_generated=ai_generated), **texts)


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
    provenance: Provenance | None
    """Written as an iXML chunk and into the bext coding history (None: neither)."""


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
    provenance: Provenance | None = None,
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
    made_by = originator if provenance is None else provenance.summary()
    history = f"A=PCM,F={sr},W={bits},M=mono,T={made_by}\r\n"
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
            _chunk(b"iXML", provenance.to_ixml()) if provenance is not None else b"",
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
    a ``dither`` Generator is passed. A ``provenance`` (:class:`Provenance`)
    adds an iXML chunk and names the tool, voice and watermark in the bext
    coding history. The file is built in memory and written
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


def read_chunk(path: str | os.PathLike[str], chunk_id: bytes, *, max_bytes: int) -> bytes | None:
    """The data of the first ``chunk_id`` chunk of a RIFF/WAVE file, or None (absent or over ``max_bytes``).

    Walks the chunk headers with seeks, so a long ``data`` chunk is never read;
    ValueError when the file is not RIFF/WAVE.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"{path}: not a RIFF/WAVE file")
        end = handle.seek(0, os.SEEK_END)
        pos = 12
        while pos + 8 <= end:
            handle.seek(pos)
            header = handle.read(8)
            size = struct.unpack("<I", header[4:8])[0]
            if header[:4] == chunk_id:
                return handle.read(size) if size <= max_bytes else None
            pos += 8 + size + (size % 2)
    return None


@dataclass(frozen=True)
class BextText:
    """The text fields of a bext chunk (ASCII, NULs removed)."""

    description: str
    originator: str
    originator_reference: str
    coding_history: str


def read_bext_text(path: str | os.PathLike[str]) -> BextText | None:
    """The bext chunk's text fields, or None without a (complete) bext chunk; ValueError when not RIFF/WAVE."""
    data = read_chunk(path, b"bext", max_bytes=IXML_MAX_BYTES)
    if data is None or len(data) < _BEXT_FIXED_SIZE:
        return None

    def text(raw: bytes) -> str:
        return raw.split(b"\0", 1)[0].decode("ascii", errors="replace").strip()

    return BextText(text(data[0:256]), text(data[256:288]), text(data[288:320]),
                    data[_BEXT_FIXED_SIZE:].rstrip(b"\0").decode("ascii", errors="replace").strip())


def read_provenance(path: str | os.PathLike[str]) -> Provenance | None:
    """The :class:`Provenance` in a WAV's iXML chunk, or None; ValueError when the file is not RIFF/WAVE."""
    document = read_chunk(path, b"iXML", max_bytes=IXML_MAX_BYTES)
    return Provenance.from_ixml(document) if document is not None else None


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
