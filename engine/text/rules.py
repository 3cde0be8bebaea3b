"""What the normalization rules of every language share (:mod:`revoice.engine.text.normalize`).

A rule takes a stretch of text and the ``abbreviations`` mode and returns the
stretch as it should be spoken. Many rules are plain lists of regular
expressions and replacements, applied in order by :func:`substitute`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

Abbreviations = Literal["spell", "expand", "keep"]
"""How acronyms are read: ``"spell"`` F B I, ``"expand"`` Federal Bureau of Investigation, ``"keep"`` as written."""

Rule = Callable[[str, Abbreviations], str]
"""One normalization rule: (text, abbreviations mode) -> text."""

Replacement = str | Callable[[re.Match[str]], str]
Substitution = tuple[str | re.Pattern[str], Replacement]
"""A pattern (a string, or compiled when it needs flags) and what ``re.sub`` puts in place of each match."""

NUMBER = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
"""A whole number, with or without thousands separators (``1,000`` / ``1000``)."""
DECIMAL = rf"(?:{NUMBER})(?:\.\d+)?"
"""A whole number or a decimal (``3.5``, ``1,000.25``)."""


def substitute(text: str, substitutions: Sequence[Substitution]) -> str:
    """``text`` after each ``re.sub(pattern, replacement, ...)`` of ``substitutions`` in turn."""
    for pattern, replacement in substitutions:
        text = re.sub(pattern, replacement, text)
    return text
