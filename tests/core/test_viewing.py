"""The viewing measures: head gaze to a stimulus and the frame-rate verdict."""

from __future__ import annotations

import math

import pytest

from vr_exposure.core.viewing import (
    frame_rate_verdict,
    gaze_angle_deg,
    head_forward,
    in_view,
    nearest_stimulus_angle_deg,
)

EYE = (0.0, 0.0, 1.2)
AHEAD = (0.0, 0.0, 0.0, 1.0)


def _heading(deg: float) -> tuple[float, float, float, float]:
    """Panda3D heading (about +Z, counter-clockwise seen from above) as (x, y, z, w)."""
    half = math.radians(deg) / 2
    return (0.0, 0.0, math.sin(half), math.cos(half))


def _pitch(deg: float) -> tuple[float, float, float, float]:
    half = math.radians(deg) / 2
    return (math.sin(half), 0.0, 0.0, math.cos(half))


def test_head_forward_follows_panda3d_axes() -> None:
    assert head_forward(AHEAD) == pytest.approx((0, 1, 0))
    assert head_forward(_heading(90)) == pytest.approx((-1, 0, 0), abs=1e-9)  # H=90 faces -X
    assert head_forward(_pitch(90)) == pytest.approx((0, 0, 1), abs=1e-9)  # P=90 looks up


def test_gaze_angle_and_field_of_view() -> None:
    jar = (1.0, 2.0, 1.2)
    straight = gaze_angle_deg(EYE, AHEAD, (0.0, 3.0, 1.2))
    assert straight == pytest.approx(0.0)
    angle = gaze_angle_deg(EYE, AHEAD, jar)
    assert angle == pytest.approx(math.degrees(math.atan2(1, 2)))
    assert in_view(angle) and not in_view(gaze_angle_deg(EYE, _heading(90), jar))
    assert gaze_angle_deg(EYE, AHEAD, (0.0, -2.0, 1.2)) == pytest.approx(180.0)
    assert nearest_stimulus_angle_deg(EYE, AHEAD, []) is None
    assert nearest_stimulus_angle_deg(EYE, AHEAD, [(0, -2, 1.2), jar]) == pytest.approx(angle)
    assert not in_view(None)


def test_frame_rate_verdicts() -> None:
    assert frame_rate_verdict(1000 / 90, 1000 / 90).level == "ok"
    low = frame_rate_verdict(1000 / 70, 1000 / 90)
    assert low.level == "low" and "below the headset's 90 Hz" in low.text
    danger = frame_rate_verdict(1000 / 2.5, 1000 / 90)
    assert danger.level == "danger" and "cybersickness" in danger.text and "2.5 fps" in danger.text
    assert frame_rate_verdict(1000 / 60, 0.0).level == "ok"  # headset rate unknown: only the floor
    assert frame_rate_verdict(1000 / 30, 0.0).level == "danger"
