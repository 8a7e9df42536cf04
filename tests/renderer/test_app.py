"""The renderer app on the shared offscreen ShowBase: frame order, a command visible in the next
rendered frame, telemetry over the SUB socket, the overlay, and a render loop that survives errors."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

import vr_exposure.renderer.app as app_module
from tests.renderer.apphelpers import Console, diff, running_app, screenshot
from vr_exposure.link import messages as m
from vr_exposure.renderer.app import TASK_SORTS

pytestmark = pytest.mark.renderer


def test_tasks_run_in_the_documented_frame_order(showbase: Any) -> None:
    with running_app(showbase, link=False) as app:
        tasks = {t.name: t for t in showbase.taskMgr.getAllTasks()}
        sorts = {name: tasks[name].getSort() for name in TASK_SORTS}
        assert sorts == TASK_SORTS
        ig = tasks["igLoop"].getSort()
        assert sorts["vr-exposure-xr"] < sorts["vr-exposure-link"] < sorts["vr-exposure-stimuli"] < ig
        # Telemetry samples what the frame is about to show, after the animation and intervals.
        ival = tasks["ivalLoop"].getSort()
        assert ival < sorts["vr-exposure-telemetry"] < ig < sorts["vr-exposure-present"]
        for name, sort in TASK_SORTS.items():
            assert f"{sort}  {name}" in (app_module.__doc__ or ""), "the docstring documents the order"
        frame = app.frame
        showbase.taskMgr.step()
        assert app.frame == frame + 1
    names = {t.name for t in showbase.taskMgr.getAllTasks()}
    assert not names & set(TASK_SORTS), "close() removes the app's tasks"


def test_camera_rig_is_named_and_the_camera_goes_back_on_close(showbase: Any) -> None:
    parent = showbase.camera.getParent()
    with running_app(showbase, link=False) as app:
        for name in ("tracking-space", "head", "left-eye", "right-eye"):
            assert not app.render.find(f"**/{name}").isEmpty(), name
        assert showbase.camera.getParent() == app.rig.head
        assert app.rig.right_eye.getX() - app.rig.left_eye.getX() == pytest.approx(0.063)
    assert showbase.camera.getParent() == parent


def test_set_intensity_over_the_link_is_visible_in_the_next_frame(showbase: Any) -> None:
    with running_app(showbase) as app, Console(showbase, app) as con:
        con.connect()
        assert con.request(m.LoadSceneRequest(scene="spiders", intensity=0)).status == "ok"
        con.step_until(lambda: app.settled, max_frames=3000, what="the scene faded in")
        con.step(2)
        before_prev = screenshot(showbase)
        con.step()
        before = screenshot(showbase)
        msg_id = con.send(m.SetIntensityRequest(intensity=100, ramp_s=0))
        showbase.taskMgr.step()  # exactly one frame
        after = screenshot(showbase)
        assert app.stage.intensity == 100
        noise = diff(before, before_prev)
        change = diff(after, before)
        assert change > 3 * noise + 0.5, (change, noise)
        assert con.reply(msg_id).status == "ok"


def test_telemetry_head_pose_frame_timing_and_mirror_arrive_on_sub(showbase: Any) -> None:
    from PIL import Image

    with running_app(showbase) as app, Console(showbase, app) as con:
        con.connect()
        assert con.request(m.LoadSceneRequest(scene="spiders", intensity=50)).status == "ok"

        def received(kind: str) -> list[Any]:
            return [e for e in con.events if e.content.msg_type == kind]

        con.step_until(lambda: app.settled, max_frames=3000, what="the scene faded in")
        settled_at = app.frame
        con.step_until(
            lambda: (
                received("frame_timing")
                and sum(e.content.frame > settled_at for e in received("view_image")) >= 2
            ),
            max_frames=5000,
        )
        poses = received("head_pose")
        seqs = [p.header.seq for p in poses]
        assert len(poses) >= 5 and seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        frames = [p.content.frame for p in poses]
        assert frames == sorted(frames)
        pose = poses[-1].content
        assert len(pose.position_m) == 3 and len(pose.orientation_xyzw) == 4
        assert pose.position_m[2] > 0.5, "the head is at eye height"
        assert np.linalg.norm(pose.orientation_xyzw) == pytest.approx(1.0, abs=1e-3)
        timing = received("frame_timing")[0].content
        assert timing.frames > 0 and timing.median_ms > 0 and timing.p99_ms >= timing.median_ms
        assert 0.9 < timing.window_s < 3.0
        assert timing.display_period_ms == pytest.approx(1000 / 90, abs=0.01)  # the offscreen "display"
        for event in received("view_image"):
            image = event.content
            decoded = Image.open(io.BytesIO(image.jpeg))
            assert decoded.format == "JPEG"
            assert decoded.size == (image.width, image.height)
            assert 300 <= image.width <= 330
            if image.frame > settled_at:
                assert np.asarray(decoded).std() > 5.0, "the mirror shows the scene, not a blank"


def test_head_pose_follows_the_look_keys(showbase: Any) -> None:
    with running_app(showbase, link=False) as app:
        showbase.taskMgr.step()
        assert app.frame_info is not None
        q0 = app.frame_info.head_pose.orientation_xyzw
        app.backend.set_look(45.0, 10.0)  # type: ignore[attr-defined]
        showbase.taskMgr.step()
        q1 = app.frame_info.head_pose.orientation_xyzw
        assert q0 != q1
        assert app.rig.head.getH() == pytest.approx(45.0)


def test_a_failing_stage_update_is_counted_and_frames_continue(showbase: Any) -> None:
    with running_app(showbase, link=False) as app:
        original = app.stage.update
        calls = {"n": 0}

        def broken(dt_s: float) -> None:
            calls["n"] += 1
            raise RuntimeError("simulated builder bug")

        app.stage.update = broken  # type: ignore[method-assign]
        frame = app.frame
        for _ in range(5):
            showbase.taskMgr.step()
        assert app.frame == frame + 5
        assert app.errors == 5 and calls["n"] == 5
        app.stage.update = original  # type: ignore[method-assign]


def test_overlay_is_on_screen_in_mono_and_world_locked_in_stereo(showbase: Any) -> None:
    with running_app(showbase, link=False) as app:
        assert not app.overlay.world_locked
        assert app.overlay.root.getParent() == app.aspect2d
        showbase.taskMgr.step()
        blank = screenshot(showbase)
        app.command(m.SudsPromptRequest(probe_id="p", scale_max=100))
        showbase.taskMgr.step()
        assert diff(screenshot(showbase), blank) > 0.5, "the prompt is drawn"
    with running_app(showbase, link=False, stereo=True) as app:
        assert app.overlay.world_locked
        assert len(app.backend.cameras) == 2  # type: ignore[attr-defined]
        app.backend.set_look(90.0, 0.0)  # type: ignore[attr-defined]
        showbase.taskMgr.step()
        app.command(m.SudsPromptRequest(probe_id="q", scale_max=100))
        prompt = app.overlay.prompt
        rel = prompt.getPos(app.rig.head)
        assert rel.y == pytest.approx(1.4, abs=0.05) and abs(rel.x) < 0.05, "in front of the head"
        showbase.taskMgr.step()
        img = screenshot(showbase)
        left, right = img[:, : img.shape[1] // 2], img[:, img.shape[1] // 2 :]
        assert left.std() > 1 and right.std() > 1, "both eyes render"
    assert showbase.camNode.isActive(), "stereo gives the default camera back on close"


def test_stereo_offscreen_frames_keep_updating(showbase: Any) -> None:
    """Side-by-side stereo switches off the default camera's display region, not the camera: with the
    camera switched off Panda3D stops redrawing an offscreen window, and screenshots go stale."""
    with running_app(showbase, link=False, stereo=True) as app:
        app.command(m.LoadSceneRequest(scene="spiders", intensity=0))
        _until_settled(showbase, app)
        before = screenshot(showbase)
        app.command(m.SetIntensityRequest(intensity=100, ramp_s=0))
        for _ in range(2):
            showbase.taskMgr.step()
        after = screenshot(showbase)
        assert diff(after, before) > 2.0, "the next frames show the new view"
        for half in (slice(0, after.shape[1] // 2), slice(after.shape[1] // 2, None)):
            assert diff(after[:, half], before[:, half]) > 2.0, "both eyes redraw"
        assert showbase.camNode.isActive(), "the camera itself stays on"
        mono = [
            showbase.win.getDisplayRegion(i)
            for i in range(showbase.win.getNumDisplayRegions())
            if showbase.win.getDisplayRegion(i).getCamera() == showbase.cam
        ]
        assert mono and not any(r.isActive() for r in mono), "no third, mono render"
    assert all(r.isActive() for r in mono), "the default camera's region is back after close"


def test_offscreen_frames_are_finished_each_frame_after_the_render(
    showbase: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing swaps an offscreen buffer, so nothing would wait for its frames: the present task
    (after Panda3D's render, outside the app's own measured work) waits for each one."""
    from vr_exposure.renderer.app import WORK_TASKS
    from vr_exposure.renderer.backends import offscreen

    assert offscreen._gl_finish_function() is not None, "glFinish is found on this machine"
    offscreen.gl_finish()  # harmless with the context current
    with running_app(showbase, link=False) as app:
        finished: list[int] = []
        monkeypatch.setattr(offscreen, "gl_finish", lambda: finished.append(app.frame))
        first = app.frame
        for _ in range(3):
            showbase.taskMgr.step()
        assert finished == [first, first + 1, first + 2], "once per frame, before the frame counts as done"
        tasks = {t.name: t.getSort() for t in showbase.taskMgr.getAllTasks()}
        assert tasks["vr-exposure-present"] > tasks["igLoop"]
        assert "vr-exposure-present" not in WORK_TASKS


def test_scene_changes_leave_no_shadow_buffers_behind(showbase: Any) -> None:
    """Each scene's sun renders a shadow map into its own buffer; a scene change (the safe place and
    back included) must take the old one away, or every change adds a buffer still drawing the old
    scene each frame and frames grow slower through a session."""
    engine = showbase.graphicsEngine
    before = engine.getNumWindows()
    with running_app(showbase, link=False) as app:
        counts = []
        for scene in ("spiders", "safe-place", "spiders"):
            app.command(m.LoadSceneRequest(scene=scene))
            _until_settled(showbase, app)
            assert app.stage.scene_id == scene
            counts.append(engine.getNumWindows())
        app.command(m.SafePlaceRequest(fade_s=0))
        _until_settled(showbase, app)
        app.command(m.LeaveSafePlaceRequest(fade_s=0))
        _until_settled(showbase, app)
        counts.append(engine.getNumWindows())
        assert counts == [before + 1] * 4, counts
    showbase.taskMgr.step()
    assert engine.getNumWindows() == before


def _until_settled(showbase: Any, app: Any, max_frames: int = 3000) -> None:
    """Step until a scene change (fade out, swap, fade in) is over; bounded."""
    for _ in range(max_frames):
        showbase.taskMgr.step()
        if not app.stage.transitioning and app.stage.fade_level >= 1.0:
            return
    raise AssertionError(f"still changing scene after {max_frames} frames")
