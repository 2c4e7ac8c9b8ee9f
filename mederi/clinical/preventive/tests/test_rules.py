"""Each preventive rule against worked cases: who is eligible by age, sex and risk, what satisfies
it (each kind of evidence), where its interval ends, and since when it is overdue."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mederi.clinical.preventive import engine
from mederi.clinical.preventive.codes import code_sets, sets_of
from mederi.clinical.preventive.record import Finding, PatientRecord
from mederi.clinical.preventive.rules import BY_ID, RULES

TODAY = date(2026, 3, 10)


def finding(set_name: str, on: date, kind: str = "Observation", **extra) -> Finding:
    return Finding(kind, f"{kind}/x", frozenset({set_name}), on, set_name, **extra)


def person(age: int, sex: str = "female", *findings: Finding, classes=()) -> PatientRecord:
    born = date(TODAY.year - age, 1, 15)  # the birthday has passed by March 10
    return PatientRecord("p", born, sex, list(findings), set(classes))


def judge(rule_id: str, record: PatientRecord, today: date = TODAY) -> engine.Result:
    return engine.evaluate(BY_ID[rule_id], record, today)


def test_every_rule_names_known_code_sets_and_says_what_to_do_and_why():
    sets = code_sets()
    for rule in RULES:
        assert rule.advice and rule.citation
        for option in rule.options:
            assert option.code_set in sets, (rule.id, option.code_set)


def test_codings_are_matched_by_system_and_code():
    concept = {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "45378"}]}
    assert "colonoscopy" in sets_of(concept)
    assert sets_of({"coding": [{"system": "http://loinc.org", "code": "45378"}]}) == frozenset()


# -- colorectal ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("age, applies", [(44, False), (45, True), (75, True), (76, False)])
def test_colorectal_screening_applies_from_45_to_75(age, applies):
    result = judge("colorectal-screening", person(age, "male"))
    assert (result.status != engine.NOT_APPLICABLE) is applies
    if not applies:
        assert "from 45 to 75" in result.reason


@pytest.mark.parametrize("code_set, years, kind", [("colonoscopy", 10, "Procedure"), ("fit", 1, "Observation"),
                                                  ("stool-dna", 3, "Observation"),
                                                  ("ct-colonography", 5, "DiagnosticReport"),
                                                  ("sigmoidoscopy", 5, "Procedure")])
def test_each_colorectal_test_counts_for_its_own_interval(code_set, years, kind):
    done = date(TODAY.year - years, TODAY.month, TODAY.day) + timedelta(days=1)  # runs out tomorrow
    result = judge("colorectal-screening", person(60, "female", finding(code_set, done, kind)))
    assert result.status == engine.SATISFIED
    assert result.next_due == TODAY + timedelta(days=1)
    assert result.evidence.on == done
    expired = done - timedelta(days=1)  # ran out today
    late = judge("colorectal-screening", person(60, "female", finding(code_set, expired, kind)))
    assert late.status == engine.OVERDUE and late.since == TODAY
    assert "Offer a stool test" in late.todo


def test_colorectal_never_done_is_due_and_cancer_rules_it_out():
    assert judge("colorectal-screening", person(60)).status == engine.DUE
    cancer = finding("colorectal-excluded", date(2020, 1, 1), "Condition")
    result = judge("colorectal-screening", person(60, "female", cancer))
    assert result.status == engine.NOT_APPLICABLE and "Ruled out" in result.reason


def test_the_newest_valid_test_wins_over_an_expired_one():
    old_colonoscopy = finding("colonoscopy", date(2012, 1, 1), "Procedure")
    recent_fit = finding("fit", date(2025, 6, 1))
    result = judge("colorectal-screening", person(60, "female", old_colonoscopy, recent_fit))
    assert result.status == engine.SATISFIED and result.next_due == date(2026, 6, 1)


# -- breast and cervical ----------------------------------------------------------------------------


def test_breast_screening_is_for_women_40_to_74_every_two_years():
    assert judge("breast-screening", person(50, "male")).status == engine.NOT_APPLICABLE
    assert judge("breast-screening", person(39)).status == engine.NOT_APPLICABLE
    assert judge("breast-screening", person(75)).status == engine.NOT_APPLICABLE
    assert judge("breast-screening", person(60)).status == engine.DUE
    mammogram = finding("mammography", date(2024, 3, 10), "DiagnosticReport")
    overdue = judge("breast-screening", person(60, "female", mammogram))
    assert overdue.status == engine.OVERDUE and overdue.since == date(2026, 3, 10)
    assert overdue.summary == "Breast cancer screening: overdue since 2026-03-10"
    recent = finding("mammography", date(2024, 3, 11), "Procedure")
    assert judge("breast-screening", person(60, "female", recent)).status == engine.SATISFIED


def test_cervical_hpv_testing_counts_for_five_years_only_from_age_30():
    hpv = finding("hpv-test", date(2022, 6, 1))
    assert judge("cervical-screening", person(35, "female", hpv)).status == engine.SATISFIED
    young = judge("cervical-screening", person(25, "female", hpv))
    assert young.status == engine.DUE and "cervical cytology" in young.reason
    pap = finding("cervical-cytology", date(2023, 6, 1))
    assert judge("cervical-screening", person(25, "female", pap)).status == engine.SATISFIED
    assert judge("cervical-screening", person(25, "female", finding("cervical-cytology", date(2023, 3, 10)))
                 ).status == engine.OVERDUE
    hysterectomy = finding("cervix-excluded", date(2015, 1, 1), "Procedure")
    assert judge("cervical-screening", person(40, "female", hysterectomy)).status == engine.NOT_APPLICABLE
    assert judge("cervical-screening", person(66)).status == engine.NOT_APPLICABLE


# -- blood pressure, diabetes, depression, statin ---------------------------------------------------


def test_blood_pressure_screening_wants_a_reading_in_the_last_year_unless_hypertensive():
    reading = finding("blood-pressure", date(2025, 3, 11))
    assert judge("hypertension-screening", person(30, "male", reading)).status == engine.SATISFIED
    late = judge("hypertension-screening", person(30, "male", finding("blood-pressure", date(2025, 3, 10))))
    assert late.status == engine.OVERDUE and late.since == TODAY
    assert judge("hypertension-screening", person(17, "male")).status == engine.NOT_APPLICABLE
    diagnosed = finding("hypertension", date(2020, 1, 1), "Condition")
    assert judge("hypertension-screening", person(50, "male", diagnosed)).status == engine.NOT_APPLICABLE


def test_diabetes_screening_needs_overweight_and_accepts_hba1c_or_fasting_glucose():
    heavy = finding("bmi", date(2025, 1, 1), value=Decimal("27.1"))
    assert judge("diabetes-screening", person(50, "male")).status == engine.NOT_APPLICABLE
    light = finding("bmi", date(2025, 1, 1), value=Decimal("24.9"))
    assert judge("diabetes-screening", person(50, "male", light)).status == engine.NOT_APPLICABLE
    assert judge("diabetes-screening", person(50, "male", heavy)).status == engine.DUE
    glucose = finding("glycemia", date(2023, 3, 11))
    assert judge("diabetes-screening", person(50, "male", heavy, glucose)).status == engine.SATISFIED
    assert judge("diabetes-screening", person(71, "male", heavy)).status == engine.NOT_APPLICABLE
    diabetic = finding("diabetes", date(2019, 1, 1), "Condition")
    assert judge("diabetes-screening", person(50, "male", heavy, diabetic)).status == engine.NOT_APPLICABLE


def test_depression_screening_is_yearly_for_adults():
    phq = finding("depression-screen", date(2025, 9, 1))
    assert judge("depression-screening", person(40, "male", phq)).status == engine.SATISFIED
    assert judge("depression-screening", person(40, "male")).status == engine.DUE


def test_statin_is_suggested_with_a_risk_factor_and_no_statin_on_the_list():
    diabetic = finding("diabetes", date(2019, 1, 1), "Condition")
    suggested = judge("statin-primary-prevention", person(55, "male", diabetic))
    assert suggested.status == engine.DUE and "Consider a statin" in suggested.todo
    assert "Diabetes" not in suggested.reason or "risk factors" in suggested.reason
    on_statin = person(55, "male", diabetic, classes={"statins"})
    assert judge("statin-primary-prevention", on_statin).status == engine.SATISFIED
    assert judge("statin-primary-prevention", person(55, "male")).status == engine.NOT_APPLICABLE
    smoker = finding("smoking-status", date(2025, 1, 1), value_sets=frozenset({"current-smoker"}))
    assert judge("statin-primary-prevention", person(45, "female", smoker)).status == engine.DUE
    heart = finding("cardiovascular-disease", date(2020, 1, 1), "Condition")
    assert judge("statin-primary-prevention", person(55, "male", diabetic, heart)).status == engine.NOT_APPLICABLE


def test_a_resolved_condition_is_not_a_risk_factor():
    resolved = finding("hypertension", date(2019, 1, 1), "Condition", active=False)
    assert judge("statin-primary-prevention", person(55, "male", resolved)).status == engine.NOT_APPLICABLE


# -- immunizations ----------------------------------------------------------------------------------


def test_influenza_counts_this_season_and_is_overdue_from_november():
    last_season = finding("influenza-vaccine", date(2025, 7, 31), "Immunization")
    september = judge("influenza-vaccine", person(40, "male", last_season), date(2025, 9, 15))
    assert september.status == engine.DUE and september.since == date(2025, 8, 1)
    november = judge("influenza-vaccine", person(40, "male", last_season), date(2025, 11, 1))
    assert november.status == engine.OVERDUE and november.since == date(2025, 11, 1)
    this_season = finding("influenza-vaccine", date(2025, 8, 1), "Immunization")
    done = judge("influenza-vaccine", person(40, "male", this_season), date(2026, 2, 1))
    assert done.status == engine.SATISFIED and done.next_due == date(2026, 8, 1)


def test_tetanus_needs_tdap_once_then_a_booster_every_ten_years():
    assert judge("tetanus-vaccine", person(30, "male")).todo == "Give Tdap once."
    tdap = Finding("Immunization", "Immunization/t", frozenset({"tdap", "tetanus"}), date(2016, 3, 11), "Tdap")
    fine = judge("tetanus-vaccine", person(30, "male", tdap))
    assert fine.status == engine.SATISFIED and fine.next_due == date(2026, 3, 11)
    old_tdap = Finding("Immunization", "Immunization/t", frozenset({"tdap", "tetanus"}), date(2016, 3, 10), "Tdap")
    late = judge("tetanus-vaccine", person(30, "male", old_tdap))
    assert late.status == engine.OVERDUE and late.since == TODAY
    recent_td = finding("tetanus", date(2020, 1, 1), "Immunization")
    no_tdap = judge("tetanus-vaccine", person(30, "male", recent_td))
    assert no_tdap.status == engine.DUE and "No Tdap" in no_tdap.reason


def test_zoster_wants_two_recombinant_doses_from_50():
    assert judge("zoster-vaccine", person(49, "male")).status == engine.NOT_APPLICABLE
    assert judge("zoster-vaccine", person(50, "male")).status == engine.DUE
    first = finding("zoster-recombinant", date(2026, 1, 20), "Immunization")
    waiting = judge("zoster-vaccine", person(60, "male", first))
    assert waiting.status == engine.SATISFIED and waiting.next_due == date(2026, 3, 20)
    due = judge("zoster-vaccine", person(60, "male", finding("zoster-recombinant", date(2025, 12, 1), "Immunization")))
    assert due.status == engine.DUE and due.todo == "Give the second dose."
    late = judge("zoster-vaccine", person(60, "male", finding("zoster-recombinant", date(2025, 9, 1), "Immunization")))
    assert late.status == engine.OVERDUE and late.since == date(2026, 3, 1)
    second = finding("zoster-recombinant", date(2025, 11, 1), "Immunization")
    both = judge("zoster-vaccine", person(60, "male", finding("zoster-recombinant", date(2025, 9, 1), "Immunization"),
                                          second))
    assert both.status == engine.SATISFIED


def test_pneumococcal_from_65_or_with_a_risk_condition():
    assert judge("pneumococcal-vaccine", person(50, "male")).status == engine.NOT_APPLICABLE
    copd = finding("pneumococcal-risk", date(2018, 1, 1), "Condition")
    assert judge("pneumococcal-vaccine", person(50, "male", copd)).status == engine.DUE
    assert judge("pneumococcal-vaccine", person(65, "male")).status == engine.DUE
    pcv20 = finding("pcv20-or-21", date(2024, 1, 1), "Immunization")
    assert judge("pneumococcal-vaccine", person(70, "male", pcv20)).status == engine.SATISFIED
    pcv15 = finding("pcv15", date(2025, 6, 1), "Immunization")
    waiting = judge("pneumococcal-vaccine", person(70, "male", pcv15))
    assert waiting.status == engine.SATISFIED and waiting.next_due == date(2026, 6, 1)
    ppsv = finding("ppsv23", date(2026, 6, 2), "Immunization")
    later = judge("pneumococcal-vaccine", person(70, "male", pcv15, ppsv), date(2026, 7, 1))
    assert later.status == engine.SATISFIED and "PPSV23" in later.reason
    alone = judge("pneumococcal-vaccine", person(70, "male", pcv15), date(2026, 7, 1))
    assert alone.status == engine.DUE and "PPSV23" in alone.todo


def test_no_birth_date_means_no_reminders():
    record = PatientRecord("p", None, "female")
    assert {engine.evaluate(r, record, TODAY).status for r in RULES} == {engine.NOT_APPLICABLE}


@given(done=st.dates(date(2000, 1, 1), date(2040, 1, 1)), today=st.dates(date(2011, 2, 1), date(2040, 1, 1)))
def test_a_fit_counts_for_exactly_a_year(done, today):
    if today < done:
        return
    record = PatientRecord("p", date(1966, 1, 15), "male", [finding("fit", done)])  # 45 to 74 in these years
    result = judge("colorectal-screening", record, today)
    anniversary = engine.add_months(done, 12)
    if today < anniversary:
        assert result.status == engine.SATISFIED and result.next_due == anniversary
    else:
        assert result.status == engine.OVERDUE and result.since == anniversary


@given(day=st.dates(date(1990, 1, 1), date(2040, 12, 31)), months=st.integers(0, 240))
def test_adding_months_keeps_the_day_or_the_month_end(day, months):
    later = engine.add_months(day, months)
    assert (later.year - day.year) * 12 + later.month - day.month == months
    assert later.day == day.day or later.day < day.day and (later + timedelta(days=1)).day == 1
