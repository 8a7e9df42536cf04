"""A stand-in console for the link tests, run as a subprocess: a LinkClient that optionally sends one
command, then polls forever, printing connection events and its mirrored state as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
import time

import msgspec

from vr_exposure.errors import LinkError
from vr_exposure.link import LinkClient, RendererState
from vr_exposure.link import messages as m


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--command", required=True)
    parser.add_argument("--pub", required=True)
    parser.add_argument("--intensity", type=float, default=None)
    args = parser.parse_args()

    def emit(**record: object) -> None:
        print(json.dumps(record), flush=True)

    def on_state(state: RendererState) -> None:
        emit(kind="state", state=msgspec.to_builtins(state))

    client = LinkClient(
        args.command,
        args.pub,
        heartbeat_interval_s=0.1,
        timeout_s=0.3,
        retries=3,
        on_state=on_state,
        on_connection=lambda event, detail: emit(kind="connection", event=event, detail=detail),
    )
    if args.intensity is not None:
        try:
            client.wait_until(lambda: client.synced, 10)
            client.request(m.SetIntensityRequest(intensity=args.intensity))
            emit(kind="reply", ok=True)
        except LinkError as exc:
            emit(kind="reply", ok=False, error=str(exc))
    deadline = time.monotonic() + 120  # never outlive a test run
    while time.monotonic() < deadline:
        client.poll(50)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
