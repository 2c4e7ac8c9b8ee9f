"""Every FHIR interaction with patient data leaves exactly the expected audit entries."""

from __future__ import annotations

import base64
import json

import orjson
import pytest

from mederi import cli
from mederi.audit.models import AuditEntry
from mederi.audit.selectors import verify_chain
from mederi.audit.tests.helpers import last_id, since
from mederi.conftest import record_row_counts
from mederi.fhir.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def chart(fhir):
    """Two patients, an observation of the first; the audit mark is taken after setup."""
    fhir.put("/fhir/R4/Patient/ana", f.patient("ana", family="Moreno", given=["Ana"]))
    fhir.put("/fhir/R4/Patient/ben", f.patient("ben", family="Moreno", given=["Ben"]))
    fhir.put("/fhir/R4/Observation/bp1", f.observation("bp1", subject="Patient/ana"))
    return fhir


def one(mark: int) -> AuditEntry:
    new = since(mark)
    assert len(new) == 1, [(e.action, e.outcome, e.resource_ids) for e in new]
    return new[0]


def test_create_is_logged_with_the_new_id(fhir):
    mark = last_id()
    created = fhir.create(f.patient(family="Quispe"))
    entry = one(mark)
    assert (entry.action, entry.outcome) == ("create", "success")
    assert entry.references == [f"Patient/{created['id']}"]
    assert entry.patient_id == created["id"]
    assert (entry.actor_name, entry.remote_addr) == ("integration", "127.0.0.1")


def test_create_of_a_patients_resource_names_the_patient(chart):
    mark = last_id()
    created = chart.create(f.observation(subject="Patient/ana"))
    entry = one(mark)
    assert (entry.action, entry.resource_type, entry.patient_id) == ("create", "Observation", "ana")
    assert entry.references == [f"Observation/{created['id']}"]


def test_read_and_vread(chart):
    mark = last_id()
    assert chart.get("/fhir/R4/Observation/bp1").status_code == 200
    entry = one(mark)
    assert (entry.action, entry.outcome, entry.patient_id) == ("read", "success", "ana")
    assert entry.references == ["Observation/bp1"]
    assert entry.query == "/fhir/R4/Observation/bp1"

    mark = last_id()
    assert chart.get("/fhir/R4/Patient/ben/_history/1").status_code == 200
    entry = one(mark)
    assert (entry.action, entry.patient_id, entry.references) == ("vread", "ben", ["Patient/ben"])


def test_a_conditional_read_answered_304_is_still_a_read(chart):
    mark = last_id()
    assert chart.get("/fhir/R4/Patient/ana", **{"If-None-Match": 'W/"1"'}).status_code == 304
    assert one(mark).action == "read"


def test_search_logs_the_query_and_every_returned_id(chart):
    mark = last_id()
    response = chart.get("/fhir/R4/Patient?family=moreno")
    assert response.json()["total"] == 2
    entry = one(mark)
    assert (entry.action, entry.resource_type, entry.patient_id) == ("search", "Patient", None)
    assert sorted(entry.references) == ["Patient/ana", "Patient/ben"]
    assert entry.query == "/fhir/R4/Patient?family=moreno"


def test_search_for_one_patient_names_the_patient(chart):
    mark = last_id()
    assert chart.get("/fhir/R4/Observation?patient=ana").json()["total"] == 1
    entry = one(mark)
    assert (entry.patient_id, entry.references) == ("ana", ["Observation/bp1"])

    mark = last_id()
    assert chart.get("/fhir/R4/Observation?subject=Patient/ben").json().get("total") == 0
    entry = one(mark)
    assert (entry.patient_id, entry.references) == ("ben", [])


def test_post_search_logs_its_form_parameters(chart):
    mark = last_id()
    response = chart.client.post("/fhir/R4/Patient/_search", {"family": "moreno", "given": "ana"},
                                 headers={"Authorization": f"Bearer {chart.token}"})
    assert response.json()["total"] == 1
    entry = one(mark)
    assert entry.action == "search"
    assert entry.query == "/fhir/R4/Patient/_search?family=moreno&given=ana"
    assert (entry.patient_id, entry.references) == ("ana", ["Patient/ana"])


def test_included_resources_are_logged_too(chart):
    mark = last_id()
    bundle = chart.get("/fhir/R4/Observation?_id=bp1&_include=Observation:subject").json()
    assert len(bundle["entry"]) == 2
    assert sorted(one(mark).references) == ["Observation/bp1", "Patient/ana"]


def test_update_patch_and_delete(chart):
    mark = last_id()
    changed = f.observation("bp1", subject="Patient/ana", status="amended")
    assert chart.put("/fhir/R4/Observation/bp1", changed).status_code == 200
    entry = one(mark)
    assert (entry.action, entry.patient_id, entry.references) == ("update", "ana", ["Observation/bp1"])

    mark = last_id()
    patch = [{"op": "replace", "path": "/status", "value": "corrected"}]
    assert chart.patch("/fhir/R4/Observation/bp1", patch).status_code == 200
    entry = one(mark)
    assert (entry.action, entry.patient_id, entry.references) == ("patch", "ana", ["Observation/bp1"])

    mark = last_id()
    assert chart.delete("/fhir/R4/Observation/bp1").status_code == 204
    entry = one(mark)
    assert (entry.action, entry.patient_id, entry.references) == ("delete", "ana", ["Observation/bp1"])


def test_writes_that_store_nothing_are_logged_as_such(chart):
    mark = last_id()
    same = f.patient("ana", family="Moreno", given=["Ana"])
    assert chart.put("/fhir/R4/Patient/ana", same).status_code == 200
    entry = one(mark)
    assert (entry.action, entry.patient_id, json.loads(entry.detail)) == ("update", "ana", {"written": False})

    mark = last_id()
    assert chart.delete("/fhir/R4/Patient/nobody").status_code == 204
    entry = one(mark)
    assert (entry.action, entry.references, json.loads(entry.detail)) == (
        "delete", ["Patient/nobody"], {"written": False})


def test_a_write_and_its_entry_are_one_transaction(chart):
    # the repository flushes the write before running the GET, whose 404 then fails the bundle
    before = record_row_counts()
    mark = last_id()
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": f.patient("carl", family="Diaz"), "request": {"method": "PUT", "url": "Patient/carl"}},
        {"request": {"method": "GET", "url": "Patient/nobody"}},
    ]}
    assert chart.post("/fhir/R4/", bundle).status_code == 404
    assert record_row_counts() == before
    assert [(e.action, e.outcome) for e in since(mark)] == [("transaction", "not-found")]


def test_history_and_everything(chart):
    mark = last_id()
    assert chart.get("/fhir/R4/Observation/bp1/_history").json()["total"] == 1
    entry = one(mark)
    assert (entry.action, entry.patient_id, entry.references) == ("history", "ana", ["Observation/bp1"])

    mark = last_id()
    assert chart.get("/fhir/R4/Patient/_history").json()["total"] == 2
    entry = one(mark)
    assert (entry.action, entry.patient_id, sorted(entry.references)) == ("history", None,
                                                                          ["Patient/ana", "Patient/ben"])

    mark = last_id()
    everything = chart.get("/fhir/R4/Patient/ana/$everything").json()
    assert everything["total"] == 2
    entry = one(mark)
    assert (entry.action, entry.patient_id) == ("everything", "ana")
    assert sorted(entry.references) == ["Observation/bp1", "Patient/ana"]


def test_a_transaction_logs_its_writes_per_patient_and_its_reads(chart):
    mark = last_id()
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:new-patient", "resource": f.patient(family="Nakamura"),
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": f.observation(subject="urn:uuid:new-patient"), "request": {"method": "POST", "url": "Observation"}},
        {"resource": f.observation("bp2", subject="Patient/ben"), "request": {"method": "PUT", "url": "Observation/bp2"}},
        {"request": {"method": "GET", "url": "Patient/ana"}},
    ]}
    response = chart.post("/fhir/R4/", bundle)
    assert response.status_code == 200
    new_patient = response.json()["entry"][0]["response"]["location"].split("/")[1]
    new_obs = response.json()["entry"][1]["response"]["location"].split("/")[1]
    entries = since(mark)
    summary = [(e.action, e.patient_id, sorted(e.references)) for e in entries]
    assert summary == [
        ("create", new_patient, sorted([f"Patient/{new_patient}", f"Observation/{new_obs}"])),
        ("create", "ben", ["Observation/bp2"]),
        ("read", "ana", ["Patient/ana"]),
    ]


def test_a_batch_logs_each_entry_including_failures(chart):
    mark = last_id()
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Observation?patient=ana"}},
        {"request": {"method": "GET", "url": "Patient/nobody"}},
        {"resource": {"resourceType": "Patient", "gender": "sometimes"}, "request": {"method": "POST", "url": "Patient"}},
    ]}
    response = chart.post("/fhir/R4/", bundle)
    assert [e["response"]["status"][:3] for e in response.json()["entry"]] == ["200", "404", "400"]
    summary = [(e.action, e.outcome, e.patient_id, e.references) for e in since(mark)]
    assert summary == [
        ("search", "success", "ana", ["Observation/bp1"]),
        ("read", "not-found", None, []),
        ("create", "error", None, []),
    ]


# -- failures --------------------------------------------------------------------------------------


def test_a_failed_read_is_logged_without_data(chart):
    mark = last_id()
    assert chart.get("/fhir/R4/Patient/nobody").status_code == 404
    entry = one(mark)
    assert (entry.action, entry.outcome, entry.patient_id) == ("read", "not-found", "nobody")
    assert json.loads(entry.detail) == {"issue": ["not-found"], "status": 404}

    chart.delete("/fhir/R4/Observation/bp1")
    mark = last_id()
    assert chart.get("/fhir/R4/Observation/bp1").status_code == 410
    assert (one(mark).action, one(mark).outcome) == ("read", "not-found")


def test_a_failed_write_logs_an_error_and_stores_nothing(chart):
    before = record_row_counts()
    mark = last_id()
    response = chart.post("/fhir/R4/Patient", {"resourceType": "Patient", "birthDate": "yesterday"})
    assert response.status_code == 400
    entry = one(mark)
    assert (entry.action, entry.outcome, entry.references, entry.patient_id) == ("create", "error", [], None)
    assert json.loads(entry.detail)["status"] == 400
    assert "yesterday" not in entry.detail
    assert record_row_counts() == before


def test_a_refused_update_logs_an_error_and_keeps_the_version(chart):
    mark = last_id()
    stale = chart.put("/fhir/R4/Patient/ana", f.patient("ana", family="Other"), **{"If-Match": 'W/"7"'})
    assert stale.status_code == 412
    entry = one(mark)
    assert (entry.action, entry.outcome, entry.references) == ("update", "error", ["Patient/ana"])
    assert chart.get("/fhir/R4/Patient/ana").json()["meta"]["versionId"] == "1"


def test_a_failed_transaction_logs_one_error_and_no_writes(chart):
    before = record_row_counts()
    mark = last_id()
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": f.patient(family="Fine"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "gender": "sometimes"}, "request": {"method": "POST", "url": "Patient"}},
    ]}
    assert chart.post("/fhir/R4/", bundle).status_code == 400
    entry = one(mark)
    assert (entry.action, entry.outcome) == ("transaction", "error")
    assert record_row_counts() == before


def test_a_bad_search_is_logged_as_an_error(chart):
    mark = last_id()
    assert chart.get("/fhir/R4/Patient?birthdate=notadate").status_code == 400
    entry = one(mark)
    assert (entry.action, entry.outcome, entry.references) == ("search", "error", [])
    assert entry.query == "/fhir/R4/Patient?birthdate=notadate"


def test_requests_without_patient_data_are_not_logged(chart):
    mark = last_id()
    assert chart.get("/fhir/R4/metadata").status_code == 200
    assert chart.post("/fhir/R4/Patient/$validate", f.patient(family="X")).status_code == 200
    assert since(mark) == []


def test_the_log_stays_verifiable_through_a_session_of_requests(chart):
    chart.get("/fhir/R4/Patient/ana")
    chart.get("/fhir/R4/Observation?patient=ana")
    chart.get("/fhir/R4/Patient/nobody")
    chart.delete("/fhir/R4/Observation/bp1")
    result = verify_chain()
    assert result.ok
    assert result.entries == AuditEntry.objects.count() >= 7


# -- the command line ------------------------------------------------------------------------------


def run_cli(*argv: str) -> int:
    args = cli.build_parser().parse_args(list(argv))
    return args.func(args)


def test_export_logs_one_entry_per_type(chart, tmp_path, capsys):
    mark = last_id()
    assert run_cli("export", "--out", str(tmp_path), "-q") == 0
    summary = [(e.action, e.actor_name, e.resource_type, json.loads(e.detail)) for e in since(mark)]
    assert summary == [("export", "system:export", "Observation", {"count": 1}),
                       ("export", "system:export", "Patient", {"count": 2})]
    assert since(mark)[0].query.endswith("Observation.ndjson")


def test_audit_verify_exit_codes(chart, capsys):
    assert run_cli("audit", "verify") == 0
    out = capsys.readouterr().out
    count = AuditEntry.objects.count()
    assert out.splitlines()[0] == f"audit log intact: {count} entries"
    head = out.splitlines()[1].removeprefix("head: ")
    assert run_cli("audit", "verify", "--anchor", head) == 0
    capsys.readouterr()

    from mederi.audit.tests.helpers import sql, without_triggers

    without_triggers()
    victim = AuditEntry.objects.order_by("id")[1]
    sql("UPDATE audit_entry SET patient_id = %s WHERE id = %s", ["someone-else", victim.id])
    assert run_cli("audit", "verify") == 1
    assert capsys.readouterr().out.strip() == f"audit log BROKEN at entry {victim.id}: hash does not match content"


# -- the FHIR AuditEvent view ----------------------------------------------------------------------


def test_every_kind_of_entry_is_a_valid_audit_event(chart):
    from mederi.audit import services
    from mederi.audit.selectors import as_fhir_audit_event
    from mederi.core.context import Context
    from mederi.fhir.validation import validate_resource

    chart.get("/fhir/R4/Observation?patient=ana")
    chart.get("/fhir/R4/Patient/nobody")
    context = Context(user_id=3, user_name="front.desk", role="front-desk", remote_addr="192.0.2.4",
                      purpose="payment")
    for action in sorted(services.ACTIONS):
        services.record(context, action, detail={"why": "test"})
    services.record(Context(remote_addr="clinic-pc-7", purpose="research"), "login-failed", "denied")
    for entry in AuditEntry.objects.order_by("id"):
        event = as_fhir_audit_event(entry)
        assert validate_resource(orjson.loads(orjson.dumps(event))) == [], (entry.action, event)


def test_audit_event_content(chart):
    from mederi.audit.selectors import as_fhir_audit_event

    mark = last_id()
    chart.get("/fhir/R4/Observation?patient=ana")
    event = as_fhir_audit_event(one(mark))
    assert event["type"]["code"] == "rest"
    assert event["subtype"] == [{"system": "http://hl7.org/fhir/restful-interaction", "code": "search"}]
    assert (event["action"], event["outcome"]) == ("E", "0")
    assert event["agent"][0]["who"]["display"] == "integration"
    assert event["agent"][0]["requestor"] is True
    assert event["source"]["observer"] == {"display": "Mederi"}
    whats = [e["what"]["reference"] for e in event["entity"] if "what" in e]
    assert whats == ["Patient/ana", "Observation/bp1"]
    query = [e["query"] for e in event["entity"] if "query" in e][0]
    assert base64.b64decode(query).decode() == "/fhir/R4/Observation?patient=ana"
    assert event["recorded"].endswith("Z")

    mark = last_id()
    chart.get("/fhir/R4/Patient/nobody")
    failed = as_fhir_audit_event(one(mark))
    assert (failed["action"], failed["outcome"], failed["subtype"][0]["code"]) == ("R", "4", "read")
