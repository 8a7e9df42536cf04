"""Exports: CSV and Parquet round-trip every count; the Parquet tree reads as it is in pyarrow, DuckDB and
Polars; exports are incremental, idempotent and safe to kill; BIDS passes the official validator."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from vr_exposure.research.export import (
    TABLE_TYPES,
    TABLES,
    ExportError,
    export,
    read_table,
    session_partition,
    table_schema,
)
from vr_exposure.research.timeline import load_timeline

from .conftest import Synthetic

ROOT = Path(__file__).resolve().parents[2]
# The validator installed beside the Python running the tests (the dev extra), else the repo's .venv.
VALIDATOR = next(
    (
        p
        for p in (
            Path(sys.executable).parent / "bids-validator-deno",
            ROOT / ".venv" / "bin" / "bids-validator-deno",
        )
        if p.exists()
    ),
    ROOT / ".venv" / "bin" / "bids-validator-deno",
)


def _expected(session: Path) -> dict[str, int]:
    tl = load_timeline(session)
    return {
        "suds": len(tl.ratings),
        "intensity": len(tl.intensity),
        "pose": len(tl.pose),
        "frames": len(tl.frames),
        "events": len(tl.events),
        "avoidance": len(tl.avoidance()),
        "stimulus": int(np.maximum(tl.stimuli.count, 1).sum()) if len(tl.stimuli) else 0,
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
    readme = (out / "_README.md").read_text()
    schema = json.loads((out / "_schema.json").read_text())
    assert schema["format"] == fmt and schema["partition_columns"] == ["pseudonym", "session"]
    for name in TABLES:
        assert f"### {name}" in readme
        assert (out / name).is_dir()
        assert [c["name"] for c in schema["tables"][name]["columns"]] == [
            *TABLE_TYPES[name],
            "pseudonym",
            "session",
        ]
    index = json.loads((out / "_sessions.json").read_text())
    for session in sessions:
        tl = load_timeline(session)
        assert index[tl.session_id]["pseudonym"] == tl.pseudonym
        for table, n in _expected(session).items():
            path = out / table / f"pseudonym={tl.pseudonym}" / f"session={tl.session_id}" / f"part-0.{fmt}"
            t = pq.read_table(path) if fmt == "parquet" else pcsv.read_csv(path)
            assert t.num_rows == n == index[tl.session_id]["rows"][table], (session.name, table)
        d = f"pseudonym={tl.pseudonym}/session={tl.session_id}/part-0.{fmt}"
        pose = pq.read_table(out / "pose" / d) if fmt == "parquet" else pcsv.read_csv(out / "pose" / d)
        for col in ("t_s", "t_mono_ns", "position_x_m", "position_z_m", "orientation_w", "intensity_0_100"):
            assert col in pose.column_names
        if len(tl.pose):
            assert pose.column("t_mono_ns").to_pylist() == tl.pose.t_mono_ns.tolist()
        suds = pq.read_table(out / "suds" / d) if fmt == "parquet" else pcsv.read_csv(out / "suds" / d)
        assert suds.column("suds_0_100").to_pylist() == [r.value for r in tl.ratings]
        if fmt == "parquet":
            avoid = pq.read_table(out / "avoidance" / d).to_pylist()
            expected = [r.as_dict() for r in tl.avoidance()]
            assert len(avoid) == len(expected)
            for got, want in zip(avoid, expected, strict=True):
                for key, value in want.items():
                    if isinstance(value, float) and math.isnan(value):
                        assert got[key] is None, key
                    else:
                        assert got[key] == value, key
    # Every Parquet file has the declared schema, an empty table too.
    if fmt == "parquet":
        for name in TABLES:
            for path in (out / name).rglob("*.parquet"):
                assert pq.read_schema(path).remove_metadata() == table_schema(name), path


def _docs_block(heading: str, lang: str) -> str:
    """A code block of docs/research.md under ``heading``, as the reader sees it."""
    text = (ROOT / "docs" / "research.md").read_text()
    section = text[text.index(heading) :]
    return section.split(f"```{lang}\n", 1)[1].split("```", 1)[0]


@pytest.fixture(scope="module")
def parquet_tree(synthetic: Synthetic, demo_session: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    timelines = [load_timeline(s.session_dir) for s in synthetic.sessions] + [load_timeline(demo_session)]
    root = tmp_path_factory.mktemp("tree")
    export(timelines, root / "out", "parquet")
    return root


def _timelines(synthetic: Synthetic, demo_session: Path) -> list:
    return [load_timeline(s.session_dir) for s in synthetic.sessions] + [load_timeline(demo_session)]


def test_pyarrow_reads_the_tree_as_it_is(
    parquet_tree: Path, synthetic: Synthetic, demo_session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/research.md's pyarrow query, run as written there: plain pyarrow.dataset on one table's
    directory, hive partitioning, no project code."""
    timelines = _timelines(synthetic, demo_session)
    monkeypatch.chdir(parquet_tree)  # the documented code reads "out"
    namespace: dict[str, object] = {}
    exec(_docs_block("### pyarrow", "python"), namespace)
    per_session = namespace["per_session"]
    assert isinstance(per_session, pa.Table)
    rows = {(r["pseudonym"], r["session"]): r for r in per_session.to_pylist()}
    assert len(rows) == len(timelines)
    for tl in timelines:
        row = rows[(tl.pseudonym, tl.session_id)]
        assert row["suds_0_100_count"] == len(tl.ratings)
        assert row["suds_0_100_max"] == max(r.value for r in tl.ratings)
    out = parquet_tree / "out"
    pose = read_table(out, "pose")
    assert pose.num_rows == sum(len(tl.pose) for tl in timelines)
    p042 = pc.equal(pose.column("pseudonym"), "P042")
    assert pc.sum(p042).as_py() == sum(len(tl.pose) for tl in timelines if tl.pseudonym == "P042")
    # Every table reads on its own with the two partition columns, the readers' defaults only.
    for name in TABLES:
        t = ds.dataset(out / name, format="parquet", partitioning="hive").to_table()
        assert t.column_names == [*TABLE_TYPES[name], "pseudonym", "session"], name
        assert set(t.column("session").to_pylist()) <= {tl.session_id for tl in timelines}


def test_duckdb_reads_the_tree_as_it_is(
    parquet_tree: Path, synthetic: Synthetic, demo_session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    duckdb = pytest.importorskip("duckdb", reason="duckdb is a dev dependency (pip install -e .[dev])")
    timelines = _timelines(synthetic, demo_session)
    monkeypatch.chdir(parquet_tree)
    rows = duckdb.sql(_docs_block("### DuckDB", "sql")).fetchall()
    assert len(rows) == len(timelines)
    by_key = {(p, s): (peak, n) for p, s, peak, n in rows}
    for tl in timelines:
        assert by_key[(tl.pseudonym, tl.session_id)] == (max(r.value for r in tl.ratings), len(tl.ratings))
    [(n_pose,)] = duckdb.sql("SELECT count(*) FROM 'out/pose/**/*.parquet'").fetchall()
    assert n_pose == sum(len(tl.pose) for tl in timelines)


def test_polars_reads_the_tree_as_it_is(
    parquet_tree: Path, synthetic: Synthetic, demo_session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("polars", reason="polars is not installed")
    timelines = _timelines(synthetic, demo_session)
    monkeypatch.chdir(parquet_tree)
    namespace: dict[str, object] = {}
    exec(_docs_block("### Polars", "python"), namespace)
    df = namespace["per_session"]
    rows = {(r["pseudonym"], r["session"]): r for r in df.to_dicts()}  # type: ignore[attr-defined]
    for tl in timelines:
        row = rows[(tl.pseudonym, tl.session_id)]
        assert (row["peak"], row["ratings"]) == (max(r.value for r in tl.ratings), len(tl.ratings))


def _spark_missing() -> str | None:
    import importlib.util
    import shutil

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Spark needs Java, and no java is on PATH (nor JAVA_HOME set)"
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install pyspark; the dev set-up does not install Spark)"
    return None


@pytest.mark.skipif(_spark_missing() is not None, reason=str(_spark_missing()))
def test_spark_reads_the_tree_and_agrees_with_duckdb(
    parquet_tree: Path, synthetic: Synthetic, demo_session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/research.md's Spark block in local mode, on the tree as it is: the same per-session
    figures as DuckDB."""
    duckdb = pytest.importorskip("duckdb", reason="duckdb is a dev dependency (pip install -e .[dev])")
    monkeypatch.chdir(parquet_tree)
    namespace: dict[str, object] = {}
    try:
        exec(_docs_block("### Spark", "python"), namespace)
        spark_rows = {
            (r["pseudonym"], r["session"]): (r["peak"], r["ratings"])
            for r in namespace["per_session"]  # type: ignore[attr-defined]
        }
        avoid = namespace["spark"].read.parquet("out/avoidance")  # type: ignore[attr-defined]
        spark_avoid = sorted(
            (r["session"], r["scope"], r["rung"], r["gaze_within_15deg_share"]) for r in avoid.collect()
        )
    finally:
        if "spark" in namespace:
            namespace["spark"].stop()  # type: ignore[attr-defined]
    duck_rows = {
        (p, s): (peak, n) for p, s, peak, n in duckdb.sql(_docs_block("### DuckDB", "sql")).fetchall()
    }
    assert spark_rows == duck_rows
    duck_avoid = sorted(
        duckdb.sql(
            "SELECT session, scope, rung, gaze_within_15deg_share FROM 'out/avoidance/**/*.parquet'"
        ).fetchall()
    )
    assert spark_avoid == duck_avoid and len(duck_avoid) >= len(synthetic.sessions)
    assert len(spark_rows) == len(_timelines(synthetic, demo_session))


def _tree_state(out: Path) -> dict[str, tuple[int, int, bytes]]:
    return {
        str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def test_export_is_incremental_and_idempotent(synthetic: Synthetic, tmp_path: Path) -> None:
    first, second = synthetic.sessions[:2], synthetic.sessions[2:]
    tl_first = [load_timeline(s.session_dir) for s in first]
    tl_second = [load_timeline(s.session_dir) for s in second]
    out = tmp_path / "out"
    export(tl_first, out, "parquet")
    before = _tree_state(out)
    # More sessions: added, the others' files untouched (same inode, same mtime, same bytes).
    export(tl_second, out, "parquet")
    after = _tree_state(out)
    for name, state in before.items():
        if not name.startswith("_"):
            assert after[name] == state, name
    new = {n for n in after if n not in before}
    assert new == {f"{t}/{session_partition(tl)}/part-0.parquet" for t in TABLES for tl in tl_second}
    index = json.loads((out / "_sessions.json").read_text())
    assert sorted(index) == sorted(tl.session_id for tl in tl_first + tl_second)
    # The same session again: exactly its files, the same bytes; nothing else appears or goes.
    victim = tl_first[0]
    for t in TABLES:  # damage its files and leave a stray part: the re-export puts back exactly them
        d = out / t / session_partition(victim)
        (d / "part-0.parquet").write_bytes(b"damaged")
        (d / "part-1.parquet").write_bytes(b"stray")
    export([victim], out, "parquet")
    again = _tree_state(out)
    assert {n: s[2] for n, s in again.items()} == {n: s[2] for n, s in after.items()}
    # A fresh export of all of them into another directory gives the very same tree.
    other = tmp_path / "other"
    export(tl_second + tl_first, other, "parquet")
    assert {n: s[2] for n, s in _tree_state(other).items()} == {n: s[2] for n, s in again.items()}


def test_a_killed_export_leaves_nothing_a_reader_takes_for_complete(
    synthetic: Synthetic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer dies half-way through a file (as a SIGKILL would leave it): every file a reader
    sees is complete, the half-written one is hidden, and the next export finishes the job."""
    import vr_exposure.research.export as export_mod

    timelines = [load_timeline(s.session_dir) for s in synthetic.sessions]
    out = tmp_path / "out"
    export(timelines[:1], out, "parquet")
    real = export_mod._encode_table
    calls = {"n": 0}

    class Killed(BaseException):
        pass

    def dying(table: pa.Table, fmt: str, path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == len(TABLES) + 4:  # the second session, its fourth table: half a file, then death
            real(table, fmt, path)
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
            raise Killed
        real(table, fmt, path)

    monkeypatch.setattr(export_mod, "_encode_table", dying)
    with pytest.raises(Killed):
        export(timelines, out, "parquet")
    monkeypatch.setattr(export_mod, "_encode_table", real)
    # A real kill skips the clean-up a raised exception gets: put the half-written file back.
    d = out / TABLES[3] / session_partition(timelines[1])
    d.mkdir(parents=True, exist_ok=True)
    (d / f".part-0.parquet.{os.getpid()}.tmp").write_bytes(b"PAR1 half a file")
    for p in out.rglob("*.parquet"):
        pq.read_metadata(p)  # every visible file is whole
    for name in TABLES:
        t = ds.dataset(out / name, format="parquet", partitioning="hive").to_table()
        assert set(t.column("session").to_pylist()) <= {tl.session_id for tl in timelines[:1]}, name
    index = json.loads((out / "_sessions.json").read_text())
    assert list(index) == [timelines[0].session_id]
    export(timelines, out, "parquet")
    assert not [p for p in out.rglob(".*") if p.is_file()]
    for name in TABLES:
        t = ds.dataset(out / name, format="parquet", partitioning="hive").to_table()
        assert set(t.column("session").to_pylist()) <= {tl.session_id for tl in timelines}


def test_export_refuses_a_directory_that_is_not_an_export(synthetic: Synthetic, tmp_path: Path) -> None:
    tl = load_timeline(synthetic.sessions[0].session_dir)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty and not a vr-exposure export"):
        export([tl], tmp_path, "parquet")
    out = tmp_path / "csv"
    export([tl], out, "csv")
    with pytest.raises(ExportError, match="holds a csv export"):
        export([tl], out, "parquet")


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
    # The synthetic sessions journal stimulus positions: their avoidance measures are beh files.
    assert len(list(out.glob("sub-*/ses-*/beh/*_beh.tsv"))) >= len(synthetic.sessions)
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
        ratings = [e for e in ev if e["trial_type"] == "suds_recorded" and e["process"] == "console"]
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
        beh = motion.parent.parent / "beh" / motion.name.replace("_tracksys-HMD_motion.tsv", "_beh.tsv")
        measures = tl.avoidance()
        if measures:
            got = _tsv(beh)
            assert [r["scope"] for r in got] == [m.scope for m in measures]
            assert [float(r["gaze_within_15deg_share"]) for r in got] == pytest.approx(
                [m.gaze_within_15deg_share for m in measures], abs=1e-6
            )
            described = json.loads(beh.with_suffix(".json").read_text())
            assert set(got[0]) <= set(described), "every beh column is described"
        else:
            assert not beh.exists()
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
