"""Habituation metrics from SUDS ratings: per rung, per session and between sessions.

Within a session, for the whole exposure and for each ladder rung: peak, end (last) and mean SUDS,
the within-session reduction ``(peak - end) / peak`` in percent, the time to a 50% reduction from
the peak, and expected vs. actual SUDS for the rung (the expectancy check inhibitory-learning
protocols rely on). Between sessions of one pseudonym: how the peak and end SUDS of each rung moved.

Every SUDS figure is on the 0-100 scale (ratings carry their own scale and are normalised when they
are created); times are seconds. Means are plain means of the ratings, not time-weighted: probes are
regular, and a time-weighted mean would let one long gap between ratings dominate.
Pure functions of their inputs; the research tools rebuild ratings from the journal and call them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec

from vr_exposure.errors import VrExposureError

from .specs import ProtocolSpec
from .suds import SudsRating

HALF = 0.5


class MetricsError(VrExposureError, ValueError):
    """Metrics asked of inputs that cannot give them (e.g. sessions of different pseudonyms)."""


class TrajectoryMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """Metrics of one sequence of ratings (a rung, or the whole session).

    ``time_to_50pct_s`` is from ``start`` (the rung's or session's start when known, else the first
    rating) to the first rating at or after the peak that is at most half the peak; None if SUDS
    never got there. ``peak_to_50pct_s`` is the same measured from the peak rating. Both None when
    the peak is 0, as is ``reduction_pct`` (no distress, nothing to reduce).
    """

    n_ratings: int
    peak: float | None
    end: float | None
    mean: float | None
    reduction_pct: float | None
    time_to_50pct_s: float | None
    peak_to_50pct_s: float | None
    peak_t_s: float | None
    end_t_s: float | None


class RungMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """One ladder rung in one session: its trajectory plus expected vs. actual SUDS.

    ``expected_minus_peak`` > 0 means the patient expected more distress than they felt (the
    expectancy violation an inhibitory-learning protocol is after)."""

    rung: int
    preset: str | None
    expected_suds: float | None
    trajectory: TrajectoryMetrics
    expected_minus_peak: float | None
    expected_minus_end: float | None
    time_on_rung_s: float | None = None


class SessionMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """One session: the whole exposure and each rung rated in it (ascending rung index)."""

    session: TrajectoryMetrics
    rungs: tuple[RungMetrics, ...]
    label: str = ""
    pseudonym: str | None = None

    def rung(self, index: int) -> RungMetrics | None:
        for r in self.rungs:
            if r.rung == index:
                return r
        return None


class SeriesChange(msgspec.Struct, frozen=True, kw_only=True):
    """Peak and end SUDS of one rung (or the whole exposure) across sessions, oldest first.

    A session where the rung was not rated has None there. ``*_change`` is last minus first of the
    sessions that have a value (negative: less distress now), None with fewer than two values;
    ``*_deltas`` are the changes from each session to the next that both have a value."""

    rung: int | None
    peaks: tuple[float | None, ...]
    ends: tuple[float | None, ...]
    peak_change: float | None
    end_change: float | None
    peak_deltas: tuple[float | None, ...]
    end_deltas: tuple[float | None, ...]


class BetweenSessionChange(msgspec.Struct, frozen=True, kw_only=True):
    labels: tuple[str, ...]
    pseudonym: str | None
    session: SeriesChange
    rungs: tuple[SeriesChange, ...]


def trajectory_metrics(
    ratings: Iterable[SudsRating], *, start_mono_ns: int | None = None
) -> TrajectoryMetrics:
    """Metrics of ``ratings`` taken in time order (sorted here by ``t_mono_ns``, stable)."""
    rs = sorted(ratings, key=lambda r: r.t_mono_ns)
    if not rs:
        return TrajectoryMetrics(
            n_ratings=0,
            peak=None,
            end=None,
            mean=None,
            reduction_pct=None,
            time_to_50pct_s=None,
            peak_to_50pct_s=None,
            peak_t_s=None,
            end_t_s=None,
        )
    t0 = rs[0].t_mono_ns if start_mono_ns is None else start_mono_ns
    values = [r.value for r in rs]
    peak = max(values)
    i_peak = values.index(peak)  # the first time the peak was reached
    end = values[-1]
    reduction = (peak - end) / peak * 100.0 if peak > 0 else None
    to_half: float | None = None
    peak_to_half: float | None = None
    if peak > 0:
        for r in rs[i_peak:]:
            if r.value <= peak * HALF:
                to_half = (r.t_mono_ns - t0) / 1e9
                peak_to_half = (r.t_mono_ns - rs[i_peak].t_mono_ns) / 1e9
                break
    return TrajectoryMetrics(
        n_ratings=len(rs),
        peak=peak,
        end=end,
        mean=sum(values) / len(values),
        reduction_pct=reduction,
        time_to_50pct_s=to_half,
        peak_to_50pct_s=peak_to_half,
        peak_t_s=(rs[i_peak].t_mono_ns - t0) / 1e9,
        end_t_s=(rs[-1].t_mono_ns - t0) / 1e9,
    )


def session_metrics(
    ratings: Iterable[SudsRating],
    protocol: ProtocolSpec | None = None,
    *,
    label: str = "",
    pseudonym: str | None = None,
    start_mono_ns: int | None = None,
    rung_start_mono_ns: Mapping[int, int] | None = None,
    time_on_rung_s: Mapping[int, float] | None = None,
) -> SessionMetrics:
    """Metrics of one session from its ratings.

    Only ratings taken during exposure count (``during_exposure``: not before the start, not in the
    safe place). Per rung, the ratings whose ``rung`` is that rung; ``rung_start_mono_ns`` gives when
    each rung was first entered, for the time to 50% (else the rung's first rating). Expected SUDS
    come from ``protocol``'s ladder when given.
    """
    exposed = [r for r in ratings if r.during_exposure]
    by_rung: dict[int, list[SudsRating]] = {}
    for r in exposed:
        if r.rung is not None:
            by_rung.setdefault(r.rung, []).append(r)
    rungs: list[RungMetrics] = []
    for index in sorted(by_rung):
        start = None if rung_start_mono_ns is None else rung_start_mono_ns.get(index)
        traj = trajectory_metrics(by_rung[index], start_mono_ns=start)
        rungs.append(_rung_metrics(index, traj, protocol, time_on_rung_s))
    return SessionMetrics(
        session=trajectory_metrics(exposed, start_mono_ns=start_mono_ns),
        rungs=tuple(rungs),
        label=label,
        pseudonym=pseudonym,
    )


def _rung_metrics(
    index: int,
    traj: TrajectoryMetrics,
    protocol: ProtocolSpec | None,
    time_on_rung_s: Mapping[int, float] | None,
) -> RungMetrics:
    preset: str | None = None
    expected: float | None = None
    if protocol is not None and 0 <= index < len(protocol.ladder):
        preset = protocol.ladder[index].preset
        expected = float(protocol.ladder[index].expected_suds)
    return RungMetrics(
        rung=index,
        preset=preset,
        expected_suds=expected,
        trajectory=traj,
        expected_minus_peak=None if expected is None or traj.peak is None else expected - traj.peak,
        expected_minus_end=None if expected is None or traj.end is None else expected - traj.end,
        time_on_rung_s=None if time_on_rung_s is None else time_on_rung_s.get(index),
    )


def between_session_change(sessions: Sequence[SessionMetrics]) -> BetweenSessionChange:
    """How peak and end SUDS changed over ``sessions`` of one pseudonym, given oldest first.

    Raises :class:`MetricsError` when the sessions name different pseudonyms (sessions without one
    are accepted as the caller's)."""
    names = {s.pseudonym for s in sessions if s.pseudonym is not None}
    if len(names) > 1:
        raise MetricsError("between-session change is for one pseudonym; got " + ", ".join(sorted(names)))
    all_rungs = sorted({r.rung for s in sessions for r in s.rungs})
    rung_series: list[SeriesChange] = []
    for index in all_rungs:
        found = [s.rung(index) for s in sessions]
        rung_series.append(
            _series(
                index,
                [None if r is None else r.trajectory.peak for r in found],
                [None if r is None else r.trajectory.end for r in found],
            )
        )
    return BetweenSessionChange(
        labels=tuple(s.label for s in sessions),
        pseudonym=next(iter(names)) if names else None,
        session=_series(None, [s.session.peak for s in sessions], [s.session.end for s in sessions]),
        rungs=tuple(rung_series),
    )


def _series(rung: int | None, peaks: list[float | None], ends: list[float | None]) -> SeriesChange:
    return SeriesChange(
        rung=rung,
        peaks=tuple(peaks),
        ends=tuple(ends),
        peak_change=_change(peaks),
        end_change=_change(ends),
        peak_deltas=_deltas(peaks),
        end_deltas=_deltas(ends),
    )


def _change(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return present[-1] - present[0] if len(present) >= 2 else None


def _deltas(values: list[float | None]) -> tuple[float | None, ...]:
    return tuple(None if a is None or b is None else b - a for a, b in zip(values, values[1:], strict=False))


def left_out_sentence(n_all: int, n_outside: int) -> str | None:
    """What a table of exposure metrics leaves out, in a sentence; None when it leaves nothing out.
    Ratings before the start or in the safe place are not about the exposure (see
    :attr:`~vr_exposure.core.suds.SudsRating.during_exposure`), so the metrics do not count them, and a
    reader comparing counts must be told."""
    if n_outside <= 0:
        return None
    were, are = ("was", "is") if n_outside == 1 else ("were", "are")
    return (
        f"{n_outside} of the {n_all} ratings {were} given outside the exposure (before the start or in "
        f"the safe place) and {are} not in this table."
    )
