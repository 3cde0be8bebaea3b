"""A line's render is found by what it says and where, not by its id (revoice.engine.render, revoice.engine.sidecars).

Line ids follow the cues' order (L0001, L0002, ...), so deleting or inserting a cue renames every line after it.
The render key and the seed hold no line id, and the cache finds a finished render by its key under any name:
nothing but a new or edited line is synthesized. No model: a stand-in voice hums and counts its requests.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
from revoice.engine.model import DialogueLine, FrameRange
from revoice.engine.render import Revoicer, sidecar_path, wav_name
from revoice.engine.sidecars import RenderIndex, parked_path, prune_renders, reuse_finished, superseded_renders, wav_facts
from revoice.engine.voices.base import Synthesis, SynthesisRequest
from stand_in_voice import StandInVoice

RATE = 16000
FPS = 25.0


class HumVoice(StandInVoice):
    """0.3 s of hum per word, its pitch from the text and the seed (so a wrong seed changes the samples)."""

    def __init__(self) -> None:
        super().__init__("hum", languages=("en",), voices=("amy", "ben"), sample_rate=RATE)

    def sound(self, request: SynthesisRequest) -> Synthesis:
        words = len(request.text.split())
        t = np.arange(int(0.3 * words * RATE * request.duration_scale)) / RATE
        pitch = 110 + (request.seed + sum(map(ord, request.text))) % 90
        hum = 0.3 * np.sin(2 * np.pi * pitch * t) * np.sin(np.pi * t / t[-1])
        return Synthesis(audio=hum.astype(np.float32), sample_rate=RATE)


CUES = [("ANNA", "Where were you last night?"), ("BEN", "Out."), ("ANNA", "Out where?"), ("BEN", "Just out.")]


def cue_lines(cues: list[tuple[str, str, int]]) -> list[DialogueLine]:
    """Lines numbered by their order, as the subtitle reader numbers them: (speaker, text, start second)."""
    return [DialogueLine(line_id=f"L{number:04d}", text=text, speaker=speaker, language="en",
                         record=FrameRange(int(start * FPS), int(2.5 * FPS), FPS), origin=f"cue {number}")
            for number, (speaker, text, start) in enumerate(cues, 1)]


def reel() -> list[tuple[str, str, int]]:
    """The cues at 3, 6, 9 and 12 s (room for one before them)."""
    return [(speaker, text, 3 + 3 * index) for index, (speaker, text) in enumerate(CUES)]


def revoicer(voice: HumVoice) -> Revoicer:
    return Revoicer(backend=voice, voices_by_speaker={"ANNA": "amy", "BEN": "ben"})


def said(voice: HumVoice) -> set[str]:
    return {request.text for request in voice.calls}


def pcm(path: Path) -> str:
    facts = wav_facts(path)
    assert facts is not None
    return facts.pcm_sha256


def test_the_key_and_the_seed_hold_no_line_id() -> None:
    speaker = revoicer(HumVoice())
    line = cue_lines(reel())[1]
    renamed = dataclasses.replace(line, line_id="L0042")
    assert speaker.render_key(renamed) == speaker.render_key(line)
    assert speaker.line_seed(renamed) == speaker.line_seed(line)
    assert speaker.line_seed(line, 2) != speaker.line_seed(line)
    moved = dataclasses.replace(line, record=FrameRange(line.record.start + 1, line.record.duration, FPS))
    assert speaker.line_seed(moved) != speaker.line_seed(line)  # the same words elsewhere: another reading
    other = dataclasses.replace(line, speaker="ANNA")
    assert speaker.render_key(other) != speaker.render_key(line) and speaker.line_seed(other) != speaker.line_seed(line)
    louder = Revoicer(backend=HumVoice(), voices_by_speaker={"ANNA": "amy", "BEN": "ben"},
                      settings=dataclasses.replace(speaker.settings, loudness="netflix"))
    assert louder.render_key(line) != speaker.render_key(line)
    assert louder.line_seed(line) == speaker.line_seed(line)  # re-rendered for loudness, same reading


def test_deleting_the_first_cue_renders_nothing_again(tmp_path: Path) -> None:
    voice = HumVoice()
    before = cue_lines(reel())
    first = revoicer(voice).render(before, out_dir=tmp_path)
    assert not first.failed and len(said(voice)) == 4
    samples = {line.text: pcm(render.path) for line, render in zip(before, first.rendered)}
    voice.calls.clear()
    after = cue_lines(reel()[1:])  # the first cue deleted: every line's id moves up by one
    again = revoicer(voice).render(after, out_dir=tmp_path)
    assert voice.calls == [] and again.cached == 3 and not again.failed
    for line, render in zip(after, again.rendered):
        assert render.line_id == line.line_id and render.path == tmp_path / wav_name(line, 1)
        assert pcm(render.path) == samples[line.text]
        assert json.loads(sidecar_path(render.path).read_text(encoding="utf-8"))["line_id"] == line.line_id
    voice.calls.clear()
    assert revoicer(voice).render(after, out_dir=tmp_path).cached == 3 and voice.calls == []  # now by name


@pytest.mark.parametrize("one_speaker", [False, True], ids=["two speakers", "one speaker"])
def test_inserting_a_cue_renders_only_that_one(tmp_path: Path, one_speaker: bool) -> None:
    voice = HumVoice()
    cues = [("ANNA" if one_speaker else speaker, text, start) for speaker, text, start in reel()]
    before = cue_lines(cues)
    samples = {render.path.name: pcm(render.path) for render in revoicer(voice).render(before, out_dir=tmp_path).rendered}
    voice.calls.clear()
    inserted = cue_lines([("ANNA", "Hello?", 0)] + cues)  # before the first: every line's id moves down by one
    result = revoicer(voice).render(inserted, out_dir=tmp_path)
    assert said(voice) == {"Hello?"} and result.cached == 4 and not result.failed
    assert [r.line_id for r in result.rendered] == ["L0001", "L0002", "L0003", "L0004", "L0005"]
    for old, new in zip(before, result.rendered[1:]):
        assert samples[wav_name(old, 1)] == pcm(new.path)
    superseded = superseded_renders(tmp_path, in_use=_in_use(inserted))
    if one_speaker:  # each name was taken by the line before: parked, then placed one name down
        assert sorted(superseded) == sorted(parked_path(tmp_path / wav_name(old, 1), revoicer(voice).render_key(old))
                                            for old in before)
    else:  # "Hello?" took ANNA_L0001 (parked); the others' names now differ by speaker and are left over
        first = parked_path(tmp_path / wav_name(before[0], 1), revoicer(voice).render_key(before[0]))
        assert sorted(superseded) == sorted([first, *(tmp_path / wav_name(old, 1) for old in before[1:])])


def test_a_fresh_render_and_a_reused_one_hold_the_same_samples(tmp_path: Path) -> None:
    voice = HumVoice()
    revoicer(voice).render(cue_lines(reel()), out_dir=tmp_path / "history")
    after = cue_lines(reel()[1:])
    reused = revoicer(voice).render(after, out_dir=tmp_path / "history")
    fresh = revoicer(HumVoice()).render(after, out_dir=tmp_path / "fresh")
    assert [pcm(r.path) for r in reused.rendered] == [pcm(r.path) for r in fresh.rendered]
    assert [r.report.seed for r in reused.rendered] == [r.report.seed for r in fresh.rendered]


def test_swapped_cues_render_nothing_again(tmp_path: Path) -> None:
    voice = HumVoice()
    cues = reel()
    revoicer(voice).render(cue_lines(cues), out_dir=tmp_path)
    voice.calls.clear()
    swapped = [cues[0], (cues[2][0], cues[2][1], cues[1][2]), (cues[1][0], cues[1][1], cues[2][2]), cues[3]]
    first = revoicer(voice).render(cue_lines(swapped), out_dir=tmp_path)
    assert len(voice.calls) > 0  # new places in the reel: new slots, so new renders...
    voice.calls.clear()
    second = revoicer(voice).render(cue_lines(cues), out_dir=tmp_path)  # ...and back: the parked ones are found
    assert voice.calls == [] and second.cached == 4 and first.cached == 2


def test_an_edit_renders_only_its_line_and_undoing_it_renders_nothing(tmp_path: Path) -> None:
    voice = HumVoice()
    lines = cue_lines(reel())
    revoicer(voice).render(lines, out_dir=tmp_path)
    voice.calls.clear()
    edited = [lines[0], dataclasses.replace(lines[1], text="Out. Obviously."), *lines[2:]]
    result = revoicer(voice).render(edited, out_dir=tmp_path)
    assert said(voice) == {"Out. Obviously."} and result.cached == 3
    old_key = revoicer(voice).render_key(lines[1])
    parked = parked_path(tmp_path / wav_name(lines[1], 1), old_key)
    assert superseded_renders(tmp_path, in_use=_in_use(edited)) == [parked]
    voice.calls.clear()
    undone = revoicer(voice).render(lines, out_dir=tmp_path)
    assert voice.calls == [] and undone.cached == 4


def test_superseded_renders_are_listed_and_pruned_and_nothing_in_use_or_in_flight_is(tmp_path: Path) -> None:
    voice = HumVoice()
    lines = cue_lines(reel())
    revoicer(voice).render(lines, out_dir=tmp_path, takes=2)
    after = cue_lines(reel()[1:])
    revoicer(voice).render(after, out_dir=tmp_path)  # one take now, one cue fewer
    staging = tmp_path / f".BEN_L0009_t1.wav.revoice-0123abcd-{os.getpid()}-x1.tmp"
    staging.mkdir()
    (staging / "BEN_L0009_t1.wav").write_bytes(b"RIFF")  # another shard's write in flight
    stray = tmp_path / "notes.json"
    stray.write_text("{}", encoding="utf-8")
    in_use = _in_use(after)
    superseded = superseded_renders(tmp_path, in_use=in_use)
    assert superseded == sorted(tmp_path / name for name in _in_use(lines, takes=2))  # every id moved up, speakers alternate
    assert not in_use & {p.name for p in superseded}
    assert prune_renders(superseded, in_use=in_use) == superseded
    assert superseded_renders(tmp_path, in_use=in_use) == []
    assert not any(sidecar_path(p).exists() or p.exists() for p in superseded)
    assert staging.is_dir() and stray.is_file()
    voice.calls.clear()
    assert revoicer(voice).render(after, out_dir=tmp_path).cached == 3 and voice.calls == []


def test_without_hard_links_the_render_is_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    voice = HumVoice()
    revoicer(voice).render(cue_lines(reel()), out_dir=tmp_path)

    def no_links(source: object, target: object) -> None:
        raise OSError("links not supported here")

    monkeypatch.setattr(os, "link", no_links)
    voice.calls.clear()
    result = revoicer(voice).render(cue_lines(reel()[1:]), out_dir=tmp_path)
    assert voice.calls == [] and result.cached == 3
    assert all(os.stat(r.path).st_nlink == 1 for r in result.rendered)


def test_a_render_found_by_key_is_checked_before_it_is_placed(tmp_path: Path) -> None:
    voice = HumVoice()
    lines = cue_lines(reel())
    first = revoicer(voice).render(lines, out_dir=tmp_path).rendered
    source = first[1].path
    source.write_bytes(source.read_bytes()[:-300])  # cut short: found by its key, not placed
    renamed = dataclasses.replace(lines[1], line_id="L0007")
    key = revoicer(voice).render_key(renamed)
    assert reuse_finished(tmp_path / wav_name(renamed, 1), key, line_id="L0007", index=RenderIndex(tmp_path)) is None
    assert not (tmp_path / wav_name(renamed, 1)).exists()


def _in_use(lines: list[DialogueLine], takes: int = 1) -> frozenset[str]:
    return frozenset(wav_name(line, take) for line in lines for take in range(1, takes + 1))


def test_a_render_parked_by_another_process_after_the_index_was_read_is_still_found(tmp_path: Path) -> None:
    voice = HumVoice()
    lines = cue_lines(reel())
    source = revoicer(voice).render(lines, out_dir=tmp_path).rendered[1].path
    key = revoicer(voice).render_key(lines[1])
    index = RenderIndex(tmp_path)
    assert index.paths(key) == [source]  # read now; then another shard parks it
    parked = parked_path(source, key)
    os.replace(sidecar_path(source), sidecar_path(parked))
    os.replace(source, parked)
    renamed = dataclasses.replace(lines[1], line_id="L0007")
    placed = reuse_finished(tmp_path / wav_name(renamed, 1), key, line_id="L0007", index=index)
    assert placed is not None and placed.path.name == "BEN_L0007_t1.wav" and pcm(placed.path) == pcm(parked)
