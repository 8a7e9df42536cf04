"""The demo's scripted session: a scripted therapist and a simulated patient around one
:class:`~vr_exposure.console.controller.ConsoleController`, for any protocol.

The therapist does the SSQ before, begins the exposure, accepts the engine's advice (the only way
the rung moves), nudges the intensity once, fires the scene's events, takes the patient to the safe
place once and back, does the SSQ after and ends the session; a refused action is tried again a
moment later, as the console window offers. The patient (:func:`demo_patient`) answers every SUDS
prompt through ``press(key)``: the renderer's patient keys (0-9 for 0-90, h for 100).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import msgspec

from vr_exposure.console.controller import display_path

__all__ = [
    "DEFAULT_PROTOCOL",
    "MAX_RETRIES",
    "RETRY_AFTER_S",
    "SSQ_AFTER",
    "SSQ_BEFORE",
    "ScriptedSession",
    "compressed_protocol",
    "demo_patient",
    "time_compression",
]

#: The protocol a plain ``vr-exposure demo`` runs (``--protocol`` picks another).
DEFAULT_PROTOCOL = "spiders-graded"
SSQ_BEFORE = [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
SSQ_AFTER = [1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
#: The scripted therapist tries a refused action again after this long, at most this many times.
RETRY_AFTER_S = 1.5
MAX_RETRIES = 5


def time_compression(protocol: Any, minutes: float) -> float:
    """Protocol seconds per wall-clock second when ``protocol`` runs in ``minutes`` (30 for the
    60-minute protocol in the default 2 minutes)."""
    return float(protocol.session.length_s) / (max(0.25, minutes) * 60.0)


def compressed_protocol(protocol: Any, minutes: float) -> Any:
    """``protocol`` with its clock squeezed into ``minutes`` of wall time: a probe every protocol
    minute, the rung time cap (10 protocol minutes, so that one run climbs most of the ladder) and the
    session length scaled alike."""
    total_s = max(0.25, minutes) * 60.0
    compress = time_compression(protocol, minutes)
    probe_s = max(1.5, 60.0 / compress)
    rep = msgspec.structs.replace
    return rep(
        protocol,
        suds=rep(protocol.suds, probe_interval_s=probe_s, response_window_s=max(1.2, 0.8 * probe_s)),
        rules=rep(protocol.rules, up=rep(protocol.rules.up, time_cap_s=max(4 * probe_s, 600.0 / compress))),
        session=rep(protocol.session, length_s=total_s),
    )


#: The simulated patient's habituation time constant as a fraction of the rung time cap: the model's
#: default (600 s) is a third of the protocol's 30-minute cap, so a patient habituates within a rung.
TAU_PER_RUNG_CAP = 1.0 / 3.0


def demo_patient(seed: int, rung_cap_s: float, session_index: int = 0) -> Any:
    """The demo's simulated patient, for a rung time cap of ``rung_cap_s`` *protocol* seconds.

    The demo squeezes the cap (30 minutes in the protocol) to about 10 protocol minutes, so the
    patient habituates as much faster: ``habituation_tau_s`` is a third of the cap, as the model's
    default is of the protocol's. The patient answers with the digit keys, in steps of 10, so the fall
    must be large enough to show in them: each rung is mostly a new stimulus (``generalisation`` 0.1
    per 10 intensity points: SUDS rise again at each step up) and distress settles lower
    (``floor_fraction`` 0.2), so ratings go e.g. 50 -> 20 on a rung and the engine's "SUDS fell 50%
    from peak" advice fires, not only its time cap."""
    from vr_exposure.core.simulated_patient import SimulatedPatient

    return SimulatedPatient(
        seed,
        habituation_tau_s=TAU_PER_RUNG_CAP * rung_cap_s,
        generalisation=0.1,
        floor_fraction=0.2,
        noise_sd=3.0,
        session_index=session_index,
    )


#: The demo patient's hotspots for the shipped prolonged-exposure protocol, in the order of the account:
#: (name, preset, intensity or None, [(event, strength)]).
ROAD_ACCIDENT_HOTSPOTS: list[tuple[str, str, float | None, list[tuple[str, float]]]] = [
    ("Driving home on the highway at dusk", "sunset", None, [("truck-overtakes", 0.6)]),
    ("It gets dark and starts to rain", "rain", None, [("siren-passes", 0.4)]),
    (
        "The car ahead brakes and we hit it",
        "heavy-traffic",
        72.0,
        [("hard-braking", 1.0), ("collision", 0.8)],
    ),
]


def demo_hotspots(protocol: Any, scene: Any) -> list[tuple[str, str, float | None, list[tuple[str, float]]]]:
    """Three hotspots for the demo's simulated patient: the example list for ``road-accident-prolonged``;
    for another prolonged-exposure protocol, three of its scene's presets above the start state, each
    with one of the scene's events."""
    if protocol.id == "road-accident-prolonged":
        return ROAD_ACCIDENT_HOTSPOTS
    start = scene.presets[protocol.start.preset].intensity
    above = sorted((p.intensity, name) for name, p in scene.presets.items() if p.intensity > start)
    chosen = [above[round(i * (len(above) - 1) / 2)] for i in range(3)] if len(above) >= 3 else above
    events = sorted(scene.events)
    out: list[tuple[str, str, float | None, list[tuple[str, float]]]] = []
    for i, (_, name) in enumerate(dict.fromkeys(chosen)):
        triggers = [(events[i % len(events)], 1.0)] if events else []
        out.append((f"Hotspot {i + 1}: {scene.presets[name].title or name}", name, None, triggers))
    return out


@dataclasses.dataclass
class _Timed:
    at_s: float
    action: Callable[[], None]
    label: str


class ScriptedSession:
    """The scripted therapist and the simulated patient around one :class:`ConsoleController`.
    Call :meth:`step` ten times a second; it returns True once the session has ended.

    The controller's library holds the compressed protocol; ``compress`` (:func:`time_compression`)
    maps wall-clock seconds back to protocol seconds, the patient's time."""

    def __init__(
        self,
        controller: Any,
        press: Callable[[str], None],
        *,
        minutes: float,
        compress: float,
        seed: int,
        pseudonym: str,
        say: Callable[[str], None],
        protocol_id: str = DEFAULT_PROTOCOL,
        add_rung: tuple[str, float] | None = None,
    ) -> None:
        self.controller = controller
        self.protocol_id = protocol_id
        self.add_rung = add_rung
        self.course: Any = None
        self.press = press
        self.say = say
        self.pseudonym = pseudonym
        self.total_s = max(0.25, minutes) * 60.0
        protocol = controller.library.protocol(protocol_id)
        #: The scene of the safe place: intensity there is no exposure.
        self.safe_scene = protocol.safe_place.scene
        self.compress = compress
        self.seed = seed
        self.rung_cap_s = protocol.rules.up.time_cap_s * compress
        self.patient = demo_patient(seed, self.rung_cap_s)
        self.start_mono_s: float | None = None
        self.timed: list[_Timed] = []
        self.done = False
        self.safe_place_used = False
        self.events_fired: set[int] = set()
        self.retries: dict[str, int] = {}  # msg_id of a retried request -> how many tries so far
        # The way back from the safe place fades out, loads the scene and fades in; the renderer
        # refuses events meanwhile, so the therapist waits for the view to settle first.
        self.settle_s = 2.0 * protocol.safe_place.fade_s + 1.5
        self.events_hold_until_s = 0.0
        self.nudged = False
        self.ratings = 0
        self.summary: dict[str, Any] | None = None
        self.hotspot_session: Any = None
        self.hotspot_at: list[float] = []
        self.hotspot_triggers_fired: set[int] = set()
        self._moving = False
        controller.subscribe(self._on_ui)

    # -- time ---------------------------------------------------------------------------------------
    def elapsed_s(self) -> float:
        return 0.0 if self.start_mono_s is None else time.monotonic() - self.start_mono_s

    def _patient_t(self) -> float:
        return self.elapsed_s() * float(self.compress)

    def _later(self, delay_s: float, action: Callable[[], None], label: str) -> None:
        self.timed.append(_Timed(self.elapsed_s() + delay_s, action, label))

    # -- the script ---------------------------------------------------------------------------------
    def begin(self) -> None:
        from vr_exposure.console.course import PatientCourse
        from vr_exposure.console.hotspots import is_prolonged

        c = self.controller
        self.start_mono_s = time.monotonic()
        if is_prolonged(c.library.protocol(self.protocol_id)):
            self._begin_prolonged()
            return
        # A returning patient opens where the last session ended, on the patient's own ladder.
        self.course = course = PatientCourse.start(c, self.pseudonym, protocol_id=self.protocol_id)
        session_dir = c.session_dir
        assert session_dir is not None
        self.say(f"session {c.session_id} in {display_path(session_dir)}")
        previous = course.previous
        if previous is not None and previous.rung is not None:
            from vr_exposure.journal.course import course_position

            n, _ = course_position(session_dir)
            self.patient = demo_patient(self.seed, self.rung_cap_s, session_index=n - 1)
            self.say(
                f"returning patient: session {n}; the last one ({previous.session_id}) ended on "
                f"rung {previous.rung + 1} ({previous.title}), and this one opens there"
            )
        score = c.record_ssq("before", SSQ_BEFORE)
        self.say(f"SSQ before: total {score.total:.1f}")
        c.begin_exposure()
        self._observe()
        rung = course.start_rung
        self.say(f"exposure begins on rung {rung + 1}: {course.ran_on[rung].title}")

    def _begin_prolonged(self) -> None:
        """A prolonged-exposure session: the patient's hotspots (the demo's example list for a patient
        who has none yet), the SSQ before, then the exposure from the protocol's start state."""
        from vr_exposure.console.hotspots import HotspotEditor, HotspotSession

        c = self.controller
        editor = HotspotEditor.open(c, self.pseudonym, self.protocol_id)
        if not editor.hotspots:
            for name, preset, intensity, triggers in demo_hotspots(editor.protocol, editor.scene):
                editor.add(name, preset=preset, intensity=intensity)
                editor.set_triggers(len(editor.hotspots) - 1, triggers)
            self.say(
                f"therapist builds {self.pseudonym}'s {len(editor.hotspots)} hotspots in "
                f"{display_path(editor.path)}"
            )
        self.hotspot_session = session = HotspotSession.start(c, self.pseudonym, protocol_id=self.protocol_id)
        session_dir = c.session_dir
        assert session_dir is not None
        self.say(f"session {c.session_id} in {display_path(session_dir)}")
        score = c.record_ssq("before", SSQ_BEFORE)
        self.say(f"SSQ before: total {score.total:.1f}")
        c.begin_exposure()
        self._observe()
        self.say(f"exposure begins at the start state: {session.name(0)}")
        # The patient's account reaches each hotspot in turn; the therapist moves there as it does.
        n = len(session.hotspots)
        self.hotspot_at = [0.1 + 0.75 * i / n for i in range(n)]
        self.hotspot_triggers_fired = set()

    def _step_prolonged(self, now: float) -> None:
        session = self.hotspot_session
        engine = self.controller.engine
        if session is None or engine is None or engine.state != "running" or now < self.events_hold_until_s:
            return
        frac = now / self.total_s
        step = session.current_step or 0
        if step < len(self.hotspot_at) and frac >= self.hotspot_at[step] and not self._moving:
            self._moving = True
            self.say(f"therapist moves to hotspot {step + 1}: {session.name(step + 1)}")
            session.go_to(step + 1)
            return
        if step >= 1 and step not in self.hotspot_triggers_fired and engine.time_on_rung_s() > 1.0:
            self.hotspot_triggers_fired.add(step)
            for trigger in session.triggers(step):
                self.say(f"therapist fires trigger '{trigger.event}' (strength {trigger.strength:g})")
                session.fire(trigger)

    def step(self) -> bool:
        if self.done:
            return True
        if self.start_mono_s is None:
            self.begin()
            return False
        now = self.elapsed_s()
        due = [t for t in self.timed if t.at_s <= now]
        self.timed = [t for t in self.timed if t.at_s > now]
        for t in due:
            try:
                t.action()
            except Exception as exc:  # a scripted step that no longer applies (e.g. stale advice)
                self.say(f"({t.label} skipped: {exc})")
        engine = self.controller.engine
        if engine is None:
            return False
        frac = now / self.total_s
        if self.hotspot_session is not None:
            self._step_prolonged(now)
        if not self.nudged and frac >= 0.2 and engine.state == "running":
            self.nudged = True
            target = min(100.0, engine.intensity + 6.0)
            self.say(f"therapist nudges the intensity to {target:.0f}")
            self.controller.set_intensity(target, 1.0)
        if not self.safe_place_used and frac >= 0.45 and engine.state == "running":
            self.safe_place_used = True
            self.say("therapist: safe place (F12)")
            self.controller.safe_place()
            self._later(max(2.0, 0.04 * self.total_s), self._leave_safe_place, "leave the safe place")
        rung = engine.rung
        scene = self.controller.scene
        if (
            self.hotspot_session is None
            and rung is not None
            and rung >= 1
            and rung not in self.events_fired
            and scene is not None
            and scene.events
            and engine.state == "running"
            and engine.time_on_rung_s() > 1.0
            and now >= self.events_hold_until_s
        ):
            self.events_fired.add(rung)
            names = sorted(scene.events)
            name = names[rung % len(names)]
            self.say(f"therapist fires event '{name}'")
            self.controller.trigger_event(name)
        if now >= self.total_s and engine.state in ("running", "paused", "safe_place"):
            self._finish()
            return True
        return False

    def _leave_safe_place(self) -> None:
        self.say("therapist: back from the safe place")
        self.controller.leave_safe_place()

    def _finish(self) -> None:
        c = self.controller
        if self.add_rung is not None and self.course is not None and c.engine is not None:
            title, expected = self.add_rung
            ladder = self.course.add_from_current(title, expected)
            self.say(
                f"therapist adds a rung to {self.pseudonym}'s ladder: {title!r} (intensity "
                f"{c.engine.intensity:.0f}, expected SUDS {expected:g}); from the next session on, the "
                f"ladder has {len(ladder)} rungs"
            )
        score = c.record_ssq("after", SSQ_AFTER)
        self.say(f"SSQ after: total {score.total:.1f}")
        self.summary = c.end_session("completed")
        self.done = True

    # -- what the patient and therapist see ---------------------------------------------------------
    def _observe(self) -> None:
        st = self.controller.renderer_state
        engine = self.controller.engine
        exposed = engine is not None and engine.state == "running"
        intensity = st.target_intensity if st.scene and st.scene != self.safe_scene else 0.0
        self.patient.observe(self._patient_t(), max(0.0, min(100.0, intensity)), exposed=exposed)

    def _on_ui(self, ev: Any) -> None:
        from vr_exposure.link import messages as m

        kind = ev.kind
        if kind in ("intensity", "mode", "safe_place"):
            if self.start_mono_s is not None:
                self._observe()
            if kind == "safe_place":
                self.events_hold_until_s = self.elapsed_s() + self.settle_s
                self.say(
                    "renderer: patient in the safe place" if ev["entered"] else "renderer: exposure resumes"
                )
        elif kind == "fact" and isinstance(ev["fact"], m.SudsPromptShown):
            self._later(0.3, self._answer, "patient answers")
        elif kind == "rating":
            self.ratings += 1
            where = "in VR" if ev["source"] == "patient-in-vr" else ev["source"]
            self.say(f"SUDS {ev['value']:.0f} ({where})")
        elif kind == "probe_missed":
            self.say(f"probe {ev['probe_id']} missed")
        elif kind == "advice":
            advice = ev["advice"]
            self.say(f"advice: {advice.reason}")
            self._later(0.6, lambda: self._accept(advice.advice_id), "accept advice")
        elif kind == "rung" and self.hotspot_session is None:
            self.say(f"rung {ev['rung'] + 1}: {ev['title']} (expected SUDS {ev['expected_suds']:.0f})")
        elif kind == "hotspot":
            self._moving = False
            self.say(f"hotspot entered: {ev['name']}")
        elif kind == "event_fired":
            self.say(f"renderer: event {ev['event']} fired")
        elif kind == "error":
            self.say(f"console: {ev['message']}")
        elif kind == "refused":
            # The renderer refused a rung change, an event ... (e.g. during a fade through black, which
            # a slow machine makes longer than the wait for it): the session stayed where the patient
            # is, and the therapist clicks "Try again" a moment later, as the console window offers.
            self.say(f"console: {ev['message']}")
            attempts = self.retries.pop(ev["token"], 0)
            if attempts < MAX_RETRIES:
                token = ev["token"]
                self._later(RETRY_AFTER_S, lambda: self._retry(token, attempts + 1), "try again")

    def _retry(self, token: str, attempt: int) -> None:
        engine = self.controller.engine
        if engine is None or engine.state == "ended":
            return
        if token not in self.controller.refused:
            # The patient's situation changed since (safe place, pause): the refusal expired.
            self.say("console: the refused action expired when the renderer's mode changed")
            return
        self.say(f"therapist: try again ({attempt} of {MAX_RETRIES})")
        msg_id = self.controller.retry(token)
        if msg_id is not None:
            self.retries[msg_id] = attempt

    def _accept(self, advice_id: str) -> None:
        wait_s = self.events_hold_until_s - self.elapsed_s()
        if wait_s > 0:  # a new rung during the fade back from the safe place would be refused
            self._later(wait_s, lambda: self._accept(advice_id), "accept advice")
            return
        self.say("therapist accepts the advice")
        self.controller.accept_advice(advice_id)

    def _answer(self) -> None:
        engine = self.controller.engine
        if engine is None or engine.state == "ended":
            return
        self._observe()
        st = self.controller.renderer_state
        intensity = st.target_intensity if st.scene != self.safe_scene else 0.0
        value = self.patient.rate(self._patient_t(), max(0.0, min(100.0, intensity)))
        tens = max(0, min(10, round(value / 10)))
        self.press("h" if tens == 10 else str(tens))
