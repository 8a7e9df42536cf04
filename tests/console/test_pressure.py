"""The console under pressure, with a recording link standing in for the renderer: a layout that never
moves while banners, refusals and errors come and go, and every click landing on the control that was
under the pointer."""

from __future__ import annotations

from typing import Any

import pytest
from PyQt6.QtCore import QPoint, Qt
from PyQt6.QtWidgets import QApplication, QWidget

from vr_exposure.console.main_window import ConsoleWindow
from vr_exposure.link import messages as m

from .test_refusals import console, library  # noqa: F401 - fixtures

pytestmark = pytest.mark.gui


def guarded_controls(w: ConsoleWindow) -> dict[str, QWidget]:
    """The controls a therapist reaches for under pressure."""
    controls: dict[str, QWidget] = {
        "safe place": w.safe_button,
        "leave safe place": w.leave_safe_button,
        "pause": w.pause_button,
        "end session": w.session_panel.end_button,
        "apply rung": w.rungs.apply_button,
        "intensity": w.intensity.slider,
        "suds record": w.suds.record_button,
    }
    controls.update({f"event {name}": b for name, b in w.events.buttons.items()})
    return controls


def places(w: ConsoleWindow) -> dict[str, tuple[QPoint, Any]]:
    """Each control's centre in window coordinates, and its size."""
    return {name: (c.mapTo(w, c.rect().center()), c.size()) for name, c in guarded_controls(w).items()}


def lands_on(w: ConsoleWindow, point: QPoint, control: QWidget) -> bool:
    """A click at ``point`` (window coordinates) would reach ``control``."""
    hit = w.childAt(point)
    while hit is not None and hit is not control:
        hit = hit.parentWidget()
    return hit is control


def _settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


def test_nothing_moves_while_banners_refusals_and_errors_come_and_go(console, qtbot):  # noqa: F811
    w, c, link, clock = console
    _settle()
    before = places(w)
    assert len(before) >= 8  # the scene's event buttons are there too
    long = "the renderer refused the event: a long explanation that wraps " * 6
    flaps = [
        lambda: c.on_connection("degraded", since_mono_s=None),
        lambda: c.on_connection("connected"),
        lambda: c.on_connection("lost", "No contact with the headset " * 12),
        lambda: w.refusal.show_refusal(long, "tok-1", "event"),
        lambda: w.show_error(long),
        lambda: c.on_connection("error", "Link error: " + long),
        lambda: w.refusal.clear(),
        lambda: c.on_connection("connected"),
        lambda: c.on_mirror(dataclasses_replace(c.renderer_state, mode="paused")),
        lambda: c.on_mirror(dataclasses_replace(c.renderer_state, mode="safe_place")),
        lambda: c.on_mirror(dataclasses_replace(c.renderer_state, mode="running")),
    ]
    for i, flap in enumerate(flaps):
        flap()
        _settle()
        after = places(w)
        for name, (centre, size) in before.items():
            assert after[name] == (centre, size), f"step {i}: {name} moved"
            assert lands_on(w, centre, guarded_controls(w)[name]), f"step {i}: a click misses {name}"


def dataclasses_replace(state: m.RendererState, **changes: Any) -> m.RendererState:
    import msgspec

    return msgspec.structs.replace(state, **changes)


def test_every_click_lands_while_the_banner_flaps(console, qtbot):  # noqa: F811
    """A click at a control's place during a flapping banner reaches that control, every time."""
    w, c, link, clock = console
    _settle()
    before = places(w)
    clicks = 0
    for i in range(6):
        c.on_connection("degraded" if i % 2 == 0 else "connected")
        _settle()
        for name in ("safe place", "pause", "leave safe place"):
            centre, _size = before[name]
            control = guarded_controls(w)[name]
            assert lands_on(w, centre, control), f"flap {i}: {name}"
            if control.isEnabled():
                qtbot.mouseClick(control, Qt.MouseButton.LeftButton, pos=control.mapFrom(w, centre))
                clicks += 1
    safe_sent = link.of(m.SafePlaceRequest)
    pauses = link.of(m.PauseRequest) + link.of(m.ResumeRequest)
    assert len(safe_sent) == 6 and len(pauses) == 6 and clicks >= 12


def _enter_safe_place(c: Any) -> None:
    c.on_fact(m.SafePlaceEntered(source="console"))
    assert c.renderer_state.mode == "safe_place"


def test_the_safe_place_is_one_state_across_the_console(console, qtbot):  # noqa: F811
    w, c, link, clock = console
    assert w.events.buttons and all(b.isEnabled() for b in w.events.buttons.values())
    assert "SAFE PLACE" not in w.mode_label.text()
    _enter_safe_place(c)
    _settle()
    assert w.mode_label.text().startswith("SAFE PLACE  00:0")
    assert w.safe_button.text() == "IN THE SAFE PLACE"
    assert "#1565c0" in w.centralWidget().styleSheet()
    assert not any(b.isEnabled() for b in w.events.buttons.values())
    assert not any(s.isEnabled() for s in w.events.shortcuts.values())
    assert "off in the safe place" in w.events.title()
    assert not w.rungs.apply_button.isEnabled() and not w.rungs.next_button.isEnabled()
    assert w.intensity.title() == "Intensity — applies on return from the safe place"
    c.on_fact(m.SafePlaceLeft())
    _settle()
    assert "SAFE PLACE" not in w.mode_label.text() and w.safe_button.text().startswith("SAFE PLACE")
    assert all(b.isEnabled() for b in w.events.buttons.values())
    assert all(s.isEnabled() for s in w.events.shortcuts.values())
    assert w.rungs.apply_button.isEnabled() and w.intensity.title() == "Intensity"


def test_a_refusal_never_survives_the_safe_place(console, qtbot):  # noqa: F811
    """The issue's near miss: a refused "drop from the ceiling" left its "Try again" on screen after
    the safe place, one click from dropping a spider on the patient."""
    w, c, link, clock = console
    name = next(iter(w.events.buttons))
    qtbot.mouseClick(w.events.buttons[name], Qt.MouseButton.LeftButton)
    link.answer(c, refuse="events fire only in a running scene")
    assert w.refusal.isVisible() and w.refusal.token in c.refused
    token = w.refusal.token
    _enter_safe_place(c)
    assert not w.refusal.isVisible() and not c.refused
    c.on_fact(m.SafePlaceLeft())
    assert not w.refusal.isVisible()
    with pytest.raises(Exception, match="can no longer be retried"):
        c.retry(token)
    assert len(link.of(m.TriggerEventRequest)) == 1  # nothing sent again


def test_f9_leaves_the_safe_place_and_only_the_safe_place(console, qtbot):  # noqa: F811
    w, c, link, clock = console
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_F9)
    assert not link.of(m.LeaveSafePlaceRequest)  # not in the safe place: nothing to leave
    _enter_safe_place(c)
    qtbot.keyClick(w, Qt.Key.Key_F9)
    assert len(link.of(m.LeaveSafePlaceRequest)) == 1
    from vr_exposure.console.widgets.events import RESERVED_KEYS

    assert "F9" in RESERVED_KEYS  # no scene's event can take it


def _records(c: Any, msg_type: str) -> list[dict[str, Any]]:
    import json

    assert c.session_dir is not None
    lines = (c.session_dir / "console.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["header"]["msg_type"] == msg_type]


def test_a_suds_key_shows_the_value_with_undo_before_it_is_recorded(console, qtbot):  # noqa: F811
    w, c, link, clock = console
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)
    engine = c.engine
    assert engine is not None
    qtbot.keyClick(w, Qt.Key.Key_6)
    assert w.suds.pending == 60 and "SUDS 60" in w.suds.pending_label.text()
    assert not engine.ratings  # not yet
    qtbot.keyClick(w, Qt.Key.Key_Backspace)  # undone within the moment: never recorded
    assert w.suds.pending is None and "undone" in w.suds.pending_label.text()
    qtbot.wait(200)
    assert not engine.ratings and not _records(c, "suds_recorded")
    qtbot.keyClick(w, Qt.Key.Key_4)
    qtbot.waitUntil(lambda: len(engine.ratings) == 1, timeout=10_000)
    assert engine.ratings[0].value == 40 and len(_records(c, "suds_recorded")) == 1
    # Undone after it was recorded: withdrawn, journaled as corrected, no longer counted.
    assert w.suds.undo_button.isEnabled() and w.suds.undo_button.text() == "Withdraw 40"
    qtbot.keyClick(w, Qt.Key.Key_Backspace)
    assert not engine.ratings
    (corrected,) = _records(c, "rating_corrected")
    assert corrected["content"]["rating"]["value"] == 40 and corrected["content"]["by"] == "therapist"
    # The research tools read the journal the same way: a withdrawn rating does not count.
    clock.advance(5)
    qtbot.keyClick(w, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: len(engine.ratings) == 1, timeout=10_000)
    session_dir = c.close_session()
    from vr_exposure.research.timeline import load_timeline

    assert [r.value for r in load_timeline(session_dir).ratings] == [20]


def test_end_session_asks_once(console, qtbot):  # noqa: F811
    w, c, link, clock = console
    end = w.session_panel.end_button
    qtbot.mouseClick(end, Qt.MouseButton.LeftButton)
    box = w.end_confirm
    assert box is not None and box.isVisible()
    qtbot.mouseClick(end, Qt.MouseButton.LeftButton)
    assert w.end_confirm is box  # asked once, not twice
    assert c.active
    keep = next(b for b in box.buttons() if b.text() == "Keep going")
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.end_confirm is None, timeout=5000)
    assert c.active and not _records(c, "session_summary")
    qtbot.mouseClick(end, Qt.MouseButton.LeftButton)
    box = w.end_confirm
    assert box is not None
    yes = next(b for b in box.buttons() if b.text() == "End session")
    qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not c.active, timeout=5000)
    assert len(_records(c, "session_summary")) == 1
    w.summary_box.close()


def test_the_ssq_after_leaves_the_mirror_free_and_both_show_as_done(console, qtbot):  # noqa: F811
    from PyQt6.QtCore import QRect

    w, c, link, clock = console
    assert c.renderer_state.mode == "running"
    form = w.open_ssq("after", [1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    qtbot.waitExposed(form)
    mirror = QRect(w.mirror.mapToGlobal(QPoint(0, 0)), w.mirror.size())
    assert not form.frameGeometry().intersects(mirror), (form.frameGeometry(), mirror)
    form.accept()
    assert w.session_panel.ssq_after_button.text() == "SSQ after ✓ 22.4"
    before = w.open_ssq("before", [0] * 16)
    before.accept()
    assert w.session_panel.ssq_before_button.text() == "SSQ before ✓ 0.0"


def test_frame_rate_warnings_say_how_bad_and_why(console, qtbot):  # noqa: F811
    w, c, link, clock = console
    period = 1000 / 90
    c.on_telemetry(m.FrameTiming(median_ms=period, p99_ms=period, display_period_ms=period))
    assert w.comfort.level == "ok" and "90 fps" in w.comfort.label.text()
    c.on_telemetry(m.FrameTiming(median_ms=1000 / 72, p99_ms=20, display_period_ms=period))
    assert w.comfort.level == "low" and "below the headset's 90 Hz" in w.comfort.label.text()
    c.on_telemetry(m.FrameTiming(median_ms=1000 / 2, p99_ms=600, display_period_ms=period))
    assert w.comfort.level == "danger"
    assert "2.0 fps" in w.comfort.label.text() and "cybersickness" in w.comfort.label.text()
    assert "2 fps" in [label for _t, label in w.timeline.marks]
    # A verdict with no frame timing since is not shown as current.
    w.comfort._verdict_at -= 10
    w.comfort.check_stale()
    assert (
        w.comfort.level == "unknown"
        and "no frame timing from the renderer for 10 s" in w.comfort.label.text()
    )
    # The mirror says why it is slow.
    w.mirror.push_jpeg(b"not a jpeg")
    w.mirror._update_status()
    assert "the renderer draws only 2.0 fps" in w.mirror.status.text()


def test_changes_the_therapist_did_not_make_are_logged_and_marked(console, qtbot):  # noqa: F811
    w, c, link, clock = console
    assert not w.renderer_log.entries
    # The renderer's watchdog: it lost the console and took the patient to the safe place.
    c.on_fact(m.SafePlaceEntered(source="link_lost"))
    assert "lost contact with the console" in w.renderer_log.entries[-1][1]
    c.on_fact(m.SafePlaceLeft())
    # A resync after a real reconnection: the renderer restarted and showed another rung.
    c.on_connection("lost")
    c.on_snapshot(
        m.RendererState(session_id=c.session_id, scene="spiders", preset="jar-far", mode="running"), "inst-b"
    )
    link.answer(c)
    assert any("set back" in text for _t, text in w.renderer_log.entries)
    # A refusal.
    name = next(iter(w.events.buttons))
    qtbot.mouseClick(w.events.buttons[name], Qt.MouseButton.LeftButton)
    link.answer(c, refuse="events fire only in a running scene")
    assert w.renderer_log.entries[-1][1].startswith("The renderer refused the event")
    labels = [label for _t, label in w.timeline.marks]
    assert {"watchdog", "refused"} <= set(labels) and ("resync" in labels)
    assert w.renderer_log.list.count() == len(w.renderer_log.entries)


def test_the_gaze_indicator_and_the_mirror_badge_follow_the_telemetry(console, qtbot):  # noqa: F811
    w, c, link, clock = console
    w._show_gaze()
    assert not w.mirror.gaze.isVisible() and "no stimulus" in w.gaze_label.text()
    c.on_telemetry(m.HeadPose(frame=1, t_mono_ns=1, position_m=(0, 0, 1.2), orientation_xyzw=(0, 0, 0, 1)))
    c.on_telemetry(
        m.StimulusPositions(
            frame=1,
            t_mono_ns=1,
            stimuli=(m.StimulusPosition(node="jar", tag="spider", position_m=(0, 2, 1)),),
        )
    )
    w._show_gaze()
    assert w.mirror.gaze.isVisible() and w.mirror.gaze.text().startswith("spider in view")
    assert w.gaze_label.text().startswith("● spider in view")
    # Turned round: out of view.
    c.on_telemetry(m.HeadPose(frame=2, t_mono_ns=2, position_m=(0, 0, 1.2), orientation_xyzw=(0, 0, 1, 0)))
    w._show_gaze()
    assert w.gaze_label.text().startswith("○ spider out of view")


def test_the_mirror_enlarges_into_its_own_window_and_docks_again(console, qtbot):  # noqa: F811
    w, c, link, clock = console
    mirror = w.mirror
    before = places(w)
    qtbot.mouseClick(mirror.enlarge_button, Qt.MouseButton.LeftButton)
    view = mirror.window_view
    assert view is not None and mirror.window() is view and view.isVisible()
    qtbot.waitExposed(view)
    assert mirror.picture.width() >= 900  # far larger than its place in the console
    assert places(w) == before  # the console's controls stay where they were
    qtbot.mouseClick(mirror.enlarge_button, Qt.MouseButton.LeftButton)
    assert mirror.window_view is None and mirror.window() is w and w.centre.indexOf(mirror) == 1
    # Closing the enlarged window docks it too.
    mirror.detach()
    view = mirror.window_view
    assert view is not None
    view.close()
    assert mirror.window_view is None and w.centre.indexOf(mirror) == 1


def test_a_safe_place_seen_only_in_a_resync_state_moves_the_session_too(console, qtbot):  # noqa: F811
    """Under load the safe_place_entered fact can be overtaken by a resync (a newer full state):
    the session must still follow the renderer into the safe place, and out."""
    w, c, link, clock = console
    c.on_mirror(dataclasses_replace(c.renderer_state, mode="safe_place"))
    assert c.engine is not None and c.engine.state == "safe_place"
    assert w.mode_label.text().startswith("SAFE PLACE")
    c.on_mirror(dataclasses_replace(c.renderer_state, mode="running"))
    assert c.engine.state == "running"
