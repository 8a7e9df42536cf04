"""A prolonged-exposure session at the console, without Qt: the patient's hotspots in place of the
ladder, each move one request sequence through the rung path, journaled as ``hotspot_entered`` once the
renderer accepts it; probes every 300 s on a fake clock; and the report's figures per hotspot from that
journal, against a hand computation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from vr_exposure.console.controller import ConsoleController, ControllerError
from vr_exposure.console.hotspots import HotspotEditor, HotspotSession
from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library
from vr_exposure.link import messages as m
from vr_exposure.research.hotspots import hotspot_rows
from vr_exposure.research.report import build_report, session_data
from vr_exposure.research.timeline import load_timeline

from .test_controller import RecordingLink

PROTOCOL = "road-accident-prolonged"


@pytest.fixture(scope="module")
def library() -> Any:
    return load_library()


@pytest.fixture
def setup(library: Any, tmp_path: Path) -> tuple[ConsoleController, RecordingLink, FakeClock]:
    link = RecordingLink()
    clock = FakeClock()
    return ConsoleController(link, library, clock=clock, sessions_root=tmp_path / "sessions"), link, clock


def _records(session_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (session_dir / "console.jsonl").read_text().splitlines()]


def _build(c: ConsoleController) -> HotspotEditor:
    editor = HotspotEditor.open(c, "P042", PROTOCOL)
    editor.add("Dusk on the highway", preset="sunset")
    editor.add("Rain at night", preset="rain")
    editor.add("The crash", preset="heavy-traffic", intensity=72)
    editor.set_triggers(2, [("hard-braking", 1.0), ("collision", 0.8)])
    editor.move(1, 0)
    editor.move(0, 1)
    return editor


def test_no_hotspots_no_session_and_a_broken_file_is_named(setup):
    c, _, _ = setup
    with pytest.raises(ControllerError, match="P042 has no hotspots for road-accident-prolonged yet"):
        HotspotSession.start(c, "P042", protocol_id=PROTOCOL)
    assert c.session_dir is None
    editor = _build(c)
    editor.path.write_text(editor.path.read_text().replace("preset: rain", "preset: rian"))
    with pytest.raises(
        ControllerError, match=r'hotspots\[1\]\.preset: scene "road-accident" has no preset "rian"'
    ):
        HotspotSession.start(c, "P042", protocol_id=PROTOCOL)
    with pytest.raises(ControllerError, match="graded"):
        HotspotEditor.open(c, "P042", "road-accident-graded")


def test_moving_through_hotspots_journals_each_entry_and_the_report_has_each_figure(setup, library):
    c, link, clock = setup
    _build(c)
    session = HotspotSession.start(c, "P042", protocol_id=PROTOCOL)
    assert [r.title for r in session.steps][1:] == ["Dusk on the highway", "Rain at night", "The crash"]
    c.begin_exposure()
    (load,) = link.of(m.LoadSceneRequest)
    assert (load.scene, load.preset) == ("road-accident", "passenger-village")
    link.answer(c)
    due: list[float] = []

    def run(seconds: int, rate: int) -> None:
        for _ in range(seconds):
            clock.advance(1.0)
            c.tick()
            for probe_id in list(c.open_probes):
                due.append(c.session_time_s())
                c.record_suds(rate, probe_id=probe_id)

    ratings = {0: [20], 1: [60, 40], 2: [70, 50, 30], 3: [90, 80, 40, 30]}
    plan = [(0, 300), (1, 600), (2, 900), (3, 1200)]
    for step, seconds in plan:
        if step:
            msg_id = session.go_to(step)
            preset = link.sent[-1]
            assert isinstance(preset, m.ApplyPresetRequest) and preset.preset == session.steps[step].preset
            link.answer(c)
            if step == 3:  # a hotspot with its own intensity: once the preset is applied, that intensity
                assert isinstance(link.sent[-1], m.SetIntensityRequest) and link.sent[-1].intensity == 72
                link.answer(c)
            assert c.engine.rung == step and session.entered[-1] == step
            assert msg_id is not None
        for value in ratings[step]:
            run(seconds // len(ratings[step]), value)
    assert [t - due[0] for t in due] == [300.0 * i for i in range(len(due))]
    assert len(due) == 10
    assert session.triggers() == session.hotspots[2].triggers
    session.fire(session.triggers()[1])
    assert link.sent[-1] == m.TriggerEventRequest(event="collision", strength=0.8)
    link.answer(c)
    summary = c.end_session()
    assert "The crash" in summary["table"] and "expected" not in summary["table"]
    session_dir = c.close_session()
    records = _records(session_dir)
    entered = [r for r in records if r["msg_type"] == "hotspot_entered"]
    assert [(e["content"]["step"], e["content"]["name"]) for e in entered] == [
        (0, "Passenger, village (before the account begins)"),
        (1, "Dusk on the highway"),
        (2, "Rain at night"),
        (3, "The crash"),
    ]
    assert entered[3]["content"]["intensity"] == 72
    assert entered[3]["content"]["triggers"] == [
        {"event": "hard-braking", "strength": 1.0},
        {"event": "collision", "strength": 0.8},
    ]
    rung_changes = {
        r["parent_header"]["msg_id"]
        for r in records
        if r["msg_type"] == "rung_changed" and r["parent_header"]
    }
    assert {e["parent_header"]["msg_id"] for e in entered[1:]} == rung_changes
    assert not [r for r in records if r["msg_type"] == "advice_given"]

    tl = load_timeline(session_dir)
    rows = hotspot_rows(tl, library.protocol(PROTOCOL))
    # By hand: each step's ratings in order; peak = max, end = last; time = the seconds spent there.
    assert [(r.name, r.n_ratings, r.peak, r.end, r.entries, round(r.time_s)) for r in rows] == [
        ("Passenger, village (before the account begins)", 1, 20, 20, 1, 300),
        ("Dusk on the highway", 2, 60, 40, 1, 600),
        ("Rain at night", 3, 70, 30, 1, 900),
        ("The crash", 4, 90, 30, 1, 1200),
    ]
    sd = session_data(tl, library.protocol(PROTOCOL))
    assert [(h["name"], h["peak"], h["end"]) for h in sd["hotspots"]][3] == ("The crash", 90, 30)
    html = build_report([tl], library=library)
    assert "SUDS per hotspot" in html and "The crash" in html and "SUDS per rung" not in html
    assert "through 3 of 3 of the patient" in html
    assert "none: prolonged exposure, the start state and the patient&#x27;s 3 hotspots" in html


def test_an_edit_during_the_session_is_saved_and_journaled_for_the_next(setup):
    c, link, _ = setup
    _build(c)
    session = HotspotSession.start(c, "P042", protocol_id=PROTOCOL)
    c.begin_exposure()
    link.answer(c)
    c.on_snapshot(
        m.RendererState(
            scene="road-accident", preset="night", target_intensity=58.0, intensity=58.0, mode="running"
        )
    )
    editor = HotspotEditor.open(c, "P042", PROTOCOL)
    editor.add("The hospital")
    assert editor.hotspots[-1].preset == "night" and editor.hotspots[-1].intensity == 58.0
    assert len(session.steps) == 4  # the running session keeps its steps
    c.end_session()
    records = _records(c.close_session())
    (changed,) = [r for r in records if r["msg_type"] == "hotspots_changed"]
    assert changed["content"]["edit"] == "add" and len(changed["content"]["hotspots"]) == 4
    assert "The hospital" in editor.path.read_text()


def test_after_a_reconnect_a_hotspot_with_its_own_intensity_gets_its_preset_and_intensity(setup):
    """A reconnection must not put a hotspot at its own intensity back to its preset's (a resync sent
    only the preset, and the patient's hotspot lost the intensity the therapist gave it)."""
    c, link, _ = setup
    _build(c)
    session = HotspotSession.start(c, "P042", protocol_id=PROTOCOL)
    c.begin_exposure()
    link.answer(c)
    session.go_to(3)
    link.answer(c)
    link.answer(c)  # the hotspot's own intensity, sent once its preset was applied
    sid = c.session_id
    link.sent.clear()
    # In agreement: the preset was left for the hotspot's own intensity.
    state = m.RendererState(
        session_id=sid, scene="road-accident", preset=None, intensity=72, target_intensity=72, mode="running"
    )
    c.on_snapshot(state, "inst-a")
    assert not link.sent
    # Set back to the preset's 68 meanwhile: the preset, then the hotspot's 72, both journaled.
    c.on_snapshot(msgspec.structs.replace(state, preset="heavy-traffic", target_intensity=68), "inst-a")
    apply, intensity = link.sent
    assert isinstance(apply, m.ApplyPresetRequest) and apply.preset == "heavy-traffic"
    assert isinstance(intensity, m.SetIntensityRequest) and intensity.intensity == 72
    c.end_session()
    resynced = [
        r["content"]["sent"] for r in _records(c.close_session()) if r["msg_type"] == "renderer_resynced"
    ]
    assert resynced == [{"preset": "heavy-traffic", "ramp_s": 2.0}, {"intensity": 72.0, "ramp_s": 2.0}]


def test_a_refused_intensity_of_a_hotspot_is_a_refusal_with_a_retry(setup):
    """The preset applied, its own intensity refused (a fade began meanwhile): journaled as
    command_failed, offered again, and the retry gives the hotspot its intensity."""
    c, link, _ = setup
    _build(c)
    session = HotspotSession.start(c, "P042", protocol_id=PROTOCOL)
    events: list[Any] = []
    c.subscribe(events.append)
    c.begin_exposure()
    link.answer(c)
    session.go_to(3)
    link.answer(c)
    assert c.engine.rung == 3
    link.answer(c, refuse="a scene change is fading through black")
    (refused,) = [e for e in events if e.kind == "refused"]
    assert refused["action"] == "intensity" and refused["verb"] == "set_intensity"
    c.retry(refused["token"])
    assert link.sent[-1] == m.SetIntensityRequest(intensity=72, ramp_s=2.0)
    link.answer(c)
    assert c.engine.intensity == 72 and c._free_intensity is None  # the hotspot's preset stays in force
    c.end_session()
    records = _records(c.close_session())
    (failed,) = [r for r in records if r["msg_type"] == "command_failed"]
    assert failed["content"]["requested"] == {
        "kind": "intensity",
        "rung": 3,
        "intensity": 72.0,
        "ramp_s": 2.0,
    }
