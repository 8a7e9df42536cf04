"""``vr-exposure demo``: a whole simulated session, the project's main job end to end.

It starts a real renderer (a subprocess: a window when there is a display, offscreen when there is none)
and the console (its window with a display; its Qt-free controller without), then drives the
``spiders-graded`` protocol in compressed time:

- a **simulated patient** (:class:`vr_exposure.core.simulated_patient.SimulatedPatient`: SUDS rise with
  intensity and habituate with exposure) answers every SUDS prompt *from the headset side*: it presses
  the renderer's patient keys (0-9 for 0-90, h for 100), exactly as a patient at the keyboard would, so
  each rating reaches the console as the renderer's ``rating_recorded`` fact;
- a **scripted therapist** does the SSQ before, begins the exposure, accepts the engine's advice (the
  only way the rung moves), nudges the intensity once, fires the scene's events, takes the patient to
  the safe place once and back, does the SSQ after and ends the session. When the renderer refuses an
  action (a new rung during a fade through black), it does what the console window offers: "Try
  again" (:meth:`ConsoleController.retry`) a moment later.

``--minutes N`` maps the protocol's 60 minutes onto N minutes of wall time (default 2): probes come every
protocol minute (every 2 s by default) instead of every 5, and the rung time cap shrinks with the rest.
At the end the renderer is shut down (closing its journal), the console journal is closed, the session
directory sealed, and its path printed with the SUDS summary per rung.

The patient's key presses travel to the renderer subprocess over its stdin: the renderer is started as
``python -m vr_exposure.demo --patient-renderer RENDERER-ARGS``, which is ``vr-exposure renderer`` plus a
task that turns ``key K`` lines into the Panda3D key events the patient's keyboard would send.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import msgspec

from vr_exposure.console.cli import add_physio_option, open_physio
from vr_exposure.console.controller import display_path

PROTOCOL_ID = "spiders-graded"
PSEUDONYM = "DEMO01"
SSQ_BEFORE = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
SSQ_AFTER = [1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
READY_TIMEOUT_S = 90.0
#: The scripted therapist tries a refused action again after this long, at most this many times.
RETRY_AFTER_S = 1.5
MAX_RETRIES = 5


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--minutes",
        type=float,
        default=2.0,
        metavar="N",
        help="wall-clock length of the compressed 60-minute protocol (default 2; e.g. 0.5 for a quick run)",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no windows even with a display (without one the demo is always headless): offscreen "
        "renderer, the console without its window, progress printed",
    )
    parser.add_argument(
        "--sessions",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the session directory goes (default: $VR_EXPOSURE_SESSIONS or the user data dir)",
    )
    parser.add_argument("--seed", type=int, default=7, help="the simulated patient's random seed")
    parser.add_argument("--pseudonym", default=PSEUDONYM, help=f"the patient pseudonym (default {PSEUDONYM})")
    parser.add_argument(
        "--quiet", action="store_true", help="no progress: print only the session directory and SUDS table"
    )
    parser.add_argument(
        "--lsl",
        action="store_true",
        help="publish the session's markers, SUDS and intensity as Lab Streaming Layer streams",
    )
    add_physio_option(parser)


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# ---------------------------------------------------------------------------------------------------
# The renderer subprocess


class RendererProcess:
    """A renderer subprocess with a patient at its keyboard (``press(key)``)."""

    def __init__(
        self,
        *,
        backend: str = "offscreen",
        size: str = "640x360",
        bind: str = "tcp://127.0.0.1:*",
        extra: list[str] | None = None,
        patient: bool = True,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.log_file = tempfile.NamedTemporaryFile(
            prefix="vr-exposure-renderer-", suffix=".log", delete=False
        )
        # Without a patient this is exactly ``vr-exposure renderer``; with one, the same plus the keyboard.
        head = ["vr_exposure.demo", "--patient-renderer"] if patient else ["vr_exposure.cli", "renderer"]
        args = [
            sys.executable,
            "-m",
            *head,
            "--backend",
            backend,
            "--bind",
            bind,
            "--size",
            size,
            *(extra or []),
        ]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log_file, text=True, bufsize=1
        )
        self.command_endpoint = ""
        self.pub_endpoint = ""
        lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout

        def read() -> None:
            for line in stdout:
                lines.put(line)
            lines.put(None)

        self._reader = threading.Thread(target=read, name="renderer-stdout", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + ready_timeout_s
        while not self.command_endpoint:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise RuntimeError(
                    f"the renderer did not start within {ready_timeout_s:.0f} s:\n{self.log_tail()}"
                )
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                raise RuntimeError(f"the renderer exited with {self.proc.returncode}:\n{self.log_tail()}")
            if line.startswith("READY "):
                fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
                self.command_endpoint, self.pub_endpoint = fields["command"], fields["pub"]

    def press(self, key: str) -> None:
        """The patient presses ``key`` (``0``-``9``, ``h``, ``space``) on the renderer's keyboard."""
        if self.proc.poll() is not None or self.proc.stdin is None:
            return
        try:
            self.proc.stdin.write(f"key {key}\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout_s: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM (the renderer closes its journal and exits), then SIGKILL if it must."""
        if self.proc.poll() is None:
            self.proc.terminate()
            if self.wait(timeout_s) is None:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        return self.proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = Path(self.log_file.name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cleanup(self) -> None:
        self.stop()
        self._reader.join(timeout=5)  # ends at the exited process's end of output
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log_file.close()
        try:
            os.unlink(self.log_file.name)
        except OSError:
            pass


def _patient_renderer_main(argv: list[str]) -> int:
    """``vr-exposure renderer`` plus a patient at the keyboard: ``key K`` lines on stdin become the
    Panda3D key events the renderer's patient keys listen to; end of stdin stops the renderer."""
    import signal

    from direct.showbase.MessengerGlobal import messenger
    from direct.task.TaskManagerGlobal import taskMgr

    from vr_exposure.renderer import cli as renderer_cli

    keys: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def read_stdin() -> None:
        for line in sys.stdin:
            parts = line.split()
            if len(parts) == 2 and parts[0] == "key":
                keys.put(parts[1])
        keys.put(None)

    threading.Thread(target=read_stdin, name="patient-keys", daemon=True).start()

    def press_keys(task: Any) -> Any:
        # Runs in the frame loop before the link task, like the event manager delivering real keys.
        while True:
            try:
                key = keys.get_nowait()
            except queue.Empty:
                break
            if key is None:
                os.kill(os.getpid(), signal.SIGTERM)  # the demo is gone: stop cleanly
                break
            messenger.send(key)
        return task.cont

    taskMgr.add(press_keys, "vr-exposure-demo-patient", sort=5)
    parser = argparse.ArgumentParser(prog="vr-exposure renderer")
    renderer_cli.configure(parser)
    return int(renderer_cli.run(parser.parse_args(argv)))


# ---------------------------------------------------------------------------------------------------
# The scripted session


def time_compression(protocol: Any, minutes: float) -> float:
    """Protocol seconds per wall-clock second when ``protocol`` runs in ``minutes`` (30 for the
    60-minute ``spiders-graded`` in the default 2 minutes)."""
    return float(protocol.session.length_s) / (max(0.25, minutes) * 60.0)


def compressed_protocol(protocol: Any, minutes: float) -> Any:
    """``protocol`` with its clock squeezed into ``minutes`` of wall time: a probe every protocol
    minute, the rung time cap (10 protocol minutes, so that one run climbs most of the ladder) and the
    session length scaled alike."""
    total_s = max(0.25, minutes) * 60.0
    compress = time_compression(protocol, minutes)
    probe_s = max(1.5, 60.0 / compress)
    rep = msgspec.structs.replace
    return rep(
        protocol,
        suds=rep(protocol.suds, probe_interval_s=probe_s, response_window_s=max(1.2, 0.8 * probe_s)),
        rules=rep(protocol.rules, up=rep(protocol.rules.up, time_cap_s=max(4 * probe_s, 600.0 / compress))),
        session=rep(protocol.session, length_s=total_s),
    )


#: The simulated patient's habituation time constant as a fraction of the rung time cap: the model's
#: default (600 s) is a third of the protocol's 30-minute cap, so a patient habituates within a rung.
TAU_PER_RUNG_CAP = 1.0 / 3.0


def demo_patient(seed: int, rung_cap_s: float) -> Any:
    """The demo's simulated patient, for a rung time cap of ``rung_cap_s`` *protocol* seconds.

    The demo squeezes the cap (30 minutes in the protocol) to about 10 protocol minutes, so the
    patient habituates as much faster: ``habituation_tau_s`` is a third of the cap, as the model's
    default is of the protocol's. The patient answers with the digit keys, in steps of 10, so the fall
    must be large enough to show in them: each rung is mostly a new stimulus (``generalisation`` 0.1
    per 10 intensity points: SUDS rise again at each step up) and distress settles lower
    (``floor_fraction`` 0.2), so ratings go e.g. 50 -> 20 on a rung and the engine's "SUDS fell 50%
    from peak" advice fires, not only its time cap."""
    from vr_exposure.core.simulated_patient import SimulatedPatient

    return SimulatedPatient(
        seed,
        habituation_tau_s=TAU_PER_RUNG_CAP * rung_cap_s,
        generalisation=0.1,
        floor_fraction=0.2,
        noise_sd=3.0,
    )


@dataclasses.dataclass
class _Timed:
    at_s: float
    action: Callable[[], None]
    label: str


class ScriptedSession:
    """The scripted therapist and the simulated patient around one :class:`ConsoleController`.
    Call :meth:`step` ten times a second; it returns True once the session has ended.

    The controller's library holds the compressed protocol; ``compress`` (:func:`time_compression`)
    maps wall-clock seconds back to protocol seconds, the patient's time."""

    def __init__(
        self,
        controller: Any,
        press: Callable[[str], None],
        *,
        minutes: float,
        compress: float,
        seed: int,
        pseudonym: str,
        say: Callable[[str], None],
    ) -> None:
        self.controller = controller
        self.press = press
        self.say = say
        self.pseudonym = pseudonym
        self.total_s = max(0.25, minutes) * 60.0
        protocol = controller.library.protocol(PROTOCOL_ID)
        self.compress = compress
        self.patient = demo_patient(seed, protocol.rules.up.time_cap_s * compress)
        self.start_mono_s: float | None = None
        self.timed: list[_Timed] = []
        self.done = False
        self.safe_place_used = False
        self.events_fired: set[int] = set()
        self.retries: dict[str, int] = {}  # msg_id of a retried request -> how many tries so far
        # The way back from the safe place fades out, loads the scene and fades in; the renderer
        # refuses events meanwhile, so the therapist waits for the view to settle first.
        self.settle_s = 2.0 * protocol.safe_place.fade_s + 1.5
        self.events_hold_until_s = 0.0
        self.nudged = False
        self.ratings = 0
        self.summary: dict[str, Any] | None = None
        controller.subscribe(self._on_ui)

    # -- time ---------------------------------------------------------------------------------------
    def elapsed_s(self) -> float:
        return 0.0 if self.start_mono_s is None else time.monotonic() - self.start_mono_s

    def _patient_t(self) -> float:
        return self.elapsed_s() * float(self.compress)

    def _later(self, delay_s: float, action: Callable[[], None], label: str) -> None:
        self.timed.append(_Timed(self.elapsed_s() + delay_s, action, label))

    # -- the script ---------------------------------------------------------------------------------
    def begin(self) -> None:
        c = self.controller
        self.start_mono_s = time.monotonic()
        session_dir = c.start_session(self.pseudonym, protocol_id=PROTOCOL_ID)
        self.say(f"session {c.session_id} in {display_path(session_dir)}")
        score = c.record_ssq("before", SSQ_BEFORE)
        self.say(f"SSQ before: total {score.total:.1f}")
        c.begin_exposure()
        self._observe()
        self.say("exposure begins on rung 1")

    def step(self) -> bool:
        if self.done:
            return True
        if self.start_mono_s is None:
            self.begin()
            return False
        now = self.elapsed_s()
        due = [t for t in self.timed if t.at_s <= now]
        self.timed = [t for t in self.timed if t.at_s > now]
        for t in due:
            try:
                t.action()
            except Exception as exc:  # a scripted step that no longer applies (e.g. stale advice)
                self.say(f"({t.label} skipped: {exc})")
        engine = self.controller.engine
        if engine is None:
            return False
        frac = now / self.total_s
        if not self.nudged and frac >= 0.2 and engine.state == "running":
            self.nudged = True
            target = min(100.0, engine.intensity + 6.0)
            self.say(f"therapist nudges the intensity to {target:.0f}")
            self.controller.set_intensity(target, 1.0)
        if not self.safe_place_used and frac >= 0.45 and engine.state == "running":
            self.safe_place_used = True
            self.say("therapist: safe place (F12)")
            self.controller.safe_place()
            self._later(max(2.0, 0.04 * self.total_s), self._leave_safe_place, "leave the safe place")
        rung = engine.rung
        scene = self.controller.scene
        if (
            rung is not None
            and rung >= 1
            and rung not in self.events_fired
            and scene is not None
            and scene.events
            and engine.state == "running"
            and engine.time_on_rung_s() > 1.0
            and now >= self.events_hold_until_s
        ):
            self.events_fired.add(rung)
            names = sorted(scene.events)
            name = names[rung % len(names)]
            self.say(f"therapist fires event '{name}'")
            self.controller.trigger_event(name)
        if now >= self.total_s and engine.state in ("running", "paused", "safe_place"):
            self._finish()
            return True
        return False

    def _leave_safe_place(self) -> None:
        self.say("therapist: back from the safe place")
        self.controller.leave_safe_place()

    def _finish(self) -> None:
        c = self.controller
        score = c.record_ssq("after", SSQ_AFTER)
        self.say(f"SSQ after: total {score.total:.1f}")
        self.summary = c.end_session("completed")
        self.done = True

    # -- what the patient and therapist see ---------------------------------------------------------
    def _observe(self) -> None:
        st = self.controller.renderer_state
        engine = self.controller.engine
        exposed = engine is not None and engine.state == "running"
        intensity = st.target_intensity if st.scene and st.scene != "safe-place" else 0.0
        self.patient.observe(self._patient_t(), max(0.0, min(100.0, intensity)), exposed=exposed)

    def _on_ui(self, ev: Any) -> None:
        from vr_exposure.link import messages as m

        kind = ev.kind
        if kind in ("intensity", "mode", "safe_place"):
            if self.start_mono_s is not None:
                self._observe()
            if kind == "safe_place":
                self.events_hold_until_s = self.elapsed_s() + self.settle_s
                self.say(
                    "renderer: patient in the safe place" if ev["entered"] else "renderer: exposure resumes"
                )
        elif kind == "fact" and isinstance(ev["fact"], m.SudsPromptShown):
            self._later(0.3, self._answer, "patient answers")
        elif kind == "rating":
            self.ratings += 1
            where = "in VR" if ev["source"] == "patient-in-vr" else ev["source"]
            self.say(f"SUDS {ev['value']:.0f} ({where})")
        elif kind == "probe_missed":
            self.say(f"probe {ev['probe_id']} missed")
        elif kind == "advice":
            advice = ev["advice"]
            self.say(f"advice: {advice.reason}")
            self._later(0.6, lambda: self._accept(advice.advice_id), "accept advice")
        elif kind == "rung":
            self.say(f"rung {ev['rung'] + 1}: {ev['title']} (expected SUDS {ev['expected_suds']:.0f})")
        elif kind == "event_fired":
            self.say(f"renderer: event {ev['event']} fired")
        elif kind == "error":
            self.say(f"console: {ev['message']}")
        elif kind == "refused":
            # The renderer refused a rung change, an event ... (e.g. during a fade through black, which
            # a slow machine makes longer than the wait for it): the session stayed where the patient
            # is, and the therapist clicks "Try again" a moment later, as the console window offers.
            self.say(f"console: {ev['message']}")
            attempts = self.retries.pop(ev["token"], 0)
            if attempts < MAX_RETRIES:
                token = ev["token"]
                self._later(RETRY_AFTER_S, lambda: self._retry(token, attempts + 1), "try again")

    def _retry(self, token: str, attempt: int) -> None:
        engine = self.controller.engine
        if engine is None or engine.state == "ended":
            return
        if token not in self.controller.refused:
            # The patient's situation changed since (safe place, pause): the refusal expired.
            self.say("console: the refused action expired when the renderer's mode changed")
            return
        self.say(f"therapist: try again ({attempt} of {MAX_RETRIES})")
        msg_id = self.controller.retry(token)
        if msg_id is not None:
            self.retries[msg_id] = attempt

    def _accept(self, advice_id: str) -> None:
        wait_s = self.events_hold_until_s - self.elapsed_s()
        if wait_s > 0:  # a new rung during the fade back from the safe place would be refused
            self._later(wait_s, lambda: self._accept(advice_id), "accept advice")
            return
        self.say("therapist accepts the advice")
        self.controller.accept_advice(advice_id)

    def _answer(self) -> None:
        engine = self.controller.engine
        if engine is None or engine.state == "ended":
            return
        self._observe()
        st = self.controller.renderer_state
        intensity = st.target_intensity if st.scene != "safe-place" else 0.0
        value = self.patient.rate(self._patient_t(), max(0.0, min(100.0, intensity)))
        tens = max(0, min(10, round(value / 10)))
        self.press("h" if tens == 10 else str(tens))


# ---------------------------------------------------------------------------------------------------
# Running it


def _make_say(quiet: bool, out: TextIO) -> Callable[[str], None]:
    start = time.monotonic()

    def say(line: str) -> None:
        if not quiet:
            print(f"[{time.monotonic() - start:6.1f} s] {line}", file=out, flush=True)

    return say


def _shutdown_renderer(client: Any, adapter: Any, renderer: RendererProcess) -> None:
    """Ask the renderer to shut down (it closes its journal), wait for it, SIGTERM if it must."""
    from vr_exposure.link import messages as m

    try:
        client.send(m.ShutdownRequest(), timeout_s=1.0, retries=2)
    except Exception:  # noqa: BLE001 - the renderer may already be gone
        pass
    deadline = time.monotonic() + 10.0
    while renderer.alive() and time.monotonic() < deadline:
        adapter.poll(50)
    renderer.stop()


def run(args: argparse.Namespace) -> int:
    from vr_exposure.core.loading import load_library
    from vr_exposure.link import LinkClient

    say = _make_say(args.quiet, sys.stdout)
    windows = display_available() and not args.headless
    library = load_library()
    original = library.protocol(PROTOCOL_ID)
    args.compress = time_compression(original, args.minutes)
    protocol = compressed_protocol(original, args.minutes)
    library = dataclasses.replace(library, protocols={**library.protocols, PROTOCOL_ID: protocol})
    physio = open_physio(args.physio)
    say(f"starting the renderer ({'window' if windows else 'offscreen'})")
    renderer = RendererProcess(
        backend="window" if windows else "offscreen", size="960x540" if windows else "480x270"
    )
    say(f"renderer ready at {renderer.command_endpoint}")
    client = LinkClient(renderer.command_endpoint, renderer.pub_endpoint, name="demo-console")
    try:
        if windows:
            summary = _run_with_window(args, library, client, renderer, say, physio)
        else:
            summary = _run_headless(args, library, client, renderer, say, physio)
    finally:
        if physio is not None:
            physio.close()
        client.close()
        renderer.cleanup()
    if summary is None:
        return 1
    print()
    print(f"session directory: {display_path(summary['session_dir'])}")
    print(
        f"{summary['ratings']} SUDS ratings, {summary['probes_missed']} probes missed, "
        f"{summary['running_s']:.0f} s of exposure"
    )
    print(summary["table"])
    print()
    # By id where the default sessions root finds it again; by path for --sessions DIR.
    by_id = args.sessions is None and summary["session_id"]
    print(next_commands(summary["session_id"] if by_id else display_path(summary["session_dir"])))
    return 0


def next_commands(session: str, *, via_run: bool | None = None) -> str:
    """What to try next with the session just recorded: report, export, replay, the journal. In the
    form the user can paste: ``./run vr-exposure ...`` when the demo was started by ``./run``."""
    if via_run is None:
        via_run = os.environ.get("VR_EXPOSURE_VIA_RUN") == "1"
    cli = "./run vr-exposure" if via_run else "vr-exposure"
    commands = [
        (f"{cli} report {session} -o report.html", "SUDS per rung, plots, SSQ"),
        (f"{cli} export {session} --format csv -o export/", "CSV (or parquet, bids)"),
        (f"{cli} replay {session} --video replay.mp4", "the patient's view, replayed"),
        (f"{cli} journal show {session}", "what the journals hold"),
        (f"{cli} console", "the console, by hand (README)"),
    ]
    width = max(len(c) for c, _ in commands)
    lines = ["next, with this session:", *(f"  {c.ljust(width)}   # {why}" for c, why in commands)]
    return "\n".join(lines)


def _run_headless(
    args: argparse.Namespace,
    library: Any,
    client: Any,
    renderer: RendererProcess,
    say: Callable[[str], None],
    physio: Any = None,
) -> dict[str, Any] | None:
    from vr_exposure.console.adapter import LinkAdapter

    controller = _demo_controller(client, library, args, physio)
    adapter = LinkAdapter(client, controller)
    say("console (headless) connecting")
    deadline = time.monotonic() + 30
    while not (adapter.state == "connected" and client.synced):
        if time.monotonic() > deadline or not renderer.alive():
            say(f"no contact with the renderer: {adapter.detail}\n{renderer.log_tail()}")
            return None
        adapter.poll(50)
        adapter.housekeeping()
    script = _demo_script(controller, renderer, args, say)
    next_housekeeping = 0.0
    hard_stop = time.monotonic() + script.total_s + 60
    while not script.step():
        adapter.poll(20)
        now = time.monotonic()
        if now >= next_housekeeping:
            adapter.housekeeping()
            next_housekeeping = now + 0.1
        if not renderer.alive():
            say(f"the renderer stopped unexpectedly:\n{renderer.log_tail()}")
            break
        if now > hard_stop:
            say("the session did not finish in time; ending it")
            break
    if script.summary is None and controller.active:
        script.summary = controller.end_session("demo stopped early")
    # Let the renderer's last facts and replies arrive, then stop it so its journal is closed first.
    settle = time.monotonic() + 1.0
    while time.monotonic() < settle:
        adapter.poll(20)
    _shutdown_renderer(client, adapter, renderer)
    controller.close_session()
    adapter.close()
    return script.summary


def _run_with_window(
    args: argparse.Namespace,
    library: Any,
    client: Any,
    renderer: RendererProcess,
    say: Callable[[str], None],
    physio: Any = None,
) -> dict[str, Any] | None:
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from vr_exposure.console.bridge import LinkBridge
    from vr_exposure.console.main_window import ConsoleWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    controller = _demo_controller(client, library, args, physio)
    bridge = LinkBridge(client, controller)
    window = ConsoleWindow(controller, endpoint=renderer.command_endpoint)
    window.select_protocol(PROTOCOL_ID)
    window.session_panel.pseudonym.setText(args.pseudonym)
    window.show()
    script = _demo_script(controller, renderer, args, say)
    state: dict[str, float | None] = {"finished_at": None}
    hard_stop = time.monotonic() + script.total_s + 90

    def tick() -> None:
        if script.start_mono_s is None and not (bridge.state == "connected" and client.synced):
            if time.monotonic() > hard_stop:
                app.quit()
            return
        if state["finished_at"] is None:
            if script.step() or time.monotonic() > hard_stop or not renderer.alive():
                state["finished_at"] = time.monotonic()
        elif time.monotonic() - state["finished_at"] > 3.0:
            app.quit()

    timer = QTimer()
    timer.setInterval(100)
    timer.timeout.connect(tick)
    timer.start()
    window.closing.connect(app.quit)
    app.exec()
    timer.stop()
    if script.summary is None and controller.active:
        script.summary = controller.end_session("demo stopped early")
    bridge.close()
    _shutdown_renderer(client, bridge.adapter, renderer)
    controller.close_session()
    window.close()
    window.deleteLater()
    return script.summary


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--patient-renderer":
        raise SystemExit(_patient_renderer_main(sys.argv[2:]))
    from vr_exposure.cli import main

    raise SystemExit(main(["demo", *sys.argv[1:]]))


def _demo_controller(client: Any, library: Any, args: argparse.Namespace, physio: Any) -> Any:
    """The console's session logic as the demo runs it, headless or in the window."""
    from vr_exposure.console.controller import ConsoleController

    return ConsoleController(
        client,
        library,
        sessions_root=args.sessions,
        console_name="demo-console",
        lsl=args.lsl,
        physio=physio,
    )


def _demo_script(controller: Any, renderer: Any, args: argparse.Namespace, say: Any) -> ScriptedSession:
    """The scripted therapist and simulated patient for this run's options."""
    return ScriptedSession(
        controller,
        renderer.press,
        minutes=args.minutes,
        compress=args.compress,
        seed=args.seed,
        pseudonym=args.pseudonym,
        say=say,
    )
