"""Patient statements: what the PDF says, where it is kept, and the run for every patient who owes."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from mederi.billing.ledger import selectors as ledger_selectors
from mederi.billing.ledger import services as ledger
from mederi.billing.payments import collect_payment
from mederi.billing.remittance.posting import post_remittance
from mederi.billing.remittance.tests.conftest import claim_payment, era, make_claim, paid_line
from mederi.billing.tests.conftest import patient, system_repository
from mederi.billing.x12.remittance import Adjustment
from mederi.core.errors import Forbidden, InvalidRequest

from ..models import Statement, StatementRun
from ..statements import issue_statement, make_run, start_run, statement_data, statement_pdf_of
from .conftest import SYSTEM, TODAY

D = Decimal


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_statement_shows_the_visit_what_insurance_did_and_what_the_patient_owes(owing, biller):
    collect_payment(SYSTEM, "pat-jane", "5.00", "cash", kind="balance")
    statement = issue_statement(biller, "pat-jane")
    name, pdf = statement_pdf_of(biller, statement.number)
    text = text_of(pdf)
    assert name == f"statement-{statement.number}.pdf"
    for expected in ("Riverside Family Medicine", "100 Main Street", "Phone 217-555-0100",  # the practice
                     "Jane Doe", "12 Elm Street", "Springfield, IL 62701",  # who it goes to
                     "2026-02-10", "claim C000000001", "180.00", "120.00", "40.00", "20.00",  # the visit
                     "Patient payment", "-5.00", "Balance due: $15.00", "0-30 days", "How to pay",
                     "Please pay by", "04/09/2026"):
        assert expected in text, expected
    assert statement.balance == D("15.00") and statement.statement_date == TODAY
    invoice = system_repository().read("Invoice", statement.invoice_id).as_dict()
    assert invoice["subject"] == {"reference": "Patient/pat-jane"} and invoice["status"] == "issued"
    assert invoice["totalNet"]["value"] == D("15.00")
    assert invoice["identifier"][0]["value"] == statement.number


def test_a_statement_goes_to_the_guarantor_at_the_guarantors_address(owing, biller):
    system_repository().update("RelatedPerson", "rp-dad", {
        "resourceType": "RelatedPerson", "id": "rp-dad", "patient": {"reference": "Patient/pat-jane"},
        "name": [{"family": "Doe", "given": ["John"]}],
        "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "code": "GUAR"}]}],
        "address": [{"line": ["9 Oak Road"], "city": "Peoria", "state": "IL", "postalCode": "61602"}]})
    text = text_of(statement_pdf_of(biller, issue_statement(biller, "pat-jane").number)[1])
    assert "John Doe" in text and "9 Oak Road" in text and "Peoria, IL 61602" in text
    assert "Jane Doe" in text  # still named as the patient


def test_visits_and_activity_add_up_to_the_balance_after_refunds_and_write_offs(owing, biller):
    collect_payment(SYSTEM, "pat-jane", "50.00", "card", kind="balance")  # pays too much: a credit of 30
    ledger.refund(SYSTEM, "pat-jane", "10.00", "check", "part of the overpayment back")
    data = statement_data(biller, "pat-jane")
    assert data.balance == D("-20.00") == ledger_selectors.balance_of("patient:pat-jane")
    assert sum(v.patient_share for v in data.visits) + sum(a.amount for a in data.activity) == data.balance
    assert "You have a credit of $20.00" in text_of(statement_pdf_of(biller, issue_statement(biller, "pat-jane")
                                                                     .number)[1])


def test_a_visit_still_with_insurance_shows_its_charges_and_owes_nothing_yet(owing, biller):
    make_claim("C000000002", lines=(("99214", "200.00"),), day="2026-03-01")
    visits = {v.claim_number: v for v in statement_data(biller, "pat-jane").visits}
    waiting = visits["C000000002"]
    assert (waiting.charges, waiting.insurance_paid, waiting.patient_share, waiting.with_insurance) == (
        D("200.00"), D("0.00"), D("0.00"), D("200.00"))
    assert "waiting for insurance" in waiting.status


def reverse_the_payment() -> None:
    """The payer takes back its whole answer to C000000001 (claim status 22): payment, adjustments and her share."""
    reversal = claim_payment("C000000001", "-120.00",
                             paid_line("99213", "-150.00", "-100.00", "C000000001-1", Adjustment("CO", "45", D("-30.00")),
                                       Adjustment("PR", "2", D("-20.00"))),
                             paid_line("36415", "-30.00", "-20.00", "C000000001-2", Adjustment("CO", "45", D("-10.00"))),
                             status="22", charge="-180.00")
    post_remittance(SYSTEM, era(reversal, trace="EFT-5002", control=2))


def test_a_reversed_payment_is_netted_on_its_visit(owing, biller):
    reverse_the_payment()
    visit = statement_data(biller, "pat-jane").visits[0]
    assert (visit.insurance_paid, visit.patient_share) == (D("0.00"), D("0.00"))


def test_statements_need_a_biller(owing, desk):
    with pytest.raises(Forbidden):
        issue_statement(desk, "pat-jane")
    assert not Statement.objects.exists()


def test_a_run_makes_a_statement_for_each_patient_who_owes_and_counts_its_progress(owing, biller):
    """The job is queued on commit, which never comes inside a test's transaction: it is run here, watched."""
    patient("pat-ann", "Lee", "Ann", "1990-05-06")
    patient("pat-zero", "Zero", "Zed", "1970-01-01")
    collect_payment(SYSTEM, "pat-zero", "10.00", "cash", kind="prepayment")  # a credit: no statement
    ledger.post(ledger.Draft("charge", "test", "ann", [ledger.Entry("patient:pat-ann", D("75.00")),
                                                          ledger.Entry(ledger.REVENUE, D("-75.00"))]))
    ledger.post(ledger.Draft("charge", "test", "tiny", [ledger.Entry("patient:pat-zero", D("10.50")),
                                                           ledger.Entry(ledger.REVENUE, D("-10.50"))]))
    seen = []
    run = make_run(start_run(biller, "1.00").pk, biller, progress=lambda r: seen.append(r.done))
    assert (run.state, run.total, run.done, run.made, run.problems) == ("finished", 2, 2, 2, [])
    assert sorted(Statement.objects.values_list("patient_id", "balance_cents")) == [("pat-ann", 7500),
                                                                                      ("pat-jane", 2000)]
    assert seen == [1, 2]


@pytest.mark.parametrize("minimum, message", [("abc", "is not an amount"), ("5000.00", "no patient owes 5000.00")])
def test_a_run_with_a_bad_minimum_or_nobody_owing_is_refused_and_stores_nothing(owing, biller, minimum, message):
    with pytest.raises(InvalidRequest) as caught:
        start_run(biller, minimum)
    assert message in caught.value.issues[0].diagnostics
    assert not StatementRun.objects.exists() and not Statement.objects.exists()


def test_the_statements_command_makes_them_with_a_progress_bar_and_refuses_a_bad_date(owing, capsys):
    from mederi import cli

    with pytest.raises(SystemExit) as finished:
        cli.main(["statements", "--minimum", "1.00", "--date", "2026-03-10"])
    out = capsys.readouterr()
    assert finished.value.code == 0 and "1 statements made for 1 patients owing 1.00 or more" in out.out
    assert "1/1" in out.err  # the progress bar
    assert Statement.objects.get().balance == D("20.00")
    with pytest.raises(SystemExit) as refused:
        cli.main(["statements", "--date", "10/03/2026"])
    assert refused.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err
    assert Statement.objects.count() == 1


def test_the_next_statement_starts_from_the_last_ones_balance_and_shows_only_what_changed(owing, biller):
    first = issue_statement(biller, "pat-jane")
    collect_payment(SYSTEM, "pat-jane", "5.00", "cash", kind="balance")
    make_claim("C000000002", lines=(("99214", "200.00"),), day="2026-03-01")  # sent, no answer yet
    data = statement_data(biller, "pat-jane")
    assert (data.previous_number, data.previous_balance) == (first.number, D("20.00"))
    assert [v.claim_number for v in data.visits] == ["C000000002"]  # the first visit was settled last time
    assert [(a.description, a.amount) for a in data.activity] == [("Patient payment: Balance payment by cash",
                                                                    D("-5.00"))]
    assert (data.new_charges, data.payments_and_credits, data.balance) == (D("0.00"), D("-5.00"), D("15.00"))
    text = text_of(statement_pdf_of(biller, issue_statement(biller, "pat-jane").number)[1])
    assert f"Previous balance (statement {first.number} of 03/10/2026)" in text
    assert "claim C000000002" in text and "claim C000000001" not in text and "Balance due: $15.00" in text


def test_a_visit_insurance_changes_after_a_statement_is_on_the_next_one(owing, biller):
    issue_statement(biller, "pat-jane")
    reverse_the_payment()
    data = statement_data(biller, "pat-jane")
    assert [v.claim_number for v in data.visits] == ["C000000001"]
    assert (data.previous_balance, data.new_charges, data.balance) == (D("20.00"), D("-20.00"), D("0.00"))


money = st.decimals(min_value=D("0.01"), max_value=D("500.00"), places=2)
steps = st.lists(st.one_of(st.tuples(st.just("pay"), money), st.tuples(st.just("share"), money),
                           st.tuples(st.just("statement"), st.just(D("0")))), max_size=8)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_each_statement_adds_up_from_the_previous_one(owing, biller, steps):
    """Whatever is posted between statements: previous balance + visits' shares + other activity = balance due,
    and the previous balance is the one the previous statement showed."""
    shown = [s.balance for s in Statement.objects.filter(patient_id="pat-jane").order_by("created", "pk")]
    for kind, amount in steps:
        if kind == "pay":
            collect_payment(SYSTEM, "pat-jane", amount, "cash", kind="balance")
        elif kind == "share":  # a patient share on the visit, as an 835 leaves it
            ledger.post(ledger.Draft("insurance_payment", "test", str(uuid.uuid4()), [
                ledger.Entry("patient:pat-jane", amount, claim_number="C000000001"),
                ledger.Entry(ledger.REVENUE, -amount, claim_number="C000000001")]))
        else:
            shown.append(issue_statement(biller, "pat-jane").balance)
        data = statement_data(biller, "pat-jane")
        assert data.previous_balance + data.new_charges + data.payments_and_credits == data.balance
        assert data.previous_balance == (shown[-1] if shown else D("0.00"))
