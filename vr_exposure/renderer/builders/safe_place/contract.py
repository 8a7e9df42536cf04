"""What the ``safe-place`` builder reads and synthesises (plain data, no Panda3D). Nothing here is
feared: intensity only sets how lively the sea and the wind are."""

from __future__ import annotations

from vr_exposure.core.contract import AudioSourceContract, BuilderContract, ParameterContract

CONTRACT = BuilderContract(
    builder="safe-place",
    summary="A quiet sandy beach at dusk: slow waves, dune grass in a breeze, a low warm sun.",
    parameters={
        "wave_amplitude_m": ParameterContract(unit="m", min=0, max=1, rising="higher swell"),
        "wave_period_s": ParameterContract(
            unit="s", min=1, max=30, rising="slower waves (longer between two)"
        ),
        "wind_strength": ParameterContract(unit="0-1", min=0, max=1, rising="the dune grass sways more"),
        "light_warmth": ParameterContract(
            unit="0-1", min=0, max=1, rising="warmer light, from neutral daylight to deep golden"
        ),
        "sun_elevation_deg": ParameterContract(
            unit="deg", min=0, max=60, rising="a higher sun, shorter shadows"
        ),
    },
    audio_sources={
        "ambient-waves": AudioSourceContract(description="slow swells of surf on the sand and a soft breeze"),
    },
    stimulus_tag=None,
    intensity_shows="different-view",
)
