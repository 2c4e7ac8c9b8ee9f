"""The demo's registration details load once and stay put when loaded again."""

from datetime import date

from mederi.conftest import record_row_counts
from mederi.core.context import Context
from mederi.demo import demo_resources
from mederi.fhir.repository import Repository
from mederi.patients import selectors
from mederi.patients.demo import load_demo
from mederi.patients.tests.conftest import role_context


def test_loading_twice_changes_nothing(db):
    repo = Repository(Context.system("t"))
    with repo.atomic():
        for resource in demo_resources(date(2026, 11, 2)):
            repo.update(resource["resourceType"], resource["id"], resource)
    assert load_demo(date(2026, 11, 2)) > 0
    before = record_row_counts()
    assert load_demo(date(2026, 11, 2)) == 0
    assert record_row_counts() == before
    desk = role_context("front_desk")
    chart = selectors.patient_chart(desk, "demo-pat-3", audit_as=None)
    assert [(c.order, c.payer_name) for c in chart.coverages] == [("Primary", "Medicare Part B"),
                                                                  ("Secondary", "Acme Health Plan")]
    assert [g["id"] for g in selectors.patient_chart(desk, "demo-pat-4", audit_as=None).guarantors] == [
        "demo-pat-4-guarantor"]
    assert selectors.contact_preferences(Context.system("t"), "demo-pat-1") == {"sms": True, "email": True}
