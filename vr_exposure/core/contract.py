"""A scene builder's contract: what the builder really does, declared as data that loads without Panda3D.

Each scene package (``vr_exposure/renderer/builders/<id>/contract.py``) holds one
:class:`BuilderContract`. ``vr-exposure validate`` and the renderer's start-up check every scene YAML
against the contract of the builder it names (:func:`vr_exposure.core.loading.load_library` with
``contracts=``): a parameter the builder does not read, one it needs that the YAML lacks, a value
outside the range it handles, an event it cannot animate, an audio source it does not synthesise or
an anchor it does not provide is an error naming file, line and field. The same contract drives the
one contract test over every scene (``tests/renderer/test_scene_contracts.py``) and the generated
``docs/scenes.md``.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "STIMULUS_TAG_KEY",
    "AnchorContract",
    "AudioSourceContract",
    "BuilderContract",
    "EventContract",
    "IntensityShows",
    "ParameterContract",
]

#: The Panda3D tag key on a scene's stimulus nodes: ``node.setTag(STIMULUS_TAG_KEY, contract.stimulus_tag)``.
#: Stills, docs and gaze and avoidance measures find the feared object by it.
STIMULUS_TAG_KEY = "stimulus"

#: How the contract test checks that intensity 100 exposes more than intensity 0:
#: ``more-stimulus``: more pixels of the stimulus-tagged nodes in the still; ``nearer-stimulus``: the
#: nearest stimulus-tagged node is nearer the eyes; ``different-view``: the picture differs (a scene
#: without a feared object, such as the safe place, where intensity only sets how lively it is).
IntensityShows = Literal["more-stimulus", "nearer-stimulus", "different-view"]


class _Contract(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class ParameterContract(_Contract, frozen=True):
    """A parameter the builder reads: its unit, the range of values it handles (inclusive), and what a
    rising value means for the patient (``rising``, one short sentence for docs and reviewers)."""

    unit: str
    min: float
    max: float
    rising: str
    required: bool = True


class EventContract(_Contract, frozen=True):
    """An event the builder animates. Its animation starts when the stage fires it and ends within
    the YAML's ``duration_s`` plus ``extra_s`` (a spider that drops for ``duration_s``, then hangs and
    climbs back up for a fixed 11 s)."""

    description: str
    extra_s: float = 0.0


class AudioSourceContract(_Contract, frozen=True):
    """A sound source the scene package synthesises (a cue's ``source``)."""

    description: str


class AnchorContract(_Contract, frozen=True):
    """A node an audio cue may follow (a cue's ``attach_to``)."""

    description: str


class BuilderContract(_Contract, frozen=True):
    """Everything ``validate`` and the contract test need to know about one builder."""

    builder: str
    summary: str
    parameters: dict[str, ParameterContract] = {}
    events: dict[str, EventContract] = {}
    audio_sources: dict[str, AudioSourceContract] = {}
    anchors: dict[str, AnchorContract] = {}
    #: The value of the Panda3D tag ``stimulus`` on the nodes of the feared object (for stills, docs,
    #: gaze and avoidance measures); None for a scene with no feared object.
    stimulus_tag: str | None = None
    intensity_shows: IntensityShows = "more-stimulus"
