"""Audio: synthesised cues are actually heard, and from the side their source is on.

OpenAL Soft (built into Panda3D's wheel) is pointed at its ``wave`` backend, which writes the mixed
output to a WAV file instead of a sound card. The playing runs in a subprocess so the device closes
(and the WAV is finalised) before the test reads it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest

from vr_exposure.renderer import audio

from .wave_output import wave_env

_PLAYER = textwrap.dedent(
    """
    import sys
    from panda3d.core import loadPrcFileData, NodePath, AudioManager
    loadPrcFileData("", "audio-library-name p3openal_audio\\nnotify-level-audio error\\n")
    from vr_exposure.core.specs import SceneSpec, AudioCue
    from vr_exposure.renderer.audio import SceneAudio

    side = float(sys.argv[1])
    render = NodePath("render")
    head = render.attachNewNode("head")
    head.setPos(0, 0, 1.2)
    spider = render.attachNewNode("spider")
    spider.setPos(side * 1.0, 0.3, 1.0)
    mgr = AudioManager.createAudioManager()
    assert mgr.isValid(), "OpenAL did not open"
    spec = SceneSpec(id="t", title="t", condition="arachnophobia", builder="spiders",
                     audio={"scuttle": AudioCue(source="scuttle", loop=True, attach_to="nearest-spider")})
    sa = SceneAudio(mgr, head, root=render)
    sa.load_scene(spec, lambda name: spider if name == "nearest-spider" else None)
    sa.set_intensity(100.0)
    import time
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:
        sa.update(1 / 60)
        time.sleep(1 / 60)
    assert sa.playing == ["scuttle"], sa.playing
    sa.unload()
    mgr.shutdown()
    """
)


def _play(tmp_path: Path, side: float) -> np.ndarray:
    out = tmp_path / f"out-{side:+.0f}.wav"
    env = wave_env(tmp_path / "alsoft.conf", out)
    proc = subprocess.run(
        [sys.executable, "-c", _PLAYER, str(side)], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.exists(), "OpenAL Soft's wave backend wrote no file"
    channels, bits, frames = _read_wav(out.read_bytes())
    assert channels == 2
    dtype = {8: np.uint8, 16: np.int16, 32: np.float32}[bits]
    data = np.frombuffer(frames, dtype=dtype).astype(np.float64).reshape(-1, 2)
    if bits == 8:
        data -= 128.0
    return data


def _read_wav(blob: bytes) -> tuple[int, int, bytes]:
    """(channels, bits per sample, PCM data) of a RIFF WAV, WAVE_FORMAT_EXTENSIBLE included (which
    OpenAL Soft writes and Python 3.11's ``wave`` module refuses)."""
    import struct

    assert blob[:4] == b"RIFF" and blob[8:12] == b"WAVE"
    pos, channels, bits, data = 12, 0, 0, b""
    while pos + 8 <= len(blob):
        cid, size = blob[pos : pos + 4], struct.unpack_from("<I", blob, pos + 4)[0]
        body = blob[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            channels, bits = struct.unpack_from("<H", body, 2)[0], struct.unpack_from("<H", body, 14)[0]
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    return channels, bits, data


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x)))


@pytest.mark.renderer
def test_scuttle_is_heard_from_the_side_of_the_spider(tmp_path: Path) -> None:
    right = _play(tmp_path, +1.0)
    left = _play(tmp_path, -1.0)
    for data in (right, left):
        assert _rms(data) > 0.001 * np.abs(data).max() and np.abs(data).max() > 0, "silent output"
    assert _rms(right[:, 1]) > 1.5 * _rms(right[:, 0]), "a source on the right is not louder on the right"
    assert _rms(left[:, 0]) > 1.5 * _rms(left[:, 1]), "a source on the left is not louder on the left"


def test_synthesisers_make_loud_enough_finite_loops() -> None:
    from vr_exposure.renderer.builders import contracts, load_builders

    load_builders()  # the scene packages' own sounds register with their builders
    declared = {source for c in contracts().values() for source in c.audio_sources}
    assert declared <= set(audio.SYNTHS), declared - set(audio.SYNTHS)
    for name in audio.SYNTHS:
        x = audio.synthesise(name)
        assert np.isfinite(x).all()
        assert 0.3 < np.abs(x).max() <= 1.0, name
        assert x.size > audio.RATE_HZ, name


def test_scuttle_is_clicks_in_bursts_not_a_tone() -> None:
    x = audio.synthesise("scuttle")
    spectrum = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(x.size, 1 / audio.RATE_HZ)
    band = spectrum[(f > 2000) & (f < 7000)].sum()
    assert band > 0.95 * spectrum.sum()
    # Bursts with pauses: a good part of the loop is near-silent.
    frame = 441
    env = np.sqrt(np.mean(x[: x.size // frame * frame].reshape(-1, frame) ** 2, axis=1))
    assert (env < 0.05 * env.max()).mean() > 0.2


def test_wav_bytes_round_trip() -> None:
    import io

    x = np.sin(np.linspace(0, 100, 4410))
    with wave.open(io.BytesIO(audio.wav_bytes(x)), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, audio.RATE_HZ)
        assert w.getnframes() == 4410


def test_unknown_synthesiser_is_a_clear_error() -> None:
    from vr_exposure.errors import SpecError

    with pytest.raises(SpecError, match='no sound synthesiser "chainsaw"'):
        audio.synthesise("chainsaw")
