"""A procedural dog: body, head, ears, tail and four legs with a real gait, and its body language.

The dog faces +Y of its root, its paws on the root's z = 0. Everything is built once in the
constructor; :meth:`Dog.set_build` rescales it (small terrier-like, medium spaniel-like, large
mastiff-like) and :meth:`Dog.update` animates it.

**Gait.** Each leg has a phase in the stride cycle; a foot is on the ground (stance) for the
``duty`` fraction of the cycle and swings forward for the rest. A walk is a four-beat lateral
sequence (left hind, left fore, right hind, right fore, a quarter cycle apart, duty 0.65: two or
three feet always down); a trot moves diagonal pairs together (left fore with right hind, half a
cycle from the other pair, duty 0.4); a gallop is a dog's rotary gallop (left hind, right hind, right
fore, left fore, each pair's feet a tenth of a cycle apart, duty 0.3, then a fifth of the cycle with
no foot down: the suspension), with the back flexing and the body rising into the suspension.
During stance the foot moves back under the hip exactly as fast as the dog moves forward, so it
stays put on the ground; a two-bone inverse kinematics puts the paw there (elbows bend back, hocks
forward), taking the body's pitch and height into account.

**Rearing** (:meth:`Dog.rear_up`): the body pitches up about the hind hips, the hind feet stay where
they stand and the front legs reach forward, paws toward the patient, then it drops back.

**Cost.** :meth:`Dog.update` runs for every dog every frame, so it turns a joint only when it moves
(one ``setP``/``setHpr`` call; the tail swings from its root, its segments' curl set once per rung),
keeps build constants and the ladder rung cached, skips the legs while a lying or sitting dog holds
still, works out where the patient is from plain numbers the owner passes in (``look_target``, in
the root's frame) rather than a scene-graph lookup, which would make Panda3D recompute the dog's
transforms, and shows or hides the tongue only when that changes.

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

__all__ = ["BUILDS", "GAITS", "LEGS", "Dog", "Gait"]

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
    # Rotary gallop: hind pair, then the fore pair led from the same side as the second hind foot.
    "gallop": Gait("gallop", {"LH": 0.0, "RH": 0.1, "RF": 0.4, "LF": 0.5}, 0.3),
}
#: Speeds (in leg lengths of the medium build per second, i.e. m/s times 1/(scale*legs)) where the
#: dog changes up to a trot and to a gallop; it changes down 10 % lower (no flicker at the border).
TROT_FROM = 1.2
GALLOP_FROM = 2.8
#: How far the body pitches up about the hind hips when rearing (degrees).
REAR_PITCH_DEG = 58.0

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
        self._leg_table = [(leg, hip, knee, leg[1] == "F") for leg, (hip, knee, _) in self.legs.items()]
        # A collar with a tag at the base of the neck: the leash clips to it, the tag jingles.
        self.collar = self.neck.attachNewNode("collar")
        self.collar.setPos(0, 0.03, 0.04)
        ring = part(
            self.collar,
            proc.cylinder("collar", 0.07, 0.025, segments=12),
            mat=material((0.7, 0.12, 0.1), specular=0.3, shininess=30),
        )
        ring.setP(55)
        part(
            self.collar,
            proc.sphere("tag", 0.016, rings=4, segments=6),
            (0, 0.045, -0.06),
            mat=material((0.85, 0.75, 0.35), specular=0.9, shininess=80),
        ).setScale(1.0, 0.3, 1.0)
        # State.
        self.t_s = float(rng.uniform(0, 10))
        self.cycle = float(rng.uniform(0, 1))
        self.speed_m_s = 0.0
        self._hz = 1.0
        self.gait = GAITS["walk"]
        self.posture = 2.0  # 0 lying, 1 sitting, 2 standing
        self.want_posture = 2.0
        self._arousal = 0.0
        self._rung = 0
        self.leg_scale = 1.0
        self.girth = 1.0
        self.scale = 1.0
        #: Where the dog looks (the patient's eyes): a point (metres) in the root's frame.
        self.look_target: tuple[float, float, float] | None = None
        self.sniffing = False
        self.bark_until_s = -1.0
        self._bark_t = 0.0
        self._yaw = 0.0
        self._pitch = 0.0
        self._tail_p = 0.0
        self._ear_p = 0.0
        self._jaw_p = 0.0
        self._rear = 0.0  # 0 on all fours, 1 reared up
        self._rear_want = 0.0
        self._tongue_shown = True
        # What the joints were last set to: a joint that would not move is not touched.
        self._tail_hp = (math.nan, math.nan)
        self._curl_rung = -1
        self._ears_dirty = True
        self._head_hp = (1e9, 1e9)
        self._body_z = HIP_Z
        self._body_pitch_rad = 0.0
        self._legs_still = False  # the legs' pose is set and nothing moves them
        self._wander = float(rng.uniform(0, 6.28))
        self.build = ""
        self._ears_shown: list[NodePath] = []
        self._a = self._b = self._h = self._reach = self._sit_pitch = 0.0
        self.set_build(1)

    # -- settings ------------------------------------------------------------------------------------
    def set_build(self, size: int) -> None:
        kind, scale, legs, girth, ears = BUILDS[max(0, min(len(BUILDS) - 1, size))]
        if kind == self.build:
            return
        self.build = kind
        self.scale, self.leg_scale, self.girth = scale, legs, girth
        self.scale_node.setScale(scale)
        self.torso.setScale(girth, 1.0, girth)
        self._ears_shown = self.ears[ears]
        self._ears_dirty = True
        for kind_name, nodes in self.ears.items():
            for e in nodes:
                if kind_name == ears:
                    e.show()
                else:
                    e.hide()
        # Bone lengths follow the build: each bone scales along its own axis only.
        for upper, knee, lower, paw in self._bones:
            upper.setSy(legs)
            knee.setZ(-UPPER_M * legs)
            lower.setSy(legs)
            paw.setZ(-LOWER_M * legs)
        # Constants of the build, for the legs every frame.
        a, b = UPPER_M * legs, LOWER_M * legs
        h = HIP_Z * legs
        self._a, self._b, self._h = a, b, h
        self._reach = math.sqrt(max((0.98 * (a + b)) ** 2 - h * h, 0.0))
        self._sit_pitch = math.degrees(
            math.asin(max(0.0, min(0.9, (0.96 * (a + b) - 0.38 * h) / (FORE_Y - HIND_Y))))
        )
        self._legs_still = False

    def set_posture(self, posture: float) -> None:
        """0 lying, 1 sitting, 2 standing (walking and running stand)."""
        self.want_posture = max(0.0, min(2.0, posture))

    def rear_up(self, amount: float) -> None:
        """Rear up on the hind legs (``amount`` 0-1 of the full height), or drop back with 0."""
        self._rear_want = max(0.0, min(1.0, amount))

    @property
    def rearing(self) -> float:
        """How far the dog is reared up now, 0-1."""
        return self._rear

    @property
    def arousal(self) -> float:
        return self._arousal

    @arousal.setter
    def arousal(self, value: float) -> None:
        self._arousal = value
        self._rung = ladder_rung(value)

    @property
    def rung(self) -> int:
        return self._rung

    @property
    def hip_height_m(self) -> float:
        """The standing hip height in the dog's scaled frame (before the build's overall scale)."""
        return self._h

    # -- animation -----------------------------------------------------------------------------------
    @property
    def reach_m(self) -> float:
        """How far a foot reaches ahead of or behind its hip on the ground (scaled frame)."""
        return self._reach

    def stride_hz(self, speed_m_s: float) -> float:
        """Strides per second: faster with speed, and never so few that a stance outreaches a leg."""
        s = self.scale * self.leg_scale
        name = self.gait.name
        if name == "walk":
            hz = 1.0 + 1.2 * speed_m_s / s
        elif name == "trot":
            hz = 1.6 + 0.6 * speed_m_s / s
        else:
            hz = 1.9 + 0.25 * speed_m_s / s
        return max(hz, self.gait.duty * speed_m_s / self.scale / (2.0 * self._reach))

    def _choose_gait(self, speed_m_s: float) -> Gait:
        v = speed_m_s / (self.scale * self.leg_scale)
        name = self.gait.name
        if name == "walk":
            return GAITS["gallop"] if v >= GALLOP_FROM else GAITS["trot"] if v >= TROT_FROM else self.gait
        if name == "trot":
            if v >= GALLOP_FROM:
                return GAITS["gallop"]
            return GAITS["walk"] if v < 0.9 * TROT_FROM else self.gait
        if v < 0.9 * TROT_FROM:
            return GAITS["walk"]
        return GAITS["trot"] if v < 0.9 * GALLOP_FROM else self.gait

    def update(self, dt_s: float, speed_m_s: float) -> None:
        """Advance by ``dt_s``; ``speed_m_s`` is how fast the root moved forward this frame."""
        self.t_s += dt_s
        self.speed_m_s = speed_m_s
        moving = speed_m_s > 0.02
        if moving:
            self.gait = self._choose_gait(speed_m_s)
            self._hz = self.stride_hz(speed_m_s)
            self.cycle = (self.cycle + self._hz * dt_s) % 1.0
        want = 2.0 if moving or self._rear_want > 0.0 else self.want_posture
        rear = self._rear
        if abs(want - self.posture) > 1e-4 or moving or rear != self._rear_want:
            self.posture = _approach(self.posture, want, 3.0, dt_s)
            if rear != self._rear_want:
                rear = _approach(rear, self._rear_want, 7.0, dt_s)
                self._rear = self._rear_want if abs(rear - self._rear_want) < 1e-3 else rear
            self._legs_still = False
        if not self._legs_still:
            self._legs()
            # A dog lying or sitting still keeps its legs' pose until something moves them.
            self._legs_still = not moving and self._rear == 0.0 and abs(want - self.posture) <= 1e-4
        self._behave(dt_s)

    def _legs(self) -> None:
        p = self.posture
        sit = max(0.0, min(1.0, 2.0 - p))  # 1 when sitting or lying
        lie = max(0.0, min(1.0, 1.0 - p))  # 1 when lying
        rear = self._rear
        h, a, b = self._h, self._a, self._b
        # Body: standing level; sitting pitches up about the hind hips and lowers them; lying lowers
        # all; rearing pitches it far up, the hind legs straightening under it.
        pitch = self._sit_pitch * sit * (1.0 - lie) + REAR_PITCH_DEG * rear
        body_z = h - 0.62 * h * sit - (0.38 * h - 0.08) * lie + 0.06 * h * rear
        moving = self.speed_m_s > 0.02
        if moving and self.gait.name == "gallop":
            # The back flexes and the body rises into the suspension (cycle 0.8-1.0), lowest while
            # the feet are down; the nose dips as the fore feet land.
            c = 2.0 * math.pi * (self.cycle - 0.45)
            body_z -= 0.05 * h * math.cos(c)
            pitch += 4.0 * math.sin(c)
        elif self._rung == 2 and p > 1.9 and rear == 0.0:
            pitch -= 4.0  # weight forward, stiff
        self.body.setPosHpr(0.0, HIND_Y, body_z, 0.0, pitch, 0.0)
        self._body_z = body_z
        self._body_pitch_rad = math.radians(pitch)
        rad = self._body_pitch_rad
        cos_p, sin_p = math.cos(rad), math.sin(rad)
        span = FORE_Y - HIND_Y
        # Each foot's place in the stride: in stance it moves back under the hip as fast as the dog
        # moves on; in swing it comes forward, lifted.
        duty = self.gait.duty
        stance = duty * self.speed_m_s / self.scale / self._hz if moving else 0.0
        half = stance / 2.0
        lift_m = (0.09 if self.gait.name == "gallop" else 0.06) * self.leg_scale
        offsets = self.gait.offsets
        cycle = self.cycle
        aa_bb, two_a, two_ab, reach = a * a - b * b, 2.0 * a, 2.0 * a * b, a + b - 1e-4
        for leg, hip, knee, fore in self._leg_table:
            y = lift = 0.0
            if stance > 0.0:
                ph = (cycle - offsets[leg]) % 1.0
                if ph < duty:
                    y = half - ph / duty * stance
                else:
                    u = math.pi * (ph - duty) / (1.0 - duty)
                    y = -half + (0.5 - 0.5 * math.cos(u)) * stance
                    lift = lift_m * math.sin(u)
            # The foot's target relative to the hip in the world (up is +z), then in the body's frame.
            if fore:
                dy = y + span * (1.0 - cos_p)
                dz = lift - body_z - span * sin_p
            else:
                dy, dz = y, lift - body_z
            if dz > -0.05:
                dz = -0.05
            ty, tz = dy * cos_p + dz * sin_p, dz * cos_p - dy * sin_p
            # Two-bone inverse kinematics (law of cosines); elbows bend back, hocks forward.
            d = math.hypot(ty, tz)
            if d > reach:
                d = reach
            alpha = math.atan2(ty, -tz)
            cb = (aa_bb + d * d) / (two_a * d)
            cg = (a * a + b * b - d * d) / two_ab
            beta = math.acos(-1.0 if cb < -1.0 else 1.0 if cb > 1.0 else cb)
            bend = 180.0 - math.degrees(math.acos(-1.0 if cg < -1.0 else 1.0 if cg > 1.0 else cg))
            if fore:
                hp, kp = math.degrees(alpha - beta), bend
                # Lying: fore legs stretch forward along the ground; rearing: they reach forward
                # at the patient, paws a little raised.
                if lie > 0.0:
                    hp = hp * (1.0 - lie) + 80.0 * lie
                    kp = kp * (1.0 - lie)
                if rear > 0.0:
                    hp = hp * (1.0 - rear) + (62.0 - pitch) * rear
                    kp = kp * (1.0 - rear) + 35.0 * rear
            else:
                hp, kp = math.degrees(alpha + beta), -bend
                if sit > 0.0:
                    hp = hp * (1.0 - sit) + (60.0 - pitch) * sit
                    kp = kp * (1.0 - sit) - 150.0 * sit
            hip.setP(hp)
            knee.setP(kp)

    def _behave(self, dt_s: float) -> None:
        t = self.t_s
        r = self._rung
        wag_deg, wag_hz = _WAG[r]
        self._tail_p = tail_p = _approach(self._tail_p, _TAIL_P[r], 4.0, dt_s)
        ear_p = _approach(self._ear_p, _EAR_P[r], 6.0, dt_s)
        # The tail swings from its root; the segments' curl changes only with the rung.
        tail_hp = (wag_deg * math.sin(2 * math.pi * wag_hz * t), -tail_p)  # -Y points back: -P raises
        if tail_hp != self._tail_hp:
            self._tail_hp = tail_hp
            self.tail[0].setHpr(tail_hp[0], tail_hp[1], 0.0)
        if r != self._curl_rung:
            self._curl_rung = r
            curl = 8.0 - 6.0 * (r >= 2)
            self.tail[1].setHpr(0.0, -curl, 0.0)
            self.tail[2].setHpr(0.0, -curl, 0.0)
        if abs(ear_p - self._ear_p) > 0.02 or self._ears_dirty:
            self._ears_dirty = False
            ears = self._ears_shown
            if ears is self.ears["pricked"]:
                ears[0].setP(-ear_p)  # positive: pricked forward
                ears[1].setP(-ear_p)
            else:
                ears[0].setHpr(0.0, 0.3 * ear_p, -(6.0 + 0.25 * ear_p))
                ears[1].setHpr(0.0, 0.3 * ear_p, 6.0 + 0.25 * ear_p)
        self._ear_p = ear_p
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
        if panting != self._tongue_shown:
            self._tongue_shown = panting
            if panting:
                self.tongue.show()
            else:
                self.tongue.hide()
        jaw_p = _approach(self._jaw_p, jaw, 18.0, dt_s)
        if abs(jaw_p - self._jaw_p) > 0.02:
            self.jaw.setP(-jaw_p)
        self._jaw_p = jaw_p
        # Head: toward the patient from alert up, wandering when calm, down when sniffing or growling.
        yaw_want, pitch_want = 0.0, _HEAD_P[r]
        target = self.look_target
        if self.sniffing:
            pitch_want = -35.0 + 6.0 * math.sin(2 * math.pi * 5.0 * t)
        elif target is not None and (r >= 1 or math.sin(0.4 * t + self._wander) > 0.3):
            # From the neck (the body pitched about the hind hips) to the target, in the root's
            # frame; the head turns in the body's, so the body's pitch comes off the head's.
            s = self.scale
            c, sn = math.cos(self._body_pitch_rad), math.sin(self._body_pitch_rad)
            ny, nz = -HIND_Y + 0.26, 0.1 * self.girth
            lx = target[0]
            ly = target[1] - (HIND_Y + c * ny - sn * nz) * s
            lz = target[2] - (self._body_z + sn * ny + c * nz) * s
            yaw_want = max(-70.0, min(70.0, -math.degrees(math.atan2(lx, ly))))
            elevation = math.degrees(math.atan2(lz, math.hypot(lx, ly))) - math.degrees(self._body_pitch_rad)
            pitch_want += max(-30.0, min(30.0, elevation))
        else:
            yaw_want = 40.0 * math.sin(0.3 * t + self._wander)
        if self._rear > 0.0:
            pitch_want -= REAR_PITCH_DEG * self._rear * 0.6  # keep looking at the patient, not the sky
        rate = 8.0 if r >= 2 else 3.0
        self._yaw = _approach(self._yaw, yaw_want, rate, dt_s)
        self._pitch = _approach(self._pitch, pitch_want, rate, dt_s)
        head_hp = (self._yaw, self._pitch + head_jerk)
        if abs(head_hp[0] - self._head_hp[0]) > 0.02 or abs(head_hp[1] - self._head_hp[1]) > 0.02:
            self._head_hp = head_hp
            self.head.setHpr(head_hp[0], head_hp[1], 0.0)

    def paw_world(self, leg: str, frame: NodePath) -> Vec3:
        return self.legs[leg][2].getPos(frame)


# Per rung of the ladder: the tail's pitch, the wag (degrees, Hz), the ears' pitch, the head's pitch.
_TAIL_P = (-25.0, 15.0, 55.0, 40.0, 40.0)
_WAG = ((38.0, 3.0), (22.0, 2.6), (7.0, 4.5), (0.0, 1.0), (10.0, 3.0))
_EAR_P = (-18.0, 14.0, 20.0, -35.0, 8.0)
_HEAD_P = (-5.0, 12.0, 4.0, -12.0, 6.0)
