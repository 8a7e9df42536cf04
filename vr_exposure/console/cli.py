"""``vr-exposure console``: the therapist console window, connected to one renderer.

    vr-exposure console [--connect ENDPOINT] [--pub ENDPOINT] [--key NAME] [--renderer-key FILE]
                        [--protocol ID] [--pseudonym P] [--sessions DIR] [--lsl]
                        [--physio STREAM_NAME]

On loopback no keys are needed. For a renderer on another machine, give this console's key pair name
(``--key``, from ``vr-exposure keys generate --name NAME``) and the renderer's public key file
(``--renderer-key``); the renderer must allow this console's public key (``vr-exposure keys allow``).

``--lsl`` publishes the session's markers, SUDS and intensity as Lab Streaming Layer streams
(:mod:`vr_exposure.lsl`) for a recorder such as LabRecorder. ``--physio STREAM_NAME`` reads a
physiology stream (heart rate, EDA) from LSL, journals it and plots it on the timeline.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vr_exposure.errors import LinkError

DEFAULT_CONNECT = "tcp://127.0.0.1:47310"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connect",
        default=DEFAULT_CONNECT,
        metavar="ENDPOINT",
        help=f"the renderer's command endpoint (default {DEFAULT_CONNECT})",
    )
    parser.add_argument(
        "--pub",
        default=None,
        metavar="ENDPOINT",
        help="the renderer's event endpoint (default: the command endpoint's port + 1)",
    )
    parser.add_argument(
        "--key",
        default=None,
        metavar="NAME",
        help="this console's CURVE key pair in the key store (needed off this machine)",
    )
    parser.add_argument(
        "--renderer-key",
        type=Path,
        default=None,
        metavar="FILE",
        help="the renderer's public key file (default: renderer.key in the key store)",
    )
    parser.add_argument("--protocol", default=None, metavar="ID", help="preselect a protocol")
    parser.add_argument("--pseudonym", default=None, metavar="P", help="prefill the patient pseudonym")
    parser.add_argument(
        "--clinician",
        default=None,
        metavar="NAME",
        help="the clinician running the sessions, recorded in each session's journal for its report",
    )
    parser.add_argument(
        "--sessions",
        type=Path,
        default=None,
        metavar="DIR",
        help="where session directories go (default: $VR_EXPOSURE_SESSIONS or the user data dir)",
    )
    parser.add_argument(
        "--lsl",
        action="store_true",
        help="publish each session's markers, SUDS and intensity as Lab Streaming Layer streams",
    )
    add_physio_option(parser)


def add_physio_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--physio",
        default=None,
        metavar="STREAM_NAME",
        help="read the LSL stream of this name (heart rate, EDA ...): journaled and shown on the timeline",
    )


def open_physio(stream_name: str | None) -> Any:
    """The :class:`~vr_exposure.lsl.PhysioInlet` for ``--physio`` (waits up to 5 s for the
    stream to be found; an error naming it if it is not), or None."""
    if not stream_name:
        return None
    from vr_exposure.lsl import PhysioInlet

    print(f"looking for the LSL stream {stream_name!r} ...", file=sys.stderr, flush=True)
    return PhysioInlet(stream_name)


def default_pub_endpoint(command_endpoint: str) -> str:
    """``tcp://host:47310`` -> ``tcp://host:47311`` (the renderer's defaults are one port apart)."""
    head, sep, port = command_endpoint.rpartition(":")
    if sep and port.isdigit():
        return f"{head}:{int(port) + 1}"
    raise LinkError(f"cannot guess the event endpoint from {command_endpoint!r}; give --pub")


def client_curve_for(endpoint: str, key: str | None, renderer_key: Path | None) -> Any:
    """The CURVE settings for this connection, or None on loopback without keys."""
    from vr_exposure.link import is_loopback_endpoint
    from vr_exposure.link.keys import client_curve, keys_dir

    if key is None:
        if not is_loopback_endpoint(endpoint):
            raise LinkError(
                f"{endpoint} is not on this machine, so the link must be encrypted: pass --key NAME "
                "(`vr-exposure keys generate --name NAME`) and --renderer-key FILE "
                "(the renderer's public key)"
            )
        return None
    server_file = renderer_key if renderer_key is not None else keys_dir() / "renderer.key"
    if not server_file.is_file():
        raise LinkError(f"{server_file}: no renderer public key there; pass --renderer-key FILE")
    return client_curve(server_file, key)


def run(args: argparse.Namespace) -> int:
    from PyQt6.QtWidgets import QApplication

    from vr_exposure.core.loading import load_library
    from vr_exposure.link import LinkClient

    from .bridge import LinkBridge
    from .controller import ConsoleController, display_path
    from .main_window import ConsoleWindow

    pub = args.pub or default_pub_endpoint(args.connect)
    curve = client_curve_for(args.connect, args.key, args.renderer_key)
    library = load_library()
    physio = open_physio(args.physio)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    try:
        client = LinkClient(args.connect, pub, curve=curve)
    except Exception as exc:  # zmq refuses a malformed endpoint at connect time
        raise LinkError(f"cannot connect to {args.connect} / {pub}: {exc}") from None
    controller = ConsoleController(
        client, library, sessions_root=args.sessions, lsl=args.lsl, physio=physio, clinician=args.clinician
    )
    bridge = LinkBridge(client, controller)
    window = ConsoleWindow(controller, endpoint=args.connect)
    if args.protocol:
        window.select_protocol(args.protocol)
    if args.pseudonym:
        window.session_panel.pseudonym.setText(args.pseudonym)
    window.show()
    try:
        rc = app.exec()
    finally:
        session_dir = controller.close_session()
        controller.close_physio()
        bridge.close()
        client.close()
    if session_dir is not None:
        print(f"session: {display_path(session_dir)}")
    return int(rc)
