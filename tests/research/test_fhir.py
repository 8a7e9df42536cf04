"""``vr-exposure export --format fhir``: one FHIR R4 Bundle per session, validated with a FHIR model
library (fhir.resources: its R4B models, whose Patient, Encounter, Procedure, Observation,
QuestionnaireResponse, DocumentReference and Bundle are those of R4) and by round trip; the SUDS
Observations hold the journal's values and times."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vr_exposure.journal import read_session
from vr_exposure.research.synthetic import SyntheticPlan, write_synthetic_session

fhir_bundle = pytest.importorskip("fhir.resources.R4B.bundle", reason="fhir.resources is a dev dependency")


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    plan = SyntheticPlan(
        pseudonym="P314",
        duration_s=240.0,
        pose_rate_hz=20.0,
        probe_interval_s=15.0,
        missed_probes=(),
        clinician="Dr. Not In The Bundle",
        notes_at_s=((30.0, "Patient reports the photograph is easier than last week."),),
        seed=5,
    )
    return write_synthetic_session(tmp_path_factory.mktemp("fhir"), plan).session_dir


@pytest.fixture(scope="module")
def exported(session: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("fhir-out")
    result = subprocess.run(
        [sys.executable, "-m", "vr_exposure.cli", "export", str(session), "--format", "fhir", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    [path] = list(out.glob("*.fhir.json"))
    assert path.name == f"{session.name}.fhir.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _instant(utc_ns: int) -> str:
    ms = utc_ns // 1_000_000
    return (
        dt.datetime.fromtimestamp(ms // 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"
    )


_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def _same_instants(value: object) -> object:
    if isinstance(value, dict):
        return {k: _same_instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_same_instants(v) for v in value]
    if isinstance(value, str) and _INSTANT.fullmatch(value):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def test_the_bundle_validates_and_round_trips(exported: dict) -> None:
    bundle = fhir_bundle.Bundle.model_validate(exported)
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds[:3] == ["Patient", "Encounter", "Procedure"]
    assert {"Observation", "QuestionnaireResponse", "DocumentReference"} <= set(kinds)
    again = json.loads(bundle.model_dump_json(exclude_none=True))
    # Everything comes back; instants as the same instant (the library writes microseconds).
    assert _same_instants(again) == _same_instants(exported)
    # The library checks structure: a missing required element, a wrong type, an unknown element.
    for mutate in (
        lambda o: o.pop("code"),
        lambda o: o["valueQuantity"].update(value="high"),
        lambda o: o.update(valueSuds=3),
    ):
        broken = json.loads(json.dumps(exported))
        mutate(_resources(broken, "Observation")[0])
        with pytest.raises(ValueError):
            fhir_bundle.Bundle.model_validate(broken)
    # It does not check codes against value sets: the statuses are checked here, against R4's.
    statuses = {
        "Encounter": {"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled"}
        | {"entered-in-error", "unknown"},
        "Procedure": {"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed"}
        | {"entered-in-error", "unknown"},
        "Observation": {"registered", "preliminary", "final", "amended", "corrected", "cancelled"}
        | {"entered-in-error", "unknown"},
        "QuestionnaireResponse": {"in-progress", "completed", "amended", "entered-in-error", "stopped"},
        "DocumentReference": {"current", "superseded", "entered-in-error"},
    }
    for e in exported["entry"]:
        r = e["resource"]
        if r["resourceType"] in statuses:
            assert r["status"] in statuses[r["resourceType"]], r["resourceType"]
        assert e["fullUrl"] == f"urn:uuid:{r['id']}"


def test_the_patient_is_a_pseudonym_only(exported: dict) -> None:
    [patient] = _resources(exported, "Patient")
    assert set(patient) == {"resourceType", "id", "identifier"}
    assert patient["identifier"] == [{"system": "urn:vr-exposure:pseudonym", "value": "P314"}]
    text = json.dumps(exported)
    assert "Dr. Not In The Bundle" not in text
    [doc] = _resources(exported, "DocumentReference")
    html = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode("utf-8")
    assert "Dr. Not In The Bundle" not in html and "SUDS, intensity and events" in html
    # The only free text is the therapist's note.
    [procedure] = _resources(exported, "Procedure")
    assert [n["text"] for n in procedure["note"]] == [
        "Patient reports the photograph is easier than last week."
    ]


def test_suds_observations_equal_the_journal(session: Path, exported: dict) -> None:
    log = read_session(session)
    manifest = log.manifest
    assert manifest is not None
    pairs = [(manifest.created.mono_ns, manifest.created.utc_ns)]
    pairs += [
        (r.t_ns, r.content["utc_ns"])
        for r in log.records
        if r.msg_type in ("clock_pair", "journal_opened", "journal_closed") and "utc_ns" in r.content
    ]

    def utc(mono_ns: int) -> int:
        mono, u = min(pairs, key=lambda p: abs(p[0] - mono_ns))
        return u + mono_ns - mono

    journal = [
        r.content["rating"] for r in log.records if r.process == "console" and r.msg_type == "suds_recorded"
    ]
    observations = _resources(exported, "Observation")
    assert len(observations) == len(journal) > 3
    for obs, rating in zip(observations, journal, strict=True):
        assert obs["valueQuantity"]["value"] == rating["value"]
        assert obs["effectiveDateTime"] == _instant(utc(rating["t_mono_ns"]))
        assert obs["code"]["coding"][0]["code"] == "suds"
    # SSQ: the item answers and the scores as journaled.
    ssq = {r.content["phase"]: r.content for r in log.records if r.msg_type == "ssq"}
    responses = {
        qr["item"][0]["answer"][0]["valueCoding"]["code"]: qr
        for qr in _resources(exported, "QuestionnaireResponse")
    }
    assert set(responses) == set(ssq) == {"before", "after"}
    for phase, qr in responses.items():
        answers = {i["linkId"]: i["answer"][0] for i in qr["item"]}
        assert [answers[str(n)]["valueInteger"] for n in range(1, 17)] == ssq[phase]["items"]
        assert answers["total"]["valueDecimal"] == round(ssq[phase]["total"], 2)


def test_a_crashed_session_is_a_valid_bundle_that_says_it_did_not_finish(
    killed_session: Path, tmp_path: Path
) -> None:
    from vr_exposure.research.export import export
    from vr_exposure.research.timeline import load_timeline

    [path] = export([load_timeline(killed_session)], tmp_path, "fhir")
    data = json.loads(path.read_text(encoding="utf-8"))
    fhir_bundle.Bundle.model_validate(data)
    [encounter] = _resources(data, "Encounter")
    assert encounter["status"] == "unknown"  # no end was recorded: the EHR is not told it finished
    assert not _resources(data, "Observation")
