"""``--lsl`` and ``--physio``: the console's Lab Streaming Layer outlets and physiology inlet, on
loopback (``LSLAPICFG`` pointing at :data:`~vr_exposure.lsl.LOOPBACK_CONFIG`), each run in a
child process with a time limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vr_exposure.lsl import LOOPBACK_CONFIG

CHILD = Path(__file__).with_name("lsl_child.py")


def _run_child(mode: str, root: Path, timeout_s: float = 60.0) -> dict[str, Any]:
    cfg = root / "lsl_api.cfg"
    cfg.write_text(LOOPBACK_CONFIG)
    env = {**os.environ, "LSLAPICFG": str(cfg), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, str(CHILD), mode, str(root / "sessions")],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


@pytest.fixture(scope="module")
def lsl_session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run_child("session", tmp_path_factory.mktemp("lsl-session"))


def test_every_clinical_record_and_renderer_fact_is_a_marker(lsl_session: dict[str, Any]) -> None:
    markers = lsl_session["markers"]
    journal = lsl_session["journal"]["console_clinical"]
    renderer_facts = ["scene_loaded", "rating_recorded", "intensity_changed"]
    # Every clinical record of the console journal went out, and each renderer fact as it arrived.
    assert lsl_session["pushed"]["markers"] == len(journal) + len(renderer_facts)
    # The streams open with the session, so its first record went out before any inlet could
    # connect; from then on the console's markers are the journal's clinical records, in order ...
    assert journal[0] == "console_session_opened"
    console_side = [t for t, content in markers if not _is_renderer_fact(t, content)]
    assert console_side == journal[1:]
    assert {"session_started", "rung_changed", "suds_recorded", "session_summary"} <= set(console_side)
    # ... and the renderer's facts are markers too.
    assert [t for t, content in markers if _is_renderer_fact(t, content)] == renderer_facts


def _is_renderer_fact(msg_type: str, content: dict[str, Any]) -> bool:
    # The renderer's facts carry their own fields; the engine's records always carry t_mono_ns.
    return msg_type in ("scene_loaded", "rating_recorded", "intensity_changed") and "t_mono_ns" not in content


def test_suds_once_per_rating_and_the_renderers_intensity(lsl_session: dict[str, Any]) -> None:
    # A rating pressed in VR (6 on 0-10) and one typed by the therapist: two samples, not three.
    assert lsl_session["suds"] == lsl_session["journal"]["ratings"] == [60.0, 40.0]
    # Intensity samples come from the renderer's facts (what the patient sees), not the requests.
    assert lsl_session["intensity"] == [5.0, 20.0]


def test_the_outlets_live_with_the_session_journal(lsl_session: dict[str, Any]) -> None:
    assert lsl_session["open_after_end"]  # the SSQ after, once the session ended, is still published
    assert lsl_session["closed"]


def test_physiology_samples_are_journaled_and_plotted(tmp_path: Path) -> None:
    got = _run_child("physio", tmp_path)
    pushed = got["pushed"]
    # Every sample, in order, journaled as physio_samples telemetry (in batches as the timer polled)
    # and read back by the research timeline ...
    assert got["journal_values"] == pytest.approx(pushed, abs=1e-4)
    assert got["timeline_values"] == pytest.approx(pushed, abs=1e-4)
    assert got["batches"] >= 2  # polled as the samples came, not once at the end
    # ... and on the timeline's physiology axis at their session times.
    assert got["plot_values"] == pytest.approx(pushed, abs=1e-4)
    start_ns = got["session_start_ns"]
    expected_t_s = [(t - start_ns) / 1e9 for t in got["journal_t_mono_ns"]]
    assert got["plot_t_s"] == pytest.approx(expected_t_s, abs=1e-6)
    assert all(0.0 < t < 30.0 for t in got["plot_t_s"])
    assert "hr_bpm" in got["axis_label"]
