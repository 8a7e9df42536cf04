"""Vehicles and roads: a straight road with lane markings, and cars that drive along it.

Built once; :meth:`Car.drive` only moves the car and spins its wheels.

Example (a road ahead of a seated patient, a car passing in the far lane)::

    from vr_exposure.renderer.blocks.vehicles import Car, road

    road(root, length_m=200.0, lanes=2, center=(0.0, 40.0), heading_deg=90)   # across the view
    car = Car(root, color=(0.6, 0.05, 0.05))
    car.root.setPos(-60.0, 41.75, 0.0); car.root.setH(-90)                     # facing +X
    car.drive(dt_s, speed_m_s=13.9)                                            # 50 km/h, every frame
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from panda3d.core import NodePath

from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, material, part

__all__ = ["Car", "road"]


def road(
    parent: NodePath,
    *,
    length_m: float,
    lanes: int = 2,
    lane_width_m: float = 3.5,
    center: tuple[float, float] = (0.0, 0.0),
    heading_deg: float = 0.0,
    dash_m: float = 3.0,
    gap_m: float = 6.0,
) -> NodePath:
    """Asphalt ``lanes`` x ``lane_width_m`` wide along +Y of its node (turned by ``heading_deg``),
    white edge lines and dashed lines between lanes; one flattened node."""
    node = parent.attachNewNode("road")
    node.setPos(center[0], center[1], 0.0)
    node.setH(heading_deg)
    width = lanes * lane_width_m
    part(
        node,
        proc.plane("asphalt", width, length_m, uv_repeat=(width / 4.0, length_m / 4.0)),
        (0.0, 0.0, 0.005),
        texture="asphalt",
        mat=material((1, 1, 1), specular=0.05),
    )
    paint = material((0.95, 0.95, 0.9), specular=0.1)
    for x in (-width / 2 + 0.2, width / 2 - 0.2):
        part(node, proc.plane("edge-line", 0.15, length_m), (x, 0.0, 0.01), mat=paint)
    for lane in range(1, lanes):
        x = -width / 2 + lane * lane_width_m
        y = -length_m / 2 + dash_m / 2
        while y < length_m / 2:
            part(node, proc.plane("lane-dash", 0.12, dash_m), (x, y, 0.01), mat=paint)
            y += dash_m + gap_m
    node.flattenStrong()
    return node


class Car:
    """A saloon car about 4.4 m long facing +Y of its root: body, cabin with dark windows, four wheels."""

    def __init__(
        self, parent: NodePath, *, color: Sequence[float] = (0.15, 0.3, 0.6), name: str = "car"
    ) -> None:
        self.root = parent.attachNewNode(name)
        paint = material(color, specular=0.6, shininess=60)
        glass = material((0.08, 0.1, 0.12), specular=0.9, shininess=90)
        body = self.root.attachNewNode("car-body")
        part(body, proc.box("body", (1.8, 4.4, 0.7)), (0.0, 0.0, 0.65), mat=paint)
        part(body, proc.box("cabin", (1.6, 2.2, 0.55)), (0.0, -0.2, 1.27), mat=glass)
        part(body, proc.box("roof", (1.62, 1.9, 0.06)), (0.0, -0.25, 1.56), mat=paint)
        for x in (-0.7, 0.7):
            lamp = part(
                body, proc.box("headlamp", (0.35, 0.04, 0.12)), (x, 2.2, 0.8), mat=material((1, 1, 0.9))
            )
            lamp.hide(SHADOW_MASK)
        body.flattenStrong()
        tyre = material((0.05, 0.05, 0.05), specular=0.1)
        self.wheels: list[NodePath] = []
        for x in (-0.82, 0.82):
            for y in (-1.35, 1.35):
                hub = self.root.attachNewNode("wheel")
                hub.setPos(x, y, 0.33)
                tyre_mesh = hub.attachNewNode("tyre-mesh")  # flattened alone: the hub keeps its place
                part(
                    tyre_mesh,
                    proc.cylinder("tyre", 0.33, 0.22, segments=14),
                    (-0.11, 0.0, 0.0),
                    hpr=(-90, 0, 0),
                    mat=tyre,
                )
                tyre_mesh.flattenStrong()
                self.wheels.append(hub)
        self.distance_m = 0.0

    def drive(self, dt_s: float, speed_m_s: float) -> None:
        """Forward (its +Y) by ``speed_m_s * dt_s``; the wheels turn to match."""
        step = speed_m_s * dt_s
        self.distance_m += step
        self.root.setY(self.root, step)
        spin = math.degrees(self.distance_m / 0.33) % 360.0
        for hub in self.wheels:
            hub.setP(-spin)
