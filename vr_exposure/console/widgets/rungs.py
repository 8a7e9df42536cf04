"""Scene and fear-ladder pickers: which scene the patient is in and which rung (preset) of the ladder,
each rung showing the SUDS the patient expected for it, so expected and actual can be compared live.

Choosing only selects; applying a rung is the therapist's explicit action (a button or a double-click).
The marked rung (▶) is the one the renderer shows: a requested rung is named as "changing to" until the
renderer accepts it, and if it refuses, the picker goes back to the rung the patient is still on.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)


@dataclass(frozen=True)
class RungItem:
    preset: str
    title: str
    intensity: float | None = None
    expected_suds: float | None = None

    def label(self, index: int) -> str:
        expected = "—" if self.expected_suds is None else f"{self.expected_suds:.0f}"
        level = "" if self.intensity is None else f"  · intensity {self.intensity:.0f}"
        return f"{index + 1}. {self.title or self.preset}  · expected SUDS {expected}{level}"


class RungPicker(QGroupBox):
    """Emits ``scene_requested(scene_id)``, ``rung_requested(index)`` and ``ladder_edit_requested``."""

    scene_requested = pyqtSignal(str)
    rung_requested = pyqtSignal(int)
    ladder_edit_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Scene and fear ladder", parent)
        self.scene_combo = QComboBox(self)
        self.scene_combo.setObjectName("scene-combo")
        self.load_scene_button = QPushButton("Load scene", self)
        self.rung_list = QListWidget(self)
        self.rung_list.setObjectName("rung-list")
        self.apply_button = QPushButton("Apply rung", self)
        self.apply_button.setObjectName("apply-rung")
        self.prev_button = QPushButton("◀ Previous", self)
        self.next_button = QPushButton("Next ▶", self)
        self.current_label = QLabel("rung: —", self)
        self.ladder_button = QPushButton("Patient's ladder…", self)
        self.ladder_button.setObjectName("patient-ladder-button")
        self.ladder_button.setEnabled(False)
        grid = QGridLayout(self)
        grid.addWidget(self.scene_combo, 0, 0, 1, 2)
        grid.addWidget(self.load_scene_button, 0, 2)
        grid.addWidget(self.rung_list, 1, 0, 1, 3)
        grid.addWidget(self.prev_button, 2, 0)
        grid.addWidget(self.apply_button, 2, 1)
        grid.addWidget(self.next_button, 2, 2)
        grid.addWidget(self.current_label, 3, 0, 1, 2)
        grid.addWidget(self.ladder_button, 3, 2)
        self._rungs: list[RungItem] = []
        self._current: int | None = None
        self._requested: int | None = None
        self.load_scene_button.clicked.connect(self._on_load_scene_clicked)
        self.apply_button.clicked.connect(self._on_apply_clicked)
        self.rung_list.itemDoubleClicked.connect(lambda _item: self._on_apply_clicked())
        self.prev_button.clicked.connect(lambda: self._step(-1))
        self.next_button.clicked.connect(lambda: self._step(+1))
        self.ladder_button.clicked.connect(self.ladder_edit_requested.emit)

    def set_scenes(self, scenes: list[tuple[str, str]], current: str | None = None) -> None:
        self.scene_combo.blockSignals(True)
        try:
            self.scene_combo.clear()
            for scene_id, title in scenes:
                self.scene_combo.addItem(f"{title} ({scene_id})", scene_id)
            if current is not None:
                self.set_current_scene(current)
        finally:
            self.scene_combo.blockSignals(False)

    def set_current_scene(self, scene_id: str | None) -> None:
        index = self.scene_combo.findData(scene_id)
        if index >= 0 and index != self.scene_combo.currentIndex():
            self.scene_combo.blockSignals(True)
            self.scene_combo.setCurrentIndex(index)
            self.scene_combo.blockSignals(False)

    def set_rungs(self, rungs: list[RungItem]) -> None:
        self._rungs = list(rungs)
        self.rung_list.clear()
        for i, rung in enumerate(self._rungs):
            item = QListWidgetItem(rung.label(i))
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.rung_list.addItem(item)
        self._current = None
        self._requested = None
        self.set_current_rung(None)

    def rungs(self) -> list[RungItem]:
        return list(self._rungs)

    @property
    def current_rung(self) -> int | None:
        return self._current

    def set_steering_enabled(self, enabled: bool, why: str = "") -> None:
        """Rung and scene changes on or off (off in the safe place: the renderer refuses them there,
        and a new rung would expose the patient on return), with ``why`` in the box's title."""
        for widget in (self.apply_button, self.prev_button, self.next_button, self.load_scene_button):
            widget.setEnabled(enabled)
        self.rung_list.setEnabled(enabled)
        self.setTitle("Scene and fear ladder" + ("" if enabled or not why else f" — {why}"))

    def set_requested_rung(self, index: int | None) -> None:
        """A rung change was sent and is not yet accepted (None: nothing in flight)."""
        self._requested = index
        self._show_label()

    def set_current_rung(self, index: int | None) -> None:
        """The rung the renderer shows; also where the selection goes back to after a refusal."""
        self._current = index
        if self._requested == index:
            self._requested = None
        for i in range(self.rung_list.count()):
            item = self.rung_list.item(i)
            if item is None:
                continue
            font = QFont(item.font())
            font.setBold(i == index)
            item.setFont(font)
            item.setText(("▶ " if i == index else "   ") + self._rungs[i].label(i))
        if index is not None and 0 <= index < len(self._rungs):
            self.rung_list.setCurrentRow(index)
        else:
            self.rung_list.setCurrentRow(-1)
        self._show_label()

    def _show_label(self) -> None:
        index, n = self._current, len(self._rungs)
        if index is None or not (0 <= index < n):
            text = "rung: —"
        else:
            rung = self._rungs[index]
            text = f"rung {index + 1} of {n}: {rung.title or rung.preset}"
        requested = self._requested
        if requested is not None and requested != index and 0 <= requested < n:
            text += f"  — changing to rung {requested + 1}…"
        self.current_label.setText(text)

    def _on_load_scene_clicked(self) -> None:
        scene_id = self.scene_combo.currentData()
        if scene_id:
            self.scene_requested.emit(str(scene_id))

    def _on_apply_clicked(self) -> None:
        row = self.rung_list.currentRow()
        if 0 <= row < len(self._rungs):
            self.rung_requested.emit(row)

    def _step(self, delta: int) -> None:
        base = self._current if self._current is not None else (-1 if delta > 0 else len(self._rungs))
        target = base + delta
        if 0 <= target < len(self._rungs):
            self.rung_list.setCurrentRow(target)
            self.rung_requested.emit(target)
