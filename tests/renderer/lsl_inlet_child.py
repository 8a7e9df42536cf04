"""A recorder-side LSL inlet for the renderer's ``--lsl`` test, in its own process (liblsl reads its
configuration once per process, from ``LSLAPICFG``; a child also bounds the test's time). Resolves
the head-pose stream by type and name, pulls samples for a while and prints one JSON object.

Usage: python lsl_inlet_child.py MIN_SAMPLES TIMEOUT_S
"""

from __future__ import annotations

import json
import sys
import time


def main(min_samples: int, timeout_s: float) -> dict[str, object]:
    import pylsl

    from vr_exposure.lsl import STREAM_NAMES

    deadline = time.monotonic() + timeout_s
    found = pylsl.resolve_bypred(
        f"type='MoCap' and name='{STREAM_NAMES['head-pose']}'", 1, max(0.1, deadline - time.monotonic())
    )
    if not found:
        return {"found": False}
    inlet = pylsl.StreamInlet(found[0])
    inlet.open_stream(timeout=max(0.1, deadline - time.monotonic()))
    info = inlet.info(timeout=max(0.1, deadline - time.monotonic()))
    samples: list[list[float]] = []
    stamps: list[float] = []
    while len(samples) < min_samples and time.monotonic() < deadline:
        chunk, chunk_stamps = inlet.pull_chunk(timeout=0.2, max_samples=1024)
        samples += chunk
        stamps += chunk_stamps
    return {
        "found": True,
        "type": info.type(),
        "name": info.name(),
        "source_id": info.source_id(),
        "channel_count": info.channel_count(),
        "nominal_srate": info.nominal_srate(),
        "samples": samples,
        "stamps": stamps,
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), float(sys.argv[2]))))
