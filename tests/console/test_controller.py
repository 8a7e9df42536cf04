"""The console's session logic without Qt or a renderer: a recording link and a fake clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vr_exposure.console.controller import ConsoleController, ControllerError, UiEvent
from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library
from vr_exposure.link import messages as m


class RecordingLink:
    def __init__(self) -> None:
        self.sent: list[m.Request] = []

    def send(self, content: m.Request) -> str:
        self.sent.append(content)
        return f"msg-{len(self.sent)}"

    def of(self, cls: type) -> list[Any]:
        return [s for s in self.sent if isinstance(s, cls)]


@pytest.fixture(scope="module")
def library() -> Any:
    return load_library()


@pytest.fixture
def setup(library: Any, tmp_path: Path) -> tuple[ConsoleController, RecordingLink, FakeClock, list[UiEvent]]:
    link = RecordingLink()
    clock = FakeClock()
    controller = ConsoleController(link, library, clock=clock, sessions_root=tmp_path / "sessions")
    events: list[UiEvent] = []
    controller.subscribe(events.append)
    return controller, link, clock, events


def _records(session_dir: Path, process: str = "console") -> list[dict[str, Any]]:
    path = session_dir / f"{process}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_start_and_begin_tell_the_renderer_everything(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    assert session_dir.is_dir() and session_dir.name.endswith(session_dir.name[-4:])
    (set_session,) = link.of(m.SetSessionRequest)
    assert set_session.session_id == session_dir.name and set_session.session_dir == str(session_dir)
    c.begin_exposure()
    (load,) = link.of(m.LoadSceneRequest)
    first = c.protocol.ladder[0].preset
    assert (load.scene, load.preset) == ("spiders", first)
    assert load.intensity == c.scene.presets[first].intensity
    assert c.engine.state == "running" and c.engine.rung == 0
    types = [r["header"]["msg_type"] for r in _records(session_dir)]
    assert "rung_changed" in types and "session_started" in types


def test_rating_from_the_headset_is_journaled_before_it_is_shown(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    clock.advance(c.protocol.suds.probe_interval_s + 0.1)
    c.tick()
    (prompt,) = link.of(m.SudsPromptRequest)
    seen_in_journal: list[bool] = []

    def check(ev: UiEvent) -> None:
        if ev.kind == "rating":
            seen_in_journal.append(
                any(r["header"]["msg_type"] == "rating_recorded" for r in _records(session_dir))
            )

    c.subscribe(check)
    header = m.Header(msg_id="r1", msg_type="rating_recorded", protocol_version="1.0", seq=9)
    c.on_fact(m.RatingRecorded(value=6, scale_max=10, probe_id=prompt.probe_id), header)
    assert seen_in_journal == [True]
    (rating,) = [e for e in events if e.kind == "rating"]
    assert (
        rating["value"] == 60
        and rating["source"] == "patient-in-vr"
        and rating["probe_id"] == prompt.probe_id
    )
    (rec,) = [r for r in _records(session_dir) if r["header"]["msg_type"] == "rating_recorded"]
    assert rec["kind"] == "clinical" and rec["parent_header"]["msg_id"] == "r1"
    assert rec["content"]["rating"]["value"] == 60


def test_a_missed_probe_is_marked_and_the_prompt_withdrawn(setup):
    c, link, clock, events = setup
    c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    clock.advance(c.protocol.suds.probe_interval_s + 0.1)
    c.tick()
    (prompt,) = link.of(m.SudsPromptRequest)
    clock.advance(c.protocol.suds.response_window_s + 0.1)
    c.tick()
    (missed,) = [e for e in events if e.kind == "probe_missed"]
    assert missed["probe_id"] == prompt.probe_id
    assert [x.probe_id for x in link.of(m.SudsPromptCancelRequest)] == [prompt.probe_id]
    assert c.missed_probes == [prompt.probe_id]


def test_advice_is_shown_never_applied_until_accepted(setup):
    c, link, clock, events = setup
    c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    for value in (80, 60, 35):
        clock.advance(30)
        c.record_suds(value)
    (advice,) = [e for e in events if e.kind == "advice"]
    assert "consider the next rung" in advice["text"]
    assert c.engine.rung == 0 and not link.of(m.ApplyPresetRequest)  # advisory only
    c.accept_advice(advice["advice"].advice_id)
    assert c.engine.rung == 1
    (apply,) = link.of(m.ApplyPresetRequest)
    assert apply.preset == c.protocol.ladder[1].preset


def test_modes_follow_the_renderer_including_the_patients_safe_place(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    c.safe_place()
    assert link.of(m.SafePlaceRequest)
    assert c.engine.state == "running"  # until the renderer says it is there
    c.on_fact(m.SafePlaceEntered(fade_s=2.0, source="patient"))
    assert c.engine.state == "safe_place"
    c.on_fact(m.SafePlaceLeft(fade_s=2.0))
    assert c.engine.state == "running"
    c.on_fact(m.Paused())
    assert c.engine.state == "paused"
    c.on_fact(m.Resumed())
    assert c.engine.state == "running"
    entered = [r for r in _records(session_dir) if r["header"]["msg_type"] == "safe_place_entered"]
    assert entered[0]["content"]["by"] == "patient"


def test_a_restarted_renderer_is_resynced_to_the_session(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    c.apply_rung(2)
    c.set_intensity(47, 1.0)
    c.on_snapshot(m.RendererState(session_id=session_dir.name, scene="spiders", mode="running"), "inst-a")
    link.sent.clear()
    # The renderer came back as a new process: idle, no session, no scene.
    c.on_snapshot(m.RendererState(mode="idle"), "inst-b")
    (set_session,) = link.of(m.SetSessionRequest)
    (load,) = link.of(m.LoadSceneRequest)
    assert set_session.session_id == session_dir.name
    assert (load.scene, load.preset, load.intensity) == ("spiders", c.protocol.ladder[2].preset, 47)
    types = [r["header"]["msg_type"] for r in _records(session_dir)]
    assert "renderer_restarted" in types


def test_end_summarises_and_seals(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.record_ssq("before", [0] * 16)
    c.begin_exposure()
    for value in (50, 40, 20):
        clock.advance(20)
        c.record_suds(value)
    c.add_note("calm, good eye contact with the spider")
    summary = c.end_session()
    assert summary["ratings"] == 3 and summary["ssq"]["before"]["total"] == 0
    assert "Photograph across the room" in summary["table"] and "60%" in summary["table"]
    assert link.of(m.SafePlaceRequest)  # the patient is taken somewhere calm at the end
    assert c.close_session() == session_dir
    manifest = json.loads((session_dir / "manifest.json").read_text())
    assert manifest.get("sealed")
    types = [r["header"]["msg_type"] for r in _records(session_dir)]
    assert {"note", "ssq", "session_summary", "session_ended"} <= set(types)


def test_refusals_are_clear(setup):
    c, link, clock, events = setup
    with pytest.raises(ControllerError, match="no session"):
        c.record_suds(50)
    with pytest.raises(ControllerError, match="pseudonym"):
        c.start_session("  ", protocol_id="spiders-graded")
    c.on_reply(m.SetIntensityReply(status="error", ename="BadIntensity", evalue="120 is outside 0-100"), "x")
    (err,) = [e for e in events if e.kind == "error"]
    assert "120 is outside 0-100" in err["message"]


def test_paths_are_shown_with_the_home_directory_as_a_tilde(monkeypatch, tmp_path):
    from vr_exposure.console.controller import display_path

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert display_path(tmp_path / "home" / "sessions" / "S1") == "~/sessions/S1"
    assert display_path(tmp_path / "home") == "~"
    assert display_path(tmp_path / "homework" / "S1") == str(tmp_path / "homework" / "S1")
    assert display_path("/srv/sessions/S1") == "/srv/sessions/S1"


def test_reapplying_the_rung_repeats_the_request_only(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    c.apply_rung(3)
    before = _records(session_dir)
    link.sent.clear()
    c.reapply_rung()  # e.g. the renderer refused the preset during a fade
    (apply,) = link.of(m.ApplyPresetRequest)
    assert apply.preset == c.protocol.ladder[3].preset and c.engine.rung == 3
    assert _records(session_dir) == before  # no new rung visit in the journal
