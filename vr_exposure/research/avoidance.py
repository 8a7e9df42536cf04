"""Gaze and avoidance measures: where the patient looks and how far they keep from the feared object.

From the recorded head pose (every frame) and the stimulus positions the renderer journaled
(``stimulus_positions``, 10 Hz: every shown node its scene tags ``stimulus``), per session and per
ladder rung, all vectorised in numpy. docs/research.md gives the definitions for readers; in short:

* **Samples analysed**: head-pose samples during exposure (after ``session_started``, before
  ``session_ended``, not paused, not in the safe place) while a stimulus is shown (the latest
  ``stimulus_positions`` record at or before the sample is at most :data:`STALE_S` old and lists at
  least one). Each sample counts for the time to the next one (the last for the median interval),
  at most :data:`MAX_SAMPLE_S` (a gap in tracking is not time spent looking anywhere). Their total
  is ``stimulus_exposure_s``; every time below is exposure time on that clock (pauses left out).
* **Head gaze**: the head's forward axis (+y of the head, rotated by the recorded quaternion) against
  the direction from the head to each shown stimulus; the angle to the nearest of them, in degrees.
  A stimulus is *looked at* within 15 degrees (the central field of view, roughly where the eyes
  rest without turning the head), and within 30 degrees (near periphery).
* ``gaze_within_15deg_share``, ``gaze_within_30deg_share``: share of the analysed time.
* ``time_to_first_look_s``: analysed time before the first sample within 15 degrees (NaN: never).
* ``longest_look_away_s``: the longest stretch of analysed time with no stimulus within 15 degrees
  (a stretch before the first look counts).
* ``mean_distance_m`` (time-weighted) and ``min_distance_m``: head to the nearest shown stimulus.
* ``lean_back_mean_m``, ``lean_back_max_m``: head displacement away from the stimulus, relative to
  where the head was over the first :data:`REFERENCE_S` of the period: ``(p(t) - p_ref) . u(t)``
  with ``u(t)`` the unit vector from the nearest stimulus to ``p_ref``; positive is away.

The stimulus position between two records is the earlier record's (held, not interpolated: at 10 Hz a
walking spider moves a few centimetres in between).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vr_exposure.research.timeline import SessionTimeline

LOOK_DEG = 15.0
NEAR_DEG = 30.0
STALE_S = 0.5
MAX_SAMPLE_S = 0.25
REFERENCE_S = 1.0
_CHUNK = 1 << 16

#: Columns of a measures row after ``scope`` and ``rung``, in order.
MEASURES = (
    "stimulus_exposure_s",
    "gaze_within_15deg_share",
    "gaze_within_30deg_share",
    "time_to_first_look_s",
    "longest_look_away_s",
    "mean_distance_m",
    "min_distance_m",
    "lean_back_mean_m",
    "lean_back_max_m",
)


@dataclass(frozen=True)
class AvoidanceRow:
    """The measures over one period: the whole session (``rung`` None) or one rung (0-based)."""

    scope: str
    rung: int | None
    stimulus_exposure_s: float
    gaze_within_15deg_share: float
    gaze_within_30deg_share: float
    time_to_first_look_s: float
    longest_look_away_s: float
    mean_distance_m: float
    min_distance_m: float
    lean_back_mean_m: float
    lean_back_max_m: float

    def as_dict(self) -> dict[str, float | int | str | None]:
        return {"scope": self.scope, "rung": self.rung, **{k: getattr(self, k) for k in MEASURES}}


def head_forward(orientation_xyzw: np.ndarray) -> np.ndarray:
    """Unit forward vectors (+y of the head) for (n, 4) quaternions x, y, z, w."""
    x, y, z, w = (orientation_xyzw[:, i] for i in range(4))
    f = np.stack((2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)), axis=1)
    norm = np.linalg.norm(f, axis=1, keepdims=True)
    return f / np.where(norm > 0, norm, 1.0)


@dataclass(frozen=True)
class GazeSamples:
    """Per head-pose sample: analysed or not, its weight (s), gaze angle to the nearest stimulus
    (degrees), distance to the nearest (m), that stimulus's position, and the rung (-1: none)."""

    analysed: np.ndarray
    weight_s: np.ndarray
    angle_deg: np.ndarray
    distance_m: np.ndarray
    stimulus_m: np.ndarray
    position_m: np.ndarray
    rung: np.ndarray


def gaze_samples(tl: SessionTimeline) -> GazeSamples | None:
    """Head gaze and distance to the stimulus for every head-pose sample; None without pose or
    stimulus records."""
    pose, stim = tl.pose, tl.stimuli
    n = len(pose)
    if n == 0 or len(stim) == 0 or not stim.count.any():
        return None
    t = pose.t_mono_ns
    dt = np.empty(n)
    if n > 1:
        d = np.diff(t) / 1e9
        dt[:-1] = d
        dt[-1] = float(np.median(d))
    else:
        dt[:] = 0.0
    dt = np.clip(dt, 0.0, MAX_SAMPLE_S)

    j = np.searchsorted(stim.t_mono_ns, t, side="right") - 1
    jc = np.clip(j, 0, None)
    shown = (j >= 0) & ((t - stim.t_mono_ns[jc]) <= STALE_S * 1e9) & (stim.count[jc] > 0)
    exposure = np.ones(n, dtype=bool)
    if tl.session_started_mono_ns is not None:
        exposure &= t >= tl.session_started_mono_ns
    if tl.session_ended_mono_ns is not None:
        exposure &= t < tl.session_ended_mono_ns
    for ep in (*tl.pauses, *tl.safe_place):
        end = ep.end_mono_ns if ep.end_mono_ns is not None else tl.end_mono_ns + 1
        exposure &= ~((t >= ep.start_mono_ns) & (t < end))
    analysed = shown & exposure

    angle = np.full(n, np.nan)
    dist = np.full(n, np.nan)
    nearest = np.full((n, 3), np.nan)
    padded = stim.padded()
    forward = head_forward(pose.orientation_xyzw)
    idx = np.flatnonzero(analysed)
    for a in range(0, idx.size, _CHUNK):  # bounded memory for hour-long sessions with many stimuli
        rows = idx[a : a + _CHUNK]
        s = padded[jc[rows]]  # (m, k, 3)
        v = s - pose.position_m[rows, None, :]
        d = np.linalg.norm(v, axis=2)  # NaN for missing slots
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.einsum("mkc,mc->mk", v, forward[rows]) / d
        ang = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        angle[rows] = np.nanmin(np.where(np.isnan(d), np.nan, ang), axis=1)
        k = np.nanargmin(np.where(np.isnan(d), np.inf, d), axis=1)
        dist[rows] = d[np.arange(rows.size), k]
        nearest[rows] = s[np.arange(rows.size), k]

    rung = np.full(n, -1, dtype=np.int64)
    if tl.rung_changes:
        rc_t = np.asarray([c.t_mono_ns for c in tl.rung_changes], dtype=np.int64)
        rc_r = np.asarray([c.rung for c in tl.rung_changes], dtype=np.int64)
        order = np.argsort(rc_t, kind="stable")
        rc_t, rc_r = rc_t[order], rc_r[order]
        r = np.searchsorted(rc_t, t, side="right") - 1
        rung = np.where(r >= 0, rc_r[np.clip(r, 0, None)], -1)
    return GazeSamples(analysed, dt, angle, dist, nearest, pose.position_m, rung)


def _period(g: GazeSamples, mask: np.ndarray, scope: str, rung: int | None) -> AvoidanceRow | None:
    idx = np.flatnonzero(mask & g.analysed)
    w = g.weight_s[idx]
    total = float(w.sum())
    if idx.size == 0 or total <= 0:
        return None
    ang = g.angle_deg[idx]
    look = ang <= LOOK_DEG
    before = np.cumsum(w) - w  # analysed time before each sample
    first = float(before[np.argmax(look)]) if look.any() else math.nan
    # Stretches without a look: a new stretch id after every look; away samples summed per id.
    stretch = np.cumsum(look)
    away = ~look
    longest = float(np.bincount(stretch[away], weights=w[away]).max()) if away.any() else 0.0
    dist = g.distance_m[idx]
    pos = g.position_m[idx]
    ref = pos[before < REFERENCE_S].mean(axis=0)
    u = ref[None, :] - g.stimulus_m[idx]
    u /= np.where((un := np.linalg.norm(u, axis=1, keepdims=True)) > 0, un, 1.0)
    lean = np.einsum("mc,mc->m", pos - ref[None, :], u)
    return AvoidanceRow(
        scope=scope,
        rung=rung,
        stimulus_exposure_s=total,
        gaze_within_15deg_share=float(w[look].sum() / total),
        gaze_within_30deg_share=float(w[ang <= NEAR_DEG].sum() / total),
        time_to_first_look_s=first,
        longest_look_away_s=longest,
        mean_distance_m=float((w * dist).sum() / total),
        min_distance_m=float(dist.min()),
        lean_back_mean_m=float((w * lean).sum() / total),
        lean_back_max_m=float(lean.max()),
    )


def avoidance_measures(tl: SessionTimeline) -> tuple[AvoidanceRow, ...]:
    """The session's row, then one per rung (in rung order) with analysed time; empty without head
    pose or stimulus records (a scene that tags no stimulus, a journal from before they existed)."""
    g = gaze_samples(tl)
    if g is None:
        return ()
    rows = [_period(g, np.ones(g.analysed.shape, dtype=bool), "session", None)]
    for rung in np.unique(g.rung[g.analysed]):
        if rung >= 0:
            rows.append(_period(g, g.rung == rung, "rung", int(rung)))
    return tuple(r for r in rows if r is not None)
