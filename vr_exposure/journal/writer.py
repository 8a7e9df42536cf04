"""The journal writer: one append-only JSON-lines file per process, with the durability policy.

Durability policy
    * :meth:`JournalWriter.clinical` (SUDS, intensity, scene, safe place, stop, notes...) encodes,
      writes and fsyncs (``fdatasync``) the line before it returns; when it returns, the record
      survives a crash of the process or of the machine.
    * :meth:`JournalWriter.telemetry` (head pose, frame timing) only appends to an in-memory queue and
      returns: it never blocks the caller (the render loop). Two background threads take it from
      there: an encoder thread turns the queue into JSON lines in batches at least every
      ``flush_interval_s`` (default 50 ms) and an I/O thread writes them at once (so writing one
      batch overlaps encoding the next: the system call releases the GIL) and fsyncs at least every
      ``fsync_interval_s`` (default 1 s). A telemetry record is written within ~60 ms and durable
      within ~1.1 s (policy: <= 100 ms, <= 1 s plus a flush). The queue is bounded; if it is ever
      full, telemetry is dropped and counted, and the count is journaled as a ``telemetry_dropped``
      meta record. In a burst (256 or more records waiting, which steady 90 Hz telemetry never
      reaches: the encoder drains the queue every 50 ms) ``telemetry()`` encodes a batch itself
      when the encode lock is free, while the records are still in the CPU caches; it never waits
      for that lock. The content is encoded after the call returns, so pass a fresh dict.

Ordering
    Each line gets the next ``seq`` of its file when it is encoded, under the encode lock, and
    encoded batches are written in that order under the I/O lock, so ``seq`` is the order of the
    lines in the file. ``clinical()`` takes the encode lock, encodes every telemetry record already
    queued (from any thread), then, under the I/O lock, writes all encoded batches not yet written,
    then its own line, then fsyncs: telemetry a thread queued before it called ``clinical()`` is
    never written after that clinical record. ``t_mono_ns`` is stamped when a method is called
    (the event's time), so across threads it can differ slightly from file order; readers sort by
    time. While the encoder runs it holds the GIL for at most one batch (about a millisecond); in
    steady operation a few microseconds per wake-up.

Files are created with ``O_CREAT | O_EXCL | O_APPEND`` and mode 0600 and are never rewritten or
reopened for writing: a process that restarts within a session gets ``<process>.2.jsonl``. While a
writer is open it holds an exclusive ``flock`` on its file, which is how sealing and recovery tell
a live writer from one whose process died.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from vr_exposure.core.clock import SYSTEM_CLOCK, Clock, SystemClock
from vr_exposure.errors import JournalError
from vr_exposure.journal.locks import hold_writer_lock, session_lock
from vr_exposure.journal.manifest import (
    FORMAT_VERSION,
    ClockPair,
    JournalFile,
    read_manifest,
    updating_manifest,
    write_manifest,
)
from vr_exposure.journal.paths import check_process, clock_domain, journal_file_name, utc_iso

log = logging.getLogger(__name__)

_O_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_datasync = getattr(os, "fdatasync", os.fsync)
_writev = getattr(os, "writev", None)
_IOV_MAX = min(1024, os.sysconf("SC_IOV_MAX")) if hasattr(os, "sysconf") else 1024

WRITER_PROTOCOL_VERSION = ""
"""``protocol_version`` of a header the writer builds itself (the record did not come over the link)."""


class _Header(msgspec.Struct, gc=False):
    """A header built by the writer for a record that has none of its own."""

    msg_id: str
    msg_type: str
    session_id: str
    sender: str
    seq: int
    sent_mono_ns: int
    protocol_version: str


class _Line(msgspec.Struct, gc=False):
    """One journal line, in the field order of docs/journal.md."""

    seq: int
    t_mono_ns: int
    process: str
    kind: str
    msg_type: str
    header: Any
    parent_header: Any
    content: Any


class _TelemetryLine(msgspec.Struct, gc=False):
    """A telemetry line without a header of its own: what telemetry() queues. ``middle`` is the
    pre-encoded run of fields that is the same for every record of one ``msg_type``
    (``"process":...`` through ``"parent_header":null``, see :meth:`JournalWriter._middle`). A
    ``Raw`` value is written verbatim, so this encodes to exactly the bytes a :class:`_Line` with
    the writer's short header would: the caller builds a 4-field object and the encoder skips
    five fields per record."""

    seq: int
    t_mono_ns: int
    middle: msgspec.Raw = msgspec.field(name="process")
    content: Any = None


def _enc_hook(obj: Any) -> Any:
    """Numpy values and arrays become lists/numbers, anything else unknown its ``str``: a journal
    write must not fail because a caller passed a float32 or a Path."""
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(obj)


_CHUNK = 2048
"""Most telemetry records the encoder thread encodes per hold of the encode lock, so a clinical()
call never waits behind a long backlog."""

_ASSIST = 256
"""Queued telemetry records from which telemetry() encodes a batch itself (see _telemetry_slow)."""


class JournalWriter:
    """Writes one process's journal file in a session directory. Use as a context manager, or
    call :meth:`close`; the background threads are daemons, so a writer that is never closed loses
    at most its last second of telemetry and leaves the session for recovery.

    ``clock`` stamps every record (``monotonic_ns``) and the clock pairs (``utc_ns``); tests pass
    a fake one. Open a session directory with :func:`create_session` or :func:`open_session_dir`.
    """

    def __init__(
        self,
        session_dir: Path | str,
        process: str = "renderer",
        *,
        clock: Clock = SYSTEM_CLOCK,
        flush_interval_s: float = 0.05,
        fsync_interval_s: float = 1.0,
        clock_pair_interval_s: float = 60.0,
        telemetry_queue_max: int = 65_536,
    ) -> None:
        if flush_interval_s <= 0 or fsync_interval_s <= 0:
            raise ValueError("flush_interval_s and fsync_interval_s must be positive")
        if telemetry_queue_max < 1:
            raise ValueError("telemetry_queue_max must be at least 1")
        self.session_dir = Path(session_dir)
        self.process = check_process(process)
        self.clock = clock
        # The system clock's method is a Python call around time.monotonic_ns; call the C function.
        self._mono = time.monotonic_ns if isinstance(clock, SystemClock) else clock.monotonic_ns
        self._flush_interval_s = flush_interval_s
        self._fsync_interval_s = fsync_interval_s
        self._clock_pair_interval_ns = int(clock_pair_interval_s * 1e9)
        self._queue_max = telemetry_queue_max
        # The encoder wakes early when this many records wait, so a burst is encoded in chunks.
        self._wake_batch = max(1, min(_CHUNK, telemetry_queue_max // 4))
        # A burst: from this many waiting records on, telemetry() encodes them itself when the
        # encode lock is free (never waiting for it), while they are still in the CPU's caches.
        self._assist_batch = max(1, min(_ASSIST, self._wake_batch))
        # telemetry() takes its fast path while fewer than this wait; 0 once closing (all slow).
        self._fast_below = self._assist_batch

        # Queued telemetry is already the line to encode (the encoder only fills in seq): one
        # object per record, not one the cyclic GC tracks (gc=False), so a backlog costs no GC.
        self._queue: collections.deque[_Line | _TelemetryLine] = collections.deque()
        self._append = self._queue.append
        self._lock = threading.Lock()  # encode lock: queue -> seq -> encoded chunks, in order
        self._io_lock = threading.Lock()  # I/O lock: chunks -> fd, fsync bookkeeping
        self._chunks: collections.deque[bytes] = collections.deque()
        self._wake = threading.Event()
        self._io_wake = threading.Event()
        self._encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
        self._middles: dict[str, msgspec.Raw] = {}
        self._middle_types: dict[bytes, str] = {}
        self._seq = 0
        self._dropped = 0
        self._dropped_journaled = 0
        self._dirty = False  # written since the last fsync
        self._last_fsync = time.monotonic()
        self._closing = False
        self._closed = False
        self.write_errors = 0
        self.records_written = 0
        self._io_failing = False  # log a failing disk once, not at every wake-up

        self._fd, self.path, self.session_id = self._open_file()
        self._msg_id_prefix = self.path.name.removesuffix(".jsonl") + ":"
        self._last_clock_pair_ns = self._mono()
        try:
            self._write_now(
                "meta",
                "journal_opened",
                {
                    "file": self.path.name,
                    "process": self.process,
                    "pid": os.getpid(),
                    "session_id": self.session_id,
                    "format_version": FORMAT_VERSION,
                    "clock_domain": clock_domain(),
                    **self._utc_now(),
                },
            )
        except JournalError:
            self._closed = True
            os.close(self._fd)
            raise
        name = f"vr-exposure-journal-{process}"
        self._threads = (
            threading.Thread(target=self._encode_loop, name=f"{name}-encode", daemon=True),
            threading.Thread(target=self._io_loop, name=f"{name}-io", daemon=True),
        )
        for thread in self._threads:
            thread.start()

    # -- opening ------------------------------------------------------------------------------------

    def _open_file(self) -> tuple[int, Path, str]:
        with session_lock(self.session_dir):
            manifest = read_manifest(self.session_dir)
            if manifest.sealed:
                raise JournalError(
                    f"{self.session_dir}: the session is sealed; start a new session to journal more"
                )
            part = 1
            while True:
                path = self.session_dir / journal_file_name(self.process, part)
                try:
                    fd = os.open(path, _O_FLAGS, 0o600)
                    break
                except FileExistsError:
                    part += 1
                except OSError as exc:
                    raise JournalError(f"{path}: cannot create the journal file: {exc.strerror}") from None
            hold_writer_lock(fd)  # for the writer's life: seal and recover leave the file alone
            manifest.files.append(
                JournalFile(
                    file=path.name,
                    process=self.process,
                    pid=os.getpid(),
                    clock_domain=clock_domain(),
                    opened=ClockPair.now(self.clock),
                )
            )
            try:
                write_manifest(self.session_dir, manifest)
            except JournalError:
                os.close(fd)
                raise
        return fd, path, manifest.session_id

    # -- public API ---------------------------------------------------------------------------------

    def clinical(
        self,
        msg_type: str,
        content: Mapping[str, Any] | Any,
        *,
        header: Mapping[str, Any] | Any | None = None,
        parent_header: Mapping[str, Any] | Any | None = None,
    ) -> int:
        """Journal a clinical record and return its ``seq`` once it is written AND fsynced.
        Safe from any thread. Raises :class:`JournalError` if it could not be made durable."""
        return self._write_now("clinical", msg_type, content, header=header, parent_header=parent_header)

    def telemetry(self, msg_type: str, content: Mapping[str, Any] | Any, *, header: Any = None) -> None:
        """Queue a telemetry record; never blocks. ``content`` is encoded later by the encoder
        thread, so the caller must not change it after this call (pass a fresh dict)."""
        if header is None and len(self._queue) < self._fast_below:
            middle = self._middles.get(msg_type)
            if middle is not None:
                self._append(_TelemetryLine(0, self._mono(), middle, content))
                return
        self._telemetry_slow(msg_type, content, header)

    def _telemetry_slow(self, msg_type: str, content: Any, header: Any) -> None:
        waiting = len(self._queue)
        if self._closing or waiting >= self._queue_max:
            self._dropped += 1
            return
        if header is None:
            self._append(_TelemetryLine(0, self._mono(), self._middle(msg_type), content))
        else:
            self._append(_Line(0, self._mono(), self.process, "telemetry", msg_type, header, None, content))
        if len(self._queue) < self._assist_batch:
            return
        if self._lock.acquire(blocking=False):
            # Never waits: if clinical() or the encoder holds the lock, this record just waits
            # in the queue. Steady 90 Hz telemetry never gets here (the encoder drains every
            # flush_interval_s); a burst is encoded in batches while it is hot in the caches.
            try:
                if not self._closed:
                    self._chunks.extend(self._encode_queued(_CHUNK))
            finally:
                self._lock.release()
            self._io_wake.set()
        elif waiting == self._wake_batch:
            # Once per crossing, not per call: Event.set takes a lock. The encoder never sleeps
            # while this many records wait.
            self._wake.set()

    def journal_clock_offset(self, peer: str, offset_ns: int, uncertainty_ns: int | None = None) -> int:
        """Journal (durably) an estimate of another process's clock: ``peer_clock = own_clock +
        offset_ns`` (+- ``uncertainty_ns``). The reader uses it to merge files across machines."""
        return self._write_now(
            "meta",
            "clock_offset",
            {"peer": peer, "offset_ns": int(offset_ns), "uncertainty_ns": uncertainty_ns},
        )

    def clock_pair(self) -> int:
        """Journal a (monotonic, UTC) clock pair now (the writer also does every 60 s, at open and close)."""
        return self._write_now("meta", "clock_pair", self._utc_now())

    def flush(self, *, fsync: bool = True) -> None:
        """Write (and fsync) everything queued so far. Blocks: not for the render loop."""
        with self._lock:
            if self._closed:
                return
            parts = self._encode_queued()
            with self._io_lock:
                self._write_pending(parts)
                if fsync:
                    self._fsync_locked()

    @property
    def telemetry_dropped(self) -> int:
        """Telemetry records dropped because the queue was full (or the writer closed)."""
        return self._dropped

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Drain the queue, journal a closing clock pair, fsync, close the file, mark it closed in
        the manifest, and finish sealing the session if :func:`seal_session` asked for it."""
        if self._closing:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()
            return
        self._closing = True
        self._fast_below = 0
        self._wake.set()
        self._io_wake.set()
        for thread in self._threads:
            thread.join()
        error: BaseException | None = None
        with self._lock, self._io_lock:
            try:
                parts = self._encode_queued()
                parts.append(
                    self._encode_one(
                        "meta",
                        "journal_closed",
                        {
                            **self._utc_now(),
                            "records": self.records_written + 1,
                            "telemetry_dropped": self._dropped,
                        },
                        None,
                        None,
                        self._mono(),
                    )
                )
                self._write_pending(parts)
                self._fsync_locked()
            except JournalError as exc:
                error = exc
            finally:
                self._closed = True
                os.close(self._fd)  # also releases the flock
        closed_pair = ClockPair.now(self.clock)
        with updating_manifest(self.session_dir) as manifest:
            entry = manifest.file_entry(self.path.name)
            if entry is not None:
                entry.closed = closed_pair
                entry.telemetry_dropped = self._dropped
            seal_requested = manifest.seal_requested and not manifest.sealed
        if seal_requested:
            from vr_exposure.journal.seal import seal_session

            seal_session(self.session_dir, clock=self.clock)
        if error is not None:
            raise error

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if getattr(self, "_closed", False) else ""
        return (
            f"<JournalWriter {getattr(self, 'path', self.session_dir)} seq={getattr(self, '_seq', 0)}{state}>"
        )

    # -- encoding (encode lock held) ----------------------------------------------------------------

    def _utc_now(self) -> dict[str, Any]:
        utc_ns = self.clock.utc_ns()
        return {"utc_ns": utc_ns, "utc": utc_iso(utc_ns)}

    def _encode_one(
        self, kind: str, msg_type: str, content: Any, header: Any, parent: Any, t_ns: int
    ) -> bytes:
        """Encode one line with the next seq."""
        seq = self._seq
        if header is None:
            header = _Header(
                self._msg_id_prefix + str(seq),
                msg_type,
                self.session_id,
                self.process,
                seq,
                t_ns,
                WRITER_PROTOCOL_VERSION,
            )
        data = self._encoder.encode(_Line(seq, t_ns, self.process, kind, msg_type, header, parent, content))
        self._seq = seq + 1
        self.records_written += 1
        return data + b"\n"

    def _middle(self, msg_type: str) -> msgspec.Raw:
        """The fields between ``t_mono_ns`` and ``content`` of a ``msg_type`` telemetry line, encoded
        once. Its header is short, only ``msg_type`` and ``sender``: the other header fields are
        implied by the line (``seq``, ``t_mono_ns``) and the manifest (``session_id``), and
        repeating them at 90 Hz would double the file."""
        middle = self._middles.get(msg_type)
        if middle is not None:
            return middle
        enc = self._encoder.encode
        header = enc({"msg_type": msg_type, "sender": self.process})
        data = b"".join(
            [
                enc(self.process),
                b',"kind":"telemetry","msg_type":',
                enc(msg_type),
                b',"header":',
                header,
                b',"parent_header":null',
            ]
        )
        middle = msgspec.Raw(data)
        if len(self._middles) < 1024:  # msg_types are few; never let a bug grow this unbounded
            self._middles[msg_type] = middle
            self._middle_types[data] = msg_type
        return middle

    def _encode_queued(self, limit: int | None = None) -> list[bytes]:
        """Encode the queued telemetry records (all, or the oldest ``limit``), plus a
        ``telemetry_dropped`` record when some were dropped since the last one. Returns the
        encoded pieces, to be written in order (never joined: writev takes them as they are)."""
        queue = self._queue
        count = len(queue) if limit is None else min(limit, len(queue))
        parts: list[bytes] = []
        if count:
            popleft = queue.popleft
            seq = self._seq
            lines = [popleft() for _ in range(count)]
            for line in lines:
                line.seq = seq
                seq += 1
            try:
                parts.append(self._encoder.encode_lines(lines))
            except (TypeError, ValueError, OverflowError, RecursionError):
                parts.append(self._encode_each(lines))
            self._seq = seq
            self.records_written += count
        dropped = self._dropped
        if dropped > self._dropped_journaled:
            parts.append(
                self._encode_one(
                    "meta",
                    "telemetry_dropped",
                    {"dropped": dropped - self._dropped_journaled, "total": dropped},
                    None,
                    None,
                    self._mono(),
                )
            )
            self._dropped_journaled = dropped
        return parts

    def _encode_each(self, lines: list[_Line | _TelemetryLine]) -> bytes:
        """Slow path when a batch failed to encode: keep every good line, replace a bad one by an
        ``encode_error`` meta record with the same seq (so no gap hides it)."""
        buf = bytearray()
        for line in lines:
            try:
                buf += self._encoder.encode(line)
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                bad = _Line(
                    line.seq,
                    line.t_mono_ns,
                    self.process,
                    "meta",
                    "encode_error",
                    None,
                    None,
                    {"msg_type": self._msg_type_of(line), "error": str(exc)},
                )
                buf += self._encoder.encode(bad)
            buf += b"\n"
        return bytes(buf)

    def _msg_type_of(self, line: _Line | _TelemetryLine) -> str:
        if isinstance(line, _Line):
            return line.msg_type
        return self._middle_types.get(bytes(line.middle), "")

    def _write_now(
        self, kind: str, msg_type: str, content: Any, *, header: Any = None, parent_header: Any = None
    ) -> int:
        t_ns = self._mono()
        try:
            # Encode the caller's content before taking a lock: a bad value fails here, with nothing
            # written and no seq used, and the locks are held only for the write and fsync.
            raw = msgspec.Raw(self._encoder.encode(content))
            if header is not None:
                header = msgspec.Raw(self._encoder.encode(header))
            if parent_header is not None:
                parent_header = msgspec.Raw(self._encoder.encode(parent_header))
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise JournalError(f"{self.path.name}: cannot encode {msg_type} as JSON: {exc}") from None
        with self._lock:
            if self._closed:
                raise JournalError(f"{self.path}: the journal is closed; {msg_type} was not written")
            parts = self._encode_queued()
            seq = self._seq
            parts.append(self._encode_one(kind, msg_type, raw, header, parent_header, t_ns))
            with self._io_lock:
                self._write_pending(parts)
                self._fsync_locked()
        return seq

    # -- writing (I/O lock held) --------------------------------------------------------------------

    def _write_pending(self, parts: list[bytes] | None = None) -> None:
        """Write every encoded chunk the encoder thread queued and not yet written, then ``parts``."""
        chunks = self._chunks
        if chunks:
            pending = [chunks.popleft() for _ in range(len(chunks))]
            if parts:
                pending += parts
            parts = pending
        if parts:
            self._write_parts(parts)

    def _write_parts(self, parts: list[bytes]) -> None:
        """Write all of ``parts`` in order, with ``writev`` (no copy into one buffer) where there is
        one. A failed write leaves the file as it is: a partial line is a torn line the reader
        reports."""
        fd = self._fd
        try:
            if _writev is None:  # pragma: no cover - not POSIX
                view = memoryview(b"".join(parts))
                while view:
                    view = view[os.write(fd, view) :]
            else:
                pending: list[bytes | memoryview] = [p for p in parts if p]
                while pending:
                    batch = pending[:_IOV_MAX]
                    written = _writev(fd, batch)
                    # Regular files take the whole batch unless the disk is full or a signal
                    # interrupts; then go on from the first byte not written.
                    i = 0
                    while i < len(batch) and written >= len(batch[i]):
                        written -= len(batch[i])
                        i += 1
                    rest = pending[len(batch) :]
                    if i < len(batch):
                        rest = [memoryview(batch[i])[written:], *batch[i + 1 :], *rest]
                    pending = rest
        except OSError as exc:
            self.write_errors += 1
            raise JournalError(f"{self.path}: write failed: {exc.strerror or exc}") from None
        self._dirty = True

    def _fsync_locked(self) -> None:
        try:
            _datasync(self._fd)
        except OSError as exc:
            self.write_errors += 1
            raise JournalError(f"{self.path}: fsync failed: {exc.strerror or exc}") from None
        self._dirty = False
        self._last_fsync = time.monotonic()

    def _fsync_unlocked(self) -> None:
        try:
            _datasync(self._fd)
        except OSError as exc:
            self.write_errors += 1
            self._dirty = True
            raise JournalError(f"{self.path}: fsync failed: {exc.strerror or exc}") from None
        self._last_fsync = time.monotonic()

    # -- the threads --------------------------------------------------------------------------------

    def _encode_loop(self) -> None:
        """Encoder thread: queue -> encoded chunks, at least every ``flush_interval_s``, in chunks
        of at most ``_CHUNK`` records; a clock pair every ``clock_pair_interval_s``."""
        queue = self._queue
        while not self._closing:
            if len(queue) < self._wake_batch:
                self._wake.wait(self._flush_interval_s)
                self._wake.clear()
            try:
                with self._lock:
                    if self._closed:
                        return
                    parts = self._encode_queued(_CHUNK)
                    now_ns = self._mono()
                    if now_ns - self._last_clock_pair_ns >= self._clock_pair_interval_ns:
                        self._last_clock_pair_ns = now_ns
                        parts.append(
                            self._encode_one("meta", "clock_pair", self._utc_now(), None, None, now_ns)
                        )
                    self._chunks.extend(parts)
                if parts:
                    self._io_wake.set()
            except Exception:  # noqa: BLE001 - the thread must outlive any one bad batch
                self.write_errors += 1
                log.exception("journal writer %s: encoding failed", self.path.name)

    def _io_loop(self) -> None:
        """I/O thread: write encoded chunks as they come; fdatasync at most every
        ``fsync_interval_s`` while there is unsynced data."""
        while not self._closing:
            self._io_wake.wait(self._fsync_interval_s)
            self._io_wake.clear()
            try:
                with self._io_lock:
                    if self._closed:
                        return
                    self._write_pending()
                    due = self._dirty and time.monotonic() - self._last_fsync >= self._fsync_interval_s
                    if due:
                        self._dirty = False  # a write from now on marks it again
                if due:
                    # Outside the I/O lock: a clinical() arriving meanwhile writes its line and
                    # syncs at once instead of queueing behind the telemetry fsync (the clinical path
                    # never waits behind telemetry). The fd stays open: close() joins this thread
                    # before it closes the file.
                    self._fsync_unlocked()
                if self._io_failing:
                    self._io_failing = False
                    log.warning("journal writer %s: writing works again", self.path.name)
            except JournalError as exc:
                # Keep running: the disk may come back. Every failure is counted (write_errors);
                # the telemetry of a failed write is lost, clinical() calls raise to their callers.
                if not self._io_failing:
                    self._io_failing = True
                    log.error("journal writer: %s", exc)
            except Exception:  # noqa: BLE001
                self.write_errors += 1
                log.exception("journal writer %s: writing failed", self.path.name)
