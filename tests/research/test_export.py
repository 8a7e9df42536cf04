"""Exports: CSV and Parquet round-trip every count, Parquet reads across sessions, BIDS passes the
official validator."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from vr_exposure.research.export import TABLES, export, read_table
from vr_exposure.research.timeline import load_timeline

from .conftest import Synthetic

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT / ".venv" / "bin" / "bids-validator-deno"


def _expected(session: Path) -> dict[str, int]:
    tl = load_timeline(session)
    return {
        "suds": len(tl.ratings),
        "intensity": len(tl.intensity),
        "pose": len(tl.pose),
        "frames": len(tl.frames),
        "events": len(tl.events),
    }


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_round_trip_counts(fmt: str, synthetic: Synthetic, demo_session: Path, tmp_path: Path) -> None:
    sessions = [s.session_dir for s in synthetic.sessions] + [demo_session]
    out = tmp_path / fmt
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "export",
            *map(str, sessions),
            "--format",
            fmt,
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    readme = (out / "README.md").read_text()
    for name in TABLES:
        assert f"### {name}" in readme
    for session in sessions:
        tl = load_timeline(session)
        d = out / f"pseudonym={tl.pseudonym}" / f"session={tl.session_id}"
        for table, n in _expected(session).items():
            path = d / f"{table}.{fmt}"
            t = pq.read_table(path) if fmt == "parquet" else pcsv.read_csv(path)
            assert t.num_rows == n, (session.name, table)
        pose = pq.read_table(d / "pose.parquet") if fmt == "parquet" else pcsv.read_csv(d / "pose.csv")
        for col in ("t_s", "t_mono_ns", "position_x_m", "position_z_m", "orientation_w", "intensity_0_100"):
            assert col in pose.column_names
        if len(tl.pose):
            assert pose.column("t_mono_ns").to_pylist() == tl.pose.t_mono_ns.tolist()
        suds = pq.read_table(d / "suds.parquet") if fmt == "parquet" else pcsv.read_csv(d / "suds.csv")
        assert suds.column("suds_0_100").to_pylist() == [r.value for r in tl.ratings]


def _docs_query() -> str:
    """The pyarrow code of docs/research.md's "A query across sessions", as the reader sees it."""
    text = (ROOT / "docs" / "research.md").read_text()
    section = text[text.index("### A query across sessions") :]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_parquet_reads_across_sessions(
    synthetic: Synthetic, demo_session: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cross-session query of docs/research.md, run as written there: peak SUDS and the number
    of ratings per pseudonym and session."""
    timelines = [load_timeline(s.session_dir) for s in synthetic.sessions] + [load_timeline(demo_session)]
    out = tmp_path / "out"
    export(timelines, out, "parquet")
    monkeypatch.chdir(tmp_path)  # the documented code reads "out"
    namespace: dict[str, object] = {}
    exec(_docs_query(), namespace)
    per_session = namespace["per_session"]
    assert isinstance(per_session, pa.Table)
    rows = {(r["pseudonym"], r["session"]): r for r in per_session.to_pylist()}
    assert len(rows) == len(timelines)
    for tl in timelines:
        row = rows[(tl.pseudonym, tl.session_id)]
        assert row["suds_0_100_count"] == len(tl.ratings)
        assert row["suds_0_100_max"] == max(r.value for r in tl.ratings)
    pose = read_table(out, "pose")
    assert pose.num_rows == sum(len(tl.pose) for tl in timelines)
    p042 = pc.equal(pose.column("pseudonym"), "P042")
    assert pc.sum(p042).as_py() == sum(len(tl.pose) for tl in timelines if tl.pseudonym == "P042")


def _tsv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text()), delimiter="\t"))


def _validate(dataset: Path) -> dict:
    result = subprocess.run(
        [str(VALIDATOR), "--format", "json", str(dataset)], capture_output=True, text=True, timeout=120
    )
    return json.loads(result.stdout)


def _errors(report: dict) -> list[dict]:
    return [i for i in report["issues"]["issues"] if i["severity"] == "error"]


@pytest.mark.skipif(not VALIDATOR.exists(), reason="bids-validator-deno is not installed in .venv")
def test_bids_dataset_passes_the_validator_and_round_trips(
    synthetic: Synthetic, demo_session: Path, killed_session: Path, tmp_path: Path
) -> None:
    sessions = [s.session_dir for s in synthetic.sessions] + [demo_session, killed_session]
    timelines = [load_timeline(s) for s in sessions]
    out = tmp_path / "bids"
    export(timelines, out, "bids")
    report = _validate(out)
    assert _errors(report) == [], _errors(report)

    participants = (out / "participants.tsv").read_text().splitlines()
    assert participants[0] == "participant_id"
    assert sorted(participants[1:]) == sorted({f"sub-{tl.pseudonym}" for tl in timelines})
    motion_files = sorted(out.glob("sub-*/ses-*/motion/*_motion.tsv"))
    # Three P042 sessions a week apart, the demo and the killed one today: all distinct sessions.
    assert len(motion_files) == sum(1 for tl in timelines if len(tl.pose))
    total_rows = sum(len(p.read_text().splitlines()) for p in motion_files)
    assert total_rows == sum(len(tl.pose) for tl in timelines)
    for tl in timelines:
        scans = list(out.glob(f"sub-{tl.pseudonym}/ses-*/*_scans.tsv"))
        rows = [r for s in scans for r in _tsv(s)]
        [row] = [r for r in rows if r["vr_exposure_session_id"] == tl.session_id]
        motion = next(p for p in motion_files if p.name.endswith(row["filename"].split("/")[-1]))
        lines = motion.read_text().splitlines()
        assert len(lines) == len(tl.pose)
        first = [float(v) for v in lines[0].split("\t")]
        assert first[:3] == pytest.approx(tl.pose.position_m[0].tolist())
        assert first[3:7] == pytest.approx(tl.pose.orientation_xyzw[0].tolist())
        assert first[7] == 0.0  # latency from the first sample
        events = motion.parent / motion.name.replace("_tracksys-HMD_motion.tsv", "_events.tsv")
        ev = _tsv(events)
        ratings = [e for e in ev if e["trial_type"] == "rating_recorded" and e["process"] == "console"]
        assert [float(e["value"]) for e in ratings] == [r.value for r in tl.ratings]
        changes = [
            e
            for e in ev
            if e["trial_type"] in ("scene_loaded", "intensity_changed", "preset_applied")
            and e["process"] == "renderer"
        ]
        assert len(changes) == len(tl.intensity)
        sidecar = json.loads(motion.with_suffix(".json").read_text())
        assert sidecar["TrackingSystemName"] == "HMD" and sidecar["SamplingFrequency"] > 0
        chans = motion.parent / motion.name.replace("_motion.tsv", "_channels.tsv")
        types = [line.split("\t")[2] for line in chans.read_text().splitlines()[1:]]
        assert types == ["POS"] * 3 + ["ORNT"] * 4 + ["LATENCY"]

    # Deterministic: the same sessions give the same bytes.
    again = tmp_path / "bids-again"
    export(timelines, again, "bids")
    for path in out.rglob("*"):
        if path.is_file():
            assert (again / path.relative_to(out)).read_bytes() == path.read_bytes(), path

    # The validator is really checking: a motion file that disagrees with its channels fails.
    broken = motion_files[0]
    broken.write_text("\n".join(line + "\t0" for line in broken.read_text().splitlines()) + "\n")
    assert _errors(_validate(out)), "a motion file with an extra column should not validate"
