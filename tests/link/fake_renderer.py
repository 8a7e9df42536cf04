"""A stand-in renderer for the link tests: the real LinkServer around a tiny state machine.

Run in a thread (:class:`ThreadedRenderer`) or as a subprocess (``python -m tests.link.fake_renderer``,
which prints its endpoints as one JSON line and appends every applied msg_id to ``--applied-log``
so a test can count applications across kills and restarts)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from vr_exposure.errors import LinkError
from vr_exposure.link import CommandRejected, LinkServer, RendererState
from vr_exposure.link import messages as m


class FakeRenderer:
    """Applies commands to a RendererState and publishes the facts, like the real renderer."""

    def __init__(self, server_kwargs: dict[str, Any], applied_log: Path | None = None) -> None:
        self.state = RendererState(backend="fake", link="waiting")
        self.applied: Counter[str] = Counter()
        self.order: list[str] = []
        self.applied_log = applied_log.open("a", encoding="utf-8") if applied_log else None
        self.server = LinkServer(
            handler=self.handle,
            snapshot=lambda: self.state,
            on_link_lost=self._on_lost,
            on_link_restored=self._on_restored,
            **server_kwargs,
        )

    def _set(self, **changes: Any) -> None:
        self.state = msgspec.structs.replace(self.state, **changes)

    def _on_lost(self, silence_s: float) -> None:
        self._set(link="lost", mode="safe_place")

    def _on_restored(self, silence_s: float) -> None:
        self._set(link="ok")

    def handle(self, req: m.Request) -> Any:
        msg = self.server.current_message
        assert msg is not None
        self.applied[msg.msg_id] += 1
        self.order.append(req.msg_type)
        if self.applied_log is not None:
            self.applied_log.write(msg.msg_id + "\n")
            self.applied_log.flush()

        def pub(fact: m.Content) -> int:
            return self.server.publish(fact, parent=msg.header)

        if isinstance(req, m.SetIntensityRequest):
            pub(m.IntensityChanged(intensity=self.state.intensity, target=req.intensity, ramp_s=req.ramp_s))
            self._set(intensity=req.intensity, target_intensity=req.intensity, preset=None)
        elif isinstance(req, m.ApplyPresetRequest):
            self._set(preset=req.preset, intensity=5.0, target_intensity=5.0)
            pub(m.PresetApplied(preset=req.preset, intensity=5.0, ramp_s=req.ramp_s))
        elif isinstance(req, m.SetSessionRequest):
            self.server.session_id = req.session_id
            self._set(session_id=req.session_id)
            pub(m.SessionSet(session_id=req.session_id, session_dir=req.session_dir))
        elif isinstance(req, m.LeaveSafePlaceRequest):
            self._set(mode="running")
            pub(m.SafePlaceLeft())
        elif isinstance(req, m.LoadSceneRequest):
            if req.scene == "missing":
                raise CommandRejected("UnknownScene", f"no scene called {req.scene!r}")
            self._set(scene=req.scene, preset=req.preset, intensity=req.intensity or 0.0, mode="running")
            pub(m.SceneLoaded(scene=req.scene, preset=req.preset, intensity=self.state.intensity))
        elif isinstance(req, m.TriggerEventRequest):
            if req.event == "boom":
                raise RuntimeError("the event handler exploded")
            self._set(active_events=(*self.state.active_events, req.event))
            pub(m.EventFired(event=req.event))
        elif isinstance(req, m.PauseRequest):
            self._set(mode="paused")
            pub(m.Paused())
        elif isinstance(req, m.SafePlaceRequest):
            self._set(mode="safe_place")
            pub(m.SafePlaceEntered(fade_s=req.fade_s or 0.0))
        elif isinstance(req, m.StopRequest):
            self._set(mode="stopped")
            pub(m.Stopped(reason=req.reason))
        return None

    def step(self) -> None:
        self.server.pump()

    def close(self) -> None:
        self.server.close()
        if self.applied_log is not None:
            self.applied_log.close()


class ThreadedRenderer:
    """A FakeRenderer pumped by a thread, as a frame loop would; ``frozen`` stops the pumping."""

    def __init__(self, **server_kwargs: Any) -> None:
        server_kwargs.setdefault("command_endpoint", "tcp://127.0.0.1:*")
        server_kwargs.setdefault("pub_endpoint", "tcp://127.0.0.1:*")
        self.fake = FakeRenderer(server_kwargs)
        self.server = self.fake.server
        self.frozen = threading.Event()
        self._stop = threading.Event()
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.frozen.is_set():
                time.sleep(0.005)
                continue
            # Wait with the lock free: a lock is not fair, and a test thread that takes it to
            # change the renderer would otherwise wait while this loop takes it again and again,
            # its console unpolled and so hearing nothing (only this thread uses the socket).
            self.server.wait(2)
            with self.lock:
                self.fake.step()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.fake.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--command", default="tcp://127.0.0.1:*")
    parser.add_argument("--pub", default="tcp://127.0.0.1:*")
    parser.add_argument("--applied-log", type=Path)
    parser.add_argument("--link-timeout-s", type=float, default=1.0)
    parser.add_argument("--intensity", type=float, default=0.0)
    args = parser.parse_args()
    stop = False

    def _term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _term)
    try:
        fake = FakeRenderer(
            {
                "command_endpoint": args.command,
                "pub_endpoint": args.pub,
                "link_timeout_s": args.link_timeout_s,
            },
            args.applied_log,
        )
    except LinkError as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        return 1
    fake._set(intensity=args.intensity, target_intensity=args.intensity)
    print(json.dumps({"command": fake.server.command_endpoint, "pub": fake.server.pub_endpoint}), flush=True)
    deadline = time.monotonic() + 120  # never outlive a test run
    while not stop and time.monotonic() < deadline:
        fake.server.wait(5)
        fake.step()
    print(json.dumps({"counters": fake.server.counters}), flush=True)
    fake.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
