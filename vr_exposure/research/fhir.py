"""Sessions as HL7 FHIR R4 Bundles, for an electronic health record (``vr-exposure export --format fhir``).

One Bundle (``type: collection``) per session, written as ``<session_id>.fhir.json``:

* **Patient**: the pseudonym as an identifier (system ``urn:vr-exposure:pseudonym``), nothing else: no
  name, no birth date, no address. The EHR links it to the person; this tool never knows who it is.
* **Encounter**: the session (identifier: the session id; period: journal start to end; class AMB).
* **Procedure**: the exposure (code: the protocol, with its title; performed period: exposure start to
  end; ``note``: the notes the therapist wrote, the only free text in the Bundle).
* **Observation** per SUDS rating (category ``survey``): value 0-100 (``{score}``), the time it was given
  (``effectiveDateTime``, UTC to the millisecond), the rung it was given on and who gave it.
* **QuestionnaireResponse** per SSQ (before, after): the 16 item answers (0-3) and the weighted
  Nausea, Oculomotor, Disorientation and Total scores.
* **DocumentReference**: the session's HTML report (:mod:`.report`), base64 in the attachment, written
  without the clinician's name.

Codes are this software's own (``urn:vr-exposure:*`` systems) where no standard code is certain
(there is no LOINC code for SUDS); the HL7 terminology is used for the Observation category and the
Encounter class. Ids are UUIDs derived from the session id, so exporting a session twice gives the
same Bundle. The tool writes files; it sends nothing anywhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vr_exposure import __version__
from vr_exposure.core.loading import ContentLibrary
from vr_exposure.core.ssq import SSQ_ITEMS
from vr_exposure.research.timeline import SessionTimeline

FHIR_VERSION = "4.0.1"
PSEUDONYM_SYSTEM = "urn:vr-exposure:pseudonym"
SESSION_SYSTEM = "urn:vr-exposure:session"
PROTOCOL_SYSTEM = "urn:vr-exposure:protocol"
MEASURE_SYSTEM = "urn:vr-exposure:measure"
SSQ_QUESTIONNAIRE = "urn:vr-exposure:questionnaire:ssq"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_NAMESPACE = uuid.UUID("6b3f2f0e-6c1a-4d0e-9a57-2f1f3c1d7e11")


def fhir_instant(utc_ns: int) -> str:
    """``2026-12-01T22:44:53.951Z``: a FHIR instant / dateTime in UTC, to the millisecond."""
    t = dt.datetime.fromtimestamp(utc_ns // 1_000_000 / 1000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(utc_ns // 1_000_000) % 1000:03d}Z"


def _id(session_id: str, local: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{session_id}/{local}"))


def _ref(resource: dict[str, Any]) -> dict[str, str]:
    return {"reference": f"urn:uuid:{resource['id']}"}


def session_bundle(
    tl: SessionTimeline, *, library: ContentLibrary | None = None, report_html: str | None = None
) -> dict[str, Any]:
    """The FHIR R4 Bundle of one session, as JSON-ready data."""
    sid = tl.session_id
    protocol = None if library is None or tl.protocol_id is None else library.protocols.get(tl.protocol_id)

    def utc(t_mono_ns: int) -> str | None:
        u = tl.utc_ns(t_mono_ns)
        return None if u is None else fhir_instant(u)

    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": _id(sid, "patient"),
        "identifier": [{"system": PSEUDONYM_SYSTEM, "value": tl.pseudonym}],
    }
    start, end = utc(tl.origin_mono_ns), utc(tl.end_mono_ns)
    ended = tl.session_ended_mono_ns is not None
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": _id(sid, "encounter"),
        "identifier": [{"system": SESSION_SYSTEM, "value": sid}],
        "status": "finished" if ended else "unknown",
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "type": [{"text": "Virtual reality exposure therapy session"}],
        "subject": _ref(patient),
        "period": {k: v for k, v in (("start", start), ("end", end)) if v is not None},
    }
    exposure_start = None if tl.session_started_mono_ns is None else utc(tl.session_started_mono_ns)
    exposure_end = utc(tl.session_ended_mono_ns or tl.end_mono_ns)
    procedure: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": _id(sid, "procedure"),
        "status": "completed" if ended else ("in-progress" if exposure_start else "not-done"),
        "code": {
            "coding": [
                {
                    "system": PROTOCOL_SYSTEM,
                    "code": tl.protocol_id or "free-session",
                    **({"display": protocol.title} if protocol is not None else {}),
                }
            ],
            "text": "Virtual reality exposure therapy"
            + (f": {protocol.title}" if protocol is not None else ""),
        },
        "subject": _ref(patient),
        "encounter": _ref(encounter),
    }
    if exposure_start is not None:
        procedure["performedPeriod"] = {
            "start": exposure_start,
            **({"end": exposure_end} if exposure_end else {}),
        }
    notes = [
        {"time": utc(n.t_mono_ns), "text": str(n.content.get("text", ""))}
        for n in tl.notes
        if str(n.content.get("text", "")).strip()
    ]
    if notes:
        procedure["note"] = [{k: v for k, v in note.items() if v is not None} for note in notes]
    resources: list[dict[str, Any]] = [patient, encounter, procedure]
    for i, r in enumerate(tl.ratings, start=1):
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": _id(sid, f"suds-{i}"),
            "status": "final",
            "category": [
                {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
            ],
            "code": {
                "coding": [
                    {"system": MEASURE_SYSTEM, "code": "suds", "display": "Subjective Units of Distress"}
                ],
                "text": "SUDS (0-100)",
            },
            "subject": _ref(patient),
            "encounter": _ref(encounter),
            "partOf": [_ref(procedure)],
            "valueQuantity": {"value": r.value, "unit": "{score}", "system": UCUM, "code": "{score}"},
            "method": {"coding": [{"system": f"{MEASURE_SYSTEM}:suds-source", "code": r.source}]},
            "component": [
                {
                    "code": {"coding": [{"system": MEASURE_SYSTEM, "code": "during-exposure"}]},
                    "valueBoolean": r.during_exposure,
                }
            ],
        }
        when = utc(r.t_mono_ns)
        if when is not None:
            obs["effectiveDateTime"] = when
        if r.scale_max != 100:
            obs["component"].append(
                {
                    "code": {"coding": [{"system": MEASURE_SYSTEM, "code": "suds-as-given"}]},
                    "valueQuantity": {"value": r.raw, "unit": f"of {r.scale_max}"},
                }
            )
        if r.rung is not None:
            obs["component"].append(
                {
                    "code": {"coding": [{"system": MEASURE_SYSTEM, "code": "ladder-rung"}]},
                    "valueInteger": r.rung + 1,
                }
            )
        resources.append(obs)
    for record in tl.ssq:
        score = record.score
        items: list[dict[str, Any]] = [
            {
                "linkId": "phase",
                "text": "When",
                "answer": [{"valueCoding": {"system": f"{SSQ_QUESTIONNAIRE}:phase", "code": record.phase}}],
            }
        ]
        items += [
            {"linkId": str(n), "text": name, "answer": [{"valueInteger": value}]}
            for n, (name, value) in enumerate(zip(SSQ_ITEMS, score.items, strict=True), start=1)
        ]
        items += [
            {
                "linkId": key,
                "text": key.capitalize() + " score",
                "answer": [{"valueDecimal": round(getattr(score, key), 2)}],
            }
            for key in ("nausea", "oculomotor", "disorientation", "total")
        ]
        qr: dict[str, Any] = {
            "resourceType": "QuestionnaireResponse",
            "id": _id(sid, f"ssq-{record.phase}"),
            "questionnaire": SSQ_QUESTIONNAIRE,
            "status": "completed",
            "subject": _ref(patient),
            "encounter": _ref(encounter),
            "item": items,
        }
        authored = utc(record.t_mono_ns)
        if authored is not None:
            qr["authored"] = authored
        resources.append(qr)
    if report_html is not None:
        resources.append(
            {
                "resourceType": "DocumentReference",
                "id": _id(sid, "report"),
                "status": "current",
                "type": {"text": "VR exposure therapy session report"},
                "subject": _ref(patient),
                **({"date": end} if end else {}),
                "description": f"Session report written by vr-exposure {__version__}",
                "content": [
                    {
                        "attachment": {
                            "contentType": "text/html",
                            "data": base64.b64encode(report_html.encode("utf-8")).decode("ascii"),
                            "title": f"vr-exposure report {sid}",
                        }
                    }
                ],
                "context": {"encounter": [_ref(encounter)]},
            }
        )
    return {
        "resourceType": "Bundle",
        "id": _id(sid, "bundle"),
        "identifier": {"system": SESSION_SYSTEM, "value": sid},
        "type": "collection",
        **({"timestamp": end} if end else {}),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def export_fhir(
    timelines: Sequence[SessionTimeline], out: Path, *, library: ContentLibrary | None = None
) -> list[Path]:
    """One ``<session_id>.fhir.json`` Bundle per session in directory ``out``."""
    from vr_exposure.research.report import build_report, load_protocols

    if library is None:
        library = load_protocols()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for tl in timelines:
        html = build_report([tl], library=library, include_clinician=False)
        bundle = session_bundle(tl, library=library, report_html=html)
        path = out / f"{tl.session_id}.fhir.json"
        path.write_text(
            json.dumps(bundle, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
        )
        written.append(path)
    return written
