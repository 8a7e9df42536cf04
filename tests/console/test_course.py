"""A course of treatment at the console: a returning patient opens where the last session ended, on
the patient's own ladder (edited, journaled, checked like content); the protocol file is unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vr_exposure.console.controller import ConsoleController
from vr_exposure.console.course import PatientCourse
from vr_exposure.core.clock import FakeClock
from vr_exposure.core.ladder import LadderError
from vr_exposure.core.loading import load_library
from vr_exposure.link import messages as m

from .test_controller import RecordingLink

PROTOCOL = "spiders-graded"


def _records(session_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (session_dir / "console.jsonl").read_text().splitlines() if x.strip()]


def _session(root: Path, clock: FakeClock, steps: list[Any]) -> tuple[PatientCourse, Path]:
    link = RecordingLink()
    c = ConsoleController(link, load_library(), clock=clock, sessions_root=root)
    course = PatientCourse.start(c, "P900", protocol_id=PROTOCOL)
    c.begin_exposure()
    link.answer(c)
    for step in steps:
        clock.advance(30)
        step(c, link, course)
        link.answer(c)
    clock.advance(30)
    c.record_suds(25)
    c.end_session()
    session_dir = c.close_session()
    assert session_dir is not None
    return course, session_dir


def _to(rung: int) -> Any:
    return lambda c, link, course: c.apply_rung(rung)


def test_three_sessions_resume_where_the_last_ended_with_the_patients_own_rung(tmp_path: Path) -> None:
    library = load_library()
    protocol = library.protocol(PROTOCOL)
    clock = FakeClock()
    # Session 1: a new patient begins on rung 1 and climbs to rung 3.
    first, dir1 = _session(tmp_path, clock, [_to(1), _to(2)])
    assert first.previous is None and first.start_rung == 0
    clock.advance(7 * 86_400)

    # Session 2: opens on rung 3; the therapist raises the intensity a little and makes that a rung
    # of its own (expected SUDS 28) after rung 3, then climbs to rung 4.
    added: list[Any] = []

    def add(c: ConsoleController, link: RecordingLink, course: PatientCourse) -> None:
        c.set_intensity(c.engine.intensity + 4)
        link.answer(c)
        added.append(course.add_from_current("Jar far, a little closer", 28))

    second, dir2 = _session(tmp_path, clock, [add, _to(3)])
    assert second.start_rung == 2 and second.previous is not None and second.previous.rung == 2
    [opened] = [r for r in _records(dir2) if r["msg_type"] == "course_resumed"]
    assert opened["content"]["previous_session"] == dir1.name and opened["content"]["rung"] == 2
    [changed] = [r for r in _records(dir2) if r["msg_type"] == "patient_ladder_changed"]
    assert changed["content"]["edit"] == "add" and changed["content"]["after"] == 2
    custom = library.scene(protocol.scene).presets[protocol.ladder[2].preset].intensity + 4
    assert changed["content"]["intensity"] == custom
    clock.advance(7 * 86_400)

    # Session 3: opens on rung 4 of the protocol, which is rung 5 of the patient's ladder now that the
    # new rung sits before it; the patient's rung is on the ladder, and selecting it shows its intensity.
    link = RecordingLink()
    c = ConsoleController(link, library, clock=clock, sessions_root=tmp_path)
    third = PatientCourse.start(c, "P900", protocol_id=PROTOCOL)
    assert third.previous is not None and third.previous.session_id == dir2.name
    assert [r.title for r in third.ran_on][2:5] == [
        protocol.ladder[2].title,
        "Jar far, a little closer",
        protocol.ladder[3].title,
    ]
    assert third.start_rung == 4 and c.engine.rung == 4
    c.begin_exposure()
    (load,) = link.of(m.LoadSceneRequest)
    assert load.preset == protocol.ladder[3].preset
    link.answer(c)
    clock.advance(30)
    c.apply_rung(3)
    (preset,) = link.of(m.ApplyPresetRequest)
    assert preset.preset == protocol.ladder[2].preset and not link.of(m.SetIntensityRequest)
    link.answer(c)
    # Once the renderer applied the preset: the rung's own intensity.
    (intensity,) = link.of(m.SetIntensityRequest)
    assert intensity.intensity == custom
    link.answer(c)
    assert c.engine.rung == 3 and c.engine.intensity == custom
    # The protocol in the library (the file's) is untouched.
    assert load_library().protocol(PROTOCOL).ladder == protocol.ladder == library.protocol(PROTOCOL).ladder
    c.end_session()
    c.close_session()


def test_ladder_edits_are_checked_and_name_the_field(tmp_path: Path) -> None:
    clock = FakeClock()
    c = ConsoleController(RecordingLink(), load_library(), clock=clock, sessions_root=tmp_path)
    course = PatientCourse.start(c, "P901", protocol_id=PROTOCOL)
    with pytest.raises(LadderError, match=r"ladder\[1\]\.expected_suds: 120 is outside 0-100"):
        course.add_from_current("Too much", 120, after=0)
    with pytest.raises(LadderError, match="add: title: a new rung needs a title"):
        course.add_from_current("  ", 20)
    with pytest.raises(LadderError, match="skip: rung: 40 is not a rung of this ladder"):
        course.skip(40)
    before = course.ladder
    course.move(0, 2)
    assert course.ladder[2] == before[0] and course.ladder[0] == before[1]
    course.skip(0)
    assert len(course.ladder) == len(before) - 1
    edits = [
        r["content"]["edit"] for r in _records(c.session_dir) if r["msg_type"] == "patient_ladder_changed"
    ]
    assert edits == ["move", "skip"]  # refused edits are not journaled
    c.end_session()
    c.close_session()


@pytest.mark.gui
def test_the_window_opens_a_returning_patient_on_the_rung_the_last_session_ended(
    make_widget: Any, qtbot: Any, tmp_path: Path
) -> None:
    from PyQt6.QtCore import Qt

    from vr_exposure.console.main_window import ConsoleWindow

    clock = FakeClock()
    _session(tmp_path, clock, [_to(1), _to(2)])  # the last session ended on rung 3
    clock.advance(86_400)
    link = RecordingLink()
    controller = ConsoleController(link, load_library(), clock=clock, sessions_root=tmp_path)
    window = make_widget(ConsoleWindow, controller)
    window.show()
    window.session_panel.pseudonym.setText("P900")
    window.select_protocol(PROTOCOL)
    qtbot.mouseClick(window.session_panel.start_button, Qt.MouseButton.LeftButton)
    assert controller.engine is not None and controller.engine.rung == 2
    assert window.rungs.current_rung == 2
    info = window.session_panel.info.text()
    assert "returning patient: session 2; resumes on rung 3 (Spider in a jar, far)" in info, info
    assert (
        "that rung: expected SUDS 25, last SUDS 25" in info and "course so far (peak/end SUDS): 25/25" in info
    )
    qtbot.mouseClick(window.session_panel.begin_button, Qt.MouseButton.LeftButton)
    (load,) = link.of(m.LoadSceneRequest)
    assert load.preset == controller.protocol.ladder[2].preset
    controller.close_session()
    controller.listeners.clear()
    window.close()
    del window


def test_a_patient_ladder_the_scene_no_longer_fits_falls_back_to_the_protocols(tmp_path: Path) -> None:
    clock = FakeClock()
    course, session_dir = _session(tmp_path, clock, [_to(1)])
    # The journal holds a ladder naming a preset the scene does not have (content changed since).
    c = ConsoleController(RecordingLink(), load_library(), clock=clock, sessions_root=tmp_path)
    c.start_session("P900", protocol_id=PROTOCOL)
    bad = [{"preset": "no-such-preset", "expected_suds": 10.0, "title": "Gone", "intensity": None}]
    c.journal_clinical("patient_ladder", {"ladder": bad, "custom": True})
    c.prepare_rung(0)
    c.end_session()
    c.close_session()
    clock.advance(60)
    c2 = ConsoleController(RecordingLink(), load_library(), clock=clock, sessions_root=tmp_path)
    again = PatientCourse.start(c2, "P900", protocol_id=PROTOCOL)
    assert again.problem is not None and "no-such-preset" in again.problem
    assert again.ran_on == load_library().protocol(PROTOCOL).ladder
    assert "patient ladder not used" in again.summary_text()
    [record] = [r for r in _records(c2.session_dir) if r["msg_type"] == "patient_ladder"]
    assert "no-such-preset" in record["content"]["problem"]
    c2.end_session()
    c2.close_session()


@pytest.mark.gui
def test_the_ladder_dialog_adds_moves_and_skips_rungs(make_widget: Any, qtbot: Any, tmp_path: Path) -> None:
    from PyQt6.QtCore import Qt

    from vr_exposure.console.main_window import ConsoleWindow

    clock = FakeClock()
    link = RecordingLink()
    controller = ConsoleController(link, load_library(), clock=clock, sessions_root=tmp_path)
    window = make_widget(ConsoleWindow, controller)
    window.show()
    assert not window.rungs.ladder_button.isEnabled()
    window.session_panel.pseudonym.setText("P902")
    window.select_protocol(PROTOCOL)
    qtbot.mouseClick(window.session_panel.start_button, Qt.MouseButton.LeftButton)
    assert window.rungs.ladder_button.isEnabled()
    qtbot.mouseClick(window.session_panel.begin_button, Qt.MouseButton.LeftButton)
    link.answer(controller)
    dialog = window.open_patient_ladder()
    size = dialog.rung_list.count()
    # Adding without a title is refused, in words, in the dialog.
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert "a new rung needs a title" in dialog.message.text() and dialog.rung_list.count() == size
    dialog.title.setText("Photo, larger")
    dialog.expected.setValue(12)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert dialog.rung_list.count() == size + 1
    assert dialog.rung_list.item(1).text() == "2. Photo, larger: expected SUDS 12 (made for this patient)"
    dialog.rung_list.setCurrentRow(1)
    qtbot.mouseClick(dialog.down_button, Qt.MouseButton.LeftButton)
    assert dialog.rung_list.item(2).text().startswith("3. Photo, larger")
    dialog.rung_list.setCurrentRow(0)
    qtbot.mouseClick(dialog.skip_button, Qt.MouseButton.LeftButton)
    assert dialog.rung_list.count() == size
    edits = [
        r["content"]["edit"]
        for r in _records(controller.session_dir)
        if r["msg_type"] == "patient_ladder_changed"
    ]
    assert edits == ["add", "move", "skip"]
    dialog.close()
    controller.close_session()
    controller.listeners.clear()
    window.close()
    del window, dialog
