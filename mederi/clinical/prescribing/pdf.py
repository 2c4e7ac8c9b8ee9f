"""The printed prescription (fpdf2): practice, prescriber with NPI and DEA, patient with date of
birth, the drug, directions, quantity in words and digits, refills, date and a signature line.
Printing is logged like any disclosure of the record."""

from __future__ import annotations

from decimal import Decimal

from fpdf import FPDF

from mederi.audit import services as audit
from mederi.clinical.prescribing import delivery, sigs
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository


def _latin1(text: str) -> str:
    """The PDF's built-in fonts cover Latin-1; anything else prints as '?' rather than failing."""
    return text.replace("—", "-").replace("–", "-").replace("…", "...").encode("latin-1", "replace").decode("latin-1")


def _person(resource: dict) -> str:
    name = (resource.get("name") or [{}])[0]
    return " ".join([*name.get("prefix", []), *name.get("given", []), name.get("family", "")]).strip()


def _address(resource: dict) -> str:
    address = (resource.get("address") or [{}])[0]
    return ", ".join(filter(None, [" ".join(address.get("line") or []), address.get("city"),
                                   " ".join(filter(None, [address.get("state"), address.get("postalCode")]))]))


def _phone(resource: dict) -> str:
    return next((t.get("value", "") for t in resource.get("telecom") or [] if t.get("system") == "phone"), "")


def prescription_lines(parts: dict) -> dict:
    """The words the PDF prints, worked out once (and readable by tests without a PDF)."""
    request, practitioner = parts["request"], parts["practitioner"]
    dispense = request["dispenseRequest"]
    quantity = Decimal(str(dispense["quantity"]["value"]))
    refills = int(dispense.get("numberOfRepeatsAllowed", 0))
    unit = dispense["quantity"].get("unit", "")
    allowed = (request.get("substitution") or {}).get("allowedBoolean", True)
    return {
        "practice": parts["practice"].get("name", ""),
        "practice_contact": " - ".join(filter(None, [_address(parts["practice"]), _phone(parts["practice"])])),
        "prescriber": _person(practitioner),
        "npi": _identifier(practitioner, systems.NPI),
        "dea": _identifier(practitioner, systems.DEA),
        "patient": _person(parts["patient"]),
        "birth_date": parts["patient"].get("birthDate", ""),
        "patient_address": _address(parts["patient"]),
        "date": request.get("authoredOn", "")[:10],
        "drug": request["medicationCodeableConcept"].get("text", ""),
        "sig": request["dosageInstruction"][0]["text"],
        "quantity": f"{sigs.number_in_words(quantity).capitalize()} ({sigs.plain_number(quantity)}) {unit}",
        "refills": f"{sigs.number_in_words(Decimal(refills)).capitalize()} ({refills})",
        "substitution": "Substitution permitted" if allowed else "Dispense as written - no substitution",
        "schedule": f"Controlled substance, schedule {parts['schedule']}" if parts["schedule"] else "",
        "note": next((n.get("text", "") for n in request.get("note") or []), ""),
        "pharmacy": (dispense.get("performer") or {}).get("display", ""),
        "status": request.get("status", ""),
    }


def _identifier(resource: dict, system: str) -> str:
    return next((i.get("value", "") for i in resource.get("identifier") or [] if i.get("system") == system), "")


def render(lines: dict) -> bytes:
    pdf = FPDF(format="letter")
    pdf.set_title(_latin1(f"Prescription for {lines['patient']}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 8, _latin1(lines["practice"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, _latin1(lines["practice_contact"]), new_x="LMARGIN", new_y="NEXT")
    ids = f"NPI {lines['npi']}" + (f"   DEA {lines['dea']}" if lines["dea"] else "")
    pdf.cell(0, 6, _latin1(f"{lines['prescriber']}   {ids}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(4)
    rows = [("Patient", lines["patient"]), ("Date of birth", lines["birth_date"]),
            ("Address", lines["patient_address"]), ("Date", lines["date"])]
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(40, 7, _latin1(label))
        pdf.set_font("Helvetica", "", 11)
        pdf.cell(0, 7, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 22)
    pdf.cell(0, 12, "Rx", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 13)
    pdf.multi_cell(0, 7, _latin1(lines["drug"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    for label, value in [("Sig", lines["sig"]), ("Dispense", lines["quantity"]), ("Refills", lines["refills"]),
                         ("", lines["substitution"]), ("", lines["schedule"]), ("Note", lines["note"]),
                         ("Pharmacy", lines["pharmacy"])]:
        if value:
            pdf.multi_cell(0, 7, _latin1(f"{label}: {value}" if label else value), new_x="LMARGIN", new_y="NEXT")
    if lines["status"] != "active":
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 8, _latin1(f"NOT VALID: this prescription is {lines['status']}."),
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(18)
    pdf.set_font("Helvetica", "", 11)
    y = pdf.get_y()
    pdf.line(pdf.l_margin, y, pdf.l_margin + 90, y)
    pdf.cell(0, 6, _latin1(f"Signature of prescriber: {lines['prescriber']}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def prescription_pdf(context: Context, request_id: str) -> bytes:
    request = Repository(context).read("MedicationRequest", request_id).as_dict()
    parts = delivery.message_parts(context, request)
    content = render(prescription_lines(parts))
    audit.record(context, "print", patient_id=parts["patient"]["id"], resource_type="MedicationRequest",
                 resource_ids=[f"MedicationRequest/{request_id}"], detail={"for": "printed prescription"})
    return content
