"""The session clock: elapsed session time (excluding nothing: pauses count, as they do clinically) and
time on the current rung, in large type."""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QWidget


def format_duration(seconds: float) -> str:
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class SessionTimer(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("no session", parent)
        self.setObjectName("session-timer")
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.setFont(font)

    def show_times(self, session_s: float | None, rung_s: float | None = None, mode: str = "") -> None:
        if session_s is None:
            self.setText("no session")
            return
        text = f"session {format_duration(session_s)}"
        if rung_s is not None:
            text += f"   rung {format_duration(rung_s)}"
        if mode:
            text += f"   [{mode}]"
        self.setText(text)
