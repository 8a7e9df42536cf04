"""The session journal: crash-safe, append-only records of what each process did and saw.

One directory per session (``manifest.json`` plus one ``<process>.jsonl`` per process); clinical
records are fsynced before the call returns, telemetry is batched off the caller's thread; the
reader merges the files on one timeline and reports torn lines and gaps; sealing records SHA-256
digests. ``docs/journal.md`` specifies the format.
"""

from __future__ import annotations

from vr_exposure.journal.manifest import (
    FORMAT,
    FORMAT_VERSION,
    ClockPair,
    JournalFile,
    Manifest,
    read_manifest,
    write_manifest,
)
from vr_exposure.journal.paths import check_pseudonym, sessions_root
from vr_exposure.journal.reader import (
    FileSummary,
    JournalRecord,
    JournalWarning,
    RecordHeader,
    SessionLog,
    read_journal_file,
    read_session,
)
from vr_exposure.journal.seal import (
    RecoveryReport,
    SealResult,
    VerifyResult,
    recover_session,
    recover_unsealed,
    seal_session,
    verify_session,
)
from vr_exposure.journal.session import create_session, find_session, list_sessions, open_session_dir
from vr_exposure.journal.writer import JournalWriter

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ClockPair",
    "FileSummary",
    "JournalFile",
    "JournalRecord",
    "JournalWarning",
    "JournalWriter",
    "Manifest",
    "RecordHeader",
    "RecoveryReport",
    "SealResult",
    "SessionLog",
    "VerifyResult",
    "check_pseudonym",
    "create_session",
    "find_session",
    "list_sessions",
    "open_session_dir",
    "read_journal_file",
    "read_manifest",
    "read_session",
    "recover_session",
    "recover_unsealed",
    "seal_session",
    "sessions_root",
    "verify_session",
    "write_manifest",
]
