"""The ``public-speaking`` scene, measured from the scene graph and rendered: the seats fill as
``audience`` says, the share of faces turned to the speaker follows ``gaze`` (in the graph and in
the rendered pixels of faces against backs of heads), ``attention`` slumps and folds the
audience, a walk-out walks someone to the door and away and ends, and the demo runs the graded
protocol headless. The scene's clock is stepped, never waited for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from panda3d.core import Geom, GeomNode, GeomTriangles, GeomVertexReader, NodePath, Vec3

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library
from vr_exposure.core.specs import Preset
from vr_exposure.renderer.blocks.people import facing_share
from vr_exposure.renderer.builders import contracts
from vr_exposure.renderer.stage import Stage

from .apphelpers import run_demo

pytestmark = pytest.mark.renderer

ROOT = Path(__file__).resolve().parents[2]
DT = 1 / 30
LIBRARY = load_library([ROOT / "scenes"], [ROOT / "protocols"], contracts=contracts())
SPEC = LIBRARY.scene("public-speaking")


def _stage(**values: float) -> tuple[NodePath, Stage]:
    """The scene at intensity 50 with ``values`` pinned (a preset's overrides)."""
    spec = msgspec.structs.replace(SPEC, presets={"test": Preset(intensity=50, overrides=values)})
    top = NodePath("public-speaking-test")
    stage = Stage(top, clock=FakeClock(), rng_seed=3, shadow_size_px=0)
    stage.load(spec, preset="test")
    return top, stage


def _step(stage: Stage, seconds: float) -> None:
    for _ in range(int(seconds / DT)):
        stage.update(DT)


def _shown(stage: Stage) -> list[NodePath]:
    assert stage.scene is not None
    return [p for p in stage.scene.root.findAllMatches("**/=stimulus=audience") if not p.isHidden()]


def test_the_seats_fill_as_the_audience_parameter_says() -> None:
    for room, audience, expected in ((0, 0, 0), (0, 3, 3), (0, 30, 10), (1, 18, 18), (2, 40, 40)):
        top, stage = _stage(room_size=room, audience=audience, curtain=0, reaction_rate=0)
        _step(stage, 0.2)
        assert len(_shown(stage)) == expected, (room, audience)
        # Each seated person is in the room, ahead of the lectern, and no two share a seat.
        where = [p.getPos(top) for p in _shown(stage)]
        assert all(w.y > 1.5 for w in where)
        assert len({(round(w.x, 2), round(w.y, 2)) for w in where}) == len(where)
        stage.destroy()


def test_the_share_of_faces_turned_to_the_speaker_follows_gaze() -> None:
    shares = []
    for gaze in (0.0, 0.5, 1.0):
        top, stage = _stage(room_size=1, audience=24, curtain=0, gaze=gaze, attention=1, reaction_rate=0)
        _step(stage, 3.0)
        scene = stage.scene
        eye = Vec3(0.0, 0.0, stage.eye_height_m)
        shares.append(facing_share(scene.people, eye, top, within_deg=15.0))  # type: ignore[attr-defined]
        stage.destroy()
    assert shares[0] < 0.15 and shares[2] > 0.85 and shares[0] < shares[1] < shares[2], shares


def _split_faces(person: Any) -> None:
    """Split ``person``'s head mesh into the front of the face (tagged ``part=face``) and the rest
    (``part=back``), same vertices and state, so a render can tell faces from backs of heads."""
    head = person.neck.find("head")
    node = head.node()
    for g in range(node.getNumGeoms()):
        geom = node.getGeom(g)
        vdata = geom.getVertexData()
        reader = GeomVertexReader(vdata, "vertex")
        points = []
        while not reader.isAtEnd():
            v = reader.getData3()
            points.append((v.x, v.y, v.z))
        pts = np.asarray(points)
        tris = np.concatenate(
            [
                np.asarray([prim.getVertex(i) for i in range(prim.getNumVertices())]).reshape(-1, 3)
                for prim in (geom.getPrimitive(k).decompose() for k in range(geom.getNumPrimitives()))
            ]
        )
        centre = pts[tris].mean(axis=1)
        s = person.scale
        front = (centre[:, 1] > 0.07 * s) & (centre[:, 2] > 0.06 * s)  # +y is where the face points
        for part, chosen in (("face", front), ("back", ~front)):
            prim = GeomTriangles(Geom.UHStatic)
            for a, b, c in tris[chosen]:
                prim.addVertices(int(a), int(b), int(c))
            piece = Geom(vdata)
            piece.addPrimitive(prim)
            out = GeomNode(f"head-{part}")
            out.addGeom(piece, node.getGeomState(g))
            path = head.getParent().attachNewNode(out)
            path.setTransform(head.getTransform())
            path.setTag("part", part)
    head.removeNode()


def test_the_rendered_share_of_faces_turned_to_the_camera_rises_with_gaze(showbase: Any) -> None:
    """Rendered from the speaker's eyes: the pixels of the fronts of faces, against those of all the
    heads, rise with ``gaze`` (depth-tested, so a face hidden behind another head does not count)."""
    from vr_exposure.renderer.still import OffscreenView

    shares = []
    for gaze in (0.0, 0.5, 1.0):
        top, stage = _stage(room_size=1, audience=24, curtain=0, gaze=gaze, attention=1, reaction_rate=0)
        _step(stage, 3.0)
        for person in stage.scene.people:  # type: ignore[attr-defined]
            _split_faces(person)
        view = OffscreenView(
            top,
            size=(320, 180),
            fov_deg=90.0,
            engine=showbase.graphicsEngine,
            pipe=showbase.pipe,
            host=showbase.win,
        )
        try:
            view.camera.setPos(0.0, 0.0, stage.eye_height_m)
            view.camera.lookAt(0.0, 6.0, 1.1)
            faces = int(view.render_mask("face", tag_key="part").sum())
            backs = int(view.render_mask("back", tag_key="part").sum())
        finally:
            view.close()
            stage.destroy()
        assert faces + backs > 800, "the heads are not in the speaker's view"
        shares.append(faces / (faces + backs))
    assert shares[0] < shares[1] < shares[2], shares
    assert shares[2] > 1.6 * shares[0], shares


def test_attention_slumps_and_folds_the_audience() -> None:
    """Interested people lean in, bored ones sink back, hostile ones fold their arms."""
    lean, hands_apart = {}, {}
    for attention in (0.0, 2.0, 3.0):
        top, stage = _stage(room_size=1, audience=24, curtain=0, attention=attention, reaction_rate=0)
        _step(stage, 2.0)
        people = stage.scene.people[:24]  # type: ignore[attr-defined]
        lean[attention] = float(np.mean([p.torso.getP() for p in people]))
        crossed = 0
        for p in people:
            left = p.root.getRelativePoint(p.elbows[0], Vec3(0, 0, -0.3))
            crossed += int(left.x > 0.0)  # the left hand over on the right side
        hands_apart[attention] = crossed / len(people)
        stage.destroy()
    # Torso pitch: negative is leaning forward.
    assert lean[0.0] < -2.0 < lean[2.0], lean
    assert hands_apart[0.0] == 0.0 and hands_apart[3.0] > 0.6, hands_apart


def test_hands_go_up_for_question_time() -> None:
    shares = []
    for hands in (0.0, 0.5):
        top, stage = _stage(room_size=2, audience=40, curtain=0, hands_up=hands, reaction_rate=0)
        _step(stage, 2.0)
        people = stage.scene.people  # type: ignore[attr-defined]
        up = 0
        for p in people:
            hand = top.getRelativePoint(p.elbows[1], Vec3(0, 0, -0.3))
            up += int(hand.z > p.neck.getPos(top).z + 0.2)  # the right hand above the head
        shares.append(up / len(people))
        stage.destroy()
    assert shares[0] == 0.0 and 0.35 < shares[1] < 0.65, shares


def test_the_audience_reacts_of_its_own_accord_as_its_mood_says() -> None:
    """At the same reaction rate, an interested audience nods and a bored one yawns, looks at phones
    and slumps; with no reaction rate nobody reacts."""
    kinds: dict[float, dict[str, int]] = {}
    for attention, rate in ((0.0, 30.0), (2.0, 30.0), (1.0, 0.0)):
        top, stage = _stage(room_size=1, audience=24, curtain=0, attention=attention, reaction_rate=rate)
        people = stage.scene.people[:24]  # type: ignore[attr-defined]
        seen: dict[str, int] = {}
        doing = [None] * len(people)
        for _ in range(int(90 / DT)):
            stage.update(DT)
            for k, p in enumerate(people):
                if p.gesturing is not None and p.gesturing != doing[k]:
                    seen[p.gesturing] = seen.get(p.gesturing, 0) + 1
                doing[k] = p.gesturing
        kinds[attention] = seen
        stage.destroy()
    interested, bored, still = kinds[0.0], kinds[2.0], kinds[1.0]
    assert still == {}, still
    assert sum(interested.values()) >= 20 and sum(bored.values()) >= 20, kinds
    assert interested.get("nod", 0) > sum(interested.values()) / 3, interested
    bored_kinds = bored.get("yawn", 0) + bored.get("phone", 0) + bored.get("bored", 0)
    assert bored_kinds > sum(bored.values()) / 3 and bored.get("nod", 0) < interested.get("nod", 0), kinds


def test_applause_strength_is_the_share_who_clap() -> None:
    clapping = {}
    for strength in (0.2, 1.0):
        top, stage = _stage(room_size=1, audience=24, curtain=0, reaction_rate=0)
        _step(stage, 0.2)
        stage.trigger_event("applause", strength=strength)
        _step(stage, 1.5)
        people = stage.scene.people[:24]  # type: ignore[attr-defined]
        clapping[strength] = sum(p.gesturing == "applause" for p in people)
        _step(stage, 4.0)
        assert not stage.scene.event_running("applause")  # type: ignore[union-attr]
        stage.destroy()
    assert clapping[1.0] == 24 and 3 <= clapping[0.2] <= 7, clapping


def test_someone_walks_out_through_the_door_and_the_seat_stays_empty() -> None:
    top, stage = _stage(room_size=1, audience=12, curtain=0, reaction_rate=0)
    _step(stage, 0.5)
    scene = stage.scene
    assert scene is not None
    before = len(_shown(stage))
    stage.trigger_event("walk-out", strength=1.0)
    walker = next(w for w in scene.walkers if not w.root.isHidden())  # type: ignore[attr-defined]
    start = walker.root.getPos(top)
    seen_door = False
    for _ in range(int(12 / DT)):
        stage.update(DT)
        if walker.root.isHidden():
            break
        seen_door = seen_door or scene.rooms[1].door.opening > 0.5  # type: ignore[attr-defined]
        last = walker.root.getPos(top)
    assert not scene.event_running("walk-out")
    assert seen_door, "the door never opened"
    assert last.x > 4.0 and (last - start).length() > 3.0, (start, last)
    assert len(_shown(stage)) == before - 1  # the walker gone, the seat empty
    stage.destroy()


def test_the_curtain_hides_the_audience_until_it_opens() -> None:
    top, stage = _stage(room_size=1, audience=15, curtain=1, reaction_rate=0)
    _step(stage, 0.2)
    scene = stage.scene
    assert scene is not None
    closed = [p.getSx() for p in scene.panels]  # type: ignore[attr-defined]
    stage.trigger_event("curtain-opens")
    _step(stage, 4.5)
    opened = [p.getSx() for p in scene.panels]  # type: ignore[attr-defined]
    assert not scene.event_running("curtain-opens")
    assert all(o < c * 0.3 for o, c in zip(opened, closed, strict=True)), (closed, opened)
    stage.destroy()


def test_the_demo_runs_the_public_speaking_protocol_headless(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    log = run_demo("public-speaking-graded", sessions, 0.3)
    loaded = [r.content["scene"] for r in log.by_type("scene_loaded") if r.process == "renderer"]
    assert "public-speaking" in loaded
    assert log.by_type("suds_recorded"), "no SUDS rating recorded"
    assert log.by_type("rung_changed"), "the therapist never moved up the ladder"
    fired = {r.content["event"] for r in log.by_type("event_fired")}
    assert fired <= set(SPEC.events), fired
    assert log.manifest is not None and log.manifest.protocol == "public-speaking-graded"
