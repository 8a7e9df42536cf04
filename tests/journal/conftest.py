"""Journal test helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from vr_exposure.core.clock import FakeClock
from vr_exposure.journal import create_session


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
