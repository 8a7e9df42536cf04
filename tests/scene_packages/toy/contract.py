"""What the ``toy-cubes`` builder reads, animates, synthesises and tags (plain data, no Panda3D)."""

from __future__ import annotations

from vr_exposure.core.contract import (
    AnchorContract,
    AudioSourceContract,
    BuilderContract,
    EventContract,
    ParameterContract,
)

MAX_CUBES = 6

CONTRACT = BuilderContract(
    builder="toy-cubes",
    summary="Up to six red cubes on a grey floor in front of the patient.",
    parameters={
        "cube_count": ParameterContract(unit="cubes", min=0, max=MAX_CUBES, rising="more cubes"),
        "cube_distance_m": ParameterContract(
            unit="m", min=0.8, max=4.0, rising="the cubes stand farther from the patient"
        ),
    },
    events={"spin": EventContract(description="every cube turns once around its vertical axis")},
    audio_sources={"toy-hum": AudioSourceContract(description="a low hum with a slow beat")},
    anchors={"nearest-cube": AnchorContract(description="the first visible cube")},
    stimulus_tag="cube",
    intensity_shows="more-stimulus",
)
