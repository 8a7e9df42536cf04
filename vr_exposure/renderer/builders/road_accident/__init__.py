"""The ``road-accident`` scene package: the patient rides in a car that drives itself, for PTSD after a
motor-vehicle accident.

``contract.py`` says what the builder reads, animates and synthesises (no Panda3D); ``builder.py``
builds the car, the road and the traffic from the shared blocks; ``sounds.py`` makes the tyre noise
and the tyre squeal (engine, rain, siren and impact come from the shared sound families).
"""
