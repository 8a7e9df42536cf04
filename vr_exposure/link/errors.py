"""Errors of the link layer, beyond :class:`vr_exposure.errors.LinkError` itself."""

from __future__ import annotations

from vr_exposure.errors import LinkError, VrExposureError


class CommandRejected(VrExposureError):
    """The renderer refused a command (raised by a request handler on the renderer, and by
    :meth:`LinkClient.request` on the console when the reply's status is ``error``).
    ``ename`` is a stable CamelCase name, ``evalue`` a sentence for the therapist."""

    def __init__(self, ename: str, evalue: str) -> None:
        self.ename = ename
        self.evalue = evalue
        super().__init__(f"{ename}: {evalue}")


class ProtocolVersionMismatch(LinkError):
    """The peer speaks another MAJOR version of the wire protocol; nothing can be exchanged."""

    def __init__(self, message: str, *, local_version: str = "", remote_version: str = "") -> None:
        self.local_version = local_version
        self.remote_version = remote_version
        super().__init__(message)


__all__ = ["CommandRejected", "LinkError", "ProtocolVersionMismatch"]
