"""Kokoro's text front end: a line to the phonemes the model reads, through Revoice's own text rules.

The editor's dictionary and the polyphone fixes reach the voice: stage
directions become silences (:mod:`revoice.engine.text.directions`),
:func:`revoice.engine.text.normalize` spells out numbers and symbols,
:func:`revoice.engine.text.pinyin.to_pinyin_words` reads the characters,
:func:`~revoice.engine.text.pinyin.apply_sandhi` gives spoken tones (the model
reads tones literally) and misaki's pinyin-to-IPA table makes the phonemes.
English words in a line use misaki's US lexicon (no spaCy, no espeak): known
words as listed, acronyms and unknown words letter by letter. Dictionary
entries with ``phonemes`` are passed through as written. No model is needed.
"""

from __future__ import annotations

import importlib
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from revoice.engine.text.dictionary import HAN, PronunciationDictionary
from revoice.engine.text.directions import Silence, sentences, split_directions
from revoice.engine.text.normalize import normalize, text_language
from revoice.engine.text.pinyin import apply_sandhi, to_pinyin_words
from revoice.engine.voices._shared import package_folder

_PUNCTUATION = {
    "，": ",", "、": ",", "。": ".", "．": ".", "！": "!", "？": "?", "：": ":", "；": ";", "……": "…", "...": "…",
    "——": "—", "--": "—", "“": "“", "”": "”", "「": "“", "」": "”", "《": "“", "》": "”", "‘": "“", "’": "”",
    "（": "(", "）": ")", ",": ",", ".": ".", "!": "!", "?": "?", ":": ":", ";": ";", "…": "…", "—": "—",
    "\"": "\"", "(": "(", ")": ")",
}
_PUNCT_RE = re.compile("|".join(re.escape(p) for p in sorted(_PUNCTUATION, key=len, reverse=True)))
_TOKEN_RE = re.compile(
    rf"(?P<han>[{HAN}]+)|(?P<latin>[A-Za-z]+(?:['’][A-Za-z]+)*)|(?P<punct>{_PUNCT_RE.pattern})|(?P<space>\s+)|(?P<other>.)")


@dataclass(frozen=True)
class PhonemizedSentence:
    """One sentence as the voice gets it: the text, its phonemes and the pause after it (seconds)."""

    text: str
    phonemes: str
    pause_after: float


class KokoroPhonemizer:
    """Text -> Kokoro phonemes through Revoice's front end and misaki (no model needed).

    ``vocab`` (symbol -> token id) only decides which sentences have anything
    speakable; without it every symbol counts.
    """

    def __init__(self, vocab: Mapping[str, int] | None = None, *, sandhi: bool = True) -> None:
        """``sandhi=False`` hands the model citation tones (as misaki does) instead of spoken ones."""
        self._sandhi = sandhi
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # jieba imports pkg_resources
            self._zh: Any = importlib.import_module("misaki.zh").ZHG2P
        self._vocab = vocab
        self._lexicon: dict[str, str] | None = None

    def _english_lexicon(self) -> dict[str, str]:
        if self._lexicon is None:
            folder = package_folder("misaki")
            assert folder is not None
            lexicon: dict[str, str] = {}
            for name in ("us_silver.json", "us_gold.json"):  # gold last: it wins
                raw: dict[str, Any] = json.loads((folder / "data" / name).read_text(encoding="utf-8"))
                for word, value in raw.items():
                    if isinstance(value, dict):
                        value = value.get("DEFAULT") or next((v for v in value.values() if v), None)
                    if isinstance(value, str) and value:
                        lexicon[word] = value
            self._lexicon = lexicon
        return self._lexicon

    def english_word(self, word: str) -> str:
        """Phonemes of one English word: lexicon, simple suffixes, else the fewest known pieces (or letters)."""
        lexicon = self._english_lexicon()
        clean = word.replace("’", "'")
        for key in (clean, clean.lower(), clean.capitalize()):
            if key in lexicon and not (len(key) > 1 and key.isupper() and key.lower() not in lexicon):
                return lexicon[key]
        if clean.isupper() and len(clean) <= 5:
            return " ".join(lexicon[c] for c in clean if c in lexicon)
        lower = clean.lower()
        for suffix, sound in (("'s", "z"), ("s", "z"), ("es", "ᵻz"), ("ed", "d"), ("ing", "ɪŋ"), ("ly", "li")):
            stem = lower[: -len(suffix)]
            if lower.endswith(suffix) and stem in lexicon:
                return lexicon[stem] + sound
        return self._pieces(lower, lexicon)

    @staticmethod
    def _pieces(word: str, lexicon: Mapping[str, str]) -> str:
        """An unknown word as the fewest known pieces (iphone -> i + phone); single letters cost most."""
        best: list[tuple[float, list[str]] | None] = [None] * (len(word) + 1)
        best[0] = (0.0, [])
        for end in range(1, len(word) + 1):
            for start in range(max(0, end - 12), end):
                previous = best[start]
                piece = word[start:end]
                if previous is None:
                    continue
                if len(piece) > 1 and piece in lexicon:
                    cost = previous[0] + 1.0
                elif len(piece) == 1 and piece.upper() in lexicon:
                    cost = previous[0] + 3.0
                else:
                    continue
                current = best[end]
                if current is None or cost < current[0]:
                    best[end] = (cost, [*previous[1], lexicon[piece] if len(piece) > 1 else lexicon[piece.upper()]])
        found = best[len(word)]
        return " ".join(found[1]) if found else ""

    def phonemize(
        self, text: str, *, language: str = "zh", dictionary: PronunciationDictionary | None = None
    ) -> list[PhonemizedSentence | Silence]:
        """``text`` as the voice will get it: sentences with phonemes, and silences from directions."""
        lang = text_language(language)
        pieces, _directions = split_directions(text)
        out: list[PhonemizedSentence | Silence] = []
        for piece in pieces:
            if isinstance(piece, Silence):
                out.append(piece)
                continue
            spoken = normalize(piece.text, language=lang, dictionary=dictionary).normalized
            for sentence, pause in sentences(spoken):
                phonemes = self.sentence_phonemes(sentence, dictionary=dictionary)
                if any((self._vocab is None or c in self._vocab) and c not in " ,.!?;:…—“”\"()" for c in phonemes):
                    out.append(PhonemizedSentence(sentence, phonemes, pause))
                elif out and isinstance(out[-1], PhonemizedSentence) and pause:
                    last = out[-1]
                    out[-1] = PhonemizedSentence(last.text, last.phonemes, max(last.pause_after, pause))
        return out

    def sentence_phonemes(self, sentence: str, *, dictionary: PronunciationDictionary | None = None) -> str:
        """Phonemes of one normalized sentence (Han via pinyin + sandhi, Latin via the lexicon)."""
        parts: list[str] = []
        position = 0
        matches = [m for m in dictionary.find(sentence) if m.entry.phonemes] if dictionary is not None else []
        for match in matches:
            parts.append(self._plain_phonemes(sentence[position:match.start], dictionary))
            parts.append(" " + str(match.entry.phonemes) + " ")
            position = match.end
        parts.append(self._plain_phonemes(sentence[position:], dictionary))
        text = "".join(parts)
        text = re.sub(r"\s+", " ", text)
        text = re.sub(r" ([,.!?;:…)”])", r"\1", text)
        return text.strip()

    def _plain_phonemes(self, text: str, dictionary: PronunciationDictionary | None) -> str:
        out: list[str] = []
        for token in _TOKEN_RE.finditer(text):
            kind = token.lastgroup
            value = token.group(0)
            if kind == "han":
                out.append(" " + self._han_phonemes(value, dictionary) + " ")
            elif kind == "latin":
                out.append(" " + self.english_word(value) + " ")
            elif kind == "punct":
                out.append(_PUNCTUATION[value] + " ")
            elif kind == "space":
                out.append(" ")
        return "".join(out)

    def _han_phonemes(self, run: str, dictionary: PronunciationDictionary | None) -> str:
        words = to_pinyin_words(run, dictionary=dictionary)
        syllables = [s for w in words for s in w.syllables]
        spoken = apply_sandhi(run, syllables) if self._sandhi else syllables
        # The model never saw a toneless 一 (its training pinyin has none) and garbles it: 看一看 -> yi2.
        han = [c for w in words for c in w.text]
        spoken = ["yi2" if c == "一" and s == "yi5" else s for c, s in zip(han, spoken)]
        pieces: list[str] = []
        position = 0
        for word in words:
            count = len(word.syllables)
            pieces.append("".join(self._zh.py2ipa(s) for s in spoken[position:position + count]))
            position += count
        return " ".join(pieces).replace(chr(815), "")

