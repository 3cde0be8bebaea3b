"""The editor's pronunciation dictionary: one JSON or TOML file per project.

A file maps words to how they are said, under a ``words`` table (or at the top
level). Each value is one of:

* a string: pinyin for a Chinese word (``"重庆" = "chong2 qing4"`` or
  ``"chóng qìng"``), a respelling for any other word (``"Nguyen" = "win"``),
  or phonemes between slashes (``"Nguyen" = "/wˈɪn/"``);
* a table with exactly one of ``pinyin``, ``say`` (respelling) or
  ``phonemes`` (voice phonemes, misaki/Kokoro IPA), plus an optional ``note``.

JSON::

    {"version": 1, "words": {"银行": "yin2 hang2", "Revoice": {"say": "ree voice"}}}

TOML::

    [words]
    "银行" = "yín háng"
    Nguyen = { phonemes = "wˈɪn" }

Chinese words match anywhere in a line; other words match whole words,
ignoring case. Longer entries win over shorter ones. Every problem is
reported at once, naming the file and the entry.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from revoice.engine.text._syllables import canonical_syllable

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff〇"
"""Character class body (for ``[...]``) of the Han characters read in pinyin."""

_HAN_RE = re.compile(f"[{HAN}]")
_ALL_HAN_RE = re.compile(f"[{HAN}]+")
_KEYS = ("pinyin", "say", "phonemes")


class DictionaryError(ValueError):
    """A pronunciation dictionary could not be read; the message names the file and each bad entry."""


@dataclass(frozen=True)
class DictionaryEntry:
    """How one word is said: exactly one of ``pinyin``, ``say`` or ``phonemes`` is set."""

    word: str
    pinyin: tuple[str, ...] = ()
    """One tone-numbered syllable per Han character (``("yin2", "hang2")``)."""
    say: str | None = None
    """Text spoken instead of the word (a respelling)."""
    phonemes: str | None = None
    """Phonemes handed to the voice as they are."""
    note: str = ""


@dataclass(frozen=True)
class Match:
    """Where a dictionary entry occurs in a text: ``text[start:end]``."""

    start: int
    end: int
    entry: DictionaryEntry


def is_han(char: str) -> bool:
    """True for a Han character (read with pinyin)."""
    return bool(_HAN_RE.fullmatch(char))


def _key(word: str) -> str:
    return word if _HAN_RE.search(word) else word.casefold()


@dataclass(frozen=True)
class PronunciationDictionary:
    """Word -> pronunciation, read from an editor's file (see the module docstring)."""

    entries: Mapping[str, DictionaryEntry] = field(default_factory=lambda: MappingProxyType({}))
    """Keyed by the word (Han words as written, other words case-folded)."""
    source: str = "<memory>"

    @classmethod
    def load(cls, path: str | Path) -> PronunciationDictionary:
        """Read a ``.json`` or ``.toml`` file; DictionaryError naming the file on any problem."""
        file = Path(path)
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise DictionaryError(f"{file}: cannot read the pronunciation dictionary ({exc.strerror or exc})") from exc
        suffix = file.suffix.lower()
        try:
            text = raw.decode("utf-8-sig")
            if suffix == ".toml":
                data: object = tomllib.loads(text)
            elif suffix == ".json":
                data = json.loads(text)
            else:
                raise DictionaryError(f"{file}: pronunciation dictionaries are .json or .toml files, not {suffix or 'no suffix'!r}")
        except UnicodeDecodeError as exc:
            raise DictionaryError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        except json.JSONDecodeError as exc:
            raise DictionaryError(f"{file}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise DictionaryError(f"{file}: invalid TOML: {exc}") from exc
        return cls.from_data(data, source=str(file))

    @classmethod
    def from_data(cls, data: object, *, source: str = "<memory>") -> PronunciationDictionary:
        """Build from parsed JSON/TOML data (``{"words": {...}}`` or a flat mapping)."""
        if not isinstance(data, Mapping):
            raise DictionaryError(f"{source}: expected a table of words, got {type(data).__name__}")
        words: object = data.get("words", data) if "words" in data else data
        if "words" in data:
            extra = sorted(set(data) - {"words", "version"})
            if extra:
                raise DictionaryError(f"{source}: unknown top-level key(s) {', '.join(map(repr, extra))} (expected 'words', 'version')")
            version = data.get("version", 1)
            if version != 1:
                raise DictionaryError(f"{source}: unsupported version {version!r} (this Revoice reads version 1)")
        if not isinstance(words, Mapping):
            raise DictionaryError(f"{source}: 'words' must be a table of word -> pronunciation")
        errors: list[str] = []
        entries: dict[str, DictionaryEntry] = {}
        for word, value in words.items():
            try:
                entry = _parse_entry(str(word), value)
            except ValueError as exc:
                errors.append(f"{source}: entry {str(word)!r}: {exc}")
                continue
            key = _key(entry.word)
            if key in entries:
                errors.append(f"{source}: entry {str(word)!r}: duplicates {entries[key].word!r} (case is ignored)")
                continue
            entries[key] = entry
        if errors:
            raise DictionaryError("\n".join(errors))
        return cls(MappingProxyType(entries), source)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[DictionaryEntry]:
        return iter(self.entries.values())

    def lookup(self, word: str) -> DictionaryEntry | None:
        """The entry for ``word`` (other than Han: case-insensitive), or None."""
        return self.entries.get(_key(word))

    def find(self, text: str) -> list[Match]:
        """Non-overlapping matches in ``text``, leftmost first, longest at each position.

        Han entries match anywhere; other entries only as whole words (not
        inside a longer run of letters or digits).
        """
        if not self.entries:
            return []
        lengths = sorted({len(k) for k in self.entries}, reverse=True)
        folded = text.casefold()
        # casefold can change lengths (ß -> ss); fall back to exact text then.
        same = len(folded) == len(text)
        matches: list[Match] = []
        i = 0
        while i < len(text):
            hit: Match | None = None
            for length in lengths:
                j = i + length
                if j > len(text):
                    continue
                piece = text[i:j]
                entry = self.entries.get(piece) if _HAN_RE.search(piece) else self.entries.get(
                    folded[i:j] if same else piece.casefold())
                if entry is None:
                    continue
                if not _HAN_RE.search(piece) and not _whole_word(text, i, j):
                    continue
                hit = Match(i, j, entry)
                break
            if hit is None:
                i += 1
            else:
                matches.append(hit)
                i = hit.end
        return matches


def _whole_word(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return not (before.isalnum() and not is_han(before)) and not (after.isalnum() and not is_han(after))


def parse_pinyin(value: str, han_count: int) -> tuple[str, ...]:
    """Pinyin text (numbers or marks, spaces/apostrophes/hyphens between) -> canonical syllables."""
    parts = [p for p in re.split(r"[\s'’\-]+", value.strip()) if p]
    if not parts:
        raise ValueError("pinyin is empty")
    marks = not any(p[-1:].isdigit() for p in parts)
    syllables: list[str] = []
    for part in parts:
        syllables.append(canonical_syllable(part, marks_mean_neutral=marks))
    if len(syllables) != han_count:
        raise ValueError(
            f"pinyin {value!r} has {len(syllables)} syllable(s) for {han_count} Chinese character(s); "
            "write one syllable per character, separated by spaces")
    return tuple(syllables)


def _parse_entry(word: str, value: object) -> DictionaryEntry:
    if not word.strip() or word != word.strip():
        raise ValueError("the word is empty or has spaces around it")
    han_count = len(_HAN_RE.findall(word))
    note = ""
    if isinstance(value, str):
        stripped = value.strip()
        if len(stripped) > 2 and stripped.startswith("/") and stripped.endswith("/"):
            kind, text = "phonemes", stripped[1:-1]
        elif _ALL_HAN_RE.fullmatch(word):
            kind, text = "pinyin", value
        else:
            kind, text = "say", value
    elif isinstance(value, Mapping):
        unknown = sorted(set(value) - {*_KEYS, "note"})
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}; use one of pinyin, say, phonemes (+ note)")
        given = [k for k in _KEYS if k in value]
        if len(given) != 1:
            raise ValueError(f"give exactly one of pinyin, say, phonemes (got {', '.join(given) or 'none'})")
        kind = given[0]
        raw = value[kind]
        if not isinstance(raw, str):
            raise ValueError(f"{kind} must be text, got {type(raw).__name__}")
        text = raw
        raw_note = value.get("note", "")
        note = raw_note if isinstance(raw_note, str) else str(raw_note)
    else:
        raise ValueError(f"expected text or a table, got {type(value).__name__}")
    if not text.strip():
        raise ValueError(f"{kind} is empty")
    if kind == "pinyin":
        if not _ALL_HAN_RE.fullmatch(word):
            raise ValueError("pinyin entries must be Chinese characters only; use 'say' or 'phonemes' for other words")
        return DictionaryEntry(word, pinyin=parse_pinyin(text, han_count), note=note)
    if kind == "phonemes":
        if _HAN_RE.search(text) or re.search(r"\d", text):
            raise ValueError(f"phonemes {text!r} contain digits or Chinese characters; phonemes are IPA symbols")
        return DictionaryEntry(word, phonemes=text.strip(), note=note)
    if _HAN_RE.search(word) and _HAN_RE.search(text) is None and not re.search("[A-Za-z]", text):
        raise ValueError(f"say {text!r} has nothing to speak")
    return DictionaryEntry(word, say=" ".join(text.split()), note=note)
