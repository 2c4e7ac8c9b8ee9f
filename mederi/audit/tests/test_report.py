"""The audit report, its CSV export and the accounting of disclosures, as an auditor meets them."""

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from django.test import Client

from mederi.accounts import services
from mederi.audit import selectors
from mederi.audit import services as audit
from mederi.audit.models import AuditEntry
from mederi.audit.tests.helpers import last_id, since
from mederi.core import clock
from mederi.core.context import Context

PASSWORD = "correct-horse-battery-9"
DRWHO = Context(user_id=501, user_name="drwho", role="physician", remote_addr="10.0.0.5")
DESK = Context(user_id=502, user_name="desk", role="front_desk", remote_addr="10.0.0.6")


@pytest.fixture
def people(db):
    services.ensure_default_roles()
    services.create_staff_user("auditor1", PASSWORD, "Ada Auditor", roles=["auditor"], mfa_required=False)
    services.create_staff_user("nurse1", PASSWORD, "Nora Nurse", roles=["nurse"], mfa_required=False)


def signed_in(username: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def auditor(people) -> Client:
    return signed_in("auditor1")


def at(monkeypatch, *when):
    monkeypatch.setattr(clock, "now", lambda: datetime(*when, tzinfo=timezone.utc))


@pytest.fixture
def history(people, monkeypatch):
    """A small log: two people, three patients, three days."""
    at(monkeypatch, 2026, 3, 1, 9, 0)
    audit.record(DRWHO, "read", patient_id="p1", resource_type="Patient", resource_ids=["Patient/p1"])
    audit.record(DESK, "search", patient_id="p2", resource_type="Patient", resource_ids=["Patient/p2"])
    at(monkeypatch, 2026, 3, 2, 23, 59)
    audit.record(DRWHO, "update", patient_id="p1", resource_type="Observation", resource_ids=["Observation/o1"])
    audit.record(DESK, "read", "not-found", patient_id="p3", resource_type="Patient")
    at(monkeypatch, 2026, 3, 3, 0, 1)
    audit.record(DRWHO, "read", "denied", patient_id="p2", resource_type="Patient")
    monkeypatch.undo()


def rows(response) -> list[str]:
    """The table rows of a report page, as text."""
    html = response.content.decode()
    return [chunk.split("</tr>")[0] for chunk in html.split('<tr class="audit-entry">')[1:]]


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_report_needs_a_signed_in_person(db):
    response = Client().get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_nurse_is_refused_and_an_auditor_let_in(people):
    for url in ("/audit/", "/audit/export.csv", "/audit/patients/p1/", "/audit/patients/p1/export.csv"):
        refused = signed_in("nurse1").get(url)
        assert refused.status_code == 403 and b"You may not see the audit log" in refused.content
    assert signed_in("auditor1").get("/audit/").status_code == 200


def test_only_people_who_may_see_the_log_are_offered_the_link(people):
    assert b'href="/audit/">Audit</a>' in signed_in("auditor1").get("/").content
    assert b'href="/audit/">Audit</a>' not in signed_in("nurse1").get("/").content


def test_viewing_the_report_is_itself_logged(auditor):
    mark = last_id()
    response = auditor.get("/audit/?action=read", REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 200
    [entry] = since(mark)
    assert (entry.action, entry.actor_name, entry.actor_role, entry.remote_addr) == (
        "audit-read", "auditor1", "auditor", "10.9.9.9")
    assert entry.query == "/audit/?action=read"


def test_rows_are_newest_first_and_show_who_what_and_from_where(auditor, history):
    shown = rows(auditor.get("/audit/?patient=p1"))
    assert len(shown) == 2
    assert "2026-03-02 23:59:00" in shown[0] and "update" in shown[0] and "Observation/o1" in shown[0]
    assert "drwho" in shown[0] and "(physician)" in shown[0] and "10.0.0.5" in shown[0]
    assert "2026-03-01 09:00:00" in shown[1] and "Patient/p1" in shown[1]


@pytest.mark.parametrize("query, expected", [
    ("patient=p2", 2),
    ("user=desk", 2),
    ("user=DRWHO", 3),
    ("action=read", 3),
    ("action=read&outcome=denied", 1),
    ("outcome=not-found", 1),
    ("date_from=2026-03-02&date_to=2026-03-02", 2),
    ("date_from=2026-03-03&date_to=2026-03-03", 1),
    ("date_to=2026-03-01", 2),
    ("user=drwho&patient=p1&action=update", 1),
    ("patient=nobody", 0),
])
def test_filters_narrow_the_rows(auditor, history, query, expected):
    response = auditor.get(f"/audit/?{query}")
    assert response.status_code == 200
    assert len(rows(response)) == expected
    assert f"{expected} entr".encode() in response.content


def test_dates_the_wrong_way_round_are_explained(auditor, history):
    response = auditor.get("/audit/?date_from=2026-03-03&date_to=2026-03-01")
    assert b"The &#x27;from&#x27; date is after the &#x27;to&#x27; date." in response.content
    assert rows(response) == []


def test_the_filter_form_is_keyboard_usable(auditor):
    html = auditor.get("/audit/").content.decode()
    for name in ("patient", "user", "action", "outcome", "date_from", "date_to"):
        assert f'<label for="id_{name}">' in html and f'id="id_{name}"' in html
    assert '<button type="submit">Show entries</button>' in html


def test_pages_hold_fifty_rows_and_htmx_gets_only_the_table(auditor, monkeypatch):
    audit.record_many(DESK, [audit.Event("read", patient_id="bulk", resource_ids=[f"Patient/bulk{i}"])
                             for i in range(60)])
    first = auditor.get("/audit/?patient=bulk")
    assert len(rows(first)) == 50 and "Patient/bulk59" in rows(first)[0]
    assert b"Page 1 of 2" in first.content
    second = auditor.get("/audit/?patient=bulk&page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="audit-results")
    assert len(rows(second)) == 10 and "Patient/bulk0" in rows(second)[-1]
    assert b"<html" not in second.content and b"60 entries" in second.content


def test_the_csv_holds_a_header_and_one_line_per_entry_and_is_logged(auditor, history):
    expected = AuditEntry.objects.count()
    mark = last_id()
    response = auditor.get("/audit/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == "id,recorded,user,role,action,outcome,patient,resources,purpose,from,query,detail"
    assert len(lines) == 1 + expected
    [entry] = since(mark)
    assert entry.action == "export" and entry.actor_name == "auditor1"
    assert json.loads(entry.detail) == {"report": "audit", "rows": expected}


def test_the_csv_follows_the_filters(auditor, history):
    found = csv_rows(auditor.get("/audit/export.csv?user=drwho&action=read"))
    assert [(r["user"], r["action"], r["outcome"], r["patient"]) for r in found] == [
        ("drwho", "read", "denied", "p2"), ("drwho", "read", "success", "p1")]
    assert found[1]["resources"] == "Patient/p1" and found[1]["from"] == "10.0.0.5"


def test_the_csv_cannot_smuggle_a_spreadsheet_formula(auditor):
    audit.record(Context(user_name="=HYPERLINK(1)"), "read", patient_id="p9")
    [row] = csv_rows(auditor.get("/audit/export.csv?patient=p9"))
    assert row["user"] == "'=HYPERLINK(1)"


def test_the_accounting_of_disclosures_lists_that_patients_accesses_only(fhir, people):
    chalmers = fhir.create({"resourceType": "Patient", "name": [{"family": "Chalmers"}]})
    other = fhir.create({"resourceType": "Patient", "name": [{"family": "Other"}]})
    assert fhir.get(f"/fhir/R4/Patient/{chalmers['id']}").status_code == 200
    assert fhir.get(f"/fhir/R4/Patient/{other['id']}").status_code == 200
    auditor = signed_in("auditor1")

    page = auditor.get(f"/audit/patients/{chalmers['id']}/")
    assert page.status_code == 200
    shown = rows(page)
    assert len(shown) == 2  # created, then read
    assert "read" in shown[0] and "create" in shown[1]
    assert all(f"Patient/{chalmers['id']}" in row and other["id"] not in row for row in shown)
    assert "treatment" in shown[0]  # the purpose

    mark = last_id()
    found = csv_rows(auditor.get(f"/audit/patients/{chalmers['id']}/export.csv"))
    assert [r["action"] for r in found] == ["read", "create"]
    assert {r["patient"] for r in found} == {chalmers["id"]}
    [entry] = since(mark)
    assert entry.action == "export" and json.loads(entry.detail)["patient"] == chalmers["id"]
    # Looking at the accounting is not itself a disclosure of the patient's data.
    assert len(rows(auditor.get(f"/audit/patients/{chalmers['id']}/"))) == 2


def test_the_chain_still_verifies_after_reports_and_exports(auditor, history):
    auditor.get("/audit/?action=read")
    b"".join(auditor.get("/audit/export.csv").streaming_content)
    auditor.get("/audit/patients/p1/")
    auditor.post("/accounts/logout/")
    assert selectors.verify_chain().ok
    actions = [e.action for e in since(0)]
    assert actions[-4:] == ["audit-read", "export", "audit-read", "logout"]
