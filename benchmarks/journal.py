"""Journal benchmark: telemetry throughput against a plain buffered file, and clinical fsync latency.

    .venv/bin/python benchmarks/journal.py [--events 200000] [--clinical 200] [--dir DIR]

In one process and one run, in a temporary directory (or ``--dir``, to measure another disk):

1. ``events_per_s``: ``--events`` head-pose telemetry records (the renderer's content: frame,
   t_mono_ns, position_m[3], orientation_xyzw[4] as full-precision floats) through
   ``JournalWriter.telemetry()``, timed from the first call until the writer thread has written
   them all (its periodic fsyncs included, no final fsync). The contents are built before timing.
2. ``raw_write_per_s``: the very bytes the writer produced for those records (read back from its
   file), written line by line with ``write()`` to a plain buffered file, then flushed and closed.
3. ``ratio`` = events_per_s / raw_write_per_s. Target (design section 7): >= 0.5.
4. ``clinical_fsync_p50_ms`` / ``clinical_fsync_p99_ms``: latency of ``clinical()`` (encode, write,
   fdatasync) for ``--clinical`` records, one every 2 ms, while 90 Hz telemetry flows.
   ``bare_fsync_p99_ms``: in the same loop, interleaved record by record (so both meet the same
   disk, page cache and machine load), a bare ``os.write`` + ``os.fdatasync`` of a line of the same
   size to a plain file beside the journal. ``clinical_p99_ratio`` = clinical p99 / bare p99: the
   journal's own cost on top of what the disk takes for a durable write. Target: <= 2.
5. ``caller_ns_per_telemetry``: what one ``telemetry()`` call costs its caller (the render loop);
   in this burst the caller shares the GIL with the encoder thread, so this is an upper bound.
6. ``cpu_ratio``: the same comparison in CPU time (all threads) instead of wall time: less
   sensitive to other load on the machine.
7. ``read_60min_s``: ``read_session`` of a 60-minute session (``--read-events`` head poses at
   90 Hz plus frame timing at 1 Hz, written through the writer). Target (design section 7): well
   under 1 s (the research tools' whole load-report-export budget is 2 s).

Prints figures, then as the LAST line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vr_exposure.journal import JournalWriter, create_session, read_session  # noqa: E402


def _poses(n: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    t0 = time.monotonic_ns()
    return [
        {
            "frame": i,
            "t_mono_ns": t0 + i * 11_111_111,
            "position_m": (rng.uniform(-1, 1), 1.6 + rng.uniform(-0.1, 0.1), rng.uniform(-1, 1)),
            "orientation_xyzw": (rng.random(), rng.random(), rng.random(), rng.random()),
        }
        for i in range(n)
    ]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _run_writer(root: Path, poses: list[dict[str, Any]]) -> tuple[float, float, float, list[bytes]]:
    """Wall time, CPU time (all threads) and caller ns per call for the writer; its telemetry lines."""
    n = len(poses)
    session = create_session(root, pseudonym="BENCH", software_version="bench", recover=False)
    writer = JournalWriter(session, "renderer", telemetry_queue_max=n + 1)
    telemetry = writer.telemetry
    c0 = time.process_time()
    t0 = time.perf_counter()
    for pose in poses:
        telemetry("head_pose", pose)
    t1 = time.perf_counter()
    writer.flush(fsync=False)
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    assert writer.telemetry_dropped == 0, "the benchmark queue must hold every event"
    writer.close()
    lines = [line for line in writer.path.read_bytes().splitlines(keepends=True) if b'"telemetry"' in line]
    assert len(lines) == n
    shutil.rmtree(session)  # every run starts with the same free page cache
    return t2 - t0, cpu, (t1 - t0) / n * 1e9, lines


def _run_raw(root: Path, lines: list[bytes]) -> tuple[float, float]:
    """Wall and CPU time to write ``lines`` one by one to a plain buffered file, flush and close."""
    path = root / "raw.bin"
    c0 = time.process_time()
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        write = f.write
        for line in lines:
            write(line)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    path.unlink()
    return wall, cpu


def bench_telemetry(root: Path, n: int, repeats: int) -> dict[str, float]:
    """Best of ``repeats`` for each side; the side that runs first alternates, so neither always
    meets the page cache the other left behind."""
    poses = _poses(n)
    best_writer = best_raw = cpu_writer = cpu_raw = caller_ns = float("inf")
    _wall, _cpu, _caller, lines = _run_writer(root, poses)  # the bytes for the raw side
    for i in range(repeats):
        runs = ("writer", "raw") if i % 2 == 0 else ("raw", "writer")
        for side in runs:
            if side == "writer":
                wall, cpu, caller, _lines = _run_writer(root, poses)
                best_writer, cpu_writer, caller_ns = (
                    min(best_writer, wall),
                    min(cpu_writer, cpu),
                    min(caller_ns, caller),
                )
            else:
                wall, cpu = _run_raw(root, lines)
                best_raw, cpu_raw = min(best_raw, wall), min(cpu_raw, cpu)
    return {
        "events_per_s": n / best_writer,
        "raw_write_per_s": n / best_raw,
        "caller_ns_per_telemetry": caller_ns,
        "cpu_ratio": cpu_raw / cpu_writer,
        "bytes_per_line": sum(map(len, lines)) / n,
    }


def bench_clinical(root: Path, m: int) -> dict[str, float]:
    session = create_session(root, pseudonym="BENCH", software_version="bench", recover=False)
    latencies_ms: list[float] = []
    bare_ms: list[float] = []
    poses = _poses(m * 2)
    bare_fd = os.open(root / "bare.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    datasync = getattr(os, "fdatasync", os.fsync)
    try:
        with JournalWriter(session, "console") as writer:
            line_bytes = 0
            for i in range(m):
                writer.telemetry("head_pose", poses[2 * i])
                writer.telemetry("head_pose", poses[2 * i + 1])
                content = {"probe_id": f"p{i}", "value": i % 101, "scale_max": 100, "source": "therapist"}
                t0 = time.perf_counter()
                writer.clinical("rating_recorded", content)
                latencies_ms.append((time.perf_counter() - t0) * 1e3)
                if not line_bytes:
                    line_bytes = len(writer.path.read_bytes().splitlines(keepends=True)[-1])
                line = (b"x" * (line_bytes - 1)) + b"\n"
                time.sleep(0.001)
                t0 = time.perf_counter()
                os.write(bare_fd, line)
                datasync(bare_fd)
                bare_ms.append((time.perf_counter() - t0) * 1e3)
                time.sleep(0.001)
    finally:
        os.close(bare_fd)
    return {
        "clinical_fsync_p50_ms": statistics.median(latencies_ms),
        "clinical_fsync_p99_ms": _percentile(latencies_ms, 99),
        "clinical_fsync_max_ms": max(latencies_ms),
        "bare_fsync_p50_ms": statistics.median(bare_ms),
        "bare_fsync_p99_ms": _percentile(bare_ms, 99),
        "clinical_p99_ratio": _percentile(latencies_ms, 99) / _percentile(bare_ms, 99),
    }


def bench_read(root: Path, n: int) -> dict[str, float]:
    session = create_session(root, pseudonym="BENCH", software_version="bench", recover=False)
    poses = _poses(n)
    with JournalWriter(session, "renderer", telemetry_queue_max=n + n // 90 + 10) as writer:
        for i, pose in enumerate(poses):
            writer.telemetry("head_pose", pose)
            if i % 90 == 0:
                writer.telemetry(
                    "frame_timing",
                    {"median_ms": 11.1, "p99_ms": 12.4, "dropped": 0, "frames": 90, "window_s": 1.0},
                )
            if i % 27_000 == 0:
                writer.clinical("rating_recorded", {"value": 50, "scale_max": 100, "source": "simulated"})
    del poses
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        log = read_session(session)
        best = min(best, time.perf_counter() - t0)
        assert len(log.by_type("head_pose")) == n and not log.warnings
        del log
    return {"read_60min_s": best, "read_mb": (session / "renderer.jsonl").stat().st_size / 1e6}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000, help="telemetry records (default 200000)")
    parser.add_argument("--clinical", type=int, default=200, help="clinical records (default 200)")
    parser.add_argument(
        "--read-events", type=int, default=324_000, help="head poses to read (default: 60 min)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument("--dir", type=Path, default=None, help="directory on the disk to measure")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="vr-exposure-bench-") as tmp:
        root = Path(tmp)
        tel = bench_telemetry(root, args.events, args.repeats)
        clin = bench_clinical(root, args.clinical)
        read = bench_read(root, args.read_events)
    ratio = tel["events_per_s"] / tel["raw_write_per_s"]
    print(
        f"telemetry through the writer: {tel['events_per_s']:,.0f} events/s "
        f"({tel['bytes_per_line']:.0f} bytes/line, {args.events} events, best of {args.repeats})"
    )
    print(f"same bytes, plain buffered file: {tel['raw_write_per_s']:,.0f} lines/s")
    print(f"ratio: {ratio:.2f} (target >= 0.5)")
    print(f"CPU time (all threads) raw / writer: {tel['cpu_ratio']:.2f}")
    print(f"caller cost of telemetry(): {tel['caller_ns_per_telemetry']:.0f} ns per call")
    print(
        f"clinical() incl. fdatasync: p50 {clin['clinical_fsync_p50_ms']:.2f} ms, "
        f"p99 {clin['clinical_fsync_p99_ms']:.2f} ms, max {clin['clinical_fsync_max_ms']:.2f} ms "
        f"({args.clinical} records, filesystem of {os.fspath(args.dir or tempfile.gettempdir())})"
    )
    print(
        f"bare write + fdatasync of the same line size, interleaved: p50 {clin['bare_fsync_p50_ms']:.2f} ms, "
        f"p99 {clin['bare_fsync_p99_ms']:.2f} ms; clinical p99 / bare p99 = "
        f"{clin['clinical_p99_ratio']:.2f} (target <= 2)"
    )
    print(
        f"read_session of {args.read_events} head poses ({read['read_mb']:.0f} MB): "
        f"{read['read_60min_s']:.2f} s (target well under 1 s)"
    )
    result = {
        "events_per_s": round(tel["events_per_s"]),
        "raw_write_per_s": round(tel["raw_write_per_s"]),
        "ratio": round(ratio, 3),
        "cpu_ratio": round(tel["cpu_ratio"], 3),
        "caller_ns_per_telemetry": round(tel["caller_ns_per_telemetry"]),
        "clinical_fsync_p50_ms": round(clin["clinical_fsync_p50_ms"], 3),
        "clinical_fsync_p99_ms": round(clin["clinical_fsync_p99_ms"], 3),
        "bare_fsync_p99_ms": round(clin["bare_fsync_p99_ms"], 3),
        "clinical_p99_ratio": round(clin["clinical_p99_ratio"], 3),
        "read_60min_s": round(read["read_60min_s"], 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
