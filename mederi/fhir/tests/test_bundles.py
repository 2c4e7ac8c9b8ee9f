"""Batch and transaction Bundles posted to the base URL."""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest

from mederi.conftest import record_row_counts as row_counts
from mederi.fhir.models import Resource

BASE = "/fhir/R4"
MRN = "http://example.org/mrn"


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def patient(family="Bundle", mrn: str | None = None, **extra) -> dict:
    body = {"resourceType": "Patient", "name": [{"family": family}]}
    if mrn:
        body["identifier"] = [{"system": MRN, "value": mrn}]
    body.update(extra)
    return body


def observation(subject: str, value: float = 98.6) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
        "subject": {"reference": subject},
        "valueQuantity": {"value": value, "unit": "degF", "system": "http://unitsofmeasure.org", "code": "[degF]"},
    }


def post_entry(resource: dict, full_url: str | None = None, if_none_exist: str | None = None) -> dict:
    entry = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    if full_url:
        entry["fullUrl"] = full_url
    if if_none_exist:
        entry["request"]["ifNoneExist"] = if_none_exist
    return entry


def bundle(kind: str, *entries) -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def send(fhir, body, **headers):
    return fhir.post(f"{BASE}/", body, **headers)


def location_id(entry: dict) -> str:
    # "Patient/<id>/_history/<v>"
    return entry["response"]["location"].split("/")[1]


def outcome_text(response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return " | ".join(f"{i.get('diagnostics', '')} {i.get('expression', '')}" for i in body["issue"])


# --------------------------------------------------------------------------------------------
# transactions


def test_transaction_rewrites_urn_uuid_references(fhir):
    patient_url = urn()
    response = send(fhir, bundle(
        "transaction",
        post_entry(observation(patient_url), urn()),  # refers forward to the patient
        post_entry(patient(family="Linked"), patient_url),
    ))
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"] for e in result["entry"]] == ["201 Created", "201 Created"]
    obs_id, patient_id = location_id(result["entry"][0]), location_id(result["entry"][1])
    assert patient_id != patient_url.split(":")[-1]
    stored = fhir.get(f"{BASE}/Observation/{obs_id}").json()
    assert stored["subject"]["reference"] == f"Patient/{patient_id}"
    assert fhir.get(f"{BASE}/Patient/{patient_id}").json()["name"][0]["family"] == "Linked"
    found = fhir.get(f"{BASE}/Observation?subject=Patient/{patient_id}").json()
    assert found["total"] == 1


def test_transaction_response_carries_location_etag_and_resources_when_asked(fhir):
    response = send(fhir, bundle("transaction", post_entry(patient(family="Shown"))),
                    Prefer="return=representation")
    entry = response.json()["entry"][0]
    assert entry["response"]["etag"] == 'W/"1"'
    assert entry["response"]["location"].startswith("Patient/")
    assert entry["resource"]["name"][0]["family"] == "Shown"


def test_transaction_resolves_conditional_references(fhir):
    existing = fhir.create(patient(family="Known", mrn="C-100"))
    response = send(fhir, bundle(
        "transaction", post_entry(observation(f"Patient?identifier={MRN}|C-100")),
    ))
    assert response.status_code == 200, response.content
    obs_id = location_id(response.json()["entry"][0])
    stored = fhir.get(f"{BASE}/Observation/{obs_id}").json()
    assert stored["subject"]["reference"] == f"Patient/{existing['id']}"


def test_transaction_conditional_reference_matching_none_or_many_fails(fhir):
    fhir.create(patient(mrn="TWIN"))
    fhir.create(patient(mrn="TWIN"))
    for reference in (f"Patient?identifier={MRN}|TWIN", f"Patient?identifier={MRN}|NOBODY"):
        before = row_counts()
        response = send(fhir, bundle("transaction", post_entry(patient(family="Other")),
                                     post_entry(observation(reference))))
        assert response.status_code == 412, response.content
        assert "Bundle.entry[1]" in outcome_text(response)
        assert row_counts() == before


def test_transaction_conditional_create_does_not_duplicate(fhir):
    existing = fhir.create(patient(family="Already", mrn="E-1"))
    patient_url = urn()
    response = send(fhir, bundle(
        "transaction",
        post_entry(patient(family="Again", mrn="E-1"), patient_url, if_none_exist=f"identifier={MRN}|E-1"),
        post_entry(observation(patient_url)),
    ))
    assert response.status_code == 200, response.content
    entries = response.json()["entry"]
    assert entries[0]["response"]["status"] == "200 OK"
    assert location_id(entries[0]) == existing["id"]
    search = fhir.get(f"{BASE}/Patient?identifier={MRN}|E-1").json()
    assert search["total"] == 1
    assert search["entry"][0]["resource"]["name"][0]["family"] == "Already"
    obs = fhir.get(f"{BASE}/Observation/{location_id(entries[1])}").json()
    assert obs["subject"]["reference"] == f"Patient/{existing['id']}"


def test_transaction_conditional_create_that_matches_many_fails(fhir):
    fhir.create(patient(mrn="DUP"))
    fhir.create(patient(mrn="DUP"))
    before = row_counts()
    response = send(fhir, bundle("transaction", post_entry(patient(mrn="DUP"), if_none_exist=f"identifier={MRN}|DUP")))
    assert response.status_code == 412
    assert row_counts() == before


def test_transaction_is_all_or_nothing(fhir):
    fhir.create(patient(family="Before"))
    before = row_counts()
    response = send(fhir, bundle(
        "transaction",
        post_entry(patient(family="Fine")),
        post_entry(patient(family="Fine too")),
        post_entry(patient(family="Broken", gender="martian")),
    ))
    assert response.status_code == 400
    text = outcome_text(response)
    assert "Bundle.entry[2]" in text
    assert "gender" in text
    assert row_counts() == before
    assert fhir.get(f"{BASE}/Patient?family=Fine").json()["total"] == 0


def test_transaction_failing_late_rolls_back_earlier_deletes_and_updates(fhir):
    keep = fhir.create(patient(family="Keep"))
    change = fhir.create(patient(family="Change"))
    before = row_counts()
    response = send(fhir, bundle(
        "transaction",
        {"request": {"method": "DELETE", "url": f"Patient/{keep['id']}"}},
        {"resource": {**change, "gender": "female"}, "request": {"method": "PUT", "url": f"Patient/{change['id']}"}},
        {"resource": patient(), "request": {"method": "PUT", "url": "Patient/bad_id"}},
    ))
    assert response.status_code == 400
    assert "Bundle.entry[2]" in outcome_text(response)
    assert row_counts() == before
    assert fhir.get(f"{BASE}/Patient/{keep['id']}").status_code == 200
    assert "gender" not in fhir.get(f"{BASE}/Patient/{change['id']}").json()


def test_transaction_with_unknown_urn_reference_is_400(fhir):
    before = row_counts()
    missing = urn()
    response = send(fhir, bundle("transaction", post_entry(patient()), post_entry(observation(missing))))
    assert response.status_code == 400
    text = outcome_text(response)
    assert "Bundle.entry[1]" in text
    assert missing in text
    assert row_counts() == before


def test_transaction_writing_one_resource_twice_fails(fhir):
    created = fhir.create(patient(family="Twice"))
    before = row_counts()
    response = send(fhir, bundle(
        "transaction",
        {"resource": {**created, "gender": "female"}, "request": {"method": "PUT", "url": f"Patient/{created['id']}"}},
        {"resource": {**created, "gender": "male"}, "request": {"method": "PUT", "url": f"Patient/{created['id']}"}},
    ))
    assert response.status_code in (400, 409)
    assert "twice" in outcome_text(response)
    assert row_counts() == before
    deleted_and_put = send(fhir, bundle(
        "transaction",
        {"request": {"method": "DELETE", "url": f"Patient/{created['id']}"}},
        {"resource": {**created, "gender": "male"}, "request": {"method": "PUT", "url": f"Patient/{created['id']}"}},
    ))
    assert deleted_and_put.status_code in (400, 409)
    assert row_counts() == before


def test_transaction_with_put_and_delete_entries(fhir):
    doomed = fhir.create(patient(family="Doomed", mrn="X-9"))
    changed = fhir.create(patient(family="Changed"))
    response = send(fhir, bundle(
        "transaction",
        {"resource": patient(id="chosen-1", family="Chosen"), "request": {"method": "PUT", "url": "Patient/chosen-1"}},
        {"resource": {**changed, "gender": "female"}, "request": {"method": "PUT", "url": f"Patient/{changed['id']}"}},
        {"request": {"method": "DELETE", "url": f"Patient?identifier={MRN}|X-9"}},
    ))
    assert response.status_code == 200, response.content
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0] == "201 Created"
    assert statuses[1] == "200 OK"
    assert statuses[2].startswith("20")
    assert fhir.get(f"{BASE}/Patient/chosen-1").json()["name"][0]["family"] == "Chosen"
    assert fhir.get(f"{BASE}/Patient/{changed['id']}").json()["meta"]["versionId"] == "2"
    assert fhir.get(f"{BASE}/Patient/{doomed['id']}").status_code == 410


def test_transaction_conditional_put_entry(fhir):
    existing = fhir.create(patient(family="Cond", mrn="P-1"))
    response = send(fhir, bundle(
        "transaction",
        {"resource": patient(family="CondUpdated", mrn="P-1"), "request": {"method": "PUT", "url": f"Patient?identifier={MRN}|P-1"}},
        {"resource": patient(family="CondNew", mrn="P-2"), "request": {"method": "PUT", "url": f"Patient?identifier={MRN}|P-2"}},
    ))
    assert response.status_code == 200, response.content
    entries = response.json()["entry"]
    assert location_id(entries[0]) == existing["id"]
    assert entries[0]["response"]["status"] == "200 OK"
    assert entries[1]["response"]["status"] == "201 Created"
    assert fhir.get(f"{BASE}/Patient/{existing['id']}").json()["name"][0]["family"] == "CondUpdated"
    assert fhir.get(f"{BASE}/Patient?identifier={MRN}|P-2").json()["total"] == 1


def test_transaction_get_entries_see_the_writes(fhir):
    existing = fhir.create(patient(family="Readable"))
    response = send(fhir, bundle(
        "transaction",
        {"request": {"method": "GET", "url": f"Patient/{existing['id']}"}},
        {"request": {"method": "GET", "url": "Patient?family=Fresh"}},
        post_entry(patient(family="Fresh")),
    ))
    assert response.status_code == 200, response.content
    entries = response.json()["entry"]
    assert entries[0]["resource"]["id"] == existing["id"]
    assert entries[0]["response"]["status"] == "200 OK"
    searchset = entries[1]["resource"]
    assert searchset["type"] == "searchset"
    assert searchset["total"] == 1  # GETs run after the writes
    assert searchset["entry"][0]["resource"]["name"][0]["family"] == "Fresh"


def test_transaction_get_of_missing_resource_fails_the_transaction(fhir):
    before = row_counts()
    response = send(fhir, bundle(
        "transaction", post_entry(patient()), {"request": {"method": "GET", "url": f"Patient/{uuid.uuid4()}"}},
    ))
    assert response.status_code == 404
    assert "Bundle.entry[1]" in outcome_text(response)
    assert row_counts() == before


def test_transaction_patch_entry(fhir):
    created = fhir.create(patient(family="Patchable"))
    ops = [{"op": "replace", "path": "/name/0/family", "value": "Patched"}]
    response = send(fhir, bundle("transaction", {
        "resource": {"resourceType": "Binary", "contentType": "application/json-patch+json",
                     "data": base64.b64encode(orjson.dumps(ops)).decode()},
        "request": {"method": "PATCH", "url": f"Patient/{created['id']}"},
    }))
    assert response.status_code == 200, response.content
    assert fhir.get(f"{BASE}/Patient/{created['id']}").json()["name"][0]["family"] == "Patched"


def test_transaction_if_match_entry(fhir):
    created = fhir.create(patient())
    before = row_counts()
    stale = send(fhir, bundle("transaction", {
        "resource": {**created, "gender": "female"},
        "request": {"method": "PUT", "url": f"Patient/{created['id']}", "ifMatch": 'W/"9"'},
    }))
    assert stale.status_code == 412
    assert row_counts() == before


@pytest.mark.parametrize("body, fragment", [
    ({"resourceType": "Patient"}, "Bundle"),
    ({"resourceType": "Bundle", "type": "collection", "entry": []}, "Bundle.type"),
    (bundle("transaction", {"resource": patient()}), "Bundle.entry[0]"),
    (bundle("transaction", {"resource": patient(), "request": {"method": "FLY", "url": "Patient"}}),
     "Bundle.entry[0]"),
    (bundle("transaction", {"resource": patient(), "request": {"method": "POST", "url": "Spaceship"}}),
     "Bundle.entry[0]"),
    (bundle("transaction", {"request": {"method": "POST", "url": "Patient"}}), "Bundle.entry[0]"),
])
def test_malformed_bundles_are_400(fhir, body, fragment):
    before = row_counts()
    response = send(fhir, body)
    assert response.status_code == 400
    assert fragment in outcome_text(response)
    assert row_counts() == before


def test_empty_transaction_is_an_empty_response(fhir):
    response = send(fhir, bundle("transaction"))
    assert response.status_code == 200
    assert response.json()["entry"] == []


# --------------------------------------------------------------------------------------------
# batches


def test_batch_keeps_good_entries_and_reports_the_bad_one(fhir):
    response = send(fhir, bundle(
        "batch",
        post_entry(patient(family="GoodOne")),
        post_entry(patient(family="BadOne", birthDate="not-a-date")),
        post_entry(patient(family="GoodTwo")),
    ))
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["type"] == "batch-response"
    entries = result["entry"]
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[2]["response"]["status"] == "201 Created"
    bad = entries[1]["response"]
    assert bad["status"].startswith("400")
    outcome = bad["outcome"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert any("birthDate" in " ".join(i.get("expression", [])) for i in outcome["issue"])
    assert fhir.get(f"{BASE}/Patient?family=GoodOne").json()["total"] == 1
    assert fhir.get(f"{BASE}/Patient?family=GoodTwo").json()["total"] == 1
    assert fhir.get(f"{BASE}/Patient?family=BadOne").json()["total"] == 0


def test_batch_entries_run_in_order_and_fail_alone(fhir):
    created = fhir.create(patient(family="Batched"))
    response = send(fhir, bundle(
        "batch",
        {"request": {"method": "GET", "url": f"Patient/{created['id']}"}},
        {"request": {"method": "GET", "url": f"Patient/{uuid.uuid4()}"}},
        {"request": {"method": "DELETE", "url": f"Patient/{created['id']}"}},
        {"resource": {**created, "gender": "female"},
         "request": {"method": "PUT", "url": f"Patient/{created['id']}", "ifMatch": 'W/"1"'}},
    ))
    assert response.status_code == 200
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0] == "200 OK"
    assert statuses[1].startswith("404")
    assert statuses[2].startswith("20")
    assert statuses[3].startswith("412")  # the delete made version 1 stale
    assert fhir.get(f"{BASE}/Patient/{created['id']}").status_code == 410


def test_batch_does_not_resolve_urn_references_between_entries(fhir):
    patient_url = urn()
    response = send(fhir, bundle("batch", post_entry(patient(), patient_url), post_entry(observation(patient_url))))
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[1]["response"]["status"].startswith("400")
    assert Resource.objects.filter(resource_type="Observation").count() == 0


def test_batch_entry_that_cannot_be_parsed_fails_alone(fhir):
    response = send(fhir, bundle(
        "batch",
        post_entry(patient(family="Survivor")),
        {"resource": patient(), "request": {"method": "POST", "url": "Spaceship"}},
        {"resource": patient(), "request": {"method": "FLY", "url": "Patient"}},
        "not an entry",
        post_entry(patient(family="Survivor")),
    ))
    assert response.status_code == 200, response.content
    entries = response.json()["entry"]
    assert len(entries) == 5
    assert [e["response"]["status"][:3] for e in entries] == ["201", "400", "400", "400", "201"]
    assert "Bundle.entry[1]" in entries[1]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert "Spaceship" in entries[1]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert fhir.get(f"{BASE}/Patient?family=Survivor").json()["total"] == 2
