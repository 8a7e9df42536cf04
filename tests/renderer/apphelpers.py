"""Helpers for renderer app tests: an app on the shared offscreen ShowBase, and a console-side
LinkClient stepped in lock-step with the frame loop (one thread: the renderer's tasks and the client
take turns, so every wait is a bounded number of frames, never a sleep)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from vr_exposure.link import LinkClient
from vr_exposure.link.codec import Message
from vr_exposure.link.messages import Reply, Request, Telemetry
from vr_exposure.renderer.app import App, default_stage_factory
from vr_exposure.renderer.backends import BackendOptions
from vr_exposure.renderer.backends.offscreen import OffscreenBackend

LOOPBACK_ANY = "tcp://127.0.0.1:*"


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
