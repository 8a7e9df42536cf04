"""What a clinical record needs of a session, beyond the research numbers: who and when (clinician,
local date and time with the time zone, the session's place in the course of treatment), the advice
the software gave and what the therapist decided each time, the therapist's intensity changes, the
SSQ read against its conventional bands, how good the recording is (with a plain warning when it
limits the data), and a short written summary of all of it.

Everything here is computed from a :class:`~vr_exposure.research.timeline.SessionTimeline`; the report
(:mod:`.report`) and the EHR export (:mod:`.fhir`) both take their clinical content from here.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np

from vr_exposure.core.metrics import SessionMetrics
from vr_exposure.core.specs import ProtocolSpec
from vr_exposure.core.ssq import SSQ_BANDS_SOURCE, SsqScore, ssq_band
from vr_exposure.errors import VrExposureError
from vr_exposure.research.hotspots import hotspot_rows
from vr_exposure.research.timeline import SessionTimeline

#: Below this share of frames on time, what the patient saw stuttered.
DROPPED_WARN_FRACTION = 0.05
#: A head pose stream slower than this share of the rendered frame rate has lost samples.
POSE_RATE_WARN_FRACTION = 0.8
#: No head pose for longer than this is a gap in the tracking record.
POSE_GAP_S = 0.5


class ClinicalError(VrExposureError, ValueError):
    """A clinical report setting that cannot be used (an unknown time zone)."""


def time_zone(name: str | None) -> dt.tzinfo:
    """The IANA time zone ``name`` (``Europe/Berlin``), or this machine's local zone for None."""
    if name is None:
        local = dt.datetime.now(dt.UTC).astimezone().tzinfo
        assert local is not None
        return local
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ClinicalError(
            f"--timezone {name!r}: not a known time zone (an IANA name such as Europe/Berlin or "
            "America/New_York)"
        ) from None


def local_datetime(utc_ns: int, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(utc_ns / 1e9, tz=dt.UTC).astimezone(tz)


def local_text(utc_ns: int | None, tz: dt.tzinfo, *, date: bool = True) -> str:
    """``2026-12-01 14:05 CET (UTC+01:00)``: local wall-clock time with the zone's name and offset."""
    if utc_ns is None:
        return "unknown"
    t = local_datetime(utc_ns, tz)
    offset = t.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    name = t.tzname() or ""
    zone = f"{name} ({offset})" if name and name not in ("UTC", offset) else offset
    return (t.strftime("%Y-%m-%d %H:%M") if date else t.strftime("%H:%M:%S")) + f" {zone}"


def clinician_of(tl: SessionTimeline) -> str | None:
    """The clinician the console recorded when it opened the session, if it did."""
    for e in tl.events:
        if e.process == "console" and e.msg_type == "console_session_opened":
            name = e.content.get("clinician")
            return name.strip() or None if isinstance(name, str) else None
    return None


# --- advice and decisions --------------------------------------------------------------------------


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """One piece of advice the software gave and what became of it. ``decision``: accepted,
    dismissed, expired (the rung changed otherwise, or the session ended first) or pending (the
    journal ends before any decision)."""

    advice_id: str
    t_s: float
    kind: str
    rule: str
    reason: str
    rung_from: int
    rung_to: int
    decision: str
    decided_t_s: float | None
    note: str = ""
    why_expired: str = ""


def decisions(tl: SessionTimeline) -> list[Decision]:
    """The advice given in the session, in order, each with the therapist's decision."""
    given: dict[str, dict[str, Any]] = {}
    for e in tl.events:
        if e.process != "console":
            continue
        c = e.content
        if e.msg_type == "advice_given" and isinstance(c.get("advice"), dict):
            a = c["advice"]
            if isinstance(a.get("advice_id"), str):
                given[a["advice_id"]] = {
                    "advice_id": a["advice_id"],
                    "t_s": tl.t_s(e.event_mono_ns),
                    "kind": str(a.get("kind", "")),
                    "rule": str(a.get("rule", "")),
                    "reason": str(a.get("reason", "")),
                    "rung_from": int(a.get("rung_from") or 0),
                    "rung_to": int(a.get("rung_to") or 0),
                    "decision": "pending",
                    "decided_t_s": None,
                }
        elif e.msg_type in ("advice_accepted", "advice_dismissed") and c.get("advice_id") in given:
            d = given[c["advice_id"]]
            if d["decision"] == "pending":
                d["decision"] = "accepted" if e.msg_type == "advice_accepted" else "dismissed"
                d["decided_t_s"] = tl.t_s(e.event_mono_ns)
                d["note"] = str(c.get("note") or "")
        elif e.msg_type == "rung_changed":
            for advice_id in c.get("expired_advice") or ():
                open_advice = given.get(advice_id)
                if open_advice is not None and open_advice["decision"] == "pending":
                    rung = c.get("rung")
                    open_advice.update(
                        decision="expired",
                        decided_t_s=tl.t_s(e.event_mono_ns),
                        why_expired=f"the therapist chose rung {rung + 1}" if isinstance(rung, int) else "",
                    )
        elif e.msg_type == "session_ended":
            for d in given.values():
                if d["decision"] == "pending":
                    d.update(
                        decision="expired",
                        decided_t_s=tl.t_s(e.event_mono_ns),
                        why_expired="the session ended",
                    )
    return [msgspec.convert(d, Decision) for d in given.values()]


# --- intensity changes -----------------------------------------------------------------------------


class IntensityStep(msgspec.Struct, frozen=True, kw_only=True):
    """The therapist set the intensity (``rung`` set: as a rung's preset; None: directly)."""

    t_s: float
    intensity_from: float
    intensity: float
    rung: int | None


def intensity_steps(tl: SessionTimeline) -> list[IntensityStep]:
    out: list[IntensityStep] = []
    for e in tl.events:
        c = e.content
        if e.process == "console" and e.msg_type == "intensity_set":
            value, start = c.get("intensity"), c.get("intensity_from")
            if isinstance(value, int | float):
                out.append(
                    IntensityStep(
                        t_s=tl.t_s(e.event_mono_ns),
                        intensity_from=float(start) if isinstance(start, int | float) else float(value),
                        intensity=float(value),
                        rung=c.get("rung") if isinstance(c.get("rung"), int) else None,
                    )
                )
    return out


# --- SSQ -------------------------------------------------------------------------------------------


def ssq_reading(ssq: dict[str, SsqScore]) -> dict[str, Any] | None:
    """Before and after totals, their bands, the change; None without any SSQ."""
    if not ssq:
        return None
    before, after = ssq.get("before"), ssq.get("after")
    out: dict[str, Any] = {"bands_source": SSQ_BANDS_SOURCE}
    for phase, score in (("before", before), ("after", after)):
        if score is not None:
            out[phase] = {"total": score.total, "band": ssq_band(score.total)}
    if before is not None and after is not None:
        out["change"] = after.total - before.total
    return out


# --- recording quality -----------------------------------------------------------------------------


def recording_quality(tl: SessionTimeline) -> dict[str, Any]:
    """Frames drawn and dropped, head pose rate against the rendered frame rate, gaps in the pose
    stream and in the journals, torn tails; ``warnings`` says in plain words where that limits what
    the data can show."""
    f = tl.frames
    frames = int(f.frames.sum()) if len(f) else 0
    dropped = int(f.dropped.sum()) if len(f) else 0
    window = float(np.nansum(f.window_s)) if len(f) else 0.0
    frame_rate = frames / window if window > 0 else None
    pose_rate = tl.pose.rate_hz()
    gaps: list[dict[str, float]] = []
    if len(tl.pose) > 1:
        dts = np.diff(tl.pose.t_mono_ns) / 1e9
        for i in np.flatnonzero(dts > POSE_GAP_S)[:50]:
            gaps.append({"at_s": tl.t_s(int(tl.pose.t_mono_ns[i])), "length_s": float(dts[i])})
    seq_gaps = sum(x.seq_gaps for x in tl.files)
    bad_lines = sum(x.bad_lines for x in tl.files)
    warnings: list[str] = []
    if frames and dropped / frames > DROPPED_WARN_FRACTION:
        warnings.append(
            f"{dropped} of {frames} frames ({100 * dropped / frames:.0f}%) were late: the patient saw a "
            "stuttering picture, which can itself cause discomfort, and times of what was shown are less "
            "exact."
        )
    if pose_rate is not None and frame_rate and pose_rate < POSE_RATE_WARN_FRACTION * frame_rate:
        warnings.append(
            f"Head tracking was recorded at {pose_rate:.0f} Hz while frames were drawn at {frame_rate:.0f} "
            "Hz: head-movement measures from this session are unreliable."
        )
    elif len(tl.pose) == 0 and frames:
        warnings.append("No head tracking was recorded: there are no head-movement measures.")
    if gaps:
        total = sum(g["length_s"] for g in gaps)
        warnings.append(
            f"Head tracking has {len(gaps)} gap{'s' if len(gaps) != 1 else ''} longer than "
            f"{POSE_GAP_S:g} s ({total:.1f} s in all)."
        )
    if seq_gaps or bad_lines:
        warnings.append(
            f"The journal has {seq_gaps} gap{'s' if seq_gaps != 1 else ''} and {bad_lines} unreadable "
            f"line{'s' if bad_lines != 1 else ''}: some records are missing."
        )
    if tl.torn:
        warnings.append(
            "The recording ends abruptly (a crash or power loss): nothing after its last record is known."
        )
    return {
        "frames": frames,
        "dropped": dropped,
        "dropped_pct": 100.0 * dropped / frames if frames else None,
        "frame_rate_hz": frame_rate,
        "pose_samples": len(tl.pose),
        "pose_rate_hz": pose_rate,
        "pose_gaps": gaps,
        "journal_seq_gaps": seq_gaps,
        "journal_bad_lines": bad_lines,
        "torn": [t.sentence() for t in tl.torn],
        "warnings": warnings,
        "limits_data": bool(warnings),
    }


# --- the written summary ---------------------------------------------------------------------------


# Who asked for the safe place, as the renderer or the engine journals it -> in words.
_WHO = {
    "console": "the therapist",
    "therapist": "the therapist",
    "patient": "the patient",
    "link_lost": "the renderer on losing the console",
    "link-lost": "the renderer on losing the console",
}


def duration_text(seconds: float) -> str:
    """``45 s``, ``14 min 05 s``, ``1 h 02 min``."""
    return _duration(seconds)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m < 60 else f"{m // 60} h {m % 60:02d} min"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _fmt(v: float | None) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:g}"


def written_summary(
    tl: SessionTimeline,
    metrics: SessionMetrics,
    protocol: ProtocolSpec | None,
    *,
    position: tuple[int, int] | None,
    previous: SessionMetrics | None,
    ssq: dict[str, SsqScore],
    advice: Sequence[Decision],
    quality: dict[str, Any],
) -> list[str]:
    """A few sentences a therapist can file: what was done, peak and end SUDS, the change from the
    last session, safe-place use, side effects (SSQ), advice and decisions, and a word on the
    recording where it limits the data."""
    out: list[str] = []
    title = protocol.title if protocol is not None else (tl.protocol_id or "a free session")
    start, end = tl.session_started_mono_ns, tl.session_ended_mono_ns or tl.end_mono_ns
    exposure = _duration(tl.t_s(end) - tl.t_s(start)) if start is not None else "no recorded start"
    where = f"Session {position[0]} of {position[1]} for {tl.pseudonym}" if position else tl.pseudonym
    rungs = [r.rung for r in metrics.rungs]
    did = f"{where}, {title}: {exposure} of exposure"
    rows = hotspot_rows(tl, protocol)
    if rows:
        reached = [r for r in rows if r.step > 0 and (r.entries or r.time_s > 0)]
        did += f", through {len(reached)} of {len(rows) - 1} of the patient's hotspots"
        out.append(did + ".")
        did = ""
        visited = [r for r in rows if r.n_ratings]
        if visited:
            out.append(
                "Peak/end SUDS per hotspot: "
                + "; ".join(f"{r.name} {_fmt(r.peak)}/{_fmt(r.end)} ({_duration(r.time_s)})" for r in visited)
                + "."
            )
    elif rungs and protocol is not None:
        last = max(rungs)
        name = protocol.ladder[last].title if 0 <= last < len(protocol.ladder) else ""
        span = f"rung {min(rungs) + 1}" if min(rungs) == last else f"rungs {min(rungs) + 1} to {last + 1}"
        did += f", on {span} of {len(protocol.ladder)} (highest reached: rung {last + 1}, {name})"
    if did:
        out.append(did + ".")
    s = metrics.session
    if s.n_ratings:
        text = f"SUDS peaked at {_fmt(s.peak)} and ended at {_fmt(s.end)}"
        if s.reduction_pct is not None:
            text += f", a {s.reduction_pct:.0f}% reduction within the session"
        text += f" ({_n(s.n_ratings, 'rating')} during the exposure"
        outside = sum(not r.during_exposure for r in tl.ratings)
        text += f", {outside} outside it)." if outside else ")."
        out.append(text)
    else:
        out.append("No SUDS rating was given during the exposure.")
    if previous is not None and previous.session.n_ratings and s.n_ratings:
        dp = (s.peak or 0) - (previous.session.peak or 0)
        de = (s.end or 0) - (previous.session.end or 0)
        out.append(
            f"Against the last session, peak SUDS changed by {dp:+g} and end SUDS by {de:+g}"
            + (" (less distress)." if dp <= 0 and de <= 0 else ".")
        )
    # The safe place the console sends at the end of every session is no use of it during the session.
    ended = tl.session_ended_mono_ns
    safe = [e for e in tl.safe_place if ended is None or e.start_mono_ns < ended]
    if safe:
        by = sorted({_WHO.get(e.by, e.by) for e in safe if e.by})
        out.append(
            f"The safe place was used {_n(len(safe), 'time')} ({sum(e.duration_s for e in safe):.0f} s"
            + (f"; asked for by {' and '.join(by)}" if by else "")
            + ")."
        )
    else:
        out.append("The safe place was not used.")
    if tl.pauses:
        out.append(
            f"The exposure was paused {_n(len(tl.pauses), 'time')} "
            f"({sum(e.duration_s for e in tl.pauses):.0f} s)."
        )
    if advice:
        counts = {
            k: sum(d.decision == k for d in advice) for k in ("accepted", "dismissed", "expired", "pending")
        }
        parts = [f"{v} {k}" for k, v in counts.items() if v]
        out.append(f"The software gave {_n(len(advice), 'piece')} of advice: {', '.join(parts)}.")
    reading = ssq_reading(ssq)
    if reading is not None and "before" in reading and "after" in reading:
        out.append(
            f"Side effects: SSQ total {reading['before']['total']:.1f} before ({reading['before']['band']}) "
            f"and {reading['after']['total']:.1f} after ({reading['after']['band']}), a change of "
            f"{reading['change']:+.1f}."
        )
    elif reading is not None:
        phase = "before" if "before" in reading else "after"
        out.append(
            f"Side effects: SSQ total {reading[phase]['total']:.1f} {phase} only ({reading[phase]['band']})."
        )
    else:
        out.append("No SSQ was recorded.")
    missed = len(tl.missed_probes())
    if missed:
        out.append(f"{_n(missed, 'SUDS probe')} went unanswered.")
    if tl.notes:
        out.append(f"The therapist wrote {_n(len(tl.notes), 'note')}.")
    if quality["limits_data"]:
        out.append("The recording is limited: " + quality["warnings"][0])
    return out
