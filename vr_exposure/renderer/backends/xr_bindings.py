"""The patient's controls on every common controller: suggested OpenXR bindings per interaction
profile, as plain data (no pyopenxr), so they can be checked without a runtime.

Four actions (see :class:`~vr_exposure.renderer.backends.xr_seam.ActionStates`) and a haptic output:

- ``safe_place``: a left-hand button reachable without looking (menu, or the upper face button);
- ``suds_axis``: the right thumbstick's (or trackpad's) y, to choose a rating;
- ``suds_step``: a right button that steps the rating, for controllers with no stick;
- ``suds_confirm``: the right primary face button or the trigger;
- ``prompt_haptic``: a short pulse on both hands when a SUDS prompt opens.

A profile that needs an extension is suggested only when the runtime offers it (the instance enables
it); a runtime that still rejects a profile leaves the others bound, and says which in its log.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACTION_NAMES", "PROFILES", "InteractionProfile", "profile_extensions"]

ACTION_NAMES = ("safe_place", "suds_axis", "suds_step", "suds_confirm", "prompt_haptic")

L = "/user/hand/left"
R = "/user/hand/right"
_HAPTIC = (f"{L}/output/haptic", f"{R}/output/haptic")


@dataclass(frozen=True, slots=True)
class InteractionProfile:
    """One controller family: its OpenXR path, the extension it needs (None: core 1.0) and its
    bindings (action name -> input or output paths)."""

    name: str
    path: str
    extension: str | None
    bindings: dict[str, tuple[str, ...]]


PROFILES: tuple[InteractionProfile, ...] = (
    InteractionProfile(
        "Khronos simple controller",
        "/interaction_profiles/khr/simple_controller",
        None,
        {
            "safe_place": (f"{L}/input/menu/click",),
            "suds_step": (f"{R}/input/select/click",),
            "suds_confirm": (f"{R}/input/menu/click",),
            "prompt_haptic": _HAPTIC,
        },
    ),
    InteractionProfile(
        "Oculus Touch",
        "/interaction_profiles/oculus/touch_controller",
        None,
        {
            "safe_place": (f"{L}/input/menu/click", f"{L}/input/y/click"),
            "suds_axis": (f"{R}/input/thumbstick/y",),
            "suds_confirm": (f"{R}/input/a/click", f"{R}/input/trigger/value"),
            "prompt_haptic": _HAPTIC,
        },
    ),
    InteractionProfile(
        "Valve Index",
        "/interaction_profiles/valve/index_controller",
        None,
        {
            "safe_place": (f"{L}/input/b/click",),
            "suds_axis": (f"{R}/input/thumbstick/y",),
            "suds_confirm": (f"{R}/input/a/click", f"{R}/input/trigger/click"),
            "prompt_haptic": _HAPTIC,
        },
    ),
    InteractionProfile(
        "HTC Vive",
        "/interaction_profiles/htc/vive_controller",
        None,
        {
            "safe_place": (f"{L}/input/menu/click",),
            "suds_axis": (f"{R}/input/trackpad/y",),
            "suds_confirm": (f"{R}/input/trigger/click",),
            "prompt_haptic": _HAPTIC,
        },
    ),
    InteractionProfile(
        "Windows Mixed Reality",
        "/interaction_profiles/microsoft/motion_controller",
        None,
        {
            "safe_place": (f"{L}/input/menu/click",),
            "suds_axis": (f"{R}/input/thumbstick/y",),
            "suds_confirm": (f"{R}/input/trigger/value",),
            "prompt_haptic": _HAPTIC,
        },
    ),
    InteractionProfile(
        "HP Reverb G2",
        "/interaction_profiles/hp/mixed_reality_controller",
        "XR_EXT_hp_mixed_reality_controller",
        {
            "safe_place": (f"{L}/input/menu/click", f"{L}/input/y/click"),
            "suds_axis": (f"{R}/input/thumbstick/y",),
            "suds_confirm": (f"{R}/input/a/click", f"{R}/input/trigger/value"),
            "prompt_haptic": _HAPTIC,
        },
    ),
    InteractionProfile(
        "Pico 4",
        "/interaction_profiles/bytedance/pico4_controller",
        "XR_BD_controller_interaction",
        {
            "safe_place": (f"{L}/input/menu/click", f"{L}/input/y/click"),
            "suds_axis": (f"{R}/input/thumbstick/y",),
            "suds_confirm": (f"{R}/input/a/click", f"{R}/input/trigger/click"),
            "prompt_haptic": _HAPTIC,
        },
    ),
    InteractionProfile(
        "Meta Quest Pro",
        "/interaction_profiles/facebook/touch_controller_pro",
        "XR_FB_touch_controller_pro",
        {
            "safe_place": (f"{L}/input/menu/click", f"{L}/input/y/click"),
            "suds_axis": (f"{R}/input/thumbstick/y",),
            "suds_confirm": (f"{R}/input/a/click", f"{R}/input/trigger/value"),
            "prompt_haptic": _HAPTIC,
        },
    ),
)
"""Khronos' generic controller profile is not listed: no runtime this project is tested on offers it
(Monado rejects its path); it belongs here once one does."""


def profile_extensions() -> tuple[str, ...]:
    """The extensions the instance enables where offered, so these profiles can be suggested."""
    return tuple(sorted({p.extension for p in PROFILES if p.extension is not None}))
