"""Journals of a session kept on two machines (no shared disk): the remote side's directory, and the
verified hand-over of its files into the owner's session directory.

The console owns a session directory (its journal, the manifest). A renderer on another machine
journals the same session into a directory of its own, same session id and layout
(:func:`adopt_session`), marked ``remote_copy_of: "console"``. At the session's end, or after a crash
on the next connect, the console fetches the renderer's files over the link in chunks
(:func:`read_chunk` on the renderer's side), writes them to ``<name>.part`` in its own directory
(appending, so a transfer that broke off resumes where it stopped), and :func:`import_file` adds a
file only once its SHA-256 equals the digest in the renderer's seal. Then the renderer's copy is
marked released (:func:`mark_released`); it is never deleted by the software.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from vr_exposure.core.clock import SYSTEM_CLOCK, Clock
from vr_exposure.errors import JournalError
from vr_exposure.journal.locks import session_lock
from vr_exposure.journal.manifest import (
    ClockPair,
    JournalFile,
    Manifest,
    fsync_dir,
    read_manifest,
    updating_manifest,
    write_manifest,
)
from vr_exposure.journal.paths import JOURNAL_SUFFIX, check_pseudonym
from vr_exposure.journal.seal import FileDigest, digest_file

MAX_CHUNK_BYTES = 256 * 1024
"""The largest chunk one fetch request asks for (base64 in JSON makes it ~350 kB on the wire)."""

_SESSION_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_FILE_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}(\.[0-9]+)?" + re.escape(JOURNAL_SUFFIX))


def check_session_id(session_id: str) -> str:
    """A session id that is one safe directory name (no separators, no ``..``)."""
    if not _SESSION_ID_RE.fullmatch(session_id) or ".." in session_id:
        raise JournalError(f"session id {session_id!r} is not a valid session directory name")
    return session_id


def check_file_name(name: str) -> str:
    """A journal file name of a session directory (``renderer.jsonl``, ``renderer.2.jsonl``)."""
    if not _FILE_RE.fullmatch(name):
        raise JournalError(f"{name!r} is not a journal file name")
    return name


def adopt_session(
    root: Path | str,
    session_id: str,
    *,
    pseudonym: str,
    owner: str = "console",
    software_version: str,
    clock: Clock = SYSTEM_CLOCK,
) -> Path:
    """The local directory for a session owned by another machine: ``<root>/<session_id>``, created
    with its manifest if it is not there yet (a process restarting within the session finds it)."""
    check_session_id(session_id)
    root = Path(root)
    session_dir = root / session_id
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.mkdir(session_dir, 0o700)
    except FileExistsError:
        manifest = read_manifest(session_dir)
        if manifest.session_id != session_id:
            raise JournalError(f"{session_dir}: holds session {manifest.session_id!r}") from None
        return session_dir
    except OSError as exc:
        raise JournalError(f"{session_dir}: cannot create it: {exc.strerror}") from None
    if pseudonym:
        check_pseudonym(pseudonym)
    manifest = Manifest(
        session_id=session_id,
        pseudonym=pseudonym or "unknown",
        software_version=software_version,
        created=ClockPair.now(clock),
        remote_copy_of=owner,
    )
    write_manifest(session_dir, manifest)
    fsync_dir(root)
    return session_dir


def read_chunk(session_dir: Path | str, name: str, offset: int, length: int) -> tuple[bytes, int]:
    """``length`` bytes (at most :data:`MAX_CHUNK_BYTES`) of journal file ``name`` from ``offset``,
    and the file's size. Only files the manifest lists can be read."""
    session_dir = Path(session_dir)
    check_file_name(name)
    if read_manifest(session_dir).file_entry(name) is None:
        raise JournalError(f"{session_dir.name}: no journal file {name!r} in this session")
    if offset < 0 or length < 0:
        raise JournalError("offset and length must not be negative")
    length = min(length, MAX_CHUNK_BYTES)
    try:
        with open(session_dir / name, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(offset)
            return f.read(length), size
    except OSError as exc:
        raise JournalError(f"{session_dir / name}: cannot read it: {exc.strerror}") from None


def part_path(session_dir: Path | str, name: str) -> Path:
    """Where a file being fetched grows until it is verified: ``.<name>.part``."""
    return Path(session_dir) / f".{check_file_name(name)}.part"


def append_part(session_dir: Path | str, name: str, offset: int, data: bytes) -> int:
    """Append a fetched chunk at ``offset`` to the file's ``.part``; returns the new size. A chunk
    for an offset other than the part's size (a duplicate after a retry) changes nothing."""
    path = part_path(session_dir, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        size = os.fstat(fd).st_size
        if offset != size:
            return size
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        return size + len(data)
    finally:
        os.close(fd)


def import_file(
    session_dir: Path | str, name: str, expected_sha256: str, *, source: str, clock: Clock = SYSTEM_CLOCK
) -> FileDigest:
    """Verify the fetched ``.part`` of ``name`` against the remote seal and add it to the session:
    renamed into place (never over an existing file), fsynced, listed in the manifest as sealed with
    its digest and ``fetched_from``. A mismatch removes the part (the next fetch starts over) and
    raises :class:`JournalError`."""
    session_dir = Path(session_dir)
    part = part_path(session_dir, name)
    digest = digest_file(part)
    if digest.sha256 != expected_sha256:
        part.unlink(missing_ok=True)
        raise JournalError(
            f"{session_dir.name}/{name}: the fetched copy's SHA-256 {digest.sha256[:12]}... differs from "
            f"the {source}'s seal {expected_sha256[:12]}...; it was discarded and will be fetched again"
        )
    with session_lock(session_dir):
        manifest = read_manifest(session_dir)
        final = session_dir / name
        if final.exists():
            raise JournalError(f"{final}: already exists; the fetched copy was not put over it")
        fd = os.open(part, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(part, final)
        fsync_dir(session_dir)
        process = name.removesuffix(JOURNAL_SUFFIX).split(".", 1)[0]
        manifest.files.append(
            JournalFile(
                file=name,
                process=process,
                opened=ClockPair.now(clock),
                sealed=True,
                sha256=digest.sha256,
                lines=digest.lines,
                bytes=digest.bytes,
                torn_tail_bytes=digest.torn_tail_bytes,
                fetched_from=source,
            )
        )
        write_manifest(session_dir, manifest)
    return digest


def set_awaiting(session_dir: Path | str, process: str, awaiting: bool) -> None:
    """Record (or clear) that ``process`` journals this session on another machine."""
    with updating_manifest(session_dir) as manifest:
        names = [p for p in manifest.awaiting if p != process]
        manifest.awaiting = [*names, process] if awaiting else names


def mark_released(session_dir: Path | str, *, clock: Clock = SYSTEM_CLOCK) -> None:
    """On the remote copy: the owner confirmed a verified copy of every file."""
    with updating_manifest(session_dir) as manifest:
        manifest.released_at = ClockPair.now(clock)


__all__ = [
    "MAX_CHUNK_BYTES",
    "adopt_session",
    "append_part",
    "check_file_name",
    "check_session_id",
    "import_file",
    "mark_released",
    "part_path",
    "read_chunk",
    "set_awaiting",
]
