"""The refusal bar: when the renderer refuses (or never answers) a rung change, an intensity change, an
event or a scene change, a line says why and what to do, with a one-click retry.

It stays until the therapist retries or closes it, or a newer refusal replaces it: a refused action is
never a passing toast. The safe place never goes through here (it is sent at once, in any state).

The bar keeps its place when empty (a fixed height, held while hidden), so a refusal appearing or going
never moves a control.
"""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget


class RefusalBar(QFrame):
    """Emits ``retry_requested(token)`` with the token of the refusal shown."""

    retry_requested = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("refusal-bar")
        self.setStyleSheet(
            "QFrame#refusal-bar { background: #fdecea; border: 1px solid #b71c1c; border-radius: 4px; }"
        )
        self.message = QLabel("", self)
        self.message.setObjectName("refusal-message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b71c1c; font-weight: bold;")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.retry_button = QPushButton("Try again", self)
        self.retry_button.setObjectName("refusal-retry")
        self.close_button = QPushButton("✕", self)
        self.close_button.setObjectName("refusal-close")
        self.close_button.setToolTip("Dismiss (the action stays undone)")
        self.close_button.setFixedWidth(32)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.message, 1)
        row.addWidget(self.retry_button)
        row.addWidget(self.close_button)
        self.token: str | None = None
        self.action: str | None = None
        self.retry_button.clicked.connect(self._on_retry_clicked)
        self.close_button.clicked.connect(self.clear)
        # Two lines of bold text: the room is reserved whether or not a refusal is shown.
        self.setFixedHeight(2 * self.message.fontMetrics().lineSpacing() + 20)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)
        self.setVisible(False)

    def show_refusal(self, message: str, token: str, action: str) -> None:
        self.token, self.action = token, action
        self.message.setText(message)
        self.retry_button.setEnabled(True)
        self.setVisible(True)

    def clear(self) -> None:
        self.token = self.action = None
        self.message.setText("")
        self.setVisible(False)

    def text(self) -> str:
        return self.message.text()

    def _on_retry_clicked(self) -> None:
        token = self.token
        if token is not None:
            self.clear()
            self.retry_requested.emit(token)
