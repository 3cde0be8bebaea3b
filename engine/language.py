"""Which language a line is in, from its script (cheap, offline, no model).

Lines with Han characters are Mandarin; everything else is English. Good
enough to route a zh/en reel to the right voice; an explicit language on
the command line or in marker metadata overrides it.
"""

from __future__ import annotations

AUTO = "auto"


def detect_language(text: str) -> str:
    """``"zh"`` when ``text`` holds a Han character (CJK unified ideographs), else ``"en"``."""
    for char in text:
        code = ord(char)
        if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF:
            return "zh"
    return "en"


def line_language(text: str, requested: str) -> str:
    """``requested`` unless it is ``"auto"``, then the language detected from ``text``."""
    return detect_language(text) if requested == AUTO else requested


def base_language(language: str) -> str:
    """The base language of a tag, lower case: ``"zh-CN"`` / ``"zh_cn"`` -> ``"zh"``, ``"EN"`` -> ``"en"``.

    The one place language tags are normalised; voices, QC, profiles and text all compare base languages.
    """
    return language.replace("_", "-").split("-")[0].lower()
