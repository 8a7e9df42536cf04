"""What the ``road-accident`` builder reads, animates, synthesises and tags (plain data, no Panda3D)."""

from __future__ import annotations

from vr_exposure.core.contract import (
    AnchorContract,
    AudioSourceContract,
    BuilderContract,
    EventContract,
    ParameterContract,
)

MAX_TRAFFIC = 12
MAX_SPEED_KM_H = 130.0

CONTRACT = BuilderContract(
    builder="road-accident",
    summary="The patient rides in a self-driving car on a road from village junctions to a highway, "
    "with traffic, time of day and rain; the triggers of a road accident fire one at a time.",
    parameters={
        "driver_seat": ParameterContract(
            unit="0/1", min=0, max=1, rising="the patient sits in the driver's seat, behind the wheel"
        ),
        "road_type": ParameterContract(
            unit="0/1", min=0, max=1, rising="a four-lane highway instead of a village road with junctions"
        ),
        "traffic_density": ParameterContract(
            unit="0-1", min=0, max=1, rising=f"more cars around the patient's car (up to {MAX_TRAFFIC})"
        ),
        "speed_km_h": ParameterContract(
            unit="km/h", min=0, max=MAX_SPEED_KM_H, rising="the car drives faster (0: parked, engine on)"
        ),
        "sun_elevation_deg": ParameterContract(
            unit="deg", min=-10, max=60, rising="a higher sun: from night through sunset to full day"
        ),
        "rain": ParameterContract(
            unit="0-1", min=0, max=1, rising="heavier rain, a wetter road with more glare, faster wipers"
        ),
        "aggression": ParameterContract(
            unit="0-1", min=0, max=1, rising="other drivers weave, tailgate and overtake faster"
        ),
    },
    events={
        "truck-overtakes": EventContract(description="a lorry overtakes close on the left"),
        "car-cuts-in": EventContract(
            description="a car overtakes and cuts into the patient's lane just ahead, braking"
        ),
        "hard-braking": EventContract(description="the car brakes hard, pitching forward, tyres squealing"),
        "near-miss": EventContract(
            description="a car drifts into the patient's lane just ahead, oncoming on a village road or "
            "from the next lane on a highway, and swerves back at the last moment"
        ),
        "siren-passes": EventContract(
            description="an emergency vehicle with flashing blue lights passes on the left"
        ),
        "accident-scene": EventContract(
            description="the car passes a wreck on the verge with a police car's flashing lights and cones"
        ),
        "collision": EventContract(description="a collision: a jolt of the cabin; its cue is the impact"),
        "collision-fade": EventContract(
            description="a collision's jolt, then the view fades to the safe place's warm colour and back"
        ),
    },
    audio_sources={
        "engine": AudioSourceContract(description="a four-cylinder engine, a shared family"),
        "tyre-roar": AudioSourceContract(
            description="tyres on asphalt: broadband road roar with a low rumble"
        ),
        "tyre-squeal": AudioSourceContract(description="a screech of tyres under hard braking, a one-shot"),
        "rain": AudioSourceContract(description="dense drops over a hiss, a shared family"),
        "siren": AudioSourceContract(description="an emergency siren's wail, a shared family"),
        "impact": AudioSourceContract(description="a heavy thud with a crunch, a shared family one-shot"),
    },
    anchors={
        "siren-vehicle": AnchorContract(description="the emergency vehicle of siren-passes"),
        "truck": AnchorContract(description="the lorry of truck-overtakes"),
        "bonnet": AnchorContract(description="the front of the patient's car, where its engine is"),
    },
    stimulus_tag="traffic",
    intensity_shows="more-stimulus",
)
