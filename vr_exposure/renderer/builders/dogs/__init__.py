"""The ``dogs`` scene package: a park with up to four procedural dogs, leashed or free.

``contract.py`` says what the builder reads and does (no Panda3D); ``dog.py`` is the dog (its gait and
its body language); ``builder.py`` builds the park; ``sounds.py`` synthesises panting and a growl.
"""
