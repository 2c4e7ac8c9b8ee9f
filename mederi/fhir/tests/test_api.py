"""The FHIR R4 REST API over HTTP: what a client sees for each interaction.

Every rejected write is checked to have left the record untouched: the current rows, the
history rows and every search-index table hold exactly what they held before the request.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest

from mederi.conftest import record_row_counts as row_counts
from mederi.fhir.models import Resource, ResourceHistory

BASE = "/fhir/R4"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def unchanged():
    """Call with a request callable: asserts the record holds exactly the same rows afterwards."""

    def check(send):
        before = row_counts()
        response = send()
        assert row_counts() == before, "a rejected request wrote to the record"
        return response

    return check


def patient(family="Chalmers", given="Peter", **extra) -> dict:
    body = {"resourceType": "Patient", "name": [{"family": family, "given": [given]}], "gender": "male"}
    body.update(extra)
    return body


def ident(value: str, system: str = "http://example.org/mrn") -> list[dict]:
    return [{"system": system, "value": value}]


def observation(patient_id: str, code: str = "8867-4", value: float = 72) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }


def issues(response) -> list[dict]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"]


def diagnostics(response) -> str:
    return " | ".join(i.get("diagnostics", "") for i in issues(response))


def relative(url: str) -> str:
    """An absolute link from a bundle as a path the test client can follow."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def link(bundle: dict, relation: str) -> str | None:
    for item in bundle.get("link", []):
        if item["relation"] == relation:
            return item["url"]
    return None


def follow_all(fhir, url: str) -> list[dict]:
    """Every entry of every page, following `next` links."""
    entries, pages = [], 0
    while url:
        response = fhir.get(relative(url) if url.startswith("http") else url)
        assert response.status_code == 200, response.content
        bundle = response.json()
        entries += bundle.get("entry", [])
        url = link(bundle, "next")
        pages += 1
        assert pages < 50
    return entries


# --------------------------------------------------------------------------------------------
# create / read / vread


def test_create_assigns_a_uuid_and_answers_with_headers(fhir):
    response = fhir.post(f"{BASE}/Patient", patient(id="client-chosen"))
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "client-chosen"
    assert UUID_RE.match(body["id"])
    assert body["meta"]["versionId"] == "1"
    assert "lastUpdated" in body["meta"]
    assert response["Location"].endswith(f"/fhir/R4/Patient/{body['id']}/_history/1")
    assert response["ETag"] == 'W/"1"'
    assert response["Last-Modified"].endswith("GMT")
    assert response["Content-Type"].startswith("application/fhir+json")
    assert fhir.get(f"{BASE}/Patient/client-chosen").status_code == 404


def test_read_returns_the_stored_resource(fhir):
    created = fhir.create(patient(family="Reader"))
    response = fhir.get(f"{BASE}/Patient/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert response["ETag"] == 'W/"1"'


def test_read_of_unknown_id_is_404(fhir):
    response = fhir.get(f"{BASE}/Patient/{uuid.uuid4()}")
    assert response.status_code == 404
    assert issues(response)[0]["code"] == "not-found"


def test_if_none_match_on_current_version_is_304(fhir):
    created = fhir.create(patient())
    response = fhir.get(f"{BASE}/Patient/{created['id']}", **{"If-None-Match": 'W/"1"'})
    assert response.status_code == 304


def test_vread_returns_each_version(fhir):
    created = fhir.create(patient(family="First"))
    pid = created["id"]
    updated = fhir.put(f"{BASE}/Patient/{pid}", {**created, "name": [{"family": "Second"}]})
    assert updated.status_code == 200
    v1 = fhir.get(f"{BASE}/Patient/{pid}/_history/1")
    v2 = fhir.get(f"{BASE}/Patient/{pid}/_history/2")
    assert v1.status_code == v2.status_code == 200
    assert v1.json()["name"][0]["family"] == "First"
    assert v2.json()["name"][0]["family"] == "Second"
    assert v2["ETag"] == 'W/"2"'
    assert fhir.get(f"{BASE}/Patient/{pid}/_history/3").status_code == 404
    assert fhir.get(f"{BASE}/Patient/{pid}/_history/x").status_code == 404


# --------------------------------------------------------------------------------------------
# update


def test_update_increments_the_version(fhir):
    created = fhir.create(patient())
    pid = created["id"]
    response = fhir.put(f"{BASE}/Patient/{pid}", {**created, "gender": "female"})
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "2"
    assert response["ETag"] == 'W/"2"'
    assert fhir.get(f"{BASE}/Patient/{pid}").json()["gender"] == "female"
    again = fhir.put(f"{BASE}/Patient/{pid}", {**created, "gender": "other"})
    assert again.json()["meta"]["versionId"] == "3"


def test_update_as_create_keeps_the_client_id(fhir):
    response = fhir.put(f"{BASE}/Patient/mrn-0042", patient(id="mrn-0042"))
    assert response.status_code == 201
    assert response.json()["id"] == "mrn-0042"
    assert response["Location"].endswith("/Patient/mrn-0042/_history/1")
    assert fhir.get(f"{BASE}/Patient/mrn-0042").json()["meta"]["versionId"] == "1"


def test_update_without_id_in_body_is_400(fhir, unchanged):
    created = fhir.create(patient())
    body = {k: v for k, v in created.items() if k != "id"}
    response = unchanged(lambda: fhir.put(f"{BASE}/Patient/{created['id']}", body))
    assert response.status_code == 400


def test_if_match_stale_is_412_and_current_succeeds(fhir, unchanged):
    created = fhir.create(patient())
    pid = created["id"]
    assert fhir.put(f"{BASE}/Patient/{pid}", {**created, "gender": "female"}).status_code == 200
    stale = unchanged(lambda: fhir.put(f"{BASE}/Patient/{pid}", {**created, "gender": "other"},
                                       **{"If-Match": 'W/"1"'}))
    assert stale.status_code == 412
    assert fhir.get(f"{BASE}/Patient/{pid}").json()["gender"] == "female"
    current = fhir.put(f"{BASE}/Patient/{pid}", {**created, "gender": "other"}, **{"If-Match": 'W/"2"'})
    assert current.status_code == 200
    assert current.json()["meta"]["versionId"] == "3"


def test_if_match_that_is_not_an_etag_is_400(fhir, unchanged):
    created = fhir.create(patient())
    response = unchanged(lambda: fhir.put(f"{BASE}/Patient/{created['id']}", {**created, "gender": "female"},
                                          **{"If-Match": "yesterday"}))
    assert response.status_code == 400


# --------------------------------------------------------------------------------------------
# conditional create / update / delete


def test_conditional_create_none_one_many(fhir, unchanged):
    condition = "identifier=http://example.org/mrn|A1"
    first = fhir.post(f"{BASE}/Patient", patient(identifier=ident("A1")), **{"If-None-Exist": condition})
    assert first.status_code == 201
    second = unchanged(lambda: fhir.post(f"{BASE}/Patient", patient(identifier=ident("A1"), gender="female"),
                                         **{"If-None-Exist": condition}))
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["gender"] == "male"  # the existing resource, unchanged
    fhir.create(patient(identifier=ident("A1")))  # now two share the identifier
    many = unchanged(lambda: fhir.post(f"{BASE}/Patient", patient(identifier=ident("A1")),
                                       **{"If-None-Exist": condition}))
    assert many.status_code == 412


def test_conditional_update_creates_then_updates_then_refuses_many(fhir, unchanged):
    url = f"{BASE}/Patient?identifier=http://example.org/mrn|B7"
    created = fhir.put(url, patient(identifier=ident("B7")))
    assert created.status_code == 201
    pid = created.json()["id"]
    updated = fhir.put(url, patient(identifier=ident("B7"), gender="female"))
    assert updated.status_code == 200
    assert updated.json()["id"] == pid
    assert updated.json()["meta"]["versionId"] == "2"
    wrong_id = unchanged(lambda: fhir.put(url, patient(id="someone-else", identifier=ident("B7"))))
    assert wrong_id.status_code == 400
    fhir.create(patient(identifier=ident("B7")))
    many = unchanged(lambda: fhir.put(url, patient(identifier=ident("B7"), gender="other")))
    assert many.status_code == 412


def test_put_on_type_without_condition_is_400(fhir, unchanged):
    response = unchanged(lambda: fhir.put(f"{BASE}/Patient", patient()))
    assert response.status_code == 400


def test_conditional_delete(fhir, unchanged):
    keep = fhir.create(patient(identifier=ident("K1")))
    gone = fhir.create(patient(identifier=ident("D1")))
    response = fhir.delete(f"{BASE}/Patient?identifier=http://example.org/mrn|D1")
    assert response.status_code == 204
    assert fhir.get(f"{BASE}/Patient/{gone['id']}").status_code == 410
    assert fhir.get(f"{BASE}/Patient/{keep['id']}").status_code == 200
    fhir.create(patient(identifier=ident("M1")))
    fhir.create(patient(identifier=ident("M1")))
    many = unchanged(lambda: fhir.delete(f"{BASE}/Patient?identifier=http://example.org/mrn|M1"))
    assert many.status_code == 412
    none = unchanged(lambda: fhir.delete(f"{BASE}/Patient?identifier=http://example.org/mrn|nobody"))
    assert none.status_code in (200, 204)


# --------------------------------------------------------------------------------------------
# delete


def test_delete_then_read_is_410_and_old_versions_remain(fhir):
    created = fhir.create(patient(family="Transient"))
    pid = created["id"]
    assert fhir.delete(f"{BASE}/Patient/{pid}").status_code == 204
    read = fhir.get(f"{BASE}/Patient/{pid}")
    assert read.status_code == 410
    assert issues(read)[0]["code"] == "deleted"
    old = fhir.get(f"{BASE}/Patient/{pid}/_history/1")
    assert old.status_code == 200
    assert old.json()["name"][0]["family"] == "Transient"
    assert fhir.get(f"{BASE}/Patient/{pid}/_history/2").status_code == 410
    search = fhir.get(f"{BASE}/Patient?family=Transient").json()
    assert search["total"] == 0
    # deleting again is harmless and writes nothing
    assert fhir.delete(f"{BASE}/Patient/{pid}").status_code == 204
    assert ResourceHistory.objects.filter(logical_id=pid).count() == 2


def test_update_after_delete_revives_the_resource(fhir):
    created = fhir.create(patient())
    pid = created["id"]
    fhir.delete(f"{BASE}/Patient/{pid}")
    revived = fhir.put(f"{BASE}/Patient/{pid}", {**created, "gender": "female"})
    assert revived.status_code == 201
    assert revived.json()["meta"]["versionId"] == "3"
    assert fhir.get(f"{BASE}/Patient/{pid}").status_code == 200


# --------------------------------------------------------------------------------------------
# history


def test_instance_history_lists_versions_newest_first_with_deletion(fhir):
    created = fhir.create(patient(family="Hist"))
    pid = created["id"]
    fhir.put(f"{BASE}/Patient/{pid}", {**created, "gender": "female"})
    fhir.delete(f"{BASE}/Patient/{pid}")
    bundle = fhir.get(f"{BASE}/Patient/{pid}/_history").json()
    assert bundle["type"] == "history"
    assert bundle["total"] == 3
    methods = [e["request"]["method"] for e in bundle["entry"]]
    assert methods == ["DELETE", "PUT", "POST"]
    deletion = bundle["entry"][0]
    assert "resource" not in deletion
    assert deletion["response"]["etag"] == 'W/"3"'
    assert [e["resource"]["meta"]["versionId"] for e in bundle["entry"][1:]] == ["2", "1"]


def test_history_of_unknown_resource_is_404(fhir):
    assert fhir.get(f"{BASE}/Patient/{uuid.uuid4()}/_history").status_code == 404
    assert fhir.get(f"{BASE}/Nonsense/_history").status_code == 404


def test_type_and_system_history(fhir):
    a = fhir.create(patient(family="A"))
    fhir.create(observation(a["id"]))
    fhir.put(f"{BASE}/Patient/{a['id']}", {**a, "gender": "female"})
    typed = fhir.get(f"{BASE}/Patient/_history").json()
    assert typed["total"] == 2
    assert {e["resource"]["resourceType"] for e in typed["entry"]} == {"Patient"}
    system = fhir.get(f"{BASE}/_history").json()
    assert system["total"] == 3
    assert {e["resource"]["resourceType"] for e in system["entry"]} == {"Patient", "Observation"}


def test_history_since_leaves_out_older_versions(fhir):
    old = fhir.create(patient(family="Old"))
    cutoff = ResourceHistory.objects.get(logical_id=old["id"]).last_updated
    # push the old version clearly before the cutoff
    from datetime import timedelta

    ResourceHistory.objects.filter(logical_id=old["id"]).update(last_updated=cutoff - timedelta(hours=1))
    new = fhir.create(patient(family="New"))
    since = (cutoff - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    bundle = fhir.get(f"{BASE}/Patient/_history?_since={since}").json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == [new["id"]]
    assert fhir.get(f"{BASE}/Patient/_history?_since=notadate").status_code == 400


def test_history_count_pages_through_next_links(fhir):
    created = fhir.create(patient())
    pid = created["id"]
    for gender in ("female", "other", "unknown", "male"):
        fhir.put(f"{BASE}/Patient/{pid}", {**created, "gender": gender})
    first = fhir.get(f"{BASE}/Patient/{pid}/_history?_count=2").json()
    assert first["total"] == 5
    assert len(first["entry"]) == 2
    assert link(first, "next")
    entries = follow_all(fhir, f"{BASE}/Patient/{pid}/_history?_count=2")
    versions = [e["resource"]["meta"]["versionId"] for e in entries]
    assert versions == ["5", "4", "3", "2", "1"]


# --------------------------------------------------------------------------------------------
# JSON Patch


def test_patch_add_replace_remove(fhir):
    created = fhir.create(patient(family="Patchy", birthDate="1970-01-01"))
    pid = created["id"]
    response = fhir.patch(f"{BASE}/Patient/{pid}", [
        {"op": "add", "path": "/active", "value": True},
        {"op": "replace", "path": "/name/0/family", "value": "Patched"},
        {"op": "remove", "path": "/birthDate"},
    ])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["active"] is True
    assert body["name"][0]["family"] == "Patched"
    assert "birthDate" not in body
    assert body["meta"]["versionId"] == "2"
    assert fhir.get(f"{BASE}/Patient?family=Patched").json()["total"] == 1
    assert fhir.get(f"{BASE}/Patient?family=Patchy").json()["total"] == 0
    assert ResourceHistory.objects.get(logical_id=pid, version_id=2).method == "PATCH"


def test_patch_test_failure_is_422_and_writes_nothing(fhir, unchanged):
    created = fhir.create(patient(family="Tested"))
    response = unchanged(lambda: fhir.patch(f"{BASE}/Patient/{created['id']}", [
        {"op": "test", "path": "/name/0/family", "value": "Other"},
        {"op": "replace", "path": "/name/0/family", "value": "Changed"},
    ]))
    assert response.status_code == 422
    assert "test failed" in diagnostics(response)
    assert fhir.get(f"{BASE}/Patient/{created['id']}").json()["name"][0]["family"] == "Tested"


def test_patch_producing_an_invalid_resource_is_400_and_writes_nothing(fhir, unchanged):
    created = fhir.create(patient())
    response = unchanged(lambda: fhir.patch(f"{BASE}/Patient/{created['id']}", [
        {"op": "replace", "path": "/gender", "value": "martian"},
    ]))
    assert response.status_code == 400
    assert fhir.get(f"{BASE}/Patient/{created['id']}").json()["gender"] == "male"


def test_patch_that_changes_the_id_is_refused(fhir, unchanged):
    created = fhir.create(patient())
    response = unchanged(lambda: fhir.patch(f"{BASE}/Patient/{created['id']}", [
        {"op": "replace", "path": "/id", "value": "elsewhere"},
    ]))
    assert response.status_code == 400


def test_patch_with_bad_pointer_or_wrong_content_type(fhir, unchanged):
    created = fhir.create(patient())
    url = f"{BASE}/Patient/{created['id']}"
    bad = unchanged(lambda: fhir.patch(url, [{"op": "remove", "path": "/nothing/here"}]))
    assert bad.status_code == 400
    assert "patch operation 0" in diagnostics(bad)
    not_a_list = unchanged(lambda: fhir.patch(url, {"op": "remove", "path": "/gender"}))
    assert not_a_list.status_code == 400
    wrong_type = unchanged(lambda: fhir._send("patch", url, [{"op": "remove", "path": "/gender"}]))
    assert wrong_type.status_code == 415


def test_patch_with_if_match(fhir, unchanged):
    created = fhir.create(patient())
    url = f"{BASE}/Patient/{created['id']}"
    ops = [{"op": "replace", "path": "/gender", "value": "female"}]
    assert unchanged(lambda: fhir.patch(url, ops, **{"If-Match": 'W/"7"'})).status_code == 412
    assert fhir.patch(url, ops, **{"If-Match": 'W/"1"'}).status_code == 200


def test_patch_of_deleted_resource_is_410(fhir, unchanged):
    created = fhir.create(patient())
    fhir.delete(f"{BASE}/Patient/{created['id']}")
    response = unchanged(lambda: fhir.patch(f"{BASE}/Patient/{created['id']}",
                                            [{"op": "add", "path": "/active", "value": True}]))
    assert response.status_code == 410


# --------------------------------------------------------------------------------------------
# Prefer


def test_prefer_return_minimal(fhir):
    response = fhir.post(f"{BASE}/Patient", patient(), Prefer="return=minimal")
    assert response.status_code == 201
    assert response.content == b""
    assert "/Patient/" in response["Location"]
    assert response["ETag"] == 'W/"1"'


def test_prefer_return_representation(fhir):
    response = fhir.post(f"{BASE}/Patient", patient(family="Shown"), Prefer="return=representation")
    assert response.status_code == 201
    assert response.json()["name"][0]["family"] == "Shown"


def test_prefer_return_operation_outcome(fhir):
    created = fhir.create(patient())
    response = fhir.put(f"{BASE}/Patient/{created['id']}", {**created, "gender": "female"},
                        Prefer="return=OperationOutcome")
    assert response.status_code == 200
    outcome = issues(response)
    assert outcome[0]["severity"] == "information"
    assert f"Patient/{created['id']}" in outcome[0]["diagnostics"]
    assert response["ETag"] == 'W/"2"'


# --------------------------------------------------------------------------------------------
# malformed and refused requests: nothing is written


def test_xml_is_refused_with_406(fhir, unchanged):
    created = fhir.create(patient())
    by_accept = fhir.get(f"{BASE}/Patient/{created['id']}", Accept="application/fhir+xml")
    assert by_accept.status_code == 406
    assert issues(by_accept)[0]["code"] == "not-supported"
    by_format = fhir.get(f"{BASE}/Patient/{created['id']}?_format=xml")
    assert by_format.status_code == 406
    assert by_format.json()["resourceType"] == "OperationOutcome"
    posted = unchanged(lambda: fhir._send("post", f"{BASE}/Patient", "<Patient xmlns='http://hl7.org/fhir'/>",
                                          content_type="application/fhir+xml"))
    assert posted.status_code == 406


def test_json_accept_headers_are_served(fhir):
    created = fhir.create(patient())
    for accept in ("application/fhir+json", "application/json", "*/*",
                   "application/fhir+json, application/fhir+xml;q=0.9"):
        assert fhir.get(f"{BASE}/Patient/{created['id']}", Accept=accept).status_code == 200, accept
    assert fhir.get(f"{BASE}/Patient/{created['id']}?_format=json").status_code == 200


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2", "{\"resourceType\": \"Patient\",}"])
def test_malformed_json_is_400(fhir, unchanged, body):
    response = unchanged(lambda: fhir.post(f"{BASE}/Patient", body))
    assert response.status_code == 400
    assert issues(response)[0]["severity"] == "error"


def test_body_that_is_not_an_object_is_400(fhir, unchanged):
    response = unchanged(lambda: fhir.post(f"{BASE}/Patient", [patient()]))
    assert response.status_code == 400


def test_unknown_resource_type_is_404(fhir, unchanged):
    assert fhir.get(f"{BASE}/Spaceship/1").status_code == 404
    assert fhir.get(f"{BASE}/Spaceship").status_code == 404
    response = unchanged(lambda: fhir.post(f"{BASE}/Spaceship", {"resourceType": "Spaceship"}))
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
    put = unchanged(lambda: fhir.put(f"{BASE}/Spaceship/x1", {"resourceType": "Spaceship", "id": "x1"}))
    assert put.status_code == 404


def test_body_type_differs_from_url_type_is_400(fhir, unchanged):
    response = unchanged(lambda: fhir.post(f"{BASE}/Patient", observation("p1")))
    assert response.status_code == 400
    assert "Observation" in diagnostics(response)
    put = unchanged(lambda: fhir.put(f"{BASE}/Patient/abc", {**observation("p1"), "id": "abc"}))
    assert put.status_code == 400


def test_url_id_differs_from_body_id_is_400(fhir, unchanged):
    created = fhir.create(patient())
    response = unchanged(lambda: fhir.put(f"{BASE}/Patient/{created['id']}", {**created, "id": "another"}))
    assert response.status_code == 400
    assert "another" in diagnostics(response)


def test_invalid_resource_is_400_with_expression(fhir, unchanged):
    response = unchanged(lambda: fhir.post(f"{BASE}/Patient", patient(gender="martian")))
    assert response.status_code == 400
    found = issues(response)
    assert any("gender" in " ".join(i.get("expression", [])) for i in found), found


@pytest.mark.parametrize("bad_id", ["has_underscore", "a" * 65, "sp%20ace", "caf%C3%A9"])
def test_invalid_id_characters_are_refused(fhir, unchanged, bad_id):
    response = unchanged(lambda: fhir.put(f"{BASE}/Patient/{bad_id}", patient(id=bad_id)))
    assert response.status_code in (400, 404)
    assert response.json()["resourceType"] == "OperationOutcome"
    assert fhir.get(f"{BASE}/Patient/{bad_id}").status_code in (400, 404)


def test_invalid_id_in_body_of_update_as_create_is_400(fhir, unchanged):
    # a 64-character id is allowed; the same URL with a different, invalid body id is not
    good = "a" * 64
    assert fhir.put(f"{BASE}/Patient/{good}", patient(id=good)).status_code == 201
    response = unchanged(lambda: fhir.put(f"{BASE}/Patient/ok-id", patient(id="not ok")))
    assert response.status_code == 400


def test_method_not_allowed_is_405(fhir):
    created = fhir.create(patient())
    response = fhir.post(f"{BASE}/Patient/{created['id']}", patient())
    assert response.status_code == 405
    assert "PUT" in response["Allow"]


# --------------------------------------------------------------------------------------------
# Patient/$everything


@pytest.fixture
def record(fhir):
    """A patient with three observations, an encounter and a practitioner they refer to."""
    doctor = fhir.create({"resourceType": "Practitioner", "name": [{"family": "Who"}]})
    person = fhir.create(patient(family="Everything"))
    other = fhir.create(patient(family="Stranger"))
    pid = person["id"]
    encounter = fhir.create({
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{pid}"},
        "participant": [{"individual": {"reference": f"Practitioner/{doctor['id']}"}}],
    })
    observations = [fhir.create(observation(pid, value=v)) for v in (60, 70, 80)]
    stranger_obs = fhir.create(observation(other["id"]))
    return {"patient": person, "doctor": doctor, "encounter": encounter, "observations": observations,
            "stranger": other, "stranger_obs": stranger_obs}


def _refs(entries) -> set[str]:
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries}


def test_everything_returns_the_compartment_and_referenced(fhir, record):
    pid = record["patient"]["id"]
    response = fhir.get(f"{BASE}/Patient/{pid}/$everything")
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["type"] == "searchset"
    got = _refs(bundle["entry"])
    expected = {f"Patient/{pid}", f"Encounter/{record['encounter']['id']}",
                f"Practitioner/{record['doctor']['id']}"} | {f"Observation/{o['id']}" for o in record["observations"]}
    assert got == expected
    assert bundle["total"] == len(expected)


def test_everything_of_unknown_patient_is_404(fhir):
    assert fhir.get(f"{BASE}/Patient/{uuid.uuid4()}/$everything").status_code == 404


def test_everything_type_filter(fhir, record):
    pid = record["patient"]["id"]
    bundle = fhir.get(f"{BASE}/Patient/{pid}/$everything?_type=Observation").json()
    assert _refs(bundle["entry"]) == {f"Observation/{o['id']}" for o in record["observations"]}
    assert fhir.get(f"{BASE}/Patient/{pid}/$everything?_type=Nonsense").status_code == 400


def test_everything_since(fhir, record):
    from datetime import timedelta

    pid = record["patient"]["id"]
    newest = record["observations"][-1]
    cutoff = Resource.objects.get(logical_id=newest["id"]).last_updated
    Resource.objects.exclude(logical_id=newest["id"]).update(last_updated=cutoff - timedelta(hours=2))
    since = (cutoff - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    bundle = fhir.get(f"{BASE}/Patient/{pid}/$everything?_since={since}").json()
    got = _refs(bundle["entry"])
    assert f"Observation/{newest['id']}" in got
    assert f"Patient/{pid}" not in got
    assert not any(f"Observation/{o['id']}" in got for o in record["observations"][:-1])


def test_everything_pages_through_next_links(fhir, record):
    pid = record["patient"]["id"]
    first = fhir.get(f"{BASE}/Patient/{pid}/$everything?_count=2").json()
    assert len(first["entry"]) == 2
    assert first["total"] == 6
    next_url = link(first, "next")
    assert next_url and "$everything" in next_url
    entries = follow_all(fhir, f"{BASE}/Patient/{pid}/$everything?_count=2")
    refs = [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in entries]
    assert len(refs) == 6
    assert len(set(refs)) == 6
    assert refs[0] == f"Patient/{pid}"
    assert f"Observation/{record['stranger_obs']['id']}" not in refs


def test_everything_leaves_out_deleted_resources(fhir, record):
    pid = record["patient"]["id"]
    gone = record["observations"][0]
    fhir.delete(f"{BASE}/Observation/{gone['id']}")
    got = _refs(fhir.get(f"{BASE}/Patient/{pid}/$everything").json()["entry"])
    assert f"Observation/{gone['id']}" not in got


# --------------------------------------------------------------------------------------------
# $validate


def test_validate_valid_resource_is_information_and_writes_nothing(fhir, unchanged):
    response = unchanged(lambda: fhir.post(f"{BASE}/Patient/$validate", patient()))
    assert response.status_code == 200
    found = issues(response)
    assert [i["severity"] for i in found] == ["information"]


def test_validate_invalid_resource_reports_paths_and_writes_nothing(fhir, unchanged):
    bad = patient(gender="martian", birthDate="yesterday")
    response = unchanged(lambda: fhir.post(f"{BASE}/Patient/$validate", bad))
    assert response.status_code == 200
    found = issues(response)
    assert all(i["severity"] in ("error", "fatal") for i in found)
    paths = " ".join(p for i in found for p in i.get("expression", []))
    assert "gender" in paths
    assert "birthDate" in paths


def test_validate_in_parameters_and_wrong_type(fhir, unchanged):
    wrapped = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": patient()}]}
    ok = unchanged(lambda: fhir.post(f"{BASE}/Patient/$validate", wrapped))
    assert [i["severity"] for i in issues(ok)] == ["information"]
    mismatch = unchanged(lambda: fhir.post(f"{BASE}/Observation/$validate", patient()))
    assert any(i["severity"] == "error" for i in issues(mismatch))
    instance = unchanged(lambda: fhir.post(f"{BASE}/Patient/abc/$validate", patient(id="xyz")))
    assert any("id" in i.get("expression", []) for i in issues(instance))


# --------------------------------------------------------------------------------------------
# metadata and health


def test_metadata_is_a_capability_statement(fhir):
    response = fhir.get(f"{BASE}/metadata")
    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    assert "application/fhir+json" in statement["format"]
    rest = statement["rest"][0]
    by_type = {r["type"]: r for r in rest["resource"]}
    pat = by_type["Patient"]
    names = {p["name"] for p in pat["searchParam"]}
    assert {"family", "identifier", "birthdate", "name"} <= names
    assert "everything" in {o["name"] for o in pat["operation"]}
    assert {"read", "create", "update", "delete", "search-type"} <= {i["code"] for i in pat["interaction"]}
    assert {"transaction", "batch"} <= {i["code"] for i in rest["interaction"]}
    assert "everything" not in {o["name"] for o in by_type["Observation"].get("operation", [])}


def test_metadata_refuses_xml(fhir):
    assert fhir.get(f"{BASE}/metadata?_format=application/fhir+xml").status_code == 406


def test_healthz(fhir):
    response = fhir.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_unknown_path_is_404_operation_outcome(fhir):
    response = fhir.get(f"{BASE}/Patient/a/b/c/d")
    assert response.status_code == 404
    assert issues(response)[0]["code"] == "not-found"
