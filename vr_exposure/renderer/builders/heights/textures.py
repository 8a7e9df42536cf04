"""The heights scene's textures: a tower facade (one floor by one bay per tile), stone paving and a
steel floor grating (with alpha: the drop shows through its holes)."""

from __future__ import annotations

import numpy as np

from vr_exposure.renderer.procedural import fbm, mix, register_texture, value_noise


@register_texture("facade", 256)
def _facade(size: int, rng: np.random.Generator) -> np.ndarray:
    """One 3 m x 3 m tile: a concrete spandrel band, a tall window with a sky reflection, mullions."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    wall = mix((0.62, 0.60, 0.56), (0.74, 0.72, 0.68), fbm(size, 8, 4, rng))
    glass = mix(
        (0.16, 0.22, 0.30), (0.45, 0.55, 0.66), np.clip(y * 1.1 + 0.2 * value_noise(size, 4, rng), 0, 1)
    )
    window = (y > 0.30) & (y < 0.94) & (np.abs(x - 0.5) < 0.44)
    col = wall.copy()
    col[window] = glass[window]
    mullion = window & ((np.abs(x - 0.5) < 0.012) | (np.abs(y - 0.62) < 0.008))
    col[mullion] = (0.25, 0.26, 0.27)
    sill = (np.abs(y - 0.29) < 0.012) & (np.abs(x - 0.5) < 0.46)
    col[sill] = (0.85, 0.84, 0.80)
    return col


@register_texture("paving", 256)
def _paving(size: int, rng: np.random.Generator) -> np.ndarray:
    """Square stone slabs, four across, each its own shade, dark joints."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    n = 4
    cell = (np.floor(x * n) + n * np.floor(y * n)).astype(np.int64)
    tint = rng.uniform(-0.06, 0.06, n * n)
    col = mix((0.60, 0.57, 0.52), (0.75, 0.72, 0.66), fbm(size, 16, 4, rng))
    col *= (1.0 + tint[cell])[..., None]
    joint = (np.abs((x * n) % 1.0 - 0.5) > 0.48) | (np.abs((y * n) % 1.0 - 0.5) > 0.48)
    col[joint] *= 0.45
    return col


@register_texture("grating", 128)
def _grating(size: int, rng: np.random.Generator) -> np.ndarray:
    """Half a metre of steel bar grating (6 cm between bearing bars, a cross bar every 25 cm), open
    between (alpha 0)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    bars = (np.abs((x * 8) % 1.0 - 0.5) > 0.40) | (np.abs((y * 2) % 1.0 - 0.5) > 0.46)
    steel = mix((0.35, 0.36, 0.37), (0.55, 0.56, 0.57), value_noise(size, 16, rng))
    alpha = np.where(bars, 1.0, 0.0).astype(np.float32)
    return np.concatenate([steel, alpha[..., None]], axis=-1)
