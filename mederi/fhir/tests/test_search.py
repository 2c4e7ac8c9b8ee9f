"""FHIR R4 search semantics through the REST API: which resources come back for each parameter
kind, modifier and prefix."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mederi.core import clock
from mederi.fhir.tests.factories import (
    LOINC,
    SNOMED,
    UCUM,
    encounter,
    group,
    observation,
    patient,
    quantity,
    risk_assessment,
    value_set,
)
from mederi.fhir.tests.searching import (
    BASE,
    found,
    ordered,
    put,
    put_all,
)

# -- token ---------------------------------------------------------------------------------------


@pytest.fixture
def coded(fhir):
    put_all(
        fhir,
        observation("t1", code={"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]}),
        observation("t2", code={"coding": [{"system": SNOMED, "code": "8480-6"}], "text": "Something else"},
                    status="preliminary"),
        observation("t3", code={"coding": [{"code": "8480-6"}]}),
        observation("t4", code={"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]}),
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        ("8480-6", {"t1", "t2", "t3"}),
        (f"{LOINC}|8480-6", {"t1"}),
        ("|8480-6", {"t3"}),
        (f"{LOINC}|", {"t1", "t4"}),
        (f"{SNOMED}|8462-4", set()),
        ("8480-6,8462-4", {"t1", "t2", "t3", "t4"}),
        (f"{LOINC}|8462-4,|8480-6", {"t3", "t4"}),
        # several system|code pairs go as one IN list per system: the same answer as each alone
        (f"{LOINC}|8462-4,{SNOMED}|8480-6,{LOINC}|8480-6,{LOINC}|0000-0", {"t1", "t2", "t4"}),
        (f"{SNOMED}|8462-4,{SNOMED}|9999-9", set()),
    ],
)
def test_token_code_and_system_forms(fhir, coded, value, expected):
    assert found(fhir, "Observation", code=value) == expected


def test_token_not_text_and_and(fhir, coded):
    assert found(fhir, "Observation", **{"code:not": f"{LOINC}|8480-6"}) == {"t2", "t3", "t4"}
    assert found(fhir, "Observation", **{"code:not": "8480-6,8462-4"}) == set()
    assert found(fhir, "Observation", **{"code:not": f"{LOINC}|8480-6,{SNOMED}|8480-6"}) == {"t3", "t4"}
    assert found(fhir, "Observation", **{"code:text": "blood"}) == {"t1", "t4"}
    assert found(fhir, "Observation", **{"code:text": "diastolic"}) == {"t4"}
    assert found(fhir, "Observation", **{"code:text": "something"}) == {"t2"}
    # Repeated parameters are ANDed.
    assert found(fhir, "Observation", ("code", "8480-6"), ("status", "final")) == {"t1", "t3"}
    assert found(fhir, "Observation", ("code", "8480-6"), ("code", f"{SNOMED}|")) == {"t2"}
    assert found(fhir, "Observation", ("code", f"{LOINC}|"), ("code", "8462-4"), ("status", "preliminary")) == set()


def test_token_identifiers_booleans_and_codes(fhir):
    put_all(
        fhir,
        patient("a", identifier=[{"system": "urn:mrn", "value": "123"}], active=True, gender="female"),
        patient("b", identifier=[{"system": "urn:other", "value": "123"}], active=False, gender="male"),
        patient("c", identifier=[{"value": "123"}, {"system": "urn:mrn", "value": "456"}]),
    )
    assert found(fhir, "Patient", identifier="123") == {"a", "b", "c"}
    assert found(fhir, "Patient", identifier="urn:mrn|123") == {"a"}
    assert found(fhir, "Patient", identifier="|123") == {"c"}
    assert found(fhir, "Patient", identifier="urn:mrn|") == {"a", "c"}
    assert found(fhir, "Patient", active="true") == {"a"}
    assert found(fhir, "Patient", active="false") == {"b"}
    assert found(fhir, "Patient", **{"active:missing": "true"}) == {"c"}
    assert found(fhir, "Patient", **{"active:missing": "false"}) == {"a", "b"}
    # :not also returns resources that have no value at all.
    assert found(fhir, "Patient", **{"gender:not": "male"}) == {"a", "c"}
    assert found(fhir, "Patient", gender="female,male") == {"a", "b"}


# -- string --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("family", "muller", {"mu"}),
        ("family", "MÜL", {"mu"}),
        ("family", "mu", {"mu", "me"}),
        ("family", "Müller", {"mu"}),
        ("name", "peter", {"mu", "pe", "sc"}),
        ("name", "PETER", {"mu", "pe", "sc"}),
        ("name", "james", {"sc"}),
        ("name", "eter", set()),
        ("given", "pe", {"mu", "sc"}),
        ("name:exact", "Peter", {"mu", "sc"}),
        ("name:exact", "peter", set()),
        ("family:exact", "Müller", {"mu"}),
        ("family:exact", "Muller", set()),
        ("name:contains", "eter", {"mu", "pe", "sc"}),
        ("family:contains", "LL", {"mu", "me"}),
        ("name", "anna,jo", {"me", "pe"}),
        ("address", "zurich", {"mu"}),
        ("address", "main", set()),
        ("address:contains", "main", {"mu"}),
        ("address", "12 main", {"mu"}),
        ("address", "z", {"mu", "sc"}),
        ("address-city", "ZU", {"mu", "sc"}),
        ("address-city", "zug", {"sc"}),
        ("address-postalcode", "8001", {"mu"}),
        ("address-state", "zg", {"sc"}),
        ("address-country", "ch", {"mu"}),
    ],
)
def test_string_matching(fhir, named, name, value, expected):
    assert found(fhir, "Patient", **{name: value}) == expected


def test_string_and_of_repeated_parameters(fhir, named):
    assert found(fhir, "Patient", ("given", "peter"), ("given", "james")) == {"sc"}
    assert found(fhir, "Patient", ("name", "peter"), ("address-city", "zürich")) == {"mu"}
    assert found(fhir, "Patient", **{"address:missing": "true"}) == {"pe"}


# -- date ----------------------------------------------------------------------------------------


@pytest.fixture
def births(fhir):
    put_all(
        fhir,
        patient("a", birth="1974-12-25"),
        patient("b", birth="1975-01-01"),
        patient("c", birth="1973-12-31"),
        patient("d", birth="1974"),
        patient("e", birth="2010-06-15"),
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        ("1974", {"a", "d"}),
        ("eq1974", {"a", "d"}),
        ("ne1974", {"b", "c", "e"}),
        ("gt1974", {"b", "e"}),
        ("ge1974", {"a", "b", "d", "e"}),
        ("lt1974", {"c"}),
        ("le1974", {"a", "c", "d"}),
        ("sa1974", {"b", "e"}),
        ("eb1974", {"c"}),
        ("1974-12", {"a"}),
        ("1974-12-25", {"a"}),
        ("eq1974-12-25T10:00:00Z", set()),
        ("ge1974-12-25", {"a", "b", "d", "e"}),
        ("gt1974-12-25", {"b", "d", "e"}),
        ("lt1974-12-25", {"c", "d"}),
        ("le1974-12-25", {"a", "c", "d"}),
        ("sa1974-12-25", {"b", "e"}),
        ("eb1974-12-25", {"c"}),
        ("ap1975-01-01", {"a", "b", "c", "d"}),
        ("ap2010-06", {"e"}),
        ("1974,2010", {"a", "d", "e"}),
    ],
)
def test_date_prefixes_on_dates(fhir, births, value, expected):
    assert found(fhir, "Patient", birthdate=value) == expected


def test_date_and_of_two_bounds(fhir, births):
    assert found(fhir, "Patient", ("birthdate", "ge1974-06"), ("birthdate", "lt1975-06")) == {"a", "b", "d"}
    assert found(fhir, "Patient", ("birthdate", "ge1974-06-01"), ("birthdate", "lt1974-12-25")) == {"d"}


def test_date_precision_against_date_times_and_time_zones(fhir):
    put_all(
        fhir,
        observation("jan15", effectiveDateTime="2020-01-15T10:00:00Z"),
        observation("zoned", effectiveDateTime="2020-01-01T10:00:00+02:00"),
        observation("instant", effectiveInstant="2020-03-01T23:30:00.000-05:00"),
        observation("period", effectivePeriod={"start": "2020-02-10", "end": "2020-02-12"}),
    )
    assert found(fhir, "Observation", date="eq2020-01") == {"jan15", "zoned"}
    assert found(fhir, "Observation", date="2020-01-15") == {"jan15"}
    assert found(fhir, "Observation", date="2020-01-16") == set()
    assert found(fhir, "Observation", date="gt2020-01-15T09:00:00Z") == {"jan15", "instant", "period"}
    assert found(fhir, "Observation", date="lt2020-01-15T10:00:00Z") == {"zoned"}
    assert found(fhir, "Observation", date="le2020-01-15T10:00:00Z") == {"jan15", "zoned"}
    # 10:00+02:00 is 08:00 UTC.
    assert found(fhir, "Observation", date="2020-01-01T08:00:00Z") == {"zoned"}
    assert found(fhir, "Observation", date="2020-01-01T10:00:00+02:00") == {"zoned"}
    assert found(fhir, "Observation", date="2020-01-01T10:00:00Z") == set()
    assert found(fhir, "Observation", date="2020-01-01T03:00-05:00") == {"zoned"}
    # 23:30-05:00 on March 1st is 04:30 UTC on March 2nd.
    assert found(fhir, "Observation", date="2020-03-02") == {"instant"}
    assert found(fhir, "Observation", date="2020-03-01") == set()
    assert found(fhir, "Observation", date="2020-02") == {"period"}
    assert found(fhir, "Observation", date="2020-02-11") == set()
    assert found(fhir, "Observation", date="le2020-02-11") == {"jan15", "zoned", "period"}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2020-01-01", {"hour"}),
        ("2020-01", {"hour", "days"}),
        ("ne2020-01", {"open"}),
        ("ge2020-01-03", {"days", "open"}),
        ("gt2020-01-03", {"days", "open"}),
        ("lt2020-01-03", {"hour", "days"}),
        ("le2020-01-01", {"hour", "days"}),
        ("gt2020-03-01", {"open"}),
        ("sa2020-01-01", {"open"}),
        ("eb2020-02-01", {"hour", "days"}),
        ("eb2020-01-03", {"hour"}),
        ("2020-01-01T09:30:00Z", set()),
        ("ge2020-01-01T09:30:00Z", {"hour", "days", "open"}),
        ("lt2020-01-01T09:00:00Z", {"days"}),
    ],
)
def test_date_periods(fhir, value, expected):
    put_all(
        fhir,
        encounter("hour", period={"start": "2020-01-01T09:00:00Z", "end": "2020-01-01T10:00:00Z"}),
        encounter("days", period={"start": "2020-01-01", "end": "2020-01-05"}),
        encounter("open", period={"start": "2020-02-01"}),
        encounter("none"),
    )
    assert found(fhir, "Encounter", date=value) == expected


# -- number and quantity --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("100", {"r1", "r2", "r5"}),
        ("100.4", {"r1"}),
        ("100.0", {"r5"}),
        ("100.00", {"r5"}),
        ("eq100", {"r1", "r2", "r5"}),
        ("ne100", {"r3", "r4"}),
        ("gt100", {"r1", "r3"}),
        ("ge100", {"r1", "r3", "r5"}),
        ("lt100", {"r2", "r4"}),
        ("le100", {"r2", "r4", "r5"}),
        ("ap100", {"r1", "r2", "r3", "r5"}),
        ("12", {"r4"}),
        ("12,100.5", {"r3", "r4"}),
    ],
)
def test_number_implicit_precision_and_prefixes(fhir, value, expected):
    put(fhir, patient("p"))
    for rid, probability in [("r1", 100.4), ("r2", 99.6), ("r3", 100.5), ("r4", 12), ("r5", 100)]:
        put(fhir, risk_assessment(rid, subject="Patient/p", probability=probability))
    assert found(fhir, "RiskAssessment", probability=value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("gt70", {"kg"}),
        ("5.4", {"ucum", "unit", "mmol"}),
        (f"5.4|{UCUM}|mg", {"ucum"}),
        ("5.4||mg", {"ucum", "unit"}),
        (f"5.4|{UCUM}|", {"ucum", "mmol"}),
        ("lt10||mg", {"ucum", "unit", "five"}),
        (f"ge72|{UCUM}|kg", {"kg"}),
        (f"gt72|{UCUM}|kg", set()),
        ("5.2", {"five"}),
        ("5", {"ucum", "unit", "mmol", "five"}),
        ("ne5.4", {"kg", "five"}),
    ],
)
def test_quantity(fhir, value, expected):
    put_all(
        fhir,
        observation("kg", valueQuantity=quantity(72, "kg", system=UCUM, code="kg")),
        observation("ucum", valueQuantity=quantity(5.4, "mg", system=UCUM, code="mg")),
        observation("unit", valueQuantity=quantity(5.4, "mg")),
        observation("mmol", valueQuantity=quantity(5.4, "mmol/L", system=UCUM, code="mmol/L")),
        observation("five", valueQuantity=quantity(5.2, "mg", system=UCUM, code="mg")),
        observation("none", valueString="high"),
    )
    assert found(fhir, "Observation", **{"value-quantity": value}) == expected


# -- uri -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("url", "http://acme.org/fhir/ValueSet/123", {"v1"}),
        ("url", "http://acme.org/fhir/ValueSet", set()),
        ("url:below", "http://acme.org/fhir/ValueSet", {"v1", "v2"}),
        ("url:below", "http://acme.org/fhir", {"v1", "v2", "v3"}),
        ("url:below", "http://acme.org/fhir/", {"v1", "v2", "v3"}),
        ("url:above", "http://acme.org/fhir/ValueSet/123/_history/5", {"v1"}),
        ("url:above", "http://example.org/ValueSet/x/y", {"v4"}),
        ("url", "http://acme.org/fhir/ValueSet/123,http://example.org/ValueSet/x", {"v1", "v4"}),
    ],
)
def test_uri(fhir, name, value, expected):
    put_all(
        fhir,
        value_set("v1", url="http://acme.org/fhir/ValueSet/123"),
        value_set("v2", url="http://acme.org/fhir/ValueSet/124"),
        value_set("v3", url="http://acme.org/fhir/other/1"),
        value_set("v4", url="http://example.org/ValueSet/x"),
        value_set("v5", url="http://acme.org/fhirx/ValueSet/9"),
    )
    assert found(fhir, "ValueSet", **{name: value}) == expected


# -- reference -----------------------------------------------------------------------------------


@pytest.fixture
def referencing(fhir):
    put_all(
        fhir,
        patient("p1", family="Peterson"),
        patient("p2", family="Paulsen"),
        group("p1", name="Peter's group"),
        observation("o1", subject="Patient/p1"),
        observation("o2", subject="Patient/p2"),
        observation("o3", subject="Group/p1"),
        observation("o4", subject="http://testserver/fhir/R4/Patient/p2"),
        observation("o5", subject="http://other.example.org/fhir/Patient/x9"),
        observation("o6", subject={"identifier": {"system": "urn:mrn", "value": "123"}}),
        observation("o7"),
    )


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("patient", "Patient/p1", {"o1"}),
        ("patient", "p1", {"o1"}),
        ("subject", "p1", {"o1", "o3"}),
        ("subject", "Group/p1", {"o3"}),
        ("subject:Patient", "p1", {"o1"}),
        ("subject:Group", "p1", {"o3"}),
        ("patient", "Patient/p2", {"o2", "o4"}),
        ("patient", "http://testserver/fhir/R4/Patient/p2", {"o2", "o4"}),
        ("subject", "http://other.example.org/fhir/Patient/x9", {"o5"}),
        ("patient", "Patient/p1,Patient/p2", {"o1", "o2", "o4"}),
        ("subject:identifier", "urn:mrn|123", {"o6"}),
        ("subject:identifier", "123", {"o6"}),
        ("subject:identifier", "urn:other|123", set()),
        ("subject:missing", "true", {"o7"}),
        ("subject:missing", "false", {"o1", "o2", "o3", "o4", "o5", "o6"}),
        ("patient", "Patient/nobody", set()),
    ],
)
def test_reference(fhir, referencing, name, value, expected):
    assert found(fhir, "Observation", **{name: value}) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("http://acme.org/Questionnaire/intake", {"v2", "plain"}),
        ("http://acme.org/Questionnaire/intake|2.0", {"v2"}),
        ("http://acme.org/Questionnaire/intake|1.0", set()),
        ("http://acme.org/Questionnaire/other|1.0", {"other"}),
        ("http://acme.org/Questionnaire/in", set()),
    ],
)
def test_reference_to_canonical_with_version(fhir, value, expected):
    for rid, canonical in [("v2", "http://acme.org/Questionnaire/intake|2.0"),
                           ("plain", "http://acme.org/Questionnaire/intake"),
                           ("other", "http://acme.org/Questionnaire/other|1.0")]:
        put(fhir, {"resourceType": "QuestionnaireResponse", "id": rid, "status": "completed",
                   "questionnaire": canonical})
    assert found(fhir, "QuestionnaireResponse", questionnaire=value) == expected


# -- _id and _lastUpdated ------------------------------------------------------------------------


@pytest.fixture
def dated(fhir, monkeypatch):
    moments = {
        "old": datetime(2021, 3, 1, 10, 0, tzinfo=timezone.utc),
        "mid": datetime(2022, 5, 5, 12, 0, tzinfo=timezone.utc),
        "new": datetime(2023, 1, 1, 0, 0, tzinfo=timezone.utc),
    }
    for rid, moment in moments.items():
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
        put(fhir, patient(rid, family=rid))
    monkeypatch.setattr(clock, "now", lambda: datetime.now(timezone.utc))
    return moments


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2022", {"mid"}),
        ("2022-05-05", {"mid"}),
        ("ne2022", {"old", "new"}),
        ("gt2022", {"new"}),
        ("ge2022-05-05", {"mid", "new"}),
        ("lt2022", {"old"}),
        ("le2022-05-05T12:00:00Z", {"old", "mid"}),
        ("lt2022-05-05T12:00:00Z", {"old"}),
        ("gt2022-05-05T14:00:00+02:00", {"new"}),
        ("ge2022-05-05T14:00:00+02:00", {"mid", "new"}),
        ("2021,2023", {"old", "new"}),
    ],
)
def test_last_updated(fhir, dated, value, expected):
    assert found(fhir, "Patient", _lastUpdated=value) == expected


def test_id_and_sort_by_last_updated(fhir, dated):
    assert found(fhir, "Patient", _id="old") == {"old"}
    assert found(fhir, "Patient", _id="old,new,missing") == {"old", "new"}
    assert found(fhir, "Patient", ("_id", "old,new"), ("_lastUpdated", "gt2022")) == {"new"}
    assert ordered(fhir, "Patient", _sort="-_lastUpdated") == ["new", "mid", "old"]
    assert ordered(fhir, "Patient", _sort="_lastUpdated") == ["old", "mid", "new"]
    assert ordered(fhir, "Patient", _sort="-_id") == ["old", "new", "mid"]


# -- properties ----------------------------------------------------------------------------------

_PROPERTY_SETTINGS = hsettings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_dates = st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2030, 12, 31).date())


def _precision(value, digits: int) -> str:
    return value.isoformat()[: {4: 4, 7: 7, 10: 10}[digits]]


@_PROPERTY_SETTINGS
@given(
    births=st.lists(st.tuples(_dates, st.sampled_from([4, 7, 10])), min_size=1, max_size=6),
    pivot=_dates,
    pivot_digits=st.sampled_from([4, 7, 10]),
)
def test_birthdate_prefixes_partition(fhir, births, pivot, pivot_digits):
    run = uuid.uuid4().hex
    everyone = set()
    for n, (day, digits) in enumerate(births):
        rid = f"h{run[:12]}-{n}"
        put(fhir, patient(rid, birth=_precision(day, digits), identifier=[{"system": "urn:run", "value": run}]))
        everyone.add(rid)
    x = _precision(pivot, pivot_digits)

    def search(value):
        return found(fhir, "Patient", ("identifier", f"urn:run|{run}"), ("birthdate", value), ("_count", "50"))

    assert search(f"ge{x}") | search(f"lt{x}") == everyone
    assert search(f"gt{x}") | search(f"le{x}") == everyone
    eq, ne = search(f"eq{x}"), search(f"ne{x}")
    assert eq | ne == everyone and not eq & ne
    assert search(f"sa{x}") <= search(f"gt{x}") and search(f"eb{x}") <= search(f"lt{x}")


_values = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False)


@_PROPERTY_SETTINGS
@given(values=st.lists(_values, min_size=1, max_size=6), pivot=_values)
def test_quantity_prefixes_partition(fhir, values, pivot):
    run = uuid.uuid4().hex
    everyone = set()
    for n, value in enumerate(values):
        rid = f"q{run[:12]}-{n}"
        put(fhir, observation(rid, identifier=[{"system": "urn:run", "value": run}],
                              valueQuantity=quantity(float(value), "mg", system=UCUM, code="mg")))
        everyone.add(rid)

    def search(prefix):
        return found(fhir, "Observation", ("identifier", f"urn:run|{run}"),
                     ("value-quantity", f"{prefix}{pivot}|{UCUM}|mg"), ("_count", "50"))

    assert search("ge") | search("lt") == everyone and not search("ge") & search("lt")
    assert search("gt") | search("le") == everyone and not search("gt") & search("le")
    eq, ne = search("eq"), search("ne")
    assert eq | ne == everyone and not eq & ne
    # A value equal to the pivot is found by eq.
    assert {f"q{run[:12]}-{n}" for n, value in enumerate(values) if value == pivot} <= eq


# -- parameters for all resources ------------------------------------------------------------------


def test_meta_parameters_and_last_updated_round_trip(fhir):
    tagged = put(fhir, patient("tg", meta={
        "tag": [{"system": "urn:tags", "code": "vip"}],
        "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"],
        # N (normal): R and V would make this a restricted record, hidden without emergency access.
        "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}],
    }))
    put(fhir, patient("plain"))
    assert found(fhir, "Patient", _tag="urn:tags|vip") == {"tg"}
    assert found(fhir, "Patient", _tag="vip") == {"tg"}
    assert found(fhir, "Patient", **{"_tag:not": "vip"}) == {"plain"}
    assert found(fhir, "Patient", _profile="http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient") == {"tg"}
    assert found(fhir, "Patient", _security="N") == {"tg"}
    # The lastUpdated a client reads back finds the resource again, and bounds it exactly.
    stamp = tagged["meta"]["lastUpdated"]
    assert "tg" in found(fhir, "Patient", _lastUpdated=stamp)
    assert "tg" in found(fhir, "Patient", _lastUpdated=f"ge{stamp}")
    assert "tg" in found(fhir, "Patient", _lastUpdated=f"le{stamp}")
    assert "tg" not in found(fhir, "Patient", _lastUpdated=f"gt{stamp}")
    assert "tg" not in found(fhir, "Patient", _lastUpdated=f"lt{stamp}")
    # A deleted resource is no longer found.
    assert fhir.delete(f"{BASE}/Patient/tg").status_code in (200, 204)
    assert found(fhir, "Patient", _tag="vip") == set()
