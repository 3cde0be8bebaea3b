"""The inaudible watermark: quiet, deterministic, found without alignment, robust to MP3 and a music bed
(10 dB under the speech, and the speech 10 dB under the music), and silent on clean real recordings
(issue 17: "every cloned voice marked").

Real audio only: speech from the moonshine-voice wheel (MIT; the demo's extra) and ../shared/corpus,
music from the pygame wheel (examples/data/house_lo.ogg, a house loop; dev extra, never imported).
"""

from __future__ import annotations

import importlib.util
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
from revoice.engine.dsp.watermark import (
    BAND_HZ,
    DETECTION_THRESHOLD,
    PERIOD_SAMPLES,
    STRENGTH_DB,
    detect_watermark,
    embed_watermark,
    reference_pattern,
)
from scipy.signal import resample_poly, welch

Audio = npt.NDArray[np.float64]
MUSIC_UNDER_DB = -10.0
"""The music bed's level relative to the speech (active RMS): the music 10 dB under the dialogue."""
SPEECH_UNDER_DB = 10.0
"""The other reading of the issue's "mixed 10 dB under music": the dialogue 10 dB under the music."""


def package_file(package: str, *parts: str) -> Path:
    """A data file shipped inside an installed package's folder (the package is not imported); skips without it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed (it ships the test recording)")
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path


def read_at(path: Path, rate: int) -> Audio:
    """``path`` as float64 mono at ``rate`` Hz (polyphase resampling)."""
    audio, native = sf.read(str(path), dtype="float64", always_2d=True)
    mono = np.asarray(audio.mean(axis=1), dtype=np.float64)
    if native == rate:
        return mono
    common = math.gcd(native, rate)
    return np.asarray(resample_poly(mono, rate // common, native // common), dtype=np.float64)


def speech_clips(rate: int = 48000, seconds: float = 4.0, count: int = 4) -> list[Audio]:
    """``count`` clips of real read speech (A Tale of Two Cities, moonshine-voice's two_cities.wav)."""
    speech = read_at(package_file("moonshine_voice", "assets", "two_cities.wav"), rate)
    size = int(seconds * rate)
    return [speech[i * size : (i + 1) * size] for i in range(count)]


def music_bed(rate: int, length: int) -> Audio:
    """pygame's house loop at ``rate``, looped to ``length`` samples."""
    music = read_at(package_file("pygame", "examples", "data", "house_lo.ogg"), rate)
    return np.resize(music, length)


def active_rms(x: Audio, rate: int) -> float:
    """RMS over the 20 ms frames within 50 dB of the loudest (the speech, not the slot's silence)."""
    size = int(0.02 * rate)
    frames = (np.asarray(x[: len(x) // size * size], dtype=np.float64).reshape(-1, size) ** 2).mean(axis=1)
    return float(np.sqrt(frames[frames > frames.max() * 1e-5].mean()))


def under_music(x: npt.NDArray[np.floating[Any]], rate: int, *, music_db: float = MUSIC_UNDER_DB) -> Audio:
    """``x`` with the music bed mixed in at ``music_db`` dB relative to it (negative: the music is quieter)."""
    speech, music = np.asarray(x, dtype=np.float64), music_bed(rate, len(x))
    return np.asarray(speech + music * (active_rms(speech, rate) / active_rms(music, rate) * 10 ** (music_db / 20)),
                      dtype=np.float64)


def mp3_round_trip(x: npt.NDArray[np.floating[Any]], rate: int, *, bit_rate: int = 64000) -> Audio:
    """``x`` encoded to MP3 (libmp3lame through PyAV, in memory) at ``bit_rate`` and decoded again."""
    av = pytest.importorskip("av")
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout="mono")
        stream.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(np.asarray(x, np.float32)[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as decoded:
        pieces = [frame.to_ndarray().reshape(-1) for frame in decoded.decode(audio=0)]
    return np.concatenate(pieces).astype(np.float64)


def level_db(x: Audio, reference: Audio) -> float:
    return 20 * math.log10(math.sqrt(float(np.mean(np.square(x)))) / math.sqrt(float(np.mean(np.square(reference)))))


# -- the mark itself ------------------------------------------------------------------------------

def test_reference_is_keyed_flat_in_its_band_and_unit_rms() -> None:
    a, b = reference_pattern(), reference_pattern(b"another key")
    assert a.shape == (PERIOD_SAMPLES,) and float(np.sqrt(np.mean(a * a))) == pytest.approx(1.0)
    assert np.array_equal(a, reference_pattern())  # a fixed function of the key
    assert abs(float(np.dot(a, b))) / PERIOD_SAMPLES < 0.05
    spectrum = np.abs(np.fft.rfft(a))
    freqs = np.fft.rfftfreq(PERIOD_SAMPLES, 1 / 24000)
    inside = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    assert np.ptp(spectrum[inside]) < 1e-6 * spectrum[inside].max() and spectrum[~inside].max() < 1e-9


def test_embedding_is_deterministic_quiet_and_keeps_silence() -> None:
    clip = speech_clips(count=1)[0]
    marked = embed_watermark(clip, 48000)
    assert marked.dtype == np.float32 and marked.shape == clip.shape
    assert marked.tobytes() == embed_watermark(clip, 48000).tobytes()  # renders are seeded and resumable
    difference = marked.astype(np.float64) - clip
    assert -23.0 < level_db(difference, clip) < -19.0  # the mark sits ~20 dB under the speech
    freqs, speech_power = welch(clip, 48000, nperseg=2048)
    mark_power = welch(difference, 48000, nperseg=2048)[1]
    for low, high, expected in [(500, 2500, -20.5), (6500, 9500, -12.0)]:  # closer to the noise-like top
        band = (freqs >= low) & (freqs <= high)
        assert abs(10 * math.log10(mark_power[band].sum() / speech_power[band].sum()) - expected) < 2.0, low
    assert not np.any(embed_watermark(np.zeros(48000), 48000))  # digital silence stays silent
    assert embed_watermark(np.zeros(0), 48000).size == 0
    with pytest.raises(ValueError, match="mono"):
        embed_watermark(np.zeros((2, 100)), 48000)


def test_the_mark_does_not_lead_an_onset() -> None:
    """After silence the mark starts with the speech's own frame (less than a frame early), not before it."""
    clip = speech_clips(count=1)[0]
    padded = np.concatenate([np.zeros(24000), clip])
    difference = embed_watermark(padded, 48000).astype(np.float64) - padded
    onset = int(np.argmax(np.abs(padded) > 1e-4 * np.abs(clip).max()))
    first = int(np.argmax(np.abs(difference) > 1e-6 * np.abs(clip).max()))
    assert 0 <= (onset - first) / 48000 < 0.025


@pytest.mark.parametrize("rate", [24000, 44100, 48000, 96000])
def test_found_in_real_speech_at_every_rate_and_not_before(rate: int) -> None:
    clip = speech_clips(rate, count=1)[0]
    clean = detect_watermark(clip, rate)
    marked = detect_watermark(embed_watermark(clip, rate), rate)
    assert marked.present and marked.score > 2 * DETECTION_THRESHOLD and marked.offset_seconds == 0.0
    assert not clean.present and clean.score < 6.0


def test_found_without_alignment_after_cuts_delays_polarity_and_16_bit() -> None:
    clip = speech_clips(count=1, seconds=6.0)[0]
    marked = embed_watermark(clip, 48000).astype(np.float64)
    variants = {
        "head cut off": marked[17_777:],
        "delayed": np.concatenate([np.zeros(1234), marked]),
        "inverted": -marked,
        "16-bit": np.round(marked * 32767) / 32767,
        "resampled to 44.1 kHz": resample_poly(marked, 147, 160),
    }
    for name, audio in variants.items():
        rate = 44100 if "44.1" in name else 48000
        assert detect_watermark(audio, rate).present, name


def test_another_key_does_not_find_it() -> None:
    for clip in speech_clips(count=2):
        marked = embed_watermark(clip, 48000)
        assert not detect_watermark(marked, 48000, key=b"someone else's key").present
        assert detect_watermark(embed_watermark(clip, 48000, key=b"k2"), 48000, key=b"k2").present


def test_a_flat_mark_as_version_1_made_it_is_still_found() -> None:
    """Takes rendered before the mark grew stronger above 6 kHz still verify."""
    clip = speech_clips(count=1)[0]
    flat = embed_watermark(clip, 48000, high_strength_db=STRENGTH_DB)
    assert detect_watermark(flat, 48000).score > 2 * DETECTION_THRESHOLD
    assert detect_watermark(flat, 48000).score < detect_watermark(embed_watermark(clip, 48000), 48000).score


def test_short_and_empty_audio_score_zero() -> None:
    assert detect_watermark(np.zeros(0), 48000).score == 0.0
    assert detect_watermark(np.zeros(100), 48000).score == 0.0
    assert not detect_watermark(np.zeros(48000), 48000).present


# -- robustness: MP3 and a music bed ------------------------------------------------------------------

def test_survives_mp3_at_64_kbps() -> None:
    for clip in speech_clips(count=4):
        decoded = mp3_round_trip(embed_watermark(clip, 48000), 48000)
        assert detect_watermark(decoded, 48000).score > 1.5 * DETECTION_THRESHOLD
        assert not detect_watermark(mp3_round_trip(clip, 48000), 48000).present


@pytest.mark.parametrize("music_db", [MUSIC_UNDER_DB, SPEECH_UNDER_DB], ids=["music under speech", "speech under music"])
def test_survives_a_music_bed_10_db_either_way_and_then_mp3(music_db: float) -> None:
    for clip in speech_clips(count=4):
        mixed = under_music(embed_watermark(clip, 48000), 48000, music_db=music_db)
        assert detect_watermark(mixed, 48000).score > 2 * DETECTION_THRESHOLD
        assert detect_watermark(mp3_round_trip(mixed, 48000), 48000).score > 1.5 * DETECTION_THRESHOLD
        assert not detect_watermark(under_music(clip, 48000, music_db=music_db), 48000).present


def clean_recordings() -> list[tuple[str, Path]]:
    """Real recordings shipped in installed wheels, and ../shared/corpus/voices when it is there."""
    found: list[tuple[str, Path]] = []
    for package, parts in [("moonshine_voice", ("assets", "two_cities.wav")),
                           ("moonshine_voice", ("assets", "endgame_nagg_nell.wav")),
                           ("moonshine_voice", ("assets", "beckett.wav")),
                           ("moonshine_voice", ("assets", "clone-test.wav")),
                           ("pygame", ("examples", "data", "house_lo.ogg"))]:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            path = Path(next(iter(spec.submodule_search_locations)), *parts)
            if path.is_file():
                found.append((package, path))
    corpus = Path(__file__).parents[2].parent / "shared" / "corpus" / "voices"
    if corpus.is_dir():
        found += [("shared", path) for path in sorted(corpus.iterdir()) if path.suffix in (".wav", ".flac")]
    return found


def test_no_false_positives_on_clean_real_recordings() -> None:
    """Every 2 s of every real recording at hand (50+ clips with ../shared, 46 from the wheels alone)."""
    recordings = clean_recordings()
    if not recordings:
        pytest.skip("no real recordings installed (pip install -e '.[dev]')")
    clips: list[tuple[str, Audio, int]] = []
    for _, path in recordings:
        audio, rate = sf.read(str(path), dtype="float64", always_2d=True)
        mono = audio.mean(axis=1)
        clips += [(f"{path.name}@{start // rate}s", mono[start : start + 2 * rate], rate)
                  for start in range(0, len(mono) - rate, 2 * rate)]
    if any(source == "shared" for source, _ in recordings):
        assert len(clips) >= 50
    scores = {name: detect_watermark(clip, rate).score for name, clip, rate in clips}
    assert max(scores.values()) < DETECTION_THRESHOLD - 0.5, max(scores.items(), key=lambda item: item[1])


# -- a reel rendered with the real voice ---------------------------------------------------------------

REEL = (
    "Give me the keys. I'll open it myself.",
    "We were never supposed to come back here, not after what happened last winter.",
    "Quiet. Did you hear that?",
    "The shipment arrives at dawn, and nobody touches it until I say so.",
    "Sixty-two dollars and forty cents. That's all we have left.",
    "Don't look at me like that.",
)


@pytest.mark.slow
def test_every_line_of_a_reel_is_marked_and_survives_mp3_and_music_either_way(piper_backend: object, tmp_path: Path) -> None:
    from revoice.engine.dsp.bwf import read_provenance
    from revoice.engine.model import DialogueLine, FrameRange
    from revoice.engine.render import RenderSettings, Revoicer
    from revoice.engine.voices.base import VoiceBackend
    from revoice.engine.watermark import WATERMARK_SCHEME, check_file

    assert isinstance(piper_backend, VoiceBackend)
    lines = [DialogueLine(line_id=f"L{i:04d}", text=text, speaker="MARA", language="en",
                          record=FrameRange(100 * i, int(25 * (0.45 * len(text.split()) + 0.8)), 25.0),
                          timecode_start_frames=90000, sources=(), origin="test")
             for i, text in enumerate(REEL, start=1)]
    result = Revoicer(backend=piper_backend, settings=RenderSettings()).render(lines, out_dir=tmp_path / "on")
    assert not result.failed and len(result.rendered) == len(REEL)
    for rendered in result.rendered:
        check = check_file(rendered.path)
        assert check.marked, rendered.path.name
        assert check.provenance is not None and check.provenance.watermark == WATERMARK_SCHEME
        assert (check.provenance.backend, check.provenance.voice, check.provenance.line_id) == (
            "piper", "joe", rendered.line_id)
        audio, rate = sf.read(str(rendered.path), dtype="float64")
        assert detect_watermark(mp3_round_trip(audio, rate), rate).present, f"{rendered.path.name} after MP3"
        for music_db in (MUSIC_UNDER_DB, SPEECH_UNDER_DB):
            mixed = under_music(audio, rate, music_db=music_db)
            assert detect_watermark(mixed, rate).score > 1.5 * DETECTION_THRESHOLD, (rendered.path.name, music_db)
            assert detect_watermark(mp3_round_trip(mixed, rate), rate).present, (rendered.path.name, music_db, "MP3")

    off = Revoicer(backend=piper_backend, settings=RenderSettings(watermark=False))
    assert off.render_key(lines[0]) != Revoicer(backend=piper_backend).render_key(lines[0])
    unmarked = off.render(lines[:2], out_dir=tmp_path / "off").rendered
    for rendered in unmarked:
        assert not check_file(rendered.path).marked
        provenance = read_provenance(rendered.path)
        assert provenance is not None and provenance.watermark is None


# -- provenance of a render --------------------------------------------------------------------------

class _ProfileVoice:
    """A stand-in for the characters' backend: a stock voice ``joe`` and the profile ``NELL`` (consent granted)."""

    def __init__(self) -> None:
        from revoice.engine.characters.profile import Consent

        self.profiles = {"NELL": type("Profile", (), {"consent": Consent(
            status="granted", by="A. Editor", date="2026-11-21", scope="this production")})()}

    @property
    def spec(self) -> object:
        return type("Spec", (), {"name": "profile+piper"})()

    def voices(self) -> list[object]:
        return []

    def synthesize(self, request: object) -> object:
        raise NotImplementedError

    def voice_key(self, voice_id: str) -> str | None:
        return None

    def voice_report(self, voice_id: str, language: str) -> dict[str, object] | None:
        if voice_id != "NELL":
            return None
        return {"name": "NELL", "kind": "tint", "key": "ab12", "base_backend": "piper", "base_voice": "joe",
                "consent": "granted"}


def test_render_provenance_names_the_profile_and_its_consent() -> None:
    from revoice.engine.watermark import WATERMARK_SCHEME, render_provenance

    backend: Any = _ProfileVoice()
    profiled = render_provenance(backend=backend, voice_id="NELL", language="en", line_id="L0002",
                                 render_key="k" * 64, watermarked=True)
    assert (profiled.backend, profiled.voice, profiled.voice_profile, profiled.voice_kind) == (
        "profile+piper", "NELL", "NELL", "tint")
    assert (profiled.voice_profile_key, profiled.base_voice, profiled.watermark) == (
        "ab12", "piper/joe", WATERMARK_SCHEME)
    assert (profiled.consent, profiled.consent_by, profiled.consent_date, profiled.consent_scope) == (
        "granted", "A. Editor", "2026-11-21", "this production")
    stock = render_provenance(backend=backend, voice_id="joe", language="en", line_id="L0001", render_key="k",
                              watermarked=False)
    assert stock.voice_kind == "stock" and stock.voice_profile is None and stock.consent is None
    assert stock.watermark is None and stock.ai_generated and stock.tool == "Revoice"
