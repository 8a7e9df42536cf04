"""``vr-exposure report SESSION... [-o report.html]``: one self-contained HTML report of the sessions.

Sessions of one pseudonym are grouped, oldest first, with their between-session trend. A session whose
journal ends abruptly (a crash) is reported up to where it ends, and the report says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sessions", nargs="+", metavar="SESSION", help="session directories or session ids")
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("report.html"), metavar="FILE", help="default report.html"
    )


def run(args: argparse.Namespace) -> int:
    from vr_exposure.research.report import write_report
    from vr_exposure.research.timeline import load_timeline

    timelines = [load_timeline(s) for s in args.sessions]
    for tl in timelines:
        for torn in tl.torn:
            print(f"vr-exposure report: {tl.session_id}: {torn.sentence()}", file=sys.stderr)
    out = write_report(timelines, args.output)
    print(f"report of {len(timelines)} session(s) written to {out}")
    return 0
