"""Creature locomotion over floors and surfaces, steering toward or away from the patient.

A :class:`Surface` is a walkable plane (a floor, a desk top, a wall): its node's local XY is the
surface and +Z points out of it, so a creature parented to it walks on walls and ceilings the same
way as on the floor. A :class:`Walker` is one creature's position, heading and target on a surface;
:meth:`Walker.steer` turns it toward its target at a bounded rate and steps forward only once it
faces roughly that way (animals do not slide sideways). Gait (legs, wings) stays with the creature:
the step length :meth:`Walker.steer` returns drives it.

Example (a dog that trots up to the patient and stops a metre short, then backs off)::

    from vr_exposure.renderer.blocks.creatures import Walker, surface

    floor = surface(root, "floor", (0, 0, 0), (0, 0, 1), (-3, 3, -1, 6))
    dog = Walker(root.attachNewNode("dog"))
    dog.place(floor, 0.0, 5.0)
    dog.head_toward_patient(scene_root=root, eye_height_m=1.2, stop_short_m=1.0)
    ...
    step = dog.steer(dt_s, speed_m_s=0.8)          # in update(): None once it has arrived
    dog.head_away_from_patient(scene_root=root, eye_height_m=1.2, distance_m=2.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from panda3d.core import NodePath, Vec3

__all__ = ["Surface", "Walker", "surface"]


@dataclass
class Surface:
    """A walkable plane: local XY is the surface, +Z points out of it; ``rect`` bounds walking."""

    name: str
    node: NodePath
    rect: tuple[float, float, float, float]  # x0, x1, y0, y1

    def clamp(self, x: float, y: float) -> tuple[float, float]:
        x0, x1, y0, y1 = self.rect
        return min(max(x, x0), x1), min(max(y, y0), y1)


def surface(
    root: NodePath,
    name: str,
    pos: tuple[float, float, float],
    normal: tuple[float, float, float],
    rect: tuple[float, float, float, float],
) -> Surface:
    """A surface through ``pos`` facing ``normal`` (in ``root``'s frame), walkable within ``rect``."""
    node = root.attachNewNode(f"surface-{name}")
    node.setPos(*pos)
    if normal != (0.0, 0.0, 1.0) and normal != (0, 0, 1):
        node.lookAt(Vec3(*pos) + Vec3(0, 0, 1), Vec3(*normal))
    return Surface(name, node, rect)


class Walker:
    """One creature's place on a surface. ``root`` is its node (reparented to the surface's)."""

    #: Fastest turn, and the largest angle off its target at which it still walks forward.
    max_turn_deg_s = 300.0
    walks_within_deg = 60.0

    def __init__(self, root: NodePath, heading_deg: float = 0.0) -> None:
        self.root = root
        self.surface: Surface | None = None
        self.x = 0.0
        self.y = 0.0
        self.heading_deg = heading_deg
        self.target: tuple[float, float] | None = None

    def place(self, surface: Surface, x: float, y: float) -> None:
        if surface is not self.surface:
            self.root.reparentTo(surface.node)
            self.surface = surface
        self.x, self.y = x, y
        self.root.setPos(x, y, 0.0)
        self.root.setH(self.heading_deg)

    def steer(self, dt_s: float, speed_m_s: float) -> float | None:
        """Turn toward the target and step forward; the distance stepped, or None (and no target
        any more) when it is already there. Reaching the target also clears it."""
        assert self.target is not None
        tx, ty = self.target
        dx, dy = tx - self.x, ty - self.y
        dist = math.hypot(dx, dy)
        if dist < 1e-3:
            self.target = None
            return None
        want = math.degrees(math.atan2(-dx, dy))
        turn = (want - self.heading_deg + 180.0) % 360.0 - 180.0
        max_turn = self.max_turn_deg_s * dt_s
        self.heading_deg += max(-max_turn, min(max_turn, turn))
        step = min(dist, speed_m_s * dt_s) if abs(turn) < self.walks_within_deg else 0.0
        if step > 0.0:
            self.x += dx / dist * step
            self.y += dy / dist * step
            self.root.setPosHpr(self.x, self.y, 0.0, self.heading_deg, 0.0, 0.0)
        else:
            self.root.setH(self.heading_deg)
        if dist - step < 1e-3:
            self.target = None
        return step

    def patient_here(self, scene_root: NodePath, eye_height_m: float) -> tuple[float, float]:
        """The patient's eyes (above ``scene_root``'s origin) projected onto this walker's surface."""
        assert self.surface is not None
        eye = scene_root.getRelativePoint(scene_root.getParent(), Vec3(0, 0, eye_height_m))
        local = self.surface.node.getRelativePoint(scene_root, eye)
        return local.x, local.y

    def head_toward_patient(
        self, scene_root: NodePath, eye_height_m: float, stop_short_m: float
    ) -> tuple[float, float]:
        """Target (and return) the point ``stop_short_m`` short of the patient, straight toward them."""
        assert self.surface is not None
        px, py = self.patient_here(scene_root, eye_height_m)
        dx, dy = px - self.x, py - self.y
        dist = math.hypot(dx, dy)
        stop = max(dist - stop_short_m, 0.0)
        tx, ty = self.x + dx / max(dist, 1e-6) * stop, self.y + dy / max(dist, 1e-6) * stop
        self.target = self.surface.clamp(tx, ty)
        return self.target

    def head_away_from_patient(
        self, scene_root: NodePath, eye_height_m: float, distance_m: float
    ) -> tuple[float, float]:
        """Target (and return) the point ``distance_m`` farther from the patient, straight away."""
        assert self.surface is not None
        px, py = self.patient_here(scene_root, eye_height_m)
        dx, dy = self.x - px, self.y - py
        dist = max(math.hypot(dx, dy), 1e-6)
        self.target = self.surface.clamp(self.x + dx / dist * distance_m, self.y + dy / dist * distance_m)
        return self.target
