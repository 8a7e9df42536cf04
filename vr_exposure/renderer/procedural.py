"""Procedural assets: numpy noise turned into Panda3D textures, and meshes written vertex by vertex.

Every surface a patient sees is made at build time (nothing is downloaded or shipped as a model
file): tileable value-noise fBm here drives the textures that the shared blocks
(:mod:`vr_exposure.renderer.blocks.textures`) and the scene packages register by name; boxes,
cylinders, spheres, planes and a sky dome are written with ``GeomVertexWriter`` with normals and UVs so
Panda3D's shader generator can light them and cast shadows on them.

Textures are cached per process (by name and size) because building a scene twice, e.g. when a test
renders every preset, must not pay for the noise again.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
from panda3d.core import (
    Geom,
    GeomNode,
    GeomTriangles,
    GeomVertexData,
    GeomVertexFormat,
    GeomVertexReader,
    GeomVertexWriter,
    SamplerState,
    Texture,
)

from vr_exposure.errors import SceneError

__all__ = [
    "box",
    "cylinder",
    "dome",
    "fbm",
    "grid_plane",
    "mix",
    "named_texture",
    "register_texture",
    "texture_names",
    "plane",
    "recolor_dome",
    "sphere",
    "texture_from_array",
    "value_noise",
]

Color = tuple[float, float, float, float]

# --------------------------------------------------------------------------------------------- noise


def value_noise(size: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Tileable value noise in [0, 1]: a ``cells`` x ``cells`` random lattice, smoothstep-interpolated
    to ``size`` x ``size`` pixels. The lattice wraps, so the texture tiles without seams."""
    lattice = rng.random((cells, cells), dtype=np.float32)
    coords = np.arange(size, dtype=np.float32) * (cells / size)
    i0 = np.floor(coords).astype(np.int64)
    f = coords - i0
    f = f * f * (3.0 - 2.0 * f)
    i0 %= cells
    i1 = (i0 + 1) % cells
    rows0 = lattice[i0]  # (size, cells): rows picked for y
    rows1 = lattice[i1]
    fy = f[:, None]
    rows = rows0 * (1.0 - fy) + rows1 * fy  # (size, cells)
    fx = f[None, :]
    return rows[:, i0] * (1.0 - fx) + rows[:, i1] * fx  # type: ignore[no-any-return]


def fbm(size: int, base_cells: int, octaves: int, rng: np.random.Generator, gain: float = 0.5) -> np.ndarray:
    """Fractal (fBm) value noise in [0, 1]: ``octaves`` layers, each twice the frequency and ``gain``
    times the amplitude of the one before. Tileable."""
    total = np.zeros((size, size), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    cells = base_cells
    for _ in range(octaves):
        total += amplitude * value_noise(size, min(cells, size), rng)
        norm += amplitude
        amplitude *= gain
        cells *= 2
    return total / norm


def texture_from_array(rgb: np.ndarray, name: str, *, wrap: bool = True) -> Texture:
    """A mipmapped RGB(A) texture from a float array in [0, 1] shaped (H, W, 3|4), row 0 at the top."""
    arr = np.clip(rgb, 0.0, 1.0)
    h, w, channels = arr.shape
    data = (arr[::-1] * 255.0 + 0.5).astype(np.uint8)  # Panda3D's row 0 is the bottom
    # Panda3D stores BGR(A).
    data = data[..., [2, 1, 0, 3]] if channels == 4 else data[..., [2, 1, 0]]
    tex = Texture(name)
    fmt = Texture.F_rgba8 if channels == 4 else Texture.F_rgb8
    tex.setup2dTexture(w, h, Texture.T_unsigned_byte, fmt)
    tex.setRamImage(np.ascontiguousarray(data).tobytes())
    tex.setMinfilter(SamplerState.FT_linear_mipmap_linear)
    tex.setMagfilter(SamplerState.FT_linear)
    tex.setAnisotropicDegree(4)
    mode = SamplerState.WM_repeat if wrap else SamplerState.WM_clamp
    tex.setWrapU(mode)
    tex.setWrapV(mode)
    return tex


def mix(a: Sequence[float], b: Sequence[float], t: np.ndarray) -> np.ndarray:
    a_ = np.asarray(a, dtype=np.float32)
    b_ = np.asarray(b, dtype=np.float32)
    return a_ + (b_ - a_) * t[..., None]  # type: ignore[no-any-return]


TextureMaker = Callable[[int, np.random.Generator], np.ndarray]

#: Texture name -> (maker, size in pixels, whether it tiles). Filled by :func:`register_texture` in
#: the modules that define textures (the shared blocks, each scene package).
_TEXTURES: dict[str, tuple[TextureMaker, int, bool]] = {}


def register_texture(name: str, size: int, *, wrap: bool = True) -> Callable[[TextureMaker], TextureMaker]:
    """Decorator: ``fn(size, rng)`` (an (H, W, 3|4) float array in [0, 1]) makes the texture ``name``
    at ``size`` x ``size`` pixels; ``wrap=False`` for a picture that must not tile (a photograph)."""

    def decorate(fn: TextureMaker) -> TextureMaker:
        other = _TEXTURES.get(name)
        if other is not None and other[0] is not fn:
            raise SceneError(
                f"procedural texture {name!r} is registered twice ({other[0].__module__} and {fn.__module__})"
            )
        _TEXTURES[name] = (fn, size, wrap)
        return fn

    return decorate


def texture_names() -> list[str]:
    return sorted(_TEXTURES)


@functools.cache
def named_texture(name: str, seed: int = 7) -> Texture:
    """A registered procedural texture by name (``wood-planks``, ``plaster``, ``sand`` ...), cached."""
    try:
        make, size, wrap = _TEXTURES[name]
    except KeyError:
        raise SceneError(f"no procedural texture {name!r}; known: {', '.join(sorted(_TEXTURES))}") from None
    rng = np.random.default_rng(seed + sum(map(ord, name)))
    return texture_from_array(make(size, rng), name, wrap=wrap)


# -------------------------------------------------------------------------------------------- meshes


class _MeshWriter:
    """Collects vertices (position, normal, uv, colour) and triangles, then makes one ``GeomNode``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.vdata = GeomVertexData(name, GeomVertexFormat.getV3n3c4t2(), Geom.UH_static)
        self.vertex = GeomVertexWriter(self.vdata, "vertex")
        self.normal = GeomVertexWriter(self.vdata, "normal")
        self.color = GeomVertexWriter(self.vdata, "color")
        self.uv = GeomVertexWriter(self.vdata, "texcoord")
        self.tris = GeomTriangles(Geom.UH_static)
        self.count = 0

    def add(
        self,
        pos: Sequence[float],
        normal: Sequence[float],
        uv: Sequence[float],
        color: Color = (1.0, 1.0, 1.0, 1.0),
    ) -> int:
        self.vertex.addData3(pos[0], pos[1], pos[2])
        self.normal.addData3(normal[0], normal[1], normal[2])
        self.color.addData4(*color)
        self.uv.addData2(uv[0], uv[1])
        self.count += 1
        return self.count - 1

    def tri(self, a: int, b: int, c: int) -> None:
        self.tris.addVertices(a, b, c)

    def quad(self, a: int, b: int, c: int, d: int) -> None:
        """Counter-clockwise a-b-c-d seen from the front."""
        self.tris.addVertices(a, b, c)
        self.tris.addVertices(a, c, d)

    def node(self) -> GeomNode:
        geom = Geom(self.vdata)
        geom.addPrimitive(self.tris)
        node = GeomNode(self.name)
        node.addGeom(geom)
        return node


def box(
    name: str,
    size: Sequence[float],
    *,
    uv_per_m: float = 1.0,
    color: Color = (1.0, 1.0, 1.0, 1.0),
) -> GeomNode:
    """An axis-aligned box of ``size`` (x, y, z) metres centred on the origin, UVs in metres times
    ``uv_per_m`` so a texture keeps its scale whatever the box's size."""
    sx, sy, sz = (s / 2.0 for s in size)
    w = _MeshWriter(name)
    faces = (
        ((1, 0, 0), (0, 1, 0), (0, 0, 1), sx, sy, sz),
        ((-1, 0, 0), (0, -1, 0), (0, 0, 1), sx, sy, sz),
        ((0, 1, 0), (-1, 0, 0), (0, 0, 1), sy, sx, sz),
        ((0, -1, 0), (1, 0, 0), (0, 0, 1), sy, sx, sz),
        ((0, 0, 1), (1, 0, 0), (0, 1, 0), sz, sx, sy),
        ((0, 0, -1), (-1, 0, 0), (0, 1, 0), sz, sx, sy),
    )
    for n, u, v, dn, du, dv in faces:
        verts = []
        for cu, cv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            p = [n[i] * dn + u[i] * du * cu + v[i] * dv * cv for i in range(3)]
            verts.append(w.add(p, n, ((cu * du + du) * uv_per_m, (cv * dv + dv) * uv_per_m), color))
        w.quad(*verts)
    return w.node()


def plane(
    name: str,
    size_x: float,
    size_y: float,
    *,
    uv_repeat: tuple[float, float] = (1.0, 1.0),
    color: Color = (1.0, 1.0, 1.0, 1.0),
) -> GeomNode:
    """A flat rectangle in the XY plane centred on the origin, facing +Z."""
    return grid_plane(name, size_x, size_y, 1, 1, uv_repeat=uv_repeat, color=color)


def grid_plane(
    name: str,
    size_x: float,
    size_y: float,
    nx: int,
    ny: int,
    *,
    uv_repeat: tuple[float, float] = (1.0, 1.0),
    color: Color = (1.0, 1.0, 1.0, 1.0),
    height: Callable[[float, float], float] | None = None,
) -> GeomNode:
    """A subdivided rectangle in the XY plane facing +Z; ``height(x, y)`` lifts vertices (dunes),
    with normals from finite differences."""
    w = _MeshWriter(name)
    idx: list[list[int]] = []
    eps = 0.05
    for j in range(ny + 1):
        row = []
        for i in range(nx + 1):
            x = (i / nx - 0.5) * size_x
            y = (j / ny - 0.5) * size_y
            z = 0.0
            normal: Sequence[float] = (0.0, 0.0, 1.0)
            if height is not None:
                z = height(x, y)
                dzdx = (height(x + eps, y) - height(x - eps, y)) / (2 * eps)
                dzdy = (height(x, y + eps) - height(x, y - eps)) / (2 * eps)
                length = math.sqrt(dzdx * dzdx + dzdy * dzdy + 1.0)
                normal = (-dzdx / length, -dzdy / length, 1.0 / length)
            row.append(w.add((x, y, z), normal, (i / nx * uv_repeat[0], j / ny * uv_repeat[1]), color))
        idx.append(row)
    for j in range(ny):
        for i in range(nx):
            w.quad(idx[j][i], idx[j][i + 1], idx[j + 1][i + 1], idx[j + 1][i])
    return w.node()


def cylinder(
    name: str,
    radius: float,
    length: float,
    *,
    segments: int = 12,
    radius_end: float | None = None,
    caps: bool = True,
    color: Color = (1.0, 1.0, 1.0, 1.0),
    uv_repeat: tuple[float, float] = (1.0, 1.0),
) -> GeomNode:
    """A (tapered) cylinder along +Y from 0 to ``length``: limbs and threads point forward, so a
    node's heading and pitch aim them."""
    r1 = radius if radius_end is None else radius_end
    w = _MeshWriter(name)
    slope = (radius - r1) / length if length else 0.0
    ring0, ring1 = [], []
    for s in range(segments + 1):
        a = 2.0 * math.pi * s / segments
        ca, sa = math.cos(a), math.sin(a)
        nlen = math.sqrt(1.0 + slope * slope)
        n = (ca / nlen, slope / nlen, sa / nlen)
        u = s / segments * uv_repeat[0]
        ring0.append(w.add((radius * ca, 0.0, radius * sa), n, (u, 0.0), color))
        ring1.append(w.add((r1 * ca, length, r1 * sa), n, (u, uv_repeat[1]), color))
    for s in range(segments):
        w.quad(ring0[s + 1], ring0[s], ring1[s], ring1[s + 1])
    if caps:
        for y, r, ny_ in ((0.0, radius, -1.0), (length, r1, 1.0)):
            centre = w.add((0.0, y, 0.0), (0.0, ny_, 0.0), (0.5, 0.5), color)
            rim = [
                w.add(
                    (r * math.cos(2 * math.pi * s / segments), y, r * math.sin(2 * math.pi * s / segments)),
                    (0.0, ny_, 0.0),
                    (0.5, 0.5),
                    color,
                )
                for s in range(segments)
            ]
            for s in range(segments):
                a, b = rim[s], rim[(s + 1) % segments]
                if ny_ > 0:
                    w.tri(centre, b, a)
                else:
                    w.tri(centre, a, b)
    return w.node()


def sphere(
    name: str,
    radius: float = 1.0,
    *,
    rings: int = 10,
    segments: int = 16,
    color: Color = (1.0, 1.0, 1.0, 1.0),
    inside: bool = False,
    color_at: Callable[[float], Color] | None = None,
) -> GeomNode:
    """A UV sphere centred on the origin (scale the node for an ellipsoid). ``inside`` flips the
    winding and normals (a sky dome); ``color_at(z)`` colours vertices by height, z in [-1, 1]."""
    w = _MeshWriter(name)
    grid: list[list[int]] = []
    for r in range(rings + 1):
        theta = math.pi * r / rings
        z = math.cos(theta)
        rr = math.sin(theta)
        row = []
        for s in range(segments + 1):
            phi = 2.0 * math.pi * s / segments
            n = (rr * math.cos(phi), rr * math.sin(phi), z)
            normal = (-n[0], -n[1], -n[2]) if inside else n
            vc = color_at(z) if color_at is not None else color
            row.append(
                w.add(
                    (n[0] * radius, n[1] * radius, n[2] * radius), normal, (s / segments, 1 - r / rings), vc
                )
            )
        grid.append(row)
    for r in range(rings):
        for s in range(segments):
            a, b, c, d = grid[r][s], grid[r][s + 1], grid[r + 1][s + 1], grid[r + 1][s]
            if inside:
                w.quad(a, b, c, d)
            else:
                w.quad(a, d, c, b)
    return w.node()


def _gradient(gradient: Sequence[tuple[float, Color]]) -> Callable[[float], Color]:
    zs = [z for z, _ in gradient]

    def color_at(z: float) -> Color:
        if z <= zs[0]:
            return gradient[0][1]
        for (z0, c0), (z1, c1) in zip(gradient, gradient[1:], strict=False):
            if z <= z1:
                t = (z - z0) / (z1 - z0) if z1 > z0 else 1.0
                return (
                    c0[0] + (c1[0] - c0[0]) * t,
                    c0[1] + (c1[1] - c0[1]) * t,
                    c0[2] + (c1[2] - c0[2]) * t,
                    1.0,
                )
        return gradient[-1][1]

    return color_at


def dome(name: str, radius: float, gradient: Sequence[tuple[float, Color]], *, rings: int = 24) -> GeomNode:
    """A sky dome seen from inside, coloured by elevation: ``gradient`` is (z in [-1, 1], colour)
    stops, sorted by z."""
    return sphere(name, radius, rings=rings, segments=32, inside=True, color_at=_gradient(gradient))


def recolor_dome(node: GeomNode, radius: float, gradient: Sequence[tuple[float, Color]]) -> None:
    """Give a :func:`dome` a new gradient in place: its vertex colours are rewritten, nothing is
    created (a sky that changes during an intensity ramp must not build geometry)."""
    color_at = _gradient(gradient)
    for i in range(node.getNumGeoms()):
        vdata = node.modifyGeom(i).modifyVertexData()
        reader = GeomVertexReader(vdata, "vertex")
        writer = GeomVertexWriter(vdata, "color")
        while not reader.isAtEnd():
            writer.setData4(*color_at(reader.getData3().z / radius))


def grass_tuft(name: str, blades: int, height_m: float, rng: np.random.Generator) -> GeomNode:
    """A tuft of tapered, bent blades rooted at the origin (each blade two quads and a tip),
    coloured from dark at the root to pale at the tip."""
    w = _MeshWriter(name)
    for _ in range(blades):
        a = float(rng.uniform(0, 2 * math.pi))
        lean = float(rng.uniform(0.1, 0.45))
        h = height_m * float(rng.uniform(0.6, 1.1))
        width = 0.012 * float(rng.uniform(0.7, 1.3))
        ox, oy = float(rng.normal(0, 0.04)), float(rng.normal(0, 0.04))
        ca, sa = math.cos(a), math.sin(a)
        side = (-sa * width, ca * width)
        pts = []
        for k, f in enumerate((0.0, 0.5, 1.0)):
            bend = lean * f * f * h
            cx, cy, cz = ox + ca * bend, oy + sa * bend, h * f
            taper = 1.0 - f if k < 2 else 0.0
            shade = 0.55 + 0.45 * f
            col = (0.52 * shade, 0.55 * shade, 0.30 * shade, 1.0)
            n = (ca * 0.3, sa * 0.3, 0.95)
            left = w.add((cx - side[0] * taper, cy - side[1] * taper, cz), n, (0.0, f), col)
            right = w.add((cx + side[0] * taper, cy + side[1] * taper, cz), n, (1.0, f), col)
            pts.append((left, right))
        for (l0, r0), (l1, r1) in zip(pts, pts[1:], strict=False):
            w.quad(l0, r0, r1, l1)
    return w.node()
