"""The Simulator Sickness Questionnaire form: 16 symptoms, each none/slight/moderate/severe, scored live
with :func:`vr_exposure.core.ssq.score_ssq` so the therapist sees the subscales before submitting.

Used as a dialog before and after exposure. Every item needs an answer; the submit button stays off until
all 16 have one, so a half-filled form can never be scored as zeros.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from vr_exposure.core.ssq import SSQ_ITEMS, SsqScore, score_ssq

RATINGS = ("none", "slight", "moderate", "severe")


class SsqForm(QDialog):
    """``answers()`` gives the 16 answers (0-3) once complete; ``score()`` the scored result.

    Esc does not cancel the form: in the console Esc is the safe place, everywhere, so the form emits
    ``safe_place_requested`` and stays open (Cancel closes it)."""

    safe_place_requested = pyqtSignal()

    def __init__(self, phase: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.phase = phase
        self.setWindowTitle(f"Simulator Sickness Questionnaire ({phase} exposure)")
        self.setObjectName(f"ssq-{phase}")
        grid = QGridLayout()
        for col, name in enumerate(RATINGS, start=1):
            grid.addWidget(QLabel(f"<b>{name}</b>", self), 0, col)
        self.groups: list[QButtonGroup] = []
        for row, item in enumerate(SSQ_ITEMS, start=1):
            grid.addWidget(QLabel(f"{row}. {item}", self), row, 0)
            group = QButtonGroup(self)
            for value in range(len(RATINGS)):
                button = QRadioButton(self)
                button.setObjectName(f"ssq-{row}-{value}")
                group.addButton(button, value)
                grid.addWidget(button, row, value + 1)
            group.idClicked.connect(lambda _id: self._update())
            self.groups.append(group)
        self.score_label = QLabel(self)
        self.score_label.setObjectName("ssq-score")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.score_label)
        layout.addWidget(self.buttons)
        self._update()

    def keyPressEvent(self, event: QKeyEvent | None) -> None:  # noqa: N802 - Qt override
        if event is not None and event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.safe_place_requested.emit()
            return
        super().keyPressEvent(event)

    def set_answers(self, answers: list[int]) -> None:
        for group, value in zip(self.groups, answers, strict=True):
            button = group.button(value)
            if button is not None:
                button.setChecked(True)
        self._update()

    def answers(self) -> list[int] | None:
        values = [g.checkedId() for g in self.groups]
        return None if any(v < 0 for v in values) else values

    def score(self) -> SsqScore | None:
        answers = self.answers()
        return None if answers is None else score_ssq(answers)

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        score = self.score()
        if ok is not None:
            ok.setEnabled(score is not None)
        if score is None:
            left = sum(1 for g in self.groups if g.checkedId() < 0)
            self.score_label.setText(f"{left} item(s) still to answer")
        else:
            self.score_label.setText(
                f"Nausea {score.nausea:.1f}   Oculomotor {score.oculomotor:.1f}   "
                f"Disorientation {score.disorientation:.1f}   Total {score.total:.1f}"
            )
