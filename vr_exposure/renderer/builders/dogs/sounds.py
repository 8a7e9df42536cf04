"""The dog scene's sounds: panting and a growl (the bark is the shared ``bark`` family)."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.blocks.sound import RATE_HZ, bandpass, normalise, register_synth


@register_synth("panting")
def _panting(rng: np.random.Generator) -> np.ndarray:
    """2 s: breathy in-out pants at about 3 per second, band-passed 600-4500 Hz, the out-breath louder."""
    n = 2 * RATE_HZ
    noise = bandpass(rng.normal(size=n), 600.0, 4500.0)
    t = np.arange(n) / RATE_HZ
    rate = float(rng.uniform(2.8, 3.4))
    phase = (t * rate) % 1.0
    env = np.where(
        phase < 0.45, np.sin(math.pi * phase / 0.45) * 0.55, np.sin(math.pi * (phase - 0.45) / 0.55)
    )
    return normalise(noise * np.clip(env, 0.0, None) ** 1.5, 0.6)


@register_synth("growl")
def _growl(rng: np.random.Generator) -> np.ndarray:
    """3 s: a low rough growl: a 90-110 Hz buzz with irregular pulses and a slow rumble."""
    n = 3 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    f0 = 95.0 + 12.0 * np.sin(2 * math.pi * 0.7 * t) + 4.0 * rng.normal(size=n).cumsum() / math.sqrt(n)
    phase = np.cumsum(f0) / RATE_HZ
    buzz = sum(np.sin(2 * math.pi * k * phase) / k**0.7 for k in range(1, 16))
    pulses = 0.6 + 0.4 * np.sin(2 * math.pi * 23.0 * t) ** 2
    rough = bandpass(rng.normal(size=n), 150.0, 1200.0)
    env = np.clip(t / 0.3, 0, 1) * np.clip((3.0 - t) / 0.3, 0, 1)
    return normalise((buzz * pulses + 0.4 * rough / (np.max(np.abs(rough)) + 1e-12)) * env, 0.8)
