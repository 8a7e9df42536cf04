"""The OpenXR backend: the scene in a headset, through any OpenXR runtime with OpenGL support.

What it does, per frame (driven by the app's ``vr-exposure-xr`` task, then Panda3D's render, then
the app's telemetry task):

1. :meth:`OpenXrBackend.begin_frame` handles the runtime's events (the session state machine below),
   then ``xrWaitFrame`` / ``xrBeginFrame``, locates both eyes and the head at the predicted display
   time and moves the rig (``tracking-space -> head -> left-eye / right-eye``): the head from the
   VIEW space, each eye camera from its view pose, each lens from its view's asymmetric field of
   view. While the session is focused it syncs the patient's controller actions.
2. Panda3D renders each eye into its own offscreen buffer (sorted before the mirror window); the
   buffer's display-region draw callback acquires the eye's swapchain image, blits the eye into it
   and releases it.
3. :meth:`OpenXrBackend.end_frame` submits one projection layer (or none, when the runtime said not
   to render or tracking was lost) with ``xrEndFrame``.

Session states: READY -> ``xrBeginSession``; SYNCHRONIZED / VISIBLE / FOCUSED -> frames (rendered
when the runtime says so, actions only when focused); STOPPING -> ``xrEndSession``; EXITING -> the
app asked to exit. LOSS_PENDING or instance loss (headset unplugged, runtime restarting) -> every
XR object destroyed at once, but the renderer goes on: the desktop window shows the scene, the link
and journal keep running, and every :data:`RECONNECT_S` the backend asks the runtime for the headset
again and re-creates the session when it is back. Until READY the loop keeps running without XR
frames. Entering and leaving FOCUSED (the headset put on / taken off) and a loss are
:class:`~vr_exposure.renderer.backends.BackendNotice` s the app journals and publishes.

Recentering: the runtime's ``XrEventDataReferenceSpaceChangePending`` is reported (the runtime has
moved the space itself); :meth:`OpenXrBackend.recenter` (the console's request, seated use) turns
and shifts the app's space so the head is at the origin looking forward, horizontally.

Shutdown order matters: swapchains, then the session, then the instance, all before Panda3D closes
its window (the runtime keeps GL objects in Panda3D's context and crashes at exit otherwise).

Swapchain format: GL_SRGB8_ALPHA8, else GL_RGBA8, never GL_SRGB8 (see :mod:`.xr_seam`).
The runtime is behind the :class:`~vr_exposure.renderer.backends.xr_seam.XrRuntime` seam; tests use
:class:`~vr_exposure.renderer.backends.fake_xr.FakeXrRuntime`.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from typing import TYPE_CHECKING, Any, Protocol

from vr_exposure.renderer.backends import (
    SEATED_EYE_HEIGHT_M,
    AppContext,
    Backend,
    BackendNotice,
    BackendOptions,
    BackendUnavailable,
    FrameInfo,
    HeadPose,
    PatientAction,
    display_available,
)
from vr_exposure.renderer.backends.xr_seam import (
    GL_SRGB8_ALPHA8,
    ActionStates,
    InstanceLossPending,
    ProjectionLayerView,
    ReferenceSpaceChanging,
    SessionState,
    SessionStateChanged,
    SwapchainInfo,
    ViewConfig,
    XrFov,
    XrPose,
    XrRuntime,
    XrRuntimeError,
    XrUnavailable,
    XrView,
    choose_swapchain_format,
    xr_to_panda_position,
    xr_to_panda_quat,
)

if TYPE_CHECKING:
    import numpy as np
    from panda3d.core import LMatrix4

__all__ = ["EyeBlitter", "GlEyeBlitter", "OpenXrBackend", "XrPacing", "projection_matrix"]

log = logging.getLogger(__name__)

NEAR_M = 0.05
FAR_M = 500.0
#: While the session is not running there is no xrWaitFrame to pace the loop; this keeps the app's
#: own tasks (link, journal) running without spinning a core.
IDLE_FRAME_S = 0.01
#: How long shutdown waits for the runtime to walk a running session through STOPPING.
EXIT_GRACE_S = 0.5
#: Thumbstick travel that steps the SUDS rating, and the travel it must return under to step again.
SUDS_STICK_STEP = 0.6
SUDS_STICK_REARM = 0.3
SUDS_STEP = 10
#: The pulse on the patient's controllers when a SUDS prompt opens.
PROMPT_PULSE_NS = 150_000_000
PROMPT_PULSE_AMPLITUDE = 0.6
#: After a lost session, how often the backend asks the runtime whether the headset is back.
RECONNECT_S = 2.0
#: Eye buffers render before the window (the mirror), which samples the left eye's texture.
EYE_BUFFER_SORT = -100

_ACTIVE_STATES = (SessionState.SYNCHRONIZED, SessionState.VISIBLE, SessionState.FOCUSED)


class EyeBlitter(Protocol):
    """Copies the framebuffer Panda3D just drew an eye into into a swapchain image (GL texture)."""

    def copy(self, texture: int, width: int, height: int, capture: bool) -> np.ndarray | None:
        """Blit the bound draw framebuffer into ``texture``; with ``capture``, read the image back."""

    def release(self) -> None:
        """Free GL objects (GL context current)."""


class GlEyeBlitter:
    """The real copy: ``glBlitFramebuffer`` from Panda3D's eye framebuffer into the swapchain image.

    Runs inside the eye buffer's draw callback, where Panda3D's framebuffer for that eye is bound.
    Panda3D's eye buffer holds linear colour (the scene's values, lit, without any transfer curve).
    With ``encode_srgb`` (a GL_SRGB8_ALPHA8 swapchain) the copy encodes it to sRGB on the way
    (``GL_FRAMEBUFFER_SRGB`` on for the blit), so the compositor, which decodes the image as sRGB,
    shows the light the scene asked for: a 50 % grey arrives as 188/255 and is seen as half the white's
    light. Into a GL_RGBA8 image (``encode_srgb`` off) the bytes go unchanged.
    """

    def __init__(self) -> None:
        self._fbo: int | None = None
        self.encode_srgb = False

    def copy(self, texture: int, width: int, height: int, capture: bool) -> np.ndarray | None:
        import numpy as np
        from OpenGL import GL

        source = int(GL.glGetIntegerv(GL.GL_DRAW_FRAMEBUFFER_BINDING))
        previous_read = int(GL.glGetIntegerv(GL.GL_READ_FRAMEBUFFER_BINDING))
        if self._fbo is None:
            self._fbo = int(GL.glGenFramebuffers(1))
        srgb = bool(GL.glIsEnabled(GL.GL_FRAMEBUFFER_SRGB))
        scissor = bool(GL.glIsEnabled(GL.GL_SCISSOR_TEST))
        if self.encode_srgb:
            GL.glEnable(GL.GL_FRAMEBUFFER_SRGB)
        else:
            GL.glDisable(GL.GL_FRAMEBUFFER_SRGB)
        GL.glDisable(GL.GL_SCISSOR_TEST)  # Panda3D's display region scissor would clip the blit
        pixels: np.ndarray | None = None
        try:
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, source)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._fbo)
            GL.glFramebufferTexture2D(
                GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, texture, 0
            )
            GL.glBlitFramebuffer(
                0, 0, width, height, 0, 0, width, height, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST
            )
            if capture:
                GL.glDisable(GL.GL_FRAMEBUFFER_SRGB)  # the image's bytes as stored
                GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._fbo)
                GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
                raw = GL.glReadPixels(0, 0, width, height, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
                pixels = np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 4)[::-1].copy()
            # Detached, so the runtime owns the image again once it is released.
            GL.glFramebufferTexture2D(GL.GL_DRAW_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, 0, 0)
        finally:
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, source)
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, previous_read)
            if srgb:
                GL.glEnable(GL.GL_FRAMEBUFFER_SRGB)
            else:
                GL.glDisable(GL.GL_FRAMEBUFFER_SRGB)
            if scissor:
                GL.glEnable(GL.GL_SCISSOR_TEST)
        return pixels

    def release(self) -> None:
        if self._fbo is not None:
            from OpenGL import GL

            GL.glDeleteFramebuffers(1, [self._fbo])
            self._fbo = None


def projection_matrix(fov: XrFov, near_m: float, far_m: float) -> LMatrix4:
    """The lens matrix for an asymmetric field of view, for a Panda3D ``MatrixLens``.

    The OpenXR-style projection (camera looking down -Z, +Y up, GL clip space with z in [-1, 1])
    preceded by the change from Panda3D's camera axes (+Y forward, +Z up), in Panda3D's row-vector
    order.
    """
    from panda3d.core import CS_default, CS_yup_right, LMatrix4

    tan_l, tan_r = math.tan(fov.angle_left), math.tan(fov.angle_right)
    tan_u, tan_d = math.tan(fov.angle_up), math.tan(fov.angle_down)
    w, h = tan_r - tan_l, tan_u - tan_d
    # Written as columns of the usual column-vector matrix = rows of Panda3D's row-vector one.
    proj = LMatrix4(
        2 / w, 0, 0, 0,
        0, 2 / h, 0, 0,
        (tan_r + tan_l) / w, (tan_u + tan_d) / h, -(far_m + near_m) / (far_m - near_m), -1,
        0, 0, -2 * far_m * near_m / (far_m - near_m), 0,
    )  # fmt: skip
    return LMatrix4.convert_mat(CS_default, CS_yup_right) * proj


def _panda_pose(pose: XrPose) -> tuple[Any, Any]:
    from panda3d.core import LPoint3, LQuaternion

    x, y, z = xr_to_panda_position(pose.position_m)
    qx, qy, qz, qw = xr_to_panda_quat(pose.orientation_xyzw)
    return LPoint3(x, y, z), LQuaternion(qw, qx, qy, qz)


class XrPacing:
    """The XR frame loop's own figures since the last :meth:`take`: the runtime's predicted display
    period, late frames (the next predicted display time skipped one or more periods: the app missed
    its slot) and the app's CPU time per frame between ``xrWaitFrame`` returning and ``xrEndFrame``
    (the thread's CPU clock, so the machine's other load does not count)."""

    def __init__(self) -> None:
        self.frames = 0
        self.late = 0
        self.period_ns = 0
        self.app_cpu_ns: list[int] = []
        self.app_wall_ns: list[int] = []
        self._last_display_ns: int | None = None
        self._wait_cpu_ns = 0
        self._wait_wall_ns = 0

    def waited(self, display_time_ns: int, period_ns: int) -> None:
        if period_ns > 0:
            self.period_ns = period_ns
            last = self._last_display_ns
            if last is not None and display_time_ns - last > 1.5 * period_ns:
                self.late += 1
        self._last_display_ns = display_time_ns
        self._wait_cpu_ns = time.thread_time_ns()
        self._wait_wall_ns = time.perf_counter_ns()

    def ending(self) -> None:
        self.frames += 1
        self.app_cpu_ns.append(time.thread_time_ns() - self._wait_cpu_ns)
        self.app_wall_ns.append(time.perf_counter_ns() - self._wait_wall_ns)

    def take(self) -> dict[str, float | int] | None:
        """The figures since the last call (None when no XR frame ended), then start afresh."""
        if not self.frames:
            return None
        cpu = sorted(self.app_cpu_ns)
        wall = sorted(self.app_wall_ns)
        figures: dict[str, float | int] = {
            "xr_frames": self.frames,
            "xr_late": self.late,
            "xr_period_ms": round(self.period_ns / 1e6, 4),
            "xr_app_cpu_ms": round(cpu[len(cpu) // 2] / 1e6, 4),
            "xr_app_cpu_p99_ms": round(cpu[min(len(cpu) - 1, int(len(cpu) * 0.99))] / 1e6, 4),
            "xr_app_wall_ms": round(wall[len(wall) // 2] / 1e6, 4),
        }
        self.frames = self.late = 0
        self.app_cpu_ns, self.app_wall_ns = [], []
        return figures


class _Eye:
    """One eye: its swapchain, camera, lens and offscreen buffer."""

    def __init__(self, name: str, swapchain: SwapchainInfo) -> None:
        self.name = name
        self.swapchain = swapchain
        self.camera: Any = None
        self.lens: Any = None
        self.buffer: Any = None
        self.texture: Any = None
        self.fov: XrFov | None = None
        self.view: XrView | None = None
        self.rendered = False
        self.captured: np.ndarray | None = None


class OpenXrBackend(Backend):
    """The headset (see the module docstring).

    The constructor creates the OpenXR instance and finds the headset, so a machine without either
    raises :class:`BackendUnavailable` before any window opens. ``runtime`` is the seam (default: the
    real runtime through pyopenxr); ``blitter`` copies eyes into swapchain images (default: OpenGL);
    ``capture_eyes`` reads each eye's swapchain image back after the copy (:attr:`eye_images`), for
    checks against a real runtime.
    """

    name = "openxr"
    head_mounted = True

    def __init__(
        self,
        options: BackendOptions,
        *,
        runtime: XrRuntime | None = None,
        blitter: EyeBlitter | None = None,
        near_m: float = NEAR_M,
        far_m: float = FAR_M,
        capture_eyes: bool = False,
    ) -> None:
        super().__init__(options)
        # A mirror window where there is a display; headless (EGL) otherwise.
        self.window_type = "onscreen" if display_available() else "offscreen"  # type: ignore[misc]
        if runtime is None:
            from vr_exposure.renderer.backends.openxr_runtime import PyOpenXrRuntime

            runtime = PyOpenXrRuntime()
        self.runtime: XrRuntime = runtime
        self.blitter: EyeBlitter = blitter or GlEyeBlitter()
        self.near_m = near_m
        self.far_m = far_m
        self.capture_eyes = capture_eyes
        try:
            runtime.create_instance("vr-exposure")
            self.view_configs: list[ViewConfig] = runtime.view_configs()
        except XrUnavailable as exc:
            raise BackendUnavailable(str(exc)) from exc
        if len(self.view_configs) != 2:
            self._destroy_instance()
            raise BackendUnavailable(f"the headset has {len(self.view_configs)} views; stereo (2) is needed")

        self.state = SessionState.UNKNOWN
        #: Every state the runtime went through, in order (journaled by tests, useful in a report).
        self.state_history: list[SessionState] = []
        self.session_running = False
        self.exit_requested = False
        self.exit_reason: str | None = None
        self.frames_submitted = 0
        self.space_kind = "local"
        self.suds_selection = 0
        self._app: AppContext | None = None
        self._eyes: list[_Eye] = []
        self._actions: list[PatientAction] = []
        self._controls = ActionStates()
        self._stick_armed = True
        self._frame_open = False
        self._should_render = False
        self._display_time_ns = 0
        self._head_pose = HeadPose()
        self._have_session = False
        self._have_instance = True
        self._shut_down = False
        self._mirror: list[Any] = []
        self._disabled_regions: list[Any] = []
        #: Why the XR session is gone (None while there is one); the backend keeps retrying.
        self.lost_reason: str | None = None
        self.pacing = XrPacing()
        self.bindings: dict[str, str | None] = {}
        self.swapchain_format = 0
        self.sessions_created = 0
        self._retry_at = 0.0
        self._worn: bool | None = None
        self._camera_parent: Any = None
        self._notices: list[BackendNotice] = []
        # The console's recenter: a turn about the vertical and a horizontal shift applied to every
        # tracked pose (Panda3D axes), so the head is at the origin looking along +Y.
        self._recenter_yaw_rad = 0.0
        self._recenter_offset = (0.0, 0.0)

    def prc_data(self) -> str:
        # xrWaitFrame paces the loop; a vsync'd mirror window would halve the headset's frame rate.
        return super().prc_data() + "sync-video false\nframebuffer-multisample 0\n"

    @property
    def eye_images(self) -> list[np.ndarray | None]:
        """Each eye's swapchain image as last read back (``capture_eyes``), top row first."""
        return [eye.captured for eye in self._eyes]

    @property
    def eye_cameras(self) -> list[Any]:
        return [eye.camera for eye in self._eyes]

    @property
    def eye_lenses(self) -> list[Any]:
        return [eye.lens for eye in self._eyes]

    # -- setup -------------------------------------------------------------------------------------

    def setup(self, app: AppContext) -> None:
        from vr_exposure.renderer.backends._desktop import SAFE_PLACE_KEYS, SUDS_KEYS

        self._app = app
        # The GL context is current on this thread once Panda3D has drawn a frame; the session binds
        # to whichever context is current.
        app.base.graphicsEngine.renderFrame()
        try:
            self._start_session(app)
        except XrUnavailable as exc:
            self.shutdown()
            raise BackendUnavailable(str(exc)) from exc
        # The desktop's patient keys work too (a seated patient may have a keyboard at hand).
        for key in SAFE_PLACE_KEYS:
            app.accept_key(key, self._on_safe_place_key)
        for key, value in SUDS_KEYS.items():
            app.accept_key(key, functools.partial(self._on_suds_key, value))

    def _start_session(self, app: AppContext) -> None:
        """Session, swapchains, spaces, actions, then Panda3D's eye buffers and the mirror."""
        self.runtime.create_session()
        self._have_session = True
        fmt = choose_swapchain_format(self.runtime.swapchain_formats())
        if isinstance(self.blitter, GlEyeBlitter):
            self.blitter.encode_srgb = fmt == GL_SRGB8_ALPHA8
        self.swapchain_format = fmt
        for name, cfg in zip(("left-eye", "right-eye"), self.view_configs, strict=True):
            self._eyes.append(_Eye(name, self.runtime.create_swapchain(cfg.width, cfg.height, fmt)))
        self.space_kind = self.runtime.create_reference_space()
        #: Each interaction profile's path -> None (bound) or why the runtime would not bind it.
        self.bindings = self.runtime.create_actions()
        refused = {p: why for p, why in self.bindings.items() if why is not None}
        if refused:
            log.info("openxr: controller profiles not bound: %s", refused)
        self.sessions_created += 1
        log.info(
            "openxr: %s on %s, %s space, eyes %dx%d, format %#x",
            self.system_name, self.runtime.runtime_name, self.space_kind,
            self.view_configs[0].width, self.view_configs[0].height, fmt,
        )  # fmt: skip
        self._build_eyes(app)
        self._build_mirror(app)

    @property
    def system_name(self) -> str:
        return self.runtime.system_name

    def _build_eyes(self, app: AppContext) -> None:
        from panda3d.core import (
            Camera,
            FrameBufferProperties,
            GraphicsOutput,
            GraphicsPipe,
            MatrixLens,
            PythonCallbackObject,
            Texture,
            WindowProperties,
        )

        base, win = app.base, app.win
        rig_eyes = (app.rig.left_eye, app.rig.right_eye)
        for i, (eye, node) in enumerate(zip(self._eyes, rig_eyes, strict=True)):
            fbp = FrameBufferProperties()
            fbp.setRgbColor(True)
            fbp.setRgbaBits(8, 8, 8, 8)
            fbp.setDepthBits(24)
            sc = eye.swapchain
            buffer = base.graphicsEngine.makeOutput(
                base.pipe, f"xr-{eye.name}", EYE_BUFFER_SORT + i, fbp,
                WindowProperties.size(sc.width, sc.height), GraphicsPipe.BF_refuse_window,
                win.getGsg(), win,
            )  # fmt: skip
            if buffer is None:
                raise BackendUnavailable(
                    "Panda3D could not create an offscreen buffer for the headset's eyes"
                )
            eye.texture = Texture(f"xr-{eye.name}")
            buffer.addRenderTexture(eye.texture, GraphicsOutput.RTMBindOrCopy, GraphicsOutput.RTPColor)
            buffer.setClearColor(win.getClearColor())
            eye.lens = MatrixLens()
            eye.lens.setNearFar(self.near_m, self.far_m)
            eye.camera = node.attachNewNode(Camera(f"{eye.name}-camera", eye.lens))
            dr = buffer.makeDisplayRegion()
            dr.setCamera(eye.camera)
            dr.setDrawCallback(PythonCallbackObject(functools.partial(self._draw_eye, i)))
            buffer.setActive(False)  # until the runtime says to render
            eye.buffer = buffer

    def _build_mirror(self, app: AppContext) -> None:
        """The desktop window shows the left eye (and the app's own 2-D overlay on top)."""
        from panda3d.core import Camera, NodePath, OrthographicLens

        # The scene is drawn for the eyes; a third, mono, render for the window would cost a third of
        # the frame. The default camera's display region is switched off (not the camera: Panda3D
        # then stops redrawing an offscreen window altogether).
        main_cam = getattr(app.base, "cam", None)
        for i in range(app.win.getNumDisplayRegions()):
            region = app.win.getDisplayRegion(i)
            if main_cam is not None and region.getCamera() == main_cam and region.isActive():
                region.setActive(False)
                self._disabled_regions.append(region)
        scene = NodePath("xr-mirror")
        # The buffer's own card: its UVs account for a texture padded to a power of two.
        quad = self._eyes[0].buffer.getTextureCard()
        quad.reparentTo(scene)
        quad.setDepthTest(False)
        quad.setDepthWrite(False)
        lens = OrthographicLens()
        lens.setFilmSize(2, 2)
        lens.setNearFar(-10, 10)
        cam = scene.attachNewNode(Camera("xr-mirror-camera", lens))
        dr = app.win.makeDisplayRegion()
        dr.setSort(-20)
        dr.setCamera(cam)
        self._mirror = [scene, dr]

    # -- per frame ---------------------------------------------------------------------------------

    def begin_frame(self) -> FrameInfo:
        if self._shut_down:
            return FrameInfo(time.monotonic_ns(), self._head_pose, False)
        if self.lost_reason is not None:
            self._reconnect()
            if self.lost_reason is not None:
                time.sleep(IDLE_FRAME_S)
                return FrameInfo(time.monotonic_ns(), self._head_pose, True)
        try:
            # A frame the app began but never ended (its end-of-frame task failed) is ended empty,
            # or xrWaitFrame would be out of order.
            self._abandon_frame()
            self._pump_events()
            if not self.session_running or self._shut_down:
                self._set_eyes_active(False)
                if not self.exit_requested:
                    time.sleep(IDLE_FRAME_S)
                return FrameInfo(time.monotonic_ns(), self._head_pose, False)
            fs = self.runtime.wait_frame()
            self.pacing.waited(fs.predicted_display_time_ns, fs.predicted_display_period_ns)
            self.runtime.begin_frame()
            self._frame_open = True
            self._display_time_ns = fs.predicted_display_time_ns
            if fs.predicted_display_period_ns > 0:
                self.frame_period_ns = fs.predicted_display_period_ns
            render = fs.should_render and self._locate(fs.predicted_display_time_ns)
            self._should_render = render
            self._set_eyes_active(render)
            for eye in self._eyes:
                eye.rendered = False
            if self.state == SessionState.FOCUSED:
                self._on_controls(self.runtime.sync_actions())
        except XrRuntimeError as exc:
            self._lost(f"the OpenXR runtime failed: {exc}")
            return FrameInfo(time.monotonic_ns(), self._head_pose, False)
        mono = self.runtime.to_monotonic_ns(self._display_time_ns)
        return FrameInfo(mono if mono is not None else time.monotonic_ns(), self._head_pose, render)

    def _locate(self, t_ns: int) -> bool:
        """Move the rig to where the head and eyes will be at ``t_ns``; False while tracking is lost."""
        assert self._app is not None
        views = self.runtime.locate_views(t_ns)
        head = self.runtime.locate_head(t_ns)
        if views is None or head is None:
            return False
        rig = self._app.rig
        offset_z = SEATED_EYE_HEIGHT_M if self.space_kind == "local" else 0.0
        pos, quat = self._recentred(*_panda_pose(head))
        pos.z += offset_z
        rig.head.setPosQuat(pos, quat)
        for eye, node, view in zip(self._eyes, (rig.left_eye, rig.right_eye), views, strict=True):
            epos, equat = self._recentred(*_panda_pose(view.pose))
            epos.z += offset_z
            node.setPosQuat(rig.tracking_space, epos, equat)
            if view.fov != eye.fov:
                eye.lens.setUserMat(projection_matrix(view.fov, self.near_m, self.far_m))
                eye.fov = view.fov
            eye.view = view
        self._head_pose = HeadPose(
            (float(pos.x), float(pos.y), float(pos.z)),
            (float(quat.getI()), float(quat.getJ()), float(quat.getK()), float(quat.getR())),
        )
        return True

    def _recentred(self, pos: Any, quat: Any) -> tuple[Any, Any]:
        """A tracked pose after the console's recenter (shift, then turn about the vertical)."""
        if self._recenter_yaw_rad == 0.0 and self._recenter_offset == (0.0, 0.0):
            return pos, quat
        from panda3d.core import LPoint3, LQuaternion, LVector3

        turn = LQuaternion()
        turn.setFromAxisAngleRad(self._recenter_yaw_rad, LVector3(0, 0, 1))
        ox, oy = self._recenter_offset
        moved = turn.xform(LVector3(pos.x - ox, pos.y - oy, pos.z))
        return LPoint3(moved), quat * turn

    def recenter(self) -> BackendNotice:
        """The console's recenter (seated use): from the next frame the head is at the origin,
        horizontally, looking along the scene's forward. Height and pitch are left as tracked."""
        from panda3d.core import LPoint3, LQuaternion, LVector3

        if self.lost_reason is not None or not self.session_running:
            raise BackendUnavailable("no headset to recentre: the XR session is not running")
        hp = self._head_pose
        offset_z = SEATED_EYE_HEIGHT_M if self.space_kind == "local" else 0.0
        x, y, z = hp.position_m
        qx, qy, qz, qw = hp.orientation_xyzw
        # Back to the raw tracked pose, then the recenter that levels it.
        ox, oy = self._recenter_offset
        undo = LQuaternion()
        undo.setFromAxisAngleRad(-self._recenter_yaw_rad, LVector3(0, 0, 1))
        raw_pos = undo.xform(LVector3(x, y, z - offset_z)) + LVector3(ox, oy, 0)
        raw_quat = LQuaternion(qw, qx, qy, qz) * undo
        forward = raw_quat.xform(LVector3(0, 1, 0))
        heading = math.atan2(-forward.x, forward.y)  # the head's turn left of +Y, about +Z
        old_yaw, old_offset = self._recenter_yaw_rad, self._recenter_offset
        self._recenter_yaw_rad = -heading
        self._recenter_offset = (float(raw_pos.x), float(raw_pos.y))
        new_pos, new_quat = self._recentred(LPoint3(raw_pos), raw_quat)
        self._head_pose = HeadPose(
            (float(new_pos.x), float(new_pos.y), float(new_pos.z) + offset_z),
            (float(new_quat.getI()), float(new_quat.getJ()), float(new_quat.getK()), float(new_quat.getR())),
        )
        notice = BackendNotice(
            "recentered",
            reason="console",
            yaw_deg=math.degrees(self._recenter_yaw_rad - old_yaw),
            offset_m=(
                self._recenter_offset[0] - old_offset[0],
                self._recenter_offset[1] - old_offset[1],
                0.0,
            ),
        )
        return notice

    def prompt_opened(self) -> None:
        """A SUDS prompt opened: a short pulse on the patient's controllers, so they look."""
        if self.state != SessionState.FOCUSED or self._shut_down or self.lost_reason is not None:
            return
        try:
            self.runtime.haptic_pulse(PROMPT_PULSE_NS, PROMPT_PULSE_AMPLITUDE)
        except XrRuntimeError as exc:
            log.warning("openxr: the prompt's haptic pulse failed: %s", exc)

    def pacing_figures(self) -> dict[str, float | int] | None:
        """The XR frame loop's figures since the last call (for the app's frame-timing telemetry)."""
        return self.pacing.take()

    def poll_notices(self) -> list[BackendNotice]:
        notices, self._notices = self._notices, []
        return notices

    def _draw_eye(self, index: int, cbdata: Any) -> None:
        """Panda3D's draw of one eye, then the copy into that eye's swapchain image."""
        cbdata.upcall()
        if not (self._frame_open and self._should_render) or self._shut_down:
            return
        eye = self._eyes[index]
        sc = eye.swapchain
        try:
            image = self.runtime.acquire_image(sc.swapchain)
            try:
                pixels = self.blitter.copy(sc.images[image], sc.width, sc.height, self.capture_eyes)
            finally:
                self.runtime.release_image(sc.swapchain)
        except XrRuntimeError as exc:
            log.error("openxr: %s eye not submitted: %s", eye.name, exc)
            return
        if pixels is not None:
            eye.captured = pixels
        eye.rendered = True

    def end_frame(self) -> None:
        if not self._frame_open or self._shut_down:
            return
        layer = None
        if self._should_render and all(e.rendered and e.view is not None for e in self._eyes):
            layer = [
                ProjectionLayerView(e.swapchain.swapchain, e.swapchain.width, e.swapchain.height, e.view)
                for e in self._eyes
                if e.view is not None
            ]
        self._frame_open = False
        self.pacing.ending()
        try:
            self.runtime.end_frame(self._display_time_ns, layer)
        except XrRuntimeError as exc:
            self._lost(f"the OpenXR runtime failed: {exc}")
            return
        if layer:
            self.frames_submitted += 1

    def poll_actions(self) -> list[PatientAction]:
        actions, self._actions = self._actions, []
        return actions

    # -- session state machine ---------------------------------------------------------------------

    def _pump_events(self) -> None:
        # Bounded: a runtime delivers a handful of events per frame.
        for _ in range(64):
            event = self.runtime.poll_event()
            if event is None:
                return
            if isinstance(event, InstanceLossPending):
                self._lost("the OpenXR runtime is going away (instance loss pending)")
                return
            if isinstance(event, ReferenceSpaceChanging):
                self._on_runtime_recenter(event)
            if isinstance(event, SessionStateChanged):
                self._on_state(event.state)
                if self._shut_down or self.lost_reason is not None:
                    return

    def _on_runtime_recenter(self, event: ReferenceSpaceChanging) -> None:
        yaw_deg, offset = 0.0, (0.0, 0.0, 0.0)
        if event.pose_in_previous is not None:
            pos, quat = _panda_pose(event.pose_in_previous)
            forward = quat.xform(_vec3(0, 1, 0))
            yaw_deg = math.degrees(math.atan2(-forward.x, forward.y))
            offset = (float(pos.x), float(pos.y), float(pos.z))
        log.info("openxr: the runtime recentred the %s space (%.1f deg)", event.space_kind, yaw_deg)
        self._notices.append(BackendNotice("recentered", reason="runtime", yaw_deg=yaw_deg, offset_m=offset))

    def _on_state(self, state: SessionState) -> None:
        log.info("openxr: session %s -> %s", self.state.name, state.name)
        self.state = state
        self.state_history.append(state)
        if state == SessionState.FOCUSED and self._worn is not True:
            self._worn = True
            self._notices.append(BackendNotice("headset", "worn", "the XR session is focused"))
        elif state != SessionState.FOCUSED and self._worn is True and state != SessionState.LOSS_PENDING:
            self._worn = False
            self._notices.append(
                BackendNotice("headset", "off", f"the XR session went to {state.name} (headset taken off?)")
            )
        if state == SessionState.READY:
            self.runtime.begin_session()
            self.session_running = True
        elif state == SessionState.STOPPING:
            self._abandon_frame()
            self.runtime.end_session()
            self.session_running = False
        elif state == SessionState.LOSS_PENDING:
            self._lost("the headset was lost (OpenXR session loss pending)")
        elif state == SessionState.EXITING:
            self._exit("the OpenXR runtime ended the session")

    def _abandon_frame(self) -> None:
        if self._frame_open:
            self._frame_open = False
            self.runtime.end_frame(self._display_time_ns, None)

    def _exit(self, reason: str) -> None:
        """The runtime wants the app gone: release everything XR now and ask the app to exit."""
        log.warning("openxr: %s; stopping", reason)
        self.exit_requested = True
        self.exit_reason = reason
        self.session_running = False
        if self._app is not None and hasattr(self._app, "exit_requested"):
            # The app's loop runs ``while not app.exit_requested``.
            setattr(self._app, "exit_requested", True)  # noqa: B010 - not part of AppContext
        self.shutdown()

    def _lost(self, reason: str) -> None:
        """The session (or instance) is lost: release everything XR now, keep the renderer running on
        the desktop window, and look for the headset again every :data:`RECONNECT_S`."""
        log.warning("openxr: %s; the desktop window shows the scene until the headset is back", reason)
        self.session_running = False  # a lost session cannot be walked through STOPPING
        self.lost_reason = reason
        self._worn = False
        self._notices.append(BackendNotice("headset", "lost", reason))
        self._release_xr()
        self._desktop_view(True)
        self._retry_at = time.monotonic() + RECONNECT_S

    def _desktop_view(self, on: bool) -> None:
        """While the session is lost the window's own camera looks from the patient's last head pose
        (the therapist sees what the patient last saw); back where it was once the eyes render again."""
        app = self._app
        camera = getattr(app.base, "camera", None) if app is not None else None
        if app is None or camera is None:
            return
        if on and self._camera_parent is None:
            self._camera_parent = camera.getParent()
            camera.reparentTo(app.rig.head)
            camera.setPosHpr(0, 0, 0, 0, 0, 0)
        elif not on and self._camera_parent is not None:
            camera.reparentTo(self._camera_parent)
            camera.setPosHpr(0, 0, 0, 0, 0, 0)
            self._camera_parent = None

    def _reconnect(self) -> None:
        if time.monotonic() < self._retry_at or self._app is None:
            return
        self._retry_at = time.monotonic() + RECONNECT_S
        try:
            self.runtime.create_instance("vr-exposure")
            self._have_instance = True
            configs = self.runtime.view_configs()
            if len(configs) != 2:
                raise XrUnavailable(f"the headset has {len(configs)} views; stereo (2) is needed")
            self.view_configs = configs
            self._start_session(self._app)
        except (XrUnavailable, XrRuntimeError) as exc:
            log.info("openxr: the headset is not back yet: %s", exc)
            self._release_xr()
            return
        self.lost_reason = None
        self._desktop_view(False)
        self.state = SessionState.UNKNOWN
        self._notices.append(BackendNotice("headset", "off", "the XR session was re-created"))

    # -- patient controls --------------------------------------------------------------------------

    def _on_controls(self, now: ActionStates) -> None:
        before = self._controls
        self._controls = now
        if now.safe_place and not before.safe_place:
            self._actions.append(PatientAction("safe_place", source="controller"))
        if self._stick_armed and abs(now.suds_axis) >= SUDS_STICK_STEP:
            step = SUDS_STEP if now.suds_axis > 0 else -SUDS_STEP
            self.suds_selection = max(0, min(100, self.suds_selection + step))
            self._stick_armed = False
        elif abs(now.suds_axis) < SUDS_STICK_REARM:
            self._stick_armed = True
        if now.suds_step and not before.suds_step:
            self.suds_selection = (self.suds_selection + SUDS_STEP) % (100 + SUDS_STEP)
        if now.suds_confirm and not before.suds_confirm:
            self._actions.append(PatientAction("suds", self.suds_selection, source="controller"))

    def _on_safe_place_key(self) -> None:
        self._actions.append(PatientAction("safe_place"))

    def _on_suds_key(self, value: int) -> None:
        self._actions.append(PatientAction("suds", value))

    # -- teardown ----------------------------------------------------------------------------------

    def _set_eyes_active(self, active: bool) -> None:
        for eye in self._eyes:
            if eye.buffer is not None:
                eye.buffer.setActive(active)

    def shutdown(self) -> None:
        """Swapchains, then the session, then the instance; then the eye buffers. Safe to call twice,
        and from inside the frame loop (a lost session)."""
        if self._shut_down:
            return
        self._shut_down = True
        self._release_xr()
        self._desktop_view(False)

    def _release_xr(self) -> None:
        """Every XR object and the eye buffers; the desktop window shows the scene again."""
        self._set_eyes_active(False)
        for eye in self._eyes:
            if eye.buffer is not None:
                eye.buffer.getDisplayRegion(0).clearDrawCallback()
        # Each step runs even if one before it failed: an instance left behind is what crashes the
        # runtime at exit.
        if self._have_session:
            self._have_session = False
            self._leave_session()
            self._teardown_step("blitter", self.blitter.release)
            for eye in self._eyes:
                self._teardown_step(
                    eye.name, functools.partial(self.runtime.destroy_swapchain, eye.swapchain.swapchain)
                )
            self._teardown_step("session", self.runtime.destroy_session)
        self._teardown_step("instance", self._destroy_instance)
        self._release_panda()
        self._eyes = []
        self._frame_open = False

    @staticmethod
    def _teardown_step(what: str, step: Any) -> None:
        try:
            step()
        except Exception:  # noqa: BLE001 - shutdown must reach the instance and Panda3D's buffers
            log.exception("openxr: destroying the %s failed", what)

    def _leave_session(self) -> None:
        """End a running session the way the runtime expects (request exit, STOPPING, end), bounded."""
        try:
            self._abandon_frame()
            if not self.session_running:
                return
            self.runtime.request_exit()
            deadline = time.monotonic() + EXIT_GRACE_S
            while self.session_running and time.monotonic() < deadline:
                event = self.runtime.poll_event()
                if event is None:
                    time.sleep(0.005)
                elif isinstance(event, SessionStateChanged):
                    self.state = event.state
                    self.state_history.append(event.state)
                    if event.state == SessionState.STOPPING:
                        self.runtime.end_session()
                        self.session_running = False
                elif isinstance(event, InstanceLossPending):
                    return
        except (XrRuntimeError, XrUnavailable) as exc:
            log.warning("openxr: leaving the session: %s", exc)

    def _destroy_instance(self) -> None:
        if self._have_instance:
            self._have_instance = False
            self.runtime.destroy_instance()

    def _release_panda(self) -> None:
        app = self._app
        if app is None:
            return
        for eye in self._eyes:
            if eye.buffer is not None:
                app.base.graphicsEngine.removeWindow(eye.buffer)
                eye.buffer = None
            if eye.camera is not None:
                eye.camera.removeNode()
        if self._mirror:
            scene, dr = self._mirror
            app.win.removeDisplayRegion(dr)
            scene.removeNode()
            self._mirror = []
        for region in self._disabled_regions:
            region.setActive(True)
        self._disabled_regions = []


def _vec3(x: float, y: float, z: float) -> Any:
    from panda3d.core import LVector3

    return LVector3(x, y, z)
