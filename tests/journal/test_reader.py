"""The reader: torn and invalid lines, seq gaps, merging processes on one timeline (same machine
and across machines with journaled clock offsets), and a property: any truncation of a valid file
reads without raising, as a prefix of its records."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vr_exposure.core.clock import FakeClock
from vr_exposure.errors import JournalError
from vr_exposure.journal import JournalWriter, create_session, read_journal_file, read_session
from vr_exposure.journal import writer as writer_module

from .conftest import LINE_FIELDS


def _write_some(session: Path, process: str = "renderer", n: int = 5) -> Path:
    with JournalWriter(session, process) as writer:
        for i in range(n):
            writer.clinical("note", {"i": i})
    return session / f"{process}.jsonl"


def test_torn_last_line_is_dropped_with_a_warning_naming_file_and_line(session: Path) -> None:
    path = _write_some(session)
    whole = path.read_bytes()
    lines = whole.count(b"\n")
    with open(path, "ab") as f:
        f.write(b'{"seq": 7, "t_mono_ns": 12')  # a write cut short by a crash
    log = read_session(session)
    assert [w.code for w in log.warnings] == ["torn_line"]
    warning = log.warnings[0]
    assert (warning.file, warning.line) == ("renderer.jsonl", lines + 1)
    assert warning.startswith(f"renderer.jsonl:{lines + 1}: torn last line (26 bytes")
    assert len(log.records) == lines
    assert log.files[0].torn_tail_bytes == 26


def test_a_complete_json_object_without_its_newline_is_still_torn(session: Path) -> None:
    path = _write_some(session)
    last = path.read_bytes().splitlines(keepends=True)[-1]
    with open(path, "ab") as f:
        f.write(last.rstrip(b"\n"))  # never acknowledged: the writer writes the newline with the line
    log = read_session(session)
    assert [w.code for w in log.warnings] == ["torn_line"]


def test_invalid_line_in_the_middle_is_skipped_with_a_warning(session: Path) -> None:
    path = _write_some(session)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = b"\x00\x00garbage\n"
    path.write_bytes(b"".join(lines))
    log = read_session(session)
    codes = [(w.code, w.line) for w in log.warnings]
    assert ("invalid_line", 4) in codes
    assert ("seq_gap", None) in codes  # the skipped line's seq is missing
    assert len(log.records) == len(lines) - 1


def test_seq_gap_is_reported(session: Path) -> None:
    path = _write_some(session, n=8)
    lines = path.read_bytes().splitlines(keepends=True)
    del lines[3:6]
    path.write_bytes(b"".join(lines))
    log = read_session(session)
    assert [str(w) for w in log.warnings] == ["renderer.jsonl: seq jumps from 2 to 6: 3 records missing"]
    assert log.files[0].seq_gaps == 1


def test_empty_lines_and_empty_files_do_not_raise(session: Path) -> None:
    (session / "console.jsonl").write_bytes(b"")
    path = _write_some(session)
    path.write_bytes(path.read_bytes() + b"\n")
    log = read_session(session)
    assert {w.code for w in log.warnings} == {"invalid_line", "unlisted_file"}


def test_missing_manifest_is_a_warning_not_an_error(session: Path) -> None:
    _write_some(session)
    (session / "manifest.json").unlink()
    log = read_session(session)
    assert log.manifest is None and [w.code for w in log.warnings] == ["manifest"]
    assert len(log.records) == 7


def test_not_a_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no such session directory"):
        read_session(tmp_path / "nope")


def test_processes_on_one_machine_merge_by_monotonic_time(session: Path, clock: FakeClock) -> None:
    renderer = JournalWriter(session, "renderer", clock=clock)
    console = JournalWriter(session, "console", clock=clock)
    for i in range(5):
        clock.advance(0.1)
        console.clinical("set_intensity_request", {"i": i})
        clock.advance(0.01)
        renderer.clinical("intensity_changed", {"i": i})
        renderer.telemetry("head_pose", {"i": i})
    console.journal_clock_offset("renderer", 5_000_000_000)  # same boot id: must be ignored
    console.close()
    renderer.close()
    log = read_session(session)
    assert log.warnings == []
    body = [(r.process, r.msg_type, r.content["i"]) for r in log.records if r.kind != "meta"]
    expected = []
    for i in range(5):
        expected += [
            ("console", "set_intensity_request", i),
            ("renderer", "intensity_changed", i),
            ("renderer", "head_pose", i),
        ]
    assert body == expected
    assert all(r.t_ns == r.t_mono_ns for r in log.records)
    assert log.reference_process == "renderer" and log.offsets_ns == {}
    assert [r.t_ns for r in log.records] == sorted(r.t_ns for r in log.records)


def test_another_machines_file_is_mapped_with_the_journaled_offset(
    session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer_clock = FakeClock(start_s=5000.0)
    console_clock = FakeClock(start_s=100.0)  # renderer = console + 4900 s, then drifting by 1 ms
    renderer = JournalWriter(session, "renderer", clock=renderer_clock)
    monkeypatch.setattr(writer_module, "clock_domain", lambda: "console-machine")
    console = JournalWriter(session, "console", clock=console_clock)
    console.journal_clock_offset("renderer", 4_900_000_000_000, 200_000)
    for i in range(3):
        for c in (console_clock, renderer_clock):
            c.advance(1.0)
        console.clinical("suds_prompt_request", {"i": i})
        renderer_clock.advance(0.002)
        renderer.clinical("suds_prompt_shown", {"i": i})
    # The clocks drifted 6 ms apart; the new estimate says renderer = console + drift + 1 ms.
    later = renderer_clock.monotonic_ns() - console_clock.monotonic_ns() + 1_000_000
    console_clock.advance(0.5)
    renderer_clock.advance(0.5)
    console.journal_clock_offset("renderer", later)
    console_clock.advance(1.0)
    renderer_clock.advance(1.0)
    console.clinical("note", {"i": 9})
    renderer_clock.advance(0.0005)  # 0.5 ms later in truth; before the note on the new estimate
    renderer.clinical("state", {"i": 9})
    console.close()
    renderer.close()

    log = read_session(session)
    assert log.warnings == []
    assert log.offsets_ns == {"console": later}
    body = [(r.process, r.msg_type) for r in log.records if r.kind == "clinical"]
    assert body == [("console", "suds_prompt_request"), ("renderer", "suds_prompt_shown")] * 3 + [
        ("renderer", "state"),
        ("console", "note"),
    ]
    note = log.by_type("note")[0]
    assert note.t_ns == note.t_mono_ns + later
    first = log.by_type("suds_prompt_request")[0]
    assert first.t_ns == first.t_mono_ns + 4_900_000_000_000
    assert [f.offset_applied for f in log.files] == [False, True]  # renderer first, then console


def test_offset_journaled_by_the_renderer_about_the_console(
    session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = JournalWriter(session, "renderer", clock=FakeClock(start_s=50.0))
    renderer.journal_clock_offset("console", -40_000_000_000)  # console = renderer - 40 s
    monkeypatch.setattr(writer_module, "clock_domain", lambda: "elsewhere")
    console = JournalWriter(session, "console", clock=FakeClock(start_s=10.0))
    console.clinical("note", {})
    console.close()
    renderer.close()
    note = read_session(session).by_type("note")[0]
    assert note.t_ns == note.t_mono_ns + 40_000_000_000


def test_console_style_clinical_clock_offset_without_peer(
    session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console journals ``clock_offset`` as a clinical record ``{offset_ns, uncertainty_ns}``."""
    renderer = JournalWriter(session, "renderer", clock=FakeClock(start_s=50.0))
    monkeypatch.setattr(writer_module, "clock_domain", lambda: "elsewhere")
    console = JournalWriter(session, "console", clock=FakeClock(start_s=10.0))
    console.clinical("clock_offset", {"offset_ns": 40_000_000_000, "uncertainty_ns": None})
    console.close()
    renderer.close()
    log = read_session(session)
    assert log.offsets_ns == {"console": 40_000_000_000}


def test_another_machine_without_offset_is_warned_about(
    session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    JournalWriter(session, "renderer").close()
    monkeypatch.setattr(writer_module, "clock_domain", lambda: "elsewhere")
    JournalWriter(session, "console").close()
    log = read_session(session)
    assert [(w.file, w.code) for w in log.warnings] == [("console.jsonl", "clock")]


def test_by_type_by_kind_and_counts(session: Path) -> None:
    with JournalWriter(session, "renderer") as writer:
        for i in range(3):
            writer.telemetry("head_pose", {"i": i})
        writer.clinical("paused", {})
    log = read_session(session)
    assert [r.content["i"] for r in log.by_type("head_pose")] == [0, 1, 2]
    assert len(log.by_type("head_pose", "paused")) == 4
    assert [r.msg_type for r in log.by_kind("clinical")] == ["paused"]
    assert log.msg_types == {"head_pose": 3, "journal_closed": 1, "journal_opened": 1, "paused": 1}
    assert len(log) == 6 and list(log) == log.records


def test_read_journal_file_alone(session: Path) -> None:
    path = _write_some(session, n=2)
    warnings: list = []
    records = read_journal_file(path, warnings)
    assert [r.msg_type for r in records] == ["journal_opened", "note", "note", "journal_closed"]
    assert warnings == []


_VALID: dict[str, bytes] = {}


def _valid_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if "data" not in _VALID:
        root = tmp_path_factory.mktemp("prop")
        session = create_session(root, pseudonym="P1", software_version="0", recover=False)
        with JournalWriter(session, "renderer") as writer:
            for i in range(20):
                writer.telemetry("head_pose", {"frame": i, "position_m": [0.1 * i, 1.6, 0.0], "s": 'é\n"x'})
                if i % 4 == 0:
                    writer.clinical("note", {"text": f"line\nbreak {i}"})
        _VALID["data"] = (session / "renderer.jsonl").read_bytes()
    return _VALID["data"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(min_value=0.0, max_value=1.0))
def test_any_truncation_reads_as_a_prefix(tmp_path_factory: pytest.TempPathFactory, cut: float) -> None:
    data = _valid_file(tmp_path_factory)
    keep = int(len(data) * cut)
    path = tmp_path_factory.mktemp("cut") / "renderer.jsonl"
    path.write_bytes(data[:keep])
    warnings: list = []
    records = read_journal_file(path, warnings)
    complete = data[:keep].count(b"\n")
    assert [r.seq for r in records] == list(range(complete))
    torn = keep > 0 and data[keep - 1 : keep] != b"\n"
    assert [w.code for w in warnings] == (["torn_line"] if torn else [])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pos=st.floats(min_value=0.0, max_value=0.999), byte=st.integers(0, 255))
def test_a_damaged_byte_never_makes_the_reader_raise(
    tmp_path_factory: pytest.TempPathFactory, pos: float, byte: int
) -> None:
    data = bytearray(_valid_file(tmp_path_factory))
    data[int(len(data) * pos)] = byte
    path = tmp_path_factory.mktemp("dmg") / "renderer.jsonl"
    path.write_bytes(bytes(data))
    warnings: list = []
    records = read_journal_file(path, warnings)
    assert len(records) >= data.count(b"\n") - 2


def test_contents_decodes_one_type_in_one_call(session: Path) -> None:
    import msgspec

    class Pose(msgspec.Struct):
        frame: int
        position_m: tuple[float, float, float]

    with JournalWriter(session, "renderer") as writer:
        for i in range(5):
            writer.telemetry("head_pose", {"frame": i, "position_m": (0.0, 1.6, i / 10), "extra": "ignored"})
    log = read_session(session)
    assert [c["frame"] for c in log.contents("head_pose")] == [0, 1, 2, 3, 4]
    poses = log.contents("head_pose", Pose)
    assert poses[4] == Pose(frame=4, position_m=(0.0, 1.6, 0.4))
    assert log.contents("nothing") == []


def test_record_content_is_decoded_once_and_to_dict_is_plain(session: Path) -> None:
    with JournalWriter(session, "renderer") as writer:
        writer.clinical("note", {"text": "hello", "tags": ["a"]})
    rec = read_session(session).by_type("note")[0]
    assert rec.content is rec.content  # cached: the same dict every time
    d = rec.to_dict()
    assert d["content"] == {"text": "hello", "tags": ["a"]} and d["header"]["msg_type"] == "note"
    assert list(d) == [*LINE_FIELDS, "t_ns"]
    assert "note" in repr(rec) and "hello" in repr(rec)


def test_a_header_with_unexpected_types_keeps_the_record(session: Path) -> None:
    with JournalWriter(session, "console") as writer:
        writer.clinical("note", {"text": "kept"}, parent_header={"msg_id": "m17", "seq": "3", "odd": [1]})
        writer.clinical("note", {"text": "also kept"}, header={"msg_id": ["not", "a", "string"]})
    log = read_session(session)
    notes = log.by_type("note")
    assert [r.content["text"] for r in notes] == ["kept", "also kept"]
    assert notes[0].parent_header is not None and notes[0].parent_header.seq == 3
    assert notes[1].header is None
    assert [w.code for w in log.warnings] == ["invalid_header", "invalid_header"]


def test_old_console_journals_read_with_the_engines_own_record_names(tmp_path: Path) -> None:
    """Console journals written before the engine's records got names of their own (they were the
    renderer's ``rating_recorded`` / ``intensity_changed``, told apart by content) read as new ones;
    the renderer's facts of the same old names stay what they are."""
    from vr_exposure.journal import JournalWriter, create_session, read_session

    session = create_session(tmp_path, pseudonym="P042", software_version="t")
    with JournalWriter(session, "console") as console:
        console.clinical("rating_recorded", {"rating": {"value": 40, "scale_max": 100}, "t_mono_ns": 1})
        console.clinical("intensity_changed", {"intensity_from": 10, "intensity": 30, "by": "therapist"})
    with JournalWriter(session, "renderer") as renderer:
        renderer.clinical("rating_recorded", {"value": 40.0, "scale_max": 100})
        renderer.clinical("intensity_changed", {"intensity": 10.0, "target": 30.0, "ramp_s": 1.0})
    log = read_session(session)
    assert [r.process for r in log.by_type("suds_recorded")] == ["console"]
    assert [r.process for r in log.by_type("intensity_set")] == ["console"]
    assert [r.process for r in log.by_type("rating_recorded")] == ["renderer"]
    assert [r.process for r in log.by_type("intensity_changed")] == ["renderer"]
