"""The quality measures over a small cohort whose numerators and denominators are known, counted
from the stored record and shown on the report page with its CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from django.test import Client

from mederi.audit.models import AuditEntry
from mederi.clinical.preventive import measures
from mederi.clinical.preventive.record import Finding, PatientRecord
from mederi.clinical.preventive.tests.factories import (
    blood_pressure,
    condition,
    encounter,
    observation,
    patient,
    procedure,
)
from mederi.conftest import FrozenClock, staff_user
from mederi.core import systems

START, END = date(2025, 1, 1), date(2025, 12, 31)


def record(pid: str, age: int, *findings: Finding) -> PatientRecord:
    return PatientRecord(pid, date(END.year - age, 6, 1), "male", list(findings))


def f(set_name: str, on: date, kind: str = "Observation", **extra) -> Finding:
    return Finding(kind, f"{kind}/{set_name}", frozenset({set_name}), on, set_name, **extra)


def by_id(results) -> dict[str, measures.MeasureResult]:
    return {r.measure.id: r for r in results}


def test_hba1c_poor_control_counts_high_and_missing_results_and_leaves_out_the_ineligible():
    diabetes = f("diabetes", date(2015, 1, 1), "Condition")
    cohort = [
        record("high", 60, diabetes, f("hba1c", date(2025, 5, 1), value=Decimal("9.4"))),
        record("controlled-now", 60, diabetes, f("hba1c", date(2025, 2, 1), value=Decimal("10.1")),
               f("hba1c", date(2025, 9, 1), value=Decimal("7.2"))),
        record("exactly-nine", 60, diabetes, f("hba1c", date(2025, 9, 1), value=Decimal("9.0"))),
        record("missing", 50, diabetes, f("hba1c", date(2024, 12, 31), value=Decimal("6.5"))),
        record("too-old", 76, diabetes),
        record("no-diabetes", 60),
        record("palliative", 60, diabetes, f("palliative", date(2025, 3, 1), "Condition")),
    ]
    result = by_id(measures.measure_all(cohort, START, END))["hba1c-poor-control"]
    assert (result.denominator, result.exclusions, result.numerator) == (4, 1, 2)
    assert result.rate == Decimal("50.0")
    outcomes = {p.patient_id: p for p in result.patients}
    assert outcomes["missing"].detail == "No HbA1c in the period."
    assert outcomes["controlled-now"].outcome == measures.NOT_MET
    assert outcomes["exactly-nine"].outcome == measures.NOT_MET


def test_controlling_blood_pressure_uses_the_latest_reading_and_both_numbers():
    hypertension = f("hypertension", date(2018, 1, 1), "Condition")

    def bp(on, systolic, diastolic):
        return f("blood-pressure", on, systolic=Decimal(systolic), diastolic=Decimal(diastolic))

    cohort = [
        record("good", 70, hypertension, bp(date(2025, 3, 1), 150, 95), bp(date(2025, 10, 1), 132, 84)),
        record("systolic-high", 70, hypertension, bp(date(2025, 10, 1), 140, 80)),
        record("diastolic-high", 70, hypertension, bp(date(2025, 10, 1), 128, 90)),
        record("no-reading", 70, hypertension),
        record("esrd", 70, hypertension, f("end-stage-renal", date(2020, 1, 1), "Condition")),
        record("diagnosed-late", 70, f("hypertension", date(2025, 8, 1), "Condition")),
        record("too-old", 86, hypertension),
    ]
    result = by_id(measures.measure_all(cohort, START, END))["controlling-blood-pressure"]
    assert (result.denominator, result.exclusions, result.numerator) == (4, 1, 1)
    assert result.rate == Decimal("25.0")
    assert {p.patient_id for p in result.patients if p.outcome == measures.MET} == {"good"}


def test_tobacco_screening_needs_a_cessation_intervention_for_users():
    smoker = frozenset({"current-smoker"})
    cohort = [
        record("non-smoker", 30, f("smoking-status", date(2025, 4, 1))),
        record("helped", 30, f("smoking-status", date(2025, 4, 1), value_sets=smoker),
               f("tobacco-cessation", date(2025, 4, 1), "Procedure")),
        record("not-helped", 30, f("smoking-status", date(2025, 4, 1), value_sets=smoker)),
        record("not-asked", 30, f("smoking-status", date(2024, 4, 1))),
        record("child", 17),
    ]
    result = by_id(measures.measure_all(cohort, START, END))["tobacco-screening-cessation"]
    assert (result.denominator, result.numerator) == (4, 2)


def test_no_patients_means_no_rate():
    assert all(r.rate is None for r in measures.measure_all([], START, END))


# -- the report page --------------------------------------------------------------------------------


@pytest.fixture
def cohort(db, monkeypatch):
    FrozenClock.install(monkeypatch, datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc))
    patient("dana", "1968-04-02", "female", "Diabetic", mrn="Q100")
    condition("dana", systems.ICD10CM, "E11.9", "Type 2 diabetes mellitus")
    observation("dana", "4548-4", "2025-11-02", 9.4, "%")
    encounter("dana", "2025-11-02")
    patient("hal", "1955-09-09", "male", "Pressure", mrn="Q101")
    condition("hal", systems.ICD10CM, "I10", "Essential hypertension")
    blood_pressure("hal", "2025-10-01", 128, 82)
    observation("hal", "72166-2", "2025-10-01", coded="449868002", category="social-history")
    procedure("hal", systems.CPT, "99406", "2025-10-01")
    encounter("hal", "2025-10-01")
    patient("unseen", "1960-01-01", "male", "Absent", mrn="Q102")
    condition("unseen", systems.ICD10CM, "E11.9")


def test_the_report_page_shows_rates_and_patients_and_exports_csv(cohort):
    doctor = Client()
    doctor.force_login(staff_user("drq", "physician"))
    query = {"date_from": "2025-01-01", "date_to": "2025-12-31"}
    page = doctor.get("/reports/quality-measures/", query)
    assert page.status_code == 200
    html = page.content.decode()
    assert "2 patients with a visit in the period" in html
    row = html.split('id="measure-hba1c-poor-control"', 1)[1].split("</tr>", 1)[0]
    assert ">1<" in row and "100.0%" in row
    assert "HbA1c 9.4% on 2025-11-02" in html and "Absent" not in html
    assert 'id="chart-quality"' in html
    entry = AuditEntry.objects.filter(query__startswith="report: quality measures").latest("id")
    assert "Patient/dana" in entry.references and entry.action == "search"

    exported = doctor.get("/reports/quality-measures/", {**query, "format": "csv"})
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0][:5] == ["Measure", "Denominator", "Exclusions", "Numerator", "Rate %"]
    summary = {r[0]: r[1:5] for r in rows[1:] if r[1]}
    assert summary["Controlling high blood pressure"] == ["1", "0", "1", "100.0"]
    assert summary["Tobacco use: screening and cessation intervention"] == ["2", "0", "1", "50.0"]
    assert AuditEntry.objects.filter(query__startswith="report: quality measures", action="export").exists()


def test_bad_periods_are_refused_and_the_front_desk_may_not_see_it(cohort):
    doctor = Client()
    doctor.force_login(staff_user("drq2", "physician"))
    bad = doctor.get("/reports/quality-measures/", {"date_from": "2025-12-31", "date_to": "2025-01-01"})
    assert bad.status_code == 400 and "before it starts" in bad.content.decode()
    desk = Client()
    desk.force_login(staff_user("deskq", "front_desk"))
    assert desk.get("/reports/quality-measures/", {"date_from": "2025-01-01", "date_to": "2025-12-31"}
                    ).status_code == 403
