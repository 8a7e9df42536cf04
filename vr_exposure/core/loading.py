"""Loading scene and protocol YAML files into typed specs, with every problem named by file, line and field.

The pipeline, per file:

1. Read bytes; an empty, binary (NUL bytes) or non-UTF-8 file is one clear problem, never a traceback.
2. Compose the YAML node tree with PyYAML's safe composer, so every node keeps its line. Syntax errors
   carry their line. The tree becomes plain data (dict/list/scalars) plus a map from field path to line;
   duplicate keys in a mapping (which PyYAML would silently resolve to the last) are found on the tree.
3. A structural check walks the plain data against the spec types (``msgspec.inspect``), collecting
   every wrong type, missing key and unknown key rather than stopping at the first. Unknown keys are
   errors: a misspelt key must never silently change what a patient is exposed to.
4. Each item (parameter, preset, event, audio cue, rung) that is structurally sound is converted on its
   own with ``msgspec.convert`` and checked semantically (ranges, ordering, references between items).
5. Only a file with no errors becomes a :class:`SceneSpec` / :class:`ProtocolSpec`.

:class:`ContentLibrary` loads whole directories and adds the cross-file checks: a protocol's scene,
its rungs' presets and its safe place exist.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

import msgspec
import msgspec.inspect as mi
import yaml

from vr_exposure.core.contract import BuilderContract, ParameterContract
from vr_exposure.core.specs import (
    AudioCue,
    Event,
    Parameter,
    Preset,
    ProtocolSpec,
    Rung,
    RungSchedule,
    SafePlaceSettings,
    SceneSpec,
    StartState,
)
from vr_exposure.errors import SpecError, SpecProblem

__all__ = [
    "Contracts",
    "ContentDirs",
    "ContentLibrary",
    "Kind",
    "check_file",
    "default_content_dirs",
    "guess_kind",
    "iter_content_files",
    "load_library",
    "load_protocol",
    "load_scene",
]

Kind = Literal["scene", "protocol"]
#: Builder name -> its contract (the renderer's scene packages provide them:
#: :func:`vr_exposure.renderer.builders.contracts`).
Contracts = Mapping[str, BuilderContract]
PathPart = str | int
FieldPath = tuple[PathPart, ...]

_S = TypeVar("_S", SceneSpec, ProtocolSpec)

MAX_FILE_BYTES = 2_000_000
# An alias-heavy file ("billion laughs") would expand exponentially into plain data; content files
# are a few hundred nodes, so a generous bound stops that without ever touching real content.
_MAX_NODES = 200_000
LADDER_RUNGS_USUAL = 10
_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
# Digits are not event hotkeys: the console and the patient's keyboard use them for SUDS ratings.
_HOTKEY = re.compile(r"^(?:[a-z]|f(?:[1-9]|1[0-2]))$")
_YAML_SUFFIXES = (".yaml", ".yml")


# ---------------------------------------------------------------------------------------------------
# Paths, lines and problems


def _render_path(path: FieldPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _num(x: object) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def _describe(value: object) -> str:
    """A value and what YAML made of it, for 'expected X, got Y' messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{_num(value)} (true/false)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{_num(value)} (a number)"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'"{shown}" (text)'
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{value!r} ({type(value).__name__})"


def _display(path: Path) -> str:
    """The file name as a user will recognise it: relative to the working directory when inside it."""
    try:
        return str(Path(os.path.abspath(path)).relative_to(os.getcwd()))
    except (ValueError, OSError):
        return str(path)


def _did_you_mean(word: str, choices: Iterable[str], label: str = "known") -> str:
    names = sorted(choices)
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if close:
        return f'; did you mean "{close[0]}"?'
    if names:
        return f" ({label}: {', '.join(names)})"
    return " (none are defined)"


class _Report:
    """Collects the problems of one file, turning field paths into lines."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[SpecProblem] = []
        self.key_lines: dict[FieldPath, int] = {}
        self.blocked: set[FieldPath] = set()

    def line_of(self, path: FieldPath) -> int:
        # The nearest ancestor with a known line: a missing key is reported at its parent's line.
        p = path
        while p:
            if p in self.key_lines:
                return self.key_lines[p]
            p = p[:-1]
        return self.key_lines.get((), 1)

    def error(
        self, path: FieldPath, message: str, *, line: int | None = None, blocks: FieldPath | None = None
    ) -> None:
        """An error at ``path``. It also marks ``blocks`` (default: ``path``) as unusable, so later
        checks skip that subtree instead of piling consequences onto the same mistake."""
        self.add(path, message, "error", line)
        self.blocked.add(path if blocks is None else blocks)

    def note_error(self, path: FieldPath, message: str, *, line: int | None = None) -> None:
        """An error that leaves the data usable (a duplicate key: the first value is kept)."""
        self.add(path, message, "error", line)

    def warning(self, path: FieldPath, message: str, *, line: int | None = None) -> None:
        self.add(path, message, "warning", line)

    def add(self, path: FieldPath, message: str, severity: str, line: int | None = None) -> None:
        where = line if line is not None else self.line_of(path)
        self.problems.append(SpecProblem(self.file, where, _render_path(path), message, severity))

    def has_errors_under(self, path: FieldPath) -> bool:
        n = len(path)
        return any(b[:n] == path for b in self.blocked)

    @property
    def errors(self) -> list[SpecProblem]:
        return [p for p in self.problems if p.severity == "error"]


# ---------------------------------------------------------------------------------------------------
# Reading and composing


def _read_text(path: Path, report: _Report) -> str | None:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            report.error(
                (),
                f"file is {size} bytes; scene and protocol files are small YAML files (at most "
                f"{MAX_FILE_BYTES} bytes)",
            )
            return None
        data = path.read_bytes()
    except IsADirectoryError:
        report.error((), "is a directory, not a YAML file")
        return None
    except OSError as exc:
        report.error((), f"cannot read file: {exc.strerror or exc}")
        return None
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        report.error(
            (), "not a text file (it contains NUL bytes): expected a YAML scene or protocol", line=line
        )
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        report.error(
            (),
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); save the file as UTF-8",
            line=line,
        )
        return None
    if not text.strip():
        report.error((), "file is empty: expected a YAML mapping with a scene or protocol")
        return None
    return text


def _yaml_problem(exc: yaml.YAMLError, text: str, report: _Report) -> None:
    if isinstance(exc, yaml.composer.ComposerError) and exc.problem == "but found another document":
        assert exc.problem_mark is not None
        report.error(
            (),
            "a second YAML document starts here ('---'); a file holds one scene or protocol",
            line=exc.problem_mark.line + 1,
        )
    elif isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        message = exc.problem or "invalid YAML"
        if "'\\t'" in message:
            message += "; YAML indents with spaces, not tabs"
        if exc.context:
            context_line = exc.context_mark.line + 1 if exc.context_mark is not None else None
            message += f" ({exc.context}" + (f" that starts at line {context_line})" if context_line else ")")
        report.error((), f"YAML syntax error: {message}", line=exc.problem_mark.line + 1)
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        report.error(
            (), f"YAML syntax error: control character {shown} is not allowed in a YAML file", line=line
        )
    else:
        report.error((), f"YAML syntax error: {exc}")


class _Builder:
    """Turns a composed node tree into plain data, recording each field path's line."""

    def __init__(self, loader: yaml.SafeLoader, report: _Report) -> None:
        self._loader = loader
        self._report = report
        self._active: set[int] = set()
        self._count = 0

    def build(self, node: yaml.Node, path: FieldPath) -> Any:
        self._count += 1
        if self._count > _MAX_NODES:
            raise _TooBig
        if id(node) in self._active:
            self._report.error(path, "recursive YAML alias (a node that contains itself)")
            return None
        if isinstance(node, yaml.ScalarNode):
            return self._loader.construct_object(node, deep=True)
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for i, child in enumerate(node.value):
                    self._report.key_lines[(*path, i)] = child.start_mark.line + 1
                    items.append(self.build(child, (*path, i)))
                return items
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            raise TypeError(f"unexpected YAML node {node!r}")
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._report.error(
                    path, "YAML merge keys (<<) are not supported: write the keys out", line=line
                )
                continue
            key = (
                self._loader.construct_object(key_node, deep=True)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if not isinstance(key, str):
                shown = _describe(key) if isinstance(key_node, yaml.ScalarNode) else "a mapping or list"
                self._report.note_error(path, f"a key must be text, got {shown}", line=line)
                continue
            child = (*path, key)
            if key in first_line:
                self._report.note_error(
                    child,
                    f"duplicate key (first at line {first_line[key]}); YAML would keep only the last",
                    line=line,
                )
                continue
            first_line[key] = line
            self._report.key_lines[child] = line
            out[key] = self.build(value_node, child)
        return out


class _TooBig(Exception):
    pass


def _compose(text: str, report: _Report) -> Any:
    try:
        loader = yaml.SafeLoader(text)  # checks the first characters already
    except yaml.YAMLError as exc:
        _yaml_problem(exc, text, report)
        return None
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            _yaml_problem(exc, text, report)
            return None
        if node is None:
            report.error((), "file has no content (only comments): expected a YAML mapping")
            return None
        report.key_lines[()] = node.start_mark.line + 1
        try:
            return _Builder(loader, report).build(node, ())
        except yaml.YAMLError as exc:  # e.g. an unknown tag such as !!python/object
            _yaml_problem(exc, text, report)
            return None
        except _TooBig:
            report.error((), f"file expands to more than {_MAX_NODES} YAML nodes (aliases?); not loaded")
            return None
    finally:
        loader.dispose()


# ---------------------------------------------------------------------------------------------------
# Structural check against the spec types


def _expected(ti: mi.Type) -> str:
    if isinstance(ti, mi.StructType):
        return "a mapping"
    if isinstance(ti, mi.DictType):
        return "a mapping of names"
    if isinstance(ti, mi.VarTupleType | mi.ListType):
        return "a list"
    if isinstance(ti, mi.TupleType):
        return f"a list of {len(ti.item_types)} values"
    if isinstance(ti, mi.FloatType):
        return "a number"
    if isinstance(ti, mi.IntType):
        return "an integer"
    if isinstance(ti, mi.StrType):
        return "text"
    if isinstance(ti, mi.BoolType):
        return "true or false"
    if isinstance(ti, mi.NoneType):
        return "nothing (null)"
    if isinstance(ti, mi.LiteralType):
        return "one of " + ", ".join(f'"{v}"' if isinstance(v, str) else _num(v) for v in ti.values)
    if isinstance(ti, mi.UnionType):
        return " or ".join(_expected(t) for t in ti.types)
    return str(ti)


def _shape_matches(value: object, ti: mi.Type) -> bool:
    """Whether ``value`` is of the kind (mapping, list, scalar) that ``ti`` needs, to pick a union member."""
    if isinstance(ti, mi.StructType | mi.DictType):
        return isinstance(value, dict)
    if isinstance(ti, mi.VarTupleType | mi.ListType | mi.TupleType):
        return isinstance(value, list)
    if isinstance(ti, mi.NoneType):
        return value is None
    return not isinstance(value, dict | list) and value is not None


def _check_type(value: object, ti: mi.Type, path: FieldPath, report: _Report) -> bool:
    """Check ``value`` against ``ti``, reporting every problem; True when there was none."""
    if isinstance(ti, mi.StructType):
        if not isinstance(value, dict):
            report.error(path, f"expected {_expected(ti)}, got {_describe(value)}")
            return False
        fields = {f.encode_name: f for f in ti.fields}
        ok = True
        suggested: set[str] = set()
        for key, item in value.items():
            f = fields.get(key)
            if f is None:
                report.error((*path, key), "unknown key" + _did_you_mean(key, fields, "allowed keys"))
                suggested.update(difflib.get_close_matches(key, fields, n=1, cutoff=0.6))
                ok = False
            else:
                ok = _check_type(item, f.type, (*path, key), report) and ok
        for f in ti.fields:
            if f.required and f.encode_name not in value:
                missing = (*path, f.encode_name)
                if f.encode_name in suggested:  # the "did you mean" above already says it
                    report.blocked.add(missing)
                else:
                    report.error(path, f'missing required key "{f.encode_name}"', blocks=missing)
                ok = False
        return ok
    if isinstance(ti, mi.DictType):
        if not isinstance(value, dict):
            hint = "; leave the key out or write {}" if value is None else ""
            report.error(path, f"expected {_expected(ti)}, got {_describe(value)}{hint}")
            return False
        ok = True
        for key, item in value.items():
            ok = _check_type(item, ti.value_type, (*path, key), report) and ok
        return ok
    if isinstance(ti, mi.VarTupleType | mi.ListType):
        if not isinstance(value, list):
            hint = "; leave the key out or write []" if value is None else ""
            report.error(path, f"expected {_expected(ti)}, got {_describe(value)}{hint}")
            return False
        ok = True
        for i, item in enumerate(value):
            ok = _check_type(item, ti.item_type, (*path, i), report) and ok
        return ok
    if isinstance(ti, mi.TupleType):
        if not isinstance(value, list) or len(value) != len(ti.item_types):
            report.error(
                path,
                f"expected {_expected(ti)}, got {_describe(value)}"
                + (f" with {len(value)}" if isinstance(value, list) else ""),
            )
            return False
        ok = True
        for i, (item, item_ti) in enumerate(zip(value, ti.item_types, strict=True)):
            ok = _check_type(item, item_ti, (*path, i), report) and ok
        return ok
    if isinstance(ti, mi.UnionType):
        candidates = [t for t in ti.types if _shape_matches(value, t)]
        if len(candidates) == 1 and not isinstance(candidates[0], mi.NoneType):
            return _check_type(value, candidates[0], path, report)
        if any(_scalar_ok(value, t) for t in candidates):
            return True
        report.error(path, f"expected {_expected(ti)}, got {_describe(value)}")
        return False
    if _scalar_ok(value, ti):
        return True
    if isinstance(ti, mi.FloatType) and isinstance(value, float):
        report.error(path, f"{_num(value)} is not a finite number")
        return False
    hint = ""
    if isinstance(ti, mi.StrType) and isinstance(value, bool | int | float):
        hint = "; put it in quotes to make it text"
    report.error(path, f"expected {_expected(ti)}, got {_describe(value)}{hint}")
    return False


def _scalar_ok(value: object, ti: mi.Type) -> bool:
    if isinstance(ti, mi.FloatType):
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if isinstance(ti, mi.IntType):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(ti, mi.StrType):
        return isinstance(value, str)
    if isinstance(ti, mi.BoolType):
        return isinstance(value, bool)
    if isinstance(ti, mi.NoneType):
        return value is None
    if isinstance(ti, mi.LiteralType):
        return any(type(value) is type(v) and value == v for v in ti.values)
    return False


_T = TypeVar("_T")


def _convert_item(value: object, cls: type[_T], path: FieldPath, report: _Report) -> _T | None:
    """The typed item for the semantic checks, or None when it cannot be built.

    Keys whose subtree already has an error are left out first, so one wrong field does not hide
    the problems of its siblings (an event with a bad hotkey still has its cue checked)."""
    if path in report.blocked:
        return None
    dropped = False
    if isinstance(value, dict) and report.has_errors_under(path):
        kept = {k: v for k, v in value.items() if not report.has_errors_under((*path, k))}
        dropped = len(kept) != len(value)
        value = kept
    try:
        return msgspec.convert(value, cls)
    except msgspec.ValidationError as exc:
        if not dropped and not report.has_errors_under(path):
            # The structural check should have caught it; report it rather than lose it.
            report.error(path, str(exc))
        return None


# ---------------------------------------------------------------------------------------------------
# Semantic checks


def _check_range(value: float, lo: float, hi: float, path: FieldPath, report: _Report) -> None:
    if not lo <= value <= hi:
        report.error(path, f"{_num(value)} is outside {_num(lo)}-{_num(hi)}")


def _check_positive(value: float, path: FieldPath, report: _Report, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        report.error(path, f"{_num(value)} must be {'zero or more' if allow_zero else 'more than zero'}")


def _check_id(value: object, path: FieldPath, report: _Report, what: str) -> bool:
    if isinstance(value, str) and not _KEBAB.match(value):
        report.error(
            path,
            f'{what} "{value}" is not kebab-case (lower-case letters and digits joined by '
            'single hyphens, e.g. "spider-on-desk")',
        )
        return False
    return True


def _check_names(
    data: Mapping[str, Any], key: str, report: _Report, what: str, *, snake: bool = False
) -> None:
    items = data.get(key)
    if not isinstance(items, dict):
        return
    for name in items:
        if snake:
            if not _SNAKE.match(name):
                report.error(
                    (key, name),
                    f'{what} name "{name}" must be snake_case (lower-case letters, digits '
                    'and underscores, starting with a letter, e.g. "nearest_distance_m")',
                )
        else:
            _check_id(name, (key, name), report, f"{what} name")


def _check_file_id(data: Mapping[str, Any], path: Path | None, report: _Report, what: str) -> None:
    value = data.get("id")
    if not isinstance(value, str) or not _check_id(value, ("id",), report, f"{what} id"):
        return
    if path is not None and path.stem != value:
        report.error(
            ("id",),
            f'{what} id "{value}" does not match the file name "{path.name}" '
            f'(rename the file to "{value}{path.suffix}" or change the id)',
        )


def _check_keyframes(
    param: Parameter, path: FieldPath, report: _Report, value_range: tuple[float, float] | None = None
) -> None:
    if not param.keyframes:
        report.error((*path, "keyframes"), "needs at least one keyframe")
        return
    previous: float | None = None
    for i, kf in enumerate(param.keyframes):
        where = (*path, "keyframes", i)
        if not 0 <= kf.intensity <= 100:
            report.error((*where, "intensity"), f"{_num(kf.intensity)} is outside 0-100")
        elif previous is not None and kf.intensity < previous:
            report.error(
                (*where, "intensity"),
                f"{_num(kf.intensity)} is below the previous keyframe's "
                f"{_num(previous)}; keyframes must be sorted by intensity",
            )
        if value_range is not None:
            _check_range(kf.value, *value_range, (*where, "value"), report)
        previous = kf.intensity if previous is None else max(previous, kf.intensity)
    counts: dict[float, int] = {}
    for kf in param.keyframes:
        counts[kf.intensity] = counts.get(kf.intensity, 0) + 1
    for intensity, n in counts.items():
        if n > 2:
            report.error(
                (*path, "keyframes"),
                f"{n} keyframes at intensity {_num(intensity)}; at most two (a jump) are meaningful",
            )


def _check_scene(
    data: dict[str, Any], path: Path | None, report: _Report, contracts: Contracts | None = None
) -> None:
    _check_type(data, mi.type_info(SceneSpec), (), report)
    _check_file_id(data, path, report, "scene")
    builder = data.get("builder")
    if isinstance(builder, str):
        _check_id(builder, ("builder",), report, "builder")
    _check_names(data, "parameters", report, "parameter", snake=True)
    _check_names(data, "presets", report, "preset")
    _check_names(data, "events", report, "event")
    _check_names(data, "audio", report, "audio cue")
    params = _mapping_at(data, "parameters")
    audio = _mapping_at(data, "audio")

    for name, raw in params.items():
        param = _convert_item(raw, Parameter, ("parameters", name), report)
        if param is not None:
            _check_keyframes(param, ("parameters", name), report)

    for name, raw in _items(data, "presets"):
        preset = _convert_item(raw, Preset, ("presets", name), report)
        if preset is None:
            continue
        _check_range(preset.intensity, 0, 100, ("presets", name, "intensity"), report)
        for pname in preset.overrides:
            if pname not in params:
                report.error(
                    ("presets", name, "overrides", pname),
                    f'no parameter "{pname}" in this scene' + _did_you_mean(pname, params),
                )

    hotkeys: dict[str, str] = {}
    for name, raw in _items(data, "events"):
        where = ("events", name)
        event = _convert_item(raw, Event, where, report)
        if event is None:
            continue
        if event.hotkey is not None:
            if not _HOTKEY.match(event.hotkey):
                report.error(
                    (*where, "hotkey"),
                    f'"{event.hotkey}" is not a hotkey: '
                    "use one lower-case letter or f1-f12 (digits are SUDS keys)",
                )
            elif event.hotkey in hotkeys:
                report.error(
                    (*where, "hotkey"),
                    f'"{event.hotkey}" is also the hotkey of event "{hotkeys[event.hotkey]}"',
                )
            else:
                hotkeys[event.hotkey] = name
        _check_positive(event.delay_s, (*where, "delay_s"), report, allow_zero=True)
        _check_positive(event.delay_jitter_s, (*where, "delay_jitter_s"), report, allow_zero=True)
        _check_positive(event.duration_s, (*where, "duration_s"), report)
        if event.cue is not None and event.cue not in audio:
            report.error(
                (*where, "cue"), f'no audio cue "{event.cue}" in this scene' + _did_you_mean(event.cue, audio)
            )

    for name, raw in audio.items():
        where = ("audio", name)
        cue = _convert_item(raw, AudioCue, where, report)
        if cue is None:
            continue
        _check_id(cue.source, (*where, "source"), report, "audio source")
        if cue.attach_to is not None:
            if cue.position_m is not None:
                report.error((*where, "attach_to"), "give either position_m or attach_to, not both")
            _check_id(cue.attach_to, (*where, "attach_to"), report, "node name")
            if (
                cue.attach_to in audio
                or cue.attach_to in _names(data, "presets")
                or cue.attach_to in _names(data, "events")
            ):
                report.error(
                    (*where, "attach_to"),
                    f'"{cue.attach_to}" names an audio cue, preset or event; '
                    "attach_to names a node the scene's builder creates",
                )
        if isinstance(cue.volume, Parameter):
            _check_keyframes(cue.volume, (*where, "volume"), report, value_range=(0.0, 1.0))
        else:
            _check_range(cue.volume, 0, 1, (*where, "volume"), report)

    if contracts is not None and isinstance(builder, str) and not report.has_errors_under(("builder",)):
        contract = contracts.get(builder)
        if contract is None:
            report.error(
                ("builder",),
                f'no scene builder "{builder}" in the renderer' + _did_you_mean(builder, contracts),
            )
        else:
            _check_contract(data, contract, report)


def _check_contract(data: Mapping[str, Any], contract: BuilderContract, report: _Report) -> None:
    """The scene's YAML against what its builder really reads, animates, synthesises and provides."""
    who = f'the "{contract.builder}" builder'
    params = _mapping_at(data, "parameters")
    suggested: set[str] = set()
    for name, raw in params.items():
        where = ("parameters", name)
        wanted = contract.parameters.get(name)
        if wanted is None:
            close = difflib.get_close_matches(name, list(contract.parameters), n=1, cutoff=0.6)
            suggested.update(close)
            report.error(
                where,
                f'{who} does not read a parameter "{name}"'
                + _did_you_mean(name, contract.parameters, "it reads"),
            )
            continue
        if not isinstance(raw, dict) or report.has_errors_under(where):
            continue
        unit = raw.get("unit")
        if isinstance(unit, str) and unit and unit != wanted.unit:
            report.error((*where, "unit"), f'{who} reads "{name}" in "{wanted.unit}", not "{unit}"')
        frames = raw.get("keyframes")
        if isinstance(frames, list):
            for i, kf in enumerate(frames):
                value = kf.get("value") if isinstance(kf, dict) else None
                if isinstance(value, int | float) and not isinstance(value, bool):
                    _check_contract_range(value, wanted, (*where, "keyframes", i, "value"), report, who)
    for name, wanted in contract.parameters.items():
        if wanted.required and name not in params and name not in suggested:
            report.error(
                ("parameters",) if "parameters" in data else ("builder",),
                f'{who} reads "{name}" ({wanted.unit}, {_num(wanted.min)}-{_num(wanted.max)}: '
                f"{wanted.rising}) but the scene does not set it",
            )
    for pname, raw in _items(data, "presets"):
        overrides = raw.get("overrides") if isinstance(raw, dict) else None
        if not isinstance(overrides, dict):
            continue
        for name, value in overrides.items():
            wanted = contract.parameters.get(name)
            if wanted is not None and isinstance(value, int | float) and not isinstance(value, bool):
                _check_contract_range(value, wanted, ("presets", pname, "overrides", name), report, who)
    for name in _names(data, "events"):
        if name not in contract.events:
            report.error(
                ("events", name),
                f'{who} cannot animate an event "{name}"'
                + _did_you_mean(name, contract.events, "it animates"),
            )
    for name, raw in _items(data, "audio"):
        if not isinstance(raw, dict):
            continue
        source = raw.get("source")
        if isinstance(source, str) and source not in contract.audio_sources:
            report.error(
                ("audio", name, "source"),
                f'the "{contract.builder}" scene package synthesises no sound "{source}"'
                + _did_you_mean(source, contract.audio_sources, "it synthesises"),
            )
        anchor = raw.get("attach_to")
        if isinstance(anchor, str) and anchor not in contract.anchors:
            report.error(
                ("audio", name, "attach_to"),
                f'{who} provides no anchor "{anchor}" for a sound to follow'
                + _did_you_mean(anchor, contract.anchors, "it provides"),
            )


def _check_contract_range(
    value: float, wanted: ParameterContract, path: FieldPath, report: _Report, who: str
) -> None:
    if not wanted.min <= value <= wanted.max:
        report.error(
            path,
            f"{_num(value)} is outside the {_num(wanted.min)}-{_num(wanted.max)} {wanted.unit} {who} handles",
        )


def _items(data: Mapping[str, Any], key: str) -> Iterator[tuple[str, Any]]:
    items = data.get(key)
    if isinstance(items, dict):
        yield from items.items()


def _mapping_at(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    items = data.get(key)
    return items if isinstance(items, dict) else {}


def _names(data: Mapping[str, Any], key: str) -> set[str]:
    items = data.get(key)
    return set(items) if isinstance(items, dict) else set()


def _sub(data: Mapping[str, Any], *keys: str) -> Any:
    value: Any = data
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


#: Prolonged exposure's imaginal exposure: 45-60 minutes with a SUDS probe every 5 minutes, 9-12 probes.
PE_PROBES_USUAL = (9, 12)


def _check_prolonged(data: Mapping[str, Any], report: _Report) -> None:
    """A prolonged-exposure protocol: a start state, no ladder, no ladder rules; 9-12 probes is usual."""
    if "ladder" in data:
        report.error(
            ("ladder",),
            "a prolonged-exposure protocol has no ladder: its steps are the patient's own hotspots, "
            "kept with the patient's sessions (vr-exposure hotspots)",
        )
    if "rules" in data:
        report.error(
            ("rules",),
            "a prolonged-exposure protocol has no rules for moving up or down a ladder; "
            "the therapist moves through the hotspots in the order of the patient's account",
        )
    if "start" not in data:
        report.error((), 'missing required key "start" (the scene state the session begins in)')
    start = data.get("start")
    if isinstance(start, dict) and not report.has_errors_under(("start",)):
        state = _convert_item(start, StartState, ("start",), report)
        if state is not None:
            _check_id(state.preset, ("start", "preset"), report, "preset name")
            if state.intensity is not None:
                _check_range(state.intensity, 0, 100, ("start", "intensity"), report)
    probe = _sub(data, "suds", "probe_interval_s")
    length = _sub(data, "session", "length_s")
    probe_s = float(probe) if isinstance(probe, int | float) and not isinstance(probe, bool) else 300.0
    length_s = float(length) if isinstance(length, int | float) and not isinstance(length, bool) else 3600.0
    if probe_s > 0 and length_s > 0:
        n = int(length_s // probe_s)
        lo, hi = PE_PROBES_USUAL
        if not lo <= n <= hi:
            report.warning(
                ("session", "length_s") if length is not None else ("suds", "probe_interval_s"),
                f"{n} SUDS probe{'s' if n != 1 else ''} in {_num(length_s / 60)} minutes; prolonged "
                f"exposure usually has {lo}-{hi} (45-60 minutes, a probe every 5)",
            )


#: The shortest wait of a repeating schedule (the renderer refuses less: vr_exposure.renderer.schedules).
SCHEDULE_MIN_EVERY_S = 0.1


def _check_rung_schedule(item: RungSchedule, path: FieldPath, report: _Report) -> None:
    if (item.every_s is None) == (item.at_s is None):
        report.error(path, 'give exactly one of "every_s" (repeats) and "at_s" (one firing)')
    if item.every_s is not None:
        lo, hi = item.every_s
        if lo < SCHEDULE_MIN_EVERY_S:
            report.error(
                (*path, "every_s"), f"the shortest wait {_num(lo)} s is under {_num(SCHEDULE_MIN_EVERY_S)} s"
            )
        elif lo > hi:
            report.error(
                (*path, "every_s"), f"{_num(lo)} s is more than {_num(hi)} s; write [shortest, longest]"
            )
    if item.at_s is not None:
        _check_positive(item.at_s, (*path, "at_s"), report, allow_zero=True)
    _check_range(item.strength, 0, 1, (*path, "strength"), report)


def _check_protocol(data: dict[str, Any], path: Path | None, report: _Report) -> None:
    _check_type(data, mi.type_info(ProtocolSpec), (), report)
    _check_file_id(data, path, report, "protocol")
    scene = data.get("scene")
    if isinstance(scene, str):
        _check_id(scene, ("scene",), report, "scene id")

    scale_max = _sub(data, "suds", "scale_max")
    scale: float = scale_max if scale_max in (10, 100) else 100
    ladder = data.get("ladder")
    kind = data.get("kind", "graded")
    if kind == "prolonged-exposure":
        _check_prolonged(data, report)
        ladder = None
    elif kind == "graded":
        if "start" in data:
            report.error(
                ("start",),
                "only a prolonged-exposure protocol has a start state (kind: prolonged-exposure); "
                "a graded protocol begins on its first rung",
            )
        if "ladder" not in data:
            report.error((), 'missing required key "ladder"', blocks=("ladder",))
    if isinstance(ladder, list):
        if not ladder:
            report.error(("ladder",), "needs at least one rung")
        elif len(ladder) < LADDER_RUNGS_USUAL:
            report.warning(
                ("ladder",),
                f"only {len(ladder)} rung{'s' if len(ladder) != 1 else ''}; a fear ladder "
                f"usually has {LADDER_RUNGS_USUAL}-15",
            )
        for i, raw in enumerate(ladder):
            rung = _convert_item(raw, Rung, ("ladder", i), report)
            if rung is None:
                continue
            _check_id(rung.preset, ("ladder", i, "preset"), report, "preset name")
            _check_range(rung.expected_suds, 0, scale, ("ladder", i, "expected_suds"), report)
            if rung.intensity is not None:
                _check_range(rung.intensity, 0, 100, ("ladder", i, "intensity"), report)
            for j, item in enumerate(rung.schedule):
                _check_rung_schedule(item, ("ladder", i, "schedule", j), report)

    def number(*keys: str) -> float | None:
        value = _sub(data, *keys)
        if report.has_errors_under(keys) or not isinstance(value, int | float) or isinstance(value, bool):
            return None
        return float(value)

    probe = number("suds", "probe_interval_s")
    if probe is not None:
        _check_positive(probe, ("suds", "probe_interval_s"), report)
    window = number("suds", "response_window_s")
    if window is not None:
        _check_positive(window, ("suds", "response_window_s"), report)
        if probe is not None and probe > 0 and window > probe:
            report.error(
                ("suds", "response_window_s"),
                f"{_num(window)} s is longer than the probe interval ({_num(probe)} s)",
            )
    reduction = number("rules", "up", "reduction_from_peak")
    if reduction is not None:
        _check_range(reduction, 0, 1, ("rules", "up", "reduction_from_peak"), report)
    below = number("rules", "up", "below")
    if below is not None:
        _check_range(below, 0, 100, ("rules", "up", "below"), report)
    cap = number("rules", "up", "time_cap_s")
    if cap is not None:
        _check_positive(cap, ("rules", "up", "time_cap_s"), report)
    ceiling = number("rules", "down", "ceiling")
    if ceiling is not None:
        _check_range(ceiling, 0, 100, ("rules", "down", "ceiling"), report)
    length = number("session", "length_s")
    if length is not None:
        _check_positive(length, ("session", "length_s"), report)
    fade = number("safe_place", "fade_s")
    if fade is not None:
        _check_positive(fade, ("safe_place", "fade_s"), report, allow_zero=True)
        if 0 <= fade < 0.5:
            report.warning(
                ("safe_place", "fade_s"),
                f"{_num(fade)} s is a cut, not a fade; use at least 0.5 s so the change is gentle",
            )
    link_timeout = number("safe_place", "link_timeout_s")
    if link_timeout is not None:
        _check_positive(link_timeout, ("safe_place", "link_timeout_s"), report)
    for key in ("scene", "preset"):
        value = _sub(data, "safe_place", key)
        if isinstance(value, str):
            _check_id(value, ("safe_place", key), report, f"safe place {key}")


# ---------------------------------------------------------------------------------------------------
# Files


@dataclass
class _Loaded:
    path: Path
    kind: Kind
    report: _Report
    spec: SceneSpec | ProtocolSpec | None = None
    data: dict[str, Any] | None = None

    @property
    def problems(self) -> list[SpecProblem]:
        """In line order, as a reader goes through the file."""
        return sorted(self.report.problems, key=lambda p: p.line or 0)


def guess_kind(path: Path, data: object = None) -> Kind:
    """A file in a ``protocols`` directory, or one with a ``ladder``, is a protocol; else a scene."""
    parent = path.parent.name
    if parent == "protocols":
        return "protocol"
    if parent == "scenes":
        return "scene"
    if isinstance(data, dict) and (
        "ladder" in data or "start" in data or ("scene" in data and "builder" not in data)
    ):
        return "protocol"
    return "scene"


def _load(path: Path, kind: Kind | None, contracts: Contracts | None = None) -> _Loaded:
    path = Path(path)
    report = _Report(_display(path))
    text = _read_text(path, report)
    data = _compose(text, report) if text is not None else None
    resolved: Kind = kind or guess_kind(path, data)
    loaded = _Loaded(path, resolved, report)
    if text is None or report.errors and data is None:
        return loaded
    if not isinstance(data, dict):
        report.error(
            (),
            f"the top level is {_describe(data)}; expected a mapping of keys (id, title, ...) "
            f"describing a {resolved}",
        )
        return loaded
    loaded.data = data
    if "hotspots" in data and "protocol" in data and "id" not in data:
        report.error(
            (),
            "this is a patient's hotspot file, not a scene or protocol: check it with "
            "`vr-exposure hotspots check PSEUDONYM` (it is checked against its protocol's scene)",
        )
        loaded.data = None
        return loaded
    if resolved == "scene":
        _check_scene(data, path, report, contracts)
    else:
        _check_protocol(data, path, report)
    if report.errors:
        return loaded
    cls: type[SceneSpec | ProtocolSpec] = SceneSpec if resolved == "scene" else ProtocolSpec
    try:
        loaded.spec = msgspec.convert(data, cls)
    except msgspec.ValidationError as exc:  # a gap in the checks above; still a clean message
        report.error((), str(exc))
    return loaded


def _load_spec(
    path: str | os.PathLike[str], kind: Kind, cls: type[_S], contracts: Contracts | None = None
) -> _S:
    loaded = _load(Path(path), kind, contracts)
    errors = [p for p in loaded.problems if p.severity == "error"]
    if errors:
        raise SpecError(errors)
    assert isinstance(loaded.spec, cls)
    return loaded.spec


def load_scene(path: str | os.PathLike[str], *, contracts: Contracts | None = None) -> SceneSpec:
    """Load one scene file; raises :class:`SpecError` with every problem (warnings are not raised).
    With ``contracts`` the scene is also checked against its builder's contract."""
    return _load_spec(path, "scene", SceneSpec, contracts)


def load_protocol(path: str | os.PathLike[str]) -> ProtocolSpec:
    """Load one protocol file on its own (no cross-file checks; use :func:`load_library` for those)."""
    return _load_spec(path, "protocol", ProtocolSpec)


def check_file(
    path: str | os.PathLike[str], kind: Kind | None = None, *, contracts: Contracts | None = None
) -> list[SpecProblem]:
    """Every problem in one file (errors and warnings), without cross-file checks."""
    return _load(Path(path), kind, contracts).problems


# ---------------------------------------------------------------------------------------------------
# Content directories and the library


class ContentDirs(NamedTuple):
    scenes: tuple[Path, ...]
    protocols: tuple[Path, ...]


def _package_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def default_content_dirs() -> ContentDirs:
    """Where the shipped scenes and protocols are.

    ``$VR_EXPOSURE_CONTENT`` (one directory, or several joined by the path separator, each holding
    ``scenes/`` and ``protocols/``) wins. Otherwise a source checkout's ``scenes/`` and ``protocols/``
    beside the package, else the copies shipped inside the installed package (``vr_exposure/content/``).
    """
    env = os.environ.get("VR_EXPOSURE_CONTENT")
    if env:
        roots = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    else:
        package = _package_dir()
        checkout = package.parent
        if (checkout / "pyproject.toml").is_file() and (checkout / "scenes").is_dir():
            roots = [checkout]
        else:
            roots = [package / "content"]
    return ContentDirs(tuple(r / "scenes" for r in roots), tuple(r / "protocols" for r in roots))


def iter_content_files(directory: Path) -> list[Path]:
    """The YAML files under ``directory`` (recursively), sorted, hidden files and directories skipped."""
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in files if f.endswith(_YAML_SUFFIXES) and not f.startswith("."))
    return sorted(found)


@dataclass
class ContentLibrary:
    """Scenes and protocols by id, with every problem found while loading and cross-checking them.

    Only files without errors are in ``scenes`` / ``protocols``; ``problems`` holds errors and warnings.
    """

    scenes: dict[str, SceneSpec] = field(default_factory=dict)
    protocols: dict[str, ProtocolSpec] = field(default_factory=dict)
    paths: dict[tuple[Kind, str], Path] = field(default_factory=dict)
    problems: list[SpecProblem] = field(default_factory=list)
    files_checked: int = 0

    @property
    def errors(self) -> list[SpecProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[SpecProblem]:
        return [p for p in self.problems if p.severity == "warning"]

    def scene(self, scene_id: str) -> SceneSpec:
        try:
            return self.scenes[scene_id]
        except KeyError:
            raise SpecError(
                SpecProblem("", None, "", f'no scene "{scene_id}"' + _did_you_mean(scene_id, self.scenes))
            ) from None

    def protocol(self, protocol_id: str) -> ProtocolSpec:
        try:
            return self.protocols[protocol_id]
        except KeyError:
            raise SpecError(
                SpecProblem(
                    "", None, "", f'no protocol "{protocol_id}"' + _did_you_mean(protocol_id, self.protocols)
                )
            ) from None


def build_library(
    files: Sequence[tuple[Path, Kind | None]],
    *,
    reference_scenes: Mapping[str, SceneSpec] | None = None,
    contracts: Contracts | None = None,
) -> ContentLibrary:
    """Load ``files`` and cross-check them. A protocol's scene is looked up among the loaded scenes
    first, then in ``reference_scenes`` (e.g. the shipped content when checking one protocol file).
    With ``contracts`` every scene is checked against its builder's contract too."""
    library = ContentLibrary()
    every: list[_Loaded] = []
    for path, kind in files:
        loaded = _load(path, kind, contracts)
        every.append(loaded)
        library.files_checked += 1
        spec = loaded.spec
        if spec is None:
            continue
        other = library.paths.get((loaded.kind, spec.id))
        if other is not None:
            loaded.report.error(("id",), f'{loaded.kind} id "{spec.id}" is also used by {_display(other)}')
            loaded.spec = None
            continue
        if isinstance(spec, SceneSpec):
            library.scenes[spec.id] = spec
        else:
            library.protocols[spec.id] = spec
        library.paths[(loaded.kind, spec.id)] = path
    # Preset names by scene id. A scene with errors still names its presets, so a protocol over it is
    # checked too rather than told its scene does not exist.
    scenes: dict[str, set[str]] = {sid: set(s.presets) for sid, s in (reference_scenes or {}).items()}
    events: dict[str, set[str]] = {sid: set(s.events) for sid, s in (reference_scenes or {}).items()}
    for loaded in every:
        if loaded.kind == "scene" and loaded.data is not None and isinstance(loaded.data.get("id"), str):
            scenes[loaded.data["id"]] = _names(loaded.data, "presets")
            events[loaded.data["id"]] = _names(loaded.data, "events")
    for loaded in every:
        if loaded.kind == "protocol" and loaded.data is not None:
            errors_before = len(loaded.report.errors)
            _cross_check(loaded.data, scenes, loaded.report, events)
            if len(loaded.report.errors) > errors_before and isinstance(loaded.spec, ProtocolSpec):
                del library.protocols[loaded.spec.id]
                del library.paths[("protocol", loaded.spec.id)]
        library.problems.extend(loaded.problems)
    return library


def _cross_check(
    data: Mapping[str, Any],
    scenes: Mapping[str, set[str]],
    report: _Report,
    events: Mapping[str, set[str]] | None = None,
) -> None:
    """A protocol's references into scenes (presets, scheduled events), checked on whatever parts of
    it are sound."""

    def text_at(*keys: str | int) -> str | None:
        value: Any = data
        for key in keys:
            if isinstance(key, int):
                value = value[key] if isinstance(value, list) and key < len(value) else None
            else:
                value = value.get(key) if isinstance(value, dict) else None
        ok = isinstance(value, str) and not report.has_errors_under(keys)
        return value if ok else None

    scene_id = text_at("scene")
    presets = scenes.get(scene_id) if scene_id is not None else None
    if scene_id is not None and presets is None:
        report.error(("scene",), f'no scene "{scene_id}"' + _did_you_mean(scene_id, scenes))
    ladder = data.get("ladder")
    if presets is not None and isinstance(ladder, list):
        for i in range(len(ladder)):
            preset = text_at("ladder", i, "preset")
            if preset is not None and preset not in presets:
                report.error(
                    ("ladder", i, "preset"),
                    f'scene "{scene_id}" has no preset "{preset}"' + _did_you_mean(preset, presets),
                )
            schedule = ladder[i].get("schedule") if isinstance(ladder[i], dict) else None
            scene_events = (events or {}).get(scene_id or "", set())
            for j in range(len(schedule) if isinstance(schedule, list) else 0):
                event = text_at("ladder", i, "schedule", j, "event")
                if event is not None and event not in scene_events:
                    report.error(
                        ("ladder", i, "schedule", j, "event"),
                        f'scene "{scene_id}" has no event "{event}"' + _did_you_mean(event, scene_events),
                    )
    start_preset = text_at("start", "preset")
    if presets is not None and start_preset is not None and start_preset not in presets:
        report.error(
            ("start", "preset"),
            f'scene "{scene_id}" has no preset "{start_preset}"' + _did_you_mean(start_preset, presets),
        )
    safe = data.get("safe_place")
    if safe is not None and not isinstance(safe, dict):
        return
    default = SafePlaceSettings()
    safe_id = text_at("safe_place", "scene") if safe and "scene" in safe else default.scene
    if safe_id is None:
        return
    safe_presets = scenes.get(safe_id)
    if safe_presets is None:
        report.error(
            ("safe_place", "scene"),
            f'no scene "{safe_id}" for the safe place' + _did_you_mean(safe_id, scenes),
        )
        return
    safe_preset = text_at("safe_place", "preset")
    if safe_preset is not None and safe_preset not in safe_presets:
        report.error(
            ("safe_place", "preset"),
            f'scene "{safe_id}" has no preset "{safe_preset}"' + _did_you_mean(safe_preset, safe_presets),
        )


def _files_in(dirs: Iterable[Path], kind: Kind) -> list[tuple[Path, Kind | None]]:
    return [(f, kind) for d in dirs for f in iter_content_files(d)]


def load_library(
    scene_dirs: Iterable[str | os.PathLike[str]] | None = None,
    protocol_dirs: Iterable[str | os.PathLike[str]] | None = None,
    *,
    raise_on_error: bool = True,
    contracts: Contracts | None = None,
) -> ContentLibrary:
    """Load every scene and protocol in the given directories (default: :func:`default_content_dirs`)
    and cross-check them. Raises :class:`SpecError` listing every error unless ``raise_on_error`` is
    false, in which case the library holds the files that loaded cleanly plus the problems. With
    ``contracts`` (builder name -> :class:`BuilderContract`) each scene is checked against its
    builder's contract: the renderer refuses a scene its builder would not show as written."""
    defaults = default_content_dirs() if scene_dirs is None or protocol_dirs is None else None
    sdirs = (
        [Path(d) for d in scene_dirs] if scene_dirs is not None else list(defaults.scenes if defaults else ())
    )
    pdirs = (
        [Path(d) for d in protocol_dirs]
        if protocol_dirs is not None
        else list(defaults.protocols if defaults else ())
    )
    library = build_library(_files_in(sdirs, "scene") + _files_in(pdirs, "protocol"), contracts=contracts)
    if raise_on_error and library.errors:
        raise SpecError(library.errors)
    return library
