"""``revoice voice build|list|show``: characters' voice profiles on the command line.

Exit codes as in :mod:`revoice.cli`: 0 done, 2 bad input (message names
the file or option), 3 no backend can match a voice.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from revoice.casting import BackendPool
    from revoice.context import EngineContext
    from revoice.engine.characters.profile import Consent, ProfileStore, VoiceProfile

EXIT_OK, EXIT_BAD_INPUT, EXIT_NO_BACKEND = 0, 2, 3
CONSENT_CHOICES = ("unknown", "granted", "denied")
RUN_CONSENT_CHOICES = ("granted",)
"""What ``revoice run --consent`` records for every character; a denial is recorded per character."""

VOICE_HELP = """\
Voice profiles: one per character, kept as JSON in a folder (revoice run
keeps them in <out stem>_voices beside --out; pass that folder as --voices).

  revoice voice build --voices DIR --timeline T.otio --subs S.srt [NAME]
      every speaker (or NAME) from the original dialogue under their lines
  revoice voice build NAME --voices DIR --ref take.wav:12.5-31 [--ref ...]
      from the editor's reference audio (any audio or video file)
  revoice voice build NAME --voices DIR --consent granted --by "A. Editor" --scope "this production"
      record the actor's consent (granted, denied or unknown) for one character
  revoice voice build NAME --voices DIR --strength 0.7
      change the strength of an existing profile
  revoice voice list --voices DIR
  revoice voice show NAME --voices DIR

Offline matching is a voice tint (a stock voice moved toward the actor's
pitch, vocal-tract length and spectral colour), not a clone: profiles say
which each character got ("tint" or "clone").

Consent: a profile is built from a real person's voice. Until their consent
is recorded it still renders, but every line it speaks is flagged ("voice
consent unknown") in the summary, the QC report and the clip metadata.
"denied" never renders that voice: a stock voice speaks the character.
'revoice run --consent granted --by NAME' records a grant for every
character the run gives a profile (never over a recorded denial).
"""


def add_voice_parser(sub: Any) -> None:
    """Register ``voice`` and its subcommands on the CLI's subparsers."""
    voice = sub.add_parser("voice", help="build, list and show characters' voice profiles", description=VOICE_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = voice.add_subparsers(dest="voice_command", required=True, metavar="build|list|show|prepare")
    build = commands.add_parser("build", help="build or update voice profiles", description=VOICE_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    build.add_argument("name", nargs="?", help="the character (speaker name); with --timeline: default all")
    build.add_argument("--voices", type=Path, required=True, help="the folder of voice profiles")
    build.add_argument("--timeline", type=Path, help="timeline whose original dialogue is the reference")
    build.add_argument("--subs", type=Path, help="subtitle file with the lines and speakers")
    build.add_argument("--subs-offset", default="auto", metavar="auto|zero|timeline|SECONDS")
    build.add_argument("--rate", type=float, help="frame rate for EDLs")
    build.add_argument("--ref", action="append", default=[], metavar="FILE[:START-END]",
                       help="reference audio (seconds range optional); repeat for more")
    build.add_argument("--language", action="append", default=[],
                       help="language(s) to match a voice for, repeat for more (default: the lines' languages; "
                            "en with --ref); a profile speaks other languages with a borrowed tint")
    build.add_argument("--consent", choices=CONSENT_CHOICES, help="the actor's consent")
    build.add_argument("--by", default="", help="who recorded the consent")
    build.add_argument("--note", default="", help="a note kept with the consent")
    build.add_argument("--scope", default="", help="what the consent covers, e.g. 'this production'")
    build.add_argument("--strength", type=float, help="tint strength 0 (stock voice) to 1 (full likeness)")
    build.add_argument("--match", action=argparse.BooleanOptionalAction, default=True,
                       help="match a base voice and tint now (default); --no-match leaves it to revoice run")
    build.add_argument("--match-voice", action="append", default=[], metavar="BACKEND:VOICE",
                       help="base voice matching may choose; repeat for more (default: every available voice)")
    build.add_argument("--commercial", action="store_true",
                       help="match only base voices whose weights allow commercial use (see 'revoice voices')")
    build.add_argument("--convert", nargs="?", const="auto", metavar="NAME|auto|off",
                       help="make the profile(s) kind 'convert': the tint's voice, then converted to the actor's "
                            "timbre by voice converter NAME (auto: the first available; see 'revoice voices'); "
                            "off makes them plain tints again")
    build.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    build.add_argument("--json", action="store_true", help="print the profiles as JSON")
    prepare = commands.add_parser(
        "prepare", help="fill the voice bank ahead (at install): the first character then matches as fast as any",
        description="Speak and judge, untinted, every base voice and blend that voice matching could try for each "
                    "language, into the voice bank (~/.cache/revoice/voice_bank), with the meters of 'revoice run'. "
                    "Matching a character's voice then spends its time on that character only. Safe to stop and "
                    "run again: what is done is kept.")
    prepare.add_argument("--language", action="append", default=[],
                         help="language to prepare, repeat for more (default: en and zh)")
    prepare.add_argument("--commercial", action="store_true",
                         help="only base voices whose weights allow commercial use")
    prepare.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    prepare.add_argument("--shard", default="1/1", metavar="I/N",
                         help="prepare only part I of N of the voices (one thread per model): run 1/N ... N/N at once, "
                              "on one machine's cores or on machines sharing the home folder's cache")
    prepare.add_argument("--json", action="store_true", help="print what was prepared as JSON")
    listing = commands.add_parser("list", help="list the voice profiles in a folder")
    listing.add_argument("--voices", type=Path, required=True, help="the folder of voice profiles")
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = commands.add_parser("show", help="show one voice profile: references, consent, matches")
    show.add_argument("name", help="the character")
    show.add_argument("--voices", type=Path, required=True, help="the folder of voice profiles")
    show.add_argument("--json", action="store_true", help="print the profile file's JSON")


def add_consent_options(parser: argparse.ArgumentParser) -> None:
    """``--consent granted --by NAME [--consent-scope TEXT]`` on ``revoice run`` and ``revoice demo``."""
    parser.add_argument("--consent", choices=RUN_CONSENT_CHOICES,
                        help="record the actors' consent (granted) in every voice profile this run builds or uses; "
                             "needs --by. Without it, lines spoken by a profile without recorded consent are "
                             "flagged. One character, or a denial: revoice voice build NAME --consent ...")
    parser.add_argument("--by", dest="consent_by", default="", metavar="NAME",
                        help="who records the consent (the editor or the actor's agent)")
    parser.add_argument("--consent-scope", default="", metavar="TEXT",
                        help="what the consent covers, e.g. 'this production'")


def consent_option(args: argparse.Namespace) -> Consent | None:
    """The consent ``revoice run`` records (None without ``--consent``); ValueError naming the option."""
    status = getattr(args, "consent", None)
    by = str(getattr(args, "consent_by", "") or "").strip()
    scope = str(getattr(args, "consent_scope", "") or "").strip()
    if status is None:
        if by or scope:
            raise ValueError("--by and --consent-scope go with --consent granted")
        return None
    if not by:
        raise ValueError(f"--consent {status} needs --by NAME: who records the actors' consent")
    from revoice.engine.characters.profile import Consent

    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    return Consent(status=status, by=by, date=today, scope=scope)


def voice_main(args: argparse.Namespace) -> int:
    """Run ``revoice voice ...``; messages go to stderr prefixed ``revoice:``."""
    from revoice.engine.characters.profile import ProfileError, ProfileStore
    from revoice.engine.original import MediaError
    from revoice.options import JobError

    try:
        if args.voice_command == "prepare":
            return _prepare(args)
        store = ProfileStore(args.voices)
        if args.voice_command == "list":
            return _list(store, as_json=args.json)
        if args.voice_command == "show":
            return _show(store, args.name, as_json=args.json)
        return _build(store, args)
    except (ProfileError, MediaError) as exc:
        return _fail(str(exc))
    except JobError as exc:
        return _fail(str(exc), exc.exit_code)
    except ValueError as exc:
        return _fail(str(exc))


def _prepare(args: argparse.Namespace) -> int:
    """``revoice voice prepare``: the voice bank filled for each language (engine.characters.tuning_prepare)."""
    from revoice.context import EngineContext
    from revoice.engine.characters.tuning_prepare import prepare_language
    from revoice.engine.voices.base import BackendOptions

    from revoice.options import Shard

    shard = Shard.parse(args.shard)
    languages = list(dict.fromkeys(args.language)) or ["en", "zh"]
    context = EngineContext(device=args.device)
    # shards run side by side: one math thread per model each, as `revoice run`'s worker processes
    options = BackendOptions(device=args.device, commercial=args.commercial,
                             threads=1 if shard.count > 1 else None)
    has_mos, has_asr = context.can_veto()
    done = []
    for language in languages:
        pool = context.backend_pool(list(context.voices_for([language], options=options).values()), options=options)
        backends = pool.for_matching(language)
        if not backends:
            reasons = "; ".join(f"{k}: {v}" for k, v in pool.failed.items()) or "no backend speaks it"
            return _fail(f"--language {language}: no voice to prepare ({reasons})", EXIT_NO_BACKEND)
        prepared = prepare_language(
            language, backends=backends, embedder=context.speaker_embedder(), synthesis_cache=context.voice_bank(),
            naturalness=context.naturalness if has_mos else None,
            transcribe=context.transcriber() if has_asr else None,
            progress=None if args.json else _say_progress(language), shard=(shard.index, shard.count))
        done.append(prepared)
        if not args.json:
            print(f"{language}: {len(prepared.voices)} voices ready in {prepared.seconds:.1f} s")
    if args.json:
        print(json.dumps([{"language": p.language, "voices": list(p.voices), "seconds": p.seconds} for p in done],
                         indent=1))
    return EXIT_OK


def _say_progress(language: str) -> Callable[[str], None]:
    def say(voice: str) -> None:
        print(f"{language}: {voice}", flush=True)

    return say


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"revoice: {message}", file=sys.stderr)
    return code


def _list(store: ProfileStore, *, as_json: bool) -> int:
    from revoice.casting import profile_row
    from revoice.summary import profile_summary

    rows = [profile_row(p, status="stored", path=store.path_for(p.name)) for p in store.profiles()]
    if as_json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
    elif not rows:
        print(f"no voice profiles in {store.folder}")
    else:
        for row in rows:
            print(profile_summary(row))
    return EXIT_OK


def _show(store: ProfileStore, name: str, *, as_json: bool) -> int:
    from revoice.casting import profile_row
    from revoice.summary import profile_summary

    profile = store.get(name)
    if profile is None:
        known = ", ".join(store.names()) or "none"
        return _fail(f"{store.folder}: no voice profile named {name!r} (profiles: {known})")
    if as_json:
        print(json.dumps(profile.to_dict(), indent=1, ensure_ascii=False))
        return EXIT_OK
    print(profile_summary(profile_row(profile, status="stored", path=store.path_for(name))))
    stats = profile.stats
    if stats.f0_median_hz is not None:
        print(f"  pitch: median {stats.f0_median_hz:.0f} Hz (10-90%: {stats.f0_p10_hz:.0f}-{stats.f0_p90_hz:.0f} Hz), "
              f"{stats.speech_seconds:.1f} s of speech")
    consent = profile.consent
    print(f"  consent: {consent.words}" + (f" ({consent.note})" if consent.note else "")
          + ("" if consent.recorded else " — record it before delivery"))
    for ref in profile.references:
        origin = f"line {ref.line_id}" if ref.line_id else "editor"
        snr = "" if ref.snr_db is None else f", SNR {ref.snr_db:.0f} dB"
        print(f"  reference: {ref.path} {ref.start_seconds:.2f}-{ref.end_seconds:.2f} s ({origin}{snr})")
    for match in profile.matches:
        tint = match.tint
        print(f"  {match.language}: {match.backend}:{match.voice_id} tint pitch {tint.pitch_semitones:+.1f} st, "
              f"formants x{tint.formant_ratio:.3f}, {len(tint.envelope_db)} EQ bands; similarity "
              f"{match.similarity_base:.2f} -> {match.similarity_matched:.2f}")
    return EXIT_OK


def _build(store: ProfileStore, args: argparse.Namespace) -> int:
    from revoice.engine.characters.build import now_iso, with_settings
    from revoice.engine.characters.profile import Consent

    if args.strength is not None and not 0.0 <= args.strength <= 1.0:
        return _fail(f"--strength {args.strength}: use a number from 0 to 1")
    if args.timeline is not None and args.ref:
        return _fail("give either --timeline (references found under the lines) or --ref files, not both")
    if args.ref and not args.name:
        return _fail("--ref needs the character's NAME: revoice voice build NAME --ref FILE --voices DIR")
    for path in [args.timeline, args.subs]:
        if path is not None and not path.is_file():
            return _fail(f"{path}: file not found")
    consent = Consent(status=args.consent, by=args.by, date=now_iso()[:10], note=args.note,
                      scope=args.scope) if args.consent else None
    if args.timeline is None and not args.ref:
        if not args.name:
            return _fail("nothing to build: give --timeline, or NAME with --ref, --consent or --strength")
        profile = store.get(args.name)
        if profile is None:
            return _fail(f"{store.folder}: no voice profile named {args.name!r}; build it with --timeline or --ref")
        if consent is None and args.strength is None and args.convert is None:
            return _fail("nothing to change: give --consent, --strength or --convert (or --ref to rebuild)")
        converter = _converter_option(args)
        store.save(_with_kind(with_settings(profile, consent=consent, strength=args.strength), converter))
        return _list_built(store, [args.name], as_json=args.json)
    converter = _converter_option(args)
    from revoice.casting import BackendPool
    from revoice.context import EngineContext
    from revoice.engine.voices.base import BackendOptions

    from revoice.options import JobError

    # the meters, vetoes, voice bank and stock voices of `revoice run`: a profile built here is the one a run builds
    context = EngineContext(device=args.device)
    options = BackendOptions(device=args.device, commercial=args.commercial)
    pools: list[BackendPool] = []

    def pool_for(languages: list[str]) -> BackendPool:
        """Each language's own voice first (its stock voice: the vetoes' reference), then every other one."""
        try:
            bases = list(context.voices_for(languages, options=options).values())
        except JobError:  # no voice speaks one of them: said below, with every backend's reason
            bases = []
        pools.append(context.backend_pool(bases, options=options, match_voices=args.match_voice))
        return pools[-1]

    statuses: dict[str, str] = {}
    if args.ref:
        names = [_build_from_refs(store, args, context, pool_for(args.language or ["en"]), consent)]
    else:
        statuses = _build_from_timeline(store, args, context, pool_for, consent)
        names = list(statuses)
        if not names:
            return _fail(f"{args.timeline}: no speaker with readable original dialogue"
                         + (f" named {args.name!r}" if args.name else ""))
    if converter is not None:
        for profile in [store.get(n) for n in names]:
            if profile is not None:
                store.save(_with_kind(profile, converter))
    built = [store.get(n) for n in names]
    if args.match and not any(profile is not None and profile.matches for profile in built):
        failed = {name: reason for pool in pools for name, reason in pool.failed.items()}
        reasons = "; ".join(f"{k}: {v}" for k, v in failed.items()) or "no backend speaks the language"
        _list_built(store, names, as_json=args.json, statuses=statuses)
        return _fail(f"profiles saved, but no voice could be matched ({reasons})", EXIT_NO_BACKEND)
    return _list_built(store, names, as_json=args.json, statuses=statuses)


def _converter_option(args: argparse.Namespace) -> str | None:
    """``--convert``: the converter's name, "" for off, None when not given; ValueError / exit 3 via JobError."""
    from revoice.conversion_plan import choose_converter_for
    from revoice.options import check_convert

    value: str | None = getattr(args, "convert", None)
    if value is None:
        return None
    check_convert(value)
    if value == "off":
        return ""
    from revoice.engine.voices.base import BackendOptions

    options = BackendOptions(device=args.device, commercial=bool(args.commercial))
    return choose_converter_for(None if value == "auto" else value, commercial=options.commercial,
                                options_for=lambda _name: options).name


def _with_kind(profile: VoiceProfile, converter: str | None) -> VoiceProfile:
    """``profile`` converting with ``converter`` ("" : a plain tint again; None: unchanged; clones stay clones)."""
    import dataclasses

    if converter is None or profile.kind == "clone":
        return profile
    if converter == "":
        return dataclasses.replace(profile, kind="tint", converter="") if profile.kind == "convert" else profile
    return dataclasses.replace(profile, kind="convert", converter=converter)


def _list_built(store: ProfileStore, names: list[str], *, as_json: bool,
                statuses: dict[str, str] | None = None) -> int:
    from revoice.casting import profile_row
    from revoice.summary import profile_summary

    rows = [profile_row(p, status=(statuses or {}).get(p.name, "saved"), path=store.path_for(p.name))
            for p in (store.get(n) for n in names) if p is not None]
    print(json.dumps(rows, indent=1, ensure_ascii=False) if as_json else "\n".join(profile_summary(r) for r in rows))
    return EXIT_OK


def _build_from_refs(store: ProfileStore, args: argparse.Namespace, context: EngineContext, pool: BackendPool,
                     consent: Any) -> str:
    from revoice.engine.characters.build import build_profile, tune_profile
    from revoice.engine.characters.references import editor_references, parse_ref

    embedder = context.speaker_embedder()

    refs = [parse_ref(text) for text in args.ref]
    for path, _, _ in refs:
        if not path.is_file():
            raise ValueError(f"--ref {path}: file not found")
    previous = store.get(args.name)
    reference = editor_references(refs)
    profile: VoiceProfile = build_profile(
        args.name, reference, embedder=embedder,
        consent=consent or (previous.consent if previous else None),
        strength=args.strength if args.strength is not None else (previous.strength if previous else 1.0))
    if args.match:
        for language in args.language or ["en"]:
            backends = pool.for_matching(language)
            if backends:
                has_mos, has_asr = context.can_veto()
                profile = tune_profile(profile, reference.audio, reference.sample_rate, languages=[language],
                                       backends=backends, embedder=embedder, synthesis_cache=context.voice_bank(),
                                       naturalness=context.naturalness if has_mos else None,
                                       transcribe=context.transcriber() if has_asr else None)
    store.save(profile)
    return profile.name


def _build_from_timeline(store: ProfileStore, args: argparse.Namespace, context: EngineContext,
                         pool_for: Callable[[list[str]], BackendPool], consent: Any) -> dict[str, str]:
    """Build or reuse the profiles of the timeline's speakers (or NAME); returns name -> status."""
    from revoice.casting import prepare_profiles
    from revoice.engine.characters.build import with_settings
    from revoice.options import JobError, parse_subtitle_offset
    from revoice.session import read_lines

    try:
        lines = read_lines(args.timeline, subtitles=args.subs, subtitle_offset=parse_subtitle_offset(args.subs_offset),
                           rate=args.rate, language="en").lines
    except JobError as exc:
        raise ValueError(str(exc)) from None
    speakers = [s for s in dict.fromkeys(line.speaker for line in lines) if args.name in (None, s)]
    has_mos, has_asr = context.can_veto()
    pool = pool_for(args.language or sorted({line.language for line in lines if line.speaker in speakers}))
    outcome = prepare_profiles(lines, speakers, store=store, embedder=context.speaker_embedder, pool=pool,
                               tune=args.match, languages=args.language, synthesis_cache=context.voice_bank(),
                               naturalness=context.naturalness if has_mos else None,
                               intelligibility=context.transcriber if has_asr else None)
    for warning in outcome.warnings:
        print(f"revoice: {warning}", file=sys.stderr)
    statuses = {row["name"]: row["status"] for row in outcome.rows if row["status"] != "not used: consent denied"}
    for name in statuses if (consent is not None or args.strength is not None) else []:
        profile = store.get(name)
        if profile is not None:
            store.save(with_settings(profile, consent=consent, strength=args.strength))
    return statuses
