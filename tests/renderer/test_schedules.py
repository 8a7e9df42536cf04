"""Event schedules: the pure scheduler stepped with chosen frame times, and the app running them over
the real link (firings journaled like triggered events, with their schedule; the safe place, a stop,
another rung or scene end them), and a trigger's strength reaching the builder and the cue's volume."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.renderer.apphelpers import Console, running_app
from vr_exposure.link import messages as m
from vr_exposure.renderer.schedules import ScheduleError, Schedules


def _info(**kwargs: Any) -> m.ScheduleInfo:
    kwargs.setdefault("schedule_id", "s1")
    kwargs.setdefault("event", "cough")
    return m.ScheduleInfo(**kwargs)


def _run(schedules: Schedules, seconds: float, dt_s: float = 0.01) -> list[tuple[float, str, bool]]:
    fired = []
    t = 0.0
    for _ in range(round(seconds / dt_s)):
        t += dt_s
        fired += [(t, s.schedule_id, last) for s, last in schedules.advance(dt_s)]
    return fired


def test_a_repeat_fires_again_and_again_with_every_wait_inside_its_window() -> None:
    schedules = Schedules(np.random.default_rng(7))
    schedules.start(_info(every_s=(20.0, 60.0)))
    times = [t for t, _, _ in _run(schedules, 1200.0, dt_s=0.05)]
    waits = np.diff([0.0, *times])
    assert len(times) >= 15
    assert waits.min() >= 20.0 - 1e-6 and waits.max() <= 60.0 + 0.05 + 1e-6
    # Random, not fixed: the waits spread over the window.
    assert waits.max() - waits.min() > 20.0
    assert schedules.get("s1") is not None and schedules.get("s1").info.fired == len(times)  # type: ignore[union-attr]


def test_a_single_firing_comes_at_its_time_once_and_ends_the_schedule() -> None:
    schedules = Schedules()
    schedules.start(_info(at_s=5.0))
    fired = _run(schedules, 20.0, dt_s=0.1)
    assert len(fired) == 1 and fired[0][2] is True and fired[0][0] == pytest.approx(5.0, abs=0.11)
    assert not schedules


def test_elapsed_time_brings_a_restored_single_firing_forward() -> None:
    schedules = Schedules()
    schedules.start(_info(at_s=5.0), elapsed_s=3.5)
    fired = _run(schedules, 5.0, dt_s=0.1)
    assert len(fired) == 1 and fired[0][0] == pytest.approx(1.5, abs=0.11)


def test_a_long_frame_never_bursts_a_repeat_and_stop_ends_schedules() -> None:
    schedules = Schedules()
    schedules.start(_info(schedule_id="a", every_s=(0.1, 0.1)))
    schedules.start(_info(schedule_id="b", every_s=(30.0, 40.0), scope="session"))
    assert [s.schedule_id for s, _ in schedules.advance(10.0)] == ["a"]
    assert schedules.get("a").info.fired == 1  # type: ignore[union-attr]
    assert [s.schedule_id for s in schedules.stop_scope("rung")] == ["a"]
    assert [s.schedule_id for s in schedules.stop()] == ["b"] and not schedules
    assert schedules.stop("nothing") == []


@pytest.mark.parametrize(
    ("every_s", "at_s", "words"),
    [
        ((60.0, 30.0), None, "more than"),
        ((0.0, 5.0), None, "under 0.1"),
        (None, None, "exactly one"),
        ((1.0, 2.0), 3.0, "exactly one"),
    ],
)
def test_schedules_that_cannot_run_are_refused(
    every_s: tuple[float, float] | None, at_s: float | None, words: str
) -> None:
    with pytest.raises(ScheduleError, match=words):
        Schedules().start(_info(every_s=every_s, at_s=at_s))


# -- the app over the real link -----------------------------------------------------------------------

pytest_renderer = pytest.mark.renderer


def _ok(reply: m.Reply) -> None:
    assert reply.status == "ok", f"{reply.ename}: {reply.evalue}"


@pytest.fixture
def console(showbase: Any, tmp_path: Any) -> Any:
    from vr_exposure import __version__
    from vr_exposure.journal import create_session

    session = create_session(tmp_path / "sessions", pseudonym="P007", software_version=__version__)
    with running_app(showbase) as app, Console(showbase, app) as con:
        con.connect()
        _ok(con.request(m.SetSessionRequest(session_id=session.name, session_dir=str(session))))
        con.session = session  # type: ignore[attr-defined]
        yield con


def _spiders(con: Console) -> None:
    _ok(con.request(m.LoadSceneRequest(scene="spiders", intensity=60)))
    con.step_until(lambda: con.app.settled, what="the scene faded in")


def _journal(con: Console) -> Any:
    from vr_exposure.journal import read_session

    con.app.journal.close()  # type: ignore[union-attr]
    con.app.journal = None
    return read_session(con.session)  # type: ignore[attr-defined]


@pytest_renderer
def test_a_scheduled_event_fires_repeatedly_is_journaled_with_its_schedule_and_stops(
    console: Console,
) -> None:
    con = console
    _spiders(con)
    start = m.StartScheduleRequest(schedule_id="scatter-1", event="scatter", every_s=(0.2, 0.4), strength=0.4)
    start_id = con.send(start)
    _ok(con.reply(start_id))
    assert [s.schedule_id for s in con.app.state().schedules] == ["scatter-1"]
    con.step_until(
        lambda: len([f for f in con.facts("event_fired") if f.schedule_id == "scatter-1"]) >= 3,
        max_frames=3000,
        what="three scheduled firings",
    )
    fired = [f for f in con.facts("event_fired") if f.schedule_id == "scatter-1"]
    assert all(f.event == "scatter" and f.strength == 0.4 for f in fired)
    con.step_until(lambda: con.client.state is not None and con.client.state.schedules, what="mirror")
    _ok(con.request(m.StopScheduleRequest(schedule_id="scatter-1")))
    count = len(con.facts("event_fired"))
    ended = con.facts("schedule_ended")
    assert [(e.schedule_id, e.reason) for e in ended] == [("scatter-1", "stopped")]
    assert ended[0].fired >= 3
    assert con.app.state().schedules == ()
    frame = con.app.frame
    con.step_until(lambda: con.app.frame >= frame + 60, what="frames after the stop")
    assert len(con.facts("event_fired")) == count, "no firing after the stop"
    assert con.client.state is not None and con.client.state.schedules == ()
    log = _journal(con)
    records = [r for r in log.by_type("event_fired") if r.content.get("schedule_id") == "scatter-1"]
    assert len(records) >= 3 and all(r.kind == "clinical" for r in records)
    assert all(r.parent_header is not None and r.parent_header.msg_id == start_id for r in records)
    assert log.by_type("schedule_started")[0].content["schedule"]["every_s"] == [0.2, 0.4]


@pytest_renderer
def test_the_safe_place_ends_every_schedule_and_every_trigger_in_the_frame(console: Console) -> None:
    con = console
    _spiders(con)
    _ok(con.request(m.StartScheduleRequest(schedule_id="a", event="scatter", every_s=(30.0, 60.0))))
    _ok(con.request(m.StartScheduleRequest(schedule_id="b", event="walk-toward", at_s=100, scope="session")))
    _ok(con.request(m.TriggerEventRequest(event="walk-toward")))
    _ok(con.request(m.TriggerEventRequest(event="drop-from-ceiling")))  # waits out its delay
    assert set(con.app.state().active_events) == {"walk-toward", "drop-from-ceiling"}
    frame = con.app.frame
    _ok(con.request(m.SafePlaceRequest()))
    assert con.app.frame <= frame + 2
    state = con.app.state()
    assert state.schedules == () and state.active_events == ()
    assert {(e.schedule_id, e.reason) for e in con.facts("schedule_ended")} == {
        ("a", "safe_place"),
        ("b", "safe_place"),
    }
    assert {e.event for e in con.facts("event_ended")} == {"walk-toward", "drop-from-ceiling"}
    # The delayed event never starts behind the fade.
    con.step(30)
    assert con.app.state().active_events == ()
    reply = con.request(m.StartScheduleRequest(schedule_id="c", event="scatter", at_s=1))
    assert reply.status == "error" and reply.ename == "InvalidState"


@pytest_renderer
def test_another_rung_ends_the_rungs_schedules_and_a_stop_ends_the_rest(console: Console) -> None:
    con = console
    _spiders(con)
    _ok(con.request(m.StartScheduleRequest(schedule_id="rung", event="scatter", every_s=(30.0, 60.0))))
    _ok(
        con.request(
            m.StartScheduleRequest(schedule_id="own", event="scatter", every_s=(30.0, 60.0), scope="session")
        )
    )
    preset = next(iter(con.app.stage.spec.presets))  # type: ignore[union-attr]
    _ok(con.request(m.ApplyPresetRequest(preset=preset, ramp_s=0)))
    assert [s.schedule_id for s in con.app.state().schedules] == ["own"]
    assert [(e.schedule_id, e.reason) for e in con.facts("schedule_ended")] == [("rung", "rung")]
    _ok(con.request(m.StopRequest()))
    assert con.app.state().schedules == ()
    assert con.facts("schedule_ended")[-1].reason == "stop"


@pytest_renderer
def test_schedules_of_unknown_events_or_impossible_windows_are_refused(console: Console) -> None:
    con = console
    _spiders(con)
    reply = con.request(m.StartScheduleRequest(schedule_id="x", event="cough", every_s=(1.0, 2.0)))
    assert reply.ename == "UnknownEvent" and "scatter" in (reply.evalue or "")
    reply = con.request(m.StartScheduleRequest(schedule_id="x", event="scatter", every_s=(9.0, 2.0)))
    assert reply.ename == "InvalidSchedule" and "more than" in (reply.evalue or "")
    reply = con.request(m.TriggerEventRequest(event="scatter", strength=1.5))
    assert reply.ename == "InvalidMessage" and "strength" in (reply.evalue or "")
    assert con.app.state().schedules == () and con.app.errors == 0


class _Sound:
    def __init__(self) -> None:
        self.volume = 0.0
        self.playing = False

    def setLoop(self, loop: bool) -> None:  # noqa: N802 - Panda3D's AudioSound API
        pass

    def setVolume(self, volume: float) -> None:  # noqa: N802
        self.volume = volume

    def set3dMinDistance(self, d: float) -> None:  # noqa: N802
        pass

    def set3dAttributes(self, *args: float) -> None:  # noqa: N802
        pass

    def play(self) -> None:
        self.playing = True

    def stop(self) -> None:
        self.playing = False


class _Manager:
    """Panda3D's AudioManager as far as SceneAudio uses it: sounds whose volume the test reads."""

    def __init__(self) -> None:
        self.sounds: list[_Sound] = []

    def getSound(self, path: Any, positional: bool) -> _Sound:  # noqa: N802
        self.sounds.append(_Sound())
        return self.sounds[-1]

    def __getattr__(self, name: str) -> Any:  # audio3dSet..., update: nothing to do
        return lambda *args: None


@pytest_renderer
def test_a_triggers_strength_reaches_the_builder_and_the_cues_volume(console: Console) -> None:
    from panda3d.core import NodePath

    from vr_exposure.renderer.audio import SceneAudio

    con = console
    _spiders(con)
    stage = con.app.stage
    render = NodePath("audio-test")
    audio = SceneAudio(_Manager(), render.attachNewNode("head"), root=render)
    audio.load_scene(stage.spec, lambda name: None)  # type: ignore[arg-type]
    stage.audio = audio  # type: ignore[attr-defined]
    audio.set_intensity(stage.intensity)
    _ok(con.request(m.TriggerEventRequest(event="scatter", strength=0.3)))
    assert con.facts("event_fired")[-1].strength == 0.3
    assert stage.scene.event_strength("scatter") == 0.3  # type: ignore[union-attr]
    quiet = audio.event_cue_volumes["scuttle"]
    audio.stop_event_cues()
    _ok(con.request(m.TriggerEventRequest(event="scatter", strength=0.9)))
    assert stage.scene.event_strength("scatter") == 0.9  # type: ignore[union-attr]
    loud = audio.event_cue_volumes["scuttle"]
    assert quiet > 0 and loud == pytest.approx(quiet * 3, rel=1e-3)
    # The safe place silences the event cue at once; the scene's loops are not event cues.
    _ok(con.request(m.SafePlaceRequest()))
    assert audio.event_cue_volumes == {}
    stage.audio = None  # type: ignore[attr-defined]
    audio.unload()
    render.removeNode()
