"""The report as a clinical document: who and when, the course, the summary, advice and decisions, SSQ
bands, recording quality; drawn by a real headless browser (Chromium) and checked in its pixels."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zoneinfo
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from vr_exposure.research import browser
from vr_exposure.research.report import BAND_OPACITY, PAUSE_COLOUR, SAFE_COLOUR, build_report
from vr_exposure.research.synthetic import SyntheticPlan, write_synthetic_session
from vr_exposure.research.timeline import SessionTimeline, load_timeline

DAY_S = 86_400.0
UTC_START_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z: 01:00 in Berlin (CET, UTC+01:00)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@dataclass
class Course:
    root: Path
    dirs: list[Path]

    def timelines(self) -> list[SessionTimeline]:
        return [load_timeline(d) for d in self.dirs]


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    root = tmp_path_factory.mktemp("course")
    dirs = []
    for i in range(3):
        plan = SyntheticPlan(
            protocol="spiders-graded",
            pseudonym="P100",
            duration_s=150.0,
            pose_rate_hz=30.0,
            session_index=i,
            seed=21 + i,
            utc_start_s=UTC_START_S + i * 7 * DAY_S,
            start_s=1000.0 + i * 10_000.0,
            clinician="Dr. R. Example" if i == 1 else None,
            # The last session ran on a struggling machine: frames late, head pose lost.
            dropped_per_s=12 if i == 2 else 0,
            pose_every=5 if i == 2 else 1,
            time_cap_s=25.0,
            advice_decisions=("accept", "dismiss"),
        )
        dirs.append(write_synthetic_session(root, plan).session_dir)
    return Course(root, dirs)


class _Rows(HTMLParser):
    """The text of every table row, and which rows are all header cells."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self._cell: list[str] | None = None
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell, self._tag = [], tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append((self._tag, "".join(self._cell).strip()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _header_rows(html: str) -> list[list[str]]:
    parser = _Rows()
    parser.feed(html)
    return [[text for _, text in row] for row in parser.rows if row and all(tag == "th" for tag, _ in row)]


def _data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="vr-exposure-data">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1).replace("<\\/", "</"))


# --- defects ---------------------------------------------------------------------------------------


def test_no_table_has_an_empty_header_row(course: Course) -> None:
    html = build_report(course.timelines(), tz=BERLIN)
    rows = _header_rows(html)
    assert rows, "the report has tables with header rows"
    for row in rows:
        assert any(row), f"an empty header row: {row}"


def test_safe_place_and_pause_bands_are_drawn_over_the_plot_background(course: Course) -> None:
    [tl] = course.timelines()[:1]
    html = build_report([tl], tz=BERLIN)
    svg = re.search(r'<svg[^>]*id="timeline-[^"]+".*?</svg>', html, re.S)
    assert svg
    # The plot area's opaque background is the first rect drawn; the bands come after it.
    background = svg.group(0).index('fill="#fbfbfc"')
    for band in ("band safe-place", "band pause"):
        assert svg.group(0).index(f'class="{band}"') > background, band


# --- clinical content ------------------------------------------------------------------------------


def test_who_when_and_where_in_the_course(course: Course, tmp_path: Path) -> None:
    out = tmp_path / "one.html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "report",
            str(course.dirs[1]),
            "-o",
            str(out),
            "--timezone",
            "Europe/Berlin",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    [sd] = _data(html)["sessions"]
    assert sd["clinician"] == "Dr. R. Example"  # as the console recorded it
    assert sd["course_session"] == {"n": 2, "of": 3}
    assert sd["protocol_title"] == "Graded exposure to spiders"
    # Two weeks after 2026-01-01T00:00Z is a winter date in Berlin: CET, UTC+01:00.
    assert re.fullmatch(r"2026-01-08 01:\d\d CET \(UTC\+01:00\)", sd["start_local"]), sd["start_local"]
    assert "Session 2 of 3" in html and "Graded exposure to spiders" in html
    # The summary compares the session with the one before it (not in the report, found in the root).
    assert any("Against the last session" in line for line in sd["summary"]), sd["summary"]
    # --clinician names one where the console did not.
    html0 = build_report([load_timeline(course.dirs[0])], clinician="Dr. Q", tz=BERLIN)
    assert _data(html0)["sessions"][0]["clinician"] == "Dr. Q"


def test_a_bad_time_zone_is_a_clear_error(course: Course, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "report",
            str(course.dirs[0]),
            "-o",
            str(tmp_path / "x.html"),
        ]
        + ["--timezone", "Mars/Olympus"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "--timezone 'Mars/Olympus': not a known time zone" in result.stderr
    assert "Traceback" not in result.stderr


def test_summary_advice_ssq_and_recording_quality(course: Course) -> None:
    timelines = course.timelines()
    html = build_report(timelines, tz=BERLIN)
    data = _data(html)
    first, _, last = data["sessions"]
    summary = " ".join(first["summary"])
    assert "Session 1 of 3 for P100, Graded exposure to spiders" in summary
    assert re.search(r"SUDS peaked at \d+ and ended at \d+", summary)
    assert "The safe place was used 1 time (10 s; asked for by the patient)" in summary
    assert "paused 1 time (10 s)" in summary
    # Each advice the engine gave is listed with what the therapist did with it.
    journal = [json.loads(x) for x in (course.dirs[0] / "console.jsonl").read_text().splitlines()]
    given = [r["content"]["advice"]["advice_id"] for r in journal if r["msg_type"] == "advice_given"]
    assert [a["advice_id"] for a in first["advice"]] == given and given
    decided = [a["decision"] for a in first["advice"]]
    assert decided[:2] == ["accepted", "dismissed"] and set(decided) <= {"accepted", "dismissed", "expired"}
    assert first["advice"][0]["reason"].endswith("consider the next rung (rung 2: Photograph on the desk)")
    assert first["advice"][1]["note"] == "the patient asked to stay"
    assert "Advice and decisions" in html and "therapist's decision" in html
    # SSQ: before 0 (no symptoms); after items 1,3,4,7,15 = 1 -> N 3, O 3, D 0 -> total 22.44: "bad".
    reading = first["ssq_reading"]
    assert reading["before"] == {"total": 0.0, "band": "no symptoms"}
    assert reading["after"]["band"] == "bad" and abs(reading["after"]["total"] - 22.44) < 1e-9
    assert "Stanney, K. M., Kennedy, R. S., &amp; Drexler, J. M. (1997)" in html
    assert "Kennedy, R. S., Lane, N. E., Berbaum, K. S., &amp; Lilienthal, M. G. (1993)" in html
    # Recording quality: the good sessions have no warning, the last one says what is wrong.
    assert first["recording"]["limits_data"] is False
    q = last["recording"]
    assert q["limits_data"] is True
    assert round(q["frame_rate_hz"]) == 30 and round(q["pose_rate_hz"]) == 6
    assert any(
        "Head tracking was recorded at 6 Hz while frames were drawn at 30 Hz" in w for w in q["warnings"]
    )
    assert any("frames (40%) were late" in w for w in q["warnings"])
    assert "The recording limits what this session" in html
    # The course: an overview row per session and the trend.
    assert "Course of treatment (3 sessions)" in html and "Trend between sessions (3 sessions)" in html


def test_the_metrics_table_says_which_ratings_it_leaves_out() -> None:
    import msgspec

    from vr_exposure.core.metrics import session_metrics
    from vr_exposure.core.suds import SudsRating
    from vr_exposure.research.report import _metrics_html

    ratings = [
        SudsRating.create(v, scale_max=100, source="therapist", t_mono_ns=t, during_exposure=d)
        for v, t, d in ((40, 1, True), (30, 2, True), (20, 3, False))
    ]
    metrics = msgspec.to_builtins(session_metrics(ratings, None, start_mono_ns=0))
    assert metrics["session"]["n_ratings"] == 2
    html = _metrics_html({"metrics": metrics, "ratings": 3, "ratings_outside_exposure": 1})
    assert "1 of the 3 ratings was given outside the exposure" in html


# --- in a real browser -----------------------------------------------------------------------------

chromium = pytest.mark.skipif(
    browser.find_chromium() is None,
    reason="no Chromium to draw the report (Debian: apt-get install chromium)",
)


def _blend(
    colour: str, opacity: float, under: tuple[int, int, int] = (0xFB, 0xFB, 0xFC)
) -> tuple[float, ...]:
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(opacity * c + (1 - opacity) * u for c, u in zip(rgb, under, strict=True))


def _close(pixel: tuple[int, ...], want: tuple[float, ...], tol: float = 10.0) -> bool:
    return all(abs(p - w) <= tol for p, w in zip(pixel[:3], want, strict=True))


@chromium
def test_the_drawn_report_shows_bands_summary_and_decisions(course: Course, tmp_path: Path) -> None:
    tl = load_timeline(course.dirs[0])
    page = tmp_path / "report.html"
    page.write_text(build_report([tl], tz=BERLIN), encoding="utf-8")
    width = 1040
    drawn = browser.layout(page, width=width)
    # What the browser shows, not what the HTML holds: every header row names its columns.
    assert drawn["header_rows"] and all(any(cell for cell in row) for row in drawn["header_rows"])
    text = drawn["text"]
    assert "Summary" in text and "Session 1 of 3 for P100" in text
    assert "Advice and decisions" in text and "therapist's decision" in text
    box = drawn["elements"][f"timeline-{tl.session_id}"]
    png = browser.screenshot(page, tmp_path / "report.png", width=width, height=int(drawn["page"]["height"]))
    image = Image.open(png).convert("RGB")
    svg = re.search(rf'id="timeline-{re.escape(tl.session_id)}"[^>]*data-plot="([^"]+)"', page.read_text())
    assert svg
    left, top, pw, ph, x0, x1, y0, y1 = (float(v) for v in svg.group(1).split())
    scale = box["width"] / 940.0

    def page_xy(t_s: float, value: float) -> tuple[int, int]:
        x = left + (t_s / 60.0 - x0) / (x1 - x0) * pw
        y = top + (1 - (value - y0) / (y1 - y0)) * ph
        return round(box["x"] + scale * x), round(box["y"] + scale * y)

    sd = _data(page.read_text())["sessions"][0]
    background = (0xFB, 0xFB, 0xFC)
    for kind, colour in (("safe_place", SAFE_COLOUR), ("pause", PAUSE_COLOUR)):
        episode = next(e for e in sd["episodes"] if e["kind"] == kind)  # (the last: the session's end)
        a, b = episode["start_t_s"], episode["end_t_s"]
        want = _blend(colour, BAND_OPACITY)
        # Inside the band, at its times: its colour (at SUDS 90, clear of grid lines and points) ...
        inside = [image.getpixel(page_xy(a + (b - a) * f, 90.0)) for f in (0.2, 0.35, 0.5, 0.65, 0.8)]
        assert sum(_close(p, want) for p in inside) >= 4, (kind, inside, want)
        # ... and the plain background just before and after it.
        span = b - a
        for t in (a - 0.3 * span, b + 0.3 * span):
            assert _close(image.getpixel(page_xy(t, 90.0)), background, tol=6), (kind, t)


@chromium
def test_the_course_prints_on_a4_or_letter_pages(course: Course, tmp_path: Path) -> None:
    page = tmp_path / "course.html"
    sizes = {}
    for paper in ("a4", "letter"):
        page.write_text(build_report(course.timelines(), tz=BERLIN, paper=paper), encoding="utf-8")
        pdf = browser.print_pdf(page, tmp_path / f"course-{paper}.pdf").read_bytes()
        boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
        pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
        assert pages >= 4, pages  # the course overview, then each session on pages of its own
        sizes[paper] = {(round(float(w)), round(float(h))) for w, h in boxes}
    assert sizes["a4"] == {(595, 842)}
    assert sizes["letter"] == {(612, 792)}


@chromium
def test_report_prints_to_pdf_from_the_command_line(course: Course, tmp_path: Path) -> None:
    pdf = tmp_path / "course.pdf"
    result = subprocess.run(
        [sys.executable, "-m", "vr_exposure.cli", "report", *map(str, course.dirs)]
        + ["-o", str(tmp_path / "course.html"), "--paper", "letter", "--pdf", str(pdf)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and re.search(rb"/MediaBox\s*\[\s*0 0 612 792\s*\]", data)
