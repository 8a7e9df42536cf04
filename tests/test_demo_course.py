"""A course of three demo sessions for one pseudonym (the demo's scripted therapist and simulated
patient, on a fake clock against a stand-in renderer): the second and third open at the rung the last
one ended on, a rung the therapist added in the second is on the third's ladder, and the course report
shows the trend."""

from __future__ import annotations

import dataclasses
import json
import re
import types
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from vr_exposure.console import scripted as demo
from vr_exposure.console.controller import ConsoleController
from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library

from .test_demo import _FakeRenderer

MINUTES = 1.0


def _records(session_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (session_dir / "console.jsonl").read_text().splitlines() if x.strip()]


def _demo_session(root: Path, clock: FakeClock, library: Any, add_rung: tuple[str, float] | None) -> Path:
    original = load_library().protocol(demo.DEFAULT_PROTOCOL)
    renderer = _FakeRenderer(library)
    controller = ConsoleController(renderer, library, clock=clock, sessions_root=root)
    renderer.controller = controller
    script = demo.ScriptedSession(
        controller,
        renderer.press,
        minutes=MINUTES,
        compress=demo.time_compression(original, MINUTES),
        seed=7,
        pseudonym="DEMO01",
        say=lambda line: None,
        add_rung=add_rung,
    )
    for _ in range(int(MINUTES * 60 * 10) + 50):
        if script.step():
            break
        renderer.deliver()
        controller.tick()
        clock.advance(0.1)
    assert script.summary is not None
    session_dir = controller.close_session()
    assert session_dir is not None
    return session_dir


def _last_rung(session_dir: Path) -> dict[str, Any]:
    return [r["content"] for r in _records(session_dir) if r["msg_type"] == "rung_changed"][-1]


def test_a_course_of_three_demo_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    library = load_library()
    protocol = demo.compressed_protocol(library.protocol(demo.DEFAULT_PROTOCOL), MINUTES)
    library = dataclasses.replace(library, protocols={**library.protocols, demo.DEFAULT_PROTOCOL: protocol})
    clock = FakeClock(utc_start_s=1_767_225_600.0)
    monkeypatch.setattr(demo, "time", types.SimpleNamespace(monotonic=lambda: clock.monotonic_ns() / 1e9))
    dirs = []
    for i in range(3):
        dirs.append(_demo_session(tmp_path, clock, library, ("Jar, a step closer", 33.0) if i == 1 else None))
        clock.advance(7 * 86_400)
    first, second, third = (_records(d) for d in dirs)
    # The first starts on rung 1; each later one where the one before ended.
    assert [r["content"]["rung"] for r in first if r["msg_type"] == "rung_changed"][0] == 0
    ended_1, ended_2 = _last_rung(dirs[0]), _last_rung(dirs[1])
    [resumed_2] = [r["content"] for r in second if r["msg_type"] == "course_resumed"]
    assert (resumed_2["previous_session"], resumed_2["previous_rung"]) == (dirs[0].name, ended_1["rung"])
    assert [r["content"] for r in second if r["msg_type"] == "rung_changed"][0]["preset"] == ended_1["preset"]
    [resumed_3] = [r["content"] for r in third if r["msg_type"] == "course_resumed"]
    assert resumed_3["previous_session"] == dirs[1].name
    opened_3 = [r["content"] for r in third if r["msg_type"] == "rung_changed"][0]
    assert (opened_3["preset"], opened_3["title"]) == (ended_2["preset"], ended_2["title"])
    # The rung added at the end of the second session is on the third's ladder.
    [added] = [r["content"] for r in second if r["msg_type"] == "patient_ladder_changed"]
    assert added["edit"] == "add" and added["title"] == "Jar, a step closer"
    [ladder_3] = [r["content"] for r in third if r["msg_type"] == "patient_ladder"]
    titles = [r["title"] for r in ladder_3["ladder"]]
    assert "Jar, a step closer" in titles and ladder_3["custom"] is True
    assert len(titles) == len(protocol.ladder) + 1
    [new] = [r for r in ladder_3["ladder"] if r["title"] == "Jar, a step closer"]
    assert (new["preset"], new["intensity"], new["expected_suds"]) == (
        added["preset"],
        added["intensity"],
        33.0,
    )
    # The course report: three sessions, the trend, each session's place in the course.
    from vr_exposure.research.report import build_report
    from vr_exposure.research.timeline import load_timeline

    html = build_report([load_timeline(d) for d in dirs])
    assert "Course of treatment (3 sessions)" in html and "Trend between sessions (3 sessions)" in html
    data = json.loads(
        re.search(r'id="vr-exposure-data">(.*?)</script>', html, re.S).group(1).replace("<\\/", "</")
    )
    assert [s["course_session"] for s in data["sessions"]] == [{"n": n, "of": 3} for n in (1, 2, 3)]
    trend = data["between_sessions"]["DEMO01"]["session"]
    assert len(trend["peaks"]) == 3 and all(p is not None for p in trend["peaks"])
    assert any("Against the last session" in line for line in data["sessions"][2]["summary"])
    text = unescape(html)
    assert "the patient's own, 13 rungs (1 made for this patient)" in text
    assert f"the protocol's, {len(protocol.ladder)} rungs" in text  # the first two ran on the protocol's
