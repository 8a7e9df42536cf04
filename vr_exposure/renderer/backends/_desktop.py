"""What the window and offscreen backends share: mono or side-by-side stereo cameras on the rig,
keyboard/mouse look, and the patient keys.

Patient keys (also listed in ``vr-exposure renderer --help``):

* ``space`` or ``escape``: go to the safe place (escape too, because it is what a startled person
  presses; it never quits the renderer);
* ``0`` .. ``9``: SUDS 0 .. 90; ``h`` or ``=``: SUDS 100.

Look: arrow keys, or drag with the left mouse button (window only).
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

from vr_exposure.renderer.backends import (
    AppContext,
    Backend,
    BackendOptions,
    FrameInfo,
    HeadPose,
    PatientAction,
)

#: Horizontal field of view of the desktop view; close to a headset's without looking fish-eyed.
FOV_H_DEG = 80.0
NEAR_M = 0.05
FAR_M = 500.0
#: Arrow-key look speed and mouse-drag sensitivity.
LOOK_SPEED_DEG_S = 60.0
MOUSE_DEG_PER_UNIT = 60.0
PITCH_LIMIT_DEG = 80.0

SAFE_PLACE_KEYS = ("space", "escape")
SUDS_KEYS: dict[str, int] = {str(d): d * 10 for d in range(10)} | {"h": 100, "=": 100}
_ARROWS = ("arrow_left", "arrow_right", "arrow_up", "arrow_down")


class DesktopBackend(Backend):
    """Cameras on the rig for a screen or buffer; patient keys; arrow/mouse look."""

    def __init__(self, options: BackendOptions) -> None:
        super().__init__(options)
        self._actions: list[PatientAction] = []
        self._held: dict[str, bool] = dict.fromkeys(_ARROWS, False)
        self._heading_deg = 0.0
        self._pitch_deg = 0.0
        self._last_t = time.perf_counter()
        self._last_mouse: tuple[float, float] | None = None
        self._app: AppContext | None = None
        self._display_regions: list[Any] = []
        self._disabled_regions: list[Any] = []
        self._camera_parent: Any = None
        self._lens_fov: Any = None
        self.cameras: list[Any] = []

    # -- setup -------------------------------------------------------------------------------------

    def setup(self, app: AppContext) -> None:
        from panda3d.core import Camera, PerspectiveLens

        self._app = app
        base, win, rig = app.base, app.win, app.rig
        w, h = win.getXSize(), win.getYSize()
        if self.options.stereo:
            # Side-by-side: two display regions, one camera per eye. The default camera's display
            # region is switched off so the scene is not drawn a third time; not the camera itself
            # (as the OpenXR mirror learned: Panda3D may then stop redrawing an offscreen window).
            for i in range(win.getNumDisplayRegions()):
                region = win.getDisplayRegion(i)
                if region.getCamera() == base.cam and region.isActive():
                    region.setActive(False)
                    self._disabled_regions.append(region)
            for eye, (left, right) in ((rig.left_eye, (0.0, 0.5)), (rig.right_eye, (0.5, 1.0))):
                lens = PerspectiveLens()
                lens.setNearFar(NEAR_M, FAR_M)
                lens.setFov(FOV_H_DEG * 0.75, _vfov(FOV_H_DEG * 0.75, (w / 2) / max(h, 1)))
                cam = eye.attachNewNode(Camera(f"{eye.getName()}-camera", lens))
                dr = win.makeDisplayRegion(left, right, 0.0, 1.0)
                dr.setSort(-10)
                dr.setClearColorActive(True)
                dr.setClearColor((0, 0, 0, 1))
                dr.setClearDepthActive(True)
                dr.setCamera(cam)
                self._display_regions.append(dr)
                self.cameras.append(cam)
        else:
            # Mono: ShowBase's own camera, moved onto the head (and back in shutdown, for a ShowBase
            # that outlives the app, as in tests).
            self._camera_parent = base.camera.getParent()
            self._lens_fov = base.camLens.getFov()
            base.camera.reparentTo(rig.head)
            base.camera.setPosHpr(0, 0, 0, 0, 0, 0)
            lens = base.camLens
            lens.setNearFar(NEAR_M, FAR_M)
            lens.setFov(FOV_H_DEG, _vfov(FOV_H_DEG, w / max(h, 1)))
            self.cameras.append(base.cam)
        for key in SAFE_PLACE_KEYS:
            app.accept_key(key, self._on_safe_place_key)
        for key, value in SUDS_KEYS.items():
            app.accept_key(key, functools.partial(self._on_suds_key, value))
        for arrow in _ARROWS:
            app.accept_key(arrow, functools.partial(self._set_held, arrow, True))
            app.accept_key(f"{arrow}-up", functools.partial(self._set_held, arrow, False))

    def _set_held(self, arrow: str, down: bool) -> None:
        self._held[arrow] = down

    def _on_safe_place_key(self) -> None:
        self._actions.append(PatientAction("safe_place"))

    def _on_suds_key(self, value: int) -> None:
        self._actions.append(PatientAction("suds", value))

    # -- per frame ---------------------------------------------------------------------------------

    def begin_frame(self) -> FrameInfo:
        now = time.perf_counter()
        dt = min(now - self._last_t, 0.1)
        self._last_t = now
        self._update_look(dt)
        assert self._app is not None, "setup() first"
        head = self._app.rig.head
        head.setHpr(self._heading_deg, self._pitch_deg, 0)
        pos = head.getPos()
        q = head.getQuat()
        pose = HeadPose(
            (float(pos.x), float(pos.y), float(pos.z)),
            (float(q.getI()), float(q.getJ()), float(q.getK()), float(q.getR())),
        )
        return FrameInfo(time.monotonic_ns() + self.frame_period_ns, pose, True)

    def _update_look(self, dt: float) -> None:
        step = LOOK_SPEED_DEG_S * dt
        self._heading_deg += step * (self._held["arrow_left"] - self._held["arrow_right"])
        self._pitch_deg += step * (self._held["arrow_up"] - self._held["arrow_down"])
        watcher = getattr(self._app.base, "mouseWatcherNode", None) if self._app else None
        if watcher is not None and watcher.hasMouse():
            from panda3d.core import MouseButton

            x, y = watcher.getMouseX(), watcher.getMouseY()
            if watcher.isButtonDown(MouseButton.one()) and self._last_mouse is not None:
                self._heading_deg -= (x - self._last_mouse[0]) * MOUSE_DEG_PER_UNIT
                self._pitch_deg += (y - self._last_mouse[1]) * MOUSE_DEG_PER_UNIT
            self._last_mouse = (x, y)
        self._pitch_deg = max(-PITCH_LIMIT_DEG, min(PITCH_LIMIT_DEG, self._pitch_deg))

    def set_look(self, heading_deg: float, pitch_deg: float) -> None:
        """Point the head (tests, scripted demos)."""
        self._heading_deg, self._pitch_deg = heading_deg, pitch_deg

    def poll_actions(self) -> list[PatientAction]:
        actions, self._actions = self._actions, []
        return actions

    def shutdown(self) -> None:
        app, self._app = self._app, None
        if app is None:
            return
        for dr in self._display_regions:
            app.win.removeDisplayRegion(dr)
        self._display_regions.clear()
        if self.options.stereo:
            for cam in self.cameras:
                cam.removeNode()
            for region in self._disabled_regions:
                region.setActive(True)
            self._disabled_regions.clear()
        elif self._camera_parent is not None:
            app.base.camera.reparentTo(self._camera_parent)
            app.base.camera.setPosHpr(0, 0, 0, 0, 0, 0)
            app.base.camLens.setFov(self._lens_fov)
        self.cameras.clear()


def _vfov(hfov_deg: float, aspect: float) -> float:
    """The vertical field of view that goes with ``hfov_deg`` at this aspect ratio (width/height)."""
    return math.degrees(2 * math.atan(math.tan(math.radians(hfov_deg) / 2) / aspect))
