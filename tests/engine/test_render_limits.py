"""A line no voice could say in its slot fails before any synthesis (time and memory stay flat), the batch goes on.

No model: a stand-in voice hums 0.1 s per word and counts its calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from revoice.engine.fit import FitError, FitPolicy
from revoice.engine.model import DialogueLine, FrameRange
from revoice.engine.render import Revoicer
from revoice.engine.voices.base import Synthesis, SynthesisRequest
from stand_in_voice import StandInVoice

RATE = 16000


class CountingVoice(StandInVoice):
    """A stand-in voice: 0.1 s of hum per word (per character for Mandarin), times ``duration_scale``; counts calls."""

    def __init__(self) -> None:
        super().__init__("counting", languages=("en", "zh"), voices=("hum",), sample_rate=RATE)

    def sound(self, request: SynthesisRequest) -> Synthesis:
        units = len(request.text.split()) if request.language == "en" else len(request.text)
        count = int(units * 0.1 * RATE * request.duration_scale)
        t = np.arange(count) / RATE
        hum = 0.3 * np.sin(2 * np.pi * 140 * t) * np.sin(np.pi * t / max(t[-1], 1e-3))
        return Synthesis(audio=hum.astype(np.float32), sample_rate=RATE)


def line(words: int, seconds: float, *, line_id: str = "L0001", start_frames: int = 0,
         language: str = "en") -> DialogueLine:
    text = " ".join(["word"] * words) if language == "en" else "的" * words
    return DialogueLine(line_id=line_id, text=text, speaker="MARA", language=language,
                        record=FrameRange(start_frames, int(round(seconds * 25)), 25.0), origin=f"cue {line_id}")


def test_a_1500_word_cue_in_a_2_s_slot_fails_at_once_without_synthesis(tmp_path: Path) -> None:
    voice = CountingVoice()
    revoicer = Revoicer(backend=voice)
    lines = [line(1500, 2.0), line(3, 2.0, line_id="L0002", start_frames=100)]
    started = time.perf_counter()
    result = revoicer.render([lines[0]], out_dir=tmp_path)
    seconds = time.perf_counter() - started
    assert seconds < 0.5, seconds
    assert voice.calls == []  # refused before the voice spoke a word
    assert [f.line_id for f in result.failed] == ["L0001"] and not result.rendered
    reason = result.failed[0].reason
    assert "1500 words cannot fit a 2.00 s slot" in reason and "shorten the text by about" in reason
    assert "\n" not in reason and result.failed[0].origin == "cue L0001"
    assert not list(tmp_path.iterdir())  # nothing written for it
    # the batch goes on: the impossible line fails, the next one renders
    result = revoicer.render(lines, out_dir=tmp_path)
    assert [f.line_id for f in result.failed] == ["L0001"] and [r.line_id for r in result.rendered] == ["L0002"]
    assert {call.text for call in voice.calls} == {lines[1].text}


def test_mandarin_is_bounded_by_characters(tmp_path: Path) -> None:
    voice = CountingVoice()
    result = Revoicer(backend=voice).render([line(600, 2.0, language="zh")], out_dir=tmp_path)
    assert voice.calls == [] and "600 characters cannot fit" in result.failed[0].reason
    assert "shorten the text by about" in result.failed[0].reason and "character(s)" in result.failed[0].reason


def test_a_fast_line_a_voice_could_fit_still_reaches_the_voice(tmp_path: Path) -> None:
    """At the fastest rate any voice was measured to reach (6.3 words/s natural, 18 placed) nothing is refused."""
    from revoice.engine.fit import check_text_can_fit, spoken_units

    policy = FitPolicy()
    placed = 6.3 / policy.hard_min_ratio  # words per second of slot
    for words in (1, 5, 20, 100, 1500):
        slot = int(np.ceil(words / placed * 48000))
        check_text_can_fit(" ".join(["word"] * words), available_samples=slot, sample_rate=48000, policy=policy)
        check_text_can_fit("的" * words, available_samples=int(np.ceil(words / (7.7 / 0.35) * 48000)),
                           sample_rate=48000, policy=policy)
    with pytest.raises(FitError, match="shorten the text by about"):
        check_text_can_fit(" ".join(["word"] * 100), available_samples=48000, sample_rate=48000, policy=policy)
    # stage directions are not spoken; numbers count low (one word); Han and kana by character
    assert spoken_units("Wait (laughs) no [pause] really") == (3, 0)
    assert spoken_units("我用 iPhone 打电话, 1500 times") == (3, 5)
    assert spoken_units("ちょっと待って") == (0, 7)
    voice = CountingVoice()
    result = Revoicer(backend=voice, settings=None).render([line(30, 2.0)], out_dir=tmp_path)  # 15 words/s
    assert voice.calls and not result.failed


def test_peak_memory_and_time_of_refusing_a_1500_word_cue(tmp_path: Path) -> None:
    """Measured in a fresh process: the refusal adds nothing measurable to the peak RSS (ru_maxrss)."""
    script = f"""
import json, resource, sys, time
sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parents[1])!r}]
from test_render_limits import CountingVoice, line
from revoice.engine.render import Revoicer
from pathlib import Path
voice = CountingVoice()
revoicer = Revoicer(backend=voice)
cue = line(1500, 2.0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
result = revoicer.render([cue], out_dir=Path({str(tmp_path)!r}))
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "before_kib": before, "peak_kib": peak, "calls": len(voice.calls),
                  "failed": len(result.failed)}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    print(measured)
    assert measured["failed"] == 1 and measured["calls"] == 0
    assert measured["seconds"] < 0.5
    assert measured["peak_kib"] - measured["before_kib"] < 20 * 1024  # under 20 MiB more (was 1 GB and up)
