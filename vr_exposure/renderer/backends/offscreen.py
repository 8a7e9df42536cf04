"""The offscreen backend: the scene rendered into a buffer, no display needed (tests, CI, the demo,
``vr-exposure still``). The same camera rig and patient keys as the window; the keys arrive as
Panda3D events sent by a script or test (``messenger.send("space")``)."""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable

from vr_exposure.renderer.backends import BackendOptions, display_available
from vr_exposure.renderer.backends._desktop import DesktopBackend

__all__ = ["OffscreenBackend", "gl_finish"]


class OffscreenBackend(DesktopBackend):
    name = "offscreen"
    window_type = "offscreen"

    def __init__(self, options: BackendOptions) -> None:
        super().__init__(options)
        # Paced like a 90 Hz headset for the dropped-frame count; the loop itself runs unthrottled.
        self.frame_period_ns = 1_000_000_000 // 90

    def end_frame(self) -> None:
        # An offscreen buffer is never swapped, so nothing waits for its frames: a software
        # rasteriser (Mesa's llvmpipe) then queues them and the loop later stalls for seconds at once
        # while it catches up (and commands show up that much later). Waiting here for each frame
        # keeps frames evenly paced and what the telemetry reports true.
        gl_finish()

    def prc_data(self) -> str:
        prc = super().prc_data() + "window-type offscreen\nsync-video false\nframebuffer-multisample 0\n"
        if not display_available():
            # Straight to EGL: no failed X11 attempt (and its error line) first. No input devices
            # either, so the evdev scan's complaints are noise.
            prc += "load-display p3headlessgl\nnotify-level-device fatal\n"
        return prc


def gl_finish() -> None:
    """``glFinish`` on the current OpenGL context (Panda3D keeps its context current on the main
    thread in its default single-threaded model): returns once every queued command is done. A no-op
    where no OpenGL library can be found."""
    finish = _gl_finish_function()
    if finish is not None:
        finish()


@functools.cache
def _gl_finish_function() -> Callable[[], None] | None:
    if sys.platform == "win32":
        candidates = ["opengl32"]
    elif sys.platform == "darwin":
        candidates = ["/System/Library/Frameworks/OpenGL.framework/OpenGL"]
    else:
        candidates = ["libGL.so.1", "libOpenGL.so.0"]
    for name in candidates:
        try:
            lib = ctypes.WinDLL(name) if sys.platform == "win32" else ctypes.CDLL(name)  # type: ignore[attr-defined,unused-ignore]
        except OSError:
            continue
        finish = getattr(lib, "glFinish", None)
        if finish is not None:
            finish.argtypes = []
            finish.restype = None
            return finish  # type: ignore[no-any-return]
    return None
