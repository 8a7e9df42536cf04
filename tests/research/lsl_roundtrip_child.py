"""The LSL round trip, run in its own process (liblsl reads its configuration once per process, and a
child bounds the test's time). Prints one JSON object with what a recorder-side inlet received next to
what the journal holds.

Usage: python lsl_roundtrip_child.py SESSIONS_ROOT
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import msgspec


def main(root: Path) -> dict[str, object]:
    from vr_exposure import lsl

    lsl.use_loopback_config()
    import pylsl

    from vr_exposure import __version__
    from vr_exposure.core import engine as eng
    from vr_exposure.core.clock import SYSTEM_CLOCK
    from vr_exposure.core.loading import load_library
    from vr_exposure.journal import JournalWriter, create_session, read_session
    from vr_exposure.link import messages as m

    library = load_library()
    protocol = library.protocol("spiders-graded")
    scene = library.scene(protocol.scene)
    session_dir = create_session(
        root, pseudonym="P042", protocol=protocol.id, scene=scene.id, software_version=__version__
    )
    session_id = session_dir.name
    console_bridge = lsl.LslBridge.for_console(session_id)
    renderer_bridge = lsl.LslBridge.for_renderer(session_id, display_rate_hz=90.0)

    # A physiology device on the network (here: this process), found by name.
    hr_info = pylsl.StreamInfo("test-heart-rate", "HeartRate", 1, 10.0, pylsl.cf_float32, "test-hr-1")
    hr_info.desc().append_child("channels").append_child("channel").append_child_value("label", "hr_bpm")
    hr_outlet = pylsl.StreamOutlet(hr_info)

    inlets = {}
    for stream in ("markers", "suds", "intensity", "head-pose"):
        found = pylsl.resolve_byprop("source_id", lsl.source_id(session_id, stream), 1, 10.0)
        assert found, f"stream {stream} not found"
        inlet = pylsl.StreamInlet(found[0], processing_flags=pylsl.proc_clocksync)
        inlet.open_stream(timeout=10.0)
        inlets[stream] = inlet
    physio = lsl.PhysioInlet("test-heart-rate", resolve_timeout_s=10.0)
    physio.inlet.open_stream(timeout=10.0)
    time.sleep(0.3)  # let the inlets' data connections settle before the first sample
    info = inlets["head-pose"].info()
    pose_desc = {
        "type": info.type(),
        "nominal_srate": info.nominal_srate(),
        "channel_count": info.channel_count(),
        "source_id": info.source_id(),
        "first_channel": info.desc().child("channels").child("channel").child_value("type"),
    }

    engine = eng.SessionEngine(protocol, scene, SYSTEM_CLOCK)
    with JournalWriter(session_dir, "console") as console, JournalWriter(session_dir, "renderer") as renderer:
        # What the console and renderer do as they journal: hand the same record to the bridge.
        def console_events(events: list[eng.SessionEvent]) -> None:
            for ev in events:
                content = ev.content()
                console.clinical(ev.msg_type, content)
                console_bridge.on_event(ev.msg_type, content, ev.t_mono_ns)

        def renderer_fact(fact: m.Content) -> None:
            content = msgspec.to_builtins(fact)
            t_fact = time.monotonic_ns()  # the fact's time, taken before the journal's fsync
            renderer.clinical(fact.msg_type, content)
            # The renderer's facts reach the console over the link; the console hands them on too.
            console_bridge.on_event(fact.msg_type, content, t_fact)

        console_events(engine.set_rung(0))
        renderer_fact(m.SceneLoaded(scene=scene.id, preset=protocol.ladder[0].preset, intensity=5.0))
        console_events(engine.start())
        for i in range(60):
            now = time.monotonic_ns()
            pose = {
                "frame": i,
                "t_mono_ns": now,
                "position_m": (0.0, 0.01 * i, 1.2),
                "orientation_xyzw": (0.0, 0.0, 0.0, 1.0),
            }
            renderer.telemetry("head_pose", pose)
            renderer_bridge.push_pose(now, pose["position_m"], pose["orientation_xyzw"], frame=i)
            if i == 10:
                renderer_fact(m.IntensityChanged(intensity=5.0, target=20.0, ramp_s=1.0))
                console_events(engine.set_intensity(20.0))
            if i in (20, 40):
                # A rating pressed in VR: the renderer's fact, then the console records it.
                renderer_fact(m.RatingRecorded(value=30.0 + i, scale_max=100))
                console_events(engine.record_rating(30 + i, source="patient-in-vr"))
            if i % 10 == 0:
                hr_outlet.push_sample([70.0 + i / 10], pylsl.local_clock())
            time.sleep(0.005)
        console_events(engine.end("completed"))
        time.sleep(0.5)
        batch = physio.poll()
        console.telemetry("physio_samples", batch.journal_content())

    received = {}
    for stream, inlet in inlets.items():
        samples, stamps = inlet.pull_chunk(timeout=2.0, max_samples=1000)
        correction = inlet.time_correction(timeout=5.0)
        received[stream] = {"samples": samples, "stamps": [s + correction for s in stamps]}

    log = read_session(session_dir)
    journal = {
        "console_ratings": [
            [r.content["rating"]["value"], r.content["t_mono_ns"]]
            for r in log.by_type("suds_recorded")
            if r.process == "console"
        ],
        "renderer_intensity": [
            [r.content.get("target", r.content.get("intensity")), r.t_mono_ns]
            for r in log.by_type("scene_loaded", "intensity_changed")
            if r.process == "renderer"
        ],
        "pose": [[p.content["t_mono_ns"], p.content["position_m"]] for p in log.by_type("head_pose")],
        "console_events": [
            [r.msg_type, r.content["t_mono_ns"]]
            for r in log.records
            if r.process == "console" and r.kind == "clinical"
        ],
    }
    return {
        "session_dir": str(session_dir),
        "offset_s": console_bridge.clock_offset_s,
        "monotonic_vs_lsl_s": pylsl.local_clock() - time.monotonic(),
        "pose_desc": pose_desc,
        "received": received,
        "journal": journal,
        "physio": {"n": len(batch), "t_mono_ns": batch.t_mono_ns.tolist(), "channels": list(batch.channels)},
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
