"""The ``dogs`` scene package: a park or a living room with up to four procedural dogs, leashed
(an owner walking each one) or free.

``contract.py`` says what the builder reads and does (no Panda3D); ``dog.py`` is the dog (its gaits,
rearing and body language); ``builder.py`` builds both settings, the owners and the events;
``sounds.py`` synthesises panting, a growl, paws on a floor and on grass, and collar tags.
"""
