"""``--commercial``: only voices whose weights' licence allows commercial use; the others are refused with the reason.

The flag travels in ``JobOptions.commercial`` (the CLI, the panel's setting, the service's ``commercial`` option)
and ``BackendOptions.commercial`` (every place a backend is chosen or loaded); ``revoice voices``, the QC report and
the panel show each backend's terms.
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path

import numpy as np
import pytest
from stand_in_voice import StandInVoice

from revoice.cli import EXIT_NO_BACKEND, EXIT_OK, main
from revoice.context import EngineContext
from revoice.demo import demo_files
from revoice.engine.voices.base import BackendOptions, Synthesis, SynthesisRequest
from revoice.options import JobError, JobOptions
from revoice.report.voices import BackendTerms, VoiceRow, backend_licences, commercial_words, voices_html


@pytest.fixture(scope="module")
def one_line_scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo timeline and a subtitle file holding only its first line."""
    timeline, _ = demo_files()
    subtitles = tmp_path_factory.mktemp("scene") / "one_line.srt"
    subtitles.write_text("1\n01:00:00,000 --> 01:00:01,208\nNAGG: Do you hear me?\n", encoding="utf-8")
    return timeline, subtitles


class Hum(StandInVoice):
    def sound(self, request: SynthesisRequest) -> Synthesis:
        t = np.arange(int(0.08 * 16000 * max(1, len(request.text.split()))), dtype=np.float32) / 16000
        return Synthesis((0.1 * np.sin(2 * np.pi * 150 * t)).astype(np.float32), 16000)


# --- the option -------------------------------------------------------------------------------------------------

def test_job_options_carry_commercial_into_every_backend_load(one_line_scene: tuple[Path, Path],
                                                              tmp_path: Path) -> None:
    timeline, subtitles = one_line_scene
    out = tmp_path / "o.otio"
    assert not JobOptions(timeline=timeline, out=out).backend_options.commercial
    options = JobOptions(timeline=timeline, out=out, subtitles=subtitles, commercial=True)
    assert options.commercial and options.backend_options.commercial
    with pytest.raises(ValueError, match="^--commercial 'yes': give true or false$"):
        JobOptions(timeline=timeline, out=out, commercial="yes")  # type: ignore[arg-type]
    assert {f.name for f in dataclasses.fields(JobOptions) if f.kw_only} >= {"commercial"}


def test_the_service_takes_commercial_as_the_cli_does(one_line_scene: tuple[Path, Path], tmp_path: Path) -> None:
    from revoice.service.job_request import JobRequest, RequestError

    timeline, _ = one_line_scene
    body = {"timeline": str(timeline), "out": str(tmp_path / "o.otio"), "options": {"commercial": True}}
    assert JobRequest.from_json(body).job_options().commercial
    assert not JobRequest.from_json({**body, "options": {"commercial": False}}).job_options().commercial
    with pytest.raises(RequestError, match="--commercial: give true or false"):
        JobRequest.from_json({**body, "options": {"commercial": "yes"}}).job_options()


# --- refusals ---------------------------------------------------------------------------------------------------

def test_cli_commercial_refuses_a_named_non_commercial_backend_in_one_line(
        one_line_scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    timeline, subtitles = one_line_scene
    out = tmp_path / "out" / "cut_revoiced.otio"
    code = main(["run", str(timeline), "--subs", str(subtitles), "--out", str(out), "--profiles", "off", "--quiet",
                 "--backend", "f5", "--commercial"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_NO_BACKEND
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert err[0].startswith("revoice: No voice backend fits (")
    assert "f5: not for commercial use: weights CC-BY-NC-4.0: non-commercial use only" in err[0]
    assert not out.exists()


def test_cli_commercial_lists_every_backend_when_none_fits(
        one_line_scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No installed English voice may be used commercially here (piper's joe derives from lessac): each says why."""
    from revoice.engine.voices.registry import BrokenBackendSpec, discover_backends

    specs = [s for s in discover_backends() if not isinstance(s, BrokenBackendSpec)]
    if any(s.commercial_use and s.supports_language("en") and s.availability(BackendOptions()) is None
           for s in specs):
        pytest.skip("a commercially usable English voice is installed here")
    timeline, subtitles = one_line_scene
    out = tmp_path / "cut_revoiced.otio"
    code = main(["run", str(timeline), "--subs", str(subtitles), "--out", str(out), "--profiles", "off", "--quiet",
                 "--commercial"])
    err = capsys.readouterr().err
    assert code == EXIT_NO_BACKEND and "Traceback" not in err
    assert "commercial use" in err.splitlines()[0]
    for spec in specs:
        assert f"  {spec.name}: " in err, spec.name
    assert "piper: not for commercial use: voice joe is fine-tuned from piper's lessac voice" in err


def test_a_given_voice_is_refused_and_matching_offers_only_commercial_voices() -> None:
    """The panel's loaded voice and the voices kept for matching are held to the flag too."""
    nc = Hum("nc", languages=("en",), voices=("v",), sample_rate=16000, commercial=False)
    free = Hum("free", languages=("en",), voices=("v",), sample_rate=16000)
    context = EngineContext(voice=nc, match_backends=[nc, free])
    assert context.voices_for(["en"], options=BackendOptions())["en"] is nc
    with pytest.raises(JobError) as info:
        context.voices_for(["en"], options=BackendOptions(commercial=True))
    assert info.value.exit_code == 3
    assert str(info.value) == ("No voice backend fits (commercial use): nc: not for commercial use: "
                               "test voice standing in for non-commercial weights")
    assert EngineContext(voice=free).voices_for(["en"], options=BackendOptions(commercial=True))["en"] is free
    pool = context.backend_pool([free], options=BackendOptions(commercial=True))
    assert list(pool.loaded) == ["free"]
    assert sorted(context.backend_pool([free], options=BackendOptions()).loaded) == ["free", "nc"]


# --- showing the terms ------------------------------------------------------------------------------------------

def test_revoice_voices_shows_commercial_use_per_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["voices"]) == EXIT_OK
    text = capsys.readouterr().out
    current = ""  # a backend's name starts its block; its details are indented
    terms: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith(" "):
            current = line.split()[0]
        elif line.strip().startswith("commercial use: "):
            terms[current] = line.strip().removeprefix("commercial use: ")
    assert terms["piper"].startswith("no (voice joe is fine-tuned from piper's lessac voice")
    assert terms["kokoro"] == "yes (Kokoro-82M weights and voices Apache-2.0)"
    assert terms["f5"] == "no (weights CC-BY-NC-4.0: non-commercial use only)"
    assert terms["indextts2"].startswith("no (") and "bilibili" in terms["indextts2"]
    assert main(["voices", "--json"]) == EXIT_OK
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["kokoro"]["commercial_use"] is True and rows["f5"]["commercial_use"] is False
    assert set(terms) == {name for name, row in rows.items() if "commercial_use" in row}


def test_commercial_words_and_the_report_table() -> None:
    assert commercial_words(True, "weights Apache-2.0") == "yes (weights Apache-2.0)"
    assert commercial_words(False) == "no (its plugin does not say its weights allow it)"
    assert commercial_words(None) == "not known"
    terms = backend_licences()
    assert terms["kokoro"] == BackendTerms(terms["kokoro"].licence, True, "Kokoro-82M weights and voices Apache-2.0")
    assert terms["f5"].commercial_words == "no (weights CC-BY-NC-4.0: non-commercial use only)"
    tint = VoiceRow(name="NAGG", kind="tint", base_voice="kokoro:jm_kumo", similarity="0.41 → 0.63", consent="—",
                    licence="Apache-2.0", commercial_use=True, commercial_note="Kokoro-82M weights and voices Apache-2.0")
    clone = VoiceRow(name="NELL", kind="clone", base_voice="f5:reference", similarity="0.72", consent="—",
                     licence="CC-BY-NC-4.0", commercial_use=False, commercial_note="weights CC-BY-NC-4.0")
    page = voices_html([tint, clone])
    assert "<th>Licence</th><th>Commercial use</th>" in page
    assert "<td class=commercial>yes (Kokoro-82M weights and voices Apache-2.0)</td>" in page
    assert "class=commercial-no" in page and "no (weights CC-BY-NC-4.0)" in page


@pytest.mark.slow
def test_a_real_report_shows_the_speaking_backends_commercial_use(
        one_line_scene: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One line rendered for real by piper, then the QC report from what the clips say (no meters)."""
    from revoice.report import write_report

    timeline, subtitles = one_line_scene
    out = tmp_path / "cut_revoiced.otio"
    assert main(["run", str(timeline), "--subs", str(subtitles), "--out", str(out), "--profiles", "off",
                 "--quiet"]) == EXIT_OK
    capsys.readouterr()
    html_path = write_report(out)[0]
    page = html_path.read_text(encoding="utf-8")
    row = next(r for r in page.split("<tr class='stock'>")[1:] if r.startswith("<td>NAGG</td>"))
    assert "piper:joe" in row and "GPL-3.0" in row
    assert ("<td class=commercial-no style='color:#b9770e'>"
            + html.escape("no (voice joe is fine-tuned from piper's lessac voice")) in row


def test_voice_matching_skips_backends_whose_weights_do_not_allow_commercial_use() -> None:
    """``revoice voice build --commercial`` and a run's matching pool: such a backend is not loaded, and says why."""
    from revoice.casting import BackendPool
    from revoice.cli import build_parser

    args = build_parser().parse_args(["voice", "build", "NAGG", "--voices", "v", "--commercial"])
    assert args.commercial
    pool = BackendPool(loaded=[], options=BackendOptions(commercial=True))
    assert pool.named("piper") is None
    assert "not for commercial use" in pool.failed["piper"] and "lessac" in pool.failed["piper"]
