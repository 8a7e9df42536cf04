"""Backend choice and fallback, without a window (no display in tests)."""

from __future__ import annotations

import pytest

from vr_exposure.renderer.backends import (
    BackendOptions,
    BackendUnavailable,
    display_available,
    select_backend,
)


def test_no_display_in_tests() -> None:
    assert not display_available()


def test_explicit_window_without_display_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable, match="no display"):
        select_backend("window", explicit=True)


def test_explicit_openxr_without_runtime_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XR_RUNTIME_JSON", raising=False)
    with pytest.raises(BackendUnavailable) as info:
        select_backend("openxr", explicit=True)
    message = str(info.value)
    assert message and "\n" not in message


def test_auto_falls_back_to_offscreen_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XR_RUNTIME_JSON", raising=False)
    said: list[str] = []
    backend = select_backend("auto", explicit=False, options=BackendOptions(size=(64, 48)), say=said.append)
    assert backend.name == "offscreen"
    assert backend.window_type == "offscreen"
    assert len(said) == 1
    assert "offscreen" in said[0] and "openxr" in said[0] and "window" in said[0]


def test_default_window_falls_back_to_offscreen() -> None:
    said: list[str] = []
    backend = select_backend("window", explicit=False, say=said.append)
    assert backend.name == "offscreen"
    assert "no display" in said[0]


def test_explicit_offscreen_says_nothing() -> None:
    said: list[str] = []
    backend = select_backend("offscreen", explicit=True, say=said.append)
    assert backend.name == "offscreen" and said == []
    assert "window-type offscreen" in backend.prc_data()


def test_unknown_backend_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        select_backend("vive", explicit=True)
