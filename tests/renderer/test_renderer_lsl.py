"""``vr-exposure renderer --lsl``: a renderer subprocess publishes its head pose as an LSL stream on
loopback (``LSLAPICFG`` pointing at :data:`~vr_exposure.lsl.LOOPBACK_CONFIG`); an inlet in a
child process finds it by type and name and receives 7-channel samples, at the display rate, with the
journal's head-pose values and times, under a source_id that names the session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vr_exposure.lsl import LOOPBACK_CONFIG, source_id

pytestmark = pytest.mark.renderer

CHILD = Path(__file__).with_name("lsl_inlet_child.py")
MIN_SAMPLES = 40


def _env(tmp_path: Path) -> dict[str, str]:
    cfg = tmp_path / "lsl_api.cfg"
    cfg.write_text(LOOPBACK_CONFIG)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XR_RUNTIME_JSON")}
    env["LSLAPICFG"] = str(cfg)
    env["PRC_DIR"] = str(tmp_path)
    return env


def test_lsl_publishes_the_journaled_head_pose_at_the_display_rate(tmp_path: Path) -> None:
    from vr_exposure import __version__
    from vr_exposure.journal import create_session, read_session
    from vr_exposure.renderer.backends import BackendOptions
    from vr_exposure.renderer.backends.offscreen import OffscreenBackend

    session = create_session(tmp_path / "sessions", pseudonym="P042", software_version=__version__)
    env = _env(tmp_path)
    command = [
        sys.executable, "-m", "vr_exposure.cli", "renderer", "--backend", "offscreen", "--lsl",
        "--bind", "tcp://127.0.0.1:*", "--size", "160x90", "--no-mirror", "--session-dir", str(session),
        # A bound in case the SIGTERM below never comes; the test ends it once the inlet has its samples.
        "--frames", "200000",
    ]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            line = proc.stdout.readline()
            assert line.startswith("READY"), line + (proc.stderr.read() if proc.poll() is not None else "")
            inlet = subprocess.run(
                [sys.executable, str(CHILD), str(MIN_SAMPLES), "15"],
                capture_output=True,
                text=True,
                timeout=25,
                env=env,
            )
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0, proc.stderr.read()[-3000:]
            stderr = proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert inlet.returncode == 0, inlet.stderr[-3000:]
    got = json.loads(inlet.stdout.strip().splitlines()[-1])
    assert got["found"], "no head-pose stream resolved; renderer stderr:\n" + stderr[-3000:]
    assert got["type"] == "MoCap" and got["channel_count"] == 7
    assert got["source_id"] == source_id(session.name, "head-pose")
    display_rate_hz = 1e9 / OffscreenBackend(BackendOptions(size=(160, 90))).frame_period_ns
    assert got["nominal_srate"] == pytest.approx(display_rate_hz, rel=1e-9)
    assert len(got["samples"]) >= MIN_SAMPLES
    assert all(len(sample) == 7 for sample in got["samples"])
    assert "LSL" not in stderr, stderr  # nothing failed on the way

    # Each sample is a journaled head pose, stamped with its journal time.
    journal = {
        r.content["t_mono_ns"]: [*r.content["position_m"], *r.content["orientation_xyzw"]]
        for r in read_session(session).by_type("head_pose")
    }
    times_ns = sorted(journal)
    for sample, stamp in zip(got["samples"], got["stamps"], strict=True):
        nearest = min(times_ns, key=lambda t: abs(t - stamp * 1e9))
        assert abs(nearest - stamp * 1e9) < 1e5, (stamp, nearest)
        assert sample == pytest.approx(journal[nearest], abs=1e-6)


class _FlakyBridge:
    """Stands in for an ``LslBridge`` (the real one is exercised above): records what the app pushes,
    and fails from the ``fail_at``-th push on, as an outlet whose liblsl broke would."""

    def __init__(self, fail_at: int | None) -> None:
        self.fail_at = fail_at
        self.pushed: list[tuple[int, tuple[float, ...], int | None]] = []
        self.closed = False

    def push_pose(
        self, t_mono_ns: int, position_m: Any, orientation_xyzw: Any, frame: int | None = None
    ) -> None:
        if self.fail_at is not None and len(self.pushed) >= self.fail_at:
            raise RuntimeError("simulated liblsl failure")
        self.pushed.append((t_mono_ns, (*position_m, *orientation_xyzw), frame))

    def close(self) -> None:
        self.closed = True


def test_a_failing_lsl_is_one_logged_line_and_frames_go_on(
    showbase: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    from vr_exposure import lsl
    from vr_exposure.link import messages as m
    from vr_exposure.renderer.app import LSL_NO_SESSION

    from .apphelpers import running_app

    made: list[tuple[str, float, _FlakyBridge]] = []

    def for_renderer(session_id: str, display_rate_hz: float) -> _FlakyBridge:
        bridge = _FlakyBridge(fail_at=None if not made else 3)
        made.append((session_id, display_rate_hz, bridge))
        return bridge

    monkeypatch.setattr(lsl.LslBridge, "for_renderer", staticmethod(for_renderer))
    journaled: list[tuple[int, tuple[float, ...], int]] = []
    with running_app(showbase, link=False, lsl=True) as app:
        original = app.telemetry.on_frame

        def spy(frame: int, now_ns: int, position_m: Any, orientation_xyzw: Any, **kwargs: Any) -> None:
            journaled.append((now_ns, (*position_m, *orientation_xyzw), frame))
            original(frame, now_ns, position_m, orientation_xyzw, **kwargs)

        app.telemetry.on_frame = spy  # type: ignore[method-assign]
        for _ in range(5):
            showbase.taskMgr.step()
        first = made[0][2]
        assert made[0][0] == LSL_NO_SESSION
        assert made[0][1] == pytest.approx(1e9 / app.backend.frame_period_ns)
        # What Telemetry journals as head_pose, value for value, frame for frame.
        assert first.pushed == journaled and len(journaled) == 5

        # A new session: the stream is rebuilt under the session's source_id.
        from vr_exposure import __version__
        from vr_exposure.journal import create_session

        session = create_session(tmp_path, pseudonym="P042", software_version=__version__)
        app.command(m.SetSessionRequest(session_id=session.name, session_dir=str(session)))
        assert first.closed and made[1][0] == session.name
        second = made[1][2]
        frame = app.frame
        with caplog.at_level("WARNING", logger="vr_exposure.renderer.app"):
            for _ in range(10):
                showbase.taskMgr.step()
        assert app.frame == frame + 10 and app.errors == 0
        assert len(second.pushed) == 3 and second.closed and app.lsl_bridge is None
        lines = [r for r in caplog.records if "LSL" in r.getMessage()]
        assert len(lines) == 1 and "simulated liblsl failure" in lines[0].getMessage()
