"""A patient's course of treatment as the journal holds it: the sessions of one pseudonym under one
sessions root, oldest first, and where the last of them ended.

A course is not a file of its own: it is the session directories whose manifests carry the same
pseudonym, in the order they were created. :func:`course_sessions` lists them, :func:`course_position`
says which one of them a session is ("session 3 of 5"), and :func:`last_session_end` reads the newest
one's console journal for the rung the session was on when it ended and the patient's ladder as it
left it, so a console can open a returning patient there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from vr_exposure.errors import JournalError
from vr_exposure.journal.manifest import Manifest, read_manifest
from vr_exposure.journal.reader import JournalRecord, read_journal_file
from vr_exposure.journal.session import list_sessions


class SessionEnd(msgspec.Struct, frozen=True, kw_only=True):
    """Where a session ended: the rung selected last (an index into the ladder it ran on, with that
    rung's preset, title and expected SUDS as journaled), and its last SUDS rating on that rung."""

    session_dir: str
    session_id: str
    protocol: str | None
    rung: int | None
    preset: str | None
    title: str | None
    expected_suds: float | None
    last_suds: float | None
    ended: bool
    """A ``session_ended`` record is there (False: the console stopped before it ended the session)."""
    ran_on: list[Any] | None = None
    """The patient ladder the session ran on (its ``patient_ladder`` record, as journaled), None: the
    protocol's own."""
    ladder: list[Any] | None = None
    """The patient's ladder as the session left it (after any ``patient_ladder_changed``), None: the
    protocol's own."""


def _manifests(root: Path | str) -> list[tuple[Path, Manifest]]:
    out: list[tuple[Path, Manifest]] = []
    for session_dir in list_sessions(root):
        try:
            out.append((session_dir, read_manifest(session_dir)))
        except JournalError:
            continue  # an unreadable manifest is no session of anyone's course
    return out


def course_sessions(root: Path | str, pseudonym: str, *, protocol: str | None = None) -> list[Path]:
    """The session directories of ``pseudonym`` under ``root`` (of ``protocol`` only, if given),
    oldest first by the manifest's creation time."""
    found = [
        (m.created.utc_ns, d.name, d)
        for d, m in _manifests(root)
        if m.pseudonym == pseudonym and (protocol is None or m.protocol == protocol)
    ]
    return [d for _, _, d in sorted(found)]


def course_position(session_dir: Path | str) -> tuple[int, int]:
    """``(n, total)``: the session is the ``n``-th (from 1) of ``total`` sessions of its pseudonym in
    the sessions root that holds it."""
    session_dir = Path(session_dir)
    manifest = read_manifest(session_dir)
    sessions = course_sessions(session_dir.parent, manifest.pseudonym)
    resolved = [p.resolve() for p in sessions]
    here = session_dir.resolve()
    if here not in resolved:  # pragma: no cover - the manifest was readable a moment ago
        return 1, 1
    return resolved.index(here) + 1, len(sessions)


def session_end(session_dir: Path | str) -> SessionEnd:
    """Where one session ended, from its console journal (the rung is the console's: the authority
    on the session)."""
    session_dir = Path(session_dir)
    manifest = read_manifest(session_dir)
    records = _console_records(session_dir)
    rung: dict[str, Any] | None = None
    last_suds: float | None = None
    ended = False
    ran_on: list[Any] | None = None
    ladder: list[Any] | None = None
    for record in records:
        if not isinstance(record.content, dict):
            continue
        c = record.content
        if record.msg_type == "rung_changed" and isinstance(c.get("rung"), int):
            rung = c
            last_suds = None
        elif record.msg_type == "suds_recorded" and isinstance(c.get("rating"), dict):
            value = c["rating"].get("value")
            if isinstance(value, int | float) and c["rating"].get("during_exposure", True):
                last_suds = float(value)
        elif record.msg_type == "session_ended":
            ended = True
        elif record.msg_type in ("patient_ladder", "patient_ladder_changed") and isinstance(
            c.get("ladder"), list
        ):
            ladder = c["ladder"]
            if record.msg_type == "patient_ladder":
                ran_on = ladder
    expected = None if rung is None else rung.get("expected_suds")
    return SessionEnd(
        session_dir=str(session_dir),
        session_id=manifest.session_id,
        protocol=manifest.protocol,
        rung=None if rung is None else int(rung["rung"]),
        preset=None if rung is None else str(rung.get("preset") or "") or None,
        title=None if rung is None else str(rung.get("title") or "") or None,
        expected_suds=float(expected) if isinstance(expected, int | float) else None,
        last_suds=last_suds,
        ended=ended,
        ran_on=ran_on,
        ladder=ladder,
    )


def _console_records(session_dir: Path) -> list[JournalRecord]:
    """The console's journal only: the authority on the session, and small (no head pose)."""
    path = session_dir / "console.jsonl"
    return read_journal_file(path) if path.is_file() else []


class CourseEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One session of a course as its console summed it up (``session_summary``)."""

    session_id: str
    created_utc_ns: int
    peak: float | None
    end: float | None
    ratings: int | None
    rung: int | None
    title: str | None


def course_trend(root: Path | str, pseudonym: str, *, protocol: str | None = None) -> list[CourseEntry]:
    """Peak and end SUDS of the exposure and the last rung of each of ``pseudonym``'s sessions under
    ``root``, oldest first (None where a session has no summary: it never ended)."""
    out: list[CourseEntry] = []
    for session_dir in course_sessions(root, pseudonym, protocol=protocol):
        try:
            manifest = read_manifest(session_dir)
            end = session_end(session_dir)
            records = _console_records(session_dir)
        except JournalError:
            continue
        summary = next(
            (
                r.content
                for r in reversed(records)
                if r.msg_type == "session_summary" and isinstance(r.content, dict)
            ),
            {},
        )
        whole = (summary.get("metrics") or {}).get("session") or {}
        out.append(
            CourseEntry(
                session_id=manifest.session_id,
                created_utc_ns=manifest.created.utc_ns,
                peak=whole.get("peak"),
                end=whole.get("end"),
                ratings=whole.get("n_ratings"),
                rung=end.rung,
                title=end.title,
            )
        )
    return out


def last_session_end(root: Path | str, pseudonym: str, *, protocol: str | None = None) -> SessionEnd | None:
    """Where the newest session of ``pseudonym`` (with ``protocol``, if given) that reached a rung
    ended; None for a new patient."""
    for session_dir in reversed(course_sessions(root, pseudonym, protocol=protocol)):
        try:
            end = session_end(session_dir)
        except JournalError:
            continue
        if end.rung is not None:
            return end
    return None


__all__ = [
    "CourseEntry",
    "SessionEnd",
    "course_position",
    "course_sessions",
    "course_trend",
    "last_session_end",
    "session_end",
]
