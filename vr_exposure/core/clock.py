"""Clocks. Everything stamps time on the monotonic clock (on Linux the clock LSL's ``local_clock`` uses);
UTC appears only in (monotonic, UTC) pairs. The session engine takes a clock so tests can drive time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic_ns(self) -> int: ...

    def utc_ns(self) -> int: ...


class SystemClock:
    """The real clocks: ``time.monotonic_ns`` (CLOCK_MONOTONIC) and ``time.time_ns``."""

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def utc_ns(self) -> int:
        return time.time_ns()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start_s: float = 1000.0, utc_start_s: float = 1_767_225_600.0) -> None:
        self._mono_ns = int(start_s * 1e9)
        self._utc_offset_ns = int(utc_start_s * 1e9) - self._mono_ns

    def monotonic_ns(self) -> int:
        return self._mono_ns

    def utc_ns(self) -> int:
        return self._mono_ns + self._utc_offset_ns

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock never goes back")
        self._mono_ns += int(seconds * 1e9)


SYSTEM_CLOCK = SystemClock()
