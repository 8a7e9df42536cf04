"""The people block's rig, measured from the scene graph: each reaction moves the joints it should
(and not the others), two people never move in lockstep, and a head turns to face a given point."""

from __future__ import annotations

import numpy as np
import pytest
from panda3d.core import NodePath, Vec3

from vr_exposure.renderer.blocks.people import GESTURES, Figure, facing_share

pytestmark = pytest.mark.renderer

DT = 1 / 30


def _figure(seed: int = 1, *, seated: bool = True) -> tuple[NodePath, Figure]:
    root = NodePath("scene")
    person = Figure(root, rng=np.random.default_rng(seed), seated=seated)
    person.root.setPos(0.0, 3.0, 0.0)
    person.root.setH(180.0)  # facing the origin
    return root, person


def _hand(person: Figure, k: int, frame: NodePath) -> Vec3:
    """The centre of hand ``k`` (0 left, 1 right) in ``frame``."""
    return frame.getRelativePoint(person.elbows[k], Vec3(0, 0, -0.3 * person.scale))


def _joints(person: Figure) -> dict[str, tuple[float, ...]]:
    def q(np_: NodePath) -> tuple[float, ...]:
        quat = np_.getQuat()
        return tuple(round(float(c), 3) for c in (quat.getR(), quat.getI(), quat.getJ(), quat.getK()))

    return {
        "neck": q(person.neck),
        "arm-left": q(person.arms[0]) + q(person.elbows[0]),
        "arm-right": q(person.arms[1]) + q(person.elbows[1]),
    }


def _during(person: Figure, name: str, at_s: float, duration_s: float = 3.0, **kw: float) -> None:
    person.gesture(name, duration_s, **kw)
    for _ in range(int(at_s / DT)):
        person.update(DT)


@pytest.mark.parametrize(
    ("name", "moves", "still"),
    [
        ("nod", {"neck"}, {"arm-left", "arm-right"}),
        ("cough", {"arm-right"}, {"arm-left"}),
        ("yawn", {"arm-left", "neck"}, {"arm-right"}),
        ("applause", {"arm-left", "arm-right"}, set()),
        ("frown", {"arm-left", "arm-right"}, set()),
        ("raise-hand", {"arm-right"}, {"arm-left"}),
        ("phone", {"arm-right", "neck"}, {"arm-left"}),
        ("whisper", {"arm-right", "neck"}, {"arm-left"}),
        ("listen", {"neck"}, {"arm-left", "arm-right"}),
    ],
)
def test_a_reaction_moves_the_joints_it_should(name: str, moves: set[str], still: set[str]) -> None:
    _, idle = _figure()
    _, acting = _figure()
    for p in (idle, acting):
        p.look_ahead()
        p.update(0.0)
    acting.gesture(name, 3.0, side=1.0)
    for _ in range(int(1.5 / DT)):
        idle.update(DT)
        acting.update(DT)
    a, b = _joints(idle), _joints(acting)
    changed = {j for j in a if np.abs(np.array(a[j]) - np.array(b[j])).max() > 0.02}
    assert moves <= changed, f"{name}: moved {changed}, expected at least {moves}"
    assert not (still & changed), f"{name}: moved {changed & still}, which it should leave alone"
    for _ in range(int(2.0 / DT)):
        acting.update(DT)
    assert acting.gesturing is None, f"{name} did not end"


def test_reactions_put_the_hands_where_a_person_would() -> None:
    root, person = _figure()
    mouth_z = person.neck.getPos(root).z + 0.085
    _during(person, "cough", 1.2)
    hand = _hand(person, 1, root)
    # Coughing: the right hand is in front of the mouth (within a hand's breadth).
    mouth = root.getRelativePoint(person.neck, Vec3(0, 0.1, 0.085))
    assert (hand - mouth).length() < 0.1 and abs(hand.z - mouth_z) < 0.1
    root, person = _figure()
    _during(person, "applause", 0.8)
    # Clapping: both hands in front of the chest, meeting and parting.
    gaps = []
    for _ in range(int(1.0 / DT)):
        person.update(DT)
        left, right = _hand(person, 0, root), _hand(person, 1, root)
        gaps.append((left - right).length())
        for hand in (left, right):
            local = person.torso.getRelativePoint(root, hand)
            assert local.y > 0.15 and 0.1 < local.z < 0.5 * person.scale
    assert min(gaps) < 0.07 and 0.12 < max(gaps) < 0.25, gaps
    root, person = _figure()
    head_top = person.neck.getTightBounds(root)[1].z
    _during(person, "raise-hand", 1.5)
    assert _hand(person, 1, root).z > head_top
    root, person = _figure()
    _during(person, "frown", 1.5, duration_s=4.0)
    left, right = _hand(person, 0, root), _hand(person, 1, root)
    # Arms crossed: each hand is on the other side of the body's middle.
    x_left = person.root.getRelativePoint(root, left).x
    x_right = person.root.getRelativePoint(root, right).x
    assert x_left > 0.05 and x_right < -0.05


def test_two_people_do_not_move_in_lockstep() -> None:
    _, a = _figure(3)
    _, b = _figure(4)
    tracks: list[list[float]] = [[], []]
    for _ in range(int(20 / DT)):
        for k, p in enumerate((a, b)):
            p.update(DT)
            h, pitch, r = p.neck.getHpr()
            tracks[k].append(h + p.torso.getP() + p.torso.getSz() * 50)
    x, y = np.array(tracks[0]), np.array(tracks[1])
    assert x.std() > 0.1 and y.std() > 0.1, "nobody moves at rest"
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.8, "two people sway and breathe in step"
    # And the same reaction started together plays out differently (own rates).
    a.gesture("applause", 3.0)
    b.gesture("applause", 3.0)
    gaps = []
    for _ in range(int(1.5 / DT)):
        a.update(DT)
        b.update(DT)
        gaps.append(abs(a.elbows[0].getP() - b.elbows[0].getP()))
    assert max(gaps) > 5.0, "two people clap in step"


def test_the_head_turns_to_face_a_given_point() -> None:
    root, person = _figure()
    person.root.setPos(1.5, 3.5, 0.0)
    eye = Vec3(0.0, 0.0, 1.7)
    person.look_at(eye, root)
    for _ in range(int(2.0 / DT)):
        person.update(DT)
    assert facing_share([person], eye, root, within_deg=10.0) == 1.0
    # The face's forward axis points at the eye within a few degrees (idle sway included).
    head = root.getRelativePoint(person.neck, Vec3(0, 0, 0.13))
    forward = root.getRelativeVector(person.neck, Vec3(0, 1, 0)).normalized()
    to_eye = (eye - head).normalized()
    assert forward.dot(to_eye) > np.cos(np.radians(8.0))
    person.look_away(50.0, -10.0)
    for _ in range(int(2.0 / DT)):
        person.update(DT)
    assert facing_share([person], eye, root, within_deg=20.0) == 0.0


def test_every_gesture_is_known_and_building_a_figure_is_modest() -> None:
    root, person = _figure()
    draws = tris = 0
    for path in root.findAllMatches("**/+GeomNode"):
        if path.isHidden() or any(p.isHidden() for p in path.getAncestors()):
            continue
        for i in range(path.node().getNumGeoms()):
            draws += 1
            geom = path.node().getGeom(i)
            tris += sum(geom.getPrimitive(k).getNumFaces() for k in range(geom.getNumPrimitives()))
    assert draws <= 8 and tris <= 5000, (draws, tris)
    for name in GESTURES:
        person.gesture(name, 0.5)
        for _ in range(20):
            person.update(DT)
        assert person.gesturing is None


def test_an_update_schedule_spreads_a_crowd_over_frames_and_loses_no_time() -> None:
    from vr_exposure.renderer.blocks.people import UpdateSchedule, update_interval_s

    assert update_interval_s(2.0) < update_interval_s(6.0) < update_interval_s(12.0)
    n = 40
    schedule = UpdateSchedule(n)
    for k in range(n):
        schedule.set_interval(k, update_interval_s(2.0 if k < 10 else 12.0))
    dt = 1 / 90
    stepped = [0.0] * n
    updates = [0] * n
    per_frame = []
    for _ in range(900):  # ten seconds at 90 Hz
        due = schedule.due(dt, range(n))
        per_frame.append(len(due))
        for k, step in due:
            assert step > 0.0
            stepped[k] += step
            updates[k] += 1
    # Near figures at about 45 Hz, far ones at about 22.5 Hz.
    assert all(430 <= u <= 460 for u in updates[:10]), updates[:10]
    assert all(215 <= u <= 235 for u in updates[10:]), updates[10:]
    # Each figure stepped through all of the time, up to its last update.
    assert all(10.0 - 1 / 20 <= s <= 10.0 + 1e-6 for s in stepped), stepped
    # Spread evenly: every frame moves about the average share (5 near + 7.5 far a frame).
    assert max(per_frame[8:]) <= 15, max(per_frame[8:])
    assert min(per_frame[8:]) >= 10, min(per_frame[8:])
    # Settled figures (only idle motion left) move at half their rate, still spread evenly.
    half = [0] * n
    counts = []
    for _ in range(900):
        due = schedule.due(dt, range(n), settled=lambda k: True)
        counts.append(len(due))
        for k, _ in due:
            half[k] += 1
    assert all(215 <= u <= 235 for u in half[:10]), half[:10]
    assert all(105 <= u <= 120 for u in half[10:]), half[10:]
    assert max(counts[8:]) <= 8 and min(counts[8:]) >= 5, (min(counts[8:]), max(counts[8:]))
    # Below the figures' rate, every figure moves every frame.
    slow = UpdateSchedule(3, 1 / 45)
    for _ in range(5):
        assert [k for k, _ in slow.due(1 / 20, range(3))] == [0, 1, 2]
