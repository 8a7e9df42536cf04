"""The ``combat-convoy`` builder: the patient rides in an armoured vehicle of a convoy on a desert road.

Frames: the patient's eyes are at the origin of the scene root, ``eye_height_m`` up. Everything else
hangs under a *rig* placed so that the chosen position's eye point in the vehicle (the passenger or
driver seat, or standing in the roof turret: :data:`EYES`) lands on the eyes; in the rig the road is
at z = 0, the vehicle's centre line at x = 0 and it faces +Y. The vehicle (interior, bonnet, roof,
turret, crew) rides in a *cabin* node that only
:class:`~vr_exposure.renderer.blocks.ride.RideMotion` and a hit's jolt move. The vehicle never moves
along the road: the road, four 100 m strips of scenery (mud-brick villages with a mosque, open desert
with palm groves; market stalls and the people by the road ride on the strips) scroll past and wrap
round behind the haze, so nothing is built after the constructor.

Motion stays within the ride block's caps, the hit's jolt included: after the jolt is added, the
cabin's offset from rest is clamped to :data:`~vr_exposure.renderer.blocks.ride.MAX_VIBRATION_M`
vertically, :data:`~vr_exposure.renderer.blocks.ride.MAX_ACCEL_PITCH_DEG` in pitch and
:data:`~vr_exposure.renderer.blocks.ride.MAX_SWAY_DEG` in roll.

Sound anchors: OpenAL's inverse-distance model (reference 0.3 m) makes a helicopter at 100 m all
but silent. Each distant anchor therefore sits on the line from the eyes to its source at a
compressed distance (:func:`compressed_m`): OpenAL pans it by the true direction, and nearer sources
are still louder, gently.

Presentation stays within what a clinic uses: no gore, no one is shown wounded; a blast is a flash,
a fireball and smoke, and what follows is heard on the radio.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from panda3d.core import (
    AmbientLight,
    Material,
    NodePath,
    PointLight,
    TextureStage,
    TransparencyAttrib,
    Vec3,
    Vec4,
)

from vr_exposure.core.contract import STIMULUS_TAG_KEY
from vr_exposure.core.specs import Event
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, glow, material, part
from vr_exposure.renderer.blocks.people import Figure
from vr_exposure.renderer.blocks.ride import (
    MAX_ACCEL_PITCH_DEG,
    MAX_SWAY_DEG,
    MAX_VIBRATION_M,
    RideMotion,
)
from vr_exposure.renderer.blocks.sky import TimeOfDay
from vr_exposure.renderer.blocks.vehicles import Car, road
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance
from vr_exposure.renderer.builders.combat_convoy import sounds as _sounds  # noqa: F401 - registers its sounds
from vr_exposure.renderer.builders.combat_convoy import textures as _textures  # noqa: F401 - and textures
from vr_exposure.renderer.builders.combat_convoy.contract import CONTRACT, MAX_CROWD

TAG = CONTRACT.stimulus_tag or "people"
#: Eye points in the vehicle (x right, y forward, z up from the road) for position 0, 1, 2.
EYES = {0: (0.5, 0.0, 1.72), 1: (-0.5, 0.0, 1.72), 2: (0.0, -0.7, 2.75)}
POSITIONS = ("passenger", "driver", "turret")
STRIP_M = 100.0
STRIPS = 4
STRIP_START_M = -50.0
ROAD_PERIOD_M = 12.0
ROAD_LENGTH_M = 480.0
LANE_M = 3.5
#: The convoy's pace: slower through a busy roadside.
QUIET_SPEED_M_S = 10.0
BUSY_SPEED_M_S = 5.0
#: The vehicles of the convoy, distance ahead (negative: behind).
CONVOY_Y_M = (20.0, 48.0, -24.0)
ROOFTOP_FIGURES = 5
HIT_S = 0.9
TAN = (0.7, 0.62, 0.46)
NV_TINT = (0.32, 1.15, 0.38)
SAND_FOG = (0.74, 0.62, 0.45)
ROBES = ((0.9, 0.88, 0.82), (0.55, 0.52, 0.48), (0.42, 0.33, 0.24), (0.75, 0.72, 0.65), (0.3, 0.3, 0.32))
SKIN = (0.6, 0.43, 0.31)


@functools.cache
def _material(diffuse: tuple[float, ...], *, specular: float = 0.05, shininess: float = 10.0) -> Material:
    """One shared Material per look: parts that share it share a render state, so flattening the
    static strips merges them into a few Geoms (each new Material object is a state of its own)."""
    return material(diffuse, specular=specular, shininess=shininess)


def compressed_m(distance_m: float) -> float:
    """The distance a sound anchor is placed at for a source ``distance_m`` away (see module doc)."""
    return 1.0 + max(distance_m, 0.0) / 15.0


def _ease(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _puff_node(
    parent: NodePath, name: str, color: tuple[float, float, float], size_m: float = 1.0
) -> NodePath:
    """A camera-facing soft puff (smoke, dust) of ``size_m`` at scale 1, unlit, fogged, alpha-blended."""
    holder = parent.attachNewNode(name)
    quad = holder.attachNewNode(proc.plane(f"{name}-quad", size_m, size_m))
    quad.setP(90.0)
    quad.setTexture(proc.named_texture("convoy-puff"), 1)
    holder.setColor(color[0], color[1], color[2], 1.0)
    holder.setBillboardPointEye()
    shading.unlit(holder, fog=True)
    holder.setTransparency(TransparencyAttrib.M_alpha)
    holder.setDepthWrite(False)
    holder.setTwoSided(True)
    holder.setBin("transparent", 30)
    holder.hide(SHADOW_MASK)
    holder.hide()
    return holder


@dataclass
class _Span:
    start_s: float
    duration_s: float
    strength: float
    data: dict[str, float] = field(default_factory=dict)


class SandDust:
    """Grains of blowing sand in a box around the vehicle, in ``groups`` separately shown groups
    (each one Geom), blown across the view from the left; built once, only shown and moved."""

    def __init__(
        self, parent: NodePath, *, rng: np.random.Generator, grains: int = 2400, groups: int = 8
    ) -> None:
        self.node = parent.attachNewNode("sand-dust")
        self.width_m = 26.0
        self.groups: list[NodePath] = []
        per = max(1, grains // groups)
        for g in range(groups):
            group = self.node.attachNewNode(f"dust-{g}")
            for _ in range(per):
                # Thin streaks of sand along the wind, each a blur of grains in flight.
                x = float(rng.uniform(-self.width_m / 2, self.width_m / 2))
                y = float(rng.uniform(1.6, 22.0))
                z = float(rng.uniform(0.0, 5.0))
                s = float(rng.uniform(0.006, 0.018))
                grain = group.attachNewNode(proc.plane("grain", s * 18.0, s))
                grain.setPos(x, y, z)
                grain.setHpr(float(rng.uniform(-8, 8)), 90.0, float(rng.uniform(-10, 10)))
            group.flattenStrong()
            group.copyTo(group).setX(-self.width_m)
            group.flattenStrong()
            group.hide()
            self.groups.append(group)
        self.node.setColor(0.8, 0.7, 0.52, 0.45)
        shading.unlit(self.node, fog=True)
        self.node.setTransparency(TransparencyAttrib.M_alpha)
        self.node.setDepthWrite(False)
        self.node.setTwoSided(True)
        self.node.setBin("transparent", 20)
        self.node.hide(SHADOW_MASK)
        self._offsets = [float(rng.uniform(0, self.width_m)) for _ in range(groups)]
        self.level = 0.0

    def set_level(self, level: float) -> None:
        self.level = _clamp(level, 0.0, 1.0)
        shown = int(round(self.level * len(self.groups)))
        for i, group in enumerate(self.groups):
            if i < shown:
                group.show()
            else:
                group.hide()

    def update(self, dt_s: float) -> None:
        speed = 4.0 + 10.0 * self.level
        for i, group in enumerate(self.groups):
            if group.isHidden():
                continue
            self._offsets[i] = (self._offsets[i] + speed * (1.0 + 0.1 * i) * dt_s) % self.width_m
            group.setX(self._offsets[i])


class CombatConvoyScene(SceneInstance):
    def __init__(self, ctx: BuildContext) -> None:
        root = ctx.parent.attachNewNode(f"scene-{ctx.spec.id}")
        super().__init__(root)
        self.rng = ctx.rng
        self.eye_m = ctx.eye_height_m
        self.t_s = 0.0
        shading.apply_scene_shader(root, shadows=ctx.shadow_size_px > 0)
        self.sky = TimeOfDay(
            root,
            focus=(0.0, 14.0, 0.0),
            film_m=44.0,
            shadow_size_px=ctx.shadow_size_px,
            heading_deg=28.0,
            sky_radius_m=430.0,
            fog_density=0.005,
        )
        # A haze dome over the sky for the sandstorm and the night-vision glow (the sky is unfogged).
        self.haze = root.attachNewNode(proc.sphere("haze-dome", 400.0, rings=8, segments=16, inside=True))
        shading.unlit(self.haze)
        self.haze.setTransparency(TransparencyAttrib.M_alpha)
        self.haze.setBin("background", 8)
        self.haze.setDepthWrite(False)
        self.haze.setDepthTest(False)
        self.haze.hide(SHADOW_MASK)
        self.haze.hide()
        # Amplified light for night vision, moonlight at night; dark by day.
        self.fill = AmbientLight("night-fill")
        self.fill.setColor(Vec4(0, 0, 0, 1))
        root.setLight(root.attachNewNode(self.fill))
        self.flash = AmbientLight("blast-flash")
        self.flash.setColor(Vec4(0, 0, 0, 1))
        root.setLight(root.attachNewNode(self.flash))
        self.rig = root.attachNewNode("rig")
        self.world = self.rig.attachNewNode("world")
        self._build_ground()
        self._build_road()
        self._build_scenery()
        self._build_convoy()
        self.cabin = self.rig.attachNewNode("cabin")
        self._build_vehicle()
        # The vehicle casts no sun shadow: its roof would put the whole interior in shade and its
        # near-horizontal bonnet would self-shadow in stripes (acne) at this shadow map's scale.
        self.cabin.hide(SHADOW_MASK)
        self.ride = RideMotion(self.cabin)
        self.dust = SandDust(self.rig, rng=self.rng)
        self.headlamp = PointLight("headlamps")
        self.headlamp.setColor(Vec4(0, 0, 0, 1))
        self.headlamp.setAttenuation(Vec3(1.0, 0.04, 0.004))
        lamp = self.cabin.attachNewNode(self.headlamp)
        lamp.setPos(0.0, 12.0, 2.2)
        root.setLight(lamp)
        self._build_events()
        self._build_anchors()
        self._values: dict[str, float] = {}
        self.position = 0
        self.speed_m_s = QUIET_SPEED_M_S
        self.halt = 1.0  # a share of the pace: a blast or a hit halts the convoy
        self.distance_m = 0.0
        self.vibration = 0.0
        self.storm = 0.0
        self.night_vision = False
        self.events: dict[str, _Span] = {}
        self._gaze_next = 0

    # ------------------------------------------------------------------------------------ building

    def _build_ground(self) -> None:
        self.ground = part(
            self.rig,
            proc.plane("desert", 1200.0, 1200.0, uv_repeat=(300, 300)),
            (0.0, 150.0, -0.03),
            texture="sand",
            mat=_material((0.98, 0.9, 0.78), specular=0.02),
        )
        self.ground_stage = TextureStage.getDefault()
        # Low dunes and a far ridge on the horizon, too far off to need to scroll.
        hills = self.rig.attachNewNode("horizon")
        dune = _material((0.85, 0.74, 0.56), specular=0.02)
        rng = self.rng
        for k in range(16):
            a = 2 * math.pi * k / 16 + float(rng.uniform(-0.1, 0.1))
            r = float(rng.uniform(280, 340))
            h = part(
                hills,
                proc.sphere("dune", 1.0, rings=6, segments=12),
                (r * math.sin(a), r * math.cos(a), -6.0),
                mat=dune,
            )
            h.setScale(float(rng.uniform(50, 90)), float(rng.uniform(30, 50)), float(rng.uniform(14, 26)))
            h.setH(-math.degrees(a))
        hills.flattenStrong()

    def _build_road(self) -> None:
        roads = self.world.attachNewNode("roads")
        self.roads = roads
        asphalt = road(roads, length_m=ROAD_LENGTH_M, lanes=2, center=(0.0, 0.0), dash_m=3.0, gap_m=9.0)
        asphalt.setName("road")
        asphalt.setColorScale(1.15, 1.06, 0.92, 1.0)  # a sun-bleached, dusty road
        for x in (-LANE_M - 1.2, LANE_M + 1.2):
            part(
                roads,
                proc.plane("shoulder", 2.4, ROAD_LENGTH_M, uv_repeat=(0.6, ROAD_LENGTH_M / 4.0)),
                (x, 0.0, -0.005),
                texture="sand",
                mat=_material((0.72, 0.62, 0.48), specular=0.02),
            )
        roads.setY(ROAD_LENGTH_M / 2 - 60.0)
        self.roads_y0 = roads.getY()

    # -- scenery strips -----------------------------------------------------------------------------

    def _build_scenery(self) -> None:
        """Four strips, village (A) and open desert (B) alternating. Each strip holds its static
        geometry (flattened), its market stalls (flattened, shown with activity), its lit windows
        (shown at dusk and night) and its people (figures, animated)."""
        self.scenery = self.world.attachNewNode("scenery")
        self.house_roofs: list[tuple[float, float, float]] = []
        self.stalls: dict[str, list[tuple[float, float, int]]] = {
            "A": [],
            "B": [],
        }  # (x, y, side)  # strip A: (x, y, roof z) near the road
        self.minaret_xy = (27.0, 62.0)
        self.minaret_top_z = 21.0
        built: dict[str, NodePath] = {}
        self.strips: list[NodePath] = []
        self.kinds: list[str] = []
        for k in range(STRIPS):
            kind = "A" if k % 2 == 0 else "B"
            if kind not in built:
                strip = self.scenery.attachNewNode(f"strip-{kind}")
                static = strip.attachNewNode("static")
                market = strip.attachNewNode("market")
                windows = strip.attachNewNode("windows")
                if kind == "A":
                    self._village(static, market, windows)
                else:
                    self._open_desert(static, market, windows)
                for node in (static, market, windows):
                    node.flattenStrong()
                glow(windows)
                built[kind] = strip
            else:
                strip = built[kind].copyTo(self.scenery)
            strip.setName(f"strip-{k}")
            strip.setY(STRIP_START_M + k * STRIP_M)
            self.strips.append(strip)
            self.kinds.append(kind)
        self.strip_y = [s.getY() for s in self.strips]
        self.markets = [s.find("market") for s in self.strips]
        self.windows = [s.find("windows") for s in self.strips]
        self._build_crowd()

    def _house(
        self,
        static: NodePath,
        windows: NodePath,
        x: float,
        y: float,
        w: float,
        d: float,
        h: float,
        facing: float,
        wall: Material,
    ) -> None:
        """A flat-roofed mud-brick house ``w`` along the road, ``d`` deep, ``h`` high, its front at
        ``x - facing * d / 2`` toward the road (``facing`` +1 on the right of the road, -1 left)."""
        rng = self.rng
        mat = wall
        part(static, proc.box("house", (d, w, h)), (x, y, h / 2), texture="convoy-mud-brick", mat=mat)
        # Parapet round the roof.
        for dx, dy, sx, sy in (
            (0, w / 2, d, 0.2),
            (0, -w / 2, d, 0.2),
            (d / 2, 0, 0.2, w),
            (-d / 2, 0, 0.2, w),
        ):
            part(
                static,
                proc.box("parapet", (sx + 0.05, sy + 0.05, 0.6)),
                (x + dx, y + dy, h + 0.3),
                texture="convoy-mud-brick",
                mat=mat,
            )
        front = x - facing * (d / 2 + 0.02)
        dark = _material((0.08, 0.06, 0.05), specular=0.02)
        door_y = y + float(rng.uniform(-w / 4, w / 4))
        part(static, proc.box("doorway", (0.06, 1.1, 2.1)), (front, door_y, 1.05), mat=dark)
        lit = _material((1.0, 0.72, 0.38))
        storeys = 2 if h > 5.5 else 1
        for s in range(storeys):
            z = 1.7 + 2.8 * s
            for wy in np.linspace(y - w / 2 + 1.2, y + w / 2 - 1.2, max(1, int(w // 3))):
                if abs(float(wy) - door_y) < 1.0 and s == 0:
                    continue
                part(static, proc.box("window", (0.06, 0.7, 0.8)), (front, float(wy), z), mat=dark)
                if rng.random() < 0.45:
                    part(
                        windows,
                        proc.box("window-light", (0.07, 0.6, 0.7)),
                        (front - facing * 0.01, float(wy), z),
                        mat=lit,
                    )
        if rng.random() < 0.5:  # a water tank on the roof
            part(
                static,
                proc.cylinder("water-tank", 0.5, 1.0, segments=8),
                (x + float(rng.uniform(-d / 4, d / 4)), y, h),
                mat=_material((0.35, 0.37, 0.4), specular=0.3),
                hpr=(0, 90, 0),
            )

    def _palm(self, static: NodePath, x: float, y: float, h: float) -> None:
        """A date palm: a slender, slightly leaning trunk and a crown of drooping fronds."""
        rng = self.rng
        trunk = _material((0.45, 0.36, 0.26), specular=0.03)
        frond = _material((0.28, 0.38, 0.16), specular=0.05)
        lean = float(rng.uniform(-6, 6))
        part(
            static,
            proc.cylinder("palm-trunk", 0.22, h, segments=6, radius_end=0.16),
            (x, y, 0.0),
            mat=trunk,
            hpr=(0, 90 + lean, 0),
        )
        top = (x, y + h * math.sin(math.radians(lean)), h * math.cos(math.radians(lean)))
        for k in range(9):
            heading = k * 40.0 + float(rng.uniform(-10, 10))
            droop = float(rng.uniform(-35, -10))
            f = part(static, proc.box("frond", (0.5, 3.0, 0.04)), top, mat=frond, hpr=(heading, droop, 0))
            f.setPos(f, 0.0, 1.4, 0.0)
        part(
            static,
            proc.sphere("dates", 0.35, rings=4, segments=6),
            (top[0], top[1], top[2] - 0.35),
            mat=_material((0.5, 0.3, 0.12)),
        )

    def _stall(self, market: NodePath, kind: str, x: float, y: float, facing: int) -> None:
        """A market stall by the road: a table of goods under a striped awning on four poles."""
        rng = self.rng
        self.stalls[kind].append((x, y, facing))
        wood = _material((0.5, 0.38, 0.25), specular=0.05)
        part(market, proc.box("stall-table", (1.4, 2.4, 0.8)), (x, y, 0.4), mat=wood)
        for dx in (-0.75, 0.75):
            for dy in (-1.2, 1.2):
                part(market, proc.box("stall-pole", (0.06, 0.06, 2.3)), (x + dx, y + dy, 1.15), mat=wood)
        part(
            market,
            proc.box("awning", (1.9, 2.8, 0.04), uv_per_m=0.6),
            (x, y, 2.3),
            texture="convoy-awning",
            mat=_material((1, 1, 1), specular=0.05),
            hpr=(0, 0, facing * 8.0),
        )
        goods = ((0.85, 0.45, 0.1), (0.55, 0.7, 0.2), (0.75, 0.15, 0.1), (0.85, 0.75, 0.3), (0.5, 0.32, 0.2))
        for k in range(5):
            c = goods[int(rng.integers(0, len(goods)))]
            part(
                market,
                proc.box("goods", (0.4, 0.4, 0.25)),
                (x + float(rng.uniform(-0.4, 0.4)), y - 0.9 + 0.45 * k, 0.92),
                mat=_material(c, specular=0.1),
            )
        # Sacks and crates on the ground in front.
        part(market, proc.box("crates", (0.6, 0.8, 0.5)), (x - facing * 1.1, y + 0.6, 0.25), mat=wood)

    def _village(self, static: NodePath, market: NodePath, windows: NodePath) -> None:
        rng = self.rng
        walls = [
            _material(c, specular=0.04) for c in ((1.0, 0.96, 0.9), (0.92, 0.86, 0.78), (1.05, 1.0, 0.92))
        ]
        for side in (-1, 1):
            y = float(rng.uniform(0, 6))
            while y < STRIP_M - 8:
                if side > 0 and abs(y - self.minaret_xy[1]) < 12:
                    y += 14
                    continue
                w, d = float(rng.uniform(7, 11)), float(rng.uniform(6, 9))
                h = float(rng.choice([3.4, 3.8, 6.2, 6.8]))
                setback = float(rng.uniform(10.0, 13.0))
                x = side * (setback + d / 2)
                self._house(static, windows, x, y + w / 2, w, d, h, side, walls[int(y) % 3])
                if abs(x) < 20:
                    self.house_roofs.append((x, y + w / 2, h))
                y += w + float(rng.uniform(1.5, 6.0))
        # A compound wall between the houses and the road on the left, with a gate gap.
        for y0, y1 in ((6.0, 38.0), (46.0, 80.0)):
            part(
                static,
                proc.box("compound-wall", (0.4, y1 - y0, 2.2)),
                (-9.2, (y0 + y1) / 2, 1.1),
                texture="convoy-mud-brick",
                mat=walls[1],
            )
        # The mosque: a domed hall and its minaret.
        stone = _material((0.93, 0.9, 0.84), specular=0.08)
        mx, my = self.minaret_xy
        part(
            static, proc.box("mosque", (12.0, 14.0, 6.5)), (mx + 8.0, my, 3.25), texture="plaster", mat=stone
        )
        dome = part(
            static,
            proc.sphere("dome", 5.0, rings=8, segments=14),
            (mx + 8.0, my, 6.5),
            mat=_material((0.45, 0.62, 0.62), specular=0.3),
        )
        dome.setScale(1.0, 1.0, 0.85)
        part(
            static,
            proc.cylinder("minaret", 1.3, 15.0, segments=10),
            (mx, my, 0.0),
            texture="plaster",
            mat=stone,
            hpr=(0, 90, 0),
        )
        part(
            static,
            proc.cylinder("minaret-balcony", 1.9, 0.7, segments=10),
            (mx, my, 14.6),
            mat=stone,
            hpr=(0, 90, 0),
        )
        part(
            static,
            proc.cylinder("minaret-top", 0.9, 4.0, segments=10),
            (mx, my, 15.3),
            texture="plaster",
            mat=stone,
            hpr=(0, 90, 0),
        )
        part(
            static,
            proc.cylinder("minaret-cap", 1.1, 2.4, segments=10, radius_end=0.05),
            (mx, my, 19.2),
            mat=_material((0.45, 0.62, 0.62), specular=0.3),
            hpr=(0, 90, 0),
        )
        for _ in range(7):
            self._palm(
                static,
                float(rng.choice([-1, 1])) * float(rng.uniform(16, 40)),
                float(rng.uniform(0, STRIP_M)),
                float(rng.uniform(6, 10)),
            )
        # Parked cars on the dirt shoulder.
        for x, y, c in (
            (5.6, 18.0, (0.86, 0.86, 0.82)),
            (-5.8, 52.0, (0.55, 0.62, 0.72)),
            (5.8, 84.0, (0.7, 0.16, 0.12)),
        ):
            car = Car(static, color=c, name="parked-car")
            car.root.setPos(x, y, 0.0)
            car.root.setH(float(rng.uniform(-8, 8)) + (180.0 if x < 0 else 0.0))
        pole = _material((0.35, 0.3, 0.25))
        for y in (10.0, 45.0, 80.0):
            part(
                static,
                proc.cylinder("power-pole", 0.1, 8.0, segments=5),
                (7.2, y, 0.0),
                mat=pole,
                hpr=(0, 90, 0),
            )
            part(static, proc.box("pole-arm", (1.4, 0.1, 0.1)), (7.2, y, 7.6), mat=pole)
        for side in (-1, 1):
            for k, y in enumerate((14.0, 26.0, 58.0, 70.0)):
                self._stall(market, "A", side * float(rng.uniform(6.6, 7.4)), y + 1.5 * k * side, side)

    def _open_desert(self, static: NodePath, market: NodePath, windows: NodePath) -> None:
        rng = self.rng
        walls = [_material(c, specular=0.04) for c in ((0.98, 0.92, 0.84), (0.9, 0.84, 0.74))]
        for k in range(5):
            side = 1 if k % 2 == 0 else -1
            w, d, h = float(rng.uniform(6, 9)), float(rng.uniform(6, 8)), float(rng.choice([3.4, 3.8, 6.2]))
            x = side * float(rng.uniform(24, 60))
            self._house(static, windows, x, float(rng.uniform(5, STRIP_M - 5)), w, d, h, side, walls[k % 2])
        # A palm grove on the right, scattered palms on the left.
        for _ in range(11):
            self._palm(
                static, float(rng.uniform(14, 34)), float(rng.uniform(20, 75)), float(rng.uniform(7, 11))
            )
        for _ in range(4):
            self._palm(
                static, -float(rng.uniform(12, 45)), float(rng.uniform(0, STRIP_M)), float(rng.uniform(6, 10))
            )
        # A low mud wall along a field, rubble, a burnt-out car's shell by the road.
        part(
            static,
            proc.box("field-wall", (0.5, 60.0, 1.2)),
            (12.0, 48.0, 0.6),
            texture="convoy-mud-brick",
            mat=walls[1],
        )
        rubble = _material((0.62, 0.54, 0.42))
        for _ in range(8):
            r = part(
                static,
                proc.box(
                    "rubble",
                    (
                        float(rng.uniform(0.3, 1.0)),
                        float(rng.uniform(0.3, 1.0)),
                        float(rng.uniform(0.2, 0.5)),
                    ),
                ),
                (-float(rng.uniform(5.5, 8.0)), float(rng.uniform(0, STRIP_M)), 0.1),
                mat=rubble,
            )
            r.setH(float(rng.uniform(0, 90)))
        shell = Car(static, color=(0.2, 0.18, 0.16), name="burnt-car")
        shell.root.setPos(-7.5, 66.0, -0.1)
        shell.root.setHpr(35.0, 0.0, 4.0)
        pole = _material((0.35, 0.3, 0.25))
        for y in (20.0, 55.0, 90.0):
            part(
                static,
                proc.cylinder("power-pole", 0.1, 8.0, segments=5),
                (7.2, y, 0.0),
                mat=pole,
                hpr=(0, 90, 0),
            )
        for k, y in enumerate((30.0, 40.0)):
            self._stall(market, "B", 7.0, y + 2.0 * k, 1)

    def _build_crowd(self) -> None:
        """People on every strip: shoppers at the stalls (shown first, as activity rises), then
        people close to the road. A village strip has more of both than an open one."""
        self.crowd: list[tuple[int, int, Figure]] = []  # (order shown, strip index, figure)
        rng = self.rng
        per_kind = {"A": (5, 6), "B": (1, 0)}  # (at the stalls, by the road)
        assert sum(per_kind[k][0] + per_kind[k][1] for k in self.kinds) == MAX_CROWD
        shoppers = sum(per_kind[k][0] for k in self.kinds)
        ranks = {"shop": 0, "road": shoppers}
        for k, strip in enumerate(self.strips):
            kind = self.kinds[k]
            stalls = self.stalls[kind]
            at_stalls, by_road = per_kind[kind]
            for j in range(at_stalls + by_road):
                woman = rng.random() < 0.35
                robe = (0.08, 0.07, 0.08) if woman else ROBES[int(rng.integers(0, len(ROBES)))]
                fig = Figure(
                    strip,
                    rng=rng,
                    height_m=float(rng.uniform(1.55, 1.85)),
                    shirt=robe,
                    trousers=robe,
                    skin=SKIN,
                    hair=(0.06, 0.05, 0.05),
                    name=f"local-{k}-{j}",
                )
                if j < at_stalls:
                    sx, sy, side = stalls[j % len(stalls)]
                    x, y = sx - side * float(rng.uniform(1.2, 1.6)), sy + float(rng.uniform(-1.0, 1.0))
                    group = "shop"
                else:
                    # Knots of three close to the road, on alternate sides.
                    knot = (j - at_stalls) // 3
                    side = 1 if (knot + k) % 2 == 0 else -1
                    centre = 30.0 + 45.0 * knot
                    x = side * float(rng.uniform(4.3, 5.4))
                    y = centre + float(rng.uniform(-2.5, 2.5))
                    group = "road"
                fig.root.setPos(x, y, 0.0)
                fig.root.setH(90.0 * side + float(rng.uniform(-35, 35)))  # facing the road
                fig.root.setTag(STIMULUS_TAG_KEY, TAG)
                fig.root.hide()
                self.crowd.append((ranks[group], k, fig))
                ranks[group] += 1
        self._crowd_y = [fig.root.getY() for _o, _k, fig in self.crowd]
        self._shown_crowd: list[int] = []

    # -- vehicles -----------------------------------------------------------------------------------

    def _armoured(self, parent: NodePath, name: str) -> NodePath:
        """The exterior of a Humvee-like armoured truck facing +Y: body, bonnet, cab with dark
        armoured windows, roof turret with its shield, four big wheels, whip antennas."""
        truck = parent.attachNewNode(name)
        body = truck.attachNewNode(f"{name}-body")
        paint = _material(TAN, specular=0.15)
        dark = _material((0.06, 0.07, 0.08), specular=0.7, shininess=60)
        black = _material((0.05, 0.05, 0.05), specular=0.1)
        part(body, proc.box("hull", (2.3, 5.0, 0.9)), (0.0, 0.2, 0.95), texture="plaster", mat=paint)
        part(
            body,
            proc.box("bonnet", (2.2, 1.9, 0.3)),
            (0.0, 1.8, 1.5),
            texture="plaster",
            mat=paint,
            hpr=(0, -3, 0),
        )
        part(body, proc.box("cab", (2.1, 2.6, 0.62)), (0.0, -0.6, 1.72), texture="plaster", mat=paint)
        part(body, proc.box("windscreen", (1.9, 0.05, 0.5)), (0.0, 0.71, 1.7), mat=dark)
        for x in (-1.06, 1.06):
            part(body, proc.box("side-window", (0.04, 1.8, 0.4)), (x, -0.5, 1.72), mat=dark)
        part(body, proc.box("rear-window", (1.6, 0.04, 0.35)), (0.0, -1.92, 1.72), mat=dark)
        part(body, proc.box("bumper", (2.4, 0.25, 0.3)), (0.0, 2.8, 0.75), mat=black)
        part(
            body,
            proc.cylinder("turret-ring", 0.7, 0.2, segments=12),
            (0.0, -0.7, 2.03),
            texture="plaster",
            mat=paint,
            hpr=(0, 90, 0),
        )
        part(
            body,
            proc.box("turret-shield", (1.2, 0.08, 0.5)),
            (0.0, -0.05, 2.45),
            texture="plaster",
            mat=paint,
        )
        part(body, proc.cylinder("gun", 0.03, 1.1, segments=6), (0.0, -0.1, 2.5), mat=black)
        for x in (-0.9, 0.9):
            part(
                body,
                proc.cylinder("antenna", 0.012, 3.0, segments=4),
                (x, -1.9, 2.0),
                mat=black,
                hpr=(0, 80, 0),
            )
        for x in (-1.05, 1.05):
            for y in (-1.45, 1.75):
                part(
                    body,
                    proc.cylinder("tyre", 0.55, 0.42, segments=14),
                    (x - 0.21, y, 0.55),
                    mat=black,
                    hpr=(-90, 0, 0),
                )
        body.flattenStrong()
        tail = truck.attachNewNode("convoy-lights")
        for x in (-0.95, 0.95):
            part(tail, proc.box("tail-light", (0.14, 0.04, 0.1)), (x, -2.32, 1.2)).setColor(
                0.9, 0.08, 0.05, 1.0
            )
        tail.flattenStrong()
        glow(tail)
        tail.hide()
        return truck

    def _build_convoy(self) -> None:
        self.convoy_trucks = [self._armoured(self.world, f"convoy-{i}") for i in range(len(CONVOY_Y_M))]
        for truck, y in zip(self.convoy_trucks, CONVOY_Y_M, strict=True):
            truck.setPos(0.0, y, 0.0)
            truck.hide()

    def _build_vehicle(self) -> None:
        """The patient's own vehicle: the interior (seen from the seats), the bonnet and roof (seen
        from everywhere), the turret (seen when standing in it) and the crew."""
        cab = self.cabin
        paint = _material(TAN, specular=0.15)
        trim = _material((0.5, 0.47, 0.39), specular=0.1)
        lining = _material((0.85, 0.8, 0.7), specular=0.05)
        black = _material((0.05, 0.05, 0.05), specular=0.1)
        outside = cab.attachNewNode("exterior")
        part(
            outside,
            proc.box("bonnet", (2.2, 1.95, 0.12)),
            (0.0, 1.92, 1.38),
            texture="plaster",
            mat=paint,
            hpr=(0, -3, 0),
        )
        for x in (-1.05, 1.05):
            part(outside, proc.box("fender", (0.25, 1.9, 0.35)), (x, 1.95, 1.2), texture="plaster", mat=paint)
        part(outside, proc.box("roof", (2.2, 3.1, 0.08)), (0.0, -0.65, 2.12), texture="plaster", mat=paint)
        part(
            outside,
            proc.box("bonnet-vent", (0.9, 0.5, 0.03)),
            (0.0, 1.9, 1.455),
            mat=_material((0.5, 0.44, 0.32)),
            hpr=(0, -3, 0),
        )
        outside.flattenStrong()
        self.exterior = outside
        inside = cab.attachNewNode("interior")
        part(inside, proc.box("dashboard", (2.1, 0.4, 0.3)), (0.0, 0.72, 1.2), mat=trim)
        part(
            inside,
            proc.box("dash-top", (2.1, 0.3, 0.05)),
            (0.0, 0.72, 1.36),
            mat=_material((0.4, 0.38, 0.32), specular=0.05),
        )
        part(inside, proc.box("roof-lining", (2.1, 2.4, 0.05)), (0.0, -0.4, 2.06), mat=lining)
        # The split armoured windscreen's frame: bottom, header, centre post, A-pillars.
        part(inside, proc.box("screen-bottom", (2.1, 0.12, 0.06)), (0.0, 0.86, 1.4), mat=trim)
        part(inside, proc.box("screen-header", (2.1, 0.14, 0.1)), (0.0, 0.82, 2.03), mat=trim)
        part(inside, proc.box("screen-post", (0.08, 0.08, 0.62)), (0.0, 0.85, 1.7), mat=trim)
        for x in (-1.02, 1.02):
            part(inside, proc.box("a-pillar", (0.12, 0.14, 0.65)), (x, 0.82, 1.72), mat=trim)
            part(inside, proc.box("door", (0.1, 1.8, 0.85)), (x * 1.05, -0.1, 1.0), mat=lining)
            part(inside, proc.box("door-armour", (0.12, 1.8, 0.08)), (x * 1.05, -0.1, 1.45), mat=trim)
            part(inside, proc.box("b-pillar", (0.14, 0.18, 0.65)), (x * 1.05, -0.95, 1.73), mat=trim)
            part(inside, proc.box("window-frame", (0.14, 1.8, 0.08)), (x * 1.05, -0.1, 2.02), mat=trim)
        part(inside, proc.box("centre-console", (0.4, 1.2, 0.55)), (0.0, 0.0, 0.9), mat=trim)
        part(inside, proc.box("radio", (0.34, 0.3, 0.24)), (0.0, 0.4, 1.28), mat=black)
        wheel = part(
            inside,
            proc.cylinder("steering-rim", 0.21, 0.035, segments=18, caps=False),
            (EYES[1][0], 0.4, 1.4),
            mat=black,
            hpr=(0, -70, 0),
        )
        wheel.setTwoSided(True)
        part(
            inside,
            proc.cylinder("steering-column", 0.04, 0.35, segments=6),
            (EYES[1][0], 0.41, 1.39),
            mat=black,
            hpr=(0, -25, 0),
        )
        inside.flattenStrong()
        self.interior = inside
        leds = cab.attachNewNode("radio-leds")
        for k in range(4):
            part(leds, proc.box("led", (0.03, 0.01, 0.02)), (-0.1 + 0.06 * k, 0.245, 1.34)).setColor(
                0.2, 1.0, 0.3, 1.0
            )
        leds.flattenStrong()
        glow(leds)
        leds.reparentTo(inside)
        # Wipers pivot at the windscreen's foot, one per pane.
        self.wipers: list[NodePath] = []
        for x in (-0.55, 0.45):
            pivot = inside.attachNewNode("wiper-pivot")
            pivot.setPos(x, 0.84, 1.45)
            pivot.setP(-6.0)
            arm = pivot.attachNewNode("wiper")
            part(arm, proc.box("wiper-blade", (0.02, 0.015, 0.45)), (0.0, 0.0, 0.22), mat=black)
            arm.setR(-88.0)
            self.wipers.append(arm)
        turret = cab.attachNewNode("turret")
        part(
            turret,
            proc.cylinder("hatch-ring", 0.72, 0.18, segments=16, caps=False),
            (0.0, -0.7, 2.13),
            mat=trim,
            hpr=(0, 90, 0),
        ).setTwoSided(True)
        part(
            turret,
            proc.box("shield-front", (1.25, 0.08, 0.3)),
            (0.0, 0.12, 2.3),
            texture="plaster",
            mat=paint,
            hpr=(0, -8, 0),
        )
        for side in (-1, 1):
            part(
                turret,
                proc.box("shield-side", (0.08, 0.7, 0.38)),
                (side * 0.72, -0.2, 2.38),
                texture="plaster",
                mat=paint,
                hpr=(side * 25, 0, 0),
            )
        gunmetal = _material((0.2, 0.21, 0.2), specular=0.4, shininess=40)
        part(turret, proc.box("gun-receiver", (0.12, 0.4, 0.11)), (0.0, 0.32, 2.5), mat=gunmetal)
        part(turret, proc.box("gun-cover", (0.1, 0.3, 0.03)), (0.0, 0.34, 2.565), mat=gunmetal)
        for x in (-0.06, 0.06):  # the spade grips, toward the patient
            part(turret, proc.box("spade-grip", (0.03, 0.1, 0.03)), (x, 0.08, 2.5), mat=black)
        part(turret, proc.cylinder("gun-barrel", 0.028, 1.1, segments=8), (0.0, 0.5, 2.51), mat=gunmetal)
        part(turret, proc.box("gun-mount", (0.1, 0.1, 0.3)), (0.0, 0.3, 2.3), mat=black)
        part(
            turret,
            proc.box("ammo-can", (0.1, 0.22, 0.14)),
            (0.13, 0.3, 2.47),
            mat=_material((0.3, 0.33, 0.2)),
        )
        turret.flattenStrong()
        self.turret = turret
        # The crew in the other seats: helmets, tan uniforms.
        self.crew: dict[int, Figure] = {}
        uniform = (0.58, 0.53, 0.4)
        for pos in (0, 1):
            fig = Figure(
                cab,
                rng=self.rng,
                seated=True,
                shirt=uniform,
                trousers=uniform,
                skin=(0.78, 0.6, 0.48),
                name=f"crew-{POSITIONS[pos]}",
            )
            fig.root.setPos(EYES[pos][0], -0.15, 0.55)
            helmet = part(
                fig.neck,
                proc.sphere("helmet", 0.15, rings=6, segments=10),
                (0.0, -0.01, 0.17),
                mat=_material((0.5, 0.46, 0.34)),
            )
            helmet.setScale(1.0, 1.1, 0.75)
            self.crew[pos] = fig

    # -- events -------------------------------------------------------------------------------------

    def _build_events(self) -> None:
        rng = self.rng
        # The helicopter: fuselage, tail boom, fin, skids, spinning rotors.
        heli = self.world.attachNewNode("helicopter")
        olive = _material((0.27, 0.29, 0.22), specular=0.3)
        black = _material((0.06, 0.06, 0.06))
        body = heli.attachNewNode("helicopter-body")
        fus = part(body, proc.sphere("fuselage", 1.0, rings=8, segments=12), (0.0, 0.0, 0.0), mat=olive)
        fus.setScale(1.3, 3.2, 1.3)
        part(
            body,
            proc.cylinder("tail-boom", 0.35, 6.5, segments=8, radius_end=0.18),
            (0.0, -2.2, 0.35),
            mat=olive,
            hpr=(180, 0, 0),
        )
        part(body, proc.box("tail-fin", (0.12, 1.0, 1.6)), (0.0, -8.4, 1.0), mat=olive)
        part(
            body,
            proc.box("cockpit-glass", (1.6, 1.2, 0.8)),
            (0.0, 2.3, 0.35),
            mat=_material((0.08, 0.1, 0.12), specular=0.9),
        )
        for x in (-1.1, 1.1):
            part(body, proc.box("skid", (0.1, 4.5, 0.1)), (x, 0.0, -1.75), mat=black)
            part(body, proc.box("strut", (0.08, 0.08, 0.6)), (x, 0.9, -1.45), mat=black)
            part(body, proc.box("strut", (0.08, 0.08, 0.6)), (x, -0.9, -1.45), mat=black)
        body.flattenStrong()
        self.rotor = heli.attachNewNode("rotor")
        self.rotor.setPos(0.0, 0.0, 1.5)
        rotor_mesh = self.rotor.attachNewNode("rotor-mesh")
        for h in (0.0, 90.0):
            part(
                rotor_mesh,
                proc.box("rotor-blade", (0.35, 15.0, 0.04)),
                (0.0, 0.0, 0.0),
                mat=black,
                hpr=(h, 0, 0),
            )
        rotor_mesh.flattenStrong()
        self.tail_rotor = heli.attachNewNode("tail-rotor")
        self.tail_rotor.setPos(0.2, -8.4, 1.2)
        tail_mesh = self.tail_rotor.attachNewNode("tail-rotor-mesh")
        part(tail_mesh, proc.box("tail-blade", (0.04, 0.2, 2.4)), mat=black)
        tail_mesh.flattenStrong()
        heli.hide()
        self.heli = heli
        # Birds that rise from the minaret at the call to prayer (one Geom).
        birds = self.world.attachNewNode("birds")
        mesh = birds.attachNewNode("flock")
        for _ in range(14):
            b = part(
                mesh,
                proc.box("bird", (0.5, 0.15, 0.03)),
                (float(rng.uniform(-6, 6)), float(rng.uniform(-6, 6)), float(rng.uniform(-2, 2))),
                mat=black,
            )
            b.setH(float(rng.uniform(0, 360)))
        mesh.flattenStrong()
        birds.hide()
        self.birds = birds
        # Muzzle flashes, far and near, and dust kicked up by near rounds.
        self.flashes: dict[str, NodePath] = {}
        for name in ("distant-gunfire", "near-gunfire"):
            f = self.world.attachNewNode(f"{name}-flashes")
            for k in range(3):
                part(f, proc.box("muzzle-flash", (0.35, 0.35, 0.35)), (k * 1.6, 0.0, 0.3 * k)).setColor(
                    1.0, 0.75, 0.35, 1.0
                )
            f.flattenStrong()
            glow(f)
            f.hide()
            self.flashes[name] = f
        self.kicks = [_puff_node(self.world, f"dust-kick-{k}", (0.72, 0.62, 0.46), 1.0) for k in range(4)]
        # A dog at the roadside.
        self.dog = self.world.attachNewNode("dog")
        fur = _material((0.62, 0.5, 0.34))
        dog_body = self.dog.attachNewNode("dog-body")
        part(dog_body, proc.box("dog-torso", (0.3, 0.8, 0.3)), (0.0, 0.0, 0.55), mat=fur)
        for x in (-0.1, 0.1):
            for y in (-0.3, 0.3):
                part(dog_body, proc.box("dog-leg", (0.08, 0.08, 0.42)), (x, y, 0.21), mat=fur)
        part(dog_body, proc.box("dog-tail", (0.05, 0.35, 0.05)), (0.0, -0.52, 0.7), mat=fur, hpr=(0, 35, 0))
        dog_body.flattenStrong()
        self.dog_head = self.dog.attachNewNode("dog-head")
        self.dog_head.setPos(0.0, 0.42, 0.72)
        head_mesh = self.dog_head.attachNewNode("dog-head-mesh")
        part(head_mesh, proc.box("dog-skull", (0.22, 0.3, 0.22)), (0.0, 0.1, 0.0), mat=fur)
        part(head_mesh, proc.box("dog-muzzle", (0.12, 0.18, 0.12)), (0.0, 0.3, -0.04), mat=fur)
        for x in (-0.07, 0.07):
            part(head_mesh, proc.box("dog-ear", (0.05, 0.04, 0.1)), (x, 0.02, 0.14), mat=fur)
        head_mesh.flattenStrong()
        self.dog.hide()
        # A woman in a doorway rocking a crying baby.
        self.mother = Figure(
            self.world,
            rng=rng,
            shirt=(0.08, 0.07, 0.08),
            trousers=(0.08, 0.07, 0.08),
            skin=SKIN,
            hair=(0.05, 0.05, 0.05),
            name="mother",
        )
        part(
            self.mother.torso,
            proc.box("baby-bundle", (0.3, 0.22, 0.2)),
            (0.05, 0.2, 0.32),
            mat=_material((0.92, 0.9, 0.84)),
        )
        self.mother.root.setTag(STIMULUS_TAG_KEY, TAG)
        self.mother.root.hide()
        # Figures on the rooftops.
        self.rooftop = []
        for k in range(ROOFTOP_FIGURES):
            robe = ROBES[k % len(ROBES)] if k % 2 else (0.15, 0.14, 0.13)
            fig = Figure(
                self.world,
                rng=rng,
                shirt=robe,
                trousers=robe,
                skin=SKIN,
                hair=(0.06, 0.05, 0.05),
                name=f"rooftop-{k}",
            )
            fig.root.setTag(STIMULUS_TAG_KEY, TAG)
            fig.root.hide()
            self.rooftop.append(fig)
        # The blast ahead: a fireball, a light, a column of smoke.
        self.fireball = self.world.attachNewNode(proc.sphere("fireball", 1.0, rings=8, segments=12))
        self.fireball.setColor(1.0, 0.55, 0.18, 1.0)
        glow(self.fireball)
        self.fireball.hide()
        self.blast_light = PointLight("blast-light")
        self.blast_light.setColor(Vec4(0, 0, 0, 1))
        self.blast_light.setAttenuation(Vec3(1.0, 0.02, 0.002))
        self.blast_node = self.world.attachNewNode(self.blast_light)
        self.root.setLight(self.blast_node)
        self.smoke = [
            _puff_node(self.world, f"smoke-{k}", (0.16 + 0.025 * k, 0.15 + 0.025 * k, 0.14 + 0.024 * k), 1.0)
            for k in range(10)
        ]
        self.blast_xy = (0.0, CONVOY_Y_M[0])
        # The hit on the patient's own vehicle: a flash at the side, dust in the cabin.
        self.hit_flash = self.cabin.attachNewNode(proc.sphere("hit-flash", 1.0, rings=6, segments=10))
        self.hit_flash.setPos(2.2, 2.0, 1.0)
        self.hit_flash.setColor(1.0, 0.7, 0.35, 1.0)
        glow(self.hit_flash)
        self.hit_flash.hide()
        self.hit_light = PointLight("hit-light")
        self.hit_light.setColor(Vec4(0, 0, 0, 1))
        self.hit_light.setAttenuation(Vec3(1.0, 0.2, 0.05))
        hl = self.cabin.attachNewNode(self.hit_light)
        hl.setPos(1.8, 1.5, 1.5)
        self.root.setLight(hl)
        self.cabin_dust = [_puff_node(self.cabin, f"cabin-dust-{k}", (0.7, 0.6, 0.45), 1.0) for k in range(6)]
        haze = self.root.attachNewNode(proc.sphere("dust-haze", 0.5, rings=6, segments=10, inside=True))
        haze.setPos(0.0, 0.0, self.eye_m)
        haze.setColor(0.66, 0.56, 0.42, 1.0)
        shading.unlit(haze)
        haze.setTransparency(TransparencyAttrib.M_alpha)
        haze.setBin("fixed", 100)
        haze.setDepthTest(False)
        haze.setDepthWrite(False)
        haze.setTwoSided(True)
        haze.hide(SHADOW_MASK)
        haze.hide()
        self.dust_haze = haze

    def _build_anchors(self) -> None:
        self.anchors = {name: self.root.attachNewNode(f"sound-{name}") for name in CONTRACT.anchors}
        # Where each anchor's source really is (a node under the world or the cabin).
        self.sources: dict[str, NodePath] = {
            "helicopter-body": self.heli,
            "roadside-dog": self.dog,
            "mother": self.mother.root,
            "blast-point": self.fireball,
        }
        self.minaret_node = self.world.attachNewNode("minaret-point")
        self.sources["minaret"] = self.minaret_node
        self.gun_node = self.world.attachNewNode("gunfire-point")
        self.sources["gun-position"] = self.gun_node
        engine = self.cabin.attachNewNode("engine-point")
        engine.setPos(0.0, 2.2, 1.0)
        self.sources["engine-bay"] = engine
        self._place_minaret()
        self._place_anchors()

    # --------------------------------------------------------------------------------------- values

    def apply(self, values: Mapping[str, float]) -> None:
        self._values = dict(values)
        pos = int(round(_clamp(values.get("position", 0.0), 0.0, 2.0)))
        self.position = pos
        ex, ey, ez = EYES[pos]
        self.rig.setPos(-ex, -ey, self.eye_m - ez)
        seated = pos < 2
        (self.interior.show if seated else self.interior.hide)()
        (self.turret.hide if seated else self.turret.show)()
        for p, fig in self.crew.items():
            (fig.root.show if seated and p != pos else fig.root.hide)()
        convoy = values.get("convoy", 1.0) >= 0.5
        for truck in self.convoy_trucks:
            (truck.show if convoy else truck.hide)()
        activity = _clamp(values.get("activity", 0.0), 0.0, 1.0)
        shown = int(round(activity * MAX_CROWD))
        self._shown_crowd = [i for i, (order, _k, _f) in enumerate(self.crowd) if order < shown]
        for order, _k, fig in self.crowd:
            (fig.root.show if order < shown else fig.root.hide)()
        for m in self.markets:
            (m.show if activity >= 0.3 else m.hide)()
        self.speed_m_s = QUIET_SPEED_M_S - (QUIET_SPEED_M_S - BUSY_SPEED_M_S) * activity
        self.vibration = _clamp(values.get("vibration", 0.0), 0.0, 1.0)
        self._set_ride()
        self._set_light()

    def _set_ride(self) -> None:
        rumble = 1.0 if "vehicle-rumble" in self.events else 0.0
        level = max(self.vibration, rumble)
        # The revving shakes harder and rocks the vehicle more, whatever the vibration already is.
        self.ride.set(vibration=0.1 + 0.9 * level, sway=0.15 + 0.35 * self.vibration + 0.5 * rumble)

    def _set_light(self) -> None:
        values = self._values
        elevation = values.get("sun_elevation_deg", 40.0)
        storm = _clamp(values.get("sandstorm", 0.0), 0.0, 1.0)
        self.storm = storm
        nv = values.get("night_vision", 0.0) >= 0.5
        self.night_vision = nv
        warmth = _clamp(1.0 - (elevation - 2.0) / 26.0, 0.0, 1.0)
        self.sky.set(elevation_deg=elevation, warmth=warmth)
        night = _clamp((4.0 - elevation) / 14.0, 0.0, 1.0)
        self.sky.sun.set_level(1.0 - 0.7 * storm)
        fog = self.sky.fog.color
        fog_c = tuple(
            f + (s * (0.35 + 0.65 * (1.0 - night)) - f) * storm for f, s in zip(fog, SAND_FOG, strict=True)
        )
        density = 0.005 + 0.045 * storm
        if nv:
            # Night vision amplifies what light there is: a bright, flat view, haze glowing pale.
            fog_c = (0.32, 0.34, 0.32)
            density = max(density, 0.012)
            self.fill.setColor(Vec4(0.75, 0.75, 0.75, 1))
            self.root.setColorScale(NV_TINT[0], NV_TINT[1], NV_TINT[2], 1.0)
            self.headlamp.setColor(Vec4(0, 0, 0, 1))  # blacked-out driving
        else:
            self.fill.setColor(Vec4(0.2 * night, 0.21 * night, 0.27 * night, 1))
            self.root.clearColorScale()
            self.headlamp.setColor(Vec4(1.2 * night, 1.15 * night, 1.0 * night, 1))
        self.sky.fog.set(fog_c, density)
        haze_a = max(0.92 * storm, 0.7 if nv else 0.0)
        if haze_a > 0.01:
            c = fog_c
            self.haze.setColor(c[0], c[1], c[2], haze_a)
            self.haze.show()
        else:
            self.haze.hide()
        self.dust.set_level(storm)
        lit = night > 0.25 or nv
        for w in self.windows:
            (w.show if lit else w.hide)()
        for truck in self.convoy_trucks:
            lights = truck.find("convoy-lights")
            (lights.show if lit or storm > 0.4 else lights.hide)()

    # ------------------------------------------------------------------------------------ per frame

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        v = self.speed_m_s * self.halt
        step = v * dt_s
        self.distance_m += step
        d = self.distance_m
        self.roads.setY(self.roads_y0 - (d % ROAD_PERIOD_M))
        span = STRIPS * STRIP_M
        for k, strip in enumerate(self.strips):
            # A strip wraps to the far end once it is wholly behind the patient.
            y = -STRIP_M + ((k * STRIP_M + STRIP_START_M + STRIP_M - d) % span)
            strip.setY(y)
            self.strip_y[k] = y
        self.ground.setTexOffset(self.ground_stage, 0.0, (d / 4.0) % 1.0)
        self._update_events(dt_s, step)
        # Only people near enough to see breathe and turn their heads: it keeps the frame's work
        # small with a crowd of two dozen.
        for i in self._shown_crowd:
            y = self.strip_y[self.crowd[i][1]] + self._crowd_y[i]
            if -15.0 < y < 70.0:
                self.crowd[i][2].update(dt_s)
        for fig in self.crew.values():
            if not fig.root.isHidden():
                fig.update(dt_s)
        self._crowd_gaze()
        for i, truck in enumerate(self.convoy_trucks):
            rumble = 3.0 if "vehicle-rumble" in self.events else 1.0
            bob = 0.012 * rumble * math.sin(2 * math.pi * 1.3 * self.t_s + i)
            if i != 0 or "ied-ahead" not in self.events:
                truck.setZ(bob * (1.0 + 2.0 * self.vibration))
        self.ride.update(dt_s)
        self._update_jolt()
        self.dust.update(dt_s)
        if self.storm >= 0.3 and self.position < 2:
            phase = self.t_s * (0.5 + 0.5 * self.storm)
            sweep = 0.5 - 0.5 * math.cos(2 * math.pi * phase)
            for arm in self.wipers:
                arm.setR(-88.0 + 90.0 * sweep)
        self._place_minaret()
        self._place_anchors()

    def _crowd_gaze(self) -> None:
        """People near the road watch the convoy go by (heads only, within a neck's reach), or turn
        toward the minaret at the call to prayer: two figures a frame, in turn."""
        shown = self._shown_crowd
        if not shown:
            return
        eye = Vec3(0.0, 0.0, self.eye_m)
        praying = "call-to-prayer" in self.events
        for _ in range(min(2, len(shown))):
            self._gaze_next = (self._gaze_next + 1) % len(shown)
            i = shown[self._gaze_next]
            fig = self.crowd[i][2]
            y = self.strip_y[self.crowd[i][1]] + self._crowd_y[i]
            if praying:
                fig.look_at(self.minaret_node.getPos(self.root), self.root)
            elif -5.0 < y < 35.0:
                fig.look_at(eye, self.root)
            else:
                fig.look_ahead()

    def _update_jolt(self) -> None:
        """The hit's jolt on top of the ride's motion, the sum clamped to the ride's caps."""
        span = self.events.get("own-vehicle-hit")
        if span is None:
            return
        a = self.t_s - span.start_s
        if a > HIT_S:
            return
        k = math.exp(-a / 0.2) * (0.4 + 0.6 * span.strength)
        s = math.sin(2 * math.pi * 6.0 * a)
        rest_p, rest_h = self.ride.rest_pos, self.ride.rest_hpr
        z = self.cabin.getZ() - rest_p.z + MAX_VIBRATION_M * k * math.sin(2 * math.pi * 9.0 * a + 0.5)
        pitch = self.cabin.getP() - rest_h.y + MAX_ACCEL_PITCH_DEG * k * math.sin(2 * math.pi * 4.0 * a + 1.0)
        roll = self.cabin.getR() - rest_h.z + MAX_SWAY_DEG * k * s
        z = _clamp(z, -MAX_VIBRATION_M, MAX_VIBRATION_M)
        pitch = _clamp(pitch, -MAX_ACCEL_PITCH_DEG, MAX_ACCEL_PITCH_DEG)
        roll = _clamp(roll, -MAX_SWAY_DEG, MAX_SWAY_DEG)
        self.cabin.setZ(rest_p.z + z)
        self.cabin.setP(rest_h.y + pitch)
        self.cabin.setR(rest_h.z + roll)

    def _place_minaret(self) -> None:
        """The minaret point: the nearest village strip's minaret that is not behind the patient."""
        best = None
        for k, strip in enumerate(self.strips):
            if self.kinds[k] != "A":
                continue
            y = strip.getY() + self.minaret_xy[1]
            if y > -10.0 and (best is None or y < best):
                best = y
        if best is None:
            best = self.strips[0].getY() + self.minaret_xy[1]
        self.minaret_node.setPos(self.minaret_xy[0], best, self.minaret_top_z - 5.0)

    def _place_anchors(self) -> None:
        eye = Vec3(0.0, 0.0, self.eye_m)
        for name, node in self.anchors.items():
            src = self.sources[name]
            p = src.getPos(self.root) - eye
            dist = p.length()
            if dist < 1e-6:
                node.setPos(eye)
                continue
            node.setPos(eye + p * (compressed_m(dist) / dist))

    # ---------------------------------------------------------------------------------------- events

    def start_event(self, name: str, event: Event) -> None:
        strength = _clamp(self.event_strength(name), 0.0, 1.0)
        span = _Span(self.t_s, max(event.duration_s, 0.1), strength)
        self.events[name] = span
        if name == "vehicle-rumble":
            self._set_ride()
        elif name == "helicopter-flyover":
            self.heli.show()
        elif name == "call-to-prayer":
            self.birds.show()
        elif name in ("distant-gunfire", "near-gunfire"):
            if name == "distant-gunfire":
                dist, bearing, z = 600.0 - 450.0 * strength, -52.0, 4.0
            else:
                dist, bearing, z = 80.0 - 65.0 * strength, 38.0, 3.5
            span.data["dist"] = dist
            x, y = dist * math.sin(math.radians(bearing)), dist * math.cos(math.radians(bearing))
            self.gun_node.setPos(x, y, z)
            flashes = self.flashes[name]
            flashes.setPos(x, y, z)
            flashes.setScale(max(1.0, dist / 40.0))
            flashes.show()
            if name == "near-gunfire":
                for k, kick in enumerate(self.kicks):
                    kick.setPos(float(self.rng.uniform(-5.0, 5.0)), 8.0 + 0.25 * dist * (k + 1) / 4, 0.3)
                for _o, _k, fig in self.crowd:
                    if not fig.root.isHidden():
                        fig.gesture("lean-back", 1.2)
        elif name == "dog-barking":
            ahead = 22.0 + 20.0 * (1.0 - strength)
            self.dog.setPos(5.2, ahead, 0.0)
            self.dog.setH(80.0)
            self.dog.show()
        elif name == "baby-crying":
            ahead = 24.0 + 20.0 * (1.0 - strength)
            self.mother.root.setPos(7.6, ahead, 0.0)
            self.mother.root.setH(90.0)
            self.mother.root.show()
        elif name == "rooftop-figures":
            self._place_rooftop(span)
        elif name == "ied-ahead":
            convoy = not self.convoy_trucks[0].isHidden()
            self.blast_xy = (0.0, CONVOY_Y_M[0]) if convoy else (4.5, 40.0)
            x, y = self.blast_xy
            self.fireball.setPos(x, y, 1.0)
            self.blast_node.setPos(x, y, 3.0)
            self.fireball.show()
            for puff in self.smoke:
                puff.setPos(x, y, 1.0)
            self.ride.accelerate(-1.0)
            for _o, _k, fig in self.crowd:
                if not fig.root.isHidden():
                    fig.gesture("lean-back", 1.5)
        elif name == "own-vehicle-hit":
            self.hit_flash.show()
            self.dust_haze.show()
            for puff in self.cabin_dust:
                puff.setPos(
                    float(self.rng.uniform(-1.2, 1.2)),
                    float(self.rng.uniform(1.0, 3.0)),
                    float(self.rng.uniform(1.2, 2.2)),
                )
            self.ride.accelerate(-1.0)
        self._update_events(0.0, 0.0)

    def _place_rooftop(self, span: _Span) -> None:
        """One to five figures on the roofs of the next village's houses by the road."""
        count = 1 + int(round(span.strength * (ROOFTOP_FIGURES - 1)))
        spots: list[tuple[float, NodePath, tuple[float, float, float]]] = []
        for k, strip in enumerate(self.strips):
            if self.kinds[k] != "A":
                continue
            for x, y, h in self.house_roofs:
                ahead = strip.getY() + y
                if 35.0 < ahead < 260.0:
                    spots.append((ahead, strip, (x, y, h)))
        spots.sort(key=lambda s: s[0])
        span.data["count"] = float(min(count, len(spots)))
        for i, fig in enumerate(self.rooftop):
            if i < count and i < len(spots):
                _ahead, strip, (x, y, h) = spots[i]
                fig.root.reparentTo(strip)
                fig.root.setPos(x - math.copysign(1.5, x), y, h - 1.6)
                fig.root.setH(90.0 if x > 0 else -90.0)
                fig.root.show()
            else:
                fig.root.hide()

    def event_running(self, name: str) -> bool:
        span = self.events.get(name)
        return span is not None and self.t_s < span.start_s + span.duration_s

    def _end_event(self, name: str) -> None:
        del self.events[name]
        if name == "vehicle-rumble":
            self._set_ride()
        elif name == "helicopter-flyover":
            self.heli.hide()
        elif name == "call-to-prayer":
            self.birds.hide()
        elif name in self.flashes:
            self.flashes[name].hide()
            if name == "near-gunfire":
                for kick in self.kicks:
                    kick.hide()
        elif name == "dog-barking":
            self.dog.hide()
        elif name == "baby-crying":
            self.mother.root.hide()
        elif name == "rooftop-figures":
            for fig in self.rooftop:
                fig.root.hide()
                fig.root.reparentTo(self.world)
        elif name == "ied-ahead":
            self.fireball.hide()
            for puff in self.smoke:
                puff.hide()
            self.blast_light.setColor(Vec4(0, 0, 0, 1))
            self.flash.setColor(Vec4(0, 0, 0, 1))
            lead = self.convoy_trucks[0]
            lead.setPos(0.0, CONVOY_Y_M[0], 0.0)
            lead.setHpr(0.0, 0.0, 0.0)
            lead.clearColorScale()
            self.ride.accelerate(0.0)
        elif name == "own-vehicle-hit":
            self.hit_flash.hide()
            self.dust_haze.hide()
            self.hit_light.setColor(Vec4(0, 0, 0, 1))
            for puff in self.cabin_dust:
                puff.hide()
            self.ride.accelerate(0.0)
        if not any(n in self.events for n in ("ied-ahead", "own-vehicle-hit")):
            self.halt = 1.0

    def _update_events(self, dt_s: float, step_m: float) -> None:
        halt = 1.0
        for name, span in list(self.events.items()):
            a = self.t_s - span.start_s
            u = a / span.duration_s
            if u >= 1.0:
                self._end_event(name)
                continue
            s = span.strength
            if name == "helicopter-flyover":
                # Left to right across the road ahead; lower and nearer when fired stronger.
                alt = 120.0 - 90.0 * s
                ahead = 150.0 - 110.0 * s
                x = -240.0 + 480.0 * u
                self.heli.setPos(x, ahead - 30.0 * u, alt)
                self.heli.setHpr(-90.0, -6.0, 4.0 * math.sin(0.7 * a))
                self.rotor.setH((a * 1400.0) % 360.0)
                self.tail_rotor.setP((a * 2600.0) % 360.0)
            elif name == "call-to-prayer":
                m = self.minaret_node.getPos(self.world)
                rise = _ease(u / 0.4)
                self.birds.setPos(
                    m.x + 6.0 * math.sin(0.5 * a), m.y + 6.0 * math.cos(0.5 * a), m.z + 4.0 + 14.0 * rise
                )
                self.birds.setH((a * 35.0) % 360.0)
                self.birds.setScale(0.6 + 1.2 * rise)
            elif name in self.flashes:
                f = self.flashes[name]
                f.setY(f.getY() - step_m)
                self.gun_node.setY(self.gun_node.getY() - step_m)
                t = a % 4.0
                burst = (0.1 <= t < 0.65) or (1.3 <= t < 1.36) or (1.9 <= t < 1.96) or (2.55 <= t < 3.1)
                on = burst and int(a * 22.0) % 2 == 0
                (f.show if on else f.hide)()
                f.setH((a * 290.0) % 360.0)
                if name == "near-gunfire":
                    for k, kick in enumerate(self.kicks):
                        kick.setY(kick.getY() - step_m)
                        local = (t - 0.15 - 0.12 * k) % 4.0
                        if local < 0.7:
                            kick.show()
                            kick.setScale(0.4 + 2.0 * local)
                            kick.setAlphaScale(0.8 * (1.0 - local / 0.7))
                        else:
                            kick.hide()
            elif name == "dog-barking":
                self.dog.setY(self.dog.getY() - step_m)
                bark = math.sin(2 * math.pi * 1.6 * a)
                self.dog_head.setP(18.0 * max(bark, 0.0) ** 3)
                self.dog.setZ(0.05 * max(bark, 0.0) ** 4)
                self.dog.setH(80.0 - 50.0 * _ease(u))  # turns to follow the vehicle
            elif name == "baby-crying":
                self.mother.root.setY(self.mother.root.getY() - step_m)
                self.mother.root.setH(90.0 + 12.0 * math.sin(2 * math.pi * 0.8 * a))
                self.mother.update(dt_s)
            elif name == "rooftop-figures":
                rise = _ease(a / 1.5) * (1.0 - _ease((a - span.duration_s + 1.5) / 1.5))
                eye = Vec3(0.0, 0.0, self.eye_m)
                for fig in self.rooftop:
                    if fig.root.isHidden():
                        continue
                    fig.look_at(eye, self.root)
                    fig.update(dt_s)
                    # Standing up from behind the parapet, and down again at the end.
                    fig.body.setZ(1.6 * rise)
            elif name == "ied-ahead":
                halt = min(halt, 1.0 - _ease(a / 2.0))
                self._blast(a, span)
            elif name == "own-vehicle-hit":
                halt = min(halt, 1.0 - _ease(a / 1.5))
                flash = math.exp(-a / 0.12)
                self.hit_flash.setScale(0.6 + 1.8 * _ease(a / 0.2))
                self.hit_flash.setColorScale(flash, flash, flash, 1.0)
                self.hit_light.setColor(Vec4(6.0 * flash, 4.0 * flash, 2.0 * flash, 1))
                haze = _ease(a / 0.3) * (1.0 - _ease((u - 0.3) / 0.7))
                self.dust_haze.setAlphaScale(0.75 * haze)
                for k, puff in enumerate(self.cabin_dust):
                    puff.show()
                    puff.setScale(0.8 + 2.5 * _ease(a / 3.0) + 0.2 * k)
                    puff.setAlphaScale(0.7 * haze)
                    puff.setZ(puff.getZ() + 0.05 * dt_s)
        self.halt = halt

    def _blast(self, a: float, span: _Span) -> None:
        x, y = self.blast_xy
        convoy = not self.convoy_trucks[0].isHidden()
        if not convoy:
            y = self.fireball.getY()
        grow = _ease(a / 0.25)
        fade = max(0.0, 1.0 - a / 1.1)
        self.fireball.setScale(0.5 + 5.5 * grow)
        self.fireball.setColorScale(fade, fade * 0.9, fade * 0.8, 1.0)
        if fade <= 0.0:
            self.fireball.hide()
        light = math.exp(-a / 0.25)
        self.blast_light.setColor(Vec4(9.0 * light, 6.0 * light, 3.0 * light, 1))
        pop = math.exp(-a / 0.08)
        self.flash.setColor(Vec4(0.9 * pop, 0.8 * pop, 0.6 * pop, 1))
        if convoy:
            lead = self.convoy_trucks[0]
            lift = math.sin(math.pi * min(a / 0.7, 1.0))
            lead.setPos(0.0, CONVOY_Y_M[0], 0.5 * lift)
            settle = _ease(a / 0.7)
            lead.setHpr(6.0 * settle, -8.0 * lift + 2.5 * settle, 3.0 * settle)
            dark = 1.0 - 0.5 * _ease(a / 1.0)
            lead.setColorScale(dark, dark * 0.95, dark * 0.9, 1.0)
        end = span.duration_s
        for k, puff in enumerate(self.smoke):
            born = 0.2 + 0.45 * k
            age = a - born
            if age < 0.0:
                puff.hide()
                continue
            puff.show()
            life = _ease(age / 4.0)
            puff.setPos(
                x + 1.5 * life * (k % 3 - 1) + 2.0 * age * 0.2,
                y + 0.8 * (k % 2),
                1.5 + 2.0 * age + 1.5 * k * life,
            )
            puff.setScale(2.5 + 5.0 * life + 0.5 * k)
            puff.setAlphaScale(0.9 * (1.0 - _ease((a - end + 2.0) / 2.0)))

    def anchor(self, name: str) -> NodePath | None:
        return self.anchors.get(name)

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        return 0.0, -4.0


@register_builder("combat-convoy")
def build_combat_convoy(ctx: BuildContext) -> SceneInstance:
    return CombatConvoyScene(ctx)
