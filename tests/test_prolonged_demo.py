"""The demo runs a prolonged-exposure session headless: the simulated patient's three hotspots, each
entered and journaled; its report and export give peak and end SUDS per hotspot equal to a hand
computation from the session's own ratings; ``vr-exposure hotspots`` lists and checks the file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from vr_exposure.cli import main
from vr_exposure.research.hotspots import hotspot_rows
from vr_exposure.research.timeline import load_timeline


def test_the_demo_walks_three_hotspots_and_reports_each(tmp_path: Path, capsys) -> None:
    sessions = tmp_path / "sessions"
    env = {
        k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "VR_EXPOSURE_VIA_RUN")
    }
    argv = [sys.executable, "-m", "vr_exposure.cli", "demo", "--protocol", "road-accident-prolonged"]
    argv += ["--minutes", "0.5", "--headless", "--sessions", str(sessions)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"^ *step +hotspot +n +peak +end +mean +time$", out, re.MULTILINE), out
    session_dir = Path(re.search(r"^session directory: (.+)$", out, re.MULTILINE).group(1))
    records = [json.loads(x) for x in (session_dir / "console.jsonl").read_text().splitlines()]
    entered = [r["content"]["step"] for r in records if r["msg_type"] == "hotspot_entered"]
    assert entered == [0, 1, 2, 3]
    # By hand from the console's own ratings: each rating belongs to the rung (step) it was given on.
    by_step: dict[int, list[float]] = {}
    withdrawn = {r["content"]["rating"]["t_mono_ns"] for r in records if r["msg_type"] == "rating_corrected"}
    for r in records:
        rating = r["content"].get("rating") if r["msg_type"] == "suds_recorded" else None
        if rating and rating["during_exposure"] and rating["t_mono_ns"] not in withdrawn:
            by_step.setdefault(rating["rung"], []).append(rating["value"])
    rows = hotspot_rows(load_timeline(session_dir))
    assert [r.name for r in rows][1:] == [
        "Driving home on the highway at dusk",
        "It gets dark and starts to rain",
        "The car ahead brakes and we hit it",
    ]
    for row in rows:
        values = by_step.get(row.step, [])
        assert (row.n_ratings, row.peak, row.end) == (
            len(values),
            max(values) if values else None,
            values[-1] if values else None,
        )
    assert sum(r.n_ratings for r in rows[1:]) > 0 and all(r.entries == 1 for r in rows)

    capsys.readouterr()
    assert main(["hotspots", "list", "DEMO01", "--sessions", str(sessions)]) == 0
    listed = capsys.readouterr().out
    assert (
        "3. The car ahead brakes and we hit it  [heavy-traffic at 72; hard-braking 1, collision 0.8]"
        in listed
    )
    path = sessions / "patients" / "DEMO01" / "hotspots" / "road-accident-prolonged.yaml"
    path.write_text(path.read_text().replace("siren-passes", "siren-pases"))
    assert main(["hotspots", "check", "--sessions", str(sessions)]) == 1
    problem = capsys.readouterr().out
    assert re.search(
        r"road-accident-prolonged\.yaml:\d+: hotspots\[1\]\.triggers\[0\]\.event: "
        r'scene "road-accident" has no event "siren-pases"; did you mean "siren-passes"\?',
        problem,
    ), problem
