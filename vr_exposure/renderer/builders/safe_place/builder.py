"""The ``safe-place`` builder: a quiet sandy beach at dusk.

The patient sits on the sand at the origin facing the sea (+Y). Dunes with swaying grass rise behind
and to the sides; slow waves wash up the shore (a foam line that rolls in and draws back at
``wave_period_s``), the sea's surface drifts and swells with ``wave_amplitude_m``; a low sun
(``sun_elevation_deg``) lights everything warm (``light_warmth``) through soft fog. Nothing moves fast
and nothing approaches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from panda3d.core import NodePath, TextureStage, TransparencyAttrib

from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.materials import material, part
from vr_exposure.renderer.blocks.sky import TimeOfDay
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance
from vr_exposure.renderer.builders.safe_place import sounds as _sounds  # noqa: F401 - registers its sounds

SHORE_Y = 7.0
SEA_Z = -0.32
SUN_HEADING_DEG = -18.0
#: A grass tuft bends up to this far (degrees) in full wind, swaying at this rate (rad/s).
TUFT_BEND_DEG = 14.0
TUFT_SWAY_RATE = 1.7


def _sand_height(x: float, y: float) -> float:
    """The beach: flat where the patient sits, sloping into the sea, dunes rising behind and aside."""
    slope = -0.05 * max(y - 2.0, 0.0) if y < 40 else -1.9
    behind = max(-y - 2.5, 0.0)
    side = max(abs(x) - 6.0, 0.0)
    dune = 1.6 * (1.0 - math.exp(-0.25 * behind)) + 1.2 * (1.0 - math.exp(-0.15 * side)) * (
        1.0 if y < 5 else math.exp(-(y - 5) * 0.4)
    )
    ripple = 0.25 * math.sin(x * 0.35 + 1.3) * math.sin(y * 0.27) * (1.0 - math.exp(-0.3 * (behind + side)))
    return slope + dune + ripple


class SafePlaceScene(SceneInstance):
    def __init__(self, ctx: BuildContext) -> None:
        root = ctx.parent.attachNewNode(f"scene-{ctx.spec.id}")
        super().__init__(root)
        self.rng = ctx.rng
        self.t_s = 0.0
        shading.apply_scene_shader(root, shadows=ctx.shadow_size_px > 0)
        self.sky = TimeOfDay(
            root,
            focus=(0.0, 3.0, 0.0),
            film_m=24.0,
            shadow_size_px=ctx.shadow_size_px,
            heading_deg=SUN_HEADING_DEG,
        )
        self._build_land(root)
        self._build_sea(root)
        self._values: dict[str, float] = {}
        self.wave_amplitude_m = 0.2
        self.wave_period_s = 9.0
        self.wind = 0.1

    def _build_land(self, root: NodePath) -> None:
        land = root.attachNewNode("land")
        sand = part(
            land,
            proc.grid_plane("sand", 160.0, 160.0, 64, 64, uv_repeat=(60, 60), height=_sand_height),
            (0.0, 0.0, 0.0),
            texture="sand",
            mat=material((1, 1, 1), specular=0.05),
        )
        sand.setName("sand")
        rng = np.random.default_rng(5)
        # Rocks and a driftwood log near the waterline, wooden fence posts on the dune.
        rock_mat = material((0.42, 0.40, 0.38), specular=0.15)
        for x, y, s in (
            (-3.5, 5.2, 0.35),
            (-3.0, 5.6, 0.2),
            (4.2, 6.0, 0.45),
            (5.0, 5.4, 0.25),
            (-7.5, 8.5, 0.6),
        ):
            r = part(
                land,
                proc.sphere("rock", 1.0, rings=6, segments=9),
                (x, y, _sand_height(x, y) - s * 0.3),
                mat=rock_mat,
            )
            r.setScale(s * 1.4, s, s * 0.7)
            r.setH(float(rng.uniform(0, 360)))
        log = part(
            land,
            proc.cylinder("driftwood", 0.12, 2.6, segments=10, radius_end=0.08),
            (1.4, 3.2, 0.07),
            texture="wood-fine",
            mat=material((0.75, 0.68, 0.6), specular=0.05),
            hpr=(-70, 2, 0),
        )
        log.setName("driftwood")
        post_mat = material((0.45, 0.36, 0.28))
        for k in range(9):
            x, y = -9.0 + k * 1.5, -4.0 - 0.3 * math.sin(k)
            part(
                land,
                proc.cylinder("post", 0.05, 1.0, segments=6),
                (x, y, _sand_height(x, y) - 0.2),
                mat=post_mat,
                hpr=(0, 90 - float(rng.uniform(-8, 8)), 0),
            )
        land.flattenStrong()
        # Grass tufts on the dunes, one node each so the wind can bend them at their roots (on the
        # GPU: shading.sway; the frame loop only sets the wind's clock).
        self.tufts: list[tuple[NodePath, float]] = []
        grass = self.grass = root.attachNewNode("grass")
        tuft_geoms = [proc.grass_tuft(f"tuft-{k}", 26, 0.55, rng) for k in range(4)]
        placed = 0
        while placed < 70:
            x = float(rng.uniform(-22, 22))
            y = float(rng.uniform(-12, 8))
            if abs(x) < 6.5 and y > -3.0:
                continue
            z = _sand_height(x, y)
            if z < 0.15:
                continue
            # The pivot keeps the world's orientation so every tuft bends the same way in the wind.
            pivot = grass.attachNewNode("tuft")
            pivot.setPos(x, y, z - 0.02)
            tuft = NodePath(tuft_geoms[placed % 4]).copyTo(pivot)  # its own copy: flattened below
            tuft.setScale(float(rng.uniform(0.8, 1.6)))
            tuft.setH(float(rng.uniform(0, 360)))
            # The tuft's turn and size go into its own vertices (Panda3D flattens a node's own
            # transform too), so it bends about the pivot's world-aligned axis.
            tuft.flattenLight()
            phase = float(rng.uniform(0, 2 * math.pi))
            shading.sway(pivot, rate_rad_s=TUFT_SWAY_RATE, phase_rad=phase)
            self.tufts.append((pivot, phase))
            placed += 1
        grass.setMaterial(material((1, 1, 1), specular=0.02), 1)
        grass.setTwoSided(True)
        # A far headland on the left, blue in the haze.
        head = part(
            root,
            proc.sphere("headland", 1.0, rings=10, segments=18),
            (-140.0, 260.0, -6.0),
            mat=material((0.35, 0.36, 0.40)),
        )
        head.setScale(120.0, 40.0, 22.0)

    def _build_sea(self, root: NodePath) -> None:
        sea = part(
            root,
            proc.plane("sea", 900.0, 700.0, uv_repeat=(180, 140)),
            (0.0, SHORE_Y + 350.0, SEA_Z),
            texture="water",
            mat=material((0.9, 0.95, 1.0), specular=0.9, shininess=80),
        )
        sea.setName("sea")
        self.sea = sea
        self.sea_stage = TextureStage.getDefault()
        foam_tex = proc.named_texture("foam")
        self.foams: list[tuple[NodePath, float, float]] = []
        for name, y0, span, phase in (
            ("shore-foam", SHORE_Y + 1.4, 1.0, 0.0),
            ("breaker-foam", SHORE_Y + 9.0, 6.0, 0.45),
        ):
            f = part(
                root,
                proc.plane(name, 160.0, 3.0, uv_repeat=(40, 1)),
                (0.0, y0, SEA_Z + 0.03),
                mat=material((1, 1, 1), specular=0.4),
            )
            f.setTexture(foam_tex, 1)
            f.setTransparency(TransparencyAttrib.M_alpha)
            f.setDepthWrite(False)
            f.setBin("transparent", 5)
            self.foams.append((f, y0, phase))
            f.setPythonTag("span", span)

    # --------------------------------------------------------------------------------------- values

    def apply(self, values: Mapping[str, float]) -> None:
        self._values = dict(values)
        self.wave_amplitude_m = values.get("wave_amplitude_m", 0.2)
        self.wave_period_s = max(values.get("wave_period_s", 9.0), 1.0)
        self.wind = values.get("wind_strength", 0.1)
        self.sky.set(
            elevation_deg=values.get("sun_elevation_deg", 12.0), warmth=values.get("light_warmth", 0.7)
        )

    # ------------------------------------------------------------------------------------ per frame

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        t = self.t_s
        period = self.wave_period_s
        w = 2.0 * math.pi * t / period
        amp = self.wave_amplitude_m
        # The sea drifts slowly toward the shore and breathes with the swell.
        self.sea.setTexOffset(self.sea_stage, 0.013 * t, -0.035 * t)
        self.sea.setZ(SEA_Z + 0.25 * amp * math.sin(w))
        for foam, y0, phase in self.foams:
            span = foam.getPythonTag("span")
            # Each wave rolls in fast, draws back slowly: a skewed cycle.
            c = ((t / period) + phase) % 1.0
            reach = math.sin(math.pi * min(c / 0.4, 1.0) * 0.5) if c < 0.4 else 1.0 - (c - 0.4) / 0.6
            foam.setY(y0 - span * amp / 0.3 * reach)
            foam.setAlphaScale(0.25 + 0.75 * reach)
        gust = 0.6 + 0.4 * math.sin(t * 0.31)
        shading.set_sway_clock(self.grass, t, math.radians(self.wind * TUFT_BEND_DEG * gust))


@register_builder("safe-place")
def build_safe_place(ctx: BuildContext) -> SceneInstance:
    return SafePlaceScene(ctx)
