"""The paper claim (CMS-1500) holds the fields a payer keys in."""

import io

from pypdf import PdfReader

from mederi.billing.claims.cms1500 import cms1500_pdf
from mederi.billing.claims.tests.test_837_scenarios import SCENARIOS


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_form_shows_the_insured_patient_diagnoses_lines_and_total():
    claim = SCENARIOS["secondary claim for a dependent"]()
    claim.prior_authorization = "PA-42"
    text = text_of(cms1500_pdf(claim))
    for expected in ("M300", "DOE, JOHN", "DOE, TIM", "A. I10", "99213", "36415", "135.00", "PA-42",
                     "12-3456789", "1612345672", "BIG STATE PLAN paid 80.00"):
        assert expected in text, expected


def test_more_than_six_lines_continue_on_a_second_form():
    claim = SCENARIOS["single line, patient is the subscriber"]()
    claim.lines = claim.lines * 7
    assert len(PdfReader(io.BytesIO(cms1500_pdf(claim))).pages) == 2
