"""Text front end for the voices: normalization, Mandarin pinyin, pauses, the editor's dictionary.

:func:`describe` is what ``revoice text`` prints: the line as it will be
spoken, the rules that changed it, the stage directions taken out, the
pauses, and for Mandarin the pinyin (citation and spoken tones). Heavy
helpers (jieba, pypinyin, cn2an) are imported on first use, not here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from revoice.engine.text.dictionary import DictionaryError, PronunciationDictionary
from revoice.engine.text.directions import Silence, punctuation_pauses, split_directions
from revoice.engine.text.normalize import NormalizedText, Step, normalize, text_language
from revoice.engine.text.pinyin import apply_sandhi, to_pinyin, to_pinyin_words
from revoice.engine.text.rules import Abbreviations

__all__ = [
    "DictionaryError",
    "NormalizedText",
    "PronunciationDictionary",
    "Step",
    "apply_sandhi",
    "describe",
    "normalize",
    "to_pinyin",
]


def describe(
    text: str,
    *,
    language: str,
    dictionary: PronunciationDictionary | str | Path | None = None,
    abbreviations: Abbreviations = "spell",
) -> dict[str, Any]:
    """Everything the front end does to ``text``, JSON-ready.

    Keys: ``language``, ``original``, ``normalized`` (what is spoken,
    directions removed), ``steps`` (rule, before, after), ``pieces`` (speech
    and silences in order), ``directions`` (each with kind pause/action and
    seconds), ``pauses`` (punctuation mark and seconds); for Mandarin also
    ``pinyin`` (one citation syllable per Han character), ``pinyin_spoken``
    (after tone sandhi) and ``words`` (word, pinyin, source of the reading).
    ``dictionary`` may be a loaded dictionary or the path of its file.
    """
    lang = text_language(language)
    if dictionary is not None and not isinstance(dictionary, PronunciationDictionary):
        dictionary = PronunciationDictionary.load(dictionary)
    pieces, directions = split_directions(text)
    spoken: list[str] = []
    steps: list[dict[str, str]] = []
    piece_rows: list[dict[str, Any]] = []
    pinyin: list[str] = []
    sandhi: list[str] = []
    words: list[dict[str, str]] = []
    for piece in pieces:
        if isinstance(piece, Silence):
            piece_rows.append({"silence": piece.seconds, "reason": piece.reason})
            continue
        result = normalize(piece.text, language=lang, dictionary=dictionary, abbreviations=abbreviations)
        spoken.append(result.normalized)
        steps.extend({"rule": s.rule, "before": s.before, "after": s.after} for s in result.steps)
        row: dict[str, Any] = {"speak": result.normalized}
        if lang == "zh" or any("\u3400" <= c <= "\u9fff" for c in result.normalized):
            piece_words = to_pinyin_words(result.normalized, dictionary=dictionary)
            syllables = [s for w in piece_words for s in w.syllables]
            spoken_tones = apply_sandhi(result.normalized, syllables)
            row["pinyin"] = syllables
            pinyin.extend(syllables)
            sandhi.extend(spoken_tones)
            words.extend({"word": w.text, "pinyin": " ".join(w.syllables), "source": w.source} for w in piece_words)
        piece_rows.append(row)
    normalized = _joined(spoken)
    out: dict[str, Any] = {
        "language": lang,
        "original": text,
        "normalized": normalized,
        "steps": steps,
        "pieces": piece_rows,
        "directions": [
            {"text": d.text, "start": d.start, "end": d.end, "kind": d.kind, "seconds": d.seconds} for d in directions
        ],
        "pauses": [{"after": normalized[:p.index], "mark": p.mark, "seconds": p.seconds}
                   for p in punctuation_pauses(normalized)],
    }
    if lang == "zh" or pinyin:
        out["pinyin"] = pinyin
        out["pinyin_spoken"] = sandhi
        out["words"] = words
    return out


def _joined(parts: list[str]) -> str:
    text = ""
    for part in parts:
        if text and not ("\u3000" <= text[-1] <= "\uffef" or "\u3000" <= part[:1] <= "\uffef"):
            text += " "
        text += part
    return text
