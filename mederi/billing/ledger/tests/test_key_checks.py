"""A ledger row pointing at a transaction that does not exist is refused, also when the keys are checked
while the posting goes on (`bulk.foreign_keys_checked_meanwhile`, used by the 835 posting on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import Posting
from mederi.billing.ledger.services import CASH, Draft, Entry, patient_account
from mederi.core import bulk

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(connection.vendor != "postgresql", reason="the checks are PostgreSQL's deferred keys")]

MISSING_TRANSACTION = 987654321


def _posting_to_nowhere() -> None:
    cash = ledger.accounts_for({CASH})[CASH].pk
    bulk.insert_rows(Posting._meta.db_table, ("transaction_id", "account_id", "amount_cents", "service_date",
                                             "claim_number", "group_code", "reason_code"),
                     [(MISSING_TRANSACTION, cash, 100, dt.date(2026, 3, 2), "", "", "")])


def _payment() -> Draft:
    return Draft("patient-payment", "test", "r-1", [Entry(CASH, Decimal("10.00")),
                                                    Entry(patient_account("pat-1"), Decimal("-10.00"))])


def test_a_dangling_row_is_refused_when_the_block_ends_after_its_own_work_ran():
    done = []
    with pytest.raises(IntegrityError, match="ledger_posting"), transaction.atomic():
        _posting_to_nowhere()
        with bulk.foreign_keys_checked_meanwhile():
            done.append(sum(range(1000)))
        done.append("after the block")  # not reached: refused there, not at commit
    assert done == [499500]
    assert not Posting.objects.filter(transaction_id=MISSING_TRANSACTION).exists()


def test_a_query_in_the_block_gets_its_answer_and_good_rows_are_kept():
    with transaction.atomic():
        ledger.post(_payment())
        with bulk.foreign_keys_checked_meanwhile():
            counted = Posting.objects.count()
    assert counted == 2
    assert Posting.objects.count() == 2


def test_rows_written_after_the_block_are_checked_at_commit_again():
    accepted = []
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.post(_payment())
        with bulk.foreign_keys_checked_meanwhile():
            pass
        _posting_to_nowhere()  # deferred again: accepted for now ...
        accepted.append(Posting.objects.filter(transaction_id=MISSING_TRANSACTION).exists())
    # ... and refused at commit, with the good rows of the same transaction
    assert accepted == [True]
    assert Posting.objects.count() == 0
