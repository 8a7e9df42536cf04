"""The therapist console's main window: layout, hotkeys, and the wiring from the controller's events to
the widgets and from the widgets' signals to the controller.

Layout: the connection banner across the top; a session bar with the timer and the large safe-place
button; the ladder, intensity and events on the left; the timeline and the patient-view mirror in the
middle; SUDS, advice and notes on the right; along the bottom the refusal bar (a steering request the
renderer refused: why, what to do, and a one-click retry) and the last error.

The layout never moves. Everything that comes and goes under pressure (the banner's alarms, refusals,
errors, warnings, changing labels) has a fixed room of its own, held while empty, and the side columns
and the session bar's buttons have fixed widths: a flapping link or a long message changes words and
colours, never the place of the safe place, leave safe place, pause or end controls.

Hotkeys (documented in docs/console.md):
  F12 or Esc   safe place (works in any state, from any widget, even with a dialog open)
  F9           leave the safe place (no event or SUDS key shares it)
  0-9 / =      SUDS 0-90 / 100: shown for 3 s with Undo, then recorded
  Backspace    undo that SUDS (or withdraw the one just recorded; Ctrl+Z too)
  F5           ask the patient for a SUDS rating now
  Ctrl+P       pause / resume
  Ctrl+N       write a note
  scene keys   events, as the scene spec names them (e.g. w, d, s in the spiders scene)
"""

from __future__ import annotations

import time
from typing import Any

from PyQt6.QtCore import QPoint, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from vr_exposure.core.viewing import frame_rate_verdict
from vr_exposure.errors import VrExposureError

from .controller import ConsoleController, UiEvent, display_path
from .gaze import GazeTracker
from .mirror import PatientMirror
from .plots import SessionTimeline
from .widgets import (
    SUDS_KEYS,
    UNDO_KEYS,
    AdvicePanel,
    ComfortStrip,
    ConnectionBanner,
    IntensityControl,
    NotesPanel,
    RefusalBar,
    RendererLog,
    RungItem,
    RungPicker,
    SessionTimer,
    SsqForm,
    SudsEntry,
    format_duration,
)
from .widgets.hotspots import HotspotHooks
from .widgets.link_quality import LinkQualityLabel
from .widgets.triggers import TriggerItem, TriggerPanel, ambient_text

SAFE_PLACE_KEYS = ("F12", "Esc")
LEAVE_SAFE_PLACE_KEY = "F9"
SAFE_COLOUR = "#1565c0"  # the safe place's colour across the console (blue: calm, not an alarm)
FREE_SESSION = "__free__"
LEFT_COLUMN_PX = 400
RIGHT_COLUMN_PX = 340


_SAFE_BUTTON_STYLE = (
    "QPushButton { background: #2e7d32; color: white; font-size: 20px; font-weight: bold;"
    " border-radius: 8px; padding: 8px 24px; }"
    "QPushButton:pressed { background: #1b5e20; }"
)
_IN_SAFE_BUTTON_STYLE = (
    f"QPushButton {{ background: white; color: {SAFE_COLOUR}; font-size: 20px; font-weight: bold;"
    f" border: 3px solid {SAFE_COLOUR}; border-radius: 8px; padding: 5px 21px; }}"
)


def _fix_width(button: QPushButton, *texts: str) -> None:
    """Give ``button`` one width that fits each of ``texts``, so changing its text moves nothing."""
    fm = button.fontMetrics()
    button.setFixedWidth(max(fm.horizontalAdvance(t) for t in (*texts, button.text())) + 32)


class SessionPanel(QGroupBox):
    """Pseudonym, protocol (or a free session with a scene), and the session's life-cycle buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Session", parent)
        self.pseudonym = QLineEdit(self)
        self.pseudonym.setObjectName("pseudonym")
        self.pseudonym.setPlaceholderText("patient pseudonym, e.g. P042")
        self.protocol = QComboBox(self)
        self.protocol.setObjectName("protocol-combo")
        self.scene = QComboBox(self)
        self.scene.setObjectName("free-scene-combo")
        self.start_button = QPushButton("Start session", self)
        self.start_button.setObjectName("start-session")
        self.ssq_before_button = QPushButton("SSQ before", self)
        self.begin_button = QPushButton("Begin exposure", self)
        self.begin_button.setObjectName("begin-exposure")
        self.ssq_after_button = QPushButton("SSQ after", self)
        self.end_button = QPushButton("End session", self)
        self.end_button.setObjectName("end-session")
        self.info = QLabel("", self)
        self.info.setObjectName("session-info")
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.info.setFixedHeight(2 * self.info.fontMetrics().lineSpacing() + 4)
        grid = QGridLayout(self)
        grid.addWidget(QLabel("Pseudonym", self), 0, 0)
        grid.addWidget(self.pseudonym, 0, 1)
        grid.addWidget(QLabel("Protocol", self), 1, 0)
        grid.addWidget(self.protocol, 1, 1)
        grid.addWidget(QLabel("Free scene", self), 2, 0)
        grid.addWidget(self.scene, 2, 1)
        grid.addWidget(self.start_button, 3, 0, 1, 2)
        buttons = QGridLayout()
        for i, b in enumerate(
            (self.ssq_before_button, self.begin_button, self.ssq_after_button, self.end_button)
        ):
            # Fixed widths: the SSQ buttons gain a done mark and total, and nothing may move for it.
            _fix_width(b, "SSQ before ✓ 100.0")
            buttons.addWidget(b, i // 2, i % 2)
        grid.addLayout(buttons, 4, 0, 1, 2)
        grid.addWidget(self.info, 5, 0, 1, 2)
        self.protocol.currentIndexChanged.connect(self._on_protocol_changed)
        self.set_phase("none")

    def _on_protocol_changed(self, _index: int) -> None:
        self.scene.setEnabled(self.protocol.currentData() == FREE_SESSION)

    def show_ssq_done(self, phase: str, total: float | None) -> None:
        """The SSQ ``phase`` was taken (``total``), or not yet (None)."""
        button = self.ssq_before_button if phase == "before" else self.ssq_after_button
        if total is None:
            button.setText(f"SSQ {phase}")
            button.setStyleSheet("")
            button.setToolTip("")
        else:
            button.setText(f"SSQ {phase} ✓ {total:.1f}")
            button.setStyleSheet("QPushButton { color: #1b5e20; font-weight: bold; }")
            button.setToolTip(f"SSQ {phase} exposure taken: total {total:.1f} (click to take it again)")

    def set_phase(self, phase: str) -> None:
        """none -> opened -> exposing -> ended."""
        self.pseudonym.setEnabled(phase in ("none", "ended"))
        self.protocol.setEnabled(phase in ("none", "ended"))
        self.scene.setEnabled(phase in ("none", "ended") and self.protocol.currentData() == FREE_SESSION)
        self.start_button.setEnabled(phase in ("none", "ended"))
        self.ssq_before_button.setEnabled(phase == "opened")
        self.begin_button.setEnabled(phase == "opened")
        self.ssq_after_button.setEnabled(phase in ("exposing", "ended"))
        self.end_button.setEnabled(phase in ("opened", "exposing"))


class ConsoleWindow(QMainWindow):
    """The console. ``bridge`` (optional) is the link bridge, for the endpoint in the title and status."""

    closing = pyqtSignal()

    def __init__(
        self, controller: ConsoleController, *, endpoint: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.endpoint = endpoint
        self.setWindowTitle("vr-exposure console" + (f" — {endpoint}" if endpoint else ""))
        self.setObjectName("console-window")
        self.resize(1400, 860)
        self.errors: list[str] = []
        self._phase = "none"
        self._events_for_scene: str | None = None
        self.end_confirm: QMessageBox | None = None

        self.banner = ConnectionBanner(self)
        self.comfort = ComfortStrip(self)
        self.gaze = GazeTracker()
        self._gaze_level = "none"
        self.gaze_label = QLabel("gaze: —", self)
        self.gaze_label.setObjectName("gaze-indicator")
        self.gaze_label.setToolTip(
            "Whether the stimulus is within 30° of where the patient's head faces (head pose and the "
            "scene's stimulus tag)"
        )
        self.renderer_log = RendererLog(self)
        self.session_panel = SessionPanel(self)
        self.timer_label = SessionTimer(self)
        self.link_quality = LinkQualityLabel(self)
        self.mode_label = QLabel("renderer: —", self)
        self.mode_label.setObjectName("renderer-mode")
        self.mode_label.setMinimumHeight(40)
        self._mode: str | None = None
        self._safe_since_mono_s: float | None = None
        self.safe_button = QPushButton("SAFE PLACE  (F12 / Esc)", self)
        self.safe_button.setObjectName("safe-place-button")
        self.safe_button.setMinimumHeight(64)
        self.safe_button.setStyleSheet(_SAFE_BUTTON_STYLE)
        self.leave_safe_button = QPushButton(f"Leave safe place ({LEAVE_SAFE_PLACE_KEY})", self)
        self.leave_safe_button.setObjectName("leave-safe-place-button")
        self.pause_button = QPushButton("Pause (Ctrl+P)", self)
        self.pause_button.setObjectName("pause-button")
        self.recenter_button = QPushButton("Recenter view", self)
        self.recenter_button.setToolTip("Seated use: where the patient now looks becomes forward")

        self.rungs = RungPicker(self)
        self.intensity = IntensityControl(self)
        self.events = TriggerPanel(self)
        self.timeline = SessionTimeline(self)
        self.mirror = PatientMirror(self)
        self.suds = SudsEntry(self)
        self.advice = AdvicePanel(self)
        self.notes = NotesPanel(self)
        self.refusal = RefusalBar(self)
        self.error_label = QLabel("", self)
        self.error_label.setObjectName("error-label")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b71c1c; font-weight: bold;")

        # Labels whose text changes under pressure take no more room than they are given.
        for label in (self.timer_label, self.mode_label):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.error_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.error_label.setFixedHeight(2 * self.error_label.fontMetrics().lineSpacing() + 4)
        _fix_width(self.pause_button, "Resume (Ctrl+P)", "Pause (Ctrl+P)")
        _fix_width(self.leave_safe_button, "Leave safe place (F9)")
        self.safe_button.setFixedWidth(self.safe_button.sizeHint().width() + 24)
        top = QHBoxLayout()
        top.addWidget(self.timer_label, 3)
        # Fixed width: the link figures change every second and must not move the controls.
        self.link_quality.setFixedWidth(self.link_quality.fontMetrics().horizontalAdvance("M" * 26))
        top.addWidget(self.link_quality)
        top.addWidget(self.mode_label, 4)
        self.gaze_label.setFixedWidth(RIGHT_COLUMN_PX)
        self.gaze_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        top.addWidget(self.pause_button)
        top.addWidget(self.recenter_button)
        top.addWidget(self.leave_safe_button)
        top.addWidget(self.safe_button)
        left_column = self.left_column = QWidget(self)
        left_column.setFixedWidth(LEFT_COLUMN_PX)
        left = QVBoxLayout(left_column)
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.session_panel)
        left.addWidget(self.rungs, 1)
        left.addWidget(self.intensity)
        # Prolonged exposure: the patient's hotspots in place of the rung list (widgets/hotspots.py).
        self.hotspots = HotspotHooks(self, left)
        right_column = QWidget(self)
        right_column.setFixedWidth(RIGHT_COLUMN_PX)
        right = QVBoxLayout(right_column)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.suds)
        right.addWidget(self.advice)
        right.addWidget(self.renderer_log)
        right.addWidget(self.notes, 1)
        centre = QSplitter(Qt.Orientation.Vertical, self)
        centre.addWidget(self.timeline)
        centre.addWidget(self.mirror)
        centre.setSizes([420, 320])
        self.centre = centre
        body = QHBoxLayout()
        body.addWidget(left_column)
        # The trigger panel below the timeline and the mirror, in a splitter of its own: the therapist
        # drags it taller, and an enlarged (detached) mirror never moves a trigger under the hand.
        centre_column = QSplitter(Qt.Orientation.Vertical, self)
        centre_column.addWidget(centre)
        centre_column.addWidget(self.events)
        centre_column.setStretchFactor(0, 1)
        centre_column.setStretchFactor(1, 0)
        self.centre_column = centre_column
        body.addWidget(centre_column, 1)
        body.addWidget(right_column)
        outer = QVBoxLayout()
        outer.addWidget(self.banner)
        # What the patient experiences, on one fixed line: the frame rate, and whether they face the
        # stimulus.
        experience = QHBoxLayout()
        experience.addWidget(self.comfort, 1)
        experience.addWidget(self.gaze_label)
        outer.addLayout(experience)
        outer.addLayout(top)
        outer.addLayout(body, 1)
        outer.addWidget(self.refusal)
        outer.addWidget(self.error_label)
        central = QFrame(self)
        central.setObjectName("console-central")
        central.setStyleSheet("#console-central { border: 6px solid transparent; }")
        central.setLayout(outer)
        self.setCentralWidget(central)
        self.status = QStatusBar(self)
        self.setStatusBar(self.status)

        self._fill_content()
        self._connect_widgets()
        self._install_shortcuts()
        controller.subscribe(self._on_controller_event)
        self._on_controller_event(
            UiEvent("connection", {"state": controller.connection, "previous": "", "message": ""})
        )
        # The clock and countdowns: 4 Hz is plenty for whole seconds and costs nothing.
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(250)
        self._clock_timer.timeout.connect(self._on_clock)
        self._clock_timer.start()

    # -- set-up ----------------------------------------------------------------------------------------
    def _fill_content(self) -> None:
        library = self.controller.library
        panel = self.session_panel
        for pid, spec in sorted(library.protocols.items()):
            panel.protocol.addItem(f"{spec.title} ({pid})", pid)
        panel.protocol.addItem("Free session (choose a scene)", FREE_SESSION)
        scenes = [(sid, spec.title) for sid, spec in sorted(library.scenes.items())]
        for sid, title in scenes:
            panel.scene.addItem(f"{title} ({sid})", sid)
        self.rungs.set_scenes(scenes)

    def select_protocol(self, protocol_id: str | None) -> None:
        index = self.session_panel.protocol.findData(protocol_id if protocol_id else FREE_SESSION)
        if index >= 0:
            self.session_panel.protocol.setCurrentIndex(index)

    def _connect_widgets(self) -> None:
        p = self.session_panel
        p.start_button.clicked.connect(self._on_start_clicked)
        p.begin_button.clicked.connect(lambda: self._do(self.controller.begin_exposure))
        p.ssq_before_button.clicked.connect(lambda: self.open_ssq("before"))
        p.ssq_after_button.clicked.connect(lambda: self.open_ssq("after"))
        p.end_button.clicked.connect(self._on_end_clicked)
        self.safe_button.clicked.connect(self.trigger_safe_place)
        self.leave_safe_button.clicked.connect(self.leave_safe_place)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.recenter_button.clicked.connect(lambda: self._do(self.controller.recenter))
        self.rungs.rung_requested.connect(lambda i: self._do(self.controller.apply_rung, i))
        self.rungs.ladder_edit_requested.connect(self.open_patient_ladder)
        self.rungs.scene_requested.connect(lambda s: self._do(self.controller.load_scene, s))
        self.intensity.binding.requested.connect(lambda v, r: self._do(self.controller.set_intensity, v, r))
        self._connect_triggers()
        self.suds.rating_entered.connect(lambda v: self._do(self.controller.record_suds, v))
        self.suds.prompt_requested.connect(lambda: self._do(self.controller.prompt_suds))
        self.suds.withdraw_requested.connect(lambda t: self._do(self.controller.withdraw_suds, t))
        self.advice.accepted.connect(lambda a: self._do(self.controller.accept_advice, a.advice_id))
        self.advice.dismissed.connect(lambda a: self._do(self.controller.dismiss_advice, a.advice_id))
        self.notes.note_entered.connect(lambda text: self._do(self.controller.add_note, text))
        self.refusal.retry_requested.connect(lambda token: self._do(self.controller.retry, token))

    def _connect_triggers(self) -> None:
        t, c = self.events, self.controller
        t.fire_requested.connect(lambda name, strength: self._do(c.trigger_event, name, strength))
        t.strength_changed.connect(lambda name, strength: self._do(c.set_trigger_strength, name, strength))
        t.repeat_requested.connect(
            lambda name, lo, hi, strength: self._do(
                c.start_schedule, name, every_s=(lo, hi), strength=strength
            )
        )
        t.schedule_stop_requested.connect(lambda sid: self._do(c.stop_schedule, sid))
        t.stop_all_requested.connect(lambda: self._do(c.stop_all_schedules))

    def _install_shortcuts(self) -> None:
        self.shortcuts: dict[str, QShortcut] = {}
        for key in SAFE_PLACE_KEYS:
            # Application-wide: the safe place must answer even while a dialog (the SSQ form) has focus.
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.ApplicationShortcut)
            sc.activated.connect(self.trigger_safe_place)
            self.shortcuts[key] = sc
        leave = QShortcut(QKeySequence(LEAVE_SAFE_PLACE_KEY), self)
        leave.setContext(Qt.ShortcutContext.ApplicationShortcut)
        leave.activated.connect(self.leave_safe_place)
        self.shortcuts[LEAVE_SAFE_PLACE_KEY] = leave
        for key, value in SUDS_KEYS.items():
            sc = QShortcut(QKeySequence(key), self)
            sc.activated.connect(lambda v=value: self._on_suds_key(v))
            self.shortcuts[key] = sc
        for key in UNDO_KEYS:
            sc = QShortcut(QKeySequence(key), self)
            sc.activated.connect(self.suds.undo)
            self.shortcuts[key] = sc
        for key, slot in (
            ("F5", self.suds.prompt_requested.emit),
            ("Ctrl+P", self.toggle_pause),
            ("Ctrl+N", self.notes.edit.setFocus),
        ):
            sc = QShortcut(QKeySequence(key), self)
            sc.activated.connect(slot)
            self.shortcuts[key] = sc

    # -- actions ---------------------------------------------------------------------------------------
    def _do(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        """Run a controller action; a refusal is shown, never raised into Qt's event loop."""
        try:
            fn(*args, **kwargs)
        except VrExposureError as exc:
            self.show_error(str(exc))

    def trigger_safe_place(self) -> None:
        self._do(self.controller.safe_place)

    def _on_suds_key(self, value: int) -> None:
        if not self.controller.active:
            self.show_error("no session: start one first (a SUDS key records a rating)")
            return
        self.suds.propose(value)

    def leave_safe_place(self) -> None:
        """Only from the safe place: the key does nothing elsewhere (nothing to leave)."""
        if self.controller.renderer_state.mode == "safe_place":
            self._do(self.controller.leave_safe_place)

    def toggle_pause(self) -> None:
        mode = self.controller.renderer_state.mode
        if mode == "paused":
            self._do(self.controller.resume)
        else:
            self._do(self.controller.pause)

    def show_error(self, message: str) -> None:
        self.errors.append(message)
        stamp = time.strftime("%H:%M:%S")
        self.error_label.setText(f"{stamp}  {message}")

    def _on_start_clicked(self) -> None:
        p = self.session_panel
        protocol = p.protocol.currentData()
        scene = p.scene.currentData() if protocol == FREE_SESSION else None
        if protocol != FREE_SESSION and self.hotspots.wants(protocol):
            self._do(self.hotspots.start, p.pseudonym.text(), protocol)
            return
        if protocol != FREE_SESSION and protocol is not None:
            # A returning patient opens where the last session ended, on the patient's own ladder.
            self._do(self._start_course, p.pseudonym.text(), protocol)
            return
        self._do(self.controller.start_session, p.pseudonym.text(), protocol_id=None, scene_id=scene)

    def _start_course(self, pseudonym: str, protocol_id: str) -> None:
        from vr_exposure.console.course import PatientCourse

        self.course = PatientCourse.start(self.controller, pseudonym, protocol_id=protocol_id)
        info = self.session_panel.info
        info.setText(info.text() + "\n" + self.course.summary_text())
        self.rungs.ladder_button.setEnabled(True)

    def open_patient_ladder(self) -> Any:
        """The patient's ladder dialog (add a rung from the current view, move, skip); None without a
        protocol session."""
        from vr_exposure.console.widgets.ladder import PatientLadderDialog

        course = getattr(self, "course", None)
        if course is None or course.controller.session_dir != self.controller.session_dir:
            self.show_error("the patient's ladder needs an open session with a protocol")
            return None
        dialog = PatientLadderDialog(course, self)
        dialog.open()
        return dialog

    def _on_end_clicked(self) -> None:
        """End session asks once; only "End session" in that box ends it."""
        if self.end_confirm is not None:
            self.end_confirm.raise_()
            return
        box = QMessageBox(self)
        box.setObjectName("end-confirm")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("End the session?")
        box.setText("End the session now?")
        box.setInformativeText(
            "The patient is taken to the safe place, open SUDS prompts are closed, and the session is "
            "summarised and sealed. This cannot be undone."
        )
        end = box.addButton("End session", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Keep going", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(QMessageBox.StandardButton.NoButton)
        box.setEscapeButton(None)  # Esc is the safe place, never an answer here

        def answered(_result: int) -> None:
            self.end_confirm = None
            box.deleteLater()
            if box.clickedButton() is end:
                self.end_now()

        box.finished.connect(answered)
        self.end_confirm = box
        box.open()

    def end_now(self) -> None:
        """End the session without asking (after the confirmation)."""
        try:
            summary = self.controller.end_session()
        except VrExposureError as exc:
            self.show_error(str(exc))
            return
        box = QMessageBox(self)
        box.setWindowTitle("Session summary")
        box.setText(f"Session {summary['session_id']} ended.")
        box.setInformativeText(f"{summary['ratings']} ratings, {summary['probes_missed']} probes missed.")
        box.setDetailedText(summary["table"])
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.summary_box = box

    def open_ssq(self, phase: str, answers: list[int] | None = None) -> SsqForm:
        """Open the SSQ form (modeless, so the safe place and SUDS keys keep working)."""
        form = SsqForm(phase, self)
        form.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if answers is not None:
            form.set_answers(answers)

        def done() -> None:
            values = form.answers()
            if values is not None:
                self._do(self.controller.record_ssq, phase, values)

        form.accepted.connect(done)
        form.safe_place_requested.connect(self.trigger_safe_place)
        form.open()
        if self.controller.renderer_state.mode in ("running", "paused", "safe_place"):
            # The exposure runs: the form goes over the left column, never over the patient's view.
            form.adjustSize()
            form.move(self.left_column.mapToGlobal(QPoint(0, 0)))
        return form

    # -- controller events -----------------------------------------------------------------------------
    def _on_controller_event(self, ev: UiEvent) -> None:
        handler = getattr(self, f"_ui_{ev.kind}", None)
        if handler is not None:
            handler(ev)

    def _ui_connection(self, ev: UiEvent) -> None:
        state, message = ev["state"], ev["message"]
        where = f" at {self.endpoint}" if self.endpoint else ""
        if state == "connected":
            self.banner.set_status("ok")
        elif state == "connecting":
            self.banner.set_status(
                "connecting", message or f"Connecting to the headset{where}… ({{elapsed}} s)"
            )
        elif state == "degraded":
            self.banner.set_status(
                "degraded",
                message or "Contact with the headset is degraded: no heartbeat for {elapsed} s",
                since_mono_s=ev.data.get("since_mono_s"),
            )
        elif state == "lost":
            self.banner.set_status(
                "lost",
                message or "No contact with the headset for {elapsed} s — reconnecting",
                since_mono_s=ev.data.get("since_mono_s"),
            )
        else:
            self.banner.set_status(
                "error", message or f"Link error{where}", since_mono_s=ev.data.get("since_mono_s")
            )

    def _ui_link_quality(self, ev: UiEvent) -> None:
        self.link_quality.show_quality(**ev.data)

    def _ui_error(self, ev: UiEvent) -> None:
        self.show_error(ev["message"])

    def _ui_resynced(self, ev: UiEvent) -> None:
        # The stimulus was set back after a reconnection: the therapist must see that it happened.
        self._renderer_did("resync", ev["message"])

    def _renderer_did(self, mark: str, text: str) -> None:
        """A change of what the patient sees that the therapist did not make now: in the log, on the
        timeline and on the error line, never silent."""
        t_s = self.controller.session_time_s() if self.controller.engine is not None else None
        self.renderer_log.add(t_s, text)
        if t_s is not None:
            self.timeline.add_event(t_s, mark)
        self.show_error(text)

    def _ui_scene(self, ev: UiEvent) -> None:
        self.rungs.set_current_scene(ev["scene"])
        self._show_events()

    def _ui_requested(self, ev: UiEvent) -> None:
        if ev["action"] == "rung":
            self.rungs.set_requested_rung(ev["rung"])

    def _ui_refused(self, ev: UiEvent) -> None:
        """The renderer refused (or never got) a steering request: the widgets go back to what the
        patient is really shown, and the bar says why, with a one-click retry."""
        self.refusal.show_refusal(ev["message"], ev["token"], ev["action"])
        self._renderer_did("refused", ev["message"][:1].upper() + ev["message"][1:])
        if ev["action"] == "rung":
            self.rungs.set_requested_rung(None)
            self.rungs.set_current_rung(ev["rung"])
            if ev["advice"] is not None:
                self.advice.show_advice(ev["advice"], ev["advice"].reason)
        elif ev["action"] == "intensity":
            self.intensity.show_renderer_intensity(ev["intensity"], ev["target_intensity"])
        elif ev["action"] == "scene" and self.controller.scene is not None:
            self.rungs.set_current_scene(self.controller.scene.id)

    def _ui_session(self, ev: UiEvent) -> None:
        c = self.controller
        if ev["state"] == "opened":
            self._phase = "opened"
            for phase in ("before", "after"):
                self.session_panel.show_ssq_done(phase, None)
            self.timeline.reset()
            protocol = c.protocol
            if protocol is not None and c.scene is not None:
                items = [
                    RungItem(
                        r.preset,
                        r.title,
                        c.scene.presets[r.preset].intensity if r.intensity is None else r.intensity,
                        r.expected_suds,
                    )
                    for r in protocol.ladder
                ]
            elif c.scene is not None:
                items = [RungItem(name, p.title, p.intensity, None) for name, p in c.scene.presets.items()]
            else:
                items = []
            self.rungs.set_rungs(items)
            self.rungs.set_scenes(
                [(c.scene.id, c.scene.title)]
                if protocol is not None and c.scene
                else [(sid, s.title) for sid, s in sorted(c.library.scenes.items())],
                None if c.scene is None else c.scene.id,
            )
            self._show_events()
            self.session_panel.info.setText(f"session {ev['session_id']}\n{display_path(ev['session_dir'])}")
        else:
            self._phase = "ended"
        self.session_panel.set_phase(self._phase)

    def _show_events(self) -> None:
        scene = self.controller.scene
        if scene is None or scene.id == self._events_for_scene:
            return
        self._events_for_scene = scene.id
        self.events.set_events(
            [TriggerItem(name, e.title, e.hotkey, e.group) for name, e in scene.events.items()]
        )
        for name, strength in self.controller.trigger_strengths.items():
            self.events.set_strength(name, strength)

    def _ui_mode(self, ev: UiEvent) -> None:
        if ev["mode"] in ("running", "paused", "safe_place") and self._phase == "opened":
            self._phase = "exposing"
            self.session_panel.set_phase(self._phase)

    def _ui_renderer_state(self, ev: UiEvent) -> None:
        st = ev["state"]
        self.pause_button.setText("Resume (Ctrl+P)" if st.mode == "paused" else "Pause (Ctrl+P)")
        self.leave_safe_button.setEnabled(st.mode == "safe_place")
        self._show_mode(st)
        scene = self.controller.scene
        if st.scene and scene is not None and st.scene == scene.id:
            self._show_events()
            self.events.set_ambient(ambient_text(scene, st))
        else:
            self.events.set_ambient("")
        self.events.set_state(st.active_events, st.schedules)

    def _show_mode(self, st: Any) -> None:
        """The safe place is one unmistakable state across the console: a blue frame and label with
        the time there, the safe-place button saying the patient is there, events and rung changes
        off, and the intensity slider marked as applying on return."""
        in_safe = st.mode == "safe_place"
        if st.mode != self._mode:
            self._mode = st.mode
            self._safe_since_mono_s = time.monotonic() if in_safe else None
            central = self.centralWidget()
            if central is not None:
                central.setStyleSheet(
                    f"#console-central {{ border: 6px solid {SAFE_COLOUR}; }}"
                    if in_safe
                    else "#console-central { border: 6px solid transparent; }"
                )
            self.safe_button.setText("IN THE SAFE PLACE" if in_safe else "SAFE PLACE  (F12 / Esc)")
            self.safe_button.setStyleSheet(_IN_SAFE_BUTTON_STYLE if in_safe else _SAFE_BUTTON_STYLE)
            exposing = st.mode not in ("safe_place", "stopped")
            why = "off in the safe place" if in_safe else ("off while stopped" if not exposing else "")
            self.events.set_enabled(exposing, why)
            self.rungs.set_steering_enabled(exposing, why)
        self.intensity.set_applies_on_return(in_safe, st.return_intensity)
        self._show_mode_label(st)

    def _show_mode_label(self, st: Any) -> None:
        if st.mode == "safe_place":
            since = self._safe_since_mono_s or time.monotonic()
            back = st.return_scene or st.scene or "the scene"
            self.mode_label.setText(
                f"SAFE PLACE  {format_duration(time.monotonic() - since)}"
                f"  ·  returns to {back}{' / ' + st.return_preset if st.return_preset else ''}"
            )
            self.mode_label.setStyleSheet(
                f"QLabel {{ background: {SAFE_COLOUR}; color: white; font-weight: bold;"
                " font-size: 15px; padding: 4px 10px; border-radius: 4px; }"
            )
            return
        self.mode_label.setStyleSheet("")
        self.mode_label.setText(
            f"renderer: {st.mode.replace('_', ' ')}  ·  {st.scene or 'no scene'}"
            f"{' / ' + st.preset if st.preset else ''}"
        )

    def _ui_refusals_expired(self, ev: UiEvent) -> None:
        # A refusal was about another moment: its "Try again" must not outlive the safe place.
        self.refusal.clear()

    def _ui_intensity(self, ev: UiEvent) -> None:
        self.intensity.show_renderer_intensity(ev["current"], ev["target"])
        self.timeline.add_intensity(self.controller.session_time_s(), ev["target"])

    def _ui_rating(self, ev: UiEvent) -> None:
        self.timeline.add_suds(ev["t_s"], ev["value"], ev["source"])
        self.suds.show_rating(ev["value"], ev["source"], len(self.controller.missed_probes))
        if ev["source"] == "therapist" and ev.data.get("t_mono_ns") is not None:
            self.suds.offer_withdraw(ev["t_mono_ns"], ev["value"])

    def _ui_rating_withdrawn(self, ev: UiEvent) -> None:
        self.timeline.add_event(ev["t_s"], f"SUDS {ev['value']:.0f} withdrawn")
        self.suds.show_rating(*self._last_rating(), len(self.controller.missed_probes))

    def _ui_physio(self, ev: UiEvent) -> None:
        self.timeline.add_physio(ev["stream"], ev["channels"], ev["t_s"], ev["values"])

    def _ui_probe_missed(self, ev: UiEvent) -> None:
        self.timeline.add_missed_probe(ev["t_s"])
        self.suds.show_rating(*self._last_rating(), len(self.controller.missed_probes))

    def _last_rating(self) -> tuple[float, str]:
        engine = self.controller.engine
        if engine is None or not engine.ratings:
            return (float("nan"), "—")
        r = engine.ratings[-1]
        return (r.value, r.source)

    def _ui_event_fired(self, ev: UiEvent) -> None:
        self.timeline.add_event(ev["t_s"], ev["event"])

    def _ui_safe_place(self, ev: UiEvent) -> None:
        self.timeline.safe_place(ev["t_s"], ev["entered"])
        if ev["entered"] and ev["by"] == "link-lost":
            self._renderer_did(
                "watchdog",
                "The renderer took the patient to the safe place by itself: it lost contact with the "
                "console (its watchdog). Leave the safe place when you are ready.",
            )
        elif ev["entered"] and ev["by"] == "patient":
            self._renderer_did("patient: safe place", "The patient chose the safe place in the headset.")

    def _ui_advice(self, ev: UiEvent) -> None:
        self.advice.show_advice(ev["advice"], ev["text"])

    def _ui_advice_closed(self, ev: UiEvent) -> None:
        current = self.advice.advice
        if current is not None and (ev["advice_id"] is None or current.advice_id == ev["advice_id"]):
            self.advice.clear()

    def _ui_rung(self, ev: UiEvent) -> None:
        self.rungs.set_current_rung(ev["rung"])
        if self.refusal.action == "rung":
            self.refusal.clear()  # a rung change went through since: the refusal is history
        self.timeline.add_event(
            ev["t_s"], self.hotspots.timeline_label(ev["rung"]) or f"rung {ev['rung'] + 1}"
        )

    def _ui_note(self, ev: UiEvent) -> None:
        self.notes.add_note(ev["t_s"], ev["text"])

    def _ui_ssq(self, ev: UiEvent) -> None:
        s = ev["score"]
        self.session_panel.show_ssq_done(ev["phase"], s.total)
        self.status.showMessage(f"SSQ {ev['phase']}: total {s.total:.1f}", 10_000)

    def _ui_head_pose(self, ev: UiEvent) -> None:
        self.gaze.on_head_pose(ev["pose"])

    def _ui_stimulus_positions(self, ev: UiEvent) -> None:
        self.gaze.on_stimuli(ev["positions"])

    def _show_gaze(self) -> None:
        status = self.gaze.status()
        colours = {"in-view": "#1b5e20", "away": "#8d6e00", "warn": "#b71c1c"}
        self.mirror.show_gaze(status.text, status.level)
        if status.level == "none":
            self.gaze_label.setText(f"gaze: {status.text}")
            self.gaze_label.setStyleSheet("color: #616161;")
        else:
            mark = "●" if status.level == "in-view" else "○"
            self.gaze_label.setText(f"{mark} {status.text}")
            self.gaze_label.setStyleSheet(f"color: {colours[status.level]}; font-weight: bold;")
        if status.level == "warn" and self._gaze_level != "warn" and self.controller.engine is not None:
            self.timeline.add_event(self.controller.session_time_s(), "looked away")
        self._gaze_level = status.level

    def _ui_view_image(self, ev: UiEvent) -> None:
        self.mirror.push_jpeg(ev["jpeg"])

    def _ui_frame_timing(self, ev: UiEvent) -> None:
        t = ev["timing"]
        verdict = frame_rate_verdict(t.median_ms, t.display_period_ms)
        previous = self.comfort.level
        self.comfort.show_verdict(verdict)
        self.mirror.set_renderer_fps(verdict.fps)
        if verdict.level == "danger" and previous != "danger" and self.controller.engine is not None:
            self.timeline.add_event(self.controller.session_time_s(), f"{verdict.fps:.0f} fps")
        self.status.showMessage(f"renderer frame time median {t.median_ms:.1f} ms, p99 {t.p99_ms:.1f} ms")

    def _on_clock(self) -> None:
        self._show_gaze()
        self.comfort.check_stale()
        c = self.controller
        engine = c.engine
        if engine is None:
            self.timer_label.show_times(None)
            self.timeline.set_now(c.session_time_s())
            return
        now_s = c.session_time_s()
        self.timeline.set_now(now_s)
        if self._mode == "safe_place":
            self._show_mode_label(c.renderer_state)
        self.timer_label.show_times(
            now_s,
            engine.time_on_rung_s() if engine.rung is not None else None,
        )
        self.suds.show_countdown(c.next_probe_in_s(), c.open_probe_left_s())

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 - Qt override
        self._clock_timer.stop()
        self.closing.emit()
        super().closeEvent(event)
