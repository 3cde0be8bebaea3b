"""Read subtitle files (SRT, WebVTT, ASS/SSA) into plain cues with speakers.

pysubs2 does the parsing. It is lenient (it silently drops or merges broken
SRT blocks), so SRT and WebVTT files are first checked block by block here and
rejected with an :class:`InputError` that names the file and line. A cue's own
emotion (a leading ``[angry]`` tag, an ASS actor ``MARA (angry)`` or an ASS
style ``Angry``) is read by revoice.otio_bridge.emotion_tags into ``Cue.emotion``.
"""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pysubs2
from revoice.engine.emotion.labels import Emotion
from revoice.otio_bridge.emotion_tags import (
    SUBTITLE_TAG,
    actor_emotion,
    first_emotion,
    split_emotion_tag,
    style_emotion,
)
from revoice.otio_bridge.errors import InputError
from revoice.otio_bridge.limits import DEFAULT_LIMITS, ReadLimits, read_bounded

FORMATS: Mapping[str, str] = MappingProxyType({".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ssa"})
"""Subtitle file extension (lower case) -> pysubs2 format name."""


@dataclass(frozen=True)
class Cue:
    """One subtitle: plain text between two times (seconds from the subtitle file's zero)."""

    index: int
    """1-based position in the file."""
    start_seconds: float
    end_seconds: float
    text: str
    """Plain text: tags stripped, line breaks turned into spaces, speaker prefix and emotion tag removed."""
    speaker: str | None
    source_line: int | None
    """1-based line of the cue's timing line in the file, where known."""
    emotion: Emotion | None = None
    """The cue's own emotion: its leading tag, else the ASS actor field's, else the ASS style's
    (revoice.otio_bridge.emotion_tags); None when it has none."""


@dataclass(frozen=True)
class _Block:
    """A cue as seen by the structural check: timing line number, times (ms) and raw text."""

    line: int
    start_ms: int
    end_ms: int
    raw_text: str


_SRT_TIME = r"(\d+):([0-5]\d):([0-5]\d),(\d{1,3})"
_SRT_TIMING = re.compile(rf"^\s*{_SRT_TIME}\s*-->\s*{_SRT_TIME}(\s+.*)?$")
_VTT_TIME = r"(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_VTT_TIMING = re.compile(rf"^\s*{_VTT_TIME}\s+-->\s+{_VTT_TIME}(\s+.*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")

_SPEAKER_PREFIX = re.compile(r"^\s*([^\W\d_][\w.'’\- ]{0,29}?)\s*(:\s+|：\s*)(?=\S)")
"""A short name, then ``:`` and a space, or the full-width ``：`` (CJK text puts no space after it)."""
_MAX_CASELESS_LETTERS = 8
"""Longest name in a script without capitals (Han, kana, Hangul, Arabic...): a CJK name is 1-4 characters."""
_NOT_CASELESS_SPEAKERS = frozenset(
    """注意 注 备注 備註 提示 字幕 翻译 翻譯 歌词 歌詞 时间 時間 地点 地點 问 問 答 问题 問題 回答 说明 說明 警告 重要
    例如 比如 总结 總結 场景 場景 音乐 音樂 标题 標題 注释 註釋 参考 參考 答案 原文 译文 譯文 内容 內容""".split()
)
"""Words of caseless scripts that end in a colon at the start of a line without being speaker names."""
_NOT_SPEAKERS = frozenset(
    """note notes nb ps warning caution attention important hint tip example question answer
    reminder remember update info information subject re fyi time date location place scene
    translation translated lyrics chorus verse title caption subtitle subtitles music sound
    summary quote step rule ok okay yes no well so and but or then now look listen""".split()
)
"""Words that end in a colon at the start of a line without being speaker names."""


def read_subtitles(path: str | Path, *, encoding: str | None = None,
                   limits: ReadLimits = DEFAULT_LIMITS) -> list[Cue]:
    """Read an .srt, .vtt, .ass or .ssa file into cues in file order.

    ``encoding`` defaults to what a byte-order mark says (UTF-8, UTF-16,
    UTF-32), else UTF-8. Files over ``limits.max_subtitle_bytes`` and
    malformed files (a block without a timing line, a malformed timing line,
    an SRT cue without text, end before start, no cues) raise
    :class:`InputError`. The file is only read, never written.
    """
    p = Path(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise InputError(p, None, f"unknown subtitle format '{p.suffix or p.name}'",
                         "Use an .srt, .vtt, .ass or .ssa file")
    text = _read_text(p, encoding, limits)
    if not text.strip():
        raise InputError(p, None, "the subtitle file is empty", "Export the subtitles again")

    blocks: list[_Block] | None = None
    if fmt == "srt":
        blocks = _check_srt(p, text)
    elif fmt == "vtt":
        blocks = _check_vtt(p, text)

    try:
        subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    except Exception as exc:  # pysubs2 raises its own and plain ValueErrors
        raise InputError(p, None, f"cannot parse the subtitles: {' '.join(str(exc).split())}",
                         f"Check that the file is valid {fmt.upper()}") from exc

    events = [e for e in subs.events if not e.is_comment]
    if not events:
        raise InputError(p, None, "the file has no subtitle cues", "Export the subtitles again")

    cues: list[Cue] = []
    next_block = 0
    for number, event in enumerate(events, start=1):
        block: _Block | None = None
        if blocks is not None:
            for j in range(next_block, len(blocks)):
                if (blocks[j].start_ms, blocks[j].end_ms) == (event.start, event.end):
                    block, next_block = blocks[j], j + 1
                    break
        line = block.line if block is not None else None
        if event.end < event.start:
            raise InputError(p, line, f"cue {number} ends before it starts",
                             "Fix the cue's timing (end must not be before start)")
        raw = block.raw_text if block is not None else event.text
        speaker, actor = (_voice(raw), None) if fmt == "vtt" else actor_emotion(event.name)
        speaker, tag, plain = split_line_words(clean_text(event.plaintext), speaker)
        cues.append(Cue(
            index=number,
            start_seconds=event.start / 1000.0,
            end_seconds=event.end / 1000.0,
            text=plain,
            speaker=speaker,
            source_line=line,
            emotion=first_emotion(tag, actor, style_emotion(event.style) if fmt in ("ass", "ssa") else None),
        ))
    return cues


_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),  # before UTF-16 LE: its mark starts the same
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
"""Byte-order marks: (mark, Python codec that drops it, name in messages)."""


def _read_text(path: Path, encoding: str | None, limits: ReadLimits) -> str:
    """The file's text, at most ``limits.max_subtitle_bytes``; a leading byte-order mark is dropped.

    Without ``encoding`` the byte-order mark says the encoding (UTF-8, UTF-16
    or UTF-32, either byte order), else it is UTF-8.
    """
    data = read_bounded(path, max_bytes=limits.max_subtitle_bytes, what="subtitle file")
    codec, name = (encoding, encoding) if encoding else next(
        ((c, n) for bom, c, n in _BOMS if data.startswith(bom)), ("utf-8", "UTF-8"))
    if encoding is None and codec == "utf-8" and b"\x00" in data[:4096]:
        raise InputError(path, None, "the file holds NUL bytes: UTF-16 or UTF-32 text without a byte-order mark?",
                         "Save it as UTF-8 (or as UTF-16 with a byte-order mark)")
    try:
        text = data.decode(codec)
    except LookupError:
        raise InputError(path, None, f"unknown text encoding '{encoding}'",
                         "Pass an encoding Python knows, e.g. 'utf-8' or 'cp1252'") from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1 if name in ("UTF-8", "utf-8") else None
        hint = ("Check the encoding passed, or save the file as UTF-8" if encoding else
                "Save it with UTF-8 encoding (UTF-16 or UTF-32 with a byte-order mark are read too)")
        raise InputError(path, line, f"the file is not valid {name} text", hint) from None
    if "\x00" in text:
        raise InputError(path, None, "the file holds NUL characters", "Save it again as plain UTF-8 text")
    return text.lstrip("\ufeff")


def _blocks(text: str) -> list[list[tuple[int, str]]]:
    """Runs of non-blank lines as ``(1-based line number, line)`` lists."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            current.append((number, line.rstrip()))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _ms(h: str | None, m: str, s: str, frac: str) -> int:
    """Milliseconds from regex groups; ``frac`` is a decimal fraction of a second."""
    return ((int(h or 0) * 60 + int(m)) * 60 + int(s)) * 1000 + int(frac.ljust(3, "0")[:3])


def _check_srt(path: Path, text: str) -> list[_Block]:
    """Check SRT structure: [number], timing line, one or more text lines per block."""
    found: list[_Block] = []
    example = "'00:00:01,000 --> 00:00:02,500'"
    for block in _blocks(text):
        rest = block[1:] if block[0][1].strip().isdigit() else block
        if not rest:
            number, line = block[0]
            raise InputError(path, number, f"cue {line.strip()} has no timing line",
                             f"Add a timing line like {example} after the cue number")
        number, timing = rest[0]
        match = _SRT_TIMING.match(timing)
        if match is None:
            if "-->" in timing:
                raise InputError(path, number, f"malformed timing line '{timing.strip()}'",
                                 f"Write times as HH:MM:SS,mmm, e.g. {example}")
            raise InputError(path, number, f"expected a timing line, found '{_short(timing)}'",
                             f"Each cue needs a number, a timing line like {example} and text; "
                             "check for a missing timing line or a stray blank line")
        g = match.groups()
        start, end = _ms(*g[0:4]), _ms(*g[4:8])
        if end < start:
            raise InputError(path, number, "cue ends before it starts",
                             "Fix the timing line (end must not be before start)")
        body = rest[1:]
        if not body:
            raise InputError(path, number, "cue has no text",
                             "Add the dialogue text under the timing line or delete the cue")
        for text_number, text_line in body:
            if _SRT_TIMING.match(text_line):
                raise InputError(path, text_number, "timing line inside a cue's text",
                                 "Separate cues with a blank line")
        found.append(_Block(number, start, end, "\n".join(t for _, t in body)))
    if not found:
        raise InputError(path, None, "the file has no subtitle cues", "Export the subtitles again")
    return found


def _check_vtt(path: Path, text: str) -> list[_Block]:
    """Check WebVTT structure: header, then cues whose timing lines are well formed."""
    blocks = _blocks(text)
    if not blocks or not re.match(r"WEBVTT(\s|$)", blocks[0][0][1]):
        header_line = blocks[0][0][0] if blocks else None
        raise InputError(path, header_line, "missing the 'WEBVTT' header line",
                         "Start the file with a line reading WEBVTT, or save it as .srt")
    found: list[_Block] = []
    for block in blocks[1:]:
        first = block[0][1].lstrip()
        if re.match(r"(NOTE|STYLE|REGION)(\s|$)", first) and "-->" not in first:
            continue
        timing_at = [i for i, (_, text_line) in enumerate(block) if "-->" in text_line]
        if not timing_at or timing_at[0] > 1:
            number, text_line = block[0]
            raise InputError(path, number, f"expected a cue timing line, found '{_short(text_line)}'",
                             "Each cue needs a timing line like '00:01.000 --> 00:02.500'")
        for k, i in enumerate(timing_at):
            number, timing = block[i]
            match = _VTT_TIMING.match(timing)
            if match is None:
                raise InputError(path, number, f"malformed timing line '{timing.strip()}'",
                                 "Write times as [HH:]MM:SS.mmm, e.g. '00:01.000 --> 00:02.500'")
            g = match.groups()
            start, end = _ms(*g[0:4]), _ms(*g[4:8])
            if end < start:
                raise InputError(path, number, "cue ends before it starts",
                                 "Fix the timing line (end must not be before start)")
            stop = timing_at[k + 1] if k + 1 < len(timing_at) else len(block)
            found.append(_Block(number, start, end, "\n".join(t for _, t in block[i + 1:stop])))
    if not found:
        raise InputError(path, None, "the file has no subtitle cues", "Export the subtitles again")
    return found


def _short(text: str, limit: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _voice(raw: str) -> str | None:
    """The first WebVTT voice name (``<v Name>``) in a cue's raw text."""
    match = _VOICE.search(raw)
    if match is None:
        return None
    name = " ".join(match.group(1).split())
    return name or None


def clean_text(text: str) -> str:
    """Plain one-line text: markup tags and ASS overrides removed, whitespace collapsed."""
    text = _ASS_OVERRIDE.sub("", text.replace("\\N", "\n").replace("\\n", "\n"))
    text = html.unescape(_TAG.sub("", text))
    return " ".join(text.split())


def split_line_words(text: str, speaker: str | None, *,
                     tag_source: str | None = SUBTITLE_TAG) -> tuple[str | None, Emotion | None, str]:
    """Plain one-line ``text`` as ``(speaker, emotion tag, spoken text)``.

    The speaker prefix is split off when ``speaker`` is None
    (:func:`split_speaker_prefix`), then a leading emotion tag
    (``MARA: [angry] Go`` -> MARA, angry, ``Go``; ``[angry] MARA: Go`` too),
    read with ``tag_source`` as its source; ``tag_source`` None leaves tags in
    the text. Only a tag at the start is the line's emotion
    (revoice.otio_bridge.emotion_tags).
    """
    if speaker is None:
        speaker, text = split_speaker_prefix(text)
    if tag_source is None:
        return speaker, None, text
    emotion, text = split_emotion_tag(text, source=tag_source)
    if emotion is not None and speaker is None:
        speaker, text = split_speaker_prefix(text)
    return speaker, emotion, text


def split_speaker_prefix(text: str) -> tuple[str | None, str]:
    """Split ``"ANNA: Hello"`` into ``("ANNA", "Hello")``; other text comes back unchanged.

    Only a short name at the very start counts: all capitals (``DR. MAY``,
    ``MAN 2``, ``ÉLODIE``) or up to three Title-case words (``Anna``, ``Mary
    Jane``), and not common words such as ``Note:`` or ``Warning:``. Names in
    scripts without capitals (``佐藤``, ``김민준``) count when at most 8
    letters long (``注意：`` and the like excepted); after them the colon may
    be full-width (``佐藤：你好``).
    """
    match = _SPEAKER_PREFIX.match(text)
    if match is None:
        return None, text
    name = " ".join(match.group(1).split())
    words = name.replace(".", " ").split()
    if not words or len(words) > 3 or name.lower().rstrip(".") in _NOT_SPEAKERS:
        return None, text
    letters = [c for c in name if c.isalpha()]
    cased = [c for c in letters if c.isupper() or c.islower()]
    if cased:
        all_caps = all(c.isupper() for c in cased)
        title = all(w[0].isupper() for w in words if w[0].islower() or w[0].isupper())
        named = len(letters) >= 2 and (all_caps or title)
    else:
        named = (len(letters) <= _MAX_CASELESS_LETTERS and name not in _NOT_CASELESS_SPEAKERS
                 and not name.endswith(("说", "說")) and (len(letters) >= 2 or "：" in match.group(2)))
    if not named:
        return None, text
    return name, text[match.end():].strip()
