"""Pure-Python core: content specs, session engine, SUDS schedule, metrics. No Qt, no Panda3D."""

from vr_exposure.core.loading import (
    ContentDirs,
    ContentLibrary,
    check_file,
    default_content_dirs,
    load_library,
    load_protocol,
    load_scene,
)
from vr_exposure.core.specs import ProtocolSpec, SceneSpec

__all__ = [
    "ContentDirs",
    "ContentLibrary",
    "ProtocolSpec",
    "SceneSpec",
    "check_file",
    "default_content_dirs",
    "load_library",
    "load_protocol",
    "load_scene",
]
