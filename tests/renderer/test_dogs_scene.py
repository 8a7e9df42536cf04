"""The ``dogs`` scene, measured from the scene graph: the legs' ground-contact pattern is a walk
(four beats, lateral sequence, two or more feet down) at walking speed and a trot (diagonal pairs
together, under half the cycle on the ground) at trotting speed, and a paw on the ground does not
slide; over intensity 0 to 100 the dogs climb the body-language ladder and never come down it; and
a bark is louder in the ear facing the dog (OpenAL Soft's wave output); and the demo runs the dogs
protocol headless. The scene clock is stepped, never waited for."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from panda3d.core import NodePath

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.loading import load_library
from vr_exposure.journal import read_session
from vr_exposure.renderer.builders import contracts
from vr_exposure.renderer.builders.dogs.contract import LADDER, ladder_rung
from vr_exposure.renderer.builders.dogs.dog import LEGS, Dog
from vr_exposure.renderer.stage import Stage

from .test_audio import _read_wav, _rms

pytestmark = pytest.mark.renderer

ROOT = Path(__file__).resolve().parents[2]
DT_S = 1 / 120


def _run(speed_m_s: float, seconds: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """A medium dog moved straight ahead at ``speed_m_s``: each paw's world (y, z) per step."""
    top = NodePath("gait-test")
    dog = Dog(top, np.random.default_rng(1), "dog", "dog")
    y = 0.0
    for _ in range(30):  # settle into standing
        dog.update(DT_S, 0.0)
    ys, zs = [], []
    for _ in range(int(seconds / DT_S)):
        y += speed_m_s * DT_S
        dog.root.setY(y)
        dog.update(DT_S, speed_m_s)
        pos = [dog.paw_world(leg, top) for leg in LEGS]
        ys.append([p.y for p in pos])
        zs.append([p.z for p in pos])
    top.removeNode()
    return np.array(ys), np.array(zs)


def _contacts(zs: np.ndarray) -> np.ndarray:
    return zs < 1e-4  # the paw node is on the ground


def _together(contact: np.ndarray, a: str, b: str) -> float:
    """How often legs ``a`` and ``b`` are in the same state (both down or both up)."""
    return float(np.mean(contact[:, LEGS.index(a)] == contact[:, LEGS.index(b)]))


def test_walk_and_trot_have_different_foot_contact_patterns() -> None:
    _, walk_z = _run(0.7)
    _, trot_z = _run(2.4)
    walk, trot = _contacts(walk_z), _contacts(trot_z)
    # Walk: each foot down about two thirds of the time, never fewer than two feet down, and the
    # diagonal feet out of step (a four-beat gait).
    assert 0.55 < walk.mean() < 0.8, walk.mean()
    assert walk.sum(axis=1).min() >= 2
    assert _together(walk, "LF", "RH") < 0.8
    # Trot: under half the time down, the diagonal pairs move together and against each other.
    assert 0.25 < trot.mean() < 0.5, trot.mean()
    assert _together(trot, "LF", "RH") > 0.95 and _together(trot, "RF", "LH") > 0.95
    assert _together(trot, "LF", "RF") < 0.3


@pytest.mark.parametrize("speed_m_s", [0.7, 2.4])
def test_a_paw_on_the_ground_does_not_slide(speed_m_s: float) -> None:
    ys, zs = _run(speed_m_s)
    down = _contacts(zs)
    both = down[1:] & down[:-1]
    slide = np.abs(np.diff(ys, axis=0))[both]
    assert both.sum() > 100
    # The body moves speed * dt each step (6-20 mm); a planted paw moves less than a millimetre.
    assert slide.max() < 0.001, slide.max()
    # And the swinging paws do move: the measure can tell.
    assert np.abs(np.diff(ys, axis=0))[~down[1:]].max() > speed_m_s * DT_S


def test_the_dogs_climb_the_body_language_ladder_with_intensity() -> None:
    library = load_library([ROOT / "scenes"], [ROOT / "protocols"], contracts=contracts())
    spec = library.scene("dogs")
    top = NodePath("ladder-test")
    stage = Stage(top, clock=FakeClock(), rng_seed=4, shadow_size_px=0)
    rungs, tail_z, tongue = [], [], []
    for intensity in range(0, 101, 5):
        stage.load(spec, intensity=intensity) if intensity == 0 else stage.set_intensity(intensity)
        for _ in range(60):
            stage.update(1 / 30)
        dog = stage.scene.dogs[0].dog  # type: ignore[attr-defined]
        rungs.append(dog.rung)
        tail_z.append(dog.tail[-1].getPos(dog.body).z)
        tongue.append(not dog.tongue.isHidden())
    stage.destroy()
    top.removeNode()
    assert rungs == sorted(rungs), rungs
    assert rungs[0] == 0 and rungs[-1] == len(LADDER) - 1, rungs
    assert set(rungs) == set(range(len(LADDER))), "a rung of the ladder is never shown"
    # Calm dogs pant with a loose, low tail; a stiff, staring dog's mouth is shut and its tail high.
    first_stiff = rungs.index(2)
    assert tongue[0] and not tongue[first_stiff]
    assert tail_z[first_stiff] > tail_z[0] + 0.05
    assert [ladder_rung(a / 100) for a in range(101)] == sorted(ladder_rung(a / 100) for a in range(101))


def test_the_demo_runs_the_dogs_protocol_headless(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "demo",
            "--protocol",
            "dogs-graded",
            "--minutes",
            "0.5",
            "--headless",
            "--quiet",
            "--sessions",
            str(sessions),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    match = re.search(r"^session directory: (.+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    log = read_session(Path(match.group(1)))
    loaded = [r.content["scene"] for r in log.by_type("scene_loaded") if r.process == "renderer"]
    assert "dogs" in loaded
    assert log.by_type("rung_changed"), "the therapist never moved up the ladder"
    fired = {r.content["event"] for r in log.by_type("event_fired")}
    library = load_library([ROOT / "scenes"], [ROOT / "protocols"], contracts=contracts())
    assert fired <= set(library.scene("dogs").events), fired
    assert log.manifest is not None and log.manifest.protocol == "dogs-graded"


_BARKER = textwrap.dedent(
    """
    import sys, time
    import msgspec
    from panda3d.core import loadPrcFileData, NodePath, AudioManager
    loadPrcFileData("", "audio-library-name p3openal_audio\\nnotify-level-audio error\\n")
    from vr_exposure.core.clock import FakeClock
    from vr_exposure.core.loading import load_library
    from vr_exposure.renderer.audio import SceneAudio
    from vr_exposure.renderer.builders import contracts
    from vr_exposure.renderer.stage import Stage

    heading, scenes, protocols = float(sys.argv[1]), sys.argv[2], sys.argv[3]
    spec = load_library([scenes], [protocols], contracts=contracts()).scene("dogs")
    spec = msgspec.structs.replace(spec, audio={"bark": spec.audio["bark"]}, events={})
    top = NodePath("top")
    head = top.attachNewNode("head")
    mgr = AudioManager.createAudioManager()
    assert mgr.isValid(), "OpenAL did not open"
    audio = SceneAudio(mgr, head, root=top)
    stage = Stage(top, audio=audio, clock=FakeClock(), rng_seed=2, shadow_size_px=0)
    stage.load(spec, preset="small-dog-close")
    head.setPosHpr(0, 0, stage.eye_height_m, heading, 0, 0)
    audio.play("bark")
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        stage.update(1 / 60)
        time.sleep(1 / 60)
    print("PLAYING", audio.playing)
    stage.destroy()
    mgr.shutdown()
    """
)


def _bark(tmp_path: Path, heading_deg: float) -> np.ndarray:
    out = tmp_path / f"bark{heading_deg:+.0f}.wav"
    conf = tmp_path / "alsoft.conf"
    conf.write_text(
        f"[general]\ndrivers=wave\nchannels=stereo\nsample-type=int16\n[wave]\nfile={out}\n", encoding="utf-8"
    )
    env = dict(os.environ, ALSOFT_CONF=str(conf), ALSOFT_DRIVERS="wave")
    proc = subprocess.run(
        [sys.executable, "-c", _BARKER, str(heading_deg), str(ROOT / "scenes"), str(ROOT / "protocols")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    channels, bits, frames = _read_wav(out.read_bytes())
    assert channels == 2 and bits == 16
    return np.frombuffer(frames, dtype=np.int16).astype(np.float64).reshape(-1, 2)


def test_a_bark_is_louder_in_the_ear_facing_the_dog(tmp_path: Path) -> None:
    """The dog sits ahead; the patient turns the head left (the dog is then on the right) or right."""
    turned_left = _bark(tmp_path, 90.0)
    turned_right = _bark(tmp_path, -90.0)
    for data in (turned_left, turned_right):
        assert np.abs(data).max() > 0, "silent output"
    assert _rms(turned_left[:, 1]) > 1.5 * _rms(turned_left[:, 0]), "the dog on the right is not louder there"
    assert _rms(turned_right[:, 0]) > 1.5 * _rms(turned_right[:, 1]), (
        "the dog on the left is not louder there"
    )
