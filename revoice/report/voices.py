"""The QC report's Voices table: what speaks each character, and with whose consent.

Per character: a *tint* (offline matching: a stock voice moved toward the
actor, not a clone), a *clone* (a zero-shot backend speaking from the actor's
reference), a *convert* (the tint's voice converted to the actor's timbre by a
voice converter, named with its licence and commercial use beside the
backend's) or a *stock* voice; the base voice, the similarity to the actor
before -> after matching, the tint's strength, the actor's consent, the
licence of the backend that speaks and whether its weights allow commercial
use (:class:`BackendTerms`, from its spec). :func:`voice_rows` reads them from the
timeline's clips (what was rendered) and the voice profiles beside it (what the
profile files say now: strength, consent); the panel may pass its own rows
instead (``revoice.ui.voices.VoiceEntry`` is a :class:`VoiceSummary`).

A character spoken by a profile whose actor's consent is not recorded is
flagged: its note says "consent unknown — record it before delivery" and the
table opens with how many there are (each of its lines also carries the render
flag "voice consent unknown", see revoice.engine.characters.character_backend).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from revoice.engine.records import VoiceProfileUse
from revoice.engine.voices.registry import UNDECLARED_COMMERCIAL_USE
from revoice.layout import OutputLayout
from revoice.otio_bridge.clip_metadata import ClipMetadata
from revoice.report.svg import escape

if TYPE_CHECKING:
    from revoice.engine.characters.profile import VoiceProfile
    from revoice.report.rows import ReportLine

TINT, CLONE, CONVERT, STOCK = "tint", "clone", "convert", "stock"
VOICE_KIND_WORDS: Mapping[str, str] = MappingProxyType({
    TINT: "tint — matched stock voice, not a clone",
    CLONE: "clone — a neural voice cloned from the actor's reference speech",
    CONVERT: "convert — matched stock voice, converted to the actor's timbre",
    STOCK: "stock — the backend's own voice",
})
"""How the Voices table (and the panel) names each kind of voice."""
CONSENT_UNKNOWN_NOTE = "consent unknown — record it before delivery"
"""The note of a character a voice profile speaks without recorded consent (the panel's warning too); the
same words as the CLI's (revoice.engine.characters.profile.CONSENT_UNKNOWN_WORDS, not imported: heavy)."""


class VoiceSummary(Protocol):
    """One row of the Voices table: what speaks one character."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def kind_words(self) -> str: ...
    @property
    def base_voice(self) -> str: ...
    @property
    def similarity(self) -> str: ...
    @property
    def strength(self) -> float | None: ...
    @property
    def consent(self) -> str: ...
    @property
    def licence(self) -> str: ...
    @property
    def commercial_words(self) -> str: ...
    @property
    def licence_words(self) -> str: ...
    @property
    def commercial_refused(self) -> bool: ...
    @property
    def note(self) -> str: ...


def commercial_words(allowed: bool | None, note: str = "") -> str:
    """Commercial use in words: ``yes (weights Apache-2.0)``, ``no (weights CC-BY-NC-4.0: ...)``, ``not known``."""
    if allowed is None:
        return "not known"
    reason = note or ("" if allowed else UNDECLARED_COMMERCIAL_USE)
    return ("yes" if allowed else "no") + (f" ({reason})" if reason else "")


@dataclass(frozen=True)
class BackendTerms:
    """A voice backend's licence and whether its weights allow commercial use (``BackendSpec.commercial_use``)."""

    licence: str = ""
    commercial_use: bool | None = None
    """None: not known (no such backend installed here)."""
    commercial_note: str = ""

    @property
    def commercial_words(self) -> str:
        return commercial_words(self.commercial_use, self.commercial_note)


@dataclass(frozen=True)
class VoiceRow:
    """What spoke one character in a revoiced timeline."""

    name: str
    kind: str
    """``"tint"``, ``"clone"`` or ``"stock"``."""
    base_voice: str
    """``"backend:voice"``: the stock voice under the tint, the cloning backend's voice, or the stock voice."""
    similarity: str
    """``"0.41 → 0.63"`` (cosine to the actor before → after the tint), one value for a clone, "" for stock."""
    consent: str
    licence: str
    """The licence of the backend that speaks the character."""
    note: str = ""
    strength: float | None = None
    """The tint's strength 0..1, as its profile file says now (None: a stock voice or a clone)."""
    commercial_use: bool | None = None
    """Whether the weights of the backend that speaks allow commercial use (None: not known)."""
    commercial_note: str = ""
    """Why (the backend spec's ``commercial_note``)."""
    converter: str = ""
    """Kind "convert": the voice converter's name (``openvoice``); "" otherwise."""
    converter_terms: BackendTerms = BackendTerms()
    """The converter's licence and commercial use (from its spec; not known when it is not installed here)."""

    @property
    def kind_words(self) -> str:
        words = VOICE_KIND_WORDS.get(self.kind, self.kind)
        return f"{words} by {self.converter}" if self.converter else words

    @property
    def commercial_words(self) -> str:
        """``yes (weights Apache-2.0)``, ``no (...)`` or ``not known``: the Voices table's Commercial use cell;
        for a converted voice the voice's then the converter's (``...; converter openvoice: yes``)."""
        words = commercial_words(self.commercial_use, self.commercial_note)
        if self.converter:
            words += f"; converter {self.converter}: {self.converter_terms.commercial_words}"
        return words

    @property
    def licence_words(self) -> str:
        """The backend's licence, and the converter's after it (``...; converter openvoice: MIT ...``)."""
        if not self.converter:
            return self.licence
        return "; ".join(part for part in (self.licence, f"converter {self.converter}: "
                                           f"{self.converter_terms.licence or 'not known'}") if part)

    @property
    def commercial_refused(self) -> bool:
        """Whether the voice's or the converter's weights do not allow commercial use (marked in the table)."""
        return self.commercial_use is False or (bool(self.converter) and self.converter_terms.commercial_use is False)


def consent_unknown(voice: VoiceSummary) -> bool:
    """Whether a voice profile speaks ``voice``'s character with no consent recorded (to be flagged)."""
    return voice.kind != STOCK and voice.consent.startswith("unknown")


def voice_rows(lines: Sequence[ReportLine], profiles: Sequence[VoiceProfile] = (),
               licences: Mapping[str, BackendTerms] | None = None,
               converters: Mapping[str, BackendTerms] | None = None) -> list[VoiceRow]:
    """One row per character (speaker) of ``lines``, by name.

    A character whose lines were spoken by a voice profile gets that profile's
    kind, base voice and similarity as rendered; its strength and consent come
    from ``profiles`` (the files now) when the profile is among them.
    ``licences`` are the backends' terms by name (default: :func:`backend_licences`), ``converters`` the voice
    converters' (default: :func:`converter_licences`).
    """
    known = backend_licences() if licences is None else licences
    converter_terms = converter_licences() if converters is None else converters
    by_name = {profile.name: profile for profile in profiles}
    clips: dict[str, list[ClipMetadata]] = {}
    for entry in lines:
        clips.setdefault(entry.line.speaker, []).append(entry.clip)
    rows: list[VoiceRow] = []
    for name in sorted(clips):
        uses = [c.report.voice_profile for c in clips[name] if c.report is not None]
        use = next((u for u in uses if u is not None), None)
        profile = by_name.get(name)
        if use is not None:
            rows.append(_profile_row(name, use, profile, known, converter_terms))
        else:
            rows.append(_stock_row(name, clips[name][0], profile, known))
    return rows


def _profile_row(name: str, use: VoiceProfileUse, profile: VoiceProfile | None,
                 licences: Mapping[str, BackendTerms], converters: Mapping[str, BackendTerms]) -> VoiceRow:
    kind = use.kind if use.kind in (CLONE, CONVERT) else TINT
    base, matched = use.similarity_base, use.similarity_matched
    similarity = ""
    if isinstance(matched, (int, float)):
        similarity = (f"{matched:.2f} (one line spoken from the prompt)" if kind == CLONE
                      else f"{base:.2f} → {matched:.2f}" if isinstance(base, (int, float)) else f"{matched:.2f}")
    notes = []
    consent = consent_words(profile) if profile is not None else (use.consent or "—")
    if consent.startswith("unknown"):
        notes.append(CONSENT_UNKNOWN_NOTE)
    if use.cross_lingual:
        notes.append(f"spoken with its {use.match_language or 'other'} tint (no match for the line's language)")
    if profile is not None and use.key is not None and profile.key != use.key:
        notes.append("the profile changed after this render: revoice the lines to hear it")
    strength = use.strength if profile is None else profile.strength
    terms = licences.get(use.base_backend or "", BackendTerms())
    return VoiceRow(
        name=name, kind=kind, base_voice=":".join(part for part in (use.base_backend, use.base_voice) if part),
        similarity=similarity, consent=consent, licence=terms.licence, note="; ".join(notes),
        strength=strength if kind in (TINT, CONVERT) else None, commercial_use=terms.commercial_use,
        commercial_note=terms.commercial_note, converter=(use.converter or "") if kind == CONVERT else "",
        converter_terms=converters.get(use.converter or "", BackendTerms()))


def _stock_row(name: str, clip: ClipMetadata, profile: VoiceProfile | None,
               licences: Mapping[str, BackendTerms]) -> VoiceRow:
    note = ""
    if profile is not None:
        note = ("consent denied: the profile is not used" if profile.consent.status == "denied"
                else "a voice profile exists but did not speak these lines")
    backend = clip.backend or ""
    terms = licences.get(backend, BackendTerms())
    return VoiceRow(name=name, kind=STOCK, base_voice=":".join(part for part in (backend, clip.voice) if part),
                    similarity="", consent=consent_words(profile) if profile is not None else "—",
                    licence=terms.licence, note=note, commercial_use=terms.commercial_use,
                    commercial_note=terms.commercial_note)


def consent_words(profile: VoiceProfile) -> str:
    """The actor's consent as the table says it: ``granted by A. Editor on 2025-01-02 for this production``."""
    return profile.consent.words


def backend_licences() -> dict[str, BackendTerms]:
    """Licence and commercial use by backend name, from the installed backends' specs (cheap: no model is loaded)."""
    from revoice.engine.voices.registry import BrokenBackendSpec, discover_backends

    try:
        return {spec.name: BackendTerms(spec.licence, spec.commercial_use, spec.commercial_note)
                for spec in discover_backends() if not isinstance(spec, BrokenBackendSpec)}
    except Exception:  # a broken plugin must not take the report down; its licence is left blank
        return {}


def converter_note(row: Mapping[str, object]) -> str:
    """Why a converter's weights do not allow commercial use: its licence (a ``describe_converters`` row); "" when
    they do (the licence is shown beside it)."""
    return f"weights {row['licence']}" if row.get("licence") and not row.get("commercial_use") else ""


def converter_licences() -> dict[str, BackendTerms]:
    """Licence and commercial use by voice converter name, from the installed converters' specs (loads no model)."""
    from revoice.engine.conversion.registry import BrokenConverterSpec, discover_converters

    try:
        return {spec.name: BackendTerms(spec.licence, spec.commercial_use, converter_note(
                    {"licence": spec.licence, "commercial_use": spec.commercial_use}))
                for spec in discover_converters() if not isinstance(spec, BrokenConverterSpec)}
    except Exception:  # a broken plugin must not take the report down
        return {}


def voices_html(voices: Sequence[VoiceSummary]) -> str:
    """The Voices table: character, kind of voice, base voice, similarity, strength, consent, licence, commercial use
    (of the weights that speak; "no" marked), note.

    Characters spoken without recorded consent are named above the table and their consent cell is marked.
    """
    rows = "".join(
        f"<tr class='{escape(v.kind)}'><td>{escape(v.name)}</td><td>{escape(v.kind_words)}</td>"
        f"<td>{escape(v.base_voice)}</td><td>{escape(v.similarity)}</td>"
        f"<td>{'' if v.strength is None else format(v.strength, '.2f')}</td>"
        + (f"<td class=consent-unknown style='color:#b9770e;font-weight:600'>&#9888; {escape(v.consent)}</td>"
           if consent_unknown(v) else f"<td>{escape(v.consent)}</td>")
        + f"<td>{escape(v.licence_words)}</td>" + _commercial_cell(v.commercial_words, v.commercial_refused)
        + f"<td>{escape(v.note)}</td></tr>"
        for v in voices)
    unknown = [v.name for v in voices if consent_unknown(v)]
    warning = (f"<p class=consent-unknown style='color:#b9770e'>&#9888; {len(unknown)} character(s) spoken by a voice "
               f"profile without recorded consent ({escape(', '.join(unknown))}): {CONSENT_UNKNOWN_NOTE}. Their "
               "lines are flagged “voice consent unknown”.</p>" if unknown else "")
    return ("<h2 id=voices>Voices</h2>" + warning + "<table class=voices><thead><tr><th>Character</th><th>Voice</th>"
            "<th>Base voice</th><th>Similarity before → after</th><th>Strength</th><th>Consent</th><th>Licence</th>"
            f"<th>Commercial use</th><th>Note</th></tr></thead><tbody>{rows}</tbody></table>")


def _commercial_cell(words: str, refused: bool) -> str:
    """The Commercial use cell: in the warning colour when refused (a voice's or converter's weights do not allow it)."""
    if refused:
        return f"<td class=commercial-no style='color:#b9770e'>{escape(words)}</td>"
    return f"<td class=commercial>{escape(words)}</td>"


def voices_folder(timeline_path: str | Path) -> Path:
    """Where ``revoice run`` keeps a job's voice profiles by default: ``<stem>_voices`` beside its output."""
    return OutputLayout(Path(timeline_path)).voices_dir


def read_profiles(folder: Path) -> tuple[list[VoiceProfile], list[str]]:
    """The voice profiles in ``folder`` (none when it is missing) and a warning per unreadable file."""
    from revoice.engine.characters.profile import PROFILE_SUFFIX, ProfileError, load_profile

    profiles: list[VoiceProfile] = []
    warnings: list[str] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*" + PROFILE_SUFFIX)):
            try:
                profiles.append(load_profile(path))
            except ProfileError as exc:
                warnings.append(f"{exc}; its lines get no voice similarity")
    return profiles, warnings
