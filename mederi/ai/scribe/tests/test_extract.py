"""Findings from a visit transcript: what is there, what was denied, what was only wondered about."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.ai.scribe import extract
from mederi.ai.scribe.extract import find, parse_number, read_vitals


def findings(*turns):
    return find(list(turns))


def one(found, kind, code):
    matches = [f for f in found if f.kind == kind and f.code == code]
    assert len(matches) == 1, found
    return matches[0]


def test_a_denied_symptom_is_negated_and_a_reported_one_is_not():
    turns = [("patient", "i've had a cough for a week but i deny any chest pain.")]
    found = findings(*turns)
    cough = one(found, "problem", "R05.9")
    assert not cough.negated and not cough.uncertain
    assert one(found, "problem", "R07.9").negated
    assert turns[cough.turn][1][cough.start:cough.end] == "cough"


def test_a_question_the_patient_answers_no_to_is_a_denial():
    found = findings(("doctor", "any chest pain or shortness of breath?"), ("patient", "no, not that i've noticed."))
    assert one(found, "problem", "R07.9").negated
    assert one(found, "problem", "R06.02").negated


def test_a_question_the_patient_answers_yes_to_is_a_problem():
    found = findings(("doctor", "do you get headaches?"), ("patient", "yeah, most mornings."))
    headache = one(found, "problem", "R51.9")
    assert not headache.negated and not headache.uncertain


def test_a_hedged_medication_is_uncertain_and_a_stopped_one_negated():
    found = findings(("doctor", "we could maybe start lisinopril 10 mg."), ("doctor", "let's stop the ibuprofen."))
    lisinopril = one(found, "medication", "29046")
    assert lisinopril.uncertain and not lisinopril.negated and lisinopril.value == "10 mg"
    assert one(found, "medication", "5640").negated
    assert all(f.system == extract.RXNORM for f in found if f.kind == "medication")


def test_a_brand_name_is_its_ingredient_with_the_dose_said():
    found = findings(("doctor", "i also want to start you on some lasix, 20 milligrams a day."))
    furosemide = one(found, "medication", "4603")
    assert furosemide.display == "furosemide" and furosemide.value == "20 mg"


def test_an_allergy_is_an_allergy_not_a_medication():
    found = findings(("patient", "i'm allergic to penicillin, it gives me hives."))
    allergy = one(found, "allergy", "70618")
    assert allergy.display == "penicillins" and not allergy.negated
    assert not [f for f in found if f.kind == "medication"]


def test_no_known_allergies():
    found = findings(("doctor", "any allergies?"), ("patient", "no known drug allergies."))
    assert [(f.kind, f.code) for f in found] == [("allergy", "716186003")]


def test_vitals_with_their_loinc_code_value_and_unit():
    text = ("your blood pressure is 128 over 78, heart rate is 72, temperature 98.6, "
            "oxygen saturation of 97 percent and you weigh 182 pounds.")
    found = {f.code: f.value for f in findings(("doctor", text)) if f.kind == "vital"}
    assert found == {"85354-9": "128/78 mmHg", "8867-4": "72 /min", "8310-5": "98.6 [degF]", "59408-5": "97 %",
                     "29463-7": "182 [lb_av]"}


def test_spoken_numbers_and_celsius():
    found = {r.code: r.value for r in read_vitals("pulse is seventy two and the temperature was 38.2 celsius")}
    assert found == {"8867-4": "72 /min", "8310-5": "38.2 Cel"}


def test_a_number_no_living_patient_could_have_is_not_a_vital():
    assert read_vitals("her heart rate was fine, 2 weeks ago it was 400") == []
    assert read_vitals("blood pressure 80 over 120") == []  # diastolic above systolic: misheard


def test_orders_are_found_but_results_are_not_orders():
    found = findings(("doctor", "i'm going to order a lipid panel and an x-ray of your left knee."),
                     ("doctor", "your mri showed a small tear."))
    orders = [(f.display, f.code) for f in found if f.kind == "order"]
    assert orders == [("Lipid panel", "24331-1"), ("X-ray of the left knee", "")]


@given(st.integers(min_value=70, max_value=250), st.integers(min_value=30, max_value=69),
       st.sampled_from(["blood pressure is", "bp", "blood pressure today was"]), st.sampled_from(["over", "/"]))
def test_any_blood_pressure_reads_back(systolic, diastolic, lead, separator):
    readings = read_vitals(f"{lead} {systolic} {separator} {diastolic} today")
    assert [(r.code, r.value) for r in readings] == [("85354-9", f"{systolic}/{diastolic} mmHg")]


@given(st.decimals(min_value=1, max_value=600, places=1), st.sampled_from(["pounds", "lbs", "kilograms", "kg"]))
def test_any_weight_reads_back_in_its_unit(weight, unit):
    readings = read_vitals(f"she weighs {weight} {unit} now")
    assert [r.value for r in readings] == [f"{weight} {'kg' if unit.startswith('k') else '[lb_av]'}"]


ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
       "seventeen eighteen nineteen".split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def spoken(number: int) -> str:
    """How a person says 0-999 ("one hundred and five", "seventy two")."""
    hundreds, rest = divmod(number, 100)
    words = [f"{ONES[hundreds]} hundred"] if hundreds else []
    if rest or not hundreds:
        if hundreds:
            words.append("and")
        words.append(ONES[rest] if rest < 20 else TENS[rest // 10 - 2] + (f" {ONES[rest % 10]}" if rest % 10 else ""))
    return " ".join(words)


@given(st.integers(min_value=0, max_value=999))
def test_spoken_and_written_numbers_parse_to_the_same_value(number):
    assert parse_number(spoken(number)) == Decimal(number) == parse_number(str(number))


@pytest.mark.parametrize("text", ["", "a few", "hundred thousand", "twenty point", "seven point twelve"])
def test_words_that_are_no_number(text):
    assert parse_number(text) is None
