"""The simulated patient: deterministic, rises with intensity, habituates with time at a level."""

from __future__ import annotations

import math

import pytest

from vr_exposure.core.simulated_patient import SimulatedPatient, SimulatedPatientError


def _run(patient: SimulatedPatient, schedule: list[tuple[float, float]]) -> list[int]:
    return [patient.rate(t, intensity) for t, intensity in schedule]


SCHEDULE: list[tuple[float, float]] = [(t, 20.0 if t < 900 else 60.0) for t in range(0, 1800, 60)]


def test_same_seed_same_ratings_and_different_seeds_differ() -> None:
    a = _run(SimulatedPatient(seed=7), SCHEDULE)
    assert a == _run(SimulatedPatient(seed=7), SCHEDULE)
    assert a != _run(SimulatedPatient(seed=8), SCHEDULE)
    assert all(isinstance(v, int) and 0 <= v <= 100 for v in a)


def test_noise_free_curve_matches_the_model() -> None:
    # baseline 10, max 90, gamma 1: peak(50) = 10 + 80 * 0.5 = 50; floor = 10 + 0.25 * 40 = 20;
    # after one tau: 20 + 30 / e = 31.04 -> 31.
    p = SimulatedPatient(noise_sd=0, gamma=1.0, habituation_tau_s=600)
    assert p.rate(0, 50) == 50
    assert p.rate(600, 50) == round(20 + 30 / math.e)
    assert p.rate(6000, 50) == 20  # at the floor


def test_higher_intensity_gives_higher_suds() -> None:
    ratings = [SimulatedPatient(noise_sd=0).rate(0, i) for i in (0, 20, 40, 60, 80, 100)]
    assert ratings == sorted(ratings) and ratings[0] < ratings[-1]
    assert ratings[0] == 10 and ratings[-1] == 90


def test_habituation_is_monotone_without_noise() -> None:
    p = SimulatedPatient(noise_sd=0)
    ratings = [p.rate(t, 70) for t in range(0, 3600, 300)]
    assert ratings == sorted(ratings, reverse=True)
    assert ratings[0] - ratings[-1] > 30


def test_raising_intensity_is_partly_new_and_lowering_keeps_habituation() -> None:
    p = SimulatedPatient(noise_sd=0, generalisation=0.5)
    p.rate(0, 40)
    p.rate(1200, 40)
    assert p.exposed_s == pytest.approx(1200)
    p.observe(1200, 60)  # +20 points: keeps 0.5 ** 2 of the credit
    assert p.exposed_s == pytest.approx(300)
    p.observe(1200, 30)  # lower: keeps all of it
    assert p.exposed_s == pytest.approx(300)


def test_time_not_exposed_does_not_habituate() -> None:
    p = SimulatedPatient(noise_sd=0)
    p.observe(0, 50)
    p.observe(100, 50, exposed=False)  # e.g. the safe place from 100 s
    p.observe(1000, 50, exposed=True)
    assert p.exposed_s == pytest.approx(100)


def test_unannounced_change_counts_from_the_previous_rating() -> None:
    p = SimulatedPatient(noise_sd=0, generalisation=0.5)
    p.rate(0, 40)
    p.rate(300, 40)
    p.rate(600, 50)  # taken as at 50 since 300 s: 300 * 0.5 + 300
    assert p.exposed_s == pytest.approx(450)


def test_between_session_learning_lowers_the_peak() -> None:
    first = SimulatedPatient(noise_sd=0, session_index=0).rate(0, 80)
    third = SimulatedPatient(noise_sd=0, session_index=2).rate(0, 80)
    assert third < first
    assert SimulatedPatient(noise_sd=0, session_index=2, learning_per_session=0).rate(0, 80) == first


def test_ten_point_scale() -> None:
    p = SimulatedPatient(noise_sd=0, scale_max=10, gamma=1.0)
    assert p.rate(0, 50) == 5
    assert all(0 <= v <= 10 for v in _run(SimulatedPatient(seed=3, scale_max=10, noise_sd=30), SCHEDULE))


def test_bad_inputs() -> None:
    p = SimulatedPatient()
    p.rate(100, 50)
    with pytest.raises(SimulatedPatientError, match="time went back from 100 s to 50 s"):
        p.rate(50, 50)
    with pytest.raises(SimulatedPatientError, match="intensity: 120 is outside 0-100"):
        p.rate(200, 120)
    with pytest.raises(SimulatedPatientError, match="scale_max"):
        SimulatedPatient(scale_max=7)
