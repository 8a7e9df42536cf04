"""What the combat-convoy scene promises beyond the contract test: the positions put the eyes where a
passenger, a driver and a turret gunner sit; the vehicle never leaves its place (the road goes by);
night vision tints the view green; a hit's jolt stays within the ride block's caps; the helicopter
crosses from left to right with its sound anchor on the line to it, and is heard moving from the left
ear to the right (OpenAL Soft's wave output); the strength the therapist sets moves the gunfire
nearer and makes it louder; the blast halts the convoy and everything ends; its own sounds have the
shape they claim."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from panda3d.core import NodePath, Vec3

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_scene
from vr_exposure.core.specs import Preset, SceneSpec
from vr_exposure.renderer.blocks.ride import MAX_ACCEL_PITCH_DEG, MAX_SWAY_DEG, MAX_VIBRATION_M
from vr_exposure.renderer.blocks.sound import RATE_HZ, synthesise
from vr_exposure.renderer.builders.combat_convoy.builder import EYES, compressed_m
from vr_exposure.renderer.stage import Stage
from vr_exposure.renderer.still import OffscreenView

from .test_audio import _read_wav, _rms
from .wave_output import wave_env

pytestmark = pytest.mark.renderer

ROOT = Path(__file__).resolve().parents[2]
DT = 1 / 30


@pytest.fixture(scope="module")
def spec() -> SceneSpec:
    return load_scene(ROOT / "scenes" / "combat-convoy.yaml")


@pytest.fixture
def stage(showbase: Any) -> Any:
    top = NodePath("convoy-test")
    st = Stage(top, clock=FakeClock(), rng_seed=4, shadow_size_px=0)
    yield st
    st.destroy()
    top.removeNode()


def _step(stage: Stage, seconds: float) -> None:
    for _ in range(max(1, round(seconds / DT))):
        stage.clock.advance(DT)  # type: ignore[attr-defined]
        stage.update(DT)


def _eye(stage: Stage) -> Vec3:
    return Vec3(0.0, 0.0, stage.eye_height_m)


def test_each_position_puts_the_eyes_at_its_seat(stage: Any, spec: SceneSpec) -> None:
    for preset, position in (("quiet-road", 0), ("driver-seat", 1), ("turret", 2)):
        stage.load(spec, preset=preset)
        _step(stage, 0.1)
        scene = stage.scene
        ex, ey, ez = EYES[position]
        # The seat's eye point, in the rig, is where the patient's eyes are.
        seat = scene.root.getRelativePoint(scene.rig, Vec3(ex, ey, ez))
        assert (seat - _eye(stage)).length() < 1e-4, preset
        assert scene.interior.isHidden() == (position == 2)
        assert scene.turret.isHidden() == (position != 2)
        # Somebody else drives when the patient does not; nobody sits in the patient's seat.
        if position < 2:
            assert scene.crew[position].root.isHidden()
            assert not scene.crew[1 - position].root.isHidden()


def test_the_vehicle_stays_and_the_road_goes_by(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="quiet-road")
    _step(stage, 0.2)
    scene = stage.scene
    d0, cabin0 = scene.distance_m, scene.cabin.getPos()
    strips0 = [s.getY() for s in scene.strips]
    _step(stage, 2.0)
    assert scene.distance_m - d0 == pytest.approx(scene.speed_m_s * 2.0, rel=0.05)
    assert (scene.cabin.getPos() - cabin0).length() < 0.01  # only vibration
    moved = [a - s.getY() for a, s in zip(strips0, scene.strips, strict=True)]
    assert all(m == pytest.approx(scene.speed_m_s * 2.0, rel=0.05) for m in moved)


def _view(base: Any, top: NodePath) -> OffscreenView:
    return OffscreenView(
        top, size=(96, 54), fov_deg=80.0, engine=base.graphicsEngine, pipe=base.pipe, host=base.win
    )


def test_night_vision_tints_the_view_green(showbase: Any, spec: SceneSpec) -> None:
    plain = msgspec.structs.replace(
        spec,
        presets={
            **spec.presets,
            "night-plain": Preset(intensity=58, overrides={"night_vision": 0.0}),
        },
    )
    means = {}
    for preset in ("night-vision", "night-plain"):
        top = NodePath("nv-test")
        view = _view(showbase, top)
        st = Stage(top, clock=FakeClock(), rng_seed=4, shadow_size_px=0)
        try:
            st.load(plain, preset=preset)
            for _ in range(6):
                st.clock.advance(DT)  # type: ignore[attr-defined]
                st.update(DT)
            view.look_from((0.0, 0.0, st.eye_height_m), (0.0, -4.0, 0.0))
            img = view.render().astype(float)
            means[preset] = img.reshape(-1, img.shape[-1])[:, :3].mean(axis=0)
        finally:
            st.destroy()
            view.close()
            top.removeNode()
    r, g, b = means["night-vision"]
    assert g > 1.8 * r and g > 1.8 * b, means
    assert g > 40, f"night vision should be bright enough to see by: {means}"
    pr, pg, pb = means["night-plain"]
    assert pg < 1.3 * max(pr, pb), f"without night vision the night is not green: {means}"


def test_a_hit_jolts_the_vehicle_within_the_ride_caps_and_ends(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="turret-storm")
    _step(stage, 0.5)
    scene = stage.scene
    rest_p, rest_h = scene.ride.rest_pos, scene.ride.rest_hpr
    event = spec.events["own-vehicle-hit"]
    scene.event_strengths["own-vehicle-hit"] = 1.0
    scene.start_event("own-vehicle-hit", event)
    rolls, pitches = [], []
    for _ in range(int(event.duration_s / DT) + 3):
        _step(stage, DT)
        z = scene.cabin.getZ() - rest_p.z
        p, r = scene.cabin.getP() - rest_h.y, scene.cabin.getR() - rest_h.z
        assert abs(z) <= MAX_VIBRATION_M + 1e-6
        assert abs(p) <= MAX_ACCEL_PITCH_DEG + 1e-6
        assert abs(r) <= MAX_SWAY_DEG + 1e-6
        rolls.append(abs(r))
        pitches.append(abs(p))
    assert max(rolls) > 0.8 * MAX_SWAY_DEG  # a jolt anyone would feel
    assert not scene.event_running("own-vehicle-hit")
    assert scene.dust_haze.isHidden() and scene.hit_flash.isHidden()
    assert scene.halt == 1.0  # the convoy drives on


def test_the_helicopter_crosses_left_to_right_and_its_sound_follows(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="market")
    _step(stage, 0.2)
    scene = stage.scene
    eye = _eye(stage)
    lows = {}
    for strength in (0.2, 1.0):
        scene.event_strengths["helicopter-flyover"] = strength
        scene.start_event("helicopter-flyover", spec.events["helicopter-flyover"])
        anchor = scene.anchor("helicopter-body")
        xs, heights = [], []
        while scene.event_running("helicopter-flyover"):
            _step(stage, DT)
            if not scene.event_running("helicopter-flyover"):
                break
            true = scene.heli.getPos(scene.root) - eye
            heard = anchor.getPos(scene.root) - eye
            # On the line to the helicopter, at the compressed distance.
            assert heard.normalized().dot(true.normalized()) > 0.9999
            assert heard.length() == pytest.approx(compressed_m(true.length()), rel=1e-3)
            xs.append(heard.x)
            heights.append(true.z)
        assert xs[0] < -1.0 and xs[-1] > 1.0, (xs[0], xs[-1])
        assert all(b >= a for a, b in zip(xs, xs[1:], strict=False))
        lows[strength] = min(heights)
        assert scene.heli.isHidden()
    assert lows[1.0] < 0.5 * lows[0.2]  # fired stronger: lower and nearer


def test_strength_moves_the_gunfire_nearer(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="crowds")
    _step(stage, 0.2)
    scene = stage.scene
    eye = _eye(stage)
    for name, far_m, near_m in (("distant-gunfire", 600.0, 150.0), ("near-gunfire", 80.0, 15.0)):
        heard = {}
        for strength, expect_m in ((0.0, far_m), (1.0, near_m)):
            scene.event_strengths[name] = strength
            scene.start_event(name, spec.events[name])
            _step(stage, DT)
            true = scene.gun_node.getPos(scene.root) - eye
            assert true.length() == pytest.approx(expect_m, rel=0.05)
            heard[strength] = (scene.anchor("gun-position").getPos(scene.root) - eye).length()
            _step(stage, spec.events[name].duration_s + 0.2)
            assert not scene.event_running(name) and scene.flashes[name].isHidden()
        assert heard[1.0] < 0.5 * heard[0.0]


def test_the_blast_halts_the_convoy_then_it_drives_on(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="turret")
    _step(stage, 0.5)
    scene = stage.scene
    lead = scene.convoy_trucks[0]
    rest = lead.getPos()
    event = spec.events["ied-ahead"]
    scene.start_event("ied-ahead", event)
    _step(stage, 3.0)
    assert scene.halt < 0.01
    d = scene.distance_m
    _step(stage, 1.0)
    assert scene.distance_m - d < 0.05  # halted
    assert any(not p.isHidden() for p in scene.smoke)
    assert lead.getColorScale()[0] < 0.7  # scorched, not destroyed: nobody is shown hurt
    _step(stage, event.duration_s)
    assert not scene.event_running("ied-ahead")
    assert all(p.isHidden() for p in scene.smoke) and scene.fireball.isHidden()
    assert (lead.getPos() - rest).length() < 0.05 and scene.halt == 1.0


def test_rooftop_figures_follow_strength_and_stand_on_roofs(stage: Any, spec: SceneSpec) -> None:
    stage.load(spec, preset="crowds")
    _step(stage, 0.2)
    scene = stage.scene
    counts = {}
    for strength in (0.0, 1.0):
        scene.event_strengths["rooftop-figures"] = strength
        scene.start_event("rooftop-figures", spec.events["rooftop-figures"])
        _step(stage, 2.0)
        shown = [f for f in scene.rooftop if not f.root.isHidden()]
        counts[strength] = len(shown)
        for fig in shown:
            assert fig.body.getZ(scene.rig) > 3.0  # up on a roof
        _step(stage, spec.events["rooftop-figures"].duration_s)
        assert all(f.root.isHidden() for f in scene.rooftop)
    assert counts == {0.0: 1, 1.0: 5}


def test_the_market_fills_with_activity(stage: Any, spec: SceneSpec) -> None:
    shown = {}
    for preset in ("quiet-road", "market", "crowds"):
        stage.load(spec, preset=preset)
        _step(stage, 0.1)
        scene = stage.scene
        shown[preset] = sum(not f.root.isHidden() for _o, _k, f in scene.crowd)
        assert all(m.isHidden() == (preset == "quiet-road") for m in scene.markets)
    assert shown["quiet-road"] == 0 < shown["market"] < shown["crowds"]


# ------------------------------------------------------------------------------------------- sound

_PLAYER = textwrap.dedent(
    """
    import sys, time
    import msgspec
    from panda3d.core import loadPrcFileData
    loadPrcFileData("", "audio-library-name p3openal_audio\\nnotify-level-audio error\\n")
    from vr_exposure.core.clock import FakeClock
    from vr_exposure.core.loading import load_scene
    from tests.renderer.wave_output import audio_stage

    path, event_name, strength, duration_s = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    spec = load_scene(path)
    event = msgspec.structs.replace(spec.events[event_name], duration_s=duration_s)
    spec = msgspec.structs.replace(
        spec, audio={event.cue: spec.audio[event.cue]}, events={event_name: event}
    )
    clock = FakeClock()
    top, head, mgr, audio, stage = audio_stage(clock)
    stage.load(spec, preset="market")
    head.setPos(0, 0, stage.eye_height_m)
    stage.update(1 / 60)
    stage.trigger_event(event_name, strength)
    start = last = time.monotonic()
    while time.monotonic() - start < duration_s + 0.3:
        now = time.monotonic()
        clock.advance(now - last)
        stage.update(now - last)  # scene time follows the wall clock the wave file is written at
        last = now
        time.sleep(1 / 120)
    print("DONE")
    stage.destroy()
    mgr.shutdown()
    """
)


def _play(tmp_path: Path, event: str, strength: float, duration_s: float) -> np.ndarray:
    out = tmp_path / f"{event}-{strength:g}.wav"
    env = wave_env(tmp_path / f"alsoft-{event}-{strength:g}.conf", out)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _PLAYER,
            str(ROOT / "scenes" / "combat-convoy.yaml"),
            event,
            str(strength),
            str(duration_s),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0 and "DONE" in proc.stdout, proc.stderr[-2000:]
    channels, bits, frames = _read_wav(out.read_bytes())
    assert channels == 2 and bits == 16
    return np.frombuffer(frames, dtype=np.int16).astype(np.float64).reshape(-1, 2)


def _onset(data: np.ndarray) -> int:
    loud = np.flatnonzero(np.abs(data).max(axis=1) > 0.05 * np.abs(data).max())
    assert loud.size, "silent output"
    return int(loud[0])


def test_the_helicopter_is_heard_moving_from_the_left_ear_to_the_right(tmp_path: Path) -> None:
    duration_s = 4.0
    data = _play(tmp_path, "helicopter-flyover", 1.0, duration_s)
    start = _onset(data)
    n = int(duration_s * RATE_HZ)
    clip = data[start : start + n]
    third = clip.shape[0] // 3
    first, last = clip[:third], clip[-third:]
    assert _rms(first[:, 0]) > 1.5 * _rms(first[:, 1]), "the helicopter does not start on the left"
    assert _rms(last[:, 1]) > 1.5 * _rms(last[:, 0]), "the helicopter does not end on the right"


def test_gunfire_is_louder_the_nearer_the_therapist_sets_it(tmp_path: Path) -> None:
    far = _play(tmp_path, "near-gunfire", 0.2, 4.0)
    near = _play(tmp_path, "near-gunfire", 1.0, 4.0)
    assert _rms(near) > 3.0 * _rms(far) > 0.0, (_rms(near), _rms(far))


# ------------------------------------------------------------------------------------- synthesis


def _pitch_track(x: np.ndarray, lo_hz: float, hi_hz: float, frame_s: float = 0.04) -> np.ndarray:
    """The strongest frequency between ``lo_hz`` and ``hi_hz`` in each voiced frame."""
    n = int(frame_s * RATE_HZ)
    frames = x[: x.size // n * n].reshape(-1, n)
    energy = np.sqrt((frames**2).mean(axis=1))
    f = np.fft.rfftfreq(4 * n, 1 / RATE_HZ)
    band = (f >= lo_hz) & (f <= hi_hz)
    out = []
    for fr in frames[energy > 0.3 * energy.max()]:
        spec = np.abs(np.fft.rfft(fr * np.hanning(n), 4 * n))
        out.append(f[band][int(np.argmax(spec[band]))])
    return np.array(out)


def test_the_call_to_prayer_is_a_melismatic_voice_not_a_tone() -> None:
    x = synthesise("call-to-prayer")
    assert np.isfinite(x).all() and np.abs(x).max() <= 1.0
    # Sung: a voice's harmonics carry it, between the loudspeaker's band edges.
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1 / RATE_HZ)
    assert spectrum[(f > 250) & (f < 4500)].sum() > 0.95 * spectrum.sum()
    # Melismatic: the pitch moves through several notes, not a held tone.
    track = _pitch_track(x, 250.0, 480.0)
    semis = 12 * np.log2(track / track.min())
    assert semis.max() - semis.min() > 4.0
    assert len(np.unique(np.round(semis))) >= 5
    # Phrases with breaths between them.
    frame = int(0.05 * RATE_HZ)
    env = np.sqrt((x[: x.size // frame * frame].reshape(-1, frame) ** 2).mean(axis=1))
    assert (env < 0.1 * env.max()).mean() > 0.05


def test_gunfire_is_sharp_reports_and_the_baby_cries_high() -> None:
    gun = synthesise("gunfire")
    frame = int(0.01 * RATE_HZ)
    env = np.sqrt((gun[: gun.size // frame * frame].reshape(-1, frame) ** 2).mean(axis=1))
    assert np.max(np.abs(gun)) / np.sqrt(np.mean(gun**2)) > 6.0  # impulsive: cracks, not a hum
    assert (env > 0.3 * env.max()).sum() >= 8  # several rounds
    cry = synthesise("baby-cry")
    track = _pitch_track(cry, 300.0, 700.0)
    assert 380.0 < float(np.median(track)) < 620.0


def test_the_blast_is_followed_by_radio_and_the_ringing_lasts() -> None:
    blast = synthesise("ied-blast")
    t = np.arange(blast.size) / RATE_HZ
    assert math.isclose(blast.size / RATE_HZ, 10.0)
    first = np.sqrt(np.mean(blast[t < 1.0] ** 2))
    radio = blast[(t > 3.0) & (t < 9.5)]
    assert first > np.sqrt(np.mean(radio**2)) > 0.02 * first  # the blast loudest, the radio heard after
    spectrum = np.abs(np.fft.rfft(radio)) ** 2
    f = np.fft.rfftfreq(radio.size, 1 / RATE_HZ)
    assert spectrum[(f > 250) & (f < 5500)].sum() > 0.8 * spectrum.sum()  # through a radio's band
    ring = synthesise("ringing-ears")
    late = ring[int(4.0 * RATE_HZ) : int(6.0 * RATE_HZ)]
    spec = np.abs(np.fft.rfft(late))
    f = np.fft.rfftfreq(late.size, 1 / RATE_HZ)
    assert 3900 < f[int(np.argmax(spec))] < 4100  # still ringing seconds later
