"""Requests, replies, facts and snapshots between a LinkClient and a LinkServer in one process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vr_exposure.link import CommandRejected, LinkClient, Message
from vr_exposure.link import messages as m

from .fake_renderer import ThreadedRenderer

# Run with every core kept busy: the link must hold on a loaded machine (tests/loadhelpers.py).
pytestmark = pytest.mark.usefixtures("busy_cores")


@pytest.fixture
def renderer() -> Iterator[ThreadedRenderer]:
    r = ThreadedRenderer(link_timeout_s=1.0)
    yield r
    r.close()


def _client(r: ThreadedRenderer, **kw: object) -> LinkClient:
    kw.setdefault("heartbeat_interval_s", 0.1)
    kw.setdefault("timeout_s", 0.5)
    return LinkClient(r.server.command_endpoint, r.server.pub_endpoint, **kw)  # type: ignore[arg-type]


def test_command_reply_and_fact_update_the_mirror(renderer: ThreadedRenderer) -> None:
    events: list[Message] = []
    with _client(renderer, on_event=events.append) as client:
        assert client.wait_until(lambda: client.synced, 5)
        reply = client.request(m.SetIntensityRequest(intensity=40, ramp_s=2))
        assert reply.status == "ok" and isinstance(reply, m.SetIntensityReply)
        assert client.wait_until(lambda: client.state is not None and client.state.target_intensity == 40, 5)
        facts = [e for e in events if isinstance(e.content, m.IntensityChanged)]
        assert facts and facts[0].content.target == 40
        assert facts[0].header.seq == client.event_seq
        parent = facts[0].parent_header
        assert parent is not None and parent.msg_type == "set_intensity_request"
        assert renderer.fake.applied == {parent.msg_id: 1}


def test_rejected_and_failing_commands_become_error_replies(renderer: ThreadedRenderer) -> None:
    with _client(renderer) as client:
        with pytest.raises(CommandRejected) as rejected:
            client.request(m.LoadSceneRequest(scene="missing"))
        assert rejected.value.ename == "UnknownScene"
        reply = client.request(m.TriggerEventRequest(event="boom"), check=False)
        assert reply.status == "error" and reply.ename == "InternalError"
        assert "exploded" in (reply.evalue or "")
        with pytest.raises(CommandRejected) as invalid:
            client.request(m.SetIntensityRequest(intensity=120))
        assert invalid.value.ename == "InvalidMessage" and "$.intensity" in invalid.value.evalue
        # the server survived all of it
        assert client.request(m.PauseRequest()).ok
        assert renderer.server.counters["handler_errors"] == 1
        assert renderer.server.counters["invalid"] == 1


def test_a_gap_in_facts_triggers_a_snapshot(renderer: ThreadedRenderer) -> None:
    with _client(renderer) as client:
        assert client.wait_until(lambda: client.synced, 5)
        before = client.counters["snapshots"]
        with renderer.lock:  # a fact is "lost" on the way: its seq is used but never arrives
            renderer.server.event_seq += 1
            renderer.fake._set(intensity=66.0, target_intensity=66.0)
            renderer.server.publish(m.EventFired(event="wind"))
            renderer.fake._set(active_events=("wind",))
        assert client.wait_until(lambda: client.counters["gaps"] >= 1, 5)
        assert client.wait_until(lambda: client.synced and client.state is not None, 5)
        assert client.counters["snapshots"] > before
        assert client.state is not None and client.state.intensity == 66.0  # only the snapshot knew
        assert client.state.active_events == ("wind",)


def test_a_lost_last_fact_is_noticed_from_heartbeats(renderer: ThreadedRenderer) -> None:
    with _client(renderer) as client:
        assert client.wait_until(lambda: client.synced, 5)
        with renderer.lock:  # the last fact is lost and nothing follows it
            renderer.server.event_seq += 1
            renderer.fake._set(mode="paused")
        assert client.wait_until(lambda: client.state is not None and client.state.mode == "paused", 5)
        assert client.counters["gaps"] == 1


def test_a_quick_renderer_restart_is_reported_and_resynced() -> None:
    first = ThreadedRenderer()
    conns: list[str] = []
    command, pub = first.server.command_endpoint, first.server.pub_endpoint
    with LinkClient(
        command, pub, heartbeat_interval_s=0.2, on_connection=lambda e, d: conns.append(e)
    ) as client:
        assert client.wait_until(lambda: client.synced, 5)
        old_instance = client.renderer_instance
        first.close()
        second = ThreadedRenderer(command_endpoint=command, pub_endpoint=pub)
        try:
            with second.lock:
                second.fake._set(scene="heights", intensity=15.0)
            assert client.wait_until(lambda: client.renderer_instance != old_instance and client.synced, 5)
            assert client.state is not None and client.state.scene == "heights"
            assert "reconnected" in conns and conns.count("connected") == 1
        finally:
            second.close()


def _publish_view(renderer: ThreadedRenderer, frame: int) -> None:
    with renderer.lock:
        renderer.server.publish(m.ViewImage(jpeg=b"\xff\xd8", width=4, height=3, frame=frame))


def test_the_console_acknowledges_mirror_images_in_its_heartbeats(renderer: ThreadedRenderer) -> None:
    with _client(renderer, heartbeat_interval_s=0.5) as client:
        assert client.wait_until(lambda: client.synced, 5)
        assert renderer.server.peer_view_frame == -1
        # A subscription takes a moment to reach the publisher: publish until one arrives.
        frame = 0
        while client.view_frame < 0:
            frame += 1
            _publish_view(renderer, frame)
            client.wait_until(lambda: client.view_frame >= 0, 0.2)
            assert frame < 100, "no view_image arrived"
        # Acknowledged at once (an early heartbeat), not half a second later.
        assert client.wait_until(lambda: renderer.server.peer_view_frame == client.view_frame, 5)
        _publish_view(renderer, frame + 5)
        assert client.wait_until(lambda: renderer.server.peer_view_frame == frame + 5, 5)


def test_the_console_reports_its_clock_offset_in_heartbeats(renderer: ThreadedRenderer) -> None:
    """The renderer's watchdog counts from when the console sent (protocol.md 4): it needs the
    console's clock offset, which each heartbeat after the first ack carries."""
    with _client(renderer, heartbeat_interval_s=0.1) as client:
        assert client.wait_until(lambda: client.synced, 5)
        instance = client.codec.instance_id
        assert client.wait_until(lambda: renderer.server.peer_clock_offset_ns(instance) is not None, 10)
        said, offset = renderer.server.peer_clock_offset_ns(instance), client.clock_sync.offset
        assert said is not None and offset is not None
        # One process, one clock: the true offset is 0, and the estimate is within its uncertainty.
        assert abs(said) <= offset[1] + 1_000_000


def test_a_console_that_does_not_acknowledge_leaves_the_mirror_unthrottled(
    renderer: ThreadedRenderer,
) -> None:
    with _client(renderer, acknowledge_mirror=False) as client:
        assert client.wait_until(lambda: client.synced, 5)
        frame = 0
        while client.view_frame < 0:
            frame += 1
            _publish_view(renderer, frame)
            client.wait_until(lambda: client.view_frame >= 0, 0.2)
            assert frame < 100, "no view_image arrived"
        beats = renderer.server.counters["heartbeats"]
        assert client.wait_until(lambda: renderer.server.counters["heartbeats"] >= beats + 3, 5)
        assert renderer.server.peer_view_frame == -1


def test_link_quality_reports_the_round_trip_and_warns_before_the_link_is_lost(
    renderer: ThreadedRenderer,
) -> None:
    with _client(renderer) as client:
        assert client.wait_until(lambda: client.synced, 5)
        assert client.wait_until(lambda: client.link_quality().round_trip_ms is not None, 5)
        q = client.link_quality()
        assert q.state == "connected" and q.warning is None
        assert q.round_trip_ms is not None and 0 < q.round_trip_ms < 1000
        assert q.round_trip_p95_ms is not None and q.round_trip_p95_ms >= q.round_trip_ms
        assert q.telemetry_loss == 0.0
        renderer.frozen.set()  # the renderer stops answering
        try:
            assert client.wait_until(lambda: client.connection == "degraded", 5)
            warned = client.link_quality()
            assert warned.warning is not None and "counts as lost after" in warned.warning
            assert warned.lost_after_s > warned.silence_s
            assert client.wait_until(lambda: client.connection == "lost", 5)
            # Heartbeats that were never answered count against the link.
            assert client.wait_until(lambda: client.link_quality().late_share > 0, 5)
        finally:
            renderer.frozen.clear()


def test_link_quality_warns_of_a_slow_link(
    renderer: ThreadedRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vr_exposure.link import client as client_module

    monkeypatch.setattr(client_module, "SLOW_ROUND_TRIP_MS", 0.0)  # any round trip is "slow" now
    with _client(renderer) as client:
        assert client.wait_until(lambda: client.link_quality().round_trip_ms is not None, 5)
        warning = client.link_quality().warning
        assert warning is not None and warning.startswith("Slow link: round trip")


def test_a_late_request_is_hedged_on_a_second_connection_and_applied_once(renderer: ThreadedRenderer) -> None:
    with _client(renderer, timeout_s=5.0, heartbeat_interval_s=0.5) as client:
        assert client.wait_until(lambda: client.synced and len(client.clock_sync.samples) >= 2, 10)
        duplicates = renderer.server.counters["duplicates"]
        # The renderer stalls (as a lost TCP segment would hold the request): past the median
        # round trip + 100 ms the console sends the same frame once more on the hedge socket.
        with renderer.lock:  # the renderer's loop cannot pump while this is held
            msg_id = client.send(m.SetIntensityRequest(intensity=55))
            assert client.wait_until(lambda: client.counters["hedged"] == 1, 5), client.counters
        assert client.wait_until(lambda: client.counters["late_replies"] >= 1, 5), client.counters
        assert renderer.fake.applied == {msg_id: 1}  # applied once, the copy answered from the cache
        assert renderer.server.counters["duplicates"] == duplicates + 1
        assert client.counters["failed"] == 0
        assert client.request(m.SetIntensityRequest(intensity=56)).ok


def test_without_hedging_there_is_no_second_connection(renderer: ThreadedRenderer) -> None:
    with _client(renderer, hedge=False) as client:
        assert client.hedge_socket is None and len(client.fds()) == 2
        assert client.wait_until(lambda: client.synced, 5)
        assert client.request(m.SetIntensityRequest(intensity=10)).ok


def test_deferred_and_threaded_telemetry_arrive_encoded_in_order(renderer: ThreadedRenderer) -> None:
    """Telemetry the frame loop defers (encoded on the publisher thread) and samples published from
    another thread arrive whole, numbered in order, with the session current when they were made."""
    import threading

    poses: list[Message] = []
    views: list[Message] = []

    def on_telemetry(msg: Message) -> None:
        if msg.header.msg_type not in ("head_pose", "view_image"):
            return
        (poses if msg.header.msg_type == "head_pose" else views).append(msg)

    with _client(renderer, on_event=on_telemetry) as client:
        assert client.wait_until(lambda: client.synced, 5)
        frame = 0
        # A subscription takes a moment to reach the publisher: publish until one arrives.
        while not poses:
            frame += 1
            with renderer.lock:
                renderer.server.publish(
                    "head_pose",
                    {
                        "frame": frame,
                        "t_mono_ns": frame,
                        "position_m": (0.0, 1.2, 0.0),
                        "orientation_xyzw": (0.0, 0.0, 0.0, 1.0),
                    },
                    defer=True,
                )
                renderer.server.flush_published()
            client.wait_until(lambda: bool(poses), 0.2)
            assert frame < 100, "no head_pose arrived"
        first = frame
        with renderer.lock:
            for i in range(1, 51):
                renderer.server.publish(
                    "head_pose",
                    {
                        "frame": first + i,
                        "t_mono_ns": first + i,
                        "position_m": (0.0, 1.2, 0.0),
                        "orientation_xyzw": (0.0, 0.0, 0.0, 1.0),
                    },
                    defer=True,
                )
            renderer.server.flush_published()
        sender = threading.Thread(
            target=lambda: [
                renderer.server.publish_from_thread(
                    "view_image", {"jpeg": b"\xff\xd8", "width": 4, "height": 3, "frame": k}
                )
                for k in range(20)
            ]
        )
        sender.start()
        sender.join(10)
        assert client.wait_until(lambda: len(poses) >= 51 and len(views) >= 20, 10)
        frames = [p.content.frame for p in poses]
        assert frames[-51:] == list(range(first, first + 51))
        seqs = [p.header.seq for p in poses]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert [v.content.frame for v in views] == list(range(20))
        assert client.telemetry_lost.get("head_pose", 0) == 0
        with pytest.raises(ValueError, match="not a telemetry type"):
            renderer.server.publish_from_thread("event_fired", {"event": "x"})
