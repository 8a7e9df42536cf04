"""The dog scene's sounds: panting, a growl, paws on a floor and on grass, and collar tags (the
bark is the shared ``bark`` family)."""

from __future__ import annotations

import math

import numpy as np

from vr_exposure.renderer.blocks.sound import RATE_HZ, bandpass, normalise, register_synth


@register_synth("panting")
def _panting(rng: np.random.Generator) -> np.ndarray:
    """2 s: breathy in-out pants at about 3 per second, band-passed 600-4500 Hz, the out-breath louder."""
    n = 2 * RATE_HZ
    noise = bandpass(rng.normal(size=n), 600.0, 4500.0)
    t = np.arange(n) / RATE_HZ
    rate = float(rng.uniform(2.8, 3.4))
    phase = (t * rate) % 1.0
    env = np.where(
        phase < 0.45, np.sin(math.pi * phase / 0.45) * 0.55, np.sin(math.pi * (phase - 0.45) / 0.55)
    )
    return normalise(noise * np.clip(env, 0.0, None) ** 1.5, 0.6)


@register_synth("growl")
def _growl(rng: np.random.Generator) -> np.ndarray:
    """3 s: a low rough growl: a 90-110 Hz buzz with irregular pulses and a slow rumble."""
    n = 3 * RATE_HZ
    t = np.arange(n) / RATE_HZ
    f0 = 95.0 + 12.0 * np.sin(2 * math.pi * 0.7 * t) + 4.0 * rng.normal(size=n).cumsum() / math.sqrt(n)
    phase = np.cumsum(f0) / RATE_HZ
    buzz = sum(np.sin(2 * math.pi * k * phase) / k**0.7 for k in range(1, 16))
    pulses = 0.6 + 0.4 * np.sin(2 * math.pi * 23.0 * t) ** 2
    rough = bandpass(rng.normal(size=n), 150.0, 1200.0)
    env = np.clip(t / 0.3, 0, 1) * np.clip((3.0 - t) / 0.3, 0, 1)
    return normalise((buzz * pulses + 0.4 * rough / (np.max(np.abs(rough)) + 1e-12)) * env, 0.8)


def _add_wrapped(out: np.ndarray, start: int, x: np.ndarray) -> None:
    """Add ``x`` into the loop ``out`` from sample ``start``, wrapping round its end (seamless)."""
    idx = (start + np.arange(x.size)) % out.size
    np.add.at(out, idx, x)


def _footfalls(rng: np.random.Generator, seconds: float, per_s: float) -> list[float]:
    """Footfall times (s) of a trotting dog over a loop: pairs of feet close together, jittered."""
    times = []
    t = float(rng.uniform(0.0, 0.05))
    while t < seconds - 0.05:
        times.append(t)
        if rng.random() < 0.5:  # the diagonal pair's second foot, a few ms behind
            times.append(t + float(rng.uniform(0.008, 0.025)))
        t += float(rng.normal(1.0 / per_s, 0.1 / per_s))
    return times


@register_synth("paws-floor")
def _paws_floor(rng: np.random.Generator) -> np.ndarray:
    """2 s: a dog trotting on a wooden floor: per footfall two to four claw clicks (2-4 ms bright
    ticks, 2-9 kHz) a few milliseconds apart over a faint dull pad thump."""
    n = 2 * RATE_HZ
    clicks = np.zeros(n)
    pads = np.zeros(n)
    tick_n = int(0.006 * RATE_HZ)
    tick_env = np.exp(-np.arange(tick_n) / (0.0012 * RATE_HZ))
    pad_n = int(0.04 * RATE_HZ)
    tp = np.arange(pad_n) / RATE_HZ
    for t in _footfalls(rng, 2.0, 4.5):
        i = int(t * RATE_HZ)
        for k in range(int(rng.integers(2, 5))):
            j = i + int(float(rng.uniform(0.0, 0.012)) * RATE_HZ) + k * int(0.002 * RATE_HZ)
            _add_wrapped(clicks, j, rng.normal(size=tick_n) * tick_env * float(rng.uniform(0.5, 1.0)))
        pad = np.sin(2 * math.pi * float(rng.uniform(180.0, 260.0)) * tp) * np.exp(-tp / 0.012)
        _add_wrapped(pads, i, pad * float(rng.uniform(0.6, 1.0)))
    clicks = bandpass(clicks, 2000.0, 9000.0)
    return normalise(
        clicks / (np.max(np.abs(clicks)) + 1e-12) + 0.3 * pads / (np.max(np.abs(pads)) + 1e-12), 0.9
    )


@register_synth("paws-grass")
def _paws_grass(rng: np.random.Generator) -> np.ndarray:
    """2 s: a dog trotting on grass: per footfall a soft low thud (80-350 Hz) and a short swish of
    blades brushing (soft noise, 500-3000 Hz); no clicks."""
    n = 2 * RATE_HZ
    thuds = np.zeros(n)
    swish = np.zeros(n)
    thud_n = int(0.06 * RATE_HZ)
    sw_n = int(0.09 * RATE_HZ)
    ts = np.arange(sw_n) / RATE_HZ
    sw_env = np.sin(math.pi * ts / ts[-1]) ** 2
    for t in _footfalls(rng, 2.0, 4.5):
        i = int(t * RATE_HZ)
        _add_wrapped(thuds, i, rng.normal(size=thud_n) * np.exp(-np.arange(thud_n) / (0.015 * RATE_HZ)))
        _add_wrapped(swish, i - sw_n // 3, rng.normal(size=sw_n) * sw_env * float(rng.uniform(0.4, 1.0)))
    thuds = bandpass(thuds, 80.0, 350.0)
    swish = bandpass(swish, 500.0, 3000.0)
    return normalise(
        thuds / (np.max(np.abs(thuds)) + 1e-12) + 0.35 * swish / (np.max(np.abs(swish)) + 1e-12), 0.6
    )


@register_synth("collar-tag")
def _collar_tag(rng: np.random.Generator) -> np.ndarray:
    """2 s: metal tags on a collar jingling with each stride: clusters of strikes that ring at a few
    inharmonic partials (3-9 kHz, as a small stamped disc rings) and die away in a tenth of a second."""
    n = 2 * RATE_HZ
    out = np.zeros(n)
    ring_n = int(0.18 * RATE_HZ)
    tr = np.arange(ring_n) / RATE_HZ
    tags = [
        [
            (f * float(rng.uniform(0.97, 1.03)), float(rng.uniform(0.04, 0.12)))
            for f in (3150.0, 4720.0, 6930.0, 8410.0)
        ]
        for _ in range(2)
    ]
    t = float(rng.uniform(0.0, 0.05))
    while t < 1.95:
        for _ in range(int(rng.integers(2, 5))):
            partials = tags[int(rng.integers(len(tags)))]
            ring = sum(
                np.sin(2 * math.pi * f * tr + float(rng.uniform(0, 6.3))) * np.exp(-tr / decay) / (k + 1)
                for k, (f, decay) in enumerate(partials)
            )
            j = int((t + float(rng.uniform(0.0, 0.04))) * RATE_HZ)
            _add_wrapped(out, j, np.asarray(ring) * float(rng.uniform(0.3, 1.0)))
        t += float(rng.normal(0.22, 0.02))
    return normalise(out, 0.8)
