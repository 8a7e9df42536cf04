"""``vr-exposure demo --headless``: a whole simulated session end to end, checked through its journals."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vr_exposure.journal import read_session, verify_session


def test_demo_help_documents_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    from vr_exposure.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["demo", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for option, words in (
        ("--minutes N", "wall-clock length"),
        ("--headless", "no windows"),
        ("--lsl", "Lab Streaming Layer"),
        ("--physio STREAM_NAME", "journaled and shown on the timeline"),
    ):
        assert option in out and words in out, option


@pytest.mark.slow
@pytest.mark.renderer
def test_headless_demo_leaves_a_complete_sealed_session(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    env = {
        k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "VR_EXPOSURE_VIA_RUN")
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "demo",
            "--minutes",
            "0.5",
            "--headless",
            "--sessions",
            str(sessions),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    match = re.search(r"^session directory: (.+)$", out, re.MULTILINE)
    assert match, out
    session_dir = Path(match.group(1))
    assert session_dir.parent == sessions and session_dir.is_dir()
    # Progress was printed, and the SUDS table closes the output.
    assert "SUDS" in out and "therapist: safe place" in out
    assert re.search(r"^ *rung +title +expected +n +peak +end +mean +reduction$", out, re.MULTILINE), out
    assert re.search(r"^ *all +whole session", out, re.MULTILINE), out
    # It ends with what to try next, and the first of those commands works as printed.
    tail = out[out.index("next, with this session:") :]
    report = re.search(r"^  vr-exposure (report \S+) -o report.html", tail, re.MULTILINE)
    assert report and "replay" in tail and "export" in tail, tail
    written = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "vr_exposure.cli", *map(os.path.expanduser, report.group(1).split())]
        + ["-o", str(written)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0 and written.stat().st_size > 0, done.stderr

    log = read_session(session_dir)
    assert log.manifest is not None and log.manifest.sealed
    assert verify_session(session_dir).ok
    by_process: dict[str, set[str]] = {}
    for record in log.records:
        by_process.setdefault(record.process, set()).add(record.msg_type)
    console, renderer = by_process["console"], by_process["renderer"]
    # Ratings, given by the simulated patient in the headset and recorded by both sides.
    ratings = [r for r in log.by_type("suds_recorded") if r.process == "console"]
    assert len(ratings) >= 5
    assert {r.content["rating"]["source"] for r in ratings} == {"patient-in-vr"}
    assert "rating_recorded" in renderer
    # Intensity changes and rungs climbed through accepted advice.
    assert "intensity_set" in console and "intensity_changed" in renderer
    rungs = [r.content["rung"] for r in log.by_type("rung_changed")]
    assert rungs[0] == 0 and max(rungs) >= 1
    assert log.by_type("advice_accepted")
    # One safe-place episode, entered and left, on both sides.
    for side in (console, renderer):
        assert {"safe_place_entered", "safe_place_left"} <= side
    # SSQ before and after, the end and the summary.
    phases = {r.content["phase"] for r in log.by_type("ssq")}
    assert phases == {"before", "after"}
    assert log.by_type("session_ended") and log.by_type("session_summary")


class _FakeRenderer:
    """Just enough renderer for the scripted session, on the controller's fake clock: requests come
    back as the facts a renderer publishes and then their ok replies, and the patient's key presses as
    ``rating_recorded``. The first ``refuse_presets`` preset requests are refused, as a renderer does
    during a scene change's fade through black."""

    FADING = "a scene change is fading through black; try applying a preset again in a moment"

    def __init__(self, library, *, refuse_presets: int = 0) -> None:
        self.library = library
        self.controller = None
        self.prompt: str | None = None
        self.facts: list = []
        self.replies: list = []
        self.refuse_presets = refuse_presets
        self.refused: list[str] = []
        self.sent = 0

    def send(self, content) -> str:
        from vr_exposure.link import messages as m

        self.sent += 1
        msg_id = f"msg-{self.sent}"
        if isinstance(content, m.ApplyPresetRequest) and len(self.refused) < self.refuse_presets:
            self.refused.append(msg_id)
            reply = m.ApplyPresetReply(status="error", ename="InvalidState", evalue=self.FADING)
            self.replies.append((reply, msg_id))
            return msg_id
        self.replies.append((content.reply_type(), msg_id))
        scene = self.library.scene("spiders")
        if isinstance(content, m.LoadSceneRequest):
            self.facts.append(
                m.SceneLoaded(scene=content.scene, preset=content.preset, intensity=content.intensity)
            )
        elif isinstance(content, m.ApplyPresetRequest):
            intensity = scene.presets[content.preset].intensity
            self.facts.append(
                m.PresetApplied(preset=content.preset, intensity=intensity, ramp_s=content.ramp_s)
            )
        elif isinstance(content, m.SetIntensityRequest):
            self.facts.append(m.IntensityChanged(intensity=content.intensity, target=content.intensity))
        elif isinstance(content, m.SudsPromptRequest):
            self.prompt = content.probe_id
            self.facts.append(m.SudsPromptShown(probe_id=content.probe_id))
        elif isinstance(content, m.SudsPromptCancelRequest):
            self.prompt = None
        elif isinstance(content, m.SafePlaceRequest):
            self.facts.append(m.SafePlaceEntered(source="console"))
        elif isinstance(content, m.LeaveSafePlaceRequest):
            self.facts.append(m.SafePlaceLeft())
        elif isinstance(content, m.TriggerEventRequest):
            self.facts.append(m.EventFired(event=content.event))
        return msg_id

    def press(self, key: str) -> None:
        from vr_exposure.link import messages as m

        value = 10 if key == "h" else int(key)
        self.facts.append(m.RatingRecorded(value=value, scale_max=10, probe_id=self.prompt))
        self.prompt = None

    def deliver(self) -> None:
        while self.facts or self.replies:
            while self.facts:
                self.controller.on_fact(self.facts.pop(0))
            while self.replies:
                self.controller.on_reply(*self.replies.pop(0))


def test_the_simulated_patient_habituates_within_rungs_in_the_compressed_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default 2-minute demo, on a fake clock: ratings given with the patient's digit keys rise at
    each step up the ladder and fall on the rung, enough for the engine's 50%-from-peak advice."""
    import dataclasses
    import types

    from vr_exposure.console import scripted as demo
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.core.clock import FakeClock
    from vr_exposure.core.loading import load_library

    minutes = 2.0
    library = load_library()
    original = library.protocol(demo.DEFAULT_PROTOCOL)
    protocol = demo.compressed_protocol(original, minutes)
    library = dataclasses.replace(library, protocols={**library.protocols, demo.DEFAULT_PROTOCOL: protocol})
    clock = FakeClock()
    monkeypatch.setattr(demo, "time", types.SimpleNamespace(monotonic=lambda: clock.monotonic_ns() / 1e9))
    renderer = _FakeRenderer(library)
    controller = ConsoleController(renderer, library, clock=clock, sessions_root=tmp_path)
    renderer.controller = controller
    script = demo.ScriptedSession(
        controller,
        renderer.press,
        minutes=minutes,
        compress=demo.time_compression(original, minutes),
        seed=7,
        pseudonym="DEMO01",
        say=lambda line: None,
    )
    for _ in range(int(minutes * 60 * 10) + 50):
        if script.step():
            break
        renderer.deliver()
        controller.tick()
        clock.advance(0.1)
    assert script.summary is not None
    controller.close_session()
    rungs = script.summary["metrics"]["rungs"]
    falls = [
        (r["trajectory"]["peak"], r["trajectory"]["end"]) for r in rungs if r["trajectory"]["n_ratings"] >= 2
    ]
    assert len(falls) >= 6
    # Within a rung SUDS fall, in steps the digit keys show; stepping up, they rise again.
    assert sum(1 for peak, end in falls if peak - end >= 20) >= 3, falls
    assert max(peak for peak, _ in falls) >= 40, falls
    accepted = [a.advice.rule for a in controller.engine.advice if a.status == "accepted"]
    assert accepted.count("reduction_from_peak") >= 2, accepted
    assert "reduction" in script.summary["table"] and " 0%" not in script.summary["table"].splitlines()[-1]


def _run_scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minutes: float, **renderer_kwargs):
    """The demo's scripted session against a :class:`_FakeRenderer` on a fake clock; returns the
    script, the controller, the fake renderer and the printed lines."""
    import dataclasses
    import types

    from vr_exposure.console import scripted as demo
    from vr_exposure.console.controller import ConsoleController
    from vr_exposure.core.clock import FakeClock
    from vr_exposure.core.loading import load_library

    library = load_library()
    original = library.protocol(demo.DEFAULT_PROTOCOL)
    protocol = demo.compressed_protocol(original, minutes)
    library = dataclasses.replace(library, protocols={**library.protocols, demo.DEFAULT_PROTOCOL: protocol})
    clock = FakeClock()
    monkeypatch.setattr(demo, "time", types.SimpleNamespace(monotonic=lambda: clock.monotonic_ns() / 1e9))
    renderer = _FakeRenderer(library, **renderer_kwargs)
    controller = ConsoleController(renderer, library, clock=clock, sessions_root=tmp_path)
    renderer.controller = controller
    lines: list[str] = []
    script = demo.ScriptedSession(
        controller,
        renderer.press,
        minutes=minutes,
        compress=demo.time_compression(original, minutes),
        seed=7,
        pseudonym="DEMO01",
        say=lines.append,
    )
    for _ in range(int(minutes * 60 * 10) + 50):
        if script.step():
            break
        renderer.deliver()
        controller.tick()
        clock.advance(0.1)
    return script, controller, renderer, lines


def test_the_scripted_therapist_retries_a_refused_rung_and_the_journal_follows_the_renderer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The renderer refuses the first two rung changes (a fade through black): the demo's therapist
    uses the console's own retry, and the console journal records a rung only once it was accepted."""
    import json

    script, controller, renderer, lines = _run_scripted(tmp_path, monkeypatch, 1.0, refuse_presets=2)
    assert script.summary is not None
    session_dir = controller.session_dir
    controller.close_session()
    assert len(renderer.refused) == 2
    assert (
        sum(
            "the renderer refused the rung change: a scene change is fading through black" in line
            for line in lines
        )
        == 2
    ), lines
    assert sum(line.startswith("therapist: try again") for line in lines) == 2, lines
    records = [json.loads(x) for x in (session_dir / "console.jsonl").read_text().splitlines() if x]
    failed = [r for r in records if r["msg_type"] == "command_failed"]
    assert [r["parent_header"]["msg_id"] for r in failed] == renderer.refused
    assert all(r["content"]["requested"]["kind"] == "rung" for r in failed)
    changes = [r for r in records if r["msg_type"] == "rung_changed"]
    assert changes[0]["content"]["rung"] == 0 and len(changes) >= 3
    # Every later rung in the journal was a request the renderer accepted, never a refused one.
    parents = [r["parent_header"]["msg_id"] for r in changes[1:]]
    assert all(p.startswith("msg-") and p not in renderer.refused for p in parents)
    # The refused advice was accepted on the retry, not lost.
    assert [r["content"]["rung_to"] for r in records if r["msg_type"] == "advice_accepted"][0] == 1


@pytest.fixture
def xvfb_display(tmp_path: Path) -> Iterator[str]:
    """A private X server (Xvfb picks a free display number and writes it to a pipe), killed at the
    end of the test."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip(
            "Xvfb is not installed (apt-get install xvfb xauth), so the demo's windows cannot be tested"
        )
    read_fd, write_fd = os.pipe()
    with open(tmp_path / "xvfb.log", "wb") as log:
        proc = subprocess.Popen(
            [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    os.close(write_fd)
    try:
        number = b""
        deadline = time.monotonic() + 20.0
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(read_fd, 16) if ready else b""
            if not chunk:
                pytest.fail(
                    f"Xvfb did not start: {(tmp_path / 'xvfb.log').read_text(errors='replace')[-2000:]}"
                )
            number += chunk
        yield f":{number.decode().strip()}"
    finally:
        os.close(read_fd)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.mark.slow
@pytest.mark.renderer
def test_demo_with_a_display_opens_both_windows_and_completes(tmp_path: Path, xvfb_display: str) -> None:
    sessions = tmp_path / "sessions"
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env.update(DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb")
    result = subprocess.run(
        [sys.executable, "-m", "vr_exposure.cli", "demo", "--minutes", "0.3", "--sessions", str(sessions)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "starting the renderer (window)" in result.stdout  # not the headless path
    match = re.search(r"^session directory: (.+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    session_dir = Path(match.group(1)).expanduser()
    assert session_dir.parent == sessions
    log = read_session(session_dir)
    assert log.manifest is not None and log.manifest.sealed and verify_session(session_dir).ok
    (started,) = [r for r in log.by_type("renderer_started") if r.process == "renderer"][:1]
    assert started.content["backend"] == "window"
    assert log.by_type("session_summary") and log.by_type("session_ended")


def test_the_road_accident_demo_completes_and_its_triggers_are_in_the_journal(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    cmd = [sys.executable, "-m", "vr_exposure.cli", "demo", "--protocol", "road-accident-graded"]
    result = subprocess.run(
        [*cmd, "--minutes", "0.5", "--headless", "--sessions", str(sessions)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    match = re.search(r"^session directory: (.+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    session_dir = Path(match.group(1))
    log = read_session(session_dir)
    assert log.manifest is not None and log.manifest.sealed and verify_session(session_dir).ok
    fired = {r.content["event"] for r in log.by_type("event_triggered") if r.process == "console"}
    scene_events = {"truck-overtakes", "car-cuts-in", "hard-braking", "near-miss", "siren-passes"}
    scene_events |= {"accident-scene", "collision", "collision-fade"}
    assert fired and fired <= scene_events, fired
    assert max(r.content["rung"] for r in log.by_type("rung_changed")) >= 1
