"""The intensity slider (0-100) and its binding to the renderer's intensity.

Dragging sends rate-limited requests with a short ramp so the scene follows the hand without flooding the
link; releasing sends the final value with the normal ramp, so what the patient sees always changes by a
fade, never a jump. Keyboard and wheel steps are debounced the same way. The renderer's reported
intensity flows back into the slider with the slider's signals blocked (the napari binding pattern), and
never while the therapist's hand is on it.
"""

from __future__ import annotations

from PyQt6.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QGridLayout, QGroupBox, QLabel, QProgressBar, QSlider, QWidget

DRAG_INTERVAL_MS = 150
DRAG_RAMP_S = 0.3
RELEASE_RAMP_S = 1.5


class IntensityBinding(QObject):
    """Connects one slider to the renderer's intensity. Emits ``requested(intensity, ramp_s)``."""

    requested = pyqtSignal(float, float)

    def __init__(self, slider: QSlider, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._slider = slider
        self._last_sent: int | None = None
        self._pending: int | None = None
        self._rate = QTimer(self)
        self._rate.setSingleShot(True)
        self._rate.setInterval(DRAG_INTERVAL_MS)
        self._rate.timeout.connect(self._flush)
        slider.valueChanged.connect(self._on_slider_value_changed)
        slider.sliderReleased.connect(self._on_slider_released)

    def set_model_value(self, target: float) -> None:
        """The renderer's target intensity changed: show it, unless the therapist is dragging."""
        if self._slider.isSliderDown() or self._rate.isActive():
            return
        value = int(round(target))
        if value == self._slider.value():
            return
        self._slider.blockSignals(True)
        try:
            self._slider.setValue(value)
        finally:
            self._slider.blockSignals(False)
        self._last_sent = value

    def _on_slider_value_changed(self, value: int) -> None:
        self._pending = value
        if self._slider.isSliderDown():
            if not self._rate.isActive():
                self._flush(DRAG_RAMP_S)
                self._rate.start()
        else:
            # Arrow keys, page steps and the wheel: wait a moment so five presses become one smooth ramp.
            self._rate.start()

    def _on_slider_released(self) -> None:
        self._rate.stop()
        self._pending = self._slider.value()
        self._flush(RELEASE_RAMP_S)

    def _flush(self, ramp_s: float | None = None) -> None:
        if self._pending is None:
            return
        value, self._pending = self._pending, None
        if ramp_s is None:
            ramp_s = DRAG_RAMP_S if self._slider.isSliderDown() else RELEASE_RAMP_S
        if value == self._last_sent and ramp_s != RELEASE_RAMP_S:
            return
        self._last_sent = value
        self.requested.emit(float(value), float(ramp_s))


class IntensityControl(QGroupBox):
    """Slider plus a read-out of what the renderer reports (current and target)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Intensity", parent)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("intensity-slider")
        self.slider.setRange(0, 100)
        self.slider.setPageStep(10)
        self.slider.setSingleStep(1)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(10)
        self.current_bar = QProgressBar(self)
        self.current_bar.setObjectName("intensity-current")
        self.current_bar.setRange(0, 100)
        self.current_bar.setFormat("renderer: %v")
        self.current_bar.setMaximumHeight(16)
        self.readout = QLabel("—", self)
        self.readout.setObjectName("intensity-readout")
        self.readout.setMinimumWidth(120)
        grid = QGridLayout(self)
        grid.addWidget(self.slider, 0, 0)
        grid.addWidget(self.readout, 0, 1)
        grid.addWidget(self.current_bar, 1, 0, 1, 2)
        self.binding = IntensityBinding(self.slider, self)
        self._on_return = False

    def set_applies_on_return(self, on_return: bool, return_intensity: float | None = None) -> None:
        """In the safe place the slider sets the intensity the scene comes back at, not what the
        patient sees now: the box says so, and shows that intensity."""
        self._on_return = on_return
        self.setTitle("Intensity — applies on return from the safe place" if on_return else "Intensity")
        if on_return:
            shown = "—" if return_intensity is None else f"{return_intensity:.0f}"
            self.readout.setText(f"on return: {shown}")
            if return_intensity is not None:
                self.binding.set_model_value(return_intensity)

    def show_renderer_intensity(self, current: float, target: float) -> None:
        if self._on_return:
            self.current_bar.setValue(int(round(current)))
            return
        self.current_bar.setValue(int(round(current)))
        self.readout.setText(
            f"{current:.0f} → {target:.0f}" if abs(current - target) >= 0.5 else f"{current:.0f}"
        )
        self.binding.set_model_value(target)
