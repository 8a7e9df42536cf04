"""The live gaze measure: is the stimulus in the patient's field of view, and for how long not."""

from __future__ import annotations

import math

from vr_exposure.console.gaze import LOOK_AWAY_WARN_S, GazeTracker
from vr_exposure.link import messages as m


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _pose(heading_deg: float) -> m.HeadPose:
    half = math.radians(heading_deg) / 2
    return m.HeadPose(
        frame=1,
        t_mono_ns=1,
        position_m=(0.0, 0.0, 1.2),
        orientation_xyzw=(0, 0, math.sin(half), math.cos(half)),
    )


def _jar(*positions: tuple[float, float, float]) -> m.StimulusPositions:
    return m.StimulusPositions(
        frame=1,
        t_mono_ns=1,
        stimuli=tuple(
            m.StimulusPosition(node=f"jar-{i}", tag="spider", position_m=p) for i, p in enumerate(positions)
        ),
    )


def test_in_view_away_and_the_look_away_warning() -> None:
    clock = _Clock()
    gaze = GazeTracker(clock=clock)
    assert gaze.status().level == "none"
    gaze.on_stimuli(_jar((0.5, 3.0, 1.0)))
    assert gaze.status().text == "head pose not known"
    gaze.on_head_pose(_pose(0))
    s = gaze.status()
    assert s.level == "in-view" and s.text.startswith("spider in view (") and s.angle_deg is not None
    gaze.on_head_pose(_pose(120))  # turned away
    assert gaze.status().level == "away"
    clock.now += LOOK_AWAY_WARN_S - 1
    gaze.on_stimuli(_jar((0.5, 3.0, 1.0)))
    assert gaze.status().level == "away" and gaze.status().away_s == LOOK_AWAY_WARN_S - 1
    clock.now += 1
    gaze.on_stimuli(_jar((0.5, 3.0, 1.0)))
    warn = gaze.status()
    assert warn.level == "warn" and "looking away from the spider for 15 s" in warn.text
    gaze.on_head_pose(_pose(0))  # looks back: the count starts again
    assert gaze.status().level == "in-view"
    gaze.on_head_pose(_pose(120))
    assert gaze.status().away_s == 0


def test_nearest_stimulus_counts_and_stale_or_empty_positions_say_nothing() -> None:
    clock = _Clock()
    gaze = GazeTracker(clock=clock)
    gaze.on_head_pose(_pose(0))
    gaze.on_stimuli(_jar((0.0, -3.0, 1.2), (0.0, 3.0, 1.2)))  # one behind, one ahead
    assert gaze.status().level == "in-view"
    gaze.on_stimuli(_jar())  # the last stimulus went
    assert gaze.status().level == "none"
    gaze.on_stimuli(_jar((0.0, 3.0, 1.2)))
    clock.now += 5  # no positions for 5 s: nothing known
    assert gaze.status().level == "none"
