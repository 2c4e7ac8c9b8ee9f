"""Search-index extraction: definitions, row layouts, dates and string normalisation."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mederi.fhir.indexing import (
    KINDS,
    SearchParam,
    extract_index_rows,
    patient_compartment_params,
    search_param,
    search_params_for,
)
from mederi.fhir.values import normalize_string, parse_date_range

UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rows(resource: dict, kind: str, param: str) -> list[tuple]:
    return [r[1:] for r in extract_index_rows(resource)[kind] if r[0] == param]


# --------------------------------------------------------------------------------------------
# Definitions


def test_definitions_for_observation():
    code = search_param("Observation", "code")
    assert isinstance(code, SearchParam)
    assert code.type == "token" and code.expression == "Observation.code"
    patient = search_param("Observation", "patient")
    assert patient.type == "reference"
    assert patient.expression == "Observation.subject.where(resolve() is Patient)"
    assert "Patient" in patient.targets
    assert search_param("Observation", "no-such-param") is None
    assert search_param("NoSuchType", "code") is None


def test_shared_expression_is_split_per_type():
    for rtype in ("Condition", "Encounter", "Procedure"):
        expression = search_param(rtype, "patient").expression
        assert expression.startswith(f"{rtype}.")
        assert "|" not in expression


def test_base_parameters_apply_to_every_type():
    for rtype in ("Patient", "Observation", "Bundle", "Binary"):
        params = search_params_for(rtype)
        for code in ("_id", "_lastUpdated", "_tag", "_profile", "_security", "_source"):
            assert code in params, (rtype, code)
        assert not params["_id"].indexed and not params["_lastUpdated"].indexed
        assert params["_tag"].indexed
    assert search_params_for("NoSuchType") == {}


def test_no_composite_or_special_parameters():
    for param in search_params_for("Observation").values():
        assert param.type in KINDS


def test_patient_compartment():
    assert set(patient_compartment_params("Observation")) == {"subject", "performer"}
    assert "patient" in patient_compartment_params("Condition")
    assert patient_compartment_params("ValueSet") == ()


# --------------------------------------------------------------------------------------------
# Patient


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"tag": [{"system": "urn:tags", "code": "t1"}], "profile": ["http://example.org/p"]},
    "active": True,
    "identifier": [
        {"system": "urn:mrn", "value": "123", "type": {"text": "Medical  Record"}},
        {"value": "no-system"},
    ],
    "name": [{"family": "Ordóñez", "given": ["José", "María"], "prefix": ["Dr."], "text": "Dr. José Ordóñez"}],
    "telecom": [
        {"system": "phone", "value": "555-1234", "use": "home"},
        {"system": "email", "value": "jose@example.org"},
    ],
    "gender": "male",
    "birthDate": "1970-03",
    "address": [
        {"line": ["1 Main St", "Apt 2"], "city": "Zürich", "postalCode": "8000", "country": "CH", "state": "ZH"}
    ],
}


def test_patient_name_strings():
    family = rows(PATIENT, "string", "family")
    assert family == [("ordonez", "Ordóñez")]
    given = rows(PATIENT, "string", "given")
    assert ("jose", "José") in given and ("maria", "María") in given
    name = {r[0] for r in rows(PATIENT, "string", "name")}
    assert {"ordonez", "jose", "maria", "dr.", "dr. jose ordonez", "dr. jose maria ordonez"} <= name


def test_patient_address_strings():
    address = {r[0] for r in rows(PATIENT, "string", "address")}
    assert {"1 main st", "apt 2", "zurich", "8000", "ch", "zh"} <= address
    assert rows(PATIENT, "string", "address-city") == [("zurich", "Zürich")]
    assert rows(PATIENT, "string", "address-postalcode") == [("8000", "8000")]


def test_patient_tokens():
    assert rows(PATIENT, "token", "gender") == [(None, "male", None)]
    assert rows(PATIENT, "token", "active") == [(None, "true", None)]
    assert rows(PATIENT, "token", "identifier") == [
        ("urn:mrn", "123", "medical record"),
        (None, "no-system", None),
    ]
    assert rows(PATIENT, "token", "phone") == [("phone", "555-1234", None)]
    assert rows(PATIENT, "token", "email") == [("email", "jose@example.org", None)]
    assert set(rows(PATIENT, "token", "telecom")) == {("phone", "555-1234", None), ("email", "jose@example.org", None)}
    assert rows(PATIENT, "token", "_tag") == [("urn:tags", "t1", None)]
    assert rows(PATIENT, "uri", "_profile") == [("http://example.org/p",)]


def test_patient_birthdate_month_precision():
    assert rows(PATIENT, "date", "birthdate") == [(utc(1970, 3, 1), utc(1970, 4, 1))]


def test_no_index_rows_for_id_and_last_updated():
    out = extract_index_rows({**PATIENT, "meta": {"lastUpdated": "2020-01-01T00:00:00Z"}})
    assert not [r for kind in KINDS for r in out[kind] if r[0] in ("_id", "_lastUpdated")]


def test_patient_deceased():
    assert rows({"resourceType": "Patient", "deceasedBoolean": True}, "token", "deceased") == [(None, "true", None)]
    dead = {"resourceType": "Patient", "deceasedDateTime": "2001-02-03"}
    assert rows(dead, "token", "deceased") == [(None, "true", None)]
    assert rows(dead, "date", "death-date") == [(utc(2001, 2, 3), utc(2001, 2, 4))]


def test_extension_parameter():
    patient = {
        "resourceType": "Patient",
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-extensions-Patient-mothersMaidenName",
                "valueString": "Müller",
            },
            {"url": "http://example.org/other", "valueString": "ignored"},
        ],
    }
    assert rows(patient, "string", "mothersMaidenName") == [("muller", "Müller")]


# --------------------------------------------------------------------------------------------
# Observation


OBSERVATION = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "category": [{"coding": [{"system": "http://cat", "code": "vital-signs", "display": "Vital Signs"}]}],
    "code": {
        "coding": [
            {"system": "http://loinc.org", "code": "8302-2", "display": "Body Height"},
            {"system": "http://snomed.info/sct", "code": "50373000"},
        ],
        "text": "Body  HEIGHT",
    },
    "subject": {"reference": "Patient/123"},
    "encounter": {"reference": "Encounter/e1/_history/3"},
    "effectiveDateTime": "2011-09-02T10:35:11+02:00",
    "valueQuantity": {"value": 172.5, "unit": "cm", "system": "http://unitsofmeasure.org", "code": "cm"},
}


def test_observation_code_token():
    assert rows(OBSERVATION, "token", "code") == [
        ("http://loinc.org", "8302-2", "body height"),
        ("http://snomed.info/sct", "50373000", None),
        (None, None, "body height"),
    ]
    assert rows(OBSERVATION, "token", "status") == [(None, "final", None)]


def test_observation_value_quantity():
    assert rows(OBSERVATION, "quantity", "value-quantity") == [(172.5, "http://unitsofmeasure.org", "cm", "cm")]
    assert rows(OBSERVATION, "quantity", "combo-value-quantity") == [(172.5, "http://unitsofmeasure.org", "cm", "cm")]


def test_observation_date_timezone_to_utc():
    assert rows(OBSERVATION, "date", "date") == [(utc(2011, 9, 2, 8, 35, 11), utc(2011, 9, 2, 8, 35, 12))]


def test_observation_subject_and_patient():
    assert rows(OBSERVATION, "reference", "subject") == [("Patient", "123", None, None, None)]
    assert rows(OBSERVATION, "reference", "patient") == [("Patient", "123", None, None, None)]
    assert rows(OBSERVATION, "reference", "encounter") == [("Encounter", "e1", None, None, None)]


def test_patient_param_filters_on_target_type():
    group = {**OBSERVATION, "subject": {"reference": "Group/9"}}
    assert rows(group, "reference", "subject") == [("Group", "9", None, None, None)]
    assert rows(group, "reference", "patient") == []
    unknown = {**OBSERVATION, "subject": {"reference": "urn:uuid:6e1c0e8a-0000-4000-8000-000000000001"}}
    assert rows(unknown, "reference", "subject") == [
        (None, None, "urn:uuid:6e1c0e8a-0000-4000-8000-000000000001", None, None)
    ]
    assert rows(unknown, "reference", "patient") == []
    typed = {**OBSERVATION, "subject": {"type": "Patient", "identifier": {"system": "urn:mrn", "value": "7"}}}
    assert rows(typed, "reference", "patient") == [("Patient", None, None, "urn:mrn", "7")]


def test_absolute_reference():
    obs = {**OBSERVATION, "subject": {"reference": "http://other.org/fhir/Patient/42/_history/1"}}
    assert rows(obs, "reference", "subject") == [
        ("Patient", "42", "http://other.org/fhir/Patient/42/_history/1", None, None)
    ]
    assert rows(obs, "reference", "patient") == rows(obs, "reference", "subject")


def test_observation_choice_types():
    base = {"resourceType": "Observation", "status": "final"}
    assert rows({**base, "valueString": "Positive  Result"}, "string", "value-string") == [
        ("positive result", "Positive  Result")
    ]
    concept = {**base, "valueCodeableConcept": {"coding": [{"system": "http://s", "code": "pos"}]}}
    assert rows(concept, "token", "value-concept") == [("http://s", "pos", None)]
    assert rows(concept, "quantity", "value-quantity") == []
    period = {**base, "effectivePeriod": {"start": "2020-01-01", "end": "2020-01-03"}}
    assert rows(period, "date", "date") == [(utc(2020, 1, 1), utc(2020, 1, 4))]
    assert rows({**base, "valueDateTime": "2020"}, "date", "value-date") == [(utc(2020, 1, 1), utc(2021, 1, 1))]


def test_condition_onset_choice():
    cond = {"resourceType": "Condition", "onsetDateTime": "2019-05-05T00:00:00Z"}
    assert rows(cond, "date", "onset-date") == [(utc(2019, 5, 5), utc(2019, 5, 5, 0, 0, 1))]
    age = {"resourceType": "Condition", "onsetAge": {"value": 40, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}}
    assert rows(age, "quantity", "onset-age") == [(40.0, "http://unitsofmeasure.org", "a", "a")]
    assert rows(age, "date", "onset-date") == []


def test_duplicate_rows_removed():
    obs = {**OBSERVATION, "category": [OBSERVATION["category"][0], OBSERVATION["category"][0]]}
    assert len(rows(obs, "token", "category")) == 1


def test_sampled_data_not_indexed():
    obs = {"resourceType": "Observation", "valueSampledData": {"origin": {"value": 0}, "period": 1, "dimensions": 1}}
    assert extract_index_rows(obs)["quantity"] == []


# --------------------------------------------------------------------------------------------
# Other resources


def test_encounter_period():
    enc = {"resourceType": "Encounter", "period": {"start": "2020-01-01T10:00:00Z", "end": "2020-01-01T11:00:00Z"}}
    assert rows(enc, "date", "date") == [(utc(2020, 1, 1, 10), utc(2020, 1, 1, 11, 0, 1))]
    open_end = {"resourceType": "Encounter", "period": {"start": "2020-01-01"}}
    assert rows(open_end, "date", "date") == [(utc(2020, 1, 1), None)]
    open_start = {"resourceType": "Encounter", "period": {"end": "2020-01-01"}}
    assert rows(open_start, "date", "date") == [(None, utc(2020, 1, 2))]


def test_medication_request_concept_vs_reference():
    concept = {
        "resourceType": "MedicationRequest",
        "medicationCodeableConcept": {"coding": [{"system": "http://rxnorm", "code": "665078"}], "text": "Loratadine"},
        "subject": {"reference": "Patient/p"},
    }
    assert rows(concept, "token", "code") == [("http://rxnorm", "665078", None), (None, None, "loratadine")]
    assert rows(concept, "reference", "medication") == []
    assert rows(concept, "reference", "patient") == [("Patient", "p", None, None, None)]
    reference = {"resourceType": "MedicationRequest", "medicationReference": {"reference": "Medication/m1"}}
    assert rows(reference, "reference", "medication") == [("Medication", "m1", None, None, None)]
    assert rows(reference, "token", "code") == []


def test_money_and_range_quantities():
    invoice = {"resourceType": "Invoice", "totalGross": {"value": 125, "currency": "USD"}}
    assert rows(invoice, "quantity", "totalgross") == [(125.0, "urn:iso:std:iso:4217", "USD", None)]
    cond = {"resourceType": "Condition", "onsetRange": {"low": {"value": 10, "unit": "a"}, "high": {"value": 20, "unit": "a"}}}
    assert rows(cond, "quantity", "onset-age") == [(10.0, None, None, "a"), (20.0, None, None, "a")]


def test_timing_events_and_bounds():
    req = {
        "resourceType": "ServiceRequest",
        "occurrenceTiming": {
            "event": ["2020-02-01", "2020-02-03"],
            "repeat": {"boundsPeriod": {"start": "2020-03-01", "end": "2020-03-31"}},
        },
    }
    assert rows(req, "date", "occurrence") == [
        (utc(2020, 2, 1), utc(2020, 2, 2)),
        (utc(2020, 2, 3), utc(2020, 2, 4)),
        (utc(2020, 3, 1), utc(2020, 4, 1)),
    ]


def test_canonical_reference_and_uri():
    qr = {"resourceType": "QuestionnaireResponse", "questionnaire": "http://example.org/Questionnaire/q|1.0"}
    assert rows(qr, "reference", "questionnaire") == [(None, None, "http://example.org/Questionnaire/q|1.0", None, None)]
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs"}
    assert rows(vs, "uri", "url") == [("http://example.org/vs",)]


def test_number_parameter():
    risk = {"resourceType": "RiskAssessment", "prediction": [{"probabilityDecimal": 0.25}]}
    assert rows(risk, "number", "probability") == [(0.25,)]


def test_long_strings_truncated():
    long = "x" * 800
    out = rows({"resourceType": "Patient", "name": [{"family": long}]}, "string", "family")
    assert out == [("x" * 500, "x" * 500)]


def test_unknown_type_and_invalid_input():
    out = extract_index_rows({"resourceType": "NoSuchType", "code": "x"})
    assert set(out) == set(KINDS) and all(v == [] for v in out.values())
    with pytest.raises(ValueError):
        extract_index_rows({"id": "x"})


def test_malformed_values_are_skipped():
    obs = {
        "resourceType": "Observation",
        "effectiveDateTime": "not a date",
        "subject": "Patient/1",
        "code": "bare-string",
        "valueQuantity": {"value": "12"},
    }
    out = extract_index_rows(obs)
    assert out["date"] == [] and out["quantity"] == []


# --------------------------------------------------------------------------------------------
# Dates


@pytest.mark.parametrize(
    "text, low, high",
    [
        ("1999", utc(1999, 1, 1), utc(2000, 1, 1)),
        ("1999-12", utc(1999, 12, 1), utc(2000, 1, 1)),
        ("2000-02", utc(2000, 2, 1), utc(2000, 3, 1)),
        ("2000-02-29", utc(2000, 2, 29), utc(2000, 3, 1)),
        ("2020-01-01T10:15", utc(2020, 1, 1, 10, 15), utc(2020, 1, 1, 10, 16)),
        ("2020-01-01T10:15:30Z", utc(2020, 1, 1, 10, 15, 30), utc(2020, 1, 1, 10, 15, 31)),
        ("2020-01-01T10:15:30.5Z", utc(2020, 1, 1, 10, 15, 30, 500000), utc(2020, 1, 1, 10, 15, 30, 600000)),
        ("2020-01-01T10:15:30.123Z", utc(2020, 1, 1, 10, 15, 30, 123000), utc(2020, 1, 1, 10, 15, 30, 124000)),
        ("2020-01-01T00:30:00+01:00", utc(2019, 12, 31, 23, 30), utc(2019, 12, 31, 23, 30, 1)),
        ("2020-01-01T23:30:00-05:30", utc(2020, 1, 2, 5, 0), utc(2020, 1, 2, 5, 0, 1)),
        ("2020-01-01T10:15:30", utc(2020, 1, 1, 10, 15, 30), utc(2020, 1, 1, 10, 15, 31)),
    ],
)
def test_parse_date_range(text, low, high):
    assert parse_date_range(text) == (low, high)


def test_parse_date_range_is_utc_aware():
    low, high = parse_date_range("2021-06-01T12:00:00+02:00")
    assert low.tzinfo is not None and low.utcoffset() == timedelta(0)
    assert high.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["", "20", "2020-1", "2020-13", "2020-02-30", "2020-01-01T", "2020-01-01T10", "2020-01-01T25:00",
     "2020-01-01T10:61", "2020-01-01 10:00", "2020-01-01T10:00+15:00", "0000", "yesterday", "2020-01-01Z"],
)
def test_parse_date_range_rejects(text):
    with pytest.raises(ValueError):
        parse_date_range(text)


def test_parse_date_range_extremes():
    low, high = parse_date_range("9999")
    assert low == utc(9999, 1, 1) and high > low
    low, high = parse_date_range("0001-01-01T00:00:00+10:00")
    assert low < high


@st.composite
def dates(draw):
    year = draw(st.integers(1000, 9000))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    precision = draw(st.sampled_from(["year", "month", "day", "minute", "second", "fraction"]))
    if precision == "year":
        return f"{year:04d}", precision, None
    if precision == "month":
        return f"{year:04d}-{month:02d}", precision, None
    if precision == "day":
        return f"{year:04d}-{month:02d}-{day:02d}", precision, None
    hour, minute, second = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    tz = draw(st.sampled_from(["", "Z", "+00:00", "+05:30", "-08:00", "+14:00", "-12:00"]))
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}"
    digits = None
    if precision in ("second", "fraction"):
        text += f":{second:02d}"
    if precision == "fraction":
        digits = draw(st.integers(1, 6))
        text += "." + "".join(str(draw(st.integers(0, 9))) for _ in range(digits))
    return text + tz, precision, digits


@hsettings(max_examples=300, deadline=None)
@given(dates())
def test_parse_date_range_widths(case):
    text, precision, digits = case
    low, high = parse_date_range(text)
    assert low.utcoffset() == timedelta(0) and high.utcoffset() == timedelta(0)
    assert low < high
    width = high - low
    if precision == "year":
        assert width in (timedelta(days=365), timedelta(days=366))
        assert (low.month, low.day, low.hour) == (1, 1, 0)
    elif precision == "month":
        assert timedelta(days=28) <= width <= timedelta(days=31) and low.day == 1
    elif precision == "day":
        assert width == timedelta(days=1)
    elif precision == "minute":
        assert width == timedelta(minutes=1)
    elif precision == "second":
        assert width == timedelta(seconds=1)
    else:
        assert width == timedelta(microseconds=10 ** (6 - digits))


@hsettings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=30))
def test_parse_date_range_garbage(text):
    if re.fullmatch(r"[0-9TZ:+\-.]*", text):
        # Might be a valid date by chance: only check it never fails other than by ValueError.
        try:
            parse_date_range(text)
        except ValueError:
            pass
        return
    with pytest.raises(ValueError):
        parse_date_range(text)


# --------------------------------------------------------------------------------------------
# Strings


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("José", "jose"),
        ("ÅNGSTRÖM", "angstrom"),
        ("  Mary \t Ann\n", "mary ann"),
        ("Ordóñez", "ordonez"),
        ("Zoë Saldaña", "zoe saldana"),
        ("ﬁne", "fine"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_normalize_string(raw, expected):
    assert normalize_string(raw) == expected


def test_string_search_rows_use_normalisation():
    patient = {"resourceType": "Patient", "name": [{"given": ["ÉLODIE"]}]}
    assert rows(patient, "string", "given") == [("elodie", "ÉLODIE")]


# --------------------------------------------------------------------------------------------
# Real data


def _shared_data() -> Path:
    return Path(settings.BASE_DIR).parent.parent / "shared" / "data"


@pytest.mark.dataset
def test_every_synthea_resource_extracts():
    folder = _shared_data() / "synthea"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    count = 0
    seen_kinds: set[str] = set()
    for path in sorted(folder.glob("*.json")):
        bundle = orjson.loads(path.read_bytes())
        for entry in bundle.get("entry", []):
            out = extract_index_rows(entry["resource"])
            assert set(out) == set(KINDS)
            for kind, values in out.items():
                if values:
                    seen_kinds.add(kind)
                for row in values:
                    assert isinstance(row, tuple) and isinstance(row[0], str)
            for _param, low, high in out["date"]:
                assert low is None or low.utcoffset() == timedelta(0)
                assert high is None or high.utcoffset() == timedelta(0)
                assert low is None or high is None or low < high
            count += 1
    assert count > 1000
    assert {"token", "string", "date", "reference", "quantity"} <= seen_kinds


def test_absolute_reference_with_capitalised_path():
    obs = {"resourceType": "Observation", "subject": {"reference": "https://Example.org/R4/Patient/p-1"}}
    assert rows(obs, "reference", "subject") == [("Patient", "p-1", "https://Example.org/R4/Patient/p-1", None, None)]
    unknown = {"resourceType": "Observation", "subject": {"reference": "https://example.org/Thing/1"}}
    assert rows(unknown, "reference", "subject") == [(None, None, "https://example.org/Thing/1", None, None)]


def test_non_ascii_digits_rejected():
    with pytest.raises(ValueError):
        parse_date_range("٢٠٢٠")


def test_bundle_first_entry_reference():
    bundle = {
        "resourceType": "Bundle",
        "type": "document",
        "entry": [{"resource": {"resourceType": "Composition", "id": "c1"}}, {"resource": {"resourceType": "Patient", "id": "p"}}],
    }
    assert rows(bundle, "reference", "composition") == [("Composition", "c1", None, None, None)]
