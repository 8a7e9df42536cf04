"""The enclosed scene's sounds: a lift's hum, its doors shutting, an alarm bell and an MRI scanner's
knocking."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.blocks.sound import RATE_HZ, band, normalise, register_synth, spectral_noise


@register_synth("lift-hum")
def _lift_hum(rng: np.random.Generator) -> np.ndarray:
    """8 s loop: a motor's 50 Hz hum with harmonics, ventilation air and the cabin's slow rumble."""
    n = 8 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    hum = sum(np.sin(2 * math.pi * 50.0 * k * t) / k**1.5 for k in (1, 2, 3, 4))
    air = spectral_noise(n, rng, band(200.0, 1800.0))
    rumble = spectral_noise(n, rng, band(25.0, 120.0)) * (0.8 + 0.2 * np.sin(2 * math.pi * t / 8.0))
    return normalise(0.5 * hum + 0.25 * air + 0.6 * rumble, 0.6)


@register_synth("lift-door")
def _lift_door(rng: np.random.Generator) -> np.ndarray:
    """3 s one-shot: the doors' rollers rumble for two seconds, then the panels meet with a thud."""
    n = 3 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    # The rumble swells and fades over the first two seconds (clipped: no root of a negative sine after).
    swell = np.sqrt(np.clip(np.sin(np.pi * np.minimum(t, 2.0) / 2.0), 0.0, None))
    roll = spectral_noise(n, rng, band(80.0, 900.0)) * swell
    thud = spectral_noise(n, rng, band(40.0, 250.0)) * np.exp(-np.maximum(t - 2.0, 0) * 18.0) * (t >= 2.0)
    return normalise(0.5 * roll + 1.6 * thud, 0.9)


@register_synth("alarm-bell")
def _alarm_bell(rng: np.random.Generator) -> np.ndarray:
    """4 s one-shot: an electric bell (a struck 2.2 kHz gong hammered 20 times a second) in two bursts."""
    n = 4 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    strike = np.exp(-((t * 20.0) % 1.0) * 6.0)
    tone = sum(np.sin(2 * math.pi * f * t) * a for f, a in ((2200.0, 1.0), (3650.0, 0.5), (5100.0, 0.25)))
    bursts = ((t > 0.1) & (t < 1.6)) | ((t > 2.1) & (t < 3.7))
    clatter = spectral_noise(n, rng, band(3000.0, 7000.0))
    return normalise((tone * strike + 0.2 * clatter * strike) * bursts, 0.9)


@register_synth("scanner-knock")
def _scanner_knock(rng: np.random.Generator) -> np.ndarray:
    """6 s loop: the gradient coils' loud knocking (about four knocks a second, in groups), a buzzing
    tone under it and the cryo-pump's chirp every second."""
    n = 6 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    period = 0.25
    phase = (t % period) / period
    group = (np.floor(t / period) % 8) < 6  # six knocks, a pause of two
    knock_env = np.exp(-phase * 30.0) * group
    knock = spectral_noise(n, rng, band(300.0, 2500.0)) * knock_env
    buzz = np.sign(np.sin(2 * math.pi * 620.0 * t)) * 0.15 * group
    chirp_ph = t % 1.0
    chirp = np.sin(2 * math.pi * (900.0 + 1200.0 * chirp_ph) * t) * np.exp(-chirp_ph * 40.0)
    return normalise(knock + buzz + 0.2 * chirp, 0.9)
