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
    return {
        name: (c.mapTo(w, c.rect().center()), c.size()) for name, c in guarded_controls(w).items()
    }


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
