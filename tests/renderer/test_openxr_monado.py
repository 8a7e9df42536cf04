"""The OpenXR backend against a real runtime (Monado with its null compositor, simulated or remote
head), each run in a subprocess: a runtime and Panda3D's window belong to one process.

Skipped where ``XR_RUNTIME_JSON`` is unset (as in CI). With Monado, the tests switch on its
``remote`` driver (``P_OVERRIDE_ACTIVE_CONFIG=remote``, a random loopback port in a private
``config_v0.json``) and the null compositor (``XRT_COMPOSITOR_NULL=1``), then move the head and
press buttons through it (:mod:`tests.renderer.monado_remote`). Another runtime runs the same checks
except those that need the remote driver.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vr_exposure.renderer.backends.xr_seam import GL_RGBA8, GL_SRGB8_ALPHA8

RUNTIME_JSON = os.environ.get("XR_RUNTIME_JSON")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.openxr,
    pytest.mark.skipif(
        not RUNTIME_JSON,
        reason="no OpenXR runtime: set XR_RUNTIME_JSON to a runtime manifest (e.g. a Monado build) to run",
    ),
]

CRASH_MARKS = ("Segmentation fault", "core dumped", "Aborted", "Traceback (most recent call last)")


def _is_monado() -> bool:
    try:
        manifest = json.loads(Path(RUNTIME_JSON or "").read_text())
    except (OSError, ValueError):
        return False
    runtime = manifest.get("runtime", {})
    return "monado" in (str(runtime.get("name", "")) + str(runtime.get("library_path", ""))).lower()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def xr_env(tmp_path: Path) -> tuple[dict[str, str], int | None]:
    """The subprocess environment, and Monado's remote-driver port (None for another runtime)."""
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env["PYTHONPATH"] = str(ROOT)
    port = None
    if _is_monado():
        port = _free_port()
        config = tmp_path / "xdg-config"
        (config / "monado").mkdir(parents=True)
        (config / "monado" / "config_v0.json").write_text(
            json.dumps({"remote": {"version": 0, "port": port, "view_count": 2}})
        )
        env["XDG_CONFIG_HOME"] = str(config)
        env["P_OVERRIDE_ACTIVE_CONFIG"] = "remote"
        env.setdefault("XRT_COMPOSITOR_NULL", "1")
    return env, port


def _check_clean_exit(proc: subprocess.CompletedProcess[str] | subprocess.Popen[str], stderr: str) -> None:
    tail = "\n".join(stderr.splitlines()[-30:])
    assert proc.returncode == 0, f"exit {proc.returncode}\n{tail}"
    for mark in CRASH_MARKS:
        assert mark not in stderr, f"{mark!r} in the runtime's output\n{tail}"


def _blobs(img: np.ndarray) -> dict[str, np.ndarray]:
    rgb = img[..., :3].astype(int)
    return {
        "red": (rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60),
        "green": (rgb[..., 1] > 200) & (rgb[..., 0] < 60) & (rgb[..., 2] < 60),
        "blue": (rgb[..., 2] > 200) & (rgb[..., 0] < 60) & (rgb[..., 1] < 60),
    }


@pytest.mark.parametrize("gl", ["egl", "glx"])
def test_backend_renders_both_eyes_follows_the_head_and_exits_cleanly(
    tmp_path: Path, xr_env: tuple[dict[str, str], int | None], gl: str
) -> None:
    """EGL: Panda3D headless, the session bound through XR_MNDX_egl_enable. GLX: on an X display
    (a virtual one from xvfb-run), bound through XR_KHR_opengl_enable's Xlib binding."""
    env, port = xr_env
    out = tmp_path / "probe.json"
    cmd = [sys.executable, "-m", "tests.renderer.openxr_probe", str(out), "--frames", "120"]
    if gl == "glx":
        xvfb_run = shutil.which("xvfb-run")
        if xvfb_run is None:
            pytest.skip("the GLX binding needs an X display: install xvfb (xvfb-run)")
        cmd = [xvfb_run, "-a", "-s", "-screen 0 1024x768x24", *cmd, "--glx"]
    if port is not None:
        cmd += ["--remote-port", str(port)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    _check_clean_exit(proc, proc.stderr)
    r: dict[str, Any] = json.loads(out.read_text())
    assert r["gl_pipe"] == f"{gl}GraphicsPipe"

    # >= 100 frames in an OpenGL session, submitted with both eyes.
    assert r["frames_submitted"] >= 100
    assert r["swapchain_format"] in (GL_SRGB8_ALPHA8, GL_RGBA8)
    assert r["states"][:5] == ["IDLE", "READY", "SYNCHRONIZED", "VISIBLE", "FOCUSED"]
    assert r["states"][-1] == "STOPPING", "shutdown walked the session through STOPPING"
    assert not r["exit_requested"]

    # Each eye's swapchain image holds the scene: the red wall, the green block left of the blue one.
    eyes = np.load(tmp_path / "eyes_ahead.npz")
    left, right = eyes["left"], eyes["right"]
    for img in (left, right):
        assert img[..., :3].std() > 10, "not blank"
        b = _blobs(img)
        assert b["red"].mean() > 0.2 and b["green"].mean() > 0.005 and b["blue"].mean() > 0.005
        assert np.nonzero(b["green"])[1].mean() < np.nonzero(b["blue"])[1].mean()
    assert np.abs(left.astype(int) - right.astype(int)).mean() > 0.5, "the eyes differ"
    # Parallax: the near blocks sit further right in the left eye than in the right eye.
    for colour in ("green", "blue"):
        xl = np.nonzero(_blobs(left)[colour])[1].mean()
        xr = np.nonzero(_blobs(right)[colour])[1].mean()
        assert xl > xr + 1, (colour, xl, xr)

    if port is None:
        return
    # A head pose sent through the remote driver moves the head and both eye cameras: OpenXR
    # (0.5, 1.5, -0.4) turned 90 degrees left = Panda3D (0.5, 0.4, 1.5) facing -X.
    assert r["head_moved_within_frames"]
    after = r["after"]
    assert after["head_position_m"] == pytest.approx([0.5, 0.4, 1.5], abs=1e-4)
    assert after["head_h_deg"] == pytest.approx(90, abs=0.1)
    assert after["left_camera_h_deg"] == pytest.approx(90, abs=0.1)
    ipd = r["before"]["right_camera_pos"][0] - r["before"]["left_camera_pos"][0]
    assert 0.05 < ipd < 0.08
    assert after["left_camera_pos"] == pytest.approx([0.5, 0.4 - ipd / 2, 1.5], abs=1e-3)
    assert after["right_camera_pos"] == pytest.approx([0.5, 0.4 + ipd / 2, 1.5], abs=1e-3)
    # The patient's controller: safe place, then a SUDS of 20 chosen with the stick.
    assert r["actions"] == [
        {"kind": "safe_place", "value": None, "source": "controller"},
        {"kind": "suds", "value": 20, "source": "controller"},
    ]


def test_renderer_command_runs_120_frames_and_journals_the_head(
    tmp_path: Path, xr_env: tuple[dict[str, str], int | None]
) -> None:
    """``vr-exposure renderer --backend openxr --frames 120``: the whole app in a headset session."""
    from vr_exposure.journal import create_session, read_session

    env, port = xr_env
    session = create_session(tmp_path / "sessions", pseudonym="P001", software_version="test")
    cmd = [
        sys.executable, "-m", "vr_exposure.cli", "renderer", "--backend", "openxr", "--frames", "120",
        "--bind", "tcp://127.0.0.1:*", "--scene", "spiders", "--size", "320x240",
        "--session-dir", str(session), "--no-mirror",
    ]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    remote = None
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        if not ready.startswith("READY "):
            _out, err = proc.communicate(timeout=60)
            pytest.fail(f"no READY line (exit {proc.returncode}):\n" + "\n".join(err.splitlines()[-15:]))
        assert "backend=openxr" in ready, ready
        if port is not None:
            from tests.renderer.monado_remote import MonadoRemote

            remote = MonadoRemote(port)
            s = 2**-0.5
            remote.set_head((0.5, 1.5, -0.4), (0.0, s, 0.0, s))
        _out, err = proc.communicate(timeout=280)
    finally:
        if remote is not None:
            remote.close()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    elapsed_s = time.monotonic() - t0
    _check_clean_exit(proc, err)

    log = read_session(session)
    poses = [r.content for r in log.by_type("head_pose")]
    assert len(poses) >= 100, f"{len(poses)} head poses journaled in {elapsed_s:.1f} s"
    first = poses[0]["position_m"]
    assert first[2] > 0.5, "the head is at eye height, not on the floor"
    if port is not None:
        last = poses[-1]
        assert last["position_m"] == pytest.approx([0.5, 0.4, 1.5], abs=1e-3)
        x, y, z, w = last["orientation_xyzw"]
        assert (abs(z), abs(w)) == pytest.approx((2**-0.5, 2**-0.5), abs=1e-3), "turned 90 degrees about up"
        assert x == pytest.approx(0, abs=1e-3) and y == pytest.approx(0, abs=1e-3)


def test_every_controller_profile_is_accepted_the_prompt_pulses_and_mid_grey_is_srgb(
    xr_env: tuple[dict[str, str], int | None],
) -> None:
    """Each profile of ``xr_bindings.PROFILES`` suggested to the runtime, which rejects a path it does
    not know (XR_ERROR_PATH_UNSUPPORTED), then a haptic pulse once the session is focused."""
    from vr_exposure.renderer.backends.xr_bindings import PROFILES

    env, _port = xr_env
    cmd = [sys.executable, "-m", "tests.renderer.openxr_bindings_probe"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    _check_clean_exit(proc, proc.stderr)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["state"] == "FOCUSED"
    assert r["haptic_error"] is None
    bindings: dict[str, str | None] = r["bindings"]
    assert set(bindings) == {p.path for p in PROFILES}
    quest_pro = "/interaction_profiles/facebook/touch_controller_pro"
    refused = {path: why for path, why in bindings.items() if why is not None}
    if _is_monado():
        # Monado offers XR_FB_touch_controller_pro but checks for "XR_XR_FB_touch_controller_pro"
        # (its bindings.json names the extension with the prefix the others leave out), so it rejects
        # the profile whatever the paths; every other profile must be accepted.
        refused.pop(quest_pro, None)
    assert refused == {}, refused
    # Colour: the runtime's sRGB swapchain is chosen, and a 50 % grey patch filling both eyes reads
    # back at about 188/255 (half the white's light, sRGB-encoded).
    assert r["swapchain_format"] == GL_SRGB8_ALPHA8
    assert len(r["grey"]) == 2
    for rgb in r["grey"]:
        assert rgb == pytest.approx([188, 188, 188], abs=2)


def test_per_eye_views_recenter_and_a_recreated_session_on_the_runtime(
    xr_env: tuple[dict[str, str], int | None],
) -> None:
    """Monado's remote driver gives each eye its own asymmetric field of view and a pose turned
    outwards or inwards; each eye lens maps its frustum's edges to the edges of the image, and each
    eye camera sits and turns as its view says. Then the console's recenter, and a session lost (the
    backend's own loss path: Monado reports no loss from outside) and re-created."""
    env, port = xr_env
    if port is None:
        pytest.skip("setting per-eye views needs Monado's remote driver")
    from tests.renderer.openxr_views_probe import VIEWS

    cmd = [sys.executable, "-m", "tests.renderer.openxr_views_probe", str(port)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    _check_clean_exit(proc, proc.stderr)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["arrived"], "the views set through the remote driver never reached the eye lenses"
    for name, (fov, pos, yaw) in VIEWS.items():
        eye = r["eyes"][name]
        assert eye["received_fov"] == pytest.approx(list(fov), abs=1e-4)
        e = eye["edges"]
        assert e["left"][0] == pytest.approx(-1.0, abs=1e-3) and e["right"][0] == pytest.approx(1.0, abs=1e-3)
        assert e["up"][1] == pytest.approx(1.0, abs=1e-3) and e["down"][1] == pytest.approx(-1.0, abs=1e-3)
        # OpenXR (x, y, z) in the head = Panda3D (x, -z, y); a turn about OpenXR's +Y is a heading.
        assert eye["pos_in_head"] == pytest.approx([pos[0], -pos[2], pos[1]], abs=1e-4)
        assert eye["h_in_head_deg"] == pytest.approx(math.degrees(yaw), abs=0.05)
    # The console's recenter, with the head 0.4 m right and 0.3 m ahead, turned 30 degrees left: the
    # head then sits at the origin (height as tracked) looking forward, and the notice says how far.
    rc = r["recenter"]
    assert rc["before"] == pytest.approx([0.4, 0.3, 1.5], abs=1e-3)
    assert rc["after"] == pytest.approx([0.0, 0.0, 1.5], abs=1e-3)
    assert rc["after_h_deg"] == pytest.approx(0.0, abs=0.05)
    assert rc["yaw_deg"] == pytest.approx(-30.0, abs=0.05)
    assert rc["offset_m"] == pytest.approx([0.4, 0.3, 0.0], abs=1e-3)
    # A lost session: every XR object destroyed, then a new instance and session from the runtime in
    # the same process, walked up to FOCUSED, frames reaching the headset again.
    rec = r["recreated"]
    assert rec["sessions_created"] == 2 and rec["lost_reason"] is None
    assert rec["states_after"][:5] == ["IDLE", "READY", "SYNCHRONIZED", "VISIBLE", "FOCUSED"]
    assert rec["frames_after"] > 0
    assert rec["notices"] == [
        ["headset", "worn"],
        ["headset", "lost"],
        ["headset", "off"],
        ["headset", "worn"],
    ]
