"""``vr-exposure scenes [--json]``: list the installed scenes (presets, events, audio) and protocols.

Text for people, ``--json`` for scripts (one JSON object with ``scenes`` and ``protocols``). Files with
errors are left out of the listing and their problems go to stderr; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import msgspec

from vr_exposure.core.loading import ContentLibrary, load_library
from vr_exposure.core.specs import ProtocolSpec, SceneSpec


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def _num(x: float) -> str:
    return f"{x:g}"


def scene_summary(scene: SceneSpec) -> dict[str, Any]:
    return {
        "id": scene.id,
        "title": scene.title,
        "condition": scene.condition,
        "builder": scene.builder,
        "parameters": {
            name: {"unit": p.unit, "interpolation": p.interpolation} for name, p in scene.parameters.items()
        },
        "presets": [
            {"name": name, "intensity": p.intensity, "title": p.title} for name, p in scene.presets.items()
        ],
        "events": [{"name": name, "hotkey": e.hotkey, "title": e.title} for name, e in scene.events.items()],
        "audio": [{"name": name, "source": a.source, "loop": a.loop} for name, a in scene.audio.items()],
    }


def protocol_summary(protocol: ProtocolSpec) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(protocol)
    return out


def render_text(library: ContentLibrary) -> str:
    lines: list[str] = []
    lines.append(f"Scenes ({len(library.scenes)}):")
    for scene in sorted(library.scenes.values(), key=lambda s: s.id):
        lines.append(f"  {scene.id}: {scene.title} [{scene.condition}, builder {scene.builder}]")
        presets = ", ".join(f"{name} ({_num(p.intensity)})" for name, p in scene.presets.items())
        lines.append(f"    presets: {presets or '-'}")
        events = ", ".join(f"{name} [{e.hotkey}]" if e.hotkey else name for name, e in scene.events.items())
        lines.append(f"    events:  {events or '-'}")
        lines.append(f"    audio:   {', '.join(scene.audio) or '-'}")
    lines.append(f"Protocols ({len(library.protocols)}):")
    for protocol in sorted(library.protocols.values(), key=lambda p: p.id):
        if protocol.kind == "prolonged-exposure" and protocol.start is not None:
            start = protocol.start
            at = "" if start.intensity is None else f" at {_num(start.intensity)}"
            lines.append(
                f"  {protocol.id}: {protocol.title} [scene {protocol.scene}, prolonged exposure: starts at "
                f"{start.preset}{at}, then the patient's hotspots; SUDS every "
                f"{_num(protocol.suds.probe_interval_s)} s]"
            )
            continue
        lines.append(
            f"  {protocol.id}: {protocol.title} [scene {protocol.scene}, {len(protocol.ladder)} rungs, "
            f"SUDS every {_num(protocol.suds.probe_interval_s)} s]"
        )
        for i, rung in enumerate(protocol.ladder, 1):
            title = f"  {rung.title}" if rung.title else ""
            lines.append(f"    {i:>2}. {rung.preset} (expected SUDS {_num(rung.expected_suds)}){title}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    library = load_library(raise_on_error=False)
    for problem in library.problems:
        print(problem, file=sys.stderr)
    if args.json:
        doc = {
            "scenes": [scene_summary(s) for s in sorted(library.scenes.values(), key=lambda s: s.id)],
            "protocols": [
                protocol_summary(p) for p in sorted(library.protocols.values(), key=lambda p: p.id)
            ],
        }
        print(json.dumps(doc, indent=2))
    else:
        print(render_text(library))
    return 1 if library.errors else 0
