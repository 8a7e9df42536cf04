"""Run the OpenXR backend against a real runtime in this process and write what happened as JSON.

``python -m tests.renderer.openxr_probe OUT.json [--frames N] [--remote-port PORT]``

Used by ``test_openxr_monado.py`` in a subprocess (a runtime and Panda3D's window belong to one
process each). With ``--remote-port`` (Monado's remote driver) it also moves the head and presses the
patient's buttons, and records what the backend made of it. The eye images read back from the
swapchain images are saved next to ``OUT.json`` as ``eyes.npz``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _stats(img: np.ndarray | None) -> dict[str, Any] | None:
    if img is None:
        return None
    rgb = img[..., :3].astype(np.float64)
    return {
        "shape": list(img.shape),
        "mean": rgb.mean(axis=(0, 1)).round(2).tolist(),
        "std": float(rgb.std()),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--remote-port", type=int, default=None)
    parser.add_argument("--glx", action="store_true", help="use the X display (GLX binding), not EGL")
    args = parser.parse_args()
    if not args.glx:
        os.environ.pop("DISPLAY", None)  # headless: Panda3D on EGL, bound through XR_MNDX_egl_enable

    from panda3d.core import loadPrcFileData

    from tests.renderer.test_openxr_fake import _coloured_scene, _Ctx
    from vr_exposure.renderer.backends import BackendOptions, build_rig
    from vr_exposure.renderer.backends.openxr import OpenXrBackend

    backend = OpenXrBackend(BackendOptions(size=(320, 240)), capture_eyes=True)
    loadPrcFileData("openxr-probe", backend.prc_data() + "window-type offscreen\naudio-library-name null\n")
    from direct.showbase.ShowBase import ShowBase

    base = ShowBase(windowType="offscreen")
    _coloured_scene(base.render)
    rig = build_rig(base.render)
    ctx = _Ctx(base, base.render, base.aspect2d, base.win, base.taskMgr, rig)
    backend.setup(ctx)
    result: dict[str, Any] = {
        "runtime": backend.runtime.runtime_name,
        "system": backend.system_name,
        "space": backend.space_kind,
        "eye_size": [backend.view_configs[0].width, backend.view_configs[0].height],
        "swapchain_format": backend._eyes[0].swapchain.gl_format,
        "gl_pipe": base.pipe.getType().getName(),
    }
    frame_ms: list[float] = []
    wait_ms: list[float] = []
    runtime_wait = backend.runtime.wait_frame

    def timed_wait() -> Any:
        t0 = time.perf_counter()
        try:
            return runtime_wait()
        finally:
            wait_ms.append((time.perf_counter() - t0) * 1000)

    backend.runtime.wait_frame = timed_wait  # type: ignore[method-assign]

    def step(n: int = 1) -> Any:
        info = None
        for _ in range(n):
            t0 = time.perf_counter()
            info = backend.begin_frame()
            base.graphicsEngine.renderFrame()
            backend.end_frame()
            frame_ms.append((time.perf_counter() - t0) * 1000)
        return info

    def until(cond: Any, max_frames: int) -> bool:
        for _ in range(max_frames):
            step()
            if cond():
                return True
        return False

    def pose_record() -> dict[str, Any]:
        left = backend.eye_cameras[0]
        return {
            "head_position_m": list(backend._head_pose.position_m),
            "head_orientation_xyzw": list(backend._head_pose.orientation_xyzw),
            "head_h_deg": rig.head.getH(base.render),
            "left_camera_pos": list(left.getPos(base.render)),
            "left_camera_h_deg": left.getH(base.render),
            "right_camera_pos": list(backend.eye_cameras[1].getPos(base.render)),
        }

    t_start = time.perf_counter()
    until(lambda: backend.frames_submitted >= 30, 400)
    result["before"] = pose_record()
    # The eyes straight ahead at the scene, as read back from the swapchain images.
    ahead = [None if img is None else img.copy() for img in backend.eye_images]
    result["eyes_ahead"] = [_stats(img) for img in ahead]
    if all(img is not None for img in ahead):
        np.savez_compressed(args.out.with_name("eyes_ahead.npz"), left=ahead[0], right=ahead[1])
    if args.remote_port is not None:
        from tests.renderer.monado_remote import MonadoRemote

        remote = MonadoRemote(args.remote_port)
        result["remote_reset_head"] = {
            "position": [getattr(remote.reset.head.center.position, a) for a in "xyz"],
            "orientation": [getattr(remote.reset.head.center.orientation, a) for a in "xyzw"],
        }
        # Half a metre right, 10 cm lower, 0.4 m forward, turned 90 degrees to the left (yaw about +Y).
        before = backend._head_pose
        s, c = math.sin(math.pi / 4), math.cos(math.pi / 4)
        remote.set_head((0.5, 1.5, -0.4), (0.0, s, 0.0, c))
        result["head_moved_within_frames"] = until(lambda: backend._head_pose != before, 120)
        step(2)
        result["after"] = pose_record()
        # The patient's buttons: left Y (Index B -> Touch Y) = safe place; right stick up twice and
        # A = SUDS 20.
        actions: list[dict[str, Any]] = []

        def collect(n: int) -> None:
            for _ in range(n):
                step()
                actions.extend(
                    {"kind": a.kind, "value": a.value, "source": a.source} for a in backend.poll_actions()
                )

        backend.poll_actions()
        remote.set_controller("left", b_click=True)
        collect(5)
        remote.set_controller("left", b_click=False)
        collect(3)
        for _ in range(2):
            remote.set_controller("right", thumbstick=(0.0, 0.95))
            collect(4)
            remote.set_controller("right", thumbstick=(0.0, 0.0))
            collect(4)
        remote.set_controller("right", a_click=True)
        collect(5)
        remote.set_controller("right", a_click=False)
        collect(2)
        result["actions"] = actions
        result["suds_selection"] = backend.suds_selection
    until(lambda: backend.frames_submitted >= args.frames, 4 * args.frames)
    elapsed = time.perf_counter() - t_start
    result["frames_submitted"] = backend.frames_submitted
    result["frames_looped"] = len(frame_ms)
    result["elapsed_s"] = round(elapsed, 3)
    result["frame_ms_median"] = round(float(np.median(frame_ms)), 2)
    result["frame_ms_p99"] = round(float(np.percentile(frame_ms, 99)), 2)
    result["predicted_period_ms"] = backend.frame_period_ns / 1e6
    # The frame minus xrWaitFrame: Panda3D's render of both eyes, the copies, the XR calls.
    busy = np.array(frame_ms[-len(wait_ms) :]) - np.array(wait_ms)
    result["wait_ms_median"] = round(float(np.median(wait_ms)), 2)
    result["busy_ms_median"] = round(float(np.median(busy)), 2)
    images = backend.eye_images
    result["eyes"] = [_stats(img) for img in images]
    if all(img is not None for img in images):
        np.savez_compressed(args.out.with_name("eyes.npz"), left=images[0], right=images[1])
    backend.shutdown()
    result["states"] = [s.name for s in backend.state_history]
    result["exit_requested"] = backend.exit_requested
    base.destroy()
    args.out.write_text(json.dumps(result, indent=1))
    keys = ("frames_submitted", "elapsed_s", "frame_ms_median", "wait_ms_median", "busy_ms_median")
    print(json.dumps({k: result[k] for k in keys}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
