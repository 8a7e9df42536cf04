"""Every error raised on purpose is in the project's hierarchy, so one ``except VrExposureError``
(the command line's) turns it into a line a therapist can act on."""

from __future__ import annotations

import pytest

from vr_exposure.errors import LinkError, RendererError, SceneError, VrExposureError


def test_xr_and_codec_errors_join_the_hierarchy() -> None:
    from vr_exposure.link.codec import DecodeError
    from vr_exposure.renderer.backends.xr_seam import XrRuntimeError, XrUnavailable

    assert issubclass(XrRuntimeError, RendererError) and issubclass(XrUnavailable, RendererError)
    assert issubclass(DecodeError, LinkError)
    assert issubclass(RendererError, VrExposureError) and issubclass(SceneError, VrExposureError)


def test_a_builder_registered_twice_and_an_unknown_texture_are_scene_errors() -> None:
    from vr_exposure.renderer import procedural
    from vr_exposure.renderer.builders import get_builder, register_builder

    assert get_builder("spiders").__module__.endswith("spiders.builder")
    with pytest.raises(SceneError, match="registered twice"):
        register_builder("spiders")(lambda ctx: ctx)  # type: ignore[arg-type, return-value]
    with pytest.raises(SceneError, match="no procedural texture 'marble'"):
        procedural.named_texture("marble")
