"""A CMS-1500 (02/12) claim form as PDF, for payers that take claims on paper.

The form is drawn from the same `ClaimData` the 837P is written from, box by box with the form's
numbering (1a insured's id, 2 patient's name, 21 diagnoses, 24 service lines, 25 tax id, 28 total,
33 billing provider), on a plain page: printed on the red pre-printed form it would need the
form's exact offsets, which a practice sets up with its printer.
"""

from __future__ import annotations

from fpdf import FPDF

from mederi.billing.claims.x837 import ClaimData, Person

LINES_PER_FORM = 6  # box 24 has six service lines; longer claims continue on another form


def _name(person: Person) -> str:
    return f"{person.last_name}, {person.first_name}"


def _box(pdf: FPDF, x: float, y: float, w: float, label: str, value: str) -> None:
    pdf.set_xy(x, y)
    pdf.set_font("Helvetica", size=6)
    pdf.cell(w, 3, label)
    pdf.set_xy(x, y + 3)
    pdf.set_font("Helvetica", size=9)
    pdf.cell(w, 5, value)
    pdf.rect(x, y, w, 9)


def cms1500_pdf(claim: ClaimData) -> bytes:
    pdf = FPDF(format="letter")
    pdf.set_auto_page_break(False)
    patient = claim.patient or claim.subscriber
    for start in range(0, max(len(claim.lines), 1), LINES_PER_FORM):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 12)
        pdf.set_xy(10, 8)
        pdf.cell(0, 6, "HEALTH INSURANCE CLAIM FORM  (CMS-1500 02/12)")
        _box(pdf, 120, 16, 85, "CARRIER", f"{claim.payer_name} ({claim.payer_id})")
        _box(pdf, 10, 28, 95, "1a. INSURED'S I.D. NUMBER", claim.subscriber.member_id)
        _box(pdf, 105, 28, 100, "4. INSURED'S NAME", _name(claim.subscriber))
        born = patient.birth_date.strftime("%m %d %Y") if patient.birth_date else ""
        _box(pdf, 10, 37, 95, "2. PATIENT'S NAME", _name(patient))
        _box(pdf, 105, 37, 50, "3. PATIENT'S BIRTH DATE, SEX", f"{born}  {patient.gender}")
        _box(pdf, 155, 37, 50, "11. INSURED'S GROUP NUMBER", claim.group_number)
        if patient.address:
            _box(pdf, 10, 46, 195, "5. PATIENT'S ADDRESS", f"{patient.address.line1}, {patient.address.city}, "
                 f"{patient.address.state} {patient.address.postal_code}")
        accident = f"{claim.accident.cause} {claim.accident.date:%m/%d/%Y} {claim.accident.state}" \
            if claim.accident else "NO"
        _box(pdf, 10, 55, 95, "10. IS PATIENT'S CONDITION RELATED TO (ACCIDENT)", accident)
        other = claim.other_payer
        _box(pdf, 105, 55, 100, "9. OTHER INSURED / 11d. ANOTHER PLAN",
             f"{other.payer_name} paid {other.paid}" if other else "NONE")
        if claim.referring:
            _box(pdf, 10, 64, 195, "17. REFERRING PROVIDER  17b. NPI",
                 f"DN {claim.referring.name}, {claim.referring.first_name}   {claim.referring.npi}")
        letters = "ABCDEFGHIJKL"
        diagnoses = "   ".join(f"{letters[i]}. {code}" for i, code in enumerate(claim.diagnoses))
        _box(pdf, 10, 73, 195, "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY (ICD Ind. 0)", diagnoses)
        resubmission = f"{claim.frequency}  {claim.original_reference}" if claim.frequency != "1" else ""
        _box(pdf, 10, 82, 95, "22. RESUBMISSION CODE / ORIGINAL REF. NO.", resubmission)
        _box(pdf, 105, 82, 100, "23. PRIOR AUTHORIZATION NUMBER", claim.prior_authorization)
        pdf.set_xy(10, 93)
        pdf.set_font("Helvetica", "B", 7)
        for width, title in ((24, "24A. DATE"), (10, "B. POS"), (40, "D. CPT/HCPCS  MODIFIER"),
                             (22, "E. POINTER"), (25, "F. CHARGES"), (14, "G. UNITS"), (30, "J. RENDERING NPI")):
            pdf.cell(width, 5, title, border=1)
        pdf.set_font("Helvetica", size=9)
        for index, line in enumerate(claim.lines[start:start + LINES_PER_FORM]):
            pdf.set_xy(10, 98 + index * 7)
            rendering = claim.rendering.npi if claim.rendering else claim.billing.npi
            for width, value in ((24, f"{line.service_date:%m %d %y}"), (10, line.place_of_service or
                                                                          claim.place_of_service),
                                 (40, " ".join([line.code, *line.modifiers])),
                                 (22, "".join(letters[p - 1] for p in line.pointers)), (25, f"{line.charge:.2f}"),
                                 (14, f"{line.units:g}"), (30, rendering)):
                pdf.cell(width, 7, value, border=1)
        _box(pdf, 10, 145, 60, "25. FEDERAL TAX I.D. NUMBER (EIN)", claim.billing.tax_id)
        _box(pdf, 70, 145, 70, "26. PATIENT'S ACCOUNT NO.", claim.claim_number)
        _box(pdf, 140, 145, 65, "28. TOTAL CHARGE", f"$ {claim.total:.2f}")
        facility = claim.facility or claim.billing
        _box(pdf, 10, 154, 95, "32. SERVICE FACILITY LOCATION  32a. NPI", f"{facility.name}  {facility.npi}")
        address = claim.billing.address
        where = f", {address.line1}, {address.city}, {address.state} {address.postal_code}" if address else ""
        _box(pdf, 105, 154, 100, "33. BILLING PROVIDER INFO  33a. NPI", f"{claim.billing.npi}  {claim.billing.name}")
        pdf.set_xy(105, 164)
        pdf.set_font("Helvetica", size=7)
        pdf.cell(100, 4, where.lstrip(", "))
    return bytes(pdf.output())
