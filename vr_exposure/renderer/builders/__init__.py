"""Scene packages: one package per scene here (``builders/<id>/``), found automatically.

A scene package holds

- ``contract.py``: ``CONTRACT``, a :class:`~vr_exposure.core.contract.BuilderContract` (plain data,
  no Panda3D): the parameters the builder reads, the events it animates, the sounds it synthesises,
  the anchors a sound may follow and the tag of its stimulus nodes. ``vr-exposure validate`` checks
  every scene YAML against it;
- ``builder.py``: the builder, a function decorated with ``@register_builder("<name>")`` that takes a
  :class:`~vr_exposure.renderer.builders.base.BuildContext` and returns a
  :class:`~vr_exposure.renderer.builders.base.SceneInstance`; importing it also registers the
  package's procedural textures (:func:`vr_exposure.renderer.procedural.register_texture`) and sound
  synthesisers (:func:`vr_exposure.renderer.blocks.sound.register_synth`).

Nothing in the shared modules lists the scenes: :func:`scene_packages` walks this package with
``pkgutil`` and, after it, every package named in ``$VR_EXPOSURE_SCENE_PACKAGES`` (importable
package names joined by commas or the path separator, each a directory of scene packages laid out the
same way), so a scene can live outside the project. This module imports no Panda3D: ``validate``
loads the contracts through it.

The instance's hooks (the :class:`~vr_exposure.renderer.stage.Stage` calls them):

- ``apply(values)``: parameter values changed (intensity ramp, preset). Show, hide, move, recolour;
  never build geometry here, it runs during ramps and must not hitch a frame.
- ``update(dt_s)``: once per frame, animation (legs, water, grass).
- ``start_event(name, event)`` / ``event_running(name)``: a therapist-triggered event's animation.
- ``anchor(name)``: a node an audio cue may follow (``attach_to: nearest-spider``).

See ``docs/scene-format.md`` for a worked example.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from vr_exposure.core.contract import BuilderContract
from vr_exposure.errors import SceneError, SpecError, SpecProblem

if TYPE_CHECKING:
    from vr_exposure.renderer.builders.base import BuildContext, Builder, SceneInstance

__all__ = [
    "BuildContext",
    "Builder",
    "ScenePackage",
    "SceneInstance",
    "builder_names",
    "contract_of",
    "contracts",
    "get_builder",
    "load_builders",
    "register_builder",
    "scene_packages",
]

#: Extra directories of scene packages, as importable package names.
PACKAGES_ENV = "VR_EXPOSURE_SCENE_PACKAGES"
_SPLIT = re.compile(r"[,:;]")


@dataclass(frozen=True)
class ScenePackage:
    """One scene package: its import name and its contract."""

    module: str
    contract: BuilderContract

    @property
    def builder(self) -> str:
        return self.contract.builder


_REGISTRY: dict[str, Builder] = {}
#: The packages found, by the value of ``$VR_EXPOSURE_SCENE_PACKAGES`` they were found with.
_packages: dict[str, list[ScenePackage]] = {}
_loaded_builders: set[str] = set()


def _roots() -> list[ModuleType]:
    roots = [importlib.import_module(__name__)]
    for name in _SPLIT.split(os.environ.get(PACKAGES_ENV, "")):
        name = name.strip()
        if not name:
            continue
        try:
            roots.append(importlib.import_module(name))
        except ImportError as exc:
            raise SceneError(f"${PACKAGES_ENV} names {name!r}, which cannot be imported: {exc}") from None
    return roots


def scene_packages() -> list[ScenePackage]:
    """Every scene package, the project's first, then those of ``$VR_EXPOSURE_SCENE_PACKAGES``.
    Imports only their ``contract`` modules (no Panda3D). Two packages with one builder name are an
    error naming both."""
    key = os.environ.get(PACKAGES_ENV, "")
    if key not in _packages:
        found: list[ScenePackage] = []
        by_builder: dict[str, str] = {}
        for root in _roots():
            for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
                if not info.ispkg or info.name.startswith("_"):
                    continue
                module = f"{root.__name__}.{info.name}"
                try:
                    contract_module = importlib.import_module(f"{module}.contract")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{module}.contract":
                        raise
                    raise SceneError(
                        f"scene package {module} has no contract.py (a CONTRACT = BuilderContract(...))"
                    ) from None
                contract = getattr(contract_module, "CONTRACT", None)
                if not isinstance(contract, BuilderContract):
                    raise SceneError(f"{module}.contract has no CONTRACT (a BuilderContract)")
                other = by_builder.get(contract.builder)
                if other is not None:
                    raise SceneError(f"builder {contract.builder!r} is declared twice ({other} and {module})")
                by_builder[contract.builder] = module
                found.append(ScenePackage(module, contract))
        _packages[key] = found
    return list(_packages[key])


def contracts() -> dict[str, BuilderContract]:
    """Builder name -> contract, for :func:`vr_exposure.core.loading.load_library`'s ``contracts``."""
    return {p.builder: p.contract for p in scene_packages()}


def contract_of(builder: str) -> BuilderContract:
    """The contract of ``builder``; :class:`SpecError` naming the known builders otherwise."""
    found = contracts().get(builder)
    if found is None:
        known = ", ".join(sorted(contracts())) or "none"
        raise SpecError(
            SpecProblem("", None, "builder", f'no scene builder "{builder}" in the renderer (known: {known})')
        )
    return found


def register_builder(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``fn`` the builder for scenes whose YAML says ``builder: name``."""

    def decorate(fn: Builder) -> Builder:
        other = _REGISTRY.get(name)
        if other is not None and other is not fn:
            raise SceneError(f"builder {name!r} is registered twice ({other.__module__} and {fn.__module__})")
        _REGISTRY[name] = fn
        return fn

    return decorate


def load_builders() -> None:
    """Import every scene package's ``builder`` module (Panda3D), registering its builder, textures
    and sounds. Each must register the builder its contract names."""
    for package in scene_packages():
        if package.module in _loaded_builders:
            continue
        _loaded_builders.add(package.module)
        importlib.import_module(f"{package.module}.builder")
        if package.builder not in _REGISTRY:
            raise SceneError(
                f'{package.module}.builder registers no builder "{package.builder}" '
                "(its contract's name): decorate the builder with @register_builder"
            )


def builder_names() -> list[str]:
    """Every registered builder's name, sorted."""
    load_builders()
    return sorted(_REGISTRY)


def get_builder(name: str) -> Builder:
    """The builder registered as ``name``; :class:`SpecError` naming the known ones otherwise."""
    load_builders()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise SpecError(
            SpecProblem("", None, "builder", f'no scene builder "{name}" in the renderer (known: {known})')
        ) from None


def __getattr__(name: str) -> Any:
    # The Panda3D half (BuildContext, SceneInstance) loads only when a builder asks for it.
    if name in ("BuildContext", "Builder", "SceneInstance"):
        from vr_exposure.renderer.builders import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
