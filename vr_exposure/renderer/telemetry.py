"""Renderer telemetry: frame timing (median, p99, dropped) once a second, the head pose every frame,
where the scene's stimuli are (``stimulus_positions``, 10 Hz, :mod:`.stimulus_tracker`) and a small
JPEG of what the patient sees (``view_image``, >= 5 per second) for the console's mirror.

Everything here runs in the app's ``vr-exposure-telemetry`` task, just before the render, and must
stay cheap: samples
are plain dicts handed on (to the journal's queue, and deferred to the link's publisher thread,
which encodes them and sends a frame's worth at once: ``LinkServer.publish(..., defer=True)``);

* frame timing keeps a bounded window of frame intervals and summarises it once a second;
* the mirror uses a *triggered* copy-to-RAM texture on the rendered output, so the framebuffer is read
  back only on the frames that feed the mirror (every ``1 / fps`` s on a fixed time grid), never on
  the others. Panda3D rewrites that RAM image in place at the next copy, so the main thread takes a
  small strided (nearest-neighbour) sample of it, and a worker thread flips, encodes and queues the
  JPEG (Pillow's and Panda3D's encoders both release the GIL) and hands it to the link's publisher
  thread itself (``publish_from_thread``), so the frame loop never touches an image; without that
  callback (tests) the frame loop publishes the finished images. The next copy may be triggered in
  the frame that sampled the last one, so with frames slower than ``1 / fps`` every frame feeds the
  mirror;
  the worker holds one waiting sample at most, and a newer one replaces it (a stale frame is
  dropped, never queued), so a slow encoder never delays the render loop or the images behind it.

The mirror fits the link (:class:`MirrorFlow`): a console says in its heartbeats which image it
received last (``view_frame``), and a new image is captured only while fewer than a window of
published images are unacknowledged (``MIRROR_WINDOW``, or what fits in the fastest recent
acknowledgement's round trip at the target rate, plus one), so on a slow link images never pile up in
front of the facts and telemetry that share the socket with them. When that window keeps the rate
under the target, the image width halves (down to ``MIRROR_MIN_WIDTH_PX``); when the link keeps up
again, it doubles back. A console that never acknowledges gets the full rate, as before.
"""

from __future__ import annotations

import io
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vr_exposure.renderer.stimulus_tracker import StimulusTracker

#: Mirror image width; the height follows the output's aspect ratio.
MIRROR_WIDTH_PX = 320
MIRROR_FPS = 10.0
MIRROR_JPEG_QUALITY = 70
#: Published mirror images a console may have unacknowledged before the next capture waits.
MIRROR_WINDOW = 2
MIRROR_MIN_WIDTH_PX = 80
#: An image unacknowledged this long is taken as lost (it no longer holds the window).
MIRROR_STALL_S = 3.0
#: How often the width is reconsidered.
MIRROR_ADAPT_S = 2.0
#: A frame longer than this many display periods counts as dropped.
DROPPED_FACTOR = 1.5


@dataclass(frozen=True, slots=True)
class FrameTimingSummary:
    median_ms: float
    p99_ms: float
    dropped: int
    frames: int
    window_s: float


class FrameTimer:
    """Frame intervals over a window of ``window_s``; :meth:`tick` returns a summary once per window.

    ``frame_period_ns`` is the display's period, or a function returning it: an XR runtime tells the
    real period only from its first ``xrWaitFrame`` (and may change it), so it is read again at every
    summary (once a second), not fixed at construction."""

    def __init__(
        self, frame_period_ns: int | Callable[[], int], window_s: float = 1.0, max_frames: int = 2048
    ) -> None:
        self._period: Callable[[], int] = (
            frame_period_ns if callable(frame_period_ns) else (lambda: frame_period_ns)
        )
        self.window_ns = int(window_s * 1e9)
        self._intervals_ns: deque[int] = deque(maxlen=max_frames)
        self._last_ns: int | None = None
        self._window_start_ns: int | None = None

    @property
    def frame_period_ns(self) -> int:
        return int(self._period())

    def tick(self, now_ns: int) -> FrameTimingSummary | None:
        """Record that a frame ended at ``now_ns``."""
        if self._last_ns is not None:
            self._intervals_ns.append(now_ns - self._last_ns)
        self._last_ns = now_ns
        if self._window_start_ns is None:
            self._window_start_ns = now_ns
            return None
        elapsed = now_ns - self._window_start_ns
        if elapsed < self.window_ns or not self._intervals_ns:
            return None
        # Sorted in plain Python: about 90 ints a second, where numpy's percentile on a cold cache
        # costs the frame loop a few hundred microseconds once a second (that frame's p99).
        xs = sorted(self._intervals_ns)
        self._intervals_ns.clear()
        self._window_start_ns = now_ns
        median_ns, p99_ns = _percentile(xs, 50), _percentile(xs, 99)
        limit = DROPPED_FACTOR * self.frame_period_ns
        dropped = sum(1 for x in xs if x > limit)
        return FrameTimingSummary(
            median_ms=float(median_ns) / 1e6,
            p99_ms=float(p99_ns) / 1e6,
            dropped=dropped,
            frames=len(xs),
            window_s=elapsed / 1e9,
        )


def _percentile(sorted_xs: list[int], q: float) -> float:
    """numpy's default (linear) percentile of an already sorted, non-empty list."""
    pos = (len(sorted_xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class MirrorImage:
    jpeg: bytes
    width: int
    height: int
    frame: int


def encode_jpeg(rgb: np.ndarray, quality: int = MIRROR_JPEG_QUALITY) -> bytes:
    """``rgb`` (height, width, 3) uint8, top row first -> JPEG bytes."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib; Panda3D's encoder otherwise
        return _encode_jpeg_panda(rgb, quality)
    out = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def _encode_jpeg_panda(rgb: np.ndarray, quality: int) -> bytes:  # pragma: no cover - see above
    from panda3d.core import PNMImage, StringStream, Texture

    h, w, _ = rgb.shape
    tex = Texture("mirror-encode")
    tex.setup2dTexture(w, h, Texture.T_unsigned_byte, Texture.F_rgb8)
    tex.setRamImageAs(np.ascontiguousarray(rgb[::-1]).tobytes(), "RGB")
    img = PNMImage()
    tex.store(img)
    stream = StringStream()
    img.write(stream, "mirror.jpg")
    return bytes(stream.getData())


class MirrorFlow:
    """Flow control and size for the mirror: a window of unacknowledged images, and a width that
    halves while the window holds the rate under ``fps`` and doubles back when it does not."""

    def __init__(
        self,
        *,
        fps: float = MIRROR_FPS,
        max_width_px: int = MIRROR_WIDTH_PX,
        min_width_px: int = MIRROR_MIN_WIDTH_PX,
        window: int = MIRROR_WINDOW,
        stall_s: float = MIRROR_STALL_S,
        adapt_s: float = MIRROR_ADAPT_S,
    ) -> None:
        self.fps = fps
        self.max_width_px = max_width_px
        self.min_width_px = min(min_width_px, max_width_px)
        self.window = window
        self.stall_ns = int(stall_s * 1e9)
        self.adapt_ns = int(adapt_s * 1e9)
        self.width_px = max_width_px
        self.in_flight: deque[tuple[int, int]] = deque()
        """(frame, published at ns) of images not yet acknowledged."""
        self._ack_delays_ns: deque[int] = deque(maxlen=32)
        self.acknowledging = False
        """True once a console has acknowledged an image: only then does the window apply."""
        self.held = 0
        """Captures that were due but waited for the window (since start)."""
        self._period_start_ns: int | None = None
        self._period_sent = 0
        self._period_held = 0
        self._calm_periods = 0
        # The frame loop acknowledges and captures; the mirror's worker thread publishes.
        self._lock = threading.Lock()
        self._acked = -1

    def ack(self, frame: int, now_ns: int) -> None:
        """The console received every image up to ``frame`` (-1: it has not said)."""
        if frame <= self._acked:
            return
        with self._lock:
            self._acked = frame
            self.acknowledging = True
            while self.in_flight and self.in_flight[0][0] <= frame:
                _, published_ns = self.in_flight.popleft()
                self._ack_delays_ns.append(now_ns - published_ns)

    @property
    def current_window(self) -> int:
        """Images allowed in flight: ``window``, or more when the fastest recent acknowledgement
        shows a long path (the images that fit in one round trip at ``fps``, plus one), so the
        window limits the rate only when the link's bandwidth does, not its delay."""
        if not self._ack_delays_ns:
            return self.window
        round_trip_s = min(self._ack_delays_ns) / 1e9
        return max(self.window, math.ceil(self.fps * round_trip_s) + 1)

    def published(self, frame: int, now_ns: int) -> None:
        with self._lock:
            self.in_flight.append((frame, now_ns))
            self._period_sent += 1

    def may_capture(self, now_ns: int) -> bool:
        """A capture is due: may it go now?"""
        with self._lock:
            self._adapt(now_ns)
            while self.in_flight and now_ns - self.in_flight[0][1] > self.stall_ns:
                self.in_flight.popleft()
            if not self.acknowledging or len(self.in_flight) < self.current_window:
                return True
            self.held += 1
            self._period_held += 1
            return False

    def _adapt(self, now_ns: int) -> None:
        if self._period_start_ns is None:
            self._period_start_ns = now_ns
            return
        elapsed = now_ns - self._period_start_ns
        if elapsed < self.adapt_ns:
            return
        rate = self._period_sent / (elapsed / 1e9)
        if self._period_held and rate < 0.8 * self.fps:
            self.width_px = max(self.min_width_px, self.width_px // 2)
            self._calm_periods = 0
        elif not self._period_held:
            self._calm_periods += 1
            if self._calm_periods >= 2 and self.width_px < self.max_width_px:
                self.width_px = min(self.max_width_px, self.width_px * 2)
                self._calm_periods = 0
        else:
            self._calm_periods = 0
        self._period_start_ns = now_ns
        self._period_sent = 0
        self._period_held = 0


class MirrorCapture:
    """Samples the rendered output a few times a second and encodes JPEGs off the render thread.

    Call :meth:`after_render` once per frame (after Panda3D rendered, or before it with
    ``before_render``), then :meth:`take` for images
    that are ready to publish.
    """

    def __init__(
        self,
        output: Any,
        *,
        fps: float = MIRROR_FPS,
        width_px: int = MIRROR_WIDTH_PX,
        quality: int = MIRROR_JPEG_QUALITY,
        flow: MirrorFlow | None = None,
        on_image: Callable[[MirrorImage], None] | None = None,
        before_render: bool = False,
    ) -> None:
        """``on_image``: called on the worker thread with each encoded image (it must be safe to
        call from there); without it, images wait for :meth:`take`. ``before_render``: the caller
        calls :meth:`after_render` before Panda3D renders the frame (the app does), so a copy
        triggered in frame N shows frame N's render, not frame N+1's."""
        from panda3d.core import GraphicsOutput, Texture

        self.output = output
        self.interval_ns = int(1e9 / fps)
        self.width_px = width_px
        self.flow = flow if flow is not None else MirrorFlow(fps=fps, max_width_px=width_px)
        self.quality = quality
        self.on_image = on_image
        self.before_render = before_render
        self.texture = Texture("vr-exposure-mirror")
        output.addRenderTexture(self.texture, GraphicsOutput.RTMTriggeredCopyRam)
        self._triggered_frame: int | None = None
        self._next_ns: int | None = None
        self._cond = threading.Condition()
        self._waiting: tuple[np.ndarray, int] | None = None
        self._closing = False
        self._encoding = False
        self._done: queue.Queue[MirrorImage] = queue.Queue()
        self.encoded = 0
        self.errors = 0
        #: Samples replaced by a newer one before the worker got to them.
        self.dropped = 0
        self._worker = threading.Thread(target=self._run, name="vr-exposure-mirror", daemon=True)
        self._worker.start()

    def after_render(self, frame: int, now_ns: int) -> None:
        triggered = self._triggered_frame
        if triggered is not None and self.texture.hasRamImage():
            # The copy happens at the end of the first render after the trigger: the render of the
            # triggering frame (called before render) or of this one (called after render).
            sample = self._sample()
            self._triggered_frame = None
            if sample is not None:
                self._submit(sample, triggered if self.before_render else frame)
        if (
            self._triggered_frame is None
            and (self._next_ns is None or now_ns >= self._next_ns)
            and self.flow.may_capture(now_ns)
        ):
            self.width_px = self.flow.width_px
            self.output.triggerCopy()
            self._triggered_frame = frame
            # On a fixed grid, so frame-time jitter does not lower the rate; a loop that fell more
            # than an interval behind starts a new grid rather than catching up in a burst.
            due = self._next_ns if self._next_ns is not None else now_ns
            if now_ns - due >= self.interval_ns:
                due = now_ns
            self._next_ns = due + self.interval_ns

    def _submit(self, sample: np.ndarray, frame: int) -> None:
        with self._cond:
            if self._waiting is not None:
                self.dropped += 1
            self._waiting = (sample, frame)
            self._cond.notify()

    def _sample(self) -> np.ndarray | None:
        tex = self.texture
        w, h, c = tex.getXSize(), tex.getYSize(), tex.getNumComponents()
        if w <= 0 or h <= 0 or c != 4 or tex.getComponentType() != tex.T_unsigned_byte:
            return None
        raw = np.frombuffer(tex.getRamImage(), dtype=np.uint32)
        if raw.size != w * h:
            return None
        step = max(1, w // self.width_px)
        # Every ``step``-th BGRA pixel, each as one uint32 so the copy moves whole pixels (10x faster
        # than slicing channels); a copy because Panda3D rewrites this buffer in place at the next
        # triggered copy. The worker flips rows and channels.
        return np.ascontiguousarray(raw.reshape(h, w)[::step, ::step])

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._waiting is None and not self._closing:
                    self._cond.wait()
                if self._waiting is None:
                    return
                (bgra, frame), self._waiting = self._waiting, None
                self._encoding = True
                self._cond.notify_all()
            try:
                # Bottom-up BGRA pixels -> top-down RGB.
                rgb = np.ascontiguousarray(bgra.view(np.uint8).reshape(*bgra.shape, 4)[::-1, :, 2::-1])
                jpeg = encode_jpeg(rgb, self.quality)
                image = MirrorImage(jpeg, rgb.shape[1], rgb.shape[0], frame)
                if self.on_image is not None:
                    self.on_image(image)
                else:
                    self._done.put(image)
                self.encoded += 1
            except Exception:  # noqa: BLE001 - a mirror frame is never worth the render loop
                self.errors += 1
            finally:
                with self._cond:
                    self._encoding = False
                    self._cond.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until the worker has encoded everything it was given (tests, benchmarks)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._waiting is None and not self._encoding, timeout_s)

    def take(self) -> list[MirrorImage]:
        images: list[MirrorImage] = []
        while True:
            try:
                images.append(self._done.get_nowait())
            except queue.Empty:
                return images

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._waiting = None
            self._cond.notify()
        if self._worker.is_alive():
            self._worker.join(timeout=2.0)
        try:
            self.output.clearRenderTextures()
        except Exception:  # noqa: BLE001 - the window may already be gone at exit
            pass


Publish = Callable[[str, dict[str, Any]], None]


class Telemetry:
    """Per-frame telemetry: publishes through ``publish(msg_type, content)`` (the link's telemetry
    stream) and hands the same records to ``journal(msg_type, content)`` (the journal's non-blocking
    telemetry queue). Either may be None. The mirror is journaled never: it is for the live view."""

    def __init__(
        self,
        *,
        frame_period_ns: int | Callable[[], int],
        publish: Publish | None = None,
        journal: Publish | None = None,
        mirror: MirrorCapture | None = None,
        stimuli: StimulusTracker | None = None,
        scene_key: Callable[[], object] | None = None,
        acked_view_frame: Callable[[], int] | None = None,
        xr_pacing: Callable[[], dict[str, float | int] | None] | None = None,
        publish_from_thread: Publish | None = None,
        clock_ns: Callable[[], int] | None = None,
    ) -> None:
        """``acked_view_frame`` returns the newest mirror frame a console acknowledged (-1: none).
        ``publish_from_thread`` (safe to call from any thread): the mirror's worker publishes each
        image as soon as it is encoded, so the frame loop never handles images; ``clock_ns`` is
        the monotonic clock it stamps them with."""
        self.timer = FrameTimer(frame_period_ns)
        self.acked_view_frame = acked_view_frame
        #: An XR backend's frame-loop figures, added to each frame-timing summary.
        self.xr_pacing = xr_pacing
        self.publish = publish
        self.journal = journal
        self.mirror = mirror
        self.stimuli = stimuli
        #: Identifies the scene shown (the stage's scene instance): when it changes, the stimulus
        #: nodes are found again.
        self.scene_key = scene_key
        self.last_timing: FrameTimingSummary | None = None
        self.publish_from_thread = publish_from_thread
        if mirror is not None and publish_from_thread is not None:
            self._clock_ns = clock_ns if clock_ns is not None else time.monotonic_ns
            mirror.on_image = self._publish_image

    def _publish_image(self, image: MirrorImage) -> None:
        """On the mirror's worker thread."""
        assert self.mirror is not None and self.publish_from_thread is not None
        self.mirror.flow.published(image.frame, self._clock_ns())
        self.publish_from_thread(
            "view_image",
            {"jpeg": image.jpeg, "width": image.width, "height": image.height, "frame": image.frame},
        )

    def on_frame(
        self,
        frame: int,
        now_ns: int,
        position_m: tuple[float, float, float],
        orientation_xyzw: tuple[float, float, float, float],
        *,
        busy: bool = False,
    ) -> None:
        """One rendered frame. ``busy``: the frame already did other periodic work (it handled link
        messages); a stimulus sample due now waits one frame (:meth:`StimulusTracker.sample`)."""
        pose = {
            "frame": frame,
            "t_mono_ns": now_ns,
            "position_m": position_m,
            "orientation_xyzw": orientation_xyzw,
        }
        self._emit("head_pose", pose)
        if self.stimuli is not None:
            scene = self.scene_key() if self.scene_key is not None else None
            stimuli = self.stimuli.sample(frame, now_ns, scene, defer=busy)
            if stimuli is not None:
                self._emit("stimulus_positions", stimuli)
        summary = self.timer.tick(now_ns)
        if summary is not None:
            self.last_timing = summary
            timing: dict[str, Any] = {
                "median_ms": summary.median_ms,
                "p99_ms": summary.p99_ms,
                "dropped": summary.dropped,
                "frames": summary.frames,
                "window_s": summary.window_s,
                "display_period_ms": self.timer.frame_period_ns / 1e6,
            }
            xr = self.xr_pacing() if self.xr_pacing is not None else None
            if xr is not None:
                timing.update(xr)
            self._emit("frame_timing", timing)
        if self.mirror is not None:
            # Images finished since the last frame go out before this frame's sample is handed to
            # the worker: every ZeroMQ send releases the GIL, and a worker just woken would take it
            # there and hold the render thread up while it flips the sample.
            flow = self.mirror.flow
            if self.acked_view_frame is not None:
                flow.ack(self.acked_view_frame(), now_ns)
            if self.publish is not None and self.mirror.on_image is None:
                for image in self.mirror.take():
                    flow.published(image.frame, now_ns)
                    self.publish(
                        "view_image",
                        {
                            "jpeg": image.jpeg,
                            "width": image.width,
                            "height": image.height,
                            "frame": image.frame,
                        },
                    )
            self.mirror.after_render(frame, now_ns)

    def _emit(self, msg_type: str, content: dict[str, Any]) -> None:
        if self.publish is not None:
            self.publish(msg_type, content)
        if self.journal is not None:
            self.journal(msg_type, content)

    def close(self) -> None:
        if self.mirror is not None:
            self.mirror.close()
