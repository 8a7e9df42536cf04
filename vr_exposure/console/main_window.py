"""The therapist console's main window: layout, hotkeys, and the wiring from the controller's events to
the widgets and from the widgets' signals to the controller.

Layout: the connection banner across the top (only while contact is not healthy); a session bar with the
timer and the large safe-place button; the ladder, intensity and events on the left; the timeline and
the patient-view mirror in the middle; SUDS, advice and notes on the right; along the bottom the refusal
bar (a steering request the renderer refused: why, what to do, and a one-click retry) and the last error.

Hotkeys (documented in docs/console.md):
  F12 or Esc   safe place (works in any state, from any widget, even with a dialog open)
  0-9 / =      record SUDS 0-90 / 100
  F5           ask the patient for a SUDS rating now
  Ctrl+P       pause / resume
  Ctrl+N       write a note
  scene keys   events, as the scene spec names them (e.g. w, d, s in the spiders scene)
"""

from __future__ import annotations

import time
from typing import Any

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from vr_exposure.errors import VrExposureError

from .controller import ConsoleController, UiEvent, display_path
from .mirror import PatientMirror
from .plots import SessionTimeline
from .widgets import (
    SUDS_KEYS,
    AdvicePanel,
    ConnectionBanner,
    EventButtons,
    EventItem,
    IntensityControl,
    NotesPanel,
    RefusalBar,
    RungItem,
    RungPicker,
    SessionTimer,
    SsqForm,
    SudsEntry,
)

SAFE_PLACE_KEYS = ("F12", "Esc")
FREE_SESSION = "__free__"


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
        grid = QGridLayout(self)
        grid.addWidget(QLabel("Pseudonym", self), 0, 0)
        grid.addWidget(self.pseudonym, 0, 1)
        grid.addWidget(QLabel("Protocol", self), 1, 0)
        grid.addWidget(self.protocol, 1, 1)
        grid.addWidget(QLabel("Free scene", self), 2, 0)
        grid.addWidget(self.scene, 2, 1)
        grid.addWidget(self.start_button, 3, 0, 1, 2)
        row = QHBoxLayout()
        for b in (self.ssq_before_button, self.begin_button, self.ssq_after_button, self.end_button):
            row.addWidget(b)
        grid.addLayout(row, 4, 0, 1, 2)
        grid.addWidget(self.info, 5, 0, 1, 2)
        self.protocol.currentIndexChanged.connect(self._on_protocol_changed)
        self.set_phase("none")

    def _on_protocol_changed(self, _index: int) -> None:
        self.scene.setEnabled(self.protocol.currentData() == FREE_SESSION)

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

        self.banner = ConnectionBanner(self)
        self.session_panel = SessionPanel(self)
        self.timer_label = SessionTimer(self)
        self.mode_label = QLabel("renderer: —", self)
        self.mode_label.setObjectName("renderer-mode")
        self.safe_button = QPushButton("SAFE PLACE  (F12 / Esc)", self)
        self.safe_button.setObjectName("safe-place-button")
        self.safe_button.setMinimumHeight(64)
        self.safe_button.setStyleSheet(
            "QPushButton { background: #2e7d32; color: white; font-size: 20px; font-weight: bold;"
            " border-radius: 8px; padding: 8px 24px; }"
            "QPushButton:pressed { background: #1b5e20; }"
        )
        self.leave_safe_button = QPushButton("Leave safe place", self)
        self.pause_button = QPushButton("Pause (Ctrl+P)", self)
        self.pause_button.setObjectName("pause-button")
        self.recenter_button = QPushButton("Recenter view", self)
        self.recenter_button.setToolTip("Seated use: where the patient now looks becomes forward")

        self.rungs = RungPicker(self)
        self.intensity = IntensityControl(self)
        self.events = EventButtons(self)
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

        top = QHBoxLayout()
        top.addWidget(self.timer_label, 1)
        top.addWidget(self.mode_label)
        top.addWidget(self.pause_button)
        top.addWidget(self.recenter_button)
        top.addWidget(self.leave_safe_button)
        top.addWidget(self.safe_button)
        left = QVBoxLayout()
        left.addWidget(self.session_panel)
        left.addWidget(self.rungs, 1)
        left.addWidget(self.intensity)
        left.addWidget(self.events)
        right = QVBoxLayout()
        right.addWidget(self.suds)
        right.addWidget(self.advice)
        right.addWidget(self.notes, 1)
        centre = QSplitter(Qt.Orientation.Vertical, self)
        centre.addWidget(self.timeline)
        centre.addWidget(self.mirror)
        centre.setSizes([420, 320])
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addWidget(centre, 5)
        body.addLayout(right, 3)
        outer = QVBoxLayout()
        outer.addWidget(self.banner)
        outer.addLayout(top)
        outer.addLayout(body, 1)
        outer.addWidget(self.refusal)
        outer.addWidget(self.error_label)
        central = QWidget(self)
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
        self.leave_safe_button.clicked.connect(lambda: self._do(self.controller.leave_safe_place))
        self.pause_button.clicked.connect(self.toggle_pause)
        self.recenter_button.clicked.connect(lambda: self._do(self.controller.recenter))
        self.rungs.rung_requested.connect(lambda i: self._do(self.controller.apply_rung, i))
        self.rungs.ladder_edit_requested.connect(self.open_patient_ladder)
        self.rungs.scene_requested.connect(lambda s: self._do(self.controller.load_scene, s))
        self.intensity.binding.requested.connect(lambda v, r: self._do(self.controller.set_intensity, v, r))
        self.events.event_requested.connect(lambda name: self._do(self.controller.trigger_event, name))
        self.suds.rating_entered.connect(lambda v: self._do(self.controller.record_suds, v))
        self.suds.prompt_requested.connect(lambda: self._do(self.controller.prompt_suds))
        self.advice.accepted.connect(lambda a: self._do(self.controller.accept_advice, a.advice_id))
        self.advice.dismissed.connect(lambda a: self._do(self.controller.dismiss_advice, a.advice_id))
        self.notes.note_entered.connect(lambda text: self._do(self.controller.add_note, text))
        self.refusal.retry_requested.connect(lambda token: self._do(self.controller.retry, token))

    def _install_shortcuts(self) -> None:
        self.shortcuts: dict[str, QShortcut] = {}
        for key in SAFE_PLACE_KEYS:
            # Application-wide: the safe place must answer even while a dialog (the SSQ form) has focus.
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.ApplicationShortcut)
            sc.activated.connect(self.trigger_safe_place)
            self.shortcuts[key] = sc
        for key, value in SUDS_KEYS.items():
            sc = QShortcut(QKeySequence(key), self)
            sc.activated.connect(lambda v=value: self.suds.record(v))
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

    def _ui_error(self, ev: UiEvent) -> None:
        self.show_error(ev["message"])

    def _ui_resynced(self, ev: UiEvent) -> None:
        # The stimulus was set back after a reconnection: the therapist must see that it happened.
        self.show_error(ev["message"])

    def _ui_scene(self, ev: UiEvent) -> None:
        self.rungs.set_current_scene(ev["scene"])
        self._show_events()

    def _ui_requested(self, ev: UiEvent) -> None:
        if ev["action"] == "rung":
            self.rungs.set_requested_rung(ev["rung"])

    def _ui_refused(self, ev: UiEvent) -> None:
        """The renderer refused (or never got) a steering request: the widgets go back to what the
        patient is really shown, and the bar says why, with a one-click retry."""
        self.errors.append(ev["message"])
        self.refusal.show_refusal(ev["message"], ev["token"], ev["action"])
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
        self.events.set_events([EventItem(name, e.title, e.hotkey) for name, e in scene.events.items()])

    def _ui_mode(self, ev: UiEvent) -> None:
        if ev["mode"] in ("running", "paused", "safe_place") and self._phase == "opened":
            self._phase = "exposing"
            self.session_panel.set_phase(self._phase)

    def _ui_renderer_state(self, ev: UiEvent) -> None:
        st = ev["state"]
        self.mode_label.setText(
            f"renderer: {st.mode.replace('_', ' ')}  ·  {st.scene or 'no scene'}"
            f"{' / ' + st.preset if st.preset else ''}"
        )
        self.pause_button.setText("Resume (Ctrl+P)" if st.mode == "paused" else "Pause (Ctrl+P)")
        self.leave_safe_button.setEnabled(st.mode == "safe_place")
        if st.scene and self.controller.scene is not None and st.scene == self.controller.scene.id:
            self._show_events()

    def _ui_intensity(self, ev: UiEvent) -> None:
        self.intensity.show_renderer_intensity(ev["current"], ev["target"])
        self.timeline.add_intensity(self.controller.session_time_s(), ev["target"])

    def _ui_rating(self, ev: UiEvent) -> None:
        self.timeline.add_suds(ev["t_s"], ev["value"], ev["source"])
        self.suds.show_rating(ev["value"], ev["source"], len(self.controller.missed_probes))

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
        self.timeline.add_event(ev["t_s"], f"rung {ev['rung'] + 1}")

    def _ui_note(self, ev: UiEvent) -> None:
        self.notes.add_note(ev["t_s"], ev["text"])

    def _ui_ssq(self, ev: UiEvent) -> None:
        s = ev["score"]
        self.status.showMessage(f"SSQ {ev['phase']}: total {s.total:.1f}", 10_000)

    def _ui_view_image(self, ev: UiEvent) -> None:
        self.mirror.push_jpeg(ev["jpeg"])

    def _ui_frame_timing(self, ev: UiEvent) -> None:
        t = ev["timing"]
        self.status.showMessage(f"renderer frame time median {t.median_ms:.1f} ms, p99 {t.p99_ms:.1f} ms")

    def _on_clock(self) -> None:
        c = self.controller
        engine = c.engine
        if engine is None:
            self.timer_label.show_times(None)
            self.timeline.set_now(c.session_time_s())
            return
        now_s = c.session_time_s()
        self.timeline.set_now(now_s)
        self.timer_label.show_times(
            now_s,
            engine.time_on_rung_s() if engine.rung is not None else None,
            engine.state.replace("_", " "),
        )
        self.suds.show_countdown(c.next_probe_in_s(), c.open_probe_left_s())

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 - Qt override
        self._clock_timer.stop()
        self.closing.emit()
        super().closeEvent(event)
