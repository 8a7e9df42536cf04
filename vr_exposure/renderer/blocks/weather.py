"""Weather: rain falling around the patient and lightning flashes. (Fog is
:class:`~vr_exposure.renderer.blocks.sky.SceneFog`; dusk and night are
:class:`~vr_exposure.renderer.blocks.sky.TimeOfDay` with a low or negative sun elevation.)

Both build everything in the constructor; :meth:`Rain.set_level` shows more or fewer groups of
streaks and :meth:`Lightning.strike` only changes a light's colour, so either may follow a ramp.

Example (a storm that grows with intensity, lightning fired by an event)::

    from vr_exposure.renderer.blocks.weather import Lightning, Rain

    rain = Rain(root, area_m=16.0)
    flash = Lightning(root)
    rain.set_level(values["rain"])       # in apply(): 0 dry .. 1 a downpour
    flash.strike(rng)                    # in start_event("lightning", ...)
    rain.update(dt_s); flash.update(dt_s)  # in update()
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import AmbientLight, NodePath, TransparencyAttrib, Vec4

from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.materials import SHADOW_MASK

__all__ = ["Lightning", "Rain"]


class Rain:
    """Streaks of rain in a box ``area_m`` wide around the origin, ``height_m`` high, in ``groups``
    separately shown groups (each one Geom, so the draw calls stay at ``groups``)."""

    def __init__(
        self,
        parent: NodePath,
        *,
        area_m: float = 16.0,
        height_m: float = 8.0,
        drops: int = 1200,
        groups: int = 8,
        fall_m_s: float = 7.0,
        seed: int = 5,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.node = parent.attachNewNode("rain")
        self.height_m = height_m
        self.fall_m_s = fall_m_s
        self.groups: list[NodePath] = []
        per = max(1, drops // groups)
        for g in range(groups):
            group = self.node.attachNewNode(f"rain-{g}")
            for _ in range(per):
                x, y = rng.uniform(-area_m / 2, area_m / 2, 2)
                if math.hypot(x, y) < 0.6:  # not through the patient's face
                    x += 0.6 * math.copysign(1.0, x)
                z = float(rng.uniform(0.0, height_m))
                streak = group.attachNewNode(proc.plane("drop", 0.006, 0.35, color=(0.8, 0.85, 0.9, 0.35)))
                streak.setPos(float(x), float(y), z)
                streak.setHpr(float(rng.uniform(0, 180)), 90.0, 0.0)
            group.flattenStrong()
            # A second copy one box-height up, so the group scrolls down without a gap.
            group.copyTo(group).setZ(height_m)
            group.flattenStrong()
            group.hide()
            self.groups.append(group)
        shading.unlit(self.node, fog=True)
        self.node.setTransparency(TransparencyAttrib.M_alpha)
        self.node.setDepthWrite(False)
        self.node.setTwoSided(True)
        self.node.setBin("transparent", 20)
        self.node.hide(SHADOW_MASK)
        self.level = 0.0
        self._offsets = [float(rng.uniform(0, height_m)) for _ in range(groups)]

    def set_level(self, level: float) -> None:
        """0 dry, 1 every group falling. Shows and hides groups; builds nothing."""
        self.level = min(max(level, 0.0), 1.0)
        shown = int(round(self.level * len(self.groups)))
        for i, group in enumerate(self.groups):
            if i < shown:
                group.show()
            else:
                group.hide()

    def update(self, dt_s: float) -> None:
        h = self.height_m
        for i, group in enumerate(self.groups):
            if group.isHidden():
                continue
            self._offsets[i] = (self._offsets[i] + self.fall_m_s * dt_s) % h
            group.setZ(-self._offsets[i])


class Lightning:
    """A flash of lightning: an ambient light that is dark until :meth:`strike` lights the scene in
    two or three quick flickers over ``duration_s``."""

    def __init__(self, root: NodePath, *, color: tuple[float, float, float] = (0.9, 0.92, 1.0)) -> None:
        self.light = AmbientLight("lightning")
        self.light.setColor(Vec4(0, 0, 0, 1))
        self.node = root.attachNewNode(self.light)
        root.setLight(self.node)
        self.color = color
        self._t = -1.0
        self._pulses: list[tuple[float, float]] = []  # (start s, strength)
        self.duration_s = 0.0
        self.level = 0.0

    def strike(self, rng: np.random.Generator, duration_s: float = 0.6) -> None:
        self._t = 0.0
        self.duration_s = duration_s
        n = int(rng.integers(2, 4))
        starts = np.sort(rng.uniform(0.0, duration_s * 0.6, n))
        self._pulses = [(float(s), float(rng.uniform(0.6, 1.0))) for s in starts]

    @property
    def flashing(self) -> bool:
        return 0.0 <= self._t < self.duration_s

    def update(self, dt_s: float) -> None:
        if self._t < 0.0:
            return
        self._t += dt_s
        if self._t >= self.duration_s:
            self._t = -1.0
            level = 0.0
        else:
            level = max(
                (s * math.exp(-(self._t - t0) / 0.05) for t0, s in self._pulses if self._t >= t0), default=0.0
            )
        if abs(level - self.level) > 1e-4:
            self.level = level
            c = self.color
            self.light.setColor(Vec4(c[0] * 2.5 * level, c[1] * 2.5 * level, c[2] * 2.5 * level, 1))
