"""Numbers as words: English (US) and Mandarin (via cn2an, loaded on first use)."""

from __future__ import annotations

import importlib
from typing import Any

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ZH_DIGITS = "零一二三四五六七八九"
ZH_PHONE_DIGITS = "零幺二三四五六七八九"
"""Digits as read in Chinese phone numbers and codes (1 is 幺 yao1)."""


def en_cardinal(value: int) -> str:
    """``123`` -> ``"one hundred twenty-three"`` (US style, no "and")."""
    if value < 0:
        return "minus " + en_cardinal(-value)
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + ("-" + _ONES[ones] if ones else "")
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return _ONES[hundreds] + " hundred" + (" " + en_cardinal(rest) if rest else "")
    for scale, name in _SCALES:
        if value >= scale:
            high, rest = divmod(value, scale)
            return en_cardinal(high) + " " + name + (" " + en_cardinal(rest) if rest else "")
    raise AssertionError(value)


def en_ordinal(value: int) -> str:
    """``21`` -> ``"twenty-first"``."""
    words = en_cardinal(value)
    head, sep, last = words.rpartition(" ") if "-" not in words.rsplit(" ", 1)[-1] else words.rpartition("-")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def en_digits(digits: str) -> str:
    """``"0142"`` -> ``"zero one four two"``."""
    return " ".join(EN_DIGITS[int(d)] for d in digits if d.isdigit())


def en_year(value: int) -> str:
    """Years as said: 1990 nineteen ninety, 1905 nineteen oh five, 2000 two thousand, 2024 twenty twenty-four."""
    if value < 1000 or value > 9999:
        return en_cardinal(value)
    high, low = divmod(value, 100)
    if 2000 <= value <= 2009:
        return en_cardinal(value)
    if low == 0:
        return en_cardinal(high) + " hundred"
    if low < 10:
        return en_cardinal(high) + " oh " + _ONES[low]
    return en_cardinal(high) + " " + en_cardinal(low)


def en_decimal(text: str) -> str:
    """``"3.14"`` -> ``"three point one four"``; integer part with thousands separators allowed."""
    whole, _, frac = text.replace(",", "").partition(".")
    negative = whole.startswith("-")
    whole = whole.lstrip("-+")
    words = en_cardinal(int(whole or "0"))
    if frac:
        words += " point " + en_digits(frac)
    return ("minus " if negative else "") + words


def _cn2an() -> Any:
    return importlib.import_module("cn2an")


def zh_number(text: str) -> str:
    """An Arabic number (``"12"``, ``"-3.5"``, ``"1,000"``) in Chinese numerals (``"十二"``)."""
    clean = text.replace(",", "").replace("，", "")
    negative = clean.startswith("-")
    clean = clean.lstrip("+-")
    whole, _, frac = clean.partition(".")
    words = str(_cn2an().an2cn(whole, "low")) if whole.strip("0") else "零"
    if frac:
        words += "点" + zh_digits(frac)
    return ("负" if negative else "") + words


def zh_digits(digits: str, *, phone: bool = False) -> str:
    """Digit by digit: ``"2024"`` -> ``"二零二四"``; with ``phone`` 1 reads 幺."""
    table = ZH_PHONE_DIGITS if phone else ZH_DIGITS
    return "".join(table[int(d)] for d in digits if d.isdigit())


def zh_liang(words: str) -> str:
    """Use 两 where speech does: a bare 二 (before a measure word) and a leading 二千/二万/二亿."""
    if words == "二":
        return "两"
    for unit in ("千", "万", "亿"):
        if words.startswith("二" + unit):
            return "两" + words[1:]
    return words
