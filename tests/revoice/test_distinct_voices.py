"""Distinct stock voices for characters without original audio (revoice.engine.characters.stock_voices).

A reel with no original dialogue used to give every character the backend's first voice. Now each
character gets a different voice of a fixed palette (the backend's voices, then variants of them),
cast in order of first appearance with a per-name preference: deterministic, stable when a character
joins later, the same in every shard, and never over a voice the editor chose. Most tests use a
stand-in voice that hums at a known pitch; one renders the real piper voice.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import random
import string
from pathlib import Path
from typing import Any

import numpy as np
import opentimelineio as otio
import pytest
from revoice.engine.characters.stock_voices import (
    LOW_VOICE_VARIANTS,
    VARIANT_MARK,
    VoiceVariants,
    cast_stock_voices,
    characters_in_order,
    default_cast,
    stock_palette,
)
from revoice.engine.model import DialogueLine, FrameRange
from revoice.engine.voices.base import Synthesis, SynthesisRequest, VoiceInfo
from stand_in_voice import StandInVoice

from revoice.cli import main
from revoice.context import EngineContext
from revoice.job import JobOptions, run_job
from revoice.options import Shard

RATE = 16000
FPS = 24.0
HUM_HZ = 100.0


class HumVoice(StandInVoice):
    """0.25 s per word of a 100 Hz hum (every voice the same), duration_scale honoured."""

    def __init__(self, voices: tuple[str, ...] = ("joe",)) -> None:
        super().__init__("hum", languages=("en",), voices=voices, sample_rate=RATE)

    def sound(self, request: SynthesisRequest) -> Synthesis:
        seconds = 0.25 * len(request.text.split()) * request.duration_scale
        t = np.arange(int(seconds * RATE)) / RATE
        hum = 0.3 * np.sin(2 * np.pi * HUM_HZ * t) * np.sin(np.pi * t / t[-1])
        return Synthesis(audio=hum.astype(np.float32), sample_rate=RATE)


CUES = [("MARA", "Where were you last night?"), ("JONAS", "Out by the harbour."), ("IDA", "Nobody saw you there."),
        ("MARA", "Then nobody will ask."), ("JONAS", "They always ask."), ("IDA", "Not tonight.")]


def write_reel(folder: Path, cues: list[tuple[str, str]], *, every: int = 3) -> tuple[Path, Path]:
    """A picture-only timeline (no dialogue audio) and an SRT of ``cues`` ("NAME: text"), one per ``every`` s."""
    folder.mkdir(parents=True, exist_ok=True)
    timeline = otio.schema.Timeline(name="no original audio")
    picture = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    picture.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, FPS), otio.opentime.RationalTime(FPS * every * (len(cues) + 1), FPS))))
    timeline.tracks.append(picture)
    path = folder / "reel.otio"
    otio.adapters.write_to_file(timeline, str(path))

    def at(seconds: float) -> str:
        return f"00:{int(seconds) // 60:02d}:{int(seconds) % 60:02d},{round(seconds % 1 * 1000):03d}"

    subs = folder / "reel.srt"
    subs.write_text("".join(f"{i}\n{at(every * i)} --> {at(every * i + every - 0.5)}\n{name}: {text}\n\n"
                            for i, (name, text) in enumerate(cues, 1)), encoding="utf-8")
    return path, subs


def voices_of(out: Path) -> dict[str, set[str]]:
    """Character -> the voice ids its clips in the revoiced timeline were spoken with."""
    found: dict[str, set[str]] = {}
    for track in otio.adapters.read_from_file(str(out)).audio_tracks():
        for clip in (c for c in track if isinstance(c, otio.schema.Clip)):
            meta = clip.metadata["revoice"]
            found.setdefault(meta["speaker"], set()).add(meta["voice"])
    return found


def lines_of(cues: list[tuple[str, str]]) -> list[DialogueLine]:
    return [DialogueLine(line_id=f"L{i:04d}", text=text, speaker=name, language="en",
                         record=FrameRange(int(3 * i * FPS), int(2.5 * FPS), FPS), origin=f"cue {i}")
            for i, (name, text) in enumerate(cues, 1)]


# --- the palette and the cast (no audio) ---------------------------------------------------------------------------

def test_one_voice_gives_a_palette_of_distinct_deterministic_variants() -> None:
    palette = stock_palette([VoiceInfo("joe", ("en-US",), gender="male")], "en")
    assert [v.voice_id for v in palette] == ["joe"] + [f"joe{VARIANT_MARK}{v.name}" for v in LOW_VOICE_VARIANTS]
    assert palette == stock_palette([VoiceInfo("joe", ("en-US",), gender="male")], "en-GB")  # same every time
    assert [v.tier for v in palette] == sorted(v.tier for v in palette) and palette[0].tier == 0
    sounds = [(1.0, 0.0)] + [(v.variant.speed, v.variant.semitones) for v in palette[1:] if v.variant]
    for (speed_a, pitch_a), (speed_b, pitch_b) in itertools.combinations(sounds, 2):
        formants_apart = abs(math.log(speed_a / speed_b)) >= math.log(1.15)
        pitch_apart = abs(12 * math.log2(speed_a / speed_b) + pitch_a - pitch_b) >= 3.0
        assert formants_apart or pitch_apart, (speed_a, pitch_a, speed_b, pitch_b)


def test_three_characters_get_three_voices_the_first_to_speak_the_default() -> None:
    palette = stock_palette([VoiceInfo("joe", ("en",))], "en")
    cast = cast_stock_voices(["MARA", "JONAS", "IDA"], palette)
    assert cast["MARA"].voice_id == "joe" and len({c.voice_id for c in cast.values()}) == 3
    assert not any(c.shared for c in cast.values())
    assert {cast["JONAS"].voice_id, cast["IDA"].voice_id} == {"joe~light", "joe~deep"}  # tier 2 before tier 3


def test_a_character_joining_later_never_moves_the_others() -> None:
    palette = stock_palette([VoiceInfo("joe", ("en",))], "en")
    rng = random.Random(7)
    for _ in range(300):
        names = list(dict.fromkeys("".join(rng.choices(string.ascii_uppercase, k=5)) for _ in range(rng.randint(1, 7))))
        before = cast_stock_voices(names, palette)
        after = cast_stock_voices([*names, "ZED" + names[0]], palette)
        assert {n: after[n].voice_id for n in names} == {n: c.voice_id for n, c in before.items()}
        assert len({c.voice_id for c in after.values()}) == len(after) or any(c.shared for c in after.values())


def test_the_cast_follows_first_appearance_not_the_listing_order() -> None:
    lines = lines_of(CUES)
    assert characters_in_order(lines) == ["MARA", "JONAS", "IDA"]
    assert characters_in_order(list(reversed(lines))) == ["MARA", "JONAS", "IDA"]
    voices = [VoiceInfo("joe", ("en",))]
    assert default_cast(lines, voices, language="en") == default_cast(list(reversed(lines)), voices, language="en")
    assert default_cast(lines, voices, language="zh") == {}  # nobody speaks Mandarin here


def test_a_chosen_voice_wins_and_is_given_to_nobody_else() -> None:
    lines = lines_of(CUES)
    cast = default_cast(lines, [VoiceInfo("joe", ("en",))], language="en", chosen={"IDA": "joe"})
    assert "IDA" not in cast and "joe" not in {c.voice_id for c in cast.values()}
    assert len({c.voice_id for c in cast.values()}) == 2


def test_more_characters_than_voices_share_the_least_used_and_say_so() -> None:
    palette = stock_palette([VoiceInfo("joe", ("en",))], "en")
    names = [f"C{i}" for i in range(len(palette) + 2)]
    cast = cast_stock_voices(names, palette)
    assert {c.voice_id for c in cast.values()} == {v.voice_id for v in palette}
    assert sorted(n for n, c in cast.items() if c.shared) == ["C0", "C2", "C6", "C7"]  # the two late ones share
    assert cast["C0"].voice_id == cast_stock_voices(names[:1], palette)["C0"].voice_id


def test_kokoros_own_voices_come_before_any_variant() -> None:
    voices = [VoiceInfo("jm_kumo", ("zh",), gender="male")] + [
        VoiceInfo(name, ("zh",), gender="female") for name in ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro")]
    cast = cast_stock_voices([f"C{i}" for i in range(5)], stock_palette(voices, "zh"))
    assert sorted(c.voice_id for c in cast.values()) == sorted(v.voice_id for v in voices)
    assert cast["C0"].voice_id == "jm_kumo"
    sixth = cast_stock_voices([f"C{i}" for i in range(6)], stock_palette(voices, "zh"))["C5"]
    assert VARIANT_MARK in sixth.voice_id and sixth.tier == 2


# --- a variant's sound ---------------------------------------------------------------------------------------------

def test_a_variant_keeps_the_length_and_moves_the_pitch_by_its_speed() -> None:
    hum = HumVoice()
    voice = VoiceVariants(hum)
    assert [v.voice_id for v in voice.voices()][:3] == ["joe", "joe~light", "joe~deep"]
    plain = voice.synthesize(SynthesisRequest(text="one two three four", voice_id="joe"))
    for name in ("light", "deep"):
        spoken = voice.synthesize(SynthesisRequest(text="one two three four", voice_id=f"joe~{name}"))
        assert hum.calls[-1].voice_id == "joe"
        speed = spoken.sample_rate / RATE
        assert abs(spoken.seconds - plain.seconds) < 0.01
        spectrum = np.abs(np.fft.rfft(spoken.audio))
        peak_hz = np.argmax(spectrum) * spoken.sample_rate / len(spoken.audio)
        assert abs(peak_hz - HUM_HZ * speed) < 3, (name, peak_hz)
    assert voice.voice_key("joe") is None
    keys = {voice.voice_key(v.voice_id) for v in voice.voices()[1:]}
    assert len(keys) == len(voice.voices()) - 1 and all("tint" in (k or "") for k in keys if "+0.000" not in (k or ""))


def test_a_pitched_variant_is_shifted_further_by_the_tint() -> None:
    from revoice.engine.dsp.voice_transform import median_f0

    class Voiced(HumVoice):
        def sound(self, request: SynthesisRequest) -> Synthesis:  # a buzz (harmonics), so PSOLA finds periods
            seconds = 0.25 * len(request.text.split()) * request.duration_scale
            t = np.arange(int(seconds * RATE)) / RATE
            buzz = sum(np.sin(2 * np.pi * HUM_HZ * k * t) / k for k in range(1, 12))
            return Synthesis(audio=(0.2 * buzz).astype(np.float32), sample_rate=RATE)

    voice = VoiceVariants(Voiced())
    light = voice.synthesize(SynthesisRequest(text="one two three four five six", voice_id="joe~light"))
    high = voice.synthesize(SynthesisRequest(text="one two three four five six", voice_id="joe~high"))
    apart = 12 * math.log2(median_f0(high.audio, high.sample_rate) / median_f0(light.audio, light.sample_rate))
    assert light.sample_rate == high.sample_rate and 4.0 < apart < 6.0


# --- through a whole run (stand-in voice) --------------------------------------------------------------------------

def run(timeline: Path, subs: Path, out: Path, voice: HumVoice, **options: Any) -> Any:
    return run_job(JobOptions(timeline=timeline, out=out, subtitles=subs, **options),
                   context=EngineContext(voice=voice))


def test_a_reel_without_original_audio_gets_three_voices_shown_in_the_summary(tmp_path: Path) -> None:
    timeline, subs = write_reel(tmp_path, CUES)
    outcome = run(timeline, subs, tmp_path / "out.otio", HumVoice())
    assert not outcome.failed
    voices = voices_of(tmp_path / "out.otio")
    assert sorted(voices) == ["IDA", "JONAS", "MARA"] and all(len(v) == 1 for v in voices.values())
    assert len(set.union(*voices.values())) == 3 and voices["MARA"] == {"joe"}
    table = outcome.summary_table()
    for name, (voice,) in voices.items():
        assert f"VOICE   {name}: hum:{voice} (distinct stock voice; no original audio)" in table
    rows = outcome.summary_json()["voices"]
    assert [(r["name"], r["source"]) for r in rows] == [("MARA", "distinct"), ("JONAS", "distinct"), ("IDA", "distinct")]


def test_adding_a_fourth_character_keeps_the_first_three_and_their_renders(tmp_path: Path) -> None:
    timeline, subs = write_reel(tmp_path / "three", CUES)
    out = tmp_path / "out.otio"
    run(timeline, subs, out, HumVoice())
    first = voices_of(out)
    timeline, subs = write_reel(tmp_path / "four", [*CUES, ("OSKAR", "I saw him.")])
    voice = HumVoice()
    outcome = run(timeline, subs, out, voice)
    after = voices_of(out)
    assert {name: after[name] for name in first} == first
    assert after["OSKAR"].isdisjoint(set.union(*first.values()))
    assert outcome.batch.cached == len(CUES) and [c.text for c in voice.calls] == ["I saw him."]


def test_two_shards_cast_the_same_voices_as_one_process(tmp_path: Path) -> None:
    timeline, subs = write_reel(tmp_path, CUES)
    one = tmp_path / "one" / "out.otio"
    run(timeline, subs, one, HumVoice())
    shards = tmp_path / "shards" / "out.otio"
    for index in (1, 2):
        run(timeline, subs, shards, HumVoice(), shard=Shard(index, 2))
    assert voices_of(shards) == voices_of(one)
    for wav in sorted((tmp_path / "one" / "out_media").glob("*.wav")):
        assert (tmp_path / "shards" / "out_media" / wav.name).read_bytes() == wav.read_bytes()


def test_a_chosen_speaker_voice_wins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    timeline, subs = write_reel(tmp_path, CUES)
    out = tmp_path / "out.otio"
    outcome = run(timeline, subs, out, HumVoice(), speaker_voices={"JONAS": "joe", "IDA": "joe~deep"})
    voices = voices_of(out)
    assert voices["JONAS"] == {"joe"} and voices["IDA"] == {"joe~deep"}
    assert voices["MARA"].isdisjoint({"joe", "joe~deep"})  # the chosen voices are nobody else's
    assert "VOICE   JONAS: hum:joe (chosen for this character)" in outcome.summary_table()
    same = run(timeline, subs, out, HumVoice(), settings=dataclasses.replace(outcome.options.settings, voice_id="joe"))
    assert "--voice: one voice for every character" in same.summary_table()


LONG_CUES = [
    ("MARA", "The harbour lights were out by the time we reached the pier, and nobody was waiting."),
    ("JONAS", "I told you once already, I am not going back to that house, not tonight, not ever."),
    ("IDA", "Somebody has to tell the others what happened before the morning boat comes in."),
    ("MARA", "Then you tell them, because I have said everything I am going to say about it."),
    ("JONAS", "You always leave the hard part to me, and then you wonder why I am tired."),
    ("IDA", "Nobody wonders anything in this town, they just talk until the story changes."),
]


def test_real_voices_three_characters_sound_like_three_people(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              piper_backend: Any, speaker_embedder: Any) -> None:
    """``revoice run`` with the real piper voice: three voices, said in ``--json``, far apart by d-vector.

    Measured: a character's two lines 0.80-0.91, two characters' lines 0.30-0.51 (different people measure
    0.03-0.62 on this encoder, revoice.engine.speaker).
    """
    import soundfile as sf

    timeline, subs = write_reel(tmp_path, LONG_CUES, every=7)
    out = tmp_path / "out.otio"
    assert main(["run", str(timeline), "--subs", str(subs), "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert not printed["failed"]
    assert [(v["name"], v["voice"], v["reason"]) for v in printed["voices"]] == [
        (name, f"piper:{voice}", "distinct stock voice; no original audio")
        for name, (voice,) in sorted(voices_of(out).items(), key=lambda item: ["MARA", "JONAS", "IDA"].index(item[0]))]
    assert len({v["voice"] for v in printed["voices"]}) == 3
    speech: dict[str, list[np.ndarray]] = {}
    for line in printed["lines"]:
        audio, rate = sf.read(line["wav"], dtype="float32")
        speech.setdefault(line["speaker"], []).append(audio)
    similarity = {(a, b): speaker_embedder.similarity(speech[a][0], rate, speech[b][1], rate)
                  for a, b in itertools.product(speech, repeat=2)}
    for name in speech:
        others = [similarity[name, other] for other in speech if other != name]
        assert max(others) < 0.65 < similarity[name, name], (name, similarity)
