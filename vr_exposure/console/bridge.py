"""The link bridge: the :class:`~vr_exposure.link.LinkClient` inside Qt's event loop, never blocking it.

- A ``QSocketNotifier`` on each socket's ``zmq.FD``. Those FDs are edge-triggered and say only that the
  socket's state *may* have changed, so every activation drains both sockets until neither has
  ``POLLIN`` left (``LinkClient.poll(0)`` does exactly that); a partial read would stall the link.
- A ``QTimer`` on the GUI thread drives heartbeats, retries and liveness (``poll(0)`` again) four times
  per heartbeat interval: heartbeats come from the console's main loop on purpose, so a frozen console
  reads as lost contact on the renderer. The same timer runs the session's clock (probes) and the
  connection diagnosis of :class:`~vr_exposure.console.adapter.LinkAdapter`.
- After ``lost`` the client recreates its command socket, so the notifiers are rebuilt on the new FDs.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QObject, QSocketNotifier, QTimer, pyqtSignal

from vr_exposure.link import LinkClient

from .adapter import LinkAdapter
from .controller import ConsoleController


class LinkBridge(QObject):
    """Owns the notifiers and the timer; the adapter turns the client's callbacks into controller calls."""

    connection_changed = pyqtSignal(str, str)  # state, sentence
    message_received = pyqtSignal(object)  # a link Message (facts and telemetry)

    def __init__(
        self,
        client: LinkClient,
        controller: ConsoleController,
        parent: QObject | None = None,
        *,
        unreachable_after_s: float | None = None,
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.controller = controller
        kwargs = {} if unreachable_after_s is None else {"unreachable_after_s": unreachable_after_s}
        self.adapter = LinkAdapter(client, controller, **kwargs)
        self.adapter.listeners.append(self.connection_changed.emit)
        self.adapter.message_listeners.append(self.message_received.emit)
        self.polls = 0
        self._notifiers: list[QSocketNotifier] = []
        self._rebuild_notifiers()
        self._timer = QTimer(self)
        self._timer.setInterval(max(20, int(client.heartbeat_interval_s * 1000 / 4)))
        self._timer.timeout.connect(self._on_timer)
        self._timer.start()

    @property
    def state(self) -> str:
        return self.adapter.state

    def _rebuild_notifiers(self) -> None:
        for notifier in self._notifiers:
            notifier.setEnabled(False)
            notifier.deleteLater()
        self._notifiers = []
        for fd in self.client.fds():
            notifier = QSocketNotifier(fd, QSocketNotifier.Type.Read, self)  # type: ignore[call-overload]
            notifier.activated.connect(self._on_readable)
            self._notifiers.append(notifier)

    def _on_readable(self, *_args: Any) -> None:
        self._poll()

    def _on_timer(self) -> None:
        self._poll()
        self.adapter.housekeeping()

    def _poll(self) -> None:
        """Drain both sockets (edge-triggered FDs) and run the client's timers. Never waits."""
        self.polls += 1
        if self.adapter.poll(0):
            self._rebuild_notifiers()

    def close(self) -> None:
        self._timer.stop()
        for notifier in self._notifiers:
            notifier.setEnabled(False)
        self._notifiers = []
        self.adapter.close()
