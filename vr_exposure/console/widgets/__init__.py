"""The console's widgets: each one small, Qt-only, talking to the rest through signals."""

from __future__ import annotations

from .advice import AdvicePanel
from .banner import ConnectionBanner
from .events import EventButtons, EventItem
from .intensity import IntensityBinding, IntensityControl
from .notes import NotesPanel
from .refusal import RefusalBar
from .rungs import RungItem, RungPicker
from .ssq import SsqForm
from .suds import SUDS_KEYS, UNDO_KEYS, SudsEntry
from .timer import SessionTimer, format_duration
from .triggers import TriggerItem, TriggerPanel
from .warnings import ComfortStrip, RendererLog

__all__ = [
    "SUDS_KEYS",
    "UNDO_KEYS",
    "AdvicePanel",
    "ComfortStrip",
    "ConnectionBanner",
    "EventButtons",
    "EventItem",
    "IntensityBinding",
    "IntensityControl",
    "NotesPanel",
    "RefusalBar",
    "RendererLog",
    "RungItem",
    "RungPicker",
    "SessionTimer",
    "SsqForm",
    "SudsEntry",
    "TriggerItem",
    "TriggerPanel",
    "format_duration",
]
