"""What the ``flying`` builder reads, animates, synthesises and tags (plain data, no Panda3D)."""

from __future__ import annotations

from vr_exposure.core.contract import (
    AnchorContract,
    AudioSourceContract,
    BuilderContract,
    EventContract,
    ParameterContract,
)

#: The flight phases in order (``phase`` picks one by its index).
PHASES = (
    "gate",
    "boarding",
    "engines-on",
    "taxi",
    "take-off",
    "cruise",
    "turbulence",
    "storm",
    "landing",
)
#: How hard the engines run in each phase (0 off, 1 take-off thrust); the scene YAML's engine cue
#: follows the same levels through the intensities where each phase is shown.
ENGINE_LEVEL = {
    "gate": 0.0,
    "boarding": 0.0,
    "engines-on": 0.45,
    "taxi": 0.55,
    "take-off": 1.0,
    "cruise": 0.7,
    "turbulence": 0.7,
    "storm": 0.75,
    "landing": 0.5,
}
#: The seat-belt sign is lit in every phase but a smooth cruise and boarding.
BELT_SIGN_OFF = ("boarding", "cruise")
SEATS = ("front", "over-wing", "behind-wing")
WEATHER = ("clear", "rain", "storm")
MAX_PASSENGERS = 36

CONTRACT = BuilderContract(
    builder="flying",
    summary="A window seat in an airliner's cabin, from the gate through boarding, taxi, take-off, "
    "cruise, turbulence and a storm to landing: rows of seats that fill with passengers, overhead "
    "bins, the wing and the world outside the window by day or night, in clear weather, rain or a "
    "storm; turbulence shakes the cabin (never the patient's view).",
    parameters={
        "phase": ParameterContract(
            unit="kind",
            min=0,
            max=len(PHASES) - 1,
            rising="a later flight phase: 0 gate, 1 boarding, 2 engines on, 3 taxi, 4 take-off, "
            "5 cruise, 6 turbulence, 7 storm, 8 landing",
        ),
        "passengers": ParameterContract(
            unit="people",
            min=0,
            max=MAX_PASSENGERS,
            rising="a fuller cabin (the seats round the patient fill in a fixed order; in the front row only "
            "as many as sit beside and behind)",
        ),
        "seat": ParameterContract(
            unit="kind",
            min=0,
            max=len(SEATS) - 1,
            rising="the window seat moves back: 0 front row, 1 over the wing, 2 behind the wing",
        ),
        "night": ParameterContract(
            unit="0/1", min=0, max=1, rising="night: a dark sky, the cabin lights dimmed, lights below"
        ),
        "weather": ParameterContract(
            unit="kind", min=0, max=len(WEATHER) - 1, rising="worse weather: 0 clear, 1 rain, 2 storm"
        ),
        "turbulence": ParameterContract(
            unit="0-1", min=0, max=1, rising="stronger turbulence: the cabin shakes and the bins rattle"
        ),
    },
    events={
        "take-off-roll": EventContract(
            description="the aircraft rolls down the runway at full thrust, the runway's markings rush past "
            "faster and faster, then the nose lifts and the ground falls away"
        ),
        "turbulence-burst": EventContract(
            description="a burst of turbulence: the cabin jolts and shakes for a few seconds, the bins "
            "rattle, heads bob; the strength scales the jolts"
        ),
        "captain-announcement": EventContract(
            description="the cabin chime and the captain's voice; the attendant-call light comes on and "
            "the passengers look up"
        ),
        "landing-bump": EventContract(
            description="touchdown: the runway rushes past, the cabin bumps, the spoilers rise on the wing "
            "and the tyres squeal"
        ),
    },
    audio_sources={
        "jet-engine": AudioSourceContract(description="a turbofan: broadband roar and the fan's whine"),
        "cabin-air": AudioSourceContract(description="the cabin's air conditioning: a soft broad hiss"),
        "wind": AudioSourceContract(description="gusting wind, a shared family (the slipstream)"),
        "rain": AudioSourceContract(description="dense drops over a hiss, a shared family"),
        "crowd-murmur": AudioSourceContract(description="many people talking at once, a shared family"),
        "bins-rattle": AudioSourceContract(
            description="overhead bins and trolleys rattling in their latches"
        ),
        "turbulence-jolt": AudioSourceContract(
            description="thumps and a rattle of the cabin in a burst of turbulence, then the seat-belt chime"
        ),
        "captain-voice": AudioSourceContract(
            description="the cabin chime, then a voice-like babble through a narrow loudspeaker band"
        ),
        "touchdown": AudioSourceContract(
            description="a heavy bump of the landing gear, a tyre squeal, then the reverse thrust's roar"
        ),
    },
    anchors={
        "engine": AnchorContract(description="the left wing's engine, where it is for the seat"),
        "speaker": AnchorContract(description="the cabin loudspeaker in the ceiling above the patient"),
    },
    stimulus_tag="flight",
    intensity_shows="different-view",
)
