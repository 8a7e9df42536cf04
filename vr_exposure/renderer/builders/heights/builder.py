"""The ``heights`` builder: a balcony platform high on a tower over a city plaza.

Layout (metres, Panda3D axes): the patient sits at the origin facing +Y, eyes ``eye_height_m`` above
the platform's floor (z = 0). The tower's facade is 2.5 m behind the patient and runs down to the
plaza; the platform's edge is ``edge_distance_m`` ahead, with a barrier on it (a solid parapet, a
steel railing or a glass balustrade, ``barrier_height_m`` high). The floor between the patient and the
edge is paving, a steel grating or glass (``floor_kind``). Everything below (the plaza with a
fountain, people and trees, two roads with cars, the other buildings, their shadows) hangs from one
node set ``height_m`` below the floor, so a ramp only moves it; fog gives the distance its haze.

Built once; :meth:`HeightsScene.apply` only shows, hides, moves and scales. Loose things (a flag on
the facade, a potted plant) sway in the wind; nothing ever moves the patient's view.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from panda3d.core import NodePath, TextureStage, TransparencyAttrib

from vr_exposure.core.contract import STIMULUS_TAG_KEY
from vr_exposure.core.specs import Event
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, material, part
from vr_exposure.renderer.blocks.people import Figure
from vr_exposure.renderer.blocks.sky import TimeOfDay
from vr_exposure.renderer.blocks.vehicles import Car, road
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance
from vr_exposure.renderer.builders.heights import sounds as _sounds  # noqa: F401 - registers its sounds
from vr_exposure.renderer.builders.heights import textures as _textures  # noqa: F401 - registers its textures
from vr_exposure.renderer.builders.heights.contract import CONTRACT, LIFT_RISE_M

STIMULUS_TAG = CONTRACT.stimulus_tag or "drop"
#: A tag on the fountain in the middle of the plaza: tests find the known marker below by it.
MARKER_TAG_KEY = "heights-marker"
FACADE_Y = -2.5
PLATFORM_HALF_W = 5.0
PLATFORM_DEPTH = 9.0
SLAB_M = 0.3
BARRIER_FULL_M = 1.1
FOUNTAIN_Y = 16.0
GRAVITY = 9.81
ROAD_Y = 46.0
ROAD_X = 34.0


class HeightsScene(SceneInstance):
    def __init__(self, ctx: BuildContext) -> None:
        root = ctx.parent.attachNewNode(f"scene-{ctx.spec.id}")
        super().__init__(root)
        self.rng = np.random.default_rng(11)
        self.t_s = 0.0
        shading.apply_scene_shader(root, shadows=ctx.shadow_size_px > 0)
        self.sky = TimeOfDay(
            root,
            focus=(0.0, 1.0, 0.0),
            film_m=9.0,
            shadow_size_px=ctx.shadow_size_px,
            heading_deg=-35.0,
            fog_density=0.002,
            sky_radius_m=900.0,
            sky_center_z=-60.0,
            distance_m=30.0,
        )
        self.sky.set(elevation_deg=38.0, warmth=0.15)
        # The sky set above lights the scene; its fog colour is a pale haze for the distance.
        self.sky.fog.set((0.72, 0.78, 0.86), 0.0015)
        self.below = root.attachNewNode("below")
        self.below.setTag(STIMULUS_TAG_KEY, STIMULUS_TAG)
        self._build_city(self.below)
        self._build_people_and_cars(self.below)
        self._build_tower(root)
        self._build_platform(root)
        self._build_loose_things(root)
        # State.
        self.height_m = 0.0
        self.lift_offset_m = 0.0
        self.edge_m = 1.5
        self.barrier_kind = 0
        self.barrier_h = BARRIER_FULL_M
        self.barrier_scale = 1.0
        self.wind = 0.2
        self._values: dict[str, float] = {}
        self._lift: tuple[float, float] | None = None  # (start t, duration)
        self._lower: tuple[float, float, float] | None = None  # (start t, duration, from scale)
        self._gust: tuple[float, float] | None = None
        self._creak: tuple[float, float] | None = None
        self._drop: tuple[float, float] | None = None  # (start t, until t)
        self._flag_phase = 0.0
        self._frame = 0

    # ------------------------------------------------------------------------------------ building

    def _build_city(self, below: NodePath) -> None:
        rng = np.random.default_rng(23)
        static = below.attachNewNode("city-static")
        part(
            static,
            proc.plane("ground", 3600.0, 3600.0, uv_repeat=(900, 900)),
            (0.0, 0.0, -0.3),
            texture="paving",
            mat=material((0.62, 0.6, 0.58), specular=0.05),
        )
        grass_mat = material((0.9, 0.95, 0.85), specular=0.02)
        for x, y, sx, sy in ((-16.0, 16.0, 10.0, 14.0), (16.0, 16.0, 10.0, 14.0)):
            part(
                static,
                proc.plane("lawn", sx, sy, uv_repeat=(sx / 3, sy / 3)),
                (x, y, 0.0),
                texture="grass",
                mat=grass_mat,
            )
        road(static, length_m=1400.0, lanes=4, center=(0.0, ROAD_Y), heading_deg=90)
        road(static, length_m=1400.0, lanes=2, center=(ROAD_X, 0.0), heading_deg=0)
        # The fountain: a round basin with water, the known marker straight ahead below.
        stone = material((0.78, 0.76, 0.72), specular=0.1)
        fountain = below.attachNewNode("fountain")
        fountain.setPos(0.0, FOUNTAIN_Y, 0.0)
        basin = part(
            fountain, proc.cylinder("basin", 4.0, 0.5, segments=32), (0, 0, 0.0), mat=stone, hpr=(0, 90, 0)
        )
        basin.setName("basin")
        part(
            fountain,
            proc.cylinder("water", 3.7, 0.02, segments=32),
            (0, 0, 0.46),
            texture="water",
            mat=material((0.7, 0.85, 1.0), specular=0.8, shininess=60),
            hpr=(0, 90, 0),
        )
        part(fountain, proc.cylinder("spout", 0.35, 1.4, segments=12), (0, 0, 0.0), mat=stone, hpr=(0, 90, 0))
        fountain.setTag(MARKER_TAG_KEY, "fountain")
        self.fountain = fountain
        # A painted target on the paving around the fountain (the look-down cue).
        target = below.attachNewNode("target")
        for k, (r, col) in enumerate(
            ((7.5, (0.85, 0.12, 0.1)), (6.5, (0.95, 0.95, 0.92)), (5.5, (0.85, 0.12, 0.1)))
        ):
            part(
                target,
                proc.cylinder("ring", r, 0.01, segments=40),
                (0, FOUNTAIN_Y, 0.1 + 0.12 * k),
                mat=material(col),
                hpr=(0, 90, 0),
            )
        target.flattenStrong()
        self.target = target
        # Trees round the plaza.
        trunk_mat = material((0.35, 0.25, 0.18))
        leaf_mats = [
            material(c, specular=0.03) for c in ((0.22, 0.42, 0.18), (0.28, 0.48, 0.2), (0.2, 0.36, 0.16))
        ]
        for k in range(28):
            side = -1 if k % 2 else 1
            x = side * float(rng.uniform(9.0, 24.0))
            y = float(rng.uniform(4.0, 38.0))
            h = float(rng.uniform(4.0, 7.0))
            part(
                static,
                proc.cylinder("trunk", 0.18, h * 0.55, segments=6),
                (x, y, 0.0),
                mat=trunk_mat,
                hpr=(0, 90, 0),
            )
            crown = part(
                static, proc.sphere("crown", 1.0, rings=6, segments=9), (x, y, h * 0.7), mat=leaf_mats[k % 3]
            )
            crown.setScale(h * 0.35, h * 0.35, h * 0.42)
        # Other buildings: blocks on a grid beyond the roads and to the sides, all lower than the
        # tallest platform, with dark shadows laid on the ground away from the sun.
        facade_mats = [
            material(c, specular=0.25, shininess=30)
            for c in ((1.0, 0.97, 0.92), (0.85, 0.88, 0.95), (0.95, 0.85, 0.75), (0.75, 0.75, 0.78))
        ]
        roof_mat = material((0.4, 0.4, 0.42))
        shadows = below.attachNewNode("shadows")
        shadow_len = 1.0 / math.tan(math.radians(38.0))
        sun_dir = (
            math.sin(math.radians(-35.0)),
            -math.cos(math.radians(-35.0)),
        )  # on the ground, away from the sun
        for gx in range(-6, 7):
            for gy in range(-4, 9):
                cx, cy = gx * 42.0, gy * 42.0 + 20.0
                if abs(cx) < 40 and -60 < cy < ROAD_Y + 12:  # the plaza, the tower and the near road
                    continue
                if abs(cx - ROAD_X) < 12 or abs(cy - ROAD_Y) < 14:
                    continue
                if rng.random() < 0.3:  # a park or a low square here and there
                    continue
                w, d = float(rng.uniform(16, 30)), float(rng.uniform(16, 30))
                dist = math.hypot(cx, cy)
                h = float(rng.uniform(10, 32) + (rng.uniform(0, 45) if dist > 150 else 0.0))
                body = part(
                    static,
                    proc.box("block", (w, d, h), uv_per_m=1 / 3),
                    (cx, cy, h / 2),
                    texture="facade",
                    mat=facade_mats[int(rng.integers(0, 4))],
                )
                body.setName("block")
                part(static, proc.box("roof", (w + 0.4, d + 0.4, 0.5)), (cx, cy, h + 0.25), mat=roof_mat)
                length = min(h * shadow_len, 80.0)
                s = part(
                    shadows,
                    proc.plane("shadow", w, d + length),
                    (cx + sun_dir[0] * length / 2, cy + sun_dir[1] * length / 2, 0.15),
                )
                s.setH(-35.0)
        shadows.setColor(0.0, 0.0, 0.05, 1.0)
        shadows.setAlphaScale(0.35)
        shadows.setTransparency(TransparencyAttrib.M_alpha)
        shadows.setDepthWrite(False)
        shadows.setBin("transparent", 1)
        shadows.hide(SHADOW_MASK)
        shading.unlit(shadows, fog=True)
        shadows.flattenStrong()
        static.flattenStrong()
        fountain.flattenStrong()

    def _build_people_and_cars(self, below: NodePath) -> None:
        rng = np.random.default_rng(31)
        self.people: list[tuple[NodePath, float, float]] = []  # (root, speed, lane x)
        shirts = ((0.7, 0.2, 0.2), (0.2, 0.3, 0.6), (0.9, 0.8, 0.3), (0.3, 0.5, 0.3), (0.85, 0.85, 0.85))
        for k in range(14):
            person = Figure(below, rng=rng, shirt=shirts[k % 5], name=f"person-{k}")
            x = float(rng.uniform(-7.0, 7.0))
            if abs(x) < 4.8:
                x = math.copysign(5.5 + abs(x) * 0.3, x)
            y = float(rng.uniform(0.0, 40.0))
            speed = float(rng.uniform(0.9, 1.4)) * (1 if k % 2 else -1)
            person.root.setPos(x, y, 0.0)
            person.root.setH(0.0 if speed > 0 else 180.0)
            self.people.append((person.root, speed, x))
        self.cars: list[tuple[Car, float]] = []
        colours = ((0.6, 0.05, 0.05), (0.1, 0.2, 0.5), (0.85, 0.85, 0.85), (0.1, 0.1, 0.1), (0.7, 0.6, 0.1))
        for k in range(10):
            car = Car(below, color=colours[k % 5], name=f"car-{k}")
            if k < 7:
                lane = (k % 4) - 1.5
                direction = 1 if lane > 0 else -1
                car.root.setPos(float(rng.uniform(-200, 200)), ROAD_Y + lane * 3.5, 0.0)
                car.root.setH(-90.0 if direction > 0 else 90.0)
            else:
                lane = 0.5 if k % 2 else -0.5
                car.root.setPos(ROAD_X + lane * 3.5, float(rng.uniform(-150, 250)), 0.0)
                car.root.setH(0.0 if lane > 0 else 180.0)
            self.cars.append((car, float(rng.uniform(8.0, 13.0))))

    def _build_tower(self, root: NodePath) -> None:
        tower = root.attachNewNode("tower")
        facade = material((0.95, 0.95, 0.97), specular=0.3, shininess=40)
        depth = 30.0
        body = part(
            tower,
            proc.box("tower", (36.0, depth, 290.0), uv_per_m=1 / 3),
            (0.0, FACADE_Y - depth / 2, -290.0 / 2 + 14.0),
            texture="facade",
            mat=facade,
        )
        # Align the floors' texture so a window band sits at the patient's own floor.
        body.setTexOffset(TextureStage.getDefault(), 0.5, 0.0)
        # The patient's own wall behind: a glazed door and plaster either side.
        part(
            tower,
            proc.box("door", (2.2, 0.1, 2.4)),
            (0.0, FACADE_Y + 0.05, 1.2),
            mat=material((0.25, 0.3, 0.36), specular=0.8, shininess=80),
        )
        tower.flattenStrong()

    def _build_platform(self, root: NodePath) -> None:
        self.platform = root.attachNewNode("platform")
        # Each floor kind is a slab PLATFORM_DEPTH deep ending at the edge; it slides with the edge
        # (its far end hides inside the tower).
        self.floors: list[NodePath] = []
        solid = part(
            self.platform,
            proc.box("slab", (2 * PLATFORM_HALF_W, PLATFORM_DEPTH, SLAB_M), uv_per_m=0.5),
            (0.0, -PLATFORM_DEPTH / 2, -SLAB_M / 2),
            texture="paving",
            mat=material((0.9, 0.88, 0.85)),
        )
        grating = self.platform.attachNewNode("grating")
        part(
            grating,
            proc.plane("grating", 2 * PLATFORM_HALF_W, PLATFORM_DEPTH, uv_repeat=(20, 18)),
            (0.0, -PLATFORM_DEPTH / 2, 0.0),
            texture="grating",
            mat=material((0.8, 0.8, 0.82), specular=0.5),
        )
        # Blended, not alpha-tested (the scene program does not discard): drawn after the opaque
        # world and writing no depth, so the drop shows through its holes.
        grating.setTransparency(TransparencyAttrib.M_alpha)
        grating.setDepthWrite(False)
        grating.setBin("transparent", 8)
        grating.setTwoSided(True)
        glass = self.platform.attachNewNode("glass-floor")
        part(
            glass,
            proc.box("glass", (2 * PLATFORM_HALF_W, PLATFORM_DEPTH, 0.04)),
            (0.0, -PLATFORM_DEPTH / 2, -0.02),
            mat=material((0.75, 0.88, 0.92), specular=0.9, shininess=90),
        )
        glass.setTransparency(TransparencyAttrib.M_alpha)
        glass.setAlphaScale(0.18)
        glass.setDepthWrite(False)
        glass.setBin("transparent", 10)
        glass.hide(SHADOW_MASK)
        # A steel frame under the see-through floors: two beams along the sides and the edge beam.
        frame = self.platform.attachNewNode("frame")
        steel = material((0.3, 0.31, 0.33), specular=0.5, shininess=40)
        for x in (-PLATFORM_HALF_W + 0.1, PLATFORM_HALF_W - 0.1):
            part(
                frame,
                proc.box("beam", (0.2, PLATFORM_DEPTH, 0.3)),
                (x, -PLATFORM_DEPTH / 2, -0.15),
                mat=steel,
            )
        part(frame, proc.box("edge-beam", (2 * PLATFORM_HALF_W, 0.08, 0.12)), (0.0, -0.04, -0.06), mat=steel)
        frame.hide(SHADOW_MASK)  # thin steel: its own shadow only speckles it
        frame.flattenStrong()
        for f in (solid, grating, glass):
            self.floors.append(f)
        # Where the floor creaks: half a metre short of the edge, between the patient and it.
        self.floor_ahead = self.platform.attachNewNode("floor-ahead")
        self.floor_ahead.setPos(0.0, -0.5, 0.0)
        # Barriers, built with their foot at z = 0 and BARRIER_FULL_M high; scaled in z.
        self.barriers: list[NodePath] = []
        wall = self.platform.attachNewNode("parapet")
        concrete = material((0.82, 0.8, 0.76), specular=0.05)
        part(
            wall,
            proc.box("parapet", (2 * PLATFORM_HALF_W, 0.2, BARRIER_FULL_M), uv_per_m=0.5),
            (0.0, -0.1, BARRIER_FULL_M / 2),
            texture="plaster",
            mat=concrete,
        )
        for x in (-PLATFORM_HALF_W + 0.1, PLATFORM_HALF_W - 0.1):
            part(
                wall,
                proc.box("parapet-side", (0.2, 3.0, BARRIER_FULL_M), uv_per_m=0.5),
                (x, -1.5, BARRIER_FULL_M / 2),
                texture="plaster",
                mat=concrete,
            )
        rail = self.platform.attachNewNode("railing")
        for x0, y0, along_x, length in (
            (0.0, -0.05, True, 2 * PLATFORM_HALF_W),
            (-PLATFORM_HALF_W + 0.05, -1.5, False, 3.0),
            (PLATFORM_HALF_W - 0.05, -1.5, False, 3.0),
        ):
            size_top = (length, 0.06, 0.06) if along_x else (0.06, length, 0.06)
            for z in (BARRIER_FULL_M - 0.03, 0.55, 0.12):
                part(rail, proc.box("rail", size_top), (x0, y0, z), mat=steel)
            posts = int(length / 1.2) + 1
            for k in range(posts):
                s = -length / 2 + k * length / (posts - 1)
                pos = (x0 + s, y0, BARRIER_FULL_M / 2) if along_x else (x0, y0 + s, BARRIER_FULL_M / 2)
                part(rail, proc.box("post", (0.05, 0.05, BARRIER_FULL_M)), pos, mat=steel)
        glass_rail = self.platform.attachNewNode("glass-balustrade")
        pane = glass_rail.attachNewNode("panes")
        part(
            pane,
            proc.box("pane", (2 * PLATFORM_HALF_W, 0.03, BARRIER_FULL_M - 0.05)),
            (0.0, -0.05, (BARRIER_FULL_M - 0.05) / 2),
            mat=material((0.7, 0.85, 0.9), specular=0.9, shininess=90),
        )
        for x in (-PLATFORM_HALF_W + 0.05, PLATFORM_HALF_W - 0.05):
            part(
                pane,
                proc.box("pane-side", (0.03, 3.0, BARRIER_FULL_M - 0.05)),
                (x, -1.5, (BARRIER_FULL_M - 0.05) / 2),
                mat=material((0.7, 0.85, 0.9), specular=0.9, shininess=90),
            )
        pane.setTransparency(TransparencyAttrib.M_alpha)
        pane.setAlphaScale(0.22)
        pane.setDepthWrite(False)
        pane.setBin("transparent", 12)
        pane.hide(SHADOW_MASK)
        part(
            glass_rail,
            proc.box("handrail", (2 * PLATFORM_HALF_W, 0.08, 0.05)),
            (0.0, -0.05, BARRIER_FULL_M),
            mat=steel,
        )
        for b in (wall, rail, glass_rail):
            for child in b.getChildren():
                child.flattenStrong()
            self.barriers.append(b)
        rail.flattenStrong()
        wall.flattenStrong()

    def _build_loose_things(self, root: NodePath) -> None:
        # A flag on a short pole from the facade, and a potted plant in the corner.
        pole = part(
            root,
            proc.cylinder("flagpole", 0.03, 2.6, segments=8),
            (-4.2, FACADE_Y, 2.6),
            mat=material((0.8, 0.8, 0.82), specular=0.6, shininess=50),
            hpr=(0, -20, 0),
        )
        pole.setName("flagpole")
        self.flag_pivot = root.attachNewNode("flag-pivot")
        self.flag_pivot.setPos(-4.2, FACADE_Y + 2.44, 3.49)
        flag = part(
            self.flag_pivot,
            proc.box("flag", (1.2, 0.01, 0.7)),
            (0.6, 0.0, -0.36),
            mat=material((0.8, 0.15, 0.12), specular=0.05),
        )
        flag.setTwoSided(True)
        self.plant_pivot = root.attachNewNode("plant-pivot")
        self.plant_pivot.setPos(3.8, FACADE_Y + 0.8, 0.55)
        part(
            root,
            proc.cylinder("pot", 0.3, 0.55, segments=12, radius_end=0.24),
            (3.8, FACADE_Y + 0.8, 0.0),
            mat=material((0.55, 0.3, 0.2)),
            hpr=(0, 90, 0),
        )
        rng = np.random.default_rng(5)
        leaves = self.plant_pivot.attachNewNode(proc.grass_tuft("plant", 30, 0.9, rng))
        leaves.setScale(1.4)
        leaves.setMaterial(material((0.3, 0.55, 0.22), specular=0.05), 1)
        leaves.setTwoSided(True)
        # The ball that drops over the edge.
        self.ball = part(
            root,
            proc.sphere("ball", 0.12, rings=8, segments=12),
            (0.8, 0.0, 0.12),
            mat=material((0.95, 0.5, 0.08), specular=0.4, shininess=40),
        )
        self.ball.hide()

    # --------------------------------------------------------------------------------------- values

    def apply(self, values: Mapping[str, float]) -> None:
        self._values = dict(values)
        self.height_m = max(values.get("height_m", 0.0), 0.0)
        self.lift_offset_m = 0.0
        self._lift = None
        self._lower = None
        self.edge_m = values.get("edge_distance_m", 1.5)
        self.barrier_kind = int(round(values.get("barrier_kind", 0.0)))
        self.barrier_h = max(values.get("barrier_height_m", BARRIER_FULL_M), 0.0)
        self.barrier_scale = self.barrier_h / BARRIER_FULL_M
        self.wind = values.get("wind_strength", 0.2)
        floor_kind = int(round(values.get("floor_kind", 0.0)))
        for k, f in enumerate(self.floors):
            if k == floor_kind:
                f.show()
            else:
                f.hide()
        if values.get("look_down_cue", 0.0) >= 0.5:
            self.target.show()
        else:
            self.target.hide()
        self.platform.setY(self.edge_m)
        self._place_below()
        self._place_barrier(self.barrier_scale)

    def _place_below(self) -> None:
        self.below.setZ(-(self.height_m + self.lift_offset_m) - SLAB_M / 2)

    def _place_barrier(self, scale: float) -> None:
        for k, b in enumerate(self.barriers):
            if k == self.barrier_kind and scale > 0.01:
                b.show()
                b.setSz(scale)
            else:
                b.hide()

    # ------------------------------------------------------------------------------------ per frame

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        t = self.t_s
        # Wind: the flag flutters and swings, the plant bends; a gust adds to both for its length.
        gust = 0.0
        if self._gust is not None:
            g0, gd = self._gust
            f = (t - g0) / gd
            if f >= 1.0:
                self._gust = None
            else:
                gust = math.sin(math.pi * min(f * 2.0, 1.0) * 0.5) * (1.0 - max(f - 0.5, 0.0) * 2.0)
        wind = min(self.wind + 0.8 * gust, 1.5)
        self._flag_phase += dt_s * (1.5 + 5.0 * wind)
        self.flag_pivot.setHpr(
            -20.0 + 35.0 * wind * math.sin(0.7 * t) - 60.0 * wind,
            0.0,
            (1.0 - min(wind, 1.0)) * 70.0 * math.cos(0.3 * t) ** 2 + 8.0 * wind * math.sin(self._flag_phase),
        )
        self.plant_pivot.setHpr(0.0, wind * (10.0 + 6.0 * math.sin(2.1 * t)), wind * 4.0 * math.sin(1.3 * t))
        # The city below lives: people walk up and down the plaza, cars drive along the roads. Each
        # frame moves one half of them by two frames' time (too far below to see the difference),
        # which halves the per-frame work.
        self._frame += 1
        if self._frame % 2:
            self._walk_people(dt_s * 2.0)
        else:
            self._drive_cars(dt_s * 2.0)
        if self._lift is not None:
            l0, ld = self._lift
            f = min((t - l0) / ld, 1.0)
            self.lift_offset_m = LIFT_RISE_M * (0.5 - 0.5 * math.cos(math.pi * f))
            self._place_below()
            if f >= 1.0:
                self._lift = None
        if self._lower is not None:
            b0, bd, s0 = self._lower
            f = min((t - b0) / bd, 1.0)
            if s0 > 0.05:
                scale = s0 * (1.0 - f)
            else:  # no barrier stood: one rises out of the floor in the first third, then sinks
                scale = min(f * 3.0, 1.0) if f < 1.0 / 3.0 else 1.5 * (1.0 - f)
            self._place_barrier(scale)
            if f >= 1.0:
                self._lower = None
                self.barrier_scale = 0.0
        if self._creak is not None:
            c0, cd = self._creak
            f = (t - c0) / cd
            dip = (
                0.0
                if f >= 1.0
                else -0.02
                * math.exp(-4.0 * f)
                * math.cos(2 * math.pi * 3.0 * f)
                * math.sin(math.pi * f) ** 0.3
            )
            for fl in self.floors:
                fl.setZ(dip)
            if f >= 1.0:
                self._creak = None
        if self._drop is not None:
            d0, until = self._drop
            self._update_drop(t - d0)
            if t >= until:
                self._drop = None

    def _walk_people(self, dt_s: float) -> None:
        for person, speed, _x in self.people:
            y = person.getY() + speed * dt_s
            if y > 42.0:
                y = 0.0
            elif y < 0.0:
                y = 42.0
            person.setY(y)

    def _drive_cars(self, dt_s: float) -> None:
        for car, speed in self.cars:
            car.drive(dt_s, speed)
            x, y = car.root.getX(), car.root.getY()
            if x > 300.0:
                car.root.setX(-300.0)
            elif x < -300.0:
                car.root.setX(300.0)
            if y > 300.0:
                car.root.setY(-200.0)
            elif y < -200.0:
                car.root.setY(300.0)

    def _update_drop(self, since_s: float) -> None:
        """The ball rolls 0.8 m to the edge in half a second, then falls freely to the plaza."""
        roll_s = 0.5
        start_y = self.edge_m - 0.8
        if since_s < roll_s:
            self.ball.setPos(0.8, start_y + 0.8 * since_s / roll_s, 0.12)
            return
        fall = min(since_s - roll_s, self._fall_s())
        z = 0.12 - 0.5 * GRAVITY * fall * fall
        self.ball.setPos(0.8, self.edge_m + 1.6 * fall, z)

    def _fall_s(self) -> float:
        drop_m = self.height_m + self.lift_offset_m + SLAB_M / 2
        return math.sqrt(2.0 * drop_m / GRAVITY)

    def start_event(self, name: str, event: Event) -> None:
        t = self.t_s
        d = max(event.duration_s, 0.1)
        if name == "lift-rises":
            self._lift = (t, d)
        elif name == "gust":
            self._gust = (t, d)
        elif name == "drop-object":
            self.ball.show()
            self._drop = (t, t + max(d, 0.5 + self._fall_s() + 1.0))
            self._update_drop(0.0)
        elif name == "barrier-lowers":
            self._lower = (t, d, self.barrier_scale)
        elif name == "floor-creaks":
            self._creak = (t, d)

    def event_running(self, name: str) -> bool:
        return {
            "lift-rises": self._lift,
            "gust": self._gust,
            "drop-object": self._drop,
            "barrier-lowers": self._lower,
            "floor-creaks": self._creak,
        }.get(name) is not None

    def anchor(self, name: str) -> NodePath | None:
        if name == "plaza":
            return self.fountain
        if name == "floor-ahead":
            return self.floor_ahead
        return None

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        """Toward the plaza below, over the edge: straight ahead near the ground, steeply down high up."""
        drop = self.height_m + self.lift_offset_m + eye_height_m
        toward_plaza = -math.degrees(math.atan2(drop, FOUNTAIN_Y + 6.0))
        # Down over the edge: the edge a little above the middle of the view, the drop around it.
        over_edge = -math.degrees(math.atan2(eye_height_m, max(self.edge_m, 0.05))) - 3.0
        return 0.0, max(min(max(toward_plaza, over_edge), -8.0), -70.0)


@register_builder("heights")
def build_heights(ctx: BuildContext) -> SceneInstance:
    return HeightsScene(ctx)
