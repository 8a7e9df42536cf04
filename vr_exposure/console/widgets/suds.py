"""SUDS entry: a spin box with a record button, a prompt button, the countdown to the next scheduled
probe (and of the probe now open), and the latest ratings with where each came from.

The fast path is the keyboard (digits 0-9 record 0-90, ``=`` records 100); the main window owns those
shortcuts and calls :meth:`SudsEntry.propose`: one key is easily hit by mistake, so the value is shown
for :data:`UNDO_WINDOW_S` with an Undo (Backspace) before it is recorded. After it is recorded, Undo
stays for :data:`WITHDRAW_WINDOW_S` more as "Withdraw", which journals the rating as corrected. The
Record button and Enter in the spin box record at once (they are deliberate). :meth:`record` is the one
way a rating leaves this widget.
"""

from __future__ import annotations

import time

from PyQt6.QtCore import QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

# Key -> SUDS value: digits give tens, "=" (beside 0 on most keyboards) gives 100.
SUDS_KEYS: dict[str, int] = {**{str(d): d * 10 for d in range(10)}, "=": 100}
UNDO_KEYS = ("Backspace", "Ctrl+Z")
UNDO_WINDOW_S = 3.0
WITHDRAW_WINDOW_S = 10.0


def _mmss(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 60}:{s % 60:02d}"


class SudsEntry(QGroupBox):
    """Emits ``rating_entered(value)`` (0-100) when the therapist records a rating and
    ``prompt_requested()`` when they ask the patient for one now."""

    rating_entered = pyqtSignal(int)
    prompt_requested = pyqtSignal()
    withdraw_requested = pyqtSignal(object)  # the recorded rating's t_mono_ns (int, beyond 32 bits)

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
        self.pending_label = QLabel("", self)
        self.pending_label.setObjectName("suds-pending")
        self.pending_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.undo_button = QPushButton("Undo (Backspace)", self)
        self.undo_button.setObjectName("suds-undo")
        self.undo_button.setEnabled(False)
        grid = QGridLayout(self)
        grid.addWidget(self.spin, 0, 0)
        grid.addWidget(self.record_button, 0, 1)
        grid.addWidget(self.prompt_button, 0, 2)
        grid.addWidget(self.pending_label, 1, 0, 1, 2)
        grid.addWidget(self.undo_button, 1, 2)
        grid.addWidget(self.last_label, 2, 0, 1, 3)
        grid.addWidget(self.next_label, 3, 0, 1, 2)
        grid.addWidget(self.open_label, 3, 2)
        self._pending: int | None = None
        self._pending_until = 0.0
        self._withdrawable: tuple[int, float] | None = None  # (t_mono_ns, value) of the last recorded
        self._withdraw_until = 0.0
        self._commit = QTimer(self)
        self._commit.setSingleShot(True)
        self._commit.timeout.connect(self._on_commit)
        self._countdown = QTimer(self)
        self._countdown.setInterval(200)
        self._countdown.timeout.connect(self._show_pending)
        self.undo_button.clicked.connect(self.undo)
        self.record_button.clicked.connect(lambda: self.record(self.spin.value()))
        self.spin.editingFinished.connect(self._on_spin_finished)
        self.prompt_button.clicked.connect(self.prompt_requested)

    @property
    def pending(self) -> int | None:
        """The value shown and not yet recorded (None: none)."""
        return self._pending

    def propose(self, value: int) -> None:
        """A SUDS key: show ``value`` with Undo; record it after :data:`UNDO_WINDOW_S` unless undone.
        A second key replaces the value shown (and starts the wait again)."""
        self._pending = max(0, min(100, int(value)))
        self._withdrawable = None
        self._pending_until = time.monotonic() + UNDO_WINDOW_S
        self._commit.start(int(UNDO_WINDOW_S * 1000))
        self._countdown.start()
        self._show_pending()

    def undo(self) -> None:
        """Undo the value shown (nothing recorded), or withdraw the one just recorded."""
        if self._pending is not None:
            value, self._pending = self._pending, None
            self._commit.stop()
            self._countdown.stop()
            self.pending_label.setText(f"SUDS {value} not recorded (undone)")
            self.undo_button.setEnabled(False)
            return
        if self._withdrawable is not None and time.monotonic() < self._withdraw_until:
            t_mono_ns, recorded = self._withdrawable
            self._withdrawable = None
            self._countdown.stop()
            self.pending_label.setText(f"SUDS {recorded:.0f} withdrawn (journaled as corrected)")
            self.undo_button.setEnabled(False)
            self.withdraw_requested.emit(t_mono_ns)

    def offer_withdraw(self, t_mono_ns: int, value: float) -> None:
        """The therapist's rating was recorded: Undo becomes "Withdraw" for a while."""
        self._withdrawable = (t_mono_ns, value)
        self._withdraw_until = time.monotonic() + WITHDRAW_WINDOW_S
        self._countdown.start()
        self._show_pending()

    def _on_commit(self) -> None:
        value, self._pending = self._pending, None
        if value is not None:
            self.record(value)
        self._show_pending()

    def _show_pending(self) -> None:
        now = time.monotonic()
        if self._pending is not None:
            left = max(0.0, self._pending_until - now)
            self.pending_label.setText(f"SUDS {self._pending} — recorded in {left:.0f} s")
            self.pending_label.setStyleSheet("color: #8d4e00; font-weight: bold;")
            self.undo_button.setText("Undo (Backspace)")
            self.undo_button.setEnabled(True)
        elif self._withdrawable is not None and now < self._withdraw_until:
            self.pending_label.setText(f"SUDS {self._withdrawable[1]:.0f} recorded")
            self.pending_label.setStyleSheet("")
            self.undo_button.setText(f"Withdraw {self._withdrawable[1]:.0f}")
            self.undo_button.setEnabled(True)
        else:
            self._withdrawable = None
            self._countdown.stop()
            self.undo_button.setText("Undo (Backspace)")
            self.undo_button.setEnabled(False)

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
