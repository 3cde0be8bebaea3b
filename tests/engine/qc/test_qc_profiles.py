"""Lines spoken by a character's voice profile are compared with the profile (the actor), in QC and the report."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from revoice.engine.characters.profile import ProfileStore, VoiceProfile
from revoice.engine.dsp.bwf import read_wav, write_bwf
from revoice.engine.dsp.resample import resample
from revoice.engine.model import DialogueLine, FrameRange, RenderedLine
from revoice.engine.qc.assess import LineQc, stock_backend
from revoice.engine.qc.scoring import QcThresholds
from revoice.engine.records import RenderReport
from revoice.engine.speaker import cosine

RATE = 48000


def _line(text: str, seconds: float, speaker: str, line_id: str = "L0001") -> DialogueLine:
    return DialogueLine(line_id=line_id, text=text, speaker=speaker, language="en",
                        record=FrameRange(0, int(round(seconds * 24)), 24.0), timecode_start_frames=86400)


def _take(path: Path, audio: np.ndarray[Any, np.dtype[np.float32]], *, voice: str,
          profile_kind: str | None = "tint") -> RenderedLine:
    """``audio`` written as a take of ``voice``: a profile voice (as the renderer reports it) or a stock one."""
    write_bwf(path, audio, RATE, time_reference_samples=0)
    report: dict[str, Any] = {}
    if profile_kind is not None:
        report["voice_profile"] = {"name": voice, "kind": profile_kind, "base_backend": "piper"}
    return RenderedLine(line_id="L0001", path=path, sample_rate=RATE, slot_samples=len(audio), speech_start=0,
                        speech_end=len(audio), backend="profile+piper", voice_id=voice,
                        report=RenderReport.from_json(report))


class _FixedEmbedder:
    """A speaker encoder that hears every take as the same unit vector (no model)."""

    def __init__(self, vector: list[float]) -> None:
        self.vector = np.asarray(vector, dtype=np.float32)
        self.calls = 0

    def embed(self, audio: Any, sample_rate: int) -> Any:
        self.calls += 1
        return self.vector


# -- no models -------------------------------------------------------------------------------


def test_profile_voice_is_compared_with_its_profile_not_a_rendered_passage(tmp_path: Path) -> None:
    t = np.arange(2 * RATE) / RATE  # a buzz the VAD takes for speech: 150 Hz harmonics, 4 syllables a second
    tone = (0.05 * sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20))
            * 0.5 * (1 + np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    nell = VoiceProfile(name="NELL", embedding=(0.6, 0.8, 0.0))
    nagg = VoiceProfile(name="NAGG", embedding=(0.0, 0.0, 1.0))
    empty = VoiceProfile(name="CLOV")  # no embedding yet: not a reference
    speaker = _FixedEmbedder([1.0, 0.0, 0.0])
    qc = LineQc(meters=("similarity",), speaker=speaker, profiles=[nell, nagg, empty])  # type: ignore[arg-type]
    line = _line("A tone.", 2.0, "NELL")

    metrics = qc(line, _take(tmp_path / "nell.wav", tone, voice="NELL"))
    assert metrics["voice_similarity"] == pytest.approx(0.6)
    assert metrics["voice_similarity_to"] == "character profile"
    assert metrics["similarity"] == pytest.approx(0.6) and metrics["similarity_to"] == "character profile"
    assert metrics["similarity_floor"] is None and not any(f.startswith("similarity") for f in metrics["flags"])
    assert qc(line, _take(tmp_path / "nagg.wav", tone, voice="NAGG"))["voice_similarity"] == pytest.approx(0.0)
    assert qc._backends == {} and qc._profiles == {}, "no backend loaded, no profile passage rendered"

    # A profile voice whose profile is not known (or has no embedding) gets none, still without rendering anything.
    for unknown in ("HAMM", "CLOV"):
        missing = qc(line, _take(tmp_path / f"{unknown}.wav", tone, voice=unknown))
        assert missing["voice_similarity"] is None and missing["similarity"] is None
        assert missing["similarity_floor"] is None and missing["voice_similarity_to"] is None
    assert qc._backends == {} and qc._profiles == {}

    # Without the renderer's report, a profile backend's voice id naming a known profile still counts.
    bare = _take(tmp_path / "bare.wav", tone, voice="NELL", profile_kind=None)
    assert qc.character(bare) == "NELL" and qc(line, bare)["voice_similarity"] == pytest.approx(0.6)
    assert LineQc(meters=()).character(bare) is None, "an unknown voice id under a profile backend is a stock voice"

    strict = LineQc(meters=("similarity",), speaker=speaker, profiles=[nell],  # type: ignore[arg-type]
                    thresholds=QcThresholds(min_profile_similarity=0.7))
    flagged = strict(line, _take(tmp_path / "strict.wav", tone, voice="NELL"))
    assert flagged["similarity_floor"] == 0.7
    assert any(f.startswith("similarity 0.60 < 0.70 to the NELL voice profile") for f in flagged["flags"])
    assert json.loads(json.dumps(metrics)) == metrics


def test_with_profiles_shares_meters_and_leaves_the_original_alone() -> None:
    qc = LineQc(meters=("asr", "similarity"))
    twin = qc.with_profiles([VoiceProfile(name="NELL", embedding=(1.0, 0.0))])
    assert twin is not qc and twin.asr is qc.asr and twin.speaker is qc.speaker and twin._backends is qc._backends
    assert qc._asr is not None and qc._speaker is not None and qc._mos is None, "built (not loaded) for sharing"
    assert list(twin._characters) == ["NELL"] and qc._characters == {}
    assert stock_backend("profile+piper") == "piper" and stock_backend("kokoro") == "kokoro"


def test_job_hands_its_profiles_to_qc(tmp_path: Path) -> None:
    """revoice.context: a new LineQc gets the run's profiles; a reused one (the panel's) a copy with them."""
    from revoice.context import EngineContext

    nell = VoiceProfile(name="NELL", embedding=(0.6, 0.8))
    made = EngineContext().qc([], [nell])
    assert isinstance(made, LineQc) and list(made._characters) == ["NELL"]
    panel = LineQc(meters=("similarity",))
    reused = EngineContext(assessor=panel).qc([], [nell])
    assert isinstance(reused, LineQc) and reused is not panel and list(reused._characters) == ["NELL"]
    assert reused.speaker is panel.speaker and panel._characters == {}

    def other(line: DialogueLine, rendered: RenderedLine) -> dict[str, Any]:
        return {}

    assert EngineContext(assessor=other).qc([], [nell]) is other


def test_job_meters_are_loaded_once_for_profiles_and_qc(tmp_path: Path) -> None:
    """The profile vetoes' Whisper and DistillMOS are QC's too (built, not loaded, here); a panel's LineQc
    lends its meters to the vetoes."""
    from revoice.context import EngineContext

    meters = EngineContext(device="cpu")
    assert meters.loaded_asr is None and meters.loaded_mos is None
    meters.transcriber()  # what the ASR veto asks for
    assert meters.loaded_asr is not None
    made = meters.qc([], [])
    assert isinstance(made, LineQc) and made.asr is meters.loaded_asr
    assert made._mos is None  # never asked for by the vetoes: QC loads it when it needs it
    panel = LineQc(meters=("asr",))
    lent = EngineContext(device="cpu", assessor=panel)
    lent.transcriber()
    assert lent.loaded_asr is None and panel._asr is not None


def test_job_profiles_are_found_beside_the_timeline(tmp_path: Path) -> None:
    from revoice.report import read_profiles, voices_folder

    out = tmp_path / "scene_revoiced.otio"
    folder = voices_folder(out)
    assert folder == tmp_path / "scene_revoiced_voices"
    assert read_profiles(folder) == ([], [])
    ProfileStore(folder).save(VoiceProfile(name="NELL", embedding=(0.6, 0.8)))
    (folder / "broken.voice.json").write_text("{", encoding="utf-8")
    profiles, warnings = read_profiles(folder)
    assert [p.name for p in profiles] == ["NELL"] and profiles[0].embedding == (0.6, 0.8)
    assert len(warnings) == 1 and "broken.voice.json" in warnings[0]


# -- real voices, real meters -----------------------------------------------------------------


def _voice(corpus: Path, name: str) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
    import soundfile as sf

    audio, rate = sf.read(str(corpus / "voices" / name), dtype="float32", always_2d=True)
    return np.ascontiguousarray(audio.mean(axis=1)), int(rate)


def _profile(name: str, path: Path, start: float, end: float | None, speaker: Any) -> VoiceProfile:
    """A profile built as ``revoice voice build --ref`` does: the d-vector of the reference's speech."""
    from revoice.engine.characters.build import build_profile
    from revoice.engine.characters.references import editor_references

    return build_profile(name, editor_references([(path, start, end)]), embedder=speaker)


@pytest.fixture(scope="module")
def actors(shared_corpus: Path, speaker_similarity: Any) -> dict[str, VoiceProfile]:
    """TOWN from the first 4.5 s of en_story_town (the rest is held out), MAIN and NATURE from their files."""
    voices = shared_corpus / "voices"
    return {"TOWN": _profile("TOWN", voices / "en_story_town.flac", 0.0, 4.5, speaker_similarity),
            "MAIN": _profile("MAIN", voices / "en_story_main.flac", 0.0, None, speaker_similarity),
            "NATURE": _profile("NATURE", voices / "en_nature_ref.wav", 0.0, None, speaker_similarity)}


@pytest.mark.slow
def test_profile_voice_similarity_is_higher_for_the_right_actor(shared_corpus: Path, speaker_similarity: Any,
                                                                actors: dict[str, VoiceProfile],
                                                                tmp_path: Path) -> None:
    """A take that sounds like TOWN (TOWN's own held-out speech, as a perfect clone would) scores higher
    against TOWN's profile than the same take labelled as MAIN's or NATURE's profile voice."""
    town, rate = _voice(shared_corpus, "en_story_town.flac")
    held_out = resample(town[int(5.0 * rate):], rate, RATE).astype(np.float32)
    qc = LineQc(meters=("similarity",), speaker=speaker_similarity, profiles=actors.values())
    line = _line("the rest of the story", len(held_out) / RATE, "TOWN")
    scores = {}
    for name in actors:
        metrics = qc(line, _take(tmp_path / f"{name}.wav", held_out, voice=name, profile_kind="clone"))
        assert metrics["voice_similarity_to"] == "character profile" and metrics["similarity_to"] == "character profile"
        scores[name] = metrics["voice_similarity"]
    print("held-out TOWN speech against each actor's profile:", scores)
    assert all(np.isfinite(s) for s in scores.values())
    expected = cosine(speaker_similarity.embed(held_out, RATE), np.asarray(actors["TOWN"].embedding))
    assert scores["TOWN"] == pytest.approx(expected, abs=1e-3)
    assert scores["TOWN"] >= 0.6
    assert scores["TOWN"] - max(scores["MAIN"], scores["NATURE"]) >= 0.2


@pytest.mark.slow
def test_line_rendered_by_a_profile_voice_gets_its_similarity(piper_backend: Any, line_qc: LineQc,
                                                              speaker_similarity: Any,
                                                              actors: dict[str, VoiceProfile],
                                                              tmp_path: Path) -> None:
    """The real path: ProfiledBackend (piper + tint) renders MAIN's line, QC compares it with MAIN's profile."""
    from revoice.engine.characters.character_backend import ProfiledBackend
    from revoice.engine.characters.tint import VoiceMatch, VoiceTint
    from revoice.engine.render import Revoicer

    base = piper_backend.voices()[0].voice_id
    main = dataclasses.replace(actors["MAIN"], matches=(VoiceMatch(
        language="en", backend="piper", voice_id=base, tint=VoiceTint(pitch_semitones=-1.0, formant_ratio=0.97),
        similarity_base=0.0, similarity_matched=0.0),))
    profiled = ProfiledBackend(primary=piper_backend, profiles=[main])
    qc = line_qc.with_profiles([main, actors["TOWN"]])
    line = _line("Five thick slabs of blue cheese and a snack for her brother.", 4.0, "MAIN")
    result = Revoicer(backend=profiled, voices_by_speaker={"MAIN": "MAIN"}).render(
        [line], out_dir=tmp_path, assess=qc)
    assert not result.failed, result.failed
    rendered = result.rendered[0]
    assert rendered.backend == "profile+piper" and rendered.voice_id == "MAIN"
    metrics = rendered.report.qc
    assert metrics is not None
    print("MAIN's tinted piper line vs MAIN's profile:", metrics.voice_similarity)
    assert metrics.voice_similarity_to == "character profile" and np.isfinite(metrics.voice_similarity)
    audio, rate = read_wav(rendered.path)
    expected = cosine(speaker_similarity.embed(audio, rate), np.asarray(main.embedding))
    assert metrics.voice_similarity == pytest.approx(expected, abs=1e-3)
    assert metrics.similarity == metrics.voice_similarity, "no original under the line: the actor stands in"
    assert metrics.similarity_floor is None and metrics.wer is not None and metrics.mos is not None
    assert not [key for key in qc._profiles if key[1] == "MAIN"], "no passage rendered for the profile voice"
    assert line_qc._characters == {} and qc.asr is line_qc.asr


@pytest.mark.slow
def test_report_fills_voice_similarity_for_profile_voices(revoiced_timeline: Path, line_qc: LineQc,
                                                          actors: dict[str, VoiceProfile], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A timeline whose lines were spoken by MAIN's and NATURE's profiles, metered before profiles were compared
    (voice similarity empty): ``revoice qc`` fills the column and the MOS-vs-similarity chart from the profiles."""
    import opentimelineio as otio
    from revoice.otio_bridge.write import write_timeline

    from revoice.report import qc_main, write_report

    timeline = otio.adapters.read_from_file(str(revoiced_timeline))
    for clip in timeline.find_clips():
        meta = clip.metadata.get("revoice")
        if meta is None:
            continue
        speaker = str(meta["speaker"])
        meta["backend"], meta["voice"] = "profile+piper", speaker
        meta["profile"] = {"name": speaker, "kind": "tint", "base_backend": "piper"}
        report = dict(meta["report"])
        report["voice_profile"] = {"name": speaker, "kind": "tint", "base_backend": "piper"}
        report["qc"] = {**dict(report["qc"]), "voice_similarity": None}
        meta["report"] = report
    old = tmp_path / "profiled.otio"
    write_timeline(timeline, old)

    stored = json.loads(write_report(old, tmp_path / "stored")[1].read_text(encoding="utf-8"))
    assert {r["voice_kind"] for r in stored} == {"tint"} and all(r["voice_similarity"] is None for r in stored)
    assert "<circle" not in (tmp_path / "stored" / "profiled_qc.html").read_text(encoding="utf-8")

    # revoice qc without the profiles (none beside the timeline): nothing to compare with, and it says so
    assert qc_main([str(old), "--out-dir", str(tmp_path / "cli")]) == 0
    assert "not found in" in capsys.readouterr().err

    measure = line_qc.with_profiles([actors["MAIN"], actors["NATURE"]])
    paths = write_report(old, tmp_path / "measured", measure=measure)
    rows = json.loads(paths[1].read_text(encoding="utf-8"))
    print("voice similarity of the piper lines to their profile:", {r["line_id"]: r["voice_similarity"] for r in rows})
    assert all(r["voice_similarity_to"] == "character profile" and np.isfinite(r["voice_similarity"]) for r in rows)
    assert all(r["similarity_to"] == "original" for r in rows), "the original still counts for 'similarity'"
    page = paths[0].read_text(encoding="utf-8")
    chart = re.search(r"MOS vs voice similarity.*?</svg>", page, flags=re.S)
    assert chart is not None and chart.group(0).count("<circle") == len(rows)
