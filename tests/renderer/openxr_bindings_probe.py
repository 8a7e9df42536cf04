"""Start the OpenXR backend against a real runtime, print which controller profiles it bound and
whether a haptic pulse went through, and how a 50 % grey patch filling the view reads back from
the swapchain images, as one JSON line, and shut down.

``python -m tests.renderer.openxr_bindings_probe`` (used by ``test_openxr_monado.py``)."""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    os.environ.pop("DISPLAY", None)
    from panda3d.core import loadPrcFileData

    from tests.renderer.test_openxr_fake import _Ctx, _grey_patch
    from vr_exposure.renderer.backends import BackendOptions, build_rig
    from vr_exposure.renderer.backends.openxr import OpenXrBackend

    backend = OpenXrBackend(BackendOptions(size=(160, 120)), capture_eyes=True)
    loadPrcFileData("bindings-probe", backend.prc_data() + "window-type offscreen\naudio-library-name null\n")
    from direct.showbase.ShowBase import ShowBase

    base = ShowBase(windowType="offscreen")
    _grey_patch(base.render, 0.5)
    ctx = _Ctx(base, base.render, base.aspect2d, base.win, base.taskMgr, build_rig(base.render))
    backend.setup(ctx)
    for _ in range(200):  # until focused, so that a haptic pulse can be applied
        backend.begin_frame()
        base.graphicsEngine.renderFrame()
        backend.end_frame()
        if backend.state.name == "FOCUSED":
            break
    for _ in range(5):
        backend.begin_frame()
        base.graphicsEngine.renderFrame()
        backend.end_frame()
    grey = []
    for img in backend.eye_images:
        if img is not None:
            h, w = img.shape[:2]
            centre = img[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3, :3].astype(float)
            grey.append(centre.mean(axis=(0, 1)).tolist())
    haptic_error = None
    try:
        backend.runtime.haptic_pulse(150_000_000, 0.6)  # what prompt_opened sends, errors not swallowed
    except Exception as exc:  # noqa: BLE001 - reported to the test
        haptic_error = f"{type(exc).__name__}: {exc}"
    result = {
        "bindings": backend.bindings,
        "state": backend.state.name,
        "haptic_error": haptic_error,
        "swapchain_format": backend.swapchain_format,
        "grey": grey,
    }
    backend.shutdown()
    base.destroy()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
