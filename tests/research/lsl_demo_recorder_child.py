"""A recorder for ``vr-exposure demo --lsl``, in its own process (liblsl reads its configuration once
per process): runs the headless demo and, as LabRecorder does, opens an inlet on every vr-exposure
stream that appears (the renderer's head-pose stream is made again once the session is set), pulls
from all of them until the demo ends, and prints one JSON object: per stream its name, source_id,
nominal rate and every stamp received (on this machine's clock, as the outlets stamp), plus the
demo's session directory.

Usage: python lsl_demo_recorder_child.py SESSIONS_ROOT MINUTES
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def main(root: Path, minutes: str) -> dict[str, Any]:
    from vr_exposure import lsl

    lsl.use_loopback_config()
    import pylsl

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "demo",
            "--lsl",
            "--headless",
            "--quiet",
            "--minutes",
            minutes,
            "--sessions",
            str(root),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    inlets: dict[str, Any] = {}
    streams: dict[str, dict[str, Any]] = {}
    gone: set[str] = set()
    # LabRecorder's way: a resolver that keeps looking in the background (one-shot resolves miss
    # streams on a loaded machine).
    resolver = pylsl.ContinuousResolver(pred="starts-with(name,'vr-exposure')", forget_after=60.0)
    deadline = time.monotonic() + 300.0
    while True:
        assert time.monotonic() < deadline, "the demo did not end within 300 s"
        for info in resolver.results():
            if info.uid() not in inlets and info.uid() not in gone:
                inlet = pylsl.StreamInlet(info, max_buflen=360)
                try:
                    inlet.open_stream(timeout=5.0)
                except pylsl.util.TimeoutError:  # it ended before we got to it
                    gone.add(info.uid())
                    continue
                inlets[info.uid()] = inlet
                streams[info.uid()] = {
                    "name": info.name(),
                    "source_id": info.source_id(),
                    "nominal_srate": info.nominal_srate(),
                    "stamps": [],
                    "samples": 0,
                }
        for uid, inlet in inlets.items():
            try:
                samples, stamps = inlet.pull_chunk(timeout=0.0, max_samples=4096)
            except (pylsl.LostError, pylsl.util.TimeoutError):
                continue
            # One machine: the outlets stamp on this machine's clock, no correction to add.
            streams[uid]["stamps"] += stamps
            streams[uid]["samples"] += len(samples)
        if demo.poll() is not None:
            break
        time.sleep(0.02)
    out, err = demo.communicate(timeout=60)
    assert demo.returncode == 0, out[-2000:] + err[-3000:]
    # What was still on its way when the demo ended.
    for uid, inlet in inlets.items():
        try:
            samples, stamps = inlet.pull_chunk(timeout=0.5, max_samples=100_000)
        except (pylsl.LostError, pylsl.util.TimeoutError):
            continue
        streams[uid]["stamps"] += stamps
        streams[uid]["samples"] += len(samples)
    match = re.search(r"^session directory: (.+)$", out, re.MULTILINE)
    assert match, out
    session = Path(match.group(1).strip()).expanduser()  # the demo prints ~/... under the home
    return {"session_dir": str(session), "streams": list(streams.values())}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2])))
