"""The crash test: a child journals clinical records and telemetry and is SIGKILLed at random
points; every clinical record whose ``clinical()`` call returned must be read back, the reader
must never raise on what the kill left, and recovery must seal the session."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vr_exposure.journal import create_session, read_manifest, read_session, recover_unsealed, verify_session

RUNS = 8


def _run_and_kill(session_dir: Path, process: str, kill_after_s: float, repo_root: Path) -> dict[int, int]:
    """Start the child, SIGKILL it ``kill_after_s`` after its first acknowledged record, and return
    every ``{seq: n}`` it reported."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.journal.crash_child", str(session_dir), process],
        cwd=repo_root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    reported: dict[int, int] = {}
    try:
        first = child.stdout.readline()  # blocks until the child acknowledged one record (or died)
        assert first, (
            f"the child died before journaling: {child.stderr.read().decode() if child.stderr else ''}"
        )
        seq, n = map(int, first.split())
        reported[seq] = n
        time.sleep(kill_after_s)
        child.send_signal(signal.SIGKILL)
        rest, err = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL, err.decode()
    # Each line is one write of < PIPE_BUF bytes (atomic); text after the last newline, if any, is
    # not a complete report and is ignored.
    for line in rest.decode().split("\n")[:-1]:
        seq, n = map(int, line.split())
        reported[seq] = n
    return reported


@pytest.mark.slow
def test_every_acknowledged_clinical_record_survives_sigkill(tmp_path: Path, repo_root: Path) -> None:
    rng = random.Random(20261124)
    root = tmp_path / "sessions"
    for run in range(RUNS):
        session_dir = create_session(root, pseudonym=f"P{run:03d}", software_version="test", recover=False)
        process = "renderer" if run % 2 == 0 else "console"
        reported = _run_and_kill(session_dir, process, rng.uniform(0.05, 0.5), repo_root)
        assert reported, "the child acknowledged no record"

        log = read_session(session_dir)  # must not raise, whatever the kill left behind
        clinical = {r.seq: r.content["n"] for r in log.records if r.kind == "clinical"}
        missing = {seq: n for seq, n in reported.items() if clinical.get(seq) != n}
        assert not missing, f"run {run}: acknowledged records lost: {sorted(missing)[:10]}"
        # Nothing after the kill can be lost in the middle: seq has no gap, and at most the
        # last line is torn.
        assert [w.code for w in log.warnings if w.code not in ("torn_line",)] == []
        seqs = [r.seq for r in log.records if r.process == process]
        assert seqs == list(range(len(seqs)))

        # The process died without closing: recovery seals the session as it is.
        size_before = (session_dir / f"{process}.jsonl").stat().st_size
        reports = recover_unsealed(root)
        assert [Path(r.session_dir).name for r in reports] == [session_dir.name]
        manifest = read_manifest(session_dir)
        assert manifest.sealed and manifest.recovered
        assert manifest.files[0].recovered and manifest.files[0].closed is None
        assert (session_dir / f"{process}.jsonl").stat().st_size == size_before  # nothing truncated
        assert verify_session(session_dir).ok
