"""The shared building blocks: sound families sound like what they are named, rooms' doors swing
without building anything, creatures steer toward and away from the patient, time of day relights
and recolours without building anything."""

from __future__ import annotations

import math

import numpy as np
import pytest
from panda3d.core import NodePath

from vr_exposure.renderer.blocks import sound
from vr_exposure.renderer.blocks.creatures import Walker, surface
from vr_exposure.renderer.blocks.rooms import Door, Room, Window, desk
from vr_exposure.renderer.blocks.sky import TimeOfDay

RATE = sound.RATE_HZ


def _band_share(x: np.ndarray, lo: float, hi: float) -> float:
    power = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / RATE)
    return float(power[(f >= lo) & (f <= hi)].sum() / power.sum())


def _envelope(x: np.ndarray, frame_s: float = 0.02) -> np.ndarray:
    n = int(frame_s * RATE)
    return np.sqrt(np.mean(x[: x.size // n * n].reshape(-1, n) ** 2, axis=1))


FAMILIES = ["engine", "wind", "rain", "thunder", "crowd-murmur", "babble", "bark", "impact", "siren"]


@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_is_a_registered_finite_loud_sound(name: str) -> None:
    x = sound.synthesise(name)
    assert np.isfinite(x).all() and 0.3 < np.abs(x).max() <= 1.0 and x.size >= RATE


def test_low_sounds_are_low_and_high_sounds_high() -> None:
    assert _band_share(sound.synthesise("engine"), 0, 300) > 0.6
    assert _band_share(sound.synthesise("wind"), 0, 1000) > 0.8
    assert _band_share(sound.synthesise("rain"), 1500, 10000) > 0.8
    assert _band_share(sound.synthesise("impact"), 0, 200) > 0.6
    for voices in ("crowd-murmur", "babble"):
        assert _band_share(sound.synthesise(voices), 80, 4000) > 0.85, voices


def test_the_siren_wails_up_and_down() -> None:
    x = sound.synthesise("siren")
    n = RATE // 4
    peaks = []
    for k in range(x.size // n):
        seg = x[k * n : (k + 1) * n]
        f = np.fft.rfftfreq(n, 1 / RATE)
        peaks.append(f[np.argmax(np.abs(np.fft.rfft(seg)))])
    assert min(peaks) < 800 and max(peaks) > 1150


def test_thunder_cracks_then_rumbles_and_barks_come_in_bursts() -> None:
    t = sound.synthesise("thunder")
    env = _envelope(t)
    assert np.argmax(env) < 10  # the crack within 0.2 s
    assert env[len(env) // 3] > 0.05 * env.max() and _band_share(t[RATE:], 0, 200) > 0.8
    bark = _envelope(sound.synthesise("bark"))
    loud = bark > 0.3 * bark.max()
    onsets = int(np.sum(loud[1:] & ~loud[:-1]))
    assert 2 <= onsets <= 3 and loud.mean() < 0.5


def _count(root: NodePath) -> tuple[int, int]:
    geoms = sum(p.node().getNumGeoms() for p in root.findAllMatches("**/+GeomNode"))
    return root.findAllMatches("**").getNumPaths(), geoms


def test_a_door_swings_open_without_building_anything() -> None:
    root = NodePath("test")
    room = Room(root, x=(-2, 2), y=(-1, 4), height_m=2.5, windows=[Window("far", 0.5, 1.4, 1.0, 1.0)])
    door = Door(room, "back", along_m=0.8)
    desk(root, x=(0.0, 1.0), y=(0.3, 0.9), top_z=0.74)
    before = _count(root)
    handle = root.find("**/door-handle")
    closed = handle.getPos(root)
    door.set_open(1.0)
    opened = handle.getPos(root)
    assert _count(root) == before
    # The back wall is at y = -1; open, the door's handle swings into the room.
    assert abs(closed.y + 1.0) < 0.1 and opened.y > closed.y + 0.5
    assert root.find("**/window-far/window-pane").getPos(root).y == pytest.approx(4.0 - 0.012, abs=1e-4)


def test_a_walker_steers_toward_the_patient_and_away() -> None:
    root = NodePath("scene")
    floor = surface(root, "floor", (0, 0, 0), (0, 0, 1), (-5, 5, -5, 5))
    walker = Walker(root.attachNewNode("dog"), heading_deg=0.0)  # facing +Y, away from the patient
    walker.place(floor, 0.0, 4.0)
    target = walker.head_toward_patient(root, 1.2, stop_short_m=1.0)
    assert target == pytest.approx((0.0, 1.0))
    turned_first = walker.steer(0.05, 1.0)
    assert turned_first == 0.0  # facing away: it turns before it walks
    for _ in range(400):
        if walker.target is None:
            break
        walker.steer(0.05, 1.0)
    assert (walker.x, walker.y) == pytest.approx((0.0, 1.0), abs=1e-3)
    walker.head_away_from_patient(root, 1.2, distance_m=2.0)
    for _ in range(400):
        if walker.target is None:
            break
        walker.steer(0.05, 1.0)
    assert math.hypot(walker.x, walker.y) == pytest.approx(3.0, abs=1e-3)


def test_time_of_day_relights_without_building_anything() -> None:
    root = NodePath("scene")
    sky = TimeOfDay(root, focus=(0, 3, 0), film_m=20.0, shadow_size_px=0)
    sky.set(elevation_deg=40.0, warmth=0.0)
    noon = (sky.sun.color, sky.sun_disc.getPos(root).z)
    before = _count(root)
    sky.set(elevation_deg=2.0, warmth=1.0)
    assert _count(root) == before
    dusk = (sky.sun.color, sky.sun_disc.getPos(root).z)
    assert dusk[1] < noon[1] and dusk[0][2] < noon[0][2]  # lower, and less blue in the light
