"""Backends: where the renderer's frames go and where the patient's own input comes from.

One small interface for the three places a patient can look at a scene: an OpenXR headset
(:mod:`.openxr`), a desktop window, mono or side-by-side stereo (:mod:`.window`), and an offscreen
buffer for tests, CI, the demo and screenshots (:mod:`.offscreen`).

Lifecycle, driven by the app (:mod:`vr_exposure.renderer.app`):

1. ``select_backend(name, explicit=...)`` constructs a backend *before* Panda3D opens a window. A
   constructor raises :class:`BackendUnavailable` when the backend cannot run here (no OpenXR
   runtime, no display); ``auto`` then falls back, saying so on one line.
2. ``backend.prc_data()`` is loaded (``loadPrcFileData``) and the caller creates the ShowBase with
   ``backend.window_type``.
3. The app builds the camera rig (``tracking-space -> head -> left-eye / right-eye``, see
   :func:`build_rig`) and calls ``backend.setup(app)``; the backend puts its cameras on the rig.
4. Every frame: ``begin_frame()`` (XR: wait frame, locate views) first, ``poll_actions()`` in the
   link task, ``end_frame()`` after Panda3D has rendered.
5. ``shutdown()`` before Panda3D closes its window (XR objects must be destroyed first, or the
   runtime crashes at exit).
"""

from __future__ import annotations

import abc
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from vr_exposure.errors import VrExposureError

if TYPE_CHECKING:
    from panda3d.core import NodePath

__all__ = [
    "BACKEND_NAMES",
    "IPD_M",
    "AppContext",
    "Backend",
    "BackendOptions",
    "BackendNotice",
    "BackendUnavailable",
    "FrameInfo",
    "HeadPose",
    "PatientAction",
    "Rig",
    "build_rig",
    "display_available",
    "select_backend",
]

#: Interpupillary distance used where the runtime does not give per-eye views (the window's stereo).
IPD_M = 0.063
#: Standing eye height of the tracking-space origin's head in window/offscreen mode (seated: 1.2 m).
SEATED_EYE_HEIGHT_M = 1.2

BACKEND_NAMES = ("auto", "openxr", "window", "offscreen")


class BackendUnavailable(VrExposureError):
    """This backend cannot run here (no OpenXR runtime, no display). The message is one line a
    therapist can act on, e.g. ``no OpenXR runtime: set XR_RUNTIME_JSON or start SteamVR``."""


@dataclass(frozen=True, slots=True)
class HeadPose:
    """The head in tracking space: metres, and a unit quaternion (x, y, z, w). Panda3D axes
    (+X right, +Y forward, +Z up); an XR backend converts from OpenXR's (+Y up, -Z forward)."""

    position_m: tuple[float, float, float] = (0.0, 0.0, SEATED_EYE_HEIGHT_M)
    orientation_xyzw: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """What ``begin_frame`` learned: when the frame will be seen, where the head will be then, and
    whether to render at all (an XR session that is not visible says no; the app still runs its tasks)."""

    predicted_display_time_ns: int
    head_pose: HeadPose
    should_render: bool = True


@dataclass(frozen=True, slots=True)
class PatientAction:
    """Something the patient did with the controller or keyboard.

    ``kind == "safe_place"``: go to the safe place now. ``kind == "suds"``: a rating, ``value`` 0-100.
    """

    kind: Literal["safe_place", "suds"]
    value: int | None = None
    source: Literal["keyboard", "controller"] = "keyboard"


@dataclass(frozen=True, slots=True)
class BackendNotice:
    """Something the display did by itself that the session must record.

    ``kind == "headset"``: ``status`` is ``worn``, ``off`` or ``lost`` (see ``RendererState.headset``).
    ``kind == "recentered"``: the view was recentred by ``reason`` (``runtime`` or ``console``);
    ``yaw_deg`` and ``offset_m`` are how far the origin moved (Panda3D axes).
    """

    kind: Literal["headset", "recentered"]
    status: str = ""
    reason: str = ""
    yaw_deg: float = 0.0
    offset_m: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """Choices from the command line. ``size`` is the window/buffer (for XR: the mirror window)."""

    size: tuple[int, int] = (1280, 720)
    stereo: bool = False
    ipd_m: float = IPD_M


@dataclass(frozen=True, slots=True)
class Rig:
    """The camera rig every backend uses: ``tracking-space -> head -> left-eye / right-eye``.

    The stage may move ``tracking_space`` (seated mode, scene origin); the backend moves ``head``
    from the tracked pose (XR) or mouse/keyboard look (window) and puts its cameras on the eyes.
    """

    tracking_space: NodePath
    head: NodePath
    left_eye: NodePath
    right_eye: NodePath


def build_rig(render: NodePath, ipd_m: float = IPD_M) -> Rig:
    """Create the rig under ``render`` with the eyes ``ipd_m`` apart (an XR backend moves them to the
    runtime's per-eye poses every frame)."""
    tracking_space = render.attachNewNode("tracking-space")
    head = tracking_space.attachNewNode("head")
    head.setPos(*HeadPose().position_m)
    left = head.attachNewNode("left-eye")
    right = head.attachNewNode("right-eye")
    left.setX(-ipd_m / 2)
    right.setX(ipd_m / 2)
    return Rig(tracking_space, head, left, right)


class AppContext(Protocol):
    """What a backend may use from the app in ``setup``: Panda3D objects passed explicitly (never the
    ``base``/``render`` builtins)."""

    @property
    def base(self) -> Any: ...  # the ShowBase (for makeCamera, the graphics engine, the pipe)

    @property
    def render(self) -> NodePath: ...

    @property
    def aspect2d(self) -> NodePath: ...

    @property
    def win(self) -> Any: ...  # panda3d.core.GraphicsOutput

    @property
    def task_mgr(self) -> Any: ...

    @property
    def rig(self) -> Rig: ...

    def accept_key(self, event: str, handler: Callable[[], None]) -> None:
        """Bind a Panda3D input event (``space``, ``arrow_left-repeat``) to ``handler``."""


class Backend(abc.ABC):
    """One place frames go to. Subclasses set ``name``; their constructor raises
    :class:`BackendUnavailable` when they cannot run here."""

    name: ClassVar[str]
    #: ``onscreen`` / ``offscreen``: the ShowBase ``windowType`` this backend needs.
    window_type: ClassVar[str] = "onscreen"
    #: True for a headset: overlays are world-locked in front of the head rather than on the screen.
    head_mounted: ClassVar[bool] = False

    def __init__(self, options: BackendOptions) -> None:
        self.options = options
        #: The display's frame period; frames longer than 1.5 of it count as dropped.
        self.frame_period_ns = 1_000_000_000 // 60

    def prc_data(self) -> str:
        """Panda3D config lines to load before the ShowBase is created."""
        w, h = self.options.size
        return f"win-size {w} {h}\nwindow-title vr-exposure\n"

    @property
    def stereo(self) -> bool:
        return self.options.stereo

    @abc.abstractmethod
    def setup(self, app: AppContext) -> None:
        """Open the session (XR), put cameras on ``app.rig``, bind patient keys/actions."""

    @abc.abstractmethod
    def begin_frame(self) -> FrameInfo:
        """The frame's first step (XR: ``xrWaitFrame``/``xrBeginFrame``, locate views, move the rig)."""

    def end_frame(self) -> None:
        """After Panda3D rendered the frame (XR: release swapchain images, ``xrEndFrame``)."""
        return None

    @abc.abstractmethod
    def poll_actions(self) -> list[PatientAction]:
        """Patient actions since the last call, oldest first."""

    def poll_notices(self) -> list[BackendNotice]:
        """Headset and recenter notices since the last call, oldest first (none on a desktop)."""
        return []

    def prompt_opened(self) -> None:
        """A SUDS prompt just opened (an XR backend pulses the controllers)."""
        return None

    def recenter(self) -> BackendNotice:
        """Make where the patient now looks the view's forward (seated use). Desktop backends have
        no head to recentre."""
        raise BackendUnavailable(f"the {self.name} display has no head tracking to recentre")

    def shutdown(self) -> None:
        """Release what ``setup`` made. Called before Panda3D closes its window; safe to call twice."""
        return None


def display_available() -> bool:
    """Can a desktop window open here? (X11/Wayland on Linux; always on Windows and macOS.)"""
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def _make(name: str, options: BackendOptions) -> Backend:
    # Imported here so that choosing the window never loads pyopenxr, and a broken or missing
    # pyopenxr install reads as "OpenXR unavailable" rather than a crash.
    if name == "openxr":
        try:
            from vr_exposure.renderer.backends.openxr import OpenXrBackend
            from vr_exposure.renderer.backends.xr_seam import XrUnavailable
        except ImportError as exc:
            raise BackendUnavailable(f"OpenXR support is not installed ({exc})") from exc
        try:
            backend: Backend = OpenXrBackend(options)
        except XrUnavailable as exc:
            raise BackendUnavailable(str(exc)) from exc
        return backend
    if name == "window":
        from vr_exposure.renderer.backends.window import WindowBackend

        return WindowBackend(options)
    if name == "offscreen":
        from vr_exposure.renderer.backends.offscreen import OffscreenBackend

        return OffscreenBackend(options)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")


def select_backend(
    name: str,
    explicit: bool,
    options: BackendOptions | None = None,
    *,
    say: Callable[[str], None] | None = None,
) -> Backend:
    """The backend to run.

    ``name`` is ``openxr``, ``window``, ``offscreen`` or ``auto``. An explicitly chosen backend that
    cannot run raises :class:`BackendUnavailable` (the CLI prints its one line and exits 2). ``auto``,
    or a default choice (``explicit=False``), tries OpenXR, then a window, then offscreen, and says
    on one line (through ``say``) why it fell back.
    """
    options = options or BackendOptions()
    if name not in BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    if explicit and name != "auto":
        return _make(name, options)
    chain = ["openxr", "window", "offscreen"] if name == "auto" else [name, "window", "offscreen"]
    chain = list(dict.fromkeys(chain))
    reasons: list[str] = []
    for candidate in chain:
        try:
            backend = _make(candidate, options)
        except BackendUnavailable as exc:
            reasons.append(f"{candidate}: {exc}")
            continue
        if reasons and say is not None:
            say(f"backend {candidate} (fell back: {'; '.join(reasons)})")
        return backend
    raise BackendUnavailable("no backend can run here: " + "; ".join(reasons))  # pragma: no cover
