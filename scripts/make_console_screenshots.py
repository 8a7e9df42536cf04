"""Render the console's screenshots for docs/console.md, offscreen, during a live simulated session.

    .venv/bin/python scripts/make_console_screenshots.py [--out docs/img] [--seconds 40]

Starts a real offscreen renderer with a simulated patient at its keyboard, opens the console window on
Qt's offscreen platform, runs the demo's scripted session (compressed ``spiders-graded``) until the
timeline holds ratings, rung changes and events and the patient-view mirror is showing, and grabs:

- ``console.png``            the console during the exposure;
- ``console-ssq.png``        the SSQ form, over the left column (never over the mirror);
- ``console-safe-place.png`` the patient in the safe place (the therapist's F12);
- ``console-degraded.png``   a degraded link: the renderer's frame loop stalled (SIGSTOP) until the
                             console calls it degraded;
- ``console-low-fps.png``    the frame-rate warning as it shows for a renderer at 2.5 fps (that one
                             ``frame_timing`` record is handed to the console just before the grab);
- ``console-lost.png``       the lost-contact banner, after the renderer process is killed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="how long the session runs before the grab"
    )
    args = parser.parse_args()
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    # A throwaway home for the session: the window shows session paths under the home directory as
    # ~/..., so the images carry no path of the machine that made them.
    home = Path(tempfile.mkdtemp(prefix="vr-exposure-screenshots-"))
    os.environ["HOME"] = str(home)
    os.environ["VR_EXPOSURE_SESSIONS"] = str(home / "sessions")

    import dataclasses

    from PyQt6.QtCore import QCoreApplication, QEventLoop
    from PyQt6.QtWidgets import QApplication

    from vr_exposure.console.bridge import LinkBridge
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.console.main_window import ConsoleWindow
    from vr_exposure.console.scripted import (
        DEFAULT_PROTOCOL as PROTOCOL_ID,
    )
    from vr_exposure.console.scripted import (
        ScriptedSession,
        compressed_protocol,
        time_compression,
    )
    from vr_exposure.core.loading import load_library
    from vr_exposure.link import LinkClient
    from vr_exposure.renderer.process import RendererProcess

    app = QApplication.instance() or QApplication(sys.argv[:1])
    minutes = args.seconds / 60.0 / 0.8  # grab at 80% of the compressed session
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
        )
        controller.add_note("Patient seated, calm; agreed to start with photographs")
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            script.step()
            spin(0.1)
        controller.add_note("Spider walked toward the patient: held gaze, breathing steady")
        spin(1.0, lambda: window.mirror.frames_shown > 0)
        window.grab().save(str(args.out / "console.png"))
        form = window.open_ssq("after", [1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
        spin(0.8)
        # Qt's offscreen platform has no compositor: paint the dialog onto the window's image by hand.
        from PyQt6.QtGui import QPainter

        image = window.grab()
        painter = QPainter(image)
        painter.drawPixmap(form.geometry().topLeft() - window.geometry().topLeft(), form.grab())
        painter.end()
        image.save(str(args.out / "console-ssq.png"))
        form.reject()
        spin(0.3)
        window.trigger_safe_place()
        spin(20, lambda: controller.renderer_state.mode == "safe_place")
        spin(4.0)  # the fade, and a few seconds on the safe-place clock
        window.grab().save(str(args.out / "console-safe-place.png"))
        window.leave_safe_place()
        spin(20, lambda: controller.renderer_state.mode == "running")
        spin(3.0)
        os.kill(renderer.proc.pid, signal.SIGSTOP)
        try:
            spin(30, lambda: window.banner.level == "degraded")
            spin(0.6)
            window.grab().save(str(args.out / "console-degraded.png"))
        finally:
            os.kill(renderer.proc.pid, signal.SIGCONT)
        spin(30, lambda: window.banner.level == "ok")
        spin(2.0)
        from vr_exposure.link import messages as m

        controller.on_telemetry(m.FrameTiming(median_ms=400.0, p99_ms=900.0, display_period_ms=1000 / 90))
        window.mirror._update_status()
        window.grab().save(str(args.out / "console-low-fps.png"))
        os.kill(renderer.proc.pid, signal.SIGKILL)
        spin(8, lambda: window.banner.level == "lost")
        spin(2.5)
        window.grab().save(str(args.out / "console-lost.png"))
        for name in (
            "console.png",
            "console-ssq.png",
            "console-safe-place.png",
            "console-degraded.png",
            "console-low-fps.png",
            "console-lost.png",
        ):
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
