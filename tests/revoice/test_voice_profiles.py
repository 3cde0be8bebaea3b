"""End to end: a real two-actor scene gets a voice profile per actor and a matched track per actor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio
import soundfile as sf
from revoice.engine.characters.profile import ProfileStore
from revoice.engine.speaker import cosine

from revoice.context import EngineContext
from revoice.job import JobOptions, run_job

TUNING = ("Put the lamp back on the table before anyone notices.",)
"""One tuning sentence and two candidate voices keep matching to seconds here (the defaults take minutes)."""


def test_two_real_speakers_get_two_profiles_and_two_tracks_matched_to_their_own_voice(
        tmp_path: Path, endgame_scene: tuple[Path, Path], piper_backend: Any, kokoro_voices: Any,
        speaker_embedder: Any) -> None:
    timeline, subtitles = endgame_scene
    out = tmp_path / "scene_revoiced.otio"
    options = JobOptions(timeline=timeline, out=out, subtitles=subtitles, profiles="auto",
                         line_ids=frozenset({"L0006", "L0013"}),  # one line each renders; all lines are reference
                         match_voices=("kokoro:jm_kumo", "kokoro:jf_gongitsune"), match_sentences=TUNING)

    bank = tmp_path / "cache" / "voice_bank"

    def run(job: JobOptions = options) -> Any:
        return run_job(job, context=EngineContext(voice=piper_backend, embedder=speaker_embedder,
                                                  match_backends=[piper_backend, kokoro_voices],
                                                  cache_dir=tmp_path / "cache"))

    outcome = run()
    assert not outcome.failed and outcome.written == [out]
    rows = {row["name"]: row for row in outcome.profiles}
    assert sorted(rows) == ["NAGG", "NELL"]
    assert all(row["status"] == "built" and row["kind"] == "tint" for row in rows.values())
    assert "tint (offline matching, not a clone)" in outcome.summary_table()
    store = ProfileStore(tmp_path / "scene_revoiced_voices")
    profiles = {name: store.get(name) for name in ("NAGG", "NELL")}
    nagg, nell = profiles["NAGG"], profiles["NELL"]
    assert nagg is not None and nell is not None
    # provenance: the references are the actors' own lines (all of them, not only the rendered ones)
    assert {r.line_id for r in nagg.references} == {"L0001", "L0003", "L0005", "L0007", "L0009", "L0011", "L0013"}
    assert {r.line_id for r in nell.references} == {"L0006", "L0008", "L0010", "L0012"}
    assert nagg.stats.f0_median_hz is not None and nell.stats.f0_median_hz is not None
    assert nagg.stats.f0_median_hz < 150 < nell.stats.f0_median_hz
    assert nagg.consent.status == "unknown" and nagg.match_for("en") is not None

    written = otio.adapters.read_from_file(str(out))
    tracks = {t.name: [c for c in t if isinstance(c, otio.schema.Clip)] for t in written.audio_tracks()
              if t.name.startswith("Revoice - ")}
    assert sorted(tracks) == ["Revoice - NAGG", "Revoice - NELL"]
    similarity: dict[str, dict[str, float]] = {}
    for name, (clip,) in ((n[len("Revoice - "):], clips) for n, clips in tracks.items()):
        meta = clip.metadata["revoice"]
        assert meta["profile"]["name"] == name and meta["profile"]["kind"] == "tint"
        assert meta["backend"] == "profile+piper" and meta["voice"] == name
        audio, rate = sf.read(otio.url_utils.filepath_from_url(clip.media_reference.target_url), dtype="float32")
        rendered = speaker_embedder.embed(audio, rate)
        similarity[name] = {other: cosine(rendered, np.asarray(p.embedding))  # type: ignore[union-attr]
                            for other, p in profiles.items()}
    print("similarity of the rendered lines to each actor's original speech:", similarity)
    assert similarity["NAGG"]["NAGG"] > similarity["NAGG"]["NELL"]
    assert similarity["NELL"]["NELL"] > similarity["NELL"]["NAGG"]
    from revoice.report import qc_rows

    assert {row["voice_kind"] for row in qc_rows(written, base_dir=out.parent)} == {"tint"}

    again = run()  # profiles and renders are reused
    assert {row["status"] for row in again.profiles} == {"reused"} and again.batch.cached == 2

    # the base voices' renders and scores went to the voice bank: a new job's profiles are built from it
    entries = sorted(bank.rglob("*.npz"))
    assert entries
    other = run(JobOptions(timeline=timeline, out=tmp_path / "other" / "scene.otio", subtitles=subtitles,
                           profiles="auto", line_ids=options.line_ids, match_voices=options.match_voices,
                           match_sentences=TUNING))
    assert {row["status"] for row in other.profiles} == {"built"}
    assert sorted(bank.rglob("*.npz")) == entries  # nothing new to keep: every base-voice entry was reused
    assert {(r["name"], str(r["matches"])) for r in other.profiles} == {(r["name"], str(r["matches"]))
                                                                         for r in outcome.profiles}


def test_matching_reuses_and_fills_the_callers_backend_cache(
        tmp_path: Path, endgame_scene: tuple[Path, Path], piper_backend: Any, kokoro_voices: Any,
        speaker_embedder: Any) -> None:
    """The panel keeps loaded backends between runs: matching takes Kokoro from the cache (no second load)
    and hands back what the run used."""
    timeline, subtitles = endgame_scene
    options = JobOptions(timeline=timeline, out=tmp_path / "cached.otio", subtitles=subtitles, profiles="auto",
                         line_ids=frozenset({"L0006"}), match_voices=("kokoro:jf_gongitsune",),
                         match_sentences=TUNING)
    cache: dict[str, Any] = {"kokoro": kokoro_voices}
    context = EngineContext(voice=piper_backend, embedder=speaker_embedder)
    context.backends = cache
    outcome = run_job(options, context=context)
    assert not outcome.failed
    assert cache["kokoro"] is kokoro_voices and cache["piper"] is piper_backend
    chosen = {(m["backend"], m["voice_id"]) for row in outcome.profiles for m in row["matches"]}
    assert chosen and chosen <= {("kokoro", "jf_gongitsune"), ("piper", "joe")}
