"""The ``road-accident`` builder: the patient rides in a car that drives itself.

The patient's eyes are at the origin, 1.2 m above the road, looking along +Y. The car (dashboard,
bonnet, pillars, roof, steering wheel, wipers) rides in a *cabin* node that only
:class:`~vr_exposure.renderer.blocks.ride.RideMotion` and a collision's jolt move; ``driver_seat``
slides the whole car sideways so the wheel is in front of the patient or to the left. The car never
moves along the road: the road, the scenery (village houses and junctions, or a highway with a
median barrier) and the traffic scroll past at ``speed_km_h``, each scenery strip wrapping round
behind the fog, so nothing is built after the constructor. The patient never steers.

A collision's jolt is the one motion beyond the ride block's caps, and a brief one: a damped shake of
at most :data:`JOLT_M` (3 cm) and :data:`JOLT_DEG` (2 degrees) that dies away within
:data:`JOLT_S` (0.9 s).

Every triggered vehicle (a lorry, a car cutting in, a drifting car, an emergency vehicle, a wreck
with a police car) is built once, hidden, and driven along a fixed path while its event runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from panda3d.core import (
    AmbientLight,
    Material,
    NodePath,
    PointLight,
    TextureStage,
    TransparencyAttrib,
    Vec3,
    Vec4,
)

from vr_exposure.core.contract import STIMULUS_TAG_KEY
from vr_exposure.core.specs import Event
from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, glow, material, part
from vr_exposure.renderer.blocks.ride import RideMotion
from vr_exposure.renderer.blocks.sky import TimeOfDay
from vr_exposure.renderer.blocks.vehicles import Car, road
from vr_exposure.renderer.blocks.weather import Rain
from vr_exposure.renderer.builders import register_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance
from vr_exposure.renderer.builders.road_accident import sounds as _sounds  # noqa: F401 - registers its sounds
from vr_exposure.renderer.builders.road_accident.contract import CONTRACT, MAX_TRAFFIC

LANE_M = 3.5
#: The seat's offset from the car's centre line (left-hand drive: the driver sits on the left).
SEAT_X_M = 0.37
#: One strip of scenery; strips wrap round every STRIP_M.
STRIP_M = 120.0
STRIPS = 4
#: The road's markings repeat every 8 m (3 m dash, 5 m gap), two asphalt texture tiles.
ROAD_PERIOD_M = 8.0
ROAD_LENGTH_M = 480.0
#: Traffic lives between these distances along the road (behind / ahead of the patient's car).
BEHIND_M, AHEAD_M = -45.0, 230.0
#: The safe place's warm dusk colour (its fog), the colour the view fades to in collision-fade.
SAFE_COLOUR = (0.93, 0.72, 0.58)
TAG = CONTRACT.stimulus_tag or "traffic"
JOLT_M = 0.03
JOLT_DEG = 2.0
JOLT_S = 0.9
CAR_COLOURS = (
    (0.55, 0.05, 0.05),
    (0.12, 0.25, 0.55),
    (0.75, 0.75, 0.78),
    (0.1, 0.1, 0.1),
    (0.2, 0.4, 0.25),
    (0.85, 0.85, 0.8),
    (0.45, 0.3, 0.15),
    (0.3, 0.3, 0.35),
)


def _ease(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


def _lights(parent: NodePath, length_m: float, width_m: float, z_m: float) -> tuple[NodePath, NodePath]:
    """Glowing head and tail lamps of a vehicle facing +Y, and a wet-road reflection of its headlamps;
    both hidden until night or rain."""
    lights = parent.attachNewNode("lamps")
    for x in (-width_m / 2 + 0.25, width_m / 2 - 0.25):
        head = lights.attachNewNode(proc.box("head-glow", (0.3, 0.05, 0.14)))
        head.setPos(x, length_m / 2 + 0.03, z_m)
        head.setColor(1.0, 0.95, 0.8, 1.0)
        tail = lights.attachNewNode(proc.box("tail-glow", (0.3, 0.05, 0.12)))
        tail.setPos(x, -length_m / 2 - 0.03, z_m + 0.05)
        tail.setColor(0.9, 0.05, 0.03, 1.0)
    lights.flattenStrong()
    glow(lights)
    lights.hide()
    shine = parent.attachNewNode(proc.plane("wet-shine", 1.6, 9.0, color=(0.55, 0.5, 0.4, 1.0)))
    shine.setPos(0.0, length_m / 2 + 4.5, 0.03)
    glow(shine)
    shine.hide()
    return lights, shine


@dataclass
class Vehicle:
    """A traffic car and where it is: lane centre ``x``, distance ahead ``y`` (both in the rig), its
    own speed along the road (negative: oncoming) as a multiple of the traffic's base speed."""

    car: Car
    lights: NodePath
    shine: NodePath
    x: float = 0.0
    y: float = 0.0
    pace: float = 1.0
    phase: float = 0.0
    oncoming: bool = False
    follows: bool = False


class RoadAccidentScene(SceneInstance):
    def __init__(self, ctx: BuildContext) -> None:
        root = ctx.parent.attachNewNode(f"scene-{ctx.spec.id}")
        super().__init__(root)
        self.rng = ctx.rng
        self.eye_m = ctx.eye_height_m
        self.t_s = 0.0
        shading.apply_scene_shader(root, shadows=ctx.shadow_size_px > 0)
        self.sky = TimeOfDay(
            root,
            focus=(0.0, 12.0, 0.0),
            film_m=40.0,
            shadow_size_px=ctx.shadow_size_px,
            heading_deg=-12.0,
            sky_radius_m=420.0,
            fog_density=0.006,
        )
        # Night fill: the glow of the town and the dashboard, so a night road stays readable.
        self.fill = AmbientLight("night-fill")
        self.fill.setColor(Vec4(0, 0, 0, 1))
        root.setLight(root.attachNewNode(self.fill))
        self.rig = root.attachNewNode("rig")
        self.world = self.rig.attachNewNode("world")
        self._build_ground()
        self._build_roads()
        self.village = self._build_strips("village", self._village_strip)
        self.highway = self._build_strips("highway", self._highway_strip)
        self.village_strips = list(self.village.getChildren())
        self.highway_strips = list(self.highway.getChildren())
        self._build_traffic()
        self._build_event_vehicles()
        self.cabin = self.rig.attachNewNode("cabin")
        self._build_cabin()
        self.ride = RideMotion(self.cabin)
        self.rain = Rain(self.rig, area_m=18.0, height_m=7.0, drops=1400, groups=8)
        self.rain.node.setY(13.0)
        self.headlamp = PointLight("headlamps")
        self.headlamp.setColor(Vec4(0, 0, 0, 1))
        self.headlamp.setAttenuation(Vec3(1.0, 0.04, 0.006))
        lamp = self.cabin.attachNewNode(self.headlamp)
        lamp.setPos(0.0, 14.0, 2.0)
        root.setLight(lamp)
        self._build_fade()
        self._wet_key = -1
        self._lanes_set = False
        self._values: dict[str, float] = {}
        self.distance_m = 0.0
        self.speed_m_s = 0.0
        self.brake = 1.0  # a multiple of the speed: hard braking dips it
        self.rain_level = 0.0
        self.aggression = 0.0
        self.highway_on = False
        self.wiper_phase = 0.0
        self.events: dict[str, tuple[float, float]] = {}  # name -> (start s, duration s)
        self._jolt_t = -1.0

    # ------------------------------------------------------------------------------------ building

    def _build_ground(self) -> None:
        ground = part(
            self.rig,
            proc.plane("verge", 900.0, 900.0, uv_repeat=(225, 225)),
            (0.0, 150.0, -0.02),
            texture="grass",
            mat=material((0.85, 0.9, 0.8), specular=0.02),
        )
        self.ground = ground
        self.ground_stage = TextureStage.getDefault()

    def _build_roads(self) -> None:
        self.road_mats: list[NodePath] = []
        roads = self.world.attachNewNode("roads")
        self.roads = roads
        near = road(roads, length_m=ROAD_LENGTH_M, lanes=2, center=(-LANE_M / 2, 0.0), dash_m=3.0, gap_m=5.0)
        near.setName("road")
        self.road_mats.append(near)
        far = road(
            roads, length_m=ROAD_LENGTH_M, lanes=2, center=(-LANE_M / 2 - 10.0, 0.0), dash_m=3.0, gap_m=5.0
        )
        far.setName("oncoming-carriageway")
        self.road_mats.append(far)
        self.far_road = far
        roads.setY(ROAD_LENGTH_M / 2 - 60.0)
        self.roads_y0 = roads.getY()

    def _build_strips(self, name: str, fill: object) -> NodePath:
        holder = self.world.attachNewNode(name)
        first = holder.attachNewNode(f"{name}-strip")
        fill(first)  # type: ignore[operator]
        first.flattenStrong()
        for _ in range(1, STRIPS):
            first.copyTo(holder)
        for k, strip in enumerate(holder.getChildren()):
            strip.setY(k * STRIP_M - 60.0)
        holder.hide()
        return holder

    def _village_strip(self, strip: NodePath) -> None:
        rng = self.rng
        walls = [
            material(c, specular=0.05) for c in ((0.86, 0.8, 0.7), (0.75, 0.72, 0.68), (0.9, 0.86, 0.78))
        ]
        roof = material((0.5, 0.22, 0.15), specular=0.05)
        for side in (-1, 1):
            y = float(rng.uniform(0, 10))
            while y < STRIP_M - 12:
                if abs(y - 60.0) < 10:  # the junction
                    y += 14
                    continue
                w, d, h = float(rng.uniform(7, 11)), float(rng.uniform(6, 9)), float(rng.uniform(4.5, 7))
                x = (LANE_M / 2 + 7.0 + d / 2) if side > 0 else (-LANE_M * 1.5 - 7.0 - d / 2)
                part(strip, proc.box("house", (d, w, h)), (x, y + w / 2, h / 2), mat=walls[int(y) % 3])
                r = part(strip, proc.box("roof", (d + 0.6, w + 0.4, 1.2)), (x, y + w / 2, h + 0.5), mat=roof)
                r.setScale(1.0, 1.0, 1.0)
                y += w + float(rng.uniform(4, 12))
        # The junction: a side road across, and kerbs along the main road.
        part(
            strip,
            proc.plane("side-road", 120.0, 6.5, uv_repeat=(30, 1.6)),
            (0.0, 60.0, 0.004),
            texture="asphalt",
        )
        stop = material((0.95, 0.95, 0.9), specular=0.1)
        for x in (-LANE_M * 1.5 - 0.3, LANE_M / 2 + 0.3):
            part(strip, proc.box("kerb", (0.25, STRIP_M, 0.12)), (x, STRIP_M / 2, 0.06), mat=stop)
        pole = material((0.3, 0.3, 0.32), specular=0.2)
        for y in (10.0, 40.0, 70.0, 100.0):
            part(
                strip,
                proc.cylinder("lamp-post", 0.07, 6.0, segments=6),
                (LANE_M / 2 + 1.2, y, 0.0),
                mat=pole,
                hpr=(0, 90, 0),
            )
            part(strip, proc.box("lamp-arm", (1.4, 0.12, 0.12)), (LANE_M / 2 + 0.6, y, 6.0), mat=pole)
        trunk = material((0.35, 0.25, 0.15))
        leaves = material((0.2, 0.38, 0.16), specular=0.02)
        for _ in range(10):
            x = float(rng.choice([-1, 1])) * float(rng.uniform(18, 40))
            y = float(rng.uniform(0, STRIP_M))
            part(strip, proc.cylinder("trunk", 0.2, 2.5, segments=6), (x, y, 0.0), mat=trunk, hpr=(0, 90, 0))
            crown = part(strip, proc.sphere("crown", 2.2, rings=5, segments=8), (x, y, 3.8), mat=leaves)
            crown.setScale(1.0, 1.0, 1.3)

    def _village_lamps(self) -> NodePath:
        lamps = self.village.attachNewNode("street-lamps")
        for k in range(STRIPS):
            for y in (10.0, 40.0, 70.0, 100.0):
                bulb = lamps.attachNewNode(proc.box("lamp-bulb", (0.5, 0.3, 0.1)))
                bulb.setPos(LANE_M / 2, k * STRIP_M - 60.0 + y, 5.9)
                bulb.setColor(1.0, 0.8, 0.5, 1.0)
        return lamps

    def _highway_strip(self, strip: NodePath) -> None:
        rng = self.rng
        steel = material((0.65, 0.66, 0.68), specular=0.5, shininess=40)
        concrete = material((0.7, 0.7, 0.68), specular=0.05)
        part(
            strip,
            proc.box("median", (0.6, STRIP_M, 0.8)),
            (-LANE_M * 1.5 - 3.0, STRIP_M / 2, 0.4),
            mat=concrete,
        )
        part(
            strip,
            proc.box("guard-rail", (0.08, STRIP_M, 0.3)),
            (LANE_M / 2 + 1.4, STRIP_M / 2, 0.65),
            mat=steel,
        )
        for post in range(0, int(STRIP_M), 4):
            part(
                strip,
                proc.box("rail-post", (0.1, 0.1, 0.7)),
                (LANE_M / 2 + 1.5, float(post), 0.35),
                mat=steel,
            )
        for y in (20.0, 80.0):
            part(
                strip,
                proc.cylinder("light-pole", 0.09, 10.0, segments=6),
                (-LANE_M * 1.5 - 3.0, y, 0.0),
                mat=steel,
                hpr=(0, 90, 0),
            )
        leaves = material((0.22, 0.34, 0.18), specular=0.02)
        for _ in range(12):
            x = float(rng.choice([-1, 1])) * float(rng.uniform(25, 60)) - 5.0
            y = float(rng.uniform(0, STRIP_M))
            crown = part(strip, proc.sphere("crown", 3.0, rings=5, segments=8), (x, y, 3.0), mat=leaves)
            crown.setScale(1.0, 1.0, 1.4)
        sign = material((0.1, 0.35, 0.2), specular=0.2)
        part(strip, proc.box("sign", (3.0, 0.1, 1.6)), (LANE_M / 2 + 3.0, 100.0, 3.2), mat=sign)
        part(
            strip,
            proc.cylinder("sign-post", 0.06, 2.6, segments=6),
            (LANE_M / 2 + 3.0, 100.0, 0.0),
            mat=steel,
            hpr=(0, 90, 0),
        )

    def _tag(self, node: NodePath) -> None:
        node.setTag(STIMULUS_TAG_KEY, TAG)

    def _build_traffic(self) -> None:
        holder = self.world.attachNewNode("traffic")
        self.traffic: list[Vehicle] = []
        for i in range(MAX_TRAFFIC):
            car = Car(holder, color=CAR_COLOURS[i % len(CAR_COLOURS)], name=f"traffic-{i}")
            self._tag(car.root)
            lights, shine = _lights(car.root, 4.4, 1.8, 0.8)
            car.root.hide()
            self.traffic.append(Vehicle(car, lights, shine, phase=float(self.rng.uniform(0, 2 * math.pi))))
        self.street_lamps = self._village_lamps()
        glow(self.street_lamps)
        self.street_lamps.hide()

    def _truck(self) -> NodePath:
        truck = self.world.attachNewNode("truck")
        body = truck.attachNewNode("truck-body")
        part(
            body,
            proc.box("trailer", (2.5, 9.5, 2.8)),
            (0.0, -1.6, 2.3),
            mat=material((0.85, 0.85, 0.82), specular=0.2),
        )
        part(
            body,
            proc.box("cab", (2.5, 2.2, 2.6)),
            (0.0, 4.4, 1.9),
            mat=material((0.2, 0.3, 0.55), specular=0.5),
        )
        part(
            body,
            proc.box("windscreen", (2.3, 0.05, 1.0)),
            (0.0, 5.51, 2.5),
            mat=material((0.08, 0.1, 0.12), specular=0.9),
        )
        tyre = material((0.05, 0.05, 0.05))
        for y in (-5.0, -3.8, 4.2):
            for x in (-1.1, 1.1):
                part(
                    body,
                    proc.cylinder("truck-tyre", 0.5, 0.4, segments=12),
                    (x - 0.2, y, 0.5),
                    hpr=(-90, 0, 0),
                    mat=tyre,
                )
        body.flattenStrong()
        self._tag(truck)
        lights, _ = _lights(truck, 11.6, 2.5, 0.9)
        lights.setY(-0.5)
        self.truck_lights = lights
        truck.hide()
        return truck

    def _build_event_vehicles(self) -> None:
        self.truck = self._truck()
        self.cutter = Car(self.world, color=(0.95, 0.8, 0.1), name="cutter")
        self.cutter_lights, _ = _lights(self.cutter.root, 4.4, 1.8, 0.8)
        self.drifter = Car(self.world, color=(0.5, 0.1, 0.4), name="drifter")
        self.drifter_lights, _ = _lights(self.drifter.root, 4.4, 1.8, 0.8)
        self.emergency = Car(self.world, color=(0.95, 0.95, 0.95), name="emergency")
        self.emergency_lights, _ = _lights(self.emergency.root, 4.4, 1.8, 0.8)
        self.beacons = self._beacons(self.emergency.root, 1.66, ((0.1, 0.3, 1.0), (0.1, 0.3, 1.0)))
        for car in (self.cutter, self.drifter, self.emergency):
            self._tag(car.root)
            car.root.hide()
        # The accident scene: two wrecked cars on the verge, a police car, cones, a warning triangle.
        wreck = self.world.attachNewNode("accident-scene")
        a = Car(wreck, color=(0.35, 0.4, 0.5), name="wreck-a")
        a.root.setPosHpr(LANE_M / 2 + 2.6, 0.0, 0.15, 38.0, 4.0, 12.0)
        b = Car(wreck, color=(0.6, 0.1, 0.08), name="wreck-b")
        b.root.setPosHpr(LANE_M / 2 + 4.5, 6.5, 0.0, -128.0, 0.0, -4.0)
        dent = material((0.15, 0.15, 0.15), specular=0.1)
        part(a.root, proc.box("crumple", (1.7, 0.9, 0.5)), (0.1, 2.0, 0.75), mat=dent, hpr=(8, -10, 6))
        police = Car(wreck, color=(0.92, 0.92, 0.95), name="police")
        police.root.setPos(LANE_M / 2 + 2.4, -14.0, 0.0)
        stripe = material((0.1, 0.2, 0.7))
        part(police.root, proc.box("stripe", (1.84, 3.6, 0.14)), (0.0, 0.0, 0.75), mat=stripe)
        self.wreck_beacons = self._beacons(police.root, 1.66, ((0.1, 0.3, 1.0), (1.0, 0.55, 0.05)))
        orange = material((1.0, 0.42, 0.05), specular=0.2)
        for k in range(6):
            part(
                wreck,
                proc.cylinder("cone", 0.16, 0.7, segments=8, radius_end=0.02),
                (LANE_M / 2 - 0.2 + 0.25 * k, -24.0 + 3.5 * k, 0.0),
                mat=orange,
                hpr=(0, 90, 0),
            )
        part(
            wreck,
            proc.box("triangle", (0.7, 0.05, 0.6)),
            (LANE_M / 2 - 0.4, -36.0, 0.3),
            mat=material((0.95, 0.1, 0.05)),
        )
        for node in (a.root, b.root, police.root):
            self._tag(node)
        wreck.hide()
        self.wreck = wreck

    def _beacons(
        self, parent: NodePath, z_m: float, colours: tuple[tuple[float, float, float], ...]
    ) -> list[NodePath]:
        out = []
        for k, (x, c) in enumerate(zip((-0.35, 0.35), colours, strict=True)):
            b = parent.attachNewNode(proc.box(f"beacon-{k}", (0.45, 0.3, 0.16)))
            b.setPos(x, -0.2, z_m)
            b.setColor(c[0], c[1], c[2], 1.0)
            glow(b)
            out.append(b)
        return out

    def _build_cabin(self) -> None:
        cab = self.cabin
        trim = material((0.09, 0.09, 0.1), specular=0.15)
        paint = material((0.16, 0.2, 0.28), specular=0.7, shininess=60)
        grey = material((0.32, 0.32, 0.34), specular=0.1)
        shell = cab.attachNewNode("shell")
        part(shell, proc.box("dashboard", (1.56, 0.55, 0.3)), (0.0, 0.95, 0.8), mat=trim)
        part(shell, proc.box("dash-top", (1.56, 0.3, 0.05)), (0.0, 1.05, 0.96), mat=grey)
        part(shell, proc.box("bonnet", (1.75, 1.8, 0.1)), (0.0, 2.15, 0.86), mat=paint, hpr=(0, -4, 0))
        part(shell, proc.box("roof-lining", (1.5, 1.8, 0.05)), (0.0, -0.45, 1.5), mat=grey)
        part(shell, proc.box("header", (1.5, 0.12, 0.1)), (0.0, 0.42, 1.46), mat=trim)
        for x in (-0.74, 0.74):
            p = part(shell, proc.box("a-pillar", (0.06, 0.08, 0.8)), (x, 0.75, 1.2), mat=trim)
            p.setP(50.0)
            part(shell, proc.box("door", (0.06, 2.0, 0.55)), (x * 1.05, -0.1, 0.62), mat=grey)
            part(shell, proc.box("sill", (0.08, 2.0, 0.05)), (x * 1.05, -0.1, 0.92), mat=trim)
        part(shell, proc.box("mirror", (0.2, 0.03, 0.06)), (0.0, 0.62, 1.38), mat=trim)
        part(shell, proc.box("console", (0.3, 0.7, 0.3)), (0.0, 0.45, 0.5), mat=trim)
        # The steering wheel in front of the driver's seat, tilted toward them.
        wheel = part(
            shell,
            proc.cylinder("steering-rim", 0.19, 0.03, segments=18, caps=False),
            (-SEAT_X_M, 0.58, 0.95),
            mat=trim,
            hpr=(0, -62, 0),
        )
        wheel.setTwoSided(True)
        part(
            shell,
            proc.cylinder("steering-column", 0.035, 0.35, segments=6),
            (-SEAT_X_M, 0.62, 0.95),
            mat=trim,
            hpr=(0, -28, 0),
        )
        shell.flattenStrong()
        # Instruments: faintly glowing dials behind the wheel.
        dials = cab.attachNewNode(proc.box("dials", (0.36, 0.02, 0.1)))
        dials.setPos(-SEAT_X_M, 0.72, 1.0)
        dials.setColor(0.04, 0.1, 0.14, 1.0)
        glow(dials)
        self.dials = dials
        # Wipers pivot at the foot of the windscreen and sweep across it.
        blade_mat = material((0.05, 0.05, 0.05))
        self.wipers: list[NodePath] = []
        for x in (-0.55, 0.15):
            pivot = cab.attachNewNode("wiper-pivot")
            pivot.setPos(x, 1.0, 0.99)
            pivot.setP(34.0)  # lie in the windscreen's plane
            arm = pivot.attachNewNode("wiper")
            part(arm, proc.box("wiper-blade", (0.02, 0.01, 0.6)), (0.0, 0.0, 0.3), mat=blade_mat)
            arm.setR(-84.0)
            self.wipers.append(arm)

    def _build_fade(self) -> None:
        fade = self.root.attachNewNode(proc.sphere("safe-colour", 0.4, rings=6, segments=10, inside=True))
        fade.setPos(0.0, 0.0, self.eye_m)
        fade.setColor(SAFE_COLOUR[0], SAFE_COLOUR[1], SAFE_COLOUR[2], 1.0)
        shading.unlit(fade)
        fade.setTransparency(TransparencyAttrib.M_alpha)
        fade.setBin("fixed", 100)
        fade.setDepthTest(False)
        fade.setDepthWrite(False)
        fade.setTwoSided(True)
        fade.hide(SHADOW_MASK)
        fade.hide()
        self.fade = fade

    # --------------------------------------------------------------------------------------- values

    def apply(self, values: Mapping[str, float]) -> None:
        self._values = dict(values)
        driver = values.get("driver_seat", 0.0) >= 0.5
        self.rig.setX(SEAT_X_M if driver else -SEAT_X_M)
        highway = values.get("road_type", 0.0) >= 0.5
        if highway != self.highway_on or not self._lanes_set:
            self._lanes_set = True
            self.highway_on = highway
            self._assign_lanes()
        if highway:
            self.highway.show()
            self.village.hide()
            self.far_road.show()
        else:
            self.village.show()
            self.highway.hide()
            self.far_road.hide()
        self.speed_m_s = values.get("speed_km_h", 0.0) / 3.6
        self.aggression = min(max(values.get("aggression", 0.0), 0.0), 1.0)
        count = int(round(min(max(values.get("traffic_density", 0.0), 0.0), 1.0) * MAX_TRAFFIC))
        for i, v in enumerate(self.traffic):
            if i < count:
                v.car.root.show()
            else:
                v.car.root.hide()
        elevation = values.get("sun_elevation_deg", 30.0)
        rain = min(max(values.get("rain", 0.0), 0.0), 1.0)
        self.rain_level = rain
        self.sky.fog.density = 0.006 + 0.018 * rain
        self.sky.set(elevation_deg=elevation, warmth=min(max(1.0 - (elevation - 2.0) / 28.0, 0.0), 1.0))
        self.sky.sun.set_level(1.0 - 0.55 * rain)
        night = min(max((4.0 - elevation) / 12.0, 0.0), 1.0)
        self.fill.setColor(Vec4(0.21 * night, 0.22 * night, 0.27 * night, 1))
        self.headlamp.setColor(
            Vec4(1.1 * night, 1.05 * night, 0.9 * night, 1) if night > 0 else Vec4(0, 0, 0, 1)
        )
        lamps_on = night > 0.2 or rain > 0.4
        for node in [v.lights for v in self.traffic] + [
            self.truck_lights,
            self.cutter_lights,
            self.drifter_lights,
            self.emergency_lights,
        ]:
            if lamps_on:
                node.show()
            else:
                node.hide()
        for v in self.traffic:
            if lamps_on and rain > 0.2 and v.oncoming:
                v.shine.show()
                v.shine.setColorScale(rain, rain, rain, 1.0)
            else:
                v.shine.hide()
        if night > 0.2 and not highway:
            self.street_lamps.show()
        else:
            self.street_lamps.hide()
        self.dials.setColorScale(1.0 + night, 1.0 + night, 1.0 + night, 1.0)
        self.rain.set_level(rain)
        self._set_wet(rain)
        moving = min(self.speed_m_s / 30.0, 1.0)
        self.ride.set(vibration=0.15 + 0.55 * moving, sway=0.35 * moving)

    def _set_wet(self, rain: float) -> None:
        """A wet road is darker and shinier: glare from the sun, the lamps and the headlamps."""
        key = int(round(rain * 10))
        if key == self._wet_key:
            return
        self._wet_key = key
        w = key / 10.0
        mat = Material()
        d = 1.0 - 0.45 * w
        mat.setDiffuse(Vec4(d, d, d, 1))
        mat.setAmbient(Vec4(d, d, d, 1))
        s = 0.05 + 0.9 * w
        mat.setSpecular(Vec4(s, s, s, 1))
        mat.setShininess(10.0 + 70.0 * w)
        for r in self.road_mats:
            r.setMaterial(mat, 2)

    def _assign_lanes(self) -> None:
        """Which lane each traffic car drives in, how far ahead it starts and at what pace."""
        rng = self.rng
        for i, v in enumerate(self.traffic):
            kind = i % 4
            if self.highway_on:
                lanes = {
                    0: (0.0, False),
                    1: (-LANE_M, False),
                    2: (-10.0 - LANE_M / 2 + LANE_M / 2, True),
                    3: (-10.0 - LANE_M, True),
                }
            else:
                lanes = {0: (0.0, False), 1: (-LANE_M, True), 2: (-LANE_M, True), 3: (0.0, False)}
            v.x, v.oncoming = lanes[kind]
            v.follows = v.x == 0.0 and not v.oncoming
            v.y = (
                float(rng.uniform(-20.0, 90.0) if kind == 1 else rng.uniform(20.0, 150.0))
                if not v.follows
                else 22.0 + 28.0 * (i // 4) + float(rng.uniform(0, 6))
            )
            if v.oncoming:
                v.pace = -float(rng.uniform(0.85, 1.1))
                v.car.root.setH(180.0)
            else:
                v.pace = 1.0 if v.follows else float(rng.uniform(1.08, 1.25))
                v.car.root.setH(0.0)

    # ------------------------------------------------------------------------------------ per frame

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        t = self.t_s
        v_own = self.speed_m_s * self._brake_factor()
        self.distance_m += v_own * dt_s
        d = self.distance_m
        self.roads.setY(self.roads_y0 - (d % ROAD_PERIOD_M))
        shift = d % STRIP_M
        for holder, strips in ((self.village, self.village_strips), (self.highway, self.highway_strips)):
            if holder.isHidden():
                continue
            for k, strip in enumerate(strips):
                strip.setY(k * STRIP_M - 60.0 - shift)
        self.street_lamps.setY(-shift)
        self.ground.setTexOffset(self.ground_stage, 0.0, (d / 4.0) % 1.0)
        base = max(v_own, 11.0) if not self.highway_on else max(v_own, 22.0)
        aggr = self.aggression
        for v in self.traffic:
            if v.car.root.isHidden():
                continue
            if v.follows:
                pace_m_s = v_own + 1.2 * math.sin(0.25 * t + v.phase) * (1.0 + 2.0 * aggr)
            else:
                pace_m_s = base * (v.pace + (0.25 * aggr if v.pace > 0 else 0.0))
            v.y += (pace_m_s - v_own) * dt_s
            if v.y > AHEAD_M:
                v.y = BEHIND_M
            elif v.y < BEHIND_M:
                v.y = AHEAD_M
            if v.follows and v.y < 12.0:
                v.y = 12.0
            weave = 0.45 * aggr * math.sin(0.9 * t + v.phase)
            v.car.root.setPos(v.x + weave, v.y, 0.0)
            v.car.root.setH((180.0 if v.oncoming else 0.0) + 3.0 * aggr * math.cos(0.9 * t + v.phase))
            # The traffic's tyres are plain dark cylinders: turning them would change no pixel, so
            # the frame loop does not (four transforms per car per frame saved).
        self._update_events(dt_s)
        self.ride.update(dt_s)
        self._update_jolt()
        self.rain.update(dt_s)
        rain = self.rain_level
        if rain > 0.05:
            self.wiper_phase += dt_s * (0.6 + 0.9 * rain)
            sweep = 0.5 - 0.5 * math.cos(2 * math.pi * self.wiper_phase)
            for arm in self.wipers:
                arm.setR(-84.0 + 88.0 * sweep)
        else:
            self.wiper_phase = 0.0
            for arm in self.wipers:
                arm.setR(-84.0)

    def _brake_factor(self) -> float:
        span = self.events.get("hard-braking")
        if span is None:
            return 1.0
        u = (self.t_s - span[0]) / span[1]
        if u >= 1.0:
            return 1.0
        return 1.0 - 0.6 * math.sin(math.pi * u / 0.6) if u < 0.6 else 1.0

    def _update_jolt(self) -> None:
        if self._jolt_t < 0.0:
            return
        a = self.t_s - self._jolt_t
        if a > JOLT_S:
            self._jolt_t = -1.0
            return
        k = math.exp(-a / 0.22)
        s = math.sin(2 * math.pi * 5.0 * a)
        self.cabin.setY(self.cabin.getY() + JOLT_M * k * s)
        self.cabin.setZ(self.cabin.getZ() + 0.66 * JOLT_M * k * math.sin(2 * math.pi * 7.0 * a + 1.0))
        self.cabin.setR(self.cabin.getR() + JOLT_DEG * k * s)

    # ---------------------------------------------------------------------------------------- events

    def start_event(self, name: str, event: Event) -> None:
        self.events[name] = (self.t_s, event.duration_s)
        if name == "hard-braking":
            self.ride.accelerate(-1.0)
        elif name in ("collision", "collision-fade"):
            self._jolt_t = self.t_s
            self.ride.accelerate(-1.0)
        node = self._event_node(name)
        if node is not None:
            node.show()
        self._update_events(0.0)

    def event_running(self, name: str) -> bool:
        span = self.events.get(name)
        return span is not None and self.t_s < span[0] + span[1]

    def _event_node(self, name: str) -> NodePath | None:
        return {
            "truck-overtakes": self.truck,
            "car-cuts-in": self.cutter.root,
            "near-miss": self.drifter.root,
            "siren-passes": self.emergency.root,
            "accident-scene": self.wreck,
            "collision-fade": self.fade,
        }.get(name)

    def _update_events(self, dt_s: float) -> None:
        left = -LANE_M
        for name, (t0, dur) in list(self.events.items()):
            u = (self.t_s - t0) / dur
            node = self._event_node(name)
            if u >= 1.0:
                del self.events[name]
                if node is not None:
                    node.hide()
                if name in ("hard-braking", "collision", "collision-fade"):
                    self.ride.accelerate(0.0)
                continue
            if name == "truck-overtakes":
                self.truck.setPos(left + 0.6, -22.0 + 80.0 * _ease(u), 0.0)
            elif name == "car-cuts-in":
                y = -14.0 + 24.0 * _ease(min(u / 0.55, 1.0)) + 22.0 * max(u - 0.75, 0.0) / 0.25
                x = left + (0.0 - left) * _ease((u - 0.4) / 0.3)
                self.cutter.root.setPos(x, y, 0.0)
                self.cutter.root.setH(-14.0 * math.sin(math.pi * min(max((u - 0.4) / 0.3, 0.0), 1.0)))
            elif name == "near-miss":
                y = 70.0 - 100.0 * u
                lane = -LANE_M if not self.highway_on else -LANE_M
                drift = math.sin(math.pi * min(max((u - 0.2) / 0.55, 0.0), 1.0))
                self.drifter.root.setPos(lane + 2.3 * drift, y, 0.0)
                self.drifter.root.setH((0.0 if self.highway_on else 180.0) - 8.0 * drift)
                if self.highway_on:
                    self.drifter.root.setY(8.0 + 10.0 * math.sin(math.pi * u))
            elif name == "siren-passes":
                self.emergency.root.setPos(left, -40.0 + 170.0 * u, 0.0)
                on = int(self.t_s * 6.0) % 2 == 0
                self.beacons[0].show() if on else self.beacons[0].hide()
                self.beacons[1].hide() if on else self.beacons[1].show()
            elif name == "accident-scene":
                self.wreck.setY(170.0 - 230.0 * u)
                on = int(self.t_s * 5.0) % 2 == 0
                self.wreck_beacons[0].show() if on else self.wreck_beacons[0].hide()
                self.wreck_beacons[1].hide() if on else self.wreck_beacons[1].show()
            elif name == "collision-fade":
                level = _ease(u / 0.3) if u < 0.7 else 1.0 - _ease((u - 0.7) / 0.3)
                self.fade.setAlphaScale(0.92 * level)

    def anchor(self, name: str) -> NodePath | None:
        if name == "siren-vehicle":
            return self.emergency.root
        if name == "truck":
            return self.truck
        if name == "bonnet":
            return self.cabin
        return None

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        return 0.0, -4.0


@register_builder("road-accident")
def build_road_accident(ctx: BuildContext) -> SceneInstance:
    return RoadAccidentScene(ctx)
