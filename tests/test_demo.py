"""``vr-exposure demo --headless``: a whole simulated session end to end, checked through its journals."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vr_exposure.journal import read_session, verify_session

pytestmark = [pytest.mark.slow, pytest.mark.renderer]


def test_headless_demo_leaves_a_complete_sealed_session(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "demo",
            "--minutes",
            "0.5",
            "--headless",
            "--sessions",
            str(sessions),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    match = re.search(r"^session directory: (.+)$", out, re.MULTILINE)
    assert match, out
    session_dir = Path(match.group(1))
    assert session_dir.parent == sessions and session_dir.is_dir()
    # Progress was printed, and the SUDS table closes the output.
    assert "SUDS" in out and "therapist: safe place" in out
    assert re.search(r"^ *rung +title +expected +n +peak +end +mean +reduction$", out, re.MULTILINE), out
    assert re.search(r"^ *all +whole session", out, re.MULTILINE), out

    log = read_session(session_dir)
    assert log.manifest is not None and log.manifest.sealed
    assert verify_session(session_dir).ok
    by_process: dict[str, set[str]] = {}
    for record in log.records:
        by_process.setdefault(record.process, set()).add(record.msg_type)
    console, renderer = by_process["console"], by_process["renderer"]
    # Ratings, given by the simulated patient in the headset and recorded by both sides.
    ratings = [r for r in log.by_type("rating_recorded") if r.process == "console"]
    assert len(ratings) >= 5
    assert {r.content["rating"]["source"] for r in ratings} == {"patient-in-vr"}
    assert "rating_recorded" in renderer
    # Intensity changes and rungs climbed through accepted advice.
    assert "intensity_changed" in console and "intensity_changed" in renderer
    rungs = [r.content["rung"] for r in log.by_type("rung_changed")]
    assert rungs[0] == 0 and max(rungs) >= 1
    assert log.by_type("advice_accepted")
    # One safe-place episode, entered and left, on both sides.
    for side in (console, renderer):
        assert {"safe_place_entered", "safe_place_left"} <= side
    # SSQ before and after, the end and the summary.
    phases = {r.content["phase"] for r in log.by_type("ssq")}
    assert phases == {"before", "after"}
    assert log.by_type("session_ended") and log.by_type("session_summary")
