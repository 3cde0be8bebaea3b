"""Voice profiles of kind "convert": which converter, and the plan the renderers follow.

``revoice run --convert [NAME|auto]`` makes every tint profile of the run a "convert" profile (saved, so the
profile file says which converter it takes); a profile already of kind "convert" names its converter itself.
:func:`conversion_plan` then maps each converted character's voice id (the profile's name, as
:meth:`revoice.engine.render.Revoicer.voice_for` sees it) to a
:class:`~revoice.engine.conversion.plan.ConversionTarget`: a lazily loaded converter and the first
:data:`REFERENCE_SECONDS` of the character's reference speech. Stock voices and clones are never converted.

Nothing here prints; a converter that cannot be used is a :class:`revoice.options.JobError` (exit 3) with every
converter's reason on one line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from revoice.engine.characters.profile import CONVERT, VoiceProfile
from revoice.engine.conversion.base import ConverterOptions, ConverterSpec
from revoice.engine.model import DialogueLine
from revoice.options import JobError

if TYPE_CHECKING:
    from revoice.engine.conversion.plan import ConversionPlan
    from revoice.options import JobOptions

EXIT_NO_CONVERTER = 3
"""The CLI's exit code when no voice converter fits (as for no voice backend)."""
REFERENCE_SECONDS = 10.0
"""The converter hears this much of the character's reference speech (seconds, from its start)."""


@dataclass
class ConvertedCast:
    """The run's profiles with ``--convert`` applied, the names whose kind changed, the plan, and warnings."""

    profiles: list[VoiceProfile]
    changed: list[str] = field(default_factory=list)
    """Characters whose profile kind this run changed (to be saved: ``--convert NAME``)."""
    plan: ConversionPlan | None = None
    warnings: list[str] = field(default_factory=list)


def _one_line(message: str) -> str:
    """A registry message ("No voice converter fits (...):\\n  a: why\\n  b: why") on one line."""
    head, _, rest = message.partition("\n")
    reasons = "; ".join(part.strip() for part in rest.splitlines() if part.strip())
    return f"{head} {reasons}".strip() if reasons else head


def choose_converter_for(name: str | None, *, commercial: bool, options_for: Callable[[str], ConverterOptions],
                         specs: Sequence[ConverterSpec] | None = None) -> ConverterSpec:
    """The converter ``name`` (None: the first that fits), for commercial use when ``commercial``; JobError (exit 3)
    listing every converter's reason when none fits.

    Each converter is checked with its own options, ``options_for(name)`` (a job's ``--weights NAME=DIR``:
    :meth:`JobOptions.converter_options`).
    """
    from revoice.engine.conversion.base import ConverterUnavailable
    from revoice.engine.conversion.registry import choose_converter, discover_converters

    found = list(discover_converters() if specs is None else specs)
    if name is not None and name not in {spec.name for spec in found}:
        known = ", ".join(spec.name for spec in found) or "none installed"
        raise JobError(f"--convert {name}: no such voice converter (converters: {known}; see 'revoice voices')",
                       exit_code=EXIT_NO_CONVERTER)
    reasons: list[str] = []
    for spec in found:
        if name is not None and spec.name != name:
            continue
        try:
            return choose_converter([spec], options=options_for(spec.name), name=name, commercial=commercial)
        except ConverterUnavailable as exc:
            reasons.append(_one_line(str(exc)).partition(": ")[2] or str(exc))
    wanted = "--convert " + (name or "auto") + (" --commercial" if commercial else "")
    listed = "; ".join(reasons) or "no voice converters installed (entry-point group revoice.voice_converters)"
    raise JobError(f"{wanted}: no voice converter fits: {listed}", exit_code=EXIT_NO_CONVERTER)


def chosen_converter(options: JobOptions, specs: Sequence[ConverterSpec] | None = None) -> ConverterSpec | None:
    """The converter ``--convert NAME|auto`` asks for (None without it, or with "off"); JobError (exit 3) if none fits.

    Called before any voice is matched, so a run that cannot convert stops at once.
    """
    if options.convert is None or options.convert == "off":
        return None
    return choose_converter_for(None if options.convert == "auto" else options.convert, commercial=options.commercial,
                                options_for=options.converter_options, specs=specs)


def apply_convert_option(options: JobOptions, profiles: Sequence[VoiceProfile],
                         chosen: ConverterSpec | None) -> ConvertedCast:
    """``profiles`` as ``options.convert`` asks: None keeps each profile's kind; "off" speaks convert profiles as
    tints this run (not saved); a name or "auto" makes every tint (and convert) profile convert with that
    converter, ``chosen`` (:func:`chosen_converter`; ``changed`` lists those to save). Clones are left as they
    are (a warning says so)."""
    if options.convert is None:
        return ConvertedCast(list(profiles))
    if options.convert == "off":
        return ConvertedCast([dataclasses.replace(p, kind="tint", converter="") if p.kind == CONVERT else p
                              for p in profiles])
    if chosen is None:
        raise ValueError(f"--convert {options.convert}: choose the converter first (chosen_converter)")
    result = ConvertedCast([])
    for profile in profiles:
        if profile.kind == "clone":
            result.warnings.append(f"voice profile {profile.name}: a clone is not converted (--convert applies to "
                                   "tinted stock voices)")
            result.profiles.append(profile)
            continue
        converted = dataclasses.replace(profile, kind=CONVERT, converter=chosen.name)
        if converted != profile:
            result.changed.append(profile.name)
        result.profiles.append(converted)
    return result


def conversion_plan(options: JobOptions, cast: ConvertedCast, lines: Sequence[DialogueLine], *,
                    specs: Sequence[ConverterSpec] | None = None,
                    kept: MutableMapping[Any, Any] | None = None) -> ConvertedCast:
    """``cast`` with the plan for its convert profiles (None when there are none).

    A profile whose converter is missing, not for commercial use under ``--commercial``, or cannot load here is
    a JobError (exit 3) naming the character, the converter and why. A profile whose reference speech cannot be
    read any more is spoken as a tint this run (a warning says so). Loads no model: converters are
    :class:`~revoice.engine.conversion.registry.LazyConverter`\\ s.
    """
    from revoice.casting import reference_of
    from revoice.engine.conversion.plan import ConversionPlan, ConversionTarget
    from revoice.engine.conversion.registry import LazyConverter, availability, discover_converters

    converted = [p for p in cast.profiles if p.kind == CONVERT]
    if not converted:
        return cast
    found = {spec.name: spec for spec in (discover_converters() if specs is None else specs)}
    targets: dict[str, ConversionTarget] = {}
    converters: dict[str, LazyConverter] = {}
    profiles = list(cast.profiles)
    warnings = list(cast.warnings)
    for index, profile in enumerate(profiles):
        if profile.kind != CONVERT:
            continue
        spec = found.get(profile.converter)
        what = f"voice profile {profile.name} converts with {profile.converter!r}"
        if spec is None:
            raise JobError(f"{what}, which is not installed (converters: {', '.join(found) or 'none'}); "
                           "install it, or run with --convert off", exit_code=EXIT_NO_CONVERTER)
        if options.commercial and not spec.commercial_use:
            raise JobError(f"{what}: --commercial: its weights do not allow commercial use ({spec.licence}); "
                           "run with --convert off or choose another converter", exit_code=EXIT_NO_CONVERTER)
        converter_options = options.converter_options(spec.name)
        reason = availability(spec, converter_options)
        if reason:
            raise JobError(f"{what}, which cannot load here: {reason}; or run with --convert off",
                           exit_code=EXIT_NO_CONVERTER)
        reference = reference_of(profile, lines)
        audio = np.asarray(reference.audio, dtype=np.float32)[: int(REFERENCE_SECONDS * reference.sample_rate)]
        if audio.size == 0:
            warnings.append(f"{what}, but its reference audio cannot be read any more; spoken as a tint this run "
                            "(rebuild it with 'revoice voice build')")
            profiles[index] = dataclasses.replace(profile, kind="tint", converter="")
            continue
        if spec.name not in converters:
            key = (spec.name, converter_options, spec.version_for(converter_options))
            if kept is not None and key in kept:
                converters[spec.name] = kept[key]
            else:
                converters[spec.name] = LazyConverter(spec, converter_options)
                if kept is not None:
                    kept[key] = converters[spec.name]
        converter = converters[spec.name]
        targets[profile.name] = ConversionTarget(converter=converter, reference_audio=audio,
                                                 reference_sample_rate=reference.sample_rate)
    plan = ConversionPlan(targets) if targets else None
    return ConvertedCast(profiles, changed=cast.changed, plan=plan, warnings=warnings)


def plan_from_portable(portable: Mapping[str, tuple[str, Any, int]], options: JobOptions, *,
                       specs: Sequence[ConverterSpec] | None = None) -> ConversionPlan | None:
    """The :class:`ConversionPlan` a worker process rebuilds from :meth:`ConversionPlan.portable`.

    Its converters are this process's own :class:`~revoice.engine.conversion.registry.LazyConverter`\\ s
    (loaded at the first converted line); a converter missing here is a JobError (exit 3), as in the parent.
    """
    from revoice.engine.conversion.plan import ConversionPlan, ConversionTarget
    from revoice.engine.conversion.registry import LazyConverter, discover_converters

    if not portable:
        return None
    found = {spec.name: spec for spec in (discover_converters() if specs is None else specs)}
    converters: dict[str, LazyConverter] = {}
    targets: dict[str, ConversionTarget] = {}
    for voice, (name, audio, rate) in portable.items():
        spec = found.get(name)
        if spec is None:
            raise JobError(f"voice converter {name!r} is not installed in this worker", exit_code=EXIT_NO_CONVERTER)
        converter = converters.setdefault(name, LazyConverter(spec, options.converter_options(name)))
        targets[voice] = ConversionTarget(converter=converter, reference_audio=audio, reference_sample_rate=rate)
    return ConversionPlan(targets)
