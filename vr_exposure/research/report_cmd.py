"""``vr-exposure report SESSION... [-o report.html] [--clinician NAME] [--timezone ZONE] [--paper a4|letter]
[--pdf FILE]``: one self-contained HTML report of the sessions, a clinical document to file.

Sessions of one pseudonym are grouped, oldest first, as a course of treatment with its trend. Each
session says which one of its pseudonym's sessions it is ("session 3 of 5", counted in the sessions
root that holds it), and compares itself with the session before it there. A session whose journal
ends abruptly (a crash) is reported up to where it ends, and the report says so. ``--pdf`` prints the
report to PDF through a headless Chromium (the browser's own print, with the report's print
stylesheet); without one, open the HTML in a browser and print it.
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
    parser.add_argument(
        "--clinician",
        default=None,
        metavar="NAME",
        help="the clinician responsible (default: the one the console recorded, if any)",
    )
    parser.add_argument(
        "--timezone",
        default=None,
        metavar="ZONE",
        help="IANA time zone of the dates and times shown, e.g. Europe/Berlin (default: this machine's)",
    )
    parser.add_argument(
        "--paper", choices=("a4", "letter"), default="a4", help="printed page size (default a4)"
    )
    parser.add_argument(
        "--pdf", type=Path, default=None, metavar="FILE", help="also print the report to this PDF (Chromium)"
    )


def run(args: argparse.Namespace) -> int:
    from vr_exposure.research import browser
    from vr_exposure.research.clinical import time_zone
    from vr_exposure.research.report import write_report
    from vr_exposure.research.timeline import earlier_sessions, load_timeline

    tz = time_zone(args.timezone)
    if args.pdf is not None and browser.find_chromium() is None:
        print(
            "vr-exposure report: --pdf needs Chromium (Debian: apt-get install chromium); the HTML report "
            "prints from any browser",
            file=sys.stderr,
        )
        return 1
    timelines = [load_timeline(s) for s in args.sessions]
    for tl in timelines:
        for torn in tl.torn:
            print(f"vr-exposure report: {tl.session_id}: {torn.sentence()}", file=sys.stderr)
    out = write_report(
        timelines,
        args.output,
        clinician=args.clinician,
        tz=tz,
        paper=args.paper,
        earlier=earlier_sessions(timelines),
    )
    print(f"report of {len(timelines)} session(s) written to {out}")
    if args.pdf is not None:
        browser.print_pdf(out, args.pdf)
        print(f"printed to {args.pdf}")
    return 0
