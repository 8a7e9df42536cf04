"""The ``dogs`` scene, measured from the scene graph: the legs' ground-contact pattern is a walk
(four beats, lateral sequence, two or more feet down) at walking speed, a trot (diagonal pairs
together, under half the cycle on the ground) at trotting speed and a rotary gallop (hind pair, fore
pair, a suspension with no foot down) at running speed, and a paw on the ground does not slide; a
dog jumping up rears with its front paws toward the patient and its hind feet planted; owners walk
after their leashed dogs with the leash from hand to collar; over intensity 0 to 100 the dogs climb
the body-language ladder and never come down it. From rendered depth: the living room's walls close
the view where the park's does not, and a dog comes in by the door. Sound: paws on a floor and on
grass and the collar tags follow the moving dog on its own ground, and a bark is louder in the ear
facing the dog (OpenAL Soft's wave output). And the demo runs the dogs protocol headless. The scene
clock is stepped, never waited for."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from panda3d.core import NodePath, Vec3

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library
from vr_exposure.renderer.audio import synthesise
from vr_exposure.renderer.blocks.sound import RATE_HZ
from vr_exposure.renderer.builders import contracts
from vr_exposure.renderer.builders.dogs.builder import DOOR_X, FAR_M, ROOM_Y, WALK_M_S
from vr_exposure.renderer.builders.dogs.contract import LADDER, ladder_rung
from vr_exposure.renderer.builders.dogs.dog import LEGS, Dog
from vr_exposure.renderer.stage import Stage

from .apphelpers import DepthView, assert_demo_climbed, library, run_demo
from .test_audio import _read_wav, _rms
from .wave_output import wave_env

pytestmark = pytest.mark.renderer

ROOT = Path(__file__).resolve().parents[2]
DT_S = 1 / 120


def _run(speed_m_s: float, seconds: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """A medium dog moved straight ahead at ``speed_m_s``: each paw's world (y, z) per step."""
    top = NodePath("gait-test")
    dog = Dog(top, np.random.default_rng(1), "dog", "dog")
    y = 0.0
    for _ in range(30):  # settle into standing
        dog.update(DT_S, 0.0)
    ys, zs = [], []
    for _ in range(int(seconds / DT_S)):
        y += speed_m_s * DT_S
        dog.root.setY(y)
        dog.update(DT_S, speed_m_s)
        pos = [dog.paw_world(leg, top) for leg in LEGS]
        ys.append([p.y for p in pos])
        zs.append([p.z for p in pos])
    top.removeNode()
    return np.array(ys), np.array(zs)


def _contacts(zs: np.ndarray) -> np.ndarray:
    return zs < 1e-4  # the paw node is on the ground


def _together(contact: np.ndarray, a: str, b: str) -> float:
    """How often legs ``a`` and ``b`` are in the same state (both down or both up)."""
    return float(np.mean(contact[:, LEGS.index(a)] == contact[:, LEGS.index(b)]))


def _footfalls(contact: np.ndarray) -> list[str]:
    """The legs in the order their feet touch down, over one stride after the first second."""
    start = int(1.0 / DT_S)
    downs = sorted(
        (i, leg)
        for k, leg in enumerate(LEGS)
        for i in range(start, contact.shape[0])
        if contact[i, k] and not contact[i - 1, k]
    )
    return [leg for _, leg in downs]


def _cyclic(order: list[str], pattern: tuple[str, ...]) -> bool:
    """Whether ``order`` (several strides) repeats ``pattern`` from some point of it."""
    n = len(pattern)
    first = order.index(pattern[0])
    body = order[first : first + 2 * n]
    return len(body) == 2 * n and body == list(pattern) * 2


def test_walk_trot_and_gallop_have_different_foot_contact_patterns() -> None:
    walk, trot, gallop = (_contacts(_run(speed)[1]) for speed in (0.7, 2.4, 3.6))
    none_down = {
        name: float(np.mean(c.sum(axis=1) == 0))
        for name, c in (("walk", walk), ("trot", trot), ("gallop", gallop))
    }
    # Walk: each foot down about two thirds of the time, never fewer than two feet down, and the
    # feet land one by one in the lateral sequence (left hind, left fore, right hind, right fore).
    assert 0.55 < walk.mean() < 0.8, walk.mean()
    assert walk.sum(axis=1).min() >= 2
    assert _together(walk, "LF", "RH") < 0.8
    assert _cyclic(_footfalls(walk), ("LH", "LF", "RH", "RF")), _footfalls(walk)
    # Trot: under half the time down, the diagonal pairs move together and against each other.
    assert 0.25 < trot.mean() < 0.5, trot.mean()
    assert _together(trot, "LF", "RH") > 0.95 and _together(trot, "RF", "LH") > 0.95
    assert _together(trot, "LF", "RF") < 0.3
    # Gallop (a dog's rotary gallop): each foot down under a third of the time; the hind feet land
    # close together, then the fore feet, the lead changing sides (left hind, right hind, right fore,
    # left fore), four separate beats, then a suspension with no foot down, longer than a trot's.
    assert 0.15 < gallop.mean() < 0.33, gallop.mean()
    assert _together(gallop, "LH", "RH") > 0.7 and _together(gallop, "LF", "RF") > 0.7
    assert _together(gallop, "LH", "RH") < 0.95 and _together(gallop, "LF", "RF") < 0.95
    assert _together(gallop, "LF", "RH") < 0.6, "a gallop is not a trot"
    assert _cyclic(_footfalls(gallop), ("LH", "RH", "RF", "LF")), _footfalls(gallop)
    assert none_down["walk"] == 0.0
    assert none_down["gallop"] > 0.15 and none_down["gallop"] > none_down["trot"], none_down


@pytest.mark.parametrize("speed_m_s", [0.7, 2.4, 3.6])
def test_a_paw_on_the_ground_does_not_slide(speed_m_s: float) -> None:
    ys, zs = _run(speed_m_s)
    down = _contacts(zs)
    both = down[1:] & down[:-1]
    slide = np.abs(np.diff(ys, axis=0))[both]
    assert both.sum() > 100
    # The body moves speed * dt each step (6-30 mm); a planted paw moves less than a millimetre.
    assert slide.max() < 0.001, slide.max()
    # And the swinging paws do move: the measure can tell.
    assert np.abs(np.diff(ys, axis=0))[~down[1:]].max() > speed_m_s * DT_S


def test_the_gait_changes_with_speed() -> None:
    top = NodePath("gait-names")
    dog = Dog(top, np.random.default_rng(1), "dog", "dog")
    seen = []
    for speed in (0.7, 2.4, 3.6, 2.4, 0.7):
        for _ in range(30):
            dog.update(DT_S, speed)
        seen.append(dog.gait.name)
    top.removeNode()
    assert seen == ["walk", "trot", "gallop", "trot", "walk"], seen


def test_the_dogs_climb_the_body_language_ladder_with_intensity() -> None:
    library = load_library([ROOT / "scenes"], [ROOT / "protocols"], contracts=contracts())
    spec = library.scene("dogs")
    top = NodePath("ladder-test")
    stage = Stage(top, clock=FakeClock(), rng_seed=4, shadow_size_px=0)
    rungs, tail_z, tongue = [], [], []
    for intensity in range(0, 101, 5):
        stage.load(spec, intensity=intensity) if intensity == 0 else stage.set_intensity(intensity)
        for _ in range(60):
            stage.update(1 / 30)
        dog = stage.scene.dogs[0].dog  # type: ignore[attr-defined]
        rungs.append(dog.rung)
        tail_z.append(dog.tail[-1].getPos(dog.body).z)
        tongue.append(not dog.tongue.isHidden())
    stage.destroy()
    top.removeNode()
    assert rungs == sorted(rungs), rungs
    assert rungs[0] == 0 and rungs[-1] == len(LADDER) - 1, rungs
    assert set(rungs) == set(range(len(LADDER))), "a rung of the ladder is never shown"
    # Calm dogs pant with a loose, low tail; a stiff, staring dog's mouth is shut and its tail high.
    first_stiff = rungs.index(2)
    assert tongue[0] and not tongue[first_stiff]
    assert tail_z[first_stiff] > tail_z[0] + 0.05
    assert [ladder_rung(a / 100) for a in range(101)] == sorted(ladder_rung(a / 100) for a in range(101))


def test_an_alert_dog_looks_at_the_patient() -> None:
    """From alert up, a dog facing the patient turns its head to them: the skull's forward axis
    points within 20 degrees of the patient's eyes (measured from the scene graph)."""
    stage, top, scene = _stage("medium-dog-alert")
    for _ in range(int(3.0 / DT_S)):
        stage.update(DT_S)
    dog = scene.dogs[0].dog
    assert dog.rung >= 1
    forward = top.getRelativeVector(dog.head, Vec3(0, 1, 0))
    to_eyes = Vec3(0, 0, stage.eye_height_m) - dog.head.getPos(top)
    forward.normalize()
    to_eyes.normalize()
    angle = math.degrees(math.acos(max(-1.0, min(1.0, forward.dot(to_eyes)))))
    stage.destroy()
    top.removeNode()
    assert angle < 20.0, angle


def test_a_far_dog_moves_every_other_frame_with_its_paws_planted() -> None:
    """A dog beyond FAR_M animates every other frame with both frames' time: it keeps its walking
    pace, holds still in between, and a paw on the ground stays put across its steps."""
    stage, top, scene = _stage("small-dog-far-lying")
    values = dict(library().scene("dogs").values_at(4))
    values.update(distance_m=9.0, movement=2.0, off_leash=1.0, dog_count=1.0)
    scene.apply(values)
    d = scene.dogs[0]
    assert math.hypot(d.walker.x, d.walker.y) > FAR_M
    for _ in range(60):
        stage.update(DT_S)
    roots, paws, clock, headings = [], [], [], []
    for _ in range(int(3.0 / DT_S)):
        stage.update(DT_S)
        roots.append(d.dog.root.getPos(top))
        paws.append([d.dog.paw_world(leg, top) for leg in LEGS])
        clock.append(d.dog.t_s)
        headings.append(d.dog.root.getH())
    stage.destroy()
    top.removeNode()
    ticks = np.diff(clock)
    assert np.allclose(ticks[ticks > 0], 2 * DT_S) and 0.45 < np.mean(ticks == 0) < 0.55, ticks[:8]
    assert not np.any((ticks[1:] == 0) & (ticks[:-1] == 0)), "two frames skipped in a row"
    steps = [(b - a).length() for a, b in zip(roots, roots[1:], strict=False)]
    pace = sum(steps) / (len(steps) * DT_S)
    assert 0.5 * WALK_M_S < pace <= WALK_M_S * 1.01, pace
    # On the straight (turning on the spot at each end swivels the feet with the body).
    slid = [
        (q - p).length()
        for i, (before, after) in enumerate(zip(paws, paws[1:], strict=False))
        if headings[i + 1] == headings[i]
        for p, q in zip(before, after, strict=True)
        if p.z < 1e-4 and q.z < 1e-4
    ]
    assert len(slid) > 100 and max(slid) < 0.001, max(slid)


def test_the_demo_runs_the_dogs_protocol_headless(tmp_path: Path) -> None:
    log = run_demo("dogs-graded", tmp_path / "sessions", minutes=0.5)
    assert_demo_climbed(log, "dogs", "dogs-graded")


def _stage(preset: str) -> tuple[Stage, NodePath, Any]:
    top = NodePath("dogs-test")
    stage = Stage(top, clock=FakeClock(), rng_seed=4, shadow_size_px=0)
    stage.load(library().scene("dogs"), preset=preset)
    for _ in range(30):
        stage.update(DT_S)
    assert stage.scene is not None
    return stage, top, stage.scene


def test_a_dog_jumps_up_at_the_patient_and_drops_back() -> None:
    """Rearing measured from the paws: the front paws rise and reach toward the patient while the
    hind paws stay on the ground, then the dog is back on all fours and the event ends."""
    stage, top, scene = _stage("large-dog")
    event = scene_spec_event("jump-up")
    scene.start_event("jump-up", event)
    d = scene.dogs[0]
    dog = d.dog
    standing_hip_m = dog.hip_height_m * dog.scale
    fore_z, hind_z, reach, rearing = [], [], [], []
    t = 0.0
    while scene.event_running("jump-up") and t < event.duration_s + 1.0:
        stage.update(DT_S)
        t += DT_S
        fore = [dog.paw_world(leg, top) for leg in ("LF", "RF")]
        hind = [dog.paw_world(leg, top) for leg in ("LH", "RH")]
        root = dog.root.getPos(top)
        fore_z.append(min(p.z for p in fore))
        hind_z.append(max(p.z for p in hind))
        # How much nearer the patient (the origin) the front paws are than the dog's feet.
        reach.append(math.hypot(root.x, root.y) - min(math.hypot(p.x, p.y) for p in fore))
        rearing.append(dog.rearing)
    assert not scene.event_running("jump-up") and t <= event.duration_s + 0.1, t
    up = np.array(rearing) > 0.9 * max(rearing)
    assert up.sum() > 20, "the dog never reared up"
    assert min(np.array(fore_z)[up]) > 1.5 * standing_hip_m, (min(np.array(fore_z)[up]), standing_hip_m)
    assert max(np.array(hind_z)[up]) < 0.01, "the hind feet left the ground"
    assert min(np.array(reach)[up]) > 0.3, "the front paws do not reach toward the patient"
    # And it came back down: the last frames stand on all fours.
    assert rearing[-1] < 0.05 and min(fore_z[-20:]) < 0.002
    stage.destroy()
    top.removeNode()


def scene_spec_event(name: str) -> Any:
    return library().scene("dogs").events[name]


def test_owners_walk_with_their_leashed_dogs_and_the_leash_stays_on() -> None:
    """Each frame, measured from the scene graph: the leash runs from the owner's hand to the dog's
    collar; the owner walks after the dog (moves, legs swinging) when it walks up to the patient."""
    stage, top, scene = _stage("medium-dog-walking")
    d = scene.dogs[0]
    assert d.leashed and not d.owner.root.isHidden() and not d.leash.isHidden()
    scene.start_event("walk-up-and-sniff", scene_spec_event("walk-up-and-sniff"))
    start = d.owner.root.getPos(top)
    gaps, swing, spans = [], [], []
    for _ in range(int(6.0 / DT_S)):
        stage.update(DT_S)
        hand_end, far_end = scene.leash_ends(0)
        hand = d.owner.hand.getPos(scene.root)
        collar = d.dog.collar.getPos(scene.root)
        gaps.append(max((hand_end - hand).length(), (far_end - collar).length()))
        swing.append(abs(d.owner.legs[0].getP()))
        spans.append((collar - hand).length())
    moved = (d.owner.root.getPos(top) - start).length()
    stage.destroy()
    top.removeNode()
    assert max(gaps) < 0.005, max(gaps)
    assert moved > 1.0, f"the owner stayed put ({moved:.2f} m) while the dog walked up"
    assert max(swing) > 10.0, "the owner's legs never swung"
    assert max(spans) < 2.6, max(spans)


def test_the_living_room_encloses_the_view_and_a_dog_comes_in_by_the_door(showbase: Any) -> None:
    """Rendered depth: at home nothing ahead, left or right is farther than the room is long (the
    far wall stands 6.2 m ahead, the door is shut); in the park most of the view is farther. The
    appearing dog comes through the doorway, which opens for it and is shut again afterwards."""
    view = DepthView(showbase, "dogs", size=(48, 48), near_m=0.05, far_m=100.0)
    try:
        seen = {}
        for preset in ("room-small-dog-far", "small-dog-leash-far"):
            view.load(preset=preset)
            looks = [view.look(heading, 5.0) for heading in (0.0, 90.0, -90.0)]
            seen[preset] = [float(np.mean(metres > 8.0)) for metres in looks]
        assert max(seen["room-small-dog-far"]) == 0.0, seen
        assert min(seen["small-dog-leash-far"]) > 0.4, seen
        view.load(preset="room-several-dogs")
        scene = view.stage.scene
        assert scene is not None
        dog = scene.hidden_dog
        event = scene_spec_event("appear-from-behind")
        scene.start_event("appear-from-behind", event)
        crossings, opening = [], []
        y_last = dog.walker.y
        t = 0.0
        while scene.event_running("appear-from-behind") and t < event.duration_s + 1.0:
            view.stage.update(DT_S)
            t += DT_S
            opening.append(scene.door.opening)
            y = dog.walker.y
            if (y - ROOM_Y[1]) * (y_last - ROOM_Y[1]) <= 0 and y != y_last:
                crossings.append(dog.walker.x)
            y_last = y
        assert crossings, "the dog never came through the far wall"
        assert all(abs(x - DOOR_X) < 0.4 for x in crossings), crossings
        assert max(opening) > 0.95 and opening[-1] < 0.1 and scene.door.opening == 0.0
        assert dog.dog.root.isHidden()
    finally:
        view.close()


def test_paws_and_collar_tags_sound_from_the_moving_dog_on_its_ground() -> None:
    """The synthesised sounds: claws on a floor are bright ticks, paws on grass dull thuds, the tags
    ring at a few high partials; each follows the nearest moving dog, on its own ground only."""
    floor, grass, tag = (synthesise(s) for s in ("paws-floor", "paws-grass", "collar-tag"))
    f = np.fft.rfftfreq(floor.size, 1.0 / RATE_HZ)

    def centroid(x: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(x)) ** 2
        return float((f * power).sum() / power.sum())

    assert centroid(floor) > 2000.0 > 600.0 > centroid(grass), (centroid(floor), centroid(grass))
    tag_power = np.abs(np.fft.rfft(tag)) ** 2
    band = (f > 2500) & (f < 9500)
    assert tag_power[band].sum() > 0.8 * tag_power.sum()
    for sound in (floor, grass, tag):
        assert np.abs(sound).max() > 0.3 and abs(sound[0] - sound[-1]) < 0.05  # loops seamlessly

    for preset, heard, hushed in (
        ("room-several-dogs", "paws-on-floor", "paws-on-grass"),
        ("several-dogs", "paws-on-grass", "paws-on-floor"),
    ):
        stage, top, scene = _stage(preset)
        for _ in range(60):
            stage.update(DT_S)
        nearest = min(
            (d for d in scene.shown if d.dog.speed_m_s > 0.05),
            key=lambda d: math.hypot(d.walker.x, d.walker.y),
        )
        on = scene.anchor(heard).getPos(nearest.dog.root)
        assert on.length() < 1e-3, f"{preset}: {heard} is not under the nearest moving dog"
        assert scene.anchor(hushed).getPos(top).z < -1000.0, f"{preset}: {hushed} is within hearing"
        tag_at = scene.anchor("nearest-collar").getPos(nearest.dog.collar)
        assert tag_at.length() < 1e-3
        stage.destroy()
        top.removeNode()
    stage, top, scene = _stage("small-dog-far-lying")  # a dog lying still: no paws, no tags
    for name in ("paws-on-floor", "paws-on-grass", "nearest-collar"):
        assert scene.anchor(name).getPos(top).z < -1000.0, name
    stage.destroy()
    top.removeNode()


_BARKER = textwrap.dedent(
    """
    import sys, time
    import msgspec
    from panda3d.core import loadPrcFileData
    loadPrcFileData("", "audio-library-name p3openal_audio\\nnotify-level-audio error\\n")
    from vr_exposure.core.loading import load_library
    from vr_exposure.renderer.builders import contracts
    from tests.renderer.wave_output import audio_stage

    heading, scenes, protocols = float(sys.argv[1]), sys.argv[2], sys.argv[3]
    spec = load_library([scenes], [protocols], contracts=contracts()).scene("dogs")
    spec = msgspec.structs.replace(spec, audio={"bark": spec.audio["bark"]}, events={})
    top, head, mgr, audio, stage = audio_stage()
    stage.load(spec, preset="small-dog-close")
    head.setPosHpr(0, 0, stage.eye_height_m, heading, 0, 0)
    audio.play("bark")
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        stage.update(1 / 60)
        time.sleep(1 / 60)
    print("PLAYING", audio.playing)
    stage.destroy()
    mgr.shutdown()
    """
)


def _bark(tmp_path: Path, heading_deg: float) -> np.ndarray:
    out = tmp_path / f"bark{heading_deg:+.0f}.wav"
    env = wave_env(tmp_path / "alsoft.conf", out)
    proc = subprocess.run(
        [sys.executable, "-c", _BARKER, str(heading_deg), str(ROOT / "scenes"), str(ROOT / "protocols")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    channels, bits, frames = _read_wav(out.read_bytes())
    assert channels == 2 and bits == 16
    return np.frombuffer(frames, dtype=np.int16).astype(np.float64).reshape(-1, 2)


def test_a_bark_is_louder_in_the_ear_facing_the_dog(tmp_path: Path) -> None:
    """The dog sits ahead; the patient turns the head left (the dog is then on the right) or right."""
    turned_left = _bark(tmp_path, 90.0)
    turned_right = _bark(tmp_path, -90.0)
    for data in (turned_left, turned_right):
        assert np.abs(data).max() > 0, "silent output"
    assert _rms(turned_left[:, 1]) > 1.5 * _rms(turned_left[:, 0]), "the dog on the right is not louder there"
    assert _rms(turned_right[:, 0]) > 1.5 * _rms(turned_right[:, 1]), (
        "the dog on the left is not louder there"
    )
