"""Where session journals live and how their directories and files are named.

A session directory is ``<root>/<session_id>/``; ``session_id`` is the UTC start, the patient's
pseudonym and four random hex digits (``20261124T085300Z-P042-3fa2``), so directories sort by time
and two sessions started in the same second never collide. Only a pseudonym is ever stored: it is
part of the directory name, so it is checked to be a short code, not a name.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from vr_exposure.errors import JournalError

SESSIONS_ENV = "VR_EXPOSURE_SESSIONS"
"""Environment variable that overrides the sessions root."""

MANIFEST_NAME = "manifest.json"
JOURNAL_SUFFIX = ".jsonl"

_PSEUDONYM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_PROCESS_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def sessions_root() -> Path:
    """``$VR_EXPOSURE_SESSIONS`` if set, else the platform's user data dir + ``/sessions``."""
    env = os.environ.get(SESSIONS_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("vr-exposure")) / "sessions"


def check_pseudonym(pseudonym: str) -> str:
    """Return ``pseudonym`` if it looks like a pseudonym (1-32 letters, digits, ``-``, ``_``,
    starting with a letter or digit); raise :class:`JournalError` otherwise. Spaces, dots and
    ``@`` are refused because they are how names and e-mail addresses look."""
    if not isinstance(pseudonym, str) or not _PSEUDONYM_RE.fullmatch(pseudonym):
        raise JournalError(
            f"pseudonym {pseudonym!r} is not a pseudonym: use 1-32 letters, digits, '-' or '_' "
            "(for example P042); names and e-mail addresses are never stored"
        )
    return pseudonym


def check_process(process: str) -> str:
    """A process name is a lower-case word (``renderer``, ``console``); it names a file."""
    if not isinstance(process, str) or not _PROCESS_RE.fullmatch(process):
        raise JournalError(
            f"process name {process!r} must be 1-32 of a-z, 0-9, '-', '_', starting with a letter"
        )
    return process


def new_session_id(pseudonym: str, utc_ns: int) -> str:
    """``YYYYMMDDTHHMMSSZ-<pseudonym>-<4 hex>`` for a session starting at ``utc_ns``."""
    check_pseudonym(pseudonym)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(utc_ns // 1_000_000_000))
    return f"{stamp}-{pseudonym}-{secrets.token_hex(2)}"


def journal_file_name(process: str, part: int = 1) -> str:
    """``renderer.jsonl`` for a process's first file; ``renderer.2.jsonl`` if it restarts within
    the same session (a file is never reopened for writing)."""
    return f"{process}{JOURNAL_SUFFIX}" if part == 1 else f"{process}.{part}{JOURNAL_SUFFIX}"


def utc_iso(utc_ns: int) -> str:
    """``2026-11-24T08:53:00.123456Z``: for people reading a manifest; the integer is authoritative."""
    seconds, rest_ns = divmod(utc_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest_ns // 1000:06d}Z"


def clock_domain() -> str | None:
    """An id of this machine's monotonic clock: Linux's boot id, which changes when the clock
    restarts. Two files with the same id share one monotonic clock; None where unknown."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip() or None
    except OSError:
        return None
