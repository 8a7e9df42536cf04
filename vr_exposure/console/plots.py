"""The live session timeline: SUDS ratings, intensity, events, missed probes and safe-place spans on one
time axis (session seconds), with SUDS and intensity sharing the 0-100 scale; a physiology stream
(heart rate, EDA ... from ``--physio``) has its own, autoscaled axis on the right, shown once samples
arrive.

Messages only append to fixed-size numpy ring buffers; a 20 Hz ``QTimer`` redraws when something changed
(pyqtgraph's ``examples/scrollingPlots.py`` pattern), so a burst of telemetry never turns into a burst of
repaints on the GUI thread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QWidget

REDRAW_INTERVAL_MS = 50  # 20 Hz

SUDS_COLOUR = "#d32f2f"
PATIENT_COLOUR = "#d32f2f"
THERAPIST_COLOUR = "#7b1fa2"
INTENSITY_COLOUR = "#1565c0"
EVENT_COLOUR = "#ef6c00"
SAFE_COLOUR = (46, 125, 50, 60)
PHYSIO_COLOURS = ("#00897b", "#6d4c41", "#5e35b1", "#546e7a")
PHYSIO_CAPACITY = 16384  # per channel: 27 min at 10 Hz, before the oldest samples are overwritten


class RingBuffer:
    """Fixed-capacity (time, value) samples; the oldest are overwritten once full."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._t = np.zeros(capacity, dtype=np.float64)
        self._v = np.zeros(capacity, dtype=np.float64)
        self._next = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, t: float, value: float) -> None:
        self._t[self._next] = t
        self._v[self._next] = value
        self._next = (self._next + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)

    def extend(self, t: NDArray[np.float64], values: NDArray[np.float64]) -> None:
        """Append many samples at once (only the newest ``capacity`` of them are kept)."""
        n = int(len(t))
        if n == 0:
            return
        if n >= self.capacity:
            self._t[:] = t[-self.capacity :]
            self._v[:] = values[-self.capacity :]
            self._next = 0
            self._count = self.capacity
            return
        idx = (self._next + np.arange(n)) % self.capacity
        self._t[idx] = t
        self._v[idx] = values
        self._next = (self._next + n) % self.capacity
        self._count = min(self._count + n, self.capacity)

    def last(self) -> tuple[float, float] | None:
        if self._count == 0:
            return None
        i = (self._next - 1) % self.capacity
        return float(self._t[i]), float(self._v[i])

    def view(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Copies of the samples, oldest first."""
        if self._count < self.capacity:
            return self._t[: self._count].copy(), self._v[: self._count].copy()
        order = np.r_[self._next : self.capacity, 0 : self._next]
        return self._t[order], self._v[order]

    def clear(self) -> None:
        self._next = 0
        self._count = 0


class SessionTimeline(pg.PlotWidget):  # type: ignore[misc]  # pyqtgraph ships no type hints
    """Call the ``add_*`` methods from message handlers; drawing happens on the timer."""

    def __init__(self, parent: QWidget | None = None, capacity: int = 4096) -> None:
        super().__init__(parent=parent, background="w")
        self.setObjectName("session-timeline")
        self.setMinimumHeight(200)
        item = self.getPlotItem()
        assert item is not None
        self._plot = item
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setLabel("bottom", "session time", units="s")
        item.setLabel("left", "SUDS · intensity (0-100)")
        item.setYRange(0, 105, padding=0)
        item.getViewBox().setLimits(yMin=-5, yMax=110)
        self._legend = item.addLegend(offset=(10, 10))
        self.suds = RingBuffer(capacity)
        self.intensity = RingBuffer(capacity)
        self.missed = RingBuffer(512)
        self._suds_sources: deque[str] = deque(maxlen=capacity)
        self._intensity_curve = item.plot(
            [], [], pen=pg.mkPen(INTENSITY_COLOUR, width=2), stepMode=None, name="intensity"
        )
        self._suds_curve = item.plot(
            [],
            [],
            pen=pg.mkPen(SUDS_COLOUR, width=2),
            symbol="o",
            symbolSize=9,
            symbolBrush=SUDS_COLOUR,
            name="SUDS",
        )
        self._missed_scatter = pg.ScatterPlotItem(
            size=14, symbol="x", pen=pg.mkPen("#424242", width=2), brush=None, name="missed probe"
        )
        item.addItem(self._missed_scatter)
        self._pending_events: list[tuple[float, str]] = []
        self.marks: deque[tuple[float, str]] = deque(maxlen=1000)  # every event line added, in order
        self._event_lines: deque[pg.InfiniteLine] = deque()
        self._max_event_lines = 200
        self._safe_regions: list[pg.LinearRegionItem] = []
        self._safe_open_since: float | None = None
        self.physio: dict[str, RingBuffer] = {}
        self._physio_curves: dict[str, pg.PlotCurveItem] = {}
        self._physio_view: pg.ViewBox | None = None
        self._now_s = 0.0
        self._dirty = True
        self.redraws = 0
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    # -- data in ---------------------------------------------------------------------------------
    def add_suds(self, t_s: float, value: float, source: str = "therapist") -> None:
        self.suds.append(t_s, value)
        self._suds_sources.append(source)
        self._dirty = True

    def add_intensity(self, t_s: float, value: float) -> None:
        last = self.intensity.last()
        if last is not None and last[1] == value and t_s - last[0] < 1.0:
            return
        self.intensity.append(t_s, value)
        self._dirty = True

    def add_event(self, t_s: float, label: str) -> None:
        self._pending_events.append((t_s, label))
        self.marks.append((t_s, label))
        self._dirty = True

    def add_missed_probe(self, t_s: float) -> None:
        self.missed.append(t_s, 100.0)
        self._dirty = True

    def add_physio(
        self, stream: str, channels: Sequence[str], t_s: NDArray[np.float64], values: NDArray[np.float64]
    ) -> None:
        """Samples of a physiology stream: ``t_s`` (n,) session seconds, ``values`` (n, channels)."""
        if self._physio_view is None:
            self._make_physio_axis(stream, channels)
        t = np.asarray(t_s, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64).reshape(len(t), len(channels))
        for i, channel in enumerate(channels):
            buffer = self.physio.get(channel)
            if buffer is None:
                buffer = self.physio[channel] = RingBuffer(PHYSIO_CAPACITY)
                self._add_physio_curve(channel)
            buffer.extend(t, v[:, i])
        self._dirty = True

    def physio_axis_label(self) -> str:
        return "" if self._physio_view is None else str(self._plot.getAxis("right").labelText)

    def physio_data(self, channel: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """What the curve of ``channel`` shows (after the last redraw)."""
        x, y = self._physio_curves[channel].getData()
        return (
            np.asarray([] if x is None else x, dtype=np.float64),
            np.asarray([] if y is None else y, dtype=np.float64),
        )

    def _make_physio_axis(self, stream: str, channels: Sequence[str]) -> None:
        # pyqtgraph's MultiplePlotAxes pattern: a second ViewBox sharing the x axis, on the right axis.
        plot = self._plot
        view = pg.ViewBox()
        view.setMouseEnabled(x=False, y=False)
        plot.showAxis("right")
        scene = plot.scene()
        assert scene is not None
        scene.addItem(view)
        axis = plot.getAxis("right")
        axis.linkToView(view)
        axis.setLabel(f"{stream}: {', '.join(channels)}")
        view.setXLink(plot)
        view.enableAutoRange(axis=pg.ViewBox.YAxis)
        main = plot.getViewBox()

        def follow() -> None:
            view.setGeometry(main.sceneBoundingRect())
            view.linkedViewChanged(main, view.XAxis)

        main.sigResized.connect(follow)
        follow()
        self._physio_view = view

    def _add_physio_curve(self, channel: str) -> None:
        assert self._physio_view is not None
        colour = PHYSIO_COLOURS[len(self._physio_curves) % len(PHYSIO_COLOURS)]
        curve = pg.PlotCurveItem([], [], pen=pg.mkPen(colour, width=1.5), name=channel)
        self._physio_view.addItem(curve)
        self._physio_curves[channel] = curve
        self._legend.addItem(curve, channel)

    def safe_place(self, t_s: float, entered: bool) -> None:
        if entered and self._safe_open_since is None:
            self._safe_open_since = t_s
            region = pg.LinearRegionItem(values=(t_s, t_s), movable=False, brush=pg.mkBrush(*SAFE_COLOUR))
            region.setZValue(-10)
            self._plot.addItem(region)
            self._safe_regions.append(region)
        elif not entered and self._safe_open_since is not None:
            self._safe_regions[-1].setRegion((self._safe_open_since, t_s))
            self._safe_open_since = None
        self._dirty = True

    def set_now(self, t_s: float) -> None:
        """Session time now: the intensity line and an open safe-place span extend to it."""
        if t_s != self._now_s:
            self._now_s = t_s
            self._dirty = True

    def reset(self) -> None:
        """Forget the session's data. (Not ``clear``: PlotWidget binds that name to PlotItem.clear,
        which would remove the curves themselves.)"""
        self.suds.clear()
        self.intensity.clear()
        self.missed.clear()
        for buffer in self.physio.values():
            buffer.clear()
        for line in self._event_lines:
            self._plot.removeItem(line)
        self._event_lines.clear()
        self.marks.clear()
        for region in self._safe_regions:
            self._plot.removeItem(region)
        self._safe_regions.clear()
        self._safe_open_since = None
        self._dirty = True

    # -- drawing -----------------------------------------------------------------------------------
    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        t, v = self.intensity.view()
        if len(t):
            # A step line: each level holds until the next change, and the last one until now.
            ts = np.repeat(t, 2)[1:]
            vs = np.repeat(v, 2)[:-1]
            ts = np.append(ts, max(self._now_s, float(t[-1])))
            vs = np.append(vs, v[-1])
            self._intensity_curve.setData(ts, vs)
        else:
            self._intensity_curve.setData([], [])
        st, sv = self.suds.view()
        self._suds_curve.setData(st, sv)
        mt, mv = self.missed.view()
        self._missed_scatter.setData(mt, mv)
        for channel, buffer in self.physio.items():
            self._physio_curves[channel].setData(*buffer.view())
        for t_s, label in self._pending_events:
            line = pg.InfiniteLine(
                pos=t_s,
                angle=90,
                movable=False,
                pen=pg.mkPen(EVENT_COLOUR, width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
                label=label,
                labelOpts={"position": 0.92, "color": EVENT_COLOUR, "rotateAxis": (1, 0)},
            )
            self._plot.addItem(line)
            self._event_lines.append(line)
            while len(self._event_lines) > self._max_event_lines:
                self._plot.removeItem(self._event_lines.popleft())
        self._pending_events.clear()
        if self._safe_open_since is not None and self._safe_regions:
            self._safe_regions[-1].setRegion((self._safe_open_since, max(self._now_s, self._safe_open_since)))
