"""The ``heights`` scene package: a balcony platform high on a tower above a city plaza.

``contract.py`` says what the builder reads (no Panda3D); ``builder.py`` builds the tower, the
balcony with its barriers and floors, and the city far below; ``textures.py`` makes the facade,
paving and floor grating; ``sounds.py`` makes the wind at height, the city below, the platform's
motor, a gust and a creak.
"""
