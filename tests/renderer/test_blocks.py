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


def test_a_figure_turns_its_head_toward_the_patient_within_a_neck_and_gestures_end() -> None:
    from panda3d.core import Vec3

    from vr_exposure.renderer.blocks.people import MAX_NECK_YAW_DEG, Figure

    root = NodePath("scene")
    person = Figure(root, rng=np.random.default_rng(1), seated=True)
    person.root.setPos(2.0, 3.0, 0.0)
    person.root.setH(180.0)  # facing the patient, who is at the origin, to its right
    before = _count(root)
    person.look_at(Vec3(0.0, 0.0, 1.2), root)
    for _ in range(60):
        person.update(1 / 30)
    yaw, pitch = person.head_hpr
    # The patient is ahead and to the figure's right (-x of its own frame): the head turns that way.
    assert -MAX_NECK_YAW_DEG <= yaw < -10.0 and abs(pitch) < 30.0
    person.look_at(Vec3(2.0, 10.0, 1.2), root)  # behind it: the neck stops at its limit
    for _ in range(90):
        person.update(1 / 30)
    assert abs(person.head_hpr[0]) == pytest.approx(MAX_NECK_YAW_DEG)
    hand = person.arms[1]
    person.gesture("wave", 1.0)
    person.update(0.5)
    # Waving, the hand is up above the head (it turns about the shoulder, not the hips).
    head_top = person.neck.getTightBounds(root)[1].z
    assert hand.getTightBounds(root)[1].z > head_top and person.gesturing == "wave"
    person.update(0.6)
    assert person.gesturing is None
    assert _count(root) == before
    from vr_exposure.errors import SceneError

    with pytest.raises(SceneError, match="no gesture"):
        person.gesture("dance")


def test_a_road_is_few_draw_calls_and_a_car_drives_forward_turning_its_wheels() -> None:
    from vr_exposure.renderer.blocks.vehicles import Car, road

    root = NodePath("scene")
    r = road(root, length_m=120.0, lanes=2, center=(0.0, 30.0), heading_deg=90.0)
    assert sum(p.node().getNumGeoms() for p in r.findAllMatches("**/+GeomNode")) <= 3
    car = Car(root)
    car.root.setH(-90.0)  # facing +X
    before = _count(root)
    for _ in range(30):
        car.drive(1 / 30, 10.0)
    assert car.root.getX() == pytest.approx(10.0, abs=1e-3) and abs(car.root.getY()) < 1e-3
    assert car.wheels[0].getP() != 0.0 and _count(root) == before
    # A wheel spins about its hub: its bounds stay where the hub is.
    lo, hi = car.wheels[0].getTightBounds(car.root)
    assert (lo.z + hi.z) / 2 == pytest.approx(0.33, abs=0.01) and (lo.y + hi.y) / 2 == pytest.approx(
        -1.35, abs=0.01
    )


def test_rain_shows_more_as_it_rises_and_lightning_flashes_then_ends() -> None:
    from vr_exposure.renderer.blocks.weather import Lightning, Rain

    root = NodePath("scene")
    rain = Rain(root, drops=400, groups=8)
    flash = Lightning(root)
    before = _count(root)
    rain.set_level(0.0)
    assert all(g.isHidden() for g in rain.groups)
    rain.set_level(0.5)
    assert sum(not g.isHidden() for g in rain.groups) == 4
    z0 = [g.getZ() for g in rain.groups[:4]]
    rain.update(0.1)
    assert all(g.getZ() != z for g, z in zip(rain.groups, z0, strict=False))
    flash.strike(np.random.default_rng(2), duration_s=0.6)
    levels = []
    for _ in range(30):
        flash.update(1 / 30)
        levels.append(flash.level)
    assert max(levels) > 0.5 and levels[-1] == 0.0 and not flash.flashing
    assert _count(root) == before


def test_time_of_day_turns_to_night_below_the_horizon() -> None:
    root = NodePath("scene")
    sky = TimeOfDay(root, focus=(0, 3, 0), film_m=20.0, shadow_size_px=0)
    sky.set(elevation_deg=2.0, warmth=0.9)
    dusk = sky.sun.color
    sky.set(elevation_deg=-12.0, warmth=0.9)
    night = sky.sun.color
    assert sum(night[i] for i in range(3)) < 0.25 * sum(dusk[i] for i in range(3)) and sky.sun_disc.isHidden()


def test_seated_ride_motion_stays_within_its_caps_and_out_of_the_sickness_band() -> None:
    from vr_exposure.renderer.blocks import ride

    cabin = NodePath("cabin")
    motion = ride.RideMotion(cabin)
    motion.set(vibration=5.0, sway=5.0)  # asked for too much: capped at 1
    motion.accelerate(1.0)
    zs, pitches, rolls = [], [], []
    for _ in range(90 * 20):
        motion.update(1 / 90)
        zs.append(cabin.getZ())
        pitches.append(cabin.getP())
        rolls.append(cabin.getR())
    assert max(abs(z) for z in zs) <= ride.MAX_VIBRATION_M + 1e-9
    assert max(abs(r) for r in rolls) <= ride.MAX_SWAY_DEG + 1e-9
    assert max(abs(p) for p in pitches) <= max(ride.MAX_SWAY_DEG, ride.MAX_ACCEL_PITCH_DEG) + 1e-9
    # Eased: the acceleration pitch builds over about a second, never in one frame.
    assert abs(pitches[1] - pitches[0]) < 0.2
    # No vertical or roll motion in 0.1-0.5 Hz, where oscillation makes people sick.
    for series in (np.array(zs), np.array(rolls)):
        power = np.abs(np.fft.rfft(series - series.mean())) ** 2
        f = np.fft.rfftfreq(series.size, 1 / 90)
        assert power[(f >= 0.1) & (f <= 0.5)].sum() < 0.05 * power.sum()
