"""The ``spiders`` builder: a small study with a desk, a shelf, a window and procedurally animated
spiders.

Layout (metres, Panda3D axes): the patient sits at the origin facing +Y, eyes ``eye_height_m`` above
the floor. The desk stands front-right against the right wall (top 0.74 m high, near edge 0.25 m in
front of the eyes), the far wall with its shelf is 3 m ahead, the window is on the left wall.

Everything is built once for the largest count the spec allows (12 spiders, a jar, a photograph, a
spider on a thread); :meth:`SpidersScene.apply` only shows, hides, moves and scales. Each spider is
a body (cephalothorax and abdomen) and eight legs of two segments; the legs step in an alternating
tetrapod gait (L1 R2 L3 R4 against R1 L2 R3 L4) while the spider walks, twitch while it waits.

Parameters read (see ``scenes/spiders.yaml``): ``spider_count``, ``nearest_distance_m``,
``spider_size_m``, ``movement``, ``approach_speed_m_s``, ``enclosed``, ``photo_visible``,
``room_light``. Events: ``walk-toward``, ``drop-from-ceiling``, ``scatter``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from panda3d.core import (
    NodePath,
    PointLight,
    TransparencyAttrib,
)

from vr_exposure.core.contract import STIMULUS_TAG_KEY
from vr_exposure.core.specs import Event
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.creatures import Surface, Walker
from vr_exposure.renderer.blocks.creatures import surface as make_surface
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, material, part
from vr_exposure.renderer.blocks.rooms import Room, Window, desk, wall_shelf
from vr_exposure.renderer.blocks.sky import SceneFog, Sun, sky_dome
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance
from vr_exposure.renderer.builders.spiders import sounds as _sounds  # noqa: F401 - registers its sounds
from vr_exposure.renderer.builders.spiders import textures as _textures  # noqa: F401 - registers its textures
from vr_exposure.renderer.builders.spiders.contract import CONTRACT, DROP_CLIMB_S, DROP_HANG_S, MAX_SPIDERS

STIMULUS_TAG = CONTRACT.stimulus_tag or "spider"

# Room bounds.
ROOM_X = (-1.7, 1.3)
ROOM_Y = (-1.0, 3.0)
CEILING_Z = 2.5
DESK_X = (0.0, 1.15)
DESK_Y = (0.25, 0.95)
DESK_TOP_Z = 0.74
SHELF_Z = 1.15
SHELF_Y = 2.86

# Spider anatomy for a leg span of 1 (scaled to ``spider_size_m``).
_LEG_ANGLES_DEG = (32.0, 68.0, 108.0, 145.0)
_FEMUR_M = 0.30
_TIBIA_M = 0.36
_FEMUR_PITCH_DEG = 42.0
_KNEE_DEG = -112.0
_BODY_Z = 0.10
# Gait: legs in group A (L1 R2 L3 R4) swing while group B stands, half a cycle apart.
_GAIT_GROUP = {(-1, 0): 0, (1, 1): 0, (-1, 2): 0, (1, 3): 0, (1, 0): 1, (-1, 1): 1, (1, 2): 1, (-1, 3): 1}
_STRIDE = 0.22  # body lengths per gait cycle (of a unit leg span)


def _leg_reach() -> float:
    hip = 0.075
    femur = _FEMUR_M * math.cos(math.radians(_FEMUR_PITCH_DEG))
    tibia = _TIBIA_M * math.cos(math.radians(_FEMUR_PITCH_DEG + _KNEE_DEG))
    return hip + femur + tibia


_SPAN = 2.0 * _leg_reach() * math.sin(math.radians(75.0))


class _Spider(Walker):
    """One spider: node tree, walking state (a :class:`Walker`) and gait."""

    def __init__(self, parent: NodePath, name: str, rng: np.random.Generator) -> None:
        super().__init__(parent.attachNewNode(name))
        self.root.setTag(STIMULUS_TAG_KEY, STIMULUS_TAG)
        self.model = self.root.attachNewNode("model")
        body = self.model.attachNewNode("body")
        body.setZ(_BODY_Z)
        fur = proc.named_texture("fur")
        skin = material((0.9, 0.85, 0.8), specular=0.35, shininess=40.0)
        sphere = proc.sphere("segment", 1.0, rings=8, segments=12)
        ceph = body.attachNewNode(sphere)
        ceph.setScale(0.085, 0.11, 0.06)
        ceph.setY(0.05)
        abdomen = body.attachNewNode(sphere)
        abdomen.setScale(0.12, 0.165, 0.10)
        abdomen.setPos(0, -0.16, 0.035)
        for np_ in (ceph, abdomen):
            np_.setTexture(fur, 1)
            np_.setMaterial(skin, 1)
        leg_mat = material((0.12, 0.08, 0.06), specular=0.2, shininess=20.0)
        femur_geom = proc.cylinder("femur", 0.018, _FEMUR_M, segments=6, radius_end=0.014, caps=False)
        tibia_geom = proc.cylinder("tibia", 0.014, _TIBIA_M, segments=6, radius_end=0.006)
        self.hips: list[NodePath] = []
        self.base_h: list[float] = []
        self.group: list[int] = []
        for side in (-1, 1):
            for i, ang in enumerate(_LEG_ANGLES_DEG):
                a = math.radians(ang)
                hip = body.attachNewNode(f"leg-{'L' if side < 0 else 'R'}{i + 1}")
                hip.setPos(side * 0.075 * math.sin(a), 0.05 + 0.075 * math.cos(a), 0.0)
                h = -side * ang
                hip.setH(h)
                femur = hip.attachNewNode("femur")
                femur.setP(_FEMUR_PITCH_DEG)
                femur.attachNewNode(femur_geom)
                knee = femur.attachNewNode("knee")
                knee.setY(_FEMUR_M)
                knee.setP(_KNEE_DEG)
                knee.attachNewNode(tibia_geom)
                self.hips.append(hip)
                self.base_h.append(h)
                self.group.append(_GAIT_GROUP[(side, i)])
        # Pedipalps: two short feelers at the front.
        for side in (-1, 1):
            palp = body.attachNewNode(proc.cylinder("palp", 0.012, 0.09, segments=5, radius_end=0.008))
            palp.setPos(side * 0.03, 0.14, -0.01)
            palp.setHpr(-side * 15.0, -25.0, 0.0)
        for np_ in self.model.findAllMatches("**/+GeomNode"):
            if np_.getParent().getName() in ("femur", "knee") or np_.getName() == "palp":
                np_.setMaterial(leg_mat, 1)
        self.model.flattenLight()
        # state
        self.heading_deg = float(rng.uniform(0, 360))
        self.home = (0.0, 0.0)
        self.roam_m = 0.3
        self.pause_s = float(rng.uniform(0.0, 2.0))
        self.phase = float(rng.uniform(0, 2 * math.pi))
        self.twitch_t = float(rng.uniform(0, 10))
        self.scale = 1.0
        self.size_factor = 1.0
        self.speed_m_s = 0.0
        self.mode = "idle"  # idle | roam | event
        self.event_until_s = 0.0
        self.legs_rest = True
        self.visible = False

    def set_size(self, size_m: float) -> None:
        s = size_m * self.size_factor / _SPAN
        if abs(s - self.scale) > 1e-6:
            self.scale = s
            self.root.setScale(s)

    def pose_legs(self, swing_deg: float, lift_deg: float, phase: float, twitch: float, t: float) -> None:
        """Set the eight hips: stepping (swing forward/back, lift on the forward swing) plus twitch."""
        hips, base_h, group = self.hips, self.base_h, self.group
        for k in range(8):
            p = phase + math.pi * group[k]
            s = math.sin(p)
            c = math.cos(p)
            h = base_h[k] + swing_deg * s * (1.0 if base_h[k] < 0 else -1.0)
            lift = lift_deg * c if c > 0 else 0.0
            if twitch:
                h += twitch * math.sin(t * (5.0 + k) + k * 1.7)
                lift += twitch * 0.5 * max(0.0, math.sin(t * (3.0 + 0.7 * k) + k))
            hips[k].setHpr(h, lift, 0.0)
        self.legs_rest = False

    def rest_legs(self) -> None:
        if not self.legs_rest:
            for hip, h in zip(self.hips, self.base_h, strict=True):
                hip.setHpr(h, 0.0, 0.0)
            self.legs_rest = True


class SpidersScene(SceneInstance):
    fog_color = (0.55, 0.52, 0.47)

    def __init__(self, ctx: BuildContext) -> None:
        root = ctx.parent.attachNewNode(f"scene-{ctx.spec.id}")
        super().__init__(root)
        self.rng = ctx.rng
        self.eye_height_m = ctx.eye_height_m
        self.t_s = 0.0
        self._values: dict[str, float] = {}
        shading.apply_scene_shader(root, shadows=ctx.shadow_size_px > 0)
        self.sun = Sun(
            root,
            direction=(0.5, 0.6, -0.62),
            color=(1.1, 0.98, 0.82),
            ambient=(0.30, 0.29, 0.32),
            focus=(0.0, 1.0, 0.6),
            film_m=6.0,
            shadow_size_px=ctx.shadow_size_px,
        )
        self.fog = SceneFog(root, self.fog_color, 0.035)
        sky_dome(
            root,
            60.0,
            [(-1.0, (0.45, 0.50, 0.45, 1)), (0.0, (0.80, 0.86, 0.92, 1)), (1.0, (0.42, 0.62, 0.90, 1))],
        )
        self._build_room(root)
        self._build_props(root)
        self.surfaces = self._build_surfaces(root)
        self.spiders = [_Spider(root, f"spider-{i:02d}", self.rng) for i in range(MAX_SPIDERS)]
        for i, sp in enumerate(self.spiders):
            sp.size_factor = 1.0 if i == 0 else float(self.rng.uniform(0.8, 1.15))
            sp.root.hide()
        self._slots = self._slot_positions()
        self._build_jar(root)
        self._build_photo(root)
        self._build_dropper(root)
        self._events: dict[str, float] = {}  # name -> time the animation ends
        self._drop_t = -1.0
        self._drop_duration_s = 3.0

    # ----------------------------------------------------------------------------------- building

    def _build_room(self, root: NodePath) -> None:
        Room(
            root,
            x=ROOM_X,
            y=ROOM_Y,
            height_m=CEILING_Z,
            skirting=("far", "left", "right"),
            windows=[
                Window("left", along_m=1.2 - (ROOM_Y[0] + ROOM_Y[1]) / 2, z_m=1.45, width_m=1.1, height_m=1.0)
            ],
            ceiling_lamp=(0.0, 1.0),
        )

    def _build_props(self, root: NodePath) -> None:
        props = root.attachNewNode("props")
        desk(props, x=DESK_X, y=DESK_Y, top_z=DESK_TOP_Z)
        dx1, dy1 = DESK_X[1], DESK_Y[1]
        # Desk lamp at the far right corner, with a warm point light.
        metal = material((0.15, 0.35, 0.30), specular=0.6, shininess=60)
        lamp = props.attachNewNode("desk-lamp")
        lamp.setPos(dx1 - 0.15, dy1 - 0.12, DESK_TOP_Z)
        part(
            lamp, proc.cylinder("lamp-base", 0.08, 0.02, segments=20), (0, 0, 0.0), mat=metal, hpr=(0, 90, 0)
        )
        part(
            lamp,
            proc.cylinder("lamp-arm", 0.012, 0.42, segments=8),
            (0, 0, 0.01),
            mat=metal,
            hpr=(150, 70, 0),
        )
        shade = part(
            lamp,
            proc.cylinder("lamp-shade", 0.05, 0.14, segments=16, radius_end=0.11, caps=False),
            (-0.07, -0.12, 0.40),
            mat=metal,
            hpr=(150, -60, 0),
        )
        shade.setTwoSided(True)
        bulb = part(lamp, proc.sphere("bulb", 0.03), (-0.1, -0.17, 0.34))
        bulb.setColor(1.0, 0.9, 0.6, 1)
        shading.unlit(bulb)
        bulb.hide(SHADOW_MASK)
        pl = PointLight("lamp-light")
        pl.setColor((1.0, 0.78, 0.5, 1))
        pl.setAttenuation((1.0, 0.0, 1.2))
        self.lamp_color = (1.0, 0.78, 0.5)
        self.lamp = pl
        lnode = lamp.attachNewNode(pl)
        lnode.setPos(-0.12, -0.2, 0.3)
        root.setLight(lnode)
        # Things on the desk: notebook, pen, mug, books.
        paper = material((0.95, 0.93, 0.88))
        part(
            props,
            proc.box("notebook", (0.21, 0.29, 0.012)),
            (0.55, 0.55, DESK_TOP_Z + 0.006),
            mat=material((0.20, 0.30, 0.45), specular=0.1),
            hpr=(12, 0, 0),
        )
        part(
            props,
            proc.box("paper", (0.2, 0.28, 0.004)),
            (0.32, 0.5, DESK_TOP_Z + 0.002),
            mat=paper,
            hpr=(-8, 0, 0),
        )
        part(
            props,
            proc.cylinder("pen", 0.004, 0.14, segments=6),
            (0.40, 0.40, DESK_TOP_Z + 0.005),
            mat=material((0.1, 0.1, 0.12), specular=0.5),
            hpr=(-70, 0, 0),
        )
        part(
            props,
            proc.cylinder("mug", 0.04, 0.10, segments=16),
            (0.92, 0.45, DESK_TOP_Z),
            hpr=(0, 90, 0),
            mat=material((0.75, 0.32, 0.22), specular=0.5, shininess=50),
        )
        # Shelf on the far wall with books and a small plant pot.
        shelf = wall_shelf(
            props, x_m=-0.5, y_m=SHELF_Y, z_m=SHELF_Z, rng=np.random.default_rng(11), books_to=(-0.75, 0.15)
        )
        part(
            shelf,
            proc.cylinder("pot", 0.06, 0.11, segments=14, radius_end=0.075),
            (0.05, SHELF_Y, SHELF_Z),
            hpr=(0, 90, 0),
            mat=material((0.70, 0.38, 0.25)),
        )
        leaf = material((0.18, 0.42, 0.16), specular=0.2)
        for k in range(7):
            a = 2 * math.pi * k / 7
            part(
                shelf,
                proc.sphere("leaf", 1.0, rings=6, segments=8),
                (0.05 + 0.05 * math.cos(a), SHELF_Y + 0.05 * math.sin(a), SHELF_Z + 0.16),
                mat=leaf,
            ).setScale(0.025, 0.06, 0.015)
        # A rug and a framed picture on the left wall.
        part(
            props,
            proc.plane("rug", 1.4, 1.9),
            (-0.75, 1.6, 0.003),
            texture="rug",
            mat=material((1, 1, 1), specular=0.02),
        )
        frame = part(
            props,
            proc.box("picture-frame", (0.03, 0.6, 0.45)),
            (ROOM_X[0] + 0.015, 2.35, 1.5),
            mat=material((0.25, 0.15, 0.08), specular=0.3),
        )
        frame.setName("picture-frame")
        pic = part(
            props,
            proc.plane("picture", 0.52, 0.37),
            (ROOM_X[0] + 0.032, 2.35, 1.5),
            hpr=(90, 90, 0),
            texture="water",
            mat=material((1, 1, 1)),
        )
        pic.setName("picture")
        props.flattenStrong()

    def _build_surfaces(self, root: NodePath) -> dict[str, Surface]:
        def surface(
            name: str,
            pos: tuple[float, float, float],
            normal: tuple[float, float, float],
            rect: tuple[float, float, float, float],
        ) -> Surface:
            return make_surface(root, name, pos, normal, rect)

        x0, x1 = ROOM_X
        y0, y1 = ROOM_Y
        return {
            "floor": surface("floor", (0, 0, 0.0), (0, 0, 1), (x0 + 0.1, x1 - 0.1, y0 + 0.3, y1 - 0.1)),
            "desk": surface(
                "desk",
                (0, 0, DESK_TOP_Z),
                (0, 0, 1),
                (DESK_X[0] + 0.03, DESK_X[1] - 0.35, DESK_Y[0] + 0.03, DESK_Y[1] - 0.05),
            ),
            "shelf": surface("shelf", (0, 0, SHELF_Z), (0, 0, 1), (-1.1, 0.1, SHELF_Y - 0.1, SHELF_Y + 0.08)),
            "wall-far": surface("wall-far", (0, y1 - 0.002, 0), (0, -1, 0), (x0 + 0.2, x1 - 0.2, 0.2, 2.3)),
            "wall-left": surface("wall-left", (x0 + 0.002, 0, 0), (1, 0, 0), (y0 + 0.5, y1 - 0.2, 0.2, 2.3)),
            "wall-right": surface(
                "wall-right", (x1 - 0.002, 0, 0), (-1, 0, 0), (-y1 + 0.2, -y0 - 0.5, 0.8, 2.3)
            ),
        }

    def _slot_positions(self) -> list[tuple[str, float, float]]:
        """Homes of spiders 1-11 (spider 0's home follows ``nearest_distance_m``)."""
        return [
            ("desk", 0.70, 0.80),
            ("floor", -1.0, 1.9),
            ("wall-far", -0.9, 1.3),
            ("desk", 0.20, 0.62),
            ("floor", 0.45, 2.65),
            ("wall-left", 1.9, 1.0),
            ("floor", -0.7, 0.9),
            ("wall-far", 0.7, 0.8),
            ("desk", 0.50, 0.35),
            ("wall-right", -0.55, 1.3),
            ("floor", -1.3, 0.4),
        ]

    def _build_jar(self, root: NodePath) -> None:
        jar = root.attachNewNode("jar")
        glass = jar.attachNewNode(proc.cylinder("jar-glass", 0.065, 0.15, segments=24, caps=False))
        glass.setP(90)
        glass.setColor(0.85, 0.92, 0.95, 0.22)
        glass.setTransparency(TransparencyAttrib.M_alpha)
        glass.setMaterial(material((0.8, 0.9, 0.95), specular=0.9, shininess=90), 1)
        glass.setDepthWrite(False)
        glass.setTwoSided(True)
        glass.setBin("transparent", 10)
        glass.hide(SHADOW_MASK)
        lid = jar.attachNewNode(proc.cylinder("jar-lid", 0.068, 0.02, segments=24))
        lid.setP(90)
        lid.setZ(0.15)
        lid.setMaterial(material((0.75, 0.7, 0.55), specular=0.8, shininess=60), 1)
        base = jar.attachNewNode(proc.cylinder("jar-base", 0.065, 0.004, segments=24))
        base.setP(90)
        base.setColor(0.8, 0.88, 0.9, 0.5)
        base.setTransparency(TransparencyAttrib.M_alpha)
        self.jar = jar
        jar.hide()

    def _build_photo(self, root: NodePath) -> None:
        photo = root.attachNewNode("photo")
        w, h = 0.2, 0.26
        stand = photo.attachNewNode("stand")
        stand.setP(-12)
        part(
            stand,
            proc.box("photo-frame", (w + 0.03, 0.015, h + 0.03)),
            (0, 0, h / 2 + 0.015),
            mat=material((0.2, 0.12, 0.07), specular=0.3),
        )
        part(
            stand,
            proc.plane("photo-print", w, h),
            (0, -0.0085, h / 2 + 0.015),
            hpr=(0, 90, 0),
            texture="spider-photo",
            mat=material((1, 1, 1), specular=0.3),
        )
        self.photo = photo
        photo.hide()

    def _build_dropper(self, root: NodePath) -> None:
        self.dropper = _Spider(root, "spider-drop", self.rng)
        self.dropper.root.hide()
        self.thread = root.attachNewNode(proc.cylinder("thread", 0.0006, 1.0, segments=4, caps=False))
        self.thread.setP(-90)
        self.thread.setColor(0.9, 0.9, 0.92, 0.7)
        self.thread.setTransparency(TransparencyAttrib.M_alpha)
        shading.unlit(self.thread, fog=True)
        self.thread.hide(SHADOW_MASK)
        self.thread.hide()
        self.drop_point = (0.12, 0.72)

    # ------------------------------------------------------------------------------ parameter values

    def _nearest_place(self, d: float) -> tuple[str, float, float]:
        """Where the nearest spider (or jar, or photograph) goes to be ``d`` metres from the eyes:
        on the shelf from 2.7 m, on the open floor ahead-left from 1.5 m, else on the desk ahead-right
        (from its far edge, 1.1 m, to its near edge, about 0.55 m: nothing nearer can stand on it)."""
        eye = self.eye_height_m
        if d >= 2.7:
            return "shelf", -0.3, SHELF_Y
        if d >= 1.5:
            h = math.sqrt(max(d * d - eye * eye, 0.0))
            a = math.radians(-35.0)
            return "floor", h * math.sin(a), h * math.cos(a)
        dz = eye - DESK_TOP_Z
        h = math.sqrt(max(d * d - dz * dz, 0.0))
        a = math.radians(18.0)
        x, y = h * math.sin(a), h * math.cos(a)
        x, y = self.surfaces["desk"].clamp(x, y)
        return "desk", x, y

    def apply(self, values: Mapping[str, float]) -> None:
        self._values = dict(values)
        count = int(round(values.get("spider_count", 0.0)))
        count = max(0, min(MAX_SPIDERS, count))
        d = values.get("nearest_distance_m", 1.0)
        size = values.get("spider_size_m", 0.05)
        enclosed = values.get("enclosed", 0.0) >= 0.5
        photo = values.get("photo_visible", 0.0) >= 0.5
        light = values.get("room_light", 1.0)
        self.sun.set_level(light)
        lc = self.lamp_color
        self.lamp.setColor((lc[0] * light, lc[1] * light, lc[2] * light, 1))
        near_surface, nx, ny = self._nearest_place(d)
        # The photograph and the jar stand where the nearest spider would be, facing the patient.
        facing = math.degrees(math.atan2(-nx, ny))
        if photo:
            self.photo.reparentTo(self.surfaces[near_surface].node)
            self.photo.setPos(nx + (0.12 if count and enclosed else 0.0), ny, 0)
            self.photo.setH(facing)
            self.photo.show()
        else:
            self.photo.hide()
        show_jar = enclosed and count > 0
        if show_jar:
            self.jar.reparentTo(self.surfaces[near_surface].node)
            self.jar.setPos(nx, ny, 0)
            self.jar.show()
        else:
            self.jar.hide()
        for i, sp in enumerate(self.spiders):
            if i >= count:
                if sp.visible:
                    sp.root.hide()
                    sp.visible = False
                    sp.mode = "idle"
                continue
            if i == 0:
                surface, hx, hy = near_surface, nx, ny
                sp.roam_m = 0.0 if enclosed else 0.12
            else:
                surface, hx, hy = self._slots[i - 1]
                sp.roam_m = 0.5
            surf = self.surfaces[surface]
            moved_home = (hx, hy) != sp.home or sp.surface is not surf
            sp.home = (hx, hy)
            if enclosed and i == 0:
                sp.set_size(min(size, 0.09))
                if not sp.visible or moved_home:
                    sp.place(surf, hx, hy)
                    sp.root.setZ(0.005)
            else:
                sp.set_size(size)
                if not sp.visible or sp.surface is not surf:
                    sp.place(surf, hx, hy)
                    sp.target = None
                elif moved_home and sp.mode == "idle":
                    sp.place(surf, hx, hy)
            if not sp.visible:
                sp.root.show()
                sp.visible = True

    # -------------------------------------------------------------------------------------- per frame

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        t = self.t_s
        v = self._values
        movement = v.get("movement", 0.0)
        speed = v.get("approach_speed_m_s", 0.1)
        enclosed = v.get("enclosed", 0.0) >= 0.5
        walk_speed = speed * min(1.0, max(0.0, (movement - 0.15) / 0.85))
        for i, sp in enumerate(self.spiders):
            if not sp.visible:
                continue
            if sp.mode == "event":
                self._walk(sp, dt_s, sp.speed_m_s)
                if t >= sp.event_until_s or sp.target is None:
                    sp.mode = "idle"
                    sp.target = None
                    sp.pause_s = 2.0
                continue
            if enclosed and i == 0 or walk_speed <= 0.0:
                if movement > 0.0:
                    sp.twitch_t += dt_s
                    sp.pose_legs(0.0, 0.0, 0.0, 12.0 * movement, sp.twitch_t)
                else:
                    sp.rest_legs()
                continue
            self._roam(sp, dt_s, walk_speed, movement)
        if self._drop_t >= 0.0:
            self._update_drop(dt_s)

    def _roam(self, sp: _Spider, dt_s: float, speed: float, movement: float) -> None:
        if sp.target is None:
            sp.pause_s -= dt_s
            sp.twitch_t += dt_s
            sp.pose_legs(0.0, 0.0, 0.0, 8.0 * movement, sp.twitch_t)
            if sp.pause_s <= 0.0:
                r = sp.roam_m
                hx, hy = sp.home
                assert sp.surface is not None
                sp.target = sp.surface.clamp(
                    hx + float(self.rng.uniform(-r, r)), hy + float(self.rng.uniform(-r, r))
                )
            return
        self._walk(sp, dt_s, speed)
        if sp.target is None:
            # Quick, active spiders pause briefly; slow ones sit longer.
            sp.pause_s = float(self.rng.uniform(0.3, 2.5)) * (1.5 - movement)

    def _walk(self, sp: _Spider, dt_s: float, speed: float) -> None:
        """Turn toward the target and step forward; legs follow the distance walked."""
        step = sp.steer(dt_s, speed)
        if step is None:
            return
        span = max(sp.scale * _SPAN, 1e-4)
        sp.phase += 2.0 * math.pi * (step + 0.15 * speed * dt_s) / (_STRIDE * span * 1.6)
        sp.pose_legs(22.0, 24.0, sp.phase, 0.0, 0.0)

    # ----------------------------------------------------------------------------------------- events

    def start_event(self, name: str, event: Event) -> None:
        now = self.t_s
        v = self._values
        speed = max(v.get("approach_speed_m_s", 0.1), 0.05)
        enclosed = v.get("enclosed", 0.0) >= 0.5
        free = [sp for i, sp in enumerate(self.spiders) if sp.visible and not (enclosed and i == 0)]
        if name == "walk-toward":
            if free:
                sp = free[0]
                self._walk_toward_patient(sp, speed, event.duration_s)
            self._events[name] = now + event.duration_s
        elif name == "drop-from-ceiling":
            self._drop_t = 0.0
            self._drop_duration_s = event.duration_s
            size = max(v.get("spider_size_m", 0.05), 0.05)
            self.dropper.set_size(size)
            self._events[name] = now + event.duration_s + DROP_HANG_S + DROP_CLIMB_S
        else:  # "scatter"; validate refuses a scene with an event the contract does not list
            for sp in free:
                a = float(self.rng.uniform(0, 2 * math.pi))
                r = float(self.rng.uniform(0.3, 0.7))
                assert sp.surface is not None
                sp.target = sp.surface.clamp(sp.x + r * math.cos(a), sp.y + r * math.sin(a))
                sp.speed_m_s = max(speed * 2.0, 0.3)
                sp.mode = "event"
                sp.event_until_s = now + event.duration_s
                sp.home = sp.target
            self._events[name] = now + event.duration_s

    def _walk_toward_patient(self, sp: _Spider, speed: float, duration_s: float) -> None:
        """Walk toward the patient's feet (floor), the desk's near edge (desk) or down (walls), and
        stop 0.15 m short of the patient."""
        sp.home = sp.head_toward_patient(self.root, self.eye_height_m, stop_short_m=0.15)
        sp.speed_m_s = speed
        sp.mode = "event"
        sp.event_until_s = self.t_s + duration_s

    def _update_drop(self, dt_s: float) -> None:
        self._drop_t += dt_s
        t = self._drop_t
        dur = self._drop_duration_s
        top = CEILING_Z - 0.01
        low = self.eye_height_m + 0.05
        if t < dur:
            f = t / dur
            f = f * f * (3 - 2 * f)
        elif t < dur + DROP_HANG_S:
            f = 1.0
        elif t < dur + DROP_HANG_S + DROP_CLIMB_S:
            f = 1.0 - (t - dur - DROP_HANG_S) / DROP_CLIMB_S
        else:
            self._drop_t = -1.0
            self.dropper.root.hide()
            self.dropper.visible = False
            self.thread.hide()
            return
        z = top - (top - low) * f
        x, y = self.drop_point
        sp = self.dropper
        if not sp.visible:
            sp.root.show()
            sp.visible = True
            self.thread.show()
        # Hanging head down, its back to the patient, slowly turning on the thread.
        sp.root.setPosHpr(x, y, z, 20.0 * math.sin(t * 0.7), -90.0, 0.0)
        sp.twitch_t += dt_s
        sp.pose_legs(0.0, 0.0, 0.0, 14.0, sp.twitch_t)
        self.thread.setPos(x, y, top)
        self.thread.setSy(max(top - z, 0.001))

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        """Toward the nearest visible thing (spider, jar or photograph), which sits low in the frame."""
        target: NodePath | None = None
        if self.photo.isHidden() is False and not self.photo.isStashed():
            target = self.photo
        if not self.jar.isHidden():
            target = self.jar
        if self.spiders[0].visible:
            target = self.spiders[0].root
        if target is None:
            return 0.0, -18.0
        p = target.getPos(self.root)
        dx, dy, dz = p.x, p.y, p.z - eye_height_m
        heading = -math.degrees(math.atan2(dx, dy))
        pitch = math.degrees(math.atan2(dz, math.hypot(dx, dy)))
        return 0.6 * heading, min(-12.0, pitch + 14.0)

    def event_running(self, name: str) -> bool:
        return self.t_s < self._events.get(name, -1.0)

    def anchor(self, name: str) -> NodePath | None:
        if name in ("nearest-spider", "spider"):
            if self.dropper.visible:
                return self.dropper.root
            for sp in self.spiders:
                if sp.visible:
                    return sp.root
            return None
        if name == "dropping-spider":
            return self.dropper.root
        return None


@register_builder("spiders")
def build_spiders(ctx: BuildContext) -> SceneInstance:
    return SpidersScene(ctx)
