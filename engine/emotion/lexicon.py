"""Descriptions ("angrily, voice shaking", "悲伤地低语") mapped to an emotion label and an intensity 0-1.

A documented, table-driven lexicon in English and Chinese; no model, no network.
``docs/emotion-lexicon.md`` is this module's :func:`lexicon_markdown` (a test
compares them); regenerate it with
``python -m revoice.engine.emotion.lexicon --markdown > docs/emotion-lexicon.md``,
or try a description with ``python -m revoice.engine.emotion.lexicon "angrily, voice shaking"``.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

Group = tuple[float, tuple[str, ...]]
"""A base intensity (0-1) and the phrases that carry it."""

LEXICON: MappingProxyType[str, tuple[Group, ...]] = MappingProxyType({
    "neutral": (
        (0.7, ("neutral", "neutrally", "flat", "flatly", "deadpan", "monotone", "in a monotone", "matter-of-fact",
               "matter-of-factly", "emotionless", "expressionless", "without emotion", "unemotional", "unemotionally",
               "dispassionately", "plainly", "中性", "平淡", "面无表情", "毫无感情", "不带感情", "没有感情", "语气平平", "平铺直叙", "冷漠")),
    ),
    "happy": (
        (0.9, ("ecstatic", "ecstatically", "overjoyed", "elated", "jubilant", "jubilantly", "euphoric", "thrilled",
               "delighted", "delightedly", "gleeful", "gleefully", "laughing", "laughs", "laughingly", "tears of joy",
               "crying with joy", "狂喜", "欣喜若狂", "兴高采烈", "大笑", "哈哈大笑", "开怀大笑", "欢呼", "喜极而泣", "乐开了花")),
        (0.7, ("happy", "happily", "cheerful", "cheerfully", "cheery", "joyful", "joyfully", "joyous", "glad",
               "gladly", "excited", "excitedly", "merry", "merrily", "beaming", "giggling", "giggles", "chuckling",
               "chuckles", "playful", "playfully", "brightly", "upbeat", "enthusiastic", "enthusiastically", "开心",
               "高兴", "快乐", "愉快", "欢快", "喜悦", "欣喜", "兴奋", "笑着", "笑道", "欢喜", "乐呵呵", "笑嘻嘻", "笑眯眯", "欢乐", "雀跃", "愉悦")),
        (0.5, ("pleased", "content", "contented", "smiling", "smiles", "with a smile", "amused", "warmly", "fondly",
               "lighthearted", "微笑", "满意", "面带微笑", "轻快", "含笑", "笑")),
    ),
    "sad": (
        (0.9, ("sobbing", "sobs", "weeping", "weeps", "heartbroken", "devastated", "grief-stricken", "anguished",
               "in tears", "bursting into tears", "breaking down", "despairing", "in despair", "inconsolable", "痛哭",
               "嚎啕大哭", "号啕大哭", "泣不成声", "悲痛", "心碎", "绝望", "痛不欲生", "悲痛欲绝", "伤心欲绝")),
        (0.7, ("sad", "sadly", "sadness", "tearful", "tearfully", "crying", "cries", "mournful", "mournfully",
               "sorrowful", "sorrowfully", "unhappy", "unhappily", "miserable", "miserably", "grieving", "grief",
               "melancholy", "gloomy", "gloomily", "dejected", "dejectedly", "depressed", "forlorn", "downcast",
               "choked up", "悲伤", "伤心", "难过", "哭着", "哭泣", "流泪", "含泪", "含着泪", "哭腔", "悲哀", "哀伤", "忧伤", "悲凉", "凄凉", "沮丧",
               "失落", "不开心", "哽咽", "哭")),
        (0.5, ("wistful", "wistfully", "regretful", "regretfully", "somber", "sombre", "disappointed",
               "disappointedly", "lonely", "hurt", "sighing", "sighs", "with a sigh", "laughs bitterly",
               "bitter laugh", "遗憾", "失望", "惆怅", "低落", "苦笑", "委屈", "叹气", "叹息", "无奈", "不高兴")),
    ),
    "angry": (
        (0.9, ("furious", "furiously", "enraged", "livid", "raging", "in a rage", "rage", "seething", "fuming",
               "yelling", "yells", "shouting", "shouts", "roaring", "roars", "bellowing", "bellows", "screaming at",
               "screams at", "through gritted teeth", "through clenched teeth", "incensed", "irate", "outraged", "暴怒",
               "狂怒", "怒吼", "咆哮", "大怒", "勃然大怒", "怒不可遏", "气急败坏", "火冒三丈", "大发雷霆", "怒火中烧", "气坏了", "咬牙切齿", "吼道", "怒斥", "怒喝",
               "吼")),
        (0.8, ("angry", "angrily", "anger", "mad", "heatedly", "hostile", "snapping", "snaps", "barking", "barks",
               "snarling", "snarls", "growling", "growls", "venomously", "生气", "愤怒", "气愤", "恼怒", "发火", "怒气冲冲", "怒道",
               "厉声", "愤愤", "愤然", "凶狠", "凶巴巴", "没好气")),
        (0.5, ("annoyed", "irritated", "irritably", "irritable", "frustrated", "impatient", "impatiently",
               "exasperated", "indignant", "indignantly", "curtly", "sharply", "stern", "sternly", "grumbling",
               "grumbles", "sullen", "resentful", "crossly", "icily", "bitterly", "coldly", "不满", "不耐烦", "烦躁", "恼火",
               "不悦", "埋怨", "抱怨", "嗔怪", "责备", "严厉", "冷冷", "哭笑不得")),
    ),
    "afraid": (
        (0.9, ("terrified", "petrified", "panicked", "panicking", "in panic", "in terror", "horrified", "screaming",
               "screams", "hysterical", "惊恐", "恐惧", "惊慌失措", "吓坏了", "魂飞魄散", "毛骨悚然", "尖叫")),
        (0.7, ("afraid", "scared", "frightened", "fearful", "fearfully", "fear", "anxious", "anxiously", "nervous",
               "nervously", "panicky", "alarmed", "害怕", "惊慌", "慌张", "恐慌", "畏惧", "胆怯", "战战兢兢", "吓得", "提心吊胆", "焦虑", "紧张",
               "无助")),
        (0.5, ("worried", "worriedly", "uneasy", "uneasily", "apprehensive", "hesitant", "hesitantly", "timid",
               "timidly", "tense", "tensely", "stammering", "stammers", "stuttering", "nervous laugh", "担心", "忐忑",
               "不安", "结结巴巴", "犹豫", "怯生生", "胆小", "不知所措")),
    ),
    "surprised": (
        (0.9, ("astonished", "astounded", "stunned", "shocked", "flabbergasted", "dumbfounded", "thunderstruck", "震惊",
               "大吃一惊", "目瞪口呆", "惊呆", "瞠目结舌")),
        (0.7, ("surprised", "surprise", "in surprise", "amazed", "in amazement", "gasping", "gasps", "gasp",
               "startled", "incredulous", "incredulously", "in disbelief", "taken aback", "wide-eyed", "惊讶", "吃惊",
               "诧异", "惊奇", "惊喜", "惊叹", "愕然", "意外", "惊呼", "倒吸一口气", "难以置信")),
        (0.4, ("puzzled", "bewildered", "baffled", "疑惑", "纳闷")),
    ),
    "disgusted": (
        (0.9, ("revolted", "repulsed", "nauseated", "sickened", "with loathing", "loathing", "作呕", "令人作呕", "深恶痛绝",
               "反胃")),
        (0.7, ("disgusted", "disgust", "in disgust", "with disgust", "disgustedly", "repelled", "grossed out",
               "contemptuous", "contemptuously", "contempt", "with contempt", "sneering", "sneers", "sneer",
               "scornful", "scornfully", "scorn", "disdainful", "disdainfully", "disdain", "厌恶", "嫌弃", "鄙视", "轻蔑",
               "不屑", "冷笑", "嘲讽", "讥讽", "鄙夷", "嗤之以鼻", "嫌恶", "憎恶", "恶心")),
        (0.5, ("sarcastic", "sarcastically", "mocking", "mockingly", "derisive", "derisively", "with distaste",
               "distaste", "snide", "嘲笑", "挖苦", "讽刺", "反感")),
    ),
    "calm": (
        (0.8, ("serene", "serenely", "tranquil", "tranquilly", "peaceful", "peacefully", "soothing", "soothingly",
               "心平气和", "安详", "宁静", "从容不迫")),
        (0.7, ("calm", "calmly", "composed", "relaxed", "gentle", "gently", "placid", "evenly", "steadily",
               "reassuring", "reassuringly", "平静", "冷静", "镇定", "沉着", "从容", "淡定", "温柔", "轻柔", "柔和", "安抚", "安慰", "舒缓")),
        (0.5, ("quietly", "softly", "tender", "tenderly", "轻声", "轻轻", "温和", "缓缓")),
    ),
    "whisper": (
        (0.9, ("whispering", "whispers", "whispered", "whisper", "in a whisper", "under her breath",
               "under his breath", "under their breath", "under my breath", "barely audible", "耳语", "悄声", "悄悄话", "附耳",
               "气声")),
        (0.7, ("hushed", "breathy", "breathily", "sotto voce", "murmuring", "murmurs", "murmured", "低语", "悄悄地", "喃喃",
               "窃窃私语", "细语", "轻语")),
        (0.5, ("mumbling", "mumbles", "muttering", "mutters", "muttered", "小声", "低声", "嘀咕")),
    ),
})
"""Each label's phrases, grouped by base intensity (0-1). English phrases match whole words; Chinese ones
match anywhere (no spaces), with a trailing 地 taken along."""

SUPPORT_CUES: MappingProxyType[str, tuple[Group, ...]] = MappingProxyType({
    "afraid": (
        (0.6, ("shaking", "voice shaking", "shaky", "shakily", "trembling", "voice trembling", "trembles", "quivering",
               "quavering", "tremulous", "颤抖", "发抖", "哆嗦", "声音颤抖", "声音发颤", "颤声", "发颤", "打颤", "战栗")),
        (0.5, ("breathless", "breathlessly", "panting", "out of breath", "喘着气", "气喘吁吁")),
    ),
    "sad": (
        (0.6, ("voice breaking", "voice cracking", "cracking voice", "声音沙哑", "声音嘶哑")),
    ),
    "angry": (
        (0.5, ("loudly", "loud", "at the top of her lungs", "at the top of his lungs", "大声", "高声", "扯着嗓子")),
    ),
})
"""Voice-quality cues: alone they decide their label; beside other cues they add :data:`SUPPORT_BOOST` to the
winning label's intensity instead ("angrily, voice shaking" is a shaking anger, not fear)."""

SUPPORT_BOOST = 0.1
"""Intensity each support cue adds to the winning label (0-1 scale)."""

MODIFIERS: MappingProxyType[str, float] = MappingProxyType({
    "extremely": 1.5, "incredibly": 1.4, "utterly": 1.4, "intensely": 1.4, "absolutely": 1.3, "totally": 1.3,
    "completely": 1.3, "deeply": 1.3, "terribly": 1.3, "highly": 1.3, "very": 1.25, "really": 1.2, "truly": 1.2,
    "increasingly": 1.2, "quite": 1.1, "fairly": 0.9, "rather": 0.9, "almost": 0.8, "somewhat": 0.7, "kind of": 0.7,
    "sort of": 0.7, "a bit": 0.6, "a little": 0.6, "half": 0.6, "slightly": 0.5, "mildly": 0.5, "a little bit": 0.5,
    "a touch": 0.5, "a hint of": 0.4, "faintly": 0.4, "barely": 0.3, "hardly": 0.3, "极其": 1.5, "极度": 1.5, "极为": 1.5,
    "万分": 1.5, "无比": 1.5, "超级": 1.4, "非常": 1.3, "十分": 1.3, "特别": 1.3, "格外": 1.3, "太": 1.3, "很": 1.2, "相当": 1.2,
    "忍不住": 1.2, "不停地": 1.2, "不禁": 1.1, "不由得": 1.1, "不断": 1.1, "有点": 0.6, "有点儿": 0.6, "有些": 0.6, "有一点": 0.6, "一点": 0.6,
    "略带": 0.5, "略微": 0.5, "稍微": 0.5, "稍稍": 0.5, "微微": 0.5, "些许": 0.5, "不太": 0.4, "不怎么": 0.4,
})
"""Words before a cue that scale its intensity (factors; several multiply)."""

AFTER_MODIFIERS: MappingProxyType[str, float] = MappingProxyType({
    "极了": 1.5, "至极": 1.5, "得要命": 1.5, "得不行": 1.4, "透了": 1.4, "得很": 1.2,
})
"""Chinese degree complements after a cue ("生气极了") that scale it (factors)."""

NEGATIONS: tuple[str, ...] = (
    "not", "no", "never", "without", "isn't", "wasn't", "aren't", "weren't", "don't", "doesn't", "didn't",
    "no longer", "not at all", "not in the least", "不", "没", "没有", "并不", "并没有", "毫不", "毫无", "不再", "别",
    "并非", "绝不", "从不", "一点也不", "一点都不", "无")
"""Words that cancel the next cue ("not angry", "不生气"): that cue is skipped."""

MAX_GAP_UNITS = 2
"""How many unknown words (English) or characters (Chinese) may stand between a modifier or negation and its
cue; punctuation always ends the reach."""

RULES = """\
1. The text is normalised (NFKC: full-width letters and punctuation become ASCII; curly quotes straightened),
   lower-cased and its spaces collapsed.
2. Phrases are found longest first and never overlap ("不高兴" wins over "不" + "高兴", "无比" over "无").
   English phrases match whole words only; Chinese phrases match anywhere, and take a trailing 地 along.
3. A modifier scales the next cue; several multiply ("very very angry"). A negation skips the next cue
   ("not angry", "不生气", "not very angry"). Both reach over at most 2 unknown words or characters and never
   over punctuation. A Chinese degree complement after a cue scales it ("生气极了").
4. Each cue's intensity is its base intensity times its modifiers. Each label scores the sum of its cues'
   intensities; the highest score wins (a tie goes to the label named first in the text).
5. Whisper is a manner of delivery, and its target removes the voicing that carries the other labels' pitch
   changes, so a whispered line that keeps its voice is the bigger mistake: when any whisper cue is present the
   label is whisper ("悲伤地低语" is whisper, with "悲伤地" reported as overruled).
6. Support cues (voice quality: shaking, trembling, loudly, voice breaking) decide their own label only when
   nothing else is found; otherwise each adds 0.1 to the winner's intensity ("angrily, voice shaking" is
   angry 0.9).
7. The intensity is the winner's strongest cue plus the support boosts, clamped to 0-1. Text with no known cue
   (or only negated ones) gives no match; "neutral" results only from explicit words (neutral, flat, 平淡).
"""


@dataclass(frozen=True)
class DescriptionMatch:
    """The label and intensity a description maps to, and the words that decided it (for the report)."""

    label: str
    """One of :data:`revoice.engine.emotion.labels.LABELS`."""
    intensity: float
    """How strongly (0-1)."""
    cues: tuple[str, ...]
    """The phrases of the normalised text that decided it, in text order ("angrily", "voice shaking")."""
    overruled: tuple[str, ...] = ()
    """Phrases of other labels that lost ("悲伤地" under a whisper)."""

    def words(self) -> str:
        """For people: ``angry 0.9 from "angrily" + "voice shaking"``."""
        said = f"{self.label} {self.intensity:.2g} from " + " + ".join(f'"{cue}"' for cue in self.cues)
        return said + (" (over " + ", ".join(f'"{cue}"' for cue in self.overruled) + ")" if self.overruled else "")


Kind = Literal["cue", "support", "modifier", "after", "negation"]


@dataclass(frozen=True)
class _Hit:
    """One table phrase found in the text at ``start:end`` (character offsets)."""

    start: int
    end: int
    phrase: str
    kind: Kind
    label: str
    value: float
    """Base intensity (cues, after their modifiers) or factor (modifiers)."""
    negated: bool = False


_CLAUSE_BREAKS = frozenset(",.;:!?()[]{}\"/。、…—–《》「」『』\n")
_UNITS = re.compile(r"[a-z0-9'-]+|[^\sa-z0-9'-]")


def normalise(text: str) -> str:
    """``text`` as the lexicon reads it: NFKC, straight quotes, lower case, single spaces."""
    text = unicodedata.normalize("NFKC", str(text)).translate({0x2019: "'", 0x2018: "'", 0x201C: '"', 0x201D: '"'})
    return " ".join(text.lower().split())


def match_description(text: str) -> DescriptionMatch | None:
    """Map an English or Chinese description to a label and an intensity (:data:`RULES`); None when nothing
    in it is known."""
    normal = normalise(text)
    live = [hit for hit in _linked(normal, _find(normal)) if not hit.negated]
    if not live:
        return None
    plain = [hit for hit in live if hit.kind == "cue"] or live
    scores: dict[str, float] = {}
    for hit in plain:
        scores[hit.label] = scores.get(hit.label, 0.0) + hit.value
    label = "whisper" if "whisper" in scores else max(scores, key=lambda name: scores[name])
    chosen = [hit for hit in plain if hit.label == label]
    boosts = [hit for hit in live if hit.kind == "support" and hit not in chosen]
    intensity = min(max(max(hit.value for hit in chosen) + SUPPORT_BOOST * len(boosts), 0.0), 1.0)
    return DescriptionMatch(label=label, intensity=round(intensity, 3),
                            cues=tuple(hit.phrase for hit in live if hit in chosen or hit in boosts),
                            overruled=tuple(hit.phrase for hit in plain if hit.label != label))


def _entries() -> list[tuple[str, Kind, str, float]]:
    """Every phrase of the tables with its kind, label and base intensity or factor."""
    tables: tuple[tuple[MappingProxyType[str, tuple[Group, ...]], Kind], ...] = ((LEXICON, "cue"),
                                                                                 (SUPPORT_CUES, "support"))
    entries: list[tuple[str, Kind, str, float]] = [
        (phrase, kind, label, base) for table, kind in tables
        for label, groups in table.items() for base, phrases in groups for phrase in phrases]
    entries += [(phrase, "modifier", "", factor) for phrase, factor in MODIFIERS.items()]
    entries += [(phrase, "after", "", factor) for phrase, factor in AFTER_MODIFIERS.items()]
    return entries + [(phrase, "negation", "", 1.0) for phrase in NEGATIONS]


def _find(text: str) -> list[_Hit]:
    """The table phrases in ``text``: longest first (then leftmost), never overlapping; in text order."""
    found: list[_Hit] = []
    for phrase, kind, label, value in _entries():
        at = text.find(phrase)
        while at >= 0:
            if _whole(text, at, at + len(phrase)):
                found.append(_Hit(at, at + len(phrase), phrase, kind, label, value))
            at = text.find(phrase, at + 1)
    taken = [False] * len(text)
    hits: list[_Hit] = []
    for hit in sorted(found, key=lambda one: (one.start - one.end, one.start)):
        if not any(taken[hit.start:hit.end]):
            if hit.kind in ("cue", "support") and not hit.phrase.isascii() and text[hit.end:hit.end + 1] == "地":
                hit = replace(hit, end=hit.end + 1, phrase=hit.phrase + "地")
            taken[hit.start:hit.end] = [True] * (hit.end - hit.start)
            hits.append(hit)
    return sorted(hits, key=lambda hit: hit.start)


def _whole(text: str, start: int, end: int) -> bool:
    """Whether an English phrase at ``start:end`` stands as whole words (Chinese phrases always do)."""
    def word_char(at: int) -> bool:
        return 0 <= at < len(text) and text[at].isascii() and text[at].isalnum()
    return not ((text[start].isascii() and word_char(start - 1)) or (text[end - 1].isascii() and word_char(end)))


def _near(gap: str, most: int = MAX_GAP_UNITS) -> bool:
    """Whether a modifier or negation reaches over ``gap`` (no punctuation, at most ``most`` units)."""
    return not (_CLAUSE_BREAKS & set(gap)) and len(_UNITS.findall(gap)) <= most


def _linked(text: str, hits: list[_Hit]) -> list[_Hit]:
    """The cues with their modifiers applied and negations marked (rules 3 and 4)."""
    out: list[_Hit] = []
    factor, negated, reach_from = 1.0, False, -1
    for hit in hits:
        if reach_from < 0 or not _near(text[reach_from:hit.start]):
            factor, negated = 1.0, False
        if hit.kind in ("modifier", "negation"):
            factor, reach_from = factor * hit.value, hit.end
            negated = negated or hit.kind == "negation"
        elif hit.kind == "after" and out and out[-1].end == hit.start:
            out[-1] = replace(out[-1], value=out[-1].value * hit.value)
        elif hit.kind in ("cue", "support"):
            out.append(replace(hit, value=hit.value * factor, negated=negated))
            reach_from = -1
    return out


def lexicon_markdown() -> str:
    """docs/emotion-lexicon.md: the rules and every table of this module, as Markdown."""
    lines = ["# Emotion lexicon", "", "Generated by `python -m revoice.engine.emotion.lexicon --markdown` from "
             "`engine/emotion/lexicon.py`; a test checks that they match. Descriptions such as \"angrily, voice "
             "shaking\" or \"悲伤地低语\" map to a label and an intensity 0-1.", "", "## Rules", "", RULES]
    for title, table in (("Cues", LEXICON), ("Support cues (voice quality)", SUPPORT_CUES)):
        lines += [f"## {title}", "", "| label | base intensity | phrases |", "|---|---|---|"]
        lines += [f"| {label} | {base:g} | {', '.join(phrases)} |" for label, groups in table.items()
                  for base, phrases in groups] + [""]
    for title, factors in (("Modifiers (before the cue)", MODIFIERS), ("Degree complements (after the cue)",
                                                                        AFTER_MODIFIERS)):
        lines += [f"## {title}", "", "| phrase | factor |", "|---|---|"]
        lines += [f"| {phrase} | {factor:g} |" for phrase, factor in factors.items()] + [""]
    return "\n".join(lines + ["## Negations", "", ", ".join(NEGATIONS), ""])


def main(argv: list[str] | None = None) -> int:
    """``--markdown`` prints :func:`lexicon_markdown`; any other words are matched and the match printed."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--markdown"]:
        sys.stdout.write(lexicon_markdown())
        return 0
    if not args:
        print("usage: python -m revoice.engine.emotion.lexicon --markdown | DESCRIPTION", file=sys.stderr)
        return 2
    match = match_description(" ".join(args))
    print(match.words() if match else "no known emotion words")
    return 0 if match else 1


if __name__ == "__main__":
    raise SystemExit(main())
