"""The connection banner: a strip across the top of the console, unmissable whenever contact with the
headset is anything but healthy.

It is not a toast, and it never moves the console: the strip is always there at one fixed height
(calm, "connected", while the link is healthy), so a link flapping between connected and degraded
changes its colour and words, never the place of a button under the therapist's pointer. A message
too long for one line is cut with "…" (the whole of it is the tooltip). It stays until the link is
healthy again, it says for how long contact has been
degraded or lost (counting up once a second while shown), and errors that need the therapist (unreachable
endpoint, refused key, other protocol version) stay on screen with what to do about them.
"""

from __future__ import annotations

import time

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QFontMetrics, QResizeEvent
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QWidget

# level -> (background, foreground); red for lost/error, amber for degraded/connecting.
_COLOURS = {
    "ok": ("#e8f5e9", "#1b5e20"),
    "connecting": ("#8d6e00", "#ffffff"),
    "degraded": ("#b26a00", "#ffffff"),
    "lost": ("#b71c1c", "#ffffff"),
    "error": ("#b71c1c", "#ffffff"),
}


class ConnectionBanner(QFrame):
    """Shows the link's health: ``set_status("ok")`` is the calm state; every other level is an alarm
    shown until changed. The strip's height never changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connection-banner")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._label = QLabel(self)
        self._label.setObjectName("connection-banner-text")
        self._label.setWordWrap(False)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Ignored: a longer message must never ask the window for more room.
        self._label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        font = self._label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self._label.setFont(font)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self._label)
        self.setFixedHeight(QFontMetrics(font).height() + 16)
        self._full_text = ""
        self._level = "ok"
        self._template = ""
        self._since_mono_s: float | None = None
        # The seconds count must keep moving while contact is lost, even if no message arrives at all.
        self._tick = QTimer(self)
        self._tick.setInterval(200)
        self._tick.timeout.connect(self._refresh)
        self._show_ok()

    @property
    def level(self) -> str:
        return self._level

    def text(self) -> str:
        """The whole message (the strip may show it cut to fit)."""
        return self._full_text

    @property
    def alarming(self) -> bool:
        """True while the banner shows a problem (anything but a healthy link)."""
        return self._level != "ok"

    def set_status(self, level: str, message: str = "", since_mono_s: float | None = None) -> None:
        """``message`` may hold ``{elapsed}``, replaced by the seconds since ``since_mono_s``
        (``time.monotonic()`` seconds; now when not given)."""
        if level not in _COLOURS:
            raise ValueError(f"unknown banner level {level!r}")
        if level == "ok":
            self._show_ok(message)
            return
        if level != self._level or since_mono_s is not None:
            self._since_mono_s = since_mono_s if since_mono_s is not None else time.monotonic()
        self._level = level
        self._template = message
        bg, fg = _COLOURS[level]
        self.setStyleSheet(
            f"#connection-banner {{ background: {bg}; }} #connection-banner-text {{ color: {fg}; }}"
        )
        self._refresh()
        if "{elapsed}" in message:
            self._tick.start()
        else:
            self._tick.stop()

    def _show_ok(self, message: str = "") -> None:
        self._level = "ok"
        self._template = message or "Headset connected"
        self._since_mono_s = None
        self._tick.stop()
        bg, fg = _COLOURS["ok"]
        self.setStyleSheet(
            f"#connection-banner {{ background: {bg}; }} #connection-banner-text {{ color: {fg}; }}"
        )
        self._refresh()

    def resizeEvent(self, event: QResizeEvent | None) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._refresh()

    def _refresh(self) -> None:
        elapsed = 0.0 if self._since_mono_s is None else max(0.0, time.monotonic() - self._since_mono_s)
        # Tenths while short (a degraded link is about fractions of a second), whole seconds after.
        text = f"{elapsed:.1f}" if elapsed < 10 else f"{int(elapsed)}"
        self._full_text = self._template.replace("{elapsed}", text)
        width = max(40, self._label.width())
        shown = self._label.fontMetrics().elidedText(self._full_text, Qt.TextElideMode.ElideRight, width)
        self._label.setText(shown)
        self._label.setToolTip(self._full_text if shown != self._full_text else "")
