"""What a finished job tells the editor: the CLI's table and ``--json``, and one line per character.

Nothing here renders or reads files: it formats a :class:`revoice.job.JobOutcome`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from revoice.engine.records import EmotionUse, TakeQc

if TYPE_CHECKING:
    from revoice.job import JobOutcome


def summary_json(outcome: JobOutcome) -> dict[str, Any]:
    """The run as JSON (``revoice run --json``): lines with their reports, failures, skips, warnings."""
    by_id = {line.line_id: line for line in outcome.lines}
    return {
        "timeline": str(outcome.options.timeline),
        "written": [str(path) for path in outcome.written],
        "lines": [
            {"line_id": r.line_id, "timecode": outcome.timecode(by_id[r.line_id]),
             "speaker": by_id[r.line_id].speaker, "text": by_id[r.line_id].text,
             "wav": str(r.path), "flags": list(r.flags), **r.report.to_json()}
            for r in outcome.batch.rendered
        ],
        "failed": [f.__dict__ for f in outcome.batch.failed],
        "skipped": [s.__dict__ for s in outcome.skipped],
        "warnings": outcome.warnings,
        "profiles": outcome.profiles,
        "voices": [voice.to_json() for voice in outcome.voices],
        "consent_unknown": consent_unknown(outcome.profiles),
        "speaker_groups": outcome.speaker_groups,
        "cached": outcome.batch.cached,
        "pending_shards": outcome.pending_shards,
        "superseded": [str(path) for path in outcome.superseded],
        "pruned": outcome.pruned,
        "seconds": round(outcome.batch.seconds, 2),
    }


def summary_table(outcome: JobOutcome) -> str:
    """The run as the CLI prints it: one row per line, then failures, skips, groups, voices, warnings, files."""
    by_id = {line.line_id: line for line in outcome.lines}
    metered = any(r.report.qc is not None for r in outcome.batch.rendered)
    head = ("line", "timecode in", "speaker", "emotion", "slot s", "speech s", "ratio", "onset ms", "LUFS", "dBTP")
    rows = [head + (("take", "WER", "voice", "MOS") if metered else ()) + ("flags",)]
    for r in outcome.batch.rendered:
        line = by_id[r.line_id]
        rep = r.report
        row: tuple[str, ...] = (
            r.line_id, outcome.timecode(line), line.speaker[:14], emotion_cell(rep.emotion),
            f"{line.record.duration_seconds:.2f}",
            _number(rep.speech_seconds, "{:.2f}"), _number(rep.ratio, "{:.2f}"), _number(rep.onset_error_ms, "{:+.0f}"),
            _number(rep.loudness_lufs, "{:.1f}"), _number(rep.true_peak_dbtp, "{:.1f}"))
        if metered:
            qc = rep.qc or TakeQc()
            error = qc.wer if "wer" not in qc.absent else qc.cer  # WER; CER from a meter that wrote no WER
            row += (f"{r.take}/{len(rep.takes or ()) or 1}", _number(error, "{:.2f}"),
                    _number(qc.similarity, "{:.2f}"), _number(qc.mos, "{:.1f}"))
        rows.append(row + ("; ".join(r.flags)[:70] or "ok",))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows]
    speech = sum(r.report.speech_seconds or 0.0 for r in outcome.batch.rendered)
    fresh = len(outcome.batch.rendered) - outcome.batch.cached
    out.append("")
    out.append(f"{len(outcome.batch.rendered)} rendered ({outcome.batch.cached} reused), {len(outcome.batch.failed)} failed, "
               f"{len(outcome.skipped)} skipped in {outcome.batch.seconds:.1f} s"
               + (f"; RTF {outcome.batch.seconds / speech:.2f} over {fresh} new line(s)" if speech and fresh else ""))
    for failure in outcome.batch.failed:
        out.append(f"FAILED  {failure.line_id} ({failure.origin}): {failure.reason}")
    for skip in outcome.skipped:
        out.append(f"SKIPPED {skip.origin}: {skip.reason}")
    for group in outcome.speaker_groups:
        out.append(f"GROUPED {group['name']} by voice: {', '.join(group['line_ids'])} "
                   f"(coherence {group['coherence']:.2f}, {group['speech_seconds']:.1f} s of speech)")
    for profile in outcome.profiles:
        out.append(profile_summary(profile))
    out += voice_lines(outcome)
    unknown = consent_unknown(outcome.profiles)
    if unknown:
        out.append(f"FLAG    consent unknown for {', '.join(unknown)}: their lines are flagged; record it before "
                   "delivery (revoice run ... --consent granted --by NAME, or revoice voice build NAME --consent ...)")
    for warning in outcome.warnings:
        out.append(f"WARNING {warning}")
    if outcome.pending_shards:
        out.append(f"waiting for {outcome.pending_shards} line(s) from other shards; "
                   "the last shard to finish writes the timeline")
    for path in outcome.written:
        out.append(f"wrote {path}")
    if outcome.superseded:
        out.append(superseded_summary(outcome))
    return "\n".join(out)


def superseded_summary(outcome: JobOutcome, *, shown: int = 5) -> str:
    """``N superseded renders: A.wav, B.wav, ...`` and what to do, or ``pruned N superseded renders``."""
    names = [path.name for path in outcome.superseded]
    listed = ", ".join(names[:shown]) + (f", ... ({len(names) - shown} more)" if len(names) > shown else "")
    count = f"{len(names)} superseded render{'s' if len(names) != 1 else ''}"
    if outcome.pruned:
        return f"pruned {count} (no line of this timeline used them): {listed}"
    return (f"{count} (no line of this timeline uses them) in {outcome.superseded[0].parent}: {listed}; "
            "run again with --prune to delete them")


def emotion_cell(emotion: EmotionUse | None) -> str:
    """A line's emotion in a few characters: ``take``, ``take (flat)``, ``angry 0.8``, ``neutral``, ``by voice``."""
    if emotion is None or emotion.method is None:
        return "-"
    if emotion.method in ("original", "reference"):
        name = "take" if emotion.method == "original" else "reference"
        return name if emotion.applied_by else f"{name} (flat)"  # not applied: no voiced take to follow
    words = (emotion.words or emotion.method).split(" (")[0]
    return words + (" by voice" if emotion.applied_by == "backend" else "")


def voice_lines(outcome: JobOutcome) -> list[str]:
    """``VOICE   MARA: piper:joe~light (distinct stock voice; no original audio)`` per character no profile speaks.

    The language follows the name (``MARA (zh)``) when the reel has more than one.
    """
    several = len({voice.language for voice in outcome.voices}) > 1
    return [f"VOICE   {voice.name}{f' ({voice.language})' if several else ''}: {voice.voice} ({voice.reason})"
            for voice in outcome.voices if voice.source != "profile"]


def profile_summary(row: dict[str, Any]) -> str:
    """One line per character: tint, clone or convert (and its converter), base voice, similarity before -> after, references, consent.

    Consent reads ``consent granted by A. Editor on 2026-11-21 for this production``, or
    ``consent unknown — record it before delivery``.
    """
    matches = "; ".join(f"{m['language']} {m['backend']}:{m['voice_id']} similarity {m['similarity_base']:.2f}"
                        f" -> {m['similarity_matched']:.2f}" for m in row["matches"]) or "no match"
    kind = {"tint": "tint (offline matching, not a clone)", "clone": "clone (neural backend)",
            "convert": f"convert (tint, then converted to the actor's timbre by {row.get('converter')})"
            }.get(str(row["kind"]), str(row["kind"]))
    return (f"VOICE   {row['name']}: {kind}, strength {row['strength']:.2f}; {matches}; "
            f"{row['reference_seconds']:.1f} s reference from {row['references']} clip(s); "
            f"{_consent_words(row)}; {row['status']}")


def consent_unknown(rows: list[dict[str, Any]]) -> list[str]:
    """The characters whose profile speaks with no consent recorded (their lines carry a consent flag)."""
    return [str(row["name"]) for row in rows
            if row["consent"]["status"] == "unknown" and not str(row["status"]).startswith("not used")]


def _consent_words(row: dict[str, Any]) -> str:
    """The row's consent in words (:meth:`Consent.words`); unknown consent says what to do."""
    from revoice.engine.characters.profile import Consent

    consent = Consent(**row["consent"])
    if consent.status == "unknown":
        return str(row.get("consent_warning") or "consent unknown")  # casting's rows say what to do
    return f"consent {consent.words}"


def _number(value: Any, pattern: str) -> str:
    return pattern.format(value) if isinstance(value, (int, float)) else "-"
