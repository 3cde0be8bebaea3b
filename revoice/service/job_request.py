"""A job request as the service receives it, turned into :class:`~revoice.options.JobOptions` by the CLI's parser.

The request's ``options`` are the CLI's long options with ``-`` as ``_``
(``{"subs_offset": "zero", "takes": 2, "qc": true, "also": ["xml"]}``). They
become ``revoice run`` arguments and go through the CLI's own argument parser
and :meth:`JobOptions.from_args`, so every option, default and one-line
error message is the CLI's. Three are the service's own: ``line_ids`` (the
lines to render), ``texts`` (edited text by line id) and ``speaker_voices``
(a mapping, the JSON spelling of repeated ``--speaker-voice SPEAKER=VOICE``).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revoice.options import JobOptions

BODY_OPTIONS = frozenset({"timeline", "out", "subs", "subtitles"})
"""Given as the request's own fields, not as options."""
IGNORED_OPTIONS = frozenset({"json", "quiet"})
"""CLI options about printing; the service has no terminal, so they are accepted and do nothing."""


class RequestError(Exception):
    """A request the service refuses: ``status`` (400 bad option, 404 missing file, 409, 422) and the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class JobRequest:
    """``POST /jobs``'s body: absolute paths and the options as sent (kept for re-renders)."""

    timeline: Path
    out: Path
    subtitles: Path | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    line_ids: frozenset[str] | None = None
    texts: Mapping[str, str] = field(default_factory=dict)
    take_picks: Mapping[str, int] = field(default_factory=dict)
    """Take per line id carried over from an earlier job's take choices (not part of the JSON body)."""

    @classmethod
    def from_json(cls, body: Any) -> JobRequest:
        """The request in a decoded JSON body; RequestError 422 when it is malformed, 400 for relative paths."""
        if not isinstance(body, dict):
            raise RequestError(422, "the request body must be a JSON object with timeline, out and options")
        timeline = _path(body, "timeline", required=True)
        out = _path(body, "out", required=True)
        subtitles = _path(body, "subtitles", required=False)
        options = body.get("options") or {}
        if not isinstance(options, dict):
            raise RequestError(422, "options: must be a JSON object of the CLI's options")
        assert timeline is not None and out is not None
        return cls(timeline=timeline, out=out, subtitles=subtitles, options=dict(options),
                   line_ids=line_ids_of(options.get("line_ids")), texts=texts_of(options.get("texts")))

    def job_options(self) -> JobOptions:
        """The job's options through the CLI's parser; RequestError 400 with the CLI's message."""
        parser = run_parser()
        argv = [f"--out={self.out}", *([f"--subs={self.subtitles}"] if self.subtitles else []),
                *option_arguments(self.options, parser), "--", str(self.timeline)]
        try:
            args = parser.parse_args(argv)
            options = JobOptions.from_args(args)
            return dataclasses.replace(options, line_ids=self.line_ids, text_overrides=dict(self.texts),
                                       take_overrides=dict(self.take_picks))
        except ValueError as exc:
            raise RequestError(400, str(exc)) from None

    def again(self, line_ids: Sequence[str], *, texts: Mapping[str, str], options: Mapping[str, Any],
              take_picks: Mapping[str, int]) -> JobRequest:
        """The same timeline and output with ``line_ids`` added to the selection and ``texts``, ``options`` merged."""
        selection = None if self.line_ids is None else self.line_ids | frozenset(line_ids)
        merged = {**self.options, **options}
        return dataclasses.replace(self, options=merged, line_ids=selection, texts={**self.texts, **texts},
                                   take_picks=dict(take_picks))


class _RaisingParser(argparse.ArgumentParser):
    """The CLI's parser, raising ValueError with argparse's one-line message instead of exiting."""

    def error(self, message: str) -> Any:
        raise ValueError(message)

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        raise ValueError((message or "bad arguments").strip())


def run_parser() -> argparse.ArgumentParser:
    """``revoice run``'s arguments, from the CLI's own definition."""
    from revoice.cli import _add_run_options

    parser = _RaisingParser(prog="revoice run", add_help=False)
    parser.add_argument("timeline", type=Path)
    _add_run_options(parser, out_required=True)
    return parser


def option_arguments(options: Mapping[str, Any], parser: argparse.ArgumentParser) -> list[str]:
    """``options`` as ``revoice run`` arguments (``--name=value``); None leaves the CLI's default.

    RequestError 400 for an option given where the CLI has no such flag, or of the
    wrong JSON type; the parser itself then checks the values.
    """
    known = parser._option_string_actions
    argv: list[str] = []
    for name, value in options.items():
        if name in ("line_ids", "texts") or name in IGNORED_OPTIONS or value is None:
            continue
        if name in BODY_OPTIONS:
            raise RequestError(400, f"options.{name}: give it as the request's own \"{name}\" field")
        if name == "speaker_voices":
            name, value = "speaker_voice", _speaker_voices(value)
        flag = "--" + name.replace("_", "-")
        action = known.get(flag)
        if action is None:
            raise RequestError(400, f"unrecognized arguments: {flag}")
        if isinstance(action, argparse.BooleanOptionalAction) or (action.nargs == 0 and action.const is True):
            if not isinstance(value, bool):
                raise RequestError(400, f"argument {flag}: give true or false")
            if value:
                argv.append(flag)
            elif isinstance(action, argparse.BooleanOptionalAction):
                argv.append("--no-" + flag[2:])
        elif isinstance(action, argparse._AppendAction):
            values = value if isinstance(value, list) else [value]
            argv.extend(f"{flag}={_scalar(flag, item)}" for item in values)
        else:
            argv.append(f"{flag}={_scalar(flag, value)}")
    return argv


def line_ids_of(value: Any) -> frozenset[str] | None:
    """``options.line_ids``: None (every line) or a list of line ids."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RequestError(422, "line_ids: give a list of line ids, e.g. [\"L0001\"]")
    return frozenset(value)


def texts_of(value: Any) -> dict[str, str]:
    """``texts``: edited text by line id."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(text, str) for text in value.values()):
        raise RequestError(422, "texts: give an object of line id -> new text")
    return {str(key): text for key, text in value.items()}


def _speaker_voices(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{speaker}={voice}" for speaker, voice in value.items()]
    if isinstance(value, list):
        return [str(item) for item in value]
    raise RequestError(400, "argument --speaker-voice: give an object of SPEAKER -> VOICE")


def _scalar(flag: str, value: Any) -> str:
    if isinstance(value, (dict, list)) or isinstance(value, bool):
        raise RequestError(400, f"argument {flag}: expected one value, got {value!r}")
    return str(value)


def _path(body: Mapping[str, Any], name: str, *, required: bool) -> Path | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise RequestError(422, f"{name}: give the file's absolute path as a string")
    path = Path(value)
    if not path.is_absolute():
        raise RequestError(400, f"{value}: give an absolute path (the service does not share your working folder)")
    return path
