"""Synthesised sound: the registry of sound sources and the shared sound families.

Every sound is made with numpy (nothing is downloaded or shipped): a synthesiser is a function of a
random generator returning one mono loop of float samples in [-1, 1] at :data:`RATE_HZ` (OpenAL
only spatialises mono sources). Scene packages register theirs with :func:`register_synth` (a cue's
``source`` names one); the families here serve every scene.

Example (a scene package's ``sounds.py``)::

    from vr_exposure.renderer.blocks.sound import RATE_HZ, band, register_synth, spectral_noise

    @register_synth("fridge-hum")
    def _fridge_hum(rng):
        n = 3 * RATE_HZ
        hum = spectral_noise(n, rng, band(90.0, 140.0))
        return 0.6 * hum

Families: ``room-tone`` (low hum, air noise and a ticking clock), ``helicopter`` (blade thumps over a
turbine whine). This module imports no Panda3D.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from vr_exposure.errors import SceneError, SpecError, SpecProblem

__all__ = [
    "RATE_HZ",
    "SYNTHS",
    "Synth",
    "band",
    "bandpass",
    "normalise",
    "register_synth",
    "spectral_noise",
    "synth_names",
    "synthesise",
]

RATE_HZ = 44_100

Synth = Callable[[np.random.Generator], np.ndarray]

#: Source name -> synthesiser; filled by :func:`register_synth` where each sound is defined.
SYNTHS: dict[str, Synth] = {}


def register_synth(name: str) -> Callable[[Synth], Synth]:
    """Decorator: ``fn(rng)`` makes the sound source ``name`` (a cue's ``source``)."""

    def decorate(fn: Synth) -> Synth:
        other = SYNTHS.get(name)
        if other is not None and other is not fn:
            raise SceneError(f"sound {name!r} is registered twice ({other.__module__} and {fn.__module__})")
        SYNTHS[name] = fn
        return fn

    return decorate


def synth_names() -> list[str]:
    return sorted(SYNTHS)


def synthesise(source: str, seed: int = 3) -> np.ndarray:
    """The mono loop for a cue's ``source`` (float samples in [-1, 1] at :data:`RATE_HZ`)."""
    try:
        make = SYNTHS[source]
    except KeyError:
        raise SpecError(
            SpecProblem(
                "", None, "audio", f'no sound synthesiser "{source}" (known: {", ".join(sorted(SYNTHS))})'
            )
        ) from None
    return make(np.random.default_rng(seed + sum(map(ord, source))))


def normalise(x: np.ndarray, peak: float) -> np.ndarray:
    """``x`` scaled so its largest sample is ``peak``."""
    return x / (np.max(np.abs(x)) + 1e-12) * peak  # type: ignore[no-any-return]


def spectral_noise(n: int, rng: np.random.Generator, shape: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Noise with the spectrum ``shape(freq_hz)``, made in the frequency domain, so it loops
    seamlessly (an FFT synthesis is periodic over its length)."""
    freqs = np.fft.rfftfreq(n, 1.0 / RATE_HZ)
    spectrum = (rng.normal(size=freqs.size) + 1j * rng.normal(size=freqs.size)) * shape(freqs)
    spectrum[0] = 0.0
    out = np.fft.irfft(spectrum, n)
    return out / (np.max(np.abs(out)) + 1e-12)  # type: ignore[no-any-return]


def band(lo_hz: float, hi_hz: float) -> Callable[[np.ndarray], np.ndarray]:
    def shape(f: np.ndarray) -> np.ndarray:
        return ((f >= lo_hz) & (f <= hi_hz)).astype(np.float64) * np.exp(
            -(((f - (lo_hz + hi_hz) / 2) / (hi_hz - lo_hz)) ** 2)
        )

    return shape


def bandpass(x: np.ndarray, lo_hz: float, hi_hz: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / RATE_HZ)
    spec[(f < lo_hz) | (f > hi_hz)] = 0.0
    return np.fft.irfft(spec, x.size)


@register_synth("room-tone")
def _room_tone(rng: np.random.Generator) -> np.ndarray:
    """4 s: air noise, a faint 50 Hz hum with harmonics and a clock ticking once a second."""
    n = 4 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    air = spectral_noise(n, rng, lambda f: np.where(f > 30, 1.0 / np.maximum(f, 1.0), 0) * np.exp(-f / 3000))
    hum = sum(0.3 / k * np.sin(2 * math.pi * 50 * k * t) for k in (1, 2, 3))
    tick = np.zeros(n)
    tick_n = int(0.006 * RATE_HZ)
    for k in range(4):
        i = k * RATE_HZ
        tick[i : i + tick_n] += rng.normal(size=tick_n) * np.exp(-np.arange(tick_n) / (0.0012 * RATE_HZ))
    tick = bandpass(tick, 1500, 6000)
    out = 0.6 * air + 0.15 * hum + 0.5 * tick / (np.max(np.abs(tick)) + 1e-12)
    return out / (np.max(np.abs(out)) + 1e-12) * 0.7  # type: ignore[no-any-return]


@register_synth("helicopter")
def _helicopter(rng: np.random.Generator) -> np.ndarray:
    """2 s: blade slaps at 5.5 per second (low thumps with a noisy edge) over a turbine whine."""
    n = 2 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    rate_hz = 5.5
    phase = (t * rate_hz) % 1.0
    thump = np.exp(-phase * 14.0) * np.sin(2 * math.pi * 70 * t)
    slap = bandpass(rng.normal(size=n), 200, 1500) * np.exp(-phase * 25.0)
    whine = 0.08 * np.sin(2 * math.pi * 1800 * t + 0.3 * np.sin(2 * math.pi * 3 * t))
    out = thump + 0.4 * slap / (np.max(np.abs(slap)) + 1e-12) + whine
    return out / (np.max(np.abs(out)) + 1e-12) * 0.85  # type: ignore[no-any-return]
