"""The cabin's textures: carpet, seat fabric, the wall and bin panels' plastic, the seat-belt sign's
icons, and outside the apron's concrete and the fields seen from above."""

from __future__ import annotations

import numpy as np

from vr_exposure.renderer.procedural import fbm, mix, register_texture, value_noise


@register_texture("cabin-carpet", 256)
def _cabin_carpet(size: int, rng: np.random.Generator) -> np.ndarray:
    """One metre of blue-grey cabin carpet: a fine pile and a small repeating diamond figure."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    pile = value_noise(size, size // 2, rng)
    col = mix((0.16, 0.18, 0.26), (0.24, 0.26, 0.36), 0.6 * pile + 0.4 * fbm(size, 4, 3, rng))
    d = np.abs((x * 8) % 1.0 - 0.5) + np.abs((y * 8) % 1.0 - 0.5)
    col[(d > 0.38) & (d < 0.44)] *= 1.35
    return col


@register_texture("seat-fabric", 256)
def _seat_fabric(size: int, rng: np.random.Generator) -> np.ndarray:
    """Half a metre of woven seat cover: dark blue with a fine weave and a faint lighter fleck."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    weave = 0.5 + 0.25 * np.sin(x * size * 1.6) * np.sin(y * size * 1.6)
    fleck = value_noise(size, 64, rng) > 0.8
    col = mix((0.09, 0.13, 0.28), (0.16, 0.22, 0.42), 0.5 * weave + 0.5 * fbm(size, 6, 3, rng))
    col[fleck] *= 1.25
    return col


@register_texture("cabin-panel", 256)
def _cabin_panel(size: int, rng: np.random.Generator) -> np.ndarray:
    """One metre of the wall and bin panels' off-white plastic: a faint grain, a seam every half metre."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    col = mix(
        (0.80, 0.80, 0.78), (0.88, 0.88, 0.86), 0.7 * fbm(size, 8, 4, rng) + 0.3 * value_noise(size, 128, rng)
    )
    seam = np.abs((x * 2) % 1.0 - 0.5) > 0.494
    col[seam] *= 0.7
    return col


@register_texture("belt-sign", 128, wrap=False)
def _belt_sign(size: int, rng: np.random.Generator) -> np.ndarray:
    """The sign's two icons, light on dark: a no-smoking cigarette in a circle (left) and a fastened
    seat belt's buckle (right). The lit sign multiplies it by a warm colour."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    col = np.full((size, size, 3), 0.08, dtype=np.float32)
    # Left half: a ring with a bar across (no smoking).
    cx, cy = 0.25, 0.5
    r = np.hypot((x - cx) * 2.0, (y - cy))
    ring = (r > 0.3) & (r < 0.38)
    bar = (np.abs((x - cx) * 2.0 + (y - cy)) < 0.06) & (r < 0.34)
    cig = (np.abs(y - cy) < 0.05) & (np.abs((x - cx) * 2.0) < 0.26)
    # Right half: two belt straps meeting at a buckle.
    bx = (x - 0.75) * 2.0
    strap = (np.abs(y - cy) < 0.07) & (np.abs(bx) < 0.4)
    buckle = (np.abs(bx) < 0.12) & (np.abs(y - cy) < 0.16) & ~((np.abs(bx) < 0.06) & (np.abs(y - cy) < 0.09))
    lit = ring | bar | cig | strap | buckle
    col[lit] = 0.95
    return col


@register_texture("apron", 256)
def _apron(size: int, rng: np.random.Generator) -> np.ndarray:
    """Five metres of airport apron: pale concrete slabs, dark joints every 5 m, oil stains."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    col = mix((0.50, 0.50, 0.48), (0.64, 0.63, 0.60), fbm(size, 6, 4, rng))
    stain = fbm(size, 3, 3, rng) > 0.68
    col[stain] *= 0.8
    joint = (np.abs(x - 0.5) > 0.496) | (np.abs(y - 0.5) > 0.496)
    col[joint] *= 0.55
    return col


@register_texture("fields", 512)
def _fields(size: int, rng: np.random.Generator) -> np.ndarray:
    """About four kilometres of farmland seen from cruising height: fields of green, ochre and brown
    in an irregular patchwork, dark hedges, a few woods and a river."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    cells = 14
    jx = fbm(size, 4, 2, rng) * 0.6
    gx, gy = np.floor(x * cells + jx).astype(int), np.floor(y * cells * 1.3 + jx).astype(int)
    key = (gx * 73 + gy * 151) % 97
    palette = np.array(
        [(0.30, 0.42, 0.20), (0.42, 0.50, 0.24), (0.62, 0.55, 0.32), (0.48, 0.38, 0.25), (0.36, 0.46, 0.22)],
        dtype=np.float32,
    )
    col = palette[key % len(palette)] * (0.9 + 0.2 * fbm(size, 16, 3, rng)[..., None])
    fx, fy = (x * cells + jx) % 1.0, (y * cells * 1.3 + jx) % 1.0
    hedge = (fx < 0.03) | (fy < 0.03)
    col[hedge] *= 0.6
    woods = fbm(size, 5, 4, rng) > 0.66
    col[woods] = (0.16, 0.25, 0.13)
    river = np.abs(y - 0.5 - 0.12 * np.sin(x * 6.283 * 2) - 0.05 * fbm(size, 4, 2, rng)) < 0.006
    col[river] = (0.25, 0.32, 0.38)
    out: np.ndarray = col.astype(np.float32)
    return out
