"""Export sessions as tidy tables (CSV, Parquet) or as a BIDS dataset.

Tables (one row per observation, units in column names, times both as seconds since the session's
origin ``t_s`` and as the raw monotonic stamp ``t_mono_ns``; see :data:`TABLE_DOCS`):

    events      every clinical and meta record (content as JSON text)
    suds        SUDS ratings (the console's; see docs/research.md for why only those)
    intensity   intensity changes the renderer applied (start, target, ramp)
    pose        head pose per frame (position in metres, orientation quaternion)
    frames      frame timing summaries (one a second)
    clock_sync  (monotonic, UTC) clock pairs and console->renderer clock offsets
    probes      SUDS probes and what became of them
    episodes    pauses and safe-place stays with their durations
    ssq         SSQ scores before/after
    physio      physiology samples received over LSL (long format: stream, channel, value)
    stimulus    where the shown stimuli were (10 Hz, tracking space)
    avoidance   gaze and avoidance measures per session and per rung
    hotspots    prolonged exposure: SUDS and time per step (start state and the patient's hotspots)

CSV and Parquet use a table-first hive layout, ``<table>/pseudonym=<P>/session=<session_id>/part-0.<ext>``,
so Spark, DuckDB, pyarrow.dataset and Polars, pointed at one table's directory, read every session of
it and get ``pseudonym`` and ``session`` as columns from the path (they are therefore not stored inside
the files). ``_README.md`` (for people), ``_schema.json`` (every column's type and unit) and
``_sessions.json`` (the sessions in the tree) sit at the root, where readers skip them. Exports are
incremental and idempotent, and a killed one leaves no file a reader would take for complete (see
:func:`export_tables`).

BIDS (1.10, motion): one dataset for many sessions: ``sub-<pseudonym>/ses-<YYYYMMDD>/motion/`` with
``*_tracksys-HMD_motion.tsv`` (no header row), ``*_channels.tsv`` (3 position, 4 quaternion and a
latency channel), ``*_motion.json`` and ``*_events.tsv`` + ``.json``; ``*_scans.tsv`` per session;
``participants.tsv``, ``dataset_description.json`` and ``README`` at the root. Nothing is gzipped
(BIDS motion data are plain TSV); every file is written deterministically (same input, same bytes).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from vr_exposure import __version__
from vr_exposure.errors import VrExposureError
from vr_exposure.research.avoidance import MEASURES, AvoidanceRow
from vr_exposure.research.hotspots import hotspot_rows
from vr_exposure.research.timeline import SessionTimeline, intensity_series, utc_iso

FORMATS = ("csv", "parquet", "bids", "fhir")
TABLES = (
    "events",
    "suds",
    "intensity",
    "pose",
    "frames",
    "clock_sync",
    "probes",
    "episodes",
    "ssq",
    "physio",
    "stimulus",
    "avoidance",
    "hotspots",
)
BIDS_VERSION = "1.10.0"
BIDS_TASK = "exposure"
BIDS_TRACKSYS = "HMD"


class ExportError(VrExposureError):
    """An export that cannot be written (an output that is not a directory, a bad format)."""


TABLE_DOCS: dict[str, tuple[str, dict[str, str]]] = {
    "events": (
        "Every clinical and meta record of the session's journals, on the merged timeline.",
        {
            "t_s": "seconds since the session's origin (its directory was created)",
            "t_mono_ns": "renderer's monotonic clock, ns (CLOCK_MONOTONIC: LSL local_clock() * 1e9 on Linux)",
            "utc": "wall clock (ISO 8601, from the nearest journaled clock pair)",
            "process": "journal it came from: console or renderer",
            "kind": "clinical, meta or telemetry",
            "msg_type": "record type (docs/protocol.md, docs/journal.md)",
            "seq": "line number within its process's journal",
            "content_json": "the record's content as JSON",
        },
    ),
    "suds": (
        "SUDS ratings as the console's session engine recorded them (a rating given in VR appears "
        "once, with source patient-in-vr).",
        {
            "t_s": "seconds since the session's origin",
            "t_mono_ns": "when the rating was given, monotonic ns",
            "suds_0_100": "the rating on 0-100 (used by every metric)",
            "raw_value": "the rating as given, on 0-scale_max",
            "scale_max": "10 or 100",
            "source": "therapist, patient-in-vr or simulated",
            "probe_id": "the probe it answered, if any",
            "rung": "ladder rung selected when it was given (0-based), if any",
            "during_exposure": "false before the start and in the safe place (not in metrics)",
            "running_s": "exposure time when given (pauses and safe place not counted), s",
        },
    ),
    "intensity": (
        "Intensity changes the renderer applied: from start_intensity_0_100 at t_s, linearly to "
        "target_intensity_0_100 over ramp_s.",
        {
            "t_s": "seconds since the session's origin",
            "t_mono_ns": "monotonic ns",
            "start_intensity_0_100": "intensity shown when the change began, 0-100",
            "target_intensity_0_100": "intensity reached after the ramp, 0-100",
            "ramp_s": "ramp duration, s",
            "cause": "scene_loaded, intensity_changed or preset_applied",
            "preset": "the scene preset, where the change applied one",
            "process": "journal it came from (renderer; console where no renderer journal exists)",
        },
    ),
    "pose": (
        "Head pose of every rendered frame, in the renderer's tracking space (Panda3D axes: +x right, "
        "+y forward, +z up; metres; unit quaternion x, y, z, w).",
        {
            "t_s": "seconds since the session's origin",
            "t_mono_ns": "frame time, monotonic ns",
            "frame": "frame number",
            "position_x_m": "head position x, m",
            "position_y_m": "head position y, m",
            "position_z_m": "head position z, m",
            "orientation_x": "quaternion x",
            "orientation_y": "quaternion y",
            "orientation_z": "quaternion z",
            "orientation_w": "quaternion w",
            "intensity_0_100": "intensity shown at that frame (interpolated over ramps), 0-100",
        },
    ),
    "frames": (
        "Frame timing summaries the renderer journaled once a second.",
        {
            "t_s": "seconds since the session's origin",
            "t_mono_ns": "monotonic ns",
            "median_frame_ms": "median frame interval over the window, ms",
            "p99_frame_ms": "99th percentile frame interval, ms",
            "dropped_frames": "frames longer than 1.5 display periods",
            "frames": "frames in the window",
            "window_s": "window length, s",
        },
    ),
    "clock_sync": (
        "Clock pairs (monotonic, UTC) and console->renderer clock offsets, to place the session in "
        "wall-clock time and to merge journals from two machines.",
        {
            "record": "clock_pair or clock_offset",
            "process": "journal (or manifest) it came from",
            "t_mono_ns": "monotonic ns (merged timeline)",
            "t_s": "seconds since the session's origin",
            "utc_ns": "UTC, ns since the Unix epoch (clock pairs)",
            "utc": "the same, ISO 8601",
            "peer": "clock offsets: the other process",
            "offset_ns": "clock offsets: peer clock minus own clock, ns",
            "uncertainty_ns": "clock offsets: +- half the best round trip, ns",
        },
    ),
    "probes": (
        "SUDS probes the console issued and what became of each.",
        {
            "probe_id": "probe id",
            "probe_index": "1-based probe number",
            "due_t_s": "when it came due, s since the origin",
            "due_running_s": "exposure time at which it was due, s",
            "status": "answered, missed or open (the journal ended first)",
            "closed_t_s": "when it was answered or marked missed, s since the origin",
            "reason": "why it was missed",
            "late_rating": "a rating arrived after it was marked missed",
        },
    ),
    "episodes": (
        "Pauses and stays in the safe place, with durations.",
        {
            "episode": "pause or safe_place",
            "start_t_s": "start, s since the origin",
            "end_t_s": "end, s since the origin (empty: still open when the journal ended)",
            "duration_s": "duration, s (to the journal's end when open)",
            "started_by": "who started it (patient, console, therapist, link_lost ...)",
            "process": "journal it came from",
        },
    ),
    "ssq": (
        "Simulator Sickness Questionnaire scores (Kennedy et al. 1993).",
        {
            "phase": "before or after",
            "t_s": "when it was recorded, s since the origin",
            "nausea": "weighted Nausea score",
            "oculomotor": "weighted Oculomotor score",
            "disorientation": "weighted Disorientation score",
            "total": "weighted total score",
            "item_01 .. item_16": "answers 0-3 in questionnaire order",
        },
    ),
    "physio": (
        "Physiology samples received over LSL and journaled by the console (long format).",
        {
            "t_s": "seconds since the session's origin",
            "t_mono_ns": "monotonic ns (LSL time mapped to the journal's clock)",
            "stream": "LSL stream name",
            "channel": "channel label",
            "value": "sample value, in the stream's unit",
        },
    ),
    "stimulus": (
        "Where the stimuli the patient could see were (the nodes the scene tags `stimulus`), about "
        "10 times a second, in the frame of the head pose (tracking space, m); a row with no node: "
        "none shown from then on.",
        {
            "t_s": "seconds since the session's origin",
            "t_mono_ns": "when sampled, monotonic ns",
            "frame": "frame number",
            "node": "scene-graph node name (e.g. spider-00); empty: none shown",
            "tag": "value of its stimulus tag (e.g. spider)",
            "position_x_m": "position x, m",
            "position_y_m": "position y, m",
            "position_z_m": "position z, m",
        },
    ),
    "avoidance": (
        "Gaze and avoidance measures (docs/research.md gives the definitions): one row for the "
        "session, one per rung; times are exposure time with a stimulus shown (pauses and the safe "
        "place left out). No rows without stimulus records.",
        {
            "scope": "session or rung",
            "rung": "the rung (0-based) for scope rung; empty for the session",
            "stimulus_exposure_s": "exposure time with a stimulus shown (the time analysed), s",
            "gaze_within_15deg_share": "share of that time with a stimulus within 15 degrees of head gaze",
            "gaze_within_30deg_share": "share of that time with a stimulus within 30 degrees of head gaze",
            "time_to_first_look_s": "time before the first look (within 15 degrees), s; empty: never",
            "longest_look_away_s": "longest stretch with no stimulus within 15 degrees, s",
            "mean_distance_m": "time-weighted mean distance from the head to the nearest stimulus, m",
            "min_distance_m": "smallest distance from the head to a stimulus, m",
            "lean_back_mean_m": "mean head displacement away from the stimulus (from the first 1 s), m",
            "lean_back_max_m": "largest head displacement away from the stimulus, m",
        },
    ),
    "hotspots": (
        "Prolonged-exposure sessions: one row per step, the protocol's start state (step 0) and then the "
        "patient's hotspots in the order of the account, as the session's journal recorded them "
        "(hotspot_plan). No rows for graded sessions.",
        {
            "step": "0 the start state, i the i-th hotspot (the rung of the suds table)",
            "hotspot": "the hotspot's place in the patient's list (0-based); empty for the start",
            "name": "the hotspot's name (the start state's title)",
            "preset": "the scene preset of its state",
            "intensity_0_100": "its own intensity, where it differs from the preset's",
            "entries": "how often the therapist moved there (hotspot_entered)",
            "n_ratings": "SUDS ratings during exposure there",
            "peak_suds_0_100": "peak SUDS there",
            "end_suds_0_100": "last SUDS there",
            "mean_suds_0_100": "mean SUDS there",
            "time_s": "exposure time there over all visits, s",
        },
    ),
}


# --- tables ----------------------------------------------------------------------------------------


def _ts(tl: SessionTimeline, t_ns: np.ndarray) -> np.ndarray:
    return (t_ns.astype(np.int64) - tl.origin_mono_ns) / 1e9


def _opt_ts(tl: SessionTimeline, t: int | None) -> float | None:
    return None if t is None else tl.t_s(t)


def session_tables(tl: SessionTimeline) -> dict[str, pa.Table]:
    """Every table of one session, as pyarrow tables (column names carry units)."""
    tables: dict[str, pa.Table] = {}

    ev_t = np.asarray([e.t_mono_ns for e in tl.events], dtype=np.int64)
    enc = msgspec.json.Encoder()
    tables["events"] = pa.table(
        {
            "t_s": _ts(tl, ev_t),
            "t_mono_ns": ev_t,
            "utc": pa.array([_utc(tl, int(t)) for t in ev_t], pa.string()),
            "process": pa.array([e.process for e in tl.events], pa.string()),
            "kind": pa.array([e.kind for e in tl.events], pa.string()),
            "msg_type": pa.array([e.msg_type for e in tl.events], pa.string()),
            "seq": pa.array([e.seq for e in tl.events], pa.int64()),
            "content_json": pa.array([enc.encode(e.content).decode() for e in tl.events], pa.string()),
        }
    )

    rs = tl.ratings
    r_t = np.asarray([r.t_mono_ns for r in rs], dtype=np.int64)
    tables["suds"] = pa.table(
        {
            "t_s": _ts(tl, r_t),
            "t_mono_ns": r_t,
            "suds_0_100": pa.array([r.value for r in rs], pa.float64()),
            "raw_value": pa.array([r.raw for r in rs], pa.float64()),
            "scale_max": pa.array([r.scale_max for r in rs], pa.int64()),
            "source": pa.array([r.source for r in rs], pa.string()),
            "probe_id": pa.array([r.probe_id for r in rs], pa.string()),
            "rung": pa.array([r.rung for r in rs], pa.int64()),
            "during_exposure": pa.array([r.during_exposure for r in rs], pa.bool_()),
            "running_s": pa.array([r.running_s for r in rs], pa.float64()),
        }
    )

    ic = tl.intensity
    i_t = np.asarray([c.t_mono_ns for c in ic], dtype=np.int64)
    tables["intensity"] = pa.table(
        {
            "t_s": _ts(tl, i_t),
            "t_mono_ns": i_t,
            "start_intensity_0_100": pa.array([c.start for c in ic], pa.float64()),
            "target_intensity_0_100": pa.array([c.target for c in ic], pa.float64()),
            "ramp_s": pa.array([c.ramp_s for c in ic], pa.float64()),
            "cause": pa.array([c.cause for c in ic], pa.string()),
            "preset": pa.array([c.preset for c in ic], pa.string()),
            "process": pa.array([c.process for c in ic], pa.string()),
        }
    )

    p = tl.pose
    tables["pose"] = pa.table(
        {
            "t_s": _ts(tl, p.t_mono_ns),
            "t_mono_ns": p.t_mono_ns,
            "frame": p.frame,
            "position_x_m": p.position_m[:, 0],
            "position_y_m": p.position_m[:, 1],
            "position_z_m": p.position_m[:, 2],
            "orientation_x": p.orientation_xyzw[:, 0],
            "orientation_y": p.orientation_xyzw[:, 1],
            "orientation_z": p.orientation_xyzw[:, 2],
            "orientation_w": p.orientation_xyzw[:, 3],
            "intensity_0_100": intensity_series(tl.intensity, p.t_mono_ns),
        }
    )

    f = tl.frames
    tables["frames"] = pa.table(
        {
            "t_s": _ts(tl, f.t_mono_ns),
            "t_mono_ns": f.t_mono_ns,
            "median_frame_ms": f.median_ms,
            "p99_frame_ms": f.p99_ms,
            "dropped_frames": f.dropped,
            "frames": f.frames,
            "window_s": f.window_s,
        }
    )

    rows: list[dict[str, Any]] = [
        {
            "record": "clock_pair",
            "process": c.process,
            "t_mono_ns": c.mono_ns,
            "t_s": tl.t_s(c.mono_ns),
            "utc_ns": c.utc_ns,
            "utc": utc_iso(c.utc_ns),
            "peer": None,
            "offset_ns": None,
            "uncertainty_ns": None,
        }
        for c in tl.clock_pairs
    ] + [
        {
            "record": "clock_offset",
            "process": o.process,
            "t_mono_ns": o.t_mono_ns,
            "t_s": tl.t_s(o.t_mono_ns),
            "utc_ns": None,
            "utc": None,
            "peer": o.peer,
            "offset_ns": o.offset_ns,
            "uncertainty_ns": o.uncertainty_ns,
        }
        for o in tl.clock_offsets
    ]
    tables["clock_sync"] = _rows_table(
        rows,
        TABLE_TYPES["clock_sync"],
    )

    tables["probes"] = _rows_table(
        [
            {
                "probe_id": pr.probe_id,
                "probe_index": pr.index,
                "due_t_s": _opt_ts(tl, pr.due_mono_ns),
                "due_running_s": pr.due_running_s,
                "status": pr.status,
                "closed_t_s": _opt_ts(tl, pr.closed_mono_ns),
                "reason": pr.reason,
                "late_rating": pr.late_rating,
            }
            for pr in tl.probes
        ],
        TABLE_TYPES["probes"],
    )

    tables["episodes"] = _rows_table(
        [
            {
                "episode": e.kind,
                "start_t_s": tl.t_s(e.start_mono_ns),
                "end_t_s": _opt_ts(tl, e.end_mono_ns),
                "duration_s": e.duration_s,
                "started_by": e.by,
                "process": e.process,
            }
            for e in sorted((*tl.pauses, *tl.safe_place), key=lambda e: e.start_mono_ns)
        ],
        TABLE_TYPES["episodes"],
    )

    tables["ssq"] = _rows_table(
        [
            {
                "phase": s.phase,
                "t_s": tl.t_s(s.t_mono_ns),
                "nausea": s.score.nausea,
                "oculomotor": s.score.oculomotor,
                "disorientation": s.score.disorientation,
                "total": s.score.total,
                **{f"item_{i:02d}": v for i, v in enumerate(s.score.items, start=1)},
            }
            for s in tl.ssq
        ],
        TABLE_TYPES["ssq"],
    )

    parts_t: list[np.ndarray] = []
    parts_stream: list[np.ndarray] = []
    parts_channel: list[np.ndarray] = []
    parts_value: list[np.ndarray] = []
    for ps in tl.physio:
        for j, ch in enumerate(ps.channels):
            n = len(ps.t_mono_ns)
            parts_t.append(ps.t_mono_ns)
            parts_stream.append(np.full(n, ps.stream, dtype=object))
            parts_channel.append(np.full(n, ch, dtype=object))
            parts_value.append(ps.values[:, j])
    ph_t = np.concatenate(parts_t) if parts_t else np.zeros(0, np.int64)
    tables["physio"] = pa.table(
        {
            "t_s": _ts(tl, ph_t),
            "t_mono_ns": ph_t,
            "stream": pa.array(np.concatenate(parts_stream) if parts_stream else [], pa.string()),
            "channel": pa.array(np.concatenate(parts_channel) if parts_channel else [], pa.string()),
            "value": pa.array(np.concatenate(parts_value) if parts_value else [], pa.float64()),
        }
    )
    tables["stimulus"] = _stimulus_table(tl)
    tables["avoidance"] = avoidance_table(tl.avoidance())
    tables["hotspots"] = _rows_table(
        [
            {
                "step": h.step,
                "hotspot": h.hotspot,
                "name": h.name,
                "preset": h.preset,
                "intensity_0_100": h.intensity,
                "entries": h.entries,
                "n_ratings": h.n_ratings,
                "peak_suds_0_100": h.peak,
                "end_suds_0_100": h.end,
                "mean_suds_0_100": h.mean,
                "time_s": h.time_s,
            }
            for h in hotspot_rows(tl)
        ],
        TABLE_TYPES["hotspots"],
    )
    return tables


def _stimulus_table(tl: SessionTimeline) -> pa.Table:
    st = tl.stimuli
    # One row per shown stimulus per record, and one with no node for a record showing none.
    rows_per = np.maximum(st.count, 1)
    rec = np.repeat(np.arange(len(st)), rows_per)
    empty = st.count[rec] == 0
    flat = np.full(rec.shape, -1, dtype=np.int64)
    if rec.size:
        offset = np.arange(rec.size) - np.repeat(np.cumsum(rows_per) - rows_per, rows_per)
        flat = np.where(empty, -1, st.start[rec] + offset)
    pos = np.full((rec.size, 3), np.nan)
    pos[~empty] = st.position_m[flat[~empty]]
    t = st.t_mono_ns[rec]
    return pa.table(
        {
            "t_s": _ts(tl, t),
            "t_mono_ns": t,
            "frame": st.frame[rec],
            "node": pa.array([None if i < 0 else st.node[i] for i in flat], pa.string()),
            "tag": pa.array([None if i < 0 else st.tag[i] for i in flat], pa.string()),
            "position_x_m": pa.array(pos[:, 0], pa.float64(), from_pandas=True),
            "position_y_m": pa.array(pos[:, 1], pa.float64(), from_pandas=True),
            "position_z_m": pa.array(pos[:, 2], pa.float64(), from_pandas=True),
        }
    )


def avoidance_table(rows: Sequence[AvoidanceRow]) -> pa.Table:
    """Avoidance measures as a table (NaN, e.g. a rung with no look, as null)."""
    data = [r.as_dict() for r in rows]
    return pa.table(
        {
            "scope": pa.array([d["scope"] for d in data], pa.string()),
            "rung": pa.array([d["rung"] for d in data], pa.int64()),
            **{k: pa.array([d[k] for d in data], pa.float64(), from_pandas=True) for k in MEASURES},
        }
    )


def _utc(tl: SessionTimeline, t_mono_ns: int) -> str | None:
    utc = tl.utc_ns(t_mono_ns)
    if utc is None:
        return None
    import time

    seconds, ns = divmod(utc, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1000:06d}Z"


def _rows_table(rows: Sequence[dict[str, Any]], schema: dict[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array([r.get(name) for r in rows], dtype) for name, dtype in schema.items()})


# --- CSV and Parquet -------------------------------------------------------------------------------

PART_NAME = "part-0"
SCHEMA_FILE = "_schema.json"
SESSIONS_FILE = "_sessions.json"
README_FILE = "_README.md"
PARTITION_COLUMNS = ("pseudonym", "session")
_TMP_SUFFIX = ".tmp"

#: Column types of every table: every export conforms to them (an empty table too), and the schema
#: file says them.
TABLE_TYPES: dict[str, dict[str, pa.DataType]] = {
    "events": {
        "t_s": pa.float64(),
        "t_mono_ns": pa.int64(),
        "utc": pa.string(),
        "process": pa.string(),
        "kind": pa.string(),
        "msg_type": pa.string(),
        "seq": pa.int64(),
        "content_json": pa.string(),
    },
    "suds": {
        "t_s": pa.float64(),
        "t_mono_ns": pa.int64(),
        "suds_0_100": pa.float64(),
        "raw_value": pa.float64(),
        "scale_max": pa.int64(),
        "source": pa.string(),
        "probe_id": pa.string(),
        "rung": pa.int64(),
        "during_exposure": pa.bool_(),
        "running_s": pa.float64(),
    },
    "intensity": {
        "t_s": pa.float64(),
        "t_mono_ns": pa.int64(),
        "start_intensity_0_100": pa.float64(),
        "target_intensity_0_100": pa.float64(),
        "ramp_s": pa.float64(),
        "cause": pa.string(),
        "preset": pa.string(),
        "process": pa.string(),
    },
    "pose": {
        "t_s": pa.float64(),
        "t_mono_ns": pa.int64(),
        "frame": pa.int64(),
        **{f"position_{a}_m": pa.float64() for a in "xyz"},
        **{f"orientation_{a}": pa.float64() for a in "xyzw"},
        "intensity_0_100": pa.float64(),
    },
    "frames": {
        "t_s": pa.float64(),
        "t_mono_ns": pa.int64(),
        "median_frame_ms": pa.float64(),
        "p99_frame_ms": pa.float64(),
        "dropped_frames": pa.int64(),
        "frames": pa.int64(),
        "window_s": pa.float64(),
    },
    "clock_sync": {
        "record": pa.string(),
        "process": pa.string(),
        "t_mono_ns": pa.int64(),
        "t_s": pa.float64(),
        "utc_ns": pa.int64(),
        "utc": pa.string(),
        "peer": pa.string(),
        "offset_ns": pa.int64(),
        "uncertainty_ns": pa.int64(),
    },
    "probes": {
        "probe_id": pa.string(),
        "probe_index": pa.int64(),
        "due_t_s": pa.float64(),
        "due_running_s": pa.float64(),
        "status": pa.string(),
        "closed_t_s": pa.float64(),
        "reason": pa.string(),
        "late_rating": pa.bool_(),
    },
    "episodes": {
        "episode": pa.string(),
        "start_t_s": pa.float64(),
        "end_t_s": pa.float64(),
        "duration_s": pa.float64(),
        "started_by": pa.string(),
        "process": pa.string(),
    },
    "ssq": {
        "phase": pa.string(),
        "t_s": pa.float64(),
        "nausea": pa.float64(),
        "oculomotor": pa.float64(),
        "disorientation": pa.float64(),
        "total": pa.float64(),
        **{f"item_{i:02d}": pa.int64() for i in range(1, 17)},
    },
    "physio": {
        "t_s": pa.float64(),
        "t_mono_ns": pa.int64(),
        "stream": pa.string(),
        "channel": pa.string(),
        "value": pa.float64(),
    },
    "stimulus": {
        "t_s": pa.float64(),
        "t_mono_ns": pa.int64(),
        "frame": pa.int64(),
        "node": pa.string(),
        "tag": pa.string(),
        **{f"position_{a}_m": pa.float64() for a in "xyz"},
    },
    "avoidance": {
        "scope": pa.string(),
        "rung": pa.int64(),
        **dict.fromkeys(MEASURES, pa.float64()),
    },
    "hotspots": {
        "step": pa.int64(),
        "hotspot": pa.int64(),
        "name": pa.string(),
        "preset": pa.string(),
        "intensity_0_100": pa.float64(),
        "entries": pa.int64(),
        "n_ratings": pa.int64(),
        "peak_suds_0_100": pa.float64(),
        "end_suds_0_100": pa.float64(),
        "mean_suds_0_100": pa.float64(),
        "time_s": pa.float64(),
    },
}

_UNITS = (
    ("_0_100", "0-100"),
    ("_ns", "ns"),
    ("_ms", "ms"),
    ("_deg", "degrees"),
    ("_share", "fraction 0-1"),
    ("_m", "m"),
    ("_s", "s"),
)


def _unit(column: str) -> str | None:
    for suffix, unit in _UNITS:
        if column.endswith(suffix):
            return unit
    return None


def table_schema(name: str) -> pa.Schema:
    """The pyarrow schema every export of table ``name`` has (without the partition columns)."""
    return pa.schema([pa.field(c, t) for c, t in TABLE_TYPES[name].items()])


def _column_doc(name: str, column: str) -> str:
    cols = TABLE_DOCS[name][1]
    if column in cols:
        return cols[column]
    if column.startswith("item_") and "item_01 .. item_16" in cols:
        return cols["item_01 .. item_16"]
    raise ExportError(f"table {name}: column {column} is not documented")  # a programming error


def _conform(name: str, table: pa.Table) -> pa.Table:
    """``table`` with exactly the declared columns, in order, of the declared types."""
    schema = table_schema(name)
    if table.column_names != schema.names:
        raise ExportError(f"table {name}: columns {table.column_names} are not the declared {schema.names}")
    return table.cast(schema)


def dataset_schema(fmt: str = "parquet") -> dict[str, Any]:
    """The machine-readable description of an export (what ``_schema.json`` holds)."""
    tables: dict[str, Any] = {}
    for name in TABLES:
        what, _ = TABLE_DOCS[name]
        tables[name] = {
            "description": what,
            "path": f"{name}/pseudonym=<pseudonym>/session=<session>/{PART_NAME}.{fmt}",
            "columns": [
                {
                    "name": column,
                    "type": str(dtype),
                    "unit": _unit(column),
                    "description": _column_doc(name, column),
                }
                for column, dtype in TABLE_TYPES[name].items()
            ]
            + [
                {
                    "name": "pseudonym",
                    "type": "string",
                    "unit": None,
                    "description": "partition column (from the path): the patient's pseudonym",
                    "partition": True,
                },
                {
                    "name": "session",
                    "type": "string",
                    "unit": None,
                    "description": "partition column (from the path): the session id",
                    "partition": True,
                },
            ],
        }
    return {
        "name": "vr-exposure export",
        "format": fmt,
        "layout": f"<table>/pseudonym=<pseudonym>/session=<session>/{PART_NAME}.{fmt}",
        "partitioning": "hive",
        "partition_columns": list(PARTITION_COLUMNS),
        "tables": tables,
    }


def session_partition(tl: SessionTimeline) -> str:
    """``pseudonym=<P>/session=<id>``: where a session's part of each table lives."""
    return f"pseudonym={tl.pseudonym or 'unknown'}/session={tl.session_id}"


def _tmp_path(path: Path) -> Path:
    # Hidden (leading dot) and not ending in .parquet/.csv: pyarrow.dataset, Spark, DuckDB's
    # '**/*.parquet' and Polars all skip it, so a killed export leaves nothing they would read.
    return path.with_name(f".{path.name}.{os.getpid()}{_TMP_SUFFIX}")


def _encode_table(table: pa.Table, fmt: str, path: Path) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if fmt == "csv":
        pcsv.write_csv(table, path)
    else:
        # Every option that decides the bytes is fixed here, so the same table gives the same file
        # (Parquet stores no write time; created_by names the pyarrow version).
        pq.write_table(
            table,
            path,
            compression="zstd",
            compression_level=3,
            # Dictionaries for the text columns only: tried on measurement columns (floats that
            # rarely repeat) they cost 4x the write time and make the file bigger.
            use_dictionary=[f.name for f in table.schema if pa.types.is_string(f.type)],
            write_statistics=True,
            data_page_version="1.0",
            version="2.6",
            row_group_size=1 << 20,
            store_schema=True,
        )


def _replace_if_changed(tmp: Path, path: Path) -> bool:
    """Rename ``tmp`` over ``path``, unless ``path`` already holds the same bytes (then it is left
    untouched). Returns whether ``path`` changed."""
    try:
        same = path.stat().st_size == tmp.stat().st_size and path.read_bytes() == tmp.read_bytes()
    except FileNotFoundError:
        same = False
    if same:
        tmp.unlink()
        return False
    os.replace(tmp, path)
    return True


def _clear_stale(directory: Path, keep: str) -> None:
    """Remove what a killed export left in ``directory`` (its temporary files) and any part file
    other than ``keep``: a re-exported session has exactly the files of this export."""
    if not directory.is_dir():
        return
    for p in directory.iterdir():
        if p.name != keep and p.is_file() and (p.name.endswith(_TMP_SUFFIX) or p.name.startswith("part-")):
            p.unlink()


def _write_session(out: Path, tl: SessionTimeline, fmt: str) -> tuple[list[Path], dict[str, int]]:
    """Every table of one session: all encoded to hidden temporary files first, then each renamed
    into place. Returns the files and the row count of each table."""
    tables = {name: _conform(name, t) for name, t in session_tables(tl).items()}
    part = f"{PART_NAME}.{fmt}"
    staged: list[tuple[Path, Path]] = []
    try:
        for name, table in tables.items():
            directory = out / name / session_partition(tl)
            directory.mkdir(parents=True, exist_ok=True)
            _clear_stale(directory, part)
            path = directory / part
            tmp = _tmp_path(path)
            _encode_table(table, fmt, tmp)
            staged.append((tmp, path))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        _replace_if_changed(tmp, path)
    return [path for _, path in staged], {name: t.num_rows for name, t in tables.items()}


def _session_entry(tl: SessionTimeline, rows: dict[str, int]) -> dict[str, Any]:
    start = tl.start_utc_ns
    return {
        "pseudonym": tl.pseudonym,
        "protocol": tl.protocol_id,
        "scene": tl.scene_id,
        "start_utc": utc_iso(start) if start is not None else None,
        "duration_s": round(tl.duration_s, 3),
        "complete": tl.complete,
        "incomplete_because": [t.sentence() for t in tl.torn],
        "rows": rows,
    }


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ExportError(
            f"{path}: cannot be read as JSON ({exc}); move it away to start a new export"
        ) from exc


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = _tmp_path(path)
    tmp.write_bytes(data)
    _replace_if_changed(tmp, path)


def export_tables(timelines: Iterable[SessionTimeline], out: Path, fmt: str) -> list[Path]:
    """Write every table of every session as ``fmt`` (csv or parquet) into the table-first tree
    ``out/<table>/pseudonym=<P>/session=<id>/part-0.<fmt>``, with ``_README.md``, ``_schema.json``
    and ``_sessions.json`` at the root; returns the files of these sessions and the three.

    Incremental and idempotent: sessions already in ``out`` are left as they are; a session exported
    again gets exactly its files back (the same bytes for the same journal). Each file is written
    under a hidden temporary name and renamed into place, and ``_sessions.json`` lists a session
    only once all its files are in. ``timelines`` may be a generator: one session is held at a time."""
    if fmt not in ("csv", "parquet"):
        raise ExportError(f"format {fmt!r}: use csv or parquet (or bids)")
    _prepare(out)
    schema_path = out / SCHEMA_FILE
    existing = _read_json(schema_path)
    if existing is not None and (not isinstance(existing, dict) or existing.get("format") != fmt):
        found = existing.get("format") if isinstance(existing, dict) else "unknown"
        raise ExportError(
            f"{out}: holds a {found} export ({schema_path.name}); export {fmt} into another directory"
        )
    foreign = [p for p in out.iterdir() if p.name != SESSIONS_FILE and not p.name.startswith(".")]
    if existing is None and foreign:
        raise ExportError(f"{out}: is not empty and not a vr-exposure export; choose an empty directory")
    sessions_path = out / SESSIONS_FILE
    index = _read_json(sessions_path) or {}
    if not isinstance(index, dict):
        raise ExportError(f"{sessions_path}: is not a JSON object; move it away to start a new export")
    written: list[Path] = []
    _write_atomic(schema_path, _json_bytes(dataset_schema(fmt)))
    for tl in timelines:
        files, rows = _write_session(out, tl, fmt)
        written += files
        index[tl.session_id] = _session_entry(tl, rows)
    index = dict(sorted(index.items()))
    _write_atomic(sessions_path, _json_bytes(index))
    readme = out / README_FILE
    _write_atomic(readme, _readme(index, fmt).encode())
    return [*written, schema_path, sessions_path, readme]


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)


def _readme(index: dict[str, Any], fmt: str) -> str:
    lines = [
        "# vr-exposure export",
        "",
        f"Written by vr-exposure as {fmt.upper()}: {len(index)} session(s).",
        "",
        f"Layout (table first, hive partitioning): `<table>/pseudonym=<pseudonym>/session=<session_id>/"
        f"{PART_NAME}.{fmt}`.",
        "Point a reader at one table's directory and it reads every session of it, with `pseudonym`",
        "and `session` columns from the path: `pyarrow.dataset.dataset('suds', partitioning='hive')`,",
        "`spark.read.parquet('suds')`, DuckDB `FROM 'suds/**/*.parquet'`, `polars.scan_parquet('suds')`.",
        "Files whose names start with `_` or `.` (this one, the schema, an unfinished write) are not data",
        "and those readers skip them.",
        "",
        f"`{SCHEMA_FILE}`: every table, column, type and unit, machine-readable. `{SESSIONS_FILE}`: the",
        "sessions in this tree (a session is listed once all its files are in place), with row counts.",
        "",
        "Times: `t_s` is seconds since the session's origin (the moment its directory was created);",
        "`t_mono_ns` is the renderer's monotonic clock in nanoseconds, the clock LSL's local_clock()",
        "uses on Linux, so `t_mono_ns / 1e9` lines up with LSL/XDF recordings made on that machine.",
        "SUDS are on 0-100 (`raw_value` and `scale_max` keep what was given); intensity is 0-100.",
        "",
        "Sessions:",
        "",
    ]
    for sid, entry in index.items():
        state = (
            "complete"
            if entry.get("complete")
            else "INCOMPLETE: " + "; ".join(entry.get("incomplete_because") or ["not closed"])
        )
        duration_s = float(entry.get("duration_s") or 0)
        lines.append(
            f"- {sid} (pseudonym {entry.get('pseudonym')}, protocol {entry.get('protocol')}, "
            f"start {entry.get('start_utc') or 'unknown'}, {duration_s:.0f} s): {state}"
        )
    lines += ["", "## Tables", ""]
    for name in TABLES:
        what, _ = TABLE_DOCS[name]
        lines += [f"### {name}", "", what, "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c}` | {t} | {_column_doc(name, c)} |" for c, t in TABLE_TYPES[name].items()]
        lines.append("")
    return "\n".join(lines)


def read_table(out: Path | str, table: str) -> pa.Table:
    """One table of every session in a Parquet export, with ``pseudonym`` and ``session`` columns
    from the hive paths: plain ``pyarrow.dataset`` on ``out/<table>``, as any reader does it."""
    import pyarrow.dataset as ds

    directory = Path(out) / table
    if not directory.is_dir():
        raise ExportError(f"{directory}: no such table directory (is {out} a Parquet export?)")
    partitioning = ds.partitioning(pa.schema([(c, pa.string()) for c in PARTITION_COLUMNS]), flavor="hive")
    return ds.dataset(directory, format="parquet", partitioning=partitioning).to_table()


# --- BIDS ------------------------------------------------------------------------------------------

_LABEL_RE = re.compile(r"[^A-Za-z0-9]")


def bids_label(text: str) -> str:
    """A BIDS label: letters and digits only (``P-042_a`` -> ``P042a``)."""
    label = _LABEL_RE.sub("", text)
    if not label:
        raise ExportError(f"{text!r} has no letters or digits to make a BIDS label from")
    return label


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n").encode()


def _tsv_value(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "n/a"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v).replace("\t", " ").replace("\n", " ")


def _write_tsv(path: Path, header: Sequence[str] | None, rows: Sequence[Sequence[Any]]) -> None:
    out = []
    if header is not None:
        out.append("\t".join(header))
    out += ["\t".join(_tsv_value(v) for v in row) for row in rows]
    path.write_bytes(("\n".join(out) + "\n").encode())


def _session_labels(timelines: Sequence[SessionTimeline]) -> dict[str, tuple[str, str]]:
    """session_id -> (subject label, session label): ``ses-<YYYYMMDD>``; where one subject has
    several sessions on a date, each of them is ``ses-<YYYYMMDD>T<HHMMSS>``."""
    by_day: dict[tuple[str, str], list[SessionTimeline]] = {}
    for tl in timelines:
        sub = bids_label(tl.pseudonym or "unknown")
        by_day.setdefault((sub, tl.date), []).append(tl)
    labels: dict[str, tuple[str, str]] = {}
    for (sub, day), tls in by_day.items():
        for tl in tls:
            if len(tls) == 1:
                labels[tl.session_id] = (sub, day)
            else:
                utc = tl.start_utc_ns
                import time

                hms = time.strftime("%H%M%S", time.gmtime((utc or 0) // 1_000_000_000))
                labels[tl.session_id] = (sub, f"{day}T{hms}")
    seen: set[tuple[str, str]] = set()
    for sid, lab in sorted(labels.items()):
        if lab in seen:
            labels[sid] = (lab[0], lab[1] + bids_label(sid[-4:]))
        seen.add(labels[sid])
    return labels


def export_bids(timelines: Sequence[SessionTimeline], out: Path) -> list[Path]:
    """Write one BIDS dataset holding every session (subjects by pseudonym, sessions by date)."""
    _prepare(out)
    written: list[Path] = []

    def put(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)

    labels = _session_labels(timelines)
    put(
        out / "dataset_description.json",
        _json_bytes(
            {
                "Name": "vr-exposure sessions",
                "BIDSVersion": BIDS_VERSION,
                "DatasetType": "raw",
                "License": "n/a",
                "GeneratedBy": [
                    {
                        "Name": "vr-exposure",
                        "Version": __version__,
                        "Description": "vr-exposure export --format bids",
                    }
                ],
            }
        ),
    )
    put(out / "README", _bids_readme(timelines).encode())
    subjects = sorted({sub for sub, _ in labels.values()})
    rows = [[f"sub-{s}"] for s in subjects]
    tmp = out / "participants.tsv"
    _write_tsv(tmp, ["participant_id"], rows)
    written.append(tmp)
    put(
        out / "participants.json",
        _json_bytes(
            {
                "participant_id": {
                    "Description": "sub-<pseudonym>: the patient's pseudonym, letters and digits"
                }
            }
        ),
    )
    put(out / f"task-{BIDS_TASK}_events.json", _json_bytes(_EVENTS_JSON))

    scans: dict[tuple[str, str], list[list[Any]]] = {}
    for tl in sorted(timelines, key=lambda t: t.session_id):
        sub, ses = labels[tl.session_id]
        base = f"sub-{sub}_ses-{ses}_task-{BIDS_TASK}"
        mdir = out / f"sub-{sub}" / f"ses-{ses}" / "motion"
        mdir.mkdir(parents=True, exist_ok=True)
        pose = tl.pose
        onset0 = int(pose.t_mono_ns[0]) if len(pose) else tl.origin_mono_ns
        rate = pose.rate_hz() or 90.0
        if len(pose):
            motion = mdir / f"{base}_tracksys-{BIDS_TRACKSYS}_motion.tsv"
            _write_motion(motion, pose.position_m, pose.orientation_xyzw, (pose.t_mono_ns - onset0) / 1e9)
            written.append(motion)
            chans = mdir / f"{base}_tracksys-{BIDS_TRACKSYS}_channels.tsv"
            _write_tsv(chans, ["name", "component", "type", "tracked_point", "units"], _CHANNEL_ROWS)
            written.append(chans)
            put(
                mdir / f"{base}_tracksys-{BIDS_TRACKSYS}_motion.json",
                _json_bytes(_motion_json(tl, rate, len(pose), (int(pose.t_mono_ns[-1]) - onset0) / 1e9)),
            )
            acq_utc = tl.utc_ns(onset0)
            scans.setdefault((sub, ses), []).append(
                [
                    f"motion/{motion.name}",
                    _bids_datetime(acq_utc) if acq_utc is not None else None,
                    tl.session_id,
                ]
            )
        events = mdir / f"{base}_events.tsv"
        _write_tsv(events, _EVENT_COLUMNS, _event_rows(tl, onset0))
        written.append(events)
        measures = tl.avoidance()
        if measures:
            bdir = out / f"sub-{sub}" / f"ses-{ses}" / "beh"
            bdir.mkdir(parents=True, exist_ok=True)
            beh = bdir / f"{base}_beh.tsv"
            _write_tsv(beh, _BEH_COLUMNS, [_beh_row(r) for r in measures])
            written.append(beh)
            put(bdir / f"{base}_beh.json", _json_bytes(_beh_json()))
    for (sub, ses), rows_ in scans.items():
        path = out / f"sub-{sub}" / f"ses-{ses}" / f"sub-{sub}_ses-{ses}_scans.tsv"
        _write_tsv(path, ["filename", "acq_time", "vr_exposure_session_id"], rows_)
        written.append(path)
    put(
        out / "scans.json",
        _json_bytes(
            {
                "acq_time": {"Description": "UTC time of the first head-pose sample"},
                "vr_exposure_session_id": {
                    "Description": "the vr-exposure session id (journal directory name)"
                },
            }
        ),
    )
    return written


def _bids_datetime(utc_ns: int) -> str:
    import time

    seconds, ns = divmod(utc_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1000:06d}Z"


_CHANNEL_ROWS: list[list[Any]] = [
    ["head_x", "x", "POS", "head", "m"],
    ["head_y", "y", "POS", "head", "m"],
    ["head_z", "z", "POS", "head", "m"],
    ["head_quat_x", "quat_x", "ORNT", "head", "n/a"],
    ["head_quat_y", "quat_y", "ORNT", "head", "n/a"],
    ["head_quat_z", "quat_z", "ORNT", "head", "n/a"],
    ["head_quat_w", "quat_w", "ORNT", "head", "n/a"],
    ["latency", "n/a", "LATENCY", "n/a", "s"],
]

_BEH_COLUMNS = ["scope", "rung", *MEASURES]


def _beh_row(row: AvoidanceRow) -> list[Any]:
    d = row.as_dict()
    return [d["scope"], d["rung"], *(round(float(d[k]), 6) for k in MEASURES)]  # type: ignore[arg-type]


def _beh_json() -> dict[str, Any]:
    _, cols = TABLE_DOCS["avoidance"]
    out: dict[str, Any] = {
        "TaskName": BIDS_TASK,
        "Description": "Gaze and avoidance measures of the session and of each rung of the fear ladder "
        "(vr-exposure; definitions in its docs/research.md), from the head pose and the journaled "
        "positions of the stimuli.",
    }
    for column in _BEH_COLUMNS:
        entry: dict[str, Any] = {"Description": cols[column]}
        unit = _unit(column)
        if column == "scope":
            entry["Levels"] = {"session": "the whole session", "rung": "one rung of the fear ladder"}
        elif unit in ("s", "m"):
            entry["Units"] = unit
        elif unit == "fraction 0-1":
            entry["Units"] = "1"
        out[column] = entry
    return out


_EVENT_COLUMNS = ["onset", "duration", "trial_type", "value", "process", "t_mono_ns", "content_json"]

_EVENTS_JSON: dict[str, Any] = {
    "onset": {
        "Description": "seconds from the first head-pose sample of the session's motion file",
        "Units": "s",
    },
    "duration": {
        "Description": "seconds (pauses, safe-place stays, intensity ramps; 0 for instants)",
        "Units": "s",
    },
    "trial_type": {"Description": "the journal record type (msg_type), e.g. suds_recorded, event_fired"},
    "value": {
        "Description": "SUDS 0-100 for ratings, target intensity 0-100 for intensity changes, else n/a"
    },
    "process": {"Description": "the journal the record came from: console or renderer"},
    "t_mono_ns": {"Description": "the record's monotonic time (ns), as in the journal"},
    "content_json": {"Description": "the record's content as JSON"},
}


def _event_rows(tl: SessionTimeline, onset0: int) -> list[list[Any]]:
    enc = msgspec.json.Encoder()
    durations: dict[tuple[str, int], float] = {}
    for ep in (*tl.pauses, *tl.safe_place):
        start_type = "paused" if ep.kind == "pause" else "safe_place_entered"
        durations[(start_type, ep.start_mono_ns)] = ep.duration_s
    ratings_by_t = {r.t_mono_ns: r.value for r in tl.ratings}
    rows: list[list[Any]] = []
    for e in tl.events:
        if e.kind == "meta":
            continue
        value: float | None = None
        duration = durations.get((e.msg_type, e.t_mono_ns), 0.0)
        if e.msg_type == "suds_recorded" and isinstance(e.content.get("rating"), dict):
            v = e.content["rating"].get("value")
            value = float(v) if isinstance(v, int | float) else ratings_by_t.get(e.t_mono_ns)
        elif e.msg_type == "intensity_changed" and isinstance(e.content.get("target"), int | float):
            value = float(e.content["target"])
            duration = float(e.content.get("ramp_s") or 0.0)
        elif e.msg_type in ("scene_loaded", "preset_applied") and isinstance(
            e.content.get("intensity"), int | float
        ):
            value = float(e.content["intensity"])
        rows.append(
            [
                round((e.t_mono_ns - onset0) / 1e9, 6),
                round(duration, 6),
                e.msg_type,
                value,
                e.process,
                e.t_mono_ns,
                enc.encode(e.content).decode(),
            ]
        )
    return rows


def _write_motion(path: Path, pos: np.ndarray, ori: np.ndarray, latency_s: np.ndarray) -> None:
    """The motion TSV: no header row (BIDS motion), one column per channels.tsv row, in order."""
    import pyarrow.csv as pcsv

    table = pa.table(
        {
            "x": pos[:, 0],
            "y": pos[:, 1],
            "z": pos[:, 2],
            "qx": ori[:, 0],
            "qy": ori[:, 1],
            "qz": ori[:, 2],
            "qw": ori[:, 3],
            "latency": latency_s,
        }
    )
    opts = pcsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    pcsv.write_csv(table, path, write_options=opts)


def _motion_json(tl: SessionTimeline, rate_hz: float, samples: int, duration_s: float) -> dict[str, Any]:
    return {
        "TaskName": BIDS_TASK,
        "TaskDescription": "virtual-reality exposure therapy session (vr-exposure)",
        "SamplingFrequency": round(rate_hz, 3),
        "SamplingFrequencyEffective": round((samples - 1) / duration_s, 6)
        if duration_s > 0
        else round(rate_hz, 3),
        "TrackingSystemName": BIDS_TRACKSYS,
        "Manufacturer": "n/a",
        "ManufacturersModelName": "head-mounted display (OpenXR) or desktop view",
        "SoftwareVersions": f"vr-exposure {__version__}",
        "RecordingDuration": round(duration_s, 6),
        "MotionChannelCount": 8,
        "POSChannelCount": 3,
        "ORNTChannelCount": 4,
        "LATENCYChannelCount": 1,
        "TrackedPointsCount": 1,
        "SpatialAxes": "RAU",
        "RotationRule": "right-hand",
        "RotationOrder": "n/a",
        "MissingValues": "n/a",
        "SubjectArtefactDescription": "n/a",
        "InstitutionName": "n/a",
        "vr_exposure_session_id": tl.session_id,
    }


def _bids_readme(timelines: Sequence[SessionTimeline]) -> str:
    return (
        "vr-exposure sessions exported as BIDS (motion).\n\n"
        "Each session is sub-<pseudonym>/ses-<date>: head pose of the VR headset (or desktop view) as a\n"
        "BIDS motion recording (tracksys-HMD: 3 position channels in metres, a unit quaternion, and a\n"
        "latency channel with each sample's time in seconds from the first sample, since frames are\n"
        "not exactly periodic), and every clinical record of the session (SUDS ratings, intensity\n"
        "changes, scene events, pauses, safe place) in events.tsv with onsets on the same clock.\n"
        "Spatial axes are Panda3D's tracking space: +x right, +y forward (anterior), +z up.\n\n"
        f"{len(timelines)} session(s); written by vr-exposure {__version__}.\n"
    )


# --- entry point ------------------------------------------------------------------------------------


def export(timelines: Iterable[SessionTimeline], out: Path | str, fmt: str) -> list[Path]:
    """Export ``timelines`` as ``fmt`` (csv, parquet, bids or fhir) into directory ``out``. For csv and
    parquet ``timelines`` may be a generator (a study's sessions, one in memory at a time)."""
    out = Path(out)
    if fmt == "bids":
        return export_bids(list(timelines), out)
    if fmt == "fhir":
        from vr_exposure.research.fhir import export_fhir

        _prepare(out)
        return export_fhir(list(timelines), out)
    if fmt in ("csv", "parquet"):
        return export_tables(timelines, out, fmt)
    raise ExportError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
