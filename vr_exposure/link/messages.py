"""Every message of the console <-> renderer wire protocol, as typed msgspec Structs.

``docs/protocol.md`` is the specification; this module is its executable form. One Struct per
``msg_type``: requests (console -> renderer) end in ``_request`` and are answered by the matching
``_reply``; facts (renderer -> console, on PUB) are named in the past tense; telemetry is high-rate
and lossy by design. Readers tolerate unknown fields (msgspec ignores them), so a MINOR protocol
version may add optional fields without breaking older peers.

The envelope is Jupyter's: ``header`` / ``parent_header`` / ``content``. :class:`Header` is the
envelope header; the Structs below are contents, each knowing its ``msg_type`` (a class variable,
not a wire field: the type travels in the header).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec

PROTOCOL_VERSION = "2.2"
"""The wire protocol's version, MAJOR.MINOR, independent of the package version. Peers with a
different MAJOR refuse each other (``ProtocolVersionMismatch``); a different MINOR is compatible."""

Intensity = Annotated[float, msgspec.Meta(ge=0, le=100)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Strength = Annotated[float, msgspec.Meta(ge=0, le=1)]
"""How loud or near the therapist wants an event: 0-1 (1: as the scene is made)."""
ScheduleId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
ScheduleScope = Literal["rung", "session"]
Mode = Literal["idle", "running", "paused", "safe_place", "stopped"]
LinkStatus = Literal["ok", "lost", "waiting"]
HeadsetStatus = Literal["none", "worn", "off", "lost"]


def protocol_major(version: str) -> str:
    """``"1.3"`` -> ``"1"``; a malformed version string is its own major (and so mismatches)."""
    return version.split(".", 1)[0]


class Header(msgspec.Struct, kw_only=True, frozen=True):
    """The envelope header. Only ``msg_id``, ``msg_type`` and ``protocol_version`` are required on
    the wire so that a peer of another MAJOR version can still be answered with an error.

    ``session_id`` is the therapy session (``""`` until ``set_session``); ``instance_id`` names the
    sending process instance and is new at every start, which is how a restarted renderer is noticed.
    ``seq`` counts messages per sender and stream (see docs/protocol.md); ``sent_mono_ns`` is the
    sender's monotonic clock when it sent. ``target_instance`` and ``deadline_ns`` appear on requests
    only: the renderer instance the console means, and the time (renderer clock) after which the
    request must no longer be applied (0: none).
    """

    msg_id: str
    msg_type: str
    protocol_version: str
    session_id: str = ""
    sender: str = ""
    instance_id: str = ""
    seq: int = 0
    sent_mono_ns: int = 0
    target_instance: str = ""
    deadline_ns: int = 0


class Content(msgspec.Struct, kw_only=True):
    """Base of every message content. Subclasses set ``msg_type``; they register themselves."""

    msg_type: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[Content]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mt = cls.__dict__.get("msg_type")
        if mt:
            if mt in Content.registry:
                raise TypeError(f"msg_type {mt!r} registered twice")
            Content.registry[mt] = cls


# ---------------------------------------------------------------------------------------------
# Renderer state (the Clone pattern's snapshot)


class ScheduleInfo(msgspec.Struct, kw_only=True, frozen=True):
    """A schedule of one event the renderer runs: repeats at random within ``every_s`` (each wait
    drawn uniformly from ``[lo, hi]`` seconds), or one firing ``at_s`` seconds after it started.
    Its time is the scene's running time: it stands still while paused or fading through black.
    ``scope`` ``rung``: it ends when the rung (``apply_preset``) or the scene changes; ``session``:
    only a stop, the safe place or a scene change end it. ``fired`` counts its firings so far."""

    schedule_id: str
    event: str
    every_s: tuple[float, float] | None = None
    at_s: float | None = None
    strength: float = 1.0
    scope: ScheduleScope = "rung"
    fired: int = 0


class RendererState(msgspec.Struct, kw_only=True, frozen=True):
    """Everything the console mirrors about the renderer. ``intensity`` is the current (possibly
    ramping) value, ``target_intensity`` where the ramp ends, both 0-100."""

    scene: str | None = None
    preset: str | None = None
    intensity: float = 0.0
    target_intensity: float = 0.0
    mode: Mode = "idle"
    backend: str = ""
    frame: int = 0
    link: LinkStatus = "waiting"
    session_id: str | None = None
    active_events: tuple[str, ...] = ()
    suds_prompt: str | None = None
    fading: bool = False
    """A scene change (or a safe-place entry or exit) is fading through black: ``set_intensity``,
    ``apply_preset`` and ``trigger_event`` are refused with ``InvalidState`` until ``fade_ended``."""
    return_scene: str | None = None
    """In the safe place: the scene ``leave_safe_place`` goes back to (None elsewhere)."""
    return_preset: str | None = None
    return_intensity: float | None = None
    """In the safe place: the intensity the scene comes back at (``set_intensity`` there sets it)."""
    schedules: tuple[ScheduleInfo, ...] = ()
    """The event schedules running now (``start_schedule_request``), in the order they started."""
    headset: HeadsetStatus = "none"
    """A head-mounted backend: ``worn`` (the XR session is focused), ``off`` (taken off, or another
    app in front), ``lost`` (no XR session: the desktop mirror shows the scene). ``none`` otherwise."""


# ---------------------------------------------------------------------------------------------
# Replies


class Reply(Content):
    """Every ``*_reply``: ``status`` ok or error; on error ``ename`` (a stable CamelCase name) and
    ``evalue`` (a sentence a therapist can act on)."""

    status: Literal["ok", "error"] = "ok"
    ename: str | None = None
    evalue: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class ErrorReply(Reply):
    """Answer to a message with no matching ``*_reply`` type (an unknown ``msg_type``, a heartbeat
    from an incompatible peer)."""

    msg_type = "error"
    status: Literal["ok", "error"] = "error"


class Request(Content):
    """Base of ``*_request`` contents; ``reply_type`` is the matching reply Struct."""

    reply_type: ClassVar[type[Reply]] = Reply
    priority: ClassVar[bool] = False
    """Safety commands (``safe_place``, ``stop``) are applied before anything else queued, and they
    always win: no ordering, target or session check refuses them."""
    steering: ClassVar[bool] = False
    """A command that changes what the patient sees. The renderer applies it only if its header's
    ``seq`` is newer than the last steering command it handled from that console (the ordering
    rule, docs/protocol.md section 3), and only with ``target_instance`` and ``session_id`` right."""
    cache_reply: ClassVar[bool] = True
    """False for a request that is safe to apply again and whose reply is large (a journal chunk):
    a resend is answered afresh, so the reply cache never holds megabytes of journal."""


# ---------------------------------------------------------------------------------------------
# Link housekeeping: hello, snapshot, heartbeats


class HelloReply(Reply):
    msg_type = "hello_reply"
    protocol_version: str = PROTOCOL_VERSION
    software_version: str = ""
    instance_id: str = ""
    heartbeat_interval_s: float = 0.5
    link_timeout_s: float = 5.0
    max_message_bytes: int = 0
    """The largest command message this renderer accepts (0: not said)."""
    t1_ns: int = 0
    """Renderer monotonic clock when the request was read (for the clock offset)."""
    t2_ns: int = 0
    """Renderer monotonic clock when the reply was sent."""


class HelloRequest(Request):
    msg_type = "hello_request"
    reply_type = HelloReply
    software_version: str = ""
    name: str = ""


class SnapshotReply(Reply):
    msg_type = "snapshot_reply"
    state: RendererState | None = None
    seq: int = 0
    """The ``event`` stream seq the state corresponds to: apply only events with a larger seq."""


class SnapshotRequest(Request):
    msg_type = "snapshot_request"
    reply_type = SnapshotReply


class EventInfo(msgspec.Struct, kw_only=True, frozen=True):
    """A triggerable event of a scene: how long it runs once it starts, after its delay."""

    name: str
    title: str = ""
    group: str = ""
    duration_s: float = 0.0
    delay_s: float = 0.0
    delay_jitter_s: float = 0.0


class PresetInfo(msgspec.Struct, kw_only=True, frozen=True):
    name: str
    title: str = ""
    intensity: float = 0.0


class SceneInfo(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    title: str = ""
    presets: tuple[PresetInfo, ...] = ()
    events: tuple[EventInfo, ...] = ()


class ProtocolInfo(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    title: str = ""
    scene: str = ""


class DescribeReply(Reply):
    """What this renderer can show: its scenes (presets, events), protocols and safe place."""

    msg_type = "describe_reply"
    scenes: tuple[SceneInfo, ...] = ()
    protocols: tuple[ProtocolInfo, ...] = ()
    safe_place_scene: str = ""
    safe_place_preset: str | None = None
    error_names: tuple[str, ...] = ()
    """Every ``ename`` this renderer can answer with (section 3.1 of docs/protocol.md)."""


class DescribeRequest(Request):
    msg_type = "describe_request"
    reply_type = DescribeReply


class Heartbeat(Content):
    """Console -> renderer, every ``heartbeat_interval_s`` from the console's main loop, and
    also on receiving a ``view_image`` (at most every 50 ms) so the renderer learns how far the
    mirror got."""

    msg_type = "heartbeat"
    view_frame: int = -1
    """The ``frame`` of the newest ``view_image`` the console has received (-1: none, or a console
    that does not say). The renderer keeps at most a few images in flight beyond it, so mirror
    images never queue up on a slow link (protocol.md 5.4)."""
    clock_offset_ns: int | None = None
    """Renderer clock minus console clock as the console estimates it from acks (protocol.md 8;
    null: not yet, or a console that does not say). With it the renderer's watchdog counts silence
    from when the console sent its last message (``sent_mono_ns``), not from its arrival
    (protocol.md 4)."""


class HeartbeatAck(Content):
    """Renderer -> console, sent from the renderer's frame loop on reading a heartbeat.
    Clock offset: t0 (heartbeat's ``sent_mono_ns``, echoed), t1, t2 (renderer), t3 (arrival)."""

    msg_type = "heartbeat_ack"
    t0_ns: int = 0
    t1_ns: int = 0
    t2_ns: int = 0
    event_seq: int = 0
    """The renderer's latest ``event`` seq: a console behind it for two heartbeats lost a fact."""
    link_timeout_s: float = 5.0
    frame_interval_ms: float = 0.0
    """The renderer's recent median frame interval: acks leave once per frame, so a console allows
    for it before it calls the renderer late (0: not said)."""


# ---------------------------------------------------------------------------------------------
# Commands (console -> renderer)


class LoadSceneReply(Reply):
    msg_type = "load_scene_reply"


class LoadSceneRequest(Request):
    msg_type = "load_scene_request"
    reply_type = LoadSceneReply
    steering = True
    scene: str
    preset: str | None = None
    intensity: Intensity | None = None


class SetIntensityReply(Reply):
    msg_type = "set_intensity_reply"


class SetIntensityRequest(Request):
    msg_type = "set_intensity_request"
    reply_type = SetIntensityReply
    steering = True
    intensity: Intensity
    ramp_s: NonNegative = 0.0


class ApplyPresetReply(Reply):
    msg_type = "apply_preset_reply"


class ApplyPresetRequest(Request):
    msg_type = "apply_preset_request"
    reply_type = ApplyPresetReply
    steering = True
    preset: str
    ramp_s: NonNegative = 0.0


class TriggerEventReply(Reply):
    msg_type = "trigger_event_reply"


class TriggerEventRequest(Request):
    msg_type = "trigger_event_request"
    reply_type = TriggerEventReply
    steering = True
    event: str
    strength: Strength = 1.0
    """How loud or near (0-1): the builder scales what it shows, the cue plays at that share."""


class StartScheduleReply(Reply):
    msg_type = "start_schedule_reply"


class StartScheduleRequest(Request):
    """Run a schedule of ``event`` in the renderer: random repeats with each wait drawn from
    ``every_s`` = ``[lo, hi]`` seconds (lo >= 0.1, lo <= hi), or one firing ``at_s`` seconds in
    (exactly one of the two). A schedule with the same ``schedule_id`` is replaced. ``elapsed_s``:
    the schedule already ran that long (a console restoring it after a reconnect): an ``at_s``
    firing comes that much sooner. Each firing is an ``event_fired`` with ``schedule_id`` and this
    request's header as parent."""

    msg_type = "start_schedule_request"
    reply_type = StartScheduleReply
    steering = True
    schedule_id: ScheduleId
    event: str
    every_s: tuple[NonNegative, NonNegative] | None = None
    at_s: NonNegative | None = None
    strength: Strength = 1.0
    scope: ScheduleScope = "rung"
    elapsed_s: NonNegative = 0.0


class StopScheduleReply(Reply):
    msg_type = "stop_schedule_reply"


class StopScheduleRequest(Request):
    """End the schedule ``schedule_id`` (an unknown or finished one: nothing to do), or, with
    ``schedule_id`` null, every schedule ("stop all scheduled")."""

    msg_type = "stop_schedule_request"
    reply_type = StopScheduleReply
    steering = True
    schedule_id: str | None = None


class PauseReply(Reply):
    msg_type = "pause_reply"


class PauseRequest(Request):
    msg_type = "pause_request"
    reply_type = PauseReply
    steering = True


class ResumeReply(Reply):
    msg_type = "resume_reply"


class ResumeRequest(Request):
    msg_type = "resume_request"
    reply_type = ResumeReply
    steering = True


class SafePlaceReply(Reply):
    msg_type = "safe_place_reply"


class SafePlaceRequest(Request):
    msg_type = "safe_place_request"
    reply_type = SafePlaceReply
    steering = True
    priority = True
    fade_s: NonNegative | None = None


class LeaveSafePlaceReply(Reply):
    msg_type = "leave_safe_place_reply"


class LeaveSafePlaceRequest(Request):
    msg_type = "leave_safe_place_request"
    reply_type = LeaveSafePlaceReply
    steering = True
    fade_s: NonNegative | None = None


class StopReply(Reply):
    msg_type = "stop_reply"


class StopRequest(Request):
    msg_type = "stop_request"
    reply_type = StopReply
    steering = True
    priority = True
    reason: str = ""


class SudsPromptReply(Reply):
    msg_type = "suds_prompt_reply"


class SudsPromptRequest(Request):
    msg_type = "suds_prompt_request"
    reply_type = SudsPromptReply
    probe_id: str
    scale_max: Annotated[int, msgspec.Meta(ge=1)] = 100


class SudsPromptCancelReply(Reply):
    msg_type = "suds_prompt_cancel_reply"


class SudsPromptCancelRequest(Request):
    msg_type = "suds_prompt_cancel_request"
    reply_type = SudsPromptCancelReply
    probe_id: str


class RecenterReply(Reply):
    msg_type = "recenter_reply"


class RecenterRequest(Request):
    """Make where the patient now looks the view's forward (seated use): the head moves to the
    origin horizontally, facing the scene. Not steering: it changes no stimulus, so a recenter is
    never refused for ordering, a fade or the safe place (a late or repeated one recentres to where
    the patient looks then, which is what was asked). Journaled as ``view_recentered``."""

    msg_type = "recenter_request"
    reply_type = RecenterReply


class SetSessionReply(Reply):
    msg_type = "set_session_reply"
    session_dir: str | None = None
    """Where the renderer journals the session (a path on the renderer's machine)."""
    shared: bool = True
    """True: in the console's own directory (one disk). False: in a directory of the renderer's own,
    same session id and layout; the console fetches it (``journal_files`` / ``journal_chunk``)."""


class SetSessionRequest(Request):
    msg_type = "set_session_request"
    reply_type = SetSessionReply
    session_id: str
    session_dir: str | None = None
    pseudonym: str = ""


class JournalFileInfo(msgspec.Struct, kw_only=True, frozen=True):
    name: str
    bytes: int
    sha256: str | None = None
    """From the renderer's seal; null while the file is still being written."""
    lines: int | None = None


class JournalFilesReply(Reply):
    msg_type = "journal_files_reply"
    session_dir: str = ""
    files: tuple[JournalFileInfo, ...] = ()
    sealed: bool = False
    """Every file is sealed (then each has its ``sha256``)."""


class JournalFilesRequest(Request):
    """The renderer's journal files of a session it kept in its own directory. With ``end`` the
    renderer first closes its journal of that session (if it is its current one) and seals the
    directory, so every file has its SHA-256."""

    msg_type = "journal_files_request"
    reply_type = JournalFilesReply
    session_id: str
    end: bool = True


class JournalChunkReply(Reply):
    msg_type = "journal_chunk_reply"
    data: bytes = b""
    """base64 in JSON."""
    offset: int = 0
    size: int = 0
    """The file's size."""


class JournalChunkRequest(Request):
    msg_type = "journal_chunk_request"
    reply_type = JournalChunkReply
    cache_reply = False
    session_id: str
    file: str
    offset: Annotated[int, msgspec.Meta(ge=0)] = 0
    length: Annotated[int, msgspec.Meta(ge=1, le=262_144)] = 262_144


class JournalReleaseReply(Reply):
    msg_type = "journal_release_reply"


class JournalReleaseRequest(Request):
    """The console holds a verified copy of every file: the renderer marks its copy released."""

    msg_type = "journal_release_request"
    reply_type = JournalReleaseReply
    session_id: str


class ShutdownReply(Reply):
    msg_type = "shutdown_reply"


class ShutdownRequest(Request):
    msg_type = "shutdown_request"
    reply_type = ShutdownReply


# ---------------------------------------------------------------------------------------------
# Facts (renderer -> console, PUB topic "event")


class Fact(Content):
    """A state change that happened, published on the ``event`` stream with a gap-free seq."""


class SceneLoaded(Fact):
    msg_type = "scene_loaded"
    scene: str
    preset: str | None = None
    intensity: float = 0.0


class IntensityChanged(Fact):
    """The target changed; ``intensity`` is where the ramp starts, ``target`` where it ends."""

    msg_type = "intensity_changed"
    intensity: float
    target: float
    ramp_s: float = 0.0


class PresetApplied(Fact):
    msg_type = "preset_applied"
    preset: str
    intensity: float = 0.0
    ramp_s: float = 0.0


class EventFired(Fact):
    """An event was fired: by ``trigger_event`` (parent: that request), or by a schedule
    (``schedule_id`` set; parent: the ``start_schedule`` request)."""

    msg_type = "event_fired"
    event: str
    strength: float = 1.0
    schedule_id: str | None = None


class ScheduleStarted(Fact):
    msg_type = "schedule_started"
    schedule: ScheduleInfo


class ScheduleEnded(Fact):
    """``reason``: ``stopped`` (stop_schedule), ``done`` (an ``at_s`` schedule fired), ``replaced``,
    ``rung`` (another rung), ``scene`` (another scene), ``safe_place`` or ``stop``."""

    msg_type = "schedule_ended"
    schedule_id: str
    event: str = ""
    reason: str = "stopped"
    fired: int = 0


class EventEnded(Fact):
    msg_type = "event_ended"
    event: str


class Paused(Fact):
    msg_type = "paused"


class Resumed(Fact):
    msg_type = "resumed"


class SafePlaceEntered(Fact):
    """``source``: ``console``, ``patient`` (controller/keyboard in VR) or ``link_lost``."""

    msg_type = "safe_place_entered"
    fade_s: float = 0.0
    source: str = "console"


class SafePlaceLeft(Fact):
    msg_type = "safe_place_left"
    fade_s: float = 0.0


class Stopped(Fact):
    msg_type = "stopped"
    reason: str = ""


class SudsPromptShown(Fact):
    msg_type = "suds_prompt_shown"
    probe_id: str
    scale_max: int = 100


class SudsPromptClosed(Fact):
    """``reason``: ``answered``, ``cancelled`` or ``timeout``."""

    msg_type = "suds_prompt_closed"
    probe_id: str
    reason: str = "answered"


class RatingRecorded(Fact):
    """A SUDS rating given by the patient inside VR. ``value`` is on a 0-``scale_max`` scale."""

    msg_type = "rating_recorded"
    value: float
    scale_max: int = 100
    probe_id: str | None = None
    source: str = "patient-in-vr"


class SessionSet(Fact):
    msg_type = "session_set"
    session_id: str
    session_dir: str | None = None


class HeadsetChanged(Fact):
    """The headset was put on, taken off or lost (see ``RendererState.headset``). While it is not
    ``worn`` the console holds the SUDS prompts' response windows."""

    msg_type = "headset_changed"
    status: HeadsetStatus
    reason: str = ""


class ViewRecentered(Fact):
    """The patient's view was recentred (the runtime's own recenter, or ``recenter_request``).
    ``yaw_deg`` and ``offset_m`` are what the app-space origin moved by, in the tracking space
    (Panda3D axes: +Z up); head poses before and after it differ by exactly that."""

    msg_type = "view_recentered"
    source: str
    yaw_deg: float = 0.0
    offset_m: tuple[float, float, float] = (0.0, 0.0, 0.0)


class LinkLost(Fact):
    """Published by the renderer's link server when no console was heard for ``silence_s``."""

    msg_type = "link_lost"
    silence_s: float = 0.0


class LinkRestored(Fact):
    msg_type = "link_restored"
    silence_s: float = 0.0


class ShuttingDown(Fact):
    msg_type = "shutting_down"
    reason: str = ""


class FadeEnded(Fact):
    """A fade through black (a scene change, entering or leaving the safe place) is over: the view
    shows ``scene`` fully, and steering commands are accepted again."""

    msg_type = "fade_ended"
    scene: str | None = None


class StateChanged(Fact):
    """The full renderer state; replaces the console's mirror (published e.g. after a ramp ends)."""

    msg_type = "state"
    state: RendererState


# ---------------------------------------------------------------------------------------------
# Telemetry (renderer -> console, PUB topic "telemetry.<msg_type>"; lossy, seq per stream)


class Telemetry(Content):
    """High-rate samples. Their loss is counted, never resynced."""


class HeadPose(Telemetry):
    """Head pose in tracking space at ``t_mono_ns`` (renderer monotonic clock)."""

    msg_type = "head_pose"
    frame: int
    t_mono_ns: int
    position_m: tuple[float, float, float]
    orientation_xyzw: tuple[float, float, float, float]


class FrameTiming(Telemetry):
    msg_type = "frame_timing"
    median_ms: float
    p99_ms: float
    dropped: int = 0
    frames: int = 0
    window_s: float = 1.0
    display_period_ms: float = 0.0
    """The display's (the headset's) frame period: the rate frames should come at (0: not said)."""
    # An XR backend's frame loop over the same window (None elsewhere): the runtime's predicted
    # display period, frames whose display slot was missed, and the app's CPU per frame between
    # xrWaitFrame and xrEndFrame (median, p99) with its wall time.
    xr_frames: int | None = None
    xr_late: int | None = None
    xr_period_ms: float | None = None
    xr_app_cpu_ms: float | None = None
    xr_app_cpu_p99_ms: float | None = None
    xr_app_wall_ms: float | None = None


class StimulusPosition(msgspec.Struct, kw_only=True, frozen=True):
    """One shown node tagged ``stimulus``: its name, the tag's value and its position (metres, tracking
    space, the frame of ``head_pose``)."""

    node: str
    tag: str
    position_m: tuple[float, float, float]


class StimulusPositions(Telemetry):
    """Where the feared objects are, about 10 times a second while any is shown (one record with
    ``stimuli`` empty when the last one goes), for gaze and avoidance measures."""

    msg_type = "stimulus_positions"
    frame: int
    t_mono_ns: int
    stimuli: tuple[StimulusPosition, ...] = ()


class ViewImage(Telemetry):
    """What the patient sees, for the console's mirror. ``jpeg`` is base64 in JSON."""

    msg_type = "view_image"
    jpeg: bytes
    width: int
    height: int
    frame: int = 0


MESSAGE_TYPES: dict[str, type[Content]] = Content.registry
"""Every known ``msg_type`` -> its content Struct."""


def reply_msg_type_for(msg_type: str) -> str:
    """``set_intensity_request`` -> ``set_intensity_reply``; anything else -> ``error``."""
    if msg_type.endswith("_request"):
        return msg_type[: -len("_request")] + "_reply"
    return "error"


def verb_of(msg_type: str) -> str:
    for suffix in ("_request", "_reply"):
        if msg_type.endswith(suffix):
            return msg_type[: -len(suffix)]
    return msg_type


def apply_fact(state: RendererState, fact: Content) -> RendererState:
    """The console's mirror update for one fact (the renderer remains the authority; a snapshot
    replaces whatever this derives). Unknown facts leave the state as it is."""
    rep = msgspec.structs.replace
    if isinstance(fact, StateChanged):
        return fact.state
    if isinstance(fact, IntensityChanged):
        # A free intensity leaves the preset (its overrides ease out over the ramp).
        return rep(state, intensity=fact.intensity, target_intensity=fact.target, preset=None)
    if isinstance(fact, SceneLoaded):
        return rep(
            state,
            scene=fact.scene,
            preset=fact.preset,
            intensity=fact.intensity,
            target_intensity=fact.intensity,
            active_events=(),
            fading=True,
            mode="running" if state.mode in ("idle", "stopped") else state.mode,
        )
    if isinstance(fact, FadeEnded):
        return rep(state, fading=False)
    if isinstance(fact, HeadsetChanged):
        return rep(state, headset=fact.status)
    if isinstance(fact, PresetApplied):
        return rep(state, preset=fact.preset, target_intensity=fact.intensity)
    if isinstance(fact, EventFired):
        if fact.schedule_id is not None:
            state = rep(
                state,
                schedules=tuple(
                    rep(s, fired=s.fired + 1) if s.schedule_id == fact.schedule_id else s
                    for s in state.schedules
                ),
            )
        return rep(state, active_events=(*state.active_events, fact.event))
    if isinstance(fact, ScheduleStarted):
        others = tuple(s for s in state.schedules if s.schedule_id != fact.schedule.schedule_id)
        return rep(state, schedules=(*others, fact.schedule))
    if isinstance(fact, ScheduleEnded):
        return rep(state, schedules=tuple(s for s in state.schedules if s.schedule_id != fact.schedule_id))
    if isinstance(fact, EventEnded):
        events = list(state.active_events)
        if fact.event in events:
            events.remove(fact.event)
        return rep(state, active_events=tuple(events))
    if isinstance(fact, Paused):
        return rep(state, mode="paused")
    if isinstance(fact, Resumed):
        return rep(state, mode="running")
    if isinstance(fact, SafePlaceLeft):
        return rep(
            state,
            mode="running",
            fading=True,
            return_scene=None,
            return_preset=None,
            return_intensity=None,
        )
    if isinstance(fact, SafePlaceEntered):
        # What the scene returns to comes with the next full ``state`` fact.
        return rep(state, mode="safe_place", fading=True)
    if isinstance(fact, Stopped):
        return rep(state, mode="stopped")
    if isinstance(fact, SudsPromptShown):
        return rep(state, suds_prompt=fact.probe_id)
    if isinstance(fact, SudsPromptClosed):
        return rep(state, suds_prompt=None) if state.suds_prompt == fact.probe_id else state
    if isinstance(fact, SessionSet):
        return rep(state, session_id=fact.session_id)
    if isinstance(fact, LinkLost):
        return rep(state, link="lost")
    if isinstance(fact, LinkRestored):
        return rep(state, link="ok")
    return state
