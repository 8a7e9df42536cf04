"""Link benchmark: command round trip through LinkServer/LinkClient against a bare pyzmq
DEALER/ROUTER echo measured in the same run, and 90 Hz head-pose telemetry loss.

    python benchmarks/link.py [--n 5000] [--seconds 60]

Each server runs in its own process (as the renderer would), so client and server do not share a
GIL. The link server is pumped in a loop that blocks on its socket between pumps; the bare echo
server blocks in recv. Prints figures, then as the LAST line one JSON object:
{rtt_p50_us, rtt_p99_us, bare_p50_us, bare_p99_us, ratio_p99, telemetry_loss, ...}.
Target: ratio_p99 <= 2.0, telemetry_loss == 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vr_exposure.link import LinkClient, LinkServer, Message  # noqa: E402
from vr_exposure.link import messages as m  # noqa: E402

HZ = 90


def _serve_bare() -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.bind("tcp://127.0.0.1:*")
    print(json.dumps({"command": router.getsockopt_string(zmq.LAST_ENDPOINT)}), flush=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if router.poll(200):
            while int(router.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
                router.send_multipart(router.recv_multipart())
    router.close(0)
    ctx.term()


def _serve_link(telemetry_s: float) -> None:
    state = m.RendererState(backend="benchmark")

    def handler(req: m.Request) -> None:
        return None

    server = LinkServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", handler=handler, snapshot=lambda: state)
    print(json.dumps({"command": server.command_endpoint, "pub": server.pub_endpoint}), flush=True)
    deadline = time.monotonic() + 600
    if telemetry_s <= 0:
        while time.monotonic() < deadline:
            server.wait(200)
            server.pump()
        return
    # A renderer-like frame loop: pump, publish the head pose, wait for the next frame.
    while server.link_state != "ok" and time.monotonic() < deadline:
        server.wait(50)
        server.pump()
    settle = time.monotonic() + 0.5  # let the subscription reach the publisher
    while time.monotonic() < settle:
        server.wait(10)
        server.pump()
    frame_s = 1 / HZ
    start = time.monotonic()
    frames = int(telemetry_s * HZ)
    for frame in range(frames):
        target = start + frame * frame_s
        while (now := time.monotonic()) < target:
            server.wait(max(0, int((target - now) * 1000)))
            server.pump()
        server.pump()
        server.publish(
            m.HeadPose(
                frame=frame,
                t_mono_ns=time.monotonic_ns(),
                position_m=(0.0, 1.6, 0.01 * (frame % 100)),
                orientation_xyzw=(0.0, 0.0, 0.0, 1.0),
            )
        )
    server.publish(m.Stopped(reason=f"published {frames}"))
    end = time.monotonic() + 2
    while time.monotonic() < end:
        server.wait(10)
        server.pump()
    server.close()


def _spawn(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _request_size() -> int:
    from vr_exposure.link import Codec

    codec = Codec("console")
    header = codec.header("set_intensity_request", target_instance="0" * 16, deadline_ns=time.monotonic_ns())
    return len(codec.encode(header, m.SetIntensityRequest(intensity=40.0)))


def _round_trips(n: int) -> tuple[list[float], list[float]]:
    """Bare and link round trips, interleaved in batches so that load from anything else on the
    machine hits both alike."""
    bare_proc, bare_ep = _spawn("--serve-bare")
    link_proc, link_ep = _spawn("--serve-link")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(bare_ep["command"])
    # One frame of the same size as a link request's envelope, so only the protocol work differs.
    payload = b"x" * _request_size()
    request = m.SetIntensityRequest(intensity=40.0)
    bare: list[float] = []
    link: list[float] = []
    try:
        with LinkClient(link_ep["command"], link_ep["pub"], telemetry=False) as client:
            if not client.wait_until(lambda: client.synced, 10):
                raise SystemExit("link benchmark: the link server never answered")
            warmup = 200
            batch = 100
            done = 0
            while done < n + warmup:
                for _ in range(batch):
                    t0 = time.perf_counter_ns()
                    dealer.send(payload)
                    dealer.recv()
                    t1 = time.perf_counter_ns()
                    client.request(request)
                    t2 = time.perf_counter_ns()
                    if done >= warmup:
                        bare.append((t1 - t0) / 1000)
                        link.append((t2 - t1) / 1000)
                    done += 1
    finally:
        dealer.close(0)
        ctx.term()
        for proc in (bare_proc, link_proc):
            proc.kill()
            proc.wait()
    return bare, link


def _telemetry(seconds: float) -> dict[str, int]:
    proc, ep = _spawn("--serve-link", "--telemetry-s", str(seconds))
    published: list[int] = []

    def on_event(msg: Message) -> None:
        if isinstance(msg.content, m.Stopped):
            published.append(int(msg.content.reason.split()[-1]))

    try:
        with LinkClient(ep["command"], ep["pub"], on_event=on_event) as client:
            client.wait_until(lambda: bool(published), seconds + 30)
            received = client.telemetry_received.get("head_pose", 0)
            gaps = client.telemetry_lost.get("head_pose", 0)
    finally:
        proc.kill()
        proc.wait()
    sent = published[0] if published else 0
    return {"sent": sent, "received": received, "lost": max(sent - received, gaps)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--n", type=int, default=5000, help="round trips per measurement")
    parser.add_argument("--seconds", type=float, default=60.0, help="telemetry duration at 90 Hz")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-link", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--telemetry-s", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        _serve_bare()
        return 0
    if args.serve_link:
        _serve_link(args.telemetry_s)
        return 0

    bare, link = _round_trips(args.n)
    result = {
        "rtt_p50_us": round(_percentile(link, 0.50), 1),
        "rtt_p99_us": round(_percentile(link, 0.99), 1),
        "bare_p50_us": round(_percentile(bare, 0.50), 1),
        "bare_p99_us": round(_percentile(bare, 0.99), 1),
    }
    result["ratio_p99"] = round(result["rtt_p99_us"] / result["bare_p99_us"], 2)
    r = result
    print(f"bare DEALER/ROUTER echo: p50 {r['bare_p50_us']} us  p99 {r['bare_p99_us']} us  (n={args.n})")
    print(f"link command round trip: p50 {r['rtt_p50_us']} us  p99 {r['rtt_p99_us']} us  (n={args.n})")
    print(f"ratio p99 link/bare: {result['ratio_p99']} (target <= 2.0)")
    tele = _telemetry(args.seconds)
    print(
        f"telemetry {HZ} Hz for {args.seconds:g} s: "
        f"sent {tele['sent']}, received {tele['received']}, lost {tele['lost']}"
    )
    result["telemetry_loss"] = tele["lost"]
    result["telemetry_sent"] = tele["sent"]
    result["telemetry_seconds"] = args.seconds
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
