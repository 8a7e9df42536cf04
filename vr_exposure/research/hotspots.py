"""Prolonged-exposure sessions in the research tools: the session's steps (the protocol's start state,
then the patient's hotspots) as its console journal recorded them (``hotspot_plan``), and SUDS and
time per hotspot (:func:`hotspot_rows`) for the report and the export's ``hotspots`` table.

The steps come from the session's own journal, never from today's hotspot file, so a report of an old
session names the hotspots that session ran on.
"""

from __future__ import annotations

import msgspec

from vr_exposure.core import hotspots as hs
from vr_exposure.core.ladder import LadderError, ladder_from_content, with_ladder
from vr_exposure.core.specs import ProtocolSpec, Rung
from vr_exposure.research.timeline import SessionTimeline

__all__ = ["HotspotRow", "hotspot_rows", "session_steps"]


class HotspotRow(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a prolonged-exposure session: its SUDS during exposure and its exposure time, and
    how often the therapist moved there (``entries``, from ``hotspot_entered``)."""

    step: int
    hotspot: int | None
    name: str
    preset: str
    intensity: float | None
    entries: int
    n_ratings: int
    peak: float | None
    end: float | None
    mean: float | None
    time_s: float


def session_steps(tl: SessionTimeline) -> tuple[Rung, ...] | None:
    """The steps the session ran on, from its ``hotspot_plan`` record; None for any other session."""
    plan = next((e for e in tl.events if e.process == "console" and e.msg_type == hs.HOTSPOT_PLAN), None)
    if plan is None or not isinstance(plan.content, dict):
        return None
    try:
        return ladder_from_content(plan.content.get("ladder"), None, where="hotspot_plan.ladder")
    except LadderError:
        return None


def session_protocol(tl: SessionTimeline, protocol: ProtocolSpec | None) -> ProtocolSpec | None:
    """``protocol`` with the session's steps as its ladder, for a prolonged-exposure session."""
    steps = session_steps(tl)
    if protocol is None or steps is None:
        return protocol
    return with_ladder(protocol, steps)


def hotspot_rows(tl: SessionTimeline, protocol: ProtocolSpec | None = None) -> tuple[HotspotRow, ...]:
    """Peak, end and mean SUDS and exposure time of each step; () for a session without hotspots."""
    steps = session_steps(tl)
    if steps is None:
        return ()
    base = with_ladder(protocol, steps) if protocol is not None else None
    metrics = tl.metrics(base)
    entries: dict[int, int] = {}
    for e in tl.events:
        if e.process == "console" and e.msg_type == hs.HOTSPOT_ENTERED and isinstance(e.content, dict):
            step = e.content.get("step")
            if isinstance(step, int):
                entries[step] = entries.get(step, 0) + 1
    return tuple(
        HotspotRow(
            step=m.step,
            hotspot=None if m.step == 0 else m.step - 1,
            name=m.name,
            preset=m.preset,
            intensity=m.intensity,
            entries=entries.get(m.step, 0),
            n_ratings=m.n_ratings,
            peak=m.peak,
            end=m.end,
            mean=m.mean,
            time_s=m.time_s,
        )
        for m in hs.hotspot_metrics(metrics, steps)
    )
