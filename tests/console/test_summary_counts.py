"""The end-of-session summary counts every rating once and says which ones its table leaves out."""

from __future__ import annotations

import re
from pathlib import Path

from vr_exposure.console.controller import ConsoleController
from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library
from vr_exposure.link import messages as m

from .test_controller import RecordingLink


def test_a_rating_in_the_safe_place_is_counted_and_the_table_says_it_leaves_it_out(tmp_path: Path) -> None:
    clock = FakeClock()
    c = ConsoleController(RecordingLink(), load_library(), clock=clock, sessions_root=tmp_path)
    c.start_session("P042", protocol_id="spiders-graded")
    c.record_suds(20)  # before the exposure begins
    c.begin_exposure()
    for value in (40, 45):
        clock.advance(30)
        c.record_suds(value)
    c.on_fact(m.SafePlaceEntered(fade_s=2.0, source="patient"))
    clock.advance(10)
    c.record_suds(30)  # in the safe place
    summary = c.end_session()
    table = summary["table"]
    [all_row] = [line for line in table.splitlines() if line.strip().startswith("all")]
    n_table = int(all_row.split()[3])
    assert (summary["ratings"], n_table) == (4, 2)
    assert summary["ratings_outside_exposure"] == 2
    assert re.search(r"2 of the 4 ratings were given outside the exposure .* not in this table", table)
