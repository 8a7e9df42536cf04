"""The console window when the renderer refuses a steering request, with a recording link standing in for
the renderer: the rung picker, the intensity slider and the advice go back to what the patient is
really shown, and the refusal bar says why, with a one-click retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PyQt6.QtCore import Qt

from vr_exposure.console.controller import ConsoleController
from vr_exposure.console.main_window import ConsoleWindow
from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library
from vr_exposure.link import messages as m

from .test_controller import FADING, RecordingLink

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def library() -> Any:
    return load_library()


@pytest.fixture
def console(make_widget: Any, qtbot: Any, library: Any, tmp_path: Path) -> Any:
    link = RecordingLink()
    clock = FakeClock()
    controller = ConsoleController(link, library, clock=clock, sessions_root=tmp_path / "sessions")
    window: ConsoleWindow = make_widget(ConsoleWindow, controller)
    window.show()
    window.session_panel.pseudonym.setText("P042")
    window.select_protocol("spiders-graded")
    qtbot.mouseClick(window.session_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.session_panel.begin_button, Qt.MouseButton.LeftButton)
    link.answer(controller)
    first = controller.protocol.ladder[0].preset
    level = controller.scene.presets[first].intensity
    controller.on_snapshot(
        m.RendererState(
            session_id=controller.session_id,
            scene="spiders",
            preset=first,
            intensity=level,
            target_intensity=level,
            mode="running",
        ),
        "inst-a",
    )
    desk = _Desk(window, controller, link, clock)
    del window
    yield desk
    controller.close_session()
    controller.listeners.clear()
    # pytest holds the fixture's value through teardown: drop the window so the leak check sees only
    # what Qt itself still holds.
    desk.__dict__.clear()


class _Desk:
    def __init__(self, window: ConsoleWindow, controller: ConsoleController, link: Any, clock: Any) -> None:
        self.window, self.controller, self.link, self.clock = window, controller, link, clock

    def __iter__(self) -> Any:
        return iter((self.window, self.controller, self.link, self.clock))


def test_a_refused_rung_puts_the_picker_back_and_offers_a_retry(console, qtbot):
    w, c, link, clock = console
    picker = w.rungs
    assert picker.current_rung == 0 and not w.refusal.isVisible()
    qtbot.mouseClick(picker.next_button, Qt.MouseButton.LeftButton)
    (apply,) = link.of(m.ApplyPresetRequest)
    assert apply.preset == c.protocol.ladder[1].preset
    # In flight: the picker still marks rung 1 (what the patient sees) and names the requested one.
    assert picker.current_rung == 0 and "changing to rung 2" in picker.current_label.text()

    link.answer(c, refuse=FADING)
    assert c.engine.rung == 0
    assert picker.current_rung == 0 and picker.rung_list.currentRow() == 0
    assert (
        picker.current_label.text().startswith("rung 1 of ") and "changing" not in picker.current_label.text()
    )
    assert w.refusal.isVisible()
    assert w.refusal.text() == (
        "the renderer refused the rung change: a scene change is fading through black — try again in a moment"
    )

    qtbot.mouseClick(w.refusal.retry_button, Qt.MouseButton.LeftButton)
    assert link.sent[-1] == apply and len(link.of(m.ApplyPresetRequest)) == 2
    assert not w.refusal.isVisible()
    link.answer(c)
    assert c.engine.rung == 1 and picker.current_rung == 1
    assert picker.current_label.text().startswith("rung 2 of ")


def test_a_refused_intensity_puts_the_slider_back(console, qtbot):
    w, c, link, clock = console
    slider = w.intensity.slider
    level = c.engine.intensity
    assert slider.value() == level != 70
    slider.setValue(70)  # a keyboard step: sent after the short debounce
    qtbot.waitUntil(lambda: bool(link.of(m.SetIntensityRequest)), timeout=2000)
    link.answer(c, refuse=FADING)
    assert slider.value() == level and c.engine.intensity == level
    assert w.refusal.text().startswith("the renderer refused the intensity change: a scene change is fading")


def test_a_refused_advice_comes_back_to_the_panel(console, qtbot):
    w, c, link, clock = console
    for value in (80, 60, 35):
        clock.advance(30)
        c.record_suds(value)
    assert w.advice.advice is not None
    qtbot.mouseClick(w.advice.accept_button, Qt.MouseButton.LeftButton)
    assert w.advice.advice is None  # the click took it
    link.answer(c, refuse=FADING)
    assert w.advice.advice is not None and w.advice.accept_button.isEnabled()
    assert c.engine.rung == 0 and w.rungs.current_rung == 0
