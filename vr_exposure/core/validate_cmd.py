"""``vr-exposure validate [PATH...]``: check scene and protocol files and report every problem.

Each problem is one line, ``file:line: field.path: message``, then one summary line. The exit status
is 1 when there is any error (with ``--strict``, any warning too), else 0. Paths may be files or
directories; without any, the installed content directories are checked. A protocol checked without
its scene finds the scene among the installed content.

With ``contracts`` (the renderer's scene packages provide them; ``vr-exposure validate`` runs through
:mod:`vr_exposure.renderer.validate_cmd`, which loads them without Panda3D) every scene is also
checked against its builder's contract.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vr_exposure.core.loading import (
    ContentLibrary,
    Contracts,
    Kind,
    build_library,
    default_content_dirs,
    iter_content_files,
    load_library,
)
from vr_exposure.errors import SpecProblem


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        type=Path,
        help="scene or protocol files, or directories of them (default: the installed content)",
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")


def _kind_from_dirs(path: Path) -> Kind | None:
    for part in reversed(path.parent.parts):
        if part == "scenes":
            return "scene"
        if part == "protocols":
            return "protocol"
    return None


def check_paths(paths: Sequence[Path], contracts: Contracts | None = None) -> ContentLibrary:
    """Load and cross-check the given files and directories (or the default content)."""
    if not paths:
        dirs = default_content_dirs()
        missing = [d for d in (*dirs.scenes, *dirs.protocols) if not d.is_dir()]
        library = load_library(dirs.scenes, dirs.protocols, raise_on_error=False, contracts=contracts)
        for d in missing:
            library.problems.append(SpecProblem(str(d), None, "", "content directory does not exist"))
        return library
    files: list[tuple[Path, Kind | None]] = []
    problems: list[SpecProblem] = []
    for path in paths:
        if path.is_dir():
            found = iter_content_files(path)
            if not found:
                problems.append(
                    SpecProblem(str(path), None, "", "no .yaml files in this directory", "warning")
                )
            files.extend((f, _kind_from_dirs(f)) for f in found)
        elif path.exists():
            files.append((path, _kind_from_dirs(path)))
        else:
            problems.append(SpecProblem(str(path), None, "", "no such file or directory"))
    unique: dict[Path, tuple[Path, Kind | None]] = {}
    for f, kind in files:
        unique.setdefault(f.resolve(), (f, kind))
    reference = load_library(raise_on_error=False).scenes
    library = build_library(list(unique.values()), reference_scenes=reference, contracts=contracts)
    library.problems[:0] = problems
    return library


def run(args: argparse.Namespace, contracts: Contracts | None = None) -> int:
    library = check_paths(args.paths, contracts)
    for problem in library.problems:
        print(problem)
    errors = len(library.errors)
    warnings = len(library.warnings)
    failed = errors > 0 or (args.strict and warnings > 0)
    files = f"{library.files_checked} file{'s' if library.files_checked != 1 else ''}"
    if not library.problems:
        summary = f"{files} checked: no problems"
    else:
        counts = [
            f"{errors} error{'s' if errors != 1 else ''}",
            f"{warnings} warning{'s' if warnings != 1 else ''}",
        ]
        summary = f"{files} checked: {', '.join(counts)}" + (
            " (--strict: warnings fail)" if args.strict and warnings and not errors else ""
        )
    print(summary, file=sys.stdout)
    return 1 if failed else 0
