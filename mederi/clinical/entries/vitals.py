"""Vital signs as US Core Observations: LOINC codes, UCUM units, category vital-signs.

People type pounds, inches and degrees Fahrenheit as often as kilograms, centimetres and
degrees Celsius; what is stored is always the metric UCUM quantity, so every reading of a kind
plots on one scale. BMI is worked out from the height and weight of the same entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from mederi.clinical.entries import common
from mederi.core import systems
from mederi.core.context import Context
from mederi.fhir.repository import Repository

VITAL_SIGNS = common.concept(systems.OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")
BP_PANEL, SYSTOLIC, DIASTOLIC = "85354-9", "8480-6", "8462-4"
PULSE_OXIMETRY = "2708-6"  # US Core asks for it beside 59408-5 on an SpO2 reading
BMI = "39156-5"


@dataclass(frozen=True)
class Vital:
    field: str  # the form field
    code: str  # LOINC
    name: str
    unit: str  # UCUM code stored
    unit_text: str  # how it reads
    low: Decimal  # the lowest and highest values a living patient could have, in the stored unit
    high: Decimal
    places: int  # decimal places kept


VITALS = [
    Vital("systolic", SYSTOLIC, "Systolic blood pressure", "mm[Hg]", "mmHg", Decimal(40), Decimal(300), 0),
    Vital("diastolic", DIASTOLIC, "Diastolic blood pressure", "mm[Hg]", "mmHg", Decimal(20), Decimal(200), 0),
    Vital("heart_rate", "8867-4", "Heart rate", "/min", "/min", Decimal(20), Decimal(300), 0),
    Vital("respiratory_rate", "9279-1", "Respiratory rate", "/min", "/min", Decimal(4), Decimal(80), 0),
    Vital("temperature", "8310-5", "Body temperature", "Cel", "°C", Decimal(25), Decimal(45), 1),
    Vital("spo2", "59408-5", "Oxygen saturation (SpO2)", "%", "%", Decimal(50), Decimal(100), 0),
    Vital("height", "8302-2", "Body height", "cm", "cm", Decimal(20), Decimal(275), 1),
    Vital("weight", "29463-7", "Body weight", "kg", "kg", Decimal("0.3"), Decimal(650), 2),
]
BY_FIELD = {v.field: v for v in VITALS}
BY_CODE = {v.code: v for v in VITALS} | {BMI: Vital("bmi", BMI, "Body mass index (BMI)", "kg/m2", "kg/m²",
                                                     Decimal(5), Decimal(150), 1)}
# What the unit choices beside a field mean: (unit choice, how to turn it into the stored unit).
POUND = Decimal("0.45359237")
INCH = Decimal("2.54")
UNIT_CHOICES = {
    "temperature": {"C": ("°C", lambda v: v), "F": ("°F", lambda v: (v - 32) * 5 / 9)},
    "height": {"cm": ("cm", lambda v: v), "in": ("in", lambda v: v * INCH)},
    "weight": {"kg": ("kg", lambda v: v), "lb": ("lb", lambda v: v * POUND)},
}


def rounded(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def body_mass_index(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    """kg/m², to one decimal: 70 kg at 175 cm is 22.9."""
    metres = height_cm / 100
    return rounded(weight_kg / (metres * metres), 1)


def _range_text(vital: Vital, unit_choice: str | None) -> str:
    if unit_choice == "F":
        return "77–113 °F"
    if unit_choice == "in":
        return "8–108 in"
    if unit_choice == "lb":
        return "0.7–1,433 lb"
    return f"{vital.low:g}–{vital.high:g} {vital.unit_text}"


def read_values(data) -> tuple[dict[str, Decimal], common.FieldErrors]:
    """The readings typed, in stored units, and the problems with them."""
    errors = common.FieldErrors()
    values: dict[str, Decimal] = {}
    for vital in VITALS:
        typed = common.decimal_in(data, vital.field, vital.name, errors)
        if typed is None:
            continue
        choice = None
        if vital.field in UNIT_CHOICES:
            choice = common.text(data, f"{vital.field}_unit", 5) or next(iter(UNIT_CHOICES[vital.field]))
            if choice not in UNIT_CHOICES[vital.field]:
                errors.add(f"{vital.field}_unit", f"{vital.name}: choose one of the units offered.")
                continue
            typed = UNIT_CHOICES[vital.field][choice][1](typed)
        value = rounded(typed, vital.places)
        if not vital.low <= value <= vital.high:
            errors.add(vital.field, f"{vital.name} of {common.text(data, vital.field)} "
                                    f"{UNIT_CHOICES.get(vital.field, {}).get(choice, (vital.unit_text,))[0]} "
                                    f"is not possible; it lies between {_range_text(vital, choice)}.")
            continue
        values[vital.field] = value
    if ("systolic" in values) != ("diastolic" in values) and not errors:
        missing = "diastolic" if "systolic" in values else "systolic"
        errors.add(missing, "A blood pressure needs both numbers: systolic (top) and diastolic (bottom).")
    elif "systolic" in values and values["diastolic"] >= values["systolic"]:
        errors.add("diastolic", f"The diastolic pressure ({values['diastolic']}) must be lower than the "
                                f"systolic ({values['systolic']}).")
    if not values and not errors:
        errors.add(None, "Enter at least one vital sign.")
    if "height" in values and "weight" in values:
        bmi = body_mass_index(values["height"], values["weight"])
        limits = BY_CODE[BMI]
        if not limits.low <= bmi <= limits.high:
            errors.add("height", f"A height of {values['height']} cm with a weight of {values['weight']} kg "
                                 f"gives a BMI of {bmi}, which is not possible: check both.")
        else:
            values["bmi"] = bmi
    return values, errors


def _quantity(value: Decimal, vital: Vital) -> dict:
    return {"value": value, "unit": vital.unit_text, "system": systems.UCUM, "code": vital.unit}


def _observation(patient_id: str, code: dict, when: str, encounter: dict | None, performer: dict | None) -> dict:
    resource = {"resourceType": "Observation", "status": "final", "category": [VITAL_SIGNS], "code": code,
                "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": when}
    if encounter:
        resource["encounter"] = encounter
    if performer:
        resource["performer"] = [performer]
    return resource


def observations_of(patient_id: str, values: dict[str, Decimal], when: str, encounter: dict | None = None,
                    performer: dict | None = None) -> list[dict]:
    """The Observations a set of readings becomes: the blood pressure as one panel with two components."""
    resources = []
    if "systolic" in values:
        panel = _observation(patient_id, common.concept(systems.LOINC, BP_PANEL, "Blood pressure panel"), when,
                             encounter, performer)
        panel["component"] = [
            {"code": common.concept(systems.LOINC, v.code, v.name), "valueQuantity": _quantity(values[v.field], v)}
            for v in (BY_FIELD["systolic"], BY_FIELD["diastolic"])]
        resources.append(panel)
    for vital in [*VITALS[2:], BY_CODE[BMI]]:
        if vital.field not in values:
            continue
        code = common.concept(systems.LOINC, vital.code, vital.name)
        if vital.code == "59408-5":
            code["coding"].append({"system": systems.LOINC, "code": PULSE_OXIMETRY,
                                   "display": "Oxygen saturation in Arterial blood"})
        resource = _observation(patient_id, code, when, encounter, performer)
        resource["valueQuantity"] = _quantity(values[vital.field], vital)
        resources.append(resource)
    return resources


def record_vitals(context: Context, patient_id: str, data, encounter_id: str | None = None) -> list[str]:
    """Store the vital signs typed in `data` as Observations in one transaction; their ids.

    Raises InvalidRequest naming each field with a problem (nothing is stored then).
    """
    repo = Repository(context)
    common.check_patient(repo, patient_id)
    values, errors = read_values(data)
    encounter = common.encounter_reference(repo, patient_id, encounter_id, errors)
    when = common.date_in(data, "taken_on", "The day taken", errors)
    errors.raise_if_any()
    resources = observations_of(patient_id, values, common.date_time_of(when), encounter,
                                common.recorder_reference(context))
    return [s.logical_id for s in common.write_all(context, resources)]


@dataclass
class Reading:
    code: str
    name: str
    text: str  # "128/82 mmHg", "72 /min"
    on: str  # the day taken
    id: str


def reading_of(observation: dict, logical_id: str = "") -> Reading | None:
    """How one vital-signs Observation reads on the chart (None when it carries no value)."""
    code = next((c.get("code") for c in (observation.get("code") or {}).get("coding") or ()
                 if c.get("system") == systems.LOINC), "")
    on = (observation.get("effectiveDateTime") or (observation.get("effectivePeriod") or {}).get("start") or "")[:10]
    if code == BP_PANEL:
        parts = {common.code_of(c.get("code"), systems.LOINC): (c.get("valueQuantity") or {}).get("value")
                 for c in observation.get("component") or ()}
        if parts.get(SYSTOLIC) is None or parts.get(DIASTOLIC) is None:
            return None
        return Reading(code, "Blood pressure", f"{parts[SYSTOLIC]:g}/{parts[DIASTOLIC]:g} mmHg", on, logical_id)
    quantity = observation.get("valueQuantity") or {}
    if quantity.get("value") is None:
        return None
    vital = BY_CODE.get(code)
    name = vital.name if vital else common.words_of(observation.get("code"))
    unit = vital.unit_text if vital and quantity.get("code") == vital.unit else quantity.get("unit") or ""
    return Reading(code, name, f"{quantity['value']:g} {unit}".strip(), on, logical_id)


def latest_vitals(context: Context, patient_id: str, *, scan: int = 60, audit: bool = True) -> list[Reading]:
    """The newest reading of each vital sign, among the patient's latest `scan` vital-signs Observations."""
    found = common.search(context, "Observation", [("patient", patient_id), ("category", "vital-signs"),
                                                   ("_sort", "-date")], scan)
    latest: dict[str, Reading] = {}
    for stored in found:
        reading = reading_of(stored.as_dict(), stored.logical_id)
        if reading is not None and reading.code not in latest:
            latest[reading.code] = reading
    if audit:
        common.audit_shown(context, patient_id, "Observation", found, "latest vital signs")
    order = [BP_PANEL, *[v.code for v in VITALS[2:]], BMI]
    return sorted(latest.values(), key=lambda r: order.index(r.code) if r.code in order else len(order))
