"""Wide-area drill: console and renderer in two network namespaces, 80 ms +- 20 ms each way, 2% loss,
then a 10 s outage; CURVE on, real kernel TCP on both sides (tests/netdrill.py builds it).

    sudo python benchmarks/wan.py [--commands 200] [--outage-s 10] [--userspace] [--scene ID]

The renderer shows the heights scene by default: on a software rasteriser its frame takes a few
milliseconds, about what a headset's GPU takes, and a reply leaves at a frame boundary. The spiders
scene (``--scene spiders``) costs the software rasteriser 30 ms or more a frame, which then shows in
every round trip (``frame_interval_ms`` and the clear-link ``baseline`` say how much).

Needs root (network namespaces). The link is impaired with ``tc netem`` where the kernel has it,
otherwise by a user-space forwarder between two TUN devices (``--userspace`` forces that); the JSON
says which (``impairment``). Phases, one renderer, one console, one run:

1. ``baseline``: the same namespaces, renderer and CURVE link, nothing impaired: the renderer's own
   share of a round trip (a command is applied, journaled durably and answered at a frame boundary).
2. ``plain``: impaired, no mirror: ``rtt_p50_ms`` / ``rtt_p99_ms`` (command sent -> reply), and
   ``fact_*`` (sent -> its ``intensity_changed`` fact arrived on the event socket).
3. ``mirror_largest``: the console subscribes to the patient-view mirror and does not acknowledge
   it, so the renderer sends it at full size and rate whatever the link carries; ``mirror``: it
   acknowledges (heartbeat ``view_frame``) and the renderer fits the mirror to the link.
4. a pipelined burst (many steering commands in flight), then the outage, then the session goes on.

Figures: ``commands_lost`` (issued and not applied exactly once, or applied and not confirmed),
``commands_reordered`` (a steering command the renderer's journal shows applied after a newer one),
``banner_s`` (cut -> the console's ``lost``; target: within ``liveness_window_s``, the console's
``lost_after_s`` plus one worst-case one-way delay), ``safe_place_s`` (the outage begins, for the
renderer, when the console sent its last message to get through: from then to the renderer
journaling ``safe_place_entered`` with source ``link_lost``; target ``link_timeout_s`` +- one frame;
``safe_place_from_cut_s`` counts from the cut itself, which falls up to a heartbeat or mirror
acknowledgement after that last message, ``last_sent_before_cut_ms``), ``resumed`` (same renderer
and session, safe place kept, the scene back at the intensity last set, commands applied). The last
line is one JSON object with ``netem_rtt_ms, rtt_p50_ms, rtt_p99_ms, commands_lost,
commands_reordered, banner_s, safe_place_s, resumed`` and the rest; ``targets`` says which target
each figure meets.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.netdrill import DRILL_SCENE, run_drill, unavailable_reason  # noqa: E402


def targets(f: dict[str, object]) -> dict[str, bool]:
    def num(key: str) -> float:
        value = f.get(key)
        return float(value) if isinstance(value, (int, float)) else float("nan")

    floor = num("netem_rtt_ms")
    frame_s = num("frame_interval_ms") / 1000
    timeout_s = num("link_timeout_s")
    checks = {
        "rtt_p50": num("rtt_p50_ms") <= 1.2 * floor,
        "rtt_p50_above_baseline": num("rtt_p50_ms") - num("baseline_p50_ms") <= 1.2 * floor,
        "rtt_p99": num("rtt_p99_ms") <= floor + 300,
        "commands_lost": f.get("commands_lost") == 0,
        "commands_reordered": f.get("commands_reordered") == 0,
        "banner": num("banner_s") <= num("liveness_window_s"),
        "warned_before_banner": num("warned_s") < num("banner_s"),
        "safe_place": abs(num("safe_place_s") - timeout_s) <= frame_s,
        "resumed": f.get("resumed") is True,
    }
    if "rtt_mirror_largest_p50_ms" in f:
        # Commands stay ahead of the mirror: within the same bounds as without it.
        checks["mirror_largest_rtt_p50"] = num("rtt_mirror_largest_p50_ms") <= 1.2 * floor
        checks["mirror_largest_rtt_p99"] = num("rtt_mirror_largest_p99_ms") <= floor + 300
        checks["mirror_largest_rtt_p50_like_plain"] = num("rtt_mirror_largest_p50_ms") <= 1.1 * num(
            "rtt_p50_ms"
        )
    return checks


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=200, help="commands per phase (default 200)")
    parser.add_argument("--baseline", type=int, default=100, help="commands on the clear link (default 100)")
    parser.add_argument("--outage-s", type=float, default=10.0)
    parser.add_argument("--delay-ms", type=float, default=80.0, help="each way (default 80)")
    parser.add_argument("--jitter-ms", type=float, default=20.0)
    parser.add_argument("--loss", type=float, default=0.02)
    parser.add_argument("--userspace", action="store_true", help="the TUN forwarder even where netem exists")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--scene",
        default=DRILL_SCENE,
        help=f"what the renderer shows (default {DRILL_SCENE}: a frame about as long as a headset GPU's)",
    )
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason is not None:
        print(f"wan: {reason}", file=sys.stderr)
        return 2
    # SIGTERM unwinds like Ctrl+C, so the namespaces and processes are cleaned up on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    drill = run_drill(
        commands=args.commands,
        baseline=args.baseline,
        outage_s=args.outage_s,
        delay_ms=args.delay_ms,
        jitter_ms=args.jitter_ms,
        loss=args.loss,
        seed=args.seed,
        prefer_netem=not args.userspace,
        scene=args.scene,
        say=lambda line: print(f"wan: {line}", flush=True),
    )
    f = drill.figures
    f["targets"] = targets(f)
    print(
        f"impairment {f['impairment']}: {args.delay_ms:g} ms +- {args.jitter_ms:g} ms each way, "
        f"{args.loss:.0%} loss; floor {f['netem_rtt_ms']:g} ms"
    )
    print(f"renderer: scene {f['scene']}, frame interval {f['frame_interval_ms']} ms")
    print(f"baseline (clear link)   p50 {f['baseline_p50_ms']} ms  p99 {f['baseline_p99_ms']} ms")
    print(
        f"commands (impaired)     p50 {f['rtt_p50_ms']} ms  p95 {f['rtt_p95_ms']} ms  "
        f"p99 {f['rtt_p99_ms']} ms"
    )
    print(f"their facts             p50 {f['fact_p50_ms']} ms  p99 {f['fact_p99_ms']} ms")
    for phase, label in (("mirror_largest", "mirror at its largest"), ("mirror", "mirror fitted")):
        if f"rtt_{phase}_p50_ms" in f:
            print(
                f"{label:<22}  commands p50 {f[f'rtt_{phase}_p50_ms']} ms  p99 {f[f'rtt_{phase}_p99_ms']} ms;"
                f" facts p50 {f[f'fact_{phase}_p50_ms']} ms  p99 {f[f'fact_{phase}_p99_ms']} ms;"
                f" {f[f'{phase}_fps']} images/s, widths {f[f'{phase}_widths']}, {f[f'{phase}_kbps']} kbit/s"
            )
    print(
        f"commands {f['commands']}: lost {f['commands_lost']}, reordered {f['commands_reordered']}, "
        f"superseded {f['commands_superseded']}"
    )
    print(
        f"outage {f['outage_s']:g} s: degraded {f['degraded_s']} s (warning shown {f['warned_s']} s), "
        f"banner {f['banner_s']} s "
        f"(window {f['liveness_window_s']} s), safe place {f['safe_place_s']} s after the console sent "
        f"its last message to get through ({f['safe_place_from_cut_s']} s after the cut, which came "
        f"{f['last_sent_before_cut_ms']} ms after that message; {f['safe_place_from_arrival_s']} s after "
        f"it arrived; renderer's silence {f['renderer_silence_s']} s; "
        f"frame {f['frame_interval_ms']} ms), reconnected {f['reconnected_after_cut_s']} s after the cut, "
        f"resumed {f['resumed']}"
    )
    print(
        f"telemetry: {f['telemetry_received']} received, {f['telemetry_lost']} lost "
        f"({f['telemetry_loss']:.2%})"
    )
    print(f"console's view at the end: {f['console_link_quality']}")
    if f["errors"]:
        print(f"errors: {f['errors']}")
    print(json.dumps(f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
