"""The session engine: transitions, probes, advice, and a stateful property test of its invariants."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.engine import (
    EVENT_TYPES,
    AdviceGiven,
    SessionEngine,
    SessionEvent,
    SessionInputError,
    SessionStateError,
    State,
)
from vr_exposure.core.specs import (
    MoveDownRule,
    MoveUpRule,
    Preset,
    ProtocolSpec,
    Rules,
    Rung,
    SceneSpec,
    SessionSettings,
    SudsSettings,
)
from vr_exposure.core.suds import RatingError

RUNGS = 6
SCENE = SceneSpec(
    id="spiders",
    title="Spiders",
    condition="arachnophobia",
    builder="spiders",
    presets={f"rung{i}": Preset(intensity=10.0 + 15.0 * i) for i in range(RUNGS)},
)
PROTOCOL = ProtocolSpec(
    id="spiders-test",
    title="Test ladder",
    scene="spiders",
    ladder=tuple(Rung(preset=f"rung{i}", expected_suds=20 + 10 * i, title=f"step {i}") for i in range(RUNGS)),
    suds=SudsSettings(probe_interval_s=30, response_window_s=10),
    rules=Rules(
        up=MoveUpRule(reduction_from_peak=0.5, below=None, time_cap_s=120), down=MoveDownRule(ceiling=90)
    ),
    session=SessionSettings(length_s=600),
)


def _types(events: list[SessionEvent]) -> list[str]:
    return [e.msg_type for e in events]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def engine(clock: FakeClock) -> SessionEngine:
    return SessionEngine(PROTOCOL, SCENE, clock)


# --- transitions ----------------------------------------------------------------------------------


def test_lifecycle_events(engine: SessionEngine, clock: FakeClock) -> None:
    assert engine.state == "idle"
    assert _types(engine.start()) == ["session_started"]
    clock.advance(5)
    assert _types(engine.pause()) == ["paused"]
    assert _types(engine.resume()) == ["resumed"]
    assert _types(engine.enter_safe_place(by="patient")) == ["safe_place_entered"]
    clock.advance(12)
    [left] = engine.leave_safe_place()
    assert left.msg_type == "safe_place_left" and left.content()["seconds_in_safe_place"] == 12
    assert engine.summary().state == "running"
    [ended] = engine.end("therapist ended")
    assert ended.content()["reason"] == "therapist ended"
    assert engine.summary().state == "ended"


@pytest.mark.parametrize("before", ["idle", "running", "paused"])
def test_safe_place_returns_to_the_state_before(engine: SessionEngine, before: State) -> None:
    if before != "idle":
        engine.start()
    if before == "paused":
        engine.pause()
    engine.enter_safe_place()
    assert engine.state == "safe_place" and engine.state_before_safe_place == before
    assert engine.enter_safe_place() == []  # pressed twice: never an error
    engine.leave_safe_place()
    assert engine.state == before


@pytest.mark.parametrize(
    ("setup", "command", "message"),
    [
        ([], "resume", "cannot resume while idle"),
        ([], "pause", "cannot pause while idle"),
        (["start"], "start", "cannot start while running"),
        (["start"], "leave_safe_place", "cannot leave the safe place while running"),
        (["start", "pause"], "pause", "cannot pause while paused"),
        (["start", "enter_safe_place"], "resume", "cannot resume while safe place"),
        (["end"], "start", "the session has ended"),
        (["end"], "end", "the session has ended"),
        (["end"], "enter_safe_place", "the session has ended"),
    ],
)
def test_illegal_transitions_raise_and_change_nothing(
    engine: SessionEngine, setup: list[str], command: str, message: str
) -> None:
    for step in setup:
        getattr(engine, step)()
    before = engine.summary()
    with pytest.raises(SessionStateError, match=message):
        getattr(engine, command)()
    assert engine.summary() == before


def test_ended_is_terminal_for_every_command(engine: SessionEngine, clock: FakeClock) -> None:
    engine.start()
    engine.end()
    for call in (
        engine.start,
        engine.pause,
        engine.resume,
        engine.enter_safe_place,
        engine.leave_safe_place,
        engine.end,
        lambda: engine.set_rung(1),
        lambda: engine.set_intensity(50),
        lambda: engine.record_rating(50),
        lambda: engine.accept_advice("advice-1"),
        lambda: engine.dismiss_advice("advice-1"),
    ):
        with pytest.raises(SessionStateError, match="ended"):
            call()
    clock.advance(1000)
    assert engine.tick() == []
    assert engine.state == "ended"


# --- rung and intensity ---------------------------------------------------------------------------


def test_set_rung_applies_the_preset_intensity(engine: SessionEngine) -> None:
    events = engine.set_rung(2)
    assert _types(events) == ["rung_changed", "intensity_set"]
    assert events[0].content()["preset"] == "rung2" and events[0].content()["expected_suds"] == 40
    assert events[1].content() == {
        "t_mono_ns": events[1].t_mono_ns,
        "intensity_from": 0.0,
        "intensity": 40.0,
        "by": "therapist",
        "rung": 2,
    }
    assert (engine.rung, engine.intensity) == (2, 40.0)
    assert engine.set_rung(2) == []  # no change, no event
    engine.set_intensity(45)
    [back] = engine.set_rung(2)  # re-selecting the rung puts its preset intensity back
    assert back.msg_type == "intensity_set" and engine.intensity == 40.0


def test_bad_rung_and_intensity_are_refused(engine: SessionEngine) -> None:
    with pytest.raises(SessionInputError, match="rung: 6 is not a rung of this ladder"):
        engine.set_rung(RUNGS)
    with pytest.raises(SessionInputError, match="intensity: 101 is outside 0-100"):
        engine.set_intensity(101)
    with pytest.raises(SessionInputError, match="not a number"):
        engine.set_intensity(float("nan"))
    with pytest.raises(SessionInputError, match="only the therapist"):
        engine.set_intensity(50, by="renderer")  # type: ignore[arg-type]
    assert (engine.rung, engine.intensity) == (None, 0.0)


def test_without_protocol_there_is_no_ladder(clock: FakeClock) -> None:
    engine = SessionEngine(None, None, clock)
    engine.start()
    with pytest.raises(SessionStateError, match="no protocol"):
        engine.set_rung(0)
    assert _types(engine.set_intensity(35)) == ["intensity_set"]
    clock.advance(301)  # the default interval is 300 s
    assert _types(engine.tick()) == ["probe_due"]


def test_protocol_and_scene_must_match(clock: FakeClock) -> None:
    other = msgspec.structs.replace(SCENE, id="heights")
    with pytest.raises(SessionInputError, match="is for scene 'spiders', not 'heights'"):
        SessionEngine(PROTOCOL, other, clock)
    few = msgspec.structs.replace(SCENE, presets={"rung0": Preset(intensity=5)})
    with pytest.raises(SessionInputError, match="rung1, rung2"):
        SessionEngine(PROTOCOL, few, clock)


# --- ratings and probes ---------------------------------------------------------------------------


def test_ratings_keep_scale_and_answer_open_probes(engine: SessionEngine, clock: FakeClock) -> None:
    engine.set_rung(1)
    engine.record_rating(20)  # baseline before the start
    engine.start()
    clock.advance(31)
    events = engine.record_rating(6, scale_max=10, source="patient-in-vr")
    assert _types(events) == ["probe_due", "suds_recorded"]
    content = events[1].content()
    assert content["probe_id"] == "probe-1" and content["probe_status"] == "answered"
    assert content["rating"]["value"] == 60 and content["rating"]["raw"] == 6
    assert content["rating"]["scale_max"] == 10 and content["rating"]["rung"] == 1
    baseline, rated = engine.ratings
    assert baseline.during_exposure is False and rated.during_exposure is True
    assert (baseline.running_s, rated.running_s) == (0.0, 31.0)
    assert engine.next_probe_running_s == 60.0
    engine.enter_safe_place()
    engine.record_rating(80)
    assert engine.ratings[-1].during_exposure is False


def test_bad_rating_changes_nothing(engine: SessionEngine, clock: FakeClock) -> None:
    engine.start()
    clock.advance(31)
    with pytest.raises(RatingError, match="outside 0-10"):
        engine.record_rating(11, scale_max=10)
    with pytest.raises(RatingError, match="no probe 'probe-7'"):
        engine.record_rating(50, probe_id="probe-7")
    assert engine.ratings == ()
    assert _types(engine.tick()) == ["probe_due"]  # not swallowed by the refused calls


def test_probes_count_running_time_only(engine: SessionEngine, clock: FakeClock) -> None:
    engine.start()
    clock.advance(25)
    engine.pause()
    clock.advance(1000)  # paused: no probe, nothing missed
    assert engine.tick() == []
    engine.resume()
    clock.advance(6)  # 31 s of exposure
    [due] = engine.tick()
    assert due.msg_type == "probe_due" and due.content()["due_running_s"] == 30
    engine.enter_safe_place()
    clock.advance(1000)  # the open prompt stays open through the safe place
    assert engine.tick() == [] and engine.pending_probes[0].probe_id == "probe-1"
    engine.leave_safe_place()
    clock.advance(9)  # 40 s of exposure: the 10 s window has passed
    [missed] = engine.tick()
    assert missed.msg_type == "probe_missed" and missed.content()["probe_id"] == "probe-1"
    assert engine.running_s == pytest.approx(40)


def test_end_marks_open_probes_missed(engine: SessionEngine, clock: FakeClock) -> None:
    engine.start()
    clock.advance(35)
    events = engine.end()
    assert _types(events) == ["probe_due", "probe_missed", "session_ended"]
    assert events[1].content()["reason"] == "the session ended before a rating"
    assert events[2].content()["probes_missed"] == 1
    assert [p.status for p in engine.probes] == ["missed"]


def test_session_length_reached_once(engine: SessionEngine, clock: FakeClock) -> None:
    engine.start()
    engine.pause()
    clock.advance(700)
    assert "session_length_reached" not in _types(engine.tick())
    engine.resume()
    clock.advance(600)
    assert _types(engine.tick()).count("session_length_reached") == 1
    clock.advance(60)
    assert "session_length_reached" not in _types(engine.tick())
    assert engine.state == "running"  # it never ends a session by itself


# --- advice ---------------------------------------------------------------------------------------


def test_fifty_percent_drop_advises_moving_up_once(engine: SessionEngine, clock: FakeClock) -> None:
    engine.set_rung(2)
    engine.start()
    for value in (40, 70, 60):
        clock.advance(5)
        assert "advice_given" not in _types(engine.record_rating(value))
    clock.advance(5)
    events = engine.record_rating(35)
    [given] = [e for e in events if isinstance(e, AdviceGiven)]
    advice = given.advice
    assert (advice.kind, advice.rule, advice.rung_from, advice.rung_to) == (
        "move_up",
        "reduction_from_peak",
        2,
        3,
    )
    # Rungs are numbered from 1 for people, as the ladder and the console show them: index 3 is rung 4.
    assert advice.reason == "SUDS fell 50% from peak 70 to 35: consider the next rung (rung 4: step 3)"
    clock.advance(5)
    assert "advice_given" not in _types(engine.record_rating(30))  # once per condition
    assert (engine.rung, engine.intensity) == (2, 40.0)  # advice only
    events = engine.accept_advice(advice.advice_id)
    assert _types(events) == ["advice_accepted", "rung_changed", "intensity_set"]
    assert events[1].content()["advice_id"] == advice.advice_id
    assert (engine.rung, engine.intensity) == (3, 55.0)
    with pytest.raises(SessionStateError, match="already accepted"):
        engine.accept_advice(advice.advice_id)


def test_ceiling_advises_moving_down_and_dismissal(engine: SessionEngine) -> None:
    engine.set_rung(1)
    engine.start()
    [advice] = [e.advice for e in engine.record_rating(95) if isinstance(e, AdviceGiven)]
    assert (advice.kind, advice.rung_to) == ("move_down", 0)
    assert "SUDS 95 is above the ceiling 90" in advice.reason
    assert _types(engine.dismiss_advice(advice.advice_id, "patient wants to stay")) == ["advice_dismissed"]
    assert "advice_given" not in _types(engine.record_rating(96))  # dismissed: not given again this visit
    assert engine.pending_advice == ()
    assert engine.rung == 1
    with pytest.raises(SessionInputError, match="no advice 'advice-9'"):
        engine.dismiss_advice("advice-9")


def test_no_advice_past_the_ends_of_the_ladder(engine: SessionEngine) -> None:
    engine.set_rung(0)
    engine.start()
    assert "advice_given" not in _types(engine.record_rating(99))  # no rung below 0
    engine.set_rung(RUNGS - 1)
    engine.record_rating(80)
    assert "advice_given" not in _types(engine.record_rating(10))  # no rung above the top


def test_time_cap_counts_exposure_on_the_rung(engine: SessionEngine, clock: FakeClock) -> None:
    engine.set_rung(1)
    engine.start()
    clock.advance(100)
    engine.pause()
    clock.advance(500)
    assert "advice_given" not in _types(engine.tick())
    engine.resume()
    clock.advance(20)
    [advice] = [e.advice for e in engine.tick() if isinstance(e, AdviceGiven)]
    assert advice.rule == "time_cap" and advice.reason.startswith("2 min on this rung (cap 2 min)")
    assert engine.time_on_rung_s() == pytest.approx(120)


def test_changing_rung_expires_pending_advice(engine: SessionEngine) -> None:
    engine.set_rung(1)
    engine.start()
    [advice] = [e.advice for e in engine.record_rating(95) if isinstance(e, AdviceGiven)]
    [changed] = [e for e in engine.set_rung(3) if e.msg_type == "rung_changed"]
    assert changed.content()["expired_advice"] == [advice.advice_id]
    with pytest.raises(SessionStateError, match="already expired"):
        engine.accept_advice(advice.advice_id)
    # Back on rung 1 is a new visit: the same condition advises again.
    engine.set_rung(1)
    assert "advice_given" in _types(engine.record_rating(95))


# --- journal-facing shapes ------------------------------------------------------------------------


def test_every_event_type_has_a_distinct_msg_type_and_json_content(
    engine: SessionEngine, clock: FakeClock
) -> None:
    assert len({t.msg_type for t in EVENT_TYPES}) == len(EVENT_TYPES)
    events: list[SessionEvent] = []
    events += engine.set_rung(1)
    events += engine.start()
    clock.advance(31)
    events += engine.record_rating(95)
    events += engine.pause()
    events += engine.resume()
    events += engine.enter_safe_place()
    events += engine.leave_safe_place()
    events += engine.dismiss_advice(engine.pending_advice[0].advice_id)
    clock.advance(1000)
    events += engine.tick()
    events += engine.end()
    for e in events:
        assert type(e) in EVENT_TYPES
        assert msgspec.json.decode(msgspec.json.encode(e.content())) == e.content()


def test_summary(engine: SessionEngine, clock: FakeClock) -> None:
    engine.set_rung(2)
    engine.start()
    for value in (40, 70, 60, 35):
        clock.advance(30)
        engine.record_rating(value)
    summary = engine.summary()
    assert summary.state == "running" and summary.rung == 2 and summary.intensity == 40
    assert summary.running_s == pytest.approx(120)
    assert (summary.probes_issued, summary.probes_answered, summary.probes_pending) == (4, 4, 0)
    rung2 = summary.rungs[2]
    assert (rung2.visits, rung2.time_on_rung_s, rung2.peak, rung2.end) == (1, 120, 70, 35)
    m = summary.metrics.rung(2)
    assert m is not None and m.trajectory.reduction_pct == pytest.approx(50)
    assert m.trajectory.time_to_50pct_s == pytest.approx(120)  # from entering the rung at the start
    assert m.expected_minus_peak == -30
    msgspec.json.encode(summary.content())


# --- stateful property test -----------------------------------------------------------------------

THERAPIST_EXPOSURE_EVENTS = {"rung_changed", "intensity_set"}
TRANSITIONS: dict[str, tuple[State, ...]] = {
    "start": ("idle",),
    "pause": ("running",),
    "resume": ("paused",),
    "leave_safe_place": ("safe_place",),
}
LIVE: tuple[State, ...] = ("idle", "running", "paused", "safe_place")
END_AFTER_STEPS = 25  # ending earlier would leave most runs with nothing to explore; teardown ends the rest


class EngineMachine(RuleBasedStateMachine):
    """Random commands, time advances and ratings against a small model of what must hold."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.engine = SessionEngine(PROTOCOL, SCENE, self.clock)
        self.state: State = "idle"
        self.before_safe_place: State | None = None
        self.rung: int | None = None
        self.intensity = 0.0
        self.running_ns = 0
        self.announced: set[str] = set()
        self.missed_announced: set[str] = set()
        self.steps = 0

    @initialize(rung=st.none() | st.integers(0, RUNGS - 1), start=st.booleans())
    def prepare(self, rung: int | None, start: bool) -> None:
        if rung is not None:
            self.therapist_sets_rung(rung)
        if start:
            self.transition("start")

    def _observe(self, events: list[SessionEvent], *, therapist: bool = False) -> None:
        for e in events:
            event(e.msg_type)  # shown by --hypothesis-show-statistics: which paths the runs reached
            content = e.content()
            if e.msg_type == "probe_due":
                assert content["probe_id"] not in self.announced
                self.announced.add(content["probe_id"])
            elif e.msg_type == "probe_missed":
                assert content["probe_id"] not in self.missed_announced
                self.missed_announced.add(content["probe_id"])
            if not therapist:
                # The invariant that matters most: nothing but a therapist command changes exposure.
                assert e.msg_type not in THERAPIST_EXPOSURE_EVENTS, e

    def _call(self, name: str, *args: object, therapist: bool = False, **kwargs: object) -> bool:
        self.steps += 1
        try:
            events = getattr(self.engine, name)(*args, **kwargs)
        except SessionStateError:
            return False
        self._observe(events, therapist=therapist)
        return True

    @rule(command=st.sampled_from(sorted(TRANSITIONS)))
    def transition(self, command: str) -> None:
        legal = self.state in TRANSITIONS[command]
        assert self._call(command) == legal
        if not legal:
            return
        if command == "start" or command == "resume":
            self.state = "running"
        elif command == "pause":
            self.state = "paused"
        elif command == "leave_safe_place":
            assert self.before_safe_place is not None
            self.state, self.before_safe_place = self.before_safe_place, None

    @precondition(lambda self: self.steps >= END_AFTER_STEPS)
    @rule()
    def end(self) -> None:
        assert self._call("end") == (self.state in LIVE)
        self.state = "ended"

    @rule()
    def enter_safe_place(self) -> None:
        ok = self._call("enter_safe_place")
        assert ok == (self.state != "ended")
        if ok and self.state != "safe_place":
            self.state, self.before_safe_place = "safe_place", self.state

    @rule(seconds=st.sampled_from([0, 0.5, 3, 9, 10, 11, 29, 30, 31, 60, 125, 400]), tick=st.booleans())
    def time_passes(self, seconds: float, tick: bool) -> None:
        before = self.clock.monotonic_ns()
        self.clock.advance(seconds)
        if self.state == "running":
            self.running_ns += self.clock.monotonic_ns() - before
        if tick:
            self._observe(self.engine.tick())

    @rule(
        value=st.integers(-5, 105),
        scale=st.sampled_from([10, 100]),
        source=st.sampled_from(["therapist", "patient-in-vr", "simulated"]),
        which=st.sampled_from(["none", "pending", "any"]),
    )
    def rating(self, value: int, scale: int, source: str, which: str) -> None:
        probe_id: str | None = None
        if which == "pending" and self.engine.pending_probes:
            probe_id = self.engine.pending_probes[-1].probe_id
        elif which == "any" and self.engine.probes:
            probe_id = self.engine.probes[0].probe_id
        valid = 0 <= value <= scale
        count = len(self.engine.ratings)
        try:
            ok = self._call("record_rating", value, scale_max=scale, source=source, probe_id=probe_id)
        except RatingError:
            assert not valid
            assert len(self.engine.ratings) == count
            return
        assert ok == (self.state != "ended")
        assert valid or not ok
        assert len(self.engine.ratings) == count + (1 if ok else 0)

    @rule(index=st.integers(-1, RUNGS))
    def therapist_sets_rung(self, index: int) -> None:
        try:
            ok = self._call("set_rung", index, therapist=True)
        except SessionInputError:
            assert not 0 <= index < RUNGS
            return
        assert ok == (self.state != "ended")
        if ok:
            self.rung = index
            self.intensity = SCENE.presets[f"rung{index}"].intensity

    @rule(value=st.floats(-10, 110, allow_nan=False))
    def therapist_sets_intensity(self, value: float) -> None:
        try:
            ok = self._call("set_intensity", value, therapist=True)
        except SessionInputError:
            assert not 0 <= value <= 100
            return
        assert ok == (self.state != "ended")
        if ok:
            self.intensity = value

    @precondition(lambda self: bool(self.engine.advice))
    @rule(data=st.data(), accept=st.booleans())
    def therapist_answers_advice(self, data: st.DataObject, accept: bool) -> None:
        record = data.draw(st.sampled_from(self.engine.advice))
        advice = record.advice
        ok = self._call("accept_advice" if accept else "dismiss_advice", advice.advice_id, therapist=accept)
        usable = record.status == "pending" and self.state != "ended"
        if accept:
            usable = usable and advice.rung_from == self.rung
        assert ok == usable
        if ok and accept:
            self.rung = advice.rung_to
            self.intensity = SCENE.presets[f"rung{advice.rung_to}"].intensity

    @invariant()
    def matches_the_model(self) -> None:
        assert self.engine.state == self.state
        assert self.engine.rung == self.rung
        assert self.engine.intensity == self.intensity
        if self.state == "safe_place":
            assert self.engine.state_before_safe_place == self.before_safe_place

    @invariant()
    def probes_are_never_lost(self) -> None:
        probes = self.engine.probes
        assert {p.probe_id for p in probes} == self.announced
        assert {p.probe_id for p in probes if p.status == "missed"} == self.missed_announced
        if self.state == "ended":
            assert all(p.status in ("answered", "missed") for p in probes)
            return
        # As of the engine's last catch-up, every probe due has been issued and none overdue is open.
        running_ns = round(self.engine.running_s * 1e9)
        assert running_ns <= self.running_ns
        assert len(probes) == running_ns // (30 * 10**9)
        assert all(p.deadline_running_ns > running_ns for p in probes if p.status == "pending")

    @invariant()
    def advice_never_applies_itself(self) -> None:
        for a in self.engine.pending_advice:
            assert a.rung_from == self.rung

    def teardown(self) -> None:
        if self.state != "ended":
            self.clock.advance(1)
            self._observe(self.engine.end())
        assert self.engine.state == "ended"
        assert all(p.status in ("answered", "missed") for p in self.engine.probes)
        assert {p.probe_id for p in self.engine.probes} == self.announced
        with pytest.raises(SessionStateError):
            self.engine.start()


TestEngineMachine = EngineMachine.TestCase
TestEngineMachine.settings = settings(
    max_examples=300, stateful_step_count=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_duration_text_reads_naturally_for_short_and_long_caps() -> None:
    from vr_exposure.core.engine import _duration_text

    assert _duration_text(20.0) == "20 s"
    assert _duration_text(119.4) == "119 s"
    assert _duration_text(1800.0) == "30 min"


def test_advice_names_the_rung_as_the_shipped_ladder_numbers_it(clock: FakeClock) -> None:
    from vr_exposure.core.loading import load_library

    library = load_library()
    protocol = library.protocol("spiders-graded")
    engine = SessionEngine(protocol, library.scene(protocol.scene), clock)
    engine.set_rung(0)
    engine.start()
    for value in (30, 10):
        clock.advance(5)
        events = engine.record_rating(value)
    [given] = [e for e in events if isinstance(e, AdviceGiven)]
    assert given.advice.rung_to == 1
    assert given.advice.reason.endswith("consider the next rung (rung 2: Photograph on the desk)")
    engine.set_rung(1)
    clock.advance(5)
    [down] = [e for e in engine.record_rating(95) if isinstance(e, AdviceGiven)]
    assert down.advice.reason.endswith("consider the previous rung (rung 1: Photograph across the room)")


def test_a_withdrawn_rating_no_longer_counts(engine: SessionEngine, clock: FakeClock) -> None:
    from vr_exposure.core.engine import RatingWithdrawn
    from vr_exposure.core.suds import RatingError

    engine.start()
    engine.record_rating(30)
    clock.advance(5)
    (recorded,) = [e for e in engine.record_rating(90) if e.msg_type == "suds_recorded"]
    stamp = recorded.rating.t_mono_ns  # type: ignore[attr-defined]
    (event,) = engine.withdraw_rating(stamp)
    assert isinstance(event, RatingWithdrawn) and event.msg_type == "rating_corrected"
    assert event.rating.value == 90 and event.content()["rating"]["value"] == 90
    assert [r.value for r in engine.ratings] == [30]
    assert engine.metrics().session.peak == 30
    with pytest.raises(RatingError):
        engine.withdraw_rating(stamp)


def test_headset_off_holds_the_prompt_window_and_is_an_event(engine: SessionEngine, clock: FakeClock) -> None:
    engine.start()
    clock.advance(31)  # probe-1 due at 30 s of exposure, window 10 s
    assert "probe_due" in _types(engine.tick())
    [off] = engine.headset(False, "the XR session went to VISIBLE")
    assert off.msg_type == "headset_off" and off.content()["reason"] == "the XR session went to VISIBLE"
    assert engine.headset(False, "again") == []  # already off: nothing new
    clock.advance(60)
    assert "probe_missed" not in _types(engine.tick()), "not the patient's miss: they could not see it"
    assert [e.msg_type for e in engine.headset(True, "focused")] == ["headset_on"]
    assert engine.headset_worn
    clock.advance(8)
    assert "probe_missed" not in _types(engine.tick())  # 1 + 8 s of the 10 s window used
    clock.advance(1.5)
    assert "probe_missed" in _types(engine.tick())
