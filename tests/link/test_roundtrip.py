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
