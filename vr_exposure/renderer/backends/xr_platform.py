"""The Win32 OpenGL binding for an OpenXR session (``XrGraphicsBindingOpenGLWin32KHR``), beside the
Xlib/GLX and EGL bindings :mod:`.openxr_runtime` builds with pyopenxr's own structures.

pyopenxr defines the Win32 structure only in its Windows build, so it is written here from the
OpenXR 1.0 headers (``openxr_platform.h``), with no import of pyopenxr: the layout and the values put
into it can be tested on any platform. On Windows, Panda3D's ``wglGraphicsPipe`` keeps its WGL
context current on the render thread; :func:`wgl_current` reads that context and its device context
with ``wglGetCurrentContext`` / ``wglGetCurrentDC`` from ``opengl32.dll``.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

__all__ = [
    "XR_TYPE_GRAPHICS_BINDING_OPENGL_WIN32_KHR",
    "GraphicsBindingOpenGLWin32KHR",
    "wgl_current",
    "win32_binding",
]

#: ``XR_TYPE_GRAPHICS_BINDING_OPENGL_WIN32_KHR`` (XR_KHR_opengl_enable).
XR_TYPE_GRAPHICS_BINDING_OPENGL_WIN32_KHR = 1000023000


class GraphicsBindingOpenGLWin32KHR(ctypes.Structure):
    """``{XrStructureType type; const void* next; HDC hDC; HGLRC hGLRC;}``: HDC and HGLRC are
    handles (pointer-sized)."""

    _fields_ = [
        ("type", ctypes.c_int32),
        ("next", ctypes.c_void_p),
        ("h_dc", ctypes.c_void_p),
        ("h_glrc", ctypes.c_void_p),
    ]


def win32_binding(h_dc: int, h_glrc: int) -> GraphicsBindingOpenGLWin32KHR:
    """The binding for a WGL context ``h_glrc`` current on device context ``h_dc``."""
    if not h_dc or not h_glrc:
        raise ValueError("a Win32 OpenGL binding needs both a device context and a GL context")
    return GraphicsBindingOpenGLWin32KHR(XR_TYPE_GRAPHICS_BINDING_OPENGL_WIN32_KHR, None, h_dc, h_glrc)


def wgl_current(lib: Any = None) -> tuple[int, int] | None:
    """``(hDC, hGLRC)`` of the WGL context current on this thread, or None (no context, or not on
    Windows). ``lib`` stands in for ``opengl32.dll`` in tests."""
    if lib is None:
        if sys.platform != "win32":
            return None
        try:
            lib = getattr(ctypes, "WinDLL")("opengl32")  # noqa: B009 - WinDLL exists only on Windows
        except OSError:
            return None
    lib.wglGetCurrentContext.restype = ctypes.c_void_p
    lib.wglGetCurrentDC.restype = ctypes.c_void_p
    context = lib.wglGetCurrentContext()
    if not context:
        return None
    dc = lib.wglGetCurrentDC()
    if not dc:
        return None
    return int(dc), int(context)
