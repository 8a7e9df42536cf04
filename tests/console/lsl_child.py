"""The console's Lab Streaming Layer paths, run in a child process (liblsl reads its configuration
once per process, from ``LSLAPICFG`` here, and a child bounds the test's time). Prints one JSON object
with what recorder-side inlets received next to what the console journal holds.

Usage: python lsl_child.py session|physio SESSIONS_ROOT
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

RESOLVE_TIMEOUT_S = 10.0


class RecordingLink:
    """The controller's link port, keeping what was sent (no renderer in these runs)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, content: Any) -> str:
        self.sent.append(content)
        return f"msg-{len(self.sent)}"


def _inlets(session_id: str, streams: tuple[str, ...]) -> dict[str, Any]:
    import pylsl

    from vr_exposure.lsl import source_id

    inlets = {}
    for stream in streams:
        found = pylsl.resolve_byprop("source_id", source_id(session_id, stream), 1, RESOLVE_TIMEOUT_S)
        if not found:
            raise SystemExit(f"stream {stream} of session {session_id} not found")
        inlet = pylsl.StreamInlet(found[0])
        inlet.open_stream(timeout=RESOLVE_TIMEOUT_S)
        inlets[stream] = inlet
    time.sleep(0.3)  # let the inlets' data connections settle before the first sample
    return inlets


def _pull(inlet: Any, want: int, timeout_s: float = 5.0) -> list[Any]:
    samples: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while len(samples) < want and time.monotonic() < deadline:
        chunk, _ = inlet.pull_chunk(timeout=0.2, max_samples=1000)
        samples.extend(chunk)
    return samples


def session(root: Path) -> dict[str, Any]:
    """A controller-driven session with ``lsl=True``: engine events, the therapist's records and the
    renderer's facts (a rating pressed in VR included) become markers, SUDS and intensity samples."""
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.core.loading import load_library
    from vr_exposure.journal import read_session
    from vr_exposure.link import messages as m

    controller = ConsoleController(RecordingLink(), load_library(), sessions_root=root, lsl=True)
    session_dir = controller.start_session("P042", protocol_id="spiders-graded")
    assert controller.session_id is not None
    inlets = _inlets(controller.session_id, ("markers", "suds", "intensity"))
    controller.begin_exposure()
    protocol = controller.protocol
    assert protocol is not None
    controller.on_fact(m.SceneLoaded(scene="spiders", preset=protocol.ladder[0].preset, intensity=5.0))
    header = m.Header(msg_id="r1", msg_type="rating_recorded", protocol_version="1.0", seq=7)
    controller.on_fact(m.RatingRecorded(value=6, scale_max=10), header)  # pressed in VR: 60
    controller.record_suds(40)  # typed by the therapist
    controller.set_intensity(20.0, 1.0)
    controller.on_fact(m.IntensityChanged(intensity=5.0, target=20.0, ramp_s=1.0))
    controller.end_session()
    open_after_end = controller.lsl_bridge is not None
    pushed = dict(controller.lsl_bridge.pushed) if controller.lsl_bridge is not None else {}
    # Read before the outlets go: an inlet whose outlet vanished keeps trying to recover it.
    received = {stream: _pull(inlet, pushed.get(stream, 1)) for stream, inlet in inlets.items()}
    for inlet in inlets.values():
        inlet.close_stream()
    controller.close_session()

    log = read_session(session_dir)
    console_clinical = [r.msg_type for r in log.records if r.process == "console" and r.kind == "clinical"]
    markers = [json.loads(s[0]) for s in received["markers"]]
    return {
        "session_dir": str(session_dir),
        "open_after_end": open_after_end,
        "closed": controller.lsl_bridge is None,
        "pushed": pushed,
        "markers": [[d["msg_type"], d["content"]] for d in markers],
        "suds": [s[0] for s in received["suds"]],
        "intensity": [s[0] for s in received["intensity"]],
        "journal": {
            "console_clinical": console_clinical,
            "ratings": [
                r.content["rating"]["value"] for r in log.by_type("suds_recorded") if r.process == "console"
            ],
        },
    }


def physio(root: Path) -> dict[str, Any]:
    """A heart-rate outlet on loopback; the console window polls it from the link bridge's Qt timer
    (the link points at a port nothing listens on: physiology does not need a renderer), journals the
    samples and plots them."""
    import socket

    import numpy as np
    import pylsl
    from PyQt6.QtCore import QEventLoop
    from PyQt6.QtWidgets import QApplication

    from vr_exposure.console.bridge import LinkBridge
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.console.main_window import ConsoleWindow
    from vr_exposure.core.loading import load_library
    from vr_exposure.journal import read_session
    from vr_exposure.link import LinkClient
    from vr_exposure.lsl import PhysioInlet
    from vr_exposure.research.timeline import load_timeline

    info = pylsl.StreamInfo("test-heart-rate", "HeartRate", 1, 10.0, pylsl.cf_float32, "test-hr-console")
    info.desc().append_child("channels").append_child("channel").append_child_value("label", "hr_bpm")
    outlet = pylsl.StreamOutlet(info)
    inlet = PhysioInlet("test-heart-rate", resolve_timeout_s=RESOLVE_TIMEOUT_S)
    inlet.inlet.open_stream(timeout=RESOLVE_TIMEOUT_S)
    time.sleep(0.3)

    with socket.socket() as s1, socket.socket() as s2:  # two free ports nobody answers on
        s1.bind(("127.0.0.1", 0))
        s2.bind(("127.0.0.1", 0))
        command, pub = (f"tcp://127.0.0.1:{s.getsockname()[1]}" for s in (s1, s2))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    client = LinkClient(command, pub, name="console")
    controller = ConsoleController(client, load_library(), sessions_root=root, physio=inlet)
    bridge = LinkBridge(client, controller)
    window = ConsoleWindow(controller, endpoint=command)
    window.show()
    session_dir = controller.start_session("P042", protocol_id="spiders-graded")
    pushed = [float(v) for v in np.linspace(62.0, 81.0, 20)]
    for value in pushed:
        outlet.push_sample([value], pylsl.local_clock())
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.03)
    deadline = time.monotonic() + 10.0
    while controller.physio_samples < len(pushed) and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.01)
    window.timeline.redraw()
    plot_t, plot_v = window.timeline.physio_data("hr_bpm")
    axis_label = window.timeline.physio_axis_label()
    controller.close_session()
    bridge.close()
    client.close()
    window.close()
    inlet.close()

    log = read_session(session_dir)
    journal_t: list[int] = []
    journal_v: list[float] = []
    for record in log.by_type("physio_samples"):
        assert record.process == "console" and record.kind == "telemetry", record
        assert record.content["stream"] == "test-heart-rate" and record.content["channels"] == ["hr_bpm"]
        journal_t += record.content["t_mono_ns"]
        journal_v += [row[0] for row in record.content["values"]]
    [stream] = load_timeline(session_dir).physio
    return {
        "pushed": pushed,
        "journal_t_mono_ns": journal_t,
        "journal_values": journal_v,
        "batches": len(log.by_type("physio_samples")),
        "timeline_values": stream.values[:, 0].tolist(),
        "plot_t_s": plot_t.tolist(),
        "plot_values": plot_v.tolist(),
        "session_start_ns": controller._session_start_ns,
        "axis_label": axis_label,
    }


if __name__ == "__main__":
    mode, root = sys.argv[1], Path(sys.argv[2])
    result = {"session": session, "physio": physio}[mode](root)
    print(json.dumps(result))
