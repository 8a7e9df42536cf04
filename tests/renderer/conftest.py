"""One shared offscreen ShowBase for the renderer tests (Panda3D allows one per process).

Tests step frames with ``taskMgr.step()``. Audio is off here; audio tests run in a subprocess with
OpenAL Soft's wave backend so the written file can be checked after the device closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

OFFSCREEN_PRC = """
window-type offscreen
gl-version 3 2
win-size 320 240
framebuffer-multisample 0
sync-video false
audio-library-name null
model-cache-dir
notify-level-display error
notify-level-glgsg error
"""


@pytest.fixture(scope="session")
def showbase() -> Iterator[Any]:
    from direct.showbase.ShowBase import ShowBase
    from panda3d.core import loadPrcFileData

    loadPrcFileData("vr-exposure-tests", OFFSCREEN_PRC)
    base = ShowBase(windowType="offscreen")
    try:
        yield base
    finally:
        base.destroy()
