"""revoice.engine.voices.base helpers shared by the plugins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from revoice.engine.voices.base import BackendOptions, temporary_environment


def test_temporary_environment_restores_values_and_absence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVOICE_TEST_KEPT", "before")
    monkeypatch.delenv("REVOICE_TEST_ABSENT", raising=False)
    with pytest.raises(RuntimeError), temporary_environment({"REVOICE_TEST_KEPT": "1", "REVOICE_TEST_ABSENT": "1"}):
        assert os.environ["REVOICE_TEST_KEPT"] == "1" and os.environ["REVOICE_TEST_ABSENT"] == "1"
        raise RuntimeError("a model failed to load")
    assert os.environ["REVOICE_TEST_KEPT"] == "before"
    assert "REVOICE_TEST_ABSENT" not in os.environ


def test_weights_folder_prefers_the_option_then_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.delenv("REVOICE_TEST_WEIGHTS", raising=False)
    assert BackendOptions().weights_folder("REVOICE_TEST_WEIGHTS") is None
    monkeypatch.setenv("REVOICE_TEST_WEIGHTS", str(tmp_path))
    assert BackendOptions().weights_folder("REVOICE_TEST_WEIGHTS") == tmp_path
    assert BackendOptions(weights_dir="~/w").weights_folder("REVOICE_TEST_WEIGHTS") == Path("~/w").expanduser()
