"""The desktop-window backend: the scene in a window on the therapist's or patient's screen, mono or
side-by-side stereo (``--stereo``: two display regions, per-eye cameras ``IPD_M`` apart), with
arrow-key / mouse-drag look and the patient keys of :mod:`._desktop`."""

from __future__ import annotations

from vr_exposure.renderer.backends import BackendOptions, BackendUnavailable, display_available
from vr_exposure.renderer.backends._desktop import DesktopBackend


class WindowBackend(DesktopBackend):
    name = "window"
    window_type = "onscreen"

    def __init__(self, options: BackendOptions) -> None:
        if not display_available():
            raise BackendUnavailable("no display (DISPLAY and WAYLAND_DISPLAY are not set)")
        super().__init__(options)

    def prc_data(self) -> str:
        # vsync paces the loop to the monitor, as a headset's runtime would.
        return super().prc_data() + "sync-video true\n"
