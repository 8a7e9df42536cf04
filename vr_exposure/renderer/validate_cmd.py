"""``vr-exposure validate [PATH...]``: the content checks of :mod:`vr_exposure.core.validate_cmd`, plus
every scene against its builder's contract.

The contracts come from the scene packages' ``contract`` modules, which are plain data: this command
loads neither Panda3D nor Qt.
"""

from __future__ import annotations

import argparse

from vr_exposure.core import validate_cmd
from vr_exposure.renderer.builders import contracts

configure = validate_cmd.configure


def run(args: argparse.Namespace) -> int:
    return validate_cmd.run(args, contracts())
