"""docs/protocol.md against the code: every error name, every message type, liveness at low frame
rates, the fact -> state rules and a bad protocol_version type."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from vr_exposure.core.clock import FakeClock
from vr_exposure.link import Codec
from vr_exposure.link import messages as m
from vr_exposure.link.codec import DecodeError
from vr_exposure.link.errors import ERROR_NAMES
from vr_exposure.link.liveness import MAX_FRAME_ALLOWANCE_S, Liveness

ROOT = Path(__file__).resolve().parents[2]
SPEC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = SPEC.index(title)
    end = SPEC.find("\n#", start + len(title))
    return SPEC[start : end if end > 0 else None]


def test_every_error_name_is_in_the_spec_and_nothing_else_is() -> None:
    table = _section("### 3.1 Error names")
    documented = set(re.findall(r"^\| `([A-Za-z]+)` \|", table, flags=re.M)) - {"ename"}
    assert documented == set(ERROR_NAMES)


def test_every_ename_the_code_can_answer_with_is_a_known_name() -> None:
    """Scan the package for the names it refuses with; a new one must be added to ERROR_NAMES (and
    so to the spec)."""
    used: set[str] = set()
    for path in (ROOT / "vr_exposure").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'CommandRejected\(\s*"([A-Za-z]+)"', text))
        used |= set(re.findall(r'DecodeError\(\s*"([A-Za-z]+)"', text))
        used |= set(re.findall(r'_refusal\(\s*"([A-Za-z]+)"', text))
        used |= set(re.findall(r'_send_error\(\s*[a-z_]+,\s*[a-z_.]+,\s*"([A-Za-z]+)"', text))
    used.discard("MalformedMessage")  # never answered: no header to answer to
    used.discard("MessageTooLarge")  # never answered: see section 9
    assert used, "the scan found nothing"
    assert used <= set(ERROR_NAMES), used - set(ERROR_NAMES)


def test_every_message_type_is_in_the_spec() -> None:
    for msg_type in m.MESSAGE_TYPES:
        assert f"`{msg_type}`" in SPEC or f"`{m.verb_of(msg_type)}`" in SPEC, msg_type


def test_the_steering_commands_are_the_ones_the_spec_names() -> None:
    steering = {mt for mt, cls in m.MESSAGE_TYPES.items() if getattr(cls, "steering", False)}
    table = _section("### 3.2 Ordering")
    listed = {f"{v}_request" for v in re.findall(r"`([a-z_]+)`", table.split("\n\n")[1])}
    assert steering == listed


def test_liveness_allows_for_a_slow_frame_rate_but_still_loses_a_silent_renderer() -> None:
    clock = FakeClock()
    live = Liveness(interval_s=0.5, clock=clock)
    live.heard()
    live.set_frame_interval(1.0)  # 1 fps: acks up to a second late
    clock.advance(0.5 * 1.5 + 1.9)
    assert live.update() is None and live.state == "connected"
    clock.advance(0.2)
    assert live.update() == "degraded"
    clock.advance(1.0)
    assert live.update() == "lost"
    assert live.lost_after_s == pytest.approx(1.75 + 2.0)
    live.reset()
    live.heard()
    live.set_frame_interval(60.0)  # a frozen renderer's last word cannot excuse a minute of silence
    assert live.allowance_s == MAX_FRAME_ALLOWANCE_S


@pytest.mark.parametrize("version", [2, 2.0, None, [], {"major": 2}])
def test_a_protocol_version_of_the_wrong_type_gets_an_error_reply(version: object) -> None:
    codec = Codec("renderer")
    frame = msgspec.json.encode(
        {"header": {"msg_id": "a-1", "msg_type": "pause_request", "protocol_version": version}, "content": {}}
    )
    with pytest.raises(DecodeError) as err:
        codec.decode(frame)
    assert err.value.ename == "ProtocolVersionMismatch"
    assert err.value.header is not None and err.value.header.msg_id == "a-1"
    assert "must be a string" in err.value.evalue


def test_facts_change_the_mirrored_state_as_the_spec_says() -> None:
    s = m.RendererState()
    s = m.apply_fact(s, m.SceneLoaded(scene="spiders", preset="jar-far", intensity=20))
    assert (s.preset, s.fading, s.mode) == ("jar-far", True, "running")
    s = m.apply_fact(s, m.FadeEnded(scene="spiders"))
    assert not s.fading
    s = m.apply_fact(s, m.IntensityChanged(intensity=20, target=63, ramp_s=1))
    assert (s.preset, s.target_intensity) == (None, 63)  # a free intensity leaves the preset
    s = m.apply_fact(s, m.SafePlaceEntered())
    assert (s.mode, s.fading) == ("safe_place", True)
    s = m.apply_fact(s, m.SafePlaceLeft())
    assert (s.mode, s.fading, s.return_intensity) == ("running", True, None)
    assert s.headset == "none"
    s = m.apply_fact(s, m.HeadsetChanged(status="lost", reason="unplugged"))
    assert s.headset == "lost"
    s = m.apply_fact(s, m.ViewRecentered(source="console"))
    assert s.headset == "lost" and s.mode == "running"  # a recenter changes nothing mirrored


def test_schedule_facts_change_the_mirrored_schedules_as_the_spec_says() -> None:
    s = m.RendererState()
    cough = m.ScheduleInfo(schedule_id="r3-cough", event="cough", every_s=(20, 60))
    s = m.apply_fact(s, m.ScheduleStarted(schedule=cough))
    s = m.apply_fact(s, m.ScheduleStarted(schedule=m.ScheduleInfo(schedule_id="own", event="x", at_s=5)))
    s = m.apply_fact(s, m.EventFired(event="cough", strength=0.5, schedule_id="r3-cough"))
    assert [(i.schedule_id, i.fired) for i in s.schedules] == [("r3-cough", 1), ("own", 0)]
    assert s.active_events == ("cough",)
    s = m.apply_fact(s, m.ScheduleStarted(schedule=cough))  # the same id replaces it
    assert [(i.schedule_id, i.fired) for i in s.schedules] == [("own", 0), ("r3-cough", 0)]
    s = m.apply_fact(s, m.ScheduleEnded(schedule_id="own", reason="done"))
    assert [i.schedule_id for i in s.schedules] == ["r3-cough"]
    for row in ("`schedule_started`", "`schedule_ended`", "`start_schedule`", "`stop_schedule`"):
        assert row in SPEC
