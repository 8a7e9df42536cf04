"""The ``enclosed`` scene package: a room, a large and a small lift, a crawl space and an MRI bore.

``contract.py`` says what the builder reads (no Panda3D); ``builder.py`` builds the five spaces round
the patient, their doors, lights and the people who share them; ``textures.py`` makes brushed steel,
rough concrete and the scanner's plastic; ``sounds.py`` makes the lift's hum, its doors, the alarm
bell and the scanner's knocking.
"""
