"""LinkServer driven by hand (no thread): dedup, priority, error replies, bounds, link loss, fuzzing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vr_exposure.core.clock import FakeClock
from vr_exposure.errors import LinkError
from vr_exposure.link import Codec, LinkServer, Message
from vr_exposure.link import messages as m

from .fake_renderer import FakeRenderer

# Run with every core kept busy: the link must hold on a loaded machine (tests/loadhelpers.py).
pytestmark = pytest.mark.usefixtures("busy_cores")


class RawPeer:
    """A bare DEALER speaking the wire format by hand, as a foreign console would."""

    def __init__(
        self,
        endpoint: str,
        *,
        protocol_version: str = m.PROTOCOL_VERSION,
        target: str = "",
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
    ) -> None:
        self._own_ctx = context is None
        self.ctx: zmq.Context[zmq.Socket[bytes]] = context if context is not None else zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(endpoint)
        self.codec = Codec("console", protocol_version=protocol_version)
        self.target = target
        self._seq = 0

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def frames(self, content: m.Content, **header: Any) -> list[bytes]:
        """A frame as a well-behaved console sends it: a steering request names the renderer and
        carries the console's next request seq (unless the test says otherwise)."""
        if isinstance(content, m.Request) and content.steering:
            header.setdefault("target_instance", self.target)
            header.setdefault("seq", self.next_seq())
        return [self.codec.build(content, **header)[1]]

    def send(self, frames: list[bytes]) -> None:
        self.sock.send_multipart(frames)

    def raw(self, header: m.Header, content: bytes) -> list[bytes]:
        """An envelope written by hand, as a peer in another language would."""
        return [
            b'{"header": %s, "parent_header": null, "content": %s}' % (msgspec.json.encode(header), content)
        ]

    def recv(self, server: LinkServer, timeout_s: float = 3.0) -> Message:
        """Pump the server until a reply arrives; decode it leniently (any protocol version)."""
        for _ in range(int(timeout_s / 0.005)):
            server.pump()
            if self.sock.poll(5):
                envelope = msgspec.json.decode(self.sock.recv_multipart()[-1])
                header = msgspec.convert(envelope["header"], m.Header)
                parent = msgspec.convert(envelope["parent_header"], m.Header | None)
                cls = m.MESSAGE_TYPES.get(header.msg_type, m.ErrorReply)
                return Message(header, parent, msgspec.convert(envelope["content"], cls))
        raise AssertionError("no reply from the server")

    def close(self) -> None:
        self.sock.close()
        if self._own_ctx:
            self.ctx.term()


@pytest.fixture
def fake() -> Iterator[FakeRenderer]:
    f = FakeRenderer({"command_endpoint": "tcp://127.0.0.1:*", "pub_endpoint": "tcp://127.0.0.1:*"})
    yield f
    f.close()


@pytest.fixture
def peer(fake: FakeRenderer) -> Iterator[RawPeer]:
    p = RawPeer(fake.server.command_endpoint, target=fake.server.instance_id)
    yield p
    p.close()


def _wait_received(server: LinkServer, n: int) -> None:
    for _ in range(600):
        if server.counters["received"] >= n:
            return
        server.wait(5)
        server.pump()
    raise AssertionError(f"server read {server.counters['received']} messages, expected {n}")


def test_a_retried_msg_id_is_answered_from_the_cache_not_applied_again(
    fake: FakeRenderer, peer: RawPeer
) -> None:
    frames = peer.frames(m.SetIntensityRequest(intensity=30))
    peer.send(frames)
    first = peer.recv(fake.server)
    peer.send(frames)
    peer.send(frames)
    second = peer.recv(fake.server)
    third = peer.recv(fake.server)
    assert first.content == second.content == third.content
    assert first.header.msg_id == second.header.msg_id  # the cached reply, byte for byte
    assert sum(fake.applied.values()) == 1
    assert fake.server.counters["duplicates"] == 2


def _inproc_pair() -> tuple[FakeRenderer, RawPeer, zmq.Context[zmq.Socket[bytes]]]:
    """A renderer and a console on one in-process transport: a message sent is in the renderer's
    queue when ``send`` returns, so the next pump reads all of them at once, loaded machine or not."""
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    f = FakeRenderer({"command_endpoint": "inproc://cmd", "pub_endpoint": "inproc://pub", "context": ctx})
    return f, RawPeer("inproc://cmd", target=f.server.instance_id, context=ctx), ctx


def test_safe_place_and_stop_jump_the_queue_and_win() -> None:
    fake, peer, ctx = _inproc_pair()
    try:
        queued = [
            m.PauseRequest(),
            m.SetIntensityRequest(intensity=80),
            m.SafePlaceRequest(fade_s=1.0),
            m.TriggerEventRequest(event="spider-drop"),
            m.StopRequest(reason="patient asked"),
        ]
        for content in queued:
            peer.send(peer.frames(content))
        assert fake.server.pump() == len(queued)  # all five in one frame, deterministically
        # Safety first, in arrival order; the rest were issued before the stop: overtaken by it.
        assert fake.order == ["safe_place_request", "stop_request"]
        replies = {}
        while peer.sock.poll(0):
            reply = peer.recv(fake.server)
            assert reply.parent_header is not None
            replies[reply.parent_header.msg_type] = reply.content
        assert {k: getattr(v, "ename", None) for k, v in replies.items()} == {
            "safe_place_request": None,
            "stop_request": None,
            "pause_request": "Superseded",
            "set_intensity_request": "Superseded",
            "trigger_event_request": "Superseded",
        }
        assert fake.server.counters["superseded"] == 3
        # A command issued after the stop is newer, and is applied.
        peer.send(peer.frames(m.SafePlaceRequest()))
        peer.send(peer.frames(m.LeaveSafePlaceRequest()))
        fake.server.pump()
        assert fake.order[2:] == ["safe_place_request", "leave_safe_place_request"]
    finally:
        peer.close()
        fake.close()
        ctx.term()


def test_a_delayed_older_command_never_overrides_a_newer_one() -> None:
    fake, peer, ctx = _inproc_pair()
    try:
        older = peer.frames(m.SetIntensityRequest(intensity=5))  # issued first, delayed on the way
        newer = peer.frames(m.SetIntensityRequest(intensity=63))
        peer.send(newer)
        assert peer.recv(fake.server).content == m.SetIntensityReply()
        peer.send(older)  # arrives late (a retry, or a slow path): refused, the view stays at 63
        late = peer.recv(fake.server).content
        assert isinstance(late, m.Reply) and late.ename == "Superseded"
        assert "seq 1" in (late.evalue or "") and "seq 2" in (late.evalue or "")
        assert fake.state.target_intensity == 63
        peer.send(newer)  # a retry of the applied one: the cached reply, not applied again
        assert peer.recv(fake.server).content == m.SetIntensityReply()
        assert fake.order == ["set_intensity_request"]
        # Another console's counter is its own.
        other = RawPeer("inproc://cmd", target=fake.server.instance_id, context=ctx)
        try:
            other.send(other.frames(m.SetIntensityRequest(intensity=40)))
            assert other.recv(fake.server).content == m.SetIntensityReply()
        finally:
            other.close()
        assert fake.state.target_intensity == 40
    finally:
        peer.close()
        fake.close()
        ctx.term()


def test_steering_commands_need_target_seq_and_the_session() -> None:
    fake, peer, ctx = _inproc_pair()
    try:
        cases = [
            ({"target_instance": ""}, "MissingHeaderField", "target_instance"),
            ({"seq": 0}, "MissingHeaderField", "seq"),
            ({"target_instance": "0123456789abcdef"}, "RendererRestarted", "restarted"),
        ]
        for header, ename, words in cases:
            peer.send(peer.frames(m.PauseRequest(), **header))
            reply = peer.recv(fake.server).content
            assert isinstance(reply, m.Reply) and reply.ename == ename, header
            assert words in (reply.evalue or "")
        fake.server.session_id = "S1"
        peer.send(peer.frames(m.PauseRequest()))  # the console has not joined session S1
        reply = peer.recv(fake.server).content
        assert isinstance(reply, m.Reply) and reply.ename == "WrongSession"
        assert "'S1'" in (reply.evalue or "") and "set_session" in (reply.evalue or "")
        assert not fake.order
        # The safe place and stop always win: no target, no seq, another session.
        peer.send(peer.frames(m.SafePlaceRequest(), target_instance="", seq=0))
        peer.send(peer.frames(m.StopRequest(), target_instance="0123456789abcdef"))
        fake.server.pump()
        assert fake.order == ["safe_place_request", "stop_request"]
        assert [peer.recv(fake.server).content.status for _ in range(2)] == ["ok", "ok"]  # type: ignore[attr-defined]
        # Housekeeping and non-steering requests need none of it.
        peer.send(peer.frames(m.SudsPromptRequest(probe_id="p1")))
        assert peer.recv(fake.server).content == m.SudsPromptReply()
        peer.codec.session_id = "S1"
        peer.send(peer.frames(m.LeaveSafePlaceRequest()))
        assert peer.recv(fake.server).content == m.LeaveSafePlaceReply()
    finally:
        peer.close()
        fake.close()
        ctx.term()


def test_pump_work_is_bounded(fake: FakeRenderer, peer: RawPeer) -> None:
    for _ in range(10):
        peer.send(peer.frames(m.Heartbeat()))
    reads: list[int] = []
    for _ in range(1000):
        if sum(reads) >= 10:
            break
        fake.server.wait(5)
        reads.append(fake.server.pump(max_messages=3))
    assert sum(reads) == 10
    assert max(reads) == 3 and len([r for r in reads if r]) >= 4


def test_unknown_type_and_unknown_fields(fake: FakeRenderer, peer: RawPeer) -> None:
    header = peer.codec.header("teleport_request")
    peer.send(peer.raw(header, b'{"where": "moon"}'))
    reply = peer.recv(fake.server)
    assert reply.header.msg_type == "teleport_reply"
    assert isinstance(reply.content, m.Reply)
    assert (reply.content.status, reply.content.ename) == ("error", "UnknownMessageType")
    assert reply.parent_header is not None and reply.parent_header.msg_id == header.msg_id
    assert fake.server.counters["unknown_type"] == 1
    # a newer MINOR version may add fields: they are ignored, the command works
    header = peer.codec.header(
        "set_intensity_request", target_instance=fake.server.instance_id, seq=peer.next_seq()
    )
    peer.send(peer.raw(header, b'{"intensity": 25, "colour": "red"}'))
    assert peer.recv(fake.server).content == m.SetIntensityReply()
    assert fake.state.intensity == 25


def test_another_major_version_gets_a_clear_error(fake: FakeRenderer) -> None:
    future = RawPeer(fake.server.command_endpoint, protocol_version="3.0")
    try:
        future.send(future.frames(m.HelloRequest()))
        reply = future.recv(fake.server)
    finally:
        future.close()
    assert isinstance(reply.content, m.Reply)
    assert reply.content.ename == "ProtocolVersionMismatch"
    assert "3.0" in (reply.content.evalue or "") and m.PROTOCOL_VERSION in (reply.content.evalue or "")
    assert fake.server.counters["version_mismatch"] == 1 and not fake.applied
    minor = RawPeer(fake.server.command_endpoint, protocol_version="2.9")
    try:
        minor.send(minor.frames(m.HelloRequest()))
        assert minor.recv(fake.server).content.status == "ok"  # type: ignore[attr-defined]
    finally:
        minor.close()


def test_oversized_and_truncated_messages_are_counted() -> None:
    server = LinkServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", max_message_bytes=4096)
    try:
        p = RawPeer(server.command_endpoint)
        big = p.frames(m.TriggerEventRequest(event="x" * 5000))
        p.send(big)  # dropped and counted: a reply would cost the parse the limit exists to avoid
        p.send([big[0][:100]])  # truncated: no header to answer to
        p.send([b"garbage"])
        p.send([b"{}", b"{}"])  # a multipart of which the last frame is no envelope
        _wait_received(server, 4)
        assert server.counters["oversized"] == 1
        assert server.counters["malformed"] == 3
        p.send(p.frames(m.HelloRequest()))
        assert isinstance(p.recv(server).content, m.HelloReply)
        p.close()
    finally:
        server.close()


def test_link_lost_after_silence_and_restored(fake: FakeRenderer) -> None:
    clock = FakeClock()
    lost: list[float] = []
    restored: list[float] = []
    server = LinkServer(
        "tcp://127.0.0.1:*",
        "tcp://127.0.0.1:*",
        clock=clock,
        link_timeout_s=5.0,
        on_link_lost=lost.append,
        on_link_restored=restored.append,
    )
    p = RawPeer(server.command_endpoint)
    try:
        server.pump()
        clock.advance(60)
        server.pump()
        assert server.link_state == "waiting" and not lost  # no console yet: nothing was lost
        p.send(p.frames(m.Heartbeat()))
        assert isinstance(p.recv(server).content, m.HeartbeatAck)
        assert server.link_state == "ok" and restored == [0.0]
        clock.advance(4.9)
        server.pump()
        assert not lost
        clock.advance(0.2)
        server.pump()
        server.pump()
        assert server.link_state == "lost" and lost == [pytest.approx(5.1)]
        p.send(p.frames(m.Heartbeat()))
        p.recv(server)
        assert server.link_state == "ok" and len(restored) == 2
        assert server.event_seq == 2  # link_lost and link_restored were published as facts
    finally:
        p.close()
        server.close()


def _silent_frames_until_lost(server: LinkServer, clock: FakeClock, frame_s: float, limit: int) -> int:
    """Frames of ``frame_s`` after the last message read until the renderer counts the link lost."""
    for k in range(1, limit + 1):
        clock.advance(frame_s)
        server.pump()
        if server.link_state == "lost":
            return k
    raise AssertionError(f"the link was not lost within {limit} frames")


@pytest.mark.parametrize(
    ("sent_before_read_s", "frames"),
    [
        # No clock offset said (a 2.1 console): silence counts from the read; the frame nearest
        # 5 s is frame 250 (5.000 s), the first one at or past 5 s - half a frame.
        (None, 250),
        # Sent 80 ms before it was read: the fade comes on the frame nearest 5 s after the send.
        (0.08, 246),
        # An offset that puts the send 3 s back is not believed past 0.5 s.
        (3.0, 225),
        # Nor one that puts it after the read.
        (-0.3, 250),
    ],
)
def test_watchdog_counts_from_when_the_console_sent(sent_before_read_s: float | None, frames: int) -> None:
    clock = FakeClock()
    lost: list[float] = []
    server = LinkServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", clock=clock, on_link_lost=lost.append)
    p = RawPeer(server.command_endpoint)
    p.codec.clock = console_clock = FakeClock(start_s=50.0)  # another machine's clock
    try:
        for _ in range(40):  # a 20 ms frame loop, so the renderer knows its frame interval
            clock.advance(0.02)
            server.pump()
        offset_ns = None
        if sent_before_read_s is not None:
            # What the console estimates: the renderer's clock minus its own (protocol.md 8).
            offset_ns = clock.monotonic_ns() - int(sent_before_read_s * 1e9) - console_clock.monotonic_ns()
        p.send(p.frames(m.Heartbeat(clock_offset_ns=offset_ns)))
        assert isinstance(p.recv(server).content, m.HeartbeatAck)
        assert _silent_frames_until_lost(server, clock, 0.02, 400) == frames
        sent_before_read_s = min(0.5, max(0.0, sent_before_read_s or 0.0))
        assert lost == [pytest.approx(frames * 0.02 + sent_before_read_s, abs=1e-6)]
        assert abs(lost[0] - 5.0) <= 0.01  # within half a frame of 5 s
    finally:
        p.close()
        server.close()


def test_each_console_s_clock_offset_is_its_own() -> None:
    """Two consoles on two machines: the offset one reports says nothing of the other's clock."""
    clock = FakeClock()
    server = LinkServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", clock=clock)
    a, b = RawPeer(server.command_endpoint), RawPeer(server.command_endpoint)
    a.codec.clock, b.codec.clock = FakeClock(start_s=50.0), FakeClock(start_s=900.0)
    try:
        offset_a = clock.monotonic_ns() - int(0.2e9) - a.codec.clock.monotonic_ns()
        a.send(a.frames(m.Heartbeat(clock_offset_ns=offset_a)))
        a.recv(server)
        assert server.silence_s() == pytest.approx(0.2)
        b.send(b.frames(m.Heartbeat()))  # b said no offset: its message counts from its read
        b.recv(server)
        assert server.silence_s() == 0.0
    finally:
        a.close()
        b.close()
        server.close()


def test_non_loopback_bind_without_curve_is_refused() -> None:
    with pytest.raises(LinkError, match="refusing to bind tcp://0.0.0.0:.* without CURVE"):
        LinkServer("tcp://0.0.0.0:*", "tcp://127.0.0.1:*")
    with pytest.raises(LinkError, match="without CURVE"):
        LinkServer("tcp://127.0.0.1:*", "tcp://*:*")


_header_dict = st.fixed_dictionaries(
    {},
    optional={
        "msg_id": st.one_of(st.text(max_size=8), st.integers()),
        "msg_type": st.sampled_from(
            ["set_intensity_request", "heartbeat", "stop_request", "teleport", "", 7]
        ),
        "protocol_version": st.sampled_from(["1.0", "2.0", "", "x", None, 2, 2.0, [], {}]),
        "seq": st.integers(-(2**70), 2**70),
        "deadline_ns": st.one_of(st.integers(-(2**70), 2**70), st.text(max_size=4)),
    },
)
_envelope = st.fixed_dictionaries(
    {},
    optional={
        "header": st.one_of(_header_dict, st.none(), st.integers()),
        "parent_header": st.one_of(_header_dict, st.none(), st.just({})),
        "content": st.one_of(
            st.dictionaries(
                st.sampled_from(["intensity", "ramp_s", "reason", "event"]),
                st.one_of(st.floats(allow_nan=True), st.text(max_size=8), st.none()),
            ),
            st.lists(st.integers(), max_size=3),
        ),
    },
)
_frame = st.one_of(
    st.binary(max_size=64),
    st.builds(msgspec.json.encode, _envelope),
    st.builds(lambda e, n: msgspec.json.encode(e)[:n], _envelope, st.integers(0, 60)),  # truncated
    st.builds(lambda n: b'{"header": "' + b"x" * n + b'"}', st.integers(4000, 9000)),  # oversized
)


def test_fuzzed_frames_never_crash_or_wedge_the_server() -> None:
    server = LinkServer(
        "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", max_message_bytes=4096, handler=lambda r: None
    )
    p = RawPeer(server.command_endpoint, target=server.instance_id)
    sent = 0
    try:

        @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.lists(_frame, min_size=1, max_size=6))
        def fuzz(frames: list[bytes]) -> None:
            nonlocal sent
            p.send(frames)
            sent += 1
            _wait_received(server, sent)

        fuzz()
        bad = sum(
            server.counters[k]
            for k in ("malformed", "oversized", "unknown_type", "version_mismatch", "invalid")
        )
        assert bad > 0
        assert server.counters["received"] == sent
        # drain whatever error replies came back, then prove the server still works
        while p.sock.poll(0):
            p.sock.recv_multipart()
        p.send(p.frames(m.SetIntensityRequest(intensity=10)))
        reply = p.recv(server)
        assert reply.content == m.SetIntensityReply()
    finally:
        p.close()
        server.close()
