"""Two machines over a slow, lossy network with no shared disk (tests/netdrill.py): the renderer in one
network namespace journals the session on its own disk, the console in the other fetches it at the
end over CURVE, the link is cut mid-transfer, and the console's session ends complete and sealed, the
renderer's journal byte for byte (SHA-256) as the renderer sealed it. Needs root for the namespaces;
skipped, saying why, elsewhere."""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.netdrill import (
    COMMAND_PORT,
    PUB_PORT,
    RENDERER_ADDR,
    ImpairedLink,
    _env,
    _next_json,
    _process,
    unavailable_reason,
)
from vr_exposure.journal import read_manifest, read_session, verify_session
from vr_exposure.journal.seal import digest_file

pytestmark = [pytest.mark.slow, pytest.mark.renderer]
ROOT = Path(__file__).resolve().parents[2]


def test_the_console_fetches_the_renderers_journal_across_an_impaired_link_with_a_cut() -> None:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    from vr_exposure.link.keys import allow_key, generate_keys

    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vr-exposure-journal-wan-")))
        keys = work / "keys"
        generate_keys("renderer", directory=keys)
        console_public, _ = generate_keys("console", directory=keys)
        allow_key(console_public, directory=keys)
        env = _env(work)
        link = stack.enter_context(ImpairedLink(delay_ms=80.0, jitter_ms=20.0, loss=0.02))
        link.set_impaired(True)
        renderer_disk, console_disk = work / "patient-pc", work / "clinic-pc"
        renderer_cmd = [
            *link.exec_prefix("renderer"), sys.executable, "-m", "vr_exposure.cli", "renderer",
            "--backend", "offscreen", "--size", "160x90", "--curve", "--keys-dir", str(keys),
            "--bind", f"tcp://{RENDERER_ADDR}:{COMMAND_PORT}", "--pub", f"tcp://{RENDERER_ADDR}:{PUB_PORT}",
            "--sessions", str(renderer_disk), "--link-timeout-s", "30",
        ]  # fmt: skip
        r_lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        stack.enter_context(_process(renderer_cmd, env, work / "renderer.log", r_lines))
        deadline = time.monotonic() + 120
        while True:
            line = r_lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None and time.monotonic() < deadline, (work / "renderer.log").read_text()[
                -2000:
            ]
            if line.startswith("READY "):
                break
        console_cmd = [
            *link.exec_prefix("console"), sys.executable, "-m", "tests.console.remote_journal_child",
            "--connect", f"tcp://{RENDERER_ADDR}:{COMMAND_PORT}", "--pub", f"tcp://{RENDERER_ADDR}:{PUB_PORT}",
            "--keys", str(keys), "--sessions", str(console_disk), "--chunk", "8192",
        ]  # fmt: skip
        c_lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        console = stack.enter_context(
            _process(console_cmd, {**env, "PWD": str(ROOT)}, work / "console.log", c_lines)
        )
        cut = False
        while True:
            try:
                msg = _next_json(c_lines, 400, "the console")
            except RuntimeError as exc:
                raise AssertionError(f"{exc}:\n{(work / 'console.log').read_text()[-3000:]}") from None
            assert "error" not in msg, (msg, (work / "console.log").read_text()[-3000:])
            if msg.get("want") == "outage":
                assert 0 < msg["bytes_done"] < msg["bytes_total"], msg
                link.outage(4.0)  # mid-transfer: the chunk in flight and the link are lost
                cut = True
                assert console.stdin is not None
                console.stdin.write("{}\n")
                console.stdin.flush()
            elif msg.get("result") == "done":
                break
        assert cut, "the link was cut during the transfer"
        assert "interrupted" in msg["states"] and msg["states"][-1] == "done", msg["states"]
        session_dir = Path(msg["session_dir"])
        assert session_dir.parent == console_disk
        theirs_dir = renderer_disk / session_dir.name
        theirs = read_manifest(theirs_dir)
        assert theirs.remote_copy_of == "console" and theirs.sealed and theirs.released_at is not None
        ours = read_manifest(session_dir)
        assert ours.sealed and ours.awaiting == []
        for entry in theirs.files:
            mine = ours.file_entry(entry.file)
            assert mine is not None and mine.fetched_from == "renderer"
            assert mine.sha256 == entry.sha256 == digest_file(session_dir / entry.file).sha256
        assert verify_session(session_dir).ok
        types = {r.msg_type for r in read_session(session_dir).records if r.process == "renderer"}
        assert {"scene_loaded", "intensity_changed", "journal_kept_locally"} <= types
        assert not list(session_dir.glob(".*.part"))
        assert json.loads((session_dir / "manifest.json").read_text())["awaiting"] == []
