"""The remittance and receivables pages as a biller uses them: post an ERA, see the queues, aging, day sheet, CSV."""

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from mederi.billing import practice
from mederi.billing.ledger import selectors
from mederi.billing.ledger.models import Transaction
from mederi.billing.ledger.services import patient_account
from mederi.billing.remittance import posting
from mederi.billing.remittance.models import RemittanceFile, WorkItem
from mederi.billing.x12.remittance import Adjustment
from mederi.conftest import staff_user
from mederi.core.context import Context

from .conftest import claim_payment, era, make_claim, paid_line, standard_payment

D = Decimal


def signed_in(username: str, *roles: str) -> Client:
    client = Client()
    client.force_login(staff_user(username, *roles))
    return client


def upload(client: Client, text: str, name: str = "acme.835"):
    return client.post("/billing/remittance/", {"file": SimpleUploadedFile(name, text.encode())}, follow=True)


def test_a_biller_posts_an_era_and_posting_it_again_says_so(clinic):
    make_claim("C000000001")
    biller = signed_in("bill", "biller")
    page = upload(biller, era(standard_payment()))
    assert "Posted 1 claim payment(s) from acme.835." in page.content.decode()
    assert "ACME HEALTH PLAN" in page.content.decode() and "EFT-5001" in page.content.decode()
    again = upload(biller, era(standard_payment()))
    assert "nothing was posted again" in again.content.decode()
    assert RemittanceFile.objects.count() == 1


def test_a_bad_file_is_refused_on_the_page_and_nothing_is_posted(clinic):
    biller = signed_in("bill", "biller")
    page = biller.post("/billing/remittance/", {"file": SimpleUploadedFile(
        "bad.835", era(standard_payment()).replace("BPR*I*120.00*", "BPR*I*100.00*").encode())})
    assert page.status_code == 400
    body = page.content.decode()
    assert "Nothing was posted" in body and "20.00 apart" in body
    missing = biller.post("/billing/remittance/", {})
    assert missing.status_code == 400 and "This field is required" in missing.content.decode()
    assert not RemittanceFile.objects.exists() and not Transaction.objects.exists()


def test_the_front_desk_cannot_open_remittance_pages(clinic):
    desk = signed_in("desk", "front_desk")
    assert desk.get("/billing/remittance/").status_code == 403
    assert desk.get("/billing/ledger/aging/").status_code == 403


def test_queues_show_unmatched_items_and_denials_with_the_next_action_and_can_be_cleared(clinic):
    make_claim("C000000001", lines=(("99213", "150.00"),))
    denied = claim_payment("C000000001", "0", paid_line("99213", "150.00", "0", "C000000001-1",
                                                         Adjustment("CO", "29", D("150.00"))), status="4")
    posting.post_remittance(Context.system("test"), era(denied, standard_payment("C000000999")))
    biller = signed_in("bill", "biller")
    queue = biller.get("/billing/remittance/work-queue/").content.decode()
    assert "C000000999" in queue and "no claim has this number" in queue
    denials = biller.get("/billing/remittance/denials/").content.decode()
    assert "Timely filing limit passed" in denials and "proof of timely filing" in denials
    item = WorkItem.objects.get(kind=WorkItem.DENIAL)
    refused = biller.post(f"/billing/remittance/work-queue/{item.pk}/resolve", {"resolution": "ok", "back": "denials"},
                          follow=True)
    assert "at least 5 characters" in refused.content.decode()
    biller.post(f"/billing/remittance/work-queue/{item.pk}/resolve", {"resolution": "appealed with proof",
                                                                       "back": "denials"})
    assert "No open denials" in biller.get("/billing/remittance/denials/").content.decode()
    rate = biller.get("/billing/remittance/denial-rate/?format=csv").content.decode()
    assert "payer,ACME HEALTH PLAN,2,1,50.0,150.00" in rate and "reason,29 Timely filing limit passed" in rate


def test_aging_day_sheet_and_patient_account_pages_show_the_ledger(clinic):
    make_claim("C000000001")
    posting.post_remittance(Context.system("test"), era(standard_payment()))
    biller = signed_in("bill", "biller")
    aging = biller.get("/billing/ledger/aging/?by=patient&as_of=2026-03-15")
    assert "Jane Doe" in aging.content.decode() and "<svg" in aging.content.decode()
    csv = biller.get("/billing/ledger/aging/?by=patient&as_of=2026-03-15&format=csv").content.decode()
    assert csv.splitlines()[1] == "Jane Doe,0.00,20.00,0.00,0.00,0.00,20.00"
    bad = biller.get("/billing/ledger/aging/?as_of=31/03/2026")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.content.decode()
    sheet = biller.get(f"/billing/ledger/day-sheet/?day={practice.today()}").content.decode()
    assert 'id="receipts">120.00' in sheet and 'id="charges">180.00' in sheet
    account = biller.post("/billing/ledger/patients/pat-jane/", {"action": "write_off", "write_off-amount": "abc",
                                                                 "write_off-reason": "small-balance"})
    assert account.status_code == 400 and "not an amount of money" in account.content.decode()
    biller.post("/billing/ledger/patients/pat-jane/", {"action": "write_off", "write_off-amount": "20.00",
                                                       "write_off-reason": "courtesy"})
    assert selectors.balance_of(patient_account("pat-jane")) == D("0.00")
