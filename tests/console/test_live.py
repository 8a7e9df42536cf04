"""The console window against a real renderer process (``vr-exposure renderer --backend offscreen``):
steering, the safe-place hotkey, lost contact and resync, headset ratings, and bad connections."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.auth
from PyQt6.QtCore import Qt, QTimer

from vr_exposure.console.bridge import LinkBridge
from vr_exposure.console.controller import ConsoleController
from vr_exposure.console.main_window import ConsoleWindow
from vr_exposure.core.loading import load_library
from vr_exposure.link import LinkClient, LinkServer, RendererState
from vr_exposure.link import messages as m
from vr_exposure.link.security import ClientCurve, ServerCurve
from vr_exposure.renderer.process import RendererProcess

# Every test here runs with all cores kept busy: steering must hold on a loaded clinic PC.
pytestmark = [pytest.mark.gui, pytest.mark.renderer, pytest.mark.slow, pytest.mark.usefixtures("busy_cores")]

SIZE = "320x180"


def _free_port_pair() -> int:
    """A port p with p and p + 1 both free on loopback (command and event endpoints)."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return int(port)
    raise RuntimeError("no two adjacent free ports")


@pytest.fixture(scope="module")
def library() -> Any:
    return load_library()


@pytest.fixture
def renderers() -> Iterator[Callable[..., RendererProcess]]:
    started: list[RendererProcess] = []

    def start(**kwargs: Any) -> RendererProcess:
        kwargs.setdefault("size", SIZE)
        proc = RendererProcess(**kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.cleanup()


class Console:
    """A console window wired to one renderer, as ``vr-exposure console`` builds it."""

    def __init__(self, make_widget: Any, library: Any, command: str, pub: str, **client_kwargs: Any) -> None:
        self.client = LinkClient(command, pub, **client_kwargs)
        self.controller = ConsoleController(self.client, library)
        self.bridge = LinkBridge(self.client, self.controller, unreachable_after_s=1.0)
        self.window: ConsoleWindow = make_widget(ConsoleWindow, self.controller, endpoint=command)
        self.window.show()

    def close(self) -> None:
        self.controller.close_session()
        self.bridge.close()
        self.client.close()
        # Drop every reference to the window so the leak check sees only what Qt itself still holds.
        self.controller.listeners.clear()
        self.window.close()
        self.window.deleteLater()
        del self.window


@pytest.fixture
def consoles(make_widget: Any, library: Any) -> Iterator[Callable[..., Console]]:
    made: list[Console] = []

    def make(command: str, pub: str, **kwargs: Any) -> Console:
        console = Console(make_widget, library, command, pub, **kwargs)
        made.append(console)
        return console

    yield make
    for console in made:
        console.close()


def _start_exposure(
    qtbot: Any, console: Console, protocol: str = "spiders-graded", scene: str = "spiders"
) -> Path:
    qtbot.waitUntil(lambda: console.bridge.state == "connected" and console.client.synced, timeout=20_000)
    w = console.window
    w.session_panel.pseudonym.setText("P042")
    w.select_protocol(protocol)
    qtbot.mouseClick(w.session_panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.session_panel.begin_button, Qt.MouseButton.LeftButton)
    c = console.controller
    assert c.session_dir is not None
    qtbot.waitUntil(
        lambda: c.renderer_state.scene == scene and c.renderer_state.mode == "running", timeout=20_000
    )
    return c.session_dir


def _snapshot(command: str, pub: str) -> RendererState:
    """The renderer's own state, asked by a second, independent link client."""
    with LinkClient(command, pub, telemetry=False, name="test-observer") as observer:
        reply = observer.request(m.SnapshotRequest(), timeout_s=2.0, retries=3)
    assert isinstance(reply, m.SnapshotReply) and reply.state is not None
    return reply.state


def _journal(session_dir: Path, process: str) -> list[dict[str, Any]]:
    path = session_dir / f"{process}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_slider_moves_the_renderers_intensity(qtbot, renderers, consoles):
    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    _start_exposure(qtbot, console)
    slider = console.window.intensity.slider
    slider.setSliderDown(True)
    for value in range(slider.value(), 64):
        slider.setValue(value)
    slider.setSliderDown(False)  # release: the final value goes with the full ramp
    c = console.controller
    qtbot.waitUntil(lambda: c.renderer_state.target_intensity == 63, timeout=30_000)
    state = _snapshot(renderer.command_endpoint, renderer.pub_endpoint)
    assert state.target_intensity == 63
    qtbot.waitUntil(
        lambda: _snapshot(renderer.command_endpoint, renderer.pub_endpoint).intensity == 63, timeout=30_000
    )
    assert c.engine is not None and c.engine.intensity == 63
    assert console.window.intensity.current_bar.value() == 63 or c.renderer_state.intensity <= 63


def test_a_link_blip_after_a_free_intensity_leaves_the_stimulus_where_the_therapist_put_it(
    qtbot, renderers, consoles
):
    """The fault seen on a loaded machine: right after a free intensity change the link went degraded
    and back, the console "resynced" to the rung's preset, and the patient's view jumped back to the
    preset's intensity while the console journal said the therapist's. A blip whose link never
    dropped is no reconnection; and a real reconnection keeps a free intensity free."""
    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    session_dir = _start_exposure(qtbot, console)
    c = console.controller
    assert c.protocol is not None
    c.apply_rung(1)
    qtbot.waitUntil(lambda: not c.pending and c.engine is not None and c.engine.rung == 1, timeout=20_000)
    c.set_intensity(63, 0.2)
    qtbot.waitUntil(lambda: not c.pending and c.renderer_state.target_intensity == 63, timeout=20_000)
    seen: list[str] = []
    c.subscribe(lambda ev: seen.append(ev["state"]) if ev.kind == "connection" else None)
    # The blip: the renderer's frame loop stalls (as on a starved machine) until the console calls the
    # link degraded, then runs on.
    os.kill(renderer.proc.pid, signal.SIGSTOP)
    try:
        qtbot.waitUntil(lambda: c.connection in ("degraded", "lost"), timeout=30_000)
    finally:
        os.kill(renderer.proc.pid, signal.SIGCONT)
    qtbot.waitUntil(lambda: c.connection == "connected", timeout=30_000)
    # A fact after the blip: before the fix, the first state change after "connected" was taken for
    # a reconnection snapshot and the preset was sent again.
    probe = c.prompt_suds()
    qtbot.waitUntil(lambda: c.renderer_state.suds_prompt == probe, timeout=20_000)
    qtbot.waitUntil(lambda: not c.pending, timeout=20_000)
    state = _snapshot(renderer.command_endpoint, renderer.pub_endpoint)
    assert (state.preset, state.target_intensity) == (None, 63), seen
    assert c.engine is not None and c.engine.intensity == 63
    rendered = _journal(session_dir, "renderer")
    steering = ("intensity_changed", "preset_applied")
    last_set = max(i for i, r in enumerate(rendered) if r["header"]["msg_type"] in steering)
    assert rendered[last_set]["header"]["msg_type"] == "intensity_changed"
    assert rendered[last_set]["content"]["target"] == 63
    for record in _journal(session_dir, "console"):
        if record["header"]["msg_type"] == "renderer_resynced":  # only after a real reconnection
            assert "lost" in seen and record["content"]["sent"].get("intensity") == 63, record


def test_safe_place_hotkey_works_with_a_command_in_flight(qtbot, renderers, consoles):
    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    session_dir = _start_exposure(qtbot, console)
    w, c = console.window, console.controller
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=20_000)
    # The therapist moves up a rung and slides the intensity, then at once hits F12: those commands
    # are still unanswered (in flight) and nothing waits for them.
    c.apply_rung(4)
    c.set_intensity(70, 5.0)
    assert {"apply_preset", "set_intensity"} <= {p.verb for p in c.pending.values()}
    qtbot.keyClick(w, Qt.Key.Key_F12)
    assert any(p.verb == "safe_place" for p in c.pending.values())  # sent at once, no event loop needed
    qtbot.waitUntil(lambda: c.renderer_state.mode == "safe_place", timeout=30_000)
    assert _snapshot(renderer.command_endpoint, renderer.pub_endpoint).mode == "safe_place"
    assert c.engine is not None and c.engine.state == "safe_place"
    types = [r["header"]["msg_type"] for r in _journal(session_dir, "console")]
    assert "safe_place_requested" in types and "safe_place_entered" in types
    # Esc works too, from a dialog: the SSQ form is open and focused.
    qtbot.mouseClick(w.leave_safe_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: c.renderer_state.mode == "running", timeout=30_000)
    form = w.open_ssq("before")
    qtbot.waitExposed(form)
    form.activateWindow()
    qtbot.keyClick(form, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: c.renderer_state.mode == "safe_place", timeout=30_000)
    form.close()


def test_a_road_accident_trigger_fires_on_its_key_and_is_in_both_journals(qtbot, renderers, consoles):
    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    session_dir = _start_exposure(qtbot, console, "road-accident-graded", "road-accident")
    w = console.window
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=20_000)
    qtbot.keyClick(w, Qt.Key.Key_T)  # the scene's key for "a lorry overtakes close"

    def fired(process: str, msg_type: str) -> bool:
        return any(
            r["header"]["msg_type"] == msg_type and r["content"].get("event") == "truck-overtakes"
            for r in _journal(session_dir, process)
        )

    qtbot.waitUntil(lambda: fired("console", "event_triggered"), timeout=30_000)
    qtbot.waitUntil(lambda: fired("renderer", "event_fired"), timeout=30_000)


def test_a_rung_refused_during_a_fade_leaves_journal_and_renderer_in_agreement(qtbot, renderers, consoles):
    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    session_dir = _start_exposure(qtbot, console)
    w, c = console.window, console.controller
    assert c.protocol is not None
    first, wanted = c.protocol.ladder[0].preset, c.protocol.ladder[3].preset
    qtbot.waitUntil(lambda: not c.pending, timeout=30_000)
    # A scene change (the same scene again) fades through black; the rung change right behind it
    # arrives during the fade and is refused.
    c.load_scene("spiders", preset=first)
    refused_id = c.apply_rung(3)
    qtbot.waitUntil(w.refusal.isVisible, timeout=30_000)
    assert w.refusal.text() == (
        "the renderer refused the rung change: a scene change is fading through black — try again in a moment"
    )
    assert c.engine is not None and c.engine.rung == 0
    assert w.rungs.current_rung == 0 and w.rungs.rung_list.currentRow() == 0
    assert _snapshot(renderer.command_endpoint, renderer.pub_endpoint).preset == first
    console_log = _journal(session_dir, "console")
    assert [r["content"]["rung"] for r in console_log if r["msg_type"] == "rung_changed"] == [0]
    (failed,) = [r for r in console_log if r["msg_type"] == "command_failed"]
    assert failed["parent_header"]["msg_id"] == refused_id

    # The therapist clicks "Try again" (again if the fade is still under way) until the renderer takes it.
    for _ in range(20):
        qtbot.mouseClick(w.refusal.retry_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not c.pending, timeout=30_000)
        if c.engine.rung == 3:
            break
        assert w.refusal.isVisible() and c.engine.rung == 0
        qtbot.wait(250)
    assert c.engine.rung == 3 and w.rungs.current_rung == 3 and not w.refusal.isVisible()
    qtbot.waitUntil(
        lambda: _snapshot(renderer.command_endpoint, renderer.pub_endpoint).preset == wanted, timeout=30_000
    )

    # The two journals agree: each rung the console recorded after the first is a preset the renderer
    # applied, for the same request, and nothing the renderer refused is recorded as a rung.
    def parents(process: str, msg_type: str) -> list[str | None]:
        records = [r for r in _journal(session_dir, process) if r["msg_type"] == msg_type]
        return [(r["parent_header"] or {}).get("msg_id") for r in records]

    qtbot.waitUntil(lambda: len(parents("renderer", "preset_applied")) == 1, timeout=30_000)
    assert parents("console", "rung_changed")[1:] == parents("renderer", "preset_applied")
    refused = set(parents("console", "command_failed"))
    assert refused_id in refused and not refused & set(parents("renderer", "preset_applied"))


def test_lost_renderer_shows_the_banner_and_the_session_resyncs_after_restart(qtbot, renderers, consoles):
    port = _free_port_pair()
    bind = f"tcp://127.0.0.1:{port}"
    renderer = renderers(patient=False, bind=bind)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    session_dir = _start_exposure(qtbot, console)
    w, c = console.window, console.controller
    assert c.protocol is not None
    c.apply_rung(3)
    c.set_intensity(41, 0.5)
    qtbot.waitUntil(lambda: c.renderer_state.target_intensity == 41, timeout=30_000)
    qtbot.waitUntil(lambda: not c.pending, timeout=30_000)  # both accepted, so both in the session
    assert c.engine is not None and (c.engine.rung, c.engine.intensity) == (3, 41)
    os.kill(renderer.proc.pid, signal.SIGKILL)
    renderer.proc.wait(timeout=10)
    killed_at = time.monotonic()
    lost_after_s = console.client.liveness.lost_after_s
    qtbot.waitUntil(lambda: w.banner.level == "lost", timeout=int((lost_after_s + 3) * 1000))
    assert time.monotonic() - killed_at <= lost_after_s + 3
    assert w.banner.alarming
    assert w.banner.text().startswith("No contact with the headset for ")
    assert w.banner.text().endswith("s — reconnecting")
    # The banner keeps counting while nothing arrives.
    first = w.banner.text()
    qtbot.waitUntil(lambda: w.banner.text() != first, timeout=20_000)

    restarted = renderers(patient=False, bind=bind)
    qtbot.waitUntil(lambda: not w.banner.alarming, timeout=20_000)

    def in_sync() -> bool:
        # The therapist set 41 after the rung's preset: the restarted renderer shows that free
        # intensity (no preset), not the preset's own.
        st = _snapshot(restarted.command_endpoint, restarted.pub_endpoint)
        return (st.session_id, st.scene, st.preset, st.target_intensity) == (
            session_dir.name,
            "spiders",
            None,
            41,
        )

    qtbot.waitUntil(in_sync, timeout=20_000)
    types = [r["header"]["msg_type"] for r in _journal(session_dir, "console")]
    assert "renderer_restarted" in types
    states = [
        r["content"]["state"]
        for r in _journal(session_dir, "console")
        if r["header"]["msg_type"] == "link_status"
    ]
    assert "lost" in states and states[-1] == "connected"
    # What the console did to the patient's view by itself is in the log the therapist reads.
    assert any("set back to what the session recorded" in text for _t, text in w.renderer_log.entries)
    assert "resync" in [label for _t, label in w.timeline.marks]


def test_a_rating_in_the_headset_reaches_the_plot_and_the_journal(qtbot, renderers, consoles):
    renderer = renderers(patient=True)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    session_dir = _start_exposure(qtbot, console)
    w, c = console.window, console.controller
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=20_000)
    qtbot.keyClick(w, Qt.Key.Key_F5)  # ask now: the prompt appears in the headset
    qtbot.waitUntil(lambda: c.renderer_state.suds_prompt is not None, timeout=30_000)
    renderer.press("7")  # the patient answers 70 on the keyboard in VR
    qtbot.waitUntil(lambda: len(w.timeline.suds) == 1, timeout=30_000)
    t, v = w.timeline.suds.view()
    assert v.tolist() == [70.0]

    def plotted() -> bool:
        ys = w.timeline._suds_curve.getData()[1]
        on_plot = w.timeline._suds_curve in w.timeline.getPlotItem().items
        return on_plot and ys is not None and list(ys) == [70.0]

    qtbot.waitUntil(plotted, timeout=20_000)
    console_ratings = [
        r for r in _journal(session_dir, "console") if r["header"]["msg_type"] == "suds_recorded"
    ]
    assert len(console_ratings) == 1
    assert console_ratings[0]["content"]["rating"]["source"] == "patient-in-vr"
    assert console_ratings[0]["content"]["rating"]["value"] == 70
    qtbot.waitUntil(
        lambda: any(r["header"]["msg_type"] == "rating_recorded" for r in _journal(session_dir, "renderer")),
        timeout=30_000,
    )
    # The mirror shows what the patient sees.
    qtbot.waitUntil(lambda: w.mirror.frames_shown >= 2, timeout=30_000)


# -- bad connections ------------------------------------------------------------------------------------


class _ThreadedServer:
    """A real LinkServer pumped by a thread (standing in for a renderer with other keys or versions)."""

    def __init__(self, **kwargs: Any) -> None:
        self.server = LinkServer(
            "tcp://127.0.0.1:*",
            "tcp://127.0.0.1:*",
            handler=lambda req: None,
            snapshot=lambda: RendererState(),
            **kwargs,
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.server.wait(5)
            self.server.pump()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close()


def _responsive(qtbot: Any) -> None:
    """The GUI thread is not blocked: a zero-delay timer fires promptly."""
    fired: list[bool] = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: fired == [True], timeout=500)


def test_unreachable_endpoint_says_so_without_hanging(qtbot, consoles):
    port = _free_port_pair()
    console = consoles(f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port + 1}")
    w = console.window
    qtbot.waitUntil(lambda: w.banner.level == "error", timeout=20_000)
    assert f"Cannot reach the renderer at tcp://127.0.0.1:{port}" in w.banner.text()
    _responsive(qtbot)
    # Commands fail with a message instead of hanging.
    w.trigger_safe_place()
    _responsive(qtbot)
    qtbot.waitUntil(lambda: any("safe place" in e for e in w.errors), timeout=30_000)


def test_wrong_key_says_so_without_hanging(qtbot, consoles, tmp_path):
    keys = tmp_path / "keys"
    (keys / "allowed").mkdir(parents=True)
    renderer_pub, renderer_secret = zmq.auth.create_certificates(str(keys), "renderer")
    console_pub, console_secret = zmq.auth.create_certificates(str(keys), "console")
    stranger_pub, stranger_secret = zmq.auth.create_certificates(str(keys), "stranger")
    Path(console_pub).rename(keys / "allowed" / "console.key")
    server = _ThreadedServer(curve=ServerCurve.from_files(renderer_secret, keys / "allowed"))
    try:
        # The stranger's key is not on the renderer's allow-list.
        curve = ClientCurve.from_files(stranger_secret, renderer_pub)
        console = consoles(server.server.command_endpoint, server.server.pub_endpoint, curve=curve)
        w = console.window
        qtbot.waitUntil(lambda: w.banner.level == "error", timeout=30_000)
        assert "refused this console's key" in w.banner.text()
        _responsive(qtbot)
        assert console.bridge.state == "error"
    finally:
        server.close()


def test_other_protocol_version_says_so_without_hanging(qtbot, consoles):
    server = _ThreadedServer(protocol_version="3.0")
    try:
        console = consoles(server.server.command_endpoint, server.server.pub_endpoint)
        w = console.window
        qtbot.waitUntil(lambda: w.banner.level == "error", timeout=30_000)
        assert "protocol 3.0" in w.banner.text() and "2." in w.banner.text()
        _responsive(qtbot)
    finally:
        server.close()


def test_every_click_lands_while_the_link_flaps(qtbot, renderers, consoles):
    """The therapist's session on a loaded machine: the renderer's frame loop stalls on a schedule
    (SIGSTOP / SIGCONT), the link flaps between connected and degraded, and the banner with it. Each
    click on safe place, leave safe place and pause, at the place the control had before the first
    stall, reaches that control, and the renderer ends where the clicks took it."""
    from .test_pressure import guarded_controls, lands_on, places

    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    session_dir = _start_exposure(qtbot, console)
    w, c = console.window, console.controller
    seen: list[str] = []
    c.subscribe(lambda ev: seen.append(ev["state"]) if ev.kind == "connection" else None)
    before = places(w)

    def click(name: str) -> None:
        centre, size = before[name]
        control = guarded_controls(w)[name]
        assert places(w)[name] == (centre, size), f"{name} moved (banner {w.banner.level})"
        assert lands_on(w, centre, control), f"a click at {name} misses it (banner {w.banner.level})"
        assert control.isEnabled(), name
        qtbot.mouseClick(control, Qt.MouseButton.LeftButton, pos=control.mapFrom(w, centre))

    def stall() -> None:
        os.kill(renderer.proc.pid, signal.SIGSTOP)
        qtbot.waitUntil(lambda: c.connection in ("degraded", "lost") and w.banner.alarming, timeout=30_000)

    def run_on() -> None:
        os.kill(renderer.proc.pid, signal.SIGCONT)
        qtbot.waitUntil(lambda: c.connection == "connected" and not w.banner.alarming, timeout=30_000)

    try:
        for _cycle in range(2):
            stall()
            click("safe place")  # while the banner is up
            run_on()
            qtbot.waitUntil(lambda: c.renderer_state.mode == "safe_place", timeout=20_000)
            stall()
            click("leave safe place")  # the click the issue saw lost three times
            run_on()
            qtbot.waitUntil(lambda: c.renderer_state.mode == "running", timeout=20_000)
        stall()
        click("pause")
        run_on()
        qtbot.waitUntil(lambda: c.renderer_state.mode == "paused", timeout=20_000)
    finally:
        os.kill(renderer.proc.pid, signal.SIGCONT)
    assert seen.count("degraded") + seen.count("lost") >= 5, seen
    types = [r["header"]["msg_type"] for r in _journal(session_dir, "console")]
    assert types.count("safe_place_requested") == 2
    assert types.count("leave_safe_place_requested") == 2
    assert _snapshot(renderer.command_endpoint, renderer.pub_endpoint).mode == "paused"
    # The frame-rate strip judged the renderer's own frame timing against its display's rate.
    qtbot.waitUntil(lambda: w.comfort.verdict is not None, timeout=20_000)
    verdict = w.comfort.verdict
    assert verdict is not None and verdict.headset_hz == pytest.approx(90, abs=0.5)
    assert w.comfort.level == verdict.level and w.comfort.label.text() == verdict.text


def test_safe_place_against_a_renderer_expires_refusals_and_sets_the_return_intensity(
    qtbot, renderers, consoles
):
    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    _start_exposure(qtbot, console)
    w, c = console.window, console.controller
    # An event refused (the scene is paused): the refusal bar offers "Try again".
    c.pause()
    qtbot.waitUntil(lambda: c.renderer_state.mode == "paused", timeout=20_000)
    name = next(iter(w.events.buttons))
    qtbot.mouseClick(w.events.buttons[name], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(w.refusal.isVisible, timeout=20_000)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_F12)
    qtbot.waitUntil(lambda: c.renderer_state.mode == "safe_place", timeout=20_000)
    assert not w.refusal.isVisible() and not c.refused
    assert w.mode_label.text().startswith("SAFE PLACE  ")
    assert not any(b.isEnabled() for b in w.events.buttons.values())
    # The slider sets the intensity the scene comes back at.
    c.set_intensity(42, 0.5)
    qtbot.waitUntil(lambda: c.renderer_state.return_intensity == 42, timeout=20_000)
    qtbot.waitUntil(lambda: w.intensity.readout.text() == "on return: 42", timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: c.renderer_state.mode == "running", timeout=20_000)
    assert not w.refusal.isVisible()
    assert all(b.isEnabled() for b in w.events.buttons.values())
    qtbot.waitUntil(lambda: c.renderer_state.target_intensity == 42, timeout=20_000)


def test_guarded_actions_against_a_renderer(qtbot, renderers, consoles):
    """A SUDS key waits with Undo, the SSQ after leaves the mirror free while the exposure runs, End
    session asks first, and the journal holds what was really decided."""
    from PyQt6.QtCore import QPoint, QRect

    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    session_dir = _start_exposure(qtbot, console)
    w, c = console.window, console.controller
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_7)
    qtbot.keyClick(w, Qt.Key.Key_Backspace)
    qtbot.keyClick(w, Qt.Key.Key_5)
    assert c.engine is not None
    qtbot.waitUntil(lambda: c.engine is not None and len(c.engine.ratings) == 1, timeout=20_000)
    assert c.engine.ratings[0].value == 50
    qtbot.waitUntil(lambda: w.mirror.frames_shown > 0, timeout=30_000)
    form = w.open_ssq("after", [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    qtbot.waitExposed(form)
    mirror = QRect(w.mirror.mapToGlobal(QPoint(0, 0)), w.mirror.size())
    assert not form.frameGeometry().intersects(mirror)
    form.accept()
    assert w.session_panel.ssq_after_button.text().startswith("SSQ after ✓")
    qtbot.mouseClick(w.session_panel.end_button, Qt.MouseButton.LeftButton)
    assert c.active and w.end_confirm is not None
    end = next(b for b in w.end_confirm.buttons() if b.text() == "End session")
    qtbot.mouseClick(end, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not c.active, timeout=10_000)
    qtbot.waitUntil(lambda: c.renderer_state.mode == "safe_place", timeout=20_000)
    types = [r["header"]["msg_type"] for r in _journal(session_dir, "console")]
    assert types.count("suds_recorded") == 1 and types.count("session_summary") == 1
    w.summary_box.close()


def test_gaze_and_the_enlarged_mirror_against_a_renderer(qtbot, renderers, consoles):
    """Rung 3 (a spider in a jar, far): the renderer's head pose and stimulus positions reach the
    console, which says whether the jar is in the patient's view, the same as the shared measure;
    the enlarged mirror keeps showing pictures."""
    from vr_exposure.core.viewing import nearest_stimulus_angle_deg

    renderer = renderers(patient=False)
    console = consoles(renderer.command_endpoint, renderer.pub_endpoint)
    _start_exposure(qtbot, console)
    w, c = console.window, console.controller
    c.apply_rung(2)
    qtbot.waitUntil(lambda: c.engine is not None and c.engine.rung == 2, timeout=20_000)
    poses: list[m.HeadPose] = []
    stimuli: list[m.StimulusPositions] = []
    c.subscribe(lambda ev: poses.append(ev["pose"]) if ev.kind == "head_pose" else None)
    c.subscribe(lambda ev: stimuli.append(ev["positions"]) if ev.kind == "stimulus_positions" else None)
    qtbot.waitUntil(lambda: bool(poses) and any(s.stimuli for s in stimuli), timeout=30_000)
    status = w.gaze.status()
    assert status.level in ("in-view", "away", "warn"), status
    expected = nearest_stimulus_angle_deg(
        poses[-1].position_m, poses[-1].orientation_xyzw, [s.position_m for s in stimuli[-1].stimuli]
    )
    assert status.angle_deg == pytest.approx(expected)
    qtbot.waitUntil(lambda: w.gaze_label.text().startswith(("●", "○")), timeout=5000)
    assert w.mirror.gaze.isVisible()
    # Enlarged: the pictures keep coming, bigger.
    qtbot.waitUntil(lambda: w.mirror.frames_shown > 0, timeout=30_000)
    qtbot.mouseClick(w.mirror.enlarge_button, Qt.MouseButton.LeftButton)
    assert w.mirror.detached
    shown = w.mirror.frames_shown
    qtbot.waitUntil(lambda: w.mirror.frames_shown >= shown + 3, timeout=30_000)
    pixmap = w.mirror.picture.pixmap()
    assert pixmap is not None and pixmap.width() > 320
    w.mirror.dock()
    assert not w.mirror.detached
