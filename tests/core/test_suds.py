"""SUDS ratings (scale kept with the value) and the probe schedule on running time."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vr_exposure.core.suds import ProbeSchedule, RatingError, SudsRating, rating_from_content

S = 1_000_000_000  # ns per second


def test_ten_point_rating_keeps_raw_and_scale() -> None:
    r = SudsRating.create(7, scale_max=10, source="patient-in-vr", t_mono_ns=5, probe_id="probe-1", rung=3)
    assert (r.value, r.raw, r.scale_max, r.source, r.probe_id, r.rung) == (
        70.0,
        7,
        10,
        "patient-in-vr",
        "probe-1",
        3,
    )


@pytest.mark.parametrize(
    ("raw", "scale", "source", "message"),
    [
        (11, 10, "therapist", "SUDS value: 11 is outside 0-10"),
        (-1, 100, "therapist", "SUDS value: -1 is outside 0-100"),
        (101, 100, "therapist", "outside 0-100"),
        (math.nan, 100, "therapist", "outside 0-100"),
        ("50", 100, "therapist", "'50' is not a number"),
        (True, 100, "therapist", "True is not a number"),
        (5, 7, "therapist", "scale_max: 7 is not a SUDS scale"),
        (5, 10, "patient", "source: 'patient' is not one of"),
    ],
)
def test_invalid_ratings_are_refused_clearly(raw: object, scale: int, source: str, message: str) -> None:
    with pytest.raises(RatingError, match=message):
        SudsRating.create(raw, scale_max=scale, source=source, t_mono_ns=0)  # type: ignore[arg-type]


def test_probes_come_due_every_interval_and_miss_after_the_window() -> None:
    s = ProbeSchedule(interval_s=300, response_window_s=60)
    assert s.advance(299 * S, 1) == []
    [u] = s.advance(300 * S, 2)
    assert (u.kind, u.probe.probe_id, u.probe.due_running_s, u.probe.deadline_running_s) == (
        "due",
        "probe-1",
        300,
        360,
    )
    assert s.advance(359 * S, 3) == []
    [u] = s.advance(360 * S, 4)
    assert (u.kind, u.probe.probe_id, u.probe.status) == ("missed", "probe-1", "missed")
    assert "no rating within 60 s" in (u.probe.missed_reason or "")


def test_a_long_gap_issues_every_probe_in_order() -> None:
    s = ProbeSchedule(interval_s=300, response_window_s=60)
    updates = s.advance(1000 * S, 7)
    # due 300, missed 360, due 600, missed 660, due 900 (deadline 960 passed), missed 960
    assert [(u.kind, u.probe.index) for u in updates] == [
        ("due", 1),
        ("missed", 1),
        ("due", 2),
        ("missed", 2),
        ("due", 3),
        ("missed", 3),
    ]
    assert len(s.probes) == 3


def test_answer_oldest_pending_and_late_answers() -> None:
    s = ProbeSchedule(interval_s=10, response_window_s=100)
    s.advance(25 * S, 0)
    assert [p.status for p in s.probes] == ["pending", "pending"]
    p = s.answer(None, 1)
    assert p is not None and (p.probe_id, p.status) == ("probe-1", "answered")
    assert s.answer("probe-1", 2) == p  # a second answer leaves it as it was
    s.advance(200 * S, 3)
    late = s.answer("probe-2", 4)
    assert late is not None and late.status == "missed"
    with pytest.raises(RatingError, match="no probe 'probe-99'"):
        s.answer("probe-99", 5)


def test_close_marks_pending_missed_and_stops() -> None:
    s = ProbeSchedule(interval_s=10, response_window_s=100)
    s.advance(35 * S, 0)
    s.answer("probe-2", 1)
    closed = s.close(9)
    assert [p.probe_id for p in closed] == ["probe-1", "probe-3"]
    assert [p.status for p in s.probes] == ["missed", "answered", "missed"]
    assert s.advance(1000 * S, 10) == []


def test_bad_settings_and_time_going_back() -> None:
    with pytest.raises(RatingError, match="probe_interval_s"):
        ProbeSchedule(interval_s=0)
    with pytest.raises(RatingError, match="response_window_s"):
        ProbeSchedule(response_window_s=-1)
    s = ProbeSchedule()
    s.advance(10 * S, 0)
    with pytest.raises(RatingError, match="went back"):
        s.advance(5 * S, 0)


@given(
    steps=st.lists(st.integers(min_value=0, max_value=400 * S), max_size=30), answer_every=st.integers(1, 4)
)
def test_no_probe_is_ever_lost(steps: list[int], answer_every: int) -> None:
    s = ProbeSchedule(interval_s=60, response_window_s=30)
    running = 0
    seen: dict[str, list[str]] = {}
    for i, step in enumerate(steps):
        running += step
        for u in s.advance(running, i):
            seen.setdefault(u.probe.probe_id, []).append(u.kind)
        if i % answer_every == 0:
            s.answer(None, i)
        assert len(s.probes) == running // (60 * S)
        assert all(p.deadline_running_ns > running for p in s.pending)
    s.close(10**9)
    assert all(p.status in ("answered", "missed") for p in s.probes)
    # Every probe was announced due exactly once, and missed at most once.
    assert set(seen) == {p.probe_id for p in s.probes}
    assert all(
        kinds[0] == "due" and kinds.count("due") == 1 and kinds.count("missed") <= 1
        for kinds in seen.values()
    )


def test_rating_round_trips_through_journal_content() -> None:
    from vr_exposure.core.clock import FakeClock
    from vr_exposure.core.engine import SessionEngine

    engine = SessionEngine(None, None, FakeClock())
    engine.start()
    [event] = engine.record_rating(4, scale_max=10, source="simulated")
    content = msgspec.json.decode(msgspec.json.encode(event.content()))
    assert rating_from_content(content) == engine.ratings[0]
    with pytest.raises(RatingError, match=r"suds_recorded: .*\$.value"):
        rating_from_content({"rating": {"value": "x"}})
    with pytest.raises(RatingError, match="outside 0-10"):
        rating_from_content({**content["rating"], "raw": 40})


def test_a_held_window_misses_nothing_and_resumes_where_it_stopped() -> None:
    s = ProbeSchedule(interval_s=300, response_window_s=60)
    s.advance(300 * S, 1)  # probe-1 due, deadline 360
    s.advance(330 * S, 2)
    s.hold(330 * S)  # 30 s of its window used
    assert s.held
    # Long after the deadline, and a second probe comes due meanwhile: nothing is missed.
    updates = s.advance(700 * S, 3)
    assert [(u.kind, u.probe.index) for u in updates] == [("due", 2)]
    s.release(700 * S)
    assert not s.held
    by_id = {p.probe_id: p for p in s.probes}
    # probe-1 had 30 s left; probe-2 came due during the hold, so its whole window is still ahead.
    assert by_id["probe-1"].deadline_running_s == 730
    assert by_id["probe-2"].deadline_running_s == 700 + 60
    assert s.advance(729 * S, 4) == []
    [u] = s.advance(730 * S, 5)
    assert (u.kind, u.probe.probe_id) == ("missed", "probe-1")
    [u] = s.advance(760 * S, 6)
    assert (u.kind, u.probe.probe_id) == ("missed", "probe-2")


def test_hold_and_release_are_idempotent() -> None:
    s = ProbeSchedule(interval_s=10, response_window_s=5)
    s.release(0)  # not held: nothing happens
    s.advance(10 * S, 0)
    s.hold(11 * S)
    s.hold(13 * S)  # the first hold counts
    s.release(14 * S)
    s.release(20 * S)
    assert s.probes[0].deadline_running_s == 15 + 3
