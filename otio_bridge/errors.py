"""The one error type the bridge raises for bad input files and options."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """A problem with a file or option the user gave, explained in one line.

    ``str(err)`` reads ``<file>:<line>: <what is wrong>. <what to do>``; the
    ``:<line>`` part is left out when the line is unknown.
    """

    def __init__(
        self,
        path: str | Path | None,
        line: int | None,
        message: str,
        hint: str = "",
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __reduce__(self) -> tuple[type[InputError], tuple[Path | None, int | None, str, str]]:
        return (type(self), (self.path, self.line, self.message, self.hint))

    def __str__(self) -> str:
        where = str(self.path) if self.path is not None else "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        text = f"{where}: {_sentence(self.message)}"
        if self.hint:
            text = f"{text} {_sentence(self.hint)}"
        return " ".join(text.split())


def _sentence(text: str) -> str:
    """``text`` stripped and ending in a full stop (or ``?``/``!``)."""
    text = text.strip()
    if text and text[-1] not in ".!?":
        text += "."
    return text
