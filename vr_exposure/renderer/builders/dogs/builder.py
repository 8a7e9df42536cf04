"""The ``dogs`` builder: a park with a lawn, a gravel path, trees, benches, a hedge and dogs.

Layout (metres, Panda3D axes): the patient sits at the origin facing +Y on a bench, eyes
``eye_height_m`` above the lawn (z = 0). The nearest dog stands ``distance_m`` ahead; the others
spread in an arc behind it. A path crosses the lawn, trees and lamp posts line it, a hedge stands
to the left (a dog trots out from behind it) and a row of houses closes the view at 40 m.

Built once, for four dogs with their owners and a fifth dog behind the hedge;
:meth:`DogsScene.apply` only shows, hides, moves and rescales. Dogs move with the shared
:class:`~vr_exposure.renderer.blocks.creatures.Walker`; their gait and body language are in
:mod:`.dog`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from panda3d.core import NodePath, Vec3

from vr_exposure.core.specs import Event
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.creatures import Walker, surface
from vr_exposure.renderer.blocks.materials import material, part
from vr_exposure.renderer.blocks.people import Figure
from vr_exposure.renderer.blocks.sky import TimeOfDay
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance
from vr_exposure.renderer.builders.dogs import sounds as _sounds  # noqa: F401 - registers its sounds
from vr_exposure.renderer.builders.dogs.contract import CONTRACT, MAX_DOGS
from vr_exposure.renderer.builders.dogs.dog import Dog

STIMULUS_TAG = CONTRACT.stimulus_tag or "dog"
HEDGE = (-3.6, 6.5)  # the hedge's centre (x, y)
WALK_M_S = 0.8
RUN_M_S = 2.6
#: Where each dog stands relative to the nearest one: (x offset, extra distance).
SPOTS = ((0.3, 0.0), (-1.6, 1.2), (1.9, 1.8), (-0.4, 3.0))


class _Dog:
    """A dog with its walker, its home spot and its owner."""

    def __init__(self, dog: Dog, walker: Walker, owner: Figure, leash: NodePath) -> None:
        self.dog = dog
        self.walker = walker
        self.owner = owner
        self.leash = leash
        self.home = (0.0, 3.0)
        self.roam = 0.0  # where in its to-and-fro or circle it is
        self.event: str | None = None
        self.event_t = 0.0
        self.event_s = 1.0
        self.visible = False


class DogsScene(SceneInstance):
    def __init__(self, ctx: BuildContext) -> None:
        root = ctx.parent.attachNewNode(f"scene-{ctx.spec.id}")
        super().__init__(root)
        self.eye_height_m = ctx.eye_height_m
        self.rng = np.random.default_rng(int(ctx.rng.integers(1 << 30)))
        self.t_s = 0.0
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
        self._build_park(root)
        self.dogs: list[_Dog] = []
        for i in range(MAX_DOGS + 1):
            dog = Dog(root, self.rng, f"dog-{i}", STIMULUS_TAG)
            walker = Walker(dog.root)
            walker.max_turn_deg_s = 240.0
            walker.place(self.lawn, 0.0, 3.0)
            owner = Figure(
                root,
                rng=self.rng,
                height_m=float(self.rng.uniform(1.6, 1.85)),
                name=f"owner-{i}",
                shirt=tuple(float(c) for c in self.rng.uniform(0.15, 0.7, 3)),
            )
            leash = root.attachNewNode(proc.cylinder("leash", 0.006, 1.0, segments=5))
            leash.setMaterial(material((0.55, 0.1, 0.08)), 1)
            self.dogs.append(_Dog(dog, walker, owner, leash))
        self.hedge_dog = self.dogs[MAX_DOGS]
        self.hedge_dog.owner.root.hide()
        self.hedge_dog.leash.hide()
        self.count = 0
        self.off_leash = 1.0
        self.movement = 0.0
        self.distance_m = 4.0
        self._bark: tuple[float, float] | None = None
        for d in self.dogs:
            self._show(d, False)

    # ------------------------------------------------------------------------------------ building
    def _build_park(self, root: NodePath) -> None:
        static = root.attachNewNode("park")
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

    # ------------------------------------------------------------------------------------ parameters
    def _show(self, d: _Dog, on: bool) -> None:
        d.visible = on
        if on:
            d.dog.root.show()
        else:
            d.dog.root.hide()
        leashed = on and self.off_leash < 0.5 and d is not self.hedge_dog
        if leashed:
            d.owner.root.show()
            d.leash.show()
        else:
            d.owner.root.hide()
            d.leash.hide()

    def apply(self, values: Mapping[str, float]) -> None:
        self.count = int(round(values.get("dog_count", 1.0)))
        size = int(round(values.get("dog_size", 0.0)))
        self.distance_m = max(values.get("distance_m", 4.0), 0.6)
        self.off_leash = values.get("off_leash", 0.0)
        self.movement = values.get("movement", 0.0)
        arousal = values.get("arousal", 0.0)
        for i, d in enumerate(self.dogs):
            d.dog.set_build(size)
            d.dog.arousal = arousal
            if d is self.hedge_dog:
                if d.event is None:
                    self._show(d, False)
                continue
            ox, extra = SPOTS[i]
            d.home = (ox * (0.4 + 0.2 * self.distance_m), self.distance_m + extra)
            self._show(d, i < self.count)
            if d.event is None:
                d.walker.target = None
                d.walker.heading_deg = 180.0 + 25.0 * (i - 1.5)
                d.walker.place(self.lawn, *d.home)
                self._place_owner(d)
        if self.count == 0:
            self._bark = None

    def _place_owner(self, d: _Dog) -> None:
        hx, hy = d.home
        d.owner.root.setPos(self.lawn.node, hx + 0.45, hy + 1.1, 0.0)
        d.owner.root.setH(170.0)

    # ------------------------------------------------------------------------------------ animation
    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        eye = Vec3(0.0, 0.0, self.eye_height_m)
        leashed = self.off_leash < 0.5
        for i, d in enumerate(self.dogs):
            if not d.visible:
                continue
            x0, y0 = d.walker.x, d.walker.y
            if d.event is not None:
                self._event_step(d, dt_s)
            elif self.movement >= 1.5:
                self._roam(d, i, dt_s, leashed)
            else:
                d.dog.set_posture(self.movement)  # 0 lying, 1 sitting, in between settling
            moved = math.hypot(d.walker.x - x0, d.walker.y - y0)
            d.dog.look_target = d.dog.root.getRelativePoint(self.root, eye)
            d.dog.update(dt_s, moved / dt_s if dt_s > 0 else 0.0)
            if d.owner.root.isHidden() is False and d is not self.hedge_dog:
                d.owner.look_at(d.dog.root.getPos(self.root), self.root)
                d.owner.update(dt_s)
                self._stretch_leash(d)
        if self._bark is not None and self.t_s >= self._bark[1]:
            self._bark = None

    def _roam(self, d: _Dog, i: int, dt_s: float, leashed: bool) -> None:
        """Walk to and fro across the home spot, or (running, free) trot round a circle about it."""
        running = self.movement >= 2.5 and not leashed
        speed = RUN_M_S if running else WALK_M_S
        hx, hy = d.home
        if d.walker.target is None:
            d.roam += 1.0
            if running:
                a = d.roam * 1.1 + i
                d.walker.target = self.lawn.clamp(hx + 1.6 * math.cos(a), hy + 1.6 * math.sin(a))
            else:
                reach = 0.9 if leashed else 1.6
                side = 1.0 if int(d.roam) % 2 else -1.0
                d.walker.target = self.lawn.clamp(hx + side * reach, hy + 0.3 * math.sin(d.roam))
        d.walker.steer(dt_s, speed)

    def _stretch_leash(self, d: _Dog) -> None:
        hand = d.owner.root.getPos(self.root) + Vec3(0.0, 0.0, 0.85 * d.owner.root.getSz())
        right = self.root.getRelativeVector(d.owner.root, Vec3(0.25, 0.1, 0.0))
        hand += right
        collar = d.dog.neck.getPos(self.root)
        d.leash.setPos(hand)
        d.leash.lookAt(collar)
        d.leash.setSy(max((collar - hand).length(), 0.05))

    # ------------------------------------------------------------------------------------ events
    def _nearest(self) -> _Dog | None:
        shown = [d for d in self.dogs[: self.count] if d.visible]
        if not shown:
            return None
        return min(shown, key=lambda d: math.hypot(d.walker.x, d.walker.y))

    def start_event(self, name: str, event: Event) -> None:
        d = max(event.duration_s, 0.5)
        if name == "bark":
            self._bark = (self.t_s, self.t_s + d)
            dog = self._nearest()
            if dog is not None:
                dog.dog.bark_until_s = dog.dog.t_s + d
            return
        if name == "appear-from-behind":
            dog = self.hedge_dog
            dog.walker.heading_deg = 90.0
            dog.walker.place(self.lawn, HEDGE[0] - 0.5, HEDGE[1] + 1.2)
            self._show(dog, True)
        else:
            found = self._nearest()
            if found is None:
                return
            dog = found
        dog.event, dog.event_t, dog.event_s = name, 0.0, d
        dog.walker.target = None

    def _event_step(self, d: _Dog, dt_s: float) -> None:
        d.event_t += dt_s
        u = d.event_t / d.event_s
        w = d.walker
        if u >= 1.0:
            ended = d.event
            d.event = None
            d.dog.sniffing = False
            if ended == "appear-from-behind":
                self._show(d, False)
            else:
                w.target = None
                w.place(self.lawn, *d.home)
            return
        if d.event == "appear-from-behind":
            if u < 0.45:
                if w.target is None and u < 0.05:
                    w.target = (HEDGE[0] + 2.2, HEDGE[1] - 1.6)
                if w.target is not None:
                    w.steer(dt_s, 1.6)
            elif u > 0.7:
                w.target = (HEDGE[0] - 0.5, HEDGE[1] + 1.2)
                w.steer(dt_s, 2.0)
            return
        out_until, back_from = (0.45, 0.75) if d.event == "walk-up-and-sniff" else (0.3, 0.7)
        stop_short = 0.6 if d.event == "walk-up-and-sniff" else 0.8
        if u < out_until:
            if w.target is None and d.event_t <= dt_s + 1e-9:
                w.head_toward_patient(self.root, self.eye_height_m, stop_short)
            if w.target is not None:
                dist = math.hypot(w.target[0] - w.x, w.target[1] - w.y)
                speed = max(
                    WALK_M_S if d.event == "walk-up-and-sniff" else RUN_M_S,
                    dist / max((out_until - u) * d.event_s, 0.05),
                )
                w.steer(dt_s, speed)
            d.dog.sniffing = False
        elif u < back_from:
            w.target = None
            d.dog.sniffing = d.event == "walk-up-and-sniff"
        else:
            d.dog.sniffing = False
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
        return None

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        """Toward the nearest dog's chest (a little below the horizon)."""
        d = self._nearest()
        if d is None:
            return 0.0, -math.degrees(math.atan2(eye_height_m, self.distance_m))
        dist = max(math.hypot(d.walker.x, d.walker.y), 0.6)
        chest_z = 0.4 * d.dog.scale * d.dog.leg_scale
        return 0.0, -math.degrees(math.atan2(eye_height_m - chest_z, dist)) + 4.0


@register_builder("dogs")
def build_dogs(ctx: BuildContext) -> SceneInstance:
    return DogsScene(ctx)
