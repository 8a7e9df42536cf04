"""The patient's overlay: the SUDS prompt and a one-line status (paused, link lost).

In a headset (and the window's side-by-side stereo) the overlay is *world-locked*: a panel placed
in front of the head, at the head's heading, when it appears, so it neither swims with every head
movement (which provokes simulator sickness) nor hides behind scenery (drawn last, no depth test).
On a flat screen it sits on ``aspect2d``. Node names are kebab-case (``suds-prompt``).
"""

from __future__ import annotations

from typing import Any

#: Distance of the world-locked panel from the eyes, and its scale (metres per text unit).
PANEL_DISTANCE_M = 1.4
PANEL_TEXT_SCALE_M = 0.06
SCREEN_TEXT_SCALE = 0.07

PROMPT_TITLE = "How anxious do you feel right now?"
PROMPT_SCALE = "0 = completely calm    100 = the most anxious you can imagine"
PROMPT_KEYS = "Press 0-9 for 0-90, H for 100"
PROMPT_CONTROLLER = "Choose with the controller, then press the trigger"


class Overlay:
    """SUDS prompt and status text, either world-locked under ``render`` or on ``aspect2d``."""

    def __init__(
        self, *, render: Any, aspect2d: Any, head: Any, world_locked: bool, head_mounted: bool
    ) -> None:
        self.world_locked = world_locked
        self.head_mounted = head_mounted
        self._head = head
        parent = render if world_locked else aspect2d
        self.root = parent.attachNewNode("vr-exposure-overlay")
        if world_locked:
            # Always readable: drawn after the scene, over it, unlit, unfogged.
            self.root.setBin("fixed", 100)
            self.root.setDepthTest(False)
            self.root.setDepthWrite(False)
            self.root.setLightOff(1)
            self.root.setFogOff(1)
        self.prompt = self.root.attachNewNode("suds-prompt")
        self.prompt.hide()
        self._prompt_text = self._text_node(self.prompt, "suds-prompt-text")
        self.status = self.root.attachNewNode("status")
        self._status_text = self._text_node(self.status, "status-text")
        self.status.hide()
        self.probe_id: str | None = None
        self.scale_max = 100
        self.status_text: str | None = None
        self.prompt_text = ""
        self._place_status()

    def _text_node(self, parent: Any, name: str) -> Any:
        from panda3d.core import TextNode

        node = TextNode(name)
        node.setAlign(TextNode.ACenter)
        node.setTextColor(1, 1, 1, 1)
        node.setShadow(0.05, 0.05)
        node.setShadowColor(0, 0, 0, 1)
        node.setCardColor(0.05, 0.07, 0.1, 0.75)
        node.setCardAsMargin(0.6, 0.6, 0.4, 0.4)
        node.setCardDecal(True)
        path = parent.attachNewNode(node)
        path.setTransparency(1)
        return node

    # -- SUDS prompt -------------------------------------------------------------------------------

    @property
    def prompt_visible(self) -> bool:
        return self.probe_id is not None

    def show_suds_prompt(self, probe_id: str, scale_max: int = 100) -> None:
        self.probe_id = probe_id
        self.scale_max = scale_max
        how = PROMPT_CONTROLLER if self.head_mounted else PROMPT_KEYS
        scale = PROMPT_SCALE if scale_max == 100 else f"0 = completely calm    {scale_max} = the most anxious"
        if scale_max != 100 and not self.head_mounted:
            how = f"Press 0-9, H for {scale_max}"
        self.prompt_text = f"{PROMPT_TITLE}\n{scale}\n{how}"
        self._prompt_text.setText(self.prompt_text)
        self._place(self.prompt, up_m=0.0)
        self.prompt.show()

    def hide_suds_prompt(self) -> None:
        self.probe_id = None
        self.prompt.hide()

    # -- status ------------------------------------------------------------------------------------

    def set_status(self, text: str | None) -> None:
        """Show one line (``None`` hides it)."""
        if text == self.status_text:
            return
        self.status_text = text
        if text is None:
            self.status.hide()
            return
        self._status_text.setText(text)
        self._place_status()
        self.status.show()

    def _place_status(self) -> None:
        if self.world_locked:
            self._place(self.status, up_m=-0.35)
        else:
            self.status.setPos(0, 0, -0.85)
            self.status.setScale(SCREEN_TEXT_SCALE * 0.8)

    def _place(self, node: Any, up_m: float) -> None:
        if not self.world_locked:
            node.setPos(0, 0, 0.2 + up_m)
            node.setScale(SCREEN_TEXT_SCALE)
            return
        # In front of the head at its current heading (yaw only: a panel tilted with the head's
        # pitch/roll at the moment it appeared would stay tilted).
        from panda3d.core import Vec3

        parent = self.root.getParent()
        head_pos = self._head.getPos(parent)
        heading = self._head.getH(parent)
        node.setPos(head_pos)
        node.setHpr(heading, 0, 0)
        node.setPos(node, Vec3(0, PANEL_DISTANCE_M, up_m))
        node.setScale(PANEL_TEXT_SCALE_M)

    def destroy(self) -> None:
        self.root.removeNode()
