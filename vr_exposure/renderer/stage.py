"""The stage: what the patient sees and hears, driven by a scene spec.

The stage builds a scene through the builder registry (:mod:`vr_exposure.renderer.builders`), maps
intensity 0-100 to the spec's parameters, ramps smoothly between intensities and presets, fires the
spec's events after their (randomised) delays, fades to black and back, and swaps to the safe place
and back only while the view is fully black.

Nothing here builds geometry per frame: builders build once, for the largest counts the spec allows,
and :meth:`Stage.update` only advances ramps, fades, pending events and animation. The app calls it
once per frame from its stimuli task.

Ramps and fades are ``LerpFunctionInterval``\\ s kept on attributes (``_ramp_ival``, ``_fade_ival``)
and stepped by :meth:`Stage.update` with the frame's ``dt_s`` (not by the interval manager), so the
stage advances exactly as fast as frames do and tests can step it deterministically.

During a ramp each parameter moves from the value it had when the ramp began to the target's value
(``values_at(intensity(t), preset)``), so a preset's pinned overrides also change smoothly rather
than jumping; counts round, so spiders appear one by one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from direct.interval.LerpInterval import LerpFunctionInterval
from panda3d.core import NodePath

from vr_exposure.core.clock import SYSTEM_CLOCK, Clock
from vr_exposure.core.specs import SceneSpec
from vr_exposure.errors import VrExposureError
from vr_exposure.renderer.builders import get_builder
from vr_exposure.renderer.builders.base import BuildContext, SceneInstance

__all__ = ["SEATED_EYE_HEIGHT_M", "STANDING_EYE_HEIGHT_M", "Stage", "StageError"]

SEATED_EYE_HEIGHT_M = 1.2
STANDING_EYE_HEIGHT_M = 1.7


class StageError(VrExposureError):
    """A request the stage cannot carry out (unknown preset or event, intensity outside 0-100, no
    scene loaded). The message says which and what is known; the stage is unchanged."""


@dataclass
class _Loaded:
    spec: SceneSpec
    scene: SceneInstance


@dataclass
class _Transition:
    """A fade out, a swap while black, a fade in."""

    fade_s: float
    swap: Callable[[], None]
    #: What the swap shows: scene, preset, intensity; None when it only clears the stage.
    target: tuple[SceneSpec, str | None, float] | None = None
    phase: str = "out"  # out -> black -> in
    black_frames: int = 0


class Stage:
    """The scene the patient is in. See the module docstring for the per-frame contract."""

    def __init__(
        self,
        parent: NodePath,
        *,
        task_mgr: Any = None,
        audio: Any = None,
        clock: Clock = SYSTEM_CLOCK,
        rng_seed: int | None = None,
        seated: bool | None = None,
        shadow_size_px: int = 1024,
    ) -> None:
        self.parent = parent
        self.root = parent.attachNewNode("stage")
        self.task_mgr = task_mgr
        self.audio = audio
        self.clock = clock
        self.rng = np.random.default_rng(rng_seed)
        self._rng_seed = rng_seed
        self._seated_override = seated
        self.shadow_size_px = shadow_size_px
        self._loaded: _Loaded | None = None
        self._preset: str | None = None
        self._intensity = 0.0
        self._target = 0.0
        self._values: dict[str, float] = {}
        # Intensity ramp.
        self._ramp_ival: LerpFunctionInterval | None = None
        self._ramp_elapsed_s = 0.0
        self._ramp_from_intensity = 0.0
        self._ramp_from_values: dict[str, float] = {}
        # Fades: level 1 = fully visible, 0 = black.
        self._fade_level = 1.0
        self._fade_ival: LerpFunctionInterval | None = None
        self._fade_elapsed_s = 0.0
        self._transition: _Transition | None = None
        # Events: (fire at, monotonic ns; name), kept in trigger order.
        self._pending: list[tuple[int, str]] = []
        self._strengths: dict[str, float] = {}
        # Events stopped at once (the safe place, a stop) whose animation the builder may still play
        # while the view fades out: they no longer count as active.
        self._stopped: set[str] = set()
        # Safe place: what to return to.
        self._in_safe_place = False
        self._return_to: tuple[SceneSpec, str | None, float] | None = None
        self._task: Any = None

    # ------------------------------------------------------------------------------------ properties

    @property
    def scene_id(self) -> str | None:
        return self._loaded.spec.id if self._loaded else None

    @property
    def spec(self) -> SceneSpec | None:
        return self._loaded.spec if self._loaded else None

    @property
    def scene(self) -> SceneInstance | None:
        return self._loaded.scene if self._loaded else None

    @property
    def intensity(self) -> float:
        """The intensity shown now (moves during a ramp)."""
        return self._intensity

    @property
    def target_intensity(self) -> float:
        return self._target

    @property
    def preset(self) -> str | None:
        return self._preset

    @property
    def values(self) -> dict[str, float]:
        """The parameter values shown now."""
        return dict(self._values)

    @property
    def active_events(self) -> list[str]:
        """Events waiting out their delay or still playing, sorted by name."""
        names = {name for _, name in self._pending}
        if self._loaded is not None:
            scene = self._loaded.scene
            names.update(
                n for n in self._loaded.spec.events if n not in self._stopped and scene.event_running(n)
            )
        return sorted(names)

    @property
    def fade_level(self) -> float:
        """1 when the scene is fully visible, 0 when black."""
        return self._fade_level

    @property
    def in_safe_place(self) -> bool:
        return self._in_safe_place

    @property
    def transitioning(self) -> bool:
        """A fade-out / swap / fade-in is under way."""
        return self._transition is not None

    @property
    def pending(self) -> tuple[str | None, str | None, float] | None:
        """During a transition, before its swap: the scene id, preset and intensity it will show
        (``(None, None, 0.0)`` when it clears the stage); None otherwise. What the renderer has
        committed to, while the old scene is still fading out."""
        tr = self._transition
        if tr is None or tr.phase == "in":
            return None
        if tr.target is None:
            return None, None, 0.0
        spec, preset, intensity = tr.target
        return spec.id, preset, intensity

    @property
    def ramping(self) -> bool:
        return self._ramp_ival is not None

    @property
    def eye_height_m(self) -> float:
        """Eye height above the scene's floor: seated (1.2 m) unless the spec or the caller says
        standing (1.7 m)."""
        seated = self._seated_override
        if seated is None:
            seated = self._loaded.spec.seated if self._loaded else True
        return SEATED_EYE_HEIGHT_M if seated else STANDING_EYE_HEIGHT_M

    # ---------------------------------------------------------------------------------- scene loading

    def load(
        self,
        spec: SceneSpec,
        *,
        preset: str | None = None,
        intensity: float | None = None,
        fade_s: float = 0.0,
    ) -> None:
        """Show ``spec`` at ``preset`` (its intensity and overrides) or ``intensity`` (default: the
        first preset's, else 0). With ``fade_s`` > 0 and a scene showing, fade to black, swap, fade in;
        the build's stall then happens only while the view is black."""
        level = self._check_start(spec, preset, intensity)
        if fade_s > 0.0 and self._loaded is not None:
            self._begin_transition(fade_s, lambda: self._load_now(spec, preset, level), (spec, preset, level))
        else:
            self._load_now(spec, preset, level)
            if fade_s > 0.0:
                self._set_fade_level(0.0)
                self._start_fade(1.0, fade_s)

    def _check_start(self, spec: SceneSpec, preset: str | None, intensity: float | None) -> float:
        get_builder(spec.builder)  # fail before anything changes
        if preset is not None:
            if preset not in spec.presets:
                raise StageError(_unknown("preset", preset, spec.presets, spec.id))
            if intensity is None:
                intensity = spec.presets[preset].intensity
        if intensity is None:
            intensity = 0.0
        _check_intensity(intensity)
        return float(intensity)

    def _load_now(self, spec: SceneSpec, preset: str | None, intensity: float) -> None:
        self._unload()
        seed = self._rng_seed if self._rng_seed is not None else int(self.rng.integers(1 << 31))
        ctx = BuildContext(
            parent=self.root,
            spec=spec,
            rng=np.random.default_rng(seed),
            eye_height_m=SEATED_EYE_HEIGHT_M,
            shadow_size_px=self.shadow_size_px,
        )
        # The builder needs the eye height of *this* spec.
        self._loaded = None
        seated = self._seated_override if self._seated_override is not None else spec.seated
        ctx.eye_height_m = SEATED_EYE_HEIGHT_M if seated else STANDING_EYE_HEIGHT_M
        scene = get_builder(spec.builder)(ctx)
        self._loaded = _Loaded(spec, scene)
        self._preset = preset
        self._intensity = self._target = intensity
        self._values = spec.values_at(intensity, preset)
        scene.apply(self._values)
        if self.audio is not None:
            self.audio.load_scene(spec, scene.anchor)
            self.audio.set_intensity(intensity)
            self.audio.set_master(self._fade_level)

    def _unload(self) -> None:
        self._finish_ramp()
        self._pending.clear()
        self._stopped.clear()
        if self.audio is not None:
            self.audio.unload()
        if self._loaded is not None:
            self._loaded.scene.destroy()
            self._loaded = None

    def destroy(self) -> None:
        """Remove the scene, stop sounds and the stage's task."""
        self.stop_task()
        if self._fade_ival is not None:
            self._fade_ival = None
        self._transition = None
        self._unload()
        self.root.removeNode()

    # -------------------------------------------------------------------------------------- intensity

    def set_intensity(self, value: float, ramp_s: float = 1.0) -> None:
        """Ramp to ``value`` (0-100) over ``ramp_s`` seconds. Leaves the current preset (its
        overrides ease out over the ramp)."""
        self._require_scene()
        _check_intensity(value)
        self._start_ramp(float(value), None, ramp_s)

    def apply_preset(self, name: str, ramp_s: float = 1.0) -> None:
        """Ramp to the preset's intensity with its overrides over ``ramp_s`` seconds."""
        spec = self._require_scene()
        if name not in spec.presets:
            raise StageError(_unknown("preset", name, spec.presets, spec.id))
        self._start_ramp(spec.presets[name].intensity, name, ramp_s)

    def _start_ramp(self, target: float, preset: str | None, ramp_s: float) -> None:
        self._finish_ramp(jump=False)
        self._preset = preset
        self._target = target
        self._ramp_from_intensity = self._intensity
        self._ramp_from_values = dict(self._values)
        if ramp_s <= 0.0:
            self._on_ramp(1.0)
            return
        self._ramp_elapsed_s = 0.0
        self._ramp_ival = LerpFunctionInterval(
            self._on_ramp,
            duration=ramp_s,
            fromData=0.0,
            toData=1.0,
            blendType="easeInOut",
            name="intensity-ramp",
        )

    def _on_ramp(self, f: float) -> None:
        assert self._loaded is not None
        spec = self._loaded.spec
        intensity = self._ramp_from_intensity + (self._target - self._ramp_from_intensity) * f
        to = spec.values_at(intensity, self._preset)
        start = self._ramp_from_values
        if f >= 1.0:
            values = to
        else:
            values = {k: start.get(k, v) + (v - start.get(k, v)) * f for k, v in to.items()}
        self._intensity = intensity
        self._values = values
        self._loaded.scene.apply(values)
        if self.audio is not None:
            self.audio.set_intensity(intensity)

    def _finish_ramp(self, *, jump: bool = False) -> None:
        """Stop the running ramp where it is (``jump``: at its end)."""
        if self._ramp_ival is not None:
            if jump:
                self._on_ramp(1.0)
            self._ramp_ival = None

    # ----------------------------------------------------------------------------------------- events

    def trigger_event(self, name: str, strength: float = 1.0) -> float:
        """Schedule the spec's event ``name``; returns the delay actually used (its ``delay_s`` plus a
        uniform random part of up to ``delay_jitter_s``). A zero delay starts it this frame.
        ``strength`` (0-1) is how loud or near the therapist wants it; the builder reads it with
        :meth:`SceneInstance.event_strength` and the event's cue plays at that share of its volume."""
        spec = self._require_scene()
        if name not in spec.events:
            raise StageError(_unknown("event", name, spec.events, spec.id))
        if not 0.0 <= strength <= 1.0:
            raise StageError(f"event {name!r}: strength {strength} is outside 0-1")
        self._strengths[name] = strength
        event = spec.events[name]
        delay_s = event.delay_s + (
            float(self.rng.uniform(0.0, event.delay_jitter_s)) if event.delay_jitter_s else 0.0
        )
        if delay_s <= 0.0:
            self._start_event(name)
        else:
            self._pending.append((self.clock.monotonic_ns() + int(delay_s * 1e9), name))
        return delay_s

    def stop_events(self) -> list[str]:
        """Stop every event at once (the safe place, a stop): those waiting out their delay never
        start, the event cues fall silent, and the builder's :meth:`SceneInstance.stop_events` ends
        what it shows; none is active any more. Returns the events that were active."""
        active = self.active_events
        self._pending.clear()
        self._strengths.clear()
        if self._loaded is not None:
            self._stopped.update(self._loaded.spec.events)
            self._loaded.scene.stop_events()
        if self.audio is not None:
            self.audio.stop_event_cues()
        return active

    def _start_event(self, name: str) -> None:
        assert self._loaded is not None
        self._stopped.discard(name)
        spec, scene = self._loaded.spec, self._loaded.scene
        event = spec.events[name]
        strength = self._strengths.pop(name, 1.0)
        scene.event_strengths[name] = strength
        scene.start_event(name, event)
        if self.audio is not None and event.cue is not None:
            self.audio.play_event_cue(event.cue, event.duration_s, gain=strength)

    # ------------------------------------------------------------------------------------------ fades

    def fade(self, to_black: bool, duration_s: float) -> None:
        """Fade the whole scene (sky and fog included) to black or back, over ``duration_s``."""
        self._start_fade(0.0 if to_black else 1.0, duration_s)

    def _start_fade(self, to_level: float, duration_s: float) -> None:
        if duration_s <= 0.0:
            self._fade_ival = None
            self._set_fade_level(to_level)
            return
        self._fade_elapsed_s = 0.0
        self._fade_ival = LerpFunctionInterval(
            self._set_fade_level,
            duration=duration_s,
            fromData=self._fade_level,
            toData=to_level,
            blendType="easeInOut",
            name="stage-fade",
        )

    def _set_fade_level(self, level: float) -> None:
        self._fade_level = level
        self.root.setColorScale(level, level, level, 1.0)
        if self.audio is not None:
            self.audio.set_master(level)

    def _begin_transition(
        self,
        fade_s: float,
        swap: Callable[[], None],
        target: tuple[SceneSpec, str | None, float] | None,
    ) -> None:
        self._transition = _Transition(fade_s, swap, target)
        self._start_fade(0.0, fade_s)

    # ------------------------------------------------------------------------------------ safe place

    def go_to_safe_place(
        self, safe_spec: SceneSpec, fade_s: float = 2.0, *, preset: str | None = None
    ) -> None:
        """Fade out, swap to the safe place while black, fade in. Remembers the scene, preset and
        target intensity to return to. Does nothing if already there or on the way."""
        if self._in_safe_place:
            return
        level = self._check_start(safe_spec, preset, None)
        tr = self._transition
        if tr is not None and tr.phase != "in" and tr.target is not None:
            # A scene change still fading out: the renderer has committed to the new scene (its state
            # and its scene_loaded fact say so), so that is the scene to come back to.
            self._return_to = tr.target
        elif self._loaded is not None:
            self._return_to = (self._loaded.spec, self._preset, self._target)
        self._in_safe_place = True
        if self._loaded is None:
            self.load(safe_spec, preset=preset, intensity=level, fade_s=fade_s)
        else:
            self._begin_transition(
                fade_s, lambda: self._load_now(safe_spec, preset, level), (safe_spec, preset, level)
            )

    def leave_safe_place(self, fade_s: float = 2.0) -> None:
        """Fade back to the scene, preset and intensity shown before the safe place."""
        if not self._in_safe_place:
            return
        back = self._return_to
        self._in_safe_place = False
        self._return_to = None
        if back is None:
            self._begin_transition(fade_s, self._unload, None)
            return
        spec, preset, intensity = back
        self._begin_transition(fade_s, lambda: self._load_now(spec, preset, intensity), back)

    def set_return_intensity(self, value: float) -> None:
        """While in the safe place: come back at ``value`` (0-100, no preset) instead of the intensity
        shown before. Raises :class:`StageError` when not in the safe place or nothing to return to."""
        _check_intensity(value)
        if not self._in_safe_place:
            raise StageError("the stage is not in the safe place")
        if self._return_to is None:
            raise StageError("there is no scene to return to")
        spec, _preset, _intensity = self._return_to
        self._return_to = (spec, None, float(value))

    @property
    def return_to(self) -> tuple[str, str | None, float] | None:
        """Scene, preset and intensity :meth:`leave_safe_place` goes back to (None outside it)."""
        back = self._return_to
        return None if back is None else (back[0].id, back[1], back[2])

    def forget_return(self) -> None:
        """Stay on what is shown, with no way back: the safe place (or black) becomes a plain scene."""
        self._in_safe_place = False
        self._return_to = None

    # -------------------------------------------------------------------------------------- per frame

    def update(self, dt_s: float) -> None:
        """Advance one frame: pending events, the intensity ramp, the fade and transition, animation,
        sound positions. Cheap; never builds geometry (except a scene swap while black)."""
        if self._pending:
            now = self.clock.monotonic_ns()
            due = [p for p in self._pending if p[0] <= now]
            if due:
                self._pending = [p for p in self._pending if p[0] > now]
                for _, name in due:
                    self._start_event(name)
        ramp = self._ramp_ival
        if ramp is not None:
            self._ramp_elapsed_s += dt_s
            t = min(self._ramp_elapsed_s, ramp.getDuration())
            ramp.setT(t)
            if t >= ramp.getDuration():
                self._on_ramp(1.0)
                self._ramp_ival = None
        self._step_fade(dt_s)
        if self._loaded is not None:
            self._loaded.scene.update(dt_s)
        if self.audio is not None:
            self.audio.update(dt_s)

    def _step_fade(self, dt_s: float) -> None:
        fade = self._fade_ival
        if fade is not None:
            self._fade_elapsed_s += dt_s
            t = min(self._fade_elapsed_s, fade.getDuration())
            fade.setT(t)
            if t >= fade.getDuration():
                self._fade_ival = None
            return
        tr = self._transition
        if tr is None:
            return
        if tr.phase == "out":
            # Show one fully black frame before the swap's stall, so the stall happens behind black.
            tr.phase = "black"
        elif tr.phase == "black":
            tr.swap()
            tr.phase = "in"
            self._set_fade_level(0.0)
            self._start_fade(1.0, tr.fade_s)
        else:
            self._transition = None

    # ------------------------------------------------------------------------------------- task glue

    def start_task(self, name: str = "vr-exposure-stimuli", sort: int = 20) -> None:
        """Run :meth:`update` every frame from ``task_mgr`` (when the app does not call it itself)."""
        if self.task_mgr is None:
            raise StageError("the stage was made without a task manager")
        self.stop_task()
        last = [self.clock.monotonic_ns()]

        def _task(task: Any) -> Any:
            now = self.clock.monotonic_ns()
            self.update((now - last[0]) / 1e9)
            last[0] = now
            return task.cont

        self._task = self.task_mgr.add(_task, name, sort=sort)

    def stop_task(self) -> None:
        if self._task is not None and self.task_mgr is not None:
            self.task_mgr.remove(self._task)
        self._task = None

    # ---------------------------------------------------------------------------------------- helpers

    def _require_scene(self) -> SceneSpec:
        if self._loaded is None:
            raise StageError("no scene is loaded")
        return self._loaded.spec


def _check_intensity(value: float) -> None:
    if not (0.0 <= value <= 100.0):
        raise StageError(f"intensity {value:g} is outside 0-100")


def _unknown(what: str, name: str, known: Any, scene_id: str) -> str:
    names = ", ".join(sorted(known)) or "none"
    return f'scene "{scene_id}" has no {what} "{name}" (known: {names})'
