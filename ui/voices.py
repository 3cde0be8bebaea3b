"""What each character speaks with (tint, clone or stock voice) and the tint's strength; no widgets here.

:func:`voice_entries` tells, per character, what the next
``run_job`` would give it under the panel's settings, read from the voice
profiles ``revoice run`` keeps in ``<out stem>_voices``: a *tint* (offline
matching: a stock voice moved toward the actor, not a clone), a *clone*
(a zero-shot backend speaking from the actor's reference) or a *stock*
voice, with the base voice, the similarity before -> after matching, the
actor's consent and the licence of the backend that speaks.
:class:`revoice.ui.docks.VoicesDock` shows them as one card per character with a
strength slider; :func:`save_strength` writes the new strength into the profile file
(atomically), so the next render uses it; :func:`save_consent` records the
actor's consent there the same way (the dock's Consent… dialog), and a
profile speaking without recorded consent is shown as a warning (its lines are
flagged "voice consent unknown"). :func:`voices_header` is the
one-line summary above the cards, and :class:`BackendInfo` names the voice
backend that speaks the stock voices. The kinds' words, the consent wording
and the licences are the QC report's (:mod:`revoice.report.voices`): a
:class:`VoiceEntry` is one of its :class:`~revoice.report.voices.VoiceSummary` rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from revoice.engine.characters.profile import Consent, ProfileError, ProfileStore, VoiceProfile
from revoice.engine.characters.stock_voices import CastVoice, default_cast, variant_infos
from revoice.engine.model import DialogueLine
from revoice.engine.voices.base import BackendOptions, VoiceBackend, VoiceInfo

from revoice.report.voices import CLONE as CLONE
from revoice.report.voices import CONVERT as CONVERT
from revoice.report.voices import STOCK as STOCK
from revoice.report.voices import TINT as TINT
from revoice.report.voices import (
    CONSENT_UNKNOWN_NOTE,
    VOICE_KIND_WORDS,
    BackendTerms,
    VoiceRow,
    backend_licences,
    consent_unknown,
    consent_words,
    converter_licences,
)

KIND_WORDS = VOICE_KIND_WORDS
"""How the panel names each kind of voice: the QC report's words."""


@dataclass(frozen=True)
class MatchingSetup:
    """What voice matching may use in the panel's runs (defaults: every available backend and voice).

    ``backends`` are loaded backends to match with (None: found and loaded by the run when needed);
    ``voices`` limits the base voices ("backend:voice"); ``sentences`` are what candidates say.
    """

    backends: tuple[VoiceBackend, ...] | None = None
    voices: tuple[str, ...] = ()
    sentences: tuple[str, ...] = ()


@dataclass(frozen=True)
class VoiceEntry(VoiceRow):
    """What one character speaks with in the next run: a row of the QC report's Voices table, plus its profile.

    ``base_voice`` is the "backend:voice" of the profile's match for the character's language, or the
    stock voice; ``note`` says why a stock voice speaks, a borrowed language, or the last run's status;
    ``strength`` is the tint's (None: nothing to scale, a stock voice or a clone).
    """

    profile: VoiceProfile | None = field(default=None, compare=False)
    """The profile the next run uses (tint or clone); None for a stock voice."""
    consent_record: Consent | None = field(default=None, compare=False)
    """The consent in the character's profile file (also when it is not used: denied); None without a file."""
    consent_editable: bool = False
    """Whether the editor can record consent here: the character has, or the next run builds, a profile."""
    voice_choices: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    """What the card's Voice menu offers: (voice id, label); "" first: automatic (profile or distinct stock voice)."""
    chosen_voice: str = ""
    """The voice the editor chose for the character (Settings, the Voices dock); "" for automatic."""

    @property
    def consent_unknown(self) -> bool:
        """A profile speaks this character and nobody recorded the actor's consent: the dock warns."""
        return consent_unknown(self)

    @property
    def short(self) -> str:
        """A few words for the Characters dock: "tint of kokoro:jm_kumo", "clone", the stock voice."""
        if self.kind == TINT:
            return f"tint of {self.base_voice}"
        if self.kind == CLONE:
            return f"clone ({self.base_voice})"
        if self.kind == CONVERT:
            return f"{self.base_voice} converted by {self.converter}"
        return self.base_voice


def voice_entries(lines: Sequence[DialogueLine], store: ProfileStore | None, *, profiles_on: bool,
                  stock_voices: Mapping[str, str], default_voice: str, default_backend: str,
                  licences: Mapping[str, BackendTerms], statuses: Mapping[str, str] | None = None,
                  extra_names: Sequence[str] = (), voices: Sequence[VoiceInfo] = (),
                  converters: Mapping[str, BackendTerms] | None = None) -> list[VoiceEntry]:
    """One entry per speaker of ``lines`` (plus ``extra_names``, e.g. speakers grouped by voice), by name.

    Mirrors what ``run_job`` does with ``profiles="auto"`` (or "off" when
    ``profiles_on`` is False): profiles are used only when some line has
    readable original audio; a speaker with a voice chosen in ``stock_voices``,
    denied consent, or a profile without a voice match speaks a stock voice:
    a distinct one of the backend's ``voices`` (default first; their variants
    are cast as the run casts them, revoice.engine.characters.stock_voices),
    else ``default_voice``. Each entry offers those voices in ``voice_choices``.
    ``statuses`` are the last run's profile statuses by name ("built", "reused", ...); ``licences`` are the
    backends' terms by name (licence, commercial use: :func:`licences_of`); ``converters`` the voice converters'
    (default: the installed ones', read when a "convert" profile needs them).
    """
    with_audio = {line.speaker for line in lines if any(s.available for s in line.sources)}
    language = {line.speaker: line.language for line in reversed(lines)}
    names = sorted(set(language) | set(extra_names))
    stock_terms = licences.get(default_backend, BackendTerms())
    cast: dict[str, CastVoice] = {}
    for spoken in dict.fromkeys(language.values()):
        cast.update({name: voice for name, voice in default_cast(lines, voices, language=spoken,
                                                                  chosen=stock_voices).items()
                     if language[name] == spoken})
    offered = _voice_choices(voices)
    entries: list[VoiceEntry] = []
    for name in names:
        status = (statuses or {}).get(name, "")

        def stock(note: str, record: Consent | None = None, *, editable: bool = False,
                  name: str = name) -> VoiceEntry:
            chosen = stock_voices.get(name, "")
            voice = chosen or (cast[name].voice_id if name in cast else default_voice)
            base = f"{default_backend}:{voice}" if default_backend and voice else voice or default_backend
            if not chosen and name in cast:
                note = _cast_words(cast, name) + "; " + note
            return VoiceEntry(name=name, kind=STOCK, base_voice=base, similarity="",
                              consent=record.words if record is not None else "—", licence=stock_terms.licence,
                              commercial_use=stock_terms.commercial_use, commercial_note=stock_terms.commercial_note,
                              note=note, consent_record=record, consent_editable=editable or record is not None,
                              voice_choices=_with_automatic(offered, "" if chosen else voice), chosen_voice=chosen)

        if name in stock_voices:
            entries.append(stock("voice chosen for this character (Settings or the Voices dock)"))
            continue
        if not profiles_on:
            entries.append(stock("voice profiles are off (Settings)"))
            continue
        if not with_audio:
            entries.append(stock("no original audio under the lines: no profile can be built"))
            continue
        try:
            profile = store.get(name) if store is not None else None
        except ProfileError as exc:
            entries.append(stock(f"its profile cannot be read: {exc}"))
            continue
        if profile is None:
            entries.append(stock("no profile yet: revoice the character's lines to build one"
                                 if name in with_audio else "no original audio under the character's lines",
                                 editable=name in with_audio))
            continue
        consent = consent_words(profile)
        if profile.consent.status == "denied":
            entries.append(stock("consent denied: the profile is not used", profile.consent))
            continue
        spoken = language.get(name, "en")
        own = profile.match_for(spoken)
        match = own or (profile.matches[0] if profile.matches else None)
        if match is None:
            entries.append(stock("profile built, no voice matched yet (the next run matches one)" if profile.references
                                 else "no voice yet: the next run builds it and keeps this consent", profile.consent))
            continue
        notes = [] if profile.consent.recorded else [CONSENT_UNKNOWN_NOTE]
        if own is None:
            notes.append(f"no {spoken} match yet: the next run tunes one")
        if status:
            notes.append(f"last run: {status}")
        if profile.kind == CLONE:
            similarity = f"{match.similarity_matched:.2f} (one line spoken from the prompt)"
        else:
            similarity = f"{match.similarity_base:.2f} → {match.similarity_matched:.2f}"
        kind = profile.kind if profile.kind in (CLONE, CONVERT) else TINT
        terms = licences.get(match.backend, BackendTerms())
        if kind == CONVERT and converters is None:
            converters = converter_licences()
        entries.append(VoiceEntry(name=name, kind=kind, base_voice=f"{match.backend}:{match.voice_id}",
                                  similarity=similarity, consent=consent, licence=terms.licence,
                                  commercial_use=terms.commercial_use, commercial_note=terms.commercial_note,
                                  note="; ".join(notes), strength=profile.strength if kind != CLONE else None,
                                  converter=profile.converter,
                                  converter_terms=(converters or {}).get(profile.converter, BackendTerms()),
                                  profile=profile, consent_record=profile.consent, consent_editable=True,
                                  voice_choices=_with_automatic(offered, "profile")))
    return entries


def _voice_choices(voices: Sequence[VoiceInfo]) -> tuple[tuple[str, str], ...]:
    """(voice id, label) per voice a character may be given: ``joe~light — joe, lighter: ...``."""
    return tuple((v.voice_id, f"{v.voice_id} — {v.description}" if v.description else v.voice_id) for v in voices)


def _with_automatic(offered: tuple[tuple[str, str], ...], automatic: str) -> tuple[tuple[str, str], ...]:
    """``offered`` after the automatic choice ("" : a profile or a distinct stock voice, as the run decides)."""
    return (("", f"Automatic ({automatic})" if automatic else "Automatic"), *offered) if offered else ()


def _cast_words(cast: Mapping[str, CastVoice], name: str) -> str:
    """Why a stock voice was cast: distinct, or shared with whom."""
    voice = cast[name]
    if not voice.shared:
        return "distinct stock voice"
    others = [other for other, v in cast.items() if v.voice_id == voice.voice_id and other != name]
    return (f"stock voice shared with {', '.join(others)}: more characters than distinct voices" if others
            else "stock voice shared with a chosen one: more characters than distinct voices")


def save_strength(store: ProfileStore, name: str, strength: float) -> VoiceProfile:
    """Write ``strength`` (0..1) into ``name``'s profile file, atomically; the profile as saved.

    The file is read again first, so nothing else in it is lost. ProfileError
    when there is no readable profile or the value is out of range.
    """
    from revoice.engine.characters.build import with_settings

    profile = store.get(name)
    if profile is None:
        raise ProfileError(store.path_for(name), "(file)", f"no voice profile named {name!r}")
    updated = with_settings(profile, strength=round(float(strength), 2))
    store.save(updated)
    return updated


def save_consent(store: ProfileStore, name: str, consent: Consent) -> VoiceProfile:
    """Record ``consent`` in ``name``'s profile file, atomically; the profile as saved.

    The file is read again first, so nothing else in it is lost. A character
    without a profile yet gets one holding only the consent: the next run
    builds the voice into it and keeps the consent. ProfileError when the
    file cannot be read or the status is not one of unknown, granted, denied.
    """
    from revoice.engine.characters.build import now_iso

    profile = store.get(name)
    if profile is None:
        profile = VoiceProfile(name=name, consent=consent, created=now_iso())
    else:
        profile = dataclasses.replace(profile, consent=consent)
    store.save(profile)
    return profile


def licences_of(backends: Sequence[VoiceBackend] = ()) -> dict[str, BackendTerms]:
    """Licence and commercial use by backend name: the installed backends' specs, then ``backends`` (loaded ones)."""
    found = backend_licences()  # a broken plugin leaves them out; loaded backends still say theirs
    for backend in backends:
        spec = backend.spec
        found.setdefault(spec.name, BackendTerms(spec.licence, spec.commercial_use, spec.commercial_note))
    return found


def voices_header(entries: Sequence[VoiceEntry], lines: Sequence[DialogueLine], *, profiles_on: bool) -> str:
    """The sentence above the Voices cards: why stock voices speak, or how many characters have a profile."""
    profiled = sum(1 for e in entries if e.kind != STOCK)
    if not profiles_on:
        return "Voice profiles are off (Settings): stock voices only."
    if not any(s.available for line in lines for s in line.sources):
        return "No original audio under the lines: stock voices (a profile is built from the actor's speech)."
    unknown = [e.name for e in entries if e.consent_unknown]
    warning = (f" ⚠ Consent unknown for {', '.join(unknown)}: record it before delivery (Consent… on the card); "
               "their lines are flagged." if unknown else "")
    if profiled:
        return (f"{profiled} of {len(entries)} character(s) with a voice profile. A tint is a stock voice "
                "moved toward the actor, not a clone." + warning)
    return "Stock voices so far: revoicing builds a profile per character from the original dialogue."


@dataclass(frozen=True)
class BackendInfo:
    """The voice backend that speaks stock voices: the loaded one, or the one a run would load."""

    name: str
    display_name: str
    licence: str
    voices: tuple[VoiceInfo, ...]
    problem: str = ""
    """Why no backend fits (then the other fields are empty)."""

    @classmethod
    def of(cls, backend: VoiceBackend) -> BackendInfo:
        spec = backend.spec
        return cls(spec.name, spec.display_name, spec.licence, _with_variants(backend.voices()))

    @classmethod
    def probe(cls, *, language: str, device: str) -> BackendInfo:
        """The registry's choice for ``language`` on ``device``, without loading it."""
        from revoice.engine.voices.base import BackendUnavailable
        from revoice.engine.voices.registry import choose_backend, discover_backends

        try:
            spec = choose_backend(discover_backends(), language=language, options=BackendOptions(device=device))
            voices = tuple(spec.voice_list())
        except BackendUnavailable as exc:
            return cls("", "", "", (), problem=str(exc))
        except Exception as exc:  # a broken plugin must not take the panel down
            return cls("", "", "", (), problem=f"voice backends could not be listed: {exc}")
        return cls(spec.name, spec.display_name, spec.licence, _with_variants(voices))

    @property
    def default_voice(self) -> str:
        """The voice a character without a chosen one speaks ("" when none is known)."""
        return self.voices[0].voice_id if self.voices else ""


def _with_variants(voices: Sequence[VoiceInfo]) -> tuple[VoiceInfo, ...]:
    """A backend's voices, then their variants (``joe~light``: what a run's distinct stock voices may use)."""
    own = tuple(voices)
    listed = {v.voice_id for v in own}
    return own + tuple(v for v in variant_infos(own) if v.voice_id not in listed)
