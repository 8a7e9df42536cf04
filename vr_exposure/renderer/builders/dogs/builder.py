"""The ``dogs`` builder: a park or a living room, with up to four dogs, leashed (an owner walking
each one) or free.

Layout (metres, Panda3D axes): the patient sits at the origin facing +Y, eyes ``eye_height_m``
above the ground (z = 0): on a bench in the park, on a sofa in the living room. The nearest dog
stands ``distance_m`` ahead; the others spread in an arc behind it.

* **Park** (``setting`` 0): a lawn with a gravel path, trees and lamp posts, benches, a hedge to the
  left (a dog trots out from behind it) and a row of houses at 40 m.
* **Living room** (``setting`` 1): a 6 m x 7.4 m room with windows on the left, a rug, a coffee
  table, an armchair, a sideboard with a lamp, a plant, and a door in the far wall that a dog comes
  in through.

Everything is built once, for four dogs with their owners and a fifth dog that appears (from behind
the hedge, through the door); :meth:`DogsScene.apply` only shows, hides, moves and rescales. Dogs
move with the shared :class:`~vr_exposure.renderer.blocks.creatures.Walker`; their gait and body
language are in :mod:`.dog`. Owners are :class:`~vr_exposure.renderer.blocks.people.Figure` s that
walk after their dog (legs swinging, the leash hand held forward), the leash a line from the hand
to the collar.

**Cost per frame.** Only the dogs shown are visited; a dog farther than :data:`FAR_M` from the
patient (and its owner) moves and animates every other frame, with twice the time step, so its
paws still stay planted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from panda3d.core import NodePath, Vec3

from vr_exposure.core.specs import Event
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.creatures import Surface, Walker, surface
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, material, part
from vr_exposure.renderer.blocks.people import Figure
from vr_exposure.renderer.blocks.rooms import Door, Room, Window, desk, wall_shelf
from vr_exposure.renderer.blocks.sky import TimeOfDay
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance
from vr_exposure.renderer.builders.dogs import sounds as _sounds  # noqa: F401 - registers its sounds
from vr_exposure.renderer.builders.dogs.contract import CONTRACT, MAX_DOGS
from vr_exposure.renderer.builders.dogs.dog import Dog

STIMULUS_TAG = CONTRACT.stimulus_tag or "dog"
PARK, ROOM = 0, 1
HEDGE = (-3.6, 6.5)  # the hedge's centre (x, y)
#: The living room: walls at these x and y, the door's middle in the far wall.
ROOM_X = (-3.0, 3.0)
ROOM_Y = (-1.2, 6.2)
ROOM_H = 2.6
DOOR_X = -1.9
DOOR_W, DOOR_H = 0.9, 2.05
WALK_M_S = 0.8
RUN_M_S = 2.6
#: Running free, a dog gallops: this many of its leg lengths a second (see :data:`.dog.GALLOP_FROM`).
GALLOP_LEGS_S = 3.3
#: Where each dog stands relative to the nearest one: (x offset, extra distance).
SPOTS = ((0.3, 0.0), (-1.6, 1.2), (1.9, 1.8), (-0.4, 3.0))
#: Beyond this distance from the patient a dog (and its owner) is animated every other frame.
FAR_M = 6.0
#: The owner walks after the dog once its collar is farther than this from the owner.
LEASH_SLACK_M = 1.15
OWNER_WALK_M_S = 1.2
#: Where sounds go that should not be heard now (no dog walking on that ground): far below.
HUSH_Z_M = -5000.0


class _Owner:
    """A standing figure that walks after its dog: its legs swing from the hips (the figure's own
    legs are one rigid piece), the left arm swings with them and the right hand holds the leash."""

    def __init__(self, root: NodePath, rng: np.random.Generator, name: str) -> None:
        height = float(rng.uniform(1.6, 1.85))
        s = height / 1.72
        self.figure = Figure(
            root,
            rng=rng,
            height_m=height,
            name=name,
            shirt=tuple(float(c) for c in rng.uniform(0.15, 0.7, 3)),
        )
        self.root = self.figure.root
        self.walker = Walker(self.root)
        self.walker.max_turn_deg_s = 200.0
        self.walker.walks_within_deg = 75.0
        rigid = self.figure.body.find("legs")
        if not rigid.isEmpty():
            rigid.hide()
        self.hip_z = 0.88 * s
        trousers = material((0.15, 0.15, 0.2))
        self.legs: list[NodePath] = []
        for side in (-1, 1):
            hip = self.figure.body.attachNewNode("walk-hip")
            hip.setPos(side * 0.1 * s, 0.0, self.hip_z)
            part(
                hip, proc.box("leg", (0.14 * s, 0.16 * s, self.hip_z)), (0, 0, -self.hip_z / 2), mat=trousers
            )
            self.legs.append(hip)
        #: Where the leash is held: the right forearm's end.
        self.hand = self.figure.arms[1].attachNewNode("leash-hand")
        self.hand.setPos(0.0, 0.04 * s, -0.56 * s)
        self.stride_m = 0.75 * s
        self.phase = 0.0
        self.swing = 0.0  # 0 standing, 1 walking

    def follow(self, collar: Vec3, dt_s: float, scene: NodePath) -> None:
        """Walk after the dog (its collar at ``collar`` in ``scene``'s frame) when it pulls ahead."""
        w = self.walker
        dx, dy = collar.x - w.x, collar.y - w.y
        dist = math.hypot(dx, dy)
        stepped = 0.0
        if dist > LEASH_SLACK_M:
            k = (dist - LEASH_SLACK_M * 0.85) / dist
            w.target = (w.x + dx * k, w.y + dy * k)
            speed = min(2.2, OWNER_WALK_M_S + 1.5 * (dist - LEASH_SLACK_M))
            stepped = w.steer(dt_s, speed) or 0.0
        else:
            w.target = None
        walking = stepped > 0.0
        self.swing = min(1.0, self.swing + 4.0 * dt_s) if walking else max(0.0, self.swing - 3.0 * dt_s)
        self.phase = (self.phase + stepped / self.stride_m * math.pi) % (2.0 * math.pi)
        self.figure.look_at(collar, scene)
        self.figure.update(dt_s)
        angle = 24.0 * self.swing * math.sin(self.phase)
        self.legs[0].setP(angle)
        self.legs[1].setP(-angle)
        # The hips dip as the legs spread, so the feet stay on the ground.
        self.figure.body.setZ(-self.hip_z * (1.0 - math.cos(math.radians(angle))))
        self.figure.arms[0].setHpr(0.0, -0.8 * angle, 0.0)
        self.figure.arms[1].setHpr(0.0, 28.0, 0.0)  # holding the leash out in front


class _Dog:
    """A dog with its walker, its home spot and its owner."""

    def __init__(self, index: int, dog: Dog, walker: Walker, owner: _Owner, leash: NodePath) -> None:
        self.index = index
        self.dog = dog
        self.walker = walker
        self.owner = owner
        self.leash = leash
        self.home = (0.0, 3.0)
        self.roam = 0.0  # where in its to-and-fro or circle it is
        self.event: str | None = None
        self.event_t = 0.0
        self.event_s = 1.0
        self.event_strength = 1.0
        self.visible = False
        self.leashed = False
        self.skip = False  # animated every other frame: skipped this one
        self.carry_s = 0.0  # time not yet animated (a skipped frame's)


class DogsScene(SceneInstance):
    def __init__(self, ctx: BuildContext) -> None:
        root = ctx.parent.attachNewNode(f"scene-{ctx.spec.id}")
        super().__init__(root)
        self.eye_height_m = ctx.eye_height_m
        self.rng = np.random.default_rng(int(ctx.rng.integers(1 << 30)))
        self.t_s = 0.0
        self.frame = 0
        shading.apply_scene_shader(root, shadows=ctx.shadow_size_px > 0)
        self.sky = TimeOfDay(
            root,
            focus=(0.0, 4.0, 0.0),
            film_m=14.0,
            shadow_size_px=ctx.shadow_size_px,
            heading_deg=-40.0,
            fog_density=0.004,
            sky_radius_m=400.0,
            distance_m=30.0,
        )
        self.sky.set(elevation_deg=42.0, warmth=0.2)
        self.sky.fog.set((0.74, 0.8, 0.86), 0.006)
        self.lawn = surface(root, "lawn", (0.0, 0.0, 0.0), (0.0, 0.0, 1.0), (-9.0, 9.0, -1.0, 14.0))
        self.floor = surface(
            root,
            "floor",
            (0.0, 0.0, 0.0),
            (0.0, 0.0, 1.0),
            (ROOM_X[0] + 0.4, ROOM_X[1] - 0.4, 0.45, ROOM_Y[1] - 0.45),
        )
        self.park = root.attachNewNode("park")
        self._build_park(self.park)
        self.room = root.attachNewNode("living-room")
        self._build_room(self.room)
        self.setting = -1
        self.ground: Surface = self.lawn
        self.dogs: list[_Dog] = []
        for i in range(MAX_DOGS + 1):
            dog = Dog(root, self.rng, f"dog-{i}", STIMULUS_TAG)
            walker = Walker(dog.root)
            walker.max_turn_deg_s = 240.0
            walker.place(self.lawn, 0.0, 3.0)
            owner = _Owner(root, self.rng, f"owner-{i}")
            owner.walker.place(self.lawn, 0.5, 4.0)
            leash = root.attachNewNode(proc.cylinder("leash", 0.006, 1.0, segments=5))
            leash.setMaterial(material((0.55, 0.1, 0.08)), 1)
            leash.hide(SHADOW_MASK)
            self.dogs.append(_Dog(i, dog, walker, owner, leash))
        self.hidden_dog = self.dogs[MAX_DOGS]
        self.shown: list[_Dog] = []
        self._nearest_frame = -1
        self._nearest_dog: _Dog | None = None
        self.count = 0
        self.off_leash = 1.0
        self.movement = 0.0
        self.distance_m = 4.0
        self._bark: tuple[float, float] | None = None
        # Sound anchors: the nearest moving dog's paws on the ground it walks, its collar tag.
        self.paws_anchor = root.attachNewNode("paws-sound")
        self.tag_anchor = root.attachNewNode("collar-tag-sound")
        self.hush = root.attachNewNode("hushed-sound")
        self.hush.setPos(0.0, 0.0, HUSH_Z_M)
        for d in self.dogs:
            self._show(d, False)
        self._set_setting(PARK)

    # ------------------------------------------------------------------------------------ building
    def _build_park(self, parent: NodePath) -> None:
        static = parent.attachNewNode("park-static")
        part(static, proc.plane("lawn", 200.0, 200.0, uv_repeat=(80, 80)), (0, 20, 0), texture="grass")
        part(static, proc.plane("path", 200.0, 2.2, uv_repeat=(90, 1)), (0, 9.5, 0.01), texture="sand")
        part(static, proc.plane("path-2", 1.8, 9.0, uv_repeat=(1, 5)), (2.8, 4.0, 0.008), texture="sand")
        bark_m = material((0.3, 0.22, 0.15))
        leaf_ms = [material(c) for c in ((0.2, 0.38, 0.14), (0.26, 0.42, 0.16), (0.18, 0.33, 0.15))]
        rng = np.random.default_rng(5)
        trees = [
            (-7.0, 11.5),
            (-2.5, 12.5),
            (4.0, 12.0),
            (8.5, 11.0),
            (-9.0, 4.0),
            (9.0, 5.5),
            (-14, 20),
            (12, 22),
            (0.5, 24),
            (-6, 27),
            (7, 30),
        ]
        for k, (x, y) in enumerate(trees):
            h = float(rng.uniform(4.5, 7.0))
            part(
                static,
                proc.cylinder("trunk", 0.2, h * 0.6, segments=7, radius_end=0.14),
                (x, y, 0),
                mat=bark_m,
                hpr=(0, 90, 0),
            )
            crown = part(
                static, proc.sphere("crown", 1.0, rings=6, segments=9), (x, y, h * 0.7), mat=leaf_ms[k % 3]
            )
            crown.setScale(h * 0.33, h * 0.33, h * 0.4)
        hedge_m = material((0.17, 0.32, 0.12))
        part(
            static,
            proc.box("hedge", (3.0, 1.0, 1.2), uv_per_m=0.7),
            (HEDGE[0], HEDGE[1], 0.6),
            texture="grass",
            mat=hedge_m,
        )
        wood = material((0.45, 0.3, 0.17), specular=0.1)
        iron = material((0.12, 0.12, 0.13), specular=0.4, shininess=40)
        for x, y, h in ((5.5, 8.0, 180.0), (-6.0, 8.2, 180.0), (0.0, -0.5, 0.0)):
            bench = static.attachNewNode("bench")
            bench.setPos(x, y, 0)
            bench.setH(h)
            for z, dy, sz in ((0.45, 0.0, (1.6, 0.45, 0.05)), (0.75, -0.22, (1.6, 0.05, 0.35))):
                part(bench, proc.box("slats", sz, uv_per_m=2.0), (0, dy, z), texture="wood-planks", mat=wood)
            for sx in (-0.7, 0.7):
                part(bench, proc.box("leg", (0.06, 0.45, 0.45)), (sx, 0, 0.22), mat=iron)
        for x in (-9.0, -3.0, 3.0, 9.0):
            part(
                static,
                proc.cylinder("lamp-post", 0.06, 3.6, segments=8),
                (x, 10.9, 0),
                mat=iron,
                hpr=(0, 90, 0),
            )
            part(
                static,
                proc.sphere("lamp", 0.2, rings=6, segments=8),
                (x, 10.9, 3.7),
                mat=material((0.9, 0.9, 0.8)),
            )
        wall = material((0.8, 0.74, 0.66))
        roof = material((0.45, 0.2, 0.16))
        for k in range(-6, 7):
            w, h = float(rng.uniform(6, 9)), float(rng.uniform(7, 11))
            part(
                static,
                proc.box("house", (w, 8.0, h), uv_per_m=0.4),
                (k * 8.5, 44.0, h / 2),
                texture="plaster",
                mat=wall,
            )
            part(static, proc.box("roof", (w + 0.3, 8.4, 0.6)), (k * 8.5, 44.0, h + 0.3), mat=roof)
        static.flattenStrong()

    def _build_room(self, parent: NodePath) -> None:
        # The room's walls and door stay unflattened (the door's hinge turns); the furniture is merged.
        static = parent.attachNewNode("room-static")
        room = Room(
            parent,
            x=ROOM_X,
            y=ROOM_Y,
            height_m=ROOM_H,
            windows=[
                Window("left", along_m=-1.6, z_m=1.4, width_m=1.4, height_m=1.2),
                Window("left", along_m=1.4, z_m=1.4, width_m=1.4, height_m=1.2),
            ],
            ceiling_lamp=(0.0, 2.5),
        )
        # The far wall with a doorway in it (the room's own far wall is whole), and a hall beyond.
        room.walls["far"].hide()
        plaster = material((1.0, 0.98, 0.95))
        left_w = DOOR_X - DOOR_W / 2 - ROOM_X[0]
        right_w = ROOM_X[1] - (DOOR_X + DOOR_W / 2)
        y = ROOM_Y[1]
        for name, cx, w, z0, h in (
            ("wall-far-left", ROOM_X[0] + left_w / 2, left_w, 0.0, ROOM_H),
            ("wall-far-right", ROOM_X[1] - right_w / 2, right_w, 0.0, ROOM_H),
            ("wall-far-lintel", DOOR_X, DOOR_W, DOOR_H, ROOM_H - DOOR_H),
        ):
            wall = part(
                static,
                proc.plane(name, w, h, uv_repeat=(w, h)),
                (cx, y, z0 + h / 2),
                texture="plaster",
                mat=plaster,
                hpr=(0, 90, 0),
            )
            wall.hide(SHADOW_MASK)
        hall = Room(
            parent,
            x=(DOOR_X - 0.9, DOOR_X + 0.9),
            y=(ROOM_Y[1], ROOM_Y[1] + 2.2),
            height_m=ROOM_H,
            skirting=("far", "left", "right"),
        )
        hall.walls["back"].hide()
        self.door = Door(room, "far", along_m=DOOR_X, width_m=DOOR_W - 0.04, height_m=DOOR_H - 0.04)
        # The patient's sofa behind and under them, a rug, a coffee table to the right, an armchair,
        # a sideboard with a lamp on the right wall, a plant in the corner.
        sofa_m = material((0.32, 0.36, 0.46), specular=0.05)
        for pos, size in (
            ((0.0, -0.55, 0.22), (2.0, 0.9, 0.44)),
            ((0.0, -0.95, 0.65), (2.0, 0.22, 0.5)),
            ((-1.05, -0.55, 0.4), (0.22, 0.9, 0.36)),
            ((1.05, -0.55, 0.4), (0.22, 0.9, 0.36)),
        ):
            part(static, proc.box("sofa", size), pos, mat=sofa_m)
        part(
            static,
            proc.plane("rug", 2.6, 3.2, uv_repeat=(1, 1)),
            (0.0, 2.4, 0.006),
            texture="rug",
            mat=material((0.95, 0.9, 0.85), specular=0.02),
        )
        desk(static, x=(1.0, 1.9), y=(1.1, 1.7), top_z=0.45, drawers=False, top_thickness_m=0.04)
        chair_m = material((0.55, 0.3, 0.22), specular=0.05)
        chair = static.attachNewNode("armchair")
        chair.setPos(2.2, 3.6, 0.0)
        chair.setH(110.0)
        for pos, size in (
            ((0.0, 0.0, 0.22), (0.85, 0.8, 0.44)),
            ((0.0, -0.36, 0.62), (0.85, 0.16, 0.45)),
            ((-0.4, 0.0, 0.55), (0.14, 0.8, 0.24)),
            ((0.4, 0.0, 0.55), (0.14, 0.8, 0.24)),
        ):
            part(chair, proc.box("armchair", size), pos, mat=chair_m)
        wood = material((0.5, 0.36, 0.24), specular=0.2)
        part(
            static,
            proc.box("sideboard", (0.45, 1.6, 0.75), uv_per_m=1.0),
            (2.75, 1.4, 0.375),
            texture="wood-fine",
            mat=wood,
        )
        part(
            static,
            proc.cylinder("lamp-foot", 0.08, 0.35, segments=10),
            (2.75, 1.0, 0.75),
            mat=material((0.8, 0.78, 0.7)),
            hpr=(0, 90, 0),
        )
        shade = part(
            static,
            proc.cylinder("lamp-shade", 0.18, 0.25, segments=14, radius_end=0.12),
            (2.75, 1.0, 1.1),
            hpr=(0, 90, 0),
        )
        shade.setColor(1.0, 0.93, 0.78, 1.0)
        shading.unlit(shade)
        part(
            static,
            proc.cylinder("pot", 0.2, 0.35, segments=12, radius_end=0.24),
            (-2.55, 5.7, 0.0),
            mat=material((0.7, 0.4, 0.28)),
            hpr=(0, 90, 0),
        )
        leaf = material((0.2, 0.42, 0.18))
        for k, (dx, dy, z, r) in enumerate(
            ((0, 0, 0.75, 0.35), (0.12, -0.1, 1.05, 0.25), (-0.1, 0.08, 1.2, 0.2))
        ):
            part(
                static, proc.sphere(f"plant-{k}", r, rings=6, segments=9), (-2.55 + dx, 5.7 + dy, z), mat=leaf
            )
        # A picture on the back of the sideboard wall and shelves by the door.
        frame = part(
            static, proc.box("picture", (0.03, 0.9, 0.6)), (2.98, 3.2, 1.6), mat=material((0.2, 0.15, 0.1))
        )
        frame.hide(SHADOW_MASK)
        canvas = part(
            static, proc.box("canvas", (0.01, 0.8, 0.5)), (2.96, 3.2, 1.6), mat=material((0.35, 0.55, 0.7))
        )
        canvas.hide(SHADOW_MASK)
        wall_shelf(
            static,
            x_m=0.9,
            y_m=ROOM_Y[1] - 0.14,
            z_m=1.1,
            rng=np.random.default_rng(9),
            width_m=1.6,
            boards=3,
            board_gap_m=0.4,
            books_to=(1.4, 0.6, 1.6),
        )
        static.flattenStrong()

    # ------------------------------------------------------------------------------------ parameters
    def _set_setting(self, setting: int) -> None:
        if setting == self.setting:
            return
        self.setting = setting
        if setting == ROOM:
            self.park.hide()
            self.room.show()
            self.ground = self.floor
            # The sun comes in by the windows on the left, from behind the patient.
            self.sky.heading_deg = 140.0
            self.sky.set(elevation_deg=35.0, warmth=0.25)
            self.sky.fog.set((0.9, 0.88, 0.85), 0.002)
        else:
            self.room.hide()
            self.park.show()
            self.ground = self.lawn
            self.sky.heading_deg = -40.0
            self.sky.set(elevation_deg=42.0, warmth=0.2)
            self.sky.fog.set((0.74, 0.8, 0.86), 0.006)
        for d in self.dogs:
            d.event = None
            d.dog.sniffing = False
            d.dog.rear_up(0.0)
            d.walker.target = None
            d.walker.place(self.ground, d.walker.x, d.walker.y)
            d.owner.walker.target = None
            d.owner.walker.place(self.ground, d.owner.walker.x, d.owner.walker.y)
        self.door.set_open(0.0)

    def _show(self, d: _Dog, on: bool) -> None:
        d.visible = on
        if on:
            d.dog.root.show()
        else:
            d.dog.root.hide()
        d.leashed = on and self.off_leash < 0.5 and d is not self.hidden_dog
        if d.leashed:
            d.owner.root.show()
            d.leash.show()
        else:
            d.owner.root.hide()
            d.leash.hide()
        self.shown = [x for x in self.dogs if x.visible]
        self._nearest_frame = -1

    def apply(self, values: Mapping[str, float]) -> None:
        self._set_setting(ROOM if values.get("setting", 0.0) >= 0.5 else PARK)
        self.count = int(round(values.get("dog_count", 1.0)))
        size = int(round(values.get("dog_size", 0.0)))
        far_m = 10.0 if self.setting == PARK else ROOM_Y[1] - 0.9
        self.distance_m = min(max(values.get("distance_m", 4.0), 0.6), far_m)
        self.off_leash = values.get("off_leash", 0.0)
        self.movement = values.get("movement", 0.0)
        arousal = values.get("arousal", 0.0)
        for i, d in enumerate(self.dogs):
            d.dog.set_build(size)
            d.dog.arousal = arousal
            if d is self.hidden_dog:
                if d.event is None:
                    self._show(d, False)
                continue
            ox, extra = SPOTS[i]
            hx, hy = ox * (0.4 + 0.2 * self.distance_m), self.distance_m + extra
            d.home = self.ground.clamp(hx, hy)
            self._show(d, i < self.count)
            if d.event is None:
                d.walker.target = None
                d.walker.heading_deg = 180.0 + 25.0 * (i - 1.5)
                d.walker.place(self.ground, *d.home)
                self._place_owner(d)
        if self.count == 0:
            self._bark = None
        self._nearest_frame = -1

    def _place_owner(self, d: _Dog) -> None:
        hx, hy = d.home
        w = d.owner.walker
        w.target = None
        w.heading_deg = 170.0
        x, y = hx + 0.45, hy + 1.0
        if self.setting == ROOM:  # the owner stands beside the dog, inside the room
            x, y = min(max(x, ROOM_X[0] + 0.3), ROOM_X[1] - 0.3), min(y, ROOM_Y[1] - 0.3)
        w.place(self.ground, x, y)

    # ------------------------------------------------------------------------------------ animation
    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        self.frame += 1
        eye_z = self.eye_height_m
        root = self.root
        for d in self.shown:
            w = d.walker
            # Far dogs move and animate every other frame (alternating between dogs), with the
            # time of both frames, so their gait and their paws stay right.
            far = d.event is None and w.x * w.x + w.y * w.y > FAR_M * FAR_M
            if far and (self.frame + d.index) % 2:
                d.carry_s += dt_s
                continue
            step_s = dt_s + d.carry_s
            d.carry_s = 0.0
            x0, y0 = w.x, w.y
            if d.event is not None:
                self._event_step(d, step_s)
            elif self.movement >= 1.5:
                self._roam(d, step_s)
            else:
                d.dog.set_posture(self.movement)  # 0 lying, 1 sitting, in between settling
            moved = math.hypot(w.x - x0, w.y - y0)
            dog = d.dog
            # The patient's eyes in the dog's frame, from its walker (no scene-graph lookup).
            h = math.radians(w.heading_deg)
            dx, dy = -w.x, -w.y
            dog.look_target = (
                dx * math.cos(h) + dy * math.sin(h),
                dy * math.cos(h) - dx * math.sin(h),
                eye_z,
            )
            dog.update(step_s, moved / step_s if step_s > 0 else 0.0)
            if d.leashed:
                collar = dog.collar.getPos(root)
                d.owner.follow(collar, step_s, root)
                self._stretch_leash(d, collar)
        self._place_sounds()
        if self._bark is not None and self.t_s >= self._bark[1]:
            self._bark = None

    def _roam(self, d: _Dog, dt_s: float) -> None:
        """Walk to and fro across the home spot, or (running, free) gallop round a circle about it."""
        leashed = d.leashed
        running = self.movement >= 2.5 and not leashed
        dog = d.dog
        speed = GALLOP_LEGS_S * dog.scale * dog.leg_scale if running else WALK_M_S
        hx, hy = d.home
        if d.walker.target is None:
            d.roam += 1.0
            if running:
                a = d.roam * 0.9 + d.index
                r = 2.2 if self.setting == PARK else 1.3
                d.walker.target = self.ground.clamp(hx + r * math.cos(a), hy + r * math.sin(a))
            else:
                reach = 0.9 if leashed else 1.6
                side = 1.0 if int(d.roam) % 2 else -1.0
                d.walker.target = self.ground.clamp(hx + side * reach, hy + 0.3 * math.sin(d.roam))
        d.walker.steer(dt_s, speed)

    def _stretch_leash(self, d: _Dog, collar: Vec3) -> None:
        hand = d.owner.hand.getPos(self.root)
        d.leash.setPos(hand)
        d.leash.lookAt(collar)
        d.leash.setSy(max((collar - hand).length(), 0.05))

    def leash_ends(self, index: int) -> tuple[Vec3, Vec3]:
        """Where dog ``index``'s leash starts and ends (scene frame): the hand end, the far end."""
        leash = self.dogs[index].leash
        return leash.getPos(self.root), self.root.getRelativePoint(leash, Vec3(0.0, 1.0, 0.0))

    def _place_sounds(self) -> None:
        """The paw and tag sounds follow the nearest dog that moves (a still dog makes neither)."""
        moving = [d for d in self.shown if d.dog.speed_m_s > 0.05 or d.dog.rearing > 0.05]
        if not moving:
            if self.paws_anchor.getParent() != self.hush:
                self.paws_anchor.reparentTo(self.hush)
                self.tag_anchor.reparentTo(self.hush)
            return
        d = min(moving, key=lambda x: x.walker.x * x.walker.x + x.walker.y * x.walker.y)
        if self.paws_anchor.getParent() != d.dog.root:
            self.paws_anchor.reparentTo(d.dog.root)
            self.tag_anchor.reparentTo(d.dog.collar)

    # ------------------------------------------------------------------------------------ events
    def _nearest(self) -> _Dog | None:
        """The nearest dog shown (not the one that appears), found once a frame: several sounds
        follow it and ask every frame."""
        if self._nearest_frame == self.frame:
            return self._nearest_dog
        shown = [d for d in self.shown if d is not self.hidden_dog]
        found = min(shown, key=lambda d: d.walker.x * d.walker.x + d.walker.y * d.walker.y) if shown else None
        self._nearest_frame, self._nearest_dog = self.frame, found
        return found

    def start_event(self, name: str, event: Event) -> None:
        duration = max(event.duration_s, 0.5)
        strength = self.event_strength(name)
        if name == "bark":
            self._bark = (self.t_s, self.t_s + duration)
            dog = self._nearest()
            if dog is not None:
                dog.dog.bark_until_s = dog.dog.t_s + duration
            return
        if name == "appear-from-behind":
            dog = self.hidden_dog
            dog.walker.target = None
            if self.setting == PARK:
                dog.walker.heading_deg = 90.0
                dog.walker.place(self.ground, HEDGE[0] - 0.5, HEDGE[1] + 1.2)
            else:  # in the hall, behind the closed door
                dog.walker.heading_deg = 180.0
                dog.walker.place(self.ground, DOOR_X, ROOM_Y[1] + 1.2)
            self._show(dog, True)
        else:
            found = self._nearest()
            if found is None:
                return
            dog = found
        dog.event, dog.event_t, dog.event_s, dog.event_strength = name, 0.0, duration, strength
        dog.walker.target = None

    def _entry_path(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Where the appearing dog comes out to, and where it goes back to (behind the cover)."""
        if self.setting == PARK:
            return (HEDGE[0] + 2.2, HEDGE[1] - 1.6), (HEDGE[0] - 0.5, HEDGE[1] + 1.2)
        return (DOOR_X + 0.9, ROOM_Y[1] - 2.4), (DOOR_X, ROOM_Y[1] + 1.2)

    def _event_step(self, d: _Dog, dt_s: float) -> None:
        d.event_t += dt_s
        u = d.event_t / d.event_s
        w = d.walker
        if u >= 1.0:
            ended = d.event
            d.event = None
            d.dog.sniffing = False
            d.dog.rear_up(0.0)
            if ended == "appear-from-behind":
                self._show(d, False)
                self.door.set_open(0.0)
            else:
                w.target = None
                w.place(self.ground, *d.home)
            return
        if d.event == "appear-from-behind":
            out, back = self._entry_path()
            if self.setting == ROOM:  # the door swings open first and shuts behind the dog
                self.door.set_open(min(1.0, u / 0.12, (1.0 - u) / 0.08))
            if 0.1 < u < 0.45:
                if w.target is None and u < 0.2:
                    w.target = out
                if w.target is not None:
                    w.steer(dt_s, 1.6)
            elif 0.7 < u < 0.92:
                w.target = back
                w.steer(dt_s, 2.0)
            return
        jump = d.event == "jump-up"
        sniff = d.event == "walk-up-and-sniff"
        out_until, back_from = (0.45, 0.75) if sniff else (0.3, 0.7)
        dog = d.dog
        # How close the dog comes: the event's strength brings it nearer (1.0: right up).
        if jump:
            # Stop where the reared-up front paws come down on the patient's knees.
            reach = (0.02 + 0.32 * dog.leg_scale) * dog.scale
            stop_short = 0.5 + reach + 1.2 * (1.0 - d.event_strength)
        else:
            stop_short = (0.6 if sniff else 0.8) + 1.5 * (1.0 - d.event_strength)
        if u < out_until:
            if w.target is None and d.event_t <= dt_s + 1e-9:
                w.head_toward_patient(self.root, self.eye_height_m, stop_short)
            if w.target is not None:
                dist = math.hypot(w.target[0] - w.x, w.target[1] - w.y)
                speed = max(
                    WALK_M_S if sniff else RUN_M_S,
                    dist / max((out_until - u) * d.event_s, 0.05),
                )
                w.steer(dt_s, speed)
            dog.sniffing = False
        elif u < back_from:
            w.target = None
            dog.sniffing = sniff
            if jump:
                # Up on the hind legs, paws toward the patient, a second bounce, then down.
                v = (u - out_until) / (back_from - out_until)
                height = 0.45 + 0.55 * d.event_strength
                dog.rear_up(height if v < 0.4 or 0.55 < v < 0.85 else 0.3 * height)
        else:
            dog.sniffing = False
            dog.rear_up(0.0)
            w.target = d.home
            dist = math.hypot(d.home[0] - w.x, d.home[1] - w.y)
            w.steer(dt_s, max(WALK_M_S, dist / max((1.0 - u) * d.event_s, 0.05)))

    def event_running(self, name: str) -> bool:
        if name == "bark":
            return self._bark is not None
        return any(d.event == name for d in self.dogs)

    def anchor(self, name: str) -> NodePath | None:
        if name in ("nearest-dog", "dog"):
            d = self._nearest()
            return d.dog.mouth if d is not None else None
        if name == "paws-on-floor":
            return self.paws_anchor if self.setting == ROOM else self.hush
        if name == "paws-on-grass":
            return self.paws_anchor if self.setting == PARK else self.hush
        if name == "nearest-collar":
            return self.tag_anchor
        return None

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        """Toward the nearest dog's chest (a little below the horizon)."""
        d = self._nearest()
        if d is None:
            return 0.0, -math.degrees(math.atan2(eye_height_m, self.distance_m))
        dist = max(math.hypot(d.walker.x, d.walker.y), 0.6)
        chest_z = 0.4 * d.dog.scale * d.dog.leg_scale
        heading = -math.degrees(math.atan2(d.walker.x, d.walker.y))
        return heading * 0.5, -math.degrees(math.atan2(eye_height_m - chest_z, dist)) + 4.0


@register_builder("dogs")
def build_dogs(ctx: BuildContext) -> SceneInstance:
    return DogsScene(ctx)
