"""Where CURVE keys live and how they are made: ``<user config dir>/vr-exposure/keys``.

Layout (directories 0700, files 0600)::

    keys/<name>.key           public key (ZeroMQ certificate format; safe to copy to the peer)
    keys/<name>.key_secret    key pair; never leaves this machine
    keys/allowed/<name>.key   console public keys this renderer accepts (the Ironhouse allow-list)
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import zmq.auth

from vr_exposure.errors import LinkError
from vr_exposure.link.security import ClientCurve, ServerCurve, load_public_key

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def keys_dir() -> Path:
    return platformdirs.user_config_path("vr-exposure") / "keys"


def allowed_dir(directory: Path | None = None) -> Path:
    return (directory or keys_dir()) / "allowed"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise LinkError(f"key name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")


@dataclass(frozen=True)
class KeyInfo:
    name: str
    public_key: str
    """Z85 text, 40 characters."""
    path: Path
    kind: str
    """``pair`` (own key pair) or ``allowed`` (a peer's public key on the allow-list)."""


def generate_keys(
    name: str = "console", *, directory: Path | None = None, force: bool = False
) -> tuple[Path, Path]:
    """Create ``<name>.key`` and ``<name>.key_secret``; returns (public file, secret file)."""
    _check_name(name)
    d = _private_dir(directory or keys_dir())
    public_file, secret_file = d / f"{name}.key", d / f"{name}.key_secret"
    if not force and (public_file.exists() or secret_file.exists()):
        raise LinkError(
            f"{secret_file} already exists; pass --force to replace it (peers must then be updated)"
        )
    old_umask = os.umask(0o077)  # the secret is never world-readable, not even for an instant
    try:
        public, secret = zmq.auth.create_certificates(str(d), name)
    finally:
        os.umask(old_umask)
    for f in (public, secret):
        os.chmod(f, 0o600)
    return Path(public), Path(secret)


def allow_key(public_file: Path, *, name: str | None = None, directory: Path | None = None) -> Path:
    """Copy a console's public key onto the allow-list; returns where it went. A bare file name
    that is not in the working directory is looked up in the key store (console and renderer on
    one machine: ``vr-exposure keys allow console.key`` right after ``keys generate``)."""
    if not public_file.exists():
        stored = (directory or keys_dir()) / public_file.name
        if len(public_file.parts) == 1 and stored.is_file():
            public_file = stored
        else:
            raise LinkError(
                f"{public_file}: no such file; copy the console's public key file here (the .key file "
                "`vr-exposure keys generate` printed on the console's machine) or give its path"
            )
    load_public_key(public_file)  # refuse anything that is not a readable key
    key_name = name or public_file.name.removesuffix(".key_secret").removesuffix(".key")
    _check_name(key_name)
    target_dir = _private_dir(allowed_dir(directory))
    _private_dir(directory or keys_dir())
    target = target_dir / f"{key_name}.key"
    shutil.copyfile(public_file, target)
    os.chmod(target, 0o600)
    if public_file.name.endswith(".key_secret"):
        # Never keep a secret on the allow-list: rewrite as a public-only certificate.
        target.unlink()
        public = load_public_key(public_file)
        _write_public_certificate(target, public)
    return target


def _write_public_certificate(path: Path, public: bytes) -> None:
    """A public-only certificate in ZeroMQ's ZPL format, as ``zmq.auth.load_certificate`` reads it."""
    text = (
        "#   ZeroMQ CURVE Public Certificate (vr-exposure allow-list)\n"
        "metadata\n"
        "curve\n"
        f'    public-key = "{public.decode("ascii")}"\n'
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text)
    os.chmod(path, 0o600)


def list_keys(directory: Path | None = None) -> list[KeyInfo]:
    d = directory or keys_dir()
    found: list[KeyInfo] = []
    for path in sorted(d.glob("*.key_secret")) if d.is_dir() else []:
        found.append(KeyInfo(path.name.removesuffix(".key_secret"), _z85(path), path, "pair"))
    a = allowed_dir(d)
    for path in sorted(a.glob("*.key")) if a.is_dir() else []:
        found.append(KeyInfo(path.name.removesuffix(".key"), _z85(path), path, "allowed"))
    return found


def _z85(path: Path) -> str:
    try:
        return load_public_key(path).decode("ascii")
    except LinkError:
        return "(unreadable)"


def server_curve(name: str = "renderer", *, directory: Path | None = None) -> ServerCurve:
    """The renderer's CURVE setup from the key store: its pair and the allow-list."""
    d = directory or keys_dir()
    return ServerCurve.from_files(d / f"{name}.key_secret", allowed_dir(d))


def client_curve(
    server_public_file: Path, name: str = "console", *, directory: Path | None = None
) -> ClientCurve:
    """The console's CURVE setup: its pair from the key store and the renderer's public key file."""
    d = directory or keys_dir()
    return ClientCurve.from_files(d / f"{name}.key_secret", server_public_file)
