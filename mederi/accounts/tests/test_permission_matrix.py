"""The permission matrix: every shipped role (and a patient) × every FHIR interaction × their
own patient / another patient, plus anonymous callers.

What each role may do is written out here by hand, from the role descriptions, not computed
from the code under test. Every request must answer as expected, a refusal must carry no data,
and each request must leave exactly one audit entry naming the caller, the interaction and the
outcome.
"""

from __future__ import annotations

import orjson
import pytest

from mederi.accounts import services
from mederi.audit.tests.helpers import last_id, since
from mederi.conftest import FhirClient, oauth_application, staff_user
from mederi.core.context import Context
from mederi.fhir.repository import Repository

pytestmark = pytest.mark.django_db

BASE = "/fhir/R4"
OWN, OTHER = "p-own", "p-other"
# R: read, vread, search, history, $everything · W: create, update, patch · D: delete
RIGHTS = {
    "front_desk": {"Patient": "RW", "Observation": ""},
    "biller": {"Patient": "R", "Observation": "R"},
    "nurse": {"Patient": "RW", "Observation": "RW"},
    "physician": {"Patient": "RW", "Observation": "RW"},
    "practice_admin": {"Patient": "RWD", "Observation": "RW"},
    "auditor": {"Patient": "R", "Observation": ""},
    "patient": {"Patient": "R", "Observation": "R"},  # and only inside their own compartment
}
LETTER = {"read": "R", "vread": "R", "search": "R", "history": "R", "everything": "R",
          "create": "W", "update": "W", "patch": "W", "delete": "D"}
INTERACTIONS = ["read", "vread", "search", "history", "everything", "create", "update", "patch", "delete"]
SECRETS = ("Moreno", "Okafor", "Pulse")  # names and values that must never appear in a refusal


def _patient(pid: str, family: str) -> dict:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family, "given": ["Pat"]}]}


def _observation(oid: str, pid: str) -> dict:
    return {"resourceType": "Observation", "id": oid, "status": "final", "code": {"text": "Pulse"},
            "subject": {"reference": f"Patient/{pid}"}, "valueQuantity": {"value": 72}}


@pytest.fixture
def record():
    repo = Repository(Context.system())
    repo.update("Patient", OWN, _patient(OWN, "Moreno"))
    repo.update("Patient", OTHER, _patient(OTHER, "Okafor"))
    return repo


def _caller(role: str) -> tuple[FhirClient, str]:
    if role == "patient":
        user = services.create_patient_user("pat-own", "correct horse battery staple", OWN, "Pat Moreno")
    else:
        user = staff_user(f"u-{role}", role)
    return FhirClient(services.issue_access_token(user, oauth_application(), "user/*.cruds")), user.get_username()


def _prepare(resource_type: str, target: str, step: int) -> str:
    """A fresh Observation of `target` for each step (or the patient itself): the id to act on."""
    if resource_type != "Observation":
        return target
    Repository(Context.system()).update("Observation", f"o{step}", _observation(f"o{step}", target))
    return f"o{step}"


def _request(api: FhirClient, resource_type: str, interaction: str, target: str, rid: str, step: int):
    """Send one interaction against `target`'s data."""
    body = _observation(f"n{step}", target) if resource_type == "Observation" else _patient(f"n{step}", "New")
    current = _observation(rid, target) if resource_type == "Observation" else _patient(rid, "Moreno-Changed")
    url = f"{BASE}/{resource_type}/{rid}"
    if interaction == "read":
        return api.get(url)
    if interaction == "vread":
        return api.get(f"{url}/_history/1")
    if interaction == "search":
        query = f"patient={target}" if resource_type == "Observation" else f"_id={target}"
        return api.get(f"{BASE}/{resource_type}?{query}")
    if interaction == "history":
        return api.get(f"{url}/_history")
    if interaction == "everything":
        return api.get(f"{BASE}/Patient/{target}/$everything")
    if interaction == "create":
        body.pop("id")
        return api.post(f"{BASE}/{resource_type}", body)
    if interaction == "update":
        return api.put(url, {**current, "status": "amended"} if resource_type == "Observation"
                       else {**current, "gender": "unknown"})
    if interaction == "patch":
        return api.patch(url, [{"op": "add", "path": "/language", "value": "en"}])
    return api.delete(url)


EXPECTED_STATUS = {"create": 201, "delete": 204}


def _cases():
    for resource_type in ("Observation", "Patient"):
        for interaction in INTERACTIONS:
            if interaction == "everything" and resource_type != "Patient":
                continue
            for whose in ("other", "own"):  # own last: deleting the patient's own record ends its run
                yield resource_type, interaction, whose


@pytest.mark.parametrize("role", list(RIGHTS))
def test_every_interaction_answers_as_the_role_allows_and_is_logged_once(record, role):
    api, username = _caller(role)
    for step, (resource_type, interaction, whose) in enumerate(_cases()):
        target = OWN if whose == "own" else OTHER
        allowed = LETTER[interaction] in RIGHTS[role][resource_type]
        in_compartment = role != "patient" or whose == "own"
        rid = _prepare(resource_type, target, step)
        mark = last_id()
        response = _request(api, resource_type, interaction, target, rid, step)
        label = f"{role} {interaction} {resource_type} of {whose} patient"
        if allowed and interaction == "search" and not in_compartment:
            # Searches are filtered, not refused: another patient's records are simply not there.
            assert response.status_code == 200, label
            assert response.json()["total"] == 0, label
            outcome = "success"
        elif allowed and in_compartment:
            assert response.status_code == EXPECTED_STATUS.get(interaction, 200), (label, response.content)
            outcome = "success"
        else:
            assert response.status_code == 403, (label, response.status_code, response.content)
            body = response.content.decode()
            assert orjson.loads(body)["resourceType"] == "OperationOutcome", label
            assert not any(secret in body for secret in SECRETS), (label, body)
            outcome = "denied"
        entries = since(mark)
        assert [(e.action, e.outcome, e.actor_name) for e in entries] == [(interaction, outcome, username)], label
        if outcome == "success" and interaction not in ("create",):
            assert entries[0].patient_id == target, label


def test_front_desk_everything_leaves_out_clinical_records(record):
    Repository(Context.system()).update("Observation", "o-1", _observation("o-1", OWN))
    api, _ = _caller("front_desk")
    bundle = api.get(f"{BASE}/Patient/{OWN}/$everything").json()
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"Patient"}
    nurse, _ = _caller("nurse")
    bundle = nurse.get(f"{BASE}/Patient/{OWN}/$everything").json()
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"Patient", "Observation"}


def test_search_totals_and_pages_count_only_what_the_caller_may_see(record):
    repo = Repository(Context.system())
    for n in range(5):
        repo.update("Observation", f"mine-{n}", _observation(f"mine-{n}", OWN))
        repo.update("Observation", f"theirs-{n}", _observation(f"theirs-{n}", OTHER))
    api, _ = _caller("patient")
    first = api.get(f"{BASE}/Observation?_count=2").json()
    assert first["total"] == 5
    seen = [e["resource"]["id"] for e in first["entry"]]
    link = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while link:
        page = api.get(link.replace("http://testserver", "")).json()
        seen += [e["resource"]["id"] for e in page["entry"]]
        link = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert sorted(seen) == [f"mine-{n}" for n in range(5)]
    # _include cannot reach across: the other patient's Patient resource is never included.
    bundle = api.get(f"{BASE}/Observation?_include=Observation:subject").json()
    assert {e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"} == {OWN}


def test_a_paging_link_is_useless_to_anyone_else(record):
    repo = Repository(Context.system())
    for n in range(4):
        repo.update("Observation", f"mine-{n}", _observation(f"mine-{n}", OWN))
    nurse, _ = _caller("nurse")
    first = nurse.get(f"{BASE}/Observation?_count=2").json()
    link = next(link["url"] for link in first["link"] if link["relation"] == "next").replace("http://testserver", "")
    biller, _ = _caller("biller")
    response = biller.get(link)
    assert response.status_code == 404 and "mine-" not in response.content.decode()


@pytest.mark.parametrize("method,path", [
    ("get", "/Patient/p-own"), ("get", "/Observation"), ("get", "/Patient/p-own/_history/1"),
    ("get", "/_history"), ("get", "/Patient/p-own/$everything"), ("post", "/Patient"), ("put", "/Patient/p-own"),
    ("delete", "/Patient/p-own"), ("post", ""),
])
def test_anonymous_callers_get_401_and_nothing_else(record, anonymous_fhir, method, path):
    mark = last_id()
    body = {"resourceType": "Bundle", "type": "batch"} if path == "" else _patient(OWN, "Moreno")
    call = getattr(anonymous_fhir, method)
    url = f"{BASE}{path or '/'}"
    response = call(url, body) if method in ("post", "put") else call(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not any(secret in response.content.decode() for secret in SECRETS)
    assert [(e.outcome, e.actor_name) for e in since(mark)] == [("denied", "anonymous")]


def test_a_token_without_the_scope_gets_403_even_when_the_role_allows(record):
    user = staff_user("u-scoped", "physician")
    api = FhirClient(services.issue_access_token(user, oauth_application(), "user/Patient.rs"))
    assert api.get(f"{BASE}/Patient/{OWN}").status_code == 200
    refused = api.get(f"{BASE}/Observation?patient={OWN}")
    assert refused.status_code == 403 and "scope" in refused.json()["issue"][0]["diagnostics"]
    assert api.put(f"{BASE}/Patient/{OWN}", _patient(OWN, "Changed")).status_code == 403  # no u
    assert api.get(f"{BASE}/Patient?_has:Observation:patient:code=Pulse").status_code == 403  # no probing


def test_a_patient_token_of_a_staff_member_is_held_to_that_patient(record):
    """A clinician's app launched for one patient (patient/ scopes) reaches that patient only."""
    user = staff_user("u-launch", "physician")
    api = FhirClient(services.issue_access_token(user, oauth_application(), "patient/*.rs", patient_id=OWN))
    Repository(Context.system()).update("Observation", "o-x", _observation("o-x", OTHER))
    assert api.get(f"{BASE}/Patient/{OWN}").status_code == 200
    assert api.get(f"{BASE}/Patient/{OTHER}").status_code == 403
    assert api.get(f"{BASE}/Observation/o-x").status_code == 403
    assert api.get(f"{BASE}/Patient").json()["total"] == 1


def test_audit_events_cannot_be_written_through_the_record(record, fhir):
    event = {"resourceType": "AuditEvent", "type": {"code": "rest"}, "recorded": "2026-01-01T00:00:00Z",
             "agent": [{"requestor": True}], "source": {"observer": {"display": "x"}}}
    bundle = {"resourceType": "Bundle", "type": "transaction",
              "entry": [{"resource": event, "request": {"method": "POST", "url": "AuditEvent"}}]}
    response = fhir.post(f"{BASE}/", bundle)
    assert response.status_code == 403
    assert "audit log" in response.json()["issue"][0]["diagnostics"]
