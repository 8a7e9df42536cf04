"""The hotspot panel and editor as widgets: steps and triggers shown, requests emitted, off in the safe
place, and the editor's edits saved and refusals shown."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt

from vr_exposure.console.controller import ConsoleController
from vr_exposure.console.hotspots import HotspotEditor
from vr_exposure.console.widgets.hotspots import HotspotEditorDialog, HotspotPanel
from vr_exposure.core.clock import FakeClock
from vr_exposure.core.hotspots import Trigger
from vr_exposure.core.loading import load_library
from vr_exposure.journal.hotspots import read_hotspots


def test_the_panel_offers_the_current_hotspots_triggers_and_is_off_in_the_safe_place(make_widget, qtbot):
    panel = make_widget(HotspotPanel)
    panel.set_steps(
        [("Start", "passenger-village"), ("Dusk", "sunset"), ("The crash", "heavy-traffic at 72")]
    )
    assert panel.list.count() == 3 and "heavy-traffic at 72" in panel.list.item(2).text()
    triggers = (Trigger(event="hard-braking"), Trigger(event="collision", strength=0.8))
    panel.set_current(1, triggers, {"hard-braking": "Hard braking", "collision": "Collision (jolt)"})
    assert [b.text() for b in panel.trigger_buttons] == ["Hard braking  ·  100%", "Collision (jolt)  ·  80%"]
    assert panel.current_label.text() == "now: hotspot 1 of 2 — Dusk"
    with qtbot.waitSignal(panel.trigger_requested) as fired:
        qtbot.mouseClick(panel.trigger_buttons[1], Qt.MouseButton.LeftButton)
    assert fired.args == [triggers[1]]
    with qtbot.waitSignal(panel.step_requested) as moved:
        qtbot.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)
    assert moved.args == [2]
    panel.set_steering_enabled(False, "off in the safe place")
    assert not panel.go_button.isEnabled() and not panel.next_button.isEnabled()
    assert not any(b.isEnabled() for b in panel.trigger_buttons)
    assert panel.title() == "Hotspots (off in the safe place)"
    panel.set_steering_enabled(True)
    assert panel.next_button.isEnabled() and all(b.isEnabled() for b in panel.trigger_buttons)
    panel.set_current(2)
    assert not panel.next_button.isEnabled() and panel.trigger_buttons == []


def test_the_editor_saves_each_edit_and_shows_a_refusal(make_widget, tmp_path):
    library = load_library()
    controller = ConsoleController(None, library, clock=FakeClock(), sessions_root=tmp_path)
    editor = HotspotEditor.open(controller, "P042", "road-accident-prolonged")
    dialog: Any = make_widget(HotspotEditorDialog, editor)
    assert dialog.add("Dusk on the highway") and dialog.add("The crash")
    assert dialog.list.count() == 2 and dialog.list.currentRow() == 1
    dialog.set_trigger("collision", True, 0.7)
    dialog.set_trigger("hard-braking", True)
    assert dialog.move_selected(-1)
    assert not dialog.rename("dusk on the highway")
    assert 'hotspots[0].name: "dusk on the highway" is also the name of hotspots[1]' in dialog.error.text()
    assert dialog.rename("The collision") and dialog.error.text() == ""
    saved = read_hotspots(tmp_path, "P042", "road-accident-prolonged", library.scene("road-accident"))
    assert saved is not None
    assert [h.name for h in saved.hotspots] == ["The collision", "Dusk on the highway"]
    assert saved.hotspots[0].triggers == (
        Trigger(event="collision", strength=0.7),
        Trigger(event="hard-braking"),
    )
    # No scene is shown: a new hotspot starts in the protocol's start state.
    assert saved.hotspots[1].preset == "passenger-village"
    dialog.list.setCurrentRow(1)
    assert dialog.delete() and dialog.list.count() == 1
