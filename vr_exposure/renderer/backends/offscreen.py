"""The offscreen backend: the scene rendered into a buffer, no display needed (tests, CI, the demo,
``vr-exposure still``). The same camera rig and patient keys as the window; the keys arrive as
Panda3D events sent by a script or test (``messenger.send("space")``)."""

from __future__ import annotations

from vr_exposure.renderer.backends import BackendOptions, display_available
from vr_exposure.renderer.backends._desktop import DesktopBackend


class OffscreenBackend(DesktopBackend):
    name = "offscreen"
    window_type = "offscreen"

    def __init__(self, options: BackendOptions) -> None:
        super().__init__(options)
        # Paced like a 90 Hz headset for the dropped-frame count; the loop itself runs unthrottled.
        self.frame_period_ns = 1_000_000_000 // 90

    def prc_data(self) -> str:
        prc = super().prc_data() + "window-type offscreen\nsync-video false\nframebuffer-multisample 0\n"
        if not display_available():
            # Straight to EGL: no failed X11 attempt (and its error line) first. No input devices
            # either, so the evdev scan's complaints are noise.
            prc += "load-display p3headlessgl\nnotify-level-device fatal\n"
        return prc
