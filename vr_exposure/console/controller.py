"""The console's session logic, without Qt: the session engine, the link to the renderer and the console
journal, combined. The window and the headless demo both drive this one class.

What it guarantees:

- The therapist's actions go out at once with the link's non-blocking ``send``; nothing here ever waits on
  the network. Safety commands (safe place, stop) are sent before anything is written or shown.
- Clinical records (ratings, rung and intensity changes, safe place, notes, SSQ, advice decisions) are
  written to the console journal, which fsyncs them, *before* the listeners hear of them, so the screen
  never shows as done what the journal does not hold.
- The renderer is the authority on what the patient sees: the engine's mode (running, paused, safe
  place) follows the renderer's facts (``paused``, ``safe_place_entered`` ...), including a safe place
  the patient chose in VR or the renderer entered on losing the console. After a reconnect the snapshot
  is reconciled with the session: a renderer that restarted is told the session, scene, rung and
  intensity again; one that kept running but shows another rung or intensity (a reply lost with the
  contact) is set back to the session's. One in the safe place or stopped is left there (it refuses a
  scene then, and going back into the exposure is the therapist's decision); what it shows is
  journaled (``renderer_view_kept``).
- Resync restores exactly what the session recorded, and only after a real reconnection (the link was
  lost, or the renderer restarted; never after a ``degraded`` spell whose link never dropped): the
  scene, the rung's preset, or the free intensity the therapist set after it (a free intensity stays
  free), and a pause. What it sends is what it journals (``renderer_resynced`` holds the request).
  Events that were running when a renderer restarted are not fired again (each is a new stimulus the
  therapist did not ask for now); the record names them.
- Advice is shown, never applied: only :meth:`accept_advice` (the therapist's click) moves the rung.
- Steering follows what the renderer accepted, so the journal never says the patient was on a rung the
  patient never saw. A rung change (or accepted advice), an intensity change, an event or a scene
  change is sent as a request and only applied to the session engine and journaled (``rung_changed``,
  ``intensity_set``, ``event_triggered``, ``scene_changed``) when the renderer's reply is ``ok``,
  with that request's header as the record's ``parent_header``, the same parent the renderer's own
  fact carries. A refusal, or no answer, is journaled as ``command_failed`` with the same parent and
  what was asked, and is reported as a ``refused`` UI event: a sentence saying why and what to do,
  the session's real rung and intensity for the widgets to return to, and a token for
  :meth:`retry` (one click sends the same request again) while the renderer's mode stays as it was:
  a refusal expires (``refusals_expired``) when the mode changes, so no retry survives the safe place
  or a pause to drop a stimulus on the patient later. The safe place is not one of these: it is
  sent at once, in any state, and the session follows the renderer's ``safe_place_entered`` fact.
- With ``lsl=True`` every clinical record is handed, as it is journaled, to the session's Lab Streaming
  Layer outlets (:class:`vr_exposure.lsl.LslBridge`: markers, SUDS, intensity), and so are the
  renderer's facts as they arrive (the bridge counts a rating once, from the engine's record). The
  outlets live as long as the session's journal. LSL trouble is reported, never allowed to stop a
  session.
- With a physiology inlet (``physio=``, a :class:`vr_exposure.lsl.PhysioInlet`),
  :meth:`poll_physio` (called from the link's housekeeping, a few times a second) journals each batch of
  samples as ``physio_samples`` telemetry and hands it to the listeners for the timeline.

Listeners get :class:`UiEvent` objects (``kind`` plus data); the window turns them into widget updates,
the demo into printed progress.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import msgspec

from vr_exposure import __version__
from vr_exposure.core import engine as eng
from vr_exposure.core.clock import SYSTEM_CLOCK, Clock
from vr_exposure.core.hotspots import hotspot_metrics, hotspot_table
from vr_exposure.core.loading import ContentLibrary
from vr_exposure.core.metrics import SessionMetrics, left_out_sentence
from vr_exposure.core.specs import PROLONGED_EXPOSURE, ProtocolSpec, SceneSpec
from vr_exposure.core.ssq import SsqScore, score_ssq
from vr_exposure.core.suds import SudsRating
from vr_exposure.errors import VrExposureError
from vr_exposure.link import LinkQuality
from vr_exposure.link import messages as m


class LinkPort(Protocol):
    """What the controller needs of the link client: a non-blocking send returning the msg_id."""

    def send(self, content: m.Request) -> str: ...


@dataclass(frozen=True)
class UiEvent:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


Listener = Callable[[UiEvent], None]

log = logging.getLogger(__name__)

# The renderer's safe_place_entered ``source`` -> the engine's ``by``.
_SAFE_PLACE_BY = {"console": "therapist", "patient": "patient", "link_lost": "link-lost"}


class ControllerError(VrExposureError):
    """A console action that cannot be done now (no session, no ladder ...)."""


@dataclass(frozen=True)
class _Intent:
    """What a steering request asks of the session; applied only once the renderer accepts it."""

    kind: str  # "rung", "intensity", "event", "scene", "schedule" (start) or "unschedule" (stop)
    rung: int | None = None
    advice_id: str | None = None
    intensity: float | None = None
    ramp_s: float | None = None
    event: str | None = None
    scene: str | None = None
    preset: str | None = None
    strength: float | None = None
    schedule: m.StartScheduleRequest | None = None
    schedule_id: str | None = None
    #: A schedule restored after a reconnect: the session's running time it first started at.
    started_s: float | None = None

    def what(self) -> str:
        """The action in words, for messages: "the rung change", "the event 'walk'" ..."""
        if self.kind == "event":
            return f"the event {self.event!r}"
        if self.kind == "schedule":
            return f"the schedule of {self.event!r}"
        if self.kind == "unschedule":
            return "stopping the schedules" if self.schedule_id is None else "stopping the schedule"
        return {"rung": "the rung change", "intensity": "the intensity change"}.get(
            self.kind, "the scene change"
        )

    def journal(self) -> dict[str, Any]:
        fields = ("rung", "advice_id", "intensity", "ramp_s", "event", "scene", "preset", "strength")
        out = {"kind": self.kind, **{f: getattr(self, f) for f in fields if getattr(self, f) is not None}}
        if self.schedule is not None:
            out["schedule"] = msgspec.to_builtins(self.schedule)
        if self.schedule_id is not None:
            out["schedule_id"] = self.schedule_id
        return out


@dataclass
class ScheduleRecord:
    """An event schedule the renderer accepted, as the session recorded it (for the resync)."""

    request: m.StartScheduleRequest
    #: The session's running (exposure) time when it started: a restore sends the time since.
    started_running_s: float
    rung: int | None = None
    fired: int = 0

    @property
    def schedule_id(self) -> str:
        return self.request.schedule_id


@dataclass
class _Pending:
    verb: str
    sent_mono_ns: int
    content: m.Request
    intent: _Intent | None = None


# Refusals the console can explain better than by repeating the renderer's sentence: a pattern in the
# renderer's ``evalue`` -> what the therapist should do.
_ADVICE_FOR = (
    ("fading through black", "try again in a moment"),
    ("safe place", "leave the safe place first, then try again"),
    ("events fire only in a running scene", "resume the scene first, then try again"),
)
_RETRY_KEEP = 16  # refused actions kept for :meth:`ConsoleController.retry`
RUNG_RAMP_S = 2.0  # a rung's preset is approached over this ramp, never cut to


class ConsoleController:
    """One console: at most one session at a time, one link to one renderer."""

    def __init__(
        self,
        link: LinkPort | None,
        library: ContentLibrary,
        *,
        clock: Clock = SYSTEM_CLOCK,
        sessions_root: Path | None = None,
        console_name: str = "console",
        lsl: bool = False,
        physio: Any = None,
        share_session_dir: bool | None = None,
        clinician: str | None = None,
    ) -> None:
        self.link = link
        self.clinician = clinician.strip() if clinician and clinician.strip() else None
        #: Tell the renderer the session directory's path (it journals there when that path is on its
        #: own disk). None: only when the renderer is on this machine (a loopback endpoint); a renderer
        #: elsewhere journals in its own directory and the console fetches it (docs/journal.md).
        self.share_session_dir = share_session_dir
        self.fetches: dict[str, Any] = {}  # session_id -> JournalFetch
        self.fetch_chunk_bytes = 256 * 1024
        self.library = library
        self.clock = clock
        self.sessions_root = sessions_root
        self.console_name = console_name
        self.listeners: list[Listener] = []
        self.engine: eng.SessionEngine | None = None
        self.protocol: ProtocolSpec | None = None
        self.scene: SceneSpec | None = None
        self.session_dir: Path | None = None
        self.session_id: str | None = None
        self.pseudonym: str | None = None
        self.journal: Any = None
        self.renderer_state = m.RendererState()
        self.renderer_instance: str | None = None
        self.connection = "connecting"
        self.link_warning_kind: str | None = None
        """The kind of the link warning shown now (see :meth:`on_link_quality`)."""
        self.connection_since_mono_s = time.monotonic()
        self.pending: dict[str, _Pending] = {}
        self.refused: dict[str, _Intent] = {}  # retry token -> the refused action, newest last
        self.ssq: dict[str, SsqScore] = {}
        self.notes: list[tuple[float, str]] = []
        self.missed_probes: list[str] = []
        self.open_probes: dict[str, float] = {}  # probe_id -> deadline (session seconds)
        self._adhoc_probes: set[str] = set()
        self._adhoc_counter = itertools.count(1)
        self._unsent_counter = itertools.count(1)
        self._created_ns = clock.monotonic_ns()
        self._session_start_ns: int | None = None
        self._last_tick_ns = 0
        self._summary: dict[str, Any] | None = None
        self.clock_offset_ns: int | None = None
        self._safe_place_after_load = False
        self._pause_after_load = False
        self._last_sent_id: str | None = None
        # The therapist's free intensity, set after the rung's preset (None: the preset stands).
        self._free_intensity: float | None = None
        self.lsl = lsl
        self.lsl_bridge: Any = None  # an LslBridge while a session with --lsl is open
        self.physio = physio  # a PhysioInlet (its poll() never blocks), or None
        self.physio_samples = 0
        #: Event schedules the renderer runs for this session (schedule_id -> record), and those it
        #: said ended (a fact may overtake the reply to the request that started it).
        self.schedules: dict[str, ScheduleRecord] = {}
        self._schedules_ended: set[str] = set()
        # Ended by a stop_schedule whose reply has not come yet (the fact may overtake the reply).
        self._stopped_unreplied: list[str] = []
        self._schedule_counter = itertools.count(1)
        #: The strength (0-1) the therapist set for each trigger (1.0 until set).
        self.trigger_strengths: dict[str, float] = {}

    # -- listeners and time -------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def _emit(self, kind: str, **data: Any) -> None:
        event = UiEvent(kind, data)
        for listener in list(self.listeners):
            listener(event)

    def session_time_s(self, mono_ns: int | None = None) -> float:
        """Seconds since the session started (since the console started before that)."""
        now = self.clock.monotonic_ns() if mono_ns is None else mono_ns
        start = self._session_start_ns if self._session_start_ns is not None else self._created_ns
        return (now - start) / 1e9

    @property
    def active(self) -> bool:
        return self.engine is not None and self.engine.state != "ended"

    # -- sending --------------------------------------------------------------------------------------
    def _send(self, content: m.Request, intent: _Intent | None = None) -> str | None:
        if self.link is None:
            problem = "not connected to a renderer"
        else:
            try:
                msg_id = self.link.send(content)
            except VrExposureError as exc:
                problem = str(exc)
            else:
                now = self.clock.monotonic_ns()
                self.pending[msg_id] = _Pending(m.verb_of(content.msg_type), now, content, intent)
                if intent is not None:
                    self._emit("requested", token=msg_id, action=intent.kind, rung=intent.rung)
                return msg_id
        if intent is None:
            self._emit("error", message=f"{content.msg_type} was not sent: {problem}")
        else:
            self._refuse(
                _Pending(m.verb_of(content.msg_type), self.clock.monotonic_ns(), content, intent),
                None,
                ename="NotSent",
                evalue=problem,
                sentence=f"{intent.what()} was not sent: {problem} — check the connection, then try again",
            )
        return None

    def _clinical(
        self,
        msg_type: str,
        content: dict[str, Any],
        *,
        header: Any = None,
        parent: Any = None,
        t_mono_ns: int | None = None,
    ) -> None:
        """Journal a clinical record (fsynced), then hand it to the LSL outlets. ``t_mono_ns`` is the
        record's own time (an engine event's); by default the moment it is journaled."""
        if self.journal is None:
            return
        stamp_ns = self.clock.monotonic_ns() if t_mono_ns is None else t_mono_ns
        self.journal.clinical(msg_type, content, header=_plain(header), parent_header=_plain(parent))
        self._to_lsl(msg_type, content, stamp_ns)

    # -- Lab Streaming Layer --------------------------------------------------------------------------
    def _open_lsl(self) -> None:
        if not self.lsl or self.session_id is None:
            return
        try:
            from vr_exposure.lsl import LslBridge

            self.lsl_bridge = LslBridge.for_console(self.session_id)
        except Exception as exc:  # noqa: BLE001 - no liblsl, no network: the session goes on without
            log.warning("LSL outlets not started: %s", exc)
            self._emit("error", message=f"LSL streams not started (the session goes on without): {exc}")

    def _to_lsl(self, msg_type: str, content: Any, t_mono_ns: int) -> None:
        bridge = self.lsl_bridge
        if bridge is None:
            return
        try:
            bridge.on_event(msg_type, content, t_mono_ns)
        except Exception as exc:  # noqa: BLE001 - a recorder's trouble must never stop the session
            log.exception("LSL: %s not published", msg_type)
            self._close_lsl()
            self._emit("error", message=f"LSL streams stopped after an error (the session goes on): {exc}")

    def _close_lsl(self) -> None:
        bridge, self.lsl_bridge = self.lsl_bridge, None
        if bridge is not None:
            try:
                bridge.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.exception("LSL: closing the outlets failed")

    # -- physiology ------------------------------------------------------------------------------------
    def poll_physio(self) -> int:
        """Take what the physiology stream sent since the last call: journal it (``physio_samples``
        telemetry, when a session is open) and show it. Returns the number of samples."""
        inlet = self.physio
        if inlet is None:
            return 0
        try:
            batch = inlet.poll()
        except Exception as exc:  # noqa: BLE001 - a physiology device going away must not stop the session
            log.exception("physiology stream: poll failed")
            self.physio = None
            self._emit(
                "error", message=f"physiology stream {getattr(inlet, 'stream_name', '')!r} stopped: {exc}"
            )
            return 0
        n = len(batch)
        if n == 0:
            return 0
        from vr_exposure.lsl import PHYSIO_MSG_TYPE

        self._telemetry(PHYSIO_MSG_TYPE, batch.journal_content())
        self.physio_samples += n
        start_ns = self._session_start_ns if self._session_start_ns is not None else self._created_ns
        self._emit(
            "physio",
            stream=batch.stream,
            channels=tuple(batch.channels),
            t_s=(batch.t_mono_ns - start_ns) / 1e9,
            values=batch.values,
        )
        return n

    def close_physio(self) -> None:
        inlet, self.physio = self.physio, None
        if inlet is not None:
            try:
                inlet.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.exception("physiology stream: closing failed")

    def _renderer_time_ns(self, header: m.Header | None) -> int:
        """A renderer fact's time on this console's clock: its send stamp less the measured clock
        offset; the time it arrived when either is unknown."""
        sent = getattr(header, "sent_mono_ns", None)
        if isinstance(sent, int) and sent > 0 and self.clock_offset_ns is not None:
            return sent - self.clock_offset_ns
        return self.clock.monotonic_ns()

    def _telemetry(self, msg_type: str, content: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.telemetry(msg_type, content)

    def _engine_events(self, events: list[eng.SessionEvent], *, header: Any = None) -> None:
        """Journal every engine event (fsynced), then act on it and tell the listeners."""
        for event in events:
            self._clinical(event.msg_type, event.content(), parent=header, t_mono_ns=event.t_mono_ns)
        for event in events:
            self._on_engine_event(event)

    # -- session --------------------------------------------------------------------------------------
    def start_session(
        self, pseudonym: str, *, protocol_id: str | None = None, scene_id: str | None = None
    ) -> Path:
        """Create the session directory and journal and tell the renderer to journal there too.
        The exposure begins with :meth:`begin_exposure` (after the SSQ before, if used)."""
        from vr_exposure.journal import JournalWriter, create_session, sessions_root

        if self.active:
            raise ControllerError("a session is already running; end it first")
        pseudonym = pseudonym.strip()
        if not pseudonym:
            raise ControllerError("a patient pseudonym is needed to start a session")
        protocol = self.library.protocol(protocol_id) if protocol_id else None
        scene_name = protocol.scene if protocol is not None else scene_id
        if scene_name is None:
            raise ControllerError("choose a protocol, or a scene for a free session")
        scene = self.library.scene(scene_name)
        root = self.sessions_root if self.sessions_root is not None else sessions_root()
        root.mkdir(parents=True, exist_ok=True)
        session_dir: Path = create_session(
            root,
            pseudonym=pseudonym,
            protocol=None if protocol is None else protocol.id,
            scene=scene.id,
            software_version=__version__,
            clock=self.clock,
        )
        if self.journal is not None:
            self.close_session()  # the previous session ended but was not closed: seal it first
        self.journal = JournalWriter(session_dir, process="console", clock=self.clock)
        self.session_dir = session_dir
        self.session_id = session_dir.name
        self._open_lsl()
        self.pseudonym = pseudonym
        self.protocol = protocol
        self.scene = scene
        self.engine = eng.SessionEngine(protocol, scene, self.clock)
        self._session_start_ns = self.clock.monotonic_ns()
        self.ssq.clear()
        self.notes.clear()
        self.missed_probes.clear()
        self.open_probes.clear()
        self._summary = None
        self._free_intensity = None
        self._pause_after_load = self._safe_place_after_load = False
        self._clinical(
            "console_session_opened",
            {
                "session_id": self.session_id,
                "pseudonym": pseudonym,
                "protocol": None if protocol is None else protocol.id,
                "scene": scene.id,
                "console": self.console_name,
                "software_version": __version__,
                **({"clinician": self.clinician} if self.clinician else {}),
            },
        )
        if self.clock_offset_ns is not None:
            self._journal_clock_offset(self.clock_offset_ns, None)
        self._send_session()
        self._emit("session", state="opened", session_dir=str(session_dir), session_id=self.session_id)
        return session_dir

    def _shares_disk(self) -> bool:
        if self.share_session_dir is not None:
            return self.share_session_dir
        from vr_exposure.link.security import is_loopback_endpoint

        endpoint = getattr(self.link, "command_endpoint", None)
        return not isinstance(endpoint, str) or is_loopback_endpoint(endpoint)

    def _send_session(self) -> None:
        if self.session_id is None:
            return
        shared = self.session_dir is not None and self._shares_disk()
        self._send(
            m.SetSessionRequest(
                session_id=self.session_id,
                session_dir=str(self.session_dir) if shared else None,
                pseudonym=self.pseudonym or "",
            )
        )

    def journal_clinical(self, msg_type: str, content: dict[str, Any], *, parent: Any = None) -> None:
        """Write a clinical record of the open session (fsynced before this returns); ``parent``: the
        header of the request it follows from."""
        if self.journal is None:
            raise ControllerError("no session: start one first")
        self._clinical(msg_type, content, parent=parent)

    def prepare_rung(self, index: int) -> None:
        """Before the exposure begins: the rung it begins on (default the first). The scene is loaded
        on it by :meth:`begin_exposure`; nothing is sent now."""
        engine = self._engine()
        if engine.state != "idle":
            raise ControllerError("the exposure has begun; change the rung with apply_rung")
        self._engine_events(engine.set_rung(index))

    def begin_exposure(self) -> None:
        """Load the scene on the first rung (or the scene at intensity 0 for a free session) and start."""
        engine = self._engine()
        if self.protocol is not None and engine.rung is None:
            self._engine_events(engine.set_rung(0))
        self._send_scene()
        self._engine_events(engine.start())
        self._start_rung_schedules()

    def _send_scene(self) -> m.LoadSceneRequest:
        engine = self._engine()
        assert self.scene is not None
        preset = self._current_preset() if self._free_intensity is None else None
        request = m.LoadSceneRequest(scene=self.scene.id, preset=preset, intensity=engine.intensity)
        self._last_sent_id = self._send(request)
        return request

    def _current_rung_intensity(self) -> float | None:
        """The current rung's own intensity (a patient's rung, a hotspot); None: its preset's."""
        engine = self.engine
        if engine is None or self.protocol is None or engine.rung is None:
            return None
        return self.protocol.ladder[engine.rung].intensity

    def _current_preset(self) -> str | None:
        engine = self.engine
        if engine is None or self.protocol is None or engine.rung is None:
            return None
        return self.protocol.ladder[engine.rung].preset

    def end_session(self, reason: str = "completed") -> dict[str, Any]:
        """End the exposure: the renderer goes to the safe place, open probes are marked missed, the
        summary is journaled, the journal closed and the session sealed. Returns the summary."""

        engine = self._engine()
        for probe_id in list(self.open_probes):
            self._send(m.SudsPromptCancelRequest(probe_id=probe_id))
        self._send(m.SafePlaceRequest(fade_s=None))
        if engine.state != "ended":
            self._engine_events(engine.end(reason))
        summary = self.summary()
        self._clinical("session_summary", summary)
        self._emit("session", state="ended", session_dir=str(self.session_dir), summary=summary)
        self._summary = summary
        return summary

    def close_session(self) -> Path | None:
        """Close the journal and seal the directory (after :meth:`end_session`, or on quitting)."""
        from vr_exposure.journal import seal_session

        session_dir = self.session_dir
        if self.engine is not None and self.engine.state != "ended":
            self.end_session("console closed")
        self._close_lsl()
        if self.journal is not None:
            self.journal.close()
            self.journal = None
            if session_dir is not None:
                seal_session(session_dir)
                self._fetch_if_awaiting(session_dir)
        return session_dir

    # -- the renderer's journal from another machine -----------------------------------------------
    def _fetch_if_awaiting(self, session_dir: Path) -> None:
        """Fetch the renderer's files of a session it journaled on its own disk (see
        :mod:`vr_exposure.console.journal_fetch`)."""
        from vr_exposure.console.journal_fetch import JournalFetch
        from vr_exposure.journal import read_manifest

        try:
            if "renderer" not in read_manifest(session_dir).awaiting:
                return
        except VrExposureError as exc:
            self._emit("error", message=f"journal fetch: {exc}")
            return
        session_id = session_dir.name
        running = self.fetches.get(session_id)
        if running is not None and not running.finished:
            return
        fetch = JournalFetch(
            session_id, session_dir, self._send, self._on_fetch_progress, chunk_bytes=self.fetch_chunk_bytes
        )
        self.fetches[session_id] = fetch
        fetch.start()

    def resume_fetches(self) -> None:
        """After (re)connecting: every session under the sessions root still awaiting the renderer's
        journal (a crash, a link that dropped mid-transfer) is fetched, oldest first."""
        from vr_exposure.console.journal_fetch import sessions_awaiting
        from vr_exposure.journal import sessions_root

        root = self.sessions_root if self.sessions_root is not None else sessions_root()
        if not root.is_dir():
            return
        for session_dir in sessions_awaiting(root):
            if session_dir.name != self.session_id or not self.active:
                self._fetch_if_awaiting(session_dir)

    def _on_fetch_progress(self, state: str, data: dict[str, Any]) -> None:
        self._emit("journal_fetch", state=state, **data)
        if state == "failed":
            self._emit("error", message=f"the renderer's journal of {data['session_id']}: {data['message']}")

    @property
    def fetching(self) -> bool:
        return any(not f.finished for f in self.fetches.values())

    def summary(self) -> dict[str, Any]:
        engine = self._engine()
        metrics = engine.metrics(label=self.session_id or "", pseudonym=self.pseudonym)
        s = engine.summary()
        return {
            "session_id": self.session_id,
            "session_dir": None if self.session_dir is None else str(self.session_dir),
            "pseudonym": self.pseudonym,
            "protocol": None if self.protocol is None else self.protocol.id,
            "running_s": s.running_s,
            "elapsed_s": s.elapsed_s,
            "ratings": s.ratings,
            "probes_issued": s.probes_issued,
            "probes_answered": s.probes_answered,
            "probes_missed": s.probes_missed,
            "ssq": {phase: msgspec.to_builtins(score) for phase, score in self.ssq.items()},
            "notes": len(self.notes),
            "metrics": msgspec.to_builtins(metrics),
            "ratings_outside_exposure": sum(not r.during_exposure for r in engine.ratings),
            "table": summary_table(metrics, self.protocol, ratings=engine.ratings),
        }

    # -- steering -------------------------------------------------------------------------------------
    # Each of these only sends a request; the session follows when the renderer accepts it (on_reply).
    def set_intensity(self, intensity: float, ramp_s: float = 1.0) -> str | None:
        """Ask for ``intensity`` (0-100) with a ramp. Returns the request's msg_id (None if not sent)."""
        intensity = max(0.0, min(100.0, float(intensity)))
        ramp_s = max(0.0, ramp_s)
        intent = _Intent("intensity", intensity=intensity, ramp_s=ramp_s)
        return self._send(m.SetIntensityRequest(intensity=intensity, ramp_s=ramp_s), intent)

    def apply_rung(self, index: int) -> str | None:
        """Ask for ladder rung ``index`` (0-based); the session moves to it when the renderer accepts."""
        engine = self._engine()
        if self.protocol is None:
            raise ControllerError("this free session has no fear ladder")
        if engine.state not in eng.LIVE_STATES:
            raise ControllerError(f"the session has {engine.state}; the rung can no longer change")
        size = len(self.protocol.ladder)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            raise ControllerError(f"rung {index!r} is not on this ladder (0-{size - 1})")
        preset = self.protocol.ladder[index].preset
        return self._request(_Intent("rung", rung=index, preset=preset, ramp_s=RUNG_RAMP_S))

    def retry(self, token: str) -> str | None:
        """Send a refused action again (the one-click retry; ``token`` from its ``refused`` event).
        Returns the new request's msg_id."""
        intent = self.refused.pop(token, None)
        if intent is None:
            raise ControllerError("that action can no longer be retried (it was retried or is too old)")
        if intent.kind == "rung" and not self.active:
            raise ControllerError("no session is running: the rung can no longer change")
        return self._request(intent)

    def _request(self, intent: _Intent) -> str | None:
        ramp_s = RUNG_RAMP_S if intent.ramp_s is None else intent.ramp_s
        if intent.kind == "rung":
            assert intent.preset is not None
            # A rung with its own intensity (a patient's rung, a hotspot) gets it once the renderer
            # applied the preset (see _accepted), so a refused preset leaves no intensity behind.
            return self._send(m.ApplyPresetRequest(preset=intent.preset, ramp_s=ramp_s), intent)
        if intent.kind == "intensity":
            assert intent.intensity is not None
            return self._send(m.SetIntensityRequest(intensity=intent.intensity, ramp_s=ramp_s), intent)
        if intent.kind == "event":
            assert intent.event is not None
            strength = 1.0 if intent.strength is None else intent.strength
            return self._send(m.TriggerEventRequest(event=intent.event, strength=strength), intent)
        if intent.kind == "schedule":
            assert intent.schedule is not None
            return self._send(intent.schedule, intent)
        if intent.kind == "unschedule":
            return self._send(m.StopScheduleRequest(schedule_id=intent.schedule_id), intent)
        assert intent.scene is not None
        intensity = self.engine.intensity if self.engine is not None else 0.0
        request = m.LoadSceneRequest(scene=intent.scene, preset=intent.preset, intensity=intensity)
        return self._send(request, dataclasses.replace(intent, intensity=intensity))

    def load_scene(self, scene_id: str, preset: str | None = None) -> str | None:
        """A free session switches scene; with a protocol the scene is the protocol's."""
        scene = self.library.scene(scene_id)
        if self.protocol is not None and scene.id != self.protocol.scene:
            raise ControllerError(f"protocol {self.protocol.id} uses scene {self.protocol.scene}")
        return self._request(_Intent("scene", scene=scene.id, preset=preset))

    def trigger_event(self, name: str, strength: float | None = None) -> str | None:
        """Fire event ``name`` at ``strength`` (0-1; default: the strength set for it, else 1)."""
        if strength is None:
            strength = self.trigger_strengths.get(name, 1.0)
        return self._request(_Intent("event", event=name, strength=_strength(strength)))

    # -- event schedules and trigger strengths -------------------------------------------------------
    def set_trigger_strength(self, name: str, strength: float) -> None:
        """The loudness or nearness (0-1) the next firings of ``name`` get, from the panel's slider:
        journaled (``trigger_strength_set``) as the therapist's setting."""
        strength = _strength(strength)
        if self.trigger_strengths.get(name, 1.0) == strength:
            return
        self.trigger_strengths[name] = strength
        if self.journal is not None:
            content = {"event": name, "strength": strength, "session_s": self.session_time_s()}
            self._clinical("trigger_strength_set", content)
        self._emit("trigger_strength", event=name, strength=strength)

    def start_schedule(
        self,
        event: str,
        *,
        every_s: tuple[float, float] | None = None,
        at_s: float | None = None,
        strength: float | None = None,
        scope: m.ScheduleScope = "session",
        schedule_id: str | None = None,
    ) -> str | None:
        """Ask the renderer to fire ``event`` by itself: at random with each wait in ``every_s``
        (``[lo, hi]`` seconds), or once ``at_s`` seconds from now. ``scope`` ``session``: until the
        therapist stops it (or the safe place, a stop, another scene); ``rung``: until the rung changes.
        Recorded (``event_schedule_started``) once the renderer accepts it."""
        if (every_s is None) == (at_s is None):
            raise ControllerError("give a repeat window (every_s) or one time (at_s), not both")
        if every_s is not None and not 0.1 <= every_s[0] <= every_s[1]:
            raise ControllerError(
                f"the repeat window {every_s[0]:g}-{every_s[1]:g} s must run from at least 0.1 s "
                "up to a longer or equal time"
            )
        if strength is None:
            strength = self.trigger_strengths.get(event, 1.0)
        sid = (
            schedule_id or f"{'own' if scope == 'session' else 'rung'}-{event}-{next(self._schedule_counter)}"
        )
        request = m.StartScheduleRequest(
            schedule_id=sid,
            event=event,
            every_s=None if every_s is None else (float(every_s[0]), float(every_s[1])),
            at_s=None if at_s is None else float(at_s),
            strength=_strength(strength),
            scope=scope,
        )
        return self._request(_Intent("schedule", event=event, schedule=request, strength=request.strength))

    def stop_schedule(self, schedule_id: str) -> str | None:
        """Stop one running schedule (``event_schedule_stopped`` once the renderer accepts)."""
        return self._request(_Intent("unschedule", schedule_id=schedule_id))

    def stop_all_schedules(self) -> str | None:
        """ "Stop all scheduled": every schedule the renderer runs, the rung's and the therapist's."""
        return self._request(_Intent("unschedule"))

    def _running_s(self) -> float:
        return self.engine.running_s if self.engine is not None else 0.0

    def _start_rung_schedules(self) -> None:
        """The current rung's ``schedule`` from the protocol, started now (the rung was applied)."""
        engine = self.engine
        if self.protocol is None or engine is None or engine.rung is None:
            return
        rung = self.protocol.ladder[engine.rung]
        for item in rung.schedule:
            sid = f"rung{engine.rung + 1}-{item.event}-{next(self._schedule_counter)}"
            self.start_schedule(
                item.event, every_s=item.every_s, at_s=item.at_s, strength=item.strength, scope="rung",
                schedule_id=sid,
            )  # fmt: skip

    def _on_schedule_fact(self, fact: m.Content) -> None:
        """The renderer's word on its schedules: a firing counted, a schedule ended, or every one
        ended by the safe place or a stop."""
        if isinstance(fact, m.EventFired) and fact.schedule_id is not None:
            record = self.schedules.get(fact.schedule_id)
            if record is not None:
                record.fired += 1
        elif isinstance(fact, m.ScheduleEnded):
            if fact.reason != "replaced":
                self._schedules_ended.add(fact.schedule_id)
                if self.schedules.pop(fact.schedule_id, None) is not None and fact.reason == "stopped":
                    self._stopped_unreplied.append(fact.schedule_id)
        elif isinstance(fact, m.SafePlaceEntered | m.Stopped):
            self._forget_schedules()
        else:
            return
        self._emit("schedules", schedules=list(self.schedules.values()))

    def _forget_schedules(self) -> None:
        self._schedules_ended.update(self.schedules)
        self.schedules.clear()

    def _resync_schedules(self, state: m.RendererState, *, restarted: bool) -> None:
        """After a real reconnection: a restarted renderer gets back every schedule the session
        recorded as running (with the running time since each started); the same renderer is the
        authority on those that ended meanwhile, and one it runs that the session stopped is stopped."""
        running = {s.schedule_id for s in state.schedules}
        for record in list(self.schedules.values()):
            if record.schedule_id in running:
                continue
            if not restarted:
                self._forget_one(record.schedule_id)
                continue
            elapsed = max(0.0, self._running_s() - record.started_running_s)
            request = msgspec.structs.replace(record.request, elapsed_s=round(elapsed, 3))
            intent = _Intent(
                "schedule", event=request.event, schedule=request, strength=request.strength,
                started_s=record.started_running_s,
            )  # fmt: skip
            self._last_sent_id = self._request(intent)
            self._journal_resync(request, state)
        if not restarted:
            for sid in running - set(self.schedules):
                stop = m.StopScheduleRequest(schedule_id=sid)
                self._last_sent_id = self._send(stop)
                self._journal_resync(stop, state)
        self._emit("schedules", schedules=list(self.schedules.values()))

    def _forget_one(self, schedule_id: str) -> None:
        self.schedules.pop(schedule_id, None)
        self._schedules_ended.add(schedule_id)

    def safe_place(self) -> None:
        """One action, any state, never blocked: the request goes out before anything else happens."""
        fade_s = self.protocol.safe_place.fade_s if self.protocol is not None else None
        self._send(m.SafePlaceRequest(fade_s=fade_s))
        self._clinical("safe_place_requested", {"by": "therapist", "session_s": self.session_time_s()})

    def leave_safe_place(self) -> None:
        self._send(m.LeaveSafePlaceRequest())
        self._clinical("leave_safe_place_requested", {"by": "therapist"})

    def pause(self) -> None:
        self._send(m.PauseRequest())

    def resume(self) -> None:
        self._send(m.ResumeRequest())

    def recenter(self) -> None:
        """Recentre the patient's view (seated use); the renderer journals ``view_recentered``."""
        self._send(m.RecenterRequest())
        self._clinical("recenter_requested", {})

    def stop(self, reason: str = "therapist stop") -> None:
        self._send(m.StopRequest(reason=reason))
        self._clinical("stop_requested", {"reason": reason})

    # -- SUDS, notes, SSQ -----------------------------------------------------------------------------
    def record_suds(self, value: float, *, source: str = "therapist", probe_id: str | None = None) -> None:
        engine = self._engine()
        engine_probe = probe_id if probe_id in {p.probe_id for p in engine.probes} else None
        events = engine.record_rating(value, scale_max=100, source=source, probe_id=engine_probe)
        self._engine_events(events)
        # A rating typed at the console answers the prompt in the headset too: close it there.
        for event in events:
            if isinstance(event, eng.RatingRecorded) and event.probe_id in self.open_probes:
                self.open_probes.pop(event.probe_id, None)
                self._send(m.SudsPromptCancelRequest(probe_id=event.probe_id))

    def withdraw_suds(self, t_mono_ns: int) -> None:
        """Take back the rating recorded at ``t_mono_ns`` (the therapist's undo after it was
        recorded): journaled as ``rating_corrected``; it no longer counts."""
        self._engine_events(self._engine().withdraw_rating(t_mono_ns, by="therapist"))

    def prompt_suds(self) -> str:
        """Ask the patient now (outside the schedule); the answer arrives as ``rating_recorded``."""
        probe_id = f"ask-{next(self._adhoc_counter)}"
        self._adhoc_probes.add(probe_id)
        scale = self._engine().scale_max if self.engine is not None else 100
        self._send(m.SudsPromptRequest(probe_id=probe_id, scale_max=scale))
        self._clinical("suds_prompt_sent", {"probe_id": probe_id, "scheduled": False})
        return probe_id

    def add_note(self, text: str) -> None:
        t_s = self.session_time_s()
        self._clinical("note", {"text": text, "session_s": t_s})
        self.notes.append((t_s, text))
        self._emit("note", t_s=t_s, text=text)

    def record_ssq(self, phase: str, answers: list[int]) -> SsqScore:
        if phase not in ("before", "after"):
            raise ControllerError(f"SSQ phase must be 'before' or 'after', not {phase!r}")
        score = score_ssq(answers)
        self._clinical("ssq", {"phase": phase, **msgspec.to_builtins(score)})
        self.ssq[phase] = score
        self._emit("ssq", phase=phase, score=score)
        return score

    # -- advice ---------------------------------------------------------------------------------------
    def accept_advice(self, advice_id: str) -> str | None:
        """The therapist takes the advice: its rung is requested; the engine records the acceptance
        and the new rung when the renderer accepts the preset (a refusal leaves the advice pending)."""
        engine = self._engine()
        record = next((a for a in engine.advice if a.advice.advice_id == advice_id), None)
        if record is None:
            raise ControllerError(f"advice: no advice {advice_id!r} was given in this session")
        if record.status != "pending":
            raise ControllerError(f"advice {advice_id} was already {record.status}; it cannot be accepted")
        advice = record.advice
        if advice.rung_from != engine.rung:
            raise ControllerError(
                f"advice {advice_id} was for rung {advice.rung_from + 1}; the session is on another rung"
            )
        assert self.protocol is not None
        preset = self.protocol.ladder[advice.rung_to].preset
        intent = _Intent("rung", rung=advice.rung_to, advice_id=advice_id, preset=preset, ramp_s=RUNG_RAMP_S)
        return self._request(intent)

    def dismiss_advice(self, advice_id: str, note: str = "") -> None:
        self._engine_events(self._engine().dismiss_advice(advice_id, note))

    # -- time -----------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Call a few times a second from the main loop: probes come due or are missed, advice on time."""
        if self.engine is None or self.engine.state == "ended":
            return
        self._engine_events(self.engine.tick())
        self._emit("tick", session_s=self.session_time_s())

    def next_probe_in_s(self) -> float | None:
        engine = self.engine
        if engine is None or engine.state == "ended":
            return None
        s = engine.summary()
        if s.next_probe_running_s is None:
            return None
        return max(0.0, s.next_probe_running_s - engine.running_s)

    def open_probe_left_s(self) -> float | None:
        engine = self.engine
        if engine is None or not engine.pending_probes:
            return None
        probe = engine.pending_probes[0]
        return max(0.0, probe.deadline_running_s - engine.running_s)

    # -- from the link --------------------------------------------------------------------------------
    def on_connection(self, state: str, message: str = "", since_mono_s: float | None = None) -> None:
        """The link's state changed: connecting, connected, degraded, lost, or error (with a message).
        ``since_mono_s`` (``time.monotonic()``) is when the renderer was last heard, for the banner."""
        previous = self.connection
        if state == previous and not message:
            return
        self.connection = state
        self.connection_since_mono_s = time.monotonic() if since_mono_s is None else since_mono_s
        self._clinical("link_status", {"state": state, "previous": previous, "message": message})
        self._emit("connection", state=state, previous=previous, message=message, since_mono_s=since_mono_s)

    def on_link_quality(self, quality: LinkQuality) -> None:
        """The link's measured round trip and loss (about once a second). A warning that appears or
        clears is journaled: a researcher reading a session sees when the link was bad."""
        # Only a change of kind is journaled: a degraded warning's seconds count up every tick.
        if quality.warning_kind != self.link_warning_kind:
            self.link_warning_kind = quality.warning_kind
            self._clinical(
                "link_warning",
                {"kind": quality.warning_kind, "warning": quality.warning,
                 "round_trip_ms": quality.round_trip_ms, "late_share": round(quality.late_share, 4)},
            )  # fmt: skip
        self._emit(
            "link_quality",
            round_trip_ms=quality.round_trip_ms,
            round_trip_p95_ms=quality.round_trip_p95_ms,
            late_share=quality.late_share,
            telemetry_loss=quality.telemetry_loss,
            warning=quality.warning,
        )

    def on_mirror(self, state: m.RendererState) -> None:
        """A newer renderer state with the link never dropped (a resync after a lost fact): the
        mirror follows, and so does the session's mode (the fact that moved it, a safe place or a
        pause, may be the one lost); nothing is sent, since the renderer kept every command."""
        if state == self.renderer_state:
            return
        previous_mode, self.renderer_state = self.renderer_state.mode, state
        if state.mode != previous_mode:
            self._expire_refusals(previous_mode, state.mode)
            if state.mode in ("safe_place", "running", "paused"):
                source = "link_lost" if state.link == "lost" else "console"
                self._reconcile_mode(state.mode, source=source)
        self._emit("renderer_state", state=state)
        self._emit("intensity", current=state.intensity, target=state.target_intensity)

    def on_snapshot(self, state: m.RendererState, instance_id: str | None = None) -> None:
        """A snapshot after first contact or a real reconnection: the renderer's state replaces the
        mirror; then the session is reconciled with it (a restarted renderer is told the session,
        scene, rung or free intensity, and pause)."""
        restarted = instance_id is not None and self.renderer_instance not in (None, instance_id)
        if instance_id is not None:
            self.renderer_instance = instance_id
        lost_events = tuple(self.renderer_state.active_events) if restarted else ()
        self.renderer_state = state
        self._emit("renderer_state", state=state)
        self._emit("intensity", current=state.intensity, target=state.target_intensity)
        try:
            self.resume_fetches()
        except VrExposureError as exc:  # a damaged old session must not stop this one
            self._emit("error", message=f"journal fetch: {exc}")
        if self.engine is None or self.engine.state in ("idle", "ended"):
            return
        if restarted:
            self._clinical(
                "renderer_restarted", {"instance_id": instance_id, "events_not_restored": list(lost_events)}
            )
        if state.session_id != self.session_id:
            self._send_session()
        exposure_scene = self.scene.id if self.scene else None
        if state.mode in ("safe_place", "stopped"):
            self._forget_schedules()  # the renderer ended every schedule there
            self._emit("schedules", schedules=[])
        if state.mode == "safe_place":
            # The renderer is in the safe place (the patient's choice, or it lost us): stay there.
            self._reconcile_mode("safe_place", source="link_lost" if state.link == "lost" else "console")
            self._journal_view_kept(state, exposure_scene)
            return
        if state.mode == "stopped":
            # Stopped (black) on purpose: the renderer refuses load_scene there, and taking the
            # patient back into the exposure is the therapist's decision, never the reconcile's.
            self._journal_view_kept(state, exposure_scene)
            self._emit(
                "error",
                message="the renderer is stopped (the patient sees black); the scene was not reloaded. "
                "Send the safe place to go on, or end the session",
            )
            return
        if state.scene != exposure_scene or state.mode == "idle":
            request = self._send_scene()
            if self.engine.state == "safe_place":
                # The patient was in the safe place when contact was lost and the renderer restarted:
                # back to the safe place as soon as the scene is there to return to.
                self._safe_place_after_load = True
            elif self.engine.state == "paused":
                self._pause_after_load = True
            self._journal_resync(request, state, paused=self.engine.state == "paused")
            # Sent after the load_scene, so the renderer starts them in the scene loaded again.
            self._resync_schedules(m.RendererState(), restarted=True)
            return
        self._reconcile_mode(state.mode, source="console")
        self._resync_steering(state)
        self._resync_schedules(state, restarted=restarted)

    def _journal_view_kept(self, state: m.RendererState, session_scene: str | None) -> None:
        """After a reconnect the renderer is left where it is (safe place, stopped): what it shows is
        journaled (``renderer_view_kept``) next to what the session would show."""
        engine = self.engine
        self._clinical(
            "renderer_view_kept",
            {
                "renderer_mode": state.mode,
                "renderer_scene": state.scene,
                "renderer_preset": state.preset,
                "renderer_intensity": state.intensity,
                "session_scene": session_scene,
                "rung": None if engine is None else engine.rung,
                "intensity": None if engine is None else engine.intensity,
            },
        )

    def _resync_steering(self, state: m.RendererState) -> None:
        """After a real reconnection to the same renderer: a rung or intensity request whose reply
        was lost with the contact is recorded as failed (``command_failed``, Timeout) but may have been
        applied just before. The session's record stands: the renderer is set back to the rung's
        preset, or to the free intensity the therapist set after it, and that is journaled
        (``renderer_resynced``, with the request sent) so the two journals still read the same."""
        engine = self.engine
        if engine is None or state.mode not in ("running", "paused"):
            return
        in_flight = {p.intent.kind for p in self.pending.values() if p.intent is not None}
        if in_flight & {"rung", "intensity", "scene"}:
            return  # the renderer's answer to those will settle it
        request: m.Request
        wanted = self._current_preset() if self._free_intensity is None else None
        own = self._current_rung_intensity() if wanted is not None else None
        if wanted is not None and own is not None:
            # A rung with its own intensity (a patient's rung, a hotspot): its preset, then that
            # intensity, which leaves the preset on the renderer; in agreement when it shows that.
            if state.preset in (None, wanted) and abs(state.target_intensity - own) < 0.5:
                return
            request = m.ApplyPresetRequest(preset=wanted, ramp_s=RUNG_RAMP_S)
            self._last_sent_id = self._send(request)
            self._journal_resync(request, state)
            request = m.SetIntensityRequest(intensity=own, ramp_s=RUNG_RAMP_S)
        elif wanted is not None:
            if state.preset == wanted:
                return
            request = m.ApplyPresetRequest(preset=wanted, ramp_s=RUNG_RAMP_S)
        elif state.preset is not None or abs(state.target_intensity - engine.intensity) >= 0.5:
            request = m.SetIntensityRequest(intensity=engine.intensity, ramp_s=RUNG_RAMP_S)
        else:
            return
        self._last_sent_id = self._send(request)
        self._journal_resync(request, state)

    def _journal_resync(self, request: m.Request, state: m.RendererState, *, paused: bool = False) -> None:
        engine = self._engine()
        content = {
            "request": request.msg_type,
            "msg_id": self._last_sent_id,
            "sent": msgspec.to_builtins(request),
            "then_pause": paused,
            "rung": engine.rung,
            "preset": self._current_preset() if self._free_intensity is None else None,
            "intensity": engine.intensity,
            "free_intensity": self._free_intensity is not None,
            "renderer_scene": state.scene,
            "renderer_preset": state.preset,
            "renderer_target_intensity": state.target_intensity,
            "renderer_mode": state.mode,
        }
        self._clinical("renderer_resynced", content)
        self._emit(
            "resynced",
            message="The headset was set back to what the session recorded after contact returned "
            f"({_steering_words(request)}).",
            request=request.msg_type,
        )

    def on_fact(self, fact: m.Content, header: m.Header | None = None) -> None:
        """A fact the renderer published (in order, after any snapshot)."""
        previous_mode = self.renderer_state.mode
        self.renderer_state = m.apply_fact(self.renderer_state, fact)
        if self.renderer_state.mode != previous_mode:
            self._expire_refusals(previous_mode, self.renderer_state.mode)
        if not isinstance(fact, m.StateChanged):
            # The renderer journals its facts (a full state is not one); they are markers here too.
            self._to_lsl(fact.msg_type, msgspec.to_builtins(fact), self._renderer_time_ns(header))
        t_s = self.session_time_s()
        if isinstance(fact, m.SceneLoaded) and self._safe_place_after_load:
            self._safe_place_after_load = False
            self._send(m.SafePlaceRequest(fade_s=0.0))
        if isinstance(fact, m.SceneLoaded) and self._pause_after_load:
            self._pause_after_load = False
            self._send(m.PauseRequest())
        if isinstance(fact, m.EventFired | m.ScheduleEnded | m.SafePlaceEntered | m.Stopped):
            self._on_schedule_fact(fact)
        if isinstance(fact, m.RatingRecorded):
            self._on_headset_rating(fact, header)
        elif isinstance(fact, m.IntensityChanged):
            self._emit("intensity", current=fact.intensity, target=fact.target)
        elif isinstance(fact, m.PresetApplied | m.SceneLoaded):
            self._emit(
                "intensity",
                current=self.renderer_state.intensity,
                target=self.renderer_state.target_intensity,
            )
        elif isinstance(fact, m.StateChanged):
            self._emit("intensity", current=fact.state.intensity, target=fact.state.target_intensity)
        elif isinstance(fact, m.EventFired):
            self._emit(
                "event_fired", t_s=t_s, event=fact.event, strength=fact.strength, schedule_id=fact.schedule_id
            )
        elif isinstance(fact, m.SafePlaceEntered):
            self._reconcile_mode("safe_place", source=fact.source, header=header)
        elif isinstance(fact, m.SafePlaceLeft | m.Resumed):
            self._reconcile_mode("running", header=header)
        elif isinstance(fact, m.Paused):
            self._reconcile_mode("paused", header=header)
        elif isinstance(fact, m.HeadsetChanged):
            # The patient cannot see a prompt with the headset off: its response window waits.
            if self.engine is not None and self.engine.state != "ended":
                self._engine_events(self.engine.headset(fact.status == "worn", fact.reason), header=header)
            self._emit("headset", status=fact.status, reason=fact.reason)
        elif isinstance(fact, m.SudsPromptClosed) and fact.reason == "timeout":
            self._emit("prompt_closed", probe_id=fact.probe_id, reason=fact.reason)
        self._emit("renderer_state", state=self.renderer_state)
        self._emit("fact", t_s=t_s, fact=fact)

    def on_telemetry(self, item: m.Content) -> None:
        if isinstance(item, m.ViewImage):
            self._emit("view_image", jpeg=item.jpeg, width=item.width, height=item.height)
        elif isinstance(item, m.FrameTiming):
            self._telemetry("frame_timing_seen", msgspec.to_builtins(item))
            self._emit("frame_timing", timing=item)
        elif isinstance(item, m.HeadPose):
            self._emit("head_pose", pose=item)
        elif isinstance(item, m.StimulusPositions):
            self._emit("stimulus_positions", positions=item)

    def on_reply(self, reply: m.Reply, parent_msg_id: str | None, parent_header: Any = None) -> None:
        """The renderer answered a request. ``parent_header`` is the request's header as the reply
        carries it (it links the console's record to the renderer's fact in the journals)."""
        if any(f.on_reply(parent_msg_id, reply) for f in list(self.fetches.values())):
            self.pending.pop(parent_msg_id or "", None)
            return
        pending = self.pending.pop(parent_msg_id or "", None)
        verb = pending.verb if pending is not None else m.verb_of(reply.msg_type)
        parent = self._parent(pending, parent_msg_id, parent_header)
        if isinstance(reply, m.SetSessionReply) and reply.ok:
            self._on_session_set(reply, parent)
        if reply.status != "ok":
            if pending is not None and pending.intent is not None:
                self._refuse(pending, parent_msg_id, ename=reply.ename, evalue=reply.evalue, parent=parent)
                return
            message = f"the renderer refused {verb.replace('_', ' ')}: {reply.evalue or reply.ename}"
            self._clinical(
                "command_failed", {"verb": verb, "ename": reply.ename, "evalue": reply.evalue}, parent=parent
            )
            self._emit("error", message=message, verb=verb, ename=reply.ename)
            return
        if pending is not None and pending.intent is not None:
            self._accepted(pending.intent, parent)
        self._emit("reply", verb=verb)

    def on_command_failed(self, parent_msg_id: str | None, message: str) -> None:
        """The link gave up on a command (no reply after its retries; the renderer will not apply it
        late: the request carried a deadline)."""
        if any(f.on_failed(parent_msg_id, message) for f in list(self.fetches.values())):
            self.pending.pop(parent_msg_id or "", None)
            return
        pending = self.pending.pop(parent_msg_id or "", None)
        parent = self._parent(pending, parent_msg_id, None)
        if pending is not None and pending.intent is not None:
            self._refuse(pending, parent_msg_id, ename="Timeout", evalue=message, parent=parent)
            return
        verb = pending.verb if pending is not None else "a command"
        self._clinical("command_failed", {"verb": verb, "ename": "Timeout", "evalue": message}, parent=parent)
        self._emit("error", message=f"{verb.replace('_', ' ')}: {message}", verb=verb, ename="Timeout")

    def _on_session_set(self, reply: m.SetSessionReply, parent: Any) -> None:
        """Where the renderer journals: in our directory, or on its own disk (then we fetch it)."""
        from vr_exposure.journal.transfer import set_awaiting

        if self.session_dir is None or not self.active:
            return
        remote = not reply.shared
        try:
            set_awaiting(self.session_dir, "renderer", remote)
        except VrExposureError as exc:
            self._emit("error", message=f"the session's manifest: {exc}")
        self._clinical(
            "renderer_journal",
            {"shared": reply.shared, "renderer_session_dir": reply.session_dir},
            parent=parent,
        )

    @staticmethod
    def _parent(pending: _Pending | None, msg_id: str | None, header: Any) -> Any:
        """The request's header for the journal: as the reply echoed it, else what the console knows
        of it (its msg_id and type)."""
        if header is not None:
            return header
        if msg_id is None:
            return None
        msg_type = pending.content.msg_type if pending is not None else ""
        return {"msg_id": msg_id, "msg_type": msg_type}

    def _accepted(self, intent: _Intent, parent: Any) -> None:
        """The renderer applied the request: now the session (engine and journal) follows."""
        engine = self.engine
        live = engine is not None and engine.state != "ended"
        try:
            if intent.kind == "rung" and live:
                assert engine is not None and intent.rung is not None
                events: list[eng.SessionEvent] | None = None
                if intent.advice_id is not None:
                    try:
                        events = engine.accept_advice(intent.advice_id)
                    except VrExposureError:
                        events = None  # closed meanwhile (another rung came first): a plain rung change
                if events is None:
                    events = engine.set_rung(intent.rung)
                self._free_intensity = None
                self._engine_events(events, header=parent)
                # For records that belong with the rung change (a prolonged-exposure hotspot's entry).
                self._emit("rung_accepted", rung=intent.rung, parent=parent)
                own = self._current_rung_intensity()
                if own is not None and engine.rung == intent.rung:
                    # A patient's own rung or a hotspot: its preset at the intensity it was made at
                    # (core.ladder), asked as the rung's intensity: refused, it can be tried again.
                    ramp_s = RUNG_RAMP_S if intent.ramp_s is None else intent.ramp_s
                    follow = _Intent("intensity", rung=intent.rung, intensity=own, ramp_s=ramp_s)
                    self._send(m.SetIntensityRequest(intensity=own, ramp_s=ramp_s), follow)
                # The renderer ended the previous rung's schedules; this rung's start now.
                for record in [r for r in self.schedules.values() if r.request.scope == "rung"]:
                    self._forget_one(record.schedule_id)
                self._start_rung_schedules()
            elif intent.kind == "intensity" and live:
                assert engine is not None and intent.intensity is not None
                # ``rung`` set: that rung's own intensity, which leaves its preset in force (on
                # another rung by now, e.g. a late retry, it is a free intensity like any other).
                own = intent.rung is not None and intent.rung == engine.rung
                self._free_intensity = None if own else intent.intensity
                self._engine_events(engine.set_intensity(intent.intensity), header=parent)
            elif intent.kind == "event":
                strength = 1.0 if intent.strength is None else intent.strength
                content = {"event": intent.event, "strength": strength, "session_s": self.session_time_s()}
                self._clinical("event_triggered", content, parent=parent)
            elif intent.kind == "schedule" and intent.schedule is not None:
                self._schedule_accepted(intent, intent.schedule, parent)
            elif intent.kind == "unschedule":
                ids = [intent.schedule_id] if intent.schedule_id is not None else list(self.schedules)
                seen, self._stopped_unreplied = self._stopped_unreplied, []
                stopped = [sid for sid in seen if intent.schedule_id in (None, sid)]
                stopped += [sid for sid in ids if sid in self.schedules and sid not in stopped]
                for sid in stopped:
                    self._forget_one(sid)
                stop_record: dict[str, Any] = {
                    "schedule_id": intent.schedule_id,
                    "stopped": list(stopped),
                    "session_s": self.session_time_s(),
                }
                self._clinical("event_schedule_stopped", stop_record, parent=parent)
                self._emit("schedules", schedules=list(self.schedules.values()))
            elif intent.kind == "scene" and intent.scene is not None:
                self.scene = self.library.scene(intent.scene)
                self._free_intensity = None if intent.preset is not None else intent.intensity
                content = {"scene": intent.scene, "preset": intent.preset, "intensity": intent.intensity}
                self._clinical("scene_changed", content, parent=parent)
                self._emit("scene", scene=intent.scene, preset=intent.preset)
        except VrExposureError as exc:
            message = f"{intent.what()} was applied by the renderer but not recorded: {exc}"
            self._emit("error", message=message)

    def _schedule_accepted(self, intent: _Intent, request: m.StartScheduleRequest, parent: Any) -> None:
        engine = self.engine
        sid = request.schedule_id
        started = intent.started_s if intent.started_s is not None else self._running_s()
        if sid not in self._schedules_ended:  # an at_s 0 may have fired and ended before this reply
            rung = None if engine is None or request.scope != "rung" else engine.rung
            self.schedules[sid] = ScheduleRecord(request, started, rung=rung)
        if intent.started_s is None:  # a restore is journaled as renderer_resynced
            content = {
                **msgspec.to_builtins(request),
                "rung": None if engine is None else engine.rung,
                "session_s": self.session_time_s(),
            }
            content.pop("elapsed_s", None)
            self._clinical("event_schedule_started", content, parent=parent)
        self._emit("schedules", schedules=list(self.schedules.values()))

    def _refuse(
        self,
        pending: _Pending,
        token: str | None,
        *,
        ename: str | None,
        evalue: str | None,
        parent: Any = None,
        sentence: str | None = None,
    ) -> None:
        """A steering request was refused, not answered or not sent: the session stays where the
        renderer is; journal it, keep it for a retry and tell the listeners why and what to do."""
        intent = pending.intent
        assert intent is not None
        state = self.renderer_state
        self._clinical(
            "command_failed",
            {
                "verb": pending.verb,
                "ename": ename,
                "evalue": evalue,
                "requested": intent.journal(),
                "renderer": {
                    "scene": state.scene,
                    "preset": state.preset,
                    "mode": state.mode,
                    "target_intensity": state.target_intensity,
                },
            },
            parent=parent,
        )
        if token is None:
            token = f"unsent-{next(self._unsent_counter)}"
        self.refused[token] = intent
        while len(self.refused) > _RETRY_KEEP:
            self.refused.pop(next(iter(self.refused)))
        engine = self.engine
        advice = None
        if intent.advice_id is not None and engine is not None:
            advice = next((a for a in engine.pending_advice if a.advice_id == intent.advice_id), None)
        self._emit(
            "refused",
            token=token,
            action=intent.kind,
            verb=pending.verb,
            ename=ename,
            evalue=evalue,
            message=sentence or _refusal_sentence(intent, ename, evalue),
            rung=None if engine is None else engine.rung,
            requested_rung=intent.rung,
            intensity=state.intensity,
            target_intensity=state.target_intensity,
            advice=advice,
        )

    def _expire_refusals(self, was: str, now: str) -> None:
        """The patient's situation changed (safe place, pause, stop ...): a refused exposure command
        was asked for another moment and can no longer be retried; the listeners drop its bar."""
        if self.refused:
            self.refused.clear()
        self._emit("refusals_expired", was=was, now=now)

    def on_clock_offset(self, offset_ns: int, uncertainty_ns: int | None = None) -> None:
        """Journal the console -> renderer clock offset when it moves (so merged timelines line up)."""
        previous = self.clock_offset_ns
        self.clock_offset_ns = offset_ns
        if previous is not None and abs(previous - offset_ns) < 200_000:
            return
        self._journal_clock_offset(offset_ns, uncertainty_ns)

    def _journal_clock_offset(self, offset_ns: int, uncertainty_ns: int | None) -> None:
        if self.journal is not None:
            self.journal.journal_clock_offset("renderer", offset_ns, uncertainty_ns)

    # -- internals ------------------------------------------------------------------------------------
    def _engine(self) -> eng.SessionEngine:
        if self.engine is None:
            raise ControllerError("no session: start one first")
        return self.engine

    def _on_headset_rating(self, fact: m.RatingRecorded, header: m.Header | None) -> None:
        engine = self.engine
        if engine is None or engine.state == "ended":
            self._emit("error", message=f"a rating of {fact.value:g} arrived with no session open")
            return
        known = {p.probe_id for p in engine.probes}
        probe_id = fact.probe_id if fact.probe_id in known else None
        if fact.probe_id is not None:
            self.open_probes.pop(fact.probe_id, None)
            self._adhoc_probes.discard(fact.probe_id)
        scale = fact.scale_max if fact.scale_max in (10, 100) else 100
        source = (
            fact.source if fact.source in ("therapist", "patient-in-vr", "simulated") else "patient-in-vr"
        )
        try:
            events = engine.record_rating(fact.value, scale_max=scale, source=source, probe_id=probe_id)
        except VrExposureError as exc:
            self._emit("error", message=f"a rating from the headset was not recorded: {exc}")
            return
        self._engine_events(events, header=header)

    def _reconcile_mode(self, mode: str, *, source: str = "console", header: Any = None) -> None:
        engine = self.engine
        if engine is None or engine.state in ("ended",):
            return
        events: list[eng.SessionEvent] = []
        state = engine.state
        if mode == "safe_place" and state != "safe_place":
            events = engine.enter_safe_place(by=_SAFE_PLACE_BY.get(source, source))
        elif mode == "running":
            if state == "safe_place":
                events = engine.leave_safe_place()
                if engine.state == "paused":
                    events += engine.resume()
            elif state == "paused":
                events = engine.resume()
        elif mode == "paused":
            if state == "safe_place":
                events = engine.leave_safe_place()
            if engine.state == "running":
                events += engine.pause()
        self._engine_events(events, header=header)

    def _on_engine_event(self, event: eng.SessionEvent) -> None:
        t_s = self.session_time_s(event.t_mono_ns)
        if isinstance(event, eng.RatingRecorded):
            r = event.rating
            self._emit(
                "rating",
                t_s=self.session_time_s(r.t_mono_ns),
                value=r.value,
                source=r.source,
                probe_id=event.probe_id,
                t_mono_ns=r.t_mono_ns,
            )
        elif isinstance(event, eng.RatingWithdrawn):
            r = event.rating
            self._emit("rating_withdrawn", t_s=self.session_time_s(r.t_mono_ns), value=r.value)
        elif isinstance(event, eng.ProbeDue):
            engine = self._engine()
            deadline_s = t_s + (event.deadline_running_s - event.due_running_s)
            self.open_probes[event.probe_id] = deadline_s
            self._send(m.SudsPromptRequest(probe_id=event.probe_id, scale_max=event.scale_max))
            self._emit(
                "probe_due",
                probe_id=event.probe_id,
                t_s=t_s,
                window_s=event.deadline_running_s - event.due_running_s,
                scale_max=engine.scale_max,
            )
        elif isinstance(event, eng.ProbeMissed):
            self.missed_probes.append(event.probe_id)
            if self.open_probes.pop(event.probe_id, None) is not None:
                self._send(m.SudsPromptCancelRequest(probe_id=event.probe_id))
            self._emit("probe_missed", probe_id=event.probe_id, t_s=t_s, reason=event.reason)
        elif isinstance(event, eng.AdviceGiven):
            self._emit("advice", advice=event.advice, text=event.advice.reason)
        elif isinstance(event, eng.AdviceAccepted | eng.AdviceDismissed):
            self._emit("advice_closed", advice_id=event.advice_id)
        elif isinstance(event, eng.RungChanged):
            if event.expired_advice:
                self._emit("advice_closed", advice_id=None)
            self._emit(
                "rung",
                rung=event.rung,
                preset=event.preset,
                expected_suds=event.expected_suds,
                title=event.title,
                t_s=t_s,
            )
        elif isinstance(event, eng.IntensityChanged):
            self._emit("intensity_set", intensity=event.intensity, t_s=t_s)
        elif isinstance(event, eng.SafePlaceEntered):
            self._emit("safe_place", entered=True, t_s=t_s, by=event.by)
        elif isinstance(event, eng.SafePlaceLeft):
            self._emit("safe_place", entered=False, t_s=t_s, by="therapist")
        elif isinstance(event, eng.Paused | eng.Resumed | eng.SessionStarted | eng.SessionEnded):
            self._emit("mode", mode=self._engine().state, t_s=t_s)
        elif isinstance(event, eng.SessionLengthReached):
            self._emit("length_reached", t_s=t_s, length_s=event.length_s)


def _steering_words(request: m.Request) -> str:
    """A resync request in words: "intensity 63", "preset 'jar-far'", "scene 'spiders'"."""
    if isinstance(request, m.SetIntensityRequest):
        return f"intensity {request.intensity:g}"
    if isinstance(request, m.ApplyPresetRequest):
        return f"rung preset {request.preset!r}"
    if isinstance(request, m.StartScheduleRequest):
        return f"the schedule of {request.event!r}"
    if isinstance(request, m.StopScheduleRequest):
        return "a schedule stopped"
    if isinstance(request, m.LoadSceneRequest):
        what = f"scene {request.scene!r}"
        if request.preset is not None:
            return f"{what}, rung preset {request.preset!r}"
        return f"{what} at intensity {request.intensity or 0:g}"
    return request.msg_type


def _strength(value: float) -> float:
    """A strength 0-1 (NaN is refused: it would say nothing of how loud)."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ControllerError(f"a strength is 0-1 (0: faint or far, 1: full); {value:g} is not")
    return value


def _refusal_sentence(intent: _Intent, ename: str | None, evalue: str | None) -> str:
    """What was refused, the renderer's reason, and what the therapist can do, e.g. "the renderer
    refused the rung change: a scene change is fading through black — try again in a moment"."""
    text = (evalue or ename or "no reason given").strip().rstrip(".")
    if ename == "Timeout":
        return (
            f"the renderer did not answer {intent.what()} ({text}); the session stays as it was — check "
            "the connection banner, then try again"
        )
    reason, _, advice = text.partition("; ")
    for pattern, known in _ADVICE_FOR:
        if pattern in reason:
            advice = known
            break
    return f"the renderer refused {intent.what()}: {reason} — {advice or 'try again'}"


def display_path(path: str | Path) -> str:
    """``path`` for people to read: under the home directory as ``~/...`` (shorter, and no account
    name in a screenshot or a shared log); any other path as it is."""
    p = Path(path)
    try:
        rel = p.relative_to(Path.home())
    except (ValueError, RuntimeError):  # elsewhere, or no home directory to be found
        return str(p)
    return "~" if rel == Path() else f"~/{rel.as_posix()}"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    return msgspec.to_builtins(value)


def summary_table(
    metrics: SessionMetrics,
    protocol: ProtocolSpec | None = None,
    *,
    ratings: Sequence[SudsRating] | None = None,
) -> str:
    """The per-rung SUDS table printed at the end of a session: peak, end, mean and reduction. Given
    the session's ``ratings``, a last line says how many of them the table leaves out (given before
    the start or in the safe place), so its counts add up to the session's."""
    if protocol is not None and protocol.kind == PROLONGED_EXPOSURE:
        table = hotspot_table(hotspot_metrics(metrics, protocol.ladder))
        note = (
            None
            if ratings is None
            else left_out_sentence(len(ratings), sum(not r.during_exposure for r in ratings))
        )
        return table if note is None else f"{table}\n{note}"
    rows = [("rung", "title", "expected", "n", "peak", "end", "mean", "reduction")]

    def fmt(v: float | None, suffix: str = "") -> str:
        return "—" if v is None else f"{v:.0f}{suffix}"

    for r in metrics.rungs:
        title = ""
        if protocol is not None and 0 <= r.rung < len(protocol.ladder):
            title = protocol.ladder[r.rung].title or r.preset or ""
        t = r.trajectory
        rows.append(
            (
                str(r.rung + 1),
                title[:34],
                fmt(r.expected_suds),
                str(t.n_ratings),
                fmt(t.peak),
                fmt(t.end),
                fmt(t.mean),
                fmt(t.reduction_pct, "%"),
            )
        )
    s = metrics.session
    rows.append(
        (
            "all",
            "whole session",
            "",
            str(s.n_ratings),
            fmt(s.peak),
            fmt(s.end),
            fmt(s.mean),
            fmt(s.reduction_pct, "%"),
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [c.ljust(widths[i]) if i == 1 else c.rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if ratings is not None:
        note = left_out_sentence(len(ratings), sum(not r.during_exposure for r in ratings))
        if note is not None:
            lines.append(note)
    return "\n".join(lines)
