"""What the ``public-speaking`` builder reads, animates, synthesises and tags (plain data, no Panda3D)."""

from __future__ import annotations

from vr_exposure.core.contract import (
    AnchorContract,
    AudioSourceContract,
    BuilderContract,
    EventContract,
    ParameterContract,
)

#: The rooms, from the smallest to the largest (``room_size`` picks one), and their seats.
ROOMS = ("meeting-room", "classroom", "lecture-hall")
SEATS = (10, 24, 40)
MAX_AUDIENCE = SEATS[-1]

CONTRACT = BuilderContract(
    builder="public-speaking",
    summary="The patient stands at a lectern before an audience, in a meeting room, a classroom or a "
    "tiered lecture hall, behind a curtain at first; the audience watches, nods, gets bored, whispers, "
    "turns hostile or applauds, one key per reaction.",
    parameters={
        "audience": ParameterContract(
            unit="people",
            min=0,
            max=MAX_AUDIENCE,
            rising="more people in the seats (as many as the room seats)",
        ),
        "attention": ParameterContract(
            unit="0-3",
            min=0,
            max=3,
            rising="a cooler audience: 0 interested (leaning in, nodding), 1 neutral, 2 bored (slumped, "
            "looking away, at phones, yawning), 3 hostile (arms crossed, frowning, whispering)",
        ),
        "reaction_rate": ParameterContract(
            unit="per min",
            min=0,
            max=30,
            rising="more spontaneous reactions a minute across the audience, of the kind attention says",
        ),
        "gaze": ParameterContract(
            unit="0-1", min=0, max=1, rising="a larger share of the audience looks straight at the speaker"
        ),
        "hands_up": ParameterContract(
            unit="0-1",
            min=0,
            max=1,
            rising="a larger share of the audience holds a hand up to ask a question",
        ),
        "room_size": ParameterContract(
            unit="kind",
            min=0,
            max=len(ROOMS) - 1,
            rising="a larger room: 0 meeting room, 1 classroom, 2 lecture hall",
        ),
        "curtain": ParameterContract(
            unit="0/1",
            min=0,
            max=1,
            rising="the curtain is closed in front of the lectern (the audience heard, not seen)",
        ),
    },
    events={
        "applause": EventContract(description="the audience claps (strength: the share who clap)"),
        "cough": EventContract(
            description="someone coughs, a hand to the mouth (strength: nearer the front)"
        ),
        "whispering": EventContract(
            description="neighbours lean together and whisper, glancing at the speaker (strength: more pairs)"
        ),
        "walk-out": EventContract(
            description="someone gets up, walks to the door and leaves; the seat stays empty until the "
            "next change of rung or intensity"
        ),
        "phone-rings": EventContract(
            description="a phone rings in the audience; its owner fumbles for it, the neighbours look over"
        ),
        "hostile-question": EventContract(
            description="a listener raises a hand, leans forward and asks a sharp question (a voice-like "
            "sound; the words are in the event's description for the therapist)"
        ),
        "curtain-opens": EventContract(
            description="the curtain draws open on the audience (if open, it closes and opens again)"
        ),
    },
    audio_sources={
        "crowd-murmur": AudioSourceContract(description="a room of people talking at once, a shared family"),
        "applause": AudioSourceContract(
            description="many hands clapping, swelling and dying away; a one-shot"
        ),
        "cough": AudioSourceContract(description="two or three dry coughs; a one-shot"),
        "whisper": AudioSourceContract(description="unvoiced, hissing speech without words"),
        "phone-ring": AudioSourceContract(description="a mobile phone's trilling ring, three rings"),
        "question-voice": AudioSourceContract(
            description="one voice-like babble, low and insistent, rising at the end like a question"
        ),
        "footsteps": AudioSourceContract(description="footsteps on a hard floor, then a door closing"),
        "curtain-swish": AudioSourceContract(description="heavy cloth sliding and curtain rings rattling"),
    },
    anchors={
        "audience": AnchorContract(description="the middle of the seated audience"),
        "reactor": AnchorContract(
            description="the head of the last one to react (cougher, phone owner, questioner, whisperer)"
        ),
        "walker": AnchorContract(description="the person walking out"),
        "curtain-rail": AnchorContract(description="the middle of the curtain"),
    },
    stimulus_tag="audience",
    intensity_shows="more-stimulus",
)
