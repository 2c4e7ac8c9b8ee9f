"""Month-end close: the month's totals stored as they stood, and nothing posted behind them afterwards.

`month_totals` reads a month from the postings: charges (revenue credited, net of reversals),
payments (cash received, net of refunds), adjustments (contractual, write-offs, other) and what
patients and payers owed when it began and when it ended. Because every transaction balances,
A/R at close = A/R at open + charges - payments - adjustments; the page shows that check.

`close_month` stores them as a `MonthClose`. Months close in order, only once they have ended, and
are never reopened. From then on a transaction dated on or before the month's last day is refused,
by `refuse_closed` in the ledger's one write path (`services.post_many`) with a sentence, and by
the database (triggers.py) for anything else; a correction is posted in the open month.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Max, Sum

from mederi.audit import services as audit
from mederi.billing import practice
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest

from .models import Account, MonthClose, Posting, Transaction, as_money

PERMISSION = "ledger.close"
ADJUSTMENT_KINDS = (Account.CONTRACTUAL, Account.WRITE_OFF, Account.OTHER_ADJUSTMENT)


@dataclass
class MonthTotals:
    month: dt.date  # its first day
    period_end: dt.date
    charges: Decimal
    payments: Decimal
    adjustments: Decimal
    ar_open: Decimal
    ar_close: Decimal
    transactions: int

    @property
    def label(self) -> str:
        return month_label(self.month)

    @property
    def rolls_forward(self) -> bool:
        """A/R at close is A/R at open plus charges less payments and adjustments (it always should be)."""
        return self.ar_open + self.charges - self.payments - self.adjustments == self.ar_close


def month_label(month: dt.date) -> str:
    return f"{calendar.month_name[month.month]} {month.year}"


def parse_month(text) -> dt.date:
    """The first day of a month written YYYY-MM (a date is taken as its month)."""
    if isinstance(text, dt.date):
        return text.replace(day=1)
    value = (text or "").strip()
    try:
        year, month = value[:7].split("-")
        return dt.date(int(year), int(month), 1)
    except ValueError:
        raise InvalidRequest.single(f"“{value}” is not a month: write it as YYYY-MM, for example 2026-10",
                                    expression="month") from None


def last_day(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def closed_through() -> dt.date | None:
    """The last day of the latest closed month: nothing may be posted on or before it."""
    return MonthClose.objects.aggregate(day=Max("period_end"))["day"]


def refuse_closed(days: list[dt.date]) -> None:
    """Raise InvalidRequest when any of these dates is in a closed month."""
    closed = closed_through()
    if closed is None:
        return
    early = sorted(day for day in days if day <= closed)
    if early:
        raise InvalidRequest.single(
            f"{early[0]:%Y-%m-%d} is in a closed month ({month_label(closed.replace(day=1))} and earlier are closed): "
            f"post the correction in the open month", expression="effective_date")


def _receivables_through(day: dt.date) -> int:
    return Posting.objects.filter(account__kind__in=Account.RECEIVABLES, transaction__effective_date__lte=day
                                  ).aggregate(total=Sum("amount_cents"))["total"] or 0


def month_totals(month) -> MonthTotals:
    month = parse_month(month)
    end = last_day(month)
    by_kind = dict(Posting.objects.filter(transaction__effective_date__range=(month, end))
                   .values_list("account__kind").annotate(total=Sum("amount_cents")).values_list("account__kind",
                                                                                                  "total"))
    count = Transaction.objects.filter(effective_date__range=(month, end)).aggregate(n=Count("pk"))["n"]
    return MonthTotals(
        month=month, period_end=end, charges=as_money(-(by_kind.get(Account.REVENUE) or 0)),
        payments=as_money(by_kind.get(Account.CASH) or 0),
        adjustments=as_money(sum(by_kind.get(kind) or 0 for kind in ADJUSTMENT_KINDS)),
        ar_open=as_money(_receivables_through(month - dt.timedelta(days=1))), ar_close=as_money(_receivables_through(end)),
        transactions=count)


def next_to_close() -> dt.date:
    """The month that may be closed next: the one after the latest closed, else last month."""
    closed = closed_through()
    if closed is not None:
        return closed + dt.timedelta(days=1)
    return (practice.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def close_month(context: Context, month) -> MonthClose:
    """Close a month that has ended; see the module docstring."""
    context.require(PERMISSION, "your roles do not allow closing a month of the ledger")
    month = parse_month(month)
    end = last_day(month)
    if end >= practice.today():
        raise InvalidRequest.single(f"{month_label(month)} has not ended yet: a month is closed after its last day",
                                    expression="month")
    with transaction.atomic():
        if connection.vendor == "postgresql":  # postings in flight finish first, new ones wait for the close
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE ledger_transaction IN SHARE MODE")
        earlier = MonthClose.objects.filter(month=month).first()
        if earlier is not None:
            raise InvalidRequest.single(f"{month_label(month)} was closed on {earlier.closed_at:%Y-%m-%d} by "
                                        f"{earlier.closed_by}", expression="month")
        closed = closed_through()
        if closed is not None and month > closed + dt.timedelta(days=1):
            raise InvalidRequest.single(f"close {month_label(closed + dt.timedelta(days=1))} first: months close in "
                                        "order", expression="month")
        if closed is not None and month < closed:
            raise InvalidRequest.single(f"{month_label(closed.replace(day=1))} is already closed, and months close "
                                        "in order", expression="month")
        totals = month_totals(month)
        cents = {name: int(getattr(totals, name).scaleb(2))
                 for name in ("charges", "payments", "adjustments", "ar_open", "ar_close")}
        who = context.user_name or audit.actor_name(context)
        row = MonthClose(month=month, period_end=end, transactions=totals.transactions, closed_by=who[:150],
                         **{f"{name}_cents": value for name, value in cents.items()})
        row.save(force_insert=True)
        audit.record(context, "create", resource_type="LedgerMonthClose", resource_ids=[str(row.pk)],
                     detail={"month": f"{month:%Y-%m}", **{name: str(getattr(totals, name)) for name in cents}})
    return row


def closes() -> list[MonthClose]:
    return list(MonthClose.objects.all())
