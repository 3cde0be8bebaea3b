"""End to end: a cloning backend (F5-TTS, tiny random weights) speaks each actor from their own original speech."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest
import soundfile as sf
from f5_tiny import missing_packages, write_weights
from revoice.engine.characters.profile import ProfileStore
from revoice.engine.voices.base import BackendOptions
from revoice.engine.voices.registry import load_backend

from revoice.context import EngineContext
from revoice.job import JobOptions, run_job


@pytest.fixture(scope="module")
def f5_tiny_backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    missing = missing_packages()
    if missing:
        pytest.skip(f"F5-TTS packages missing: {', '.join(missing)}")
    import torch
    from revoice.engine.voices.f5_voice import SPEC

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("f5_tiny")
    write_weights(folder)
    return load_backend(SPEC, BackendOptions(device="cpu", weights_dir=str(folder), threads=1))


@pytest.mark.slow
def test_clone_profiles_prompt_the_cloning_voice_with_each_actors_own_speech(
        tmp_path: Path, endgame_scene: tuple[Path, Path], f5_tiny_backend: Any, speaker_embedder: Any) -> None:
    timeline, subtitles = endgame_scene
    out = tmp_path / "cloned.otio"
    options = JobOptions(timeline=timeline, out=out, subtitles=subtitles, profiles="auto",
                         line_ids=frozenset({"L0006", "L0013"}))
    outcome = run_job(options, context=EngineContext(voice=f5_tiny_backend, match_backends=[f5_tiny_backend],
                                                     embedder=speaker_embedder))
    assert not outcome.failed, outcome.failed
    rows = {row["name"]: row for row in outcome.profiles}
    assert sorted(rows) == ["NAGG", "NELL"]
    assert all(row["kind"] == "clone" and row["matches"][0]["backend"] == "f5" for row in rows.values())
    assert "clone (neural backend)" in outcome.summary_table()
    store = ProfileStore(tmp_path / "cloned_voices")
    for name in ("NAGG", "NELL"):
        profile = store.get(name)
        assert profile is not None and profile.kind == "clone" and profile.references
    written = otio.adapters.read_from_file(str(out))
    tracks = {t.name: [c for c in t if isinstance(c, otio.schema.Clip)] for t in written.audio_tracks()
              if t.name.startswith("Revoice - ")}
    assert sorted(tracks) == ["Revoice - NAGG", "Revoice - NELL"]
    for clips in tracks.values():
        (clip,) = clips
        meta = clip.metadata["revoice"]
        assert meta["backend"] == "profile+f5" and meta["profile"]["kind"] == "clone"
        wav = otio.url_utils.filepath_from_url(clip.media_reference.target_url)
        assert sf.info(wav).frames == round(clip.duration().value * 48000 / clip.duration().rate)
    from revoice.report import qc_rows

    assert {row["voice_kind"] for row in qc_rows(written, base_dir=out.parent)} == {"clone"}

    # Without the cloning voice the same stored profiles go back to a tint on a stock voice.
    rerun = run_job(JobOptions(timeline=timeline, out=tmp_path / "cloned_2.otio", subtitles=subtitles,
                               profiles=str(tmp_path / "cloned_voices"), line_ids=frozenset({"L0013"}),
                               match_voices=("piper:joe",),
                               match_sentences=("Put the lamp back on the table.",)),
                    context=EngineContext(embedder=speaker_embedder))
    assert not rerun.failed
    assert [row["kind"] for row in rerun.profiles] == ["tint"]


def test_run_with_a_cloning_backend_names_what_is_missing(tmp_path: Path, endgame_scene: tuple[Path, Path],
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from revoice.cli import EXIT_BAD_INPUT, main

    monkeypatch.delenv("REVOICE_F5_WEIGHTS", raising=False)
    timeline, subtitles = endgame_scene
    out = tmp_path / "out.otio"
    base = ["run", str(timeline), "--subs", str(subtitles), "--out", str(out), "--quiet"]
    assert main(base + ["--backend", "f5", "--weights", str(tmp_path / "missing")]) == EXIT_BAD_INPUT
    assert "--weights" in capsys.readouterr().err
    empty = tmp_path / "empty_weights"
    empty.mkdir()
    assert main(base + ["--backend", "f5", "--weights", str(empty)]) == 3
    err = capsys.readouterr().err
    assert "f5" in err and "config.yaml" in err and "vocab.txt" in err
    assert not out.exists()
