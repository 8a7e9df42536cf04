"""Shared building blocks for scene packages: what more than one scene needs, written once.

- :mod:`~vr_exposure.renderer.blocks.materials`: materials, textured parts, glows, the shadow mask;
- :mod:`~vr_exposure.renderer.blocks.textures`: the shared surface textures (wood, plaster, sand, water ...);
- :mod:`~vr_exposure.renderer.blocks.sky`: sun, fog, sky dome and time of day;
- :mod:`~vr_exposure.renderer.blocks.rooms`: walls, windows, doors that open and close, furniture;
- :mod:`~vr_exposure.renderer.blocks.creatures`: locomotion over surfaces, steering toward or away
  from the patient;
- :mod:`~vr_exposure.renderer.blocks.people`: procedural figures: idle motion, gaze toward the patient,
  gestures and reactions;
- :mod:`~vr_exposure.renderer.blocks.vehicles`: roads with lane markings, cars that drive;
- :mod:`~vr_exposure.renderer.blocks.weather`: rain and lightning (fog and night are in ``sky``);
- :mod:`~vr_exposure.renderer.blocks.ride`: gentle camera motion for seated rides, capped against
  simulator sickness;
- :mod:`~vr_exposure.renderer.blocks.sound`: the sound-source registry and sound families.

Each module's docstring has a short example; ``docs/scene-format.md`` shows them in a scene.
"""
