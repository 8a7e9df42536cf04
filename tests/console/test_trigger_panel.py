"""The trigger panel: on its own (groups, hotkeys, strength and repeat signals, the schedules shown)
and in the console window against a real offscreen renderer (a key fires at the strength set, a
repeat fires within its window and stops on request, the safe place ends every trigger and schedule,
a restarted renderer gets its schedules back), every trigger in both journals."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from PyQt6.QtCore import Qt

from tests.console import test_live as live
from vr_exposure.console.widgets.triggers import TriggerItem, TriggerPanel
from vr_exposure.link import messages as m

# The live tests' renderer and console fixtures, shared.
library = live.library
renderers = live.renderers
consoles = live.consoles
_free_port_pair, _journal, _snapshot, _start_exposure = (
    live._free_port_pair,
    live._journal,
    live._snapshot,
    live._start_exposure,
)

ITEMS = [
    TriggerItem("truck", "Lorry overtakes", "t", "vehicle"),
    TriggerItem("cough", "A cough", None, ""),
    TriggerItem("siren", "Siren", "s", "sound"),
    TriggerItem("brake", "Hard braking", "b", "vehicle"),
    TriggerItem("safe", "Shadowed", "Esc", "sound"),
]


@pytest.mark.gui
def test_the_panel_groups_the_events_and_binds_their_keys(make_widget: Any, qtbot: Any) -> None:
    panel = make_widget(TriggerPanel)
    panel.set_events(ITEMS)
    assert panel.groups == {"Vehicle": ["truck", "brake"], "Sound": ["siren", "safe"], "Events": ["cough"]}
    assert [label.text() for label in panel.group_labels.values()] == ["Vehicle", "Sound", "Events"]
    assert set(panel.shortcuts) == {"truck", "siren", "brake"}, "Esc is the safe place's, never a trigger's"
    assert panel.rows["truck"].fire.text() == "Lorry overtakes  [t]"
    assert "reserved" in panel.rows["safe"].fire.text()
    fired: list[tuple[str, float]] = []
    strengths: list[tuple[str, float]] = []
    repeats: list[tuple[str, float, float, float]] = []
    panel.fire_requested.connect(lambda n, s: fired.append((n, s)))
    panel.strength_changed.connect(lambda n, s: strengths.append((n, s)))
    panel.repeat_requested.connect(lambda *a: repeats.append(a))
    panel.rows["siren"].strength.setValue(40)
    assert strengths == [("siren", 0.4)]
    panel.shortcuts["siren"].activated.emit()
    qtbot.mouseClick(panel.rows["truck"].fire, Qt.MouseButton.LeftButton)
    assert fired == [("siren", 0.4), ("truck", 1.0)]
    panel.rows["siren"].lo.setValue(20)
    panel.rows["siren"].hi.setValue(60)
    qtbot.mouseClick(panel.rows["siren"].repeat, Qt.MouseButton.LeftButton)
    assert repeats == [("siren", 20.0, 60.0, 0.4)]
    # The renderer's state: the repeat runs (the button stops it), a rung schedule too.
    own = m.ScheduleInfo(
        schedule_id="own-siren-1", event="siren", every_s=(20, 60), strength=0.4, scope="session"
    )
    rung = m.ScheduleInfo(schedule_id="rung5-truck-2", event="truck", at_s=240, fired=0)
    panel.set_state(["truck"], [own, rung])
    assert panel.active_label.text() == "Active now: Lorry overtakes"
    assert panel.schedule_lines == [
        "Siren — every 20–60 s · 40% · fired 0 · therapist",
        "Lorry overtakes — once at 240 s · 100% · fired 0 · rung",
    ]
    assert panel.rows["siren"].repeat.text() == "Stop repeat"
    stops: list[str] = []
    panel.schedule_stop_requested.connect(stops.append)
    qtbot.mouseClick(panel.rows["siren"].repeat, Qt.MouseButton.LeftButton)
    assert stops == ["own-siren-1"]
    stop_all: list[bool] = []
    panel.stop_all_requested.connect(lambda: stop_all.append(True))
    # In the safe place: nothing fires, but stopping stays possible.
    panel.set_enabled(False, "off in the safe place")
    assert not panel.rows["truck"].fire.isEnabled() and not panel.shortcuts["truck"].isEnabled()
    assert panel.rows["siren"].repeat.isEnabled() and panel.stop_all_button.isEnabled()
    qtbot.mouseClick(panel.stop_all_button, Qt.MouseButton.LeftButton)
    assert stop_all == [True]
    panel.set_state([], [])
    assert panel.schedule_lines == ["none running"] and not panel.stop_all_button.isEnabled()


# -- against a real renderer ----------------------------------------------------------------------------


def _records(session_dir: Any, process: str, msg_type: str) -> list[dict[str, Any]]:
    return [r for r in _journal(session_dir, process) if r["header"]["msg_type"] == msg_type]


@pytest.mark.gui
@pytest.mark.renderer
@pytest.mark.slow
@pytest.mark.usefixtures("busy_cores")
def test_a_key_fires_at_the_strength_set_a_repeat_runs_and_the_safe_place_ends_everything(
    qtbot: Any, renderers: Any, consoles: Any
) -> None:
    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    session_dir = _start_exposure(qtbot, console, "road-accident-graded", "road-accident")
    w, c = console.window, console.controller
    panel = w.events
    assert list(panel.groups) == ["Vehicle", "Threat", "Sound", "Sight"]
    qtbot.waitUntil(lambda: panel.isEnabled() and panel.rows["siren-passes"].fire.isEnabled(), timeout=20_000)
    qtbot.waitUntil(lambda: not c.renderer_state.fading, timeout=20_000)
    panel.rows["siren-passes"].strength.setValue(30)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=20_000)
    qtbot.keyClick(w, Qt.Key.Key_S)  # the scene's key for the siren
    qtbot.waitUntil(
        lambda: any(
            r["content"]["event"] == "siren-passes" for r in _records(session_dir, "renderer", "event_fired")
        ),
        timeout=30_000,
    )
    (fired,) = [
        r for r in _records(session_dir, "renderer", "event_fired") if r["content"]["event"] == "siren-passes"
    ]
    assert fired["content"]["strength"] == 0.3
    qtbot.waitUntil(lambda: bool(_records(session_dir, "console", "event_triggered")), timeout=20_000)
    (triggered,) = _records(session_dir, "console", "event_triggered")
    assert (triggered["content"]["event"], triggered["content"]["strength"]) == ("siren-passes", 0.3)
    assert [r["content"]["strength"] for r in _records(session_dir, "console", "trigger_strength_set")] == [
        0.3
    ]

    # A repeat every 1-1.5 s: it fires within its window, again, and stops on request.
    row = panel.rows["near-miss"]
    row.lo.setValue(1)
    row.hi.setValue(2)
    row.hi.setValue(1)  # the window is 1-1 s: lo <= hi is kept
    assert (row.lo.value(), row.hi.value()) == (1, 1)
    qtbot.mouseClick(row.repeat, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row.repeat.text() == "Stop repeat", timeout=20_000)
    (sid,) = [s.schedule_id for s in c.renderer_state.schedules]

    def scheduled() -> list[dict[str, Any]]:
        return [
            r
            for r in _records(session_dir, "renderer", "event_fired")
            if r["content"].get("schedule_id") == sid
        ]

    qtbot.waitUntil(lambda: len(scheduled()) >= 2, timeout=40_000)
    times = [r["t_mono_ns"] for r in scheduled()[:2]]
    assert times[1] - times[0] >= 0.9e9, "a repeat waits its window"
    (started,) = _records(session_dir, "console", "event_schedule_started")
    assert started["content"]["schedule_id"] == sid and started["content"]["every_s"] == [1.0, 1.0]
    assert all(r["parent_header"]["msg_id"] == started["parent_header"]["msg_id"] for r in scheduled())
    qtbot.waitUntil(
        lambda: any(sid in line or "Near miss" in line for line in panel.schedule_lines), timeout=10_000
    )
    qtbot.mouseClick(row.repeat, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not c.renderer_state.schedules, timeout=20_000)
    qtbot.waitUntil(lambda: bool(_records(session_dir, "console", "event_schedule_stopped")), timeout=20_000)
    assert _records(session_dir, "console", "event_schedule_stopped")[0]["content"]["stopped"] == [sid]
    (ended,) = [
        r for r in _records(session_dir, "renderer", "schedule_ended") if r["content"]["schedule_id"] == sid
    ]
    # Ended on the stop, having fired exactly what the journal holds: nothing fires after it.
    assert ended["content"]["reason"] == "stopped" and ended["content"]["fired"] == len(scheduled())

    # The highway rung runs lorries by itself; the therapist adds a repeat; the safe place ends all.
    c.apply_rung(4)
    qtbot.waitUntil(lambda: any(s.scope == "rung" for s in c.renderer_state.schedules), timeout=30_000)
    qtbot.waitUntil(
        lambda: not c.renderer_state.fading and c.renderer_state.preset == "highway", timeout=30_000
    )
    qtbot.mouseClick(panel.rows["collision"].repeat, Qt.MouseButton.LeftButton)  # every 30-90 s
    qtbot.mouseClick(panel.rows["accident-scene"].fire, Qt.MouseButton.LeftButton)  # lasts 12 s
    qtbot.waitUntil(
        lambda: len(c.renderer_state.schedules) == 2 and "accident-scene" in c.renderer_state.active_events,
        timeout=30_000,
    )
    qtbot.keyClick(w, Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: c.renderer_state.mode == "safe_place", timeout=20_000)
    st = _snapshot(renderer.command_endpoint, renderer.pub_endpoint)
    assert st.schedules == () and st.active_events == ()
    ended = {r["content"]["reason"] for r in _records(session_dir, "renderer", "schedule_ended")}
    assert "safe_place" in ended
    qtbot.waitUntil(lambda: panel.schedule_lines == ["none running"], timeout=10_000)
    assert not panel.rows["accident-scene"].fire.isEnabled()
    ended_events = {r["content"]["event"] for r in _records(session_dir, "renderer", "event_ended")}
    assert "accident-scene" in ended_events
    assert panel.active_label.text() == "Active now: none"


@pytest.mark.gui
@pytest.mark.renderer
@pytest.mark.slow
@pytest.mark.usefixtures("busy_cores")
def test_a_restarted_renderer_gets_the_running_schedules_back(
    qtbot: Any, renderers: Any, consoles: Any
) -> None:
    bind = f"tcp://127.0.0.1:{_free_port_pair()}"
    renderer = renderers(patient=False, bind=bind)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    session_dir = _start_exposure(qtbot, console, "road-accident-graded", "road-accident")
    w, c = console.window, console.controller
    c.apply_rung(4)
    qtbot.waitUntil(lambda: c.renderer_state.preset == "highway" and not c.pending, timeout=30_000)
    qtbot.waitUntil(lambda: not c.renderer_state.fading, timeout=30_000)
    c.start_schedule("accident-scene", at_s=900, strength=0.5)
    qtbot.waitUntil(lambda: len(c.renderer_state.schedules) == 2 and not c.pending, timeout=30_000)
    wanted = {(s.schedule_id, s.event, s.strength) for s in c.renderer_state.schedules}
    os.kill(renderer.proc.pid, signal.SIGKILL)
    renderer.proc.wait(timeout=10)
    qtbot.waitUntil(lambda: w.banner.level == "lost", timeout=20_000)
    restarted = renderers(patient=False, bind=bind)

    def restored() -> bool:
        st = _snapshot(restarted.command_endpoint, restarted.pub_endpoint)
        return (
            st.preset == "highway" and {(s.schedule_id, s.event, s.strength) for s in st.schedules} == wanted
        )

    qtbot.waitUntil(restored, timeout=40_000)
    sent = [
        r["content"]["sent"]
        for r in _records(session_dir, "console", "renderer_resynced")
        if r["content"]["request"] == "start_schedule_request"
    ]
    assert {s["schedule_id"] for s in sent} == {sid for sid, _e, _s in wanted}
    once = next(s for s in sent if s["at_s"] is not None)
    assert once["at_s"] == 900 and once["elapsed_s"] > 0
