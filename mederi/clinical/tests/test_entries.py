"""The structured entries through their partials: good input stored with the right codes and units,
bad input refused at its field with nothing stored, and the chart showing what was entered."""

from __future__ import annotations

from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from mederi.clinical.entries import vitals
from mederi.conftest import record_row_counts, staff_user
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

pytestmark = pytest.mark.django_db
SYSTEM = Context.system("test")
PATIENT = "pat-entries"


@pytest.fixture
def patient():
    repo = Repository(SYSTEM)
    repo.update("Patient", PATIENT, {"resourceType": "Patient", "id": PATIENT, "active": True,
                                     "name": [{"use": "official", "family": "Chalmers", "given": ["Peter"]}],
                                     "birthDate": "1974-12-25"})
    repo.update("Encounter", "enc-1", {"resourceType": "Encounter", "id": "enc-1", "status": "in-progress",
                                       "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                                 "code": "AMB"}, "subject": {"reference": f"Patient/{PATIENT}"}})
    return PATIENT


@pytest.fixture
def doctor() -> Client:
    client = Client()
    client.force_login(staff_user("doc", "physician"))
    return client


def _url(kind: str, encounter: str = "") -> str:
    return f"/clinical/patients/{PATIENT}/entries/{kind}/" + (f"?encounter={encounter}" if encounter else "")


def _post(client: Client, kind: str, data: dict, encounter: str = ""):
    return client.post(_url(kind, encounter), data, headers={"HX-Request": "true"})


def _all(resource_type: str, **params) -> list[dict]:
    query = [("patient", PATIENT), *params.items(), ("_count", "100")]
    return [s.as_dict() for s in Repository(SYSTEM).search(resource_type, query).matches]


def _field_error(html: str, field_name: str) -> str:
    """The error text shown at one field (empty when it has none)."""
    marker = f'id="id_{field_name}-error"'
    if marker not in html:
        return ""
    start = html.index(marker)
    return unescape(html[start:html.index("</div>", start)])


# -- vitals ---------------------------------------------------------------------------------------


def test_vitals_in_us_units_are_stored_as_ucum_observations_with_a_bmi(patient, doctor):
    answer = _post(doctor, "vitals", {"systolic": "128", "diastolic": "82", "heart_rate": "72", "spo2": "97",
                                      "temperature": "98.6", "temperature_unit": "F", "height": "70",
                                      "height_unit": "in", "weight": "180", "weight_unit": "lb",
                                      "respiratory_rate": "16"}, encounter="enc-1")
    assert answer.status_code == 200
    assert "Vital signs recorded." in answer.content.decode()
    found = {o["code"]["coding"][0]["code"]: o for o in _all("Observation", category="vital-signs")}
    assert set(found) == {"85354-9", "8867-4", "9279-1", "8310-5", "59408-5", "8302-2", "29463-7", "39156-5"}
    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in found["85354-9"]["component"]}
    assert components["8480-6"]["value"] == 128 and components["8480-6"]["code"] == "mm[Hg]"
    assert components["8462-4"]["value"] == 82
    assert found["8310-5"]["valueQuantity"] == {"value": 37.0, "unit": "°C", "system": systems.UCUM, "code": "Cel"}
    assert found["8302-2"]["valueQuantity"]["value"] == 177.8 and found["8302-2"]["valueQuantity"]["code"] == "cm"
    assert found["29463-7"]["valueQuantity"]["value"] == 81.65 and found["29463-7"]["valueQuantity"]["code"] == "kg"
    assert found["39156-5"]["valueQuantity"]["value"] == 25.8 and found["39156-5"]["valueQuantity"]["code"] == "kg/m2"
    assert {c["code"] for c in found["59408-5"]["code"]["coding"]} == {"59408-5", "2708-6"}
    assert all(o["encounter"] == {"reference": "Encounter/enc-1"} for o in found.values())
    assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in found.values())
    shown = doctor.get(f"/clinical/patients/{PATIENT}/").content.decode()
    assert "128/82 mmHg" in shown and "25.8 kg/m²" in shown


@pytest.mark.parametrize("data, field_name, words", [
    ({"systolic": "400", "diastolic": "80"}, "systolic", "is not possible"),
    ({"systolic": "120", "diastolic": "130"}, "diastolic", "must be lower than the systolic"),
    ({"systolic": "120"}, "diastolic", "needs both numbers"),
    ({"heart_rate": "fast"}, "heart_rate", "is not a number"),
    ({"temperature": "150", "temperature_unit": "F"}, "temperature", "77–113 °F"),
    ({"weight": "0"}, "weight", "is not possible"),
    ({"spo2": "101"}, "spo2", "is not possible"),
    ({"heart_rate": "70", "taken_on": "2999-01-01"}, "taken_on", "cannot be in the future"),
])
def test_impossible_vitals_are_refused_at_the_field_and_nothing_is_stored(patient, doctor, data, field_name, words):
    before = record_row_counts()
    answer = _post(doctor, "vitals", data)
    assert words in _field_error(answer.content.decode(), field_name)
    assert record_row_counts() == before


def test_an_empty_vitals_form_says_what_is_missing(patient, doctor):
    answer = doctor.post(_url("vitals"), {})
    assert answer.status_code == 400
    assert "Enter at least one vital sign." in answer.content.decode()


@settings(max_examples=200, deadline=None)
@given(height=st.decimals(min_value=Decimal("50"), max_value=Decimal("250"), places=1),
       weight=st.decimals(min_value=Decimal("10"), max_value=Decimal("300"), places=2))
def test_bmi_is_weight_over_height_squared_to_one_decimal(height, weight):
    bmi = vitals.body_mass_index(height, weight)
    exact = weight / (height / 100) ** 2
    assert abs(bmi - exact) <= Decimal("0.05")
    assert bmi == bmi.quantize(Decimal("0.1"))


def test_bmi_of_worked_cases():
    assert vitals.body_mass_index(Decimal(175), Decimal(70)) == Decimal("22.9")
    assert vitals.body_mass_index(Decimal(160), Decimal(90)) == Decimal("35.2")


# -- problems -------------------------------------------------------------------------------------


def test_a_problem_chosen_from_the_starter_list_is_coded_in_icd10_and_snomed(patient, doctor):
    suggestions = doctor.get("/clinical/entries/suggestions/problems/?problem=diab ty").content.decode()
    assert "Type 2 diabetes mellitus without complications (E11.9)" in suggestions
    answer = _post(doctor, "problems", {"problem": "Type 2 diabetes mellitus without complications (E11.9)",
                                        "onset": "2019-05-01"})
    assert "Problem list updated." in answer.content.decode()
    [condition] = _all("Condition")
    codes = {c["system"]: c["code"] for c in condition["code"]["coding"]}
    assert codes == {systems.ICD10CM: "E11.9", systems.SNOMED: "44054006"}
    assert condition["category"][0]["coding"][0]["code"] == "problem-list-item"
    assert condition["clinicalStatus"]["coding"][0]["code"] == "active"
    assert condition["onsetDateTime"] == "2019-05-01"
    resolved = _post(doctor, "problems", {"action": "resolve", "id": condition["id"]})
    assert "resolved" in resolved.content.decode()
    [condition] = _all("Condition")
    assert condition["clinicalStatus"]["coding"][0]["code"] == "resolved" and condition["abatementDateTime"]


def test_a_problem_without_a_code_or_with_a_bad_code_is_refused(patient, doctor):
    before = record_row_counts()
    answer = _post(doctor, "problems", {"problem": "Feeling odd"}).content.decode()
    assert "Choose a problem from the suggestions" in _field_error(answer, "problem")
    answer = _post(doctor, "problems", {"problem": "Something", "icd10": "12X"}).content.decode()
    assert "is not an ICD-10-CM code" in _field_error(answer, "icd10")
    assert 'value="Something"' in answer  # what was typed is kept
    assert record_row_counts() == before


# -- allergies ------------------------------------------------------------------------------------


def test_a_drug_allergy_is_coded_in_rxnorm_and_replaces_no_known_allergies(patient, doctor):
    _post(doctor, "allergies", {"no_known": "on"})
    [nka] = _all("AllergyIntolerance")
    assert nka["code"]["coding"][0]["code"] == "716186003"
    answer = _post(doctor, "allergies", {"substance": "Penicillin V", "category": "medication", "reaction": "Hives",
                                         "severity": "moderate", "criticality": "high"})
    assert "Allergies updated." in answer.content.decode()
    by_code = {a["code"].get("coding", [{}])[0].get("code"): a for a in _all("AllergyIntolerance")}
    penicillin = next(a for code, a in by_code.items() if code != "716186003")
    assert penicillin["code"]["coding"][0]["system"] == systems.RXNORM
    assert penicillin["reaction"][0]["manifestation"][0]["text"] == "Hives"
    assert penicillin["reaction"][0]["severity"] == "moderate" and penicillin["criticality"] == "high"
    assert by_code["716186003"]["clinicalStatus"]["coding"][0]["code"] == "inactive"


def test_allergy_mistakes_are_refused_at_the_field(patient, doctor):
    before = record_row_counts()
    answer = _post(doctor, "allergies", {"substance": "Peanut", "no_known": "on"}).content.decode()
    assert "not both" in _field_error(answer, "substance")
    answer = _post(doctor, "allergies", {"substance": "Peanut", "severity": "severe"}).content.decode()
    assert "Describe the reaction" in _field_error(answer, "reaction")
    answer = _post(doctor, "allergies", {}).content.decode()
    assert "Name the substance" in _field_error(answer, "substance")
    assert record_row_counts() == before


# -- medications and reconciliation ---------------------------------------------------------------


def _first_drug() -> tuple[str, str]:
    from mederi.clinical.drugs.models import DrugConcept

    drug = DrugConcept.objects.filter(term_type="SCD").order_by("name").first()
    return drug.rxcui, drug.name


def test_medications_are_coded_from_the_catalogue_and_reconciled_at_a_visit(patient, doctor):
    rxcui, name = _first_drug()
    _post(doctor, "medications", {"drug": name, "dosage": "1 tablet daily"})
    _post(doctor, "medications", {"drug": "Grandma's tonic", "dosage": "a spoon"})
    statements = {s["medicationCodeableConcept"].get("text"): s for s in _all("MedicationStatement")}
    coded = statements[name]
    assert coded["medicationCodeableConcept"]["coding"][0] == {"system": systems.RXNORM, "code": rxcui,
                                                                "display": name}
    tonic = statements["Grandma's tonic"]
    missing = _post(doctor, "medications", {"action": "reconcile", f"decision_{coded['id']}": "changed",
                                            f"dosage_{coded['id']}": "1 tablet daily"}, encounter="enc-1")
    html = missing.content.decode()
    assert "write the new directions" in _field_error(html, f"dosage_{coded['id']}")
    assert "say whether it is continued, changed or stopped" in _field_error(html, f"decision_{tonic['id']}")
    assert not _all("List")
    _post(doctor, "medications", {"action": "reconcile", f"decision_{coded['id']}": "changed",
                                  f"dosage_{coded['id']}": "2 tablets daily", f"decision_{tonic['id']}": "stopped"},
          encounter="enc-1")
    statements = {s["id"]: s for s in _all("MedicationStatement")}
    assert statements[coded["id"]]["dosage"] == [{"text": "2 tablets daily"}]
    assert statements[tonic["id"]]["status"] == "stopped" and statements[tonic["id"]]["effectivePeriod"]["end"]
    [review] = _all("List")
    assert review["encounter"] == {"reference": "Encounter/enc-1"}
    assert {e["item"]["reference"]: e["flag"]["coding"][0]["code"] for e in review["entry"]} == {
        f"MedicationStatement/{coded['id']}": "changed", f"MedicationStatement/{tonic['id']}": "stopped"}


# -- immunizations, smoking, family history -------------------------------------------------------


def test_an_immunization_is_stored_with_its_cvx_code_lot_and_site(patient, doctor):
    _post(doctor, "immunizations", {"vaccine": "115", "given_on": "2024-10-01", "lot": "AB123", "site": "LD"})
    [shot] = _all("Immunization")
    assert shot["vaccineCode"]["coding"][0]["system"] == systems.CVX and shot["vaccineCode"]["coding"][0]["code"] == "115"
    assert (shot["occurrenceDateTime"], shot["lotNumber"], shot["site"]["coding"][0]["code"]) == ("2024-10-01", "AB123", "LD")
    before = record_row_counts()
    answer = _post(doctor, "immunizations", {"vaccine": "999", "given_on": ""}).content.decode()
    assert "not on the practice's vaccine list" in _field_error(answer, "vaccine")
    assert "The day given is needed." in _field_error(answer, "given_on")
    assert record_row_counts() == before


def test_smoking_status_uses_the_us_core_codes(patient, doctor):
    _post(doctor, "smoking", {"status": "8517006"})
    [status] = _all("Observation", code=f"{systems.LOINC}|72166-2")
    assert status["valueCodeableConcept"]["coding"][0] == {"system": systems.SNOMED, "code": "8517006",
                                                           "display": "Former smoker"}
    before = record_row_counts()
    assert "Choose the patient" in _field_error(_post(doctor, "smoking", {"status": "123"}).content.decode(), "status")
    assert record_row_counts() == before


def test_family_history_names_the_relative_condition_and_onset_age(patient, doctor):
    _post(doctor, "family-history", {"relationship": "FTH", "condition": "Coronary artery disease", "onset_age": "55"})
    [history] = _all("FamilyMemberHistory")
    assert history["relationship"]["coding"][0]["code"] == "FTH"
    assert history["condition"][0]["code"]["coding"][0]["code"] == "53741008"
    assert history["condition"][0]["onsetAge"]["value"] == 55 and history["condition"][0]["onsetAge"]["code"] == "a"
    before = record_row_counts()
    answer = _post(doctor, "family-history", {"relationship": "FTH", "condition": "Gout", "onset_age": "200"})
    assert "whole number of years from 0 to 120" in _field_error(answer.content.decode(), "onset_age")
    assert record_row_counts() == before


# -- access ---------------------------------------------------------------------------------------


def test_someone_without_clinical_read_cannot_open_the_chart_or_the_entries(patient):
    desk = Client()
    desk.force_login(staff_user("fran", "front_desk"))
    assert desk.get(f"/clinical/patients/{PATIENT}/").status_code == 403
    assert desk.get(_url("allergies")).status_code == 403


def test_someone_who_may_read_but_not_write_sees_the_chart_but_cannot_add(patient):
    reader = Client()
    reader.force_login(staff_user("reader", permissions=["clinical.read", "demographics.read"]))
    assert reader.get(f"/clinical/patients/{PATIENT}/").status_code == 200
    before = record_row_counts()
    assert reader.post(_url("vitals"), {"heart_rate": "70"}).status_code == 403
    assert record_row_counts() == before


def test_an_encounter_of_another_patient_is_refused(patient, doctor):
    Repository(SYSTEM).update("Patient", "other", {"resourceType": "Patient", "id": "other", "active": True})
    Repository(SYSTEM).update("Encounter", "enc-other", {"resourceType": "Encounter", "id": "enc-other",
                                                         "status": "finished", "class": {"code": "AMB"},
                                                         "subject": {"reference": "Patient/other"}})
    before = record_row_counts()
    answer = doctor.post(_url("vitals", "enc-other"), {"heart_rate": "70"})
    assert answer.status_code == 400 and "is another patient" in answer.content.decode()
    assert record_row_counts() == before
