"""The spider scene's procedural textures: a photograph of a spider and the spiders' fur."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.procedural import fbm, mix, register_texture, value_noise


@register_texture("spider-photo", 256, wrap=False)
def _spider_photo(size: int, rng: np.random.Generator) -> np.ndarray:
    """A photograph of a spider on a pale leaf: dark body, eight bent legs, soft vignette."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    n = fbm(size, 6, 4, rng)
    img = mix((0.52, 0.60, 0.38), (0.78, 0.80, 0.58), n)
    dark = np.zeros((size, size), dtype=np.float32)
    cx, cy = 0.5, 0.52

    def ellipse(ex: float, ey: float, rx: float, ry: float) -> np.ndarray:
        inside: np.ndarray = (((x - ex) / rx) ** 2 + ((y - ey) / ry) ** 2 <= 1.0).astype(np.float32)
        return inside

    dark = np.maximum(dark, ellipse(cx, cy - 0.06, 0.07, 0.08))
    dark = np.maximum(dark, ellipse(cx, cy + 0.10, 0.10, 0.13))
    for side in (-1.0, 1.0):
        for i, ang in enumerate((35.0, 70.0, 110.0, 145.0)):
            a = math.radians(ang)
            kx = cx + side * 0.20 * math.sin(a)
            ky = cy - 0.06 - 0.20 * math.cos(a) * 0.9
            fx = cx + side * (0.34 + 0.02 * i) * math.sin(a)
            fy = cy - 0.06 - 0.36 * math.cos(a)
            for (x0, y0), (x1, y1) in (((cx, cy - 0.06), (kx, ky)), ((kx, ky), (fx, fy))):
                px, py = x - x0, y - y0
                dx, dy = x1 - x0, y1 - y0
                t = np.clip((px * dx + py * dy) / (dx * dx + dy * dy), 0.0, 1.0)
                dist = np.hypot(px - t * dx, py - t * dy)
                dark = np.maximum(dark, (dist < 0.012).astype(np.float32))
    img = img * (1.0 - 0.9 * dark[..., None])
    vignette = 1.0 - 0.5 * ((x - 0.5) ** 2 + (y - 0.5) ** 2)
    out: np.ndarray = img * vignette[..., None]
    return out


@register_texture("fur", 128)
def _fur(size: int, rng: np.random.Generator) -> np.ndarray:
    """Spider body: near-black brown with fine hair streaks and a paler chevron band."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    n = fbm(size, 16, 4, rng)
    hair = value_noise(size, size // 2, rng)
    chevron = (np.abs(((x * 4.0) % 1.0) - 0.5) < 0.12).astype(np.float32) * 0.25
    t = 0.5 * n + 0.3 * hair + chevron
    return mix((0.05, 0.035, 0.025), (0.28, 0.19, 0.12), t)
