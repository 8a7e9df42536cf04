"""Transport security: loopback by default, CURVE (Ironhouse) for anything that leaves the machine.

The renderer is a CURVE server with its own key pair and an allow-list directory of console public
keys (pyzmq's ``zmq.auth`` ThreadAuthenticator checks every handshake); a console is a CURVE client
that knows the renderer's public key. A handshake with an unknown key, or a plain-text socket,
never gets a single message through. Binding anything but a loopback address without CURVE is
refused, so a misconfigured renderer cannot expose the patient's session to the network.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from vr_exposure.errors import LinkError

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback_endpoint(endpoint: str) -> bool:
    """True for ``ipc://``, ``inproc://`` and ``tcp://`` on a loopback address."""
    scheme, sep, rest = endpoint.partition("://")
    if not sep:
        return False
    if scheme in ("ipc", "inproc"):
        return True
    if scheme != "tcp":
        return False
    host = rest.rsplit(":", 1)[0]
    if ";" in host:  # "source;destination" syntax: the bound side is the part after ';'
        host = host.rsplit(";", 1)[1]
    if host in _LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # "*", an interface name or a host name: not provably local


def _load_pair(secret_file: Path) -> tuple[bytes, bytes]:
    try:
        public, secret = zmq.auth.load_certificate(str(secret_file))
    except (OSError, ValueError) as exc:
        raise LinkError(f"{secret_file}: cannot read a CURVE key pair: {exc}") from None
    if not secret:
        raise LinkError(f"{secret_file}: holds no secret key (it is a public key file)")
    return public, secret


def load_public_key(public_file: Path) -> bytes:
    try:
        public, _ = zmq.auth.load_certificate(str(public_file))
    except (OSError, ValueError) as exc:
        raise LinkError(f"{public_file}: cannot read a CURVE public key: {exc}") from None
    return public


@dataclass(frozen=True)
class ServerCurve:
    """Renderer side: its key pair and the directory of allowed console public keys."""

    public_key: bytes
    secret_key: bytes
    allowed_dir: Path

    @classmethod
    def from_files(cls, secret_file: Path | str, allowed_dir: Path | str) -> ServerCurve:
        public, secret = _load_pair(Path(secret_file))
        return cls(public, secret, Path(allowed_dir))


@dataclass(frozen=True)
class ClientCurve:
    """Console side: its key pair and the renderer's public key."""

    public_key: bytes
    secret_key: bytes
    server_public_key: bytes

    @classmethod
    def from_files(cls, secret_file: Path | str, server_public_file: Path | str) -> ClientCurve:
        public, secret = _load_pair(Path(secret_file))
        return cls(public, secret, load_public_key(Path(server_public_file)))


def start_authenticator(context: zmq.Context[zmq.Socket[bytes]], curve: ServerCurve) -> ThreadAuthenticator:
    """Start a ZAP handler on ``context`` accepting only the keys in ``curve.allowed_dir``."""
    if not curve.allowed_dir.is_dir():
        raise LinkError(
            f"{curve.allowed_dir}: no directory of allowed console keys; "
            "add one with `vr-exposure keys allow CONSOLE_PUBLIC_KEY_FILE`"
        )
    auth = ThreadAuthenticator(context)
    auth.start()
    auth.configure_curve(domain="*", location=str(curve.allowed_dir))
    return auth


def secure_server_socket(sock: zmq.Socket[bytes], curve: ServerCurve) -> None:
    """Must be called before ``bind``."""
    sock.curve_secretkey = curve.secret_key
    sock.curve_publickey = curve.public_key
    sock.curve_server = True


def secure_client_socket(sock: zmq.Socket[bytes], curve: ClientCurve) -> None:
    """Must be called before ``connect``."""
    sock.curve_secretkey = curve.secret_key
    sock.curve_publickey = curve.public_key
    sock.curve_serverkey = curve.server_public_key


def check_bind_allowed(endpoint: str, curve: ServerCurve | None) -> None:
    if curve is None and not is_loopback_endpoint(endpoint):
        raise LinkError(
            f"refusing to bind {endpoint} without CURVE keys: only loopback (tcp://127.0.0.1:PORT) "
            "is allowed in plain text. Create keys with `vr-exposure keys generate --name renderer`, "
            "allow the console's key with `vr-exposure keys allow CONSOLE_KEY_FILE`, and start the "
            "renderer with them"
        )
