"""What the patient sees in the ``heights`` scene, measured from rendered depth, not from what the
builder set: the ground straight below the edge is farther away as intensity rises, and the barrier
that fills the view just below the horizon at intensity 0 is gone at 100; and the demo runs the
heights protocol. Small frames (the CI
machine is slow); the scene's clock is stepped, never waited for."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from panda3d.core import GraphicsOutput, NodePath, Texture

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library
from vr_exposure.journal import read_session
from vr_exposure.renderer.builders import contracts
from vr_exposure.renderer.stage import Stage
from vr_exposure.renderer.still import OffscreenView

pytestmark = pytest.mark.renderer

ROOT = Path(__file__).resolve().parents[2]
SIZE = (96, 64)
NEAR_M, FAR_M = 0.5, 2000.0


class DepthView:
    """A stage with the heights scene and a small view whose depth buffer is read back in metres."""

    def __init__(self, base: Any) -> None:
        library = load_library([ROOT / "scenes"], [ROOT / "protocols"], contracts=contracts())
        self.spec = library.scene("heights")
        self.top = NodePath("heights-depth-test")
        self.stage = Stage(self.top, clock=FakeClock(), rng_seed=4, shadow_size_px=0)
        self.view = OffscreenView(
            self.top, size=SIZE, fov_deg=90.0, engine=base.graphicsEngine, pipe=base.pipe, host=base.win
        )
        # A near plane of 0.5 m keeps 24-bit depth precise to centimetres at 200 m.
        self.view.lens.setNearFar(NEAR_M, FAR_M)
        self.depth = Texture("depth")
        self.view.buffer.addRenderTexture(self.depth, GraphicsOutput.RTM_copy_ram, GraphicsOutput.RTP_depth)

    def look(self, intensity: float, pitch_deg: float) -> np.ndarray:
        """Metres along the view axis to whatever each pixel shows (inf for the sky), looking
        straight ahead (+Y) from the seated patient's eyes, ``pitch_deg`` down."""
        self.stage.load(self.spec, intensity=intensity)
        for _ in range(6):
            self.stage.update(1 / 30)
        self.view.look_from((0.0, 0.0, self.stage.eye_height_m), (0.0, pitch_deg, 0.0))
        self.view.render()
        raw = np.frombuffer(bytes(self.depth.getRamImage()), dtype=_dtype(self.depth))
        d = raw.reshape(self.depth.getYSize(), self.depth.getXSize())[::-1][: SIZE[1], : SIZE[0]].astype(
            float
        )
        if self.depth.getComponentType() != Texture.T_float:
            d = d / float(np.iinfo(raw.dtype).max)
        with np.errstate(divide="ignore"):
            metres = NEAR_M * FAR_M / (FAR_M - d * (FAR_M - NEAR_M))
        metres[d >= 0.999999] = np.inf  # the sky dome writes no depth
        return metres  # type: ignore[no-any-return]

    def close(self) -> None:
        self.stage.destroy()
        self.view.close()
        self.top.removeNode()


def _dtype(tex: Texture) -> Any:
    return {
        Texture.T_float: np.float32,
        Texture.T_unsigned_int: np.uint32,
        Texture.T_unsigned_short: np.uint16,
        Texture.T_unsigned_int_24_8: np.uint32,
    }[tex.getComponentType()]


@pytest.fixture
def depth_view(showbase: Any) -> Iterator[DepthView]:
    view = DepthView(showbase)
    yield view
    view.close()


def test_the_ground_below_the_edge_is_farther_as_intensity_rises(depth_view: DepthView) -> None:
    # Looking down 35 degrees, as a patient looks over the edge: the farthest tenth of what is seen
    # is the plaza beyond the edge once the platform is high, the barrier or the floor at ground level.
    seen = {}
    for intensity in (0, 30, 58, 80, 100):
        metres = depth_view.look(intensity, -35.0)
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
        metres = depth_view.look(intensity, -10.0)
        # Rows between the horizon and 15 degrees below it: at 0 the parapet stands there.
        rows = metres.shape[0]
        band = metres[rows // 2 + rows // 16 : rows // 2 + rows // 4]
        near_band[intensity] = float(np.mean(band < 6.0))
    assert near_band[0] > 0.8, near_band
    assert near_band[100] < 0.05, near_band


def test_the_demo_runs_the_heights_protocol_headless(tmp_path: Path) -> None:
    """The simulated patient climbs the heights ladder: the scene loads, SUDS is rated, the
    therapist moves up at least one rung and fires only the scene's own events."""
    sessions = tmp_path / "sessions"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "demo",
            "--protocol",
            "heights-graded",
            "--minutes",
            "0.3",
            "--headless",
            "--quiet",
            "--sessions",
            str(sessions),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    match = re.search(r"^session directory: (.+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    log = read_session(Path(match.group(1)))
    loaded = [r.content["scene"] for r in log.by_type("scene_loaded") if r.process == "renderer"]
    assert "heights" in loaded
    assert [r for r in log.by_type("suds_recorded") if r.process == "console"], "no SUDS rating recorded"
    assert log.by_type("rung_changed"), "the therapist never moved up the ladder"
    fired = {r.content["event"] for r in log.by_type("event_fired")}
    library = load_library([ROOT / "scenes"], [ROOT / "protocols"], contracts=contracts())
    assert fired <= set(library.scene("heights").events), fired
    assert log.manifest is not None and log.manifest.protocol == "heights-graded"
