"""What the ``enclosed`` builder reads, animates, synthesises and tags (plain data, no Panda3D)."""

from __future__ import annotations

from vr_exposure.core.contract import (
    AnchorContract,
    AudioSourceContract,
    BuilderContract,
    EventContract,
    ParameterContract,
)

#: The spaces, from the widest to the tightest (``space`` picks one).
SPACES = ("room", "large-lift", "small-lift", "crawl-space", "mri-bore")
MAX_PEOPLE = 6

CONTRACT = BuilderContract(
    builder="enclosed",
    summary="A room, a large and a small lift, a crawl space and an MRI scanner's bore round the "
    "seated patient: a door that closes and locks, light that dims and flickers, people who share "
    "the space.",
    parameters={
        "space": ParameterContract(
            unit="kind",
            min=0,
            max=len(SPACES) - 1,
            rising="a tighter space: 0 room, 1 large lift, 2 small lift, 3 crawl space, 4 MRI bore",
        ),
        "door": ParameterContract(
            unit="kind", min=0, max=2, rising="the way out shuts: 0 open, 1 closed, 2 locked"
        ),
        "windows": ParameterContract(
            unit="0/1", min=0, max=1, rising="the room's window is shuttered (0: open daylight)"
        ),
        "people": ParameterContract(
            unit="people", min=0, max=MAX_PEOPLE, rising="more people share the space (as many as fit)"
        ),
        "light": ParameterContract(unit="0-1", min=0.15, max=1, rising="brighter light"),
        "flicker": ParameterContract(unit="0-1", min=0, max=1, rising="the light flickers more often"),
        "riding": ParameterContract(
            unit="0/1", min=0, max=1, rising="the lift travels: its floor lamps count up, its motor hums"
        ),
        "table_in": ParameterContract(
            unit="0-1", min=0, max=1, rising="the scanner's table lies further into the bore (1: head inside)"
        ),
    },
    events={
        "door-closes": EventContract(
            description="the door swings or slides shut, and stays shut until the intensity or the preset "
            "next changes"
        ),
        "lift-stalls": EventContract(
            description="the lift stops between floors: the floor lamps freeze between two, the light "
            "flickers hard and drops to the dim emergency light until the event ends"
        ),
        "people-crowd-in": EventContract(
            description="two more people walk in through the doorway and stand close (as many as fit), "
            "and stay until the intensity or the preset next changes"
        ),
        "table-slides-in": EventContract(
            description="the scanner's table slides the patient's head into the bore, and stays there "
            "until the intensity or the preset next changes"
        ),
    },
    audio_sources={
        "lift-hum": AudioSourceContract(description="a lift's motor and ventilation: a low hum and air"),
        "lift-door": AudioSourceContract(description="lift doors rumbling shut with a thud"),
        "alarm-bell": AudioSourceContract(description="an electric alarm bell ringing in bursts"),
        "scanner-knock": AudioSourceContract(
            description="an MRI scanner's loud rhythmic knocking over a cryo-pump's chirp"
        ),
    },
    anchors={
        "door": AnchorContract(description="the middle of the doorway of the space in use"),
        "bore": AnchorContract(description="the far end of the scanner's bore"),
    },
    stimulus_tag="enclosure",
    intensity_shows="different-view",
)
