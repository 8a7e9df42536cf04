"""``vr-exposure renderer`` in a subprocess: clean exit after --frames, the READY line, backend choice
and its one-line messages, and a shutdown request over the link."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.renderer

READY = re.compile(r"^READY command=(tcp://\S+) pub=(tcp://\S+) backend=(\w+)$", re.MULTILINE)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("XR_RUNTIME_JSON", None)
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    # Keep the OpenXR loader from finding a runtime installed on the machine.
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_CONFIG_DIRS"] = str(tmp_path / "config-dirs")
    env["PRC_DIR"] = str(tmp_path)
    return env


def _renderer(tmp_path: Path, *args: str, timeout_s: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vr_exposure.cli", "renderer", "--bind", "tcp://127.0.0.1:*", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=_env(tmp_path),
    )


def test_offscreen_frames_exits_zero_and_prints_ready(tmp_path: Path) -> None:
    result = _renderer(tmp_path, "--backend", "offscreen", "--frames", "30", "--size", "160x90")
    assert result.returncode == 0, result.stderr
    match = READY.search(result.stdout)
    assert match, result.stdout
    assert match.group(3) == "offscreen"
    assert not match.group(1).endswith(":*") and match.group(1) != match.group(2)
    assert "fell back" not in result.stderr


def test_explicit_openxr_without_runtime_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _renderer(tmp_path, "--backend", "openxr", "--frames", "5")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vr-exposure renderer: openxr backend unavailable:")
    assert "READY" not in result.stdout


def test_default_backend_falls_back_and_says_so(tmp_path: Path) -> None:
    result = _renderer(
        tmp_path, "--frames", "10", "--size", "160x90", "--scene", "spiders", "--preset", "jar-far"
    )
    assert result.returncode == 0, result.stderr
    match = READY.search(result.stdout)
    assert match and match.group(3) == "offscreen"
    fell = [line for line in result.stderr.splitlines() if "fell back" in line]
    assert len(fell) == 1 and "openxr" in fell[0] and "window" in fell[0]


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    result = _renderer(tmp_path, "--backend", "offscreen", "--frames", "0")
    assert result.returncode == 2 and "at least 1" in result.stderr
    result = _renderer(tmp_path, "--backend", "offscreen", "--frames", "3", "--scene", "nowhere")
    assert result.returncode == 2 and "nowhere" in result.stderr


def test_shutdown_over_the_link_and_journal_in_the_session_dir(tmp_path: Path) -> None:
    from vr_exposure import __version__
    from vr_exposure.journal import create_session
    from vr_exposure.link import LinkClient
    from vr_exposure.link import messages as m

    session = create_session(tmp_path / "sessions", pseudonym="P042", software_version=__version__)
    with _live_renderer(tmp_path, "--session-dir", str(session)) as (proc, endpoints):
        # The renderer journals into that session: a console steering it says it is in that session.
        with LinkClient(*endpoints, timeout_s=5.0, session_id=session.name) as client:
            reply: Any = client.request(m.LoadSceneRequest(scene="spiders", intensity=30))
            assert reply.status == "ok"
            reply = client.request(m.ShutdownRequest())
            assert reply.status == "ok"
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    journal = (session / "renderer.jsonl").read_text()
    assert '"scene_loaded"' in journal and '"shutting_down"' in journal


def test_non_loopback_bind_without_curve_exits_2_before_any_window(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vr_exposure.cli",
            "renderer",
            "--backend",
            "offscreen",
            "--bind",
            "tcp://0.0.0.0:*",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path),
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "refusing to bind tcp://0.0.0.0" in lines[0] and "CURVE" in lines[0]
    assert "READY" not in result.stdout


def test_curve_without_keys_exits_2_naming_the_key(tmp_path: Path) -> None:
    result = _renderer(tmp_path, "--backend", "offscreen", "--curve", "--keys-dir", str(tmp_path / "keys"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "renderer.key_secret" in lines[0] and "keys generate" in lines[0], (
        result.stderr
    )


def test_curve_admits_an_allowed_console_key_and_nothing_else(tmp_path: Path) -> None:
    from vr_exposure.link import LinkClient
    from vr_exposure.link import messages as m
    from vr_exposure.link.keys import allow_key, generate_keys
    from vr_exposure.link.security import ClientCurve

    keys = tmp_path / "keys"
    renderer_public, _ = generate_keys("renderer", directory=keys)
    console_public, console_secret = generate_keys("console", directory=keys)
    _, intruder_secret = generate_keys("intruder", directory=tmp_path / "other-keys")
    allow_key(console_public, directory=keys)
    with _live_renderer(tmp_path, "--curve", "--keys-dir", str(keys)) as (proc, endpoints):
        # A console whose key is not on the allow-list, and one without CURVE: nothing gets through.
        for curve in (ClientCurve.from_files(intruder_secret, renderer_public), None):
            heard: list[Any] = []
            with LinkClient(*endpoints, timeout_s=0.5, retries=1, on_event=heard.append, curve=curve) as bad:
                assert not bad.wait_until(lambda b=bad: b.synced or b.state is not None, 2.0)
                assert heard == [] and bad.state is None
        good_curve = ClientCurve.from_files(console_secret, renderer_public)
        with LinkClient(*endpoints, timeout_s=5.0, curve=good_curve) as client:
            assert client.wait_until(lambda: client.synced, 30.0), "the allowed console connects"
            reply: Any = client.request(m.LoadSceneRequest(scene="spiders", intensity=30))
            assert reply.status == "ok"
            assert client.wait_until(lambda: client.state is not None and client.state.scene == "spiders", 10)
            reply = client.request(m.ShutdownRequest())
            assert reply.status == "ok"
        assert proc.wait(timeout=60) == 0, proc.stderr.read()


@contextlib.contextmanager
def _live_renderer(tmp_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], tuple[str, str]]]:
    """An offscreen renderer subprocess on free loopback ports; yields it and its READY endpoints,
    and kills it if the test leaves it running."""
    command = [
        sys.executable, "-m", "vr_exposure.cli", "renderer", "--backend", "offscreen",
        "--bind", "tcp://127.0.0.1:*", "--size", "160x90", *args,
    ]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path)
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            line = proc.stdout.readline()
            match = READY.match(line.strip())
            assert match, line + (proc.stderr.read() if proc.poll() is not None else "")
            yield proc, (match.group(1), match.group(2))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_scene_that_breaks_its_contract_stops_the_renderer_before_any_window(tmp_path: Path) -> None:
    content = tmp_path / "content"
    (content / "scenes").mkdir(parents=True)
    (content / "protocols").mkdir()
    spiders = (
        (ROOT / "scenes" / "spiders.yaml")
        .read_text(encoding="utf-8")
        .replace("  spider_count:", "  spider_cuont:")
    )
    (content / "scenes" / "spiders.yaml").write_text(spiders, encoding="utf-8")
    shutil.copy(ROOT / "scenes" / "safe-place.yaml", content / "scenes")
    line = spiders[: spiders.index("spider_cuont")].count("\n") + 1
    env = _env(tmp_path)
    env["VR_EXPOSURE_CONTENT"] = str(content)
    probe = (
        "import sys\n"
        "from vr_exposure.cli import main\n"
        "rc = main(['renderer', '--backend', 'offscreen', '--frames', '5'])\n"
        "print('SHOWBASE', 'direct.showbase.ShowBase' in sys.modules)\n"
        "raise SystemExit(rc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "READY" not in result.stdout
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0] == (
        f"vr-exposure renderer: content/scenes/spiders.yaml:{line}: parameters.spider_cuont: "
        'the "spiders" builder does not read a parameter "spider_cuont"; did you mean "spider_count"?'
    )
    # Refused before any window: the ShowBase that opens one was never even imported.
    assert result.stdout.splitlines()[-1] == "SHOWBASE False"


def test_a_busy_port_names_the_option_that_picks_another(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "vr_exposure.cli",
                "renderer",
                "--backend",
                "offscreen",
                "--frames",
                "5",
                "--size",
                "160x90",
                "--bind",
                f"tcp://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=90,
            env=_env(tmp_path),
        )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("vr-exposure renderer:")]
    assert f"cannot bind tcp://127.0.0.1:{port}: the address is in use" in line
    assert "--bind tcp://127.0.0.1:PORT" in line and "--connect" in line


def test_library_messages_go_to_the_log_not_the_terminal(tmp_path: Path) -> None:
    """What the C libraries print (OpenAL, ALSA on a machine without sound, Panda3D's pipes) goes to
    the library log; the renderer's own line names it, and READY stays easy to find."""
    log = tmp_path / "library.log"
    result = _renderer(
        tmp_path, "--backend", "offscreen", "--frames", "30", "--size", "160x90", "--library-log", str(log)
    )
    assert result.returncode == 0, result.stderr
    assert READY.search(result.stdout)
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].endswith("/library.log"), lines
    assert lines[0].startswith("vr-exposure renderer: audio and graphics library messages go to ")
    assert log.exists() and (log.stat().st_mode & 0o777) == 0o600
    # Kept on stderr when asked (and by default when stderr is not a terminal).
    kept = _renderer(tmp_path, "--backend", "offscreen", "--frames", "30", "--size", "160x90")
    library_lines = set(log.read_text().splitlines())
    assert not library_lines or library_lines & set(kept.stderr.splitlines())
