"""Prolonged-exposure protocols and the patient's hotspot files: validation with file, line and field;
the edits; the session's steps; probes every 300 s on an injected clock; metrics per hotspot."""

from __future__ import annotations

from pathlib import Path

import pytest

from vr_exposure.core import hotspots as hs
from vr_exposure.core.clock import FakeClock
from vr_exposure.core.engine import SessionEngine
from vr_exposure.core.ladder import with_ladder
from vr_exposure.core.loading import build_library, load_library
from vr_exposure.core.metrics import session_metrics
from vr_exposure.errors import SpecError
from vr_exposure.journal.hotspots import hotspots_path, read_hotspots, save_hotspots

from .conftest import write_file


@pytest.fixture(scope="module")
def library():
    return load_library()


@pytest.fixture(scope="module")
def scene(library):
    return library.scene("road-accident")


@pytest.fixture(scope="module")
def protocol(library):
    return library.protocol("road-accident-prolonged")


def _check_protocol(tmp_path: Path, library, text: str) -> list[str]:
    path = write_file(tmp_path / "protocols" / "pe-test.yaml", text)
    lib = build_library([(path, "protocol")], reference_scenes=library.scenes)
    return [f"{p.line}: {p.path}: {p.message}" for p in lib.problems]


def test_the_shipped_protocol_is_prolonged_exposure_with_12_probes(protocol):
    assert protocol.kind == "prolonged-exposure" and protocol.ladder == ()
    assert protocol.start is not None and protocol.start.preset == "passenger-village"
    assert protocol.suds.probe_interval_s == 300
    assert protocol.session.length_s / protocol.suds.probe_interval_s == 12


def test_graded_protocols_stay_graded(library):
    assert library.protocol("road-accident-graded").kind == "graded"


def test_a_prolonged_protocol_names_its_mistakes(tmp_path, library):
    problems = _check_protocol(
        tmp_path,
        library,
        "id: pe-test\ntitle: T\nscene: road-accident\nkind: prolonged-exposure\n"
        "start:\n  preset: parkd\n  intesity: 5\n"
        "ladder:\n  - {preset: parked, expected_suds: 10}\n"
        "rules:\n  up: {time_cap_s: 60}\n",
    )
    joined = "\n".join(problems)
    assert '6: start.preset: scene "road-accident" has no preset "parkd"; did you mean "parked"?' in joined
    assert '7: start.intesity: unknown key; did you mean "intensity"?' in joined
    assert "8: ladder: a prolonged-exposure protocol has no ladder" in joined
    assert "10: rules: a prolonged-exposure protocol has no rules" in joined


def test_a_prolonged_protocol_needs_a_start_and_warns_outside_9_to_12_probes(tmp_path, library):
    problems = _check_protocol(
        tmp_path,
        library,
        "id: pe-test\ntitle: T\nscene: road-accident\nkind: prolonged-exposure\nsession: {length_s: 1200}\n",
    )
    assert any('missing required key "start"' in p for p in problems)
    assert any(
        "5: session.length_s: 4 SUDS probes in 20 minutes; prolonged exposure usually has 9-12" in p
        for p in problems
    )


def test_an_unknown_kind_and_a_graded_start_are_errors(tmp_path, library):
    problems = _check_protocol(
        tmp_path,
        library,
        "id: pe-test\ntitle: T\nscene: road-accident\nkind: prolonged\n"
        "ladder:\n  - {preset: parked, expected_suds: 1}\n",
    )
    assert any(p.startswith('4: kind: expected one of "graded", "prolonged-exposure"') for p in problems)
    problems = _check_protocol(
        tmp_path,
        library,
        "id: pe-test\ntitle: T\nscene: road-accident\nstart: {preset: parked}\n"
        "ladder:\n  - {preset: parked, expected_suds: 1}\n",
    )
    assert any(
        p.startswith("4: start: only a prolonged-exposure protocol has a start state") for p in problems
    )


HOTSPOTS = """\
protocol: road-accident-prolonged
hotspots:
  - name: Joining the motorway at dusk
    preset: sunset
    triggers:
      - {event: truck-overtakes, strength: 0.6}
  - name: The car in front brakes
    preset: nigth
    intensity: 130
    triggers:
      - {event: hard-brakng}
      - {event: collision, strength: 1.5}
      - {event: collision}
  - name: Joining the motorway at dusk
    preset: rain
    colour: red
"""


def test_a_hotspot_file_names_every_mistake_with_its_line(tmp_path, scene):
    path = write_file(tmp_path / "h.yaml", HOTSPOTS)
    problems = [f"{p.line}: {p.path}: {p.message}" for p in hs.check_hotspot_file(path, scene)]
    assert (
        '8: hotspots[1].preset: scene "road-accident" has no preset "nigth"; did you mean "night"?'
        in problems
    )
    assert "9: hotspots[1].intensity: 130 is outside 0-100" in problems
    assert (
        '11: hotspots[1].triggers[0].event: scene "road-accident" has no event "hard-brakng"; '
        'did you mean "hard-braking"?'
    ) in problems
    assert "12: hotspots[1].triggers[1].strength: 1.5 is outside 0-1" in problems
    assert '13: hotspots[1].triggers[2].event: "collision" is also triggers[1] of this hotspot' in problems
    assert '16: hotspots[2].colour: unknown key; did you mean "note"?' in problems or any(
        p.startswith("16: hotspots[2].colour: unknown key") for p in problems
    )
    assert '14: hotspots[2].name: "Joining the motorway at dusk" is also the name of hotspots[0]' in problems
    with pytest.raises(SpecError):
        hs.load_hotspots(path, scene)


def test_a_hotspot_file_for_another_protocol_or_broken_yaml_is_refused(tmp_path, scene):
    path = write_file(tmp_path / "h.yaml", "protocol: road-accident-graded\nhotspots: []\n")
    (p,) = hs.check_hotspot_file(path, scene, protocol_id="road-accident-prolonged")
    assert (p.line, p.path) == (1, "protocol") and 'not "road-accident-prolonged"' in p.message
    path = write_file(tmp_path / "h.yaml", "protocol: x\nhotspots:\n  - name: [\n")
    (p,) = hs.check_hotspot_file(path, scene)
    assert p.message.startswith("YAML syntax error")


def test_edits_are_checked_saved_and_read_back(tmp_path, scene):
    items = hs.add_hotspot((), "Dusk on the motorway", preset="sunset", scene=scene)
    items = hs.add_hotspot(items, "The brakes", preset="night", intensity=55, scene=scene)
    items = hs.add_hotspot(items, "The crash", preset="rain", after=-1, scene=scene)
    assert [h.name for h in items] == ["The crash", "Dusk on the motorway", "The brakes"]
    items = hs.move_hotspot(items, 0, 2, scene)
    items = hs.rename_hotspot(items, 2, "  The collision ", scene)
    items = hs.set_triggers(items, 2, [("collision", 0.8), ("hard-braking", 1.0)], scene)
    items = hs.set_state(items, 1, preset="heavy-traffic", intensity=None, scene=scene)
    assert [h.name for h in items] == ["Dusk on the motorway", "The brakes", "The collision"]
    with pytest.raises(
        hs.HotspotError, match=r"hotspots\[1\].name: \"the collision\" is also the name of hotspots\[2\]"
    ):
        hs.rename_hotspot(items, 1, "the collision", scene)
    with pytest.raises(
        hs.HotspotError, match=r'triggers\[0\].event: scene "road-accident" has no event "sirens"'
    ):
        hs.set_triggers(items, 0, [("sirens", 1.0)], scene)
    with pytest.raises(hs.HotspotError, match=r"hotspots\[0\].name: a hotspot needs a name"):
        hs.rename_hotspot(items, 0, "   ", scene)
    items = hs.delete_hotspot(items, 0, scene)

    root = tmp_path / "sessions"
    path = save_hotspots(root, "P042", hs.HotspotFile(protocol="road-accident-prolonged", hotspots=items))
    assert path == hotspots_path(root, "P042", "road-accident-prolonged")
    assert path == root / "patients" / "P042" / "hotspots" / "road-accident-prolonged.yaml"
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    back = read_hotspots(root, "P042", "road-accident-prolonged", scene)
    assert back is not None and back.hotspots == items
    assert back.hotspots[1].triggers == (
        hs.Trigger(event="collision", strength=0.8),
        hs.Trigger(event="hard-braking"),
    )
    assert read_hotspots(root, "P043", "road-accident-prolonged", scene) is None
    with pytest.raises(Exception, match="not a pseudonym"):
        hotspots_path(root, "Jane Doe", "road-accident-prolonged")


def test_probes_come_every_300_s_across_the_hour_and_no_ladder_advice(protocol, scene):
    items = hs.add_hotspot((), "Dusk", preset="sunset", scene=scene)
    items = hs.add_hotspot(items, "Night", preset="night", intensity=55, scene=scene)
    steps = hs.session_ladder(protocol, items)
    assert [(r.preset, r.intensity, r.title) for r in steps] == [
        ("passenger-village", None, "Passenger, village (before the account begins)"),
        ("sunset", None, "Dusk"),
        ("night", 55, "Night"),
    ]
    clock = FakeClock()
    engine = SessionEngine(with_ladder(protocol, steps), scene, clock)
    engine.set_rung(0)
    engine.start()
    due: list[float] = []
    advice = 0
    for second in range(1, 3601):
        clock.advance(1.0)
        events = engine.tick()
        if second == 900:
            events += engine.set_rung(1)
        if second == 2400:
            events += engine.set_rung(2)
        for ev in events:
            if ev.msg_type == "probe_due":
                due.append(ev.due_running_s)
                engine.record_rating(80 if len(due) % 2 else 20)  # a 75% fall: graded advice would fire
            advice += ev.msg_type == "advice_given"
    assert due == [300.0 * i for i in range(1, 13)]
    assert advice == 0 and engine.pending_advice == ()
    assert engine.intensity == 55


def test_metrics_per_hotspot_equal_a_hand_computation(protocol, scene):
    from vr_exposure.core.suds import SudsRating

    items = hs.add_hotspot((), "Dusk", preset="sunset", scene=scene)
    items = hs.add_hotspot(items, "Night", preset="night", scene=scene)
    steps = hs.session_ladder(protocol, items)
    ratings = [
        SudsRating.create(v, scale_max=100, source="therapist", t_mono_ns=t * 10**9, rung=r)
        for t, v, r in [(1, 20, 0), (2, 30, 0), (3, 70, 1), (4, 50, 1), (5, 40, 1), (6, 90, 2)]
    ]
    metrics = session_metrics(
        ratings, with_ladder(protocol, steps), time_on_rung_s={0: 60.0, 1: 300.0, 2: 45.0}
    )
    rows = hs.hotspot_metrics(metrics, steps)
    assert [(r.name, r.n_ratings, r.peak, r.end, r.time_s) for r in rows] == [
        ("Passenger, village (before the account begins)", 2, 30, 30, 60.0),
        ("Dusk", 3, 70, 40, 300.0),
        ("Night", 1, 90, 90, 45.0),
    ]
    table = hs.hotspot_table(rows)
    assert "Dusk" in table and "5:00" in table


def _pe_doc_blocks() -> list[str]:
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol-format.md").read_text(encoding="utf-8")
    section = text[text.index("## Prolonged exposure") :]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def test_the_documented_prolonged_protocol_and_hotspot_file_validate(tmp_path, library, scene):
    from vr_exposure.console.scripted import ROAD_ACCIDENT_HOTSPOTS

    protocol_text, hotspot_text = _pe_doc_blocks()
    assert (
        _check_protocol(
            tmp_path, library, protocol_text.replace("id: road-accident-prolonged", "id: pe-test")
        )
        == []
    )
    path = write_file(tmp_path / "road-accident-prolonged.yaml", hotspot_text)
    loaded = hs.load_hotspots(path, scene, protocol_id="road-accident-prolonged")
    # The demo's patient has the documented hotspots.
    assert [
        (h.name, h.preset, h.intensity, [(t.event, t.strength) for t in h.triggers]) for h in loaded.hotspots
    ] == [(n, p, i, list(t)) for n, p, i, t in ROAD_ACCIDENT_HOTSPOTS]
    # What the console writes reads back the same.
    again = write_file(tmp_path / "again.yaml", hs.dump_hotspots(loaded, pseudonym="P042"))
    assert hs.load_hotspots(again, scene) == loaded


def test_validate_points_a_hotspot_file_to_its_own_check(tmp_path):
    from vr_exposure.core.loading import check_file

    path = write_file(
        tmp_path / "road-accident-prolonged.yaml", "protocol: road-accident-prolonged\nhotspots: []\n"
    )
    (problem,) = check_file(path)
    assert problem.line == 1 and "a patient's hotspot file" in problem.message
    assert "vr-exposure hotspots check" in problem.message
