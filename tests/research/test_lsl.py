"""Lab Streaming Layer on loopback: a recorder-side inlet receives markers, SUDS, intensity and head
pose stamped within 5 ms of the journal's times; a physiology stream is read and journaled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
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


DEMO_RECORDER = Path(__file__).with_name("lsl_demo_recorder_child.py")


@pytest.fixture(scope="module")
def demo_recording(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``vr-exposure demo --lsl`` recorded through real LSL inlets, as LabRecorder records it."""
    import os

    root = tmp_path_factory.mktemp("lsl-demo")
    cfg = root / "lsl_api.cfg"
    cfg.write_text(LOOPBACK_CONFIG)
    env = {**os.environ, "LSLAPICFG": str(cfg)}
    result = subprocess.run(
        [sys.executable, str(DEMO_RECORDER), str(root / "sessions"), "0.5"],
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_demo_recording_has_every_stream_in_order_and_the_head_pose_of_every_frame(
    demo_recording: dict,
) -> None:
    from vr_exposure.journal import read_session

    session_dir = Path(demo_recording["session_dir"])
    session_id = session_dir.name
    streams = {s["source_id"]: s for s in demo_recording["streams"]}
    # The renderer of the demo publishes the head pose (it was started with --lsl), under the session.
    for stream in ("markers", "suds", "intensity", "head-pose"):
        assert source_id(session_id, stream) in streams, (stream, sorted(streams))
    for s in demo_recording["streams"]:
        stamps = s["stamps"]
        backwards = sum(b < a for a, b in zip(stamps, stamps[1:], strict=False))
        assert backwards == 0, f"{s['name']} ({s['source_id']}): {backwards} stamps go back in time"
    markers = streams[source_id(session_id, "markers")]
    assert markers["samples"] > 20
    assert len(streams[source_id(session_id, "suds")]["stamps"]) >= 2
    # Every frame's head pose: the received stamps are the journaled frame times, none missing
    # between the first and the last received, at the renderer's frame rate.
    pose = streams[source_id(session_id, "head-pose")]
    got = np.asarray(pose["stamps"])
    assert got.size > 100
    log = read_session(session_dir)
    frames = np.asarray(sorted(p.content["t_mono_ns"] for p in log.by_type("head_pose")), dtype=np.int64)
    window = frames[
        (frames >= round(got[0] * 1e9) - 1_000_000) & (frames <= round(got[-1] * 1e9) + 1_000_000)
    ]
    assert got.size == window.size
    assert np.abs(got - window / 1e9).max() < 0.002
    journal_rate = (window.size - 1) / ((window[-1] - window[0]) / 1e9)
    received_rate = (got.size - 1) / (got[-1] - got[0])
    assert received_rate == pytest.approx(journal_rate, rel=0.01)
    assert pose["nominal_srate"] > 0


class _Outlet:
    def __init__(self) -> None:
        self.pushed: list[tuple[list, float]] = []

    def push_sample(self, sample: list, stamp: float) -> None:
        self.pushed.append((sample, stamp))


def test_a_record_out_of_time_order_never_sends_a_stream_back() -> None:
    """Records come in journal order; one whose own time is earlier than the last sample's (a
    renderer fact that crossed the link late) gets the previous stamp, and its time in the JSON."""
    from vr_exposure.lsl import LslBridge

    bridge = LslBridge.__new__(LslBridge)
    bridge.process = "console"
    bridge.clock_offset_s = 0.0
    bridge.outlets = {"markers": _Outlet(), "intensity": _Outlet()}
    bridge.pushed = dict.fromkeys(bridge.outlets, 0)
    bridge.last_stamp = {}
    bridge.on_event("session_started", {"t_mono_ns": 10_000_000_000}, 10_000_000_000)
    bridge.on_event(
        "intensity_changed", {"intensity": 5, "target": 20, "ramp_s": 1}, 9_921_000_000
    )  # 79 ms late
    bridge.on_event("note", {"text": "x"}, 10_050_000_000)
    stamps = [s for _, s in bridge.outlets["markers"].pushed]
    assert stamps == [10.0, 10.0, 10.05]
    late = json.loads(bridge.outlets["markers"].pushed[1][0][0])
    assert late["msg_type"] == "intensity_changed" and late["t_mono_ns"] == 9_921_000_000
    # Each stream on its own: the intensity stream had no sample yet, so it keeps the record's time.
    assert bridge.outlets["intensity"].pushed == [([20.0], 9.921)]
