"""What the ``combat-convoy`` builder reads, animates, synthesises and tags (plain data, no Panda3D)."""

from __future__ import annotations

from vr_exposure.core.contract import (
    AnchorContract,
    AudioSourceContract,
    BuilderContract,
    EventContract,
    ParameterContract,
)

#: People along the road at the busiest (market stalls, then crowds at the roadside).
MAX_CROWD = 24

CONTRACT = BuilderContract(
    builder="combat-convoy",
    summary="The patient rides in an armoured vehicle of a convoy on a desert road past mud-brick "
    "villages, date palms and market stalls (passenger seat, driver's seat or the exposed turret), by "
    "day, at dusk or at night through night vision, in clear air or a sandstorm; the triggers of a "
    "combat trauma fire one at a time. No gore: the wounded are heard on the radio, never shown.",
    parameters={
        "position": ParameterContract(
            unit="0/1/2",
            min=0,
            max=2,
            rising="from the passenger seat to the driver's seat (1) to the exposed turret on the roof (2)",
        ),
        "convoy": ParameterContract(
            unit="0/1",
            min=0,
            max=1,
            rising="a convoy: a vehicle ahead and one behind instead of a lone vehicle",
        ),
        "sun_elevation_deg": ParameterContract(
            unit="deg", min=-12, max=60, rising="a higher sun: from night through dusk to full day"
        ),
        "night_vision": ParameterContract(
            unit="0/1", min=0, max=1, rising="the view through night-vision goggles: bright, grainy green"
        ),
        "sandstorm": ParameterContract(
            unit="0-1", min=0, max=1, rising="a thicker sandstorm: tan haze, blowing sand, wipers"
        ),
        "activity": ParameterContract(
            unit="0-1",
            min=0,
            max=1,
            rising=f"a livelier roadside: market stalls, then up to {MAX_CROWD} people close to the road",
        ),
        "vibration": ParameterContract(
            unit="0-1", min=0, max=1, rising="more engine and road vibration in the vehicle (capped, gentle)"
        ),
    },
    events={
        "vehicle-rumble": EventContract(
            description="the convoy's engines rev and the cabin rumbles harder for a while, within the "
            "ride's caps"
        ),
        "helicopter-flyover": EventContract(
            description="a helicopter crosses over the road from left to right, lower and nearer the "
            "stronger it is fired; its sound follows it"
        ),
        "call-to-prayer": EventContract(
            description="the call to prayer from the nearest minaret; birds rise from it and people by "
            "the road turn toward it"
        ),
        "distant-gunfire": EventContract(
            description="bursts of gunfire with muzzle flashes far off the road, 600 m away at strength "
            "0 and 150 m at 1"
        ),
        "near-gunfire": EventContract(
            description="gunfire from a building by the road, flashes and dust kicked up, 80 m away at "
            "strength 0 and 15 m at 1; people by the road flinch"
        ),
        "dog-barking": EventContract(description="a dog at the roadside barks at the vehicle as it passes"),
        "baby-crying": EventContract(
            description="a woman in a doorway by the road rocks a crying baby as the vehicle passes"
        ),
        "rooftop-figures": EventContract(
            description="figures rise on the rooftops ahead and watch the convoy pass; the strength sets "
            "how many, from one to five"
        ),
        "ied-ahead": EventContract(
            description="an IED on the vehicle ahead, or on the roadside ahead when alone: a flash, a "
            "fireball, a smoke column; the convoy halts; radio static and shouting"
        ),
        "own-vehicle-hit": EventContract(
            description="the patient's vehicle is hit: a flash at the side, a jolt within the ride's "
            "caps, dust filling the view, ringing ears"
        ),
    },
    audio_sources={
        "diesel-rumble": AudioSourceContract(
            description="a heavy diesel at low revs: a 20 Hz firing rumble with a rattling edge"
        ),
        "call-to-prayer": AudioSourceContract(
            description="a melismatic voice-like chant through a loudspeaker (vowels and ornamented "
            "pitch glides, no words), with echo"
        ),
        "gunfire": AudioSourceContract(
            description="bursts and single shots: sharp cracks with a low report and an echo"
        ),
        "baby-cry": AudioSourceContract(
            description="a baby's crying: rising and falling wails near 450 Hz with sobbing breaths"
        ),
        "ied-blast": AudioSourceContract(
            description="a blast (boom, crack, falling debris), then radio static with squelch and "
            "shouting-like voices through the radio, no words"
        ),
        "helicopter": AudioSourceContract(description="blade thumps over a turbine whine, a shared family"),
        "wind": AudioSourceContract(description="gusting wind, a shared family (a sandstorm's roar)"),
        "crowd-murmur": AudioSourceContract(description="a crowd talking without words, a shared family"),
        "bark": AudioSourceContract(description="barking-like bursts, a shared family"),
        "ringing-ears": AudioSourceContract(
            description="a dull thud, then a high ringing tone over muffled sound that fades slowly"
        ),
    },
    anchors={
        "engine-bay": AnchorContract(description="the front of the patient's vehicle, its engine"),
        "helicopter-body": AnchorContract(
            description="the helicopter of helicopter-flyover (its sound at a compressed distance on "
            "the line to it)"
        ),
        "minaret": AnchorContract(description="the nearest minaret ahead (compressed distance)"),
        "gun-position": AnchorContract(description="where the gunfire comes from (compressed distance)"),
        "roadside-dog": AnchorContract(description="the barking dog (compressed distance)"),
        "mother": AnchorContract(description="the woman with the crying baby (compressed distance)"),
        "blast-point": AnchorContract(description="the IED ahead (compressed distance)"),
    },
    stimulus_tag="people",
    intensity_shows="more-stimulus",
)
