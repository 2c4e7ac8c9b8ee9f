"""A patient statement as PDF (fpdf2, like the CMS-1500): practice header, who it is for, visits, activity, balance.

Letter size, one column; the tear-off stub at the bottom of the first page repeats the account
number and the amount due for a payment sent by mail.
"""

from __future__ import annotations

from decimal import Decimal

from fpdf import FPDF

from .statements import StatementData

VISIT_COLUMNS = [("Date", 22), ("Visit", 58), ("Charges", 22), ("Ins. paid", 22), ("Adjusted", 22),
                 ("Ins. owes", 22), ("You owe", 22)]


def _text(value: str) -> str:
    """The core PDF fonts are Latin-1: anything else is shown as '?' rather than refused."""
    return value.encode("latin-1", "replace").decode("latin-1")


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def statement_pdf(data: StatementData) -> bytes:
    pdf = FPDF(format="letter")
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(_text(f"Statement {data.number}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(120, 7, _text(data.practice.name))
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 7, "STATEMENT", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for line in [*data.practice.lines, f"Phone {data.practice_phone}" if data.practice_phone else ""]:
        if line:
            pdf.cell(0, 4.5, _text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    top = pdf.get_y()
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(100, 5, _text(data.recipient.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for line in data.recipient.lines:
        pdf.cell(100, 5, _text(line), new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(120, top)
    for label, value in (("Statement", data.number), ("Date", data.statement_date.strftime("%m/%d/%Y")),
                         ("Patient", data.patient_name), ("Account", data.account_number),
                         ("Please pay by", data.due_by.strftime("%m/%d/%Y"))):
        pdf.set_x(120)
        pdf.set_font("Helvetica", size=9)
        pdf.cell(30, 5, label)
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, _text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(120, pdf.get_y() + 1)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, f"Balance due: ${_money(data.balance)}", border=1, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + 40))

    pdf.set_font("Helvetica", size=9)
    summary = [(f"Previous balance (statement {data.previous_number} of {data.previous_date:%m/%d/%Y})"
                if data.previous_number else "Previous balance", data.previous_balance),
               ("Your share of visits, new or changed", data.new_charges),
               ("Payments, refunds and other credits", data.payments_and_credits)]
    for label, amount in summary:
        pdf.cell(150, 5, _text(label))
        pdf.cell(40, 5, _money(amount), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(150, 5, "Balance due", border="T")
    pdf.cell(40, 5, _money(data.balance), border="T", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Visits" + (" since your last statement, or still with insurance" if data.previous_number else ""),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 8)
    for label, width in VISIT_COLUMNS:
        pdf.cell(width, 5, label, border="B", align="L" if label in ("Date", "Visit") else "R")
    pdf.ln()
    pdf.set_font("Helvetica", size=8)
    for visit in data.visits:
        values = [visit.service_date, visit.description, _money(visit.charges),
                  _money(visit.insurance_paid), _money(visit.adjustments), _money(visit.with_insurance),
                  _money(visit.patient_share)]
        for (label, width), value in zip(VISIT_COLUMNS, values, strict=True):
            pdf.cell(width, 5, _text(value)[:36], align="L" if label in ("Date", "Visit") else "R")
        pdf.ln()
        pdf.set_font("Helvetica", "I", 7)
        pdf.cell(22, 4, "")
        pdf.cell(0, 4, _text(f"claim {visit.claim_number} - {visit.status}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=8)
    if not data.visits:
        pdf.cell(0, 5, "No visit changed since your last statement." if data.previous_number else
                 "No visits billed to insurance on this account.", new_x="LMARGIN", new_y="NEXT")

    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Payments and other activity" + (" since your last statement" if data.previous_number else ""),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    for line in data.activity:
        pdf.cell(22, 5, line.day.isoformat())
        pdf.cell(146, 5, _text(line.description)[:95])
        pdf.cell(22, 5, _money(line.amount), align="R", new_x="LMARGIN", new_y="NEXT")
    if not data.activity:
        pdf.cell(0, 5, "None.", new_x="LMARGIN", new_y="NEXT")

    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 9)
    width = 190 / (len(data.aging) + 1)
    for label, _ in data.aging:
        pdf.cell(width, 5, f"{label} days", border="B", align="R")
    pdf.cell(width, 5, "Balance due", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for _, amount in data.aging:
        pdf.cell(width, 5, _money(amount), align="R")
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(width, 5, _money(data.balance), align="R", new_x="LMARGIN", new_y="NEXT")

    if data.plan:
        pdf.ln(2)
        pdf.set_font("Helvetica", size=9)
        pdf.multi_cell(0, 5, _text(data.plan), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "How to pay", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for line in data.how_to_pay:
        pdf.multi_cell(0, 5, _text(f"- {line}"), new_x="LMARGIN", new_y="NEXT")
    if data.balance < 0:
        pdf.multi_cell(0, 5, f"You have a credit of ${_money(-data.balance)}: nothing is due. Ask us for a refund "
                       "or keep it for your next visit.", new_x="LMARGIN", new_y="NEXT")

    pdf.ln(4)
    pdf.set_font("Helvetica", size=8)
    pdf.cell(0, 4, "- " * 60 + " detach and return with your payment", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(95, 5, _text(f"{data.recipient.name}  -  account {data.account_number}"))
    pdf.cell(0, 5, _text(f"Statement {data.number}  -  amount due ${_money(max(data.balance, Decimal(0)))}"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, "Amount enclosed: $ ____________", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
