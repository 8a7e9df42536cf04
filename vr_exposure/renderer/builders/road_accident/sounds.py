"""The road's own sounds: tyre roar and a tyre squeal. Engine, rain, siren and impact are the shared
families of :mod:`vr_exposure.renderer.blocks.sound`."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.blocks.sound import (
    RATE_HZ,
    band,
    bandpass,
    normalise,
    register_synth,
    spectral_noise,
)


@register_synth("tyre-roar")
def _tyre_roar(rng: np.random.Generator) -> np.ndarray:
    """4 s loop: broadband road roar (most energy 200-1200 Hz) over a low rumble, slowly breathing."""
    n = 4 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    roar = spectral_noise(n, rng, band(200.0, 1200.0))
    rumble = spectral_noise(n, rng, band(40.0, 120.0))
    swell = 0.85 + 0.15 * np.sin(2 * math.pi * t / 4.0)
    return normalise((roar + 0.8 * rumble) * swell, 0.8)


@register_synth("tyre-squeal")
def _tyre_squeal(rng: np.random.Generator) -> np.ndarray:
    """1.8 s one-shot: a screech near 1.1-1.6 kHz with a wavering pitch, rising in and dying away."""
    n = int(1.8 * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    f = 1300.0 + 180.0 * np.sin(2 * math.pi * 7.0 * t) + 120.0 * np.sin(2 * math.pi * 2.3 * t)
    phase = np.cumsum(f) / RATE_HZ
    tone = np.sin(2 * math.pi * phase) + 0.4 * np.sin(4 * math.pi * phase)
    grit = bandpass(rng.normal(size=n), 900.0, 4000.0)
    env = np.minimum(t / 0.08, 1.0) * np.exp(-np.maximum(t - 1.1, 0.0) / 0.2)
    return normalise((tone + 0.3 * grit / (np.max(np.abs(grit)) + 1e-12)) * env, 0.85)
