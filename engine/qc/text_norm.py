"""Text normalization and error rates for ASR-based quality checks.

:func:`normalize_text` makes a reference script and an ASR transcript
comparable: Unicode NFKC, lowercase, curly quotes folded, contractions
expanded where unambiguous (``don't`` -> ``do not``, ``we're`` -> ``we are``;
``'s`` and ``'d`` are kept as part of the word), numbers spelled out
(``25`` -> ``twenty five``, ``3.5`` -> ``three point five``, ``10%`` ->
``ten percent``, ``$5`` -> ``five dollars``), hyphens split words,
punctuation dropped and whitespace collapsed. Mandarin text keeps its
characters (Arabic numerals are read out in Chinese) and loses punctuation
and spaces.

:func:`wer` is word-level Levenshtein distance over reference words;
:func:`cer` is the same over characters (for Mandarin and other languages
written without spaces).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from revoice.engine.language import base_language
from revoice.engine.text.numbers import EN_DIGITS, en_cardinal, en_ordinal

_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"\bain't\b"), "is not"),
    (re.compile(r"\blet's\b"), "let us"),
    (re.compile(r"(\w)n't\b"), r"\1 not"),
    (re.compile(r"(\w)'re\b"), r"\1 are"),
    (re.compile(r"(\w)'ll\b"), r"\1 will"),
    (re.compile(r"(\w)'ve\b"), r"\1 have"),
    (re.compile(r"\bi'm\b"), "i am"),
)
"""Unambiguous English contractions; ``'s`` (is/has/possessive) and ``'d`` (had/would) stay."""

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'", "`": "'"})
_NUMBER = re.compile(r"(?P<cur>[$\u00a3\u20ac])?(?P<num>\d+(?:,\d{3})*(?:\.\d+)?)(?P<suf>%|st|nd|rd|th)?")
_CURRENCY = {"$": "dollars", "\u00a3": "pounds", "\u20ac": "euros"}

_ZH_DIGITS = "零一二三四五六七八九"


def integer_words(value: int) -> str:
    """English words for a whole number, unhyphenated for word matching: ``1205`` -> ``one thousand two hundred five``."""
    return en_cardinal(value).replace("-", " ")


def _spell_number(match: re.Match[str]) -> str:
    number = match.group("num").replace(",", "")
    whole, _, fraction = number.partition(".")
    words = integer_words(int(whole))
    if fraction:
        words += " point " + " ".join(EN_DIGITS[int(d)] for d in fraction)
    suffix = match.group("suf")
    if suffix == "%":
        words += " percent"
    elif suffix and not fraction:
        words = en_ordinal(int(whole)).replace("-", " ")
    currency = match.group("cur")
    if currency:
        words += " " + _CURRENCY[currency]
    return f" {words} "


def chinese_integer(value: int) -> str:
    """Chinese reading of a whole number below 10**12: ``25`` -> ``二十五``, ``105`` -> ``一百零五``."""
    if value == 0:
        return _ZH_DIGITS[0]
    if value >= 10**12:
        return "".join(_ZH_DIGITS[int(d)] for d in str(value))

    def below_10k(n: int) -> str:
        out = ""
        zero = False
        for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            digit, n = divmod(n, unit)
            if digit:
                if zero and out:
                    out += _ZH_DIGITS[0]
                out += _ZH_DIGITS[digit] + name
                zero = False
            else:
                zero = True
        return out

    parts: list[str] = []
    for unit, name in ((10**8, "亿"), (10**4, "万"), (1, "")):
        chunk, value = divmod(value, unit)
        if chunk:
            text = below_10k(chunk)
            if parts and chunk < 1000:
                text = _ZH_DIGITS[0] + text
            parts.append(text + name)
    text = "".join(parts)
    return text[1:] if text.startswith("一十") else text


def _drop_symbols(text: str, keep: str = "") -> str:
    """Replace punctuation and symbols (Unicode P*/S*) by spaces, except characters in ``keep``."""
    return "".join(
        " " if unicodedata.category(c)[0] in "PS" and c not in keep else c for c in text
    )


def normalize_text(text: str, language: str = "en") -> str:
    """``text`` normalized for error rates: space-separated words (or characters for ``zh``/``ja``)."""
    base = base_language(language)
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    if base in ("zh", "cmn", "yue", "ja"):
        text = re.sub(r"\d+", lambda m: chinese_integer(int(m.group())), text.replace(",", ""))
        text = _drop_symbols(text)
        return " ".join(text.split())
    text = _NUMBER.sub(_spell_number, text)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    text = re.sub(r"'s\b", "s", text)  # it's / John's -> its / johns on both sides alike
    text = _drop_symbols(text)
    return " ".join(text.split())


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance (substitutions + deletions + insertions) between two token lists."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_token in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_token in enumerate(hypothesis, start=1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (ref_token != hyp_token),
            )
        previous = current
    return previous[-1]


def _tokens(text: str, *, per_char: bool) -> list[str]:
    """Words, or characters with spaces ignored (``per_char``: Mandarin, Japanese)."""
    return list(text.replace(" ", "")) if per_char else text.split()


def error_counts(reference: str, hypothesis: str, *, language: str = "en") -> tuple[int, int]:
    """(edits, reference tokens) after :func:`normalize_text`: characters for zh/ja, else words.

    For pooling errors over several sentences (sum the edits, sum the tokens).
    """
    per_char = base_language(language) in ("zh", "ja")
    ref = _tokens(normalize_text(reference, language), per_char=per_char)
    hyp = _tokens(normalize_text(hypothesis, language), per_char=per_char)
    return edit_distance(ref, hyp), len(ref)


def _rate(reference: Sequence[str], hypothesis: Sequence[str]) -> float:
    if not reference:
        return 0.0 if not hypothesis else 1.0
    return edit_distance(reference, hypothesis) / len(reference)


def wer(reference: str, hypothesis: str, *, language: str = "en", normalize: bool = True) -> float:
    """Word error rate: edits / reference words (0 = exact; can exceed 1 with insertions).

    An empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise.
    """
    if normalize:
        reference, hypothesis = normalize_text(reference, language), normalize_text(hypothesis, language)
    return _rate(_tokens(reference, per_char=False), _tokens(hypothesis, per_char=False))


def cer(reference: str, hypothesis: str, *, language: str = "zh", normalize: bool = True) -> float:
    """Character error rate: edits / reference characters, spaces ignored (Mandarin, Japanese)."""
    if normalize:
        reference, hypothesis = normalize_text(reference, language), normalize_text(hypothesis, language)
    return _rate(_tokens(reference, per_char=True), _tokens(hypothesis, per_char=True))
