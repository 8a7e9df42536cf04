"""The OpenXR backend against the fake runtime, on the shared offscreen ShowBase: session states,
per-eye projection, pose -> camera, the patient's controller actions, the shutdown order, and (with
real GL textures as swapchain images) the eyes actually copied into the images."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vr_exposure.renderer.backends import BackendOptions, BackendUnavailable, PatientAction, Rig, build_rig
from vr_exposure.renderer.backends.fake_xr import FakeXrRuntime, RecordingBlitter, quat_about_axis
from vr_exposure.renderer.backends.openxr import OpenXrBackend, projection_matrix
from vr_exposure.renderer.backends.xr_seam import (
    GL_RGBA8,
    GL_SRGB8,
    GL_SRGB8_ALPHA8,
    ActionStates,
    SessionState,
    XrFov,
    XrPose,
    xr_to_panda_position,
    xr_to_panda_quat,
)

pytestmark = pytest.mark.renderer

S = SessionState


@dataclass
class _Ctx:
    """The parts of the app a backend uses (AppContext), on the shared ShowBase."""

    base: Any
    render: Any
    aspect2d: Any
    win: Any
    task_mgr: Any
    rig: Rig
    exit_requested: bool = False
    keys: list[str] = field(default_factory=list)

    def accept_key(self, event: str, handler: Callable[[], None]) -> None:
        self.base.accept(event, handler)
        self.keys.append(event)


@contextmanager
def xr_backend(
    showbase: Any, runtime: FakeXrRuntime | None = None, **kwargs: Any
) -> Iterator[tuple[OpenXrBackend, FakeXrRuntime, _Ctx]]:
    runtime = runtime or FakeXrRuntime()
    kwargs.setdefault("blitter", RecordingBlitter())
    backend = OpenXrBackend(BackendOptions(size=(320, 240)), runtime=runtime, **kwargs)
    rig = build_rig(showbase.render)
    ctx = _Ctx(showbase, showbase.render, showbase.aspect2d, showbase.win, showbase.taskMgr, rig)
    backend.setup(ctx)
    try:
        yield backend, runtime, ctx
    finally:
        backend.shutdown()
        for key in ctx.keys:
            showbase.ignore(key)
        rig.tracking_space.removeNode()


def frame(showbase: Any, backend: OpenXrBackend, n: int = 1) -> Any:
    """What the app does per frame: begin (XR task), render (igLoop), end (telemetry task)."""
    info = None
    for _ in range(n):
        info = backend.begin_frame()
        showbase.graphicsEngine.renderFrame()
        backend.end_frame()
    return info


# -- no runtime -------------------------------------------------------------------------------------


def test_no_runtime_is_one_clear_line() -> None:
    with pytest.raises(BackendUnavailable) as err:
        OpenXrBackend(BackendOptions(), runtime=FakeXrRuntime(available=False))
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("no OpenXR runtime") and "XR_RUNTIME_JSON" in msg


def test_runtime_without_headset_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable, match="no headset"):
        OpenXrBackend(BackendOptions(), runtime=FakeXrRuntime(headset=False))


def test_real_loader_without_a_runtime_says_so_on_one_line(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XR_RUNTIME_JSON", str(tmp_path / "no-such-runtime.json"))
    with pytest.raises(BackendUnavailable) as err:
        OpenXrBackend(BackendOptions())
    assert str(err.value) == "no OpenXR runtime: set XR_RUNTIME_JSON or install one (Monado, SteamVR)"


def test_renderer_command_without_a_runtime_exits_2_with_one_line(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "XR_LOADER_DEBUG")}
    env["XR_RUNTIME_JSON"] = str(tmp_path / "no-such-runtime.json")
    proc = subprocess.run(
        [sys.executable, "-m", "vr_exposure.cli", "renderer", "--backend", "openxr"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines == [
        "vr-exposure renderer: openxr backend unavailable: "
        "no OpenXR runtime: set XR_RUNTIME_JSON or install one (Monado, SteamVR)"
    ], "one line, none of the OpenXR loader's own messages"


# -- session state machine --------------------------------------------------------------------------


def test_session_runs_through_ready_to_focused_and_submits_frames(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        assert rt.calls[:4] == ["create_instance", "create_session", "create_swapchain", "create_swapchain"]
        info = frame(showbase, backend)
        # One poll delivers IDLE, READY (-> xrBeginSession), SYNCHRONIZED, VISIBLE, FOCUSED.
        assert backend.state_history == [S.IDLE, S.READY, S.SYNCHRONIZED, S.VISIBLE, S.FOCUSED]
        assert "begin_session" in rt.calls and backend.session_running
        assert info.should_render
        frame(showbase, backend, 4)
        assert rt.frames_submitted == 5
        assert all(f.layer is not None and len(f.layer) == 2 for f in rt.submitted)
        assert backend.frames_submitted == 5
        # Each eye's image was copied once per frame, alternating left and right swapchains.
        copies = backend.blitter.copies  # type: ignore[attr-defined]
        assert len(copies) == 10
        left, right = (e.swapchain.images for e in backend._eyes)
        assert copies[0][0] in left and copies[1][0] in right


def test_no_frames_before_ready_and_no_rendering_while_only_synchronized(showbase: Any) -> None:
    rt = FakeXrRuntime(auto_start=False)
    with xr_backend(showbase, rt) as (backend, rt, _ctx):
        info = frame(showbase, backend, 3)  # no events yet: no session, the loop still runs
        assert not info.should_render and rt.frames_submitted == 0
        rt.push_state(S.IDLE)
        rt.push_state(S.READY)
        rt.push_state(S.SYNCHRONIZED)
        info = frame(showbase, backend, 2)
        assert backend.session_running and not info.should_render
        assert [f.layer for f in rt.submitted] == [None, None], "frames ended without layers"
        assert backend.blitter.copies == []  # type: ignore[attr-defined]
        assert not backend._eyes[0].buffer.isActive()
        rt.push_state(S.VISIBLE)
        info = frame(showbase, backend)
        assert info.should_render and rt.submitted[-1].layer is not None
        assert backend._eyes[0].buffer.isActive()


def test_stopping_ends_the_session_ready_begins_it_again_and_exiting_shuts_down(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, ctx):
        frame(showbase, backend, 2)
        rt.auto_start = False  # the test delivers every state from here on
        rt.push_state(S.STOPPING)
        frame(showbase, backend)
        assert rt.calls[-1] == "end_session" and not backend.session_running
        submitted = rt.frames_submitted
        frame(showbase, backend, 2)  # the fake raises if the backend waits on a stopped session
        assert rt.frames_submitted == submitted and not backend.exit_requested
        # Headset taken off and put back on: IDLE, READY again -> a new xrBeginSession.
        for s in (S.IDLE, S.READY, S.SYNCHRONIZED, S.VISIBLE, S.FOCUSED):
            rt.push_state(s)
        assert frame(showbase, backend).should_render
        assert rt.calls.count("begin_session") == 2 and rt.frames_submitted == submitted + 1
        for s in (S.STOPPING, S.IDLE, S.EXITING):
            rt.push_state(s)
        info = frame(showbase, backend)
        assert not info.should_render
        assert backend.state_history[-3:] == [S.STOPPING, S.IDLE, S.EXITING]
        assert backend.exit_requested and ctx.exit_requested
        assert backend.exit_reason == "the OpenXR runtime ended the session"
        assert rt.calls[rt.calls.index("end_session", -6) :] == [
            "end_session", "destroy_swapchain", "destroy_swapchain", "destroy_session", "destroy_instance",
        ]  # fmt: skip


def _main_regions_active(showbase: Any) -> list[bool]:
    win = showbase.win
    regions = [win.getDisplayRegion(i) for i in range(win.getNumDisplayRegions())]
    return [r.isActive() for r in regions if r.getCamera() == showbase.cam]


@pytest.mark.parametrize("loss", ["session", "instance"])
def test_a_lost_session_keeps_the_renderer_and_comes_back_with_the_headset(
    showbase: Any, loss: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vr_exposure.renderer.backends.openxr as openxr_mod

    monkeypatch.setattr(openxr_mod, "RECONNECT_S", 0.0)
    with xr_backend(showbase) as (backend, rt, ctx):
        frame(showbase, backend, 3)
        assert [(n.kind, n.status) for n in backend.poll_notices()] == [("headset", "worn")]
        first = rt.frames_submitted
        rt.headset = False  # unplugged: the runtime finds no headset until it is back
        rt.push_state(S.LOSS_PENDING) if loss == "session" else rt.push_instance_loss()
        frame(showbase, backend)
        assert not backend.exit_requested and not ctx.exit_requested, "the renderer goes on"
        assert backend.lost_reason is not None
        [lost] = backend.poll_notices()
        assert (lost.kind, lost.status) == ("headset", "lost") and lost.reason == backend.lost_reason
        destroys = [c for c in rt.calls if c.startswith("destroy")]
        assert destroys == ["destroy_swapchain", "destroy_swapchain", "destroy_session", "destroy_instance"]
        assert "request_exit" not in rt.calls, "a lost session is not walked through STOPPING"
        assert all(_main_regions_active(showbase)), "the desktop window shows the scene"
        assert showbase.camera.getParent() == ctx.rig.head, "from the patient's last head pose"
        assert backend.eye_cameras == []
        # Still gone: each retry only asks for the instance, nothing else touches the runtime.
        info = frame(showbase, backend, 3)
        assert info.should_render, "the desktop window keeps rendering"
        assert rt.calls[-3:] == ["create_instance"] * 3 and backend.poll_notices() == []
        rt.headset = True
        frame(showbase, backend, 4)
        assert backend.lost_reason is None and backend.sessions_created == 2
        assert [(n.kind, n.status) for n in backend.poll_notices()] == [
            ("headset", "off"),
            ("headset", "worn"),
        ]
        assert rt.frames_submitted > first, "frames reach the headset again"
        assert not any(_main_regions_active(showbase)), "the eyes render again, not the mono camera"
        assert showbase.camera.getParent() != ctx.rig.head, "the window's camera is back where it was"
    destroys = [c for c in rt.calls if c.startswith("destroy")]
    assert destroys == ["destroy_swapchain", "destroy_swapchain", "destroy_session", "destroy_instance"] * 2


def test_headset_off_and_on_are_notices(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        frame(showbase, backend, 3)
        rt.push_state(S.VISIBLE)  # taken off (or the runtime's menu in front)
        frame(showbase, backend)
        rt.push_state(S.FOCUSED)
        frame(showbase, backend)
        notices = backend.poll_notices()
        assert [(n.kind, n.status) for n in notices] == [
            ("headset", "worn"),
            ("headset", "off"),
            ("headset", "worn"),
        ]
        assert "VISIBLE" in notices[1].reason


def test_exiting_asks_the_app_to_exit(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, ctx):
        frame(showbase, backend, 3)
        rt.push_state(S.EXITING)
        frame(showbase, backend)
        assert backend.exit_requested and ctx.exit_requested and backend.exit_reason


def test_runtime_recenter_is_reported_with_the_pose_change(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        frame(showbase, backend, 3)
        backend.poll_notices()
        # The new origin is 0.5 m to the right and turned 90 degrees left (about +Y, OpenXR axes).
        rt.push_recenter(XrPose((0.5, 0.0, 0.0), quat_about_axis((0, 1, 0), math.pi / 2)))
        frame(showbase, backend)
        [n] = backend.poll_notices()
        assert n.kind == "recentered" and n.reason == "runtime"
        assert n.yaw_deg == pytest.approx(90.0)
        assert n.offset_m == pytest.approx((0.5, 0.0, 0.0))


def test_console_recenter_puts_the_head_at_the_origin_looking_forward(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, ctx):
        # The patient sits 0.3 m left of and 0.2 m behind the origin, turned 40 degrees right.
        rt.head_pose = XrPose((-0.3, 1.2, 0.2), quat_about_axis((0, 1, 0), math.radians(-40)))
        frame(showbase, backend, 3)
        before = backend._head_pose
        notice = backend.recenter()
        assert notice.yaw_deg == pytest.approx(40.0)
        assert notice.offset_m == pytest.approx((-0.3, -0.2, 0.0))
        frame(showbase, backend, 2)
        head = ctx.rig.head
        pos = head.getPos(ctx.rig.tracking_space)
        assert (pos.x, pos.y) == pytest.approx((0.0, 0.0), abs=1e-5)
        assert pos.z == pytest.approx(before.position_m[2], abs=1e-5), "the height stays as tracked"
        assert head.getHpr(ctx.rig.tracking_space).x == pytest.approx(0.0, abs=1e-3)
        # The eyes follow: still one IPD apart, level, either side of the head.
        left = ctx.rig.left_eye.getPos(ctx.rig.tracking_space)
        right = ctx.rig.right_eye.getPos(ctx.rig.tracking_space)
        assert (right - left).length() == pytest.approx(rt.ipd_m, abs=1e-5)
        assert right.x - left.x == pytest.approx(rt.ipd_m, abs=1e-5)
        # A second recenter with the head where it is now changes nothing.
        again = backend.recenter()
        assert again.yaw_deg == pytest.approx(0.0, abs=1e-6)
        assert again.offset_m == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)


def test_recenter_without_a_session_is_refused(showbase: Any) -> None:
    with xr_backend(showbase, FakeXrRuntime(auto_start=False)) as (backend, _rt, _ctx):
        with pytest.raises(BackendUnavailable, match="not running"):
            backend.recenter()


def test_shutdown_of_a_running_session_requests_exit_then_destroys_in_order(showbase: Any) -> None:
    def main_regions() -> list[bool]:
        win = showbase.win
        regions = [win.getDisplayRegion(i) for i in range(win.getNumDisplayRegions())]
        return [r.isActive() for r in regions if r.getCamera() == showbase.cam]

    before = main_regions()
    with xr_backend(showbase) as (backend, rt, _ctx):
        frame(showbase, backend, 2)
        assert not any(main_regions()), "the mono camera's region is off while the eyes render"
        windows = showbase.graphicsEngine.getNumWindows()
        backend.shutdown()
        tail = rt.calls[rt.calls.index("request_exit") :]
        assert tail == [
            "request_exit", "end_session",
            "destroy_swapchain", "destroy_swapchain", "destroy_session", "destroy_instance",
        ]  # fmt: skip
        assert backend.blitter.released  # type: ignore[attr-defined]
        assert showbase.graphicsEngine.getNumWindows() == windows - 2
        backend.shutdown()  # twice is fine
        assert rt.calls.count("destroy_instance") == 1
    assert main_regions() == before


def test_shutdown_mid_frame_ends_the_open_frame_first(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        frame(showbase, backend, 2)
        backend.begin_frame()
        n = rt.frames_submitted
        backend.shutdown()  # the fake raises on end_session with a frame still open
        assert rt.frames_submitted == n + 1 and rt.submitted[-1].layer is None


def test_a_frame_the_app_never_ended_is_ended_empty_before_the_next(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        frame(showbase, backend, 2)
        backend.begin_frame()
        showbase.graphicsEngine.renderFrame()  # ... and the app's end-of-frame task failed
        n = rt.frames_submitted
        frame(showbase, backend)  # the fake raises on a second xrWaitFrame without xrEndFrame
        assert rt.frames_submitted == n + 2
        assert rt.submitted[-2].layer is None and rt.submitted[-1].layer is not None


def test_shutdown_reaches_the_instance_when_destroying_the_session_fails(showbase: Any) -> None:
    rt = FakeXrRuntime()
    real_destroy = rt.destroy_session

    def failing_destroy() -> None:
        real_destroy()
        raise RuntimeError("runtime said no")

    rt.destroy_session = failing_destroy  # type: ignore[method-assign]
    with xr_backend(showbase, rt) as (backend, rt, _ctx):
        frame(showbase, backend, 2)
        backend.shutdown()
        assert rt.calls[-1] == "destroy_instance"
        assert all(e.buffer is None for e in backend._eyes)


def test_tracking_lost_submits_no_layer(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        frame(showbase, backend, 2)
        rt.tracking_valid = False
        info = frame(showbase, backend)
        assert not info.should_render and rt.submitted[-1].layer is None
        rt.tracking_valid = True
        assert frame(showbase, backend).should_render and rt.submitted[-1].layer is not None


# -- swapchain format -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        ((GL_SRGB8, GL_RGBA8, GL_SRGB8_ALPHA8), GL_SRGB8_ALPHA8),
        ((GL_SRGB8, GL_RGBA8), GL_RGBA8),
    ],
)
def test_swapchain_format_is_srgb_alpha_or_rgba_never_srgb8(
    showbase: Any, offered: tuple[int, ...], chosen: int
) -> None:
    with xr_backend(showbase, FakeXrRuntime(formats=offered)) as (_backend, rt, _ctx):
        assert {sc.info.gl_format for sc in rt.swapchains.values()} == {chosen}


def test_only_srgb8_offered_is_unavailable_and_releases_the_runtime(showbase: Any) -> None:
    rt = FakeXrRuntime(formats=(GL_SRGB8,))
    backend = OpenXrBackend(BackendOptions(), runtime=rt, blitter=RecordingBlitter())
    rig = build_rig(showbase.render)
    try:
        with pytest.raises(BackendUnavailable, match="GL_SRGB8_ALPHA8 or GL_RGBA8"):
            backend.setup(
                _Ctx(showbase, showbase.render, showbase.aspect2d, showbase.win, showbase.taskMgr, rig)
            )
    finally:
        rig.tracking_space.removeNode()
    assert rt.calls[-2:] == ["destroy_session", "destroy_instance"]


# -- coordinates and projection ---------------------------------------------------------------------


def test_conversion_examples() -> None:
    # OpenXR forward (-Z) is Panda3D forward (+Y); OpenXR up (+Y) is Panda3D up (+Z).
    assert xr_to_panda_position((0.0, 0.0, -1.0)) == (0.0, 1.0, 0.0)
    assert xr_to_panda_position((0.0, 1.0, 0.0)) == (0.0, 0.0, 1.0)
    assert xr_to_panda_position((1.0, 0.0, 0.0)) == (1.0, 0.0, 0.0)


unit = st.floats(-1, 1, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(
    q=st.tuples(unit, unit, unit, unit).filter(lambda q: sum(c * c for c in q) > 0.01),
    v=st.tuples(unit, unit, unit),
)
def test_quat_conversion_agrees_with_panda3d_axis_change(
    q: tuple[float, ...], v: tuple[float, float, float]
) -> None:
    """Rotating in OpenXR then converting == converting then rotating with the converted quaternion,
    with Panda3D's own Y-up -> Z-up matrix as the reference."""
    from panda3d.core import CS_yup_right, CS_zup_right, LMatrix4, LQuaternion, LVector3

    n = math.sqrt(sum(c * c for c in q))
    x, y, z, w = (c / n for c in q)
    to_panda = LMatrix4.convert_mat(CS_yup_right, CS_zup_right)
    rotated_xr = LQuaternion(w, x, y, z).xform(LVector3(*v))
    expected = to_panda.xformVec(rotated_xr)
    px, py, pz, pw = xr_to_panda_quat((x, y, z, w))
    got = LQuaternion(pw, px, py, pz).xform(to_panda.xformVec(LVector3(*v)))
    assert got.almostEqual(expected, 1e-4)
    assert to_panda.xformPoint(LVector3(*v)).almostEqual(LVector3(*xr_to_panda_position(v)), 1e-6)


def test_symmetric_fov_matches_panda3d_perspective_lens() -> None:
    from panda3d.core import MatrixLens, PerspectiveLens

    half = math.radians(45)
    ml = MatrixLens()
    ml.setUserMat(projection_matrix(XrFov(-half, half, half, -half), 0.1, 100.0))
    pl = PerspectiveLens()
    pl.setFov(90, 90)
    pl.setNearFar(0.1, 100.0)
    assert ml.getProjectionMat().almostEqual(pl.getProjectionMat(), 1e-5)


@pytest.mark.parametrize("fov", [XrFov(-0.8, 0.7, 0.75, -0.8), XrFov(-0.35, 0.9, 0.2, -1.0)])
def test_asymmetric_fov_gives_the_expected_frustum(fov: XrFov) -> None:
    """The film's edges extrude along the four fov angles; the view direction lands off-centre."""
    from panda3d.core import LPoint2, LPoint3, MatrixLens

    lens = MatrixLens()
    lens.setUserMat(projection_matrix(fov, 0.05, 500.0))
    for film, (axis, angle) in {
        (-1, 0): ("x", fov.angle_left), (1, 0): ("x", fov.angle_right),
        (0, 1): ("z", fov.angle_up), (0, -1): ("z", fov.angle_down),
    }.items():  # fmt: skip
        near, far = LPoint3(), LPoint3()
        assert lens.extrude(LPoint2(*film), near, far)
        d = far - near
        ratio = (d.x if axis == "x" else d.z) / d.y
        assert d.y > 0, "forward is +Y"
        assert ratio == pytest.approx(math.tan(angle), abs=1e-4), (film, axis)
    # A point straight ahead projects off-centre by the frustum's asymmetry.
    p = LPoint2()
    assert lens.project(LPoint3(0, 10, 0), p)
    tl, tr, tu, td = (math.tan(a) for a in (fov.angle_left, fov.angle_right, fov.angle_up, fov.angle_down))
    assert p.x == pytest.approx(-(tr + tl) / (tr - tl), abs=1e-4)
    assert p.y == pytest.approx(-(tu + td) / (tu - td), abs=1e-4)


def test_each_eye_lens_follows_its_views_fov(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        frame(showbase, backend)
        for lens, fov in zip(backend.eye_lenses, rt.fovs, strict=True):
            assert lens.getUserMat().almostEqual(projection_matrix(fov, backend.near_m, backend.far_m), 1e-6)
        rt.fovs = (XrFov(-0.5, 0.5, 0.5, -0.5), XrFov(-0.6, 0.4, 0.5, -0.5))
        frame(showbase, backend)
        assert (
            backend.eye_lenses[1].getUserMat().almostEqual(projection_matrix(rt.fovs[1], 0.05, 500.0), 1e-6)
        )
        assert rt.submitted[-1].layer[1].view.fov == rt.fovs[1]


# -- pose -> camera ---------------------------------------------------------------------------------


def test_head_turned_90_degrees_left_in_openxr_turns_the_panda3d_head(showbase: Any) -> None:
    from panda3d.core import LVector3

    with xr_backend(showbase) as (backend, rt, ctx):
        # Yaw +90 deg about OpenXR's +Y (up) = counter-clockwise from above = a turn to the left.
        rt.head_pose = XrPose((0.5, 1.6, -2.0), quat_about_axis((0, 1, 0), math.pi / 2))
        info = frame(showbase, backend)
        head = ctx.rig.head
        assert head.getPos(ctx.rig.tracking_space).almostEqual(LVector3(0.5, 2.0, 1.6), 1e-5)
        assert head.getH(ctx.rig.tracking_space) == pytest.approx(90, abs=1e-3)
        forward = ctx.render.getRelativeVector(head, LVector3(0, 1, 0))
        assert forward.almostEqual(LVector3(-1, 0, 0), 1e-5), "facing OpenXR -X = Panda3D -X (left)"
        assert info.head_pose.position_m == pytest.approx((0.5, 2.0, 1.6))
        q = head.getQuat()
        assert info.head_pose.orientation_xyzw == pytest.approx((q.getI(), q.getJ(), q.getK(), q.getR()))
        # The eyes: the runtime puts them ipd/2 either side along the head's right (now +Y).
        left, right = (cam.getPos(ctx.render) for cam in backend.eye_cameras)
        assert left.almostEqual(LVector3(0.5, 2.0 - 0.032, 1.6), 1e-5)
        assert right.almostEqual(LVector3(0.5, 2.0 + 0.032, 1.6), 1e-5)
        for cam in backend.eye_cameras:
            assert cam.getH(ctx.render) == pytest.approx(90, abs=1e-3)


def test_local_space_puts_the_head_at_seated_eye_height(showbase: Any) -> None:
    with xr_backend(showbase, FakeXrRuntime(space_kind="local")) as (backend, rt, ctx):
        rt.head_pose = XrPose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))
        info = frame(showbase, backend)
        assert info.head_pose.position_m == pytest.approx((0.0, 0.0, 1.2))


# -- patient actions --------------------------------------------------------------------------------


def test_safe_place_button_gives_one_action_per_press(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        frame(showbase, backend)
        assert backend.poll_actions() == []
        rt.controls = ActionStates(safe_place=True)
        frame(showbase, backend, 3)  # held for three frames
        assert backend.poll_actions() == [PatientAction("safe_place", source="controller")]
        assert backend.poll_actions() == []
        rt.controls = ActionStates()
        frame(showbase, backend)
        rt.controls = ActionStates(safe_place=True)
        frame(showbase, backend)
        assert backend.poll_actions() == [PatientAction("safe_place", source="controller")]


def test_actions_only_while_focused(showbase: Any) -> None:
    rt = FakeXrRuntime(auto_start=False)
    with xr_backend(showbase, rt) as (backend, rt, _ctx):
        for s in (S.IDLE, S.READY, S.SYNCHRONIZED, S.VISIBLE):
            rt.push_state(s)
        rt.controls = ActionStates(safe_place=True)
        frame(showbase, backend, 2)
        assert backend.poll_actions() == []
        rt.push_state(S.FOCUSED)
        frame(showbase, backend)
        assert backend.poll_actions() == [PatientAction("safe_place", source="controller")]


def test_suds_thumbstick_chooses_and_confirm_reports_a_rating(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        frame(showbase, backend)
        for axis in (0.9, 0.9, 0.0, 0.8, 0.1, 1.0, 0.0, -0.7, 0.0):  # up, (held), up, up, down
            rt.controls = ActionStates(suds_axis=axis)
            frame(showbase, backend)
        assert backend.suds_selection == 20
        rt.controls = ActionStates(suds_confirm=True)
        frame(showbase, backend, 2)
        assert backend.poll_actions() == [PatientAction("suds", 20, source="controller")]
        for _ in range(5):
            rt.controls = ActionStates(suds_axis=-1.0)
            frame(showbase, backend)
            rt.controls = ActionStates()
            frame(showbase, backend)
        assert backend.suds_selection == 0, "never below 0"


def test_suds_step_button_for_controllers_without_a_stick(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        frame(showbase, backend)
        for _ in range(12):
            rt.controls = ActionStates(suds_step=True)
            frame(showbase, backend)
            rt.controls = ActionStates()
            frame(showbase, backend)
        assert backend.suds_selection == 10, "0 -> 100 in steps of 10, then wraps to 0, then 10"
        rt.controls = ActionStates(suds_confirm=True)
        frame(showbase, backend)
        assert backend.poll_actions() == [PatientAction("suds", 10, source="controller")]


def test_desktop_patient_keys_work_too(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, _rt, _ctx):
        showbase.messenger.send("space")
        showbase.messenger.send("7")
        assert backend.poll_actions() == [PatientAction("safe_place"), PatientAction("suds", 70)]


# -- the eyes really reach the swapchain images -----------------------------------------------------


def _coloured_scene(render: Any) -> Any:
    """A red wall ahead with a green block left of centre and a blue one right, lit by nothing
    (flat colours, so the checks do not depend on shading)."""
    from panda3d.core import CardMaker

    root = render.attachNewNode("xr-test-scene")
    for name, frame_, colour, y in (
        ("wall", (-20, 20, -20, 20), (1, 0, 0, 1), 8.0),
        ("left-block", (-1.2, -0.2, 1.0, 2.2), (0, 1, 0, 1), 3.0),
        ("right-block", (0.2, 1.2, 1.0, 2.2), (0, 0, 1, 1), 3.0),
    ):
        cm = CardMaker(name)
        cm.setFrame(*frame_)
        card = root.attachNewNode(cm.generate())
        card.setY(y)
        card.setColor(*colour)
        card.setTwoSided(True)
        card.setLightOff(1)
    return root


def test_each_eye_is_copied_into_its_swapchain_image(showbase: Any) -> None:
    from vr_exposure.renderer.backends.openxr import GlEyeBlitter

    scene = _coloured_scene(showbase.render)
    rt = FakeXrRuntime(gl_images=True, eye_size=(96, 64))
    try:
        with xr_backend(showbase, rt, blitter=GlEyeBlitter(), capture_eyes=True) as (backend, rt, _ctx):
            frame(showbase, backend, 3)
            images = []
            for eye, captured in zip(backend._eyes, backend.eye_images, strict=True):
                sc = rt.swapchains[eye.swapchain.swapchain]
                assert sc.last_released is not None
                img = rt.read_gl_image(sc.info.swapchain, sc.last_released)[::-1]  # top row first
                assert captured is not None
                assert np.array_equal(img, captured), "read back from the image the runtime got"
                rgb = img[..., :3].astype(int)
                assert rgb.std() > 10, "not blank"
                red = (rgb[..., 0] > 200) & (rgb[..., 1] < 60)
                green = (rgb[..., 1] > 200) & (rgb[..., 0] < 60)
                blue = (rgb[..., 2] > 200) & (rgb[..., 0] < 60)
                assert red.mean() > 0.3 and green.mean() > 0.01 and blue.mean() > 0.01
                # Green is left of blue, as in the scene.
                assert np.nonzero(green)[1].mean() < np.nonzero(blue)[1].mean()
                images.append(rgb)
            assert np.abs(images[0] - images[1]).mean() > 1, "the eyes see different images"
    finally:
        scene.removeNode()


def test_the_desktop_window_mirrors_the_left_eye(showbase: Any) -> None:
    from tests.renderer.apphelpers import screenshot
    from vr_exposure.renderer.backends.openxr import GlEyeBlitter

    scene = _coloured_scene(showbase.render)
    rt = FakeXrRuntime(gl_images=True, eye_size=(96, 64))
    try:
        with xr_backend(showbase, rt, blitter=GlEyeBlitter(), capture_eyes=True) as (backend, rt, _ctx):
            frame(showbase, backend, 3)
            shot = screenshot(showbase).astype(int)
            eye = backend.eye_images[0]
            assert eye is not None
            # Nearest-neighbour: the window's pixel at each eye pixel's centre (same image, scaled).
            h, w = shot.shape[:2]
            ys = ((np.arange(64) + 0.5) * h / 64).astype(int)
            xs = ((np.arange(96) + 0.5) * w / 96).astype(int)
            sampled = shot[ys][:, xs]
            same = np.abs(sampled - eye[..., :3].astype(int)).max(axis=2) < 40
            assert same.mean() > 0.95, "only the colour edges may differ (filtering)"
    finally:
        scene.removeNode()


def test_in_the_app_frames_are_submitted_and_the_controller_reaches_the_safe_place(
    showbase: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real app's task order (begin_frame before the render, end_frame after it), a controller
    press becoming the app's safe place, a recenter, and a lost session that the app survives (still
    in the safe place) until the headset is back, every headset change journaled."""
    import vr_exposure.renderer.backends.openxr as openxr_mod
    from vr_exposure import __version__
    from vr_exposure.journal import create_session, read_session
    from vr_exposure.link import messages as m
    from vr_exposure.renderer.app import App, default_stage_factory

    monkeypatch.setattr(openxr_mod, "RECONNECT_S", 0.0)
    session = create_session(tmp_path / "sessions", pseudonym="P001", software_version=__version__)
    rt = FakeXrRuntime()
    backend = OpenXrBackend(BackendOptions(size=(320, 240)), runtime=rt, blitter=RecordingBlitter())
    app = App.on_showbase(showbase, backend, stage_factory=default_stage_factory, session_dir=session)
    try:
        assert app.state().headset == "off", "not worn until the session is focused"
        for _ in range(6):
            showbase.taskMgr.step()
        assert rt.frames_submitted == 6
        assert all(f.layer is not None for f in rt.submitted)
        assert len(backend.blitter.copies) == 12  # type: ignore[attr-defined]
        assert app.state().headset == "worn"
        rt.controls = ActionStates(safe_place=True)
        showbase.taskMgr.step()
        assert app.mode == "safe_place"
        assert app.frame_info is not None and app.frame_info.should_render
        app.command(m.RecenterRequest())
        rt.headset = False
        rt.push_state(S.LOSS_PENDING)
        showbase.taskMgr.step()
        assert not app.exit_requested and not backend.exit_requested, "the renderer keeps serving"
        assert app.state().headset == "lost" and app.mode == "safe_place"
        showbase.taskMgr.step()
        rt.headset = True
        for _ in range(5):
            showbase.taskMgr.step()
        assert app.state().headset == "worn" and backend.sessions_created == 2
    finally:
        app.close()
    assert rt.calls[-1] == "destroy_instance"
    log = read_session(session)
    assert [r.content["status"] for r in log.by_type("headset_changed")] == ["worn", "lost", "off", "worn"]
    assert all(r.kind == "clinical" for r in log.by_type("headset_changed"))
    [recentred] = log.by_type("view_recentered")
    assert recentred.content["source"] == "console" and recentred.kind == "clinical"


def test_dropped_frames_are_counted_against_the_runtimes_frame_period(showbase: Any) -> None:
    """The backend learns the display period from the runtime's first wait frame, after the app and
    its telemetry were built: frame timing must use that period, not the 60 Hz placeholder."""
    from vr_exposure.core.clock import FakeClock
    from vr_exposure.renderer.app import App, default_stage_factory

    rt = FakeXrRuntime(period_ns=2_000_000)  # a 500 Hz display: a 5 ms frame is a dropped one
    backend = OpenXrBackend(BackendOptions(size=(320, 240)), runtime=rt, blitter=RecordingBlitter())
    clock = FakeClock()
    app = App.on_showbase(showbase, backend, stage_factory=default_stage_factory, clock=clock)
    try:
        assert backend.frame_period_ns != 2_000_000, "not known before the first frame"
        for _ in range(250):  # 5 ms apart on the app's clock: 1.25 s, one frame-timing summary
            showbase.taskMgr.step()
            clock.advance(0.005)
        assert backend.frame_period_ns == 2_000_000
        timing = app.telemetry.last_timing
        assert timing is not None and timing.median_ms == pytest.approx(5.0)
        assert timing.dropped == timing.frames, "every 5 ms frame misses a 2 ms display period"
    finally:
        app.close()


def test_every_listed_profile_is_suggested_with_paths_of_that_profile(showbase: Any) -> None:
    from vr_exposure.renderer.backends.xr_bindings import PROFILES

    with xr_backend(showbase) as (backend, _rt, _ctx):
        # The fake runtime refuses (FakeXrProtocolError) a path that is not one of its profile's.
        assert set(backend.bindings) == {p.path for p in PROFILES}
        assert all(why is None for why in backend.bindings.values())
    names = {p.name for p in PROFILES}
    assert {"Khronos simple controller", "Oculus Touch", "Valve Index", "HTC Vive", "Windows Mixed Reality",
            "HP Reverb G2", "Pico 4", "Meta Quest Pro"} <= names  # fmt: skip
    for p in PROFILES:
        b = p.bindings
        assert b["safe_place"] and all(x.startswith("/user/hand/left/") for x in b["safe_place"]), p.name
        assert ("suds_axis" in b) or ("suds_step" in b), f"{p.name}: no way to choose a rating"
        assert b["suds_confirm"] and b["prompt_haptic"], p.name


def test_a_path_outside_its_profile_is_refused_by_the_fake_runtime() -> None:
    from vr_exposure.renderer.backends.fake_xr import _valid_binding

    assert _valid_binding("/interaction_profiles/valve/index_controller", "/user/hand/left/input/b/click")
    assert not _valid_binding(
        "/interaction_profiles/valve/index_controller", "/user/hand/left/input/menu/click"
    )
    assert not _valid_binding(
        "/interaction_profiles/oculus/touch_controller", "/user/hand/left/input/a/click"
    )
    assert not _valid_binding(
        "/interaction_profiles/khr/generic_controller", "/user/hand/left/input/menu/click"
    )


def test_a_suds_prompt_pulses_the_controllers_only_while_focused(showbase: Any) -> None:
    with xr_backend(showbase) as (backend, rt, _ctx):
        backend.prompt_opened()  # not focused yet: no pulse, no error
        assert rt.haptic_pulses == []
        frame(showbase, backend, 3)
        backend.prompt_opened()
        [(duration_ns, amplitude)] = rt.haptic_pulses
        assert duration_ns > 0 and 0 < amplitude <= 1
        rt.push_state(S.VISIBLE)
        frame(showbase, backend)
        backend.prompt_opened()
        assert len(rt.haptic_pulses) == 1, "the headset is off: nobody to pulse"


def test_frame_pacing_figures_count_late_frames_and_the_apps_cpu(showbase: Any) -> None:
    with xr_backend(showbase, FakeXrRuntime(period_ns=11_111_111)) as (backend, rt, _ctx):
        frame(showbase, backend, 3)
        backend.pacing_figures()  # start afresh
        frame(showbase, backend, 5)
        rt.skip_periods = 2  # the app missed two display slots
        frame(showbase, backend, 5)
        figures = backend.pacing_figures()
        assert figures is not None
        assert figures["xr_frames"] == 10 and figures["xr_late"] == 1
        assert figures["xr_period_ms"] == pytest.approx(11.1111, abs=1e-3)
        assert 0 < figures["xr_app_cpu_ms"] <= figures["xr_app_cpu_p99_ms"]
        assert backend.pacing_figures() is None, "taken: nothing until the next frame"


def test_frame_timing_telemetry_carries_the_xr_figures(showbase: Any) -> None:
    from vr_exposure.core.clock import FakeClock
    from vr_exposure.renderer.app import App, default_stage_factory

    rt = FakeXrRuntime()
    backend = OpenXrBackend(BackendOptions(size=(320, 240)), runtime=rt, blitter=RecordingBlitter())
    clock = FakeClock()
    app = App.on_showbase(showbase, backend, stage_factory=default_stage_factory, clock=clock)
    seen: list[dict[str, Any]] = []
    app.telemetry.journal = lambda msg_type, content: (
        seen.append(content) if msg_type == "frame_timing" else None
    )
    try:
        for _ in range(150):
            showbase.taskMgr.step()
            clock.advance(0.011)
    finally:
        app.close()
    assert seen, "a frame-timing summary each second"
    assert seen[0]["xr_frames"] > 0 and seen[0]["xr_period_ms"] == pytest.approx(rt.period_ns / 1e6, abs=1e-3)
    assert "xr_app_cpu_ms" in seen[0] and seen[0]["xr_late"] == 0


def _grey_patch(render: Any, level: float) -> Any:
    from panda3d.core import CardMaker

    cm = CardMaker("grey-patch")
    cm.setFrame(-20, 20, -20, 20)
    card = render.attachNewNode(cm.generate())
    card.setY(5.0)
    card.setColor(level, level, level, 1)
    card.setTwoSided(True)
    card.setLightOff(1)
    return card


@pytest.mark.parametrize(("fmt", "expected"), [(GL_SRGB8_ALPHA8, 188), (GL_RGBA8, 128)])
def test_a_mid_grey_patch_is_encoded_for_an_srgb_swapchain(showbase: Any, fmt: int, expected: int) -> None:
    """50 % grey in the scene is half the white's light: 188/255 in an sRGB image (the compositor
    decodes it back to 0.5), unchanged (128) in a linear RGBA8 one."""
    from vr_exposure.renderer.backends.openxr import GlEyeBlitter

    patch = _grey_patch(showbase.render, 0.5)
    rt = FakeXrRuntime(gl_images=True, eye_size=(64, 48), formats=(fmt,))
    try:
        with xr_backend(showbase, rt, blitter=GlEyeBlitter(), capture_eyes=True) as (backend, rt, _ctx):
            frame(showbase, backend, 3)
            assert backend.swapchain_format == fmt
            for eye in backend._eyes:
                sc = rt.swapchains[eye.swapchain.swapchain]
                assert sc.last_released is not None
                img = rt.read_gl_image(sc.info.swapchain, sc.last_released)
                centre = img[16:32, 24:40, :3].astype(int)
                assert np.abs(centre - expected).max() <= 2, (fmt, centre.mean())
    finally:
        patch.removeNode()
