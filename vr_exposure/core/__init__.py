"""Pure-Python core: content specs, session engine, SUDS schedule, metrics. No Qt, no Panda3D."""

from vr_exposure.core.engine import (
    Advice,
    EngineSummary,
    SessionEngine,
    SessionEvent,
    SessionInputError,
    SessionStateError,
)
from vr_exposure.core.loading import (
    ContentDirs,
    ContentLibrary,
    check_file,
    default_content_dirs,
    load_library,
    load_protocol,
    load_scene,
)
from vr_exposure.core.metrics import (
    BetweenSessionChange,
    SessionMetrics,
    between_session_change,
    session_metrics,
    trajectory_metrics,
)
from vr_exposure.core.simulated_patient import SimulatedPatient
from vr_exposure.core.specs import ProtocolSpec, SceneSpec
from vr_exposure.core.ssq import SSQ_ITEMS, SsqError, SsqScore, score_ssq
from vr_exposure.core.suds import ProbeSchedule, RatingError, SudsRating

__all__ = [
    "SSQ_ITEMS",
    "Advice",
    "BetweenSessionChange",
    "EngineSummary",
    "ProbeSchedule",
    "RatingError",
    "SessionEngine",
    "SessionEvent",
    "SessionInputError",
    "SessionMetrics",
    "SessionStateError",
    "SimulatedPatient",
    "SsqError",
    "SsqScore",
    "SudsRating",
    "between_session_change",
    "score_ssq",
    "session_metrics",
    "trajectory_metrics",
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
