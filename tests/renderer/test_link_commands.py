"""Console commands over the real link (ZeroMQ on loopback) against the app on the shared offscreen
ShowBase: each request's reply and facts, bad input answered with clear errors while frames keep
rendering, and the safety commands' priority."""

from __future__ import annotations

import time
from typing import Any

import pytest
import zmq

from tests.renderer.apphelpers import Console, running_app
from vr_exposure.link import messages as m
from vr_exposure.link.errors import CommandRejected

pytestmark = pytest.mark.renderer


@pytest.fixture
def console(showbase: Any) -> Any:
    with running_app(showbase) as app, Console(showbase, app) as con:
        con.connect()
        yield con


def _ok(reply: m.Reply) -> None:
    assert reply.status == "ok", f"{reply.ename}: {reply.evalue}"


def _spiders(con: Console, **kwargs: Any) -> None:
    _ok(con.request(m.LoadSceneRequest(scene="spiders", **kwargs)))


def test_load_scene_set_intensity_and_preset_publish_facts_and_state(console: Console) -> None:
    con = console
    _spiders(con, intensity=10)
    _ok(con.request(m.SetIntensityRequest(intensity=40, ramp_s=0)))
    preset = next(iter(con.app.stage.spec.presets))
    _ok(con.request(m.ApplyPresetRequest(preset=preset, ramp_s=0)))
    con.step_until(lambda: con.client.state is not None and con.client.state.preset == preset)
    types = con.fact_types()
    assert types.index("scene_loaded") < types.index("intensity_changed") < types.index("preset_applied")
    assert "state" in types
    loaded = con.facts("scene_loaded")[0]
    assert loaded.scene == "spiders" and loaded.intensity == 10
    changed = con.facts("intensity_changed")[0]
    assert changed.target == 40
    state = con.client.state
    assert state.scene == "spiders" and state.mode == "running" and state.backend == "offscreen"
    assert state.target_intensity == con.app.stage.spec.presets[preset].intensity


@pytest.mark.parametrize(
    ("request_", "ename", "words"),
    [
        (m.LoadSceneRequest(scene="no-such-scene"), None, "no-such-scene"),
        (m.ApplyPresetRequest(preset="no-such-preset"), "UnknownPreset", "no-such-preset"),
        (m.TriggerEventRequest(event="no-such-event"), "UnknownEvent", "no-such-event"),
        (m.LeaveSafePlaceRequest(), "InvalidState", "not in the safe place"),
    ],
    ids=["unknown-scene", "unknown-preset", "unknown-event", "leave-without-safe-place"],
)
def test_bad_commands_get_clear_errors_and_rendering_continues(
    console: Console, request_: m.Request, ename: str | None, words: str
) -> None:
    con = console
    _spiders(con, intensity=20)
    frame = con.app.frame
    reply = con.request(request_)
    assert reply.status == "error"
    if ename is not None:
        assert reply.ename == ename
    assert reply.ename and words in (reply.evalue or "")
    con.step(5)
    assert con.app.frame >= frame + 5
    assert con.app.state().scene == "spiders" and con.app.mode == "running"
    assert con.app.errors == 0


def test_intensity_outside_0_100_is_refused_with_the_field_named(console: Console) -> None:
    con = console
    _spiders(con, intensity=20)
    # msgspec checks constraints when decoding, not when building, so the console can send 120.
    reply = con.request(m.SetIntensityRequest(intensity=120, ramp_s=0))
    assert reply.status == "error"
    assert "intensity" in (reply.evalue or "") and "100" in (reply.evalue or "")
    con.step(3)
    assert con.app.stage.target_intensity == 20 and con.app.errors == 0
    # The app's own check (for local callers: the CLI, the patient, scripts) says the same.
    with pytest.raises(CommandRejected, match="outside 0-100"):
        con.app.command(m.SetIntensityRequest(intensity=120))
    with pytest.raises(CommandRejected, match="outside 0-100"):
        con.app.command(m.SetIntensityRequest(intensity=float("nan")))


def test_malformed_frames_are_dropped_and_counted(console: Console) -> None:
    con = console
    ctx = zmq.Context.instance()
    raw = ctx.socket(zmq.DEALER)
    raw.linger = 0
    raw.connect(con.app.link.command_endpoint)
    try:
        raw.send(b"garbage")
        raw.send(b'{"header": {"msg_id": 1}, "content": "not json')
        raw.send(
            b'{"header": {"msg_id": "x", "msg_type": "fly_request", "protocol_version": "2.0"}, '
            b'"parent_header": null, "content": {}}'
        )
        frame = con.app.frame
        counted = con.app.link.counters
        con.step_until(
            lambda: counted["malformed"] >= 2 and counted["unknown_type"] >= 1,
            what="the malformed frames read and counted",
        )
        counters = con.app.link.counters
        assert counters["malformed"] >= 2 and counters["unknown_type"] >= 1
        assert raw.poll(1000, zmq.POLLIN), "the unknown type gets an error reply"
        assert b"UnknownMessageType" in raw.recv_multipart()[-1]
        con.step(3)
        assert con.app.frame > frame and con.app.errors == 0
        _ok(con.request(m.LoadSceneRequest(scene="spiders")))
    finally:
        raw.close()


def test_safe_place_goes_ahead_of_queued_commands(console: Console) -> None:
    con = console
    _spiders(con, intensity=20)
    con.events.clear()
    ids = [con.client.send(m.SetIntensityRequest(intensity=30 + i, ramp_s=0)) for i in range(5)]
    safe = con.client.send(m.SafePlaceRequest(fade_s=0.5))
    assert con.app.link.wait(2000)
    con.step_until(lambda: con.app.mode == "safe_place", what="the safe place")
    _ok(con.reply(safe))
    # The intensity changes were issued before the safe place. Read in the same frame, they are
    # overtaken by it (the ordering rule); read in an earlier frame (a loaded machine), they were
    # applied before it. Never after: nothing the patient sees changes in the safe place.
    replies = [con.reply(msg_id) for msg_id in ids]
    outcomes = ["ok" if r.status == "ok" else r.ename for r in replies]
    assert set(outcomes) <= {"ok", "Superseded"}, outcomes
    assert outcomes == sorted(outcomes, key=lambda o: o != "ok"), "applied ones came first"
    types = [t for t in con.fact_types() if t != "state"]
    assert types == ["intensity_changed"] * outcomes.count("ok") + ["safe_place_entered"], types
    applied = [30 + i for i, o in enumerate(outcomes) if o == "ok"]
    assert con.app.stage.return_to == ("spiders", None, applied[-1] if applied else 20)
    # A command issued after the safe place is newer: in the safe place it sets the return intensity.
    _ok(con.request(m.SetIntensityRequest(intensity=44)))
    assert con.app.stage.return_to == ("spiders", None, 44)
    assert con.app.state().return_intensity == 44


def test_pause_resume_stop_and_safe_place_transitions(console: Console) -> None:
    con = console
    _spiders(con, intensity=30)
    _ok(con.request(m.PauseRequest()))
    assert con.app.mode == "paused"
    frame = con.app.frame
    con.step(3)
    assert con.app.frame == frame + 3, "paused still renders"
    _ok(con.request(m.ResumeRequest()))
    assert con.app.mode == "running"
    _ok(con.request(m.SafePlaceRequest()))
    assert con.app.mode == "safe_place"
    _ok(con.request(m.SafePlaceRequest()))  # idempotent
    _ok(con.request(m.LeaveSafePlaceRequest(fade_s=0)))
    assert con.app.mode == "running"
    _ok(con.request(m.StopRequest(reason="patient asked")))
    assert con.app.mode == "stopped"
    reply = con.request(m.PauseRequest())
    assert reply.status == "error" and reply.ename == "InvalidState"
    types = con.fact_types()
    for fact in ("paused", "resumed", "safe_place_entered", "safe_place_left", "stopped"):
        assert fact in types
    assert types.count("safe_place_entered") == 1
    assert con.facts("stopped")[0].reason == "patient asked"


def test_trigger_event_fires_and_ends(console: Console) -> None:
    con = console
    _spiders(con, intensity=60)
    spec_events = con.app.stage.spec.events
    name = next(iter(spec_events))
    _ok(con.request(m.TriggerEventRequest(event=name)))
    assert con.facts("event_fired")[0].event == name
    assert name in con.app.state().active_events


def test_suds_prompt_answered_by_the_patient_key(console: Console) -> None:
    con = console
    _spiders(con, intensity=30)
    _ok(con.request(m.SudsPromptRequest(probe_id="probe-1", scale_max=100)))
    assert con.app.overlay.prompt_visible
    assert "0-9" in con.app.overlay.prompt_text
    con.showbase.messenger.send("7")
    con.step_until(lambda: con.facts("rating_recorded"), what="rating published")
    rating = con.facts("rating_recorded")[0]
    assert (rating.value, rating.scale_max, rating.probe_id, rating.source) == (
        70,
        100,
        "probe-1",
        "patient-in-vr",
    )
    assert not con.app.overlay.prompt_visible
    closed = con.facts("suds_prompt_closed")[0]
    assert closed.probe_id == "probe-1" and closed.reason == "answered"


def test_suds_prompt_on_a_0_10_scale_and_the_100_key(console: Console) -> None:
    con = console
    _ok(con.request(m.SudsPromptRequest(probe_id="p10", scale_max=10)))
    con.showbase.messenger.send("h")
    con.step_until(lambda: con.facts("rating_recorded"))
    rating = con.facts("rating_recorded")[0]
    assert (rating.value, rating.scale_max) == (10, 10)


def test_suds_prompt_cancel_hides_it(console: Console) -> None:
    con = console
    _ok(con.request(m.SudsPromptRequest(probe_id="p2")))
    _ok(con.request(m.SudsPromptCancelRequest(probe_id="p2")))
    assert not con.app.overlay.prompt_visible
    assert con.facts("suds_prompt_closed")[0].reason == "cancelled"


def test_patient_safe_place_key(console: Console) -> None:
    con = console
    _spiders(con, intensity=50)
    con.showbase.messenger.send("space")
    con.step()
    assert con.app.mode == "safe_place"
    con.step_until(lambda: con.facts("safe_place_entered"))
    assert con.facts("safe_place_entered")[0].source == "patient"


def test_shutdown_request_ends_the_loop(console: Console) -> None:
    con = console
    _ok(con.request(m.ShutdownRequest()))
    assert con.app.exit_requested


def test_link_lost_fades_to_safe_place_and_restored_is_published(showbase: Any) -> None:
    from vr_exposure.core.specs import SafePlaceSettings

    settings = SafePlaceSettings(link_timeout_s=0.3)
    with running_app(showbase, safe_place=settings) as app, Console(showbase, app) as con:
        con.connect()
        _ok(con.request(m.LoadSceneRequest(scene="spiders", intensity=40)))
        con.events.clear()
        # The console falls silent: only the renderer's frames run.
        deadline = time.monotonic() + 5.0
        while app.link_status != "lost" and time.monotonic() < deadline:
            showbase.taskMgr.step()
            app.link.wait(10)
        assert app.link_status == "lost"
        assert app.mode == "safe_place"
        con.step_until(lambda: "link_restored" in con.fact_types(), what="link restored")
        types = con.fact_types()
        assert "link_lost" in types and "safe_place_entered" in types
        assert con.facts("safe_place_entered")[0].source == "link_lost"
        assert app.mode == "safe_place", "contact coming back does not leave the safe place by itself"
        assert app.link_status == "ok"


def test_link_lost_with_hold_keeps_the_scene(showbase: Any) -> None:
    from vr_exposure.core.specs import SafePlaceSettings

    settings = SafePlaceSettings(link_timeout_s=0.3, on_link_lost="hold")
    with running_app(showbase, safe_place=settings) as app, Console(showbase, app) as con:
        con.connect()
        _ok(con.request(m.LoadSceneRequest(scene="spiders", intensity=40)))
        deadline = time.monotonic() + 5.0
        while app.link_status != "lost" and time.monotonic() < deadline:
            showbase.taskMgr.step()
            app.link.wait(10)
        assert app.link_status == "lost" and app.mode == "running"
        assert app.state().link == "lost"


def test_set_session_journals_clinical_records(console: Console, tmp_path: Any) -> None:
    from vr_exposure import __version__
    from vr_exposure.journal import create_session, read_session

    con = console
    session = create_session(tmp_path / "sessions", pseudonym="P007", software_version=__version__)
    _ok(con.request(m.SetSessionRequest(session_id=session.name, session_dir=str(session), pseudonym="P007")))
    assert con.app.state().session_id == session.name
    _spiders(con, intensity=25)
    _ok(con.request(m.SetIntensityRequest(intensity=35, ramp_s=0)))
    _ok(con.request(m.SudsPromptRequest(probe_id="probe-9")))
    con.showbase.messenger.send("4")
    con.step_until(lambda: con.facts("rating_recorded"))
    _ok(con.request(m.SafePlaceRequest()))
    bad = con.request(m.SetSessionRequest(session_id="no/pe", session_dir=str(tmp_path / "missing")))
    assert bad.status == "error" and bad.ename == "JournalError"
    con.step(3)
    con.app.journal.close()  # type: ignore[union-attr]
    con.app.journal = None
    log = read_session(session)
    for msg_type in ("scene_loaded", "intensity_changed", "rating_recorded", "safe_place_entered"):
        records = log.by_type(msg_type)
        assert records, msg_type
        assert all(r.kind == "clinical" for r in records), msg_type
    rating = log.by_type("rating_recorded")[0]
    assert rating.content["value"] == 40 and rating.content["probe_id"] == "probe-9"
    changed = log.by_type("intensity_changed")[0]
    assert changed.parent_header is not None and changed.parent_header.msg_type == "set_intensity_request"
    assert log.by_type("head_pose"), "telemetry reaches the journal too"


def _settled_on(con: Console, scene: str) -> None:
    con.step_until(
        lambda: con.app.stage.scene_id == scene and not con.app.stage.transitioning,
        what=f"{scene} shown",
    )


def test_load_scene_queued_before_safe_place_does_not_take_the_patient_out(console: Console) -> None:
    con = console
    _spiders(con, intensity=20)
    con.events.clear()
    load = con.client.send(m.LoadSceneRequest(scene="spiders", intensity=90))
    safe = con.client.send(m.SafePlaceRequest(fade_s=0.2))
    assert con.app.link.wait(2000)
    con.step_until(lambda: con.app.mode == "safe_place", what="the safe place")
    _ok(con.reply(safe))
    reply = con.reply(load)
    # Read with the safe place, the older load is overtaken by it; read a frame before, it was
    # applied before the safe place. Either way the patient ends in the safe place.
    assert reply.status == "ok" or reply.ename == "Superseded", reply
    # A load issued in the safe place is refused: only leave_safe_place takes the patient out.
    refused = con.request(m.LoadSceneRequest(scene="spiders", intensity=90))
    assert refused.status == "error" and refused.ename == "InvalidState", refused
    assert "safe place" in (refused.evalue or "") and "leave_safe_place" in (refused.evalue or "")
    _settled_on(con, "safe-place")
    con.step(5)
    assert con.app.mode == "safe_place" and con.app.stage.scene_id == "safe-place"
    loaded_first = reply.status == "ok"
    assert ("scene_loaded" in con.fact_types()) == loaded_first
    # Leaving is the therapist's separate, deliberate step, back to the scene shown before.
    _ok(con.request(m.LeaveSafePlaceRequest(fade_s=0)))
    _settled_on(con, "spiders")
    assert con.app.stage.target_intensity == (90 if loaded_first else 20) and con.app.mode == "running"


def test_load_scene_is_refused_while_stopped(console: Console) -> None:
    con = console
    _spiders(con, intensity=30)
    _ok(con.request(m.StopRequest(reason="patient asked")))
    reply = con.request(m.LoadSceneRequest(scene="spiders", intensity=60))
    assert reply.status == "error" and reply.ename == "InvalidState" and "stopped" in (reply.evalue or "")
    con.step(3)
    assert con.app.mode == "stopped" and con.app.stage.target_intensity == 30
    assert con.app.stage.fade_level < 1.0
    # The way on from a stop: the safe place (and from there, deliberately, back).
    _ok(con.request(m.SafePlaceRequest(fade_s=0)))
    _settled_on(con, "safe-place")
    assert con.app.mode == "safe_place"


def test_set_intensity_in_the_safe_place_chooses_the_return_intensity(console: Console) -> None:
    con = console
    _spiders(con, intensity=70)
    _ok(con.request(m.SafePlaceRequest(fade_s=0)))
    _settled_on(con, "safe-place")
    con.events.clear()
    shown = con.app.stage.intensity
    _ok(con.request(m.SetIntensityRequest(intensity=30, ramp_s=2.0)))
    con.step(3)
    assert con.app.stage.scene_id == "safe-place" and con.app.stage.intensity == shown
    assert "intensity_changed" not in con.fact_types(), "nothing the patient sees changed"
    assert con.app.stage.return_to == ("spiders", None, 30)
    bad = con.request(m.SetIntensityRequest(intensity=120))
    assert bad.status == "error" and con.app.stage.return_to == ("spiders", None, 30)
    _ok(con.request(m.LeaveSafePlaceRequest(fade_s=0.2)))
    _settled_on(con, "spiders")
    # Back at the chosen intensity from the first visible frame, not at 70 ramping down.
    assert con.app.stage.intensity == 30 and con.app.stage.target_intensity == 30
    assert not con.app.stage.ramping


def test_set_intensity_in_the_safe_place_with_nothing_to_return_to_is_refused(console: Console) -> None:
    con = console
    _ok(con.request(m.SafePlaceRequest(fade_s=0)))  # from idle: no scene before it
    reply = con.request(m.SetIntensityRequest(intensity=40))
    assert reply.status == "error" and reply.ename == "InvalidState"
    assert "no scene to return to" in (reply.evalue or "")


def test_a_new_session_starts_from_the_safe_place_without_the_old_way_back(
    console: Console, tmp_path: Any
) -> None:
    from vr_exposure import __version__
    from vr_exposure.journal import create_session

    con = console
    _spiders(con, intensity=80)
    _ok(con.request(m.SafePlaceRequest(fade_s=0)))  # the previous session ended in the safe place
    _settled_on(con, "safe-place")
    session = create_session(tmp_path / "sessions", pseudonym="P100", software_version=__version__)
    _ok(con.request(m.SetSessionRequest(session_id=session.name, session_dir=str(session))))
    assert con.app.mode == "idle" and con.app.stage.scene_id == "safe-place"
    assert con.app.stage.return_to is None
    reply = con.request(m.LeaveSafePlaceRequest())
    assert reply.status == "error", "no way back into the previous patient's exposure"
    _spiders(con, intensity=10)
    _settled_on(con, "spiders")
    assert con.app.mode == "running" and con.app.stage.target_intensity == 10
    # The same session again (a reconnect) changes nothing.
    _ok(con.request(m.SafePlaceRequest(fade_s=0)))
    _ok(con.request(m.SetSessionRequest(session_id=session.name, session_dir=str(session))))
    assert con.app.mode == "safe_place"
    con.app.journal.close()  # type: ignore[union-attr]
    con.app.journal = None


def _state_after(con: Console, fact_type: str) -> m.RendererState:
    """The first ``state`` published after the last ``fact_type`` fact."""

    def found() -> m.RendererState | None:
        facts = [
            msg.content
            for msg in con.events
            if not msg.header.msg_type.startswith(("head_", "frame_", "view_"))
        ]
        last = max((i for i, f in enumerate(facts) if f.msg_type == fact_type), default=None)
        if last is None:
            return None
        return next((f.state for f in facts[last + 1 :] if isinstance(f, m.StateChanged)), None)

    # Published in the same frame as the fact; a few frames leave room for loopback TCP.
    con.step_until(lambda: found() is not None, max_frames=30, what=f"a state after {fact_type}")
    state = found()
    assert state is not None
    return state


def test_state_after_scene_loaded_already_shows_the_new_scene(console: Console) -> None:
    con = console
    _spiders(con, intensity=10)
    spec = con.app.stage.spec
    preset = next(p for p in spec.presets if spec.presets[p].intensity not in (0, 10))
    start = spec.presets[preset].intensity
    con.events.clear()
    _ok(con.request(m.LoadSceneRequest(scene="spiders", preset=preset)))
    assert con.app.stage.transitioning, "the old view is still fading out"
    state = _state_after(con, "scene_loaded")
    assert (state.scene, state.preset, state.intensity, state.target_intensity) == (
        "spiders",
        preset,
        start,
        start,
    )
    # A change of scene: the state names the new scene straight away too, and stays so after the swap.
    con.events.clear()
    _ok(con.request(m.LoadSceneRequest(scene="safe-place")))
    assert _state_after(con, "scene_loaded").scene == "safe-place"
    _settled_on(con, "safe-place")
    con.step(2)
    assert con.client.state is not None and con.client.state.scene == "safe-place"
    assert con.app.state().scene == "safe-place"


def test_describe_names_every_scene_preset_event_protocol_and_error(console: Console) -> None:
    from vr_exposure.link.errors import ERROR_NAMES

    reply = console.request(m.DescribeRequest())
    assert isinstance(reply, m.DescribeReply) and reply.ok
    lib = console.app.library
    assert {s.id for s in reply.scenes} == set(lib.scenes)
    spiders = next(s for s in reply.scenes if s.id == "spiders")
    spec = lib.scenes["spiders"]
    assert [p.name for p in spiders.presets] == list(spec.presets)
    events = {e.name: e for e in spiders.events}
    assert set(events) == set(spec.events)
    assert events["drop-from-ceiling"].delay_jitter_s == spec.events["drop-from-ceiling"].delay_jitter_s
    assert {p.id for p in reply.protocols} == set(lib.protocols)
    assert reply.safe_place_scene == console.app.safe_place.scene
    assert set(reply.error_names) == set(ERROR_NAMES)


def test_a_fade_is_in_the_state_and_fade_ended_says_when_steering_works_again(console: Console) -> None:
    con = console
    _spiders(con, intensity=10)
    _settled_on(con, "spiders")
    con.events.clear()
    _spiders(con, intensity=20)  # a scene change: out through black, swap, back in
    assert con.app.state().fading, "the scene change fades through black"
    refused = con.request(m.SetIntensityRequest(intensity=30))
    assert refused.ename == "InvalidState" and "fading through black" in (refused.evalue or "")
    con.step_until(lambda: "fade_ended" in con.fact_types(), what="fade_ended")
    (ended,) = con.facts("fade_ended")
    assert ended.scene == "spiders"
    assert not con.app.state().fading
    con.step_until(lambda: con.client.state is not None and not con.client.state.fading, what="mirror")
    _ok(con.request(m.SetIntensityRequest(intensity=30)))


def test_set_session_without_a_directory_on_this_disk_journals_in_the_renderers_own(
    console: Console,
) -> None:
    import os
    from pathlib import Path

    from vr_exposure.journal import read_manifest

    for session_dir in (None, "/nonexistent/another-machine/sessions/20261201T000000Z-P042-beef"):
        session_id = f"20261201T000000Z-P042-{'beef' if session_dir else 'cafe'}"
        request = m.SetSessionRequest(session_id=session_id, session_dir=session_dir, pseudonym="P042")
        reply = console.request(request)
        _ok(reply)
        assert isinstance(reply, m.SetSessionReply) and reply.shared is False
        own = Path(reply.session_dir or "")
        assert own == Path(os.environ["VR_EXPOSURE_SESSIONS"]) / session_id
        manifest = read_manifest(own)
        assert (manifest.session_id, manifest.remote_copy_of) == (session_id, "console")
        assert (own / "renderer.jsonl").exists()
    bad = console.request(m.SetSessionRequest(session_id="../escape", pseudonym="P042"))
    assert bad.ename == "JournalError" and "not a valid session directory name" in (bad.evalue or "")


def test_recenter_on_a_display_without_head_tracking_is_refused_by_name(console: Console) -> None:
    reply = console.request(m.RecenterRequest())
    assert reply.status == "error" and reply.ename == "NoHeadTracking"
    assert "no head tracking" in (reply.evalue or "")
    assert console.app.state().headset == "none"
