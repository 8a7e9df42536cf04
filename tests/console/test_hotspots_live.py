"""The console window's hotspot list against a real offscreen renderer: moving through the patient's
hotspots sets the renderer to each one's state and journals each entry; a hotspot's trigger fires the
scene event; the hotspot editor edits the patient's file from the window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt6.QtCore import Qt

from vr_exposure.core.hotspots import Hotspot, HotspotFile, Trigger
from vr_exposure.journal import sessions_root
from vr_exposure.journal.hotspots import read_hotspots, save_hotspots

from .test_live import _journal, _snapshot, consoles, library, renderers  # noqa: F401 - fixtures

pytestmark = [pytest.mark.gui, pytest.mark.renderer, pytest.mark.slow]

PROTOCOL = "road-accident-prolonged"
HOTSPOTS = (
    Hotspot(
        name="Dusk on the highway",
        preset="sunset",
        triggers=(Trigger(event="truck-overtakes", strength=0.6),),
    ),
    Hotspot(
        name="The crash", preset="heavy-traffic", intensity=72.0, triggers=(Trigger(event="hard-braking"),)
    ),
)


def test_moving_through_hotspots_sets_the_renderer_and_journals_each_entry(qtbot, renderers, consoles):  # noqa: F811
    save_hotspots(sessions_root(), "P042", HotspotFile(protocol=PROTOCOL, hotspots=HOTSPOTS))
    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    c, w = console.controller, console.window
    qtbot.waitUntil(lambda: console.bridge.state == "connected" and console.client.synced, timeout=20_000)
    w.session_panel.pseudonym.setText("P042")
    w.select_protocol(PROTOCOL)
    assert w.hotspots.editor_button.isVisibleTo(w)
    qtbot.mouseClick(w.session_panel.start_button, Qt.MouseButton.LeftButton)
    panel = w.hotspots.panel
    assert panel.isVisibleTo(w) and not w.rungs.isVisibleTo(w)
    assert panel.list.count() == 3
    qtbot.mouseClick(w.session_panel.begin_button, Qt.MouseButton.LeftButton)
    session_dir: Path = c.session_dir
    qtbot.waitUntil(
        lambda: c.renderer_state.preset == "passenger-village" and c.renderer_state.mode == "running",
        timeout=30_000,
    )
    qtbot.waitUntil(
        lambda: c.engine.rung == 0 and panel.current_label.text().startswith("now: start"), timeout=20_000
    )
    for step, (preset, intensity) in ((1, ("sunset", 44.0)), (2, ("heavy-traffic", 72.0))):
        qtbot.waitUntil(lambda: panel.next_button.isEnabled(), timeout=30_000)
        qtbot.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda step=step: c.engine.rung == step and not c.pending, timeout=30_000)
        qtbot.waitUntil(
            lambda p=preset, i=intensity: (
                (
                    (st := _snapshot(renderer.command_endpoint, renderer.pub_endpoint)).preset == p
                    or (p == "heavy-traffic" and st.preset is None)
                )
                and st.target_intensity == i
            ),
            timeout=30_000,
        )
        assert panel.current_label.text().startswith(f"now: hotspot {step} of 2")
    (button,) = panel.trigger_buttons
    assert "100%" in button.text()
    qtbot.waitUntil(lambda: button.isEnabled(), timeout=10_000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: any(r["msg_type"] == "event_triggered" for r in _journal(session_dir, "console")),
        timeout=30_000,
    )
    records = _journal(session_dir, "console")
    entered = [r["content"]["name"] for r in records if r["msg_type"] == "hotspot_entered"]
    assert entered == ["Passenger, village (before the account begins)", "Dusk on the highway", "The crash"]
    fired = [r for r in _journal(session_dir, "renderer") if r["msg_type"] == "event_fired"]
    assert [r["content"]["event"] for r in fired][-1:] == ["hard-braking"]

    # The editor, from the window: a new hotspot from what the patient sees now, its trigger picked.
    # What the renderer shows now, as its own snapshot says (the console's copy follows its facts).
    qtbot.waitUntil(
        lambda: _snapshot(renderer.command_endpoint, renderer.pub_endpoint).target_intensity == 72,
        timeout=30_000,
    )
    c.renderer_state = _snapshot(renderer.command_endpoint, renderer.pub_endpoint)
    dialog = w.hotspots.open_editor()
    assert dialog is not None
    assert dialog.add("After the crash")
    dialog.set_trigger("siren-passes", True, 0.5)
    saved = read_hotspots(sessions_root(), "P042", PROTOCOL, c.scene)
    assert saved is not None and saved.hotspots[-1].name == "After the crash"
    assert (saved.hotspots[-1].preset, saved.hotspots[-1].intensity) == ("heavy-traffic", 72.0)
    assert saved.hotspots[-1].triggers == (Trigger(event="siren-passes", strength=0.5),)
    assert not dialog.rename("dusk on the highway")
    assert "also the name of hotspots[0]" in dialog.error.text()
    dialog.close()
