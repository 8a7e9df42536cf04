"""Advisory messages from the session engine ("SUDS fell 50% from peak 70: consider the next rung").

The console never acts on advice by itself: the therapist accepts (which is then their action, journaled
as such) or dismisses it. Only the newest advice is shown; a newer one replaces it.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class AdvicePanel(QGroupBox):
    """Emits ``accepted(advice)`` / ``dismissed(advice)`` with the advice object it was given."""

    accepted = pyqtSignal(object)
    dismissed = pyqtSignal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Advice", parent)
        self.message = QLabel("No advice.", self)
        self.message.setObjectName("advice-message")
        self.message.setWordWrap(True)
        self.accept_button = QPushButton("Accept", self)
        self.accept_button.setObjectName("advice-accept")
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.setObjectName("advice-dismiss")
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.dismiss_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._advice: Any = None
        self.accept_button.clicked.connect(self._on_accept)
        self.dismiss_button.clicked.connect(self._on_dismiss)
        self._show(None, "")

    @property
    def advice(self) -> Any:
        return self._advice

    def show_advice(self, advice: Any, text: str) -> None:
        self._show(advice, text)

    def clear(self) -> None:
        self._show(None, "")

    def _show(self, advice: Any, text: str) -> None:
        self._advice = advice
        self.message.setText(text or "No advice.")
        self.accept_button.setEnabled(advice is not None)
        self.dismiss_button.setEnabled(advice is not None)
        self.setStyleSheet("QGroupBox { background: #fff3c4; }" if advice is not None else "")

    def _on_accept(self) -> None:
        advice = self._advice
        if advice is not None:
            self._show(None, "")
            self.accepted.emit(advice)

    def _on_dismiss(self) -> None:
        advice = self._advice
        if advice is not None:
            self._show(None, "")
            self.dismissed.emit(advice)
