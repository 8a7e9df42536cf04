"""The console and the renderer over a slow, lossy network with an outage (tests/netdrill.py): a
short version of ``benchmarks/wan.py``. Needs root for the network namespaces; skipped elsewhere.

Only outcomes are asserted here (nothing lost or out of order, the banner, the fade to the safe
place because of the link, the session intact afterwards); the timing figures are the benchmark's.
"""

from __future__ import annotations

import os
import struct
import subprocess

import pytest

from tests.netdrill import StreamClock, run_drill, unavailable_reason


def _segment(seq: int, payload: bytes = b"", *, syn: bool = False) -> bytes:
    """An IPv4 TCP segment 10.0.0.1:5000 -> 10.0.0.2:47310 (checksums left zero)."""
    tcp = struct.pack("!HHIIBBHHH", 5000, 47310, seq % 2**32, 0, 5 << 4, 0x02 if syn else 0x18, 65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    )
    return ip + tcp + payload


def test_the_drill_times_the_newest_readable_byte_by_its_first_send() -> None:
    """The reference the fade is timed against: a retransmission enters the link later than its
    bytes were sent, and bytes past a hole stay unreadable until the hole is filled."""
    isn = 2**32 - 150  # the sequence numbers wrap inside this connection
    clock = StreamClock()
    clock.entered(_segment(isn, syn=True), 0)
    a, b, c = _segment(isn + 1, b"a" * 100), _segment(isn + 101, b"b" * 100), _segment(isn + 201, b"c" * 100)
    clock.entered(a, 10)
    clock.entered(b, 20)
    clock.entered(c, 30)
    assert clock.delivered(_segment(isn, syn=True)) is None
    assert clock.delivered(a) == 10
    assert clock.delivered(c) == 10  # b was lost: c cannot be read yet
    clock.entered(b, 250)  # b sent again
    assert clock.delivered(b) == 30  # a, b and c readable now; c's bytes were first sent at 30
    assert clock.delivered(_segment(isn + 301)) is None  # a bare ack carries no data


@pytest.mark.slow
def test_a_session_survives_a_slow_lossy_link_and_an_outage() -> None:
    reason = unavailable_reason()  # here, not at import: it tries to create a network namespace
    if reason is not None:
        pytest.skip(reason)
    drill = run_drill(commands=15, baseline=3, burst=15, after=3, outage_s=7.0)
    f = drill.figures
    assert f["errors"] == [], f
    assert f["impairment"] in ("netem", "userspace")
    if f["impairment"] == "userspace":
        forwarded = f["forwarder"]
        # The link really was impaired: packets were dropped both ways, and black-holed in the outage.
        assert forwarded["c2r_dropped"] + forwarded["r2c_dropped"] > 0, forwarded
        assert forwarded["c2r_blackholed"] > 0 and forwarded["r2c_blackholed"] > 0, forwarded
    # Every command issued while the link was up was applied once, in order, and confirmed.
    assert f["commands"] == 3 + 15 * 3 + 15 + 3
    assert f["commands_lost"] == 0 and f["commands_reordered"] == 0, f
    # The console showed the banner, the renderer faded to the safe place because of the link,
    # after its full watchdog time and well after the console's banner.
    assert f["banner_s"] is not None and f["degraded_s"] is not None
    assert f["degraded_s"] < f["banner_s"], "the console warns before the link is lost"
    assert f["warned_s"] is not None and f["warned_s"] < f["banner_s"], "and says so in words"
    # Silence counts from when the console sent; the fade comes on the frame nearest 5 s of it.
    assert f["renderer_silence_s"] is not None
    assert f["renderer_silence_s"] >= 5.0 - f["frame_interval_ms"] / 2000 - 0.001, f
    assert f["safe_place_from_cut_s"] is not None and f["safe_place_from_cut_s"] > f["banner_s"]
    records = drill.renderer_records
    lost = [r for r in records if r.get("msg_type") == "link_lost"]
    entered = [r for r in records if r.get("msg_type") == "safe_place_entered"]
    assert lost and lost[0]["content"]["action"] == "safe_place"
    assert [r["content"]["source"] for r in entered] == ["link_lost"]
    assert any(r.get("msg_type") == "link_restored" for r in records)
    # The same renderer and session afterwards; the scene came back where it was; commands work.
    assert f["resumed"] is True, drill.console
    # Both mirror phases delivered images over the impaired link.
    assert f["mirror_largest_fps"] > 0 and f["mirror_fps"] > 0
    assert f["mirror_largest_widths"] == [320]
    # Nothing is left behind: no namespace of this process, no forwarder, renderer or console side.
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert f"vrxd{os.getpid()}" not in listing
    children = subprocess.run(
        ["pgrep", "-P", str(os.getpid())], capture_output=True, text=True
    ).stdout.split()
    assert [c for c in children if os.path.exists(f"/proc/{c}")] == [], children
