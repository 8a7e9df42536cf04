"""The ``public-speaking`` builder: a lectern before an audience in a room that grows.

Layout (metres, Panda3D axes): the patient stands at the origin facing +Y (eyes ``eye_height_m`` above
the floor), behind a lectern with notes on it. Three rooms are built once round the origin and only
the one ``room_size`` names shows:

- ``meeting-room``: 6 m x 8 m, a conference table running away from the lectern, ten chairs round it;
- ``classroom``: 9 m x 11.5 m, four rows of six seats behind long desks, an aisle in the middle;
- ``lecture-hall``: 14 m x 17 m, five tiered rows of eight seats rising away from the lectern.

A red curtain hangs across the room 1.3 m ahead; ``curtain`` 1 keeps it shut (the audience is heard
chatting, not seen). Each room has a door in its right wall near the front, which someone walking
out uses. Forty seated people are built once; ``audience`` seats the first of them in the room's
seats (front first, with a seeded scatter), ``attention`` sets each one's posture (leaning in,
upright, slumped, arms crossed; each person a little off the room's mood, so an audience is mixed),
``gaze`` the share who look at the speaker's eyes (the others look at their notes or aside),
``hands_up`` the share holding a hand up to ask (question time), and
``reaction_rate`` how often someone reacts of their own accord (nods when interested, yawns and
phones when bored, whispers and head shakes when hostile). Three standing twins of the front people
(the same face and clothes) walk out for ``walk-out``.

Built once; :meth:`PublicSpeakingScene.apply` only shows, hides, moves and poses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from panda3d.core import NodePath, PointLight, Vec3

from vr_exposure.core.contract import STIMULUS_TAG_KEY
from vr_exposure.core.specs import Event
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, material, part
from vr_exposure.renderer.blocks.people import Figure, UpdateSchedule, update_interval_s
from vr_exposure.renderer.blocks.rooms import Door, Room
from vr_exposure.renderer.blocks.sky import Sun
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance
from vr_exposure.renderer.builders.public_speaking import sounds as _sounds  # noqa: F401 - registers sounds
from vr_exposure.renderer.builders.public_speaking.contract import CONTRACT, MAX_AUDIENCE, ROOMS

STIMULUS_TAG = CONTRACT.stimulus_tag or "audience"
CURTAIN_Y = 1.3
LECTERN_Y = 0.6
WALKERS = 3
#: Spontaneous reactions by attention level (interested, neutral, bored, hostile): (name, weight).
_REACTIONS: tuple[tuple[tuple[str, float], ...], ...] = (
    (("nod", 0.7), ("cough", 0.1), ("look-away", 0.1), ("raise-hand", 0.1)),
    (("nod", 0.25), ("cough", 0.2), ("look-away", 0.3), ("yawn", 0.05), ("phone", 0.05), ("whisper", 0.15)),
    (("yawn", 0.25), ("phone", 0.3), ("bored", 0.2), ("whisper", 0.15), ("cough", 0.1)),
    (("whisper", 0.3), ("frown", 0.25), ("shake-head", 0.25), ("look-away", 0.1), ("cough", 0.1)),
)
_REACTION_S = {
    "nod": 1.4,
    "cough": 2.0,
    "look-away": 4.0,
    "raise-hand": 3.0,
    "yawn": 3.0,
    "phone": 6.0,
    "whisper": 4.0,
    "bored": 6.0,
    "frown": 6.0,
    "shake-head": 1.6,
}


@dataclass
class _Seat:
    pos: tuple[float, float, float]
    heading_deg: float


@dataclass
class _Room:
    """One of the three rooms: its node, seats in filling order, the door and where walkers go."""

    node: NodePath
    width_m: float
    height_m: float
    seats: list[_Seat]
    door: Door
    door_y: float
    right_x: float
    lamp_pos: tuple[float, float, float]
    aisle_x: float = 0.0


def _toward_patient(x: float, y: float, across_deg: float | None, share: float) -> float:
    """A chair's heading: toward the patient at the origin, or ``share`` of the way from
    ``across_deg`` (the way the table makes it face) to that."""
    to_patient = math.degrees(math.atan2(x, -y))
    if across_deg is None:
        return to_patient
    d = (to_patient - across_deg + 180.0) % 360.0 - 180.0
    return across_deg + share * d


class PublicSpeakingScene(SceneInstance):
    def __init__(self, ctx: BuildContext) -> None:
        root = ctx.parent.attachNewNode(f"scene-{ctx.spec.id}")
        super().__init__(root)
        self.eye_z = ctx.eye_height_m
        self.rng = np.random.default_rng(int(ctx.rng.integers(1 << 30)))
        self.t_s = 0.0
        shading.apply_scene_shader(root, shadows=ctx.shadow_size_px > 0)
        self.sun = Sun(
            root,
            direction=(-0.3, 0.5, -1.0),
            color=(0.55, 0.53, 0.5),
            ambient=(0.5, 0.49, 0.48),
            focus=(0.0, 4.0, 0.8),
            film_m=16.0,
            shadow_size_px=ctx.shadow_size_px,
            distance_m=14.0,
        )
        self.lamp = PointLight("hall-lamp")
        self.lamp.setColor((0.75, 0.72, 0.66, 1.0))
        self.lamp.setAttenuation((1.0, 0.0, 0.02))
        self.lamp_np = root.attachNewNode(self.lamp)
        root.setLight(self.lamp_np)
        self.rooms = [self._meeting_room(root), self._classroom(root), self._lecture_hall(root)]
        self._lectern(root)
        self._curtain(root)
        # The audience: each person from their own seed, so a standing twin can share face and clothes.
        base_seed = int(self.rng.integers(1 << 20))
        self.people: list[Figure] = []
        for k in range(MAX_AUDIENCE):
            person = Figure(
                root,
                rng=np.random.default_rng(base_seed + k),
                height_m=1.72,
                seated=True,
                name=f"listener-{k:02d}",
            )
            person.root.setTag(STIMULUS_TAG_KEY, STIMULUS_TAG)
            person.root.hide()
            self.people.append(person)
        self.walkers: list[Figure] = []
        for k in range(WALKERS):
            twin = Figure(root, rng=np.random.default_rng(base_seed + k), height_m=1.72, name=f"walker-{k}")
            twin.root.setTag(STIMULUS_TAG_KEY, STIMULUS_TAG)
            twin.root.hide()
            self.walkers.append(twin)
        # Per person: how far off the room's mood they are, whether they look at the speaker at a
        # given gaze share (below it they do), and their seat.
        self.mood_offset = self.rng.uniform(-0.45, 0.45, MAX_AUDIENCE)
        self.gaze_rank = self.rng.permutation(MAX_AUDIENCE) / MAX_AUDIENCE + 0.5 / MAX_AUDIENCE
        self.hands_rank = self.rng.permutation(MAX_AUDIENCE) / MAX_AUDIENCE + 0.5 / MAX_AUDIENCE
        self.hands_up = 0.0
        self.seat_of: list[_Seat | None] = [None] * MAX_AUDIENCE
        self.audience_anchor = root.attachNewNode("audience-anchor")
        self.reactor_anchor = root.attachNewNode("reactor-anchor")
        self.walker_anchor = root.attachNewNode("walker-anchor")
        self.curtain_anchor = root.attachNewNode("curtain-anchor")
        # State.
        self.room = 0
        self.count = 0
        self.attention = 1.0
        self.rate_per_min = 0.0
        self.gaze = 1.0
        self.curtain_open = 1.0
        self.gone: set[int] = set()
        self.schedule = UpdateSchedule(MAX_AUDIENCE, 1 / 45)
        self._events: dict[str, tuple[float, float, dict[str, object]]] = {}

    # ------------------------------------------------------------------------------------ building

    def _chairs(self, parent: NodePath, seats: list[_Seat], colour: tuple[float, ...]) -> None:
        """A chair under every seat; one material for all, so the room flattens to a few Geoms."""
        seat_m = material(colour, specular=0.1)
        frame_m = material((0.25, 0.25, 0.27), specular=0.5, shininess=40)
        for st in seats:
            chair = parent.attachNewNode("chair")
            chair.setPos(*st.pos)
            chair.setH(st.heading_deg)
            part(chair, proc.box("chair-seat", (0.46, 0.44, 0.06)), (0.0, 0.05, 0.42), mat=seat_m)
            part(
                chair,
                proc.box("chair-back", (0.46, 0.05, 0.48)),
                (0.0, -0.2, 0.72),
                mat=seat_m,
                hpr=(0, -8, 0),
            )
            for lx in (-0.2, 0.2):
                for ly in (-0.14, 0.24):
                    part(chair, proc.box("chair-leg", (0.03, 0.03, 0.4)), (lx, ly, 0.2), mat=frame_m)

    def _room(
        self,
        root: NodePath,
        name: str,
        x: tuple[float, float],
        y: tuple[float, float],
        height: float,
        floor: str,
    ) -> tuple[Room, NodePath]:
        node = root.attachNewNode(name)
        room = Room(
            node, x=x, y=y, height_m=height, floor_texture=floor, ceiling_lamp=(0.0, (y[0] + y[1]) / 2)
        )
        return room, node

    def _door(self, room: Room, door_y: float) -> Door:
        cy = (room.y[0] + room.y[1]) / 2
        # The right wall's frame faces +X; its own +X (to the right, seen from inside) is -Y.
        return Door(room, "right", along_m=cy - door_y, width_m=0.95, height_m=2.1)

    def _meeting_room(self, root: NodePath) -> _Room:
        room, node = self._room(root, "meeting-room", (-3.0, 3.0), (-1.5, 6.5), 2.8, "wood-planks")
        table = room.node.attachNewNode("table")
        wood = material((0.55, 0.38, 0.25), specular=0.3, shininess=40)
        part(table, proc.box("table-top", (1.3, 4.0, 0.05)), (0.0, 3.8, 0.72), texture="wood-fine", mat=wood)
        for ty in (2.2, 5.4):
            part(
                table,
                proc.box("table-foot", (0.9, 0.12, 0.7)),
                (0.0, ty, 0.35),
                mat=material((0.3, 0.3, 0.32)),
            )
        # A water jug and a few papers on the table.
        part(
            table,
            proc.cylinder("jug", 0.06, 0.22, segments=10),
            (0.3, 3.0, 0.75),
            hpr=(0, 90, 0),
            mat=material((0.75, 0.85, 0.9), specular=0.6, shininess=60),
        )
        for k, (px, py) in enumerate(((-0.4, 2.5), (0.45, 3.4), (-0.45, 4.3), (0.4, 5.0))):
            part(
                table,
                proc.box("paper", (0.21, 0.3, 0.004)),
                (px, py, 0.75),
                hpr=(10 * k - 15, 0, 0),
                mat=material((0.95, 0.95, 0.93)),
            )
        seats: list[_Seat] = []
        for sx, across in ((-1.0, -90.0), (1.0, 90.0)):
            for sy in (2.4, 3.3, 4.2, 5.1):
                seats.append(_Seat((sx, sy, 0.0), _toward_patient(sx, sy, across, 0.55)))
        for sx in (-0.35, 0.35):
            seats.append(_Seat((sx, 6.05, 0.0), _toward_patient(sx, 6.05, None, 1.0)))
        self._chairs(node, seats, (0.2, 0.22, 0.3))
        # A whiteboard on the far wall and a plant: a room, not a box.
        part(
            node,
            proc.box("whiteboard", (2.0, 0.03, 1.1)),
            (0.0, 6.47, 1.55),
            mat=material((0.96, 0.96, 0.95), specular=0.4),
        )
        part(
            node,
            proc.cylinder("plant-pot", 0.18, 0.4, segments=10),
            (-2.6, 6.1, 0.0),
            hpr=(0, 90, 0),
            mat=material((0.6, 0.35, 0.25)),
        )
        part(
            node,
            proc.sphere("plant", 0.35, rings=6, segments=10),
            (-2.6, 6.1, 0.75),
            mat=material((0.2, 0.45, 0.2)),
        )
        node.flattenStrong()
        return _Room(
            node, 6.0, 2.8, self._fill_order(seats), self._door(room, 1.9), 1.9, 3.0, (0.0, 3.5, 2.6)
        )

    def _classroom(self, root: NodePath) -> _Room:
        room, node = self._room(root, "classroom", (-4.5, 4.5), (-1.5, 10.0), 3.0, "wood-planks")
        seats: list[_Seat] = []
        desk = material((0.7, 0.55, 0.38), specular=0.25, shininess=30)
        for r in range(4):
            ry = 2.9 + 1.2 * r
            for sx in (-2.25, -1.5, -0.75, 0.75, 1.5, 2.25):
                seats.append(_Seat((sx, ry, 0.0), _toward_patient(sx, ry, 180.0, 0.35)))
            for dx in (-1.5, 1.5):
                part(
                    node,
                    proc.box("desk-top", (2.3, 0.5, 0.04)),
                    (dx, ry - 0.55, 0.72),
                    texture="wood-fine",
                    mat=desk,
                )
                part(node, proc.box("desk-panel", (2.3, 0.03, 0.6)), (dx, ry - 0.78, 0.4), mat=desk)
        self._chairs(node, seats, (0.35, 0.45, 0.6))
        part(
            node, proc.box("blackboard", (3.5, 0.03, 1.2)), (0.0, 9.97, 1.6), mat=material((0.15, 0.25, 0.2))
        )
        for wx in (-3.0, 0.0, 3.0):
            pane = part(
                node, proc.plane("window-pane", 1.6, 1.4), (-4.48, 1.5 + wx + 3.0, 1.7), hpr=(-90, 90, 0)
            )
            pane.setColor(0.85, 0.92, 1.0, 1.0)
            shading.unlit(pane)
            pane.hide(SHADOW_MASK)
        node.flattenStrong()
        return _Room(
            node, 9.0, 3.0, self._fill_order(seats), self._door(room, 1.9), 1.9, 4.5, (0.0, 5.0, 2.8)
        )

    def _lecture_hall(self, root: NodePath) -> _Room:
        room, node = self._room(root, "lecture-hall", (-7.0, 7.0), (-2.0, 15.0), 5.5, "wood-planks")
        seats: list[_Seat] = []
        tier = material((0.45, 0.42, 0.4), specular=0.1)
        bench = material((0.55, 0.4, 0.28), specular=0.25, shininess=30)
        for r in range(5):
            ry, rz = 3.0 + 1.15 * r, 0.3 * r
            if r > 0:
                depth = 15.0 - (ry - 0.7)
                part(
                    node,
                    proc.box("tier", (14.0, depth, 0.3)),
                    (0.0, ry - 0.7 + depth / 2, rz - 0.15),
                    mat=tier,
                )
            for sx in (-3.2, -2.4, -1.6, -0.8, 0.8, 1.6, 2.4, 3.2):
                seats.append(_Seat((sx, ry, rz), _toward_patient(sx, ry, 180.0, 0.3)))
            for dx in (-2.0, 2.0):
                part(
                    node,
                    proc.box("bench-top", (3.2, 0.4, 0.04)),
                    (dx, ry - 0.55, rz + 0.74),
                    texture="wood-fine",
                    mat=bench,
                )
                part(node, proc.box("bench-panel", (3.2, 0.03, 0.7)), (dx, ry - 0.74, rz + 0.38), mat=bench)
        self._chairs(node, seats, (0.55, 0.15, 0.15))
        part(node, proc.box("screen", (5.0, 0.03, 2.6)), (0.0, 14.95, 3.2), mat=material((0.9, 0.9, 0.92)))
        node.flattenStrong()
        return _Room(
            node, 14.0, 5.5, self._fill_order(seats), self._door(room, 1.9), 1.9, 7.0, (0.0, 7.0, 5.0)
        )

    def _fill_order(self, seats: list[_Seat]) -> list[_Seat]:
        """Seats in the order people take them: the front first, with a seeded scatter."""
        keys = [seat.pos[1] + float(self.rng.uniform(0.0, 2.2)) for seat in seats]
        return [seats[i] for i in sorted(range(len(seats)), key=lambda i: keys[i])]

    def _lectern(self, root: NodePath) -> None:
        top_z = max(0.75, self.eye_z - 0.55)
        node = root.attachNewNode("lectern")
        wood = material((0.45, 0.3, 0.2), specular=0.3, shininess=35)
        part(
            node,
            proc.box("lectern-body", (0.6, 0.4, top_z - 0.08)),
            (0.0, LECTERN_Y + 0.05, (top_z - 0.08) / 2),
            texture="wood-fine",
            mat=wood,
        )
        part(
            node,
            proc.box("lectern-top", (0.7, 0.5, 0.04)),
            (0.0, LECTERN_Y, top_z - 0.02),
            hpr=(0, 12, 0),
            texture="wood-fine",
            mat=wood,
        )
        paper = material((0.97, 0.97, 0.95))
        part(
            node,
            proc.box("notes", (0.21, 0.297, 0.006)),
            (-0.06, LECTERN_Y - 0.02, top_z + 0.005),
            hpr=(4, 12, 0),
            mat=paper,
        )
        part(
            node,
            proc.box("notes", (0.21, 0.297, 0.006)),
            (0.08, LECTERN_Y - 0.01, top_z + 0.01),
            hpr=(-6, 12, 0),
            mat=paper,
        )
        # Lines of text on the top sheet.
        ink = material((0.25, 0.25, 0.3))
        for k in range(8):
            part(
                node,
                proc.box("note-line", (0.15, 0.004, 0.002)),
                (0.08, LECTERN_Y - 0.12 + 0.028 * k, top_z + 0.016 + 0.006 * k),
                hpr=(-6, 12, 0),
                mat=ink,
            )
        part(
            node,
            proc.cylinder("microphone", 0.008, 0.3, segments=6),
            (0.22, LECTERN_Y + 0.1, top_z),
            hpr=(200, 40, 0),
            mat=material((0.1, 0.1, 0.1), specular=0.6),
        )
        node.flattenStrong()

    def _curtain(self, root: NodePath) -> None:
        """Two pleated panels on pivots at the walls; opening squeezes each toward its wall."""
        self.curtain_node = root.attachNewNode("curtain")
        velvet = material((0.55, 0.07, 0.09), specular=0.15, shininess=12)
        self.panels: list[NodePath] = []
        for side in (-1, 1):
            pivot = self.curtain_node.attachNewNode("curtain-" + ("left" if side < 0 else "right"))
            pleats = proc.grid_plane(
                "curtain-panel", 1.0, 1.0, 48, 1, height=lambda x, y: 0.05 * math.sin(2 * math.pi * 14 * x)
            )
            panel = part(pivot, pleats, (side * -0.5, 0.0, 0.5), mat=velvet, hpr=(0, 90, 0))
            panel.setTwoSided(True)
            self.panels.append(pivot)
        self.rail = part(
            self.curtain_node,
            proc.box("curtain-rail", (1.0, 0.12, 0.12)),
            (0.0, 0.0, 1.0),
            mat=material((0.3, 0.25, 0.2)),
        )

    # --------------------------------------------------------------------------------------- values

    def apply(self, values: Mapping[str, float]) -> None:
        self.room = min(max(int(round(values.get("room_size", 0.0))), 0), len(ROOMS) - 1)
        self.attention = min(max(values.get("attention", 1.0), 0.0), 3.0)
        self.rate_per_min = max(values.get("reaction_rate", 0.0), 0.0)
        self.gaze = min(max(values.get("gaze", 1.0), 0.0), 1.0)
        self.hands_up = min(max(values.get("hands_up", 0.0), 0.0), 1.0)
        self.curtain_open = 0.0 if values.get("curtain", 0.0) >= 0.5 else 1.0
        room = self.rooms[self.room]
        self.count = min(max(int(round(values.get("audience", 0.0))), 0), len(room.seats), MAX_AUDIENCE)
        self._events.clear()
        self.gone.clear()
        for k, r in enumerate(self.rooms):
            r.node.show() if k == self.room else r.node.hide()
            r.door.set_open(0.0)
        for w in self.walkers:
            w.root.hide()
            w.walk(0.0)
        self.lamp_np.setPos(*room.lamp_pos)
        centre = Vec3(0.0, 0.0, 0.0)
        for k, person in enumerate(self.people):
            if k >= self.count:
                person.root.hide()
                self.seat_of[k] = None
                continue
            seat = room.seats[k]
            self.seat_of[k] = seat
            person.root.setPos(seat.pos[0], seat.pos[1], seat.pos[2])
            person.root.setH(seat.heading_deg)
            person.root.show()
            eyes = Vec3(seat.pos[0], seat.pos[1], seat.pos[2] + 1.2) - Vec3(0.0, 0.0, self.eye_z)
            self.schedule.set_interval(k, update_interval_s(eyes.length()))
            centre += Vec3(*seat.pos)
            self._pose(k)
        if self.count:
            centre /= self.count
        self.audience_anchor.setPos(centre.x, centre.y, centre.z + 1.2)
        self._set_curtain(self.curtain_open)

    def _mood(self, k: int) -> float:
        return float(min(max(self.attention + self.mood_offset[k], 0.0), 3.0))

    def _pose(self, k: int) -> None:
        """Person ``k``'s resting posture and gaze from the room's attention and gaze share."""
        a = self._mood(k)
        person = self.people[k]
        lean = 1.0 - a if a < 1.0 else -0.25 * (a - 1.0)
        slump = max(0.0, 1.0 - abs(a - 2.0)) if a > 1.0 else 0.0
        hand = 1.0 if self.hands_rank[k] <= self.hands_up else 0.0
        cross = 0.0 if hand else min(max(a - 2.1, 0.0) * 1.5, 1.0)
        person.set_posture(lean=lean, slump=slump, cross_arms=cross, hand_up=hand)
        self._gaze(k)

    def _gaze(self, k: int) -> None:
        person = self.people[k]
        if self.gaze_rank[k] <= self.gaze:
            person.look_at(Vec3(0.0, 0.0, self.eye_z), self.root)
        else:
            person.look_away()

    def _set_curtain(self, opening: float) -> None:
        room = self.rooms[self.room]
        half = room.width_m / 2
        self.curtain_node.setPos(0.0, CURTAIN_Y, 0.0)
        h = min(room.height_m, 3.6)
        for side, pivot in zip((-1, 1), self.panels, strict=True):
            pivot.setPos(side * half, 0.0, 0.0)
            pivot.setScale(max(half * (1.0 - 0.88 * opening), 0.05), 1.0, h)
        self.rail.setScale(room.width_m, 1.0, 1.0)
        self.rail.setZ(h)
        self.curtain_anchor.setPos(0.0, CURTAIN_Y, h / 2)

    # ------------------------------------------------------------------------------------ per frame

    def _shown(self) -> list[int]:
        return [k for k in range(self.count) if k not in self.gone]

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        t = self.t_s
        shown = self._shown()
        # Spontaneous reactions, of the kind the room's mood makes likely.
        if shown and self.rate_per_min > 0.0 and self.rng.random() < self.rate_per_min / 60.0 * dt_s:
            k = shown[int(self.rng.integers(len(shown)))]
            if self.people[k].gesturing is None:
                self._react(k, shown)
        # Each person moves at a rate that falls with the distance from the speaker (45 Hz near,
        # 22 Hz at the back of the hall), halved while only breathing and sway are left, spread
        # over frames: forty people a frame would cost the frame's Python budget twice over.
        people = self.people
        for k, step_s in self.schedule.due(dt_s, shown, lambda k: people[k].settled):
            people[k].update(step_s)
        for w in self.walkers:
            if not w.root.isHidden():
                w.update(dt_s)
        for name in list(self._events):
            t0, dur, data = self._events[name]
            f = min((t - t0) / dur, 1.0)
            self._step_event(name, f, t - t0, data)
            if f >= 1.0:
                del self._events[name]

    def _react(self, k: int, shown: list[int]) -> None:
        a = self._mood(k)
        lo = int(math.floor(min(a, 2.999)))
        frac = a - lo
        weights: dict[str, float] = {}
        for level, share in ((lo, 1.0 - frac), (lo + 1, frac)):
            for name, w in _REACTIONS[min(level, 3)]:
                weights[name] = weights.get(name, 0.0) + w * share
        # A weighted pick without numpy's choice (which costs a frame tenths of a millisecond).
        names = sorted(weights)
        pick = float(self.rng.random()) * sum(weights[n] for n in names)
        name = names[-1]
        for n in names:
            pick -= weights[n]
            if pick < 0.0:
                name = n
                break
        person = self.people[k]
        if name == "whisper":
            j = self._neighbour(k, shown)
            if j is None:
                name = "look-away"
            else:
                dur = _REACTION_S["whisper"]
                person.gesture("whisper", dur, side=self._side_of(k, j))
                self.people[j].gesture("listen", dur, side=self._side_of(j, k))
                return
        person.gesture(name, _REACTION_S[name] * float(self.rng.uniform(0.8, 1.25)))

    def _neighbour(self, k: int, shown: list[int]) -> int | None:
        me = self.people[k].root.getPos(self.root)
        best, best_d = None, 1.3
        for j in shown:
            if j == k or self.people[j].gesturing is not None:
                continue
            d = (self.people[j].root.getPos(self.root) - me).length()
            if d < best_d:
                best, best_d = j, d
        return best

    def _side_of(self, k: int, j: int) -> float:
        """+1 when ``j`` sits on ``k``'s right, -1 on the left."""
        local = self.people[k].root.getRelativePoint(self.people[j].root, Vec3(0, 0, 0))
        return 1.0 if local.x > 0 else -1.0

    def _by_nearness(self, strength: float, candidates: list[int]) -> int:
        """Strength 1 picks the person nearest the speaker, 0 the farthest."""
        order = sorted(candidates, key=lambda k: self.people[k].root.getPos(self.root).length())
        return order[int(round((1.0 - min(max(strength, 0.0), 1.0)) * (len(order) - 1)))]

    # ---------------------------------------------------------------------------------------- events

    def start_event(self, name: str, event: Event) -> None:
        t = self.t_s
        d = max(event.duration_s, 0.5)
        strength = self.event_strength(name)
        shown = self._shown()
        data: dict[str, object] = {}
        if name == "curtain-opens":
            data["from"] = self.curtain_open
            self._events[name] = (t, d, data)
            return
        if not shown:
            return  # nobody there: the event ends at once (the console still logs it)
        if name == "applause":
            share = max(0.15, strength)
            order = [int(i) for i in self.rng.permutation(len(shown))]
            clappers = [shown[i] for i in order[: max(1, int(math.ceil(share * len(shown))))]]
            data["pending"] = [(float(self.rng.uniform(0.0, 0.7)), k) for k in clappers]
        elif name == "cough":
            k = self._by_nearness(strength, shown)
            self.people[k].gesture("cough", d * 0.95)
            self._attach(self.reactor_anchor, k)
        elif name == "whispering":
            pairs: list[tuple[int, int]] = []
            taken: set[int] = set()
            for k in [shown[int(i)] for i in self.rng.permutation(len(shown))]:
                if len(pairs) >= 1 + int(round(2 * strength)):
                    break
                if k in taken:
                    continue
                j = self._neighbour(k, [s for s in shown if s not in taken])
                if j is None:
                    continue
                taken.update((k, j))
                pairs.append((k, j))
            if not pairs:  # nobody sits close to anyone: one person mutters to the side
                pairs.append((shown[0], shown[0]))
            for k, j in pairs:
                side = self._side_of(k, j) if j != k else 1.0
                self.people[k].gesture("whisper", d * 0.95, side=side)
                if j != k:
                    self.people[j].gesture("listen", d * 0.95, side=self._side_of(j, k))
            self._attach(self.reactor_anchor, pairs[0][0])
        elif name == "walk-out":
            candidates = [k for k in shown if k < WALKERS]
            if not candidates:
                return
            k = self._by_nearness(strength, candidates)
            data.update(self._walk_plan(k, d))
        elif name == "phone-rings":
            k = self._by_nearness(strength, shown)
            data["owner"] = k
            data["fumbling"] = True
            self._attach(self.reactor_anchor, k)
            head = self.people[k].neck.getPos(self.root)
            near = [
                j for j in shown if j != k and (self.people[j].root.getPos(self.root) - head).length() < 2.2
            ]
            data["near"] = near
            for j in near:
                self.people[j].look_at(head, self.root)
        elif name == "hostile-question":
            k = self._by_nearness(strength, shown)
            data["asker"] = k
            data["phase"] = 0
            self.people[k].gesture("raise-hand", 1.6)
            self._attach(self.reactor_anchor, k)
        self._events[name] = (t, d, data)

    def _attach(self, anchor: NodePath, k: int) -> None:
        anchor.reparentTo(self.people[k].neck)
        anchor.setPos(0.0, 0.05, 0.13)

    def _walk_plan(self, k: int, duration_s: float) -> dict[str, object]:
        room = self.rooms[self.room]
        seat = self.seat_of[k]
        assert seat is not None
        x, y, z = seat.pos
        door_in = (room.right_x - 0.6, room.door_y, 0.0)
        door_out = (room.right_x + 1.2, room.door_y, 0.0)
        if self.room == 0:  # round the table's end nearest the lectern
            side = 1.0 if x > 0 else -1.0
            path = [(x + side * 0.45, y, 0.0), (x + side * 0.45, 1.9, 0.0), door_in, door_out]
        else:
            path = [
                (x, y - 0.35, z),
                (room.aisle_x, y - 0.35, z),
                (room.aisle_x, 2.2, 0.0),
                door_in,
                door_out,
            ]
        pts = [(x, y, z), *path]
        lengths = [math.dist(a, b) for a, b in zip(pts, pts[1:], strict=False)]
        walker = self.walkers[k]
        walker.root.setPos(x, y, z)
        walker.root.setH(self.people[k].root.getH())
        self.people[k].root.hide()
        self.gone.add(k)
        walker.root.show()
        walker.look_ahead()
        self.walker_anchor.reparentTo(walker.root)
        self.walker_anchor.setPos(0.0, 0.0, 1.6)
        rise_s = 0.6
        speed = sum(lengths) / max(duration_s - rise_s - 0.3, 1.0)
        return {"walker": k, "pts": pts, "lengths": lengths, "speed": speed, "rise_s": rise_s}

    def _step_event(self, name: str, f: float, since_s: float, data: dict[str, object]) -> None:
        if name == "curtain-opens":
            start = float(data["from"])  # type: ignore[arg-type]
            e = 0.5 - 0.5 * math.cos(math.pi * f)
            if start > 0.95:  # already open: it closes and opens again
                opening = 1.0 - math.sin(math.pi * f) ** 2
            else:
                opening = start + (1.0 - start) * e
            self._set_curtain(opening)
            if f >= 1.0:
                self.curtain_open = 1.0
                self._set_curtain(1.0)
        elif name == "applause":
            pending: list[tuple[float, int]] = data["pending"]  # type: ignore[assignment]
            _t0, dur, _ = self._events[name]
            for when, k in list(pending):
                if since_s >= when:
                    pending.remove((when, k))
                    self.people[k].gesture("applause", max(dur - when - 0.15, 0.5))
        elif name == "walk-out":
            self._step_walk(f, since_s, data)
        elif name == "phone-rings":
            k = int(data["owner"])  # type: ignore[call-overload]
            if data["fumbling"] and since_s > 0.8:
                data["fumbling"] = False
                _t0, dur, _ = self._events[name]
                self.people[k].gesture("phone", max(dur - 0.9, 0.5))
            if f >= 1.0:
                for j in data["near"]:  # type: ignore[attr-defined]
                    self._gaze(int(j))
        elif name == "hostile-question":
            k = int(data["asker"])  # type: ignore[call-overload]
            person = self.people[k]
            if data["phase"] == 0 and since_s > 1.6:
                data["phase"] = 1
                person.look_at(Vec3(0.0, 0.0, self.eye_z), self.root)
                person.set_posture(lean=1.0, cross_arms=0.0)
                _t0, dur, _ = self._events[name]
                person.gesture("shake-head", max(dur - 1.8, 0.5))
            if f >= 1.0:
                self._pose(k)

    def _step_walk(self, f: float, since_s: float, data: dict[str, object]) -> None:
        k = int(data["walker"])  # type: ignore[call-overload]
        walker = self.walkers[k]
        room = self.rooms[self.room]
        pts: list[tuple[float, float, float]] = data["pts"]  # type: ignore[assignment]
        lengths: list[float] = data["lengths"]  # type: ignore[assignment]
        speed = float(data["speed"])  # type: ignore[arg-type]
        rise = float(data["rise_s"])  # type: ignore[arg-type]
        walked = max(since_s - rise, 0.0) * speed
        total = sum(lengths)
        walker.walk(speed if 0.0 < walked < total else 0.0)
        left = min(walked, total)
        for i, seg in enumerate(lengths):
            if left <= seg or i == len(lengths) - 1:
                a, b = pts[i], pts[i + 1]
                u = min(left / seg, 1.0) if seg > 1e-6 else 1.0
                walker.root.setPos(
                    a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u
                )
                if seg > 1e-6:
                    walker.root.setH(math.degrees(math.atan2(-(b[0] - a[0]), b[1] - a[1])))
                break
            left -= seg
        # The door opens as the walker comes near it and shuts behind them.
        pos = walker.root.getPos(self.root)
        near = math.hypot(pos.x - room.right_x, pos.y - room.door_y)
        room.door.set_open(min(max((2.2 - near) / 1.2, 0.0), 1.0) if f < 0.97 else 0.0)
        if f >= 1.0 or walked > total + 0.4:
            walker.root.hide()
            walker.walk(0.0)
            room.door.set_open(0.0)

    def event_running(self, name: str) -> bool:
        return name in self._events

    def anchor(self, name: str) -> NodePath | None:
        return {
            "audience": self.audience_anchor,
            "reactor": self.reactor_anchor,
            "walker": self.walker_anchor,
            "curtain-rail": self.curtain_anchor,
        }.get(name)

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        """Straight ahead over the lectern, a little down at the seated audience."""
        return 0.0, -8.0 if self.room < 2 else -3.0


@register_builder("public-speaking")
def build_public_speaking(ctx: BuildContext) -> SceneInstance:
    return PublicSpeakingScene(ctx)
