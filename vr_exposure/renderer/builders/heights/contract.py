"""What the ``heights`` builder reads, animates, synthesises and tags (plain data, no Panda3D)."""

from __future__ import annotations

from vr_exposure.core.contract import (
    AnchorContract,
    AudioSourceContract,
    BuilderContract,
    EventContract,
    ParameterContract,
)

MAX_HEIGHT_M = 200.0
#: How far the platform rises in ``lift-rises`` (three floors of 3 m).
LIFT_RISE_M = 9.0
#: The longest fall of ``drop-object`` (from the highest platform, with the lift risen) and a second
#: of rest on the ground after it.
DROP_EXTRA_S = 8.0

CONTRACT = BuilderContract(
    builder="heights",
    summary="A balcony platform on a tower over a city plaza: people, cars, trees and buildings far "
    "below, a barrier at the edge and a floor that can be grating or glass.",
    parameters={
        "height_m": ParameterContract(
            unit="m", min=0, max=MAX_HEIGHT_M, rising="the platform stands higher above the plaza"
        ),
        "barrier_kind": ParameterContract(
            unit="kind", min=0, max=2, rising="a more see-through barrier: 0 solid wall, 1 railing, 2 glass"
        ),
        "barrier_height_m": ParameterContract(
            unit="m", min=0, max=1.2, rising="a higher barrier at the edge (0: no barrier at all)"
        ),
        "edge_distance_m": ParameterContract(
            unit="m", min=0.3, max=4.0, rising="the edge is farther from the patient's eyes"
        ),
        "floor_kind": ParameterContract(
            unit="kind",
            min=0,
            max=2,
            rising="a more see-through floor: 0 solid paving, 1 steel grating, 2 glass",
        ),
        "wind_strength": ParameterContract(
            unit="0-1", min=0, max=1, rising="stronger wind: the flag and the plant sway more"
        ),
        "look_down_cue": ParameterContract(
            unit="0/1", min=0, max=1, rising="a painted target on the plaza below draws the eye down"
        ),
    },
    events={
        "lift-rises": EventContract(
            description="the platform rises three floors (9 m) like an open lift, and stays there until "
            "the intensity or the preset next changes"
        ),
        "gust": EventContract(description="a gust of wind: the flag and the plant swing hard, then settle"),
        "drop-object": EventContract(
            description="a ball rolls off the edge and falls all the way to the plaza (as long as the fall "
            "takes), then lies there",
            extra_s=DROP_EXTRA_S,
        ),
        "barrier-lowers": EventContract(
            description="the barrier sinks into the floor, and stays down until the intensity or the "
            "preset next changes (with no barrier standing, one rises from the floor first, then sinks)"
        ),
        "floor-creaks": EventContract(description="the floor panel ahead gives a little and springs back"),
    },
    audio_sources={
        "wind-at-height": AudioSourceContract(
            description="wind buffeting round the building: low rumble, gusts and a thin whistle"
        ),
        "city-below": AudioSourceContract(description="distant traffic, a murmur and far-off horns, muffled"),
        "platform-motor": AudioSourceContract(description="an electric motor's hum and a rising whine"),
        "wind-gust": AudioSourceContract(description="one strong gust that swells and dies away"),
        "floor-creak": AudioSourceContract(description="a short strained metal creak and a knock"),
    },
    anchors={
        "plaza": AnchorContract(description="the middle of the plaza, far below"),
        "floor-ahead": AnchorContract(description="the floor panel between the patient and the edge"),
    },
    stimulus_tag="drop",
    intensity_shows="different-view",
)
