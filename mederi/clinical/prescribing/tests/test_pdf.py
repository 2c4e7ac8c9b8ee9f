"""The printed prescription, read back from the PDF."""

import io

import pytest
from pypdf import PdfReader

from mederi.audit.models import AuditEntry
from mederi.clinical.prescribing import pdf, services
from mederi.clinical.prescribing.tests.factories import make_chart, prescription

pytestmark = pytest.mark.django_db


def text_of(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_pdf_carries_what_a_pharmacist_needs(settings):
    settings.MEDERI_ERX_URL = "http://127.0.0.1:9/script"
    chart = make_chart()
    signed = services.sign_prescription(chart["context"], "grace", prescription("198440", refills=2))
    assert signed.signed
    text = text_of(pdf.prescription_pdf(chart["context"], signed.request["id"]))
    for expected in ["Riverside Family Medicine", "Ana Ruiz", "NPI 1234567893", "DEA BR1234563",
                     "Grace Okonkwo", "1951-07-02", "acetaminophen 500 MG Oral Tablet",
                     "Take 1 tablet by mouth three times a day for 10 days.", "Thirty (30) tablets",
                     "Refills: Two (2)", "Substitution permitted", "Signature of prescriber",
                     signed.request["authoredOn"][:10]]:
        assert expected in text, expected
    assert "NOT VALID" not in text
    assert AuditEntry.objects.filter(action="print", patient_id="grace").exists()


def test_a_draft_prints_as_not_valid(settings):
    chart = make_chart()
    draft = services.save_draft(chart["context"], "grace", prescription("198440"))
    assert "NOT VALID: this prescription is draft." in text_of(pdf.prescription_pdf(chart["context"], draft["id"]))


def test_quantities_in_words():
    from decimal import Decimal

    from mederi.clinical.prescribing.sigs import number_in_words

    assert [number_in_words(Decimal(v)) for v in ("0", "7.5", "21", "100", "240", "1000")] == [
        "zero", "seven point five", "twenty-one", "one hundred", "two hundred forty", "one thousand"]
