"""Start the OpenXR backend against Monado's remote driver, give each eye its own asymmetric field of
view and an angled pose, and print (one JSON line) what the backend made of them: each eye lens's
projection of its frustum's edges, and each eye camera's pose relative to the head. Then the console's
recenter with the head turned and off-centre, and a session lost and re-created in the same process
(the backend's own loss path: Monado cannot be made to report a loss from outside).

``python -m tests.renderer.openxr_views_probe PORT`` (used by ``test_openxr_monado.py``)."""

from __future__ import annotations

import json
import math
import os
import sys

#: Per eye: fov (left, right, up, down, radians) and the eye's pose in the head (position, yaw).
VIEWS = {
    "left": ((-0.95, 0.55, 0.7, -0.8), (-0.031, 0.0, 0.0), math.radians(8)),
    "right": ((-0.6, 0.9, 0.65, -0.85), (0.033, 0.0, 0.0), math.radians(-5)),
}


def main() -> int:
    os.environ.pop("DISPLAY", None)
    port = int(sys.argv[1])
    from panda3d.core import LPoint2, LPoint3, loadPrcFileData

    from tests.renderer.monado_remote import MonadoRemote
    from tests.renderer.test_openxr_fake import _Ctx
    from vr_exposure.renderer.backends import BackendOptions, build_rig
    from vr_exposure.renderer.backends.openxr import OpenXrBackend

    backend = OpenXrBackend(BackendOptions(size=(160, 120)))
    loadPrcFileData("views-probe", backend.prc_data() + "window-type offscreen\naudio-library-name null\n")
    from direct.showbase.ShowBase import ShowBase

    base = ShowBase(windowType="offscreen")
    rig = build_rig(base.render)
    ctx = _Ctx(base, base.render, base.aspect2d, base.win, base.taskMgr, rig)
    backend.setup(ctx)

    def step() -> None:
        backend.begin_frame()
        base.graphicsEngine.renderFrame()
        backend.end_frame()

    remote = MonadoRemote(port)
    head = remote.state.head
    head.center.position.x, head.center.position.y, head.center.position.z = 0.0, 1.5, 0.0
    head.center.orientation.x = head.center.orientation.y = head.center.orientation.z = 0.0
    head.center.orientation.w = 1.0
    for i, (fov, pos, yaw) in enumerate(VIEWS.values()):
        v = head.views[i]
        v.fov.angle_left, v.fov.angle_right, v.fov.angle_up, v.fov.angle_down = fov
        v.pose.position.x, v.pose.position.y, v.pose.position.z = pos
        # A turn about OpenXR's +Y (up).
        v.pose.orientation.x, v.pose.orientation.z = 0.0, 0.0
        v.pose.orientation.y, v.pose.orientation.w = math.sin(yaw / 2), math.cos(yaw / 2)
    head.per_view_data_valid = True
    remote.send()
    wanted = [f[0] for f in VIEWS.values()]
    arrived = False
    for _ in range(400):
        step()
        fovs = [e.fov for e in backend._eyes]
        if all(
            f is not None
            and math.isclose(f.angle_left, w[0], abs_tol=1e-4)
            and math.isclose(f.angle_down, w[3], abs_tol=1e-4)
            for f, w in zip(fovs, wanted, strict=True)
        ):
            arrived = True
            break
    for _ in range(3):
        step()
    eyes = {}
    for (name, (fov, _pos, _yaw)), eye, node in zip(
        VIEWS.items(), backend._eyes, (rig.left_eye, rig.right_eye), strict=True
    ):
        left, right, up, down = fov
        edges = {}
        # Points on the frustum's edges one metre ahead, in the camera's Panda3D axes (+Y forward).
        for edge, point in (
            ("left", LPoint3(math.tan(left), 1.0, 0.0)),
            ("right", LPoint3(math.tan(right), 1.0, 0.0)),
            ("up", LPoint3(0.0, 1.0, math.tan(up))),
            ("down", LPoint3(0.0, 1.0, math.tan(down))),
        ):
            film = LPoint2()
            eye.lens.project(point, film)
            edges[edge] = [float(film.x), float(film.y)]
        pos = node.getPos(rig.head)
        eyes[name] = {
            "received_fov": [eye.fov.angle_left, eye.fov.angle_right, eye.fov.angle_up, eye.fov.angle_down],
            "edges": edges,
            "pos_in_head": [float(pos.x), float(pos.y), float(pos.z)],
            "h_in_head_deg": float(node.getHpr(rig.head).x),
        }
    # The console's recenter: the head 0.4 m right, 0.3 m ahead, turned 30 degrees left.
    head.per_view_data_valid = False
    head.center.position.x, head.center.position.y, head.center.position.z = 0.4, 1.5, -0.3
    turn = math.radians(30)
    head.center.orientation.y, head.center.orientation.w = math.sin(turn / 2), math.cos(turn / 2)
    remote.send()
    for _ in range(400):
        step()
        if abs(rig.head.getHpr(rig.tracking_space).x - 30) < 0.1:
            break
    before = rig.head.getPos(rig.tracking_space)
    notice = backend.recenter()
    for _ in range(3):
        step()
    after = rig.head.getPos(rig.tracking_space)
    recenter = {
        "before": [float(before.x), float(before.y), float(before.z)],
        "after": [float(after.x), float(after.y), float(after.z)],
        "after_h_deg": float(rig.head.getHpr(rig.tracking_space).x),
        "yaw_deg": notice.yaw_deg,
        "offset_m": list(notice.offset_m),
    }
    # A lost session, then the backend finding the headset again in the same process.
    import vr_exposure.renderer.backends.openxr as openxr_mod

    openxr_mod.RECONNECT_S = 0.0
    submitted = backend.frames_submitted
    backend._lost("lost on purpose by the probe")
    states_before = len(backend.state_history)
    for _ in range(400):
        step()
        if backend.lost_reason is None and backend.state.name == "FOCUSED":
            break
    for _ in range(10):
        step()
    recreated = {
        "sessions_created": backend.sessions_created,
        "lost_reason": backend.lost_reason,
        "states_after": [st.name for st in backend.state_history[states_before:]],
        "frames_after": backend.frames_submitted - submitted,
        "notices": [[n.kind, n.status] for n in backend.poll_notices() if n.kind == "headset"],
    }
    remote.close()
    backend.shutdown()
    base.destroy()
    print(json.dumps({"arrived": arrived, "eyes": eyes, "recenter": recenter, "recreated": recreated}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
