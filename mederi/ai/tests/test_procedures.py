"""Procedure codes from a note: what was done at the visit, not what was refused, planned or negated; the
codes that go with a procedure; and accepted ones start the lines of the visit's charge screen."""

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from mederi.ai import services
from mederi.ai.procedures import documented_procedures
from mederi.ai.tests.conftest import NOTE, write_note
from mederi.conftest import staff_user


def codes_in(text: str) -> list[str]:
    return [p.code for p in documented_procedures(text)]


@pytest.mark.parametrize("text, expected", [
    ("EKG showed normal sinus rhythm.", ["93000"]),
    ("Rapid strep test was negative.", ["87880"]),  # a result still means the test was done
    ("Flu shot given in the left deltoid. Tdap also given.", ["90686", "90471", "90715", "90472"]),
    ("B12 injection given today.", ["96372", "J3420"]),
    ("Nebulizer treatment with improvement in wheezing.", ["94640", "J7613"]),
    ("Ear wax removal with lavage, both ears.", ["69210"]),
    ("She declined the flu shot.", []),
    ("No EKG today.", []),
    ("We will get spirometry next visit.", []),
    ("Consider a knee injection if the pain persists.", []),
    ("Refer for a skin biopsy.", []),
])
def test_only_what_was_done_at_the_visit_is_coded(text, expected):
    assert codes_in(text) == expected


def test_each_code_points_at_the_words_it_came_from():
    text = "Exam unremarkable. Pulse ox 98% on room air."
    [found] = documented_procedures(text)
    assert (found.code, text[found.start:found.end]) == ("94760", "Pulse ox")
    assert found.display == "Pulse oximetry, single reading"


@given(st.text(alphabet="abcdefghij klmnopqrstuvwxyz.,", max_size=120))
def test_a_refused_or_planned_procedure_never_adds_its_code(text):
    before = set(codes_in(text))
    for sentence in ("She declined the flu shot.", "We will do an EKG next visit.", "No rapid strep test today."):
        assert set(codes_in(f"{text}. {sentence}")) <= before | set(codes_in(f"{text}."))


@pytest.mark.django_db
def test_accepted_procedures_and_visit_level_start_the_charge_screen(doctor):
    note = write_note(doctor, {**NOTE, "plan-text": NOTE["plan-text"] + " Flu shot given today. EKG showed sinus "
                                                                    "rhythm."})
    rows = services.suggest_for_note(doctor, note)
    by_code = {r.code: r for r in rows}
    assert {"90686", "90471", "93000"} <= {r.code for r in rows if r.kind == "procedure"}
    assert "Documented as done: “Flu shot”." == by_code["90686"].reasoning
    for code in ("99213", "90686", "90471"):
        services.decide(doctor, by_code[code].pk, accept=True)
    services.decide(doctor, by_code["93000"].pk, accept=False)

    biller = Client()
    biller.force_login(staff_user("bea", "biller"))
    page = biller.get(f"/billing/charges/visit/{by_code['99213'].encounter_id}/").content.decode()
    for code in ("99213", "90686", "90471"):
        assert f'value="{code}"' in page
    assert 'value="93000"' not in page  # rejected
    assert "Influenza vaccine" in page  # the line's description, priced for review
