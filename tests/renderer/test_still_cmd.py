"""``vr-exposure still``: a PNG of the requested size for a preset or an intensity (in a subprocess,
which has its own Panda3D), and bad arguments answered with exit 2 and one line (in-process: they are
refused before Panda3D is loaded)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vr_exposure.cli import main

pytestmark = pytest.mark.renderer


def _still(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vr_exposure.cli", "still", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        assert img.format == "PNG"
        return np.asarray(img.convert("RGB"))


def test_still_writes_a_png_of_the_requested_size_for_a_preset_and_an_intensity(tmp_path: Path) -> None:
    preset_png = tmp_path / "out" / "jar-far.png"
    result = _still(
        "spiders", "--preset", "jar-far", "-o", str(preset_png), "--size", "160x90", "--settle-s", "0.2"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(preset_png)
    image = _png(preset_png)
    assert image.shape == (90, 160, 3)
    assert image.std() > 5, "a scene, not a blank frame"

    intensity_png = tmp_path / "spiders-80.png"
    result = _still(
        "spiders", "--intensity", "80", "-o", str(intensity_png), "--size", "120x96", "--settle-s", "0.2"
    )
    assert result.returncode == 0, result.stderr
    image = _png(intensity_png)
    assert image.shape == (96, 120, 3) and image.std() > 5


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["no-such-scene", "--preset", "x"], ["no-such-scene"]),
        (["spiders", "--preset", "no-such-preset"], ["no-such-preset", "jar-far"]),
        (["spiders", "--intensity", "120"], ["120", "outside 0-100"]),
        (["spiders", "--intensity", "-1"], ["outside 0-100"]),
    ],
    ids=["unknown-scene", "unknown-preset", "intensity-120", "intensity-negative"],
)
def test_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: list[str]
) -> None:
    out = tmp_path / "never.png"
    assert main(["still", *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("vr-exposure still: ")
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not out.exists()


def test_output_must_be_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["still", "spiders", "--intensity", "10", "-o", str(tmp_path / "x.jpg")]) == 2
    assert "must end in .png" in capsys.readouterr().err


def test_preset_or_intensity_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["still", "spiders", "-o", "x.png"])
    assert info.value.code == 2
    assert "--preset" in capsys.readouterr().err


def test_the_png_bytes_are_what_pillow_reads() -> None:
    from PIL import Image

    from vr_exposure.renderer.still import png_bytes

    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    back = np.asarray(Image.open(io.BytesIO(png_bytes(rgb))).convert("RGB"))
    assert back.shape == (4, 6, 3) and tuple(back[0, 0]) == (255, 0, 0)
