"""The advisory locks (``flock``) that let processes share a session directory.

* The **session lock** (on the directory) serialises read-modify-write cycles of ``manifest.json``.
* The **writer lock** (on a journal file) is held by its :class:`~vr_exposure.journal.JournalWriter`
  for as long as the file is open: seal and recovery treat a file whose lock is taken as still being
  written, whatever its process id says (ids are reused, and the process may be on another machine
  sharing the directory).

The kernel releases both when the file descriptor is closed, so a crashed process never leaves one
behind. Where ``fcntl`` does not exist there are no locks: one writer is assumed, and a file counts
as being written only until the manifest says it was closed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from vr_exposure.errors import JournalError

try:
    import fcntl
except ImportError:  # pragma: no cover - not Linux/macOS
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def session_lock(session_dir: Path | str) -> Iterator[None]:
    """Exclusive lock on the session directory for a manifest read-modify-write."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    try:
        fd = os.open(session_dir, os.O_RDONLY)
    except OSError as exc:
        raise JournalError(f"{session_dir}: cannot open the session directory: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def hold_writer_lock(fd: int) -> None:
    """Take the writer lock on a journal file just created (``fd``); it lasts until ``fd`` is closed."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def writer_alive(path: Path | str) -> bool:
    """True while a :class:`~vr_exposure.journal.JournalWriter` (in any process) holds ``path`` open."""
    if fcntl is None:  # pragma: no cover - no locks: trust the manifest's ``closed``
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
