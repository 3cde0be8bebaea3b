"""Consent to a character's voice: recorded by ``revoice run --consent granted --by NAME``, unknown consent
flagged in the summary, the QC report and the clip metadata, and a denied voice never rendered.

The CLI tests run the real command on a real timeline and subtitles (four lines, ANNA and BEN) with
the real default voice; the voice profiles are written beforehand with the real ProfileStore (an
editor-supplied reference and a matched tint, so no matching runs).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio
import pytest
from revoice.engine.characters.character_backend import (
    CONSENT_DENIED_FLAG,
    CONSENT_UNKNOWN_FLAG,
    ConsentDenied,
    ProfiledBackend,
    consent_checked,
)
from revoice.engine.characters.profile import (
    CONSENT_UNKNOWN_WORDS,
    Consent,
    ProfileStore,
    ReferenceClip,
    VoiceProfile,
)
from revoice.engine.characters.tint import VoiceMatch, VoiceTint
from revoice.engine.model import DialogueLine, FrameRange, RenderedLine
from revoice.engine.records import RenderReport, VoiceProfileUse
from revoice.engine.render import Revoicer
from revoice.engine.voices.base import (
    Synthesis,
    SynthesisRequest,
    assemble_synthesis,
)
from revoice.otio_bridge.clip_metadata import read
from stand_in_voice import StandInVoice

from revoice.cli import EXIT_BAD_INPUT, EXIT_OK, main
from revoice.report.voices import CONSENT_UNKNOWN_NOTE, VoiceRow, voices_html
from revoice.summary import profile_summary

DATA = Path(__file__).parents[1] / "data"
UNKNOWN_WORDS = "consent unknown — record it before delivery"


def character(name: str, consent: Consent | None = None) -> VoiceProfile:
    """A matched tint over piper's voice, from an editor's reference (reused as it is: nothing is tuned)."""
    return VoiceProfile(
        name=name, consent=consent or Consent(), strength=0.8,
        references=(ReferenceClip(path="/media/actor_take.wav", start_seconds=1.0, end_seconds=6.0),),
        matches=(VoiceMatch(language="en", backend="piper", voice_id="joe", tint=VoiceTint(pitch_semitones=1.0),
                            similarity_base=0.4, similarity_matched=0.6),))


def run(timeline: Path, out: Path, voices: Path, *extra: str) -> list[str]:
    return ["run", str(timeline), "--subs", str(DATA / "premiere_example.srt"), "--out", str(out),
            "--profiles", str(voices), "--quiet", *extra]


def clips(out: Path) -> dict[str, list[dict[str, Any]]]:
    """The Revoice record of every clip on each "Revoice - SPEAKER" track, by speaker."""
    timeline = otio.adapters.read_from_file(str(out))
    records: dict[str, list[dict[str, Any]]] = {}
    for track in timeline.audio_tracks():
        if track.name.startswith("Revoice - "):
            metas = [read(clip) for clip in track if isinstance(clip, otio.schema.Clip)]
            records[track.name[len("Revoice - "):]] = [meta.to_json() for meta in metas if meta is not None]
    return records


def test_unknown_consent_is_flagged_everywhere_and_run_consent_granted_records_it(
        shared_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    timeline = shared_corpus / "timelines" / "premiere_example.xml"
    voices, out = tmp_path / "voices", tmp_path / "out.otio"
    store = ProfileStore(voices)
    store.save(character("ANNA"))
    store.save(character("BEN", Consent("denied", "BEN's agent", "2026-11-21")))
    ben_before = store.path_for("BEN").read_bytes()

    # 1. unknown consent renders, flagged per line, in the profiles and in --json
    assert main(run(timeline, out, voices, "--json")) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    lines = {line["line_id"]: line for line in summary["lines"]}
    anna = [line for line in lines.values() if line["speaker"] == "ANNA"]
    ben = [line for line in lines.values() if line["speaker"] == "BEN"]
    assert len(anna) == 2 and len(ben) == 2
    assert all(CONSENT_UNKNOWN_FLAG in line["flags"] for line in anna)
    assert all(line["voice_profile"]["consent"] == "unknown" for line in anna)
    assert summary["consent_unknown"] == ["ANNA"]
    rows = {row["name"]: row for row in summary["profiles"]}
    assert rows["ANNA"]["consent_warning"] == UNKNOWN_WORDS and rows["ANNA"]["status"] == "reused"
    # denied: BEN's profile never speaks; the stock voice does, with no consent flag
    assert rows["BEN"]["status"] == "not used: consent denied"
    assert all(line.get("voice_profile") is None and not line["flags"] for line in ben)
    # the clip metadata says so too
    placed = clips(out)
    assert all(meta["consent"] == "unknown" and CONSENT_UNKNOWN_FLAG in meta["flags"] for meta in placed["ANNA"])
    assert all(meta["voice"].startswith("joe") and "consent" not in meta and "profile" not in meta  # a stock voice
               for meta in placed["BEN"])

    # 2. the table: the VOICE line and a FLAG line (renders reused)
    assert main(run(timeline, out, voices)) == EXIT_OK
    table = capsys.readouterr().out
    voice_line = next(line for line in table.splitlines() if line.startswith("VOICE   ANNA"))
    assert UNKNOWN_WORDS in voice_line
    assert any(line.startswith("FLAG    consent unknown for ANNA") for line in table.splitlines())
    assert "0 failed" in table and "(4 reused)" in table

    # 3. the QC report: the Voices table and the per-line flags
    assert main(["qc", str(out), "--stored-only", "--voices", str(voices)]) == EXIT_OK
    capsys.readouterr()
    page = (tmp_path / "out_qc.html").read_text(encoding="utf-8")
    assert "consent-unknown" in page and UNKNOWN_WORDS in page and "(ANNA)" in page
    qc_rows = json.loads((tmp_path / "out_qc.json").read_text(encoding="utf-8"))
    assert {row["line_id"] for row in qc_rows if CONSENT_UNKNOWN_FLAG in row["flags"]} == {
        line["line_id"] for line in anna}

    # 4. --consent granted --by records it in every profile the run uses, never over a denial;
    #    nothing is re-rendered (consent does not change the audio) and the flags go
    assert main(run(timeline, out, voices, "--json", "--consent", "granted", "--by", "A. Editor",
                    "--consent-scope", "this production")) == EXIT_OK
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    saved = store.get("ANNA")
    assert saved is not None
    assert saved.consent == Consent("granted", "A. Editor", today, "", "this production")
    assert store.path_for("BEN").read_bytes() == ben_before
    assert any("BEN: --consent granted does not override a recorded denial" in w for w in summary["warnings"])
    rows = {row["name"]: row for row in summary["profiles"]}
    assert rows["ANNA"]["status"] == "reused; consent granted recorded" and rows["ANNA"]["consent_warning"] == ""
    assert summary["consent_unknown"] == [] and summary["cached"] == 4
    assert not any(flag.startswith("voice consent") for line in summary["lines"] for flag in line["flags"])
    assert all(meta["consent"] == "granted" and CONSENT_UNKNOWN_FLAG not in meta["flags"]
               for meta in clips(out)["ANNA"])
    # a rerun with the same flags records nothing new
    assert main(run(timeline, out, voices, "--json", "--consent", "granted", "--by", "A. Editor",
                    "--consent-scope", "this production")) == EXIT_OK
    again = json.loads(capsys.readouterr().out)
    assert {row["name"]: row["status"] for row in again["profiles"]}["ANNA"] == "reused"


@pytest.mark.parametrize(("extra", "message"), [
    (["--consent", "granted"], "--consent granted needs --by NAME"),
    (["--by", "A. Editor"], "--by and --consent-scope go with --consent granted"),
    (["--consent-scope", "this production"], "--by and --consent-scope go with --consent granted"),
])
def test_run_consent_options_are_checked_up_front(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  extra: list[str], message: str) -> None:
    timeline = tmp_path / "scene.otio"
    timeline.write_text("{}", encoding="utf-8")
    code = main(["run", str(timeline), "--out", str(tmp_path / "out.otio"), "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.otio").exists()


def test_run_refuses_a_denial_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A denial is recorded per character (voice build or the panel), never for a whole run."""
    with pytest.raises(SystemExit):
        main(["run", "scene.otio", "--out", "out.otio", "--consent", "denied", "--by", "A. Editor"])
    assert "invalid choice: 'denied'" in capsys.readouterr().err


def test_voice_build_records_the_scope(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ProfileStore(tmp_path / "voices")
    store.save(character("NELL"))
    assert main(["voice", "build", "NELL", "--voices", str(store.folder), "--consent", "granted",
                 "--by", "A. Editor", "--scope", "this production", "--note", "signed release"]) == EXIT_OK
    assert "consent granted by A. Editor on " in capsys.readouterr().out
    saved = store.get("NELL")
    assert saved is not None and saved.consent.scope == "this production" and saved.consent.note == "signed release"
    assert main(["voice", "show", "NELL", "--voices", str(store.folder)]) == EXIT_OK
    shown = capsys.readouterr().out
    assert "consent: granted by A. Editor on " in shown and " for this production (signed release)" in shown
    store.save(character("NAGG"))
    assert main(["voice", "show", "NAGG", "--voices", str(store.folder)]) == EXIT_OK
    assert "consent: unknown — record it before delivery" in capsys.readouterr().out


# -- render time -----------------------------------------------------------------------------------------------


class HumBackend(StandInVoice):
    """A stock voice that hums 0.5 s per request and counts what it was asked."""

    def __init__(self) -> None:
        super().__init__("hum", languages=("en",), voices=("amy",), sample_rate=16000)

    def sound(self, request: SynthesisRequest) -> Synthesis:
        t = np.arange(8000) / 16000
        hum = (0.3 * np.sin(2 * np.pi * 140 * t) * np.sin(np.pi * t / t[-1])).astype(np.float32)
        return assemble_synthesis([hum], [("hum", len(hum))], 16000)


def hummed(name: str, consent: Consent) -> VoiceProfile:
    return VoiceProfile(name=name, consent=consent, matches=(
        VoiceMatch(language="en", backend="hum", voice_id="amy", tint=VoiceTint(pitch_semitones=2.0),
                   similarity_base=0.3, similarity_matched=0.5),))


def test_a_denied_profile_is_refused_at_render_time_even_when_passed_in(tmp_path: Path) -> None:
    hum = HumBackend()
    denied = hummed("NELL", Consent("denied", "NELL's agent", "2026-11-21"))
    backend = ProfiledBackend(primary=hum, profiles=[denied, hummed("NAGG", Consent())])
    with pytest.raises(ConsentDenied, match="consent is denied"):
        backend.synthesize(SynthesisRequest(text="hi", voice_id="NELL"))
    with pytest.raises(ConsentDenied):
        backend.voice_report("NELL", "en")
    assert hum.calls == []  # nothing was synthesized in that voice

    line = DialogueLine(line_id="L0001", text="Yes.", speaker="NELL", language="en", record=FrameRange(0, 48, 24.0))
    other = DialogueLine(line_id="L0002", text="No.", speaker="NAGG", language="en", record=FrameRange(48, 48, 24.0))
    revoicer = Revoicer(backend=backend, voices_by_speaker={"NELL": "NELL", "NAGG": "NAGG"})
    batch = revoicer.render([line, other], out_dir=tmp_path)
    assert [failure.line_id for failure in batch.failed] == ["L0001"]
    assert "consent is denied" in batch.failed[0].reason
    assert [render.line_id for render in batch.rendered] == ["L0002"]
    assert not list(tmp_path.glob("NELL_*"))  # no WAV, no sidecar in the denied voice
    assert all(call.voice_id == "amy" for call in hum.calls)


def rendered(flags: tuple[str, ...], use: VoiceProfileUse | None) -> RenderedLine:
    return RenderedLine(line_id="L0001", path=Path("L0001.wav"), sample_rate=48000, slot_samples=4800,
                        speech_start=0, speech_end=4800, backend="profile+hum", voice_id="NELL",
                        report=RenderReport.from_json({} if use is None else {"voice_profile": use.to_json()}),
                        flags=flags)


def test_consent_flags_follow_the_profiles_as_they_are_now() -> None:
    use = VoiceProfileUse.from_json({"name": "NELL", "kind": "tint", "consent": "unknown"})
    fast = "fast: speech 15% faster than natural"
    unknown = consent_checked([rendered((fast,), use)], [hummed("NELL", Consent())])[0]
    assert unknown.flags == (fast, CONSENT_UNKNOWN_FLAG)
    granted = consent_checked([unknown], [hummed("NELL", Consent("granted", "A. Editor", "2026-11-21"))])[0]
    assert granted.flags == (fast,) and granted.report.voice_profile is not None
    assert granted.report.voice_profile.consent == "granted"
    denied = consent_checked([granted], [hummed("NELL", Consent("denied"))])[0]
    assert denied.flags == (fast, CONSENT_DENIED_FLAG)
    # a profile not given keeps the status its render recorded; a stock voice is left alone
    assert consent_checked([rendered((), use)], [])[0].flags == (CONSENT_UNKNOWN_FLAG,)
    stock = rendered((fast,), None)
    assert consent_checked([stock], [hummed("NELL", Consent())]) == [stock]
    assert consent_checked([stock], [])[0].flags == (fast,)
    # a sidecar that recorded no consent key gets one
    bare = VoiceProfileUse.from_json({"name": "NELL"})
    checked = consent_checked([rendered((), bare)], [hummed("NELL", Consent())])[0].report.voice_profile
    assert checked is not None and checked.to_json()["consent"] == "unknown"


# -- words ------------------------------------------------------------------------------------------------------


def row(consent: dict[str, str], warning: str = "") -> dict[str, Any]:
    return {"name": "NELL", "kind": "tint", "strength": 1.0, "matches": [], "reference_seconds": 5.0,
            "references": 1, "consent": consent, "consent_warning": warning, "status": "reused"}


def test_the_voice_line_says_who_when_and_what_for() -> None:
    assert "; consent unknown — record it before delivery; reused" in profile_summary(
        row({"status": "unknown"}, UNKNOWN_WORDS))
    granted = {"status": "granted", "by": "A. Editor", "date": "2026-11-21", "scope": "this production"}
    assert "; consent granted by A. Editor on 2026-11-21 for this production; reused" in profile_summary(row(granted))
    assert "; consent denied by agent; " in profile_summary(row({"status": "denied", "by": "agent"}))


def test_the_report_voices_table_marks_unknown_consent() -> None:
    assert CONSENT_UNKNOWN_NOTE == CONSENT_UNKNOWN_WORDS == UNKNOWN_WORDS  # one wording everywhere
    unknown = VoiceRow(name="NAGG", kind="tint", base_voice="kokoro:jm_kumo", similarity="0.41 → 0.63",
                       consent="unknown", licence="Apache-2.0", note=UNKNOWN_WORDS)
    granted = dataclasses.replace(unknown, name="NELL", consent="granted by A. Editor on 2026-11-21", note="")
    stock = VoiceRow(name="HAMM", kind="stock", base_voice="piper:joe", similarity="", consent="—", licence="MIT")
    page = voices_html([unknown, granted, stock])
    assert page.count("consent-unknown") == 2  # the warning above the table and NAGG's consent cell
    assert "1 character(s) spoken by a voice profile without recorded consent (NAGG)" in page
    assert "consent-unknown" not in voices_html([granted, stock])
