"""Errors of the link layer, beyond :class:`vr_exposure.errors.LinkError` itself."""

from __future__ import annotations

from vr_exposure.errors import LinkError, VrExposureError

ERROR_NAMES: dict[str, str] = {
    # The link layer: the message could not be taken as it is.
    "ProtocolVersionMismatch": "the message's MAJOR protocol version differs (or is not a string)",
    "UnknownMessageType": "the msg_type is not known to this renderer",
    "InvalidMessage": "the content does not match its schema (evalue names the field)",
    "UnexpectedMessage": "a message a renderer does not accept (a fact, a reply)",
    "MissingHeaderField": "a steering request without target_instance or a seq >= 1",
    "RendererRestarted": "target_instance names a previous renderer instance",
    "WrongSession": "a steering request whose session_id is not the renderer's session",
    "Superseded": "a steering request older than one already handled from the same console",
    "RequestExpired": "read after its deadline_ns",
    "NotImplemented": "this renderer does not handle that request",
    # The renderer refused the command.
    "NoScene": "no scene is loaded yet",
    "UnknownScene": "load_scene names a scene the renderer does not have",
    "UnknownPreset": "the scene has no such preset",
    "UnknownEvent": "the scene has no such event",
    "InvalidScene": "the scene cannot be built (it is refused before the patient sees it)",
    "InvalidIntensity": "an intensity outside 0-100",
    "InvalidSchedule": "start_schedule: not exactly one of every_s and at_s, or every_s not 0.1 <= lo <= hi",
    "InvalidState": "not possible in the renderer's mode: safe place, stopped, fading, paused",
    "NoHeadTracking": "recenter: the display has no head tracking, or its XR session is lost",
    "JournalError": "set_session: the renderer cannot journal into that session directory",
    "InternalError": "the renderer failed applying the command (a bug); evalue names the exception",
}
"""Every ``ename`` a renderer answers with, and when: docs/protocol.md section 3.1 lists the same."""


class CommandRejected(VrExposureError):
    """The renderer refused a command (raised by a request handler on the renderer, and by
    :meth:`LinkClient.request` on the console when the reply's status is ``error``).
    ``ename`` is a stable CamelCase name, ``evalue`` a sentence for the therapist."""

    def __init__(self, ename: str, evalue: str) -> None:
        self.ename = ename
        self.evalue = evalue
        super().__init__(f"{ename}: {evalue}")


class AddressInUse(LinkError):
    """An endpoint to bind is taken (another renderer, or another program, listens there)."""

    def __init__(self, message: str, endpoint: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint


class ProtocolVersionMismatch(LinkError):
    """The peer speaks another MAJOR version of the wire protocol; nothing can be exchanged."""

    def __init__(self, message: str, *, local_version: str = "", remote_version: str = "") -> None:
        self.local_version = local_version
        self.remote_version = remote_version
        super().__init__(message)


__all__ = ["ERROR_NAMES", "CommandRejected", "LinkError", "ProtocolVersionMismatch"]
