"""Suite-wide settings: everything headless, on loopback, with no user config touched."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("DISPLAY", None)
os.environ.pop("WAYLAND_DISPLAY", None)

ROOT = Path(__file__).resolve().parent.parent
BUSY_EVERYWHERE = os.environ.get("VR_EXPOSURE_TEST_BUSY", "") not in ("", "0")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Keys, sessions and settings go to a per-test temporary home, never the user's."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("VR_EXPOSURE_SESSIONS", str(home / "sessions"))
    yield


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def busy_cores() -> Iterator[int]:
    """Every core kept busy for the test (see tests/loadhelpers.py); yields how many spinners run."""
    from tests.loadhelpers import busy_cores as spin

    with spin() as procs:
        yield len(procs)


@pytest.fixture(autouse=BUSY_EVERYWHERE)
def _busy_everywhere(request: pytest.FixtureRequest) -> Iterator[None]:
    if BUSY_EVERYWHERE and "busy_cores" not in request.fixturenames:
        request.getfixturevalue("busy_cores")
    yield
