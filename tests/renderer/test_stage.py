"""The stage's logic: ramps, presets, events, fades, the safe place, seated mode; no rendering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from panda3d.core import NodePath

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_scene
from vr_exposure.core.specs import SceneSpec
from vr_exposure.errors import SpecError
from vr_exposure.renderer.builders import builder_names, get_builder
from vr_exposure.renderer.stage import Stage, StageError

ROOT = Path(__file__).resolve().parents[2]
DT = 1 / 30


@pytest.fixture(scope="module")
def spiders() -> SceneSpec:
    return load_scene(ROOT / "scenes" / "spiders.yaml")


@pytest.fixture(scope="module")
def safe() -> SceneSpec:
    return load_scene(ROOT / "scenes" / "safe-place.yaml")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stage(clock: FakeClock) -> Iterator[Stage]:
    st = Stage(NodePath("test"), clock=clock, rng_seed=4, shadow_size_px=0)
    yield st
    st.destroy()


def _step(stage: Stage, clock: FakeClock, seconds: float) -> None:
    for _ in range(round(seconds / DT)):
        clock.advance(DT)
        stage.update(DT)


def test_registry_knows_both_scenes_and_names_unknown_builders() -> None:
    assert {"spiders", "safe-place"} <= set(builder_names())
    with pytest.raises(SpecError, match='no scene builder "volcano".*known: .*spiders'):
        get_builder("volcano")


def test_load_at_a_preset_applies_its_intensity_and_overrides(stage: Stage, spiders: SceneSpec) -> None:
    stage.load(spiders, preset="photo-near")
    assert stage.scene_id == "spiders"
    assert stage.preset == "photo-near"
    assert stage.intensity == stage.target_intensity == 12
    assert stage.values["nearest_distance_m"] == 0.8
    assert stage.eye_height_m == pytest.approx(1.2)


def test_intensity_ramps_smoothly_and_lands_on_target(
    stage: Stage, clock: FakeClock, spiders: SceneSpec
) -> None:
    stage.load(spiders, intensity=20)
    stage.set_intensity(80, ramp_s=1.0)
    assert stage.target_intensity == 80
    seen = []
    for _ in range(40):
        clock.advance(DT)
        stage.update(DT)
        seen.append(stage.intensity)
    assert seen[-1] == 80
    assert all(b >= a for a, b in zip(seen, seen[1:], strict=False)), "the ramp went backwards"
    steps = [b - a for a, b in zip(seen, seen[1:], strict=False)]
    assert max(steps) < 60 * 0.2, "the ramp jumped"
    assert 20 < seen[10] < 80, "nothing happened between start and end"
    assert stage.values == spiders.values_at(80)


def test_preset_overrides_ease_in_rather_than_jump(
    stage: Stage, clock: FakeClock, spiders: SceneSpec
) -> None:
    stage.load(spiders, preset="jar-far")  # nearest_distance_m from keyframes: about 2.3 m
    start = stage.values["nearest_distance_m"]
    pinned = spiders.presets["jar-close"].overrides["nearest_distance_m"]
    assert pinned < start
    stage.apply_preset("jar-close", ramp_s=1.0)
    clock.advance(DT)
    stage.update(DT)
    first = stage.values["nearest_distance_m"]
    assert pinned < first < start
    _step(stage, clock, 1.2)
    assert stage.values["nearest_distance_m"] == pinned
    assert stage.preset == "jar-close"
    assert stage.intensity == 35


def test_ramps_build_no_geometry(stage: Stage, clock: FakeClock, spiders: SceneSpec) -> None:
    stage.load(spiders, intensity=0)
    nodes = stage.root.countNumDescendants()
    stage.set_intensity(100, ramp_s=0.5)
    _step(stage, clock, 0.7)
    stage.trigger_event("scatter")
    _step(stage, clock, 0.5)
    assert stage.root.countNumDescendants() == nodes


def test_bad_requests_are_refused_and_change_nothing(stage: Stage, spiders: SceneSpec) -> None:
    with pytest.raises(StageError, match="no scene is loaded"):
        stage.set_intensity(10)
    stage.load(spiders, preset="free-far")
    with pytest.raises(StageError, match='no preset "tarantula".*known: .*free-far'):
        stage.apply_preset("tarantula")
    with pytest.raises(StageError, match="outside 0-100"):
        stage.set_intensity(120)
    with pytest.raises(StageError, match="outside 0-100"):
        stage.set_intensity(float("nan"))
    with pytest.raises(StageError, match='no event "explode"'):
        stage.trigger_event("explode")
    with pytest.raises(StageError, match='no preset "nope"'):
        stage.load(spiders, preset="nope")
    assert (stage.preset, stage.target_intensity, stage.active_events) == ("free-far", 45, [])


def test_event_delay_is_randomised_within_the_spec_and_then_fires(
    stage: Stage, clock: FakeClock, spiders: SceneSpec
) -> None:
    stage.load(spiders, preset="many-spiders-moving")
    event = spiders.events["drop-from-ceiling"]
    delays = []
    for _ in range(8):
        delays.append(stage.trigger_event("drop-from-ceiling"))
    assert all(event.delay_s <= d <= event.delay_s + event.delay_jitter_s for d in delays)
    assert len({round(d, 3) for d in delays}) > 1, "the delay is not randomised"
    assert stage.active_events == ["drop-from-ceiling"]
    scene = stage.scene
    assert scene is not None
    dropper = scene.anchor("dropping-spider")
    assert dropper is not None and dropper.isHidden()
    _step(stage, clock, min(delays) + 0.1)
    assert not dropper.isHidden()
    z0 = dropper.getZ()
    _step(stage, clock, 1.0)
    assert dropper.getZ() < z0, "the spider does not come down"


def test_walk_toward_brings_the_nearest_spider_closer(
    stage: Stage, clock: FakeClock, spiders: SceneSpec
) -> None:
    stage.load(spiders, preset="free-moving")
    spider = stage.scene.anchor("nearest-spider") if stage.scene else None
    assert spider is not None
    eye = NodePath("eye")
    eye.reparentTo(stage.parent)
    eye.setPos(0, 0, stage.eye_height_m)

    def distance() -> float:
        return float((spider.getPos(eye)).length())

    before = distance()
    assert stage.trigger_event("walk-toward") == 0.0
    assert "walk-toward" in stage.active_events
    _step(stage, clock, 2.0)
    assert distance() < before - 0.1
    _step(stage, clock, 3.0)
    assert "walk-toward" not in stage.active_events


def test_fade_to_black_and_back(stage: Stage, clock: FakeClock, spiders: SceneSpec) -> None:
    stage.load(spiders, preset="free-far")
    stage.fade(True, 0.5)
    levels = []
    for _ in range(20):
        stage.update(DT)
        levels.append(stage.fade_level)
    assert levels[-1] == 0.0
    assert all(b <= a for a, b in zip(levels, levels[1:], strict=False))
    assert stage.root.getColorScale()[0] == 0.0
    stage.fade(False, 0.5)
    _step(stage, clock, 0.6)
    assert stage.fade_level == 1.0


def test_safe_place_swaps_only_while_black_and_returns(
    stage: Stage, clock: FakeClock, spiders: SceneSpec, safe: SceneSpec
) -> None:
    stage.load(spiders, preset="spider-on-desk")
    stage.set_intensity(64, ramp_s=0.0)
    stage.go_to_safe_place(safe, fade_s=1.0)
    assert stage.in_safe_place and stage.transitioning
    trace = []
    for _ in range(90):
        clock.advance(DT)
        stage.update(DT)
        trace.append((stage.scene_id, stage.fade_level))
    assert trace[-1] == ("safe-place", 1.0)
    swap = next(i for i, (scene, _) in enumerate(trace) if scene == "safe-place")
    assert trace[swap - 1][1] == 0.0 and trace[swap][1] == 0.0, "the scene changed while visible"
    out = [lvl for _, lvl in trace[:swap]]
    back = [lvl for _, lvl in trace[swap:]]
    assert all(b <= a for a, b in zip(out, out[1:], strict=False))
    assert all(b >= a for a, b in zip(back, back[1:], strict=False))
    assert not stage.transitioning
    stage.leave_safe_place(fade_s=0.5)
    _step(stage, clock, 1.5)
    assert (stage.scene_id, stage.preset, stage.intensity) == ("spiders", None, 64)
    assert not stage.in_safe_place


def test_the_safe_place_during_a_scene_change_returns_to_the_new_scene(
    stage: Stage, clock: FakeClock, spiders: SceneSpec, safe: SceneSpec
) -> None:
    stage.load(spiders, intensity=20, fade_s=0.0)
    _step(stage, clock, 0.2)
    stage.load(spiders, intensity=90, fade_s=1.0)  # committed to: the state already names it
    _step(stage, clock, 0.3)
    assert stage.pending == ("spiders", None, 90)
    stage.go_to_safe_place(safe, fade_s=0.5)
    assert stage.return_to == ("spiders", None, 90)
    _step(stage, clock, 2.0)
    stage.leave_safe_place(fade_s=0.2)
    _step(stage, clock, 1.0)
    assert (stage.scene_id, stage.target_intensity) == ("spiders", 90)


def test_seated_and_standing_eye_heights(clock: FakeClock, spiders: SceneSpec) -> None:
    standing = Stage(NodePath("t"), clock=clock, seated=False, shadow_size_px=0)
    standing.load(spiders, intensity=0)
    assert standing.eye_height_m == pytest.approx(1.7)
    standing.destroy()
    spec = load_scene(ROOT / "scenes" / "spiders.yaml")
    assert spec.seated
    seated = Stage(NodePath("t"), clock=clock, shadow_size_px=0)
    seated.load(spec, intensity=0)
    assert seated.eye_height_m == pytest.approx(1.2)
    seated.destroy()


def test_start_task_runs_update_every_frame(showbase: object, spiders: SceneSpec) -> None:
    base = showbase
    clock = FakeClock()
    st = Stage(NodePath("t"), task_mgr=base.taskMgr, clock=clock, shadow_size_px=0)  # type: ignore[attr-defined]
    st.load(spiders, intensity=10)
    st.set_intensity(90, ramp_s=0.2)
    st.start_task()
    for _ in range(5):
        clock.advance(0.1)
        base.taskMgr.step()  # type: ignore[attr-defined]
    assert st.intensity == 90
    st.destroy()
