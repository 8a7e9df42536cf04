"""The ``safe-place`` scene package: a quiet sandy beach at dusk, where the patient can always go.

``contract.py`` says what the builder reads (no Panda3D); ``builder.py`` builds it from the shared
blocks (time of day, the outdoor textures); ``sounds.py`` makes its surf.
"""
