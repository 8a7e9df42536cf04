"""Frame benchmark: the renderer app's own per-frame Python work and its hitches.

    .venv/bin/python benchmarks/frame.py [--size 640x360] [--frames 600]

Offscreen, in one process and one run:

1. ``empty_frame_ms_median``: Panda3D alone (the same ShowBase and buffer size, an empty scene).
2. ``app_ms_median`` / ``app_ms_p99``: the app at the heaviest spiders preset, with a console
   connected over the real link (heartbeats, head pose, frame timing and mirror images flowing) and
   a session journal open. Measured: the bodies of the app's link, stimuli and telemetry tasks (link
   pump, stage.update, telemetry and journal hand-off), timed with ``perf_counter_ns``; not the draw.
3. ``hitch_ratio``: the worst whole-frame time over the frames around intensity changes (steps and
   ramps), events and scene changes, divided by the median frame time of the steady run. A scene
   change fades to black first and may stall only while the view is fully black: those frames are
   excluded (and counted in the output).

Targets (design §7): ``app_ms_p99 <= 1.0``, ``hitch_ratio <= 2.0``. Prints figures, then as the LAST
line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Frames of context kept on each side of a change when looking for hitches.
BEFORE_FRAMES = 3
AFTER_FRAMES = 40


def _percentiles_ms(ns: list[int] | np.ndarray) -> tuple[float, float, float]:
    a = np.asarray(ns, dtype=np.float64) / 1e6
    return float(np.median(a)), float(np.percentile(a, 99)), float(a.max())


def _stage_fully_black(stage: Any) -> bool:
    """Whether the stage's fade covers the whole view this frame."""
    return bool(stage.fade_level <= 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", default="640x360", help="buffer size WxH (default 640x360)")
    parser.add_argument("--frames", type=int, default=600, help="measured frames at the heaviest preset")
    args = parser.parse_args(argv)
    w, h = (int(x) for x in args.size.split("x"))

    from panda3d.core import loadPrcFileData

    loadPrcFileData(
        "vr-exposure-benchmark",
        f"window-type offscreen\nwin-size {w} {h}\nsync-video false\nframebuffer-multisample 0\n"
        "audio-library-name null\nnotify-level-display error\nnotify-level-glgsg error\n",
    )
    from direct.showbase.ShowBase import ShowBase

    from vr_exposure.core.specs import SafePlaceSettings
    from vr_exposure.link import LinkClient
    from vr_exposure.link import messages as m
    from vr_exposure.renderer.app import WORK_TASKS, App, default_stage_factory
    from vr_exposure.renderer.backends import BackendOptions
    from vr_exposure.renderer.backends.offscreen import OffscreenBackend
    from vr_exposure.renderer.cli import RENDER_SWITCH_INTERVAL_S

    sys.setswitchinterval(RENDER_SWITCH_INTERVAL_S)  # as `vr-exposure renderer` runs
    base = ShowBase(windowType="offscreen")
    step = base.taskMgr.step

    # 1. Panda3D alone.
    for _ in range(30):
        step()
    empty_ns = []
    for _ in range(300):
        t0 = time.perf_counter_ns()
        step()
        empty_ns.append(time.perf_counter_ns() - t0)
    empty_median, _, _ = _percentiles_ms(empty_ns)
    print(f"empty frame: median {empty_median:.3f} ms over {len(empty_ns)} frames ({w}x{h}, offscreen)")

    with tempfile.TemporaryDirectory() as tmp:
        from vr_exposure import __version__
        from vr_exposure.journal import create_session

        session_dir = create_session(Path(tmp), pseudonym="BENCH", software_version=__version__)
        app = App.on_showbase(
            base,
            OffscreenBackend(BackendOptions(size=(w, h))),
            stage_factory=default_stage_factory,
            command_endpoint="tcp://127.0.0.1:*",
            pub_endpoint="tcp://127.0.0.1:*",
            safe_place=SafePlaceSettings(link_timeout_s=30.0),
        )
        client = LinkClient(app.link.command_endpoint, app.link.pub_endpoint, timeout_s=5.0)
        frame_ns: list[int] = []
        work_by_frame: list[int] = []
        black: list[bool] = []

        def frame() -> None:
            t0 = time.perf_counter_ns()
            step()
            frame_ns.append(time.perf_counter_ns() - t0)
            work_by_frame.append(app.work_ns[-1] if app.work_ns else 0)
            black.append(_stage_fully_black(app.stage))
            client.poll(0)

        def command(request: m.Request) -> int:
            """Send, apply in the next frame, return that frame's index."""
            msg_id = client.send(request)
            app.link.wait(2000)
            index = len(frame_ns)
            replies: dict[str, Any] = {}
            client.on_reply = lambda msg: replies.__setitem__(msg.parent_header.msg_id, msg.content)
            frame()
            for _ in range(200):
                if msg_id in replies:
                    break
                frame()
            reply = replies.get(msg_id)
            if reply is None or reply.status != "ok":
                raise SystemExit(f"benchmark: {request.msg_type} failed: {reply}")
            return index

        try:
            for _ in range(200):
                if client.synced:
                    break
                frame()
                client.poll(2)
            command(m.SetSessionRequest(session_id=session_dir.name, session_dir=str(session_dir)))
            command(m.LoadSceneRequest(scene="spiders", intensity=0))
            spec = app.stage.spec
            assert spec is not None
            heaviest = max(spec.presets, key=lambda p: spec.presets[p].intensity)
            command(m.ApplyPresetRequest(preset=heaviest, ramp_s=0))
            for _ in range(120):  # let the scene settle
                frame()

            # 2. The app's own work at the heaviest preset.
            app.work_ns.clear()
            app.work_cpu_ns.clear()
            per_task: dict[str, list[int]] = {name: [] for name in WORK_TASKS}
            first = len(frame_ns)
            for _ in range(args.frames):
                frame()
                for name in WORK_TASKS:
                    per_task[name].append(app.task_ns[name])
            work = list(app.work_ns)
            cpu_median, cpu_p99, cpu_max = _percentiles_ms(list(app.work_cpu_ns))
            steady_frames = frame_ns[first:]
            app_median, app_p99, app_max = _percentiles_ms(work)
            steady_median, steady_p99, _ = _percentiles_ms(steady_frames)
            print(
                f"app work at preset {heaviest!r} (intensity {spec.presets[heaviest].intensity:g}): "
                f"median {app_median:.3f} ms, p99 {app_p99:.3f} ms, max {app_max:.3f} ms "
                f"over {len(work)} frames"
            )
            print(
                f"  the same on the thread's CPU clock (no preemption): median {cpu_median:.3f} ms, "
                f"p99 {cpu_p99:.3f} ms, max {cpu_max:.3f} ms"
            )
            for name, values in per_task.items():
                med, p99, mx = _percentiles_ms(values)
                print(f"  {name}: median {med:.3f} ms, p99 {p99:.3f} ms, max {mx:.3f} ms")
            print(f"whole frame at that preset: median {steady_median:.3f} ms, p99 {steady_p99:.3f} ms")

            # 3. Hitches around changes.
            changes: list[tuple[str, int]] = []
            for target, ramp in ((20, 0.0), (90, 0.0), (40, 1.0), (100, 0.5)):
                changes.append(
                    (
                        f"intensity {target} ramp {ramp}",
                        command(m.SetIntensityRequest(intensity=target, ramp_s=ramp)),
                    )
                )
                for _ in range(AFTER_FRAMES):
                    frame()
            for event in spec.events:
                changes.append((f"event {event}", command(m.TriggerEventRequest(event=event))))
                for _ in range(AFTER_FRAMES):
                    frame()
            changes.append(
                ("preset", command(m.ApplyPresetRequest(preset=next(iter(spec.presets)), ramp_s=1.0)))
            )
            for _ in range(AFTER_FRAMES):
                frame()
            for scene in ("safe-place", "spiders"):
                changes.append((f"scene {scene}", command(m.LoadSceneRequest(scene=scene, intensity=50))))
                for _ in range(AFTER_FRAMES * 3):
                    frame()
            changes.append(("safe place", command(m.SafePlaceRequest(fade_s=0.5))))
            for _ in range(AFTER_FRAMES):
                frame()

            worst_ms = worst_work_ms = 0.0
            worst_what = worst_work_what = ""
            excluded = 0
            for what, index in changes:
                lo, hi = max(0, index - BEFORE_FRAMES), min(len(frame_ns), index + AFTER_FRAMES)
                for i in range(lo, hi):
                    if black[i] or (i > 0 and black[i - 1]):
                        # Fully black this frame (or the previous one, whose stall shows up in this
                        # frame's time): the stall is invisible.
                        excluded += 1
                        continue
                    ms = frame_ns[i] / 1e6
                    if ms > worst_ms:
                        worst_ms, worst_what = ms, f"{what} (+{i - index} frames)"
                    work_ms = work_by_frame[i] / 1e6
                    if work_ms > worst_work_ms:
                        worst_work_ms, worst_work_what = work_ms, f"{what} (+{i - index} frames)"
            hitch_ratio = worst_ms / steady_median
            print(
                f"hitches: worst frame {worst_ms:.3f} ms at {worst_what}; {len(changes)} changes, "
                f"{excluded} fully-black frames excluded; hitch ratio {hitch_ratio:.2f} (whole frame, "
                "draw included)"
            )
            print(
                f"app work around the same changes: worst {worst_work_ms:.3f} ms at {worst_work_what} "
                f"({worst_work_ms / steady_median:.3f} of the median frame)"
            )
            print(f"renderer errors: {app.errors}; error replies: {app.link.counters['error_replies']}")
        finally:
            client.close()
            app.close()
    base.destroy()
    print(
        json.dumps(
            {
                "app_ms_median": round(app_median, 4),
                "app_ms_p99": round(app_p99, 4),
                "empty_frame_ms_median": round(empty_median, 4),
                "hitch_ratio": round(hitch_ratio, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
