"""Replay of recorded sessions: the camera is where the journal says the head was, the scene state
follows the renderer's facts, and what cannot be done is said plainly."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vr_exposure.research.replay import TimelineStrip, parse_time_s, replay_plan
from vr_exposure.research.timeline import load_timeline

from .conftest import Synthetic

pytestmark = pytest.mark.renderer


def _replay(*args: str, timeout_s: float = 180.0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "vr_exposure.cli", "replay", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
    )


def _frames(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "frames.csv").read_text())))


def _angle_deg(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
    dot = np.abs(np.sum(q1 * q2, axis=-1)).clip(0.0, 1.0)
    return np.degrees(2 * np.arccos(dot))


def test_replayed_camera_is_the_recorded_head_pose(killed_session: Path, tmp_path: Path) -> None:
    tl = load_timeline(killed_session)
    out = tmp_path / "frames"
    result = _replay(str(killed_session), "--frames", str(out), "--size", "320x180")
    assert result.returncode == 0, result.stderr[-3000:]
    # The journal was cut by SIGKILL: the replay says so and replays what is there.
    assert "journal ends abruptly" in result.stderr
    rows = _frames(out)
    assert len(rows) == len(tl.pose)  # every recorded frame
    # A picture in every frame, except the first ones of a fade in from black (the journal's first
    # poses can be sampled as the scene's fade starts: the patient saw black then too).
    assert all((out / r["file"]).stat().st_size > 1000 for r in rows if float(r["fade_level"]) > 0.05)
    # The dark frames are a leading run only (how many depends on how fast the loaded machine ran the
    # fade): once the scene has faded in, no replayed frame is black.
    dark = [i for i, r in enumerate(rows) if float(r["fade_level"]) <= 0.05]
    assert dark == list(range(len(dark))), dark
    assert len(dark) < len(rows) // 2
    idx = np.asarray([int(r["pose_index"]) for r in rows])
    assert np.array_equal(np.asarray([int(r["t_mono_ns"]) for r in rows]), tl.pose.t_mono_ns[idx])
    assert np.array_equal(np.asarray([int(r["recorded_frame"]) for r in rows]), tl.pose.frame[idx])
    cam_pos = np.asarray([[float(r[f"camera_{a}_m"]) for a in "xyz"] for r in rows])
    cam_q = np.asarray([[float(r[f"camera_q{a}"]) for a in "xyzw"] for r in rows])
    assert np.allclose(cam_pos, tl.pose.position_m[idx], atol=1e-5)
    recorded_q = tl.pose.orientation_xyzw[idx]
    sign = np.sign(np.sum(cam_q * recorded_q, axis=1))[:, None]  # q and -q are the same rotation
    assert np.allclose(cam_q * sign, recorded_q, atol=1e-5)  # Panda3D keeps transforms in float32
    # The patient did look around (so the comparison means something), and the scene is the recorded one.
    assert _angle_deg(tl.pose.orientation_xyzw[:1], tl.pose.orientation_xyzw).max() > 5.0
    assert {r["scene"] for r in rows[5:]} == {"spiders"}
    preset = tl.intensity[0]
    assert preset.preset == "jar-desk"
    assert {float(r["intensity_0_100"]) for r in rows} == {preset.target}


def test_replay_rebuilds_the_scene_state(demo_session: Path, tmp_path: Path) -> None:
    """Intensity (outside ramps) and the safe place in the replay are what the renderer journaled."""
    tl = load_timeline(demo_session)
    out = tmp_path / "demo-frames"
    result = _replay(
        str(demo_session), "--frames", str(out), "--size", "240x136", "--fps", "4", "--no-overlay"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _frames(out)
    assert len(rows) >= 0.9 * 4 * (tl.pose.t_mono_ns[-1] - tl.pose.t_mono_ns[0]) / 1e9
    t = np.asarray([int(r["t_mono_ns"]) for r in rows])
    shown = np.asarray([float(r["intensity_0_100"]) for r in rows])
    journaled = tl.intensity_at(t)
    settled = np.ones(len(t), dtype=bool)
    for change in tl.intensity[1:]:
        settled &= ~((t >= change.t_mono_ns) & (t < change.t_mono_ns + (change.ramp_s + 0.3) * 1e9))
    safe = np.zeros(len(t), dtype=bool)
    for ep in tl.safe_place:
        safe |= (t >= ep.start_mono_ns) & (t < (ep.end_mono_ns or tl.end_mono_ns) + 2.5e9)
    check = settled & ~safe & ~np.isnan(journaled)
    assert check.sum() >= 10
    assert np.allclose(shown[check], journaled[check], atol=0.01)
    in_safe = np.asarray([r["in_safe_place"] == "1" for r in rows])
    for ep in tl.safe_place:
        inside = (t >= ep.start_mono_ns + 1e8) & (t < (ep.end_mono_ns or tl.end_mono_ns))
        assert in_safe[inside].all()
    assert in_safe.any() and not in_safe.all()
    assert any(a.kind == "event_fired" and a.delay_s is not None for a in replay_plan(tl))


def test_replay_range_and_video_and_refusals(synthetic: Synthetic, tmp_path: Path) -> None:
    session = synthetic.sessions[3].session_dir
    tl = load_timeline(session)
    out = tmp_path / "range"
    result = _replay(str(session), "--frames", str(out), "--from", "0:20", "--to", "22", "--size", "160x90")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _frames(out)
    t_s = np.asarray([float(r["t_s"]) for r in rows])
    assert 20.0 <= t_s.min() and t_s.max() <= 22.0 and len(rows) == pytest.approx(2 * 30, abs=2)
    assert np.all(np.diff(t_s) > 0)

    video = _replay(
        str(session), "--video", str(tmp_path / "out.mp4"), "--max-frames", "5", "--size", "160x90"
    )
    if shutil.which("ffmpeg") is None:
        assert video.returncode == 1
        assert "ffmpeg was not found on PATH" in video.stderr and "--frames DIR" in video.stderr
    else:
        assert video.returncode == 0, video.stderr
        assert (tmp_path / "out.mp4").stat().st_size > 0

    newer = tmp_path / "newer"
    shutil.copytree(session, newer)
    manifest = json.loads((newer / "manifest.json").read_text())
    manifest["format_version"] = 7
    (newer / "manifest.json").write_text(json.dumps(manifest))
    refused = _replay(str(newer), "--frames", str(tmp_path / "x"))
    assert refused.returncode == 1
    assert "journal format version 7 is newer than this software reads" in refused.stderr
    assert len(tl.pose) > 0


def test_timeline_strip_and_times(synthetic: Synthetic) -> None:
    tl = load_timeline(synthetic.sessions[0].session_dir)
    strip = TimelineStrip(tl, int(tl.pose.t_mono_ns[0]), int(tl.pose.t_mono_ns[-1]), 300, 40)
    assert strip.image.shape == (40, 300, 4)
    # The safe place and the pause are shaded, SUDS and intensity drawn.
    assert (strip.image == (40, 120, 70, 200)).all(axis=-1).any()
    assert (strip.image == (90, 200, 255, 255)).all(axis=-1).sum() >= 9 * len(tl.ratings) // 2
    mid = int(tl.pose.t_mono_ns[len(tl.pose) // 2])
    frame = strip.at(mid)
    assert (frame == (255, 60, 60, 255)).all(axis=-1).any(axis=0).sum() in (1, 2)
    assert parse_time_s("90") == 90.0 and parse_time_s("1:30") == 90.0 and parse_time_s("1:00:05") == 3605.0


def test_the_head_gaze_ray_is_green_while_the_stimulus_is_looked_at(tmp_path: Path) -> None:
    """The session of the avoidance hand computation (the spider looked at from 5 to 15 s only):
    the ray is drawn from the bottom of the view to its centre, green exactly then."""
    from PIL import Image

    from vr_exposure.research.synthetic import SyntheticPlan, write_synthetic_session

    from .test_avoidance import RATE_HZ, SPIDER, _head

    plan = SyntheticPlan(
        pseudonym="P100",
        duration_s=30.0,
        pose_rate_hz=RATE_HZ,
        probe_interval_s=10.0,
        intensity_changes=0,
        rung_changes_at_s=(15.0,),
        events_at_s=(),
        pause=None,
        safe_place=None,
        missed_probes=(),
        headset_probes=(),
        stimulus_m=SPIDER,
        head=_head,
    )
    session = write_synthetic_session(tmp_path / "sessions", plan).session_dir
    out = tmp_path / "frames"
    result = _replay(str(session), "--frames", str(out), "--fps", "0.5", "--size", "480x270", "--gaze-ray")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _frames(out)
    tl = load_timeline(session)
    for r in rows:
        t_since_start = (int(r["t_mono_ns"]) - int(tl.pose.t_mono_ns[0])) / 1e9
        looking = 5.0 <= t_since_start < 15.0 - 1e-6
        assert r["gaze_on_stimulus"] == str(int(looking)), r["t_s"]
        # On the ray, below the centre of the view: green while looking, white otherwise.
        rgb = np.asarray(Image.open(out / r["file"]).convert("RGB"))[170, 238:243].astype(int)
        if looking:
            assert (rgb[:, 1] > 200).any() and (rgb[:, 1] - rgb[:, 0] > 100).any(), (r["t_s"], rgb)
        else:
            assert (rgb.min(axis=1) > 220).any(), (r["t_s"], rgb)
