"""The patient chart: what a clinician takes in at a glance, read in one pass and audited once.

Each section reads only what it shows, by indexed searches with a limit (the newest N of a kind,
the newest readings of a code), so the page costs the same for a chart of thirty resources and
one of thousands. Trends are drawn on the server by `mederi.reports.charts.trend_chart`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mederi.audit import services as audit
from mederi.clinical.entries import allergies, common, immunizations, medications, problems, social, vitals
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir import access
from mederi.fhir.repository import Repository
from mederi.patients import records
from mederi.reports import charts

TREND_POINTS = 20  # readings per trend line
LAB_SCAN = 40  # the newest laboratory results looked at for "latest results"
LABS_SHOWN = 12
LAB_TRENDS = 3
# Vital-sign trends: (chart id, title, unit, [(line name, LOINC code, component code or None)])
VITAL_TRENDS = [
    ("trend-bp", "blood pressure", "mmHg", [("Systolic", vitals.BP_PANEL, vitals.SYSTOLIC),
                                            ("Diastolic", vitals.BP_PANEL, vitals.DIASTOLIC)]),
    ("trend-weight", "weight", "kg", [("Weight", "29463-7", None)]),
    ("trend-bmi", "body mass index", "kg/m²", [("BMI", vitals.BMI, None)]),
    ("trend-heart-rate", "heart rate", "/min", [("Heart rate", "8867-4", None)]),
]


@dataclass
class LabResult:
    code: str
    name: str
    text: str
    on: str
    flag: str  # H, L, A... from the interpretation


@dataclass
class Visit:
    id: str
    on: str
    what: str
    status: str


@dataclass
class InsuranceRow:
    coverage_id: str
    payer: str
    member_id: str
    status: str
    eligibility: object | None  # billing's EligibilitySummary of the newest check


@dataclass
class Chart:
    patient_id: str
    name: str
    mrn: str
    birth_date: str
    gender: str
    problems: list = field(default_factory=list)
    allergies: list = field(default_factory=list)
    medications: list = field(default_factory=list)
    prescriptions: list = field(default_factory=list)  # active MedicationRequests: (name, dosage, authored)
    immunizations: list = field(default_factory=list)
    vitals: list = field(default_factory=list)
    vital_trends: list = field(default_factory=list)
    labs: list[LabResult] = field(default_factory=list)
    lab_trends: list = field(default_factory=list)
    smoking: list = field(default_factory=list)
    family: list = field(default_factory=list)
    care_gaps: list = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    appointments: list = field(default_factory=list)
    insurance: list[InsuranceRow] = field(default_factory=list)
    sees_insurance: bool = False
    sees_schedule: bool = False
    last_reconciled: str = ""


def care_gaps(context: Context, patient_id: str, shown: list[str] | None = None) -> list[dict]:
    """Preventive care that is due or overdue (summary, detail with why and what to do, indicator),
    from the rules of mederi/clinical/preventive; what it read joins `shown`."""
    from mederi.clinical.preventive.cards import care_gaps as preventive_gaps

    return preventive_gaps(context, patient_id, shown)


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _series(context: Context, patient_id: str, code: str, component: str | None, shown: list[str]) -> list:
    """(moment, value) of the newest readings of one LOINC code (or a component of it), oldest first."""
    found = common.search(context, "Observation", [("patient", patient_id), ("code", f"{systems.LOINC}|{code}"),
                                                   ("_sort", "-date")], TREND_POINTS)
    points = []
    for stored in found:
        shown.append(stored.reference)
        observation = stored.as_dict()
        moment = common.moment_of(observation.get("effectiveDateTime")
                                  or (observation.get("effectivePeriod") or {}).get("start"))
        quantities = [c.get("valueQuantity") for c in observation.get("component") or ()
                      if common.code_of(c.get("code"), systems.LOINC) == component] if component \
            else [observation.get("valueQuantity")]
        value = _number((quantities[0] or {}).get("value")) if quantities else None
        if moment is not None and value is not None:
            points.append((moment, value))
    return points[::-1]


def _vital_trends(context: Context, patient_id: str, shown: list[str]) -> list:
    trends, panels = [], {}
    for chart_id, title, unit, lines in VITAL_TRENDS:
        series = []
        for name, code, component in lines:
            if code == vitals.BP_PANEL:  # both lines come from the same panels: read them once
                panels.setdefault(component, _series(context, patient_id, code, component, shown))
                series.append((name, panels[component]))
            else:
                series.append((name, _series(context, patient_id, code, None, shown)))
        if any(points for _, points in series):
            trends.append(charts.trend_chart(chart_id, title, series, unit))
    return trends


def _labs(context: Context, patient_id: str, shown: list[str]) -> tuple[list[LabResult], list]:
    found = common.search(context, "Observation", [("patient", patient_id), ("category", "laboratory"),
                                                   ("_sort", "-date")], LAB_SCAN)
    latest: dict[str, LabResult] = {}
    numeric: dict[str, tuple[str, str]] = {}  # code -> (name, unit) of results with a number
    for stored in found:
        observation = stored.as_dict()
        code = common.code_of(observation.get("code"), systems.LOINC)
        if not code or code in latest:
            continue
        shown.append(stored.reference)
        quantity = observation.get("valueQuantity") or {}
        name = common.words_of(observation.get("code"))
        if quantity.get("value") is not None:
            text = f"{quantity['value']} {quantity.get('unit') or quantity.get('code') or ''}".strip()
            numeric[code] = (name, quantity.get("unit") or quantity.get("code") or "")
        else:
            text = observation.get("valueString") or common.words_of(observation.get("valueCodeableConcept"))
        flag = common.code_of((observation.get("interpretation") or [{}])[0], systems.OBSERVATION_INTERPRETATION)
        on = (observation.get("effectiveDateTime") or observation.get("issued") or "")[:10]
        latest[code] = LabResult(code, name, text, on, "" if flag == "N" else flag)
    trends = []
    for code, (name, unit) in list(numeric.items())[:LAB_TRENDS]:
        points = _series(context, patient_id, code, None, shown)
        if len(points) > 1:
            trends.append(charts.trend_chart(f"trend-lab-{code}", name, [(name, points)], unit))
    return list(latest.values())[:LABS_SHOWN], trends


def _visits(context: Context, patient_id: str, shown: list[str], limit: int = 5) -> list[Visit]:
    found = common.search(context, "Encounter", [("patient", patient_id), ("_sort", "-date")], limit)
    visits = []
    for stored in found:
        shown.append(stored.reference)
        encounter = stored.as_dict()
        what = ", ".join(common.words_of(t) for t in encounter.get("type") or ()) or \
            (encounter.get("class") or {}).get("display") or "Visit"
        visits.append(Visit(stored.logical_id, ((encounter.get("period") or {}).get("start") or "")[:10], what,
                            encounter.get("status", "")))
    return visits


def _prescriptions(context: Context, patient_id: str, shown: list[str], limit: int = 30) -> list[tuple]:
    found = common.search(context, "MedicationRequest", [("patient", patient_id), ("status", "active"),
                                                         ("_sort", "-authoredon")], limit)
    rows = []
    for stored in found:
        shown.append(stored.reference)
        request = stored.as_dict()
        rows.append((common.words_of(request.get("medicationCodeableConcept")),
                     " ".join(d.get("text", "") for d in request.get("dosageInstruction") or ()),
                     (request.get("authoredOn") or "")[:10]))
    return rows


def _insurance(context: Context, patient_id: str, shown: list[str]) -> list[InsuranceRow]:
    from mederi.billing import selectors as billing

    result = Repository(context).search("Coverage", [("beneficiary", f"Patient/{patient_id}"), ("status", "active"),
                                                     ("_include", "Coverage:payor"), ("_count", "10"),
                                                     ("_total", "none")], first_page_only=True)
    payers = {i.reference: i.as_dict().get("name", i.logical_id) for i in result.included}
    coverages = [s.as_dict() for s in result.matches]
    shown += [s.reference for s in result.matches]
    checks = billing.latest_eligibility([c["id"] for c in coverages], context)
    rows = []
    for coverage in sorted(coverages, key=lambda c: c.get("order") or 9):
        payer_ref = ((coverage.get("payor") or [{}])[0].get("reference") or "")
        member = records.coverage_fields_of("c", coverage, {}).get("c_member_id") or coverage.get("subscriberId", "")
        rows.append(InsuranceRow(coverage["id"], payers.get(payer_ref, payer_ref), member, coverage.get("status", ""),
                                 checks.get(coverage["id"])))
    return rows


def patient_chart(context: Context, patient_id: str) -> Chart:
    """Everything the chart page shows of one patient; one audit entry lists what was read."""
    from mederi.patients.selectors import hit_of
    from mederi.scheduling.selectors import appointments_for_patient

    stored = Repository(context).read("Patient", patient_id)
    hit = hit_of(stored.as_dict())
    chart = Chart(patient_id, hit.display, hit.mrn or "", hit.birth_date or "", stored.as_dict().get("gender", ""))
    shown = [stored.reference]
    chart.problems = problems.problem_list(context, patient_id, 50, audit=False)
    chart.allergies = allergies.allergy_list(context, patient_id, 50, audit=False)
    chart.medications = medications.medication_list(context, patient_id, 50, audit=False)
    chart.last_reconciled = medications.last_reconciliation(context, patient_id)
    chart.prescriptions = _prescriptions(context, patient_id, shown)
    chart.immunizations = immunizations.immunization_list(context, patient_id, 20, audit=False)
    chart.vitals = vitals.latest_vitals(context, patient_id, audit=False)
    chart.smoking = social.smoking_history(context, patient_id, 1, audit=False)
    chart.family = social.family_history(context, patient_id, 30, audit=False)
    shown += [f"Condition/{r.id}" for r in chart.problems] + [f"AllergyIntolerance/{r.id}" for r in chart.allergies]
    shown += [f"MedicationStatement/{r.id}" for r in chart.medications]
    shown += [f"Immunization/{r.id}" for r in chart.immunizations] + [f"Observation/{r.id}" for r in chart.vitals]
    shown += [f"Observation/{r.id}" for r in chart.smoking] + [f"FamilyMemberHistory/{r.id}" for r in chart.family]
    chart.vital_trends = _vital_trends(context, patient_id, shown)
    chart.labs, chart.lab_trends = _labs(context, patient_id, shown)
    chart.visits = _visits(context, patient_id, shown)
    chart.care_gaps = care_gaps(context, patient_id, shown)
    chart.sees_insurance = access.allows(context, "Coverage", "search")
    if chart.sees_insurance:
        chart.insurance = _insurance(context, patient_id, shown)
    chart.sees_schedule = access.allows(context, "Appointment", "search")
    if chart.sees_schedule:
        chart.appointments = appointments_for_patient(context, patient_id, limit=5)
    audit.record(context, "read", patient_id=patient_id, resource_type="Patient",
                 resource_ids=list(dict.fromkeys(shown)), query="ui: patient chart")
    return chart
