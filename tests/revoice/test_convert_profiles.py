"""Voice profiles of kind "convert": a tint's voice converted to the actor's timbre, end to end on a real scene."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
from revoice.engine.characters.profile import ProfileError, ProfileStore, VoiceProfile, load_profile
from revoice.engine.conversion import registry
from revoice.engine.conversion.base import ConverterSpec, ConverterUnavailable, VoiceConverter
from revoice.engine.conversion.openvoice_converter import ENV_VAR
from revoice.engine.conversion.openvoice_converter import SPEC as OPENVOICE
from revoice.engine.voices.base import BackendOptions

from revoice.cli import EXIT_OK, main
from revoice.context import EngineContext
from revoice.conversion_plan import choose_converter_for
from revoice.job import JobOptions, run_job
from revoice.options import JobError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine" / "conversion"))
from conversion_fixtures import missing_openvoice, write_tiny_openvoice  # noqa: E402

TUNING = ("Put the lamp back on the table before anyone notices.",)
"""One tuning sentence and one candidate voice per actor keep matching to seconds."""
LINES = frozenset({"L0006", "L0013"})


def _never(_options: Any) -> VoiceConverter:
    raise AssertionError("the stand-in converter is never loaded")


NON_COMMERCIAL = ConverterSpec(name="nc-vc", display_name="stand-in for non-commercial weights", sample_rate=16000,
                               needs_gpu=False, licence="CC-BY-NC-4.0", commercial_use=False, description="test",
                               availability=lambda _o: None, factory=_never)


# --- the profile file ------------------------------------------------------------------------------------------

def test_a_convert_profile_round_trips_and_names_its_converter(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    tint = VoiceProfile(name="MARA", strength=0.7)
    converted = dataclasses.replace(tint, kind="convert", converter="openvoice")
    path = store.save(converted)
    again = load_profile(path)
    assert again == converted and again.kind == "convert" and again.converter == "openvoice"
    assert json.loads(path.read_text())["converter"] == "openvoice"
    assert again.key != tint.key  # a converted voice never shares a render with the tint
    assert "converter" not in tint.to_dict()  # tint files are written as before


@pytest.mark.parametrize(("change", "field_name"), [
    ({"kind": "morph"}, "kind"),
    ({"kind": "convert"}, "converter"),  # convert without a converter
    ({"kind": "convert", "converter": "open voice!"}, "converter"),
    ({"kind": "convert", "converter": 3}, "converter"),
    ({"kind": "tint", "converter": "openvoice"}, "converter"),  # only a convert profile names one
])
def test_a_bad_kind_or_converter_is_one_line_naming_file_and_field(tmp_path: Path, change: dict[str, Any],
                                                                   field_name: str) -> None:
    path = ProfileStore(tmp_path).save(VoiceProfile(name="MARA"))
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: field '{field_name}'"), message


# --- choosing the converter ------------------------------------------------------------------------------------

def test_no_converter_fits_is_exit_3_with_every_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(JobError) as info:
        choose_converter_for(None, commercial=False, options_for=lambda _n: BackendOptions(),
                             specs=[OPENVOICE, dataclasses.replace(NON_COMMERCIAL, availability=lambda _o: "no GPU")])
    message = str(info.value)
    assert info.value.exit_code == 3 and "\n" not in message
    assert message.startswith("--convert auto: no voice converter fits: openvoice: ")
    assert "OpenVoice V2 converter weights" in message and "nc-vc: no GPU" in message
    with pytest.raises(JobError, match="no such voice converter"):
        choose_converter_for("nope", commercial=False, options_for=lambda _n: BackendOptions(), specs=[OPENVOICE])


def test_commercial_refuses_a_non_commercial_converter(monkeypatch: pytest.MonkeyPatch) -> None:
    options = lambda _n: BackendOptions(commercial=True)  # noqa: E731
    with pytest.raises(JobError) as info:
        choose_converter_for("nc-vc", commercial=True, options_for=options, specs=[NON_COMMERCIAL])
    assert info.value.exit_code == 3
    assert str(info.value) == ("--convert nc-vc --commercial: no voice converter fits: nc-vc: its weights do not allow "
                               "commercial use (CC-BY-NC-4.0)")
    assert choose_converter_for("nc-vc", commercial=False, options_for=options, specs=[NON_COMMERCIAL]) is NON_COMMERCIAL
    with pytest.raises(ConverterUnavailable, match="nc-vc: its weights do not allow commercial use"):
        registry.load_converter(NON_COMMERCIAL, BackendOptions(commercial=True))


def test_run_with_commercial_and_a_non_commercial_converter_stops_with_exit_3(
        tmp_path: Path, endgame_scene: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(registry, "discover_converters", lambda extra=(): [NON_COMMERCIAL])
    timeline, subtitles = endgame_scene
    base = ["run", str(timeline), "--subs", str(subtitles), "--out", str(tmp_path / "nc.otio"), "--quiet",
            "--backend", "kokoro"]  # its weights allow commercial use: the converter is what is refused
    assert main(base + ["--commercial", "--convert", "nc-vc"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "its weights do not allow commercial use (CC-BY-NC-4.0)" in err, err
    assert not (tmp_path / "nc.otio").exists()


def test_convert_without_weights_is_exit_3_in_one_line(tmp_path: Path, endgame_scene: tuple[Path, Path],
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    timeline, subtitles = endgame_scene
    code = main(["run", str(timeline), "--subs", str(subtitles), "--out", str(tmp_path / "x.otio"), "--quiet",
                 "--backend", "piper", "--convert"])
    err = capsys.readouterr().err.strip()
    assert code == 3 and len(err.splitlines()) == 1, err
    assert "--convert auto: no voice converter fits: openvoice: " in err and ENV_VAR in err


def test_revoice_voices_lists_the_converters_with_licence_and_commercial_use(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["voices"]) == EXIT_OK
    text = capsys.readouterr().out
    block = text[text.index("openvoice  (voice converter: "):]
    assert "licence: MIT" in block and "\n  commercial use: yes\n" in block
    assert main(["voices", "--json", "--weights", f"openvoice={tmp_path}"]) == EXIT_OK
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["openvoice"]["kind"] == "converter" and rows["openvoice"]["commercial_use"] is True
    assert str(tmp_path) in rows["openvoice"]["reason"]  # its own --weights folder was checked
    assert "piper" in rows  # the backends are still listed


# --- end to end ----------------------------------------------------------------------------------------------

@pytest.mark.skipif(bool(missing_openvoice()), reason=f"not installed: {missing_openvoice()}")
def test_a_convert_profile_renders_slot_exact_on_the_tints_onset_and_says_so_everywhere(
        tmp_path: Path, endgame_scene: tuple[Path, Path], piper_backend: Any, kokoro_voices: Any,
        speaker_embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    weights = write_tiny_openvoice(tmp_path / "openvoice")
    timeline, subtitles = endgame_scene
    voices = tmp_path / "voices"

    def run(name: str, **extra: Any) -> Any:
        options = JobOptions(timeline=timeline, out=tmp_path / name / "scene.otio", subtitles=subtitles,
                             profiles=str(voices), line_ids=LINES, match_sentences=TUNING,
                             match_voices=("kokoro:jm_kumo", "kokoro:jf_gongitsune"), **extra)
        return run_job(options, context=EngineContext(voice=piper_backend, embedder=speaker_embedder,
                                                      match_backends=[piper_backend, kokoro_voices]))

    plain = run("tint")
    assert not plain.failed and {row["kind"] for row in plain.profiles} == {"tint"}
    converted = run("convert", convert="openvoice", named_weights={"openvoice": weights})
    assert not converted.failed and converted.batch.cached == 0
    assert {row["kind"] for row in converted.profiles} == {"convert"}
    assert {row["converter"] for row in converted.profiles} == {"openvoice"}
    # the profile files now say convert, with the converter
    assert {(p.kind, p.converter) for p in ProfileStore(voices).profiles()} == {("convert", "openvoice")}

    table = converted.summary_table()
    voice_lines = [line for line in table.splitlines() if line.startswith("VOICE")]
    print("\n".join(voice_lines))
    assert len(voice_lines) == 2 and all(
        "convert (tint, then converted to the actor's timbre by openvoice)" in line for line in voice_lines)
    assert all("now converted by openvoice" in line for line in voice_lines)
    assert {(v.name, v.reason) for v in converted.voices} == {
        ("NAGG", "voice profile (convert, converted by openvoice)"),
        ("NELL", "voice profile (convert, converted by openvoice)")}

    before = {r.line_id: r for r in plain.batch.rendered}
    lines = {line.line_id: line for line in converted.lines}
    for render in converted.batch.rendered:
        audio, rate = sf.read(render.path, dtype="float32")
        tint_audio, _ = sf.read(before[render.line_id].path, dtype="float32")
        assert rate == 48000 and len(audio) == lines[render.line_id].slot_samples(48000) == len(tint_audio)
        assert not np.allclose(audio, tint_audio, atol=1e-3)  # it was converted
        span, tint_span = render.report.achieved_span, before[render.line_id].report.achieved_span
        assert span is not None and tint_span is not None
        onset_ms = (span[0] - tint_span[0]) * 1000 / rate
        print(render.line_id, "onset against the tint:", onset_ms, "ms")
        assert abs(onset_ms) <= 5.0
        use = render.report.voice_profile
        assert use is not None and use.kind == "convert" and use.converter == "openvoice"
        sidecar = json.loads(render.path.with_suffix(".json").read_text())
        assert '"converter": "openvoice"' in json.dumps(sidecar)

    out = tmp_path / "convert" / "scene.otio"
    written = otio.adapters.read_from_file(str(out))
    clips = [c for t in written.audio_tracks() if t.name.startswith("Revoice - ") for c in t
             if isinstance(c, otio.schema.Clip)]
    assert len(clips) == 2
    for clip in clips:
        profile = clip.metadata["revoice"]["profile"]
        assert profile["kind"] == "convert" and profile["converter"] == "openvoice"

    from revoice.report import write_report

    html = write_report(out)[0].read_text(encoding="utf-8")
    assert html.count("convert — matched stock voice, converted to the actor&#x27;s timbre by openvoice") == 2 \
        or html.count("convert — matched stock voice, converted to the actor's timbre by openvoice") == 2
    assert "converter openvoice: yes</td>" in html and "converter openvoice: MIT" in html

    # a rerun with the profiles as they are (no --convert) reuses every converted line; --convert off is the tint
    again = run("convert", named_weights={"openvoice": weights})
    assert again.batch.cached == 2 and {row["kind"] for row in again.profiles} == {"convert"}
    off = run("tint", convert="off")
    assert off.batch.cached == 2 and {row["kind"] for row in off.profiles} == {"tint"}


@pytest.mark.skipif(bool(missing_openvoice()), reason=f"not installed: {missing_openvoice()}")
def test_voice_build_convert_sets_and_clears_the_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    store = ProfileStore(tmp_path / "voices")
    store.save(VoiceProfile(name="MARA"))
    base = ["voice", "build", "MARA", "--voices", str(store.folder)]
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert main(base + ["--convert"]) == 3  # no weights: nothing changes
    assert "openvoice" in capsys.readouterr().err and store.get("MARA") == VoiceProfile(name="MARA")
    weights = tmp_path / "weights"
    weights.mkdir()
    for name in ("config.json", "checkpoint.pth"):  # availability only looks for the files
        (weights / name).write_text("{}")
    monkeypatch.setenv(ENV_VAR, str(weights))
    assert main(base + ["--convert", "openvoice"]) == EXIT_OK
    assert "convert (tint, then converted to the actor's timbre by openvoice)" in capsys.readouterr().out
    profile = store.get("MARA")
    assert profile is not None and (profile.kind, profile.converter) == ("convert", "openvoice")
    assert main(base + ["--convert", "off"]) == EXIT_OK
    profile = store.get("MARA")
    assert profile is not None and (profile.kind, profile.converter) == ("tint", "")
    assert main(base + ["--commercial", "--convert", "openvoice"]) == EXIT_OK  # MIT weights: allowed


@pytest.mark.skipif(bool(missing_openvoice()), reason=f"not installed: {missing_openvoice()}")
def test_a_worker_process_rebuilds_the_same_conversion_from_the_plan(tmp_path: Path) -> None:
    """--jobs / Ray: the plan travels as names and samples; the worker's converter gives the same keys and audio."""
    import pickle

    from revoice.engine.conversion.plan import ConversionPlan, ConversionTarget
    from revoice.engine.conversion.registry import LazyConverter

    from revoice.conversion_plan import plan_from_portable

    weights = write_tiny_openvoice(tmp_path / "openvoice")
    options = JobOptions(timeline=tmp_path / "t.otio", out=tmp_path / "o.otio", named_weights={"openvoice": weights})
    rate = 24000
    t = np.arange(rate, dtype=np.float32) / rate
    reference = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    here = ConversionPlan({"NELL": ConversionTarget(converter=LazyConverter(OPENVOICE, options.converter_options(
        "openvoice")), reference_audio=reference, reference_sample_rate=rate)})
    sent = pickle.loads(pickle.dumps(here.portable()))
    there = plan_from_portable(sent, options, specs=[OPENVOICE])
    assert there is not None and there.key_for("NELL") == here.key_for("NELL") and there.key_for("NAGG") is None
    speech = np.zeros(rate, dtype=np.float32)
    speech[4000:20000] = 0.2 * np.sin(2 * np.pi * 140 * t[:16000]) * np.hanning(16000).astype(np.float32)
    assert np.array_equal(here.apply("NELL", speech, rate), there.apply("NELL", speech, rate))
    with pytest.raises(JobError, match="'openvoice' is not installed in this worker"):
        plan_from_portable(sent, options, specs=[])
