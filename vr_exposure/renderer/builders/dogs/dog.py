"""A procedural dog: body, head, ears, tail and four legs with a real gait, and its body language.

The dog faces +Y of its root, its paws on the root's z = 0. Everything is built once in the
constructor; :meth:`Dog.set_build` rescales it (small terrier-like, medium spaniel-like, large
mastiff-like) and :meth:`Dog.update` animates it.

**Gait.** Each leg has a phase in the stride cycle; a foot is on the ground (stance) for the
``duty`` fraction of the cycle and swings forward for the rest. A walk is a four-beat lateral
sequence (left hind, left fore, right hind, right fore, a quarter cycle apart, duty 0.65: two or
three feet always down); a trot moves diagonal pairs together (left fore with right hind, half a
cycle from the other pair, duty 0.4). During stance the foot moves back under the hip exactly as
fast as the dog moves forward, so it stays put on the ground; a two-bone inverse kinematics puts
the paw there (elbows bend back, hocks forward).

**Body language** follows the canine ladder (:data:`~.contract.LADDER`): calm (loose wide wag,
relaxed ears, mouth open panting, looking around), alert (head and ears up, looking at the
patient), stiff and staring (tail high with a small fast flag, ears forward, mouth shut, weight
forward, fixed stare), growling (head lowered, ears back, lips parted, no wag), barking (head
snapping up, jaw opening with each bark).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from panda3d.core import NodePath, Vec3

from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer.blocks.materials import material, part
from vr_exposure.renderer.builders.dogs.contract import ladder_rung

__all__ = ["BUILDS", "GAITS", "Dog", "Gait"]

#: Leg names in the order of :attr:`Dog.legs`: left fore, right fore, left hind, right hind.
LEGS = ("LF", "RF", "LH", "RH")


class Gait:
    """A gait: the stride cycle's phase offset of each leg and the stance fraction."""

    def __init__(self, name: str, offsets: dict[str, float], duty: float) -> None:
        self.name = name
        self.offsets = offsets
        self.duty = duty


GAITS = {
    "walk": Gait("walk", {"LH": 0.0, "LF": 0.25, "RH": 0.5, "RF": 0.75}, 0.65),
    "trot": Gait("trot", {"LF": 0.0, "RH": 0.0, "RF": 0.5, "LH": 0.5}, 0.4),
}

#: Builds: overall scale, leg length factor, body girth factor, ear kind (pricked or floppy).
BUILDS: tuple[tuple[str, float, float, float, str], ...] = (
    ("terrier", 0.62, 0.85, 1.0, "pricked"),
    ("spaniel", 1.0, 1.0, 1.0, "floppy"),
    ("mastiff", 1.55, 1.05, 1.3, "floppy"),
)

COATS: tuple[Sequence[float], ...] = (
    (0.62, 0.45, 0.28),  # tan
    (0.12, 0.1, 0.09),  # black
    (0.38, 0.24, 0.14),  # brown
    (0.85, 0.82, 0.76),  # cream
    (0.72, 0.55, 0.3),  # golden
    (0.45, 0.44, 0.43),  # grey
)

UPPER_M = 0.17
LOWER_M = 0.17
HIP_Z = 0.29  # hip height of the medium build, standing (legs slightly bent)
HIP_X = 0.075
FORE_Y = 0.2
HIND_Y = -0.22


def _ik(y: float, z: float, a: float, b: float, knee_back: bool) -> tuple[float, float]:
    """Hip and knee pitch (degrees) that put a two-bone leg's foot at (y, z) below its hip."""
    d = min(math.hypot(y, z), a + b - 1e-4)
    alpha = math.atan2(y, -z)
    beta = math.acos(max(-1.0, min(1.0, (a * a + d * d - b * b) / (2 * a * d))))
    gamma = math.acos(max(-1.0, min(1.0, (a * a + b * b - d * d) / (2 * a * b))))
    if knee_back:
        return math.degrees(alpha - beta), math.degrees(math.pi - gamma)
    return math.degrees(alpha + beta), -math.degrees(math.pi - gamma)


def _approach(cur: float, want: float, rate: float, dt_s: float) -> float:
    return cur + (want - cur) * min(1.0, rate * dt_s)


class Dog:
    """One dog. ``root`` is placed and turned by its owner (a :class:`~..blocks.creatures.Walker`)."""

    def __init__(self, parent: NodePath, rng: np.random.Generator, name: str, stimulus_tag: str) -> None:
        self.root = parent.attachNewNode(name)
        self.root.setTag("stimulus", stimulus_tag)
        self.rng = rng
        coat = COATS[int(rng.integers(len(COATS)))]
        dark = tuple(c * 0.55 for c in coat)
        self.coat_m = material(coat, specular=0.12, shininess=12)
        dark_m = material(dark, specular=0.1)
        black = material((0.03, 0.03, 0.03), specular=0.6, shininess=60)
        pink = material((0.8, 0.35, 0.4), specular=0.3, shininess=30)
        self.scale_node = self.root.attachNewNode("scale")
        # The body pivots about the hind hips (sitting pitches it up, lying lowers it).
        self.body = self.scale_node.attachNewNode("body")
        self.body.setPos(0.0, HIND_Y, HIP_Z)
        torso = self.body.attachNewNode("torso")
        torso.setY(-HIND_Y)
        self.torso = torso
        self.chest = part(
            torso, proc.sphere("chest", 1.0, rings=8, segments=12), (0, 0.05, 0.05), mat=self.coat_m
        )
        self.chest.setScale(0.12, 0.3, 0.12)
        part(
            torso, proc.sphere("ribs", 1.0, rings=8, segments=12), (0, 0.16, 0.06), mat=self.coat_m
        ).setScale(0.13, 0.14, 0.14)
        # Neck and head.
        self.neck = torso.attachNewNode("neck")
        self.neck.setPos(0, 0.26, 0.1)
        n = part(self.neck, proc.cylinder("neck", 0.065, 0.16, segments=10, radius_end=0.05), mat=self.coat_m)
        n.setP(55)
        self.head = self.neck.attachNewNode("head")
        self.head.setPos(0, 0.1, 0.14)
        part(self.head, proc.sphere("skull", 1.0, rings=8, segments=12), mat=self.coat_m).setScale(
            0.075, 0.09, 0.075
        )
        snout = part(
            self.head,
            proc.cylinder("snout", 0.042, 0.11, segments=10, radius_end=0.034),
            (0, 0.05, -0.015),
            mat=dark_m,
        )
        snout.setP(-8)
        part(self.head, proc.sphere("nose", 0.02, rings=5, segments=8), (0, 0.165, -0.01), mat=black)
        for side in (-1, 1):
            part(
                self.head,
                proc.sphere("eye", 0.012, rings=5, segments=8),
                (side * 0.04, 0.07, 0.025),
                mat=black,
            )
        self.jaw = self.head.attachNewNode("jaw")
        self.jaw.setPos(0, 0.05, -0.045)
        part(self.jaw, proc.box("jaw", (0.055, 0.1, 0.018)), (0, 0.05, 0.0), mat=dark_m)
        self.tongue = part(self.jaw, proc.box("tongue", (0.035, 0.07, 0.006)), (0, 0.07, 0.012), mat=pink)
        self.mouth = self.head.attachNewNode("mouth")
        self.mouth.setPos(0, 0.16, -0.04)
        # Ears: pricked (a terrier's) and floppy (a spaniel's, a mastiff's); set_build shows one kind.
        self.ears: dict[str, list[NodePath]] = {"pricked": [], "floppy": []}
        for side in (-1, 1):
            e = self.head.attachNewNode("ear-pricked")
            e.setPos(side * 0.045, -0.02, 0.06)
            part(e, proc.box("ear", (0.04, 0.012, 0.07)), (0, 0, 0.035), mat=dark_m).setR(side * 12)
            self.ears["pricked"].append(e)
            f = self.head.attachNewNode("ear-floppy")
            f.setPos(side * 0.07, -0.01, 0.04)
            part(f, proc.box("ear", (0.014, 0.06, 0.11)), (side * 0.006, 0, -0.05), mat=dark_m)
            self.ears["floppy"].append(f)
        # Tail: three segments, each pivoting on the last.
        self.tail: list[NodePath] = []
        joint = torso.attachNewNode("tail")
        joint.setPos(0, -0.27, 0.08)
        for i in range(3):
            seg = joint.attachNewNode(f"tail-{i}")
            if i:
                seg.setY(-0.09)
            part(
                seg,
                proc.cylinder("tail", 0.022 - 0.005 * i, 0.09, segments=8, radius_end=0.018 - 0.005 * i),
                mat=self.coat_m,
            ).setH(180)
            self.tail.append(seg)
            joint = seg
        # Legs: hip, knee and paw nodes; the paw's world position is where the foot is.
        self.legs: dict[str, tuple[NodePath, NodePath, NodePath]] = {}
        self._bones: list[tuple[NodePath, NodePath, NodePath, NodePath]] = []
        for leg in LEGS:
            side = -1 if leg[0] == "L" else 1
            fore = leg[1] == "F"
            hip = self.body.attachNewNode(f"hip-{leg}")
            hip.setPos(side * HIP_X, FORE_Y - HIND_Y if fore else 0.0, 0.0)
            upper = part(
                hip,
                proc.cylinder("upper", 0.035 if fore else 0.045, UPPER_M, segments=8, radius_end=0.028),
                mat=self.coat_m,
            )
            upper.setP(-90)
            knee = hip.attachNewNode("knee")
            knee.setZ(-UPPER_M)
            lower = part(
                knee, proc.cylinder("lower", 0.026, LOWER_M, segments=8, radius_end=0.022), mat=self.coat_m
            )
            lower.setP(-90)
            paw = knee.attachNewNode("paw")
            paw.setZ(-LOWER_M)
            self._bones.append((upper, knee, lower, paw))
            part(paw, proc.sphere("paw", 1.0, rings=5, segments=8), (0, 0.012, 0.012), mat=dark_m).setScale(
                0.03, 0.042, 0.02
            )
            self.legs[leg] = (hip, knee, paw)
        # State.
        self.t_s = float(rng.uniform(0, 10))
        self.cycle = float(rng.uniform(0, 1))
        self.speed_m_s = 0.0
        self.gait = GAITS["walk"]
        self.posture = 2.0  # 0 lying, 1 sitting, 2 standing
        self.want_posture = 2.0
        self.arousal = 0.0
        self.leg_scale = 1.0
        self.girth = 1.0
        self.scale = 1.0
        self.look_target: Vec3 | None = None  # in the root's frame
        self.sniffing = False
        self.bark_until_s = -1.0
        self._bark_t = 0.0
        self._yaw = 0.0
        self._pitch = 0.0
        self._tail_p = 0.0
        self._ear_p = 0.0
        self._jaw_p = 0.0
        self._wander = float(rng.uniform(0, 6.28))
        self.set_build(1)

    # -- settings ------------------------------------------------------------------------------------
    def set_build(self, size: int) -> None:
        _, scale, legs, girth, ears = BUILDS[max(0, min(len(BUILDS) - 1, size))]
        self.scale, self.leg_scale, self.girth = scale, legs, girth
        self.scale_node.setScale(scale)
        self.torso.setScale(girth, 1.0, girth)
        for kind, nodes in self.ears.items():
            for e in nodes:
                if kind == ears:
                    e.show()
                else:
                    e.hide()
        # Bone lengths follow the build: each bone scales along its own axis only.
        for upper, knee, lower, paw in self._bones:
            upper.setSy(legs)
            knee.setZ(-UPPER_M * legs)
            lower.setSy(legs)
            paw.setZ(-LOWER_M * legs)

    def set_posture(self, posture: float) -> None:
        """0 lying, 1 sitting, 2 standing (walking and running stand)."""
        self.want_posture = max(0.0, min(2.0, posture))

    @property
    def rung(self) -> int:
        return ladder_rung(self.arousal)

    @property
    def hip_height_m(self) -> float:
        """The standing hip height in the dog's scaled frame (before the build's overall scale)."""
        return HIP_Z * self.leg_scale

    # -- animation -----------------------------------------------------------------------------------
    @property
    def reach_m(self) -> float:
        """How far a foot reaches ahead of or behind its hip on the ground (scaled frame)."""
        a_b = (UPPER_M + LOWER_M) * self.leg_scale * 0.98
        return math.sqrt(max(a_b * a_b - self.hip_height_m**2, 0.0))

    def stride_hz(self, speed_m_s: float) -> float:
        """Strides per second: faster with speed, and never so few that a stance outreaches a leg."""
        s = self.scale * self.leg_scale
        hz = 1.0 + 1.2 * speed_m_s / s if self.gait.name == "walk" else 1.6 + 0.6 * speed_m_s / s
        return max(hz, self.gait.duty * speed_m_s / self.scale / (2.0 * self.reach_m))

    def update(self, dt_s: float, speed_m_s: float) -> None:
        """Advance by ``dt_s``; ``speed_m_s`` is how fast the root moved forward this frame."""
        self.t_s += dt_s
        self.speed_m_s = speed_m_s
        s = self.scale * self.leg_scale
        if speed_m_s > 0.02:
            self.gait = GAITS["walk"] if speed_m_s < 1.2 * s else GAITS["trot"]
            self.cycle = (self.cycle + self.stride_hz(speed_m_s) * dt_s) % 1.0
        self.posture = _approach(self.posture, 2.0 if speed_m_s > 0.02 else self.want_posture, 3.0, dt_s)
        self._legs()
        self._behave(dt_s)

    def foot_targets(self) -> dict[str, tuple[float, float]]:
        """Each foot's (y, lift) relative to its hip's rest point, in the scaled frame (metres)."""
        v = self.speed_m_s / self.scale  # in the scaled frame
        hz = self.stride_hz(self.speed_m_s)
        duty = self.gait.duty
        stance = duty * v / hz if v > 0.0 else 0.0
        out = {}
        for leg in LEGS:
            ph = (self.cycle + self.gait.offsets[leg]) % 1.0
            if stance <= 0.0:
                out[leg] = (0.0, 0.0)
            elif ph < duty:
                out[leg] = (stance / 2 - ph / duty * stance, 0.0)
            else:
                u = (ph - duty) / (1.0 - duty)
                ease = 0.5 - 0.5 * math.cos(math.pi * u)
                out[leg] = (-stance / 2 + ease * stance, 0.06 * self.leg_scale * math.sin(math.pi * u))
        return out

    def in_stance(self, leg: str) -> bool:
        return self.speed_m_s > 0.02 and (self.cycle + self.gait.offsets[leg]) % 1.0 < self.gait.duty

    def _legs(self) -> None:
        p = self.posture
        sit = max(0.0, min(1.0, 2.0 - p))  # 1 when sitting or lying
        lie = max(0.0, min(1.0, 1.0 - p))  # 1 when lying
        h = self.hip_height_m
        # Body: standing level; sitting pitches up about the hind hips and lowers them; lying lowers all.
        a, b = UPPER_M * self.leg_scale, LOWER_M * self.leg_scale
        sit_pitch = math.degrees(
            math.asin(max(0.0, min(0.9, (0.96 * (a + b) - 0.38 * h) / (FORE_Y - HIND_Y))))
        )
        pitch = sit_pitch * sit * (1.0 - lie)
        body_z = h - 0.62 * h * sit - (0.38 * h - 0.08) * lie
        if self.rung == 2 and p > 1.9:
            pitch -= 4.0  # weight forward, stiff
        self.body.setZ(body_z)
        self.body.setP(pitch)
        targets = self.foot_targets()
        rad = math.radians(pitch)
        for leg, (hip, knee, _) in self.legs.items():
            fore = leg[1] == "F"
            y, lift = targets[leg]
            if fore:
                hip_z = body_z + (FORE_Y - HIND_Y) * math.sin(rad)
                depth = max(hip_z - lift, 0.05)
                ty, tz = y * math.cos(rad) - depth * math.sin(rad), -depth * math.cos(rad) - y * math.sin(rad)
                hp, kp = _ik(ty, tz, a, b, knee_back=True)
                # Lying: fore legs stretch forward along the ground.
                hp = hp * (1.0 - lie) + 80.0 * lie
                kp = kp * (1.0 - lie)
            else:
                depth = max(body_z - lift, 0.05)
                hp, kp = _ik(y, -depth, a, b, knee_back=False)
                folded_h, folded_k = 60.0 - pitch, -150.0
                hp = hp * (1.0 - sit) + folded_h * sit
                kp = kp * (1.0 - sit) + folded_k * sit
            hip.setP(hp)
            knee.setP(kp)

    def _behave(self, dt_s: float) -> None:
        t = self.t_s
        r = self.rung
        tail_p = (-25.0, 15.0, 55.0, 40.0, 40.0)[r]
        wag_deg, wag_hz = ((38.0, 3.0), (22.0, 2.6), (7.0, 4.5), (0.0, 1.0), (10.0, 3.0))[r]
        ear_p = (-18.0, 14.0, 20.0, -35.0, 8.0)[r]
        self._tail_p = _approach(self._tail_p, tail_p, 4.0, dt_s)
        self._ear_p = _approach(self._ear_p, ear_p, 6.0, dt_s)
        wag = wag_deg * math.sin(2 * math.pi * wag_hz * t)
        for i, seg in enumerate(self.tail):
            # The tail points back (-Y): a negative pitch raises it.
            seg.setHpr(wag * (0.5 + 0.4 * i), -(self._tail_p if i == 0 else 8.0 - 6.0 * (r >= 2)), 0.0)
        for e in self.ears["pricked"]:
            e.setHpr(0.0, -self._ear_p, 0.0)  # positive: pricked forward
        for side, f in zip((-1, 1), self.ears["floppy"], strict=True):
            f.setHpr(0.0, 0.3 * self._ear_p, side * (6.0 + 0.25 * self._ear_p))
        # Breathing and panting: calm and alert pant (mouth open, tongue out); stiff dogs hold still.
        panting = r <= 1 and not self.sniffing
        breath_hz = 3.0 if panting else (0.35 if r == 2 else 0.6)
        br = math.sin(2 * math.pi * breath_hz * t)
        self.chest.setScale(0.12 * (1 + 0.03 * br), 0.3, 0.12 * (1 + 0.04 * br))
        jaw = 0.0
        if panting:
            jaw = 14.0 + 4.0 * br
        elif r == 3:
            jaw = 6.0
        head_jerk = 0.0
        barking_now = t < self.bark_until_s  # the bark event: quicker, harder barks
        if r == 4 or barking_now:
            self._bark_t += dt_s
            ph = (self._bark_t * (2.2 if barking_now else 0.9)) % 1.0
            if ph < 0.18:
                k = math.sin(math.pi * ph / 0.18)
                jaw = max(jaw, 38.0 * k)
                head_jerk = (22.0 if barking_now else 14.0) * k
        if panting:
            self.tongue.show()
        else:
            self.tongue.hide()
        self._jaw_p = _approach(self._jaw_p, jaw, 18.0, dt_s)
        self.jaw.setP(-self._jaw_p)
        # Head: toward the patient from alert up, wandering when calm, down when sniffing or growling.
        yaw_want, pitch_want = 0.0, (-5.0, 12.0, 4.0, -12.0, 6.0)[r]
        if self.sniffing:
            pitch_want = -35.0 + 6.0 * math.sin(2 * math.pi * 5.0 * t)
        elif self.look_target is not None and (r >= 1 or math.sin(0.4 * t + self._wander) > 0.3):
            local = self.neck.getRelativePoint(self.root, self.look_target)
            yaw_want = max(-70.0, min(70.0, -math.degrees(math.atan2(local.x, local.y))))
            pitch_want += max(
                -30.0, min(30.0, math.degrees(math.atan2(local.z, math.hypot(local.x, local.y))))
            )
        else:
            yaw_want = 40.0 * math.sin(0.3 * t + self._wander)
        rate = 8.0 if r >= 2 else 3.0
        self._yaw = _approach(self._yaw, yaw_want, rate, dt_s)
        self._pitch = _approach(self._pitch, pitch_want, rate, dt_s)
        self.head.setHpr(self._yaw, self._pitch + head_jerk, 0.0)

    def paw_world(self, leg: str, frame: NodePath) -> Vec3:
        return self.legs[leg][2].getPos(frame)
