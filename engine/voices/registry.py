"""Find, choose and load voice backends.

Backends are plugins: each publishes a :class:`BackendSpec` in the entry-point
group ``revoice.voice_backends`` (see pyproject.toml). Discovery imports only
the spec modules; models load in :func:`load_backend`. A plugin that fails to
import shows up as a :class:`BrokenBackendSpec` carrying the error, so one bad
plugin never hides the others. :class:`LazyBackend` puts off even that load
until a line is really synthesized, so a run whose lines are all rendered
already (an unchanged rerun) loads no model at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from revoice.engine.plugins import load_spec, sorted_entries, with_extra
from revoice.engine.voices.base import (
    BackendOptions,
    BackendSpec,
    BackendUnavailable,
    Synthesis,
    SynthesisRequest,
    VoiceBackend,
    VoiceInfo,
)

ENTRY_POINT_GROUP = "revoice.voice_backends"
UNDECLARED_COMMERCIAL_USE = "its plugin does not say its weights allow it"
"""Why a spec that leaves ``commercial_use`` unset counts as not for commercial use."""


@dataclass(frozen=True)
class BrokenBackendSpec(BackendSpec):
    """Stand-in for an entry point that did not yield a BackendSpec; ``error`` says why."""

    error: str = ""


def _broken(entry: EntryPoint, error: str) -> BrokenBackendSpec:
    message = f"plugin entry point '{entry.name} = {entry.value}' is broken: {error}"

    def unavailable(_options: BackendOptions) -> str:
        return message

    def refuse(_options: BackendOptions) -> VoiceBackend:
        raise BackendUnavailable(f"{entry.name}: {message}")

    return BrokenBackendSpec(
        name=entry.name,
        display_name=f"{entry.name} (broken plugin)",
        languages=(),
        sample_rate=0,
        native_duration_control=False,
        needs_gpu=False,
        licence="",
        description=message,
        availability=unavailable,
        factory=refuse,
        error=message,
    )


def spec_from_entry_point(entry: EntryPoint) -> BackendSpec:
    """The BackendSpec an entry point names, or a BrokenBackendSpec saying why it could not."""
    return load_spec(entry, BackendSpec, _broken)


def discover_backends(extra: Sequence[BackendSpec] = ()) -> list[BackendSpec]:
    """Specs from installed entry points (sorted by entry-point name), then ``extra``.

    A spec in ``extra`` replaces an earlier one of the same name in place;
    otherwise it is appended. Order is preference order for :func:`choose_backend`.
    """
    return with_extra([spec_from_entry_point(e) for e in sorted_entries(entry_points(group=ENTRY_POINT_GROUP))],
                      extra)


def _availability(spec: BackendSpec, options: BackendOptions) -> str | None:
    """``spec.availability`` with its own crashes turned into a reason."""
    try:
        return spec.availability(options)
    except Exception as exc:
        return f"availability check failed: {type(exc).__name__}: {exc}"


def commercial_refusal(spec: BackendSpec) -> str | None:
    """Why ``--commercial`` refuses ``spec`` (its weights' licence), or None when their licence allows commercial use."""
    if spec.commercial_use:
        return None
    return f"not for commercial use: {spec.commercial_note or UNDECLARED_COMMERCIAL_USE}"


def _refusal(
    spec: BackendSpec,
    *,
    language: str,
    options: BackendOptions,
    name: str | None,
    need_native_duration: bool,
    commercial: bool,
) -> str | None:
    """Why ``spec`` does not fit (all reasons, '; '-joined), or None when it does."""
    if name is not None and spec.name != name:
        return f"not the requested backend {name!r}"
    if isinstance(spec, BrokenBackendSpec):
        return spec.error
    reasons: list[str] = []
    refused = commercial_refusal(spec) if commercial else None
    if refused:
        reasons.append(refused)
    if spec.clones_from_reference and name is None:
        reasons.append("clones a voice from reference audio, so it is never a default voice: "
                       f"choose it with --backend {spec.name}")
    if not spec.supports_language(language):
        reasons.append(f"does not speak {language!r} (speaks {', '.join(spec.languages) or 'nothing'})")
    if spec.needs_gpu and options.device == "cpu":
        reasons.append("needs a GPU but device is 'cpu'")
    if need_native_duration and not spec.native_duration_control:
        reasons.append("has no native duration control")
    unavailable = _availability(spec, options)
    if unavailable:
        reasons.append(unavailable)
    return "; ".join(reasons) or None


def choose_backend(
    specs: Sequence[BackendSpec],
    *,
    language: str,
    options: BackendOptions,
    name: str | None = None,
    need_native_duration: bool = False,
    commercial: bool = False,
) -> BackendSpec:
    """The first spec in ``specs`` that fits; else BackendUnavailable listing each backend's reason.

    Fits = has ``name`` (if given; a cloning backend must be named), speaks ``language`` (base language match,
    "en" ~ "en-US"), is not GPU-only on ``device == "cpu"``, has native
    duration control if ``need_native_duration``, its weights allow commercial use if ``commercial``
    (or ``options.commercial``), and its availability passes. When the backend ``name`` is installed
    but does not fit, the message is one line: its reasons.
    """
    commercial = commercial or options.commercial
    lines: list[str] = []
    for spec in specs:
        reason = _refusal(spec, language=language, options=options, name=name,
                          need_native_duration=need_native_duration, commercial=commercial)
        if reason is None:
            return spec
        lines.append(f"  {spec.name}: {reason}")
    wanted = f"language={language!r}, device={options.device!r}"
    if name is not None:
        wanted += f", name={name!r}"
    if need_native_duration:
        wanted += ", native duration control"
    if commercial:
        wanted += ", commercial use"
    named = [line.strip() for spec, line in zip(specs, lines, strict=True) if spec.name == name]
    if named:  # the others are only "not the requested backend"
        raise BackendUnavailable(f"No voice backend fits ({wanted}): {named[0]}")
    if not lines:
        lines.append(f"  (no backends installed; none registered in entry-point group {ENTRY_POINT_GROUP!r})")
    raise BackendUnavailable(f"No voice backend fits ({wanted}):\n" + "\n".join(lines))


def load_backend(spec: BackendSpec, options: BackendOptions) -> VoiceBackend:
    """Check ``spec``'s availability (and, with ``options.commercial``, its weights' terms), then build it;
    BackendUnavailable with the reason if it may not load."""
    reason = (commercial_refusal(spec) if options.commercial else None) or _availability(spec, options)
    if reason:
        raise BackendUnavailable(f"{spec.name}: {reason}")
    return spec.factory(options)


class LazyBackend:
    """A :class:`VoiceBackend` whose model loads on first use, not when it is chosen.

    Its ``spec`` and, where the spec lists them (``BackendSpec.voice_list``), its
    ``voices()`` need no model, so render keys (revoice.engine.render) are computed
    and finished lines reused without loading anything. The first
    :meth:`synthesize` (or an attribute only the loaded backend has, e.g. Kokoro's
    ``blend_voice_id``) loads it with ``load(spec, options)`` (default
    :func:`load_backend`: BackendUnavailable when it cannot), once, under a lock
    (a service's jobs share one); later calls reuse it. The renderer's optional
    hooks (``voice_key``, ``voice_report``: :class:`~revoice.engine.voices.base.VoiceHooks`)
    are never looked up on the model, so asking for them loads nothing: a stock
    voice has none.
    """

    _NOT_FORWARDED = frozenset({"voice_key", "voice_report"})

    def __init__(self, spec: BackendSpec, options: BackendOptions, *,
                 load: Callable[[BackendSpec, BackendOptions], VoiceBackend] | None = None) -> None:
        self._spec = spec
        self._options = options
        self._load = load if load is not None else load_backend
        self._backend: VoiceBackend | None = None
        self._lock = threading.Lock()

    @property
    def spec(self) -> BackendSpec:
        return self._spec

    @property
    def is_loaded(self) -> bool:
        """Whether the model has been loaded (a test's way to see that a cached run loaded none)."""
        return self._backend is not None

    def loaded(self) -> VoiceBackend:
        """The loaded backend, loading it now if needed (BackendUnavailable when it cannot load)."""
        with self._lock:
            if self._backend is None:
                self._backend = self._load(self._spec, self._options)
            return self._backend

    def voices(self) -> Sequence[VoiceInfo]:
        """The loaded backend's voices; before it loads, the spec's list (loading only when that is empty)."""
        if self._backend is not None:
            return self._backend.voices()
        try:
            listed = tuple(self._spec.voice_list())
        except Exception:  # a plugin's list that fails: ask the model itself
            listed = ()
        return listed if listed else self.loaded().voices()

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        return self.loaded().synthesize(request)

    def __getattr__(self, name: str) -> object:
        if name.startswith("_") or name in LazyBackend._NOT_FORWARDED:
            raise AttributeError(name)
        return getattr(self.loaded(), name)

    def __repr__(self) -> str:
        return f"LazyBackend({self._spec.name!r}, {'loaded' if self.is_loaded else 'not loaded'})"


def describe_backends(specs: Sequence[BackendSpec], options: BackendOptions) -> list[dict[str, Any]]:
    """One JSON-ready dict per spec (for ``revoice voices``); loads no models.

    Keys: name, display_name, languages, sample_rate (Hz), native_duration_control,
    needs_gpu, licence, commercial_use (whether the weights' licence allows it), commercial_note (why),
    clones_from_reference, emotion_control (list: the emotion inputs it renders
    itself, [] when Revoice's DSP does), available, reason (None when available), voices
    (list of {"voice_id", "languages"}), variants (the voice ids of their variants, e.g. "joe~light",
    which distinct default voices and ``--speaker-voice`` may use: :func:`variant_ids`).
    """
    rows: list[dict[str, Any]] = []
    for spec in specs:
        reason = _availability(spec, options)
        if reason is None and spec.needs_gpu and options.device == "cpu":
            reason = "needs a GPU but device is 'cpu'"
        try:
            voices: list[dict[str, object]] = [
                {"voice_id": v.voice_id, "languages": list(v.languages), "description": v.description}
                for v in spec.voice_list()
            ]
        except Exception as exc:
            voices = []
            reason = reason or f"voice list failed: {type(exc).__name__}: {exc}"
        rows.append(
            {
                "name": spec.name,
                "display_name": spec.display_name,
                "languages": list(spec.languages),
                "sample_rate": spec.sample_rate,
                "native_duration_control": spec.native_duration_control,
                "needs_gpu": spec.needs_gpu,
                "licence": spec.licence,
                "commercial_use": spec.commercial_use,
                "commercial_note": spec.commercial_note,
                "clones_from_reference": spec.clones_from_reference,
                "emotion_control": list(spec.emotion_control),
                "available": reason is None,
                "reason": reason,
                "voices": voices,
                "variants": variant_ids(spec),
            }
        )
    return rows


def variant_ids(spec: BackendSpec) -> list[str]:
    """The ids of the variants of ``spec``'s listed voices (revoice.engine.characters.stock_voices); none for a
    cloning backend or a list that fails."""
    from revoice.engine.characters.stock_voices import variant_infos  # who speaks: imported only when listing

    if spec.clones_from_reference:
        return []
    try:
        return [voice.voice_id for voice in variant_infos(tuple(spec.voice_list()))]
    except Exception:  # a plugin's failing list is reported with its voices
        return []
