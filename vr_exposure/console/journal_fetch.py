"""Fetching a renderer's journal of a session from another machine, over the link, without Qt.

When the renderer does not share the console's disk it journals the session in a directory of its
own (``set_session_reply.shared`` is false) and the console's manifest lists ``renderer`` under
``awaiting``. At the session's end, and on every (re)connection for sessions still awaiting (a crash,
a link that dropped mid-transfer), :class:`JournalFetch` asks the renderer for its files
(``journal_files``, which closes and seals the renderer's copy), fetches each in chunks
(``journal_chunk``) into ``.<name>.part`` in the console's directory, resuming from the part's size,
adds each file once its SHA-256 equals the renderer's seal, and finally tells the renderer it may
release its copy (``journal_release``). One request is in flight at a time; every reply drives the
next step, so nothing here waits on the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vr_exposure.errors import VrExposureError
from vr_exposure.journal import read_manifest
from vr_exposure.journal.transfer import MAX_CHUNK_BYTES, append_part, import_file, part_path, set_awaiting
from vr_exposure.link import messages as m

Send = Callable[[m.Request], str | None]
Progress = Callable[[str, dict[str, object]], None]


@dataclass
class JournalFetch:
    """One session's fetch. ``state``: ``listing``, ``fetching``, ``releasing``, ``done``,
    ``interrupted`` (resumable) or ``failed`` (a verification error: started over on resume)."""

    session_id: str
    session_dir: Path
    send: Send
    progress: Progress
    state: str = "new"
    files: list[m.JournalFileInfo] = field(default_factory=list)
    current: int = 0
    waiting_for: str | None = None
    bytes_total: int = 0
    bytes_done: int = 0
    message: str = ""
    chunk_bytes: int = MAX_CHUNK_BYTES

    def start(self) -> None:
        self.state = "listing"
        self._send(m.JournalFilesRequest(session_id=self.session_id, end=True))

    @property
    def finished(self) -> bool:
        return self.state in ("done", "interrupted", "failed")

    # -- replies ---------------------------------------------------------------------------------
    def on_reply(self, msg_id: str | None, reply: m.Reply) -> bool:
        """A reply; True if it was this fetch's."""
        if msg_id is None or msg_id != self.waiting_for:
            return False
        self.waiting_for = None
        if not reply.ok:
            self._interrupt(f"the renderer refused: {reply.ename}: {reply.evalue}")
            return True
        try:
            if isinstance(reply, m.JournalFilesReply):
                self._on_files(reply)
            elif isinstance(reply, m.JournalChunkReply):
                self._on_chunk(reply)
            elif isinstance(reply, m.JournalReleaseReply):
                set_awaiting(self.session_dir, "renderer", False)
                self.state = "done"
                self._report()
        except VrExposureError as exc:
            self.state = "failed"
            self.message = str(exc)
            self._report()
        return True

    def on_failed(self, msg_id: str | None, message: str) -> bool:
        if msg_id is None or msg_id != self.waiting_for:
            return False
        self.waiting_for = None
        self._interrupt(message)
        return True

    # -- steps -----------------------------------------------------------------------------------
    def _on_files(self, reply: m.JournalFilesReply) -> None:
        if not reply.sealed or any(f.sha256 is None for f in reply.files):
            self._interrupt("the renderer's copy is not sealed yet (still being written)")
            return
        have = {f.file for f in read_manifest(self.session_dir).files}
        self.files = [f for f in reply.files if f.name not in have]
        self.bytes_total = sum(f.bytes for f in self.files)
        self.bytes_done = 0
        self.current = 0
        self.state = "fetching"
        self._next()

    def _on_chunk(self, reply: m.JournalChunkReply) -> None:
        info = self.files[self.current]
        size = append_part(self.session_dir, info.name, reply.offset, reply.data)
        self.bytes_done = sum(f.bytes for f in self.files[: self.current]) + size
        if size >= info.bytes or not reply.data:
            assert info.sha256 is not None
            import_file(self.session_dir, info.name, info.sha256, source="renderer")
            self.current += 1
        self._report()
        self._next()

    def _next(self) -> None:
        if self.current >= len(self.files):
            self.state = "releasing"
            self._send(m.JournalReleaseRequest(session_id=self.session_id))
            return
        info = self.files[self.current]
        part = part_path(self.session_dir, info.name)
        offset = part.stat().st_size if part.exists() else 0
        if offset > info.bytes:  # not this file's beginning: start over
            part.unlink()
            offset = 0
        length = max(1, min(self.chunk_bytes, MAX_CHUNK_BYTES, info.bytes - offset))
        self._send(
            m.JournalChunkRequest(session_id=self.session_id, file=info.name, offset=offset, length=length)
        )

    def _send(self, request: m.Request) -> None:
        msg_id = self.send(request)
        if msg_id is None:
            self._interrupt("not connected to the renderer")
            return
        self.waiting_for = msg_id

    def _interrupt(self, message: str) -> None:
        self.state = "interrupted"
        self.message = message
        self._report()

    def _report(self) -> None:
        self.progress(
            self.state,
            {
                "session_id": self.session_id,
                "bytes_done": self.bytes_done,
                "bytes_total": self.bytes_total,
                "files": len(self.files),
                "message": self.message,
            },
        )


def sessions_awaiting(root: Path, process: str = "renderer") -> list[Path]:
    """Session directories under ``root`` whose manifest still awaits ``process``'s files."""
    from vr_exposure.journal import list_sessions

    found = []
    for session_dir in list_sessions(root):
        try:
            if process in read_manifest(session_dir).awaiting:
                found.append(session_dir)
        except VrExposureError:
            continue
    return found
