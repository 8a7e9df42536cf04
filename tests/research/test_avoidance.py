"""Gaze and avoidance measures against a hand computation: a 30 s session at 90 Hz whose head motion
is known exactly (the spider 2 m straight ahead; looking at it for exactly 10 s, 20 degrees off it
for 5 s, turned away and leaning back 10 cm for the rest), with a rung change half-way."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from vr_exposure.research.avoidance import head_forward
from vr_exposure.research.synthetic import SyntheticPlan, write_synthetic_session, yaw_pitch_quat
from vr_exposure.research.timeline import load_timeline

RATE_HZ = 90.0
EYE_Z = 1.2
SPIDER = (0.0, 2.0, EYE_Z)


def _head(frame: int, t_s: float) -> tuple[tuple[float, float, float], tuple[float, float, float, float]]:
    # 0-5 s turned away (90 degrees left), 5-15 s looking straight at the spider, 15-20 s 20 degrees
    # off it, 20-30 s turned away again and leaning 10 cm back (away from it along -y).
    if frame < 5 * 90:
        return (0.0, 0.0, EYE_Z), yaw_pitch_quat(90.0)
    if frame < 15 * 90:
        return (0.0, 0.0, EYE_Z), yaw_pitch_quat(0.0)
    if frame < 20 * 90:
        return (0.0, 0.0, EYE_Z), yaw_pitch_quat(20.0)
    return (0.0, -0.1, EYE_Z), yaw_pitch_quat(-90.0)


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    return write_synthetic_session(tmp_path_factory.mktemp("known"), plan).session_dir


def test_head_forward_is_plus_y_turned_by_the_heading() -> None:
    q = np.asarray([yaw_pitch_quat(0.0), yaw_pitch_quat(90.0), yaw_pitch_quat(0.0, 90.0)])
    assert head_forward(q) == pytest.approx(np.asarray([[0, 1, 0], [-1, 0, 0], [0, 0, 1]]), abs=1e-12)


def test_measures_equal_the_hand_computation(known: Path) -> None:
    tl = load_timeline(known)
    assert len(tl.pose) == 2700 and len(tl.stimuli) == 300
    rows = {(r.scope, r.rung): r for r in tl.avoidance()}
    assert set(rows) == {("session", None), ("rung", 0), ("rung", 1)}
    approx = lambda v: pytest.approx(v, abs=1e-6)  # noqa: E731 - frames are 11.111111 ms, not 1/90 s
    s = rows[("session", None)]
    assert s.stimulus_exposure_s == approx(30.0)
    assert s.gaze_within_15deg_share == approx(10 / 30)
    assert s.gaze_within_30deg_share == approx(15 / 30)
    assert s.time_to_first_look_s == approx(5.0)
    assert s.longest_look_away_s == approx(15.0)  # 15-30 s: 20 degrees off is not a look
    assert s.mean_distance_m == approx((20 * 2.0 + 10 * 2.1) / 30)
    assert s.min_distance_m == approx(2.0)
    assert s.lean_back_mean_m == approx(10 * 0.1 / 30)
    assert s.lean_back_max_m == approx(0.1)

    r0, r1 = rows[("rung", 0)], rows[("rung", 1)]
    assert r0.stimulus_exposure_s == approx(15.0) and r1.stimulus_exposure_s == approx(15.0)
    assert r0.gaze_within_15deg_share == approx(10 / 15) and r0.gaze_within_30deg_share == approx(10 / 15)
    assert r0.time_to_first_look_s == approx(5.0) and r0.longest_look_away_s == approx(5.0)
    assert r0.lean_back_max_m == approx(0.0) and r0.mean_distance_m == approx(2.0)
    assert r1.gaze_within_15deg_share == approx(0.0) and r1.gaze_within_30deg_share == approx(5 / 15)
    assert math.isnan(r1.time_to_first_look_s) and r1.longest_look_away_s == approx(15.0)
    assert r1.mean_distance_m == approx((5 * 2.0 + 10 * 2.1) / 15)
    assert r1.lean_back_mean_m == approx(10 * 0.1 / 15) and r1.lean_back_max_m == approx(0.1)


def test_pauses_the_safe_place_and_no_stimulus_are_left_out(tmp_path: Path) -> None:
    """Looking at the spider all the time, but 10 s paused and 10 s in the safe place (no spider
    shown there): 40 s of 60 are analysed, all of them looking."""
    plan = SyntheticPlan(
        pseudonym="P101",
        duration_s=60.0,
        pose_rate_hz=30.0,
        intensity_changes=0,
        rung_changes_at_s=(),
        events_at_s=(),
        pause=(10.0, 20.0),
        safe_place=(30.0, 40.0),
        missed_probes=(),
        headset_probes=(),
        stimulus_m=SPIDER,
        head=lambda frame, t_s: ((0.0, 0.0, EYE_Z), yaw_pitch_quat(0.0)),
    )
    tl = load_timeline(write_synthetic_session(tmp_path, plan).session_dir)
    [s] = [r for r in tl.avoidance() if r.scope == "session"]
    # Back from the safe place, the spider is known from the next 10 Hz record on: up to 0.1 s later.
    assert 39.89 <= s.stimulus_exposure_s <= 40.0 + 1e-6
    assert s.gaze_within_15deg_share == pytest.approx(1.0)
    assert s.time_to_first_look_s == pytest.approx(0.0) and s.longest_look_away_s == pytest.approx(0.0)
    # No stimulus records at all: no measures (not zeros).
    plan.stimulus_m = None
    plan.seed = 8
    none = load_timeline(write_synthetic_session(tmp_path / "none", plan).session_dir)
    assert none.avoidance() == ()


def test_the_report_shows_the_measures_beside_suds(known: Path) -> None:
    from vr_exposure.research.report import build_report

    from .test_report import _data

    tl = load_timeline(known)
    html = build_report([tl])
    [sd] = _data(html)["sessions"]
    got = {(a["scope"], a["rung"]): a for a in sd["avoidance"]}
    assert got[("session", None)]["gaze_within_15deg_share"] == pytest.approx(1 / 3, abs=1e-6)
    assert got[("rung", 1)]["time_to_first_look_s"] is None  # never looked: null, not NaN
    section = html[html.index("Gaze and avoidance per rung") :]
    table = section[: section.index("</table>")]
    # Rung 1 (shown as 1): looked at 67% of the time; rung 2: never; the session: 33%.
    assert "<td>67%</td>" in table and "<td>0%</td>" in table and "<td>33%</td>" in table
    assert "peak SUDS" in table and "<td>+0.10 m</td>" in table
