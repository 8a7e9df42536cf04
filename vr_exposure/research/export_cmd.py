"""``vr-exposure export SESSION... --format csv|parquet|bids|fhir -o DIR``: sessions as tidy tables,
BIDS, or FHIR R4 Bundles for an electronic health record.

See :mod:`vr_exposure.research.export` for the tables and the layout (the output holds a README) and
:mod:`vr_exposure.research.fhir` for the Bundles.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    from vr_exposure.research.export import FORMATS

    parser.add_argument("sessions", nargs="+", metavar="SESSION", help="session directories or session ids")
    parser.add_argument("--format", choices=FORMATS, required=True, help="csv, parquet, bids or fhir")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="output directory")


def run(args: argparse.Namespace) -> int:
    from vr_exposure.research.export import export
    from vr_exposure.research.timeline import load_timeline

    timelines = [load_timeline(s) for s in args.sessions]
    for tl in timelines:
        for torn in tl.torn:
            print(f"vr-exposure export: {tl.session_id}: {torn.sentence()}", file=sys.stderr)
    files = export(timelines, args.output, args.format)
    print(f"{len(timelines)} session(s) exported as {args.format} to {args.output} ({len(files)} files)")
    return 0
