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
:class:`~engine.text.dictionary.PronunciationDictionary` are applied first
and are protected from every other rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from engine.text.dictionary import HAN, PronunciationDictionary
from engine.text.numbers import (
    en_cardinal,
    en_decimal,
    en_digits,
    en_ordinal,
    en_year,
    zh_digits,
    zh_liang,
    zh_number,
)

Language = Literal["en", "zh"]
Abbreviations = Literal["spell", "expand", "keep"]


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


def base_language(language: str) -> Language:
    """``"zh-CN"``, ``"cmn"``, ``"en-US"`` ... -> ``"zh"`` or ``"en"``; ValueError otherwise."""
    base = language.replace("_", "-").split("-")[0].lower()
    if base in ("zh", "cmn", "zho", "chi"):
        return "zh"
    if base in ("en", "eng"):
        return "en"
    raise ValueError(f"text normalization speaks English (en) and Mandarin (zh), not {language!r}")


# --------------------------------------------------------------------------- shared patterns

_NUM = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
_DEC = rf"(?:{_NUM})(?:\.\d+)?"
_HAN_CHAR = f"[{HAN}]"
_ZH_NUMERAL = "零一二两三四五六七八九十百千万亿点负"
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


# --------------------------------------------------------------------------- English

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_MONTH_ABBR = {m[:3].lower(): i + 1 for i, m in enumerate(_MONTHS)} | {"sept": 9}
_MONTH_RE = (r"(?P<month>January|February|March|April|May|June|July|August|September|October|November|December|"
             r"Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|Dec\.?)")

_TITLES: dict[str, str] = {
    "Dr.": "Doctor", "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Prof.": "Professor",
    "Jr.": "Junior", "Sr.": "Senior", "Mt.": "Mount", "Lt.": "Lieutenant", "Sgt.": "Sergeant",
    "Capt.": "Captain", "Col.": "Colonel", "Gen.": "General", "Gov.": "Governor", "Sen.": "Senator",
    "Ave.": "Avenue", "Blvd.": "Boulevard", "Rd.": "Road", "Dept.": "Department", "Inc.": "Incorporated",
    "Ltd.": "Limited", "Co.": "Company", "vs.": "versus", "vs": "versus", "etc.": "et cetera",
    "e.g.": "for example", "i.e.": "that is", "approx.": "approximately", "Fig.": "Figure",
}
_PREFIX_TITLES = frozenset({"Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "Mt.", "Lt.", "Sgt.", "Capt.", "Col.", "Gen.",
                            "Gov.", "Sen."})
_TITLE_RE = re.compile(
    r"(?<![\w.])(" + "|".join(re.escape(k) for k in sorted(_TITLES, key=len, reverse=True)) + r")(?=\s|$|[,;:!?)])")

EN_SPOKEN_ACRONYMS = frozenset(
    "NASA NATO UNESCO UNICEF AIDS SARS COVID OPEC FIFA IKEA LASER RADAR SCUBA NAFTA ASEAN GIF JPEG PIN "
    "SIM ROM RAM LAN SWAT FEMA OSHA ZIP CAPTCHA POTUS SCOTUS NIMBY YOLO AWOL NASDAQ INTERPOL".split())
"""All-caps words read as words, never spelled."""

EN_EXPANSIONS: dict[str, str] = {
    "FBI": "Federal Bureau of Investigation", "CIA": "Central Intelligence Agency",
    "CEO": "chief executive officer", "CFO": "chief financial officer", "USA": "United States of America",
    "US": "United States", "UK": "United Kingdom", "EU": "European Union", "UN": "United Nations",
    "NYPD": "New York Police Department", "LAPD": "Los Angeles Police Department",
    "DNA": "deoxyribonucleic acid", "ATM": "automated teller machine", "TV": "television",
    "PC": "personal computer", "AI": "artificial intelligence", "GPS": "global positioning system",
    "VIP": "very important person", "ASAP": "as soon as possible", "FAQ": "frequently asked questions",
    "DIY": "do it yourself", "ETA": "estimated time of arrival", "HQ": "headquarters", "ID": "identification",
    "ICU": "intensive care unit", "ER": "emergency room", "CPR": "cardiopulmonary resuscitation",
    "MIA": "missing in action", "DOA": "dead on arrival", "POW": "prisoner of war", "IQ": "intelligence quotient",
    "UFO": "unidentified flying object", "NBA": "National Basketball Association",
    "NFL": "National Football League", "GDP": "gross domestic product", "PhD": "doctor of philosophy",
    "DA": "district attorney", "PD": "police department", "PR": "public relations", "HR": "human resources",
}
"""Acronyms with their expansion for ``abbreviations="expand"`` (others are spelled)."""

_EN_UNITS: dict[str, tuple[str, str]] = {
    "km/h": ("kilometer per hour", "kilometers per hour"), "kph": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"), "m/s": ("meter per second", "meters per second"),
    "km²": ("square kilometer", "square kilometers"), "m²": ("square meter", "square meters"),
    "m³": ("cubic meter", "cubic meters"), "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "m": ("meter", "meters"), "mi": ("mile", "miles"),
    "ft": ("foot", "feet"), "yd": ("yard", "yards"), "kg": ("kilogram", "kilograms"), "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"), "lbs": ("pound", "pounds"), "lb": ("pound", "pounds"), "oz": ("ounce", "ounces"),
    "ml": ("milliliter", "milliliters"), "mL": ("milliliter", "milliliters"), "L": ("liter", "liters"),
    "°C": ("degree Celsius", "degrees Celsius"), "℃": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"), "°": ("degree", "degrees"),
    "TB": ("terabyte", "terabytes"), "GB": ("gigabyte", "gigabytes"), "MB": ("megabyte", "megabytes"),
    "KB": ("kilobyte", "kilobytes"), "kB": ("kilobyte", "kilobytes"), "GHz": ("gigahertz", "gigahertz"),
    "MHz": ("megahertz", "megahertz"), "kHz": ("kilohertz", "kilohertz"), "Hz": ("hertz", "hertz"),
    "kW": ("kilowatt", "kilowatts"), "W": ("watt", "watts"), "V": ("volt", "volts"),
    "mAh": ("milliamp hour", "milliamp hours"), "ms": ("millisecond", "milliseconds"),
    "min": ("minute", "minutes"), "mins": ("minute", "minutes"), "hrs": ("hour", "hours"), "hr": ("hour", "hours"),
    "h": ("hour", "hours"), "sec": ("second", "seconds"), "x": ("time", "times"),
}
_GLUED_ONLY = frozenset({"L", "W", "V", "h", "x", "mi"})
"""Units that count only when written right after the number (``5h``; ``5 h`` is left alone)."""

_CURRENCY_EN = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
                "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", "", "")}
_SCALE_WORDS = {"k": "thousand", "K": "thousand", "thousand": "thousand", "m": "million", "M": "million",
                "million": "million", "bn": "billion", "b": "billion", "B": "billion", "billion": "billion",
                "trillion": "trillion", "tn": "trillion"}
_YEAR_CUES = ("in", "since", "of", "by", "from", "until", "till", "year", "before", "after", "around",
              "circa", "summer", "winter", "spring", "fall", "autumn", "during", "early", "late", "mid")


def _en_number_word(text: str) -> str:
    """An integer or decimal string as English words (leading zeros read digit by digit)."""
    clean = text.replace(",", "")
    if "." in clean:
        return en_decimal(clean)
    if len(clean) > 1 and clean.startswith("0") or len(clean) > 15:
        return en_digits(clean)
    return en_cardinal(int(clean))


def _en_titles(text: str, mode: Abbreviations) -> str:
    if mode == "keep":
        return text

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        word = _TITLES[key]
        # An abbreviation closing the line ("... and so on, etc.") keeps its full stop.
        if key.endswith(".") and key not in _PREFIX_TITLES and not text[m.end():].strip():
            return word + "."
        return word

    text = _TITLE_RE.sub(sub, text)
    text = re.sub(r"(?<![\w.])St\.(?=\s+[A-Z])", "Saint", text)
    text = re.sub(r"(?<=[a-z] )St\.", "Street", text)
    text = re.sub(r"(?<![\w.])No\.\s?(?=\d)", "number ", text)
    return text


def _en_phone(text: str, mode: Abbreviations) -> str:
    def groups(m: re.Match[str]) -> str:
        raw = m.group(0)
        plus = raw.lstrip().startswith("+")
        parts = [p for p in re.split(r"[^\d]+", raw) if p]
        spoken = ", ".join(en_digits(p) for p in parts)
        return ("plus " if plus else "") + spoken

    text = re.sub(r"(?<![\w.+])\+\d{1,3}(?:[ .-]\(?\d{1,4}\)?){2,4}(?![\w])", groups, text)
    text = re.sub(r"(?<![\w.])(?:1[ .-])?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w])", groups, text)
    text = re.sub(r"(?<![\w.,-])\d{3}-\d{4}(?![\w-])", groups, text)
    text = re.sub(r"\b(call|dial|dialed|dialing|calling|called)\s+(911|999|112)\b",
                  lambda m: f"{m.group(1)} {en_digits(m.group(2))}", text, flags=re.IGNORECASE)
    return text


def _month_number(name: str) -> int:
    return _MONTH_ABBR[name.rstrip(".").lower()[:4 if name.lower().startswith("sept") else 3]]


def _en_year_2(text: str) -> str:
    value = int(text)
    if len(text) == 4:
        return en_year(value)
    return en_cardinal(value) if value >= 10 else "oh " + en_cardinal(value)


def _en_dates(text: str, mode: Abbreviations) -> str:
    def iso(m: re.Match[str]) -> str:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return m.group(0)
        return f"{_MONTHS[month - 1]} {en_ordinal(day)}, {en_year(year)}"

    def us(m: re.Match[str]) -> str:
        month, day = int(m.group(1)), int(m.group(2))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return m.group(0)
        return f"{_MONTHS[month - 1]} {en_ordinal(day)}, {_en_year_2(m.group(3))}"

    def month_day(m: re.Match[str]) -> str:
        month = _MONTHS[_month_number(m.group("month")) - 1]
        day = int(m.group("day"))
        if not 1 <= day <= 31:
            return m.group(0)
        year = m.group("year")
        return f"{month} {en_ordinal(day)}" + (f", {en_year(int(year))}" if year else "")

    def day_month(m: re.Match[str]) -> str:
        month = _MONTHS[_month_number(m.group("month")) - 1]
        day = int(m.group("day"))
        if not 1 <= day <= 31:
            return m.group(0)
        year = m.group("year")
        article = "" if text[: m.start()].rstrip().lower().endswith("the") else "the "
        return f"{article}{en_ordinal(day)} of {month}" + (f" {en_year(int(year))}" if year else "")

    def month_year(m: re.Match[str]) -> str:
        return f"{_MONTHS[_month_number(m.group('month')) - 1]} {en_year(int(m.group('year')))}"

    text = re.sub(r"(?<![\w-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w-])", iso, text)
    text = re.sub(r"(?<![\w/])(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?![\w/])", us, text)
    text = re.sub(_MONTH_RE + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?![\d:])(?:,?\s+(?P<year>\d{4})(?!\d))?", month_day, text)
    text = re.sub(r"(?<![\w])(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH_RE + r"(?:,?\s+(?P<year>\d{4})(?!\d))?",
                  day_month, text)
    text = re.sub(_MONTH_RE + r",?\s+(?P<year>\d{4})(?!\d)", month_year, text)
    return text


def _en_times(text: str, mode: Abbreviations) -> str:
    def meridiem(raw: str | None) -> str:
        if not raw:
            return ""
        return " a m" if raw.lower().startswith("a") else " p m"

    def clock(m: re.Match[str]) -> str:
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 24 or minute > 59:
            return m.group(0)
        suffix = meridiem(m.group(4))
        if minute == 0:
            words = en_cardinal(hour) + ("" if suffix else " o'clock")
        elif minute < 10:
            words = f"{en_cardinal(hour)} oh {en_cardinal(minute)}"
        else:
            words = f"{en_cardinal(hour)} {en_cardinal(minute)}"
        if m.group(3):
            seconds = int(m.group(3))
            words += f" and {en_cardinal(seconds)} second{'s' if seconds != 1 else ''}"
        if m.group(4) and m.group(4).endswith(".") and re.match(r"\s*$|\s+[A-Z]", text[m.end():]):
            suffix += "."
        return words + suffix

    text = re.sub(r"(?<![\w:.])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])(?:\s?(a\.m\.|p\.m\.|am|pm|AM|PM|a\.m|p\.m)(?![\w]))?",
                  clock, text)
    def hour_only(m: re.Match[str]) -> str:
        if int(m.group(1)) > 12:
            return m.group(0)
        end = "." if m.group(2).endswith(".") and re.match(r"\s*$|\s+[A-Z]", text[m.end():]) else ""
        return en_cardinal(int(m.group(1))) + meridiem(m.group(2)) + end

    text = re.sub(r"(?<![\w:.])(\d{1,2})\s?(a\.m\.|p\.m\.|am|pm|AM|PM)(?![\w])", hour_only, text)
    return text


def _en_ranges(text: str, mode: Abbreviations) -> str:
    def sub(m: re.Match[str]) -> str:
        currency, first, second = m.group(1), m.group(2), m.group(3)
        a, b = first.replace(",", ""), second.replace(",", "")
        years = "." not in a + b and 1000 <= int(float(a)) <= 2099 and (
            len(b) == 4 and 1000 <= int(b) <= 2099 or len(b) == 2)
        if years:
            end = en_year(int(b)) if len(b) == 4 else en_cardinal(int(b)) if int(b) >= 10 else "oh " + en_cardinal(int(b))
            return f"{en_year(int(a))} to {end}"
        if currency:
            return f"{_en_number_word(first)} to {currency}{second}"
        return f"{_en_number_word(first)} to {second}"

    return re.sub(rf"(?<![\w.,/:-])([$£€¥]?)({_DEC})\s?[-–~]\s?[$£€¥]?({_DEC})(?![\w.-]*\d-)(?![/:])", sub, text)


def _en_money(text: str, mode: Abbreviations) -> str:
    def sub(m: re.Match[str]) -> str:
        symbol, amount, scale = m.group(1), m.group(2), m.group(3)
        one, many, sub_one, sub_many = _CURRENCY_EN[symbol]
        if scale:
            return f"{_en_number_word(amount)} {_SCALE_WORDS[scale.strip()]} {many}"
        whole, _, cents = amount.replace(",", "").partition(".")
        units = int(whole or "0")
        if cents and len(cents) == 2 and sub_one:
            hundredths = int(cents)
            parts = []
            if units:
                parts.append(f"{en_cardinal(units)} {one if units == 1 else many}")
            if hundredths:
                parts.append(f"{en_cardinal(hundredths)} {sub_one if hundredths == 1 else sub_many}")
            return " and ".join(parts) or f"zero {many}"
        if cents:
            return f"{_en_number_word(amount)} {many}"
        return f"{_en_number_word(amount)} {one if units == 1 else many}"

    text = re.sub(rf"([$£€¥])\s?({_DEC})(\s?(?:thousand|million|billion|trillion|bn|tn)\b|[kKmMbB]\b)?", sub, text)
    text = re.sub(r"(?<![\w.])(\d+)¢", lambda m: f"{en_cardinal(int(m.group(1)))} cent{'s' if m.group(1) != '1' else ''}",
                  text)
    return text


def _en_percent(text: str, mode: Abbreviations) -> str:
    return re.sub(rf"(?<![\w.])(-?{_DEC})\s?%", lambda m: _en_signed(m.group(1)) + " percent", text)


def _en_signed(text: str) -> str:
    return ("minus " + _en_number_word(text[1:])) if text.startswith("-") else _en_number_word(text)


def _en_units(text: str, mode: Abbreviations) -> str:
    units = sorted(_EN_UNITS, key=len, reverse=True)
    pattern = rf"(?<![\w.])(-?{_DEC})(\s?)(" + "|".join(re.escape(u) for u in units) + r")(?![\w²³])"

    def sub(m: re.Match[str]) -> str:
        number, space, unit = m.group(1), m.group(2), m.group(3)
        if space and unit in _GLUED_ONLY:
            return m.group(0)
        singular, plural = _EN_UNITS[unit]
        return f"{_en_signed(number)} {singular if number in ('1', '-1') else plural}"

    return re.sub(pattern, sub, text)


def _tens_plural(words: str) -> str:
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _en_ordinals_decades(text: str, mode: Abbreviations) -> str:
    text = re.sub(r"(?<![\w.])(\d+)(st|nd|rd|th)\b", lambda m: en_ordinal(int(m.group(1))), text)
    text = re.sub(r"(?<![\w.])(1[1-9]|20)(\d0)s\b", lambda m: _tens_plural(en_year(int(m.group(1) + m.group(2)))), text)
    text = re.sub(r"(?<![\w.])['’]?([1-9]0)s\b", lambda m: _tens_plural(en_cardinal(int(m.group(1)))), text)
    return text


def _en_years(text: str, mode: Abbreviations) -> str:
    def sub(m: re.Match[str]) -> str:
        value = int(m.group(0))
        before = text[: m.start()].rstrip().lower()
        cue = before.endswith(_YEAR_CUES) or bool(re.search(r"(january|february|march|april|may|june|july|august|"
                                                             r"september|october|november|december),?$", before))
        after = text[m.end():]
        if not cue and re.match(r"\s+[a-z]+s\b", after):
            return en_cardinal(value)
        return en_year(value)

    text = re.sub(r"(?<![\w.,$£€¥-])(1[1-9]\d\d|20\d\d)(?![\w%]|[.,]\d|\s?%)", sub, text)
    return re.sub(r"(?<![\w'’])['’](\d{2})(?![\w'’])", lambda m: _en_year_2(m.group(1)), text)


def _en_numbers(text: str, mode: Abbreviations) -> str:
    text = re.sub(r"#\s?(?=\d)", "number ", text)
    text = re.sub(r"(?<=[A-Za-z])-(?=\d)", " ", text)
    text = re.sub(rf"(?<![\w.]){_DEC}\s?/\s?{_DEC}(?![\w/])", lambda m: m.group(0).replace("/", " over "), text)
    text = re.sub(rf"(?:(?<=^)|(?<=[\s(\[\"“]))-(?={_DEC})", "minus ", text)

    def sub(m: re.Match[str]) -> str:
        words = _en_number_word(m.group(0))
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        return (" " if before.isalpha() else "") + words + (" " if after.isalpha() else "")

    return re.sub(rf"{_DEC}", sub, text)


def _en_symbols(text: str, mode: Abbreviations) -> str:
    text = re.sub(r"\s*&\s*", " and ", text)
    text = re.sub(r"(?<=\w)\s*\+\s*(?=\w)", " plus ", text)
    text = re.sub(r"\s*=\s*", " equals ", text)
    text = re.sub(r"(?<=\w)\s*[×]\s*(?=\w)", " times ", text)
    text = re.sub(r"(?<=\w)@(?=\w)", " at ", text)
    text = re.sub(r"\s*%", " percent", text)
    text = re.sub(r"(?<=\w)/(?=\w)", " ", text)
    text = re.sub(r"~\s*(?=\w)", "about ", text)
    return text


def _spell(letters: str) -> str:
    return " ".join(letters.upper())


def _acronyms(text: str, mode: Abbreviations, expansions: dict[str, str]) -> str:
    if mode == "keep":
        return text
    text = re.sub(r"(?<![A-Za-z0-9_.])((?:[A-Za-z]\.){2,})", lambda m: m.group(1).replace(".", "").upper()
                  + (" " if m.end() < len(text) and text[m.end()].isalnum() else ""), text)
    shouting = len(re.findall(r"\b[A-Z]{2,}\b", text)) >= 3 and not re.search(r"[a-z]", text)

    def sub(m: re.Match[str]) -> str:
        word, plural = m.group(1), m.group(2)
        if word == "OK":
            return "okay"
        if word in EN_SPOKEN_ACRONYMS:
            return m.group(0)
        if mode == "expand" and word in expansions:
            return expansions[word] + ("s" if plural else "")
        if shouting and word not in EN_EXPANSIONS:
            return m.group(0)
        spelled = _spell(word)
        return spelled + ("'s" if plural else "")

    text = re.sub(r"(?<![A-Za-z])(PhD)(s?)(?![A-Za-z])", sub, text)
    return re.sub(r"(?<![A-Za-z])([A-Z][A-Z]+)(s?)(?![A-Za-z])", sub, text)


def _en_acronyms(text: str, mode: Abbreviations) -> str:
    return _acronyms(text, mode, EN_EXPANSIONS)


# --------------------------------------------------------------------------- Mandarin

ZH_EXPANSIONS: dict[str, str] = {
    "CEO": "首席执行官", "CFO": "首席财务官", "CTO": "首席技术官", "GDP": "国内生产总值", "AI": "人工智能",
    "UFO": "不明飞行物", "VIP": "贵宾", "ICU": "重症监护室", "FBI": "联邦调查局", "CIA": "中央情报局",
    "WTO": "世界贸易组织", "UN": "联合国", "EU": "欧盟", "USA": "美国", "UK": "英国", "ATM": "自动取款机",
    "TV": "电视", "GPS": "全球定位系统", "ETA": "预计到达时间", "HR": "人力资源", "IT": "信息技术",
    "DIY": "自己动手", "PPT": "幻灯片", "WHO": "世界卫生组织", "NASA": "美国国家航空航天局",
}
"""Acronyms with their Chinese expansion for ``abbreviations="expand"`` in Mandarin."""

ZH_MEASURE_WORDS = (
    "个 位 只 本 次 天 年 条 张 件 辆 块 瓶 杯 碗 双 对 把 台 部 名 家 层 周 岁 句 点 份 篇 首 场 颗 根 片 节 门 架 斤 "
    "公斤 公里 米 元 毛 角 分 秒 小时 分钟 种 样 遍 趟 下 口 头 匹 座 栋 间 套 支 枝 盒 包 袋 箱 桶 串 群 批 届 项 排 行 "
    "列 集 期 幅 封 所 艘 棵 朵 道 回 声 步 圈 倍 星期 礼拜 克 吨 升 毫升 厘米 毫米 千米 人 辈子 码 扇 顿 堂 副 瓦 千瓦 伏 千 万 亿"
).split()
"""Words after which a bare 2 is read 两."""
_MEASURE_RE = re.compile("|".join(sorted(ZH_MEASURE_WORDS, key=len, reverse=True)))
_NOT_LIANG_AFTER = ("年级", "年代", "点钟点", "号")

_ZH_UNITS: dict[str, str] = {
    "km/h": "公里每小时", "m/s": "米每秒", "km²": "平方公里", "m²": "平方米", "㎡": "平方米", "m³": "立方米",
    "cm²": "平方厘米", "km": "公里", "cm": "厘米", "mm": "毫米", "m": "米", "kg": "公斤", "mg": "毫克", "g": "克",
    "t": "吨", "ml": "毫升", "mL": "毫升", "L": "升", "°C": "摄氏度", "℃": "摄氏度", "°F": "华氏度", "℉": "华氏度",
    "°": "度", "TB": "T", "GB": "G", "MB": "兆", "KB": "K", "kB": "K", "GHz": "吉赫", "MHz": "兆赫", "kHz": "千赫",
    "Hz": "赫兹", "kW": "千瓦", "W": "瓦", "V": "伏", "mAh": "毫安时", "ms": "毫秒", "min": "分钟", "h": "小时",
    "s": "秒", "x": "倍", "X": "倍",
}
_ZH_CURRENCY = {"$": "美元", "US$": "美元", "HK$": "港元", "€": "欧元", "£": "英镑", "₩": "韩元", "₹": "卢比",
                "NT$": "新台币"}
_ZH_SCALES = {"万": "万", "亿": "亿", "千": "千", "百万": "百万", "k": "千", "K": "千", "w": "万", "W": "万"}


def _zh_int(digits: str, following: str = "") -> str:
    """An Arabic integer in Chinese, with 两 where ``following`` (the text after it) wants it."""
    clean = digits.replace(",", "")
    if len(clean) > 1 and clean.startswith("0") or len(clean) > 12:
        return zh_digits(clean)
    words = zh_number(clean)
    if words == "二":
        if _MEASURE_RE.match(following) and not following.startswith(_NOT_LIANG_AFTER):
            return "两"
        return words
    return zh_liang(words)


def _zh_num(text: str, following: str = "") -> str:
    """Integer or decimal (``-3.5``, ``1,000``) in Chinese."""
    negative = text.startswith("-")
    body = text.lstrip("+-")
    if "." in body:
        words = zh_number(body)
    else:
        words = _zh_int(body, following)
    return ("负" if negative else "") + words


def _zh_phone(text: str, mode: Abbreviations) -> str:
    def grouped(m: re.Match[str]) -> str:
        raw = m.group(0)
        plus = raw.startswith("+")
        parts = [p for p in re.split(r"[^\d]+", raw) if p]
        if len(parts) == 1 and len(parts[0]) == 11:
            digits = parts[0]
            parts = [digits[:3], digits[3:7], digits[7:]]
        return ("加" if plus else "") + " ".join(zh_digits(p, phone=True) for p in parts)

    text = re.sub(r"(?<![\d.])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![\d.])", grouped, text)
    text = re.sub(r"(?<![\d.])0\d{2,3}-\d{7,8}(?![\d.])", grouped, text)
    text = re.sub(r"(?<![\d.])[48]00-?\d{3}-?\d{4}(?![\d.])", grouped, text)
    text = re.sub(r"(打|拨打|拨|电话|热线|号码|号|呼叫)(给|是|为|:|：)?(\s?)(\d{3,6})(?![\d.])",
                  lambda m: m.group(1) + (m.group(2) or "") + m.group(3) + zh_digits(m.group(4), phone=True), text)
    text = re.sub(r"(?<=[A-Za-z])(\d{3,})|(?<![\d.,])(\d{9,})(?![\d.,])",
                  lambda m: zh_digits(m.group(0), phone=True), text)
    text = re.sub(r"(?<![\d.])(\d{3,})(?=房间|号房|房|室|路公交|路车|次列车|次航班)",
                  lambda m: zh_digits(m.group(1), phone=True), text)
    text = re.sub(r"([A-Za-z]{1,2})(\d{3,4})(?=次列车|航班)", lambda m: m.group(1) + zh_digits(m.group(2), phone=True), text)
    return text


def _zh_dates(text: str, mode: Abbreviations) -> str:
    def ymd(m: re.Match[str]) -> str:
        year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return m.group(0)
        return f"{zh_digits(year)}年{zh_number(str(month))}月{zh_number(str(day))}{m.group(4) or '日'}"

    text = re.sub(r"(?<![\d.])(\d{4})\s?[-~～—–至到]\s?(\d{4})(?=\s?年)",
                  lambda m: f"{zh_digits(m.group(1))}到{zh_digits(m.group(2))}", text)
    text = re.sub(r"(?<![\d.])(\d{4})\s?[-/.年]\s?(\d{1,2})\s?[-/.月]\s?(\d{1,2})\s?([日号])?(?![\d.])", ymd, text)
    text = re.sub(r"(?<![\d.])(\d{4})\s?[-/.年]\s?(\d{1,2})\s?月", lambda m: f"{zh_digits(m.group(1))}年{zh_number(m.group(2))}月"
                  if 1 <= int(m.group(2)) <= 12 else m.group(0), text)
    text = re.sub(r"(?<![\d.])(\d{4})(?=\s?年)", lambda m: zh_digits(m.group(1)), text)
    text = re.sub(r"['’](\d{2})(?=\s?年)", lambda m: zh_digits(m.group(1)), text)
    text = re.sub(r"(?<![\d.])(\d{1,2})月(\d{1,2})([日号])",
                  lambda m: f"{zh_number(m.group(1))}月{zh_number(m.group(2))}{m.group(3)}"
                  if 1 <= int(m.group(1)) <= 12 and 1 <= int(m.group(2)) <= 31 else m.group(0), text)
    return text


def _zh_times(text: str, mode: Abbreviations) -> str:
    def clock(m: re.Match[str]) -> str:
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 24 or minute > 59:
            return m.group(0)
        words = _zh_int(str(hour), "点") + "点"
        if minute:
            words += ("零" if minute < 10 else "") + zh_number(str(minute)) + "分"
        if m.group(3):
            seconds = int(m.group(3))
            words += ("零" if 0 < seconds < 10 and not minute else "") + zh_number(str(seconds)) + "秒"
        return words

    return re.sub(r"(?<![\d.:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])", clock, text)


def _zh_money(text: str, mode: Abbreviations) -> str:
    def yuan(m: re.Match[str]) -> str:
        amount, scale = m.group(1).replace(",", ""), m.group(2)
        tail = m.group(3) or ""
        if scale:
            return _zh_num(amount, scale) + _ZH_SCALES[scale] + "元"
        whole, _, cents = amount.partition(".")
        if cents and len(cents) <= 2 and not tail:
            jiao = int(cents[0])
            fen = int(cents[1]) if len(cents) == 2 else 0
            parts = _zh_int(whole, "元") + "元" if int(whole) else ""
            if jiao:
                parts += zh_number(str(jiao)) + "角"
            elif fen and parts:
                parts += "零"
            if fen:
                parts += zh_number(str(fen)) + "分"
            return parts or "零元"
        return _zh_num(amount, "元") + "元"

    text = re.sub(rf"[¥￥]\s?({_DEC})(万|亿|千)?(元)?", yuan, text)

    def foreign(m: re.Match[str]) -> str:
        symbol, amount, scale = m.group(1), m.group(2), m.group(3)
        name = _ZH_CURRENCY[symbol]
        scale_word = _ZH_SCALES.get(scale or "", "")
        if scale == "million":
            scale_word = "百万"
        return _zh_num(amount, "元") + scale_word + name

    return re.sub(rf"(US\$|HK\$|NT\$|\$|€|£|₩|₹)\s?({_DEC})(万|亿|千|百万|million|k|K)?", foreign, text)


def _zh_percent(text: str, mode: Abbreviations) -> str:
    def sub(m: re.Match[str]) -> str:
        number, sign = m.group(1), m.group(2)
        prefix = "千分之" if sign == "‰" else "百分之"
        if number.startswith("-"):
            return "负" + prefix + _zh_num(number[1:])
        return prefix + _zh_num(number)

    return re.sub(rf"(?<![A-Za-z0-9_.])(-?{_DEC})\s?([%‰])", sub, text)


def _zh_ranges(text: str, mode: Abbreviations) -> str:
    def sub(m: re.Match[str]) -> str:
        first, pct1, second, pct2 = m.group(1), m.group(2), m.group(3), m.group(4)
        following = text[m.end():]
        if pct1 or pct2:
            return f"百分之{_zh_num(first)}到百分之{_zh_num(second)}"
        a, b = first.replace(",", ""), second.replace(",", "")
        if re.fullmatch(r"\d{4}", a) and re.fullmatch(r"\d{4}", b) and following.lstrip().startswith("年"):
            return f"{zh_digits(a)}到{zh_digits(b)}"
        return f"{_zh_num(first, following)}到{_zh_num(second, following)}"

    return re.sub(rf"(?<![A-Za-z0-9_.:/-])({_DEC})(%?)\s?[-~～—–]{{1,2}}\s?({_DEC})(%?)(?![\d.:/-])", sub, text)


def _zh_units(text: str, mode: Abbreviations) -> str:
    units = sorted(_ZH_UNITS, key=len, reverse=True)
    unit_re = "|".join(re.escape(u) for u in units)

    def sub(m: re.Match[str]) -> str:
        number, unit = m.group(1), m.group(2)
        name = _ZH_UNITS[unit]
        if name in ("摄氏度", "华氏度", "度") and number.startswith("-"):
            return "零下" + _zh_num(number[1:], name) + name
        if number[0] in _ZH_NUMERAL:
            return number + name
        return _zh_num(number, name) + name

    return re.sub(rf"(?<![A-Za-z0-9_.])(-?{_DEC}|[{_ZH_NUMERAL}]+)\s?({unit_re})(?![A-Za-z²³])", sub, text)


def _zh_ordinals(text: str, mode: Abbreviations) -> str:
    text = re.sub(r"第\s?(\d+)", lambda m: "第" + _zh_num(m.group(1)), text)
    text = re.sub(r"(?<![A-Za-z])[Nn][Oo]\.?\s?(\d+)", lambda m: "第" + _zh_num(m.group(1)), text)
    return re.sub(r"(?<![A-Za-z0-9_.])(\d+)(?:st|nd|rd|th)(?![A-Za-z])", lambda m: "第" + _zh_num(m.group(1)), text)


def _zh_fractions(text: str, mode: Abbreviations) -> str:
    def sub(m: re.Match[str]) -> str:
        numerator, denominator = int(m.group(1)), int(m.group(2))
        if not 0 < numerator < denominator:
            return m.group(0)
        return f"{zh_number(str(denominator))}分之{zh_number(str(numerator))}"

    return re.sub(r"(?<![\d/.])(\d{1,3})/(\d{1,3})(?![\d/.])", sub, text)


def _zh_numbers(text: str, mode: Abbreviations) -> str:
    text = re.sub(r"(?<![A-Za-z0-9_.)\]])-(\d+(?:\.\d+)?)(?=度)", lambda m: "零下" + _zh_num(m.group(1), "度"), text)
    text = re.sub(r"(?<![A-Za-z0-9_.)\]])-(?=\d)", "负", text)

    def sub(m: re.Match[str]) -> str:
        return _zh_num(m.group(0), text[m.end():].lstrip())

    return re.sub(_DEC, sub, text)


def _zh_symbols(text: str, mode: Abbreviations) -> str:
    numeral = f"[{_ZH_NUMERAL}]"
    text = re.sub(rf"(?<={numeral})\s*\+\s*(?={numeral})", "加", text)
    text = re.sub(rf"(?<={numeral})\s*[×*]\s*(?={numeral})", "乘", text)
    text = re.sub(rf"(?<={numeral})\s*÷\s*(?={numeral})", "除以", text)
    text = re.sub(r"\s*=\s*", "等于", text)
    text = re.sub(rf"(?<={numeral})\s*[:：]\s*(?={numeral})", "比", text)
    text = re.sub(r"\s*&\s*", "和", text)
    text = re.sub(rf"(?<={numeral})\s*#", "号", text)
    text = re.sub(r"(?<=[A-Za-z])-(?=\S)|(?<=\S)-(?=[A-Za-z])", " ", text)
    text = re.sub(r"\s*%", "百分号", text)
    text = re.sub(r"(?<=[A-Za-z0-9])@(?=[A-Za-z0-9])", " at ", text)
    return text


def _zh_acronyms(text: str, mode: Abbreviations) -> str:
    return _acronyms(text, mode, ZH_EXPANSIONS)


# --------------------------------------------------------------------------- pipeline

_Rule = Callable[[str, Abbreviations], str]

EN_RULES: tuple[tuple[str, _Rule], ...] = (
    ("en.abbreviations", _en_titles),
    ("en.phone", _en_phone),
    ("en.dates", _en_dates),
    ("en.times", _en_times),
    ("en.ranges", _en_ranges),
    ("en.money", _en_money),
    ("en.percent", _en_percent),
    ("en.units", _en_units),
    ("en.ordinals", _en_ordinals_decades),
    ("en.years", _en_years),
    ("en.numbers", _en_numbers),
    ("en.symbols", _en_symbols),
    ("en.acronyms", _en_acronyms),
)
ZH_RULES: tuple[tuple[str, _Rule], ...] = (
    ("zh.phone", _zh_phone),
    ("zh.dates", _zh_dates),
    ("zh.times", _zh_times),
    ("zh.ranges", _zh_ranges),
    ("zh.money", _zh_money),
    ("zh.percent", _zh_percent),
    ("zh.units", _zh_units),
    ("zh.ordinals", _zh_ordinals),
    ("zh.fractions", _zh_fractions),
    ("zh.numbers", _zh_numbers),
    ("zh.symbols", _zh_symbols),
    ("zh.acronyms", _zh_acronyms),
)

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
    lang = base_language(language)
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
