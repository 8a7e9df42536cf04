"""The session engine: a pure state machine of one exposure session, driven by the console.

States: ``idle -> running <-> paused``; from any live state ``-> safe_place -> `` back to the state
it came from; from any live state ``-> ended`` (terminal). The engine tracks the selected ladder rung
and intensity, every SUDS rating, the probe schedule, time on each rung, and advisory suggestions.

It guides; the therapist decides. The engine never changes the rung or the intensity by itself: only
:meth:`SessionEngine.set_rung`, :meth:`~SessionEngine.set_intensity` and
:meth:`~SessionEngine.accept_advice` do, and those are called for the therapist's own actions. Rules
(move up after a 50% drop from the peak, below an absolute SUDS, or after a time cap; move down above a
ceiling) only produce :class:`Advice`, each condition once per visit to a rung.

Pure: no I/O, no threads; time comes from the injected clock. Every input method first brings the
time-based things up to the clock (probes due or missed, time caps), then applies the input, and
returns the domain events it produced, in order, for the console to journal and show. An illegal
transition raises :class:`SessionStateError` and leaves the state as it was.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import msgspec

from vr_exposure.errors import VrExposureError

from .clock import Clock
from .metrics import SessionMetrics, session_metrics
from .specs import PROLONGED_EXPOSURE, ProtocolSpec, Rules, SceneSpec, SudsSettings
from .suds import Probe, ProbeSchedule, RatingError, SudsRating, check_rating

State = Literal["idle", "running", "paused", "safe_place", "ended"]
AdviceKind = Literal["move_up", "move_down"]
AdviceRule = Literal["reduction_from_peak", "below", "time_cap", "ceiling"]
AdviceStatus = Literal["pending", "accepted", "dismissed", "expired"]
ChangedBy = Literal["therapist"]

LIVE_STATES: tuple[State, ...] = ("idle", "running", "paused", "safe_place")


class SessionStateError(VrExposureError):
    """A command that the session's current state does not allow (resume while running, anything
    after the end); the session is left unchanged."""


class SessionInputError(VrExposureError, ValueError):
    """A command with a bad argument (a rung that does not exist, an intensity outside 0-100)."""


# --- domain events ---------------------------------------------------------------------------------


class SessionEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the events the engine returns. ``msg_type`` names it in the journal; ``content()``
    is the journal's ``content`` object (plain JSON types)."""

    msg_type: ClassVar[str] = ""
    t_mono_ns: int

    def content(self) -> dict[str, Any]:
        return _json_content(self)


class SessionStarted(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "session_started"
    protocol: str | None
    scene: str | None
    rung: int | None
    intensity: float
    probe_interval_s: float
    response_window_s: float
    scale_max: int


class SessionEnded(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "session_ended"
    reason: str
    from_state: str
    running_s: float
    ratings: int
    probes_answered: int
    probes_missed: int


class Paused(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "paused"
    running_s: float


class Resumed(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "resumed"
    running_s: float


class SafePlaceEntered(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "safe_place_entered"
    from_state: str
    by: str
    running_s: float


class SafePlaceLeft(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "safe_place_left"
    to_state: str
    seconds_in_safe_place: float


class RungChanged(SessionEvent, frozen=True, kw_only=True):
    """The therapist selected rung ``rung`` (``preset`` of the scene). ``advice_id`` is set when the
    change was the therapist accepting that advice; ``expired_advice`` lists pending advice for the
    rung left, which no longer applies."""

    msg_type: ClassVar[str] = "rung_changed"
    rung_from: int | None
    rung: int
    preset: str
    expected_suds: float
    title: str
    intensity: float
    by: str
    advice_id: str | None = None
    expired_advice: tuple[str, ...] = ()


class IntensityChanged(SessionEvent, frozen=True, kw_only=True):
    """Intensity (0-100) set by the therapist, directly or as a rung's preset (``rung`` then)."""

    msg_type: ClassVar[str] = "intensity_set"
    intensity_from: float
    intensity: float
    by: str
    rung: int | None = None


class RatingRecorded(SessionEvent, frozen=True, kw_only=True):
    """A SUDS rating. ``probe_status`` is the status of the probe it refers to after this rating
    (``answered``; ``missed`` for a late answer, which still counts as a rating), None if none."""

    msg_type: ClassVar[str] = "suds_recorded"
    rating: SudsRating
    probe_id: str | None
    probe_status: str | None


class RatingWithdrawn(SessionEvent, frozen=True, kw_only=True):
    """A rating recorded by mistake was taken back (the therapist's undo): ``rating`` is the one
    withdrawn. It no longer counts in any metric; a probe it answered stays answered, and advice it
    gave stays (the therapist decides on it)."""

    msg_type: ClassVar[str] = "rating_corrected"
    rating: SudsRating
    by: str
    reason: str = "withdrawn"


class ProbeDue(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "probe_due"
    probe_id: str
    index: int
    due_running_s: float
    deadline_running_s: float
    scale_max: int


class ProbeMissed(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "probe_missed"
    probe_id: str
    index: int
    reason: str


class Advice(msgspec.Struct, frozen=True, kw_only=True):
    """A suggestion for the therapist, never applied by the engine.

    ``reason`` is a sentence for the console, e.g. ``SUDS fell 50% from peak 70 to 35: consider the
    next rung (rung 4: spider on the table)``, rungs numbered from 1 as people count them; ``rung_from``
    and ``rung_to`` are indices into the ladder (from 0)."""

    advice_id: str
    kind: AdviceKind
    rule: AdviceRule
    reason: str
    rung_from: int
    rung_to: int
    t_mono_ns: int
    running_s: float


class AdviceGiven(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "advice_given"
    advice: Advice


class AdviceAccepted(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "advice_accepted"
    advice_id: str
    kind: str
    rung_from: int
    rung_to: int


class AdviceDismissed(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "advice_dismissed"
    advice_id: str
    kind: str
    note: str = ""


class SessionLengthReached(SessionEvent, frozen=True, kw_only=True):
    """The protocol's planned session length of exposure has passed; the session goes on until the
    therapist ends it."""

    msg_type: ClassVar[str] = "session_length_reached"
    length_s: float
    running_s: float


class HeadsetOff(SessionEvent, frozen=True, kw_only=True):
    """The patient cannot see the headset's image (taken off, or its XR session lost): SUDS prompts'
    response windows stop until :class:`HeadsetOn`, so a probe missed meanwhile is not the patient's."""

    msg_type: ClassVar[str] = "headset_off"
    reason: str
    running_s: float


class HeadsetOn(SessionEvent, frozen=True, kw_only=True):
    msg_type: ClassVar[str] = "headset_on"
    reason: str
    running_s: float


EVENT_TYPES: tuple[type[SessionEvent], ...] = (
    SessionStarted,
    SessionEnded,
    Paused,
    Resumed,
    SafePlaceEntered,
    SafePlaceLeft,
    RungChanged,
    IntensityChanged,
    RatingRecorded,
    ProbeDue,
    ProbeMissed,
    AdviceGiven,
    AdviceAccepted,
    AdviceDismissed,
    SessionLengthReached,
    HeadsetOff,
    HeadsetOn,
)
"""Every event type, e.g. for a reader that maps ``msg_type`` back to a class."""


class AdviceRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An advice with what became of it."""

    advice: Advice
    status: AdviceStatus = "pending"
    closed_mono_ns: int | None = None


class RungProgress(msgspec.Struct, frozen=True, kw_only=True):
    rung: int
    preset: str
    title: str
    expected_suds: float
    visits: int
    time_on_rung_s: float
    peak: float | None
    end: float | None


class EngineSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Where a session stands, for a console panel or the journal's closing record."""

    state: str
    protocol: str | None
    scene: str | None
    rung: int | None
    intensity: float
    running_s: float
    elapsed_s: float
    ratings: int
    probes_issued: int
    probes_answered: int
    probes_missed: int
    probes_pending: int
    next_probe_running_s: float | None
    rungs: tuple[RungProgress, ...]
    advice: tuple[AdviceRecord, ...]
    metrics: SessionMetrics

    def content(self) -> dict[str, Any]:
        return _json_content(self)


# --- the engine ------------------------------------------------------------------------------------


class SessionEngine:
    """One session. Build it with the protocol and scene (either may be None for a free session
    without a ladder) and a clock; call the input methods as the therapist and patient act, and
    :meth:`tick` about once a second so probes and time caps come due."""

    def __init__(self, protocol: ProtocolSpec | None, scene: SceneSpec | None, clock: Clock) -> None:
        if protocol is not None and scene is not None:
            _check_scene(protocol, scene)
        self.protocol = protocol
        self.scene = scene
        self._clock = clock
        suds = protocol.suds if protocol is not None else SudsSettings()
        self.rules: Rules = protocol.rules if protocol is not None else Rules()
        self.scale_max: int = suds.scale_max
        self.session_length_s: float | None = protocol.session.length_s if protocol is not None else None
        self._probes = ProbeSchedule.from_settings(suds)
        self._state: State = "idle"
        self._before_safe_place: State | None = None
        self._safe_place_since_ns: int | None = None
        self._rung: int | None = None
        self._intensity = 0.0
        self._ratings: list[SudsRating] = []
        self._advice: list[AdviceRecord] = []
        self._advice_index: dict[str, int] = {}
        self._fired: set[tuple[int, AdviceRule]] = set()
        self._visit = 0
        self._visit_ratings: list[SudsRating] = []
        self._visit_running_ns = 0
        self._visits: dict[int, int] = {}
        self._rung_running_ns: dict[int, int] = {}
        self._rung_entered_ns: dict[int, int] = {}
        self._running_ns = 0
        self._last_sync_ns = clock.monotonic_ns()
        self._started_ns: int | None = None
        self._ended_ns: int | None = None
        self._length_reached = False

    # --- read-only views ---------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def state_before_safe_place(self) -> State | None:
        return self._before_safe_place

    @property
    def rung(self) -> int | None:
        """Index into the protocol's ladder of the selected rung; None until the therapist picks one."""
        return self._rung

    @property
    def intensity(self) -> float:
        """The intensity (0-100) the therapist last set, directly or through a rung."""
        return self._intensity

    @property
    def ratings(self) -> tuple[SudsRating, ...]:
        return tuple(self._ratings)

    @property
    def probes(self) -> tuple[Probe, ...]:
        return self._probes.probes

    @property
    def pending_probes(self) -> tuple[Probe, ...]:
        return self._probes.pending

    @property
    def advice(self) -> tuple[AdviceRecord, ...]:
        return tuple(self._advice)

    @property
    def pending_advice(self) -> tuple[Advice, ...]:
        return tuple(a.advice for a in self._advice if a.status == "pending")

    @property
    def running_s(self) -> float:
        """Seconds of exposure so far: time in ``running``, not paused, not in the safe place
        (as of the last input or :meth:`tick`)."""
        return self._running_ns / 1e9

    @property
    def next_probe_running_s(self) -> float | None:
        """Exposure time at which the next probe comes due; None after the end. With
        :attr:`running_s` it gives the console's countdown."""
        return None if self._probes.closed else self._probes.next_due_running_ns / 1e9

    @property
    def ladder_size(self) -> int:
        return 0 if self.protocol is None else len(self.protocol.ladder)

    def time_on_rung_s(self, rung: int | None = None) -> float:
        """Seconds of exposure on ``rung`` (default: the current one), over all visits."""
        index = self._rung if rung is None else rung
        return 0.0 if index is None else self._rung_running_ns.get(index, 0) / 1e9

    # --- state transitions -------------------------------------------------------------------------

    def start(self) -> list[SessionEvent]:
        """idle -> running. Exposure time starts counting."""
        now, events = self._begin("start", ("idle",))
        self._state = "running"
        self._started_ns = now
        events.append(
            SessionStarted(
                t_mono_ns=now,
                protocol=None if self.protocol is None else self.protocol.id,
                scene=None if self.scene is None else self.scene.id,
                rung=self._rung,
                intensity=self._intensity,
                probe_interval_s=self._probes.interval_s,
                response_window_s=self._probes.response_window_s,
                scale_max=self.scale_max,
            )
        )
        return events

    def pause(self) -> list[SessionEvent]:
        """running -> paused. Exposure time, probes and time caps stop until resume."""
        now, events = self._begin("pause", ("running",))
        self._state = "paused"
        events.append(Paused(t_mono_ns=now, running_s=self.running_s))
        return events

    def resume(self) -> list[SessionEvent]:
        """paused -> running."""
        now, events = self._begin("resume", ("paused",))
        self._state = "running"
        events.append(Resumed(t_mono_ns=now, running_s=self.running_s))
        return events

    def enter_safe_place(self, *, by: str = "therapist") -> list[SessionEvent]:
        """Any live state -> safe_place; :meth:`leave_safe_place` returns to that state.

        Already in the safe place: nothing changes and no safe-place event is returned (only what
        catching up with the clock produced), because a safety action pressed twice (patient and
        therapist at once) must never fail. ``by`` says who asked
        ("therapist", "patient", "link-lost"), for the journal."""
        if self._state == "safe_place":
            return self._advance(self._clock.monotonic_ns())
        now, events = self._begin("enter the safe place", ("idle", "running", "paused"))
        self._before_safe_place = self._state
        self._safe_place_since_ns = now
        from_state = self._state
        self._state = "safe_place"
        events.append(SafePlaceEntered(t_mono_ns=now, from_state=from_state, by=by, running_s=self.running_s))
        return events

    def leave_safe_place(self) -> list[SessionEvent]:
        """safe_place -> the state it was entered from."""
        now, events = self._begin("leave the safe place", ("safe_place",))
        back = self._before_safe_place or "idle"
        since = self._safe_place_since_ns if self._safe_place_since_ns is not None else now
        self._state = back
        self._before_safe_place = None
        self._safe_place_since_ns = None
        events.append(SafePlaceLeft(t_mono_ns=now, to_state=back, seconds_in_safe_place=(now - since) / 1e9))
        return events

    def end(self, reason: str = "completed") -> list[SessionEvent]:
        """Any live state -> ended, for good. Probes still open are marked missed; pending advice expires."""
        now, events = self._begin("end", LIVE_STATES)
        from_state = self._state
        for probe in self._probes.close(now):
            events.append(_missed(now, probe))
        self._expire_advice(now)
        self._state = "ended"
        self._ended_ns = now
        statuses = [p.status for p in self._probes.probes]
        events.append(
            SessionEnded(
                t_mono_ns=now,
                reason=reason,
                from_state=from_state,
                running_s=self.running_s,
                ratings=len(self._ratings),
                probes_answered=statuses.count("answered"),
                probes_missed=statuses.count("missed"),
            )
        )
        return events

    # --- therapist commands ------------------------------------------------------------------------

    def set_rung(self, index: int, *, by: ChangedBy = "therapist") -> list[SessionEvent]:
        """Select ladder rung ``index``; the intensity follows the rung's preset when the scene is known.

        Allowed in every live state (a rung may be prepared before the start or while in the safe
        place). Selecting the current rung again starts no new visit; it only sets the intensity back
        to the rung's preset if it differs (otherwise no events)."""
        _check_by(by)
        self._require("change rung", LIVE_STATES)
        self._check_rung(index)
        now, events = self._catch_up()
        events.extend(self._change_rung(now, index, by=by, advice_id=None))
        return events

    def set_intensity(self, value: float, *, by: ChangedBy = "therapist") -> list[SessionEvent]:
        """Set the intensity (0-100). The same value again changes nothing and returns no events."""
        _check_by(by)
        self._require("change intensity", LIVE_STATES)
        intensity = _check_intensity(value)
        now, events = self._catch_up()
        if intensity != self._intensity:
            events.append(
                IntensityChanged(t_mono_ns=now, intensity_from=self._intensity, intensity=intensity, by=by)
            )
            self._intensity = intensity
        return events

    def accept_advice(self, advice_id: str) -> list[SessionEvent]:
        """The therapist takes a pending advice: the rung changes to the advice's ``rung_to``."""
        self._require("accept advice", LIVE_STATES)
        record = self._get_advice(advice_id)
        if record.status != "pending":
            raise SessionStateError(f"advice {advice_id} was already {record.status}; it cannot be accepted")
        advice = record.advice
        if advice.rung_from != self._rung:
            raise SessionStateError(
                f"advice {advice_id} was for rung {advice.rung_from}; the session is on rung {self._rung}"
            )
        now, events = self._catch_up()
        self._close_advice(advice_id, "accepted", now)
        events.append(
            AdviceAccepted(
                t_mono_ns=now,
                advice_id=advice_id,
                kind=advice.kind,
                rung_from=advice.rung_from,
                rung_to=advice.rung_to,
            )
        )
        events.extend(self._change_rung(now, advice.rung_to, by="therapist", advice_id=advice_id))
        return events

    def dismiss_advice(self, advice_id: str, note: str = "") -> list[SessionEvent]:
        """The therapist sets a pending advice aside; it is not given again for this rung visit."""
        self._require("dismiss advice", LIVE_STATES)
        record = self._get_advice(advice_id)
        if record.status != "pending":
            raise SessionStateError(f"advice {advice_id} was already {record.status}; it cannot be dismissed")
        now, events = self._catch_up()
        self._close_advice(advice_id, "dismissed", now)
        events.append(AdviceDismissed(t_mono_ns=now, advice_id=advice_id, kind=record.advice.kind, note=note))
        return events

    # --- ratings and time --------------------------------------------------------------------------

    def record_rating(
        self,
        value: float,
        *,
        scale_max: int | None = None,
        source: str = "therapist",
        probe_id: str | None = None,
        t_mono_ns: int | None = None,
    ) -> list[SessionEvent]:
        """Record a SUDS rating of ``value`` on a 0-``scale_max`` scale (default: the protocol's).

        ``probe_id`` names the probe it answers; None answers the oldest open probe if there is one
        (a rating given while a prompt is open is its answer). A rating for a probe already missed is
        recorded as a late answer; the probe stays missed. ``t_mono_ns`` is when it was given, if not
        now (a press in VR stamped by the renderer). Raises :class:`RatingError` for a bad value."""
        self._require("record a rating", LIVE_STATES)
        scale = self.scale_max if scale_max is None else scale_max
        check_rating(value, scale_max=scale, source=source)
        if probe_id is not None:
            self._probes.get(probe_id)
        now, events = self._catch_up()
        stamp = now if t_mono_ns is None else t_mono_ns
        probe = self._probes.answer(probe_id, stamp)
        rating = SudsRating.create(
            value,
            scale_max=scale,
            source=source,
            t_mono_ns=stamp,
            probe_id=None if probe is None else probe.probe_id,
            rung=self._rung,
            # A rating while paused is about the exposure just interrupted (therapists often pause
            # to ask); one before the start or in the safe place is not about the exposure.
            during_exposure=self._state in ("running", "paused"),
            running_s=self.running_s,
        )
        self._ratings.append(rating)
        events.append(
            RatingRecorded(
                t_mono_ns=now,
                rating=rating,
                probe_id=rating.probe_id,
                probe_status=None if probe is None else probe.status,
            )
        )
        if rating.during_exposure and self._rung is not None:
            self._visit_ratings.append(rating)
            events.extend(self._rating_advice(now, rating))
        return events

    def withdraw_rating(self, t_mono_ns: int, *, by: str = "therapist") -> list[SessionEvent]:
        """Take back the rating recorded at ``t_mono_ns`` (an undo). Raises :class:`RatingError`
        when there is none."""
        rating = next((r for r in reversed(self._ratings) if r.t_mono_ns == t_mono_ns), None)
        if rating is None:
            raise RatingError("no rating recorded at that moment to withdraw")
        self._ratings.remove(rating)
        if rating in self._visit_ratings:
            self._visit_ratings.remove(rating)
        now = self._clock.monotonic_ns()
        return [RatingWithdrawn(t_mono_ns=now, rating=rating, by=by)]

    def headset(self, worn: bool, reason: str = "") -> list[SessionEvent]:
        """The headset went off (``worn=False``) or came back on: holds or releases the SUDS prompts'
        response windows. Allowed in every live state; a repeat of the current state changes nothing."""
        if self._state == "ended":
            return []
        now, events = self._catch_up()
        if worn == (not self._probes.held):
            return events
        if worn:
            self._probes.release(self._running_ns)
            events.append(HeadsetOn(t_mono_ns=now, reason=reason, running_s=self.running_s))
        else:
            self._probes.hold(self._running_ns)
            events.append(HeadsetOff(t_mono_ns=now, reason=reason, running_s=self.running_s))
        return events

    @property
    def headset_worn(self) -> bool:
        return not self._probes.held

    def tick(self) -> list[SessionEvent]:
        """Bring time-based things up to the clock: probes due or missed, the rung time cap, the
        session length. Call it about once a second; after the end it does nothing."""
        if self._state == "ended":
            return []
        return self._advance(self._clock.monotonic_ns())

    # --- summary -----------------------------------------------------------------------------------

    def metrics(self, *, label: str = "", pseudonym: str | None = None) -> SessionMetrics:
        """Metrics of this session's ratings so far (see :func:`~vr_exposure.core.metrics.session_metrics`).
        A rung selected before the start counts from the start."""
        start = self._started_ns
        entered = {k: v if start is None else max(v, start) for k, v in self._rung_entered_ns.items()}
        return session_metrics(
            self._ratings,
            self.protocol,
            label=label,
            pseudonym=pseudonym,
            start_mono_ns=start,
            rung_start_mono_ns=entered,
            time_on_rung_s={k: v / 1e9 for k, v in self._rung_running_ns.items()},
        )

    def summary(self) -> EngineSummary:
        """Where the session stands now (as of the last input or tick; reading changes nothing)."""
        now = self._clock.monotonic_ns() if self._ended_ns is None else self._ended_ns
        statuses = [p.status for p in self._probes.probes]
        metrics = self.metrics()
        rungs: list[RungProgress] = []
        if self.protocol is not None:
            for i, r in enumerate(self.protocol.ladder):
                m = metrics.rung(i)
                rungs.append(
                    RungProgress(
                        rung=i,
                        preset=r.preset,
                        title=r.title,
                        expected_suds=float(r.expected_suds),
                        visits=self._visits.get(i, 0),
                        time_on_rung_s=self._rung_running_ns.get(i, 0) / 1e9,
                        peak=None if m is None else m.trajectory.peak,
                        end=None if m is None else m.trajectory.end,
                    )
                )
        return EngineSummary(
            state=self._state,
            protocol=None if self.protocol is None else self.protocol.id,
            scene=None if self.scene is None else self.scene.id,
            rung=self._rung,
            intensity=self._intensity,
            running_s=self.running_s,
            elapsed_s=0.0 if self._started_ns is None else (now - self._started_ns) / 1e9,
            ratings=len(self._ratings),
            probes_issued=len(statuses),
            probes_answered=statuses.count("answered"),
            probes_missed=statuses.count("missed"),
            probes_pending=statuses.count("pending"),
            next_probe_running_s=self.next_probe_running_s,
            rungs=tuple(rungs),
            advice=tuple(self._advice),
            metrics=metrics,
        )

    # --- internals ---------------------------------------------------------------------------------

    # Every command checks everything that can fail (_require, argument checks) BEFORE it catches up
    # with the clock: once _catch_up has run, probe and advice events exist that only the command's
    # return value carries to the journal, so nothing may raise after it.

    def _require(self, action: str, allowed: tuple[State, ...]) -> None:
        if self._state not in allowed:
            raise SessionStateError(_illegal(action, self._state, allowed))

    def _catch_up(self) -> tuple[int, list[SessionEvent]]:
        now = self._clock.monotonic_ns()
        return now, self._advance(now)

    def _begin(self, action: str, allowed: tuple[State, ...]) -> tuple[int, list[SessionEvent]]:
        self._require(action, allowed)
        return self._catch_up()

    def _check_rung(self, index: int) -> None:
        if self.protocol is None:
            raise SessionStateError("change rung: this session has no protocol, so no ladder")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.ladder_size:
            raise SessionInputError(
                f"rung: {index!r} is not a rung of this ladder (0-{self.ladder_size - 1})"
            )

    def _sync(self, now: int) -> None:
        """Credit the time since the last sync to exposure, if the session was running."""
        delta = max(0, now - self._last_sync_ns)  # a monotonic clock never goes back; be safe anyway
        self._last_sync_ns = max(now, self._last_sync_ns)
        if self._state != "running" or delta == 0:
            return
        self._running_ns += delta
        if self._rung is not None:
            self._rung_running_ns[self._rung] = self._rung_running_ns.get(self._rung, 0) + delta
            self._visit_running_ns += delta

    def _advance(self, now: int) -> list[SessionEvent]:
        self._sync(now)
        events: list[SessionEvent] = []
        for update in self._probes.advance(self._running_ns, now):
            p = update.probe
            if update.kind == "due":
                events.append(
                    ProbeDue(
                        t_mono_ns=now,
                        probe_id=p.probe_id,
                        index=p.index,
                        due_running_s=p.due_running_s,
                        deadline_running_s=p.deadline_running_s,
                        scale_max=self.scale_max,
                    )
                )
            else:
                events.append(_missed(now, p))
        cap_s = self.rules.up.time_cap_s
        if self._rung is not None and self._visit_running_ns >= cap_s * 1e9:
            on_rung = _duration_text(self._visit_running_ns / 1e9)
            events.extend(
                self._give(
                    now,
                    "move_up",
                    "time_cap",
                    f"{on_rung} on this rung (cap {_duration_text(cap_s)}): consider the next rung",
                )
            )
        if (
            self.session_length_s is not None
            and not self._length_reached
            and self._running_ns >= self.session_length_s * 1e9
        ):
            self._length_reached = True
            events.append(
                SessionLengthReached(t_mono_ns=now, length_s=self.session_length_s, running_s=self.running_s)
            )
        return events

    def _rating_advice(self, now: int, rating: SudsRating) -> list[SessionEvent]:
        events: list[SessionEvent] = []
        up, down = self.rules.up, self.rules.down
        value = rating.value
        peak = max(r.value for r in self._visit_ratings)
        if peak > 0 and value <= peak * (1.0 - up.reduction_from_peak):
            drop = (peak - value) / peak * 100.0
            events.extend(
                self._give(
                    now,
                    "move_up",
                    "reduction_from_peak",
                    f"SUDS fell {drop:.0f}% from peak {peak:g} to {value:g}: consider the next rung",
                )
            )
        if up.below is not None and value < up.below:
            events.extend(
                self._give(
                    now, "move_up", "below", f"SUDS {value:g} is below {up.below:g}: consider the next rung"
                )
            )
        if value > down.ceiling:
            events.extend(
                self._give(
                    now,
                    "move_down",
                    "ceiling",
                    f"SUDS {value:g} is above the ceiling {down.ceiling:g}: consider the previous rung",
                )
            )
        return events

    def _give(self, now: int, kind: AdviceKind, rule: AdviceRule, reason: str) -> list[SessionEvent]:
        """Advice once per rule per rung visit; none past either end of the ladder, and none in a
        prolonged-exposure session, whose hotspots are no ladder to climb."""
        rung = self._rung
        if self.protocol is not None and self.protocol.kind == PROLONGED_EXPOSURE:
            return []
        if rung is None or (self._visit, rule) in self._fired:
            return []
        target = rung + 1 if kind == "move_up" else rung - 1
        if not 0 <= target < self.ladder_size:
            return []
        self._fired.add((self._visit, rule))
        advice = Advice(
            advice_id=f"advice-{len(self._advice) + 1}",
            kind=kind,
            rule=rule,
            reason=f"{reason} ({_rung_label(self.protocol, target)})",
            rung_from=rung,
            rung_to=target,
            t_mono_ns=now,
            running_s=self.running_s,
        )
        self._advice_index[advice.advice_id] = len(self._advice)
        self._advice.append(AdviceRecord(advice=advice))
        return [AdviceGiven(t_mono_ns=now, advice=advice)]

    def _change_rung(self, now: int, index: int, *, by: str, advice_id: str | None) -> list[SessionEvent]:
        """Apply a rung change already checked by _check_rung (or taken from a valid advice)."""
        assert self.protocol is not None
        rung = self.protocol.ladder[index]
        if index == self._rung:
            # Re-selecting the rung is no new visit; it puts the preset's intensity back if the
            # therapist had moved away from it.
            return self._preset_intensity(now, index, by=by)
        expired = self._expire_advice(now)
        previous = self._rung
        self._rung = index
        self._visit += 1
        self._visit_ratings = []
        self._visit_running_ns = 0
        self._visits[index] = self._visits.get(index, 0) + 1
        self._rung_entered_ns.setdefault(index, now)
        intensity_from = self._intensity
        if rung.intensity is not None:
            self._intensity = _check_intensity(rung.intensity)
        elif self.scene is not None:
            self._intensity = _check_intensity(self.scene.presets[rung.preset].intensity)
        return [
            RungChanged(
                t_mono_ns=now,
                rung_from=previous,
                rung=index,
                preset=rung.preset,
                expected_suds=float(rung.expected_suds),
                title=rung.title,
                intensity=self._intensity,
                by=by,
                advice_id=advice_id,
                expired_advice=expired,
            ),
            *self._intensity_event(now, intensity_from, index, by=by),
        ]

    def _preset_intensity(self, now: int, index: int, *, by: str) -> list[SessionEvent]:
        if self.scene is None or self.protocol is None:
            return []
        intensity_from = self._intensity
        rung = self.protocol.ladder[index]
        preset = self.scene.presets[rung.preset].intensity
        self._intensity = _check_intensity(preset if rung.intensity is None else rung.intensity)
        return self._intensity_event(now, intensity_from, index, by=by)

    def _intensity_event(self, now: int, intensity_from: float, rung: int, *, by: str) -> list[SessionEvent]:
        if self._intensity == intensity_from:
            return []
        return [
            IntensityChanged(
                t_mono_ns=now, intensity_from=intensity_from, intensity=self._intensity, by=by, rung=rung
            )
        ]

    def _expire_advice(self, now: int) -> tuple[str, ...]:
        expired = tuple(a.advice.advice_id for a in self._advice if a.status == "pending")
        for advice_id in expired:
            self._close_advice(advice_id, "expired", now)
        return expired

    def _close_advice(self, advice_id: str, status: AdviceStatus, now: int) -> None:
        i = self._advice_index[advice_id]
        self._advice[i] = msgspec.structs.replace(self._advice[i], status=status, closed_mono_ns=now)

    def _get_advice(self, advice_id: str) -> AdviceRecord:
        try:
            return self._advice[self._advice_index[advice_id]]
        except KeyError:
            raise SessionInputError(f"advice: no advice {advice_id!r} was given in this session") from None


def _json_content(obj: msgspec.Struct) -> dict[str, Any]:
    # Through JSON rather than to_builtins: tuples come back as lists, so the content equals what a
    # reader of the journal will see.
    out: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(obj))
    return out


def _missed(now: int, probe: Probe) -> ProbeMissed:
    return ProbeMissed(
        t_mono_ns=now, probe_id=probe.probe_id, index=probe.index, reason=probe.missed_reason or ""
    )


def _illegal(action: str, state: State, allowed: tuple[State, ...]) -> str:
    if state == "ended":
        return f"cannot {action}: the session has ended"
    return f"cannot {action} while {state.replace('_', ' ')} (only when {' or '.join(allowed)})"


def _check_by(by: str) -> None:
    # Only the therapist changes what the patient is exposed to; a caller cannot claim otherwise.
    if by != "therapist":
        raise SessionInputError(f"by: {by!r}: only the therapist changes the rung or the intensity")


def _check_intensity(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SessionInputError(f"intensity: {value!r} is not a number")
    if not 0 <= value <= 100:
        raise SessionInputError(f"intensity: {value!r} is outside 0-100")
    return float(value)


def _rung_label(protocol: ProtocolSpec | None, index: int) -> str:
    """The rung as people number it (from 1, as the ladder and the console show it), with its title."""
    if protocol is None:
        return f"rung {index + 1}"
    rung = protocol.ladder[index]
    return f"rung {index + 1}: {rung.title or rung.preset}"


def _check_scene(protocol: ProtocolSpec, scene: SceneSpec) -> None:
    if protocol.scene != scene.id:
        raise SessionInputError(
            f"scene: protocol {protocol.id!r} is for scene {protocol.scene!r}, not {scene.id!r}"
        )
    missing = [r.preset for r in protocol.ladder if r.preset not in scene.presets]
    if missing:
        raise SessionInputError(
            f"ladder: protocol {protocol.id!r} names presets scene {scene.id!r} does not have: "
            + ", ".join(missing)
        )


def _duration_text(seconds: float) -> str:
    """A duration as a therapist reads it: ``45 s`` under two minutes, ``30 min`` above."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
