"""Shared building blocks for scene packages: what more than one scene needs, written once.

- :mod:`~vr_exposure.renderer.blocks.sound`: the sound-source registry and sound families.

See ``docs/scene-format.md`` for examples of each.
"""
