"""Reading a session journal: parse every process's file, report damage, merge on one timeline.

Reading never raises on a damaged journal file; it reports. A torn last line (bytes after the last
newline: the process died in the middle of a write, so that record was never acknowledged) is
dropped with a warning; an invalid line elsewhere is skipped with a warning; a jump in ``seq`` is
reported as a gap. Every warning names the file and line (:class:`JournalWarning`).

Merging: the records of all files are put on the monotonic clock of one reference process (the
renderer's when there is one). A file on the same machine (same ``clock_domain`` boot id) needs no
mapping. A file from another machine is mapped with the ``clock_offset`` records journaled during
the session (``peer_clock = own_clock + offset_ns``): each record uses the latest estimate at or
before its own time (the first estimate before that). ``JournalRecord.t_ns`` is the merged time;
``t_mono_ns`` stays as written.
"""

from __future__ import annotations

import bisect
import codecs
import gc
import itertools
import logging
import operator
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from vr_exposure.errors import JournalError
from vr_exposure.journal.manifest import Manifest, read_manifest
from vr_exposure.journal.paths import JOURNAL_SUFFIX

log = logging.getLogger(__name__)

REFERENCE_PROCESS = "renderer"


class RecordHeader(msgspec.Struct, kw_only=True, gc=False):
    """The envelope header of a record (a wire header, or one the writer built). Every field has a
    default and unknown fields are ignored, so any version's header reads."""

    msg_id: str = ""
    msg_type: str = ""
    session_id: str = ""
    sender: str = ""
    instance_id: str = ""
    seq: int = 0
    sent_mono_ns: int = 0
    protocol_version: str = ""


_NULL = msgspec.Raw(b"null")


class JournalRecord(msgspec.Struct, kw_only=True, gc=False):
    """One journal line. ``content`` is decoded from the line's JSON on first access and kept
    (``content_json`` holds the raw JSON): a 60-minute session has hundreds of thousands of
    head-pose records, and building all their dicts up front would dominate the time to load it
    (:meth:`SessionLog.contents` decodes the contents of one type in one call). ``t_ns`` is not in
    the file: the reader sets it to the record's time on the merged timeline (the reference
    process's monotonic clock, ns). Records are for reading; to write one out, encode its fields."""

    seq: int
    t_mono_ns: int
    process: str
    kind: str
    msg_type: str = ""
    header: RecordHeader | None = None
    parent_header: RecordHeader | None = None
    content_json: msgspec.Raw = msgspec.field(default=_NULL, name="content")
    t_ns: int = 0
    content_cache_: Any = msgspec.field(default=msgspec.UNSET, name="~decoded-content")

    @property
    def content(self) -> Any:
        """The record's content (usually a dict), decoded once."""
        cached = self.content_cache_
        if cached is msgspec.UNSET:
            cached = self.content_cache_ = _content_decoder.decode(self.content_json)
        return cached

    @property
    def t_s(self) -> float:
        """Merged time in seconds (same clock as ``t_ns``)."""
        return self.t_ns / 1e9

    def to_dict(self) -> dict[str, Any]:
        """The record as plain Python data, in the line's field order, plus ``t_ns``."""
        return {
            "seq": self.seq,
            "t_mono_ns": self.t_mono_ns,
            "process": self.process,
            "kind": self.kind,
            "msg_type": self.msg_type,
            "header": msgspec.to_builtins(self.header),
            "parent_header": msgspec.to_builtins(self.parent_header),
            "content": self.content,
            "t_ns": self.t_ns,
        }

    def __repr__(self) -> str:
        return (
            f"JournalRecord(seq={self.seq}, t_ns={self.t_ns}, process={self.process!r}, kind={self.kind!r}, "
            f"msg_type={self.msg_type!r}, content={self.content!r})"
        )


class JournalWarning(str):
    """A problem found while reading, as ``file:line: message`` text, with its parts as attributes:
    ``file``, ``line`` (1-based, or None for the whole file), ``code`` (``torn_line``,
    ``invalid_line``, ``invalid_header``, ``seq_gap``, ``missing_file``, ``unlisted_file``, ``clock``,
    ``manifest``)."""

    file: str
    line: int | None
    code: str
    message: str

    def __new__(cls, file: str, line: int | None, code: str, message: str) -> JournalWarning:
        text = f"{file}:{line}: {message}" if line is not None else f"{file}: {message}"
        self = super().__new__(cls, text)
        self.file = file
        self.line = line
        self.code = code
        self.message = message
        return self


class FileSummary(msgspec.Struct, kw_only=True):
    """What the reader found in one file: ``lines`` (newlines), ``bytes`` (size), the damage
    (``torn_tail_bytes``, ``invalid_lines``, ``seq_gaps``), whether its writer closed it cleanly
    (``closed``: the last line is ``journal_closed``), the ``format_version`` and ``clock_domain``
    its ``journal_opened`` line names, its latest ``t_mono_ns`` (on its own clock; where a crash cut
    it short), and whether its times were mapped onto the reference clock (``offset_applied``)."""

    file: str
    process: str
    records: int
    lines: int
    bytes: int = 0
    torn_tail_bytes: int
    invalid_lines: int
    seq_gaps: int
    closed: bool = False
    format_version: int | None = None
    clock_domain: str | None = None
    last_mono_ns: int | None = None
    offset_applied: bool = False


_record_decoder = msgspec.json.Decoder(JournalRecord)
_content_decoder = msgspec.json.Decoder()


class _LooseRecord(msgspec.Struct, kw_only=True, gc=False):
    """A line whose headers are not in the expected shape (a caller passed odd values)."""

    seq: int
    t_mono_ns: int
    process: str
    kind: str
    msg_type: str = ""
    header: Any = None
    parent_header: Any = None
    content: msgspec.Raw = _NULL


_loose_decoder = msgspec.json.Decoder(_LooseRecord)


def _loose_header(value: Any) -> RecordHeader | None:
    try:
        return msgspec.convert(value, RecordHeader, strict=False) if isinstance(value, dict) else None
    except msgspec.ValidationError:
        return None


def _decode_loose(line: bytes) -> JournalRecord:
    """Keep a line whose seq, time, process, kind and content are fine but whose header fields have
    the wrong types: the headers are coerced, or dropped when they cannot be."""
    loose = _loose_decoder.decode(line)
    return JournalRecord(
        seq=loose.seq,
        t_mono_ns=loose.t_mono_ns,
        process=loose.process,
        kind=loose.kind,
        msg_type=loose.msg_type,
        header=_loose_header(loose.header),
        parent_header=_loose_header(loose.parent_header),
        content_json=loose.content,
    )


def _is_utf8(data: bytes | memoryview) -> bool:
    if isinstance(data, bytes) and data.isascii():
        return True
    try:
        codecs.utf_8_decode(data, "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def _decode_lines(
    name: str, data: bytes, end: int, lines: int, warnings: list[JournalWarning]
) -> tuple[list[JournalRecord], int]:
    """Decode the ``lines`` newline-terminated JSON lines in ``data[:end]``: one decoder call for
    the whole file when it is intact; line by line, to find and report the bad ones, when it is not."""
    if not lines:
        return [], 0
    with memoryview(data) as view:  # no copy of a file that may be 100+ MB
        return _decode_body(name, view[:end], data.isascii(), lines, warnings)


def _decode_body(
    name: str, body: memoryview, ascii: bool, lines: int, warnings: list[JournalWarning]
) -> tuple[list[JournalRecord], int]:
    # The cyclic garbage collector would traverse the new objects again and again while they are
    # created; nothing decoded here can form a cycle.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            # The content is kept as raw JSON, which the decoder does not check for invalid UTF-8;
            # checked here, so that decoding a content later cannot fail (ASCII, the usual case, is
            # checked in a few ms).
            if not ascii and not _is_utf8(body):
                raise ValueError("invalid UTF-8")
            records: list[JournalRecord] = _record_decoder.decode_lines(body)
            if len(records) == lines:  # else there were empty lines, which decode_lines skips
                return records, 0
        except (msgspec.DecodeError, ValueError):  # ValueError: invalid UTF-8 inside a string
            pass
        records = []
        invalid = 0
        decode = _record_decoder.decode
        for lineno, line in enumerate(bytes(body[:-1]).split(b"\n"), start=1):
            try:
                if not _is_utf8(line):
                    raise ValueError("invalid UTF-8")
                records.append(decode(line))
                continue
            except msgspec.ValidationError as exc:
                error: Exception = exc
                try:
                    records.append(_decode_loose(line))
                    warnings.append(JournalWarning(name, lineno, "invalid_header", f"{exc}; header coerced"))
                    continue
                except (msgspec.DecodeError, ValueError):
                    pass
            except (msgspec.DecodeError, ValueError) as exc:  # ValueError: invalid UTF-8
                error = exc
            invalid += 1
            what = "empty line" if not line.strip() else f"damaged line ({error})"
            warnings.append(JournalWarning(name, lineno, "invalid_line", f"{what}; skipped"))
        return records, invalid
    finally:
        if gc_was_enabled:
            gc.enable()


def read_journal_file(path: Path | str, warnings: list[JournalWarning] | None = None) -> list[JournalRecord]:
    """Read one journal file in file order (``t_ns`` = ``t_mono_ns``). Problems go to ``warnings``."""
    records, _summary = _read_file(Path(path), [] if warnings is None else warnings)
    return records


def _read_file(path: Path, warnings: list[JournalWarning]) -> tuple[list[JournalRecord], FileSummary]:
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        warnings.append(JournalWarning(name, None, "missing_file", f"cannot read: {exc.strerror}"))
        data = b""
    end = data.rfind(b"\n") + 1
    lines = data.count(b"\n")
    tail = len(data) - end
    if tail:
        warnings.append(
            JournalWarning(
                name,
                lines + 1,
                "torn_line",
                f"torn last line ({tail} bytes without a newline: the write was interrupted); dropped",
            )
        )
    records, invalid = _decode_lines(name, data, end, lines, warnings)
    gaps = _seq_gaps(name, records, warnings)
    for record in records:
        record.t_ns = record.t_mono_ns
        if not record.msg_type and record.header is not None:
            record.msg_type = record.header.msg_type
        if record.msg_type in _LEGACY_CONSOLE_NAMES and record.process == "console":
            _rename_legacy(record)
    # The writer's first line is journal_opened, and a clean close's last is journal_closed, stamped
    # after every other line; lines from several threads may be a little out of time order.
    closed = bool(records) and records[-1].msg_type == "journal_closed"
    summary = FileSummary(
        file=name,
        process=records[0].process if records else name.split(".", 1)[0],
        records=len(records),
        lines=lines,
        bytes=len(data),
        torn_tail_bytes=tail,
        invalid_lines=invalid,
        seq_gaps=gaps,
        closed=closed,
        last_mono_ns=records[-1].t_mono_ns if closed else max(map(_t_mono_ns, records), default=None),
    )
    opened = records[0].content if records and records[0].msg_type == "journal_opened" else None
    if isinstance(opened, dict):
        version = opened.get("format_version")
        domain = opened.get("clock_domain")
        summary.format_version = version if isinstance(version, int) else None
        summary.clock_domain = domain if isinstance(domain, str) else None
    return records, summary


#: The console's session-engine records once shared their names with the renderer's wire facts
#: (``rating_recorded``, ``intensity_changed``) and were told apart by their content. They are
#: ``suds_recorded`` and ``intensity_set`` now; older console journals are read under the new names.
_LEGACY_CONSOLE_NAMES = {
    "rating_recorded": ("rating", "suds_recorded"),
    "intensity_changed": ("intensity_from", "intensity_set"),
}


def _rename_legacy(record: JournalRecord) -> None:
    key, name = _LEGACY_CONSOLE_NAMES[record.msg_type]
    content = record.content
    if isinstance(content, dict) and key in content:
        record.msg_type = name


_t_mono_ns = operator.attrgetter("t_mono_ns")
_seq = operator.attrgetter("seq")
_content_json = operator.attrgetter("content_json")


def _seq_gaps(name: str, records: list[JournalRecord], warnings: list[JournalWarning]) -> int:
    """Count (and report) the places where ``seq`` does not go up by one from line to line."""
    if not records:
        return 0
    seqs = list(map(_seq, records))
    first = seqs[0]
    if seqs == list(range(first, first + len(seqs))):  # the usual case, checked without a Python loop
        return 0
    gaps = 0
    for previous, seq in itertools.pairwise(seqs):
        if seq == previous + 1:
            continue
        gaps += 1
        if seq > previous + 1:
            missing = seq - previous - 1
            plural = "s" if missing != 1 else ""
            text = f"seq jumps from {previous} to {seq}: {missing} record{plural} missing"
        else:
            text = f"seq goes back from {previous} to {seq}"
        warnings.append(JournalWarning(name, None, "seq_gap", text))
    return gaps


class SessionLog:
    """A whole session: ``manifest`` (None if unreadable), ``records`` (every file merged, sorted
    by ``t_ns``), ``warnings`` (:class:`JournalWarning`), ``files`` (:class:`FileSummary` per file),
    ``offsets_ns`` (the clock offset applied per process, latest estimate)."""

    def __init__(
        self,
        session_dir: Path,
        manifest: Manifest | None,
        records: list[JournalRecord],
        warnings: list[JournalWarning],
        files: list[FileSummary],
        reference_process: str | None,
        estimates: dict[str, list[tuple[int, int]]],
    ) -> None:
        self.session_dir = session_dir
        self.manifest = manifest
        self.records = records
        self.warnings = warnings
        self.files = files
        self.reference_process = reference_process
        self._estimates = estimates
        self._by_type: dict[str, list[JournalRecord]] | None = None

    @property
    def offsets_ns(self) -> dict[str, int]:
        """The latest clock offset applied per process (processes on the reference's clock: none)."""
        return {process: found[-1][1] for process, found in self._estimates.items()}

    def merged_ns(self, process: str, t_mono_ns: int) -> int:
        """A time on ``process``'s own monotonic clock, put on the merged timeline as its records are."""
        found = self._estimates.get(process)
        return t_mono_ns if not found else t_mono_ns + _offset_at(found, t_mono_ns)

    @property
    def session_id(self) -> str:
        return self.manifest.session_id if self.manifest is not None else self.session_dir.name

    def by_type(self, *msg_types: str) -> list[JournalRecord]:
        """Records whose ``msg_type`` is any of ``msg_types``, in timeline order."""
        if self._by_type is None:
            index: dict[str, list[JournalRecord]] = {}
            for record in self.records:
                bucket = index.get(record.msg_type)
                if bucket is None:
                    index[record.msg_type] = bucket = []
                bucket.append(record)
            self._by_type = index
        if len(msg_types) == 1:
            return list(self._by_type.get(msg_types[0], ()))
        wanted = set(msg_types)
        return [r for r in self.records if r.msg_type in wanted]

    def contents(self, msg_type: str, type: Any = Any) -> list[Any]:
        """The contents of every ``msg_type`` record, in timeline order, decoded in one pass: as
        dicts, or as ``type`` (e.g. a msgspec Struct with just the fields you need, which is the
        fastest way to columns: an hour of head poses in about a quarter of a second). Raises
        ``msgspec.ValidationError`` if a content does not fit ``type``."""
        records = self.by_type(msg_type)
        if not records:
            return []
        decode = msgspec.json.Decoder(type).decode
        gc_was_enabled = gc.isenabled()
        gc.disable()  # as in _decode_lines: many new containers, none in a cycle
        try:
            return list(map(decode, map(_content_json, records)))
        finally:
            if gc_was_enabled:
                gc.enable()

    def by_kind(self, kind: str) -> list[JournalRecord]:
        """``clinical``, ``telemetry`` or ``meta`` records, in timeline order."""
        return [r for r in self.records if r.kind == kind]

    def by_process(self, process: str) -> list[JournalRecord]:
        return [r for r in self.records if r.process == process]

    @property
    def msg_types(self) -> dict[str, int]:
        """How many records of each type."""
        self.by_type("")
        assert self._by_type is not None
        return {k: len(v) for k, v in sorted(self._by_type.items())}

    @property
    def start_ns(self) -> int | None:
        return self.records[0].t_ns if self.records else None

    @property
    def end_ns(self) -> int | None:
        return self.records[-1].t_ns if self.records else None

    @property
    def duration_s(self) -> float:
        """From the first record to the last, in seconds (0.0 when empty)."""
        if not self.records:
            return 0.0
        return (self.records[-1].t_ns - self.records[0].t_ns) / 1e9

    def utc_ns(self, t_ns: int) -> int | None:
        """Wall-clock time (ns since the epoch) of a merged-timeline time, from the reference
        process's nearest earlier (monotonic, UTC) pair; None if no pair was journaled."""
        pairs = sorted(
            (r.t_ns, int(r.content["utc_ns"]))
            for msg_type in ("journal_opened", "clock_pair", "journal_closed")
            for r in self.by_type(msg_type)  # from the index: not a pass over every record
            if r.kind == "meta"
            and r.process == self.reference_process
            and isinstance(r.content, dict)
            and "utc_ns" in r.content
        )
        if not pairs:
            return None
        i = bisect.bisect_right(pairs, t_ns, key=operator.itemgetter(0)) - 1
        mono, utc = pairs[max(i, 0)]
        return utc + (t_ns - mono)

    def __iter__(self) -> Iterator[JournalRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"<SessionLog {self.session_id}: {len(self.records)} records, {len(self.warnings)} warnings>"


def _journal_files(
    session_dir: Path, manifest: Manifest | None, warnings: list[JournalWarning]
) -> list[Path]:
    on_disk = {p.name for p in session_dir.glob(f"*{JOURNAL_SUFFIX}") if p.is_file()}
    listed = [f.file for f in manifest.files] if manifest is not None else []
    for name in listed:
        if name not in on_disk:
            warnings.append(JournalWarning(name, None, "missing_file", "listed in the manifest, not found"))
    if manifest is not None:
        for name in sorted(on_disk - set(listed)):
            warnings.append(JournalWarning(name, None, "unlisted_file", "not in the manifest; read anyway"))
    return [session_dir / n for n in sorted(on_disk)]


def _clock_domain(summary: FileSummary, manifest: Manifest | None) -> str | None:
    """The manifest's word for the file's clock domain, else its ``journal_opened`` line's."""
    entry = manifest.file_entry(summary.file) if manifest is not None else None
    return entry.clock_domain if entry is not None and entry.clock_domain else summary.clock_domain


def _offset_estimates(
    per_file: list[tuple[FileSummary, list[JournalRecord]]], reference: str
) -> dict[str, list[tuple[int, int]]]:
    """``{process: [(time on that process's clock, offset to add to reach the reference clock)]}``."""
    estimates: dict[str, list[tuple[int, int]]] = {}
    for _summary, records in per_file:
        for r in records:
            if r.msg_type != "clock_offset" or not isinstance(r.content, dict):
                continue
            offset = r.content.get("offset_ns")
            if not isinstance(offset, int):
                continue
            peer = r.content.get("peer") or (REFERENCE_PROCESS if r.process != REFERENCE_PROCESS else None)
            if peer == reference and r.process != reference:
                # reference = own + offset: the record's own time is on the mapped process's clock
                estimates.setdefault(r.process, []).append((r.t_mono_ns, offset))
            elif r.process == reference and isinstance(peer, str) and peer != reference:
                # peer = reference + offset: on the peer's clock this instant is t + offset
                estimates.setdefault(peer, []).append((r.t_mono_ns + offset, -offset))
    for values in estimates.values():
        values.sort()
    return estimates


def _offset_at(estimates: list[tuple[int, int]], t_mono_ns: int) -> int:
    """The latest estimate at or before ``t_mono_ns`` (the first one before them all)."""
    i = bisect.bisect_right(estimates, t_mono_ns, key=operator.itemgetter(0)) - 1
    return estimates[max(i, 0)][1]


def _apply_offsets(records: list[JournalRecord], estimates: list[tuple[int, int]]) -> None:
    """:func:`_offset_at` for every record, with the search keys built once."""
    times = [t for t, _ in estimates]
    offsets = [o for _, o in estimates]
    for r in records:
        i = bisect.bisect_right(times, r.t_mono_ns) - 1
        r.t_ns = r.t_mono_ns + offsets[max(i, 0)]


def read_session(session_dir: Path | str) -> SessionLog:
    """Read every journal file of a session and merge them on one timeline. Raises
    :class:`JournalError` only when ``session_dir`` is not a directory; a missing or broken manifest
    and damaged files are warnings."""
    session_dir = Path(session_dir)
    if not session_dir.is_dir():
        raise JournalError(f"{session_dir}: no such session directory")
    warnings: list[JournalWarning] = []
    manifest: Manifest | None
    try:
        manifest = read_manifest(session_dir)
    except JournalError as exc:
        manifest = None
        warnings.append(JournalWarning("manifest.json", None, "manifest", str(exc).split(": ", 1)[-1]))
    per_file: list[tuple[FileSummary, list[JournalRecord]]] = []
    for path in _journal_files(session_dir, manifest, warnings):
        records, summary = _read_file(path, warnings)
        summary.clock_domain = _clock_domain(summary, manifest)
        per_file.append((summary, records))

    processes = [s.process for s, _ in per_file]
    reference = REFERENCE_PROCESS if REFERENCE_PROCESS in processes else (processes[0] if processes else None)
    applied: dict[str, list[tuple[int, int]]] = {}
    if reference is not None:
        ref_domains = {s.clock_domain for s, _ in per_file if s.process == reference}
        estimates: dict[str, list[tuple[int, int]]] | None = None  # only needed across machines
        for summary, records in per_file:
            if summary.process == reference:
                continue
            same_clock = summary.clock_domain is not None and summary.clock_domain in ref_domains
            if same_clock:
                continue
            if estimates is None:
                estimates = _offset_estimates(per_file, reference)
            found = estimates.get(summary.process)
            if found:
                _apply_offsets(records, found)
                summary.offset_applied = True
                applied[summary.process] = found
            elif records:
                warnings.append(
                    JournalWarning(
                        summary.file,
                        None,
                        "clock",
                        f"not on the {reference}'s clock (another machine or unknown), no clock_offset was "
                        "journaled; its times are its own monotonic clock",
                    )
                )

    # Reference files first, so a tie in time keeps the reference's order (the sort is stable).
    per_file.sort(key=lambda item: item[0].process != reference)
    merged: list[JournalRecord] = []
    for _summary, records in per_file:
        merged.extend(records)
    merged.sort(key=operator.attrgetter("t_ns"))
    for w in warnings:
        log.warning("journal %s: %s", session_dir.name, w)
    return SessionLog(session_dir, manifest, merged, warnings, [s for s, _ in per_file], reference, applied)
