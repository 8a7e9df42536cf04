"""The heights scene's sounds: wind at height, the city far below, the platform's motor, a gust and
a creak of the floor."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.blocks.sound import RATE_HZ, band, normalise, register_synth, spectral_noise


@register_synth("wind-at-height")
def _wind_at_height(rng: np.random.Generator) -> np.ndarray:
    """12 s: a low buffeting rumble round the building's edge, slow gusts and a thin whistle that
    rises with each gust."""
    n = 12 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    rumble = spectral_noise(
        n, rng, lambda f: np.where(f > 15, 1.0 / np.maximum(f, 1.0), 0) * np.exp(-f / 400)
    )
    air = spectral_noise(n, rng, band(300.0, 2500.0))
    whistle = spectral_noise(n, rng, band(1400.0, 1700.0))
    gust = 0.4 + 0.35 * np.sin(2 * math.pi * t / 12.0) ** 2 + 0.25 * np.sin(2 * math.pi * t / 4.0 + 0.7) ** 2
    buffet = 1.0 + 0.3 * np.sin(2 * math.pi * 1.3 * t) * gust
    return normalise(rumble * gust * buffet + 0.35 * air * gust**2 + 0.12 * whistle * gust**4, 0.8)


@register_synth("city-below")
def _city_below(rng: np.random.Generator) -> np.ndarray:
    """10 s: a muffled traffic rumble (distance takes the highs), a murmur and two far horns."""
    n = 10 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    traffic = spectral_noise(
        n, rng, lambda f: np.where(f > 30, 1.0 / np.maximum(f, 1.0) ** 0.8, 0) * np.exp(-f / 600)
    )
    swell = 0.7 + 0.3 * np.sin(2 * math.pi * t / 10.0 + 1.0) ** 2
    murmur = spectral_noise(n, rng, band(250.0, 900.0)) * (0.6 + 0.4 * np.sin(2 * math.pi * 0.7 * t) ** 2)
    horns = np.zeros(n)
    for start, f0 in ((2.3, 415.0), (7.1, 370.0)):
        k = (t >= start) & (t < start + 0.45)
        env = np.sin(np.pi * (t[k] - start) / 0.45)
        horns[k] = env * (np.sin(2 * math.pi * f0 * t[k]) + 0.5 * np.sin(2 * math.pi * 1.25 * f0 * t[k]))
    return normalise(traffic * swell + 0.25 * murmur + 0.05 * horns, 0.7)


@register_synth("platform-motor")
def _platform_motor(rng: np.random.Generator) -> np.ndarray:
    """4 s: an electric motor's hum (100 Hz and harmonics), a gear whine rising as it speeds up."""
    n = 4 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    hum = sum(np.sin(2 * math.pi * 100.0 * k * t) / k for k in (1, 2, 3))
    speed = np.minimum(t / 1.0, 1.0)
    whine = np.sin(2 * math.pi * np.cumsum(600.0 + 300.0 * speed) / RATE_HZ)
    rattle = spectral_noise(n, rng, band(2000.0, 5000.0))
    return normalise(0.6 * hum + 0.25 * whine * speed + 0.1 * rattle, 0.7)


@register_synth("wind-gust")
def _wind_gust(rng: np.random.Generator) -> np.ndarray:
    """4 s one-shot: a gust that swells in a second and dies away, with a whistle at its peak."""
    n = 4 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    body = spectral_noise(
        n, rng, lambda f: np.where(f > 20, 1.0 / np.maximum(f, 1.0) ** 0.6, 0) * np.exp(-f / 1200)
    )
    whistle = spectral_noise(n, rng, band(1100.0, 1500.0))
    env = np.where(t < 1.0, np.sin(t / 1.0 * math.pi / 2) ** 2, np.exp(-(t - 1.0) * 1.4))
    return normalise(body * env + 0.3 * whistle * env**3, 0.9)


@register_synth("floor-creak")
def _floor_creak(rng: np.random.Generator) -> np.ndarray:
    """2 s one-shot: a strained creak (a rough tone sliding down), a dull knock, a softer second creak."""
    n = 2 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    f = 180.0 - 40.0 * t
    rough = 1.0 + 0.6 * np.sign(np.sin(2 * math.pi * 23.0 * t))
    tone = np.sin(2 * math.pi * np.cumsum(f) / RATE_HZ) * rough
    creak = tone * (np.exp(-(((t - 0.35) / 0.25) ** 2)) + 0.5 * np.exp(-(((t - 1.45) / 0.3) ** 2)))
    knock = spectral_noise(n, rng, band(60.0, 300.0)) * np.exp(-np.maximum(t - 0.8, 0) * 25.0) * (t > 0.8)
    return normalise(creak + 1.5 * knock, 0.9)
