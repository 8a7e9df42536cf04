"""The console's end of the link: a DEALER for commands and heartbeats, a SUB for facts and telemetry.

Plain Python: :meth:`LinkClient.request` blocks (Lazy Pirate: timeout, retry with the same
``msg_id``, then :class:`LinkError`), :meth:`LinkClient.send` returns at once and reports through
callbacks, :meth:`LinkClient.poll` processes whatever arrived and keeps the heartbeats, retries and
liveness going. Call ``poll`` from the console's main loop (a Qt timer, a script's loop) at least a
few times per heartbeat interval: heartbeats are sent from there on purpose, so a frozen console
reads as lost contact on the renderer.

Qt: the sockets' ``zmq.FD`` (:meth:`LinkClient.fds`) are edge-triggered. On each
``QSocketNotifier`` activation call ``poll(0)``; it drains both sockets until neither has
``POLLIN`` left, which is what edge-triggering needs. The command sockets are recreated when the
renderer is lost (so nothing queued for a dead renderer is ever delivered late); the ``lost``
connection event is emitted after the new sockets exist, so re-read :meth:`fds` then.

Hedging (for slow, lossy networks): every request also goes, the same frame, on a second command
connection (:attr:`LinkClient.hedge_socket`): at once where the median heartbeat round trip is 20 ms
or more, otherwise only when its reply is 100 ms later than the median. A TCP segment lost on one
connection would otherwise hold the request, and everything behind it, until TCP resends it (the
round trip + at least 200 ms). The renderer applies a msg_id once and answers the copy from its
reply cache; whichever reply comes first counts. Copies are sent in the order the requests were
issued, so on each connection an older request stays ahead of a newer one: a copy never makes the
ordering rule refuse a command.

Resync (the Clone pattern): on first contact, on reconnection, on a renderer restart (new
``instance_id``), on a gap in the ``event`` seq, or when a heartbeat says facts were missed, the
client asks for a snapshot, buffers facts meanwhile, then applies only facts newer than it.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import zmq

from vr_exposure import __version__
from vr_exposure.core.clock import SYSTEM_CLOCK, Clock
from vr_exposure.errors import LinkError
from vr_exposure.link.clock_sync import ClockSync
from vr_exposure.link.codec import Codec, DecodeError, Message
from vr_exposure.link.errors import CommandRejected, ProtocolVersionMismatch
from vr_exposure.link.liveness import DEFAULT_HEARTBEAT_INTERVAL_S, DEFAULT_LIVENESS, Liveness
from vr_exposure.link.messages import (
    PROTOCOL_VERSION,
    Fact,
    Header,
    Heartbeat,
    HeartbeatAck,
    HelloReply,
    HelloRequest,
    RendererState,
    Reply,
    Request,
    SetSessionRequest,
    SnapshotReply,
    SnapshotRequest,
    Telemetry,
    apply_fact,
    verb_of,
)
from vr_exposure.link.security import ClientCurve, secure_client_socket
from vr_exposure.link.server import DEFAULT_COMMAND_ENDPOINT, DEFAULT_PUB_ENDPOINT

log = logging.getLogger(__name__)

ConnectionCallback = Callable[[str, str], None]
"""``(event, detail)``; event is ``connected``, ``degraded``, ``lost``, ``reconnected`` or
``incompatible``; detail is a sentence for the log or the banner."""

_HOUSEKEEPING = (HelloRequest, SnapshotRequest)
#: A TCP segment lost on the way is resent after at least the minimum RTO (200 ms on Linux): a round
#: trip this much longer than the median was, in all likelihood, retransmitted.
_RETRANSMIT_EXTRA_NS = 200_000_000
#: A heartbeat still unanswered after this long counts as missing in :meth:`LinkClient.link_quality`.
_UNANSWERED_NS = 2_000_000_000
#: A received view_image is acknowledged by an early heartbeat, but at most this often.
_VIEW_ACK_MIN_NS = 50_000_000
#: A request unanswered this long past the median round trip is sent once more on the hedge socket,
#: well before TCP would resend a lost segment (at least the median + 200 ms).
_HEDGE_EXTRA_NS = 100_000_000
_HEDGE_MIN_NS = 50_000_000
#: On a path with at least this median round trip (anything but a LAN), the copy goes at once: waiting
#: to see that a reply is late would itself cost more than a round trip.
_HEDGE_AT_ONCE_RTT_NS = 20_000_000
SLOW_ROUND_TRIP_MS = 300.0
"""Median round trip above which :meth:`LinkClient.link_quality` warns of a slow link."""
UNRELIABLE_SHARE = 0.05
"""Share of late or missing heartbeat answers above which it warns of an unreliable link."""


@dataclass(frozen=True)
class LinkQuality:
    """What the console measures of the link, for the therapist (see ``link_quality``)."""

    round_trip_ms: float | None
    """Median heartbeat round trip over the last ~30 s (None before the first answer)."""
    round_trip_p95_ms: float | None
    late_share: float
    """Share of recent heartbeats answered a retransmission late (> median + 200 ms) or not at all:
    TCP hides packet loss, this is how it shows."""
    telemetry_loss: float
    """Share of telemetry samples missing (sequence gaps) since the link came up."""
    state: str
    silence_s: float
    lost_after_s: float
    warning: str | None
    """A sentence for the therapist when the link is slow, unreliable or about to be lost."""
    warning_kind: str | None = None
    """``degraded`` (heartbeats overdue), ``unreliable`` or ``slow``; None with no warning."""


_LINK_ENAMES = ("RendererRestarted", "RequestExpired")


@dataclass
class _Pending:
    content: Request
    msg_id: str
    created_ns: int
    timeout_ns: int
    retries: int
    blocking: bool
    seq: int = 0
    session_id: str = ""
    frame: bytes | None = None
    header: Header | None = None
    attempts: int = 0
    next_attempt_ns: int = 0
    transmissions: int = 0
    hedge_at_ns: int = 0
    """When to send the copy on the hedge socket (0: not due, or already sent)."""
    notes: list[str] = field(default_factory=list)


class LinkClient:
    """Console-side link endpoint. Not thread-safe: use it from one thread (the GUI thread)."""

    def __init__(
        self,
        command_endpoint: str = DEFAULT_COMMAND_ENDPOINT,
        pub_endpoint: str = DEFAULT_PUB_ENDPOINT,
        *,
        clock: Clock = SYSTEM_CLOCK,
        timeout_s: float = 1.0,
        retries: int = 3,
        heartbeat_interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S,
        liveness: int = DEFAULT_LIVENESS,
        on_event: Callable[[Message], None] | None = None,
        on_state: Callable[[RendererState], None] | None = None,
        on_connection: ConnectionCallback | None = None,
        on_reply: Callable[[Message], None] | None = None,
        on_request_failed: Callable[[str, Request, LinkError], None] | None = None,
        telemetry: bool | Iterable[str] = True,
        acknowledge_mirror: bool = True,
        hedge: bool = True,
        curve: ClientCurve | None = None,
        name: str = "console",
        session_id: str = "",
        max_message_bytes: int = 16 << 20,
        software_version: str = __version__,
        protocol_version: str = PROTOCOL_VERSION,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
    ) -> None:
        if retries < 1 or timeout_s <= 0:
            raise ValueError("a request needs retries >= 1 and timeout_s > 0")
        self.command_endpoint = command_endpoint
        self.pub_endpoint = pub_endpoint
        self.clock = clock
        self.timeout_s = timeout_s
        self.retries = retries
        self.heartbeat_interval_s = heartbeat_interval_s
        self.on_event = on_event
        self.on_state = on_state
        self.on_connection = on_connection
        self.on_reply = on_reply
        self.on_request_failed = on_request_failed
        self.name = name
        self.software_version = software_version
        self.codec = Codec(
            "console",
            session_id=session_id,
            clock=clock,
            max_message_bytes=max_message_bytes,
            protocol_version=protocol_version,
        )
        self.liveness = Liveness(interval_s=heartbeat_interval_s, liveness=liveness, clock=clock)
        self.clock_sync = ClockSync()
        self.connection: str = "connecting"
        """``connecting``, ``connected``, ``degraded``, ``lost`` or ``incompatible``."""
        self.renderer_instance: str | None = None
        self.renderer_info: HelloReply | None = None
        self.state: RendererState | None = None
        """The mirrored renderer state (None until the first snapshot)."""
        self.event_seq = 0
        self.synced = False
        """True while :attr:`state` reflects every fact up to :attr:`event_seq`."""
        self.telemetry_received: dict[str, int] = {}
        self.telemetry_lost: dict[str, int] = {}
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "sent",
                "retries",
                "replies",
                "late_replies",
                "failed",
                "facts",
                "stale_facts",
                "gaps",
                "snapshots",
                "malformed",
                "socket_recreated",
                "hedged",
            ),
            0,
        )
        self.incompatibility: ProtocolVersionMismatch | None = None
        self._curve = curve
        self._pending: dict[str, _Pending] = {}
        self._done: dict[str, Message | LinkError] = {}
        self._buffer: list[Message] = []
        self._snapshot_id: str | None = None
        self._request_seq = 0
        self._behind_seq: int | None = None
        self._telemetry_seq: dict[str, int] = {}
        self._next_heartbeat_ns = 0
        self._last_heartbeat_ns = 0
        self._last_hedge_at_ns = 0
        # (sent_mono_ns, rtt_ns or -1 while unanswered) of the last 64 heartbeats.
        self._heartbeats: deque[list[int]] = deque(maxlen=64)
        self.view_frame = -1
        """The ``frame`` of the newest ``view_image`` received; heartbeats tell the renderer."""
        self.acknowledge_mirror = acknowledge_mirror
        """Say ``view_frame`` in heartbeats, so the renderer fits the mirror to the link. Without it
        the renderer sends the mirror at its full rate and size whatever the link carries."""
        self._restart_unreported = False
        self._closed = False

        self._own_context = context is None
        self._ctx: zmq.Context[zmq.Socket[bytes]] = context if context is not None else zmq.Context()
        self.sub: zmq.Socket[bytes] = self._ctx.socket(zmq.SUB)
        self.sub.linger = 0
        self.sub.rcvhwm = 100_000
        if curve is not None:
            secure_client_socket(self.sub, curve)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"event")
        if telemetry is True:
            self.sub.setsockopt(zmq.SUBSCRIBE, b"telemetry.")
        elif telemetry is not False:
            for msg_type in telemetry:
                self.sub.setsockopt(zmq.SUBSCRIBE, b"telemetry." + msg_type.encode())
        self.sub.connect(pub_endpoint)
        self.dealer: zmq.Socket[bytes] = self._new_dealer()
        self.hedge_socket: zmq.Socket[bytes] | None = self._new_dealer() if hedge else None
        """A second command connection: a request that is late goes once more on it (see
        ``_HEDGE_EXTRA_NS``), so a TCP segment lost on the main one costs no retransmission timeout.
        The renderer applies a msg_id once and answers the copy from its reply cache."""
        self._poller = zmq.Poller()
        self._poller.register(self.dealer, zmq.POLLIN)
        if self.hedge_socket is not None:
            self._poller.register(self.hedge_socket, zmq.POLLIN)
        self._poller.register(self.sub, zmq.POLLIN)
        self._heartbeat()

    # -- public API ---------------------------------------------------------------------------

    @property
    def instance_id(self) -> str:
        return self.codec.instance_id

    @property
    def clock_offset(self) -> tuple[int, int] | None:
        """``(offset_ns, uncertainty_ns)``: renderer monotonic clock minus console monotonic clock,
        from the fastest recent heartbeat round trip; None before the first one."""
        return self.clock_sync.offset

    def fds(self) -> tuple[int, ...]:
        """``zmq.FD`` of the command and event sockets, and of the hedge socket when there is one
        (edge-triggered; see the module docstring)."""
        fds = [int(self.dealer.getsockopt(zmq.FD)), int(self.sub.getsockopt(zmq.FD))]
        if self.hedge_socket is not None:
            fds.append(int(self.hedge_socket.getsockopt(zmq.FD)))
        return tuple(fds)

    def sockets(self) -> tuple[zmq.Socket[bytes], zmq.Socket[bytes]]:
        return self.dealer, self.sub

    def send(self, content: Request, *, timeout_s: float | None = None, retries: int | None = None) -> str:
        """Queue a request; returns its msg_id. The reply goes to ``on_reply``; a request that
        gets no answer after its retries goes to ``on_request_failed``."""
        return self._submit(content, timeout_s, retries, blocking=False)

    def request(
        self,
        content: Request,
        *,
        timeout_s: float | None = None,
        retries: int | None = None,
        check: bool = True,
    ) -> Reply:
        """Send and wait for the reply (processing everything else meanwhile).

        Raises :class:`LinkError` when the renderer did not answer after the retries (or restarted
        while the request was in flight: it was then not applied), :class:`ProtocolVersionMismatch`
        for an incompatible renderer, and, with ``check``, :class:`CommandRejected` for an error reply.
        """
        if self.incompatibility is not None:
            raise self.incompatibility
        msg_id = self._submit(content, timeout_s, retries, blocking=True)
        pending = self._pending[msg_id]
        # A wall-clock guard in case the injected clock is not moving.
        wall_deadline = time.monotonic() + pending.timeout_ns * pending.retries / 1e9 + 1.0
        while msg_id not in self._done:
            if time.monotonic() > wall_deadline:
                self._fail(pending, "the console's clock did not advance")
                break
            self.poll(self._ms_to_next_deadline(pending))
        result = self._done.pop(msg_id)
        if isinstance(result, LinkError):
            raise result
        reply = result.content
        assert isinstance(reply, Reply)
        if check and reply.status == "error":
            ename, evalue = reply.ename or "Error", reply.evalue or ""
            if ename == "ProtocolVersionMismatch":
                raise ProtocolVersionMismatch(evalue)
            if ename in _LINK_ENAMES:
                raise LinkError(f"{verb_of(content.msg_type)}: {evalue}")
            raise CommandRejected(ename, evalue)
        return reply

    def poll(self, timeout_ms: float = 0) -> int:
        """Process everything available (draining both sockets), send due heartbeats and retries,
        update liveness; wait up to ``timeout_ms`` for something to arrive. Returns messages read."""
        if self._closed:
            return 0
        total = self._drain()
        self._tick()
        if total or timeout_ms <= 0:
            return total
        end = time.monotonic() + timeout_ms / 1000
        while True:
            remaining_ms = (end - time.monotonic()) * 1000
            if remaining_ms <= 0:
                return total
            wait_ms = max(1, min(remaining_ms, self._ms_to_next_tick()))
            self._poller.poll(int(wait_ms))
            total += self._drain()
            self._tick()
            if total:
                return total

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Poll until ``predicate()`` is true or ``timeout_s`` passes (wall clock); returns it."""
        end = time.monotonic() + timeout_s
        while not predicate():
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            self.poll(min(remaining * 1000, 20))
        return True

    def link_quality(self) -> LinkQuality:
        """Round trip, late share, telemetry loss and a warning, from the recent heartbeats."""
        now = self.clock.monotonic_ns()
        rtts = sorted(rtt for _, rtt in self._heartbeats if rtt >= 0)
        answered_or_due = [(t0, rtt) for t0, rtt in self._heartbeats if rtt >= 0 or now - t0 > _UNANSWERED_NS]
        median_ns = statistics.median(rtts) if rtts else None
        late = 0
        for _, rtt in answered_or_due:
            if rtt < 0 or (median_ns is not None and rtt > median_ns + _RETRANSMIT_EXTRA_NS):
                late += 1
        late_share = late / len(answered_or_due) if answered_or_due else 0.0
        received = sum(self.telemetry_received.values())
        lost = sum(self.telemetry_lost.values())
        telemetry_loss = lost / (received + lost) if received + lost else 0.0
        rtt_ms = median_ns / 1e6 if median_ns is not None else None
        p95_ms = rtts[min(len(rtts) - 1, int(0.95 * len(rtts)))] / 1e6 if rtts else None
        silence_s = self.liveness.silence_s()
        lost_after_s = self.liveness.lost_after_s
        warning = kind = None
        if self.connection == "degraded":
            kind = "degraded"
            warning = (
                f"No answer from the headset for {silence_s:.1f} s; contact counts as lost after "
                f"{lost_after_s:.1f} s"
            )
        elif self.connection == "connected":
            if late_share > UNRELIABLE_SHARE:
                kind = "unreliable"
                warning = f"Unreliable link: {late_share:.0%} of heartbeats answered late or not at all"
            elif rtt_ms is not None and rtt_ms > SLOW_ROUND_TRIP_MS:
                kind = "slow"
                warning = f"Slow link: round trip {rtt_ms:.0f} ms; commands take that long to apply"
        return LinkQuality(
            round_trip_ms=rtt_ms,
            round_trip_p95_ms=p95_ms,
            late_share=late_share,
            telemetry_loss=telemetry_loss,
            state=self.connection,
            silence_s=silence_s,
            lost_after_s=lost_after_s,
            warning=warning,
            warning_kind=kind,
        )

    def resync(self) -> None:
        """Ask for a fresh snapshot now (also done automatically, see the module docstring)."""
        self._start_resync("asked")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.dealer.close(linger=0)
        self.sub.close(linger=0)
        if self.hedge_socket is not None:
            self.hedge_socket.close(linger=0)
        if self._own_context:
            self._ctx.term()

    def __enter__(self) -> LinkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests -----------------------------------------------------------------------------

    def _submit(
        self, content: Request, timeout_s: float | None, retries: int | None, *, blocking: bool
    ) -> str:
        if self._closed:
            raise LinkError("the link to the renderer is closed")
        now = self.clock.monotonic_ns()
        timeout_ns = int((timeout_s or self.timeout_s) * 1e9)
        if isinstance(content, SetSessionRequest):
            # Requests issued from now on belong to that session (their header says so).
            self.codec.session_id = content.session_id
        self._request_seq += 1
        pending = _Pending(
            content=content,
            msg_id=self.codec.new_msg_id(),
            created_ns=now,
            timeout_ns=timeout_ns,
            retries=retries or self.retries,
            blocking=blocking,
            # The ordering rule: seq counts requests in the order they were issued; a resend keeps it.
            seq=self._request_seq,
            session_id=self.codec.session_id,
            next_attempt_ns=now + timeout_ns,
        )
        self._pending[pending.msg_id] = pending
        self._transmit(pending)
        return pending.msg_id

    def _transmit(self, p: _Pending) -> None:
        """Send (or resend: the same frame, so the same msg_id) when the renderer is known."""
        if p.frame is None:
            housekeeping = isinstance(p.content, _HOUSEKEEPING)
            if self.renderer_instance is None and not housekeeping:
                p.notes.append("no renderer has answered yet")
                return  # sent as soon as a renderer answers a heartbeat, if within its time
            deadline_ns = 0
            offset = self.clock_offset
            if offset is not None:
                # The renderer must not apply it after we report failure: its clock, minus the error.
                deadline_ns = p.created_ns + p.timeout_ns * p.retries + offset[0] - offset[1]
            p.header = self.codec.header(
                p.content.msg_type,
                seq=p.seq,
                session_id=p.session_id,
                msg_id=p.msg_id,
                target_instance="" if housekeeping else (self.renderer_instance or ""),
                deadline_ns=deadline_ns,
            )
            p.frame = self.codec.encode(p.header, p.content)
            limit = self.renderer_info.max_message_bytes if self.renderer_info else 0
            if limit and len(p.frame) > limit:
                self._pending.pop(p.msg_id, None)
                err = LinkError(
                    f"{verb_of(p.content.msg_type)}: a message of {len(p.frame)} bytes exceeds the "
                    f"renderer's limit of {limit} bytes; it was not sent"
                )
                if p.blocking:
                    self._done[p.msg_id] = err
                elif self.on_request_failed is not None:
                    self.on_request_failed(p.msg_id, p.content, err)
                return
        try:
            self.dealer.send(p.frame, zmq.NOBLOCK)
        except zmq.Again:
            p.notes.append("not connected")
            return
        except zmq.ZMQError as exc:
            p.notes.append(str(exc))
            return
        p.transmissions += 1
        self.counters["sent" if p.transmissions == 1 else "retries"] += 1
        if p.transmissions == 1 and self.hedge_socket is not None:
            median_ns = self.clock_sync.median_rtt_ns()
            if median_ns is not None:
                delay_ns = (
                    0
                    if median_ns >= _HEDGE_AT_ONCE_RTT_NS
                    else max(_HEDGE_MIN_NS, median_ns + _HEDGE_EXTRA_NS)
                )
                # Copies go in the order the requests were issued: on each connection an older
                # request is then ahead of a newer one, so no copy can overtake it.
                now = self.clock.monotonic_ns()
                p.hedge_at_ns = max(now + delay_ns, self._last_hedge_at_ns, 1)
                self._last_hedge_at_ns = p.hedge_at_ns
                if p.hedge_at_ns <= now:
                    self._send_hedge(p)

    def _fail(self, p: _Pending, reason: str) -> None:
        self._pending.pop(p.msg_id, None)
        verb = verb_of(p.content.msg_type)
        total_s = p.timeout_ns * p.retries / 1e9
        err = LinkError(f"renderer did not answer {verb} after {p.retries} tries ({total_s:.1f} s): {reason}")
        self.counters["failed"] += 1
        if p.msg_id == self._snapshot_id:
            self._snapshot_id = None
        if p.blocking:
            self._done[p.msg_id] = err
        elif isinstance(p.content, _HOUSEKEEPING):
            log.info("link: %s", err)
        elif self.on_request_failed is not None:
            self.on_request_failed(p.msg_id, p.content, err)
        else:
            log.error("link: %s", err)

    def _failure_reason(self) -> str:
        if self.liveness.state in ("lost", "degraded") or self.connection == "lost":
            return (
                f"no answer from {self.command_endpoint} for {self.liveness.silence_s():.1f} s (contact lost)"
            )
        if self.renderer_instance is None:
            return f"no renderer answered at {self.command_endpoint}"
        return "the renderer is reachable but did not reply in time"

    # -- the loop -----------------------------------------------------------------------------

    def _ms_to_next_tick(self) -> float:
        now = self.clock.monotonic_ns()
        nxt = self._next_heartbeat_ns
        for p in self._pending.values():
            nxt = min(nxt, p.next_attempt_ns)
            if p.hedge_at_ns:
                nxt = min(nxt, p.hedge_at_ns)
        return max(0.0, (nxt - now) / 1e6)

    def _ms_to_next_deadline(self, p: _Pending) -> float:
        return max(
            1.0, min(self._ms_to_next_tick(), (p.next_attempt_ns - self.clock.monotonic_ns()) / 1e6, 50.0)
        )

    def _tick(self) -> None:
        now = self.clock.monotonic_ns()
        if now >= self._next_heartbeat_ns:
            self._heartbeat()
        change = self.liveness.update()
        if change == "lost":
            self._on_lost()
        elif change == "degraded":
            self._set_connection(
                "degraded",
                f"renderer missed {self.liveness.missed()} heartbeat(s) ({self.liveness.silence_s():.1f} s)",
            )
        for p in list(self._pending.values()):
            if p.hedge_at_ns and now >= p.hedge_at_ns:
                self._send_hedge(p)
            if now < p.next_attempt_ns:
                continue
            p.attempts += 1
            if p.attempts >= p.retries:
                self._fail(p, self._failure_reason())
                continue
            p.next_attempt_ns = now + p.timeout_ns
            self._transmit(p)
        if not self.synced and self._snapshot_id is None and self.renderer_instance is not None:
            self._request_snapshot()

    def _send_hedge(self, p: _Pending) -> None:
        p.hedge_at_ns = 0
        if self.hedge_socket is None or p.frame is None:
            return
        try:
            self.hedge_socket.send(p.frame, zmq.NOBLOCK)
        except zmq.ZMQError:
            return  # not connected: the main socket's retries still stand
        self.counters["hedged"] += 1

    def _heartbeat(self) -> None:
        now = self.clock.monotonic_ns()
        self._next_heartbeat_ns = now + int(self.heartbeat_interval_s * 1e9)
        self._last_heartbeat_ns = now
        view_frame = self.view_frame if self.acknowledge_mirror else -1
        offset = self.clock_sync.offset
        heartbeat = Heartbeat(view_frame=view_frame, clock_offset_ns=None if offset is None else offset[0])
        header, frame = self.codec.build(heartbeat)
        try:
            self.dealer.send(frame, zmq.NOBLOCK)
        except zmq.ZMQError:
            return  # not connected: liveness will say so
        self._heartbeats.append([header.sent_mono_ns, -1])

    def _drain(self) -> int:
        n = 0
        # Drain until empty: the FDs are edge-triggered, a partial drain would stall a Qt bridge.
        # Checking EVENTS first is several times cheaper than a recv that raises Again.
        sockets = [(self.dealer, self._on_command_frames), (self.sub, self._on_pub_frames)]
        if self.hedge_socket is not None:
            sockets.append((self.hedge_socket, self._on_command_frames))
        for sock, handle in sockets:
            while int(sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                n += 1
                handle(frames)
        return n

    def _decode(self, frames: list[bytes]) -> Message | None:
        try:
            return self.codec.decode(frames[-1])
        except DecodeError as exc:
            if exc.ename == "ProtocolVersionMismatch" and exc.header is not None:
                self._on_incompatible(exc.header)
            else:
                self.counters["malformed"] += 1
                log.warning("link: dropped a message from the renderer: %s", exc)
            return None

    def _on_command_frames(self, frames: list[bytes]) -> None:
        t3 = self.clock.monotonic_ns()
        msg = self._decode(frames)
        if msg is None:
            return
        restarted = self._note_instance(msg.header.instance_id) or self._restart_unreported
        self._restart_unreported = False
        self.incompatibility = None
        change = self.liveness.heard()
        if restarted:
            self._set_connection("reconnected", "the renderer restarted; resynchronising")
        elif change == "connected":
            if self.connection == "lost":
                self._set_connection("reconnected", "contact with the renderer is back; resynchronising")
                self._start_resync("reconnected")
            else:
                self._set_connection("connected", f"renderer at {self.command_endpoint}")
        content = msg.content
        if isinstance(content, HeartbeatAck):
            sample = self.clock_sync.add(content.t0_ns, content.t1_ns, content.t2_ns, t3)
            if sample is not None:
                for entry in self._heartbeats:
                    if entry[0] == content.t0_ns:
                        entry[1] = sample.rtt_ns
                        break
            self.liveness.set_frame_interval(content.frame_interval_ms / 1000.0)
            self._check_behind(content.event_seq)
            return
        parent = msg.parent_header
        pending = self._pending.pop(parent.msg_id, None) if parent is not None else None
        if pending is None:
            self.counters["late_replies"] += 1
            return
        self.counters["replies"] += 1
        if isinstance(content, HelloReply) and pending.header is not None:
            self.renderer_info = content
            self.clock_sync.add(pending.header.sent_mono_ns, content.t1_ns, content.t2_ns, t3)
        if isinstance(content, SnapshotReply) and pending.msg_id == self._snapshot_id:
            self._snapshot_id = None
            if content.status == "ok" and msg.header.instance_id == self.renderer_instance:
                self._apply_snapshot(content)
        if pending.blocking:
            self._done[pending.msg_id] = msg
        elif not isinstance(pending.content, _HOUSEKEEPING) and self.on_reply is not None:
            self.on_reply(msg)

    def _on_pub_frames(self, frames: list[bytes]) -> None:
        msg = self._decode(frames)
        if msg is None:
            return
        if self._note_instance(msg.header.instance_id):
            # Connection events come from the command channel; it reports the restart when it
            # hears the new renderer.
            self._restart_unreported = True
        content = msg.content
        seq = msg.header.seq
        if isinstance(content, Telemetry):
            stream = content.msg_type
            last = self._telemetry_seq.get(stream)
            if last is not None and seq > last + 1:
                self.telemetry_lost[stream] = self.telemetry_lost.get(stream, 0) + (seq - last - 1)
            if last is None or seq > last:
                self._telemetry_seq[stream] = seq
            self.telemetry_received[stream] = self.telemetry_received.get(stream, 0) + 1
            if stream == "view_image":
                frame = getattr(content, "frame", None)
                if isinstance(frame, int) and frame > self.view_frame:
                    self.view_frame = frame
                    # Tell the renderer now: it sends the next image only when few are in flight.
                    due = self.clock.monotonic_ns() - self._last_heartbeat_ns >= _VIEW_ACK_MIN_NS
                    if self.acknowledge_mirror and due:
                        self._heartbeat()
            self._deliver(msg)
            return
        if not isinstance(content, Fact):
            self.counters["malformed"] += 1
            return
        if not self.synced:
            self._buffer.append(msg)
            return
        if seq <= self.event_seq:
            self.counters["stale_facts"] += 1
            return
        if seq != self.event_seq + 1:
            self.counters["gaps"] += 1
            self._buffer.append(msg)
            self._start_resync(f"facts {self.event_seq + 1}-{seq - 1} were missed")
            return
        self._apply(msg)

    def _apply(self, msg: Message) -> None:
        assert self.state is not None
        self.event_seq = msg.header.seq
        self.counters["facts"] += 1
        new_state = apply_fact(self.state, msg.content)
        changed = new_state != self.state
        self.state = new_state
        self._deliver(msg)
        if changed and self.on_state is not None:
            self.on_state(new_state)

    def _deliver(self, msg: Message) -> None:
        if self.on_event is not None:
            self.on_event(msg)

    def _check_behind(self, renderer_seq: int) -> None:
        """A fact published just before the last one we saw can only show up as a gap when the
        next fact arrives, which may be never; heartbeats carry the renderer's seq to close that hole.
        Facts travel on another socket, so allow one heartbeat interval before calling it lost."""
        if not self.synced:
            self._behind_seq = None
            return
        if self._behind_seq is not None and self.event_seq < self._behind_seq:
            self.counters["gaps"] += 1
            self._behind_seq = None
            self._start_resync(f"fact {self.event_seq + 1} never arrived")
            return
        self._behind_seq = renderer_seq if renderer_seq > self.event_seq else None

    # -- resync and connection state ----------------------------------------------------------

    def _note_instance(self, instance_id: str) -> bool:
        """Track the renderer instance; True when it changed from a known one (a restart)."""
        if instance_id == self.renderer_instance or not instance_id:
            return False
        previous = self.renderer_instance
        self.renderer_instance = instance_id
        self.renderer_info = None
        self._telemetry_seq.clear()
        if previous is not None:
            self.clock_sync.reset()
        self._submit(
            HelloRequest(software_version=self.software_version, name=self.name), None, None, blocking=False
        )
        # Requests waiting for a renderer to be known can go now.
        for p in list(self._pending.values()):
            if p.frame is None:
                self._transmit(p)
        self._start_resync("new renderer instance")
        return previous is not None

    def _start_resync(self, reason: str) -> None:
        log.info("link: resynchronising (%s)", reason)
        self.synced = False
        self._behind_seq = None
        if self._snapshot_id is not None:
            stale = self._pending.get(self._snapshot_id)
            if (
                stale is not None
                and stale.header is not None
                and stale.header.instance_id != self.renderer_instance
            ):
                self._snapshot_id = None
        if self._snapshot_id is None and self.renderer_instance is not None:
            self._request_snapshot()

    def _request_snapshot(self) -> None:
        self.counters["snapshots"] += 1
        self._snapshot_id = self._submit(SnapshotRequest(), None, None, blocking=False)

    def _apply_snapshot(self, snap: SnapshotReply) -> None:
        assert snap.state is not None
        self.state = snap.state
        self.event_seq = snap.seq
        self.synced = True
        buffered = sorted(self._buffer, key=lambda m: m.header.seq)
        self._buffer = []
        for msg in buffered:
            if msg.header.instance_id != self.renderer_instance:
                continue
            if msg.header.seq <= self.event_seq:
                # The snapshot already holds its effect on the state, but it is still news: a fact is
                # also an event (a rating given in the headset, the patient's safe place), and the
                # listener must hear it once. It is not applied to the mirrored state again.
                self.counters["facts"] += 1
                self._deliver(msg)
                continue
            if msg.header.seq != self.event_seq + 1:
                self.counters["gaps"] += 1
                self._buffer = [m for m in buffered if m.header.seq > self.event_seq]
                self._start_resync("a gap in buffered facts")
                return
            self._apply(msg)
        if self.on_state is not None:
            self.on_state(self.state)

    def _on_lost(self) -> None:
        # Lazy Pirate: a fresh socket, so nothing queued for a dead or frozen renderer is
        # delivered to it (or to its successor) later.
        self._poller.unregister(self.dealer)
        self.dealer.close(linger=0)
        self.dealer = self._new_dealer()
        self._poller.register(self.dealer, zmq.POLLIN)
        if self.hedge_socket is not None:
            self._poller.unregister(self.hedge_socket)
            self.hedge_socket.close(linger=0)
            self.hedge_socket = self._new_dealer()
            self._poller.register(self.hedge_socket, zmq.POLLIN)
        self.counters["socket_recreated"] += 1
        self.synced = False
        self._snapshot_id = None
        self._set_connection(
            "lost",
            f"no answer from the renderer at {self.command_endpoint} for {self.liveness.silence_s():.1f} s",
        )

    def _on_incompatible(self, header: Header) -> None:
        err = ProtocolVersionMismatch(
            f"the renderer speaks protocol {header.protocol_version} and this console speaks "
            f"{self.codec.protocol_version}; install the same vr-exposure version on both machines",
            local_version=self.codec.protocol_version,
            remote_version=header.protocol_version,
        )
        first = self.incompatibility is None
        self.incompatibility = err
        for p in list(self._pending.values()):
            self._pending.pop(p.msg_id, None)
            if p.blocking:
                self._done[p.msg_id] = err
        if first:
            self._set_connection("incompatible", str(err))

    def _set_connection(self, event: str, detail: str) -> None:
        self.connection = "connected" if event == "reconnected" else event
        log.info("link: %s: %s", event, detail)
        if self.on_connection is not None:
            self.on_connection(event, detail)

    def _new_dealer(self) -> zmq.Socket[bytes]:
        sock = self._ctx.socket(zmq.DEALER)
        sock.linger = 0
        # Queue only on live connections: a command for an absent renderer fails now, not later.
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.sndhwm = 1000
        # A connect attempt made while the network is down would otherwise wait out the kernel's
        # SYN backoff (1, 3, 7, 15 s ...) after the network is back; retry every second instead.
        sock.setsockopt(zmq.CONNECT_TIMEOUT, 1000)
        if self._curve is not None:
            secure_client_socket(sock, self._curve)
        sock.connect(self.command_endpoint)
        return sock
