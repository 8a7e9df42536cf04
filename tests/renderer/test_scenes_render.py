"""Both scenes rendered offscreen: every preset draws a place, spiders grow with intensity, events
and legs animate, and the safe place fades in through black rather than cutting."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from panda3d.core import NodePath

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_scene
from vr_exposure.core.specs import SceneSpec
from vr_exposure.renderer.stage import Stage
from vr_exposure.renderer.still import OffscreenView, render_still

pytestmark = pytest.mark.renderer

ROOT = Path(__file__).resolve().parents[2]
SIZE = (192, 108)
DT = 1 / 30


@pytest.fixture(scope="module")
def specs() -> dict[str, SceneSpec]:
    return {name: load_scene(ROOT / "scenes" / f"{name}.yaml") for name in ("spiders", "safe-place")}


class Rig:
    def __init__(self, base: Any) -> None:
        self.top = NodePath("test-scene")
        self.clock = FakeClock()
        self.view = OffscreenView(
            self.top, size=SIZE, fov_deg=100.0, engine=base.graphicsEngine, pipe=base.pipe, host=base.win
        )
        self.stage = Stage(self.top, clock=self.clock, rng_seed=2, shadow_size_px=512)

    def look(self, heading: float = 0.0, pitch: float = -30.0) -> None:
        self.view.look_from((0.0, 0.0, self.stage.eye_height_m), (heading, pitch, 0.0))

    def step(self, seconds: float) -> None:
        for _ in range(max(1, round(seconds / DT))):
            self.clock.advance(DT)
            self.stage.update(DT)

    def close(self) -> None:
        self.stage.destroy()
        self.view.close()
        self.top.removeNode()


@pytest.fixture
def rig(showbase: Any) -> Iterator[Rig]:
    r = Rig(showbase)
    yield r
    r.close()


def _looks_like_a_place(img: np.ndarray) -> None:
    assert img.mean() > 25, "the frame is (nearly) black"
    assert img.std() > 12, "the frame is (nearly) one flat colour"
    # Texture and lighting: many distinct colours, not a handful of flat fills.
    assert len(np.unique(img.reshape(-1, 3) // 4, axis=0)) > 120


@pytest.mark.parametrize("scene", ["spiders", "safe-place"])
def test_every_preset_renders_a_place(rig: Rig, specs: dict[str, SceneSpec], scene: str) -> None:
    spec = specs[scene]
    frames = []
    for preset in spec.presets:
        rig.stage.load(spec, preset=preset)
        rig.step(0.1)
        assert rig.stage.scene is not None
        rig.look(*rig.stage.scene.preferred_view(rig.stage.eye_height_m))
        img = rig.view.render()
        _looks_like_a_place(img)
        frames.append(img)
    assert len(frames) == len(spec.presets)


def test_more_spider_pixels_at_higher_intensity(rig: Rig, specs: dict[str, SceneSpec]) -> None:
    counts = []
    for intensity in (0, 45, 60, 76, 96):
        rig.stage.load(specs["spiders"], intensity=intensity)
        rig.look(15.0, -35.0)
        counts.append(int(rig.view.render_mask("spider").sum()))
    assert counts[0] == 0, "spiders visible at intensity 0"
    assert all(b > a for a, b in zip(counts, counts[1:], strict=False)), counts


def test_walk_toward_comes_closer_in_the_picture(rig: Rig, specs: dict[str, SceneSpec]) -> None:
    rig.stage.load(specs["spiders"], preset="free-moving")
    scene = rig.stage.scene
    assert scene is not None
    spider = scene.anchor("nearest-spider")
    assert spider is not None
    p = spider.getPos(rig.top)
    rig.view.lens.setFov(40.0)
    rig.look(
        -math.degrees(math.atan2(p.x, p.y)), math.degrees(math.atan2(p.z - 1.2, math.hypot(p.x, p.y))) - 8
    )
    before = rig.view.render_mask("spider")
    rig.stage.trigger_event("walk-toward")
    rig.step(3.0)
    after = rig.view.render_mask("spider")
    assert before.sum() > 0
    # Closer to the patient: lower in the frame and larger.
    assert np.nonzero(after)[0].mean() > np.nonzero(before)[0].mean() + 2
    assert after.sum() > before.sum()


def test_legs_step_while_spiders_walk(rig: Rig, specs: dict[str, SceneSpec]) -> None:
    rig.stage.load(specs["spiders"], preset="many-spiders-moving")
    rig.step(0.5)
    scene = rig.stage.scene
    assert scene is not None
    walker = next(sp for sp in scene.spiders if sp.visible and sp.target is not None)  # type: ignore[attr-defined]
    hips_before = [tuple(h.getHpr()) for h in walker.hips]
    rig.look(15.0, -35.0)
    mask_before = rig.view.render_mask("spider")
    rig.step(0.1)
    hips_after = [tuple(h.getHpr()) for h in walker.hips]
    assert sum(a != b for a, b in zip(hips_before, hips_after, strict=True)) >= 6, "the legs do not move"
    # The two gait groups swing in opposite directions (tetrapod gait).
    swing = [after[0] - before[0] for before, after in zip(hips_before, hips_after, strict=True)]
    assert any(s > 0 for s in swing) and any(s < 0 for s in swing)
    assert (rig.view.render_mask("spider") != mask_before).sum() > 0


def test_safe_place_fades_through_black_instead_of_cutting(rig: Rig, specs: dict[str, SceneSpec]) -> None:
    rig.stage.load(specs["spiders"], preset="spider-on-desk")
    rig.look(0.0, -20.0)
    start = rig.view.render().mean()
    rig.stage.go_to_safe_place(specs["safe-place"], fade_s=0.5)
    means = []
    scenes = []
    for _ in range(45):
        rig.step(DT)
        means.append(float(rig.view.render().mean()))
        scenes.append(rig.stage.scene_id)
    swap = scenes.index("safe-place")
    assert min(means) < 2.0, "never fully black"
    assert means[swap] < 2.0, "the scene changed while visible"
    out, back = [start, *means[:swap]], means[swap:]
    assert all(b <= a + 0.5 for a, b in zip(out, out[1:], strict=False)), "the fade out is not monotone"
    assert all(b >= a - 0.5 for a, b in zip(back, back[1:], strict=False)), "the fade in is not monotone"
    jumps = np.abs(np.diff([start, *means]))
    assert jumps.max() < 0.3 * max(start, means[-1]), "a cut, not a fade"
    assert means[-1] > 25


def test_render_still_gives_a_png(showbase: Any, specs: dict[str, SceneSpec]) -> None:
    png = render_still(specs["safe-place"], preset="dusk", size=(160, 90), multisamples=0, base=showbase)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 2000


def test_gpu_sway_bends_a_node_as_setp_would(showbase: Any) -> None:
    """``shading.sway`` bends a node on the GPU exactly as ``setP`` of the same angle does in Python
    (the grass in the safe place), and a node without it does not move."""
    import math as _math

    from panda3d.core import AmbientLight, DirectionalLight

    from vr_exposure.renderer import procedural as proc
    from vr_exposure.renderer import shading

    def scene(bend_on_gpu: bool, angle_deg: float) -> np.ndarray:
        top = NodePath("sway-test")
        shading.apply_scene_shader(top, shadows=False)
        amb = top.attachNewNode(AmbientLight("amb"))
        amb.node().setColor((0.4, 0.4, 0.4, 1))
        sun = top.attachNewNode(DirectionalLight("sun"))
        sun.node().setColor((0.8, 0.8, 0.8, 1))
        sun.setHpr(30, -50, 0)
        top.setLight(amb)
        top.setLight(sun)
        pivot = top.attachNewNode("pivot")
        pivot.setPos(0, 3, -0.9)
        stalk = pivot.attachNewNode(proc.box("stalk", (0.4, 0.4, 1.8)))
        stalk.setZ(0.9)  # the box's centre: its foot at the pivot
        stalk.setColor(0.2, 0.7, 0.3, 1)
        stalk.flattenLight()
        if bend_on_gpu:
            # angle = gain * weight * (0.6 + 0.4 * sin(rate * t + phase)); sin(pi/2) = 1 at t = 0.
            shading.sway(pivot, weight=1.0, rate_rad_s=1.3, phase_rad=_math.pi / 2)
            shading.set_sway_clock(top, 0.0, _math.radians(angle_deg))
        else:
            pivot.setP(angle_deg)
        view = OffscreenView(
            top,
            size=SIZE,
            fov_deg=80.0,
            engine=showbase.graphicsEngine,
            pipe=showbase.pipe,
            host=showbase.win,
        )
        try:
            view.look_from((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
            return view.render()
        finally:
            view.close()
            top.removeNode()

    def changed(a: np.ndarray, b: np.ndarray) -> float:
        """Share of pixels that differ visibly."""
        return float((np.abs(a.astype(int) - b.astype(int)).sum(axis=2) > 30).mean())

    upright = scene(False, 0.0)
    for angle in (25.0, -40.0):
        reference = scene(False, angle)
        bent = scene(True, angle)
        assert changed(reference, upright) > 0.03, "the bend shows"
        assert changed(bent, reference) < 0.002, angle
    assert changed(scene(True, 0.0), upright) < 0.002
