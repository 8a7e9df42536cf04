"""The ``spiders`` scene package: a small study with a desk, a shelf, a window and live spiders.

``contract.py`` says what the builder reads and does (no Panda3D); ``builder.py`` builds it;
``textures.py`` and ``sounds.py`` make its photograph, fur and scuttle.
"""
