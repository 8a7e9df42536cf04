"""A pure-Python OpenXR runtime for tests: the :class:`~vr_exposure.renderer.backends.xr_seam.XrRuntime`
seam with no headset, no loader and (by default) no OpenGL.

It behaves like a conforming runtime where the backend's logic depends on it, and refuses what a real
runtime refuses (raising :class:`FakeXrProtocolError`): ``xrBeginSession`` only in READY,
``xrEndSession`` only in STOPPING, ``xrWaitFrame``/``xrBeginFrame``/``xrEndFrame`` in order and only
while the session runs, swapchain images acquired and released in pairs, nothing used after it was
destroyed. Every call is appended to :attr:`FakeXrRuntime.calls` so tests can check the order
(swapchains destroyed before the session, the session before the instance).

Tests script it: push session states (:meth:`push_state`), move the head (:attr:`head_pose`), change
the eyes' fields of view (:attr:`fovs`), press buttons (:attr:`controls`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from vr_exposure.renderer.backends.xr_bindings import ACTION_NAMES, PROFILES
from vr_exposure.renderer.backends.xr_seam import (
    GL_RGBA8,
    GL_SRGB8,
    GL_SRGB8_ALPHA8,
    ActionStates,
    InstanceLossPending,
    ProjectionLayerView,
    ReferenceSpaceChanging,
    SessionState,
    SessionStateChanged,
    SwapchainInfo,
    ViewConfig,
    XrEvent,
    XrFov,
    XrFrameState,
    XrPose,
    XrUnavailable,
    XrView,
)

__all__ = ["FakeXrProtocolError", "FakeXrRuntime", "RecordingBlitter", "SubmittedFrame", "quat_about_axis"]

#: A typical headset eye: asymmetric, wider towards the temple.
LEFT_FOV = XrFov(angle_left=-0.8, angle_right=0.7, angle_up=0.75, angle_down=-0.8)
RIGHT_FOV = XrFov(angle_left=-0.7, angle_right=0.8, angle_up=0.75, angle_down=-0.8)


#: Each profile's component paths per hand, as the OpenXR 1.0 specification (and its extensions)
#: list them: a suggested binding outside these is what a runtime rejects with XR_ERROR_PATH_UNSUPPORTED.
_BOTH = ("input/grip/pose", "input/aim/pose", "output/haptic")
_PROFILE_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "khr/simple_controller": {
        "both": (*_BOTH, "input/select/click", "input/menu/click"),
    },
    "oculus/touch_controller": {
        "left": ("input/x/click", "input/x/touch", "input/y/click", "input/y/touch", "input/menu/click"),
        "right": ("input/a/click", "input/a/touch", "input/b/click", "input/b/touch", "input/system/click"),
        "both": (*_BOTH, "input/squeeze/value", "input/trigger/value", "input/trigger/touch",
                 "input/thumbstick/x", "input/thumbstick/y", "input/thumbstick/click",
                 "input/thumbstick/touch", "input/thumbrest/touch"),
    },
    "valve/index_controller": {
        "both": (*_BOTH, "input/system/click", "input/system/touch", "input/a/click", "input/a/touch",
                 "input/b/click", "input/b/touch", "input/squeeze/value", "input/squeeze/force",
                 "input/trigger/click", "input/trigger/value", "input/trigger/touch",
                 "input/thumbstick/x", "input/thumbstick/y", "input/thumbstick/click",
                 "input/thumbstick/touch", "input/trackpad/x", "input/trackpad/y",
                 "input/trackpad/force", "input/trackpad/touch"),
    },
    "htc/vive_controller": {
        "both": (*_BOTH, "input/system/click", "input/squeeze/click", "input/menu/click",
                 "input/trigger/click", "input/trigger/value", "input/trackpad/x", "input/trackpad/y",
                 "input/trackpad/click", "input/trackpad/touch"),
    },
    "microsoft/motion_controller": {
        "both": (*_BOTH, "input/menu/click", "input/squeeze/click", "input/trigger/value",
                 "input/thumbstick/x", "input/thumbstick/y", "input/thumbstick/click",
                 "input/trackpad/x", "input/trackpad/y", "input/trackpad/click", "input/trackpad/touch"),
    },
    "hp/mixed_reality_controller": {
        "left": ("input/x/click", "input/y/click"),
        "right": ("input/a/click", "input/b/click"),
        "both": (*_BOTH, "input/menu/click", "input/squeeze/value", "input/trigger/value",
                 "input/thumbstick/x", "input/thumbstick/y", "input/thumbstick/click"),
    },
    "bytedance/pico4_controller": {
        "left": ("input/x/click", "input/x/touch", "input/y/click", "input/y/touch"),
        "right": ("input/a/click", "input/a/touch", "input/b/click", "input/b/touch"),
        "both": (*_BOTH, "input/menu/click", "input/system/click", "input/trigger/click",
                 "input/trigger/value", "input/trigger/touch", "input/thumbstick/x", "input/thumbstick/y",
                 "input/thumbstick/click", "input/thumbstick/touch", "input/squeeze/click",
                 "input/squeeze/value"),
    },
    "facebook/touch_controller_pro": {
        "left": ("input/x/click", "input/x/touch", "input/y/click", "input/y/touch", "input/menu/click"),
        "right": ("input/a/click", "input/a/touch", "input/b/click", "input/b/touch", "input/system/click"),
        "both": (*_BOTH, "input/squeeze/value", "input/trigger/value", "input/trigger/touch",
                 "input/thumbstick/x", "input/thumbstick/y", "input/thumbstick/click",
                 "input/thumbstick/touch", "input/thumbrest/touch"),
    },
}  # fmt: skip


def _valid_binding(profile_path: str, path: str) -> bool:
    table = _PROFILE_PATHS.get(profile_path.removeprefix("/interaction_profiles/"))
    if table is None:
        return False
    for hand in ("left", "right"):
        prefix = f"/user/hand/{hand}/"
        if path.startswith(prefix):
            component = path.removeprefix(prefix)
            return component in table.get(hand, ()) or component in table.get("both", ())
    return False


class FakeXrProtocolError(AssertionError):
    """The backend did something a real OpenXR runtime would reject."""


@dataclass(frozen=True, slots=True)
class SubmittedFrame:
    display_time_ns: int
    layer: list[ProjectionLayerView] | None


@dataclass
class _FakeSwapchain:
    info: SwapchainInfo
    acquired: int | None = None
    next_index: int = 0
    last_released: int | None = None
    destroyed: bool = False


def quat_about_axis(axis: tuple[float, float, float], angle_rad: float) -> tuple[float, float, float, float]:
    """A unit quaternion (x, y, z, w) rotating ``angle_rad`` counter-clockwise about ``axis``."""
    n = math.sqrt(sum(a * a for a in axis))
    s = math.sin(angle_rad / 2) / n
    return (axis[0] * s, axis[1] * s, axis[2] * s, math.cos(angle_rad / 2))


def _rotate(
    q: tuple[float, float, float, float], v: tuple[float, float, float]
) -> tuple[float, float, float]:
    x, y, z, w = q
    # v' = v + 2w(q x v) + 2 q x (q x v)
    cx, cy, cz = y * v[2] - z * v[1], z * v[0] - x * v[2], x * v[1] - y * v[0]
    ccx, ccy, ccz = y * cz - z * cy, z * cx - x * cz, x * cy - y * cx
    return (v[0] + 2 * (w * cx + ccx), v[1] + 2 * (w * cy + ccy), v[2] + 2 * (w * cz + ccz))


class FakeXrRuntime:
    """A scripted runtime (see the module docstring).

    ``available=False`` behaves like a machine with no runtime installed; ``headset=False`` like a
    runtime with no headset connected. ``auto_start`` delivers IDLE then READY after the session is
    created and SYNCHRONIZED, VISIBLE, FOCUSED after it begins, as real runtimes do.
    ``gl_images=True`` makes each swapchain image a real OpenGL texture (the GL context must be
    current when swapchains are created), so a test can read back what the backend rendered.
    """

    def __init__(
        self,
        *,
        available: bool = True,
        headset: bool = True,
        eye_size: tuple[int, int] = (64, 48),
        formats: tuple[int, ...] = (GL_SRGB8, GL_RGBA8, GL_SRGB8_ALPHA8),
        space_kind: str = "stage",
        auto_start: bool = True,
        gl_images: bool = False,
        images_per_swapchain: int = 3,
        ipd_m: float = 0.064,
        period_ns: int = 11_111_111,
    ) -> None:
        self.runtime_name = "fake OpenXR runtime"
        self.system_name = "fake headset"
        self.available = available
        self.headset = headset
        self.eye_size = eye_size
        self.formats = list(formats)
        self.space_kind = space_kind
        self.auto_start = auto_start
        self.gl_images = gl_images
        self.images_per_swapchain = images_per_swapchain
        self.ipd_m = ipd_m
        self.period_ns = period_ns

        # What tests script.
        self.head_pose = XrPose((0.0, 1.6, 0.0), (0.0, 0.0, 0.0, 1.0))
        self.fovs: tuple[XrFov, XrFov] = (LEFT_FOV, RIGHT_FOV)
        self.controls = ActionStates()
        self.tracking_valid = True
        self.should_render_override: bool | None = None
        #: The next xrWaitFrame skips this many display periods (the app was late for its slot).
        self.skip_periods = 0

        # What tests check.
        self.calls: list[str] = []
        self.state = SessionState.UNKNOWN  # the last state delivered to the app
        self.submitted: list[SubmittedFrame] = []
        self.swapchains: dict[int, _FakeSwapchain] = {}
        self.haptic_pulses: list[tuple[int, float]] = []

        self._events: deque[XrEvent] = deque()
        self._instance = False
        self._session = False
        self._running = False
        self._actions_attached = False
        self._frame_phase = "none"  # none -> waited -> begun -> none
        self._time_ns = 1_000_000_000
        self._next_swapchain = 1

    # -- scripting -------------------------------------------------------------------------------

    def push_state(self, state: SessionState) -> None:
        self._events.append(SessionStateChanged(state))

    def push_instance_loss(self) -> None:
        self._events.append(InstanceLossPending())

    def push_recenter(self, pose_in_previous: XrPose | None) -> None:
        """The runtime's recenter: the app space's new origin in the old one."""
        self._events.append(ReferenceSpaceChanging(self.space_kind, pose_in_previous))

    @property
    def frames_submitted(self) -> int:
        return len(self.submitted)

    def _check(self, ok: bool, what: str) -> None:
        if not ok:
            raise FakeXrProtocolError(what)

    # -- the seam ----------------------------------------------------------------------------------

    def create_instance(self, app_name: str) -> None:
        self.calls.append("create_instance")
        if not self.available:
            raise XrUnavailable("no OpenXR runtime: set XR_RUNTIME_JSON or install one (Monado, SteamVR)")
        if not self.headset:
            raise XrUnavailable(
                f"no headset: the OpenXR runtime ({self.runtime_name}) found no head-mounted display"
            )
        self._instance = True

    def view_configs(self) -> list[ViewConfig]:
        self._check(self._instance, "view_configs without an instance")
        return [ViewConfig(*self.eye_size), ViewConfig(*self.eye_size)]

    def create_session(self) -> None:
        self.calls.append("create_session")
        self._check(self._instance and not self._session, "create_session needs an instance and no session")
        self._session = True
        if self.auto_start:
            self.push_state(SessionState.IDLE)
            self.push_state(SessionState.READY)

    def swapchain_formats(self) -> list[int]:
        self._check(self._session, "swapchain_formats without a session")
        return list(self.formats)

    def create_swapchain(self, width: int, height: int, gl_format: int) -> SwapchainInfo:
        self.calls.append("create_swapchain")
        self._check(self._session, "create_swapchain without a session")
        self._check(gl_format in self.formats, f"format {gl_format:#x} was not offered")
        images = (
            self._make_gl_images(width, height, gl_format)
            if self.gl_images
            else [1000 * self._next_swapchain + i for i in range(self.images_per_swapchain)]
        )
        info = SwapchainInfo(self._next_swapchain, width, height, gl_format, images)
        self.swapchains[info.swapchain] = _FakeSwapchain(info)
        self._next_swapchain += 1
        return info

    def _make_gl_images(self, width: int, height: int, gl_format: int) -> list[int]:
        from OpenGL import GL

        names = [int(n) for n in GL.glGenTextures(self.images_per_swapchain)]
        for name in names:
            GL.glBindTexture(GL.GL_TEXTURE_2D, name)
            # glTexImage2D rather than glTexStorage2D: PyOpenGL does not resolve GL 4.2 entry points
            # on a core-profile context it reaches through GLX.
            GL.glTexImage2D(
                GL.GL_TEXTURE_2D, 0, gl_format, width, height, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None
            )
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        return names

    def read_gl_image(self, swapchain: int, index: int) -> Any:
        """An image's pixels as an (height, width, 4) uint8 array, bottom row first (GL order)."""
        import numpy as np
        from OpenGL import GL

        info = self.swapchains[swapchain].info
        GL.glBindTexture(GL.GL_TEXTURE_2D, info.images[index])
        data = GL.glGetTexImage(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        return np.frombuffer(data, dtype=np.uint8).reshape(info.height, info.width, 4).copy()

    def _swapchain(self, swapchain: int) -> _FakeSwapchain:
        sc = self.swapchains.get(swapchain)
        self._check(sc is not None and not sc.destroyed, f"swapchain {swapchain} does not exist")
        assert sc is not None
        return sc

    def acquire_image(self, swapchain: int) -> int:
        sc = self._swapchain(swapchain)
        self._check(sc.acquired is None, "acquire_image twice without release")
        self._check(self._frame_phase == "begun", "acquire_image outside xrBeginFrame/xrEndFrame")
        sc.acquired = sc.next_index
        sc.next_index = (sc.next_index + 1) % len(sc.info.images)
        return sc.acquired

    def release_image(self, swapchain: int) -> None:
        sc = self._swapchain(swapchain)
        self._check(sc.acquired is not None, "release_image without acquire")
        sc.last_released = sc.acquired
        sc.acquired = None

    def destroy_swapchain(self, swapchain: int) -> None:
        self.calls.append("destroy_swapchain")
        sc = self._swapchain(swapchain)
        self._check(self._session, "destroy_swapchain after its session")
        sc.destroyed = True
        if self.gl_images:
            from OpenGL import GL

            GL.glDeleteTextures(sc.info.images)

    def create_reference_space(self) -> str:
        self.calls.append("create_reference_space")
        self._check(self._session, "create_reference_space without a session")
        return self.space_kind

    def create_actions(self) -> dict[str, str | None]:
        self.calls.append("create_actions")
        self._check(self._session and not self._actions_attached, "actions attached twice")
        self._actions_attached = True
        result: dict[str, str | None] = {}
        for profile in PROFILES:
            for action, paths in profile.bindings.items():
                self._check(action in ACTION_NAMES, f"{profile.path}: no action {action!r}")
                for path in paths:
                    self._check(
                        _valid_binding(profile.path, path),
                        f"{profile.path}: {path} is not a path of that profile",
                    )
            result[profile.path] = None
        return result

    def haptic_pulse(self, duration_ns: int, amplitude: float) -> None:
        self._check(self._running, "haptic_pulse while the session is not running")
        self._check(duration_ns > 0 and 0.0 <= amplitude <= 1.0, "haptic_pulse: bad duration or amplitude")
        self.haptic_pulses.append((duration_ns, amplitude))

    def poll_event(self) -> XrEvent | None:
        self._check(self._instance, "poll_event without an instance")
        if not self._events:
            return None
        event = self._events.popleft()
        if isinstance(event, SessionStateChanged):
            self.state = event.state
        return event

    def begin_session(self) -> None:
        self.calls.append("begin_session")
        self._check(self.state == SessionState.READY, f"begin_session in {self.state.name}, not READY")
        self._check(not self._running, "begin_session while running")
        self._running = True
        if self.auto_start:
            for s in (SessionState.SYNCHRONIZED, SessionState.VISIBLE, SessionState.FOCUSED):
                self.push_state(s)

    def end_session(self) -> None:
        self.calls.append("end_session")
        self._check(self.state == SessionState.STOPPING, f"end_session in {self.state.name}, not STOPPING")
        self._running = False
        self._frame_phase = "none"
        if self.auto_start:
            self.push_state(SessionState.IDLE)
            self.push_state(SessionState.EXITING)

    def request_exit(self) -> None:
        self.calls.append("request_exit")
        self._check(self._running, "request_exit while the session is not running")
        self.push_state(SessionState.STOPPING)

    def wait_frame(self) -> XrFrameState:
        self._check(self._running, "wait_frame while the session is not running")
        self._check(self._frame_phase == "none", "wait_frame twice without begin/end")
        self._frame_phase = "waited"
        self._time_ns += self.period_ns * (1 + self.skip_periods)
        self.skip_periods = 0
        visible = self.state in (SessionState.VISIBLE, SessionState.FOCUSED)
        render = visible if self.should_render_override is None else self.should_render_override
        return XrFrameState(self._time_ns, self.period_ns, render)

    def begin_frame(self) -> None:
        self._check(
            self._frame_phase == "waited", f"begin_frame after {self._frame_phase}, not after wait_frame"
        )
        self._frame_phase = "begun"

    def locate_views(self, display_time_ns: int) -> list[XrView] | None:
        self._check(self._session, "locate_views without a session")
        if not self.tracking_valid:
            return None
        views = []
        for eye, fov in zip((-1, 1), self.fovs, strict=True):
            offset = _rotate(self.head_pose.orientation_xyzw, (eye * self.ipd_m / 2, 0.0, 0.0))
            hp = self.head_pose.position_m
            pos = (hp[0] + offset[0], hp[1] + offset[1], hp[2] + offset[2])
            views.append(XrView(XrPose(pos, self.head_pose.orientation_xyzw), fov))
        return views

    def locate_head(self, display_time_ns: int) -> XrPose | None:
        self._check(self._session, "locate_head without a session")
        return self.head_pose if self.tracking_valid else None

    def sync_actions(self) -> ActionStates:
        self._check(self._actions_attached, "sync_actions before the action set was attached")
        if self.state != SessionState.FOCUSED:
            return ActionStates()
        return self.controls

    def end_frame(self, display_time_ns: int, layer: list[ProjectionLayerView] | None) -> None:
        self._check(
            self._frame_phase == "begun", f"end_frame after {self._frame_phase}, not after begin_frame"
        )
        for sc in self.swapchains.values():
            self._check(sc.acquired is None, "end_frame with a swapchain image still acquired")
        if layer:
            for v in layer:
                sc = self._swapchain(v.swapchain)
                self._check(sc.last_released is not None, "layer names a swapchain with no released image")
        self._frame_phase = "none"
        self.submitted.append(SubmittedFrame(display_time_ns, layer))

    def to_monotonic_ns(self, xr_time_ns: int) -> int | None:
        return xr_time_ns

    def destroy_session(self) -> None:
        self.calls.append("destroy_session")
        self._check(self._session, "destroy_session without a session")
        self._session = False
        self._running = False
        self._actions_attached = False

    def destroy_instance(self) -> None:
        self.calls.append("destroy_instance")
        self._check(self._instance, "destroy_instance twice")
        self._check(not self._session, "destroy_instance while its session exists")
        self._instance = False


@dataclass
class RecordingBlitter:
    """Stands in for the GL copy into swapchain images where there is no real image to copy into."""

    copies: list[tuple[int, int, int]] = field(default_factory=list)  # (texture, width, height)
    released: bool = False

    def copy(self, texture: int, width: int, height: int, capture: bool) -> Any:
        self.copies.append((texture, width, height))
        return None

    def release(self) -> None:
        self.released = True
