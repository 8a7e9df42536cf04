"""The cabin's own sounds: the jet engines, the air conditioning, the chimes, the captain's voice,
the bins' rattle, a turbulence jolt and the touchdown. Wind, rain, thunder and the passengers'
murmur are the shared families of :mod:`vr_exposure.renderer.blocks.sound`."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.blocks.sound import (
    RATE_HZ,
    SYNTHS,
    band,
    bandpass,
    normalise,
    register_synth,
    spectral_noise,
)


def _chime(n: int, start_s: float = 0.0) -> np.ndarray:
    """The two-tone cabin chime: a struck high tone, then a lower one 0.55 s later, each ringing out."""
    t = np.arange(n) / RATE_HZ
    out = np.zeros(n)
    for onset, f in ((start_s, 880.0), (start_s + 0.55, 698.0)):
        u = np.maximum(t - onset, 0.0)
        env = (t >= onset) * np.exp(-u / 0.5) * np.minimum(u / 0.004, 1.0)
        out += env * (np.sin(2 * math.pi * f * t) + 0.3 * np.sin(2 * math.pi * 2.76 * f * t))
    return out


@register_synth("jet-engine")
def _jet_engine(rng: np.random.Generator) -> np.ndarray:
    """6 s loop: a turbofan heard through the cabin wall: a broad low roar, a rumble, and the fan's
    whine near 2.4 kHz with its harmonic, slowly wavering."""
    n = 6 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    roar = spectral_noise(
        n, rng, lambda f: np.where(f > 30, 1.0 / np.maximum(f, 1.0) ** 0.6, 0) * np.exp(-f / 1500)
    )
    rumble = spectral_noise(n, rng, band(35.0, 140.0))
    # The whine's pitch wavers a little, by whole cycles over the loop so it stays seamless.
    wobble = 0.003 * np.sin(2 * math.pi * t / 6.0)
    whine = sum(
        a * np.sin(2 * math.pi * f * (t + wobble)) for f, a in ((2400.0, 1.0), (4800.0, 0.35), (1200.0, 0.25))
    )
    return normalise(roar + 0.6 * rumble + 0.08 * whine, 0.85)


@register_synth("cabin-air")
def _cabin_air(rng: np.random.Generator) -> np.ndarray:
    """6 s loop: the air conditioning's even hiss, most of it 300-3000 Hz, with a faint low hum."""
    n = 6 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    hiss = spectral_noise(n, rng, band(300.0, 3000.0))
    hum = 0.15 * np.sin(2 * math.pi * 100.0 * t)
    return normalise(hiss + hum, 0.6)


@register_synth("bins-rattle")
def _bins_rattle(rng: np.random.Generator) -> np.ndarray:
    """4 s loop: plastic bin doors and latches knocking in their frames, irregular clusters of clicks."""
    n = 4 * RATE_HZ
    out = np.zeros(n)
    click_n = int(0.012 * RATE_HZ)
    env = np.exp(-np.arange(click_n) / (0.002 * RATE_HZ))
    for i in rng.integers(0, n - click_n, size=4 * 35):
        out[i : i + click_n] += rng.normal(size=click_n) * env * float(rng.uniform(0.3, 1.0))
    return normalise(bandpass(out, 600.0, 5000.0), 0.8)


@register_synth("turbulence-jolt")
def _turbulence_jolt(rng: np.random.Generator) -> np.ndarray:
    """4 s one-shot: three heavy thumps of the airframe with the bins rattling, a creak, then the
    seat-belt chime."""
    n = 4 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    out = np.zeros(n)
    for onset, a in ((0.05, 1.0), (0.7, 0.7), (1.3, 0.85)):
        u = np.maximum(t - onset, 0.0)
        out += (
            a * (t >= onset) * np.sin(2 * math.pi * (45.0 + 30 * np.exp(-u / 0.05)) * u) * np.exp(-u / 0.18)
        )
    rattle = SYNTHS["bins-rattle"](rng)[:n] * np.exp(-t / 1.2)
    creak_f = 300.0 + 80.0 * np.sin(2 * math.pi * 1.5 * t)
    creak = np.sin(2 * math.pi * np.cumsum(creak_f) / RATE_HZ) * ((t > 0.9) & (t < 1.6)) * 0.15
    return normalise(out + 0.5 * rattle + creak + 0.5 * _chime(n, 2.3), 0.95)


@register_synth("captain-voice")
def _captain_voice(rng: np.random.Generator) -> np.ndarray:
    """8 s one-shot: the chime, then a low voice-like babble (no words) through a loudspeaker's
    narrow band (300-3400 Hz), in phrases with pauses, over the speaker's faint hiss."""
    n = 8 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    f0 = 110.0 * (1.0 + 0.07 * np.sin(2 * math.pi * 0.35 * t) + 0.03 * np.sin(2 * math.pi * 1.3 * t))
    phase = np.cumsum(f0) / RATE_HZ
    buzz = np.sum([np.sin(2 * math.pi * k * phase) / k for k in range(1, 30)], axis=0)
    spec = np.fft.rfft(buzz)
    f = np.fft.rfftfreq(n, 1.0 / RATE_HZ)
    spec *= np.exp(-(((f - 600.0) / 200.0) ** 2)) + 0.7 * np.exp(-(((f - 1500.0) / 350.0) ** 2))
    voiced = np.fft.irfft(spec, n)
    syllables = np.clip(np.sin(2 * math.pi * 4.2 * t + 2.0 * np.sin(2 * math.pi * 0.9 * t)), 0, None) ** 1.5
    phrases = (np.sin(2 * math.pi * t / 2.6) > -0.5) & (t > 1.6) & (t < 7.6)
    voice = bandpass(voiced * syllables * phrases, 300.0, 3400.0)
    hiss = spectral_noise(n, rng, band(1000.0, 4000.0)) * (t > 1.5) * 0.04
    return normalise(0.6 * _chime(n, 0.02) + voice / (np.max(np.abs(voice)) + 1e-12) + hiss, 0.9)


@register_synth("touchdown")
def _touchdown(rng: np.random.Generator) -> np.ndarray:
    """5 s one-shot: the main gear hits (a heavy low thud), the tyres chirp (a short squeal near
    1.3 kHz), the cabin rumbles, then the reverse thrust roars up and dies away."""
    n = 5 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    thud = np.sin(2 * math.pi * (40.0 + 50.0 * np.exp(-t / 0.04)) * t) * np.exp(-t / 0.3)
    f = 1300.0 + 150.0 * np.sin(2 * math.pi * 9.0 * t)
    squeal = np.sin(2 * math.pi * np.cumsum(f) / RATE_HZ) * np.exp(-t / 0.18) * np.minimum(t / 0.01, 1.0)
    rumble = spectral_noise(n, rng, band(30.0, 200.0)) * np.clip(1.0 - t / 5.0, 0.0, 1.0)
    roar = (
        spectral_noise(n, rng, band(80.0, 1500.0))
        * np.clip((t - 1.0) / 0.8, 0.0, 1.0)
        * np.exp(-np.maximum(t - 2.5, 0.0) / 0.9)
    )
    return normalise(1.4 * thud + 0.6 * squeal + 0.4 * rumble + 0.8 * roar, 0.95)
