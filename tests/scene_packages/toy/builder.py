"""The ``toy-cubes`` builder: a floor, a sky, and up to six cubes tagged as the stimulus."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from panda3d.core import NodePath

from vr_exposure.core.contract import STIMULUS_TAG_KEY
from vr_exposure.core.specs import Event
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.materials import material, part
from vr_exposure.renderer.blocks.sky import Sun, sky_dome
from vr_exposure.renderer.blocks.sound import RATE_HZ, register_synth
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance

from .contract import CONTRACT, MAX_CUBES


@register_synth("toy-hum")
def _toy_hum(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(2 * RATE_HZ) / RATE_HZ
    return 0.5 * np.sin(2 * math.pi * 110.0 * t) * (0.6 + 0.4 * np.sin(2 * math.pi * 1.0 * t))


class ToyScene(SceneInstance):
    def __init__(self, ctx: BuildContext) -> None:
        super().__init__(ctx.parent.attachNewNode(f"scene-{ctx.spec.id}"))
        shading.apply_scene_shader(self.root, shadows=ctx.shadow_size_px > 0)
        Sun(
            self.root,
            direction=(0.4, 0.7, -0.6),
            color=(1.0, 0.97, 0.9),
            ambient=(0.35, 0.35, 0.38),
            focus=(0.0, 2.0, 0.0),
            film_m=10.0,
            shadow_size_px=ctx.shadow_size_px,
        )
        sky_dome(
            self.root,
            80.0,
            [(-1.0, (0.4, 0.4, 0.4, 1)), (0.0, (0.8, 0.85, 0.9, 1)), (1.0, (0.4, 0.6, 0.9, 1))],
        )
        part(
            self.root,
            proc.plane("floor", 60.0, 60.0, uv_repeat=(60, 60)),
            (0.0, 3.0, 0.0),
            texture="plaster",
            mat=material((0.7, 0.7, 0.7)),
        )
        red = material((0.85, 0.12, 0.1), specular=0.3, shininess=30)
        self.cubes: list[NodePath] = []
        for i in range(MAX_CUBES):
            cube = part(self.root, proc.box(f"cube-{i}", (0.3, 0.3, 0.3)), (0.0, 0.0, 0.15), mat=red)
            cube.setTag(STIMULUS_TAG_KEY, CONTRACT.stimulus_tag or "cube")
            cube.hide()
            self.cubes.append(cube)
        self.count = 0
        self.t_s = 0.0
        self._spin_until_s = -1.0
        self._spin_s = 1.0

    def apply(self, values: Mapping[str, float]) -> None:
        self.count = max(0, min(MAX_CUBES, int(round(values["cube_count"]))))
        distance = values["cube_distance_m"]
        for i, cube in enumerate(self.cubes):
            if i < self.count:
                angle = math.radians((i - (self.count - 1) / 2) * 18.0)
                cube.setPos(distance * math.sin(angle), distance * math.cos(angle), 0.15)
                cube.show()
            else:
                cube.hide()

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        if self.t_s < self._spin_until_s:
            left = (self._spin_until_s - self.t_s) / self._spin_s
            for cube in self.cubes:
                cube.setH(360.0 * (1.0 - left))

    def start_event(self, name: str, event: Event) -> None:  # "spin", the only one it animates
        self._spin_s = event.duration_s
        self._spin_until_s = self.t_s + event.duration_s

    def event_running(self, name: str) -> bool:
        return self.t_s < self._spin_until_s

    def anchor(self, name: str) -> NodePath | None:
        if name == "nearest-cube" and self.count > 0:
            return self.cubes[0]
        return None

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        """Toward the first cube (straight ahead, 10 degrees down with none)."""
        if self.count == 0:
            return 0.0, -10.0
        p = self.cubes[0].getPos(self.root)
        return 0.0, math.degrees(math.atan2(p.z - eye_height_m, math.hypot(p.x, p.y)))


@register_builder("toy-cubes")
def build_toy(ctx: BuildContext) -> SceneInstance:
    return ToyScene(ctx)
