"""OpenAL Soft's wave backend for audio tests: the environment that makes a player process write
what it plays into a WAV file, and (inside that process) a stage whose sound goes there."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

WAVE_SETTINGS = "[general]\ndrivers=wave\nchannels=stereo\nsample-type=int16\n"


def wave_env(conf: Path, wav: Path) -> dict[str, str]:
    """Write an OpenAL Soft config at ``conf`` that sends all output to ``wav``; the environment
    for a player process that reads it."""
    conf.write_text(f"{WAVE_SETTINGS}[wave]\nfile={wav}\n", encoding="utf-8")
    return dict(os.environ, ALSOFT_CONF=str(conf), ALSOFT_DRIVERS="wave")


def audio_stage(clock: Any = None) -> tuple[Any, Any, Any, Any, Any]:
    """In a player process: ``(top, head, mgr, audio, stage)``, a stage whose scene audio plays
    through a freshly opened OpenAL manager (a new wave file per manager). Call after
    ``loadPrcFileData`` has chosen ``p3openal_audio``."""
    from panda3d.core import AudioManager, NodePath

    from vr_exposure.core.clock import FakeClock
    from vr_exposure.renderer.audio import SceneAudio
    from vr_exposure.renderer.stage import Stage

    top = NodePath("top")
    head = top.attachNewNode("head")
    mgr = AudioManager.createAudioManager()
    assert mgr.isValid(), "OpenAL did not open"
    audio = SceneAudio(mgr, head, root=top)
    stage = Stage(top, audio=audio, clock=clock or FakeClock(), rng_seed=2, shadow_size_px=0)
    return top, head, mgr, audio, stage
