"""Mandarin characters to tone-numbered pinyin, polyphones resolved, plus tone sandhi.

:func:`to_pinyin` gives one syllable per Han character, in order, in citation
tones (``银行`` -> ``["yin2", "hang2"]``; 一 is yi1 and 不 is bu4 everywhere).
Readings are decided, most trusted first, by:

1. the editor's :class:`~revoice.engine.text.dictionary.PronunciationDictionary`
   (matched anywhere in the text);
2. Revoice's phrase table (:mod:`revoice.engine.text._polyphones`), matched on jieba
   word boundaries (or inside one word);
3. context rules for the common polyphones when they stand alone
   (你行不行 xing2, 我得走了 dei3, 慢慢地 de5, 睡着了 zhao2 ...), using jieba's
   part-of-speech tags and the neighbouring words;
4. pypinyin's phrase dictionary on each jieba word.

:func:`apply_sandhi` turns citation tones into spoken ones (不, 一, third
tone) for voices that read tones literally. jieba and pypinyin are imported
on first use; jieba builds its word list once per process (about a second).
"""

from __future__ import annotations

import importlib
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revoice.engine.text import _polyphones as table
from revoice.engine.text.dictionary import HAN, PronunciationDictionary, is_han

_HAN_RUN = re.compile(f"[{HAN}]+")
_NUMERALS = "零〇一二两三四五六七八九十百千万亿"


@dataclass(frozen=True)
class PinyinWord:
    """A word of Han characters with one syllable per character and where the reading came from."""

    text: str
    syllables: tuple[str, ...]
    source: str
    """``dictionary`` (the editor's), ``table`` (Revoice's phrase table), ``rule`` (context rule) or ``pypinyin``."""
    pos: str = ""
    """jieba part-of-speech tag, when jieba segmented the word."""


@dataclass
class _Token:
    text: str
    pos: str
    syllables: list[str]
    locked: bool = False
    source: str = "pypinyin"


def _modules() -> tuple[Any, Any]:
    """(jieba.posseg, pypinyin), imported quietly on first use."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jieba = importlib.import_module("jieba")
        posseg = importlib.import_module("jieba.posseg")
    jieba.setLogLevel(logging.WARNING)
    return posseg, importlib.import_module("pypinyin")


def _phrases_dict() -> Any:
    return importlib.import_module("pypinyin.constants").PHRASES_DICT


def _word_pinyin(pypinyin: Any, word: str) -> list[str]:
    syllables = [str(s) for s in pypinyin.lazy_pinyin(
        word, style=pypinyin.Style.TONE3, neutral_tone_with_five=True, errors=lambda chars: ["?"] * len(chars))]
    if len(syllables) != len(word):
        syllables = [str(pypinyin.lazy_pinyin(c, style=pypinyin.Style.TONE3, neutral_tone_with_five=True)[0])
                     for c in word]
    return syllables


def to_pinyin(text: str, *, dictionary: PronunciationDictionary | None = None) -> list[str]:
    """One tone3 syllable per Han character of ``text``, in order (other characters are skipped)."""
    return [s for word in to_pinyin_words(text, dictionary=dictionary) for s in word.syllables]


def to_pinyin_words(text: str, *, dictionary: PronunciationDictionary | None = None) -> list[PinyinWord]:
    """The Han characters of ``text`` as words with their syllables (see the module docstring)."""
    words: list[PinyinWord] = []
    for run in _HAN_RUN.finditer(text):
        words.extend(_run_words(run.group(0), dictionary))
    return words


def _run_words(run: str, dictionary: PronunciationDictionary | None) -> list[PinyinWord]:
    out: list[PinyinWord] = []
    position = 0
    matches = [m for m in dictionary.find(run) if m.entry.pinyin] if dictionary is not None else []
    for match in matches:
        if match.start > position:
            out.extend(_gap_words(run[position:match.start]))
        out.append(PinyinWord(run[match.start:match.end], match.entry.pinyin, "dictionary"))
        position = match.end
    if position < len(run):
        out.extend(_gap_words(run[position:]))
    return out


def _gap_words(gap: str) -> list[PinyinWord]:
    posseg, pypinyin = _modules()
    phrases = _phrases_dict()
    tokens: list[_Token] = []
    for pair in posseg.lcut(gap):
        word, pos = str(pair.word), str(pair.flag)
        untrusted = (len(word) > 1 and word not in phrases and word not in table.PHRASES
                     and any(c in table.TARGETS for c in word))
        pieces = list(word) if untrusted else [word]
        for piece in pieces:
            tag = pos if len(pieces) == 1 else str(posseg.dt.word_tag_tab.get(piece, ""))
            syllables = _word_pinyin(pypinyin, piece)
            if tag.startswith("v") and piece in table.SINGLE_VERB_READINGS:
                syllables = [table.SINGLE_VERB_READINGS[piece]]
            tokens.append(_Token(piece, tag, syllables))
    _apply_table(tokens)
    for index, token in enumerate(tokens):
        if not token.locked and len(token.text) == 1 and token.text in table.TARGETS:
            reading = _rule(tokens, index)
            if reading is not None and reading != token.syllables[0]:
                token.syllables = [reading]
                token.source = "rule"
    words: list[PinyinWord] = []
    for token in tokens:
        cited = tuple(_citation(c, s) for c, s in zip(token.text, token.syllables))
        words.append(PinyinWord(token.text, cited, token.source, token.pos))
    return words


def _citation(char: str, syllable: str) -> str:
    """Citation tones for 一 and 不 (pypinyin's phrases sometimes carry sandhi)."""
    if char == "一":
        return "yi1"
    if char == "不":
        return "bu4"
    return syllable


def _apply_table(tokens: list[_Token]) -> None:
    """Overwrite readings with the phrase table where a match sits on word boundaries or inside one word."""
    text = "".join(t.text for t in tokens)
    owner: list[int] = []
    starts: set[int] = set()
    ends: set[int] = set()
    offset = 0
    for index, token in enumerate(tokens):
        starts.add(offset)
        owner.extend([index] * len(token.text))
        offset += len(token.text)
        ends.add(offset)
    lengths = sorted({len(k) for k in table.PHRASES}, reverse=True)
    i = 0
    while i < len(text):
        for length in lengths:
            j = i + length
            if j > len(text) or text[i:j] not in table.PHRASES:
                continue
            inside = owner[i] == owner[j - 1]
            if not inside and not (i in starts and j in ends):
                continue
            syllables = table.PHRASES[text[i:j]].split()
            _assign(tokens, owner, i, syllables)
            i = j - 1
            break
        i += 1


def _assign(tokens: list[_Token], owner: list[int], start: int, syllables: Sequence[str]) -> None:
    position = start
    for syllable in syllables:
        token = tokens[owner[position]]
        token_start = owner.index(owner[position])
        token.syllables[position - token_start] = syllable
        token.locked = True
        token.source = "table"
        position += 1


# --------------------------------------------------------------------------- context rules

def _text(tokens: Sequence[_Token], index: int) -> str:
    return tokens[index].text if 0 <= index < len(tokens) else ""


def _pos(tokens: Sequence[_Token], index: int) -> str:
    return tokens[index].pos if 0 <= index < len(tokens) else ""


def _is_reduplicated(word: str) -> bool:
    return len(word) == 2 and word[0] == word[1] or len(word) == 4 and word[0] == word[1] and word[2] == word[3]


def _verbish(pos: str) -> bool:
    return pos.startswith("v")


def _adjectivish(pos: str) -> bool:
    return pos[:1] in ("a", "z", "d", "i", "l", "b")


def _rule(tokens: Sequence[_Token], index: int) -> str | None:
    """The context reading of the single-character polyphone ``tokens[index]``, or None (keep)."""
    char = tokens[index].text
    prev, nxt = _text(tokens, index - 1), _text(tokens, index + 1)
    prev_pos, next_pos = _pos(tokens, index - 1), _pos(tokens, index + 1)
    after = "".join(t.text for t in tokens[index + 1:index + 4])
    before = "".join(t.text for t in tokens[max(0, index - 3):index])
    if char == "行":
        if prev[-1:] in _NUMERALS and after[:1] in ("字", "诗", "代", "泪", "文", "树"):
            return "hang2"
        return "xing2"
    if char == "长":
        if after.startswith(table.GROWTH_AFTER_ZHANG) or after.startswith(("得", "了一", "个子", "着")):
            return "zhang3"
        if nxt.startswith("了") and not before.endswith(table.DEGREE_ADVERBS):
            return "zhang3"
        return "chang2"
    if char == "还":
        if nxt in ("是", "有", "要", "没", "在", "好", "会", "能", "得", "不", "可以", "真", "挺", "很"):
            return "hai2"
        if nxt[:1] in ("钱", "书", "债", "账", "款", "给", "回", "清", "手", "了"):
            return "huan2"
        if nxt in ("你", "我", "他", "她", "它", "你们", "我们", "他们"):
            third, third_pos = _text(tokens, index + 2), _pos(tokens, index + 2)
            if not third or third_pos.startswith(("n", "m", "q")) or third[:1] in ("钱", "的", "一", "个"):
                return "huan2"
        return "hai2"
    if char == "重":
        if after.startswith(table.REDO_VERBS) and (nxt[:1] in table.REDO_VERBS):
            return "chong2"
        return "zhong4"
    if char == "为":
        if "以" in before or before.endswith(("被", "称", "成", "作", "认", "视", "分")):
            return "wei2"
        return "wei4"
    if char == "了":
        if prev in ("不", "得") and (index >= 2 and (_verbish(_pos(tokens, index - 2)) or _adjectivish(_pos(tokens, index - 2)))):
            return "liao3"
        return "le5"
    if char == "得":
        if nxt.startswith(("了", "过")) and not (_verbish(prev_pos) or _adjectivish(prev_pos)):
            return "de2"
        if nxt.startswith(("了", "过")) and prev_pos.startswith(("r", "n")):
            return "de2"
        subject = prev.endswith(table.SUBJECTS) or prev_pos.startswith(("r", "n"))
        modal = prev.endswith(table.MODAL_BEFORE_DEI)
        if (subject or modal) and (_verbish(next_pos) or nxt[:1] in table.DEI_NEXT):
            return "dei3"
        if _verbish(prev_pos) or _adjectivish(prev_pos) or prev_pos.startswith(("u", "m")):
            return "de5"
        return "de5"
    if char == "地":
        if prev[-1:] in "块片亩这那一" or prev_pos.startswith(("m", "q", "p", "f", "s")):
            return "di4"
        if tokens[index].pos == "uv" and not prev_pos.startswith("r"):
            return "de5"
        reduplicated = len(before) >= 2 and before[-1] == before[-2] or _is_reduplicated(prev)
        if (reduplicated or _adjectivish(prev_pos) or prev.endswith("然")) and (
                _verbish(next_pos) or next_pos.startswith(("p", "d")) or nxt[:1] in ("说", "笑", "哭", "看", "走")):
            return "de5"
        return "di4"
    if char == "着":
        if nxt.startswith("了") or prev in ("不", "得") or nxt.startswith(("急", "火", "凉", "迷")):
            return "zhao2"
        return "zhe5"
    if char == "乐":
        return "le4"
    if char == "教":
        return "jiao1"
    if char == "差":
        if nxt.startswith(("事", "遣", "役")):
            return "chai1"
        return "cha4"
    if char == "和":
        if nxt in ("面", "泥"):
            return "huo2"
        return "he2"
    if char == "数":
        if prev.endswith(table.SHU_NOUN_BEFORE):
            return "shu4"
        return "shu3"
    if char == "好":
        return "hao3"
    if char == "便":
        return "bian4"
    if char == "觉":
        if prev.endswith(table.JIAO_SLEEP_BEFORE) or nxt.startswith("醒") and prev.endswith("一"):
            return "jiao4"
        return "jue2"
    if char == "少":
        return "shao3"
    if char == "血":
        return "xie3"
    return None


# --------------------------------------------------------------------------- sandhi

def _tone(syllable: str) -> int:
    return int(syllable[-1]) if syllable[-1:].isdigit() else 5


def _with_tone(syllable: str, tone: int) -> str:
    return (syllable[:-1] if syllable[-1:].isdigit() else syllable) + str(tone)


def apply_sandhi(text: str, syllables: Sequence[str]) -> list[str]:
    """Spoken tones for ``syllables`` (citation tones, one per Han character of ``text``).

    * 不 before a fourth tone becomes bu2 (不要 bu2 yao4).
    * 一 becomes yi2 before a fourth tone, yi4 before tones 1-3, yi5 between
      a repeated verb (看一看); it stays yi1 in numbers (第一, 十一, 一二三),
      before 月 and at the end of a phrase.
    * In a run of third tones inside a phrase, all but the last become second
      tones (你好 ni2 hao3, 我也很好 wo2 ye2 hen2 hao3).

    Punctuation and any non-Han character end a phrase.
    """
    chars: list[str] = []
    breaks_after: set[int] = set()
    for char in text:
        if is_han(char):
            chars.append(char)
        elif chars and not char.isspace():
            breaks_after.add(len(chars) - 1)
    if len(chars) != len(syllables):
        raise ValueError(f"{len(syllables)} syllables for {len(chars)} Han characters in {text!r}")
    out = list(syllables)
    count = len(out)
    for i, char in enumerate(chars):
        last = i == count - 1 or i in breaks_after
        nxt_tone = _tone(syllables[i + 1]) if not last else 0
        if char == "不" and _tone(out[i]) == 4 and nxt_tone == 4:
            out[i] = _with_tone(out[i], 2)
        elif char == "一" and _tone(out[i]) == 1 and not last:
            prev = chars[i - 1] if i > 0 and i - 1 not in breaks_after else ""
            nxt = chars[i + 1]
            if (prev and prev in _NUMERALS + "第") or nxt in tuple("零〇一二两三四五六七八九十月"):
                continue
            if prev and prev == nxt:
                out[i] = _with_tone(out[i], 5)
            elif nxt_tone == 4 or nxt_tone == 5:
                out[i] = _with_tone(out[i], 2)
            elif nxt_tone in (1, 2, 3):
                out[i] = _with_tone(out[i], 4)
    i = 0
    while i < count:
        if _tone(out[i]) != 3:
            i += 1
            continue
        j = i
        while j + 1 < count and _tone(out[j + 1]) == 3 and j not in breaks_after:
            j += 1
        for k in range(i, j):
            out[k] = _with_tone(out[k], 2)
        i = j + 1
    return out
