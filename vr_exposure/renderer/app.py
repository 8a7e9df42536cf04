"""The renderer app: one Panda3D frame loop that applies the console's commands at frame boundaries,
runs the stage, and reports what the patient sees.

Frame order (Panda3D task sorts; lower runs first)::

    -40  vr-exposure-xr         backend.begin_frame(): XR wait frame + begin frame, head pose at the
                                predicted display time, the rig moved (window: keyboard/mouse look)
      0  eventManager           (Panda3D) key events -> patient actions queued by the backend
     10  vr-exposure-link       patient actions (safe place first), then link.pump(): requests applied
                                to the stage in arrival order, safe_place/stop before anything queued
     15  vr-exposure-stimuli    event schedules (renderer/schedules.py) fire what is due, then
                                stage.update(dt): intensity ramps, fades, events, animation, audio
     20  ivalLoop               (Panda3D) intervals
     45  vr-exposure-telemetry  head pose, stimulus positions (10 Hz), frame timing (1 Hz), mirror
                                image; journal hand-off: what this frame is about to show, sampled
                                while its state is still in the CPU's caches (a software rasteriser
                                evicts them during the render)
     50  igLoop                 (Panda3D) renders the frame (XR: each eye into its swapchain image)
     54  vr-exposure-present    backend.end_frame(): XR: release images, xrEndFrame; offscreen: wait
                                until the GL frame is finished (so frames never pile up in the driver)

So a command read in the link task of frame N is on screen in frame N. Every handler is wrapped: a
failing command becomes an error reply (the link server does that) and a failing task step is
journaled and counted (:attr:`App.errors`), and the loop keeps rendering the last safe state.

Modes and what they refuse: in the safe place (or stopped) nothing takes the patient out but a
deliberate ``leave_safe_place`` (or, from a stop, the safe place). A ``load_scene``, ``apply_preset``
or ``trigger_event`` there is refused with ``InvalidState`` (a ``load_scene`` queued before a
``safe_place`` is applied after it, since safety commands go first); a ``set_intensity`` in the safe
place chooses the intensity the scene comes back at. A ``set_session`` for a new session while in the
safe place or stopped makes the renderer ``idle`` where it is, with no way back into the previous
session's exposure.

With ``lsl=True`` the head pose of every frame (the values journaled as ``head_pose``) also goes to a Lab
Streaming Layer outlet (:class:`vr_exposure.lsl.LslBridge`, nominal rate the display rate),
built at start and again when a new session is set, so its ``source_id`` names the session
(``no-session`` before one is set). Pushing never blocks; an LSL that fails is one logged line and the
renderer goes on without it.

Dependencies are explicit: the app is given ``render``, ``aspect2d``, ``win`` and ``task_mgr`` (and
the ShowBase only for what a backend needs to build cameras); it never uses Panda3D's builtins and
never changes Panda3D's configuration (the CLI loads the backend's prc before creating the ShowBase).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import msgspec

from vr_exposure.core.clock import SYSTEM_CLOCK, Clock
from vr_exposure.core.loading import ContentLibrary
from vr_exposure.core.specs import SafePlaceSettings, SceneSpec
from vr_exposure.errors import JournalError, SpecError
from vr_exposure.link import messages as m
from vr_exposure.link.errors import CommandRejected
from vr_exposure.renderer.backends import (
    Backend,
    BackendNotice,
    BackendUnavailable,
    FrameInfo,
    PatientAction,
    Rig,
    build_rig,
)
from vr_exposure.renderer.overlay import Overlay
from vr_exposure.renderer.schedules import ScheduleError, Schedules
from vr_exposure.renderer.stage import StageError
from vr_exposure.renderer.stimulus_tracker import StimulusTracker
from vr_exposure.renderer.telemetry import MirrorCapture, Telemetry

log = logging.getLogger(__name__)

TASK_SORTS: dict[str, int] = {
    "vr-exposure-xr": -40,
    "vr-exposure-link": 10,
    "vr-exposure-stimuli": 15,
    "vr-exposure-telemetry": 45,
    "vr-exposure-present": 54,
}
#: Tasks whose bodies are the app's own per-frame Python work (the XR task mostly waits on the runtime).
WORK_TASKS = ("vr-exposure-link", "vr-exposure-stimuli", "vr-exposure-telemetry")
#: A scene change fades to black, swaps while black (where a build may stall), and fades back in.
SCENE_FADE_S = 1.0
#: The session id in the LSL ``source_id`` before a session is set.
LSL_NO_SESSION = "no-session"
#: ``stop`` fades to black over this and holds.
STOP_FADE_S = 1.0


class StageLike(Protocol):
    """What the app uses of :class:`vr_exposure.renderer.stage.Stage`."""

    @property
    def spec(self) -> SceneSpec | None: ...

    @property
    def scene_id(self) -> str | None: ...

    @property
    def scene(self) -> object: ...

    @property
    def preset(self) -> str | None: ...

    @property
    def intensity(self) -> float: ...

    @property
    def target_intensity(self) -> float: ...

    @property
    def active_events(self) -> list[str]: ...

    @property
    def fade_level(self) -> float: ...

    @property
    def transitioning(self) -> bool: ...

    @property
    def return_to(self) -> tuple[str, str | None, float] | None: ...

    @property
    def ramping(self) -> bool: ...

    @property
    def pending(self) -> tuple[str | None, str | None, float] | None: ...

    @property
    def eye_height_m(self) -> float: ...

    def load(
        self,
        spec: SceneSpec,
        *,
        preset: str | None = None,
        intensity: float | None = None,
        fade_s: float = 0.0,
    ) -> None: ...

    def set_intensity(self, value: float, ramp_s: float = 1.0) -> None: ...

    def apply_preset(self, name: str, ramp_s: float = 1.0) -> None: ...

    def trigger_event(self, name: str, strength: float = 1.0) -> float: ...

    def stop_events(self) -> list[str]: ...

    def fade(self, to_black: bool, duration_s: float) -> None: ...

    def go_to_safe_place(
        self, safe_spec: SceneSpec, fade_s: float = 2.0, *, preset: str | None = None
    ) -> None: ...

    def leave_safe_place(self, fade_s: float = 2.0) -> None: ...

    def set_return_intensity(self, value: float) -> None: ...

    def forget_return(self) -> None: ...

    def update(self, dt_s: float) -> None: ...

    def destroy(self) -> None: ...


class JournalLike(Protocol):
    def clinical(
        self, msg_type: str, content: Mapping[str, Any], *, header: Any = None, parent_header: Any = None
    ) -> int: ...

    def telemetry(self, msg_type: str, content: Mapping[str, Any], *, header: Any = None) -> None: ...

    def close(self) -> None: ...


class App:
    """The renderer. Build it on an existing ShowBase (:meth:`on_showbase`), then step the task
    manager (``while not app.exit_requested: task_mgr.step()``) and :meth:`close` at the end."""

    def __init__(
        self,
        *,
        base: Any,
        render: Any,
        aspect2d: Any,
        win: Any,
        task_mgr: Any,
        backend: Backend,
        stage_factory: Callable[[App], StageLike],
        command_endpoint: str | None = None,
        pub_endpoint: str | None = None,
        link_factory: Callable[..., Any] | None = None,
        safe_place: SafePlaceSettings | None = None,
        library: ContentLibrary | None = None,
        clock: Clock = SYSTEM_CLOCK,
        session_dir: Path | None = None,
        max_frames: int | None = None,
        mirror: bool = True,
        curve: Any = None,
        lsl: bool = False,
        sessions_root: Path | None = None,
    ) -> None:
        self._base = base
        #: Where the renderer keeps sessions it journals for a console on another machine
        #: (default: ``$VR_EXPOSURE_SESSIONS`` or the user data dir).
        self.sessions_root = sessions_root
        self._render = render
        self._aspect2d = aspect2d
        self._win = win
        self._task_mgr = task_mgr
        self.backend = backend
        self.clock = clock
        self.safe_place = safe_place or SafePlaceSettings()
        if library is None:
            from vr_exposure.core.loading import load_library
            from vr_exposure.renderer.builders import contracts

            # Checked against the builders' contracts: a scene its builder would not show as written
            # is never loaded (``vr-exposure renderer`` refuses to start on one).
            library = load_library(raise_on_error=False, contracts=contracts())
        self.library = library
        self.max_frames = max_frames
        self.frame = 0
        self.mode: m.Mode = "idle"
        self.link_status: m.LinkStatus = "waiting"
        #: A head-mounted backend's headset: off until its XR session is first focused.
        self.headset: m.HeadsetStatus = "off" if backend.head_mounted else "none"
        self.session_id: str | None = None
        self.session_dir: Path | None = None
        self.session_shared = True
        self.exit_requested = False
        self.errors = 0
        self.frame_info: FrameInfo | None = None
        self.journal: JournalLike | None = None
        #: Per-task body durations of the frame being built, and the finished frames' totals.
        self.task_ns: dict[str, int] = dict.fromkeys(TASK_SORTS, 0)
        self.work_ns: deque[int] = deque(maxlen=100_000)
        #: The same on the thread's CPU clock: what the work costs when the OS does not preempt it.
        self.task_cpu_ns: dict[str, int] = dict.fromkeys(TASK_SORTS, 0)
        self.work_cpu_ns: deque[int] = deque(maxlen=100_000)
        self.on_frame_done: Callable[[App], None] | None = None
        #: The event schedules the renderer runs (start_schedule_request), advanced in running time.
        self.schedules = Schedules()
        self._accepted: list[str] = []
        self._last_update_ns: int | None = None
        #: This frame's link pump handled messages (the telemetry task then puts off a due sample).
        self._link_handled = False
        self._last_state: m.RendererState | None = None
        self._ramping = False
        self._events_seen: tuple[str, ...] = ()
        self._fading = False
        self._scene_seen: str | None = None
        self.lsl = lsl
        #: The head-pose outlet (an ``LslBridge``) while ``lsl`` is on and working.
        self.lsl_bridge: Any = None

        self._rig = build_rig(render, backend.options.ipd_m)
        backend.setup(self)
        self.overlay = Overlay(
            render=render,
            aspect2d=aspect2d,
            head=self._rig.head,
            world_locked=backend.head_mounted or backend.stereo,
            head_mounted=backend.head_mounted,
        )
        self.stage = stage_factory(self)

        self.link: Any = None
        if command_endpoint is not None:
            if link_factory is None:
                from vr_exposure.link.server import LinkServer

                link_factory = LinkServer
            # CURVE (a ``link.security.ServerCurve``) only when asked for, so a test's own link
            # factory need not know about it.
            secure = {} if curve is None else {"curve": curve}
            self.link = link_factory(
                command_endpoint,
                pub_endpoint or "tcp://127.0.0.1:*",
                handler=self._on_request,
                snapshot=self.state,
                clock=clock,
                link_timeout_s=self.safe_place.link_timeout_s,
                on_link_lost=self._on_link_lost,
                on_link_restored=self._on_link_restored,
                **secure,
            )
        mirror_output = getattr(backend, "mirror_output", None) or win
        self.telemetry = Telemetry(
            # Read at each summary: an XR backend learns the runtime's period at its first frame.
            frame_period_ns=lambda: backend.frame_period_ns,
            publish=self._publish_telemetry if self.link is not None else None,
            journal=self._journal_telemetry,
            mirror=(
                MirrorCapture(mirror_output, before_render=True) if mirror and self.link is not None else None
            ),
            stimuli=StimulusTracker(render, self._rig.tracking_space),
            scene_key=lambda: self.stage.scene,
            acked_view_frame=self._acked_view_frame,
            xr_pacing=getattr(backend, "pacing_figures", None),
            publish_from_thread=self.link.publish_from_thread if self.link is not None else None,
            clock_ns=self.clock.monotonic_ns,
        )
        if session_dir is not None:
            self.open_journal(Path(session_dir))
        self._open_lsl()
        for name, sort in TASK_SORTS.items():
            task_mgr.add(
                self._timed(name, getattr(self, "_task_" + name.removeprefix("vr-exposure-"))),
                name,
                sort=sort,
            )

    @classmethod
    def on_showbase(cls, base: Any, backend: Backend, **kwargs: Any) -> App:
        """An app on ``base``'s render graph, window and task manager (passed explicitly)."""
        return cls(
            base=base,
            render=base.render,
            aspect2d=base.aspect2d,
            win=base.win,
            task_mgr=base.taskMgr,
            backend=backend,
            **kwargs,
        )

    # -- what backends and the stage may use (AppContext) ------------------------------------------

    @property
    def base(self) -> Any:
        return self._base

    @property
    def render(self) -> Any:
        return self._render

    @property
    def aspect2d(self) -> Any:
        return self._aspect2d

    @property
    def win(self) -> Any:
        return self._win

    @property
    def task_mgr(self) -> Any:
        return self._task_mgr

    @property
    def rig(self) -> Rig:
        return self._rig

    def accept_key(self, event: str, handler: Callable[[], None]) -> None:
        self._base.accept(event, handler)
        self._accepted.append(event)

    # -- tasks -------------------------------------------------------------------------------------

    def _timed(self, name: str, body: Callable[[], None]) -> Callable[[Any], int]:
        from direct.task.Task import Task

        def task(_task: Any) -> int:
            c0 = time.thread_time_ns()
            t0 = time.perf_counter_ns()
            try:
                body()
            except Exception as exc:  # noqa: BLE001 - nothing stops the render loop
                self._task_failed(name, exc)
            self.task_ns[name] = time.perf_counter_ns() - t0
            self.task_cpu_ns[name] = time.thread_time_ns() - c0
            if name == "vr-exposure-present":
                self._frame_done()
            return int(Task.cont)

        return task

    def _task_failed(self, name: str, exc: Exception) -> None:
        self.errors += 1
        log.exception("renderer: %s failed", name)
        if self.errors <= 100:  # a persistent failure must not flood the journal
            self._journal_clinical(
                "renderer_error",
                {"task": name, "ename": type(exc).__name__, "evalue": str(exc), "frame": self.frame},
            )

    def _task_xr(self) -> None:
        self.frame_info = self.backend.begin_frame()

    def _task_link(self) -> None:
        actions = self.backend.poll_actions()
        # The patient's safe-place request goes ahead of their ratings and of the console's commands.
        for action in sorted(actions, key=lambda a: a.kind != "safe_place"):
            self._on_patient_action(action)
        for notice in self.backend.poll_notices():
            self._on_backend_notice(notice)
        if self.link is not None:
            # A frame that handled messages (a heartbeat, a command) lets the telemetry task put off
            # its 10 Hz stimulus sample by one frame, so the two do not add up in one frame.
            self._link_handled = self.link.pump() > 0

    def _task_stimuli(self) -> None:
        now = self.clock.monotonic_ns()
        dt_s = 0.0 if self._last_update_ns is None else (now - self._last_update_ns) / 1e9
        self._last_update_ns = now
        if self.mode != "paused":  # paused: the scene holds still (ramps, animation, events wait)
            if self.schedules and self.mode == "running" and not self.stage.transitioning:
                # Schedule time is running time: a pause or a fade through black holds it.
                self._fire_scheduled(min(dt_s, 0.25))
            self.stage.update(min(dt_s, 0.25))
        self._watch_stage()

    def _task_telemetry(self) -> None:
        info = self.frame_info
        if info is not None:
            pose = info.head_pose
            now_ns = self.clock.monotonic_ns()
            self.telemetry.on_frame(
                self.frame, now_ns, pose.position_m, pose.orientation_xyzw, busy=self._link_handled
            )
            if self.lsl_bridge is not None:
                self._push_pose(now_ns, pose.position_m, pose.orientation_xyzw)
        if self.link is not None:
            self.link.flush_published()

    def _task_present(self) -> None:
        # Not the app's own work (WORK_TASKS): the runtime's or the driver's.
        self.backend.end_frame()

    def _frame_done(self) -> None:
        self.work_ns.append(sum(self.task_ns[n] for n in WORK_TASKS))
        self.work_cpu_ns.append(sum(self.task_cpu_ns[n] for n in WORK_TASKS))
        self.frame += 1
        if self.on_frame_done is not None:
            self.on_frame_done(self)
        if self.max_frames is not None and self.frame >= self.max_frames:
            self.exit_requested = True

    def _on_backend_notice(self, notice: BackendNotice) -> None:
        """The headset went on, off or away, or the runtime recentred: journaled and published."""
        if notice.kind == "headset":
            status: m.HeadsetStatus = notice.status  # type: ignore[assignment]
            if status == self.headset:
                return
            self.headset = status
            self._fact(m.HeadsetChanged(status=status, reason=notice.reason))
            self._publish_state()
        elif notice.kind == "recentered":
            fact = m.ViewRecentered(source=notice.reason, yaw_deg=notice.yaw_deg, offset_m=notice.offset_m)
            self._fact(fact)

    def _watch_stage(self) -> None:
        """Facts the stage makes by itself: a ramp reaching its target, an event ending."""
        stage = self.stage
        ramping = stage.ramping
        if self._ramping and not ramping:
            self._publish_state()
        self._ramping = ramping
        fading = stage.transitioning
        if self._fading and not fading:
            # The view shows the new scene fully: steering is accepted again (docs/protocol.md).
            self._fact(m.FadeEnded(scene=stage.scene_id))
            self._publish_state()
        self._fading = fading
        scene_id = stage.scene_id
        if scene_id != self._scene_seen:
            # A scene swapped in behind black (scene change, safe place and back).
            self._scene_seen = scene_id
            if not self.backend.head_mounted:
                self._rig.head.setZ(stage.eye_height_m)
            self._publish_state()
        if self._sync_events():
            self._publish_state()

    def _sync_events(self, parent: m.Header | None = None) -> bool:
        """Publish ``event_ended`` for each event no longer active; True if the set changed."""
        events = tuple(self.stage.active_events)
        if events == self._events_seen:
            return False
        for ended in (e for e in self._events_seen if e not in events):
            self._fact(m.EventEnded(event=ended), parent=parent)
        self._events_seen = events
        return True

    # -- state -------------------------------------------------------------------------------------

    @property
    def scene_id(self) -> str | None:
        return self.stage.scene_id

    @property
    def settled(self) -> bool:
        """Nothing is fading or ramping: the view shows the current state fully."""
        stage = self.stage
        return (
            not stage.transitioning
            and not stage.ramping
            and stage.fade_level >= 1.0
            and self.mode != "stopped"
        )

    def state(self) -> m.RendererState:
        """The renderer's state. During a scene change's fade-out it already names the scene, preset
        and intensity being changed to, as the ``scene_loaded`` (or safe-place) fact before it did:
        what the renderer has committed to, not the frames still fading out."""
        stage = self.stage
        pending = stage.pending
        if pending is not None:
            scene, preset, intensity = pending
            target = intensity
        else:
            scene, preset = stage.scene_id, stage.preset
            intensity, target = stage.intensity, stage.target_intensity
        back = stage.return_to if self.mode == "safe_place" else None
        return m.RendererState(
            scene=scene,
            preset=preset,
            intensity=round(float(intensity), 3),
            target_intensity=round(float(target), 3),
            mode=self.mode,
            backend=self.backend.name,
            frame=self.frame,
            link=self.link_status,
            session_id=self.session_id,
            active_events=tuple(stage.active_events),
            schedules=self.schedules.infos,
            suds_prompt=self.overlay.probe_id,
            headset=self.headset,
            fading=bool(stage.transitioning),
            return_scene=None if back is None else back[0],
            return_preset=None if back is None else back[1],
            return_intensity=None if back is None else round(float(back[2]), 3),
        )

    def _publish_state(self, parent: m.Header | None = None) -> None:
        state = self.state()
        # ``frame`` changes every frame; a state is news only when something else changed.
        comparable = msgspec.structs.replace(state, frame=0)
        if comparable == self._last_state:
            return
        self._last_state = comparable
        if self.link is not None:
            self.link.publish(m.StateChanged(state=state), parent=parent)

    def _fact(self, fact: m.Fact, *, parent: m.Header | None = None, journal: bool = True) -> None:
        """Publish a fact and journal it as a clinical record (durable before the reply goes out)."""
        if journal:
            self._journal_clinical(fact.msg_type, msgspec.to_builtins(fact), parent_header=parent)
        if self.link is not None:
            self.link.publish(fact, parent=parent)

    # -- journal -----------------------------------------------------------------------------------

    def open_journal(self, session_dir: Path, session_id: str | None = None) -> None:
        from vr_exposure.journal import JournalWriter, open_session_dir

        session_dir = Path(open_session_dir(session_dir))
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        writer = JournalWriter(session_dir, process="renderer", clock=self.clock)
        self.journal = writer
        self.session_id = session_id or writer.session_id
        if self.link is not None:
            self.link.session_id = self.session_id
        self._journal_clinical(
            "renderer_started",
            {"backend": self.backend.name, "stereo": self.backend.stereo, "frame": self.frame},
        )

    def _journal_clinical(
        self, msg_type: str, content: Mapping[str, Any], *, parent_header: Any = None
    ) -> None:
        if self.journal is None:
            return
        try:
            parent = msgspec.to_builtins(parent_header) if parent_header is not None else None
            self.journal.clinical(msg_type, content, parent_header=parent)
        except Exception:  # noqa: BLE001 - a full disk must not blank the patient's view
            self.errors += 1
            log.exception("renderer: journal write failed for %s", msg_type)

    def _journal_telemetry(self, msg_type: str, content: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.telemetry(msg_type, content)

    def _publish_telemetry(self, msg_type: str, content: dict[str, Any]) -> None:
        # Sent at the end of the telemetry task (:meth:`_task_telemetry`), all of a frame's at once.
        self.link.publish(msg_type, content, defer=True)

    # -- Lab Streaming Layer -----------------------------------------------------------------------

    def _open_lsl(self) -> None:
        """(Re)build the head-pose outlet for the current session."""
        if not self.lsl:
            return
        self._close_lsl()
        session_id = self.session_id or LSL_NO_SESSION
        try:
            from vr_exposure.lsl import LslBridge

            self.lsl_bridge = LslBridge.for_renderer(
                session_id, display_rate_hz=1e9 / self.backend.frame_period_ns
            )
        except Exception as exc:  # noqa: BLE001 - no liblsl, no network: the patient's view goes on
            log.warning("renderer: LSL head-pose stream not started (rendering goes on without): %s", exc)

    def _push_pose(
        self,
        t_mono_ns: int,
        position_m: tuple[float, float, float],
        orientation_xyzw: tuple[float, float, float, float],
    ) -> None:
        try:
            self.lsl_bridge.push_pose(t_mono_ns, position_m, orientation_xyzw, self.frame)
        except Exception as exc:  # noqa: BLE001 - a recorder's trouble must never stop the render loop
            log.warning("renderer: LSL head-pose stream stopped after an error (rendering goes on): %s", exc)
            self._close_lsl()

    def _close_lsl(self) -> None:
        bridge, self.lsl_bridge = self.lsl_bridge, None
        if bridge is not None:
            try:
                bridge.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.warning("renderer: closing the LSL head-pose stream failed", exc_info=True)

    # -- requests from the console -----------------------------------------------------------------

    def command(self, request: m.Request) -> None:
        """Apply a request locally (the CLI's ``--scene``, scripts); raises :class:`CommandRejected`."""
        self._handle(request, None)

    def _on_request(self, request: m.Request) -> Any:
        parent = self.link.current_message.header if self.link and self.link.current_message else None
        return self._handle(request, parent)

    def _handle(self, request: m.Request, parent: m.Header | None) -> Any:
        handler = getattr(self, "_do_" + request.msg_type.removesuffix("_request"), None)
        if handler is None:
            raise CommandRejected("NotImplemented", f"this renderer does not handle {request.msg_type}")
        return handler(request, parent)

    def _require_scene(self, what: str) -> SceneSpec:
        spec = self.stage.spec
        if spec is None:
            raise CommandRejected("NoScene", f"no scene is loaded; load one before {what}")
        if self.mode == "safe_place":
            raise CommandRejected("InvalidState", f"the patient is in the safe place; leave it before {what}")
        if self.stage.transitioning:
            raise CommandRejected(
                "InvalidState", f"a scene change is fading through black; try {what} again in a moment"
            )
        return spec

    @staticmethod
    def _check_intensity(value: float | None) -> None:
        if value is None:
            return
        if not (0.0 <= value <= 100.0):  # also rejects NaN
            raise CommandRejected("InvalidIntensity", f"intensity {value} is outside 0-100")

    def _do_load_scene(self, req: m.LoadSceneRequest, parent: m.Header | None) -> None:
        self._check_intensity(req.intensity)
        try:
            spec = self.library.scene(req.scene)
        except SpecError as exc:
            raise CommandRejected("UnknownScene", str(exc).strip()) from None
        if req.preset is not None and req.preset not in spec.presets:
            known = ", ".join(spec.presets) or "none"
            raise CommandRejected(
                "UnknownPreset", f"scene {spec.id!r} has no preset {req.preset!r} (known: {known})"
            )
        # A load_scene queued before a safe_place or stop is applied after it (those go first): it
        # must not take the patient out again. Leaving is always a deliberate, separate command.
        if self.mode == "safe_place":
            raise CommandRejected(
                "InvalidState",
                f"the patient is in the safe place; {spec.id!r} was not loaded. Leave the safe place "
                "first (leave_safe_place returns to the scene shown before it), then load a scene",
            )
        if self.mode == "stopped":
            raise CommandRejected(
                "InvalidState",
                f"the renderer is stopped (the view is black); {spec.id!r} was not loaded. Go to the "
                "safe place, or start a new session (set_session), before loading a scene",
            )
        try:
            self.stage.load(spec, preset=req.preset, intensity=req.intensity, fade_s=SCENE_FADE_S)
        except StageError as exc:
            raise CommandRejected("InvalidScene", str(exc)) from None
        self.mode = "running"
        # The schedules were the previous scene's (their events may not exist in this one).
        self._end_schedules("scene", parent)
        start = spec.presets[req.preset].intensity if req.preset and req.intensity is None else req.intensity
        self._fact(
            m.SceneLoaded(scene=spec.id, preset=req.preset, intensity=float(start or 0.0)), parent=parent
        )
        self._publish_state(parent)

    def _do_set_intensity(self, req: m.SetIntensityRequest, parent: m.Header | None) -> None:
        self._check_intensity(req.intensity)
        if self.mode == "safe_place":
            self._set_return_intensity(req.intensity, parent)
            return
        self._require_scene("setting the intensity")
        start = float(self.stage.intensity)
        try:
            self.stage.set_intensity(req.intensity, ramp_s=req.ramp_s)
        except StageError as exc:
            raise CommandRejected("InvalidIntensity", str(exc)) from None
        self._fact(
            m.IntensityChanged(intensity=start, target=req.intensity, ramp_s=req.ramp_s), parent=parent
        )
        self._publish_state(parent)

    def _set_return_intensity(self, intensity: float, parent: m.Header | None) -> None:
        """In the safe place, ``set_intensity`` chooses the intensity the scene comes back at when the
        patient leaves (instead of first showing the old one and then ramping): nothing the patient
        sees changes now, so no fact is published; the choice is journaled."""
        try:
            self.stage.set_return_intensity(intensity)
        except StageError as exc:
            raise CommandRejected("InvalidState", f"the patient is in the safe place and {exc}") from None
        self._journal_clinical("return_intensity_set", {"intensity": float(intensity)}, parent_header=parent)
        # Nothing shown changes, but the state's return_intensity does: the console sees it.
        self._publish_state(parent)

    def _do_apply_preset(self, req: m.ApplyPresetRequest, parent: m.Header | None) -> None:
        spec = self._require_scene("applying a preset")
        if req.preset not in spec.presets:
            known = ", ".join(spec.presets) or "none"
            raise CommandRejected(
                "UnknownPreset", f"scene {spec.id!r} has no preset {req.preset!r} (known: {known})"
            )
        self.stage.apply_preset(req.preset, ramp_s=req.ramp_s)
        # Another rung: the previous rung's schedules end (the therapist's own, scope "session", go on).
        self._end_schedules("rung", parent, scope="rung")
        target = float(spec.presets[req.preset].intensity)
        self._fact(m.PresetApplied(preset=req.preset, intensity=target, ramp_s=req.ramp_s), parent=parent)
        self._publish_state(parent)

    def _do_trigger_event(self, req: m.TriggerEventRequest, parent: m.Header | None) -> None:
        spec = self._require_scene("triggering an event")
        if req.event not in spec.events:
            known = ", ".join(spec.events) or "none"
            raise CommandRejected(
                "UnknownEvent", f"scene {spec.id!r} has no event {req.event!r} (known: {known})"
            )
        if self.mode != "running":
            raise CommandRejected(
                "InvalidState", f"events fire only in a running scene (the renderer is {self.mode})"
            )
        delay_s = self.stage.trigger_event(req.event, req.strength)
        self._fact(m.EventFired(event=req.event, strength=req.strength), parent=parent)
        self._journal_clinical("event_delay", {"event": req.event, "delay_s": round(delay_s, 3)})
        self._events_seen = tuple(self.stage.active_events)
        self._publish_state(parent)

    # -- event schedules ---------------------------------------------------------------------------

    def _committed_scene(self) -> SceneSpec | None:
        """The scene the renderer has committed to: during a scene change's fade-out, the new one."""
        pending = self.stage.pending
        if pending is None:
            return self.stage.spec
        scene_id = pending[0]
        return None if scene_id is None else self.library.scenes.get(scene_id)

    def _do_start_schedule(self, req: m.StartScheduleRequest, parent: m.Header | None) -> None:
        if self.mode in ("safe_place", "stopped"):
            where = "in the safe place" if self.mode == "safe_place" else "stopped"
            raise CommandRejected(
                "InvalidState", f"the renderer is {where}; schedules start only in a scene shown"
            )
        spec = self._committed_scene()
        if spec is None or self.mode == "idle":
            raise CommandRejected("NoScene", "no scene is loaded; load one before starting a schedule")
        if req.event not in spec.events:
            known = ", ".join(spec.events) or "none"
            raise CommandRejected(
                "UnknownEvent", f"scene {spec.id!r} has no event {req.event!r} (known: {known})"
            )
        info = m.ScheduleInfo(
            schedule_id=req.schedule_id,
            event=req.event,
            every_s=req.every_s,
            at_s=req.at_s,
            strength=req.strength,
            scope=req.scope,
        )
        try:
            old = self.schedules.start(info, parent, elapsed_s=req.elapsed_s)
        except ScheduleError as exc:
            raise CommandRejected("InvalidSchedule", f"schedule {req.schedule_id!r}: {exc}") from None
        if old is not None:
            self._fact(
                m.ScheduleEnded(
                    schedule_id=old.schedule_id, event=old.info.event, reason="replaced", fired=old.info.fired
                ),
                parent=parent,
            )
        self._fact(m.ScheduleStarted(schedule=info), parent=parent)
        self._publish_state(parent)

    def _do_stop_schedule(self, req: m.StopScheduleRequest, parent: m.Header | None) -> None:
        if self._end_schedules("stopped", parent, schedule_id=req.schedule_id):
            self._publish_state(parent)

    def _end_schedules(
        self,
        reason: str,
        parent: m.Header | None,
        *,
        scope: str | None = None,
        schedule_id: str | None = None,
    ) -> bool:
        """End schedules (one, those of ``scope``, or all), each with a ``schedule_ended`` fact."""
        if not self.schedules:
            return False
        ended = self.schedules.stop_scope(scope) if scope is not None else self.schedules.stop(schedule_id)
        for schedule in ended:
            info = schedule.info
            self._fact(
                m.ScheduleEnded(
                    schedule_id=info.schedule_id, event=info.event, reason=reason, fired=info.fired
                ),
                parent=parent,
            )
        return bool(ended)

    def _fire_scheduled(self, dt_s: float) -> None:
        """Fire what the schedules have due, exactly as ``trigger_event`` would, with the schedule's
        id and the request that started it as parent."""
        due = self.schedules.advance(dt_s)
        for schedule, last in due:
            info = schedule.info
            try:
                delay_s = self.stage.trigger_event(info.event, info.strength)
            except StageError as exc:  # the scene lost the event: end the schedule, keep rendering
                self.schedules.stop(info.schedule_id)
                self._journal_clinical("renderer_error", {"task": "schedule", "evalue": str(exc)})
                last = True
            else:
                fired = m.EventFired(event=info.event, strength=info.strength, schedule_id=info.schedule_id)
                self._fact(fired, parent=schedule.parent)
                self._journal_clinical(
                    "event_delay",
                    {"event": info.event, "delay_s": round(delay_s, 3), "schedule_id": info.schedule_id},
                    parent_header=schedule.parent,
                )
            if last:
                ended = m.ScheduleEnded(
                    schedule_id=info.schedule_id, event=info.event, reason="done", fired=info.fired
                )
                self._fact(ended, parent=schedule.parent)
        if due:
            self._events_seen = tuple(self.stage.active_events)
            self._publish_state()

    def _stop_every_trigger(self, reason: str, parent: m.Header | None) -> None:
        """The safe place and stop end every schedule and every running event at once."""
        self._end_schedules(reason, parent)
        self.stage.stop_events()
        self._sync_events(parent)

    def _do_recenter(self, req: m.RecenterRequest, parent: m.Header | None) -> None:
        try:
            notice = self.backend.recenter()
        except BackendUnavailable as exc:
            raise CommandRejected("NoHeadTracking", str(exc)) from None
        fact = m.ViewRecentered(source="console", yaw_deg=notice.yaw_deg, offset_m=notice.offset_m)
        self._fact(fact, parent=parent)

    def _do_pause(self, req: m.PauseRequest, parent: m.Header | None) -> None:
        if self.mode == "paused":
            return
        if self.mode != "running":
            raise CommandRejected(
                "InvalidState", f"only a running scene can be paused (the renderer is {self.mode})"
            )
        self.mode = "paused"
        self._fact(m.Paused(), parent=parent)
        self._publish_state(parent)

    def _do_resume(self, req: m.ResumeRequest, parent: m.Header | None) -> None:
        if self.mode == "running":
            return
        if self.mode != "paused":
            raise CommandRejected(
                "InvalidState", f"only a paused scene can resume (the renderer is {self.mode})"
            )
        self.mode = "running"
        self._fact(m.Resumed(), parent=parent)
        self._publish_state(parent)

    def _do_safe_place(self, req: m.SafePlaceRequest, parent: m.Header | None) -> None:
        self.enter_safe_place(req.fade_s, source="console", parent=parent)

    def enter_safe_place(
        self, fade_s: float | None = None, *, source: str, parent: m.Header | None = None
    ) -> None:
        """Fade to the safe place (from the console, the patient, or a lost link). Idempotent."""
        if self.mode == "safe_place":
            return
        fade = self.safe_place.fade_s if fade_s is None else fade_s
        self._stop_every_trigger("safe_place", parent)
        try:
            safe_spec = self.library.scene(self.safe_place.scene)
        except SpecError:
            # Never refuse the safe place: without its scene, a calm fade to black still takes the
            # patient out of the exposure.
            log.error("renderer: safe-place scene %r not found; fading to black", self.safe_place.scene)
            self.stage.fade(to_black=True, duration_s=fade)
        else:
            self.stage.go_to_safe_place(safe_spec, fade, preset=self.safe_place.preset)
        self.mode = "safe_place"
        self.overlay.set_status(None)
        self._fact(m.SafePlaceEntered(fade_s=fade, source=source), parent=parent)
        self._publish_state(parent)

    def _do_leave_safe_place(self, req: m.LeaveSafePlaceRequest, parent: m.Header | None) -> None:
        if self.mode != "safe_place":
            raise CommandRejected(
                "InvalidState", f"the renderer is not in the safe place (it is {self.mode})"
            )
        fade = self.safe_place.fade_s if req.fade_s is None else req.fade_s
        self.stage.leave_safe_place(fade)
        self.mode = "running"
        self._fact(m.SafePlaceLeft(fade_s=fade), parent=parent)
        self._publish_state(parent)

    def _do_stop(self, req: m.StopRequest, parent: m.Header | None) -> None:
        if self.mode == "stopped":
            return
        self._stop_every_trigger("stop", parent)
        self.stage.fade(to_black=True, duration_s=STOP_FADE_S)
        self.mode = "stopped"
        self._fact(m.Stopped(reason=req.reason), parent=parent)
        self._publish_state(parent)

    def _do_suds_prompt(self, req: m.SudsPromptRequest, parent: m.Header | None) -> None:
        self.overlay.show_suds_prompt(req.probe_id, req.scale_max)
        self.backend.prompt_opened()
        self._fact(m.SudsPromptShown(probe_id=req.probe_id, scale_max=req.scale_max), parent=parent)
        self._publish_state(parent)

    def _do_suds_prompt_cancel(self, req: m.SudsPromptCancelRequest, parent: m.Header | None) -> None:
        if self.overlay.probe_id != req.probe_id:
            return  # already answered or replaced: nothing to cancel
        self.overlay.hide_suds_prompt()
        self._fact(m.SudsPromptClosed(probe_id=req.probe_id, reason="cancelled"), parent=parent)
        self._publish_state(parent)

    def _session_dir_for(self, req: m.SetSessionRequest) -> tuple[Path, bool]:
        """Where to journal the session: the console's own directory when it is on this machine's
        disk (one machine, or a shared disk), else a directory of the renderer's own under its
        sessions root, same session id and layout, for the console to fetch (docs/journal.md)."""
        from vr_exposure.journal import read_manifest, sessions_root
        from vr_exposure.journal.transfer import adopt_session, check_session_id

        check_session_id(req.session_id)
        if req.session_dir:
            candidate = Path(req.session_dir)
            try:
                if read_manifest(candidate).session_id == req.session_id:
                    return candidate, True
            except JournalError:
                pass  # not on this disk (another machine's path), or not that session
        root = Path(self.sessions_root) if self.sessions_root is not None else sessions_root()
        from vr_exposure import __version__

        own = adopt_session(
            root, req.session_id, pseudonym=req.pseudonym, software_version=__version__, clock=self.clock
        )
        return own, False

    def _do_set_session(self, req: m.SetSessionRequest, parent: m.Header | None) -> m.SetSessionReply:
        previous = self.session_id
        try:
            session_dir, shared = self._session_dir_for(req)
            self.open_journal(session_dir, req.session_id)
        except JournalError as exc:
            raise CommandRejected("JournalError", str(exc)) from None
        except OSError as exc:
            raise CommandRejected("JournalError", f"cannot journal session {req.session_id}: {exc}") from None
        self.session_dir, self.session_shared = session_dir, shared
        if not shared:
            self._journal_clinical(
                "journal_kept_locally",
                {"session_dir": str(session_dir), "console_session_dir": req.session_dir},
                parent_header=parent,
            )
        if req.session_id != previous and self.mode in ("safe_place", "stopped"):
            # A new session starts from where the patient is (the safe place, or black), with no way
            # back into the previous session's exposure: the next load_scene is the new session's.
            self.stage.forget_return()
            self.mode = "idle"
        if req.session_id != previous:
            # The stream's source_id names the session a recorder files it under.
            self._open_lsl()
        self._fact(m.SessionSet(session_id=req.session_id, session_dir=str(session_dir)), parent=parent)
        self._publish_state(parent)
        return m.SetSessionReply(session_dir=str(session_dir), shared=shared)

    def _own_session_dir(self, session_id: str) -> Path:
        """A session directory this renderer journals in its own sessions root (never the console's)."""
        from vr_exposure.journal import read_manifest, sessions_root
        from vr_exposure.journal.transfer import check_session_id

        try:
            check_session_id(session_id)
            root = Path(self.sessions_root) if self.sessions_root is not None else sessions_root()
            session_dir = root / session_id
            manifest = read_manifest(session_dir)
        except JournalError as exc:
            raise CommandRejected("JournalError", str(exc)) from None
        if manifest.remote_copy_of is None:
            raise CommandRejected(
                "JournalError", f"session {session_id} is not kept here for another machine to fetch"
            )
        return session_dir

    def _do_journal_files(self, req: m.JournalFilesRequest, parent: m.Header | None) -> m.JournalFilesReply:
        from vr_exposure.journal import read_manifest, recover_session, seal_session

        session_dir = self._own_session_dir(req.session_id)
        try:
            if req.end and self.session_id == req.session_id and self.journal is not None:
                handed = {"session_dir": str(session_dir)}
                self._journal_clinical("journal_handed_over", handed, parent_header=parent)
                self.journal.close()
                self.journal = None
            if req.end:
                recover_session(session_dir, clock=self.clock)  # a file whose writer died: seal it
                seal_session(session_dir, clock=self.clock)
            manifest = read_manifest(session_dir)
        except JournalError as exc:
            raise CommandRejected("JournalError", str(exc)) from None
        files = tuple(
            m.JournalFileInfo(
                name=f.file,
                bytes=f.bytes if f.bytes is not None else (session_dir / f.file).stat().st_size,
                sha256=f.sha256,
                lines=f.lines,
            )
            for f in manifest.files
            if (session_dir / f.file).exists()
        )
        return m.JournalFilesReply(session_dir=str(session_dir), files=files, sealed=manifest.sealed)

    def _do_journal_chunk(self, req: m.JournalChunkRequest, parent: m.Header | None) -> m.JournalChunkReply:
        from vr_exposure.journal.transfer import read_chunk

        session_dir = self._own_session_dir(req.session_id)
        try:
            data, size = read_chunk(session_dir, req.file, req.offset, req.length)
        except JournalError as exc:
            raise CommandRejected("JournalError", str(exc)) from None
        return m.JournalChunkReply(data=data, offset=req.offset, size=size)

    def _do_journal_release(self, req: m.JournalReleaseRequest, parent: m.Header | None) -> None:
        from vr_exposure.journal.transfer import mark_released

        session_dir = self._own_session_dir(req.session_id)
        try:
            mark_released(session_dir, clock=self.clock)
        except JournalError as exc:
            raise CommandRejected("JournalError", str(exc)) from None

    def _do_describe(self, req: m.DescribeRequest, parent: m.Header | None) -> m.DescribeReply:
        """What this renderer can show, so a peer needs no error text to learn the names."""
        from vr_exposure.link.errors import ERROR_NAMES

        lib = self.library
        scenes = []
        for scene_id in sorted(lib.scenes):
            spec = lib.scenes[scene_id]
            scenes.append(
                m.SceneInfo(
                    id=spec.id,
                    title=spec.title,
                    presets=tuple(
                        m.PresetInfo(name=name, title=p.title, intensity=float(p.intensity))
                        for name, p in spec.presets.items()
                    ),
                    events=tuple(
                        m.EventInfo(
                            name=name,
                            title=e.title,
                            group=e.group,
                            duration_s=float(e.duration_s),
                            delay_s=float(e.delay_s),
                            delay_jitter_s=float(e.delay_jitter_s),
                        )
                        for name, e in spec.events.items()
                    ),
                )
            )
        protocols = tuple(
            m.ProtocolInfo(id=p.id, title=p.title, scene=p.scene)
            for p in (lib.protocols[k] for k in sorted(lib.protocols))
        )
        return m.DescribeReply(
            scenes=tuple(scenes),
            protocols=protocols,
            safe_place_scene=self.safe_place.scene,
            safe_place_preset=self.safe_place.preset,
            error_names=tuple(ERROR_NAMES),
        )

    def _do_shutdown(self, req: m.ShutdownRequest, parent: m.Header | None) -> None:
        self._fact(m.ShuttingDown(reason="requested by the console"), parent=parent)
        self.exit_requested = True

    # -- the patient -------------------------------------------------------------------------------

    def _on_patient_action(self, action: PatientAction) -> None:
        try:
            if action.kind == "safe_place":
                self.enter_safe_place(source="patient")
            elif action.kind == "suds" and action.value is not None:
                self.record_rating(action.value)
        except Exception as exc:  # noqa: BLE001
            self._task_failed("patient-action", exc)

    def record_rating(self, value_0_100: int) -> None:
        """A SUDS answer from the patient (0-100 from the keys/controller), on the prompt's scale."""
        probe_id = self.overlay.probe_id
        scale_max = self.overlay.scale_max if probe_id is not None else 100
        value = round(max(0, min(100, value_0_100)) * scale_max / 100)
        self._fact(m.RatingRecorded(value=float(value), scale_max=scale_max, probe_id=probe_id))
        if probe_id is not None:
            self.overlay.hide_suds_prompt()
            self._fact(m.SudsPromptClosed(probe_id=probe_id, reason="answered"))
            self._publish_state()

    def _acked_view_frame(self) -> int:
        return int(getattr(self.link, "peer_view_frame", -1))

    # -- link liveness -----------------------------------------------------------------------------

    def _on_link_lost(self, silence_s: float) -> None:
        self.link_status = "lost"
        action = self.safe_place.on_link_lost
        self._journal_clinical("link_lost", {"silence_s": round(silence_s, 3), "action": action})
        if action == "safe_place" and self.mode not in ("safe_place", "idle"):
            self.enter_safe_place(source="link_lost")
        self._publish_state()

    def _on_link_restored(self, silence_s: float) -> None:
        was_lost = self.link_status == "lost"
        self.link_status = "ok"
        if was_lost:
            self._journal_clinical("link_restored", {"silence_s": round(silence_s, 3)})
        self._publish_state()

    # -- shutdown ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the tasks and release everything, XR first (before Panda3D closes its window)."""
        for name in TASK_SORTS:
            self._task_mgr.remove(name)
        for event in self._accepted:
            self._base.ignore(event)
        self._accepted.clear()
        self.telemetry.close()
        self._close_lsl()
        try:
            self.backend.shutdown()
        finally:
            if self.link is not None:
                self.link.close()
                self.link = None
            try:
                self.stage.destroy()
            except Exception:  # noqa: BLE001 - closing must finish
                log.exception("renderer: stage teardown failed")
            self.overlay.destroy()
            self._rig.tracking_space.removeNode()
            if self.journal is not None:
                self._journal_clinical("renderer_stopped", {"frame": self.frame, "errors": self.errors})
                self.journal.close()
                self.journal = None


def _ename(exc: Exception, default: str) -> str:
    return getattr(exc, "ename", None) or (default if isinstance(exc, LookupError) else type(exc).__name__)


def _evalue(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or repr(exc)


def default_stage_factory(app: App) -> StageLike:
    """The real stage (:mod:`vr_exposure.renderer.stage`) under the app's ``render``; the app calls
    its ``update`` from the stimuli task."""
    from vr_exposure.renderer.stage import Stage

    audio = None
    managers = getattr(app.base, "sfxManagerList", None) or []
    if managers and managers[0].isValid():
        from vr_exposure.renderer.audio import SceneAudio

        # Heard from the head: spatialised cues follow the patient's head turns.
        audio = SceneAudio(managers[0], app.rig.head, root=app.render)
    return Stage(app.render, audio=audio, clock=app.clock)
