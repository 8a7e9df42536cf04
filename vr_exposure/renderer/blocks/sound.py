"""Synthesised sound: the registry of sound sources and the shared sound families.

Every sound is made with numpy (nothing is downloaded or shipped): a synthesiser is a function of a
random generator returning one mono loop of float samples in [-1, 1] at :data:`RATE_HZ` (OpenAL
only spatialises mono sources). Scene packages register theirs with :func:`register_synth` (a cue's
``source`` names one); the families here serve every scene.

Example (a scene package's ``sounds.py``)::

    from vr_exposure.renderer.blocks.sound import RATE_HZ, band, register_synth, spectral_noise

    @register_synth("fridge-hum")
    def _fridge_hum(rng):
        n = 3 * RATE_HZ
        hum = spectral_noise(n, rng, band(90.0, 140.0))
        return 0.6 * hum

Families (each a registered source): ``room-tone`` (low hum, air noise and a ticking clock),
``helicopter`` (blade thumps over a turbine whine), ``engine`` (a four-cylinder idle: firing
harmonics and a rough edge), ``wind`` (gusting low-passed noise), ``rain`` (dense drops over a hiss),
``thunder`` (a crack, then a long low rumble; a one-shot), ``crowd-murmur`` (a dozen voice-like
babbles, no words), ``babble`` (three voice-like babbles, nearer), ``bark`` (barking-like bursts:
falling harmonic chirps), ``impact`` (a heavy thud; a one-shot), ``siren`` (a rising and falling
wail). This module imports no Panda3D.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from vr_exposure.errors import SceneError, SpecError, SpecProblem

__all__ = [
    "RATE_HZ",
    "SYNTHS",
    "Synth",
    "band",
    "bandpass",
    "normalise",
    "register_synth",
    "spectral_noise",
    "synth_names",
    "synthesise",
]

RATE_HZ = 44_100

Synth = Callable[[np.random.Generator], np.ndarray]

#: Source name -> synthesiser; filled by :func:`register_synth` where each sound is defined.
SYNTHS: dict[str, Synth] = {}


def register_synth(name: str) -> Callable[[Synth], Synth]:
    """Decorator: ``fn(rng)`` makes the sound source ``name`` (a cue's ``source``)."""

    def decorate(fn: Synth) -> Synth:
        other = SYNTHS.get(name)
        if other is not None and other is not fn:
            raise SceneError(f"sound {name!r} is registered twice ({other.__module__} and {fn.__module__})")
        SYNTHS[name] = fn
        return fn

    return decorate


def synth_names() -> list[str]:
    return sorted(SYNTHS)


def synthesise(source: str, seed: int = 3) -> np.ndarray:
    """The mono loop for a cue's ``source`` (float samples in [-1, 1] at :data:`RATE_HZ`)."""
    try:
        make = SYNTHS[source]
    except KeyError:
        raise SpecError(
            SpecProblem(
                "", None, "audio", f'no sound synthesiser "{source}" (known: {", ".join(sorted(SYNTHS))})'
            )
        ) from None
    return make(np.random.default_rng(seed + sum(map(ord, source))))


def normalise(x: np.ndarray, peak: float) -> np.ndarray:
    """``x`` scaled so its largest sample is ``peak``."""
    return x / (np.max(np.abs(x)) + 1e-12) * peak  # type: ignore[no-any-return]


def spectral_noise(n: int, rng: np.random.Generator, shape: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Noise with the spectrum ``shape(freq_hz)``, made in the frequency domain, so it loops
    seamlessly (an FFT synthesis is periodic over its length)."""
    freqs = np.fft.rfftfreq(n, 1.0 / RATE_HZ)
    spectrum = (rng.normal(size=freqs.size) + 1j * rng.normal(size=freqs.size)) * shape(freqs)
    spectrum[0] = 0.0
    out = np.fft.irfft(spectrum, n)
    return out / (np.max(np.abs(out)) + 1e-12)  # type: ignore[no-any-return]


def band(lo_hz: float, hi_hz: float) -> Callable[[np.ndarray], np.ndarray]:
    def shape(f: np.ndarray) -> np.ndarray:
        return ((f >= lo_hz) & (f <= hi_hz)).astype(np.float64) * np.exp(
            -(((f - (lo_hz + hi_hz) / 2) / (hi_hz - lo_hz)) ** 2)
        )

    return shape


def bandpass(x: np.ndarray, lo_hz: float, hi_hz: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1.0 / RATE_HZ)
    spec[(f < lo_hz) | (f > hi_hz)] = 0.0
    return np.fft.irfft(spec, x.size)


@register_synth("room-tone")
def _room_tone(rng: np.random.Generator) -> np.ndarray:
    """4 s: air noise, a faint 50 Hz hum with harmonics and a clock ticking once a second."""
    n = 4 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    air = spectral_noise(n, rng, lambda f: np.where(f > 30, 1.0 / np.maximum(f, 1.0), 0) * np.exp(-f / 3000))
    hum = sum(0.3 / k * np.sin(2 * math.pi * 50 * k * t) for k in (1, 2, 3))
    tick = np.zeros(n)
    tick_n = int(0.006 * RATE_HZ)
    for k in range(4):
        i = k * RATE_HZ
        tick[i : i + tick_n] += rng.normal(size=tick_n) * np.exp(-np.arange(tick_n) / (0.0012 * RATE_HZ))
    tick = bandpass(tick, 1500, 6000)
    out = 0.6 * air + 0.15 * hum + 0.5 * tick / (np.max(np.abs(tick)) + 1e-12)
    return out / (np.max(np.abs(out)) + 1e-12) * 0.7  # type: ignore[no-any-return]


@register_synth("helicopter")
def _helicopter(rng: np.random.Generator) -> np.ndarray:
    """2 s: blade slaps at 5.5 per second (low thumps with a noisy edge) over a turbine whine."""
    n = 2 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    rate_hz = 5.5
    phase = (t * rate_hz) % 1.0
    thump = np.exp(-phase * 14.0) * np.sin(2 * math.pi * 70 * t)
    slap = bandpass(rng.normal(size=n), 200, 1500) * np.exp(-phase * 25.0)
    whine = 0.08 * np.sin(2 * math.pi * 1800 * t + 0.3 * np.sin(2 * math.pi * 3 * t))
    out = thump + 0.4 * slap / (np.max(np.abs(slap)) + 1e-12) + whine
    return out / (np.max(np.abs(out)) + 1e-12) * 0.85  # type: ignore[no-any-return]


def _lowpass(x: np.ndarray, hi_hz: float) -> np.ndarray:
    return bandpass(x, 0.0, hi_hz)


@register_synth("engine")
def _engine(rng: np.random.Generator) -> np.ndarray:
    """3 s: a four-cylinder engine at idle (30 firings a second), harmonics with a little jitter
    and a noisy edge on each firing."""
    n = 3 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    f0 = 30.0
    wobble = 0.4 * np.sin(2 * math.pi * 0.7 * t)
    tone = sum(
        (1.0 / k) * np.sin(2 * math.pi * (f0 * k) * t + k * wobble + float(rng.uniform(0, 2 * math.pi)))
        for k in range(1, 9)
    )
    phase = (t * f0) % 1.0
    rough = bandpass(rng.normal(size=n), 100.0, 900.0) * np.exp(-phase * 9.0)
    out = tone + 0.5 * rough / (np.max(np.abs(rough)) + 1e-12)
    return normalise(out, 0.85)


@register_synth("wind")
def _wind(rng: np.random.Generator) -> np.ndarray:
    """8 s: wind, low-passed noise that swells in gusts and whistles faintly at its strongest."""
    n = 8 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    body = spectral_noise(
        n, rng, lambda f: np.where(f > 20, 1.0 / np.maximum(f, 1.0) ** 0.7, 0) * np.exp(-f / 700)
    )
    gust = (
        0.45 + 0.35 * np.sin(2 * math.pi * t / 8.0) ** 2 + 0.2 * np.sin(2 * math.pi * 3 * t / 8.0 + 1.0) ** 2
    )
    whistle = spectral_noise(n, rng, band(900.0, 1300.0))
    return normalise(body * gust + 0.15 * whistle * gust**3, 0.8)


@register_synth("rain")
def _rain(rng: np.random.Generator) -> np.ndarray:
    """6 s: rain, a few hundred drops a second (short high clicks) over a steady hiss."""
    n = 6 * RATE_HZ
    drops = np.zeros(n)
    drop_n = int(0.003 * RATE_HZ)
    env = np.exp(-np.arange(drop_n) / (0.0005 * RATE_HZ))
    for i in rng.integers(0, n - drop_n, size=6 * 400):
        drops[i : i + drop_n] += rng.normal(size=drop_n) * env * float(rng.uniform(0.1, 1.0))
    drops = bandpass(drops, 1500.0, 9000.0)
    hiss = spectral_noise(n, rng, band(2000.0, 8000.0))
    return normalise(drops / (np.max(np.abs(drops)) + 1e-12) + 0.5 * hiss, 0.7)


@register_synth("thunder")
def _thunder(rng: np.random.Generator) -> np.ndarray:
    """6 s one-shot: a bright crack, then a low rumble that rolls and fades."""
    n = 6 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    crack = bandpass(rng.normal(size=n), 300.0, 6000.0) * np.exp(-t / 0.08)
    rumble = spectral_noise(n, rng, lambda f: np.where((f > 20) & (f < 160), 1.0, 0.0))
    rolls = np.exp(-t / 2.2) * (0.6 + 0.4 * np.sin(2 * math.pi * 0.8 * t) ** 2) * np.clip(t / 0.15, 0, 1)
    rumble = rumble / (np.max(np.abs(rumble * rolls)) + 1e-12)
    return normalise(1.5 * crack / (np.max(np.abs(crack)) + 1e-12) + rumble * rolls, 0.95)


def _voice(n: int, rng: np.random.Generator) -> np.ndarray:
    """One voice-like babble: a glottal buzz at a wandering pitch through two moving formants,
    chopped into syllables (about four a second) and pauses. No words."""
    t = np.arange(n) / RATE_HZ
    f0 = float(rng.uniform(95, 230)) * (1.0 + 0.08 * np.sin(2 * math.pi * float(rng.uniform(0.2, 0.6)) * t))
    phase = np.cumsum(f0) / RATE_HZ
    buzz = np.sum([np.sin(2 * math.pi * k * phase) / k for k in range(1, 25)], axis=0)
    spec = np.fft.rfft(buzz)
    f = np.fft.rfftfreq(n, 1.0 / RATE_HZ)
    f1, f2 = float(rng.uniform(400, 800)), float(rng.uniform(1100, 2200))
    spec *= np.exp(-(((f - f1) / 180.0) ** 2)) + 0.6 * np.exp(-(((f - f2) / 300.0) ** 2))
    voiced = np.fft.irfft(spec, n)
    rate = float(rng.uniform(3.0, 5.0))
    syllables = np.clip(np.sin(2 * math.pi * rate * t + float(rng.uniform(0, 6.3))), 0, None) ** 1.5
    phrases = np.sin(2 * math.pi * t / float(rng.uniform(2.0, 3.5)) + float(rng.uniform(0, 6.3))) > -0.4
    out: np.ndarray = voiced * syllables * phrases / (np.max(np.abs(voiced)) + 1e-12)
    return out


@register_synth("crowd-murmur")
def _crowd_murmur(rng: np.random.Generator) -> np.ndarray:
    """6 s: a room of people talking at once, a dozen babbles and the room's air."""
    n = 6 * RATE_HZ
    voices = np.sum([_voice(n, rng) * float(rng.uniform(0.4, 1.0)) for _ in range(12)], axis=0)
    air = spectral_noise(n, rng, band(150.0, 3000.0))
    return normalise(_lowpass(voices, 4000.0) + 0.15 * air, 0.75)


@register_synth("babble")
def _babble(rng: np.random.Generator) -> np.ndarray:
    """4 s: three voice-like babbles close by (a conversation without words)."""
    n = 4 * RATE_HZ
    return normalise(np.sum([_voice(n, rng) for _ in range(3)], axis=0), 0.8)


@register_synth("bark")
def _bark(rng: np.random.Generator) -> np.ndarray:
    """3 s: two or three barking-like bursts: a harsh harmonic chirp falling in pitch, with breath."""
    n = 3 * RATE_HZ
    out = np.zeros(n)
    burst_n = int(0.22 * RATE_HZ)
    tb = np.arange(burst_n) / RATE_HZ
    start = float(rng.uniform(0.1, 0.3))
    for _ in range(int(rng.integers(2, 4))):
        f0 = 620.0 - 1100.0 * tb  # falls quickly
        phase = np.cumsum(f0) / RATE_HZ
        harsh = sum(np.sin(2 * math.pi * k * phase) / k**0.8 for k in range(1, 12))
        breath = bandpass(rng.normal(size=burst_n), 800.0, 5000.0)
        env = np.clip(tb / 0.01, 0, 1) * np.exp(-tb / 0.07)
        i = int(start * RATE_HZ)
        if i + burst_n >= n:
            break
        out[i : i + burst_n] += (harsh + 0.3 * breath / (np.max(np.abs(breath)) + 1e-12)) * env
        start += float(rng.uniform(0.35, 0.7))
    return normalise(out, 0.9)


@register_synth("impact")
def _impact(rng: np.random.Generator) -> np.ndarray:
    """1.5 s one-shot: something heavy hits the ground: a low thud with a short crunch."""
    n = int(1.5 * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    thud = np.sin(2 * math.pi * (55.0 + 40.0 * np.exp(-t / 0.05)) * t) * np.exp(-t / 0.25)
    crunch = bandpass(rng.normal(size=n), 400.0, 4000.0) * np.exp(-t / 0.04)
    return normalise(thud + 0.4 * crunch / (np.max(np.abs(crunch)) + 1e-12), 0.95)


@register_synth("siren")
def _siren(rng: np.random.Generator) -> np.ndarray:
    """4 s: an emergency siren's wail, rising and falling between 650 and 1300 Hz once a loop."""
    n = 4 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    f = 975.0 - 325.0 * np.cos(2 * math.pi * t / 4.0)
    phase = np.cumsum(f) / RATE_HZ
    wail = np.sum([np.sin(2 * math.pi * k * phase) / k for k in (1, 3, 5, 7)], axis=0)
    return normalise(wail, 0.7)
