"""Rooms: floor, walls, ceiling, skirting, windows, a ceiling lamp, doors that open and close, and
furniture (a desk, a wall shelf with books).

Everything is built in the constructor; what changes afterwards (a door opening) only turns nodes,
so it may follow an intensity ramp. Walls, ceiling and window frames cast no shadow: the sun stands
in for daylight through the window and would otherwise leave the whole room in a wall's shadow.

Example (a 3 m x 4 m study with a window on the left wall and a door in the back wall)::

    from vr_exposure.renderer.blocks.rooms import Door, Room, Window, desk

    room = Room(root, x=(-1.7, 1.3), y=(-1.0, 3.0), height_m=2.5,
                windows=[Window("left", along_m=1.2, z_m=1.45, width_m=1.1, height_m=1.0)])
    door = Door(room.node, "back", along_m=0.8)     # closed
    door.set_open(0.5)                               # in apply(): half open, nothing built
    desk(root, x=(0.0, 1.15), y=(0.25, 0.95), top_z=0.74)

A wall's frame (:meth:`Room.wall_frame`) has its origin on the floor at the wall's middle, +Y
pointing out through the wall and +X to the right as seen from inside facing it, so a window or
door is placed by ``along_m`` (metres right of the wall's middle) and a height.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from panda3d.core import NodePath

from vr_exposure.renderer import procedural as proc
from vr_exposure.renderer import shading
from vr_exposure.renderer.blocks.materials import SHADOW_MASK, Color, material, part

__all__ = ["Door", "Room", "Wall", "Window", "desk", "wall_shelf"]

Wall = Literal["far", "back", "left", "right"]
#: Heading of each wall's frame: +Y of the frame points out through the wall.
_WALL_H: dict[str, float] = {"far": 0.0, "back": 180.0, "left": 90.0, "right": -90.0}


@dataclass(frozen=True)
class Window:
    """A bright pane in a white frame with a sill, on ``wall``."""

    wall: Wall
    along_m: float
    z_m: float
    width_m: float
    height_m: float
    pane_color: Color = (0.86, 0.93, 1.0, 1.0)


class Room:
    """A box room from ``x`` to ``y`` (metres, Panda3D axes) and ``height_m`` high."""

    def __init__(
        self,
        parent: NodePath,
        *,
        x: tuple[float, float],
        y: tuple[float, float],
        height_m: float,
        floor_texture: str = "wood-planks",
        wall_texture: str = "plaster",
        skirting: Sequence[Wall] = ("far", "back", "left", "right"),
        windows: Sequence[Window] = (),
        ceiling_lamp: tuple[float, float] | None = None,
    ) -> None:
        self.x, self.y, self.height_m = x, y, height_m
        self.node = room = parent.attachNewNode("room")
        x0, x1 = x
        y0, y1 = y
        w, d = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        self.floor = part(
            room,
            proc.plane("floor", w, d, uv_repeat=(w, d)),
            (cx, cy, 0.0),
            texture=floor_texture,
            mat=material((1, 1, 1), specular=0.15, shininess=30),
        )
        plaster = material((1.0, 0.98, 0.95))
        ceiling = part(
            room,
            proc.plane("ceiling", w, d, uv_repeat=(w, d)),
            (cx, cy, height_m),
            texture=wall_texture,
            mat=plaster,
        )
        ceiling.setP(180)
        ceiling.hide(SHADOW_MASK)
        walls = (
            ("wall-far", (cx, y1, height_m / 2), (0, 90, 0), w),
            ("wall-back", (cx, y0, height_m / 2), (180, 90, 0), w),
            ("wall-left", (x0, cy, height_m / 2), (90, 90, 0), d),
            ("wall-right", (x1, cy, height_m / 2), (-90, 90, 0), d),
        )
        self.walls: dict[str, NodePath] = {}
        for name, pos, hpr, length in walls:
            wall = part(
                room,
                proc.plane(name, length, height_m, uv_repeat=(length, height_m)),
                pos,
                texture=wall_texture,
                mat=plaster,
                hpr=hpr,
            )
            wall.setName(name)
            wall.hide(SHADOW_MASK)
            self.walls[name.removeprefix("wall-")] = wall
        trim = material((0.92, 0.9, 0.86), specular=0.2)
        runs = {
            "far": ((cx, y1 - 0.01, 0.05), (w, 0.02, 0.1)),
            "back": ((cx, y0 + 0.01, 0.05), (w, 0.02, 0.1)),
            "left": ((x0 + 0.01, cy, 0.05), (0.02, d, 0.1)),
            "right": ((x1 - 0.01, cy, 0.05), (0.02, d, 0.1)),
        }
        for wall_name in skirting:
            pos, size = runs[wall_name]
            part(room, proc.box("skirting", size), pos, mat=trim)
        for window in windows:
            self._window(window)
        if ceiling_lamp is not None:
            disc = part(
                room,
                proc.cylinder("ceiling-lamp", 0.18, 0.04, segments=20),
                (ceiling_lamp[0], ceiling_lamp[1], height_m - 0.02),
                hpr=(0, 90, 0),
            )
            disc.setColor(1.0, 0.95, 0.85, 1.0)
            shading.unlit(disc)
            disc.hide(SHADOW_MASK)

    def wall_frame(self, wall: Wall) -> NodePath:
        """A node on the floor at the middle of ``wall``, +Y out through it, +X to the right."""
        x0, x1 = self.x
        y0, y1 = self.y
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        origin = {"far": (cx, y1), "back": (cx, y0), "left": (x0, cy), "right": (x1, cy)}[wall]
        frame = self.node.attachNewNode(f"frame-{wall}")
        frame.setPos(origin[0], origin[1], 0.0)
        frame.setH(_WALL_H[wall])
        return frame

    def _window(self, win: Window) -> None:
        frame = self.wall_frame(win.wall)
        frame.setName(f"window-{win.wall}")
        a, z, ww, wh = win.along_m, win.z_m, win.width_m, win.height_m
        pane = part(frame, proc.plane("window-pane", ww, wh), (a, -0.012, z), hpr=(0, 90, 0))
        pane.setColor(*win.pane_color)
        shading.unlit(pane)
        frame_mat = material((0.95, 0.95, 0.93), specular=0.2)
        for pos, size in (
            ((a, -0.03, z + wh / 2), (ww + 0.1, 0.06, 0.06)),
            ((a, -0.03, z - wh / 2), (ww + 0.1, 0.06, 0.06)),
            ((a - ww / 2, -0.03, z), (0.06, 0.06, wh)),
            ((a + ww / 2, -0.03, z), (0.06, 0.06, wh)),
            ((a, -0.03, z), (0.04, 0.05, wh)),
            ((a, -0.08, z - wh / 2 - 0.04), (ww + 0.2, 0.16, 0.03)),
        ):
            part(frame, proc.box("window-frame", size), pos, mat=frame_mat).hide(SHADOW_MASK)


class Door:
    """A hinged door in ``room``'s ``wall`` with a frame and a handle. :meth:`set_open` swings it
    (0 closed, 1 open 90 degrees into the room); the panel's hinge is on its left as seen from inside."""

    def __init__(
        self,
        room: Room,
        wall: Wall,
        *,
        along_m: float = 0.0,
        width_m: float = 0.85,
        height_m: float = 2.0,
        color: Sequence[float] = (0.55, 0.40, 0.28),
    ) -> None:
        frame = room.wall_frame(wall)
        frame.setName(f"door-{wall}")
        self.node = frame
        trim = material((0.95, 0.95, 0.93), specular=0.2)
        for pos, size in (
            ((along_m - width_m / 2 - 0.04, -0.02, height_m / 2), (0.08, 0.05, height_m)),
            ((along_m + width_m / 2 + 0.04, -0.02, height_m / 2), (0.08, 0.05, height_m)),
            ((along_m, -0.02, height_m + 0.04), (width_m + 0.16, 0.05, 0.08)),
        ):
            part(frame, proc.box("door-frame", size), pos, mat=trim)
        self.hinge = frame.attachNewNode("door-hinge")
        self.hinge.setPos(along_m - width_m / 2, -0.03, 0.0)
        wood = material(color, specular=0.2, shininess=25)
        part(
            self.hinge,
            proc.box("door-panel", (width_m, 0.04, height_m), uv_per_m=1.0),
            (width_m / 2, 0.0, height_m / 2),
            texture="wood-fine",
            mat=wood,
        )
        part(
            self.hinge,
            proc.sphere("door-handle", 0.03),
            (width_m - 0.08, -0.05, 1.0),
            mat=material((0.8, 0.75, 0.55), specular=0.8, shininess=60),
        )
        self.opening = 0.0

    def set_open(self, fraction: float) -> None:
        """0 closed, 1 fully open (into the room). Turns the panel; builds nothing."""
        self.opening = min(max(fraction, 0.0), 1.0)
        self.hinge.setH(-90.0 * self.opening)  # toward -Y of the frame: into the room


def desk(
    parent: NodePath,
    *,
    x: tuple[float, float],
    y: tuple[float, float],
    top_z: float,
    drawers: bool = True,
    top_thickness_m: float = 0.035,
) -> NodePath:
    """A wooden desk: a top whose upper face is at ``top_z``, four legs and a drawer block."""
    node = parent.attachNewNode("desk")
    wood = material((1, 1, 1), specular=0.25, shininess=35)
    dx0, dx1 = x
    dy0, dy1 = y
    dcx, dcy = (dx0 + dx1) / 2, (dy0 + dy1) / 2
    t = top_thickness_m
    part(
        node,
        proc.box("desk-top", (dx1 - dx0, dy1 - dy0, t), uv_per_m=1.0),
        (dcx, dcy, top_z - t / 2),
        texture="wood-fine",
        mat=wood,
    )
    for lx in (dx0 + 0.05, dx1 - 0.05):
        for ly in (dy0 + 0.05, dy1 - 0.05):
            part(
                node,
                proc.box("desk-leg", (0.045, 0.045, top_z - t)),
                (lx, ly, (top_z - t) / 2),
                texture="wood-fine",
                mat=wood,
            )
    if drawers:
        part(
            node,
            proc.box("drawers", (0.4, dy1 - dy0 - 0.1, 0.5)),
            (dx1 - 0.25, dcy, top_z - t - 0.25),
            texture="wood-fine",
            mat=wood,
        )
    return node


_BOOK_COLOURS = (
    (0.55, 0.12, 0.10),
    (0.15, 0.25, 0.45),
    (0.20, 0.40, 0.25),
    (0.75, 0.62, 0.30),
    (0.35, 0.20, 0.35),
    (0.85, 0.82, 0.75),
)


def wall_shelf(
    parent: NodePath,
    *,
    x_m: float,
    y_m: float,
    z_m: float,
    rng: np.random.Generator,
    width_m: float = 1.4,
    boards: int = 2,
    board_gap_m: float = 0.45,
    books_to: Sequence[float] = (),
) -> NodePath:
    """Wooden boards against a wall, centred at ``x_m`` (the wall at ``y_m``), the lowest board's
    top at ``z_m``, each board ``board_gap_m`` above the last, with books from the left end up to
    ``books_to[i]`` (x, metres) on board ``i``."""
    node = parent.attachNewNode("shelf")
    wood = material((1, 1, 1), specular=0.25, shininess=35)
    for i in range(boards):
        part(
            node,
            proc.box("shelf-board", (width_m, 0.26, 0.03)),
            (x_m, y_m, z_m - 0.015 if i == 0 else z_m + i * board_gap_m),
            texture="wood-fine",
            mat=wood,
        )
    for i, end_x in enumerate(books_to):
        row_z = z_m + i * board_gap_m
        bx = x_m - width_m / 2 + 0.05
        while bx < end_x:
            bw = float(rng.uniform(0.025, 0.05))
            bh = float(rng.uniform(0.18, 0.28))
            col = _BOOK_COLOURS[int(rng.integers(len(_BOOK_COLOURS)))]
            part(
                node,
                proc.box("book", (bw, 0.18, bh)),
                (bx + bw / 2, y_m + 0.02, row_z + bh / 2),
                mat=material(col, specular=0.1),
            )
            bx += bw + 0.004
    return node
