"""The writer: files, modes, the line format, durability of clinical records, ordering with
queued telemetry, the bounded telemetry queue, clock pairs and offsets, sessions and pseudonyms."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from pathlib import Path

import msgspec
import pytest

from vr_exposure.core.clock import FakeClock
from vr_exposure.errors import JournalError
from vr_exposure.journal import (
    JournalWriter,
    check_pseudonym,
    create_session,
    open_session_dir,
    read_manifest,
    read_session,
    seal_session,
    sessions_root,
)

from .conftest import LINE_FIELDS


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _wait_for(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


def test_round_trip(session: Path, clock: FakeClock) -> None:
    with JournalWriter(session, "renderer", clock=clock) as writer:
        clock.advance(0.5)
        writer.telemetry(
            "head_pose", {"frame": 1, "position_m": [0.0, 1.6, 0.0], "orientation_xyzw": [0, 0, 0, 1]}
        )
        clock.advance(0.5)
        seq = writer.clinical("intensity_changed", {"intensity": 40.0, "target": 40.0, "ramp_s": 0.0})
        writer.telemetry("frame_timing", {"median_ms": 11.1, "p99_ms": 12.0, "dropped": 0, "frames": 90})
    log = read_session(session)
    assert log.warnings == []
    types = [r.msg_type for r in log.records]
    assert types == ["journal_opened", "head_pose", "intensity_changed", "frame_timing", "journal_closed"]
    rec = log.by_type("intensity_changed")[0]
    assert rec.seq == seq == 2
    assert rec.kind == "clinical" and rec.process == "renderer"
    assert rec.content == {"intensity": 40.0, "target": 40.0, "ramp_s": 0.0}
    assert rec.t_mono_ns == clock.monotonic_ns() and rec.t_ns == rec.t_mono_ns
    assert rec.header is not None and rec.header.msg_type == "intensity_changed"
    assert rec.header.session_id == session.name and rec.header.seq == seq
    assert log.by_type("head_pose")[0].content["position_m"] == [0.0, 1.6, 0.0]
    assert log.duration_s == pytest.approx(1.0)
    assert [r.seq for r in log.records] == [0, 1, 2, 3, 4]


def test_every_line_is_one_json_object_with_the_documented_fields(session: Path) -> None:
    with JournalWriter(session, "console") as writer:
        writer.clinical(
            "rating_recorded",
            {"value": 60, "scale_max": 100},
            header={
                "msg_id": "m1",
                "msg_type": "rating_recorded",
                "session_id": "s",
                "sender": "renderer",
                "seq": 7,
                "sent_mono_ns": 5,
                "protocol_version": "1.0",
            },
            parent_header={"msg_id": "req-1"},
        )
        writer.telemetry("head_pose", {"frame": 3})
    for line in _lines(session / "console.jsonl"):
        assert list(line) == LINE_FIELDS
        assert line["kind"] in ("clinical", "telemetry", "meta")
    rating = [x for x in _lines(session / "console.jsonl") if x["msg_type"] == "rating_recorded"][0]
    assert rating["header"]["msg_id"] == "m1" and rating["header"]["seq"] == 7
    assert rating["parent_header"] == {"msg_id": "req-1"}


def test_files_and_directories_are_private(session: Path) -> None:
    with JournalWriter(session, "renderer") as writer:
        writer.clinical("note", {"text": "ok"})
    assert stat.S_IMODE(os.stat(session / "renderer.jsonl").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(session / "manifest.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(session).st_mode) == 0o700
    assert not [p for p in session.iterdir() if p.name.endswith(".tmp")]


def test_clinical_is_on_disk_when_it_returns(session: Path) -> None:
    writer = JournalWriter(session, "renderer", flush_interval_s=10, fsync_interval_s=10)
    try:
        seq = writer.clinical("safe_place_entered", {"fade_s": 2.0})
        lines = _lines(session / "renderer.jsonl")  # read while the writer is still open
        assert lines[-1]["seq"] == seq and lines[-1]["msg_type"] == "safe_place_entered"
    finally:
        writer.close()


def test_clinical_writes_queued_telemetry_first(session: Path) -> None:
    writer = JournalWriter(session, "renderer", flush_interval_s=10, fsync_interval_s=10)
    try:
        for frame in range(50):
            writer.telemetry("head_pose", {"frame": frame})
        seq = writer.clinical("event_fired", {"event": "spider-drop"})
        lines = _lines(session / "renderer.jsonl")
        assert [x["content"].get("frame") for x in lines[1:51]] == list(range(50))
        assert lines[51]["seq"] == seq == 51
        assert [x["seq"] for x in lines] == list(range(52))
    finally:
        writer.close()


def test_clinical_from_many_threads_keeps_seq_in_file_order(session: Path) -> None:
    with JournalWriter(session, "console") as writer:
        returned: list[int] = []

        def work(k: int) -> None:
            for i in range(25):
                writer.telemetry("head_pose", {"k": k, "i": i})
                returned.append(writer.clinical("note", {"k": k, "i": i}))

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    lines = _lines(session / "console.jsonl")
    assert [x["seq"] for x in lines] == list(range(len(lines)))
    assert sorted(returned) == sorted(x["seq"] for x in lines if x["kind"] == "clinical")
    assert len(lines) == 1 + 200 + 1


def test_telemetry_is_written_in_the_background(session: Path) -> None:
    with JournalWriter(session, "renderer", flush_interval_s=0.01) as writer:
        writer.telemetry("head_pose", {"frame": 1})
        _wait_for(lambda: b"head_pose" in (session / "renderer.jsonl").read_bytes())


def test_full_telemetry_queue_drops_counts_and_never_blocks(session: Path) -> None:
    writer = JournalWriter(session, "renderer", telemetry_queue_max=10, flush_interval_s=10)
    with writer._lock:  # a stalled encoder: telemetry() must still return at once
        t0 = time.monotonic()
        for frame in range(100):
            writer.telemetry("head_pose", {"frame": frame})
        assert time.monotonic() - t0 < 5
        assert writer.telemetry_dropped == 90
    writer.close()
    log = read_session(session)
    assert [r.content["frame"] for r in log.by_type("head_pose")] == list(range(10))
    dropped = log.by_type("telemetry_dropped")
    assert [r.content for r in dropped] == [{"dropped": 90, "total": 90}]
    assert dropped[0].kind == "meta"
    assert read_manifest(session).files[0].telemetry_dropped == 90
    assert log.by_type("journal_closed")[0].content["telemetry_dropped"] == 90


def test_telemetry_after_close_is_dropped_not_raised(session: Path) -> None:
    writer = JournalWriter(session, "renderer")
    writer.close()
    writer.telemetry("head_pose", {"frame": 1})
    assert writer.telemetry_dropped == 1
    with pytest.raises(JournalError, match="closed"):
        writer.clinical("note", {"text": "late"})


def test_clock_pairs_at_open_periodically_and_at_close(session: Path, clock: FakeClock) -> None:
    with JournalWriter(
        session, "renderer", clock=clock, flush_interval_s=0.005, clock_pair_interval_s=60
    ) as writer:
        clock.advance(61)
        _wait_for(lambda: b"clock_pair" in (session / "renderer.jsonl").read_bytes())
        writer.clock_pair()
    log = read_session(session)
    pairs = [r for r in log.records if "utc_ns" in (r.content or {})]
    assert [r.msg_type for r in pairs] == ["journal_opened", "clock_pair", "clock_pair", "journal_closed"]
    for r in pairs:
        assert r.content["utc_ns"] - r.t_mono_ns == clock.utc_ns() - clock.monotonic_ns()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", r.content["utc"])
    assert log.utc_ns(pairs[1].t_ns + 5) == pairs[1].content["utc_ns"] + 5


def test_clock_offset_is_a_durable_meta_record(session: Path) -> None:
    with JournalWriter(session, "console") as writer:
        seq = writer.journal_clock_offset("renderer", -1234, 50)
        assert b'"clock_offset"' in (session / "console.jsonl").read_bytes()
    rec = read_session(session).by_type("clock_offset")[0]
    assert (rec.seq, rec.kind, rec.content) == (
        seq,
        "meta",
        {"peer": "renderer", "offset_ns": -1234, "uncertainty_ns": 50},
    )


def _circular() -> dict:
    d: dict = {}
    d["self"] = d
    return d


def test_unencodable_clinical_content_raises_and_uses_no_seq(session: Path) -> None:
    with JournalWriter(session, "renderer") as writer:
        with pytest.raises(JournalError, match="cannot encode note"):
            writer.clinical("note", _circular())
        assert writer.clinical("note", {"text": "fine"}) == 1


def test_unencodable_telemetry_becomes_an_encode_error_record(session: Path) -> None:
    with JournalWriter(session, "renderer") as writer:
        writer.telemetry("head_pose", {"frame": 1})
        writer.telemetry("head_pose", _circular())
        writer.telemetry("head_pose", {"frame": 3})
    log = read_session(session)
    assert log.warnings == []
    assert [r.msg_type for r in log.records[1:4]] == ["head_pose", "encode_error", "head_pose"]
    assert log.records[2].content["msg_type"] == "head_pose"


def test_numpy_and_other_values_are_encoded(session: Path) -> None:
    np = pytest.importorskip("numpy")
    with JournalWriter(session, "renderer") as writer:
        writer.clinical("note", {"v": np.float32(0.5), "a": np.arange(3), "p": Path("x")})
    assert read_session(session).by_type("note")[0].content == {"v": 0.5, "a": [0, 1, 2], "p": "x"}


def test_link_headers_as_structs_are_kept(session: Path) -> None:
    class Header(msgspec.Struct, frozen=True):
        msg_id: str
        msg_type: str
        protocol_version: str
        instance_id: str = "r-1"

    with JournalWriter(session, "console") as writer:
        writer.clinical("rating_recorded", {"value": 3}, header=Header("m9", "rating_recorded", "1.0"))
    rec = read_session(session).by_type("rating_recorded")[0]
    assert rec.header is not None and (rec.header.msg_id, rec.header.instance_id) == ("m9", "r-1")


def test_two_processes_share_a_session_and_the_manifest_lists_both(session: Path) -> None:
    with JournalWriter(session, "console"), JournalWriter(open_session_dir(session), "renderer"):
        pass
    manifest = read_manifest(session)
    assert [(f.file, f.process) for f in manifest.files] == [
        ("console.jsonl", "console"),
        ("renderer.jsonl", "renderer"),
    ]
    assert all(f.closed is not None and f.pid == os.getpid() for f in manifest.files)


def test_a_restarted_process_gets_a_new_file_never_reopens_one(session: Path) -> None:
    JournalWriter(session, "renderer").close()
    before = (session / "renderer.jsonl").read_bytes()
    with JournalWriter(session, "renderer") as second:
        assert second.path.name == "renderer.2.jsonl"
    assert (session / "renderer.jsonl").read_bytes() == before
    log = read_session(session)
    assert [f.file for f in log.files] == ["renderer.2.jsonl", "renderer.jsonl"]
    assert log.warnings == []


def test_a_sealed_session_takes_no_new_writer(session: Path) -> None:
    JournalWriter(session, "renderer").close()
    assert seal_session(session).sealed
    with pytest.raises(JournalError, match="sealed"):
        JournalWriter(session, "renderer")
    with pytest.raises(JournalError, match="sealed"):
        open_session_dir(session)


def test_manifest_fields(session: Path, clock: FakeClock) -> None:
    manifest = read_manifest(session)
    assert manifest.format == "vr-exposure-journal" and manifest.format_version == 1
    assert manifest.session_id == session.name
    assert (manifest.pseudonym, manifest.protocol, manifest.scene) == ("P042", "spiders-graded", "spiders")
    assert manifest.software_version == "0.1.0"
    assert (manifest.created.mono_ns, manifest.created.utc_ns) == (clock.monotonic_ns(), clock.utc_ns())
    assert not manifest.sealed and manifest.files == []
    assert json.loads((session / "manifest.json").read_text())["session_id"] == session.name


def test_session_id_names_utc_start_pseudonym_and_random_suffix(session: Path) -> None:
    assert re.fullmatch(r"20260101T000000Z-P042-[0-9a-f]{4}", session.name)


@pytest.mark.parametrize(
    "bad", ["John Smith", "jane.doe@example.org", "", "x" * 33, "../P1", "Müller", "P 042"]
)
def test_only_pseudonyms_are_accepted(root: Path, bad: str) -> None:
    with pytest.raises(JournalError, match="pseudonym"):
        create_session(root, pseudonym=bad, software_version="0")
    assert not root.exists() or list(root.iterdir()) == []


@pytest.mark.parametrize("good", ["P042", "p-17", "S_003", "A"])
def test_pseudonyms(good: str) -> None:
    assert check_pseudonym(good) == good


def test_bad_process_name(session: Path) -> None:
    with pytest.raises(JournalError, match="process name"):
        JournalWriter(session, "../evil")


def test_not_a_session_directory(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no manifest"):
        JournalWriter(tmp_path, "renderer")


def test_sessions_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VR_EXPOSURE_SESSIONS", str(tmp_path / "s"))
    assert sessions_root() == tmp_path / "s"
    monkeypatch.delenv("VR_EXPOSURE_SESSIONS")
    assert sessions_root().name == "sessions" and "vr-exposure" in str(sessions_root())


def test_short_writes_are_continued_where_they_stopped(
    session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vr_exposure.journal import writer as writer_module

    def stingy_writev(fd: int, buffers: list) -> int:
        return os.write(fd, bytes(b"".join(bytes(b) for b in buffers)[:7]))  # at most 7 bytes a call

    monkeypatch.setattr(writer_module, "_writev", stingy_writev)
    with JournalWriter(session, "renderer") as writer:
        for i in range(30):
            writer.telemetry("head_pose", {"frame": i})
        writer.clinical("note", {"text": "after thirty poses"})
    log = read_session(session)
    assert log.warnings == []
    assert [r.content["frame"] for r in log.by_type("head_pose")] == list(range(30))


def test_a_full_disk_raises_from_clinical_and_never_from_telemetry(
    session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from vr_exposure.journal import writer as writer_module

    real = writer_module._writev
    writer = JournalWriter(session, "renderer", flush_interval_s=0.005)

    def full(fd: int, buffers: list) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writer_module, "_writev", full)
    for i in range(20):
        writer.telemetry("head_pose", {"frame": i})  # never raises, whatever the disk does
    with pytest.raises(JournalError, match="write failed: No space left on device"):
        writer.clinical("stopped", {"reason": "x"})
    _wait_for(lambda: writer.write_errors >= 1)
    monkeypatch.setattr(writer_module, "_writev", real)
    seq = writer.clinical("stopped", {"reason": "disk back"})
    writer.close()
    log = read_session(session)
    assert log.by_type("stopped")[-1].seq == seq
    assert [r.content["reason"] for r in log.by_type("stopped")] == ["disk back"]
    assert {w.code for w in log.warnings} == {"seq_gap"}  # the lost lines show as a gap


def test_telemetry_lines_carry_a_short_header_or_the_one_given(session: Path) -> None:
    with JournalWriter(session, "renderer") as writer:
        writer.telemetry("head_pose", {"frame": 1})
        writer.telemetry('odd "type"\n', {"frame": 2})
        writer.telemetry("head_pose", {"frame": 3}, header={"msg_id": "h3", "msg_type": "head_pose"})
    lines = _lines(session / "renderer.jsonl")[1:4]
    assert lines[0] == {
        "seq": 1,
        "t_mono_ns": lines[0]["t_mono_ns"],
        "process": "renderer",
        "kind": "telemetry",
        "msg_type": "head_pose",
        "header": {"msg_type": "head_pose", "sender": "renderer"},
        "parent_header": None,
        "content": {"frame": 1},
    }
    assert lines[1]["msg_type"] == 'odd "type"\n' and lines[1]["header"]["msg_type"] == 'odd "type"\n'
    assert lines[2]["header"] == {"msg_id": "h3", "msg_type": "head_pose"} and lines[2]["kind"] == "telemetry"
    assert [x["seq"] for x in lines] == [1, 2, 3]


def test_a_telemetry_burst_is_encoded_in_order_by_whoever_holds_the_lock(session: Path) -> None:
    with JournalWriter(session, "renderer", flush_interval_s=0.001) as writer:
        for frame in range(5000):
            writer.telemetry("head_pose", {"frame": frame})
            if frame % 1000 == 0:
                writer.clinical("note", {"frame": frame})
        assert writer.telemetry_dropped == 0
    log = read_session(session)
    assert log.warnings == []
    assert [r.content["frame"] for r in log.by_type("head_pose")] == list(range(5000))
    notes = log.by_type("note")
    poses_before = [sum(1 for r in log.records if r.msg_type == "head_pose" and r.seq < n.seq) for n in notes]
    assert poses_before == [1, 1001, 2001, 3001, 4001]
