"""The audit log as FHIR AuditEvents: what an auditor's app sees at /fhir/R4/AuditEvent."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from mederi.audit import selectors
from mederi.audit import services as audit
from mederi.audit.models import AuditEntry
from mederi.audit.tests.helpers import last_id, since
from mederi.conftest import FhirClient, staff_user, token_for
from mederi.core import clock
from mederi.core.context import Context
from mederi.fhir.validation import validate_resource

pytestmark = pytest.mark.django_db

DRWHO = Context(user_id=501, user_name="drwho", role="physician", remote_addr="10.0.0.5")
DESK = Context(user_id=502, user_name="desk", role="front_desk", remote_addr="10.0.0.6")
URL = "/fhir/R4/AuditEvent"


def at(monkeypatch, *when):
    monkeypatch.setattr(clock, "now", lambda: datetime(*when, tzinfo=timezone.utc))


@pytest.fixture
def log(db, monkeypatch):
    """A small log of three days in March 2020 (long before the entries the test set-up writes)."""
    at(monkeypatch, 2020, 3, 1, 9, 0)
    audit.record(DRWHO, "read", patient_id="p1", resource_type="Patient", resource_ids=["Patient/p1"])
    audit.record(DESK, "search", patient_id="p2", resource_type="Patient", resource_ids=["Patient/p2"],
                 query="/fhir/R4/Patient?name=smith")
    at(monkeypatch, 2020, 3, 2, 23, 59)
    audit.record(DRWHO, "update", patient_id="p1", resource_type="Observation", resource_ids=["Observation/o1"])
    audit.record(DESK, "read", "not-found", patient_id="p3", resource_type="Patient")
    audit.record(DRWHO, "create", patient_id="p2", resource_type="Observation", resource_ids=["Observation/o2"])
    at(monkeypatch, 2020, 3, 3, 0, 1)
    audit.record(DRWHO, "read", "denied", patient_id="p2", resource_type="Patient")
    audit.record(DESK, "delete", patient_id="p1", resource_type="Observation", resource_ids=["Observation/o1"])
    audit.record(DRWHO, "login")
    monkeypatch.undo()
    return {entry.id: entry for entry in AuditEntry.objects.all()}


@pytest.fixture
def auditor(log):
    return FhirClient(token_for(staff_user("aud", "auditor")))


def bundle(response) -> dict:
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    for entry in body["entry"]:
        resource = entry["resource"]
        assert resource["resourceType"] == "AuditEvent"
        assert validate_resource(resource) == [], resource
        assert entry["fullUrl"].endswith(f"/AuditEvent/{resource['id']}")
    return body


def found(response) -> list[int]:
    return [int(entry["resource"]["id"]) for entry in bundle(response)["entry"]]


def ids_where(log, test) -> list[int]:
    """Ids of the fixture's entries passing `test`, newest first (the order of the search)."""
    return sorted((i for i, entry in log.items() if test(entry)), reverse=True)


def outcome(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = json.loads(response.content)
    assert body["resourceType"] == "OperationOutcome"
    return body


# -- searching ------------------------------------------------------------------------------------


def test_search_by_patient_finds_exactly_that_patients_entries(auditor, log):
    expected = ids_where(log, lambda e: e.patient_id == "p1")
    assert len(expected) == 3
    assert found(auditor.get(f"{URL}?patient=p1")) == expected
    assert found(auditor.get(f"{URL}?patient=Patient/p1")) == expected
    both = ids_where(log, lambda e: e.patient_id in ("p1", "p3"))
    assert found(auditor.get(f"{URL}?patient=p1,Patient/p3")) == both
    assert found(auditor.get(f"{URL}?patient=nobody")) == []


def test_search_by_agent_finds_exactly_that_users_entries(auditor, log):
    expected = ids_where(log, lambda e: e.actor_name == "desk")
    assert len(expected) == 3
    assert found(auditor.get(f"{URL}?agent=desk")) == expected
    assert found(auditor.get(f"{URL}?agent=DESK")) == expected  # usernames ignore case
    body = bundle(auditor.get(f"{URL}?agent=desk"))
    assert {e["resource"]["agent"][0]["who"]["display"] for e in body["entry"]} == {"desk"}


def test_search_by_date_range_and_partial_dates(auditor, log):
    def day(entry):
        return entry.recorded.date().isoformat() if entry.recorded.year == 2020 else None

    second = ids_where(log, lambda e: day(e) == "2020-03-02")
    assert len(second) == 3
    assert found(auditor.get(f"{URL}?date=ge2020-03-02&date=le2020-03-02")) == second
    assert found(auditor.get(f"{URL}?date=2020-03-02")) == second
    assert found(auditor.get(f"{URL}?date=2020-03")) == ids_where(log, lambda e: day(e) is not None)
    assert found(auditor.get(f"{URL}?date=lt2020-03-02")) == ids_where(log, lambda e: day(e) == "2020-03-01")
    assert found(auditor.get(f"{URL}?date=gt2020-03-02&date=lt2021")) == ids_where(
        log, lambda e: day(e) == "2020-03-03")
    # A time with its zone: 01:30 on the 3rd in Berlin is 00:30 UTC; only the 00:01 entries are earlier.
    assert found(auditor.get(f"{URL}?date=ge2020-03-02T23:59:00Z&date=lt2020-03-03T01:30:00%2B01:00")) == \
        ids_where(log, lambda e: (e.recorded.year, e.recorded.month) == (2020, 3) and e.recorded.day in (2, 3))
    assert found(auditor.get(f"{URL}?date=eq2020-03-01T09:00")) == ids_where(log, lambda e: day(e) == "2020-03-01")


def test_search_by_action_matches_the_action_of_each_audit_event(auditor, log):
    for code in ("C", "R", "U", "D", "E"):
        expected = sorted((e.id for e in AuditEntry.objects.all()
                           if selectors.as_fhir_audit_event(e)["action"] == code), reverse=True)
        got = found(auditor.get(f"{URL}?action={code}"))
        assert got == expected, code
        assert expected, code
    fixture_updates = ids_where(log, lambda e: e.action in ("update", "delete"))
    assert found(auditor.get(f"{URL}?action=U,D&date=2020")) == fixture_updates


def test_search_parameters_combine(auditor, log):
    expected = ids_where(log, lambda e: e.patient_id == "p2" and e.actor_name == "drwho" and e.action == "read")
    assert len(expected) == 1
    assert found(auditor.get(f"{URL}?patient=p2&agent=drwho&action=R&date=2020-03")) == expected


def test_an_event_says_who_did_what_to_whom(auditor, log):
    entry_id = ids_where(log, lambda e: e.action == "update")[0]
    [event] = [e["resource"] for e in bundle(auditor.get(f"{URL}?action=U&date=2020"))["entry"]]
    assert event["id"] == str(entry_id)
    assert event["action"] == "U" and event["outcome"] == "0"
    assert event["agent"][0]["who"]["display"] == "drwho"
    assert event["agent"][0]["network"]["address"] == "10.0.0.5"
    whats = [e["what"]["reference"] for e in event["entity"] if "what" in e]
    assert whats == ["Patient/p1", "Observation/o1"]
    assert event["recorded"].startswith("2020-03-02T23:59:00")


def test_paging_visits_every_entry_once_while_the_log_grows(auditor, log):
    first = bundle(auditor.get(f"{URL}?_count=3"))
    head = last_id() - 1  # the search's own audit-read entry came after it
    everything = list(AuditEntry.objects.filter(id__lte=head).order_by("-id").values_list("id", flat=True))
    assert first["total"] == len(everything) > 6
    seen = [int(e["resource"]["id"]) for e in first["entry"]]
    page = first
    pages = 1
    while True:
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not following:
            break
        audit.record(DRWHO, "read", patient_id="p9")  # the log grows while the auditor pages
        parts = urlsplit(following[0])
        page = bundle(auditor.get(f"{parts.path}?{parts.query}"))
        assert page["total"] == first["total"]
        assert len(page["entry"]) <= 3
        seen += [int(e["resource"]["id"]) for e in page["entry"]]
        pages += 1
    assert seen == everything  # newest first, each entry once, none of the later ones
    assert pages == -(-len(everything) // 3)


def test_paging_keeps_the_filters(auditor, log):
    body = bundle(auditor.get(f"{URL}?agent=drwho&_count=2"))
    seen = [int(e["resource"]["id"]) for e in body["entry"]]
    while next_links := [link["url"] for link in body["link"] if link["relation"] == "next"]:
        assert "agent=drwho" in next_links[0]
        parts = urlsplit(next_links[0])
        body = bundle(auditor.get(f"{parts.path}?{parts.query}"))
        seen += [int(e["resource"]["id"]) for e in body["entry"]]
    assert seen == ids_where(log, lambda e: e.actor_name == "drwho")


def test_count_zero_gives_only_the_total(auditor, log):
    body = bundle(auditor.get(f"{URL}?patient=p1&_count=0"))
    assert body["total"] == 3 and body["entry"] == []


def test_read_one_audit_event(auditor, log):
    entry_id = ids_where(log, lambda e: e.action == "delete")[0]
    response = auditor.get(f"{URL}/{entry_id}")
    assert response.status_code == 200
    event = json.loads(response.content)
    assert event["resourceType"] == "AuditEvent" and event["id"] == str(entry_id)
    assert event["action"] == "D"
    assert validate_resource(event) == []
    assert outcome(auditor.get(f"{URL}/999999"), 404)["issue"][0]["code"] == "not-found"
    assert outcome(auditor.get(f"{URL}/not-a-number"), 404)["issue"][0]["code"] == "not-found"


def test_every_entry_in_the_log_is_a_valid_audit_event(auditor, log):
    audit.record(DRWHO, "emergency-access", patient_id="p1", detail={"reason": "unconscious"})
    audit.record(Context(remote_addr="clinic-pc-7"), "login-failed", "denied")
    bundle(auditor.get(f"{URL}?_count=1000"))  # every entry validates (checked in bundle())


def test_searching_and_reading_are_logged(auditor, log):
    mark = last_id()
    auditor.get(f"{URL}?patient=p1")
    entry_id = ids_where(log, lambda e: e.action == "login")[0]
    auditor.get(f"{URL}/{entry_id}")
    search, read = since(mark)
    assert (search.action, search.outcome, search.actor_name) == ("audit-read", "success", "aud")
    assert search.query == f"{URL}?patient=p1" and search.resource_type == "AuditEvent"
    assert len(search.references) == 3
    assert search.patient_id is None  # looking at p1's entries is not a disclosure of p1's record
    assert (read.action, read.references) == ("audit-read", [f"AuditEvent/{entry_id}"])


# -- refusals -------------------------------------------------------------------------------------


def test_a_nurse_is_refused_and_sees_no_entries(log):
    nurse = FhirClient(token_for(staff_user("nurse1", "nurse")))
    mark = last_id()
    for url in (URL, f"{URL}?patient=p1", f"{URL}/{next(iter(log))}"):
        response = nurse.get(url)
        body = outcome(response, 403)
        text = response.content.decode()
        assert "entry" not in body and "drwho" not in text and "p1" not in text and "AuditEvent\"" not in text
        assert "audit.view" in body["issue"][0]["diagnostics"]
    refused = since(mark)
    assert [(e.action, e.outcome, e.actor_name) for e in refused] == [("audit-read", "denied", "nurse1")] * 3


def test_an_administrator_without_audit_view_is_refused_even_with_security_read(log):
    clerk = FhirClient(token_for(staff_user("clerk", permissions=["security.read", "clinical.read"])))
    outcome(clerk.get(URL), 403)


def test_no_token_is_401(log, anonymous_fhir):
    response = anonymous_fhir.get(URL)
    outcome(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    outcome(anonymous_fhir.get(f"{URL}/1"), 401)


def test_a_token_without_an_audit_event_scope_is_refused(log):
    user = staff_user("aud2", "auditor")
    narrow = FhirClient(token_for(user, scope="user/Patient.rs"))
    assert "user/AuditEvent.s" in outcome(narrow.get(URL), 403)["issue"][0]["diagnostics"]
    assert "scope" in outcome(narrow.get(f"{URL}/1"), 403)["issue"][0]["diagnostics"]
    read_only = FhirClient(token_for(user, scope="user/AuditEvent.r"))
    outcome(read_only.get(URL), 403)
    entry_id = next(iter(log))
    assert read_only.get(f"{URL}/{entry_id}").status_code == 200
    searching = FhirClient(token_for(user, scope="user/AuditEvent.rs"))
    assert searching.get(URL).status_code == 200


def test_a_token_launched_for_one_patient_sees_only_that_patients_entries(log):
    user = staff_user("aud3", "auditor")
    client = FhirClient(token_for(user, scope="patient/AuditEvent.rs", patient_id="p2"))
    assert found(client.get(URL)) == ids_where(log, lambda e: e.patient_id == "p2")
    assert found(client.get(f"{URL}?patient=p1")) == []
    other = ids_where(log, lambda e: e.patient_id == "p1")[0]
    outcome(client.get(f"{URL}/{other}"), 404)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_log_cannot_be_written(auditor, log, method):
    entry_id = next(iter(log))
    before = list(AuditEntry.objects.order_by("id").values_list("id", "hash"))
    for url in (URL, f"{URL}/{entry_id}"):
        send = getattr(auditor, method)
        response = send(url) if method == "delete" else send(url, {"resourceType": "AuditEvent"})
        body = outcome(response, 405)
        assert body["issue"][0]["code"] == "not-supported"
        assert "GET" in response["Allow"]
    assert list(AuditEntry.objects.filter(id__lte=before[-1][0]).order_by("id").values_list("id", "hash")) == before
    assert not AuditEntry.objects.filter(action__in=["create", "update", "patch", "delete"], id__gt=before[-1][0])


def test_post_search_by_form(auditor, log):
    response = auditor.client.post(f"{URL}/_search", {"patient": "p3"},
                                   headers={"Authorization": f"Bearer {auditor.token}"})
    assert found(response) == ids_where(log, lambda e: e.patient_id == "p3")


# -- bad requests ---------------------------------------------------------------------------------


def test_an_unknown_parameter_is_named(auditor, log):
    body = outcome(auditor.get(f"{URL}?subtype=read"), 400)
    assert "'subtype'" in body["issue"][0]["diagnostics"]
    assert "'agent:exact'" in outcome(auditor.get(f"{URL}?agent:exact=desk"), 400)["issue"][0]["diagnostics"]


def test_lenient_handling_ignores_an_unknown_parameter_with_a_warning(auditor, log):
    response = auditor.get(f"{URL}?patient=p3&subtype=read", Prefer="handling=lenient")
    assert response.status_code == 200
    body = json.loads(response.content)
    matches = [e for e in body["entry"] if e["search"]["mode"] == "match"]
    warnings = [e["resource"] for e in body["entry"] if e["search"]["mode"] == "outcome"]
    assert [int(e["resource"]["id"]) for e in matches] == ids_where(log, lambda e: e.patient_id == "p3")
    assert "'subtype'" in warnings[0]["issue"][0]["diagnostics"]


@pytest.mark.parametrize("query, named", [
    ("action=X", "action"),
    ("action=read", "action"),
    ("date=2020-13", "2020-13"),
    ("date=ap2020", "ap"),
    ("date=yesterday", "yesterday"),
    ("patient=Observation/o1", "patient"),
    ("patient=", "patient"),
    ("_count=many", "_count"),
    ("_before_id=-3", "_before_id"),
])
def test_bad_values_are_explained(auditor, log, query, named):
    mark = last_id()
    body = outcome(auditor.get(f"{URL}?{query}"), 400)
    assert named in body["issue"][0]["diagnostics"]
    assert "entry" not in body
    assert not [e for e in since(mark) if e.outcome == "success"]


def test_the_capability_statement_lists_what_the_endpoint_does(fhir):
    statement = json.loads(fhir.get("/fhir/R4/metadata").content)
    [entry] = [r for r in statement["rest"][0]["resource"] if r["type"] == "AuditEvent"]
    assert [i["code"] for i in entry["interaction"]] == ["read", "search-type"]
    assert sorted(p["name"] for p in entry["searchParam"]) == ["action", "agent", "date", "patient"]
    where = f"CapabilityStatement.rest[0].resource[{statement['rest'][0]['resource'].index(entry)}]"
    assert [i for i in validate_resource(statement) if (i.expression or "").startswith(where + ".")] == []
