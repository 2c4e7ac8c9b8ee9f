"""Fee schedules (the price of each code for each payer), procedure descriptions and the CPT importer.

The price of a line is looked up in the payer's schedule, then the default one: first with the
line's modifiers, then for the bare code. Every write checks its input whole and stores nothing
when any of it is wrong.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from mederi.billing.claims import codes
from mederi.billing.claims.tables import FeeSchedule, FeeScheduleEntry, ProcedureDescription
from mederi.core.context import Context
from mederi.core.errors import InvalidRequest, Issue

PERMISSION = "financial.write"
DEFAULT_NAME = "Default fee schedule"
MAX_PRICE = Decimal("99999999.99")


def _require(context: Context) -> None:
    context.require(PERMISSION, "your roles do not allow changing fee schedules")


def default_schedule() -> FeeSchedule:
    schedule, _ = FeeSchedule.objects.get_or_create(payer_id="", defaults={"name": DEFAULT_NAME})
    return schedule


def parse_price(text) -> Decimal:
    """A price in dollars and cents; raises ValueError with what is wrong."""
    try:
        price = Decimal(str(text).strip().replace(",", "").lstrip("$"))
    except (InvalidOperation, ValueError):
        raise ValueError(f"“{text}” is not an amount: write dollars and cents, like 125.00.") from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        raise ValueError(f"“{text}” is not a price: use a positive amount with at most two decimals.")
    return price.quantize(Decimal("0.01"))


def set_price(context: Context, schedule: FeeSchedule, code: str, modifiers, price) -> FeeScheduleEntry:
    """Add or change the price of code+modifiers in a schedule; raises InvalidRequest naming each bad field."""
    _require(context)
    issues = []
    code = codes.normalize_procedure(code)
    try:
        codes.code_kind(code)
    except codes.CodeError as error:
        issues.append(Issue(str(error), expression="code"))
    try:
        modifiers = codes.normalize_modifiers(modifiers)
    except codes.CodeError as error:
        issues.append(Issue(str(error), expression="modifiers"))
    try:
        price = parse_price(price)
    except ValueError as error:
        issues.append(Issue(str(error), expression="price"))
    if issues:
        raise InvalidRequest(issues=issues)
    entry, _ = FeeScheduleEntry.objects.update_or_create(
        schedule=schedule, code=code, modifiers=":".join(modifiers), defaults={"price": price})
    return entry


def remove_price(context: Context, entry_id: int) -> None:
    _require(context)
    FeeScheduleEntry.objects.filter(pk=entry_id).delete()


def schedule_for_payer(context: Context, payer_id: str, name: str) -> FeeSchedule:
    _require(context)
    schedule, _ = FeeSchedule.objects.get_or_create(payer_id=payer_id, defaults={"name": name[:120]})
    return schedule


def price_for(payer_id: str, code: str, modifiers: list[str]) -> Decimal | None:
    """The payer's price for the line, else the default schedule's; None when neither prices the code."""
    wanted = ":".join(modifiers)
    entries = {(e.schedule.payer_id, e.modifiers): e.price for e in FeeScheduleEntry.objects.filter(
        code=code, schedule__payer_id__in={payer_id, ""}).select_related("schedule")}
    for key in ((payer_id, wanted), (payer_id, ""), ("", wanted), ("", "")):
        if key in entries:
            return entries[key]
    return None


def describe(code: str) -> str:
    """The licensed description when one was imported, else the project's own short wording."""
    imported = ProcedureDescription.objects.filter(code=code).values_list("description", flat=True).first()
    return imported or codes.shipped_description(code)


class CptFileError(ValueError):
    """A CPT description file that cannot be loaded; every problem found, each with its line number."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems[:10]) + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""))
        self.problems = problems


def read_cpt_file(data: str, on_line: Callable[[], None] | None = None) -> dict[str, str]:
    """code -> description from CSV text (code,description; a header line is allowed); raises CptFileError."""
    problems, found = [], {}
    for number, row in enumerate(csv.reader(io.StringIO(data)), start=1):
        if on_line:
            on_line()
        if not row or not "".join(row).strip():
            continue
        if number == 1 and row[0].strip().lower() == "code":
            continue
        if len(row) != 2:
            problems.append(f"line {number}: expected 2 columns (code,description), found {len(row)}")
            continue
        code, text = row[0].strip().upper(), " ".join(row[1].split())
        if codes.code_kind_or_none(code) != "cpt":
            problems.append(f"line {number}: “{code}” is not a CPT code (five digits, or four digits and F, T or U)")
        elif not text:
            problems.append(f"line {number}: the description of {code} is empty")
        elif len(text) > 300:
            problems.append(f"line {number}: the description of {code} is longer than 300 characters")
        elif code in found:
            problems.append(f"line {number}: {code} appears a second time")
        else:
            found[code] = text
    if not found and not problems:
        problems.append("the file holds no codes")
    if problems:
        raise CptFileError(problems)
    return found


def import_cpt(path: Path, on_line: Callable[[], None] | None = None) -> int:
    """Load a licensed CPT description file, all or nothing; returns how many codes it holds."""
    try:
        data = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise CptFileError([f"the file is not UTF-8 text (byte {error.start})"]) from None
    found = read_cpt_file(data, on_line)
    with transaction.atomic():
        ProcedureDescription.objects.filter(code__in=found).delete()
        ProcedureDescription.objects.bulk_create(
            [ProcedureDescription(code=code, description=text) for code, text in found.items()], batch_size=2000)
    return len(found)


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)
