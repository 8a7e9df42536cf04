"""Timestamped session notes: a line to type into and the list of notes so far, each with the session
time it was written at."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QGroupBox, QLineEdit, QListWidget, QVBoxLayout, QWidget


class NotesPanel(QGroupBox):
    """Emits ``note_entered(text)``; the window shows it with :meth:`add_note` once it is journaled."""

    note_entered = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Notes", parent)
        self.edit = QLineEdit(self)
        self.edit.setObjectName("note-edit")
        self.edit.setPlaceholderText("Type a note and press Enter (Ctrl+N)")
        self.list = QListWidget(self)
        self.list.setObjectName("note-list")
        layout = QVBoxLayout(self)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.edit.returnPressed.connect(self._on_return)

    def add_note(self, session_time_s: float, text: str) -> None:
        s = max(0, int(session_time_s))
        self.list.addItem(f"{s // 60:02d}:{s % 60:02d}  {text}")
        self.list.scrollToBottom()

    def _on_return(self) -> None:
        text = self.edit.text().strip()
        if text:
            self.edit.clear()
            self.note_entered.emit(text)
