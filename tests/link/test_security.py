"""CURVE (Ironhouse) between LinkClient and LinkServer, and the ``vr-exposure keys`` store."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import zmq

from vr_exposure.cli import main as cli_main
from vr_exposure.errors import LinkError
from vr_exposure.link import LinkClient, LinkServer, is_loopback_endpoint
from vr_exposure.link import messages as m
from vr_exposure.link.keys import allow_key, client_curve, generate_keys, keys_dir, list_keys, server_curve
from vr_exposure.link.security import ClientCurve

# Run with every core kept busy: the link must hold on a loaded machine (tests/loadhelpers.py).
pytestmark = pytest.mark.usefixtures("busy_cores")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_command_generates_lists_and_allows(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["keys", "generate", "--name", "renderer"]) == 0
    assert cli_main(["keys", "generate"]) == 0
    d = keys_dir()
    assert str(d).startswith(os.environ["XDG_CONFIG_HOME"])  # never the user's real keys
    assert _mode(d) == 0o700
    for f in ("renderer.key", "renderer.key_secret", "console.key", "console.key_secret"):
        assert _mode(d / f) == 0o600, f
    assert cli_main(["keys", "allow", str(d / "console.key")]) == 0
    assert _mode(d / "allowed") == 0o700 and _mode(d / "allowed" / "console.key") == 0o600
    capsys.readouterr()
    assert cli_main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "renderer" in listing and "allowed" in listing
    kinds = sorted((k.kind, k.name) for k in list_keys())
    assert kinds == [("allowed", "console"), ("pair", "console"), ("pair", "renderer")]
    # an existing pair is not silently replaced
    assert cli_main(["keys", "generate", "--name", "renderer"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_the_documented_key_commands_work_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/protocol.md's sequence, run on one machine from a directory without key files: the
    bare ``console.key`` is the one in the key store; a file that is nowhere says what to do."""
    monkeypatch.chdir(tmp_path)
    assert cli_main(["keys", "generate", "--name", "renderer"]) == 0
    assert cli_main(["keys", "generate"]) == 0
    assert cli_main(["keys", "allow", "console.key"]) == 0
    assert [(k.kind, k.name) for k in list_keys() if k.kind == "allowed"] == [("allowed", "console")]
    capsys.readouterr()
    assert cli_main(["keys", "allow", "therapist-laptop.key"]) == 1
    err = capsys.readouterr().err
    assert "therapist-laptop.key: no such file; copy the console's public key file here" in err


def test_allowing_a_secret_file_keeps_only_the_public_key() -> None:
    _, secret = generate_keys("tablet")
    target = allow_key(secret)
    assert "secret-key" not in target.read_text()
    assert zmq.auth.load_certificate(str(target))[1] is None


def test_loopback_detection() -> None:
    for ep in ("tcp://127.0.0.1:5555", "tcp://localhost:1", "tcp://[::1]:7", "ipc:///tmp/x", "inproc://a"):
        assert is_loopback_endpoint(ep), ep
    for ep in ("tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://192.168.1.20:5555", "tcp://eth0:5555", "bogus"):
        assert not is_loopback_endpoint(ep), ep


@pytest.fixture
def curve_server() -> LinkServer:
    generate_keys("renderer")
    public, _ = generate_keys("console")
    allow_key(public)
    return LinkServer("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", curve=server_curve(), handler=lambda r: None)


def _pump_until(server: LinkServer, client: LinkClient, predicate: object, timeout_s: float) -> bool:
    import time

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        server.pump()
        client.poll(5)
        if predicate():  # type: ignore[operator]
            return True
    return False


def test_curve_allowed_key_connects_wrong_key_and_plain_text_get_nothing(curve_server: LinkServer) -> None:
    server = curve_server
    d = keys_dir()
    try:
        good = LinkClient(
            server.command_endpoint,
            server.pub_endpoint,
            curve=client_curve(d / "renderer.key"),
            heartbeat_interval_s=0.1,
        )
        with good:
            assert _pump_until(server, good, lambda: good.synced, 5)
            received_by_good = server.counters["received"]

        stranger_public, stranger_secret = zmq.curve_keypair()
        server_public = zmq.auth.load_certificate(str(d / "renderer.key"))[0]
        wrong = LinkClient(
            server.command_endpoint,
            server.pub_endpoint,
            curve=ClientCurve(stranger_public, stranger_secret, server_public),
            heartbeat_interval_s=0.1,
        )
        plain = LinkClient(server.command_endpoint, server.pub_endpoint, heartbeat_interval_s=0.1)
        events: list[m.Message] = []
        for c in (wrong, plain):
            c.on_event = events.append
        with wrong, plain:
            _pump_until(server, wrong, lambda: False, 0.6)
            server.publish(m.Paused())
            _pump_until(server, plain, lambda: False, 0.4)
            assert wrong.renderer_instance is None and plain.renderer_instance is None
            assert wrong.connection == plain.connection == "connecting"
            assert not events  # the PUB channel is closed to them too
            assert server.counters["received"] == received_by_good  # not one message got through
            with pytest.raises(LinkError, match="did not answer pause after 2 tries"):
                plain.request(m.PauseRequest(), timeout_s=0.1, retries=2)
    finally:
        server.close()


def test_curve_server_needs_an_allow_list(tmp_path: Path) -> None:
    generate_keys("renderer")
    curve = server_curve()
    with pytest.raises(LinkError, match="keys allow"):
        LinkServer(
            "tcp://127.0.0.1:*",
            "tcp://127.0.0.1:*",
            curve=type(curve)(curve.public_key, curve.secret_key, tmp_path / "nothing-here"),
        )
