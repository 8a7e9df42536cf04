"""Make the report screenshots for docs/research.md: a course of three short demo sessions of one
pseudonym, reported and drawn in headless Chromium.

    .venv/bin/python scripts/make_report_screenshots.py [--out docs/img] [--minutes 0.5] [--sessions DIR]

Runs ``vr-exposure demo --headless`` three times for pseudonym P017 into one sessions directory (the
second session adds a rung to the patient's ladder at its end; each later session opens where the one
before ended), or takes the sessions already in ``--sessions``, then writes:

- ``report-session.png``  the top of the last session's report (header, summary, warnings, timeline);
- ``report-course.png``   the top of the course report (one row per session and the trend).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PSEUDONYM = "P017"
WIDTH = 1040


def _demo(sessions: Path, minutes: float, seed: int, extra: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    args = [sys.executable, "-m", "vr_exposure.cli", "demo", "--headless", "--quiet"]
    args += ["--minutes", str(minutes), "--sessions", str(sessions), "--pseudonym", PSEUDONYM]
    args += ["--clinician", "Dr. M. Rivera", "--seed", str(seed), *extra]
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--minutes", type=float, default=0.5, help="wall-clock minutes per demo session")
    parser.add_argument("--sessions", type=Path, default=None, help="use (or fill) this sessions directory")
    args = parser.parse_args()
    from vr_exposure.journal.course import course_sessions
    from vr_exposure.research import browser
    from vr_exposure.research.clinical import time_zone
    from vr_exposure.research.report import build_report
    from vr_exposure.research.timeline import load_timeline

    sessions = args.sessions or Path(tempfile.mkdtemp(prefix="vr-exposure-report-shots-"))
    sessions.mkdir(parents=True, exist_ok=True)
    for i in range(len(course_sessions(sessions, PSEUDONYM)), 3):
        _demo(sessions, args.minutes, 7 + i, ["--add-rung", "Own rung: a little closer=55"] if i == 1 else [])
    dirs = course_sessions(sessions, PSEUDONYM)[-3:]
    timelines = [load_timeline(d) for d in dirs]
    tz = time_zone("Europe/Berlin")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, tls, height in (
            ("report-session", timelines[-1:], 1750),
            ("report-course", timelines, 1150),
        ):
            page = Path(tmp) / f"{name}.html"
            page.write_text(build_report(tls, tz=tz), encoding="utf-8")
            browser.screenshot(page, args.out / f"{name}.png", width=WIDTH, height=height)
            print(f"wrote {args.out / f'{name}.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
