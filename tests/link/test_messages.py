"""Messages, codec, liveness, clock offset and version handling, without sockets where possible."""

from __future__ import annotations

import threading

import msgspec
import pytest

from vr_exposure.core.clock import FakeClock
from vr_exposure.link import (
    MESSAGE_TYPES,
    ClockSync,
    Codec,
    DecodeError,
    LinkClient,
    LinkServer,
    Liveness,
    ProtocolVersionMismatch,
    RendererState,
    apply_fact,
)
from vr_exposure.link import messages as m

_EXAMPLES: dict[str, dict[str, object]] = {
    "load_scene_request": {"scene": "spiders", "preset": "rung-3", "intensity": 30},
    "set_intensity_request": {"intensity": 55.5, "ramp_s": 2},
    "apply_preset_request": {"preset": "rung-2"},
    "trigger_event_request": {"event": "spider-drop", "strength": 0.4},
    "start_schedule_request": {"schedule_id": "r3-0", "event": "cough", "every_s": [20, 60], "strength": 0.5},
    "stop_schedule_request": {"schedule_id": "r3-0"},
    "schedule_started": {"schedule": {"schedule_id": "r3-1", "event": "applause", "at_s": 240}},
    "schedule_ended": {"schedule_id": "r3-1", "event": "applause", "reason": "done", "fired": 1},
    "suds_prompt_request": {"probe_id": "p1", "scale_max": 10},
    "suds_prompt_cancel_request": {"probe_id": "p1"},
    "set_session_request": {"session_id": "20261124T085300Z-P042-3fa2", "pseudonym": "P042"},
    "journal_files_request": {"session_id": "20261124T085300Z-P042-3fa2"},
    "journal_chunk_request": {"session_id": "S1", "file": "renderer.jsonl", "offset": 9},
    "journal_release_request": {"session_id": "20261124T085300Z-P042-3fa2"},
    "scene_loaded": {"scene": "spiders"},
    "intensity_changed": {"intensity": 10, "target": 40, "ramp_s": 3},
    "preset_applied": {"preset": "rung-2"},
    "event_fired": {"event": "spider-drop", "strength": 0.5, "schedule_id": "r3-0"},
    "event_ended": {"event": "spider-drop"},
    "suds_prompt_shown": {"probe_id": "p1"},
    "suds_prompt_closed": {"probe_id": "p1"},
    "rating_recorded": {"value": 7, "scale_max": 10, "probe_id": "p1"},
    "session_set": {"session_id": "s"},
    "headset_changed": {"status": "off", "reason": "the XR session went to VISIBLE"},
    "view_recentered": {"source": "runtime", "yaw_deg": 30.0, "offset_m": [0.1, 0.2, 0.0]},
    "state": {"state": {"scene": "spiders", "intensity": 20}},
    "head_pose": {"frame": 3, "t_mono_ns": 5, "position_m": [0, 1.6, 0], "orientation_xyzw": [0, 0, 0, 1]},
    "frame_timing": {"median_ms": 11.1, "p99_ms": 12.5},
    "view_image": {"jpeg": b"\xff\xd8\xff", "width": 64, "height": 48},
    "stimulus_positions": {
        "frame": 3,
        "t_mono_ns": 5,
        "stimuli": [{"node": "spider-00", "tag": "spider", "position_m": [0.1, 2.0, 0.8]}],
    },
}


@pytest.mark.parametrize("msg_type", sorted(MESSAGE_TYPES))
def test_every_message_type_round_trips(msg_type: str) -> None:
    cls = MESSAGE_TYPES[msg_type]
    content = msgspec.convert(_EXAMPLES.get(msg_type, {}), cls)
    assert content.msg_type == msg_type
    codec = Codec("renderer")
    parent = codec.header("set_intensity_request")
    header, frame = codec.build(content, parent=parent, seq=7)
    msg = Codec("console").decode(frame)
    assert msg.content == content and msg.header == header and msg.parent_header == parent
    assert msg.header.seq == 7 and msg.header.protocol_version == m.PROTOCOL_VERSION


def test_requests_and_replies_pair_up() -> None:
    for msg_type, cls in MESSAGE_TYPES.items():
        if msg_type.endswith("_request"):
            assert issubclass(cls, m.Request)
            assert cls.reply_type.msg_type == m.reply_msg_type_for(msg_type), msg_type
    assert {t for t, c in MESSAGE_TYPES.items() if getattr(c, "priority", False)} == {
        "safe_place_request",
        "stop_request",
    }


def test_codec_errors_name_what_is_wrong() -> None:
    codec = Codec("renderer", max_message_bytes=1000)
    with pytest.raises(DecodeError) as e:
        codec.decode(b"not json")
    assert e.value.ename == "MalformedMessage" and e.value.header is None
    _, frame = Codec("console", protocol_version="3.1").build(m.PauseRequest())
    with pytest.raises(DecodeError) as e:
        codec.decode(frame)
    assert e.value.ename == "ProtocolVersionMismatch" and e.value.header is not None
    assert "3.1" in e.value.evalue
    with pytest.raises(DecodeError) as e:
        codec.decode(b"x" * 1001)
    assert e.value.ename == "MessageTooLarge"
    header = msgspec.json.encode(Codec("console").header("set_intensity_request"))
    with pytest.raises(DecodeError) as e:
        codec.decode(b'{"header": %s, "content": {"intensity": "high"}}' % header)
    assert e.value.ename == "InvalidMessage" and "$.intensity" in e.value.evalue


def test_apply_fact_mirrors_the_renderer() -> None:
    s = RendererState()
    s = apply_fact(s, m.SceneLoaded(scene="heights", preset="rung-1", intensity=20))
    assert (s.scene, s.preset, s.intensity, s.mode) == ("heights", "rung-1", 20, "running")
    s = apply_fact(s, m.IntensityChanged(intensity=20, target=60, ramp_s=5))
    assert (s.intensity, s.target_intensity) == (20, 60)
    s = apply_fact(s, m.EventFired(event="wind"))
    s = apply_fact(s, m.SafePlaceEntered(source="patient"))
    assert s.mode == "safe_place" and s.active_events == ("wind",)
    s = apply_fact(s, m.EventEnded(event="wind"))
    s = apply_fact(s, m.SafePlaceLeft())
    assert s.mode == "running" and s.active_events == ()
    s = apply_fact(s, m.SudsPromptShown(probe_id="p1"))
    assert s.suds_prompt == "p1"
    s = apply_fact(s, m.SudsPromptClosed(probe_id="p1"))
    s = apply_fact(s, m.LinkLost(silence_s=5))
    assert s.suds_prompt is None and s.link == "lost"
    truth = RendererState(scene="x", intensity=99)
    assert apply_fact(s, m.StateChanged(state=truth)) == truth


def test_liveness_states() -> None:
    clock = FakeClock()
    live = Liveness(interval_s=0.5, liveness=3, clock=clock)
    assert live.state == "connecting" and live.update() is None
    assert live.heard() == "connected"
    clock.advance(0.7)
    assert live.update() is None  # one heartbeat is never "late" by design
    clock.advance(0.1)
    assert live.update() == "degraded"
    clock.advance(0.9)  # 1.7 s
    assert live.update() is None and live.missed() == 2
    clock.advance(0.1)  # 1.8 s > (3 + 0.5) x 0.5
    assert live.update() == "lost" and live.lost_after_s == 1.75
    assert live.heard() == "connected"


def test_clock_sync_picks_the_fastest_round_trip() -> None:
    sync = ClockSync(window=8)
    assert sync.offset is None
    # renderer clock = console clock + 1000; one-way delays 10/10, then a queued 10/300
    sync.add(t0_ns=100, t1_ns=1110, t2_ns=1120, t3_ns=130)
    sync.add(t0_ns=200, t1_ns=1210, t2_ns=1220, t3_ns=520)
    assert sync.offset == (1000, 10)
    assert sync.add(t0_ns=300, t1_ns=1000, t2_ns=900, t3_ns=400) is None  # t2 < t1: nonsense
    assert sync.to_renderer_ns(5) == 1005


def test_console_and_renderer_of_different_major_versions_say_so_clearly() -> None:
    server = LinkServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", protocol_version="3.0")
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            server.wait(5)
            server.pump()

    t = threading.Thread(target=loop)
    t.start()
    events: list[tuple[str, str]] = []
    try:
        with LinkClient(
            server.command_endpoint,
            server.pub_endpoint,
            heartbeat_interval_s=0.05,
            on_connection=lambda e, d: events.append((e, d)),
        ) as client:
            assert client.wait_until(lambda: client.connection == "incompatible", 5)
            assert events[0][0] == "incompatible"
            words = f"renderer speaks protocol 3.0 and this console speaks {m.PROTOCOL_VERSION}"
            assert words in events[0][1]
            with pytest.raises(ProtocolVersionMismatch, match="protocol 3.0"):
                client.request(m.PauseRequest())
    finally:
        stop.set()
        t.join()
        assert server.counters["version_mismatch"] >= 1 and server.counters["applied"] == 0
        server.close()
