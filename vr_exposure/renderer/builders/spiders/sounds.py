"""The spider scene's sound: legs scuttling on wood."""

from __future__ import annotations

import numpy as np

from vr_exposure.renderer.blocks.sound import RATE_HZ, bandpass, register_synth


@register_synth("scuttle")
def _scuttle(rng: np.random.Generator) -> np.ndarray:
    """2.4 s: bursts of 4-10 leg clicks at 25-45 per second, with pauses; band-passed 2-7 kHz."""
    n = int(2.4 * RATE_HZ)
    out = np.zeros(n)
    click_n = int(0.004 * RATE_HZ)
    env = np.exp(-np.arange(click_n) / (0.0008 * RATE_HZ))
    t = float(rng.uniform(0.02, 0.15))
    while t < 2.3:
        rate = float(rng.uniform(25, 45))
        for _ in range(int(rng.integers(4, 11))):
            i = int(t * RATE_HZ)
            if i + click_n >= n:
                break
            out[i : i + click_n] += rng.normal(size=click_n) * env * float(rng.uniform(0.4, 1.0))
            t += 1.0 / rate * float(rng.uniform(0.7, 1.3))
        t += float(rng.uniform(0.12, 0.45))
    out = bandpass(out, 2000.0, 7000.0)
    return out / (np.max(np.abs(out)) + 1e-12) * 0.9  # type: ignore[no-any-return]
