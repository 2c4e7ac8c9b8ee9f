"""The revenue cycle end to end in Chromium, as a new biller would go through it.

A signed visit's charges are entered and reviewed, the claim is scrubbed clean and sent; the 837P
arrives at the SFTP stand-in clearinghouse. The payer's side — an 835 answering that claim, built
from the 837P the clearinghouse received — is the only part written by test code: it is dropped
into the clearinghouse folder, the pickup job runs as the scheduler would run it, and the biller
sees the payment on the claim and the ledger, makes the patient's statement and downloads it.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from decimal import Decimal

import pytest
from pypdf import PdfReader

from mederi.billing.claims import fees
from mederi.billing.tests.test_claims_flow import SYSTEM, visit  # noqa: F401 (visit is a fixture)
from mederi.billing.x12.remittance import Adjustment, ClaimPayment, Remittance, ServiceLine
from mederi.billing.x12.remittance_writer import build_835
from mederi.conftest import needs_chromium, sign_in_browser

pytestmark = needs_chromium
D = Decimal


@pytest.fixture
def new_biller(transactional_db, visit):  # noqa: F811
    from mederi.accounts import services

    services.ensure_default_roles()
    fees.set_price(SYSTEM, fees.default_schedule(), "99213", "", "120.00")
    return services.create_staff_user("nia", "a-long-demo-password", "Nia Newcomer", roles=["biller"],
                                      mfa_required=False)


def answering_835(claim_file: str) -> str:
    """The payer's 835 for the one claim in `claim_file`: 80% of each line paid, 15 written off by contract
    (CO-45) and the rest left to the patient as coinsurance (PR-2)."""
    segments = [s.strip().split("*") for s in claim_file.split("~") if s.strip()]
    claim = next(s for s in segments if s[0] == "CLM")
    lines, service_day, code, charge = [], None, "", D("0")
    for segment in segments:
        if segment[0] == "SV1":
            code, charge = segment[1].split(":")[1], D(segment[2])
        elif segment[0] == "DTP" and segment[1] == "472":
            service_day = dt.datetime.strptime(segment[3], "%Y%m%d").date()
        elif segment[0] == "REF" and segment[1] == "6R":
            paid = (charge * D("0.8")).quantize(D("0.01")) - D("15.00")
            lines.append(ServiceLine(procedure=code, charge=charge, paid=paid, control_number=segment[2],
                                     service_start=service_day, service_end=service_day,
                                     adjustments=[Adjustment("CO", "45", D("15.00")),
                                                  Adjustment("PR", "2", charge - paid - D("15.00"))]))
    subscriber = next(s for s in segments if s[0] == "NM1" and s[1] == "IL")
    payment = ClaimPayment(claim_number=claim[1], status="1", charge=D(claim[2]), paid=sum(l.paid for l in lines),
                           patient_last=subscriber[3], patient_first=subscriber[4], patient_member_id=subscriber[9],
                           service_start=service_day, service_end=service_day, lines=lines)
    remittance = Remittance(control_number="0001", handling="I", total=payment.paid, method="ACH",
                            paid_on=service_day + dt.timedelta(days=20), trace_number="EFT-77001",
                            payer_trace_id="1999999999", payer_name="ACME HEALTH PLAN", payer_id="ACME01",
                            payee_name="RIVERSIDE FAMILY MEDICINE", payee_id_qualifier="XX", payee_id="1612345672",
                            claims=[payment])
    return build_835(remittance, control_number=7)


def test_a_new_biller_takes_a_signed_visit_to_a_paid_claim_and_the_patients_statement(
        live_server, page, new_biller, sftp, payer, settings, tmp_path):
    from mederi.billing.remittance.tasks import pick_up_clearinghouse_files

    settings.MEDERI_CLEARINGHOUSE_INBOX = str(tmp_path / "inbox")
    received = []
    payer.override = lambda payload, kind: received.append(payload.decode())  # the clearinghouse keeps the file
    errors = sign_in_browser(page, live_server, new_biller)

    # The signed visit's charges: diagnosis, the office visit line, review, create the claim.
    page.goto(f"{live_server.url}/billing/charges/visit/visit-jane/")
    page.fill("#dx_1", "I10")
    page.click("button[value=review]")
    page.fill("#code_0", "99213")
    page.select_option("#ptr_0_1", "1")
    page.click("button[value=review]")
    assert page.inner_text("#charge-total") == "120.00"
    page.click("button[value=create]")
    page.wait_for_url("**/billing/claims/**")
    claim_url = page.url

    # Scrubbed clean, then sent: the 837P reaches the SFTP clearinghouse.
    page.wait_for_selector("text=The scrubber finds nothing to fix")
    page.click("button[value=scrub]")
    page.wait_for_selector("text=ready to send")
    page.click("button[value=submit]")
    page.wait_for_selector("text=Sent to the clearinghouse")
    assert page.inner_text("#claim-status") == "Submitted"
    for _ in range(200):  # the clearinghouse takes the upload on its own thread
        if received:
            break
        time.sleep(0.05)
    assert received and "SV1*HC:99213*120.00*" in received[0]

    # The payer answers: 120 charged, 81 paid, 15 contractual, 24 coinsurance for the patient.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "acme-era.835").write_text(answering_835(received[0]))
    pick_up_clearinghouse_files.call_local()  # what the scheduler runs every five minutes

    # The payment on the claim and on the ledger.
    page.goto(claim_url)
    postings = page.inner_text("#claim-postings")
    for expected in ("Paid by insurance\t81.00", "Contractual adjustment (CO-45)\t15.00",
                     "Patient responsibility (PR-2)\t24.00"):
        assert expected in postings, postings
    page.goto(f"{live_server.url}/billing/ledger/patients/pat-jane/")
    assert page.inner_text("#balance") == "24.00"

    # The patient's statement for the remainder.
    page.click("text=Statements, card payments and payment plan")
    page.click("button[value=statement]")
    page.wait_for_selector("text=balance due 24.00")
    with page.expect_download() as download:
        page.click("#statements a")
    pdf = PdfReader(io.BytesIO(open(download.value.path(), "rb").read()))
    text = pdf.pages[0].extract_text()
    assert "Balance due: $24.00" in text and "Jane Doe" in text and "Riverside Family Medicine" in text
    assert "120.00" in text and "81.00" in text and "15.00" in text
    assert errors == []
