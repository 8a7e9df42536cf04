"""The convoy's own sounds: a diesel rumble, the call to prayer, gunfire, a baby crying, the blast with
radio static and shouting, and ringing ears. Helicopter, wind, crowd murmur and barking are the shared
families of :mod:`vr_exposure.renderer.blocks.sound`. Everything is synthesised; no voice says words.
"""

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


def _formants(x: np.ndarray, peaks: tuple[tuple[float, float, float], ...]) -> np.ndarray:
    """``x`` through resonances (centre Hz, width Hz, gain), applied in the frequency domain."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / RATE_HZ)
    shape = sum(g * np.exp(-(((f - c) / w) ** 2)) for c, w, g in peaks)
    return np.fft.irfft(spec * shape, x.size)


def _buzz(f0: np.ndarray, harmonics: int = 30) -> np.ndarray:
    """A glottal-like buzz following the pitch contour ``f0`` (Hz per sample), harmonics falling 1/k."""
    phase = 2 * math.pi * np.cumsum(f0) / RATE_HZ
    return np.sum([np.sin(k * phase) / k for k in range(1, harmonics + 1)], axis=0)  # type: ignore[no-any-return]


def _echo(x: np.ndarray, delays_s: tuple[float, ...], gain: float) -> np.ndarray:
    """Copies of ``x`` delayed (wrapping round, so a loop stays seamless) and quieter each time."""
    out = x.copy()
    g = 1.0
    for d in delays_s:
        g *= gain
        out += g * np.roll(x, int(d * RATE_HZ))
    return out


@register_synth("diesel-rumble")
def _diesel(rng: np.random.Generator) -> np.ndarray:
    """3 s loop: a big diesel at low revs, firing 20 times a second, with a rattle on each firing."""
    n = 3 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    f0 = 20.0
    tone = sum(
        (1.0 / k**0.8) * np.sin(2 * math.pi * f0 * k * t + float(rng.uniform(0, 2 * math.pi)))
        for k in range(1, 12)
    )
    phase = (t * f0) % 1.0
    rattle = bandpass(rng.normal(size=n), 150.0, 1400.0) * np.exp(-phase * 6.0)
    drone = spectral_noise(n, rng, band(30.0, 160.0))
    return normalise(tone + 0.6 * rattle / (np.max(np.abs(rattle)) + 1e-12) + 0.5 * drone, 0.85)


@register_synth("call-to-prayer")
def _call_to_prayer(rng: np.random.Generator) -> np.ndarray:
    """16 s: four long sung phrases on an open vowel, each holding a note, then ornamenting it
    (melisma: quick turns between neighbouring scale steps, a trill, a falling glide), with vibrato,
    breaths between phrases, a loudspeaker's narrow band and the echo off the houses."""
    n = 16 * RATE_HZ
    base = 290.0
    # Scale steps in semitones (a maqam-like mode with a three-quarter step), sung in turns.
    steps = (0.0, 1.5, 3.0, 5.0, 7.0)
    f0 = np.full(n, base)
    gate = np.zeros(n)
    start = 0.2
    for _phrase in range(4):
        length = float(rng.uniform(2.8, 3.4))
        i0, i1 = int(start * RATE_HZ), int(min(start + length, 15.9) * RATE_HZ)
        seg = np.arange(i1 - i0) / RATE_HZ
        hold = 0.35 * length
        top = steps[int(rng.integers(2, len(steps)))]
        semis = np.where(seg < hold, top, 0.0)
        # The melisma: turns round the held note, faster toward the end, then a falling glide.
        turn = seg >= hold
        rate = 5.0 + 3.0 * (seg - hold) / max(length - hold, 1e-6)
        semis = semis + turn * (top - 1.5 + 1.5 * np.sign(np.sin(2 * math.pi * np.cumsum(rate) / RATE_HZ)))
        fall = np.clip((seg - 0.8 * length) / (0.2 * length), 0.0, 1.0)
        semis = semis - fall * 3.0
        # Glide between steps rather than jump (a sung line, not a keyboard).
        k = int(0.04 * RATE_HZ)
        semis = np.convolve(semis, np.ones(k) / k, mode="same")
        vibrato = 0.25 * np.sin(2 * math.pi * 5.5 * seg) * np.clip(seg / 0.6, 0, 1)
        f0[i0:i1] = base * 2.0 ** ((semis + vibrato) / 12.0)
        env = np.clip(seg / 0.15, 0, 1) * np.clip((seg[-1] - seg) / 0.25, 0, 1)
        gate[i0:i1] = env
        start += length + float(rng.uniform(0.6, 0.9))  # a breath
    voice = _buzz(f0, 24)
    # Open "a" vowel formants; a little breath noise on top.
    voiced = _formants(voice, ((750.0, 130.0, 1.0), (1250.0, 170.0, 0.6), (2600.0, 300.0, 0.25)))
    breath = bandpass(rng.normal(size=n), 1500.0, 5000.0)
    out = voiced / (np.max(np.abs(voiced)) + 1e-12) + 0.04 * breath / (np.max(np.abs(breath)) + 1e-12)
    out = bandpass(out * gate, 300.0, 4500.0)  # a horn loudspeaker: no deep bass, no sparkle
    out = _echo(out, (0.23, 0.41, 0.66), 0.45)
    return normalise(out, 0.85)


def _shot(n: int, rng: np.random.Generator) -> np.ndarray:
    """One rifle shot: a sharp crack, a low report and a short tail."""
    t = np.arange(n) / RATE_HZ
    crack = bandpass(rng.normal(size=n), 800.0, 8000.0) * np.exp(-t / 0.004)
    report = np.sin(2 * math.pi * (90.0 + 60.0 * np.exp(-t / 0.02)) * t) * np.exp(-t / 0.06)
    tail = bandpass(rng.normal(size=n), 100.0, 1200.0) * np.exp(-t / 0.15)
    c = crack / (np.max(np.abs(crack)) + 1e-12)
    tl = tail / (np.max(np.abs(tail)) + 1e-12)
    return c + 0.8 * report + 0.25 * tl  # type: ignore[no-any-return]


@register_synth("gunfire")
def _gunfire(rng: np.random.Generator) -> np.ndarray:
    """4 s: a burst of four to six rounds, single shots, then a second burst, echoing off walls."""
    n = 4 * RATE_HZ
    out = np.zeros(n)
    shot_n = int(0.5 * RATE_HZ)
    times: list[float] = []
    t0 = 0.1
    times += [t0 + k * 0.09 for k in range(int(rng.integers(4, 7)))]
    times += [1.3, 1.9]
    t1 = float(rng.uniform(2.5, 2.8))
    times += [t1 + k * 0.1 for k in range(int(rng.integers(3, 6)))]
    for s in times:
        i = int(s * RATE_HZ)
        if i + shot_n > n:
            continue
        out[i : i + shot_n] += _shot(shot_n, rng) * float(rng.uniform(0.7, 1.0))
    out = _echo(out, (0.18, 0.37), 0.35)
    return normalise(out, 0.95)


@register_synth("baby-cry")
def _baby_cry(rng: np.random.Generator) -> np.ndarray:
    """4 s: a baby crying: wails near 450 Hz that rise and fall, with a harsh edge and sobbing
    in-breaths between them."""
    n = 4 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    f0 = np.full(n, 430.0)
    gate = np.zeros(n)
    start = 0.05
    while start < 3.7:
        length = float(rng.uniform(0.7, 1.1))
        i0, i1 = int(start * RATE_HZ), int(min(start + length, 4.0) * RATE_HZ)
        seg = np.arange(i1 - i0) / RATE_HZ
        u = seg / length
        f0[i0:i1] = (420.0 + 140.0 * np.sin(math.pi * u) ** 0.7 - 60.0 * u) * (
            1.0 + 0.03 * np.sin(2 * math.pi * 11.0 * seg)
        )
        gate[i0:i1] = np.clip(seg / 0.05, 0, 1) * np.clip((length - seg) / 0.12, 0, 1)
        start += length + float(rng.uniform(0.25, 0.45))
    voice = _buzz(f0, 16)
    voiced = _formants(voice, ((1000.0, 250.0, 1.0), (2400.0, 400.0, 0.7), (3800.0, 500.0, 0.3)))
    voiced = voiced / (np.max(np.abs(voiced)) + 1e-12)
    # In-breaths: short noisy gasps in the gaps.
    breath = bandpass(rng.normal(size=n), 2000.0, 6000.0) * (gate < 0.01)
    sob = np.clip(np.sin(2 * math.pi * 2.5 * t), 0, None) ** 4
    out = voiced * gate + 0.05 * breath * sob / (np.max(np.abs(breath)) + 1e-12)
    return normalise(out, 0.85)


def _radio_voice(n: int, rng: np.random.Generator) -> np.ndarray:
    """A shouting-like voice (high, strained pitch, fast syllables, no words) through a radio."""
    t = np.arange(n) / RATE_HZ
    f0 = float(rng.uniform(210.0, 300.0)) * (
        1.0 + 0.12 * np.sin(2 * math.pi * float(rng.uniform(0.6, 1.4)) * t)
    )
    voice = _buzz(f0, 18)
    f1, f2 = float(rng.uniform(650, 900)), float(rng.uniform(1300, 1900))
    voiced = _formants(voice, ((f1, 160.0, 1.0), (f2, 250.0, 0.7)))
    rate = float(rng.uniform(5.0, 6.5))
    syllables = np.clip(np.sin(2 * math.pi * rate * t + float(rng.uniform(0, 6.3))), 0, None) ** 1.2
    phrases = np.sin(2 * math.pi * t / float(rng.uniform(1.4, 2.2)) + float(rng.uniform(0, 6.3))) > -0.3
    out: np.ndarray = voiced * syllables * phrases / (np.max(np.abs(voiced)) + 1e-12)
    return out


@register_synth("ied-blast")
def _ied_blast(rng: np.random.Generator) -> np.ndarray:
    """10 s: a blast (a deep boom with a sharp crack and falling debris), then radio static with
    squelch clicks and shouting-like voices through the radio's narrow band (no words)."""
    n = 10 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    boom = np.sin(2 * math.pi * (32.0 + 50.0 * np.exp(-t / 0.08)) * t) * np.exp(-t / 0.7)
    crack = bandpass(rng.normal(size=n), 300.0, 7000.0) * np.exp(-t / 0.05)
    roar = spectral_noise(n, rng, band(20.0, 300.0)) * np.exp(-t / 1.2) * np.clip(t / 0.02, 0, 1)
    debris = np.zeros(n)
    click_n = int(0.01 * RATE_HZ)
    for _ in range(70):
        i = int(float(rng.uniform(0.4, 3.2)) * RATE_HZ)
        debris[i : i + click_n] += rng.normal(size=click_n) * np.exp(-np.arange(click_n) / (0.002 * RATE_HZ))
    debris = bandpass(debris, 1000.0, 6000.0) * np.exp(-t / 2.0)
    blast = (
        1.0 * boom
        + 0.8 * crack / (np.max(np.abs(crack)) + 1e-12)
        + 0.7 * roar
        + 0.3 * debris / (np.max(np.abs(debris)) + 1e-12)
    )
    # The radio: static bursts keyed on and off with a squelch click, voices shouting over it.
    keyed = np.zeros(n)
    start = 2.2
    while start < 9.6:
        length = float(rng.uniform(1.0, 2.0))
        i0, i1 = int(start * RATE_HZ), int(min(start + length, 9.9) * RATE_HZ)
        keyed[i0:i1] = 1.0
        start += length + float(rng.uniform(0.2, 0.6))
    static = bandpass(rng.normal(size=n), 400.0, 3200.0)
    static = static / (np.max(np.abs(static)) + 1e-12) * (0.6 + 0.4 * np.abs(np.sin(2 * math.pi * 7.0 * t)))
    voices = np.sum([_radio_voice(n, rng) for _ in range(3)], axis=0)
    radio = bandpass(0.35 * static + voices / 2.0, 300.0, 3000.0) * keyed
    edges = np.abs(np.diff(keyed, prepend=0.0))
    squelch = bandpass(
        np.convolve(edges, np.ones(int(0.02 * RATE_HZ)), mode="same") * rng.normal(size=n), 1000, 5000
    )
    return normalise(blast + 0.5 * radio + 0.3 * squelch, 0.95)


@register_synth("ringing-ears")
def _ringing_ears(rng: np.random.Generator) -> np.ndarray:
    """8 s: a dull, muffled thud, then a high ringing (about 4 kHz, slightly beating) over a low
    muffled roar, the ringing fading slowly as hearing comes back."""
    n = 8 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    thud = np.sin(2 * math.pi * (45.0 + 30.0 * np.exp(-t / 0.05)) * t) * np.exp(-t / 0.35)
    ring = (
        (np.sin(2 * math.pi * 4000.0 * t) + 0.6 * np.sin(2 * math.pi * 4013.0 * t))
        * np.clip((t - 0.15) / 0.4, 0, 1)
        * np.exp(-np.maximum(t - 0.5, 0) / 4.5)
    )
    muffled = spectral_noise(n, rng, band(40.0, 400.0)) * np.exp(-t / 3.0)
    return normalise(thud + 0.35 * ring + 0.3 * muffled, 0.9)
