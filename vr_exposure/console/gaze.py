"""Whether the patient is looking at the feared object, live, from the renderer's telemetry.

The renderer publishes the head pose every frame and, about 10 times a second while a stimulus is
shown, where the scene's nodes tagged ``stimulus`` are (``stimulus_positions``). :class:`GazeTracker`
keeps the latest of each and says, when asked (the window asks a few times a second, not per frame),
whether the nearest stimulus is within the field of view (head gaze within
:data:`~vr_exposure.core.viewing.FIELD_OF_VIEW_HALF_ANGLE_DEG`), how long the patient has looked
away from it, and warns after :data:`LOOK_AWAY_WARN_S`. The measure itself is
:mod:`vr_exposure.core.viewing`, shared with the research tools. No Qt here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vr_exposure.core.viewing import FIELD_OF_VIEW_HALF_ANGLE_DEG, nearest_stimulus_angle_deg
from vr_exposure.link import messages as m

LOOK_AWAY_WARN_S = 15.0
STALE_AFTER_S = 2.0  # positions come at 10 Hz while a stimulus is shown: older ones say nothing


@dataclass(frozen=True)
class GazeStatus:
    """``level``: ``none`` (no stimulus shown, or nothing known), ``in-view``, ``away``, ``warn``
    (away for :data:`LOOK_AWAY_WARN_S` or longer)."""

    level: str
    text: str
    angle_deg: float | None = None
    away_s: float = 0.0


class GazeTracker:
    def __init__(
        self,
        *,
        half_angle_deg: float = FIELD_OF_VIEW_HALF_ANGLE_DEG,
        warn_after_s: float = LOOK_AWAY_WARN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.half_angle_deg = half_angle_deg
        self.warn_after_s = warn_after_s
        self.clock = clock
        self._pose: m.HeadPose | None = None
        self._stimuli: m.StimulusPositions | None = None
        self._stimuli_at = 0.0
        self._away_since: float | None = None

    def on_head_pose(self, pose: m.HeadPose) -> None:
        self._pose = pose

    def on_stimuli(self, positions: m.StimulusPositions) -> None:
        self._stimuli = positions
        self._stimuli_at = self.clock()

    def reset(self) -> None:
        self._pose = self._stimuli = None
        self._away_since = None

    def status(self) -> GazeStatus:
        now = self.clock()
        stimuli, pose = self._stimuli, self._pose
        if stimuli is None or not stimuli.stimuli or now - self._stimuli_at > STALE_AFTER_S:
            self._away_since = None
            return GazeStatus("none", "no stimulus shown")
        if pose is None:
            self._away_since = None
            return GazeStatus("none", "head pose not known")
        name = stimuli.stimuli[0].tag or "stimulus"
        angle = nearest_stimulus_angle_deg(
            pose.position_m, pose.orientation_xyzw, (s.position_m for s in stimuli.stimuli)
        )
        assert angle is not None
        if angle <= self.half_angle_deg:
            self._away_since = None
            return GazeStatus("in-view", f"{name} in view ({angle:.0f}° from gaze)", angle)
        if self._away_since is None:
            self._away_since = now
        away_s = now - self._away_since
        if away_s >= self.warn_after_s:
            text = f"looking away from the {name} for {away_s:.0f} s ({angle:.0f}°)"
            return GazeStatus("warn", text, angle, away_s)
        return GazeStatus("away", f"{name} out of view ({angle:.0f}°) for {away_s:.0f} s", angle, away_s)
