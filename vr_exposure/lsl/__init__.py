"""Lab Streaming Layer: the session's markers, SUDS, intensity and head pose as LSL streams, and an
inlet for a physiology stream (heart rate, EDA) that the console journals and plots.

Streams (all with a ``source_id`` that depends only on the session, so a recorder such as LabRecorder
picks a stream up again after the process publishing it crashed and restarted)::

    name                    type       channels                            rate       source_id suffix
    vr-exposure markers     Markers    1 string (JSON)                     irregular  -markers
    vr-exposure SUDS        SUDS       1 float32 suds_0_100                irregular  -suds
    vr-exposure intensity   Intensity  1 float32 intensity_0_100           irregular  -intensity
    vr-exposure head pose   MoCap      7 float32 x y z (m), qx qy qz qw    display    -head-pose

(``source_id`` is ``vr-exposure-<session_id><suffix>``.)

The console publishes the first three, the renderer the head pose; both through :class:`LslBridge`.

Clocks: journal stamps are ``time.monotonic_ns()`` (CLOCK_MONOTONIC). liblsl's ``local_clock()`` is
``std::chrono::steady_clock``, which on Linux is CLOCK_MONOTONIC too, so ``t_mono_ns / 1e9`` *is* an LSL
timestamp. :func:`lsl_clock_offset_s` measures the difference once at start (it is ~0 on Linux) and
every sample is stamped ``t_mono_ns / 1e9 + offset`` explicitly, so a platform where the two clocks
differ still gets right LSL times.

Order: LSL recorders and XDF readers take each stream's stamps as a time series in order (LabRecorder
writes samples as they come; pyxdf's clock synchronisation and jitter removal assume it), so every
stream's stamps are non-decreasing. Records reach :meth:`LslBridge.on_event` in journal order, which
is not always the order of their own times (a renderer fact arrives over the link after console
records stamped later), so a sample is stamped with its record's own time unless that is earlier
than the stream's previous stamp; then it gets the previous stamp (never a time before it). That is
the record's time whenever records come in order, and otherwise the earliest stamp that keeps the
stream in order, closer to the truth than stamping every sample when it is pushed (after the
journal's fsync). The marker's JSON carries the record's own time (``t_mono_ns``) either way.

Which records feed which stream (the same rule as the report, see docs/research.md):

* SUDS: the console session engine's ``suds_recorded`` (content ``{"rating": {...}}``) only. The
  renderer's ``rating_recorded`` fact (the patient's key press in VR, content ``{"value": ...}``)
  reaches the console, which records it through the engine; pushing both would count it twice.
* intensity: the renderer's facts (``intensity_changed`` with ``target``, ``scene_loaded``,
  ``preset_applied``): the renderer is the authority on what the patient sees. The engine's own
  ``intensity_set`` (``intensity_from``) is the therapist's request and goes to markers only.
* markers: every clinical record handed in, as JSON ``{"msg_type", "process", "t_mono_ns", "content"}``.

pylsl is imported lazily so the module can be imported (and documented) without liblsl.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

STREAM_NAMES: dict[str, str] = {
    "markers": "vr-exposure markers",
    "suds": "vr-exposure SUDS",
    "intensity": "vr-exposure intensity",
    "head-pose": "vr-exposure head pose",
}
POSE_CHANNELS: tuple[tuple[str, str, str], ...] = (
    ("head_position_x", "PositionX", "meters"),
    ("head_position_y", "PositionY", "meters"),
    ("head_position_z", "PositionZ", "meters"),
    ("head_orientation_x", "OrientationX", "quaternion"),
    ("head_orientation_y", "OrientationY", "quaternion"),
    ("head_orientation_z", "OrientationZ", "quaternion"),
    ("head_orientation_w", "OrientationW", "quaternion"),
)
#: Renderer facts whose content carries the intensity the patient is (being ramped) shown.
_INTENSITY_FACTS = ("intensity_changed", "scene_loaded", "preset_applied")
#: The journal record type a console writes for each batch a :class:`PhysioInlet` returns.
PHYSIO_MSG_TYPE = "physio_samples"

LOOPBACK_CONFIG = """\
[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
KnownPeers = {127.0.0.1}
[lab]
KnownPeers = {127.0.0.1}
"""
"""An ``lsl_api.cfg`` that keeps discovery on this machine (tests; a single-PC lab)."""


def source_id(session_id: str, stream: str) -> str:
    """``vr-exposure-<session_id>-<stream>``: stable across restarts of the publishing process."""
    if stream not in STREAM_NAMES:
        raise ValueError(f"unknown vr-exposure LSL stream {stream!r} (known: {', '.join(STREAM_NAMES)})")
    return f"vr-exposure-{session_id}-{stream}"


def lsl_clock_offset_s() -> float:
    """``pylsl.local_clock() - time.monotonic()`` in seconds, the smallest of a few bracketed reads.

    0 (within microseconds) on Linux, where both are CLOCK_MONOTONIC."""
    import pylsl

    best: tuple[float, float] | None = None
    for _ in range(5):
        a = time.monotonic_ns()
        lsl_s = pylsl.local_clock()
        b = time.monotonic_ns()
        width = (b - a) / 1e9
        offset = lsl_s - (a + b) / 2e9
        if best is None or width < best[0]:
            best = (width, offset)
    assert best is not None
    return best[1]


def use_loopback_config() -> None:
    """Keep LSL discovery on this machine. Must run before the first stream is created or resolved
    (liblsl reads its configuration once)."""
    import pylsl

    pylsl.set_config_content(LOOPBACK_CONFIG)


def _stream_info(session_id: str, stream: str, stype: str, channels: int, rate_hz: float, fmt: str) -> Any:
    import pylsl

    formats = {"string": pylsl.cf_string, "float32": pylsl.cf_float32, "double64": pylsl.cf_double64}
    info = pylsl.StreamInfo(
        STREAM_NAMES[stream], stype, channels, rate_hz, formats[fmt], source_id(session_id, stream)
    )
    desc = info.desc()
    desc.append_child_value("session_id", session_id)
    desc.append_child_value("software", "vr-exposure")
    desc.append_child_value("clock", "CLOCK_MONOTONIC (journal t_mono_ns / 1e9)")
    return info


def _add_channels(info: Any, channels: Sequence[tuple[str, str, str]]) -> None:
    chans = info.desc().append_child("channels")
    for label, ctype, unit in channels:
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("type", ctype)
        ch.append_child_value("unit", unit)
        if ctype.startswith(("Position", "Orientation")):
            ch.append_child_value("marker", "head")


class LslBridge:
    """LSL outlets for one session, fed by the console (markers, SUDS, intensity) or the renderer
    (head pose). Build with :meth:`for_console` or :meth:`for_renderer`; call :meth:`on_event` with each
    clinical record as it is journaled and :meth:`push_pose` with each head pose; :meth:`close` at the
    end. Pushing never blocks (liblsl buffers), so it is safe in the render loop."""

    def __init__(
        self,
        session_id: str,
        *,
        markers: bool = False,
        suds: bool = False,
        intensity: bool = False,
        pose_rate_hz: float | None = None,
        process: str = "console",
    ) -> None:
        import pylsl

        self.session_id = session_id
        self.process = process
        self.clock_offset_s = lsl_clock_offset_s()
        if abs(self.clock_offset_s) > 1e-3:
            log.info(
                "LSL clock differs from the monotonic clock by %.6f s; stamps are shifted",
                self.clock_offset_s,
            )
        self.outlets: dict[str, Any] = {}
        self.pushed: dict[str, int] = {}
        #: The last LSL stamp pushed on each stream.
        self.last_stamp: dict[str, float] = {}
        if markers:
            info = _stream_info(session_id, "markers", "Markers", 1, pylsl.IRREGULAR_RATE, "string")
            self.outlets["markers"] = pylsl.StreamOutlet(info)
        if suds:
            info = _stream_info(session_id, "suds", "SUDS", 1, pylsl.IRREGULAR_RATE, "float32")
            _add_channels(info, [("suds_0_100", "SUDS", "SUDS 0-100")])
            self.outlets["suds"] = pylsl.StreamOutlet(info)
        if intensity:
            info = _stream_info(session_id, "intensity", "Intensity", 1, pylsl.IRREGULAR_RATE, "float32")
            _add_channels(info, [("intensity_0_100", "Intensity", "percent")])
            self.outlets["intensity"] = pylsl.StreamOutlet(info)
        if pose_rate_hz is not None:
            if not pose_rate_hz > 0:
                raise ValueError(f"pose_rate_hz must be the display rate (> 0), not {pose_rate_hz!r}")
            info = _stream_info(session_id, "head-pose", "MoCap", 7, float(pose_rate_hz), "float32")
            _add_channels(info, POSE_CHANNELS)
            setup = info.desc().append_child("setup")
            setup.append_child("markers").append_child("marker").append_child_value("label", "head")
            acq = info.desc().append_child("acquisition")
            acq.append_child_value("manufacturer", "vr-exposure")
            acq.append_child_value("model", "head-mounted display (tracking space)")
            acq.append_child_value("coordinate_system", "Panda3D: +x right, +y forward, +z up")
            self.outlets["head-pose"] = pylsl.StreamOutlet(info, chunk_size=1)
        self.pushed = dict.fromkeys(self.outlets, 0)

    @classmethod
    def for_console(cls, session_id: str) -> LslBridge:
        """Markers, SUDS and intensity outlets."""
        return cls(session_id, markers=True, suds=True, intensity=True, process="console")

    @classmethod
    def for_renderer(cls, session_id: str, display_rate_hz: float) -> LslBridge:
        """The head-pose outlet at the display rate (the nominal rate LSL recorders see)."""
        return cls(session_id, pose_rate_hz=display_rate_hz, process="renderer")

    def lsl_time(self, t_mono_ns: int) -> float:
        """The LSL timestamp of a journal stamp."""
        return t_mono_ns / 1e9 + self.clock_offset_s

    def _push(self, stream: str, sample: list[Any], t_mono_ns: int) -> None:
        # Never back in time on one stream (see "Order" in the module docstring).
        stamp = max(self.lsl_time(t_mono_ns), self.last_stamp.get(stream, -math.inf))
        self.outlets[stream].push_sample(sample, stamp)
        self.last_stamp[stream] = stamp
        self.pushed[stream] += 1

    def on_event(self, msg_type: str, content: Mapping[str, Any], t_mono_ns: int) -> None:
        """One clinical record (as journaled) with its own time: a marker, plus a SUDS or intensity
        sample where it is one (see the module docstring for which records count, and for the
        stamps of records that come out of time order)."""
        stamp_ns = t_mono_ns
        if "markers" in self.outlets:
            marker = {
                "msg_type": msg_type,
                "process": self.process,
                "t_mono_ns": t_mono_ns,
                "content": content,
            }
            self._push("markers", [json.dumps(marker, default=_jsonable, separators=(",", ":"))], stamp_ns)
        if (
            "suds" in self.outlets
            and msg_type == "suds_recorded"
            and isinstance(content.get("rating"), Mapping)
        ):
            value = content["rating"].get("value")
            if isinstance(value, int | float):
                self._push("suds", [float(value)], stamp_ns)
        if "intensity" in self.outlets and msg_type in _INTENSITY_FACTS and "intensity_from" not in content:
            value = content.get("target", content.get("intensity"))
            if isinstance(value, int | float):
                self._push("intensity", [float(value)], stamp_ns)

    def push_pose(
        self,
        t_mono_ns: int,
        position_m: Sequence[float],
        orientation_xyzw: Sequence[float],
        frame: int | None = None,
    ) -> None:
        """One head pose (tracking space, metres; unit quaternion x, y, z, w) at ``t_mono_ns``."""
        if "head-pose" in self.outlets:
            self._push("head-pose", [*position_m, *orientation_xyzw], t_mono_ns)

    def close(self) -> None:
        """Destroy the outlets (recorders see the streams end)."""
        self.outlets.clear()


@dataclass(frozen=True, slots=True)
class PhysioBatch:
    """Samples pulled from a physiology stream: ``t_mono_ns`` (n,) on this machine's monotonic clock,
    ``values`` (n, channels)."""

    stream: str
    channels: tuple[str, ...]
    t_mono_ns: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.t_mono_ns.shape[0])

    def journal_content(self) -> dict[str, Any]:
        """The ``physio_samples`` record's content (telemetry in the console journal)."""
        return {
            "stream": self.stream,
            "channels": list(self.channels),
            "t_mono_ns": self.t_mono_ns.tolist(),
            "values": self.values.tolist(),
        }


class PhysioInlet:
    """An inlet for a physiology stream (heart rate, EDA ...) found by its LSL name.

    Qt-free: the console calls :meth:`poll` from its timer and journals each batch as a
    ``physio_samples`` record (:meth:`PhysioBatch.journal_content`); the report, export and timeline
    read those records. Timestamps are corrected to this machine's LSL clock (liblsl's clock sync)
    and then to the monotonic clock of the journal."""

    def __init__(self, stream_name: str, *, resolve_timeout_s: float = 5.0, max_buffer_s: int = 60) -> None:
        import pylsl

        from vr_exposure.errors import VrExposureError

        found = pylsl.resolve_byprop("name", stream_name, 1, resolve_timeout_s)
        if not found:
            raise VrExposureError(
                f"no LSL stream named {stream_name!r} found within {resolve_timeout_s:g} s "
                "(is the physiology device streaming, on this network?)"
            )
        self.info = found[0]
        self.stream_name = stream_name
        self.inlet = pylsl.StreamInlet(
            self.info, max_buflen=max_buffer_s, processing_flags=pylsl.proc_clocksync
        )
        self.channels = _channel_labels(self.inlet.info(), self.info.channel_count())
        self.clock_offset_s = lsl_clock_offset_s()

    def poll(self, max_samples: int = 4096) -> PhysioBatch:
        """Every sample that arrived since the last poll (never blocks)."""
        samples, stamps = self.inlet.pull_chunk(timeout=0.0, max_samples=max_samples)
        n = len(stamps)
        values = np.asarray(samples, dtype=np.float64).reshape(n, len(self.channels))
        t_mono_ns = np.round((np.asarray(stamps, dtype=np.float64) - self.clock_offset_s) * 1e9).astype(
            np.int64
        )
        return PhysioBatch(self.stream_name, self.channels, t_mono_ns, values)

    def close(self) -> None:
        self.inlet.close_stream()


def _channel_labels(info: Any, count: int) -> tuple[str, ...]:
    labels: list[str] = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(labels) < count:
        labels.append(ch.child_value("label") or f"ch{len(labels) + 1}")
        ch = ch.next_sibling()
    labels += [f"ch{i + 1}" for i in range(len(labels), count)]
    return tuple(labels)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return f"<{len(obj)} bytes>"
    if isinstance(obj, np.generic):
        return obj.item()
    if hasattr(obj, "__struct_fields__"):
        import msgspec

        return msgspec.to_builtins(obj)
    return str(obj)
