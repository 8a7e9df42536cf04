"""People: procedural figures (no downloaded model) that stand or sit, breathe and shift their
weight, turn their head toward the patient, and make simple gestures and reactions.

A :class:`Figure` is a few nodes (body, head, two arms) whose meshes are merged per part, so an
audience of thirty stays near two hundred draw calls. Everything is built in the constructor;
:meth:`Figure.look_at`, :meth:`Figure.gesture` and :meth:`Figure.update` only turn nodes.

Example (an audience member who looks at the speaker and nods)::

    from vr_exposure.renderer.blocks.people import Figure

    person = Figure(root, rng=rng, seated=True, shirt=(0.2, 0.3, 0.5))
    person.root.setPos(1.0, 4.0, 0.0)
    person.root.setH(180)                                  # facing the patient
    person.root.setTag("stimulus", CONTRACT.stimulus_tag)  # the feared object, for gaze measures
    person.look_at(Vec3(0, 0, 1.2), root)                  # the patient's eyes, in root's frame
    person.gesture("nod", 1.0)
    person.update(dt_s)                                    # every frame

Gestures: ``nod``, ``shake-head``, ``wave``, ``raise-hand``; reaction: ``lean-back``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from panda3d.core import NodePath, Vec3

from vr_exposure.errors import SceneError
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer.blocks.materials import material, part

__all__ = ["GESTURES", "Figure"]

GESTURES = ("nod", "shake-head", "wave", "raise-hand", "lean-back")
#: How far and how fast a head turns: people do not spin their heads.
MAX_NECK_YAW_DEG = 70.0
MAX_NECK_PITCH_DEG = 30.0
HEAD_TURN_DEG_S = 120.0


class Figure:
    """A person ``height_m`` tall, standing or ``seated`` (on an invisible seat 0.45 m high),
    facing +Y of its root."""

    def __init__(
        self,
        parent: NodePath,
        *,
        rng: np.random.Generator,
        height_m: float = 1.72,
        seated: bool = False,
        shirt: Sequence[float] = (0.25, 0.35, 0.55),
        trousers: Sequence[float] = (0.15, 0.15, 0.2),
        skin: Sequence[float] = (0.85, 0.68, 0.55),
        hair: Sequence[float] = (0.2, 0.14, 0.1),
        name: str = "person",
    ) -> None:
        s = height_m / 1.72
        self.root = parent.attachNewNode(name)
        self.seated = seated
        shirt_m, trousers_m, skin_m = material(shirt), material(trousers), material(skin, specular=0.15)
        hip_z = (0.45 if seated else 0.88) * s
        self.body = self.root.attachNewNode("body")
        legs = self.body.attachNewNode("legs")
        # Legs: upright when standing; thighs forward and shins down when seated.
        for side in (-1, 1):
            x = side * 0.1 * s
            if seated:
                part(
                    legs,
                    proc.box("thigh", (0.14 * s, 0.45 * s, 0.14 * s)),
                    (x, 0.2 * s, hip_z),
                    mat=trousers_m,
                )
                part(
                    legs,
                    proc.box("shin", (0.12 * s, 0.12 * s, 0.45 * s)),
                    (x, 0.42 * s, hip_z / 2),
                    mat=trousers_m,
                )
            else:
                part(legs, proc.box("leg", (0.14 * s, 0.16 * s, hip_z)), (x, 0.0, hip_z / 2), mat=trousers_m)
        legs.flattenStrong()
        # Leaning and breathing turn and scale this pivot at the hips; the head and arms ride on it.
        self.torso = self.body.attachNewNode("torso")
        self.torso.setZ(hip_z)
        part(self.torso, proc.box("chest", (0.4 * s, 0.22 * s, 0.58 * s)), (0.0, 0.0, 0.29 * s), mat=shirt_m)
        shoulder_z = 0.55 * s
        self.neck = self.torso.attachNewNode("neck")
        self.neck.setZ(shoulder_z + 0.07 * s)
        # Meshes go under a child that is flattened: flattening a node bakes its own transform into
        # the vertices too, and a pivot must keep its place to turn about it.
        head_mesh = self.neck.attachNewNode("head")
        head = part(
            head_mesh, proc.sphere("head", 0.11 * s, rings=8, segments=12), (0.0, 0.0, 0.12 * s), mat=skin_m
        )
        head.setScale(1.0, 1.1, 1.2)
        part(
            head_mesh,
            proc.sphere("hair", 0.115 * s, rings=6, segments=12),
            (0.0, -0.02 * s, 0.16 * s),
            mat=material(hair),
        ).setScale(1.0, 1.05, 0.8)
        head_mesh.flattenStrong()
        self.arms: list[NodePath] = []
        for side in (-1, 1):
            shoulder = self.torso.attachNewNode("arm-" + ("left" if side < 0 else "right"))
            shoulder.setPos(side * 0.24 * s, 0.0, shoulder_z)
            arm_mesh = shoulder.attachNewNode("arm-mesh")
            part(
                arm_mesh,
                proc.box("upper-arm", (0.09 * s, 0.09 * s, 0.3 * s)),
                (0.0, 0.0, -0.15 * s),
                mat=shirt_m,
            )
            part(
                arm_mesh,
                proc.box("forearm", (0.08 * s, 0.08 * s, 0.28 * s)),
                (0.0, 0.04 * s, -0.42 * s),
                mat=skin_m,
            )
            arm_mesh.flattenStrong()
            self.arms.append(shoulder)
        self._rest_arm_p = 20.0 if seated else 0.0
        for arm in self.arms:
            arm.setP(self._rest_arm_p)
        self.t_s = float(rng.uniform(0, 10))
        self._breath_hz = float(rng.uniform(0.2, 0.3))
        self._yaw = 0.0
        self._pitch = 0.0
        self._want = (0.0, 0.0)
        self._gesture: str | None = None
        self._gesture_t = 0.0
        self._gesture_s = 1.0

    # -- gaze ---------------------------------------------------------------------------------------
    def look_at(self, point: Vec3, frame: NodePath) -> None:
        """Turn the head toward ``point`` (in ``frame``'s coordinates) over the next frames, within
        what a neck does (:data:`MAX_NECK_YAW_DEG`, :data:`MAX_NECK_PITCH_DEG`)."""
        local = self.neck.getParent().getRelativePoint(frame, point) - self.neck.getPos()
        yaw = -math.degrees(math.atan2(local.x, local.y))
        pitch = math.degrees(math.atan2(local.z, math.hypot(local.x, local.y)))
        self._want = (
            max(-MAX_NECK_YAW_DEG, min(MAX_NECK_YAW_DEG, yaw)),
            max(-MAX_NECK_PITCH_DEG, min(MAX_NECK_PITCH_DEG, pitch)),
        )

    def look_ahead(self) -> None:
        self._want = (0.0, 0.0)

    @property
    def head_hpr(self) -> tuple[float, float]:
        return self._yaw, self._pitch

    # -- gestures -----------------------------------------------------------------------------------
    def gesture(self, name: str, duration_s: float = 1.5) -> None:
        if name not in GESTURES:
            raise SceneError(f"no gesture {name!r} (known: {', '.join(GESTURES)})")
        self._gesture, self._gesture_t, self._gesture_s = name, 0.0, max(duration_s, 0.2)

    @property
    def gesturing(self) -> str | None:
        return self._gesture

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        t = self.t_s
        step = HEAD_TURN_DEG_S * dt_s
        self._yaw += max(-step, min(step, self._want[0] - self._yaw))
        self._pitch += max(-step, min(step, self._want[1] - self._pitch))
        nod = shake = lean = 0.0
        arm_p = [self._rest_arm_p, self._rest_arm_p]
        arm_r = [0.0, 0.0]
        g = self._gesture
        if g is not None:
            self._gesture_t += dt_s
            f = self._gesture_t / self._gesture_s
            if f >= 1.0:
                self._gesture = None
            else:
                env = math.sin(math.pi * f)
                if g == "nod":
                    nod = 12.0 * math.sin(2 * math.pi * 2.0 * f) * env
                elif g == "shake-head":
                    shake = 20.0 * math.sin(2 * math.pi * 2.0 * f) * env
                elif g == "wave":
                    arm_p[1] = 150.0 * env
                    arm_r[1] = 20.0 * math.sin(2 * math.pi * 3.0 * f) * env
                elif g == "raise-hand":
                    arm_p[1] = 160.0 * env
                elif g == "lean-back":
                    lean = -12.0 * env
        breath = 1.0 + 0.012 * math.sin(2 * math.pi * self._breath_hz * t)
        self.torso.setHpr(0.8 * math.sin(0.31 * t), lean, 0.6 * math.sin(0.23 * t + 1.0))
        self.torso.setSz(breath)
        self.neck.setHpr(self._yaw + shake, self._pitch + nod, 0.0)
        for arm, p, r in zip(self.arms, arm_p, arm_r, strict=True):
            arm.setHpr(0.0, p, r)
