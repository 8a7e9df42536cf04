"""The console side of the two-machine journal drill (tests/console/test_remote_journal_wan.py): a
headless console on its own disk that runs a short session against a renderer in another network
namespace, then fetches the renderer's journal. It prints JSON lines; on ``{"want": "outage"}`` it
waits for a line on stdin (the parent has cut the link) and goes on."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connect", required=True)
    parser.add_argument("--pub", required=True)
    parser.add_argument("--keys", required=True)
    parser.add_argument("--sessions", required=True)
    parser.add_argument("--chunk", type=int, default=8192)
    args = parser.parse_args()

    from vr_exposure.console.adapter import LinkAdapter
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.core.loading import load_library
    from vr_exposure.link import LinkClient
    from vr_exposure.link.security import ClientCurve

    def out(**msg: Any) -> None:
        print(json.dumps(msg), flush=True)

    keys = Path(args.keys)
    curve = ClientCurve.from_files(keys / "console.key_secret", keys / "renderer.key")
    client = LinkClient(args.connect, args.pub, curve=curve, telemetry=False)
    # share_session_dir=None: the renderer is not on loopback, so it is never told this disk's path.
    controller = ConsoleController(client, load_library(), sessions_root=Path(args.sessions))
    controller.fetch_chunk_bytes = args.chunk
    adapter = LinkAdapter(client, controller)
    states: list[str] = []
    cut = {"asked": False}

    def on_ui(ev: Any) -> None:
        if ev.kind != "journal_fetch":
            return
        states.append(ev["state"])
        if ev["state"] == "fetching" and ev["bytes_done"] > 0 and not cut["asked"]:
            cut["asked"] = True
            out(want="outage", bytes_done=ev["bytes_done"], bytes_total=ev["bytes_total"])
            sys.stdin.readline()

    controller.subscribe(on_ui)

    def until(predicate: Any, what: str, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                out(error=f"timed out waiting for {what}", states=states)
                raise SystemExit(1)
            adapter.poll(20)
            adapter.housekeeping()

    until(lambda: client.synced, "contact over CURVE")
    session_dir = controller.start_session("P015", protocol_id="spiders-graded")
    controller.begin_exposure()
    until(lambda: controller.renderer_state.scene == "spiders" and not controller.pending, "the scene")
    until(lambda: not controller.renderer_state.fading, "the fade-in")
    for value in (20, 35, 50):
        controller.set_intensity(value, 0.0)
        controller.record_suds(value)
        until(
            lambda v=value: not controller.pending and controller.renderer_state.target_intensity == v,
            "steer",
        )
    controller.end_session()
    controller.close_session()

    def done() -> bool:
        fetch = controller.fetches.get(session_dir.name)
        return fetch is not None and fetch.state == "done"

    until(done, "the journal fetch, resumed after the outage", timeout_s=240.0)
    out(result="done", session_dir=str(session_dir), states=states)
    adapter.close()
    client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
