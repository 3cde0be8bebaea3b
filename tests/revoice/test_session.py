"""revoice.session: the one API the CLI, the panel and the service call."""

from __future__ import annotations

import doctest
from pathlib import Path
from typing import Any

import pytest

import revoice.session
from revoice.context import EngineContext
from revoice.layout import OutputLayout
from revoice.options import JobError
from revoice.session import Session


@pytest.mark.slow
def test_the_usage_example_in_the_docstring_runs(endgame_scene: tuple[Path, Path], tmp_path: Path) -> None:
    timeline, subtitles = endgame_scene
    finder = doctest.DocTestFinder()
    tests = finder.find(revoice.session, globs={"timeline": timeline, "subtitles": subtitles, "folder": tmp_path})
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    examples = 0
    for test in tests:
        examples += len(test.examples)
        runner.run(test)
    assert examples >= 8
    assert runner.summarize(verbose=False).failed == 0
    assert (tmp_path / "scene_revoiced.otio").is_file()


def test_open_reads_the_lines_and_says_where_files_go(endgame_scene: tuple[Path, Path], tmp_path: Path) -> None:
    timeline, subtitles = endgame_scene
    session = Session.open(timeline, subtitles=subtitles, out=tmp_path / "cut_revoiced.otio")
    assert len(session.lines) == 14 and {line.speaker for line in session.lines} == {"NAGG", "NELL"}
    assert session.timecode(0) == "01:00:00:00"
    assert session.layout == OutputLayout(tmp_path / "cut_revoiced.otio")
    assert session.layout.media_dir == tmp_path / "cut_revoiced_media"
    assert session.layout.voices_dir == tmp_path / "cut_revoiced_voices"
    assert session.layout.qc_html == tmp_path / "cut_revoiced_qc.html"
    assert session.options(takes=2).layout == session.layout


def test_bad_input_is_one_line_job_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.otio"
    broken.write_text("{ not json", encoding="utf-8")
    with pytest.raises(JobError) as caught:
        Session.open(broken, out=tmp_path / "out.otio")
    assert "broken.otio" in str(caught.value) and "\n" not in str(caught.value) and caught.value.exit_code == 2


def test_render_refuses_another_timelines_options(endgame_scene: tuple[Path, Path], tmp_path: Path) -> None:
    timeline, subtitles = endgame_scene
    session = Session.open(timeline, subtitles=subtitles, out=tmp_path / "a.otio")
    other = Session.open(timeline, subtitles=subtitles, out=tmp_path / "b.otio")
    with pytest.raises(ValueError, match="not this session's timeline"):
        session.render(other.options())


def test_takes_and_writes_need_a_render_first(endgame_scene: tuple[Path, Path], tmp_path: Path) -> None:
    timeline, subtitles = endgame_scene
    session = Session.open(timeline, subtitles=subtitles, out=tmp_path / "a.otio")
    with pytest.raises(KeyError, match="L9999"):
        session.choose_take("L9999", 1)
    with pytest.raises(ValueError, match="not rendered yet"):
        session.choose_take("L0001", 1)
    with pytest.raises(JobError, match="nothing is revoiced yet"):
        session.write()


@pytest.mark.slow
def test_one_context_serves_several_renders_and_keeps_the_voice(endgame_scene: tuple[Path, Path], tmp_path: Path,
                                                                 piper_backend: Any) -> None:
    """The panel's case: one session, one context, two selections; the second render loads nothing."""
    timeline, subtitles = endgame_scene
    context = EngineContext(voice=piper_backend)
    session = Session.open(timeline, subtitles=subtitles, out=tmp_path / "cut.otio", context=context)
    seen: list[tuple[int, int]] = []
    first = session.render(session.options(line_ids=frozenset({"L0001"})),
                           progress=lambda done, total, label: seen.append((done, total)))
    second = session.render(session.options(line_ids=frozenset({"L0001", "L0002"})))
    assert [r.line_id for r in first.batch.rendered] == ["L0001"] and seen[-1] == (1, 1)
    assert second.batch.cached == 1 and [r.line_id for r in second.batch.rendered] == ["L0001", "L0002"]
    assert session.context is context and context.voice is piper_backend
    assert second.written == [tmp_path / "cut.otio"]


@pytest.mark.slow
def test_consent_given_to_a_run_without_profiles_says_nothing_was_recorded(endgame_scene: tuple[Path, Path],
                                                                           tmp_path: Path, piper_backend: Any) -> None:
    from revoice.engine.characters.profile import Consent

    timeline, subtitles = endgame_scene
    session = Session.open(timeline, subtitles=subtitles, out=tmp_path / "cut.otio",
                           context=EngineContext(voice=piper_backend))
    granted = Consent("granted", "A. Editor", "2026-12-04")
    outcome = session.render(session.options(line_ids=frozenset({"L0002"}), profiles="off", consent=granted))
    assert not outcome.failed
    assert any(w.startswith("--consent: this run speaks no voice profile") for w in outcome.warnings)
    quiet = session.render(session.options(line_ids=frozenset({"L0002"}), profiles="off"))
    assert not any(w.startswith("--consent") for w in quiet.warnings)
