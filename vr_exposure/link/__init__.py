"""The console <-> renderer link: typed wire messages, their codec, the renderer-side server, the
console-side client, liveness, clock offset and CURVE security. ``docs/protocol.md`` is the spec."""

from __future__ import annotations

from vr_exposure.errors import LinkError
from vr_exposure.link.client import LinkClient, LinkQuality
from vr_exposure.link.clock_sync import ClockSync
from vr_exposure.link.codec import Codec, DecodeError, Message
from vr_exposure.link.errors import CommandRejected, ProtocolVersionMismatch
from vr_exposure.link.liveness import Liveness
from vr_exposure.link.messages import (
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    Content,
    Fact,
    Header,
    RendererState,
    Reply,
    Request,
    Telemetry,
    apply_fact,
)
from vr_exposure.link.security import ClientCurve, ServerCurve, is_loopback_endpoint
from vr_exposure.link.server import DEFAULT_COMMAND_ENDPOINT, DEFAULT_PUB_ENDPOINT, LinkServer

__all__ = [
    "DEFAULT_COMMAND_ENDPOINT",
    "DEFAULT_PUB_ENDPOINT",
    "MESSAGE_TYPES",
    "PROTOCOL_VERSION",
    "ClientCurve",
    "ClockSync",
    "Codec",
    "CommandRejected",
    "Content",
    "DecodeError",
    "Fact",
    "Header",
    "LinkClient",
    "LinkQuality",
    "LinkError",
    "LinkServer",
    "Liveness",
    "Message",
    "ProtocolVersionMismatch",
    "RendererState",
    "Reply",
    "Request",
    "ServerCurve",
    "Telemetry",
    "apply_fact",
    "is_loopback_endpoint",
]
