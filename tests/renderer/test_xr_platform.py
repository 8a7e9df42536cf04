"""The Win32 OpenGL binding's structure and the WGL context it is built from, on any platform (no
Windows here: ``opengl32.dll`` is stood in for)."""

from __future__ import annotations

import ctypes
import sys
from typing import Any

import pytest

from vr_exposure.renderer.backends.xr_platform import (
    XR_TYPE_GRAPHICS_BINDING_OPENGL_WIN32_KHR,
    GraphicsBindingOpenGLWin32KHR,
    wgl_current,
    win32_binding,
)


class _FakeOpenGl32:
    """``wglGetCurrentContext`` / ``wglGetCurrentDC`` returning what a test says."""

    class _Fn:
        def __init__(self, value: int) -> None:
            self.value = value
            self.restype: Any = None

        def __call__(self) -> int:
            return self.value

    def __init__(self, dc: int, context: int) -> None:
        self.wglGetCurrentDC = self._Fn(dc)
        self.wglGetCurrentContext = self._Fn(context)


def test_the_structure_has_the_c_layout_of_openxr_platform_h() -> None:
    ptr = ctypes.sizeof(ctypes.c_void_p)
    s = GraphicsBindingOpenGLWin32KHR
    # XrStructureType (int32), then three pointer-sized members, each aligned to a pointer.
    assert (s.type.offset, s.next.offset, s.h_dc.offset, s.h_glrc.offset) == (0, ptr, 2 * ptr, 3 * ptr)
    assert ctypes.sizeof(s) == 4 * ptr
    assert XR_TYPE_GRAPHICS_BINDING_OPENGL_WIN32_KHR == 1000023000


def test_the_binding_carries_the_current_wgl_context() -> None:
    dc, glrc = wgl_current(_FakeOpenGl32(0x1234_5678, 0x0ABC_DEF0))  # type: ignore[misc]
    b = win32_binding(dc, glrc)
    assert b.type == XR_TYPE_GRAPHICS_BINDING_OPENGL_WIN32_KHR and b.next is None
    assert (b.h_dc, b.h_glrc) == (0x1234_5678, 0x0ABC_DEF0)
    # What xrCreateSession reads through SessionCreateInfo.next: the same bytes at the same offsets.
    raw = ctypes.string_at(ctypes.addressof(b), ctypes.sizeof(b))
    ptr = ctypes.sizeof(ctypes.c_void_p)
    assert int.from_bytes(raw[0:4], sys.byteorder) == 1000023000
    assert int.from_bytes(raw[2 * ptr : 3 * ptr], sys.byteorder) == 0x1234_5678
    assert int.from_bytes(raw[3 * ptr : 4 * ptr], sys.byteorder) == 0x0ABC_DEF0


def test_no_current_context_is_none_and_a_half_binding_is_refused() -> None:
    assert wgl_current(_FakeOpenGl32(0x10, 0)) is None
    assert wgl_current(_FakeOpenGl32(0, 0x10)) is None
    with pytest.raises(ValueError, match="device context and a GL context"):
        win32_binding(0, 0x10)


def test_off_windows_there_is_no_wgl_context() -> None:
    if sys.platform == "win32":
        pytest.skip("on Windows opengl32.dll is real")
    assert wgl_current() is None


def test_windows_selects_the_win32_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime wrapper, told it runs on Windows, builds the Win32 binding from WGL's context and
    never looks for EGL or GLX."""
    pytest.importorskip("xr")
    from vr_exposure.renderer.backends import openxr_runtime as rt

    monkeypatch.setattr(rt.sys, "platform", "win32")
    monkeypatch.setattr(rt, "wgl_current", lambda: (0x20, 0x30))
    monkeypatch.setattr(rt, "_egl_current", lambda: pytest.fail("EGL looked for on Windows"))
    monkeypatch.setattr(rt, "_glx_current", lambda: pytest.fail("GLX looked for on Windows"))
    binding = rt.PyOpenXrRuntime()._gl_binding()
    assert isinstance(binding, GraphicsBindingOpenGLWin32KHR)
    assert (binding.h_dc, binding.h_glrc) == (0x20, 0x30)
    assert rt.current_gl_platform() == "wgl"
    monkeypatch.setattr(rt, "wgl_current", lambda: None)
    with pytest.raises(rt.XrUnavailable, match="WGL context"):
        rt.PyOpenXrRuntime()._gl_binding()
