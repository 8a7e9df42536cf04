"""Requests, replies, facts and snapshots between a LinkClient and a LinkServer in one process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vr_exposure.link import CommandRejected, LinkClient, Message
from vr_exposure.link import messages as m

from .fake_renderer import ThreadedRenderer


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
        assert reply.status == "error" and reply.ename == "RuntimeError"
        assert "exploded" in (reply.evalue or "")
        with pytest.raises(CommandRejected) as invalid:
            client.request(m.SetIntensityRequest(intensity=120))
        assert invalid.value.ename == "InvalidMessage" and "$.intensity" in invalid.value.evalue
        # the server survived all of it
        assert client.request(m.PauseRequest()).ok
        assert renderer.server.counters["handler_errors"] == 1
        assert renderer.server.counters["invalid"] == 1
