"""The biller's pages: charges from a visit, the claim with its findings and fixes, batch sending, fee schedules."""

from __future__ import annotations

import pytest
from django.test import Client

from mederi.billing import claim_status
from mederi.billing.claims import fees
from mederi.billing.claims.tables import FeeScheduleEntry
from mederi.billing.models import Interchange, PayerConnection
from mederi.billing.tests.conftest import connect, system_repository
from mederi.billing.tests.test_claims_flow import SYSTEM, visit  # noqa: F401 (visit is a fixture)
from mederi.conftest import record_row_counts, staff_user


@pytest.fixture
def biller(visit):  # noqa: F811
    client = Client()
    client.force_login(staff_user("bea", "biller"))
    fees.set_price(SYSTEM, fees.default_schedule(), "99396", "", "180.00")
    connect(PayerConnection.STANDIN)
    return client


def charge_form(**fields) -> dict:
    form = {"rows": "2", "dx_1": "Z00.00", "dx_2": "I10", "code_0": "99396", "units_0": "1", "pos_0": "11",
            "ptr_0_1": "1", "code_1": "99213", "units_1": "1", "pos_1": "11", "ptr_1_1": "2", "action": "create"}
    form.update(fields)
    return form


def test_a_header_diagnosis_is_refused_with_billable_choices_and_nothing_is_stored(biller):
    before = record_row_counts()
    response = biller.post("/billing/charges/visit/visit-jane/", charge_form(dx_2="E11"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was stored" in page and "is a header, not a billable code" in page
    assert 'value="2:E11.00"' in page  # a button to pick the billable child
    assert record_row_counts() == before
    picked = biller.post("/billing/charges/visit/visit-jane/", charge_form(dx_2="E11", pick="2:E11.9"))
    assert 'value="E11.9"' in picked.content.decode()


def test_review_shows_the_fee_schedule_price_of_each_line(biller):
    response = biller.post("/billing/charges/visit/visit-jane/", charge_form(action="review"))
    page = response.content.decode()
    assert "180.00" in page and "120.00" in page and 'id="charge-total">300.00<' in page


def test_a_visit_becomes_a_claim_whose_finding_is_fixed_scrubbed_and_sent(biller):
    response = biller.post("/billing/charges/visit/visit-jane/", charge_form())
    assert response.status_code == 302
    claim_url = response["Location"]
    claim_id = claim_url.rstrip("/").rsplit("/", 1)[1]
    page = biller.get(claim_url).content.decode()
    assert "99213 with 99396 needs modifier 25" in page and 'href="#claim-item-2-modifier"' in page
    assert 'id="claim-item-2-modifier"' in page
    refused = biller.post(f"{claim_url}act/", {"action": "line", "sequence": "2", "modifier": ["2X"], "units": "1",
                                               "pointer": ["2"]})
    assert refused.status_code == 400 and "Unknown modifier 2X" in refused.content.decode()
    biller.post(f"{claim_url}act/", {"action": "line", "sequence": "2", "modifier": ["25", "", "", ""],
                                     "units": "1", "pointer": ["2"]})
    assert "The scrubber finds nothing to fix" in biller.get(claim_url).content.decode()
    biller.post(f"{claim_url}act/", {"action": "scrub"})
    biller.post(f"{claim_url}act/", {"action": "submit"})
    claim = system_repository().read("Claim", claim_id).as_dict()
    assert claim_status.status_of(claim) == "submitted"
    sent = Interchange.objects.get(kind="837")
    assert "SV1*HC:99213:25*120.00*UN*1***2~" in sent.content
    page = biller.get(claim_url).content.decode()
    assert sent.request_id in page and "Submitted" in page
    assert biller.get(f"{claim_url}cms1500.pdf").content.startswith(b"%PDF")


def test_ticked_claims_are_sent_as_a_job_whose_progress_the_page_shows(biller, django_capture_on_commit_callbacks):
    response = biller.post("/billing/charges/visit/visit-jane/", charge_form(code_0="99213", code_1="", ptr_0_1="2"))
    ids = [response["Location"].rstrip("/").rsplit("/", 1)[1]]
    biller.post(f"/billing/claims/{ids[0]}/act/", {"action": "scrub"})
    with django_capture_on_commit_callbacks(execute=True):  # the job is queued when the request commits
        response = biller.post("/billing/claims/submit/", {"claim": ids})
    assert response.status_code == 302
    page = biller.get(response["Location"]).content.decode()
    assert "1 of 1 claims handled, 1 sent" in page and "finished" in page


def test_a_fee_schedule_price_is_refused_at_its_field_or_saved(biller):
    schedule = fees.default_schedule()
    before = FeeScheduleEntry.objects.count()
    bad = biller.post(f"/billing/fees/{schedule.pk}/", {"code": "99214", "modifiers": "", "price": "12.345"})
    assert bad.status_code == 400 and "at most two decimals" in bad.content.decode()
    assert FeeScheduleEntry.objects.count() == before
    biller.post(f"/billing/fees/{schedule.pk}/", {"code": "99214", "modifiers": "", "price": "165.00"})
    assert "165.00" in biller.get(f"/billing/fees/{schedule.pk}/").content.decode()
    payer = biller.post("/billing/fees/", {"payer": "payer-acme"})
    assert "Acme Health Plan fee schedule" in biller.get(payer["Location"]).content.decode()
