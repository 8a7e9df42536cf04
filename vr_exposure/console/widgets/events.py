"""Event buttons built from the scene spec's ``events``, each with its hotkey (a window shortcut).

Hotkeys that the console reserves (SUDS digits, the safe place, F5) are not bound, and the button says
so, rather than silently shadowing a safety key.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QWidget

RESERVED_KEYS = frozenset(
    {*"0123456789", "=", "F12", "Esc", "Escape", "F5", "F9", "Ctrl+P", "Ctrl+N", "Ctrl+Z", "Backspace"}
)


@dataclass(frozen=True)
class EventItem:
    name: str
    title: str
    hotkey: str | None = None


class EventButtons(QGroupBox):
    """Emits ``event_requested(name)``."""

    event_requested = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Events", parent)
        self._grid = QGridLayout(self)
        self._empty = QLabel("This scene has no events.", self)
        self._grid.addWidget(self._empty, 0, 0)
        self.buttons: dict[str, QPushButton] = {}
        self.shortcuts: dict[str, QShortcut] = {}
        self._enabled = True
        self._title = "Events"

    def set_enabled(self, enabled: bool, why: str = "") -> None:
        """Enable or disable every event button and hotkey (disabled in the safe place: an event
        would expose the patient), with ``why`` in the box's title."""
        self._enabled = enabled
        self.setTitle(self._title if enabled or not why else f"{self._title} — {why}")
        for button in self.buttons.values():
            button.setEnabled(enabled)
        for shortcut in self.shortcuts.values():
            shortcut.setEnabled(enabled)

    def set_events(self, events: list[EventItem]) -> None:
        for button in self.buttons.values():
            self._grid.removeWidget(button)
            button.deleteLater()
        for shortcut in self.shortcuts.values():
            shortcut.setEnabled(False)
            shortcut.deleteLater()
        self.buttons = {}
        self.shortcuts = {}
        self._empty.setVisible(not events)
        for i, event in enumerate(events):
            label = event.title
            key = event.hotkey
            if key and QKeySequence(key).toString() not in RESERVED_KEYS and key not in RESERVED_KEYS:
                label = f"{event.title}  [{key}]"
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.activated.connect(lambda name=event.name: self.event_requested.emit(name))
                self.shortcuts[event.name] = shortcut
            elif key:
                label = f"{event.title}  [{key}: reserved, not bound]"
            button = QPushButton(label, self)
            button.setObjectName(f"event-{event.name}")
            button.clicked.connect(lambda _checked=False, name=event.name: self.event_requested.emit(name))
            self._grid.addWidget(button, 1 + i // 2, i % 2)
            self.buttons[event.name] = button
        self.set_enabled(self._enabled, "" if self._enabled else self.title().partition(" — ")[2])
