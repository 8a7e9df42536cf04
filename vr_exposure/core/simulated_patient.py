"""A simulated patient for the demo and tests: SUDS that rise with intensity and habituate with time.

The model is the classic habituation curve, kept simple and deterministic for a given seed:

- At intensity ``I`` (0-100) the patient's initial distress is
  ``peak(I) = baseline + (max_suds - baseline) * (I / 100) ** gamma``, lowered by
  ``(1 - learning_per_session) ** session_index`` for later sessions (between-session learning).
- Distress decays exponentially with time exposed toward a floor:
  ``suds = floor(I) + (peak(I) - floor(I)) * exp(-exposed_s / habituation_tau_s)``,
  ``floor(I) = baseline + floor_fraction * (peak(I) - baseline)``.
- Habituation credit generalises downward but only partly upward: raising the intensity by 10
  points keeps ``generalisation`` of the exposure time earned so far (a bigger spider is partly new);
  lowering it keeps all of it.
- Each rating adds Gaussian noise (``noise_sd``), is clamped to the scale and rounded.

Time is the caller's: ``rate(t_s, intensity)`` says "at ``t_s`` seconds, exposed at ``intensity``";
exposure between two calls is credited at the intensity of the later call unless :meth:`observe`
told the patient earlier when the intensity changed. Time stops for the patient while
``exposed=False`` (a pause, the safe place).
"""

from __future__ import annotations

import math
import random

from vr_exposure.errors import VrExposureError


class SimulatedPatientError(VrExposureError, ValueError):
    """The simulated patient was asked something impossible (time going back, intensity outside 0-100)."""


class SimulatedPatient:
    """A seeded, deterministic simulated patient: same seed and calls, same ratings."""

    def __init__(
        self,
        seed: int = 0,
        *,
        baseline: float = 10.0,
        max_suds: float = 90.0,
        gamma: float = 0.8,
        floor_fraction: float = 0.25,
        habituation_tau_s: float = 600.0,
        generalisation: float = 0.6,
        noise_sd: float = 4.0,
        session_index: int = 0,
        learning_per_session: float = 0.15,
        scale_max: int = 100,
    ) -> None:
        if scale_max not in (10, 100):
            raise SimulatedPatientError(f"scale_max: {scale_max!r} is not a SUDS scale (use 10 or 100)")
        if habituation_tau_s <= 0:
            raise SimulatedPatientError(f"habituation_tau_s: {habituation_tau_s!r} must be positive")
        if not 0 <= generalisation <= 1 or not 0 <= floor_fraction <= 1 or not 0 <= learning_per_session < 1:
            raise SimulatedPatientError(
                "generalisation, floor_fraction and learning_per_session are fractions 0-1"
            )
        if session_index < 0 or noise_sd < 0:
            raise SimulatedPatientError("session_index and noise_sd cannot be negative")
        self.seed = seed
        self.baseline = baseline
        self.max_suds = max_suds
        self.gamma = gamma
        self.floor_fraction = floor_fraction
        self.habituation_tau_s = habituation_tau_s
        self.generalisation = generalisation
        self.noise_sd = noise_sd
        self.session_index = session_index
        self.learning_per_session = learning_per_session
        self.scale_max = scale_max
        self._rng = random.Random(seed)
        self._t_s: float | None = None
        self._level: float | None = None
        self._exposed_s = 0.0
        self._exposing = True

    @property
    def exposed_s(self) -> float:
        """Habituation credit, in seconds of exposure at the current level."""
        return self._exposed_s

    def peak(self, intensity: float) -> float:
        """Initial distress (0-100) at ``intensity`` before any habituation, this session."""
        _check_intensity(intensity)
        sensitisation = float((1.0 - self.learning_per_session) ** self.session_index)
        rise = (self.max_suds - self.baseline) * float((intensity / 100.0) ** self.gamma)
        return self.baseline + rise * sensitisation

    def expected(self, intensity: float, exposed_s: float) -> float:
        """Noise-free distress (0-100) after ``exposed_s`` seconds at ``intensity``."""
        peak = self.peak(intensity)
        floor = self.baseline + self.floor_fraction * (peak - self.baseline)
        return floor + (peak - floor) * math.exp(-exposed_s / self.habituation_tau_s)

    def observe(self, t_s: float, intensity: float, *, exposed: bool = True) -> None:
        """Tell the patient that from ``t_s`` on they are at ``intensity`` (and exposed or not)."""
        _check_intensity(intensity)
        if not math.isfinite(t_s):
            raise SimulatedPatientError(f"t_s: {t_s!r} is not a time")
        if self._t_s is not None and t_s < self._t_s:
            raise SimulatedPatientError(f"t_s: time went back from {self._t_s:g} s to {t_s:g} s")
        if self._t_s is not None and self._exposing:
            self._exposed_s += t_s - self._t_s
        self._t_s = t_s
        self._exposing = exposed
        if self._level is not None and intensity > self._level:
            # A stronger stimulus is partly new: only part of the habituation carries over.
            self._exposed_s *= self.generalisation ** ((intensity - self._level) / 10.0)
        self._level = intensity

    def rate(self, t_s: float, intensity: float) -> int:
        """The patient's SUDS at ``t_s`` seconds while at ``intensity``, on 0-``scale_max``."""
        if self._level is None or intensity != self._level:
            # Not told when the intensity changed: take it as changed at the previous call.
            if self._t_s is not None and self._level is not None:
                self.observe(self._t_s, intensity, exposed=self._exposing)
            else:
                self.observe(t_s, intensity)
        self.observe(t_s, intensity, exposed=self._exposing)
        value = self.expected(intensity, self._exposed_s)
        if self.noise_sd > 0:
            value += self._rng.gauss(0.0, self.noise_sd)
        value = min(100.0, max(0.0, value))
        return round(value * self.scale_max / 100.0)


def _check_intensity(intensity: float) -> None:
    if not math.isfinite(intensity) or not 0 <= intensity <= 100:
        raise SimulatedPatientError(f"intensity: {intensity!r} is outside 0-100")
