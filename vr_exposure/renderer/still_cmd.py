"""``vr-exposure still``: render one frame of a scene offscreen into a PNG (docs, reports, checks).

    vr-exposure still spiders --preset jar-desk -o jar-desk.png
    vr-exposure still spiders --intensity 80 -o spiders-80.png --size 1280x720

The rendering itself is :func:`vr_exposure.renderer.still.render_still`; this module parses the
command line, checks the arguments, and turns failures into one line and an exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vr_exposure.renderer.cli import _size


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene", help="scene id (`vr-exposure scenes` lists them)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--preset", help="render at this preset")
    which.add_argument("--intensity", type=float, help="render at this intensity 0-100")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="PNG", help="where to write the PNG"
    )
    parser.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH", help="default 1280x720")
    parser.add_argument(
        "--settle-s",
        type=float,
        default=None,
        metavar="S",
        help="scene time to run before the picture (default: the still renderer's own)",
    )


def run(args: argparse.Namespace) -> int:
    if args.intensity is not None and not 0 <= args.intensity <= 100:
        print(f"vr-exposure still: --intensity {args.intensity} is outside 0-100", file=sys.stderr)
        return 2
    if args.output.suffix.lower() != ".png":
        print(f"vr-exposure still: {args.output} must end in .png", file=sys.stderr)
        return 2
    from vr_exposure.core.loading import load_library
    from vr_exposure.errors import SpecError
    from vr_exposure.renderer.builders import contracts

    # Checked against the builders' contracts, as the renderer checks them: a still of a scene the
    # renderer would refuse would show something no patient will see.
    library = load_library(raise_on_error=False, contracts=contracts())
    try:
        spec = library.scene(args.scene)
    except SpecError as exc:
        for problem in library.errors:
            print(f"vr-exposure still: {problem}", file=sys.stderr)
        print(f"vr-exposure still: {str(exc).strip()}", file=sys.stderr)
        return 2
    if args.preset is not None and args.preset not in spec.presets:
        known = ", ".join(spec.presets) or "none"
        print(
            f"vr-exposure still: scene {spec.id!r} has no preset {args.preset!r} (known: {known})",
            file=sys.stderr,
        )
        return 2
    from panda3d.core import loadPrcFileData

    # Offscreen, configured here (never at import time): no display, no sound needed for a still.
    loadPrcFileData(
        "vr-exposure-still", "window-type none\naudio-library-name null\nnotify-level-display error\n"
    )
    from vr_exposure.renderer.still import render_still

    kwargs: dict[str, Any] = {"preset": args.preset, "intensity": args.intensity, "size": args.size}
    if args.settle_s is not None:
        kwargs["settle_s"] = args.settle_s
    png = render_still(spec, **kwargs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(png)
    print(args.output)
    return 0
