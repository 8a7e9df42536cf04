"""What the road-accident scene promises beyond the contract test: the seat puts the wheel in front of
the patient, the car never leaves its place (the world moves), triggers move the way their clinical
descriptions say, the cabin's motion stays within the ride block's caps, and its own sounds have the
spectrum they claim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from panda3d.core import NodePath

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_scene
from vr_exposure.core.specs import SceneSpec
from vr_exposure.renderer.blocks.ride import MAX_ACCEL_PITCH_DEG, MAX_SWAY_DEG
from vr_exposure.renderer.blocks.sound import RATE_HZ, synthesise
from vr_exposure.renderer.builders.road_accident.builder import SEAT_X_M
from vr_exposure.renderer.stage import Stage

pytestmark = pytest.mark.renderer

ROOT = Path(__file__).resolve().parents[2]
DT = 1 / 30


@pytest.fixture(scope="module")
def spec() -> SceneSpec:
    return load_scene(ROOT / "scenes" / "road-accident.yaml")


@pytest.fixture
def stage(showbase: Any) -> Any:
    top = NodePath("road-test")
    st = Stage(top, clock=FakeClock(), rng_seed=4, shadow_size_px=0)
    yield st
    st.destroy()
    top.removeNode()


def _step(stage: Stage, seconds: float) -> None:
    for _ in range(max(1, round(seconds / DT))):
        stage.clock.advance(DT)  # type: ignore[attr-defined]
        stage.update(DT)


def test_the_driver_seat_puts_the_wheel_in_front_of_the_patient(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="passenger-village")
    _step(stage, 0.1)
    scene = stage.scene
    assert scene.rig.getX() == pytest.approx(-SEAT_X_M)  # the wheel is left of the patient
    stage.load(spec, preset="driver-village")
    _step(stage, 0.1)
    scene = stage.scene
    assert scene.rig.getX() == pytest.approx(SEAT_X_M)  # the wheel's seat is the patient's


def test_the_car_stays_and_the_road_goes_by_at_its_speed(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="highway")
    _step(stage, 0.1)
    scene = stage.scene
    d0, cabin0 = scene.distance_m, scene.cabin.getPos()
    _step(stage, 2.0)
    speed = spec.values_at(spec.presets["highway"].intensity, "highway")["speed_km_h"] / 3.6
    assert scene.distance_m - d0 == pytest.approx(speed * 2.0, rel=0.05)
    assert (scene.cabin.getPos() - cabin0).length() < 0.01  # only vibration: the car never travels


def test_a_parked_car_does_not_move(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="parked")
    _step(stage, 1.0)
    assert stage.scene.distance_m == 0.0


def test_the_siren_vehicle_passes_from_behind_to_ahead_on_the_left(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="night")
    _step(stage, 0.1)
    scene = stage.scene
    scene.start_event("siren-passes", spec.events["siren-passes"])
    vehicle = scene.anchor("siren-vehicle")
    eye = stage.parent
    ys, xs = [], []
    for _ in range(int(spec.events["siren-passes"].duration_s / DT) - 2):
        _step(stage, DT)
        p = vehicle.getPos(eye)
        ys.append(p.y)
        xs.append(p.x)
    assert ys[0] < -10 and ys[-1] > 40, (ys[0], ys[-1])
    assert all(x < -2.0 for x in xs)  # always in the left lane, never in the patient's
    _step(stage, 0.5)
    assert not scene.event_running("siren-passes") and vehicle.isHidden()


def test_hard_braking_pitches_forward_within_the_caps_and_slows_the_car(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="highway")
    _step(stage, 2.0)
    scene = stage.scene
    rest_p = scene.ride.rest_hpr.y
    scene.start_event("hard-braking", spec.events["hard-braking"])
    pitches, rates = [], []
    for _ in range(60):
        d = scene.distance_m
        _step(stage, DT)
        rates.append((scene.distance_m - d) / DT)
        pitches.append(scene.cabin.getP() - rest_p)
        rolls = abs(scene.cabin.getR())
        assert rolls <= MAX_SWAY_DEG + 1e-6
    assert max(abs(p) for p in pitches) <= MAX_ACCEL_PITCH_DEG + MAX_SWAY_DEG + 1e-6
    assert max(abs(p) for p in pitches) > 0.5  # visibly pitched
    assert min(rates) < 0.6 * scene.speed_m_s


def test_collision_fade_reaches_the_safe_colour_and_clears(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="heavy-traffic")
    _step(stage, 0.2)
    scene = stage.scene
    event = spec.events["collision-fade"]
    scene.start_event("collision-fade", event)
    alphas = []
    for _ in range(int(event.duration_s / DT) + 5):
        _step(stage, DT)
        alphas.append(0.0 if scene.fade.isHidden() else scene.fade.getColorScale()[3])
    assert max(alphas) > 0.85
    assert scene.fade.isHidden() and not scene.event_running("collision-fade")


def test_rain_turns_the_wipers_and_wets_the_road(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="night")
    _step(stage, 0.5)
    scene = stage.scene
    dry = [w.getR() for w in scene.wipers]
    _step(stage, 0.5)
    assert [w.getR() for w in scene.wipers] == dry  # no rain: wipers rest
    stage.load(spec, preset="rain")
    _step(stage, 0.2)
    scene = stage.scene
    seen = set()
    for _ in range(40):
        _step(stage, DT)
        seen.add(round(scene.wipers[0].getR(), 1))
    assert len(seen) > 10
    assert scene.road_mats[0].getMaterial().getSpecular()[0] > 0.5


def _peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(len(x), 1 / RATE_HZ)[int(np.argmax(spectrum))])


def test_the_tyre_squeal_screeches_and_the_roar_stays_low() -> None:
    squeal = synthesise("tyre-squeal")
    assert 1000.0 < _peak_hz(squeal) < 1700.0
    roar = synthesise("tyre-roar")
    spectrum = np.abs(np.fft.rfft(roar)) ** 2
    f = np.fft.rfftfreq(len(roar), 1 / RATE_HZ)
    assert spectrum[f < 1500].sum() > 0.9 * spectrum.sum()
    assert np.max(np.abs(squeal)) <= 1.0 and np.max(np.abs(roar)) <= 1.0


def test_a_collision_jolts_the_cabin_briefly_and_within_its_bounds(stage: Any, spec: SceneSpec) -> None:
    from vr_exposure.renderer.builders.road_accident.builder import JOLT_DEG, JOLT_M, JOLT_S

    stage.load(spec, preset="highway")
    _step(stage, 1.0)
    scene = stage.scene
    rest = scene.ride.rest_pos
    scene.start_event("collision", spec.events["collision"])
    moved = 0.0
    for _ in range(int(JOLT_S / DT) + 3):
        _step(stage, DT)
        moved = max(moved, abs(scene.cabin.getY() - rest.y))
        assert abs(scene.cabin.getY() - rest.y) <= JOLT_M + 1e-6
        assert abs(scene.cabin.getR()) <= JOLT_DEG + MAX_SWAY_DEG + 1e-6
    assert moved > 0.3 * JOLT_M  # a jolt anyone would feel
    _step(stage, 0.5)
    assert abs(scene.cabin.getY() - rest.y) < 1e-6  # and over: only the ride's own motion is left
