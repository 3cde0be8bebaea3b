"""A job file's text as plain data plus the line number of every field and entry (for one-line errors).

YAML (PyYAML's safe loader: plain data only, no Python objects) is composed
into nodes, which carry their position; JSON is checked by :mod:`json` and then
walked once to find where each field starts. Either way a :class:`Document`
holds the data and a map from a field's location (``("lines", 2, "emotion")``)
to its line, and :meth:`Document.error` makes the
:class:`~revoice.otio_bridge.errors.InputError` that names file, line and field.
Duplicate fields are errors (both loaders would otherwise keep the last silently).
"""

from __future__ import annotations

import bisect
import importlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.limits import read_bounded

Location = tuple[str | int, ...]
"""Where a value is in the document: field names and list indices from the top (``()`` is the top)."""

MAX_JOB_BYTES = 8 * 1024 * 1024
"""Largest job file read (bytes); a reel's job is a few kilobytes."""
MAX_VALUES = 200_000
"""Most values (scalars, lists, objects) read from one job; YAML aliases cannot blow it up beyond this."""


@dataclass(frozen=True)
class Document:
    """A job file's data and the line (1-based) each location starts on."""

    path: Path
    data: Any
    lines: Mapping[Location, int]

    def line_of(self, loc: Location) -> int | None:
        """The line of ``loc``, or of the nearest enclosing location the file has (a missing field's parent)."""
        while loc not in self.lines and loc:
            loc = loc[:-1]
        return self.lines.get(loc)

    def error(self, loc: Location, message: str, hint: str = "") -> InputError:
        """``FILE:LINE: FIELD: message. hint`` (FIELD like ``lines[2].emotion.intensity``)."""
        name = field_name(loc)
        return InputError(self.path, self.line_of(loc), f"{name}: {message}" if name else message, hint)

    # -- typed reads: each raises :meth:`error` at ``loc`` for a value of the wrong kind

    def mapping(self, loc: Location, value: Any, allowed: Sequence[str], what: str, hint: str = "") -> dict[str, Any]:
        """``value`` as an object holding only ``allowed`` fields (``what`` names the object in messages)."""
        if not isinstance(value, dict):
            raise self.error(loc, f"{kind(value)} where {what} belongs", hint)
        for name in value:
            if name not in allowed:
                raise self.error((*loc, name), f"unknown field; the fields here are {', '.join(allowed)}")
        return value

    def text(self, loc: Location, value: Any) -> str:
        """``value`` as non-empty text."""
        if not isinstance(value, str):
            raise self.error(loc, f"{kind(value)} where text belongs", "Put the text in quotes")
        if not value.strip():
            raise self.error(loc, "empty; leave the field out instead")
        return value

    def number(self, loc: Location, value: Any, low: float, high: float) -> float:
        """``value`` as a number from ``low`` to ``high``."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(loc, f"{kind(value)} where a number from {low:g} to {high:g} belongs")
        if not low <= value <= high:  # NaN fails too
            raise self.error(loc, f"{value:g} must be from {low:g} to {high:g}")
        return float(value)

    def file_path(self, loc: Location, value: Any, *, must_exist: bool) -> Path:
        """``value`` as a path; a relative one starts from this file's folder. A file that must exist is checked."""
        path = Path(os.path.normpath(self.path.absolute().parent / Path(self.text(loc, value)).expanduser()))
        if must_exist and not path.is_file():
            raise self.error(loc, f"{value}: {'not a file' if path.exists() else 'no such file'} ({path})",
                             "Paths are relative to the job file's folder")
        return path


def kind(value: Any) -> str:
    """What ``value`` is, in words for messages: ``a list``, ``the number 3``, ``true (yes/no)``..."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (yes/no)"
    if isinstance(value, (int, float)):
        return f"the number {value:g}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else f"a {type(value).__name__}"


def field_name(loc: Location) -> str:
    """``("lines", 2, "emotion")`` -> ``lines[2].emotion`` (list indices count from 0)."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def load_document(path: Path, *, suffixes: Sequence[str]) -> Document:
    """Read ``path`` as YAML or JSON by its suffix; InputError with the line for bad syntax or a repeated field."""
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise InputError(path, None, f"a job file ends in {', '.join(suffixes)}", "Rename it, or give the right file")
    raw = read_bounded(path, max_bytes=MAX_JOB_BYTES, what="job file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(path, line, "not UTF-8 text", "Save the job file as UTF-8") from None
    try:
        return _load_json(path, text) if suffix == ".json" else _load_yaml(path, text)
    except RecursionError:
        raise InputError(path, None, "the job nests too deeply", "A job is a few levels deep; check the file") from None


def _load_yaml(path: Path, text: str) -> Document:
    yaml = importlib.import_module("yaml")
    loader = yaml.SafeLoader(text)
    lines: dict[Location, int] = {}
    budget = [MAX_VALUES]

    def value(node: Any, loc: Location) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise InputError(path, node.start_mark.line + 1, f"more than {MAX_VALUES} values (repeated aliases?)",
                             "A job is a few kilobytes; check the file")
        lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                where = key_node.start_mark.line + 1
                if not isinstance(key, str):
                    raise InputError(path, where, f"{field_name(loc) or 'the job'}: field names are words, "
                                     f"not {key_node.tag.rsplit(':', 1)[-1]}")
                if key in out:
                    raise InputError(path, where, f"{field_name((*loc, key))}: given twice (first on line "
                                     f"{lines[(*loc, key)]})", "Keep one")
                lines[(*loc, key)] = where
                out[key] = value(value_node, (*loc, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [value(item, (*loc, index)) for index, item in enumerate(node.value)]
        return loader.construct_object(node)

    try:
        node = loader.get_single_node()
        return Document(path=path, data=value(node, ()) if node is not None else None, lines=lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(f"{exc.context or ''} {exc.problem or ''}".split()) or "bad syntax"
        column = f", column {mark.column + 1}" if mark is not None else ""
        raise InputError(path, mark.line + 1 if mark is not None else None, f"not valid YAML: {problem}{column}",
                         "Check the indentation and quote text holding ': ' or '#'") from None
    except yaml.YAMLError as exc:
        raise InputError(path, None, f"not valid YAML: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()


def _load_json(path: Path, text: str) -> Document:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"not valid JSON: {exc.msg}, column {exc.colno}",
                         "Check the commas, quotes and brackets") from None
    starts = [index for index, char in enumerate(text) if char == "\n"]
    decoder = json.JSONDecoder()
    lines: dict[Location, int] = {}

    def line_at(index: int) -> int:
        return bisect.bisect_left(starts, index) + 1

    def skip(index: int) -> int:
        while text[index] in " \t\r\n":
            index += 1
        return index

    def value(index: int, loc: Location) -> tuple[Any, int]:
        """The value starting at (or after blanks from) ``index``, and the index after it."""
        index = skip(index)
        lines.setdefault(loc, line_at(index))
        if text[index] == "{":
            out: dict[str, Any] = {}
            index = skip(index + 1)
            while text[index] != "}":
                key, after = decoder.raw_decode(text, skip(index))
                where = line_at(skip(index))
                if key in out:
                    raise InputError(path, where, f"{field_name((*loc, key))}: given twice (first on line "
                                     f"{lines[(*loc, key)]})", "Keep one")
                lines[(*loc, key)] = where
                out[key], index = value(skip(after) + 1, (*loc, key))  # past the ':'
                index = skip(index)
                index = index + 1 if text[index] == "," else index
                index = skip(index)
            return out, index + 1
        if text[index] == "[":
            items: list[Any] = []
            index = skip(index + 1)
            while text[index] != "]":
                item, index = value(index, (*loc, len(items)))
                items.append(item)
                index = skip(index)
                index = skip(index + 1) if text[index] == "," else index
            return items, index + 1
        scalar, end = decoder.raw_decode(text, index)
        return scalar, end

    start = skip(0) if text.strip() else 0
    data = value(start, ())[0] if text.strip() else None
    return Document(path=path, data=data, lines=lines)
