"""Habituation metrics against trajectories worked out by hand."""

from __future__ import annotations

import pytest

from vr_exposure.core.metrics import (
    MetricsError,
    between_session_change,
    session_metrics,
    trajectory_metrics,
)
from vr_exposure.core.specs import ProtocolSpec, Rung
from vr_exposure.core.suds import SudsRating

T0_NS = 5_000_000_000_000


def _ratings(
    points: list[tuple[float, float]],
    *,
    rung: int | None = None,
    scale_max: int = 100,
    during_exposure: bool = True,
) -> list[SudsRating]:
    """(seconds after T0, raw value) -> ratings."""
    return [
        SudsRating.create(
            v,
            scale_max=scale_max,
            t_mono_ns=T0_NS + int(t * 1e9),
            rung=rung,
            during_exposure=during_exposure,
        )
        for t, v in points
    ]


PROTOCOL = ProtocolSpec(
    id="graded",
    title="Graded",
    scene="spiders",
    ladder=(
        Rung(preset="photo", expected_suds=30),
        Rung(preset="box", expected_suds=50),
        Rung(preset="table", expected_suds=80),
    ),
)


def test_peak_end_reduction_and_time_to_half() -> None:
    # 40, 70, 60, 35 at 0, 300, 600, 900 s: peak 70 (at 300 s), end 35,
    # reduction (70 - 35) / 70 = 50%, first rating <= 35 after the peak is the 35 at 900 s.
    m = trajectory_metrics(_ratings([(0, 40), (300, 70), (600, 60), (900, 35)]))
    assert m.n_ratings == 4
    assert m.peak == 70
    assert m.end == 35
    assert m.mean == pytest.approx(51.25)  # (40 + 70 + 60 + 35) / 4
    assert m.reduction_pct == pytest.approx(50.0)
    assert m.time_to_50pct_s == pytest.approx(900.0)
    assert m.peak_to_50pct_s == pytest.approx(600.0)
    assert m.peak_t_s == pytest.approx(300.0)
    assert m.end_t_s == pytest.approx(900.0)


def test_never_reaching_half_gives_none() -> None:
    # 50, 80, 60, 50: peak 80, end 50, reduction 30/80 = 37.5%, never <= 40.
    m = trajectory_metrics(_ratings([(0, 50), (300, 80), (600, 60), (900, 50)]))
    assert m.reduction_pct == pytest.approx(37.5)
    assert m.time_to_50pct_s is None
    assert m.peak_to_50pct_s is None


def test_low_value_before_the_peak_does_not_count_as_half() -> None:
    # 20 comes before the peak of 60; the 30 at 600 s is the first at half after it.
    m = trajectory_metrics(_ratings([(0, 20), (300, 60), (450, 45), (600, 30), (750, 40)]))
    assert m.peak == 60
    assert m.end == 40
    assert m.reduction_pct == pytest.approx(100 * 20 / 60)
    assert m.time_to_50pct_s == pytest.approx(600.0)
    assert m.peak_to_50pct_s == pytest.approx(300.0)


def test_start_time_given_shifts_time_to_half() -> None:
    ratings = _ratings([(120, 80), (420, 40)])
    assert trajectory_metrics(ratings).time_to_50pct_s == pytest.approx(300.0)
    m = trajectory_metrics(ratings, start_mono_ns=T0_NS)
    assert m.time_to_50pct_s == pytest.approx(420.0)
    assert m.peak_to_50pct_s == pytest.approx(300.0)


def test_zero_peak_and_empty() -> None:
    m = trajectory_metrics(_ratings([(0, 0), (300, 0)]))
    assert (m.peak, m.end, m.mean) == (0, 0, 0)
    assert m.reduction_pct is None and m.time_to_50pct_s is None
    empty = trajectory_metrics([])
    assert empty.n_ratings == 0 and empty.peak is None and empty.reduction_pct is None


def test_ten_point_scale_is_normalised() -> None:
    # 4, 7, 6, 3 on 0-10 -> 40, 70, 60, 30: reduction (70 - 30) / 70 = 57.14...%
    m = trajectory_metrics(_ratings([(0, 4), (300, 7), (600, 6), (900, 3)], scale_max=10))
    assert m.peak == 70 and m.end == 30
    assert m.reduction_pct == pytest.approx(400 / 7)
    assert m.time_to_50pct_s == pytest.approx(900.0)


def test_unsorted_input_is_taken_in_time_order() -> None:
    ratings = _ratings([(0, 40), (300, 70), (600, 60), (900, 35)])
    assert trajectory_metrics(reversed(ratings)) == trajectory_metrics(ratings)


def test_session_metrics_per_rung_with_expected_vs_actual() -> None:
    # Rung 0 (expected 30): 30, 20, 10 -> peak 30, end 10, reduction 66.7%, half (<= 15) at 600 s.
    # Rung 1 (expected 50): 70, 50, 30 -> peak 70, end 30, reduction 57.1%, half (<= 35) at 1500 s
    #   i.e. 600 s after the rung's first rating at 900 s.
    # A baseline before the start and a rating in the safe place are not exposure.
    ratings = (
        _ratings([(-60, 90)], during_exposure=False)
        + _ratings([(0, 30), (300, 20), (600, 10)], rung=0)
        + _ratings([(900, 70), (1200, 50)], rung=1)
        + _ratings([(1250, 95)], rung=1, during_exposure=False)
        + _ratings([(1500, 30)], rung=1)
    )
    m = session_metrics(ratings, PROTOCOL, label="s1", pseudonym="P042", time_on_rung_s={0: 900.0, 1: 700.0})
    assert m.label == "s1" and m.pseudonym == "P042"
    assert [r.rung for r in m.rungs] == [0, 1]
    r0, r1 = m.rungs
    assert r0.preset == "photo" and r0.expected_suds == 30
    assert (r0.trajectory.peak, r0.trajectory.end) == (30, 10)
    assert r0.trajectory.mean == pytest.approx(20.0)
    assert r0.trajectory.reduction_pct == pytest.approx(200 / 3)
    assert r0.trajectory.time_to_50pct_s == pytest.approx(600.0)
    assert r0.expected_minus_peak == 0 and r0.expected_minus_end == 20
    assert r0.time_on_rung_s == 900.0
    assert (r1.trajectory.peak, r1.trajectory.end, r1.trajectory.n_ratings) == (70, 30, 3)
    assert r1.trajectory.mean == pytest.approx(50.0)
    assert r1.trajectory.time_to_50pct_s == pytest.approx(600.0)
    assert r1.expected_minus_peak == -20  # more distress than expected
    assert r1.expected_minus_end == 20
    # Whole exposure: 30, 20, 10, 70, 50, 30 -> peak 70 at 900 s, end 30, half (<= 35) at 1500 s.
    assert m.session.n_ratings == 6
    assert (m.session.peak, m.session.end) == (70, 30)
    assert m.session.mean == pytest.approx(35.0)
    assert m.session.time_to_50pct_s == pytest.approx(1500.0)
    assert m.rung(2) is None


def test_rung_start_times_measure_time_to_half_from_entering_the_rung() -> None:
    ratings = _ratings([(900, 70), (1200, 50), (1500, 30)], rung=1)
    m = session_metrics(ratings, PROTOCOL, rung_start_mono_ns={1: T0_NS + 600_000_000_000})
    assert m.rungs[0].trajectory.time_to_50pct_s == pytest.approx(900.0)  # 1500 - 600


def test_between_session_change_per_rung() -> None:
    # Session 1: rung 0 peak 60 end 30; rung 1 peak 80 end 50.
    # Session 2: rung 0 peak 40 end 20; rung 1 not rated.
    # Session 3: rung 0 peak 30 end 10; rung 1 peak 60 end 20.
    s1 = session_metrics(
        _ratings([(0, 60), (300, 30)], rung=0) + _ratings([(600, 80), (900, 50)], rung=1),
        PROTOCOL,
        label="2026-01-05",
        pseudonym="P042",
    )
    s2 = session_metrics(
        _ratings([(0, 40), (300, 20)], rung=0), PROTOCOL, label="2026-01-12", pseudonym="P042"
    )
    s3 = session_metrics(
        _ratings([(0, 30), (300, 10)], rung=0) + _ratings([(600, 60), (900, 20)], rung=1),
        PROTOCOL,
        label="2026-01-19",
    )
    change = between_session_change([s1, s2, s3])
    assert change.labels == ("2026-01-05", "2026-01-12", "2026-01-19")
    assert change.pseudonym == "P042"
    rung0, rung1 = change.rungs
    assert rung0.rung == 0
    assert rung0.peaks == (60, 40, 30) and rung0.ends == (30, 20, 10)
    assert rung0.peak_change == -30 and rung0.end_change == -20
    assert rung0.peak_deltas == (-20, -10) and rung0.end_deltas == (-10, -10)
    assert rung1.peaks == (80, None, 60) and rung1.ends == (50, None, 20)
    assert rung1.peak_change == -20 and rung1.end_change == -30
    assert rung1.peak_deltas == (None, None)
    # Whole sessions: peaks 80, 40, 60; ends 50, 20, 20.
    assert change.session.peaks == (80, 40, 60)
    assert change.session.peak_change == -20
    assert change.session.end_change == -30
    assert change.session.end_deltas == (-30, 0)


def test_between_session_change_with_one_session_has_no_change() -> None:
    s1 = session_metrics(_ratings([(0, 60), (300, 30)], rung=0), PROTOCOL)
    change = between_session_change([s1])
    assert change.rungs[0].peak_change is None and change.rungs[0].peak_deltas == ()


def test_between_session_change_refuses_two_pseudonyms() -> None:
    a = session_metrics(_ratings([(0, 60)], rung=0), PROTOCOL, pseudonym="P042")
    b = session_metrics(_ratings([(0, 50)], rung=0), PROTOCOL, pseudonym="P043")
    with pytest.raises(MetricsError, match="one pseudonym; got P042, P043"):
        between_session_change([a, b])
