"""The ``public-speaking`` scene package: the patient stands at a lectern before an audience, from
an empty meeting room to a full lecture hall, for social anxiety (fear of public speaking).

``contract.py`` says what the builder reads, animates and synthesises (no Panda3D); ``builder.py``
builds the three rooms, the seats, the curtain and the audience from the shared blocks (people,
rooms); ``sounds.py`` makes the applause, a cough, a phone ringing, whispering, footsteps, the
curtain's swish and a voice-like hostile question (the room's murmur is the shared crowd family).
"""
