"""The typed timeline of one recorded session, extracted from its journal files.

:func:`load_timeline` reads a session directory (``manifest.json`` plus one ``<process>.jsonl`` per
process) and returns a :class:`SessionTimeline`: SUDS ratings, the intensity the patient saw, scene
events, pauses and safe-place episodes with their durations, probes (answered or missed), SSQ scores,
head pose and frame timing as numpy arrays, clock pairs and offsets, and what a crash left behind
(torn tails, missing closing records, gaps in ``seq``). Replay, report, export and the benchmark all
start here, so every tool reads a session the same way.

Which record is the truth for what (the same rule everywhere; docs/research.md says it for readers):

* **SUDS ratings** come from the console's ``rating_recorded`` records (the session engine's, content
  ``{"rating": {...}}``, rebuilt with :func:`vr_exposure.core.suds.rating_from_content`). The renderer's
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

Reading is vectorised for long sessions: each file is decoded in one msgspec call (falling back to
line by line only when a line is damaged), the head-pose contents are decoded together into columns.
A torn last line (a write interrupted by a crash) is left out and described, never fatal. Stamps of a
console on another machine are mapped onto the renderer's clock with the journaled clock offset.
"""

from __future__ import annotations

import gc
import itertools
import math
import operator
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from vr_exposure.core.metrics import SessionMetrics, session_metrics
from vr_exposure.core.specs import ProtocolSpec
from vr_exposure.core.ssq import SsqScore
from vr_exposure.core.suds import RatingError, SudsRating, rating_from_content
from vr_exposure.errors import JournalError

SUPPORTED_FORMAT_VERSIONS = (1,)
"""Journal format versions this reader understands (``manifest.json`` ``format_version``)."""

MANIFEST_NAME = "manifest.json"
PHYSIO_MSG_TYPE = "physio_samples"
"""Console telemetry: one batch of samples from a physiology LSL stream (see :mod:`.lsl`)."""
_TELEMETRY_TABLES = ("frame_timing", PHYSIO_MSG_TYPE)
_RENDERER = "renderer"
_CONSOLE = "console"


# --- decoding --------------------------------------------------------------------------------------


class _Rec(msgspec.Struct, gc=False):
    """One journal line as the reader needs it (``header`` only for files whose lines lack a
    top-level ``msg_type``, as early drafts of the format did)."""

    seq: int
    t_mono_ns: int
    process: str = ""
    kind: str = ""
    msg_type: str = ""
    header: Any = None
    content: Any = None


class _SlimContent(msgspec.Struct, gc=False):
    """The head-pose fields of any content; other fields are skipped without being built. Typed
    tuples decode about twice as fast as ``Any`` (lists); a content where these names hold something
    else fails validation and the file is read again with :class:`_LooseContent`."""

    frame: int | None = None
    t_mono_ns: int | None = None
    position_m: tuple[float, float, float] | None = None
    orientation_xyzw: tuple[float, float, float, float] | None = None


class _Slim(msgspec.Struct, gc=False):
    """The first pass over a whole file: what each line is, and a head pose's values."""

    seq: int
    t_mono_ns: int
    kind: str = ""
    msg_type: str = ""
    content: _SlimContent | None = None


class _LooseContent(msgspec.Struct, gc=False):
    frame: Any = None
    t_mono_ns: Any = None
    position_m: Any = None
    orientation_xyzw: Any = None


class _LooseSlim(msgspec.Struct, gc=False):
    seq: int
    t_mono_ns: int
    kind: str = ""
    msg_type: str = ""
    content: _LooseContent | None = None


_rec_one = msgspec.json.Decoder(_Rec)
_slim = msgspec.json.Decoder(_Slim)
_loose = msgspec.json.Decoder(_LooseSlim)


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
    """One journal file as read. ``torn_bytes``: bytes after the last complete line (an interrupted
    write); ``closed``: the writer's closing record is there; ``bad_lines``: lines that could not be
    decoded (left out); ``seq_gaps``: missing seq ranges ``(first_missing, last_missing)``."""

    file: str
    process: str
    lines: int
    bytes: int
    torn_bytes: int
    closed: bool
    bad_lines: int
    seq_gaps: tuple[tuple[int, int], ...]
    first_mono_ns: int | None
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
    session_id: str
    pseudonym: str | None
    protocol_id: str | None
    scene_id: str | None
    manifest: dict[str, Any]
    format_version: int
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
    clock_pairs: tuple[ClockPairRecord, ...]
    clock_offsets: tuple[ClockOffsetRecord, ...]
    files: tuple[FileInfo, ...]
    torn: tuple[TornTail, ...]
    warnings: tuple[str, ...]
    session_started_mono_ns: int | None
    session_ended_mono_ns: int | None
    end_mono_ns: int
    summary: dict[str, Any] | None = field(default=None)

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
        pairs = self.clock_pairs
        if not pairs:
            return None
        best = min(pairs, key=lambda p: abs(p.mono_ns - t_mono_ns))
        return best.utc_ns + (t_mono_ns - best.mono_ns)

    @property
    def date(self) -> str:
        """``YYYYMMDD`` of the session start (UTC), for BIDS session labels."""
        utc = self.start_utc_ns
        if utc is None:
            return self.session_id[:8]
        import time

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
        changes = [c for c in self.rung_changes]
        for i, change in enumerate(changes):
            a = max(change.t_mono_ns, start)
            b = min(changes[i + 1].t_mono_ns if i + 1 < len(changes) else end, end)
            if b <= a:
                continue
            running = b - a - sum(max(0, min(b, s1) - max(a, s0)) for s0, s1 in stops)
            out[change.rung] = out.get(change.rung, 0.0) + running / 1e9
        return out

    def _console_episodes(self, kind: str) -> list[Episode]:
        eps = episodes(self.events, _CONSOLE, kind, self.end_mono_ns)
        return eps

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

    def missed_probes(self) -> tuple[ProbeRecord, ...]:
        return tuple(p for p in self.probes if p.status == "missed")


def utc_hms(utc_ns: int) -> str:
    import time

    return time.strftime("%H:%M:%S", time.gmtime(utc_ns // 1_000_000_000))


def utc_iso(utc_ns: int) -> str:
    import time

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


# --- reading files ---------------------------------------------------------------------------------


@dataclass
class _FileRead:
    info: FileInfo
    records: list[_Rec]
    pose: PoseArrays


def _decode_fast(body: bytes) -> tuple[list[_Rec], list[Any], np.ndarray] | None:
    """Two passes: every line decoded slim (type, time, pose values, nothing else built) in one
    msgspec call, then only the lines that are not head poses decoded in full. None when a line is
    damaged (the caller goes line by line)."""
    slims: list[Any]
    try:
        slims = _slim.decode_lines(body)
    except msgspec.ValidationError:
        try:
            slims = _loose.decode_lines(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
    except msgspec.DecodeError:
        return None
    ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10)
    if len(ends) != len(slims):  # blank lines: positions would not match
        return None
    is_pose = [sl.msg_type == "head_pose" and sl.content is not None for sl in slims]
    poses = list(itertools.compress(map(_get_content, slims), is_pose))
    others = [i for i, p in enumerate(is_pose) if not p]
    records: list[_Rec] = []
    for i in others:
        start = int(ends[i - 1]) + 1 if i else 0
        try:
            records.append(_rec_one.decode(body[start : int(ends[i])]))
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
    seqs = np.fromiter(map(_get_seq, slims), dtype=np.int64, count=len(slims))
    return records, poses, seqs


def _decode_slow(body: bytes) -> tuple[list[_Rec], list[Any], np.ndarray, int]:
    records: list[_Rec] = []
    poses: list[Any] = []
    seqs: list[int] = []
    bad = 0
    for line in body.split(b"\n"):
        if not line.strip():
            continue
        try:
            rec = _rec_one.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError):
            bad += 1
            continue
        seqs.append(rec.seq)
        if not rec.msg_type:
            rec.msg_type = _header_msg_type(rec.header)
        if rec.msg_type == "head_pose" and isinstance(rec.content, dict):
            poses.append(rec.content)
        else:
            records.append(rec)
    return records, poses, np.asarray(seqs, dtype=np.int64), bad


_get_content = operator.attrgetter("content")
_get_seq = operator.attrgetter("seq")
_get_frame = operator.attrgetter("frame")
_get_t = operator.attrgetter("t_mono_ns")
_get_pos = operator.attrgetter("position_m")
_get_ori = operator.attrgetter("orientation_xyzw")


def _as_dicts(poses: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        p
        if isinstance(p, dict)
        else {
            "frame": p.frame,
            "t_mono_ns": p.t_mono_ns,
            "position_m": p.position_m,
            "orientation_xyzw": p.orientation_xyzw,
        }
        for p in poses
    ]


def _header_msg_type(header: Any) -> str:
    value = header.get("msg_type") if isinstance(header, dict) else None
    return value if isinstance(value, str) else ""


def _pose_columns(poses: Sequence[Any]) -> tuple[PoseArrays, int]:
    """Columns from decoded pose contents (slim structs or dicts); samples without 3 + 4 numbers
    are left out and counted."""
    n = len(poses)
    if n == 0:
        return PoseArrays.empty(), 0
    if isinstance(poses[0], _SlimContent | _LooseContent):
        try:
            frame = np.fromiter(map(_get_frame, poses), dtype=np.int64, count=n)
            t = np.fromiter(map(_get_t, poses), dtype=np.int64, count=n)
            chain = itertools.chain.from_iterable
            pos = np.fromiter(chain(map(_get_pos, poses)), dtype=np.float64, count=3 * n).reshape(n, 3)
            ori = np.fromiter(chain(map(_get_ori, poses)), dtype=np.float64, count=4 * n).reshape(n, 4)
            return PoseArrays(frame, t, pos, ori), 0
        except (TypeError, ValueError):
            poses = _as_dicts(poses)
    rows: list[tuple[int, int, tuple[float, ...], tuple[float, ...]]] = []
    bad = 0
    for p in poses:
        try:
            pos_t = tuple(float(x) for x in p["position_m"])
            ori_t = tuple(float(x) for x in p["orientation_xyzw"])
            if len(pos_t) != 3 or len(ori_t) != 4:
                raise ValueError
            rows.append((int(p.get("frame") or 0), int(p["t_mono_ns"]), pos_t, ori_t))
        except (KeyError, TypeError, ValueError):
            bad += 1
    if not rows:
        return PoseArrays.empty(), bad
    return (
        PoseArrays(
            np.asarray([r[0] for r in rows], dtype=np.int64),
            np.asarray([r[1] for r in rows], dtype=np.int64),
            np.asarray([r[2] for r in rows], dtype=np.float64),
            np.asarray([r[3] for r in rows], dtype=np.float64),
        ),
        bad,
    )


def _read_file(path: Path, process_hint: str, warnings: list[str]) -> _FileRead:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the journal: {exc.strerror}") from None
    cut = data.rfind(b"\n") + 1
    body, tail = data[:cut], data[cut:]
    fast = _decode_fast(body) if body else ([], [], np.zeros(0, np.int64))
    bad = 0
    if fast is None:
        records, poses, seqs, bad = _decode_slow(body)
    else:
        records, poses, seqs = fast
    if any(not r.msg_type for r in records):
        # Lines without a top-level msg_type (early drafts of the format): the header names it.
        for r in records:
            r.msg_type = r.msg_type or _header_msg_type(r.header)
        extra = [r.content for r in records if r.msg_type == "head_pose" and isinstance(r.content, dict)]
        if extra:
            records = [r for r in records if r.msg_type != "head_pose"]
            poses = [*_as_dicts(poses), *extra]
            poses.sort(key=lambda p: p.get("t_mono_ns") if isinstance(p.get("t_mono_ns"), int) else 0)
    pose, bad_poses = _pose_columns(poses)
    if bad_poses:
        warnings.append(
            f"{path.name}: {bad_poses} head poses without 3 position and 4 orientation numbers left out"
        )
    closed = False
    version: int | None = None
    domain: str | None = None
    process = process_hint
    for r in records:
        if not r.msg_type:
            r.msg_type = _header_msg_type(r.header)
        if not isinstance(r.content, dict):
            r.content = {"value": r.content}
        if r.msg_type == "journal_closed":
            closed = True
        elif r.msg_type == "journal_opened":
            c = r.content
            version = c["format_version"] if isinstance(c.get("format_version"), int) else version
            domain = c["clock_domain"] if isinstance(c.get("clock_domain"), str) else domain
            process = c["process"] if isinstance(c.get("process"), str) else process
    if version is not None and version not in SUPPORTED_FORMAT_VERSIONS:
        raise JournalError(
            f"{path}: journal format version {version} is not one this software reads "
            f"({', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))}); "
            + ("update vr-exposure" if version > max(SUPPORTED_FORMAT_VERSIONS) else "convert it first")
        )
    gaps: list[tuple[int, int]] = []
    if seqs.size > 1:
        srt = np.sort(seqs)
        jumps = np.nonzero(np.diff(srt) > 1)[0]
        gaps = [(int(srt[i]) + 1, int(srt[i + 1]) - 1) for i in jumps]
    times = [r.t_mono_ns for r in records]
    if len(pose):
        times += [int(pose.t_mono_ns.min()), int(pose.t_mono_ns.max())]
    info = FileInfo(
        file=path.name,
        process=process,
        lines=len(records) + len(poses) + bad,
        bytes=len(data),
        torn_bytes=len(tail),
        closed=closed,
        bad_lines=bad,
        seq_gaps=tuple(gaps),
        first_mono_ns=min(times) if times else None,
        last_mono_ns=max(times) if times else None,
        format_version=version,
        clock_domain=domain,
    )
    return _FileRead(info, records, pose)


def _journal_files(session_dir: Path, manifest: Mapping[str, Any]) -> list[tuple[Path, str]]:
    listed: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for entry in manifest.get("files") or []:
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            name = entry["file"]
            if (session_dir / name).is_file():
                listed.append((session_dir / name, str(entry.get("process") or name.split(".")[0])))
                seen.add(name)
    for p in sorted(session_dir.glob("*.jsonl")):
        if p.name not in seen:
            listed.append((p, p.name.split(".")[0]))
    return listed


def read_manifest_dict(session_dir: Path) -> dict[str, Any]:
    """``manifest.json`` as plain data, with the format checked (a clear message otherwise)."""
    path = session_dir / MANIFEST_NAME
    try:
        manifest = msgspec.json.decode(path.read_bytes())
    except FileNotFoundError:
        raise JournalError(f"{path}: no manifest here; is {session_dir} a session directory?") from None
    except msgspec.DecodeError as exc:
        raise JournalError(f"{path}: the manifest is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise JournalError(f"{path}: the manifest is not a JSON object")
    fmt = manifest.get("format", "vr-exposure-journal")
    if fmt != "vr-exposure-journal":
        raise JournalError(f"{path}: format is {fmt!r}, not a vr-exposure journal")
    version = manifest.get("format_version", 1)
    if not isinstance(version, int) or version not in SUPPORTED_FORMAT_VERSIONS:
        newer = isinstance(version, int) and version > max(SUPPORTED_FORMAT_VERSIONS)
        raise JournalError(
            f"{path}: journal format version {version!r} is "
            + ("newer than this software reads" if newer else "not one this software reads")
            + f" (it reads {', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))})"
            + ("; update vr-exposure" if newer else "")
        )
    return manifest


def resolve_session(arg: str | os.PathLike[str]) -> Path:
    """A session directory from a path, or a session id under the sessions root."""
    path = Path(arg)
    if (path / MANIFEST_NAME).is_file():
        return path
    if path.name == MANIFEST_NAME and path.is_file():
        return path.parent
    if not path.is_absolute() and len(path.parts) == 1:
        from vr_exposure.journal.paths import sessions_root

        candidate = sessions_root() / path
        if (candidate / MANIFEST_NAME).is_file():
            return candidate
    raise JournalError(
        f"{arg}: not a session directory (no {MANIFEST_NAME}) nor a session id under the sessions root"
    )


# --- assembling ------------------------------------------------------------------------------------


class _ClockMap:
    """Maps one process's stamps onto the reference (renderer) clock."""

    def __init__(self, offsets_ns: Sequence[tuple[int, int]]) -> None:
        self.t = np.asarray([t for t, _ in offsets_ns], dtype=np.int64)
        self.off = np.asarray([o for _, o in offsets_ns], dtype=np.int64)

    def __call__(self, t_mono_ns: int) -> int:
        if self.t.size == 0:
            return t_mono_ns
        i = max(0, int(np.searchsorted(self.t, t_mono_ns, side="right")) - 1)
        return t_mono_ns + int(self.off[i])


def _clock_maps(reads: Sequence[_FileRead], offsets: Sequence[ClockOffsetRecord]) -> dict[str, _ClockMap]:
    """Per process: identity when it shares the renderer's clock domain (one machine), else the
    offsets it journaled towards the renderer."""
    domains = {r.info.process: r.info.clock_domain for r in reads}
    ref = domains.get(_RENDERER)
    maps: dict[str, _ClockMap] = {}
    for process, domain in domains.items():
        if process == _RENDERER or ref is None or domain == ref:
            maps[process] = _ClockMap([])
            continue
        mine = sorted(
            (o.t_mono_ns, o.offset_ns) for o in offsets if o.process == process and o.peer in ("renderer", "")
        )
        maps[process] = _ClockMap(mine)
    return maps


def load_timeline(session: str | os.PathLike[str]) -> SessionTimeline:
    """Read one session directory (or a session id under the sessions root) into a timeline.

    Raises :class:`JournalError` for a directory that is not a session or a journal format this
    version does not read (saying which); a crash's torn tail or gaps are described, not fatal."""
    session_dir = resolve_session(session)
    manifest = read_manifest_dict(session_dir)
    warnings: list[str] = []
    # Hundreds of thousands of small objects are made and dropped here, none in a cycle: the cyclic
    # collector would only rescan them again and again (a third of the time for an hour of pose).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        reads = [_read_file(p, proc, warnings) for p, proc in _journal_files(session_dir, manifest)]
    finally:
        if gc_was_enabled:
            gc.enable()

    # Clock offsets first: they decide how each file's stamps map onto the merged timeline.
    offsets: list[ClockOffsetRecord] = []
    for fr in reads:
        for r in fr.records:
            if r.msg_type == "clock_offset":
                c = r.content
                if isinstance(c.get("offset_ns"), int):
                    unc = c.get("uncertainty_ns")
                    offsets.append(
                        ClockOffsetRecord(
                            process=fr.info.process,
                            t_mono_ns=r.t_mono_ns,
                            peer=str(c.get("peer") or ("renderer" if fr.info.process == _CONSOLE else "")),
                            offset_ns=int(c["offset_ns"]),
                            uncertainty_ns=unc if isinstance(unc, int) else None,
                        )
                    )
    maps = _clock_maps(reads, offsets)

    events: list[Event] = []
    pairs: list[ClockPairRecord] = []
    created = manifest.get("created")
    if (
        isinstance(created, dict)
        and isinstance(created.get("mono_ns"), int)
        and isinstance(created.get("utc_ns"), int)
    ):
        pairs.append(
            ClockPairRecord(process="manifest", mono_ns=created["mono_ns"], utc_ns=created["utc_ns"])
        )
    telemetry: list[tuple[str, int, _Rec]] = []
    for fr in reads:
        fmap = maps[fr.info.process]
        identity = fmap.t.size == 0
        for r in fr.records:
            t = r.t_mono_ns if identity else fmap(r.t_mono_ns)
            c = r.content
            if r.msg_type in _TELEMETRY_TABLES:
                telemetry.append((fr.info.process, t, r))
                continue
            events.append(
                Event(
                    t_mono_ns=t,
                    process=fr.info.process,
                    kind=r.kind,
                    msg_type=r.msg_type,
                    seq=r.seq,
                    content=c,
                    offset_ns=t - r.t_mono_ns,
                )
            )
            if r.msg_type in ("clock_pair", "journal_opened", "journal_closed") and isinstance(
                c.get("utc_ns"), int
            ):
                pairs.append(ClockPairRecord(process=fr.info.process, mono_ns=t, utc_ns=c["utc_ns"]))
        if fr.info.torn_bytes:
            warnings.append(f"{fr.info.file}: last {fr.info.torn_bytes} bytes are a torn line (left out)")
        if fr.info.bad_lines:
            warnings.append(f"{fr.info.file}: {fr.info.bad_lines} damaged lines left out")
        for a, b in fr.info.seq_gaps:
            warnings.append(
                f"{fr.info.file}: seq {a}-{b} missing" if b > a else f"{fr.info.file}: seq {a} missing"
            )
    events.sort(key=lambda e: (e.t_mono_ns, e.process, e.seq))
    pairs.sort(key=lambda p: p.mono_ns)

    processes = {fr.info.process for fr in reads if fr.records or len(fr.pose)}
    has_renderer = _RENDERER in processes
    has_console = _CONSOLE in processes

    pose = _pose_arrays(reads, maps)
    frames = _frame_arrays(telemetry)
    physio = _physio_streams(telemetry, maps, warnings)

    last_times = [e.t_mono_ns for e in events[-1:]]
    if len(pose):
        last_times.append(int(pose.t_mono_ns[-1]))
    origin = _origin(manifest, events, maps)
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

    torn: list[TornTail] = []
    for fr in reads:
        if not fr.info.closed:
            last = fr.info.last_mono_ns
            last_m = None if last is None else maps[fr.info.process](last)
            tmp_utc = None
            if last_m is not None and pairs:
                best = min(pairs, key=lambda p: abs(p.mono_ns - last_m))
                tmp_utc = best.utc_ns + (last_m - best.mono_ns)
            torn.append(TornTail(fr.info.file, fr.info.process, last_m, tmp_utc, fr.info.torn_bytes))

    return SessionTimeline(
        session_dir=session_dir,
        session_id=str(manifest.get("session_id") or session_dir.name),
        pseudonym=manifest.get("pseudonym") if isinstance(manifest.get("pseudonym"), str) else None,
        protocol_id=manifest.get("protocol") if isinstance(manifest.get("protocol"), str) else None,
        scene_id=manifest.get("scene") if isinstance(manifest.get("scene"), str) else None,
        manifest=manifest,
        format_version=int(manifest.get("format_version", 1)),
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
        clock_pairs=tuple(pairs),
        clock_offsets=tuple(offsets),
        files=tuple(fr.info for fr in reads),
        torn=tuple(torn),
        warnings=tuple(warnings),
        session_started_mono_ns=started,
        session_ended_mono_ns=ended,
        end_mono_ns=end_mono_ns,
        summary=summary,
    )


def _origin(manifest: Mapping[str, Any], events: Sequence[Event], maps: Mapping[str, _ClockMap]) -> int:
    created = manifest.get("created")
    if isinstance(created, dict) and isinstance(created.get("mono_ns"), int):
        # The manifest is written by the process that created the session (the console, usually).
        creator = _CONSOLE if _CONSOLE in maps else next(iter(maps), _RENDERER)
        return maps[creator](created["mono_ns"]) if creator in maps else int(created["mono_ns"])
    return events[0].t_mono_ns if events else 0


def _pose_arrays(reads: Sequence[_FileRead], maps: Mapping[str, _ClockMap]) -> PoseArrays:
    parts: list[PoseArrays] = []
    for fr in reads:
        if not len(fr.pose):
            continue
        fmap = maps[fr.info.process]
        p = fr.pose
        if fmap.t.size:
            idx = np.clip(np.searchsorted(fmap.t, p.t_mono_ns, side="right") - 1, 0, None)
            p = PoseArrays(p.frame, p.t_mono_ns + fmap.off[idx], p.position_m, p.orientation_xyzw)
        parts.append(p)
    if not parts:
        return PoseArrays.empty()
    if len(parts) == 1:
        frame, t, pos, ori = (
            parts[0].frame,
            parts[0].t_mono_ns,
            parts[0].position_m,
            parts[0].orientation_xyzw,
        )
    else:
        frame = np.concatenate([p.frame for p in parts])
        t = np.concatenate([p.t_mono_ns for p in parts])
        pos = np.concatenate([p.position_m for p in parts])
        ori = np.concatenate([p.orientation_xyzw for p in parts])
    if t.size > 1 and np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        frame, t, pos, ori = frame[order], t[order], pos[order], ori[order]
    return PoseArrays(frame, t, pos, ori)


def _num(c: Mapping[str, Any], key: str, default: float = math.nan) -> float:
    v = c.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else default


def _frame_arrays(telemetry: Sequence[tuple[str, int, _Rec]]) -> FrameArrays:
    rows = sorted(
        ((t, r.content) for _, t, r in telemetry if r.msg_type == "frame_timing"), key=lambda x: x[0]
    )
    return FrameArrays(
        t_mono_ns=np.asarray([t for t, _ in rows], dtype=np.int64),
        median_ms=np.asarray([_num(c, "median_ms") for _, c in rows], dtype=np.float64),
        p99_ms=np.asarray([_num(c, "p99_ms") for _, c in rows], dtype=np.float64),
        dropped=np.asarray([_num(c, "dropped", 0) for _, c in rows], dtype=np.int64),
        frames=np.asarray([_num(c, "frames", 0) for _, c in rows], dtype=np.int64),
        window_s=np.asarray([_num(c, "window_s") for _, c in rows], dtype=np.float64),
    )


def _physio_streams(
    telemetry: Sequence[tuple[str, int, _Rec]], maps: Mapping[str, _ClockMap], warnings: list[str]
) -> tuple[PhysioStream, ...]:
    by_stream: dict[str, tuple[tuple[str, ...], list[np.ndarray], list[np.ndarray]]] = {}
    for process, _, r in telemetry:
        if r.msg_type != PHYSIO_MSG_TYPE:
            continue
        c = r.content
        try:
            name = str(c["stream"])
            channels = tuple(str(x) for x in c["channels"])
            t = np.asarray(c["t_mono_ns"], dtype=np.int64).reshape(-1)
            v = np.asarray(c["values"], dtype=np.float64).reshape(t.shape[0], len(channels))
        except (KeyError, TypeError, ValueError):
            warnings.append(
                f"{process}.jsonl seq {r.seq}: a physio_samples record could not be read (left out)"
            )
            continue
        fmap = maps[process]
        if fmap.t.size:
            t = np.asarray([fmap(int(x)) for x in t], dtype=np.int64)
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
    for e in events:
        if e.msg_type != "rating_recorded":
            continue
        if e.process == _CONSOLE or "rating" in e.content:
            try:
                rating = rating_from_content(e.content)
            except RatingError as exc:
                warnings.append(f"{e.process}.jsonl seq {e.seq}: {exc} (left out)")
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
        elif mt == "intensity_changed" and isinstance(c.get("intensity"), int | float):
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
        elif (
            e.msg_type == "rating_recorded" and isinstance(c.get("probe_id"), str) and c["probe_id"] in probes
        ):
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
