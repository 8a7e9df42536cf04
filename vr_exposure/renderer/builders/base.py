"""What a builder gets and returns: :class:`BuildContext` and :class:`SceneInstance` (Panda3D)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from panda3d.core import NodePath

from vr_exposure.core.specs import Event, SceneSpec

__all__ = ["BuildContext", "Builder", "SceneInstance"]


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
        #: The strength (0-1) each event was last fired with, set by the stage before
        #: :meth:`start_event`; read it with :meth:`event_strength`.
        self.event_strengths: dict[str, float] = {}

    def apply(self, values: Mapping[str, float]) -> None:
        """New parameter values (every parameter of the spec, presets' overrides applied)."""

    def update(self, dt_s: float) -> None:
        """Advance animation by ``dt_s`` seconds. Called every frame; keep it cheap."""

    def start_event(self, name: str, event: Event) -> None:
        """Begin the event's animation now (the stage has already waited out its delay)."""

    def event_strength(self, name: str) -> float:
        """How strongly the therapist fired the event (0-1: loudness, nearness), 1.0 by default.
        A builder scales what it shows with it: distant gunfire at 0.2, near at 1.0."""
        return self.event_strengths.get(name, 1.0)

    def event_running(self, name: str) -> bool:
        """Whether the event's animation is still playing."""
        return False

    def stop_events(self) -> None:
        """End every event's animation now (the safe place, a stop). The stage no longer counts
        them as active whatever :meth:`event_running` says, and the view fades out meanwhile; a
        builder overrides this where an event must visibly stop before the view is black."""

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
