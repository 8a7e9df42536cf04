"""A renderer subprocess with a simulated patient at its keyboard, for the demo, scripts and tests.

:class:`RendererProcess` starts ``vr-exposure renderer`` (a window or offscreen) and reads its
``READY`` line for the endpoints. With ``patient=True`` the process is
``python -m vr_exposure.renderer.process RENDERER-ARGS``: the same renderer plus a task that turns
``key K`` lines on its stdin into the Panda3D key events the patient's keyboard would send, so a
simulated patient answers SUDS prompts from the headset side (:meth:`RendererProcess.press`).
Nothing here imports Panda3D until the subprocess runs.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["READY_TIMEOUT_S", "RendererProcess", "patient_renderer_main"]

READY_TIMEOUT_S = 90.0


class RendererProcess:
    """A renderer subprocess with a patient at its keyboard (``press(key)``)."""

    def __init__(
        self,
        *,
        backend: str = "offscreen",
        size: str = "640x360",
        bind: str = "tcp://127.0.0.1:*",
        extra: list[str] | None = None,
        patient: bool = True,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.log_file = tempfile.NamedTemporaryFile(
            prefix="vr-exposure-renderer-", suffix=".log", delete=False
        )
        # Without a patient this is exactly ``vr-exposure renderer``; with one, the same plus the keyboard.
        head = ["vr_exposure.renderer.process"] if patient else ["vr_exposure.cli", "renderer"]
        args = [
            sys.executable,
            "-m",
            *head,
            "--backend",
            backend,
            "--bind",
            bind,
            "--size",
            size,
            *(extra or []),
        ]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log_file, text=True, bufsize=1
        )
        self.command_endpoint = ""
        self.pub_endpoint = ""
        lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout

        def read() -> None:
            for line in stdout:
                lines.put(line)
            lines.put(None)

        self._reader = threading.Thread(target=read, name="renderer-stdout", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + ready_timeout_s
        while not self.command_endpoint:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise RuntimeError(
                    f"the renderer did not start within {ready_timeout_s:.0f} s:\n{self.log_tail()}"
                )
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                raise RuntimeError(f"the renderer exited with {self.proc.returncode}:\n{self.log_tail()}")
            if line.startswith("READY "):
                fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
                self.command_endpoint, self.pub_endpoint = fields["command"], fields["pub"]

    def press(self, key: str) -> None:
        """The patient presses ``key`` (``0``-``9``, ``h``, ``space``) on the renderer's keyboard."""
        if self.proc.poll() is not None or self.proc.stdin is None:
            return
        try:
            self.proc.stdin.write(f"key {key}\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout_s: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout_s: float = 10.0) -> int | None:
        """SIGTERM (the renderer closes its journal and exits), then SIGKILL if it must."""
        if self.proc.poll() is None:
            self.proc.terminate()
            if self.wait(timeout_s) is None:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        return self.proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = Path(self.log_file.name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cleanup(self) -> None:
        self.stop()
        self._reader.join(timeout=5)  # ends at the exited process's end of output
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log_file.close()
        try:
            os.unlink(self.log_file.name)
        except OSError:
            pass


def patient_renderer_main(argv: list[str]) -> int:
    """``vr-exposure renderer`` plus a patient at the keyboard: ``key K`` lines on stdin become the
    Panda3D key events the renderer's patient keys listen to; end of stdin stops the renderer."""
    import signal

    from direct.showbase.MessengerGlobal import messenger
    from direct.task.TaskManagerGlobal import taskMgr

    from vr_exposure.renderer import cli as renderer_cli

    keys: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def read_stdin() -> None:
        for line in sys.stdin:
            parts = line.split()
            if len(parts) == 2 and parts[0] == "key":
                keys.put(parts[1])
        keys.put(None)

    threading.Thread(target=read_stdin, name="patient-keys", daemon=True).start()

    def press_keys(task: Any) -> Any:
        # Runs in the frame loop before the link task, like the event manager delivering real keys.
        while True:
            try:
                key = keys.get_nowait()
            except queue.Empty:
                break
            if key is None:
                os.kill(os.getpid(), signal.SIGTERM)  # the demo is gone: stop cleanly
                break
            messenger.send(key)
        return task.cont

    taskMgr.add(press_keys, "vr-exposure-demo-patient", sort=5)
    parser = argparse.ArgumentParser(prog="vr-exposure renderer")
    renderer_cli.configure(parser)
    return int(renderer_cli.run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(patient_renderer_main(sys.argv[1:]))
