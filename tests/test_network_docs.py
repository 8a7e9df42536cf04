"""The README's "Running the console over a network" section, followed as written: keys made and
exchanged on two "machines" (two key stores, two session roots), the renderer started with the
documented flags, the console connected with the documented flags, a session whose renderer journal
ends in the console's session directory."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from vr_exposure.console.adapter import LinkAdapter
from vr_exposure.console.cli import client_curve_for
from vr_exposure.console.controller import ConsoleController
from vr_exposure.core.loading import load_library
from vr_exposure.journal import read_manifest, verify_session
from vr_exposure.link import LinkClient

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.renderer]


def _section_commands(doc: str = "README.md") -> tuple[list[list[str]], list[list[str]]]:
    text = (ROOT / doc).read_text(encoding="utf-8")
    heading = re.search(r"^##.* Running the console over a network", text, flags=re.M)
    assert heading is not None, f"{doc} has no section 'Running the console over a network'"
    section = text[heading.start() :]
    end = section.find("\n## ", 10)
    section = section if end < 0 else section[:end]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 2, f"{doc}: one block for the renderer's machine, one for the console's"

    def commands(block: str) -> list[list[str]]:
        return [shlex.split(line.split("#", 1)[0]) for line in block.splitlines() if line.strip()]

    return commands(blocks[0]), commands(blocks[1])


def test_the_protocol_spec_gives_the_same_commands_as_the_readme() -> None:
    """docs/protocol.md section 12 repeats the README's commands; the test below runs the README's."""
    assert _section_commands("docs/protocol.md") == _section_commands("README.md")


def _machine(tmp_path: Path, name: str) -> dict[str, str]:
    home = tmp_path / name
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "VR_EXPOSURE_SESSIONS": str(home / "sessions"),
    }


def test_the_network_section_works_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renderer_cmds, console_cmds = _section_commands()
    patient_pc, clinic_pc = _machine(tmp_path, "patient-pc"), _machine(tmp_path, "clinic-pc")
    keys = {
        env["HOME"]: Path(env["XDG_CONFIG_HOME"]) / "vr-exposure" / "keys" for env in (patient_pc, clinic_pc)
    }

    def run(argv: list[str], env: dict[str, str]) -> None:
        assert argv[0] == "vr-exposure"
        result = subprocess.run(
            [sys.executable, "-m", "vr_exposure.cli", *argv[1:]],
            env=env,
            cwd=env["HOME"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr

    for env in (patient_pc, clinic_pc):
        Path(env["HOME"]).mkdir(parents=True)
    # The console's key first (the renderer's block allows it), copied as a public file only.
    run(next(c for c in console_cmds if c[1] == "keys"), clinic_pc)
    shutil.copy(keys[clinic_pc["HOME"]] / "console.key", Path(patient_pc["HOME"]) / "console.key")
    *setup, serve = renderer_cmds
    for argv in setup:
        run(argv, patient_pc)
    shutil.copy(keys[patient_pc["HOME"]] / "renderer.key", Path(clinic_pc["HOME"]) / "renderer.key")
    assert not list(Path(clinic_pc["HOME"]).glob("*.key_secret"))

    # The renderer as documented, on a free port of this machine's loopback instead of every address.
    assert serve[:2] == ["vr-exposure", "renderer"] and "--curve" in serve
    serve = [a.replace("0.0.0.0:47310", "127.0.0.1:*") for a in serve]
    serve = [a.replace("~", patient_pc["HOME"]) for a in serve]
    proc = subprocess.Popen(
        [sys.executable, "-m", "vr_exposure.cli", *serve[1:], "--backend", "offscreen", "--size", "160x90"],
        env=patient_pc,
        cwd=patient_pc["HOME"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = ""
        deadline = time.monotonic() + 120
        while not line.startswith("READY") and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "the renderer exited"
        fields = dict(f.split("=", 1) for f in line.split()[1:])
        # The console as documented, in the clinic's key store and sessions.
        console = next(c for c in console_cmds if c[1] == "console")
        opts = dict(zip(console[2::2], console[3::2], strict=True))
        for key, value in (("XDG_CONFIG_HOME", clinic_pc["XDG_CONFIG_HOME"]),):
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(clinic_pc["HOME"])
        curve = client_curve_for("tcp://192.0.2.1:47310", opts["--key"], Path(opts["--renderer-key"]))
        client = LinkClient(fields["command"], fields["pub"], curve=curve, telemetry=False)
        library: Any = load_library()
        controller = ConsoleController(
            client, library, sessions_root=Path(clinic_pc["VR_EXPOSURE_SESSIONS"]), share_session_dir=False
        )
        adapter = LinkAdapter(client, controller)

        def until(predicate: Any, what: str) -> None:
            end = time.monotonic() + 90
            while not predicate():
                assert time.monotonic() < end, what
                adapter.poll(20)
                adapter.housekeeping()

        until(lambda: client.synced, "contact over CURVE")
        session_dir = controller.start_session("P042", protocol_id="spiders-graded")
        controller.begin_exposure()
        until(lambda: controller.renderer_state.scene == "spiders" and not controller.pending, "the scene")
        controller.end_session()
        controller.close_session()
        until(lambda: not controller.fetching, "the journal fetch")
        adapter.close()
        client.close()
        assert (session_dir / "renderer.jsonl").exists()
        assert read_manifest(session_dir).awaiting == [] and verify_session(session_dir).ok
        kept = Path(patient_pc["HOME"]) / "vr-exposure-sessions" / session_dir.name / "renderer.jsonl"
        assert kept.exists(), "the renderer keeps its copy under its --sessions directory"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
