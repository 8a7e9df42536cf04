"""The ``vr-exposure`` dispatcher: help, unknown commands, a closed pipe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vr_exposure.cli import COMMANDS, main


def test_help_lists_every_command(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([]) == 2
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_a_reader_that_goes_away_is_not_a_traceback(tmp_path: Path) -> None:
    # `vr-exposure scenes | head -1`: the pipe closes while the command still writes.
    cmd = [sys.executable, "-m", "vr_exposure.cli", "scenes"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        proc.stdout.readline()
        proc.stdout.close()
        _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    assert b"BrokenPipeError" not in err
