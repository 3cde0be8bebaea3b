"""Backend discovery, choice and description (no model is loaded here)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from importlib.metadata import EntryPoint

import numpy as np
import pytest
from revoice.engine.voices.base import (
    BackendOptions,
    BackendSpec,
    BackendUnavailable,
    Synthesis,
    SynthesisRequest,
    VoiceBackend,
    VoiceInfo,
)
from revoice.engine.voices.registry import (
    ENTRY_POINT_GROUP,
    BrokenBackendSpec,
    choose_backend,
    describe_backends,
    discover_backends,
    load_backend,
    spec_from_entry_point,
)

CPU = BackendOptions(device="cpu")
CUDA = BackendOptions(device="cuda")


class ToneBackend:
    """A real, tiny backend: a 220 Hz tone, 0.1 s per character, at 8 kHz."""

    def __init__(self, spec: BackendSpec) -> None:
        self._spec = spec

    @property
    def spec(self) -> BackendSpec:
        return self._spec

    def voices(self) -> Sequence[VoiceInfo]:
        return self._spec.voice_list()

    def synthesize(self, request: SynthesisRequest) -> Synthesis:
        n = int(0.1 * 8000 * len(request.text) * request.duration_scale)
        t = np.arange(n, dtype=np.float32) / 8000
        return Synthesis((0.1 * np.sin(2 * math.pi * 220 * t)).astype(np.float32), 8000)


def tone_spec(name: str, *, needs_gpu: bool = False, missing: str | None = None, commercial: bool = True,
              note: str = "test tone, no model weights") -> BackendSpec:
    """A BackendSpec whose factory builds a ToneBackend; ``missing`` makes availability fail."""

    def availability(_options: BackendOptions) -> str | None:
        return None if missing is None else f"{missing} is not installed: pip install {missing}"

    def factory(_options: BackendOptions) -> VoiceBackend:
        return ToneBackend(spec)

    spec = BackendSpec(
        name=name,
        display_name=name.title(),
        languages=("fr", "de"),
        sample_rate=8000,
        native_duration_control=True,
        needs_gpu=needs_gpu,
        licence="MIT",
        description="test tone",
        availability=availability,
        factory=factory,
        voice_list=lambda: (VoiceInfo("beep", ("fr",)),),
        commercial_use=commercial,
        commercial_note=note,
    )
    return spec


def test_entry_point_discovery_finds_piper() -> None:
    specs = discover_backends()
    piper = [s for s in specs if s.name == "piper"]
    assert len(piper) == 1 and not isinstance(piper[0], BrokenBackendSpec)
    assert piper[0].supports_language("en") and piper[0].sample_rate == 22050


def test_extra_specs_are_added_and_replace_by_name() -> None:
    gpu = tone_spec("gputone", needs_gpu=True)
    specs = discover_backends(extra=[gpu])
    assert specs[-1] is gpu
    fake_piper = tone_spec("piper")
    assert [s for s in discover_backends(extra=[fake_piper]) if s.name == "piper"] == [fake_piper]


def test_broken_entry_point_is_a_reason_not_a_crash() -> None:
    bad = spec_from_entry_point(EntryPoint("ghost", "no_such_module_xyz:SPEC", ENTRY_POINT_GROUP))
    wrong = spec_from_entry_point(EntryPoint("wrong", "math:pi", ENTRY_POINT_GROUP))
    assert isinstance(bad, BrokenBackendSpec) and "ModuleNotFoundError" in bad.error
    assert isinstance(wrong, BrokenBackendSpec) and "expected a BackendSpec" in wrong.error
    with pytest.raises(BackendUnavailable, match="ghost"):
        load_backend(bad, CPU)
    with pytest.raises(BackendUnavailable) as info:
        choose_backend([bad, wrong], language="en", options=CPU)
    assert "ghost" in str(info.value) and "wrong" in str(info.value)


def test_unknown_language_lists_every_backend_and_reason() -> None:
    specs = discover_backends(extra=[tone_spec("gputone", needs_gpu=True), tone_spec("nodeps", missing="foo")])
    with pytest.raises(BackendUnavailable) as info:
        choose_backend(specs, language="xx", options=CPU)
    lines = str(info.value).splitlines()
    assert "xx" in lines[0]
    for spec in specs:
        (line,) = [ln for ln in lines[1:] if ln.strip().startswith(f"{spec.name}:")]
        assert "does not speak 'xx'" in line
    assert any("needs a GPU" in ln and "gputone" in ln for ln in lines)
    assert any("foo is not installed" in ln and "nodeps" in ln for ln in lines)


def test_gpu_spec_is_refused_on_cpu_and_works_on_cuda() -> None:
    gpu = tone_spec("gputone", needs_gpu=True)
    with pytest.raises(BackendUnavailable, match="gputone: needs a GPU but device is 'cpu'"):
        choose_backend([gpu], language="fr", options=CPU)
    chosen = choose_backend([gpu], language="fr-FR", options=CUDA, need_native_duration=True)
    backend = load_backend(chosen, CUDA)
    assert isinstance(backend, VoiceBackend) and backend.spec is gpu
    assert len(backend.synthesize(SynthesisRequest("abc", "beep")).audio) == 2400


def test_unavailable_spec_is_reported_and_skipped() -> None:
    broken, fine = tone_spec("nodeps", missing="foo"), tone_spec("tone")
    assert choose_backend([broken, fine], language="fr", options=CPU) is fine
    with pytest.raises(BackendUnavailable, match="nodeps: foo is not installed"):
        load_backend(broken, CPU)
    with pytest.raises(BackendUnavailable) as named:
        choose_backend([broken, fine], language="fr", options=CPU, name="nodeps")
    assert str(named.value).endswith("): nodeps: foo is not installed: pip install foo")  # one line: the named one's
    assert "\n" not in str(named.value) and "tone" not in str(named.value)
    with pytest.raises(BackendUnavailable, match="tone: not the requested backend 'ghost'"):
        choose_backend([broken, fine], language="fr", options=CPU, name="ghost")  # none named so: all listed
    rows = {r["name"]: r for r in describe_backends([broken, fine], CPU)}
    assert rows["nodeps"]["available"] is False and "foo" in str(rows["nodeps"]["reason"])
    assert rows["tone"]["available"] is True and rows["tone"]["reason"] is None


def test_choose_prefers_piper_for_english_and_describe() -> None:
    specs = discover_backends()
    assert choose_backend(specs, language="en", options=CPU).name == "piper"
    with pytest.raises(BackendUnavailable, match="piper: has no native duration control"):
        choose_backend(specs, language="en", options=CPU, name="piper", need_native_duration=True)
    (row,) = [r for r in describe_backends(specs, CPU) if r["name"] == "piper"]
    assert row["available"] is True and row["needs_gpu"] is False and row["sample_rate"] == 22050
    assert row["voices"] == [{"voice_id": "joe", "languages": ["en-US"], "description": "US English male (piper medium)"}]
    assert row["languages"] == ["en", "en-US"] and row["native_duration_control"] is False


def test_a_cloning_backend_is_chosen_only_by_name() -> None:
    import dataclasses

    clone = dataclasses.replace(tone_spec("clone"), clones_from_reference=True)
    stock = tone_spec("stock")
    assert choose_backend([clone, stock], language="fr", options=CPU).name == "stock"
    assert choose_backend([clone, stock], language="fr", options=CPU, name="clone").name == "clone"
    with pytest.raises(BackendUnavailable, match="--backend clone"):
        choose_backend([clone], language="fr", options=CPU)
    row = describe_backends([clone], CPU)[0]
    assert row["available"] and row["clones_from_reference"]


def test_commercial_use_refuses_the_others_and_lists_every_reason() -> None:
    """--commercial: a backend whose weights do not allow commercial use is refused with its reason, joined with
    its other reasons; when none fits, every backend's reasons are listed together."""
    free, nc = tone_spec("free"), tone_spec("nc", commercial=False, note="weights CC-BY-NC-4.0: non-commercial use only")
    quiet = tone_spec("quiet", commercial=False, note="", missing="bar")  # undeclared terms count as not cleared
    assert choose_backend([nc, free], language="fr", options=CPU).name == "nc"  # the flag changes nothing without
    assert choose_backend([nc, free], language="fr", options=CPU, commercial=True).name == "free"
    assert choose_backend([nc, free], language="fr", options=BackendOptions(commercial=True)).name == "free"
    with pytest.raises(BackendUnavailable) as info:
        choose_backend([nc, quiet], language="fr", options=CPU, commercial=True)
    lines = str(info.value).splitlines()
    assert "commercial use" in lines[0]
    assert lines[1:] == ["  nc: not for commercial use: weights CC-BY-NC-4.0: non-commercial use only",
                         ("  quiet: not for commercial use: its plugin does not say its weights allow it; "
                          "bar is not installed: pip install bar")]


def test_commercial_use_refuses_a_named_backend_in_one_line_and_load_backend_refuses_it_too() -> None:
    nc = tone_spec("nc", commercial=False, note="weights CC-BY-NC-4.0: non-commercial use only")
    with pytest.raises(BackendUnavailable) as info:
        choose_backend([tone_spec("free"), nc], language="fr", options=CPU, name="nc", commercial=True)
    assert str(info.value) == ("No voice backend fits (language='fr', device='cpu', name='nc', commercial use): "
                               "nc: not for commercial use: weights CC-BY-NC-4.0: non-commercial use only")
    assert load_backend(nc, CPU).spec is nc
    with pytest.raises(BackendUnavailable, match="^nc: not for commercial use: weights CC-BY-NC-4.0"):
        load_backend(nc, BackendOptions(commercial=True))


def test_every_installed_backend_declares_its_commercial_terms() -> None:
    """Each plugin says whether its weights allow commercial use, and why; describe_backends passes it on."""
    expected = {"piper": False, "kokoro": True, "f5": False, "indextts2": False, "cosyvoice": True}
    specs = {spec.name: spec for spec in discover_backends() if not isinstance(spec, BrokenBackendSpec)}
    for spec in specs.values():
        assert spec.commercial_note, f"{spec.name}: no commercial_note"
    assert {name: specs[name].commercial_use for name in expected if name in specs} == \
        {name: allowed for name, allowed in expected.items() if name in specs}
    assert "CC-BY-NC" in specs["f5"].commercial_note and "lessac" in specs["piper"].commercial_note
    rows = {row["name"]: row for row in describe_backends(list(specs.values()), CPU)}
    assert rows["kokoro"]["commercial_use"] is True and rows["piper"]["commercial_use"] is False
    assert rows["f5"]["commercial_note"] == specs["f5"].commercial_note
