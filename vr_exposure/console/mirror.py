"""The patient-view mirror: what the patient sees, from the renderer's ``view_image`` JPEG stream.

Frames arrive on the PUB channel at the renderer's mirror rate (10 fps) or, when the renderer draws
slower than that, at its frame rate. Only the newest undecoded frame is kept; a 40 Hz timer decodes it,
so a backlog of frames costs one decode, not one per frame. When no frame has come for two seconds the
mirror says so over the last picture instead of freezing silently, and when the pictures come slower
than :data:`TARGET_FPS` because the renderer itself draws slower, the status line says that too.

The picture scales with the room it has; *Enlarge* takes the mirror out into a window of its own
(any size, full screen on a second monitor) and *Dock* (or closing that window) puts it back. Over
the picture, a badge says whether the stimulus is in the patient's field of view
(:meth:`PatientMirror.show_gaze`).
"""

from __future__ import annotations

import time
from collections import deque

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QCloseEvent, QImage, QPixmap
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSplitter, QVBoxLayout, QWidget

STALE_AFTER_S = 2.0
TARGET_FPS = 10.0


class PatientMirror(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patient-mirror")
        self.picture = QLabel("no picture from the headset yet", self)
        self.picture.setObjectName("mirror-picture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(240, 135)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setStyleSheet("background: #202020; color: #e0e0e0;")
        self.status = QLabel("", self)
        self.status.setObjectName("mirror-status")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.gaze = QLabel("", self.picture)
        self.gaze.setObjectName("mirror-gaze")
        self.gaze.setVisible(False)
        self.enlarge_button = QPushButton("Enlarge ⤢", self)
        self.enlarge_button.setObjectName("mirror-enlarge")
        self.enlarge_button.setToolTip("Show the patient's view in a window of its own (any size)")
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.enlarge_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picture, 1)
        layout.addLayout(row)
        self.enlarge_button.clicked.connect(self._on_enlarge_clicked)
        self.renderer_fps: float | None = None
        self._home: tuple[QSplitter, int] | None = None
        self.window_view: _MirrorWindow | None = None
        self._latest: bytes | None = None
        self._image: QImage | None = None
        self._arrivals: deque[float] = deque(maxlen=32)
        self.frames_received = 0
        self.frames_shown = 0
        self.decode_errors = 0
        self._timer = QTimer(self)
        # 40 Hz: a picture waits at most 25 ms, so two arriving close together (a loaded link) are
        # both shown at 10 fps; a tick with nothing new costs nothing but the status line, 5 times a second.
        self._timer.setInterval(25)
        self._ticks = 0
        self._timer.timeout.connect(self._on_tick)
        self._timer.start()

    def push_jpeg(self, data: bytes) -> None:
        self._latest = bytes(data)
        self.frames_received += 1
        self._arrivals.append(time.monotonic())

    def fps(self) -> float:
        if len(self._arrivals) < 2:
            return 0.0
        span = self._arrivals[-1] - self._arrivals[0]
        return (len(self._arrivals) - 1) / span if span > 0 else 0.0

    def image(self) -> QImage | None:
        return self._image

    def set_renderer_fps(self, fps: float) -> None:
        """How fast the renderer draws (from ``frame_timing``): the mirror can be no faster."""
        self.renderer_fps = fps

    def show_gaze(self, text: str, level: str) -> None:
        """The badge over the picture: ``level`` ``in-view`` (green), ``away`` (amber), ``warn``
        (red: looked away for long), ``none`` (hidden: no stimulus shown)."""
        colours = {"in-view": "#1b5e20", "away": "#8d6e00", "warn": "#b71c1c"}
        if level not in colours:
            self.gaze.setVisible(False)
            return
        self.gaze.setText(text)
        self.gaze.setStyleSheet(
            f"background: {colours[level]}; color: white; font-weight: bold; padding: 3px 8px;"
            " border-radius: 4px;"
        )
        self.gaze.adjustSize()
        self.gaze.move(8, 8)
        self.gaze.setVisible(True)

    @property
    def detached(self) -> bool:
        return self.window_view is not None

    def _on_enlarge_clicked(self) -> None:
        if self.window_view is None:
            self.detach()
        else:
            self.dock()

    def detach(self) -> None:
        """Out of the console into a window of its own (a top-level, resizable, 960×540 to start)."""
        parent = self.parentWidget()
        if self.window_view is not None or not isinstance(parent, QSplitter):
            return
        self._home = (parent, parent.indexOf(self))
        view = _MirrorWindow(self, parent.window())
        self.window_view = view
        view.layout_.addWidget(self)
        self.enlarge_button.setText("Dock ⤓")
        view.resize(960, 540 + self.status.sizeHint().height())
        view.show()

    def dock(self) -> None:
        """Back into its place in the console."""
        view, self.window_view = self.window_view, None
        if view is None or self._home is None:
            return
        splitter, index = self._home
        splitter.insertWidget(index, self)
        self.enlarge_button.setText("Enlarge ⤢")
        self.show()
        view.release()
        view.close()
        view.deleteLater()

    def _on_tick(self) -> None:
        data, self._latest = self._latest, None
        if data is not None:
            image = QImage.fromData(data, "JPEG")
            if image.isNull():
                self.decode_errors += 1
            else:
                self._image = image
                self.frames_shown += 1
                self._show()
        self._ticks += 1
        if data is not None or self._ticks % 8 == 0:
            self._update_status()

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._show()

    def _show(self) -> None:
        if self._image is None:
            return
        pixmap = QPixmap.fromImage(self._image).scaled(
            self.picture.size(),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.picture.setPixmap(pixmap)

    def _update_status(self) -> None:
        if not self._arrivals:
            self.status.setText("patient view: waiting for pictures")
            return
        age_s = time.monotonic() - self._arrivals[-1]
        if age_s > STALE_AFTER_S:
            self.status.setText(f"patient view: no new picture for {age_s:.0f} s")
            self.status.setStyleSheet("color: #b71c1c; font-weight: bold;")
        else:
            size = "" if self._image is None else f"  {self._image.width()}×{self._image.height()}"
            fps = self.fps()
            text = f"patient view: {fps:.1f} fps{size}"
            drawn = self.renderer_fps
            if drawn is not None and drawn < TARGET_FPS and fps < TARGET_FPS:
                text += f" — the renderer draws only {drawn:.1f} fps: the mirror can be no faster"
                self.status.setToolTip(
                    f"The mirror shows {TARGET_FPS:.0f} fps when the renderer draws at least that fast."
                )
                self.status.setStyleSheet("color: #8d4e00; font-weight: bold;")
            else:
                self.status.setStyleSheet("")
            self.status.setText(text)


class _MirrorWindow(QWidget):
    """The mirror's own window while it is enlarged; closing it docks the mirror again."""

    def __init__(self, mirror: PatientMirror, owner: QWidget | None) -> None:
        super().__init__(owner, Qt.WindowType.Window)
        self.setObjectName("mirror-window")
        self.setWindowTitle("Patient view — vr-exposure")
        self._mirror: PatientMirror | None = mirror
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)

    def release(self) -> None:
        self._mirror = None

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 - Qt override
        mirror, self._mirror = self._mirror, None
        if mirror is not None:
            mirror.dock()
        super().closeEvent(event)
