"""The one place that builds and parses wire frames (Jupyter's ``Session``, typed).

A message on the wire is a ZeroMQ multipart message whose LAST frame is the envelope::

    [routing...] [envelope]

``routing`` is what a ROUTER prepends (the peer's identity) or the topic on PUB. The envelope is one
UTF-8 JSON object ``{"header": {...}, "parent_header": {...} | null, "content": {...}}``. One frame
rather than Jupyter's one-frame-per-part keeps the per-message cost of pyzmq (a few microseconds per
frame, each way) out of the command round trip. Nothing else in the package touches raw frames:
servers and clients call :meth:`Codec.encode` and :meth:`Codec.decode`, which raises
:class:`DecodeError` (never anything else) for bad input.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import msgspec

from vr_exposure.core.clock import SYSTEM_CLOCK, Clock
from vr_exposure.errors import LinkError
from vr_exposure.link.messages import (
    MESSAGE_TYPES,
    PROTOCOL_VERSION,
    Content,
    Header,
    protocol_major,
)

DEFAULT_MAX_MESSAGE_BYTES = 1 << 20
"""Largest command message (the envelope frame) a renderer accepts: 1 MiB."""


class _Envelope(msgspec.Struct):
    """Incoming: the content (and parent) stay raw until the header says how to read them."""

    header: Header
    content: msgspec.Raw
    parent_header: msgspec.Raw = msgspec.Raw(b"null")


class _OutEnvelope(msgspec.Struct):
    header: Header
    parent_header: Header | None
    content: Any


_ENCODER = msgspec.json.Encoder()
_ENVELOPE_DECODER = msgspec.json.Decoder(_Envelope)
_HEADER_DECODER = msgspec.json.Decoder(Header | None)
_CONTENT_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    mt: msgspec.json.Decoder(cls) for mt, cls in MESSAGE_TYPES.items()
}


class DecodeError(LinkError):
    """A message that cannot be used. ``ename`` is the error name sent back when ``header`` is
    known (so a reply is possible); with no header the message can only be dropped and counted."""

    def __init__(self, ename: str, evalue: str, header: Header | None = None) -> None:
        self.ename = ename
        self.evalue = evalue
        self.header = header
        super().__init__(f"{ename}: {evalue}")


class Message(msgspec.Struct, frozen=True):
    """A decoded message: envelope plus typed content."""

    header: Header
    parent_header: Header | None
    content: Content

    @property
    def msg_type(self) -> str:
        return self.header.msg_type

    @property
    def msg_id(self) -> str:
        return self.header.msg_id


def _bad_version_header(frame: bytes) -> Header | None:
    """For an envelope that failed to decode: a header to answer with when the only thing wrong
    with it is ``protocol_version`` (missing, or not a string), so such a peer hears why."""
    try:
        raw = msgspec.json.decode(frame)
    except (msgspec.DecodeError, ValueError, TypeError):
        return None
    header = raw.get("header") if isinstance(raw, dict) else None
    if not isinstance(header, dict) or isinstance(header.get("protocol_version"), str):
        return None
    msg_id, msg_type = header.get("msg_id"), header.get("msg_type")
    if not (isinstance(msg_id, str) and isinstance(msg_type, str)):
        return None
    try:
        fixed = {**header, "protocol_version": str(header.get("protocol_version"))}
        return msgspec.convert(fixed, Header)
    except (msgspec.ValidationError, TypeError):
        return Header(msg_id=msg_id, msg_type=msg_type, protocol_version=str(header.get("protocol_version")))


def new_instance_id() -> str:
    """A fresh process-instance id: 16 hex digits from the OS's random source."""
    return os.urandom(8).hex()


class Codec:
    """Builds headers (ids, seq, timestamps) and encodes/decodes frames for one sending process.

    ``sender`` is the role (``console`` or ``renderer``); ``instance_id`` is new per process start.
    ``max_message_bytes`` bounds what :meth:`decode` accepts.
    """

    def __init__(
        self,
        sender: str,
        *,
        instance_id: str | None = None,
        session_id: str = "",
        clock: Clock = SYSTEM_CLOCK,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        protocol_version: str = PROTOCOL_VERSION,
    ) -> None:
        self.sender = sender
        self.instance_id = instance_id or new_instance_id()
        self.session_id = session_id
        self.clock = clock
        self.max_message_bytes = max_message_bytes
        self.protocol_version = protocol_version
        self._major = protocol_major(protocol_version)
        self._ids = itertools.count(1)

    # -- building ---------------------------------------------------------------------------

    def new_msg_id(self) -> str:
        """Unique across processes and restarts: the instance id plus a counter."""
        return f"{self.instance_id}-{next(self._ids)}"

    def header(
        self,
        msg_type: str,
        *,
        seq: int = 0,
        msg_id: str | None = None,
        target_instance: str = "",
        deadline_ns: int = 0,
        session_id: str | None = None,
    ) -> Header:
        return Header(
            msg_id=msg_id or self.new_msg_id(),
            msg_type=msg_type,
            protocol_version=self.protocol_version,
            session_id=self.session_id if session_id is None else session_id,
            sender=self.sender,
            instance_id=self.instance_id,
            seq=seq,
            sent_mono_ns=self.clock.monotonic_ns(),
            target_instance=target_instance,
            deadline_ns=deadline_ns,
        )

    def encode(self, header: Header, content: Content, parent: Header | None = None) -> bytes:
        """The envelope frame."""
        return _ENCODER.encode(_OutEnvelope(header, parent, content))

    def build(
        self, content: Content, *, parent: Header | None = None, seq: int = 0, **header_fields: Any
    ) -> tuple[Header, bytes]:
        """A header for ``content`` and the encoded envelope frame."""
        header = self.header(content.msg_type, seq=seq, **header_fields)
        return header, self.encode(header, content, parent)

    # -- parsing ----------------------------------------------------------------------------

    def decode(self, frame: bytes, *, check_size: bool = True) -> Message:
        """Parse an envelope frame. Raises :class:`DecodeError` only."""
        if check_size and len(frame) > self.max_message_bytes:
            raise DecodeError(
                "MessageTooLarge",
                f"message of {len(frame)} bytes exceeds the limit of {self.max_message_bytes}",
            )
        try:
            envelope = _ENVELOPE_DECODER.decode(frame)
        except (msgspec.DecodeError, ValueError, TypeError) as exc:
            bad_version = _bad_version_header(frame)
            if bad_version is not None:
                raise DecodeError(
                    "ProtocolVersionMismatch",
                    f"protocol_version must be a string like {self.protocol_version!r}; this {self.sender} "
                    f"speaks {self.protocol_version}",
                    bad_version,
                ) from None
            raise DecodeError("MalformedMessage", f"envelope: {exc}") from None
        header = envelope.header
        if protocol_major(header.protocol_version) != self._major:
            raise DecodeError(
                "ProtocolVersionMismatch",
                f"peer speaks protocol {header.protocol_version}, this {self.sender} speaks "
                f"{self.protocol_version}; install matching versions of vr-exposure on both machines",
                header,
            )
        decoder = _CONTENT_DECODERS.get(header.msg_type)
        if decoder is None:
            raise DecodeError("UnknownMessageType", f"unknown msg_type {header.msg_type!r}", header)
        try:
            raw_parent = envelope.parent_header
            # Jupyter writes {} for "no parent"; accept it as null.
            if bytes(raw_parent).strip() in (b"null", b"{}"):
                parent = None
            else:
                parent = _HEADER_DECODER.decode(raw_parent)
            content = decoder.decode(envelope.content)
        except (msgspec.DecodeError, ValueError, TypeError) as exc:
            raise DecodeError("InvalidMessage", f"{header.msg_type}: {exc}", header) from None
        return Message(header, parent, content)
