"""Bounds a timeline or subtitle file is checked against before any parser sees it.

OTIO's JSON reader recurses in C++ once per nesting level: 100,000 nested
lists overflow the stack (a segfault, exit 139, no message) and parse time
grows with the square of the depth (a 40 KB file of nested lists took 51 s).
An ``.otioz`` is a zip: a 510 KB bomb inflated to 1.17 GB before the reader
failed. So the size, the JSON nesting depth and, for bundles, the unpacked
size and compression ratio (from the zip's central directory, before
anything is inflated) are checked first. Each limit is far above what an
editor's real files reach and far below what breaks a reader:

==================== =========== ===============================================================
limit                default     why
==================== =========== ===============================================================
``max_nesting``      256 levels  a timeline nests ~15 levels (Timeline > Stack > Track > Clip >
                                 reference > range > time, metadata a few more), 4 more per
                                 nested compound clip; the reader crashed at ~4,000 levels on a
                                 512 KiB thread stack (macOS worker threads), ~50,000 on 8 MiB
``max_timeline_bytes`` 256 MiB   a feature's OTIO is ~10-30 MB, a long Premiere FCP7 XML ~100 MB
``max_subtitle_bytes`` 16 MiB    a feature's SRT is ~100 KB; 20,000 cues are ~1.5 MB
``max_bundle_ratio`` 500 : 1     OTIO JSON deflates 5-20 : 1, 125 : 1 for 5,000 identical clips;
                                 deflate's own ceiling is ~1,030 : 1 (a bomb). Members under
                                 1 MiB are not held to it
``max_bundle_entries`` 100,000   a bundle holds one member per media file
==================== =========== ===============================================================

The unpacked size counted for an ``.otioz`` is what Revoice reads of it
(``content.otio`` and ``version.txt``): bundled media is never unpacked, and a
real bundle carries gigabytes of it.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from revoice.otio_bridge.errors import InputError

MIB = 1024 * 1024

BUNDLE_CONTENT = "content.otio"
"""The timeline inside an ``.otioz`` / ``.otiod`` bundle."""
_BUNDLE_READ = (BUNDLE_CONTENT, "version.txt")
"""The bundle members Revoice reads; media members are never unpacked."""
_RATIO_FLOOR_BYTES = 1 * MIB
"""Members smaller than this (unpacked) are not held to the compression-ratio limit."""
_SCAN_CHUNK = 1 * MIB
"""Bytes the nesting scanner looks at per step (bounds its working memory to ~30 MiB)."""


@dataclass(frozen=True)
class ReadLimits:
    """The bounds (see the module docstring); tests pass smaller ones."""

    max_nesting: int = 256
    """Deepest JSON nesting of ``[`` and ``{`` (levels)."""
    max_timeline_bytes: int = 256 * MIB
    """Largest timeline file, or bundled ``content.otio`` unpacked (bytes)."""
    max_subtitle_bytes: int = 16 * MIB
    """Largest subtitle file (bytes)."""
    max_bundle_ratio: float = 500.0
    """Largest unpacked : packed size of a bundle member of 1 MiB or more."""
    max_bundle_entries: int = 100_000
    """Most members in an ``.otioz``."""


DEFAULT_LIMITS = ReadLimits()


def read_bounded(path: Path, *, max_bytes: int, what: str) -> bytes:
    """``path``'s bytes; :class:`InputError` when it is bigger than ``max_bytes`` or cannot be read.

    The size is checked before reading, and again while reading (a file that grows).
    ``what`` names the kind of file in messages (``"timeline"``, ``"subtitle file"``).
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block the open
        with os.fdopen(descriptor, "rb") as handle:
            facts = os.fstat(handle.fileno())
            if not stat.S_ISREG(facts.st_mode):
                raise InputError(path, None, "not a plain file (a folder, device or pipe)", "Give the file's path")
            _check_size(path, facts.st_size, max_bytes, what)
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(path, None, "no such file", "Check the path and the file name") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read the file ({exc.strerror or exc})",
                         "Check that it exists and that you may read it") from None
    except ValueError:  # a NUL in the name
        raise InputError(path, None, "no such file (the name holds a NUL character)",
                         "Check the path and the file name") from None
    _check_size(path, len(data), max_bytes, what)
    return data


def _check_size(path: Path, size: int, max_bytes: int, what: str) -> None:
    if size > max_bytes:
        raise InputError(path, None, f"the {what} is {_mib(size)}, more than the {_mib(max_bytes)} Revoice reads",
                         "Check that this is the right file; a real one is far smaller")


def _mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB" if size >= MIB else f"{size} bytes"


def check_json_nesting(path: Path, data: bytes, *, max_nesting: int) -> None:
    """:class:`InputError` naming the line when JSON ``data`` nests ``[``/``{`` deeper than ``max_nesting``.

    Brackets inside strings do not count (quotes escaped by an odd run of
    backslashes do not end a string). Linear in ``len(data)``, in numpy steps
    of 1 MiB: about 1 s per 100 MiB. Malformed JSON is left to
    the parser (it stops at the first error, before any deeper level).
    """
    table = np.zeros(256, dtype=np.int8)
    table[[ord("["), ord("{")]] = 1
    table[[ord("]"), ord("}")]] = -1
    whole = np.frombuffer(data, dtype=np.uint8)
    depth = 0
    in_string = False
    backslashes = 0  # the run of backslashes that ended the previous chunk
    for offset in range(0, len(whole), _SCAN_CHUNK):
        chunk = whole[offset : offset + _SCAN_CHUNK]
        plain = np.flatnonzero(chunk != ord("\\"))  # positions of every byte but a backslash
        quotes = np.flatnonzero(chunk == ord('"'))
        before = np.searchsorted(plain, quotes) - 1  # the last non-backslash before each quote
        run = np.where(before >= 0, quotes - plain[np.maximum(before, 0)] - 1, quotes + backslashes)
        real_quotes = quotes[run % 2 == 0]
        brackets = np.flatnonzero(table[chunk])
        inside = (np.searchsorted(real_quotes, brackets) + int(in_string)) % 2 == 1
        outside = brackets[~inside]
        if outside.size:
            levels = depth + np.cumsum(table[chunk[outside]], dtype=np.int64)
            too_deep = np.flatnonzero(levels > max_nesting)
            if too_deep.size:
                at = offset + int(outside[too_deep[0]])
                line = data.count(b"\n", 0, at) + 1
                raise InputError(path, line, f"the timeline nests deeper than {max_nesting} levels",
                                 "A real timeline nests a few dozen at most; export it again")
            depth = int(levels[-1])
        in_string = (int(in_string) + real_quotes.size) % 2 == 1
        backslashes = (chunk.size if plain.size == 0 else chunk.size - 1 - int(plain[-1])) + (
            backslashes if plain.size == 0 else 0)


def read_bundle_content(path: Path, *, limits: ReadLimits = DEFAULT_LIMITS) -> bytes:
    """The ``content.otio`` bytes of the ``.otioz`` zip at ``path``, checked before anything is inflated.

    From the zip's central directory: at most ``max_bundle_entries`` members;
    the members Revoice reads (``content.otio``, ``version.txt``) together at
    most ``max_timeline_bytes`` unpacked; no member of 1 MiB or more packed
    tighter than ``max_bundle_ratio``. The zip module stops inflating at the
    declared size, so a member that lies about its size cannot grow past it.
    Any problem raises :class:`InputError` naming the file.
    """
    try:
        with zipfile.ZipFile(path) as bundle:
            members = bundle.infolist()
            if len(members) > limits.max_bundle_entries:
                raise InputError(path, None, f"the bundle holds {len(members)} files, more than the "
                                 f"{limits.max_bundle_entries} Revoice opens", "Check that this is a real .otioz")
            unpacked = sum(m.file_size for m in members if m.filename in _BUNDLE_READ)
            if unpacked > limits.max_timeline_bytes:
                raise InputError(path, None, f"the bundle's timeline unpacks to {_mib(unpacked)}, more than "
                                 f"the {_mib(limits.max_timeline_bytes)} Revoice reads",
                                 "Check that this is a real .otioz (a zip bomb is refused)")
            for member in members:
                packed = max(member.compress_size, 1)
                if member.file_size >= _RATIO_FLOOR_BYTES and member.file_size / packed > limits.max_bundle_ratio:
                    raise InputError(path, None, f"'{_printable(member.filename)}' in the bundle is packed "
                                     f"{member.file_size / packed:.0f} : 1, more than the "
                                     f"{limits.max_bundle_ratio:.0f} : 1 of a real timeline",
                                     "Check that this is a real .otioz (a zip bomb is refused)")
            if BUNDLE_CONTENT not in {m.filename for m in members}:
                raise InputError(path, None, f"the bundle has no {BUNDLE_CONTENT}",
                                 "Export the .otioz again from an OTIO-aware tool")
            return bundle.read(BUNDLE_CONTENT)
    except InputError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError) as exc:
        raise InputError(path, None, f"not a readable .otioz bundle ({_printable(str(exc))})",
                         "Export the .otioz again, or export an .otio") from None
    except RuntimeError as exc:  # an encrypted member
        raise InputError(path, None, f"cannot unpack the bundle ({_printable(str(exc))})",
                         "Export the .otioz again without a password") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read the file ({exc.strerror or exc})",
                         "Check that it exists and that you may read it") from None


def _printable(text: str, limit: int = 120) -> str:
    """``text`` on one line, control characters shown as ``?``, cut to ``limit`` characters."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
