"""The project's whole check: ruff, mypy, import-linter contracts, then pytest.

Run through ``./run tests`` (which installs what is missing first). Extra arguments go to pytest.
Every step runs even when an earlier one fails, so one run shows every problem; the exit status is
non-zero if any step failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(title: str, argv: list[str], env: dict[str, str]) -> int:
    print(f"== {title}: {' '.join(argv)}", flush=True)
    rc = subprocess.call(argv, cwd=ROOT, env=env)
    print(f"== {title}: {'ok' if rc == 0 else f'FAILED (exit {rc})'}", flush=True)
    return rc


def main(pytest_args: list[str]) -> int:
    env = dict(os.environ)
    # Headless everywhere: Qt offscreen, no X display, no sound card.
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    py = sys.executable
    bindir = Path(py).parent
    names = ["ruff", "mypy", "import-linter", "vr-exposure validate", "pytest"]
    results = [
        _run("ruff", [str(bindir / "ruff"), "check", "vr_exposure", "tests", "benchmarks", "scripts"], env),
        _run("mypy", [py, "-m", "mypy"], env),
        _run("import-linter", [str(bindir / "lint-imports")], env),
        _run("vr-exposure validate", [str(bindir / "vr-exposure"), "validate"], env),
        _run("pytest", [py, "-m", "pytest", *pytest_args], env),
    ]
    failed = [name for name, rc in zip(names, results, strict=True) if rc != 0]
    verdict = "== every check is green" if not failed else f"== checks that FAILED: {', '.join(failed)}"
    print(verdict, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
