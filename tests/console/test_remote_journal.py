"""Two machines, no shared disk: the renderer journals the session in a directory of its own and the
console fetches it over the link, verified against the renderer's seal, also after a console crash
and after a transfer that broke off."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vr_exposure.console.adapter import LinkAdapter
from vr_exposure.console.controller import ConsoleController
from vr_exposure.console.journal_fetch import JournalFetch
from vr_exposure.core.loading import load_library
from vr_exposure.journal import JournalWriter, create_session, read_manifest, read_session, verify_session
from vr_exposure.journal.seal import digest_file, seal_session
from vr_exposure.journal.transfer import adopt_session, read_chunk
from vr_exposure.link import LinkClient
from vr_exposure.link import messages as m
from vr_exposure.renderer.process import RendererProcess

pytestmark = [pytest.mark.renderer, pytest.mark.slow]


@pytest.fixture(scope="module")
def library() -> Any:
    return load_library()


@pytest.fixture
def renderer(tmp_path: Path) -> Iterator[RendererProcess]:
    extra = ["--sessions", str(tmp_path / "renderer-disk")]
    proc = RendererProcess(patient=False, size="160x90", extra=extra)
    yield proc
    proc.cleanup()


class HeadlessConsole:
    """A console without a window on its own disk (its own sessions root)."""

    def __init__(self, renderer: RendererProcess, library: Any, root: Path) -> None:
        self.client = LinkClient(renderer.command_endpoint, renderer.pub_endpoint, telemetry=False)
        # As if the renderer were on another machine: it is never told this disk's path.
        self.controller = ConsoleController(self.client, library, sessions_root=root, share_session_dir=False)
        self.adapter = LinkAdapter(self.client, self.controller)

    def until(self, predicate: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self.adapter.poll(20)
            self.adapter.housekeeping()

    def close(self) -> None:
        self.adapter.close()
        self.client.close()


def _run_session(console: HeadlessConsole) -> Path:
    c = console.controller
    console.until(lambda: console.client.synced, "first contact")
    session_dir = c.start_session("P042", protocol_id="spiders-graded")
    c.begin_exposure()
    console.until(lambda: c.renderer_state.scene == "spiders" and not c.pending, "the scene")
    assert read_manifest(session_dir).awaiting == ["renderer"]
    console.until(lambda: not c.renderer_state.fading, "the fade-in")
    c.set_intensity(40, 0.0)
    c.record_suds(35)
    console.until(lambda: not c.pending and c.renderer_state.target_intensity == 40, "the intensity")
    return session_dir


def _check_complete(console_dir: Path, renderer_dir: Path) -> None:
    theirs = {f.file: f for f in read_manifest(renderer_dir).files}
    ours = {f.file: f for f in read_manifest(console_dir).files}
    assert "renderer.jsonl" in theirs and theirs["renderer.jsonl"].sealed
    for name, entry in theirs.items():
        assert ours[name].sha256 == entry.sha256 == digest_file(console_dir / name).sha256
        assert ours[name].fetched_from == "renderer"
    assert read_manifest(console_dir).awaiting == []
    assert verify_session(console_dir).ok
    assert read_manifest(renderer_dir).released_at is not None
    log = read_session(console_dir)
    types = {r.msg_type for r in log.records if r.process == "renderer"}
    assert {"scene_loaded", "intensity_changed", "journal_kept_locally"} <= types


def test_the_console_fetches_the_renderers_journal_at_the_end(
    renderer: RendererProcess, library: Any, tmp_path: Path
) -> None:
    console = HeadlessConsole(renderer, library, tmp_path / "console-disk")
    try:
        session_dir = _run_session(console)
        renderer_dir = tmp_path / "renderer-disk" / session_dir.name
        assert (renderer_dir / "renderer.jsonl").exists() and not (session_dir / "renderer.jsonl").exists()
        assert read_manifest(renderer_dir).remote_copy_of == "console"
        c = console.controller
        states: list[str] = []
        c.subscribe(lambda ev: states.append(ev["state"]) if ev.kind == "journal_fetch" else None)
        c.end_session()
        c.close_session()
        console.until(lambda: not c.fetching, "the fetch")
        assert states[-1] == "done", states
        _check_complete(session_dir, renderer_dir)
    finally:
        console.close()


def test_after_a_console_crash_the_next_console_fetches_on_connect(
    renderer: RendererProcess, library: Any, tmp_path: Path
) -> None:
    root = tmp_path / "console-disk"
    first = HeadlessConsole(renderer, library, root)
    session_dir = _run_session(first)
    # The console dies: its journal file is left as the crash left it, nothing fetched.
    first.controller.journal.close()
    first.controller.journal = None
    first.close()
    second = HeadlessConsole(renderer, library, root)
    try:
        second.until(lambda: second.client.synced, "contact")
        c = second.controller
        assert c.fetches, "a session awaiting the renderer's journal is fetched on connect"
        second.until(lambda: not c.fetching, "the fetch")
        (fetch,) = c.fetches.values()
        assert fetch.state == "done", fetch.message
        seal_session(session_dir)
        _check_complete(session_dir, tmp_path / "renderer-disk" / session_dir.name)
    finally:
        second.close()


def test_a_transfer_that_breaks_off_resumes_and_is_verified(tmp_path: Path) -> None:
    """The fetch protocol against the renderer's side of it, with the link dropping mid-transfer."""
    session_id = "20261201T000000Z-P042-abcd"
    remote = adopt_session(tmp_path / "remote", session_id, pseudonym="P042", software_version="t")
    with JournalWriter(remote, "renderer") as writer:
        for i in range(6000):  # ~1 MB: several chunks
            writer.clinical("note", {"text": f"line {i} " + "x" * 120})
    seal_session(remote)
    local = create_session(tmp_path / "local", pseudonym="P042", software_version="t")
    local = local.rename(local.parent / remote.name)
    with JournalWriter(local, "console") as writer:
        writer.clinical("console_session_opened", {})
    sent: list[tuple[str, m.Request]] = []
    progress: list[str] = []

    def send(request: m.Request) -> str:
        sent.append((f"id-{len(sent)}", request))
        return sent[-1][0]

    def answer(fetch: JournalFetch, *, drop: bool = False) -> None:
        msg_id, request = sent[-1]
        if drop:
            fetch.on_failed(msg_id, "contact lost")
            return
        reply: m.Reply
        if isinstance(request, m.JournalFilesRequest):
            files = tuple(
                m.JournalFileInfo(name=f.file, bytes=f.bytes or 0, sha256=f.sha256, lines=f.lines)
                for f in read_manifest(remote).files
            )
            reply = m.JournalFilesReply(session_dir=str(remote), files=files, sealed=True)
        elif isinstance(request, m.JournalChunkRequest):
            data, size = read_chunk(remote, request.file, request.offset, request.length)
            reply = m.JournalChunkReply(data=data, offset=request.offset, size=size)
        else:
            reply = m.JournalReleaseReply()
        fetch.on_reply(msg_id, reply)

    from vr_exposure.journal.transfer import set_awaiting

    set_awaiting(local, "renderer", True)
    fetch = JournalFetch(remote.name, local, send, lambda state, data: progress.append(state))
    fetch.start()
    answer(fetch)  # the file list
    answer(fetch)  # one chunk
    answer(fetch, drop=True)  # the link drops mid-transfer
    assert fetch.state == "interrupted" and not (local / "renderer.jsonl").exists()
    part = local / ".renderer.jsonl.part"
    kept = part.stat().st_size
    assert 0 < kept < (remote / "renderer.jsonl").stat().st_size
    again = JournalFetch(remote.name, local, send, lambda state, data: progress.append(state))
    again.start()
    answer(again)
    first_chunk = sent[-1][1]
    assert isinstance(first_chunk, m.JournalChunkRequest) and first_chunk.offset == kept  # resumed
    while again.state == "fetching":
        answer(again)
    answer(again)  # the release
    assert again.state == "done"
    sealed = read_manifest(remote).file_entry("renderer.jsonl")
    assert sealed is not None and digest_file(local / "renderer.jsonl").sha256 == sealed.sha256
    assert read_manifest(local).awaiting == []


def test_a_corrupted_copy_is_refused_and_fetched_again(tmp_path: Path) -> None:
    from vr_exposure.errors import JournalError
    from vr_exposure.journal.transfer import append_part, import_file

    local = create_session(tmp_path, pseudonym="P042", software_version="t")
    append_part(local, "renderer.jsonl", 0, b'{"seq": 1}\n')
    with pytest.raises(JournalError, match="differs from the renderer's seal"):
        import_file(local, "renderer.jsonl", "0" * 64, source="renderer")
    assert not (local / ".renderer.jsonl.part").exists() and not (local / "renderer.jsonl").exists()
    with pytest.raises(JournalError, match="not a journal file name"):
        read_chunk(local, "../manifest.json", 0, 10)
