"""Helpers for the content tests: YAML files written into a temporary working directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def write_file(path: Path, text: str | bytes) -> Path:
    """Write ``text`` (dedented, leading newline dropped) or raw ``bytes`` to ``path``, making its
    directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary directory that is also the working directory (problems name relative paths)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
