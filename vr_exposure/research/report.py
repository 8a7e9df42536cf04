"""The report of one or more sessions: one self-contained HTML file (inline SVG plots, inline CSS with a
print stylesheet for A4 or Letter pages), a clinical document a therapist can file.

Per session: who and when (pseudonym, clinician, local date and time with the time zone, session N of
the course of treatment, the protocol's title), a written summary (:func:`.clinical.written_summary`),
the SUDS / intensity / event timeline with the safe place and pauses as bands and the therapist's
intensity changes marked, the advice the software gave and the therapist's decision each time, per-rung
metrics computed by :func:`vr_exposure.core.metrics.session_metrics` (peak, end, mean, within-session
reduction, time to 50%, expected vs. actual, time on the rung), SSQ before and after with the change
and its conventional band (sources named), probes (missed ones listed), pauses and safe-place stays
with durations, scene events, notes, and the recording's quality with a plain warning where it limits
the data (a journal that ends abruptly says where and how many bytes were torn). Several sessions of
one pseudonym make a course: an overview of every session and the between-session trend of peak and
end SUDS per rung (:func:`vr_exposure.core.metrics.between_session_change`).

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
from vr_exposure.core import ladder
from vr_exposure.core.loading import ContentLibrary, load_library
from vr_exposure.core.metrics import (
    BetweenSessionChange,
    MetricsError,
    SessionMetrics,
    TrajectoryMetrics,
    between_session_change,
    left_out_sentence,
)
from vr_exposure.core.specs import PROLONGED_EXPOSURE, ProtocolSpec
from vr_exposure.core.ssq import SSQ_BANDS_SOURCE, SSQ_SCORING_SOURCE, SSQ_TOTAL_BANDS, SsqScore, ssq_band
from vr_exposure.errors import JournalError, VrExposureError
from vr_exposure.research import clinical
from vr_exposure.research.hotspots import hotspot_rows, session_protocol
from vr_exposure.research.svg import SvgPlot
from vr_exposure.research.timeline import SessionTimeline, group_by_pseudonym, intensity_knots, utc_iso

log = logging.getLogger(__name__)

PAPER_SIZES = {"a4": "A4", "letter": "letter"}

_CSS = """
body { font-family: system-ui, "DejaVu Sans", sans-serif; margin: 24px auto; max-width: 1000px;
  color: #1d1d22; padding: 0 12px; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 2px solid #ccd; }
h3 { margin-top: 1.6em; } h4 { margin: 1.2em 0 0.4em; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccd; padding: 3px 8px; text-align: right; vertical-align: top; }
th { background: #eef0f5; } td.l, th.l { text-align: left; }
table.meta th { text-align: left; width: 11em; } table.meta td { text-align: left; }
.summary { background: #f4f7fb; border-left: 5px solid #1f6fd1; padding: 6px 14px; }
.summary p { margin: 0.4em 0; }
.torn, .quality-warning { background: #fff1e6; border-left: 5px solid #e06c00; padding: 8px 12px; }
.ok { color: #2a7a3a; } .warn { color: #a14600; } .muted { color: #666; font-size: 0.9em; }
section.session { margin-bottom: 2.5em; }
svg { max-width: 100%; height: auto; }
.sources { font-size: 0.8em; color: #555; }
@media print {
  @page { size: PAPER; margin: 14mm 12mm 16mm; }
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; color: #000; }
  section.session, h2.sources-heading { break-before: page; }
  h3, h4 { break-after: avoid; }
  table, svg, .summary, .torn, .quality-warning, figure { break-inside: avoid; }
  tr { break-inside: avoid; }
  th { background: #eee !important; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  svg { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  .summary, .torn, .quality-warning { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  .no-print { display: none; }
}
"""

INTENSITY_COLOUR = "#e08a00"
SUDS_COLOUR = "#1f6fd1"
MISSED_COLOUR = "#c62828"
EVENT_COLOUR = "#555"
RUNG_COLOUR = "#7b1fa2"
SAFE_COLOUR = "#4caf50"
PAUSE_COLOUR = "#9e9e9e"
STEP_COLOUR = "#8d4e00"
BAND_OPACITY = 0.35


def _protocol(tl: SessionTimeline, library: ContentLibrary | None) -> ProtocolSpec | None:
    """The protocol as the session ran it: with the patient's own ladder where it had one."""
    if library is None or tl.protocol_id is None:
        return None
    protocol = library.protocols.get(tl.protocol_id)
    if protocol is None:
        return None
    if protocol.kind == PROLONGED_EXPOSURE:
        # Its steps are the patient's hotspots as the session's own journal recorded them.
        return session_protocol(tl, protocol)
    recorded = next(
        (e for e in tl.events if e.process == "console" and e.msg_type == ladder.PATIENT_LADDER), None
    )
    if recorded is None:
        return protocol
    try:
        rungs = ladder.ladder_from_content(recorded.content.get("ladder"), None)
    except ladder.LadderError as exc:
        log.warning(
            "report: %s: the patient ladder cannot be read (%s); the protocol's is used", tl.session_id, exc
        )
        return protocol
    return ladder.with_ladder(protocol, rungs)


def load_protocols() -> ContentLibrary | None:
    """The content library for expected SUDS per rung (None if it cannot be loaded: a report
    without expected SUDS is still a report)."""
    try:
        return load_library(raise_on_error=False)
    except (VrExposureError, OSError) as exc:
        log.warning("report: no content library, so no expected SUDS per rung: %s", exc)
        return None


def course_position(tl: SessionTimeline) -> tuple[int, int] | None:
    """``(n, total)``: the session's place among its pseudonym's sessions in its sessions root."""
    from vr_exposure.journal.course import course_position as position

    try:
        return position(tl.session_dir)
    except (JournalError, OSError):
        return None


def session_data(
    tl: SessionTimeline,
    protocol: ProtocolSpec | None,
    *,
    tz: dt.tzinfo | None = None,
    clinician: str | None = None,
    position: tuple[int, int] | None = None,
    previous: SessionMetrics | None = None,
) -> dict[str, Any]:
    """The numbers of one session's report, as plain data (what the JSON block holds)."""
    tz = tz if tz is not None else clinical.time_zone(None)
    metrics = tl.metrics(protocol)
    scores: dict[str, SsqScore] = {s.phase: s.score for s in tl.ssq}
    ssq = {phase: msgspec.to_builtins(score) for phase, score in scores.items()}
    advice = clinical.decisions(tl)
    quality = clinical.recording_quality(tl)
    outside = sum(not r.during_exposure for r in tl.ratings)
    return {
        "session_id": tl.session_id,
        "pseudonym": tl.pseudonym,
        "clinician": clinician or clinical.clinician_of(tl),
        "protocol": tl.protocol_id,
        "protocol_title": None if protocol is None else protocol.title,
        "start_utc": utc_iso(tl.start_utc_ns) if tl.start_utc_ns is not None else None,
        "start_local": clinical.local_text(tl.start_utc_ns, tz),
        "course_session": None if position is None else {"n": position[0], "of": position[1]},
        "duration_s": tl.duration_s,
        "complete": tl.complete,
        "torn": [t.sentence() for t in tl.torn],
        "summary": clinical.written_summary(
            tl,
            metrics,
            protocol,
            position=position,
            previous=previous,
            ssq=scores,
            advice=advice,
            quality=quality,
        ),
        "metrics": msgspec.to_builtins(metrics),
        "ssq": ssq,
        "ssq_reading": clinical.ssq_reading(scores),
        "ratings": len(tl.ratings),
        "ratings_outside_exposure": outside,
        "headset_presses": len(tl.headset_ratings),
        "intensity_changes": len(tl.intensity),
        "intensity_steps": msgspec.to_builtins(clinical.intensity_steps(tl)),
        "advice": msgspec.to_builtins(advice),
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
        "recording": quality,
        "avoidance": [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.as_dict().items()}
            for r in tl.avoidance()
        ],
        "warnings": list(tl.warnings),
        "hotspots": [msgspec.to_builtins(r) for r in hotspot_rows(tl, protocol)],
    }


def build_report(
    timelines: Sequence[SessionTimeline],
    *,
    library: ContentLibrary | None = None,
    clinician: str | None = None,
    tz: dt.tzinfo | None = None,
    paper: str = "a4",
    earlier: Sequence[SessionTimeline] = (),
    include_clinician: bool = True,
) -> str:
    """The report of ``timelines`` as one HTML document.

    ``clinician`` names the clinician where the console did not record one; ``tz`` is the time zone
    of the dates shown (default: this machine's); ``paper`` the printed page (``a4`` or ``letter``);
    ``earlier``: sessions before these, of the same pseudonyms, used only for "change from the last
    session"; ``include_clinician=False`` leaves the clinician's name out (a report for an EHR)."""
    if library is None:
        library = load_protocols()
    if paper not in PAPER_SIZES:
        raise clinical.ClinicalError(f"paper: {paper!r} is not one of {', '.join(PAPER_SIZES)}")
    tz = tz if tz is not None else clinical.time_zone(None)
    groups = group_by_pseudonym(timelines)
    before = group_by_pseudonym([*earlier, *timelines])
    data: dict[str, Any] = {"software_version": __version__, "sessions": [], "between_sessions": {}}
    body: list[str] = []
    n = len(timelines)
    course = any(len(v) >= 2 for v in groups.values())
    body.append(
        "<h1>Exposure therapy: course of treatment</h1>"
        if course
        else "<h1>Exposure therapy session report</h1>"
    )
    written = dt.datetime.now(dt.UTC).timestamp() * 1e9
    body.append(
        f'<p class="muted">{n} session{"s" if n != 1 else ""}, '
        f"{len(groups)} pseudonym{'s' if len(groups) != 1 else ''}; written by vr-exposure {__version__} on "
        f"{escape(clinical.local_text(int(written), tz))}. Times on the plots are minutes since each "
        "session's start; SUDS and intensity are 0-100.</p>"
    )
    for pseudonym, tls in groups.items():
        if len(tls) >= 2:
            body.append(f'<section class="course"><h2>Pseudonym {escape(str(pseudonym))}</h2>')
        metrics_list: list[SessionMetrics] = []
        datas: list[dict[str, Any]] = []
        history = before.get(pseudonym, [])
        for tl in tls:
            protocol = _protocol(tl, library)
            previous = _previous(tl, history, library)
            sd = session_data(
                tl, protocol, tz=tz, clinician=clinician, position=course_position(tl), previous=previous
            )
            if not include_clinician:
                sd["clinician"] = None
            data["sessions"].append(sd)
            datas.append(sd)
            metrics_list.append(msgspec.convert(sd["metrics"], SessionMetrics))
        if len(tls) >= 2:
            body.append(_course_html(tls, datas, library, tz))
            try:
                change = between_session_change(metrics_list)
            except MetricsError as exc:  # pragma: no cover - grouped by pseudonym already
                body.append(f'<p class="warn">{escape(str(exc))}</p>')
            else:
                data["between_sessions"][str(pseudonym)] = msgspec.to_builtins(change)
                body.append(_between_html(change, tls, tz))
            body.append("</section>")
        for tl, sd in zip(tls, datas, strict=True):
            body.append(_session_html(tl, sd, _protocol(tl, library)))
    body.append(_sources_html())
    blob = json.dumps(data, allow_nan=False, default=_json_default).replace("</", "<\\/")
    css = _CSS.replace("size: PAPER;", f"size: {PAPER_SIZES[paper]};")
    title = "vr-exposure course report" if course else "vr-exposure session report"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{css}</style></head><body>\n"
        + "\n".join(body)
        + f'\n<script type="application/json" id="vr-exposure-data">{blob}</script>\n</body></html>\n'
    )


def _previous(
    tl: SessionTimeline, history: Sequence[SessionTimeline], library: ContentLibrary | None
) -> SessionMetrics | None:
    earlier = [
        h for h in history if (h.start_utc_ns or 0, h.session_id) < (tl.start_utc_ns or 0, tl.session_id)
    ]
    if not earlier:
        return None
    last = earlier[-1]
    return last.metrics(_protocol(last, library))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    raise TypeError(f"not JSON: {type(obj).__name__}")


def write_report(
    timelines: Sequence[SessionTimeline],
    out: Path | str,
    *,
    clinician: str | None = None,
    tz: dt.tzinfo | None = None,
    paper: str = "a4",
    earlier: Sequence[SessionTimeline] = (),
) -> Path:
    out = Path(out)
    html = build_report(timelines, clinician=clinician, tz=tz, paper=paper, earlier=earlier)
    out.write_text(html, encoding="utf-8")
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
    """Cells are already escaped HTML; the first ``left`` columns align left. Every header names its
    column (an empty header cell is only allowed above a column of row names)."""
    if not any(h.strip() for h in headers):
        raise ValueError("a table needs column headers; use _meta_table for name/value rows")

    def cell(tag: str, i: int, text: str) -> str:
        return f'<{tag} class="l">{text}</{tag}>' if i < left else f"<{tag}>{text}</{tag}>"

    th = "".join(cell("th", i, h) for i, h in enumerate(headers))
    trs = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _meta_table(rows: Sequence[tuple[str, str]]) -> str:
    """Name/value rows: each name a row header, no header row (values already escaped HTML)."""
    trs = "".join(f'<tr><th scope="row">{escape(k)}</th><td>{v}</td></tr>' for k, v in rows)
    return f'<table class="meta"><tbody>{trs}</tbody></table>'


def _session_html(tl: SessionTimeline, sd: dict[str, Any], protocol: ProtocolSpec | None) -> str:
    out: list[str] = [f'<section class="session" id="session-{escape(tl.session_id)}">']
    course = sd["course_session"]
    heading = f"Session {course['n']} of {course['of']}" if course else "Session"
    out.append(f"<h2>{escape(heading)}: {escape(str(tl.pseudonym))}, {escape(sd['start_local'])}</h2>")
    if tl.torn:
        items = "".join(f"<li>{escape(t.sentence())}</li>" for t in tl.torn)
        out.append(
            '<div class="torn"><strong>Incomplete journal.</strong> The session did not end cleanly '
            f"(a crash or power loss): <ul>{items}</ul>Everything up to that point is reported below; "
            "nothing after it was recorded.</div>"
        )
    protocol_text = escape(str(tl.protocol_id or "free session"))
    if protocol is not None:
        protocol_text = f'{escape(protocol.title)} <span class="muted">({protocol_text})</span>'
    meta = [
        ("Pseudonym", escape(str(tl.pseudonym))),
        (
            "Clinician",
            escape(sd["clinician"]) if sd["clinician"] else '<span class="muted">not recorded</span>',
        ),
        ("Date and time", escape(sd["start_local"])),
        ("Course of treatment", f"session {course['n']} of {course['of']}" if course else "–"),
        (
            "Protocol",
            protocol_text if protocol is not None else escape(str(tl.protocol_id or "free session")),
        ),
        ("Scene", escape(str(tl.scene_id))),
        ("Fear ladder", escape(_ladder_text(tl, protocol))),
        (
            "Exposure",
            (
                "no start recorded"
                if tl.session_started_mono_ns is None
                else clinical.duration_text(
                    tl.t_s(tl.session_ended_mono_ns or tl.end_mono_ns) - tl.t_s(tl.session_started_mono_ns)
                )
            )
            + ("" if tl.session_ended_mono_ns is not None else " (no end recorded)"),
        ),
        ("Journal spans", clinical.duration_text(tl.duration_s)),
        ("Session id", escape(tl.session_id)),
        ("Software", escape(tl.manifest.software_version)),
        (
            "Journal",
            '<span class="ok">complete</span>' if tl.complete else '<span class="warn">incomplete</span>',
        ),
    ]
    out.append(_meta_table(meta))
    out.append(
        '<div class="summary"><h4>Summary</h4>'
        + "".join(f"<p>{escape(line)}</p>" for line in sd["summary"])
        + "</div>"
    )
    quality = sd["recording"]
    if quality["limits_data"]:
        out.append(
            '<div class="quality-warning"><strong>The recording limits what this session\'s data can '
            "show.</strong><ul>"
            + "".join(f"<li>{escape(w)}</li>" for w in quality["warnings"])
            + "</ul></div>"
        )
    out.append(_timeline_svg(tl))
    out.append(_advice_html(sd["advice"]))
    out.append(_steps_html(sd["intensity_steps"]))
    # A prolonged-exposure session's steps are hotspots, with no expected SUDS: one table per hotspot.
    out.append(_hotspots_html(sd) if sd.get("hotspots") else _metrics_html(sd))
    out.append(_avoidance_html(sd))
    out.append(_ssq_html(sd["ssq"]))
    out.append(_probes_html(tl))
    out.append(_episodes_html(sd["episodes"]))
    out.append(_events_html(tl))
    out.append(_tech_html(tl, quality))
    if tl.warnings:
        out.append(
            "<h4>Reading notes</h4><ul>" + "".join(f"<li>{escape(w)}</li>" for w in tl.warnings) + "</ul>"
        )
    out.append("</section>")
    return "\n".join(out)


def _ladder_text(tl: SessionTimeline, protocol: ProtocolSpec | None) -> str:
    if protocol is None:
        return "none (a free session)"
    if protocol.kind == PROLONGED_EXPOSURE:
        n = max(0, len(protocol.ladder) - 1)
        hotspots = f"{n} hotspot{'s' if n != 1 else ''}"
        return f"none: prolonged exposure, the start state and the patient's {hotspots}"
    own = next((e for e in tl.events if e.process == "console" and e.msg_type == ladder.PATIENT_LADDER), None)
    if own is None or not own.content.get("custom"):
        return f"the protocol's, {len(protocol.ladder)} rungs"
    added = sum(r.intensity is not None for r in protocol.ladder)
    return f"the patient's own, {len(protocol.ladder)} rungs" + (
        f" ({added} made for this patient)" if added else ""
    )


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

    plot.axes()  # first: its background is opaque, and everything below is drawn over it
    for ep in (*tl.safe_place, *tl.pauses):
        end = ep.end_mono_ns if ep.end_mono_ns is not None else tl.end_mono_ns
        colour = SAFE_COLOUR if ep.kind == "safe_place" else PAUSE_COLOUR
        plot.vspan(
            m(ep.start_mono_ns),
            m(end),
            colour,
            f"{ep.kind.replace('_', ' ')}: {ep.duration_s:.1f} s",
            opacity=BAND_OPACITY,
            css_class=f"band {ep.kind.replace('_', '-')}",
        )
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
    steps = [s for s in clinical.intensity_steps(tl) if s.rung is None]
    if steps:
        plot.points(
            [s.t_s / 60.0 for s in steps],
            [s.intensity for s in steps],
            STEP_COLOUR,
            r=4.0,
            titles=[
                f"therapist set the intensity {s.intensity_from:g} → {s.intensity:g} at {_mmss(s.t_s)}"
                for s in steps
            ],
            shape="diamond",
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
            ("set by hand", STEP_COLOUR),
            ("missed probe", MISSED_COLOUR),
            ("safe place", SAFE_COLOUR),
            ("pause", PAUSE_COLOUR),
            ("event", EVENT_COLOUR),
            ("rung", RUNG_COLOUR),
        ]
    )
    return "<h4>Timeline</h4>" + plot.render(
        "SUDS, intensity and events over the session", svg_id=f"timeline-{tl.session_id}"
    )


def _advice_html(advice: list[dict[str, Any]]) -> str:
    if not advice:
        return '<h4>Advice and decisions</h4><p class="muted">The software gave no advice.</p>'
    rows = []
    for a in advice:
        decision = a["decision"]
        if decision == "accepted":
            what = f"accepted: moved to rung {a['rung_to'] + 1}"
        elif decision == "dismissed":
            what = "dismissed" + (f" ({a['note']})" if a["note"] else "")
        elif decision == "expired":
            what = "not taken up" + (f": {a['why_expired']}" if a["why_expired"] else "")
        else:
            what = "no decision recorded (the journal ends)"
        rows.append(
            [
                _mmss(a["t_s"]),
                escape(a["reason"]),
                f'<span class="{"ok" if decision == "accepted" else "warn"}">{escape(what)}</span>',
                _mmss(a["decided_t_s"]),
            ]
        )
    return (
        "<h4>Advice and decisions</h4>"
        + _table(["given at", "advice", "therapist's decision", "decided at"], rows, left=3)
        + '<p class="muted">The software advises; it never changes the rung by itself. Rungs are '
        "numbered from 1 as on the ladder.</p>"
    )


def _steps_html(steps: list[dict[str, Any]]) -> str:
    if not steps:
        return ""
    rows = [
        [
            _mmss(s["t_s"]),
            f"{s['intensity_from']:g} → {s['intensity']:g}",
            f"rung {s['rung'] + 1} preset" if s["rung"] is not None else "set by hand",
        ]
        for s in steps
    ]
    return "<h4>Intensity changes</h4>" + _table(["at", "intensity", "how"], rows, left=0)


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
    left_out = left_out_sentence(sd["ratings"], sd["ratings_outside_exposure"])
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
        + (f'<p class="left-out">{escape(left_out)}</p>' if left_out else "")
        + (
            '<p class="muted">Ratings during exposure only (not before the start, not in the safe place). '
            "Reduction = (peak − end) / peak; “to 50%” is from the rung's start to the first rating "
            "at most half "
            "the peak.</p>"
        )
    )


def _hotspots_html(sd: dict[str, Any]) -> str:
    """SUDS per hotspot of a prolonged-exposure session: peak and end, and the time in each."""
    rows = [
        [
            "start" if h["step"] == 0 else str(h["step"]),
            escape(h["name"]),
            escape(h["preset"]) + ("" if h["intensity"] is None else f" at {h['intensity']:g}"),
            str(h["entries"]),
            str(h["n_ratings"]),
            _num(h["peak"], "{:g}"),
            _num(h["end"], "{:g}"),
            _num(h["mean"], "{:.1f}"),
            _mmss(h["time_s"]),
        ]
        for h in sd["hotspots"]
    ]
    left_out = left_out_sentence(sd["ratings"], sd["ratings_outside_exposure"])
    return (
        "<h4>SUDS per hotspot</h4>"
        + _table(["step", "hotspot", "state", "entered", "n", "peak", "end", "mean", "time"], rows, left=3)
        + (f'<p class="left-out">{escape(left_out)}</p>' if left_out else "")
        + (
            '<p class="muted">The steps of this prolonged-exposure session: the protocol\'s start state, '
            "then the patient's hotspots in the order of the account, as the session recorded them. "
            "Ratings during exposure only; time is exposure time in each hotspot over all its visits.</p>"
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
        return '<h4>SSQ (simulator sickness)</h4><p class="muted">No SSQ recorded.</p>'
    keys = [
        ("nausea", "Nausea"),
        ("oculomotor", "Oculomotor"),
        ("disorientation", "Disorientation"),
        ("total", "Total"),
    ]
    phases = [p for p in ("before", "after") if p in ssq] + [p for p in ssq if p not in ("before", "after")]
    rows = [
        [escape(p), *(f"{ssq[p][k]:.1f}" for k, _ in keys), escape(ssq_band(ssq[p]["total"]))] for p in phases
    ]
    if "before" in ssq and "after" in ssq:
        rows.append(["change", *(f"{ssq['after'][k] - ssq['before'][k]:+.1f}" for k, _ in keys), ""])
    bands = ", ".join(_band_text(i) for i in range(len(SSQ_TOTAL_BANDS)))
    return (
        "<h4>SSQ (simulator sickness)</h4>"
        + _table(["phase", *(h for _, h in keys), "Total's band"], rows, left=1)
        + f'<p class="muted">Bands of the Total score: {escape(bands)}; after Stanney, Kennedy &amp; '
        "Drexler (1997). They come from flight simulators, where scores run lower than in VR: a yardstick "
        "for side effects, not a diagnosis. Scoring after Kennedy et al. (1993). Full references at the "
        "end.</p>"
    )


def _band_text(i: int) -> str:
    bound, label = SSQ_TOTAL_BANDS[i]
    if i == 0:
        return f"{label} (0)"
    low = SSQ_TOTAL_BANDS[i - 1][0]
    if math.isinf(bound):
        return f"{label} ({low:g} or more)"
    return f"{label} ({'above 0' if low == 0 else format(low, 'g')} to under {bound:g})"


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
        + _table(["what", "from", "to", "duration", "started by"], rows, left=1)
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


def _tech_html(tl: SessionTimeline, q: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    f = tl.frames
    if q["frames"]:
        rows.append(
            (
                "Frames",
                f"{q['frames']} drawn at {q['frame_rate_hz']:.0f} Hz; {q['dropped']} late "
                f"({q['dropped_pct']:.1f}%); median {float(np.nanmedian(f.median_ms)):.1f} ms, "
                f"worst p99 {float(np.nanmax(f.p99_ms)):.1f} ms",
            )
        )
    if q["pose_samples"]:
        rate = q["pose_rate_hz"]
        rows.append(
            (
                "Head tracking",
                f"{q['pose_samples']} samples"
                + (f" at {rate:.0f} Hz" if rate else "")
                + (f" (frames at {q['frame_rate_hz']:.0f} Hz)" if q["frame_rate_hz"] else "")
                + (f"; {len(q['pose_gaps'])} gaps over 0.5 s" if q["pose_gaps"] else "; no gaps"),
            )
        )
    rows.append(
        (
            "Journal",
            f"{q['journal_seq_gaps']} gaps, {q['journal_bad_lines']} unreadable lines"
            + ("; ends abruptly: " + "; ".join(q["torn"]) if q["torn"] else "; closed cleanly"),
        )
    )
    if tl.headset_ratings:
        rows.append(
            (
                "SUDS in VR",
                f"{len(tl.headset_ratings)} given in VR (keys or controller); each reached the console "
                "and is counted once, as a rating with source patient-in-vr",
            )
        )
    for ps in tl.physio:
        rows.append((f"Physiology {ps.stream}", f"{len(ps.t_mono_ns)} samples ({', '.join(ps.channels)})"))
    verdict = (
        '<p class="warn">The recording limits the data; see the warning at the top of this session.</p>'
        if q["limits_data"]
        else '<p class="ok">The recording is complete enough for every measure in this report.</p>'
    )
    return "<h4>Recording quality</h4>" + _meta_table([(k, escape(v)) for k, v in rows]) + verdict


def _date_label(tl: SessionTimeline, tz: dt.tzinfo) -> str:
    if tl.start_utc_ns is None:
        return tl.date
    return clinical.local_datetime(tl.start_utc_ns, tz).strftime("%Y-%m-%d")


def _course_html(
    tls: Sequence[SessionTimeline],
    datas: Sequence[dict[str, Any]],
    library: ContentLibrary | None,
    tz: dt.tzinfo,
) -> str:
    """One row per session of the course: when, how far up the ladder, SUDS, safe place, SSQ, advice."""
    rows = []
    for tl, sd in zip(tls, datas, strict=True):
        metrics = msgspec.convert(sd["metrics"], SessionMetrics)
        protocol = _protocol(tl, library)
        reached = max((r.rung for r in metrics.rungs), default=None)
        if reached is not None and protocol is not None and reached < len(protocol.ladder):
            rung_text = f"{reached + 1}: {protocol.ladder[reached].title}"
        else:
            rung_text = "–" if reached is None else str(reached + 1)
        reading = sd["ssq_reading"] or {}
        after = reading.get("after")
        course = sd["course_session"]
        rows.append(
            [
                str(course["n"]) if course else "–",
                escape(sd["start_local"]),
                escape(rung_text),
                _num(metrics.session.peak, "{:g}"),
                _num(metrics.session.end, "{:g}"),
                _num(metrics.session.reduction_pct, "{:.0f}%"),
                str(_safe_place_uses(tl, sd)),
                "–" if after is None else f"{after['total']:.1f} ({escape(after['band'])})",
                f"{sum(a['decision'] == 'accepted' for a in sd['advice'])} of {len(sd['advice'])}",
            ]
        )
    return f"<h3>Course of treatment ({len(tls)} sessions)</h3>" + _table(
        [
            "session",
            "date and time",
            "highest rung",
            "peak SUDS",
            "end SUDS",
            "reduction",
            "safe place",
            "SSQ total after",
            "advice taken",
        ],
        rows,
        left=3,
    )


def _session_labels(tls: Sequence[SessionTimeline], tz: dt.tzinfo) -> list[str]:
    """``1 · 2026-12-02`` per session, with the time where two sessions share a date."""
    dates = [_date_label(tl, tz) for tl in tls]
    out = []
    for i, (tl, date) in enumerate(zip(tls, dates, strict=True), start=1):
        if dates.count(date) > 1 and tl.start_utc_ns is not None:
            date += clinical.local_datetime(tl.start_utc_ns, tz).strftime(" %H:%M")
        out.append(f"{i} · {date}")
    return out


def _safe_place_uses(tl: SessionTimeline, sd: dict[str, Any]) -> int:
    """Stays in the safe place during the session (not the one every session ends in)."""
    end = None if tl.session_ended_mono_ns is None else tl.t_s(tl.session_ended_mono_ns)
    return sum(e["kind"] == "safe_place" and (end is None or e["start_t_s"] < end) for e in sd["episodes"])


def _between_html(change: BetweenSessionChange, tls: Sequence[SessionTimeline], tz: dt.tzinfo) -> str:
    labels = _session_labels(tls, tz)
    out = [f"<h3>Trend between sessions ({len(tls)} sessions)</h3>"]
    n = len(tls)
    plot = SvgPlot(
        width=940,
        height=280,
        x_range=(-0.3, n - 0.7),
        x_label="session",
        y_label="SUDS (0-100)",
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
    legend: list[tuple[str, str]] = [("whole session", "#000")]
    xs = list(range(n))
    s = change.session
    plot.polyline(xs, [math.nan if v is None else v for v in s.peaks], "#000", width=2.6)
    plot.polyline(xs, [math.nan if v is None else v for v in s.ends], "#000", width=1.8, dash="5 3")
    plot.points(
        xs,
        [math.nan if v is None else v for v in s.peaks],
        "#000",
        r=3.5,
        titles=[f"session peak {v}" for v in s.peaks],
    )
    for i, r in enumerate(change.rungs):
        colour = palette[i % len(palette)]
        peaks = [math.nan if v is None else v for v in r.peaks]
        ends = [math.nan if v is None else v for v in r.ends]
        plot.polyline(xs, peaks, colour, width=1.6)
        plot.polyline(xs, ends, colour, width=1.0, dash="5 3")
        plot.points(xs, peaks, colour, r=2.6, titles=[f"rung {(r.rung or 0) + 1} peak {v}" for v in r.peaks])
        legend.append((f"rung {(r.rung or 0) + 1}", colour))
    plot.legend(legend[:10])
    out.append(plot.render("Between-session trend of peak and end SUDS per rung", svg_id="course-trend"))
    out.append(
        '<p class="muted">Peak (solid) and end (dashed) SUDS of each session, the whole session in black '
        "and each rung in its colour; rungs are numbered as on each session's ladder.</p>"
    )
    rows = []
    for series in (change.session, *change.rungs):
        name = "whole session" if series.rung is None else f"rung {series.rung + 1}"
        rows.append(
            [
                name,
                *(
                    f"{_num(p, '{:g}')} / {_num(e, '{:g}')}"
                    for p, e in zip(series.peaks, series.ends, strict=True)
                ),
                _num(series.peak_change, "{:+g}"),
                _num(series.end_change, "{:+g}"),
            ]
        )
    out.append(
        _table(
            ["rung", *(f"{lab}<br>peak / end" for lab in labels), "peak change", "end change"], rows, left=1
        )
    )
    out.append(
        '<p class="muted">Change = last minus first session with a value; negative is less distress.</p>'
    )
    return "\n".join(out)


def _sources_html() -> str:
    return (
        '<h2 class="sources-heading">Sources</h2><ul class="sources">'
        f"<li>SSQ scoring: {escape(SSQ_SCORING_SOURCE)}</li>"
        f"<li>SSQ Total bands: {escape(SSQ_BANDS_SOURCE)}</li></ul>"
    )
