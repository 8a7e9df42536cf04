"""Console <-> renderer clock offset from heartbeat round trips (NTP's estimate).

For one round trip the console sends at t0 (its clock), the renderer reads at t1 and answers at t2
(its clock), the console reads at t3. Then

    offset = ((t1 - t0) + (t2 - t3)) / 2      renderer_clock ~= console_clock + offset
    rtt    = (t3 - t0) - (t2 - t1)            uncertainty = rtt / 2

Queueing only ever lengthens a round trip, so the sample with the smallest rtt in a recent window
is the most trustworthy one; that sample is the estimate.
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import NamedTuple


class OffsetSample(NamedTuple):
    t3_ns: int
    offset_ns: int
    rtt_ns: int


class ClockSync:
    """Keeps the last ``window`` round trips; :attr:`offset` is the min-rtt one."""

    def __init__(self, window: int = 64) -> None:
        self.samples: deque[OffsetSample] = deque(maxlen=window)

    def add(self, t0_ns: int, t1_ns: int, t2_ns: int, t3_ns: int) -> OffsetSample | None:
        """Record one round trip; returns the sample, or None when the stamps are inconsistent."""
        rtt_ns = (t3_ns - t0_ns) - (t2_ns - t1_ns)
        if t0_ns <= 0 or t3_ns < t0_ns or t2_ns < t1_ns or rtt_ns < 0:
            return None
        sample = OffsetSample(t3_ns, ((t1_ns - t0_ns) + (t2_ns - t3_ns)) // 2, rtt_ns)
        self.samples.append(sample)
        return sample

    def reset(self) -> None:
        """Forget every sample (the renderer restarted: its clock may be another machine's)."""
        self.samples.clear()

    @property
    def offset(self) -> tuple[int, int] | None:
        """``(offset_ns, uncertainty_ns)``: renderer clock minus console clock, +- rtt/2."""
        if not self.samples:
            return None
        best = min(self.samples, key=lambda s: s.rtt_ns)
        return best.offset_ns, best.rtt_ns // 2

    def median_rtt_ns(self) -> int | None:
        """The median round trip of the window (None before the first): what a message takes."""
        if not self.samples:
            return None
        return int(statistics.median(s.rtt_ns for s in self.samples))

    def to_renderer_ns(self, console_ns: int) -> int | None:
        est = self.offset
        return None if est is None else console_ns + est[0]
