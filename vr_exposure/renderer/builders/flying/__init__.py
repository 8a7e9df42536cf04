"""The ``flying`` scene package: a seated window seat in an airliner's cabin, from the gate to landing.

``contract.py`` says what the builder reads (no Panda3D); ``builder.py`` builds the cabin (seats,
overhead bins, windows, the seat-belt sign), the passengers, the wing and the world outside the
windows for every flight phase; ``textures.py`` makes the cabin's carpet, seat fabric, wall panels
and the fields far below; ``sounds.py`` makes the jet engines, the cabin chimes, the captain's
voice, the bins' rattle and the touchdown.
"""
