"""Console test fixtures: widget factories that fail the test on leaked top-level widgets, and a real
offscreen renderer process to talk to."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from PyQt6 import sip
from PyQt6.QtCore import QCoreApplication, QEvent
from PyQt6.QtWidgets import QApplication, QWidget

W = TypeVar("W", bound=QWidget)

# Qt's own long-lived helper windows (the tooltip label) are created once per application, not leaked.
_QT_INTERNAL = {"QTipLabel"}


def _live_top_levels() -> list[QWidget]:
    return [
        w
        for w in QApplication.topLevelWidgets()
        if not sip.isdeleted(w) and type(w).__name__ not in _QT_INTERNAL
    ]


def _flush_deletes() -> None:
    # pyqtgraph's context menus have no QWidget parent: they go when their Python owners are collected.
    gc.collect()
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        QCoreApplication.processEvents()


@pytest.fixture
def make_widget(qtbot: Any) -> Iterator[Callable[..., Any]]:
    """``make_widget(cls, *args, **kwargs)`` builds a widget the test owns; at teardown every widget made
    is closed and deleted, and any top-level widget still alive that was not there before fails the test."""
    _flush_deletes()
    before = {id(w) for w in _live_top_levels()}
    made: list[QWidget] = []

    def factory(cls: type[W], *args: Any, **kwargs: Any) -> W:
        widget = cls(*args, **kwargs)
        made.append(widget)
        return widget

    yield factory
    for widget in reversed(made):
        if not sip.isdeleted(widget):
            widget.close()
            widget.deleteLater()
    made.clear()
    widget = None  # the loop variable would keep the last wrapper (and what it owns) alive
    _flush_deletes()
    leaked = [w for w in _live_top_levels() if id(w) not in before]
    names = [f"{type(w).__name__}({w.objectName()!r})" for w in leaked]
    assert not leaked, f"top-level widgets leaked by the test: {', '.join(names)}"
