"""Sky, sun, fog and time of day.

- :class:`Sun`: a directional light with its shadow map and an ambient fill.
- :class:`SceneFog`: exponential fog computed in the scene shader (fades with the scene).
- :func:`sky_dome` / :func:`recolor_sky`: an unlit dome drawn behind everything, recoloured in place.
- :class:`TimeOfDay`: one sun, fog and sky set from the sun's elevation and the light's warmth
  (noon, golden hour, dusk), with no geometry built after the constructor, so it may follow a ramp.

Example (a scene at dusk that darkens toward night as a parameter rises)::

    from vr_exposure.renderer.blocks.sky import TimeOfDay

    sky = TimeOfDay(root, focus=(0, 3, 0), film_m=24.0, shadow_size_px=ctx.shadow_size_px)
    sky.set(elevation_deg=3.0, warmth=0.95)      # in apply(): recolours, never rebuilds
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from panda3d.core import AmbientLight, DirectionalLight, NodePath, OrthographicLens, Vec3, Vec4

from vr_exposure.renderer import procedural, shading
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, Color, glow

__all__ = ["SceneFog", "Sun", "TimeOfDay", "recolor_sky", "sky_dome"]


class Sun:
    """A directional light casting shadows over a ``film_m``-wide square around ``focus``, and an
    ambient fill. ``set_level`` scales both (room brightness, fades do not go through here)."""

    def __init__(
        self,
        root: NodePath,
        *,
        direction: Sequence[float],
        color: Sequence[float],
        ambient: Sequence[float],
        focus: Sequence[float],
        film_m: float,
        shadow_size_px: int,
        distance_m: float = 20.0,
    ) -> None:
        self.color = Vec4(color[0], color[1], color[2], 1.0)
        self.ambient_color = Vec4(ambient[0], ambient[1], ambient[2], 1.0)
        light = DirectionalLight("sun")
        light.setColor(self.color)
        if shadow_size_px > 0:
            light.setShadowCaster(True, shadow_size_px, shadow_size_px)
            lens = OrthographicLens()
            lens.setFilmSize(film_m, film_m)
            lens.setNearFar(1.0, distance_m * 2.0)
            light.setLens(lens)
            light.setCameraMask(SHADOW_MASK)
            light.setInitialState(shading.depth_state())
        self.light = light
        self.node = root.attachNewNode(light)
        d = Vec3(direction[0], direction[1], direction[2]).normalized()
        f = Vec3(focus[0], focus[1], focus[2])
        self.node.setPos(f - d * distance_m)
        self.node.lookAt(f)
        root.setLight(self.node)
        amb = AmbientLight("ambient")
        amb.setColor(self.ambient_color)
        self.ambient = amb
        self.ambient_node = root.attachNewNode(amb)
        root.setLight(self.ambient_node)

    def set_level(self, level: float) -> None:
        self.light.setColor(self.color * level)
        self.ambient.setColor(self.ambient_color * level)


class SceneFog:
    """Exponential fog (computed in the scene shader, so the fade's colour scale darkens it too)."""

    def __init__(self, root: NodePath, color: Sequence[float], density: float) -> None:
        self.root = root
        self.color = (color[0], color[1], color[2])
        self.density = density
        shading.set_fog(root, self.color, density)

    def set(self, color: Sequence[float], density: float | None = None) -> None:
        self.color = (color[0], color[1], color[2])
        if density is not None:
            self.density = density
        shading.set_fog(self.root, self.color, self.density)


def sky_dome(
    root: NodePath, radius_m: float, gradient: Sequence[tuple[float, Color]], *, center_z: float = 0.0
) -> NodePath:
    """An unlit, unfogged dome drawn first, behind everything; it takes the scene's colour scale,
    so it fades with the scene (the window's clear colour would not)."""
    sky = root.attachNewNode(procedural.dome("sky", radius_m, gradient))
    sky.setPythonTag("radius_m", radius_m)
    sky.setZ(center_z)
    shading.unlit(sky)
    sky.setBin("background", 0)
    sky.setDepthWrite(False)
    sky.setDepthTest(False)
    sky.hide(SHADOW_MASK)
    return sky


def recolor_sky(sky: NodePath, gradient: Sequence[tuple[float, Color]]) -> None:
    """A :func:`sky_dome` with a new gradient, its vertex colours rewritten in place."""
    procedural.recolor_dome(sky.node(), float(sky.getPythonTag("radius_m")), gradient)


def _night(elevation_deg: float) -> float:
    """0 with the sun above the horizon, 1 from 10 degrees below it."""
    return min(max(-elevation_deg / 10.0, 0.0), 1.0)


def _mix3(a: Sequence[float], b: Sequence[float], t: float) -> tuple[float, float, float]:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


class TimeOfDay:
    """A sun, its disc, fog and a sky dome that follow the sun's elevation and the light's warmth.

    ``warmth`` 0 is neutral daylight, 1 deep golden; a low sun is dimmer, warmer and casts long
    shadows; below the horizon (negative elevation) dusk turns into night by -10 degrees.
    Everything is built in the constructor; :meth:`set` only moves, recolours and relights (the
    sky's vertex colours are rewritten only when its look changes)."""

    def __init__(
        self,
        root: NodePath,
        *,
        focus: Sequence[float],
        film_m: float,
        shadow_size_px: int,
        heading_deg: float = -18.0,
        sky_radius_m: float = 450.0,
        sky_center_z: float = -8.0,
        fog_density: float = 0.008,
        distance_m: float = 40.0,
    ) -> None:
        self.focus = Vec3(focus[0], focus[1], focus[2])
        self.heading_deg = heading_deg
        self.distance_m = distance_m
        self.sun = Sun(
            root,
            direction=(0.3, -0.9, -0.25),
            color=(1.2, 0.9, 0.6),
            ambient=(0.42, 0.36, 0.40),
            focus=focus,
            film_m=film_m,
            shadow_size_px=shadow_size_px,
            distance_m=distance_m,
        )
        self.fog = SceneFog(root, (0.93, 0.72, 0.58), fog_density)
        sky_parent = root.attachNewNode("sky")
        self._sky_key: tuple[float, float] | None = None
        self._sky = sky_dome(sky_parent, sky_radius_m, self._gradient(0.7, 12.0), center_z=sky_center_z)
        disc = root.attachNewNode(procedural.sphere("sun-disc", 1.0, rings=8, segments=16))
        disc.setColor(1.0, 0.78, 0.45, 1.0)
        glow(disc)
        disc.setBin("background", 5)
        disc.setDepthTest(False)
        self.sun_disc = disc

    @staticmethod
    def _gradient(warmth: float, elevation_deg: float) -> list[tuple[float, Color]]:
        low = min(max(0.0, 1.0 - elevation_deg / 25.0), 1.0)
        night = _night(elevation_deg)
        horizon = _mix3(_mix3((0.85, 0.82, 0.78), (1.0, 0.60, 0.38), warmth), (0.10, 0.11, 0.18), night)
        mid = _mix3(
            _mix3((0.55, 0.68, 0.85), (0.78, 0.52, 0.58), warmth * (0.5 + 0.5 * low)),
            (0.05, 0.06, 0.14),
            night,
        )
        top = _mix3(_mix3((0.30, 0.45, 0.75), (0.22, 0.26, 0.50), warmth), (0.02, 0.03, 0.08), night)
        below = _mix3(horizon, (0.5, 0.4, 0.4), 0.3 * (1.0 - night))
        return [(-1.0, (*below, 1.0)), (0.0, (*horizon, 1.0)), (0.12, (*mid, 1.0)), (1.0, (*top, 1.0))]

    def set(self, *, elevation_deg: float, warmth: float) -> None:
        warmth = min(max(warmth, 0.0), 1.0)
        el = math.radians(max(elevation_deg, 0.5))
        hd = math.radians(self.heading_deg)
        to_sun = Vec3(-math.sin(hd) * math.cos(el), math.cos(hd) * math.cos(el), math.sin(el))
        # Lower and warmer: more orange, a little dimmer, long shadows.
        sun_col = _mix3((1.15, 1.08, 0.98), (1.25, 0.72, 0.40), warmth)
        low = min(max(0.0, 1.0 - elevation_deg / 25.0), 1.0)
        night = _night(elevation_deg)
        # Below the horizon the sun fades to a faint, bluish moonlight by -10 degrees.
        level = (1.0 - 0.25 * low) * (1.0 - 0.88 * night)
        sun_col = _mix3(sun_col, (0.55, 0.62, 0.85), night)
        self.sun.color = Vec4(sun_col[0] * level, sun_col[1] * level, sun_col[2] * level, 1.0)
        amb = _mix3(_mix3((0.45, 0.48, 0.55), (0.45, 0.34, 0.38), warmth), (0.10, 0.11, 0.16), night)
        self.sun.ambient_color = Vec4(amb[0], amb[1], amb[2], 1.0)
        self.sun.set_level(1.0)
        self.sun.node.setPos(self.focus + to_sun * self.distance_m)
        self.sun.node.lookAt(self.focus)
        self.sun_disc.setPos(to_sun * 380.0)
        self.sun_disc.setScale(7.0)
        disc = _mix3((1.0, 0.95, 0.8), (1.0, 0.62, 0.3), warmth)
        self.sun_disc.setColor(disc[0], disc[1], disc[2], 1.0)
        self.fog.set(_mix3(_mix3((0.78, 0.80, 0.82), (0.95, 0.66, 0.50), warmth), (0.06, 0.07, 0.11), night))
        if night >= 1.0:
            self.sun_disc.hide()
        else:
            self.sun_disc.show()
        key = (round(warmth, 2), round(elevation_deg, 1))
        if key != self._sky_key:
            self._sky_key = key
            recolor_sky(self._sky, self._gradient(warmth, elevation_deg))
