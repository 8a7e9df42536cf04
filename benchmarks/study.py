"""A study's worth of sessions: export them to the table-first Parquet tree, then query it in DuckDB.

Synthesises ``--sessions`` sessions (default 1,000) of realistic size: lengths spread over 20-60
minutes, head pose at 90 Hz (with frame jitter, head movement and looks at and away from the
spider), stimulus positions at 10 Hz, SUDS probes every 5 minutes, rung and intensity changes, a
pause and a safe-place stay, SSQ before and after; 200 patients with 5 sessions each at the default.

The clinical records of each session come from one of 20 template sessions played by the real session
engine and written through the real journal writer (:mod:`vr_exposure.research.synthetic`, read back
with ``load_timeline``), each with its own length; the 90 Hz head pose and the stimulus positions are
then generated in numpy for every session (playing 1,000 hour-long sessions through the journal
writer would take hours and ~90 GB of journals). One session is in memory at a time.

Measured in the same run:

* the export: ``export()`` of every session into one tree (tables built from the timeline,
  conformed, written under temporary names and renamed), sessions/s and MB/s;
* the baseline: a plain ``pyarrow.parquet.write_table`` of the same tables (built beforehand, not
  timed) into a hive tree, default options, its files deleted right after each session so the disk
  holds one tree; ``export_ratio`` = baseline time / export time (target >= 0.5);
* fixed analyst queries in DuckDB over the exported tree (each the best of ``--repeat``; target
  <= 5 s each at 1,000 sessions).

    .venv/bin/python benchmarks/study.py [--sessions 1000] [--repeat 2] [--dir DIR] [--keep]

The tree takes about 21 MB per hour of session (Parquet, zstd; the head pose is most of it): 1,000
sessions (about 670 hours) are 14 GB, and the whole run takes about 11 minutes on 2 cores; disk use
and time scale with ``--sessions`` (the baseline's files are deleted as it goes). Prints
figures, then as the last line one JSON object: sessions, export_ratio, max_query_s, queries
({name: s}) and the sizes and throughputs behind them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vr_exposure.research.export import TABLES, export, session_partition, session_tables  # noqa: E402
from vr_exposure.research.synthetic import SyntheticPlan, write_synthetic_session  # noqa: E402
from vr_exposure.research.timeline import (  # noqa: E402
    PoseArrays,
    SessionTimeline,
    StimulusArrays,
    load_timeline,
)

TEMPLATES = 20
SESSIONS_PER_PATIENT = 5
POSE_HZ = 90.0
STIMULUS_HZ = 10.0
SPIDER_M = (0.1, 1.4, 0.85)

QUERIES: dict[str, str] = {
    # Peak and end SUDS of every rung of every session (during exposure).
    "suds_peak_end_per_rung": """
        SELECT pseudonym, session, rung, max(suds_0_100) AS peak,
               arg_max(suds_0_100, t_s) AS end_suds, count(*) AS ratings
        FROM 'OUT/suds/**/*.parquet'
        WHERE during_exposure AND rung IS NOT NULL
        GROUP BY ALL ORDER BY pseudonym, session, rung""",
    # Within-session reduction ((peak - end) / peak), averaged per patient.
    "reduction_per_patient": """
        WITH s AS (
            SELECT pseudonym, session, max(suds_0_100) AS peak, arg_max(suds_0_100, t_s) AS end_suds
            FROM 'OUT/suds/**/*.parquet' WHERE during_exposure GROUP BY ALL)
        SELECT pseudonym, count(*) AS sessions,
               avg(CASE WHEN peak > 0 THEN 100 * (peak - end_suds) / peak END) AS mean_reduction_pct
        FROM s GROUP BY ALL ORDER BY pseudonym""",
    # Avoidance across all sessions: per patient, and each rung's beside its peak SUDS.
    "avoidance_per_patient": """
        SELECT pseudonym, count(*) AS sessions, avg(gaze_within_15deg_share) AS looked_at,
               avg(time_to_first_look_s) AS first_look_s, max(longest_look_away_s) AS longest_away_s,
               avg(mean_distance_m) AS distance_m, max(lean_back_max_m) AS lean_back_m
        FROM 'OUT/avoidance/**/*.parquet' WHERE scope = 'session'
        GROUP BY ALL ORDER BY pseudonym""",
    "avoidance_beside_suds_per_rung": """
        SELECT a.rung, count(*) AS periods, avg(a.gaze_within_15deg_share) AS looked_at,
               avg(s.peak) AS peak_suds, corr(a.gaze_within_15deg_share, s.peak) AS r
        FROM 'OUT/avoidance/**/*.parquet' a
        JOIN (SELECT session, rung, max(suds_0_100) AS peak FROM 'OUT/suds/**/*.parquet'
              WHERE during_exposure GROUP BY ALL) s USING (session, rung)
        WHERE a.scope = 'rung' GROUP BY ALL ORDER BY a.rung""",
    # Head-pose rows of every session.
    "pose_rows_per_session": """
        SELECT pseudonym, session, count(*) AS rows
        FROM 'OUT/pose/**/*.parquet' GROUP BY ALL ORDER BY pseudonym, session""",
    # A scan of the biggest table: how far the head moved about, per session.
    "head_range_per_session": """
        SELECT session, max(position_y_m) - min(position_y_m) AS range_y_m, avg(position_z_m) AS eye_z_m
        FROM 'OUT/pose/**/*.parquet' GROUP BY ALL""",
}


def _template_plan(k: int) -> SyntheticPlan:
    minutes = 20.0 + 40.0 * k / (TEMPLATES - 1)
    duration_s = minutes * 60.0
    rungs = max(2, int(minutes // 8))
    return SyntheticPlan(
        pseudonym=f"T{k:02d}",
        duration_s=duration_s,
        pose_rate_hz=2.0,  # the template's own pose is replaced at 90 Hz
        probe_interval_s=300.0,
        response_window_s=60.0,
        intensity_changes=int(minutes // 3),
        rung_changes_at_s=tuple(duration_s * (i + 1) / (rungs + 1) for i in range(rungs)),
        events_at_s=tuple((duration_s * f, "walk-toward") for f in (0.3, 0.6)),
        pause=(duration_s * 0.4, duration_s * 0.4 + 60.0),
        safe_place=(duration_s * 0.7, duration_s * 0.7 + 45.0),
        missed_probes=(3,),
        headset_probes=(2,),
        seed=100 + k,
        session_index=k % SESSIONS_PER_PATIENT,
        stimulus_m=SPIDER_M,
    )


def _yaw_pitch_quats(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    cy, sy = np.cos(yaw / 2), np.sin(yaw / 2)
    cp, sp = np.cos(pitch / 2), np.sin(pitch / 2)
    return np.stack((cy * sp, sy * sp, sy * cp, cy * cp), axis=1)


def _head_motion(tl: SessionTimeline, rng: np.random.Generator) -> tuple[PoseArrays, StimulusArrays]:
    """90 Hz head pose from the template's first to its last pose stamp, and 10 Hz stimulus records
    (none shown in the safe place), generated in numpy."""
    t0 = int(tl.pose.t_mono_ns[0])
    t1 = int(tl.pose.t_mono_ns[-1])
    n = int((t1 - t0) / 1e9 * POSE_HZ)
    period_ns = 1e9 / POSE_HZ
    t = (t0 + np.arange(n) * period_ns + rng.normal(0, 3e5, n)).astype(np.int64)  # ~0.3 ms jitter
    t.sort()
    ts = (t - t0) / 1e9
    # Looks at the spider and away, switching every few seconds; slow drift, a little tremor.
    switches = np.cumsum(rng.exponential(6.0, int(ts[-1] / 6.0) + 10))
    away = (np.searchsorted(switches, ts) % 2).astype(bool)
    target_yaw = np.where(away, rng.choice([-1.2, 1.0]), math.atan2(-SPIDER_M[0], SPIDER_M[1]))
    kernel = np.ones(45) / 45  # head turns take about half a second
    yaw = np.convolve(target_yaw, kernel, mode="same") + rng.normal(0, 0.01, n)
    pitch = -0.25 + 0.08 * np.sin(ts / 7.0) + rng.normal(0, 0.005, n)
    lean = 0.06 * away.astype(float)
    pos = np.stack(
        (
            0.02 * np.sin(ts / 3.0) + rng.normal(0, 0.001, n),
            -np.convolve(lean, kernel, mode="same") + 0.01 * np.cos(ts / 5.0),
            1.2 + 0.01 * np.sin(ts / 11.0) + rng.normal(0, 0.001, n),
        ),
        axis=1,
    )
    pose = PoseArrays(np.arange(n, dtype=np.int64), t, pos, _yaw_pitch_quats(yaw, pitch))

    m = int((t1 - t0) / 1e9 * STIMULUS_HZ)
    st = (t0 + np.arange(m) * (1e9 / STIMULUS_HZ)).astype(np.int64)
    shown = np.ones(m, dtype=bool)
    for ep in tl.safe_place:
        end = ep.end_mono_ns if ep.end_mono_ns is not None else t1 + 1
        shown &= ~((st >= ep.start_mono_ns) & (st < end))
    count = shown.astype(np.int64)
    k = int(count.sum())
    walk = np.stack((0.05 * np.sin(st[shown] / 9e9), np.zeros(k), np.zeros(k)), axis=1)
    stimuli = StimulusArrays(
        t_mono_ns=st,
        frame=(np.arange(m) * int(POSE_HZ / STIMULUS_HZ)).astype(np.int64),
        count=count,
        start=(np.cumsum(count) - count).astype(np.int64),
        node=("spider-00",) * k,
        tag=("spider",) * k,
        position_m=np.asarray(SPIDER_M)[None, :] + walk,
    )
    return pose, stimuli


def study_sessions(
    templates: list[SessionTimeline], sessions: int, seed: int = 1
) -> Iterator[SessionTimeline]:
    """``sessions`` timelines, one at a time: patient ``P<nnn>``'s sessions 1-5 on successive templates."""
    for i in range(sessions):
        tl = templates[i % len(templates)]
        rng = np.random.default_rng(seed + i)
        pose, stimuli = _head_motion(tl, rng)
        pseudonym = f"P{i // SESSIONS_PER_PATIENT:03d}"
        manifest = msgspec.structs.replace(
            tl.manifest, pseudonym=pseudonym, session_id=f"{tl.session_id[:16]}-{pseudonym}-{i:04x}"
        )
        yield dataclasses.replace(tl, manifest=manifest, pose=pose, stimuli=stimuli)


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each query (the best counts)")
    parser.add_argument("--dir", type=Path, default=None, help="where to work (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the exported tree (prints where)")
    args = parser.parse_args()
    import duckdb
    import pyarrow.parquet as pq

    work = Path(tempfile.mkdtemp(prefix="vr-exposure-study-", dir=args.dir))
    try:
        t0 = time.perf_counter()
        templates = [
            load_timeline(write_synthetic_session(work / "templates", _template_plan(k)).session_dir)
            for k in range(TEMPLATES)
        ]
        took_s = time.perf_counter() - t0
        print(f"{TEMPLATES} template sessions (20-60 min) played and read back in {took_s:.1f} s")

        out = work / "out"
        plain = work / "plain"
        side = {"s": 0.0, "plain_s": 0.0, "build_s": 0.0, "plain_bytes": 0, "pose_rows": 0, "hours": 0.0}

        def sessions() -> Iterator[SessionTimeline]:
            # Runs inside export()'s loop: whatever it spends (making the session, the baseline) is
            # taken off the export's time.
            for tl in study_sessions(templates, args.sessions):
                t_in = time.perf_counter()
                t = time.perf_counter()
                tables = session_tables(tl)
                side["build_s"] += time.perf_counter() - t
                # Baseline: the same tables, plain pyarrow, the same hive layout, default options.
                t = time.perf_counter()
                for name, table in tables.items():
                    d = plain / name / session_partition(tl)
                    d.mkdir(parents=True, exist_ok=True)
                    pq.write_table(table, d / "part-0.parquet")
                side["plain_s"] += time.perf_counter() - t
                side["plain_bytes"] += _tree_bytes(plain)
                shutil.rmtree(plain)
                del tables
                side["pose_rows"] += len(tl.pose)
                side["hours"] += tl.duration_s / 3600
                side["s"] += time.perf_counter() - t_in
                yield tl

        t = time.perf_counter()
        gen = iter(sessions())
        export(gen, out, "parquet")
        total_s = time.perf_counter() - t
        # The generator's own time includes making each session's arrays before it is measured:
        # time that too, on one session, and take it off per session.
        t = time.perf_counter()
        for _ in study_sessions(templates, 1):
            pass
        make_s = (time.perf_counter() - t) * args.sessions
        export_s = max(1e-9, total_s - side["s"] - make_s)
        plain_s = float(side["plain_s"])
        build_s = float(side["build_s"])
        plain_bytes = int(side["plain_bytes"])
        pose_rows = int(side["pose_rows"])
        hours = float(side["hours"])
        export_bytes = _tree_bytes(out)
        n = args.sessions
        print(
            f"{n} sessions, {hours:.0f} hours, {pose_rows / 1e6:.1f} M head-pose rows; "
            f"export tree {export_bytes / 1e9:.2f} GB"
        )
        print(
            f"export: {export_s:.1f} s = {n / export_s:.1f} sessions/s, "
            f"{export_bytes / 1e6 / export_s:.0f} MB/s "
            f"(tables built from the timeline, avoidance measures, write-then-rename)"
        )
        print(
            f"plain pyarrow write of the same tables: {plain_s:.1f} s = {n / plain_s:.1f} sessions/s, "
            f"{plain_bytes / 1e6 / plain_s:.0f} MB/s (building them took {build_s:.1f} s, not counted)"
        )
        ratio = plain_s / export_s
        print(f"export throughput / plain write: {ratio:.2f} (target >= 0.5)")

        con = duckdb.connect()
        timings: dict[str, float] = {}
        for name, sql in QUERIES.items():
            query = sql.replace("OUT", str(out))
            best = math.inf
            rows = 0
            for _ in range(max(1, args.repeat)):
                t = time.perf_counter()
                rows = len(con.sql(query).fetchall())
                best = min(best, time.perf_counter() - t)
            timings[name] = round(best, 3)
            print(f"query {name}: {best:.3f} s ({rows} rows)")
        [(counted,)] = con.sql(f"SELECT count(*) FROM '{out}/pose/**/*.parquet'").fetchall()
        assert counted == pose_rows, (counted, pose_rows)
        tables = sorted(p.name for p in out.iterdir() if p.is_dir())
        assert tables == sorted(TABLES), tables
        max_query = max(timings.values())
        print(f"slowest query: {max_query:.3f} s (target <= 5 s)")
        if args.keep:
            print(f"tree kept at {out}")
        print(
            json.dumps(
                {
                    "sessions": n,
                    "export_ratio": round(ratio, 3),
                    "max_query_s": round(max_query, 3),
                    "queries": timings,
                    "export_s": round(export_s, 2),
                    "plain_write_s": round(plain_s, 2),
                    "sessions_per_s": round(n / export_s, 2),
                    "export_mb_per_s": round(export_bytes / 1e6 / export_s, 1),
                    "plain_mb_per_s": round(plain_bytes / 1e6 / plain_s, 1),
                    "tree_gb": round(export_bytes / 1e9, 3),
                    "pose_rows": pose_rows,
                    "hours": round(hours, 1),
                }
            )
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
