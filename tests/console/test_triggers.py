"""The console's triggers and event schedules without a renderer: what the controller asks, what it
journals once the renderer accepts, the rung's schedules started and ended with the rung, and the
schedules restored after a renderer restart (and not after a blip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.console.test_controller import RecordingLink, _records
from vr_exposure.console.controller import ConsoleController, ControllerError
from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library
from vr_exposure.link import messages as m

HIGHWAY = 4  # road-accident-graded: lorries overtake by themselves on this rung


@pytest.fixture(scope="module")
def library() -> Any:
    return load_library()


@pytest.fixture
def setup(library: Any, tmp_path: Path) -> tuple[ConsoleController, RecordingLink, FakeClock, Path]:
    link = RecordingLink()
    clock = FakeClock()
    c = ConsoleController(link, library, clock=clock, sessions_root=tmp_path / "sessions")
    session_dir = c.start_session("P042", protocol_id="road-accident-graded")
    c.prepare_rung(HIGHWAY)
    c.begin_exposure()
    return c, link, clock, session_dir


def _since(link: RecordingLink, mark: int, cls: type) -> list[Any]:
    return [s for s in link.sent[mark:] if isinstance(s, cls)]


def _content(session_dir: Path, msg_type: str) -> list[dict[str, Any]]:
    return [r["content"] for r in _records(session_dir) if r["header"]["msg_type"] == msg_type]


def test_a_rungs_schedule_starts_with_the_rung_and_is_recorded_once_accepted(setup) -> None:
    c, link, clock, session_dir = setup
    (load,) = link.of(m.LoadSceneRequest)
    (start,) = link.of(m.StartScheduleRequest)
    assert link.sent.index(load) < link.sent.index(start), "after the scene, so it belongs to it"
    assert (start.event, start.every_s, start.strength, start.scope) == (
        "truck-overtakes",
        (45, 120),
        0.6,
        "rung",
    )
    assert not _content(session_dir, "event_schedule_started"), "not before the renderer accepts it"
    link.answer(c)
    (record,) = _content(session_dir, "event_schedule_started")
    assert record["schedule_id"] == start.schedule_id and record["rung"] == HIGHWAY
    assert record["every_s"] == [45, 120] and record["strength"] == 0.6
    assert list(c.schedules) == [start.schedule_id]
    # Another rung: the renderer ended this rung's schedule; the next rung's (none here) start.
    mark = len(link.sent)
    c.apply_rung(HIGHWAY + 1)
    link.answer(c)
    assert c.schedules == {} and not _since(link, mark, m.StartScheduleRequest)
    c.apply_rung(9)  # aggressive drivers: cars cut in by themselves
    link.answer(c)
    (cuts,) = _since(link, mark, m.StartScheduleRequest)
    assert (cuts.event, cuts.every_s, cuts.strength) == ("car-cuts-in", (60, 180), 1.0)


def test_triggers_go_out_at_the_strength_set_and_every_setting_is_journaled(setup) -> None:
    c, link, clock, session_dir = setup
    link.answer(c)
    c.set_trigger_strength("siren-passes", 0.3)
    c.set_trigger_strength("siren-passes", 0.3)  # no change, no record
    c.trigger_event("siren-passes")
    (trigger,) = link.of(m.TriggerEventRequest)
    assert trigger.strength == 0.3
    link.answer(c)
    assert _content(session_dir, "trigger_strength_set") == [
        {"event": "siren-passes", "strength": 0.3, "session_s": pytest.approx(0.0, abs=1)}
    ]
    (fired,) = _content(session_dir, "event_triggered")
    assert (fired["event"], fired["strength"]) == ("siren-passes", 0.3)
    with pytest.raises(ControllerError, match="0-1"):
        c.trigger_event("siren-passes", 1.5)
    with pytest.raises(ControllerError, match="repeat window"):
        c.start_schedule("siren-passes", every_s=(90, 30))


def test_the_therapists_repeat_and_stop_all_are_journaled(setup) -> None:
    c, link, clock, session_dir = setup
    link.answer(c)
    c.start_schedule("siren-passes", every_s=(30, 90), strength=0.5)
    own = link.of(m.StartScheduleRequest)[-1]
    assert own.scope == "session" and own.strength == 0.5
    link.answer(c)
    assert len(c.schedules) == 2
    c.on_fact(m.EventFired(event="siren-passes", strength=0.5, schedule_id=own.schedule_id))
    assert c.schedules[own.schedule_id].fired == 1
    c.stop_all_schedules()
    (stop,) = link.of(m.StopScheduleRequest)
    assert stop.schedule_id is None
    link.answer(c)
    (stopped,) = _content(session_dir, "event_schedule_stopped")
    assert stopped["schedule_id"] is None and len(stopped["stopped"]) == 2
    assert c.schedules == {}


def test_the_safe_place_and_a_finished_single_firing_end_the_record(setup) -> None:
    c, link, clock, session_dir = setup
    link.answer(c)
    c.start_schedule("accident-scene", at_s=60)
    once = link.of(m.StartScheduleRequest)[-1]
    # The renderer's word may overtake the reply: a schedule seen ended is not recorded as running.
    c.on_fact(m.ScheduleEnded(schedule_id=once.schedule_id, event="accident-scene", reason="done", fired=1))
    link.answer(c)
    assert once.schedule_id not in c.schedules and len(c.schedules) == 1
    c.on_fact(m.SafePlaceEntered(source="patient"))
    assert c.schedules == {}


def _infos(c: ConsoleController) -> tuple[m.ScheduleInfo, ...]:
    """The schedules as a renderer running them would list them."""
    return tuple(
        m.ScheduleInfo(schedule_id=r.schedule_id, event=r.request.event, every_s=r.request.every_s,
                       at_s=r.request.at_s, strength=r.request.strength, scope=r.request.scope)
        for r in c.schedules.values()
    )  # fmt: skip


def test_a_restarted_renderer_gets_the_schedules_back_with_their_time_and_a_blip_sends_nothing(setup) -> None:
    c, link, clock, session_dir = setup
    link.answer(c)
    c.start_schedule("accident-scene", at_s=600, strength=0.4)
    link.answer(c)
    state = m.RendererState(
        session_id=session_dir.name, scene="road-accident", mode="running", preset="highway"
    )
    c.on_snapshot(_with(state, schedules=_infos(c)), "inst-a")
    assert len(c.schedules) == 2
    clock.advance(100)
    c.tick()
    # A blip: the same renderer still runs both; nothing is sent.
    mark = len(link.sent)
    c.on_snapshot(_with(state, schedules=_infos(c)), "inst-a")
    assert not _since(link, mark, m.StartScheduleRequest) and not _since(link, mark, m.StopScheduleRequest)
    # The renderer restarted: it shows nothing; the scene comes back, then both schedules.
    c.on_snapshot(m.RendererState(mode="idle"), "inst-b")
    (load,) = _since(link, mark, m.LoadSceneRequest)
    restored = _since(link, mark, m.StartScheduleRequest)
    assert len(restored) == 2 and link.sent.index(load) < link.sent.index(restored[0])
    assert {r.schedule_id for r in restored} == set(c.schedules)
    once = next(r for r in restored if r.at_s is not None)
    assert once.at_s == 600 and once.strength == 0.4 and once.elapsed_s == pytest.approx(100, abs=1)
    link.answer(c)
    assert len(c.schedules) == 2
    resynced = [
        r for r in _content(session_dir, "renderer_resynced") if r["request"] == "start_schedule_request"
    ]
    assert len(resynced) == 2 and {r["sent"]["schedule_id"] for r in resynced} == set(c.schedules)
    assert len(_content(session_dir, "event_schedule_started")) == 2, "a restore is not a new start"


def test_after_a_blip_the_renderer_is_the_authority_on_schedules_that_ended(setup) -> None:
    c, link, clock, session_dir = setup
    link.answer(c)
    state = m.RendererState(
        session_id=session_dir.name, scene="road-accident", mode="running", preset="highway"
    )
    c.on_snapshot(_with(state, schedules=_infos(c)), "inst-a")
    assert len(c.schedules) == 1
    stray = m.ScheduleInfo(schedule_id="own-x-99", event="near-miss", every_s=(5, 10), scope="session")
    mark = len(link.sent)
    c.on_snapshot(_with(state, schedules=(stray,)), "inst-a")
    assert c.schedules == {}, "ended while contact was lost"
    (stop,) = _since(link, mark, m.StopScheduleRequest)
    assert stop.schedule_id == "own-x-99", "one the session did not ask for is stopped"


def _with(state: m.RendererState, **changes: Any) -> m.RendererState:
    import msgspec

    return msgspec.structs.replace(state, **changes)
