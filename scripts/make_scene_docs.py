"""Render one still per preset of the shipped scenes into docs/img/scenes/ and write docs/scenes.md.

Usage: python scripts/make_scene_docs.py [--size 640x360] [--out docs]

Each image is what ``vr-exposure still SCENE --preset NAME`` renders (the same function, the same
fixed seed), so the page shows what a patient sees at each rung.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENES = ("spiders", "safe-place")

HEADER = """# Scenes

What the patient sees at each preset of the shipped scenes, rendered offscreen from the patient's
seat (eyes 1.2 m above the floor) by `python scripts/make_scene_docs.py`, which calls the same
function as `vr-exposure still SCENE --preset NAME -o out.png`. The view turns toward the scene's
stimulus. Everything is procedural: geometry and textures are made with numpy at load time and
all sound is synthesised; nothing is downloaded.

Light and shadows come from the renderer's own GLSL program (`vr_exposure/renderer/shading.py`),
which runs the same on a GPU, on Mesa's software renderer and in a headset.
"""

FOOTER = """
## Adding a scene

A scene is one builder module plus one YAML file:

1. Write `scenes/<id>.yaml` (format: `docs/scene-format.md`) with `builder: <name>`, its parameters,
   presets, events and audio cues (`source:` one of the synthesisers in
   `vr_exposure/renderer/audio.py`: `scuttle`, `ambient-waves`, `room-tone`, `helicopter`).
   Check it with `vr-exposure validate scenes/<id>.yaml`.
2. Write `vr_exposure/renderer/builders/<name>.py` with a function decorated
   `@register_builder("<name>")` that takes a `BuildContext` (parent node, spec, seeded random
   generator, eye height) and returns a `SceneInstance` subclass, and add the module to
   `_BUILTIN_MODULES` in `vr_exposure/renderer/builders/__init__.py`. Build all geometry in the
   constructor, for the largest counts the parameters allow; override:
   - `apply(values)`: new parameter values (every frame of a ramp): show, hide, move, scale only;
   - `update(dt_s)`: per-frame animation, kept cheap;
   - `start_event(name, event)` / `event_running(name)`: the spec's events;
   - `anchor(name)`: the node an audio cue's `attach_to: name` follows;
   - `preferred_view(eye_height_m)`: where stills look.
   Use `builders/_common.py` for the sun with its shadow map, fog, sky dome and materials, and
   `procedural.py` for textures (`named_texture`) and meshes (`box`, `cylinder`, `sphere`,
   `grid_plane`, `dome`).
3. Run `python scripts/make_scene_docs.py` to add its stills to this page.
"""


def _parse_size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", default="640x360", type=_parse_size)
    parser.add_argument("--out", default=str(ROOT / "docs"), type=Path)
    args = parser.parse_args(argv)

    from panda3d.core import loadPrcFileData

    loadPrcFileData("make-scene-docs", "audio-library-name null\nnotify-level-display error\n")
    sys.path.insert(0, str(ROOT))
    from vr_exposure.core.loading import load_scene
    from vr_exposure.renderer.still import render_still

    out: Path = args.out
    img_dir = out / "img" / "scenes"
    img_dir.mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    for scene_id in SCENES:
        spec = load_scene(ROOT / "scenes" / f"{scene_id}.yaml")
        lines.append(f"\n## {spec.title} (`{spec.id}`)\n")
        lines.append(" ".join(spec.description.split()) + "\n")
        if spec.events:
            lines.append(
                "Events: " + "; ".join(f"`{name}` ({ev.title})" for name, ev in spec.events.items()) + ".\n"
            )
        for preset_name, preset in spec.presets.items():
            png = render_still(spec, preset=preset_name, size=args.size)
            name = f"{spec.id}-{preset_name}.png"
            (img_dir / name).write_bytes(png)
            title = preset.title or preset_name
            lines.append(f"\n### `{preset_name}`: {title} (intensity {preset.intensity:g})\n")
            if preset.description:
                lines.append(" ".join(preset.description.split()) + "\n")
            lines.append(f"\n![{spec.id} at {preset_name}](img/scenes/{name})\n")
            print(f"{name}: {len(png) // 1024} KiB", flush=True)
    lines.append(FOOTER)
    (out / "scenes.md").write_text("".join(lines), encoding="utf-8")
    print(f"wrote {out / 'scenes.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
