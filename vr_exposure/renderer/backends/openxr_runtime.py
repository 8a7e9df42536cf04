"""A real OpenXR runtime behind the :class:`~vr_exposure.renderer.backends.xr_seam.XrRuntime` seam,
through pyopenxr.

Thin on purpose: each method is one or a few OpenXR calls, translated into the seam's plain values.
The backend's decisions (state machine, cameras, what to render) live in
:mod:`vr_exposure.renderer.backends.openxr`, where the fake runtime can test them.

OpenGL binding: Panda3D, in its default single-threaded model, keeps its GL context current on the
main thread, so the session binds to whatever context is current when :meth:`create_session` runs:
on Windows a WGL context through ``XR_KHR_opengl_enable``'s Win32 binding (:mod:`.xr_platform`);
elsewhere an EGL context (Panda3D's ``p3headlessgl``, no X server) through ``XR_MNDX_egl_enable``,
or a GLX context through ``XR_KHR_opengl_enable``'s Xlib binding.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import xr

from vr_exposure.renderer.backends.xr_bindings import PROFILES, profile_extensions
from vr_exposure.renderer.backends.xr_platform import wgl_current, win32_binding
from vr_exposure.renderer.backends.xr_seam import (
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
    XrRuntimeError,
    XrUnavailable,
    XrView,
)

__all__ = ["PyOpenXrRuntime", "current_gl_platform"]

#: How long to wait for a swapchain image before calling the compositor stuck.
_IMAGE_WAIT_NS = 1_000_000_000

_NO_RUNTIME = "no OpenXR runtime: set XR_RUNTIME_JSON or install one (Monado, SteamVR)"

_ACTIONS: dict[str, tuple[Any, str]] = {
    "safe_place": (xr.ActionType.BOOLEAN_INPUT, "Go to the safe place"),
    "suds_axis": (xr.ActionType.FLOAT_INPUT, "Choose a SUDS rating"),
    "suds_step": (xr.ActionType.BOOLEAN_INPUT, "Step the SUDS rating"),
    "suds_confirm": (xr.ActionType.BOOLEAN_INPUT, "Confirm the SUDS rating"),
    "prompt_haptic": (xr.ActionType.VIBRATION_OUTPUT, "A SUDS prompt opened"),
}


_F = TypeVar("_F", bound=Callable[..., Any])


def _frame_call(fn: _F) -> _F:
    """A call made while the session runs: pyopenxr's exceptions (a lost session, a call the
    runtime rejects, qualified successes such as XR_SESSION_LOSS_PENDING, which pyopenxr raises)
    become :class:`XrRuntimeError`, on which the backend shuts down cleanly."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except xr.XrException as exc:
            raise XrRuntimeError(f"{fn.__name__}: {type(exc).__name__}: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def _setup_call(fn: _F) -> _F:
    """A call made while setting the session up: a refusal makes the backend unavailable."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except xr.XrException as exc:
            raise XrUnavailable(
                f"the OpenXR runtime refused {fn.__name__} ({type(exc).__name__}: {exc})"
            ) from exc

    return wrapper  # type: ignore[return-value]


def _lib(name: str) -> ctypes.CDLL | None:
    path = ctypes.util.find_library(name)
    try:
        return ctypes.CDLL(path or f"lib{name}.so.1")
    except OSError:
        return None


def _egl_current() -> tuple[ctypes.CDLL, int, int] | None:
    egl = _lib("EGL")
    if egl is None:
        return None
    egl.eglGetCurrentContext.restype = ctypes.c_void_p
    egl.eglGetCurrentDisplay.restype = ctypes.c_void_p
    ctx = egl.eglGetCurrentContext()
    if not ctx:
        return None
    return egl, egl.eglGetCurrentDisplay(), ctx


def _glx_current() -> tuple[int, int, int] | None:
    glx = _lib("GLX") or _lib("GL")
    if glx is None:
        return None
    glx.glXGetCurrentContext.restype = ctypes.c_void_p
    glx.glXGetCurrentDisplay.restype = ctypes.c_void_p
    glx.glXGetCurrentDrawable.restype = ctypes.c_ulong
    ctx = glx.glXGetCurrentContext()
    if not ctx:
        return None
    return glx.glXGetCurrentDisplay(), glx.glXGetCurrentDrawable(), ctx


def current_gl_platform() -> str | None:
    """``"wgl"``, ``"egl"`` or ``"glx"``: which kind of OpenGL context is current on this thread
    (None: none)."""
    if sys.platform == "win32":
        return "wgl" if wgl_current() is not None else None
    if _egl_current() is not None:
        return "egl"
    if _glx_current() is not None:
        return "glx"
    return None


@dataclass
class _Swapchain:
    handle: Any
    images: Any  # keeps the enumerated image array alive


class PyOpenXrRuntime:
    """One OpenXR instance, system and session through pyopenxr (see :class:`XrRuntime`)."""

    def __init__(self) -> None:
        self.runtime_name = ""
        self.system_name = ""
        self.space_kind = "local"
        self._instance: Any = None
        self._system_id: Any = None
        self._extensions: set[str] = set()
        self._session: Any = None
        self._binding: Any = None  # kept alive while the session exists
        self._swapchains: dict[int, _Swapchain] = {}
        self._next_swapchain = 1
        self._app_space: Any = None
        self._view_space: Any = None
        self._action_set: Any = None
        self._actions: dict[str, Any] = {}
        self._event_buffer: Any = None

    # -- instance and system ---------------------------------------------------------------------

    def create_instance(self, app_name: str) -> None:
        # The loader prints several lines to stderr when no runtime is installed; the backend says
        # one clear line instead. XR_LOADER_DEBUG set by the user still wins.
        os.environ.setdefault("XR_LOADER_DEBUG", "none")
        try:
            offered = {p.extension_name.decode() for p in xr.enumerate_instance_extension_properties()}
        except xr.exception.RuntimeUnavailableError as exc:
            raise XrUnavailable(_NO_RUNTIME) from exc
        except xr.XrException as exc:
            raise XrUnavailable(f"the OpenXR runtime could not start ({exc})") from exc
        if xr.KHR_OPENGL_ENABLE_EXTENSION_NAME not in offered:
            raise XrUnavailable("the OpenXR runtime has no OpenGL support (XR_KHR_opengl_enable)")
        wanted = [
            xr.KHR_OPENGL_ENABLE_EXTENSION_NAME,
            xr.MNDX_EGL_ENABLE_EXTENSION_NAME,
            xr.KHR_CONVERT_TIMESPEC_TIME_EXTENSION_NAME,
            *profile_extensions(),
        ]
        self._extensions = {e for e in wanted if e in offered}
        try:
            self._instance = xr.create_instance(
                xr.InstanceCreateInfo(
                    application_info=xr.ApplicationInfo(
                        application_name=app_name,
                        application_version=1,
                        engine_name="panda3d",
                        engine_version=1,
                        api_version=xr.Version(1, 0, 0),
                    ),
                    enabled_extension_names=sorted(self._extensions),
                )
            )
        except xr.exception.RuntimeUnavailableError as exc:
            raise XrUnavailable(_NO_RUNTIME) from exc
        except xr.XrException as exc:
            raise XrUnavailable(f"the OpenXR runtime refused to start ({exc})") from exc
        props = xr.get_instance_properties(self._instance)
        self.runtime_name = props.runtime_name.decode(errors="replace")
        try:
            self._system_id = xr.get_system(
                self._instance, xr.SystemGetInfo(form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY)
            )
        except xr.XrException as exc:
            self.destroy_instance()
            raise XrUnavailable(
                f"no headset: the OpenXR runtime ({self.runtime_name}) found no head-mounted display ({exc})"
            ) from exc
        self.system_name = xr.get_system_properties(self._instance, self._system_id).system_name.decode(
            errors="replace"
        )

    @_setup_call
    def view_configs(self) -> list[ViewConfig]:
        views = xr.enumerate_view_configuration_views(
            self._instance, self._system_id, xr.ViewConfigurationType.PRIMARY_STEREO
        )
        return [ViewConfig(v.recommended_image_rect_width, v.recommended_image_rect_height, 1) for v in views]

    # -- session -------------------------------------------------------------------------------

    def create_session(self) -> None:
        # Required before xrCreateSession (the runtime fails the session otherwise), and a place to
        # say clearly that the GL context is too old.
        xr.get_opengl_graphics_requirements_khr(self._instance, self._system_id)
        binding = self._gl_binding()
        self._binding = binding
        try:
            self._session = xr.create_session(
                self._instance,
                xr.SessionCreateInfo(
                    next=ctypes.cast(ctypes.pointer(binding), ctypes.c_void_p),
                    system_id=self._system_id,
                ),
            )
        except xr.XrException as exc:
            raise XrUnavailable(f"the OpenXR runtime refused an OpenGL session ({exc})") from exc
        self._event_buffer = None

    def _gl_binding(self) -> Any:
        if sys.platform == "win32":
            wgl = wgl_current()
            if wgl is None:
                raise XrUnavailable(
                    "no OpenGL context is current: the OpenXR session needs Panda3D's WGL context"
                )
            return win32_binding(*wgl)
        egl = _egl_current()
        if egl is not None:
            if xr.MNDX_EGL_ENABLE_EXTENSION_NAME not in self._extensions:
                raise XrUnavailable(
                    "Panda3D renders through EGL (no X server) but the OpenXR runtime lacks "
                    "XR_MNDX_egl_enable"
                )
            lib, display, context = egl
            config = self._egl_config(lib, display, context)
            fields = dict(xr.GraphicsBindingEGLMNDX._fields_)
            lib.eglGetProcAddress.restype = ctypes.c_void_p
            get_proc = ctypes.cast(
                ctypes.cast(lib.eglGetProcAddress, ctypes.c_void_p), fields["get_proc_address"]
            )
            return xr.GraphicsBindingEGLMNDX(
                get_proc_address=get_proc,
                display=ctypes.cast(ctypes.c_void_p(display), fields["display"]),
                config=ctypes.cast(ctypes.c_void_p(config), fields["config"]),
                context=ctypes.cast(ctypes.c_void_p(context), fields["context"]),
            )
        glx = _glx_current()
        if glx is not None:
            display, drawable, context = glx
            fields = dict(xr.GraphicsBindingOpenGLXlibKHR._fields_)
            return xr.GraphicsBindingOpenGLXlibKHR(
                x_display=ctypes.cast(ctypes.c_void_p(display), fields["x_display"]),
                glx_drawable=drawable,
                glx_context=ctypes.cast(ctypes.c_void_p(context), fields["glx_context"]),
            )
        raise XrUnavailable("no OpenGL context is current: the OpenXR session needs Panda3D's GL context")

    @staticmethod
    def _egl_config(lib: ctypes.CDLL, display: int, context: int) -> int:
        egl_config_id = 0x3028
        config_id = ctypes.c_int(0)
        lib.eglQueryContext(
            ctypes.c_void_p(display), ctypes.c_void_p(context), egl_config_id, ctypes.byref(config_id)
        )
        if config_id.value <= 0:
            return 0  # EGL_NO_CONFIG_KHR: a config-less context (EGL_KHR_no_config_context)
        attribs = (ctypes.c_int * 3)(egl_config_id, config_id.value, 0x3038)  # EGL_NONE
        config = ctypes.c_void_p()
        count = ctypes.c_int(0)
        lib.eglChooseConfig(ctypes.c_void_p(display), attribs, ctypes.byref(config), 1, ctypes.byref(count))
        return int(config.value or 0) if count.value else 0

    @_setup_call
    def swapchain_formats(self) -> list[int]:
        return [int(f) for f in xr.enumerate_swapchain_formats(self._session)]

    @_setup_call
    def create_swapchain(self, width: int, height: int, gl_format: int) -> SwapchainInfo:
        handle = xr.create_swapchain(
            self._session,
            xr.SwapchainCreateInfo(
                usage_flags=xr.SwapchainUsageFlags.COLOR_ATTACHMENT_BIT
                | xr.SwapchainUsageFlags.SAMPLED_BIT
                | xr.SwapchainUsageFlags.TRANSFER_DST_BIT,
                format=gl_format,
                sample_count=1,
                width=width,
                height=height,
                face_count=1,
                array_size=1,
                mip_count=1,
            ),
        )
        images = xr.enumerate_swapchain_images(handle, xr.SwapchainImageOpenGLKHR)
        sc_id = self._next_swapchain
        self._next_swapchain += 1
        self._swapchains[sc_id] = _Swapchain(handle, images)
        return SwapchainInfo(sc_id, width, height, gl_format, [int(i.image) for i in images])

    @_frame_call
    def acquire_image(self, swapchain: int) -> int:
        handle = self._swapchains[swapchain].handle
        index = int(xr.acquire_swapchain_image(handle, xr.SwapchainImageAcquireInfo()))
        try:
            xr.wait_swapchain_image(handle, xr.SwapchainImageWaitInfo(timeout=_IMAGE_WAIT_NS))
        except xr.exception.TimeoutExpired as exc:
            raise XrRuntimeError(
                "the OpenXR compositor did not hand back a swapchain image within 1 s"
            ) from exc
        return index

    @_frame_call
    def release_image(self, swapchain: int) -> None:
        xr.release_swapchain_image(self._swapchains[swapchain].handle, xr.SwapchainImageReleaseInfo())

    def destroy_swapchain(self, swapchain: int) -> None:
        sc = self._swapchains.pop(swapchain, None)
        if sc is not None:
            xr.destroy_swapchain(sc.handle)

    @_setup_call
    def create_reference_space(self) -> str:
        offered = set(xr.enumerate_reference_spaces(self._session))
        kind = (
            xr.ReferenceSpaceType.STAGE
            if xr.ReferenceSpaceType.STAGE in offered
            else xr.ReferenceSpaceType.LOCAL
        )
        self._app_space = xr.create_reference_space(
            self._session,
            xr.ReferenceSpaceCreateInfo(reference_space_type=kind, pose_in_reference_space=xr.Posef()),
        )
        self._view_space = xr.create_reference_space(
            self._session,
            xr.ReferenceSpaceCreateInfo(
                reference_space_type=xr.ReferenceSpaceType.VIEW, pose_in_reference_space=xr.Posef()
            ),
        )
        self.space_kind = "stage" if kind == xr.ReferenceSpaceType.STAGE else "local"
        return self.space_kind

    @_setup_call
    def create_actions(self) -> dict[str, str | None]:
        self._action_set = xr.create_action_set(
            self._instance,
            xr.ActionSetCreateInfo(
                action_set_name="patient", localized_action_set_name="Patient controls", priority=0
            ),
        )
        for name, (action_type, label) in _ACTIONS.items():
            self._actions[name] = xr.create_action(
                self._action_set,
                xr.ActionCreateInfo(action_type=action_type, action_name=name, localized_action_name=label),
            )
        result: dict[str, str | None] = {}
        for profile in PROFILES:
            if profile.extension is not None and profile.extension not in self._extensions:
                result[profile.path] = f"the runtime does not offer {profile.extension}"
                continue
            try:
                suggested = [
                    xr.ActionSuggestedBinding(self._actions[action], xr.string_to_path(self._instance, path))
                    for action, paths in profile.bindings.items()
                    for path in paths
                ]
                xr.suggest_interaction_profile_bindings(
                    self._instance,
                    xr.InteractionProfileSuggestedBinding(
                        interaction_profile=xr.string_to_path(self._instance, profile.path),
                        suggested_bindings=suggested,
                    ),
                )
            except xr.XrException as exc:
                # A runtime may reject a profile (or one of its paths); the others still bind.
                result[profile.path] = f"rejected: {type(exc).__name__} {exc}".strip()
                continue
            result[profile.path] = None
        xr.attach_session_action_sets(
            self._session, xr.SessionActionSetsAttachInfo(action_sets=[self._action_set])
        )
        return result

    # -- events and the frame loop ------------------------------------------------------------------

    @_frame_call
    def poll_event(self) -> XrEvent | None:
        while True:
            try:
                buf = xr.poll_event(self._instance)
            except xr.EventUnavailable:
                return None
            kind = xr.StructureType(buf.type)
            if kind == xr.StructureType.EVENT_DATA_SESSION_STATE_CHANGED:
                ev = ctypes.cast(ctypes.byref(buf), ctypes.POINTER(xr.EventDataSessionStateChanged)).contents
                return SessionStateChanged(SessionState(int(ev.state)))
            if kind == xr.StructureType.EVENT_DATA_INSTANCE_LOSS_PENDING:
                return InstanceLossPending()
            if kind == xr.StructureType.EVENT_DATA_REFERENCE_SPACE_CHANGE_PENDING:
                rc = ctypes.cast(
                    ctypes.byref(buf), ctypes.POINTER(xr.EventDataReferenceSpaceChangePending)
                ).contents
                kinds = {int(xr.ReferenceSpaceType.STAGE): "stage", int(xr.ReferenceSpaceType.LOCAL): "local"}
                return ReferenceSpaceChanging(
                    kinds.get(int(rc._reference_space_type), "other"),
                    _pose(rc.pose_in_previous_space) if rc.pose_valid else None,
                )
            # Other events (interaction profile changed) need no action.

    @_frame_call
    def begin_session(self) -> None:
        xr.begin_session(
            self._session,
            xr.SessionBeginInfo(primary_view_configuration_type=xr.ViewConfigurationType.PRIMARY_STEREO),
        )

    @_frame_call
    def end_session(self) -> None:
        xr.end_session(self._session)

    @_frame_call
    def request_exit(self) -> None:
        xr.request_exit_session(self._session)

    @_frame_call
    def wait_frame(self) -> XrFrameState:
        state = xr.wait_frame(self._session, xr.FrameWaitInfo())
        return XrFrameState(
            predicted_display_time_ns=int(state.predicted_display_time),
            predicted_display_period_ns=int(state.predicted_display_period),
            should_render=bool(state.should_render),
        )

    @_frame_call
    def begin_frame(self) -> None:
        try:
            xr.begin_frame(self._session, xr.FrameBeginInfo())
        except xr.exception.FrameDiscarded:
            pass  # a qualified success: the previous frame was dropped, this one goes on

    @_frame_call
    def locate_views(self, display_time_ns: int) -> list[XrView] | None:
        state, views = xr.locate_views(
            self._session,
            xr.ViewLocateInfo(
                view_configuration_type=xr.ViewConfigurationType.PRIMARY_STEREO,
                display_time=display_time_ns,
                space=self._app_space,
            ),
        )
        valid = xr.ViewStateFlags.POSITION_VALID_BIT | xr.ViewStateFlags.ORIENTATION_VALID_BIT
        if (int(state.view_state_flags) & int(valid)) != int(valid):
            return None
        return [
            XrView(
                _pose(v.pose), XrFov(v.fov.angle_left, v.fov.angle_right, v.fov.angle_up, v.fov.angle_down)
            )
            for v in views
        ]

    @_frame_call
    def locate_head(self, display_time_ns: int) -> XrPose | None:
        loc = xr.locate_space(self._view_space, self._app_space, display_time_ns)
        valid = xr.SpaceLocationFlags.POSITION_VALID_BIT | xr.SpaceLocationFlags.ORIENTATION_VALID_BIT
        if (int(loc.location_flags) & int(valid)) != int(valid):
            return None
        return _pose(loc.pose)

    @_frame_call
    def sync_actions(self) -> ActionStates:
        try:
            xr.sync_actions(
                self._session,
                xr.ActionsSyncInfo(active_action_sets=[xr.ActiveActionSet(self._action_set, xr.NULL_PATH)]),
            )
        except xr.exception.SessionNotFocused:
            return ActionStates()

        def boolean(name: str) -> bool:
            st = xr.get_action_state_boolean(self._session, xr.ActionStateGetInfo(action=self._actions[name]))
            return bool(st.is_active and st.current_state)

        axis = xr.get_action_state_float(
            self._session, xr.ActionStateGetInfo(action=self._actions["suds_axis"])
        )
        return ActionStates(
            safe_place=boolean("safe_place"),
            suds_axis=float(axis.current_state) if axis.is_active else 0.0,
            suds_step=boolean("suds_step"),
            suds_confirm=boolean("suds_confirm"),
        )

    @_frame_call
    def haptic_pulse(self, duration_ns: int, amplitude: float) -> None:
        vibration = xr.HapticVibration(
            duration=duration_ns, frequency=xr.FREQUENCY_UNSPECIFIED, amplitude=amplitude
        )
        xr.apply_haptic_feedback(
            self._session,
            # NULL_PATH: every hand the action is bound to.
            xr.HapticActionInfo(action=self._actions["prompt_haptic"], subaction_path=xr.NULL_PATH),
            vibration,  # pyopenxr passes it by reference as the base header
        )

    @_frame_call
    def end_frame(self, display_time_ns: int, layer: list[ProjectionLayerView] | None) -> None:
        layers: list[Any] = []
        keep: list[Any] = []
        if layer:
            views = (xr.CompositionLayerProjectionView * len(layer))()
            for dst, src in zip(views, layer, strict=True):
                dst.pose = xr.Posef(
                    orientation=xr.Quaternionf(*src.view.pose.orientation_xyzw),
                    position=xr.Vector3f(*src.view.pose.position_m),
                )
                f = src.view.fov
                dst.fov = xr.Fovf(f.angle_left, f.angle_right, f.angle_up, f.angle_down)
                dst.sub_image.swapchain = self._swapchains[src.swapchain].handle
                dst.sub_image.image_rect.offset.x = 0
                dst.sub_image.image_rect.offset.y = 0
                dst.sub_image.image_rect.extent.width = src.width
                dst.sub_image.image_rect.extent.height = src.height
                dst.sub_image.image_array_index = 0
            projection = xr.CompositionLayerProjection(space=self._app_space, views=views)
            keep += [views, projection]
            layers.append(ctypes.byref(projection))
        xr.end_frame(
            self._session,
            xr.FrameEndInfo(
                display_time=display_time_ns,
                environment_blend_mode=xr.EnvironmentBlendMode.OPAQUE,
                layers=layers,
            ),
        )

    def to_monotonic_ns(self, xr_time_ns: int) -> int | None:
        """An XrTime on CLOCK_MONOTONIC (the app's clock), where the runtime can convert it."""
        if xr.KHR_CONVERT_TIMESPEC_TIME_EXTENSION_NAME not in self._extensions:
            return None
        ts = xr.convert_time_to_timespec_time_khr(self._instance, xr_time_ns)
        return int(ts.tv_sec) * 1_000_000_000 + int(ts.tv_nsec)

    # -- teardown ---------------------------------------------------------------------------------

    def destroy_session(self) -> None:
        for sc_id in list(self._swapchains):
            self.destroy_swapchain(sc_id)
        for space in (self._view_space, self._app_space):
            if space is not None:
                xr.destroy_space(space)
        self._view_space = self._app_space = None
        if self._action_set is not None:
            xr.destroy_action_set(self._action_set)  # destroys its actions too
        self._action_set = None
        self._actions.clear()
        if self._session is not None:
            xr.destroy_session(self._session)
        self._session = None
        self._binding = None

    def destroy_instance(self) -> None:
        if self._instance is not None:
            xr.destroy_instance(self._instance)
        self._instance = None


def _pose(p: Any) -> XrPose:
    return XrPose(
        (float(p.position.x), float(p.position.y), float(p.position.z)),
        (float(p.orientation.x), float(p.orientation.y), float(p.orientation.z), float(p.orientation.w)),
    )
