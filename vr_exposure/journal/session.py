"""Creating and finding session directories.

A process that starts a new session calls :func:`create_session`, which first recovers and seals
any session under the same root whose processes died without sealing it (:func:`recover_unsealed`),
then creates ``<root>/<session_id>/`` (mode 0700) with its manifest. A process that joins a session
another one created (the renderer, told the directory over the link) calls :func:`open_session_dir`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from vr_exposure.core.clock import SYSTEM_CLOCK, Clock
from vr_exposure.errors import JournalError
from vr_exposure.journal.manifest import ClockPair, Manifest, manifest_path, read_manifest, write_manifest
from vr_exposure.journal.paths import MANIFEST_NAME, check_pseudonym, new_session_id

log = logging.getLogger(__name__)


def create_session(
    root: Path | str,
    *,
    pseudonym: str,
    protocol: str | None = None,
    scene: str | None = None,
    software_version: str,
    clock: Clock = SYSTEM_CLOCK,
    recover: bool = True,
) -> Path:
    """Create a new session directory under ``root`` with its manifest; return its path.

    ``pseudonym`` must be a pseudonym (see :func:`check_pseudonym`), never a name. With ``recover``
    (the default) unsealed sessions left under ``root`` by a crash are recovered and sealed first;
    a session that cannot be recovered is logged and left alone, it never stops a new session.
    """
    check_pseudonym(pseudonym)
    root = Path(root)
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise JournalError(f"{root}: cannot create the sessions directory: {exc.strerror}") from None
    if recover:
        from vr_exposure.journal.seal import recover_unsealed

        try:
            for report in recover_unsealed(root, clock=clock):
                log.warning("journal: recovered %s", report)
        except JournalError as exc:  # pragma: no cover - recover_unsealed already isolates sessions
            log.error("journal: recovery under %s failed: %s", root, exc)
    created = ClockPair.now(clock)
    for _attempt in range(16):
        session_id = new_session_id(pseudonym, created.utc_ns)
        session_dir = root / session_id
        try:
            os.mkdir(session_dir, 0o700)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise JournalError(f"{session_dir}: cannot create it: {exc.strerror}") from None
    else:  # pragma: no cover - 16 collisions of 4 random hex digits in one second
        raise JournalError(f"{root}: could not find a free session id")
    manifest = Manifest(
        session_id=session_id,
        pseudonym=pseudonym,
        protocol=protocol,
        scene=scene,
        software_version=software_version,
        created=created,
    )
    write_manifest(session_dir, manifest)
    return session_dir


def open_session_dir(path: Path | str) -> Path:
    """Check that ``path`` is an open (not sealed) session directory a process may journal into."""
    path = Path(path)
    if not path.is_dir():
        raise JournalError(f"{path}: no such session directory")
    manifest = read_manifest(path)
    if manifest.sealed:
        raise JournalError(f"{path}: the session is sealed; start a new session to journal more")
    return path


def find_session(name: str | os.PathLike[str]) -> Path:
    """A session directory from what a user typed: its path, the path of its ``manifest.json``,
    or a session id under the sessions root."""
    from vr_exposure.journal.paths import sessions_root

    path = Path(name)
    if path.name == MANIFEST_NAME and path.is_file():
        return path.parent
    if path.is_dir():
        return path
    root = sessions_root()
    if not path.is_absolute() and len(path.parts) == 1 and (root / path).is_dir():
        return root / path
    raise JournalError(
        f"{name}: no such session directory (not a session directory path, nor a session id under {root})"
    )


def list_sessions(root: Path | str | None = None) -> list[Path]:
    """Session directories (those with a manifest) under ``root``, oldest first."""
    if root is None:
        from vr_exposure.journal.paths import sessions_root

        root = sessions_root()
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / MANIFEST_NAME).is_file())


__all__ = ["create_session", "find_session", "list_sessions", "manifest_path", "open_session_dir"]
