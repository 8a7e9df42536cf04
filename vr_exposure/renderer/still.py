"""Stills: one rendered frame of a scene as a PNG (``vr-exposure still``, ``docs/scenes.md``), and the
offscreen view tests use to read frames and stimulus masks back as numpy arrays.

Works with or without a ShowBase: it opens its own offscreen buffer on Panda3D's global graphics
engine (sharing an existing window's graphics context when one is given), so a test process that
already has the shared offscreen ShowBase can render stills too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from panda3d.core import (
    Camera,
    FrameBufferProperties,
    GraphicsEngine,
    GraphicsOutput,
    GraphicsPipe,
    GraphicsPipeSelection,
    NodePath,
    PerspectiveLens,
    PNMImage,
    StringStream,
    Texture,
    WindowProperties,
)

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.contract import STIMULUS_TAG_KEY
from vr_exposure.core.specs import SceneSpec
from vr_exposure.renderer import shading

__all__ = ["OffscreenView", "render_still", "png_bytes"]

_OVERRIDE = 10_000


def _default_pipe() -> Any:
    """The default OpenGL pipe, or with no display (CI, a headless server) the EGL one."""
    selection = GraphicsPipeSelection.getGlobalPtr()
    pipe = selection.makeDefaultPipe()
    if pipe is not None and pipe.isValid():
        return pipe
    selection.loadAuxModules()
    headless = selection.makeModulePipe("p3headlessgl")
    if headless is not None and headless.isValid():
        return headless
    raise RuntimeError("no OpenGL pipe: no display and Panda3D's headless (EGL) pipe is unavailable")


class OffscreenView:
    """An offscreen buffer with a camera looking at ``scene_root``, read back into numpy.

    ``engine``/``pipe``/``host`` default to the global engine and a fresh pipe; pass a ShowBase's
    (``base.graphicsEngine``, ``base.pipe``, ``base.win``) to share its context.
    """

    def __init__(
        self,
        scene_root: NodePath,
        *,
        size: tuple[int, int] = (320, 240),
        fov_deg: float = 80.0,
        engine: Any = None,
        pipe: Any = None,
        host: Any = None,
        multisamples: int = 0,
        clear_color: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> None:
        self.size = size
        self.engine = engine or GraphicsEngine.getGlobalPtr()
        self.pipe = pipe or (host.getPipe() if host is not None else _default_pipe())
        self._host = host
        self.scene_root = scene_root
        lens = PerspectiveLens()
        lens.setFov(fov_deg)
        lens.setAspectRatio(size[0] / size[1])
        lens.setNearFar(0.03, 2000.0)
        self.lens = lens
        self.camera = scene_root.attachNewNode(Camera("still-camera", lens))
        self._buffers: list[Any] = []
        # Sort 0 and up: Panda3D puts a light's shadow buffer at -10, and it must render first.
        self.buffer, self.texture = self._make_buffer("still", self.camera, multisamples, clear_color, 0)
        self._mask: tuple[Any, Texture] | None = None
        self._mask_key: tuple[str, str] | None = None

    def _make_buffer(
        self,
        name: str,
        camera: NodePath,
        multisamples: int,
        clear_color: tuple[float, float, float],
        sort: int,
    ) -> tuple[Any, Texture]:
        w, h = self.size
        fbp = FrameBufferProperties()
        fbp.setRgbColor(True)
        fbp.setColorBits(24)
        fbp.setDepthBits(24)
        if multisamples:
            fbp.setMultisamples(multisamples)
        props = WindowProperties.size(w, h)
        flags = GraphicsPipe.BF_refuse_window
        if self._host is not None:
            buf = self.engine.makeOutput(
                self.pipe, name, sort, fbp, props, flags, self._host.getGsg(), self._host
            )
        else:
            buf = self.engine.makeOutput(self.pipe, name, sort, fbp, props, flags)
        if buf is None:
            raise RuntimeError("could not open an offscreen buffer for rendering (no OpenGL available?)")
        tex = Texture(name)
        buf.addRenderTexture(tex, GraphicsOutput.RTM_copy_ram)
        buf.setClearColor((*clear_color, 1.0))
        region = buf.makeDisplayRegion()
        region.setCamera(camera)
        self._buffers.append(buf)
        return buf, tex

    def look_from(
        self, pos: tuple[float, float, float], hpr: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ) -> None:
        self.camera.setPosHpr(*pos, *hpr)

    def render(self) -> np.ndarray:
        """Render one frame; the colour image as (H, W, 3) uint8, row 0 at the top."""
        self.engine.renderFrame()
        return self._read(self.texture)

    def _read(self, tex: Texture) -> np.ndarray:
        w, h = self.size
        data = tex.getRamImageAs("RGB")
        arr = np.frombuffer(bytes(data), dtype=np.uint8)
        tw, th = tex.getXSize(), tex.getYSize()
        return arr.reshape(th, tw, 3)[::-1][:h, :w].copy()

    def render_mask(self, tag_value: str, tag_key: str = STIMULUS_TAG_KEY) -> np.ndarray:
        """Render once more and return a boolean (H, W) mask of the pixels showing nodes tagged
        ``tag_key=tag_value`` (everything else flat black, the tagged nodes flat white, depth-tested
        against the rest of the scene, so hidden stimuli do not count). ``tag_value`` is the scene
        contract's ``stimulus_tag``."""
        if self._mask is None or self._mask_key != (tag_key, tag_value):
            self._close_mask()
            cam = Camera("mask-camera", self.lens)
            black = shading.mask_state((0.0, 0.0, 0.0, 1.0))
            white = shading.mask_state((1.0, 1.0, 1.0, 1.0), 10_001)
            cam.setInitialState(black)
            cam.setTagStateKey(tag_key)
            cam.setTagState(tag_value, white)
            node = self.camera.attachNewNode(cam)
            buf, tex = self._make_buffer("mask", node, 0, (0.0, 0.0, 0.0), 1)
            self._mask = (buf, tex)
            self._mask_key = (tag_key, tag_value)
        self.engine.renderFrame()
        rgb = self._read(self._mask[1])
        return rgb[..., 0] > 127

    def _close_mask(self) -> None:
        if self._mask is not None:
            buf = self._mask[0]
            self.engine.removeWindow(buf)
            self._buffers.remove(buf)
            self._mask = None

    def close(self) -> None:
        for buf in self._buffers:
            self.engine.removeWindow(buf)
        self._buffers.clear()
        self._mask = None
        self.camera.removeNode()


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an (H, W, 3) uint8 image as PNG with Panda3D's image writer."""
    h, w, _ = rgb.shape
    img = PNMImage(w, h, 3)
    flat = np.ascontiguousarray(rgb[::-1].reshape(-1, 3))
    # PNMImage has no bulk setter for Python buffers in 1.10; go through a texture's RAM image.
    tex = Texture("png")
    tex.setup2dTexture(w, h, Texture.T_unsigned_byte, Texture.F_rgb8)
    tex.setRamImageAs(flat.tobytes(), "RGB")
    tex.store(img)
    out = StringStream()
    if not img.write(out, "still.png"):
        raise RuntimeError("could not encode the PNG")
    return bytes(out.getData())


def render_still(
    spec: SceneSpec,
    *,
    preset: str | None = None,
    intensity: float | None = None,
    size: tuple[int, int] = (640, 360),
    seed: int = 1,
    settle_s: float = 1.5,
    multisamples: int = 4,
    pitch_deg: float | None = None,
    heading_deg: float | None = None,
    base: Any = None,
) -> bytes:
    """Render one frame of ``spec`` at ``preset`` or ``intensity`` from the patient's seat and return
    it as PNG bytes. Animation runs ``settle_s`` seconds first (creatures take a few steps) with a fixed
    ``seed``, so the same call gives the same picture. The view turns toward the scene's stimulus
    unless ``heading_deg``/``pitch_deg`` say otherwise. ``base``: an existing ShowBase to share."""
    from vr_exposure.renderer.stage import Stage

    top = NodePath("still-render")
    kwargs: dict[str, Any] = {}
    if base is not None:
        kwargs = {"engine": base.graphicsEngine, "pipe": base.pipe, "host": base.win}
    view = OffscreenView(top, size=size, fov_deg=80.0, multisamples=multisamples, **kwargs)
    stage = Stage(top, clock=FakeClock(), rng_seed=seed, shadow_size_px=2048)
    try:
        stage.load(spec, preset=preset, intensity=intensity)
        steps = max(1, int(settle_s * 30))
        for _ in range(steps):
            stage.update(1.0 / 30.0)
        assert stage.scene is not None
        heading, pitch = stage.scene.preferred_view(stage.eye_height_m)
        heading = heading if heading_deg is None else heading_deg
        pitch = pitch if pitch_deg is None else pitch_deg
        view.look_from((0.0, 0.0, stage.eye_height_m), (heading, pitch, 0.0))
        view.render()  # the first frame also renders the shadow map
        return png_bytes(view.render())
    finally:
        stage.destroy()
        view.close()
        top.removeNode()
