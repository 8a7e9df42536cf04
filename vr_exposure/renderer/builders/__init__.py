"""Scene builders: one module per scene, found by the ``builder`` name in the scene's YAML.

A builder is a function registered with :func:`register_builder` that takes a :class:`BuildContext`
and returns a :class:`SceneInstance`: the scene's node tree (built once, for the largest counts the
spec allows) plus the cheap hooks the :class:`~vr_exposure.renderer.stage.Stage` calls afterwards:

- ``apply(values)``: parameter values changed (intensity ramp, preset). Show, hide, move, recolour;
  never build geometry here, it runs during ramps and must not hitch a frame.
- ``update(dt_s)``: once per frame, animation (legs, water, grass).
- ``start_event(name, event)`` / ``event_running(name)``: a therapist-triggered event's animation.
- ``anchor(name)``: a node an audio cue may follow (``attach_to: nearest-spider``).

Adding a scene is one module here (decorated with ``@register_builder("name")`` and listed in
``_BUILTIN_MODULES``) plus one YAML file in ``scenes/``; see ``docs/scenes.md``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from panda3d.core import NodePath

from vr_exposure.core.specs import Event, SceneSpec
from vr_exposure.errors import SpecError, SpecProblem

__all__ = [
    "BuildContext",
    "Builder",
    "SceneInstance",
    "builder_names",
    "get_builder",
    "register_builder",
]

#: Modules holding the shipped builders, imported on first lookup so importing the registry is cheap.
_BUILTIN_MODULES = (
    "vr_exposure.renderer.builders.spiders",
    "vr_exposure.renderer.builders.safe_place",
)


@dataclass
class BuildContext:
    """What a builder gets: where to put the scene, the spec, a seeded random generator (the same
    seed gives the same room), and the patient's eye height (metres above the floor)."""

    parent: NodePath
    spec: SceneSpec
    rng: np.random.Generator
    eye_height_m: float
    shadow_size_px: int = 1024
    extras: dict[str, Any] = field(default_factory=dict)


class SceneInstance:
    """A built scene. Subclasses override the hooks they need; the defaults do nothing."""

    def __init__(self, root: NodePath) -> None:
        self.root = root

    def apply(self, values: Mapping[str, float]) -> None:
        """New parameter values (every parameter of the spec, presets' overrides applied)."""

    def update(self, dt_s: float) -> None:
        """Advance animation by ``dt_s`` seconds. Called every frame; keep it cheap."""

    def start_event(self, name: str, event: Event) -> None:
        """Begin the event's animation now (the stage has already waited out its delay)."""

    def event_running(self, name: str) -> bool:
        """Whether the event's animation is still playing."""
        return False

    def anchor(self, name: str) -> NodePath | None:
        """A node an audio cue with ``attach_to: name`` follows, or None if the scene has none."""
        return None

    def preferred_view(self, eye_height_m: float) -> tuple[float, float]:
        """Heading and pitch (degrees) a still should look in to show the scene's stimulus."""
        return 0.0, -10.0

    def destroy(self) -> None:
        """Remove the scene, and the shadow buffers of its lights first: Panda3D keeps a shadow
        caster's buffer (and through its camera the whole detached scene) rendering every frame
        until the light stops casting, so each scene change would otherwise add one more."""
        for light in self.root.findAllMatches("**/+LightLensNode"):
            node = light.node()
            if node.isShadowCaster():
                node.setShadowCaster(False)
        self.root.removeNode()


Builder = Callable[[BuildContext], SceneInstance]

_REGISTRY: dict[str, Builder] = {}
_loaded_builtins = False


def register_builder(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``fn`` the builder for scenes whose YAML says ``builder: name``."""

    def decorate(fn: Builder) -> Builder:
        other = _REGISTRY.get(name)
        if other is not None and other is not fn:
            raise ValueError(f"builder {name!r} is registered twice ({other.__module__} and {fn.__module__})")
        _REGISTRY[name] = fn
        return fn

    return decorate


def _load_builtins() -> None:
    global _loaded_builtins
    if not _loaded_builtins:
        _loaded_builtins = True
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)


def builder_names() -> list[str]:
    """Every registered builder's name, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_builder(name: str) -> Builder:
    """The builder registered as ``name``; :class:`SpecError` naming the known ones otherwise."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise SpecError(
            SpecProblem("", None, "builder", f'no scene builder "{name}" in the renderer (known: {known})')
        ) from None
