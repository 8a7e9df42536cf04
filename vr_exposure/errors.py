"""The project's exception hierarchy: shallow, named, with messages a therapist or researcher can act on."""

from __future__ import annotations


class VrExposureError(Exception):
    """Base of every error this package raises on purpose."""


class SpecError(VrExposureError):
    """A scene or protocol spec is invalid. ``problems`` holds every problem found, not only the first."""

    def __init__(self, problems: list[SpecProblem] | SpecProblem) -> None:
        self.problems = problems if isinstance(problems, list) else [problems]
        super().__init__("\n".join(str(p) for p in self.problems))


class SpecProblem:
    """One problem in one file: ``file:line: field.path: message``."""

    __slots__ = ("file", "line", "path", "message", "severity")

    def __init__(self, file: str, line: int | None, path: str, message: str, severity: str = "error") -> None:
        self.file = file
        self.line = line
        self.path = path
        self.message = message
        self.severity = severity

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.path}:" if self.path else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}:{field} {prefix}{self.message}"

    def __repr__(self) -> str:
        return f"SpecProblem({str(self)!r})"


class LinkError(VrExposureError):
    """The console and renderer could not talk: timeout, refused key, protocol mismatch."""


class JournalError(VrExposureError):
    """A session journal could not be written or read."""


class SceneError(VrExposureError):
    """A scene package is broken: a builder registered twice, a contract missing, an unknown
    procedural texture or sound. A fault of the scene's code, not of its YAML (that is a SpecError)."""


class RendererError(VrExposureError):
    """The renderer cannot show the patient anything: no usable headset runtime, or a runtime call
    failed while the session ran. The message is one line a therapist can act on."""
