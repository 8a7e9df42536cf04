"""The patient-view mirror: what the patient sees, from the renderer's ``view_image`` JPEG stream.

Frames arrive on the PUB channel at >=5 fps. Only the newest undecoded frame is kept; a 20 Hz timer
decodes it, so a backlog of frames costs one decode, not one per frame. When no frame has come for two
seconds the mirror says so over the last picture instead of freezing silently.
"""

from __future__ import annotations

import time
from collections import deque

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QImage, QPixmap
from PyQt6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

STALE_AFTER_S = 2.0


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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.status)
        self._latest: bytes | None = None
        self._image: QImage | None = None
        self._arrivals: deque[float] = deque(maxlen=32)
        self.frames_received = 0
        self.frames_shown = 0
        self.decode_errors = 0
        self._timer = QTimer(self)
        self._timer.setInterval(50)
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
            self.status.setText(f"patient view: {self.fps():.1f} fps{size}")
            self.status.setStyleSheet("")
