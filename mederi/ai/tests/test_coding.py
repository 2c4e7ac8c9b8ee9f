"""The offline coding engine: billable codes with their evidence, negation, and the E/M level."""

import pytest
import simple_icd_10_cm as icd

from mederi.ai import coding, em
from mederi.ai.synonyms import SYNONYMS
from mederi.billing.claims import icd10


def codes(text: str) -> list[str]:
    return [m.code for m in coding.suggest_codes(text)]


def test_every_synonym_code_is_billable():
    assert [c for c in SYNONYMS if not icd.is_leaf(icd10.dotted(c))] == []


def test_a_mention_gives_a_billable_code_with_its_evidence_span():
    text = "Assessment: type 2 diabetes and high blood pressure."
    found = {m.code: m for m in coding.suggest_codes(text)}
    assert set(found) == {"E11.9", "I10"}
    assert text[found["E11.9"].start:found["E11.9"].end] == "type 2 diabetes"
    assert text[found["I10"].start:found["I10"].end] == "high blood pressure"


def test_a_header_code_is_never_suggested():
    # "Diabetes mellitus" and "Essential hypertension" name categories too; only leaves come back
    found = codes("Essential (primary) hypertension. Diabetes mellitus. Pneumonia. Asthma. Gout.")
    assert found and all(icd.is_leaf(code) for code in found)
    assert "E11" not in found and "J45" not in found


@pytest.mark.parametrize("text", [
    "The patient denies chest pain.", "No history of diabetes.", "Pneumonia was ruled out.",
    "Negative for fever.", "Family history of breast cancer.", "Without cough.",
])
def test_negated_or_family_mentions_give_no_code(text):
    assert codes(text) == []


def test_negation_stops_at_the_end_of_the_sentence_and_at_but():
    assert codes("No fever. Cough for a week.") == ["R05.9"]
    assert "R05.9" in codes("No fever but a cough.")


def test_plurals_match_the_singular():
    assert codes("Recurrent seizures since May.") == ["R56.9"]


def test_em_by_total_time():
    assert em.office_visit_level("Spent 35 minutes with the patient.", new_patient=False, problems=1).code == "99214"
    assert em.office_visit_level("Total time of 62 minutes.", new_patient=True, problems=1).code == "99205"
    level = em.office_visit_level("I spent 22 minutes.", new_patient=False, problems=0)
    assert level.code == "99213" and "22 minutes" in level.reasoning


def test_em_by_decision_making_two_of_three():
    # worsening chronic illness (moderate), one test (minimal), a prescription changed (moderate): 99214
    text = "Hypertension worsening. Ordered a BMP. Increase lisinopril to 20 mg daily."
    level = em.office_visit_level(text, new_patient=False, problems=1)
    assert level.code == "99214"
    assert "Problems: a chronic illness with exacerbation" in level.reasoning
    assert "prescription drug management" in level.reasoning
    # one acute problem (low), no data (minimal), rest and fluids (low): 99203 for a new patient
    assert em.office_visit_level("Sore throat. Rest and fluids.", new_patient=True, problems=1).code == "99203"
    # nothing named at all: straightforward
    assert em.office_visit_level("Seen today.", new_patient=False, problems=0).code == "99212"


@pytest.mark.dataset
def test_on_codiesp_held_out_documents_most_suggestions_are_right():
    import importlib.util

    from mederi.conftest import shared_data

    path = shared_data("coding", "codiesp-train-en.jsonl")
    spec = importlib.util.spec_from_file_location("eval_coding", "benchmarks/eval_coding.py")
    evaluation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluation)
    _, held_out = evaluation.load(path)
    figures = evaluation.evaluate(held_out)
    assert figures["documents"] == 100
    assert figures["precision"] > 0.6 and figures["map"] > 0.2  # recorded: 0.756 and 0.231
