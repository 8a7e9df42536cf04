"""A patient's hotspots for a prolonged-exposure protocol: the moments of the patient's own trauma
account, each as a scene state (a preset, optionally at its own intensity) and the triggers (scene
events, each with a strength 0-1) that represent it, in the order of the patient's narrative.

Hotspots belong to one patient and one protocol. They are kept with the patient's sessions (where:
:mod:`vr_exposure.journal.hotspots`), never in ``protocols/``: the protocol file says where the session
begins (``start``) and how SUDS is asked; the patient's file says what the session moves through.

A hotspot file, checked like every content file (``file:line: field.path: message``, unknown keys and
names with a "did you mean"):

.. code-block:: yaml

    protocol: road-accident-prolonged
    hotspots:
      - name: Joining the motorway at dusk
        preset: sunset
        triggers:
          - {event: truck-overtakes, strength: 0.6}
      - name: The car in front brakes
        preset: night
        intensity: 55
        triggers:
          - {event: hard-braking}
          - {event: collision, strength: 0.8}

The edits the console makes (:func:`add_hotspot`, :func:`rename_hotspot`, :func:`move_hotspot`,
:func:`delete_hotspot`, :func:`set_state`, :func:`set_triggers`) each return a new list, checked by
:func:`check_hotspots` against the scene with the same messages.

In a session, the steps are the protocol's start state and then the hotspots (:func:`session_ladder`):
the session engine treats each as a rung (its preset and intensity, its time and SUDS), so moving to a
hotspot uses the console's rung path and the metrics per rung are the metrics per hotspot.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import yaml

from vr_exposure.core import loading as ld
from vr_exposure.core.specs import PROLONGED_EXPOSURE, ProtocolSpec, Rung, SceneSpec
from vr_exposure.errors import SpecError, SpecProblem, VrExposureError

__all__ = [
    "HOTSPOTS_CHANGED",
    "HOTSPOT_ENTERED",
    "HOTSPOT_PLAN",
    "Hotspot",
    "HotspotError",
    "HotspotFile",
    "Trigger",
    "add_hotspot",
    "check_hotspot_file",
    "check_hotspots",
    "delete_hotspot",
    "dump_hotspots",
    "load_hotspots",
    "move_hotspot",
    "rename_hotspot",
    "session_ladder",
    "set_state",
    "set_triggers",
    "start_title",
]

HOTSPOT_PLAN = "hotspot_plan"
"""Console journal record: the steps a prolonged-exposure session runs on (start state and hotspots)."""
HOTSPOT_ENTERED = "hotspot_entered"
"""Console journal record: the renderer applied a step's state (the start or a hotspot)."""
HOTSPOTS_CHANGED = "hotspots_changed"
"""Console journal record: the therapist edited the patient's hotspots (the whole new list)."""

MAX_NAME = 80


class HotspotError(VrExposureError, ValueError):
    """A hotspot list or edit that cannot be used; the message names the field."""


class _Item(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Trigger(_Item, frozen=True):
    """A scene event that belongs to a hotspot, fired at ``strength`` (0-1: loudness or nearness)."""

    event: str
    strength: float = 1.0


class Hotspot(_Item, frozen=True):
    """One moment of the patient's account: its name, the scene state (``preset``, and ``intensity``
    0-100 where it differs from the preset's) and its triggers."""

    name: str
    preset: str
    intensity: float | None = None
    triggers: tuple[Trigger, ...] = ()
    note: str = ""


class HotspotFile(_Item, frozen=True):
    """A patient's hotspot file: the protocol it is for and the hotspots in narrative order."""

    protocol: str
    hotspots: tuple[Hotspot, ...] = ()


# --- checks -----------------------------------------------------------------------------------------

_Err = Callable[[tuple[str | int, ...], str], None]


def _check_items(hotspots: Sequence[Any], scene: SceneSpec | None, err: _Err) -> None:
    """The semantic checks shared by the file and the console's edits."""
    seen: dict[str, int] = {}
    for i, h in enumerate(hotspots):
        where: tuple[str | int, ...] = ("hotspots", i)
        if h is None:  # a file's item whose structure was already reported
            continue
        if not isinstance(h, Hotspot):
            err(where, "not a hotspot")
            continue
        name = h.name.strip()
        if not name:
            err((*where, "name"), "a hotspot needs a name (the patient's words for the moment)")
        elif len(name) > MAX_NAME:
            err((*where, "name"), f"{len(name)} characters; at most {MAX_NAME}")
        elif name.casefold() in seen:
            err((*where, "name"), f'"{name}" is also the name of hotspots[{seen[name.casefold()]}]')
        else:
            seen[name.casefold()] = i
        if scene is not None and h.preset not in scene.presets:
            err(
                (*where, "preset"),
                f'scene "{scene.id}" has no preset "{h.preset}"' + ld._did_you_mean(h.preset, scene.presets),
            )
        if h.intensity is not None and not (math.isfinite(h.intensity) and 0 <= h.intensity <= 100):
            err((*where, "intensity"), f"{ld._num(h.intensity)} is outside 0-100")
        fired: dict[str, int] = {}
        for j, t in enumerate(h.triggers):
            tw = (*where, "triggers", j)
            if scene is not None and t.event not in scene.events:
                err(
                    (*tw, "event"),
                    f'scene "{scene.id}" has no event "{t.event}"' + ld._did_you_mean(t.event, scene.events),
                )
            elif t.event in fired:
                err((*tw, "event"), f'"{t.event}" is also triggers[{fired[t.event]}] of this hotspot')
            else:
                fired[t.event] = j
            if not (math.isfinite(t.strength) and 0 <= t.strength <= 1):
                err((*tw, "strength"), f"{ld._num(t.strength)} is outside 0-1")


def check_hotspots(hotspots: Sequence[Hotspot], scene: SceneSpec | None) -> tuple[Hotspot, ...]:
    """``hotspots`` as a tuple, or :class:`HotspotError` naming the first bad field
    (``hotspots[2].triggers[0].event: scene "road-accident" has no event "sirens"; did you mean ...``)."""
    problems: list[str] = []
    _check_items(list(hotspots), scene, lambda path, msg: problems.append(f"{ld._render_path(path)}: {msg}"))
    if problems:
        raise HotspotError(problems[0])
    return tuple(hotspots)


def _problems(
    path: Path, scene: SceneSpec | None, protocol_id: str | None
) -> tuple[list[SpecProblem], HotspotFile | None]:
    report = ld._Report(ld._display(path))
    text = ld._read_text(path, report)
    data = ld._compose(text, report) if text is not None else None
    if text is None or data is None:
        if text is not None and not report.errors:
            report.error((), "file has no content: expected protocol and hotspots")
        return sorted(report.problems, key=lambda p: p.line or 0), None
    if not isinstance(data, dict):
        report.error(
            (), f"the top level is {ld._describe(data)}; expected a mapping with protocol and hotspots"
        )
        return report.problems, None
    ld._check_type(data, mi.type_info(HotspotFile), (), report)
    proto = data.get("protocol")
    if isinstance(proto, str) and protocol_id is not None and proto != protocol_id:
        report.error(("protocol",), f'this file is for protocol "{proto}", not "{protocol_id}"')
    items: list[Any] = []
    raw = data.get("hotspots")
    if isinstance(raw, list):
        for i, item in enumerate(raw):
            h = ld._convert_item(item, Hotspot, ("hotspots", i), report)
            items.append(h)
        _check_items(items, scene, lambda p, msg: report.error(p, msg))
    problems = sorted(report.problems, key=lambda p: p.line or 0)
    if report.errors:
        return problems, None
    try:
        return problems, msgspec.convert(data, HotspotFile)
    except msgspec.ValidationError as exc:  # a gap in the checks above; still a clean message
        return [*problems, SpecProblem(report.file, 1, "", str(exc))], None


def check_hotspot_file(
    path: str | os.PathLike[str], scene: SceneSpec | None, *, protocol_id: str | None = None
) -> list[SpecProblem]:
    """Every problem of one hotspot file, checked against ``scene`` (its presets and events)."""
    return _problems(Path(path), scene, protocol_id)[0]


def load_hotspots(
    path: str | os.PathLike[str], scene: SceneSpec | None, *, protocol_id: str | None = None
) -> HotspotFile:
    """Load one hotspot file; raises :class:`SpecError` with every problem."""
    problems, loaded = _problems(Path(path), scene, protocol_id)
    errors = [p for p in problems if p.severity == "error"]
    if errors or loaded is None:
        raise SpecError(errors or [SpecProblem(str(path), None, "", "not a hotspot file")])
    return loaded


def dump_hotspots(hotspots: HotspotFile, *, pseudonym: str | None = None) -> str:
    """The file's YAML text: what :func:`load_hotspots` reads back to the same hotspots."""
    items: list[dict[str, Any]] = []
    for h in hotspots.hotspots:
        item: dict[str, Any] = {"name": h.name, "preset": h.preset}
        if h.intensity is not None:
            item["intensity"] = h.intensity
        if h.triggers:
            item["triggers"] = [
                {"event": t.event, **({"strength": t.strength} if t.strength != 1.0 else {})}
                for t in h.triggers
            ]
        if h.note:
            item["note"] = h.note
        items.append(item)
    who = f"patient {pseudonym}, " if pseudonym else ""
    head = f"# Hotspots ({who}protocol {hotspots.protocol}), in the order of the patient's account.\n"
    head += "# Format: docs/protocol-format.md (prolonged exposure). Check: vr-exposure hotspots check.\n"
    body = yaml.safe_dump(
        {"protocol": hotspots.protocol, "hotspots": items}, sort_keys=False, allow_unicode=True, width=100
    )
    return head + body


# --- edits ------------------------------------------------------------------------------------------


def _index(hotspots: Sequence[Hotspot], index: int, what: str) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(hotspots):
        raise HotspotError(f"{what}: {index!r} is not a hotspot of this list (0-{len(hotspots) - 1})")
    return index


def add_hotspot(
    hotspots: Sequence[Hotspot],
    name: str,
    *,
    preset: str,
    intensity: float | None = None,
    after: int | None = None,
    scene: SceneSpec | None,
) -> tuple[Hotspot, ...]:
    """The list with a new hotspot ``name`` in state ``preset`` (at ``intensity``) after ``after``
    (0-based; None: at the end; -1: first)."""
    items = list(hotspots)
    pos = len(items) if after is None else (0 if after == -1 else _index(items, after, "add: after") + 1)
    items.insert(pos, Hotspot(name=name.strip(), preset=preset, intensity=_opt_float(intensity)))
    _unique_name(items, pos, name)
    return check_hotspots(items, scene)


def _unique_name(items: Sequence[Hotspot], i: int, name: str) -> None:
    """The edited hotspot ``i``'s new ``name`` against the others (the error names the edited one)."""
    key = name.strip().casefold()
    other = next((j for j, h in enumerate(items) if j != i and h.name.strip().casefold() == key), None)
    if key and other is not None:
        raise HotspotError(f'hotspots[{i}].name: "{name.strip()}" is also the name of hotspots[{other}]')


def rename_hotspot(
    hotspots: Sequence[Hotspot], index: int, name: str, scene: SceneSpec | None
) -> tuple[Hotspot, ...]:
    items = list(hotspots)
    i = _index(items, index, "rename")
    _unique_name(items, i, name)
    items[i] = msgspec.structs.replace(items[i], name=name.strip())
    return check_hotspots(items, scene)


def move_hotspot(
    hotspots: Sequence[Hotspot], index: int, to: int, scene: SceneSpec | None
) -> tuple[Hotspot, ...]:
    items = list(hotspots)
    h = items.pop(_index(items, index, "move"))
    items.insert(_index(list(hotspots), to, "move: to"), h)
    return check_hotspots(items, scene)


def delete_hotspot(hotspots: Sequence[Hotspot], index: int, scene: SceneSpec | None) -> tuple[Hotspot, ...]:
    items = list(hotspots)
    items.pop(_index(items, index, "delete"))
    return check_hotspots(items, scene)


def set_state(
    hotspots: Sequence[Hotspot], index: int, *, preset: str, intensity: float | None, scene: SceneSpec | None
) -> tuple[Hotspot, ...]:
    """The hotspot's scene state: e.g. what the patient sees now (the renderer's preset and intensity)."""
    items = list(hotspots)
    i = _index(items, index, "set state")
    items[i] = msgspec.structs.replace(items[i], preset=preset, intensity=_opt_float(intensity))
    return check_hotspots(items, scene)


def set_triggers(
    hotspots: Sequence[Hotspot], index: int, triggers: Sequence[tuple[str, float]], scene: SceneSpec | None
) -> tuple[Hotspot, ...]:
    """The hotspot's triggers, as ``(event, strength)`` pairs in the order they are offered."""
    items = list(hotspots)
    i = _index(items, index, "set triggers")
    new = tuple(Trigger(event=e, strength=float(s)) for e, s in triggers)
    items[i] = msgspec.structs.replace(items[i], triggers=new)
    return check_hotspots(items, scene)


def _opt_float(value: float | None) -> float | None:
    return None if value is None else float(value)


# --- sessions ---------------------------------------------------------------------------------------


def start_title(protocol: ProtocolSpec) -> str:
    start = protocol.start
    if start is None:
        return "Start"
    return start.title or f"Start: {start.preset}"


def session_ladder(protocol: ProtocolSpec, hotspots: Sequence[Hotspot]) -> tuple[Rung, ...]:
    """The steps of a prolonged-exposure session as the engine's rungs: the protocol's start state
    (rung 0), then each hotspot (rung ``i + 1``), titled with its name. A hotspot has no expected SUDS
    (``expected_suds`` 0: prolonged exposure predicts none)."""
    if protocol.kind != PROLONGED_EXPOSURE or protocol.start is None:
        raise HotspotError(f"protocol {protocol.id!r} is not a prolonged-exposure protocol")
    start = protocol.start
    rungs = [
        Rung(preset=start.preset, expected_suds=0.0, title=start_title(protocol), intensity=start.intensity)
    ]
    rungs += [Rung(preset=h.preset, expected_suds=0.0, title=h.name, intensity=h.intensity) for h in hotspots]
    return tuple(rungs)


def plan_content(protocol: ProtocolSpec, hotspots: Sequence[Hotspot], source: str | None) -> dict[str, Any]:
    """The ``hotspot_plan`` record: the steps as rungs (``ladder``) and the hotspots themselves."""
    return {
        "protocol": protocol.id,
        "file": source,
        "start": msgspec.to_builtins(protocol.start),
        "hotspots": msgspec.to_builtins(tuple(hotspots)),
        "ladder": msgspec.to_builtins(session_ladder(protocol, hotspots)),
    }


def hotspots_from_content(content: object) -> tuple[Hotspot, ...]:
    """Hotspots from journal content (``hotspot_plan``, ``hotspots_changed``)."""
    items = content.get("hotspots") if isinstance(content, dict) else None
    try:
        return msgspec.convert(items or [], tuple[Hotspot, ...])
    except msgspec.ValidationError as exc:
        raise HotspotError(f"hotspots: {exc}") from None


# --- metrics ----------------------------------------------------------------------------------------


class HotspotMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """SUDS and time of one step of a prolonged-exposure session: ``step`` 0 is the start state, step
    ``i`` the ``i``-th hotspot (the engine's rung of the same number)."""

    step: int
    name: str
    preset: str
    intensity: float | None
    n_ratings: int
    peak: float | None
    end: float | None
    mean: float | None
    time_s: float


def hotspot_metrics(metrics: Any, ladder: Sequence[Rung]) -> tuple[HotspotMetrics, ...]:
    """Peak, end and mean SUDS (during exposure) and exposure time of every step of ``ladder`` (the
    session's :func:`session_ladder`), from the session's :class:`~vr_exposure.core.metrics.SessionMetrics`.
    A step never visited has no ratings and 0 s."""
    out: list[HotspotMetrics] = []
    for i, rung in enumerate(ladder):
        m = metrics.rung(i)
        t = None if m is None else m.trajectory
        out.append(
            HotspotMetrics(
                step=i,
                name=rung.title or rung.preset,
                preset=rung.preset,
                intensity=rung.intensity,
                n_ratings=0 if t is None else t.n_ratings,
                peak=None if t is None else t.peak,
                end=None if t is None else t.end,
                mean=None if t is None else t.mean,
                time_s=0.0 if m is None or m.time_on_rung_s is None else float(m.time_on_rung_s),
            )
        )
    return tuple(out)


def hotspot_table(rows: Sequence[HotspotMetrics]) -> str:
    """The per-hotspot SUDS table printed at the end of a prolonged-exposure session."""
    table = [("step", "hotspot", "n", "peak", "end", "mean", "time")]

    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:.0f}"

    for r in rows:
        minutes, seconds = divmod(round(r.time_s), 60)
        table.append(
            (
                "start" if r.step == 0 else str(r.step),
                r.name[:40],
                str(r.n_ratings),
                fmt(r.peak),
                fmt(r.end),
                fmt(r.mean),
                f"{minutes}:{seconds:02d}",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        cells = [c.ljust(widths[i]) if i == 1 else c.rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
