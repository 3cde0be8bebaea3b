"""Media reads land on the file's own samples: encoder priming, seek pre-roll, picture-relative time.

Each file is written here with PyAV from a known signal: silence with short
Hann-windowed noise bursts at exact sample positions. A read at ``start``
must hold the signal's samples from ``round(start * rate)``; the offset is
the lag of the cross-correlation peak between what came back and that.
Tolerances: PCM is sample exact (lag 0 and the 16-bit values back); AAC and
MP3 in MP4/MOV/M4A and raw MP3 within 2 samples (0.05 ms; measured 0);
Matroska within half a millisecond, its timestamps being whole milliseconds.
Before the fixes a raw MP3 decoded by PyAV read 1105 samples (23-25 ms)
early, an MPEG-TS or edit-list-less MP4 21-83 ms off, audio starting after
the picture was read from its own first sample, and the first AAC/MP3 frame
after a seek came out wrong (errors the size of the signal).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from revoice.engine.original import read_media_audio

BURSTS = (0.31, 0.74, 1.02, 1.51)
"""Burst starts in seconds; 10 ms each."""
SECONDS = 2.0
READ_SECONDS = 0.9
STARTS = (0.0, 0.7315)
"""A read from the top, and one from an offset on no frame or packet boundary (just before a burst)."""


def burst_signal(rate: int) -> np.ndarray:
    """The known mono signal (peaks below 0.6: no clipping in any codec)."""
    signal = np.zeros(int(SECONDS * rate), dtype=np.float32)
    rng = np.random.default_rng(7)
    length = int(0.01 * rate)
    for start in BURSTS:
        at = int(round(start * rate))
        signal[at : at + length] = 0.15 * np.clip(rng.standard_normal(length), -3.5, 3.5) * np.hanning(length)
    return signal


def lag_of(got: np.ndarray, want: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Samples by which ``got`` is late against ``want`` (negative: early), and the normalised peak."""
    n = min(got.size, want.size)
    g, w = got[:n].astype(np.float64), want[:n].astype(np.float64)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(g, size) * np.conj(np.fft.rfft(w, size)), size)
    lags = np.r_[np.arange(0, max_lag + 1), np.arange(-max_lag, 0)]
    values = np.r_[corr[: max_lag + 1], corr[size - max_lag :]]
    best = int(np.argmax(values))
    return int(lags[best]), float(values[best] / (np.linalg.norm(g) * np.linalg.norm(w) + 1e-12))


def need_encoder(name: str) -> None:
    try:
        av.codec.Codec(name, "w")
    except Exception:  # av.codec.codec.UnknownCodecError and kin
        pytest.skip(f"this FFmpeg has no {name} encoder")


def write_media(path: Path, codec: str, rate: int, signal: np.ndarray, *, channels: int = 1,
                picture: bool = False, audio_delay: int = 0, container_format: str | None = None,
                options: dict[str, str] | None = None) -> None:
    """Encode ``signal`` (the same on every channel) at its sample positions, with PyAV.

    ``picture`` adds a 24 fps H.264 stream with B-frames, the audio's sample k
    stamped at picture time ``(k + audio_delay) / rate``.
    """
    need_encoder(codec)
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w", format=container_format, options=options or {}) as container:
        video = None
        if picture:
            need_encoder("libx264")
            video = container.add_stream("libx264", rate=24)
            video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
            video.options = {"bf": "2", "g": "12"}
        audio = container.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(audio, av.AudioStream)
        sample_format = audio.codec_context.format
        assert sample_format is not None
        size = audio.codec_context.frame_size or 1024
        planar = np.repeat(signal[None, :], channels, axis=0)
        next_frame = 0
        for at in range(0, signal.size, size):
            while video is not None and next_frame / 24 <= (at + size) / rate:
                image = np.full((64, 64, 3), (next_frame * 9) % 256, dtype=np.uint8)
                picture_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                picture_frame.pts, picture_frame.time_base = next_frame, Fraction(1, 24)
                container.mux(video.encode(picture_frame))
                next_frame += 1
            chunk = planar[:, at : at + size]
            if sample_format.name.startswith("s16"):
                chunk = np.round(chunk * 32767).astype(np.int16)
            elif sample_format.name.startswith("s32"):
                chunk = np.round(chunk * 2147483647.0).astype(np.int32)
            if not sample_format.is_planar:
                chunk = chunk.T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=sample_format.name, layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = rate, at + audio_delay, Fraction(1, rate)
            container.mux(audio.encode(frame))
        if video is not None:
            container.mux(video.encode(None))
        container.mux(audio.encode(None))


CASES = [
    # codec, suffix, channels, lag tolerance in samples (None: sample exact)
    pytest.param("pcm_s16le", "mov", 2, None, id="pcm-mov"),
    pytest.param("aac", "mp4", 1, 2, id="aac-mp4"),
    pytest.param("aac", "m4a", 2, 2, id="aac-m4a"),
    pytest.param("aac", "mov", 1, 2, id="aac-mov"),
    pytest.param("mp3", "mp4", 2, 2, id="mp3-mp4"),
    pytest.param("mp3", "mp3", 1, 2, id="mp3-raw"),
]


def check_reads(path: Path, signal: np.ndarray, rate: int, tolerance: int | None, *, delay: int = 0) -> None:
    """Every read in STARTS lands on ``signal`` (shifted ``delay`` samples later in the file)."""
    in_file = np.concatenate([np.zeros(delay, dtype=np.float32), signal])
    for start in STARTS:
        audio, got_rate = read_media_audio(path, start_seconds=start, duration_seconds=READ_SECONDS)
        assert got_rate == rate and audio.dtype == np.float32
        assert audio.shape == (int(round(READ_SECONDS * rate)),)
        first = int(round(start * rate))
        want = in_file[first : first + audio.size]
        lag, peak = lag_of(audio, want, max_lag=int(0.1 * rate))
        if tolerance is None:
            assert lag == 0, f"read at {start} s is {lag} samples late"
            assert np.max(np.abs(audio - want)) < 1e-4
        else:
            assert abs(lag) <= tolerance, f"read at {start} s is {lag} samples ({1000 * lag / rate:.2f} ms) late"
            assert peak > 0.6  # the bursts came through the codec


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize(("codec", "suffix", "channels", "tolerance"), CASES)
def test_bursts_land_on_their_samples_through_each_codec(
        tmp_path: Path, codec: str, suffix: str, channels: int, tolerance: int | None, rate: int) -> None:
    signal = burst_signal(rate)
    path = tmp_path / f"take.{suffix}"
    write_media(path, codec, rate, signal, channels=channels)
    check_reads(path, signal, rate, tolerance)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_raw_mp3_through_pyav_counts_from_after_its_priming(
        tmp_path: Path, rate: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where libsndfile cannot read MP3, FFmpeg's MP3 stream starts 1105 samples in (LAME delay + 529)."""
    signal = burst_signal(rate)
    path = tmp_path / "take.mp3"
    write_media(path, "mp3", rate, signal)
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.start_time is not None and stream.time_base is not None
        assert stream.start_time * stream.time_base * rate == 1105  # what the old absolute-pts read was off by

    def no_soundfile(*args: object, **kwargs: object) -> None:
        raise RuntimeError("this libsndfile cannot read MP3")

    monkeypatch.setattr(sf, "SoundFile", no_soundfile)
    check_reads(path, signal, rate, tolerance=2)


@pytest.mark.parametrize(("codec", "suffix"), [("aac", "m4a"), ("mp3", "mp4")])
def test_a_read_after_a_seek_decodes_its_first_frame_whole(tmp_path: Path, codec: str, suffix: str) -> None:
    """Starting in or just after a burst gives the samples a read from the top gives (pre-roll before the seek).

    A bare seek decodes the frame holding the start without the one before it:
    where that one had sound the start comes out wrong.
    """
    rate = 48000
    signal = burst_signal(rate)
    path = tmp_path / f"take.{suffix}"
    write_media(path, codec, rate, signal)
    whole, _ = read_media_audio(path)
    for start in (burst + 0.004 * k for burst in BURSTS for k in range(8)):
        audio, _ = read_media_audio(path, start_seconds=start, duration_seconds=0.1)
        first = int(round(start * rate))
        assert np.max(np.abs(audio - whole[first : first + audio.size])) < 1e-4


@pytest.mark.parametrize("rate", [44100, 48000])
def test_audio_that_starts_after_the_picture_keeps_its_offset(tmp_path: Path, rate: int) -> None:
    """QuickTime with picture and PCM 0.1 s late: a read from 0 s starts with 0.1 s of silence."""
    signal = burst_signal(rate)
    path = tmp_path / "take.mov"
    delay = rate // 10
    write_media(path, "pcm_s16le", rate, signal, picture=True, audio_delay=delay)
    check_reads(path, signal, rate, tolerance=None, delay=delay)


@pytest.mark.parametrize(("suffix", "container_format", "options"), [
    pytest.param("ts", "mpegts", None, id="mpegts"),  # ADTS: priming kept, stamped before the picture
    pytest.param("mp4", None, {"use_editlist": "0"}, id="mp4-no-edit-list"),
    pytest.param("mov", None, None, id="mov"),
])
def test_aac_beside_a_picture_lands_on_the_picture_time(
        tmp_path: Path, suffix: str, container_format: str | None, options: dict[str, str] | None) -> None:
    """Time 0 is the first picture frame, whatever the audio stream's own first timestamp."""
    rate = 48000
    signal = burst_signal(rate)
    path = tmp_path / f"take.{suffix}"
    write_media(path, "aac", rate, signal, picture=True, container_format=container_format, options=options)
    check_reads(path, signal, rate, tolerance=2)


def test_matroska_lands_within_its_millisecond_timestamps(tmp_path: Path) -> None:
    rate = 48000
    signal = burst_signal(rate)
    path = tmp_path / "take.mkv"
    write_media(path, "aac", rate, signal, picture=True)
    check_reads(path, signal, rate, tolerance=rate // 2000)


def test_plain_audio_files_stay_with_soundfile_and_sample_exact(tmp_path: Path) -> None:
    rate = 44100
    signal = burst_signal(rate)
    path = tmp_path / "take.wav"
    sf.write(str(path), np.stack([signal, signal], axis=1), rate, subtype="PCM_24")
    check_reads(path, signal, rate, tolerance=None)


def test_undecodable_originals_are_warned_about_once_each(tmp_path: Path) -> None:
    """Issue 17: a missing original was warned about, one that does not decode was dropped in silence."""
    from revoice.engine.model import DialogueLine, FrameRange, SourceAudio
    from revoice.engine.original import undecodable_media

    rate = 48000
    good = tmp_path / "good.wav"
    sf.write(str(good), burst_signal(rate), rate)
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    truncated = tmp_path / "cut.mp4"
    write_media(truncated, "aac", rate, burst_signal(rate))
    truncated.write_bytes(truncated.read_bytes()[:200])

    def source(path: Path | None, clip: str) -> SourceAudio:
        return SourceAudio(clip_name=clip, track_name="A1", media_url=path.name if path else "gone.wav",
                           media_path=path, source_start_seconds=0.0, duration_seconds=1.0,
                           offset_in_line_seconds=0.0)

    sources = (source(good, "good"), source(text, "notes"), source(truncated, "cut"), source(None, "gone"))
    lines = [DialogueLine(line_id=f"L000{n}", text="Hi.", speaker="A", language="en",
                          record=FrameRange(25 * n, 25, 25.0), timecode_start_frames=0, sources=sources, origin="test")
             for n in (1, 2)]
    warnings = undecodable_media(lines)
    assert [w.split(" (")[0] for w in warnings] == ["media cannot be decoded: notes.wav",
                                                    "media cannot be decoded: cut.mp4"]
    assert all("clip '" in w and "on track 'A1'" in w and "without the original audio" in w and "\n" not in w
               for w in warnings)
