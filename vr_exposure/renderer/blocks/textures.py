"""Shared surface textures, registered on import (:mod:`vr_exposure.renderer.blocks.materials` imports
this module): for rooms and furniture ``wood-planks`` (floor boards), ``wood-fine`` (desk and shelf
wood), ``plaster`` (walls and ceilings), ``rug`` (a woven rug); outdoors ``sand``, ``grass``,
``water`` (a sea surface), ``foam`` (surf, with alpha, not tiling) and ``asphalt`` (a road)."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.procedural import fbm, mix, register_texture, value_noise


@register_texture("wood-planks", 512)
def _wood_planks(size: int, rng: np.random.Generator) -> np.ndarray:
    """Floor boards: four planks across, staggered joints, grain stretched along the plank."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    planks = 4
    plank = np.floor(x * planks).astype(np.int64)
    offsets = rng.random(planks + 1)
    tints = rng.uniform(-0.08, 0.08, planks + 1)
    local_y = (y + offsets[plank]) % 1.0
    warp = fbm(size, 4, 4, rng)
    grain_noise = fbm(size, 16, 3, rng)
    rings = np.sin((x * planks * 22.0 + warp * 6.0 + grain_noise * 1.5) * math.pi) * 0.5 + 0.5
    t = 0.35 + 0.4 * rings**3 + 0.25 * grain_noise
    col = mix((0.48, 0.32, 0.18), (0.80, 0.62, 0.40), t)
    col *= (1.0 + tints[plank])[..., None]
    gap_x = np.abs((x * planks) % 1.0 - 0.5) > 0.485
    gap_y = np.abs(local_y - 0.5) > 0.497
    col[gap_x | gap_y] *= 0.35
    return col


@register_texture("wood-fine", 256)
def _wood_fine(size: int, rng: np.random.Generator) -> np.ndarray:
    """Desk and shelf wood: long straight grain with a slow figure."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    warp = fbm(size, 3, 4, rng)
    streaks = value_noise(size, 64, rng)
    streaks = streaks.mean(axis=1, keepdims=True) * 0.6 + streaks * 0.4  # long fibres along x
    grain = np.sin((y * 40.0 + warp * 5.0) * math.pi) * 0.5 + 0.5
    t = 0.4 + 0.25 * grain**3 + 0.35 * streaks
    return mix((0.16, 0.08, 0.045), (0.36, 0.19, 0.10), t)


@register_texture("plaster", 256)
def _plaster(size: int, rng: np.random.Generator) -> np.ndarray:
    n = fbm(size, 8, 5, rng)
    speck = value_noise(size, size // 2, rng)
    t = 0.75 * n + 0.25 * speck
    return mix((0.78, 0.74, 0.66), (0.90, 0.87, 0.80), t)


@register_texture("rug", 256)
def _fabric(size: int, rng: np.random.Generator) -> np.ndarray:
    """A woven rug: warp and weft stripes with a border."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    n = fbm(size, 8, 4, rng)
    weave = (np.sin(x * size * 0.8) * np.sin(y * size * 0.8)) * 0.5 + 0.5
    border = (np.minimum(np.minimum(x, 1 - x), np.minimum(y, 1 - y)) < 0.08).astype(np.float32)
    stripe = ((np.minimum(np.minimum(x, 1 - x), np.minimum(y, 1 - y)) * 20.0).astype(np.int64) % 2).astype(
        np.float32
    )
    base = mix((0.45, 0.12, 0.10), (0.62, 0.22, 0.14), 0.6 * n + 0.4 * weave)
    edge = mix((0.80, 0.66, 0.40), (0.30, 0.20, 0.35), stripe)
    out: np.ndarray = base * (1 - border[..., None]) + edge * border[..., None]
    return out


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


@register_texture("asphalt", 256)
def _asphalt(size: int, rng: np.random.Generator) -> np.ndarray:
    """Road surface: dark grey with fine grit and faint patches."""
    grit = value_noise(size, size // 2, rng)
    patches = fbm(size, 4, 4, rng)
    t = 0.55 * grit + 0.45 * patches
    return mix((0.14, 0.14, 0.15), (0.30, 0.30, 0.31), t)
