"""The ``flying`` builder: a window seat in a narrow-body airliner's cabin, and the world outside.

Layout (metres, Panda3D axes): the patient sits in window seat A on the left side of the cabin at
the origin, facing the nose (+Y), eyes ``eye_height_m`` above the cabin floor. The cabin's centre
line runs along ``x = CABIN_CX``; seats are three-and-three with the aisle between, rows
:data:`SEAT_PITCH_M` apart, the patient's row at ``y = 0``.

Three node trees, each moved by one thing only:

- ``cabin``: the shell (side walls with the window reveals, floor, ceiling, overhead bins, the
  seat-belt signs), the seats and the passengers. Only :class:`~vr_exposure.renderer.blocks.ride.RideMotion`
  and the turbulence jolts move it, within the ride block's caps and :data:`JOLT_M` /
  :data:`JOLT_DEG`: turbulence shakes the cabin round the patient, never the patient's view (the
  camera is not the scene's to move);
- ``airframe``: the left wing with its engine, flaps and spoilers, slid along the fuselage by the
  seat (front row: the wing behind; over the wing; behind it: the wing and the engine ahead);
- ``outside``: the world seen through the windows, pivoting about the patient's eyes (the horizon
  tilts on take-off): the gate (the terminal, a neighbouring airliner, service vehicles),
  the airfield (runway or taxiway, its lights, hangars), the fields and towns far below at cruise,
  cloud layers, rain and lightning. Moving scenery scrolls and wraps, so nothing is built after the
  constructor.

Built once for the fullest cabin; :meth:`FlyingScene.apply` only shows, hides, moves and recolours.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np
from panda3d.core import (
    AmbientLight,
    Geom,
    GeomNode,
    GeomTriangles,
    GeomVertexData,
    GeomVertexFormat,
    GeomVertexWriter,
    Material,
    NodePath,
    PointLight,
    TextureStage,
    Vec3,
    Vec4,
)

from vr_exposure.core.contract import STIMULUS_TAG_KEY
from vr_exposure.core.specs import Event
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, glow, material, part
from vr_exposure.renderer.blocks.people import Figure, UpdateSchedule, update_interval_s
from vr_exposure.renderer.blocks.ride import RideMotion
from vr_exposure.renderer.blocks.sky import SceneFog, Sun, recolor_sky, sky_dome
from vr_exposure.renderer.blocks.weather import Lightning, Rain
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance
from vr_exposure.renderer.builders.flying import sounds as _sounds  # noqa: F401 - registers its sounds
from vr_exposure.renderer.builders.flying import textures as _textures  # noqa: F401 - registers textures
from vr_exposure.renderer.builders.flying.contract import (
    BELT_SIGN_OFF,
    CONTRACT,
    ENGINE_LEVEL,
    MAX_PASSENGERS,
    PHASES,
    SEATS,
)

TAG = CONTRACT.stimulus_tag or "flight"
CABIN_CX = 1.53
#: The cabin's cross-section: a circle of this radius round (CABIN_CX, CABIN_ZC) above the floor.
CABIN_R = 1.9
CABIN_ZC = 0.85
CEILING_Z = 2.2
SEAT_PITCH_M = 0.79
SEAT_X = (0.0, 0.47, 0.94, 2.12, 2.59, 3.06)
ROWS = range(-2, 11)
#: Rows ahead that may hold passengers (row 0 is the patient's).
PASSENGER_ROWS = (-2, -1, 0, 1, 2, 3, 4, 5)
CABIN_Y = (-2.3, 8.9)
WINDOW_PITCH_M = 0.53
#: The window band: the flat panel with the openings, between these heights.
BAND_Z = (0.88, 1.48)
WINDOW_W, WINDOW_H, WINDOW_Z = 0.25, 0.34, 1.16
REVEAL_M = 0.08
#: The floor stands this far above the ground on the wheels.
GROUND_Z = -2.6
#: Where the wing's root sits along the fuselage from the patient, by seat.
WING_Y = {"front": -14.0, "over-wing": 1.0, "behind-wing": 7.5}
JOLT_M = 0.025
JOLT_DEG = 1.2
STRIP_PERIOD_M = 60.0
FAR_PERIOD_M = 1200.0
FIELD_TILE_M = 2000.0
#: The ground's depth below the cabin in flight: not the real cruising height but one that keeps the
#: fields within the view's far plane (2 km), hazed by fog to read as far below.
CRUISE_M = 320.0
CLOUD_PERIOD_M = 1600.0
#: Altitude (m below the floor the ground lies), nose-up pitch (deg) and ground speed (m/s) by phase.
FLIGHT = {
    "gate": (0.0, 0.0, 0.0),
    "boarding": (0.0, 0.0, 0.0),
    "engines-on": (0.0, 0.0, 0.0),
    "taxi": (0.0, 0.0, 7.0),
    "take-off": (35.0, 9.0, 80.0),
    "cruise": (CRUISE_M, 1.5, 30.0),
    "turbulence": (CRUISE_M, 1.0, 30.0),
    "storm": (CRUISE_M, 1.0, 30.0),
    "landing": (45.0, 3.0, 70.0),
}
#: How much the cabin buzzes in each phase (the ride block's vibration, 0-1).
VIBRATION = {
    "gate": 0.0,
    "boarding": 0.0,
    "engines-on": 0.15,
    "taxi": 0.55,
    "take-off": 0.8,
    "cruise": 0.08,
    "turbulence": 0.3,
    "storm": 0.4,
    "landing": 0.35,
}
SHIRTS = (
    (0.2, 0.3, 0.55),
    (0.6, 0.2, 0.2),
    (0.85, 0.85, 0.82),
    (0.25, 0.4, 0.3),
    (0.5, 0.45, 0.4),
    (0.15, 0.15, 0.17),
    (0.7, 0.55, 0.25),
    (0.45, 0.25, 0.45),
)
SKINS = ((0.85, 0.68, 0.55), (0.62, 0.45, 0.33), (0.95, 0.78, 0.66), (0.42, 0.3, 0.22))
HAIRS = ((0.2, 0.14, 0.1), (0.08, 0.07, 0.06), (0.55, 0.4, 0.25), (0.7, 0.7, 0.68))


@functools.cache
def _material(
    diffuse: tuple[float, float, float], *, specular: float = 0.05, shininess: float = 10.0
) -> Material:
    """One shared material per look: parts that share it (and a texture) merge into one draw when
    flattened, which separate but equal materials would not."""
    return material(diffuse, specular=specular, shininess=shininess)


def _lamp(np_: NodePath) -> None:
    """A light seen as a glow (runway, town, navigation and cabin lamps). Drawn after everything
    opaque: a glow writes no depth, so a surface behind it drawn later would paint over it."""
    glow(np_)
    np_.setBin("fixed", 5)


def _ease(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


class _Mesh:
    """Triangles with normals, UVs (metres) and white vertex colours, made into one GeomNode; every
    face is wound to be seen from the side its normal points to."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.vdata = GeomVertexData(name, GeomVertexFormat.getV3n3c4t2(), Geom.UH_static)
        self.vw = GeomVertexWriter(self.vdata, "vertex")
        self.nw = GeomVertexWriter(self.vdata, "normal")
        self.cw = GeomVertexWriter(self.vdata, "color")
        self.tw = GeomVertexWriter(self.vdata, "texcoord")
        self.tris = GeomTriangles(Geom.UH_static)
        self.count = 0

    def _add(self, p: Vec3, n: Vec3, uv: tuple[float, float]) -> int:
        self.vw.addData3(p)
        self.nw.addData3(n)
        self.cw.addData4(1.0, 1.0, 1.0, 1.0)
        self.tw.addData2(*uv)
        self.count += 1
        return self.count - 1

    def quad(
        self,
        pts: Sequence[Vec3],
        normal: Vec3,
        uvs: Sequence[tuple[float, float]] | None = None,
    ) -> None:
        """A planar quad (four points in order round it) facing ``normal``."""
        a, b, c, d = pts
        if uvs is None:
            # Project onto the plane's two largest axes: metres on the surface.
            ax = max(range(3), key=lambda i: abs(normal[i]))
            u_i, v_i = [i for i in range(3) if i != ax]
            uvs = [(p[u_i], p[v_i]) for p in pts]
        n = Vec3(normal)
        n.normalize()
        if (b - a).cross(c - a).dot(n) < 0:
            a, b, c, d = d, c, b, a
            uvs = list(reversed(uvs))
        i = [self._add(p, n, uv) for p, uv in zip((a, b, c, d), uvs, strict=True)]
        self.tris.addVertices(i[0], i[1], i[2])
        self.tris.addVertices(i[0], i[2], i[3])

    def tri(self, pts: Sequence[Vec3], normal: Vec3) -> None:
        a, b, c = pts
        n = Vec3(normal)
        n.normalize()
        if (b - a).cross(c - a).dot(n) < 0:
            b, c = c, b
        ax = max(range(3), key=lambda i: abs(n[i]))
        u_i, v_i = [i for i in range(3) if i != ax]
        i = [self._add(p, n, (p[u_i], p[v_i])) for p in (a, b, c)]
        self.tris.addVertices(i[0], i[1], i[2])

    def node(self) -> GeomNode:
        geom = Geom(self.vdata)
        geom.addPrimitive(self.tris)
        node = GeomNode(self.name)
        node.addGeom(geom)
        return node


def _wall_x(z: float) -> float:
    """The left side wall's x at height ``z`` above the floor."""
    dz = z - CABIN_ZC
    return CABIN_CX - math.sqrt(max(CABIN_R * CABIN_R - dz * dz, 0.0))


def _extrude(mesh: _Mesh, profile: Sequence[tuple[float, float]], y0: float, y1: float, inside: Vec3) -> None:
    """Quads along Y from ``y0`` to ``y1`` between consecutive (x, z) ``profile`` points, each facing
    the side of ``inside`` (a point in the cabin); U is the distance along the profile, V along Y."""
    along = 0.0
    for (xa, za), (xb, zb) in zip(profile, profile[1:], strict=False):
        seg = math.hypot(xb - xa, zb - za)
        n = Vec3(zb - za, 0.0, -(xb - xa))
        mid = Vec3((xa + xb) / 2, (y0 + y1) / 2, (za + zb) / 2)
        if n.dot(inside - mid) < 0:
            n = -n
        mesh.quad(
            [Vec3(xa, y0, za), Vec3(xb, y0, zb), Vec3(xb, y1, zb), Vec3(xa, y1, za)],
            n,
            [(along, y0), (along + seg, y0), (along + seg, y1), (along, y1)],
        )
        along += seg


WINDOW_CORNER_M = 0.085
_CORNERS = ((1, 1, 0.0), (-1, 1, 90.0), (-1, -1, 180.0), (1, -1, 270.0))


def _corner_arc(su: int, sv: int, a0: float, per_corner: int = 4) -> list[tuple[float, float]]:
    """One rounded corner of the window opening, (u, v) round the opening's centre."""
    r = WINDOW_CORNER_M
    cu, cv = su * (WINDOW_W / 2 - r), sv * (WINDOW_H / 2 - r)
    return [
        (
            cu + r * math.cos(math.radians(a0 + 90.0 * k / per_corner)),
            cv + r * math.sin(math.radians(a0 + 90.0 * k / per_corner)),
        )
        for k in range(per_corner + 1)
    ]


def _window_band(mesh: _Mesh, reveal: _Mesh, y0: float, y1: float, right: bool) -> None:
    """The side wall's window band from ``y0`` to ``y1``: one flat panel per window pitch with a
    rounded opening, and the opening's reveal running out through the wall's thickness."""
    zb, zt = BAND_Z
    xb, xt = _wall_x(zb), _wall_x(zt)
    if right:
        xb, xt = 2 * CABIN_CX - xb, 2 * CABIN_CX - xt
    slant = Vec3(xt - xb, 0.0, zt - zb)
    band_len = slant.length()
    slant.normalize()
    normal = Vec3(zt - zb, 0.0, -(xt - xb))
    normal.normalize()
    if normal.x * (CABIN_CX - xb) < 0:
        normal = -normal
    s_win = (WINDOW_Z - zb) / (zt - zb) * band_len
    lo, hi = -s_win, band_len - s_win
    hw_, hh_ = WINDOW_W / 2, WINDOW_H / 2

    count = max(1, round((y1 - y0) / WINDOW_PITCH_M))
    pitch = (y1 - y0) / count
    for k in range(count):
        yc = y0 + (k + 0.5) * pitch

        def at(u: float, v: float, out: float = 0.0, yc: float = yc) -> Vec3:
            return Vec3(xb, yc + u, zb) + slant * (s_win + v) - normal * out

        def rect(u0: float, u1: float, v0: float, v1: float) -> None:
            mesh.quad([at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)], normal)

        hw = pitch / 2
        rect(-hw, -hw_, lo, hi)
        rect(hw_, hw, lo, hi)
        rect(-hw_, hw_, hh_, hi)
        rect(-hw_, hw_, lo, -hh_)
        outline: list[tuple[float, float]] = []
        for su, sv, a0 in _CORNERS:
            arc = _corner_arc(su, sv, a0)
            corner = (su * hw_, sv * hh_)
            for (ua, va), (ub, vb) in zip(arc, arc[1:], strict=False):
                mesh.tri([at(*corner), at(ua, va), at(ub, vb)], normal)
            outline.extend(arc)
        # The reveal: the opening's edge runs out through the wall, narrowing to the outer pane.
        n_pts = len(outline)
        for i in range(n_pts):
            ua, va = outline[i]
            ub, vb = outline[(i + 1) % n_pts]
            if abs(ua - ub) + abs(va - vb) < 1e-6:
                continue
            a_out, b_out = at(ua * 0.9, va * 0.9, REVEAL_M), at(ub * 0.9, vb * 0.9, REVEAL_M)
            toward = -(Vec3(0.0, (ua + ub) / 2, 0.0) + slant * ((va + vb) / 2))
            reveal.quad([at(ua, va), at(ub, vb), b_out, a_out], toward)


class FlyingScene(SceneInstance):
    def __init__(self, ctx: BuildContext) -> None:
        root = ctx.parent.attachNewNode(f"scene-{ctx.spec.id}")
        super().__init__(root)
        self.eye_z = ctx.eye_height_m
        self.t_s = 0.0
        self.rng = np.random.default_rng(23)
        shading.apply_scene_shader(root, shadows=ctx.shadow_size_px > 0)
        self.sun = Sun(
            root,
            direction=(0.55, -0.25, -0.55),
            color=(1.15, 1.08, 0.98),
            ambient=(0.4, 0.42, 0.48),
            focus=(CABIN_CX - 6.0, 1.0, 0.0),
            film_m=26.0,
            shadow_size_px=ctx.shadow_size_px,
            distance_m=30.0,
        )
        self.fog = SceneFog(root, (0.75, 0.8, 0.88), 0.0015)
        self._sky_key: tuple[float, ...] | None = None
        self.sky = sky_dome(root, 1500.0, self._gradient(0.0, 0.0, 0.0), center_z=-20.0)
        disc = root.attachNewNode(proc.sphere("sun-disc", 1.0, rings=8, segments=16))
        disc.setColor(1.0, 0.95, 0.82, 1.0)
        glow(disc)
        disc.setBin("background", 5)
        disc.setDepthTest(False)
        d = Vec3(0.55, -0.25, -0.55).normalized()
        disc.setPos(-d * 900.0)
        disc.setScale(16.0)
        self.sun_disc = disc
        self.lightning = Lightning(root)
        # The world outside pivots about the patient's eyes (the horizon tilts on take-off).
        self.pivot = root.attachNewNode("outside")
        self.pivot.setPos(0.0, 0.0, self.eye_z)
        self.pivot.setTag(STIMULUS_TAG_KEY, TAG)
        self.tilt = self.pivot.attachNewNode("outside-tilt")
        self.ground = self.tilt.attachNewNode("ground")  # moved down by the altitude
        self._build_gate()
        self._build_airfield()
        self._build_country()
        self._build_clouds()
        self.rain = Rain(self.tilt, area_m=16.0, height_m=7.0, drops=1200, groups=8)
        self.rain.node.setPos(-9.8, 3.0, -self.eye_z - 2.5)
        # Only the cabin's shell casts shadows (the sun reaches in through the windows): the world
        # outside is too large for the shadow map's resolution and would shade itself in rings.
        self.pivot.hide(SHADOW_MASK)
        self.airframe = root.attachNewNode("airframe")
        self.airframe.setTag(STIMULUS_TAG_KEY, TAG)
        self.airframe.hide(SHADOW_MASK)
        self._build_wing()
        self.cabin = root.attachNewNode("cabin")
        self._build_cabin()
        self._build_passengers()
        self.ride = RideMotion(self.cabin)
        self.speaker = self.cabin.attachNewNode("speaker")
        self.speaker.setPos(0.5, 0.3, 1.9)
        self.engine_anchor = self.engine.attachNewNode("engine-anchor")
        # State.
        self.phase = 0
        self.seat = 1
        self.night = False
        self.weather = 0
        self.turbulence = 0.0
        self.n_passengers = 0
        self.engine_level = 0.0
        self.belt_sign = False
        self.distance_m = 0.0
        self.speed_m_s = 0.0
        self.altitude_m = 0.0
        self.pitch_deg = 0.0
        self._jolts: list[tuple[float, float, float]] = []  # (start s, amplitude 0-1, roll sign)
        self.events: dict[str, tuple[float, float]] = {}  # name -> (start s, duration s)
        self._next_strike = 0.0
        self.schedule = UpdateSchedule(MAX_PASSENGERS, 1 / 30)
        self.seated: list[Figure] = []

    # ----------------------------------------------------------------------------------- the sky

    @staticmethod
    def _gradient(
        night: float, overcast: float, storm: float, below: Sequence[float] = (0.7, 0.72, 0.76)
    ) -> list[tuple[float, tuple[float, float, float, float]]]:
        def mix(a: Sequence[float], b: Sequence[float], t: float) -> tuple[float, float, float]:
            return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)

        horizon = mix(mix((0.82, 0.86, 0.92), (0.62, 0.64, 0.66), overcast), (0.3, 0.31, 0.34), storm)
        mid = mix(mix((0.48, 0.64, 0.88), (0.55, 0.57, 0.6), overcast), (0.22, 0.23, 0.26), storm)
        top = mix(mix((0.2, 0.36, 0.72), (0.46, 0.48, 0.52), overcast), (0.16, 0.17, 0.2), storm)
        horizon = mix(horizon, (0.07, 0.08, 0.13), night)
        mid = mix(mid, (0.03, 0.04, 0.09), night)
        top = mix(top, (0.01, 0.015, 0.04), night)
        low = (below[0], below[1], below[2])
        horizon = mix(horizon, low, 0.5)
        return [
            (-1.0, (*low, 1.0)),
            (-0.02, (*low, 1.0)),
            (0.03, (*horizon, 1.0)),
            (0.2, (*mid, 1.0)),
            (1.0, (*top, 1.0)),
        ]

    # ------------------------------------------------------------------------------- the outside

    def _build_gate(self) -> None:
        """At the gate: the apron, the terminal ahead, the next gate's airliner on the left, floodlight
        masts and the service vehicles beside the aircraft."""
        gate = self.ground.attachNewNode("gate")
        self.gate = gate
        part(
            gate,
            proc.plane("apron", 600.0, 600.0, uv_repeat=(120, 120)),
            (-100.0, 60.0, 0.0),
            texture="apron",
            mat=_material((1.0, 1.0, 1.0), specular=0.05),
        )
        yellow = _material((0.95, 0.75, 0.1), specular=0.1)
        white_paint = _material((0.95, 0.95, 0.92), specular=0.1)
        for x in (CABIN_CX, CABIN_CX - 45.0):
            part(gate, proc.plane("lead-in-line", 0.25, 90.0), (x, 10.0, 0.02), mat=yellow)
        part(gate, proc.plane("stop-bar", 8.0, 0.3), (CABIN_CX - 45.0, 50.0, 0.02), mat=white_paint)
        for k in range(15):
            part(
                gate,
                proc.plane("stand-line", 0.2, 3.0),
                (CABIN_CX - 22.0, -30.0 + 6.0 * k, 0.02),
                mat=white_paint,
            )
        # The terminal: a long building with a glass front, a lighter roof and mullions.
        concrete = _material((0.78, 0.77, 0.74), specular=0.05)
        glass = _material((0.18, 0.28, 0.38), specular=0.9, shininess=80)
        terminal = gate.attachNewNode("terminal")
        part(
            terminal,
            proc.box("terminal", (260.0, 30.0, 14.0), uv_per_m=0.2),
            (-60.0, 75.0, 7.0),
            mat=concrete,
        )
        part(terminal, proc.box("terminal-glass", (258.0, 0.3, 7.0)), (-60.0, 59.9, 7.5), mat=glass)
        part(
            terminal,
            proc.box("terminal-roof", (264.0, 34.0, 1.2)),
            (-60.0, 75.0, 14.6),
            mat=_material((0.6, 0.62, 0.65)),
        )
        for x in range(-188, 70, 6):
            part(terminal, proc.box("mullion", (0.3, 0.5, 7.0)), (float(x), 59.7, 7.5), mat=concrete)
        self.terminal_glow = gate.attachNewNode(
            proc.plane("terminal-lit", 258.0, 6.0, color=(1.0, 0.85, 0.6, 1.0))
        )
        self.terminal_glow.setPosHpr(-60.0, 59.6, 7.5, 0.0, 90.0, 0.0)
        _lamp(self.terminal_glow)
        self.terminal_glow.setTwoSided(True)
        grey = _material((0.75, 0.76, 0.78), specular=0.3)
        # The next gate's airliner, parked nose-in on the left.
        self._airliner(gate, (CABIN_CX - 45.0, 20.0, 0.0))
        # Service vehicles: a baggage tug with three carts, a fuel truck, cones by the wing.
        dark = _material((0.12, 0.12, 0.13))
        orange = _material((0.95, 0.45, 0.08), specular=0.2)
        tug = part(gate, proc.box("tug", (1.6, 2.6, 1.3)), (CABIN_CX - 21.0, -16.0, 0.65), mat=orange)
        tug.setH(8.0)
        for k in range(3):
            y_cart = -19.5 - 3.2 * k
            part(
                gate,
                proc.box("cart", (1.6, 2.6, 0.25)),
                (CABIN_CX - 21.4, y_cart, 0.55),
                mat=_material((0.3, 0.35, 0.4)),
            )
            part(
                gate,
                proc.box("bags", (1.4, 2.2, 0.7)),
                (CABIN_CX - 21.4, y_cart, 1.0),
                mat=_material((0.15, 0.2, 0.35)),
            )
            part(gate, proc.box("cart-wheels", (1.7, 2.0, 0.4)), (CABIN_CX - 21.4, y_cart, 0.2), mat=dark)
        part(
            gate,
            proc.box("fuel-truck", (2.5, 8.0, 2.6)),
            (CABIN_CX - 26.0, 12.0, 1.3),
            mat=_material((0.85, 0.85, 0.8), specular=0.4),
        )
        part(
            gate,
            proc.box("fuel-cab", (2.5, 2.2, 2.9)),
            (CABIN_CX - 26.0, 17.2, 1.45),
            mat=_material((0.75, 0.1, 0.08)),
        )
        for y in (-12.0, -6.0, 0.0):
            part(
                gate,
                proc.cylinder("cone", 0.2, 0.7, segments=8, radius_end=0.03),
                (CABIN_CX - 17.5, y, 0.0),
                mat=orange,
                hpr=(0, 90, 0),
            )
        # Floodlight masts, lit at night.
        lamps = gate.attachNewNode("apron-lamps")
        for x, y in ((-30.0, -40.0), (-70.0, 30.0), (-25.0, 45.0)):
            part(gate, proc.cylinder("mast", 0.3, 25.0, segments=8), (x, y, 0.0), mat=grey, hpr=(0, 90, 0))
            lamps.attachNewNode(proc.box("mast-lamp", (3.0, 0.8, 1.0))).setPos(x, y, 25.0)
        lamps.flattenStrong()
        lamps.setColor(1.0, 0.9, 0.7, 1.0)
        _lamp(lamps)
        self.apron_lamps = lamps
        glow_keep = [self.terminal_glow, lamps]
        for g in glow_keep:
            g.detachNode()
        gate.flattenStrong()
        for g in glow_keep:
            g.reparentTo(gate)

    def _airliner(self, parent: NodePath, pos: Sequence[float]) -> None:
        """A parked twin-engined airliner facing +Y (fuselage, nose, tail, wings, engines, a stripe)."""
        plane = parent.attachNewNode("airliner")
        plane.setPos(pos[0], pos[1], pos[2])
        white = _material((0.93, 0.94, 0.95), specular=0.5, shininess=50)
        blue = _material((0.1, 0.2, 0.5), specular=0.4)
        grey = _material((0.6, 0.62, 0.66), specular=0.4)
        body_z = 4.2
        part(plane, proc.cylinder("fuselage", 2.0, 30.0, segments=16), (0.0, -16.0, body_z), mat=white)
        nose = part(plane, proc.sphere("nose", 2.0, rings=8, segments=16), (0.0, 14.0, body_z), mat=white)
        nose.setScale(1.0, 1.6, 0.95)
        part(
            plane,
            proc.cylinder("tail-cone", 2.0, 7.0, segments=16, radius_end=0.4),
            (0.0, -16.0, body_z + 0.3),
            mat=white,
            hpr=(180, -6, 0),
        )
        part(plane, proc.box("stripe", (4.08, 30.0, 0.35)), (0.0, -1.0, body_z + 0.2), mat=blue)
        part(
            plane,
            proc.box("cockpit-glass", (2.6, 0.8, 0.5)),
            (0.0, 15.6, body_z + 0.9),
            mat=_material((0.05, 0.07, 0.1), specular=0.9),
        )
        fin = part(plane, proc.box("fin", (0.35, 4.5, 6.0)), (0.0, -20.0, body_z + 4.2), mat=blue)
        fin.setP(-32.0)  # swept back
        for side in (-1, 1):
            w = part(plane, proc.box("wing", (15.0, 4.5, 0.4)), (side * 9.0, -2.0, body_z - 1.2), mat=grey)
            w.setH(side * 22.0)
            w.setR(side * 5.0)
            part(
                plane,
                proc.box("stabiliser", (5.5, 2.2, 0.25)),
                (side * 3.2, -20.0, body_z + 0.8),
                mat=white,
                hpr=(side * 25.0, 0, side * 6.0),
            )
            part(
                plane,
                proc.cylinder("nacelle", 1.0, 4.0, segments=12),
                (side * 5.8, 0.2, body_z - 2.4),
                mat=white,
            )
            part(
                plane,
                proc.box("gear", (0.8, 0.8, 2.6)),
                (side * 2.6, -2.0, 1.1),
                mat=_material((0.15, 0.15, 0.15)),
            )
        part(
            plane, proc.box("nose-gear", (0.5, 0.5, 2.4)), (0.0, 11.0, 1.1), mat=_material((0.15, 0.15, 0.15))
        )
        plane.flattenStrong()

    def _build_airfield(self) -> None:
        """Grass, the runway (or taxiway) under the aircraft with its markings and edge lights, and
        hangars and a tower in the distance; the near and far parts scroll and wrap."""
        field = self.ground.attachNewNode("airfield")
        self.airfield = field
        self.grass = part(
            field,
            proc.plane("airfield-grass", 3000.0, 3000.0, uv_repeat=(750, 750)),
            (0.0, 0.0, -0.02),
            texture="grass",
            mat=_material((0.8, 0.88, 0.75), specular=0.02),
        )
        self.grass_stage = TextureStage.getDefault()
        strip = field.attachNewNode("runway")
        self.strip = strip
        part(
            strip,
            proc.plane("runway", 45.0, 1200.0, uv_repeat=(45.0 / 4.0, 300.0)),
            (CABIN_CX, 0.0, 0.0),
            texture="asphalt",
            mat=_material((0.9, 0.9, 0.9), specular=0.08),
        )
        white = _material((0.95, 0.95, 0.92), specular=0.1)
        post = _material((0.3, 0.3, 0.3))
        posts = strip.attachNewNode("edge-light-posts")
        runway_marks = strip.attachNewNode("runway-marks")
        taxi_marks = strip.attachNewNode("taxi-marks")
        lights = strip.attachNewNode("edge-lights")
        for k in range(-10, 10):
            y = k * STRIP_PERIOD_M
            part(runway_marks, proc.plane("centre-dash", 0.9, 30.0), (CABIN_CX, y, 0.02), mat=white)
            for x in (CABIN_CX - 21.5, CABIN_CX + 21.5):
                part(runway_marks, proc.plane("edge-line", 0.9, STRIP_PERIOD_M), (x, y, 0.02), mat=white)
            for x in (CABIN_CX - 23.5, CABIN_CX + 23.5):
                for dy in (0.0, 30.0):
                    part(posts, proc.box("edge-light-post", (0.25, 0.25, 0.4)), (x, y + dy, 0.2), mat=post)
                    lights.attachNewNode(proc.box("edge-light", (0.5, 0.5, 0.3))).setPos(x, y + dy, 0.45)
        part(
            taxi_marks,
            proc.plane("taxi-line", 0.3, 1200.0),
            (CABIN_CX, 0.0, 0.02),
            mat=_material((0.95, 0.75, 0.1)),
        )
        for node in (posts, runway_marks, taxi_marks, lights):
            node.flattenStrong()
        lights.setColor(1.0, 0.95, 0.8, 1.0)
        _lamp(lights)
        self.runway_marks, self.taxi_marks, self.edge_lights = runway_marks, taxi_marks, lights
        # Hangars, a control tower and a tree line, far to the left, two copies a period apart.
        far = field.attachNewNode("airfield-far")
        tile = far.attachNewNode("far-tile")
        rng = np.random.default_rng(31)
        shed = _material((0.7, 0.72, 0.74), specular=0.2)
        roof = _material((0.45, 0.48, 0.5))
        for k in range(6):
            y = -FAR_PERIOD_M / 2 + k * FAR_PERIOD_M / 6 + float(rng.uniform(0, 80))
            w, d, h = float(rng.uniform(50, 90)), float(rng.uniform(35, 60)), float(rng.uniform(14, 22))
            part(tile, proc.box("hangar", (d, w, h)), (-260.0 - d / 2, y, h / 2), mat=shed)
            part(tile, proc.box("hangar-roof", (d + 2, w + 2, 1.5)), (-260.0 - d / 2, y, h + 0.7), mat=roof)
        part(
            tile,
            proc.cylinder("tower", 4.0, 38.0, segments=10),
            (-200.0, 150.0, 0.0),
            mat=shed,
            hpr=(0, 90, 0),
        )
        part(
            tile,
            proc.cylinder("tower-cab", 7.0, 6.0, segments=10),
            (-200.0, 150.0, 38.0),
            mat=_material((0.15, 0.25, 0.3), specular=0.8),
            hpr=(0, 90, 0),
        )
        leaves = _material((0.2, 0.32, 0.16), specular=0.02)
        for _ in range(40):
            y = float(rng.uniform(-FAR_PERIOD_M / 2, FAR_PERIOD_M / 2))
            crown = part(
                tile,
                proc.sphere("tree", 6.0, rings=5, segments=8),
                (-380.0 - float(rng.uniform(0, 60)), y, 6.0),
                mat=leaves,
            )
            crown.setScale(1.0, 1.0, 1.3)
        tile.flattenStrong()
        tile.copyTo(far).setY(FAR_PERIOD_M)
        far.flattenStrong()
        self.far_tiles = far

    def _build_country(self) -> None:
        """Fields and woods far below, and the towns' lights at night; three tiles along the track."""
        country = self.ground.attachNewNode("country")
        self.country = country
        part(
            country,
            proc.plane("fields", 3 * FIELD_TILE_M, 3 * FIELD_TILE_M, uv_repeat=(3, 3)),
            (0.0, 0.0, 0.0),
            texture="fields",
            mat=_material((1.0, 1.0, 1.0), specular=0.02),
        )
        rng = np.random.default_rng(37)
        lights = country.attachNewNode("town-lights")
        tile = lights.attachNewNode("lights-tile")
        for _ in range(40):
            tx, ty = float(rng.uniform(-1500, 1500)), float(rng.uniform(-FIELD_TILE_M / 2, FIELD_TILE_M / 2))
            for _ in range(int(rng.integers(20, 50))):
                x, y = tx + float(rng.normal(0, 45)), ty + float(rng.normal(0, 45))
                tile.attachNewNode(proc.box("town-light", (14.0, 14.0, 1.0))).setPos(x, y, 1.0)
        tile.flattenStrong()
        for dy in (-FIELD_TILE_M, FIELD_TILE_M):
            tile.copyTo(lights).setY(dy)
        lights.flattenStrong()
        lights.setColor(1.0, 0.78, 0.45, 1.0)
        _lamp(lights)
        self.town_lights = lights

    def _build_clouds(self) -> None:
        """A layer of fair-weather clouds far below (cruise), and clouds all round (turbulence and
        the storm); each one flattened node, two copies a period apart so it scrolls without a gap."""

        def layer(
            name: str,
            count: int,
            z: tuple[float, float],
            r: tuple[float, float],
            spread_x: tuple[float, float],
            seed: int,
        ) -> NodePath:
            rng = np.random.default_rng(seed)
            holder = self.tilt.attachNewNode(name)
            tile = holder.attachNewNode(f"{name}-tile")
            puff = _material((1.0, 1.0, 1.0), specular=0.0)
            for _ in range(count):
                cx = float(rng.uniform(*spread_x))
                cy = float(rng.uniform(-CLOUD_PERIOD_M / 2, CLOUD_PERIOD_M / 2))
                cz = float(rng.uniform(*z))
                size = float(rng.uniform(*r))
                for _ in range(int(rng.integers(4, 8))):
                    p = part(
                        tile,
                        proc.sphere("puff", 1.0, rings=5, segments=9),
                        (
                            cx + float(rng.normal(0, size * 0.7)),
                            cy + float(rng.normal(0, size * 0.7)),
                            cz + float(rng.normal(0, size * 0.15)),
                        ),
                        mat=puff,
                    )
                    s = size * float(rng.uniform(0.5, 1.0))
                    p.setScale(s, s, s * float(rng.uniform(0.45, 0.7)))
            tile.flattenStrong()
            tile.copyTo(holder).setY(CLOUD_PERIOD_M)
            holder.flattenStrong()
            holder.hide(SHADOW_MASK)
            return holder

        self.clouds_below = layer("clouds-below", 40, (-190.0, -170.0), (20.0, 55.0), (-1200.0, 1200.0), 41)
        self.clouds_near = layer("clouds-near", 40, (-70.0, 60.0), (18.0, 55.0), (-700.0, -25.0), 43)
        self.clouds_near_right = layer("clouds-right", 14, (-60.0, 50.0), (20.0, 55.0), (30.0, 500.0), 47)

    def _build_wing(self) -> None:
        """The left wing (swept, tapered, with dihedral), its winglet, flaps, spoilers and engine."""
        af = self.airframe
        wing = af.attachNewNode("wing")
        self.wing = wing
        wing.setPos(CABIN_CX - 1.75, 0.0, -0.75)
        skin = _material((0.84, 0.85, 0.87), specular=0.45, shininess=40)
        span, root_c, tip_c, sweep, dihedral = 15.5, 6.0, 1.6, 0.52, 0.09
        mesh = _Mesh("wing")
        t_root, t_tip = 0.45, 0.14

        def le(s: float) -> Vec3:
            return Vec3(-s, 2.5 - sweep * s, dihedral * s)

        def chord(s: float) -> float:
            return root_c + (tip_c - root_c) * s / span

        def th(s: float) -> float:
            return t_root + (t_tip - t_root) * s / span

        steps = 6
        for k in range(steps):
            s0, s1 = span * k / steps, span * (k + 1) / steps
            a0, a1 = le(s0), le(s1)
            b0, b1 = a0 - Vec3(0, chord(s0) * 0.78, 0), a1 - Vec3(0, chord(s1) * 0.78, 0)
            top0, top1 = Vec3(0, 0, th(s0) / 2), Vec3(0, 0, th(s1) / 2)
            mesh.quad([a0 + top0 * 0.6, a1 + top1 * 0.6, b1 + top1, b0 + top0], Vec3(0, 0.15, 1))
            mesh.quad([a0 - top0, a1 - top1, b1 - top1 * 0.5, b0 - top0 * 0.5], Vec3(0, 0, -1))
            mesh.quad([a0 + top0 * 0.6, a1 + top1 * 0.6, a1 - top1, a0 - top0], Vec3(0, 1, 0))
            mesh.quad([b0 + top0, b1 + top1, b1 - top1 * 0.5, b0 - top0 * 0.5], Vec3(0, -1, 0))
        tip = le(span)
        tip_top = Vec3(0, 0, th(span) / 2)
        mesh.quad(
            [
                tip + tip_top,
                tip - Vec3(0, chord(span) * 0.78, 0) + tip_top,
                tip - Vec3(0, chord(span) * 0.78, 0) - tip_top,
                tip - tip_top,
            ],
            Vec3(-1, 0, 0),
        )
        part(wing, mesh.node(), mat=skin).setTwoSided(True)
        # The winglet's inner face is away from the sun: a little glow of its own (the light the wing
        # throws up onto it) keeps it from reading as a hole in the sky.
        winglet_mat = material((0.84, 0.85, 0.87), specular=0.45, shininess=40, emission=(0.28, 0.29, 0.31))
        winglet = part(
            wing, proc.box("winglet", (0.15, 1.3, 1.7)), tip + Vec3(0.0, -0.65, 0.8), mat=winglet_mat
        )
        winglet.setR(-15.0)
        # Walkway markings and a dark leading edge strip, as on a real wing.
        part(
            wing,
            proc.box("leading-edge", (span * 0.98, 0.15, 0.05)),
            (-span / 2, 2.5 - sweep * span / 2 - 0.05, dihedral * span / 2 + 0.18),
            mat=_material((0.55, 0.56, 0.58)),
            hpr=(-math.degrees(math.atan(sweep)), 0, -math.degrees(math.atan(dihedral))),
        )
        wing.flattenStrong()
        # Flaps (inboard, along the trailing edge) and spoilers on top: pivoting panels.
        self.flaps: list[NodePath] = []
        self.spoilers: list[NodePath] = []
        flap_mat = _material((0.78, 0.79, 0.81), specular=0.4)
        for s0, s1 in ((0.3, 4.5), (4.8, 9.5)):
            sm = (s0 + s1) / 2
            edge = le(sm) - Vec3(0, chord(sm) * 0.78, 0)
            pivot = wing.attachNewNode("flap")
            pivot.setPos(edge)
            pivot.setH(-math.degrees(math.atan(sweep)) * 0.6)
            part(
                pivot,
                proc.box("flap-panel", (s1 - s0, chord(sm) * 0.2, th(sm) * 0.5)),
                (0.0, -chord(sm) * 0.1, 0.0),
                mat=flap_mat,
            )
            self.flaps.append(pivot)
            sp = wing.attachNewNode("spoiler")
            sp.setPos(edge + Vec3(0, chord(sm) * 0.12, th(sm) * 0.45))
            sp.setH(-math.degrees(math.atan(sweep)) * 0.6)
            part(
                sp,
                proc.box("spoiler-panel", (s1 - s0 - 0.3, chord(sm) * 0.16, 0.04)),
                (0.0, chord(sm) * 0.08, 0.0),
                mat=flap_mat,
            )
            self.spoilers.append(sp)
        # The engine under the wing: nacelle, pylon, the fan's spinner and blades at its intake.
        s_eng = 5.2
        eng_pos = le(s_eng) + Vec3(0.0, 2.0, -1.35)
        engine = wing.attachNewNode("engine")
        engine.setPos(eng_pos)
        self.engine = engine
        nacelle_mat = _material((0.9, 0.9, 0.92), specular=0.55, shininess=50)
        shell = engine.attachNewNode("nacelle")
        part(
            shell,
            proc.cylinder("nacelle", 1.05, 4.2, segments=20, radius_end=0.8, caps=False),
            (0, -4.2, 0),
            mat=nacelle_mat,
        ).setTwoSided(True)
        part(
            shell,
            proc.cylinder("intake-lip", 1.05, 0.25, segments=20, radius_end=0.98, caps=False),
            (0, 0.0, 0),
            mat=_material((0.7, 0.7, 0.72), specular=0.6),
        ).setTwoSided(True)
        part(
            shell,
            proc.cylinder("exhaust-cone", 0.5, 1.2, segments=12, radius_end=0.1),
            (0, -4.2, 0),
            mat=_material((0.35, 0.33, 0.32)),
            hpr=(180, 0, 0),
        )
        part(shell, proc.box("pylon", (0.3, 3.2, 1.1)), (0.0, -1.6, 1.05), mat=nacelle_mat)
        shell.flattenStrong()
        fan = engine.attachNewNode("fan")
        fan.setY(-0.35)
        dark = _material((0.12, 0.12, 0.13), specular=0.5)
        blades = fan.attachNewNode("blades")
        part(blades, proc.box("fan-disc", (2.0, 0.05, 2.0)), (0, -0.05, 0), mat=_material((0.05, 0.05, 0.06)))
        for k in range(12):
            b = part(blades, proc.box("fan-blade", (0.12, 0.04, 0.9)), (0, 0, 0), mat=dark)
            b.setR(k * 30.0)
            b.setPos(0.45 * math.sin(math.radians(k * 30.0)), 0.0, 0.45 * math.cos(math.radians(k * 30.0)))
        part(
            blades,
            proc.sphere("spinner", 0.3, rings=5, segments=10),
            (0, 0.05, 0),
            mat=_material((0.85, 0.85, 0.88), specular=0.6),
        )
        blades.flattenStrong()
        self.fan = fan
        # Navigation and strobe lights on the tip: red on the left wing, lit at night.
        nav = wing.attachNewNode(proc.sphere("nav-light", 0.12, rings=4, segments=8))
        nav.setPos(tip + Vec3(0.0, -0.3, 0.1))
        nav.setColor(1.0, 0.1, 0.05, 1.0)
        _lamp(nav)
        self.nav_light = nav
        strobe = wing.attachNewNode(proc.sphere("strobe", 0.35, rings=4, segments=8))
        strobe.setPos(tip + Vec3(0.0, -0.9, 0.15))
        strobe.setColor(1.0, 1.0, 1.0, 1.0)
        _lamp(strobe)
        strobe.hide()
        self.strobe = strobe

    # -------------------------------------------------------------------------------- the cabin

    def _build_cabin(self) -> None:
        cab = self.cabin
        panel = _material((0.86, 0.85, 0.82), specular=0.2, shininess=25)
        static = cab.attachNewNode("cabin-static")
        inside = Vec3(CABIN_CX, 0.0, 1.2)
        y0, y1 = CABIN_Y
        walls = _Mesh("side-walls")
        reveals = _Mesh("window-reveals")
        lower = [(_wall_x(z), z) for z in (0.0, 0.25, 0.5, 0.7, BAND_Z[0])]
        upper = [(_wall_x(z), z) for z in (BAND_Z[1], 1.62, 1.78)]
        for right in (False, True):
            for prof in (lower, upper):
                pts = [(2 * CABIN_CX - x, z) if right else (x, z) for x, z in prof]
                _extrude(walls, pts, y0, y1, inside)
            _window_band(walls, reveals, y0, y1, right)
        # The shell is seen from inside only; two-sided so the sun's shadow pass (looking at its
        # outside) sees it too and the sun lights the cabin only through the windows.
        part(static, walls.node(), texture="cabin-panel", mat=panel).setTwoSided(True)
        part(static, reveals.node(), mat=_material((0.92, 0.92, 0.9), specular=0.3))
        # Floor (carpet), ceiling, the overhead bins' bodies and the end walls.
        part(
            static,
            proc.plane("carpet", 2 * 1.72, y1 - y0, uv_repeat=(3.4, y1 - y0)),
            (CABIN_CX, (y0 + y1) / 2, 0.0),
            texture="cabin-carpet",
            mat=_material((1.0, 1.0, 1.0), specular=0.02),
        )
        ceiling = _Mesh("ceiling")
        for side in (-1, 1):
            bx = CABIN_CX + side * 0.74
            prof = (
                [(_wall_x(1.78), 1.78), (CABIN_CX - 0.86, 1.70)]
                if side < 0
                else [(2 * CABIN_CX - _wall_x(1.78), 1.78), (CABIN_CX + 0.86, 1.70)]
            )
            _extrude(ceiling, prof, y0, y1, inside)  # the bins' undersides (the service units)
            _extrude(
                ceiling,
                [(bx + side * 0.04, 2.14), (CABIN_CX + side * 0.45, CEILING_Z + 0.05)],
                y0,
                y1,
                inside,
            )
        _extrude(
            ceiling,
            [(CABIN_CX - 0.45, CEILING_Z + 0.05), (CABIN_CX + 0.45, CEILING_Z + 0.05)],
            y0,
            y1,
            inside,
        )
        part(static, ceiling.node(), texture="cabin-panel", mat=panel).setTwoSided(True)
        self.bin_doors: list[NodePath] = []
        for side in (-1, 1):
            doors = _Mesh("bin-doors")
            _extrude(
                doors,
                [
                    (CABIN_CX + side * 0.86, 1.70),
                    (CABIN_CX + side * 0.80, 1.93),
                    (CABIN_CX + side * 0.76, 2.14),
                ],
                y0,
                y1,
                inside,
            )
            holder = cab.attachNewNode("bins-left" if side < 0 else "bins-right")
            holder.setPos(CABIN_CX + side * 0.8, 0.0, 1.92)
            door = part(
                holder,
                doors.node(),
                (-(CABIN_CX + side * 0.8), 0.0, -1.92),
                texture="cabin-panel",
                mat=_material((0.95, 0.95, 0.93), specular=0.35, shininess=30),
            )
            door.setTexScale(TextureStage.getDefault(), 1.0, 1.0 / 1.58)  # a door seam every 1.58 m
            latch = _material((0.35, 0.36, 0.38), specular=0.5)
            for k in range(int((y1 - y0) / 1.58)):
                part(
                    holder,
                    proc.box("bin-latch", (0.03, 0.25, 0.05)),
                    (side * -0.01 + side * 0.0 - side * 0.02, y0 + 0.79 + k * 1.58, 0.15),
                    mat=latch,
                )
            holder.flattenStrong()
            holder.hide(SHADOW_MASK)
            self.bin_doors.append(holder)
        plastic = _material((0.86, 0.86, 0.84), specular=0.25)
        for y, name in ((y0, "aft-wall"), (y1, "fore-wall")):
            part(
                static,
                proc.box(name, (3.9, 0.05, CEILING_Z + 0.1)),
                (CABIN_CX, y, (CEILING_Z + 0.1) / 2),
                texture="cabin-panel",
                mat=plastic,
            )
        # Reading lights, gaspers and the seat-belt sign on the service units above every row.
        sign_lit = cab.attachNewNode("belt-signs-lit")
        call_lights = cab.attachNewNode("call-lights")
        lens = _material((0.7, 0.7, 0.68), specular=0.6)
        for r in ROWS:
            y = r * SEAT_PITCH_M + 0.1
            for side in (-1, 1):
                zc = 1.74
                xc = CABIN_CX + side * 1.25
                for dx in (-0.22, 0.0, 0.22):
                    part(
                        static,
                        proc.cylinder("reading-light", 0.025, 0.02, segments=8),
                        (xc + dx, y + 0.12, zc - 0.02),
                        mat=lens,
                        hpr=(0, 90, 0),
                    )
                sign = part(
                    static,
                    proc.box("belt-sign", (0.16, 0.08, 0.01)),
                    (xc, y - 0.08, zc - 0.005),
                    texture="belt-sign",
                    mat=_material((1.0, 1.0, 1.0)),
                )
                sign.setTexScale(TextureStage.getDefault(), 1.0 / 0.16, 1.0 / 0.08)
                sign.setTexOffset(TextureStage.getDefault(), 0.5, 0.5)
                lit = part(
                    sign_lit,
                    proc.box("belt-sign-lit", (0.16, 0.08, 0.004)),
                    (xc, y - 0.08, zc - 0.014),
                    texture="belt-sign",
                )
                lit.setTexScale(TextureStage.getDefault(), 1.0 / 0.16, 1.0 / 0.08)
                lit.setTexOffset(TextureStage.getDefault(), 0.5, 0.5)
                call_lights.attachNewNode(proc.box("call-light", (0.05, 0.03, 0.01))).setPos(
                    xc + 0.13, y - 0.08, zc - 0.012
                )
        sign_lit.flattenStrong()
        sign_lit.setColor(1.0, 0.85, 0.45, 1.0)
        shading.unlit(sign_lit)
        sign_lit.hide(SHADOW_MASK)
        self.belt_signs = sign_lit
        call_lights.flattenStrong()
        call_lights.setColor(0.35, 0.6, 1.0, 1.0)
        _lamp(call_lights)
        call_lights.hide()
        self.call_lights = call_lights
        # Cove light along the bins' tops and the ceiling: the cabin's mood lighting.
        cove = cab.attachNewNode("cove-light")
        for side in (-1, 1):
            strip = cove.attachNewNode(proc.plane("cove", 0.08, y1 - y0))
            strip.setPos(CABIN_CX + side * 0.5, (y0 + y1) / 2, CEILING_Z + 0.04)
            strip.setP(180.0)
        cove.flattenStrong()
        shading.unlit(cove)
        cove.hide(SHADOW_MASK)
        self.cove = cove
        # Seats: the patient's row and those behind stay; the rows ahead hide behind the front
        # row's bulkhead.
        self.rows_ahead = cab.attachNewNode("rows-ahead")
        for r in ROWS:
            parent = self.rows_ahead if r > 0 else static
            for unit_x in (SEAT_X[0], SEAT_X[3]):
                self._seat_unit(parent, unit_x, r * SEAT_PITCH_M + 0.1)
        self.rows_ahead.flattenStrong()
        # The front row's bulkhead: panels either side of the aisle, a curtain across it, an exit sign.
        bulkhead = cab.attachNewNode("bulkhead")
        part(
            bulkhead,
            proc.box("bulkhead-left", (1.75, 0.06, CEILING_Z)),
            (CABIN_CX - 1.0, 0.95, CEILING_Z / 2),
            texture="cabin-panel",
            mat=plastic,
        )
        part(
            bulkhead,
            proc.box("bulkhead-right", (1.75, 0.06, CEILING_Z)),
            (CABIN_CX + 1.0, 0.95, CEILING_Z / 2),
            texture="cabin-panel",
            mat=plastic,
        )
        part(
            bulkhead,
            proc.box("curtain", (0.3, 0.04, 2.0)),
            (CABIN_CX, 1.05, 1.0),
            texture="seat-fabric",
            mat=_material((0.6, 0.6, 0.7)),
        )
        part(
            bulkhead,
            proc.box("bulkhead-screen", (0.7, 0.02, 0.4)),
            (CABIN_CX - 1.05, 0.91, 1.55),
            mat=_material((0.04, 0.04, 0.05), specular=0.8, shininess=80),
        )
        bulkhead.flattenStrong()
        exit_sign = bulkhead.attachNewNode(proc.box("exit-sign", (0.35, 0.02, 0.12)))
        exit_sign.setPos(CABIN_CX, 0.92, 2.05)
        exit_sign.setColor(0.1, 0.85, 0.3, 1.0)
        _lamp(exit_sign)
        self.bulkhead = bulkhead
        static.flattenStrong()
        # Light: the cabin's own fill and two ceiling lamps, for the cabin only.
        self.cabin_fill = AmbientLight("cabin-fill")
        cab.setLight(cab.attachNewNode(self.cabin_fill))
        self.lamps: list[PointLight] = []
        for y in (1.2, 5.0):
            lamp = PointLight("cabin-lamp")
            lamp.setAttenuation(Vec3(1.0, 0.0, 0.12))
            node = cab.attachNewNode(lamp)
            node.setPos(CABIN_CX, y, 2.05)
            cab.setLight(node)
            self.lamps.append(lamp)

    def _seat_unit(self, parent: NodePath, x0: float, y: float) -> None:
        """Three seats side by side from ``x0`` (the left seat's middle) facing +Y: legs, cushions,
        backrests with headrest covers, armrests, and the back shell with its tray table."""
        fabric = _material((1.0, 1.0, 1.0), specular=0.05)
        shell = _material((0.3, 0.32, 0.38), specular=0.3)
        tray = _material((0.62, 0.63, 0.65), specular=0.35)
        cloth = _material((0.66, 0.7, 0.76), specular=0.02)
        metal = _material((0.25, 0.25, 0.27), specular=0.5)
        unit = parent.attachNewNode("seat-unit")
        unit.setPos(x0, y, 0.0)
        unit.hide(SHADOW_MASK)
        for dx in (0.1, 0.84):
            part(unit, proc.box("seat-leg", (0.05, 0.5, 0.38)), (dx, -0.02, 0.19), mat=metal)
        part(unit, proc.box("seat-beam", (1.35, 0.06, 0.06)), (0.47, 0.0, 0.36), mat=metal)
        for k in range(3):
            sx = k * 0.47
            part(
                unit,
                proc.box("cushion", (0.42, 0.46, 0.11)),
                (sx, 0.03, 0.44),
                texture="seat-fabric",
                mat=fabric,
            )
            back = unit.attachNewNode("backrest")
            back.setPos(sx, -0.24, 0.5)
            back.setP(8.0)  # leaning back
            part(
                back,
                proc.box("backrest", (0.42, 0.1, 0.6)),
                (0.0, 0.0, 0.3),
                texture="seat-fabric",
                mat=fabric,
            )
            part(back, proc.box("back-shell", (0.43, 0.03, 0.42)), (0.0, -0.065, 0.21), mat=shell)
            part(back, proc.box("tray-table", (0.34, 0.02, 0.26)), (0.0, -0.085, 0.27), mat=tray)
            part(
                back,
                proc.box("seat-pocket", (0.3, 0.03, 0.12)),
                (0.0, -0.09, 0.08),
                mat=_material((0.2, 0.2, 0.22)),
            )
            part(back, proc.box("headrest-cover", (0.26, 0.11, 0.12)), (0.0, 0.0, 0.545), mat=cloth)
        for k in range(4):
            part(unit, proc.box("armrest", (0.05, 0.42, 0.06)), (-0.235 + k * 0.47, 0.0, 0.64), mat=shell)

    def _build_passengers(self) -> None:
        rng = np.random.default_rng(29)
        slots = [(r, k) for r in PASSENGER_ROWS for k in range(6) if (r, k) != (0, 0)]
        order = [int(i) for i in rng.permutation(len(slots))]
        self.slots = [slots[i] for i in order]
        self.people: list[Figure] = []
        for i in range(MAX_PASSENGERS):
            p = Figure(
                self.cabin,
                rng=rng,
                height_m=float(rng.uniform(1.55, 1.9)),
                seated=True,
                shirt=SHIRTS[i % len(SHIRTS)],
                skin=SKINS[int(rng.integers(len(SKINS)))],
                hair=HAIRS[int(rng.integers(len(HAIRS)))],
                name=f"passenger-{i:02d}",
            )
            p.root.hide()
            p.root.hide(SHADOW_MASK)
            self.people.append(p)
        # Two people walking down the aisle while the cabin boards.
        self.boarders = [
            Figure(self.cabin, rng=rng, height_m=h, shirt=s, name=f"boarder-{k}")
            for k, (h, s) in enumerate(((1.78, (0.55, 0.3, 0.2)), (1.66, (0.2, 0.45, 0.5))))
        ]
        for b in self.boarders:
            b.root.setH(180.0)
            b.root.hide()

    # --------------------------------------------------------------------------------------- values

    def apply(self, values: Mapping[str, float]) -> None:
        self.phase = min(max(int(round(values.get("phase", 0.0))), 0), len(PHASES) - 1)
        self.seat = min(max(int(round(values.get("seat", 1.0))), 0), len(SEATS) - 1)
        self.night = values.get("night", 0.0) >= 0.5
        self.weather = min(max(int(round(values.get("weather", 0.0))), 0), 2)
        self.turbulence = min(max(values.get("turbulence", 0.0), 0.0), 1.0)
        self.n_passengers = min(max(int(round(values.get("passengers", 0.0))), 0), MAX_PASSENGERS)
        name = PHASES[self.phase]
        self.engine_level = ENGINE_LEVEL[name]
        self.belt_sign = name not in BELT_SIGN_OFF
        self.belt_signs.show() if self.belt_sign else self.belt_signs.hide()
        seat = SEATS[self.seat]
        self.airframe.setY(WING_Y[seat])
        front = seat == "front"
        self.rows_ahead.hide() if front else self.rows_ahead.show()
        self.bulkhead.show() if front else self.bulkhead.hide()
        self._place_passengers(front)
        self._show_phase(name)
        self._light()
        self.rain.set_level(0.0 if self.weather == 0 or name in ("cruise",) else 0.5 * self.weather)
        self.ride.set(vibration=VIBRATION[name] + 0.3 * self.turbulence, sway=self.turbulence)
        if "take-off-roll" in self.events or "landing-bump" in self.events:
            self._lend_runway()  # a ramp during a roll or a touchdown keeps the runway in view

    def _place_passengers(self, front: bool) -> None:
        shown = 0
        for person in self.people:
            person.root.hide()
        for r, k in self.slots:
            if shown >= self.n_passengers:
                break
            if front and r > 0:
                continue
            person = self.people[shown]
            person.root.setPos(SEAT_X[k], r * SEAT_PITCH_M + 0.05, 0.05)  # on the cushion
            person.root.show()
            distance = math.hypot(SEAT_X[k], r * SEAT_PITCH_M)
            self.schedule.set_interval(shown, max(update_interval_s(distance), 1 / 30))
            shown += 1
        self.passengers_shown = shown
        self.seated = self.people[:shown]
        boarding = PHASES[self.phase] == "boarding"
        for b in self.boarders:
            b.root.show() if boarding else b.root.hide()

    def _show_phase(self, name: str) -> None:
        """The view out of the window for the phase (the events lend it the runway for a while)."""
        altitude, pitch, speed = FLIGHT[name]
        self.altitude_m, self.pitch_deg, self.speed_m_s = altitude, pitch, speed
        at_gate = name in ("gate", "boarding", "engines-on")
        on_field = name in ("taxi", "take-off", "landing")
        high = name in ("cruise", "turbulence", "storm")
        self.gate.show() if at_gate else self.gate.hide()
        self.airfield.show() if on_field else self.airfield.hide()
        self.country.show() if high else self.country.hide()
        self.runway_marks.show() if name != "taxi" else self.runway_marks.hide()
        self.taxi_marks.show() if name == "taxi" else self.taxi_marks.hide()
        self.clouds_below.show() if name == "cruise" and not self.night else self.clouds_below.hide()
        for c in (self.clouds_near, self.clouds_near_right):
            c.show() if name in ("turbulence", "storm") else c.hide()
        if name == "storm":
            grey = 0.38 if not self.night else 0.16
            for c in (self.clouds_near, self.clouds_near_right):
                c.setColorScale(grey, grey, grey * 1.05, 1.0)
        else:
            g = 0.9 if not self.night else 0.22
            for c in (self.clouds_near, self.clouds_near_right):
                c.setColorScale(g, g, g, 1.0)
            g2 = 1.0 if not self.night else 0.18
            self.clouds_below.setColorScale(g2, g2, g2, 1.0)
        flaps = 22.0 if name in ("take-off", "landing") else 0.0
        for f in self.flaps:
            f.setP(-flaps)
        for s in self.spoilers:
            s.setP(0.0)
        self.ground.setZ(-self.eye_z + GROUND_Z - altitude)
        self.tilt.setP(-pitch)
        self.gate.setY(WING_Y[SEATS[self.seat]] + 1.5)

    def _light(self) -> None:
        name = PHASES[self.phase]
        night = 1.0 if self.night else 0.0
        overcast = {0: 0.0, 1: 0.7, 2: 1.0}[self.weather]
        if name in ("turbulence",):
            overcast = max(overcast, 0.5)
        storm = 1.0 if (self.weather == 2 or name == "storm") else 0.0
        high = name in ("cruise", "turbulence", "storm")
        if name == "cruise":
            overcast *= 0.3  # above the weather
            storm = 0.0
        dim = (1.0 - 0.55 * overcast) * (1.0 - 0.4 * storm)
        if self.night:
            self.sun.color = Vec4(0.12, 0.14, 0.22, 1.0)
            self.sun.ambient_color = Vec4(0.06, 0.07, 0.11, 1.0)
        else:
            self.sun.color = Vec4(1.15 * dim, 1.08 * dim, 0.98 * dim, 1.0)
            a = 0.35 + 0.2 * overcast
            self.sun.ambient_color = Vec4(a, a * 1.03, a * 1.12, 1.0)
        self.sun.set_level(1.0)
        self.sun_disc.show() if not self.night and overcast < 0.5 and storm == 0.0 else self.sun_disc.hide()
        fog_day = (0.74, 0.79, 0.88) if overcast < 0.5 else (0.58, 0.6, 0.63)
        fog = (0.05, 0.06, 0.09) if self.night else (fog_day if storm == 0.0 else (0.26, 0.27, 0.3))
        density = 0.0008 if high else 0.0022
        if name in ("turbulence", "storm"):
            density = 0.006 if name == "turbulence" else 0.01
        density += 0.004 * overcast * (0.0 if high else 1.0)
        self.fog.set(fog, density)
        key = (night, overcast, storm, *fog)
        if key != self._sky_key:
            self._sky_key = key
            recolor_sky(self.sky, self._gradient(night, overcast, storm, fog))
        # The cabin's lights: bright white by day, dimmed to a blue-violet mood at night.
        if self.night:
            fill, lamp, cove = (0.15, 0.15, 0.2), (0.26, 0.24, 0.28), (0.4, 0.38, 0.75)
        else:
            fill, lamp, cove = (0.22, 0.22, 0.23), (0.5, 0.49, 0.45), (0.95, 0.95, 0.9)
        self.cabin_fill.setColor(Vec4(*fill, 1.0))
        for lp in self.lamps:
            lp.setColor(Vec4(*lamp, 1.0))
        self.cove.setColor(*cove, 1.0)
        lit = self.night
        self.edge_lights.show() if lit or storm > 0 else self.edge_lights.hide()
        self.apron_lamps.show() if lit else self.apron_lamps.hide()
        self.terminal_glow.show() if lit else self.terminal_glow.hide()
        self.town_lights.show() if lit and name == "cruise" else self.town_lights.hide()
        self.nav_light.show() if lit or name != "gate" else self.nav_light.hide()

    # ------------------------------------------------------------------------------------ per frame

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        t = self.t_s
        # The seated passengers' idle motion is slow: each moves at 30 Hz at most (less the further
        # back it sits), at half that while only breathing and sway are left, spread over frames.
        seated = self.seated
        for k, step_s in self.schedule.due(dt_s, range(len(seated)), lambda k: seated[k].settled):
            seated[k].update(step_s)
        self._walk_boarders(dt_s)
        speed, altitude, pitch = self._motion()
        self.distance_m += speed * dt_s
        d = self.distance_m
        self.strip.setY(-(d % STRIP_PERIOD_M))
        self.far_tiles.setY(-(d % FAR_PERIOD_M) - FAR_PERIOD_M / 2)
        self.grass.setTexOffset(self.grass_stage, 0.0, (d / 4.0) % 1.0)
        self.country.setY(-(d % FIELD_TILE_M))
        cd = d * 0.9
        for c in (self.clouds_below, self.clouds_near, self.clouds_near_right):
            if not c.isHidden():
                c.setY(-(cd % CLOUD_PERIOD_M) - CLOUD_PERIOD_M / 2)
        self.ground.setZ(-self.eye_z + GROUND_Z - altitude)
        self.tilt.setP(-pitch)
        spin = self.engine_level + (0.5 if "take-off-roll" in self.events else 0.0)
        self.fan.setR((self.fan.getR() + 900.0 * spin * dt_s) % 360.0)
        if not self.nav_light.isHidden():
            self.strobe.show() if (t % 1.2) < 0.06 else self.strobe.hide()
        # Turbulence: random jolts at a rate that rises with its strength, the bins rattle, the wing flexes.
        if self.turbulence > 0.0 and self.rng.random() < self.turbulence * 0.7 * dt_s:
            self._jolts.append(
                (
                    t,
                    0.35 + 0.5 * self.turbulence * float(self.rng.random()),
                    float(self.rng.choice([-1.0, 1.0])),
                )
            )
        self._update_events()
        if self.weather == 2:  # the storm lights itself now and then
            if t >= self._next_strike:
                self.lightning.strike(self.rng)
                self._next_strike = t + 4.0 + 8.0 * float(self.rng.random())
        self.lightning.update(dt_s)
        self.rain.update(dt_s)
        self.ride.update(dt_s)
        shake = self._apply_jolts()
        rattle = min(self.turbulence + shake, 1.0)
        for k, doors in enumerate(self.bin_doors):
            doors.setR(0.35 * rattle * math.sin(2 * math.pi * (11.0 + 2.0 * k) * t))
        self.wing.setR(
            1.2 * self.turbulence * math.sin(2 * math.pi * 0.7 * t)
            + 2.0 * shake * math.sin(2 * math.pi * 3.0 * t)
        )

    def _walk_boarders(self, dt_s: float) -> None:
        for k, b in enumerate(self.boarders):
            if b.root.isHidden():
                continue
            b.update(dt_s)
            # Down the aisle toward the back, a slow step, stopping at a row now and then.
            u = ((self.t_s * 0.45 + 3.1 * k) % 7.0) / 7.0
            y = 7.0 - 5.5 * u
            b.root.setPos(CABIN_CX + 0.04 * math.sin(self.t_s * 5.0 + k), y, 0.0)

    def _motion(self) -> tuple[float, float, float]:
        """Ground speed (m/s), altitude (m) and nose-up pitch (deg) now, the events' included."""
        speed, altitude, pitch = self.speed_m_s, self.altitude_m, self.pitch_deg
        span = self.events.get("take-off-roll")
        if span is not None:
            u = (self.t_s - span[0]) / span[1]
            roll_u = min(u / 0.75, 1.0)
            speed = 5.0 + 75.0 * roll_u
            rot = _ease((u - 0.7) / 0.3)
            pitch = 9.0 * rot
            altitude = 25.0 * rot * rot
        span = self.events.get("landing-bump")
        if span is not None:
            u = (self.t_s - span[0]) / span[1]
            speed = 70.0 - 35.0 * u
            altitude = 3.0 * max(0.0, 1.0 - u / 0.1)
            pitch = 3.0 * (1.0 - _ease(u / 0.5))
        return speed, altitude, pitch

    def _apply_jolts(self) -> float:
        """Add the live jolts to the cabin's ride pose; returns how hard the cabin shakes (0-1)."""
        t = self.t_s
        z = roll = 0.0
        live = []
        shake = 0.0
        for t0, amp, sign in self._jolts:
            a = t - t0
            if a > 1.0:
                continue
            live.append((t0, amp, sign))
            if a < 0.0:  # a burst's later jolt, not yet
                continue
            k = math.exp(-a / 0.22)
            z += amp * k * math.sin(2 * math.pi * 4.5 * a)
            roll += sign * amp * k * math.sin(2 * math.pi * 3.2 * a + 0.6)
            shake = max(shake, amp * k)
        self._jolts = live
        if not live:
            return 0.0
        # Overlapping jolts add up softly, never beyond the caps.
        z = math.tanh(z) * JOLT_M
        roll = math.tanh(roll) * JOLT_DEG
        self.cabin.setZ(self.cabin.getZ() + z)
        self.cabin.setR(self.cabin.getR() + roll)
        return shake

    # ---------------------------------------------------------------------------------------- events

    def start_event(self, name: str, event: Event) -> None:
        t = self.t_s
        self.events[name] = (t, max(event.duration_s, 0.1))
        strength = min(max(self.event_strength(name), 0.0), 1.0)
        if name == "take-off-roll":
            self._lend_runway()
        elif name == "landing-bump":
            self._lend_runway()
            self._jolts.append((t + 0.0, 0.4 + 0.6 * strength, 1.0))
        elif name == "turbulence-burst":
            # Five to seven jolts over the event, the strength scaling them.
            n = int(self.rng.integers(5, 8))
            starts = np.sort(self.rng.uniform(0.0, max(event.duration_s - 1.0, 0.2), n))
            for s in starts:
                self._jolts.append(
                    (
                        t + float(s),
                        (0.4 + 0.6 * float(self.rng.random())) * (0.15 + 0.85 * strength),
                        float(self.rng.choice([-1.0, 1.0])),
                    )
                )
            for person in self.people:
                if not person.root.isHidden():
                    person.gesture("nod", float(self.rng.uniform(0.5, 0.9)))
        elif name == "captain-announcement":
            self.call_lights.show()
            for person in self.people:
                if not person.root.isHidden():
                    person.look_at(self.speaker.getPos(self.cabin) + Vec3(0, 0, 0.4), self.cabin)
        self._update_events()

    def _lend_runway(self) -> None:
        """Show the airfield for a take-off roll or a touchdown, whatever the phase shows."""
        self.gate.hide()
        self.country.hide()
        for c in (self.clouds_below, self.clouds_near, self.clouds_near_right):
            c.hide()
        self.airfield.show()
        self.runway_marks.show()
        self.taxi_marks.hide()
        for f in self.flaps:
            f.setP(-22.0)

    def _update_events(self) -> None:
        for name, (t0, dur) in list(self.events.items()):
            u = (self.t_s - t0) / dur
            if u >= 1.0:
                del self.events[name]
                if name in ("take-off-roll", "landing-bump"):
                    self._show_phase(PHASES[self.phase])
                    self._light()
                elif name == "captain-announcement":
                    self.call_lights.hide()
                    for person in self.people:
                        person.look_ahead()
                continue
            if name == "landing-bump":
                up = 45.0 * _ease(min(max((u - 0.08) / 0.1, 0.0), 1.0)) * (1.0 - _ease((u - 0.75) / 0.25))
                for s in self.spoilers:
                    s.setP(up)

    def event_running(self, name: str) -> bool:
        return name in self.events

    def anchor(self, name: str) -> NodePath | None:
        if name == "engine":
            return self.engine_anchor
        if name == "speaker":
            return self.speaker
        return None

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        """At the gate, into the cabin as it fills: to the right along the row in the front row,
        down the cabin from a seat further back. Once the engines run, out of the window beside the
        patient (the wing, the ground, the clouds)."""
        if PHASES[self.phase] in ("gate", "boarding"):
            return (-58.0, -10.0) if SEATS[self.seat] == "front" else (-12.0, -4.0)
        return 64.0, -5.0


@register_builder("flying")
def build_flying(ctx: BuildContext) -> SceneInstance:
    return FlyingScene(ctx)
