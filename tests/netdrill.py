"""Impaired-network drill: a console and a renderer in two network namespaces, a slow, lossy link
between them, and a 10 s outage, with real kernel TCP stacks on both sides.

Used by ``tests/link/test_wan.py`` (a short drill) and ``benchmarks/wan.py`` (the full one)::

    from tests.netdrill import unavailable_reason, run_drill
    figures = run_drill(commands=200, outage_s=10.0)

Two ways to impair the link, chosen at run time:

* ``netem``: a veth pair between the namespaces with ``tc qdisc ... netem delay 80ms 20ms loss 2%``
  on both ends (the outage is ``loss 100%`` for its length). Used when the kernel has ``sch_netem``.
* ``userspace``: each namespace gets a TUN device (``10.231.0.1`` console, ``10.231.0.2`` renderer,
  point to point) and a forwarder process moves IP packets between them: each packet waits
  ``delay +- jitter`` (uniform), 2% are dropped at random in each direction, and an outage drops
  every packet that enters the link while it lasts (packets already on the wire still arrive, as
  with netem's ``loss 100%``). The forwarder keeps each TCP connection in order (a segment never
  leaves before one of the same connection that entered earlier), as a real path nearly always does
  (routers and ECMP keep a flow's packets in order), while different connections are delayed
  independently; netem with jitter would reorder even within a connection. Holding the whole
  direction in order instead would make every command wait behind the latest-due packet of the
  mirror and telemetry stream, which no real network does. The forwarder asks for real-time
  scheduling (``SCHED_FIFO``, root), so a busy machine does not add its own delay to the path's.
  It also notes when the last TCP segment with data crossed towards each port, so an
  outage's start can be told as the far end saw it.

Traffic only ever flows between the two namespaces' addresses. The namespaces are named after this
process (``vrxd<pid>c`` / ``vrxd<pid>r``), removed on every exit path, and any left behind by a
drill whose process is gone are removed at the next start. Every child (forwarder, renderer,
console side) gets SIGTERM when the drill's process dies, however it dies, and the forwarder also
exits when its stdin closes, so its TUN devices go with it.

Run as a script, this module is either the forwarder (``forward``) or the console-side driver
(``console``) of :func:`run_drill`; both talk JSON lines on stdin/stdout.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import ctypes
import fcntl
import heapq
import json
import os
import queue
import random
import re
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CONSOLE_ADDR = "10.231.0.1"
RENDERER_ADDR = "10.231.0.2"
COMMAND_PORT = 47310
#: The scene the drill's renderer shows. Its software-rendered frame (a few milliseconds at the drill's
#: 320x180) is about a headset GPU's (11 ms at 90 Hz); the spiders scene costs the software
#: rasteriser 30 ms or more a frame, which a GPU does not, and every reply waits for a frame boundary.
DRILL_SCENE = "heights"
PUB_PORT = 47311
_PREFIX = "vrxd"
_CLONE_NEWNET = 0x40000000
_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000
_TUN_NAME = "vrx0"


# -- can this machine run it? -------------------------------------------------------------------


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def _netns_exists(name: str) -> bool:
    return Path("/var/run/netns", name).exists()


def unavailable_reason() -> str | None:
    """None when the drill can run here; otherwise why not, in one sentence."""
    if not sys.platform.startswith("linux"):
        return "the network drill needs Linux network namespaces"
    if os.geteuid() != 0:
        return "the network drill needs root (it creates network namespaces); run the tests as root"
    if shutil.which("ip") is None:
        return "the network drill needs the `ip` command (iproute2)"
    scratch = f"{_PREFIX}{os.getpid()}p"
    made = _ip("netns", "add", scratch, check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace here: {made.stderr.strip() or made.returncode}"
    try:
        if _netem_works(scratch):
            return None
    finally:
        _ip("netns", "del", scratch, check=False)
    if not os.path.exists("/dev/net/tun"):
        return "neither tc netem nor /dev/net/tun is available, so the link cannot be impaired"
    return None


def _netem_works(ns: str) -> bool:
    if shutil.which("tc") is None:
        return False
    _ip("-n", ns, "link", "set", "lo", "up", check=False)
    probe = subprocess.run(
        ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return probe.returncode == 0


def netem_available() -> bool:
    scratch = f"{_PREFIX}{os.getpid()}q"
    if _ip("netns", "add", scratch, check=False).returncode != 0:
        return False
    try:
        return _netem_works(scratch)
    finally:
        _ip("netns", "del", scratch, check=False)


def _sweep_stale() -> None:
    """Remove namespaces left by drills whose process no longer exists."""
    listing = _ip("netns", "list", check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(rf"{_PREFIX}(\d+)[a-z]", name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            _ip("netns", "del", name, check=False)


# -- the impaired link ----------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In a child before exec: SIGTERM when the drill's process dies, however it dies (prctl
    PR_SET_PDEATHSIG, kept across the exec of ``ip netns exec`` and of what it runs)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _close_streams(proc: subprocess.Popen[str], reader: threading.Thread | None) -> None:
    """After ``proc`` exited: let the reader thread see the end of its output, then close the pipes."""
    if reader is not None:
        reader.join(timeout=10)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _reader(stream: Any, out: queue.SimpleQueue[str | None]) -> threading.Thread:
    def run() -> None:
        for line in stream:
            out.put(line)
        out.put(None)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _next_json(lines: queue.SimpleQueue[str | None], timeout_s: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{what}: nothing within {timeout_s:.0f} s")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            raise RuntimeError(f"{what}: the process exited")
        line = line.strip()
        if line.startswith("{"):
            value: dict[str, Any] = json.loads(line)
            return value


class ImpairedLink:
    """Two namespaces joined by an impaired link; a context manager that always cleans up."""

    def __init__(
        self,
        *,
        delay_ms: float = 80.0,
        jitter_ms: float = 20.0,
        loss: float = 0.02,
        seed: int | None = None,
        prefer_netem: bool = True,
    ) -> None:
        self.delay_ms = delay_ms
        self.jitter_ms = jitter_ms
        self.loss = loss
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.prefer_netem = prefer_netem
        self.console_ns = f"{_PREFIX}{os.getpid()}c"
        self.renderer_ns = f"{_PREFIX}{os.getpid()}r"
        self.kind = ""
        self._forwarder: subprocess.Popen[str] | None = None
        self._forwarder_reader: threading.Thread | None = None
        self._forwarder_lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._restore: threading.Timer | None = None
        self._veth = (f"vxc{os.getpid()}"[:15], f"vxr{os.getpid()}"[:15])

    def __enter__(self) -> ImpairedLink:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        _sweep_stale()
        for ns in (self.console_ns, self.renderer_ns):
            if _netns_exists(ns):
                _ip("netns", "del", ns, check=False)
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        if self.prefer_netem and netem_available():
            self._start_netem()
        else:
            self._start_userspace()

    def _netem_args(self, loss: float) -> list[str]:
        return [
            "netem", "delay", f"{self.delay_ms:g}ms", f"{self.jitter_ms:g}ms", "loss", f"{loss * 100:g}%",
        ]  # fmt: skip

    def _start_netem(self) -> None:
        c, r = self._veth
        _ip("link", "add", c, "netns", self.console_ns, "type", "veth",
            "peer", "name", r, "netns", self.renderer_ns)  # fmt: skip
        for ns, dev, addr in ((self.console_ns, c, CONSOLE_ADDR), (self.renderer_ns, r, RENDERER_ADDR)):
            _ip("-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
        self.kind = "netem"

    def _tc(self, ns: str, dev: str, verb: str, loss: float) -> None:
        subprocess.run(
            ["ip", "netns", "exec", ns, "tc", "qdisc", verb, "dev", dev, "root", *self._netem_args(loss)],
            check=True,
            capture_output=True,
            timeout=30,
        )

    def _start_userspace(self) -> None:
        args = [
            sys.executable, str(Path(__file__).resolve()), "forward",
            "--console-ns", self.console_ns, "--renderer-ns", self.renderer_ns,
            "--delay-ms", str(self.delay_ms), "--jitter-ms", str(self.jitter_ms),
            "--loss", str(self.loss), "--seed", str(self.seed),
        ]  # fmt: skip
        self._forwarder = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self._forwarder_reader = _reader(self._forwarder.stdout, self._forwarder_lines)
        ready = _next_json(self._forwarder_lines, 30, "the packet forwarder")
        if ready.get("event") != "ready":
            raise RuntimeError(f"the packet forwarder failed: {ready}")
        self.kind = "userspace"
        #: Whether the forwarder runs with real-time scheduling (its delays then hold on a busy machine).
        self.realtime = bool(ready.get("realtime"))

    def exec_prefix(self, side: str) -> list[str]:
        """The command prefix that runs a program in the ``console`` or ``renderer`` namespace."""
        return ["ip", "netns", "exec", self.console_ns if side == "console" else self.renderer_ns]

    def set_impaired(self, on: bool) -> None:
        """Delay, jitter and loss on (the link starts clear, for a baseline in the same run)."""
        if self.kind == "netem":
            c, r = self._veth
            for ns, dev in ((self.console_ns, c), (self.renderer_ns, r)):
                if on:
                    self._tc(ns, dev, "add", self.loss)
                else:
                    subprocess.run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root"],
                                   capture_output=True, timeout=30)  # fmt: skip
            return
        assert self._forwarder is not None and self._forwarder.stdin is not None
        self._forwarder.stdin.write(f"impair {int(on)}\n")
        self._forwarder.stdin.flush()
        while _next_json(self._forwarder_lines, 30, "the packet forwarder").get("event") != "impair":
            pass

    def outage(self, seconds: float) -> int:
        """Cut the link for ``seconds`` starting now; returns the cut's monotonic time (ns)."""
        if self.kind == "netem":
            t_cut = time.monotonic_ns()
            c, r = self._veth
            self._tc(self.console_ns, c, "change", 1.0)
            self._tc(self.renderer_ns, r, "change", 1.0)

            def restore() -> None:
                self._tc(self.console_ns, c, "change", self.loss)
                self._tc(self.renderer_ns, r, "change", self.loss)

            self._restore = threading.Timer(seconds, restore)
            self._restore.start()
            return t_cut
        assert self._forwarder is not None and self._forwarder.stdin is not None
        self._forwarder.stdin.write(f"outage {seconds}\n")
        self._forwarder.stdin.flush()
        reply = _next_json(self._forwarder_lines, 30, "the packet forwarder")
        return int(reply["t_cut_ns"])

    def wait_outage_end(self, timeout_s: float) -> dict[str, Any]:
        """The forwarder's report at the outage's end: ``last_data_ns`` maps ``"<dir>:<port>"`` (dir
        ``c2r`` or ``r2c``) to when the last data segment towards that port was delivered, and
        ``last_sent_ns`` to when the newest byte its receiver could then read was first sent
        (:class:`StreamClock`)."""
        if self.kind == "netem":
            if self._restore is not None:
                self._restore.join(timeout_s)
            return {}
        while True:
            msg = _next_json(self._forwarder_lines, timeout_s, "the packet forwarder")
            if msg.get("event") == "outage_end":
                return msg

    def stats(self) -> dict[str, Any]:
        if self._forwarder is None or self._forwarder.stdin is None:
            return {}
        self._forwarder.stdin.write("stats\n")
        self._forwarder.stdin.flush()
        while True:
            msg = _next_json(self._forwarder_lines, 30, "the packet forwarder")
            if msg.get("event") == "stats":
                return msg

    def close(self) -> None:
        if self._restore is not None:
            self._restore.cancel()
        if self._forwarder is not None:
            with contextlib.suppress(OSError):
                if self._forwarder.stdin is not None:
                    self._forwarder.stdin.close()
            try:
                self._forwarder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._forwarder.kill()
                self._forwarder.wait()
            _close_streams(self._forwarder, self._forwarder_reader)
            self._forwarder = None
        for ns in (self.console_ns, self.renderer_ns):
            if _netns_exists(ns):
                _ip("netns", "del", ns, check=False)


# -- the forwarder (runs as its own process) --------------------------------------------------------


def _open_tun(ns: str) -> int:
    """A TUN device named ``vrx0`` inside namespace ``ns`` (it lives as long as the fd)."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(target, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {ns}")
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH22x", _TUN_NAME.encode(), _IFF_TUN | _IFF_NO_PI))
    finally:
        libc.setns(own, _CLONE_NEWNET)
        os.close(own)
        os.close(target)
    return fd


def _flow_key(packet: bytes) -> bytes:
    """What identifies a packet's flow: an IPv4 TCP or UDP segment's addresses and ports; other
    packets (ICMP, anything unparsed) share one flow per direction."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] not in (6, 17):
        return b""
    ihl = (packet[0] & 0x0F) * 4
    if len(packet) < ihl + 4:
        return b""
    return bytes(packet[9:10]) + bytes(packet[12:20]) + bytes(packet[ihl : ihl + 4])


def _tcp_segment(packet: bytes) -> tuple[bytes, int, int, int, int] | None:
    """An IPv4 TCP segment's (flow, sequence number, payload length, flags, destination port),
    else None."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != 6:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if len(packet) < ihl + 20:
        return None
    doff = (packet[ihl + 12] >> 4) * 4
    payload = int.from_bytes(packet[2:4], "big") - ihl - doff
    seq = int.from_bytes(packet[ihl + 4 : ihl + 8], "big")
    port = int.from_bytes(packet[ihl + 2 : ihl + 4], "big")
    return _flow_key(packet), seq, max(0, payload), packet[ihl + 13], port


def _tcp_data_port(packet: bytes) -> int | None:
    """The destination port of an IPv4 TCP segment that carries data, else None."""
    seg = _tcp_segment(packet)
    return seg[4] if seg is not None and seg[2] > 0 else None


class StreamClock:
    """When the bytes a receiver can read were first sent, per TCP connection.

    A retransmitted segment enters the link later than its bytes were first sent, and bytes past
    a hole the link dropped are held by the receiver's TCP until the hole is filled. So for each
    connection this keeps when each new byte range first entered (:meth:`entered`), and, as
    segments are delivered (:meth:`delivered`), how far the receiver can read without a hole; it
    answers when the newest readable byte was first sent."""

    def __init__(self) -> None:
        self._base: dict[bytes, int] = {}  # flow -> sequence number of its first data byte
        self._sent: dict[bytes, list[tuple[int, int]]] = {}  # flow -> [(end, first sent)], ends rising
        self._frontier: dict[bytes, int] = {}  # flow -> bytes readable without a hole
        self._ahead: dict[bytes, dict[int, int]] = {}  # flow -> {start: end} delivered past a hole

    def _range(self, packet: bytes) -> tuple[bytes, int, int] | None:
        seg = _tcp_segment(packet)
        if seg is None:
            return None
        flow, seq, length, flags, _ = seg
        if flags & 0x02:  # SYN (seen entering and again delivered): the first data byte is next
            if self._base.get(flow) != (seq + 1) % 2**32:
                self._base[flow] = (seq + 1) % 2**32
                self._sent[flow], self._frontier[flow], self._ahead[flow] = [], 0, {}
            return None
        if length == 0 or flow not in self._base:
            return None
        start = (seq - self._base[flow]) % 2**32
        return flow, start, start + length

    def entered(self, packet: bytes, t_ns: int) -> None:
        r = self._range(packet)
        if r is not None:
            sent = self._sent[r[0]]
            if not sent or r[2] > sent[-1][0]:
                sent.append((r[2], t_ns))

    def delivered(self, packet: bytes) -> int | None:
        """The first-sent time of the newest byte the receiver can now read, if this segment
        carried data; None otherwise."""
        r = self._range(packet)
        if r is None:
            return None
        flow, start, end = r
        ahead = self._ahead[flow]
        if start > self._frontier[flow]:
            ahead[start] = max(end, ahead.get(start, 0))
        else:
            self._frontier[flow] = max(self._frontier[flow], end)
        while ahead:
            gap_closed = [k for k in ahead if k <= self._frontier[flow]]
            if not gap_closed:
                break
            for k in gap_closed:
                self._frontier[flow] = max(self._frontier[flow], ahead.pop(k))
        sent, frontier = self._sent[flow], self._frontier[flow]
        if frontier == 0 or not sent:
            return None
        i = bisect.bisect_left(sent, (frontier, -1))
        return sent[min(i, len(sent) - 1)][1]


def _forward_main(args: argparse.Namespace) -> int:
    def out(**msg: Any) -> None:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    rng = random.Random(args.seed)
    fds = [_open_tun(args.console_ns), _open_tun(args.renderer_ns)]
    for ns, addr, peer in (
        (args.console_ns, CONSOLE_ADDR, RENDERER_ADDR),
        (args.renderer_ns, RENDERER_ADDR, CONSOLE_ADDR),
    ):
        _ip("-n", ns, "addr", "add", addr, "peer", peer, "dev", _TUN_NAME)
        _ip("-n", ns, "link", "set", _TUN_NAME, "up")
    names = ("c2r", "r2c")
    delay_ns, jitter_ns = int(args.delay_ms * 1e6), int(args.jitter_ms * 1e6)
    # Per direction, a heap of (due, arrival number, packet); per flow, the latest due time.
    queues: list[list[tuple[int, int, bytes]]] = [[], []]
    last_due: dict[tuple[int, bytes], int] = {}
    arrivals = 0
    realtime = True
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except (OSError, AttributeError):
        realtime = False
    counts = {f"{n}_{k}": 0 for n in names for k in ("packets", "dropped", "blackholed", "bytes")}
    last_data: dict[str, int] = {}  # when the last data segment towards a port was delivered
    last_sent: dict[str, int] = {}  # and when the newest byte readable then was first sent
    streams = StreamClock()
    outage_until: int | None = None
    t_cut = 0
    impaired = False
    sel = selectors.DefaultSelector()
    sel.register(fds[0], selectors.EVENT_READ, 0)
    sel.register(fds[1], selectors.EVENT_READ, 1)
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    pending = b""
    out(event="ready", pid=os.getpid(), realtime=realtime)
    while True:
        now = time.monotonic_ns()
        due = [q[0][0] for q in queues if q]
        if outage_until is not None:
            due.append(outage_until)
        timeout = max(0.0, (min(due) - now) / 1e9) if due else 1.0
        for key, _ in sel.select(timeout):
            if key.data == "stdin":
                chunk = os.read(sys.stdin.fileno(), 4096)
                if not chunk:
                    return 0
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    words = line.decode().split()
                    if words[:1] == ["outage"]:
                        t_cut = time.monotonic_ns()
                        outage_until = t_cut + int(float(words[1]) * 1e9)
                        out(event="outage", t_cut_ns=t_cut)
                    elif words[:1] == ["impair"]:
                        impaired = words[1] == "1"
                        out(event="impair", on=impaired)
                    elif words[:1] == ["stats"]:
                        out(event="stats", **counts)
                continue
            d = key.data
            while True:
                try:
                    packet = os.read(fds[d], 65535)
                except BlockingIOError:
                    break
                now = time.monotonic_ns()
                counts[f"{names[d]}_packets"] += 1
                counts[f"{names[d]}_bytes"] += len(packet)
                streams.entered(packet, now)  # sent, whether or not the link then carries it
                if outage_until is not None and now < outage_until:
                    counts[f"{names[d]}_blackholed"] += 1
                    continue
                flow = (d, _flow_key(packet))
                if not impaired:
                    t = max(now, last_due.get(flow, 0))
                elif rng.random() < args.loss:
                    counts[f"{names[d]}_dropped"] += 1
                    continue
                else:
                    t = now + delay_ns + int(rng.uniform(-jitter_ns, jitter_ns))
                    t = max(t, last_due.get(flow, 0))  # keep each connection in order
                last_due[flow] = t
                arrivals += 1
                heapq.heappush(queues[d], (t, arrivals, packet))
        now = time.monotonic_ns()
        for d, q in enumerate(queues):
            while q and q[0][0] <= now:
                _, _, packet = heapq.heappop(q)
                with contextlib.suppress(OSError):  # the interface may be going down at exit
                    os.write(fds[1 - d], packet)
                readable_sent = streams.delivered(packet)
                port = _tcp_data_port(packet)
                if port is not None:
                    key = f"{names[d]}:{port}"
                    last_data[key] = now
                    if readable_sent is not None:
                        last_sent[key] = max(readable_sent, last_sent.get(key, 0))
        if outage_until is not None and now >= outage_until:
            out(event="outage_end", t_cut_ns=t_cut, t_end_ns=now, last_data_ns=dict(last_data),
                last_sent_ns=dict(last_sent))  # fmt: skip
            outage_until = None


# -- the console-side driver (runs inside the console namespace) -------------------------------------


def _console_main(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    import zmq

    from vr_exposure.errors import LinkError
    from vr_exposure.link import LinkClient, Message
    from vr_exposure.link import messages as m
    from vr_exposure.link.security import ClientCurve

    def out(**msg: Any) -> None:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    keys = Path(args.keys)
    curve = ClientCurve.from_files(keys / "console.key_secret", keys / "renderer.key")
    connection: list[tuple[int, str]] = []
    images: list[tuple[int, int, int]] = []  # (arrival ns, width, bytes)

    def on_event(msg: Message) -> None:
        if msg.header.msg_type == "view_image":
            content: Any = msg.content
            images.append((time.monotonic_ns(), int(content.width), len(content.jpeg)))

    client = LinkClient(
        f"tcp://{RENDERER_ADDR}:{COMMAND_PORT}",
        f"tcp://{RENDERER_ADDR}:{PUB_PORT}",
        curve=curve,
        timeout_s=args.timeout_s,
        on_event=on_event,
        on_connection=lambda event, _detail: connection.append((time.monotonic_ns(), event)),
        telemetry=["head_pose", "frame_timing", "stimulus_positions"],
    )
    result: dict[str, Any] = {"errors": []}
    issued: list[dict[str, Any]] = []
    k = [0]

    def value() -> float:
        k[0] += 1
        return float(10 + (k[0] * 37) % 80)  # consecutive values always differ

    facts_ms: dict[str, list[float]] = {}

    def steer(phase: str, n: int) -> list[float]:
        rtts: list[float] = []
        facts = facts_ms.setdefault(phase, [])
        for _ in range(n):
            v = value()
            t0 = time.perf_counter_ns()
            entry: dict[str, Any] = {"phase": phase, "intensity": v}
            try:
                reply = client.request(m.SetIntensityRequest(intensity=v), check=False)
                entry["status"] = reply.status
                if reply.status != "ok":
                    entry["error"] = f"{reply.ename}: {reply.evalue}"
            except LinkError as exc:
                entry["status"] = "failed"
                entry["error"] = str(exc)
            rtt_ms = (time.perf_counter_ns() - t0) / 1e6
            entry["rtt_ms"] = rtt_ms
            if entry["status"] == "ok":
                rtts.append(rtt_ms)
                # The command's fact travels on the event socket with the telemetry and the mirror.
                if client.wait_until(lambda v=v: _target(client) == v, 10):
                    facts.append((time.perf_counter_ns() - t0) / 1e6)
            issued.append(entry)
        return rtts

    def wait(pred: Any, timeout_s: float, what: str) -> bool:
        if client.wait_until(pred, timeout_s):
            return True
        result["errors"].append(f"timed out after {timeout_s:.0f} s waiting for {what}")
        return False

    try:
        if not wait(lambda: client.synced, 90, "the first snapshot"):
            raise SystemExit(1)
        instance = client.renderer_instance
        client.request(
            m.SetSessionRequest(session_id=args.session_id, session_dir=args.session_dir, pseudonym="P015")
        )
        client.request(m.LoadSceneRequest(scene=args.scene, intensity=30))
        wait(
            lambda: client.state is not None and client.state.scene == args.scene and not client.state.fading,
            60,
            "the scene",
        )
        result["rtt_baseline_ms"] = steer("baseline", args.baseline)
        out(want="impair")
        sys.stdin.readline()
        tele0 = (dict(client.telemetry_received), dict(client.telemetry_lost))
        result["rtt_plain_ms"] = steer("plain", args.commands)
        if args.mirror:
            client.sub.setsockopt(zmq.SUBSCRIBE, b"telemetry.view_image")
            # At its largest: the console does not acknowledge, so the renderer sends every image
            # at full size and rate whatever the link carries; then fitted to the link.
            for phase, acknowledge in (("mirror_largest", False), ("mirror", True)):
                client.acknowledge_mirror = acknowledge
                n_img0 = len(images)
                wait(lambda n=n_img0: len(images) >= n + 3, 60, "mirror images")
                t_m0 = time.monotonic_ns()
                n_img0 = len(images)
                result[f"rtt_{phase}_ms"] = steer(phase, args.commands)
                seconds = max(1e-9, (time.monotonic_ns() - t_m0) / 1e9)
                window = images[n_img0:]
                result[f"{phase}_fps"] = len(window) / seconds
                result[f"{phase}_widths"] = sorted({w for _, w, _ in window})
                result[f"{phase}_kbps"] = sum(b for _, _, b in window) * 8 / 1000 / seconds
        # Pipelined: many steering commands in flight at once, as a therapist dragging a slider.
        replies: dict[str, str] = {}
        client.on_reply = lambda msg: replies.__setitem__(
            msg.parent_header.msg_id if msg.parent_header else "", getattr(msg.content, "status", "")
        )
        burst = [(client.send(m.SetIntensityRequest(intensity=(v := value()))), v) for _ in range(args.burst)]
        wait(lambda: all(mid in replies for mid, _ in burst), 60, "the pipelined burst's replies")
        for mid, v in burst:
            issued.append({"phase": "burst", "intensity": v, "status": replies.get(mid, "failed")})
        last_value = burst[-1][1] if burst else None
        tele1 = (dict(client.telemetry_received), dict(client.telemetry_lost))
        result["telemetry"] = {
            s: {
                "received": tele1[0].get(s, 0) - tele0[0].get(s, 0),
                "lost": tele1[1].get(s, 0) - tele0[1].get(s, 0),
            }
            for s in tele1[0]
        }
        wait(
            lambda: client.state is not None and client.state.target_intensity == last_value,
            30,
            "the last burst value in the state",
        )
        # The outage.
        # Both namespaces share one monotonic clock, so the true offset is 0: what the console
        # estimated (and told the renderer) is then its error.
        est = client.clock_sync.offset
        result["clock_offset_ms"] = None if est is None else [round(est[0] / 1e6, 2), round(est[1] / 1e6, 2)]
        out(want="outage")
        t_cut = int(json.loads(sys.stdin.readline())["t_cut_ns"])
        warned: list[int] = []

        def banner() -> bool:
            # What the therapist sees meanwhile: the first warning before contact counts as lost.
            if not warned and client.link_quality().warning_kind == "degraded":
                warned.append(time.monotonic_ns() - t_cut)
            return any(e == "lost" and t > t_cut for t, e in connection)

        wait(banner, args.outage_s + 30, "the banner")
        result["warned_ns"] = warned[0] if warned else None
        wait(lambda: client.state is not None and client.synced and client.connection == "connected",
             args.outage_s + 90, "the link back")  # fmt: skip
        result["connection"] = [(t - t_cut, e) for t, e in connection if t > t_cut]
        wait(lambda: client.state is not None and client.state.mode == "safe_place", 30, "the safe place")
        st = client.state
        result["after_outage"] = {
            "same_renderer": client.renderer_instance == instance,
            "session_id": st.session_id if st else None,
            "mode": st.mode if st else None,
            "return_scene": st.return_scene if st else None,
            "return_intensity": st.return_intensity if st else None,
        }
        result["t_resynced_ns"] = time.monotonic_ns() - t_cut
        client.request(m.LeaveSafePlaceRequest())
        wait(
            lambda: client.state is not None and client.state.mode == "running" and not client.state.fading,
            60,
            "the scene back",
        )
        st = client.state
        result["after_leave"] = {
            "scene": st.scene if st else None,
            "intensity": st.target_intensity if st else None,
            "expected_intensity": last_value,
        }
        result["rtt_after_ms"] = steer("after", args.after)
        final = issued[-1]["intensity"]
        wait(lambda: _target(client) == final, 30, "the last value")
        result["final_state_matches"] = client.state is not None and client.state.target_intensity == final
        result["client_counters"] = dict(client.counters)
        result["facts_ms"] = facts_ms
        q = client.link_quality()
        result["link_quality"] = {"round_trip_ms": q.round_trip_ms, "late_share": q.late_share,
                                  "telemetry_loss": q.telemetry_loss, "warning": q.warning}  # fmt: skip
        result["lost_after_s"] = client.liveness.lost_after_s
    except LinkError as exc:
        result["errors"].append(f"{type(exc).__name__}: {exc}")
    finally:
        result["issued"] = issued
        out(result=result)
        client.close()
    return 0


def _target(client: Any) -> float | None:
    return None if client.state is None else float(client.state.target_intensity)


# -- the drill ------------------------------------------------------------------------------------


@dataclass
class DrillResult:
    figures: dict[str, Any]
    console: dict[str, Any]
    renderer_records: list[dict[str, Any]] = field(default_factory=list)
    renderer_log: str = ""


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("XR_RUNTIME_JSON", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(key, None)
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["XDG_CONFIG_DIRS"] = str(home / "config-dirs")
    env["XDG_DATA_HOME"] = str(home / "data")
    env["PRC_DIR"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


@contextlib.contextmanager
def _process(
    command: list[str], env: dict[str, str], log: Path, lines: queue.SimpleQueue[str | None]
) -> Iterator[subprocess.Popen[str]]:
    """A process in its own session, its stdout lines going to ``lines``; killed if still running."""
    with log.open("w") as err:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            bufsize=1,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        reader = _reader(proc.stdout, lines)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            _close_streams(proc, reader)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_drill(
    *,
    commands: int = 200,
    baseline: int = 50,
    burst: int = 50,
    after: int = 10,
    outage_s: float = 10.0,
    delay_ms: float = 80.0,
    jitter_ms: float = 20.0,
    loss: float = 0.02,
    mirror: bool = True,
    size: str = "320x180",
    scene: str = DRILL_SCENE,
    link_timeout_s: float = 5.0,
    timeout_s: float = 2.0,
    seed: int | None = None,
    prefer_netem: bool = True,
    say: Any = None,
) -> DrillResult:
    """The whole drill; returns the figures (see ``benchmarks/wan.py`` for what each means)."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    say = say or (lambda _line: None)
    from vr_exposure import __version__
    from vr_exposure.journal import create_session
    from vr_exposure.link.keys import allow_key, generate_keys

    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vr-exposure-wan-")))
        keys = work / "keys"
        generate_keys("renderer", directory=keys)
        console_public, _ = generate_keys("console", directory=keys)
        allow_key(console_public, directory=keys)
        session = create_session(work / "sessions", pseudonym="P015", software_version=__version__)
        env = _env(work)
        link = stack.enter_context(
            ImpairedLink(
                delay_ms=delay_ms, jitter_ms=jitter_ms, loss=loss, seed=seed, prefer_netem=prefer_netem
            )
        )
        say(f"impairment: {link.kind} ({delay_ms:g} ms +- {jitter_ms:g} ms each way, {loss:.0%} loss)")
        renderer_cmd = [
            *link.exec_prefix("renderer"), sys.executable, "-m", "vr_exposure.cli", "renderer",
            "--backend", "offscreen", "--size", size, "--curve", "--keys-dir", str(keys),
            "--bind", f"tcp://{RENDERER_ADDR}:{COMMAND_PORT}", "--pub", f"tcp://{RENDERER_ADDR}:{PUB_PORT}",
            "--link-timeout-s", str(link_timeout_s),
        ]  # fmt: skip
        renderer_log = work / "renderer.log"
        r_lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        renderer = stack.enter_context(_process(renderer_cmd, env, renderer_log, r_lines))
        deadline = time.monotonic() + 120
        while True:
            try:
                line = r_lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None or time.monotonic() > deadline:
                raise RuntimeError(f"the renderer did not start:\n{renderer_log.read_text()[-3000:]}")
            if line.startswith("READY "):
                break
        say("renderer ready in its namespace; starting the console side")
        console_cmd = [
            *link.exec_prefix("console"), sys.executable, str(Path(__file__).resolve()), "console",
            "--keys", str(keys), "--session-dir", str(session), "--session-id", session.name,
            "--commands", str(commands), "--baseline", str(baseline), "--burst", str(burst),
            "--after", str(after),
            "--outage-s", str(outage_s), "--timeout-s", str(timeout_s), "--scene", scene,
            *(["--mirror"] if mirror else []),
        ]  # fmt: skip
        c_lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        console = stack.enter_context(_process(console_cmd, env, work / "console.log", c_lines))
        budget_s = 300 + commands * 3 + outage_s * 3
        outage_end: dict[str, Any] = {}
        t_cut = 0
        while True:
            try:
                msg = _next_json(c_lines, budget_s, "the console driver")
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}:\n{(work / 'console.log').read_text()[-3000:]}") from None
            if msg.get("want") == "impair":
                link.set_impaired(True)
                say("link impaired")
                assert console.stdin is not None
                console.stdin.write("{}\n")
                console.stdin.flush()
            elif msg.get("want") == "outage":
                say(f"cutting the link for {outage_s:g} s")
                t_cut = link.outage(outage_s)
                assert console.stdin is not None
                console.stdin.write(json.dumps({"t_cut_ns": t_cut}) + "\n")
                console.stdin.flush()
                outage_end = link.wait_outage_end(outage_s + 30)
                say("link back")
            elif "result" in msg:
                result: dict[str, Any] = msg["result"]
                break
        forwarder_stats = link.stats()
        with contextlib.suppress(OSError):
            if renderer.stdin is not None:
                renderer.stdin.close()
        os.killpg(renderer.pid, signal.SIGTERM)
        renderer.wait(timeout=60)
        records = [json.loads(x) for x in (session / "renderer.jsonl").read_text().splitlines() if x.strip()]
        figures = _figures(
            result, records, t_cut=t_cut, outage_end=outage_end, kind=link.kind,
            delay_ms=delay_ms, jitter_ms=jitter_ms, loss=loss, outage_s=outage_s,
            link_timeout_s=link_timeout_s, session_id=session.name, scene=scene,
        )  # fmt: skip
        figures["forwarder"] = {**forwarder_stats, "realtime": getattr(link, "realtime", None)}
        return DrillResult(figures, result, records, renderer_log.read_text())
    raise AssertionError("unreachable")


def _figures(
    result: dict[str, Any],
    records: list[dict[str, Any]],
    *,
    t_cut: int,
    outage_end: dict[str, Any],
    kind: str,
    delay_ms: float,
    jitter_ms: float,
    loss: float,
    outage_s: float,
    link_timeout_s: float,
    session_id: str,
    scene: str = "",
) -> dict[str, Any]:
    floor_ms = 2 * delay_ms
    rtts = list(result.get("rtt_plain_ms", []))
    base = list(result.get("rtt_baseline_ms", []))
    facts = result.get("facts_ms", {})
    # Applied order: every intensity change the renderer journaled, with the request that caused it.
    applied = [
        r for r in records
        if r.get("msg_type") == "intensity_changed" and (r.get("parent_header") or {}).get("msg_type")
        == "set_intensity_request"
    ]  # fmt: skip
    seqs = [int(r["parent_header"]["seq"]) for r in applied]
    reordered = sum(1 for i in range(1, len(seqs)) if seqs[i] <= max(seqs[:i]))
    issued = result.get("issued", [])
    ok = [e for e in issued if e.get("status") == "ok"]
    targets = [float(r["content"]["target"]) for r in applied]
    # Lost: a command issued while the link was up that was not applied, or applied but not confirmed.
    lost = (len(issued) - len(ok)) + abs(len(ok) - len(targets))
    if [e["intensity"] for e in ok] != targets:
        lost = max(lost, 1)
    superseded = sum(1 for e in issued if "Superseded" in str(e.get("error", "")))
    frame_ms = [float(r["content"]["median_ms"]) for r in records if r.get("msg_type") == "frame_timing"]
    frame_interval_ms = _percentile(frame_ms, 0.5)
    link_lost = [r for r in records if r.get("msg_type") == "link_lost"]
    entered = [
        r for r in records
        if r.get("msg_type") == "safe_place_entered" and (r.get("content") or {}).get("source") == "link_lost"
    ]  # fmt: skip
    safe_ns = int(entered[0]["t_mono_ns"]) if entered else None
    last_c2r = (outage_end.get("last_data_ns") or {}).get(f"c2r:{COMMAND_PORT}")
    last_c2r_sent = (outage_end.get("last_sent_ns") or {}).get(f"c2r:{COMMAND_PORT}")
    connection = result.get("connection", [])
    lost_at = next((t for t, e in connection if e == "lost"), None)
    degraded_at = next((t for t, e in connection if e == "degraded"), None)
    resumed_at = next((t for t, e in connection if e == "reconnected"), None)
    after = result.get("after_outage", {})
    leave = result.get("after_leave", {})
    resumed = bool(
        after.get("same_renderer")
        and after.get("session_id") == session_id
        and after.get("mode") == "safe_place"
        and leave.get("scene") == scene
        and leave.get("intensity") == leave.get("expected_intensity")
        and result.get("final_state_matches")
        and len(result.get("rtt_after_ms", [])) > 0
        and not result.get("errors")
    )
    telemetry = result.get("telemetry", {})
    received = sum(v["received"] for v in telemetry.values())
    t_lost = sum(v["lost"] for v in telemetry.values())
    lost_after_s = float(result.get("lost_after_s", float("nan")))
    figures: dict[str, Any] = {
        "impairment": kind,
        "netem_rtt_ms": floor_ms,
        "jitter_ms": jitter_ms,
        "loss": loss,
        "rtt_p50_ms": round(_percentile(rtts, 0.5), 1),
        "rtt_p99_ms": round(_percentile(rtts, 0.99), 1),
        "baseline_p50_ms": round(_percentile(base, 0.5), 1),
        "baseline_p99_ms": round(_percentile(base, 0.99), 1),
        "rtt_p95_ms": round(_percentile(rtts, 0.95), 1),
        "fact_p50_ms": round(_percentile(facts.get("plain", []), 0.5), 1),
        "fact_p99_ms": round(_percentile(facts.get("plain", []), 0.99), 1),
        "rtt_after_p50_ms": round(_percentile(result.get("rtt_after_ms", []), 0.5), 1),
        "commands": len(issued),
        "commands_lost": lost,
        "commands_reordered": reordered,
        "commands_superseded": superseded,
        "banner_s": round(lost_at / 1e9, 3) if lost_at is not None else None,
        "degraded_s": round(degraded_at / 1e9, 3) if degraded_at is not None else None,
        "warned_s": round(result["warned_ns"] / 1e9, 3) if result.get("warned_ns") is not None else None,
        "liveness_window_s": round(lost_after_s + (delay_ms + jitter_ms) / 1000, 3),
        # The outage as the renderer can know it: from the console's last message to get through
        # (with tc netem, nothing tells when that was: then from the cut).
        "safe_place_s": round((safe_ns - (last_c2r_sent or t_cut)) / 1e9, 3) if safe_ns else None,
        "safe_place_from_cut_s": round((safe_ns - t_cut) / 1e9, 3) if safe_ns else None,
        "safe_place_from_arrival_s": round((safe_ns - last_c2r) / 1e9, 3) if safe_ns and last_c2r else None,
        "last_sent_before_cut_ms": round((t_cut - last_c2r_sent) / 1e6, 1) if last_c2r_sent else None,
        "renderer_silence_s": link_lost[0]["content"]["silence_s"] if link_lost else None,
        "clock_offset_ms": result.get("clock_offset_ms"),
        "link_timeout_s": link_timeout_s,
        "frame_interval_ms": round(frame_interval_ms, 2),
        "scene": scene,
        "outage_s": outage_s,
        "reconnected_after_cut_s": round(resumed_at / 1e9, 3) if resumed_at is not None else None,
        "resumed": resumed,
        "telemetry_received": received,
        "telemetry_lost": t_lost,
        "telemetry_loss": round(t_lost / max(1, received + t_lost), 5),
        "console_link_quality": result.get("link_quality"),
        **_mirror_figures(result),
        "errors": result.get("errors", []),
    }
    return figures


def _mirror_figures(result: dict[str, Any]) -> dict[str, Any]:
    """Per mirror phase (``mirror_largest``: not acknowledged, full size and rate; ``mirror``:
    fitted to the link): command round trip and fact delay, images per second, widths, kbit/s."""
    out: dict[str, Any] = {}
    facts = result.get("facts_ms", {})
    for phase in ("mirror_largest", "mirror"):
        rtts = list(result.get(f"rtt_{phase}_ms", []))
        if not rtts:
            continue
        out[f"rtt_{phase}_p50_ms"] = round(_percentile(rtts, 0.5), 1)
        out[f"rtt_{phase}_p99_ms"] = round(_percentile(rtts, 0.99), 1)
        out[f"fact_{phase}_p50_ms"] = round(_percentile(facts.get(phase, []), 0.5), 1)
        out[f"fact_{phase}_p99_ms"] = round(_percentile(facts.get(phase, []), 0.99), 1)
        out[f"{phase}_fps"] = round(float(result.get(f"{phase}_fps", 0.0)), 2)
        out[f"{phase}_widths"] = result.get(f"{phase}_widths")
        out[f"{phase}_kbps"] = round(float(result.get(f"{phase}_kbps", 0.0)), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netdrill")
    sub = parser.add_subparsers(dest="role", required=True)
    fw = sub.add_parser("forward")
    fw.add_argument("--console-ns", required=True)
    fw.add_argument("--renderer-ns", required=True)
    fw.add_argument("--delay-ms", type=float, default=80.0)
    fw.add_argument("--jitter-ms", type=float, default=20.0)
    fw.add_argument("--loss", type=float, default=0.02)
    fw.add_argument("--seed", type=int, default=0)
    co = sub.add_parser("console")
    co.add_argument("--keys", required=True)
    co.add_argument("--session-dir", required=True)
    co.add_argument("--session-id", required=True)
    co.add_argument("--commands", type=int, default=200)
    co.add_argument("--baseline", type=int, default=50)
    co.add_argument("--burst", type=int, default=50)
    co.add_argument("--after", type=int, default=10)
    co.add_argument("--outage-s", type=float, default=10.0)
    co.add_argument("--timeout-s", type=float, default=2.0)
    co.add_argument("--mirror", action="store_true")
    co.add_argument("--scene", default=DRILL_SCENE)
    args = parser.parse_args(argv)
    if args.role == "forward":
        return _forward_main(args)
    return _console_main(args)


if __name__ == "__main__":
    sys.exit(main())
