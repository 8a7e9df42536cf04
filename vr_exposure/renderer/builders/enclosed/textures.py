"""The enclosed scene's textures: brushed steel lift panels, rough concrete and a lift's rubber floor."""

from __future__ import annotations

import numpy as np

from vr_exposure.renderer.procedural import fbm, mix, register_texture, value_noise


@register_texture("brushed-steel", 256)
def _brushed_steel(size: int, rng: np.random.Generator) -> np.ndarray:
    """One metre of steel: fine vertical brush strokes, faint smudges, a panel joint every half metre."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    strokes = np.repeat(rng.uniform(0.0, 1.0, (1, size)), size, axis=0).astype(np.float32)
    col = mix((0.62, 0.63, 0.64), (0.78, 0.79, 0.80), 0.6 * strokes + 0.4 * fbm(size, 4, 3, rng))
    joint = np.abs((x * 2) % 1.0 - 0.5) > 0.492
    col[joint] *= 0.55
    return col


@register_texture("concrete", 256)
def _concrete(size: int, rng: np.random.Generator) -> np.ndarray:
    """Rough grey concrete with stains and small pores."""
    stain = fbm(size, 6, 4, rng)
    col = mix((0.38, 0.37, 0.35), (0.58, 0.56, 0.53), stain)
    pores = value_noise(size, 64, rng) > 0.86
    col[pores] *= 0.7
    return col


@register_texture("rubber-floor", 128)
def _rubber_floor(size: int, rng: np.random.Generator) -> np.ndarray:
    """Dark studded rubber flooring (studs every 5 cm of a 0.5 m tile)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    col = mix((0.13, 0.13, 0.14), (0.2, 0.2, 0.21), value_noise(size, 16, rng))
    d = np.hypot((x * 10) % 1.0 - 0.5, (y * 10) % 1.0 - 0.5)
    col[d < 0.22] *= 1.6
    return col
