"""``vr-exposure validate`` checks every scene against its builder's contract: a misspelt parameter,
an event no builder animates, a sound no package synthesises, an anchor no builder provides, a missing
parameter, a value outside what the builder handles. Each is one ``file:line: field: message`` line
and exit 1, with no Panda3D or Qt loaded."""

# ruff: noqa: E501

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vr_exposure.cli import main
from vr_exposure.core.loading import load_library
from vr_exposure.renderer.builders import contracts

ROOT = Path(__file__).resolve().parents[2]
SPIDERS = (ROOT / "scenes" / "spiders.yaml").read_text(encoding="utf-8")


def _copy(tmp: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of the spiders YAML with ``old`` (once) replaced, and the line the change is on."""
    assert SPIDERS.count(old) >= 1, old
    text = SPIDERS.replace(old, new, 1)
    line = text[: text.index(new)].count("\n") + 1
    path = tmp / "scenes" / "spiders.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, line


def _validate(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, list[str]]:
    rc = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert err == ""
    return rc, out.splitlines()


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "  spider_count:",
            "  spider_cuont:",
            "parameters.spider_cuont",
            'the "spiders" builder does not read a parameter "spider_cuont"; did you mean "spider_count"?',
        ),
        (
            "  scatter:",
            "  scater:",
            "events.scater",
            'the "spiders" builder cannot animate an event "scater"; did you mean "scatter"?',
        ),
        (
            "source: scuttle",
            "source: chainsaw",
            "audio.scuttle.source",
            'the "spiders" scene package synthesises no sound "chainsaw" (it synthesises: room-tone, scuttle)',
        ),
        (
            "attach_to: nearest-spider",
            "attach_to: nearest-spidr",
            "audio.scuttle.attach_to",
            'the "spiders" builder provides no anchor "nearest-spidr" for a sound to follow; did you mean "nearest-spider"?',
        ),
        (
            "      - {intensity: 92, value: 12}",
            "      - {intensity: 92, value: 40}",
            "parameters.spider_count.keyframes[3].value",
            '40 is outside the 0-12 spiders the "spiders" builder handles',
        ),
        (
            "    unit: m/s",
            "    unit: km/h",
            "parameters.approach_speed_m_s.unit",
            'the "spiders" builder reads "approach_speed_m_s" in "m/s", not "km/h"',
        ),
    ],
)
def test_a_scene_that_breaks_its_contract_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, field: str, message: str
) -> None:
    path, line = _copy(tmp_path, old, new)
    rc, out = _validate(capsys, path)
    assert rc == 1
    assert out == [f"{path}:{line}: {field}: {message}", "1 file checked: 1 error, 0 warnings"]


def test_a_parameter_the_builder_needs_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = SPIDERS.index("  room_light:")
    end = SPIDERS.index("\npresets:")
    text = SPIDERS[:start] + SPIDERS[end + 1 :]
    path = tmp_path / "scenes" / "spiders.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    line = text[: text.index("parameters:")].count("\n") + 1
    rc, out = _validate(capsys, path)
    assert rc == 1
    assert out[0] == (
        f'{path}:{line}: parameters: the "spiders" builder reads "room_light" (0-1, 0-1.5: a brighter '
        "room (lower: dim, shadowy)) but the scene does not set it"
    )


def test_a_preset_override_outside_the_range_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, line = _copy(tmp_path, "overrides: {nearest_distance_m: 0.8}", "overrides: {nearest_distance_m: 9}")
    rc, out = _validate(capsys, path)
    assert rc == 1
    assert out[0] == (
        f'{path}:{line}: presets.photo-near.overrides.nearest_distance_m: 9 is outside the 0.3-4 m the "spiders" builder handles'
    )


def test_an_unknown_builder_is_named_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, line = _copy(tmp_path, "builder: spiders", "builder: spider")
    rc, out = _validate(capsys, path)
    assert rc == 1
    assert (
        out[0]
        == f'{path}:{line}: builder: no scene builder "spider" in the renderer; did you mean "spiders"?'
    )


def test_every_shipped_scene_keeps_its_contract() -> None:
    library = load_library(raise_on_error=False, contracts=contracts())
    assert library.errors == []
    assert {spec.builder for spec in library.scenes.values()} <= set(contracts())


def test_validate_on_a_broken_copy_in_a_fresh_process_loads_no_toolkit(tmp_path: Path) -> None:
    path, line = _copy(tmp_path, "  spider_count:", "  spider_cuont:")
    probe = (
        "import sys\n"
        "from vr_exposure.cli import main\n"
        f"rc = main(['validate', {str(path)!r}])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('panda3d', 'PyQt6', 'direct'))\n"
        "print('LOADED', loaded)\n"
        "raise SystemExit(rc)\n"
    )
    env = dict(os.environ)
    env.pop("VR_EXPOSURE_CONTENT", None)
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"{path}:{line}: parameters.spider_cuont: ")
    assert lines[-1] == "LOADED []"
    assert "panda3d" not in proc.stdout.split("LOADED")[1] and "PyQt6" not in proc.stdout.split("LOADED")[1]


def test_a_scene_package_without_a_contract_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vr_exposure.renderer.builders import PACKAGES_ENV

    (tmp_path / "extra_scenes" / "half_done").mkdir(parents=True)
    (tmp_path / "extra_scenes" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "extra_scenes" / "half_done" / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(PACKAGES_ENV, "extra_scenes")
    rc = main(["validate", str(ROOT / "scenes" / "spiders.yaml")])
    _, err = capsys.readouterr()
    assert rc == 1
    assert err.strip() == (
        "vr-exposure validate: scene package extra_scenes.half_done has no contract.py "
        "(a CONTRACT = BuilderContract(...))"
    )
