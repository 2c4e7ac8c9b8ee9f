"""The demo practice checks eligibility with no network: the stand-in payer runs in the process."""

from __future__ import annotations

import datetime as dt

import pytest

from mederi.billing import demo
from mederi.billing.connectors import InProcessConnector, connector_for
from mederi.billing.models import PayerConnection
from mederi.billing.services import check_eligibility
from mederi.billing.standin_payer import PlanTable, demo_plans
from mederi.conftest import record_row_counts
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.bundles import BundleProcessor
from mederi.fhir.repository import Repository

from .conftest import context_of


@pytest.fixture
def demo_practice(db):
    from mederi.demo import demo_resources

    resources = demo_resources(dt.date(2026, 11, 2))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in resources]}
    BundleProcessor(Repository(Context.system("test"))).process(bundle)
    return demo.load_demo(dt.date(2026, 11, 2))


def test_the_demo_payers_are_reached_through_the_stand_in(demo_practice):
    repository = Repository(Context.system("test"))
    acme = repository.read("Organization", "demo-payer-acme").as_dict()
    practice = repository.read("Organization", "demo-practice").as_dict()

    assert {"system": systems.PAYER_ID, "value": "ACME01"} in acme["identifier"]
    assert {"system": systems.NPI, "value": demo.PRACTICE_NPI} in practice["identifier"]
    assert acme["name"] == "Acme Health Plan"
    connections = {c.organization_id: c.transport for c in PayerConnection.objects.all()}
    assert connections == {"demo-payer-acme": "standin", "demo-payer-medicare": "standin"}
    assert isinstance(connector_for(PayerConnection.objects.first()), InProcessConnector)


def test_loading_it_again_changes_nothing(demo_practice):
    before = record_row_counts()

    assert demo.load_demo(dt.date(2026, 11, 2)) == "billing demo: already in place"
    assert record_row_counts() == before


def test_the_demo_shows_good_news_and_bad_news_in_words(demo_practice):
    front_desk = context_of("fran", "front_desk")
    # demo-pat-6 is a restricted chart: the front desk would have to break the glass, so the system checks it here.
    results = {pid: check_eligibility(front_desk if pid != "demo-pat-6" else Context.system("test"),
                                      f"{pid}-coverage", service_types=("30", "98"))
               for pid in (f"demo-pat-{n}" for n in range(1, 7))}

    assert {pid: s.status for pid, s in results.items()} == {
        "demo-pat-1": "active", "demo-pat-2": "active", "demo-pat-3": "active",
        "demo-pat-4": "inactive", "demo-pat-5": "rejected", "demo-pat-6": "active"}
    assert results["demo-pat-1"].plan_name == "ACME GOLD PPO"
    assert str(results["demo-pat-1"].copay) == "25.00"
    assert results["demo-pat-5"].messages[0].startswith("The payer can't find this member")
    assert results["demo-pat-4"].messages[0].startswith("Coverage not active (ended ")


def test_without_the_demo_practice_it_says_so(db):
    assert demo.load_demo(dt.date(2026, 11, 2)) == "billing demo skipped: load the demo practice first"


def test_the_plan_table_answers_only_270s():
    table = PlanTable(demo_plans(2026))

    assert table(b"ISA...", "837P") is None
    assert set(demo_plans(2026)) == {"SUB77000", "SUB77001", "SUB77002", "SUB77003", "SUB77005"}


def test_a_stand_in_that_breaks_is_a_connector_failure():
    from mederi.billing.clearinghouse import ClearinghouseError

    def broken(payload, kind):
        raise RuntimeError("eligibility database offline")

    with pytest.raises(ClearinghouseError, match="eligibility database offline"):
        InProcessConnector(broken).exchange(b"ISA", kind="270")
    with pytest.raises(ClearinghouseError, match="no answer") as silent:
        InProcessConnector(lambda payload, kind: None).exchange(b"ISA", kind="270")
    assert silent.value.retryable
