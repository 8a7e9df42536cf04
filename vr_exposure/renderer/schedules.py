"""Event schedules the renderer runs by itself: "a cough at random every 20-60 s", "applause at 240 s".

A schedule belongs to one event of the loaded scene. A repeating one (``every_s`` = ``[lo, hi]``)
draws each wait uniformly from ``[lo, hi]`` seconds, counted from its start and then from each of
its firings; a single one (``at_s``) fires once, ``at_s`` seconds after it started, and ends. Its
time is running time: the app advances it only while the scene runs and is fully shown, so a pause,
a fade through black or the safe place hold it.

:class:`Schedules` is plain Python (no Panda3D): the app calls :meth:`Schedules.advance` once per
frame with the frame's ``dt_s`` and fires what it returns, exactly as a ``trigger_event`` would,
plus the schedule's id. With no schedule running that call is one truth test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from vr_exposure.link import messages as m

__all__ = ["MIN_EVERY_S", "Schedule", "ScheduleError", "Schedules", "check_schedule"]

#: The shortest wait a repeating schedule may draw: an event every frame is nobody's intention.
MIN_EVERY_S = 0.1


class ScheduleError(ValueError):
    """A schedule that cannot run as asked; the message says why."""


def check_schedule(every_s: tuple[float, float] | None, at_s: float | None) -> None:
    """Exactly one of ``every_s`` and ``at_s``; ``every_s`` with ``MIN_EVERY_S <= lo <= hi``."""
    if (every_s is None) == (at_s is None):
        raise ScheduleError("give exactly one of every_s (repeats) and at_s (one firing)")
    if every_s is not None:
        lo, hi = every_s
        if not lo >= MIN_EVERY_S:  # also NaN
            raise ScheduleError(f"every_s: the shortest wait {lo:g} s is under {MIN_EVERY_S:g} s")
        if not hi >= lo:
            raise ScheduleError(f"every_s: {lo:g} s is more than {hi:g} s (give [shortest, longest])")
    elif at_s is not None and not at_s >= 0.0:
        raise ScheduleError(f"at_s: {at_s} is not a time in seconds")


@dataclass
class Schedule:
    """One running schedule. ``next_s`` is the running time (seconds since it started) of its next
    firing; ``parent`` the header of the request that started it (every firing's parent)."""

    info: m.ScheduleInfo
    parent: Any
    elapsed_s: float = 0.0
    next_s: float = 0.0

    @property
    def schedule_id(self) -> str:
        return self.info.schedule_id


class Schedules:
    """The schedules of the loaded scene, in the order they started."""

    def __init__(self, rng: np.random.Generator | None = None) -> None:
        self.rng = rng if rng is not None else np.random.default_rng()
        self._running: dict[str, Schedule] = {}

    def __bool__(self) -> bool:
        return bool(self._running)

    def __len__(self) -> int:
        return len(self._running)

    def __contains__(self, schedule_id: object) -> bool:
        return schedule_id in self._running

    def get(self, schedule_id: str) -> Schedule | None:
        return self._running.get(schedule_id)

    @property
    def infos(self) -> tuple[m.ScheduleInfo, ...]:
        return tuple(s.info for s in self._running.values())

    def start(self, info: m.ScheduleInfo, parent: Any = None, *, elapsed_s: float = 0.0) -> Schedule | None:
        """Run ``info`` (checked with :func:`check_schedule`); ``elapsed_s``: it already ran that long.
        Returns the schedule it replaced (same id), if any."""
        check_schedule(info.every_s, info.at_s)
        old = self._running.pop(info.schedule_id, None)
        schedule = Schedule(info=info, parent=parent, elapsed_s=elapsed_s)
        schedule.next_s = info.at_s if info.at_s is not None else elapsed_s + self._draw(info)
        self._running[info.schedule_id] = schedule
        return old

    def _draw(self, info: m.ScheduleInfo) -> float:
        assert info.every_s is not None
        lo, hi = info.every_s
        return float(self.rng.uniform(lo, hi)) if hi > lo else float(lo)

    def stop(self, schedule_id: str | None = None) -> list[Schedule]:
        """End one schedule (None: every one); returns those ended (none for an unknown id)."""
        if schedule_id is None:
            ended = list(self._running.values())
            self._running.clear()
            return ended
        one = self._running.pop(schedule_id, None)
        return [] if one is None else [one]

    def stop_scope(self, scope: str) -> list[Schedule]:
        """End every schedule of ``scope`` (``rung``: the rung changed)."""
        ended = [s for s in self._running.values() if s.info.scope == scope]
        for s in ended:
            del self._running[s.schedule_id]
        return ended

    def advance(self, dt_s: float) -> list[tuple[Schedule, bool]]:
        """``dt_s`` more running time. Returns the firings now due, in the order they came due:
        ``(schedule, last)`` with ``last`` true when the schedule ended with that firing (an ``at_s``
        one). A repeat fires at most once per call: a long frame never bursts an event."""
        if not self._running:
            return []
        due: list[tuple[float, Schedule, bool]] = []
        for schedule in list(self._running.values()):
            schedule.elapsed_s += dt_s
            if schedule.elapsed_s < schedule.next_s:
                continue
            info = schedule.info
            schedule.info = msgspec.structs.replace(info, fired=info.fired + 1)
            if info.at_s is not None:
                del self._running[schedule.schedule_id]
                due.append((schedule.next_s, schedule, True))
            else:
                when = schedule.next_s
                # The next wait counts from this firing.
                schedule.next_s = schedule.elapsed_s + self._draw(info)
                due.append((when, schedule, False))
        due.sort(key=lambda d: d[0])
        return [(s, last) for _, s, last in due]
