"""The console's widgets on their own: the banner, SUDS entry, the intensity binding, the SSQ form,
the advice panel, the timeline's ring buffers and the mirror."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QImage

from vr_exposure.console.mirror import PatientMirror
from vr_exposure.console.plots import RingBuffer, SessionTimeline
from vr_exposure.console.widgets import (
    AdvicePanel,
    ConnectionBanner,
    EventButtons,
    EventItem,
    IntensityControl,
    RungItem,
    RungPicker,
    SsqForm,
    SudsEntry,
)
from vr_exposure.core.ssq import score_ssq

pytestmark = pytest.mark.gui


def test_banner_stays_until_ok_and_counts_seconds(make_widget, qtbot):
    import time

    from PyQt6.QtWidgets import QWidget

    window = make_widget(QWidget)
    banner = ConnectionBanner(window)
    window.show()
    assert banner.isVisible() and not banner.alarming and banner.text() == "Headset connected"
    height = banner.height()

    banner.set_status(
        "lost", "No contact with the headset for {elapsed} s — reconnecting", time.monotonic() - 7
    )
    assert banner.alarming
    assert banner.text() == "No contact with the headset for 7.0 s — reconnecting"
    assert banner.height() == height

    def seconds_shown() -> float:
        return float(banner.text().removeprefix("No contact with the headset for ").split(" ")[0])

    qtbot.waitUntil(lambda: seconds_shown() >= 7.4, timeout=3000)  # it keeps counting on its own
    banner.set_status(
        "lost", "No contact with the headset for {elapsed} s — reconnecting", time.monotonic() - 12
    )
    assert banner.text() == "No contact with the headset for 12 s — reconnecting"
    banner.set_status("error", "A very long message about the link " * 20)
    assert banner.height() == height and banner.text().startswith("A very long")
    banner.set_status("ok")
    assert not banner.alarming and banner.height() == height
    with pytest.raises(ValueError):
        banner.set_status("purple")


def test_suds_entry_records_clamped_values(make_widget, qtbot):
    entry = make_widget(SudsEntry)
    with qtbot.waitSignal(entry.rating_entered) as blocker:
        entry.record(140)
    assert blocker.args == [100]
    entry.spin.setValue(35)
    with qtbot.waitSignal(entry.rating_entered) as blocker:
        qtbot.mouseClick(entry.record_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [35]
    entry.show_countdown(75, 20)
    assert entry.next_label.text() == "next probe in 1:15"
    assert "0:20" in entry.open_label.text()


def test_intensity_binding_rate_limits_drags_and_blocks_echo(make_widget, qtbot):
    control = make_widget(IntensityControl)
    control.show()
    sent: list[tuple[float, float]] = []
    control.binding.requested.connect(lambda v, r: sent.append((v, r)))
    slider = control.slider
    slider.setSliderDown(True)
    for value in range(10, 60, 2):  # 25 moves within a few ms
        slider.setValue(value)
    assert 1 <= len(sent) <= 2, sent  # the first goes at once; the rest wait for the rate limit
    slider.setSliderDown(False)  # release
    qtbot.waitUntil(lambda: sent[-1] == (58.0, 1.5), timeout=2000)
    n = len(sent)
    # The renderer's report moves the slider without echoing a request back.
    control.show_renderer_intensity(30.0, 70.0)
    assert slider.value() == 70
    assert len(sent) == n
    assert control.readout.text() == "30 → 70"
    # Keyboard steps are debounced into one request.
    slider.setFocus()
    for _ in range(3):
        qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: len(sent) == n + 1, timeout=2000)
    assert sent[-1][0] == 100.0


def test_ssq_form_scores_only_complete_answers(make_widget):
    form = make_widget(SsqForm, "before")
    assert form.answers() is None
    assert "16 item(s)" in form.score_label.text()
    answers = [0, 1, 2, 3] * 4
    form.set_answers(answers)
    assert form.answers() == answers
    expected = score_ssq(answers)
    assert form.score() == expected
    assert f"Total {expected.total:.1f}" in form.score_label.text()


def test_advice_panel_emits_and_clears(make_widget, qtbot):
    panel = make_widget(AdvicePanel)
    assert not panel.accept_button.isEnabled()
    advice = object()
    panel.show_advice(advice, "SUDS fell 50% from peak 70: consider the next rung")
    with qtbot.waitSignal(panel.accepted) as blocker:
        qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [advice]
    assert panel.advice is None
    assert panel.message.text() == "No advice."


def test_rung_picker_and_event_buttons(make_widget, qtbot):
    picker = make_widget(RungPicker)
    picker.set_rungs([RungItem("a", "Photo", 10, 10), RungItem("b", "Jar", 30, 25)])
    picker.set_current_rung(0)
    assert "expected SUDS 25" in picker.rung_list.item(1).text()
    with qtbot.waitSignal(picker.rung_requested) as blocker:
        qtbot.mouseClick(picker.next_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [1]
    events = make_widget(EventButtons)
    events.set_events([EventItem("drop", "Spider drops", "d"), EventItem("bad", "Clash", "F12")])
    assert set(events.shortcuts) == {"drop"}  # F12 is the safe place: never shadowed
    assert "reserved" in events.buttons["bad"].text()
    with qtbot.waitSignal(events.event_requested) as blocker:
        qtbot.mouseClick(events.buttons["drop"], Qt.MouseButton.LeftButton)
    assert blocker.args == ["drop"]


def test_ring_buffer_keeps_the_newest_in_order():
    ring = RingBuffer(4)
    for i in range(6):
        ring.append(float(i), float(i * 10))
    t, v = ring.view()
    assert t.tolist() == [2.0, 3.0, 4.0, 5.0]
    assert v.tolist() == [20.0, 30.0, 40.0, 50.0]
    assert ring.last() == (5.0, 50.0)


def test_timeline_redraws_on_its_timer_not_per_sample(make_widget, qtbot):
    plot = make_widget(SessionTimeline)
    start = plot.redraws
    for i in range(500):
        plot.add_intensity(i * 0.01, float(i % 100))
    plot.add_suds(2.0, 60, "patient-in-vr")
    plot.add_event(1.0, "spider drops")
    plot.add_missed_probe(3.0)
    plot.safe_place(3.5, True)
    plot.set_now(4.0)
    assert plot.redraws == start  # nothing drawn yet: messages only append
    qtbot.waitUntil(lambda: plot.redraws > start, timeout=2000)
    assert plot.redraws - start <= 2
    x, y = plot._suds_curve.getData()
    assert list(x) == [2.0] and list(y) == [60.0]
    mx, _ = plot._missed_scatter.getData()
    assert list(mx) == [3.0]
    plot.reset()
    assert plot._suds_curve in plot.getPlotItem().items  # a reset keeps the curves on the plot
    qtbot.waitUntil(
        lambda: plot._suds_curve.getData()[0] is None or not len(plot._suds_curve.getData()[0]), timeout=2000
    )


def test_ring_buffer_extend_wraps_like_append():
    one, many = RingBuffer(5), RingBuffer(5)
    for chunk in ([0.0, 1.0], [2.0, 3.0, 4.0], [5.0], [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]):
        for x in chunk:
            one.append(x, x * 2)
        many.extend(np.asarray(chunk), np.asarray(chunk) * 2)
        assert [a.tolist() for a in many.view()] == [a.tolist() for a in one.view()]
    assert many.last() == (11.0, 22.0)


def test_physiology_gets_its_own_axis_once_samples_arrive(make_widget, qtbot):
    plot = make_widget(SessionTimeline)
    assert not plot.getPlotItem().getAxis("right").isVisible()
    t = np.arange(10) * 0.25
    values = np.column_stack([70 + t, 2 + t / 10])
    plot.add_physio("chest-strap", ["hr_bpm", "eda_us"], t, values)
    plot.add_physio("chest-strap", ["hr_bpm", "eda_us"], t + 2.5, values + 1)
    qtbot.waitUntil(lambda: len(plot.physio_data("hr_bpm")[0]) == 20, timeout=2000)
    x, y = plot.physio_data("eda_us")
    assert x.tolist() == pytest.approx([*t.tolist(), *(t + 2.5).tolist()])
    assert y.tolist() == pytest.approx([*values[:, 1].tolist(), *(values[:, 1] + 1).tolist()])
    assert plot.getPlotItem().getAxis("right").isVisible()
    assert plot.physio_axis_label() == "chest-strap: hr_bpm, eda_us"
    plot.reset()
    qtbot.waitUntil(lambda: len(plot.physio_data("hr_bpm")[0]) == 0, timeout=2000)


def _jpeg(width: int, height: int) -> bytes:
    from PyQt6.QtCore import QBuffer, QIODevice

    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkCyan)
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "JPEG")
    return bytes(buf.data())


def test_mirror_shows_the_newest_frame(make_widget, qtbot):
    mirror = make_widget(PatientMirror)
    mirror.resize(320, 240)
    mirror.show()
    mirror.push_jpeg(_jpeg(64, 48))
    mirror.push_jpeg(_jpeg(160, 90))
    qtbot.waitUntil(lambda: mirror.frames_shown == 1, timeout=2000)
    image = mirror.image()
    assert image is not None and (image.width(), image.height()) == (160, 90)
    mirror.push_jpeg(b"not a jpeg")
    qtbot.waitUntil(lambda: mirror.decode_errors == 1, timeout=2000)


def test_typing_in_a_text_field_never_records_suds(make_widget, qtbot):
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.console.main_window import ConsoleWindow
    from vr_exposure.core.loading import load_library

    window = make_widget(ConsoleWindow, ConsoleController(None, load_library()))
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    window.notes.edit.setFocus()
    qtbot.keyClicks(window.notes.edit, "5 min calm")
    assert window.notes.edit.text() == "5 min calm"
    assert window.errors == []  # no SUDS key fired (it would say: no session)
    window.rungs.rung_list.setFocus()
    qtbot.keyClick(window.rungs.rung_list, "5")
    assert window.errors and "no session" in window.errors[-1]


def test_the_window_shows_the_session_directory_under_a_tilde(make_widget, monkeypatch, tmp_path):
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.console.main_window import ConsoleWindow
    from vr_exposure.core.loading import load_library

    class _Link:
        def send(self, content):
            return "msg-1"

    monkeypatch.setenv("HOME", str(tmp_path))
    controller = ConsoleController(_Link(), load_library(), sessions_root=tmp_path / "sessions")
    window = make_widget(ConsoleWindow, controller)
    session_dir = controller.start_session("P042", protocol_id="spiders-graded")
    text = window.session_panel.info.text()
    assert f"~/sessions/{session_dir.name}" in text and str(tmp_path) not in text
    controller.close_session()


def test_link_quality_label_shows_figures_and_turns_amber_with_a_warning(make_widget):
    from vr_exposure.console.widgets.link_quality import LinkQualityLabel

    label = make_widget(LinkQualityLabel)
    assert label.text() == "link: —"
    label.show_quality(
        round_trip_ms=212.4, round_trip_p95_ms=540.0, late_share=0.03, telemetry_loss=0.0, warning=None
    )
    assert label.text() == "link: round trip 212 ms (p95 540) · late 3% · telemetry loss 0.0%"
    assert "b26a00" not in label.styleSheet()
    label.show_quality(
        round_trip_ms=420.0,
        round_trip_p95_ms=900.0,
        late_share=0.0,
        telemetry_loss=0.012,
        warning="Slow link: round trip 420 ms; commands take that long to apply",
    )
    assert label.text().startswith("⚠ Slow link: round trip 420 ms")
    assert "telemetry loss 1.2%" in label.text()
    assert "b26a00" in label.styleSheet() and label.warning is not None
    label.show_quality(
        round_trip_ms=None, round_trip_p95_ms=None, late_share=0.0, telemetry_loss=0.0, warning=None
    )
    assert label.text() == "link: no round trip yet" and label.warning is None


def test_the_recenter_button_sends_recenter_request(make_widget, qtbot, tmp_path):
    from PyQt6.QtCore import Qt

    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.console.main_window import ConsoleWindow
    from vr_exposure.core.loading import load_library
    from vr_exposure.link import messages as m

    sent: list[m.Request] = []

    class _Link:
        def send(self, content):
            sent.append(content)
            return f"msg-{len(sent)}"

    controller = ConsoleController(_Link(), load_library(), sessions_root=tmp_path / "sessions")
    window = make_widget(ConsoleWindow, controller)
    qtbot.mouseClick(window.recenter_button, Qt.MouseButton.LeftButton)
    assert [type(r) for r in sent] == [m.RecenterRequest]
