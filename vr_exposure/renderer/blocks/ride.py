"""Camera motion for seated rides (a car, a plane, a convoy vehicle), kept gentle: the app must not
make anyone sick by itself.

:class:`RideMotion` moves a *cabin* node (the vehicle and everything that rides with the patient;
the world outside moves on its own) with three cues, each capped by a limit from the simulator
sickness literature rather than by the scene's wish:

- **vibration**: road or engine buzz at 12-18 Hz, above the 0.1-0.5 Hz band where vertical
  oscillation causes motion sickness most; at most :data:`MAX_VIBRATION_M` (3 mm);
- **sway**: a slow roll and pitch at 0.6-1.1 Hz, also above that band; at most
  :data:`MAX_SWAY_DEG` (1.5 degrees);
- **acceleration**: a cabin pitch for speeding up or braking, eased in and out with a time constant
  of :data:`ACCEL_TIME_CONSTANT_S` (no jolts); at most :data:`MAX_ACCEL_PITCH_DEG` (2 degrees).

Nothing is built: :meth:`RideMotion.update` only sets the cabin's transform.

Example::

    from vr_exposure.renderer.blocks.ride import RideMotion

    ride = RideMotion(cabin)
    ride.set(vibration=values["road_roughness"], sway=0.5)     # in apply(), 0-1 each
    ride.accelerate(0.8)                                         # an event: speeding up
    ride.update(dt_s)                                            # in update()
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import NodePath

__all__ = [
    "ACCEL_TIME_CONSTANT_S",
    "MAX_ACCEL_PITCH_DEG",
    "MAX_SWAY_DEG",
    "MAX_VIBRATION_M",
    "RideMotion",
]

MAX_VIBRATION_M = 0.003
MAX_SWAY_DEG = 1.5
MAX_ACCEL_PITCH_DEG = 2.0
ACCEL_TIME_CONSTANT_S = 1.2


def _unit(x: float) -> float:
    return min(max(x, 0.0), 1.0)


class RideMotion:
    """Moves ``cabin`` about its rest pose (the pose it has when this is made)."""

    def __init__(self, cabin: NodePath, *, seed: int = 9) -> None:
        rng = np.random.default_rng(seed)
        self.cabin = cabin
        self.rest_pos = cabin.getPos()
        self.rest_hpr = cabin.getHpr()
        self.vibration = 0.0
        self.sway = 0.0
        self._accel_target = 0.0
        self.accel = 0.0
        self.t_s = 0.0
        self._vib = [(float(rng.uniform(12.0, 18.0)), float(rng.uniform(0, 2 * math.pi))) for _ in range(3)]
        self._sway = [(float(rng.uniform(0.6, 1.1)), float(rng.uniform(0, 2 * math.pi))) for _ in range(2)]

    def set(self, *, vibration: float | None = None, sway: float | None = None) -> None:
        """Levels 0-1 of the vibration and the sway (1 is the cap, never more)."""
        if vibration is not None:
            self.vibration = _unit(vibration)
        if sway is not None:
            self.sway = _unit(sway)

    def accelerate(self, amount: float) -> None:
        """-1 (hard braking) to 1 (speeding up); 0 cruising. Eased, never a jolt."""
        self._accel_target = min(max(amount, -1.0), 1.0)

    def offset(self) -> tuple[float, float, float]:
        """(vertical metres, pitch degrees, roll degrees) the cabin is moved by now."""
        t = self.t_s
        z = (
            self.vibration
            * MAX_VIBRATION_M
            * sum(math.sin(2 * math.pi * f * t + p) for f, p in self._vib)
            / 3
        )
        (f1, p1), (f2, p2) = self._sway
        roll = self.sway * MAX_SWAY_DEG * math.sin(2 * math.pi * f1 * t + p1)
        pitch = self.sway * MAX_SWAY_DEG * 0.5 * math.sin(2 * math.pi * f2 * t + p2)
        pitch += self.accel * MAX_ACCEL_PITCH_DEG
        # Sway and acceleration together stay within the larger of the two caps.
        limit = max(MAX_SWAY_DEG, MAX_ACCEL_PITCH_DEG)
        return z, min(max(pitch, -limit), limit), roll

    def update(self, dt_s: float) -> None:
        self.t_s += dt_s
        k = 1.0 - math.exp(-dt_s / ACCEL_TIME_CONSTANT_S)
        self.accel += (self._accel_target - self.accel) * k
        z, pitch, roll = self.offset()
        p, h = self.rest_pos, self.rest_hpr
        self.cabin.setPosHpr(p.x, p.y, p.z + z, h.x, h.y + pitch, h.z + roll)
