"""What the flying scene promises beyond the contract test, measured from the scene graph: the cabin
holds as many passengers as the parameter says; each flight phase shows its own view out of the
window and runs the engines at its level (the scene's engine cue follows the same levels); turbulence
shakes the cabin within its caps and never the patient's view; the events animate, scale with their
strength and end; the storm lights itself; the cabin's own sounds have the spectrum they claim; and
the demo runs the flying protocol headless. The scene clock is stepped, never waited for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from panda3d.core import NodePath

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_scene
from vr_exposure.core.specs import SceneSpec
from vr_exposure.renderer.blocks.ride import MAX_SWAY_DEG, MAX_VIBRATION_M
from vr_exposure.renderer.blocks.sound import RATE_HZ, synthesise
from vr_exposure.renderer.builders.flying.builder import JOLT_DEG, JOLT_M
from vr_exposure.renderer.builders.flying.contract import ENGINE_LEVEL, MAX_PASSENGERS, PHASES
from vr_exposure.renderer.stage import Stage

from .apphelpers import run_demo

pytestmark = pytest.mark.renderer

ROOT = Path(__file__).resolve().parents[2]
DT = 1 / 30


@pytest.fixture(scope="module")
def spec() -> SceneSpec:
    return load_scene(ROOT / "scenes" / "flying.yaml")


class Rig:
    """A stage under ``top`` and, beside the scene, the patient's head (the camera's node), which
    nothing in the scene may move."""

    def __init__(self) -> None:
        self.top = NodePath("flying-test")
        self.head = self.top.attachNewNode("head")
        self.stage = Stage(self.top, clock=FakeClock(), rng_seed=4, shadow_size_px=0)

    def load(self, spec: SceneSpec, preset: str | None = None, intensity: float | None = None) -> Any:
        self.stage.load(spec, preset=preset, intensity=intensity)
        self.head.setPos(0.0, 0.0, self.stage.eye_height_m)
        self.step(0.1)
        return self.stage.scene

    def step(self, seconds: float) -> None:
        for _ in range(max(1, round(seconds / DT))):
            self.stage.clock.advance(DT)  # type: ignore[attr-defined]
            self.stage.update(DT)

    def close(self) -> None:
        self.stage.destroy()
        self.top.removeNode()


@pytest.fixture
def rig(showbase: Any) -> Any:
    r = Rig()
    yield r
    r.close()


def _seated(scene: Any) -> int:
    return sum(not p.root.isHidden() for p in scene.people)


def _cabin_offset(scene: Any) -> tuple[float, float]:
    """How far the cabin is from its rest pose: (metres, degrees of roll and pitch)."""
    pos, hpr = scene.cabin.getPos(), scene.cabin.getHpr()
    rest_p, rest_h = scene.ride.rest_pos, scene.ride.rest_hpr
    return (pos - rest_p).length(), max(abs(hpr.y - rest_h.y), abs(hpr.z - rest_h.z))


def test_the_passenger_count_follows_the_parameter(rig: Rig, spec: SceneSpec) -> None:
    counts = []
    for intensity in (0, 8, 16, 30):
        scene = rig.load(spec, intensity=intensity)
        want = int(spec.values_at(intensity)["passengers"])
        assert _seated(scene) == want == scene.passengers_shown
        counts.append(want)
    assert counts[0] == 0 and counts[-1] == MAX_PASSENGERS and counts == sorted(counts)
    # Each visible passenger sits in a seat of its own, never in the patient's (seat A of row 0).
    places = {
        (round(p.root.getX(), 2), round(p.root.getY(), 2)) for p in scene.people if not p.root.isHidden()
    }
    assert len(places) == MAX_PASSENGERS
    assert all(not (abs(x) < 0.1 and abs(y) < 0.3) for x, y in places)


def test_the_front_row_seats_as_many_as_fit_behind_the_bulkhead(rig: Rig, spec: SceneSpec) -> None:
    scene = rig.load(spec, preset="cruise")  # the front row, a full cabin
    assert not scene.bulkhead.isHidden() and scene.rows_ahead.isHidden()
    assert 0 < _seated(scene) < MAX_PASSENGERS
    assert all(p.root.getY() < 0.5 for p in scene.people if not p.root.isHidden())  # none beyond it
    scene = rig.load(spec, preset="mild-turbulence")  # behind the wing: the rows ahead are back
    assert scene.bulkhead.isHidden() and not scene.rows_ahead.isHidden()
    assert _seated(scene) == MAX_PASSENGERS


def test_each_phase_has_its_own_view_out_of_the_window_and_engine_level(rig: Rig, spec: SceneSpec) -> None:
    outside = {"gate": "gate", "taxi": "airfield", "take-off": "airfield", "cruise": "country"}
    seen = {}
    for name, preset in spec.presets.items():
        scene = rig.load(spec, preset=name)
        phase = PHASES[scene.phase]
        assert scene.engine_level == ENGINE_LEVEL[phase]
        # The scene's engine cue plays at the builder's level for the phase shown at that intensity.
        assert spec.audio["engines"].volume_at(preset.intensity) == pytest.approx(ENGINE_LEVEL[phase])
        shown = {n for n in ("gate", "airfield", "country") if not getattr(scene, n).isHidden()}
        assert len(shown) == 1, (name, shown)
        seen[phase] = shown.pop()
        # The engines' fan turns when they run, and stands still when they are off.
        r0 = scene.fan.getR()
        rig.step(0.2)
        assert (abs(scene.fan.getR() - r0) > 1.0) == (ENGINE_LEVEL[phase] > 0), name
    for phase, view in outside.items():
        assert seen[phase] == view, (phase, seen[phase])
    # On the ground the ground is just below the floor; in flight far below.
    scene = rig.load(spec, preset="gate-empty")
    gate_z = scene.ground.getZ(rig.top)
    scene = rig.load(spec, preset="cruise")
    assert scene.ground.getZ(rig.top) < gate_z - 200.0
    assert not scene.clouds_below.isHidden()
    scene = rig.load(spec, preset="storm")
    assert not scene.clouds_near.isHidden() and scene.clouds_below.isHidden()


def test_the_seat_slides_the_wing_from_behind_to_ahead(rig: Rig, spec: SceneSpec) -> None:
    ys = {}
    for preset in ("cruise", "engines-on", "behind-wing-night"):
        scene = rig.load(spec, preset=preset)
        ys[preset] = scene.engine.getY(rig.top)
    assert ys["cruise"] < -5.0  # the front row: the engine far behind
    assert -1.0 < ys["engines-on"] < 6.0  # over the wing: the engine beside, a little ahead
    assert ys["behind-wing-night"] > ys["engines-on"] + 4.0  # behind the wing: ahead


def test_turbulence_shakes_the_cabin_within_its_caps_and_never_the_view(rig: Rig, spec: SceneSpec) -> None:
    scene = rig.load(spec, preset="storm")
    head0, root0 = rig.head.getMat(rig.top), scene.root.getMat(rig.top)
    outside0 = scene.pivot.getMat(rig.top)
    moved = []
    for _ in range(300):
        rig.step(DT)
        m, deg = _cabin_offset(scene)
        moved.append(m)
        assert m <= JOLT_M + 3 * MAX_VIBRATION_M + 1e-6
        assert deg <= JOLT_DEG + MAX_SWAY_DEG + 1e-6
        # The patient's head, the scene's root and the world outside stay put.
        assert rig.head.getMat(rig.top).almostEqual(head0, 1e-6)
        assert scene.root.getMat(rig.top).almostEqual(root0, 1e-6)
        assert scene.pivot.getMat(rig.top).almostEqual(outside0, 1e-6)
    assert max(moved) > 0.4 * JOLT_M  # the storm's turbulence is felt
    bins_moved = abs(scene.bin_doors[0].getR())
    scene = rig.load(spec, preset="cruise")  # a smooth cruise: only the faintest buzz
    calm = []
    for _ in range(150):
        rig.step(DT)
        calm.append(_cabin_offset(scene)[0])
    assert max(calm) < 0.1 * max(moved)
    assert abs(scene.bin_doors[0].getR()) < 1e-6 < bins_moved


def test_a_turbulence_burst_scales_with_its_strength_and_ends(rig: Rig, spec: SceneSpec) -> None:
    peaks = {}
    for strength in (0.2, 1.0):
        scene = rig.load(spec, preset="cruise")
        rig.stage.trigger_event("turbulence-burst", strength=strength)
        assert scene.event_running("turbulence-burst")
        peak = 0.0
        for _ in range(int(spec.events["turbulence-burst"].duration_s / DT) + 40):
            rig.step(DT)
            peak = max(peak, _cabin_offset(scene)[0])
        assert not scene.event_running("turbulence-burst")
        assert _cabin_offset(scene)[0] < 0.2 * peak  # settled again
        peaks[strength] = peak
    assert peaks[1.0] > 1.5 * peaks[0.2] > 0.0


def test_the_announcement_lights_the_call_lights_and_heads_turn_up(rig: Rig, spec: SceneSpec) -> None:
    scene = rig.load(spec, preset="seated-engines-off")
    rig.step(1.0)
    rig.stage.trigger_event("captain-announcement")
    rig.step(1.5)
    assert not scene.call_lights.isHidden()
    pitches = [p.head_hpr[1] for p in scene.people if not p.root.isHidden()]
    assert np.mean(pitches) > 5.0  # looking up toward the loudspeaker
    rig.step(spec.events["captain-announcement"].duration_s)
    assert not scene.event_running("captain-announcement") and scene.call_lights.isHidden()
    rig.step(1.0)
    assert np.mean([abs(p.head_hpr[1]) for p in scene.people if not p.root.isHidden()]) < 1.0


def test_the_take_off_roll_speeds_up_lifts_the_nose_and_gives_the_view_back(
    rig: Rig, spec: SceneSpec
) -> None:
    scene = rig.load(spec, preset="cruise")
    rig.stage.trigger_event("take-off-roll")
    assert not scene.airfield.isHidden() and scene.country.isHidden()
    duration = spec.events["take-off-roll"].duration_s
    speeds, pitches = [], []
    for _ in range(int(duration / DT) - 2):
        d = scene.distance_m
        rig.step(DT)
        speeds.append((scene.distance_m - d) / DT)
        pitches.append(-scene.tilt.getP())
    assert speeds[-1] > 60.0 > 20.0 > speeds[0]
    assert all(b >= a - 1e-6 for a, b in zip(speeds, speeds[1:], strict=False))  # never slows
    assert max(pitches[: len(pitches) // 2]) < 0.5 < 6.0 < pitches[-1]  # the nose lifts at the end
    rig.step(0.5)
    assert not scene.event_running("take-off-roll")
    assert scene.airfield.isHidden() and not scene.country.isHidden()  # back to the cruise


def test_the_landing_bump_jolts_raises_the_spoilers_and_ends(rig: Rig, spec: SceneSpec) -> None:
    scene = rig.load(spec, preset="landing")
    rig.step(0.5)
    rig.stage.trigger_event("landing-bump")
    jolt, spoiler = 0.0, 0.0
    for _ in range(int(spec.events["landing-bump"].duration_s / DT) + 3):
        rig.step(DT)
        jolt = max(jolt, _cabin_offset(scene)[0])
        spoiler = max(spoiler, scene.spoilers[0].getP())
    assert jolt > 0.4 * JOLT_M and spoiler > 30.0
    assert not scene.event_running("landing-bump")
    assert abs(scene.spoilers[0].getP()) < 1e-6


def test_the_storm_lights_itself_and_rains(rig: Rig, spec: SceneSpec) -> None:
    scene = rig.load(spec, preset="storm")
    assert scene.rain.level > 0
    flashes = 0
    for _ in range(int(20 / DT)):
        rig.step(DT)
        flashes += scene.lightning.flashing
    assert flashes > 0
    scene = rig.load(spec, preset="cruise")
    for _ in range(int(10 / DT)):
        rig.step(DT)
        assert not scene.lightning.flashing
    assert scene.rain.level == 0


def _spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.fft.rfftfreq(len(x), 1 / RATE_HZ), np.abs(np.fft.rfft(x)) ** 2


def test_the_cabin_sounds_have_their_spectra() -> None:
    for name in ("jet-engine", "cabin-air", "bins-rattle", "turbulence-jolt", "captain-voice", "touchdown"):
        x = synthesise(name)
        assert 0.3 < np.max(np.abs(x)) <= 1.0, name
    f, p = _spectrum(synthesise("jet-engine"))
    band = (f > 2300) & (f < 2500)
    assert p[band].max() > 20 * np.median(p[(f > 1800) & (f < 3000)])  # the fan's whine stands out
    assert p[f < 1000].sum() > p[f >= 1000].sum()  # a low roar under it
    f, p = _spectrum(synthesise("captain-voice")[int(2 * RATE_HZ) :])  # after the chime
    assert p[(f > 300) & (f < 3400)].sum() > 0.95 * p.sum()  # a loudspeaker's band
    jolt = synthesise("turbulence-jolt")
    f, p = _spectrum(jolt[int(2.3 * RATE_HZ) : int(3.5 * RATE_HZ)])  # the seat-belt chime at its end
    assert abs(f[np.argmax(p)] - 880.0) < 15.0 or abs(f[np.argmax(p)] - 698.0) < 15.0
    squeal = synthesise("touchdown")[: int(0.6 * RATE_HZ)]
    f, p = _spectrum(squeal)
    assert p[(f > 1100) & (f < 1500)].sum() > 0.1 * p[f > 500].sum()


def test_the_demo_runs_the_flying_protocol_headless(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    log = run_demo("flying-graded", sessions, 0.5)
    loaded = [r.content["scene"] for r in log.by_type("scene_loaded") if r.process == "renderer"]
    assert "flying" in loaded
    assert log.by_type("rung_changed"), "the therapist never moved up the ladder"
    assert log.manifest is not None and log.manifest.protocol == "flying-graded"
