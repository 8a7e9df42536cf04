"""Research tools on an hour-long session: load, report, export to Parquet (target: total <= 2 s).

Builds a 60-minute synthetic session through the real journal writer (90 Hz head pose, about 325k
samples; 12 SUDS probes; 40 intensity changes; rung changes, events, a pause and a safe-place stay)
and times, on it, :func:`load_timeline`, the HTML report and the Parquet export, each the best of
``--repeat`` runs. As a reference from the same run it also times reading the journal files' bytes.

    .venv/bin/python benchmarks/research.py [--repeat 3] [--dir DIR]

Prints figures, then as the last line one JSON object: load_s, report_s, export_parquet_s, total_s,
rows (head-pose rows exported), table_rows (all rows exported), journal_mb.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vr_exposure.research.export import export  # noqa: E402
from vr_exposure.research.report import build_report, load_protocols  # noqa: E402
from vr_exposure.research.synthetic import SyntheticPlan, write_synthetic_session  # noqa: E402
from vr_exposure.research.timeline import load_timeline  # noqa: E402

T = TypeVar("T")

PLAN = SyntheticPlan(
    pseudonym="P042",
    duration_s=3600.0,
    pose_rate_hz=90.0,
    # 3600 s minus a 100 s pause and a 60 s safe-place stay is 3440 s of exposure: 12 probes.
    probe_interval_s=280.0,
    response_window_s=60.0,
    intensity_changes=40,
    rung_changes_at_s=(600.0, 1200.0, 1800.0, 2400.0),
    events_at_s=((500.0, "walk-toward"), (1500.0, "scatter"), (2500.0, "walk-toward")),
    pause=(1000.0, 1100.0),
    safe_place=(2000.0, 2060.0),
    missed_probes=(5,),
    headset_probes=(2, 7),
)


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    """The shortest of ``repeat`` runs of ``fn``, and its last result."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to build the session (default: a temp dir)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vr-exposure-bench-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        result = write_synthetic_session(work / "sessions", PLAN)
        build_s = time.perf_counter() - t0
        session = result.session_dir
        journal_bytes = sum(p.stat().st_size for p in session.glob("*.jsonl"))
        print(
            f"built a {PLAN.duration_s / 60:.0f}-minute session in {build_s:.1f} s: "
            f"{result.pose_samples} head poses, {result.ratings} ratings, "
            f"{result.probes_missed} probe missed, "
            f"{result.intensity_facts} intensity facts, {journal_bytes / 1e6:.0f} MB of journal"
        )
        raw_s, _ = best_of(args.repeat, lambda: [p.read_bytes() for p in session.glob("*.jsonl")])
        load_s, tl = best_of(args.repeat, lambda: load_timeline(session))
        library = load_protocols()
        report_s, html = best_of(args.repeat, lambda: build_report([tl], library=library))
        out = work / "export"

        def to_parquet() -> list[Path]:
            shutil.rmtree(out, ignore_errors=True)
            return export([tl], out, "parquet")

        export_s, files = best_of(args.repeat, to_parquet)
        import pyarrow.parquet as pq

        pose_rows = pq.read_metadata(next(p for p in files if p.parent.parent.parent.name == "pose")).num_rows
        table_rows = sum(pq.read_metadata(p).num_rows for p in files if p.suffix == ".parquet")
        total = load_s + report_s + export_s
        print(f"reading the journal bytes alone: {raw_s:.3f} s")
        print(f"load_timeline: {load_s:.3f} s ({len(tl.pose)} poses, {len(tl.events)} records)")
        print(f"HTML report: {report_s:.3f} s ({len(html) / 1e3:.0f} kB)")
        print(f"Parquet export: {export_s:.3f} s ({table_rows} rows in {len(files) - 3} files)")
        print(f"total: {total:.3f} s (target <= 2 s); best of {args.repeat}")
        print(
            json.dumps(
                {
                    "load_s": round(load_s, 3),
                    "report_s": round(report_s, 3),
                    "export_parquet_s": round(export_s, 3),
                    "total_s": round(total, 3),
                    "rows": pose_rows,
                    "table_rows": table_rows,
                    "journal_mb": round(journal_bytes / 1e6, 1),
                }
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
