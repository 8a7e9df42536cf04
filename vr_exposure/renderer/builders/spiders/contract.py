"""What the ``spiders`` builder reads, animates, synthesises and tags (plain data, no Panda3D)."""

from __future__ import annotations

from vr_exposure.core.contract import (
    AnchorContract,
    AudioSourceContract,
    BuilderContract,
    EventContract,
    ParameterContract,
)

#: The builder keeps a spider on a thread for 8 s after it has dropped, then it climbs back in 3 s.
DROP_HANG_S = 8.0
DROP_CLIMB_S = 3.0
MAX_SPIDERS = 12

CONTRACT = BuilderContract(
    builder="spiders",
    summary="A small study (desk, shelf, window, lamp) with a photograph, a jar and up to 12 live spiders.",
    parameters={
        "photo_visible": ParameterContract(
            unit="0/1",
            min=0,
            max=1,
            rising="a framed photograph of a spider stands where the nearest spider would",
        ),
        "spider_count": ParameterContract(
            unit="spiders", min=0, max=MAX_SPIDERS, rising="more live spiders in the room"
        ),
        "enclosed": ParameterContract(
            unit="0/1", min=0, max=1, rising="the nearest spider is shut in a glass jar (less exposure)"
        ),
        "nearest_distance_m": ParameterContract(
            unit="m",
            min=0.3,
            max=4.0,
            rising="the nearest spider (or jar, or photograph) is farther from the eyes",
        ),
        "spider_size_m": ParameterContract(unit="m", min=0.01, max=0.25, rising="larger spiders (leg span)"),
        "movement": ParameterContract(
            unit="0-1", min=0, max=1, rising="more active spiders: still, twitching legs, then brisk walking"
        ),
        "approach_speed_m_s": ParameterContract(
            unit="m/s", min=0, max=0.5, rising="spiders walk faster, toward the patient in walk-toward"
        ),
        "room_light": ParameterContract(
            unit="0-1", min=0, max=1.5, rising="a brighter room (lower: dim, shadowy)"
        ),
    },
    events={
        "walk-toward": EventContract(
            description="the nearest free spider walks toward the patient and stops 0.15 m short"
        ),
        "drop-from-ceiling": EventContract(
            description="a spider lowers itself on a thread from the ceiling in front of the patient in "
            "duration_s, hangs there and climbs back up",
            extra_s=DROP_HANG_S + DROP_CLIMB_S,
        ),
        "scatter": EventContract(description="every free spider runs a short way in a random direction"),
    },
    audio_sources={
        "scuttle": AudioSourceContract(description="bursts of short band-passed clicks: legs on wood"),
        "room-tone": AudioSourceContract(description="air noise, a faint mains hum and a ticking clock"),
    },
    anchors={
        "nearest-spider": AnchorContract(
            description="the dropping spider while it hangs, else the nearest visible one"
        ),
        "spider": AnchorContract(description="the same as nearest-spider"),
        "dropping-spider": AnchorContract(description="the spider of drop-from-ceiling"),
    },
    stimulus_tag="spider",
    intensity_shows="more-stimulus",
)
