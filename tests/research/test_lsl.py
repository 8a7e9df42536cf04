"""Lab Streaming Layer on loopback: a recorder-side inlet receives markers, SUDS, intensity and head
pose stamped within 5 ms of the journal's times; a physiology stream is read and journaled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vr_exposure.lsl import LOOPBACK_CONFIG, source_id
from vr_exposure.research.timeline import load_timeline

CHILD = Path(__file__).with_name("lsl_roundtrip_child.py")
TOLERANCE_S = 0.005


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("lsl")
    cfg = root / "lsl_api.cfg"
    cfg.write_text(LOOPBACK_CONFIG)
    import os

    env = {**os.environ, "LSLAPICFG": str(cfg)}
    result = subprocess.run(
        [sys.executable, str(CHILD), str(root / "sessions")],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_lsl_clock_is_the_journal_clock(roundtrip: dict) -> None:
    assert abs(roundtrip["offset_s"]) < 1e-4
    assert abs(roundtrip["monotonic_vs_lsl_s"]) < 1e-3


def test_markers_carry_every_record_at_its_journal_time(roundtrip: dict) -> None:
    markers = roundtrip["received"]["markers"]
    decoded = [json.loads(s[0]) for s in markers["samples"]]
    console = [d for d in decoded if "t_mono_ns" in d["content"]]
    journal = roundtrip["journal"]["console_events"]
    assert [[d["msg_type"], d["content"]["t_mono_ns"]] for d in console] == journal
    for d, stamp in zip(decoded, markers["stamps"], strict=True):
        assert abs(stamp - d["t_mono_ns"] / 1e9) < TOLERANCE_S
    # Renderer facts handed on by the console are markers too.
    assert {"scene_loaded", "intensity_changed", "rating_recorded"} <= {d["msg_type"] for d in decoded}


def test_suds_once_per_rating_and_intensity_from_the_renderer(roundtrip: dict) -> None:
    suds = roundtrip["received"]["suds"]
    ratings = roundtrip["journal"]["console_ratings"]
    # Two presses in VR, each in both journals: two SUDS samples, not four.
    assert [s[0] for s in suds["samples"]] == [v for v, _ in ratings] == [50.0, 70.0]
    for stamp, (_, t_ns) in zip(suds["stamps"], ratings, strict=True):
        assert abs(stamp - t_ns / 1e9) < TOLERANCE_S
    intensity = roundtrip["received"]["intensity"]
    journal = roundtrip["journal"]["renderer_intensity"]
    assert [s[0] for s in intensity["samples"]] == [v for v, _ in journal] == [5.0, 20.0]
    for stamp, (_, t_ns) in zip(intensity["stamps"], journal, strict=True):
        assert abs(stamp - t_ns / 1e9) < TOLERANCE_S


def test_head_pose_stream(roundtrip: dict) -> None:
    desc = roundtrip["pose_desc"]
    assert desc["type"] == "MoCap" and desc["channel_count"] == 7 and desc["nominal_srate"] == 90.0
    assert desc["first_channel"] == "PositionX"
    session_id = Path(roundtrip["session_dir"]).name
    assert desc["source_id"] == source_id(session_id, "head-pose") == f"vr-exposure-{session_id}-head-pose"
    pose = roundtrip["received"]["head-pose"]
    journal = roundtrip["journal"]["pose"]
    assert len(pose["samples"]) == len(journal) == 60
    for sample, stamp, (t_ns, position) in zip(pose["samples"], pose["stamps"], journal, strict=True):
        assert abs(stamp - t_ns / 1e9) < TOLERANCE_S
        assert sample[:3] == pytest.approx(position, abs=1e-6)
        assert sample[3:] == pytest.approx([0.0, 0.0, 0.0, 1.0])


def test_physiology_inlet_samples_are_journaled(roundtrip: dict) -> None:
    physio = roundtrip["physio"]
    assert physio["n"] >= 5 and physio["channels"] == ["hr_bpm"]
    tl = load_timeline(roundtrip["session_dir"])
    [stream] = tl.physio
    assert stream.stream == "test-heart-rate" and stream.t_mono_ns.tolist() == physio["t_mono_ns"]
    assert stream.values[:, 0].tolist() == sorted(stream.values[:, 0].tolist())
