"""Plugin specs from entry points: what the voice-backend and voice-converter registries share.

Each registry names its entry-point group, its spec type and how to stand in for a broken entry
(:mod:`revoice.engine.voices.registry`, :mod:`revoice.engine.conversion.registry`); loading an entry and
merging the caller's own specs are done here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import EntryPoint
from typing import Protocol, TypeVar


class NamedSpec(Protocol):
    @property
    def name(self) -> str: ...


SpecT = TypeVar("SpecT", bound=NamedSpec)


def load_spec(entry: EntryPoint, kind: type[SpecT], broken: Callable[[EntryPoint, str], SpecT]) -> SpecT:
    """The ``kind`` instance ``entry`` names, or ``broken(entry, why)`` when it fails to import or is not one."""
    try:
        obj = entry.load()
    except Exception as exc:  # a plugin's import error must not take the app down
        return broken(entry, f"{type(exc).__name__}: {exc}")
    if not isinstance(obj, kind):
        return broken(entry, f"expected a {kind.__name__}, got {type(obj).__name__}")
    return obj


def sorted_entries(entries: Iterable[EntryPoint]) -> list[EntryPoint]:
    """Entry points in a stable order: by name."""
    return sorted(entries, key=lambda entry: entry.name)


def with_extra(found: Sequence[SpecT], extra: Sequence[SpecT]) -> list[SpecT]:
    """``found`` then ``extra``: a spec in ``extra`` replaces one of the same name in place, else is appended."""
    merged = list(found)
    for spec in extra:
        names = [s.name for s in merged]
        if spec.name in names:
            merged[names.index(spec.name)] = spec
        else:
            merged.append(spec)
    return merged
