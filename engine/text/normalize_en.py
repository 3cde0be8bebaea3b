"""English normalization rules: titles, phone numbers, dates, times, money, units, numbers, acronyms.

Each rule is a :data:`~revoice.engine.text.rules.Rule`; :data:`EN_RULES` lists them in the order
:func:`revoice.engine.text.normalize.normalize` runs them on the English stretches of a line. The
vocabulary tables (titles, acronyms, units) make up a good part of this module.
"""

from __future__ import annotations

import re

from revoice.engine.text.numbers import en_cardinal, en_decimal, en_digits, en_ordinal, en_year
from revoice.engine.text.rules import DECIMAL, Abbreviations, Rule, Substitution, substitute

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

    return substitute(_TITLE_RE.sub(sub, text), _SAINT_STREET_NUMBER)


_SAINT_STREET_NUMBER: tuple[Substitution, ...] = (
    (r"(?<![\w.])St\.(?=\s+[A-Z])", "Saint"),
    (r"(?<=[a-z] )St\.", "Street"),
    (r"(?<![\w.])No\.\s?(?=\d)", "number "),
)


def _phone_groups(m: re.Match[str]) -> str:
    """A phone number's digit groups read digit by digit, comma between groups (``+`` is "plus")."""
    raw = m.group(0)
    plus = raw.lstrip().startswith("+")
    parts = [p for p in re.split(r"[^\d]+", raw) if p]
    spoken = ", ".join(en_digits(p) for p in parts)
    return ("plus " if plus else "") + spoken


_PHONE_NUMBERS: tuple[Substitution, ...] = (
    (r"(?<![\w.+])\+\d{1,3}(?:[ .-]\(?\d{1,4}\)?){2,4}(?![\w])", _phone_groups),
    (r"(?<![\w.])(?:1[ .-])?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w])", _phone_groups),
    (r"(?<![\w.,-])\d{3}-\d{4}(?![\w-])", _phone_groups),
    (re.compile(r"\b(call|dial|dialed|dialing|calling|called)\s+(911|999|112)\b", re.IGNORECASE),
     lambda m: f"{m.group(1)} {en_digits(m.group(2))}"),
)


def _en_phone(text: str, mode: Abbreviations) -> str:
    return substitute(text, _PHONE_NUMBERS)


def _month_number(name: str) -> int:
    return _MONTH_ABBR[name.rstrip(".").lower()[:4 if name.lower().startswith("sept") else 3]]


def _en_year_2(text: str) -> str:
    value = int(text)
    if len(text) == 4:
        return en_year(value)
    return en_cardinal(value) if value >= 10 else "oh " + en_cardinal(value)


def _iso_date(m: re.Match[str]) -> str:
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return f"{_MONTHS[month - 1]} {en_ordinal(day)}, {en_year(year)}"


def _us_date(m: re.Match[str]) -> str:
    month, day = int(m.group(1)), int(m.group(2))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    return f"{_MONTHS[month - 1]} {en_ordinal(day)}, {_en_year_2(m.group(3))}"


def _month_day(m: re.Match[str]) -> str:
    month = _MONTHS[_month_number(m.group("month")) - 1]
    day = int(m.group("day"))
    if not 1 <= day <= 31:
        return m.group(0)
    year = m.group("year")
    return f"{month} {en_ordinal(day)}" + (f", {en_year(int(year))}" if year else "")


_MONTH_FIRST_DATES: tuple[Substitution, ...] = (
    (r"(?<![\w-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\w-])", _iso_date),
    (r"(?<![\w/])(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?![\w/])", _us_date),
    (_MONTH_RE + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?(?![\d:])(?:,?\s+(?P<year>\d{4})(?!\d))?", _month_day),
)


def _en_dates(text: str, mode: Abbreviations) -> str:
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

    text = substitute(text, _MONTH_FIRST_DATES)
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

    return re.sub(rf"(?<![\w.,/:-])([$£€¥]?)({DECIMAL})\s?[-–~]\s?[$£€¥]?({DECIMAL})(?![\w.-]*\d-)(?![/:])", sub, text)


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

    text = re.sub(rf"([$£€¥])\s?({DECIMAL})(\s?(?:thousand|million|billion|trillion|bn|tn)\b|[kKmMbB]\b)?", sub, text)
    text = re.sub(r"(?<![\w.])(\d+)¢", lambda m: f"{en_cardinal(int(m.group(1)))} cent{'s' if m.group(1) != '1' else ''}",
                  text)
    return text


def _en_percent(text: str, mode: Abbreviations) -> str:
    return re.sub(rf"(?<![\w.])(-?{DECIMAL})\s?%", lambda m: _en_signed(m.group(1)) + " percent", text)


def _en_signed(text: str) -> str:
    return ("minus " + _en_number_word(text[1:])) if text.startswith("-") else _en_number_word(text)


def _en_units(text: str, mode: Abbreviations) -> str:
    units = sorted(_EN_UNITS, key=len, reverse=True)
    pattern = rf"(?<![\w.])(-?{DECIMAL})(\s?)(" + "|".join(re.escape(u) for u in units) + r")(?![\w²³])"

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
    text = re.sub(rf"(?<![\w.]){DECIMAL}\s?/\s?{DECIMAL}(?![\w/])", lambda m: m.group(0).replace("/", " over "), text)
    text = re.sub(rf"(?:(?<=^)|(?<=[\s(\[\"“]))-(?={DECIMAL})", "minus ", text)

    def sub(m: re.Match[str]) -> str:
        words = _en_number_word(m.group(0))
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end()] if m.end() < len(text) else ""
        return (" " if before.isalpha() else "") + words + (" " if after.isalpha() else "")

    return re.sub(rf"{DECIMAL}", sub, text)


_SYMBOLS: tuple[Substitution, ...] = (
    (r"\s*&\s*", " and "),
    (r"(?<=\w)\s*\+\s*(?=\w)", " plus "),
    (r"\s*=\s*", " equals "),
    (r"(?<=\w)\s*[×]\s*(?=\w)", " times "),
    (r"(?<=\w)@(?=\w)", " at "),
    (r"\s*%", " percent"),
    (r"(?<=\w)/(?=\w)", " "),
    (r"~\s*(?=\w)", "about "),
)


def _en_symbols(text: str, mode: Abbreviations) -> str:
    return substitute(text, _SYMBOLS)


def _spell(letters: str) -> str:
    return " ".join(letters.upper())


def acronyms(text: str, mode: Abbreviations, expansions: dict[str, str]) -> str:
    """All-caps words (and dotted ``U.S.``) spelled letter by letter, or expanded from ``expansions``.

    Words in :data:`EN_SPOKEN_ACRONYMS` are read as words; ``OK`` is "okay"; a
    shouted line (three or more capitalised words, no lower case) keeps the
    words it has no expansion for.
    """
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
    return acronyms(text, mode, EN_EXPANSIONS)


EN_RULES: tuple[tuple[str, Rule], ...] = (
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
"""The English rules, named, in the order they run."""

