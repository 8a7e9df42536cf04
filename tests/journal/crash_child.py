"""Child process for the crash test: journals clinical records and telemetry as fast as it can,
printing ``<seq> <n>`` for each clinical record only AFTER ``clinical()`` returned (so the parent
knows exactly which records were acknowledged), until it is killed.

    python -m tests.journal.crash_child SESSION_DIR PROCESS
"""

from __future__ import annotations

import sys

from vr_exposure.journal import JournalWriter


def main() -> None:
    session_dir, process = sys.argv[1], sys.argv[2]
    out = sys.stdout
    writer = JournalWriter(session_dir, process, flush_interval_s=0.005, fsync_interval_s=0.02)
    n = 0
    while True:
        for frame in range(5):
            writer.telemetry(
                "head_pose",
                {
                    "frame": n * 5 + frame,
                    "position_m": [0.1, 1.6, -0.2],
                    "orientation_xyzw": [0.0, 0.0, 0.0, 1.0],
                },
            )
        seq = writer.clinical(
            "rating_recorded", {"n": n, "value": n % 101, "scale_max": 100, "source": "simulated"}
        )
        out.write(f"{seq} {n}\n")
        out.flush()
        n += 1


if __name__ == "__main__":
    main()
