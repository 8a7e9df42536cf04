"""Frame timing statistics and the mirror's JPEG path, on synthetic input."""

from __future__ import annotations

import io

import numpy as np
import pytest

from vr_exposure.renderer.telemetry import FrameTimer, encode_jpeg


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
