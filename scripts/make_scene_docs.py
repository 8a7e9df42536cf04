"""Render one still per preset of every scene in the library into docs/img/scenes/ and write
docs/scenes.md, with what each scene's builder contract declares.

Usage: python scripts/make_scene_docs.py [--size 640x360] [--out docs] [--scene ID ...]

``--scene ID`` (repeatable) renders only those scenes' stills and keeps the other scenes' images
that are already there (a missing one is rendered); the page is always written whole.

Each image is what ``vr-exposure still SCENE --preset NAME`` renders (the same function, the same
fixed seed), so the page shows what a patient sees at each rung. The scenes are those of the content
library (``$VR_EXPOSURE_CONTENT``, else the checkout's ``scenes/``), checked against their builders'
contracts; nothing here names a scene.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

HEADER = """# Scenes

What the patient sees at each preset of every scene, rendered offscreen from the patient's
seat (eyes 1.2 m above the floor) by `python scripts/make_scene_docs.py`, which calls the same
function as `vr-exposure still SCENE --preset NAME -o out.png`. The view turns toward the scene's
stimulus. Everything is procedural: geometry and textures are made with numpy at load time and
all sound is synthesised; nothing is downloaded.

Light and shadows come from the renderer's own GLSL program (`vr_exposure/renderer/shading.py`),
which runs the same on a GPU, on Mesa's software renderer and in a headset.
"""

FOOTER = """
## Adding a scene

A scene is a YAML file in `scenes/` plus a scene package in `vr_exposure/renderer/builders/<package>/`
(its `contract.py`, plain data, and its `builder.py`), found automatically: no list in the project
names it. `docs/scene-format.md` explains both, with a complete worked example; `vr-exposure validate`
checks the YAML against the contract, and the one contract test (`tests/renderer/test_scene_contracts.py`)
checks the builder against it. Then run `python scripts/make_scene_docs.py` to add the scene to this page.
"""


def _range(lo: float, hi: float) -> str:
    return f"{lo:g}-{hi:g}"


def contract_lines(contract: object) -> list[str]:
    """The builder contract as Markdown: parameters, events, sounds, anchors, stimulus tag."""
    c: Any = contract
    out = [f"\nBuilder `{c.builder}`: {c.summary}\n"]
    tag = f"`stimulus={c.stimulus_tag}`" if c.stimulus_tag else "none (no feared object)"
    out.append(f"\nStimulus tag: {tag}; intensity shows {c.intensity_shows.replace('-', ' ')}.\n")
    if c.parameters:
        out.append("\n| parameter | unit | range | rising means |\n|---|---|---|---|\n")
        for name, p in c.parameters.items():
            out.append(f"| `{name}` | {p.unit} | {_range(p.min, p.max)} | {p.rising} |\n")
    if c.events:
        items = [
            f"`{name}` ({e.description}"
            + (f"; {e.extra_s:g} s beyond its duration" if e.extra_s else "")
            + ")"
            for name, e in c.events.items()
        ]
        out.append("\nEvents it animates: " + "; ".join(items) + ".\n")
    if c.audio_sources:
        out.append(
            "\nSounds: " + "; ".join(f"`{n}` ({a.description})" for n, a in c.audio_sources.items()) + ".\n"
        )
    if c.anchors:
        out.append(
            "\nAnchors a sound may follow: "
            + "; ".join(f"`{n}` ({a.description})" for n, a in c.anchors.items())
            + ".\n"
        )
    return out


def _parse_size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", default="640x360", type=_parse_size)
    parser.add_argument("--out", default=str(ROOT / "docs"), type=Path)
    parser.add_argument(
        "--scene",
        action="append",
        metavar="ID",
        help="render only this scene's stills (repeatable); the others' existing images are kept",
    )
    args = parser.parse_args(argv)

    from panda3d.core import loadPrcFileData

    loadPrcFileData("make-scene-docs", "audio-library-name null\nnotify-level-display error\n")
    sys.path.insert(0, str(ROOT))
    from vr_exposure.core.loading import load_library
    from vr_exposure.renderer.builders import contracts
    from vr_exposure.renderer.still import render_still

    known = contracts()
    library = load_library(raise_on_error=False, contracts=known)
    for problem in library.errors:
        print(problem, file=sys.stderr)
    if library.errors:
        return 1
    only: set[str] | None = set(args.scene) if args.scene else None
    unknown = sorted((only or set()) - set(library.scenes))
    if unknown:
        print(f"no scene {', '.join(unknown)} (known: {', '.join(sorted(library.scenes))})", file=sys.stderr)
        return 2

    out: Path = args.out
    img_dir = out / "img" / "scenes"
    img_dir.mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    for scene_id in sorted(library.scenes):
        spec = library.scenes[scene_id]
        lines.append(f"\n## {spec.title} (`{spec.id}`)\n")
        lines.append(" ".join(spec.description.split()) + "\n")
        lines.extend(contract_lines(known[spec.builder]))
        if spec.events:
            lines.append(
                "\nEvents: " + "; ".join(f"`{name}` ({ev.title})" for name, ev in spec.events.items()) + ".\n"
            )
        for preset_name, preset in spec.presets.items():
            name = f"{spec.id}-{preset_name}.png"
            if only is None or scene_id in only or not (img_dir / name).exists():
                png = render_still(spec, preset=preset_name, size=args.size)
                (img_dir / name).write_bytes(png)
                print(f"{name}: {len(png) // 1024} KiB", flush=True)
            title = preset.title or preset_name
            lines.append(f"\n### `{preset_name}`: {title} (intensity {preset.intensity:g})\n")
            if preset.description:
                lines.append(" ".join(preset.description.split()) + "\n")
            lines.append(f"\n![{spec.id} at {preset_name}](img/scenes/{name})\n")
    lines.append(FOOTER)
    (out / "scenes.md").write_text("".join(lines), encoding="utf-8")
    print(f"wrote {out / 'scenes.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
