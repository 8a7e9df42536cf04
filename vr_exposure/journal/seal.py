"""Sealing, verifying and recovering sessions.

Sealing records, for each journal file, its SHA-256, line count and size in the manifest and marks
the session sealed; ``sha256sum`` on the files gives the same digests, so anyone can check a
session without this software. A file whose writer is still running (it holds an ``flock``) cannot
be sealed yet: :func:`seal_session` seals the others and sets ``seal_requested``, and the last
writer to close finishes the seal.

Recovery: a session whose processes died (no live writer, not sealed) is sealed as it is. Nothing
is truncated or rewritten: a torn last line stays in the file, its length is recorded as
``torn_tail_bytes`` and the file and session are marked ``recovered``. Readers drop the torn line.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import msgspec

from vr_exposure.core.clock import SYSTEM_CLOCK, Clock
from vr_exposure.errors import JournalError
from vr_exposure.journal.locks import session_lock, writer_alive
from vr_exposure.journal.manifest import (
    ClockPair,
    JournalFile,
    Manifest,
    read_manifest,
    write_manifest,
)
from vr_exposure.journal.paths import JOURNAL_SUFFIX, MANIFEST_NAME

log = logging.getLogger(__name__)

_EMPTY_SESSION_GRACE_NS = 60 * 1_000_000_000
"""A session with no journal file yet is left alone this long after creation: its creator is
probably about to open its writer."""


class FileDigest(msgspec.Struct, frozen=True):
    """SHA-256 (hex), line count (newlines), size and bytes after the last newline of one file."""

    sha256: str
    lines: int
    bytes: int
    torn_tail_bytes: int


class SealResult(msgspec.Struct, kw_only=True):
    """``sealed``: the whole session is sealed; ``pending``: files still being written (their
    writers finish the seal when they close); ``already``: it was sealed before this call."""

    session_dir: str
    sealed: bool
    pending: list[str] = msgspec.field(default_factory=list)
    already: bool = False


class VerifyResult(msgspec.Struct, kw_only=True):
    """``ok`` when the session is sealed and every file matches its recorded digest."""

    session_dir: str
    sealed: bool
    problems: list[str] = msgspec.field(default_factory=list)
    checked: list[str] = msgspec.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.sealed and not self.problems


class RecoveryReport(msgspec.Struct, kw_only=True):
    """One recovered session: which files had no clean close, and how many torn bytes each had."""

    session_dir: str
    recovered_files: list[str]
    torn_tail_bytes: dict[str, int]
    sealed: bool

    def __str__(self) -> str:
        torn = {k: v for k, v in self.torn_tail_bytes.items() if v}
        detail = f", torn tails left in place: {torn}" if torn else ""
        name = Path(self.session_dir).name
        state = "sealed" if self.sealed else "not sealed yet"
        if not self.recovered_files:
            return f"{name}: no journal file was left open; {state}"
        return f"{name}: {', '.join(self.recovered_files)} not closed cleanly{detail}; {state}"


def digest_file(path: Path | str) -> FileDigest:
    """Hash a file in 1 MiB chunks, counting newlines and the bytes after the last one."""
    sha = hashlib.sha256()
    lines = 0
    size = 0
    tail = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
            n = chunk.count(b"\n")
            if n:
                lines += n
                tail = len(chunk) - chunk.rfind(b"\n") - 1
            else:
                tail += len(chunk)
    return FileDigest(sha.hexdigest(), lines, size, tail)


def _journal_names(session_dir: Path) -> list[str]:
    return sorted(p.name for p in session_dir.glob(f"*{JOURNAL_SUFFIX}") if p.is_file())


def _seal_locked(session_dir: Path, manifest: Manifest, clock: Clock) -> SealResult:
    pending: list[str] = []
    for name in _journal_names(session_dir):
        entry = manifest.file_entry(name)
        if entry is None:
            # A file the manifest does not list (its writer died before the manifest was written).
            stem = name.removesuffix(JOURNAL_SUFFIX).split(".", 1)[0]
            entry = JournalFile(file=name, process=stem, opened=manifest.created, recovered=True)
            manifest.files.append(entry)
        if entry.sealed:
            continue
        path = session_dir / name
        if writer_alive(path):
            pending.append(name)
            continue
        digest = digest_file(path)
        entry.sha256 = digest.sha256
        entry.lines = digest.lines
        entry.bytes = digest.bytes
        entry.torn_tail_bytes = digest.torn_tail_bytes
        if entry.closed is None:  # its process died without closing the writer
            entry.recovered = True
        entry.sealed = True
    if pending:
        manifest.seal_requested = True
    else:
        manifest.sealed = True
        manifest.seal_requested = False
        manifest.sealed_at = ClockPair.now(clock)
        if any(f.recovered for f in manifest.files):
            manifest.recovered = True
    write_manifest(session_dir, manifest)
    return SealResult(session_dir=str(session_dir), sealed=manifest.sealed, pending=pending)


def seal_session(session_dir: Path | str, *, clock: Clock = SYSTEM_CLOCK) -> SealResult:
    """Seal every journal file of the session that no live writer holds; the session is sealed
    when all are (else ``seal_requested`` is set and the last writer to close seals it)."""
    session_dir = Path(session_dir)
    with session_lock(session_dir):
        manifest = read_manifest(session_dir)
        if manifest.sealed:
            return SealResult(session_dir=str(session_dir), sealed=True, already=True)
        return _seal_locked(session_dir, manifest, clock)


def verify_session(session_dir: Path | str) -> VerifyResult:
    """Re-hash every file and compare with the manifest. Never raises for a damaged session;
    every difference is a problem (``file: message``)."""
    session_dir = Path(session_dir)
    try:
        manifest = read_manifest(session_dir)
    except JournalError as exc:
        return VerifyResult(session_dir=str(session_dir), sealed=False, problems=[str(exc)])
    result = VerifyResult(session_dir=str(session_dir), sealed=manifest.sealed)
    if not manifest.sealed:
        result.problems.append(f"{MANIFEST_NAME}: the session is not sealed")
    listed = {f.file for f in manifest.files}
    for name in _journal_names(session_dir):
        if name not in listed:
            result.problems.append(f"{name}: not listed in the manifest")
    for entry in manifest.files:
        path = session_dir / entry.file
        if not entry.sealed or entry.sha256 is None:
            if manifest.sealed:
                result.problems.append(f"{entry.file}: listed but has no recorded digest")
            continue
        if not path.is_file():
            result.problems.append(f"{entry.file}: missing")
            continue
        digest = digest_file(path)
        result.checked.append(entry.file)
        if digest.sha256 != entry.sha256:
            result.problems.append(
                f"{entry.file}: SHA-256 is {digest.sha256}, the manifest says {entry.sha256}"
            )
        if digest.bytes != entry.bytes:
            result.problems.append(f"{entry.file}: {digest.bytes} bytes, the manifest says {entry.bytes}")
        if digest.lines != entry.lines:
            result.problems.append(f"{entry.file}: {digest.lines} lines, the manifest says {entry.lines}")
    return result


def recover_session(session_dir: Path | str, *, clock: Clock = SYSTEM_CLOCK) -> RecoveryReport | None:
    """Recover and seal one session if it is unsealed and none of its writers is alive; None
    when there is nothing to do (sealed, or still being written)."""
    session_dir = Path(session_dir)
    with session_lock(session_dir):
        manifest = read_manifest(session_dir)
        if manifest.sealed:
            return None
        names = _journal_names(session_dir)
        if any(writer_alive(session_dir / n) for n in names):
            return None
        if not names and clock.utc_ns() - manifest.created.utc_ns < _EMPTY_SESSION_GRACE_NS:
            return None
        result = _seal_locked(session_dir, manifest, clock)
        recovered = [f.file for f in manifest.files if f.recovered]
        return RecoveryReport(
            session_dir=str(session_dir),
            recovered_files=recovered,
            torn_tail_bytes={f.file: f.torn_tail_bytes for f in manifest.files},
            sealed=result.sealed,
        )


def recover_unsealed(root: Path | str, *, clock: Clock = SYSTEM_CLOCK) -> list[RecoveryReport]:
    """Recover and seal every unsealed session under ``root`` whose processes are gone. A session
    that cannot be read is logged and skipped; this never raises for one bad session."""
    root = Path(root)
    if not root.is_dir():
        return []
    reports: list[RecoveryReport] = []
    for session_dir in sorted(root.iterdir()):
        if not (session_dir / MANIFEST_NAME).is_file():
            continue
        try:
            report = recover_session(session_dir, clock=clock)
        except (JournalError, OSError) as exc:
            log.error("journal: cannot recover %s: %s", session_dir, exc)
            continue
        if report is not None:
            reports.append(report)
    return reports
