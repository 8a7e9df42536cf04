"""The course of treatment at the console: a returning patient opens where the last session ended, on
the patient's own ladder, and the therapist adapts that ladder.

:meth:`PatientCourse.start` opens a session for a pseudonym: it finds the patient's newest session of
the protocol in the sessions root (:func:`vr_exposure.journal.course.last_session_end`), takes the
ladder that session left (the protocol's own for a new patient), journals it (``patient_ladder``) and
where the course resumes (``course_resumed``: the rung the last session ended on, its expected and
last SUDS), and prepares that rung, so :meth:`ConsoleController.begin_exposure` loads the scene on it.
The protocol file is never changed: the session runs on a copy of the protocol with the patient's
ladder (:func:`vr_exposure.core.ladder.with_ladder`).

:meth:`~PatientCourse.move`, :meth:`~PatientCourse.skip` and :meth:`~PatientCourse.add_from_current`
edit the patient's ladder; each edit is checked against the scene (:mod:`vr_exposure.core.ladder`),
journaled with the whole new ladder (``patient_ladder_changed``) and takes effect from the patient's
next session.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from vr_exposure.console.controller import ConsoleController, ControllerError
from vr_exposure.core import ladder as lad
from vr_exposure.core.specs import ProtocolSpec, Rung, SceneSpec
from vr_exposure.journal.course import SessionEnd, course_trend, last_session_end


@dataclasses.dataclass
class PatientCourse:
    """One patient's course at one console, for the session now open."""

    controller: ConsoleController
    pseudonym: str
    protocol: ProtocolSpec
    """The protocol as the library holds it (its own ladder)."""
    scene: SceneSpec
    ladder: tuple[Rung, ...]
    """The patient's ladder as edited so far (the next session's)."""
    ran_on: tuple[Rung, ...]
    """The ladder this session runs on."""
    previous: SessionEnd | None
    start_rung: int
    problem: str | None = None
    """Why the patient's ladder could not be used (the session then runs on the protocol's)."""

    @classmethod
    def start(cls, controller: ConsoleController, pseudonym: str, *, protocol_id: str) -> PatientCourse:
        """Open a session of ``pseudonym`` on ``protocol_id`` where the patient's last one ended."""
        from vr_exposure.journal import sessions_root

        pseudonym = pseudonym.strip()
        base = controller.library.protocol(protocol_id)
        scene = controller.library.scene(base.scene)
        root = controller.sessions_root if controller.sessions_root is not None else sessions_root()
        previous = last_session_end(root, pseudonym, protocol=protocol_id) if Path(root).is_dir() else None
        ladder = base.ladder
        problem: str | None = None
        if previous is not None and previous.ladder is not None:
            try:
                ladder = lad.ladder_from_content(
                    previous.ladder, scene, where=f"session {previous.session_id}: patient_ladder"
                )
            except lad.LadderError as exc:
                # The scene changed since (a preset gone): the session still opens, on the protocol's
                # ladder, and says why; nothing of the old ladder is lost (it stays in that journal).
                problem = f"{exc}; this session uses the protocol's ladder"
        library = controller.library
        patient_protocol = lad.with_ladder(base, ladder)
        controller.library = dataclasses.replace(
            library, protocols={**library.protocols, base.id: patient_protocol}
        )
        try:
            controller.start_session(pseudonym, protocol_id=protocol_id)
        finally:
            controller.library = library
        rung = _resume_rung(previous, base.ladder, ladder)
        course = cls(controller, pseudonym, base, scene, ladder, ladder, previous, rung, problem)
        controller.journal_clinical(
            lad.PATIENT_LADDER,
            {
                "pseudonym": pseudonym,
                "protocol": base.id,
                "ladder": lad.ladder_content(ladder),
                "custom": ladder != base.ladder,
                "from_session": None if previous is None else previous.session_id,
                **({"problem": problem} if problem else {}),
            },
        )
        if previous is not None:
            controller.journal_clinical(
                "course_resumed",
                {
                    "previous_session": previous.session_id,
                    "previous_rung": previous.rung,
                    "previous_title": previous.title,
                    "expected_suds": previous.expected_suds,
                    "last_suds": previous.last_suds,
                    "rung": rung,
                    "title": ladder[rung].title,
                },
            )
        controller.prepare_rung(rung)
        return course

    def summary_text(self) -> str:
        """Where the course stands, for the console: the session's number, where it resumes (with the
        rung's expected SUDS against the last SUDS on it), and peak/end SUDS of the sessions so far."""
        from vr_exposure.journal import sessions_root

        root = self.controller.sessions_root if self.controller.sessions_root is not None else sessions_root()
        trend = course_trend(root, self.pseudonym, protocol=self.protocol.id)
        earlier = [t for t in trend if t.session_id != self.controller.session_id]
        if not earlier or self.previous is None:
            return f"new patient: session 1, from rung 1 of {len(self.ran_on)}"
        prev = self.previous
        rung = self.ran_on[self.start_rung]
        lines = [
            f"returning patient: session {len(earlier) + 1}; resumes on rung {self.start_rung + 1} "
            f"({rung.title}) where {prev.session_id} ended",
        ]
        if prev.last_suds is not None:
            lines.append(f"that rung: expected SUDS {rung.expected_suds:g}, last SUDS {prev.last_suds:g}")

        def fmt(v: float | None) -> str:
            return "–" if v is None else f"{v:g}"

        lines.append(
            "course so far (peak/end SUDS): " + ", ".join(f"{fmt(t.peak)}/{fmt(t.end)}" for t in earlier[-6:])
        )
        if self.problem:
            lines.append(f"patient ladder not used: {self.problem}")
        return "\n".join(lines)

    # -- ladder edits (from the patient's next session on) ----------------------------------------------
    def move(self, index: int, to: int) -> tuple[Rung, ...]:
        """Move rung ``index`` to position ``to`` (0-based)."""
        return self._edited(
            lad.move_rung(self.ladder, index, to, self.scene), {"edit": "move", "rung": index, "to": to}
        )

    def skip(self, index: int) -> tuple[Rung, ...]:
        """Take rung ``index`` (0-based) out of the patient's ladder."""
        return self._edited(lad.skip_rung(self.ladder, index, self.scene), {"edit": "skip", "rung": index})

    def add_from_current(
        self, title: str, expected_suds: float, *, after: int | None = None
    ) -> tuple[Rung, ...]:
        """A new rung made from what the patient sees now (the current rung's preset at the current
        intensity), with its own title and expected SUDS, after rung ``after`` of the patient's ladder
        (default: after the rung the session is on, found in the edited ladder)."""
        engine = self.controller.engine
        if engine is None or engine.rung is None:
            raise ControllerError("no rung selected: a new rung is made from the current rung's preset")
        current = self.ran_on[engine.rung]
        if after is None:
            found = lad.find_rung(self.ladder, current)
            after = len(self.ladder) - 1 if found is None else found
        ladder = lad.add_rung(
            self.ladder,
            after=after,
            preset=current.preset,
            intensity=engine.intensity,
            expected_suds=expected_suds,
            title=title,
            scene=self.scene,
        )
        edit = {
            "edit": "add",
            "after": after,
            "preset": current.preset,
            "intensity": engine.intensity,
            "expected_suds": float(expected_suds),
            "title": title.strip(),
        }
        return self._edited(ladder, edit)

    def _edited(self, ladder: tuple[Rung, ...], edit: dict[str, Any]) -> tuple[Rung, ...]:
        self.controller.journal_clinical(
            lad.PATIENT_LADDER_CHANGED,
            {
                "pseudonym": self.pseudonym,
                "protocol": self.protocol.id,
                **edit,
                "ladder": lad.ladder_content(ladder),
            },
        )
        self.ladder = ladder
        return ladder


def _resume_rung(
    previous: SessionEnd | None, protocol_ladder: tuple[Rung, ...], ladder: tuple[Rung, ...]
) -> int:
    """The index in ``ladder`` of the rung the previous session ended on (the same rung, wherever the
    edits since moved it); the first rung for a new patient."""
    if previous is None or previous.rung is None:
        return 0
    ran_on = protocol_ladder
    if previous.ran_on is not None:
        try:
            ran_on = lad.ladder_from_content(previous.ran_on, None)
        except lad.LadderError:
            ran_on = protocol_ladder
    if 0 <= previous.rung < len(ran_on):
        found = lad.find_rung(ladder, ran_on[previous.rung])
        if found is not None:
            return found
    return max(0, min(previous.rung, len(ladder) - 1))
