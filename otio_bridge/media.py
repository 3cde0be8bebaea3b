"""Media URLs <-> local paths, via ``otio.url_utils`` where it gets them right."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path, PurePosixPath, PureWindowsPath

from opentimelineio import url_utils


def media_path_from_url(url: str, base_dir: str | Path | None = None) -> Path | None:
    """The existing local file a media URL points at, or None.

    Handles ``file://`` URLs (``file://localhost/D%3a/x.mov`` included), bare
    absolute paths (``/Volumes/x.wav``, ``D:\\x.wav``) and relative paths,
    which are resolved against ``base_dir`` (the timeline file's folder).
    Other schemes (``http:``) give None.
    """
    text = _local_path_text(url)
    if text is None:
        return None
    if _is_windows_absolute(text) and os.name != "nt":
        return None
    if "\x00" in text:  # "file:///a%00b": no file has such a name
        return None
    path = Path(text)
    if not path.is_absolute() and not _is_windows_absolute(text):
        if base_dir is None:
            return None
        path = Path(base_dir) / path
    try:
        return path if path.is_file() else None
    except (OSError, ValueError):  # a name too long, or not encodable here
        return None


def _local_path_text(url: str) -> str | None:
    """The path part of a file URL or bare path, without resolving it; None for other schemes."""
    url = url.strip()
    if not url or "\x00" in url:
        return None
    if _is_windows_absolute(url):  # "D:/x.wav" parses as scheme "d"; url_utils drops the drive
        return url
    try:
        scheme = urllib.parse.urlparse(url).scheme.lower()
    except ValueError:  # "http://[": an unclosed IPv6 host
        return None
    if scheme == "file":
        try:
            return str(url_utils.filepath_from_url(url))
        except (ValueError, IndexError):  # "file:" with no path
            return None
    if scheme == "":
        return url
    return None


def _is_windows_absolute(text: str) -> bool:
    """``D:\\x`` / ``D:/x`` or a UNC path ``\\\\server\\share``."""
    win = PureWindowsPath(text)
    return bool(win.drive) and (win.is_absolute() or text.startswith("\\\\"))


def url_for_path(path: str | Path, relative_to: str | Path | None = None) -> str:
    """A media URL for ``path``: an absolute ``file://`` URL, or a relative POSIX path
    when ``relative_to`` (a folder) is given.
    """
    absolute = Path(path).absolute()
    if relative_to is not None:
        rel = os.path.relpath(absolute, Path(relative_to).absolute())
        return PurePosixPath(*Path(rel).parts).as_posix()
    return str(url_utils.url_from_filepath(str(absolute)))
