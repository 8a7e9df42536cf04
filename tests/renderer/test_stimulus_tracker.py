"""The stimulus positions the renderer journals for gaze and avoidance measures: the tagged nodes
that are shown, in tracking space, on a 10 Hz grid; found again on a scene change; one empty record
when the last one goes. Then through the app: a loaded spiders scene publishes where its spiders are."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from panda3d.core import NodePath

from vr_exposure.link import messages as m
from vr_exposure.renderer.stimulus_tracker import StimulusTracker

from .apphelpers import Console, running_app

MS = 1_000_000


def _graph() -> tuple[NodePath, NodePath, NodePath, NodePath]:
    render = NodePath("render")
    tracking = render.attachNewNode("tracking-space")
    tracking.setPos(1.0, 0.0, 0.0)
    a = render.attachNewNode("spider-00")
    a.setTag("stimulus", "spider")
    a.setPos(1.0, 2.0, 0.5)
    b = render.attachNewNode("room").attachNewNode("spider-01")
    b.setTag("stimulus", "spider")
    b.setPos(0.0, 3.0, 0.0)
    return render, tracking, a, b


def test_a_busy_frame_puts_a_sample_off_by_one_frame_and_keeps_the_10_hz_grid() -> None:
    render, tracking, _, _ = _graph()
    tracker = StimulusTracker(render, tracking)
    assert tracker.sample(0, 1000 * MS, scene_key="s1", defer=True) is not None  # the first: at once
    frame_ns = 11_111_111
    stamps = []
    for frame in range(1, 181):  # two seconds at 90 Hz, every frame busy
        t = 1000 * MS + frame * frame_ns
        if tracker.sample(frame, t, scene_key="s1", defer=True) is not None:
            stamps.append(t)
    # Each sample one frame after it was due, never two: still 10 a second on the same grid.
    assert len(stamps) in (19, 20)
    for t in stamps:
        late_ns = (t - 1000 * MS) % (100 * MS)
        assert frame_ns <= late_ns < 2 * frame_ns + MS, late_ns / MS


def test_positions_of_shown_stimuli_in_tracking_space_at_10_hz() -> None:
    render, tracking, a, b = _graph()
    b.getParent().hide()  # hidden through an ancestor: not shown
    tracker = StimulusTracker(render, tracking)
    first = tracker.sample(0, 1000 * MS, scene_key="s1")
    assert first is not None
    assert first["stimuli"] == [{"node": "spider-00", "tag": "spider", "position_m": (0.0, 2.0, 0.5)}]
    msgspec.convert(first, m.StimulusPositions)  # the declared telemetry type
    # 90 Hz frames for one second: about ten records, never two within less than a frame of 100 ms.
    stamps = [1000 * MS]
    for frame in range(1, 91):
        t = 1000 * MS + frame * 11_111_111
        if tracker.sample(frame, t, scene_key="s1") is not None:
            stamps.append(t)
    assert len(stamps) in (10, 11)
    assert min(b - a for a, b in zip(stamps, stamps[1:], strict=False)) > 88 * MS
    # Shown again: both; moved: the new place.
    b.getParent().show()
    a.setPos(2.0, 2.0, 0.5)
    rec = tracker.sample(100, 3000 * MS, scene_key="s1")
    assert rec is not None
    assert sorted((s["node"], s["position_m"]) for s in rec["stimuli"]) == [
        ("spider-00", (1.0, 2.0, 0.5)),
        ("spider-01", (-1.0, 3.0, 0.0)),
    ]
    # The last one goes: one empty record, then silence.
    a.hide()
    b.removeNode()
    assert tracker.sample(101, 4000 * MS, scene_key="s1") == {
        "frame": 101,
        "t_mono_ns": 4000 * MS,
        "stimuli": [],
    }
    assert tracker.sample(102, 5000 * MS, scene_key="s1") is None
    # A new scene: its nodes are found again (the cached ones are gone) and sampled at once.
    c = render.attachNewNode("spider-07")
    c.setTag("stimulus", "spider")
    assert tracker.sample(103, 5001 * MS, scene_key="s1") is None  # same scene: the cache holds
    rec = tracker.sample(104, 5002 * MS, scene_key="s2")
    assert rec is not None and [s["node"] for s in rec["stimuli"]] == ["spider-07"]
    assert rec["stimuli"][0]["position_m"] == pytest.approx((-1.0, 0.0, 0.0))


def test_the_app_publishes_where_the_spiders_are(showbase: Any) -> None:
    with running_app(showbase) as app, Console(showbase, app) as con:
        con.connect()
        assert con.request(m.LoadSceneRequest(scene="spiders", intensity=80)).status == "ok"
        con.step_until(lambda: app.settled, max_frames=3000, what="the scene faded in")

        def records() -> list[m.StimulusPositions]:
            return [e.content for e in con.events if isinstance(e.content, m.StimulusPositions)]

        settled = app.frame
        con.step_until(lambda: sum(r.frame > settled for r in records()) >= 3, max_frames=3000)
        shown = [n for n in showbase.render.findAllMatches("**/=stimulus") if not n.isHidden()]
        assert shown, "the spiders scene at intensity 80 shows spiders"
        # The next record is where the spiders are when it arrives (they walk: within a few cm).
        f0 = app.frame
        con.step_until(lambda: records()[-1].frame > f0, max_frames=600, what="a new stimulus record")
        last = records()[-1]
        where = {n.getName(): n.getPos(app.rig.tracking_space) for n in shown}
        assert {s.node for s in last.stimuli} == set(where)
        for s in last.stimuli:
            assert s.tag == "spider"
            assert s.position_m == pytest.approx(tuple(where[s.node]), abs=0.05)
