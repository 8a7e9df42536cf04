"""The ``combat-convoy`` scene package: the patient rides in an armoured vehicle of a convoy on a desert
road past villages, for PTSD after combat.

``contract.py`` says what the builder reads, animates and synthesises (no Panda3D); ``builder.py``
builds the vehicle, the road, the villages and the triggers from the shared blocks; ``sounds.py``
synthesises the convoy's own sounds (diesel rumble, call to prayer, gunfire, a baby crying, the
blast with radio static and shouting, ringing ears); ``textures.py`` the mud brick and awning cloth.
"""
