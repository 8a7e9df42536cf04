"""SUDS ratings and the probe schedule.

A :class:`SudsRating` is one Subjective Units of Distress rating: the value as given on its own scale
(0-10 or 0-100, kept with the value so nothing is lost) and the same value normalised to 0-100, which
is what every metric uses. A :class:`ProbeSchedule` decides when the patient is asked for a rating and
keeps every probe it ever issued: each one ends up answered or marked missed, never silently dropped.

Pure: no I/O, no threads, no clock of its own. Callers pass times in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from vr_exposure.errors import VrExposureError

from .specs import SudsSettings

RatingSource = Literal["therapist", "patient-in-vr", "simulated"]
ScaleMax = Literal[10, 100]
ProbeStatus = Literal["pending", "answered", "missed"]

RATING_SOURCES: tuple[RatingSource, ...] = ("therapist", "patient-in-vr", "simulated")
SCALES: tuple[ScaleMax, ...] = (10, 100)


class RatingError(VrExposureError, ValueError):
    """A SUDS rating, or a probe reference, that cannot be recorded as given."""


class SudsRating(msgspec.Struct, frozen=True, kw_only=True):
    """One SUDS rating.

    ``value`` is normalised to 0-100; ``raw`` and ``scale_max`` are what was actually given (7 on a
    0-10 scale is ``raw=7, scale_max=10, value=70``). ``rung`` is the ladder rung selected when the
    rating was taken (None without a ladder); ``during_exposure`` is False for ratings taken before
    the start or in the safe place, which metrics of the exposure leave out. ``running_s`` is the
    session's exposure time when the rating was recorded (pauses and the safe place not counted),
    for plotting on an exposure-time axis; None outside a session engine.
    """

    value: float
    raw: float
    scale_max: int
    source: str
    t_mono_ns: int
    probe_id: str | None = None
    rung: int | None = None
    during_exposure: bool = True
    running_s: float | None = None

    @classmethod
    def create(
        cls,
        raw: float,
        *,
        scale_max: int = 100,
        source: str = "therapist",
        t_mono_ns: int,
        probe_id: str | None = None,
        rung: int | None = None,
        during_exposure: bool = True,
        running_s: float | None = None,
    ) -> SudsRating:
        """Validate ``raw`` on its scale and build the rating; raises :class:`RatingError`."""
        check_rating(raw, scale_max=scale_max, source=source)
        return cls(
            value=normalise(raw, scale_max),
            raw=raw,
            scale_max=scale_max,
            source=source,
            t_mono_ns=t_mono_ns,
            probe_id=probe_id,
            rung=rung,
            during_exposure=during_exposure,
            running_s=running_s,
        )


def rating_from_content(content: Mapping[str, Any]) -> SudsRating:
    """The rating in a journaled ``suds_recorded`` content (the engine's: ``{"rating": {...}, ...}``),
    for tools that rebuild metrics from a journal. Raises :class:`RatingError` if it is not one."""
    raw = content.get("rating", content)
    try:
        rating = msgspec.convert(raw, SudsRating)
    except msgspec.ValidationError as exc:
        raise RatingError(f"suds_recorded: {exc}") from None
    check_rating(rating.raw, scale_max=rating.scale_max, source=rating.source)
    return rating


def check_rating(raw: object, *, scale_max: object = 100, source: object = "therapist") -> None:
    """Raise :class:`RatingError` saying what is wrong with a rating, or return None if it is valid."""
    if scale_max not in SCALES or isinstance(scale_max, bool):
        raise RatingError(f"SUDS scale_max: {scale_max!r} is not a SUDS scale (use 10 or 100)")
    if source not in RATING_SOURCES:
        raise RatingError(f"SUDS source: {source!r} is not one of {', '.join(RATING_SOURCES)}")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise RatingError(f"SUDS value: {raw!r} is not a number")
    top = 10 if scale_max == 10 else 100
    if not math.isfinite(raw) or not 0 <= raw <= top:
        raise RatingError(f"SUDS value: {raw!r} is outside 0-{top}")


def normalise(raw: float, scale_max: int) -> float:
    """``raw`` on a 0-``scale_max`` scale, as 0-100."""
    return float(raw) * (100.0 / scale_max)


class Probe(msgspec.Struct, frozen=True, kw_only=True):
    """One request for a SUDS rating. Times of the schedule are running (exposure) time in ns since
    the start; ``issued_mono_ns`` and ``closed_mono_ns`` are when the schedule noticed on the clock."""

    probe_id: str
    index: int
    due_running_ns: int
    deadline_running_ns: int
    issued_mono_ns: int
    status: ProbeStatus = "pending"
    closed_mono_ns: int | None = None
    missed_reason: str | None = None

    @property
    def due_running_s(self) -> float:
        return self.due_running_ns / 1e9

    @property
    def deadline_running_s(self) -> float:
        return self.deadline_running_ns / 1e9


@dataclass(frozen=True, slots=True)
class ProbeUpdate:
    """What :meth:`ProbeSchedule.advance` found: a probe came ``due`` or was ``missed``."""

    kind: Literal["due", "missed"]
    probe: Probe


class ProbeSchedule:
    """Probes every ``interval_s`` of running time; each is answered, or missed after ``response_window_s``.

    Time here is *running* time: the clock stops while the session is paused or in the safe place,
    because then the patient is not being exposed, and a probe samples distress every N minutes *of
    exposure*. Counting a ten-minute pause would ask "how distressed are you now?" about a stimulus the
    patient has not been seeing, and would put the probes out of step with the exposure they measure.
    The response window is running time for the same reason: a prompt open when the therapist pauses
    stays open through the pause and can still be answered then.

    Nothing is lost: :meth:`advance` issues every probe whose due time has passed, even several at
    once after a long gap between calls, and a probe due and already past its window in the same call
    is issued and then marked missed. :meth:`close` marks the pending ones missed at the end.
    """

    def __init__(
        self, interval_s: float = 300.0, response_window_s: float = 60.0, *, prefix: str = "probe"
    ) -> None:
        if not math.isfinite(interval_s) or interval_s <= 0:
            raise RatingError(f"suds.probe_interval_s: {interval_s!r} must be a positive number of seconds")
        if not math.isfinite(response_window_s) or response_window_s <= 0:
            raise RatingError(
                f"suds.response_window_s: {response_window_s!r} must be a positive number of seconds"
            )
        self.interval_ns = round(interval_s * 1e9)
        self.response_window_ns = round(response_window_s * 1e9)
        self._prefix = prefix
        self._probes: list[Probe] = []
        self._by_id: dict[str, int] = {}
        self._running_ns = 0
        self._closed = False
        self._held_since_ns: int | None = None

    @classmethod
    def from_settings(cls, settings: SudsSettings) -> ProbeSchedule:
        return cls(settings.probe_interval_s, settings.response_window_s)

    @property
    def interval_s(self) -> float:
        return self.interval_ns / 1e9

    @property
    def response_window_s(self) -> float:
        return self.response_window_ns / 1e9

    @property
    def probes(self) -> tuple[Probe, ...]:
        """Every probe issued so far, in order, with its current status."""
        return tuple(self._probes)

    @property
    def pending(self) -> tuple[Probe, ...]:
        return tuple(p for p in self._probes if p.status == "pending")

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def next_due_running_ns(self) -> int:
        """Running time at which the next probe comes due."""
        return (len(self._probes) + 1) * self.interval_ns

    @property
    def held(self) -> bool:
        """True while response windows are held (the headset is off: the patient cannot see a prompt)."""
        return self._held_since_ns is not None

    def hold(self, running_ns: int) -> None:
        """Stop the response windows' clocks at ``running_ns``: no probe is missed until
        :meth:`release`. Probes still come due (the prompt is waiting when the headset is back on)."""
        if self._held_since_ns is None:
            self._held_since_ns = max(running_ns, self._running_ns)

    def release(self, running_ns: int) -> None:
        """Start the held windows again: each pending probe's deadline moves on by the running time
        it spent held (from the hold, or from its own due time if it came due during the hold)."""
        since = self._held_since_ns
        if since is None:
            return
        self._held_since_ns = None
        for i, probe in enumerate(self._probes):
            if probe.status != "pending":
                continue
            held_ns = max(0, running_ns - max(since, probe.due_running_ns))
            if held_ns:
                self._probes[i] = msgspec.structs.replace(
                    probe, deadline_running_ns=probe.deadline_running_ns + held_ns
                )

    def get(self, probe_id: str) -> Probe:
        try:
            return self._probes[self._by_id[probe_id]]
        except KeyError:
            raise RatingError(f"probe_id: no probe {probe_id!r} was issued in this session") from None

    def advance(self, running_ns: int, now_mono_ns: int) -> list[ProbeUpdate]:
        """Bring the schedule to ``running_ns`` of exposure: issue probes now due, miss expired ones.

        Updates come in time order of their running-time stamps (a due before its own miss)."""
        if self._closed:
            return []
        if running_ns < self._running_ns:
            raise RatingError(
                f"running time went back from {self._running_ns} ns to {running_ns} ns; it never does"
            )
        self._running_ns = running_ns
        updates: list[tuple[int, int, ProbeUpdate]] = []
        while self.next_due_running_ns <= running_ns:
            index = len(self._probes) + 1
            due_ns = index * self.interval_ns
            probe = Probe(
                probe_id=f"{self._prefix}-{index}",
                index=index,
                due_running_ns=due_ns,
                deadline_running_ns=due_ns + self.response_window_ns,
                issued_mono_ns=now_mono_ns,
            )
            self._by_id[probe.probe_id] = len(self._probes)
            self._probes.append(probe)
            updates.append((due_ns, 0, ProbeUpdate("due", probe)))
        for i, probe in enumerate(self._probes):
            if self._held_since_ns is not None:
                break  # the windows are held: nothing is missed while the patient cannot see it
            if probe.status == "pending" and probe.deadline_running_ns <= running_ns:
                window_s = self.response_window_ns / 1e9
                missed = msgspec.structs.replace(
                    probe,
                    status="missed",
                    closed_mono_ns=now_mono_ns,
                    missed_reason=f"no rating within {window_s:g} s of exposure",
                )
                self._probes[i] = missed
                updates.append((probe.deadline_running_ns, 1, ProbeUpdate("missed", missed)))
        updates.sort(key=lambda u: (u[0], u[1]))
        return [u for _, _, u in updates]

    def answer(self, probe_id: str | None, t_mono_ns: int) -> Probe | None:
        """Mark a probe answered and return it as it now is.

        ``probe_id=None`` answers the oldest pending probe (a rating given while a prompt is open
        answers it) and returns None when none is pending. A probe already missed or answered is
        returned unchanged: a late rating is still a rating, but the probe's record stays as it was.
        """
        if probe_id is None:
            for i, probe in enumerate(self._probes):
                if probe.status == "pending":
                    self._probes[i] = msgspec.structs.replace(
                        probe, status="answered", closed_mono_ns=t_mono_ns
                    )
                    return self._probes[i]
            return None
        probe = self.get(probe_id)
        if probe.status != "pending":
            return probe
        i = self._by_id[probe_id]
        self._probes[i] = msgspec.structs.replace(probe, status="answered", closed_mono_ns=t_mono_ns)
        return self._probes[i]

    def close(self, now_mono_ns: int, reason: str = "the session ended before a rating") -> list[Probe]:
        """Mark every pending probe missed and stop issuing; returns the probes marked."""
        marked: list[Probe] = []
        for i, probe in enumerate(self._probes):
            if probe.status == "pending":
                self._probes[i] = msgspec.structs.replace(
                    probe, status="missed", closed_mono_ns=now_mono_ns, missed_reason=reason
                )
                marked.append(self._probes[i])
        self._closed = True
        return marked
