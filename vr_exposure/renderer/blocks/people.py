"""People: procedural figures (no downloaded model) that stand or sit, breathe and shift their
weight, turn their head toward the patient or away, and react: nod, look bored, whisper, cough,
yawn, frown with crossed arms, applaud, raise a hand, look at a phone.

A :class:`Figure` is a small rig of rigid, rounded parts (ellipsoids and tapered capsules written
with numpy, coloured per vertex so a part of several colours is still one Geom): hips and legs,
torso, head (skin, hair, eyes, brows, nose, mouth, ears), upper arms and forearms with hands. A
seated figure is seven draw calls and about 3,400 triangles (a standing one eight: its legs swing),
so an audience of forty is under three hundred draw calls and 140k triangles. Everything is built
in the constructor; :meth:`Figure.look_at`, :meth:`Figure.gesture`, :meth:`Figure.set_posture` and
:meth:`Figure.update` only turn nodes.

Faces, skin tones, hair (colour and style), clothes and body proportions come from the ``rng``
unless given; so do the rates and phases of breathing, swaying and every reaction's rhythm, so two
people never move in lockstep. Arms are posed by a two-bone reach (shoulder and elbow) toward a
hand target, so a hand goes to the mouth, to the other hand or above the head whatever the body.

Example (an audience member who looks at the speaker and nods)::

    from vr_exposure.renderer.blocks.people import Figure

    person = Figure(root, rng=rng, seated=True)            # colours and face from the rng
    person.root.setPos(1.0, 4.0, 0.0)
    person.root.setH(180)                                  # facing the patient
    person.root.setTag("stimulus", CONTRACT.stimulus_tag)  # the feared object, for gaze measures
    person.look_at(Vec3(0, 0, 1.2), root)                  # the patient's eyes, in root's frame
    person.set_posture(lean=0.5)                           # interested: leaning in
    person.gesture("nod", 1.0)
    person.update(dt_s)                                    # every frame

A crowd need not move every figure every frame: :class:`UpdateSchedule` updates each figure at a
rate that falls with its distance from the patient (:func:`update_interval_s`: 45 Hz near, 22 Hz
beyond 8 m, where one step of a head turning at full speed moves it by about a headset pixel), and
at half that rate while the figure is :attr:`Figure.settled` (only breathing and sway left, slow
enough that a step of them is a fraction of a pixel); the figures of one rate are spread over
different frames, and each update gets the whole time since the last one.

Gestures and reactions (:data:`GESTURES`): ``nod``, ``shake-head``, ``wave``, ``raise-hand``,
``lean-back``, ``look-away``, ``bored`` (looks away and slumps), ``phone`` (looks down at a phone in
the hand), ``whisper`` / ``listen`` (lean and turn toward a neighbour, ``side`` -1 left or +1 right),
``cough`` (hand to mouth), ``yawn``, ``frown`` (arms crossed, leaning back), ``applause``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from panda3d.core import (
    Geom,
    GeomNode,
    GeomTriangles,
    GeomVertexArrayFormat,
    GeomVertexData,
    GeomVertexFormat,
    InternalName,
    Mat3,
    NodePath,
    Quat,
    Vec3,
)

from vr_exposure.errors import SceneError
from vr_exposure.renderer.blocks.materials import material

__all__ = [
    "GESTURES",
    "HAIR_COLOURS",
    "SKIN_TONES",
    "Figure",
    "UpdateSchedule",
    "facing_share",
    "update_interval_s",
]

GESTURES = (
    "nod",
    "shake-head",
    "wave",
    "raise-hand",
    "lean-back",
    "look-away",
    "bored",
    "phone",
    "whisper",
    "listen",
    "cough",
    "yawn",
    "frown",
    "applause",
)
#: How far and how fast a head turns: people do not spin their heads.
MAX_NECK_YAW_DEG = 70.0
MAX_NECK_PITCH_DEG = 30.0
HEAD_TURN_DEG_S = 120.0

#: Skin tones from light to dark, hair colours, and clothes, picked by the rng.
SKIN_TONES = (
    (0.96, 0.80, 0.69),
    (0.90, 0.72, 0.60),
    (0.82, 0.62, 0.48),
    (0.70, 0.50, 0.36),
    (0.55, 0.38, 0.26),
    (0.40, 0.27, 0.18),
    (0.30, 0.20, 0.14),
)
HAIR_COLOURS = (
    (0.06, 0.05, 0.05),
    (0.16, 0.10, 0.07),
    (0.30, 0.19, 0.11),
    (0.55, 0.40, 0.22),
    (0.80, 0.66, 0.42),
    (0.55, 0.25, 0.12),
    (0.62, 0.62, 0.62),
)
_SHIRTS = (
    (0.22, 0.32, 0.55),
    (0.70, 0.22, 0.22),
    (0.88, 0.88, 0.85),
    (0.25, 0.42, 0.30),
    (0.45, 0.40, 0.38),
    (0.15, 0.15, 0.18),
    (0.60, 0.50, 0.30),
    (0.50, 0.30, 0.50),
    (0.30, 0.55, 0.65),
    (0.85, 0.60, 0.25),
)
_TROUSERS = ((0.15, 0.15, 0.2), (0.12, 0.18, 0.32), (0.3, 0.27, 0.22), (0.2, 0.2, 0.2), (0.4, 0.35, 0.28))
_SHOES = ((0.08, 0.06, 0.05), (0.25, 0.15, 0.08), (0.85, 0.85, 0.85))

# Body proportions at 1.72 m (scaled by height): joints in the parent part's frame.
_HIP_STAND = 0.88
_HIP_SEAT = 0.47
_SHOULDER_Z = 0.50  # above the hips
_NECK_Z = 0.56
_UPPER_ARM = 0.28
_FOREARM = 0.25
_HAND = 0.07  # elbow to the hand's centre is _FOREARM + _HAND

# ------------------------------------------------------------------------------------------- meshes

_FORMAT: GeomVertexFormat | None = None


def _format() -> GeomVertexFormat:
    """vertex (3 floats), normal (3), colour (4 floats): one interleaved float32 array."""
    global _FORMAT
    if _FORMAT is None:
        arr = GeomVertexArrayFormat()
        arr.addColumn(InternalName.getVertex(), 3, Geom.NT_float32, Geom.C_point)
        arr.addColumn(InternalName.getNormal(), 3, Geom.NT_float32, Geom.C_normal)
        arr.addColumn(InternalName.getColor(), 4, Geom.NT_float32, Geom.C_color)
        _FORMAT = GeomVertexFormat.registerFormat(GeomVertexFormat(arr))
    return _FORMAT


def _rot(h_deg: float, p_deg: float, r_deg: float) -> np.ndarray:
    """Panda3D's HPR as a matrix acting on column vectors."""
    h, p, r = (math.radians(a) for a in (h_deg, p_deg, r_deg))
    ch, sh, cp, sp, cr, sr = math.cos(h), math.sin(h), math.cos(p), math.sin(p), math.cos(r), math.sin(r)
    rz = np.array([[ch, -sh, 0], [sh, ch, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    ry = np.array([[cr, 0, sr], [0, 1, 0], [-sr, 0, cr]])
    return rz @ rx @ ry  # type: ignore[no-any-return]


class _Mesh:
    """Triangles gathered from rounded primitives, written into one Geom."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []  # (n, 10): xyz, normal, rgba
        self.index: list[np.ndarray] = []
        self.count = 0

    def _grid(
        self, pts: np.ndarray, nrm: np.ndarray, colour: Sequence[float], keep: np.ndarray | None
    ) -> None:
        """A (rings+1, segs+1) grid of points and normals, quads between neighbours; ``keep`` (rings,
        segs) drops cells (a hairline)."""
        rows, cols = pts.shape[0], pts.shape[1]
        rgba = np.broadcast_to(np.array([*colour[:3], 1.0], dtype=np.float32), (rows * cols, 4))
        block = np.concatenate([pts.reshape(-1, 3), nrm.reshape(-1, 3), rgba], axis=1).astype(np.float32)
        ids = np.arange(rows * cols).reshape(rows, cols) + self.count
        a, b = ids[:-1, :-1], ids[:-1, 1:]
        c, d = ids[1:, 1:], ids[1:, :-1]
        if keep is not None:
            a, b, c, d = a[keep], b[keep], c[keep], d[keep]
        tris = np.stack([a, d, c, a, c, b], axis=-1).reshape(-1, 3)
        self.parts.append(block)
        self.index.append(tris.astype(np.uint32))
        self.count += rows * cols

    def ellipsoid(
        self,
        centre: Sequence[float],
        radii: Sequence[float],
        colour: Sequence[float],
        *,
        rings: int = 8,
        segs: int = 12,
        hpr: Sequence[float] = (0.0, 0.0, 0.0),
        keep: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None,
    ) -> None:
        """``keep(x, y, z)`` (unit-sphere coordinates of a cell's centre) drops cells where False."""
        theta = np.linspace(0.0, math.pi, rings + 1)[:, None]
        phi = np.linspace(0.0, 2 * math.pi, segs + 1)[None, :]
        unit = np.stack(
            [np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta) * np.ones_like(phi)], -1
        )
        r = np.asarray(radii, dtype=np.float64)
        m = _rot(*hpr)
        pts = (unit * r) @ m.T + np.asarray(centre)
        nrm = (unit / r) @ m.T
        nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
        mask = None
        if keep is not None:
            tc = (theta[:-1] + theta[1:]) / 2
            pc = (phi[:, :-1] + phi[:, 1:]) / 2
            mask = keep(np.sin(tc) * np.cos(pc), np.sin(tc) * np.sin(pc), np.cos(tc) * np.ones_like(pc))
        # Winding: the grid runs from the top pole down, round +Z counter-clockwise.
        self._grid(pts, nrm, colour, mask)

    def capsule(
        self,
        a: Sequence[float],
        b: Sequence[float],
        r_a: float,
        r_b: float,
        colour: Sequence[float],
        *,
        segs: int = 10,
        cap_rings: int = 3,
        flat: float = 1.0,
    ) -> None:
        """A tapered capsule from ``a`` to ``b`` (radii ``r_a``, ``r_b``), rounded at both ends;
        ``flat`` < 1 squashes its cross-section (a hand, a torso)."""
        pa, pb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        axis = pb - pa
        length = float(np.linalg.norm(axis))
        w = axis / length
        helper = np.array([1.0, 0.0, 0.0]) if abs(w[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        u = np.cross(w, helper)
        u /= np.linalg.norm(u)
        v = np.cross(w, u)
        # Profile from the far end round to the near end: (along, radius, normal along, normal out).
        prof = []
        for k in range(cap_rings + 1):
            ang = math.pi / 2 * (1 - k / cap_rings)
            prof.append((length + r_b * math.sin(ang), r_b * math.cos(ang), math.sin(ang), math.cos(ang)))
        for k in range(cap_rings + 1):
            ang = -math.pi / 2 * k / cap_rings
            prof.append((r_a * math.sin(ang), r_a * math.cos(ang), math.sin(ang), math.cos(ang)))
        p = np.array(prof)
        phi = np.linspace(0.0, 2 * math.pi, segs + 1)
        cu, cv = np.cos(phi)[None, :], np.sin(phi)[None, :] * flat
        along, rad, n_al, n_out = (p[:, i : i + 1] for i in range(4))
        pts = pa + (along[..., None] * w) + rad[..., None] * (cu[..., None] * u + cv[..., None] * v)
        nrm = n_al[..., None] * w + n_out[..., None] * (cu[..., None] * u + (cv / flat**2)[..., None] * v)
        nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
        self._grid(pts, nrm, colour, None)

    def lathe(
        self,
        profile: Sequence[tuple[float, float]],
        colour: Sequence[float],
        *,
        segs: int = 14,
        depth: float = 0.6,
    ) -> None:
        """A body of revolution round +Z through ``profile`` (z, radius) from top to bottom, its
        cross-section ``depth`` times as deep (along Y) as wide."""
        p = np.asarray(profile, dtype=np.float64)
        z, r = p[:, 0:1], p[:, 1:2]
        dz = np.gradient(p[:, 0])[:, None]
        dr = np.gradient(p[:, 1])[:, None]
        phi = np.linspace(0.0, 2 * math.pi, segs + 1)[None, :]
        c, s = np.cos(phi), np.sin(phi)
        pts = np.stack([r * c, r * s * depth, z * np.ones_like(phi)], -1)
        # Outward normal of the profile (radial, axial) is (dz, -dr) up to sign.
        nr, nz = -dz, dr
        norm = np.hypot(nr, nz)
        nr, nz = nr / norm, nz / norm
        nrm = np.stack([nr * c, nr * s / depth, nz * np.ones_like(phi)], -1)
        nrm /= np.linalg.norm(nrm, axis=-1, keepdims=True)
        self._grid(pts, nrm, colour, None)

    def node(self, name: str) -> GeomNode:
        vdata = GeomVertexData(name, _format(), Geom.UH_static)
        verts = np.concatenate(self.parts).astype(np.float32)
        vdata.uncleanSetNumRows(len(verts))
        memoryview(vdata.modifyArray(0)).cast("B")[:] = verts.tobytes()
        tris = GeomTriangles(Geom.UH_static)
        tris.setIndexType(Geom.NT_uint32)
        idx = np.concatenate(self.index).astype(np.uint32).ravel()
        handle = tris.modifyVertices()
        handle.uncleanSetNumRows(len(idx))
        memoryview(handle).cast("B")[:] = idx.tobytes()
        geom = Geom(vdata)
        geom.addPrimitive(tris)
        node = GeomNode(name)
        node.addGeom(geom)
        return node


def _shade(c: Sequence[float], k: float) -> tuple[float, float, float]:
    return (min(c[0] * k, 1.0), min(c[1] * k, 1.0), min(c[2] * k, 1.0))


def _pick(rng: np.random.Generator, options: Sequence[Sequence[float]]) -> tuple[float, float, float]:
    c = options[int(rng.integers(len(options)))]
    return (float(c[0]), float(c[1]), float(c[2]))


# ------------------------------------------------------------------------------------------- figure


def _smooth(f: float) -> float:
    f = min(max(f, 0.0), 1.0)
    return f * f * (3.0 - 2.0 * f)


class Figure:
    """A person ``height_m`` tall, standing or ``seated`` (on a seat 0.45 m high), facing +Y of its
    root. Colours not given are drawn from ``rng``, as are the face, hair style and rhythms."""

    def __init__(
        self,
        parent: NodePath,
        *,
        rng: np.random.Generator,
        height_m: float = 1.72,
        seated: bool = False,
        shirt: Sequence[float] | None = None,
        trousers: Sequence[float] | None = None,
        skin: Sequence[float] | None = None,
        hair: Sequence[float] | None = None,
        name: str = "person",
    ) -> None:
        s = height_m / 1.72
        self.scale = s
        self.root = parent.attachNewNode(name)
        self.seated = seated
        shirt_c = tuple(shirt[:3]) if shirt is not None else _pick(rng, _SHIRTS)
        trousers_c = tuple(trousers[:3]) if trousers is not None else _pick(rng, _TROUSERS)
        skin_c = tuple(skin[:3]) if skin is not None else _pick(rng, SKIN_TONES)
        hair_c = tuple(hair[:3]) if hair is not None else _pick(rng, HAIR_COLOURS)
        shoe_c = _pick(rng, _SHOES)
        self.colours = {"shirt": shirt_c, "trousers": trousers_c, "skin": skin_c, "hair": hair_c}
        short_sleeves = bool(rng.random() < 0.3)
        hair_style = int(rng.integers(4))  # 0 short, 1 long, 2 very short, 3 bun
        build = float(rng.uniform(0.9, 1.12))  # shoulder width
        hips = float(rng.uniform(0.92, 1.1))
        cloth = material((1.0, 1.0, 1.0), specular=0.08, shininess=12)
        self._mat = cloth
        hip_z = (_HIP_SEAT if seated else _HIP_STAND) * s
        self.hip_z = hip_z

        self.body = self.root.attachNewNode("body")
        self.body.setMaterial(cloth, 1)
        # Legs: each on a hip pivot when standing (they swing to walk); merged when seated.
        self.legs: list[NodePath] = []
        if seated:
            legs_np = self.body.attachNewNode("legs")
            mesh = _Mesh()
            for side in (-1, 1):
                x = side * 0.095 * s * hips
                knee = (x, 0.44 * s, hip_z)
                mesh.capsule((x, 0.0, hip_z), knee, 0.085 * s, 0.06 * s, trousers_c)
                foot = (x, 0.5 * s, 0.07 * s)
                mesh.capsule(knee, foot, 0.055 * s, 0.042 * s, trousers_c)
                mesh.ellipsoid(
                    (x, 0.55 * s, 0.04 * s), (0.05 * s, 0.12 * s, 0.045 * s), shoe_c, rings=5, segs=8
                )
            legs_np.attachNewNode(mesh.node("legs-mesh"))
        else:
            for side in (-1, 1):
                pivot = self.body.attachNewNode("leg-" + ("left" if side < 0 else "right"))
                pivot.setPos(side * 0.095 * s * hips, 0.0, hip_z)
                mesh = _Mesh()
                knee_z = -0.45 * s
                mesh.capsule((0, 0, 0), (0, 0.01 * s, knee_z), 0.085 * s, 0.06 * s, trousers_c)
                mesh.capsule(
                    (0, 0.01 * s, knee_z), (0, 0, -hip_z + 0.08 * s), 0.055 * s, 0.042 * s, trousers_c
                )
                mesh.ellipsoid(
                    (0, 0.05 * s, -hip_z + 0.04 * s), (0.05 * s, 0.12 * s, 0.045 * s), shoe_c, rings=5, segs=8
                )
                pivot.attachNewNode(mesh.node("leg-mesh"))
                self.legs.append(pivot)

        # Leaning and breathing turn and scale this pivot at the hips; the head and arms ride on it.
        self.torso = self.body.attachNewNode("torso")
        self.torso.setZ(hip_z)
        sw = 0.19 * s * build
        mesh = _Mesh()
        mesh.lathe(
            [
                (_NECK_Z * s, 0.05 * s),
                (0.545 * s, 0.09 * s),
                (0.52 * s, sw * 0.93),
                (0.47 * s, sw),
                (0.36 * s, sw * 0.9),
                (0.22 * s, 0.15 * s),
                (0.10 * s, 0.16 * s * hips),
                (0.0, 0.17 * s * hips),
                (-0.06 * s, 0.14 * s * hips),
                (-0.09 * s, 0.0),
            ],
            shirt_c,
            depth=0.62,
        )
        # The waistband and the hips are the trousers' colour.
        mesh.lathe(
            [
                (0.06 * s, 0.163 * s * hips),
                (0.0, 0.172 * s * hips),
                (-0.06 * s, 0.142 * s * hips),
                (-0.09 * s, 0.0),
            ],
            trousers_c,
            depth=0.63,
        )
        # A collar in a darker shade of the shirt.
        mesh.capsule((0, -0.005 * s, 0.53 * s), (0, 0.0, 0.56 * s), 0.06 * s, 0.055 * s, _shade(shirt_c, 0.8))
        self.torso.attachNewNode(mesh.node("torso-mesh"))
        self.neck = self.torso.attachNewNode("neck")
        self.neck.setZ(_NECK_Z * s)
        self.neck.attachNewNode(self._head_mesh(s, skin_c, hair_c, hair_style, rng))

        # Arms: each shoulder turns the whole arm; the elbow bends the forearm and hand.
        self.arms: list[NodePath] = []
        self.elbows: list[NodePath] = []
        self._shoulder_pos: list[Vec3] = []
        sleeve = shirt_c
        for side in (-1, 1):
            shoulder = self.torso.attachNewNode("arm-" + ("left" if side < 0 else "right"))
            pos = Vec3(side * (sw + 0.035 * s), 0.0, _SHOULDER_Z * s)
            shoulder.setPos(pos)
            mesh = _Mesh()
            # The capsule's rounded top is the shoulder; no two surfaces meet at the same radius
            # anywhere (they would flicker through each other).
            mesh.capsule((0, 0, 0), (0, 0, -_UPPER_ARM * s), 0.05 * s, 0.041 * s, sleeve)
            shoulder.attachNewNode(mesh.node("upper-arm-mesh"))
            elbow = shoulder.attachNewNode("elbow")
            elbow.setZ(-_UPPER_ARM * s)
            mesh = _Mesh()
            fore_c = skin_c if short_sleeves else sleeve
            if short_sleeves:
                mesh.capsule((0, 0, 0), (0, 0, -_FOREARM * s), 0.036 * s, 0.027 * s, skin_c)
            else:
                mesh.capsule((0, 0, 0), (0, 0, -_FOREARM * s * 0.86), 0.037 * s, 0.032 * s, fore_c)
                mesh.capsule((0, 0, -_FOREARM * s * 0.8), (0, 0, -_FOREARM * s), 0.026 * s, 0.025 * s, skin_c)
            mesh.capsule(
                (0, 0, -(_FOREARM + 0.015) * s),
                (0, 0.005 * s, -(_FOREARM + _HAND + 0.02) * s),
                0.033 * s,
                0.027 * s,
                skin_c,
                segs=8,
                cap_rings=2,
                flat=0.5,
            )
            elbow.attachNewNode(mesh.node("forearm-mesh"))
            self.arms.append(shoulder)
            self.elbows.append(elbow)
            self._shoulder_pos.append(pos)
        # A phone in the right hand, shown only while looking at it.
        self.phone = self.elbows[1].attachNewNode("phone")
        mesh = _Mesh()
        mesh.capsule(
            (0, 0, 0),
            (0, 0, -0.13 * s),
            0.035 * s,
            0.035 * s,
            (0.05, 0.05, 0.06),
            segs=4,
            cap_rings=1,
            flat=0.2,
        )
        mesh.capsule(
            (0, 0.004, -0.01 * s),
            (0, 0.004, -0.12 * s),
            0.028 * s,
            0.028 * s,
            (0.55, 0.7, 0.95),
            segs=4,
            cap_rings=1,
            flat=0.25,
        )
        self.phone.attachNewNode(mesh.node("phone-mesh"))
        self.phone.setPos(0.0, 0.04 * s, -(_FOREARM + 0.02) * s)
        self.phone.setHpr(0.0, -60.0, 0.0)
        self.phone.hide()

        # Rhythms: every person breathes, sways and claps at their own rate and phase.
        self.t_s = float(rng.uniform(0, 100))
        self._breath_hz = float(rng.uniform(0.2, 0.32))
        self._sway = [(float(rng.uniform(0.05, 0.17)), float(rng.uniform(0, 6.3))) for _ in range(6)]
        self._clap_hz = float(rng.uniform(2.6, 4.2))
        self._nod_hz = float(rng.uniform(1.6, 2.4))
        self._away = (
            float(rng.choice([-1.0, 1.0])) * float(rng.uniform(35, 60)),
            float(rng.uniform(-20, -5)),
        )
        self._yaw = 0.0
        self._pitch = 0.0
        self._want = (0.0, 0.0)
        self._gesture: str | None = None
        self._gesture_t = 0.0
        self._gesture_s = 1.0
        self._side = 1.0
        self._lean = 0.0
        self._slump = 0.0
        self._cross = 0.0
        self._hand_up = 0.0
        self._walk_hz = 0.0
        self._walk_phase = 0.0
        self._arm_key: list[tuple[float, ...] | None] = [None, None]
        self._rest = [self._rest_hand(side) for side in (-1, 1)]
        self._rest_arm_p = 20.0 if seated else 0.0  # kept for callers of the former rig
        self.update(0.0)

    def _head_mesh(
        self, s: float, skin: Sequence[float], hair: Sequence[float], style: int, rng: np.random.Generator
    ) -> GeomNode:
        """The head in the neck's frame (z up from the base of the neck, facing +Y)."""
        m = _Mesh()
        cz = 0.13 * s
        width = float(rng.uniform(0.94, 1.06))
        rx, ry, rz = 0.078 * s * width, 0.095 * s, 0.108 * s
        m.capsule((0, -0.01 * s, -0.03 * s), (0, 0.0, 0.07 * s), 0.048 * s, 0.045 * s, skin, segs=10)
        m.ellipsoid((0, 0, cz), (rx, ry, rz), skin, rings=10, segs=16)
        # Jaw and chin, a little forward and down.
        m.ellipsoid((0, 0.014 * s, cz - 0.045 * s), (rx * 0.74, ry * 0.74, rz * 0.5), skin, rings=6, segs=12)
        # Ears.
        for side in (-1, 1):
            m.ellipsoid(
                (side * rx * 0.98, -0.005 * s, cz),
                (0.014 * s, 0.022 * s, 0.03 * s),
                _shade(skin, 0.92),
                rings=4,
                segs=8,
            )
        # Eyes: white, a dark iris, and brows in the hair's colour.
        iris = _pick(rng, ((0.2, 0.12, 0.06), (0.12, 0.22, 0.35), (0.2, 0.28, 0.15), (0.08, 0.06, 0.05)))
        eye_z = cz + 0.012 * s
        for side in (-1, 1):
            ex = side * 0.031 * s * width
            m.ellipsoid(
                (ex, ry * 0.86, eye_z),
                (0.015 * s, 0.009 * s, 0.0105 * s),
                (0.95, 0.94, 0.92),
                rings=5,
                segs=8,
            )
            m.ellipsoid(
                (ex, ry * 0.86 + 0.007 * s, eye_z), (0.0075 * s, 0.004 * s, 0.0075 * s), iris, rings=4, segs=8
            )
            m.ellipsoid(
                (ex, ry * 0.93, eye_z + 0.022 * s),
                (0.018 * s, 0.005 * s, 0.0045 * s),
                _shade(hair, 0.8),
                rings=3,
                segs=6,
                hpr=(0, 0, -side * 8.0),
            )
        # Nose and mouth.
        m.ellipsoid(
            (0, ry * 1.0, cz - 0.012 * s),
            (0.012 * s, 0.02 * s, 0.024 * s),
            _shade(skin, 0.97),
            rings=5,
            segs=8,
            hpr=(0, 15, 0),
        )
        lips = (skin[0] * 0.75, skin[1] * 0.45, skin[2] * 0.45)
        m.ellipsoid((0, ry * 0.93, cz - 0.048 * s), (0.022 * s, 0.006 * s, 0.006 * s), lips, rings=3, segs=8)
        # Hair: a cap over the skull that leaves the face and ears bare.
        hr = (rx * 1.08, ry * 1.06, rz * 1.04)
        hc = (0, -0.006 * s, cz + 0.008 * s)
        if style == 2:  # cropped: close to the skull
            hr = (rx * 1.03, ry * 1.02, rz * 1.02)

        def cap(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
            low = -0.05 if style != 1 else -0.55
            face = (y > 0.25) & (z < 0.55)
            nape = (y < -0.3) & (z > -0.93)  # the back of the head down to the nape
            keep: np.ndarray = ((z > low) | nape) & ~face & ~((np.abs(x) > 0.85) & (z < 0.25) & (y > -0.3))
            return keep

        m.ellipsoid(hc, hr, hair, rings=10, segs=16, keep=cap)
        if style == 1:  # long: down the back to the shoulders
            m.capsule(
                (0, -0.05 * s, cz - 0.02 * s),
                (0, -0.06 * s, cz - 0.17 * s),
                0.075 * s,
                0.06 * s,
                hair,
                flat=0.7,
            )
        elif style == 3:  # a bun at the back
            m.ellipsoid((0, -0.09 * s, cz + 0.05 * s), (0.04 * s, 0.04 * s, 0.04 * s), hair, rings=5, segs=8)
        return m.node("head")

    def _rest_hand(self, side: int) -> Vec3:
        """Where a hand rests, in the torso's frame: on the thigh when seated, hanging otherwise."""
        s = self.scale
        if self.seated:
            return Vec3(side * 0.14 * s, 0.32 * s, 0.04 * s)
        return Vec3(side * 0.25 * s, 0.04 * s, _SHOULDER_Z * s - 0.56 * s)

    # -- gaze ---------------------------------------------------------------------------------------
    def look_at(self, point: Vec3, frame: NodePath) -> None:
        """Turn the head toward ``point`` (in ``frame``'s coordinates) over the next frames, within
        what a neck does (:data:`MAX_NECK_YAW_DEG`, :data:`MAX_NECK_PITCH_DEG`)."""
        local = self.neck.getParent().getRelativePoint(frame, point) - self.neck.getPos()
        local.z -= 0.13 * self.scale  # from the eyes, not the base of the neck
        yaw = -math.degrees(math.atan2(local.x, local.y))
        pitch = math.degrees(math.atan2(local.z, math.hypot(local.x, local.y)))
        self._want = (
            max(-MAX_NECK_YAW_DEG, min(MAX_NECK_YAW_DEG, yaw)),
            max(-MAX_NECK_PITCH_DEG, min(MAX_NECK_PITCH_DEG, pitch)),
        )

    def look_ahead(self) -> None:
        self._want = (0.0, 0.0)

    def look_away(self, yaw_deg: float | None = None, pitch_deg: float | None = None) -> None:
        """Turn the head away from straight ahead: by the given angles, or to this person's own
        habitual side (down at their notes or out of the window)."""
        yaw = self._away[0] if yaw_deg is None else yaw_deg
        pitch = self._away[1] if pitch_deg is None else pitch_deg
        self._want = (
            max(-MAX_NECK_YAW_DEG, min(MAX_NECK_YAW_DEG, yaw)),
            max(-MAX_NECK_PITCH_DEG, min(MAX_NECK_PITCH_DEG, pitch)),
        )

    @property
    def head_hpr(self) -> tuple[float, float]:
        return self._yaw, self._pitch

    # -- posture ------------------------------------------------------------------------------------
    def set_posture(
        self, *, lean: float = 0.0, slump: float = 0.0, cross_arms: float = 0.0, hand_up: float = 0.0
    ) -> None:
        """The resting posture: ``lean`` -1 (back) to 1 (leaning in, interested), ``slump`` 0-1
        (sunk in the chair, bored), ``cross_arms`` 0-1 (arms folded, closed), ``hand_up`` 0-1 (the
        right hand raised, waiting to ask)."""
        self._hand_up = min(max(hand_up, 0.0), 1.0)
        self._lean = min(max(lean, -1.0), 1.0)
        self._slump = min(max(slump, 0.0), 1.0)
        self._cross = min(max(cross_arms, 0.0), 1.0)

    def walk(self, speed_m_s: float) -> None:
        """Swing the legs and arms as if walking at ``speed_m_s`` (0 stops); the caller moves the
        root. Standing figures only (a seated figure's legs do not swing)."""
        self._walk_hz = speed_m_s / (0.75 * self.scale) if self.legs else 0.0

    # -- gestures -----------------------------------------------------------------------------------
    def gesture(self, name: str, duration_s: float = 1.5, *, side: float = 1.0) -> None:
        """Start a gesture or reaction (:data:`GESTURES`) lasting ``duration_s``; ``side`` (-1 left,
        1 right) is where the neighbour is for ``whisper`` and ``listen``."""
        if name not in GESTURES:
            raise SceneError(f"no gesture {name!r} (known: {', '.join(GESTURES)})")
        self._gesture, self._gesture_t, self._gesture_s = name, 0.0, max(duration_s, 0.2)
        self._side = 1.0 if side >= 0 else -1.0

    @property
    def gesturing(self) -> str | None:
        return self._gesture

    @property
    def settled(self) -> bool:
        """Nothing but idle motion (breathing, sway) left to show: no gesture, not walking, the head
        where it wants to look (within half a degree)."""
        if self._gesture is not None or self._walk_hz > 0.0:
            return False
        want_yaw, want_pitch = self._want
        if self._cross > 0.0:
            want_pitch -= 6.0 * self._cross
        return abs(want_yaw - self._yaw) < 0.5 and abs(want_pitch - self._pitch) < 0.5

    def stop_gesture(self) -> None:
        self._gesture = None

    # -- animation ----------------------------------------------------------------------------------
    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        t = self.t_s
        s = self.scale
        sway = self._sway
        g = self._gesture
        env = f = 0.0
        if g is not None:
            self._gesture_t += dt_s
            f = self._gesture_t / self._gesture_s
            if f >= 1.0:
                self._gesture = g = None
                self.phone.hide()
            else:
                ramp = min(0.35 / self._gesture_s, 0.5)
                env = _smooth(f / ramp) * _smooth((1.0 - f) / ramp)
        # Head: toward where it wants to look, eased, never faster than a neck turns.
        want_yaw, want_pitch = self._want
        nod = shake = roll = 0.0
        t_p = -6.0 * self._lean + 10.0 * self._slump + 6.0 * self._cross  # torso pitch (+: back)
        t_h = t_r = 0.0
        drop = -0.06 * s * self._slump if self.seated else 0.0
        hands: list[Vec3 | None] = [None, None]
        if self._cross > 0.0:
            hands = [self._crossed(-1, self._cross), self._crossed(1, self._cross)]
            want_pitch -= 6.0 * self._cross
        if self._hand_up > 0.0:
            hands[1] = self._blend(1, self._hand_raised(), self._hand_up)
        side = self._side
        if g is not None:
            if g == "nod":
                nod = -10.0 * math.sin(2 * math.pi * self._nod_hz * self._gesture_t) * env
            elif g == "shake-head":
                shake = 18.0 * math.sin(2 * math.pi * 2.0 * f * self._gesture_s / 1.0) * env
            elif g in ("wave", "raise-hand"):
                up = self._hand_raised()
                if g == "wave":
                    up.x += 0.1 * s * math.sin(2 * math.pi * 2.5 * self._gesture_t)
                hands[1] = self._blend(1, up, env)
            elif g == "lean-back":
                t_p += 12.0 * env
            elif g in ("look-away", "bored"):
                want_yaw += (self._away[0] - want_yaw) * env
                want_pitch += (self._away[1] - want_pitch) * env
                if g == "bored":
                    t_p += 10.0 * env
                    drop -= 0.05 * s * env if self.seated else 0.0
            elif g == "phone":
                want_yaw += (-8.0 - want_yaw) * env
                want_pitch += (-MAX_NECK_PITCH_DEG - want_pitch) * env
                t_p -= 6.0 * env
                hands[1] = self._blend(1, Vec3(0.06 * s, 0.3 * s, 0.3 * s), env)
                if env > 0.5:
                    self.phone.show()
                else:
                    self.phone.hide()
            elif g in ("whisper", "listen"):
                want_yaw += (side * -60.0 - want_yaw) * env
                want_pitch += (-5.0 - want_pitch) * env
                t_r += side * 9.0 * env
                t_h -= side * 12.0 * env
                t_p -= 4.0 * env
                if g == "whisper":
                    k = 0 if side < 0 else 1
                    hands[k] = self._blend(k, self._mouth(side * 0.05 * s, 0.02 * s), env)
            elif g == "cough":
                beat = self._gesture_t * 2.5
                jerk = max(0.0, math.sin(2 * math.pi * beat)) ** 4 * env if 0.2 < f < 0.85 else 0.0
                want_pitch += (-8.0 - want_pitch) * env
                nod -= 10.0 * jerk
                t_p -= 9.0 * jerk + 3.0 * env
                hands[1] = self._blend(1, self._mouth(0.0, 0.045 * s), env)
            elif g == "yawn":
                want_pitch += (22.0 - want_pitch) * env
                want_yaw *= 1.0 - env
                t_p += 8.0 * env
                hands[0] = self._blend(0, self._mouth(0.0, 0.04 * s), env)
            elif g == "frown":
                hands = [self._crossed(-1, env), self._crossed(1, env)]
                t_p += 7.0 * env
                want_pitch -= 6.0 * env
                roll = 6.0 * env
            elif g == "applause":
                open_m = 0.045 * s * (1.0 + math.cos(2 * math.pi * self._clap_hz * self._gesture_t))
                chest = _SHOULDER_Z * s - 0.12 * s
                for k, sd in enumerate((-1, 1)):
                    hands[k] = self._blend(k, Vec3(sd * (0.015 * s + open_m), 0.3 * s, chest), env)
                want_pitch += 4.0 * env
        step = HEAD_TURN_DEG_S * dt_s
        ease = min(1.0, 5.0 * dt_s)
        self._yaw += max(-step, min(step, (want_yaw - self._yaw) * ease))
        self._pitch += max(-step, min(step, (want_pitch - self._pitch) * ease))
        if dt_s == 0.0:
            self._yaw, self._pitch = want_yaw, want_pitch
        # Idle: breathing, swaying of the trunk, small movements of the head, all at own rates.
        w = [math.sin(2 * math.pi * hz * t + ph) for hz, ph in sway]
        breath = 1.0 + 0.012 * math.sin(2 * math.pi * self._breath_hz * t)
        if self.legs:
            # Standing: the weight shifts from foot to foot (the hips roll, the trunk rights itself).
            shift = w[0]
            self.body.setR(1.5 * shift)
            torso_hpr = (t_h + 1.5 * w[1], t_p + 0.8 * w[2], t_r - 2.5 * shift)
            torso_z = self.hip_z
            if self._walk_hz > 0.0:
                self._walk_phase += 2 * math.pi * self._walk_hz * dt_s * 0.5
                swing = 24.0 * math.sin(self._walk_phase)
                self.legs[0].setP(swing)
                self.legs[1].setP(-swing)
                self.body.setZ(0.015 * s * abs(math.cos(self._walk_phase)))
                for k, sd in enumerate((-1, 1)):
                    if hands[k] is None:
                        r = self._rest[k]
                        hands[k] = Vec3(r.x, r.y + sd * 0.12 * s * math.sin(self._walk_phase), r.z + 0.02 * s)
            elif self.legs[0].getP() != 0.0:
                self.legs[0].setP(0.0)
                self.legs[1].setP(0.0)
                self.body.setZ(0.0)
        else:
            torso_hpr = (t_h + 1.2 * w[1], t_p + 1.0 * w[2], t_r + 0.8 * w[0])
            torso_z = self.hip_z + drop
        # One transform for the trunk (setting position, turn and scale apart costs three times).
        self.torso.setPosHprScale(0.0, 0.0, torso_z, *torso_hpr, 1.0, 1.0, breath)
        self.neck.setHpr(self._yaw + shake + 2.0 * w[3], self._pitch + nod + 1.5 * w[4], roll + 1.5 * w[5])
        for k in (0, 1):
            target = hands[k] if hands[k] is not None else self._rest[k]
            self._reach(k, target)

    # -- arms ---------------------------------------------------------------------------------------
    def _mouth(self, dx: float, forward: float) -> Vec3:
        """A point ``forward`` in front of the mouth (``dx`` to the side), in the torso's frame, as
        the head is turned now."""
        s = self.scale
        yaw = math.radians(self._yaw)
        fx, fy, fz = dx, 0.1 * s + forward, 0.085 * s
        x = fx * math.cos(yaw) - fy * math.sin(yaw)
        y = fx * math.sin(yaw) + fy * math.cos(yaw)
        return Vec3(x, y, _NECK_Z * s + fz)

    def _hand_raised(self) -> Vec3:
        s = self.scale
        return Vec3(0.2 * s, 0.12 * s, _SHOULDER_Z * s + 0.62 * s)

    def _crossed(self, side: int, amount: float) -> Vec3:
        """Arms folded: each hand tucked at the other arm's elbow."""
        s = self.scale
        return self._blend(0 if side < 0 else 1, Vec3(-side * 0.17 * s, 0.17 * s, 0.3 * s), amount)

    def _blend(self, k: int, target: Vec3, amount: float) -> Vec3:
        r = self._rest[k]
        return r + (target - r) * amount

    def _reach(self, k: int, target: Vec3) -> None:
        """Point arm ``k`` (0 left, 1 right) so its hand is at ``target`` (torso frame): a two-bone
        reach with the elbow kept down and out. Skipped when the target has not moved."""
        key = (target.x, target.y, target.z)  # a resting hand's target is the same numbers each frame
        if self._arm_key[k] == key:
            return
        self._arm_key[k] = key
        s = self.scale
        l1, l2 = _UPPER_ARM * s, (_FOREARM + _HAND) * s
        to = target - self._shoulder_pos[k]
        d = min(max(to.length(), abs(l1 - l2) + 1e-3), l1 + l2 - 1e-3)
        t_dir = to.normalized() if to.length() > 1e-6 else Vec3(0, 0, -1)
        side = -1.0 if k == 0 else 1.0
        pole = Vec3(side * 0.5, -0.3, -1.0)
        pole = pole - t_dir * pole.dot(t_dir)
        if pole.length() < 1e-6:
            pole = Vec3(side, 0.0, 0.0)
        pole.normalize()
        cos_a = (l1 * l1 + d * d - l2 * l2) / (2 * l1 * d)
        a = math.acos(min(max(cos_a, -1.0), 1.0))
        upper = t_dir * math.cos(a) + pole * math.sin(a)  # shoulder -> elbow
        z_axis = -upper
        fore = t_dir * d - upper * l1  # elbow -> hand
        y_axis = fore - upper * fore.dot(upper)
        if y_axis.length() < 1e-6:
            y_axis = Vec3(0, 1, 0) - upper * upper.y
        y_axis.normalize()
        x_axis = y_axis.cross(z_axis)
        q = Quat()
        q.setFromMatrix(
            Mat3(x_axis.x, x_axis.y, x_axis.z, y_axis.x, y_axis.y, y_axis.z, z_axis.x, z_axis.y, z_axis.z)
        )
        self.arms[k].setQuat(q)
        cos_e = (l1 * l1 + l2 * l2 - d * d) / (2 * l1 * l2)
        self.elbows[k].setP(180.0 - math.degrees(math.acos(min(max(cos_e, -1.0), 1.0))))


def update_interval_s(distance_m: float) -> float:
    """How often a figure ``distance_m`` from the patient's eyes moves: every 1/45 s within 4 m,
    1/30 s within 8 m, 1/22.5 s beyond. Breathing and sway are slow: beyond 8 m one step of them
    moves a head by a small fraction of a headset pixel (about 0.05 degrees at 20 pixels a degree),
    and one step of a head turning at full speed (:data:`HEAD_TURN_DEG_S`) by about a pixel."""
    if distance_m < 4.0:
        return 1 / 45
    if distance_m < 8.0:
        return 1 / 30
    return 1 / 22.5


class UpdateSchedule:
    """Animation level of detail in time for ``n`` items (figures of a crowd): item ``k`` is due
    every interval (:meth:`set_interval`), or every two while it is settled (``settled(k)`` in
    :meth:`due`: nothing but its idle motion left to show). Each item keeps a phase of its own, and
    the items of one interval have phases spread evenly over two intervals, so each frame moves
    about the same number of them; at a frame rate below an item's rate it is due every frame."""

    def __init__(self, n: int, interval_s: float = 0.0) -> None:
        self.t_s = 0.0
        self._interval = [max(interval_s, 0.0)] * n
        self._last = [0.0] * n
        self._due = [0.0] * n
        self._phase = [0.0] * n
        self._spread = True

    def set_interval(self, k: int, interval_s: float) -> None:
        interval_s = max(interval_s, 0.0)
        if interval_s != self._interval[k]:
            self._interval[k] = interval_s
            self._spread = True

    def _respread(self) -> None:
        groups: dict[float, list[int]] = {}
        for k, interval in enumerate(self._interval):
            groups.setdefault(interval, []).append(k)
        for interval, items in groups.items():
            for j, k in enumerate(items):
                self._phase[k] = 2.0 * interval * j / len(items)
                self._due[k] = self.t_s + self._phase[k]
        self._spread = False

    def due(
        self, dt_s: float, items: Iterable[int], settled: Callable[[int], bool] | None = None
    ) -> list[tuple[int, float]]:
        """Advance by ``dt_s``; the items of ``items`` due now, each with the time since its last
        update (what its ``update`` should step)."""
        if self._spread:
            self._respread()
        self.t_s += dt_s
        t = self.t_s
        slack = 0.25 * dt_s  # frame-time jitter must not push an update one frame late
        out: list[tuple[int, float]] = []
        due, last, interval, phase = self._due, self._last, self._interval, self._phase
        for k in items:
            if t + slack >= due[k] and t > last[k]:
                out.append((k, t - last[k]))
                last[k] = t
                step = interval[k]
                if settled is not None and settled(k):
                    step *= 2.0
                if step <= 0.0:
                    due[k] = t
                    continue
                # The next point of the item's own grid after this frame.
                due[k] = phase[k] + (math.floor((t + slack - phase[k]) / step) + 1.0) * step
        return out


def facing_share(figures: Sequence[Figure], eye: Vec3, frame: NodePath, *, within_deg: float = 20.0) -> float:
    """The share of the visible ``figures`` whose face points at ``eye`` (in ``frame``), within
    ``within_deg``: measured from the scene graph, head as it is turned now."""
    shown = [f for f in figures if not f.root.isHidden()]
    if not shown:
        return 0.0
    facing = 0
    limit = math.cos(math.radians(within_deg))
    for f in shown:
        head = f.neck.getPos(frame) + frame.getRelativeVector(f.neck, Vec3(0, 0, 0.13 * f.scale))
        forward = frame.getRelativeVector(f.neck, Vec3(0, 1, 0))
        to_eye = eye - head
        if to_eye.length() > 1e-6 and forward.normalized().dot(to_eye.normalized()) >= limit:
            facing += 1
    return facing / len(shown)
