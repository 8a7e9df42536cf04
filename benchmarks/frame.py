"""Frame benchmark: the renderer app's own per-frame Python work and its hitches.

    .venv/bin/python benchmarks/frame.py [--size 640x360] [--frames 600]

Offscreen, in one process and one run:

Every frame is finished before it counts: the offscreen backend waits for the GL frame (``glFinish``)
in the app's present task, and the empty-scene baseline calls the same function after each frame.
(Without it a software rasteriser queues frames and a later frame stalls for seconds while it
catches up: frame times then say nothing about the frames.)

1. ``empty_frame_ms_median``: Panda3D alone (the same ShowBase and buffer size, an empty scene).
2. ``app_ms_median`` / ``app_ms_p99``: the app at the scene's heaviest preset, with a console
   connected over the real link (heartbeats, head pose, frame timing and mirror images flowing) and
   a session journal open. Measured: the bodies of the app's link, stimuli and telemetry tasks (link
   pump, stage.update, telemetry and journal hand-off), timed with ``perf_counter_ns``; not the draw.
   They are measured at a headset's frame rate (90 Hz: each frame's tasks, then the rest of the
   11.1 ms slept, as ``xrWaitFrame`` blocks) with the draw kept off this CPU (the cameras shown an
   empty scene, shadow buffers off; the buffer is still cleared and read back for the mirror). On a
   software rasteriser a heavy scene takes 30-60 ms a frame: the frame loop then wakes to caches
   the rasteriser's threads have emptied (the same ``stage.update`` costs 0.14 ms back to back and
   0.7 ms after 60 ms of that), and every periodic task (10 Hz stimulus samples, heartbeats, mirror
   acknowledgements) falls into nearly every frame, which at 90 Hz it does not. The app's work in
   the frames this machine draws is printed too (``rendered_app_ms_p99``, over the same empty
   frame: ``rendered_app_p99_over_empty``). The divisor stays the empty frame measured back to back
   (the smaller, stricter figure); the empty frame paced at 90 Hz is printed beside it.
3. ``hitch_ratio``: the worst whole-frame time over the frames around intensity changes (steps and
   ramps), events and scene changes, divided by the steady median frame time of the scene that frame
   shows (the scene at its heaviest preset; the safe place measured the same way, since a different
   scene costs differently without any hitch). A scene change fades to black first and may stall only
   while the view is fully black: those frames are excluded (and counted in the output). The same
   ratio on the process's CPU time (all threads, the rasteriser's included) is printed beside it:
   the machine may be busy with other work, which stretches wall time but not CPU time. The worst
   frames are broken down into the app's tasks, Panda3D's render and the wait for the GL frame.

Targets (design §7): ``app_ms_p99 <= 1.0`` (``app_p99_over_empty <= 5``), ``hitch_ratio <= 2.0``.
Prints figures, then as the LAST line one JSON object.

``--backend openxr`` (with an OpenXR runtime: ``XR_RUNTIME_JSON``, e.g. Monado, docs/openxr.md)
instead runs the app in a headset session and reports the XR frame loop's own figures: the
runtime's predicted display period, late frames (a display slot missed) and the app's thread CPU per
frame between ``xrWaitFrame`` and ``xrEndFrame``, first with no scene (the baseline), then at the
heaviest preset of ``--scene`` (default spiders); the JSON line gives the ratio of the two CPU
medians.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The headset display rate the app's work is measured at (a 90 Hz headset gives the app 11.1 ms).
HEADSET_HZ = 90
HEADSET_PERIOD_NS = int(1e9 / HEADSET_HZ)

#: Frames of context kept on each side of a change when looking for hitches.
BEFORE_FRAMES = 3
AFTER_FRAMES = 40


def _percentiles_ms(ns: list[int] | np.ndarray) -> tuple[float, float, float]:
    a = np.asarray(ns, dtype=np.float64) / 1e6
    return float(np.median(a)), float(np.percentile(a, 99)), float(a.max())


def _stage_fully_black(stage: Any) -> bool:
    """Whether the stage's fade covers the whole view this frame."""
    return bool(stage.fade_level <= 0.0)


def geometry(root: Any) -> tuple[int, int]:
    """(draw calls, triangles) of what is visible under ``root``: one draw per Geom of every GeomNode
    instance not hidden (the shadow camera's extra pass is not counted: it is not an eye)."""
    draws = tris = 0
    for path in root.findAllMatches("**/+GeomNode"):
        if path.isHidden():
            continue
        node = path.node()
        for i in range(node.getNumGeoms()):
            geom = node.getGeom(i)
            draws += 1
            for k in range(geom.getNumPrimitives()):
                prim = geom.getPrimitive(k)
                tris += prim.getNumFaces()
    return draws, tris


def _sleep_rest_of_period(t0_ns: int) -> None:
    """Sleep out the rest of a headset display period begun at ``t0_ns`` (as ``xrWaitFrame`` blocks)."""
    left_ns = HEADSET_PERIOD_NS - (time.perf_counter_ns() - t0_ns)
    if left_ns > 0:
        time.sleep(left_ns / 1e9)


def heaviest_preset(spec: Any) -> tuple[str | None, float]:
    """The preset at the highest intensity (None and 100 for a scene without presets)."""
    if not spec.presets:
        return None, 100.0
    name = max(spec.presets, key=lambda p: spec.presets[p].intensity)
    return name, float(spec.presets[name].intensity)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", default="640x360", help="buffer size WxH (default 640x360)")
    parser.add_argument(
        "--frames", type=int, default=None, help="measured frames at the heaviest preset (600; --all: 300)"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--scene", metavar="ID", help="measure this scene in full (work, hitches, geometry)")
    which.add_argument("--all", action="store_true", help="every scene at its heaviest preset (default)")
    parser.add_argument(
        "--backend", choices=("offscreen", "openxr"), default="offscreen", help="openxr: needs a runtime"
    )
    args = parser.parse_args(argv)
    every_scene = args.scene is None
    frames_measured = args.frames or (300 if every_scene else 600)
    w, h = (int(x) for x in args.size.split("x"))
    if args.backend == "openxr":
        return _openxr(args.frames or 600, (w, h), args.scene or "spiders")

    from panda3d.core import Camera, NodePath, loadPrcFileData

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
    from vr_exposure.renderer.backends.offscreen import OffscreenBackend, gl_finish
    from vr_exposure.renderer.cli import RENDER_SWITCH_INTERVAL_S

    sys.setswitchinterval(RENDER_SWITCH_INTERVAL_S)  # as `vr-exposure renderer` runs
    base = ShowBase(windowType="offscreen")
    step = base.taskMgr.step
    # Where Panda3D's own render (igLoop, sort 50) starts and ends within a frame.
    marks: dict[str, int] = {}

    def _mark(name: str) -> Any:
        def task(t: Any) -> Any:
            marks[name] = time.perf_counter_ns()
            return t.cont

        return task

    base.taskMgr.add(_mark("render-start"), "bench-render-start", sort=49)
    base.taskMgr.add(_mark("render-end"), "bench-render-end", sort=51)

    # 1. Panda3D alone, each frame finished as the app's offscreen frames are.
    for _ in range(30):
        step()
        gl_finish()
    empty_ns = []
    empty_cpu_ns = []
    for _ in range(300):
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        step()
        gl_finish()
        empty_ns.append(time.perf_counter_ns() - t0)
        empty_cpu_ns.append(time.process_time_ns() - c0)
    empty_median, _, _ = _percentiles_ms(empty_ns)
    empty_cpu_median, _, _ = _percentiles_ms(empty_cpu_ns)
    print(
        f"empty frame: median {empty_median:.3f} ms wall, {empty_cpu_median:.3f} ms process CPU over "
        f"{len(empty_ns)} frames ({w}x{h}, offscreen, each frame finished, back to back)"
    )
    paced_empty_ns = []
    for _ in range(120):
        t0 = time.perf_counter_ns()
        step()
        gl_finish()
        paced_empty_ns.append(time.perf_counter_ns() - t0)
        _sleep_rest_of_period(t0)
    paced_empty_median, _, _ = _percentiles_ms(paced_empty_ns)
    print(
        f"empty frame paced at {HEADSET_HZ} Hz: median {paced_empty_median:.3f} ms wall (not the divisor: "
        "the back-to-back figure above is, the stricter one)"
    )
    gc_pauses: list[tuple[int, float]] = []
    gc_start = [0]

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
        frame_cpu_ns: list[int] = []
        work_by_frame: list[int] = []
        black: list[bool] = []
        shown: list[str | None] = []
        parts: list[dict[str, float]] = []

        def _on_gc(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                gc_start[0] = time.perf_counter_ns()
            else:
                gc_pauses.append((len(frame_ns), (time.perf_counter_ns() - gc_start[0]) / 1e6))

        gc.callbacks.append(_on_gc)

        def frame() -> None:
            t0, c0 = time.perf_counter_ns(), time.process_time_ns()
            step()
            frame_ns.append(time.perf_counter_ns() - t0)
            frame_cpu_ns.append(time.process_time_ns() - c0)
            work_by_frame.append(app.work_ns[-1] if app.work_ns else 0)
            black.append(_stage_fully_black(app.stage))
            shown.append(app.stage.scene_id)
            task = app.task_ns
            parts.append(
                {
                    "link": task["vr-exposure-link"] / 1e6,
                    "stimuli": task["vr-exposure-stimuli"] / 1e6,
                    "render": (marks["render-end"] - marks["render-start"]) / 1e6,
                    "telemetry": task["vr-exposure-telemetry"] / 1e6,
                    "gl-finish": task["vr-exposure-present"] / 1e6,
                }
            )
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
            library = app.library
            empty_ms = max(empty_median, 1e-6)

            def at_headset_rate(n: int) -> tuple[list[int], list[int], dict[str, list[int]]]:
                """``n`` frames of the app at a headset's frame rate: each frame's tasks as usual (the
                scene animating, the console's link, telemetry, the journal, mirror images), the
                rest of the display period slept, with the draw kept off this CPU. A software
                rasteriser takes tens of milliseconds a frame here; the frame loop then wakes to cold
                caches, every periodic task (10 Hz stimulus samples, heartbeats, mirror acks) falls
                into almost every frame, and the app's figure says more about the rasteriser than
                about the app. On a headset the GPU draws while the CPU waits for the next frame."""
                blank = NodePath("bench-blank")
                cams = []
                for region in base.win.getActiveDisplayRegions():
                    cam = region.getCamera()
                    if not cam.isEmpty() and cam.node().isOfType(Camera.getClassType()):
                        cams.append((cam, NodePath(cam.node().getScene())))  # a copy, not a reference
                        cam.node().setScene(blank)  # the buffer still clears and is read back
                engine = base.graphicsEngine
                others = [
                    engine.getWindow(i)
                    for i in range(engine.getNumWindows())
                    if engine.getWindow(i) != base.win and engine.getWindow(i).isActive()
                ]
                for out in others:  # shadow maps
                    out.setActive(False)
                for _ in range(30):
                    t0 = time.perf_counter_ns()
                    frame()
                    _sleep_rest_of_period(t0)
                app.work_ns.clear()
                app.work_cpu_ns.clear()
                per_task: dict[str, list[int]] = {name: [] for name in WORK_TASKS}
                try:
                    for _ in range(n):
                        t0 = time.perf_counter_ns()
                        frame()
                        for name in WORK_TASKS:
                            per_task[name].append(app.task_ns[name])
                        _sleep_rest_of_period(t0)
                finally:
                    for cam, scene in cams:
                        cam.node().setScene(scene)
                    for out in others:
                        out.setActive(True)
                return list(app.work_ns), list(app.work_cpu_ns), per_task

            def steady(scene_id: str) -> dict[str, Any]:
                """Load ``scene_id`` at its heaviest preset, settle, measure ``frames_measured`` frames."""
                spec = library.scene(scene_id)
                preset, intensity = heaviest_preset(spec)
                if preset is not None:
                    command(m.LoadSceneRequest(scene=scene_id, preset=preset))
                else:
                    command(m.LoadSceneRequest(scene=scene_id, intensity=intensity))
                for _ in range(2000):  # a scene change fades out and in first
                    if not app.stage.transitioning and app.stage.scene_id == scene_id:
                        break
                    frame()
                for _ in range(120):  # let the scene settle
                    frame()
                app.work_ns.clear()
                app.work_cpu_ns.clear()
                per_task: dict[str, list[int]] = {name: [] for name in WORK_TASKS}
                first = len(frame_ns)
                for _ in range(frames_measured):
                    frame()
                    for name in WORK_TASKS:
                        per_task[name].append(app.task_ns[name])
                rendered_median, rendered_p99, _ = _percentiles_ms(list(app.work_ns))
                steady_median, steady_p99, _ = _percentiles_ms(frame_ns[first:])
                steady_cpu_median, steady_cpu_p99, _ = _percentiles_ms(frame_cpu_ns[first:])
                draws, tris = geometry(app.stage.root)
                where = f"preset {preset!r}" if preset is not None else "no preset"
                print(
                    f"{scene_id} at {where} (intensity {intensity:g}), drawn by this machine's rasteriser: "
                    f"app work median {rendered_median:.3f} ms, p99 {rendered_p99:.3f} ms "
                    f"({rendered_p99 / empty_ms:.2f}x the empty frame) over {len(frame_ns) - first} frames"
                )
                print(
                    f"  whole frame: median {steady_median:.3f} ms, p99 {steady_p99:.3f} ms wall; "
                    f"process CPU median {steady_cpu_median:.3f} ms, p99 {steady_cpu_p99:.3f} ms"
                )
                print(f"  geometry: {draws} draw calls (Geoms drawn), {tris} triangles per eye")
                work, work_cpu, per_task = at_headset_rate(frames_measured)
                app_median, app_p99, app_max = _percentiles_ms(work)
                cpu_median, cpu_p99, cpu_max = _percentiles_ms(work_cpu)
                print(
                    f"  at {HEADSET_HZ} Hz (the draw off this CPU): app work median {app_median:.3f} ms, "
                    f"p99 {app_p99:.3f} ms ({app_p99 / empty_ms:.2f}x the empty frame), max {app_max:.3f} ms "
                    f"over {len(work)} frames"
                )
                print(
                    f"  the same on the thread's CPU clock (no preemption): median {cpu_median:.3f} ms, "
                    f"p99 {cpu_p99:.3f} ms, max {cpu_max:.3f} ms"
                )
                for name, values in per_task.items():
                    med, p99, mx = _percentiles_ms(values)
                    print(f"  {name}: median {med:.3f} ms, p99 {p99:.3f} ms, max {mx:.3f} ms")
                return {
                    "preset": preset,
                    "intensity": intensity,
                    "app_ms_median": round(app_median, 4),
                    "app_ms_p99": round(app_p99, 4),
                    "app_p99_over_empty": round(app_p99 / empty_ms, 3),
                    # The same work on the thread's CPU clock: what preemption by other processes
                    # on a busy machine adds to the wall-clock figure is not in it.
                    "app_cpu_ms_p99": round(cpu_p99, 4),
                    # The app's work in the frames this machine's rasteriser drew (tens of ms each).
                    "rendered_app_ms_p99": round(rendered_p99, 4),
                    "rendered_app_p99_over_empty": round(rendered_p99 / empty_ms, 3),
                    "draw_calls": draws,
                    "triangles_per_eye": tris,
                    "frame_ms_median": round(steady_median, 3),
                    "frame_cpu_ms_median": round(steady_cpu_median, 3),
                    "spec": spec,
                }

            if every_scene:
                scenes: dict[str, dict[str, Any]] = {}
                for scene_id in sorted(library.scenes):
                    figures = steady(scene_id)
                    figures.pop("spec")
                    scenes[scene_id] = figures
                worst = max(scenes, key=lambda sid: scenes[sid]["app_p99_over_empty"])
                summary = {
                    "worst_scene": worst,
                    "app_ms_p99": scenes[worst]["app_ms_p99"],
                    "app_p99_over_empty": scenes[worst]["app_p99_over_empty"],
                    "draw_calls": scenes[worst]["draw_calls"],
                    "triangles_per_eye": scenes[worst]["triangles_per_eye"],
                    "empty_frame_ms_median": round(empty_median, 4),
                    "empty_frame_ms_median_at_90hz": round(paced_empty_median, 4),
                    "scenes": scenes,
                }
                over = [
                    f"{sid}: {what}"
                    for sid, f in scenes.items()
                    for what, bad in (
                        (f"app_p99_over_empty {f['app_p99_over_empty']} > 5", f["app_p99_over_empty"] > 5),
                        (f"{f['draw_calls']} draw calls > 500", f["draw_calls"] > 500),
                        (f"{f['triangles_per_eye']} triangles > 500k", f["triangles_per_eye"] > 500_000),
                    )
                    if bad
                ]
                print("targets: " + ("; ".join(over) if over else "every scene within all three"))
                print(f"renderer errors: {app.errors}; error replies: {app.link.counters['error_replies']}")
                output = summary
            else:
                scene_id = args.scene
                if scene_id not in library.scenes:
                    raise SystemExit(
                        f"benchmark: no scene {scene_id!r} (known: {', '.join(sorted(library.scenes))})"
                    )
                figures = steady(scene_id)
                spec = figures.pop("spec")
                heaviest, _ = heaviest_preset(spec)
                app_median, app_p99 = figures["app_ms_median"], figures["app_ms_p99"]
                steady_median, steady_cpu_median = figures["frame_ms_median"], figures["frame_cpu_ms_median"]
                safe_id = app.safe_place.scene
                reference = {scene_id: (steady_median, steady_cpu_median)}

                # The safe place's own steady frame time, for the frames that show it.
                command(m.LoadSceneRequest(scene=safe_id))
                for _ in range(100):
                    frame()
                first_safe = len(frame_ns)
                for _ in range(150):
                    frame()
                safe_median, _, _ = _percentiles_ms(frame_ns[first_safe:])
                safe_cpu_median, _, _ = _percentiles_ms(frame_cpu_ns[first_safe:])
                reference.setdefault(safe_id, (safe_median, safe_cpu_median))
                print(
                    f"{safe_id} scene: median {safe_median:.3f} ms wall, {safe_cpu_median:.3f} ms process CPU"
                )
                command(m.LoadSceneRequest(scene=scene_id, preset=heaviest))
                for _ in range(100):
                    frame()

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
                for scene in (safe_id, scene_id):
                    changes.append((f"scene {scene}", command(m.LoadSceneRequest(scene=scene, intensity=50))))
                    for _ in range(AFTER_FRAMES * 3):
                        frame()
                changes.append(("safe place", command(m.SafePlaceRequest(fade_s=0.5))))
                for _ in range(AFTER_FRAMES):
                    frame()

                worst_work_ms = 0.0
                worst_work_what = ""
                excluded = 0
                # (ratio, cpu ratio, frame index, what)
                considered: list[tuple[float, float, int, str]] = []
                seen: set[int] = set()
                for what, index in changes:
                    lo, hi = max(0, index - BEFORE_FRAMES), min(len(frame_ns), index + AFTER_FRAMES)
                    for i in range(lo, hi):
                        if i in seen:
                            continue
                        seen.add(i)
                        if black[i] or (i > 0 and black[i - 1]):
                            # Fully black this frame (or the previous one, whose stall shows up in this
                            # frame's time): the stall is invisible.
                            excluded += 1
                            continue
                        ref_ms, ref_cpu_ms = reference.get(shown[i] or "", reference[scene_id])
                        considered.append(
                            (
                                frame_ns[i] / 1e6 / ref_ms,
                                frame_cpu_ns[i] / 1e6 / ref_cpu_ms,
                                i,
                                f"{what} (+{i - index} frames)",
                            )
                        )
                        work_ms = work_by_frame[i] / 1e6
                        if work_ms > worst_work_ms:
                            worst_work_ms, worst_work_what = work_ms, f"{what} (+{i - index} frames)"
                considered.sort(reverse=True)
                hitch_ratio, _, worst_i, worst_what = considered[0]
                cpu_hitch_ratio = max(c[1] for c in considered)
                print(
                    f"hitches: worst frame {frame_ns[worst_i] / 1e6:.3f} ms at {worst_what}; {len(changes)} "
                    f"changes, {len(considered)} frames around them, {excluded} fully-black frames excluded; "
                    f"hitch ratio {hitch_ratio:.2f} on wall time, {cpu_hitch_ratio:.2f} on process CPU time "
                    "(whole frame, draw included, against the shown scene's steady median)"
                )
                print("worst frames around changes (ms; wall / process CPU, then where the wall time went):")
                for ratio, cpu_ratio, i, what in considered[:6]:
                    p = parts[i]
                    pauses = [ms for at, ms in gc_pauses if at == i]
                    wall_ms, cpu_ms = frame_ns[i] / 1e6, frame_cpu_ns[i] / 1e6
                    split = ", ".join(f"{name} {ms:.2f}" for name, ms in p.items())
                    gc_note = f", gc {sum(pauses):.2f}" if pauses else ""
                    print(
                        f"  {ratio:5.2f}x  {wall_ms:8.2f} / {cpu_ms:8.2f} ({cpu_ratio:.2f}x CPU)  {what} "
                        f"[{shown[i]}]: {split}{gc_note}"
                    )
                print(
                    f"app work around the same changes: worst {worst_work_ms:.3f} ms at {worst_work_what} "
                    f"({worst_work_ms / steady_median:.3f} of the median frame)"
                )
                gc_ms = [ms for _, ms in gc_pauses]
                print(
                    f"garbage collections during the run: {len(gc_ms)}, "
                    f"longest {max(gc_ms, default=0.0):.2f} ms"
                )
                print(f"renderer errors: {app.errors}; error replies: {app.link.counters['error_replies']}")
                output = {
                    "scene": scene_id,
                    "app_ms_median": app_median,
                    "app_ms_p99": app_p99,
                    "app_p99_over_empty": figures["app_p99_over_empty"],
                    "draw_calls": figures["draw_calls"],
                    "triangles_per_eye": figures["triangles_per_eye"],
                    "empty_frame_ms_median": round(empty_median, 4),
                    "empty_frame_ms_median_at_90hz": round(paced_empty_median, 4),
                    "hitch_ratio": round(hitch_ratio, 3),
                    "hitch_ratio_cpu": round(cpu_hitch_ratio, 3),
                    "frame_ms_median": steady_median,
                    "frame_cpu_ms_median": steady_cpu_median,
                    "empty_frame_cpu_ms_median": round(empty_cpu_median, 4),
                }
        finally:
            gc.callbacks.remove(_on_gc)
            client.close()
            app.close()
    base.destroy()
    print(json.dumps(output))
    return 0


def _openxr(frames: int, size: tuple[int, int], scene: str) -> int:
    """The XR frame loop's figures on a real runtime (module docstring)."""
    from panda3d.core import loadPrcFileData

    from vr_exposure.renderer.app import App, default_stage_factory
    from vr_exposure.renderer.backends import BackendOptions, BackendUnavailable
    from vr_exposure.renderer.backends.openxr import OpenXrBackend

    try:
        backend = OpenXrBackend(BackendOptions(size=size))
    except BackendUnavailable as exc:
        print(f"benchmark: {exc}", file=sys.stderr)
        return 2
    loadPrcFileData(
        "vr-exposure-benchmark",
        backend.prc_data() + f"win-size {size[0]} {size[1]}\naudio-library-name null\n"
        "notify-level-display error\nnotify-level-glgsg error\n",
    )
    from direct.showbase.ShowBase import ShowBase

    base = ShowBase(windowType=backend.window_type)
    app = App.on_showbase(base, backend, stage_factory=default_stage_factory)
    from vr_exposure.link import messages as m

    def run(n: int) -> dict[str, Any]:
        backend.pacing_figures()
        cpu: list[int] = []
        wall: list[int] = []
        late = 0
        t0 = time.perf_counter()
        for _ in range(n):
            base.taskMgr.step()
            cpu.extend(backend.pacing.app_cpu_ns)
            wall.extend(backend.pacing.app_wall_ns)
            late += backend.pacing.late
            backend.pacing.take()
        elapsed = time.perf_counter() - t0
        if not cpu:
            raise SystemExit("benchmark: the runtime never started the session (no XR frame ended)")
        cpu_med, cpu_p99, cpu_max = _percentiles_ms(cpu)
        return {
            "frames": len(cpu),
            "late": late,
            "period_ms": backend.pacing.period_ns / 1e6,
            "cpu_median": cpu_med,
            "cpu_p99": cpu_p99,
            "cpu_max": cpu_max,
            "wall_median": _percentiles_ms(wall)[0],
            "fps": len(cpu) / elapsed,
        }

    try:
        for _ in range(300):  # the session comes up (IDLE, READY, ... FOCUSED)
            base.taskMgr.step()
            if backend.state.name == "FOCUSED":
                break
        for _ in range(60):
            base.taskMgr.step()
        empty = run(max(120, frames // 2))
        app.command(m.LoadSceneRequest(scene=scene, intensity=0))
        spec = app.stage.spec
        assert spec is not None
        heaviest = max(spec.presets, key=lambda p: spec.presets[p].intensity)
        app.command(m.ApplyPresetRequest(preset=heaviest, ramp_s=0))
        for _ in range(120):
            base.taskMgr.step()
        loaded = run(frames)
    finally:
        app.close()
    print(f"OpenXR: {backend.system_name} on {backend.runtime.runtime_name}, eyes {backend.view_configs[0]}")
    for name, r in (("no scene (baseline)", empty), (f"{scene} at {heaviest!r}", loaded)):
        print(
            f"{name}: {r['frames']} XR frames at {r['fps']:.1f} fps, "
            f"predicted period {r['period_ms']:.3f} ms, {r['late']} late; "
            f"app CPU between xrWaitFrame and xrEndFrame median {r['cpu_median']:.3f} ms, "
            f"p99 {r['cpu_p99']:.3f} ms, max {r['cpu_max']:.3f} ms (wall median {r['wall_median']:.3f} ms)"
        )
    print(
        json.dumps(
            {
                "backend": "openxr",
                "xr_period_ms": round(loaded["period_ms"], 4),
                "xr_frames": loaded["frames"],
                "xr_late": loaded["late"],
                "xr_late_fraction": round(loaded["late"] / loaded["frames"], 4),
                "xr_app_cpu_ms_median": round(loaded["cpu_median"], 4),
                "xr_app_cpu_ms_p99": round(loaded["cpu_p99"], 4),
                "xr_app_cpu_share_of_period": round(loaded["cpu_median"] / loaded["period_ms"], 4),
                "baseline_xr_app_cpu_ms_median": round(empty["cpu_median"], 4),
                "xr_app_cpu_ratio_to_baseline": round(loaded["cpu_median"] / empty["cpu_median"], 3),
                "baseline_xr_late": empty["late"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
