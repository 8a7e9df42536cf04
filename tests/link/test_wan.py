"""The console and the renderer over a slow, lossy network with an outage (tests/netdrill.py): a
short version of ``benchmarks/wan.py``. Needs root for the network namespaces; skipped elsewhere.

Only outcomes are asserted here (nothing lost or out of order, the banner, the fade to the safe
place because of the link, the session intact afterwards); the timing figures are the benchmark's.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.netdrill import run_drill, unavailable_reason

pytestmark = pytest.mark.slow


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
