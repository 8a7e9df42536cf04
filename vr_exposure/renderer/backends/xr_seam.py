"""The seam between the OpenXR backend and an OpenXR runtime: the calls the backend makes, as one
small protocol, and the plain values that cross it.

:class:`XrRuntime` is implemented twice:
:class:`~vr_exposure.renderer.backends.openxr_runtime.PyOpenXrRuntime` wraps pyopenxr (a real
runtime: Monado, SteamVR, a headset's own), and
:class:`~vr_exposure.renderer.backends.fake_xr.FakeXrRuntime` is pure Python, scripted by tests.
Nothing here imports pyopenxr or Panda3D, so the backend's logic can be tested without either.

Poses and fields of view cross the seam in OpenXR's terms: metres, +X right, +Y up, -Z forward
(right-handed), quaternions (x, y, z, w), angles in radians with left and down negative. The backend
converts to Panda3D's axes with :func:`xr_to_panda_position` / :func:`xr_to_panda_quat`, the one place
the conversion is written.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from vr_exposure.errors import RendererError

__all__ = [
    "GL_RGBA8",
    "GL_SRGB8",
    "GL_SRGB8_ALPHA8",
    "ActionStates",
    "InstanceLossPending",
    "ProjectionLayerView",
    "ReferenceSpaceChanging",
    "SWAPCHAIN_FORMAT_PREFERENCE",
    "SessionState",
    "SessionStateChanged",
    "SwapchainFormatUnsupported",
    "SwapchainInfo",
    "ViewConfig",
    "XrEvent",
    "XrFov",
    "XrFrameState",
    "XrPose",
    "XrRuntime",
    "XrRuntimeError",
    "XrUnavailable",
    "XrView",
    "choose_swapchain_format",
    "xr_to_panda_position",
    "xr_to_panda_quat",
]

# OpenGL internal formats a colour swapchain may use. GL_SRGB8 (no alpha) is deliberately absent:
# runtimes list it, but several cannot composite it (panda3d-openxr picks it for an alpha-less
# framebuffer and gets a black headset on Monado).
GL_SRGB8_ALPHA8 = 0x8C43
GL_RGBA8 = 0x8058
GL_SRGB8 = 0x8C41

#: Preferred first. sRGB first: the compositor decodes an sRGB image to light, and 8-bit sRGB keeps
#: the dark tones a linear 8-bit image bands; the eye copy encodes Panda3D's linear colour into it
#: (:class:`~vr_exposure.renderer.backends.openxr.GlEyeBlitter`), so a 50 % grey is seen as half
#: the white's light.
SWAPCHAIN_FORMAT_PREFERENCE = (GL_SRGB8_ALPHA8, GL_RGBA8)


class XrUnavailable(RendererError):
    """No usable runtime or headset. The message is one line a therapist can act on."""


class XrRuntimeError(RendererError):
    """A runtime call failed while the session was running (the backend shuts down cleanly)."""


class SwapchainFormatUnsupported(XrUnavailable):
    """The runtime offers neither GL_SRGB8_ALPHA8 nor GL_RGBA8 colour swapchains."""


class SessionState(enum.IntEnum):
    """XrSessionState, same numbers as the OpenXR headers."""

    UNKNOWN = 0
    IDLE = 1
    READY = 2
    SYNCHRONIZED = 3
    VISIBLE = 4
    FOCUSED = 5
    STOPPING = 6
    LOSS_PENDING = 7
    EXITING = 8


@dataclass(frozen=True, slots=True)
class XrPose:
    """A pose in OpenXR axes: position in metres, unit quaternion (x, y, z, w)."""

    position_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    orientation_xyzw: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class XrFov:
    """An eye's field of view as four angles from the view direction, radians (left/down negative)."""

    angle_left: float
    angle_right: float
    angle_up: float
    angle_down: float


@dataclass(frozen=True, slots=True)
class XrView:
    """One eye at the predicted display time: where it is (in the app's reference space) and what it sees."""

    pose: XrPose
    fov: XrFov


@dataclass(frozen=True, slots=True)
class ViewConfig:
    """The runtime's recommended swapchain size for one eye."""

    width: int
    height: int
    sample_count: int = 1


@dataclass(frozen=True, slots=True)
class XrFrameState:
    """What ``xrWaitFrame`` returned."""

    predicted_display_time_ns: int
    predicted_display_period_ns: int
    should_render: bool


@dataclass(frozen=True, slots=True)
class SessionStateChanged:
    state: SessionState


@dataclass(frozen=True, slots=True)
class InstanceLossPending:
    """The runtime is going away (e.g. the headset was unplugged or the runtime is restarting)."""


@dataclass(frozen=True, slots=True)
class ReferenceSpaceChanging:
    """``XrEventDataReferenceSpaceChangePending``: the runtime recentres the app's space (the user
    held the recenter button). ``pose_in_previous`` is the new origin in the old space, when valid."""

    space_kind: str
    pose_in_previous: XrPose | None = None


XrEvent = SessionStateChanged | InstanceLossPending | ReferenceSpaceChanging


@dataclass(frozen=True, slots=True)
class ActionStates:
    """The patient's controls after ``xrSyncActions``: current states, not edges (the backend finds
    presses itself, so that a held button fires once).

    ``suds_axis`` is a thumbstick's y in [-1, 1] (up positive); ``suds_step`` is a button for
    controllers without a stick (each press steps the rating up by 10, wrapping at 100).
    """

    safe_place: bool = False
    suds_axis: float = 0.0
    suds_step: bool = False
    suds_confirm: bool = False


@dataclass(frozen=True, slots=True)
class ProjectionLayerView:
    """One eye of the projection layer handed to ``xrEndFrame``."""

    swapchain: int
    width: int
    height: int
    view: XrView


@dataclass(slots=True)
class SwapchainInfo:
    """A created swapchain: the id the runtime wrapper knows it by, its size and its GL texture names."""

    swapchain: int
    width: int
    height: int
    gl_format: int
    images: list[int] = field(default_factory=list)


class XrRuntime(Protocol):
    """Everything the OpenXR backend asks of a runtime, in the order it asks.

    Lifetime: ``create_instance`` -> ``view_configs`` -> ``create_session`` (on the thread whose
    OpenGL context Panda3D renders with, after ``xrGetOpenGLGraphicsRequirementsKHR``) -> swapchains,
    reference space, actions -> the frame loop -> ``destroy_swapchain`` (each) -> ``destroy_session``
    -> ``destroy_instance``.
    """

    runtime_name: str
    system_name: str

    def create_instance(self, app_name: str) -> None:
        """Create the instance and find a head-mounted system; raise :class:`XrUnavailable` if none."""

    def view_configs(self) -> list[ViewConfig]:
        """The primary stereo view configuration's views (two)."""

    def create_session(self) -> None:
        """Create an OpenGL session bound to the GL context current on this thread."""

    def swapchain_formats(self) -> list[int]: ...

    def create_swapchain(self, width: int, height: int, gl_format: int) -> SwapchainInfo: ...

    def acquire_image(self, swapchain: int) -> int:
        """Acquire and wait for the next image; returns its index into ``SwapchainInfo.images``."""

    def release_image(self, swapchain: int) -> None: ...

    def destroy_swapchain(self, swapchain: int) -> None: ...

    def create_reference_space(self) -> str:
        """Create the app's reference space (STAGE if offered, else LOCAL) and the head (VIEW) space;
        returns the kind, ``"stage"`` or ``"local"``."""

    def create_actions(self) -> dict[str, str | None]:
        """Create the patient action set (safe place, SUDS, the prompt's haptic pulse), suggest
        bindings for every profile of :data:`~vr_exposure.renderer.backends.xr_bindings.PROFILES`,
        attach it to the session. Returns each profile's path -> None (accepted) or why not."""

    def poll_event(self) -> XrEvent | None:
        """The next event for this app, or None when the queue is empty."""

    def begin_session(self) -> None: ...

    def end_session(self) -> None: ...

    def request_exit(self) -> None: ...

    def wait_frame(self) -> XrFrameState: ...

    def begin_frame(self) -> None: ...

    def locate_views(self, display_time_ns: int) -> list[XrView] | None:
        """Both eyes at ``display_time_ns`` in the app space, or None while tracking is lost."""

    def locate_head(self, display_time_ns: int) -> XrPose | None:
        """The head (VIEW space) in the app space at ``display_time_ns``, or None while tracking is lost."""

    def sync_actions(self) -> ActionStates:
        """``xrSyncActions`` and read the patient's controls (only while the session is focused)."""

    def haptic_pulse(self, duration_ns: int, amplitude: float) -> None:
        """``xrApplyHapticFeedback`` on the patient's controllers (only while the session is focused)."""

    def end_frame(self, display_time_ns: int, layer: list[ProjectionLayerView] | None) -> None:
        """``xrEndFrame`` with one projection layer, or no layer when nothing was rendered."""

    def to_monotonic_ns(self, xr_time_ns: int) -> int | None:
        """An XrTime on the app's monotonic clock, or None where the runtime cannot convert it."""

    def destroy_session(self) -> None:
        """Destroy spaces, the action set and the session (swapchains are destroyed before this)."""

    def destroy_instance(self) -> None: ...


def choose_swapchain_format(offered: list[int]) -> int:
    """The colour format to render into: GL_SRGB8_ALPHA8, else GL_RGBA8, never GL_SRGB8."""
    for fmt in SWAPCHAIN_FORMAT_PREFERENCE:
        if fmt in offered:
            return fmt
    listed = ", ".join(hex(f) for f in offered) or "none"
    raise SwapchainFormatUnsupported(
        f"the OpenXR runtime offers no GL_SRGB8_ALPHA8 or GL_RGBA8 swapchain (it offers {listed})"
    )


def xr_to_panda_position(p: tuple[float, float, float]) -> tuple[float, float, float]:
    """OpenXR (+X right, +Y up, -Z forward) to Panda3D (+X right, +Y forward, +Z up), metres."""
    x, y, z = p
    return (x, -z, y)


def xr_to_panda_quat(q_xyzw: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The same rotation in Panda3D axes, still (x, y, z, w): the rotation axis converts like a
    position and the angle is unchanged (both systems are right-handed, so no sign flip of w)."""
    x, y, z, w = q_xyzw
    ax, ay, az = xr_to_panda_position((x, y, z))
    return (ax, ay, az, w)
