"""The beach's sound: slow surf and a breeze."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.blocks.sound import RATE_HZ, band, register_synth, spectral_noise


@register_synth("ambient-waves")
def _ambient_waves(rng: np.random.Generator) -> np.ndarray:
    """18 s: two slow swells of surf (low-passed pink-ish noise rising and hissing back), a breeze."""
    n = 18 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    surf = spectral_noise(
        n, rng, lambda f: np.where(f > 20, 1.0 / np.sqrt(np.maximum(f, 1.0)), 0) * np.exp(-f / 1800)
    )
    hiss = spectral_noise(n, rng, band(1500.0, 6000.0))
    phase = (t / 9.0) % 1.0  # one wave every 9 s: a quick rise, a long wash back
    swell = np.where(phase < 0.25, np.sin(phase / 0.25 * math.pi / 2) ** 2, np.exp(-(phase - 0.25) * 3.5))
    breeze = 0.5 + 0.5 * np.sin(2 * math.pi * t / 18.0) ** 2
    out = surf * (0.15 + 0.85 * swell) + 0.25 * hiss * swell**2 + 0.05 * breeze * hiss
    return out / (np.max(np.abs(out)) + 1e-12) * 0.8  # type: ignore[no-any-return]
