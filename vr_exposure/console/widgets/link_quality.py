"""The link's measured quality, always on screen beside the session timer: the round trip a command
takes, the share of heartbeats answered late or not at all (how packet loss shows through TCP), and the
telemetry lost. On a slow or unreliable link, or while heartbeats are overdue, it turns amber and says
so in words, before the connection banner has to say that contact is lost.
"""

from __future__ import annotations

from PyQt6.QtWidgets import QLabel, QWidget

_CALM = "QLabel { color: #37474f; padding: 2px 8px; }"
_WARN = (
    "QLabel { background: #b26a00; color: white; font-weight: bold; padding: 2px 8px; border-radius: 4px; }"
)


class LinkQualityLabel(QLabel):
    """``show_quality(...)`` with the figures of :class:`vr_exposure.link.LinkQuality`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("link: —", parent)
        self.setObjectName("link-quality")
        self.setStyleSheet(_CALM)
        self.warning: str | None = None

    def show_quality(
        self,
        *,
        round_trip_ms: float | None,
        round_trip_p95_ms: float | None,
        late_share: float,
        telemetry_loss: float,
        warning: str | None,
    ) -> None:
        if round_trip_ms is None:
            figures = "link: no round trip yet"
        else:
            p95 = f" (p95 {round_trip_p95_ms:.0f})" if round_trip_p95_ms is not None else ""
            figures = (
                f"link: round trip {round_trip_ms:.0f} ms{p95} · late {late_share:.0%}"
                f" · telemetry loss {telemetry_loss:.1%}"
            )
        self.warning = warning
        self.setText(f"⚠ {warning} — {figures}" if warning else figures)
        self.setToolTip(
            "Measured from the heartbeats every half second. Late: answered a TCP retransmission late "
            "(more than 200 ms over the median) or not at all."
        )
        self.setStyleSheet(_WARN if warning else _CALM)
