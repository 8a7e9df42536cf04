"""``vr-exposure export SESSION... --format csv|parquet|bids|fhir -o DIR``: sessions as tidy tables,
BIDS, or FHIR R4 Bundles for an electronic health record.

See :mod:`vr_exposure.research.export` for the tables and the layout (the output holds a _README.md)
and :mod:`vr_exposure.research.fhir` for the Bundles. Exporting into an existing Parquet or CSV export
adds the sessions (or replaces exactly theirs).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    from vr_exposure.research.export import FORMATS

    parser.add_argument("sessions", nargs="+", metavar="SESSION", help="session directories or session ids")
    parser.add_argument("--format", choices=FORMATS, required=True, help="csv, parquet, bids or fhir")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="output directory")


def run(args: argparse.Namespace) -> int:
    from vr_exposure.research.export import export
    from vr_exposure.research.timeline import SessionTimeline, load_timeline

    count = 0

    def timelines() -> Iterator[SessionTimeline]:
        # One session in memory at a time: a study's thousands of sessions export in bounded memory.
        nonlocal count
        for s in args.sessions:
            tl = load_timeline(s)
            for torn in tl.torn:
                print(f"vr-exposure export: {tl.session_id}: {torn.sentence()}", file=sys.stderr)
            count += 1
            yield tl

    files = export(timelines(), args.output, args.format)
    print(f"{count} session(s) exported as {args.format} to {args.output} ({len(files)} files)")
    return 0
