"""Voice profiles inside a job: group unnamed speakers, build or reuse each character's profile, tune it.

Called by :func:`revoice.job.run_job` and ``revoice voice build``. Nothing
here prints; problems come back as warnings or :class:`ProfileError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revoice.engine.characters.build import build_profile, tune_profile
from revoice.engine.characters.clone import ClonePrompt, Transcriber, clone_prompt
from revoice.engine.characters.profile import CONSENT_UNKNOWN_WORDS, Consent, ProfileStore, VoiceProfile
from revoice.engine.characters.references import ReferenceSet, editor_references, find_references
from revoice.engine.characters.tuning import VoiceBlender
from revoice.engine.files import FileLock, LockPolicy
from revoice.engine.model import DEFAULT_SPEAKER, DialogueLine
from revoice.engine.speaker import SpeakerEmbedder
from revoice.engine.voices.base import (
    AudioArray,
    BackendOptions,
    BackendSpec,
    Synthesis,
    SynthesisRequest,
    VoiceBackend,
    VoiceInfo,
)

if TYPE_CHECKING:
    from revoice.context import EngineContext
    from revoice.engine.conversion.plan import ConversionPlan
    from revoice.engine.render import Revoicer
    from revoice.options import JobOptions
    from revoice.session import JobProgress

Progress = Callable[[str], None]


class VoiceSubset:
    """A loaded backend offering only some of its voices (to limit the base voices tried by matching)."""

    def __init__(self, backend: VoiceBackend, voice_ids: Sequence[str]) -> None:
        known = {v.voice_id for v in backend.voices()}
        unknown = sorted(set(voice_ids) - known)
        if unknown:
            raise ValueError(f"backend {backend.spec.name!r} has no voice {', '.join(unknown)}; "
                             f"it has {', '.join(sorted(known))}")
        self.backend = backend
        self._voices = tuple(v for v in backend.voices() if v.voice_id in set(voice_ids))
        self.blend_voice_id: VoiceBlender | None = getattr(backend, "blend_voice_id", None)
        """The backend's voice blending (matching blends only the offered voices), or None."""

    @property
    def spec(self) -> BackendSpec:
        return self.backend.spec

    def voices(self) -> Sequence[VoiceInfo]:
        return self._voices

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        return self.backend.synthesize(request)


class BackendPool:
    """The loaded backends of a job, plus any other available backend loaded when matching needs it.

    ``fixed`` (tests, the panel) disables discovery: only ``loaded`` are used.
    ``match_voices`` ("backend:voice") limits the base voices matching may choose.
    """

    def __init__(self, *, loaded: Sequence[VoiceBackend], options: BackendOptions, fixed: bool = False,
                 match_voices: Sequence[str] = ()) -> None:
        self.options = options
        self.fixed = fixed
        self.loaded: dict[str, VoiceBackend] = {}
        for backend in loaded:
            self.loaded.setdefault(backend.spec.name, backend)
        self.failed: dict[str, str] = {}
        self.match_voices: dict[str, list[str]] = {}
        for item in match_voices:
            name, sep, voice = item.partition(":")
            if not sep or not name or not voice:
                raise ValueError(f"--match-voice {item!r}: write it as BACKEND:VOICE, e.g. kokoro:jf_alpha")
            self.match_voices.setdefault(name, []).append(voice)

    def named(self, name: str) -> VoiceBackend | None:
        """The backend called ``name``, loading it when available; None (reason in ``failed``) if not."""
        if name in self.loaded:
            return self.loaded[name]
        if self.fixed or name in self.failed:
            return None
        from revoice.engine.voices.registry import discover_backends, load_backend

        spec = next((s for s in discover_backends() if s.name == name), None)
        if spec is None:
            self.failed[name] = "not installed"
            return None
        if spec.needs_gpu and self.options.device == "cpu":
            self.failed[name] = "needs a GPU"
            return None
        try:
            self.loaded[name] = load_backend(spec, self.options)
        except Exception as exc:  # a backend that cannot load is skipped for matching
            self.failed[name] = f"{type(exc).__name__}: {exc}"
            return None
        return self.loaded[name]

    def for_matching(self, language: str) -> list[VoiceBackend]:
        """Every usable backend that speaks ``language``, limited to ``match_voices`` when given."""
        from revoice.engine.characters.tint import LANGUAGE_EXTRAS, speaks

        names = list(self.loaded)
        if not self.fixed:
            from revoice.engine.voices.registry import discover_backends

            base = language.split("-")[0].lower()
            names += [s.name for s in discover_backends() if s.name not in names and not s.clones_from_reference and (
                s.supports_language(language) or base in LANGUAGE_EXTRAS.get(s.name, ()))]
        if self.match_voices:
            names = [n for n in names if n in self.match_voices]
        found: list[VoiceBackend] = []
        for name in names:
            backend = self.named(name)
            if backend is None or backend.spec.clones_from_reference or not speaks(backend, language):
                continue
            found.append(VoiceSubset(backend, self.match_voices[name]) if name in self.match_voices else backend)
        return found


@dataclass
class ProfileOutcome:
    """Profiles ready for rendering, a JSON-ready row per character, warnings, and clone prompts by name."""

    profiles: list[VoiceProfile] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    prompts: dict[str, ClonePrompt] = field(default_factory=dict)


KIND_NOTES = {
    "tint": "offline matching: a stock voice tinted toward the actor, not a clone",
    "clone": "neural voice cloned from the reference",
    "convert": "offline matching, then converted to the actor's timbre by {converter}",
}
"""What each kind of profile is, in words (``{converter}``: the converter's name)."""


def profile_row(profile: VoiceProfile, *, status: str, path: Path | None = None) -> dict[str, Any]:
    """What the summary and the panel show for one character."""
    return {
        "name": profile.name,
        "kind": profile.kind,
        "kind_note": KIND_NOTES.get(profile.kind, profile.kind).format(converter=profile.converter),
        "converter": profile.converter or None,
        "status": status,
        "strength": profile.strength,
        "consent": dataclasses.asdict(profile.consent),
        "consent_warning": "" if profile.consent.recorded else CONSENT_UNKNOWN_WORDS,
        "reference_seconds": round(profile.reference_seconds, 2),
        "references": len(profile.references),
        "f0_median_hz": profile.stats.f0_median_hz,
        "matches": [{"language": m.language, "backend": m.backend, "voice_id": m.voice_id,
                     "similarity_base": m.similarity_base, "similarity_matched": m.similarity_matched,
                     "similarity_given_up": m.similarity_given_up}
                    for m in profile.matches],
        "key": profile.key,
        "path": str(path) if path is not None else None,
    }


def reference_of(profile: VoiceProfile, lines: Sequence[DialogueLine]) -> ReferenceSet:
    """Re-read a profile's reference audio: the editor's files, or the lines it was found under."""
    if profile.editor_supplied:
        return editor_references([(Path(r.path), r.start_seconds, r.end_seconds) for r in profile.references])
    wanted = {r.line_id for r in profile.references}
    return find_references([line for line in lines if line.line_id in wanted])


def prepare_profiles(lines: Sequence[DialogueLine], speakers: Sequence[str], *, store: ProfileStore,
                     embedder: Callable[[], SpeakerEmbedder], pool: BackendPool, seed: int = 0,
                     progress: Progress | None = None, tune: bool = True, sentences: Sequence[str] = (),
                     languages: Sequence[str] = (),
                     should_cancel: Callable[[], bool] | None = None,
                     clone: VoiceBackend | None = None,
                     transcribe: Callable[[], Transcriber] | None = None,
                     naturalness: Callable[[AudioArray, int], float] | None = None,
                     intelligibility: Callable[[], Transcriber] | None = None,
                     locking: LockPolicy | None = None, consent: Consent | None = None,
                     synthesis_cache: MutableMapping[Any, Any] | None = None) -> ProfileOutcome:
    """Build or reuse the profile of each of ``speakers`` from their lines' original audio; tune what is missing.

    A stored profile is reused while its references (files, ranges, lines)
    are unchanged; editor-supplied profiles are always reused. The editor's
    consent and strength carry over to a rebuilt profile. A speaker whose
    consent is "denied", or with no usable original speech, keeps a stock
    voice (a warning says why). Profiles are saved in ``store``. With
    ``tune`` False no voice is matched (``revoice voice build --no-match``):
    the rows list every profile, ``profiles`` only those already matched.
    ``languages`` are matched too, beyond the languages of the speaker's lines
    (a profile drives lines in any language; a missing one borrows a tint).
    With ``clone`` (a zero-shot backend, ``spec.clones_from_reference``) each
    profile becomes a "clone": its reference's first seconds and their
    recognised transcript (``transcribe``) are the prompt the backend speaks from.
    ``naturalness`` (audio, rate -> MOS) and ``intelligibility`` (a factory of an
    ASR transcriber) veto tints that sound worse or garble words (see tune_match).

    ``consent`` (``revoice run --consent granted --by NAME``) is recorded in
    every profile built or used here, except one whose consent is "denied":
    a blanket grant never overrides an actor's denial (a warning says how to
    change it for that character). A profile still "unknown" is used and its
    row carries ``consent_warning``.

    Processes sharing ``store`` (``--shard K/N``) take turns per character
    (:meth:`ProfileStore.claims`, timing from ``locking``): one builds and
    tunes it while the others do their other characters first, then wait for
    it ("waiting for another shard to finish voice profile NAME") and reuse
    what it saved. ``should_cancel`` also ends the wait (TuningCancelled).
    ``synthesis_cache`` keeps the base voices' renders and scores (default: for this call only; a
    :class:`~revoice.engine.characters.voice_bank.VoiceBank` keeps them between runs).
    """
    outcome = ProfileOutcome()
    cache: MutableMapping[Any, Any] = {} if synthesis_cache is None else synthesis_cache
    found: dict[str, ReferenceSet] = {}

    def references(speaker: str) -> ReferenceSet:
        if speaker not in found:
            found[speaker] = find_references([line for line in lines if line.speaker == speaker])
        return found[speaker]

    def cohort(speaker: str) -> list[tuple[AudioArray, int]]:
        """The other characters' reference speech: tuning favours likeness to this one only."""
        others = [references(other) for other in speakers if other != speaker]
        return [(ref.audio, ref.sample_rate) for ref in others if ref.audio.size]

    def waiting(lock: FileLock) -> None:
        if progress is not None:
            progress(lock.waiting_message)

    number_of = {speaker: number for number, speaker in reversed(list(enumerate(speakers, 1)))}
    claimed = store.claims(speakers, policy=locking, should_cancel=should_cancel, on_wait=waiting,
                           warnings=outcome.warnings)
    with closing(claimed):  # each character's lock is held while it is built, tuned and saved
        for speaker in claimed:
            number = number_of[speaker]
            if progress is not None:
                progress(f"voice profile {number}/{len(speakers)}: {speaker}")
            own = [line for line in lines if line.speaker == speaker]
            stored = store.get(speaker)
            if stored is not None and stored.consent.status == "denied":
                outcome.warnings.append(f"voice profile {speaker}: consent denied; a stock voice speaks these lines")
                if consent is not None and consent.status != "denied":
                    outcome.warnings.append(
                        f"voice profile {speaker}: --consent {consent.status} does not override a recorded denial; "
                        f"change it with 'revoice voice build {speaker} --consent {consent.status} --by NAME' "
                        "or in the panel's Voices dock")
                outcome.rows.append(profile_row(stored, status="not used: consent denied",
                                                path=store.path_for(speaker)))
                continue
            status = "reused"
            reference: ReferenceSet | None = None
            if stored is not None and stored.editor_supplied:
                profile = stored
            else:
                reference = references(speaker)
                if not reference.clips:
                    if stored is not None:
                        profile = stored
                    else:
                        outcome.warnings.append(f"voice profile {speaker}: no usable original speech under the lines; "
                                                "a stock voice speaks them (give one with 'revoice voice build --ref')")
                        continue
                elif stored is not None and stored.references_key == _clips_key(reference):
                    profile = stored
                else:
                    profile = build_profile(speaker, reference, embedder=embedder(),
                                            consent=stored.consent if stored else None,
                                            strength=stored.strength if stored else 1.0)
                    status = "built" if stored is None or not stored.references else "rebuilt: references changed"
            recorded = consent is not None and not _same_decision(profile.consent, consent)
            if consent is not None and recorded:
                profile = dataclasses.replace(profile, consent=consent)
            tuned: list[str] = []
            if clone is not None and transcribe is not None:
                try:
                    profile, prompt = _cloned(profile, own, reference, clone=clone, transcribe=transcribe(),
                                              embedder=embedder, seed=seed, languages=languages)
                except ValueError as exc:
                    outcome.warnings.append(f"voice profile {speaker}: cannot clone ({exc})")
                    continue
                outcome.prompts[speaker] = prompt
                tuned = [m.language for m in profile.matches]
            elif tune:
                profile, tuned, problems = _matched(profile, own, reference, pool=pool, embedder=embedder, seed=seed,
                                                    cache=cache, sentences=sentences, languages=languages,
                                                    should_cancel=should_cancel, naturalness=naturalness,
                                                    cohort=lambda: cohort(speaker), transcribe=intelligibility)
                outcome.warnings.extend(f"voice profile {speaker}: {p}" for p in problems)
            if tuned and status == "reused":
                status = "reused, tuned for " + ", ".join(tuned)
            if recorded:
                status += f"; consent {profile.consent.status} recorded"
            if status != "reused":  # built, tuned or consent recorded
                store.save(profile)
            if not profile.matches:
                if tune:
                    outcome.warnings.append(f"voice profile {speaker}: no voice could be matched; a stock voice speaks")
                else:
                    outcome.rows.append(profile_row(profile, status=status, path=store.path_for(speaker)))
                continue
            outcome.profiles.append(profile)
            outcome.rows.append(profile_row(profile, status=status, path=store.path_for(speaker)))
    # characters another shard held were done last; report them in the order asked
    outcome.profiles.sort(key=lambda profile: number_of.get(profile.name, 0))
    outcome.rows.sort(key=lambda row: number_of.get(row["name"], 0))
    return outcome


def _same_decision(old: Consent, new: Consent) -> bool:
    """Whether ``new`` records what ``old`` already says (its date aside): a rerun does not re-date it."""
    return (old.status, old.by, old.scope, old.note) == (new.status, new.by, new.scope, new.note)


def _clips_key(reference: ReferenceSet) -> str:
    return VoiceProfile(name="x", references=reference.clips).references_key


def _matched(profile: VoiceProfile, lines: Sequence[DialogueLine], reference: ReferenceSet | None, *,
             pool: BackendPool, embedder: Callable[[], SpeakerEmbedder], seed: int, cache: MutableMapping[Any, Any],
             sentences: Sequence[str], languages: Sequence[str],
             should_cancel: Callable[[], bool] | None,
             naturalness: Callable[[AudioArray, int], float] | None = None,
             cohort: Callable[[], list[tuple[AudioArray, int]]] = list,
             transcribe: Callable[[], Transcriber] | None = None) -> tuple[VoiceProfile, list[str], list[str]]:
    """``profile`` with a loaded match for every language of ``lines``: (profile, languages tuned, problems)."""
    problems: list[str] = []
    kept = []
    if profile.kind == "clone":  # cloned earlier with a zero-shot backend; this run tints a stock voice
        profile = dataclasses.replace(profile, kind="tint", matches=())  # (a "convert" profile keeps its kind)
    for match in profile.matches:
        if pool.named(match.backend) is None:
            problems.append(f"its {match.language} voice {match.backend}:{match.voice_id} is not available "
                            f"({pool.failed.get(match.backend, 'not loaded')}); tuning again")
        else:
            kept.append(match)
    if len(kept) != len(profile.matches):
        profile = dataclasses.replace(profile, matches=tuple(kept))
    wanted = dict.fromkeys([*(line.language for line in lines), *languages])
    tuned: list[str] = []
    for language in [lang for lang in wanted if profile.match_for(lang) is None]:
        backends = pool.for_matching(language)
        if not backends:
            problems.append(f"no loaded backend speaks {language!r} for matching")
            continue
        if reference is None:
            reference = reference_of(profile, lines)
        if reference.audio.size == 0:
            problems.append("its reference audio cannot be read any more; rebuild it")
            break
        profile = tune_profile(profile, reference.audio, reference.sample_rate, languages=[language],
                               backends=backends, embedder=embedder(), seed=seed, sentences=sentences,
                               should_cancel=should_cancel, synthesis_cache=cache, naturalness=naturalness,
                               cohort=cohort(), transcribe=transcribe() if transcribe is not None else None)
        tuned.append(language)
    return profile, tuned, problems


def _cloned(profile: VoiceProfile, lines: Sequence[DialogueLine], reference: ReferenceSet | None, *,
            clone: VoiceBackend, transcribe: Transcriber, embedder: Callable[[], SpeakerEmbedder], seed: int,
            languages: Sequence[str]) -> tuple[VoiceProfile, ClonePrompt]:
    """``profile`` as a clone on ``clone`` (one match per language it speaks) and its prompt.

    The match's similarities are measured on one line spoken from the prompt
    (before = after: a clone has no tint). ValueError when the reference is
    unusable or the backend fails.
    """
    from revoice.engine.characters.tint import VoiceMatch, VoiceTint, speaks

    if reference is None:
        reference = reference_of(profile, lines)
    wanted = [lang for lang in dict.fromkeys([*(line.language for line in lines), *languages])
              if speaks(clone, lang)]
    if not wanted:
        raise ValueError(f"{clone.spec.name} speaks none of the character's languages")
    prompt = clone_prompt(reference.audio, reference.sample_rate, language=wanted[0], transcribe=transcribe)
    voice_id = clone.voices()[0].voice_id
    probe = next((line for line in lines if line.language == wanted[0]), None)
    spoken = clone.synthesize(SynthesisRequest(
        text=probe.text if probe is not None else prompt.text, voice_id=voice_id, language=wanted[0], seed=seed,
        reference_audio=prompt.audio, reference_sample_rate=prompt.sample_rate, reference_text=prompt.text))
    similarity = round(embedder().similarity(spoken.audio, spoken.sample_rate, reference.audio,
                                             reference.sample_rate), 4)
    matches = tuple(VoiceMatch(language=lang, backend=clone.spec.name, voice_id=voice_id, tint=VoiceTint(),
                               similarity_base=similarity, similarity_matched=similarity) for lang in wanted)
    return dataclasses.replace(profile, kind="clone", converter="", matches=matches), prompt


def unnamed(lines: Sequence[DialogueLine]) -> list[DialogueLine]:
    """Lines without a speaker name (they carry the default speaker)."""
    return [line for line in lines if line.speaker == DEFAULT_SPEAKER]


def group_speakers(lines: list[DialogueLine], todo: Sequence[DialogueLine], *,
                   embedder: Callable[[], SpeakerEmbedder],
                   warnings: list[str]) -> tuple[list[DialogueLine], list[dict[str, Any]]]:
    """``lines`` with the speakers of ``todo`` proposed by voice, and the groups (name, line_ids, coherence...).

    Lines of ``todo`` without readable original speech keep their speaker (a warning lists them).
    """
    from revoice.engine.characters.grouping import group_lines

    if not todo or not any(s.available for line in todo for s in line.sources):
        return lines, []
    taken = sorted({line.speaker for line in lines} - {line.speaker for line in todo})
    grouping = group_lines(todo, embedder=embedder(), taken=taken)
    names = grouping.speaker_of()
    if grouping.ungrouped:
        warnings.append(f"{len(grouping.ungrouped)} line(s) without readable original speech kept their "
                        f"speaker: {', '.join(grouping.ungrouped)}")
    grouped = [dataclasses.replace(line, speaker=names[line.line_id]) if line.line_id in names else line
               for line in lines]
    return grouped, [dataclasses.asdict(group) for group in grouping.groups]


@dataclass
class Cast:
    """The characters' voices for one run: profiles, summary rows, clone prompts, the backends matching used."""

    profiles: list[VoiceProfile]
    rows: list[dict[str, Any]]
    prompts: dict[str, ClonePrompt]
    pool: BackendPool
    warnings: list[str]
    conversion: ConversionPlan | None = None
    """The convert profiles' converters and references (None: no character is converted)."""


def cast_profiles(options: JobOptions, *, all_lines: Sequence[DialogueLine], lines: Sequence[DialogueLine],
                  voices: Mapping[str, VoiceBackend], context: EngineContext, progress: JobProgress | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> Cast:
    """Profiles for the speakers of ``lines`` (references from all their lines), kept in ``options.voices_dir``.

    When the run's voice is a cloning backend (``--backend f5``), profiles are clones and come with
    their prompts (reference speech + its transcript from the context's speech recognition).
    Raises JobError (a broken profile file; cancelled while matching: exit 130).
    """
    from revoice.engine.characters.profile import ProfileError
    from revoice.engine.characters.tuning import TuningCancelled
    from revoice.conversion_plan import apply_convert_option, chosen_converter, conversion_plan
    from revoice.options import JobError

    pool = context.backend_pool(voices.values(), options=options.backend_options, match_voices=options.match_voices)
    speakers = [s for s in dict.fromkeys(line.speaker for line in lines) if s not in options.speaker_voices]
    try:
        store = ProfileStore(options.voices_dir)
    except ProfileError as exc:
        raise JobError(str(exc)) from None
    names = [s for s in speakers if s in store or any(src.available for line in all_lines if line.speaker == s
                                                       for src in line.sources)]

    def note(message: str) -> None:
        if progress is not None:
            progress(0, len(lines), message)

    clone = next((b for b in voices.values() if b.spec.clones_from_reference), None)
    chosen = chosen_converter(options)  # --convert: before any matching, so a run that cannot convert stops now
    has_mos, has_asr = context.can_veto()
    try:
        outcome = prepare_profiles(all_lines, names, store=store, embedder=context.speaker_embedder,
                                   pool=pool, seed=options.settings.seed, progress=note, should_cancel=should_cancel,
                                   sentences=options.match_sentences, clone=clone, transcribe=context.transcriber,
                                   naturalness=context.naturalness if has_mos else None,
                                   intelligibility=context.transcriber if has_asr else None,
                                   consent=options.consent, synthesis_cache=context.voice_bank())
    except ProfileError as exc:
        raise JobError(f"{exc}. Fix or delete the file, or run with --profiles off") from None
    except TuningCancelled:
        raise JobError("cancelled while matching voices; nothing was rendered", exit_code=130) from None
    context.keep(pool)
    converted = conversion_plan(options, apply_convert_option(options, outcome.profiles, chosen), all_lines,
                                kept=context.converters)
    for profile in converted.profiles:
        if profile.name in converted.changed:
            store.save(profile)
    outcome.profiles = converted.profiles
    outcome.rows = _rows_as_spoken(outcome.rows, converted.profiles, converted.changed)
    warnings = list(outcome.warnings) + converted.warnings
    warnings.extend(f"voice matching could not load backend {name!r} ({reason}); its voices were not tried"
                    for name, reason in pool.failed.items() if reason not in ("not installed", "needs a GPU"))
    return Cast(profiles=outcome.profiles, rows=outcome.rows, prompts=outcome.prompts, pool=pool, warnings=warnings,
                conversion=converted.plan)


def _rows_as_spoken(rows: Sequence[dict[str, Any]], profiles: Sequence[VoiceProfile],
                    changed: Sequence[str]) -> list[dict[str, Any]]:
    """``rows`` with each spoken profile's kind as this run speaks it (``--convert`` may have changed it)."""
    by_name = {profile.name: profile for profile in profiles}
    fixed: list[dict[str, Any]] = []
    for row in rows:
        profile = by_name.get(str(row["name"]))
        if profile is not None and (profile.kind != row["kind"] or profile.name in changed):
            status = str(row["status"]) + (f"; now converted by {profile.converter}" if profile.name in changed else "")
            path = Path(row["path"]) if row.get("path") else None
            row = profile_row(profile, status=status, path=path)
        fixed.append(row)
    return fixed


VOICE_SOURCES = ("profile", "chosen", "run voice", "distinct", "shared")
"""Why a character speaks its voice: its voice profile; a voice chosen for it (``--speaker-voice``, the
panel); the run's one voice (``--voice``); a distinct stock voice (revoice.engine.characters.stock_voices);
one shared because the reel has more characters than distinct voices."""


@dataclass(frozen=True)
class CharacterVoice:
    """Who speaks one character in one language, and why: the summary's VOICE line, ``--json``'s "voices"."""

    name: str
    language: str
    voice: str
    """``backend:voice_id`` (a voice profile's name for a profile)."""
    source: str
    """One of :data:`VOICE_SOURCES`."""
    reason: str
    """In words: ``distinct stock voice; no original audio``."""

    def to_json(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def character_voices(options: JobOptions, revoicers: Mapping[str, Revoicer], lines: Sequence[DialogueLine], *,
                     profiles: Sequence[VoiceProfile] = (),
                     rows: Sequence[Mapping[str, Any]] = ()) -> list[CharacterVoice]:
    """Each character's voice per language as ``revoicers`` (engine.render.Revoicer by language) speak it.

    In each language's order of first appearance. ``profiles`` are the ones the run speaks, ``rows``
    the profile rows (a profile "not used: consent denied" says why a stock voice speaks).
    """
    from revoice.engine.characters.character_backend import BACKEND_PREFIX
    from revoice.engine.characters.stock_voices import characters_in_order

    spoken = {profile.name: profile.kind + (f", converted by {profile.converter}" if profile.converter else "")
              for profile in profiles}
    unused = {str(row["name"]): str(row["status"]).removeprefix("not used: ") for row in rows
              if str(row["status"]).startswith("not used")}
    found: list[CharacterVoice] = []
    for language, revoicer in revoicers.items():
        backend = revoicer.backend.spec.name.removeprefix(BACKEND_PREFIX)
        own = [line for line in lines if line.language == language]
        first = {line.speaker: line for line in reversed(own)}
        voices = {name: revoicer.voice_for(first[name]) for name in characters_in_order(own)}
        for name, voice in voices.items():
            if name in spoken and voice == name:
                found.append(CharacterVoice(name, language, name, "profile", f"voice profile ({spoken[name]})"))
                continue
            if name in options.speaker_voices:
                source, reason = "chosen", "chosen for this character"
            elif options.settings.voice_id is not None:
                source, reason = "run voice", "--voice: one voice for every character"
            else:
                others = [other for other, v in voices.items() if v == voice and other != name]
                source = "shared" if others else "distinct"
                reason = (f"stock voice shared with {', '.join(others)}: more characters than distinct voices"
                          if others else "distinct stock voice")
                reason += "; " + _why_stock(name, options, lines, unused)
            found.append(CharacterVoice(name, language, f"{backend}:{voice}", source, reason))
    return found


def _why_stock(name: str, options: JobOptions, lines: Sequence[DialogueLine], unused: Mapping[str, str]) -> str:
    """Why no voice profile speaks ``name``: no original audio, profiles off, its profile not used, or none."""
    if not any(source.available for line in lines if line.speaker == name for source in line.sources):
        return "no original audio"
    if options.profiles == "off":
        return "voice profiles off"
    if name in unused:
        return f"its voice profile is not used ({unused[name]})"
    return "no voice profile"
