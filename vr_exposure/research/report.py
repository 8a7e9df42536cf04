"""The HTML report of one or more sessions: one self-contained file (inline SVG plots, inline CSS).

Per session: what the session was (pseudonym, protocol, times, completeness; a journal that ends
abruptly says where and how many bytes were torn), the SUDS / intensity / event timeline, per-rung
metrics computed by :func:`vr_exposure.core.metrics.session_metrics` (peak, end, mean, within-session
reduction, time to 50%, expected vs. actual, time on the rung), SSQ before and after, probes (missed
ones listed), pauses and safe-place stays with durations, scene events, notes, frame timing and head
tracking. Several sessions of one pseudonym add the between-session trend of peak and end SUDS per
rung (:func:`vr_exposure.core.metrics.between_session_change`).

Every figure shown is also embedded as JSON (``<script type="application/json" id="vr-exposure-data">``)
so a script, or a test, can read the numbers without parsing tables.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from vr_exposure import __version__
from vr_exposure.core.loading import ContentLibrary, load_library
from vr_exposure.core.metrics import (
    BetweenSessionChange,
    MetricsError,
    SessionMetrics,
    TrajectoryMetrics,
    between_session_change,
)
from vr_exposure.core.specs import ProtocolSpec
from vr_exposure.errors import VrExposureError
from vr_exposure.research.svg import SvgPlot
from vr_exposure.research.timeline import SessionTimeline, group_by_pseudonym, intensity_knots, utc_iso

log = logging.getLogger(__name__)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #1d1d22; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 2px solid #ccd; }
h3 { margin-top: 1.6em; } h4 { margin: 1.2em 0 0.4em; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccd; padding: 3px 8px; text-align: right; }
th { background: #eef0f5; } td.l, th.l { text-align: left; }
.torn { background: #fff1e6; border-left: 5px solid #e06c00; padding: 8px 12px; }
.ok { color: #2a7a3a; } .warn { color: #a14600; } .muted { color: #666; font-size: 0.9em; }
section.session { margin-bottom: 2.5em; }
"""

INTENSITY_COLOUR = "#e08a00"
SUDS_COLOUR = "#1f6fd1"
MISSED_COLOUR = "#c62828"
EVENT_COLOUR = "#555"
RUNG_COLOUR = "#7b1fa2"
SAFE_COLOUR = "#4caf50"
PAUSE_COLOUR = "#9e9e9e"


def _protocol(tl: SessionTimeline, library: ContentLibrary | None) -> ProtocolSpec | None:
    if library is None or tl.protocol_id is None:
        return None
    return library.protocols.get(tl.protocol_id)


def load_protocols() -> ContentLibrary | None:
    """The content library for expected SUDS per rung (None if it cannot be loaded: a report
    without expected SUDS is still a report)."""
    try:
        return load_library(raise_on_error=False)
    except (VrExposureError, OSError) as exc:
        log.warning("report: no content library, so no expected SUDS per rung: %s", exc)
        return None


def session_data(tl: SessionTimeline, protocol: ProtocolSpec | None) -> dict[str, Any]:
    """The numbers of one session's report, as plain data (what the JSON block holds)."""
    metrics = tl.metrics(protocol)
    ssq = {s.phase: msgspec.to_builtins(s.score) for s in tl.ssq}
    return {
        "session_id": tl.session_id,
        "pseudonym": tl.pseudonym,
        "protocol": tl.protocol_id,
        "start_utc": utc_iso(tl.start_utc_ns) if tl.start_utc_ns is not None else None,
        "duration_s": tl.duration_s,
        "complete": tl.complete,
        "torn": [t.sentence() for t in tl.torn],
        "metrics": msgspec.to_builtins(metrics),
        "ssq": ssq,
        "ratings": len(tl.ratings),
        "headset_presses": len(tl.headset_ratings),
        "intensity_changes": len(tl.intensity),
        "probes": {
            "issued": len(tl.probes),
            "answered": sum(p.status == "answered" for p in tl.probes),
            "missed": [
                {
                    "probe_id": p.probe_id,
                    "due_t_s": None if p.due_mono_ns is None else tl.t_s(p.due_mono_ns),
                    "reason": p.reason,
                }
                for p in tl.missed_probes()
            ],
            "open": sum(p.status == "open" for p in tl.probes),
        },
        "episodes": [
            {
                "kind": e.kind,
                "start_t_s": tl.t_s(e.start_mono_ns),
                "end_t_s": None if e.end_mono_ns is None else tl.t_s(e.end_mono_ns),
                "duration_s": e.duration_s,
                "by": e.by,
            }
            for e in sorted((*tl.pauses, *tl.safe_place), key=lambda e: e.start_mono_ns)
        ],
        "pose_samples": len(tl.pose),
        "avoidance": [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.as_dict().items()}
            for r in tl.avoidance()
        ],
        "warnings": list(tl.warnings),
    }


def build_report(timelines: Sequence[SessionTimeline], *, library: ContentLibrary | None = None) -> str:
    """The report of ``timelines`` as one HTML document."""
    if library is None:
        library = load_protocols()
    groups = group_by_pseudonym(timelines)
    data: dict[str, Any] = {"software_version": __version__, "sessions": [], "between_sessions": {}}
    body: list[str] = []
    n = len(timelines)
    body.append("<h1>vr-exposure session report</h1>")
    body.append(
        f'<p class="muted">{n} session{"s" if n != 1 else ""}, '
        f"{len(groups)} pseudonym{'s' if len(groups) != 1 else ''}; written by vr-exposure {__version__} on "
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}. Times are minutes since each session's "
        "start; SUDS and intensity are 0-100.</p>"
    )
    for pseudonym, tls in groups.items():
        body.append(f"<h2>Pseudonym {escape(str(pseudonym))}</h2>")
        metrics_list: list[SessionMetrics] = []
        for tl in tls:
            protocol = _protocol(tl, library)
            sd = session_data(tl, protocol)
            data["sessions"].append(sd)
            metrics_list.append(msgspec.convert(sd["metrics"], SessionMetrics))
            body.append(_session_html(tl, sd, protocol))
        if len(tls) >= 2:
            try:
                change = between_session_change(metrics_list)
            except MetricsError as exc:  # pragma: no cover - grouped by pseudonym already
                body.append(f'<p class="warn">{escape(str(exc))}</p>')
            else:
                data["between_sessions"][str(pseudonym)] = msgspec.to_builtins(change)
                body.append(_between_html(change, tls))
    blob = json.dumps(data, allow_nan=False, default=_json_default).replace("</", "<\\/")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>vr-exposure report</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + f'\n<script type="application/json" id="vr-exposure-data">{blob}</script>\n</body></html>\n'
    )


def _json_default(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    raise TypeError(f"not JSON: {type(obj).__name__}")


def write_report(timelines: Sequence[SessionTimeline], out: Path | str) -> Path:
    out = Path(out)
    out.write_text(build_report(timelines), encoding="utf-8")
    return out


# --- pieces -------------------------------------------------------------------------------------------


def _num(v: float | None, fmt: str = "{:.0f}") -> str:
    return "–" if v is None else fmt.format(v)


def _mmss(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    return f"{sign}{int(s // 60)}:{s % 60:04.1f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 0) -> str:
    """Cells are already escaped HTML; the first ``left`` columns align left."""

    def cell(tag: str, i: int, text: str) -> str:
        return f'<{tag} class="l">{text}</{tag}>' if i < left else f"<{tag}>{text}</{tag}>"

    th = "".join(cell("th", i, h) for i, h in enumerate(headers))
    trs = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _session_html(tl: SessionTimeline, sd: dict[str, Any], protocol: ProtocolSpec | None) -> str:
    out: list[str] = [f'<section class="session" id="session-{escape(tl.session_id)}">']
    out.append(f"<h3>Session {escape(tl.session_id)}</h3>")
    if tl.torn:
        items = "".join(f"<li>{escape(t.sentence())}</li>" for t in tl.torn)
        out.append(
            '<div class="torn"><strong>Incomplete journal.</strong> The session did not end cleanly '
            f"(a crash or power loss): <ul>{items}</ul>Everything up to that point is reported below; "
            "nothing after it was recorded.</div>"
        )
    start = tl.start_utc_ns
    meta = [
        ("Pseudonym", escape(str(tl.pseudonym))),
        ("Protocol", escape(str(tl.protocol_id))),
        ("Scene", escape(str(tl.scene_id))),
        ("Started", escape(utc_iso(start)) if start is not None else "unknown"),
        ("Journal spans", _mmss(tl.duration_s)),
        (
            "Exposure",
            _mmss(
                None
                if tl.session_started_mono_ns is None
                else tl.t_s(tl.session_ended_mono_ns or tl.end_mono_ns) - tl.t_s(tl.session_started_mono_ns)
            )
            + ("" if tl.session_ended_mono_ns is not None else " (no end recorded)"),
        ),
        ("Software", escape(tl.manifest.software_version)),
        (
            "Journal",
            '<span class="ok">complete</span>' if tl.complete else '<span class="warn">incomplete</span>',
        ),
    ]
    out.append(_table(["", ""], [[k, v] for k, v in meta], left=2))
    out.append(_timeline_svg(tl))
    out.append(_metrics_html(sd))
    out.append(_avoidance_html(sd))
    out.append(_ssq_html(sd["ssq"]))
    out.append(_probes_html(tl))
    out.append(_episodes_html(sd["episodes"]))
    out.append(_events_html(tl))
    out.append(_tech_html(tl))
    if tl.warnings:
        out.append(
            "<h4>Reading notes</h4><ul>" + "".join(f"<li>{escape(w)}</li>" for w in tl.warnings) + "</ul>"
        )
    out.append("</section>")
    return "\n".join(out)


def _timeline_svg(tl: SessionTimeline) -> str:
    x_end = max(tl.duration_s / 60.0, 0.1)
    plot = SvgPlot(
        width=940,
        height=300,
        x_range=(0.0, x_end),
        x_label="minutes since the session started",
        y_label="SUDS / intensity (0-100)",
        title="SUDS, intensity and events",
    )

    def m(t_ns: int) -> float:
        return tl.t_s(t_ns) / 60.0

    for ep in (*tl.safe_place, *tl.pauses):
        end = ep.end_mono_ns if ep.end_mono_ns is not None else tl.end_mono_ns
        colour = SAFE_COLOUR if ep.kind == "safe_place" else PAUSE_COLOUR
        plot.vspan(m(ep.start_mono_ns), m(end), colour, f"{ep.kind.replace('_', ' ')}: {ep.duration_s:.1f} s")
    plot.axes()
    for rc in tl.rung_changes:
        plot.vline(
            m(rc.t_mono_ns), RUNG_COLOUR, f"rung {rc.rung + 1}: {rc.title}", f"R{rc.rung + 1}", dash="2 2"
        )
    for e in tl.scene_events:
        if e.msg_type == "event_fired":
            name = str(e.content.get("event", ""))
            plot.vline(m(e.t_mono_ns), EVENT_COLOUR, f"event {name} at {_mmss(tl.t_s(e.t_mono_ns))}")
    ts, vs = intensity_knots(tl.intensity, tl.end_mono_ns)
    if ts.size:
        plot.polyline(((ts - tl.origin_mono_ns) / 60e9).tolist(), vs.tolist(), INTENSITY_COLOUR, width=2.0)
    req_ts, req_vs = intensity_knots(tl.intensity_requests, tl.end_mono_ns)
    if req_ts.size and tl.intensity and tl.intensity[0].process == "renderer":
        plot.polyline(
            ((req_ts - tl.origin_mono_ns) / 60e9).tolist(),
            req_vs.tolist(),
            INTENSITY_COLOUR,
            width=0.8,
            dash="3 3",
        )
    if tl.ratings:
        plot.points(
            [m(r.t_mono_ns) for r in tl.ratings],
            [r.value for r in tl.ratings],
            SUDS_COLOUR,
            titles=[f"SUDS {r.value:g} ({r.source}) at {_mmss(tl.t_s(r.t_mono_ns))}" for r in tl.ratings],
        )
    missed = [p for p in tl.missed_probes() if p.due_mono_ns is not None]
    if missed:
        plot.points(
            [m(p.due_mono_ns) for p in missed if p.due_mono_ns is not None],
            [97.0] * len(missed),
            MISSED_COLOUR,
            r=4.5,
            titles=[f"probe {p.probe_id} missed: {p.reason or ''}" for p in missed],
            shape="triangle",
        )
    plot.legend(
        [
            ("SUDS", SUDS_COLOUR),
            ("intensity", INTENSITY_COLOUR),
            ("missed probe", MISSED_COLOUR),
            ("safe place", SAFE_COLOUR),
            ("pause", PAUSE_COLOUR),
            ("event", EVENT_COLOUR),
            ("rung", RUNG_COLOUR),
        ]
    )
    return "<h4>Timeline</h4>" + plot.render("SUDS, intensity and events over the session")


def _traj_cells(t: TrajectoryMetrics) -> list[str]:
    return [
        str(t.n_ratings),
        _num(t.peak, "{:g}"),
        _num(t.end, "{:g}"),
        _num(t.mean, "{:.1f}"),
        _num(t.reduction_pct, "{:.0f}%"),
        _mmss(t.time_to_50pct_s),
    ]


def _metrics_html(sd: dict[str, Any]) -> str:
    metrics = msgspec.convert(sd["metrics"], SessionMetrics)
    rows: list[list[str]] = []
    for r in metrics.rungs:
        rows.append(
            [
                str(r.rung + 1),
                escape(r.preset or "–"),
                _num(r.expected_suds, "{:g}"),
                *_traj_cells(r.trajectory),
                _num(r.expected_minus_peak, "{:+g}"),
                _mmss(r.time_on_rung_s),
            ]
        )
    rows.append(["all", "whole session", "", *_traj_cells(metrics.session), "", ""])
    return (
        "<h4>SUDS per rung</h4>"
        + _table(
            [
                "rung",
                "preset",
                "expected",
                "n",
                "peak",
                "end",
                "mean",
                "reduction",
                "to 50%",
                "expected − peak",
                "time on rung",
            ],
            rows,
            left=2,
        )
        + (
            '<p class="muted">Ratings during exposure only (not before the start, not in the safe place). '
            "Reduction = (peak − end) / peak; “to 50%” is from the rung's start to the first rating "
            "at most half "
            "the peak.</p>"
        )
    )


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _avoidance_html(sd: dict[str, Any]) -> str:
    """Gaze and avoidance per rung, beside the rung's peak and end SUDS."""
    rows_in = sd["avoidance"]
    if not rows_in:
        return (
            '<h4>Gaze and avoidance</h4><p class="muted">No stimulus positions in the journal (a scene '
            "that tags no stimulus, or a recording from before they were journaled).</p>"
        )
    metrics = msgspec.convert(sd["metrics"], SessionMetrics)
    suds = {r.rung: r.trajectory for r in metrics.rungs}
    rows: list[list[str]] = []
    for a in sorted(rows_in, key=lambda a: (a["rung"] is None, a["rung"] or 0)):
        traj = metrics.session if a["rung"] is None else suds.get(a["rung"])
        rows.append(
            [
                "all" if a["rung"] is None else str(a["rung"] + 1),
                _num(traj.peak if traj else None),
                _num(traj.end if traj else None),
                _mmss(a["stimulus_exposure_s"]),
                _pct(a["gaze_within_15deg_share"]),
                _pct(a["gaze_within_30deg_share"]),
                _num(a["time_to_first_look_s"], "{:.1f} s"),
                _num(a["longest_look_away_s"], "{:.1f} s"),
                _num(a["mean_distance_m"], "{:.2f} m"),
                _num(a["min_distance_m"], "{:.2f} m"),
                _num(a["lean_back_max_m"], "{:+.2f} m"),
            ]
        )
    return (
        "<h4>Gaze and avoidance per rung, beside SUDS</h4>"
        + _table(
            [
                "rung",
                "peak SUDS",
                "end SUDS",
                "stimulus shown",
                "looked at (15°)",
                "within 30°",
                "first look",
                "longest look away",
                "mean distance",
                "closest",
                "most leaning back",
            ],
            rows,
        )
        + (
            '<p class="muted">Head gaze: the head\'s forward direction; a look is the stimulus within 15° '
            "of it. Times are exposure time with a stimulus shown; distances from the head to the "
            "nearest stimulus; leaning back is the head's displacement away from it since the rung's "
            "first second. Definitions: docs/research.md.</p>"
        )
    )


def _ssq_html(ssq: dict[str, dict[str, Any]]) -> str:
    if not ssq:
        return '<h4>SSQ</h4><p class="muted">No SSQ recorded.</p>'
    keys = [
        ("nausea", "Nausea"),
        ("oculomotor", "Oculomotor"),
        ("disorientation", "Disorientation"),
        ("total", "Total"),
    ]
    phases = [p for p in ("before", "after") if p in ssq] + [p for p in ssq if p not in ("before", "after")]
    rows = [[escape(p), *(f"{ssq[p][k]:.1f}" for k, _ in keys)] for p in phases]
    if "before" in ssq and "after" in ssq:
        rows.append(["change", *(f"{ssq['after'][k] - ssq['before'][k]:+.1f}" for k, _ in keys)])
    return "<h4>SSQ (simulator sickness)</h4>" + _table(["", *(h for _, h in keys)], rows, left=1)


def _probes_html(tl: SessionTimeline) -> str:
    probes = tl.probes
    if not probes:
        return '<h4>SUDS probes</h4><p class="muted">No probes in the journal.</p>'
    answered = sum(p.status == "answered" for p in probes)
    missed = tl.missed_probes()
    still_open = [p for p in probes if p.status == "open"]
    text = f"<h4>SUDS probes</h4><p>{len(probes)} issued, {answered} answered, {len(missed)} missed"
    text += f", {len(still_open)} open when the journal ended.</p>" if still_open else ".</p>"
    if missed:
        rows = [
            [
                escape(p.probe_id),
                _mmss(None if p.due_mono_ns is None else tl.t_s(p.due_mono_ns)),
                escape(p.reason or ""),
                "yes" if p.late_rating else "no",
            ]
            for p in missed
        ]
        text += _table(["missed probe", "due at", "reason", "late rating"], rows, left=1)
    return text


def _episodes_html(episodes: list[dict[str, Any]]) -> str:
    if not episodes:
        return '<h4>Pauses and safe place</h4><p class="muted">None.</p>'
    rows = [
        [
            "safe place" if e["kind"] == "safe_place" else "pause",
            _mmss(e["start_t_s"]),
            _mmss(e["end_t_s"]) if e["end_t_s"] is not None else "(journal ends)",
            f"{e['duration_s']:.1f} s",
            escape(str(e["by"] or "–")),
        ]
        for e in episodes
    ]
    total = {k: sum(e["duration_s"] for e in episodes if e["kind"] == k) for k in ("pause", "safe_place")}
    return (
        "<h4>Pauses and safe place</h4>"
        + _table(["", "from", "to", "duration", "started by"], rows, left=1)
        + f'<p class="muted">In total {total["pause"]:.1f} s paused, '
        + f"{total['safe_place']:.1f} s in the safe place.</p>"
    )


def _events_html(tl: SessionTimeline) -> str:
    rows: list[list[str]] = []
    for e in tl.events:
        if e.process == "renderer" and e.msg_type in (
            "event_fired",
            "scene_loaded",
            "preset_applied",
            "stopped",
        ):
            detail = e.content.get("event") or e.content.get("preset") or e.content.get("scene") or ""
            rows.append(
                [_mmss(tl.t_s(e.t_mono_ns)), escape(e.msg_type.replace("_", " ")), escape(str(detail))]
            )
        elif e.msg_type == "note":
            rows.append([_mmss(tl.t_s(e.t_mono_ns)), "note", escape(str(e.content.get("text", "")))])
        elif e.process == "console" and e.msg_type == "rung_changed":
            rows.append(
                [
                    _mmss(tl.t_s(e.t_mono_ns)),
                    "rung",
                    escape(f"{e.content.get('rung', 0) + 1}: {e.content.get('title', '')}"),
                ]
            )
    if not rows:
        return ""
    return "<h4>Scene events, rungs and notes</h4>" + _table(["at", "what", "detail"], rows, left=2)


def _tech_html(tl: SessionTimeline) -> str:
    parts = []
    f = tl.frames
    if len(f):
        parts.append(
            f"Frame timing: median {float(np.median(f.median_ms)):.1f} ms, "
            f"worst p99 {float(np.max(f.p99_ms)):.1f} ms, "
            f"{int(f.dropped.sum())} dropped of {int(f.frames.sum())} frames."
        )
    if len(tl.pose):
        rate = tl.pose.rate_hz()
        parts.append(f"Head pose: {len(tl.pose)} samples" + (f" at {rate:.0f} Hz" if rate else "") + ".")
    if tl.headset_ratings:
        parts.append(
            f"{len(tl.headset_ratings)} SUDS given in VR (keys or controller); "
            "each reached the console and is "
            "counted once, as a rating with source patient-in-vr."
        )
    for ps in tl.physio:
        parts.append(
            f"Physiology stream {escape(ps.stream)}: {len(ps.t_mono_ns)} samples ({', '.join(ps.channels)})."
        )
    if not parts:
        return ""
    return '<h4>Recording</h4><p class="muted">' + " ".join(parts) + "</p>"


def _between_html(change: BetweenSessionChange, tls: Sequence[SessionTimeline]) -> str:
    labels = [tl.date[:4] + "-" + tl.date[4:6] + "-" + tl.date[6:] for tl in tls]
    out = [f"<h3>Between sessions ({len(tls)} sessions)</h3>"]
    n = len(tls)
    plot = SvgPlot(
        width=940,
        height=280,
        x_range=(-0.3, n - 0.7),
        x_label="session",
        y_label="SUDS (0-100)",
        title="Peak (solid) and end (dashed) SUDS per rung",
    )
    plot.axes(x_ticks=list(range(n)), x_tick_labels=labels)
    palette = [
        "#1f6fd1",
        "#e08a00",
        "#2e7d32",
        "#c62828",
        "#6a1b9a",
        "#00838f",
        "#5d4037",
        "#ad1457",
        "#283593",
        "#827717",
        "#37474f",
        "#ef6c00",
    ]
    legend: list[tuple[str, str]] = []
    for i, s in enumerate(change.rungs):
        colour = palette[i % len(palette)]
        xs = list(range(n))
        peaks = [math.nan if v is None else v for v in s.peaks]
        ends = [math.nan if v is None else v for v in s.ends]
        plot.polyline(xs, peaks, colour, width=2.0)
        plot.polyline(xs, ends, colour, width=1.4, dash="5 3")
        plot.points(xs, peaks, colour, r=3.0, titles=[f"rung {(s.rung or 0) + 1} peak {v}" for v in s.peaks])
        legend.append((f"rung {(s.rung or 0) + 1}", colour))
    plot.legend(legend[:10])
    out.append(plot.render("Between-session trend of peak and end SUDS per rung"))
    rows = []
    for s in (change.session, *change.rungs):
        name = "whole session" if s.rung is None else f"rung {s.rung + 1}"
        rows.append(
            [
                name,
                *(f"{_num(p, '{:g}')} / {_num(e, '{:g}')}" for p, e in zip(s.peaks, s.ends, strict=True)),
                _num(s.peak_change, "{:+g}"),
                _num(s.end_change, "{:+g}"),
            ]
        )
    out.append(
        _table(["", *(f"{lab}<br>peak / end" for lab in labels), "peak change", "end change"], rows, left=1)
    )
    out.append(
        '<p class="muted">Change = last minus first session with a value; negative is less distress.</p>'
    )
    return "\n".join(out)
