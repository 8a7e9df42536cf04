"""``vr-exposure journal list|show|verify|seal|recover``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vr_exposure.cli import main
from vr_exposure.journal import JournalWriter

from .conftest import died_mid_write


def _finished(session: Path) -> None:
    with JournalWriter(session, "renderer") as writer:
        writer.telemetry("head_pose", {"frame": 1})
        writer.clinical("intensity_changed", {"intensity": 30.0})


def test_show_text_and_json(session: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _finished(session)
    assert main(["journal", "show", str(session), "--records", "10"]) == 0
    out = capsys.readouterr().out
    assert "pseudonym P042" in out and "intensity_changed" in out and "renderer.jsonl: 4 records" in out
    assert main(["journal", "show", str(session), "--json", "--type", "head_pose", "--records", "5"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["msg_types"]["head_pose"] == 1 and data["shown"][0]["content"] == {"frame": 1}


def test_show_by_session_id_under_the_root(
    session: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VR_EXPOSURE_SESSIONS", str(session.parent))
    _finished(session)
    assert main(["journal", "show", session.name]) == 0
    assert main(["journal", "list"]) == 0
    assert session.name in capsys.readouterr().out


def test_show_reports_damage_with_status_1(session: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _finished(session)
    with open(session / "renderer.jsonl", "ab") as f:
        f.write(b'{"seq"')
    assert main(["journal", "show", str(session)]) == 1
    assert "warning: renderer.jsonl:5: torn last line" in capsys.readouterr().out


def test_seal_then_verify_then_tamper(session: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _finished(session)
    assert main(["journal", "verify", str(session)]) == 1
    assert main(["journal", "seal", str(session)]) == 0
    assert main(["journal", "verify", str(session)]) == 0
    assert "OK (1 files)" in capsys.readouterr().out
    path = session / "renderer.jsonl"
    path.write_bytes(path.read_bytes().replace(b"30.0", b"90.0"))
    assert main(["journal", "verify", str(session)]) == 1
    assert "SHA-256" in capsys.readouterr().out


def test_recover(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = died_mid_write(tmp_path)
    assert main(["journal", "recover", "--root", str(tmp_path)]) == 0
    assert f"recovered {session.name}: renderer.jsonl not closed cleanly" in capsys.readouterr().out
    assert main(["journal", "verify", str(session)]) == 0
    assert main(["journal", "recover", "--root", str(tmp_path)]) == 0
    assert "nothing to recover" in capsys.readouterr().out


def test_unknown_session_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["journal", "show", "20990101T000000Z-NOPE-0000"]) == 1
    assert "no such session directory" in capsys.readouterr().err


def test_recover_one_session_by_directory_or_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Like verify and seal, recover takes the sessions to recover (a directory or an id).
    session = died_mid_write(tmp_path)
    other = died_mid_write(tmp_path / "elsewhere")
    assert main(["journal", "recover", str(session)]) == 0
    assert f"recovered {session.name}: renderer.jsonl not closed cleanly" in capsys.readouterr().out
    assert main(["journal", "verify", str(session)]) == 0
    assert main(["journal", "verify", str(other)]) == 1  # only the one named was recovered
    capsys.readouterr()
    monkeypatch.setenv("VR_EXPOSURE_SESSIONS", str(other.parent))
    assert main(["journal", "recover", other.name]) == 0
    assert f"recovered {other.name}" in capsys.readouterr().out
    assert main(["journal", "recover", str(session)]) == 0
    assert f"{session.name}: sealed already, nothing to recover" in capsys.readouterr().out
