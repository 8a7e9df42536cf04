"""Replay: what the patient saw, rebuilt from a session's journal.

The renderer's journal holds every change of what was shown (``scene_loaded``, ``intensity_changed``
with its ramp, ``preset_applied``, ``event_fired`` with the delay actually drawn (``event_delay``),
``paused``/``resumed``, ``safe_place_entered``/``left``, ``stopped``) and the head pose of every
frame. :class:`Replayer` applies those facts to the renderer's own :class:`~vr_exposure.renderer.
stage.Stage` at their recorded times, on a clock that runs on replay time (so event delays, ramps and
fades take the recorded time), and puts the camera at the recorded head pose of each frame (the pose
at or before the replayed instant, never interpolated). A strip along the bottom shows the session's
timeline (intensity, SUDS, events, pauses and safe place) with a cursor, and a line of text the
current values.

With ``gaze_ray`` (``--gaze-ray``) a line is drawn along the head's forward axis, a few centimetres
below the eyes, so it runs from the bottom of the view to its centre: green while a stimulus is looked
at (within 15 degrees of head gaze, as :mod:`.avoidance` counts it), white otherwise.

Output: a window paced at ``--speed`` times real time, or offscreen frames written as PNGs (with a
``frames.csv`` giving, per frame, the camera transform read back from the scene graph, so it can be
checked against the journal) or piped to ffmpeg for a video.

Panda3D is imported only when a replay starts; the plan (:func:`replay_plan`) and the strip image
(:class:`TimelineStrip`) are plain numpy and testable without a GPU.
"""

from __future__ import annotations

import csv
import logging
import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vr_exposure.core.specs import SafePlaceSettings
from vr_exposure.errors import VrExposureError
from vr_exposure.research.timeline import SessionTimeline, intensity_series

log = logging.getLogger(__name__)

#: Horizontal field of view of the replay camera: the desktop backends' (close to a headset's).
FOV_H_DEG = 80.0
NEAR_M = 0.05
FAR_M = 500.0
#: What the renderer app uses for a scene change and for stop (renderer/app.py).
SCENE_FADE_S = 1.0
STOP_FADE_S = 1.0
STRIP_HEIGHT_FRACTION = 0.16
#: The head-gaze ray: from this far ahead of the eyes to this far, this much below them (m).
GAZE_RAY_START_M = 0.25
GAZE_RAY_LENGTH_M = 40.0
GAZE_RAY_DROP_M = 0.05
GAZE_LOOK_RGBA = (0.2, 1.0, 0.3, 1.0)
GAZE_AWAY_RGBA = (1.0, 1.0, 1.0, 1.0)

#: Renderer facts that change what is shown, in the order the replay applies them.
STATE_FACTS = (
    "scene_loaded",
    "intensity_changed",
    "preset_applied",
    "event_fired",
    "paused",
    "resumed",
    "safe_place_entered",
    "safe_place_left",
    "stopped",
)


class ReplayError(VrExposureError):
    """A session that cannot be replayed as asked; the message says why."""


@dataclass(frozen=True)
class Action:
    """One state change to apply at ``t_mono_ns``."""

    t_mono_ns: int
    kind: str
    content: dict[str, Any]
    delay_s: float | None = None  # event_fired: the delay the renderer drew


def replay_plan(tl: SessionTimeline) -> list[Action]:
    """The renderer's state facts in order, each event with the delay the renderer journaled for it."""
    renderer = [e for e in tl.events if e.process == "renderer"]
    delays: dict[int, float] = {}
    for i, e in enumerate(renderer):
        if e.msg_type == "event_fired":
            for later in renderer[i + 1 : i + 6]:
                if later.msg_type == "event_delay" and later.content.get("event") == e.content.get("event"):
                    d = later.content.get("delay_s")
                    if isinstance(d, int | float):
                        delays[i] = float(d)
                    break
    return [
        Action(e.t_mono_ns, e.msg_type, dict(e.content), delays.get(i))
        for i, e in enumerate(renderer)
        if e.msg_type in STATE_FACTS
    ]


def parse_time_s(text: str) -> float:
    """``90``, ``90.5``, ``1:30`` or ``0:01:30`` -> seconds."""
    parts = text.strip().split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ReplayError(f"time {text!r}: use seconds (90) or minutes:seconds (1:30)") from None
    if len(values) > 3 or any(v < 0 for v in values):
        raise ReplayError(f"time {text!r}: use seconds (90) or minutes:seconds (1:30)")
    total = 0.0
    for v in values:
        total = total * 60.0 + v
    return total


def frame_times(
    tl: SessionTimeline, start_ns: int, end_ns: int, fps: float | None
) -> Iterator[tuple[int, int]]:
    """(replay time, pose index) per output frame: every recorded frame in range, or ``fps`` frames
    per second of session time taking the pose at or before each instant."""
    pose = tl.pose
    if fps is None and len(pose):
        lo = int(np.searchsorted(pose.t_mono_ns, start_ns, side="left"))
        hi = int(np.searchsorted(pose.t_mono_ns, end_ns, side="right"))
        for i in range(lo, hi):
            yield int(pose.t_mono_ns[i]), i
        return
    step_ns = int(1e9 / (fps or 30.0))
    t = start_ns
    while t <= end_ns:
        yield t, (pose.at(t) if len(pose) else -1)
        t += step_ns


# --- the timeline strip ------------------------------------------------------------------------------

_BG = (20, 22, 28, 200)
_INTENSITY = (255, 160, 40, 255)
_SUDS = (90, 200, 255, 255)
_EVENT = (235, 235, 235, 255)
_SAFE = (40, 120, 70, 200)
_PAUSE = (90, 90, 90, 200)
_CURSOR = (255, 60, 60, 255)


class TimelineStrip:
    """The session's timeline as an RGBA image (row 0 at the top): intensity (orange line), SUDS (blue
    squares), scene events (white ticks), safe place (green) and pauses (grey); :meth:`at` adds a
    cursor. Drawn once with numpy; a frame only copies it and draws one column."""

    def __init__(
        self, tl: SessionTimeline, start_ns: int, end_ns: int, width_px: int, height_px: int
    ) -> None:
        self.start_ns = start_ns
        self.end_ns = max(end_ns, start_ns + 1)
        self.width = max(8, width_px)
        self.height = max(8, height_px)
        w, h = self.width, self.height
        img = np.empty((h, w, 4), dtype=np.uint8)
        img[:] = _BG
        cols_t = self.start_ns + (np.arange(w) + 0.5) / w * (self.end_ns - self.start_ns)
        for eps, colour in ((tl.safe_place, _SAFE), (tl.pauses, _PAUSE)):
            for ep in eps:
                end = ep.end_mono_ns if ep.end_mono_ns is not None else tl.end_mono_ns
                mask = (cols_t >= ep.start_mono_ns) & (cols_t < end)
                img[:, mask] = colour
        top, bottom = 3, h - 3

        def y_of(value: np.ndarray) -> np.ndarray:
            v = np.clip(np.asarray(value, dtype=np.float64), 0.0, 100.0)
            return np.round(bottom - v / 100.0 * (bottom - top)).astype(np.int64)

        level = intensity_series(tl.intensity, cols_t.astype(np.int64))
        ok = ~np.isnan(level)
        xs = np.nonzero(ok)[0]
        if xs.size:
            ys = y_of(level[ok])
            for dy in (0, 1):
                img[np.clip(ys + dy, 0, h - 1), xs] = _INTENSITY
        for e in tl.scene_events:
            if e.msg_type == "event_fired":
                x = self.x_of(e.t_mono_ns)
                if x is not None:
                    img[0 : max(3, h // 5), x] = _EVENT
        for r in tl.ratings:
            x = self.x_of(r.t_mono_ns)
            if x is not None:
                y = int(y_of(np.asarray([r.value]))[0])
                img[max(0, y - 2) : y + 3, max(0, x - 2) : x + 3] = _SUDS
        self.image = img

    def x_of(self, t_mono_ns: int) -> int | None:
        if not self.start_ns <= t_mono_ns <= self.end_ns:
            return None
        return min(
            self.width - 1, int((t_mono_ns - self.start_ns) / (self.end_ns - self.start_ns) * self.width)
        )

    def at(self, t_mono_ns: int) -> np.ndarray:
        img = self.image.copy()
        x = self.x_of(min(max(t_mono_ns, self.start_ns), self.end_ns))
        if x is not None:
            img[:, max(0, x - 1) : x + 1] = _CURSOR
        return img


# --- the replayer --------------------------------------------------------------------------------------


class ReplayClock:
    """The stage's clock: replay time (the journal's monotonic time of the frame being replayed)."""

    def __init__(self, t_mono_ns: int, utc_offset_ns: int = 0) -> None:
        self.t_mono_ns = t_mono_ns
        self.utc_offset_ns = utc_offset_ns

    def monotonic_ns(self) -> int:
        return self.t_mono_ns

    def utc_ns(self) -> int:
        return self.t_mono_ns + self.utc_offset_ns


class _RecordedJitter:
    """Stands in for the stage's random generator when an event is replayed: returns the random part
    of the delay the renderer actually drew (journaled as ``event_delay``)."""

    def __init__(self, value_s: float) -> None:
        self.value_s = value_s

    def uniform(self, low: float = 0.0, high: float = 1.0) -> float:
        return min(max(self.value_s, low), high)


@dataclass
class FrameRecord:
    index: int
    t_mono_ns: int
    pose_index: int
    camera_pos: tuple[float, float, float]
    camera_quat_xyzw: tuple[float, float, float, float]
    scene: str | None
    intensity: float
    fade_level: float
    in_safe_place: bool
    file: str | None
    gaze_on_stimulus: bool = False


class Replayer:
    """Drives a stage and a camera from a timeline on a ShowBase (window or offscreen)."""

    def __init__(
        self,
        tl: SessionTimeline,
        *,
        backend: str = "offscreen",
        size: tuple[int, int] = (960, 540),
        start_ns: int | None = None,
        end_ns: int | None = None,
        overlay: bool = True,
        gaze_ray: bool = False,
    ) -> None:
        if backend not in ("window", "offscreen"):
            raise ReplayError(f"backend {backend!r}: use window or offscreen")
        if not any(e.process == "renderer" for e in tl.events) and not len(tl.pose):
            raise ReplayError(
                f"{tl.session_id}: no renderer journal in this session, so nothing to replay (the renderer's "
                "journal holds what was shown and the head pose)"
            )
        self.tl = tl
        self.plan = replay_plan(tl)
        first = (
            tl.pose.t_mono_ns[0]
            if len(tl.pose)
            else (self.plan[0].t_mono_ns if self.plan else tl.origin_mono_ns)
        )
        last = tl.pose.t_mono_ns[-1] if len(tl.pose) else tl.end_mono_ns
        self.start_ns = int(first) if start_ns is None else max(int(first), start_ns)
        self.end_ns = int(last) if end_ns is None else min(int(last), end_ns)
        if self.end_ns < self.start_ns:
            raise ReplayError(
                f"nothing to replay between {tl.t_s(self.start_ns):.1f} s and {tl.t_s(self.end_ns):.1f} s "
                f"(the recording runs {tl.t_s(int(first)):.1f}-{tl.t_s(int(last)):.1f} s)"
            )
        self.size = size
        self.backend_name = backend
        self.clock = ReplayClock(self.plan[0].t_mono_ns if self.plan else self.start_ns)
        self._next_action = 0
        self._paused = False
        self._last_ns: int | None = None
        #: Per head-pose sample: a stimulus within 15 degrees of head gaze (the avoidance measures').
        self.looking = np.zeros(len(tl.pose), dtype=bool)
        self._gaze_ray: Any = None
        self._setup_panda(backend, size, overlay)
        if gaze_ray:
            self._setup_gaze_ray()

    # -- Panda3D --------------------------------------------------------------------------------------

    def _setup_panda(self, backend: str, size: tuple[int, int], overlay: bool) -> None:
        from panda3d.core import PerspectiveLens, loadPrcFileData

        from vr_exposure.core.loading import load_library
        from vr_exposure.renderer.backends import BackendOptions, build_rig
        from vr_exposure.renderer.stage import Stage

        if backend == "offscreen":
            from vr_exposure.renderer.backends.offscreen import OffscreenBackend as Backend
        else:
            from vr_exposure.renderer.backends.window import WindowBackend as Backend  # type: ignore[assignment]
        prc = Backend(BackendOptions(size=size)).prc_data()
        loadPrcFileData(
            "vr-exposure-replay",
            prc + "window-title vr-exposure replay\naudio-library-name null\nnotify-level-display error\n",
        )
        from direct.showbase.ShowBase import ShowBase

        self.base = ShowBase(windowType=Backend.window_type)
        base = self.base
        self.library = load_library(raise_on_error=False)
        self.safe_place = SafePlaceSettings()
        if self.tl.protocol_id and self.tl.protocol_id in self.library.protocols:
            self.safe_place = self.library.protocols[self.tl.protocol_id].safe_place
        self.rig = build_rig(base.render)
        base.camera.reparentTo(self.rig.head)
        base.camera.setPosHpr(0, 0, 0, 0, 0, 0)
        lens: PerspectiveLens = base.camLens
        w, h = size
        lens.setNearFar(NEAR_M, FAR_M)
        lens.setFov(FOV_H_DEG, math.degrees(2 * math.atan(math.tan(math.radians(FOV_H_DEG) / 2) * h / w)))
        base.win.setClearColor((0, 0, 0, 1))
        self.stage = Stage(base.render, clock=self.clock, rng_seed=0)
        self.strip: TimelineStrip | None = None
        self._strip_tex: Any = None
        self._text: Any = None
        if overlay:
            self._setup_overlay()

    def _setup_overlay(self) -> None:
        from direct.gui.OnscreenText import OnscreenText
        from panda3d.core import CardMaker, TextNode, Texture, TransparencyAttrib

        base = self.base
        w, h = self.size
        strip_h = max(16, int(h * STRIP_HEIGHT_FRACTION))
        self.strip = TimelineStrip(self.tl, self.start_ns, self.end_ns, w, strip_h)
        tex = Texture("vr-exposure-replay-strip")
        tex.setup2dTexture(w, strip_h, Texture.T_unsigned_byte, Texture.F_rgba8)
        tex.setMinfilter(Texture.FT_nearest)
        tex.setMagfilter(Texture.FT_nearest)
        self._strip_tex = tex
        aspect = w / h
        top = -1.0 + 2.0 * strip_h / h
        cm = CardMaker("timeline-strip")
        cm.setFrame(-aspect, aspect, -1.0, top)
        card = base.aspect2d.attachNewNode(cm.generate())
        card.setTexture(tex)
        card.setTransparency(TransparencyAttrib.MAlpha)
        self._card = card
        self._text = OnscreenText(
            text="",
            parent=base.aspect2d,
            pos=(-aspect + 0.03, top + 0.03),
            scale=0.06,
            fg=(1, 1, 1, 1),
            shadow=(0, 0, 0, 1),
            align=TextNode.ALeft,
            mayChange=True,
        )

    def _setup_gaze_ray(self) -> None:
        from panda3d.core import LineSegs

        from vr_exposure.research.avoidance import LOOK_DEG, gaze_samples

        g = gaze_samples(self.tl)
        if g is not None:
            self.looking = g.analysed & (g.angle_deg <= LOOK_DEG)
        segs = LineSegs("head-gaze-ray")
        segs.setThickness(3.0)
        segs.moveTo(0.0, GAZE_RAY_START_M, -GAZE_RAY_DROP_M)
        segs.drawTo(0.0, GAZE_RAY_LENGTH_M, -GAZE_RAY_DROP_M)
        ray = self.rig.head.attachNewNode(segs.create())
        # Drawn over the scene, unlit: it is an annotation, not part of what the patient saw.
        ray.setLightOff(1)
        ray.setDepthTest(False)
        ray.setDepthWrite(False)
        ray.setBin("fixed", 40)
        ray.setColor(*GAZE_AWAY_RGBA, 1)
        self._gaze_ray = ray

    def gaze_on_stimulus(self, pose_index: int) -> bool:
        return bool(0 <= pose_index < self.looking.size and self.looking[pose_index])

    # -- state ----------------------------------------------------------------------------------------

    def _apply(self, a: Action) -> None:
        stage, c = self.stage, a.content
        try:
            if a.kind == "scene_loaded":
                spec = self.library.scene(str(c.get("scene")))
                preset = c.get("preset") if isinstance(c.get("preset"), str) else None
                intensity = c.get("intensity") if isinstance(c.get("intensity"), int | float) else None
                if stage.in_safe_place:
                    stage.leave_safe_place(SCENE_FADE_S)
                stage.load(spec, preset=preset, intensity=intensity, fade_s=SCENE_FADE_S)
            elif a.kind == "intensity_changed":
                stage.set_intensity(float(c["target"]), ramp_s=float(c.get("ramp_s") or 0.0))
            elif a.kind == "preset_applied":
                stage.apply_preset(str(c["preset"]), ramp_s=float(c.get("ramp_s") or 0.0))
            elif a.kind == "event_fired" and stage.spec is not None:
                name = str(c["event"])
                event = stage.spec.events.get(name)
                if event is not None:
                    jitter = 0.0 if a.delay_s is None else max(0.0, a.delay_s - event.delay_s)
                    saved = stage.rng
                    stage.rng = _RecordedJitter(jitter)  # type: ignore[assignment]
                    strength = c.get("strength", 1.0)
                    try:
                        # A scheduled firing is journaled exactly like a triggered one: shown alike.
                        stage.trigger_event(
                            name, float(strength) if isinstance(strength, int | float) else 1.0
                        )
                    finally:
                        stage.rng = saved
            elif a.kind == "paused":
                self._paused = True
            elif a.kind == "resumed":
                self._paused = False
            elif a.kind == "safe_place_entered":
                self._paused = False
                stage.stop_events()  # the renderer stops every trigger at once there
                fade = float(c.get("fade_s") or self.safe_place.fade_s)
                try:
                    safe_spec = self.library.scene(self.safe_place.scene)
                except VrExposureError:
                    stage.fade(to_black=True, duration_s=fade)
                else:
                    stage.go_to_safe_place(safe_spec, fade, preset=self.safe_place.preset)
            elif a.kind == "safe_place_left":
                stage.leave_safe_place(float(c.get("fade_s") or self.safe_place.fade_s))
            elif a.kind == "stopped":
                stage.stop_events()
                stage.fade(to_black=True, duration_s=STOP_FADE_S)
        except (VrExposureError, KeyError, ValueError, TypeError) as exc:
            # A fact this version cannot show (an unknown scene, a newer field): say so, keep going.
            log.warning("replay: %s at %.3f s not shown: %s", a.kind, self.tl.t_s(a.t_mono_ns), exc)

    def advance_to(self, t_mono_ns: int) -> None:
        """Apply every fact up to ``t_mono_ns`` and move the stage's animation to that instant."""
        while self._next_action < len(self.plan) and self.plan[self._next_action].t_mono_ns <= t_mono_ns:
            a = self.plan[self._next_action]
            self._step_stage(a.t_mono_ns)
            self._apply(a)
            self._next_action += 1
        self._step_stage(t_mono_ns)

    def _step_stage(self, t_mono_ns: int) -> None:
        last = self._last_ns
        self.clock.t_mono_ns = max(self.clock.t_mono_ns, t_mono_ns)
        if last is not None and t_mono_ns > last and not self._paused:
            # The app caps one frame's step at 0.25 s; longer gaps (seeking, --from) are stepped in pieces.
            remaining = (t_mono_ns - last) / 1e9
            while remaining > 1e-9:
                dt = min(remaining, 0.25)
                self.stage.update(dt)
                remaining -= dt
        self._last_ns = t_mono_ns if last is None else max(last, t_mono_ns)

    def place_camera(self, pose_index: int) -> None:
        from panda3d.core import Quat

        head = self.rig.head
        if pose_index < 0 or not len(self.tl.pose):
            head.setPosQuat((0.0, 0.0, self.stage.eye_height_m), Quat.identQuat())
            return
        p = self.tl.pose.position_m[pose_index]
        q = self.tl.pose.orientation_xyzw[pose_index]
        head.setPos(float(p[0]), float(p[1]), float(p[2]))
        head.setQuat(Quat(float(q[3]), float(q[0]), float(q[1]), float(q[2])))
        if self._gaze_ray is not None:
            colour = GAZE_LOOK_RGBA if self.gaze_on_stimulus(pose_index) else GAZE_AWAY_RGBA
            self._gaze_ray.setColor(*colour, 1)

    def _update_overlay(self, t_mono_ns: int) -> None:
        if self.strip is None or self._strip_tex is None:
            return
        img = self.strip.at(t_mono_ns)
        self._strip_tex.setRamImageAs(np.ascontiguousarray(img[::-1]).tobytes(), "RGBA")
        tl = self.tl
        suds = [r for r in tl.ratings if r.t_mono_ns <= t_mono_ns]
        level = self.stage.intensity
        events = ", ".join(self.stage.active_events) or "-"
        mode = "safe place" if self.stage.in_safe_place else ("paused" if self._paused else "")
        t_s = tl.t_s(t_mono_ns)
        clock = f"{int(t_s // 60):02d}:{t_s % 60:05.2f}"
        suds_text = f"{suds[-1].value:g}" if suds else "-"
        self._text.setText(
            f"{clock}   SUDS {suds_text}   intensity {level:.0f}   events {events}   "
            f"{self.stage.scene_id or 'no scene'} {mode}"
        )

    def render_frame(self, t_mono_ns: int, pose_index: int) -> None:
        self.advance_to(t_mono_ns)
        self.place_camera(pose_index)
        self._update_overlay(t_mono_ns)
        self.base.graphicsEngine.renderFrame()

    def camera_transform(self) -> tuple[tuple[float, float, float], tuple[float, float, float, float]]:
        """The camera's position and orientation (x, y, z, w) in the scene, read from the scene graph."""
        cam = self.base.camera
        render = self.base.render
        p = cam.getPos(render)
        q = cam.getQuat(render)
        return (float(p.x), float(p.y), float(p.z)), (
            float(q.getI()),
            float(q.getJ()),
            float(q.getK()),
            float(q.getR()),
        )

    def screenshot_rgb(self) -> np.ndarray:
        """The last rendered frame as (H, W, 3) uint8, row 0 at the top."""
        tex = self.base.win.getScreenshot()
        if tex is None:
            raise ReplayError("could not read the rendered frame back")
        w, h = tex.getXSize(), tex.getYSize()
        data = np.frombuffer(bytes(tex.getRamImageAs("RGB")), dtype=np.uint8).reshape(h, w, 3)
        return np.ascontiguousarray(data[::-1])

    def close(self) -> None:
        try:
            self.stage.destroy()
        finally:
            self.base.destroy()


# --- running -------------------------------------------------------------------------------------------


@dataclass
class ReplayResult:
    frames: int
    records: list[FrameRecord]
    output: Path | None


def replay_to_frames(
    replayer: Replayer, out_dir: Path, *, fps: float | None = None, max_frames: int | None = None
) -> ReplayResult:
    """Render offscreen frames as ``out_dir/frame-000001.png`` plus ``out_dir/frames.csv``."""
    from panda3d.core import Filename

    out_dir.mkdir(parents=True, exist_ok=True)
    records: list[FrameRecord] = []
    for k, (t, pose_index) in enumerate(frame_times(replayer.tl, replayer.start_ns, replayer.end_ns, fps)):
        if max_frames is not None and k >= max_frames:
            break
        replayer.render_frame(t, pose_index)
        name = f"frame-{k + 1:06d}.png"
        if not replayer.base.win.saveScreenshot(Filename.fromOsSpecific(str(out_dir / name))):
            raise ReplayError(f"{out_dir / name}: could not write the frame")
        records.append(_record(replayer, k, t, pose_index, name))
    _write_frames_csv(replayer.tl, out_dir / "frames.csv", records)
    return ReplayResult(len(records), records, out_dir)


def require_ffmpeg() -> str:
    """The ffmpeg executable on ``PATH``; :class:`ReplayError` saying what to do when there is none."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise ReplayError(
            "ffmpeg was not found on PATH, so no video can be written; install it (e.g. `apt install "
            "ffmpeg`) or write PNG frames with --frames DIR"
        )
    return exe


def replay_to_video(
    replayer: Replayer, video: Path, *, fps: float = 30.0, speed: float = 1.0, max_frames: int | None = None
) -> ReplayResult:
    """Encode the replay as an H.264 video through ffmpeg (``speed`` times real time)."""
    exe = require_ffmpeg()
    w, h = replayer.size
    cmd = [
        exe,
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{w}x{h}",
        "-r",
        f"{fps:g}",
        "-i",
        "-",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        str(video),
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    records: list[FrameRecord] = []
    try:
        for k, (t, pose_index) in enumerate(
            frame_times(replayer.tl, replayer.start_ns, replayer.end_ns, fps / max(speed, 1e-6))
        ):
            if max_frames is not None and k >= max_frames:
                break
            replayer.render_frame(t, pose_index)
            rgb = replayer.screenshot_rgb()
            if rgb.shape[:2] != (h, w):
                rgb = np.ascontiguousarray(np.resize(rgb, (h, w, 3)))
            proc.stdin.write(rgb.tobytes())
            records.append(_record(replayer, k, t, pose_index, None))
    finally:
        proc.stdin.close()
        rc = proc.wait()
    if rc != 0:
        raise ReplayError(f"ffmpeg failed (exit {rc}) writing {video}")
    return ReplayResult(len(records), records, video)


def replay_window(replayer: Replayer, *, speed: float = 1.0) -> ReplayResult:
    """Show the replay in the window at ``speed`` times real time (space pauses, escape or q quits)."""
    state = {"paused": False, "quit": False}
    base = replayer.base
    base.accept("space", lambda: state.update(paused=not state["paused"]))
    base.accept("escape", lambda: state.update(quit=True))
    base.accept("q", lambda: state.update(quit=True))
    t_replay = replayer.start_ns
    wall = time.monotonic()
    frames = 0
    while not state["quit"] and t_replay <= replayer.end_ns:
        now = time.monotonic()
        if not state["paused"]:
            t_replay += int((now - wall) * speed * 1e9)
        wall = now
        t = min(t_replay, replayer.end_ns)
        replayer.advance_to(t)
        replayer.place_camera(replayer.tl.pose.at(t) if len(replayer.tl.pose) else -1)
        replayer._update_overlay(t)
        base.taskMgr.step()
        frames += 1
    return ReplayResult(frames, [], None)


def _record(replayer: Replayer, k: int, t: int, pose_index: int, name: str | None) -> FrameRecord:
    pos, quat = replayer.camera_transform()
    stage = replayer.stage
    return FrameRecord(
        index=k + 1,
        t_mono_ns=t,
        pose_index=pose_index,
        camera_pos=pos,
        camera_quat_xyzw=quat,
        scene=stage.scene_id,
        intensity=float(stage.intensity),
        fade_level=float(stage.fade_level),
        in_safe_place=bool(stage.in_safe_place),
        file=name,
        gaze_on_stimulus=replayer.gaze_on_stimulus(pose_index),
    )


def _write_frames_csv(tl: SessionTimeline, path: Path, records: list[FrameRecord]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "frame_index",
                "file",
                "t_s",
                "t_mono_ns",
                "pose_index",
                "recorded_frame",
                "camera_x_m",
                "camera_y_m",
                "camera_z_m",
                "camera_qx",
                "camera_qy",
                "camera_qz",
                "camera_qw",
                "scene",
                "intensity_0_100",
                "fade_level",
                "in_safe_place",
                "gaze_on_stimulus",
            ]
        )
        for r in records:
            recorded = int(tl.pose.frame[r.pose_index]) if r.pose_index >= 0 and len(tl.pose) else ""
            out.writerow(
                [
                    r.index,
                    r.file,
                    f"{tl.t_s(r.t_mono_ns):.6f}",
                    r.t_mono_ns,
                    r.pose_index,
                    recorded,
                    *(f"{v:.9g}" for v in r.camera_pos),
                    *(f"{v:.9g}" for v in r.camera_quat_xyzw),
                    r.scene or "",
                    f"{r.intensity:.6g}",
                    f"{r.fade_level:.6g}",
                    int(r.in_safe_place),
                    int(r.gaze_on_stimulus),
                ]
            )
