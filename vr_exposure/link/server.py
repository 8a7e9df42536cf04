"""The renderer's end of the link: a ROUTER for commands and heartbeats, a PUB for facts and telemetry.

Everything happens inside :meth:`LinkServer.pump`, which the renderer calls once per frame from
its main loop (so a frozen frame loop stops answering heartbeats and the console sees it). A pump:

1. reads what is waiting on the command socket, at most ``max_messages_per_pump`` messages;
2. decodes them; anything malformed, oversized, of another protocol MAJOR version or of an unknown
   type is answered with an error when it has a readable header, else dropped; either way counted
   in :attr:`LinkServer.counters`, never raised;
3. applies ``safe_place`` / ``stop`` before every other queued command (stable order otherwise);
4. answers a repeated ``msg_id`` from the reply cache without applying the command again;
5. checks steering commands (scene, rung, intensity, event, pause, safe place) against the ordering
   rule: one whose header ``seq`` is not newer than the last steering command handled from the same
   console instance is refused (``Superseded``), so a delayed or retried older command never
   overrides a newer one; steering commands must name the renderer (``target_instance``) and its
   session (``session_id``). ``safe_place`` and ``stop`` always win: no check refuses them;
6. answers heartbeats and ``hello`` / ``snapshot`` itself and passes other requests to the handler;
7. checks the console's liveness: ``on_link_lost`` after ``link_timeout_s`` of silence, counted from
   when the console sent the last message read (its ``sent_mono_ns`` on the renderer's clock, by
   the clock offset the console reports in heartbeats), decided on the frame nearest that limit.

Handler exceptions become error replies (``InternalError`` for anything but a
:class:`~vr_exposure.link.errors.CommandRejected`); nothing a console sends can raise out of ``pump``.
"""

from __future__ import annotations

import logging
import queue
import statistics
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import msgspec
import zmq

from vr_exposure import __version__
from vr_exposure.core.clock import SYSTEM_CLOCK, Clock
from vr_exposure.errors import LinkError
from vr_exposure.link.codec import DEFAULT_MAX_MESSAGE_BYTES, Codec, DecodeError, Message
from vr_exposure.link.errors import AddressInUse, CommandRejected
from vr_exposure.link.liveness import DEFAULT_HEARTBEAT_INTERVAL_S
from vr_exposure.link.messages import (
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    Content,
    ErrorReply,
    Header,
    Heartbeat,
    HeartbeatAck,
    HelloReply,
    HelloRequest,
    LinkLost,
    LinkRestored,
    RendererState,
    Reply,
    Request,
    SnapshotReply,
    SnapshotRequest,
    Telemetry,
    reply_msg_type_for,
)
from vr_exposure.link.security import (
    ServerCurve,
    check_bind_allowed,
    secure_server_socket,
    start_authenticator,
)

log = logging.getLogger(__name__)

DEFAULT_COMMAND_ENDPOINT = "tcp://127.0.0.1:47310"
DEFAULT_PUB_ENDPOINT = "tcp://127.0.0.1:47311"
DEFAULT_LINK_TIMEOUT_S = 5.0
# The watchdog's estimates are bounded: a message counts as sent at most 0.5 s before it was read
# (a wrong clock offset must not bring the fade more than that forward), a frame as 100 ms at most.
_MAX_IN_FLIGHT_NS = 500_000_000
_MAX_FRAME_NS = 100_000_000
_MAX_PEERS = 16  # console instances whose clock offsets are kept

Handler = Callable[[Request], "Reply | Mapping[str, Any] | None"]
"""Takes the typed request content; returns the reply (a Reply Struct, a mapping of the reply's
fields, or None for a plain ``status: ok``) or raises :class:`CommandRejected`."""

COUNTER_NAMES = (
    "received",  # command-socket messages read
    "requests",  # well-formed requests
    "applied",  # requests passed to the handler
    "duplicates",  # retried msg_ids answered from the reply cache
    "heartbeats",
    "malformed",  # dropped: no delimiter, too few frames, unreadable header
    "oversized",
    "unknown_type",
    "version_mismatch",
    "invalid",  # readable header, content fails validation
    "unexpected",  # a well-formed message a console must not send (a fact, a reply)
    "expired",  # past its deadline or meant for a previous renderer instance
    "superseded",  # a steering command older than one already handled from its console
    "wrong_session",  # a steering command for another session, or without its header fields
    "handler_errors",
    "error_replies",
    "send_dropped",  # a reply could not be queued (peer gone or flooding)
    "published",
    "links_lost",
)

_DECODE_COUNTER = {
    "MalformedMessage": "malformed",
    "MessageTooLarge": "oversized",
    "UnknownMessageType": "unknown_type",
    "ProtocolVersionMismatch": "version_mismatch",
    "InvalidMessage": "invalid",
}


class _Deferred(NamedTuple):
    """A telemetry sample the publisher thread encodes: its Struct type, content, seq and session."""

    cls: type[Any]
    content: Mapping[str, Any]
    seq: int
    session_id: str


class LinkServer:
    """Renderer-side link endpoint. Not thread-safe: call everything from the frame loop.

    ``command_endpoint`` / ``pub_endpoint`` may use port ``*`` (e.g. ``tcp://127.0.0.1:*``); the
    bound endpoints are then in :attr:`command_endpoint` / :attr:`pub_endpoint`.
    """

    def __init__(
        self,
        command_endpoint: str = DEFAULT_COMMAND_ENDPOINT,
        pub_endpoint: str = DEFAULT_PUB_ENDPOINT,
        *,
        handler: Handler | None = None,
        snapshot: Callable[[], RendererState] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        link_timeout_s: float = DEFAULT_LINK_TIMEOUT_S,
        heartbeat_interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S,
        on_link_lost: Callable[[float], None] | None = None,
        on_link_restored: Callable[[float], None] | None = None,
        curve: ServerCurve | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        max_messages_per_pump: int = 64,
        reply_cache_size: int = 1024,
        session_id: str = "",
        software_version: str = __version__,
        protocol_version: str = PROTOCOL_VERSION,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
    ) -> None:
        check_bind_allowed(command_endpoint, curve)
        check_bind_allowed(pub_endpoint, curve)
        self.handler = handler
        self.snapshot = snapshot or RendererState
        self.clock = clock
        self.link_timeout_s = link_timeout_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self.on_link_lost = on_link_lost
        self.on_link_restored = on_link_restored
        self.max_messages_per_pump = max_messages_per_pump
        self.reply_cache_size = reply_cache_size
        self.software_version = software_version
        self.codec = Codec(
            "renderer",
            session_id=session_id,
            clock=clock,
            max_message_bytes=max_message_bytes,
            protocol_version=protocol_version,
        )
        self.counters: dict[str, int] = dict.fromkeys(COUNTER_NAMES, 0)
        self.link_state: str = "waiting"
        """``waiting`` (no console heard yet), ``ok`` or ``lost``."""
        self.event_seq = 0
        self.peer_view_frame = -1
        """The newest ``view_image`` frame a console said it received (heartbeat ``view_frame``)."""
        self.current_message: Message | None = None
        """The request being handled, while the handler runs (for journaling its header)."""
        self._telemetry_seq: dict[str, int] = {}
        self._cmd_seq = 0
        self._replies: OrderedDict[str, bytes] = OrderedDict()
        # When the console sent the newest message read, on this clock (see _heard).
        self._last_heard_ns: int | None = None
        # Console instance -> the clock offset it last reported (heartbeat clock_offset_ns).
        self._peer_offsets_ns: OrderedDict[str, int] = OrderedDict()
        self._timeout_ns = int(link_timeout_s * 1e9)
        # The ordering rule: console instance_id -> seq of the newest steering command handled.
        self._steer_seq: dict[str, int] = {}
        # Pump (= frame) intervals, for heartbeat_ack.frame_interval_ms.
        self._pump_intervals_ns: deque[int] = deque(maxlen=32)
        self._last_pump_ns: int | None = None
        self._closed = False
        # Published frames go to the PUB socket from a thread of their own, which owns that socket
        # (ZeroMQ sockets belong to one thread): the first send after an idle spell wakes
        # libzmq's I/O thread, which costs the sender tens to hundreds of microseconds, and the
        # frame loop should not pay that every frame. A queue keeps the order of publish calls.
        # Telemetry published with ``defer=True`` waits in a batch until :meth:`flush_published`
        # (once per frame): each hand-off wakes the publisher thread, which then takes the GIL from
        # the frame loop, so one wake-up per frame costs far less than one per sample.
        self._pub_queue: queue.SimpleQueue[list[list[bytes] | _Deferred] | None] = queue.SimpleQueue()
        self._pub_batch: list[list[bytes] | _Deferred] = []
        self._thread_seq_lock = threading.Lock()
        self._pub_thread: threading.Thread | None = None
        #: Frames the publisher thread failed to hand to ZeroMQ (peer-independent: PUB never blocks).
        self.pub_send_failures = 0

        self._own_context = context is None
        self._ctx: zmq.Context[zmq.Socket[bytes]] = context if context is not None else zmq.Context()
        self._auth = None
        try:
            if curve is not None:
                self._auth = start_authenticator(self._ctx, curve)
            self.router: zmq.Socket[bytes] = self._ctx.socket(zmq.ROUTER)
            self.pub: zmq.Socket[bytes] = self._ctx.socket(zmq.PUB)
            for sock in (self.router, self.pub):
                sock.linger = 0
                if curve is not None:
                    secure_server_socket(sock, curve)
            # A hard ceiling far above the accepted size: a peer sending a bigger frame is
            # disconnected by libzmq before the memory is allocated.
            self.router.setsockopt(zmq.MAXMSGSIZE, max(16 * max_message_bytes, 1 << 24))
            self.router.rcvhwm = 10_000
            self.pub.sndhwm = 10_000
            self.command_endpoint = _bind(self.router, command_endpoint)
            self.pub_endpoint = _bind(self.pub, pub_endpoint)
            self._pub_thread = threading.Thread(
                target=self._pub_loop, name="vr-exposure-link-pub", daemon=True
            )
            self._pub_thread.start()
        except BaseException:
            self.close()
            raise

    # -- properties ---------------------------------------------------------------------------

    @property
    def instance_id(self) -> str:
        return self.codec.instance_id

    @property
    def session_id(self) -> str:
        return self.codec.session_id

    @session_id.setter
    def session_id(self, value: str) -> None:
        self.codec.session_id = value

    def silence_s(self) -> float:
        """Seconds since a console sent the newest message the renderer read (0 before the first)."""
        if self._last_heard_ns is None:
            return 0.0
        return (self.clock.monotonic_ns() - self._last_heard_ns) / 1e9

    def peer_clock_offset_ns(self, console_instance: str) -> int | None:
        """The clock offset (renderer minus console) a console last reported, None if none."""
        return self._peer_offsets_ns.get(console_instance)

    # -- the frame loop -----------------------------------------------------------------------

    def pump(self, max_messages: int | None = None) -> int:
        """Handle what is waiting, without blocking; returns how many messages were read."""
        if self._closed:
            return 0
        limit = self.max_messages_per_pump if max_messages is None else max_messages
        now = self.clock.monotonic_ns()
        if self._last_pump_ns is not None:
            self._pump_intervals_ns.append(now - self._last_pump_ns)
        self._last_pump_ns = now
        batch: list[tuple[list[bytes], int]] = []
        router = self.router
        for _ in range(limit):
            try:
                # Checking EVENTS is several times cheaper than a recv that raises Again.
                if not int(router.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
                    break
                frames = router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            except zmq.ZMQError as exc:  # never expected; keep the frame loop alive regardless
                log.warning("link: receive failed: %s", exc)
                break
            batch.append((frames, self.clock.monotonic_ns()))
        if batch:
            self.counters["received"] += len(batch)
            ready = [m for m in (self._decode(frames, t1) for frames, t1 in batch) if m is not None]
            # Safety first: a stop or safe-place queued behind other commands goes ahead of them.
            ready.sort(key=lambda m: not getattr(m[1].content, "priority", False))
            for routing, msg, t1 in ready:
                self._dispatch(routing, msg, t1)
        self._check_link()
        return len(batch)

    def frame_interval_ms(self) -> float:
        """The median interval between recent pumps (the renderer's frame interval), 0 before two."""
        return round(self._median_pump_ns() / 1e6, 3)

    def _median_pump_ns(self) -> float:
        return statistics.median(self._pump_intervals_ns) if self._pump_intervals_ns else 0.0

    def wait(self, timeout_ms: int) -> bool:
        """Block up to ``timeout_ms`` for a command; for loops that are not frame-driven."""
        return bool(self.router.poll(timeout_ms, zmq.POLLIN))

    # -- publishing ---------------------------------------------------------------------------

    def publish(
        self,
        message: Content | str,
        content: Mapping[str, Any] | None = None,
        *,
        parent: Header | None = None,
        defer: bool = False,
    ) -> int:
        """Publish a fact (``event`` stream) or a telemetry sample (``telemetry.<msg_type>``
        stream); returns its seq. ``message`` is a content Struct, or a msg_type plus ``content``.
        ``defer``: hold it until the next :meth:`flush_published` (or the next publish without
        ``defer``), keeping the order of every publish call."""
        if isinstance(message, str):
            cls = MESSAGE_TYPES.get(message)
            if cls is None:
                raise ValueError(f"cannot publish unknown msg_type {message!r}")
            if defer and issubclass(cls, Telemetry) and parent is None:
                # Encoded by the publisher thread: the frame loop only numbers it and queues it.
                seq = self._telemetry_seq.get(message, 0) + 1
                self._telemetry_seq[message] = seq
                if self._closed:
                    self.counters["send_dropped"] += 1
                else:
                    self._pub_batch.append(_Deferred(cls, content or {}, seq, self.codec.session_id))
                    self.counters["published"] += 1
                return seq
            message = msgspec.convert(dict(content or {}), cls)
        if isinstance(message, Telemetry):
            seq = self._telemetry_seq.get(message.msg_type, 0) + 1
            self._telemetry_seq[message.msg_type] = seq
            topic = b"telemetry." + message.msg_type.encode()
        else:
            self.event_seq += 1
            seq = self.event_seq
            topic = b"event"
        _, envelope = self.codec.build(message, parent=parent, seq=seq)
        if self._closed:
            self.counters["send_dropped"] += 1
        else:
            self._pub_batch.append([topic, envelope])
            self.counters["published"] += 1
            if not defer:
                self.flush_published()
        return seq

    def publish_from_thread(self, msg_type: str, content: Mapping[str, Any]) -> int:
        """Publish a telemetry sample from a thread other than the frame loop's (the mirror's
        worker); it goes straight to the publisher thread, encoded there. Only for telemetry types
        that no other thread publishes (their seq is counted here, under a lock)."""
        cls = MESSAGE_TYPES.get(msg_type)
        if cls is None or not issubclass(cls, Telemetry):
            raise ValueError(f"cannot publish {msg_type!r} from a thread: not a telemetry type")
        with self._thread_seq_lock:
            seq = self._telemetry_seq.get(msg_type, 0) + 1
            self._telemetry_seq[msg_type] = seq
        if self._closed:
            self.counters["send_dropped"] += 1
        else:
            self._pub_queue.put([_Deferred(cls, content, seq, self.codec.session_id)])
            self.counters["published"] += 1
        return seq

    def flush_published(self) -> None:
        """Hand everything published with ``defer=True`` to the publisher thread, in one go."""
        if self._pub_batch:
            batch, self._pub_batch = self._pub_batch, []
            self._pub_queue.put(batch)

    def _pub_loop(self) -> None:
        """The publisher thread: sends queued frames in order until a None arrives."""
        pub = self.pub
        while True:
            batch = self._pub_queue.get()
            if batch is None:
                return
            for item in batch:
                if isinstance(item, _Deferred):
                    try:
                        item = self._encode_deferred(item)
                    except (msgspec.ValidationError, TypeError, ValueError):
                        self.pub_send_failures += 1
                        log.exception("link: telemetry sample could not be encoded")
                        continue
                try:
                    pub.send_multipart(item, zmq.NOBLOCK)
                except zmq.ZMQError:
                    self.pub_send_failures += 1

    def _encode_deferred(self, item: _Deferred) -> list[bytes]:
        message = msgspec.convert(dict(item.content), item.cls)
        _, envelope = self.codec.build(message, seq=item.seq, session_id=item.session_id)
        return [b"telemetry." + message.msg_type.encode(), envelope]

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._pub_thread is not None:
            # What was published before close() still goes out (as far as linger allows).
            self.flush_published()
            self._pub_queue.put(None)
            self._pub_thread.join(timeout=5.0)
        for name in ("router", "pub"):
            sock = getattr(self, name, None)
            if sock is not None:
                sock.close(linger=0)
        if self._auth is not None:
            self._auth.stop()
        if self._own_context:
            self._ctx.term()

    def __enter__(self) -> LinkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _decode(self, frames: list[bytes], t1_ns: int) -> tuple[list[bytes], Message, int] | None:
        routing = frames[:-1]
        try:
            if not routing:
                raise DecodeError("MalformedMessage", "no routing identity")
            return routing, self.codec.decode(frames[-1]), t1_ns
        except DecodeError as exc:
            self.counters[_DECODE_COUNTER.get(exc.ename, "malformed")] += 1
            if exc.header is not None and routing:
                self._send_error(routing, exc.header, exc.ename, exc.evalue)
            return None
        except Exception:  # a bug in decoding must not take the frame loop down
            log.exception("link: unexpected error decoding a message")
            self.counters["malformed"] += 1
            return None

    def _dispatch(self, routing: list[bytes], msg: Message, t1_ns: int) -> None:
        content, header = msg.content, msg.header
        if isinstance(content, Heartbeat) and content.clock_offset_ns is not None:
            # Before _heard: this very heartbeat is then timed by the offset it brings.
            self._peer_offsets_ns[header.instance_id] = content.clock_offset_ns
            self._peer_offsets_ns.move_to_end(header.instance_id)
            while len(self._peer_offsets_ns) > _MAX_PEERS:
                self._peer_offsets_ns.popitem(last=False)
        self._heard(header, t1_ns)
        if isinstance(content, Heartbeat):
            self.counters["heartbeats"] += 1
            if content.view_frame >= 0:
                self.peer_view_frame = content.view_frame
            ack = HeartbeatAck(
                t0_ns=header.sent_mono_ns,
                t1_ns=t1_ns,
                t2_ns=self.clock.monotonic_ns(),
                event_seq=self.event_seq,
                link_timeout_s=self.link_timeout_s,
                frame_interval_ms=self.frame_interval_ms(),
            )
            self._send(routing, ack, header)
            return
        if not isinstance(content, Request):
            self.counters["unexpected"] += 1
            self._send_error(
                routing, header, "UnexpectedMessage", f"a renderer does not accept {header.msg_type!r}"
            )
            return
        self.counters["requests"] += 1
        cached = self._replies.get(header.msg_id)
        if cached is not None:
            self.counters["duplicates"] += 1
            self._replies.move_to_end(header.msg_id)
            self._send_frames(routing, cached)
            return
        reply = self._answer(msg, t1_ns)
        envelope = self._send(routing, reply, header, msg_type=reply_msg_type_for(header.msg_type))
        if not content.cache_reply:
            return
        self._replies[header.msg_id] = envelope
        while len(self._replies) > self.reply_cache_size:
            self._replies.popitem(last=False)

    def _answer(self, msg: Message, t1_ns: int) -> Reply:
        header = msg.header
        content = msg.content
        assert isinstance(content, Request)
        reply_cls = content.reply_type
        refusal = self._check_request(header, content, t1_ns)
        if refusal is not None:
            ename, evalue = refusal
            return reply_cls(status="error", ename=ename, evalue=evalue)
        try:
            if isinstance(content, HelloRequest):
                return HelloReply(
                    protocol_version=self.codec.protocol_version,
                    software_version=self.software_version,
                    instance_id=self.instance_id,
                    heartbeat_interval_s=self.heartbeat_interval_s,
                    link_timeout_s=self.link_timeout_s,
                    max_message_bytes=self.codec.max_message_bytes,
                    t1_ns=t1_ns,
                    t2_ns=self.clock.monotonic_ns(),
                )
            if isinstance(content, SnapshotRequest):
                return SnapshotReply(state=self.snapshot(), seq=self.event_seq)
            if self.handler is None:
                raise CommandRejected("NotImplemented", f"this renderer does not handle {header.msg_type}")
            self.counters["applied"] += 1
            self.current_message = msg
            try:
                result = self.handler(content)
            finally:
                self.current_message = None
            if result is None:
                return reply_cls()
            if isinstance(result, Reply):
                return result
            return msgspec.convert(dict(result), reply_cls)
        except CommandRejected as exc:
            return reply_cls(status="error", ename=exc.ename, evalue=exc.evalue)
        except Exception as exc:
            self.counters["handler_errors"] += 1
            log.exception("link: handler failed on %s", header.msg_type)
            evalue = f"the renderer failed applying {header.msg_type}: {type(exc).__name__}: {exc}"
            return reply_cls(status="error", ename="InternalError", evalue=evalue)

    def _check_request(self, header: Header, content: Request, t1_ns: int) -> tuple[str, str] | None:
        """Why a request must not be applied (ename, evalue), or None. Safety commands always win:
        they are checked for nothing, and count for the ordering rule like any steering command."""
        steering = content.steering
        if content.priority:
            self._note_steering(header)
            return None
        what = header.msg_type
        if header.target_instance and header.target_instance != self.instance_id:
            self.counters["expired"] += 1
            return _refusal(
                "RendererRestarted",
                f"{what} was meant for a renderer that has since restarted; it was not applied. The "
                "console resynchronises; send it again if it is still wanted",
            )
        if header.deadline_ns and t1_ns > header.deadline_ns:
            self.counters["expired"] += 1
            return _refusal(
                "RequestExpired",
                f"{what} arrived {(t1_ns - header.deadline_ns) / 1e9:.1f} s after the console gave up "
                "on it; it was not applied",
            )
        if not steering:
            return None
        if not header.target_instance or header.seq < 1 or not header.instance_id:
            self.counters["wrong_session"] += 1
            missing = [
                name
                for name, bad in (
                    ("target_instance", not header.target_instance),
                    ("seq", header.seq < 1),
                    ("instance_id", not header.instance_id),
                )
                if bad
            ]
            return _refusal(
                "MissingHeaderField",
                f"{what} is a steering command and needs header {', '.join(missing)} "
                "(docs/protocol.md section 2.1); it was not applied",
            )
        if header.session_id != self.session_id:
            self.counters["wrong_session"] += 1
            mine = self.session_id or "none"
            return _refusal(
                "WrongSession",
                f"{what} is for session {header.session_id or 'none'!r} and this renderer is in session "
                f"{mine!r}; it was not applied. Send set_session first",
            )
        last = self._steer_seq.get(header.instance_id, 0)
        if header.seq <= last:
            self.counters["superseded"] += 1
            return _refusal(
                "Superseded",
                f"{what} (seq {header.seq}) was overtaken by a newer command from this console (seq "
                f"{last}); it was not applied",
            )
        self._note_steering(header)
        return None

    def _note_steering(self, header: Header) -> None:
        if header.instance_id and header.seq > self._steer_seq.get(header.instance_id, 0):
            self._steer_seq[header.instance_id] = header.seq

    def _send_error(self, routing: list[bytes], parent: Header, ename: str, evalue: str) -> None:
        reply_cls = MESSAGE_TYPES.get(reply_msg_type_for(parent.msg_type), ErrorReply)
        if not (isinstance(reply_cls, type) and issubclass(reply_cls, Reply)):
            reply_cls = ErrorReply
        msg_type = reply_msg_type_for(parent.msg_type)
        self._send(routing, reply_cls(status="error", ename=ename, evalue=evalue), parent, msg_type=msg_type)

    def _send(
        self, routing: list[bytes], content: Content, parent: Header | None, *, msg_type: str | None = None
    ) -> bytes:
        if isinstance(content, Reply) and content.status == "error":
            self.counters["error_replies"] += 1
        self._cmd_seq += 1
        header = self.codec.header(msg_type or content.msg_type, seq=self._cmd_seq)
        envelope = self.codec.encode(header, content, parent)
        self._send_frames(routing, envelope)
        return envelope

    def _send_frames(self, routing: list[bytes], envelope: bytes) -> None:
        try:
            self.router.send_multipart([*routing, envelope], zmq.NOBLOCK)
        except zmq.ZMQError:
            self.counters["send_dropped"] += 1

    def _heard(self, header: Header, t1_ns: int) -> None:
        """A message read at ``t1_ns``: silence now counts from when the console sent it. That is
        its ``sent_mono_ns`` moved to this clock by the offset its console reported, held between
        ``_MAX_IN_FLIGHT_NS`` and no time before the read (a wrong offset moves the fade by half a
        second at most); without an offset, the read itself. Dispatch puts a stop first, and a
        retry keeps its first send time, so the newest send time is kept, not the last one."""
        offset = self._peer_offsets_ns.get(header.instance_id)
        sent_ns = t1_ns
        if offset is not None:
            sent_ns = min(t1_ns, max(t1_ns - _MAX_IN_FLIGHT_NS, header.sent_mono_ns + offset))
        last = self._last_heard_ns
        silence_s = 0.0 if last is None else max(0, sent_ns - last) / 1e9
        self._last_heard_ns = sent_ns if last is None else max(last, sent_ns)
        if self.link_state == "ok":
            return
        was_lost = self.link_state == "lost"
        self.link_state = "ok"
        if self.on_link_restored is not None:
            self._callback(self.on_link_restored, silence_s)
        if was_lost:
            self.publish(LinkRestored(silence_s=round(silence_s, 3)))

    def _frame_ns(self) -> int:
        """The median pump interval, at most ``_MAX_FRAME_NS`` (a stalled loop's is no guide)."""
        return min(int(self._median_pump_ns()), _MAX_FRAME_NS)

    def _check_link(self) -> None:
        if self.link_state != "ok" or self._last_heard_ns is None:
            return
        silence_ns = self.clock.monotonic_ns() - self._last_heard_ns
        if silence_ns < self._timeout_ns - _MAX_FRAME_NS // 2:
            return  # the cheap test, every frame
        # The fade starts on the frame nearest the limit: half a frame early at most, not up to a
        # whole frame late.
        if silence_ns < self._timeout_ns - self._frame_ns() // 2:
            return
        self.link_state = "lost"
        self.counters["links_lost"] += 1
        silence_s = silence_ns / 1e9
        if self.on_link_lost is not None:
            self._callback(self.on_link_lost, silence_s)
        self.publish(LinkLost(silence_s=round(silence_s, 3)))

    @staticmethod
    def _callback(fn: Callable[[float], None], arg: float) -> None:
        try:
            fn(arg)
        except Exception:
            log.exception("link: link-state callback failed")


def _refusal(ename: str, evalue: str) -> tuple[str, str]:
    """A request the link layer refuses: its error name (one of ``ERROR_NAMES``) and sentence."""
    return ename, evalue


def _bind(sock: zmq.Socket[bytes], endpoint: str) -> str:
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as exc:
        if exc.errno == zmq.EADDRINUSE:
            raise AddressInUse(
                f"cannot bind {endpoint}: the address is in use (another renderer running there?)", endpoint
            ) from None
        raise LinkError(f"cannot bind {endpoint}: {exc}") from None
    last = sock.getsockopt(zmq.LAST_ENDPOINT)
    return last.decode() if isinstance(last, bytes) else str(last)
