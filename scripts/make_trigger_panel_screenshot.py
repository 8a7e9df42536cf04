"""Render the trigger panel's screenshot for docs/console.md, offscreen, against a live renderer.

    .venv/bin/python scripts/make_trigger_panel_screenshot.py [--out docs/img]

Starts a real offscreen renderer, opens the console window on Qt's offscreen platform, begins a
``road-accident-graded`` session, moves to the highway rung (whose schedule has lorries overtake by
themselves), sets the siren's strength to 40 % and starts it repeating every 60-180 s, fires the
accident scene, waits until the renderer's state shows all of it, makes the window tall enough for
the panel to show every trigger unscrolled and grabs the panel (``console-triggers.png``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A throwaway home: the window shows session paths under it as ~/..., so no machine path shows.
    home = Path(tempfile.mkdtemp(prefix="vr-exposure-screenshots-"))
    os.environ["HOME"] = str(home)
    os.environ["VR_EXPOSURE_SESSIONS"] = str(home / "sessions")

    from PyQt6.QtCore import QCoreApplication, QEventLoop
    from PyQt6.QtWidgets import QApplication

    from vr_exposure.console.bridge import LinkBridge
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.console.main_window import ConsoleWindow
    from vr_exposure.core.loading import load_library
    from vr_exposure.link import LinkClient
    from vr_exposure.renderer.process import RendererProcess

    app = QApplication.instance() or QApplication(sys.argv[:1])

    def spin(seconds: float, until: object = None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.01)
            if callable(until) and until():
                return True
        return False

    renderer = RendererProcess(backend="offscreen", size="480x270", patient=False)
    client = LinkClient(renderer.command_endpoint, renderer.pub_endpoint, name="console")
    controller = ConsoleController(client, load_library())
    bridge = LinkBridge(client, controller)
    window = ConsoleWindow(controller, endpoint=renderer.command_endpoint)
    window.resize(1500, 900)
    window.select_protocol("road-accident-graded")
    window.session_panel.pseudonym.setText("P042")
    window.show()
    args.out.mkdir(parents=True, exist_ok=True)
    c, panel = controller, window.events
    try:
        if not spin(30, lambda: bridge.state == "connected" and client.synced):
            print(f"no contact with the renderer:\n{renderer.log_tail()}", file=sys.stderr)
            return 1
        c.start_session("P042", protocol_id="road-accident-graded")
        c.prepare_rung(4)
        c.begin_exposure()
        state = lambda: c.renderer_state  # noqa: E731
        if not spin(60, lambda: state().preset == "highway" and not state().fading and state().schedules):
            print(f"the highway rung did not come up:\n{renderer.log_tail()}", file=sys.stderr)
            return 1
        panel.set_strength("siren-passes", 0.4)
        panel.rows["siren-passes"].lo.setValue(60)
        panel.rows["siren-passes"].hi.setValue(180)
        panel.rows["siren-passes"].repeat.click()
        panel.rows["hard-braking"].strength.setValue(70)
        panel.rows["accident-scene"].fire.click()
        spin(30, lambda: len(state().schedules) == 2 and "accident-scene" in state().active_events)
        spin(1.5, lambda: window.mirror.frames_shown > 2)
        # On a taller screen the panel shows every trigger at once (else it scrolls; keys work anyway).
        window.resize(1500, 1300)
        spin(0.5)
        split = window.centre_column
        split.setSizes([split.height() - panel.full_height, panel.full_height])
        spin(0.5)
        panel.grab().save(str(args.out / "console-triggers.png"))
        print(f"wrote {args.out / 'console-triggers.png'}")
    finally:
        controller.close_session()
        bridge.close()
        client.close()
        renderer.cleanup()
        window.close()
        QCoreApplication.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
