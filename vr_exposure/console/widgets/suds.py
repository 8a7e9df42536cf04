"""SUDS entry: a spin box with a record button, a prompt button, the countdown to the next scheduled
probe (and of the probe now open), and the latest ratings with where each came from.

The fast path is the keyboard (digits 0-9 record 0-90, ``=`` records 100); the main window owns those
shortcuts and calls :meth:`SudsEntry.record`, so there is one way a rating leaves this widget.
"""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

# Key -> SUDS value: digits give tens, "=" (beside 0 on most keyboards) gives 100.
SUDS_KEYS: dict[str, int] = {**{str(d): d * 10 for d in range(10)}, "=": 100}


def _mmss(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 60}:{s % 60:02d}"


class SudsEntry(QGroupBox):
    """Emits ``rating_entered(value)`` (0-100) when the therapist records a rating and
    ``prompt_requested()`` when they ask the patient for one now."""

    rating_entered = pyqtSignal(int)
    prompt_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("SUDS", parent)
        self.spin = QSpinBox(self)
        self.spin.setRange(0, 100)
        self.spin.setSingleStep(5)
        self.spin.setObjectName("suds-spin")
        self.record_button = QPushButton("Record", self)
        self.record_button.setToolTip("Record the SUDS value in the box (or press 0-9 for 0-90, = for 100)")
        self.prompt_button = QPushButton("Ask now (F5)", self)
        self.prompt_button.setToolTip("Show the SUDS prompt in the headset now")
        self.next_label = QLabel("next probe: —", self)
        self.next_label.setObjectName("suds-next")
        self.open_label = QLabel("", self)
        self.open_label.setObjectName("suds-open")
        self.last_label = QLabel("last: —", self)
        self.last_label.setObjectName("suds-last")
        font = self.last_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.last_label.setFont(font)
        grid = QGridLayout(self)
        grid.addWidget(self.spin, 0, 0)
        grid.addWidget(self.record_button, 0, 1)
        grid.addWidget(self.prompt_button, 0, 2)
        grid.addWidget(self.last_label, 1, 0, 1, 3)
        grid.addWidget(self.next_label, 2, 0, 1, 2)
        grid.addWidget(self.open_label, 2, 2)
        self.record_button.clicked.connect(lambda: self.record(self.spin.value()))
        self.spin.editingFinished.connect(self._on_spin_finished)
        self.prompt_button.clicked.connect(self.prompt_requested)

    def record(self, value: int) -> None:
        value = max(0, min(100, int(value)))
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        self.rating_entered.emit(value)

    def show_rating(self, value: float, source: str, missed_count: int = 0) -> None:
        where = {"patient-in-vr": "patient, in VR", "therapist": "therapist"}.get(source, source)
        missed = f"   ({missed_count} missed)" if missed_count else ""
        self.last_label.setText(f"last: {value:.0f}  ({where}){missed}")

    def show_countdown(self, next_in_s: float | None, open_probe_left_s: float | None) -> None:
        self.next_label.setText("next probe: —" if next_in_s is None else f"next probe in {_mmss(next_in_s)}")
        if open_probe_left_s is None:
            self.open_label.setText("")
        else:
            self.open_label.setText(f"waiting for the patient: {_mmss(open_probe_left_s)}")

    def _on_spin_finished(self) -> None:
        # Enter in the spin box records; leaving it by focus change does not.
        if self.spin.hasFocus():
            self.record(self.spin.value())
