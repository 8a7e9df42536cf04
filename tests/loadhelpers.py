"""Keep every core of the machine busy while a test runs, as a loaded clinic PC or a shared CI runner
would: one spinning process per core, at the test's own priority, stopped when the test ends.

Tests that must hold under load (the live console, the link) use the ``busy_cores`` fixture; the
whole suite can also be run that way by hand (``VR_EXPOSURE_TEST_BUSY=1``: every test gets it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_SPIN = "import signal, sys\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\nwhile True:\n    pass\n"


def core_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextmanager
def busy_cores(n: int | None = None) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``n`` (default: one per core this process may run on) spinning processes for the block."""
    procs = [
        subprocess.Popen([sys.executable, "-c", _SPIN], stdin=subprocess.DEVNULL)
        for _ in range(core_count() if n is None else n)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
