"""Mirror benchmark: how many patient-view pictures per second the console shows, against how fast
the renderer itself draws, on a loopback link.

    .venv/bin/python benchmarks/mirror.py [--size 320x180] [--seconds 15]

Starts a real renderer (``--backend offscreen``, the spiders scene at intensity 60), connects a
console (controller, link bridge and the patient-view mirror widget on Qt's offscreen platform),
waits for the first picture, then counts for ``--seconds``: pictures decoded and shown by the mirror,
pictures received, and the renderer's own frame rate from its ``frame_timing`` (1000 / median frame
time).

The mirror cannot be faster than the renderer draws, and aims at 10 fps (the renderer's mirror rate).
The baseline measured in the same run is what is reachable, ``min(10, renderer fps)``; target:
``shown_ratio >= 0.9`` (the console shows at least 90% of the pictures it could). Prints figures, then
as the LAST line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="320x180")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt6.QtCore import QEventLoop
    from PyQt6.QtWidgets import QApplication

    from vr_exposure.console.bridge import LinkBridge
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.console.mirror import TARGET_FPS, PatientMirror
    from vr_exposure.core.loading import load_library
    from vr_exposure.link import LinkClient
    from vr_exposure.renderer.process import RendererProcess

    app = QApplication.instance() or QApplication(sys.argv[:1])
    # A scene to draw (spiders at intensity 60): an empty renderer draws thousands of frames a second.
    renderer = RendererProcess(
        backend="offscreen",
        size=args.size,
        patient=False,
        extra=["--scene", "spiders", "--intensity", "60"],
    )
    client = LinkClient(renderer.command_endpoint, renderer.pub_endpoint, name="benchmark")
    controller = ConsoleController(client, load_library())
    bridge = LinkBridge(client, controller)
    mirror = PatientMirror()
    mirror.resize(960, 560)
    mirror.show()
    frame_ms: list[float] = []

    def on_event(ev: object) -> None:
        kind = getattr(ev, "kind", "")
        if kind == "view_image":
            mirror.push_jpeg(ev["jpeg"])  # type: ignore[index]
        elif kind == "frame_timing":
            frame_ms.append(ev["timing"].median_ms)  # type: ignore[index]

    controller.subscribe(on_event)

    def spin(seconds: float, until: object = None) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
            time.sleep(0.002)
            if callable(until) and until():
                return True
        return False

    try:
        if not spin(60, lambda: mirror.frames_shown > 0):
            print(f"no picture from the renderer:\n{renderer.log_tail()}", file=sys.stderr)
            return 1
        spin(2.0)  # past the first second's start-up
        frame_ms.clear()
        shown0, received0, t0 = mirror.frames_shown, mirror.frames_received, time.monotonic()
        spin(args.seconds)
        elapsed = time.monotonic() - t0
        shown = (mirror.frames_shown - shown0) / elapsed
        received = (mirror.frames_received - received0) / elapsed
    finally:
        bridge.close()
        client.close()
        renderer.cleanup()
        mirror.close()
    renderer_fps = 1000.0 / statistics.median(frame_ms) if frame_ms else 0.0
    reachable = min(TARGET_FPS, renderer_fps)
    print(f"size {args.size}, {elapsed:.1f} s")
    print(f"renderer draws        {renderer_fps:6.1f} fps (median of {len(frame_ms)} frame_timing windows)")
    print(f"pictures received     {received:6.1f} /s")
    print(f"pictures shown        {shown:6.1f} /s (reachable: {reachable:.1f})")
    if renderer_fps < TARGET_FPS:
        print(f"the renderer draws below {TARGET_FPS:.0f} fps here: the mirror says so in its status line")
    print(
        json.dumps(
            {
                "benchmark": "mirror",
                "size": args.size,
                "renderer_fps": round(renderer_fps, 2),
                "received_fps": round(received, 2),
                "shown_fps": round(shown, 2),
                "reachable_fps": round(reachable, 2),
                "shown_ratio": round(shown / reachable, 3) if reachable > 0 else None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
