"""Posting 835s: payments and adjustments in the ledger, claims marked, answers kept, twice posts once, all or nothing."""

from decimal import Decimal

import pytest

from mederi.accounts.context import context_for_user
from mederi.billing import claim_status
from mederi.billing.ledger import selectors
from mederi.billing.ledger.models import Posting, Transaction
from mederi.billing.ledger.services import (
    CASH,
    CONTRACTUAL,
    OTHER_ADJUSTMENTS,
    REVENUE,
    patient_account,
    payer_account,
)
from mederi.billing.remittance import posting
from mederi.billing.remittance.models import PostedClaimPayment, RemittanceFile, WorkItem
from mederi.billing.tests.conftest import coverage, organization
from mederi.billing.x12.remittance import Adjustment, ProviderAdjustment
from mederi.conftest import staff_user
from mederi.core import systems
from mederi.core.context import Context
from mederi.core.errors import Forbidden, InvalidRequest
from mederi.fhir.models import Resource
from mederi.fhir.repository import Repository

from .conftest import claim_payment, era, make_claim, paid_line, standard_payment

D = Decimal
SYSTEM = Context.system("test")


def balance(key):
    return selectors.balance_of(key)


def claim(claim_id):
    return Repository(SYSTEM).read("Claim", claim_id).as_dict()


def status(claim_id):
    """The status the biller sees: the latest 835 answer's, else the Claim's own."""
    return claim_status.current_statuses([claim(claim_id)])[claim_id]


def nothing_posted():
    return (not Transaction.objects.exists() and not RemittanceFile.objects.exists()
            and not Resource.objects.filter(resource_type__in=["ClaimResponse", "PaymentReconciliation"]).exists())


def test_a_payment_posts_the_charge_payment_write_off_and_patient_share(clinic):
    claim_id = make_claim("C000000001")
    result = posting.post_remittance(SYSTEM, era(standard_payment()), name="acme-0302.835")
    assert (result.claims_posted, result.queued) == (1, 0)
    assert balance(payer_account("payer-acme")) == D("0.00")  # charged 180, paid 120, 40 contractual, 20 to patient
    assert balance(patient_account("pat-jane")) == D("20.00")
    assert (balance(CASH), balance(CONTRACTUAL), balance(REVENUE)) == (D("120.00"), D("40.00"), D("-180.00"))
    assert status(claim_id) == claim_status.PAID
    reasons = set(Posting.objects.exclude(group_code="").values_list("group_code", "reason_code"))
    assert reasons == {("CO", "45"), ("PR", "2")}
    [response] = Repository(SYSTEM).search("ClaimResponse", [("request", f"Claim/{claim_id}")]).matches
    answer = response.as_dict()
    assert [item["itemSequence"] for item in answer["item"]] == [1, 2]
    assert answer["payment"]["amount"]["value"] == D("120.00")
    [payment] = Repository(SYSTEM).search("PaymentReconciliation", []).matches
    assert payment.as_dict()["paymentAmount"]["value"] == D("120.00")


def test_posting_the_same_835_twice_posts_nothing_the_second_time(clinic):
    make_claim("C000000001")
    text = era(standard_payment())
    posting.post_remittance(SYSTEM, text)
    counts = (Transaction.objects.count(), Posting.objects.count(), Resource.objects.count())
    again = posting.post_remittance(SYSTEM, text)
    assert again.already_posted and "nothing was posted again" in again.summary()
    resent = posting.post_remittance(SYSTEM, era(standard_payment(), control=2))  # same remittance, another file
    assert (resent.claims_posted, resent.claims_skipped) == (0, 1)
    assert (Transaction.objects.count(), Posting.objects.count(), Resource.objects.count()) == counts
    assert balance(CASH) == D("120.00")


def test_a_crash_half_way_leaves_nothing_posted_and_the_file_posts_later(clinic, monkeypatch):
    make_claim("C000000001")
    make_claim("C000000002", patient_id="pat-ann", coverage_id="cov-ann")
    text = era(standard_payment(), standard_payment("C000000002"))
    real = posting.audit.record

    def die(*args, **kwargs):  # the last write of the posting: everything else is done by then
        raise RuntimeError("the worker was killed")

    monkeypatch.setattr(posting.audit, "record", die)
    with pytest.raises(RuntimeError):
        posting.post_remittance(SYSTEM, text)
    assert nothing_posted() and not PostedClaimPayment.objects.exists() and status(Resource.objects.get(
        resource_type="Claim", logical_id__isnull=False, content__contains="C000000002").logical_id) == "submitted"
    monkeypatch.setattr(posting.audit, "record", real)
    assert posting.post_remittance(SYSTEM, text).claims_posted == 2
    assert balance(CASH) == D("240.00")


def test_a_reversal_takes_back_the_earlier_payment_and_a_correction_posts_anew(clinic):
    claim_id = make_claim("C000000001")
    posting.post_remittance(SYSTEM, era(standard_payment()))
    reversal = claim_payment("C000000001", "-120.00", charge="-180.00", status="22",
                             adjustments=[Adjustment("CO", "45", D("-40.00")), Adjustment("PR", "2", D("-20.00"))])
    corrected = claim_payment("C000000001", "140.00", charge="180.00",
                              adjustments=[Adjustment("CO", "45", D("30.00")), Adjustment("PR", "2", D("10.00"))])
    result = posting.post_remittance(SYSTEM, era(reversal, corrected, trace="EFT-5002"))
    assert result.claims_posted == 2
    assert Transaction.objects.filter(kind=Transaction.REVERSAL).count() == 1
    assert balance(CASH) == D("140.00") and balance(patient_account("pat-jane")) == D("10.00")
    assert balance(payer_account("payer-acme")) == D("0.00")
    assert status(claim_id) == claim_status.PAID


def test_a_reversal_of_a_payment_never_posted_goes_to_the_work_queue(clinic):
    reversal = claim_payment("C000000077", "-50.00", charge="-80.00", status="22")
    result = posting.post_remittance(SYSTEM, era(reversal, trace="EFT-6001", provider_adjustments=[
        ProviderAdjustment("1612345672", None, "FB", "X", D("-50.00"))]))
    [item] = WorkItem.objects.all()
    assert item.kind == WorkItem.ORPHAN_REVERSAL and "never posted" in item.detail and result.queued == 1


def test_provider_level_adjustments_and_takebacks_post_to_the_payer_account(clinic):
    make_claim("C000000001")
    text = era(standard_payment(), provider_adjustments=[
        ProviderAdjustment("1612345672", None, "WO", "C000000009", D("25.00")),
        ProviderAdjustment("1612345672", None, "L6", "", D("-1.50"))])
    posting.post_remittance(SYSTEM, text)
    assert balance(CASH) == D("96.50")  # 120 paid, 25 taken back, 1.50 interest added
    assert balance(payer_account("payer-acme")) == D("23.50")
    assert set(Transaction.objects.filter(kind=Transaction.PROVIDER_ADJUSTMENT).values_list("reason_code",
                                                                                            flat=True)) == {"WO", "L6"}


def test_unknown_claims_and_lines_go_to_the_work_queue_and_the_money_is_held_on_the_payer(clinic):
    make_claim("C000000001", lines=(("99213", "150.00"),))
    odd_line = standard_payment()
    odd_line.lines[1].control_number = ""
    odd_line.lines[1].procedure = "99999"
    result = posting.post_remittance(SYSTEM, era(odd_line, claim_payment(
        "C000000404", "60.00", paid_line("99212", "90.00", "60.00", "", Adjustment("CO", "45", D("30.00"))))))
    kinds = sorted(WorkItem.objects.values_list("kind", flat=True))
    assert kinds == [WorkItem.UNMATCHED_CLAIM, WorkItem.UNMATCHED_LINE] and result.queued == 2
    assert "no claim has this number" in WorkItem.objects.get(kind=WorkItem.UNMATCHED_CLAIM).detail
    assert balance(CASH) == D("180.00")


def test_a_denial_marks_the_claim_and_queues_the_reason_with_the_next_action(clinic):
    claim_id = make_claim("C000000001", lines=(("99213", "150.00"),))
    denied = claim_payment("C000000001", "0", paid_line("99213", "150.00", "0", "C000000001-1",
                                                         Adjustment("CO", "197", D("150.00"))), status="4",
                           remarks=["N54"])
    posting.post_remittance(SYSTEM, era(denied))
    [item] = WorkItem.objects.all()
    assert (item.kind, item.group_code, item.reason_code) == (WorkItem.DENIAL, "CO", "197")
    assert "authorization" in item.detail.lower()
    assert status(claim_id) == claim_status.DENIED
    assert balance(payer_account("payer-acme")) == D("0.00") and balance(CONTRACTUAL) == D("150.00")


def test_an_unbalanced_or_damaged_835_is_refused_with_the_reason_and_nothing_posted(clinic):
    make_claim("C000000001")
    text = era(standard_payment()).replace("BPR*I*120.00*", "BPR*I*125.00*")
    with pytest.raises(InvalidRequest) as refused:
        posting.post_remittance(SYSTEM, text, name="bad.835")
    assert "bad.835 cannot be posted" in str(refused.value.issues[0].diagnostics)
    assert "5.00 apart" in str(refused.value.issues[0].diagnostics)
    with pytest.raises(InvalidRequest, match="this is not an X12 file"):
        posting.post_remittance(SYSTEM, "not an x12 file")
    assert nothing_posted()


def test_only_those_who_post_payments_may_post_a_remittance(clinic):
    desk = context_for_user(staff_user("desk", "front_desk"))
    with pytest.raises(Forbidden):
        posting.post_remittance(desk, era(standard_payment()))
    assert nothing_posted()


def test_a_payment_reversed_twice_in_one_file_is_taken_back_once(clinic):
    make_claim("C000000001")
    posting.post_remittance(SYSTEM, era(standard_payment()))
    reversal = claim_payment("C000000001", "-120.00", charge="-180.00", status="22",
                             adjustments=[Adjustment("CO", "45", D("-40.00")), Adjustment("PR", "2", D("-20.00"))])
    posting.post_remittance(SYSTEM, era(reversal, reversal, trace="EFT-5003", provider_adjustments=[
        ProviderAdjustment("1612345672", None, "FB", "C000000001", D("-120.00"))]))
    assert Transaction.objects.filter(kind=Transaction.REVERSAL).count() == 1
    assert WorkItem.objects.get().kind == WorkItem.ORPHAN_REVERSAL


def test_a_reversal_alone_puts_the_claim_back_to_accepted_and_keeps_the_payers_answers(clinic):
    claim_id = make_claim("C000000001")
    posting.post_remittance(SYSTEM, era(standard_payment()))
    reversal = claim_payment("C000000001", "-120.00", charge="-180.00", status="22",
                             adjustments=[Adjustment("CO", "45", D("-40.00")), Adjustment("PR", "2", D("-20.00"))])
    posting.post_remittance(SYSTEM, era(reversal, trace="EFT-5003", provider_adjustments=[
        ProviderAdjustment("1612345672", None, "FB", "R", D("-120.00"))]))
    assert status(claim_id) == claim_status.ACCEPTED
    answers = Repository(SYSTEM).search("ClaimResponse", [("request", f"Claim/{claim_id}")]).matches
    assert sorted(claim_status.status_of(a.as_dict()) for a in answers) == [claim_status.ACCEPTED, claim_status.PAID]
    # The Claim itself was not rewritten: its own versions stop at what the practice did (submitted).
    assert Repository(SYSTEM).read("Claim", claim_id).version_id == 1


def test_a_payment_for_a_claim_never_sent_is_posted_but_does_not_mark_it(clinic):
    claim_id = make_claim("C000000001", status=claim_status.DRAFT)
    result = posting.post_remittance(SYSTEM, era(standard_payment()))
    assert status(claim_id) == claim_status.DRAFT and balance(CASH) == D("120.00")
    assert any("is draft; it was not marked paid" in warning for warning in result.warnings)


def test_the_claims_list_and_claim_page_show_the_status_the_payer_gave(clinic):
    from mederi.billing.claims import selectors as claim_selectors

    claim_id = make_claim("C000000001")
    posting.post_remittance(SYSTEM, era(standard_payment()))
    [listed] = claim_selectors.claims(SYSTEM, status=claim_status.PAID)
    assert (listed["id"], listed["status_label"]) == (claim_id, "Paid")
    assert claim_selectors.claims(SYSTEM, status=claim_status.SUBMITTED) == []


# Paid in full; paid with coinsurance left; nothing paid, the secondary's own coinsurance left (not a denial).
@pytest.mark.parametrize("paid, patient_share, owes", [("20.00", "0.00", "0.00"), ("15.00", "5.00", "5.00"),
                                                       ("0.00", "20.00", "20.00")])
def test_a_secondary_payment_settles_the_patients_share_without_charging_the_visit_again(clinic, paid, patient_share,
                                                                                         owes):
    organization("payer-beta", "Beta Mutual", "pay", [{"system": systems.PAYER_ID, "value": "BETA01"}])
    coverage("cov-jane-beta", "pat-jane", "B200", payer_id="payer-beta")
    make_claim("C000000001")
    secondary = make_claim("C000000002", lines=(("99213", "150.00"),), coverage_id="cov-jane-beta",
                           primary_coverage_id="cov-jane")
    posting.post_remittance(SYSTEM, era(standard_payment()), name="acme.835")  # leaves 20.00 to the patient
    paid, patient_share = D(paid), D(patient_share)
    # OA-23 restates what the primary paid and wrote off; the secondary pays the rest but what it leaves (PR)
    adjustments = [Adjustment("OA", "23", D("150.00") - paid - patient_share)]
    adjustments += [Adjustment("PR", "2", patient_share)] if patient_share else []
    line = paid_line("99213", "150.00", str(paid), "C000000002-1", *adjustments)
    posting.post_remittance(SYSTEM, era(claim_payment("C000000002", str(paid), line), trace="EFT-B1"),
                            name="beta.835")
    assert balance(REVENUE) == D("-180.00")  # the visit is charged once
    assert balance(patient_account("pat-jane")) == D(owes)
    assert balance(CASH) == D("120.00") + paid
    assert (balance(CONTRACTUAL), balance(OTHER_ADJUSTMENTS)) == (D("40.00"), D("0.00"))
    assert balance(payer_account("payer-beta")) == D("0.00")
    assert status(secondary) == claim_status.PAID
    assert not WorkItem.objects.filter(kind=WorkItem.DENIAL).exists()


def _original_paid_then_corrected():
    original = make_claim("C000000001")
    posting.post_remittance(SYSTEM, era(standard_payment()), name="first.835")
    make_claim("C000000002", replaces=original)
    return claim_payment("C000000001", "-120.00", charge="-180.00", status="22",
                         adjustments=[Adjustment("CO", "45", D("-40.00")), Adjustment("PR", "2", D("-20.00"))])


def test_a_corrected_claim_takes_the_originals_charge_off_the_books_once_the_payer_reverses_it(clinic):
    reversal = _original_paid_then_corrected()
    result = posting.post_remittance(SYSTEM, era(reversal, standard_payment("C000000002"), trace="EFT-5002"))
    assert (result.claims_posted, result.warnings) == (2, [])
    assert balance(REVENUE) == D("-180.00")  # the visit is charged once: the corrected claim's charge
    assert balance(payer_account("payer-acme")) == D("0.00")
    assert (balance(CASH), balance(patient_account("pat-jane"))) == (D("120.00"), D("20.00"))


def test_a_corrected_claim_paid_while_the_original_payment_stands_leaves_its_charge_and_says_so(clinic):
    _original_paid_then_corrected()
    result = posting.post_remittance(SYSTEM, era(standard_payment("C000000002"), trace="EFT-5002"))
    assert any("C000000001, whose payment still stands" in warning for warning in result.warnings)
    assert balance(REVENUE) == D("-360.00")  # both charges stay until the payer takes the first payment back
