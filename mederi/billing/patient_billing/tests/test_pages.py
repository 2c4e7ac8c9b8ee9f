"""The patient billing pages as a biller uses them: a statement, a card payment, a plan, the run page, refusals."""

from __future__ import annotations

import io
from decimal import Decimal

from pypdf import PdfReader

from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.remittance.tests.test_pages import signed_in

from ..models import CardCharge, PaymentPlan, Statement
from .conftest import NO_FUNDS, VISA, typed

URL = "/billing/patient-billing/patients/pat-jane/"


def test_a_biller_makes_a_statement_and_downloads_it(owing, gateway):
    client = signed_in("bea", "biller")
    page = client.post(URL, {"action": "statement"}, follow=True).content.decode()
    statement = Statement.objects.get()
    assert f"Statement {statement.number} made: balance due 20.00" in page
    download = client.get(f"/billing/patient-billing/statements/{statement.number}.pdf")
    assert download["Content-Type"] == "application/pdf"
    assert "Balance due: $20.00" in PdfReader(io.BytesIO(download.content)).pages[0].extract_text()
    listing = client.get("/billing/patient-billing/statements/").content.decode()
    assert "Jane Doe" in listing and statement.number in listing


def test_a_card_payment_kept_on_file_then_a_plan_on_the_page(owing, gateway):
    client = signed_in("bea", "biller")
    page = client.post(URL, {"action": "pay", "pay-amount": "5.00", "pay-token": typed(VISA, holder="Jane Doe"),
                             "pay-holder": "Jane Doe", "pay-keep": "on"}, follow=True)
    assert "5.00 paid by visa ending 4242: receipt R" in page.content.decode()
    card = CardCharge.objects.get().card
    page = client.post(URL, {"action": "plan", "plan-amount": "15.00", "plan-months": "3",
                             "plan-first_due": "2026-04-01", "plan-card": str(card.pk)}, follow=True).content.decode()
    assert "Payment plan of 15.00 in 3 monthly instalments set up." in page
    assert "2026-05-01" in page and "Scheduled" in page
    assert PaymentPlan.objects.get().instalments.count() == 3


def test_a_declined_card_is_shown_at_the_form_which_asks_for_the_card_again(owing, gateway):
    client = signed_in("bea", "biller")
    token = typed(NO_FUNDS)
    response = client.post(URL, {"action": "pay", "pay-amount": "20.00", "pay-token": token})
    text = response.content.decode()
    assert response.status_code == 400 and "the card has insufficient funds" in text
    assert token not in text  # the declined card's token is not offered again
    assert ledger_selectors.balance_of("patient:pat-jane") == Decimal("20.00")


def test_the_card_fields_are_never_posted_and_the_page_may_reach_only_the_gateway(owing, gateway):
    page = signed_in("bea", "biller").get(URL)
    html = page.content.decode()
    for field in ("card-number", "card-expiry", "card-cvc"):
        tag = html[html.index(f'<input id="{field}"'):]
        assert "name=" not in tag[:tag.index(">")]
    assert f'data-gateway="{gateway.url}"' in html and 'data-key="pk_test"' in html and "sk_test" not in html
    assert page["Content-Security-Policy"].endswith(f"connect-src 'self' {gateway.url}")


def test_the_front_desk_takes_a_card_payment_but_sees_no_statements_plans_or_refunds(owing, gateway):
    client = signed_in("fran", "front_desk")
    html = client.get(URL).content.decode()
    assert 'id="balance">20.00<' in html and "Take a card payment" in html
    assert "Make a statement now" not in html and "Payment plan" not in html and "Refund to a card" not in html
    page = client.post(URL, {"action": "pay", "pay-amount": "20.00", "pay-token": typed(VISA)}, follow=True)
    assert "20.00 paid by visa ending 4242" in page.content.decode()
    assert ledger_selectors.balance_of("patient:pat-jane") == Decimal("0.00")
    refused = client.post(URL, {"action": "refund", "charge": str(CardCharge.objects.get().pk),
                                "refund-amount": "5.00"}, follow=True)
    assert "do not allow posting payments" in refused.content.decode()
    assert ledger_selectors.balance_of("patient:pat-jane") == Decimal("0.00")


def test_a_statement_run_with_a_bad_minimum_is_refused_on_the_page(owing):
    response = signed_in("bea", "biller").post("/billing/patient-billing/statements/", {"minimum": "lots"})
    assert response.status_code == 400 and "is not an amount of money" in response.content.decode()


def test_a_statement_run_from_the_page_shows_its_progress_and_the_statements(owing, django_capture_on_commit_callbacks):
    client = signed_in("bea", "biller")
    with django_capture_on_commit_callbacks(execute=True):  # the job is queued on commit; tests run jobs at once
        response = client.post("/billing/patient-billing/statements/", {"minimum": "1.00"})
    page = client.get(response["Location"]).content.decode()
    statement = Statement.objects.get()
    assert "1 of 1 patients handled, 1 statements made" in page and statement.number in page


def test_the_front_desk_cannot_open_statements(owing):
    assert signed_in("fran", "front_desk").get("/billing/patient-billing/statements/").status_code == 403



def test_the_ledger_tells_what_the_payer_paid_on_a_claim_and_what_the_patient_owes(owing):
    """What the claim page lists under "Payments and adjustments" (the browser test sees it on the page)."""
    from mederi.billing.ledger.selectors import claim_postings

    assert [(p.what, p.amount) for p in claim_postings("C000000001")] == [
        ("Charged", Decimal("180.00")), ("Paid by insurance", Decimal("120.00")),
        ("Contractual adjustment (CO-45)", Decimal("30.00")), ("Patient responsibility (PR-2)", Decimal("20.00")),
        ("Contractual adjustment (CO-45)", Decimal("10.00"))]
