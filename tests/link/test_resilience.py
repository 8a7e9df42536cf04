"""Kill, restart and freeze either peer (real subprocesses, SIGKILL/SIGSTOP) and check what the
console reports, that it resyncs to the renderer's true state, and that no command applies twice."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from vr_exposure.core.clock import SystemClock
from vr_exposure.errors import LinkError
from vr_exposure.link import LinkClient, Message
from vr_exposure.link import messages as m

from .fake_renderer import ThreadedRenderer

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_S = 0.1
LOST_AFTER_S = (3 + 0.5) * HEARTBEAT_S

# Run with every core kept busy: the link must hold on a loaded machine (tests/loadhelpers.py).
pytestmark = pytest.mark.usefixtures("busy_cores")


class Child:
    """A fake renderer or console subprocess whose JSON stdout lines are read by a thread."""

    def __init__(self, module: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"tests.link.{module}", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def expect(self, predicate: Any, timeout_s: float = 10.0) -> dict[str, Any]:
        end = time.monotonic() + timeout_s
        while (remaining := end - time.monotonic()) > 0:
            try:
                record = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if predicate(record):
                return record
        raise AssertionError(f"{self.proc.args}: expected line not seen in {timeout_s} s")

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self._reader.join(timeout=5)
            self.proc.stdout.close()


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        if child.proc.poll() is None:
            child.signal(signal.SIGCONT)
        child.kill()


def _renderer(
    children: list[Child], log: Path, *, ports: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    args = ["--applied-log", str(log), "--link-timeout-s", str(kw.get("link_timeout_s", 1.0))]
    if ports:
        args += ["--command", ports["command"], "--pub", ports["pub"]]
    if "intensity" in kw:
        args += ["--intensity", str(kw["intensity"])]
    child = Child("fake_renderer", *args)
    children.append(child)
    endpoints = child.expect(lambda r: True)
    assert "error" not in endpoints, endpoints
    endpoints["child"] = child
    return endpoints


def _applied(log: Path) -> Counter[str]:
    return Counter(log.read_text().split()) if log.exists() else Counter()


def _client(endpoints: dict[str, Any], events: list[tuple[str, str]], **kw: Any) -> LinkClient:
    return LinkClient(
        endpoints["command"],
        endpoints["pub"],
        heartbeat_interval_s=HEARTBEAT_S,
        timeout_s=0.3,
        retries=3,
        on_connection=lambda e, d: events.append((e, d)),
        **kw,
    )


def test_renderer_killed_and_restarted(children: list[Child], tmp_path: Path) -> None:
    log = tmp_path / "applied.log"
    ren = _renderer(children, log)
    events: list[tuple[str, str]] = []
    failed: list[tuple[str, LinkError]] = []
    with _client(ren, events, on_request_failed=lambda i, c, e: failed.append((i, e))) as client:
        assert client.wait_until(lambda: client.synced, 10)
        client.request(m.SetIntensityRequest(intensity=30))
        assert client.wait_until(lambda: client.state is not None and client.state.target_intensity == 30, 5)

        ren["child"].kill()
        killed = time.monotonic()
        assert client.wait_until(lambda: client.connection == "lost", 5)
        assert time.monotonic() - killed < LOST_AFTER_S + 2.0  # liveness window + slack for a loaded CI
        assert [e for e, _ in events][-2:] == ["degraded", "lost"]

        # While the renderer is gone a command fails loudly after its retries...
        with pytest.raises(
            LinkError, match=r"renderer did not answer set_intensity after 3 tries \(0\.9 s\)"
        ):
            client.request(m.SetIntensityRequest(intensity=60))
        # ...and one sent asynchronously that is still retrying when a new renderer appears is
        # refused by it (it cannot know whether the old one applied it).
        replies: list[Message] = []
        client.on_reply = replies.append
        pending = client.send(m.LoadSceneRequest(scene="spiders"), timeout_s=1.0, retries=5)

        ren2 = _renderer(children, log, ports=ren, intensity=77)
        assert client.wait_until(lambda: client.synced and client.state is not None, 10)
        assert client.state is not None and client.state.intensity == 77  # the new renderer's truth
        assert "reconnected" in [e for e, _ in events]
        assert client.wait_until(lambda: bool(replies) or bool(failed), 10)
        if replies:
            assert replies[0].parent_header is not None and replies[0].parent_header.msg_id == pending
            assert replies[0].content.ename == "RendererRestarted"  # type: ignore[attr-defined]
        assert client.request(m.PauseRequest()).ok
        ren2["child"].kill()

    applied = _applied(log)
    assert applied and set(applied.values()) == {1}
    assert pending not in applied
    assert len(applied) == 2  # set_intensity 30 on the first renderer, pause on the second


def test_console_killed_and_restarted(children: list[Child], tmp_path: Path) -> None:
    log = tmp_path / "applied.log"
    ren = _renderer(children, log, link_timeout_s=1.0)
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    watcher = ctx.socket(zmq.SUB)
    watcher.linger = 0
    watcher.setsockopt(zmq.SUBSCRIBE, b"event")
    watcher.connect(ren["pub"])
    try:
        console = Child("fake_console", "--command", ren["command"], "--pub", ren["pub"], "--intensity", "45")
        children.append(console)
        assert console.expect(lambda r: r["kind"] == "reply")["ok"] is True
        console.kill()
        killed = time.monotonic()
        seen: list[bytes] = []
        while time.monotonic() - killed < 5 and not any(b"link_lost" in f for f in seen):
            if watcher.poll(100):
                seen.extend(watcher.recv_multipart())
        assert any(b"link_lost" in f for f in seen), "the renderer never reported the console as lost"
        assert time.monotonic() - killed < 1.0 + 2.5  # link timeout + slack for a loaded CI

        events: list[tuple[str, str]] = []
        with _client(ren, events) as client:
            assert client.wait_until(lambda: client.synced and client.state is not None, 10)
            state = client.state
            assert state is not None
            assert state.intensity == 45  # what the killed console set
            assert state.mode == "safe_place"  # what the renderer did when it lost the console
            assert client.wait_until(lambda: client.state is not None and client.state.link == "ok", 5)
    finally:
        watcher.close()
        ctx.term()
    assert list(_applied(log).values()) == [1]


def test_both_killed_console_restarted_first(children: list[Child], tmp_path: Path) -> None:
    log = tmp_path / "applied.log"
    ren = _renderer(children, log)
    console = Child("fake_console", "--command", ren["command"], "--pub", ren["pub"], "--intensity", "50")
    children.append(console)
    assert console.expect(lambda r: r["kind"] == "reply")["ok"] is True
    ren["child"].kill()
    console.kill()
    console2 = Child("fake_console", "--command", ren["command"], "--pub", ren["pub"])
    children.append(console2)
    _renderer(children, log, ports=ren, intensity=12)
    console2.expect(lambda r: r["kind"] == "connection" and r["event"] == "connected")
    console2.expect(lambda r: r["kind"] == "state" and r["state"]["intensity"] == 12)
    assert list(_applied(log).values()) == [1]


def test_frozen_renderer_reads_as_lost_and_late_commands_are_not_applied(
    children: list[Child], tmp_path: Path
) -> None:
    log = tmp_path / "applied.log"
    ren = _renderer(children, log)
    events: list[tuple[str, str]] = []
    with _client(ren, events) as client:
        assert client.wait_until(lambda: client.synced and client.clock_offset is not None, 10)
        ren["child"].signal(signal.SIGSTOP)  # alive, but its loop no longer runs
        with pytest.raises(LinkError, match="did not answer trigger_event after 3 tries"):
            client.request(m.TriggerEventRequest(event="spider-drop"))
        assert client.connection == "lost"
        ren["child"].signal(signal.SIGCONT)
        assert client.wait_until(lambda: client.connection == "connected" and client.synced, 10)
        assert "reconnected" in [e for e, _ in events]
        assert client.state is not None and client.state.active_events == ()
        assert client.request(m.PauseRequest()).ok
        ren["child"].signal(signal.SIGTERM)
        counters = ren["child"].expect(lambda r: "counters" in r)["counters"]
    # The trigger sat in the frozen renderer's socket buffer; when the loop resumed it was read
    # after its deadline, and refused rather than applied behind the console's back.
    assert counters["expired"] >= 1
    assert counters["applied"] == 1 and list(_applied(log).values()) == [1]


def test_frozen_console_reads_as_lost_on_the_renderer() -> None:
    renderer = ThreadedRenderer(link_timeout_s=0.5)
    try:
        with LinkClient(
            renderer.server.command_endpoint, renderer.server.pub_endpoint, heartbeat_interval_s=0.1
        ) as c:
            assert c.wait_until(lambda: c.synced, 5)
            assert renderer.server.link_state == "ok"
            time.sleep(0.8)  # the console's loop is "frozen": no poll, so no heartbeats
            assert renderer.server.link_state == "lost"
            assert renderer.fake.state.mode == "safe_place"
            assert c.wait_until(
                lambda: c.state is not None and c.state.link == "ok" and c.state.mode == "safe_place", 5
            )
            assert renderer.server.link_state == "ok"
    finally:
        renderer.close()


class _ShiftedClock(SystemClock):
    def monotonic_ns(self) -> int:
        return super().monotonic_ns() - 10_000_000_000


def test_clock_offset_from_heartbeats() -> None:
    renderer = ThreadedRenderer()
    try:
        with LinkClient(
            renderer.server.command_endpoint,
            renderer.server.pub_endpoint,
            heartbeat_interval_s=0.05,
            clock=_ShiftedClock(),
        ) as c:
            assert c.wait_until(lambda: len(c.clock_sync.samples) >= 5, 5)
            offset = c.clock_offset
            assert offset is not None
            offset_ns, uncertainty_ns = offset
            # the console's clock is 10 s behind the renderer's
            assert abs(offset_ns - 10_000_000_000) <= uncertainty_ns + 1_000_000
            assert 0 <= uncertainty_ns < 50_000_000
    finally:
        renderer.close()
