"""``vr-exposure renderer``: choose a backend, configure Panda3D for it, run the app until told to stop.

Prints one machine-readable line on stdout once the link is bound, for scripts and tests::

    READY command=tcp://127.0.0.1:47310 pub=tcp://127.0.0.1:47311 backend=offscreen

On loopback (the default) the link is plain text. Any other ``--bind`` needs CURVE (``--curve``):
the renderer's key pair ``renderer`` (or ``--key NAME``) from the key store and the console keys
allowed there::

    vr-exposure keys generate --name renderer
    vr-exposure keys allow console.key          # the console's public key, copied over
    vr-exposure renderer --bind tcp://0.0.0.0:47310 --curve

``--lsl`` publishes the head pose of every frame as a Lab Streaming Layer stream
(:mod:`vr_exposure.lsl`) for a recorder such as LabRecorder; an LSL that fails is one line on
stderr and the renderer goes on without it.

The C libraries under Panda3D (OpenAL, ALSA, the GL pipe) write straight to the process's stderr; on a
machine without a sound card that is some fifty lines. When stderr is a terminal they go to a log file
instead (``--library-log``, default ``renderer.log`` in the user state directory), named in one line;
the renderer's own messages and Python's stay on the terminal.

A busy port says so and names ``--bind`` (and the console's ``--connect``) to pick another.

Exit codes: 0 after ``--frames N`` frames, a ``shutdown`` request, a closed window or SIGTERM;
2 when the backend asked for explicitly (``--backend openxr``) cannot run here, or the link cannot be
set up as asked (a non-loopback bind without CURVE, missing keys); one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PATIENT_KEYS = """\
patient keys (window and offscreen):
  space, escape   go to the safe place (never quits)
  0 .. 9          SUDS 0 .. 90 (answers the prompt when one is shown)
  h or =          SUDS 100
  arrow keys, left-drag with the mouse: look around (window)
"""

RENDER_SWITCH_INTERVAL_S = 0.0005

_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


def _size(text: str) -> tuple[int, int]:
    match = _SIZE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720")
    return int(match.group(1)), int(match.group(2))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    from vr_exposure.link.server import DEFAULT_COMMAND_ENDPOINT

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = PATIENT_KEYS
    parser.add_argument(
        "--backend",
        choices=("auto", "openxr", "window", "offscreen"),
        default=None,
        help="where frames go (default auto: OpenXR headset, else a window, else offscreen; says why)",
    )
    parser.add_argument("--stereo", action="store_true", help="window: side-by-side stereo (two eyes)")
    parser.add_argument(
        "--bind",
        default=DEFAULT_COMMAND_ENDPOINT,
        metavar="ENDPOINT",
        help=f"command endpoint (default {DEFAULT_COMMAND_ENDPOINT}; port * picks a free one)",
    )
    parser.add_argument(
        "--pub",
        default=None,
        metavar="ENDPOINT",
        help="state/telemetry endpoint (default: the command port + 1)",
    )
    parser.add_argument(
        "--curve",
        action="store_true",
        help="encrypt the link with CURVE and admit only allowed console keys (needed off loopback)",
    )
    parser.add_argument(
        "--key",
        default=None,
        metavar="NAME",
        help="with CURVE: this renderer's key pair in the key store (default renderer; implies --curve)",
    )
    parser.add_argument(
        "--keys-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the key store (default: as `vr-exposure keys`, the user config dir)",
    )
    parser.add_argument(
        "--frames", type=_positive, default=None, metavar="N", help="exit cleanly after N frames"
    )
    parser.add_argument(
        "--scene", default=None, help="load this scene at start (`vr-exposure scenes` lists them)"
    )
    parser.add_argument("--preset", default=None, help="with --scene: start at this preset")
    parser.add_argument(
        "--intensity", type=float, default=None, help="with --scene: start at this intensity 0-100"
    )
    parser.add_argument(
        "--session-dir", type=Path, default=None, metavar="DIR", help="journal into this session"
    )
    parser.add_argument(
        "--sessions",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to keep the journals of sessions whose console is on another machine (the console "
        "fetches them at the session's end; default $VR_EXPOSURE_SESSIONS or the user data dir)",
    )
    parser.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH", help="window/buffer size")
    parser.add_argument(
        "--on-link-lost",
        choices=("safe_place", "hold"),
        default="safe_place",
        help="what to do when the console is silent for --link-timeout-s (default safe_place)",
    )
    parser.add_argument("--link-timeout-s", type=float, default=5.0, metavar="S", help="default 5")
    parser.add_argument(
        "--lsl",
        action="store_true",
        help="publish the head pose as a Lab Streaming Layer stream (MoCap, 7 channels, display rate)",
    )
    parser.add_argument(
        "--no-mirror", action="store_true", help="do not publish the patient-view mirror images"
    )
    parser.add_argument(
        "--library-log",
        default=None,
        metavar="FILE",
        help="where the audio and graphics libraries' messages go (default, when stderr is a terminal: "
        "renderer.log in the user state directory; '-' keeps them on stderr)",
    )


def default_pub_endpoint(command_endpoint: str) -> str:
    """The command endpoint's port + 1 (``*`` stays ``*``)."""
    from vr_exposure.link.server import DEFAULT_COMMAND_ENDPOINT, DEFAULT_PUB_ENDPOINT

    if command_endpoint == DEFAULT_COMMAND_ENDPOINT:
        return DEFAULT_PUB_ENDPOINT
    head, _, port = command_endpoint.rpartition(":")
    if head and port.isdigit() and int(port) > 0:
        return f"{head}:{int(port) + 1}"
    if head:
        return f"{head}:*"
    raise ValueError(f"cannot derive a pub endpoint from {command_endpoint!r}; give --pub")


def content_library(say: Any) -> Any:
    """The scenes and protocols, checked against the scene packages' contracts; None (each error
    said as ``file:line: field: message``) when any has an error."""
    from vr_exposure.core.loading import load_library
    from vr_exposure.errors import VrExposureError
    from vr_exposure.renderer.builders import contracts

    try:
        library = load_library(raise_on_error=False, contracts=contracts())
    except VrExposureError as exc:  # a broken scene package (its contract)
        say(str(exc))
        return None
    if library.errors:
        for problem in library.errors:
            say(str(problem))
        say(f"{len(library.errors)} error(s) in the scenes and protocols; fix them (`vr-exposure validate`)")
        return None
    return library


def _library_output_to_log(choice: str | None, say: Callable[[str], None]) -> Path | None:
    """Send what C libraries write to file descriptor 2 into a log file, keeping Python's stderr (the
    renderer's own lines, warnings, tracebacks) on the terminal. ``choice``: a file, ``-`` (leave
    everything on stderr), or None (a log in the user state directory when stderr is a terminal)."""
    if choice == "-":
        return None
    if choice is None:
        if not sys.stderr.isatty():
            return None  # a pipe or a file (the demo, a service): whoever reads it wants it all
        import platformdirs

        path = Path(platformdirs.user_state_dir("vr-exposure")) / "renderer.log"
    else:
        path = Path(choice).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        say(f"library messages stay here: cannot write {path}: {exc.strerror}")
        return None
    sys.stderr.flush()
    terminal = os.dup(2)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.stderr = os.fdopen(terminal, "w", buffering=1, encoding="utf-8", errors="backslashreplace")
    try:
        shown = f"~/{path.resolve().relative_to(Path.home()).as_posix()}"
    except (ValueError, RuntimeError):
        shown = str(path)
    say(f"audio and graphics library messages go to {shown}")
    return path


def run(args: argparse.Namespace) -> int:
    from vr_exposure.core.specs import SafePlaceSettings
    from vr_exposure.renderer.backends import BackendOptions, BackendUnavailable, select_backend

    def say(line: str) -> None:
        print(f"vr-exposure renderer: {line}", file=sys.stderr, flush=True)

    if args.intensity is not None and not 0 <= args.intensity <= 100:
        say(f"--intensity {args.intensity} is outside 0-100")
        return 2
    name = args.backend or "auto"
    explicit = args.backend is not None and args.backend != "auto"
    options = BackendOptions(size=args.size, stereo=args.stereo)
    try:
        backend = select_backend(name, explicit, options, say=say)
    except BackendUnavailable as exc:
        say(f"{name} backend unavailable: {exc}")
        return 2
    if args.session_dir is not None:
        from vr_exposure.errors import JournalError
        from vr_exposure.journal import open_session_dir

        try:
            open_session_dir(args.session_dir)
        except JournalError as exc:
            say(f"--session-dir: {exc} (the console creates sessions; or use `vr-exposure journal`)")
            return 2
    pub = args.pub or default_pub_endpoint(args.bind)
    curve = None
    from vr_exposure.errors import LinkError
    from vr_exposure.link.errors import AddressInUse
    from vr_exposure.link.security import check_bind_allowed

    if args.curve or args.key is not None:
        from vr_exposure.link.keys import server_curve

        name = args.key or "renderer"
        try:
            curve = server_curve(name, directory=args.keys_dir)
        except LinkError as exc:
            say(f"{exc}; create it with `vr-exposure keys generate --name {name}`")
            return 2
        if not curve.allowed_dir.is_dir():
            say(
                f"{curve.allowed_dir}: no console keys are allowed yet; "
                "add one with `vr-exposure keys allow CONSOLE_PUBLIC_KEY_FILE`"
            )
            return 2
    try:
        # Before any window opens: a renderer that would expose the session in plain text never starts.
        check_bind_allowed(args.bind, curve)
        check_bind_allowed(pub, curve)
    except LinkError as exc:
        say(str(exc))
        return 2
    safe_place = SafePlaceSettings(on_link_lost=args.on_link_lost, link_timeout_s=args.link_timeout_s)
    # Before any window opens: every scene is checked against its builder's contract, so a misspelt
    # parameter or an event no builder animates stops the renderer here, never mid-session.
    library = content_library(say)
    if library is None:
        return 2

    _library_output_to_log(args.library_log, say)
    from panda3d.core import loadPrcFileData

    # The mirror encoder and the journal writer run in threads; with CPython's default 5 ms switch
    # interval the frame loop can wait that long for the GIL when it wants it back. 0.5 ms bounds that.
    sys.setswitchinterval(RENDER_SWITCH_INTERVAL_S)
    # Configuration goes in here, before the ShowBase exists, never at import time.
    loadPrcFileData("vr-exposure-renderer", backend.prc_data() + "notify-level-display error\n")
    from direct.showbase.ShowBase import ShowBase

    base = ShowBase(windowType=backend.window_type)
    app: Any = None
    stop = {"signal": False}

    def _on_sigterm(_signum: int, _frame: object) -> None:
        stop["signal"] = True

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from vr_exposure.renderer.app import App, default_stage_factory

        try:
            app = App.on_showbase(
                base,
                backend,
                stage_factory=default_stage_factory,
                library=library,
                command_endpoint=args.bind,
                pub_endpoint=pub,
                safe_place=safe_place,
                session_dir=args.session_dir,
                sessions_root=args.sessions,
                max_frames=args.frames,
                mirror=not args.no_mirror,
                curve=curve,
                lsl=args.lsl,
            )
        except AddressInUse as exc:
            say(
                f"{exc}: stop that renderer, or pick another port with --bind tcp://127.0.0.1:PORT "
                "(and start the console with --connect tcp://127.0.0.1:PORT)"
            )
            return 2
        if args.scene is not None:
            from vr_exposure.link.errors import CommandRejected
            from vr_exposure.link.messages import LoadSceneRequest

            try:
                app.command(LoadSceneRequest(scene=args.scene, preset=args.preset, intensity=args.intensity))
            except CommandRejected as exc:
                say(f"cannot load scene {args.scene!r}: {exc.evalue}")
                return 2
        print(
            f"READY command={app.link.command_endpoint} pub={app.link.pub_endpoint} backend={backend.name}",
            flush=True,
        )
        task_mgr = base.taskMgr
        while not (app.exit_requested or stop["signal"]):
            task_mgr.step()
        return 0
    except SystemExit as exc:  # ShowBase.userExit when the window is closed
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if app is not None:
            app.close()
        else:
            backend.shutdown()
        base.destroy()
