"""Voice profiles: one per character, stored as JSON beside the job.

A :class:`VoiceProfile` records where the character's reference audio came
from (:class:`ReferenceClip`: file and range in seconds, the line it was
under, its SNR), the actor's consent, the reference's d-vector and pitch
statistics, and one :class:`revoice.engine.characters.tint.VoiceMatch` per language
(the base voice and tint that speak for the character). ``kind`` says what
the character gets: ``"tint"`` (offline matching: a stock voice moved toward
the character, not a clone), ``"clone"`` (a neural backend speaking from
the reference) or ``"convert"`` (the tint's voice, then converted to the
reference's timbre by the voice converter named in ``converter``,
revoice.engine.conversion).

Profiles are written atomically (:func:`revoice.engine.files.write_text_atomic`); loading checks
every field and raises :class:`ProfileError` naming the file and the field.
:attr:`VoiceProfile.key` is a content hash of what decides rendered audio.

Several processes or machines (``revoice run --shard K/N``) may share one
folder: :meth:`ProfileStore.claim` takes a lock file beside a profile
(``NAME.voice.json.lock``, a :class:`revoice.engine.files.FileLock`), so only
one of them builds and tunes a character while the others wait and then
reuse what it saved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from revoice.engine.characters.tint import VoiceMatch, VoiceTint
from revoice.engine.characters.tuning import TuningCancelled
from revoice.engine.files import FileLock, LockPolicy, LockWording, write_text_atomic
from revoice.engine.formats import PROFILE_FORMAT_VERSION
from revoice.engine.language import base_language

PROFILE_KINDS = ("tint", "clone", "convert")
CONVERT = "convert"
CONSENT_STATES = ("unknown", "granted", "denied")
PROFILE_SUFFIX = ".voice.json"
LOCK_SUFFIX = ".lock"
"""A profile's lock file is its file name plus this (``NELL.voice.json.lock``)."""
LOCK_WORDING = LockWording(thing="voice profile", peer="shard", clash="tune the same character")
"""How a profile lock's messages read: "waiting for another shard to finish voice profile NELL"."""


class ProfileError(ValueError):
    """A profile file or value that cannot be used; ``str()`` names the file and the field."""

    def __init__(self, where: str | Path | None, field_name: str, message: str) -> None:
        self.where = str(where) if where is not None else None
        self.field_name = field_name
        self.message = message
        prefix = f"{self.where}: " if self.where else ""
        super().__init__(f"{prefix}field '{field_name}': {message}")


@dataclass(frozen=True)
class ReferenceClip:
    """A piece of reference audio: ``path`` from ``start_seconds`` to ``end_seconds`` (seconds in the file).

    ``line_id`` is the dialogue line it was found under (None: supplied by the
    editor); ``snr_db`` the estimated speech-to-noise ratio (None: not measured).
    """

    path: str
    start_seconds: float
    end_seconds: float
    line_id: str | None = None
    snr_db: float | None = None

    @property
    def seconds(self) -> float:
        return self.end_seconds - self.start_seconds


CONSENT_UNKNOWN_WORDS = "consent unknown — record it before delivery"
"""What the summary, the QC report and the panel say of a profile whose consent is not recorded."""


@dataclass(frozen=True)
class Consent:
    """The actor's consent to have their voice matched or cloned: ``status`` unknown, granted or denied.

    A profile built from a real person's voice renders with "unknown" consent
    but every line it speaks is flagged until the consent is recorded;
    "denied" never renders (a stock voice speaks those lines).
    """

    status: str = "unknown"
    by: str = ""
    """Who recorded the decision (the editor or the actor's agent)."""
    date: str = ""
    """ISO date of the decision."""
    note: str = ""
    scope: str = ""
    """What the consent covers, free text ("this production", "trailer only"); "" when not stated.
    Written to the file only when set, so profiles without one stay readable by older Revoice."""

    @property
    def recorded(self) -> bool:
        """Whether someone decided (granted or denied); False while it is unknown."""
        return self.status != "unknown"

    @property
    def words(self) -> str:
        """The decision in words: ``granted by A. Editor on 2026-11-21 for this production`` (``unknown``)."""
        return (self.status + (f" by {self.by}" if self.by else "") + (f" on {self.date}" if self.date else "")
                + (f" for {self.scope}" if self.scope else ""))

    def to_dict(self) -> dict[str, str]:
        """JSON-ready dict; ``scope`` only when set (older readers refuse keys they do not know)."""
        data = dataclasses.asdict(self)
        if not self.scope:
            del data["scope"]
        return data


@dataclass(frozen=True)
class VoiceStats:
    """Statistics of the reference speech: F0 in Hz (median, 10th and 90th percentile) and speech seconds."""

    f0_median_hz: float | None = None
    f0_p10_hz: float | None = None
    f0_p90_hz: float | None = None
    speech_seconds: float = 0.0


@dataclass(frozen=True)
class VoiceProfile:
    """One character's voice: references with provenance, consent, embedding, stats and matches."""

    name: str
    kind: str = "tint"
    references: tuple[ReferenceClip, ...] = ()
    consent: Consent = field(default_factory=Consent)
    embedding: tuple[float, ...] = ()
    """L2-normalised d-vector of the reference speech (engine.speaker)."""
    stats: VoiceStats = field(default_factory=VoiceStats)
    matches: tuple[VoiceMatch, ...] = ()
    """One per language (``VoiceMatch.language``)."""
    strength: float = 1.0
    """How far the tint goes, 0 (stock voice, cleanest) to 1 (full tint, most like the character)."""
    created: str = ""
    """ISO time the profile was built."""
    version: int = PROFILE_FORMAT_VERSION
    converter: str = ""
    """Kind "convert": the voice converter's registry name (``openvoice``); "" for the other kinds."""

    def __post_init__(self) -> None:
        check_profile(self)

    @property
    def key(self) -> str:
        """Content hash of what decides rendered audio: kind, strength, and each match's voice and tint.

        Report-only match fields (similarities, timings, candidates) are left out.
        """
        payload: dict[str, Any] = {"version": self.version, "kind": self.kind, "strength": self.strength,
                                   "matches": [[m.language, m.backend, m.voice_id, _match_dict(m)["tint"]]
                                               for m in sorted(self.matches, key=lambda m: m.language)]}
        if self.converter:  # only then: the keys of tint and clone profiles stay as they were
            payload["converter"] = self.converter
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]

    @property
    def references_key(self) -> str:
        """Hash of the reference clips (files and ranges): a profile is rebuilt when it changes."""
        payload = [[r.path, round(r.start_seconds, 4), round(r.end_seconds, 4), r.line_id] for r in self.references]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:32]

    @property
    def reference_seconds(self) -> float:
        return sum(r.seconds for r in self.references)

    @property
    def editor_supplied(self) -> bool:
        """Whether any reference was given by the editor (not found under a line)."""
        return any(r.line_id is None for r in self.references)

    def match_for(self, language: str) -> VoiceMatch | None:
        """The match for ``language`` (base language: "en" ~ "en-US"), or None."""
        base = base_language(language)
        return next((m for m in self.matches if base_language(m.language) == base), None)

    def with_match(self, match: VoiceMatch) -> VoiceProfile:
        """A copy with ``match`` replacing the one for its language."""
        base = base_language(match.language)
        kept = tuple(m for m in self.matches if base_language(m.language) != base)
        return dataclasses.replace(self, matches=tuple(sorted(kept + (match,), key=lambda m: m.language)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the file's content)."""
        return {
            "format_version": self.version,
            "name": self.name,
            "kind": self.kind,
            "strength": self.strength,
            "created": self.created,
            "consent": self.consent.to_dict(),
            "references": [dataclasses.asdict(r) for r in self.references],
            "stats": dataclasses.asdict(self.stats),
            "embedding": [float(v) for v in self.embedding],
            "matches": [_match_dict(m) for m in self.matches],
            **({"converter": self.converter} if self.converter else {}),
            "key": self.key,
        }


def check_profile(profile: VoiceProfile, where: str | Path | None = None) -> None:
    """Raise ProfileError naming the first bad field of ``profile``."""
    if not isinstance(profile.name, str) or not profile.name.strip():
        raise ProfileError(where, "name", "must be a non-empty string")
    if profile.kind not in PROFILE_KINDS:
        raise ProfileError(where, "kind", f"must be one of {', '.join(PROFILE_KINDS)}, got {profile.kind!r}")
    if not isinstance(profile.converter, str):
        raise ProfileError(where, "converter", f"must be a string, got {profile.converter!r}")
    if profile.kind == CONVERT and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", profile.converter):
        raise ProfileError(where, "converter", "a profile of kind 'convert' names its voice converter "
                                               f"(e.g. openvoice; see 'revoice voices'), got {profile.converter!r}")
    if profile.kind != CONVERT and profile.converter:
        raise ProfileError(where, "converter", f"only a profile of kind 'convert' names a converter; this one is "
                                               f"{profile.kind!r} (remove the field or set kind to 'convert')")
    if not _finite(profile.strength) or not 0.0 <= profile.strength <= 1.0:
        raise ProfileError(where, "strength", f"must be a number from 0 to 1, got {profile.strength!r}")
    if profile.consent.status not in CONSENT_STATES:
        raise ProfileError(where, "consent.status",
                           f"must be one of {', '.join(CONSENT_STATES)}, got {profile.consent.status!r}")
    for index, ref in enumerate(profile.references):
        name = f"references[{index}]"
        if not isinstance(ref.path, str) or not ref.path:
            raise ProfileError(where, f"{name}.path", "must be a non-empty string")
        ordered = _finite(ref.start_seconds) and _finite(ref.end_seconds) and 0 <= ref.start_seconds < ref.end_seconds
        if not ordered:
            raise ProfileError(where, f"{name}.end_seconds",
                               f"need 0 <= start_seconds < end_seconds, got {ref.start_seconds!r}-{ref.end_seconds!r}")
        if ref.snr_db is not None and not _finite(ref.snr_db):
            raise ProfileError(where, f"{name}.snr_db", f"must be a number or null, got {ref.snr_db!r}")
    if any(not _finite(v) for v in profile.embedding):
        raise ProfileError(where, "embedding", "must be a list of finite numbers")
    languages = [base_language(m.language) for m in profile.matches]
    if len(set(languages)) != len(languages):
        raise ProfileError(where, "matches", f"more than one match for a language: {', '.join(languages)}")
    for index, match in enumerate(profile.matches):
        if not match.backend or not match.voice_id:
            raise ProfileError(where, f"matches[{index}]", "backend and voice_id must be non-empty")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _match_dict(match: VoiceMatch) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(match)))  # tuples -> lists
    return data


# -- reading -------------------------------------------------------------------------------


def profile_from_dict(data: Any, where: str | Path | None = None) -> VoiceProfile:
    """Build and check a profile from parsed JSON; ProfileError names ``where`` and the bad field."""
    if not isinstance(data, dict):
        raise ProfileError(where, "(top level)", "must be a JSON object")
    version = data.get("format_version")
    if version != PROFILE_FORMAT_VERSION:
        raise ProfileError(where, "format_version",
                           f"is {version!r}, this Revoice reads {PROFILE_FORMAT_VERSION}; rebuild the profile "
                           "with 'revoice voice build'")
    name = _get(data, "name", str, where)
    consent = _record(Consent, _get(data, "consent", dict, where, {}), "consent", where)
    stats = _record(VoiceStats, _get(data, "stats", dict, where, {}), "stats", where)
    refs = tuple(_record(ReferenceClip, item, f"references[{i}]", where)
                 for i, item in enumerate(_get(data, "references", list, where, [])))
    embedding = _get(data, "embedding", list, where, [])
    if any(not _finite(v) for v in embedding):
        raise ProfileError(where, "embedding", "must be a list of finite numbers")
    matches = tuple(_match_from(item, f"matches[{i}]", where)
                    for i, item in enumerate(_get(data, "matches", list, where, [])))
    strength = _get(data, "strength", (int, float), where, 1.0)
    profile = _checked(where, lambda: VoiceProfile(
        name=name, kind=_get(data, "kind", str, where, "tint"), references=refs, consent=consent,
        embedding=tuple(float(v) for v in embedding), stats=stats, matches=matches, strength=float(strength),
        created=_get(data, "created", str, where, ""), version=PROFILE_FORMAT_VERSION,
        converter=_get(data, "converter", str, where, "")))
    return profile  # a stored "key" is informational: it is recomputed, so hand edits take effect


def _checked(where: str | Path | None, build: Any) -> VoiceProfile:
    try:
        profile: VoiceProfile = build()
    except ProfileError as exc:
        raise ProfileError(where, exc.field_name, exc.message) from None
    return profile


def _get(data: Mapping[str, Any], name: str, kind: Any, where: str | Path | None, default: Any = ...) -> Any:
    if name not in data:
        if default is ...:
            raise ProfileError(where, name, "is missing")
        return default
    value = data[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        raise ProfileError(where, name, f"must be {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
    return value


def _record(cls: Any, data: Any, name: str, where: str | Path | None) -> Any:
    """``cls(**data)`` with unknown or missing fields and wrong types reported by name."""
    if not isinstance(data, dict):
        raise ProfileError(where, name, "must be a JSON object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ProfileError(where, f"{name}.{unknown[0]}", "is not a known field")
    for key, value in data.items():
        expected = str(fields[key].type).replace(" | None", "")
        if value is None and "None" in str(fields[key].type):
            continue
        if expected in ("float", "int") and not _finite(value):
            raise ProfileError(where, f"{name}.{key}", f"must be a number, got {value!r}")
        if expected == "str" and not isinstance(value, str):
            raise ProfileError(where, f"{name}.{key}", f"must be a string, got {value!r}")
        if expected == "bool" and not isinstance(value, bool):
            raise ProfileError(where, f"{name}.{key}", f"must be true or false, got {value!r}")
        if expected.startswith("tuple") and not isinstance(value, tuple):
            raise ProfileError(where, f"{name}.{key}", f"must be a list, got {value!r}")
        if expected == "tuple[float, ...]" and not all(_finite(v) for v in value):
            raise ProfileError(where, f"{name}.{key}", "must be a list of numbers")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ProfileError(where, name, str(exc)) from None


def _tuples(value: Any) -> Any:
    """JSON lists back to the tuples the frozen dataclasses hold (recursively)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _match_from(data: Any, name: str, where: str | Path | None) -> VoiceMatch:
    if not isinstance(data, dict):
        raise ProfileError(where, name, "must be a JSON object")
    tint_data = data.get("tint")
    if not isinstance(tint_data, dict):
        raise ProfileError(where, f"{name}.tint", "must be a JSON object")
    if not isinstance(tint_data.get("envelope_db", []), list):
        raise ProfileError(where, f"{name}.tint.envelope_db", "must be a list of numbers")
    tint = _record(VoiceTint, _tuples(tint_data), f"{name}.tint", where)
    known = {f.name for f in dataclasses.fields(VoiceMatch)}  # unknown report fields (a newer Revoice) are dropped
    rest = {k: _tuples(v) for k, v in data.items() if k != "tint" and k in known}
    match: VoiceMatch = _record(VoiceMatch, {**rest, "tint": None}, name, where)
    return dataclasses.replace(match, tint=tint)


# -- files ---------------------------------------------------------------------------------


def save_profile(profile: VoiceProfile, path: Path, *, protect: Sequence[Path] = ()) -> Path:
    """Write ``profile`` as JSON to ``path`` atomically; refuses to write over a file in ``protect``."""
    for given in protect:
        if given.exists() and path.exists() and given.resolve() == path.resolve():
            raise ProfileError(path, "(file)", "is an input file; refusing to overwrite it")
    write_text_atomic(path, json.dumps(profile.to_dict(), indent=1, ensure_ascii=False) + "\n")
    return path


def load_profile(path: Path) -> VoiceProfile:
    """Read and check one profile file; ProfileError names the file and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(path, "(file)", f"cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ProfileError(path, "(file)", f"is not valid JSON ({exc})") from None
    return profile_from_dict(data, path)


def profile_file_name(name: str) -> str:
    """A safe file name for character ``name``: ``"Old NELL!"`` -> ``Old-NELL-<hash>.voice.json``.

    A short hash of the name is added whenever characters had to be replaced, so names never collide.
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "voice"
    if safe != name:
        safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:6]
    return safe + PROFILE_SUFFIX


class ProfileStore:
    """The profiles in one folder (``<out stem>_voices`` beside a job's output, or ``--voices DIR``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise ProfileError(self.folder, "(folder)", "is a file, not a folder of voice profiles")

    def path_for(self, name: str) -> Path:
        return self.folder / profile_file_name(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.path_for(name).is_file()

    def get(self, name: str) -> VoiceProfile | None:
        """The profile named ``name``, or None when there is none; ProfileError when its file is broken."""
        path = self.path_for(name)
        if not path.is_file():
            return None
        profile = load_profile(path)
        if profile.name != name:
            raise ProfileError(path, "name", f"is {profile.name!r}, expected {name!r} from the file name")
        return profile

    def save(self, profile: VoiceProfile) -> Path:
        return save_profile(profile, self.path_for(profile.name))

    def lock_path(self, name: str) -> Path:
        """The lock file of ``name``'s profile (present while a process builds or tunes it)."""
        path = self.path_for(name)
        return path.with_name(path.name + LOCK_SUFFIX)

    def claim(self, name: str, *, policy: LockPolicy | None = None,
              should_cancel: Callable[[], bool] | None = None,
              on_wait: Callable[[FileLock], None] | None = None) -> FileLock:
        """The lock on ``name``'s profile, not taken yet: ``with store.claim(name):`` waits for it.

        Inside, re-read the profile (``get``): another process may have saved it while this one waited.
        Cancelling the wait (``should_cancel``) raises :class:`TuningCancelled`.
        """
        return FileLock(self.lock_path(name), name, policy=policy, wording=LOCK_WORDING,
                        should_cancel=should_cancel, cancel_error=TuningCancelled, on_wait=on_wait)

    def claims(self, names: Sequence[str], *, policy: LockPolicy | None = None,
               should_cancel: Callable[[], bool] | None = None,
               on_wait: Callable[[FileLock], None] | None = None,
               warnings: list[str] | None = None) -> Generator[str, None, None]:
        """Each of ``names`` in turn, its lock held until the next is asked for (a generator; close it).

        Names another process holds come last, after the free ones: then this one
        polls them all (``policy.poll_seconds``) and goes on with whichever is
        released first. ``on_wait`` is called once per name it starts waiting
        for; ``should_cancel`` is polled while waiting (raises
        :class:`TuningCancelled`); a warning per stale lock taken over is
        appended to ``warnings``.
        """
        timing = policy or LockPolicy()
        busy: list[FileLock] = []
        for name in names:
            lock = self.claim(name, policy=timing, should_cancel=should_cancel, on_wait=on_wait)
            if lock.try_acquire():
                with lock:
                    if warnings is not None:
                        warnings.extend(lock.warnings)
                    yield name
            else:
                busy.append(lock)
        while busy:
            free = next((lock for lock in busy if lock.try_acquire()), None)
            if free is None:
                for lock in busy:
                    lock.announce()
                busy[0].check_cancel()
                timing.sleep(timing.poll_seconds)
                continue
            busy.remove(free)
            with free:
                if warnings is not None:
                    warnings.extend(free.warnings)
                yield free.name

    def names(self) -> list[str]:
        """Names of the readable profiles, sorted."""
        return sorted(p.name for p in self.profiles())

    def profiles(self) -> Iterator[VoiceProfile]:
        """Every profile in the folder, by file name; ProfileError for a broken file."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*" + PROFILE_SUFFIX)):
            yield load_profile(path)
