"""Per-frame cost of the stage's Python work (``Stage.update``: ramps, fades, events, spider gait,
water and grass) at the heaviest spiders preset, with an intensity ramp and every event running.

Usage: python benchmarks/stage_update.py [--frames 2000]

No rendering: this is the stimuli share of the app's per-frame budget (design: the app's whole
per-frame Python work <= 1 ms); the state caches are collected between frames as the graphics
engine does after each rendered frame. Prints figures, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=2000)
    args = parser.parse_args()

    from panda3d.core import NodePath, RenderState, TransformState, loadPrcFileData

    loadPrcFileData("bench", "audio-library-name null\n")
    from vr_exposure.core.clock import FakeClock
    from vr_exposure.core.loading import load_scene
    from vr_exposure.renderer.stage import Stage

    spiders = load_scene(ROOT / "scenes" / "spiders.yaml")
    safe = load_scene(ROOT / "scenes" / "safe-place.yaml")
    clock = FakeClock()
    dt = 1 / 90
    results: dict[str, float] = {}
    for label, spec, preset in (("spiders", spiders, "many-spiders-moving"), ("safe_place", safe, "calm")):
        stage = Stage(NodePath("bench"), clock=clock, rng_seed=1, shadow_size_px=0)
        stage.load(spec, preset=preset)
        for name in spec.events:
            stage.trigger_event(name)
        samples: list[float] = []
        cpu: list[float] = []
        for i in range(args.frames):
            if i % 300 == 0 and spec.presets:
                # Keep a ramp running part of the time (a preset override easing in).
                stage.set_intensity(90.0 if (i // 300) % 2 else 100.0, ramp_s=1.0)
            clock.advance(dt)
            c0 = time.thread_time_ns()
            t0 = time.perf_counter_ns()
            stage.update(dt)
            samples.append((time.perf_counter_ns() - t0) / 1e6)
            cpu.append((time.thread_time_ns() - c0) / 1e6)
            # What the graphics engine does once per rendered frame; without it the state caches
            # grow and rehash inside the timed part.
            TransformState.garbageCollect()
            RenderState.garbageCollect()
            if i % 400 == 399 and spec.events:
                for name in spec.events:
                    stage.trigger_event(name)
        samples.sort()
        cpu.sort()
        median = statistics.median(samples)
        p99 = samples[int(0.99 * (len(samples) - 1))]
        cpu_p99 = cpu[int(0.99 * (len(cpu) - 1))]
        print(
            f"{label}: Stage.update wall median {median:.3f} ms, p99 {p99:.3f} ms, max {samples[-1]:.3f} ms; "
            f"CPU p99 {cpu_p99:.3f} ms (wall minus time the machine ran other work)"
        )
        results[f"{label}_update_ms_median"] = round(median, 4)
        results[f"{label}_update_ms_p99"] = round(p99, 4)
        results[f"{label}_update_cpu_ms_p99"] = round(cpu_p99, 4)
        stage.destroy()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
