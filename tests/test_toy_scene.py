"""The toy scene under ``tests/scene_packages`` registers itself and works end to end with no edit to
the project's code: ``vr-exposure still`` renders it, ``vr-exposure demo --protocol toy-graded`` runs a
whole session in it (the renderer subprocess finds the package through the environment)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from vr_exposure.journal import read_session

ROOT = Path(__file__).resolve().parents[1]
TOY_CONTENT = ROOT / "tests" / "scene_packages" / "content"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["VR_EXPOSURE_SCENE_PACKAGES"] = "tests.scene_packages"
    env["VR_EXPOSURE_CONTENT"] = os.pathsep.join([str(ROOT), str(TOY_CONTENT)])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def test_still_renders_the_toy_scene(tmp_path: Path) -> None:
    out = tmp_path / "toy.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "still",
            "toy-cubes",
            "--preset",
            "many-near",
            "-o",
            str(out),
            "--size",
            "160x90",
            "--settle-s",
            "0.2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_runs_a_session_in_the_toy_scene(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "demo",
            "--protocol",
            "toy-graded",
            "--minutes",
            "0.3",
            "--headless",
            "--quiet",
            "--sessions",
            str(sessions),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=_env(),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    match = re.search(r"^session directory: (.+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    log = read_session(Path(match.group(1)))
    loaded = [r.content["scene"] for r in log.by_type("scene_loaded") if r.process == "renderer"]
    assert "toy-cubes" in loaded
    assert [r for r in log.by_type("suds_recorded") if r.process == "console"], "no SUDS rating recorded"
    fired = {r.content["event"] for r in log.by_type("event_fired")}
    assert fired <= {"spin"} and log.manifest is not None and log.manifest.protocol == "toy-graded"
