"""What the patient sees in the ``heights`` scene, measured from rendered depth, not from what the
builder set: the ground straight below the edge is farther away as intensity rises, and the barrier
that fills the view just below the horizon at intensity 0 is gone at 100; and the demo runs the
heights protocol. Small frames (the CI
machine is slow); the scene's clock is stepped, never waited for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .apphelpers import DepthView, assert_demo_climbed, run_demo

pytestmark = pytest.mark.renderer

SIZE = (96, 64)
#: A near plane of 0.5 m keeps 24-bit depth precise to centimetres at 200 m.
NEAR_M, FAR_M = 0.5, 2000.0


def _look(view: DepthView, intensity: float, pitch_deg: float) -> np.ndarray:
    """Metres to what each pixel shows at ``intensity``, looking straight ahead (+Y) from the
    seated patient's eyes, ``pitch_deg`` down."""
    view.load(intensity)
    return view.look(0.0, pitch_deg)


@pytest.fixture
def depth_view(showbase: Any) -> Iterator[DepthView]:
    view = DepthView(showbase, "heights", size=SIZE, near_m=NEAR_M, far_m=FAR_M)
    yield view
    view.close()


def test_the_ground_below_the_edge_is_farther_as_intensity_rises(depth_view: DepthView) -> None:
    # Looking down 35 degrees, as a patient looks over the edge: the farthest tenth of what is seen
    # is the plaza beyond the edge once the platform is high, the barrier or the floor at ground level.
    seen = {}
    for intensity in (0, 30, 58, 80, 100):
        metres = _look(depth_view, intensity, -35.0)
        finite = metres[np.isfinite(metres)]
        assert finite.size > 0.6 * metres.size, f"intensity {intensity}: looking down shows mostly sky"
        seen[intensity] = float(np.percentile(finite, 90))
    ordered = [seen[i] for i in sorted(seen)]
    assert ordered == sorted(ordered) and len(set(ordered)) == len(ordered), seen
    # The plaza is at least the platform's height away (depth along the view axis of a point h
    # below the eyes, seen 35 degrees down or steeper, is at least h * sin(35) ... here it is the
    # far tenth, so more); at ground level everything below the horizon is within the terrace.
    for intensity in (30, 58, 80, 100):
        height = depth_view.spec.values_at(intensity)["height_m"]
        assert seen[intensity] > height, (intensity, height, seen)
    assert seen[0] < 6.0, seen


def test_the_barrier_below_the_horizon_is_gone_at_100(depth_view: DepthView) -> None:
    near_band = {}
    for intensity in (0, 100):
        metres = _look(depth_view, intensity, -10.0)
        # Rows between the horizon and 15 degrees below it: at 0 the parapet stands there.
        rows = metres.shape[0]
        band = metres[rows // 2 + rows // 16 : rows // 2 + rows // 4]
        near_band[intensity] = float(np.mean(band < 6.0))
    assert near_band[0] > 0.8, near_band
    assert near_band[100] < 0.05, near_band


def test_the_demo_runs_the_heights_protocol_headless(tmp_path: Path) -> None:
    """The simulated patient climbs the heights ladder: the scene loads, SUDS is rated, the
    therapist moves up at least one rung and fires only the scene's own events."""
    log = run_demo("heights-graded", tmp_path / "sessions", minutes=0.3)
    assert_demo_climbed(log, "heights", "heights-graded")
