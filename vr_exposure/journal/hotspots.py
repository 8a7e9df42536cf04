"""Where a patient's hotspots are kept: with the patient's sessions, under the sessions root.

``<sessions root>/patients/<pseudonym>/hotspots/<protocol id>.yaml`` (directories 0700, the file 0600,
like the session journals): one file per patient and prolonged-exposure protocol, the format of
:mod:`vr_exposure.core.hotspots`. Only the pseudonym names the patient. The file is replaced
atomically (written beside it, fsynced, renamed over it), so a crash leaves the old list or the new
one, never a mix; a session records the list it ran on in its own journal (``hotspot_plan``), so what
a past session did never depends on today's file.

The session directories beside ``patients/`` are unaffected: a directory without a manifest is no
session to the journal's tools.
"""

from __future__ import annotations

import os
from pathlib import Path

from vr_exposure.core.hotspots import HotspotFile, dump_hotspots, load_hotspots
from vr_exposure.core.specs import SceneSpec
from vr_exposure.journal.paths import check_pseudonym

__all__ = ["PATIENTS_DIR", "hotspots_path", "read_hotspots", "save_hotspots"]

PATIENTS_DIR = "patients"


def hotspots_path(root: Path | str, pseudonym: str, protocol_id: str) -> Path:
    """The hotspot file of ``pseudonym`` for ``protocol_id`` under the sessions root ``root``."""
    check_pseudonym(pseudonym)
    if not protocol_id or "/" in protocol_id or protocol_id.startswith("."):
        raise ValueError(f"protocol id {protocol_id!r} cannot name a file")
    return Path(root) / PATIENTS_DIR / pseudonym / "hotspots" / f"{protocol_id}.yaml"


def read_hotspots(
    root: Path | str, pseudonym: str, protocol_id: str, scene: SceneSpec | None
) -> HotspotFile | None:
    """The patient's hotspots for the protocol, checked against ``scene``; None if there is no file
    yet. A file with problems raises :class:`~vr_exposure.errors.SpecError` naming file, line and field."""
    path = hotspots_path(root, pseudonym, protocol_id)
    if not path.is_file():
        return None
    return load_hotspots(path, scene, protocol_id=protocol_id)


def save_hotspots(root: Path | str, pseudonym: str, hotspots: HotspotFile) -> Path:
    """Write the patient's hotspot file atomically; returns its path."""
    path = hotspots_path(root, pseudonym, hotspots.protocol)
    for d in (Path(root) / PATIENTS_DIR, path.parent.parent, path.parent):
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = dump_hotspots(hotspots, pseudonym=pseudonym).encode("utf-8")
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path
