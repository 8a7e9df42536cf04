"""Sealing (SHA-256 per file, the same digests ``sha256sum`` prints), verifying, sealing while a
writer is still open, and recovery of sessions whose processes died."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vr_exposure.core.clock import FakeClock
from vr_exposure.journal import (
    JournalWriter,
    create_session,
    read_manifest,
    read_session,
    recover_unsealed,
    seal_session,
    verify_session,
)

from .conftest import died_mid_write


def _finished(session: Path) -> None:
    with JournalWriter(session, "renderer") as writer:
        for i in range(10):
            writer.telemetry("head_pose", {"frame": i})
        writer.clinical("stopped", {"reason": "done"})


def test_seal_records_sha256_lines_and_size(session: Path) -> None:
    _finished(session)
    result = seal_session(session)
    assert result.sealed and result.pending == [] and not result.already
    manifest = read_manifest(session)
    assert manifest.sealed and manifest.sealed_at is not None and not manifest.recovered
    entry = manifest.files[0]
    data = (session / "renderer.jsonl").read_bytes()
    assert entry.sha256 == hashlib.sha256(data).hexdigest()
    assert (entry.lines, entry.bytes, entry.torn_tail_bytes) == (data.count(b"\n"), len(data), 0)
    assert verify_session(session).ok
    assert seal_session(session).already


def test_sha256sum_agrees_with_the_manifest(session: Path) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("no sha256sum here")
    _finished(session)
    seal_session(session)
    out = subprocess.run(
        ["sha256sum", "renderer.jsonl"], cwd=session, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[0] == json.loads((session / "manifest.json").read_text())["files"][0]["sha256"]


@pytest.mark.parametrize("offset", [0, 100, -2])
def test_verify_detects_a_modified_byte(session: Path, offset: int) -> None:
    _finished(session)
    seal_session(session)
    path = session / "renderer.jsonl"
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify_session(session)
    assert not result.ok
    assert len(result.problems) == 1 and result.problems[0].startswith("renderer.jsonl: SHA-256 is ")


def test_verify_detects_appended_missing_and_extra_files(session: Path) -> None:
    _finished(session)
    seal_session(session)
    with open(session / "renderer.jsonl", "ab") as f:
        f.write(b"{}\n")
    (session / "intruder.jsonl").write_bytes(b"")
    problems = verify_session(session).problems
    assert any("SHA-256" in p for p in problems)
    assert any("lines, the manifest says" in p for p in problems)
    assert "intruder.jsonl: not listed in the manifest" in problems
    (session / "renderer.jsonl").unlink()
    assert "renderer.jsonl: missing" in verify_session(session).problems


def test_verify_an_unsealed_session_says_so(session: Path) -> None:
    _finished(session)
    result = verify_session(session)
    assert not result.ok and result.problems == ["manifest.json: the session is not sealed"]


def test_sealing_waits_for_a_live_writer_which_finishes_the_seal(session: Path) -> None:
    console = JournalWriter(session, "console")
    renderer = JournalWriter(session, "renderer")
    console.clinical("session_summary", {})
    console.close()
    result = seal_session(session)
    assert not result.sealed and result.pending == ["renderer.jsonl"]
    manifest = read_manifest(session)
    assert manifest.seal_requested and not manifest.sealed
    assert manifest.file_entry("console.jsonl").sealed  # type: ignore[union-attr]
    renderer.clinical("stopped", {"reason": "console ended the session"})  # still writing: fine
    renderer.close()
    manifest = read_manifest(session)
    assert manifest.sealed and not manifest.seal_requested
    assert verify_session(session).ok


def test_recovery_seals_an_unsealed_session_without_truncating(root: Path, clock: FakeClock) -> None:
    session = died_mid_write(root, clock)
    before = (session / "renderer.jsonl").read_bytes()
    reports = recover_unsealed(root, clock=clock)
    assert len(reports) == 1
    report = reports[0]
    assert report.recovered_files == ["renderer.jsonl"] and report.torn_tail_bytes["renderer.jsonl"] == 16
    assert report.sealed and str(report) == (
        f"{session.name}: renderer.jsonl not closed cleanly, "
        "torn tails left in place: {'renderer.jsonl': 16}; sealed"
    )
    assert (session / "renderer.jsonl").read_bytes() == before  # the torn tail stays in place
    manifest = read_manifest(session)
    assert manifest.sealed and manifest.recovered
    entry = manifest.file_entry("renderer.jsonl")
    assert entry is not None and entry.recovered and entry.torn_tail_bytes == 16
    assert entry.sha256 == hashlib.sha256(before).hexdigest()
    assert not manifest.file_entry("console.jsonl").recovered  # type: ignore[union-attr]
    assert verify_session(session).ok
    log = read_session(session)
    assert [w.code for w in log.warnings] == ["torn_line"] and len(log.by_type("note")) == 3
    assert recover_unsealed(root, clock=clock) == []  # nothing left to do


def test_recovery_leaves_sessions_with_a_live_writer_alone(root: Path, clock: FakeClock) -> None:
    session = create_session(root, pseudonym="P8", software_version="0", recover=False)
    with JournalWriter(session, "renderer"):
        assert recover_unsealed(root) == []
        assert not read_manifest(session).sealed


def test_recovery_adds_files_the_manifest_never_listed(root: Path, clock: FakeClock) -> None:
    session = create_session(root, pseudonym="P9", software_version="0", clock=clock, recover=False)
    (session / "renderer.jsonl").write_text(
        '{"seq": 0, "t_mono_ns": 1, "process": "renderer", "kind": "meta"}\n'
    )
    clock.advance(120)
    [report] = recover_unsealed(root, clock=clock)
    assert report.recovered_files == ["renderer.jsonl"]
    assert verify_session(session).ok


def test_an_empty_new_session_is_not_recovered_at_once(root: Path, clock: FakeClock) -> None:
    session = create_session(root, pseudonym="P10", software_version="0", clock=clock, recover=False)
    assert recover_unsealed(root, clock=clock) == []
    clock.advance(120)
    assert len(recover_unsealed(root, clock=clock)) == 1
    assert read_manifest(session).sealed


def test_a_broken_session_does_not_stop_recovery_of_others(root: Path, clock: FakeClock) -> None:
    broken = create_session(root, pseudonym="P11", software_version="0", clock=clock, recover=False)
    (broken / "manifest.json").write_text("{not json")
    session = died_mid_write(root, clock)
    assert [Path(r.session_dir) for r in recover_unsealed(root, clock=clock)] == [session]


def test_create_session_recovers_the_root_first(root: Path, clock: FakeClock) -> None:
    crashed = died_mid_write(root, clock)
    create_session(root, pseudonym="P12", software_version="0", clock=clock)
    assert read_manifest(crashed).sealed and read_manifest(crashed).recovered
