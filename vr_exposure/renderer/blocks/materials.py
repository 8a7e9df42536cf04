"""Materials and textured parts: the pieces every builder uses to dress geometry.

Example::

    from vr_exposure.renderer import procedural as proc
    from vr_exposure.renderer.blocks.materials import SHADOW_MASK, material, part

    wood = material((1, 1, 1), specular=0.25, shininess=35)
    top = part(root, proc.box("table-top", (1.2, 0.7, 0.04)), (0, 1.0, 0.72), texture="wood-fine", mat=wood)
    glass.hide(SHADOW_MASK)  # casts no shadow

The shared surface textures are registered here (``wood-planks``, ``wood-fine``, ``plaster``, ``rug``);
a scene's own ones in its package.
"""

from __future__ import annotations

from collections.abc import Sequence

from panda3d.core import BitMask32, ColorBlendAttrib, GeomNode, Material, NodePath, Vec4

from vr_exposure.renderer import procedural, shading
from vr_exposure.renderer.blocks import textures as _textures  # noqa: F401 - registers the shared textures

__all__ = ["SHADOW_MASK", "Color", "glow", "material", "part"]

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


def glow(np_: NodePath) -> None:
    """Additive, unlit: for a sun disc or a lamp's bright inside."""
    shading.unlit(np_)
    np_.setAttrib(ColorBlendAttrib.make(ColorBlendAttrib.M_add))
    np_.setDepthWrite(False)
    np_.hide(SHADOW_MASK)
