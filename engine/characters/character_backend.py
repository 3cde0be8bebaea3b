"""A voice backend whose voices are characters' voice profiles.

:class:`ProfiledBackend` wraps the loaded stock backends. Asked to speak as
a profile, it takes the profile's :class:`~revoice.engine.characters.tint.VoiceMatch`
for the line's language, has the match's backend speak with the match's base
voice, and applies the tint (:func:`revoice.engine.characters.tint.apply_tint`, same
length, so the backend's segments still hold) scaled by the profile's
strength. A profile without a match for the language borrows another
language's tint on a voice of a backend that speaks this language
(cross-lingual). Any other voice id goes to the primary backend untouched.

A "convert" profile speaks like a tint here; the renderer then converts its
speech to the reference's timbre (revoice.engine.conversion, a plan built by the app).

A "clone" profile's match names a zero-shot backend
(``spec.clones_from_reference``): that backend gets the profile's
:class:`~revoice.engine.characters.clone.ClonePrompt` (reference speech + transcript)
with every request, and no tint is applied.

Consent: a profile whose actor denied consent is never spoken (asked for
one, :meth:`ProfiledBackend.resolve` raises :class:`ConsentDenied`, so the
line fails and nothing is rendered in that voice); casting leaves such
profiles out, so a stock voice speaks them. :func:`consent_checked` flags
the lines a profile spoke while its consent is not recorded, from the
profiles as they are now (consent is not part of the render key: recording
it later clears the flag without re-rendering).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from revoice.engine.characters.clone import ClonePrompt
from revoice.engine.characters.profile import VoiceProfile
from revoice.engine.characters.tint import TINT_VERSION, VoiceMatch, apply_tint, speaks
from revoice.engine.model import RenderedLine
from revoice.engine.voices.base import BackendSpec, Synthesis, SynthesisRequest, VoiceBackend, VoiceHooks, VoiceInfo

BACKEND_PREFIX = "profile+"
"""Spec names are ``profile+<primary backend>`` (e.g. ``profile+piper``)."""
CONSENT_UNKNOWN_FLAG = "voice consent unknown: record it before delivery"
"""The render flag of a line spoken by a voice profile whose actor's consent is not recorded."""
CONSENT_DENIED_FLAG = "voice consent denied: revoice this line (a stock voice speaks it)"
"""The render flag of a line spoken by a profile whose consent was denied after it rendered."""
CONSENT_FLAGS = (CONSENT_UNKNOWN_FLAG, CONSENT_DENIED_FLAG)


class ConsentDenied(ValueError):
    """A voice profile whose actor denied consent was asked to speak; ``str()`` names the character."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"voice profile {name!r}: the actor's consent is denied, so this voice is never rendered; "
                         "leave the profile out (revoice run does) and a stock voice speaks the line")


@dataclasses.dataclass(frozen=True)
class ResolvedVoice:
    """What speaks for a profile in one language: backend, base voice, match (tint) and whether borrowed."""

    backend: VoiceBackend
    voice_id: str
    match: VoiceMatch
    cross_lingual: bool


class ProfiledBackend:
    """Profiles over loaded backends; ``primary`` speaks every non-profile voice id.

    ``backends`` are all loaded stock backends a match may name (``primary``
    is added when missing). Raises ValueError when a profile name collides
    with one of the primary's voice ids. ``prompts`` (by profile name) feed
    cloning backends.
    """

    def __init__(self, *, primary: VoiceBackend, profiles: Sequence[VoiceProfile],
                 backends: Sequence[VoiceBackend] = (), prompts: Mapping[str, ClonePrompt] | None = None) -> None:
        self.primary = primary
        self.prompts: dict[str, ClonePrompt] = dict(prompts or {})
        self.backends: dict[str, VoiceBackend] = {b.spec.name: b for b in backends}
        self.backends.setdefault(primary.spec.name, primary)
        self.profiles: dict[str, VoiceProfile] = {p.name: p for p in profiles}
        own = {v.voice_id for v in primary.voices()}
        clash = sorted(own & set(self.profiles))
        if clash:
            raise ValueError(f"voice profile name(s) {', '.join(clash)} collide with {primary.spec.name} voice ids")
        base = primary.spec
        self._spec = dataclasses.replace(
            base, name=BACKEND_PREFIX + base.name, display_name=f"Voice profiles over {base.display_name}",
            languages=tuple(dict.fromkeys(lang for b in self.backends.values() for lang in b.spec.languages)),
            description=f"Characters' voice profiles (tint: a stock voice moved toward the character, "
                        f"not a clone) over {', '.join(sorted(self.backends))}",
            voice_list=lambda: tuple(self.voices()), clones_from_reference=False)

    @property
    def spec(self) -> BackendSpec:
        return self._spec

    def voices(self) -> Sequence[VoiceInfo]:
        """The primary's voices first (the default voice stays the primary's), then one per profile."""
        return tuple(self.primary.voices()) + tuple(
            VoiceInfo(p.name, self._spec.languages, f"voice profile ({p.kind})") for p in self.profiles.values())

    def voice_key(self, voice_id: str) -> str | None:
        """The profile's content key for the render key; for stock voices, the primary's own (a variant's), if any."""
        profile = self.profiles.get(voice_id)
        if profile is None:
            return self.primary.voice_key(voice_id) if isinstance(self.primary, VoiceHooks) else None
        return f"{profile.key}:tint{TINT_VERSION}"  # a tint's sound changes with the DSP, not only the profile

    def resolve(self, profile: VoiceProfile, language: str) -> ResolvedVoice:
        """Backend, base voice and match that speak ``profile`` in ``language``; ValueError when none can.

        :class:`ConsentDenied` (a ValueError) when the actor denied consent.
        """
        if profile.consent.status == "denied":
            raise ConsentDenied(profile.name)
        match = profile.match_for(language)
        if match is not None and match.backend in self.backends:
            return ResolvedVoice(self.backends[match.backend], match.voice_id, match, False)
        if match is not None:
            raise ValueError(f"voice profile {profile.name!r} uses backend {match.backend!r}, which is not loaded")
        if not profile.matches:
            raise ValueError(f"voice profile {profile.name!r} has no voice match yet; build it with "
                             "'revoice voice build' or let 'revoice run' tune it")
        # Cross-lingual: borrow a tint, preferably one whose own backend also speaks this language.
        for borrowed in profile.matches:
            backend = self.backends.get(borrowed.backend)
            if backend is not None and speaks(backend, language):
                return ResolvedVoice(backend, borrowed.voice_id, borrowed, True)
        speaker = self.primary if speaks(self.primary, language) else next(
            (b for b in self.backends.values() if speaks(b, language)), None)
        if speaker is None:
            raise ValueError(f"no loaded backend speaks {language!r} for voice profile {profile.name!r}")
        return ResolvedVoice(speaker, speaker.voices()[0].voice_id, profile.matches[0], True)

    def voice_report(self, voice_id: str, language: str) -> dict[str, Any] | None:
        """JSON-ready facts about how ``voice_id`` speaks ``language`` (None for stock voices)."""
        profile = self.profiles.get(voice_id)
        if profile is None:
            return None
        resolved = self.resolve(profile, language)
        return {
            "name": profile.name, "kind": profile.kind, "key": profile.key, "strength": profile.strength,
            "base_backend": resolved.backend.spec.name, "base_voice": resolved.voice_id,
            "match_language": resolved.match.language, "cross_lingual": resolved.cross_lingual,
            "similarity_base": resolved.match.similarity_base,
            "similarity_matched": resolved.match.similarity_matched,
            "consent": profile.consent.status,
            **({"converter": profile.converter} if profile.converter else {}),
        }

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        """Speak as the profile ``request.voice_id`` (tinted) or, for stock ids, with the primary backend."""
        profile = self.profiles.get(request.voice_id)
        if profile is None:
            return self.primary.synthesize(request)
        resolved = self.resolve(profile, request.language)
        if resolved.backend.spec.clones_from_reference:
            prompt = self.prompts.get(profile.name)
            if prompt is None:
                raise ValueError(f"voice profile {profile.name!r}: {resolved.backend.spec.name} clones from "
                                 "reference speech, and this profile has none that could be read")
            return resolved.backend.synthesize(dataclasses.replace(
                request, voice_id=resolved.voice_id, reference_audio=prompt.audio,
                reference_sample_rate=prompt.sample_rate, reference_text=prompt.text))
        synthesis = resolved.backend.synthesize(dataclasses.replace(request, voice_id=resolved.voice_id))
        tint = dataclasses.replace(resolved.match.tint, strength=resolved.match.tint.strength * profile.strength)
        audio = apply_tint(synthesis.audio, synthesis.sample_rate, tint)
        return dataclasses.replace(synthesis, audio=audio)


def consent_checked(renders: Sequence[RenderedLine], profiles: Sequence[VoiceProfile]) -> list[RenderedLine]:
    """``renders`` with each voice profile's consent as ``profiles`` say now, and its flag.

    A render spoken by a profile (``report.voice_profile``) gets that profile's
    current consent status in its report and, while it is "unknown",
    :data:`CONSENT_UNKNOWN_FLAG` (:data:`CONSENT_DENIED_FLAG` when denied since);
    a stale flag from earlier goes. A profile not in ``profiles`` keeps the
    status its render recorded. Stock-voice renders come back unchanged.
    """
    by_name = {profile.name: profile for profile in profiles}
    checked: list[RenderedLine] = []
    for render in renders:
        use = render.report.voice_profile
        if use is None:
            checked.append(render)
            continue
        profile = by_name.get(use.name or "")
        status = profile.consent.status if profile is not None else (use.consent or "unknown")
        flags = tuple(flag for flag in render.flags if flag not in CONSENT_FLAGS)
        flags += {"unknown": (CONSENT_UNKNOWN_FLAG,), "denied": (CONSENT_DENIED_FLAG,)}.get(status, ())
        if status != use.consent:
            use = dataclasses.replace(use, consent=status, absent=use.absent - {"consent"})
            render = dataclasses.replace(render, report=dataclasses.replace(render.report, voice_profile=use))
        checked.append(render if flags == render.flags else dataclasses.replace(render, flags=flags))
    return checked
