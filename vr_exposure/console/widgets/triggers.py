"""The trigger panel: a scene's events grouped as the scene declares them (``group:``; those without
one under "Events"), each with its hotkey and one click to fire, a strength slider (loudness or
nearness, 0-100 %) set before firing, and a repeat window the therapist starts and stops ("every
30-90 s"). Below them, always in view: the triggers active now, the schedules the renderer runs
(the rung's and the therapist's, with how often each fired), one action to stop every scheduled
trigger, and the scene's ambient settings.

The panel only asks (signals); what it shows of active triggers and schedules is the renderer's
state, handed in with :meth:`TriggerPanel.set_state`. Hotkeys the console reserves for safety and
ratings are not bound, as on :class:`~vr_exposure.console.widgets.events.EventButtons`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .events import RESERVED_KEYS

__all__ = ["DEFAULT_REPEAT_S", "UNGROUPED", "TriggerItem", "TriggerPanel", "ambient_text"]

#: The group events without one are listed under.
UNGROUPED = "Events"
#: The repeat window a trigger's spin boxes start at ("distant gunfire every 30-90 s").
DEFAULT_REPEAT_S = (30, 90)


@dataclass(frozen=True)
class TriggerItem:
    name: str
    title: str
    hotkey: str | None = None
    group: str = ""


def ambient_text(scene: Any, state: Any) -> str:
    """The scene's settings shown now, in words: the rung's preset, the intensity, and every
    parameter's value (``SceneSpec.values_at`` at the renderer's intensity and preset)."""
    preset = state.preset if state.preset in scene.presets else None
    values = scene.values_at(state.intensity, preset)
    parts = [f"preset {preset}" if preset else "free intensity", f"intensity {state.intensity:.0f}"]
    for name, value in values.items():
        unit = scene.parameters[name].unit if name in scene.parameters else ""
        label = name
        if unit and name.endswith("_" + unit.replace("/", "_")):
            label = name[: -len(unit) - 1]  # nearest_distance_m: the unit says it once
        if "/" in unit and not unit[0].isalpha() or "-" in unit:  # a share or a switch: "0-1", "0/1"
            unit = ""
        shown = f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"
        parts.append(f"{label.replace('_', ' ')} {shown}{(' ' + unit) if unit else ''}")
    return " · ".join(parts)


def _bindable(key: str | None) -> bool:
    return bool(key) and key not in RESERVED_KEYS and QKeySequence(key).toString() not in RESERVED_KEYS


class _Row:
    """One trigger's widgets."""

    def __init__(self, panel: TriggerPanel, item: TriggerItem, grid: QGridLayout, row: int) -> None:
        self.item = item
        host = grid.parentWidget()
        label = item.title
        if _bindable(item.hotkey):
            label = f"{item.title}  [{item.hotkey}]"
        elif item.hotkey:
            label = f"{item.title}  [{item.hotkey}: reserved, not bound]"
        self.fire = QPushButton(label, host)
        self.fire.setObjectName(f"event-{item.name}")
        self.fire.setToolTip("Fire now at the strength set beside it")
        self.fire.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.fire.setMinimumWidth(150)
        self.strength = QSlider(Qt.Orientation.Horizontal, host)
        self.strength.setObjectName(f"strength-{item.name}")
        self.strength.setRange(0, 100)
        self.strength.setSingleStep(5)
        self.strength.setPageStep(10)
        self.strength.setValue(100)
        self.strength.setFixedWidth(70)
        self.strength.setToolTip("Strength: how loud or how near (set before firing)")
        self.strength_label = QLabel("100%", host)
        self.strength_label.setFixedWidth(self.strength_label.fontMetrics().horizontalAdvance("100%") + 6)
        self.lo = QSpinBox(host)
        self.hi = QSpinBox(host)
        for spin, value in ((self.lo, DEFAULT_REPEAT_S[0]), (self.hi, DEFAULT_REPEAT_S[1])):
            spin.setRange(1, 3600)
            spin.setValue(value)
            spin.setFixedWidth(54)
        self.lo.setObjectName(f"repeat-lo-{item.name}")
        self.hi.setObjectName(f"repeat-hi-{item.name}")
        self.lo.setToolTip("Repeat: the shortest wait between firings (s)")
        self.hi.setToolTip("Repeat: the longest wait between firings (s)")
        self.repeat = QPushButton("Repeat", host)
        self.repeat.setObjectName(f"repeat-{item.name}")
        self.repeat.setFixedWidth(self.repeat.fontMetrics().horizontalAdvance("Stop repeat") + 20)
        #: The therapist's running repeat of this trigger (its schedule id), from the renderer's state.
        self.schedule_id: str | None = None
        grid.addWidget(self.fire, row, 0)
        grid.addWidget(self.strength, row, 1)
        grid.addWidget(self.strength_label, row, 2)
        grid.addWidget(self.lo, row, 3)
        grid.addWidget(QLabel("–", host), row, 4)
        grid.addWidget(self.hi, row, 5)
        grid.addWidget(self.repeat, row, 6)
        self.fire.clicked.connect(lambda _checked=False: panel._fire(item.name))
        self.strength.valueChanged.connect(lambda v: self._on_strength_moved(panel, v))
        self.strength.sliderReleased.connect(lambda: panel._strength_set(item.name))
        self.lo.valueChanged.connect(lambda v: self.hi.setValue(max(self.hi.value(), v)))
        self.hi.valueChanged.connect(lambda v: self.lo.setValue(min(self.lo.value(), v)))
        self.repeat.clicked.connect(lambda _checked=False: panel._repeat_clicked(item.name))

    def _on_strength_moved(self, panel: TriggerPanel, value: int) -> None:
        self.strength_label.setText(f"{value}%")
        if not self.strength.isSliderDown():  # keys, wheel, set_strength: a setting made
            panel._strength_set(self.item.name)

    @property
    def strength_value(self) -> float:
        return self.strength.value() / 100.0

    def show_repeat(self, schedule_id: str | None, allowed: bool) -> None:
        self.schedule_id = schedule_id
        running = schedule_id is not None
        self.repeat.setText("Stop repeat" if running else "Repeat")
        self.repeat.setEnabled(running or allowed)
        self.lo.setEnabled(not running)
        self.hi.setEnabled(not running)
        self.repeat.setStyleSheet("QPushButton { font-weight: bold; color: #1b5e20; }" if running else "")

    def show_active(self, active: bool) -> None:
        self.fire.setStyleSheet("QPushButton { font-weight: bold; background: #fff3e0; }" if active else "")


class TriggerPanel(QGroupBox):
    """Emits ``fire_requested(name, strength)``, ``strength_changed(name, strength)``,
    ``repeat_requested(name, lo_s, hi_s, strength)``, ``schedule_stop_requested(schedule_id)`` and
    ``stop_all_requested()``; ``event_requested(name)`` with every fire, for listeners that need only
    the name."""

    fire_requested = pyqtSignal(str, float)
    event_requested = pyqtSignal(str)
    strength_changed = pyqtSignal(str, float)
    repeat_requested = pyqtSignal(str, float, float, float)
    schedule_stop_requested = pyqtSignal(str)
    stop_all_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Triggers", parent)
        self.setObjectName("trigger-panel")
        self._title = "Triggers"
        self._enabled = True
        self.rows: dict[str, _Row] = {}
        self.shortcuts: dict[str, QShortcut] = {}
        self.group_labels: dict[str, QLabel] = {}
        self._titles: dict[str, str] = {}
        self._schedules: tuple[Any, ...] = ()
        self._strength_sent: dict[str, float] = {}
        self._ambient = "Ambient: —"

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        self._empty = QLabel("This scene has no events.", self)
        outer.addWidget(self._empty)
        self._host = QWidget(self)
        self._host_layout = QVBoxLayout(self._host)
        self._host_layout.setContentsMargins(0, 0, 0, 0)
        self._grid_host: QWidget | None = None
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setWidget(self._host)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(self._scroll, 1)

        self.active_label = QLabel("Active now: none", self)
        self.active_label.setObjectName("active-triggers")
        self.active_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        outer.addWidget(self.active_label)
        sched = QHBoxLayout()
        self.schedule_list = QListWidget(self)
        self.schedule_list.setObjectName("schedule-list")
        self.schedule_list.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 8)
        self.schedule_list.setToolTip(
            "Scheduled triggers (the rung's and yours); double-click one to stop it"
        )
        sched.addWidget(self.schedule_list, 1)
        buttons = QVBoxLayout()
        self.stop_selected_button = QPushButton("Stop selected", self)
        self.stop_selected_button.setObjectName("stop-selected-schedule")
        self.stop_all_button = QPushButton("Stop all scheduled", self)
        self.stop_all_button.setObjectName("stop-all-scheduled")
        self.stop_all_button.setStyleSheet("QPushButton { font-weight: bold; }")
        buttons.addWidget(self.stop_all_button)
        buttons.addWidget(self.stop_selected_button)
        sched.addLayout(buttons)
        outer.addLayout(sched)
        self.ambient_label = QLabel("Ambient: —", self)
        self.ambient_label.setObjectName("ambient-settings")
        self.ambient_label.setWordWrap(True)
        self.ambient_label.setStyleSheet("color: #37474f;")
        self.ambient_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # Two lines, always: the whole text is its tooltip.
        self.ambient_label.setFixedHeight(2 * self.fontMetrics().lineSpacing() + 4)
        self.ambient_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        outer.addWidget(self.ambient_label)
        self.stop_all_button.clicked.connect(self.stop_all_requested.emit)
        self.stop_selected_button.clicked.connect(self._stop_selected)
        self.schedule_list.itemDoubleClicked.connect(self._stop_item)
        self._show_schedules()

    # -- building ------------------------------------------------------------------------------------
    def set_events(self, events: Sequence[TriggerItem]) -> None:
        """The scene's events, grouped by ``group`` in the order the groups first appear (ungrouped
        ones last, under "Events")."""
        for shortcut in self.shortcuts.values():
            shortcut.setEnabled(False)
            shortcut.deleteLater()
        if self._grid_host is not None:
            self._host_layout.removeWidget(self._grid_host)
            self._grid_host.deleteLater()
            self._grid_host = None
        self.rows, self.shortcuts, self.group_labels = {}, {}, {}
        self._titles = {e.name: e.title for e in events}
        self._strength_sent = {}
        groups: dict[str, list[TriggerItem]] = {}
        for event in events:
            groups.setdefault(event.group.strip() or UNGROUPED, []).append(event)
        if UNGROUPED in groups:
            groups[UNGROUPED] = groups.pop(UNGROUPED)  # last
        # One dense grid: a group's title on its own row, then its triggers (group boxes' frames
        # would cost a row's height each, and the panel must show many triggers at once).
        host = self._grid_host = QWidget(self._host)
        grid = QGridLayout(host)
        grid.setContentsMargins(2, 0, 2, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(0, 1)
        row = 0
        for group, items in groups.items():
            label = QLabel(group[:1].upper() + group[1:], host)
            label.setObjectName(f"trigger-group-{group}")
            label.setStyleSheet(
                "QLabel { font-weight: bold; color: #37474f; border-bottom: 1px solid #b0bec5; }"
            )
            grid.addWidget(label, row, 0, 1, 7)
            self.group_labels[group] = label
            row += 1
            for item in items:
                self.rows[item.name] = _Row(self, item, grid, row)
                row += 1
                if _bindable(item.hotkey):
                    assert item.hotkey is not None
                    shortcut = QShortcut(QKeySequence(item.hotkey), self)
                    shortcut.activated.connect(lambda name=item.name: self._fire(name))
                    self.shortcuts[item.name] = shortcut
        grid.setRowStretch(row, 1)
        self._host_layout.addWidget(host)
        # As tall as the triggers need and no taller (the mirror above keeps the room); past about
        # six rows it scrolls unless the therapist drags the panel taller.
        grid.activate()
        content = grid.totalMinimumSize().height() + 6
        cap = 7 * (self.fontMetrics().lineSpacing() + 10)
        self._scroll.setMinimumHeight(min(content, cap))
        self._scroll.setMaximumHeight(content)
        self._empty.setVisible(not events)
        self._scroll.setVisible(bool(events))
        self.set_enabled(self._enabled, self.title().partition(" — ")[2])
        self._show_schedules()

    @property
    def full_height(self) -> int:
        """The panel's height with every trigger shown unscrolled."""
        scroll = self._scroll
        return self.minimumSizeHint().height() + max(0, scroll.maximumHeight() - scroll.minimumHeight())

    @property
    def buttons(self) -> dict[str, QPushButton]:
        """Each event's fire button (as :class:`EventButtons` names them)."""
        return {name: row.fire for name, row in self.rows.items()}

    @property
    def groups(self) -> dict[str, list[str]]:
        """Group title -> the names of its events, in the order shown."""
        out: dict[str, list[str]] = {}
        for row in self.rows.values():
            out.setdefault(row.item.group.strip() or UNGROUPED, []).append(row.item.name)
        return {(g[:1].upper() + g[1:]): names for g, names in out.items()}

    # -- state from the renderer ---------------------------------------------------------------------
    def set_enabled(self, enabled: bool, why: str = "") -> None:
        """Firing and starting repeats on or off (off in the safe place and when stopped); stopping a
        schedule always stays possible."""
        self._enabled = enabled
        self.setTitle(self._title if enabled or not why else f"{self._title} — {why}")
        for row in self.rows.values():
            row.fire.setEnabled(enabled)
            row.show_repeat(row.schedule_id, enabled)
        for shortcut in self.shortcuts.values():
            shortcut.setEnabled(enabled)

    def set_state(self, active_events: Sequence[str], schedules: Sequence[Any]) -> None:
        """What the renderer shows now: its active events and running schedules (``ScheduleInfo``)."""
        active = set(active_events)
        for name, row in self.rows.items():
            row.show_active(name in active)
        titles = [self._titles.get(n, n) for n in active_events]
        self.active_label.setText("Active now: " + (", ".join(titles) if titles else "none"))
        self.active_label.setToolTip(self.active_label.text())
        self._schedules = tuple(schedules)
        self._show_schedules()

    def set_ambient(self, text: str) -> None:
        self._ambient = f"Ambient: {text}" if text else "Ambient: —"
        self.ambient_label.setToolTip(self._ambient)
        self._show_ambient()

    def _show_ambient(self) -> None:
        # Two lines' worth, cut with "…" (the whole of it is the tooltip): nothing below moves.
        metrics = self.ambient_label.fontMetrics()
        room = max(50, 2 * self.ambient_label.width() - metrics.horizontalAdvance("M" * 6))
        self.ambient_label.setText(metrics.elidedText(self._ambient, Qt.TextElideMode.ElideRight, room))

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._show_ambient()

    def set_strength(self, name: str, strength: float) -> None:
        """Set a trigger's slider (0-1), e.g. to the strength the session recorded for it."""
        row = self.rows.get(name)
        if row is not None:
            self._strength_sent[name] = round(strength, 2)
            row.strength.setValue(round(strength * 100))

    def strength(self, name: str) -> float:
        return self.rows[name].strength_value

    def _show_schedules(self) -> None:
        self.schedule_list.clear()
        own: dict[str, str] = {}
        for info in self._schedules:
            if info.scope == "session":
                own.setdefault(info.event, info.schedule_id)
            title = self._titles.get(info.event, info.event)
            if info.every_s is not None:
                when = f"every {info.every_s[0]:g}–{info.every_s[1]:g} s"
            else:
                when = f"once at {info.at_s:g} s"
            who = "rung" if info.scope == "rung" else "therapist"
            text = f"{title} — {when} · {round(info.strength * 100)}% · fired {info.fired} · {who}"
            item = QListWidgetItem(text, self.schedule_list)
            item.setData(Qt.ItemDataRole.UserRole, info.schedule_id)
        if not self._schedules:
            placeholder = QListWidgetItem("none running", self.schedule_list)
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
        for name, row in self.rows.items():
            row.show_repeat(own.get(name), self._enabled)
        self.stop_all_button.setEnabled(bool(self._schedules))
        self.stop_selected_button.setEnabled(bool(self._schedules))

    @property
    def schedule_lines(self) -> list[str]:
        return [self.schedule_list.item(i).text() for i in range(self.schedule_list.count())]  # type: ignore[union-attr]

    # -- actions -------------------------------------------------------------------------------------
    def _fire(self, name: str) -> None:
        row = self.rows.get(name)
        if row is None or not self._enabled:
            return
        self._strength_set(name)
        self.fire_requested.emit(name, row.strength_value)
        self.event_requested.emit(name)

    def _strength_set(self, name: str) -> None:
        row = self.rows[name]
        value = round(row.strength_value, 2)
        if self._strength_sent.get(name, 1.0) != value:
            self._strength_sent[name] = value
            self.strength_changed.emit(name, value)

    def _repeat_clicked(self, name: str) -> None:
        row = self.rows[name]
        if row.schedule_id is not None:
            self.schedule_stop_requested.emit(row.schedule_id)
        elif self._enabled:
            self._strength_set(name)
            self.repeat_requested.emit(name, float(row.lo.value()), float(row.hi.value()), row.strength_value)

    def _stop_selected(self) -> None:
        item = self.schedule_list.currentItem()
        if item is not None:
            self._stop_item(item)

    def _stop_item(self, item: QListWidgetItem) -> None:
        schedule_id = item.data(Qt.ItemDataRole.UserRole)
        if schedule_id:
            self.schedule_stop_requested.emit(str(schedule_id))
