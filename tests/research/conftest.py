"""Sessions for the research tools' tests.

* ``synthetic`` — short sessions written through the real journal writer by the real session engine
  (:mod:`vr_exposure.research.synthetic`): three of one pseudonym (for the between-session trend), one
  of another; counts of what went in are known exactly.
* ``demo_session`` — a real recorded session: ``vr-exposure demo --headless`` (offscreen renderer
  subprocess, console controller, simulated patient pressing keys in the renderer), shortest setting.
* ``killed_session`` — a real renderer subprocess journaling into a session while the patient looks
  around (arrow keys), killed with SIGKILL mid-session: an unclosed journal, as a crash leaves it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from vr_exposure.research.synthetic import SyntheticPlan, SyntheticResult, write_synthetic_session


@dataclass
class Synthetic:
    root: Path
    sessions: list[SyntheticResult]

    @property
    def p042(self) -> list[SyntheticResult]:
        return [s for s in self.sessions if "-P042-" in s.session_dir.name]


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    root = tmp_path_factory.mktemp("synthetic")
    results = []
    day_s = 86_400.0
    for i in range(3):
        plan = SyntheticPlan(
            pseudonym="P042",
            duration_s=150.0,
            pose_rate_hz=30.0,
            session_index=i,
            seed=11 + i,
            utc_start_s=1_767_225_600.0 + i * 7 * day_s,
            start_s=1000.0 + i * 10_000.0,
            physio=(i == 0),
        )
        results.append(write_synthetic_session(root, plan))
    results.append(
        write_synthetic_session(
            root, SyntheticPlan(pseudonym="P007", duration_s=90.0, pose_rate_hz=30.0, pause=None, seed=3)
        )
    )
    return Synthetic(root, results)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


@pytest.fixture(scope="session")
def demo_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sessions = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "demo",
            "--minutes",
            "0.5",
            "--headless",
            "--quiet",
            "--sessions",
            str(sessions),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=_env(),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    match = re.search(r"^session directory: (.+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    return Path(match.group(1))


def _lines_with(path: Path, needle: bytes) -> int:
    try:
        return sum(1 for line in path.read_bytes().split(b"\n") if needle in line)
    except OSError:
        return 0


@pytest.fixture(scope="session")
def killed_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vr_exposure import __version__
    from vr_exposure.journal import create_session
    from vr_exposure.renderer.process import RendererProcess

    root = tmp_path_factory.mktemp("killed")
    session_dir = create_session(
        root, pseudonym="P042", protocol="spiders-graded", scene="spiders", software_version=__version__
    )
    old_env = dict(os.environ)
    os.environ.pop("DISPLAY", None)
    os.environ.pop("WAYLAND_DISPLAY", None)
    try:
        renderer = RendererProcess(
            backend="offscreen",
            size="320x180",
            extra=[
                "--session-dir",
                str(session_dir),
                "--scene",
                "spiders",
                "--preset",
                "jar-desk",
                "--on-link-lost",
                "hold",
                "--no-mirror",
            ],
        )
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    journal = session_dir / "renderer.jsonl"
    try:
        # The patient looks left, then up and right: the head pose changes frame by frame.
        for keys, poses in ((("arrow_left",), 20), (("arrow_left-up", "arrow_up", "arrow_right"), 45)):
            for key in keys:
                renderer.press(key)
            deadline = time.monotonic() + 90.0
            while _lines_with(journal, b'"head_pose"') < poses:
                assert renderer.alive(), renderer.log_tail()
                assert time.monotonic() < deadline, "the renderer journaled too few head poses"
                time.sleep(0.05)
        renderer.proc.send_signal(signal.SIGKILL)
        renderer.wait(10.0)
    finally:
        renderer.cleanup()
    return session_dir
