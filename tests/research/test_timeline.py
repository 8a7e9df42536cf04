"""The session timeline: read back from journals the real writer wrote, nothing lost or counted twice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import numpy as np
import pytest

from vr_exposure.errors import JournalError
from vr_exposure.journal import read_session
from vr_exposure.research.synthetic import SyntheticPlan, tear_tail, write_synthetic_session
from vr_exposure.research.timeline import IntensityChange, intensity_series, load_timeline

from .conftest import Synthetic


def test_counts_match_what_was_written(synthetic: Synthetic) -> None:
    for result in synthetic.sessions:
        tl = load_timeline(result.session_dir)
        assert len(tl.ratings) == result.ratings
        assert len(tl.headset_ratings) == result.headset_presses
        assert len(tl.intensity) == result.intensity_facts
        assert len(tl.pose) == result.pose_samples
        assert len(tl.frames) == result.frame_timings
        assert len(tl.missed_probes()) == result.probes_missed
        assert sum(e.msg_type == "event_fired" for e in tl.scene_events) == result.events_fired
        assert tl.complete and not tl.torn and not tl.warnings
        assert tl.ratings_process == "console"


def test_a_rating_given_in_vr_is_counted_once(synthetic: Synthetic) -> None:
    result = synthetic.sessions[0]
    tl = load_timeline(result.session_dir)
    log = read_session(result.session_dir)
    # The press is in both journals (the renderer's key press, the console's rating) ...
    presses, recorded = log.by_type("rating_recorded"), log.by_type("suds_recorded")
    assert len(presses) == result.headset_presses >= 1 and len(recorded) == result.ratings
    # ... and a rating once: the console's, with its source.
    assert len(tl.ratings) == result.ratings
    vr = [r for r in tl.ratings if r.source == "patient-in-vr"]
    assert len(vr) == result.headset_presses
    assert {h.probe_id for h in tl.headset_ratings} == {r.probe_id for r in vr}


def _assert_timeline_holds_every_record(session_dir: Path) -> None:
    """Every record the journal reader merged is in the timeline once, at the reader's time: the
    telemetry tables as columns, everything else as events."""
    tl = load_timeline(session_dir)
    log = read_session(session_dir)
    tables = ("head_pose", "frame_timing", "physio_samples", "stimulus_positions")
    expected = [(r.t_ns, r.process, r.seq, r.msg_type) for r in log.records if r.msg_type not in tables]
    got = [(e.t_mono_ns, e.process, e.seq, e.msg_type) for e in tl.events]
    assert sorted(got) == sorted(expected)
    poses = log.by_type("head_pose")
    pose_t = [p.content["t_mono_ns"] + p.t_ns - p.t_mono_ns for p in poses]
    assert np.array_equal(tl.pose.t_mono_ns, np.asarray(pose_t))
    assert np.allclose(tl.pose.position_m, np.asarray([p.content["position_m"] for p in poses]))
    assert np.allclose(tl.pose.orientation_xyzw, np.asarray([p.content["orientation_xyzw"] for p in poses]))
    assert np.array_equal(tl.frames.t_mono_ns, np.asarray([r.t_ns for r in log.by_type("frame_timing")]))
    stimuli = log.by_type("stimulus_positions")
    stim_t = [r.content["t_mono_ns"] + r.t_ns - r.t_mono_ns for r in stimuli]
    assert np.array_equal(tl.stimuli.t_mono_ns, np.asarray(stim_t, dtype=np.int64))
    assert tl.stimuli.count.tolist() == [len(r.content["stimuli"]) for r in stimuli]
    flat = [s["position_m"] for r in stimuli for s in r.content["stimuli"]]
    assert np.allclose(tl.stimuli.position_m, np.asarray(flat).reshape(-1, 3))


def test_the_timeline_holds_every_journal_record(synthetic: Synthetic) -> None:
    _assert_timeline_holds_every_record(synthetic.sessions[1].session_dir)


def test_a_console_on_another_machine_is_put_on_the_renderers_clock(
    demo_session: Path, tmp_path: Path
) -> None:
    """The demo's console journals clock offsets towards the renderer; declared on another machine,
    its records are moved by them, and the timeline's events and origin move with them."""
    dst = tmp_path / demo_session.name
    shutil.copytree(demo_session, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["process"] == "console":
            entry["clock_domain"] = "another-machine"
    (dst / "manifest.json").write_text(json.dumps(manifest))
    _assert_timeline_holds_every_record(dst)
    same, moved = load_timeline(demo_session), load_timeline(dst)
    offsets = {o.offset_ns for o in moved.clock_offsets if o.process == "console"}
    shifts = {e.offset_ns for e in moved.events if e.process == "console"}
    assert shifts and shifts <= offsets and shifts != {0}
    assert all(e.offset_ns == 0 for e in same.events)
    assert moved.origin_mono_ns - same.origin_mono_ns in offsets


def test_metrics_equal_the_engines_own(synthetic: Synthetic) -> None:
    """Rung start times and time on each rung are rebuilt from the journal exactly as the engine
    counted them during the session (pauses and the safe place excluded)."""
    for result in synthetic.p042:
        tl = load_timeline(result.session_dir)
        rebuilt = msgspec.to_builtins(tl.metrics(None))
        engine = msgspec.to_builtins(result.engine_metrics)
        for rung in engine["rungs"]:
            rung["preset"] = rung["expected_suds"] = rung["expected_minus_peak"] = rung[
                "expected_minus_end"
            ] = None
        assert json.dumps(rebuilt, sort_keys=True) == json.dumps(engine, sort_keys=True)


def test_pauses_safe_place_probes_and_ssq(synthetic: Synthetic) -> None:
    plan = SyntheticPlan()
    tl = load_timeline(synthetic.sessions[0].session_dir)
    assert [round(p.duration_s, 3) for p in tl.pauses] == [plan.pause[1] - plan.pause[0]]  # type: ignore[index]
    closed = [e for e in tl.safe_place if e.end_mono_ns is not None]
    assert [round(e.duration_s, 3) for e in closed] == [plan.safe_place[1] - plan.safe_place[0]]  # type: ignore[index]
    assert closed[0].by == "patient"
    # The session ends with the patient taken to the safe place: open until the journal ends.
    assert tl.safe_place[-1].end_mono_ns is None and tl.safe_place[-1].by == "console"
    statuses = [p.status for p in tl.probes]
    assert statuses.count("missed") == 1 and statuses.count("answered") == len(tl.ratings)
    assert {s.phase for s in tl.ssq} == {"before", "after"}
    assert tl.ssq[-1].score.total > tl.ssq[0].score.total == 0.0
    assert len(tl.physio) == 1 and tl.physio[0].channels == ("hr_bpm",) and len(tl.physio[0].t_mono_ns) > 100


def test_intensity_follows_ramps() -> None:
    changes = (
        IntensityChange(
            t_mono_ns=0, start=10.0, target=10.0, ramp_s=0.0, cause="scene_loaded", process="renderer"
        ),
        IntensityChange(
            t_mono_ns=10**9,
            start=10.0,
            target=30.0,
            ramp_s=2.0,
            cause="intensity_changed",
            process="renderer",
        ),
    )
    t = np.asarray([-1, 0, 10**9, 2 * 10**9, 3 * 10**9, 9 * 10**9], dtype=np.int64)
    got = intensity_series(changes, t)
    assert np.isnan(got[0])
    assert np.allclose(got[1:], [10.0, 10.0, 20.0, 30.0, 30.0])


def test_a_torn_journal_still_reads_and_says_where_it_ends(synthetic: Synthetic, tmp_path: Path) -> None:
    src = synthetic.sessions[3].session_dir
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    torn = tear_tail(dst / "renderer.jsonl", keep_fraction=0.6)
    tl = load_timeline(dst)
    assert not tl.complete
    [tail] = tl.torn
    assert tail.file == "renderer.jsonl" and tail.torn_bytes == torn > 0
    assert 0 < len(tl.pose) < synthetic.sessions[3].pose_samples
    sentence = tail.sentence()
    assert sentence.startswith("renderer.jsonl: journal ends abruptly at ")
    assert sentence.endswith(f"UTC; last {torn} bytes torn")
    assert tail.last_mono_ns == max(
        int(tl.pose.t_mono_ns[-1]),
        int(tl.stimuli.t_mono_ns[-1]),
        max(e.t_mono_ns for e in tl.events if e.process == "renderer"),
    )


def test_a_damaged_line_is_left_out_not_fatal(synthetic: Synthetic, tmp_path: Path) -> None:
    src = synthetic.sessions[3].session_dir
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    path = dst / "renderer.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[100] = lines[100][:40] + b"#garbage#"
    path.write_bytes(b"\n".join(lines))
    tl = load_timeline(dst)
    [info] = [f for f in tl.files if f.file == "renderer.jsonl"]
    assert info.bad_lines == 1
    assert len(tl.pose) == synthetic.sessions[3].pose_samples - 1
    assert any("damaged" in w for w in tl.warnings)


def test_an_unknown_format_version_is_refused_with_the_reason(synthetic: Synthetic, tmp_path: Path) -> None:
    src = synthetic.sessions[3].session_dir
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["format_version"] = 99
    (dst / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(JournalError, match="format version 99 is newer than this software reads"):
        load_timeline(dst)
    with pytest.raises(JournalError, match="not a session directory"):
        load_timeline(tmp_path / "nothing-here")


def test_a_session_id_resolves_under_the_sessions_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VR_EXPOSURE_SESSIONS", str(tmp_path))
    result = write_synthetic_session(
        tmp_path,
        SyntheticPlan(
            duration_s=20.0,
            pose_rate_hz=10.0,
            pause=None,
            safe_place=None,
            rung_changes_at_s=(),
            events_at_s=(),
        ),
    )
    tl = load_timeline(result.session_dir.name)
    assert tl.session_dir == result.session_dir and len(tl.pose) == 200


def test_lines_without_a_top_level_msg_type_still_read(synthetic: Synthetic, tmp_path: Path) -> None:
    """Early drafts of the journal format named the type only in the header."""
    src = synthetic.sessions[3].session_dir
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    for name in ("renderer.jsonl", "console.jsonl"):
        lines = [json.loads(line) for line in (dst / name).read_text().splitlines()]
        for line in lines:
            del line["msg_type"]
        (dst / name).write_text("".join(json.dumps(line) + "\n" for line in lines))
    old, new = load_timeline(src), load_timeline(dst)
    assert len(new.pose) == len(old.pose) and np.array_equal(new.pose.t_mono_ns, old.pose.t_mono_ns)
    assert [e.msg_type for e in new.events] == [e.msg_type for e in old.events]
    assert len(new.ratings) == len(old.ratings) and len(new.intensity) == len(old.intensity)


def test_a_stimulus_record_that_does_not_fit_is_left_out_with_a_warning(
    synthetic: Synthetic, tmp_path: Path
) -> None:
    src = synthetic.sessions[3].session_dir
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    path = dst / "renderer.jsonl"
    data = path.read_bytes()
    n = sum(1 for line in data.split(b"\n") if b'"stimulus_positions"' in line)
    bad = data.replace(b'"position_m":[0.0,1.5,0.9]', b'"position_m":[0.0,1.5]', 1)
    assert bad != data
    path.write_bytes(bad)
    tl = load_timeline(dst)
    assert len(tl.stimuli) == n - 1
    assert any("stimulus_positions record could not be read (left out)" in w for w in tl.warnings)
