"""The link bridge: the :class:`~vr_exposure.link.LinkClient` inside Qt's event loop, never blocking it.

- A ``QSocketNotifier`` on each socket's ``zmq.FD``. Those FDs are edge-triggered and say only that the
  socket's state *may* have changed, so every activation drains both sockets until neither has
  ``POLLIN`` left (``LinkClient.poll(0)`` does exactly that); a partial read would stall the link.
- A ``QTimer`` on the GUI thread drives heartbeats, retries and liveness (``poll(0)`` again) four times
  per heartbeat interval: heartbeats come from the console's main loop on purpose, so a frozen console
  reads as lost contact on the renderer.
- The client's callbacks become calls on the :class:`ConsoleController` plus Qt signals. A snapshot after
  (re)connecting is handed to the controller for reconciliation.
- Connection problems get a sentence a therapist can act on: nothing answering (unreachable endpoint), a
  refused CURVE handshake (wrong key, found with a ZeroMQ socket monitor), another protocol version.
- After ``lost`` the client recreates its command socket, so the notifiers are rebuilt on the new FDs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import zmq
from PyQt6.QtCore import QObject, QSocketNotifier, QTimer, pyqtSignal
from zmq.utils.monitor import parse_monitor_message

from vr_exposure.link import LinkClient, Message
from vr_exposure.link import messages as m
from vr_exposure.link.errors import LinkError

from .controller import ConsoleController

log = logging.getLogger(__name__)

UNREACHABLE_AFTER_S = 4.0

_HANDSHAKE_EVENTS = {
    getattr(zmq, "EVENT_HANDSHAKE_FAILED_NO_DETAIL", 0x0800): "no detail",
    getattr(zmq, "EVENT_HANDSHAKE_FAILED_PROTOCOL", 0x2000): "protocol error",
    getattr(zmq, "EVENT_HANDSHAKE_FAILED_AUTH", 0x4000): "key not accepted",
}


class LinkBridge(QObject):
    """Owns the notifiers and the timer; the controller owns the session."""

    connection_changed = pyqtSignal(str, str)  # state, sentence
    message_received = pyqtSignal(object)  # link Message (facts and telemetry)

    def __init__(
        self, client: LinkClient, controller: ConsoleController, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.controller = controller
        self.state = "connecting"
        self.last_message = ""
        self._awaiting_snapshot = True
        self._started_mono_s = time.monotonic()
        self._ever_connected = False
        self._notifiers: list[QSocketNotifier] = []
        self._monitor: zmq.Socket[bytes] | None = None
        self._monitored: Any = None
        self._handshake_failure: str | None = None
        self.polls = 0
        client.on_event = self._on_event
        client.on_state = self._on_state
        client.on_connection = self._on_connection
        client.on_reply = self._on_reply
        client.on_request_failed = self._on_request_failed
        self._rebuild_notifiers()
        self._timer = QTimer(self)
        self._timer.setInterval(max(20, int(client.heartbeat_interval_s * 1000 / 4)))
        self._timer.timeout.connect(self._on_timer)
        self._timer.start()
        controller.on_connection("connecting", "")

    # -- plumbing --------------------------------------------------------------------------------------
    def _rebuild_notifiers(self) -> None:
        for notifier in self._notifiers:
            notifier.setEnabled(False)
            notifier.deleteLater()
        self._notifiers = []
        for fd in self.client.fds():
            notifier = QSocketNotifier(fd, QSocketNotifier.Type.Read, self)  # type: ignore[call-overload]
            notifier.activated.connect(self._on_readable)
            self._notifiers.append(notifier)
        self._watch_handshakes()

    def _watch_handshakes(self) -> None:
        """A monitor on the command socket tells a refused CURVE handshake from silence."""
        if self.client.dealer is self._monitored:
            return
        if self._monitor is not None:
            self._monitor.close(linger=0)
            self._monitor = None
        try:
            events = 0
            for ev in _HANDSHAKE_EVENTS:
                events |= ev
            self._monitor = self.client.dealer.get_monitor_socket(events)
            self._monitored = self.client.dealer
        except zmq.ZMQError as exc:  # monitors are optional; without one a bad key reads as silence
            log.info("no socket monitor: %s", exc)

    def _on_readable(self, *_args: Any) -> None:
        self._poll()

    def _on_timer(self) -> None:
        self._poll()
        self._check_monitor()
        self._check_unreachable()
        self.controller.tick()
        offset = self.client.clock_offset
        if offset is not None:
            self.controller.on_clock_offset(offset[0], offset[1])

    def _poll(self) -> None:
        """Drain both sockets (edge-triggered FDs) and run the client's timers. Never waits."""
        dealer = self.client.dealer
        try:
            self.client.poll(0)
        except LinkError as exc:
            self._set("error", str(exc))
        self.polls += 1
        if self.client.dealer is not dealer:
            self._rebuild_notifiers()

    def _check_monitor(self) -> None:
        if self._monitor is None:
            return
        while True:
            try:
                frames = self._monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            except zmq.ZMQError:
                return
            try:
                event = parse_monitor_message(frames)
            except Exception:  # noqa: BLE001 - a malformed monitor frame is not worth a crash
                continue
            detail = _HANDSHAKE_EVENTS.get(event["event"])
            if detail is not None and self._handshake_failure is None:
                self._handshake_failure = detail
                self._set(
                    "error",
                    f"The renderer at {self.client.command_endpoint} refused this console's key "
                    f"(CURVE handshake failed: {detail}). Check that the console uses the renderer's "
                    "public key and that the renderer allows this console's key (`vr-exposure keys allow`).",
                )

    def _check_unreachable(self) -> None:
        if self._ever_connected or self.state == "error" or self.client.incompatibility is not None:
            return
        waited = time.monotonic() - self._started_mono_s
        if waited >= UNREACHABLE_AFTER_S and self.state == "connecting":
            self._set(
                "unreachable",
                f"Cannot reach the renderer at {self.client.command_endpoint}: nothing has answered for "
                "{elapsed} s. Is it running, and is the address right? Still trying.",
            )

    def _set(self, state: str, message: str) -> None:
        if state == self.state and message == self.last_message:
            return
        self.state = state
        self.last_message = message
        banner_state = {"unreachable": "error", "incompatible": "error"}.get(state, state)
        self.controller.on_connection(banner_state, message)
        self.connection_changed.emit(state, message)

    # -- client callbacks ------------------------------------------------------------------------------
    def _on_connection(self, event: str, detail: str) -> None:
        if event in ("connected", "reconnected"):
            self._ever_connected = True
            self._handshake_failure = None
            self._awaiting_snapshot = True
            self._set("connected", detail)
        elif event in ("degraded", "lost"):
            if event == "lost":
                self._awaiting_snapshot = True
            self.state = event
            self.last_message = detail
            since = time.monotonic() - self.client.liveness.silence_s()
            self.controller.on_connection(event, "", since_mono_s=since)
            self.connection_changed.emit(event, detail)
        elif event == "incompatible":
            self._set("incompatible", detail[:1].upper() + detail[1:])
        else:
            self._set(event, detail)

    def _on_state(self, state: m.RendererState) -> None:
        if self._awaiting_snapshot and self.client.synced:
            self._awaiting_snapshot = False
            self.controller.on_snapshot(state, self.client.renderer_instance)

    def _on_event(self, msg: Message) -> None:
        content = msg.content
        if isinstance(content, m.Telemetry):
            self.controller.on_telemetry(content)
        else:
            self.controller.on_fact(content, msg.header)
        self.message_received.emit(msg)

    def _on_reply(self, msg: Message) -> None:
        content = msg.content
        if isinstance(content, m.Reply):
            parent = msg.parent_header
            self.controller.on_reply(content, None if parent is None else parent.msg_id)

    def _on_request_failed(self, msg_id: str, request: m.Request, error: LinkError) -> None:
        self.controller.on_command_failed(msg_id, str(error))

    def close(self) -> None:
        self._timer.stop()
        for notifier in self._notifiers:
            notifier.setEnabled(False)
        self._notifiers = []
        if self._monitor is not None:
            try:
                self._monitored.disable_monitor()
            except zmq.ZMQError:
                pass
            self._monitor.close(linger=0)
            self._monitor = None
