"""The ``safe-place`` scene package: a quiet sandy beach at dusk, where the patient can always go.

``contract.py`` says what the builder reads (no Panda3D); ``builder.py`` builds it; ``textures.py``
and ``sounds.py`` make its sand, grass, sea and surf.
"""
