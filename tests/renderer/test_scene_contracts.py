"""The one contract test, run over every scene of the library and the toy scene under ``tests/``.

A new scene passes or fails it without anyone writing a test for it: every preset renders and presets
whose parameters differ look different; intensity 0 and 100 differ in the direction the builder's
contract says; every event starts, visibly animates and ends within its declared duration; every
audio cue is heard in OpenAL Soft's wave output; a ramp creates no nodes and no geometry; the
stimulus nodes carry the contract's tag. Frames are small (the CI machine is slow) and the scene's
clock is stepped, never waited for.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from panda3d.core import NodePath

from vr_exposure.core.clock import FakeClock
from vr_exposure.core.contract import STIMULUS_TAG_KEY, BuilderContract
from vr_exposure.core.loading import ContentLibrary, load_library
from vr_exposure.core.specs import SceneSpec
from vr_exposure.renderer.builders import PACKAGES_ENV, contracts
from vr_exposure.renderer.stage import Stage
from vr_exposure.renderer.still import OffscreenView

from .test_audio import _read_wav, _rms
from .wave_output import wave_env

pytestmark = pytest.mark.renderer

ROOT = Path(__file__).resolve().parents[2]
TOY_PACKAGES = "tests.scene_packages"
TOY_CONTENT = ROOT / "tests" / "scene_packages" / "content"
SIZE = (128, 72)
DT = 1 / 30


@contextlib.contextmanager
def toy_packages() -> Iterator[None]:
    """The toy scene package found beside the project's own, for as long as the block runs."""
    old = os.environ.get(PACKAGES_ENV)
    os.environ[PACKAGES_ENV] = ",".join(p for p in (old, TOY_PACKAGES) if p)
    try:
        yield
    finally:
        if old is None:
            del os.environ[PACKAGES_ENV]
        else:
            os.environ[PACKAGES_ENV] = old


def _library() -> tuple[ContentLibrary, dict[str, BuilderContract]]:
    with toy_packages():
        known = contracts()
        library = load_library(
            [ROOT / "scenes", TOY_CONTENT / "scenes"],
            [ROOT / "protocols", TOY_CONTENT / "protocols"],
            raise_on_error=False,
            contracts=known,
        )
    assert library.errors == [], library.errors
    return library, known


LIBRARY, CONTRACTS = _library()
SCENES = sorted(LIBRARY.scenes)
CUES = [(sid, cue) for sid in SCENES for cue in LIBRARY.scenes[sid].audio]
EVENTS = [(sid, event) for sid in SCENES for event in LIBRARY.scenes[sid].events]


@pytest.fixture(scope="module", autouse=True)
def _with_toy_packages() -> Iterator[None]:
    with toy_packages():
        yield


def _spec(scene_id: str) -> SceneSpec:
    return LIBRARY.scenes[scene_id]


def _contract(scene_id: str) -> BuilderContract:
    return CONTRACTS[_spec(scene_id).builder]


class Rig:
    """One stage and one small offscreen view on the shared ShowBase's graphics context."""

    def __init__(self, base: Any, *, view: bool = True) -> None:
        self.top = NodePath("contract-test")
        self.clock = FakeClock()
        self.view = (
            OffscreenView(
                self.top, size=SIZE, fov_deg=90.0, engine=base.graphicsEngine, pipe=base.pipe, host=base.win
            )
            if view
            else None
        )
        self.stage = Stage(self.top, clock=self.clock, rng_seed=4, shadow_size_px=256)

    def step(self, seconds: float) -> None:
        for _ in range(max(1, round(seconds / DT))):
            self.clock.advance(DT)
            self.stage.update(DT)

    def look(self) -> None:
        assert self.stage.scene is not None and self.view is not None
        heading, pitch = self.stage.scene.preferred_view(self.stage.eye_height_m)
        self.view.look_from((0.0, 0.0, self.stage.eye_height_m), (heading, pitch, 0.0))

    def render(self) -> np.ndarray:
        self.look()
        assert self.view is not None
        return self.view.render()

    def close(self) -> None:
        self.stage.destroy()
        if self.view is not None:
            self.view.close()
        self.top.removeNode()


@pytest.fixture
def rigs(showbase: Any) -> Iterator[Any]:
    made: list[Rig] = []

    def make(**kwargs: Any) -> Rig:
        rig = Rig(showbase, **kwargs)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()


def _heaviest(spec: SceneSpec) -> tuple[str | None, float]:
    if not spec.presets:
        return None, 100.0
    name = max(spec.presets, key=lambda p: spec.presets[p].intensity)
    return name, spec.presets[name].intensity


def _tagged(root: NodePath, value: str | None = None) -> list[NodePath]:
    """Visible nodes tagged as the stimulus (with ``value``, or any value)."""
    found = root.findAllMatches(
        f"**/={STIMULUS_TAG_KEY}" if value is None else f"**/={STIMULUS_TAG_KEY}={value}"
    )
    return [p for p in found if not p.isHidden()]


def _geometry(root: NodePath) -> tuple[int, int, int]:
    """(nodes, Geoms, vertices) under ``root``, hidden ones included: what exists, not what shows."""
    nodes = root.findAllMatches("**")
    geoms = vertices = 0
    for path in root.findAllMatches("**/+GeomNode"):
        node = path.node()
        geoms += node.getNumGeoms()
        vertices += sum(node.getGeom(i).getVertexData().getNumRows() for i in range(node.getNumGeoms()))
    return nodes.getNumPaths(), geoms, vertices


def _pose(root: NodePath) -> list[Any]:
    """Where every visible piece of the scene is (None for a hidden one), to tell animation apart."""
    out: list[Any] = []
    for path in root.findAllMatches("**/+GeomNode"):
        if path.isHidden():
            out.append(None)
            continue
        mat = path.getMat(root)
        out.append(tuple(round(mat.getCell(r, c), 4) for r in range(4) for c in range(4)))
    return out


# ---------------------------------------------------------------------------------------------------


def test_the_toy_scene_is_in_the_library_with_no_shared_code_naming_it() -> None:
    assert "toy-cubes" in SCENES and "toy-cubes" in CONTRACTS
    shared = [p for p in (ROOT / "vr_exposure").rglob("*.py")]
    assert not [p for p in shared if "toy-cubes" in p.read_text(encoding="utf-8")]


@pytest.mark.parametrize("scene_id", SCENES)
def test_every_preset_renders_and_different_presets_look_different(rigs: Any, scene_id: str) -> None:
    spec = _spec(scene_id)
    rig = rigs()
    images: dict[str, np.ndarray] = {}
    names = list(spec.presets) or [None]
    for name in names:
        rig.stage.load(spec, preset=name, intensity=None if name else 50.0)
        rig.step(0.2)
        img = rig.render()
        assert img.mean() > 20 and img.std() > 6, f"{scene_id} at {name}: (nearly) black or flat"
        images[str(name)] = img
    for a in spec.presets:
        for b in spec.presets:
            if a < b and spec.values_at(spec.presets[a].intensity, a) != spec.values_at(
                spec.presets[b].intensity, b
            ):
                diff = np.abs(images[a].astype(int) - images[b].astype(int)).mean()
                assert diff > 0.5, f"{scene_id}: presets {a} and {b} set different values but look the same"


@pytest.mark.parametrize("scene_id", SCENES)
def test_intensity_100_exposes_more_than_0_as_the_contract_says(rigs: Any, scene_id: str) -> None:
    spec, contract = _spec(scene_id), _contract(scene_id)
    rig = rigs()
    seen: dict[int, Any] = {}
    for intensity in (0, 100):
        rig.stage.load(spec, intensity=intensity)
        rig.step(0.2)
        img = rig.render()
        assert rig.stage.scene is not None and rig.view is not None
        if contract.intensity_shows == "more-stimulus":
            assert contract.stimulus_tag is not None
            seen[intensity] = int(rig.view.render_mask(contract.stimulus_tag).sum())
        elif contract.intensity_shows == "nearer-stimulus":
            eye = np.array([0.0, 0.0, rig.stage.eye_height_m])
            nodes = _tagged(rig.stage.scene.root, contract.stimulus_tag)
            seen[intensity] = min(
                (float(np.linalg.norm(np.array(n.getPos(rig.top)) - eye)) for n in nodes), default=np.inf
            )
        else:
            seen[intensity] = img
    if contract.intensity_shows == "more-stimulus":
        assert seen[100] > seen[0], f"{scene_id}: stimulus pixels {seen[0]} at 0, {seen[100]} at 100"
    elif contract.intensity_shows == "nearer-stimulus":
        assert seen[100] < seen[0], f"{scene_id}: nearest stimulus {seen[0]} m at 0, {seen[100]} m at 100"
    else:
        assert np.abs(seen[0].astype(int) - seen[100].astype(int)).mean() > 0.5


@pytest.mark.parametrize(("scene_id", "event_name"), EVENTS)
def test_every_event_starts_visibly_animates_and_ends_within_its_duration(
    rigs: Any, scene_id: str, event_name: str
) -> None:
    spec, contract = _spec(scene_id), _contract(scene_id)
    event = spec.events[event_name]
    preset, intensity = _heaviest(spec)
    # Two identical stages, one with the event: whatever differs between them is the event's doing.
    control, fired = rigs(view=False), rigs(view=False)
    for rig in (control, fired):
        rig.stage.load(spec, preset=preset, intensity=None if preset else intensity)
        rig.step(0.5)
    assert _pose(control.stage.scene.root) == _pose(fired.stage.scene.root), "the two stages start alike"
    scene = fired.stage.scene
    assert scene is not None
    scene.start_event(event_name, event)
    assert scene.event_running(event_name), f"{event_name} did not start"
    lasts_s = event.duration_s + contract.events[event_name].extra_s
    differed = False
    t = 0.0
    while t < lasts_s + 2 * DT:
        control.step(DT)
        fired.step(DT)
        t += DT
        if not differed and _pose(control.stage.scene.root) != _pose(scene.root):
            differed = True
        if not scene.event_running(event_name):
            break
    assert differed, f"{event_name} changed nothing anyone could see"
    assert not scene.event_running(event_name), (
        f"{event_name} still runs after {t:.2f} s; its contract says {lasts_s:g} s"
    )


@pytest.mark.parametrize("scene_id", SCENES)
def test_a_ramp_creates_no_nodes_and_no_geometry(rigs: Any, scene_id: str) -> None:
    spec = _spec(scene_id)
    rig = rigs(view=False)
    rig.stage.load(spec, intensity=0)
    rig.step(0.1)
    assert rig.stage.scene is not None
    before = _geometry(rig.stage.scene.root)
    rig.stage.set_intensity(100, ramp_s=0.5)
    for _ in range(20):
        rig.step(DT)
        assert _geometry(rig.stage.scene.root) == before, "nodes or geometry created during an intensity ramp"
    presets = list(spec.presets)
    for name in (presets[-1:] + presets[:1]) if presets else []:
        rig.stage.apply_preset(name, ramp_s=0.5)
        for _ in range(20):
            rig.step(DT)
            assert _geometry(rig.stage.scene.root) == before, f"nodes or geometry created ramping to {name}"


@pytest.mark.parametrize("scene_id", SCENES)
def test_the_stimulus_carries_the_contract_tag(rigs: Any, scene_id: str) -> None:
    spec, contract = _spec(scene_id), _contract(scene_id)
    rig = rigs()
    preset, intensity = _heaviest(spec)
    rig.stage.load(spec, preset=preset, intensity=None if preset else intensity)
    rig.step(0.2)
    assert rig.stage.scene is not None
    root = rig.stage.scene.root
    if contract.stimulus_tag is None:
        assert _tagged(root) == [], f"{scene_id} has no feared object, yet tags stimulus nodes"
        return
    assert _tagged(root, contract.stimulus_tag), f"no visible node tagged stimulus={contract.stimulus_tag}"
    others = {p.getTag(STIMULUS_TAG_KEY) for p in _tagged(root)} - {contract.stimulus_tag}
    assert not others, f"stimulus nodes tagged {others}, not the contract's {contract.stimulus_tag!r}"
    rig.render()
    assert rig.view is not None
    assert rig.view.render_mask(contract.stimulus_tag).sum() > 0, "the stimulus is not in the still's view"


_PLAYER = textwrap.dedent(
    """
    import os, sys, time
    import msgspec
    from panda3d.core import loadPrcFileData
    loadPrcFileData("", "audio-library-name p3openal_audio\\nnotify-level-audio error\\n")
    from vr_exposure.core.loading import load_library
    from vr_exposure.renderer.builders import contracts
    from tests.renderer.wave_output import audio_stage

    scene_id, scenes, protocols, wav = sys.argv[1:5]
    library = load_library(scenes.split(","), protocols.split(","), contracts=contracts())
    full = library.scene(scene_id)
    for index, cue_name in enumerate(full.audio):
        # One cue alone in the scene; a fresh audio manager reopens the wave device, which starts a
        # new file, so each cue's output is its own.
        cue = full.audio[cue_name]
        spec = msgspec.structs.replace(full, audio={cue_name: cue}, events={})
        levels = [(cue.volume_at(i), i) for i in range(0, 101, 5)]
        volume, intensity = max(levels)
        top, head, mgr, audio, stage = audio_stage()
        stage.load(spec, intensity=intensity)
        head.setPos(0, 0, stage.eye_height_m)
        if not cue.loop:
            audio.play(cue_name)
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            stage.update(1 / 60)
            time.sleep(1 / 60)
        playing = audio.playing
        stage.destroy()
        mgr.shutdown()
        del audio, mgr
        os.replace(wav, f"{wav}.{index}")
        print("CUE", index, cue_name, "PLAYING", playing, volume, flush=True)
    """
)


def _play_scene_cues(tmp: Path, scene_id: str) -> dict[str, tuple[str, bytes]]:
    """Each cue of ``scene_id`` played alone in one player process: ``{cue: (player's line, WAV)}``."""
    out = tmp / "out.wav"
    env = wave_env(tmp / "alsoft.conf", out)
    packages = [p for p in os.environ.get(PACKAGES_ENV, "").split(",") if p]
    env[PACKAGES_ENV] = ",".join(packages if TOY_PACKAGES in packages else [*packages, TOY_PACKAGES])
    scenes = f"{ROOT / 'scenes'},{TOY_CONTENT / 'scenes'}"
    protocols = f"{ROOT / 'protocols'},{TOY_CONTENT / 'protocols'}"
    proc = subprocess.run(
        [sys.executable, "-c", _PLAYER, scene_id, scenes, protocols, str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120 + 60 * len(LIBRARY.scenes[scene_id].audio),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = {}
    for line in proc.stdout.splitlines():
        if line.startswith("CUE "):
            _, index, name, rest = line.split(" ", 3)
            lines[name] = (rest, (tmp / f"out.wav.{index}").read_bytes())
    return lines


@pytest.fixture(scope="module")
def scene_sound(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``scene_sound(scene_id)``: each cue of the scene played alone, as ``{cue: (player's line, WAV
    bytes)}``. One player process per scene (a process per cue costs the suite minutes), three at a
    time: a player mostly waits while its cue plays in real time."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        played = {
            sid: pool.submit(_play_scene_cues, tmp_path_factory.mktemp(f"sound-{sid}"), sid)
            for sid in sorted({sid for sid, _ in CUES})
        }
        yield lambda scene_id: played[scene_id].result()


@pytest.mark.parametrize(("scene_id", "cue_name"), CUES)
def test_every_audio_cue_is_heard(scene_sound: Any, scene_id: str, cue_name: str) -> None:
    played = scene_sound(scene_id)
    assert cue_name in played, f"the player did not reach cue {cue_name}"
    line, wav = played[cue_name]
    assert line.startswith(f"PLAYING ['{cue_name}']"), line
    channels, bits, frames = _read_wav(wav)
    assert bits == 16
    data = np.frombuffer(frames, dtype=np.int16).astype(np.float64).reshape(-1, channels)
    assert _rms(data) > 30.0, f"{scene_id} cue {cue_name} is (nearly) silent: RMS {_rms(data):.1f}"
