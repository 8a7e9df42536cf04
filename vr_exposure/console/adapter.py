"""The link adapter: a :class:`~vr_exposure.link.LinkClient`'s callbacks fed into a
:class:`~vr_exposure.console.controller.ConsoleController`, without Qt.

The Qt bridge and the headless demo both use it; they differ only in what wakes them (socket notifiers
and a timer, or a plain loop). It also turns connection trouble into sentences a therapist can act on:

- nothing answering at the endpoint for a few seconds: "Cannot reach the renderer at ...";
- a CURVE handshake refused (wrong key on either side), seen on a ZeroMQ socket monitor of the command
  socket, since with CURVE a bad key otherwise looks exactly like silence;
- a renderer of another protocol version (the client reports ``incompatible``).

After first contact and after a real reconnection (the link was ``lost``, or the renderer restarted)
the first snapshot is handed to :meth:`ConsoleController.on_snapshot`, which reconciles the session
with what the renderer says. A ``degraded`` spell whose link never dropped is no reconnection: the
renderer kept every command, so nothing is resent. Other snapshots (the client resyncs after a lost
fact) only refresh the controller's mirror (:meth:`ConsoleController.on_mirror`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import zmq
from zmq.utils.monitor import parse_monitor_message

from vr_exposure.errors import LinkError
from vr_exposure.link import LinkClient, Message
from vr_exposure.link import messages as m

from .controller import ConsoleController

log = logging.getLogger(__name__)

UNREACHABLE_AFTER_S = 4.0
LINK_QUALITY_INTERVAL_S = 1.0
"""How often the measured round trip and loss go to the controller (and the screen)."""

_HANDSHAKE_EVENTS = {
    getattr(zmq, "EVENT_HANDSHAKE_FAILED_NO_DETAIL", 0x0800): "no detail",
    getattr(zmq, "EVENT_HANDSHAKE_FAILED_PROTOCOL", 0x2000): "protocol error",
    getattr(zmq, "EVENT_HANDSHAKE_FAILED_AUTH", 0x4000): "key not accepted",
}

ConnectionListener = Callable[[str, str], None]


class LinkAdapter:
    """``state`` is connecting, connected, degraded, lost, unreachable, incompatible or error."""

    def __init__(
        self,
        client: LinkClient,
        controller: ConsoleController,
        *,
        unreachable_after_s: float = UNREACHABLE_AFTER_S,
    ) -> None:
        self.client = client
        self.controller = controller
        self.unreachable_after_s = unreachable_after_s
        self.state = "connecting"
        self.detail = ""
        self.ever_connected = False
        self.listeners: list[ConnectionListener] = []
        self.message_listeners: list[Callable[[Message], None]] = []
        self._awaiting_snapshot = True
        self._started_mono_s = time.monotonic()
        self._next_quality_mono_s = 0.0
        self._monitor: zmq.Socket[bytes] | None = None
        self._monitored: Any = None
        self._handshake_failure: str | None = None
        client.on_event = self._on_event
        client.on_state = self._on_state
        client.on_connection = self._on_connection
        client.on_reply = self._on_reply
        client.on_request_failed = self._on_request_failed
        self._watch_handshakes()
        controller.on_connection("connecting", "")

    # -- driving -------------------------------------------------------------------------------------
    def poll(self, timeout_ms: float = 0) -> bool:
        """Process what arrived (waiting up to ``timeout_ms``); True when the command socket was
        recreated (after ``lost``), so a Qt bridge must watch the new FD."""
        dealer = self.client.dealer
        try:
            self.client.poll(timeout_ms)
        except LinkError as exc:
            self._set("error", str(exc))
        recreated = self.client.dealer is not dealer
        if recreated:
            self._watch_handshakes()
        return recreated

    def housekeeping(self) -> None:
        """A few times a second: connection diagnosis, the session's clock (probes), the clock offset,
        the physiology stream."""
        self._check_monitor()
        self._check_unreachable()
        self.controller.tick()
        self.controller.poll_physio()
        offset = self.client.clock_offset
        if offset is not None:
            self.controller.on_clock_offset(offset[0], offset[1])
        now = time.monotonic()
        # While degraded, every housekeeping tick: the warning counts the silence up.
        if now >= self._next_quality_mono_s or self.client.connection == "degraded":
            self._next_quality_mono_s = now + LINK_QUALITY_INTERVAL_S
            self.controller.on_link_quality(self.client.link_quality())

    def close(self) -> None:
        if self._monitor is not None:
            try:
                self._monitored.disable_monitor()
            except zmq.ZMQError:
                pass
            self._monitor.close(linger=0)
            self._monitor = None

    # -- diagnosis -----------------------------------------------------------------------------------
    def _watch_handshakes(self) -> None:
        if self.client.dealer is self._monitored:
            return
        if self._monitor is not None:
            self._monitor.close(linger=0)
            self._monitor = None
        events = 0
        for ev in _HANDSHAKE_EVENTS:
            events |= ev
        try:
            self._monitor = self.client.dealer.get_monitor_socket(events)
            self._monitored = self.client.dealer
        except zmq.ZMQError as exc:  # optional: without a monitor a bad key reads as silence
            log.info("no socket monitor: %s", exc)

    def _check_monitor(self) -> None:
        while self._monitor is not None:
            try:
                frames = self._monitor.recv_multipart(zmq.NOBLOCK)
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
        if self.ever_connected or self.state in ("error", "incompatible", "unreachable"):
            return
        if time.monotonic() - self._started_mono_s >= self.unreachable_after_s:
            self._set(
                "unreachable",
                f"Cannot reach the renderer at {self.client.command_endpoint}: nothing has answered for "
                "{elapsed} s. Is it running, and is the address right? Still trying.",
                since_mono_s=self._started_mono_s,
            )

    def _set(self, state: str, message: str, since_mono_s: float | None = None) -> None:
        if state == self.state and message == self.detail:
            return
        self.state = state
        self.detail = message
        banner = {"unreachable": "error", "incompatible": "error"}.get(state, state)
        self.controller.on_connection(banner, message, since_mono_s=since_mono_s)
        for listener in list(self.listeners):
            listener(state, message)

    # -- client callbacks ----------------------------------------------------------------------------
    def _on_connection(self, event: str, detail: str) -> None:
        if event in ("connected", "reconnected"):
            if event == "reconnected" or not self.ever_connected:
                self._awaiting_snapshot = True
            self.ever_connected = True
            self._handshake_failure = None
            self._set("connected", "")
        elif event in ("degraded", "lost"):
            if event == "lost":
                self._awaiting_snapshot = True
            since = time.monotonic() - self.client.liveness.silence_s()
            self._set(event, "", since_mono_s=since)
        elif event == "incompatible":
            self._set("incompatible", detail[:1].upper() + detail[1:])
        else:
            self._set(event, detail)

    def _on_state(self, state: m.RendererState) -> None:
        if not self.client.synced:
            return
        if self._awaiting_snapshot:
            self._awaiting_snapshot = False
            self.controller.on_snapshot(state, self.client.renderer_instance)
        else:
            self.controller.on_mirror(state)

    def _on_event(self, msg: Message) -> None:
        content = msg.content
        if isinstance(content, m.Telemetry):
            self.controller.on_telemetry(content)
        else:
            self.controller.on_fact(content, msg.header)
        for listener in list(self.message_listeners):
            listener(msg)

    def _on_reply(self, msg: Message) -> None:
        content = msg.content
        if isinstance(content, m.Reply):
            parent = msg.parent_header
            self.controller.on_reply(content, None if parent is None else parent.msg_id, parent)

    def _on_request_failed(self, msg_id: str, request: m.Request, error: LinkError) -> None:
        self.controller.on_command_failed(msg_id, str(error))
