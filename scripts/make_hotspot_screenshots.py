"""Screenshots of a prolonged-exposure session in the console, for docs/console.md.

Runs a real offscreen renderer and the console window on ``road-accident-prolonged`` with the demo's
scripted therapist and simulated patient (its three example hotspots), and writes to docs/img/:

- ``console-hotspots.png``        the hotspot list in place of the ladder, on the third hotspot, with
                                  its triggers as buttons;
- ``console-hotspot-editor.png``  the patient's hotspot editor over the window.

Run: ``.venv/bin/python scripts/make_hotspot_screenshots.py`` (offscreen without a display).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_ID = "road-accident-prolonged"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="how long the session runs before the grab"
    )
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A throwaway home: the window shows session paths under the home directory as ~/...
    home = Path(tempfile.mkdtemp(prefix="vr-exposure-screenshots-"))
    os.environ["HOME"] = str(home)
    os.environ["VR_EXPOSURE_SESSIONS"] = str(home / "sessions")

    import dataclasses

    from PyQt6.QtCore import QCoreApplication, QEventLoop
    from PyQt6.QtGui import QPainter
    from PyQt6.QtWidgets import QApplication

    from vr_exposure.console.bridge import LinkBridge
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.console.main_window import ConsoleWindow
    from vr_exposure.console.scripted import ScriptedSession, compressed_protocol, time_compression
    from vr_exposure.core.loading import load_library
    from vr_exposure.link import LinkClient
    from vr_exposure.renderer.process import RendererProcess

    app = QApplication.instance() or QApplication(sys.argv[:1])
    minutes = args.seconds / 60.0 / 0.95  # grab near the end, on the last hotspot
    library = load_library()
    compress = time_compression(library.protocol(PROTOCOL_ID), minutes)
    protocol = compressed_protocol(library.protocol(PROTOCOL_ID), minutes)
    library = dataclasses.replace(library, protocols={**library.protocols, PROTOCOL_ID: protocol})

    def spin(seconds: float, until: object = None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.01)
            if callable(until) and until():
                return True
        return False

    renderer = RendererProcess(backend="offscreen", size="480x270", patient=True)
    client = LinkClient(renderer.command_endpoint, renderer.pub_endpoint, name="console")
    controller = ConsoleController(client, library)
    bridge = LinkBridge(client, controller)
    window = ConsoleWindow(controller, endpoint=renderer.command_endpoint)
    window.resize(1500, 900)
    window.select_protocol(PROTOCOL_ID)
    window.session_panel.pseudonym.setText("P042")
    window.show()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        if not spin(30, lambda: bridge.state == "connected" and client.synced):
            print(f"no contact with the renderer:\n{renderer.log_tail()}", file=sys.stderr)
            return 1
        script = ScriptedSession(
            controller,
            renderer.press,
            minutes=minutes,
            compress=compress,
            seed=3,
            pseudonym="P042",
            say=lambda line: print(line, flush=True),
            protocol_id=PROTOCOL_ID,
        )
        script.step()  # builds the patient's hotspots and opens the session, as the window would
        window.hotspots.session = script.hotspot_session
        window.hotspots.show_session()
        controller.add_note("Patient narrating from the evening drive home")
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            script.step()
            spin(0.1)
        controller.add_note("Hotspot 3, the collision: SUDS 60, stayed with it")
        spin(1.0, lambda: window.mirror.frames_shown > 0)
        window.grab().save(str(args.out / "console-hotspots.png"))
        dialog = window.hotspots.open_editor()
        assert dialog is not None
        dialog.list.setCurrentRow(2)
        spin(0.8)
        image = window.grab()
        painter = QPainter(image)
        painter.drawPixmap(dialog.geometry().topLeft() - window.geometry().topLeft(), dialog.grab())
        painter.end()
        image.save(str(args.out / "console-hotspot-editor.png"))
        dialog.close()
        for name in ("console-hotspots.png", "console-hotspot-editor.png"):
            print(f"wrote {args.out / name}")
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
