"""Pieces every builder uses: materials, textured parts, the sun with its shadow map, ambient light,
fog and a sky dome that fades with the scene."""

from __future__ import annotations

from collections.abc import Sequence

from panda3d.core import (
    AmbientLight,
    BitMask32,
    ColorBlendAttrib,
    DirectionalLight,
    GeomNode,
    Material,
    NodePath,
    OrthographicLens,
    Vec3,
    Vec4,
)

from vr_exposure.renderer import procedural, shading

Color = tuple[float, float, float, float]

#: Camera mask of the sun's shadow camera: the sky, glows and glass hide from it.
SHADOW_MASK = BitMask32.bit(5)


def material(
    diffuse: Sequence[float] = (1.0, 1.0, 1.0),
    *,
    specular: float = 0.05,
    shininess: float = 10.0,
    emission: Sequence[float] | None = None,
) -> Material:
    m = Material()
    m.setDiffuse(Vec4(diffuse[0], diffuse[1], diffuse[2], 1.0))
    m.setAmbient(Vec4(diffuse[0], diffuse[1], diffuse[2], 1.0))
    m.setSpecular(Vec4(specular, specular, specular, 1.0))
    m.setShininess(shininess)
    if emission is not None:
        m.setEmission(Vec4(emission[0], emission[1], emission[2], 1.0))
    return m


def part(
    parent: NodePath,
    geom: GeomNode,
    pos: Sequence[float] = (0.0, 0.0, 0.0),
    *,
    texture: str | None = None,
    mat: Material | None = None,
    hpr: Sequence[float] | None = None,
) -> NodePath:
    """Attach ``geom`` at ``pos`` with an optional procedural texture and material."""
    np_ = parent.attachNewNode(geom)
    np_.setPos(pos[0], pos[1], pos[2])
    if hpr is not None:
        np_.setHpr(hpr[0], hpr[1], hpr[2])
    if texture is not None:
        np_.setTexture(procedural.named_texture(texture), 1)
    if mat is not None:
        np_.setMaterial(mat, 1)
    return np_


class Sun:
    """A directional light casting shadows over a ``film_m``-wide square around ``focus``, and an
    ambient fill. ``set_level`` scales both (room brightness, fades do not go through here)."""

    def __init__(
        self,
        root: NodePath,
        *,
        direction: Sequence[float],
        color: Sequence[float],
        ambient: Sequence[float],
        focus: Sequence[float],
        film_m: float,
        shadow_size_px: int,
        distance_m: float = 20.0,
    ) -> None:
        self.color = Vec4(color[0], color[1], color[2], 1.0)
        self.ambient_color = Vec4(ambient[0], ambient[1], ambient[2], 1.0)
        light = DirectionalLight("sun")
        light.setColor(self.color)
        if shadow_size_px > 0:
            light.setShadowCaster(True, shadow_size_px, shadow_size_px)
            lens = OrthographicLens()
            lens.setFilmSize(film_m, film_m)
            lens.setNearFar(1.0, distance_m * 2.0)
            light.setLens(lens)
            light.setCameraMask(SHADOW_MASK)
            light.setInitialState(shading.depth_state())
        self.light = light
        self.node = root.attachNewNode(light)
        d = Vec3(direction[0], direction[1], direction[2]).normalized()
        f = Vec3(focus[0], focus[1], focus[2])
        self.node.setPos(f - d * distance_m)
        self.node.lookAt(f)
        root.setLight(self.node)
        amb = AmbientLight("ambient")
        amb.setColor(self.ambient_color)
        self.ambient = amb
        self.ambient_node = root.attachNewNode(amb)
        root.setLight(self.ambient_node)

    def set_level(self, level: float) -> None:
        self.light.setColor(self.color * level)
        self.ambient.setColor(self.ambient_color * level)


class SceneFog:
    """Exponential fog (computed in the scene shader, so the fade's colour scale darkens it too)."""

    def __init__(self, root: NodePath, color: Sequence[float], density: float) -> None:
        self.root = root
        self.color = (color[0], color[1], color[2])
        self.density = density
        shading.set_fog(root, self.color, density)

    def set(self, color: Sequence[float], density: float | None = None) -> None:
        self.color = (color[0], color[1], color[2])
        if density is not None:
            self.density = density
        shading.set_fog(self.root, self.color, self.density)


def sky_dome(
    root: NodePath, radius_m: float, gradient: Sequence[tuple[float, Color]], *, center_z: float = 0.0
) -> NodePath:
    """An unlit, unfogged dome drawn first, behind everything; it takes the scene's colour scale,
    so it fades with the scene (the window's clear colour would not)."""
    sky = root.attachNewNode(procedural.dome("sky", radius_m, gradient))
    sky.setZ(center_z)
    shading.unlit(sky)
    sky.setBin("background", 0)
    sky.setDepthWrite(False)
    sky.setDepthTest(False)
    sky.hide(SHADOW_MASK)
    return sky


def glow(np_: NodePath) -> None:
    """Additive, unlit: for a sun disc or a lamp's bright inside."""
    shading.unlit(np_)
    np_.setAttrib(ColorBlendAttrib.make(ColorBlendAttrib.M_add))
    np_.setDepthWrite(False)
    np_.hide(SHADOW_MASK)
