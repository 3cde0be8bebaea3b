"""The Premiere UXP panel (plugin/premiere/), from pytest.

Its JavaScript tests run under node's own test runner against stand-ins for the
`premierepro` and `uxp` modules; here they run as one test, plus the .ccx
packaging (read back with Python's zipfile) and the panel against the real
`revoice serve` over loopback. Everything skips when node is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PANEL = REPO / "plugin" / "premiere"
NODE = shutil.which("node")
LIVE_ENV = ("REVOICE_LIVE_STATE_DIR", "REVOICE_LIVE_TIMELINE", "REVOICE_LIVE_SUBTITLES")

needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def node(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run node in the repository root; the live-service variables are unset unless given."""
    assert NODE is not None
    base = {key: value for key, value in os.environ.items() if key not in LIVE_ENV}
    return subprocess.run([NODE, *args], cwd=REPO, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)


def report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"


@needs_node
def test_panel_javascript_tests_pass() -> None:
    result = node("--test", str(PANEL / "test"))
    assert result.returncode == 0, report(result)
    assert "# fail 0" in result.stdout, report(result)


@needs_node
@pytest.mark.parametrize("writer", ["node", "zip"])
def test_package_is_a_ccx_with_the_manifest_at_its_root(tmp_path: Path, writer: str) -> None:
    if writer == "zip" and shutil.which("zip") is None:
        pytest.skip("no zip command; the node writer is the fallback")
    out = tmp_path / "revoice.ccx"
    result = node(str(PANEL / "tools" / "package.mjs"), "--out", str(out), "--writer", writer)
    assert result.returncode == 0, report(result)
    with zipfile.ZipFile(out) as ccx:
        assert ccx.testzip() is None
        names = set(ccx.namelist())
        manifest = json.loads(ccx.read("manifest.json"))
        assert ccx.read("src/timeline.js") == (PANEL / "src" / "timeline.js").read_bytes()
    assert manifest["host"] == {"app": "premierepro", "minVersion": "25.6.0"}
    assert {"manifest.json", "index.html", "index.js", "styles.css", "src/app.js", "src/premiere.js",
            "src/service.js", "src/timeline.js", "src/ui.js", "icons/plugin-icon.svg"} <= names
    assert not {name for name in names if name.split("/")[0] in {"test", "standins", "harness", "tools", "dist"}}


@needs_node
@pytest.mark.slow
def test_panel_against_the_real_service(tmp_path: Path, shared_corpus: Path) -> None:
    """`revoice serve` on a free loopback port; the panel (stand-in Premiere) exports, sends, polls, places."""
    state = tmp_path / "state"
    log = (tmp_path / "serve.log").open("w")
    service = subprocess.Popen([sys.executable, "-m", "revoice.cli", "serve", "--port", "0"], cwd=REPO,
                               env={**os.environ, "REVOICE_STATE_DIR": str(state)}, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not (state / "service.json").exists():
            if service.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"revoice serve did not start: {(tmp_path / 'serve.log').read_text()[-3000:]}")
            time.sleep(0.2)
        result = node("--test", str(PANEL / "test" / "live-service.test.js"), env={
            "REVOICE_LIVE_STATE_DIR": str(state),
            "REVOICE_LIVE_TIMELINE": str(shared_corpus / "timelines" / "premiere_example.xml"),
            "REVOICE_LIVE_SUBTITLES": str(REPO / "tests" / "data" / "premiere_example.srt"),
        })
        assert result.returncode == 0, report(result) + (tmp_path / "serve.log").read_text()[-3000:]
        assert "# pass 1" in result.stdout and "# skipped 0" in result.stdout, report(result)
    finally:
        service.terminate()
        try:
            service.wait(timeout=15)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
        log.close()
