"""Scene and protocol specs: intensity mapping, loading with file:line problems, the content library."""

# Expected problem lines are kept whole, exactly as the command prints them.
# ruff: noqa: E501

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vr_exposure.core import loading
from vr_exposure.core.loading import (
    build_library,
    check_file,
    default_content_dirs,
    load_library,
    load_protocol,
    load_scene,
)
from vr_exposure.core.specs import AudioCue, Keyframe, Parameter, Preset, ProtocolSpec, SceneSpec
from vr_exposure.errors import SpecError

from .conftest import write_file

ROOT = Path(__file__).resolve().parents[2]


def _param(points: list[tuple[float, float]], interpolation: str = "linear") -> Parameter:
    return msgspec.convert(
        {"keyframes": [{"intensity": i, "value": v} for i, v in points], "interpolation": interpolation},
        Parameter,
    )


# ------------------------------------------------------------------------------------------------
# Parameter.at


def test_linear_interpolates_between_keyframes() -> None:
    p = _param([(0, 3.0), (50, 1.0), (100, 0.5)])
    assert p.at(0) == 3.0
    assert p.at(25) == pytest.approx(2.0)
    assert p.at(50) == 1.0
    assert p.at(75) == pytest.approx(0.75)
    assert p.at(100) == 0.5


def test_step_holds_the_lower_keyframe_until_the_next() -> None:
    p = _param([(0, 0), (16, 1), (80, 4)], "step")
    assert p.at(0) == 0
    assert p.at(15.999) == 0
    assert p.at(16) == 1
    assert p.at(79) == 1
    assert p.at(80) == 4
    assert p.at(100) == 4


def test_outside_the_keyframes_the_value_is_clamped() -> None:
    p = _param([(20, 5.0), (60, 9.0)])
    assert p.at(0) == 5.0
    assert p.at(-10) == 5.0
    assert p.at(100) == 9.0
    assert _param([(40, 7.0)]).at(0) == _param([(40, 7.0)]).at(100) == 7.0


def test_two_keyframes_at_one_intensity_make_a_jump() -> None:
    p = _param([(0, 0.0), (50, 1.0), (50, 10.0), (100, 11.0)])
    assert p.at(49.999) == pytest.approx(1.0, abs=1e-3)
    assert p.at(50) == 10.0
    assert p.at(75) == pytest.approx(10.5)


_keyframe_lists = st.lists(st.tuples(st.floats(0, 100), st.floats(-1e3, 1e3)), min_size=1, max_size=8).map(
    lambda pts: sorted(pts)
)


@given(
    points=_keyframe_lists,
    interpolation=st.sampled_from(["linear", "step"]),
    a=st.floats(-20, 120),
    b=st.floats(-20, 120),
)
def test_monotone_keyframes_give_monotone_values(
    points: list[tuple[float, float]], interpolation: str, a: float, b: float
) -> None:
    # Sort the values the same way as the intensities: a non-decreasing parameter.
    values = sorted(v for _, v in points)
    p = _param([(i, v) for (i, _), v in zip(points, values, strict=True)], interpolation)
    lo, hi = sorted((a, b))
    assert p.at(lo) <= p.at(hi) + 1e-9
    assert values[0] - 1e-9 <= p.at(lo) <= values[-1] + 1e-9


def test_values_at_applies_preset_overrides_and_audio_volume_follows_intensity() -> None:
    scene = load_scene(ROOT / "scenes" / "spiders.yaml")
    values = scene.values_at(12, "photo-near")
    assert values["nearest_distance_m"] == 0.8
    assert values["spider_count"] == 0
    assert scene.values_at(96)["spider_count"] == 12
    scuttle = scene.audio["scuttle"]
    assert scuttle.volume_at(0) == 0.0
    assert scuttle.volume_at(100) == pytest.approx(0.9)
    assert scene.audio["room-tone"].volume_at(50) == 0.25
    assert AudioCue(source="x", volume=1).volume_at(30) == 1


# ------------------------------------------------------------------------------------------------
# The shipped content


def test_the_shipped_content_validates_clean() -> None:
    library = load_library()
    assert library.problems == []
    spiders = library.scene("spiders")
    assert spiders.condition == "arachnophobia" and spiders.builder == "spiders"
    assert len(spiders.presets) == 12
    assert {e: spiders.events[e].hotkey for e in spiders.events} == {
        "walk-toward": "w",
        "drop-from-ceiling": "d",
        "scatter": "s",
    }
    assert spiders.events["drop-from-ceiling"].delay_jitter_s > 0
    assert set(spiders.audio) == {"scuttle", "room-tone"}
    assert library.scene("safe-place").condition == "relaxation"
    assert "calm" in library.scene("safe-place").presets
    graded = library.protocol("spiders-graded")
    assert graded.scene == "spiders" and len(graded.ladder) == 12
    suds = [r.expected_suds for r in graded.ladder]
    assert suds == sorted(suds) and suds[0] == 10 and suds[-1] == 85
    assert [spiders.presets[r.preset].intensity for r in graded.ladder] == sorted(
        spiders.presets[r.preset].intensity for r in graded.ladder
    )
    assert graded.suds.probe_interval_s == 300 and graded.session.length_s == 3600
    assert graded.rules.up.reduction_from_peak == 0.5 and graded.rules.down.ceiling == 90


def test_specs_are_immutable() -> None:
    scene = load_scene(ROOT / "scenes" / "safe-place.yaml")
    with pytest.raises(AttributeError):
        scene.title = "x"  # type: ignore[misc]
    assert isinstance(scene, SceneSpec)
    assert isinstance(load_protocol(ROOT / "protocols" / "spiders-graded.yaml"), ProtocolSpec)


def test_default_content_dirs_find_the_checkout_and_honour_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VR_EXPOSURE_CONTENT", raising=False)
    dirs = default_content_dirs()
    assert dirs.scenes[0].resolve() == (ROOT / "scenes").resolve()
    assert dirs.protocols[0].resolve() == (ROOT / "protocols").resolve()
    monkeypatch.setenv("VR_EXPOSURE_CONTENT", str(tmp_path))
    assert default_content_dirs().scenes == (tmp_path / "scenes",)


def test_the_installed_package_carries_the_content(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Outside a checkout (no pyproject.toml beside the package) the package's own copy is used.
    monkeypatch.delenv("VR_EXPOSURE_CONTENT", raising=False)
    fake_package = tmp_path / "site-packages" / "vr_exposure"
    monkeypatch.setattr(loading, "_package_dir", lambda: fake_package)
    assert default_content_dirs().scenes == (fake_package / "content" / "scenes",)
    shipped = ROOT / "vr_exposure" / "content"
    assert {p.name for p in (shipped / "scenes").glob("*.yaml")} == {
        p.name for p in (ROOT / "scenes").glob("*.yaml")
    }
    assert (shipped / "protocols" / "spiders-graded.yaml").is_file()


# ------------------------------------------------------------------------------------------------
# Bad input: every problem, as file:line: field: message


def _problems(path: Path, kind: loading.Kind | None = None) -> list[str]:
    return [str(p) for p in check_file(path, kind)]


GOOD_SCENE = """
    id: jar
    title: A jar
    condition: arachnophobia
    builder: spiders
    parameters:
      floor:
        unit: m
        keyframes:
          - {intensity: 0, value: 1}
          - {intensity: 50, value: 2}
    presets:
      near: {intensity: 30}
    events:
      tap: {title: Tap the jar, hotkey: t, cue: hum}
    audio:
      hum: {source: hum}
"""


def test_a_good_scene_has_no_problems(in_tmp: Path) -> None:
    assert _problems(write_file(in_tmp / "jar.yaml", GOOD_SCENE)) == []


def _write_changed(path: Path, good: str, replace: str, by: str) -> Path:
    """``good`` with the first ``replace`` (which must be there) replaced by ``by``, written to ``path``."""
    text = textwrap.dedent(good).lstrip("\n")
    assert replace in text
    return write_file(path, text.replace(replace, by, 1))


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            "- {intensity: 50, value: 2}",
            "- {intensity: 120, value: 2}",
            "jar.yaml:10: parameters.floor.keyframes[1].intensity: 120 is outside 0-100",
        ),
        (
            "- {intensity: 50, value: 2}",
            "- {intensity: -5, value: 2}",
            "jar.yaml:10: parameters.floor.keyframes[1].intensity: -5 is outside 0-100",
        ),
        (
            "- {intensity: 0, value: 1}",
            "- {intensity: 70, value: 1}",
            "jar.yaml:10: parameters.floor.keyframes[1].intensity: 50 is below the previous keyframe's 70; "
            "keyframes must be sorted by intensity",
        ),
        (
            "- {intensity: 50, value: 2}",
            "- {intensity: fifty, value: 2}",
            'jar.yaml:10: parameters.floor.keyframes[1].intensity: expected a number, got "fifty" (text)',
        ),
        (
            "- {intensity: 50, value: 2}",
            "- {intensity: 50, value: 2, ease: in}",
            "jar.yaml:10: parameters.floor.keyframes[1].ease: unknown key (allowed keys: intensity, value)",
        ),
        (
            "- {intensity: 50, value: 2}",
            "- {intensity: 50}",
            'jar.yaml:10: parameters.floor.keyframes[1]: missing required key "value"',
        ),
        (
            "near: {intensity: 30}",
            "near: {intensity: 120}",
            "jar.yaml:12: presets.near.intensity: 120 is outside 0-100",
        ),
        (
            "near: {intensity: 30}",
            "near: {intensty: 30}",
            'jar.yaml:12: presets.near.intensty: unknown key; did you mean "intensity"?',
        ),
        (
            "near: {intensity: 30}",
            "near: {intensity: 30, overrides: {flor: 2}}",
            'jar.yaml:12: presets.near.overrides.flor: no parameter "flor" in this scene; did you mean "floor"?',
        ),
        (
            "near: {intensity: 30}",
            "Near: {intensity: 30}",
            'jar.yaml:12: presets.Near: preset name "Near" is not kebab-case (lower-case letters and digits joined '
            'by single hyphens, e.g. "spider-on-desk")',
        ),
        (
            "hotkey: t, cue: hum",
            "hotkey: 1, cue: hum",
            "jar.yaml:14: events.tap.hotkey: expected text, got 1 (an integer); put it in quotes to make it text",
        ),
        (
            "cue: hum}",
            "cue: hmm}",
            'jar.yaml:14: events.tap.cue: no audio cue "hmm" in this scene; did you mean "hum"?',
        ),
        (
            "{title: Tap the jar,",
            "{title: Tap the jar, delay_s: -1,",
            "jar.yaml:14: events.tap.delay_s: -1 must be zero or more",
        ),
        (
            "hum: {source: hum}",
            "hum: {source: hum, volume: 1.5}",
            "jar.yaml:16: audio.hum.volume: 1.5 is outside 0-1",
        ),
        (
            "hum: {source: hum}",
            "hum: {source: hum, volume: .nan}",
            "jar.yaml:16: audio.hum.volume: nan is not a finite number",
        ),
        (
            "hum: {source: hum}",
            "hum: {source: hum, attach_to: near}",
            'jar.yaml:16: audio.hum.attach_to: "near" names an audio cue, preset or event; attach_to names a node the '
            "scene's builder creates",
        ),
        (
            "hum: {source: hum}",
            "hum: {source: hum, attach_to: jar-lid, position_m: [0, 1, 2]}",
            "jar.yaml:16: audio.hum.attach_to: give either position_m or attach_to, not both",
        ),
        (
            "hum: {source: hum}",
            "hum: {source: hum, position_m: [0, 1]}",
            "jar.yaml:16: audio.hum.position_m: expected a list of 3 values, got a list with 2",
        ),
        (
            "condition: arachnophobia",
            "condition: spiders",
            'jar.yaml:3: condition: expected one of "acrophobia", "arachnophobia", "aviophobia", "claustrophobia", '
            '"cynophobia", "glossophobia", "ptsd", "relaxation", got "spiders" (text)',
        ),
        (
            "id: jar",
            "id: jar-2",
            'jar.yaml:1: id: scene id "jar-2" does not match the file name "jar.yaml" (rename '
            'the file to "jar-2.yaml" or change the id)',
        ),
        ("title: A jar\n", "", 'jar.yaml:1: missing required key "title"'),
        (
            "    keyframes:\n      - {intensity: 0, value: 1}\n      - {intensity: 50, value: 2}\n",
            "    keyframes: []\n",
            "jar.yaml:8: parameters.floor.keyframes: needs at least one keyframe",
        ),
        (
            "  tap: {title: Tap the jar, hotkey: t, cue: hum}\n",
            "",
            "jar.yaml:13: events: expected a mapping of names, got nothing (null); leave the key out or write {}",
        ),
        (
            "builder: spiders",
            "builder: spiders\nbuilder: heights",
            "jar.yaml:5: builder: duplicate key (first at line 4); YAML would keep only the last",
        ),
    ],
)
def test_each_problem_names_file_line_and_field(in_tmp: Path, replace: str, by: str, expected: str) -> None:
    assert _problems(_write_changed(in_tmp / "jar.yaml", GOOD_SCENE, replace, by)) == [expected]


def test_every_problem_in_a_file_is_reported_in_line_order(in_tmp: Path) -> None:
    path = write_file(
        in_tmp / "many.yaml",
        """
        id: many
        title: 7
        condition: arachnophobia
        builder: spiders
        parameters:
          floor:
            keyframes:
              - {intensity: 0, value: 1}
              - {intensity: 120, value: 3}
            interpolaton: step
        presets:
          far: {intensity: high}
          near: {intensity: 30, overrides: {flor: 1}}
          near: {intensity: 40}
        events:
          bang: {title: Bang, hotkey: "?", cue: nope}
        colour: red
        """,
    )
    assert _problems(path) == [
        "many.yaml:2: title: expected text, got 7 (an integer); put it in quotes to make it text",
        "many.yaml:9: parameters.floor.keyframes[1].intensity: 120 is outside 0-100",
        'many.yaml:10: parameters.floor.interpolaton: unknown key; did you mean "interpolation"?',
        'many.yaml:12: presets.far.intensity: expected a number, got "high" (text)',
        'many.yaml:13: presets.near.overrides.flor: no parameter "flor" in this scene; did you mean "floor"?',
        "many.yaml:14: presets.near: duplicate key (first at line 13); YAML would keep only the last",
        'many.yaml:16: events.bang.hotkey: "?" is not a hotkey: use one lower-case letter or f1-f12 (digits are SUDS keys)',
        'many.yaml:16: events.bang.cue: no audio cue "nope" in this scene (none are defined)',
        "many.yaml:17: colour: unknown key (allowed keys: audio, builder, condition, description, events, id, "
        "parameters, presets, seated, title)",
    ]
    with pytest.raises(SpecError) as info:
        load_scene(path)
    assert [str(p) for p in info.value.problems] == _problems(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "bad.yaml:1: file is empty: expected a YAML mapping with a scene or protocol"),
        (b"  \n\n", "bad.yaml:1: file is empty: expected a YAML mapping with a scene or protocol"),
        (b"# only a comment\n", "bad.yaml:1: file has no content (only comments): expected a YAML mapping"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "bad.yaml:3: not a text file (it contains NUL bytes): expected a YAML scene or protocol",
        ),
        (
            b"id: bad\ntitle: Caf\xe9\n",
            "bad.yaml:2: not UTF-8 text (byte 0xe9 cannot be decoded); save the file as UTF-8",
        ),
        (
            b"id: bad\ntitle: [a, b\ncondition: relaxation\n",
            "bad.yaml:3: YAML syntax error: expected ',' or ']', but got ':' (while parsing a flow sequence that "
            "starts at line 2)",
        ),
        (b"id: bad\n  title: x\n", "bad.yaml:2: YAML syntax error: mapping values are not allowed here"),
        (
            b"id: bad\ntitle: \x07\n",
            "bad.yaml:2: YAML syntax error: control character U+0007 is not allowed in a YAML file",
        ),
        (
            b"id: a\n---\nid: b\n",
            "bad.yaml:2: a second YAML document starts here ('---'); a file holds one scene or protocol",
        ),
        (
            b"id: bad\n\ttitle: x\n",
            "bad.yaml:2: YAML syntax error: found character '\\t' that cannot start any token; YAML indents with "
            "spaces, not tabs (while scanning for the next token)",
        ),
        (
            b"- 1\n- 2\n",
            "bad.yaml:1: the top level is a list; expected a mapping of keys (id, title, ...) describing "
            "a scene",
        ),
        (
            b"just words\n",
            'bad.yaml:1: the top level is "just words" (text); expected a mapping of keys (id, title, '
            "...) describing a scene",
        ),
        (
            b"id: bad\ntitle: !!python/object:os.system x\n",
            "bad.yaml:2: YAML syntax error: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object:os.system'",
        ),
    ],
)
def test_unreadable_files_are_one_clear_problem(in_tmp: Path, content: bytes, expected: str) -> None:
    path = write_file(in_tmp / "bad.yaml", content)
    assert _problems(path, "scene") == [expected]
    with pytest.raises(SpecError) as info:
        load_scene(path)
    assert str(info.value) == expected


def test_yaml_tricks_are_refused_without_a_traceback(in_tmp: Path) -> None:
    merge = write_file(in_tmp / "merge.yaml", "base: &b {intensity: 1}\n<<: *b\n")
    assert "merge.yaml:2: YAML merge keys (<<) are not supported: write the keys out" in _problems(merge)
    recursive = write_file(in_tmp / "rec.yaml", "id: rec\ntitle: &t [*t]\n")
    assert "rec.yaml:2: title[0]: recursive YAML alias (a node that contains itself)" in _problems(recursive)
    keys = write_file(in_tmp / "keys.yaml", "id: keys\n? [a, b]\n: 1\n3: x\n")
    assert [p for p in _problems(keys) if "key must be text" in p] == [
        "keys.yaml:2: a key must be text, got a mapping or list",
        "keys.yaml:4: a key must be text, got 3 (an integer)",
    ]
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    assert _problems(write_file(in_tmp / "laughs.yaml", laughs)) == [
        "laughs.yaml:1: file expands to more than 200000 YAML nodes (aliases?); not loaded"
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda s: s.encode("utf-8"))))
def test_no_input_raises_anything_but_problems(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    for problem in check_file(path):
        assert re.match(r"^.*fuzz\.yaml(:\d+)?: ", str(problem))


def test_a_mutated_real_scene_never_raises(tmp_path: Path) -> None:
    # Cut the real scene at every 40th character: every prefix is either valid or a list of problems.
    text = (ROOT / "scenes" / "spiders.yaml").read_text(encoding="utf-8")
    for cut in range(0, len(text), 40):
        path = tmp_path / "spiders.yaml"
        path.write_text(text[:cut], encoding="utf-8")
        for problem in check_file(path):
            assert str(problem).startswith(str(path) + ":") or str(problem).startswith("spiders.yaml:")


# ------------------------------------------------------------------------------------------------
# Protocols and the cross-file checks

GOOD_PROTOCOL = """
    id: brief
    title: Brief
    scene: spiders
    ladder:
      - {preset: photo-far, expected_suds: 10}
      - {preset: jar-far, expected_suds: 30}
    suds: {probe_interval_s: 300, scale_max: 100}
    rules:
      up: {reduction_from_peak: 0.5, time_cap_s: 1800}
      down: {ceiling: 90}
    safe_place: {scene: safe-place, preset: calm}
"""


def _shipped_scenes() -> dict[str, SceneSpec]:
    return load_library().scenes


def _library_problems(*paths: Path) -> list[str]:
    library = build_library([(p, None) for p in paths], reference_scenes=_shipped_scenes())
    return [str(p) for p in library.problems]


def test_a_short_ladder_is_only_a_warning(in_tmp: Path) -> None:
    path = write_file(in_tmp / "protocols/brief.yaml", GOOD_PROTOCOL)
    assert _library_problems(path) == [
        "protocols/brief.yaml:4: ladder: warning: only 2 rungs; a fear ladder usually has 10-15"
    ]
    assert load_protocol(path).ladder[1].preset == "jar-far"


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            "preset: jar-far",
            "preset: jar-farr",
            'protocols/brief.yaml:6: ladder[1].preset: scene "spiders" has no preset "jar-farr"; did you mean "jar-far"?',
        ),
        (
            "scene: spiders",
            "scene: spidrs",
            'protocols/brief.yaml:3: scene: no scene "spidrs"; did you mean "spiders"?',
        ),
        (
            "expected_suds: 30",
            "expected_suds: 130",
            "protocols/brief.yaml:6: ladder[1].expected_suds: 130 is outside 0-100",
        ),
        (
            "scale_max: 100}",
            "scale_max: 10}",
            "protocols/brief.yaml:6: ladder[1].expected_suds: 30 is outside 0-10",
        ),
        (
            "reduction_from_peak: 0.5",
            "reduction_from_peak: 50",
            "protocols/brief.yaml:9: rules.up.reduction_from_peak: 50 is outside 0-1",
        ),
        ("ceiling: 90", "ceiling: 900", "protocols/brief.yaml:10: rules.down.ceiling: 900 is outside 0-100"),
        (
            "probe_interval_s: 300",
            "probe_interval_s: -300",
            "protocols/brief.yaml:7: suds.probe_interval_s: -300 must be more than zero",
        ),
        (
            "preset: calm}",
            "preset: stormy}",
            'protocols/brief.yaml:11: safe_place.preset: scene "safe-place" has no preset "stormy" (known: calm, dusk)',
        ),
        (
            "{scene: safe-place,",
            "{scene: beach,",
            'protocols/brief.yaml:11: safe_place.scene: no scene "beach" for the safe place '
            f"(known: {', '.join(sorted(p.stem for p in (ROOT / 'scenes').glob('*.yaml')))})",
        ),
        (
            "safe_place: {",
            "safe_place: {on_link_lost: panic, ",
            'protocols/brief.yaml:11: safe_place.on_link_lost: expected one of "hold", "safe_place", got "panic" (text)',
        ),
        (
            "ladder:\n  - {preset: photo-far, expected_suds: 10}\n  - {preset: jar-far, expected_suds: 30}\n",
            "ladder: []\n",
            "protocols/brief.yaml:4: ladder: needs at least one rung",
        ),
    ],
)
def test_protocol_problems(in_tmp: Path, replace: str, by: str, expected: str) -> None:
    path = _write_changed(in_tmp / "protocols/brief.yaml", GOOD_PROTOCOL, replace, by)
    problems = [p for p in _library_problems(path) if "warning:" not in p]
    assert problems == [expected]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (
            "[{event: scater, every_s: [20, 60]}]",
            'protocols/brief.yaml:6: ladder[1].schedule[0].event: scene "spiders" has no event "scater"; '
            'did you mean "scatter"?',
        ),
        (
            "[{event: scatter, every_s: [60, 20]}]",
            "protocols/brief.yaml:6: ladder[1].schedule[0].every_s: 60 s is more than 20 s; "
            "write [shortest, longest]",
        ),
        (
            "[{event: scatter, every_s: [20, 60], at_s: 5}]",
            'protocols/brief.yaml:6: ladder[1].schedule[0]: give exactly one of "every_s" (repeats) and '
            '"at_s" (one firing)',
        ),
        (
            "[{event: scatter, at_s: 240, strength: 1.5}]",
            "protocols/brief.yaml:6: ladder[1].schedule[0].strength: 1.5 is outside 0-1",
        ),
        (
            "[{event: scatter, every_s: [20]}]",
            "protocols/brief.yaml:6: ladder[1].schedule[0].every_s: expected a list of 2 values, got a list with 1",
        ),
        (
            "[{event: scatter, evry_s: [20, 60]}]",
            'protocols/brief.yaml:6: ladder[1].schedule[0].evry_s: unknown key; did you mean "every_s"?',
        ),
    ],
)
def test_rung_schedule_problems(in_tmp: Path, schedule: str, expected: str) -> None:
    text = textwrap.dedent(GOOD_PROTOCOL).replace(
        "- {preset: jar-far, expected_suds: 30}",
        f"- {{preset: jar-far, expected_suds: 30, schedule: {schedule}}}",
    )
    path = write_file(in_tmp / "protocols/brief.yaml", text)
    problems = [p for p in _library_problems(path) if "warning:" not in p]
    assert len(problems) == 1 and problems[0] == expected, problems


def test_a_rung_schedule_loads_typed(in_tmp: Path) -> None:
    text = textwrap.dedent(GOOD_PROTOCOL).replace(
        "- {preset: jar-far, expected_suds: 30}",
        "- {preset: jar-far, expected_suds: 30, schedule: "
        "[{event: scatter, every_s: [20, 60]}, {event: walk-toward, at_s: 240, strength: 0.8}]}",
    )
    path = write_file(in_tmp / "protocols/brief.yaml", text)
    assert [p for p in _library_problems(path) if "warning:" not in p] == []
    rung = load_protocol(path).ladder[1]
    assert [(s.event, s.every_s, s.at_s, s.strength) for s in rung.schedule] == [
        ("scatter", (20.0, 60.0), None, 1.0),
        ("walk-toward", None, 240.0, 0.8),
    ]


def test_a_library_holds_only_what_loaded_cleanly(in_tmp: Path) -> None:
    scenes = in_tmp / "scenes"
    protocols = in_tmp / "protocols"
    write_file(in_tmp / "scenes/jar.yaml", GOOD_SCENE)
    write_file(in_tmp / "scenes/broken.yaml", "id: broken\n")
    write_file(
        in_tmp / "protocols/uses-jar.yaml",
        """
        id: uses-jar
        title: Uses the jar
        scene: jar
        ladder: [{preset: near, expected_suds: 20}, {preset: far, expected_suds: 40}]
        safe_place: {scene: jar}
    """,
    )
    library = load_library([scenes], [protocols], raise_on_error=False)
    assert set(library.scenes) == {"jar"}
    assert library.protocols == {}
    assert [str(p) for p in library.errors] == [
        'scenes/broken.yaml:1: missing required key "title"',
        'scenes/broken.yaml:1: missing required key "condition"',
        'scenes/broken.yaml:1: missing required key "builder"',
        'protocols/uses-jar.yaml:4: ladder[1].preset: scene "jar" has no preset "far" (known: near)',
    ]
    with pytest.raises(SpecError) as info:
        load_library([scenes], [protocols])
    assert len(info.value.problems) == 4
    with pytest.raises(SpecError, match='no scene "jr"; did you mean "jar"'):
        library.scene("jr")


def test_two_files_with_one_id_are_an_error(in_tmp: Path) -> None:
    a = write_file(in_tmp / "a/jar.yaml", GOOD_SCENE)
    b = write_file(in_tmp / "b/jar.yaml", GOOD_SCENE)
    library = build_library([(a, "scene"), (b, "scene")])
    assert [str(p) for p in library.problems] == [
        'b/jar.yaml:1: id: scene id "jar" is also used by a/jar.yaml'
    ]
    assert library.paths[("scene", "jar")] == a


# ------------------------------------------------------------------------------------------------
# The documentation's examples are real files


def _doc_example(doc: str) -> str:
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    match = re.search(r"## Complete example.*?```yaml\n(.*?)```", text, re.S)
    assert match, f"docs/{doc} has no '## Complete example' with a yaml block"
    return match.group(1)


def test_the_scene_format_example_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vr_exposure.renderer.builders import PACKAGES_ENV, contracts

    example = _doc_example("scene-format.md")
    # It is the toy scene's YAML, word for word, and keeps the toy package's contract.
    toy = ROOT / "tests" / "scene_packages" / "content" / "scenes" / "toy-cubes.yaml"
    assert example == toy.read_text(encoding="utf-8")
    scene_id = re.search(r"^id: (\S+)", example, re.M)
    assert scene_id
    path = tmp_path / f"{scene_id.group(1)}.yaml"
    path.write_text(example, encoding="utf-8")
    monkeypatch.setenv(PACKAGES_ENV, "tests.scene_packages")
    assert check_file(path, "scene", contracts=contracts()) == []
    scene = load_scene(path)
    # The example shows every field.
    assert scene.parameters and scene.presets and scene.events and scene.audio
    assert any(p.interpolation == "step" for p in scene.parameters.values())
    assert any(isinstance(a.volume, Parameter) for a in scene.audio.values())
    assert any(p.overrides for p in scene.presets.values())
    assert any(e.delay_jitter_s > 0 for e in scene.events.values())


def test_the_protocol_format_example_validates(tmp_path: Path) -> None:
    example = _doc_example("protocol-format.md")
    protocol_id = re.search(r"^id: (\S+)", example, re.M)
    assert protocol_id
    path = tmp_path / "protocols" / f"{protocol_id.group(1)}.yaml"
    path.parent.mkdir()
    path.write_text(example, encoding="utf-8")
    library = build_library([(path, None)], reference_scenes=_shipped_scenes())
    assert library.problems == []
    protocol = library.protocol(protocol_id.group(1))
    assert len(protocol.ladder) >= 10
    for key in ("suds", "rules", "session", "safe_place", "questionnaires"):
        assert re.search(rf"^{key}:", example, re.M), f"the example leaves out {key}"


def test_keyframe_and_preset_types_are_reexported() -> None:
    from vr_exposure import core

    assert core.load_scene is load_scene and core.SceneSpec is SceneSpec
    assert Keyframe(intensity=1, value=2).value == 2 and Preset(intensity=3).overrides == {}
