"""Text normalization for the voices: digits, symbols and abbreviations to words.

:func:`normalize` turns a dialogue line into what should be spoken, in English
or Mandarin, and records every rule that changed it (``steps``) so the editor
can see the pipeline. A Mandarin line may hold English (``我用iPhone 15拍的``,
``他说 I have 3 cats``) and an English line may hold Chinese: each stretch is
normalized by the rules of its own language.

Covered: cardinals (thousands separators, negatives), ordinals, decimals,
fractions (zh), ranges, years and decades, dates, times, money, percentages,
units, phone numbers (digit by digit; Chinese reads 1 as 幺), room and hotline
numbers (zh), symbols, title abbreviations (en) and acronyms
(``abbreviations="spell"`` F B I, ``"expand"`` Federal Bureau of Investigation /
联邦调查局, ``"keep"`` as written). Entries of the editor's
:class:`~revoice.engine.text.dictionary.PronunciationDictionary` are applied first
and are protected from every other rule.

This module is the pipeline; the rules themselves are in
:mod:`revoice.engine.text.normalize_en` and :mod:`revoice.engine.text.normalize_zh`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from revoice.engine.language import base_language
from revoice.engine.text.dictionary import HAN, PronunciationDictionary
from revoice.engine.text.normalize_en import EN_RULES
from revoice.engine.text.normalize_zh import ZH_RULES
from revoice.engine.text.rules import Abbreviations

Language = Literal["en", "zh"]


class Step(NamedTuple):
    """One rule that changed the text: its name and the whole line before and after it."""

    rule: str
    before: str
    after: str


@dataclass(frozen=True)
class NormalizedText:
    """A line as written (``original``), as it will be spoken (``normalized``), and how it got there."""

    original: str
    normalized: str
    language: str
    steps: tuple[Step, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "original": self.original,
            "normalized": self.normalized,
            "language": self.language,
            "steps": [{"rule": s.rule, "before": s.before, "after": s.after} for s in self.steps],
        }


def text_language(language: str) -> Language:
    """The language whose rules read a line: ``"zh-CN"``, ``"cmn"`` -> ``"zh"``; ``"en-US"`` -> ``"en"``.

    ValueError for any other language (the front end speaks these two).
    """
    base = base_language(language)
    if base in ("zh", "cmn", "zho", "chi"):
        return "zh"
    if base in ("en", "eng"):
        return "en"
    raise ValueError(f"text normalization speaks English (en) and Mandarin (zh), not {language!r}")


_HAN_CHAR = f"[{HAN}]"
_MASK_BASE = 0xF0000
"""Dictionary matches are hidden behind Supplementary Private Use Area characters while rules run."""

_FULL_WIDTH: dict[int, int | str] = {**{0xFF10 + i: 0x30 + i for i in range(10)},
               **{0xFF21 + i: 0x41 + i for i in range(26)},
               **{0xFF41 + i: 0x61 + i for i in range(26)},
               ord("％"): "%", ord("＄"): "$", ord("＋"): "+", ord("＝"): "=", ord("＠"): "@",
               ord("＆"): "&", ord("＃"): "#", ord("　"): " "}


def _fold_width(text: str) -> str:
    text = text.translate(_FULL_WIDTH)
    return re.sub(r"(?<=\d)([：．／－])(?=\d)", lambda m: {"：": ":", "．": ".", "／": "/", "－": "-"}[m.group(1)], text)


_EN_TOKEN = r"(?:[A-Za-z][A-Za-z'’]*|[$£€]?\d[\d,.:]*(?:%|st|nd|rd|th|s)?)"
_EN_CLAUSE = re.compile(rf"{_EN_TOKEN}(?:(?:,?[ \t]+){_EN_TOKEN})+")
_HAN_SPAN = re.compile(
    rf"(?:[¥￥]?[\d.,:%]*\d)?{_HAN_CHAR}(?:[{HAN}，。！？、；：“”‘’（）《》\d.%:\s]*{_HAN_CHAR})?(?:\d[\d.,:%]*)?")


def _is_english_clause(span: str) -> bool:
    words = re.findall(r"[A-Za-z][A-Za-z'’]*", span)
    return len(words) >= 2 and any(any(c.islower() for c in w) and len(w) >= 2 for w in words)


def language_spans(text: str, language: Language) -> list[tuple[Language, str]]:
    """``text`` cut into (language, piece) runs: English clauses in Mandarin lines, Chinese in English lines."""
    spans: list[tuple[Language, str]] = []
    position = 0
    if language == "zh":
        found = [(m.start(), m.end()) for m in _EN_CLAUSE.finditer(text) if _is_english_clause(m.group(0))]
        other: Language = "en"
    else:
        found = [(m.start(), m.end()) for m in _HAN_SPAN.finditer(text)]
        other = "zh"
    for start, end in found:
        if start > position:
            spans.append((language, text[position:start]))
        spans.append((other, text[start:end]))
        position = end
    if position < len(text):
        spans.append((language, text[position:]))
    return spans


def _mask(text: str, dictionary: PronunciationDictionary | None) -> tuple[str, list[str], bool]:
    """Hide dictionary matches behind private-use characters; returns (text, restorations, any 'say')."""
    if dictionary is None or not len(dictionary):
        return text, [], False
    restore: list[str] = []
    out: list[str] = []
    position = 0
    said = False
    for match in dictionary.find(text):
        out.append(text[position:match.start])
        entry = match.entry
        if entry.say is not None:
            restore.append(entry.say)
            said = True
        else:
            restore.append(text[match.start:match.end])
        out.append(chr(_MASK_BASE + len(restore) - 1))
        position = match.end
    out.append(text[position:])
    return "".join(out), restore, said


def _unmask(text: str, restore: Sequence[str]) -> str:
    if not restore:
        return text
    return re.sub(r"[\U000F0000-\U000FFFFD]", lambda m: restore[ord(m.group(0)) - _MASK_BASE], text)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([,.!?;:，。！？、；：])", r"\1", text)
    return text.strip()


def normalize(
    text: str,
    *,
    language: str,
    dictionary: PronunciationDictionary | None = None,
    abbreviations: Abbreviations = "spell",
) -> NormalizedText:
    """``text`` as it should be spoken in ``language`` ("en" or "zh", regional tags accepted).

    Rules run in a fixed order (dictionary, width, then each language's rules
    on its own stretches, then spacing); each rule that changes the line adds
    a :class:`Step`. Dictionary words are spoken as the dictionary says and
    left alone by every other rule.
    """
    lang = text_language(language)
    if abbreviations not in ("spell", "expand", "keep"):
        raise ValueError(f"abbreviations must be 'spell', 'expand' or 'keep', not {abbreviations!r}")
    steps: list[Step] = []
    masked, restore, said = _mask(text, dictionary)
    current = masked

    def record(rule: str, new: str) -> None:
        nonlocal current
        if new != current:
            steps.append(Step(rule, _unmask(current, restore), _unmask(new, restore)))
            current = new

    if said:
        steps.append(Step("dictionary", text, _unmask(masked, restore)))
    record("width", _fold_width(current))
    spans = language_spans(current, lang)
    for rules, span_lang in ((ZH_RULES, "zh"), (EN_RULES, "en")):
        for name, rule in rules:
            spans = [(sl, rule(piece, abbreviations) if sl == span_lang else piece) for sl, piece in spans]
            record(name, "".join(piece for _, piece in spans))
    record("spacing", _tidy(current))
    return NormalizedText(original=text, normalized=_unmask(current, restore), language=lang, steps=tuple(steps))
