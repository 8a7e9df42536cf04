"""A prolonged-exposure session at the console: the patient's hotspots in place of a fear ladder.

:meth:`HotspotSession.start` opens a session of a ``kind: prolonged-exposure`` protocol for a
pseudonym: it reads the patient's hotspot file (:mod:`vr_exposure.journal.hotspots`), checked against
the scene, and runs the session on its steps (:func:`vr_exposure.core.hotspots.session_ladder`: the
protocol's start state, then each hotspot), journaled as ``hotspot_plan``. Moving to a step
(:meth:`~HotspotSession.go_to`) is the console's ordinary rung change (its preset, then its intensity,
applied only once the renderer accepts it); when it is accepted the session journals
``hotspot_entered`` with the step's name, state and triggers, with the request's header as parent
(as ``rung_changed``). The start state is entered when the exposure begins. Firing a hotspot's
trigger is the console's ordinary event request. The SUDS probes run as for any protocol.

:class:`HotspotEditor` edits the patient's file from the console (add, rename, reorder, delete, set a
hotspot's state from what the renderer shows, pick its triggers), without a session or during one.
Each edit is checked against the scene, saved at once and, in a session, journaled
(``hotspots_changed`` with the whole list); the steps of the session now running do not change (their
numbers mean one list from the start of a session to its end): an edit takes effect from the next
session.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from vr_exposure.console.controller import ConsoleController, ControllerError, UiEvent
from vr_exposure.core import hotspots as hs
from vr_exposure.core.ladder import with_ladder
from vr_exposure.core.specs import PROLONGED_EXPOSURE, ProtocolSpec, Rung, SceneSpec
from vr_exposure.errors import SpecError

__all__ = ["HotspotEditor", "HotspotSession", "is_prolonged"]


def is_prolonged(protocol: ProtocolSpec | None) -> bool:
    return protocol is not None and protocol.kind == PROLONGED_EXPOSURE


def _root(controller: ConsoleController) -> Path:
    from vr_exposure.journal import sessions_root

    return Path(controller.sessions_root if controller.sessions_root is not None else sessions_root())


@dataclasses.dataclass
class HotspotEditor:
    """The patient's hotspot file for one protocol, edited from the console."""

    controller: ConsoleController
    pseudonym: str
    protocol: ProtocolSpec
    scene: SceneSpec
    hotspots: tuple[hs.Hotspot, ...]
    path: Path

    @classmethod
    def open(cls, controller: ConsoleController, pseudonym: str, protocol_id: str) -> HotspotEditor:
        """The patient's file (an empty list if there is none yet). A file with problems raises
        :class:`ControllerError` naming file, line and field: it is never overwritten unseen."""
        from vr_exposure.journal.hotspots import hotspots_path, read_hotspots

        protocol = controller.library.protocol(protocol_id)
        if not is_prolonged(protocol):
            raise ControllerError(f"protocol {protocol_id} is graded: it has a ladder, not hotspots")
        scene = controller.library.scene(protocol.scene)
        pseudonym = pseudonym.strip()
        root = _root(controller)
        try:
            path = hotspots_path(root, pseudonym, protocol.id)
            found = read_hotspots(root, pseudonym, protocol.id, scene)
        except SpecError as exc:
            raise ControllerError(f"the patient's hotspots cannot be used:\n{exc}") from None
        except ValueError as exc:
            raise ControllerError(str(exc)) from None
        return cls(controller, pseudonym, protocol, scene, () if found is None else found.hotspots, path)

    # -- edits: each checked against the scene, saved and (in a session) journaled ----------------------
    def _save(self, hotspots: tuple[hs.Hotspot, ...], edit: dict[str, Any]) -> tuple[hs.Hotspot, ...]:
        from vr_exposure.journal.hotspots import save_hotspots

        save_hotspots(
            _root(self.controller),
            self.pseudonym,
            hs.HotspotFile(protocol=self.protocol.id, hotspots=hotspots),
        )
        self.hotspots = hotspots
        c = self.controller
        if c.journal is not None and c.pseudonym == self.pseudonym and c.protocol is not None:
            if c.protocol.id == self.protocol.id:
                c.journal_clinical(
                    hs.HOTSPOTS_CHANGED,
                    {
                        **edit,
                        "protocol": self.protocol.id,
                        "hotspots": msgspec.to_builtins(hotspots),
                        "applies": "next session",
                    },
                )
        return hotspots

    def _guard(self, fn: Any, *args: Any, **kwargs: Any) -> tuple[hs.Hotspot, ...]:
        try:
            result: tuple[hs.Hotspot, ...] = fn(*args, **kwargs)
        except hs.HotspotError as exc:
            raise ControllerError(str(exc)) from None
        return result

    def add(
        self,
        name: str,
        *,
        preset: str | None = None,
        intensity: float | None = None,
        after: int | None = None,
    ) -> tuple[hs.Hotspot, ...]:
        """A new hotspot: in ``preset`` (at ``intensity``), by default what the renderer shows now
        (:meth:`current_state`), else the protocol's start state."""
        if preset is None:
            preset, intensity = self.current_state()
        new = self._guard(
            hs.add_hotspot,
            self.hotspots,
            name,
            preset=preset,
            intensity=intensity,
            after=after,
            scene=self.scene,
        )
        return self._save(new, {"edit": "add", "name": name.strip()})

    def rename(self, index: int, name: str) -> tuple[hs.Hotspot, ...]:
        new = self._guard(hs.rename_hotspot, self.hotspots, index, name, self.scene)
        return self._save(new, {"edit": "rename", "index": index, "name": name.strip()})

    def move(self, index: int, to: int) -> tuple[hs.Hotspot, ...]:
        new = self._guard(hs.move_hotspot, self.hotspots, index, to, self.scene)
        return self._save(new, {"edit": "move", "index": index, "to": to})

    def delete(self, index: int) -> tuple[hs.Hotspot, ...]:
        new = self._guard(hs.delete_hotspot, self.hotspots, index, self.scene)
        return self._save(new, {"edit": "delete", "index": index})

    def set_state(
        self, index: int, *, preset: str | None = None, intensity: float | None = None
    ) -> tuple[hs.Hotspot, ...]:
        """The hotspot's state: ``preset`` at ``intensity``, or (no preset) what the renderer shows now."""
        if preset is None:
            preset, intensity = self.current_state()
        new = self._guard(
            hs.set_state, self.hotspots, index, preset=preset, intensity=intensity, scene=self.scene
        )
        return self._save(new, {"edit": "state", "index": index, "preset": preset, "intensity": intensity})

    def set_triggers(self, index: int, triggers: Sequence[tuple[str, float]]) -> tuple[hs.Hotspot, ...]:
        new = self._guard(hs.set_triggers, self.hotspots, index, triggers, self.scene)
        return self._save(new, {"edit": "triggers", "index": index, "triggers": [list(t) for t in triggers]})

    def current_state(self) -> tuple[str, float | None]:
        """What the patient sees now, as a hotspot state: the renderer's preset, and its intensity
        where the therapist moved it off the preset's. The protocol's start state when the renderer
        shows no preset of this protocol's scene."""
        st = self.controller.renderer_state
        if st.scene == self.scene.id and st.preset in self.scene.presets:
            own = self.scene.presets[st.preset].intensity
            target = float(st.target_intensity)
            return st.preset, None if abs(target - own) < 0.5 else round(target, 1)
        if st.scene == self.scene.id and self.controller.engine is not None:
            # A free intensity off every preset: the session's step's preset at that intensity.
            rung = self.controller.engine.rung
            protocol = self.controller.protocol
            if protocol is not None and rung is not None and rung < len(protocol.ladder):
                return protocol.ladder[rung].preset, round(float(st.target_intensity), 1)
        start = self.protocol.start
        assert start is not None
        return start.preset, start.intensity


@dataclasses.dataclass
class HotspotSession:
    """A prolonged-exposure session now open at the console."""

    controller: ConsoleController
    pseudonym: str
    protocol: ProtocolSpec
    """The protocol as the library holds it (no ladder)."""
    scene: SceneSpec
    hotspots: tuple[hs.Hotspot, ...]
    steps: tuple[Rung, ...]
    """The session's steps: the start state, then each hotspot (the engine's rungs)."""
    path: Path
    entered: list[int] = dataclasses.field(default_factory=list)
    """The steps entered so far, in order."""
    _began: bool = False

    @classmethod
    def start(cls, controller: ConsoleController, pseudonym: str, *, protocol_id: str) -> HotspotSession:
        """Open a session of ``pseudonym`` on the prolonged-exposure protocol ``protocol_id`` with the
        patient's hotspots. No hotspots yet, or a file with problems: :class:`ControllerError` saying
        what to do, and no session is opened."""
        editor = HotspotEditor.open(controller, pseudonym, protocol_id)
        if not editor.hotspots:
            raise ControllerError(
                f"{editor.pseudonym} has no hotspots for {protocol_id} yet: build them with the patient "
                "first (Hotspots… in the session panel)"
            )
        base = editor.protocol
        steps = hs.session_ladder(base, editor.hotspots)
        library = controller.library
        controller.library = dataclasses.replace(
            library, protocols={**library.protocols, base.id: with_ladder(base, steps)}
        )
        try:
            controller.start_session(editor.pseudonym, protocol_id=protocol_id)
        finally:
            controller.library = library
        session = cls(controller, editor.pseudonym, base, editor.scene, editor.hotspots, steps, editor.path)
        controller.journal_clinical(
            hs.HOTSPOT_PLAN,
            hs.plan_content(base, editor.hotspots, str(editor.path.relative_to(_root(controller)))),
        )
        controller.prepare_rung(0)
        controller.subscribe(session._on_ui)
        return session

    # -- steering -------------------------------------------------------------------------------------
    def go_to(self, step: int) -> str | None:
        """Move to step ``step`` (0: the start state, ``i``: the ``i``-th hotspot): one request sequence
        through the console's rung path; ``hotspot_entered`` is journaled once the renderer accepts."""
        if not 0 <= step < len(self.steps):
            raise ControllerError(f"step {step!r} is not in this session (0-{len(self.steps) - 1})")
        return self.controller.apply_rung(step)

    def triggers(self, step: int | None = None) -> tuple[hs.Trigger, ...]:
        """The triggers a step offers (the current one by default); the start state offers none."""
        index = self.current_step if step is None else step
        if index is None or index == 0:
            return ()
        return self.hotspots[index - 1].triggers

    def fire(self, trigger: hs.Trigger) -> str | None:
        """Fire one of the hotspot's triggers at its strength: the console's ordinary event request."""
        return self.controller.trigger_event(trigger.event, trigger.strength)

    @property
    def current_step(self) -> int | None:
        engine = self.controller.engine
        return None if engine is None else engine.rung

    def name(self, step: int) -> str:
        return self.steps[step].title

    # -- records --------------------------------------------------------------------------------------
    def _entered(self, step: int, parent: Any, how: str) -> None:
        if self.controller.journal is None or not 0 <= step < len(self.steps):
            return
        rung = self.steps[step]
        engine = self.controller.engine
        content = {
            "step": step,
            "hotspot": None if step == 0 else step - 1,
            "name": rung.title,
            "preset": rung.preset,
            "intensity": engine.intensity if engine is not None else rung.intensity,
            "triggers": msgspec.to_builtins(self.triggers(step)),
            "how": how,
            "session_s": self.controller.session_time_s(),
        }
        self.controller.journal_clinical(hs.HOTSPOT_ENTERED, content, parent=parent)
        self.entered.append(step)
        self.controller._emit("hotspot", step=step, name=rung.title)

    def _on_ui(self, ev: UiEvent) -> None:
        if ev.kind == "rung_accepted":
            self._entered(ev["rung"], ev["parent"], "moved")
        elif ev.kind == "mode" and not self._began and ev["mode"] == "running":
            self._began = True
            step = self.current_step
            if step is not None:
                self._entered(step, None, "exposure began")
        elif ev.kind == "session" and ev["state"] in ("ended", "opened"):
            if ev["state"] == "opened" and ev["session_id"] == self.controller.session_id:
                return
            self.close()

    def close(self) -> None:
        if self._on_ui in self.controller.listeners:
            self.controller.listeners.remove(self._on_ui)
