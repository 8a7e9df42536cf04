"""The session manifest (``manifest.json``): what the session is and which journal files it holds.

The manifest is the only file that is ever replaced, and always atomically: the new version is
written to a temporary file in the same directory, fsynced, renamed over the old one, and the
directory is fsynced, so a crash leaves either the old or the new manifest, never a mix. Processes
that share a session directory (console and renderer) update it under an exclusive ``flock`` on the
directory, so their read-modify-write cycles never interleave.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import msgspec

from vr_exposure.core.clock import Clock
from vr_exposure.errors import JournalError
from vr_exposure.journal.locks import session_lock
from vr_exposure.journal.paths import MANIFEST_NAME, utc_iso

FORMAT = "vr-exposure-journal"
FORMAT_VERSION = 1


class ClockPair(msgspec.Struct, kw_only=True, frozen=True):
    """One reading of both clocks, taken together: ``mono_ns`` (monotonic) and ``utc_ns`` (wall
    clock, ns since the Unix epoch); ``utc`` is the same instant as ISO 8601 text for people."""

    mono_ns: int
    utc_ns: int
    utc: str = ""

    @classmethod
    def now(cls, clock: Clock) -> ClockPair:
        mono_ns = clock.monotonic_ns()
        utc_ns = clock.utc_ns()
        return cls(mono_ns=mono_ns, utc_ns=utc_ns, utc=utc_iso(utc_ns))


class JournalFile(msgspec.Struct, kw_only=True):
    """One process's journal file. ``sha256``, ``lines`` and ``bytes`` are set when it is sealed;
    ``torn_tail_bytes`` counts bytes after the last newline (an interrupted write, left in place)."""

    file: str
    process: str
    pid: int = 0
    clock_domain: str | None = None
    opened: ClockPair
    closed: ClockPair | None = None
    telemetry_dropped: int = 0
    sealed: bool = False
    sha256: str | None = None
    lines: int | None = None
    bytes: int | None = None
    torn_tail_bytes: int = 0
    recovered: bool = False
    fetched_from: str | None = None
    """Set on a file copied from another machine (``renderer``): it was verified against that
    machine's own seal (``sha256``) before it was added here."""


class Manifest(msgspec.Struct, kw_only=True):
    """The whole ``manifest.json``. Unknown fields are ignored when read (newer minor versions)."""

    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    session_id: str
    pseudonym: str
    protocol: str | None = None
    scene: str | None = None
    software_version: str
    created: ClockPair
    files: list[JournalFile] = msgspec.field(default_factory=list)
    seal_requested: bool = False
    sealed: bool = False
    sealed_at: ClockPair | None = None
    recovered: bool = False
    awaiting: list[str] = msgspec.field(default_factory=list)
    """Processes that journal this session on another machine and whose files are still to be
    fetched into this directory (e.g. ``["renderer"]``); empty when the session is complete."""
    remote_copy_of: str | None = None
    """On the machine of a process that journals remotely: the role of the session's owner
    (``console``), whose directory is the complete one."""
    released_at: ClockPair | None = None
    """On such a remote copy: when the owner confirmed it holds a verified copy of every file."""

    def file_entry(self, name: str) -> JournalFile | None:
        return next((f for f in self.files if f.file == name), None)


_decoder = msgspec.json.Decoder(Manifest)
_encoder = msgspec.json.Encoder()


def manifest_path(session_dir: Path | str) -> Path:
    return Path(session_dir) / MANIFEST_NAME


def read_manifest(session_dir: Path | str) -> Manifest:
    """Read and validate ``manifest.json``; a clear :class:`JournalError` names the file otherwise."""
    path = manifest_path(session_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise JournalError(f"{path}: no manifest here; is this a session directory?") from None
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the manifest: {exc.strerror}") from None
    try:
        manifest = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise JournalError(f"{path}: invalid manifest: {exc}") from None
    if manifest.format != FORMAT:
        raise JournalError(f"{path}: format is {manifest.format!r}, not {FORMAT!r}")
    if manifest.format_version > FORMAT_VERSION:
        raise JournalError(
            f"{path}: journal format version {manifest.format_version} is newer than this software reads "
            f"(it reads {FORMAT_VERSION}); update vr-exposure"
        )
    return manifest


def fsync_dir(directory: Path | str) -> None:
    """Make a rename or a new file in ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def write_manifest(session_dir: Path | str, manifest: Manifest) -> None:
    """Replace ``manifest.json`` atomically: temp file in the same dir, fsync, rename, fsync dir."""
    session_dir = Path(session_dir)
    final = manifest_path(session_dir)
    tmp = session_dir / f".{MANIFEST_NAME}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    data = msgspec.json.format(_encoder.encode(manifest), indent=2) + b"\n"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise JournalError(f"{final}: cannot write the manifest: {exc.strerror or exc}") from None
    fsync_dir(session_dir)


@contextlib.contextmanager
def updating_manifest(session_dir: Path | str) -> Iterator[Manifest]:
    """``with updating_manifest(d) as m: m.x = ...``: read under the lock, write back atomically
    when the block ends without an exception."""
    with session_lock(session_dir):
        manifest = read_manifest(session_dir)
        yield manifest
        write_manifest(session_dir, manifest)
