"""Event schedules benchmark: what running schedules cost the renderer's frame.

    .venv/bin/python benchmarks/schedules.py [--frames 200000]

The app calls ``Schedules.advance(dt_s)`` once per frame from its stimuli task while the scene runs
(vr_exposure/renderer/schedules.py). In one run, on this machine:

1. ``none_ns``: the call with no schedule running (the common case: one truth test in the app);
2. ``advance_ns_<n>``: the call with 1, 8 and 32 schedules running (repeats whose windows are long, so
   the figure is the per-frame bookkeeping, not firings, which cost what a ``trigger_event`` costs);
3. ``share_of_90hz_frame_32``: that with 32 schedules over one 90 Hz frame (11.1 ms);
4. ``ratio_32_over_none``: 32 schedules over none, both measured here.

Target: with a clinic's handful of schedules the cost stays far under the app's 1 ms budget (design §7).
Prints figures, then as the LAST line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from vr_exposure.link import messages as m
from vr_exposure.renderer.schedules import Schedules

FRAME_90HZ_NS = 1e9 / 90


def _per_call_ns(schedules: Schedules, frames: int) -> float:
    dt = 1 / 90
    best = float("inf")
    for _ in range(5):  # the best of five: the machine may be busy with other work
        t0 = time.perf_counter_ns()
        for _ in range(frames):
            schedules.advance(dt)
        best = min(best, (time.perf_counter_ns() - t0) / frames)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    empty = Schedules(np.random.default_rng(1))
    # As the app calls it: only when a schedule runs (``if self.schedules``).
    t0 = time.perf_counter_ns()
    for _ in range(args.frames):
        if empty:
            empty.advance(1 / 90)
    figures["none_ns"] = (time.perf_counter_ns() - t0) / args.frames
    for n in (1, 8, 32):
        schedules = Schedules(np.random.default_rng(1))
        for i in range(n):
            schedules.start(m.ScheduleInfo(schedule_id=f"s{i}", event="cough", every_s=(1e6, 2e6)))
        figures[f"advance_ns_{n}"] = _per_call_ns(schedules, args.frames // max(1, n // 4))
    for key, value in figures.items():
        print(f"{key:>20}: {value:10.1f} ns")
    out = {
        **{k: round(v, 1) for k, v in figures.items()},
        "share_of_90hz_frame_32": round(figures["advance_ns_32"] / FRAME_90HZ_NS, 6),
        "ratio_32_over_none": round(figures["advance_ns_32"] / max(figures["none_ns"], 1e-9), 1),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
