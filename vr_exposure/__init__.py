"""vr_exposure: a VR exposure-therapy session controller.

A Panda3D/OpenXR renderer plays graded exposure scenes, a PyQt6 therapist console steers it over
ZeroMQ, and every session leaves a crash-safe journal that research tools replay, report and export.
"""

from vr_exposure.errors import JournalError, LinkError, SpecError, VrExposureError

__version__ = "0.1.0"

__all__ = ["JournalError", "LinkError", "SpecError", "VrExposureError", "__version__"]
