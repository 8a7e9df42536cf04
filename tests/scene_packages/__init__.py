"""Scene packages that live only in the tests: found by the renderer through
``VR_EXPOSURE_SCENE_PACKAGES=tests.scene_packages``, their YAML under ``content/`` (add it to
``VR_EXPOSURE_CONTENT``). Nothing in the project lists them."""
