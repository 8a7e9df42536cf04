"""The audience's own sounds: applause, a cough, whispering, a phone ringing, a voice-like hostile
question, footsteps and a door, the curtain's swish. The room's murmur is the shared ``crowd-murmur``
family of :mod:`vr_exposure.renderer.blocks.sound`. No words anywhere: the voices are buzzes through
moving formants, chopped into syllables."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.blocks.sound import (
    RATE_HZ,
    band,
    bandpass,
    normalise,
    register_synth,
    spectral_noise,
)


def _burst(n: int, rng: np.random.Generator, lo_hz: float, hi_hz: float, decay_s: float) -> np.ndarray:
    t = np.arange(n) / RATE_HZ
    x = bandpass(rng.normal(size=n), lo_hz, hi_hz) * np.exp(-t / decay_s)
    return x / (np.max(np.abs(x)) + 1e-12)  # type: ignore[no-any-return]


@register_synth("applause")
def _applause(rng: np.random.Generator) -> np.ndarray:
    """5 s one-shot: a few hundred pairs of hands, each clapping at its own rate, swelling in half a
    second and dying away over the last two."""
    n = 5 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    out = np.zeros(n)
    clap_n = int(0.02 * RATE_HZ)
    bank = [
        _burst(clap_n, rng, float(rng.uniform(600, 1200)), float(rng.uniform(2500, 6000)), 0.004)
        for _ in range(16)
    ]
    for _ in range(60):
        rate = float(rng.uniform(2.5, 4.5))
        start = float(rng.uniform(0.0, 0.5))
        stop = float(rng.uniform(3.0, 4.8))
        gain = float(rng.uniform(0.3, 1.0))
        k = start
        while k < stop:
            i = int(k * RATE_HZ)
            out[i : i + clap_n] += bank[int(rng.integers(len(bank)))][: n - i] * gain
            k += 1.0 / rate * float(rng.uniform(0.9, 1.1))
    env = np.clip(t / 0.4, 0, 1) * np.clip((5.0 - t) / 2.0, 0, 1)
    return normalise(out * env, 0.9)


@register_synth("cough")
def _cough(rng: np.random.Generator) -> np.ndarray:
    """1.6 s one-shot: two or three dry coughs, each a sharp noisy burst with a short voiced edge."""
    n = int(1.6 * RATE_HZ)
    out = np.zeros(n)
    m = int(0.28 * RATE_HZ)
    tb = np.arange(m) / RATE_HZ
    start = 0.05
    for k in range(int(rng.integers(2, 4))):
        noise = bandpass(rng.normal(size=m), 250.0, 3500.0)
        f0 = float(rng.uniform(120, 180))
        voiced = np.sum([np.sin(2 * math.pi * f0 * h * tb) / h for h in range(1, 10)], axis=0)
        env = np.clip(tb / 0.008, 0, 1) * np.exp(-tb / (0.07 if k == 0 else 0.05))
        burst = (noise / (np.max(np.abs(noise)) + 1e-12) + 0.35 * voiced / 3.0) * env
        i = int(start * RATE_HZ)
        if i + m > n:
            break
        out[i : i + m] += burst * (1.0 if k == 0 else 0.75)
        start += float(rng.uniform(0.3, 0.45))
    return normalise(bandpass(out, 150.0, 5000.0), 0.9)


@register_synth("whisper")
def _whisper(rng: np.random.Generator) -> np.ndarray:
    """4 s: two people whispering: hissing noise through moving formants, in syllables and pauses."""
    n = 4 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    out = np.zeros(n)
    for _ in range(2):
        hiss = spectral_noise(n, rng, band(1200.0, 6500.0))
        rate = float(rng.uniform(3.5, 5.5))
        syll = np.clip(np.sin(2 * math.pi * rate * t + float(rng.uniform(0, 6.3))), 0, None) ** 2
        phrase = np.sin(2 * math.pi * t / float(rng.uniform(1.5, 2.5)) + float(rng.uniform(0, 6.3))) > -0.2
        out += hiss * syll * phrase
    return normalise(out, 0.6)


@register_synth("phone-ring")
def _phone_ring(rng: np.random.Generator) -> np.ndarray:
    """4.5 s: a phone's trill (two tones switching 16 times a second) for a second, a pause, three
    times."""
    n = int(4.5 * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    trill = np.where(
        np.sin(2 * math.pi * 16 * t) > 0, np.sin(2 * math.pi * 1320 * t), np.sin(2 * math.pi * 1680 * t)
    )
    gate = ((t % 1.5) < 1.0).astype(np.float64)
    soften = np.clip((t % 1.5) / 0.01, 0, 1) * np.clip((1.0 - (t % 1.5)) / 0.01, 0, 1)
    return normalise(trill * gate * soften + 0.3 * np.sin(2 * math.pi * 2640 * t) * gate * soften, 0.8)


def _voice(n: int, rng: np.random.Generator, f0_hz: float, rise: bool) -> np.ndarray:
    """One voice-like babble: a glottal buzz at a wandering pitch through two moving formants,
    chopped into syllables; with ``rise`` the pitch climbs over the last second (a question)."""
    t = np.arange(n) / RATE_HZ
    dur = n / RATE_HZ
    f0 = f0_hz * (1.0 + 0.07 * np.sin(2 * math.pi * 0.5 * t) + 0.05 * np.sin(2 * math.pi * 1.7 * t))
    if rise:
        f0 *= 1.0 + 0.45 * np.clip((t - (dur - 1.0)) / 0.8, 0, 1) ** 2
    phase = np.cumsum(f0) / RATE_HZ
    buzz = np.sum([np.sin(2 * math.pi * k * phase) / k for k in range(1, 30)], axis=0)
    # Formants that move from syllable to syllable: filter in short blocks.
    out = np.zeros(n)
    block = int(0.12 * RATE_HZ)
    win = np.hanning(2 * block)
    f = np.fft.rfftfreq(2 * block, 1.0 / RATE_HZ)
    for i in range(0, n - 2 * block, block):
        f1, f2 = float(rng.uniform(350, 850)), float(rng.uniform(1000, 2300))
        spec = np.fft.rfft(buzz[i : i + 2 * block] * win)
        spec *= np.exp(-(((f - f1) / 150.0) ** 2)) + 0.6 * np.exp(-(((f - f2) / 250.0) ** 2))
        out[i : i + 2 * block] += np.fft.irfft(spec, 2 * block)
    rate = float(rng.uniform(3.8, 4.6))
    syllables = np.clip(np.sin(2 * math.pi * rate * t), 0, None) ** 0.8
    pauses = (np.sin(2 * math.pi * t / 1.9 + 1.0) > -0.7).astype(np.float64)
    env = np.clip(t / 0.05, 0, 1) * np.clip((dur - t) / 0.15, 0, 1)
    result: np.ndarray = out * syllables * pauses * env
    return result


@register_synth("question-voice")
def _question_voice(rng: np.random.Generator) -> np.ndarray:
    """5 s one-shot: one low, insistent voice asking something, the pitch rising at the end."""
    n = 5 * RATE_HZ
    voice = _voice(n, rng, float(rng.uniform(105, 125)), rise=True)
    return normalise(voice + 0.02 * spectral_noise(n, rng, band(200.0, 3000.0)), 0.9)


@register_synth("footsteps")
def _footsteps(rng: np.random.Generator) -> np.ndarray:
    """8 s one-shot: footsteps on a hard floor, two a second, then a door closing."""
    n = 8 * RATE_HZ
    out = np.zeros(n)
    m = int(0.12 * RATE_HZ)
    tm = np.arange(m) / RATE_HZ
    for k in range(13):
        i = int((0.3 + k * 0.52 + float(rng.uniform(-0.03, 0.03))) * RATE_HZ)
        heel = np.sin(2 * math.pi * 90 * tm) * np.exp(-tm / 0.025)
        click = _burst(m, rng, 1500.0, 6000.0, 0.006)
        out[i : i + m] += heel + 0.5 * click
    i = int(7.2 * RATE_HZ)
    d = int(0.5 * RATE_HZ)
    td = np.arange(d) / RATE_HZ
    out[i : i + d] += 1.6 * np.sin(2 * math.pi * 70 * td) * np.exp(-td / 0.1) + _burst(
        d, rng, 300.0, 3000.0, 0.03
    )
    return normalise(out, 0.85)


@register_synth("curtain-swish")
def _curtain_swish(rng: np.random.Generator) -> np.ndarray:
    """3 s one-shot: heavy cloth sliding (a swelling and fading hiss) over rattling curtain rings."""
    n = 3 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    cloth = spectral_noise(n, rng, band(300.0, 4000.0)) * np.sin(math.pi * np.clip(t / 2.6, 0, 1)) ** 1.5
    rings = np.zeros(n)
    m = int(0.03 * RATE_HZ)
    tm = np.arange(m) / RATE_HZ
    for when in rng.uniform(0.05, 2.5, size=40):
        i = int(when * RATE_HZ)
        rings[i : i + m] += np.sin(2 * math.pi * float(rng.uniform(2500, 4200)) * tm) * np.exp(-tm / 0.006)
    return normalise(cloth + 0.25 * rings, 0.75)
