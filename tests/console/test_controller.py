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

FADING = "a scene change is fading through black; try applying a preset again in a moment"


class RecordingLink:
    """Records what the controller sends; the test plays the renderer's replies with :meth:`answer`."""

    def __init__(self) -> None:
        self.sent: list[m.Request] = []
        self.ids: list[str] = []
        self.answered: set[str] = set()

    def send(self, content: m.Request) -> str:
        self.sent.append(content)
        self.ids.append(f"msg-{len(self.sent)}")
        return self.ids[-1]

    def of(self, cls: type) -> list[Any]:
        return [s for s in self.sent if isinstance(s, cls)]

    def pending_ids(self) -> list[str]:
        return [i for i in self.ids if i not in self.answered]

    def id_of(self, request: m.Request) -> str:
        return next(i for s, i in zip(self.sent, self.ids, strict=True) if s is request)

    def answer(self, c: ConsoleController, *, refuse: str | None = None, ename: str = "InvalidState") -> None:
        """Reply to every request not yet answered, as the renderer: ok, or (``refuse``) an error with
        that ``evalue`` for preset, intensity and event requests."""
        steering = (m.ApplyPresetRequest, m.SetIntensityRequest, m.TriggerEventRequest)
        for request, msg_id in zip(list(self.sent), list(self.ids), strict=True):
            if msg_id in self.answered:
                continue
            self.answered.add(msg_id)
            if refuse is not None and isinstance(request, steering):
                reply = request.reply_type(status="error", ename=ename, evalue=refuse)
            else:
                reply = request.reply_type()
            header = m.Header(
                msg_id=msg_id, msg_type=request.msg_type, protocol_version="1.0", sender="console"
            )
            c.on_reply(reply, msg_id, header)


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
                any(r["header"]["msg_type"] == "suds_recorded" for r in _records(session_dir))
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
    (rec,) = [r for r in _records(session_dir) if r["header"]["msg_type"] == "suds_recorded"]
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
    (apply,) = link.of(m.ApplyPresetRequest)
    assert apply.preset == c.protocol.ladder[1].preset
    assert c.engine.rung == 0  # until the renderer accepts the preset
    link.answer(c)
    assert c.engine.rung == 1
    assert [a.status for a in c.engine.advice] == ["accepted"]


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
    link.answer(c)
    c.on_snapshot(m.RendererState(session_id=session_dir.name, scene="spiders", mode="running"), "inst-a")
    link.sent.clear()
    # The renderer came back as a new process: idle, no session, no scene.
    c.on_snapshot(m.RendererState(mode="idle"), "inst-b")
    (set_session,) = link.of(m.SetSessionRequest)
    (load,) = link.of(m.LoadSceneRequest)
    assert set_session.session_id == session_dir.name
    # The therapist's free intensity after the rung stays free: no preset would put it back to the
    # preset's own intensity.
    assert (load.scene, load.preset, load.intensity) == ("spiders", None, 47)
    types = [r["header"]["msg_type"] for r in _records(session_dir)]
    assert "renderer_restarted" in types
    resynced = [r for r in _records(session_dir) if r["header"]["msg_type"] == "renderer_resynced"][-1]
    assert resynced["content"]["sent"] == {"scene": "spiders", "preset": None, "intensity": 47.0}


def test_a_restarted_renderer_on_a_rung_gets_the_rungs_preset(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    c.set_intensity(47, 1.0)
    c.apply_rung(3)  # the preset after the free intensity: the preset stands
    link.answer(c)
    c.on_snapshot(m.RendererState(session_id=session_dir.name, scene="spiders", mode="running"), "inst-a")
    link.sent.clear()
    c.on_snapshot(m.RendererState(mode="idle"), "inst-c")
    (load,) = link.of(m.LoadSceneRequest)
    assert (load.preset, load.intensity) == (c.protocol.ladder[3].preset, c.engine.intensity)


def test_a_restarted_renderer_gets_the_pause_back_and_running_events_are_named(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    link.answer(c)
    c.on_snapshot(m.RendererState(session_id=session_dir.name, scene="spiders", mode="running"), "inst-a")
    c.on_fact(m.EventFired(event="walk-toward"))
    c.on_fact(m.Paused())
    assert c.engine.state == "paused"
    link.sent.clear()
    c.on_snapshot(m.RendererState(mode="idle"), "inst-b")
    assert not link.of(m.PauseRequest)  # not before the scene is there
    c.on_fact(m.SceneLoaded(scene="spiders"))
    (pause,) = link.of(m.PauseRequest)
    assert pause == m.PauseRequest()
    records = {r["header"]["msg_type"]: r["content"] for r in _records(session_dir)}
    assert records["renderer_restarted"]["events_not_restored"] == ["walk-toward"]
    assert records["renderer_resynced"]["then_pause"] is True
    assert [e for e in events if e.kind == "resynced"]


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


def _types(session_dir: Path) -> list[str]:
    return [r["header"]["msg_type"] for r in _records(session_dir)]


def _begun(c: ConsoleController, link: RecordingLink) -> Path:
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    link.answer(c)
    level = c.engine.intensity
    c.on_snapshot(
        m.RendererState(
            session_id=session_dir.name,
            scene="spiders",
            preset=c.protocol.ladder[0].preset,
            intensity=level,
            target_intensity=level,
            mode="running",
        ),
        "inst-a",
    )
    assert not link.pending_ids(), "the snapshot agrees with the session: nothing to resync"
    return session_dir


def test_a_refused_rung_change_leaves_the_session_on_the_rung_the_patient_sees(setup):
    c, link, clock, events = setup
    session_dir = _begun(c, link)
    before = _records(session_dir)
    c.apply_rung(3)
    (apply,) = link.of(m.ApplyPresetRequest)
    (requested,) = [e for e in events if e.kind == "requested"]
    assert (requested["action"], requested["rung"]) == ("rung", 3)
    link.answer(c, refuse=FADING)  # the renderer is fading through black: it refused the preset
    assert c.engine.rung == 0 and c.engine.intensity == c.scene.presets[c.protocol.ladder[0].preset].intensity
    records = _records(session_dir)
    assert [r["content"]["rung"] for r in records if r["header"]["msg_type"] == "rung_changed"] == [0]
    assert not [r for r in records[len(before) :] if r["header"]["msg_type"] == "intensity_set"]
    (failed,) = [r for r in records if r["header"]["msg_type"] == "command_failed"]
    assert failed["parent_header"]["msg_id"] == link.id_of(apply)
    assert failed["content"]["requested"] == {
        "kind": "rung",
        "rung": 3,
        "preset": apply.preset,
        "ramp_s": 2.0,
    }
    assert failed["content"]["renderer"]["preset"] == c.protocol.ladder[0].preset
    (refused,) = [e for e in events if e.kind == "refused"]
    assert refused["message"] == (
        "the renderer refused the rung change: a scene change is fading through black — try again in a moment"
    )
    assert refused["rung"] == 0 and refused["requested_rung"] == 3 and refused["action"] == "rung"
    assert not [e for e in events if e.kind == "rung" and e["rung"] == 3]

    # One click: the same request again; now the renderer takes it and the session follows.
    retry_id = c.retry(refused["token"])
    assert link.sent[-1] == apply and retry_id != link.id_of(apply)
    link.answer(c)
    assert c.engine.rung == 3
    changed = [r for r in _records(session_dir) if r["header"]["msg_type"] == "rung_changed"]
    assert [r["content"]["rung"] for r in changed] == [0, 3]
    assert changed[-1]["parent_header"]["msg_id"] == retry_id
    assert changed[-1]["parent_header"]["msg_type"] == "apply_preset_request"
    with pytest.raises(ControllerError, match="can no longer be retried"):
        c.retry(refused["token"])


def test_a_refused_intensity_change_is_not_journaled_and_the_slider_goes_back(setup):
    c, link, clock, events = setup
    session_dir = _begun(c, link)
    start = c.engine.intensity
    c.set_intensity(70, 1.0)
    link.answer(c, refuse=FADING)
    assert c.engine.intensity == start

    def changes() -> list[dict[str, Any]]:
        return [
            r
            for r in _records(session_dir)
            if r["header"]["msg_type"] == "intensity_set" and r["content"]["rung"] is None
        ]

    assert not changes()
    (refused,) = [e for e in events if e.kind == "refused"]
    assert refused["action"] == "intensity" and refused["target_intensity"] == start
    assert refused["message"].startswith(
        "the renderer refused the intensity change: a scene change is fading"
    )
    c.set_intensity(70, 1.0)
    link.answer(c)
    (changed,) = changes()
    assert changed["content"]["intensity"] == 70 and changed["parent_header"]["msg_id"] == link.ids[-1]


def test_a_refused_advice_stays_pending_and_can_be_accepted_again(setup):
    c, link, clock, events = setup
    session_dir = _begun(c, link)
    for value in (80, 60, 35):
        clock.advance(30)
        c.record_suds(value)
    (advice,) = [e["advice"] for e in events if e.kind == "advice"]
    c.accept_advice(advice.advice_id)
    link.answer(c, refuse="the patient is in the safe place; leave it before applying a preset")
    assert c.engine.rung == 0 and [a.status for a in c.engine.advice] == ["pending"]
    assert "advice_accepted" not in _types(session_dir)
    (refused,) = [e for e in events if e.kind == "refused"]
    assert refused["advice"] == advice  # the window shows it again
    assert refused["message"] == (
        "the renderer refused the rung change: the patient is in the safe place — leave the safe place "
        "first, then try again"
    )
    c.retry(refused["token"])
    link.answer(c)
    assert c.engine.rung == 1 and [a.status for a in c.engine.advice] == ["accepted"]
    accepted = [r for r in _records(session_dir) if r["header"]["msg_type"] == "advice_accepted"]
    assert accepted[0]["parent_header"]["msg_id"] == link.ids[-1]


def test_an_event_is_journaled_only_when_the_renderer_fired_it(setup):
    c, link, clock, events = setup
    session_dir = _begun(c, link)
    c.trigger_event("walk_toward")
    link.answer(c, refuse="events fire only in a running scene (the renderer is paused)")
    assert "event_triggered" not in _types(session_dir)
    (refused,) = [e for e in events if e.kind == "refused"]
    assert refused["message"] == (
        "the renderer refused the event 'walk_toward': events fire only in a running scene (the renderer "
        "is paused) — resume the scene first, then try again"
    )
    c.retry(refused["token"])
    link.answer(c)
    (fired,) = [r for r in _records(session_dir) if r["header"]["msg_type"] == "event_triggered"]
    assert fired["content"]["event"] == "walk_toward" and fired["parent_header"]["msg_id"] == link.ids[-1]


def test_no_answer_is_a_refusal_too(setup):
    c, link, clock, events = setup
    session_dir = _begun(c, link)
    msg_id = c.apply_rung(2)
    c.on_command_failed(msg_id, "renderer did not answer apply_preset after 3 tries (3.0 s): contact lost")
    assert c.engine.rung == 0
    (failed,) = [r for r in _records(session_dir) if r["header"]["msg_type"] == "command_failed"]
    assert failed["content"]["ename"] == "Timeout" and failed["parent_header"]["msg_id"] == msg_id
    (refused,) = [e for e in events if e.kind == "refused"]
    assert refused["message"].startswith("the renderer did not answer the rung change (")
    assert refused["message"].endswith(
        "the session stays as it was — check the connection banner, then try again"
    )


def test_after_a_reconnect_the_renderer_is_set_back_to_the_recorded_rung(setup):
    c, link, clock, events = setup
    session_dir = _begun(c, link)
    msg_id = c.apply_rung(3)
    # Contact was lost: the link gave up on the request, but the renderer had applied it.
    c.on_command_failed(msg_id, "renderer did not answer apply_preset after 3 tries (3.0 s): contact lost")
    link.sent.clear()
    ladder = c.protocol.ladder
    c.on_snapshot(
        m.RendererState(
            session_id=session_dir.name,
            scene="spiders",
            preset=ladder[3].preset,
            intensity=30,
            target_intensity=30,
            mode="running",
        ),
        "inst-a",  # the same renderer, not a restart
    )
    (apply,) = link.of(m.ApplyPresetRequest)
    assert apply.preset == ladder[0].preset and c.engine.rung == 0
    (resynced,) = [r for r in _records(session_dir) if r["header"]["msg_type"] == "renderer_resynced"]
    assert resynced["content"]["renderer_preset"] == ladder[3].preset
    assert resynced["content"]["msg_id"] == link.ids[-1] and resynced["content"]["rung"] == 0
    # In agreement: a snapshot saying so sends nothing.
    link.sent.clear()
    c.on_snapshot(
        m.RendererState(
            session_id=session_dir.name,
            scene="spiders",
            preset=ladder[0].preset,
            intensity=c.engine.intensity,
            target_intensity=c.engine.intensity,
            mode="running",
        ),
        "inst-a",
    )
    assert not link.sent


def test_without_a_link_a_rung_change_is_refused_not_recorded(library, tmp_path):
    c = ConsoleController(None, library, clock=FakeClock(), sessions_root=tmp_path)
    events: list[UiEvent] = []
    c.subscribe(events.append)
    c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    c.apply_rung(2)
    assert c.engine.rung == 0
    (refused,) = [e for e in events if e.kind == "refused"]
    assert "was not sent: not connected to a renderer" in refused["message"] and refused["token"]


def test_the_safe_place_is_still_sent_at_once_with_refusals_and_requests_in_flight(setup):
    c, link, clock, events = setup
    session_dir = _begun(c, link)
    c.apply_rung(4)
    link.answer(c, refuse=FADING)
    c.set_intensity(80, 5.0)  # in flight, unanswered
    c.safe_place()
    assert isinstance(link.sent[-1], m.SafePlaceRequest)  # sent at once, not queued behind anything
    assert _types(session_dir)[-1] == "safe_place_requested"
    c.on_fact(m.SafePlaceEntered(fade_s=2.0, source="console"))
    assert c.engine.state == "safe_place"


def test_a_free_sessions_scene_changes_only_when_the_renderer_loaded_it(setup, library):
    c, link, clock, events = setup
    scenes = sorted(library.scenes)
    first, other = scenes[0], scenes[1]
    session_dir = c.start_session("P042", scene_id=first)
    c.begin_exposure()
    link.answer(c)
    c.load_scene(other)
    assert link.sent[-1] == m.LoadSceneRequest(scene=other, preset=None, intensity=c.engine.intensity)
    c.on_reply(m.LoadSceneReply(status="error", ename="InvalidState", evalue=FADING), link.ids[-1])
    assert c.scene.id == first and "scene_changed" not in _types(session_dir)
    (refused,) = [e for e in events if e.kind == "refused"]
    assert refused["message"].startswith("the renderer refused the scene change: a scene change is fading")
    c.retry(refused["token"])
    link.answer(c)
    assert c.scene.id == other
    (changed,) = [r for r in _records(session_dir) if r["header"]["msg_type"] == "scene_changed"]
    assert changed["content"]["scene"] == other and changed["parent_header"]["msg_id"] == link.ids[-1]


@pytest.mark.parametrize("mode", ["stopped", "safe_place"])
def test_after_a_reconnect_a_stopped_or_safe_renderer_is_left_there_and_what_it_shows_journaled(setup, mode):
    c, link, clock, events = setup
    session_dir = _begun(c, link)
    c.apply_rung(2)
    link.answer(c)
    if mode == "stopped":
        c.stop()
    else:
        c.safe_place()
    link.answer(c)
    link.sent.clear()
    scene = "safe-meadow" if mode == "safe_place" else "spiders"
    # Contact came back; the renderer (the same one, or one restarted into that state) refuses a
    # load_scene here, and going back into the exposure is the therapist's decision.
    c.on_snapshot(
        m.RendererState(session_id=session_dir.name, scene=scene, preset=None, intensity=0, mode=mode),
        "inst-a",
    )
    assert not link.of(m.LoadSceneRequest) and not link.sent
    (kept,) = [r for r in _records(session_dir) if r["header"]["msg_type"] == "renderer_view_kept"]
    assert kept["content"]["renderer_mode"] == mode and kept["content"]["renderer_scene"] == scene
    assert kept["content"]["session_scene"] == "spiders" and kept["content"]["rung"] == 2
    if mode == "stopped":
        assert any(e.kind == "error" and "stopped" in e.data["message"] for e in events)
    else:
        assert c.engine.state == "safe_place"


def test_a_real_reconnection_keeps_a_free_intensity_free(setup):
    """The rung's preset, then the therapist's free 63: a renderer showing 63 without a preset is in
    agreement with the session; nothing is sent (before, the preset was sent and the view jumped)."""
    c, link, clock, events = setup
    session_dir = _begun(c, link)
    c.apply_rung(1)
    link.answer(c)
    c.set_intensity(63, 0.5)
    link.answer(c)
    link.sent.clear()
    c.on_snapshot(
        m.RendererState(
            session_id=session_dir.name, scene="spiders", intensity=63, target_intensity=63, mode="running"
        ),
        "inst-a",
    )
    assert link.sent == []
    assert "renderer_resynced" not in [r["header"]["msg_type"] for r in _records(session_dir)]
    # One that lost the free change (shows the preset): set back to the therapist's 63, not the preset.
    c.on_snapshot(
        m.RendererState(
            session_id=session_dir.name,
            scene="spiders",
            preset=c.protocol.ladder[1].preset,
            intensity=12,
            target_intensity=12,
            mode="running",
        ),
        "inst-a",
    )
    (sent,) = link.sent
    assert isinstance(sent, m.SetIntensityRequest) and sent.intensity == 63
    (resynced,) = [r for r in _records(session_dir) if r["header"]["msg_type"] == "renderer_resynced"]
    assert resynced["content"]["sent"] == {"intensity": 63.0, "ramp_s": 2.0}
    assert resynced["content"]["free_intensity"] is True
    (notice,) = [e for e in events if e.kind == "resynced"]
    assert "intensity 63" in notice["message"]


def test_only_a_real_reconnection_hands_the_controller_a_snapshot(setup):
    """The adapter: a degraded spell whose link never dropped refreshes the mirror only; first
    contact and a reconnection after ``lost`` reconcile the session."""
    from vr_exposure.console.adapter import LinkAdapter

    c, link, clock, events = setup
    calls: list[str] = []
    c.on_snapshot = lambda state, instance=None: calls.append("snapshot")  # type: ignore[method-assign]
    c.on_mirror = lambda state: calls.append("mirror")  # type: ignore[method-assign]

    class _Client:
        synced = True
        renderer_instance = "inst-a"
        command_endpoint = "tcp://127.0.0.1:1"
        liveness = type("L", (), {"silence_s": staticmethod(lambda: 0.0)})()
        dealer = None

        def __setattr__(self, name, value):  # the adapter sets the client's callbacks
            object.__setattr__(self, name, value)

    client = _Client()
    adapter = LinkAdapter.__new__(LinkAdapter)
    adapter.client, adapter.controller = client, c  # type: ignore[assignment]
    adapter.state, adapter.detail, adapter.ever_connected = "connecting", "", False
    adapter.listeners, adapter.message_listeners, adapter._awaiting_snapshot = [], [], True
    adapter._monitor = None
    state = m.RendererState(mode="running")
    adapter._on_connection("connected", "")
    adapter._on_state(state)
    assert calls == ["snapshot"]  # first contact
    adapter._on_connection("degraded", "")
    adapter._on_connection("connected", "")
    adapter._on_state(state)
    assert calls == ["snapshot", "mirror"]  # a blip: no reconciliation
    adapter._on_connection("lost", "")
    adapter._on_connection("reconnected", "")
    adapter._on_state(state)
    assert calls == ["snapshot", "mirror", "snapshot"]


def _quality(warning_kind: str | None, warning: str | None = None, rtt_ms: float = 210.0) -> Any:
    from vr_exposure.link import LinkQuality

    return LinkQuality(
        round_trip_ms=rtt_ms,
        round_trip_p95_ms=rtt_ms * 2,
        late_share=0.08 if warning_kind == "unreliable" else 0.0,
        telemetry_loss=0.0,
        state="degraded" if warning_kind == "degraded" else "connected",
        silence_s=0.0,
        lost_after_s=1.75,
        warning=warning,
        warning_kind=warning_kind,
    )


def test_link_quality_is_shown_and_a_change_of_warning_is_journaled_once(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.on_link_quality(_quality(None))
    shown = [e for e in events if e.kind == "link_quality"]
    assert shown and shown[-1]["round_trip_ms"] == 210.0 and shown[-1]["warning"] is None
    assert "link_warning" not in _types(session_dir)  # nothing to say while the link is fine
    # Heartbeats overdue: the warning counts seconds up on every tick, but is journaled once.
    for s in (0.9, 1.1, 1.3):
        c.on_link_quality(_quality("degraded", f"No answer from the headset for {s} s; ..."))
    c.on_link_quality(_quality(None))
    warnings = [r["content"] for r in _records(session_dir) if r["header"]["msg_type"] == "link_warning"]
    assert [w["kind"] for w in warnings] == ["degraded", None]
    assert warnings[0]["warning"].startswith("No answer from the headset for 0.9 s")
    assert [e["warning"] for e in events if e.kind == "link_quality"][-4:-1] == [
        f"No answer from the headset for {s} s; ..." for s in (0.9, 1.1, 1.3)
    ]


def test_headset_off_holds_the_probe_window_and_is_journaled(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    c.on_fact(m.HeadsetChanged(status="worn", reason="the XR session is focused"))
    clock.advance(c.protocol.suds.probe_interval_s + 0.1)
    c.tick()
    (prompt,) = link.of(m.SudsPromptRequest)
    header = m.Header(msg_id="h1", msg_type="headset_changed", protocol_version="1.0", seq=4)
    c.on_fact(m.HeadsetChanged(status="off", reason="the XR session went to VISIBLE"), header)
    clock.advance(c.protocol.suds.response_window_s * 3)
    c.tick()
    assert c.engine.probes[-1].status == "pending", "not the patient's miss: the headset was off"
    c.on_fact(m.HeadsetChanged(status="worn", reason="the XR session is focused"))
    clock.advance(c.protocol.suds.response_window_s)
    c.tick()
    assert c.engine.probes[-1].status == "missed"
    records = _records(session_dir)
    (off,) = [r for r in records if r["header"]["msg_type"] == "headset_off"]
    assert off["kind"] == "clinical" and off["parent_header"]["msg_id"] == "h1"
    assert off["content"]["reason"] == "the XR session went to VISIBLE"
    assert [r["header"]["msg_type"] for r in records].count("headset_on") == 1
    assert any(e.kind == "headset" and e["status"] == "off" for e in events)


def test_recenter_is_sent_and_journaled(setup):
    c, link, clock, events = setup
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.recenter()
    assert len(link.of(m.RecenterRequest)) == 1
    assert "recenter_requested" in [r["header"]["msg_type"] for r in _records(session_dir)]
