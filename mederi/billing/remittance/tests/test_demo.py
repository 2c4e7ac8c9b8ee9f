"""The demo remittance: the first submitted claim is paid, a stranger's payment waits in the queue, twice posts once."""

import datetime as dt
from decimal import Decimal

from mederi.billing import claim_status
from mederi.billing.ledger import selectors
from mederi.billing.ledger.services import patient_account, payer_account
from mederi.billing.remittance import demo
from mederi.billing.remittance.models import WorkItem
from mederi.core.context import Context
from mederi.fhir.repository import Repository

from .conftest import make_claim


def test_the_demo_pays_a_submitted_claim_and_leaves_a_small_receivable(clinic):
    paid_id = make_claim("C000000001")
    make_claim("C000000002", patient_id="pat-ann", coverage_id="cov-ann")
    message = demo.load_demo(dt.date(2026, 3, 2))
    assert "Posted 2 claim payment(s)" in message and "1 item(s) need a look" in message
    claim = Repository(Context.system("test")).read("Claim", paid_id).as_dict()
    assert claim_status.current_statuses([claim])[paid_id] == claim_status.PAID
    assert selectors.balance_of(patient_account("pat-jane")) == Decimal("28.80")  # 20% coinsurance of 144.00 allowed
    assert selectors.balance_of(payer_account("payer-acme")) == Decimal("180.00") - Decimal("51.20")  # C2 owed, stranger's 51.20 held
    assert WorkItem.objects.get().claim_number == "C999999999"
    assert "nothing was posted again" in demo.load_demo(dt.date(2026, 3, 2))
