"""Converter plugins: discovery, broken plugins, every reason when none fits, lazy loading."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import numpy as np
import pytest
from revoice.engine.conversion import registry
from revoice.engine.conversion.base import ConverterOptions, ConverterSpec, ConverterUnavailable, VoiceConverter
from revoice.engine.conversion.registry import (
    ENTRY_POINT_GROUP,
    BrokenConverterSpec,
    LazyConverter,
    choose_converter,
    describe_converters,
    discover_converters,
    load_converter,
)
from revoice.engine.model import AudioArray


class EchoConverter:
    def __init__(self, spec: ConverterSpec) -> None:
        self.spec = spec

    def convert(self, *, audio: AudioArray, sample_rate: int, reference_audio: AudioArray,
                reference_sample_rate: int) -> AudioArray:
        return audio


def make_spec(name: str, *, reason: str | None = None, gpu: bool = False, commercial: bool = True,
              built: list[str] | None = None) -> ConverterSpec:
    def factory(_options: ConverterOptions) -> VoiceConverter:
        if built is not None:
            built.append(name)
        return EchoConverter(spec)

    spec = ConverterSpec(name=name, display_name=name.title(), sample_rate=16000, needs_gpu=gpu,
                         licence="MIT" if commercial else "CC-BY-NC-4.0", commercial_use=commercial,
                         description="test", availability=lambda _o: reason, factory=factory)
    return spec


def test_installed_converters_are_discovered() -> None:
    names = [spec.name for spec in discover_converters()]
    assert "openvoice" in names
    assert all(not isinstance(spec, BrokenConverterSpec) for spec in discover_converters())


def test_none_fits_lists_every_converters_reason_in_one_message() -> None:
    specs = [make_spec("alpha", reason="weights file /w/alpha.pth is missing"), make_spec("beta", gpu=True),
             make_spec("gamma", commercial=False)]
    with pytest.raises(ConverterUnavailable) as caught:
        choose_converter(specs, options=ConverterOptions(), commercial=True)
    message = str(caught.value)
    assert message.startswith("No voice converter fits (device='cpu', commercial)")
    assert "alpha: weights file /w/alpha.pth is missing" in message
    assert "beta: needs a GPU but device is 'cpu'" in message
    assert "gamma: its weights do not allow commercial use (CC-BY-NC-4.0)" in message


def test_first_fitting_converter_is_chosen_and_by_name() -> None:
    specs = [make_spec("alpha", reason="no weights"), make_spec("beta"), make_spec("gamma")]
    assert choose_converter(specs, options=ConverterOptions()).name == "beta"
    assert choose_converter(specs, options=ConverterOptions(), name="gamma").name == "gamma"
    with pytest.raises(ConverterUnavailable, match="alpha: not the requested converter 'delta'"):
        choose_converter(specs, options=ConverterOptions(), name="delta")
    with pytest.raises(ConverterUnavailable, match="no converters installed"):
        choose_converter([], options=ConverterOptions())


def test_a_broken_entry_point_does_not_hide_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [EntryPoint("aaa-broken", "no_such_module_anywhere:SPEC", ENTRY_POINT_GROUP),
               EntryPoint("bbb-wrong-type", "revoice.engine.conversion.registry:ENTRY_POINT_GROUP", ENTRY_POINT_GROUP),
               EntryPoint("openvoice", "revoice.engine.conversion.openvoice_converter:SPEC", ENTRY_POINT_GROUP)]

    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        assert group == ENTRY_POINT_GROUP
        return entries

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    specs = discover_converters()
    assert [spec.name for spec in specs] == ["aaa-broken", "bbb-wrong-type", "openvoice"]
    assert isinstance(specs[0], BrokenConverterSpec) and "ModuleNotFoundError" in specs[0].error
    assert isinstance(specs[1], BrokenConverterSpec) and "expected a ConverterSpec, got str" in specs[1].error
    assert not isinstance(specs[2], BrokenConverterSpec)
    with pytest.raises(ConverterUnavailable) as caught:
        choose_converter(specs, options=ConverterOptions(weights_dir="/nowhere/at/all"))
    message = str(caught.value)
    assert "aaa-broken: plugin entry point 'aaa-broken = no_such_module_anywhere:SPEC' is broken" in message
    assert "openvoice: OpenVoice V2 converter weights folder /nowhere/at/all does not exist" in message
    rows = describe_converters(specs, ConverterOptions())
    assert [row["available"] for row in rows] == [False, False, rows[2]["available"]]
    with pytest.raises(ConverterUnavailable, match="aaa-broken"):
        load_converter(specs[0], ConverterOptions())


def test_extra_specs_replace_or_append() -> None:
    found = discover_converters([make_spec("openvoice", reason="replaced"), make_spec("zeta")])
    names = [spec.name for spec in found]
    assert names.count("openvoice") == 1 and names[-1] == "zeta"
    assert found[names.index("openvoice")].availability(ConverterOptions()) == "replaced"


def test_a_crashing_availability_check_is_a_reason() -> None:
    def crash(_options: ConverterOptions) -> str | None:
        raise OSError("disk gone")

    spec = ConverterSpec(name="crashy", display_name="c", sample_rate=1, needs_gpu=False, licence="", commercial_use=True,
                         description="", availability=crash, factory=lambda _o: EchoConverter(spec))
    with pytest.raises(ConverterUnavailable, match="crashy: availability check failed: OSError: disk gone"):
        choose_converter([spec], options=ConverterOptions())


def test_lazy_converter_loads_once_at_the_first_conversion() -> None:
    built: list[str] = []
    lazy = LazyConverter(make_spec("alpha", built=built), ConverterOptions())
    assert lazy.spec.name == "alpha" and not lazy.is_loaded and built == []
    audio = np.ones(10, np.float32)
    for _ in range(2):
        out: Any = lazy.convert(audio=audio, sample_rate=16000, reference_audio=audio, reference_sample_rate=16000)
        assert out is audio
    assert lazy.is_loaded and built == ["alpha"]
    failing = LazyConverter(make_spec("beta", reason="weights missing"), ConverterOptions())
    with pytest.raises(ConverterUnavailable, match="beta: weights missing"):
        failing.convert(audio=audio, sample_rate=16000, reference_audio=audio, reference_sample_rate=16000)
