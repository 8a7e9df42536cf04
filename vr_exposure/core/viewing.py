"""What the patient sees, in numbers both the console (live) and research tools (offline) can use:
whether a stimulus is in the patient's field of view, from the head pose and the stimulus's position,
and whether the frame rate is fit for a headset.

Pure functions on plain tuples: no numpy, no Qt, no Panda3D. Poses are in the renderer's tracking space
with Panda3D's axes (+X right, +Y forward, +Z up; ``head_pose`` and ``stimulus_positions`` on the
wire), orientations unit quaternions ``(x, y, z, w)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]

FIELD_OF_VIEW_HALF_ANGLE_DEG = 30.0
"""A stimulus within this angle of the head's forward direction counts as in view (head gaze: the
eyes may look further, so this is the part of the view the patient is facing)."""

CYBERSICKNESS_FPS = 45.0
"""Below this frame rate a headset picture lags head motion enough to risk cybersickness."""

HEADSET_RATE_MARGIN = 0.10
"""A frame rate more than this fraction below the headset's own rate is worth a warning."""


def head_forward(orientation_xyzw: Quat) -> Vec3:
    """The unit vector the head faces: +Y rotated by the orientation."""
    x, y, z, w = orientation_xyzw
    n = math.sqrt(x * x + y * y + z * z + w * w) or 1.0
    x, y, z, w = x / n, y / n, z / n, w / n
    # The second column of the rotation matrix of (x, y, z, w).
    return (2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x))


def gaze_angle_deg(head_position_m: Vec3, orientation_xyzw: Quat, target_m: Vec3) -> float:
    """Degrees between where the head faces and the direction to ``target_m`` (0: straight ahead,
    180: behind). A target at the head's own position is 0."""
    dx = target_m[0] - head_position_m[0]
    dy = target_m[1] - head_position_m[1]
    dz = target_m[2] - head_position_m[2]
    distance = math.sqrt(dx * dx + dy * dy + dz * dz)
    if distance < 1e-9:
        return 0.0
    fx, fy, fz = head_forward(orientation_xyzw)
    cos = (fx * dx + fy * dy + fz * dz) / distance
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def nearest_stimulus_angle_deg(
    head_position_m: Vec3, orientation_xyzw: Quat, stimuli_m: Iterable[Vec3]
) -> float | None:
    """The smallest gaze angle to any of ``stimuli_m`` (None when there are none)."""
    angles = [gaze_angle_deg(head_position_m, orientation_xyzw, p) for p in stimuli_m]
    return min(angles) if angles else None


def in_view(angle_deg: float | None, half_angle_deg: float = FIELD_OF_VIEW_HALF_ANGLE_DEG) -> bool:
    return angle_deg is not None and angle_deg <= half_angle_deg


@dataclass(frozen=True)
class FrameRateVerdict:
    """``level``: ``ok``, ``low`` (below the headset's rate by more than the margin) or ``danger``
    (below :data:`CYBERSICKNESS_FPS`); ``text`` says it in words for the therapist."""

    level: str
    fps: float
    headset_hz: float | None
    text: str


def frame_rate_verdict(
    median_frame_ms: float, display_period_ms: float = 0.0, margin: float = HEADSET_RATE_MARGIN
) -> FrameRateVerdict:
    """Judge a renderer's median frame time against the headset's rate (``display_period_ms``; 0 when
    not known: only the cybersickness floor applies)."""
    fps = 1000.0 / median_frame_ms if median_frame_ms > 0 else 0.0
    headset_hz = 1000.0 / display_period_ms if display_period_ms > 0 else None
    rate = "" if headset_hz is None else f" (headset {headset_hz:.0f} Hz)"
    if fps < CYBERSICKNESS_FPS:
        return FrameRateVerdict(
            "danger",
            fps,
            headset_hz,
            f"FRAME RATE {fps:.1f} fps{rate}: below {CYBERSICKNESS_FPS:.0f} fps, a cybersickness risk — "
            "consider the safe place or a pause; check the headset PC's load",
        )
    if headset_hz is not None and fps < headset_hz * (1.0 - margin):
        return FrameRateVerdict(
            "low",
            fps,
            headset_hz,
            f"Frame rate {fps:.0f} fps, below the headset's {headset_hz:.0f} Hz: frames are dropped "
            "(watch for discomfort)",
        )
    return FrameRateVerdict("ok", fps, headset_hz, f"Frame rate {fps:.0f} fps{rate}")
