"""The convoy's own textures: sun-dried mud brick with plaster patches, striped awning cloth, and a
soft puff for smoke and dust (with alpha)."""

from __future__ import annotations

import numpy as np

from vr_exposure.renderer.procedural import fbm, mix, register_texture, value_noise


@register_texture("convoy-mud-brick", 256)
def _mud_brick(size: int, rng: np.random.Generator) -> np.ndarray:
    """Mud brick: courses of sun-dried bricks, half rendered over with earth plaster that has
    cracked and worn away in patches. One tile is about a metre (the box UVs are in metres)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rows = 6
    row = np.floor(y * rows).astype(np.int64)
    shift = (row % 2) * 0.5
    bx = (x * 3.0 + shift) % 1.0
    by = (y * rows) % 1.0
    joint = (np.abs(bx - 0.5) > 0.47) | (np.abs(by - 0.5) > 0.43)
    tint = rng.uniform(-0.06, 0.06, (rows + 1, 9))
    brick_t = tint[row, np.floor(x * 3.0 + shift).astype(np.int64) % 9]
    n = fbm(size, 6, 5, rng)
    grit = value_noise(size, size // 2, rng)
    brick = mix((0.62, 0.46, 0.31), (0.76, 0.60, 0.42), 0.6 * n + 0.4 * grit)
    brick *= (1.0 + brick_t)[..., None]
    brick[joint] *= 0.86
    plaster = mix((0.78, 0.68, 0.52), (0.86, 0.77, 0.61), 0.5 * n + 0.5 * grit)
    cover = fbm(size, 2, 4, rng) > 0.42
    out: np.ndarray = np.where(cover[..., None], plaster, brick)
    return out


@register_texture("convoy-awning", 128)
def _awning(size: int, rng: np.random.Generator) -> np.ndarray:
    """Sun-faded cloth in broad stripes (a market stall's awning)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    stripe = (np.floor(x * 6.0) % 2).astype(np.float32)
    n = fbm(size, 4, 3, rng)
    a = mix((0.70, 0.22, 0.16), (0.80, 0.30, 0.22), n)
    b = mix((0.86, 0.80, 0.66), (0.94, 0.88, 0.74), n)
    out: np.ndarray = a * stripe[..., None] + b * (1.0 - stripe[..., None])
    return out


@register_texture("convoy-puff", 128, wrap=False)
def _puff(size: int, rng: np.random.Generator) -> np.ndarray:
    """A soft round puff, white with a ragged edge, alpha falling to 0 at the rim (RGBA)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    r = np.hypot(x - 0.5, y - 0.5) * 2.0
    n = fbm(size, 6, 4, rng)
    alpha = np.clip((1.0 - r) * 1.6 - 0.5 * n, 0.0, 1.0) ** 1.3
    rgb = mix((0.85, 0.85, 0.85), (1.0, 1.0, 1.0), n)
    return np.dstack([rgb, alpha])
