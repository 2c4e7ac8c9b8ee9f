"""Ledger rows written in pipeline mode (`bulk.pipelined`, as the 835 posting writes them on PostgreSQL) or
with binary COPY (`bulk.insert_rows` otherwise) are stored exactly as given, and a row pointing at a
transaction that does not exist is still refused: at the block's end when its keys are checked there
(`bulk.check_foreign_keys`), else at commit."""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mederi.billing.ledger import services as ledger
from mederi.billing.ledger.models import Posting, Transaction
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


def test_a_dangling_row_is_refused_within_the_block_not_at_commit():
    done = []
    with pytest.raises(IntegrityError, match="ledger_posting"), transaction.atomic():
        with bulk.pipelined():
            _posting_to_nowhere()
            bulk.check_foreign_keys()
        done.append("after the block")
    assert done == []
    assert not Posting.objects.filter(transaction_id=MISSING_TRANSACTION).exists()


def test_a_query_in_the_block_gets_its_answer_and_good_rows_are_kept():
    with transaction.atomic():
        with bulk.pipelined():
            ledger.post(_payment())
            bulk.check_foreign_keys()
            counted = Posting.objects.count()
    assert counted == 2
    assert Posting.objects.count() == 2


def test_rows_written_after_the_block_are_checked_at_commit_again():
    accepted = []
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.post(_payment())
        with bulk.pipelined():
            bulk.check_foreign_keys()
        _posting_to_nowhere()  # deferred again: accepted for now ...
        accepted.append(Posting.objects.filter(transaction_id=MISSING_TRANSACTION).exists())
    # ... and refused at commit, with the good rows of the same transaction
    assert accepted == [True]
    assert Posting.objects.count() == 0


_COLUMNS = ("kind", "source_type", "source_id", "source_key", "reason_code", "memo", "effective_date", "posted_at",
            "posted_by", "reverses_id")
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
_MOMENTS = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                        timezones=st.just(dt.timezone.utc))


@pytest.mark.parametrize("pipelined", [True, False], ids=["in a pipeline", "binary COPY"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(_TEXT, _TEXT, st.dates(min_value=dt.date(1900, 1, 1)), _MOMENTS, _TEXT),
                       min_size=1, max_size=5))
def test_rows_read_back_as_written(pipelined, values):
    rows = [(kind[:20], "test", source[:120], f"k{n}", "", memo, day, moment, "", None)
            for n, (kind, source, day, moment, memo) in enumerate(values)]
    with transaction.atomic():
        with bulk.pipelined() if pipelined else contextlib.nullcontext():
            bulk.insert_rows(Transaction._meta.db_table, _COLUMNS, rows)
        stored = list(Transaction.objects.filter(source_type="test").values_list(*(
            c.removesuffix("_id") if c == "reverses_id" else c for c in _COLUMNS)))
        transaction.set_rollback(True)
    assert sorted(stored, key=lambda row: int(row[3][1:])) == rows
