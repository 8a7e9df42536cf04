"""``vr-exposure hotspots``: list and check the patients' hotspot files under the sessions root.

``list [PSEUDONYM [PROTOCOL]]`` prints each patient's hotspots (name, state, triggers) in the order of
the account; ``check [PSEUDONYM [PROTOCOL]]`` checks every file against its protocol's scene and
prints each problem as ``file:line: field: message`` (exit status 1 on any error).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vr_exposure.core.hotspots import check_hotspot_file, load_hotspots
from vr_exposure.core.loading import load_library
from vr_exposure.journal.hotspots import PATIENTS_DIR
from vr_exposure.journal.paths import sessions_root


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "check"), help="list the hotspots, or check the files")
    parser.add_argument("pseudonym", nargs="?", help="only this patient")
    parser.add_argument("protocol", nargs="?", help="only this prolonged-exposure protocol")
    parser.add_argument(
        "--sessions", type=Path, default=None, help="the sessions root (default as the console)"
    )


def _files(root: Path, pseudonym: str | None, protocol: str | None) -> list[tuple[str, str, Path]]:
    out: list[tuple[str, str, Path]] = []
    base = root / PATIENTS_DIR
    for patient in sorted(base.iterdir()) if base.is_dir() else []:
        if pseudonym is not None and patient.name != pseudonym:
            continue
        for path in sorted((patient / "hotspots").glob("*.yaml")):
            if protocol is None or path.stem == protocol:
                out.append((patient.name, path.stem, path))
    return out


def run(args: argparse.Namespace) -> int:
    root = args.sessions if args.sessions is not None else sessions_root()
    library = load_library(raise_on_error=False)
    files = _files(root, args.pseudonym, args.protocol)
    if not files:
        who = f" of {args.pseudonym}" if args.pseudonym else ""
        print(f"no hotspot files{who} under {root / PATIENTS_DIR}")
        return 1 if args.pseudonym else 0
    errors = 0
    for pseudonym, protocol_id, path in files:
        protocol = library.protocols.get(protocol_id)
        scene = library.scenes.get(protocol.scene) if protocol is not None else None
        if protocol is None:
            print(f"{path}:1: no prolonged-exposure protocol {protocol_id!r} is installed")
            errors += 1
            continue
        if args.action == "check":
            problems = check_hotspot_file(path, scene, protocol_id=protocol_id)
            for p in problems:
                print(p)
            n = sum(p.severity == "error" for p in problems)
            errors += n
            if not problems:
                print(f"{path}: ok")
            continue
        try:
            hotspots = load_hotspots(path, scene, protocol_id=protocol_id).hotspots
        except Exception as exc:  # noqa: BLE001 - a bad file is reported, the others still listed
            print(exc)
            errors += 1
            continue
        print(f"{pseudonym} · {protocol_id} ({len(hotspots)} hotspots, {path})")
        for i, h in enumerate(hotspots, 1):
            state = h.preset if h.intensity is None else f"{h.preset} at {h.intensity:g}"
            triggers = ", ".join(f"{t.event} {t.strength:g}" for t in h.triggers) or "no triggers"
            print(f"  {i}. {h.name}  [{state}; {triggers}]")
    return 1 if errors else 0
