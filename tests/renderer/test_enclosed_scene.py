"""What the patient sees in the ``enclosed`` scene, measured from rendered depth, not from what the
builder set: the free space round the head (depth read back looking ahead, left, right, behind and
up) shrinks from the room to the lifts, the crawl space and the MRI bore as intensity rises; the
door ahead shuts the view of the corridor; and the demo runs the enclosed protocol. Small frames
(the CI machine is slow); the scene's clock is stepped, never waited for."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .apphelpers import DepthView, assert_demo_climbed, run_demo

pytestmark = pytest.mark.renderer

SIZE = (48, 48)
NEAR_M, FAR_M = 0.05, 50.0
#: (heading, pitch) of the five looks: ahead, left, behind, right, up.
DIRECTIONS = ((0.0, 0.0), (90.0, 0.0), (180.0, 0.0), (-90.0, 0.0), (0.0, 80.0))


class EnclosedView(DepthView):
    """The enclosed scene in a small square view whose depth is read back in metres."""

    def __init__(self, base: Any) -> None:
        super().__init__(base, "enclosed", size=SIZE, near_m=NEAR_M, far_m=FAR_M)

    def free_space_m(self, intensity: float) -> tuple[float, list[float]]:
        """The geometric mean, over the five looks, of the median distance to what fills each view."""
        self.load(intensity)
        medians = [float(np.median(self.look(h, p))) for h, p in DIRECTIONS]
        assert all(math.isfinite(m) for m in medians), f"intensity {intensity}: a look sees out of the scene"
        return float(np.exp(np.mean(np.log(medians)))), medians


@pytest.fixture
def depth_view(showbase: Any) -> Iterator[EnclosedView]:
    view = EnclosedView(showbase)
    yield view
    view.close()


def test_the_free_space_round_the_head_shrinks_as_intensity_rises(depth_view: EnclosedView) -> None:
    # One intensity in each space: the room, the large lift, the small lift, the crawl space, the bore.
    seen = {i: depth_view.free_space_m(i) for i in (0, 30, 48, 82, 100)}
    free = [seen[i][0] for i in sorted(seen)]
    assert all(a > b * 1.1 for a, b in zip(free, free[1:], strict=False)), seen
    # In the room the walls stand metres away; in the bore the tube is within half a metre on every
    # side and above (the look ahead runs along the bore to its far end).
    assert free[0] > 1.5, seen
    assert max(seen[100][1][1:]) < 0.5, seen


def test_the_door_ahead_shuts_out_the_corridor(depth_view: EnclosedView) -> None:
    # Looking ahead at the door in the office: open, the corridor beyond it shows through the doorway
    # (farther than the far wall, 3.5 m ahead); closed, nothing in the doorway is beyond the wall.
    beyond = {}
    for intensity in (0, 15):
        depth_view.load(intensity)
        metres = depth_view.look(0.0, 0.0)
        beyond[intensity] = float(np.mean(metres > 3.6))
    assert beyond[0] > 0.02, beyond
    assert beyond[15] == 0.0, beyond


def test_the_demo_runs_the_enclosed_protocol_headless(tmp_path: Path) -> None:
    """The simulated patient climbs the enclosed ladder: the scene loads, SUDS is rated, the
    therapist moves up at least one rung and fires only the scene's own events."""
    log = run_demo("enclosed-graded", tmp_path / "sessions", minutes=0.3)
    assert_demo_climbed(log, "enclosed", "enclosed-graded")
