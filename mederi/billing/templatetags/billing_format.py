"""Money and percentages as a front desk reads them: $1,234.50, 20 %, and a dash when the payer did not say."""

from decimal import Decimal

from django import template

register = template.Library()
NOT_GIVEN = "—"


@register.filter
def money(value) -> str:
    if value is None or value == "":
        return NOT_GIVEN
    amount = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


@register.filter
def percent(value) -> str:
    if value is None or value == "":
        return NOT_GIVEN
    number = Decimal(value).normalize()
    text = format(number, "f")
    return f"{text} %"


@register.filter
def practice_time(moment) -> str:
    """An instant on the practice's clock, with its zone: 2026-11-30 12:42 CST."""
    from mederi.billing import practice

    if moment is None:
        return NOT_GIVEN
    return moment.astimezone(practice.zone()).strftime("%Y-%m-%d %H:%M %Z")
