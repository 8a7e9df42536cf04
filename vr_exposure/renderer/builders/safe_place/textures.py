"""The beach's procedural textures: sand, dune grass, sea water and surf foam."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.procedural import fbm, mix, register_texture, value_noise


@register_texture("sand", 512)
def _sand(size: int, rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    n = fbm(size, 8, 5, rng)
    grains = value_noise(size, size // 2, rng)
    ripples = np.sin((y * 10.0 + n * 3.0) * 2.0 * math.pi) * 0.5 + 0.5
    t = 0.5 * n + 0.3 * grains + 0.2 * ripples
    return mix((0.70, 0.60, 0.44), (0.90, 0.81, 0.64), t)


@register_texture("grass", 256)
def _grass(size: int, rng: np.random.Generator) -> np.ndarray:
    n = fbm(size, 8, 5, rng)
    blades = value_noise(size, size // 2, rng)
    t = 0.6 * n + 0.4 * blades
    return mix((0.22, 0.30, 0.12), (0.55, 0.56, 0.28), t)


@register_texture("water", 512)
def _water(size: int, rng: np.random.Generator) -> np.ndarray:
    """Sea surface: dark blue-green troughs, lighter crests in long, stretched streaks."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    n = fbm(size, 6, 5, rng)
    swell = np.sin((y * 12.0 + n * 2.5) * 2.0 * math.pi) * 0.5 + 0.5
    t = 0.55 * swell**2 + 0.45 * n
    return mix((0.06, 0.20, 0.26), (0.32, 0.48, 0.52), t)


@register_texture("foam", 256, wrap=False)
def _foam(size: int, rng: np.random.Generator) -> np.ndarray:
    """White foam with holes, densest at the bottom edge (v = 0), fading out toward the top (RGBA)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    n = fbm(size, 8, 5, rng)
    alpha = np.clip((n - 0.35) * 2.5, 0.0, 1.0) * np.clip(y, 0.0, 1.0) ** 0.7
    rgb = mix((0.85, 0.85, 0.82), (1.0, 1.0, 0.98), n)
    return np.dstack([rgb, alpha])
