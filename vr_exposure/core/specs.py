"""Scene and protocol specs: the typed, immutable objects that YAML content is loaded into.

msgspec ``Struct``s (frozen, unknown fields forbidden) rather than dataclasses: one call decodes and
type-checks, the same library types the wire protocol, and a misspelt key is an error rather than a
silently ignored setting that would change what a patient is exposed to. Loading with file/line
positions and the semantic checks live in :mod:`vr_exposure.core.loading`.
"""

from __future__ import annotations

import bisect
from typing import Literal

import msgspec

Interpolation = Literal["linear", "step"]
Condition = Literal[
    "arachnophobia",
    "acrophobia",
    "aviophobia",
    "glossophobia",
    "claustrophobia",
    "cynophobia",
    "ptsd",
    "relaxation",
]


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # Subclasses repeat ``frozen=True``: msgspec inherits it at run time, but type checkers only see a
    # frozen struct where the class says so.
    pass


class Keyframe(_Spec, frozen=True):
    """At ``intensity`` (0-100) the parameter has ``value``."""

    intensity: float
    value: float


class Parameter(_Spec, frozen=True):
    """A scene parameter driven by intensity through keyframes (sorted by intensity, 0-100)."""

    keyframes: tuple[Keyframe, ...]
    interpolation: Interpolation = "linear"
    unit: str = ""
    description: str = ""

    def at(self, intensity: float) -> float:
        """The parameter's value at ``intensity``; clamped to the first/last keyframe outside their range."""
        ks = self.keyframes
        xs = [k.intensity for k in ks]
        if intensity <= xs[0]:
            return ks[0].value
        if intensity >= xs[-1]:
            return ks[-1].value
        i = bisect.bisect_right(xs, intensity) - 1
        lo, hi = ks[i], ks[i + 1]
        if self.interpolation == "step" or hi.intensity == lo.intensity:
            return lo.value
        f = (intensity - lo.intensity) / (hi.intensity - lo.intensity)
        return lo.value + f * (hi.value - lo.value)


class Preset(_Spec, frozen=True):
    """A named rung of a fear ladder: an intensity, optionally with parameter values pinned."""

    intensity: float
    title: str = ""
    description: str = ""
    overrides: dict[str, float] = {}


class Event(_Spec, frozen=True):
    """Something the therapist can trigger (a spider drops from the ceiling). The delay is
    ``delay_s`` plus a uniform random extra in [0, ``delay_jitter_s``]."""

    title: str
    hotkey: str | None = None
    #: Where the console lists the event (``audience``, ``cabin``, ``sound``, ``sight``, ``vehicle``,
    #: ``threat`` ...); events without a group are listed under "Events".
    group: str = ""
    delay_s: float = 0.0
    delay_jitter_s: float = 0.0
    duration_s: float = 5.0
    cue: str | None = None
    description: str = ""


class AudioCue(_Spec, frozen=True):
    """A synthesised or shipped sound. ``source`` names a synthesiser in the renderer's audio module.
    ``position_m`` places it in 3D (None: head-locked, not spatialised). ``volume`` follows intensity
    through keyframes when given as a parameter, otherwise it is fixed."""

    source: str
    loop: bool = False
    position_m: tuple[float, float, float] | None = None
    attach_to: str | None = None
    volume: float | Parameter = 1.0
    description: str = ""

    def volume_at(self, intensity: float) -> float:
        v = self.volume
        return v if isinstance(v, float | int) else v.at(intensity)


class SceneSpec(_Spec, frozen=True):
    id: str
    title: str
    condition: Condition
    builder: str
    description: str = ""
    seated: bool = True
    parameters: dict[str, Parameter] = {}
    presets: dict[str, Preset] = {}
    events: dict[str, Event] = {}
    audio: dict[str, AudioCue] = {}

    def values_at(self, intensity: float, preset: str | None = None) -> dict[str, float]:
        """Every parameter's value at ``intensity``, with a preset's overrides applied."""
        values = {name: p.at(intensity) for name, p in self.parameters.items()}
        if preset is not None:
            values.update(self.presets[preset].overrides)
        return values


class RungSchedule(_Spec, frozen=True):
    """An event a rung fires by itself while it is on (the renderer runs it): at random with each
    wait drawn from ``every_s`` = ``[shortest, longest]`` seconds, or once, ``at_s`` seconds into
    the rung; exactly one of the two. ``strength`` (0-1) is how loud or near, as on the trigger panel."""

    event: str
    every_s: tuple[float, float] | None = None
    at_s: float | None = None
    strength: float = 1.0


class Rung(_Spec, frozen=True):
    """One step of a fear ladder: a preset of the protocol's scene and the SUDS the patient expects.
    ``intensity`` (0-100), where given, replaces the preset's own intensity: a rung a therapist made for
    one patient from the parameter values shown at the time (see :mod:`vr_exposure.core.ladder`)."""

    preset: str
    expected_suds: float
    title: str = ""
    intensity: float | None = None
    schedule: tuple[RungSchedule, ...] = ()
    """Events the rung fires by itself, started when the rung is applied and ended when it is left."""


class SudsSettings(_Spec, frozen=True):
    probe_interval_s: float = 300.0
    scale_max: Literal[10, 100] = 100
    response_window_s: float = 60.0


class MoveUpRule(_Spec, frozen=True):
    """Suggest the next rung when SUDS fell by ``reduction_from_peak`` (0-1) from the rung's peak,
    or fell below ``below`` (0-100), or after ``time_cap_s`` on the rung. Advisory only."""

    reduction_from_peak: float = 0.5
    below: float | None = None
    time_cap_s: float = 1800.0


class MoveDownRule(_Spec, frozen=True):
    """Suggest the previous rung when a rating exceeds ``ceiling`` (0-100). Advisory only."""

    ceiling: float = 90.0


class Rules(_Spec, frozen=True):
    up: MoveUpRule = MoveUpRule()
    down: MoveDownRule = MoveDownRule()


class SessionSettings(_Spec, frozen=True):
    length_s: float = 3600.0


class SafePlaceSettings(_Spec, frozen=True):
    """Where the safe place is, how fast it fades, and what the renderer does when it hears no console
    for ``link_timeout_s``: fade to the safe place, or hold the current view."""

    scene: str = "safe-place"
    preset: str | None = None
    fade_s: float = 2.0
    on_link_lost: Literal["safe_place", "hold"] = "safe_place"
    link_timeout_s: float = 5.0


class Questionnaires(_Spec, frozen=True):
    before: tuple[Literal["ssq"], ...] = ("ssq",)
    after: tuple[Literal["ssq"], ...] = ("ssq",)


ProtocolKind = Literal["graded", "prolonged-exposure"]
GRADED: ProtocolKind = "graded"
PROLONGED_EXPOSURE: ProtocolKind = "prolonged-exposure"


class StartState(_Spec, frozen=True):
    """Where a prolonged-exposure session begins: a preset of the scene, optionally at its own
    ``intensity`` (0-100) instead of the preset's."""

    preset: str
    intensity: float | None = None
    title: str = ""


class ProtocolSpec(_Spec, frozen=True):
    """A session over one scene. ``kind: graded`` (the default) climbs a fear ladder of preset rungs;
    ``kind: prolonged-exposure`` has no ladder: it begins at ``start`` and moves through the patient's
    own hotspots (:mod:`vr_exposure.core.hotspots`), kept with the patient's sessions, never here."""

    id: str
    title: str
    scene: str
    kind: ProtocolKind = GRADED
    ladder: tuple[Rung, ...] = ()
    start: StartState | None = None
    description: str = ""
    suds: SudsSettings = SudsSettings()
    rules: Rules = Rules()
    session: SessionSettings = SessionSettings()
    safe_place: SafePlaceSettings = SafePlaceSettings()
    questionnaires: Questionnaires = Questionnaires()
