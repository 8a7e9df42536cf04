"""The ``enclosed`` builder: five spaces round the seated patient, from a room to an MRI bore.

Layout (metres, Panda3D axes): the patient sits at the origin facing +Y, eyes ``eye_height_m`` above
the floor. Each space is built once round the origin and only the one ``space`` names shows:

- ``room``: a 4.4 m x 5.5 m office with a window ahead on the left (a roller shutter closes it)
  and a hinged door ahead opening onto a lit corridor;
- ``large-lift``: a 2.2 m x 2.4 m steel cabin, sliding doors ahead onto a landing, a handrail, the
  button panel and a row of floor lamps over the doors;
- ``small-lift``: the same, 1.1 m x 1.2 m;
- ``crawl-space``: a low concrete void (the ceiling a hand above the head, pipes along it, a bare
  bulb), 1 m wide, running 1.3 m ahead to a wall;
- ``mri-bore``: a scanner room with the gantry ahead on the axis of the patient's eyes; the bore
  (0.32 m in radius) slides over the head as ``table_in`` rises, its far end a bright disc.

Built once; :meth:`EnclosedScene.apply` only shows, hides, moves and recolours. The light's flicker
is a colour change of the lights, never a movement of the view.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from panda3d.core import (
    Geom,
    GeomNode,
    GeomTriangles,
    GeomVertexData,
    GeomVertexFormat,
    GeomVertexWriter,
    NodePath,
    PointLight,
)

from vr_exposure.core.contract import STIMULUS_TAG_KEY
from vr_exposure.core.specs import Event
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, material, part
from vr_exposure.renderer.blocks.people import Figure
from vr_exposure.renderer.blocks.rooms import Door, Room, Window
from vr_exposure.renderer.blocks.sky import Sun
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance
from vr_exposure.renderer.builders.enclosed import sounds as _sounds  # noqa: F401 - registers its sounds
from vr_exposure.renderer.builders.enclosed import textures as _textures  # noqa: F401 - registers textures
from vr_exposure.renderer.builders.enclosed.contract import CONTRACT, MAX_PEOPLE, SPACES

STIMULUS_TAG = CONTRACT.stimulus_tag or "enclosure"
BORE_R = 0.32
GANTRY_R = 1.05
GANTRY_LEN = 1.7
#: Where the gantry's front face stands with the table out (0) and in (1).
BORE_FRONT_OUT_Y = 1.6
BORE_FRONT_IN_Y = -0.9
FLOOR_LAMPS = 8
WHITE = (1.0, 1.0, 1.0, 1.0)


def _ring_mesh(name: str, r_in: float, r_out: float, length: float, segments: int = 32) -> GeomNode:
    """A thick ring along +Y from 0 to ``length``: the inside of the tube (facing the axis), the
    outside (facing out) and the two annular faces, UVs in metres."""
    vdata = GeomVertexData(name, GeomVertexFormat.getV3n3c4t2(), Geom.UH_static)
    vw, nw = GeomVertexWriter(vdata, "vertex"), GeomVertexWriter(vdata, "normal")
    cw, tw = GeomVertexWriter(vdata, "color"), GeomVertexWriter(vdata, "texcoord")
    tris = GeomTriangles(Geom.UH_static)
    count = 0

    def add(p: Sequence[float], n: Sequence[float], uv: Sequence[float]) -> int:
        nonlocal count
        vw.addData3(*p)
        nw.addData3(*n)
        cw.addData4(*WHITE)
        tw.addData2(*uv)
        count += 1
        return count - 1

    for k in range(segments):
        a0, a1 = 2 * math.pi * k / segments, 2 * math.pi * (k + 1) / segments
        c0, s0, c1, s1 = math.cos(a0), math.sin(a0), math.cos(a1), math.sin(a1)
        u0, u1 = a0 * r_in, a1 * r_in
        # Inside: normals toward the axis, wound so the face is seen from the axis (the outside
        # the other way round).
        i = [
            add((r_in * c0, 0, r_in * s0), (-c0, 0, -s0), (u0, 0)),
            add((r_in * c1, 0, r_in * s1), (-c1, 0, -s1), (u1, 0)),
            add((r_in * c1, length, r_in * s1), (-c1, 0, -s1), (u1, length)),
            add((r_in * c0, length, r_in * s0), (-c0, 0, -s0), (u0, length)),
        ]
        tris.addVertices(i[0], i[1], i[2])
        tris.addVertices(i[0], i[2], i[3])
        o = [
            add((r_out * c0, 0, r_out * s0), (c0, 0, s0), (a0 * r_out, 0)),
            add((r_out * c1, 0, r_out * s1), (c1, 0, s1), (a1 * r_out, 0)),
            add((r_out * c1, length, r_out * s1), (c1, 0, s1), (a1 * r_out, length)),
            add((r_out * c0, length, r_out * s0), (c0, 0, s0), (a0 * r_out, length)),
        ]
        tris.addVertices(o[0], o[2], o[1])
        tris.addVertices(o[0], o[3], o[2])
        for y, ny in ((0.0, -1.0), (length, 1.0)):
            f = [
                add((r_in * c0, y, r_in * s0), (0, ny, 0), (r_in * c0, r_in * s0)),
                add((r_out * c0, y, r_out * s0), (0, ny, 0), (r_out * c0, r_out * s0)),
                add((r_out * c1, y, r_out * s1), (0, ny, 0), (r_out * c1, r_out * s1)),
                add((r_in * c1, y, r_in * s1), (0, ny, 0), (r_in * c1, r_in * s1)),
            ]
            if ny < 0:
                tris.addVertices(f[0], f[1], f[2])
                tris.addVertices(f[0], f[2], f[3])
            else:
                tris.addVertices(f[0], f[2], f[1])
                tris.addVertices(f[0], f[3], f[2])
    geom = Geom(vdata)
    geom.addPrimitive(tris)
    node = GeomNode(name)
    node.addGeom(geom)
    return node


@dataclass
class _Space:
    """One of the five spaces: its node, where its lamp hangs, its doorway and who may stand where."""

    node: NodePath
    lamp_pos: tuple[float, float, float]
    doorway: tuple[float, float, float]
    slots: list[tuple[float, float, float]] = field(default_factory=list)  # (x, y, heading)
    door: Door | None = None
    sliding: tuple[NodePath, NodePath, float] | None = None  # left, right, half width
    lock: NodePath | None = None
    floor_lamps: list[NodePath] = field(default_factory=list)
    emergency: NodePath | None = None


def _facing_patient(x: float, y: float) -> tuple[float, float, float]:
    return x, y, math.degrees(math.atan2(x, -y))


class EnclosedScene(SceneInstance):
    def __init__(self, ctx: BuildContext) -> None:
        root = ctx.parent.attachNewNode(f"scene-{ctx.spec.id}")
        super().__init__(root)
        self.eye_z = ctx.eye_height_m
        self.t_s = 0.0
        self.rng = np.random.default_rng(17)
        shading.apply_scene_shader(root, shadows=ctx.shadow_size_px > 0)
        self.sun = Sun(
            root,
            direction=(0.25, 0.35, -1.0),
            color=(0.75, 0.72, 0.66),
            ambient=(0.42, 0.41, 0.40),
            focus=(0.0, 0.6, 0.8),
            film_m=6.0,
            shadow_size_px=ctx.shadow_size_px,
            distance_m=6.0,
        )
        self.lamp = PointLight("enclosure-lamp")
        self.lamp_color = (1.0, 0.93, 0.82)
        self.lamp.setColor((*self.lamp_color, 1.0))
        self.lamp.setAttenuation((1.0, 0.0, 0.35))
        self.lamp_np = root.attachNewNode(self.lamp)
        root.setLight(self.lamp_np)
        steel = material((0.85, 0.86, 0.88), specular=0.6, shininess=50)
        self.steel = steel
        self.glows: list[NodePath] = []  # light panels and bulbs: dimmed with the light
        self.spaces = [
            self._build_room(root),
            self._build_lift(root, "large-lift", half_w=1.1, y=(-1.0, 1.4), height=2.4, door_w=1.1),
            self._build_lift(root, "small-lift", half_w=0.55, y=(-0.45, 0.75), height=2.2, door_w=0.8),
            self._build_crawl_space(root),
            self._build_mri(root),
        ]
        for s in self.spaces:
            s.node.setTag(STIMULUS_TAG_KEY, STIMULUS_TAG)
        self.door_anchor = root.attachNewNode("door-anchor")
        self.bore_anchor = self.gantry.attachNewNode("bore-anchor")
        self.bore_anchor.setPos(0.0, GANTRY_LEN, self.eye_z)
        shirts = ((0.2, 0.3, 0.55), (0.6, 0.2, 0.2), (0.85, 0.85, 0.82), (0.25, 0.4, 0.3), (0.5, 0.45, 0.4))
        rng = np.random.default_rng(29)
        self.people = [
            Figure(
                root,
                rng=rng,
                height_m=float(rng.uniform(1.62, 1.86)),
                shirt=shirts[k % len(shirts)],
                name=f"person-{k}",
            )
            for k in range(MAX_PEOPLE)
        ]
        for p in self.people:
            p.root.hide()
        # State.
        self.space = 0
        self.door_open = 1.0
        self.locked = False
        self.light = 1.0
        self.flicker = 0.0
        self.riding = False
        self.table_in = 0.0
        self.n_people = 0
        self._floor = 0.0
        self._flicker_until = -1.0
        self._level = -1.0
        self._door_ev: tuple[float, float, float] | None = None  # (start, duration, from)
        self._stall: tuple[float, float] | None = None
        self._crowd: tuple[float, float, int] | None = None  # (start, duration, people before)
        self._table: tuple[float, float, float] | None = None

    # ------------------------------------------------------------------------------------ building

    def _glow(self, parent: NodePath, geom: GeomNode, pos: Sequence[float], hpr: Sequence[float]) -> NodePath:
        g = part(parent, geom, pos, hpr=hpr)
        shading.unlit(g)
        g.hide(SHADOW_MASK)
        self.glows.append(g)
        return g

    def _emergency_light(self, parent: NodePath, pos: Sequence[float], h: float) -> NodePath:
        """A red lamp that comes on when the lift stalls (or the scan halts)."""
        lamp = part(parent, proc.sphere("emergency-light", 0.05, rings=6, segments=10), pos)
        lamp.setH(h)
        lamp.setColor(1.0, 0.15, 0.1, 1.0)
        shading.unlit(lamp)
        lamp.hide(SHADOW_MASK)
        lamp.hide()
        return lamp

    def _build_room(self, root: NodePath) -> _Space:
        node = root.attachNewNode("room-space")
        room = Room(
            node,
            x=(-2.2, 2.2),
            y=(-2.0, 3.5),
            height_m=2.6,
            skirting=("back", "left", "right"),
            windows=[Window("far", along_m=-1.35, z_m=1.45, width_m=1.2, height_m=1.1)],
        )
        room.walls["far"].hide()
        self._wall_with_doorway(room, "far", width=4.4, height=2.6, door_w=0.95, door_h=2.05, tex="plaster")
        self.room_door = Door(room, "far", width_m=0.9, height_m=2.0)
        # The corridor beyond the door.
        hall = Room(node, x=(-1.5, 1.5), y=(3.5, 6.0), height_m=2.6, floor_texture="plaster", skirting=())
        hall.walls["back"].hide()
        self._glow(node, proc.plane("hall-light", 0.6, 1.2), (0.0, 4.8, 2.58), (0, 180, 0))
        # The roller shutter over the window.
        self.shutter = part(
            room.wall_frame("far"),
            proc.box("shutter", (1.3, 0.03, 1.2), uv_per_m=2.0),
            (-1.35, -0.05, 1.45),
            texture="brushed-steel",
            mat=material((0.7, 0.7, 0.68)),
        )
        self.shutter.hide(SHADOW_MASK)
        # A desk and a chair so the room is somebody's office, and a ceiling light panel.
        wood = material((0.55, 0.4, 0.28), specular=0.2)
        part(
            node,
            proc.box("desk-top", (1.4, 0.7, 0.04), uv_per_m=1.0),
            (1.3, 1.2, 0.74),
            texture="wood-fine",
            mat=wood,
        )
        for dx in (-0.65, 0.65):
            for dy in (-0.3, 0.3):
                part(
                    node, proc.box("desk-leg", (0.04, 0.04, 0.72)), (1.3 + dx, 1.2 + dy, 0.36), mat=self.steel
                )
        part(
            node,
            proc.box("cabinet", (0.45, 0.5, 1.3), uv_per_m=1.0),
            (-1.95, 1.5, 0.65),
            texture="wood-fine",
            mat=wood,
        )
        self._glow(node, proc.plane("ceiling-light", 0.6, 1.2), (0.0, 0.8, 2.58), (0, 180, 0))
        lock = self._bolt(room.wall_frame("far"), 0.0, 0.9, 1.05)
        emergency = self._emergency_light(room.wall_frame("far"), (0.7, -0.05, 2.3), 0.0)
        slots = [
            _facing_patient(-1.0, 2.4),
            _facing_patient(1.2, 2.4),
            _facing_patient(-1.6, 1.0),
            _facing_patient(1.6, 0.2),
            _facing_patient(-0.3, 3.0),
            _facing_patient(-1.6, -0.8),
        ]
        return _Space(
            node, (0.0, 0.8, 2.3), (0.0, 3.5, 1.0), slots, door=self.room_door, lock=lock, emergency=emergency
        )

    def _bolt(self, frame: NodePath, along: float, width: float, z: float) -> NodePath:
        """A steel bar across the doorway and a red lock lamp: the door is locked."""
        lock = frame.attachNewNode("lock")
        part(lock, proc.box("lock-bar", (width + 0.3, 0.06, 0.08)), (along, -0.09, z), mat=self.steel)
        lamp = part(
            lock,
            proc.sphere("lock-lamp", 0.025, rings=6, segments=8),
            (along + width / 2 + 0.25, -0.04, 1.45),
        )
        lamp.setColor(0.95, 0.1, 0.05, 1.0)
        shading.unlit(lamp)
        lock.hide()
        return lock

    def _wall_with_doorway(
        self, room: Room, wall: str, *, width: float, height: float, door_w: float, door_h: float, tex: str
    ) -> NodePath:
        """The wall's plaster round a doorway in its middle (the plane facing into the room)."""
        frame = room.wall_frame(wall)  # type: ignore[arg-type]
        mat = material((1.0, 0.98, 0.95)) if tex == "plaster" else self.steel
        side = (width - door_w) / 2
        for x, w, z, h in (
            (-(door_w + side) / 2, side, height / 2, height),
            ((door_w + side) / 2, side, height / 2, height),
            (0.0, door_w, (door_h + height) / 2, height - door_h),
        ):
            p = part(
                frame,
                proc.plane("wall-far", w, h, uv_repeat=(w, h)),
                (x, 0.0, z),
                texture=tex,
                mat=mat,
                hpr=(0, 90, 0),
            )
            p.hide(SHADOW_MASK)
        return frame

    def _build_lift(
        self,
        root: NodePath,
        name: str,
        *,
        half_w: float,
        y: tuple[float, float],
        height: float,
        door_w: float,
    ) -> _Space:
        node = root.attachNewNode(f"{name}-space")
        cabin = Room(
            node,
            x=(-half_w, half_w),
            y=y,
            height_m=height,
            floor_texture="rubber-floor",
            wall_texture="brushed-steel",
            skirting=(),
        )
        cabin.walls["far"].hide()
        frame = self._wall_with_doorway(
            cabin, "far", width=2 * half_w, height=height, door_w=door_w, door_h=2.0, tex="brushed-steel"
        )
        # The landing beyond the doors: a tiled lobby with a lit ceiling.
        landing = Room(
            node, x=(-2.0, 2.0), y=(y[1], y[1] + 3.0), height_m=2.6, floor_texture="paving", skirting=()
        )
        landing.walls["back"].hide()
        self._glow(node, proc.plane("landing-light", 0.6, 0.6), (0.0, y[1] + 1.5, 2.58), (0, 180, 0))
        # Two door panels sliding apart from the middle.
        door_mat = material((0.78, 0.8, 0.82), specular=0.7, shininess=60)
        left = frame.attachNewNode("door-left")
        right = frame.attachNewNode("door-right")
        for panel, sign in ((left, -1), (right, 1)):
            part(
                panel,
                proc.box("lift-door", (door_w / 2, 0.03, 2.0), uv_per_m=1.0),
                (sign * door_w / 4, -0.03, 1.0),
                texture="brushed-steel",
                mat=door_mat,
            )
        # The handrail along three walls, the button panel, the floor lamps over the doors.
        for x in (-half_w + 0.05, half_w - 0.05):
            part(
                node,
                proc.cylinder("handrail", 0.02, y[1] - y[0] - 0.2),
                (x, y[0] + 0.1, 0.92),
                mat=self.steel,
            )
        part(
            node,
            proc.cylinder("handrail", 0.02, 2 * half_w - 0.2),
            (-half_w + 0.1, y[0] + 0.05, 0.92),
            mat=self.steel,
            hpr=(-90, 0, 0),
        )
        rframe = cabin.wall_frame("right")
        part(
            rframe,
            proc.box("button-panel", (0.22, 0.02, 0.6)),
            (0.25 * (y[1] - y[0]), -0.01, 1.2),
            mat=material((0.2, 0.2, 0.22), specular=0.5),
        )
        for k in range(8):
            b = part(
                rframe,
                proc.cylinder("button", 0.018, 0.01, segments=10),
                (0.25 * (y[1] - y[0]) + (0.05 if k % 2 else -0.05), -0.025, 0.98 + 0.06 * (k // 2) * 1.5),
                hpr=(0, 0, 0),
            )
            b.setColor(0.95, 0.9, 0.6, 1.0)
            shading.unlit(b)
        lamps = []
        for k in range(FLOOR_LAMPS):
            lamp = part(
                frame,
                proc.sphere("floor-lamp", 0.018, rings=4, segments=8),
                ((k - (FLOOR_LAMPS - 1) / 2) * 0.07, -0.02, 2.15),
            )
            shading.unlit(lamp)
            lamp.hide(SHADOW_MASK)
            lamps.append(lamp)
        self._glow(
            node,
            proc.plane("cabin-light", 2 * half_w - 0.3, y[1] - y[0] - 0.3),
            (0.0, (y[0] + y[1]) / 2, height - 0.01),
            (0, 180, 0),
        )
        lock = self._bolt(frame, 0.0, door_w, 1.1)
        emergency = self._emergency_light(frame, (door_w / 2 + 0.12, -0.04, 2.15), 0.0)
        if half_w > 1.0:
            slots = [
                (-0.65, 0.85, 10.0),
                (0.65, 0.9, -10.0),
                (0.8, 0.0, -70.0),
                (-0.8, -0.1, 70.0),
                (0.0, 1.15, 0.0),
                (0.7, -0.7, 0.0),
            ]
        else:
            slots = [(0.34, 0.5, -20.0), (-0.34, 0.55, 20.0), (0.38, -0.28, 80.0)]
        return _Space(
            node,
            (0.0, (y[0] + y[1]) / 2, height - 0.2),
            (0.0, y[1], 1.0),
            slots,
            sliding=(left, right, door_w / 2),
            lock=lock,
            floor_lamps=lamps,
            emergency=emergency,
        )

    def _build_crawl_space(self, root: NodePath) -> _Space:
        node = root.attachNewNode("crawl-space")
        height = self.eye_z + 0.25
        concrete = material((1.0, 0.98, 0.95), specular=0.03)
        Room(
            node,
            x=(-0.5, 0.5),
            y=(-0.4, 1.3),
            height_m=height,
            floor_texture="concrete",
            wall_texture="concrete",
            skirting=(),
        )
        # Pipes and a duct along the ceiling; a bare bulb on its cable.
        for x, r, col in (
            (-0.32, 0.05, (0.55, 0.35, 0.2)),
            (-0.2, 0.035, (0.7, 0.7, 0.72)),
            (0.32, 0.06, (0.3, 0.32, 0.35)),
        ):
            part(
                node,
                proc.cylinder("pipe", r, 1.7, segments=10),
                (x, -0.4, height - r - 0.02),
                mat=material(col, specular=0.4, shininess=30),
            )
        part(
            node,
            proc.box("duct", (0.3, 1.7, 0.12), uv_per_m=1.0),
            (0.05, 0.45, height - 0.08),
            texture="brushed-steel",
            mat=self.steel,
        )
        part(
            node,
            proc.cylinder("cable", 0.005, 0.15),
            (0.0, 0.6, height - 0.15),
            mat=material((0.1, 0.1, 0.1)),
            hpr=(0, 90, 0),
        )
        self._glow(
            node, proc.sphere("bulb", 0.035, rings=6, segments=10), (0.0, 0.6, height - 0.19), (0, 0, 0)
        )
        part(
            node,
            proc.box("rubble", (0.4, 0.3, 0.12), uv_per_m=1.0),
            (-0.22, 1.05, 0.06),
            texture="concrete",
            mat=concrete,
        )
        emergency = self._emergency_light(node, (0.4, 1.25, height - 0.15), 0.0)
        # No one stands here: the ceiling is lower than a standing person.
        return _Space(node, (0.0, 0.6, height - 0.25), (0.0, -0.4, 0.5), [], emergency=emergency)

    def _build_mri(self, root: NodePath) -> _Space:
        node = root.attachNewNode("mri-space")
        room = Room(
            node,
            x=(-2.6, 2.6),
            y=(-3.0, 4.5),
            height_m=2.7,
            floor_texture="plaster",
            skirting=("far", "left", "right"),
        )
        room.walls["back"].hide()
        self._wall_with_doorway(room, "back", width=5.2, height=2.7, door_w=0.95, door_h=2.05, tex="plaster")
        door = Door(room, "back", width_m=0.9, height_m=2.0, color=(0.85, 0.85, 0.82))
        self._glow(node, proc.plane("ceiling-light", 1.2, 1.2), (0.0, 1.5, 2.68), (0, 180, 0))
        # The table under the patient, running into the bore.
        plastic = material((0.93, 0.94, 0.95), specular=0.4, shininess=40)
        part(
            node,
            proc.box("table", (0.55, 4.5, 0.08), uv_per_m=1.0),
            (0.0, 0.4, self.eye_z - 0.3),
            mat=plastic,
        )
        part(
            node,
            proc.box("table-base", (0.45, 1.6, self.eye_z - 0.35)),
            (0.0, -1.2, (self.eye_z - 0.35) / 2),
            mat=material((0.6, 0.62, 0.66)),
        )
        # The gantry: a thick white ring on the eyes' axis; the bore's lit strip along its top.
        self.gantry = node.attachNewNode("gantry")
        part(
            self.gantry,
            _ring_mesh("gantry", BORE_R, GANTRY_R, GANTRY_LEN),
            (0.0, 0.0, self.eye_z),
            mat=plastic,
        )
        part(
            self.gantry,
            proc.box("gantry-foot", (1.9, GANTRY_LEN, self.eye_z - GANTRY_R + 0.3)),
            (0.0, GANTRY_LEN / 2, (self.eye_z - GANTRY_R + 0.3) / 2),
            mat=plastic,
        )
        trim = material((0.25, 0.45, 0.75), specular=0.3)
        part(
            self.gantry,
            _ring_mesh("gantry-trim", BORE_R, BORE_R + 0.05, 0.02),
            (0.0, -0.005, self.eye_z),
            mat=trim,
        )
        self._glow(
            self.gantry,
            proc.plane("bore-light", 0.06, GANTRY_LEN - 0.2),
            (0.0, GANTRY_LEN / 2, self.eye_z + BORE_R - 0.01),
            (0, 180, 0),
        )
        emergency = self._emergency_light(self.gantry, (0.5, -0.02, self.eye_z + 0.75), 0.0)
        slots = [_facing_patient(-1.2, 0.4), _facing_patient(1.3, -0.6)]
        return _Space(node, (0.0, 1.0, 2.4), (0.0, -3.0, 1.0), slots, door=door, emergency=emergency)

    # --------------------------------------------------------------------------------------- values

    def apply(self, values: Mapping[str, float]) -> None:
        self.space = min(max(int(round(values.get("space", 0.0))), 0), len(SPACES) - 1)
        door = int(round(values.get("door", 0.0)))
        self.door_open = 1.0 if door <= 0 else 0.0
        self.locked = door >= 2
        self.light = min(max(values.get("light", 1.0), 0.05), 1.0)
        self.flicker = min(max(values.get("flicker", 0.0), 0.0), 1.0)
        self.riding = values.get("riding", 0.0) >= 0.5
        self.table_in = min(max(values.get("table_in", 0.0), 0.0), 1.0)
        self.n_people = min(max(int(round(values.get("people", 0.0))), 0), MAX_PEOPLE)
        self._door_ev = self._stall = self._crowd = self._table = None
        for k, s in enumerate(self.spaces):
            if k == self.space:
                s.node.show()
            else:
                s.node.hide()
            if s.emergency is not None:
                s.emergency.hide()
        sp = self.spaces[self.space]
        self.lamp_np.setPos(*sp.lamp_pos)
        self.door_anchor.setPos(*sp.doorway)
        self.shutter.show() if values.get("windows", 0.0) >= 0.5 else self.shutter.hide()
        if sp.lock is not None:
            sp.lock.show() if self.locked else sp.lock.hide()
        self._set_door(self.door_open)
        self._place_table(self.table_in)
        self._place_people(self.n_people)
        self._level = -1.0
        self._set_light(self.light)
        self._show_floor()

    def _set_door(self, fraction: float) -> None:
        sp = self.spaces[self.space]
        if sp.door is not None:
            sp.door.set_open(fraction)
        if sp.sliding is not None:
            left, right, half = sp.sliding
            left.setX(-fraction * half * 0.98)
            right.setX(fraction * half * 0.98)

    def _place_table(self, fraction: float) -> None:
        self.gantry.setY(BORE_FRONT_OUT_Y + (BORE_FRONT_IN_Y - BORE_FRONT_OUT_Y) * fraction)

    def _place_people(self, count: int, arriving: int = 0, walked: float = 1.0) -> None:
        """Show the first ``count`` people at the space's slots (as many as fit); the last ``arriving``
        of them are ``walked`` (0-1) of the way from the doorway to their slot."""
        sp = self.spaces[self.space]
        shown = min(count, len(sp.slots))
        for k, person in enumerate(self.people):
            if k >= shown:
                person.root.hide()
                continue
            x, y, h = sp.slots[k]
            if k >= shown - arriving:
                f = 0.5 - 0.5 * math.cos(math.pi * min(max(walked, 0.0), 1.0))
                dx, dy = sp.doorway[0] - x, sp.doorway[1] + 0.6 - y
                x, y = x + dx * (1.0 - f), y + dy * (1.0 - f)
            person.root.setPos(x, y, 0.0)
            person.root.setH(h)
            person.root.show()

    def _set_light(self, level: float) -> None:
        if abs(level - self._level) < 1e-3:
            return
        self._level = level
        self.sun.set_level(0.35 + 0.65 * level)
        c = self.lamp_color
        self.lamp.setColor((c[0] * level, c[1] * level, c[2] * level, 1.0))
        g = 0.35 + 0.65 * level
        for glow in self.glows:
            glow.setColor(g, g * 0.97, g * 0.9, 1.0)

    def _show_floor(self) -> None:
        lamps = self.spaces[self.space].floor_lamps
        lit = int(self._floor) % FLOOR_LAMPS
        for k, lamp in enumerate(lamps):
            if k == lit:
                lamp.setColor(1.0, 0.75, 0.2, 1.0)
            else:
                lamp.setColor(0.25, 0.22, 0.18, 1.0)

    # ------------------------------------------------------------------------------------ per frame

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        t = self.t_s
        for person in self.people:
            if not person.root.isHidden():
                person.update(dt_s)
        level = self.light
        if self._stall is not None:
            s0, sd = self._stall
            since = t - s0
            if since >= sd:
                self._stall = None
                emergency = self.spaces[self.space].emergency
                if emergency is not None:
                    emergency.hide()
            else:
                level = (0.1 if int(since * 14) % 3 == 0 else 0.8) if since < 1.5 else 0.2
        elif self.flicker > 0.0:
            if t >= self._flicker_until and self.rng.random() < self.flicker * dt_s * 0.8:
                self._flicker_until = t + 0.2 + 0.4 * float(self.rng.random())
            if t < self._flicker_until:
                level = self.light * (0.15 if int(t * 20) % 2 else 0.9)
        self._set_light(level)
        if self.riding and self._stall is None and self.spaces[self.space].floor_lamps:
            before = int(self._floor)
            self._floor += dt_s / 3.0  # a floor every three seconds
            if int(self._floor) != before:
                self._show_floor()
        if self._door_ev is not None:
            d0, dd, start = self._door_ev
            f = min((t - d0) / dd, 1.0)
            if start > 0.05:
                opening = start * (1.0 - f)
            else:  # already shut: someone pulls it a little open and it shuts again
                opening = 0.35 * math.sin(math.pi * f)
            self._set_door(opening)
            if f >= 1.0:
                self._door_ev = None
                self.door_open = 0.0
        if self._crowd is not None:
            c0, cd, before = self._crowd
            f = min((t - c0) / cd, 1.0)
            self._place_people(before + 2, arriving=2, walked=f)
            if f >= 1.0:
                self._crowd = None
                self.n_people = before + 2
        if self._table is not None:
            t0, td, start = self._table
            f = min((t - t0) / td, 1.0)
            if start < 0.95:
                fraction = start + (1.0 - start) * (0.5 - 0.5 * math.cos(math.pi * f))
            else:  # already in: out by a third and back in (a repositioning)
                fraction = 1.0 - 0.35 * math.sin(math.pi * f)
            self._place_table(fraction)
            if f >= 1.0:
                self._table = None
                self.table_in = 1.0

    def start_event(self, name: str, event: Event) -> None:
        t = self.t_s
        d = max(event.duration_s, 0.1)
        if name == "door-closes":
            self._door_ev = (t, d, self.door_open)
        elif name == "lift-stalls":
            self._stall = (t, d)
            emergency = self.spaces[self.space].emergency
            if emergency is not None:
                emergency.show()
        elif name == "people-crowd-in":
            before = min(self.n_people, max(len(self.spaces[self.space].slots) - 2, 0))
            self._crowd = (t, d, before)
        elif name == "table-slides-in":
            if self.space != len(SPACES) - 1:
                # Outside the scanner room the table is not there: nothing to slide, and the
                # event ends at once (the console still logs it).
                return
            self._table = (t, d, self.table_in)

    def event_running(self, name: str) -> bool:
        return {
            "door-closes": self._door_ev,
            "lift-stalls": self._stall,
            "people-crowd-in": self._crowd,
            "table-slides-in": self._table,
        }.get(name) is not None

    def anchor(self, name: str) -> NodePath | None:
        if name == "door":
            return self.door_anchor
        if name == "bore":
            return self.bore_anchor
        return None

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        """Straight ahead: a little down at the door, the people, the bore's mouth; in a lift a little
        up, at the floor lamps over the doors and the light panel."""
        if self.spaces[self.space].floor_lamps:
            return 0.0, 12.0
        return 0.0, -6.0


@register_builder("enclosed")
def build_enclosed(ctx: BuildContext) -> SceneInstance:
    return EnclosedScene(ctx)
