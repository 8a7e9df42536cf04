"""Prolonged exposure in the console window: the hotspot list in place of the ladder, the current
hotspot's triggers, and the hotspot editor.

:class:`HotspotPanel` lists the session's steps (the protocol's start state, then the patient's
hotspots, in the order of the account) and offers the current hotspot's triggers, each as one button
with the strength the patient's account calls for. :class:`HotspotEditorDialog` builds and edits the
patient's hotspots (add, rename, reorder, delete, the state from what the patient sees now, the
triggers and their strengths) through :class:`vr_exposure.console.hotspots.HotspotEditor`: every edit
checked against the scene, saved at once, and shown as an error line when refused.
:class:`HotspotHooks` wires both into the window: the window calls it where a session starts and it
does the rest from the controller's events.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vr_exposure.console.controller import ControllerError, UiEvent
from vr_exposure.console.hotspots import HotspotEditor, HotspotSession, is_prolonged
from vr_exposure.core.hotspots import Trigger

__all__ = ["HotspotEditorDialog", "HotspotHooks", "HotspotPanel"]


def _state_text(preset: str, intensity: float | None) -> str:
    return preset if intensity is None else f"{preset} at {intensity:g}"


class HotspotPanel(QGroupBox):
    """The steps of a prolonged-exposure session and the current hotspot's triggers."""

    step_requested = pyqtSignal(int)
    trigger_requested = pyqtSignal(object)  # a core.hotspots.Trigger
    edit_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Hotspots", parent)
        self.setObjectName("hotspot-panel")
        self.list = QListWidget(self)
        self.list.setObjectName("hotspot-list")
        self.list.itemDoubleClicked.connect(lambda _item: self._request())
        # The column has a fixed width: long names end in "…" (the whole of it as a tooltip).
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.go_button = QPushButton("Go to hotspot", self)
        self.go_button.setObjectName("hotspot-go")
        self.go_button.clicked.connect(self._request)
        self.next_button = QPushButton("Next hotspot", self)
        self.next_button.setObjectName("hotspot-next")
        self.next_button.clicked.connect(self._request_next)
        self.edit_button = QPushButton("Patient's hotspots…", self)
        self.edit_button.setObjectName("hotspot-edit")
        self.edit_button.clicked.connect(self.edit_requested.emit)
        self.current_label = QLabel("", self)
        self.current_label.setObjectName("hotspot-current")
        self.current_label.setWordWrap(True)
        self.triggers_box = QGroupBox("Triggers of this hotspot", self)
        self.triggers_layout = QVBoxLayout(self.triggers_box)
        self.trigger_buttons: list[QPushButton] = []
        buttons = QHBoxLayout()
        buttons.addWidget(self.go_button)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.current_label)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.triggers_box)
        layout.addWidget(self.edit_button)
        self._steps: list[tuple[str, str]] = []
        self._current: int | None = None
        self._enabled = True
        self._why = ""

    def set_steps(self, steps: list[tuple[str, str]]) -> None:
        """``(name, state text)`` per step: the start state first, then the hotspots."""
        self._steps = list(steps)
        self.list.clear()
        for i, (name, state) in enumerate(steps):
            label = f"start  {name}" if i == 0 else f"{i}.  {name}"
            item = QListWidgetItem(f"{label}  ·  {state}")
            item.setToolTip(f"{name}: {state}")
            self.list.addItem(item)
        # Every step in sight without scrolling, up to a dozen.
        rows = max(4, min(len(steps), 12))
        self.list.setMinimumHeight(rows * self.list.fontMetrics().lineSpacing() + 12)
        self.set_current(None)

    def set_current(
        self, step: int | None, triggers: tuple[Trigger, ...] = (), titles: dict[str, str] | None = None
    ) -> None:
        """The patient is at ``step``; its ``triggers`` (with the scene's event titles) become buttons."""
        self._current = step
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item is not None:
                font = item.font()
                font.setBold(i == step)
                item.setFont(font)
        if step is not None and 0 <= step < len(self._steps):
            name = self._steps[step][0]
            where = "start state" if step == 0 else f"hotspot {step} of {len(self._steps) - 1}"
            self.current_label.setText(f"now: {where} — {name}")
            self.list.setCurrentRow(step)
        else:
            self.current_label.setText("now: —")
        for b in self.trigger_buttons:
            self.triggers_layout.removeWidget(b)
            b.deleteLater()
        self.trigger_buttons = []
        titles = titles or {}
        for t in triggers:
            b = QPushButton(
                f"{titles.get(t.event, t.event)}  ·  {round(100 * t.strength)}%", self.triggers_box
            )
            b.setObjectName(f"hotspot-trigger-{t.event}")
            b.setToolTip(
                f"fire the scene event {t.event!r} (strength {t.strength:g} in the patient's hotspot)"
            )
            b.clicked.connect(lambda _checked=False, t=t: self.trigger_requested.emit(t))
            self.triggers_layout.addWidget(b)
            self.trigger_buttons.append(b)
        self.triggers_box.setTitle(
            "Triggers of this hotspot" if triggers else "Triggers of this hotspot: none"
        )
        self.set_steering_enabled(self._enabled, self._why)

    def set_steering_enabled(self, enabled: bool, why: str = "") -> None:
        """Off in the safe place and when stopped, like the rung list."""
        self._enabled, self._why = enabled, why
        for w in (self.go_button, self.next_button, self.list, *self.trigger_buttons):
            w.setEnabled(enabled)
        self.next_button.setEnabled(
            enabled and self._current is not None and self._current + 1 < len(self._steps)
        )
        self.setTitle("Hotspots" + (f" ({why})" if why else ""))

    def _request(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.step_requested.emit(row)

    def _request_next(self) -> None:
        if self._current is not None and self._current + 1 < len(self._steps):
            self.step_requested.emit(self._current + 1)


class HotspotEditorDialog(QDialog):
    """The patient's hotspots for one protocol: every change checked, saved and shown at once."""

    def __init__(self, editor: HotspotEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.setObjectName("hotspot-editor")
        self.setWindowTitle(f"Hotspots of {editor.pseudonym} — {editor.protocol.title}")
        self.resize(760, 640)
        self.list = QListWidget(self)
        self.list.setObjectName("hotspot-editor-list")
        self.list.currentRowChanged.connect(self._show_selected)
        self.error = QLabel("", self)
        self.error.setObjectName("hotspot-editor-error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b71c1c; font-weight: bold;")
        self.state_label = QLabel("", self)
        self.buttons: dict[str, QPushButton] = {}
        actions = (
            ("add", "Add (from the scene now)…", self.add),
            ("rename", "Rename…", self.rename),
            ("up", "Move up", lambda: self.move_selected(-1)),
            ("down", "Move down", lambda: self.move_selected(1)),
            ("delete", "Delete", self.delete),
            ("state", "Set state from the scene now", self.set_state_from_scene),
        )
        side = QVBoxLayout()
        for key, text, fn in actions:
            b = QPushButton(text, self)
            b.setObjectName(f"hotspot-editor-{key}")
            b.clicked.connect(lambda _checked=False, fn=fn: fn())
            self.buttons[key] = b
            side.addWidget(b)
        side.addStretch(1)
        # The triggers: every scene event, ticked to belong to the hotspot, with its strength.
        events = list(editor.scene.events.items())
        self.triggers = QTableWidget(len(events), 2, self)
        self.triggers.setObjectName("hotspot-editor-triggers")
        self.triggers.setHorizontalHeaderLabels(["trigger (scene event)", "strength"])
        self.strengths: dict[str, QDoubleSpinBox] = {}
        for row, (name, event) in enumerate(events):
            item = QTableWidgetItem(f"{event.title} ({name})")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.triggers.setItem(row, 0, item)
            spin = QDoubleSpinBox(self.triggers)
            spin.setRange(0.0, 1.0)
            spin.setSingleStep(0.1)
            spin.setValue(1.0)
            spin.valueChanged.connect(lambda _v: self._save_triggers())
            self.strengths[name] = spin
            self.triggers.setCellWidget(row, 1, spin)
        self.triggers.resizeColumnsToContents()
        self.triggers.setMinimumHeight(min(len(events), 9) * 30 + 30)
        self.list.setMaximumHeight(8 * self.list.fontMetrics().lineSpacing() + 12)
        self.triggers.itemChanged.connect(lambda _item: self._save_triggers())
        grid = QGridLayout(self)
        grid.addWidget(QLabel("In the order of the patient's account:", self), 0, 0)
        grid.addWidget(self.list, 1, 0)
        grid.addLayout(side, 1, 1)
        grid.addWidget(self.state_label, 2, 0, 1, 2)
        grid.addWidget(self.triggers, 3, 0, 1, 2)
        grid.addWidget(self.error, 4, 0, 1, 2)
        note = QLabel(
            f"Saved with the patient's sessions ({editor.path.name}); a session already running keeps "
            "its hotspots, edits apply from the next session.",
            self,
        )
        note.setWordWrap(True)
        grid.addWidget(note, 5, 0, 1, 2)
        self._loading = False
        self._refresh(0)

    # -- edits ------------------------------------------------------------------------------------------
    def _do(self, fn: Any, *args: Any, select: int | None = None, **kwargs: Any) -> bool:
        try:
            fn(*args, **kwargs)
        except (ControllerError, OSError) as exc:
            self.error.setText(str(exc))
            return False
        self.error.setText("")
        self._refresh(self.list.currentRow() if select is None else select)
        return True

    def add(self, name: str | None = None) -> bool:
        if name is None:
            name, ok = QInputDialog.getText(self, "New hotspot", "The patient's words for this moment:")
            if not ok:
                return False
        return self._do(self.editor.add, name, select=len(self.editor.hotspots))

    def rename(self, name: str | None = None) -> bool:
        row = self.list.currentRow()
        if row < 0:
            return False
        if name is None:
            name, ok = QInputDialog.getText(
                self, "Rename hotspot", "Name:", text=self.editor.hotspots[row].name
            )
            if not ok:
                return False
        return self._do(self.editor.rename, row, name)

    def move_selected(self, delta: int) -> bool:
        row = self.list.currentRow()
        to = row + delta
        if row < 0 or not 0 <= to < len(self.editor.hotspots):
            return False
        return self._do(self.editor.move, row, to, select=to)

    def delete(self) -> bool:
        row = self.list.currentRow()
        if row < 0:
            return False
        return self._do(self.editor.delete, row, select=max(0, row - 1))

    def set_state_from_scene(self) -> bool:
        row = self.list.currentRow()
        if row < 0:
            return False
        return self._do(self.editor.set_state, row)

    def set_trigger(self, event: str, on: bool, strength: float | None = None) -> None:
        """Tick (or untick) ``event`` as one of the selected hotspot's triggers, at ``strength``."""
        for r in range(self.triggers.rowCount()):
            item = self.triggers.item(r, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == event:
                self._loading = True
                if strength is not None:
                    self.strengths[event].setValue(strength)
                self._loading = False
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                return
        raise KeyError(event)

    def _save_triggers(self) -> None:
        row = self.list.currentRow()
        if self._loading or row < 0:
            return
        chosen: list[tuple[str, float]] = []
        for r in range(self.triggers.rowCount()):
            item = self.triggers.item(r, 0)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                name = item.data(Qt.ItemDataRole.UserRole)
                chosen.append((name, self.strengths[name].value()))
        # Keep the order the hotspot had; new ones after it.
        order = [t.event for t in self.editor.hotspots[row].triggers]
        chosen.sort(key=lambda t: order.index(t[0]) if t[0] in order else len(order))
        if chosen != [(t.event, t.strength) for t in self.editor.hotspots[row].triggers]:
            self._do(self.editor.set_triggers, row, chosen)

    # -- display ----------------------------------------------------------------------------------------
    def _refresh(self, select: int) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for i, h in enumerate(self.editor.hotspots):
            self.list.addItem(
                f"{i + 1}.  {h.name}   [{_state_text(h.preset, h.intensity)}, "
                f"{len(h.triggers)} trigger{'s' if len(h.triggers) != 1 else ''}]"
            )
        self.list.blockSignals(False)
        if self.editor.hotspots:
            self.list.setCurrentRow(max(0, min(select, len(self.editor.hotspots) - 1)))
        self._show_selected(self.list.currentRow())

    def _show_selected(self, row: int) -> None:
        has = 0 <= row < len(self.editor.hotspots)
        for key in ("rename", "up", "down", "delete", "state"):
            self.buttons[key].setEnabled(has)
        self.triggers.setEnabled(has)
        self._loading = True
        try:
            triggers = {t.event: t.strength for t in self.editor.hotspots[row].triggers} if has else {}
            for r in range(self.triggers.rowCount()):
                item = self.triggers.item(r, 0)
                if item is None:
                    continue
                name = item.data(Qt.ItemDataRole.UserRole)
                item.setCheckState(Qt.CheckState.Checked if name in triggers else Qt.CheckState.Unchecked)
                self.strengths[name].setValue(triggers.get(name, 1.0))
        finally:
            self._loading = False
        if has:
            h = self.editor.hotspots[row]
            self.state_label.setText(f"state: {_state_text(h.preset, h.intensity)}")
        else:
            self.state_label.setText("no hotspot yet: add the first one from what the patient sees now")


class HotspotHooks:
    """The window's prolonged-exposure part: the panel in place of the rung list while such a
    session is open, the editor, and the step and trigger requests."""

    def __init__(self, window: Any, left_layout: QVBoxLayout) -> None:
        self.window = window
        self.controller = window.controller
        self.session: HotspotSession | None = None
        self.panel = HotspotPanel(window)
        self.panel.hide()
        left_layout.insertWidget(left_layout.indexOf(window.rungs) + 1, self.panel, 1)
        self.panel.step_requested.connect(lambda step: self._do(self._go, step))
        self.panel.trigger_requested.connect(lambda t: self._do(self._fire, t))
        self.panel.edit_requested.connect(self.open_editor)
        self.editor_button = QPushButton("Hotspots…", window.session_panel)
        self.editor_button.setObjectName("hotspots-button")
        self.editor_button.setToolTip("The patient's hotspots for this prolonged-exposure protocol")
        self.editor_button.clicked.connect(self.open_editor)
        grid = window.session_panel.layout()
        assert isinstance(grid, QGridLayout)
        grid.addWidget(self.editor_button, 6, 0, 1, 2)
        window.session_panel.protocol.currentIndexChanged.connect(self._on_protocol_chosen)
        self._on_protocol_chosen()
        self.controller.subscribe(self._on_controller_event)

    def _do(self, fn: Any, *args: Any) -> None:
        self.window._do(fn, *args)

    def _selected_protocol(self) -> Any:
        pid = self.window.session_panel.protocol.currentData()
        return self.controller.library.protocols.get(pid) if isinstance(pid, str) else None

    def _on_protocol_chosen(self, _index: int = 0) -> None:
        self.editor_button.setVisible(is_prolonged(self._selected_protocol()))

    def wants(self, protocol_id: str | None) -> bool:
        """Whether a session of ``protocol_id`` is a prolonged-exposure session (this hook starts it)."""
        return is_prolonged(self.controller.library.protocols.get(protocol_id)) if protocol_id else False

    def start(self, pseudonym: str, protocol_id: str) -> None:
        self.session = HotspotSession.start(self.controller, pseudonym, protocol_id=protocol_id)
        self.show_session()

    def show_session(self) -> None:
        s = self.session
        if s is None:
            return
        self.window.rungs.hide()
        self.panel.show()
        self.panel.set_steps([(r.title, _state_text(r.preset, r.intensity)) for r in s.steps])
        self._show_current()

    def _show_current(self) -> None:
        s = self.session
        if s is None:
            return
        step = s.current_step
        titles = {name: e.title for name, e in s.scene.events.items()}
        self.panel.set_current(step, s.triggers(step) if step is not None else (), titles)

    def timeline_label(self, rung: int) -> str | None:
        """The timeline's mark for a step of a prolonged-exposure session (None: no such session)."""
        if not is_prolonged(self.controller.protocol):
            return None
        return "start" if rung == 0 else f"hotspot {rung}"

    def _go(self, step: int) -> None:
        if self.session is None:
            raise ControllerError("no prolonged-exposure session is open")
        self.session.go_to(step)

    def _fire(self, trigger: Trigger) -> None:
        if self.session is None:
            raise ControllerError("no prolonged-exposure session is open")
        self.session.fire(trigger)

    def open_editor(self) -> HotspotEditorDialog | None:
        """The editor for the pseudonym and protocol in the session panel (or of the open session)."""
        if self.session is not None and self.controller.active:
            pseudonym, protocol_id = self.session.pseudonym, self.session.protocol.id
        else:
            protocol = self._selected_protocol()
            pseudonym = self.window.session_panel.pseudonym.text()
            protocol_id = protocol.id if protocol is not None else ""
        try:
            editor = HotspotEditor.open(self.controller, pseudonym, protocol_id)
        except Exception as exc:  # noqa: BLE001 - any refusal is shown, never raised into Qt
            self.window.show_error(str(exc))
            return None
        dialog = HotspotEditorDialog(editor, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _on_controller_event(self, ev: UiEvent) -> None:
        if ev.kind in ("hotspot", "rung") and self.session is not None:
            self._show_current()
        elif (
            ev.kind == "session"
            and ev["state"] == "opened"
            and (self.session is None or self.session.controller.session_id != ev["session_id"])
        ):
            # Another kind of session (or before HotspotSession.start recorded its session): the ladder.
            if self.session is not None:
                self.session = None
            self.panel.hide()
            self.window.rungs.show()
        elif ev.kind == "renderer_state":
            st = ev["state"]
            exposing = st.mode not in ("safe_place", "stopped")
            why = (
                "off in the safe place"
                if st.mode == "safe_place"
                else ("off while stopped" if not exposing else "")
            )
            self.panel.set_steering_enabled(exposing, why)
