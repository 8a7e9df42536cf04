"""Synthetic sessions written through the real journal writer, for tests, the benchmark and examples.

:func:`write_synthetic_session` plays a whole session on a :class:`~vr_exposure.core.clock.FakeClock`
without Panda3D or a network: the console side is the real session engine (its events journaled as
the console journals them), the renderer side journals the same facts the renderer app does (the link
message structs, ``msgspec.to_builtins``) and a head pose every frame plus frame timing every second.
A :class:`~vr_exposure.core.simulated_patient.SimulatedPatient` answers the probes.

It is deterministic for a given seed, so a test can compare what a tool reports with what was
written. Recorded sessions (the offscreen renderer, the demo) are what the tests check most; this
exists for sizes and situations a real-time recording cannot reach in a test (an hour of 90 Hz pose).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from vr_exposure import __version__
from vr_exposure.core import engine as eng
from vr_exposure.core.clock import FakeClock
from vr_exposure.core.simulated_patient import SimulatedPatient
from vr_exposure.core.specs import ProtocolSpec, SceneSpec, SudsSettings
from vr_exposure.core.ssq import score_ssq
from vr_exposure.link import messages as m


@dataclass
class SyntheticPlan:
    """What happens in the session. Times are seconds after the exposure starts."""

    pseudonym: str = "P042"
    duration_s: float = 180.0
    pose_rate_hz: float = 90.0
    probe_interval_s: float = 30.0
    response_window_s: float = 20.0
    intensity_changes: int = 4
    rung_changes_at_s: tuple[float, ...] = (60.0,)
    #: (time, event name); None: the scene's first event (in its YAML's order).
    events_at_s: tuple[tuple[float, str | None], ...] = ((40.0, None),)
    pause: tuple[float, float] | None = (70.0, 80.0)
    safe_place: tuple[float, float] | None = (100.0, 110.0)
    missed_probes: tuple[int, ...] = (2,)
    headset_probes: tuple[int, ...] = (1,)
    ssq: bool = True
    seed: int = 7
    session_index: int = 0
    start_s: float = 1000.0
    utc_start_s: float = 1_767_225_600.0
    end: bool = True
    physio: bool = False
    dropped_per_s: int = 0
    """Frames a second the frame timing reports as late (a slow machine)."""
    pose_every: int = 1
    """Journal the head pose every this many frames only (lost telemetry)."""
    clinician: str | None = None
    """Recorded in the console's ``console_session_opened``, as the console does."""
    notes_at_s: tuple[tuple[float, str], ...] = ()
    """The therapist's notes (``note`` records, as the console journals them)."""
    time_cap_s: float | None = None
    """The protocol's rung time cap, if not its own (a short cap makes the engine give advice)."""
    advice_decisions: tuple[str, ...] = ()
    """What the therapist does with each advice in turn, a moment after it is given: ``accept`` (the
    rung moves, the renderer applies the preset), ``dismiss``, or ``ignore``; advice beyond the list is
    ignored."""
    #: The protocol the session runs; None: the first of the installed protocols, by id.
    protocol: str | None = None
    stimulus_m: tuple[float, float, float] | None = (0.0, 1.5, 0.9)
    """Where the spider sits (tracking space, m), journaled as ``stimulus_positions`` at
    ``stimulus_rate_hz`` as the renderer does (none in the safe place); None: no stimulus records."""
    stimulus_rate_hz: float = 10.0
    head: (
        Callable[[int, float], tuple[tuple[float, float, float], tuple[float, float, float, float]]] | None
    ) = None
    """Head pose (position, quaternion x, y, z, w) for (frame, t_s); None: a slow look around."""


def yaw_pitch_quat(yaw_deg: float, pitch_deg: float = 0.0) -> tuple[float, float, float, float]:
    """The head quaternion (x, y, z, w) of a heading (degrees, left positive, about +z) and pitch
    (about +x), as Panda3D's H and P."""
    return _quat_yaw_pitch(math.radians(yaw_deg), math.radians(pitch_deg))


@dataclass
class SyntheticResult:
    """The session written and what went into it (for tests to compare against)."""

    session_dir: Path
    ratings: int = 0
    headset_presses: int = 0
    intensity_facts: int = 0
    pose_samples: int = 0
    frame_timings: int = 0
    probes_missed: int = 0
    events_fired: int = 0
    engine_metrics: Any = None
    expected: dict[str, Any] = field(default_factory=dict)


def _library(protocol_id: str | None) -> tuple[ProtocolSpec, SceneSpec]:
    from vr_exposure.core.loading import load_library

    lib = load_library()
    protocol = lib.protocol(protocol_id if protocol_id is not None else min(lib.protocols))
    return protocol, lib.scene(protocol.scene)


def _quat_yaw_pitch(yaw_rad: float, pitch_rad: float) -> tuple[float, float, float, float]:
    # Heading about +z then pitch about +x (Panda3D's H and P), as x, y, z, w.
    cy, sy = math.cos(yaw_rad / 2), math.sin(yaw_rad / 2)
    cp, sp = math.cos(pitch_rad / 2), math.sin(pitch_rad / 2)
    return (cy * sp, sy * sp, sy * cp, cy * cp)


def write_synthetic_session(
    root: Path | str, plan: SyntheticPlan | None = None, *, telemetry_flush_every: int = 8192
) -> SyntheticResult:
    """Write one session under ``root`` as ``plan`` says; returns its directory and counts."""
    from vr_exposure.journal.session import create_session
    from vr_exposure.journal.writer import JournalWriter

    plan = plan or SyntheticPlan()
    protocol, scene = _library(plan.protocol)
    protocol = msgspec.structs.replace(
        protocol,
        suds=SudsSettings(
            probe_interval_s=plan.probe_interval_s,
            scale_max=protocol.suds.scale_max,
            response_window_s=plan.response_window_s,
        ),
    )
    if plan.time_cap_s is not None:
        rules = protocol.rules
        protocol = msgspec.structs.replace(
            protocol,
            rules=msgspec.structs.replace(
                rules, up=msgspec.structs.replace(rules.up, time_cap_s=plan.time_cap_s)
            ),
        )
    clock = FakeClock(start_s=plan.start_s, utc_start_s=plan.utc_start_s)
    session_dir = create_session(
        Path(root),
        pseudonym=plan.pseudonym,
        protocol=protocol.id,
        scene=scene.id,
        software_version=__version__,
        clock=clock,
        recover=False,
    )
    result = SyntheticResult(session_dir=session_dir)
    console = JournalWriter(session_dir, process="console", clock=clock, telemetry_queue_max=1 << 20)
    renderer = JournalWriter(session_dir, process="renderer", clock=clock, telemetry_queue_max=1 << 20)
    engine = eng.SessionEngine(protocol, scene, clock)
    patient = SimulatedPatient(plan.seed, session_index=plan.session_index, noise_sd=2.0)

    advice_given: list[eng.Advice] = []

    def journal_engine(events: list[eng.SessionEvent]) -> None:
        for event in events:
            console.clinical(event.msg_type, event.content())
            if isinstance(event, eng.AdviceGiven):
                advice_given.append(event.advice)
            if isinstance(event, eng.RatingRecorded):
                result.ratings += 1
            elif isinstance(event, eng.ProbeMissed):
                result.probes_missed += 1

    def fact(content: m.Content) -> None:
        renderer.clinical(content.msg_type, msgspec.to_builtins(content))
        if content.msg_type in ("scene_loaded", "intensity_changed", "preset_applied"):
            result.intensity_facts += 1

    opened: dict[str, Any] = {
        "session_id": session_dir.name,
        "pseudonym": plan.pseudonym,
        "protocol": protocol.id,
        "scene": scene.id,
        "console": "synthetic",
        "software_version": __version__,
    }
    if plan.clinician is not None:
        opened["clinician"] = plan.clinician
    console.clinical("console_session_opened", opened)
    if plan.ssq:
        score = score_ssq([0] * 16)
        console.clinical("ssq", {"phase": "before", **msgspec.to_builtins(score)})
    renderer.clinical("renderer_started", {"backend": "offscreen", "stereo": False, "frame": 0})
    journal_engine(engine.set_rung(0))
    preset = protocol.ladder[0].preset
    fact(m.SceneLoaded(scene=scene.id, preset=preset, intensity=engine.intensity))
    journal_engine(engine.start())
    t0_ns = clock.monotonic_ns()

    frame_dt_ns = round(1e9 / plan.pose_rate_hz)
    n_frames = int(plan.duration_s * plan.pose_rate_hz)
    rung_frames = {int(t * plan.pose_rate_hz): t for t in plan.rung_changes_at_s}
    step = max(1, n_frames // (plan.intensity_changes + 1)) if plan.intensity_changes else 0
    intensity_frames = {step * (i + 1) for i in range(plan.intensity_changes)} if step else set()
    first_event = next(iter(scene.events), None)
    event_frames: dict[int, str] = {}
    for t, name in plan.events_at_s:
        chosen = name if name is not None else first_event
        if chosen is not None:
            event_frames[int(t * plan.pose_rate_hz)] = chosen
    pause_frames = (
        (int(plan.pause[0] * plan.pose_rate_hz), int(plan.pause[1] * plan.pose_rate_hz))
        if plan.pause
        else None
    )
    safe_frames = (
        (int(plan.safe_place[0] * plan.pose_rate_hz), int(plan.safe_place[1] * plan.pose_rate_hz))
        if plan.safe_place
        else None
    )
    physio_every = int(plan.pose_rate_hz) if plan.physio else 0
    stimulus_every = max(1, round(plan.pose_rate_hz / plan.stimulus_rate_hz))
    stimulus_shown = False
    in_safe_place = False
    last_tick_s = -1
    exposed = True
    for frame in range(n_frames):
        t_s = frame / plan.pose_rate_hz
        now = clock.monotonic_ns()
        if plan.stimulus_m is not None and frame % stimulus_every == 0:
            # As the renderer's StimulusTracker: the shown stimuli, one empty record when they go.
            if not in_safe_place or stimulus_shown:
                stimuli = (
                    []
                    if in_safe_place
                    else [{"node": "spider-00", "tag": "spider", "position_m": plan.stimulus_m}]
                )
                renderer.telemetry(
                    "stimulus_positions", {"frame": frame, "t_mono_ns": now, "stimuli": stimuli}
                )
                stimulus_shown = bool(stimuli)
        if plan.head is not None:
            position, orientation = plan.head(frame, t_s)
        else:
            yaw = 0.6 * math.sin(2 * math.pi * t_s / 23.0)
            pitch = 0.15 * math.sin(2 * math.pi * t_s / 7.0)
            position = (0.02 * math.sin(t_s / 3.0), 0.01 * math.cos(t_s / 5.0), 1.2)
            orientation = _quat_yaw_pitch(yaw, pitch)
        if frame % plan.pose_every == 0:
            renderer.telemetry(
                "head_pose",
                {"frame": frame, "t_mono_ns": now, "position_m": position, "orientation_xyzw": orientation},
            )
            result.pose_samples += 1
        if frame and frame % int(plan.pose_rate_hz) == 0:
            renderer.telemetry(
                "frame_timing",
                {
                    "median_ms": 11.1,
                    "p99_ms": 12.5,
                    "dropped": plan.dropped_per_s,
                    "frames": int(plan.pose_rate_hz),
                    "window_s": 1.0,
                },
            )
            result.frame_timings += 1
        if physio_every and frame % physio_every == 0:
            console.telemetry(
                "physio_samples",
                {
                    "stream": "heart-rate",
                    "channels": ["hr_bpm"],
                    "t_mono_ns": [now],
                    "values": [[70.0 + 10.0 * math.sin(t_s / 30.0)]],
                },
            )
        if telemetry_flush_every and frame % telemetry_flush_every == telemetry_flush_every - 1:
            renderer.flush()
        if frame in rung_frames and engine.rung is not None and engine.rung + 1 < len(protocol.ladder):
            journal_engine(engine.set_rung(engine.rung + 1))
            target = protocol.ladder[engine.rung].preset
            fact(m.PresetApplied(preset=target, intensity=scene.presets[target].intensity, ramp_s=2.0))
            patient.observe(t_s, engine.intensity, exposed=exposed)
        if frame in intensity_frames:
            k = sorted(intensity_frames).index(frame)
            new = float(min(100, 10 + 7 * k + (5 if k % 2 else 0)))
            start = engine.intensity
            journal_engine(engine.set_intensity(new))
            fact(m.IntensityChanged(intensity=start, target=new, ramp_s=1.0))
            patient.observe(t_s, new, exposed=exposed)
        if frame in event_frames:
            fact(m.EventFired(event=event_frames[frame]))
            result.events_fired += 1
        for at_s, text in plan.notes_at_s:
            if frame == int(at_s * plan.pose_rate_hz):
                console.clinical("note", {"text": text, "session_s": (now - t0_ns) / 1e9})
        if event_frames and frame - 4 * int(plan.pose_rate_hz) in event_frames:
            fact(m.EventEnded(event=event_frames[frame - 4 * int(plan.pose_rate_hz)]))
        if pause_frames and frame == pause_frames[0]:
            fact(m.Paused())
            journal_engine(engine.pause())
            exposed = False
            patient.observe(t_s, engine.intensity, exposed=False)
        if pause_frames and frame == pause_frames[1]:
            fact(m.Resumed())
            journal_engine(engine.resume())
            exposed = True
            patient.observe(t_s, engine.intensity, exposed=True)
        if safe_frames and frame == safe_frames[0]:
            in_safe_place = True
            fact(m.SafePlaceEntered(fade_s=2.0, source="patient"))
            journal_engine(engine.enter_safe_place(by="patient"))
            exposed = False
            patient.observe(t_s, engine.intensity, exposed=False)
        if safe_frames and frame == safe_frames[1]:
            in_safe_place = False
            fact(m.SafePlaceLeft(fade_s=2.0))
            journal_engine(engine.leave_safe_place())
            exposed = True
            patient.observe(t_s, engine.intensity, exposed=True)
        while advice_given and clock.monotonic_ns() - advice_given[0].t_mono_ns >= 1_000_000_000:
            advice = advice_given.pop(0)
            n = int(advice.advice_id.rsplit("-", 1)[-1]) - 1
            decision = plan.advice_decisions[n] if n < len(plan.advice_decisions) else "ignore"
            pending = {a.advice_id for a in engine.pending_advice}
            if decision == "accept" and advice.advice_id in pending:
                journal_engine(engine.accept_advice(advice.advice_id))
                target = protocol.ladder[advice.rung_to].preset
                fact(m.PresetApplied(preset=target, intensity=scene.presets[target].intensity, ramp_s=2.0))
                patient.observe(t_s, engine.intensity, exposed=exposed)
            elif decision == "dismiss" and advice.advice_id in pending:
                journal_engine(engine.dismiss_advice(advice.advice_id, "the patient asked to stay"))
        if int(t_s) != last_tick_s:
            last_tick_s = int(t_s)
            events = engine.tick()
            journal_engine(events)
            for ev in events:
                if isinstance(ev, eng.ProbeDue):
                    _answer(plan, ev, engine, patient, t_s, fact, journal_engine, renderer, result)
        clock.advance(frame_dt_ns / 1e9)
    if plan.ssq:
        score = score_ssq([1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0])
        console.clinical("ssq", {"phase": "after", **msgspec.to_builtins(score)})
    result.expected["exposure_s"] = (clock.monotonic_ns() - t0_ns) / 1e9
    if plan.end:
        journal_engine(engine.end("completed"))
        console.clinical("session_summary", {"ratings": result.ratings})
        fact(m.SafePlaceEntered(fade_s=2.0, source="console"))
        renderer.clinical("renderer_stopped", {"frame": n_frames, "errors": 0})
        renderer.close()
        console.close()
        _seal(session_dir, clock)
    result.engine_metrics = engine.metrics(label=session_dir.name, pseudonym=plan.pseudonym)
    if not plan.end:
        # A crash: everything so far is on disk, nothing is closed (the caller may tear the tail).
        renderer.flush()
        console.flush()
        _abandon(renderer)
        _abandon(console)
    return result


def _answer(
    plan: SyntheticPlan,
    due: eng.ProbeDue,
    engine: eng.SessionEngine,
    patient: SimulatedPatient,
    t_s: float,
    fact: Any,
    journal_engine: Any,
    renderer: Any,
    result: SyntheticResult,
) -> None:
    if due.index in plan.missed_probes:
        return
    value = patient.rate(t_s, engine.intensity)
    if due.index in plan.headset_probes:
        # The patient presses a key in VR: the renderer journals the press, the console records it.
        fact(m.SudsPromptShown(probe_id=due.probe_id, scale_max=100))
        fact(m.RatingRecorded(value=float(value), scale_max=100, probe_id=due.probe_id))
        fact(m.SudsPromptClosed(probe_id=due.probe_id, reason="answered"))
        result.headset_presses += 1
        journal_engine(
            engine.record_rating(value, scale_max=100, source="patient-in-vr", probe_id=due.probe_id)
        )
    else:
        journal_engine(engine.record_rating(value, scale_max=100, source="simulated", probe_id=due.probe_id))


def _seal(session_dir: Path, clock: FakeClock) -> None:
    try:
        from vr_exposure.journal.seal import seal_session
    except ImportError:  # a journal layer without sealing: the session stays unsealed, still readable
        return
    seal_session(session_dir, clock=clock)


def _abandon(writer: Any) -> None:
    """Leave a writer as a killed process would: file descriptor closed, no closing record."""
    writer._closing = True
    writer._wake.set()
    writer._thread.join()
    with writer._lock:
        writer._closed = True
        os.close(writer._fd)


def tear_tail(path: Path, keep_fraction: float = 0.5, partial: bytes | None = None) -> int:
    """Cut a journal file as a crash might: drop everything after ``keep_fraction`` of its lines and
    append a partial line. Returns the number of torn bytes appended."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    keep = max(1, int(len(lines) * keep_fraction))
    body = b"\n".join(lines[:keep]) + b"\n"
    torn = partial if partial is not None else lines[keep][: max(1, len(lines[keep]) // 2)]
    path.write_bytes(body + torn)
    return len(torn)
