"""A client for Monado's ``remote`` driver: exact head and controller states over TCP on 127.0.0.1.

Monado, run with ``P_OVERRIDE_ACTIVE_CONFIG=remote``, listens on the port named in its
``config_v0.json`` (``{"remote": {"version": 0, "port": N, "view_count": 2}}`` under
``$XDG_CONFIG_HOME/monado/``). On connect it sends two ``r_remote_data`` records (its reset and
latest state); every record the client sends then becomes the devices' state. Poses are in
OpenXR's axes. The layout mirrors ``src/xrt/drivers/remote/r_interface.h``.
"""

from __future__ import annotations

import ctypes
import socket
import struct
import time
from typing import Any


class _Quat(ctypes.Structure):
    _fields_ = [("x", ctypes.c_float), ("y", ctypes.c_float), ("z", ctypes.c_float), ("w", ctypes.c_float)]


class _Vec3(ctypes.Structure):
    _fields_ = [("x", ctypes.c_float), ("y", ctypes.c_float), ("z", ctypes.c_float)]


class _Pose(ctypes.Structure):
    _fields_ = [("orientation", _Quat), ("position", _Vec3)]


class _Fov(ctypes.Structure):
    _fields_ = [(n, ctypes.c_float) for n in ("angle_left", "angle_right", "angle_up", "angle_down")]


class _View(ctypes.Structure):
    _fields_ = [("fov", _Fov), ("pose", _Pose), ("_pad", ctypes.c_uint32)]


class _Head(ctypes.Structure):
    _fields_ = [
        ("views", _View * 2),
        ("center", _Pose),
        ("per_view_data_valid", ctypes.c_bool),
        ("_pad", ctypes.c_bool * 3),
    ]


class _Controller(ctypes.Structure):
    _fields_ = [
        ("pose", _Pose),
        ("linear_velocity", _Vec3),
        ("angular_velocity", _Vec3),
        ("hand_curl", ctypes.c_float * 5),
        ("trigger_value", ctypes.c_float),
        ("squeeze_value", ctypes.c_float),
        ("squeeze_force", ctypes.c_float),
        ("thumbstick", ctypes.c_float * 2),
        ("trackpad_force", ctypes.c_float),
        ("trackpad", ctypes.c_float * 2),
        ("hand_tracking_active", ctypes.c_bool),
        ("active", ctypes.c_bool),
    ] + [
        (n, ctypes.c_bool)
        for n in (
            "system_click", "system_touch", "a_click", "a_touch", "b_click", "b_touch",
            "trigger_click", "trigger_touch", "thumbstick_click", "thumbstick_touch", "trackpad_touch",
            "_pad0", "_pad1", "_pad2",
        )
    ]  # fmt: skip


class RemoteData(ctypes.Structure):
    _fields_ = [("header", ctypes.c_uint64), ("head", _Head), ("left", _Controller), ("right", _Controller)]


HEADER = struct.unpack("<Q", b"mndrmt3\0")[0]
assert ctypes.sizeof(RemoteData) == 376, ctypes.sizeof(RemoteData)


class MonadoRemote:
    """One connection to the remote driver. ``state`` starts as Monado's own latest state."""

    def __init__(self, port: int, *, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.reset = self._read()
        self.state = self._read()

    def _read(self) -> RemoteData:
        size = ctypes.sizeof(RemoteData)
        buf = b""
        while len(buf) < size:
            chunk = self._sock.recv(size - len(buf))
            if not chunk:
                raise ConnectionError("Monado closed the remote connection")
            buf += chunk
        return RemoteData.from_buffer_copy(buf)

    def send(self) -> None:
        self.state.header = HEADER
        self._sock.sendall(bytes(self.state))

    def set_head(self, position_m: tuple[float, float, float], orientation_xyzw: tuple[float, ...]) -> None:
        c = self.state.head.center
        c.position.x, c.position.y, c.position.z = position_m
        c.orientation.x, c.orientation.y, c.orientation.z, c.orientation.w = orientation_xyzw
        self.state.head.per_view_data_valid = False
        self.send()

    def set_controller(self, hand: str, **inputs: Any) -> None:
        ctl = getattr(self.state, hand)
        ctl.active = True
        for name, value in inputs.items():
            if name == "thumbstick":
                ctl.thumbstick[0], ctl.thumbstick[1] = value
            else:
                setattr(ctl, name, value)
        self.send()

    def close(self) -> None:
        self._sock.close()
