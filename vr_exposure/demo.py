"""``vr-exposure demo``: a whole simulated session, the project's main job end to end.

It starts a real renderer (a subprocess: a window when there is a display, offscreen when there is none)
and the console (its window with a display; its Qt-free controller without), then drives a protocol
(``--protocol ID``, by default ``spiders-graded``; any installed protocol, of any scene) in compressed
time:

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

The two halves live where they belong: the renderer subprocess with the patient at its keyboard in
:mod:`vr_exposure.renderer.process` (its key presses travel over the subprocess's stdin), the scripted
therapist and simulated patient in :mod:`vr_exposure.console.scripted`. This module wires them.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from vr_exposure.console.cli import add_physio_option, open_physio
from vr_exposure.console.controller import display_path
from vr_exposure.console.scripted import (
    DEFAULT_PROTOCOL,
    ScriptedSession,
    compressed_protocol,
    time_compression,
)
from vr_exposure.renderer.process import RendererProcess

PSEUDONYM = "DEMO01"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--protocol",
        default=DEFAULT_PROTOCOL,
        metavar="ID",
        help=f"the protocol to run (default {DEFAULT_PROTOCOL}; `vr-exposure scenes` lists them)",
    )
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
        "--clinician", default=None, metavar="NAME", help="the clinician recorded in the session's journal"
    )
    parser.add_argument(
        "--add-rung",
        type=_rung_option,
        default=None,
        metavar="TITLE=SUDS",
        help="at the end, the therapist adds a rung made from what the patient sees then, with this "
        "title and expected SUDS, to the patient's ladder (it is there from the next session)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress: print only the session directory and SUDS table"
    )
    parser.add_argument(
        "--lsl",
        action="store_true",
        help="publish the session as Lab Streaming Layer streams: markers, SUDS and intensity (console), "
        "head pose (renderer)",
    )
    add_physio_option(parser)


def _rung_option(text: str) -> tuple[str, float]:
    title, sep, suds = text.rpartition("=")
    try:
        value = float(suds)
    except ValueError:
        value = -1.0
    if not sep or not title.strip() or not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: expected TITLE=SUDS, SUDS 0-100 (e.g. 'Jar, closer=35')")
    return title.strip(), value


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


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
    original = library.protocol(args.protocol)
    args.compress = time_compression(original, args.minutes)
    protocol = compressed_protocol(original, args.minutes)
    library = dataclasses.replace(library, protocols={**library.protocols, args.protocol: protocol})
    physio = open_physio(args.physio)
    say(f"starting the renderer ({'window' if windows else 'offscreen'})")
    renderer = RendererProcess(
        backend="window" if windows else "offscreen",
        size="960x540" if windows else "480x270",
        # The renderer publishes the head-pose stream; the console the markers, SUDS and intensity.
        extra=["--lsl"] if args.lsl else None,
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
    outside = summary.get("ratings_outside_exposure", 0)
    during = f" ({summary['ratings'] - outside} during the exposure)" if outside else ""
    print(
        f"{summary['ratings']} SUDS ratings{during}, {summary['probes_missed']} probes missed, "
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
    window.select_protocol(args.protocol)
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
        clinician=getattr(args, "clinician", None),
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
        protocol_id=args.protocol,
        add_rung=getattr(args, "add_rung", None),
    )
