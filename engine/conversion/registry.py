"""Find, choose and load voice converters (entry-point group ``revoice.voice_converters``).

Discovery imports only the spec modules; models load in :func:`load_converter`, or later still through
:class:`LazyConverter` (a rerun whose lines are all rendered loads none). A plugin that fails to import
shows up as a :class:`BrokenConverterSpec` carrying the error, so one bad plugin never hides the others.
When none fits, :func:`choose_converter` raises one message with every converter's reason.
"""

from __future__ import annotations

import dataclasses

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from revoice.engine.plugins import load_spec, sorted_entries, with_extra
from revoice.engine.conversion.base import ConverterOptions, ConverterSpec, ConverterUnavailable, VoiceConverter
from revoice.engine.model import AudioArray

ENTRY_POINT_GROUP = "revoice.voice_converters"


@dataclass(frozen=True)
class BrokenConverterSpec(ConverterSpec):
    """Stand-in for an entry point that did not yield a ConverterSpec; ``error`` says why."""

    error: str = ""


def _broken(entry: EntryPoint, error: str) -> BrokenConverterSpec:
    message = f"plugin entry point '{entry.name} = {entry.value}' is broken: {error}"

    def unavailable(_options: ConverterOptions) -> str:
        return message

    def refuse(_options: ConverterOptions) -> VoiceConverter:
        raise ConverterUnavailable(f"{entry.name}: {message}")

    return BrokenConverterSpec(name=entry.name, display_name=f"{entry.name} (broken plugin)", sample_rate=0,
                               needs_gpu=False, licence="", commercial_use=False, description=message,
                               availability=unavailable, factory=refuse, error=message)


def spec_from_entry_point(entry: EntryPoint) -> ConverterSpec:
    """The ConverterSpec an entry point names, or a BrokenConverterSpec saying why it could not."""
    return load_spec(entry, ConverterSpec, _broken)


def discover_converters(extra: Sequence[ConverterSpec] = ()) -> list[ConverterSpec]:
    """Specs from installed entry points (sorted by entry-point name), then ``extra``.

    A spec in ``extra`` replaces an earlier one of the same name in place; otherwise it is appended.
    Order is preference order for :func:`choose_converter`.
    """
    return with_extra([spec_from_entry_point(e) for e in sorted_entries(entry_points(group=ENTRY_POINT_GROUP))],
                      extra)


def availability(spec: ConverterSpec, options: ConverterOptions) -> str | None:
    """Why ``spec`` cannot load here (its own check, GPU need, a broken plugin), or None; never raises."""
    if isinstance(spec, BrokenConverterSpec):
        return spec.error
    reasons: list[str] = []
    if spec.needs_gpu and options.device == "cpu":
        reasons.append("needs a GPU but device is 'cpu'")
    try:
        reason = spec.availability(options)
    except Exception as exc:
        reason = f"availability check failed: {type(exc).__name__}: {exc}"
    if reason:
        reasons.append(reason)
    return "; ".join(reasons) or None


def choose_converter(specs: Sequence[ConverterSpec], *, options: ConverterOptions, name: str | None = None,
                     commercial: bool = False) -> ConverterSpec:
    """The first spec in ``specs`` that fits, else ConverterUnavailable listing every converter's reason.

    Fits = has ``name`` (if given), allows commercial use (if ``commercial``), and can load with ``options``.
    """
    lines: list[str] = []
    for spec in specs:
        reasons: list[str] = []
        if name is not None and spec.name != name:
            reasons.append(f"not the requested converter {name!r}")
        else:
            if commercial and not spec.commercial_use:
                reasons.append(f"its weights do not allow commercial use ({spec.licence})")
            unavailable = availability(spec, options)
            if unavailable:
                reasons.append(unavailable)
        if not reasons:
            return spec
        lines.append(f"  {spec.name}: {'; '.join(reasons)}")
    wanted = f"device={options.device!r}" + (f", name={name!r}" if name else "") + (", commercial" if commercial else "")
    if not lines:
        lines.append(f"  (no converters installed; none registered in entry-point group {ENTRY_POINT_GROUP!r})")
    raise ConverterUnavailable(f"No voice converter fits ({wanted}):\n" + "\n".join(lines))


def load_converter(spec: ConverterSpec, options: ConverterOptions) -> VoiceConverter:
    """Check ``spec``'s availability, then build it; ConverterUnavailable with the reason if it cannot load."""
    reason = availability(spec, options) or (f"its weights do not allow commercial use ({spec.licence})"
                                             if options.commercial and not spec.commercial_use else None)
    if reason:
        raise ConverterUnavailable(f"{spec.name}: {reason}")
    try:
        return spec.factory(options)
    except ConverterUnavailable:
        raise
    except Exception as exc:  # a damaged or foreign checkpoint, CUDA asked for but absent...: one line, not a trace
        raise ConverterUnavailable(f"{spec.name}: cannot load ({type(exc).__name__}: {exc})") from None


class LazyConverter:
    """A :class:`VoiceConverter` whose model loads at the first :meth:`convert`, once, under a lock."""

    def __init__(self, spec: ConverterSpec, options: ConverterOptions, *,
                 load: Callable[[ConverterSpec, ConverterOptions], VoiceConverter] | None = None) -> None:
        self._spec = spec
        self._options = options
        self._load = load if load is not None else load_converter
        self._converter: VoiceConverter | None = None
        self._lock = threading.Lock()
        self._keyed = dataclasses.replace(spec, version=spec.version_for(options))

    @property
    def spec(self) -> ConverterSpec:
        """The spec, its ``version`` with these options' settings (:meth:`ConverterSpec.version_for`): render keys
        follow what the converter will really do, before it loads."""
        return self._keyed

    @property
    def is_loaded(self) -> bool:
        return self._converter is not None

    def loaded(self) -> VoiceConverter:
        """The loaded converter, loading it now if needed (ConverterUnavailable when it cannot)."""
        with self._lock:
            if self._converter is None:
                self._converter = self._load(self._spec, self._options)
            return self._converter

    def convert(self, *, audio: AudioArray, sample_rate: int, reference_audio: AudioArray,
                reference_sample_rate: int) -> AudioArray:
        return self.loaded().convert(audio=audio, sample_rate=sample_rate, reference_audio=reference_audio,
                                     reference_sample_rate=reference_sample_rate)

    def __repr__(self) -> str:
        return f"LazyConverter({self._spec.name!r}, {'loaded' if self.is_loaded else 'not loaded'})"


def describe_converters(specs: Sequence[ConverterSpec], options: ConverterOptions) -> list[dict[str, Any]]:
    """One JSON-ready dict per spec (for ``revoice voices``); loads no models.

    Keys: name, display_name, sample_rate (Hz), needs_gpu, licence, commercial_use, description,
    available, reason (None when available).
    """
    rows: list[dict[str, Any]] = []
    for spec in specs:
        reason = availability(spec, options)
        rows.append({"name": spec.name, "display_name": spec.display_name, "sample_rate": spec.sample_rate,
                     "needs_gpu": spec.needs_gpu, "licence": spec.licence, "commercial_use": spec.commercial_use,
                     "description": spec.description, "available": reason is None, "reason": reason})
    return rows
