"""The HTML report: its numbers are the metrics module's, computed independently from the journal."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import msgspec

from vr_exposure.core.loading import load_library
from vr_exposure.core.metrics import SessionMetrics, between_session_change, session_metrics
from vr_exposure.core.suds import rating_from_content
from vr_exposure.journal import read_session
from vr_exposure.research.report import build_report
from vr_exposure.research.timeline import load_timeline

from .conftest import Synthetic


def _data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="vr-exposure-data">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1).replace("<\\/", "</"))


def _report(sessions: list[Path], out: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "vr_exposure.cli", "report", *map(str, sessions), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8")


def _independent_metrics(session: Path) -> SessionMetrics:
    """From the journal reader's records, without the research code: the console's ratings, its
    rung changes and session start, and the protocol from the content library."""
    log = read_session(session)
    console = [r for r in log.records if r.process == "console"]
    ratings = [rating_from_content(r.content) for r in console if r.msg_type == "suds_recorded"]
    # The engine's own stamps (content t_mono_ns), as it used them for its metrics.
    start = next(r.content["t_mono_ns"] for r in console if r.msg_type == "session_started")
    entered: dict[int, int] = {}
    for r in console:
        if r.msg_type == "rung_changed":
            entered.setdefault(r.content["rung"], max(r.content["t_mono_ns"], start))
    protocol = (
        load_library().protocol(log.manifest.protocol) if log.manifest and log.manifest.protocol else None
    )
    summary = next(r.content for r in reversed(console) if r.msg_type == "session_summary")
    time_on_rung = {r["rung"]: r["time_on_rung_s"] for r in summary["metrics"]["rungs"]}
    return session_metrics(
        ratings,
        protocol,
        label=session.name,
        pseudonym=log.manifest.pseudonym if log.manifest else None,
        start_mono_ns=start,
        rung_start_mono_ns=entered,
        time_on_rung_s=time_on_rung,
    )


def test_report_values_equal_the_metrics_module(demo_session: Path, tmp_path: Path) -> None:
    html = _report([demo_session], tmp_path / "report.html")
    [session] = _data(html)["sessions"]
    expected = json.loads(msgspec.json.encode(_independent_metrics(demo_session)))
    got = session["metrics"]
    # Time on each rung is rebuilt from the journal; the console's own summary is the reference.
    for g, e in zip(got["rungs"], expected["rungs"], strict=True):
        assert abs(g.pop("time_on_rung_s") - e.pop("time_on_rung_s")) < 0.05
    assert got == expected
    # The console closed the session with its own summary; the report agrees with it too.
    log = read_session(demo_session)
    summary = next(r.content for r in log.records if r.msg_type == "session_summary")
    assert got["session"] == summary["metrics"]["session"]
    assert session["ratings"] == summary["ratings"]
    assert session["probes"]["issued"] == summary["probes_issued"]
    assert len(session["probes"]["missed"]) == summary["probes_missed"]
    assert set(session["ssq"]) == {"before", "after"}
    assert session["ssq"]["after"]["total"] == summary["ssq"]["after"]["total"]
    assert [e["kind"] for e in session["episodes"]].count("safe_place") >= 1
    assert session["complete"] and not session["torn"]
    # The page shows them: per-rung rows, SSQ, the timeline plot.
    assert html.count("<svg") >= 1 and "SUDS per rung" in html and "SSQ (simulator sickness)" in html
    for rung in got["rungs"]:
        assert f"<td>{rung['trajectory']['n_ratings']}</td>" in html


def test_between_session_trend_of_one_pseudonym(synthetic: Synthetic) -> None:
    timelines = [load_timeline(s.session_dir) for s in synthetic.sessions]
    html = build_report(timelines)
    data = _data(html)
    assert set(data["between_sessions"]) == {"P042"}  # P007 has one session: no trend
    p042 = [
        msgspec.convert(s["metrics"], SessionMetrics) for s in data["sessions"] if s["pseudonym"] == "P042"
    ]
    assert len(p042) == 3
    expected = json.loads(msgspec.json.encode(between_session_change(p042)))
    assert data["between_sessions"]["P042"] == expected
    # Oldest first: the sessions were a week apart.
    dates = [s["start_utc"] for s in data["sessions"] if s["pseudonym"] == "P042"]
    assert dates == sorted(dates)
    assert "Trend between sessions (3 sessions)" in html and "peak change" in html
    # Missed probes and the pause are listed with durations.
    first = data["sessions"][0]
    assert len(first["probes"]["missed"]) == 1
    assert any(e["kind"] == "pause" and abs(e["duration_s"] - 10.0) < 1e-6 for e in first["episodes"])
    assert "missed probe" in html and "(journal ends)" in html


def test_a_crashed_session_reports_its_missing_tail(killed_session: Path, tmp_path: Path) -> None:
    tl = load_timeline(killed_session)
    assert not tl.complete and len(tl.pose) >= 45
    html = _report([killed_session], tmp_path / "crash.html")
    [session] = _data(html)["sessions"]
    [sentence] = session["torn"]
    assert re.fullmatch(
        r"renderer\.jsonl: journal ends abruptly at \d\d:\d\d:\d\d UTC; "
        r"(last \d+ bytes torn|no partial line)",
        sentence,
    ), sentence
    assert "Incomplete journal." in html and sentence in html
    assert session["pose_samples"] == len(tl.pose)
