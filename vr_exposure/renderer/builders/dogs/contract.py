"""What the ``dogs`` builder reads, animates, synthesises and tags (plain data, no Panda3D)."""

from __future__ import annotations

from vr_exposure.core.contract import (
    AnchorContract,
    AudioSourceContract,
    BuilderContract,
    EventContract,
    ParameterContract,
)

MAX_DOGS = 4

#: The canine body-language ladder (after Shepherd's ladder of aggression), lowest first.
#: ``arousal`` 0-1 picks a rung: each rung starts at the threshold beside it.
LADDER: tuple[tuple[str, float], ...] = (
    ("calm", 0.0),
    ("alert", 0.2),
    ("stiff-staring", 0.4),
    ("growling", 0.6),
    ("barking", 0.8),
)

CONTRACT = BuilderContract(
    builder="dogs",
    summary="A park (lawn, path, trees, benches, a hedge) or a living room (sofa, rug, table, a door) "
    "with up to four dogs, on a leash walked by an owner or free.",
    parameters={
        "setting": ParameterContract(
            unit="0/1",
            min=0,
            max=1,
            rising="0 the park, 1 the living room (the patient on the sofa, a dog comes in by the door)",
        ),
        "dog_count": ParameterContract(unit="dogs", min=0, max=MAX_DOGS, rising="more dogs in the park"),
        "dog_size": ParameterContract(
            unit="0-2",
            min=0,
            max=2,
            rising="larger dogs: 0 small terrier-like, 1 medium spaniel-like, 2 large mastiff-like",
        ),
        "distance_m": ParameterContract(
            unit="m", min=0.6, max=10.0, rising="the nearest dog is farther from the patient"
        ),
        "off_leash": ParameterContract(
            unit="0/1", min=0, max=1, rising="the dogs are free: no owner holds them on a leash"
        ),
        "arousal": ParameterContract(
            unit="0-1",
            min=0,
            max=1,
            rising="a more aroused dog along the body-language ladder: calm, alert, stiff and staring, "
            "growling, barking",
        ),
        "movement": ParameterContract(
            unit="0-3",
            min=0,
            max=3,
            rising="more motion: 0 lying, 1 sitting, 2 walking to and fro, 3 running around (galloping)",
        ),
    },
    events={
        "walk-up-and-sniff": EventContract(
            description="the nearest dog walks up to the patient, stops 0.6 m short, sniffs and walks back"
        ),
        "run-toward": EventContract(
            description="the nearest dog runs at the patient, stops 0.8 m short and walks back"
        ),
        "jump-up": EventContract(
            description="the nearest dog runs up, rears on its hind legs with its front paws reaching "
            "toward the patient's knees, bounces once, drops back and walks back"
        ),
        "bark": EventContract(description="the nearest dog barks: head up, mouth snapping open"),
        "appear-from-behind": EventContract(
            description="a dog trots out from behind the hedge to the left (in the living room: in "
            "through the door, which opens and shuts behind it) and stops in view, then goes back"
        ),
    },
    audio_sources={
        "bark": AudioSourceContract(description="two or three barking bursts, the shared bark family"),
        "panting": AudioSourceContract(description="a dog's quick breathy panting, about three a second"),
        "growl": AudioSourceContract(description="a low rough growl with a slow rumble"),
        "wind": AudioSourceContract(description="light wind in the park, the shared wind family"),
        "paws-floor": AudioSourceContract(description="a dog's claws clicking on a wooden floor as it trots"),
        "paws-grass": AudioSourceContract(description="soft paw thuds and grass brushing as a dog trots"),
        "collar-tag": AudioSourceContract(description="the metal tags on a collar jingling as a dog moves"),
    },
    anchors={
        "nearest-dog": AnchorContract(description="the mouth of the nearest visible dog"),
        "dog": AnchorContract(description="the same as nearest-dog"),
        "paws-on-floor": AnchorContract(
            description="under the nearest moving dog in the living room (nowhere audible otherwise)"
        ),
        "paws-on-grass": AnchorContract(
            description="under the nearest moving dog in the park (nowhere audible otherwise)"
        ),
        "nearest-collar": AnchorContract(
            description="the collar of the nearest moving dog (nowhere audible while every dog is still)"
        ),
    },
    stimulus_tag="dog",
    intensity_shows="more-stimulus",
)


def ladder_rung(arousal: float) -> int:
    """The index into :data:`LADDER` for ``arousal`` (0-1); rises monotonically with it."""
    rung = 0
    for i, (_, start) in enumerate(LADDER):
        if arousal >= start:
            rung = i
    return rung
