"""Honest warnings about what the patient experiences that the therapist cannot see from the desk.

- :class:`ComfortStrip`: the renderer's frame rate against the headset's rate, from ``frame_timing``
  (:func:`vr_exposure.core.viewing.frame_rate_verdict`): quiet while fine, amber below the headset's
  rate by a margin, red and loud below 45 fps, naming the cybersickness risk. One fixed strip, so a
  warning coming and going moves nothing.
- :class:`RendererLog`: a short list, newest first, of every change of what the patient sees that the
  therapist did not make at that moment: a resync after a reconnection, the renderer's watchdog taking
  the patient to the safe place, the patient choosing it, a refused command. Each is also marked on
  the timeline; none is silent.
"""

from __future__ import annotations

import time

from PyQt6.QtGui import QFont, QFontMetrics
from PyQt6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from vr_exposure.core.viewing import FrameRateVerdict

from .timer import format_duration

_STYLE = {
    "unknown": "background: #eeeeee; color: #555555;",
    "ok": "background: #eeeeee; color: #33691e;",
    "low": "background: #ffe0b2; color: #7a3e00; font-weight: bold;",
    "danger": "background: #b71c1c; color: white; font-weight: bold; font-size: 15px;",
}
STALE_TIMING_S = 4.0


class ComfortStrip(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("comfort-strip")
        self.label = QLabel("Frame rate: not known yet", self)
        self.label.setObjectName("comfort-text")
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.label.setWordWrap(True)  # two lines of room, reserved
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 2, 12, 2)
        layout.addWidget(self.label)
        loud = QFont(self.label.font())
        loud.setPixelSize(15)
        loud.setBold(True)
        # Two lines of the loudest text: the room is the same whatever the warning says.
        self.setFixedHeight(2 * QFontMetrics(loud).lineSpacing() + 10)
        self.level = "unknown"
        self.verdict: FrameRateVerdict | None = None
        self._verdict_at = 0.0
        self._style("unknown")

    def check_stale(self) -> None:
        """Call a few times a second: a verdict older than :data:`STALE_TIMING_S` is not shown as if
        it were current (contact lost, or the renderer stalled)."""
        if self.verdict is None or self.level == "unknown":
            return
        age_s = time.monotonic() - self._verdict_at
        if age_s > STALE_TIMING_S:
            self.level = "unknown"
            self.label.setText(
                f"Frame rate not known: no frame timing from the renderer for {age_s:.0f} s "
                f"(last: {self.verdict.fps:.1f} fps)"
            )
            self._style("unknown")

    def show_verdict(self, verdict: FrameRateVerdict) -> None:
        self._verdict_at = time.monotonic()
        self.verdict = verdict
        self.level = verdict.level
        self.label.setText(verdict.text)
        self._style(verdict.level)

    def _style(self, level: str) -> None:
        self.setStyleSheet(f"#comfort-strip {{ {_STYLE[level]} }} #comfort-text {{ {_STYLE[level]} }}")


class RendererLog(QGroupBox):
    """``add(session_s, text)``; ``entries`` holds them, oldest first."""

    ROWS = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("What changed without you", parent)
        self.setObjectName("renderer-log")
        self.list = QListWidget(self)
        self.list.setObjectName("renderer-log-list")
        self.list.setWordWrap(True)
        self.list.setFixedHeight(self.list.fontMetrics().lineSpacing() * self.ROWS + 12)
        self.list.addItem("nothing so far")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.list)
        self.entries: list[tuple[float, str]] = []

    def add(self, session_s: float | None, text: str) -> None:
        if not self.entries:
            self.list.clear()
        stamp = time.strftime("%H:%M:%S") if session_s is None else format_duration(session_s)
        self.entries.append((session_s or 0.0, text))
        self.list.insertItem(0, f"{stamp}  {text}")
        self.list.item(0).setToolTip(text)  # type: ignore[union-attr]
