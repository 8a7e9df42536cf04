"""``vr-exposure journal``: inspect, verify, seal and recover session journals.

    vr-exposure journal list [--root DIR]
    vr-exposure journal show SESSION [--type MSG_TYPE] [--records N] [--json]
    vr-exposure journal verify SESSION...
    vr-exposure journal seal SESSION...
    vr-exposure journal recover [SESSION...] [--root DIR]

SESSION is a session directory or a session id under the sessions root (``$VR_EXPOSURE_SESSIONS``
or the user data directory). ``verify`` exits 1 when any session is unsealed or does not match its
manifest; ``show`` exits 1 when the reader found damage (torn lines, gaps). ``recover`` recovers the
sessions named, or without any every unsealed session under the root.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from vr_exposure.errors import JournalError
from vr_exposure.journal.manifest import read_manifest
from vr_exposure.journal.paths import sessions_root
from vr_exposure.journal.reader import SessionLog, read_session
from vr_exposure.journal.seal import recover_session, recover_unsealed, seal_session, verify_session
from vr_exposure.journal.session import find_session, list_sessions


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="journal_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="list the sessions under the sessions root")
    p.add_argument("--root", type=Path, default=None, help="sessions root (default: the configured one)")
    p = sub.add_parser("show", help="summarise one session (manifest, files, record counts, warnings)")
    p.add_argument("session", help="session directory or session id")
    p.add_argument("--type", dest="msg_type", default=None, help="print the records of this msg_type")
    p.add_argument("--records", type=int, default=0, help="print the first N records (of --type, if given)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p = sub.add_parser("verify", help="re-hash the files of sealed sessions and compare with the manifest")
    p.add_argument("sessions", nargs="+", help="session directories or ids")
    p = sub.add_parser("seal", help="seal sessions (record SHA-256 digests in the manifest)")
    p.add_argument("sessions", nargs="+", help="session directories or ids")
    p = sub.add_parser("recover", help="recover and seal sessions left unsealed by a crash")
    p.add_argument(
        "sessions", nargs="*", help="session directories or ids (default: every unsealed one under --root)"
    )
    p.add_argument("--root", type=Path, default=None, help="sessions root (default: the configured one)")


def _summary(log: SessionLog) -> dict[str, Any]:
    manifest = msgspec.to_builtins(log.manifest) if log.manifest is not None else None
    return {
        "session_dir": str(log.session_dir),
        "manifest": manifest,
        "records": len(log.records),
        "duration_s": round(log.duration_s, 3),
        "msg_types": log.msg_types,
        "files": msgspec.to_builtins(log.files),
        "offsets_ns": log.offsets_ns,
        "warnings": [str(w) for w in log.warnings],
    }


def _show(args: argparse.Namespace) -> int:
    log = read_session(find_session(args.session))
    records = log.by_type(args.msg_type) if args.msg_type else log.records
    shown = records[: args.records] if args.records > 0 else []
    if args.json:
        out = _summary(log)
        if shown:
            out["shown"] = [r.to_dict() for r in shown]
        print(json.dumps(out, indent=2))
        return 1 if log.warnings else 0
    m = log.manifest
    print(f"session {log.session_id}  ({log.session_dir})")
    if m is not None:
        print(f"  pseudonym {m.pseudonym}  protocol {m.protocol or '-'}  scene {m.scene or '-'}")
        print(f"  created {m.created.utc}  software {m.software_version}  format {m.format_version}")
        state = "sealed" if m.sealed else ("seal requested" if m.seal_requested else "not sealed")
        print(f"  {state}{', recovered after a crash' if m.recovered else ''}")
    print(f"  {len(log.records)} records over {log.duration_s:.1f} s")
    for f in log.files:
        extra = f", clock mapped (+{log.offsets_ns.get(f.process, 0)} ns)" if f.offset_applied else ""
        print(f"  {f.file}: {f.records} records, {f.lines} lines{extra}")
    for msg_type, count in log.msg_types.items():
        print(f"    {msg_type:<28} {count}")
    for w in log.warnings:
        print(f"  warning: {w}")
    t0 = log.start_ns or 0
    for r in shown:
        content = json.dumps(r.content, separators=(",", ":"))
        print(f"  {(r.t_ns - t0) / 1e9:10.3f}s {r.process:<9} {r.kind:<9} #{r.seq:<6} {r.msg_type} {content}")
    return 1 if log.warnings else 0


def _verify(args: argparse.Namespace) -> int:
    status = 0
    for name in args.sessions:
        result = verify_session(find_session(name))
        if result.ok:
            print(f"{result.session_dir}: OK ({len(result.checked)} files)")
        else:
            status = 1
            for problem in result.problems:
                print(f"{result.session_dir}: {problem}")
    return status


def _seal(args: argparse.Namespace) -> int:
    status = 0
    for name in args.sessions:
        result = seal_session(find_session(name))
        if result.already:
            print(f"{result.session_dir}: already sealed")
        elif result.sealed:
            print(f"{result.session_dir}: sealed")
        else:
            status = 1
            pending = ", ".join(result.pending)
            print(f"{result.session_dir}: still being written ({pending}); sealed when its writer closes")
    return status


def _recover_named(args: argparse.Namespace) -> int:
    for name in args.sessions:
        session_dir = find_session(name)
        report = recover_session(session_dir)
        if report is not None:
            print(f"recovered {report}")
        elif read_manifest(session_dir).sealed:
            print(f"{session_dir.name}: sealed already, nothing to recover")
        else:
            print(f"{session_dir.name}: still being written (a writer is alive); not recovered")
    return 0


def run(args: argparse.Namespace) -> int:
    command = args.journal_command
    if command == "show":
        return _show(args)
    if command == "verify":
        return _verify(args)
    if command == "seal":
        return _seal(args)
    if command == "recover" and args.sessions:
        return _recover_named(args)
    root = args.root if args.root is not None else sessions_root()
    if command == "recover":
        reports = recover_unsealed(root)
        for report in reports:
            print(f"recovered {report}")
        if not reports:
            print(f"{root}: nothing to recover")
        return 0
    # list
    for session_dir in list_sessions(root):
        try:
            m = read_manifest(session_dir)
            state = "sealed" if m.sealed else "open"
            print(f"{session_dir.name}  {m.pseudonym:<10} {m.protocol or m.scene or '-':<20} {state}")
        except JournalError as exc:
            print(f"{session_dir.name}  unreadable: {exc}", file=sys.stderr)
    return 0
