"""``vr-exposure validate`` and ``vr-exposure scenes``: output, summary lines and exit codes."""

# Expected problem lines are kept whole, exactly as the command prints them.
# ruff: noqa: E501

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vr_exposure.cli import main

from .conftest import write_file

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out.splitlines(), err


SCENE = """
    id: jar
    title: A jar
    condition: arachnophobia
    builder: safe-place
    parameters:
      wave_amplitude_m: {unit: m, keyframes: [{intensity: 0, value: 0.2}]}
      wave_period_s: {unit: s, keyframes: [{intensity: 0, value: 9}]}
      wind_strength: {keyframes: [{intensity: 0, value: 0.1}]}
      light_warmth: {keyframes: [{intensity: 0, value: 0.7}]}
      sun_elevation_deg: {keyframes: [{intensity: 0, value: 12}]}
    presets:
      near: {intensity: 30}
"""

PROTOCOL = """
    id: short
    title: Short
    scene: jar
    ladder:
      - {preset: near, expected_suds: 20}
    safe_place: {scene: safe-place}
"""


def test_validate_without_paths_checks_the_shipped_content(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "validate")
    assert rc == 0
    assert len(out) == 1
    assert re.fullmatch(r"\d+ files checked: no problems", out[0])
    assert int(out[0].split()[0]) >= 3


def test_validate_reports_every_problem_then_a_summary_and_fails(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_file(in_tmp / "content" / "scenes" / "jar.yaml", SCENE.replace("intensity: 30", "intensity: 120"))
    write_file(
        in_tmp / "content" / "protocols" / "short.yaml", PROTOCOL.replace("preset: near", "preset: nearr")
    )
    (in_tmp / "content" / "scenes" / "empty.yaml").write_bytes(b"")
    (in_tmp / "content" / "scenes" / "photo.yaml").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    rc, out, err = _run(capsys, "validate", "content")
    assert err == ""
    assert out == [
        "content/protocols/short.yaml:4: ladder: warning: only 1 rung; a fear ladder usually has 10-15",
        'content/protocols/short.yaml:5: ladder[0].preset: scene "jar" has no preset "nearr"; did you mean "near"?',
        "content/scenes/empty.yaml:1: file is empty: expected a YAML mapping with a scene or protocol",
        "content/scenes/jar.yaml:12: presets.near.intensity: 120 is outside 0-100",
        "content/scenes/photo.yaml:1: not a text file (it contains NUL bytes): expected a YAML scene or protocol",
        "4 files checked: 4 errors, 1 warning",
    ]
    assert rc == 1


def test_warnings_alone_pass_unless_strict(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_file(in_tmp / "scenes" / "jar.yaml", SCENE)
    write_file(in_tmp / "protocols" / "short.yaml", PROTOCOL)
    rc, out, _ = _run(capsys, "validate", "scenes", "protocols/short.yaml")
    assert out == [
        "protocols/short.yaml:4: ladder: warning: only 1 rung; a fear ladder usually has 10-15",
        "2 files checked: 0 errors, 1 warning",
    ]
    assert rc == 0
    rc, out, _ = _run(capsys, "validate", "--strict", "scenes", "protocols/short.yaml")
    assert out[-1] == "2 files checked: 0 errors, 1 warning (--strict: warnings fail)"
    assert rc == 1


def test_a_protocol_alone_is_checked_against_the_installed_scenes(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "protocols" / "spiders-graded.yaml").read_text(encoding="utf-8")
    write_file(in_tmp / "spiders-graded.yaml", text)
    assert _run(capsys, "validate", "spiders-graded.yaml")[:2] == (0, ["1 file checked: no problems"])
    write_file(in_tmp / "spiders-graded.yaml", text.replace("scene: spiders", "scene: spider"))
    rc, out, _ = _run(capsys, "validate", "spiders-graded.yaml")
    assert out == [
        'spiders-graded.yaml:6: scene: no scene "spider"; did you mean "spiders"?',
        "1 file checked: 1 error, 0 warnings",
    ]
    assert rc == 1


def test_a_missing_path_is_an_error(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "validate", "nowhere.yaml")
    assert out == ["nowhere.yaml: no such file or directory", "0 files checked: 1 error, 0 warnings"]
    assert rc == 1


def test_a_yaml_syntax_error_has_its_line(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (in_tmp / "jar.yaml").write_text(
        "id: jar\ntitle: A jar\npresets:\n  near: {intensity: 30\n", encoding="utf-8"
    )
    rc, out, _ = _run(capsys, "validate", "jar.yaml")
    assert out[0] == (
        "jar.yaml:5: YAML syntax error: expected ',' or '}', but got '<stream end>' (while parsing a flow "
        "mapping that starts at line 4)"
    )
    assert rc == 1


def test_the_console_script_runs_validate_in_a_fresh_process() -> None:
    env = dict(os.environ)
    env.pop("VR_EXPOSURE_CONTENT", None)
    proc = subprocess.run(
        [sys.executable, "-m", "vr_exposure.cli", "validate", "scenes", "protocols"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().endswith("files checked: no problems")
    # The command never loads the renderer's or the console's toolkits.
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from vr_exposure.cli import main; rc = main(['validate']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('panda3d', 'PyQt6', 'direct')))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.stdout.strip().splitlines()[-1] == "[]"


# ------------------------------------------------------------------------------------------------
# vr-exposure scenes


def test_scenes_lists_presets_events_audio_and_protocols(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(capsys, "scenes")
    assert rc == 0 and err == ""
    text = "\n".join(out)
    assert "  spiders: Spiders in a study [arachnophobia, builder spiders]" in out
    assert "photo-far (5), photo-near (12), jar-far (20)" in text
    assert "    events:  walk-toward [w], drop-from-ceiling [d], scatter [s]" in out
    assert "    audio:   scuttle, room-tone" in out
    assert "  safe-place: Beach at dusk [relaxation, builder safe-place]" in out
    assert "  spiders-graded: Graded exposure to spiders [scene spiders, 12 rungs, SUDS every 300 s]" in out
    assert "     1. photo-far (expected SUDS 10)  Photograph across the room" in out
    assert "    12. many-spiders-moving (expected SUDS 85)  Many spiders moving" in out


def test_scenes_json_is_one_object_for_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "scenes", "--json")
    assert rc == 0
    doc = json.loads("\n".join(out))
    scenes = {s["id"]: s for s in doc["scenes"]}
    spiders = scenes["spiders"]
    assert [p["name"] for p in spiders["presets"]][:2] == ["photo-far", "photo-near"]
    assert spiders["presets"][0]["intensity"] == 5
    assert {e["name"]: e["hotkey"] for e in spiders["events"]} == {
        "walk-toward": "w",
        "drop-from-ceiling": "d",
        "scatter": "s",
    }
    assert spiders["parameters"]["nearest_distance_m"]["unit"] == "m"
    protocols = {p["id"]: p for p in doc["protocols"]}
    assert len(protocols["spiders-graded"]["ladder"]) == 12
    assert protocols["spiders-graded"]["suds"]["probe_interval_s"] == 300


def test_scenes_with_broken_content_lists_the_rest_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_file(tmp_path / "scenes" / "jar.yaml", SCENE)
    write_file(tmp_path / "scenes" / "bad.yaml", "id: bad\ntitle: Bad\ncondition: fear\nbuilder: x\n")
    (tmp_path / "protocols").mkdir()
    monkeypatch.setenv("VR_EXPOSURE_CONTENT", str(tmp_path))
    rc, out, err = _run(capsys, "scenes")
    assert rc == 1
    assert "  jar: A jar [arachnophobia, builder safe-place]" in out
    assert "Protocols (0):" in out
    assert err.splitlines() == [
        f'{tmp_path / "scenes" / "bad.yaml"}:3: condition: expected one of "acrophobia", "arachnophobia", '
        '"aviophobia", "claustrophobia", "cynophobia", "glossophobia", "ptsd", "relaxation", got "fear" (text)'
    ]
