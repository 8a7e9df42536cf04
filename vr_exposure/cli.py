"""The ``vr-exposure`` command line.

Each sub-command lives in the layer that owns it; this module only knows their names and imports a
command's module when it runs, so ``vr-exposure validate`` never loads Panda3D or Qt. A command module
exposes ``configure(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from vr_exposure import __version__
from vr_exposure.errors import VrExposureError

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("vr_exposure.renderer.validate_cmd", "check scene and protocol YAML files"),
    "scenes": ("vr_exposure.core.scenes_cmd", "list the scenes, presets and events"),
    "renderer": ("vr_exposure.renderer.cli", "run the renderer (headset, window or offscreen)"),
    "still": ("vr_exposure.renderer.still_cmd", "render one frame of a scene to a PNG"),
    "console": ("vr_exposure.console.cli", "run the therapist console"),
    "demo": ("vr_exposure.demo", "run a complete simulated session (headless without a display)"),
    "replay": ("vr_exposure.research.replay_cmd", "replay a recorded session"),
    "report": ("vr_exposure.research.report_cmd", "write an HTML report of one or more sessions"),
    "export": ("vr_exposure.research.export_cmd", "export sessions to CSV, Parquet or BIDS"),
    "journal": ("vr_exposure.journal.cli", "inspect, verify and recover session journals"),
    "keys": ("vr_exposure.link.keys_cmd", "create, list and allow CURVE keys"),
    "hotspots": ("vr_exposure.journal.hotspots_cmd", "list and check the patients' hotspot files"),
}


def _parser(available: dict[str, object]) -> argparse.ArgumentParser:
    summary = __doc__.splitlines()[0] if __doc__ else ""
    parser = argparse.ArgumentParser(prog="vr-exposure", description=summary)
    parser.add_argument("--version", action="version", version=f"vr-exposure {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod = available.get(name)
        if mod is not None:
            mod.configure(p)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    name = next((a for a in argv if not a.startswith("-")), None)
    available: dict[str, object] = {}
    if name in COMMANDS:
        module_name = COMMANDS[name][0]
        try:
            available[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                print(f"vr-exposure {name}: not available in this version yet", file=sys.stderr)
                return 2
            raise
    args = _parser(available).parse_args(argv)
    if args.command is None:
        _parser({}).print_help()
        return 2
    try:
        rc: int = available[args.command].run(args)  # type: ignore[attr-defined]
    except VrExposureError as exc:
        print(f"vr-exposure {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`vr-exposure journal show ... | head`): not an error of ours. Point stdout
        # at /dev/null so the interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
