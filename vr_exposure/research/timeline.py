"""The typed timeline of one recorded session, extracted from its journal files.

:func:`load_timeline` reads a session directory (``manifest.json`` plus one ``<process>.jsonl`` per
process) and returns a :class:`SessionTimeline`: SUDS ratings, the intensity the patient saw, scene
events, pauses and safe-place episodes with their durations, probes (answered or missed), SSQ scores,
head pose and frame timing as numpy arrays, clock pairs and offsets, and what a crash left behind
(torn tails, missing closing records, gaps in ``seq``). Replay, report, export and the benchmark all
start here, so every tool reads a session the same way.

Which record is the truth for what (the same rule everywhere; docs/research.md says it for readers):

* **SUDS ratings** come from the console's ``suds_recorded`` records (the session engine's, content
  ``{"rating": {...}}``, less those a ``rating_corrected`` withdrew, rebuilt with
  :func:`vr_exposure.core.suds.rating_from_content`). The renderer's
  ``rating_recorded`` is the patient's key press in VR: the console receives it and records it through
  the engine, so counting both would count that rating twice. The presses are kept apart as
  :attr:`SessionTimeline.headset_ratings`; only a session without a console journal takes its ratings
  from them.
* **Intensity** is what the renderer journaled (``scene_loaded``, ``intensity_changed`` with its ramp,
  ``preset_applied``): the renderer is the authority on what the patient sees. The console engine's
  ``intensity_changed`` (the therapist's request) is kept as :attr:`SessionTimeline.intensity_requests`
  and is the intensity only where there is no renderer journal.
* **Pauses and the safe place**: the renderer's facts (what the patient saw), else the console's.
* **Probes, rungs, SSQ, notes**: the console (the authority on the session).

The journal is read by :func:`vr_exposure.journal.read_session` (the one reader of the format: torn
lines, damaged lines, gaps and clock offsets between machines are handled, and reported, there); the
head poses are decoded from it straight into columns (:meth:`~vr_exposure.journal.SessionLog.contents`
with a struct of just the pose fields).
"""

from __future__ import annotations

import itertools
import math
import operator
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np

from vr_exposure.core.metrics import SessionMetrics, session_metrics
from vr_exposure.core.specs import ProtocolSpec
from vr_exposure.core.ssq import SsqScore
from vr_exposure.core.suds import RatingError, SudsRating, rating_from_content
from vr_exposure.errors import JournalError
from vr_exposure.journal import (
    FORMAT_VERSION,
    JournalRecord,
    Manifest,
    SessionLog,
    find_session,
    read_manifest,
    read_session,
)

if TYPE_CHECKING:
    from vr_exposure.research.avoidance import AvoidanceRow

PHYSIO_MSG_TYPE = "physio_samples"
"""Console telemetry: one batch of samples from a physiology LSL stream (see :mod:`.lsl`)."""
STIMULUS_MSG_TYPE = "stimulus_positions"
"""Renderer telemetry: where the shown stimulus nodes are, 10 Hz (docs/journal.md)."""
_POSE = "head_pose"
_TABLES = (_POSE, "frame_timing", PHYSIO_MSG_TYPE, STIMULUS_MSG_TYPE)
"""Telemetry kept as arrays, not as events."""
_RENDERER = "renderer"
_CONSOLE = "console"


# --- decoding --------------------------------------------------------------------------------------


class _PoseContent(msgspec.Struct, gc=False):
    """The fields of a ``head_pose`` content. Typed tuples decode about twice as fast as lists; a
    content that does not fit is read again as a dict, and left out if it has no 3 + 4 numbers."""

    frame: int | None = None
    t_mono_ns: int | None = None
    position_m: tuple[float, float, float] | None = None
    orientation_xyzw: tuple[float, float, float, float] | None = None


# --- the typed timeline ----------------------------------------------------------------------------


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """One journaled record other than high-rate telemetry, on the merged timeline."""

    t_mono_ns: int
    process: str
    kind: str
    msg_type: str
    seq: int
    content: dict[str, Any]
    offset_ns: int = 0
    """What was added to the process's own clock to put it on the merged timeline (0 on one machine)."""

    @property
    def event_mono_ns(self) -> int:
        """When the event happened: the session engine's own stamp (``content.t_mono_ns``, taken
        before the record was written) where the record has one, else the record's time."""
        t = self.content.get("t_mono_ns")
        return t + self.offset_ns if isinstance(t, int) and not isinstance(t, bool) else self.t_mono_ns


class HeadsetRating(msgspec.Struct, frozen=True, kw_only=True):
    """A SUDS key press in VR, as the renderer journaled it (``value`` on 0-``scale_max``)."""

    t_mono_ns: int
    value: float
    scale_max: int
    probe_id: str | None
    source: str


class IntensityChange(msgspec.Struct, frozen=True, kw_only=True):
    """The intensity shown starts moving from ``start`` at ``t_mono_ns`` and reaches ``target``
    after ``ramp_s``. ``cause``: the record that said so (``scene_loaded``, ``intensity_changed``,
    ``preset_applied``); ``process`` which journal it came from."""

    t_mono_ns: int
    start: float
    target: float
    ramp_s: float
    cause: str
    process: str
    preset: str | None = None


class Episode(msgspec.Struct, frozen=True, kw_only=True):
    """A pause or a stay in the safe place. ``end_mono_ns`` None: still open when the journal ends
    (``duration_s`` then runs to the journal's last record). ``by``: who started it, where known."""

    kind: str
    start_mono_ns: int
    end_mono_ns: int | None
    duration_s: float
    by: str | None = None
    process: str = ""


class ProbeRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A SUDS probe: issued at ``due_mono_ns``; ``status`` answered, missed, or open (no outcome in
    the journal: it ended first)."""

    probe_id: str
    index: int | None
    due_mono_ns: int | None
    due_running_s: float | None
    status: str
    closed_mono_ns: int | None = None
    reason: str | None = None
    late_rating: bool = False


class RungChange(msgspec.Struct, frozen=True, kw_only=True):
    t_mono_ns: int
    rung: int
    rung_from: int | None
    preset: str
    expected_suds: float
    title: str
    intensity: float


class SsqRecord(msgspec.Struct, frozen=True, kw_only=True):
    phase: str
    t_mono_ns: int
    score: SsqScore


class ClockPairRecord(msgspec.Struct, frozen=True, kw_only=True):
    process: str
    mono_ns: int
    utc_ns: int


class ClockOffsetRecord(msgspec.Struct, frozen=True, kw_only=True):
    """``peer_clock = own_clock + offset_ns`` as journaled by ``process`` (console: peer = renderer)."""

    process: str
    t_mono_ns: int
    peer: str
    offset_ns: int
    uncertainty_ns: int | None


class FileInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One journal file as the journal reader found it (:class:`vr_exposure.journal.FileSummary`),
    in the research tools' words. ``torn_bytes``: bytes after the last complete line (an interrupted
    write); ``closed``: the writer's closing record is there; ``bad_lines``: lines that could not be
    decoded (left out); ``seq_gaps``: places where lines are missing; ``last_mono_ns``: its latest
    time, on the merged timeline."""

    file: str
    process: str
    lines: int
    bytes: int
    torn_bytes: int
    closed: bool
    bad_lines: int
    seq_gaps: int
    last_mono_ns: int | None
    format_version: int | None
    clock_domain: str | None


@dataclass(frozen=True)
class PoseArrays:
    """Head pose samples in time order. Positions in metres, orientation a unit quaternion x,y,z,w,
    in the renderer's tracking space (Panda3D axes: +x right, +y forward, +z up)."""

    frame: np.ndarray  # int64 (n,)
    t_mono_ns: np.ndarray  # int64 (n,)
    position_m: np.ndarray  # float64 (n, 3)
    orientation_xyzw: np.ndarray  # float64 (n, 4)

    def __len__(self) -> int:
        return int(self.t_mono_ns.shape[0])

    @classmethod
    def empty(cls) -> PoseArrays:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 4)))

    def rate_hz(self) -> float | None:
        """The median sampling rate, None with fewer than two samples."""
        if len(self) < 2:
            return None
        dt = np.diff(self.t_mono_ns)
        dt = dt[dt > 0]
        return None if dt.size == 0 else float(1e9 / np.median(dt))

    def at(self, t_mono_ns: int) -> int:
        """Index of the last sample at or before ``t_mono_ns`` (0 if before the first)."""
        return max(0, int(np.searchsorted(self.t_mono_ns, t_mono_ns, side="right")) - 1)


@dataclass(frozen=True)
class FrameArrays:
    """Frame timing summaries (one a second from the renderer)."""

    t_mono_ns: np.ndarray
    median_ms: np.ndarray
    p99_ms: np.ndarray
    dropped: np.ndarray
    frames: np.ndarray
    window_s: np.ndarray

    def __len__(self) -> int:
        return int(self.t_mono_ns.shape[0])


@dataclass(frozen=True)
class StimulusArrays:
    """The journaled ``stimulus_positions`` records in time order: record ``i`` at ``t_mono_ns[i]``
    shows ``count[i]`` stimuli, rows ``start[i] .. start[i] + count[i]`` of the flat columns (node
    name, tag, position in tracking space, metres). A record with ``count`` 0: none shown."""

    t_mono_ns: np.ndarray  # int64 (r,)
    frame: np.ndarray  # int64 (r,)
    count: np.ndarray  # int64 (r,)
    start: np.ndarray  # int64 (r,)
    node: tuple[str, ...]  # (k,)
    tag: tuple[str, ...]  # (k,)
    position_m: np.ndarray  # float64 (k, 3)

    def __len__(self) -> int:
        return int(self.t_mono_ns.shape[0])

    @classmethod
    def empty(cls) -> StimulusArrays:
        z = np.zeros(0, np.int64)
        return cls(z, z, z, z, (), (), np.zeros((0, 3)))

    def padded(self) -> np.ndarray:
        """Positions as (records, most stimuli in one record, 3), NaN where a record has fewer."""
        width = int(self.count.max()) if len(self) else 0
        out = np.full((len(self), max(width, 1), 3), np.nan)
        if self.position_m.shape[0]:
            rec = np.repeat(np.arange(len(self)), self.count)
            slot = np.arange(self.position_m.shape[0]) - np.repeat(self.start, self.count)
            out[rec, slot] = self.position_m
        return out


@dataclass(frozen=True)
class PhysioStream:
    """Samples from one physiology LSL stream, as the console journaled them (``physio_samples``)."""

    stream: str
    channels: tuple[str, ...]
    t_mono_ns: np.ndarray
    values: np.ndarray  # (n, len(channels))


@dataclass(frozen=True)
class TornTail:
    """How a journal file ends when its writer did not close it (a crash)."""

    file: str
    process: str
    last_mono_ns: int | None
    last_utc_ns: int | None
    torn_bytes: int

    def sentence(self) -> str:
        when = "its last record" if self.last_utc_ns is None else utc_hms(self.last_utc_ns) + " UTC"
        torn = f"last {self.torn_bytes} bytes torn" if self.torn_bytes else "no partial line"
        return f"{self.file}: journal ends abruptly at {when}; {torn}"


@dataclass(frozen=True)
class SessionTimeline:
    """Everything a research tool needs of one session, on one monotonic timeline (the renderer's)."""

    session_dir: Path
    manifest: Manifest
    origin_mono_ns: int
    events: tuple[Event, ...]
    ratings: tuple[SudsRating, ...]
    ratings_process: str | None
    headset_ratings: tuple[HeadsetRating, ...]
    intensity: tuple[IntensityChange, ...]
    intensity_requests: tuple[IntensityChange, ...]
    pauses: tuple[Episode, ...]
    safe_place: tuple[Episode, ...]
    probes: tuple[ProbeRecord, ...]
    rung_changes: tuple[RungChange, ...]
    ssq: tuple[SsqRecord, ...]
    notes: tuple[Event, ...]
    scene_events: tuple[Event, ...]
    pose: PoseArrays
    frames: FrameArrays
    physio: tuple[PhysioStream, ...]
    stimuli: StimulusArrays
    clock_pairs: tuple[ClockPairRecord, ...]
    clock_offsets: tuple[ClockOffsetRecord, ...]
    files: tuple[FileInfo, ...]
    torn: tuple[TornTail, ...]
    warnings: tuple[str, ...]
    session_started_mono_ns: int | None
    session_ended_mono_ns: int | None
    end_mono_ns: int
    summary: dict[str, Any] | None = field(default=None)

    @property
    def session_id(self) -> str:
        return self.manifest.session_id

    @property
    def pseudonym(self) -> str:
        return self.manifest.pseudonym

    @property
    def protocol_id(self) -> str | None:
        return self.manifest.protocol

    @property
    def scene_id(self) -> str | None:
        return self.manifest.scene

    # -- time ----------------------------------------------------------------------------------------

    @property
    def start_utc_ns(self) -> int | None:
        return self.utc_ns(self.origin_mono_ns)

    @property
    def duration_s(self) -> float:
        return (self.end_mono_ns - self.origin_mono_ns) / 1e9

    def t_s(self, t_mono_ns: int | float) -> float:
        """Seconds since the session's origin (its directory was created)."""
        return (t_mono_ns - self.origin_mono_ns) / 1e9

    def utc_ns(self, t_mono_ns: int) -> int | None:
        """UTC (ns since the epoch) of a monotonic stamp, from the nearest journaled clock pair."""
        return _utc_at(self.clock_pairs, t_mono_ns)

    @property
    def date(self) -> str:
        """``YYYYMMDD`` of the session start (UTC), for BIDS session labels."""
        utc = self.start_utc_ns
        if utc is None:
            return self.session_id[:8]
        return time.strftime("%Y%m%d", time.gmtime(utc // 1_000_000_000))

    @property
    def complete(self) -> bool:
        """Every file was closed by its writer and nothing is torn or missing."""
        return not self.torn and all(f.closed and not f.seq_gaps and not f.bad_lines for f in self.files)

    # -- metrics -------------------------------------------------------------------------------------

    def intensity_at(self, t_mono_ns: Sequence[int] | np.ndarray | int) -> np.ndarray:
        """The intensity (0-100) shown at each stamp, ramps interpolated; NaN before the first scene."""
        return intensity_series(self.intensity, np.atleast_1d(np.asarray(t_mono_ns, dtype=np.int64)))

    def rung_start_mono_ns(self) -> dict[int, int]:
        """When each rung was first selected (not before the session started), as the engine counts."""
        start = self.session_started_mono_ns
        out: dict[int, int] = {}
        for change in self.rung_changes:
            if change.rung not in out:
                out[change.rung] = change.t_mono_ns if start is None else max(change.t_mono_ns, start)
        return out

    def time_on_rung_s(self) -> dict[int, float]:
        """Seconds of exposure on each rung: running time (not paused, not in the safe place) from the
        session start to its end (or the journal's end), split at rung changes; the engine's count."""
        start = self.session_started_mono_ns
        if start is None:
            return {}
        end = self.session_ended_mono_ns if self.session_ended_mono_ns is not None else self.end_mono_ns
        stops = [
            (e.start_mono_ns, e.end_mono_ns if e.end_mono_ns is not None else end)
            for e in (*self._console_episodes("pause"), *self._console_episodes("safe_place"))
        ]
        out: dict[int, float] = {}
        changes = self.rung_changes
        for i, change in enumerate(changes):
            a = max(change.t_mono_ns, start)
            b = min(changes[i + 1].t_mono_ns if i + 1 < len(changes) else end, end)
            if b <= a:
                continue
            running = b - a - sum(max(0, min(b, s1) - max(a, s0)) for s0, s1 in stops)
            out[change.rung] = out.get(change.rung, 0.0) + running / 1e9
        return out

    def _console_episodes(self, kind: str) -> list[Episode]:
        return episodes(self.events, _CONSOLE, kind, self.end_mono_ns)

    def metrics(self, protocol: ProtocolSpec | None = None, *, label: str | None = None) -> SessionMetrics:
        """SUDS metrics of this session by :func:`vr_exposure.core.metrics.session_metrics`, with the
        session's start, rung start times and time on each rung rebuilt from the journal."""
        return session_metrics(
            self.ratings,
            protocol,
            label=self.session_id if label is None else label,
            pseudonym=self.pseudonym,
            start_mono_ns=self.session_started_mono_ns,
            rung_start_mono_ns=self.rung_start_mono_ns(),
            time_on_rung_s=self.time_on_rung_s(),
        )

    def avoidance(self) -> tuple[AvoidanceRow, ...]:
        """Gaze and avoidance measures per session and per rung (:mod:`.avoidance`)."""
        from vr_exposure.research.avoidance import avoidance_measures

        return avoidance_measures(self)

    def missed_probes(self) -> tuple[ProbeRecord, ...]:
        return tuple(p for p in self.probes if p.status == "missed")


def utc_hms(utc_ns: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(utc_ns // 1_000_000_000))


def utc_iso(utc_ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(utc_ns // 1_000_000_000)) + "Z"


def intensity_series(changes: Sequence[IntensityChange], t_mono_ns: np.ndarray) -> np.ndarray:
    """Piecewise-linear intensity at ``t_mono_ns`` (int64) from the change points; NaN before the first."""
    out = np.full(t_mono_ns.shape, np.nan)
    for i, ch in enumerate(changes):
        t_next = changes[i + 1].t_mono_ns if i + 1 < len(changes) else None
        mask = t_mono_ns >= ch.t_mono_ns
        if t_next is not None:
            mask &= t_mono_ns < t_next
        if not mask.any():
            continue
        if ch.ramp_s > 0:
            frac = np.clip((t_mono_ns[mask] - ch.t_mono_ns) / (ch.ramp_s * 1e9), 0.0, 1.0)
            out[mask] = ch.start + (ch.target - ch.start) * frac
        else:
            out[mask] = ch.target
    return out


def intensity_knots(changes: Sequence[IntensityChange], end_mono_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """(t_mono_ns, intensity) vertices of the intensity curve, for plots (steps and ramps exact)."""
    ts: list[float] = []
    vs: list[float] = []
    for i, ch in enumerate(changes):
        t_next = changes[i + 1].t_mono_ns if i + 1 < len(changes) else end_mono_ns
        ts.append(ch.t_mono_ns)
        vs.append(ch.start)
        ramp_end = ch.t_mono_ns + ch.ramp_s * 1e9
        if ramp_end < t_next:
            ts.append(ramp_end)
            vs.append(ch.target)
        else:
            frac = 1.0 if ch.ramp_s <= 0 else (t_next - ch.t_mono_ns) / (ch.ramp_s * 1e9)
            ts.append(t_next)
            vs.append(ch.start + (ch.target - ch.start) * frac)
            continue
        ts.append(t_next)
        vs.append(ch.target)
    return np.asarray(ts, dtype=np.float64), np.asarray(vs, dtype=np.float64)


def episodes(events: Iterable[Event], process: str, kind: str, end_mono_ns: int) -> list[Episode]:
    """Pause (``kind="pause"``) or safe-place episodes journaled by ``process``."""
    start_type, end_types = (
        ("paused", ("resumed",)) if kind == "pause" else ("safe_place_entered", ("safe_place_left",))
    )
    out: list[Episode] = []
    open_at: int | None = None
    by: str | None = None
    for e in events:
        if e.process != process:
            continue
        if e.msg_type == start_type and open_at is None:
            open_at = e.event_mono_ns
            raw_by = e.content.get("by", e.content.get("source"))
            by = raw_by if isinstance(raw_by, str) else None
        elif open_at is not None and (
            e.msg_type in end_types
            # Entering the safe place ends a pause (the renderer resumes the stage first); stopping
            # ends either.
            or (kind == "pause" and e.msg_type == "safe_place_entered")
            or e.msg_type in ("stopped", "session_ended")
        ):
            out.append(
                Episode(
                    kind=kind,
                    start_mono_ns=open_at,
                    end_mono_ns=e.event_mono_ns,
                    duration_s=(e.event_mono_ns - open_at) / 1e9,
                    by=by,
                    process=process,
                )
            )
            open_at = None
    if open_at is not None:
        out.append(
            Episode(
                kind=kind,
                start_mono_ns=open_at,
                end_mono_ns=None,
                duration_s=max(0, end_mono_ns - open_at) / 1e9,
                by=by,
                process=process,
            )
        )
    return out


# --- reading the journal ---------------------------------------------------------------------------


def load_timeline(session: str | os.PathLike[str]) -> SessionTimeline:
    """Read one session (its directory, its ``manifest.json``, or a session id under the sessions
    root) into a timeline, through :func:`vr_exposure.journal.read_session`.

    Raises :class:`JournalError` for a directory that is not a session or a journal format this
    version does not read (saying which); a crash's torn tail or gaps are described, not fatal."""
    session_dir = find_session(session)
    manifest = read_manifest(session_dir)  # refused here, before any journal is read
    log = read_session(session_dir)
    for f in log.files:
        if f.format_version is not None and f.format_version > FORMAT_VERSION:
            raise JournalError(
                f"{session_dir / f.file}: journal format version {f.format_version} is newer than this "
                f"software reads (it reads {FORMAT_VERSION}); update vr-exposure"
            )
    warnings = [str(w) for w in log.warnings]

    events: list[Event] = []
    for msg_type in log.msg_types:
        if msg_type in _TABLES:
            continue
        for r in log.by_type(msg_type):
            c = r.content
            events.append(
                Event(
                    t_mono_ns=r.t_ns,
                    process=r.process,
                    kind=r.kind,
                    msg_type=msg_type,
                    seq=r.seq,
                    content=c if isinstance(c, dict) else {"value": c},
                    offset_ns=r.t_ns - r.t_mono_ns,
                )
            )
    events.sort(key=lambda e: (e.t_mono_ns, e.process, e.seq))

    processes = {f.process for f in log.files if f.records}
    has_renderer = _RENDERER in processes
    has_console = _CONSOLE in processes
    # The manifest is written by the process that created the session (the console, usually).
    creator = _CONSOLE if has_console else next(iter(sorted(processes)), _RENDERER)
    origin = log.merged_ns(creator, manifest.created.mono_ns)
    pairs = [ClockPairRecord(process="manifest", mono_ns=origin, utc_ns=manifest.created.utc_ns)]
    offsets: list[ClockOffsetRecord] = []
    for e in events:
        c = e.content
        if e.msg_type in ("clock_pair", "journal_opened", "journal_closed") and _is_int(c.get("utc_ns")):
            pairs.append(ClockPairRecord(process=e.process, mono_ns=e.t_mono_ns, utc_ns=c["utc_ns"]))
        elif e.msg_type == "clock_offset" and _is_int(c.get("offset_ns")):
            unc = c.get("uncertainty_ns")
            offsets.append(
                ClockOffsetRecord(
                    process=e.process,
                    t_mono_ns=e.t_mono_ns - e.offset_ns,
                    peer=str(c.get("peer") or (_RENDERER if e.process == _CONSOLE else "")),
                    offset_ns=c["offset_ns"],
                    uncertainty_ns=unc if _is_int(unc) else None,
                )
            )
    pairs.sort(key=lambda p: p.mono_ns)

    pose = _pose_arrays(log, warnings)
    frames = _frame_arrays(log)
    physio = _physio_streams(log, warnings)
    stimuli = _stimulus_arrays(log, warnings)

    last_times = [e.t_mono_ns for e in events[-1:]]
    if len(pose):
        last_times.append(int(pose.t_mono_ns[-1]))
    if len(stimuli):
        last_times.append(int(stimuli.t_mono_ns[-1]))
    end_mono_ns = max(last_times) if last_times else origin

    ratings, ratings_process, headset = _ratings(events, has_console, warnings)
    intensity = _intensity(events, _RENDERER if has_renderer else _CONSOLE)
    requests = _intensity(events, _CONSOLE)
    episode_process = _RENDERER if has_renderer else _CONSOLE
    pauses = tuple(episodes(events, episode_process, "pause", end_mono_ns))
    safe = tuple(episodes(events, episode_process, "safe_place", end_mono_ns))

    # The engine's own stamps, as its metrics use them (the record is written a moment later).
    started = next(
        (e.event_mono_ns for e in events if e.msg_type == "session_started" and e.process == _CONSOLE), None
    )
    ended = next(
        (e.event_mono_ns for e in events if e.msg_type == "session_ended" and e.process == _CONSOLE), None
    )
    summary = next(
        (e.content for e in reversed(events) if e.msg_type == "session_summary" and e.process == _CONSOLE),
        None,
    )

    files = tuple(
        FileInfo(
            file=f.file,
            process=f.process,
            lines=f.lines,
            bytes=f.bytes,
            torn_bytes=f.torn_tail_bytes,
            closed=f.closed,
            bad_lines=f.invalid_lines,
            seq_gaps=f.seq_gaps,
            last_mono_ns=None if f.last_mono_ns is None else log.merged_ns(f.process, f.last_mono_ns),
            format_version=f.format_version,
            clock_domain=f.clock_domain,
        )
        for f in log.files
    )
    torn = tuple(
        TornTail(
            f.file,
            f.process,
            f.last_mono_ns,
            None if f.last_mono_ns is None else _utc_at(pairs, f.last_mono_ns),
            f.torn_bytes,
        )
        for f in files
        if not f.closed
    )

    return SessionTimeline(
        session_dir=session_dir,
        manifest=manifest,
        origin_mono_ns=origin,
        events=tuple(events),
        ratings=ratings,
        ratings_process=ratings_process,
        headset_ratings=headset,
        intensity=intensity,
        intensity_requests=requests,
        pauses=pauses,
        safe_place=safe,
        probes=_probes(events),
        rung_changes=_rung_changes(events),
        ssq=_ssq(events, warnings),
        notes=tuple(e for e in events if e.msg_type == "note"),
        scene_events=tuple(
            e for e in events if e.process == _RENDERER and e.msg_type in ("event_fired", "event_ended")
        ),
        pose=pose,
        frames=frames,
        physio=physio,
        stimuli=stimuli,
        clock_pairs=tuple(pairs),
        clock_offsets=tuple(offsets),
        files=files,
        torn=torn,
        warnings=tuple(warnings),
        session_started_mono_ns=started,
        session_ended_mono_ns=ended,
        end_mono_ns=end_mono_ns,
        summary=summary,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _utc_at(pairs: Sequence[ClockPairRecord], t_mono_ns: int) -> int | None:
    """UTC (ns since the epoch) of a merged-timeline stamp, from the nearest clock pair."""
    if not pairs:
        return None
    best = min(pairs, key=lambda p: abs(p.mono_ns - t_mono_ns))
    return best.utc_ns + (t_mono_ns - best.mono_ns)


_get_frame = operator.attrgetter("frame")
_get_t = operator.attrgetter("t_mono_ns")
_get_pos = operator.attrgetter("position_m")
_get_ori = operator.attrgetter("orientation_xyzw")


def _pose_arrays(log: SessionLog, warnings: list[str]) -> PoseArrays:
    """The head poses as columns, times on the merged timeline, in time order."""
    records = log.by_type(_POSE)
    n = len(records)
    if n == 0:
        return PoseArrays.empty()
    try:
        poses = log.contents(_POSE, _PoseContent)
        frame = np.fromiter(map(_get_frame, poses), dtype=np.int64, count=n)
        t = np.fromiter(map(_get_t, poses), dtype=np.int64, count=n)
        chain = itertools.chain.from_iterable
        pos = np.fromiter(chain(map(_get_pos, poses)), dtype=np.float64, count=3 * n).reshape(n, 3)
        ori = np.fromiter(chain(map(_get_ori, poses)), dtype=np.float64, count=4 * n).reshape(n, 4)
        if any(f.offset_applied for f in log.files):  # a renderer on another machine than the reference
            t += np.fromiter((r.t_ns - r.t_mono_ns for r in records), dtype=np.int64, count=n)
    except (msgspec.ValidationError, TypeError, ValueError):
        # Some content lacks a field or holds something else there: row by row, leaving those out.
        frame, t, pos, ori = _pose_rows(records, log.contents(_POSE), warnings)
    if t.size > 1 and np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        frame, t, pos, ori = frame[order], t[order], pos[order], ori[order]
    return PoseArrays(frame, t, pos, ori)


def _pose_rows(
    records: Sequence[JournalRecord], contents: Sequence[Any], warnings: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows: list[tuple[int, int, tuple[float, ...], tuple[float, ...]]] = []
    for r, p in zip(records, contents, strict=True):
        try:
            pos_t = tuple(float(x) for x in p["position_m"])
            ori_t = tuple(float(x) for x in p["orientation_xyzw"])
            if len(pos_t) != 3 or len(ori_t) != 4:
                raise ValueError
            rows.append((int(p.get("frame") or 0), int(p["t_mono_ns"]) + r.t_ns - r.t_mono_ns, pos_t, ori_t))
        except (KeyError, TypeError, ValueError):
            pass
    if len(rows) < len(records):
        warnings.append(
            f"{len(records) - len(rows)} head poses without 3 position and 4 orientation numbers left out"
        )
    if not rows:
        empty = PoseArrays.empty()
        return empty.frame, empty.t_mono_ns, empty.position_m, empty.orientation_xyzw
    return (
        np.asarray([row[0] for row in rows], dtype=np.int64),
        np.asarray([row[1] for row in rows], dtype=np.int64),
        np.asarray([row[2] for row in rows], dtype=np.float64),
        np.asarray([row[3] for row in rows], dtype=np.float64),
    )


def _num(c: Mapping[str, Any], key: str, default: float = math.nan) -> float:
    v = c.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else default


def _frame_arrays(log: SessionLog) -> FrameArrays:
    rows = [(r.t_ns, r.content) for r in log.by_type("frame_timing") if isinstance(r.content, dict)]
    return FrameArrays(
        t_mono_ns=np.asarray([t for t, _ in rows], dtype=np.int64),
        median_ms=np.asarray([_num(c, "median_ms") for _, c in rows], dtype=np.float64),
        p99_ms=np.asarray([_num(c, "p99_ms") for _, c in rows], dtype=np.float64),
        dropped=np.asarray([_num(c, "dropped", 0) for _, c in rows], dtype=np.int64),
        frames=np.asarray([_num(c, "frames", 0) for _, c in rows], dtype=np.int64),
        window_s=np.asarray([_num(c, "window_s") for _, c in rows], dtype=np.float64),
    )


class _StimulusEntry(msgspec.Struct, gc=False):
    node: str
    tag: str
    position_m: tuple[float, float, float]


class _StimulusContent(msgspec.Struct, gc=False):
    """The fields of a ``stimulus_positions`` content (typed: one decoder pass for all records)."""

    t_mono_ns: int
    stimuli: list[_StimulusEntry]
    frame: int = 0


def _stimulus_arrays(log: SessionLog, warnings: list[str]) -> StimulusArrays:
    records = log.by_type(STIMULUS_MSG_TYPE)
    if not records:
        return StimulusArrays.empty()
    try:
        contents = log.contents(STIMULUS_MSG_TYPE, _StimulusContent)
        kept = list(zip(records, contents, strict=True))
    except msgspec.ValidationError:
        # Some record holds something else: one by one, leaving those out.
        kept = []
        for r in records:
            try:
                kept.append((r, msgspec.convert(r.content, _StimulusContent)))
            except msgspec.ValidationError:
                where = f"{r.process}.jsonl seq {r.seq}"
                warnings.append(f"{where}: a {STIMULUS_MSG_TYPE} record could not be read (left out)")
    if not kept:
        return StimulusArrays.empty()
    t = np.fromiter((c.t_mono_ns + r.t_ns - r.t_mono_ns for r, c in kept), dtype=np.int64, count=len(kept))
    order = np.argsort(t, kind="stable")
    ordered = [kept[i][1] for i in order]
    count = np.fromiter((len(c.stimuli) for c in ordered), dtype=np.int64, count=len(ordered))
    flat = [x for c in ordered for x in c.stimuli]
    positions = np.fromiter(
        itertools.chain.from_iterable(x.position_m for x in flat), dtype=np.float64, count=3 * len(flat)
    )
    return StimulusArrays(
        t_mono_ns=t[order],
        frame=np.fromiter((c.frame for c in ordered), dtype=np.int64, count=len(ordered)),
        count=count,
        start=(np.cumsum(count) - count).astype(np.int64),
        node=tuple(x.node for x in flat),
        tag=tuple(x.tag for x in flat),
        position_m=positions.reshape(len(flat), 3),
    )


def _physio_streams(log: SessionLog, warnings: list[str]) -> tuple[PhysioStream, ...]:
    by_stream: dict[str, tuple[tuple[str, ...], list[np.ndarray], list[np.ndarray]]] = {}
    for r in log.by_type(PHYSIO_MSG_TYPE):
        c = r.content
        try:
            name = str(c["stream"])
            channels = tuple(str(x) for x in c["channels"])
            t = np.asarray(c["t_mono_ns"], dtype=np.int64).reshape(-1) + (r.t_ns - r.t_mono_ns)
            v = np.asarray(c["values"], dtype=np.float64).reshape(t.shape[0], len(channels))
        except (KeyError, TypeError, ValueError):
            warnings.append(
                f"{r.process}.jsonl seq {r.seq}: a physio_samples record could not be read (left out)"
            )
            continue
        entry = by_stream.setdefault(name, (channels, [], []))
        entry[1].append(t)
        entry[2].append(v)
    out: list[PhysioStream] = []
    for name, (channels, ts, vs) in sorted(by_stream.items()):
        t = np.concatenate(ts)
        v = np.concatenate(vs)
        order = np.argsort(t, kind="stable")
        out.append(PhysioStream(name, channels, t[order], v[order]))
    return tuple(out)


def _ratings(
    events: Sequence[Event], has_console: bool, warnings: list[str]
) -> tuple[tuple[SudsRating, ...], str | None, tuple[HeadsetRating, ...]]:
    console: list[SudsRating] = []
    headset: list[HeadsetRating] = []
    # A rating the therapist withdrew (``rating_corrected``: the undo after it was recorded) does not
    # count; it is known by its time stamp.
    withdrawn = {
        e.content["rating"].get("t_mono_ns")
        for e in events
        if e.msg_type == "rating_corrected" and isinstance(e.content.get("rating"), dict)
    }
    for e in events:
        if e.msg_type not in ("suds_recorded", "rating_recorded"):
            continue
        if e.msg_type == "suds_recorded":
            try:
                rating = rating_from_content(e.content)
            except RatingError as exc:
                warnings.append(f"{e.process}.jsonl seq {e.seq}: {exc} (left out)")
                continue
            if rating.t_mono_ns in withdrawn:
                continue
            console.append(rating)
        else:
            c = e.content
            value, scale = c.get("value"), c.get("scale_max", 100)
            if isinstance(value, int | float) and isinstance(scale, int):
                probe = c.get("probe_id")
                headset.append(
                    HeadsetRating(
                        t_mono_ns=e.t_mono_ns,
                        value=float(value),
                        scale_max=scale,
                        probe_id=probe if isinstance(probe, str) else None,
                        source=str(c.get("source", "patient-in-vr")),
                    )
                )
    if has_console:
        return tuple(console), _CONSOLE, tuple(headset)
    # No console journal: the presses in VR are the only ratings there are.
    rebuilt: list[SudsRating] = []
    for h in headset:
        try:
            source = h.source if h.source in ("therapist", "patient-in-vr", "simulated") else "patient-in-vr"
            rebuilt.append(
                SudsRating.create(
                    h.value, scale_max=h.scale_max, source=source, t_mono_ns=h.t_mono_ns, probe_id=h.probe_id
                )
            )
        except RatingError as exc:
            warnings.append(f"renderer rating at {h.t_mono_ns}: {exc} (left out)")
    return tuple(rebuilt), (_RENDERER if rebuilt else None), tuple(headset)


def _intensity(events: Sequence[Event], process: str) -> tuple[IntensityChange, ...]:
    out: list[IntensityChange] = []
    current = math.nan
    for e in events:
        if e.process != process:
            continue
        c = e.content
        mt = e.msg_type
        change: IntensityChange | None = None
        if process == _RENDERER:
            if mt == "scene_loaded" and isinstance(c.get("intensity"), int | float):
                v = float(c["intensity"])
                change = IntensityChange(
                    t_mono_ns=e.t_mono_ns,
                    start=v,
                    target=v,
                    ramp_s=0.0,
                    cause=mt,
                    process=process,
                    preset=c.get("preset") if isinstance(c.get("preset"), str) else None,
                )
            elif mt == "intensity_changed" and isinstance(c.get("target"), int | float):
                start = c.get("intensity")
                change = IntensityChange(
                    t_mono_ns=e.t_mono_ns,
                    start=float(start) if isinstance(start, int | float) else current,
                    target=float(c["target"]),
                    ramp_s=float(c.get("ramp_s") or 0.0),
                    cause=mt,
                    process=process,
                )
            elif mt == "preset_applied" and isinstance(c.get("intensity"), int | float):
                change = IntensityChange(
                    t_mono_ns=e.t_mono_ns,
                    start=_value_now(out, e.t_mono_ns, current),
                    target=float(c["intensity"]),
                    ramp_s=float(c.get("ramp_s") or 0.0),
                    cause=mt,
                    process=process,
                    preset=c.get("preset") if isinstance(c.get("preset"), str) else None,
                )
        elif mt == "intensity_set" and isinstance(c.get("intensity"), int | float):
            # The console engine's: a step to the therapist's value (the ramp is the renderer's).
            start = c.get("intensity_from")
            v = float(c["intensity"])
            change = IntensityChange(
                t_mono_ns=e.t_mono_ns,
                start=float(start) if isinstance(start, int | float) else v,
                target=v,
                ramp_s=0.0,
                cause=mt,
                process=process,
            )
        if change is not None:
            if math.isnan(change.start):
                change = msgspec.structs.replace(change, start=change.target)
            out.append(change)
            current = change.target
    return tuple(out)


def _value_now(changes: Sequence[IntensityChange], t_mono_ns: int, default: float) -> float:
    if not changes:
        return default if not math.isnan(default) else math.nan
    return float(intensity_series(changes, np.asarray([t_mono_ns], dtype=np.int64))[0])


def _probes(events: Sequence[Event]) -> tuple[ProbeRecord, ...]:
    probes: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.process != _CONSOLE:
            continue
        c = e.content
        if e.msg_type == "probe_due" and isinstance(c.get("probe_id"), str):
            probes.setdefault(
                c["probe_id"],
                {
                    "probe_id": c["probe_id"],
                    "index": c.get("index") if isinstance(c.get("index"), int) else None,
                    "due_mono_ns": e.t_mono_ns,
                    "due_running_s": c.get("due_running_s"),
                    "status": "open",
                },
            )
        elif e.msg_type == "probe_missed" and isinstance(c.get("probe_id"), str):
            p = probes.setdefault(
                c["probe_id"],
                {
                    "probe_id": c["probe_id"],
                    "index": c.get("index"),
                    "due_mono_ns": None,
                    "due_running_s": None,
                },
            )
            p.update(status="missed", closed_mono_ns=e.t_mono_ns, reason=c.get("reason") or None)
        elif e.msg_type == "suds_recorded" and isinstance(c.get("probe_id"), str) and c["probe_id"] in probes:
            p = probes[c["probe_id"]]
            if p.get("status") == "missed":
                p["late_rating"] = True
            elif p.get("status") == "open":
                p.update(status="answered", closed_mono_ns=e.t_mono_ns)
    return tuple(msgspec.convert(p, ProbeRecord) for p in probes.values())


def _rung_changes(events: Sequence[Event]) -> tuple[RungChange, ...]:
    out: list[RungChange] = []
    for e in events:
        if e.process == _CONSOLE and e.msg_type == "rung_changed" and isinstance(e.content.get("rung"), int):
            c = e.content
            out.append(
                RungChange(
                    t_mono_ns=e.event_mono_ns,
                    rung=c["rung"],
                    rung_from=c.get("rung_from") if isinstance(c.get("rung_from"), int) else None,
                    preset=str(c.get("preset", "")),
                    expected_suds=float(c.get("expected_suds") or 0.0),
                    title=str(c.get("title", "")),
                    intensity=float(c.get("intensity") or 0.0),
                )
            )
    return tuple(out)


def _ssq(events: Sequence[Event], warnings: list[str]) -> tuple[SsqRecord, ...]:
    out: list[SsqRecord] = []
    for e in events:
        if e.msg_type != "ssq":
            continue
        c = dict(e.content)
        phase = str(c.pop("phase", ""))
        try:
            score = msgspec.convert(c, SsqScore)
        except msgspec.ValidationError as exc:
            warnings.append(f"{e.process}.jsonl seq {e.seq}: SSQ record: {exc} (left out)")
            continue
        out.append(SsqRecord(phase=phase, t_mono_ns=e.t_mono_ns, score=score))
    return tuple(out)


def group_by_pseudonym(timelines: Iterable[SessionTimeline]) -> dict[str | None, list[SessionTimeline]]:
    """Timelines per pseudonym, each list oldest first."""
    out: dict[str | None, list[SessionTimeline]] = {}
    for t in timelines:
        out.setdefault(t.pseudonym, []).append(t)
    for lst in out.values():
        lst.sort(key=lambda t: (t.start_utc_ns or 0, t.session_id))
    return out


def earlier_sessions(timelines: Sequence[SessionTimeline]) -> list[SessionTimeline]:
    """For each pseudonym among ``timelines``, the session just before its oldest one in the same
    sessions root (not among ``timelines``), so a report can say what changed since the last session.
    Sessions that cannot be read are left out."""
    from vr_exposure.journal.course import course_sessions

    given = {t.session_dir.resolve() for t in timelines}
    out: list[SessionTimeline] = []
    for pseudonym, tls in group_by_pseudonym(timelines).items():
        if pseudonym is None:
            continue
        first = tls[0].session_dir.resolve()
        course = [p.resolve() for p in course_sessions(tls[0].session_dir.parent, pseudonym)]
        if first not in course:
            continue
        before = [p for p in course[: course.index(first)] if p not in given]
        if before:
            try:
                out.append(load_timeline(before[-1]))
            except (JournalError, OSError):
                continue
    return out
