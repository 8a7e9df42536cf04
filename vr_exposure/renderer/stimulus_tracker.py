"""Where the feared objects are: the positions of the scene's stimulus nodes, for the journal.

Gaze and avoidance measures (how long the patient looks at the spider, how far they keep from it)
need the stimulus's position next to the head pose. Each scene tags the nodes of its stimulus with the
Panda3D tag ``stimulus`` (``node.setTag("stimulus", "spider")``); :class:`StimulusTracker` finds them
under ``render`` once per scene (``findAllMatches('**/=stimulus')``, cached, found again when the
scene changes) and, about 10 times a second, returns the positions of those shown, relative to the
rig's tracking space (the frame ``head_pose`` is in), as a ``stimulus_positions`` telemetry content
(:class:`vr_exposure.link.messages.StimulusPositions`). While nothing is shown it returns nothing,
except one record with no stimuli when the last one goes, so a reader knows when it went.

It runs in the telemetry task; at 10 Hz and a handful of nodes it costs a few microseconds a frame.
"""

from __future__ import annotations

from typing import Any

STIMULUS_TAG = "stimulus"
STIMULUS_RATE_HZ = 10.0


class StimulusTracker:
    """Samples the positions of the nodes tagged ``tag`` under ``render`` relative to ``reference``
    (the tracking-space node) on a fixed ``rate_hz`` time grid."""

    def __init__(
        self, render: Any, reference: Any, *, rate_hz: float = STIMULUS_RATE_HZ, tag: str = STIMULUS_TAG
    ) -> None:
        self.render = render
        self.reference = reference
        self.tag = tag
        self.interval_ns = int(1e9 / rate_hz)
        # (node, name, tag value): names and tags are read once, when the nodes are found.
        self._nodes: list[tuple[Any, str, str]] | None = None
        self._scene_key: object = None
        self._next_ns: int | None = None
        self._shown_last = False
        self._deferred = False

    def invalidate(self) -> None:
        """Find the tagged nodes again at the next sample (the scene graph changed)."""
        self._nodes = None
        self._next_ns = None

    def sample(
        self, frame: int, now_ns: int, scene_key: object = None, *, defer: bool = False
    ) -> dict[str, Any] | None:
        """The ``stimulus_positions`` content for this frame, or None (not due, or nothing shown now
        nor at the last sample). A new ``scene_key`` (the stage's scene instance) finds the nodes
        again and samples at once. ``defer``: this frame is busy already; a sample due now waits
        for the next frame (one frame at most: the next one samples whatever it is given)."""
        if scene_key is not self._scene_key:
            self._scene_key = scene_key
            self.invalidate()
        if self._next_ns is not None and now_ns < self._next_ns:
            return None
        if defer and not self._deferred and self._next_ns is not None:
            self._deferred = True
            return None
        self._deferred = False
        due = self._next_ns if self._next_ns is not None else now_ns
        # A fixed grid, so frame jitter does not lower the rate; a loop more than an interval
        # behind starts a new grid rather than catching up in a burst.
        self._next_ns = (now_ns if now_ns - due >= self.interval_ns else due) + self.interval_ns
        if self._nodes is None:
            found = self.render.findAllMatches(f"**/={self.tag}")
            self._nodes = [(node, node.getName(), node.getTag(self.tag)) for node in found]
        stimuli = []
        render, reference = self.render, self.reference
        for node, name, tag in self._nodes:
            # Removed, detached from the scene graph or hidden (a spider count below the maximum,
            # a scene that is fading out): not something the patient can see.
            if node.isEmpty() or node.getTop() != render or node.isHidden():
                continue
            pos = node.getPos(reference)
            stimuli.append({"node": name, "tag": tag, "position_m": (pos.x, pos.y, pos.z)})
        if not stimuli and not self._shown_last:
            return None
        self._shown_last = bool(stimuli)
        return {"frame": frame, "t_mono_ns": now_ns, "stimuli": stimuli}
