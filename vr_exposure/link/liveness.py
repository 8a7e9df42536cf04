"""Liveness of the peer from heartbeats (the ZeroMQ guide's Paranoid Pirate, liveness 3).

Pure bookkeeping on an injected clock: whoever owns a socket calls :meth:`Liveness.heard` for every
message it reads from the peer and :meth:`Liveness.update` from its main loop, so a frozen loop on
either side reads as silence. With heartbeats every ``interval_s``:

- ``connected``  the peer was heard within 1.5 intervals (one heartbeat is never late by design);
- ``degraded``   one or two heartbeats are overdue;
- ``lost``       ``liveness`` heartbeats were missed: silence > (liveness + 0.5) x interval.

A renderer answers heartbeats once per frame, so at a low frame rate its acks are late by up to a
frame without anything being wrong. :attr:`Liveness.allowance_s` (twice the renderer's frame interval
as its acks report it, at most :data:`MAX_FRAME_ALLOWANCE_S`) is added to every limit, so the state
does not flap between connected and degraded at 1-3 frames per second, while a renderer that stops
answering is still lost within a bounded time.

Before the peer is first heard the state is ``connecting``.
"""

from __future__ import annotations

from typing import Literal

from vr_exposure.core.clock import SYSTEM_CLOCK, Clock

ConnectionState = Literal["connecting", "connected", "degraded", "lost"]

DEFAULT_HEARTBEAT_INTERVAL_S = 0.5
DEFAULT_LIVENESS = 3
MAX_FRAME_ALLOWANCE_S = 2.5
"""Most silence a slow frame rate excuses (2 frames of 1.25 s)."""


class Liveness:
    """Tracks one peer; :meth:`update` returns the new state when it changed, else None."""

    def __init__(
        self,
        *,
        interval_s: float = DEFAULT_HEARTBEAT_INTERVAL_S,
        liveness: int = DEFAULT_LIVENESS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if interval_s <= 0 or liveness < 1:
            raise ValueError("heartbeat interval must be > 0 s and liveness >= 1")
        self.interval_s = interval_s
        self.liveness = liveness
        self.clock = clock
        self.state: ConnectionState = "connecting"
        self.last_heard_ns: int | None = None
        self._interval_ns = int(interval_s * 1e9)
        self._allowance_ns = 0

    @property
    def allowance_s(self) -> float:
        """Silence excused on top of the heartbeat limits (the peer answers once per frame)."""
        return self._allowance_ns / 1e9

    def set_frame_interval(self, frame_interval_s: float) -> None:
        """The peer answers once per frame of ``frame_interval_s``: allow two of them (capped)."""
        allowance = min(max(0.0, 2.0 * frame_interval_s), MAX_FRAME_ALLOWANCE_S)
        self._allowance_ns = int(allowance * 1e9)

    @property
    def lost_after_s(self) -> float:
        """Silence after which the peer reads as lost."""
        return (self.liveness + 0.5) * self.interval_s + self.allowance_s

    def silence_s(self) -> float:
        if self.last_heard_ns is None:
            return 0.0
        return (self.clock.monotonic_ns() - self.last_heard_ns) / 1e9

    def heard(self) -> ConnectionState | None:
        """The peer said something; returns the new state if that changed it."""
        self.last_heard_ns = self.clock.monotonic_ns()
        return self._set("connected")

    def missed(self) -> int:
        """Whole heartbeats overdue (0 while the peer is on time)."""
        if self.last_heard_ns is None:
            return 0
        late_ns = self.clock.monotonic_ns() - self.last_heard_ns - self._interval_ns // 2 - self._allowance_ns
        return max(0, late_ns // self._interval_ns)

    def update(self) -> ConnectionState | None:
        if self.last_heard_ns is None or self.state == "lost":
            return None
        missed = self.missed()
        if missed >= self.liveness:
            return self._set("lost")
        if missed >= 1:
            return self._set("degraded")
        return self._set("connected")

    def reset(self) -> None:
        """Forget the peer (e.g. after giving up and recreating the socket)."""
        self.state = "connecting"
        self.last_heard_ns = None
        self._allowance_ns = 0

    def _set(self, state: ConnectionState) -> ConnectionState | None:
        if state == self.state:
            return None
        self.state = state
        return state
