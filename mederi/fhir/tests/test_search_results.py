"""FHIR search beyond single parameters, through the HTTP API: chains, _has, includes, sorting,
paging, result shaping and errors."""


from __future__ import annotations

from urllib.parse import urlencode

import pytest

from mederi.fhir.tests.factories import (
    LOINC,
    encounter,
    observation,
    patient,
)
from mederi.fhir.tests.searching import (
    BASE,
    bundle,
    entries,
    error,
    found,
    link,
    local,
    ordered,
    put,
    put_all,
    query,
    refs,
)

# -- chaining and reverse chaining ----------------------------------------------------------------


@pytest.fixture
def chained(fhir):
    put_all(
        fhir,
        patient("pa", family="Peterson", given=["Peter"], identifier=[{"system": "urn:mrn", "value": "1"}]),
        patient("pb", family="Paulsen", given=["Paul"], identifier=[{"system": "urn:mrn", "value": "2"}]),
        {"resourceType": "Location", "id": "lp", "name": "Peter Street Clinic"},
        encounter("ea", subject="Patient/pa"),
        encounter("eb", subject="Patient/pb"),
        observation("oa", subject="Patient/pa", encounter={"reference": "Encounter/ea"}),
        observation("ob", subject="Patient/pb", encounter={"reference": "Encounter/eb"},
                    code={"coding": [{"system": LOINC, "code": "8462-4"}]}),
        observation("og", subject="Location/lp"),
        {"resourceType": "DiagnosticReport", "id": "dr", "status": "final",
         "code": {"coding": [{"system": LOINC, "code": "55284-4"}]}, "subject": {"reference": "Patient/pb"},
         "result": [{"reference": "Observation/ob"}]},
    )


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("subject.name", "peter", {"oa", "og"}),
        ("subject:Patient.name", "peter", {"oa"}),
        ("subject:Location.name", "peter", {"og"}),
        ("patient.name", "peter", {"oa"}),
        ("patient.identifier", "urn:mrn|1", {"oa"}),
        ("patient.identifier", "urn:mrn|1,urn:mrn|2", {"oa", "ob"}),
        ("patient._id", "pb", {"ob"}),
        ("encounter.subject.name", "paul", {"ob"}),
        ("encounter.subject:Patient.identifier", "urn:mrn|1", {"oa"}),
        ("encounter.subject.name", "nobody", set()),
        ("subject:Patient.name:exact", "Peter", {"oa"}),
        ("subject:Patient.name:exact", "peter", set()),
        ("patient.identifier:not", "urn:mrn|1", {"ob"}),
    ],
)
def test_chained_parameters(fhir, chained, name, value, expected):
    assert found(fhir, "Observation", **{name: value}) == expected


def test_chain_on_unknown_parameter_is_rejected(fhir, chained):
    message = error(fhir, query("Observation", **{"subject.nonsense": "x"}))
    assert "nonsense" in message
    message = error(fhir, query("Observation", **{"status.name": "x"}))
    assert "status" in message


def test_reverse_chaining(fhir, chained):
    assert found(fhir, "Patient", **{"_has:Observation:patient:code": "8462-4"}) == {"pb"}
    assert found(fhir, "Patient", **{"_has:Observation:patient:code": f"{LOINC}|8480-6"}) == {"pa"}
    assert found(fhir, "Patient", **{"_has:Observation:subject:_id": "oa,ob"}) == {"pa", "pb"}
    assert found(fhir, "Location", **{"_has:Observation:subject:status": "final"}) == {"lp"}
    assert found(fhir, "Encounter", **{"_has:Observation:encounter:patient.name": "paul"}) == {"eb"}
    # Nested: patients with an Observation that a final DiagnosticReport cites.
    nested = "_has:Observation:patient:_has:DiagnosticReport:result:status"
    assert found(fhir, "Patient", **{nested: "final"}) == {"pb"}
    assert found(fhir, "Patient", **{nested: "preliminary"}) == set()
    assert "_has" in error(fhir, query("Patient", **{"_has:Observation:patient": "x"}))
    assert "Nonsense" in error(fhir, query("Patient", **{"_has:Nonsense:patient:code": "x"}))


# -- _include and _revinclude ---------------------------------------------------------------------


def test_include(fhir, chained):
    body = bundle(fhir, query("Observation", _id="oa", _include="Observation:patient"))
    assert refs(entries(body)) == {"Observation/oa"}
    assert refs(entries(body, "include")) == {"Patient/pa"}

    body = bundle(fhir, query("Observation", ("_id", "oa,og"), ("_include", "Observation:subject")))
    assert refs(entries(body, "include")) == {"Patient/pa", "Location/lp"}
    body = bundle(fhir, query("Observation", ("_id", "oa,og"), ("_include", "Observation:subject:Location")))
    assert refs(entries(body, "include")) == {"Location/lp"}
    body = bundle(fhir, query("Observation", ("_id", "oa"), ("_include", "Observation:*")))
    assert refs(entries(body, "include")) == {"Patient/pa", "Encounter/ea"}
    # Without :iterate an include does not follow the included resources' references.
    body = bundle(fhir, query("DiagnosticReport", ("_include", "DiagnosticReport:result"),
                              ("_include", "Observation:encounter")))
    assert refs(entries(body, "include")) == {"Observation/ob"}
    body = bundle(fhir, query("DiagnosticReport", ("_include", "DiagnosticReport:result"),
                              ("_include:iterate", "Observation:encounter")))
    assert refs(entries(body, "include")) == {"Observation/ob", "Encounter/eb"}
    assert "status" in error(fhir, query("Observation", _include="Observation:status"))


def test_revinclude(fhir, chained):
    body = bundle(fhir, query("Patient", _id="pa", _revinclude="Observation:patient"))
    assert refs(entries(body)) == {"Patient/pa"} and body["total"] == 1
    assert refs(entries(body, "include")) == {"Observation/oa"}

    body = bundle(fhir, query("Patient", ("_id", "pa"), ("_revinclude", "Observation:patient"),
                              ("_include:iterate", "Observation:encounter")))
    assert refs(entries(body, "include")) == {"Observation/oa", "Encounter/ea"}

    body = bundle(fhir, query("Patient", ("_id", "pb"), ("_revinclude", "Observation:patient"),
                              ("_revinclude:iterate", "DiagnosticReport:result")))
    assert refs(entries(body, "include")) == {"Observation/ob", "DiagnosticReport/dr"}
    body = bundle(fhir, query("Patient", ("_id", "pb"), ("_revinclude", "Observation:patient"),
                              ("_revinclude", "DiagnosticReport:result")))
    assert refs(entries(body, "include")) == {"Observation/ob"}


# -- _sort -----------------------------------------------------------------------------------------


def test_sort(fhir):
    put_all(
        fhir,
        patient("s1", family="Baker", birth="1980-01-01"),
        patient("s2", family="Adams", birth="1990-05-05"),
        patient("s3", family="Baker", birth="1970-07-07"),
        patient("s4", family="Clark"),
        patient("s5", family="Ádler", birth="1985"),
    )
    assert ordered(fhir, "Patient", _sort="birthdate") == ["s3", "s1", "s5", "s2", "s4"]
    assert ordered(fhir, "Patient", _sort="-birthdate") == ["s2", "s5", "s1", "s3", "s4"]
    assert ordered(fhir, "Patient", _sort="family,-birthdate") == ["s2", "s5", "s1", "s3", "s4"]
    assert ordered(fhir, "Patient", _sort="-family,birthdate") == ["s4", "s3", "s1", "s5", "s2"]
    assert ordered(fhir, "Patient", ("_sort", "family"), ("_sort", "birthdate")) == ["s2", "s5", "s3", "s1", "s4"]
    assert "nonsense" in error(fhir, query("Patient", _sort="nonsense"))


def test_sort_observations_by_date_descending(fhir):
    put_all(
        fhir,
        observation("x1", effectiveDateTime="2021-01-01T10:00:00Z"),
        observation("x2", effectivePeriod={"start": "2021-01-01T09:00:00Z", "end": "2021-03-01T00:00:00Z"}),
        observation("x3", effectiveDateTime="2020-12-31"),
        observation("x4"),
    )
    assert ordered(fhir, "Observation", _sort="-date") == ["x2", "x1", "x3", "x4"]
    assert ordered(fhir, "Observation", _sort="date") == ["x3", "x2", "x1", "x4"]


# -- paging ----------------------------------------------------------------------------------------


def _follow(fhir, first_url: str, between=None) -> tuple[list[str], list[dict]]:
    """Walk `next` links to the end; `between(page_number)` runs before each following page."""
    pages = [bundle(fhir, first_url)]
    while (nxt := link(pages[-1], "next")) is not None:
        if between:
            between(len(pages))
        pages.append(bundle(fhir, local(nxt)))
        assert len(pages) < 20, "paging does not end"
    ids = [r["id"] for page in pages for r in entries(page)]
    return ids, pages


def test_paging_to_the_end(fhir):
    put_all(fhir, *[patient(f"pg{i:02d}", family="Pager") for i in range(7)])
    put(fhir, patient("other", family="Someone"))
    ids, pages = _follow(fhir, query("Patient", family="pager", _count="3", _sort="_id"))
    assert ids == [f"pg{i:02d}" for i in range(7)]
    assert [len(entries(p)) for p in pages] == [3, 3, 1]
    assert all(p["total"] == 7 for p in pages)
    assert link(pages[0], "previous") is None and link(pages[1], "previous") is not None
    assert link(pages[-1], "next") is None
    # The paging links keep the result parameters of the first request.
    assert "_count=3" in link(pages[0], "next")
    # An exact fit has no further page.
    exact = bundle(fhir, query("Patient", family="pager", _count="7"))
    assert len(entries(exact)) == 7 and link(exact, "next") is None


def test_paging_is_stable_while_others_write(fhir):
    put_all(fhir, *[patient(f"st{i:02d}", family="Stable") for i in range(7)])

    def write_between(page_number):
        # New matches that would sort first, and a change that would reorder the set.
        put(fhir, patient(f"aa{page_number}", family="Stable"))
        put(fhir, patient("st06", family="Stable", given=["Changed"]))

    ids, pages = _follow(fhir, query("Patient", family="stable", _count="3", _sort="_lastUpdated"), write_between)
    assert ids == [f"st{i:02d}" for i in range(7)]
    assert all(p["total"] == 7 for p in pages)
    # A new search sees the new resources.
    assert len(found(fhir, "Patient", family="stable", _count="50")) == 9


def test_total_none_still_pages(fhir):
    put_all(fhir, *[patient(f"tn{i}", family="Totalless") for i in range(5)])
    ids, pages = _follow(fhir, query("Patient", family="totalless", _count="2", _total="none", _sort="_id"))
    assert "total" not in pages[0]
    assert ids == [f"tn{i}" for i in range(5)]


# -- result shaping ------------------------------------------------------------------------------


def test_summary_count_elements_and_total(fhir, named):
    body = bundle(fhir, query("Patient", name="peter", _summary="count"))
    assert body["total"] == 3 and not body.get("entry")

    body = bundle(fhir, query("Patient", family="muller", _elements="name"))
    (resource,) = entries(body)
    assert set(resource) == {"resourceType", "id", "meta", "name"}
    assert any(t["code"] == "SUBSETTED" for t in resource["meta"]["tag"])

    put(fhir, patient("sm", family="Summary", contact=[{"name": {"family": "Kin"}}], gender="other"))
    (resource,) = entries(bundle(fhir, query("Patient", family="summary", _summary="true")))
    assert resource["gender"] == "other" and resource["name"][0]["family"] == "Summary"
    assert "contact" not in resource

    body = bundle(fhir, query("Patient", name="peter", _total="none"))
    assert "total" not in body and len(entries(body)) == 3


def test_post_search_with_form_body(fhir, named):
    response = fhir.client.post(
        f"{BASE}/Patient/_search", data=urlencode([("name", "peter"), ("address-city", "zu")]),
        content_type="application/x-www-form-urlencoded", headers={"Authorization": f"Bearer {fhir.token}"},
    )
    assert response.status_code == 200, response.content
    assert {r["id"] for r in entries(response.json())} == {"mu", "sc"}
    # Parameters in the URL and the body are combined.
    response = fhir.client.post(
        f"{BASE}/Patient/_search?family=schmidt", data="name=peter",
        content_type="application/x-www-form-urlencoded", headers={"Authorization": f"Bearer {fhir.token}"},
    )
    assert {r["id"] for r in entries(response.json())} == {"sc"}


# -- errors --------------------------------------------------------------------------------------


def test_unknown_parameter_strict_and_lenient(fhir, named):
    message = error(fhir, query("Patient", name="peter", shoe_size="42"))
    assert "shoe_size" in message
    body = bundle(fhir, query("Patient", name="peter", shoe_size="42"), PREFER="handling=lenient")
    assert {r["id"] for r in entries(body)} == {"mu", "pe", "sc"}
    (outcome,) = entries(body, "outcome")
    assert outcome["resourceType"] == "OperationOutcome"
    assert "shoe_size" in outcome["issue"][0]["diagnostics"]
    assert outcome["issue"][0]["severity"] == "warning"


@pytest.mark.parametrize(
    "path, name, value",
    [
        ("Patient", "birthdate", "garbage"),
        ("Patient", "birthdate", "ge2020-13-01"),
        ("RiskAssessment", "probability", "abc"),
        ("RiskAssessment", "probability", "gtabc"),
        ("Observation", "value-quantity", "abc|x|y"),
        ("Observation", "value-quantity", "5|a|b|c"),
        ("Patient", "family:fuzzy", "x"),
        ("Patient", "birthdate:exact", "2020"),
        ("Patient", "active:missing", "maybe"),
        ("Patient", "_lastUpdated", "yesterday"),
        ("Observation", "code", "a|b|c"),
    ],
)
def test_bad_values_name_the_parameter(fhir, path, name, value):
    message = error(fhir, query(path, **{name: value}))
    assert name.split(":")[0] in message


def test_bad_result_parameters(fhir):
    assert "_count" in error(fhir, query("Patient", _count="many"))
    assert "_summary" in error(fhir, query("Patient", _summary="maybe"))
    assert "_total" in error(fhir, query("Patient", _total="some"))


def test_unknown_resource_type_is_not_found(fhir):
    assert "Spaceship" in error(fhir, query("Spaceship", name="x"), status=404)
    assert "Spaceship" in error(fhir, f"{BASE}/Spaceship", status=404)
