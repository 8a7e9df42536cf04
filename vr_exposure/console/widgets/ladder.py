"""The patient's own fear ladder: a dialog to add a rung made from what the patient sees now, move a
rung, or skip one. Edits go through :class:`vr_exposure.console.course.PatientCourse` (checked,
journaled) and take effect from the patient's next session; a refused edit is shown here, never
raised into Qt's event loop."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QWidget,
)

from vr_exposure.console.course import PatientCourse
from vr_exposure.errors import VrExposureError


class PatientLadderDialog(QDialog):
    def __init__(self, course: PatientCourse, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.course = course
        self.setWindowTitle(f"Fear ladder of {course.pseudonym}")
        self.rung_list = QListWidget(self)
        self.rung_list.setObjectName("patient-ladder")
        self.title = QLineEdit(self)
        self.title.setObjectName("new-rung-title")
        self.title.setPlaceholderText("title of the new rung, e.g. Jar on the desk, lid off")
        self.expected = QSpinBox(self)
        self.expected.setObjectName("new-rung-expected")
        self.expected.setRange(0, 100)
        self.add_button = QPushButton("Add a rung from what the patient sees now", self)
        self.add_button.setObjectName("add-rung")
        self.up_button = QPushButton("Move up", self)
        self.down_button = QPushButton("Move down", self)
        self.skip_button = QPushButton("Skip", self)
        self.skip_button.setObjectName("skip-rung")
        self.message = QLabel("Changes apply from the patient's next session.", self)
        self.message.setObjectName("ladder-message")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        grid = QGridLayout(self)
        grid.addWidget(self.rung_list, 0, 0, 1, 3)
        grid.addWidget(self.up_button, 1, 0)
        grid.addWidget(self.down_button, 1, 1)
        grid.addWidget(self.skip_button, 1, 2)
        grid.addWidget(QLabel("New rung", self), 2, 0)
        grid.addWidget(self.title, 2, 1, 1, 2)
        grid.addWidget(QLabel("Expected SUDS", self), 3, 0)
        grid.addWidget(self.expected, 3, 1)
        grid.addWidget(self.add_button, 4, 0, 1, 3)
        grid.addWidget(self.message, 5, 0, 1, 3)
        grid.addWidget(buttons, 6, 0, 1, 3)
        self.add_button.clicked.connect(self._on_add_clicked)
        self.up_button.clicked.connect(lambda: self._on_move_clicked(-1))
        self.down_button.clicked.connect(lambda: self._on_move_clicked(+1))
        self.skip_button.clicked.connect(self._on_skip_clicked)
        self._refresh()

    def _refresh(self, select: int | None = None) -> None:
        self.rung_list.clear()
        for i, r in enumerate(self.course.ladder, start=1):
            own = " (made for this patient)" if r.intensity is not None else ""
            self.rung_list.addItem(f"{i}. {r.title or r.preset}: expected SUDS {r.expected_suds:g}{own}")
        if select is not None:
            self.rung_list.setCurrentRow(select)

    def _do(self, edit: Callable[[], object], done: str, select: int | None = None) -> None:
        try:
            edit()
        except VrExposureError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(done + " From the patient's next session on.")
        self._refresh(select)

    def _on_add_clicked(self) -> None:
        title = self.title.text()
        self._do(
            lambda: self.course.add_from_current(title, self.expected.value()),
            f"Rung {title.strip()!r} added.",
        )

    def _on_move_clicked(self, delta: int) -> None:
        row = self.rung_list.currentRow()
        if row < 0:
            self.message.setText("Select a rung first.")
            return
        self._do(lambda: self.course.move(row, row + delta), "Rung moved.", select=row + delta)

    def _on_skip_clicked(self) -> None:
        row = self.rung_list.currentRow()
        if row < 0:
            self.message.setText("Select a rung first.")
            return
        self._do(lambda: self.course.skip(row), "Rung taken out.")
