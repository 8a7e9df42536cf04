"""Helpers for renderer app tests: an app on the shared offscreen ShowBase, and a console-side
LinkClient stepped in lock-step with the frame loop (one thread: the renderer's tasks and the client
take turns, so every wait is a bounded number of frames, never a sleep); for scene tests, a stage
with a small view whose depth buffer is read back in metres (:class:`DepthView`) and the headless
demo run on a protocol (:func:`run_demo`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from panda3d.core import GraphicsOutput, NodePath, Texture

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library
from vr_exposure.journal import SessionLog, read_session
from vr_exposure.link import LinkClient
from vr_exposure.link.codec import Message
from vr_exposure.link.messages import Reply, Request, Telemetry
from vr_exposure.renderer.app import App, default_stage_factory
from vr_exposure.renderer.backends import BackendOptions
from vr_exposure.renderer.backends.offscreen import OffscreenBackend
from vr_exposure.renderer.builders import contracts
from vr_exposure.renderer.stage import Stage
from vr_exposure.renderer.still import OffscreenView

LOOPBACK_ANY = "tcp://127.0.0.1:*"
ROOT = Path(__file__).resolve().parents[2]


def library() -> Any:
    """The checkout's content library, checked against the builders' contracts."""
    return load_library([ROOT / "scenes"], [ROOT / "protocols"], contracts=contracts())


@contextmanager
def running_app(showbase: Any, *, link: bool = True, **kwargs: Any) -> Iterator[App]:
    size = (showbase.win.getXSize(), showbase.win.getYSize())
    backend = OffscreenBackend(BackendOptions(size=size, stereo=kwargs.pop("stereo", False)))
    if link:
        kwargs.setdefault("command_endpoint", LOOPBACK_ANY)
        kwargs.setdefault("pub_endpoint", LOOPBACK_ANY)
    kwargs.setdefault("stage_factory", default_stage_factory)
    app = App.on_showbase(showbase, backend, **kwargs)
    try:
        yield app
    finally:
        app.close()


def screenshot(showbase: Any) -> np.ndarray:
    """The last rendered frame as (height, width, 3) uint8, top row first."""
    tex = showbase.win.getScreenshot()
    assert tex is not None, "no frame rendered yet"
    w, h, c = tex.getXSize(), tex.getYSize(), tex.getNumComponents()
    raw = np.frombuffer(tex.getRamImageAs("RGB"), dtype=np.uint8)
    assert raw.size == w * h * 3, (w, h, c, raw.size)
    return raw.reshape(h, w, 3)[::-1].copy()


def diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference per channel, 0-255."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


class Console:
    """A LinkClient driven from the test: ``send`` a request, then ``step`` frames until its reply."""

    def __init__(self, showbase: Any, app: App, **kwargs: Any) -> None:
        self.showbase = showbase
        self.app = app
        self.replies: dict[str, Message] = {}
        self.events: list[Message] = []
        self.client = LinkClient(
            app.link.command_endpoint,
            app.link.pub_endpoint,
            on_event=self.events.append,
            on_reply=lambda msg: self.replies.__setitem__(msg.parent_header.msg_id, msg),
            timeout_s=kwargs.pop("timeout_s", 5.0),
            **kwargs,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Console:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def step(self, frames: int = 1) -> None:
        for _ in range(frames):
            self.showbase.taskMgr.step()
            self.client.poll(0)

    def step_until(self, predicate: Callable[[], bool], max_frames: int = 600, what: str = "") -> None:
        for _ in range(max_frames):
            if predicate():
                return
            self.step()
            # Give the sockets a moment (bounded) so a frame-fast loop does not outrun loopback TCP.
            self.client.poll(2)
        assert predicate(), f"not within {max_frames} frames: {what}"

    def connect(self) -> Console:
        self.step_until(lambda: self.client.synced, what="console synced with the renderer")
        return self

    def send(self, request: Request) -> str:
        """Queue a request and make sure it is waiting at the renderer, so that the NEXT frame's
        link task applies it."""
        msg_id = self.client.send(request)
        assert self.app.link.wait(2000), "the request did not reach the renderer"
        return msg_id

    def reply(self, msg_id: str, max_frames: int = 200) -> Reply:
        self.step_until(lambda: msg_id in self.replies, max_frames, what=f"reply to {msg_id}")
        content = self.replies[msg_id].content
        assert isinstance(content, Reply)
        return content

    def request(self, request: Request) -> Reply:
        return self.reply(self.send(request))

    def facts(self, msg_type: str | None = None) -> list[Any]:
        return [m.content for m in self.events if msg_type is None or m.content.msg_type == msg_type]

    def fact_types(self) -> list[str]:
        return [m.content.msg_type for m in self.events if not isinstance(m.content, Telemetry)]


# -- scene tests: rendered depth -----------------------------------------------------------------


def _depth_dtype(tex: Texture) -> Any:
    return {
        Texture.T_float: np.float32,
        Texture.T_unsigned_int: np.uint32,
        Texture.T_unsigned_short: np.uint16,
        Texture.T_unsigned_int_24_8: np.uint32,
    }[tex.getComponentType()]


class DepthView:
    """A stage with scene ``scene_id`` and a small view (``size``, 90 degrees wide) on the shared
    ShowBase whose depth buffer is read back as metres along the view axis (inf where nothing was
    drawn, the sky). ``near_m`` / ``far_m`` set the depth range: a near plane well away from zero
    keeps 24-bit depth precise far out."""

    def __init__(
        self, base: Any, scene_id: str, *, size: tuple[int, int], near_m: float, far_m: float
    ) -> None:
        self.spec = library().scene(scene_id)
        self.size = size
        self.near_m, self.far_m = near_m, far_m
        self.top = NodePath(f"{scene_id}-depth-test")
        self.stage = Stage(self.top, clock=FakeClock(), rng_seed=4, shadow_size_px=0)
        self.view = OffscreenView(
            self.top, size=size, fov_deg=90.0, engine=base.graphicsEngine, pipe=base.pipe, host=base.win
        )
        self.view.lens.setNearFar(near_m, far_m)
        self.depth = Texture("depth")
        self.view.buffer.addRenderTexture(self.depth, GraphicsOutput.RTM_copy_ram, GraphicsOutput.RTP_depth)

    def load(self, intensity: float | None = None, preset: str | None = None, frames: int = 6) -> None:
        """Show the scene at ``intensity`` or ``preset`` and let it settle ``frames`` steps of 1/30 s."""
        self.stage.load(self.spec, preset=preset, intensity=intensity)
        for _ in range(frames):
            self.stage.update(1 / 30)

    def look(self, heading_deg: float, pitch_deg: float) -> np.ndarray:
        """Metres to whatever each pixel shows (rows top first), from the seated patient's eyes."""
        self.view.look_from((0.0, 0.0, self.stage.eye_height_m), (heading_deg, pitch_deg, 0.0))
        self.view.render()
        w, h = self.size
        raw = np.frombuffer(bytes(self.depth.getRamImage()), dtype=_depth_dtype(self.depth))
        d = raw.reshape(self.depth.getYSize(), self.depth.getXSize())[::-1][:h, :w].astype(float)
        if self.depth.getComponentType() != Texture.T_float:
            d = d / float(np.iinfo(raw.dtype).max)
        near, far = self.near_m, self.far_m
        with np.errstate(divide="ignore"):
            metres = near * far / (far - d * (far - near))
        metres[d >= 0.999999] = np.inf  # the sky dome writes no depth
        return metres  # type: ignore[no-any-return]

    def close(self) -> None:
        self.stage.destroy()
        self.view.close()
        self.top.removeNode()


# -- scene tests: the headless demo --------------------------------------------------------------


def run_demo(protocol: str, sessions: Path, minutes: float) -> SessionLog:
    """Run ``vr-exposure demo --protocol PROTOCOL --headless`` in a subprocess (no display) and read
    back the session it wrote under ``sessions``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "demo",
            "--protocol",
            protocol,
            "--minutes",
            f"{minutes:g}",
            "--headless",
            "--quiet",
            "--sessions",
            str(sessions),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    match = re.search(r"^session directory: (.+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    return read_session(Path(match.group(1)))


def assert_demo_climbed(log: SessionLog, scene_id: str, protocol: str) -> None:
    """The simulated patient's session: the renderer loaded ``scene_id``, the console recorded SUDS,
    the therapist moved up at least one rung and fired only the scene's own events."""
    loaded = [r.content["scene"] for r in log.by_type("scene_loaded") if r.process == "renderer"]
    assert scene_id in loaded, loaded
    assert [r for r in log.by_type("suds_recorded") if r.process == "console"], "no SUDS rating recorded"
    assert log.by_type("rung_changed"), "the therapist never moved up the ladder"
    fired = {r.content["event"] for r in log.by_type("event_fired")}
    assert fired <= set(library().scene(scene_id).events), fired
    assert log.manifest is not None and log.manifest.protocol == protocol
