"""What the patient sees in the ``enclosed`` scene, measured from rendered depth, not from what the
builder set: the free space round the head (depth read back looking ahead, left, right, behind and
up) shrinks from the room to the lifts, the crawl space and the MRI bore as intensity rises; the
door ahead shuts the view of the corridor; and the demo runs the enclosed protocol. Small frames
(the CI machine is slow); the scene's clock is stepped, never waited for."""

from __future__ import annotations

import math
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
SIZE = (48, 48)
NEAR_M, FAR_M = 0.05, 50.0
#: (heading, pitch) of the five looks: ahead, left, behind, right, up.
DIRECTIONS = ((0.0, 0.0), (90.0, 0.0), (180.0, 0.0), (-90.0, 0.0), (0.0, 80.0))


class DepthView:
    """A stage with the enclosed scene and a small square view whose depth is read back in metres."""

    def __init__(self, base: Any) -> None:
        library = load_library([ROOT / "scenes"], [ROOT / "protocols"], contracts=contracts())
        self.spec = library.scene("enclosed")
        self.top = NodePath("enclosed-depth-test")
        self.stage = Stage(self.top, clock=FakeClock(), rng_seed=4, shadow_size_px=0)
        self.view = OffscreenView(
            self.top, size=SIZE, fov_deg=90.0, engine=base.graphicsEngine, pipe=base.pipe, host=base.win
        )
        self.view.lens.setNearFar(NEAR_M, FAR_M)
        self.depth = Texture("depth")
        self.view.buffer.addRenderTexture(self.depth, GraphicsOutput.RTM_copy_ram, GraphicsOutput.RTP_depth)

    def load(self, intensity: float) -> None:
        self.stage.load(self.spec, intensity=intensity)
        for _ in range(6):
            self.stage.update(1 / 30)

    def look(self, heading_deg: float, pitch_deg: float) -> np.ndarray:
        """Metres along the view axis to whatever each pixel shows, from the seated patient's eyes."""
        self.view.look_from((0.0, 0.0, self.stage.eye_height_m), (heading_deg, pitch_deg, 0.0))
        self.view.render()
        raw = np.frombuffer(bytes(self.depth.getRamImage()), dtype=_dtype(self.depth))
        d = raw.reshape(self.depth.getYSize(), self.depth.getXSize())[::-1][: SIZE[1], : SIZE[0]].astype(
            float
        )
        if self.depth.getComponentType() != Texture.T_float:
            d = d / float(np.iinfo(raw.dtype).max)
        with np.errstate(divide="ignore"):
            metres = NEAR_M * FAR_M / (FAR_M - d * (FAR_M - NEAR_M))
        metres[d >= 0.999999] = np.inf
        return metres  # type: ignore[no-any-return]

    def free_space_m(self, intensity: float) -> tuple[float, list[float]]:
        """The geometric mean, over the five looks, of the median distance to what fills each view."""
        self.load(intensity)
        medians = [float(np.median(self.look(h, p))) for h, p in DIRECTIONS]
        assert all(math.isfinite(m) for m in medians), f"intensity {intensity}: a look sees out of the scene"
        return float(np.exp(np.mean(np.log(medians)))), medians

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


def test_the_free_space_round_the_head_shrinks_as_intensity_rises(depth_view: DepthView) -> None:
    # One intensity in each space: the room, the large lift, the small lift, the crawl space, the bore.
    seen = {i: depth_view.free_space_m(i) for i in (0, 30, 48, 82, 100)}
    free = [seen[i][0] for i in sorted(seen)]
    assert all(a > b * 1.1 for a, b in zip(free, free[1:], strict=False)), seen
    # In the room the walls stand metres away; in the bore the tube is within half a metre on every
    # side and above (the look ahead runs along the bore to its far end).
    assert free[0] > 1.5, seen
    assert max(seen[100][1][1:]) < 0.5, seen


def test_the_door_ahead_shuts_out_the_corridor(depth_view: DepthView) -> None:
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
            "enclosed-graded",
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
    assert "enclosed" in loaded
    assert log.by_type("suds_recorded"), "no SUDS rating recorded"
    assert log.by_type("rung_changed"), "the therapist never moved up the ladder"
    fired = {r.content["event"] for r in log.by_type("event_fired")}
    library = load_library([ROOT / "scenes"], [ROOT / "protocols"], contracts=contracts())
    assert fired <= set(library.scene("enclosed").events), fired
    assert log.manifest is not None and log.manifest.protocol == "enclosed-graded"
