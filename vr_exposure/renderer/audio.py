"""Scene sound: synthesised with numpy, played in 3D through Panda3D's audio manager (OpenAL).

Every sound is synthesised (nothing is downloaded or shipped): a synthesiser registered by a scene
package or a shared sound family (:mod:`vr_exposure.renderer.blocks.sound`) returns one mono loop
(OpenAL only spatialises mono sources) that is written as a WAV file into a Panda3D RAM disk
(``/vr-exposure-audio`` in the virtual file system) and loaded by the audio manager from there.

:class:`SceneAudio` plays a scene spec's cues: a cue with ``attach_to`` follows a node the scene's
builder names (the nearest spider), one with ``position_m`` sits at a fixed point, and one with
neither is head-locked. Each frame :meth:`SceneAudio.update` moves the listener to the listener
node (the head) and each positional sound to its node, so a spider's scuttle comes from the spider.
Volume is the cue's volume at the current intensity (its keyframes), times the fade level.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Callable
from typing import Any

import numpy as np
from panda3d.core import AudioSound, Filename, NodePath, VirtualFileMountRamdisk, VirtualFileSystem

from vr_exposure.core.specs import AudioCue, SceneSpec
from vr_exposure.renderer.blocks import sound
from vr_exposure.renderer.blocks.sound import RATE_HZ, SYNTHS
from vr_exposure.renderer.builders import load_builders

__all__ = ["RATE_HZ", "SYNTHS", "SceneAudio", "synthesise", "wav_bytes"]

_MOUNT = "/vr-exposure-audio"


def synthesise(source: str, seed: int = 3) -> np.ndarray:
    """The mono loop for a cue's ``source``, every scene package's sounds registered first."""
    load_builders()
    return sound.synthesise(source, seed)


def wav_bytes(samples: np.ndarray, rate_hz: int = RATE_HZ) -> bytes:
    """16-bit mono PCM WAV of ``samples`` in [-1, 1]."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


_mounted = False


def _sound_file(source: str) -> Filename:
    """The synthesised WAV for ``source`` on the RAM disk (made once per process)."""
    global _mounted
    vfs = VirtualFileSystem.getGlobalPtr()
    if not _mounted:
        vfs.mount(VirtualFileMountRamdisk(), _MOUNT, 0)
        _mounted = True
    path = Filename(f"{_MOUNT}/{source}.wav")
    if not vfs.exists(path):
        vfs.writeFile(path, wav_bytes(synthesise(source)), False)
    return path


class _Playing:
    def __init__(self, name: str, cue: AudioCue, sound: Any, node: NodePath | None) -> None:
        self.name = name
        self.cue = cue
        self.sound = sound
        self.node = node
        self.volume = 0.0
        self.gain = 1.0
        self.stop_at_s: float | None = None


class SceneAudio:
    """The scene's sounds through ``manager`` (a Panda3D ``AudioManager``), heard from ``listener``.

    ``root`` is the frame positions are taken in (default: the listener's top node, i.e. render).
    """

    def __init__(self, manager: Any, listener: NodePath, *, root: NodePath | None = None) -> None:
        self.manager = manager
        self.listener = listener
        self.root = root if root is not None else listener.getTop()
        self._cues: list[_Playing] = []
        self._events: list[_Playing] = []
        self._spec: SceneSpec | None = None
        self._anchor: Callable[[str], NodePath | None] = lambda name: None
        self._intensity = 0.0
        self._master = 1.0
        self._t_s = 0.0
        self._fixed: list[NodePath] = []
        # Metres: OpenAL's distance model uses the same units as positions.
        manager.audio3dSetDistanceFactor(1.0)
        manager.audio3dSetDopplerFactor(0.0)
        manager.audio3dSetDropOffFactor(1.0)

    def _load(self, name: str, cue: AudioCue) -> _Playing:
        positional = cue.attach_to is not None or cue.position_m is not None
        sound = self.manager.getSound(_sound_file(cue.source), positional)
        if sound is None:
            raise RuntimeError(f"the audio manager could not load the sound for cue {name!r}")
        sound.setLoop(cue.loop)
        node: NodePath | None = None
        if cue.position_m is not None:
            node = self.root.attachNewNode(f"sound-{name}")
            node.setPos(*cue.position_m)
            self._fixed.append(node)
        if positional:
            sound.set3dMinDistance(0.3)
        return _Playing(name, cue, sound, node)

    def load_scene(self, spec: SceneSpec, anchor: Callable[[str], NodePath | None]) -> None:
        """Stop what plays and start ``spec``'s looping cues (quiet ones at volume 0)."""
        self.unload()
        self._spec = spec
        self._anchor = anchor
        for name, cue in spec.audio.items():
            playing = self._load(name, cue)
            self._cues.append(playing)
        self._apply_volumes()
        self._place()
        for p in self._cues:
            if p.cue.loop:
                p.sound.play()

    def unload(self) -> None:
        for p in self._cues + self._events:
            p.sound.stop()
        self._cues.clear()
        self._events.clear()
        for node in self._fixed:
            node.removeNode()
        self._fixed.clear()
        self._spec = None

    def play(self, name: str) -> None:
        """Start cue ``name`` (a one-shot, or a loop that was stopped)."""
        for p in self._cues:
            if p.name == name:
                p.sound.play()
                return
        raise KeyError(f"no audio cue {name!r}")

    def play_event_cue(self, name: str, duration_s: float, gain: float = 1.0) -> None:
        """An event's cue: a second instance of the cue played for ``duration_s`` at least at
        half volume, so the event is heard even where the loop is quiet, times ``gain`` (the
        strength, 0-1, the therapist fired the event with)."""
        if self._spec is None or name not in self._spec.audio:
            return
        playing = self._load(f"{name}-event", self._spec.audio[name])
        playing.gain = gain
        playing.sound.setLoop(True)
        playing.stop_at_s = self._t_s + duration_s
        self._events.append(playing)
        self._apply_volumes()
        self._place()
        playing.sound.play()

    def stop_event_cues(self) -> None:
        """Silence every event's cue now (the safe place, a stop); the scene's loops go on."""
        for p in self._events:
            p.sound.stop()
        self._events.clear()

    @property
    def event_cue_volumes(self) -> dict[str, float]:
        """The volume each event cue plays at now (cue name -> 0-1)."""
        return {p.name.removesuffix("-event"): p.volume for p in self._events}

    def set_intensity(self, intensity: float) -> None:
        self._intensity = intensity
        self._apply_volumes()

    def set_master(self, level: float) -> None:
        """Overall level 0-1 (fades to and from black take the sound with them)."""
        self._master = level
        self._apply_volumes()

    def _apply_volumes(self) -> None:
        for p in self._cues:
            v = p.cue.volume_at(self._intensity) * self._master
            if abs(v - p.volume) > 1e-4:
                p.volume = v
                p.sound.setVolume(v)
        for p in self._events:
            v = max(p.cue.volume_at(self._intensity), 0.5) * p.gain * self._master
            if abs(v - p.volume) > 1e-4:
                p.volume = v
                p.sound.setVolume(v)

    def _node_of(self, p: _Playing) -> NodePath | None:
        if p.node is not None:
            return p.node
        if p.cue.attach_to is not None:
            return self._anchor(p.cue.attach_to)
        return None

    def _place(self) -> None:
        lis = self.listener
        root = self.root
        pos = lis.getPos(root)
        quat = lis.getQuat(root)
        fwd = quat.getForward()
        up = quat.getUp()
        self.manager.audio3dSetListenerAttributes(
            pos.x, pos.y, pos.z, 0, 0, 0, fwd.x, fwd.y, fwd.z, up.x, up.y, up.z
        )
        for p in self._cues + self._events:
            node = self._node_of(p)
            if node is None or node.isEmpty():
                continue
            q = node.getPos(root)
            p.sound.set3dAttributes(q.x, q.y, q.z, 0.0, 0.0, 0.0)

    def update(self, dt_s: float) -> None:
        """Per frame: end finished event sounds, move the listener and the sources."""
        self._t_s += dt_s
        if self._events:
            done = [p for p in self._events if p.stop_at_s is not None and self._t_s >= p.stop_at_s]
            for p in done:
                p.sound.stop()
                self._events.remove(p)
        if self._cues or self._events:
            self._place()
        self.manager.update()

    @property
    def playing(self) -> list[str]:
        """Names of the cues whose sound is playing now."""
        return [p.name for p in self._cues + self._events if p.sound.status() == AudioSound.PLAYING]
