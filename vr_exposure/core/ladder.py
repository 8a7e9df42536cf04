"""A patient's own fear ladder: the protocol's ladder as the therapist adapted it for one patient.

The protocol file is the unchanged default; a patient's ladder starts as a copy of it and changes by
three edits: :func:`move_rung` (reorder), :func:`skip_rung` (take a rung out) and :func:`add_rung` (a
new rung made from the parameter values shown now: the current rung's preset at the current intensity,
with its own title and expected SUDS). Every edit returns a new ladder, checked by
:func:`check_ladder` against the scene like any other content: errors name the field
(``ladder[3].expected_suds: 120 is outside 0-100``).

Where it is kept: in the patient's session journals, which are the course of treatment
(:mod:`vr_exposure.journal.course`). A session records the ladder it runs on (``patient_ladder``) and
each edit (``patient_ladder_changed``, with the whole new ladder); the next session of that patient
opens on the newest one. An edit takes effect from the patient's next session, so the rung numbers of
a session mean one ladder from its start to its end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import msgspec

from vr_exposure.errors import VrExposureError

from .specs import ProtocolSpec, Rung, SceneSpec

PATIENT_LADDER = "patient_ladder"
PATIENT_LADDER_CHANGED = "patient_ladder_changed"


class LadderError(VrExposureError, ValueError):
    """A patient ladder or ladder edit that cannot be used; the message names the field."""


def check_ladder(
    ladder: Sequence[Rung], scene: SceneSpec | None, *, scale_max: int = 100
) -> tuple[Rung, ...]:
    """``ladder`` as a tuple, or :class:`LadderError` naming the first bad field: no rung, a preset the
    scene lacks, an expected SUDS or an intensity out of range, a rung that is in the ladder twice."""
    rungs = tuple(ladder)
    if not rungs:
        raise LadderError("ladder: needs at least one rung")
    seen: dict[tuple[str, float | None, str], int] = {}
    for i, rung in enumerate(rungs):
        where = f"ladder[{i}]"
        if not isinstance(rung, Rung):
            raise LadderError(f"{where}: not a rung")
        if scene is not None and rung.preset not in scene.presets:
            raise LadderError(f"{where}.preset: scene {scene.id!r} has no preset {rung.preset!r}")
        _range(rung.expected_suds, 0, scale_max, f"{where}.expected_suds")
        if rung.intensity is not None:
            _range(rung.intensity, 0, 100, f"{where}.intensity")
        key = rung_key(rung)
        if key in seen:
            raise LadderError(f"{where}: the same rung as ladder[{seen[key]}] ({rung.title or rung.preset})")
        seen[key] = i
    return rungs


def _range(value: object, lo: float, hi: float, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LadderError(f"{where}: {value!r} is not a number")
    if not lo <= value <= hi:
        raise LadderError(f"{where}: {value:g} is outside {lo:g}-{hi:g}")


def rung_key(rung: Rung) -> tuple[str, float | None, str]:
    """What makes a rung the same rung in two versions of a ladder: preset, intensity and title."""
    return (rung.preset, rung.intensity, rung.title)


def find_rung(ladder: Sequence[Rung], rung: Rung) -> int | None:
    """Where ``rung`` is in ``ladder`` (by :func:`rung_key`), None if it is not there."""
    key = rung_key(rung)
    return next((i for i, r in enumerate(ladder) if rung_key(r) == key), None)


def _index(ladder: Sequence[Rung], index: int, what: str) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(ladder):
        raise LadderError(
            f"{what}: {index!r} is not a rung of this ladder (1-{len(ladder)} as shown, 0-based here)"
        )
    return index


def move_rung(ladder: Sequence[Rung], index: int, to: int, scene: SceneSpec | None) -> tuple[Rung, ...]:
    """The ladder with rung ``index`` moved to position ``to`` (both 0-based)."""
    rungs = list(ladder)
    rung = rungs.pop(_index(rungs, index, "move: rung"))
    rungs.insert(_index(list(ladder), to, "move: to"), rung)
    return check_ladder(rungs, scene)


def skip_rung(ladder: Sequence[Rung], index: int, scene: SceneSpec | None) -> tuple[Rung, ...]:
    """The ladder without rung ``index`` (0-based); the last rung cannot be skipped."""
    rungs = list(ladder)
    rungs.pop(_index(rungs, index, "skip: rung"))
    if not rungs:
        raise LadderError("skip: the ladder's only rung cannot be skipped")
    return check_ladder(rungs, scene)


def add_rung(
    ladder: Sequence[Rung],
    *,
    after: int,
    preset: str,
    intensity: float,
    expected_suds: float,
    title: str,
    scene: SceneSpec | None,
) -> tuple[Rung, ...]:
    """The ladder with a new rung after rung ``after`` (0-based; -1: first): ``preset`` at
    ``intensity``, the parameter values shown now, with its own ``expected_suds`` and ``title``."""
    rungs = list(ladder)
    if after != -1:
        _index(rungs, after, "add: after")
    title = title.strip()
    if not title:
        raise LadderError("add: title: a new rung needs a title")
    new = Rung(preset=preset, expected_suds=float(expected_suds), title=title, intensity=float(intensity))
    rungs.insert(after + 1, new)
    return check_ladder(rungs, scene)


def with_ladder(protocol: ProtocolSpec, ladder: Sequence[Rung]) -> ProtocolSpec:
    """The protocol with the patient's ladder in place of its own (the file is not touched)."""
    return msgspec.structs.replace(protocol, ladder=tuple(ladder))


def ladder_content(ladder: Sequence[Rung]) -> list[dict[str, Any]]:
    """The ladder as journal content (plain JSON types)."""
    out: list[dict[str, Any]] = msgspec.to_builtins(tuple(ladder))
    return out


def ladder_from_content(
    content: object, scene: SceneSpec | None = None, *, where: str = "ladder"
) -> tuple[Rung, ...]:
    """A ladder from journal content, checked; :class:`LadderError` naming what is wrong."""
    try:
        rungs = msgspec.convert(content, tuple[Rung, ...])
    except msgspec.ValidationError as exc:
        raise LadderError(f"{where}: {exc}") from None
    return check_ladder(rungs, scene)
