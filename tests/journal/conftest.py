"""Journal test helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vr_exposure.core.clock import SYSTEM_CLOCK, Clock, FakeClock
from vr_exposure.journal import JournalWriter, create_session, read_manifest, write_manifest
from vr_exposure.journal.manifest import ClockPair, JournalFile
from vr_exposure.journal.paths import clock_domain

LINE_FIELDS = ["seq", "t_mono_ns", "process", "kind", "msg_type", "header", "parent_header", "content"]
"""The fields of a journal line, in the order the writer writes them (docs/journal.md)."""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def session(root: Path, clock: FakeClock) -> Path:
    return create_session(
        root,
        pseudonym="P042",
        protocol="spiders-graded",
        scene="spiders",
        software_version="0.1.0",
        clock=clock,
    )


def died_mid_write(root: Path, clock: Clock = SYSTEM_CLOCK) -> Path:
    """A session whose renderer died: its file ends in a torn line and it was never closed."""
    session = create_session(root, pseudonym="P7", software_version="0", clock=clock, recover=False)
    JournalWriter(session, "console", clock=clock).close()
    manifest = read_manifest(session)
    lines = [
        json.dumps(
            {
                "seq": i,
                "t_mono_ns": 10 + i,
                "process": "renderer",
                "kind": "clinical",
                "msg_type": "note",
                "header": None,
                "parent_header": None,
                "content": {"i": i},
            }
        )
        for i in range(3)
    ]
    (session / "renderer.jsonl").write_text("\n".join(lines) + '\n{"seq": 3, "t_mo')
    manifest.files.append(
        JournalFile(
            file="renderer.jsonl",
            process="renderer",
            opened=ClockPair.now(clock),
            clock_domain=clock_domain(),
        )
    )
    write_manifest(session, manifest)
    return session
