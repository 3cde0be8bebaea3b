"""Nothing cut short is reused: a WAV that is not the one its sidecar describes is rendered again on resume,
by another shard's collect and by the take chooser; temporary files of a killed run are cleaned on the next.

No model: a stand-in voice hums 0.8 s per request and counts its calls.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf
from revoice.engine.model import DialogueLine, FrameRange
from revoice.engine.render import Revoicer, sidecar_path
from revoice.engine.voices.base import Synthesis, SynthesisRequest
from stand_in_voice import StandInVoice

from revoice.context import EngineContext
from revoice.options import Shard
from revoice.session import Session

RATE = 16000
SLOT_SECONDS = 2.8


class HumVoice(StandInVoice):
    """A stand-in voice: 0.8 s of hum for any text; counts calls."""

    def __init__(self) -> None:
        super().__init__("hum", languages=("en",), voices=("amy",), sample_rate=RATE)

    def sound(self, request: SynthesisRequest) -> Synthesis:
        t = np.arange(int(0.8 * RATE * request.duration_scale)) / RATE
        hum = 0.3 * np.sin(2 * np.pi * 140 * t) * np.sin(np.pi * t / t[-1])
        return Synthesis(audio=hum.astype(np.float32), sample_rate=RATE)


def make_line(line_id: str = "L0001", start: int = 0) -> DialogueLine:
    return DialogueLine(line_id=line_id, text="Give me the keys.", speaker="MARA", language="en",
                        record=FrameRange(start, int(SLOT_SECONDS * 25), 25.0), origin="test")


def data_chunk(path: Path) -> tuple[int, int]:
    """(offset, size) of the data chunk."""
    blob = path.read_bytes()
    pos = 12
    while pos + 8 <= len(blob):
        size = struct.unpack("<I", blob[pos + 4 : pos + 8])[0]
        if blob[pos : pos + 4] == b"data":
            return pos + 8, size
        pos += 8 + size + size % 2
    raise AssertionError("no data chunk")


def cut(path: Path, frames: int = 102) -> None:
    """Cut the file after ``frames`` 24-bit samples, as a copy or a write stopped short leaves it."""
    offset, _ = data_chunk(path)
    path.write_bytes(path.read_bytes()[: offset + 3 * frames])


def short_wav(path: Path, frames: int = 102) -> None:
    """A whole, valid WAV of ``frames`` samples in the render's place."""
    sf.write(str(path), np.zeros(frames, dtype=np.float32), 48000, subtype="PCM_24")


def damaged(path: Path) -> None:
    """Same length, other samples (bit rot, another file of the same length)."""
    offset, size = data_chunk(path)
    blob = bytearray(path.read_bytes())
    middle = offset + size // 2
    blob[middle : middle + 30] = bytes(255 - b for b in blob[middle : middle + 30])
    path.write_bytes(bytes(blob))


def emptied(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("spoil", [cut, short_wav, damaged, emptied])
def test_a_wav_that_is_not_the_rendered_one_is_rendered_again(tmp_path: Path, spoil: object) -> None:
    voice = HumVoice()
    revoicer = Revoicer(backend=voice)
    first = revoicer.render([make_line()], out_dir=tmp_path)
    wav = first.rendered[0].path
    good = wav.read_bytes()
    calls = len(voice.calls)
    assert calls > 0 and revoicer.render([make_line()], out_dir=tmp_path).cached == 1  # intact: reused
    assert len(voice.calls) == calls
    spoil(wav)  # type: ignore[operator]
    again = revoicer.render([make_line()], out_dir=tmp_path)
    assert again.cached == 0 and len(voice.calls) > calls and not again.failed
    assert sf.info(str(wav)).frames == make_line().slot_samples(48000) == again.rendered[0].slot_samples
    assert wav.read_bytes() == good  # the same render as before, whole


def test_the_sidecar_records_the_wav_s_length_and_samples_outside_the_key(tmp_path: Path) -> None:
    renders = [Revoicer(backend=HumVoice()).render([make_line()], out_dir=tmp_path / name).rendered[0]
               for name in ("a", "b")]
    entries = [json.loads(sidecar_path(r.path).read_text(encoding="utf-8"))["wav"] for r in renders]
    offset, size = data_chunk(renders[0].path)
    samples = renders[0].path.read_bytes()[offset : offset + size]
    assert [{k: e[k] for k in ("frames", "pcm_sha256")} for e in entries] == 2 * [{
        "frames": make_line().slot_samples(48000), "pcm_sha256": hashlib.sha256(samples).hexdigest()}]
    stat = renders[0].path.stat()
    assert entries[0]["stat"] == [stat.st_size, stat.st_mtime_ns, stat.st_ino]
    assert renders[0].path.read_bytes() == renders[1].path.read_bytes()
    stored = json.loads(sidecar_path(renders[0].path).read_text(encoding="utf-8"))["key"]
    assert stored == Revoicer(backend=HumVoice()).render_key(make_line())  # the entry is not in the key


def test_an_older_sidecar_without_the_entry_is_checked_by_length(tmp_path: Path) -> None:
    voice = HumVoice()
    revoicer = Revoicer(backend=voice)
    wav = revoicer.render([make_line()], out_dir=tmp_path).rendered[0].path
    sidecar = sidecar_path(wav)
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    del data["wav"]
    sidecar.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    assert revoicer.render([make_line()], out_dir=tmp_path).cached == 1  # whole: reused as before
    cut(wav)
    calls = len(voice.calls)
    again = revoicer.render([make_line()], out_dir=tmp_path)
    assert again.cached == 0 and len(voice.calls) > calls
    assert sf.info(str(wav)).frames == make_line().slot_samples(48000)
    assert "wav" in json.loads(sidecar.read_text(encoding="utf-8"))  # written anew, with the entry


def test_the_take_chooser_never_places_a_cut_take(tmp_path: Path) -> None:
    from revoice.takes import line_takes, with_take

    revoicer = Revoicer(backend=HumVoice())
    line = make_line()
    placed = revoicer.render([line], out_dir=tmp_path, takes=2).rendered[0]

    def key(take: int) -> str:
        return revoicer.render_key(line, take)

    assert [r.take for r in line_takes(tmp_path, line, 2, key) or []] == [1, 2]
    other = 2 if placed.take == 1 else 1
    assert with_take(placed, other) is not None
    cut(tmp_path / f"MARA_L0001_t{other}.wav")
    assert line_takes(tmp_path, line, 2, key) is None
    assert with_take(placed, other) is None


# -- through the session: another shard's lines, temporary files of a killed run --------------------------------


def scene(folder: Path) -> tuple[Path, Path]:
    """A 25 fps timeline with a 30 s picture clip and an SRT of four lines."""
    timeline = otio.schema.Timeline(name="scene", global_start_time=otio.opentime.RationalTime(90000, 25))
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    video.append(otio.schema.Clip(name="picture", media_reference=otio.schema.MissingReference(),
                                  source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, 25),
                                                                       otio.opentime.RationalTime(750, 25))))
    timeline.tracks.append(video)
    path = folder / "scene.otio"
    otio.adapters.write_to_file(timeline, str(path))
    cues = [(1.0, 3.8, "ANNA: I told you the bridge would hold."), (5.0, 7.8, "BEN: It held. We didn't."),
            (9.0, 11.8, "ANNA: Then we try again tomorrow."), (20.0, 22.8, "BEN: Fine.")]
    srt = "\n".join(f"{i}\n00:00:{a:06.3f} --> 00:00:{b:06.3f}\n{text}\n".replace(".", ",", 2)
                    for i, (a, b, text) in enumerate(cues, start=1))
    subtitles = folder / "scene.srt"
    subtitles.write_text(srt, encoding="utf-8")
    return path, subtitles


def test_another_shard_s_cut_wav_is_not_placed_and_its_shard_renders_it_again(tmp_path: Path) -> None:
    timeline, subtitles = scene(tmp_path)
    out = tmp_path / "cut_revoiced.otio"
    session = Session.open(timeline, subtitles=subtitles, out=out, context=EngineContext(voice=HumVoice()))
    first, second = Shard(1, 2), Shard(2, 2)
    theirs = [line for line in session.lines if second.owns(line)]
    assert theirs and len(theirs) < len(session.lines)
    done = session.render(session.options(profiles="off", shard=second))
    assert done.pending_shards > 0 and not out.exists()
    victim = done.batch.rendered[0].path
    cut(victim)
    mine = session.render(session.options(profiles="off", shard=first))
    assert mine.pending_shards == 1 and not out.exists()  # the cut WAV is not collected, nothing is placed
    again = session.render(session.options(profiles="off", shard=second))
    assert again.batch.cached == len(theirs) - 1 and out.exists() and again.pending_shards == 0
    assert sf.info(str(victim)).frames == round(2.8 * 48000)


def test_a_render_removes_what_a_killed_run_left_and_keeps_live_writes(tmp_path: Path) -> None:
    from revoice.engine.files import atomic_path

    timeline, subtitles = scene(tmp_path)
    out = tmp_path / "cut_revoiced.otio"
    session = Session.open(timeline, subtitles=subtitles, out=out, context=EngineContext(voice=HumVoice()))
    media, voices = session.layout.media_dir, session.layout.voices_dir
    media.mkdir()
    voices.mkdir()
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = _host_token()
    an_hour_ago = time.time() - 3600
    left: list[Path] = []
    for folder, name, inner in (
            (media, f".BEN_L0002_t1.wav.revoice-{host}-{gone.pid}-abcd1234.tmp", "BEN_L0002_t1.wav"),  # writer dead
            (tmp_path, f".cut_revoiced.otio.revoice-{host}-{gone.pid}-x_y_z123.tmp", "cut_revoiced.otio"),
            (voices, f".BEN.voice.json.revoice-0000beef-{os.getpid()}-qqqq1111.tmp", "BEN.voice.json"),
            (media, ".ANNA_L0001_t1.json.k2j4h5g6.tmp", "ANNA_L0001_t1.json")):  # older Revoice: no writer recorded
        staging = folder / name
        staging.mkdir()
        (staging / inner).write_bytes(b"half a fi")
        if "beef" in name or "k2j4" in name:  # another machine's, or an older Revoice's: judged by age
            for path in (staging, *staging.iterdir()):
                os.utime(path, (an_hour_ago, an_hour_ago))
        left.append(staging)
    keep = [media / "notes.tmp", tmp_path / ".cache.tmp"]
    keep[0].write_text("mine")
    keep[1].mkdir()
    fresh_elsewhere = voices / f".NELL.voice.json.revoice-0000beef-{os.getpid()}-rrrr2222.tmp"
    fresh_elsewhere.mkdir()  # another machine's write in flight: kept
    with atomic_path(media / "in_flight.json") as writing:
        writing.write_text("{}")
        session.render(session.options(profiles="off", line_ids=frozenset({"L0001"})))
        assert writing.exists()  # this process's own write in flight: kept
    assert [path for path in left if path.exists()] == []
    assert all(path.exists() for path in keep) and fresh_elsewhere.exists()


def _host_token() -> str:
    """This machine's mark in a staging folder's name (``.NAME.revoice-HOST-PID-XXXX.tmp``)."""
    from revoice.engine import files

    token: str = getattr(files, "_host_token", lambda: "00000000")()
    return token


def test_a_rerun_trusts_a_wav_whose_size_time_and_inode_are_as_recorded_without_hashing_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import revoice.engine.sidecars as sidecars

    revoicer = Revoicer(backend=HumVoice())
    wav = revoicer.render([make_line()], out_dir=tmp_path).rendered[0].path
    hashed: list[bool] = []
    facts = sidecars.wav_facts

    def spy(path: Path, *, hash_samples: bool = True) -> object:
        hashed.append(hash_samples)
        return facts(path, hash_samples=hash_samples)

    monkeypatch.setattr(sidecars, "wav_facts", spy)
    assert Revoicer(backend=HumVoice()).render([make_line()], out_dir=tmp_path).cached == 1
    assert hashed == [False]
    # a WAV written as late as its sidecar (a time step shared with a later write) is not trusted: hashed
    now = wav.stat().st_mtime_ns + sidecars.SETTLED_NS
    os.utime(wav, ns=(now, now))
    assert Revoicer(backend=HumVoice()).render([make_line()], out_dir=tmp_path).cached == 1
    assert hashed == [False, True]
