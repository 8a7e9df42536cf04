"""Frame timing statistics and the mirror's JPEG path, on synthetic input."""

from __future__ import annotations

import io

import numpy as np
import pytest

from vr_exposure.renderer.telemetry import FrameTimer, MirrorFlow, encode_jpeg


def test_frame_timer_summarises_once_per_window() -> None:
    period_ns = 11_111_111  # 90 Hz
    timer = FrameTimer(period_ns, window_s=1.0)
    t = 0
    summaries = []
    # 200 frames at 10 ms, with three 40 ms hitches (dropped: > 1.5 periods).
    for i in range(200):
        t += 40_000_000 if i in (50, 120, 121) else 10_000_000
        s = timer.tick(t)
        if s is not None:
            summaries.append(s)
    assert len(summaries) == 2  # ~2.1 s of frames, one summary per full second
    first = summaries[0]
    assert first.median_ms == pytest.approx(10.0)
    assert first.dropped == 1
    assert first.p99_ms > first.median_ms
    assert 0.99 <= first.window_s <= 1.1
    assert summaries[1].dropped == 2
    assert sum(s.frames for s in summaries) < 200


def test_frame_timer_percentiles_are_numpys() -> None:
    rng = np.random.default_rng(7)
    intervals = [int(x) for x in rng.integers(8_000_000, 40_000_000, size=97)]
    timer = FrameTimer(10_000_000, window_s=0.5)
    t = 0
    timer.tick(t)
    summary = None
    for dt in intervals:
        t += dt
        summary = timer.tick(t)
        if summary is not None:
            break
    assert summary is not None
    seen = intervals[: summary.frames]
    assert summary.median_ms == pytest.approx(float(np.percentile(seen, 50)) / 1e6)
    assert summary.p99_ms == pytest.approx(float(np.percentile(seen, 99)) / 1e6)
    assert summary.dropped == sum(1 for x in seen if x > 15_000_000)


def test_frame_timer_first_tick_only_starts_the_window() -> None:
    timer = FrameTimer(10_000_000)
    assert timer.tick(5) is None
    assert timer.tick(2_000_000_000) is not None


def test_encode_jpeg_round_trips() -> None:
    from PIL import Image

    rgb = np.zeros((90, 160, 3), np.uint8)
    rgb[:45, :, 0] = 255  # red top half
    rgb[45:, :, 2] = 255  # blue bottom half
    data = encode_jpeg(rgb)
    assert data[:2] == b"\xff\xd8"
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert img.shape == (90, 160, 3)
    assert img[10, 80, 0] > 200 and img[10, 80, 2] < 60
    assert img[80, 80, 2] > 200 and img[80, 80, 0] < 60


class _FakeOutput:
    """Stands in for the rendered window: a triggered copy fills the mirror texture's RAM image at the
    next "render" with a frame whose top-left block is 40 times the frame number."""

    def __init__(self, width: int = 64, height: int = 36) -> None:
        self.size = (width, height)
        self.texture = None
        self.triggered = False
        self.copies = 0

    def addRenderTexture(self, texture: object, mode: object) -> None:  # noqa: N802 - Panda3D's name
        self.texture = texture

    def triggerCopy(self) -> None:  # noqa: N802
        self.triggered = True

    def clearRenderTextures(self) -> None:  # noqa: N802
        self.texture = None

    def render(self, frame: int) -> None:
        from panda3d.core import Texture

        if not self.triggered:
            return
        self.triggered = False
        self.copies += 1
        w, h = self.size
        tex = self.texture
        assert isinstance(tex, Texture)
        tex.setup2dTexture(w, h, Texture.T_unsigned_byte, Texture.F_rgba8)
        pixels = np.full((h, w, 4), 80, np.uint8)
        pixels[-8:, :8, :3] = frame * 40 % 256  # a top-left block (rows are bottom-up)
        tex.setRamImage(pixels.tobytes())


def _run_mirror(frame_interval_ms: float, frames: int, *, fps: float = 10.0) -> tuple[list[int], object]:
    from vr_exposure.renderer.telemetry import MirrorCapture

    out = _FakeOutput()
    mirror = MirrorCapture(out, fps=fps, width_px=64)
    images = []
    try:
        now_ns = 1_000_000_000
        for frame in range(frames):
            out.render(frame)
            mirror.after_render(frame, now_ns)
            assert mirror.wait_idle(5.0)
            images.extend(mirror.take())
            now_ns += int(frame_interval_ms * 1e6)
    finally:
        mirror.close()
    return [image.frame for image in images], mirror


def test_mirror_takes_every_frame_when_frames_are_slower_than_its_rate() -> None:
    # 150 ms frames (a heavy scene on a busy machine) against a 10 fps mirror: the copy for the next
    # image is triggered in the frame that samples the last one, so every frame feeds the mirror.
    frames, _ = _run_mirror(150.0, 20)
    assert frames == list(range(1, 20)), frames


def test_mirror_keeps_its_rate_on_a_time_grid_when_frames_are_fast() -> None:
    # 11 ms frames for 3 s: 10 images a second, not more (no readback on the other frames).
    frames, mirror = _run_mirror(11.0, 273)
    assert 28 <= len(frames) <= 31, len(frames)
    assert mirror.encoded == len(frames)  # type: ignore[attr-defined]


def test_mirror_drops_a_stale_sample_for_a_newer_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from PIL import Image

    from vr_exposure.renderer import telemetry

    gate = threading.Event()
    real_encode = telemetry.encode_jpeg

    def slow_encode(rgb: np.ndarray, quality: int = 70) -> bytes:
        gate.wait(5.0)
        return real_encode(rgb, quality)

    monkeypatch.setattr(telemetry, "encode_jpeg", slow_encode)
    out = _FakeOutput()
    mirror = telemetry.MirrorCapture(out, fps=1000.0, width_px=64)
    try:
        for frame in range(6):  # the encoder is stuck on the first sample meanwhile
            out.render(frame)
            mirror.after_render(frame, 1_000_000_000 + frame * 10_000_000)
            if frame == 1:
                with mirror._cond:  # the worker has taken frame 1 and waits at the gate
                    assert mirror._cond.wait_for(lambda: mirror._encoding, 5.0)
        gate.set()
        assert mirror.wait_idle(5.0)
        images = mirror.take()
        assert [image.frame for image in images] == [1, 5], "the first, then only the newest"
        assert mirror.dropped == 3
        newest = np.asarray(Image.open(io.BytesIO(images[-1].jpeg)).convert("RGB"))
        assert abs(int(newest[2, 2, 0]) - 200) <= 20, "the image is of the newest frame"
    finally:
        mirror.close()


def test_mirror_called_before_the_render_labels_an_image_with_the_frame_it_shows() -> None:
    """The app samples before Panda3D renders: a copy triggered in frame N is made by frame N's
    render, so the image says frame N and shows frame N's pixels."""
    from PIL import Image

    from vr_exposure.renderer.telemetry import MirrorCapture

    out = _FakeOutput()
    mirror = MirrorCapture(out, fps=1000.0, width_px=64, before_render=True)
    images = []
    try:
        for frame in range(1, 6):
            mirror.after_render(frame, 1_000_000_000 + frame * 10_000_000)  # before the render
            assert mirror.wait_idle(5.0)
            out.render(frame)
            images.extend(mirror.take())
    finally:
        mirror.close()
    assert [image.frame for image in images] == [1, 2, 3, 4]
    for image in images:
        pixels = np.asarray(Image.open(io.BytesIO(image.jpeg)).convert("RGB"))
        assert abs(int(pixels[2, 2, 0]) - image.frame * 40 % 256) <= 20, image.frame


def _run_flow(flow: MirrorFlow, seconds: float, ack_delay_s: float | None, fps: float = 10.0) -> int:
    """Drive ``flow`` like the mirror does: a capture due every 1/fps s, published at once, and
    acknowledged ``ack_delay_s`` later (None: the console never acknowledges). Returns images sent."""
    from collections import deque

    step_ns = int(1e9 / 90)  # 90 Hz frames
    due_ns = 0
    sent = 0
    now = 0
    frame = 0
    in_air: deque[tuple[int, int]] = deque()
    while now < seconds * 1e9:
        now += step_ns
        frame += 1
        while ack_delay_s is not None and in_air and in_air[0][0] <= now:
            flow.ack(in_air.popleft()[1], now)
        if now >= due_ns and flow.may_capture(now):
            flow.published(frame, now)
            sent += 1
            # On a fixed grid, as MirrorCapture: a loop that fell behind starts a new grid.
            due_ns = (due_ns if now - due_ns < 1e9 / fps else now) + int(1e9 / fps)
            if ack_delay_s is not None:
                in_air.append((now + int(ack_delay_s * 1e9), frame))
    return sent


def test_mirror_flow_without_acknowledgements_sends_everything() -> None:
    flow = MirrorFlow(fps=10, max_width_px=320)
    sent = _run_flow(flow, 10.0, None)
    assert sent >= 95 and flow.held == 0 and flow.width_px == 320


def test_mirror_flow_window_covers_a_long_path_without_shrinking() -> None:
    # 400 ms until each image is acknowledged (a slow but wide link): the window grows to what
    # fits in that round trip, so the full rate and size go through.
    flow = MirrorFlow(fps=10, max_width_px=320)
    sent = _run_flow(flow, 20.0, 0.4)
    assert flow.current_window >= 5
    assert sent >= 0.9 * 200
    assert flow.width_px == 320


def test_mirror_flow_holds_images_when_the_link_stalls_and_halves_the_width() -> None:
    flow = MirrorFlow(fps=10, max_width_px=320, min_width_px=80)
    _run_flow(flow, 4.0, 0.05)  # a fast link first: window 2, acks arrive quickly
    assert flow.width_px == 320
    # Now nothing comes back: at most the window is in flight, then captures wait.
    now = 10 * 10**9
    sent = 0
    for i in range(200):  # 2 s at 100 Hz
        now += 10**7
        if flow.may_capture(now):
            flow.published(100_000 + i, now)
            sent += 1
    assert sent <= flow.current_window
    assert flow.held > 0
    # Images unacknowledged for longer than stall_s no longer hold the window (a probe goes out).
    assert flow.may_capture(now + int(3.5e9))


def test_mirror_flow_width_follows_a_link_that_cannot_carry_the_rate() -> None:
    flow = MirrorFlow(fps=10, max_width_px=320, min_width_px=80, window=2)
    # Each image takes a second to be acknowledged, but the fastest ever took 50 ms: the link's
    # bandwidth, not its delay, limits the rate, so the width halves, period after period.
    flow.ack(-1, 0)
    _run_flow(flow, 0.5, 0.05)
    _run_flow(flow, 8.0, 1.0)
    assert flow.width_px < 320
    smallest = flow.width_px
    # The link recovers: after calm periods the width doubles back.
    flow._ack_delays_ns.clear()
    _run_flow(flow, 20.0, 0.02)
    assert flow.width_px > smallest
